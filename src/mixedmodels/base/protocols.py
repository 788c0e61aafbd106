"""What every fitted model offers, so that shared code asks the fit instead of testing its class.

Two abstract base classes name the parts the rest of the package reads:

- :class:`Fit`, every fitted model (``lmer``, ``glmer``, ``lm``, ``glm``): the fixed effects
  and their covariance, fitted values and residuals, the log-likelihood, the number of
  observations, the JSON-ready dict, the notebook's HTML, responses simulated in blocks for
  the bootstrap, and what kind of model it is;
- :class:`MixedFit`, a mixed model (``lmer``, ``glmer``): with ``theta``, the variance
  components, the conditional modes and refits to a new response.

The names keep R's spellings: ``fixef`` and ``se`` (Series named ``"Estimate"`` and
``"Std. Error"`` on every fit type, as R's summaries head the columns), ``resid(type=...)``
(R's ``residuals(fit, type)``; the older ``residuals`` stays as it was on each type),
``fitted``, ``nobs``, ``loglik`` (``logLik``). What a fit *is* is told by the class attributes
``kind`` (the R function that makes it: ``"lmer"``, ``"glmer"``, ``"lm"``, ``"glm"``),
``is_mixed`` (lme4's ``isLMM || isGLMM``), ``is_generalized`` (a family and link: ``glmer`` and
``glm`` fits, whatever their family) and the property ``is_reml`` (lme4's ``isREML``).

:func:`fit_of` is the one test of a fit's kind that shared code makes (a function that takes
only some kinds refuses the others with its own message).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ..numerics.separation import Separation

__all__ = ["KINDS", "Fit", "GaussianResiduals", "MixedFit", "fit_of"]

KINDS = ("lmer", "glmer", "lm", "glm")  # the R functions whose fits the package makes


class Fit(ABC):
    """A fitted model: what every fit type offers (see the module).

    Subclasses are frozen dataclasses; the class attributes below are set on each.
    """

    kind: ClassVar[str]  # the R function that makes this kind of fit
    is_mixed: ClassVar[bool] = False  # random effects (lme4's isLMM or isGLMM)
    is_generalized: ClassVar[bool] = False  # a family and link (glmer, glm), not least squares
    # the methods of confint (lower case), the first what R's confint does by default
    confint_methods: ClassVar[tuple[str, ...]] = ("wald",)
    # the separated fixed effects (infinite estimates) of a glmer or glm fit; None when there
    # are none, as always for lmer and lm fits (mixedmodels.numerics.separation)
    separation: Separation | None = None

    # ---------------------------------------------------------------- estimates
    @property
    @abstractmethod
    def fixef(self) -> pd.Series:
        """The fixed-effects estimates (coefficients), named ``"Estimate"``, indexed by the
        model-matrix columns (NaN for a column aliased with earlier ones)."""

    @property
    @abstractmethod
    def se(self) -> pd.Series:
        """Standard errors of the fixed effects, named ``"Std. Error"``."""

    @property
    @abstractmethod
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effects estimates."""

    @property
    @abstractmethod
    def loglik(self) -> float:
        """The log-likelihood (R's ``logLik``; for a REML fit the REML criterion times -1/2)."""

    @property
    @abstractmethod
    def nobs(self) -> int:
        """The number of observations (R's ``nobs``)."""

    @property
    def aliased(self) -> list[str]:
        """Columns of the model matrix aliased with earlier ones, which have no estimate (NaN
        in :attr:`fixef`): an lm or glm fit's, as R's; a mixed model drops them from its design
        (with a message), so it has none."""
        return []

    @property
    def is_reml(self) -> bool:
        """Whether the fit maximized the REML criterion (lme4's ``isREML``)."""
        return False

    # ------------------------------------------------------------- observations
    @property
    @abstractmethod
    def fitted(self) -> Any:
        """Fitted values of the rows used in the fit (a Series; a lazy one for a Dask fit)."""

    @abstractmethod
    def resid(self, type: str) -> Any:
        """Residuals of the given ``type`` (R's ``residuals(fit, type)``); each fit type's
        default is R's."""

    @property
    def has_rows(self) -> bool:
        """Whether the observations are in memory (False for a model fitted to a Dask DataFrame
        from its cross-products: it cannot be simulated from or refitted)."""
        return True

    def require_rows(self, what: str) -> None:
        """Refuse ``what`` for a model fitted from its cross-products alone (a Dask DataFrame):
        simulation, refits, profiles, the bootstrap and type III tests need the observations."""
        if not self.has_rows:
            raise NotImplementedError(
                f"{what} needs the observations in memory; this model was fitted to a Dask DataFrame "
                "from its cross-products. Fit it to a pandas DataFrame (data.compute(), or a sample) for this"
            )

    @abstractmethod
    def simulate_blocks(
        self, nsim: int, rng: np.random.Generator, block: int, use_u: bool = False
    ) -> Iterator[np.ndarray]:
        """``nsim`` simulated responses (n x block arrays), ``block`` replicates at a time, the
        same numbers for any ``block``, in the form the fit's refits read them: what the
        bootstrap refits. ``use_u`` holds the random effects at their conditional modes (mixed
        models; the others have none and ignore it)."""

    # -------------------------------------------------------- what the checks read
    @property
    def observed_response(self) -> np.ndarray:
        """The response of the rows used, on the model's scale (a binomial's proportions)."""
        raise NotImplementedError(f"a {type(self).__name__} does not give its response")

    @property
    def population_fitted(self) -> np.ndarray:
        """The fitted means without random effects (lme4's ``predict(fit, re.form = NA, type =
        "response")``): the fitted values of a fit without random effects."""
        return np.asarray(self.fitted, dtype=float)

    @property
    def working_weights(self) -> np.ndarray:
        """R's ``weights(fit, type = "working")``: the prior weights of a least-squares fit, the
        working weights ``w mu_eta^2 / V(mu)`` of a GLM or GLMM at its fitted means."""
        raise NotImplementedError(f"a {type(self).__name__} does not give its working weights")

    @property
    def pearson_dispersion(self) -> np.ndarray:
        """The dispersion of each Pearson residual: ``phi_i`` with ``Var(y_i) = phi_i V(mu_i) / w_i``,
        so that ``r_i / sqrt(phi_i)`` has variance 1 under the model (``sigma^2`` of a linear model,
        a GLM's dispersion, the family's ``Var(y) / V(mu)`` for a GLMM: see each fit type)."""
        raise NotImplementedError(f"a {type(self).__name__} does not give its Pearson dispersion")

    @property
    def r_sigma(self) -> float:
        """R's ``sigma()`` of the fit as R's function for it gives it (broom's glance and
        performance read it): ``sqrt(deviance / df.residual)`` (``sigma.default``) unless the
        fit type says otherwise."""
        return math.sqrt(float(self.deviance) / self.df_residual)  # type: ignore[attr-defined]

    @property
    def response_variance(self) -> np.ndarray:
        """The model's variance of each response at its fitted mean, ``phi_i V(mu_i) / w_i``
        (:attr:`pearson_dispersion` times the variance function over the prior weight)."""
        raise NotImplementedError(f"a {type(self).__name__} does not give its response variance")

    def response_as_draws(self, values: Any, means: bool = False) -> np.ndarray:
        """Responses on the model's scale (rows, or rows x replicates) on the scale the simulator
        draws them (a binomial's successes out of the trials it draws with, rounded; ``means``:
        means, not rounded); the values themselves for a fit without a family."""
        return np.asarray(values, dtype=float)

    def simulate_draws(
        self, nsim: int, rng: np.random.Generator, use_u: bool = False, block: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The observed response and ``nsim`` simulated ones (rows x nsim) on the scale the
        simulator draws them (:meth:`response_as_draws`: a binomial's successes with the trials the
        simulator uses, prior weights included), from :meth:`simulate_blocks` (``block``
        replicates at a time; all at once by default)."""
        blocks = list(self.simulate_blocks(nsim, rng, block or nsim, use_u=use_u))
        simulated = blocks[0] if len(blocks) == 1 else np.hstack(blocks)
        return self.response_as_draws(self.observed_response), self.response_as_draws(simulated)

    # ------------------------------------------------------------------- output
    @abstractmethod
    def to_dict(self) -> dict:
        """A JSON-ready dict of the results."""

    @abstractmethod
    def _repr_html_(self) -> str:
        """The summary as HTML (for notebooks)."""


class GaussianResiduals:
    """The residuals of a fit with a Gaussian response (``lm``, ``lmer``), as R's
    ``residuals.lm`` and lme4's ``residuals.merMod`` give them: ``"response"`` and ``"working"``
    are ``y - fitted``; ``"pearson"`` and ``"deviance"`` are ``sqrt(w) (y - fitted)`` (the same
    without prior weights). The class reads ``design`` (``y``, ``weights``, ``row_index``) and
    ``fitted``."""

    RESIDUAL_TYPES: ClassVar[tuple[str, ...]] = ("response", "working", "pearson", "deviance")

    @cached_property
    def residuals(self) -> pd.Series:
        """Response minus fitted values: ``resid("response")`` (an alias kept from before
        :meth:`resid`, the name every fit type shares)."""
        design = self.design  # type: ignore[attr-defined]
        fitted = self.fitted.to_numpy()  # type: ignore[attr-defined]
        return pd.Series(design.y - fitted, index=design.row_index, name="residuals")

    @property
    def observed_response(self) -> np.ndarray:
        """The response of the rows used."""
        return np.asarray(self.design.y, dtype=float)  # type: ignore[attr-defined]

    @property
    def working_weights(self) -> np.ndarray:
        """The prior weights (ones without)."""
        return np.asarray(self.weights, dtype=float)  # type: ignore[attr-defined]

    @property
    def r_sigma(self) -> float:
        """R's ``sigma()``: the residual standard deviation."""
        return float(self.sigma)  # type: ignore[attr-defined]

    @property
    def pearson_dispersion(self) -> np.ndarray:
        """``sigma^2`` for every row."""
        return np.full(len(self.design.y), float(self.sigma) ** 2)  # type: ignore[attr-defined]

    @property
    def response_variance(self) -> np.ndarray:
        """``sigma^2 / w``."""
        return float(self.sigma) ** 2 / self.working_weights  # type: ignore[attr-defined]

    def _residual_values(self, type: str) -> np.ndarray:
        """The residuals of ``type`` (one of :attr:`RESIDUAL_TYPES`) as an array."""
        if type not in self.RESIDUAL_TYPES:
            allowed = ", ".join(repr(t) for t in self.RESIDUAL_TYPES)
            raise ValueError(f"type must be one of {allowed}, not {type!r}")
        r = self.residuals.to_numpy()
        weights = self.design.weights  # type: ignore[attr-defined]
        if type in ("pearson", "deviance") and weights is not None:
            r = r * np.sqrt(weights)
        return r


class MixedFit(Fit):
    """A fitted mixed model (``lmer``, ``glmer``): a :class:`Fit` with random effects."""

    is_mixed: ClassVar[bool] = True
    messages: tuple[str, ...]  # what the fit said (convergence, dropped columns), in order

    @property
    @abstractmethod
    def objective(self) -> float:
        """The criterion at the optimum (REML criterion or deviance ``-2 loglik``)."""

    @property
    @abstractmethod
    def converged(self) -> bool:
        """Whether the optimizer converged to a point that passes the convergence check."""

    @property
    @abstractmethod
    def theta(self) -> np.ndarray:
        """The relative covariance parameters at the optimum."""

    @property
    @abstractmethod
    def layout(self) -> Any:
        """The :class:`~mixedmodels.covariance.layout.ThetaLayout` of ``theta``: each term's
        covariance structure, its templates and its boundary."""

    @property
    @abstractmethod
    def varcorr(self) -> pd.DataFrame:
        """The variance components, as lme4's ``as.data.frame(VarCorr(fit))``."""

    @abstractmethod
    def ranef(self, condvar: bool = False) -> Any:
        """The conditional modes of the random effects, as lme4's ``ranef``."""

    @abstractmethod
    def refit(self, newresponse) -> MixedFit:
        """The same model fitted to a new response, as lme4's ``refit``."""


def fit_of(obj: object, *kinds: str) -> bool:
    """Whether ``obj`` is a fit of one of ``kinds`` (the R functions: "lmer", "glmer", "lm",
    "glm"; a Dask lmer fit is an "lmer" fit)."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of fit {sorted(unknown)}; the kinds are {KINDS}")
    return isinstance(obj, Fit) and obj.kind in kinds
