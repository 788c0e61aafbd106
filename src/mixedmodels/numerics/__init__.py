"""The numerical core: the blocked Cholesky factor, the criteria, optimizers, IRLS, the convergence
check.
"""
