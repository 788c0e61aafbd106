"""Response distributions: Family objects (link, variance, deviance, log-density, simulation) and
the response they read.
"""
