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

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import solve_triangular

from .design import build_design, formula_variables, used_columns
from .frames import as_pandas
from .lm import LmFit
from .objective import criterion_function
from .printing import anova_html, anova_text
from .results import LmerFit

__all__ = ["AnovaTable", "Satterthwaite", "anova", "anova_type3", "contest"]


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
        keep = d > 1e-12 * max(d.max(), 1e-300)
        d, P = d[keep], P[:, keep]
        q = int(keep.sum())
        PtL = P.T @ L
        t2 = (PtL @ beta) ** 2 / d
        F = float(t2.sum() / q)
        nu = np.array([self.df_contrast(row) for row in PtL])
        if q == 1:
            ddf = float(nu[0])
        else:
            big = nu > 2
            E = float(np.sum(nu[big] / (nu[big] - 2)))
            ddf = 2 * E / (E - q) if q < E else math.nan
        return F, q, ddf, float(stats.f.sf(F, q, ddf)) if math.isfinite(ddf) else math.nan


def contest(fit: LmerFit, L) -> pd.Series:
    """F test of ``L beta = 0`` with Satterthwaite's denominator degrees of freedom (lmerTest's
    ``contest(fit, L, joint = TRUE)``)."""
    L = np.atleast_2d(np.asarray(L, dtype=float))
    if L.shape[1] != len(fit.fixef_names):
        raise ValueError(f"L needs {len(fit.fixef_names)} columns (one per fixed effect), not {L.shape[1]}")
    F, q, ddf, p = fit.satterthwaite.f_test(L)
    return pd.Series({"Sum Sq": math.nan, "NumDF": q, "DenDF": ddf, "F value": F, "Pr(>F)": p}).drop("Sum Sq")


def anova_type3(fit: LmerFit) -> pd.DataFrame:
    """Type III tests of the fixed-effect terms, as lmerTest's ``anova(fit, type = 3)``.

    Each term is tested as the joint hypothesis of its coefficients with every categorical
    column sum-coded (the coding in which type III hypotheses are the coefficients), mapped back
    to the model's own coding, so the table does not depend on the contrasts used.
    """

    parsed = fit.parsed
    frame = as_pandas(fit.data, lambda schema: used_columns(parsed, schema))
    categorical = [
        c
        for c in frame.columns
        if c in _fixed_variables(parsed.fixed)
        and (isinstance(frame[c].dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(frame[c]))
    ]
    summed = build_design(parsed, frame, contrasts={c: "sum" for c in categorical}, na_action=fit.na_action)
    Xs, X = summed.X, fit.design.X
    T = np.linalg.lstsq(X, Xs, rcond=None)[0]  # Xs = X T, so beta_s = T^{-1} beta
    Tinv = np.linalg.inv(T)
    xspec = summed.xspec
    assert xspec is not None  # build_design keeps the plan of X
    terms = [xspec.terms[xspec.names.index(n)] for n in summed.fixef_names]
    rows = {}
    for term in dict.fromkeys(terms):
        if term == "(Intercept)":
            continue
        Ls = np.eye(len(terms))[[j for j, t in enumerate(terms) if t == term]]
        F, q, ddf, p = fit.satterthwaite.f_test(Ls @ Tinv)
        rows[term] = {"NumDF": q, "DenDF": ddf, "F value": F, "Pr(>F)": p}
    return pd.DataFrame.from_dict(rows, orient="index")


def _fixed_variables(rhs: str) -> set[str]:
    return formula_variables(rhs)


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


def _ml_fit(fit: LmerFit | LmFit) -> LmerFit | LmFit:
    if isinstance(fit, LmerFit) and fit.reml:
        return fit.update(reml=False)
    return fit


def _labels(fits: Sequence[LmerFit | LmFit], names: Sequence[str] | None) -> tuple[list[str], bool]:
    """Row labels, and whether they are the formulas (then no "Models:" block is needed).

    Without ``names`` the formulas label the rows, as R labels them by the expressions in the
    call; when two formulas are the same, ``MODEL1``, ``MODEL2``, ... (lme4's fallback).
    """
    if names is None:
        formulas = [f.formula for f in fits]
        if len(set(formulas)) == len(formulas):
            return formulas, True
        return [f"MODEL{i + 1}" for i in range(len(fits))], False
    if isinstance(names, str) or len(names) != len(fits):
        raise ValueError(f"names needs one label per model ({len(fits)}), not {names!r}")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise ValueError(f"names must be distinct, not {names}")
    return names, False


def _check_fits(fits: Sequence[LmerFit | LmFit]) -> None:
    if len(fits) < 2:
        raise ValueError("anova needs at least two fitted models to compare")
    for fit in fits:
        if not isinstance(fit, (LmerFit, LmFit)):
            raise TypeError(f"anova compares fits from mm.lmer or mm.lm, not {type(fit).__name__}")
    if len({fit.nobs for fit in fits}) != 1:
        raise ValueError(
            f"the models were fitted to different numbers of observations: {[f.nobs for f in fits]}"
        )


def _lrt_rows(fits: Sequence[LmerFit | LmFit]) -> list[dict]:
    """The table's rows for ML fits already in order of their number of parameters."""
    rows, prev = [], None
    for f in fits:
        dev = -2 * f.loglik
        row = {"npar": f.npar, "AIC": f.aic, "BIC": f.bic, "logLik": f.loglik, "deviance": dev}
        row |= {"Chisq": math.nan, "Df": pd.NA, "Pr(>Chisq)": math.nan}
        if prev is not None:
            chisq, df = prev["deviance"] - dev, f.npar - prev["npar"]
            row |= {"Chisq": chisq, "Df": df, "Pr(>Chisq)": stats.chi2.sf(chisq, df) if df > 0 else math.nan}
        rows.append(row)
        prev = row
    return rows


def anova(*fits: LmerFit | LmFit, names: list[str] | None = None) -> AnovaTable:
    """Likelihood-ratio tests of nested models, ordered by number of parameters (lme4's ``anova``).

    Parameters
    ----------
    *fits : LmerFit or LmFit
        Two or more models fitted to the same observations. An ``lm`` fit can be compared with
        an ``lmer`` fit of the same response.
    names : list of str, optional
        A label per model, in the order given (R labels models by their variable names, which
        Python cannot see): ``mm.anova(m0, m1, names=["m0", "m1"])``. By default the formulas
        label the rows.

    Returns
    -------
    AnovaTable
        Prints as R does; ``.table`` holds the numbers. REML fits are refitted by maximum
        likelihood first, as lme4 does, and the printout says so on its first line.
    """
    _check_fits(fits)
    labels, are_formulas = _labels(fits, names)
    refitted = any(isinstance(f, LmerFit) and f.reml for f in fits)
    order = sorted(range(len(fits)), key=lambda i: fits[i].npar)
    table = pd.DataFrame(_lrt_rows([_ml_fit(fits[i]) for i in order]), index=[labels[i] for i in order])
    table = table.astype({"npar": "int64", "Df": "Int64"})
    models = () if are_formulas else tuple((labels[i], fits[i].formula) for i in order)
    return AnovaTable(table, refitted, models)
