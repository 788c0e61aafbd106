"""The numbers behind :func:`mixedmodels.check_model`'s panels, as performance 0.10.2's
``check_model`` computes them: leverages and Cook's distances, variance inflation factors,
binned residuals, the observed against simulated responses, and the random effects' quantiles.

**Leverage.** With ``W`` the weights of the fit (prior weights for ``lm`` and ``lmer``; the
working weights ``w mu_eta^2 / V(mu)`` at the fitted means for ``glm`` and ``glmer``),
``A = W^{1/2} [Z Lambda, X]`` and ``M = A'A + diag(I_q, 0_p)`` (the penalized cross-product
matrix that the fit factors), the hat matrix is ``H = A M^{-1} A'``; the leverages are its
diagonal, ``h_i = a_i' M^{-1} a_i``. Without random effects (``q = 0``) it is the usual
``W^{1/2} X (X'WX)^{-1} X' W^{1/2}``: R's ``hatvalues`` of ``lm`` and ``glm``. For ``lmer`` it is
lme4's ``hatvalues``. For ``glmer`` lme4 uses the prior weights with the factor of the
working-weighted system (it warns that "the hat matrix may not make sense for GLMMs", and a
binomial with trials gets leverages above 1); ours weighs both sides with the working weights,
so that the leverages lie in [0, 1] and sum to the effective number of parameters.

**Cook's distance and standardized residuals.** With ``r_i`` the Pearson residual, ``phi_i``
its dispersion (the fit's ``pearson_dispersion``: ``sigma^2`` of a linear model, a glm's
dispersion, 1 for the binomial, Poisson and negative binomials, the family's ``Var(y) / V(mu)``
of a GLMM otherwise) and ``p`` the rank of ``X``:

    d_i = r_i / sqrt(phi_i (1 - h_i)),          D_i = d_i^2 h_i / (p (1 - h_i)),

R's ``rstandard(type = "pearson")`` and ``cooks.distance`` for ``lm`` and ``glm``, and lme4's
``cooks.distance`` for ``lmer`` (for ``glmer`` with the leverages above).

**Variance inflation.** From ``R``, the correlation matrix of the fixed-effects estimates
without the intercept, a term whose columns are ``S`` has the generalized VIF
``det(R_SS) det(R_{-S,-S}) / det(R)`` (Fox and Monette's; the VIF for a single column), as
performance's ``check_collinearity``, with its confidence interval: with ``r = 1 - 1/VIF``,
``se = (1 - r^2)(n - p - 1) / sqrt((n^2 - 1)(n + 3))`` and the interval of ``logit(r)`` at
``+- z se / (r (1 - r))``, mapped back to ``1 / (1 - r)``.

**Binned residuals** (Gelman and Hill): the rows sorted by fitted probability into
``round(sqrt(n))`` bins of about equal size; per bin the mean fitted value, the mean residual
``y - fitted`` (``y`` the observed proportion) and ``+- 1.96 sd / sqrt(n_bin)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from scipy.sparse.linalg import splu

from ..base.protocols import Fit
from ..base.seeds import as_generator
from .influence import weighted_leverages

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "COLLINEARITY_COLUMNS",
    "ModelCheck",
    "binned_residuals",
    "check_collinearity",
    "cooks_distance",
    "hatvalues",
    "influence_table",
    "model_check",
]

COLLINEARITY_COLUMNS = [
    "Term",
    "VIF",
    "VIF_CI_low",
    "VIF_CI_high",
    "SE_factor",
    "Tolerance",
    "Tolerance_CI_low",
    "Tolerance_CI_high",
]
BINNED_COLUMNS = ["xbar", "ybar", "n", "x.lo", "x.hi", "se", "ci_range", "CI_low", "CI_high", "group"]


def _require_fit(fit: object, what: str, rows: bool = True) -> Fit:
    """``fit``, checked: a fit (with its rows in memory, unless ``rows`` is False)."""
    if not isinstance(fit, Fit):
        raise TypeError(
            f"{what} takes a fit of mm.lmer, mm.glmer, mm.lm or mm.glm, "
            f"not {type(fit).__module__}.{type(fit).__name__}"
        )
    if rows:
        fit.require_rows(what)
    return fit


# ------------------------------------------------------------------ the parts of each fit type
def _fixed_matrix(fit) -> np.ndarray:
    """The columns of ``X`` that were estimated (aliased ones left out)."""
    X = fit.design.X
    names = list(fit.design.fixef_names)
    kept = [names.index(n) for n in _estimated_names(fit) if n in names]
    return X if X.shape[1] == len(kept) else X[:, kept]


def _estimated_names(fit) -> list[str]:
    beta = fit.fixef
    return [str(n) for n, v in beta.items() if np.isfinite(v)]


def _z_lambda(fit) -> sp.csr_matrix | None:
    """``Z Lambda`` at the fit's ``theta`` (None without random effects); the columns of each
    level of a term are ``z_i T`` for its template ``T``."""
    if not fit.is_mixed:
        return None
    blocks = []
    for term, T in zip(fit.design.reterms, fit.layout.templates(fit.theta)):
        zt = np.asarray(term.z, dtype=float) @ T  # (n, k)
        n, k = zt.shape
        cols = term.refs[:, None] * k + np.arange(k)[None, :]
        rows = np.repeat(np.arange(n), k)
        blocks.append(sp.csr_matrix((zt.ravel(), (rows, cols.ravel())), shape=(n, term.nlevels * k)))
    return sp.hstack(blocks, format="csr")


def _pearson(fit) -> np.ndarray:
    return np.asarray(fit.resid("pearson"), dtype=float)


def hatvalues(fit) -> pd.Series:
    """Leverages: the diagonal of the hat matrix (see the module), as R's ``hatvalues``.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit or GlmFit
        A fit with its rows.

    Returns
    -------
    Series
        One leverage per row used in the fit.
    """
    fit = _require_fit(fit, "hatvalues")
    X = _fixed_matrix(fit)
    sw = np.sqrt(fit.working_weights)
    ZL = _z_lambda(fit)
    if ZL is None:
        h = weighted_leverages(X, sw * sw)
    else:
        h = _mixed_leverages(sp.hstack([ZL, sp.csr_matrix(X)], format="csr"), ZL.shape[1], sw)
    return pd.Series(h, index=fit.design.row_index, name="hat")


def _mixed_leverages(A: sp.csr_matrix, q: int, sw: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """``diag(A M^{-1} A')`` for ``A`` weighted by ``sw`` and ``M = A'A + diag(I_q, 0)``."""
    A = sp.diags(sw) @ A
    penalty = np.zeros(A.shape[1])
    penalty[:q] = 1.0
    M = (A.T @ A + sp.diags(penalty)).tocsc()
    lu = splu(M)
    h = np.empty(A.shape[0])
    for lo in range(0, A.shape[0], chunk):
        block = A[lo : lo + chunk].toarray().T  # (q + p, rows)
        h[lo : lo + chunk] = np.einsum("ij,ij->j", block, lu.solve(block))
    return h


def influence_table(fit) -> pd.DataFrame:
    """Per row: leverage ``hat``, Cook's distance ``cooks_distance`` and the standardized
    Pearson residual ``std_resid`` (see the module).

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit or GlmFit

    Returns
    -------
    DataFrame
        Columns ``hat``, ``cooks_distance``, ``std_resid``, indexed as the fit's rows.
    """
    h = hatvalues(fit).to_numpy()
    phi = fit.pearson_dispersion
    p = _fixed_matrix(fit).shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        d = _pearson(fit) / np.sqrt(phi * (1.0 - h))
        cook = d**2 * h / (p * (1.0 - h))
    cook[~np.isfinite(cook)] = np.nan
    return pd.DataFrame({"hat": h, "cooks_distance": cook, "std_resid": d}, index=fit.design.row_index)


def cooks_distance(fit) -> pd.Series:
    """Cook's distances (see the module), as R's ``cooks.distance`` (lme4's for ``lmer``).

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit or GlmFit
    """
    return influence_table(fit)["cooks_distance"].rename("cooks_distance")


def cook_level(fit) -> float:
    """performance's threshold of an influential row: the median of ``F(p, n - p)``."""
    p = _fixed_matrix(fit).shape[1]
    return float(stats.f.ppf(0.5, p, fit.nobs - p))


# ------------------------------------------------------------------ collinearity
def _column_terms(fit, names: list[str]) -> list[str]:
    """The formula term of each named column of ``X``."""
    xspec = fit.design.xspec
    if xspec is None:
        return names  # a matrix given column by column: each column its own term
    return [xspec.terms[xspec.names.index(n)] if n in xspec.names else n for n in names]


def check_collinearity(fit, ci: float = 0.95) -> pd.DataFrame:
    """Variance inflation factors of the fixed-effects terms, as performance's
    ``check_collinearity`` (see the module).

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit or GlmFit
    ci : float
        Level of the intervals of the VIF and the tolerance.

    Returns
    -------
    DataFrame
        performance's columns ``Term``, ``VIF``, ``VIF_CI_low``, ``VIF_CI_high``, ``SE_factor``,
        ``Tolerance``, ``Tolerance_CI_low``, ``Tolerance_CI_high``: one row per term but the
        intercept (a term of several columns, a factor's, gets the generalized VIF). Empty when
        the model has fewer than two terms besides the intercept.
    """
    fit = _require_fit(fit, "check_collinearity", rows=False)  # vcov and the terms suffice
    if not 0 < ci < 1:
        raise ValueError(f"ci must be between 0 and 1, not {ci!r}")
    names = _estimated_names(fit)
    V = fit.vcov.loc[names, names].to_numpy(dtype=float)
    terms = _column_terms(fit, names)
    keep = [j for j, t in enumerate(terms) if t != "(Intercept)"]
    terms = [terms[j] for j in keep]
    labels = list(dict.fromkeys(terms))
    if len(labels) < 2:
        return pd.DataFrame(columns=COLLINEARITY_COLUMNS)
    V = V[np.ix_(keep, keep)]
    sd = np.sqrt(np.diag(V))
    R = V / np.outer(sd, sd)
    det_all = np.linalg.det(R)
    vif = []
    for label in labels:
        inside = [j for j, t in enumerate(terms) if t == label]
        outside = [j for j, t in enumerate(terms) if t != label]
        vif.append(
            np.linalg.det(R[np.ix_(inside, inside)]) * np.linalg.det(R[np.ix_(outside, outside)]) / det_all
        )
    vif_a = np.asarray(vif)
    low, high = _vif_interval(vif_a, fit.nobs, len(names), ci)
    with np.errstate(divide="ignore"):
        vif_low, vif_high = 1 / (1 - low), 1 / (1 - high)
    return pd.DataFrame(
        {
            "Term": labels,
            "VIF": vif_a,
            "VIF_CI_low": vif_low,
            "VIF_CI_high": vif_high,
            "SE_factor": np.sqrt(vif_a),
            "Tolerance": 1 / vif_a,
            "Tolerance_CI_low": 1 - high,
            "Tolerance_CI_high": 1 - low,
        },
        columns=COLLINEARITY_COLUMNS,
    )


def _vif_interval(vif: np.ndarray, n: int, p: int, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval of ``r = 1 - 1/VIF`` (performance's: on the logit scale, see the module)."""
    r = 1 - 1 / vif
    z = stats.norm.ppf((1 + ci) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):  # r = 0: no interval (NaN, as R's NA)
        se = np.sqrt((1 - r**2) ** 2 * (n - p - 1) ** 2 / ((n**2 - 1) * (n + 3)))
        se_logit = se / (r * (1 - r))
        logit = np.log(r / (1 - r))
        return stats.logistic.cdf(logit - z * se_logit), stats.logistic.cdf(logit + z * se_logit)


# ------------------------------------------------------------------ binned residuals
def binned_residuals(fit, n_bins: int | None = None) -> pd.DataFrame:
    """Binned residuals of a binomial model, as performance's ``binned_residuals`` (see the module).

    Parameters
    ----------
    fit : GlmerFit or GlmFit
        Usually a binomial model (any fit is taken: the bins are of its fitted values).
    n_bins : int, optional
        Number of bins; ``round(sqrt(n))`` by default.

    Returns
    -------
    DataFrame
        performance's columns ``xbar``, ``ybar``, ``n``, ``x.lo``, ``x.hi``, ``se`` (1.96 times the
        standard error), ``ci_range`` (the standard error), ``CI_low``, ``CI_high`` and ``group``
        (``"yes"`` where ``|ybar| <= se``, inside the bounds). The residual of a row with trials is
        its observed proportion less its fitted probability (performance 0.10.2 subtracts the
        probability from the count of successes there).
    """
    fit = _require_fit(fit, "binned_residuals")
    pred = np.asarray(fit.fitted, dtype=float)
    resid = fit.observed_response - pred
    n = len(pred)
    if n_bins is None:
        n_bins = int(np.round(np.sqrt(n)))
    if not 1 <= n_bins <= n:
        raise ValueError(f"n_bins must be between 1 and the number of observations ({n}), not {n_bins}")
    cuts = np.sort(pred)[np.floor(n * np.arange(1, n_bins) / n_bins).astype(int) - 1]
    breaks = np.unique(np.concatenate([[-np.inf], cuts, [np.inf]]))
    bins = np.searchsorted(breaks, pred, side="left")  # intervals (b[i-1], b[i]]
    rows = []
    z = stats.norm.ppf(0.975)
    for b in range(1, n_bins + 1):
        inside = bins == b
        k = int(inside.sum())
        if k < 2:
            continue
        sdev = float(np.std(resid[inside], ddof=1))
        ybar = float(resid[inside].mean())
        ci_range = sdev / math.sqrt(k)
        rows.append(
            (
                float(pred[inside].mean()),
                ybar,
                k,
                float(pred[inside].min()),
                float(pred[inside].max()),
                z * ci_range,
                ci_range,
                ybar - z * ci_range,
                ybar + z * ci_range,
                "no" if abs(ybar) > z * ci_range else "yes",
            )
        )
    return pd.DataFrame(rows, columns=BINNED_COLUMNS)


# ------------------------------------------------------------------ every panel's numbers
@dataclass(frozen=True, eq=False)
class ModelCheck:
    """What :func:`mixedmodels.check_model` draws, panel by panel (None where a panel does not
    apply to the fit).

    Attributes
    ----------
    title : str
        The model, as the figure's title names it.
    linear : bool
        A linear (Gaussian) model: the linearity panel and residual QQ plot apply.
    response : str
        The response's name.
    observed, simulated : ndarray
        The response and ``nsim`` responses simulated from the fit (new random effects), one
        column each, on the simulator's scale (the fit's ``simulate_draws``: a binomial's
        successes out of the trials it draws from).
    discrete : bool
        Whether the responses are whole numbers (counts, successes): the predictive check is
        then drawn as frequencies of values.
    fitted, residuals : ndarray
        Fitted values and ``y - fitted``.
    scaled_residuals : ndarray
        The residuals of the homogeneity and QQ panels: standardized Pearson residuals (``lm``,
        ``glm``) or Pearson residuals over the square root of their dispersion (mixed models).
    residual_label : str
        What :attr:`scaled_residuals` are, for the axes.
    influence : DataFrame
        :func:`influence_table`.
    cook_level : float
        Cook's distance beyond which a row is influential (performance's threshold).
    npar : int
        Rank of ``X`` (the ``p`` of Cook's distance).
    collinearity : DataFrame or None
        :func:`check_collinearity` (None with fewer than two terms).
    binned : DataFrame or None
        :func:`binned_residuals` for a binomial model.
    dispersion : DataFrame or None
        For a count model: ``predicted`` (fitted mean), ``squared_residual`` and ``variance``
        (the model's variance of the response at the fitted mean).
    ranef : tuple of (str, str, DataFrame)
        For a mixed model, per grouping factor and term: the normal quantiles ``x``, the sorted
        conditional modes ``y`` and their 95% intervals ``low``, ``high``.
    """

    title: str
    linear: bool
    response: str
    observed: np.ndarray
    simulated: np.ndarray
    discrete: bool
    fitted: np.ndarray
    residuals: np.ndarray
    scaled_residuals: np.ndarray
    residual_label: str
    influence: pd.DataFrame
    cook_level: float
    npar: int
    collinearity: pd.DataFrame | None
    binned: pd.DataFrame | None
    dispersion: pd.DataFrame | None
    ranef: tuple

    def __post_init__(self) -> None:
        for name in ("observed", "simulated", "fitted", "residuals", "scaled_residuals"):
            values = np.array(getattr(self, name), dtype=float)
            values.flags.writeable = False
            object.__setattr__(self, name, values)
        object.__setattr__(self, "ranef", tuple(self.ranef))

    def plot(self) -> Figure:
        """The figure (:func:`mixedmodels.plotting.check_model_figure`)."""
        from ..plotting import check_model_figure

        return check_model_figure(self)


def model_check(fit, nsim: int = 50, seed=None) -> ModelCheck:
    """The numbers behind every panel of :func:`mixedmodels.check_model` (see :class:`ModelCheck`).

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit or GlmFit
    nsim : int
        Responses simulated for the posterior predictive check (new random effects each).
    seed : int or Generator, optional
        Seed of the simulations.
    """
    fit = _require_fit(fit, "check_model")
    if int(nsim) < 1:
        raise ValueError(f"nsim must be at least 1, not {nsim!r}")
    y, sims = fit.simulate_draws(int(nsim), as_generator(seed), use_u=False)
    generalized = fit.is_generalized
    takes_trials = generalized and bool(fit.family.takes_trials)
    discrete = generalized and _whole(y) and _whole(sims)
    if discrete:
        y, sims = np.round(y), np.round(sims)
    fitted = np.asarray(fit.fitted, dtype=float)
    influence = influence_table(fit)
    linear = not generalized
    if fit.is_mixed:
        scaled = _pearson(fit) / np.sqrt(fit.pearson_dispersion)
        label = "Pearson residual / sigma" if linear else "Pearson residual / sqrt(dispersion)"
    else:
        scaled = influence["std_resid"].to_numpy()
        label = "standardized residual" if linear else "standardized Pearson residual"
    collinearity = check_collinearity(fit)
    return ModelCheck(
        title=_title(fit),
        linear=linear,
        response=_response_name(fit),
        observed=y,
        simulated=sims,
        discrete=discrete,
        fitted=fitted,
        residuals=fit.observed_response - fitted,
        scaled_residuals=scaled,
        residual_label=label,
        influence=influence,
        cook_level=cook_level(fit),
        npar=_fixed_matrix(fit).shape[1],
        collinearity=collinearity if len(collinearity) else None,
        binned=binned_residuals(fit) if takes_trials else None,
        dispersion=_dispersion_table(fit) if discrete and not takes_trials else None,
        ranef=_ranef_quantiles(fit) if fit.is_mixed else (),
    )


def _whole(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return bool(np.all(np.abs(finite - np.round(finite)) < 1e-8))


def _response_name(fit) -> str:
    """The response as the axes name it: ``incidence (successes)`` for ``cbind(incidence, ...)``."""
    response = str(fit.design.response)
    successes = re.fullmatch(r"\s*cbind\(\s*([^,]+?)\s*,.*\)\s*", response)
    return f"{successes.group(1)} (successes)" if successes else response


def _title(fit) -> str:
    formula = " ".join(str(fit.formula).split())
    if fit.is_generalized:
        fam = fit.family
        parts = [f"{fit.kind}: {formula}, {fam.name}({fam.link.name})"]
        for label, part in (("zi", getattr(fit, "zi", None)), ("disp", getattr(fit, "disp", None))):
            if part is not None:
                parts.append(f"{label} {' '.join(str(part.formula).split())}")
        return ", ".join(parts)
    return f"{fit.kind}: {formula}"


def _dispersion_table(fit) -> pd.DataFrame:
    """performance's overdispersion panel: squared residuals and the model's variance of the
    response, against the fitted mean."""
    mean = np.asarray(fit.fitted, dtype=float)
    return pd.DataFrame(
        {
            "predicted": mean,
            "squared_residual": (fit.observed_response - mean) ** 2,
            "variance": fit.response_variance,
        }
    )


def ppoints(n: int) -> np.ndarray:
    """R's ``ppoints``: ``(i - a) / (n + 1 - 2a)``, ``a = 3/8`` for ``n <= 10``, else 1/2."""
    a = 3 / 8 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def _ranef_quantiles(fit) -> tuple:
    table = fit.ranef(condvar=True)
    z = stats.norm.ppf(0.975)
    out = []
    for (group, term), part in table.groupby(["grpvar", "term"], sort=False):
        order = np.argsort(part.condval.to_numpy(), kind="stable")
        y = part.condval.to_numpy()[order]
        sd = part.condsd.to_numpy()[order]
        frame = pd.DataFrame(
            {"x": stats.norm.ppf(ppoints(len(y))), "y": y, "low": y - z * sd, "high": y + z * sd}
        )
        out.append((str(group), str(term), frame))
    return tuple(out)
