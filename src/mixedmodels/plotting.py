"""matplotlib figures; matplotlib is imported only when a figure is asked for.

Figures are made with ``matplotlib.figure.Figure``, not pyplot: pyplot would also register each
figure as open, and a notebook's inline backend shows every open figure at the end of a cell,
so a figure returned as a cell's last expression would appear twice. A script saves one with
``fig.savefig(path)``; pyplot's ``plt.show()`` does not know about it.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .fixed.glm import GlmFit
    from .fixed.lm import LmFit
    from .glmm.fit import GlmerFit
    from .lmm.fit import LmerFit

__all__ = [
    "bootstrap_figure",
    "caterpillar",
    "comparison_figure",
    "emmeans_figure",
    "profile_figure",
    "qq_ranef",
    "residual_plot",
    "simulated_residuals_figure",
]


def _figure(nrow: int = 1, ncol: int = 1, figsize=None, squeeze: bool = True):
    """A new figure not registered with pyplot, and its axes (as ``plt.subplots`` returns them)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrow, ncol, squeeze=squeeze)


def _grid(n: int):
    ncol = min(n, 3)
    return math.ceil(n / ncol), ncol


def bootstrap_figure(result, parm=None, kind: str = "hist"):
    """One panel per statistic: histogram (or density) of the replicates, the original marked."""
    if kind not in ("hist", "density"):
        raise ValueError(f"kind must be 'hist' or 'density', not {kind!r}")
    names = list(result.replicates.columns if parm is None else parm)
    nrow, ncol = _grid(len(names))
    fig, axes = _figure(nrow, ncol, figsize=(4 * ncol, 3 * nrow), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        values = result.replicates[name].dropna().to_numpy()
        if kind == "hist":
            ax.hist(values, bins="auto", color="0.6", edgecolor="white")
        else:
            from scipy.stats import gaussian_kde

            grid = np.linspace(values.min(), values.max(), 200)
            ax.plot(grid, gaussian_kde(values)(grid), color="0.2")
        ax.axvline(result.t0[name], color="C3", lw=1.5, label="original fit")
        ax.set_title(name, fontsize=10)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    kind_text = "random effects held fixed" if result.use_u else "new random effects"
    fig.suptitle(f"Parametric bootstrap, {result.nsim} replicates ({kind_text})")
    fig.tight_layout()
    return fig


def profile_figure(result, kind: str = "zeta", levels=(0.5, 0.8, 0.9, 0.95, 0.99)):
    """lme4's profile plots: zeta (kind="zeta") or the profile density (kind="density")."""
    from scipy.stats import norm

    if kind not in ("zeta", "density"):
        raise ValueError(f"kind must be 'zeta' or 'density', not {kind!r}")
    names = result.parameters
    nrow, ncol = _grid(len(names))
    fig, axes = _figure(nrow, ncol, figsize=(4 * ncol, 3 * nrow), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        trace = result.trace(name)
        spline = result.spline(name)
        grid = np.linspace(trace.value.min(), trace.value.max(), 200)
        if kind == "zeta":
            ax.plot(grid, spline(grid), color="C0")
            ax.plot(trace.value, trace.zeta, "o", color="C0", ms=3)
            for level in levels:
                z = norm.ppf((1 + level) / 2)
                ax.axhline(z, color="0.8", lw=0.8)
                ax.axhline(-z, color="0.8", lw=0.8)
            ax.set_ylabel("zeta")
        else:
            density = norm.pdf(spline(grid)) * np.abs(spline(grid, 1))
            ax.plot(grid, density, color="C0")
            ax.set_ylabel("density")
        ax.axvline(result.estimates[name], color="C3", lw=1)
        ax.set_title(name, fontsize=10)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    fig.suptitle("Profile zeta" if kind == "zeta" else "Profile densities")
    fig.tight_layout()
    return fig


def comparison_figure(comparison):
    """The seed's picture: data and a fitted line per group; the two bootstrap distributions.

    For a GLMM comparison the data are on the response scale (a binomial's proportions) against
    the first variable of the fixed part (a factor's levels as positions), each group's fitted
    values connected.
    """
    fig, axes = _figure(1, 3, figsize=(15, 4.5))
    if comparison.generalized:
        _glmm_data_panel(axes[0], comparison.mixed)
    else:
        _lmm_data_panel(axes[0], comparison.mixed)
    _bootstrap_panels(axes[1:], comparison)
    fig.tight_layout()
    return fig


_MARKERS = "os^vD<>pP*hX"


def _groups(term):
    """Each level of a grouping term: its index, label, rows and colour."""
    from matplotlib import colormaps

    for level_index, label in enumerate(term.levels):
        color = colormaps["viridis"](level_index / max(term.nlevels - 1, 1))
        yield level_index, label, term.refs == level_index, color


def _lmm_data_panel(ax, fit) -> None:
    """The data against the first slope variable, a fitted line per group."""
    design = fit.design
    term = design.reterms[0]
    slope_cols = [j for j, n in enumerate(fit.fixef_names) if n != "(Intercept)"]
    x = design.X[:, slope_cols[0]] if slope_cols else np.arange(fit.nobs, dtype=float)
    b = fit.ranef()[term.group].iloc[:, 0].to_numpy()
    for level_index, label, rows, color in _groups(term):
        ax.scatter(
            x[rows],
            design.y[rows],
            s=14,
            marker=_MARKERS[level_index % len(_MARKERS)],
            color=color,
            label=label,
        )
        if slope_cols:
            grid = np.linspace(x[rows].min(), x[rows].max(), 2)
            line = fit.fixef.iloc[0] + b[level_index] + fit.fixef.iloc[slope_cols[0]] * grid
            ax.plot(grid, line, color=color, lw=1)
    ax.set_xlabel(fit.fixef_names[slope_cols[0]] if slope_cols else "observation")
    ax.set_ylabel(design.response)
    ax.set_title(f"data and fitted lines, one per level of {term.group}")
    _group_legend(ax, term)


def _group_legend(ax, term) -> None:
    if term.nlevels <= 12:
        ax.legend(title=term.group, fontsize=7, ncol=2)


def _glmm_data_panel(ax, fit) -> None:
    """A GLMM's data on the response scale against its first fixed-part variable, each group's
    fitted values connected (points dodged apart at a factor's levels; their area grows with
    the binomial trials)."""
    term = fit.design.reterms[0]
    x, levels, xlabel = _first_variable(fit)
    y, mu, trials = fit.model.y, fit.mu, fit.model.weights
    size = 6 + 40 * trials / trials.max() if np.ptp(trials) > 0 else np.full(len(y), 14.0)
    for level_index, label, rows, color in _groups(term):
        dodge = 0.4 * (level_index / max(term.nlevels - 1, 1) - 0.5) if levels is not None else 0.0
        xs = x[rows] + dodge
        order = np.argsort(xs, kind="stable")
        marker = _MARKERS[level_index % len(_MARKERS)]
        ax.scatter(xs, y[rows], s=size[rows], marker=marker, color=color, alpha=0.8, label=label)
        ax.plot(xs[order], mu[rows][order], color=color, lw=1)
    if levels is not None:
        ax.set_xticks(np.arange(len(levels)), levels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_response_label(fit))
    sized = ", area ~ trials" if np.ptp(trials) > 0 else ""
    ax.set_title(f"data{sized}; fitted values connected per level of {term.group}", fontsize=10)
    _group_legend(ax, term)


def _response_label(fit) -> str:
    """``incidence, as a proportion of the trials`` for ``cbind(incidence, size - incidence)``."""
    response = fit.design.response
    successes = re.fullmatch(r"\s*cbind\(\s*([^,]+?)\s*,.*\)\s*", response)
    if fit.family.takes_trials and successes:
        return f"{successes.group(1)}, as a proportion of the trials"
    return response


def _first_variable(fit) -> tuple[np.ndarray, list[str] | None, str]:
    """The positions of the rows along the first variable of the fixed part, a factor's levels
    (None for a number) and the axis label; the row number for an intercept-only model."""
    import pandas as pd

    design = fit.design
    terms = [t for t in (design.xspec.terms if design.xspec else ()) if t != "(Intercept)"]
    data = fit.data
    wrapped = re.fullmatch(r"(?:as\.factor|factor|ordered)\((\w+)\)", terms[0]) if terms else None
    column = wrapped.group(1) if wrapped else terms[0] if terms else None
    if column is not None and isinstance(data, pd.DataFrame) and column in data.columns:
        values = data[column].loc[design.row_index]
        if (
            wrapped
            or isinstance(values.dtype, pd.CategoricalDtype)
            or not pd.api.types.is_numeric_dtype(values)
        ):
            codes = pd.Categorical(values).remove_unused_categories()
            return codes.codes.astype(float), [str(c) for c in codes.categories], terms[0]
        return values.to_numpy(dtype=float), None, terms[0]
    slope_cols = [j for j, n in enumerate(fit.fixef_names) if n != "(Intercept)"]
    if slope_cols:
        return design.X[:, slope_cols[0]], None, fit.fixef_names[slope_cols[0]]
    return np.arange(fit.nobs, dtype=float), None, "observation"


def _bootstrap_panels(axes, comparison) -> None:
    """The intercept's bootstrap distributions, each with the normal its model's SE gives."""
    from scipy.stats import norm

    fit = comparison.mixed
    name = fit.fixef_names[0]
    panels = [
        (comparison.boot_new_u, fit.se[name], "new random effects (use_u=False)\nvs mixed-model SE"),
        (
            comparison.boot_fixed_u,
            comparison.fixed.se[name],
            "random effects held fixed (use_u=True)\nvs fixed-model SE",
        ),
    ]
    for ax, (boot, se, title) in zip(axes, panels):
        values = boot.replicates[name].dropna().to_numpy()
        ax.hist(values, bins=60, density=True, color="0.7", edgecolor="white")
        grid = np.linspace(values.min(), values.max(), 200)
        ax.plot(
            grid, norm.pdf(grid, boot.t0[name], se), color="C3", lw=1.5, label=f"normal, SD = SE = {se:.3g}"
        )
        ax.set_title(f"bootstrap {name}: {title}", fontsize=10)
        ax.set_xlabel(f"{name} (bootstrap SD {values.std(ddof=1):.3g})")
        ax.legend(fontsize=8)


def caterpillar(fit: LmerFit, group: str | None = None, level: float = 0.95) -> Figure:
    """Conditional modes with their conditional intervals, sorted, one panel per term."""
    from scipy.stats import norm

    table = fit.ranef(condvar=True)
    groups = [group] if group else list(dict.fromkeys(table.grpvar))
    panels = [(g, t) for g in groups for t in dict.fromkeys(table[table.grpvar == g].term)]
    fig, axes = _figure(
        1, len(panels), figsize=(4 * len(panels), 0.5 + 0.18 * table.grp.nunique()), squeeze=False
    )
    z = norm.ppf((1 + level) / 2)
    for ax, (g, t) in zip(axes.ravel(), panels):
        part = table[(table.grpvar == g) & (table.term == t)].sort_values("condval")
        pos = np.arange(len(part))
        ax.errorbar(part.condval, pos, xerr=z * part.condsd, fmt="o", ms=3, color="C0", ecolor="0.6")
        ax.axvline(0, color="0.4", lw=0.8)
        ax.set_yticks(pos, part.grp, fontsize=6)
        ax.set_title(f"{g}: {t}", fontsize=10)
    fig.tight_layout()
    return fig


def residual_plot(fit: LmerFit | LmFit | GlmerFit | GlmFit) -> Figure:
    """Residuals against fitted values, as R's ``plot(fit)`` (its first panel for ``lm`` and ``glm``).

    Parameters
    ----------
    fit : LmerFit, LmFit, GlmerFit or GlmFit
        A linear (mixed) model: residuals ``y - fitted`` against the fitted values. A glmer
        fit: Pearson residuals against the fitted means, as lme4's ``plot.merMod``. A glm
        fit: deviance residuals against the linear predictor, as R's ``plot.glm``.

    Raises
    ------
    TypeError
        For anything else (a bootstrap, a profile, ``lmer_many``'s result).
    """
    x, r, xlabel, ylabel = _residuals_and_fitted(fit)
    fig, ax = _figure(figsize=(5, 4))
    ax.scatter(x, r, s=10, color="C0", alpha=0.7)
    ax.axhline(0, color="0.4", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def _residuals_and_fitted(fit) -> tuple[np.ndarray, np.ndarray, str, str]:
    """What :func:`residual_plot` shows of ``fit``: x, residuals and the axes' labels."""
    from .base.protocols import fit_of

    if fit_of(fit, "glmer"):
        return _values(fit.fitted), _values(fit.resid("pearson")), "fitted", "Pearson residual"
    if fit_of(fit, "glm"):
        eta = _values(fit.linear_predictor)
        return eta, _values(fit.resid("deviance")), "linear predictor", "deviance residual"
    if fit_of(fit, "lmer", "lm"):
        return _values(fit.fitted), _values(fit.resid("response")), "fitted", "residual"
    raise TypeError(
        "residual_plot takes a fit of mm.lmer, mm.lm, mm.glmer or mm.glm, "
        f"not {type(fit).__module__}.{type(fit).__name__}"
    )


def _values(series) -> np.ndarray:
    return np.asarray(series, dtype=float)


def qq_ranef(fit: LmerFit) -> Figure:
    """Normal quantile plot of the conditional modes, one panel per grouping factor and term."""
    from scipy.stats import norm

    table = fit.ranef(condvar=True)
    panels = list(dict.fromkeys(zip(table.grpvar, table.term)))
    fig, axes = _figure(1, len(panels), figsize=(4 * len(panels), 4), squeeze=False)
    for ax, (g, t) in zip(axes.ravel(), panels):
        values = np.sort(table[(table.grpvar == g) & (table.term == t)].condval.to_numpy())
        q = norm.ppf((np.arange(1, len(values) + 1) - 0.5) / len(values))
        ax.scatter(q, values, s=12, color="C0")
        ax.set_xlabel("standard normal quantiles")
        ax.set_title(f"{g}: {t}", fontsize=10)
    fig.tight_layout()
    return fig


def emmeans_figure(result):
    """Estimated marginal means as points with their confidence intervals, one panel per
    ``by`` group (a :class:`mixedmodels.inference.emmeans.Emmeans`); non-estimable means are left out."""
    table = result.table
    specs, by = list(result.specs), list(result.by)
    labels = table[specs].astype(str).agg(" ".join, axis=1).to_numpy()
    groups = [np.arange(len(table))]
    if by:
        groups = list(table.groupby(by, sort=False, observed=True).indices.values())
    nrow, ncol = _grid(len(groups))
    height = 0.4 * max(len(rows) for rows in groups) + 1.6
    fig, axes = _figure(nrow, ncol, figsize=(4 * ncol, height * nrow), squeeze=False)
    for ax, rows in zip(axes.ravel(), groups):
        part = table.iloc[rows]
        y = np.arange(len(rows))
        est = part[result.estimate_name].to_numpy(dtype=float)
        lo, hi = (part[name].to_numpy(dtype=float) for name in result.bound_names)
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="o", color="0.2", ecolor="C0", capsize=3)
        ax.set_yticks(y, labels[rows])
        ax.set_xlabel(result.estimate_name)
        if by:
            ax.set_title(", ".join(f"{b} = {part[b].iloc[0]}" for b in by), fontsize=10)
    for ax in axes.ravel()[len(groups) :]:
        ax.set_visible(False)
    fig.suptitle(f"Estimated marginal means, {100 * result.level:g}% confidence intervals")
    fig.tight_layout()
    return fig


_SIGNAL = "#d62728"
_QR_POINTS = 2000  # at most this many (rank-spread) points enter each quantile regression


def _test_legend(ax, label: str, test, loc: str) -> None:
    """A DHARMa-style annotation: the test's p-value and whether it deviates."""
    colour = _SIGNAL if test.significant else "black"
    verdict = "significant" if test.significant else "n.s."
    ax.text(
        *{"upper left": (0.03, 0.97), "center": (0.5, 0.5), "lower right": (0.97, 0.03)}[loc],
        f"{label}: p = {test.p:.4g}\nDeviation {verdict}",
        transform=ax.transAxes,
        ha={"upper left": "left", "center": "center", "lower right": "right"}[loc],
        va={"upper left": "top", "center": "center", "lower right": "bottom"}[loc],
        color=colour,
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
    )


def _rank_transform(x: np.ndarray) -> np.ndarray:
    """Average ranks divided by the largest (DHARMa's ``rankTransform``)."""
    from scipy.stats import rankdata

    r = rankdata(x, method="average")
    return r / r.max()


def simulated_residuals_figure(res) -> Figure:
    """DHARMa's ``plot`` of simulated residuals: two panels.

    Left: the scaled residuals' quantiles against Uniform(0, 1) quantiles, with the
    Kolmogorov-Smirnov (uniformity), dispersion and outlier tests' p-values (red where
    ``p < 0.05``). Right: the residuals against the rank-transformed population-level predictions,
    with dashed reference lines at 0.25, 0.5 and 0.75 and the fitted 0.25, 0.5 and 0.75 quantiles
    (residuals outside all simulations, at 0 or 1, as stars; red when the outlier test rejects).

    The quantile lines are *linear* quantile regressions (check-loss minima solved as linear
    programs by HiGHS, on at most 2,000 points spread over the ranks), where DHARMa fits smooth
    quantile GAMs (``qgam``) and tests each against its reference line: a line that tilts away
    from its reference shows a trend of the residuals with the predictions; curvature is not shown.

    Parameters
    ----------
    res : SimulatedResiduals
        From :func:`mixedmodels.simulate_residuals`.
    """
    from .checks.dharma_tests import linear_quantile_regression

    r = np.asarray(res.scaled_values, dtype=float)
    n = len(r)
    fig, (qq, rp) = _figure(1, 2, figsize=(10, 4.6))

    expected = (np.arange(1, n + 1) - 0.5) / n
    qq.scatter(expected, np.sort(r), s=8, marker="^", facecolors="none", edgecolors="0.2", linewidths=0.6)
    qq.plot([0, 1], [0, 1], color=_SIGNAL, lw=1)
    qq.set_xlim(0, 1)
    qq.set_ylim(0, 1)
    qq.set_xlabel("Expected")
    qq.set_ylabel("Observed")
    qq.set_title("QQ plot residuals", fontsize=10)
    outliers = res.test_outliers()
    _test_legend(qq, "KS test", res.test_uniformity(), "upper left")
    _test_legend(qq, "Dispersion test", res.test_dispersion(), "center")
    _test_legend(qq, "Outlier test", outliers, "lower right")

    x = _rank_transform(np.asarray(res.fitted, dtype=float))
    edge = (r == 0) | (r == 1)
    alpha = max(0.1, 1 - 3 * n / 10000)
    rp.scatter(x[~edge], r[~edge], s=8, facecolors="none", edgecolors="black", alpha=alpha, linewidths=0.6)
    rp.scatter(x[edge], r[edge], s=20, marker="*", color=_SIGNAL if outliers.significant else "black")
    order = np.argsort(x, kind="stable")
    pick = order[np.unique(np.linspace(0, n - 1, min(n, _QR_POINTS)).astype(int))]
    grid = np.array([x.min(), x.max()])
    for tau in (0.25, 0.5, 0.75):
        rp.axhline(tau, color="0.3", lw=0.6, ls="--")
        if len(np.unique(x)) > 1:
            a, b = linear_quantile_regression(x[pick], r[pick], tau)
            rp.plot(grid, a + b * grid, color="C0", lw=2)
    rp.set_xlim(0, 1.02)
    rp.set_ylim(-0.02, 1.02)
    rp.set_yticks([0, 0.25, 0.5, 0.75, 1])
    rp.set_xlabel("Model predictions (rank transformed)")
    rp.set_ylabel("Scaled residual")
    rp.set_title(
        "Residual vs. predicted\n(lines: linear quantile regressions at 0.25, 0.5, 0.75)", fontsize=9
    )
    kind = "conditional" if res.conditional else "unconditional"
    fig.suptitle(f"Simulated residuals ({res.n} {kind} simulations)", fontsize=11)
    fig.tight_layout()
    return fig
