"""Defaults the command line shows in its help, kept apart from the modules that use them so that
``mixedmodels --help`` imports no numerical library."""

NSIM = {"lmer": 10_000, "glmer": 2_000}  # default bootstrap replicates each way of a comparison
