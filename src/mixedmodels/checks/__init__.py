"""Checking a fitted model: simulated (quantile) residuals and their tests, R-squared, the ICC,
overdispersion and singularity checks, a comparison of fits' performance, and broom's tidy tables.

This layer sits above the fits and their replicates: it asks a fit for its simulations,
residuals, variance components and intervals, and never reaches into how they were computed.
"""
