"""From a formula and a data frame to model matrices: bar terms, R's syntax, the safe mode,
contrasts, the design.
"""
