"""Information criteria of a fitted model, as R's ``AIC`` and ``BIC``:

AIC = -2 loglik + 2 npar,        BIC = -2 loglik + log(nobs) npar
"""

from __future__ import annotations

import math

__all__ = ["InformationCriteria"]


class InformationCriteria:
    """AIC and BIC for a fit class with ``loglik``, ``npar`` and ``nobs``."""

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.npar

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + math.log(self.nobs) * self.npar
