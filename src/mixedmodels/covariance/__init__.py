"""Covariance structures of the random effects, one object per structure, and the layout of theta
over the terms.
"""
