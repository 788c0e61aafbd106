"""Inference for fixed effects: Satterthwaite degrees of freedom (as lmerTest), F tests of
contrasts, a type III ANOVA table, and likelihood-ratio tests between models.

With the variance parameters ``psi = (theta, sigma)``, the deviance ``d(psi)`` not profiled over
``sigma`` (REML or ML, as the model was fitted)

    REML: d = log|L|^2 + log|R_X|^2 + r2(theta) / sigma^2 + (n - p) log(2 pi sigma^2)
    ML:   d = log|L|^2 + r2(theta) / sigma^2 + n log(2 pi sigma^2)

and ``V(psi) = sigma^2 (R_X' R_X)^{-1}`` the covariance of ``beta``, the asymptotic covariance of
``psi_hat`` is ``A = 2 H^{-1}`` with ``H`` the Hessian of ``d``. For a contrast ``l'beta``,

    df = 2 (l'V l)^2 / (g' A g),    g_k = l' (dV / dpsi_k) l,

and for a q-row contrast matrix ``L`` with ``L V L' = P diag(d) P'``, each row ``m`` of ``P'L``
gets ``nu_m`` as above, ``E = sum nu_m / (nu_m - 2)`` over ``nu_m > 2`` and the F test's
denominator degrees of freedom are ``2 E / (E - q)``. Derivatives are central differences with
Richardson extrapolation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import solve_triangular

from ..base.messages import warn
from ..base.protocols import fit_of
from ..fixed.lm import LmFit
from ..formula.contrasts import sum_coded_matrix
from ..formula.design import drop_aliased, model_frame, used_columns
from ..formula.frames import as_pandas
from ..formula.rsyntax import add_derived
from ..glmm.fit import GlmerFit
from ..lmm.fit import LmerFit
from ..numerics.objective import criterion_function
from ..numerics.pls import symmetric
from ..report.anova import anova_html, anova_text
from .deviance import DevianceTable, analysis_of_deviance, analysis_of_variance
from .terms import anova_type, column_terms, term_columns, term_variables

if TYPE_CHECKING:
    from .wald_anova import WaldAnovaTable

__all__ = [
    "AnovaTable",
    "Satterthwaite",
    "anova",
    "anova_table",
    "anova_type3",
    "coef_table",
    "contest",
    "ddf_method",
]


def _richardson(values_at, h0: float, levels: int = 4) -> np.ndarray:
    """Richardson extrapolation of a difference quotient whose error is even in h."""
    table = [values_at(h0 / 2**i) for i in range(levels)]
    for j in range(1, levels):
        factor = 4.0**j
        table = [(factor * table[i + 1] - table[i]) / (factor - 1) for i in range(len(table) - 1)]
    return table[0]


def _step(x: float) -> float:
    """First step of an extrapolated difference: large, because the deviance carries rounding
    noise of about 1e-11 relative (cancellation in r2) that small steps would amplify; the
    extrapolation removes the truncation error that large steps bring."""
    return 1e-2 * abs(x) + 1e-3


_EIGEN_TOL = math.sqrt(np.finfo(float).eps)  # lmerTest's: eigenvalues of L V L' below it are dropped


def _combined_df(nu: np.ndarray) -> float:
    """Denominator df of an F test from the df ``nu_m`` of its orthogonal rows (lmerTest's rule):
    ``nu`` itself for one row, their mean when all equal, 2 when any is at most 2."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < 1e-8):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


class Satterthwaite:
    """Satterthwaite's approximation for one fitted mixed model."""

    def __init__(self, fit: LmerFit) -> None:
        self.fit = fit
        self.pls = fit.pls
        self._criterion = criterion_function(fit.pls, fit.reml)
        self.psi = np.append(fit.opt.theta, fit.sigma)
        try:
            self.A = 2.0 * np.linalg.inv(self._hessian())
        except np.linalg.LinAlgError:  # a flat direction: no finite degrees of freedom
            self.A = np.full((len(self.psi),) * 2, np.nan)
        self.jac = self._vcov_jacobian()  # (k, p, p)
        self.V = fit.vcov.to_numpy()

    def _deviance(self, psi: np.ndarray) -> float:
        return self._criterion(psi[:-1], psi[-1])

    def _hessian(self) -> np.ndarray:
        psi, k = self.psi, len(self.psi)
        f0 = self._deviance(psi)
        H = np.empty((k, k))
        steps = [_step(x) for x in psi]

        def at(offsets):
            return self._deviance(psi + offsets)

        for i in range(k):
            e = np.eye(k)[i]
            H[i, i] = _richardson(lambda h, e=e: (at(h * e) - 2 * f0 + at(-h * e)) / h**2, steps[i])
            for j in range(i):
                ei, ej = np.eye(k)[i], np.eye(k)[j]
                ratio = steps[j] / steps[i]

                def mixed(h, ei=ei, ej=ej, ratio=ratio):
                    hj = h * ratio
                    return (
                        at(h * ei + hj * ej)
                        - at(h * ei - hj * ej)
                        - at(-h * ei + hj * ej)
                        + at(-h * ei - hj * ej)
                    ) / (4 * h * hj)

                H[i, j] = H[j, i] = _richardson(mixed, steps[i])
        return H

    def _vcov_unscaled(self, theta: np.ndarray) -> np.ndarray:
        f = self.pls.factor(theta)
        if f is None:
            raise np.linalg.LinAlgError(f"the model is not positive definite at theta = {theta}")
        inv = solve_triangular(self.pls.rx_lower(f), np.eye(self.pls.p), lower=True)
        return inv.T @ inv

    def _vcov_jacobian(self) -> np.ndarray:
        theta, sigma = self.psi[:-1], self.psi[-1]
        out = []
        for i in range(len(theta)):
            e = np.eye(len(theta))[i]
            d = _richardson(
                lambda h, e=e: (
                    (self._vcov_unscaled(theta + h * e) - self._vcov_unscaled(theta - h * e)) / (2 * h)
                ),
                _step(theta[i]),
            )
            out.append(sigma**2 * d)
        out.append(2 * sigma * self._vcov_unscaled(theta))
        return np.array(out)

    def df_contrast(self, l: np.ndarray) -> float:
        """Denominator degrees of freedom of the t test of ``l'beta``."""
        var = float(l @ self.V @ l)
        g = np.einsum("i,kij,j->k", l, self.jac, l)
        denom = float(g @ self.A @ g)
        return 2 * var**2 / denom if denom > 0 else math.inf

    def coefficient_df(self) -> np.ndarray:
        return np.array([self.df_contrast(np.eye(self.pls.p)[j]) for j in range(self.pls.p)])

    def f_test(self, L: np.ndarray) -> tuple[float, int, float, float]:
        """F statistic, numerator and denominator degrees of freedom, p-value of ``L beta = 0``."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        beta = self.fit.fixef.to_numpy()
        VL = L @ self.V @ L.T
        d, P = np.linalg.eigh(VL)
        keep = d > _EIGEN_TOL * max(d.max(), 0.0)
        d, P = d[keep], P[:, keep]
        q = int(keep.sum())
        PtL = P.T @ L
        t2 = (PtL @ beta) ** 2 / d
        F = float(t2.sum() / q)
        ddf = _combined_df(np.array([self.df_contrast(row) for row in PtL]))
        return F, q, ddf, float(stats.f.sf(F, q, ddf)) if math.isfinite(ddf) else math.nan


# ------------------------------------------------------------------ t and F tables
_METHODS = {
    "satterthwaite": "Satterthwaite",
    "kenward-roger": "Kenward-Roger",
    "kenward roger": "Kenward-Roger",
    "kenwardroger": "Kenward-Roger",
    "kr": "Kenward-Roger",
}
F_COLUMNS = ["Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)"]


def ddf_method(ddf) -> str:
    """The denominator-df method named by ``ddf``: "Satterthwaite" or "Kenward-Roger" (any case;
    "KR" for short)."""
    key = ddf.strip().lower() if isinstance(ddf, str) else None
    if key not in _METHODS:
        raise ValueError(f"ddf must be 'Satterthwaite' or 'Kenward-Roger' ('KR'), not {ddf!r}")
    return _METHODS[key]


def _approximation(fit: LmerFit, method: str):
    return fit.kenward_roger if method == "Kenward-Roger" else fit.satterthwaite


def coef_table(fit: LmerFit, ddf: str | None = "Satterthwaite") -> pd.DataFrame:
    """The fixed-effects table: lmerTest's columns, or lme4's three without ``ddf``.

    With Kenward-Roger the standard errors (and so the t values) are from the adjusted
    covariance, as lmerTest's ``summary(fit, ddf = "Kenward-Roger")``.
    """
    estimate = fit.fixef.to_numpy()
    if ddf is None:
        columns = {"Estimate": estimate, "Std. Error": fit.se.to_numpy(), "t value": fit.tvalues.to_numpy()}
        return pd.DataFrame(columns, index=fit.fixef.index)
    method = ddf_method(ddf)
    if method == "Kenward-Roger":
        se, df = fit.kenward_roger.coefficient_se(), fit.kenward_roger.coefficient_df()
    else:
        se, df = fit.se.to_numpy(), fit.satterthwaite_df.to_numpy()
    t = estimate / se
    columns = {"Estimate": estimate, "Std. Error": se, "df": df, "t value": t}
    columns["Pr(>|t|)"] = 2 * stats.t.sf(np.abs(t), df)
    return pd.DataFrame(columns, index=fit.fixef.index)


def _check_L(fit: LmerFit, L) -> np.ndarray:
    L = np.atleast_2d(np.asarray(L, dtype=float))
    p = len(fit.fixef_names)
    if L.ndim != 2 or L.shape[1] != p:
        raise ValueError(
            f"L needs {p} columns (one per fixed effect: {', '.join(fit.fixef_names)}), not {L.shape}"
        )
    if not np.isfinite(L).all():
        raise ValueError("L must be finite numbers")
    if not np.any(L):
        raise ValueError("L has no non-zero row: there is no hypothesis to test")
    return L


def f_row(fit: LmerFit, L: np.ndarray, method: str) -> dict:
    """lmerTest's F-table row of ``L beta = 0``: Mean Sq = (unscaled F) sigma^2, Sum Sq = Mean Sq NumDF."""
    if method == "Kenward-Roger":
        test = fit.kenward_roger.test(L)
        F, q, ddf, p = test.statistic, test.numdf, test.dendf, test.p
        unscaled = F / test.scaling
    else:
        F, q, ddf, p = fit.satterthwaite.f_test(L)
        unscaled = F
    mean_sq = unscaled * fit.sigma**2
    return dict(zip(F_COLUMNS, (mean_sq * q, mean_sq, q, ddf, F, p)))


def contest(fit: LmerFit, L, ddf: str = "Satterthwaite") -> pd.Series:
    """F test of ``L beta = 0`` (lmerTest's ``contest(fit, L, joint = TRUE, ddf = ...)``)."""
    return pd.Series(f_row(fit, _check_L(fit, L), ddf_method(ddf)))


def anova_table(fit: LmerFit, type=3, ddf: str = "Satterthwaite") -> pd.DataFrame:
    """ANOVA table of the fixed-effect terms, as lmerTest's ``anova(fit, type, ddf)``.

    Type I tests each term after those before it; type II each term after all terms that do
    not contain it (lmerTest's containment: a term's variables all in the other's, the same
    numeric ones); type III each term as its coefficients with the categorical columns
    sum-coded. Columns: Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F).
    """
    kind, method = anova_type(type), ddf_method(ddf)
    hypotheses = {1: type1_hypotheses, 2: type2_hypotheses, 3: type3_hypotheses}[kind](fit)
    rows = {term: f_row(fit, L, method) for term, L in hypotheses.items()}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=F_COLUMNS)
    return table.astype({"NumDF": "int64"}) if len(table) else table


def anova_type3(fit: LmerFit) -> pd.DataFrame:
    """Type III tests with Satterthwaite's degrees of freedom (``anova_table(fit, 3)``)."""
    return anova_table(fit, 3)


# ------------------------------------------------------------------ hypotheses of each type
def _sequential_rows(xtx: np.ndarray, order: list[int], zap: float = 1e-6) -> np.ndarray:
    """Sequential hypotheses with the columns of ``X`` taken in ``order``, in the original
    column order: row ``j`` tests column ``order[j]`` adjusted for the columns before it.

    The rows are those of the unit upper-triangular ``L'`` of ``X'X = L D L'`` (lmerTest's
    Doolittle factor, entries below ``zap`` set to 0): Satterthwaite's F test depends on the
    basis of the hypothesis, not only on the hypothesis, so the basis is lmerTest's.
    """
    R = np.linalg.cholesky(xtx[np.ix_(order, order)]).T
    R = R / np.diag(R)[:, None]
    R[np.abs(R) < zap] = 0.0
    out = np.zeros_like(R)
    out[:, order] = R
    return out


def _xtx(fit: LmerFit) -> np.ndarray:
    """``X'X`` from the model's cross-products."""
    pls = fit.pls
    lo = pls.qrest
    return symmetric(pls.Arr)[lo : lo + pls.p, lo : lo + pls.p]


def type1_hypotheses(fit: LmerFit) -> dict[str, np.ndarray]:
    """Sequential hypotheses: each term adjusted for the terms before it (rows of the Cholesky
    factor of ``X'X``, lmerTest's Doolittle rows up to scale)."""
    rows = term_columns(column_terms(fit))
    R = _sequential_rows(_xtx(fit), list(range(len(fit.fixef_names))))
    return {term: R[cols] for term, cols in rows.items()}


_FACTOR_CALLS = ("factor(", "as.factor(", "ordered(", "relevel(", "C(", "poly(", "ns(", "bs(", "interaction(")


def _is_numeric(variable: str, frame: pd.DataFrame) -> bool:
    """Whether R's ``dataClasses`` of ``variable`` would be "numeric"."""
    if variable in frame.columns:
        dtype = frame[variable].dtype
        return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    return not variable.strip().startswith(_FACTOR_CALLS)


def containment(terms: Sequence[str], frame: pd.DataFrame) -> dict[str, list[str]]:
    """For each term, the terms containing it (lmerTest's rule): all its variables and more,
    with the same numeric variables."""
    variables = {t: set(term_variables(t)) for t in terms}
    numeric = {t: {v for v in variables[t] if _is_numeric(v, frame)} for t in terms}
    return {t: [u for u in terms if variables[t] < variables[u] and numeric[t] == numeric[u]] for t in terms}


def type2_hypotheses(fit: LmerFit) -> dict[str, np.ndarray]:
    """Each term adjusted for every term that does not contain it (lmerTest's type II)."""
    terms = column_terms(fit)
    rows = term_columns(terms)
    if len(rows) <= 1:
        return type1_hypotheses(fit)
    contains = containment(list(rows), _frame(fit))
    xtx, p = _xtx(fit), len(terms)
    out = {}
    for term, cols in rows.items():
        if not contains[term]:  # marginal: its coefficients themselves, as lmerTest
            out[term] = np.eye(p)[cols]
            continue
        containing = {j for u in contains[term] for j in rows[u]}
        others = [j for j in range(p) if j not in containing and j not in cols]
        order = others + cols + sorted(containing)
        out[term] = _sequential_rows(xtx, order)[[order.index(j) for j in cols]]
    return out


def _frame(fit: LmerFit) -> pd.DataFrame:
    parsed = fit.parsed
    return as_pandas(fit.data, lambda schema: used_columns(parsed, schema))


def _training_frame(fit: LmerFit) -> pd.DataFrame:
    """The model frame of the fit's rows (missing values and unused levels dropped as the fit
    dropped them)."""
    data = _frame(fit)
    rows = data.index.isin(fit.design.row_index)
    if not rows.all():
        data = data[rows]
    frame, _ = model_frame(data, used_columns(fit.parsed, data), "omit")
    if len(frame) != fit.design.X.shape[0]:
        raise RuntimeError(f"the model frame has {len(frame)} rows, the fit {fit.design.X.shape[0]}")
    return frame


def _sum_coded(fit: LmerFit) -> tuple[np.ndarray, list[str]]:
    """The fit's model matrix with every categorical factor sum-coded, aliased columns dropped,
    and each column's term (as the fit names its terms)."""
    xspec = fit.design.xspec
    if xspec is None:
        raise ValueError("an ANOVA table needs the specification of X; this fit has none")
    spec = xspec.formulaic_spec if xspec.training is not None else xspec
    if spec.model_spec is None:  # numeric columns only: nothing to recode
        return fit.design.X, column_terms(fit)
    frame = add_derived(_training_frame(fit), spec.derived)
    Xs, term_index = sum_coded_matrix(spec.model_spec, frame, spec.context)
    slices = list(spec.model_spec.term_slices.values())
    labels = [spec.terms[s.start] if s.stop > s.start else "" for s in slices]
    names = tuple(str(j) for j in range(Xs.shape[1]))
    Xs, kept, _ = drop_aliased(Xs, names)
    return Xs, [labels[term_index[int(j)]] for j in kept]


def type3_hypotheses(fit: LmerFit) -> dict[str, np.ndarray]:
    """Each term as the joint hypothesis of its coefficients with every categorical factor
    sum-coded (the coding in which type III hypotheses are the coefficients), mapped back to
    the model's own coding, so the table depends neither on the contrasts used nor on how a
    factor was spelled (a string column, ``factor(x)``, ``C(x)``, ``C(x, contr.treatment)``)."""
    if len(term_columns(column_terms(fit))) <= 1:
        return type1_hypotheses(fit)
    Xs, terms = _sum_coded(fit)
    X = fit.design.X
    if Xs.shape[1] != X.shape[1]:
        raise RuntimeError(f"the sum-coded model matrix has {Xs.shape[1]} columns, the model {X.shape[1]}")
    T = np.linalg.lstsq(X, Xs, rcond=None)[0]  # Xs = X T, so beta_s = T^{-1} beta
    Tinv = np.linalg.inv(T)
    return {term: np.eye(len(terms))[cols] @ Tinv for term, cols in term_columns(terms).items()}


# ------------------------------------------------------------------ likelihood-ratio tests
@dataclass(frozen=True)
class AnovaTable:
    """A likelihood-ratio comparison of nested models (lme4's ``anova``).

    Attributes
    ----------
    table : DataFrame
        One row per model, by number of parameters: npar, AIC, BIC, logLik, deviance, and for
        each model after the first Chisq, Df and Pr(>Chisq) against the one before.
    refitted : bool
        Whether REML fits were refitted by maximum likelihood first.
    models : tuple of (label, formula)
        The "Models:" block of the printout, in the table's order; empty when the labels are
        the formulas.
    """

    table: pd.DataFrame
    refitted: bool
    models: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return anova_text(self.table, self.refitted, self.models)

    def _repr_html_(self) -> str:
        return anova_html(self.table, self.refitted, self.models)


Comparable = LmerFit | LmFit | GlmerFit


def _ml_fit(fit: Comparable) -> Comparable:
    """The fit itself, or for a REML lmer fit its refit by maximum likelihood (glmer fits are ML)."""
    if fit.is_reml:
        return cast(LmerFit, fit).update(reml=False)
    return fit


def _labels(fits: Sequence[Comparable], names: Sequence[str] | None) -> tuple[list[str], bool]:
    """Row labels, and whether they are the formulas (then no "Models:" block is needed).

    Without ``names`` the formulas label the rows, as R labels them by the expressions in the
    call; when two formulas are the same, ``MODEL1``, ``MODEL2``, ... (lme4's fallback).
    """
    if names is None:
        formulas = [_model_label(f) for f in fits]
        if len(set(formulas)) == len(formulas):
            return formulas, True
        return [f"MODEL{i + 1}" for i in range(len(fits))], False
    if isinstance(names, str) or len(names) != len(fits):
        raise ValueError(f"names needs one label per model ({len(fits)}), not {names!r}")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct, not {names}")
    return names, False


def _model_label(fit: Comparable) -> str:
    """A fit's formula, with its zero-inflation and dispersion models' (glmer's ``ziformula``,
    ``dispformula``) where it has them: ``y ~ x + (1 | g), zi ~w``."""
    aux = getattr(getattr(fit, "model", None), "aux", None)
    parts = [fit.formula]
    for part in () if aux is None else (aux.zi, aux.disp):
        if part is not None:
            parts.append(f"{part.kind} {part.formula.strip()}")
    return ", ".join(parts)


def _check_fits(fits: Sequence[Comparable]) -> None:
    if len(fits) < 2:
        raise ValueError("anova needs at least two fitted models to compare")
    for fit in fits:
        if not fit_of(fit, "lmer", "lm", "glmer"):
            raise TypeError(f"anova compares fits from mm.lmer, mm.lm or mm.glmer, not {type(fit).__name__}")
    _check_glmer_fits(fits)
    if len({fit.nobs for fit in fits}) != 1:
        raise ValueError(
            f"the models were fitted to different numbers of observations: {[f.nobs for f in fits]}"
        )


def _check_glmer_fits(fits: Sequence[Comparable]) -> None:
    """glmer fits are compared only with glmer fits (their likelihoods differ from a Gaussian
    model's in kind, not only in value): of one family whatever its parameter (lme4 compares
    ``glmer.nb`` fits, each at its own size), or of different families of one response."""
    glmer = [cast(GlmerFit, f) for f in fits if f.is_generalized]  # lmer, lm and glmer fits here
    if not glmer:
        return
    if len(glmer) != len(fits):
        raise TypeError("anova compares glmer fits with glmer fits only")
    # a fit with the expected information and the canonical link has the observed one's criterion
    expected_apart = any(not (f.family.observed_information or f.family.canonical) for f in glmer)
    if len({f.family.observed_information for f in glmer}) > 1 and expected_apart:
        warn(
            "anova compares fits with lme4's Laplace approximation (the expected information) and "
            "glmmTMB's (the observed information): where the link is not canonical their "
            "log-likelihoods differ by the approximation as well as by the models (give every fit "
            "the same laplace=)"
        )
    if any(f.model.aux is not None for f in glmer):  # zero-inflation or dispersion models
        _check_same_observations(glmer)
    if all(glmer[0].family.same_family(f.family) for f in glmer[1:]):
        return
    families = {f.family.name for f in glmer}
    # lme4 and glmmTMB compare fits of any families (complete likelihoods: a Poisson against a
    # negative binomial, its limit, as glmer against glmer.nb), of one response
    if any(not np.array_equal(f.model.y, glmer[0].model.y) for f in glmer[1:]):
        raise ValueError(
            f"the glmer fits of different families ({sorted(families)}) are of different responses"
        )


def _check_same_observations(fits: Sequence[GlmerFit]) -> None:
    """glmer fits with zero-inflation or dispersion models are compared only on the same rows of
    the data (whose missing values in the auxiliary models' variables each fit drops) and the
    same response."""
    first = fits[0]
    for f in fits[1:]:
        if f.nobs != first.nobs or not f.design.row_index.equals(first.design.row_index):
            raise ValueError(
                "the models were fitted to different rows of the data (a zero-inflation or "
                "dispersion model drops the rows with missing values in its variables): fit them "
                "to the same rows"
            )
        if not np.array_equal(f.model.y, first.model.y) or not np.array_equal(
            f.model.weights, first.model.weights
        ):
            raise ValueError("the glmer fits are of different responses (or weights)")


def _lrt_rows(fits: Sequence[Comparable]) -> list[dict]:
    """The table's rows for ML fits already in order of their number of parameters.

    As lme4's: the statistic is ``2 max(0, logLik - logLik before)`` (0 when the larger model
    fits worse: the models are then not nested), with no p-value between models with the same
    number of parameters.
    """
    rows, prev = [], None
    for f in fits:
        dev = -2 * f.loglik
        row = {"npar": f.npar, "AIC": f.aic, "BIC": f.bic, "logLik": f.loglik, "deviance": dev}
        row |= {"Chisq": math.nan, "Df": pd.NA, "Pr(>Chisq)": math.nan}
        if prev is not None:
            chisq, df = max(0.0, prev["deviance"] - dev), f.npar - prev["npar"]
            row |= {"Chisq": chisq, "Df": df, "Pr(>Chisq)": stats.chi2.sf(chisq, df) if df > 0 else math.nan}
        rows.append(row)
        prev = row
    return rows


def anova(
    *fits, names: list[str] | None = None, type: int | str | None = None
) -> AnovaTable | DevianceTable | WaldAnovaTable:
    """Likelihood-ratio tests of nested models, ordered by number of parameters (lme4's
    ``anova``); with one glmer or glm fit, Wald chi-square tests of its terms (car's ``Anova``).

    ``mm.anova(fit)`` of a single glmer or glm fit gives car's ``Anova(fit)`` table: type II
    Wald chi-square tests by default, ``type=3`` for type III (see
    :func:`mixedmodels.inference.wald_anova.wald_anova`). An lmer fit's F tests of its terms
    are its method ``fit.anova(type)``. :func:`mixedmodels.drop1` gives the likelihood-ratio
    tests of dropping each term of one glmer or glm fit.

    Parameters
    ----------
    *fits : LmerFit, LmFit, GlmerFit or GlmFit
        Two or more models fitted to the same observations. An ``lm`` fit can be compared with
        an ``lmer`` fit of the same response; ``glmer`` fits (maximum likelihood fits, never
        refitted) with ``glmer`` fits of the same family, their deviance ``-2 logLik`` as lme4's;
        fits glmmTMB's way (an estimated family parameter, counted in ``npar``) also with fits
        of another family of the same response, as glmmTMB's ``anova`` (a Poisson against a
        negative binomial).
        ``glm`` fits give R's analysis of deviance table (``anova(glm0, glm1, test = "Chisq")``),
        and ``lm`` fits alone R's analysis of variance table with F tests (``anova(lm0, lm1)``),
        models in the order given, instead.
    names : list of str, optional
        A label per model, in the order given (R labels models by their variable names, which
        Python cannot see): ``mm.anova(m0, m1, names=["m0", "m1"])``. By default the formulas
        label the rows.
    type : {2, 3, "II", "III"}, optional
        For a single fit only: the type of its tests (see above).

    Returns
    -------
    AnovaTable, DevianceTable or WaldAnovaTable
        Prints as R does; ``.table`` holds the numbers. REML fits are refitted by maximum
        likelihood first, as lme4 does, and the printout says so on its first line.

    Notes
    -----
    Random-effects terms with covariance structures (``ar1(times + 0 | id)``, ``cs(...)``) are
    compared like any others, by their log-likelihoods and parameter counts. The chi-square
    reference needs the smaller model nested in the larger: ``ar1``, ``cs``, ``homcs``,
    ``toep``, ``diag`` and ``homdiag`` are each an unstructured term with constraints, ``ar1``
    and ``homcs`` are ``homdiag`` with a correlation, ``ar1`` is not nested in ``cs`` (nor ``cs``
    in ``ar1``): for non-nested pairs read the AIC and BIC columns only. Where the smaller model
    lies on the boundary of the larger (a term taken out: its standard deviations at 0) the
    p-value is conservative, as for lme4's terms; correlations held at 0 (``diag`` or
    ``homdiag`` against ``us`` or ``ar1``) are inside their range, no boundary.
    """
    if len(fits) == 1:
        return _single_fit_anova(fits[0], type)
    if type is not None:
        raise ValueError(
            "type= is for the tests of one fit's terms; models are compared by likelihood ratios"
        )
    if any(fit_of(f, "glm") for f in fits):
        if not all(fit_of(f, "glm") for f in fits):
            raise TypeError("anova compares glm fits with glm fits only (an analysis of deviance)")
        return analysis_of_deviance(fits)
    if all(fit_of(f, "lm") for f in fits):
        return analysis_of_variance(fits)
    _check_fits(fits)
    labels, are_formulas = _labels(fits, names)
    refitted = any(f.is_reml for f in fits)
    order = sorted(range(len(fits)), key=lambda i: fits[i].npar)
    table = pd.DataFrame(_lrt_rows([_ml_fit(fits[i]) for i in order]), index=[labels[i] for i in order])
    table = table.astype({"npar": "int64", "Df": "Int64"})
    models = () if are_formulas else tuple((labels[i], fits[i].formula) for i in order)
    return AnovaTable(table, refitted, models)


def _single_fit_anova(fit, type: int | str | None):
    """The tests of one fit's terms: car's Wald chi-square table for a glmer or glm fit."""
    if fit_of(fit, "glmer", "glm"):
        from .wald_anova import wald_anova

        return wald_anova(fit, 2 if type is None else type)
    hint = "; an lmer fit's F tests of its terms are fit.anova(type)" if fit_of(fit, "lmer") else ""
    raise ValueError(f"anova needs at least two fitted models to compare{hint}")
