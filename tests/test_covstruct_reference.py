"""Structured covariances (issue 30) against glmmTMB 1.1.5 and lme4.

The references in ``tests/reference/covstruct/`` come from ``make_covstruct_refs.R`` there:
glmmTMB's ML fits of ar1, cs, diag, us and toep, REML fits of ar1, cs, diag and us (lme4's
too for us/diag), Poisson fits with ar1 and cs on simulated counts, and homcs/homdiag (glmmTMB
1.1.5 lacks them: the reference is lme4's equivalent model). Each case is fitted with
``mm.lmer`` (Gaussian) or ``mm.glmer(..., family="poisson")`` and compared on the fixed
effects, their standard errors, sigma, the SDs and correlations of the random effects and the
log-likelihood.

Standard errors: ours for lmer are conditional on the covariance parameters (lme4's
``vcov``); glmmTMB's come from the full Hessian, so they carry the covariance parameters'
uncertainty. They are compared with a relative tolerance of 2e-3, and with lme4's at 1e-4
where lme4 has the model.

The log-likelihood must not be below the reference's by more than 1e-6 and may exceed it by at
most 1e-4; a fit that is higher than that is checked by a dense computation here of the
Gaussian (restricted) likelihood at our estimates, and at the reference's, so the test says
which of the two maximized it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets

HERE = Path(__file__).resolve().parent
REF_DIR = HERE / "reference" / "covstruct"
DATA_DIR = HERE / "data"

TOL = {"fixef": 1e-3, "sigma": 1e-3, "se": 2e-3, "sd": 2e-3, "corr": 5e-3}
LOGLIK_BELOW = 1e-6
LOGLIK_ABOVE = 1e-4
SLOW_CASES = {"toep_gaussian"}
# glmmTMB stopped short of the maximum for toep (its logLik is 5.7 below ours; test_loglik checks
# both densely), so its estimates are not the ML estimates: those comparisons must fail.
NOT_AT_OPTIMUM = {"toep_gaussian"}
# cs_poisson is a boundary fit (the SD of times1 is 0; glmmTMB's is exp(-18.1), the same optimum:
# our logLik is 5e-8 above its). Its Hessian in (theta, beta) is not positive definite with the
# variance at 0 in it, so our glmer takes the Hessian over the parameters off their bounds: in
# glmmTMB's log-SD parameterisation that parameter's row vanishes, so its full-Hessian SEs (0.1084
# for the intercept) are the same numbers (test_boundary_se_holds_the_zero_variance).
SE_UNDEFINED: set[str] = set()

CASES = sorted(p.stem for p in REF_DIR.glob("*.json"))


def _load_ref(case: str) -> dict:
    return json.loads((REF_DIR / f"{case}.json").read_text())


def _load_data(ref: dict) -> pd.DataFrame:
    """The case's data, with its grouping and factor columns as categoricals."""
    if ref["data"] == "sleepstudy.csv":
        df = datasets.load("sleepstudy")
    else:
        df = pd.read_csv(DATA_DIR / ref["data"])
    for col in ref.get("factors") or []:
        df[col] = pd.Categorical(df[col].astype(str))
    return df


def _fit(ref: dict, df: pd.DataFrame):
    if ref["family"] == "gaussian":
        return mm.lmer(ref["formula"], df, reml=bool(ref.get("REML", False)))
    return mm.glmer(ref["formula"], df, family=ref["family"], link=ref["link"])


def _rel(got, want) -> float:
    """Largest relative error, with a floor of 1e-3 times the largest reference value."""
    got = np.asarray(got, dtype=float).ravel()
    want = np.asarray(want, dtype=float).ravel()
    assert got.shape == want.shape
    floor = 1e-3 * np.max(np.abs(want))
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), floor)))


ZERO_SD = 1e-6  # relative to the largest SD: a correlation with such an effect is undefined


def _ref_varcorr(ref: dict) -> tuple[list[float], list[float]]:
    """Sorted SDs and sorted nonzero, defined off-diagonal correlations of the reference.

    A correlation of an effect whose SD is zero is undefined: glmmTMB reports the structure's
    correlation there, we report 0; such pairs are left out on both sides.
    """
    sds: list[float] = []
    cors: list[float] = []
    for block in ref["varcorr_cond"]:
        sd = np.atleast_1d(np.asarray(block["sd"], dtype=float))
        sds += list(sd)
        if block.get("cor") is not None:
            c = np.atleast_2d(np.asarray(block["cor"], dtype=float))
            live = sd > ZERO_SD * sd.max()
            i, j = np.tril_indices(c.shape[0], -1)
            cors += [c[a, b] for a, b in zip(i, j) if c[a, b] != 0.0 and live[a] and live[b]]
    return sorted(sds), sorted(cors)


def _our_varcorr(got: dict) -> tuple[list[float], list[float]]:
    rows = [r for r in got["varcorr"] if r["group"] != "Residual"]
    sd = {(r["group"], r["var1"]): r["sd"] for r in rows if r["var2"] is None}
    top = max(sd.values())
    live = {k for k, v in sd.items() if v > ZERO_SD * top}
    cors = [
        r["corr"]
        for r in rows
        if r["var2"] is not None
        and r["corr"] != 0.0
        and (r["group"], r["var1"]) in live
        and (r["group"], r["var2"]) in live
    ]
    return sorted(sd.values()), sorted(cors)


# --- a dense Gaussian likelihood, for fits above the reference -------------------------------


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    """The model-matrix column of a random-effects term name: intercept, covariate or level."""
    if name == "(Intercept)":
        return np.ones(len(df))
    if name in df.columns:
        return df[name].to_numpy(dtype=float)
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype) and name.startswith(col):
            level = name[len(col) :]
            if level in list(df[col].cat.categories):
                return (df[col].astype(str) == level).to_numpy(dtype=float)
    raise KeyError(name)


def dense_loglik(
    df: pd.DataFrame,
    response: str,
    fixed_x: np.ndarray,
    beta: np.ndarray,
    sigma: float,
    blocks: list[dict],
    reml: bool,
) -> float:
    """Gaussian log-likelihood of ``y ~ N(X beta, V)``, ``V = sum_g Z_g (I kron S_g) Z_g' + sigma^2 I``.

    ``blocks``: one dict per grouping factor with ``group`` (column), ``terms`` (its random-effect
    columns) and ``cov`` (their covariance ``S_g``). With ``reml`` the restricted likelihood,
    ``l(beta) - log det(X' V^-1 X) / 2 + p log(2 pi) / 2``.
    """
    y = df[response].to_numpy(dtype=float)
    n = len(y)
    v = sigma**2 * np.eye(n)
    for blk in blocks:
        z = np.column_stack([_column(df, t) for t in blk["terms"]])
        codes = pd.Categorical(df[blk["group"]].astype(str)).codes
        same = codes[:, None] == codes[None, :]
        v += same * (z @ blk["cov"] @ z.T)
    chol = np.linalg.cholesky(v)
    r = np.linalg.solve(chol, y - fixed_x @ beta)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    ll = -0.5 * (n * np.log(2 * np.pi) + logdet + r @ r)
    if reml:
        wx = np.linalg.solve(chol, fixed_x)
        p = fixed_x.shape[1]
        ll += -0.5 * np.linalg.slogdet(wx.T @ wx)[1] + 0.5 * p * np.log(2 * np.pi)
    return float(ll)


def _ref_blocks(ref: dict) -> list[dict]:
    out = []
    for blk in ref["varcorr_cond"]:
        sd = np.atleast_1d(np.asarray(blk["sd"], dtype=float))
        cor = np.eye(len(sd)) if blk.get("cor") is None else np.atleast_2d(blk["cor"])
        out.append({"group": blk["group"], "terms": blk["terms"], "cov": np.outer(sd, sd) * cor})
    return out


def _our_blocks(got: dict, ref: dict) -> list[dict]:
    out = []
    for blk in ref["varcorr_cond"]:
        rows = [r for r in got["varcorr"] if r["group"] == blk["group"]]
        terms = blk["terms"]
        cov = np.zeros((len(terms), len(terms)))
        sd = {r["var1"]: r["sd"] for r in rows if r["var2"] is None}
        for i, t in enumerate(terms):
            cov[i, i] = sd[t] ** 2
        for r in rows:
            if r["var2"] is not None:
                i, j = terms.index(r["var1"]), terms.index(r["var2"])
                cov[i, j] = cov[j, i] = r["corr"] * sd[r["var1"]] * sd[r["var2"]]
        out.append({"group": blk["group"], "terms": terms, "cov": cov})
    return out


def _fixed_matrix(fit, got: dict) -> np.ndarray:
    x = np.asarray(fit.design.X, dtype=float)
    assert x.shape[1] == len(got["fixef"])
    return x


# --- the tests --------------------------------------------------------------------------------


def _params(cases, xfail=frozenset(), reason=""):
    out = []
    for c in cases:
        marks = [pytest.mark.slow] if c in SLOW_CASES else []
        if c in xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=reason))
        out.append(pytest.param(c, marks=marks))
    return out


_OFF = "glmmTMB's toep fit is not at the maximum (see test_loglik)"


@pytest.fixture(scope="module")
def fits() -> dict:
    return {}


def _fitted(case: str, fits: dict):
    if case not in fits:
        ref = _load_ref(case)
        df = _load_data(ref)
        fit = _fit(ref, df)
        fits[case] = (ref, df, fit, fit.to_dict())
    return fits[case]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", _params(CASES, NOT_AT_OPTIMUM, _OFF))
def test_fixed_effects_and_sigma(case: str, fits: dict) -> None:
    ref, _, _, got = _fitted(case, fits)
    assert list(got["fixef"]) == ref["cond"]["names"]
    assert _rel(list(got["fixef"].values()), ref["cond"]["estimate"]) <= TOL["fixef"]
    if ref.get("sigma") is not None:
        assert _rel(got["sigma"], ref["sigma"]) <= TOL["sigma"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", _params(CASES, NOT_AT_OPTIMUM | SE_UNDEFINED, _OFF))
def test_standard_errors(case: str, fits: dict) -> None:
    """Against glmmTMB's full-Hessian SEs at 2e-3; for lmer at theta fixed (ours, lme4's) at 1e-4."""
    ref, _, _, got = _fitted(case, fits)
    ours = list(got["se"].values())
    assert _rel(ours, ref["cond"]["se"]) <= TOL["se"]
    if ref["family"] == "gaussian" and ref["cond"].get("se_theta_fixed") is not None:
        assert _rel(ours, ref["cond"]["se_theta_fixed"]) <= 1e-4
    if "lme4" in ref and "se" in ref["lme4"]:
        want = [ref["lme4"]["se"][k] for k in got["se"]]
        assert _rel(list(got["se"].values()), want) <= 1e-4


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", _params(CASES, NOT_AT_OPTIMUM, _OFF))
def test_variance_components(case: str, fits: dict) -> None:
    ref, _, _, got = _fitted(case, fits)
    want_sd, want_cor = _ref_varcorr(ref)
    got_sd, got_cor = _our_varcorr(got)
    assert len(got_sd) == len(want_sd)
    assert np.max(np.abs(np.subtract(got_sd, want_sd))) / max(want_sd) <= TOL["sd"]
    assert len(got_cor) == len(want_cor)
    if want_cor:
        assert np.max(np.abs(np.subtract(got_cor, want_cor))) <= TOL["corr"]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", _params(CASES))
def test_loglik(case: str, fits: dict) -> None:
    ref, df, fit, got = _fitted(case, fits)
    diff = got["loglik"] - ref["loglik"]
    assert diff >= -LOGLIK_BELOW
    if "lme4" in ref:
        assert abs(got["loglik"] - ref["lme4"]["loglik"]) <= LOGLIK_ABOVE
    if diff <= LOGLIK_ABOVE:
        return
    # ours is higher: both numbers by the dense likelihood, at our estimates and at glmmTMB's
    assert ref["family"] == "gaussian", "a higher GLMM log-likelihood has no dense check here"
    x = _fixed_matrix(fit, got)
    response = ref["formula"].split("~")[0].strip()
    reml = bool(ref.get("REML", False))
    ours = dense_loglik(
        df, response, x, np.array(list(got["fixef"].values())), got["sigma"], _our_blocks(got, ref), reml
    )
    theirs = dense_loglik(
        df, response, x, np.array(ref["cond"]["estimate"]), ref["sigma"], _ref_blocks(ref), reml
    )
    assert ours == pytest.approx(got["loglik"], abs=1e-6)
    assert theirs == pytest.approx(ref["loglik"], abs=1e-3)
    assert ours > theirs + LOGLIK_ABOVE


def test_dense_loglik_reproduces_references() -> None:
    """The dense likelihood at glmmTMB's and lme4's estimates gives their logLik (ML and REML)."""
    for case in ("ar1_gaussian", "us_sleepstudy_reml", "cs_gaussian_reml"):
        ref = _load_ref(case)
        df = _load_data(ref)
        fit = _fit(ref, df)
        x = _fixed_matrix(fit, fit.to_dict())
        response = ref["formula"].split("~")[0].strip()
        ll = dense_loglik(
            df,
            response,
            x,
            np.array(ref["cond"]["estimate"]),
            ref["sigma"],
            _ref_blocks(ref),
            bool(ref["REML"]),
        )
        assert ll == pytest.approx(ref["loglik"], abs=1e-5)


def test_profile_reference_is_recorded() -> None:
    """The profile intervals of the ar1 SD and rho are there for the profile tests to use."""
    prof = _load_ref("ar1_gaussian_profile")["confint_profile"]
    assert prof["names"] == ["sd_(ar1)|id", "rho_(ar1)|id"]
    assert prof["lower"][0] < 0.9515582 < prof["upper"][0]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_boundary_se_holds_the_zero_variance(fits: dict) -> None:
    """cs_poisson ends with the SD of times1 at 0 (glmmTMB: exp(-18.1), the same optimum; our
    logLik is not below its). The SEs come from the Hessian over the parameters off their bounds,
    so they carry the other covariance parameters' uncertainty: glmmTMB's full-Hessian SEs
    (0.1084 for the intercept) to 1e-5, well above the SEs at theta fixed (0.0901, glmmTMB's;
    0.0895 ours at nAGQ = 0's information) that ignore it."""
    ref, _, fit, got = _fitted("cs_poisson", fits)
    assert fit.varcorr.sdcor.iloc[1] == 0.0 and ref["theta"][1] < -15
    assert got["loglik"] >= ref["loglik"] - LOGLIK_BELOW
    ours = np.array(list(got["se"].values()))
    assert _rel(ours, ref["cond"]["se"]) <= 1e-5
    assert np.all(ours > np.array(ref["cond"]["se_theta_fixed"]))
    assert any("off their bounds" in m for m in fit.messages)
