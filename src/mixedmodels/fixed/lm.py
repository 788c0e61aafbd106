"""``lm()``: the fixed-effects linear model by (weighted) least squares, as R's ``lm``.

With weights ``w`` (all 1 by default), ``W = diag(w)``:

    beta = (X'WX)^{-1} X'Wy  by a QR of W^{1/2} X (columns aliased with earlier ones get no
                              estimate, as R's pivoting QR leaves them NA),
    sigma^2 = sum w e^2 / (n - rank),        vcov(beta) = sigma^2 (R'R)^{-1},
    R^2 = MSS / (MSS + RSS), MSS = sum w (f - mean_w f)^2 (sum w f^2 without an intercept),
    F = (MSS / (rank - 1)) / sigma^2 on (rank - 1, n - rank) degrees of freedom,
    loglik = (sum log w - n (log(2 pi) + 1 - log n + log sum w e^2)) / 2,

where ``n`` counts the observations with non-zero weight.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from ..base.information import InformationCriteria
from ..base.protocols import Fit, GaussianResiduals
from ..base.seeds import as_generator, replicate_count
from ..formula.design import Design, build_design, drop_aliased
from ..formula.frames import check_frame
from ..formula.rsyntax import r_keywords
from ..formula.terms import ParsedFormula, parse_formula
from ..lmm.simulate import lm_blocks, simulate_lm
from ..numerics.memory import check_rows_memory
from ..report.lm import lm_summary, lm_summary_html

__all__ = ["LmFit", "lm"]


@r_keywords
def lm(
    formula: str,
    data: pd.DataFrame,
    contrasts: Mapping[str, object] | None = None,
    weights=None,
    na_action: str = "omit",
    offset=None,
    memory_limit: float | None = None,
) -> LmFit:
    """Fit a linear model by least squares, as R's ``lm``.

    Parameters
    ----------
    formula : str
        ``"y ~ x + p"``; categorical columns are coded by ``contrasts``.
    data : pandas.DataFrame or polars.DataFrame
        The data; it is not modified. Of a polars DataFrame only the columns the model uses
        (and the weights column) are converted.
    contrasts : mapping, optional
        ``{"p": "sum"}``: "treatment" (default), "sum", "helmert", "poly" or a matrix.
    weights : str or array, optional
        A column name or one non-negative weight per row (weighted least squares).
    na_action : {"omit", "raise"}
        Drop rows with missing values (and count them) or refuse them.
    offset : str or array, optional
        A known term of the linear predictor (a column name or one number per row), added to
        the formula's ``offset(expr)`` terms, as R's ``offset``.
    memory_limit : float, optional
        Bytes the fit's dense arrays (the model matrix, its weighted copy and its QR) may
        take (default ``mixedmodels.options.memory_limit``); a larger fit (a factor with very
        many levels) is refused with MemoryError before the QR.
    """
    check_frame(data)
    parsed = parse_formula(formula)
    if parsed.random:
        raise ValueError(f"{formula!r} has random-effects terms; use mm.lmer for a mixed model")
    design = build_design(
        parsed, data, contrasts=contrasts, na_action=na_action, drop=False, weights=weights, offset=offset
    )
    check_rows_memory(design.X.shape[0], design.X.shape[1], 3, memory_limit, "this linear model's QR")
    return LmFit(formula=formula, design=design, contrasts=dict(contrasts or {}), data=data)


@dataclass(frozen=True, eq=False)
class LmFit(InformationCriteria, GaussianResiduals, Fit):
    """A linear model fitted by :func:`mixedmodels.lm`.

    The names shared by every fit type are those of :class:`mixedmodels.base.protocols.Fit`
    (``fixef`` is :attr:`coef`, R's name for an lm fit's).
    """

    kind = "lm"

    formula: str
    design: Design
    contrasts: dict
    data: pd.DataFrame | None = None

    @cached_property
    def weights(self) -> np.ndarray:
        """The prior weights (ones where none were given), as R's ``weights(fit)``."""
        w = self.design.weights
        return np.ones(len(self.design.y)) if w is None else w

    @cached_property
    def qr(self) -> tuple[list[int], np.ndarray, np.ndarray]:
        """QR of the weighted kept columns: (index of kept columns, Q, R), as R's ``fit$qr``."""
        sw = np.sqrt(self.weights)
        Xw = self.design.X * sw[:, None]
        names = self.design.fixef_names
        _, kept_names, _ = drop_aliased(Xw, names)
        kept = [names.index(n) for n in kept_names]
        Q, R = np.linalg.qr(Xw[:, kept])
        return kept, Q, R

    @cached_property
    def parsed(self) -> ParsedFormula:
        """The formula split into response and fixed part (parsed once, at the fit)."""
        return self.design.parsed if self.design.parsed is not None else parse_formula(self.formula)

    @property
    def names(self) -> list[str]:
        return list(self.design.fixef_names)

    @property
    def aliased(self) -> list[str]:
        kept = self.qr[0]
        return [n for j, n in enumerate(self.names) if j not in kept]

    @property
    def rank(self) -> int:
        return len(self.qr[0])

    @property
    def nobs(self) -> int:
        """Observations with non-zero weight."""
        return int(np.count_nonzero(self.weights))

    @property
    def df_residual(self) -> int:
        return self.nobs - self.rank

    @cached_property
    def _beta(self) -> np.ndarray:
        kept, Q, R = self.qr
        beta = np.full(len(self.names), np.nan)
        beta[kept] = np.linalg.solve(R, Q.T @ (self.working_response(self.design.y) * np.sqrt(self.weights)))
        return beta

    def working_response(self, y: np.ndarray) -> np.ndarray:
        """A response (or a column per replicate) less the offset: what the coefficients fit."""
        offset = self.design.offset
        if offset is None:
            return y
        return y - (offset if y.ndim == 1 else offset[:, None])

    @cached_property
    def coef(self) -> pd.Series:
        """Coefficients; NaN for columns aliased with earlier ones."""
        return pd.Series(self._beta, index=self.names, name="Estimate")

    @property
    def fixef(self) -> pd.Series:
        """The coefficients (:attr:`coef`), under the name every fit type shares."""
        return self.coef

    @cached_property
    def fitted(self) -> pd.Series:
        kept = self.qr[0]
        values = self.design.X[:, kept] @ self._beta[kept]
        if self.design.offset is not None:
            values = values + self.design.offset
        return pd.Series(values, index=self.design.row_index, name="fitted")

    def resid(self, type: str = "response") -> pd.Series:
        """Residuals as R's ``residuals.lm(fit, type)``
        (:class:`~mixedmodels.base.protocols.GaussianResiduals`)."""
        return pd.Series(self._residual_values(type), index=self.residuals.index, name="residuals")

    @cached_property
    def rss(self) -> float:
        """Weighted residual sum of squares."""
        return float(np.sum(self.weights * self.residuals.to_numpy() ** 2))

    @cached_property
    def sigma(self) -> float:
        """Residual standard error."""
        if self.df_residual <= 0:
            return float("nan")
        return math.sqrt(self.rss / self.df_residual)

    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Covariance of the coefficients (NaN rows and columns for aliased ones)."""
        kept, _, R = self.qr
        Rinv = np.linalg.solve(R, np.eye(len(kept)))
        full = np.full((len(self.names),) * 2, np.nan)
        full[np.ix_(kept, kept)] = self.sigma**2 * (Rinv @ Rinv.T)
        return pd.DataFrame(full, index=self.names, columns=self.names)

    @cached_property
    def se(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.names, name="Std. Error")

    @cached_property
    def tvalues(self) -> pd.Series:
        return pd.Series(self.coef / self.se, name="t value")

    @cached_property
    def pvalues(self) -> pd.Series:
        p = 2.0 * stats.t.sf(np.abs(self.tvalues.to_numpy()), self.df_residual)
        return pd.Series(p, index=self.names, name="Pr(>|t|)")

    @property
    def has_intercept(self) -> bool:
        return "(Intercept)" in self.names

    @cached_property
    def _mss(self) -> float:
        # against the null model with the same offset (R 4.2's summary.lm keeps the offset in
        # the fitted values, so its R^2 and F differ for a model with an offset)
        f, w = self.working_response(self.fitted.to_numpy()), self.weights
        if self.has_intercept:
            f = f - np.sum(w * f) / np.sum(w)
        return float(np.sum(w * f**2))

    @property
    def r_squared(self) -> float:
        return self._mss / (self._mss + self.rss)

    @property
    def adj_r_squared(self) -> float:
        n_int = int(self.has_intercept)
        return 1.0 - (1.0 - self.r_squared) * (self.nobs - n_int) / self.df_residual

    @property
    def fstatistic(self) -> tuple[float, int, int]:
        """The F statistic against the intercept-only (or empty) model, with its degrees of freedom."""
        numdf = self.rank - int(self.has_intercept)
        value = (self._mss / numdf) / self.sigma**2 if numdf > 0 else float("nan")
        return value, numdf, self.df_residual

    @property
    def f_pvalue(self) -> float:
        value, numdf, dendf = self.fstatistic
        return float(stats.f.sf(value, numdf, dendf)) if numdf > 0 else float("nan")

    @cached_property
    def loglik(self) -> float:
        return self._profiled_loglik(self.nobs)

    @cached_property
    def reml_loglik(self) -> float:
        """The REML log-likelihood, as R's ``logLik(fit, REML = TRUE)``: the profiled one with
        ``n - p`` observations, less ``log|R|`` (``R`` the triangular factor of the weighted X)."""
        R = self.qr[2]
        return self._profiled_loglik(self.nobs - self.rank) - float(np.sum(np.log(np.abs(np.diag(R)))))

    def _profiled_loglik(self, n: int) -> float:
        """``sum(log w) / 2 - n/2 (log 2 pi + 1 - log n + log RSS)``, sigma profiled out."""
        w = self.weights[self.weights > 0]
        return 0.5 * (np.sum(np.log(w)) - n * (math.log(2 * math.pi) + 1 - math.log(n) + math.log(self.rss)))

    @property
    def npar(self) -> int:
        """Estimated parameters: coefficients and sigma."""
        return self.rank + 1

    def confint(self, level: float = 0.95, method: str = "wald") -> pd.DataFrame:
        """Confidence intervals for the coefficients from the t distribution, as R's ``confint.lm``
        (``method``: "wald", the only one, for a call that names it as other fits' confint do)."""
        if str(method).lower() != "wald":
            raise ValueError(f"an lm fit has only Wald (t) intervals, not method={method!r}")
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, not {level}")
        q = stats.t.ppf(0.5 + level / 2, self.df_residual)
        lo, hi = f"{100 * (1 - level) / 2:g} %", f"{100 * (1 + level) / 2:g} %"
        return pd.DataFrame({lo: self.coef - q * self.se, hi: self.coef + q * self.se})

    def predict(self, newdata: pd.DataFrame | None = None, interval: str | None = None, level: float = 0.95):
        """Predictions, with ``interval="confidence"`` or ``"prediction"`` bounds as R's ``predict.lm``."""
        from ..lmm.predict import predict_lm

        return predict_lm(self, newdata, interval, level)

    def simulate(self, nsim: int = 1, seed=None) -> pd.DataFrame:
        """New responses from the fitted model (fitted values plus normal noise), one column each."""
        Y = simulate_lm(self, replicate_count(nsim), as_generator(seed))
        return pd.DataFrame(
            Y, index=self.design.row_index, columns=[f"sim_{i + 1}" for i in range(Y.shape[1])]
        )

    def simulate_blocks(
        self, nsim: int, rng: np.random.Generator, block: int, use_u: bool = False
    ) -> Iterator[np.ndarray]:
        """The responses of :meth:`simulate` (n x nsim), ``block`` replicates at a time (what the
        bootstrap refits); ``use_u`` is ignored (no random effects)."""
        return lm_blocks(self, nsim, rng, block)

    def to_dict(self) -> dict:
        """JSON-ready results (NaN for aliased coefficients becomes None)."""

        def named(series: pd.Series) -> dict:
            return {k: (None if np.isnan(v) else float(v)) for k, v in series.items()}

        return {
            "formula": self.formula,
            "nobs": self.nobs,
            "coef": named(self.coef),
            "se": named(self.se),
            "t": named(self.tvalues),
            "p": named(self.pvalues),
            "sigma": self.sigma,
            "df_residual": self.df_residual,
            "r_squared": self.r_squared,
            "adj_r_squared": self.adj_r_squared,
            "fstatistic": list(self.fstatistic),
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "aliased": self.aliased,
            "dropped_rows": self.design.dropped_rows,
        }

    def summary(self) -> str:
        """The summary in R's ``summary.lm`` layout."""
        return lm_summary(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return lm_summary_html(self)

    def __repr__(self) -> str:
        return f"<LmFit {self.formula!r}: nobs={self.nobs}, rank={self.rank}, sigma={self.sigma:.4g}>"
