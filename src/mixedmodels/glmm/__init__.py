"""Generalized linear mixed models: ``glmer``, PIRLS, the Laplace and adaptive Gauss-Hermite
criteria, the fit.
"""
