"""Information criteria of a fitted model, as R's ``AIC`` and ``BIC``:

AIC = -2 loglik + 2 npar,        BIC = -2 loglik + log(nobs) npar
"""

from __future__ import annotations

import math
from typing import Protocol

__all__ = ["InformationCriteria"]


class _Likelihood(Protocol):
    """What the criteria read from a fit."""

    @property
    def loglik(self) -> float: ...

    @property
    def npar(self) -> int: ...

    @property
    def nobs(self) -> int: ...


class InformationCriteria:
    """AIC and BIC for a fit class with ``loglik``, ``npar`` and ``nobs``."""

    @property
    def aic(self: _Likelihood) -> float:
        return -2.0 * self.loglik + 2.0 * self.npar

    @property
    def bic(self: _Likelihood) -> float:
        return -2.0 * self.loglik + math.log(self.nobs) * self.npar
