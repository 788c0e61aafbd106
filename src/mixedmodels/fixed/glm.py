"""``glm()``: generalized linear models by maximum likelihood, as R's ``glm``.

The response is read by :mod:`mixedmodels.families.response` (as ``mm.glmer`` reads it) and the
coefficients come from iteratively reweighted least squares (:mod:`mixedmodels.numerics.irls`),
started at the family's ``mustart``. With the fitted means ``mu``, the working weights ``W`` of
the last iteration, prior weights ``w`` (a binomial ``cbind`` response's trials included) and
``n`` the rows of non-zero weight:

    vcov(beta)   = phi (X'WX)^{-1},   phi = 1 (binomial, Poisson) or
    phi          = sum W_i r_i^2 / (n - rank),   r_i = (y_i - mu_i) / mu_eta(eta_i)
                   (the Pearson statistic over its degrees of freedom: quasi families, Gaussian),
    z (or t)     = beta / se,  p from the normal (or t on n - rank degrees of freedom),
    deviance     = sum d(y_i, mu_i, w_i),   null deviance: the same for the intercept-only
                   model (its mean the weighted mean of y; refitted by IRLS when there is an
                   offset), or for eta = offset without an intercept,
    AIC          = family's -2 log p(y | mu) + 2 rank,
    loglik       = rank - AIC / 2  (+1 for the Gaussian, whose variance is a parameter),
    BIC          = -2 loglik + log(n) npar.

Separated coefficients (infinite estimates: a level with no events, a predictor that splits
the 0s from the 1s) are found before fitting and held at a stated point with no standard error
(:mod:`mixedmodels.numerics.separation`); ``fit.separation`` lists them. R's ``glm`` reports wherever its
iterations stopped.

Residuals: deviance ``sign(y - mu) sqrt(d_i)``, Pearson ``(y - mu) sqrt(w) / sqrt(V(mu))``,
response ``y - mu``, working ``r``.

A family whose dispersion is estimated (the Gaussian, the Gamma) is R's ``glm``'s as above,
whether or not the family also estimates its parameter in ``glmer`` (the Pearson dispersion, t
tests, the family's ``aic``, ``npar = rank + 1``). A family with the dispersion fixed that
estimates a parameter (``method``): MASS's ``glm.nb`` where the family alternates
(:mod:`mixedmodels.fixed.glm_nb`), else maximum likelihood over the coefficients and the
parameter together (:mod:`mixedmodels.fixed.glm_ml`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from ..base.messages import warn
from ..base.protocols import Fit
from ..base.seeds import as_generator, replicate_count
from ..families import Family, Initialized, glm_family, has_dispersion
from ..families.response import degenerate_response, response_design
from ..formula.design import Design, drop_aliased
from ..formula.frames import as_pandas, check_frame
from ..formula.rsyntax import r_keywords
from ..formula.terms import ParsedFormula, parse_formula
from ..numerics.irls import IrlsFit, irls
from ..numerics.memory import check_rows_memory
from ..numerics.separation import Separation, detect_separation, fit_glm_separated
from ..report.glm import dispersion_line, glm_summary, glm_summary_html

__all__ = ["GlmFit", "bootstrap_statistic", "glm", "glm_blocks", "simulate_glm"]


@r_keywords
def glm(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "binomial",
    link: str | None = None,
    weights=None,
    offset=None,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "omit",
    memory_limit: float | None = None,
    method: str | None = None,
) -> GlmFit:
    """Fit a generalized linear model, as R's ``glm``.

    Parameters
    ----------
    formula : str
        ``"cbind(incidence, size - incidence) ~ period"``, ``"y ~ x + offset(log(t))"``.
    data : pandas.DataFrame or polars.DataFrame
    family : str or Family
        "binomial", "poisson", "quasibinomial", "quasipoisson" or "gaussian", or a
        :class:`~mixedmodels.families.Family` object (one's own subclass too).
    link : str, optional
        binomial families: "logit" (default), "probit", "cloglog", "cauchit", "log"; Poisson
        families: "log" (default), "sqrt", "identity"; Gaussian: "identity".
    weights : str or array, optional
        Prior weights (a column name or one number per row): the trials of a proportion.
    offset : str or array, optional
        A known part of the linear predictor, added to the formula's ``offset()`` terms.
    contrasts : mapping, optional
        ``{"herd": "sum"}``, as :func:`mixedmodels.lm`.
    na_action : {"omit", "raise"}
    memory_limit : float, optional
        Bytes the fit's dense arrays (the model matrix, its weighted copy and its QR) may
        take (default ``mixedmodels.options.memory_limit``); a larger fit (a factor with very
        many levels) is refused with MemoryError before the QR.
    method : {"irls", "alternate", "ml"}, optional
        How a family that estimates a parameter (``"nbinom2"``, ``NegativeBinomial()``) is fitted:
        ``"alternate"`` (the default where the family :attr:`~mixedmodels.families.Family.alternates_in_glm`),
        MASS's ``glm.nb`` (:mod:`mixedmodels.fixed.glm_nb`); ``"ml"`` (the default for the other
        such families), Newton's method over the coefficients and the log parameter, glmmTMB's fit
        without random effects (:mod:`mixedmodels.fixed.glm_ml`: standard errors from the joint
        Hessian); ``"irls"`` (the default for every other family, and for a family with an
        estimated dispersion such as the Gamma), R's ``glm``.

    Returns
    -------
    GlmFit
        :class:`~mixedmodels.fixed.glm_nb.GlmNbFit` (``"alternate"``),
        :class:`~mixedmodels.fixed.glm_ml.GlmMlFit` (``"ml"``).
    """
    check_frame(data)
    fam = glm_family(family, link)
    how = glm_method(fam, method)
    parsed = parse_formula(formula)
    if parsed.random:
        raise ValueError(f"{formula!r} has random-effects terms; use mm.glmer for a mixed model")
    frame = as_pandas(data, lambda schema: list(schema.columns))
    design, init = response_design(
        parsed,
        frame,
        fam,
        contrasts=contrasts,
        na_action=na_action,
        weights=weights,
        offset=offset,
        drop=False,
    )
    check_rows_memory(design.X.shape[0], design.X.shape[1], 3, memory_limit, "this GLM's IRLS")
    return fit_glm(formula, parsed, design, init, fam, link, dict(contrasts or {}), data, how)


_METHODS = {"irls": "irls", "alternate": "alternate", "glm.nb": "alternate", "ml": "ml"}


def glm_method(fam: Family, method: str | None) -> str:
    """How :func:`glm` fits ``fam``: "irls" (R's glm), "alternate" (MASS's glm.nb) or "ml"."""
    if method is None:
        if not fam.estimates_parameter or not fam.dispersion_fixed:
            return "irls"
        return "alternate" if fam.alternates_in_glm else "ml"
    how = _METHODS.get(str(method).lower())
    if how is None:
        raise ValueError(f"method must be 'irls', 'alternate' or 'ml', not {method!r}")
    if how != "irls" and not fam.estimates_parameter:
        raise ValueError(f"method={method!r}: the {fam.name} family has no parameter to estimate")
    if how == "alternate" and not fam.alternates_in_glm:
        raise ValueError(
            f"method={method!r}: the {fam.name} family's parameter is estimated with the "
            "coefficients (method='ml')"
        )
    if how == "irls" and fam.estimates_parameter and fam.dispersion_fixed:
        raise ValueError(
            f"method={method!r}: the {fam.name} family's {fam.parameter_name or 'parameter'} is to be "
            "estimated (method='alternate' or 'ml'); give its value to the family to hold it"
        )
    return how


def fit_glm(
    formula, parsed, design: Design, init: Initialized, fam: Family, link, contrasts, data, how: str = "irls"
) -> GlmFit:
    """Fit by IRLS from the family's starting means (``init``: the response as the family reads
    it); with ``how`` "alternate" or "ml", the family's parameter too (:func:`glm_method`)."""
    offset = np.zeros(len(init.y)) if design.offset is None else design.offset
    names = design.fixef_names
    good = init.weights > 0
    _, kept_names, _ = drop_aliased(design.X[good], names)
    kept = tuple(names.index(n) for n in kept_names)
    X = design.X[:, kept]
    degenerate = degenerate_response(fam, init, design.response)
    sep = None
    if degenerate is None:
        sep = detect_separation(X, init.y, init.weights, fam, names=[names[j] for j in kept])
    if how != "irls":
        return _fit_parameter(
            formula, parsed, design, init, fam, link, contrasts, data, how, kept, degenerate or sep
        )
    result: IrlsFit
    if degenerate is not None:  # R fits it without a word
        result = irls(X, init.y, fam, init.weights, offset, mustart=init.mustart)
        warnings.warn(
            f"glm: {degenerate}: the coefficients reported are where the fit stopped and their "
            "standard errors are meaningless",
            RuntimeWarning,
            stacklevel=4,
        )
    elif sep is None:
        result = irls(X, init.y, fam, init.weights, offset, mustart=init.mustart)
        _warn_boundary(fam, result.mu)
    else:
        result, note = fit_glm_separated(X, init.y, fam, init.weights, offset, sep, init.mustart)
        warn(note)
    return GlmFit(
        formula,
        parsed,
        design,
        fam,
        link,
        init.y,
        init.trials,
        init.weights,
        offset,
        kept,
        result,
        contrasts,
        data,
        sep,
    )


def _fit_parameter(formula, parsed, design, init, fam, link, contrasts, data, how, kept, problem) -> GlmFit:
    """The fit of a family whose parameter is estimated: MASS's alternation or Newton's method."""
    if problem is not None:
        what = (
            problem
            if isinstance(problem, str)
            else f"separated coefficients ({', '.join(problem.coefficients)})"
        )
        raise ValueError(
            f"glm: {what}: the {fam.name} family's parameter cannot be estimated with estimates at infinity"
        )
    offset = np.zeros(len(init.y)) if design.offset is None else design.offset
    X = design.X[:, list(kept)]
    common = (formula, parsed, design)
    rest = (init.y, init.trials, init.weights, offset, kept)
    if how == "alternate":
        from .glm_nb import GlmNbFit, alternate

        result, held, estimate = alternate(X, init.y, fam, init.weights, offset, mustart=init.mustart)
        return GlmNbFit(*common, held, link, *rest, result, contrasts, data, None, estimate, fam)
    from .glm_ml import GlmMlFit, newton_ml

    ml = newton_ml(X, init.y, fam, init.weights, offset, mustart=init.mustart, trials=init.trials)
    return GlmMlFit(*common, ml.family, link, *rest, ml.irls_view(), contrasts, data, None, ml)


def _warn_boundary(fam: Family, mu: np.ndarray) -> None:
    message = fam.glm_boundary_warning(mu)
    if message is not None:
        warnings.warn(f"glm: {message}", RuntimeWarning, stacklevel=4)


@dataclass(frozen=True, eq=False)
class GlmFit(Fit):
    """A generalized linear model fitted by :func:`mixedmodels.glm`.

    The names shared by every fit type are those of :class:`mixedmodels.base.protocols.Fit`
    (``fixef`` is :attr:`coef`, R's name for a glm fit's).

    Attributes
    ----------
    y, trials, prior_weights, offset : ndarray
        The response as the family reads it (a binomial proportion), the trials of each row,
        the prior weights (trials times given weights) and the offset (zeros without one).
    kept : tuple of int
        The columns of ``X`` that are not aliased with earlier ones.
    result : IrlsFit
        The end of the IRLS iterations.
    """

    formula: str
    parsed: ParsedFormula
    design: Design
    family: Family
    link_given: str | None
    y: np.ndarray
    trials: np.ndarray
    prior_weights: np.ndarray
    offset: np.ndarray
    kept: tuple[int, ...]
    result: IrlsFit
    contrasts: dict
    data: pd.DataFrame | None = None
    separation: Separation | None = None

    kind = "glm"
    is_generalized = True
    confint_methods: ClassVar[tuple[str, ...]] = ("profile", "wald")  # MASS's profile first: R's confint.glm

    # ----------------------------------------------------------------- coefficients
    @property
    def names(self) -> list[str]:
        return list(self.design.fixef_names)

    @property
    def aliased(self) -> list[str]:
        return [n for j, n in enumerate(self.names) if j not in self.kept]

    @property
    def rank(self) -> int:
        return len(self.kept)

    @property
    def link(self) -> str:
        return self.family.link.name

    @property
    def estimates_dispersion(self) -> bool:
        """Whether the dispersion is estimated (t tests) or fixed at 1 (z tests)."""
        return has_dispersion(self.family)

    @cached_property
    def coef(self) -> pd.Series:
        """Coefficients; NaN for columns aliased with earlier ones."""
        beta = np.full(len(self.names), np.nan)
        beta[list(self.kept)] = self.result.beta
        return pd.Series(beta, index=self.names, name="Estimate")

    @property
    def fixef(self) -> pd.Series:
        """The coefficients (:attr:`coef`), under the name every fit type shares."""
        return self.coef

    @cached_property
    def vcov_unscaled(self) -> np.ndarray:
        """``(X'WX)^{-1}`` of the kept columns."""
        return self.result.vcov_unscaled

    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the coefficients (NaN rows and columns for aliased ones)."""
        full = np.full((len(self.names),) * 2, np.nan)
        full[np.ix_(self.kept, self.kept)] = self.dispersion * self.vcov_unscaled
        return pd.DataFrame(full, index=self.names, columns=self.names)

    @cached_property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.names, name="Std. Error")

    @cached_property
    def zvalues(self) -> pd.Series:
        """Wald statistics ``beta / se`` (t values of a family with estimated dispersion)."""
        name = "t value" if self.estimates_dispersion else "z value"
        return pd.Series(self.coef / self.se, name=name)

    @property
    def tvalues(self) -> pd.Series:
        return self.zvalues

    @cached_property
    def pvalues(self) -> pd.Series:
        stat = np.abs(self.zvalues.to_numpy())
        if self.estimates_dispersion:
            p, name = 2.0 * stats.t.sf(stat, self.df_residual), "Pr(>|t|)"
        else:
            p, name = 2.0 * stats.norm.sf(stat), "Pr(>|z|)"
        return pd.Series(p, index=self.names, name=name)

    # ----------------------------------------------------------------- fit
    @property
    def nobs(self) -> int:
        """Observations with non-zero prior weight."""
        return int(np.count_nonzero(self.prior_weights))

    @property
    def df_residual(self) -> int:
        return self.nobs - self.rank

    @property
    def has_intercept(self) -> bool:
        return "(Intercept)" in self.names

    @property
    def df_null(self) -> int:
        return self.nobs - int(self.has_intercept)

    @property
    def deviance(self) -> float:
        return self.result.deviance

    @property
    def iterations(self) -> int:
        """IRLS iterations (R's "Fisher Scoring iterations")."""
        return self.result.iterations

    @property
    def converged(self) -> bool:
        return self.result.converged

    @cached_property
    def null_deviance(self) -> float:
        """Deviance of the intercept-only model (of ``eta = offset`` without an intercept)."""
        fam, y, w = self.family, self.y, self.prior_weights
        if self.has_intercept and self.design.offset is not None:
            ones = np.ones((len(y), 1))
            null = irls(ones, y, fam, w, self.offset, mustart=self.result.mu)
            return null.deviance
        mean = np.sum(w * y) / np.sum(w) if self.has_intercept else fam.linkinv(self.offset)
        return float(np.sum(fam.dev_resids(y, np.broadcast_to(mean, y.shape), w)))

    @cached_property
    def dispersion(self) -> float:
        """1 for the binomial and the Poisson; else the Pearson statistic over its degrees of freedom."""
        if not self.estimates_dispersion:
            return 1.0
        if self.df_residual <= 0:
            return math.nan
        W = self.result.working_weights
        r = self.residuals("working")
        return float(np.sum((W * r**2)[W > 0]) / self.df_residual)

    @cached_property
    def aic(self) -> float:
        fam = self.family
        return fam.aic(self.y, self.trials, self.result.mu, self.prior_weights, self.deviance) + 2 * self.rank

    @property
    def npar(self) -> int:
        """Parameters of the likelihood: coefficients, and a dispersion estimated within it (the
        Gaussian's variance; a quasi family has no likelihood), and the family's extra ones."""
        fam = self.family  # a family's estimated parameter is its dispersion here (Gamma's shape)
        return self.rank + int(not fam.dispersion_fixed and fam.has_likelihood)

    @property
    def loglik(self) -> float:
        return self.npar - self.aic / 2

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + math.log(self.nobs) * self.npar

    # ----------------------------------------------------------------- per observation
    def _series(self, values: np.ndarray, name: str) -> pd.Series:
        return pd.Series(values, index=self.design.row_index, name=name)

    @cached_property
    def fitted(self) -> pd.Series:
        """Fitted means of the response: ``mu``, or the family's mean of the response at ``mu``
        where that differs (a zero-truncated family's ``mu / (1 - p0)``, glmmTMB's ``fitted``)."""
        return self._series(self.family.response_mean(self.result.mu), "fitted")

    @cached_property
    def linear_predictor(self) -> pd.Series:
        """``eta = X beta + offset``."""
        return self._series(self.result.eta, "linear_predictor")

    def residuals(self, type: str = "deviance") -> np.ndarray:
        """Residuals as an array: :meth:`resid`'s values (an alias kept from before :meth:`resid`,
        the name every fit type shares; a method here, as R's ``residuals(fit, type)``)."""
        fam, y, mu, w = self.family, self.y, self.result.mu, self.prior_weights
        if type == "deviance":
            if not fam.unit_deviance:
                raise ValueError(
                    f"deviance residuals are not defined: the {fam.name} family has no unit deviance"
                )
            d = fam.residual_deviances(y, mu, w)
            d = np.maximum(fam.dev_resids(y, mu, w) if d is None else d, 0.0)
            return np.sign(y - mu) * np.sqrt(d)
        if type == "pearson":  # glmmTMB's for a family whose response mean is not mu (truncated)
            return (y - fam.response_mean(mu)) * np.sqrt(w) / np.sqrt(fam.pearson_variance(mu))
        if type == "response":
            return y - fam.response_mean(mu)
        if type == "working":
            return (y - mu) / fam.mu_eta(self.result.eta)
        raise ValueError(f"type must be 'deviance', 'pearson', 'response' or 'working', not {type!r}")

    def resid(self, type: str = "deviance") -> pd.Series:
        """Residuals of each observation, as R's ``residuals.glm``.

        Parameters
        ----------
        type : {"deviance", "pearson", "response", "working"}
        """
        return self._series(self.residuals(type), f"{type} residuals")

    # ----------------------------------------------------------------- inference
    def confint(self, method: str = "profile", level: float = 0.95) -> pd.DataFrame:
        """Confidence intervals for the coefficients.

        ``"profile"`` inverts the profiled deviance as R's ``confint.glm`` (MASS); ``"wald"``
        is ``beta -+ z se``, as R's ``confint.default``.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, not {level}")
        lo, hi = f"{100 * (1 - level) / 2:g} %", f"{100 * (1 + level) / 2:g} %"
        method = str(method).lower()  # R spells it "Wald"
        if method == "wald":
            q = stats.norm.ppf(0.5 + level / 2)
            return pd.DataFrame({lo: self.coef - q * self.se, hi: self.coef + q * self.se})
        if method == "profile":
            from ..profile.glm import profile_confint

            bounds = profile_confint(self, level)
            return pd.DataFrame(bounds, index=self.names, columns=[lo, hi])
        raise ValueError(f"method must be 'profile' or 'wald', not {method!r}")

    def predict(self, newdata: pd.DataFrame | None = None, type: str = "link", se_fit: bool = False):
        """Predictions on the ``"link"`` or ``"response"`` scale, as R's ``predict.glm``.

        With ``se_fit`` a DataFrame of ``fit`` and ``se_fit`` (the delta method on the
        response scale), with ``attrs["residual_scale"] = sqrt(dispersion)``.
        """
        from ..lmm.predict import predict_glm

        return predict_glm(self, newdata, type, se_fit)

    def simulate(self, nsim: int = 1, seed=None) -> pd.DataFrame:
        """New responses from the fitted means (as the family reads them), one column each."""
        Y = simulate_glm(self, replicate_count(nsim), as_generator(seed))
        return pd.DataFrame(
            Y, index=self.design.row_index, columns=[f"sim_{i + 1}" for i in range(Y.shape[1])]
        )

    @property
    def observed_response(self) -> np.ndarray:
        """:attr:`y`, the response as the family reads it (a binomial's proportions)."""
        return np.asarray(self.y, dtype=float)

    @property
    def working_weights(self) -> np.ndarray:
        """The IRLS working weights at the fitted means (R's ``weights(fit, "working")``)."""
        return np.asarray(self.result.working_weights, dtype=float)

    @property
    def pearson_dispersion(self) -> np.ndarray:
        """:attr:`dispersion` for every row (R's ``summary(fit)$dispersion``)."""
        return np.full(len(self.y), float(self.dispersion))

    @property
    def response_variance(self) -> np.ndarray:
        """``phi V(mu) / w`` at the fitted means (infinite for a row of prior weight 0)."""
        with np.errstate(divide="ignore"):
            return self.dispersion * np.asarray(self.family.variance(self.result.mu)) / self.prior_weights

    def response_as_draws(self, values: Any, means: bool = False) -> np.ndarray:
        """The family's :meth:`~mixedmodels.families.Family.response_as_draws` with the prior
        weights, the trials the simulator draws a binomial's successes out of (R's
        ``simulate``; see :meth:`mixedmodels.base.protocols.Fit.response_as_draws`)."""
        w = self.prior_weights[:, None] if np.ndim(values) == 2 else self.prior_weights
        return np.asarray(self.family.response_as_draws(values, w, means), dtype=float)

    def simulate_blocks(
        self, nsim: int, rng: np.random.Generator, block: int, use_u: bool = False
    ) -> Iterator[np.ndarray]:
        """The responses of :meth:`simulate` (on the family's scale), ``block`` replicates at a
        time (what the bootstrap refits); ``use_u`` is ignored (no random effects)."""
        return glm_blocks(self, nsim, rng, block)

    def refit(self, y: np.ndarray, separation: Separation | None = None) -> GlmFit:
        """The model fitted to a new response (on the family's scale, the same prior weights),
        by IRLS started at this fit's linear predictor; with ``separation`` (of the new
        response: :class:`~mixedmodels.numerics.separation.SeparationCheck`) its separated coefficients
        held at the stated point."""
        X = self.design.X[:, list(self.kept)]
        result: IrlsFit
        if separation is not None:
            result, _ = fit_glm_separated(X, y, self.family, self.prior_weights, self.offset, separation)
        else:
            result = irls(X, y, self.family, self.prior_weights, self.offset, etastart=self.result.eta)
        return replace(self, y=np.asarray(y, dtype=float), result=result, separation=separation)

    # ----------------------------------------------------------------- output
    def family_parameters(self) -> dict[str, float]:
        """The family's parameters estimated by the fit, by name (none here; ``theta`` of
        :class:`~mixedmodels.fixed.glm_nb.GlmNbFit`)."""
        return {}

    def dispersion_lines(self) -> list[str]:
        """The summary's line(s) on the dispersion (and a family's estimated parameter)."""
        return [dispersion_line(self)]

    def to_dict(self) -> dict:
        """JSON-ready results (NaN becomes None)."""

        def named(series: pd.Series) -> dict:
            return {k: _number(v) for k, v in series.items()}

        return {
            "formula": self.formula,
            "family": self.family.name,
            "link": self.link,
            "nobs": self.nobs,
            "coef": named(self.coef),
            "se": named(self.se),
            ("t" if self.estimates_dispersion else "z"): named(self.zvalues),
            "p": named(self.pvalues),
            "deviance": self.deviance,
            "null_deviance": self.null_deviance,
            "df_residual": self.df_residual,
            "df_null": self.df_null,
            "aic": _number(self.aic),
            "bic": _number(self.bic),
            "loglik": _number(self.loglik),
            "dispersion": _number(self.dispersion),
            "iterations": self.iterations,
            "converged": self.converged,
            "aliased": self.aliased,
            "dropped_rows": self.design.dropped_rows,
            "separated": [] if self.separation is None else list(self.separation.coefficients),
        }

    def summary(self) -> str:
        """The summary in R's (4.2) ``summary.glm`` layout."""
        return glm_summary(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return glm_summary_html(self)

    def __repr__(self) -> str:
        return (
            f"<GlmFit {self.formula!r}: {self.family.name}({self.link}), nobs={self.nobs}, "
            f"deviance={self.deviance:.6g}>"
        )


def _number(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def simulate_glm(fit: GlmFit, nsim: int, rng: np.random.Generator) -> np.ndarray:
    """Responses drawn from the fitted means, on the family's scale (n x nsim).

    The family's :meth:`~mixedmodels.families.Family.draw` with the prior weights ``w``:
    binomial: successes ~ Binomial(w, mu) over the trials ``w``, divided by ``w``; Poisson:
    Poisson(mu); Gaussian: mu + N(0, phi / w); a quasi family has nothing to draw from. Drawn
    replicate by replicate, so the first ``k`` replicates are the same whatever ``nsim``.
    """
    fam, mu, w = fit.family, fit.result.mu, fit.prior_weights
    dispersion = fit.dispersion if fam.has_likelihood else 1.0
    draws = fam.draw(np.broadcast_to(mu, (nsim, len(mu))), w, rng, dispersion)
    return fam.draws_as_response(draws, w).T


def glm_blocks(fit: GlmFit, nsim: int, rng: np.random.Generator, block: int) -> Iterator[np.ndarray]:
    """The responses of :func:`simulate_glm`, ``block`` replicates at a time (the same numbers)."""
    for lo in range(0, nsim, block):
        yield simulate_glm(fit, min(block, nsim - lo), rng)


def bootstrap_statistic(fit: GlmFit) -> pd.Series:
    """What a bootstrap collects by default: the coefficients (and an estimated dispersion, and
    the family's estimated parameter)."""
    values = fit.coef
    if fit.estimates_dispersion:
        values = pd.concat([values, pd.Series({"dispersion": fit.dispersion})])
    extra = fit.family_parameters()
    if extra:
        values = pd.concat([values, pd.Series(extra)])
    return values
