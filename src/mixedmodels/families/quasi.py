"""The quasi-likelihood families ``glm`` fits, as R's ``quasibinomial()`` and ``quasipoisson()``.

They keep the binomial's or the Poisson's variance function, deviance and links, and estimate a
dispersion ``phi`` instead of fixing it at 1 (so they have no likelihood, no AIC and nothing to
simulate from).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from .binomial import Binomial
from .family import Initialized
from .poisson import Poisson

__all__ = ["QuasiBinomial", "QuasiPoisson"]


class _Quasi:
    """What a quasi family changes of its likelihood family: the dispersion is estimated, there
    is no likelihood (no AIC, no simulation) and R's warnings about counts and fitted means on
    the boundary are not given."""

    dispersion_fixed = False
    has_likelihood = False
    name: ClassVar[str]

    def aic(self, y, n, mu, wt, dev) -> float:
        """A quasi family has no likelihood: its AIC is not defined (R's NA)."""
        return math.nan

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> np.ndarray:
        raise ValueError(f"the {self.name} family has no distribution to simulate from (a quasi-likelihood)")

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        return None

    def glm_boundary_warning(self, mu) -> str | None:
        return None


class QuasiBinomial(_Quasi, Binomial):
    """R's ``quasibinomial()``: the binomial's mean and variance, the dispersion estimated."""

    name = "quasibinomial"


class QuasiPoisson(_Quasi, Poisson):
    """R's ``quasipoisson()``: the Poisson's mean and variance, the dispersion estimated."""

    name = "quasipoisson"
