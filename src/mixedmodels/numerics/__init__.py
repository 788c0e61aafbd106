"""The numerical core: the blocked Cholesky factor, the criteria, optimizers, IRLS, separation,
memory limits, the convergence check and lmer's restarts.
"""
