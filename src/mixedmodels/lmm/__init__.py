"""Linear mixed models: ``lmer``, its engine, the fit and the Dask fit, and what the other model
kinds reuse from here: predictions and simulated responses (``lm`` and ``glm`` fits too) and the
random-effects tables (``glmer`` fits too).
"""
