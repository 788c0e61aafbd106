"""matplotlib figures; matplotlib is imported only when a figure is asked for.

Figures are made with ``matplotlib.figure.Figure``, not pyplot: pyplot would also register each
figure as open, and a notebook's inline backend shows every open figure at the end of a cell,
so a figure returned as a cell's last expression would appear twice. A script saves one with
``fig.savefig(path)``; pyplot's ``plt.show()`` does not know about it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .checks.model_check import ModelCheck
    from .fixed.glm import GlmFit
    from .fixed.lm import LmFit
    from .glmm.fit import GlmerFit
    from .lmm.fit import LmerFit

__all__ = [
    "bootstrap_figure",
    "caterpillar",
    "check_model",
    "check_model_figure",
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
    y, mu, trials = fit.observed_response, fit.mu, fit.model.weights
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
    """What :func:`residual_plot` shows of ``fit``: x, residuals and the axes' labels (lme4's
    ``plot.merMod`` for mixed fits, R's ``plot.lm`` and ``plot.glm`` for the others)."""
    from .base.protocols import Fit

    if not isinstance(fit, Fit):
        raise TypeError(
            "residual_plot takes a fit of mm.lmer, mm.lm, mm.glmer or mm.glm, "
            f"not {type(fit).__module__}.{type(fit).__name__}"
        )
    if fit.is_generalized and fit.is_mixed:
        return _values(fit.fitted), _values(fit.resid("pearson")), "fitted", "Pearson residual"
    if fit.is_generalized:
        eta = _values(fit.linear_predictor)  # type: ignore[attr-defined]
        return eta, _values(fit.resid("deviance")), "linear predictor", "deviance residual"
    return _values(fit.fitted), _values(fit.resid("response")), "fitted", "residual"


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


# ------------------------------------------------------------------ check_model
_OBSERVED, _MODEL, _ALARM = "#3aaf85", "#1b6ca8", "#cd201f"  # performance's colours


def check_model(fit, nsim: int = 50, seed=None) -> Figure:
    """One figure of the checks of performance's ``check_model`` that apply to ``fit``.

    Panels: the posterior predictive check (the response's density, or a count's frequencies,
    against ``nsim`` simulations from the fit); for linear models linearity (residuals against
    fitted values); homogeneity of variance (``sqrt|residual|`` against fitted values); for count
    models overdispersion (squared residuals against the model's variance), for binomial models
    binned residuals; influential observations (standardized residuals against leverage, with
    Cook's distance contours); collinearity (VIFs, with two terms or more, on a log axis up to
    three times the largest VIF and at least 15: a longer interval ends in an arrowhead at the
    top); normality of the
    residuals (QQ plot); and for mixed models the normality of the random effects (a QQ plot
    per grouping factor and term). The numbers are :func:`mixedmodels.checks.model_check.model_check`'s.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, LmFit or GlmFit
    nsim : int
        Responses simulated for the posterior predictive check (new random effects each, as
        ``simulate``'s default).
    seed : int or Generator, optional
        Seed of the simulations.

    Returns
    -------
    Figure
        Two panels a row; save it with ``fig.savefig(path)``.
    """
    from .checks.model_check import model_check

    return check_model_figure(model_check(fit, nsim=nsim, seed=seed))


def check_model_figure(check: ModelCheck) -> Figure:
    """The figure of :func:`check_model` from its numbers (a
    :class:`~mixedmodels.checks.model_check.ModelCheck`)."""
    panels: list[tuple[str, str, Callable[..., None]]] = [
        ("Posterior predictive check", "Simulated data should look like the observed data", _ppc_panel)
    ]
    if check.linear:
        panels.append(("Linearity", "Reference line should be flat and horizontal", _linearity_panel))
    panels.append(
        ("Homogeneity of variance", "Reference line should be flat and horizontal", _homogeneity_panel)
    )
    if check.dispersion is not None:
        panels.append(
            ("Overdispersion", "Observed residual variance should follow the predicted", _dispersion_panel)
        )
    if check.binned is not None:
        panels.append(("Binned residuals", "Points should be within the error bounds", _binned_panel))
    panels.append(("Influential observations", "Points should be inside the contour lines", _influence_panel))
    if check.collinearity is not None:
        panels.append(("Collinearity", "High VIFs may inflate parameter uncertainty", _collinearity_panel))
    panels.append(("Normality of residuals", "Dots should fall along the line", _qq_panel))
    for group, term, table in check.ranef:

        def draw(ax, check, table=table):
            _ranef_panel(ax, table)

        panels.append(
            (f"Normality of random effects ({group}: {term})", "Dots should fall along the line", draw)
        )
    ncol = 2
    nrow = math.ceil(len(panels) / ncol)
    fig, axes = _figure(nrow, ncol, figsize=(11, 3.7 * nrow), squeeze=False)
    for ax, (title, hint, draw) in zip(axes.ravel(), panels):
        draw(ax, check)
        ax.set_title(f"{title}\n{hint}", fontsize=9.5, loc="left")
        ax.tick_params(labelsize=8)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(_shorten(check.title, 110), fontsize=11)
    fig.tight_layout()
    return fig


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _smooth(
    x: np.ndarray, y: np.ndarray, points: int = 80, span: float = 0.75
) -> tuple[np.ndarray, np.ndarray]:
    """A local linear smooth of ``y`` on ``x`` (tricube weights on the nearest ``span`` of the
    points, as loess's degree 1), evaluated on a grid across ``x``."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    grid = np.linspace(x.min(), x.max(), points) if len(x) else np.array([])
    k = max(min(len(x), int(math.ceil(span * len(x)))), 1)
    fitted = np.full(len(grid), np.nan)
    for i, g in enumerate(grid):
        distance = np.abs(x - g)
        near = np.argpartition(distance, k - 1)[:k]
        radius = distance[near].max() * 1.0001 or 1.0
        w = (1 - (distance[near] / radius) ** 3) ** 3
        xs, ys = x[near] - g, y[near]
        sw, swx, swxx = w.sum(), (w * xs).sum(), (w * xs * xs).sum()
        det = sw * swxx - swx**2
        swy, swxy = (w * ys).sum(), (w * xs * ys).sum()
        fitted[i] = (swxx * swy - swx * swxy) / det if det > 1e-12 * sw * max(swxx, 1e-300) else swy / sw
    return grid, fitted


def _density(values: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """A Gaussian kernel density of ``values`` on an evenly spaced ``grid`` (the values binned
    to the grid, then smoothed)."""
    step = grid[1] - grid[0]
    counts, _ = np.histogram(values, bins=len(grid), range=(grid[0] - step / 2, grid[-1] + step / 2))
    half = int(math.ceil(4 * bandwidth / step))
    offsets = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (offsets / bandwidth) ** 2)
    smoothed = (
        np.convolve(counts, kernel, mode="same") if half < len(grid) else np.full(len(grid), counts.sum())
    )
    return smoothed / (len(values) * bandwidth * math.sqrt(2 * math.pi))


def _bandwidth(values: np.ndarray) -> float:
    """R's ``bw.nrd0``: ``0.9 min(sd, IQR / 1.34) n^(-1/5)``."""
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    q75, q25 = np.percentile(values, [75, 25])
    spread = min(sd, (q75 - q25) / 1.34) or sd or abs(float(values[0])) or 1.0
    return 0.9 * spread * len(values) ** -0.2


def _ppc_panel(ax, check) -> None:
    if check.discrete:
        _ppc_counts(ax, check)
    else:
        _ppc_density(ax, check)
    ax.set_xlabel(check.response)


def _ppc_density(ax, check) -> None:
    y, sims = check.observed, check.simulated
    lo, hi = float(min(y.min(), sims.min())), float(max(y.max(), sims.max()))
    bandwidth = _bandwidth(y)
    grid = np.linspace(lo - 2 * bandwidth, hi + 2 * bandwidth, 512)
    for j in range(sims.shape[1]):
        ax.plot(grid, _density(sims[:, j], grid, bandwidth), color=_MODEL, lw=0.6, alpha=0.25)
    ax.plot([], [], color=_MODEL, lw=1, label=f"simulated ({sims.shape[1]})")
    ax.plot(grid, _density(y, grid, bandwidth), color=_OBSERVED, lw=2, label="observed")
    ax.set_ylabel("density")
    ax.legend(fontsize=8, frameon=False)


def _ppc_counts(ax, check) -> None:
    """Frequencies of each value (or of bins of values, for large counts): observed bars,
    simulated medians with their 95% ranges."""
    y, sims = check.observed, check.simulated
    top = int(max(y.max(), np.quantile(sims, 0.995)))
    width = max(1, math.ceil((top + 1) / 40))
    edges = np.arange(0, top + width + 1, width) - 0.5
    observed, _ = np.histogram(y, bins=edges)
    simulated = np.stack([np.histogram(sims[:, j], bins=edges)[0] for j in range(sims.shape[1])])
    centers = (edges[:-1] + edges[1:]) / 2
    ax.bar(centers, observed, width=0.9 * width, color=_OBSERVED, alpha=0.6, label="observed")
    low, mid, high = np.quantile(simulated, [0.025, 0.5, 0.975], axis=0)
    ax.errorbar(
        centers,
        mid,
        yerr=[mid - low, high - mid],
        fmt="o",
        ms=3,
        color=_MODEL,
        lw=1,
        label=f"simulated ({sims.shape[1]}): median, 95% range",
    )
    ax.set_ylabel("count of rows")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, frameon=False)


def _smooth_line(ax, x, y) -> None:
    grid, fitted = _smooth(np.asarray(x, float), np.asarray(y, float))
    ax.plot(grid, fitted, color=_OBSERVED, lw=1.8)


def _linearity_panel(ax, check) -> None:
    ax.scatter(check.fitted, check.residuals, s=8, color="0.35", alpha=0.6)
    ax.axhline(0, color="0.5", lw=0.8, ls="--")
    _smooth_line(ax, check.fitted, check.residuals)
    ax.set_xlabel("fitted values")
    ax.set_ylabel("residual")


def _homogeneity_panel(ax, check) -> None:
    root = np.sqrt(np.abs(check.scaled_residuals))
    ax.scatter(check.fitted, root, s=8, color="0.35", alpha=0.6)
    _smooth_line(ax, check.fitted, root)
    ax.set_xlabel("fitted values")
    ax.set_ylabel(f"sqrt(|{check.residual_label}|)")


def _dispersion_panel(ax, check) -> None:
    table = check.dispersion.sort_values("predicted")
    grid, observed = _smooth(table.predicted.to_numpy(), table.squared_residual.to_numpy())
    ax.plot(grid, observed, color=_OBSERVED, lw=2, label="observed (smoothed squared residuals)")
    ax.plot(table.predicted, table.variance, color=_MODEL, lw=2, label="predicted by the model")
    ax.set_xlabel("fitted mean")
    ax.set_ylabel("residual variance")
    ax.legend(fontsize=8, frameon=False)


def _binned_panel(ax, check) -> None:
    table = check.binned
    order = np.argsort(table.xbar.to_numpy())
    x, bound = table.xbar.to_numpy()[order], table.se.to_numpy()[order]
    ax.fill_between(x, -bound, bound, color="0.85", label="±1.96 SE")
    ax.axhline(0, color="0.5", lw=0.8)
    inside = table.group.to_numpy()[order] == "yes"
    ybar = table.ybar.to_numpy()[order]
    ax.scatter(x[inside], ybar[inside], s=16, color=_OBSERVED, label="inside")
    ax.scatter(x[~inside], ybar[~inside], s=16, color=_ALARM, label="outside")
    share = inside.mean() if len(inside) else float("nan")
    ax.set_xlabel(f"fitted probability ({100 * share:.0f}% of the bins inside)")
    ax.set_ylabel("average residual")
    ax.legend(fontsize=8, frameon=False)


def _influence_panel(ax, check) -> None:
    table = check.influence
    h, d, cook = (table[c].to_numpy() for c in ("hat", "std_resid", "cooks_distance"))
    flagged = np.nan_to_num(cook) >= check.cook_level
    ax.scatter(h[~flagged], d[~flagged], s=8, color="0.35", alpha=0.6)
    ax.scatter(h[flagged], d[flagged], s=14, color=_ALARM)
    largest = np.argsort(-np.nan_to_num(cook))[: min(int(flagged.sum()), 6)]
    for k, i in enumerate(largest):  # neighbours' labels alternate above and below their points
        offset = (3, 2) if k % 2 == 0 else (3, -9)
        ax.annotate(
            str(i + 1), (h[i], d[i]), fontsize=7, color=_ALARM, xytext=offset, textcoords="offset points"
        )
    right = float(np.nanmax(h)) * 1.05 if np.isfinite(h).any() else 1.0
    grid = np.linspace(right / 200, min(right, 0.999), 200)
    bound = np.sqrt(check.cook_level * check.npar * (1 - grid) / grid)
    limit = float(np.nanmax(np.abs(d))) * 1.15 if np.isfinite(d).any() else 1.0
    for sign in (1, -1):
        ax.plot(grid, sign * bound, color=_OBSERVED, ls="--", lw=1)
    ax.plot([], [], color=_OBSERVED, ls="--", lw=1, label=f"Cook's distance {check.cook_level:.2f}")
    ax.set_ylim(-limit, limit)
    ax.set_xlim(0, right)
    ax.axhline(0, color="0.7", lw=0.6)
    ax.set_xlabel("leverage (hat value)")
    ax.set_ylabel("standardized Pearson residual")
    ax.legend(fontsize=8, frameon=False, loc="lower right")


def _collinearity_panel(ax, check) -> None:
    """VIFs on a log axis up to :func:`_vif_ceiling`; an interval reaching past it (a VIF near
    one can have an upper bound of 1e5 or more) is cut there and ends in an arrowhead."""
    table = check.collinearity
    x = np.arange(len(table))
    vif = table.VIF.to_numpy()
    top = _vif_ceiling(vif)
    ax.axhspan(1, 5, color=_OBSERVED, alpha=0.12)
    ax.axhspan(5, 10, color="#f2b134", alpha=0.15)
    ax.axhspan(10, top, color=_ALARM, alpha=0.1)
    colors = [_OBSERVED if v < 5 else "#e08a00" if v < 10 else _ALARM for v in vif]
    low, high = table.VIF_CI_low.to_numpy(), table.VIF_CI_high.to_numpy()
    shown = np.isfinite(low) & np.isfinite(high)  # an uncorrelated term's interval is undefined
    cut = shown & (high > top)
    end = top / 1.12  # the arrowhead's centre, inside the axes
    ax.vlines(x[shown], low[shown], np.where(cut, end, high)[shown], color="0.5", lw=1, label="95% interval")
    ax.scatter(x[cut], np.full(cut.sum(), end), marker="^", s=22, color="0.5", zorder=3)
    ax.scatter(x, vif, s=30, color=colors, zorder=3)
    ax.set_yscale("log")
    ax.set_ylim(_VIF_FLOOR, top)
    ax.set_xlim(-0.6, len(x) - 0.4 + 0.18 * (len(x) + 0.2))  # room on the right for the band labels
    tilt = len(x) > 3
    ax.set_xticks(
        x, [_shorten(t, 18) for t in table.Term], rotation=30 if tilt else 0, ha="right" if tilt else "center"
    )
    ax.set_ylabel("variance inflation factor (log)")
    for where, text in zip(_band_label_heights(top), ("low", "moderate", "high")):
        ax.text(0.99, where, text, transform=ax.transAxes, ha="right", va="center", fontsize=7, color="0.4")


_VIF_FLOOR = 0.9


def _vif_ceiling(vif: np.ndarray) -> float:
    """The collinearity panel's top: three times the largest VIF, and at least 15 (the
    "high" band from 10 always shows); interval bounds above it are cut."""
    largest = float(np.nanmax(vif)) if np.isfinite(vif).any() else 1.0
    return max(15.0, 3.0 * largest)


def _band_label_heights(top: float, gap: float = 0.07) -> list[float]:
    """Where (axes fraction) the labels of the VIF bands 1-5, 5-10 and 10-``top`` go: each in its
    band's middle on the log axis, pushed apart to at least ``gap`` where a tall axis squeezes
    the 5-10 band."""
    span = np.log(top / _VIF_FLOOR)
    low, mid, high = (float(np.log(v / _VIF_FLOOR) / span) for v in (5**0.5, 50**0.5, (10 * top) ** 0.5))
    low = max(0.03, min(low, mid - gap))
    high = min(0.97, max(high, mid + gap))
    return [low, mid, high]


def _qq_line(ax, q: np.ndarray, values: np.ndarray) -> None:
    """R's ``qqline``: through the quartiles."""
    from scipy.stats import norm

    y1, y2 = np.quantile(values, [0.25, 0.75])
    x1, x2 = norm.ppf([0.25, 0.75])
    slope = (y2 - y1) / (x2 - x1)
    ax.plot(q, y1 + slope * (q - x1), color=_OBSERVED, lw=1.5)


def _qq_panel(ax, check) -> None:
    from scipy.stats import norm

    values = np.sort(check.scaled_residuals[np.isfinite(check.scaled_residuals)])
    q = norm.ppf((np.arange(1, len(values) + 1) - 0.5) / len(values))
    ax.scatter(q, values, s=8, color="0.35", alpha=0.7)
    _qq_line(ax, q, values)
    ax.set_xlabel("standard normal quantiles")
    ax.set_ylabel(check.residual_label)


def _ranef_panel(ax, table) -> None:
    ax.errorbar(
        table.x,
        table.y,
        yerr=[table.y - table.low, table.high - table.y],
        fmt="o",
        ms=3,
        color="0.3",
        ecolor="0.75",
        lw=1,
    )
    _qq_line(ax, table.x.to_numpy(), table.y.to_numpy())
    ax.set_xlabel("standard normal quantiles")
    ax.set_ylabel("conditional mode (95% interval)")


_SIGNAL = "#d62728"
_QR_POINTS = 2000  # at most this many (rank-spread) points enter each quantile regression


def _test_legends(ax, tests: list, x: np.ndarray, y: np.ndarray) -> None:
    """DHARMa-style annotations (each test's p-value and whether it deviates, red where it does),
    stacked in the corner off the diagonal, upper left or lower right, that holds fewer of the QQ
    points ``(x, y)``. A QQ curve rises, so it cannot fill both corners: reaching the upper left
    corner takes residuals near one from the smallest on, and then none is near zero."""
    upper_left = int(np.sum((x < 0.5) & (y > 0.6)))
    lower_right = int(np.sum((x > 0.5) & (y < 0.4)))
    top = upper_left <= lower_right
    for k, (label, test) in enumerate(tests):
        colour = _SIGNAL if test.significant else "black"
        verdict = "significant" if test.significant else "n.s."
        step = k if top else len(tests) - 1 - k
        ax.annotate(
            f"{label}: p = {test.p:.3g}\nDeviation {verdict}",
            xy=(0.02, 0.98) if top else (0.98, 0.02),
            xycoords="axes fraction",
            xytext=(0, -27 * step if top else 27 * step),
            textcoords="offset points",
            ha="left" if top else "right",
            va="top" if top else "bottom",
            color=colour,
            fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5},
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
    ``p < 0.05``) stacked in the upper left or lower right corner, whichever the points leave
    free. Right: the residuals against the rank-transformed population-level predictions,
    with dashed reference lines at 0.25, 0.5 and 0.75 and the fitted 0.25, 0.5 and 0.75 quantiles
    (the outliers, :attr:`~mixedmodels.checks.simulated.SimulatedResiduals.outliers`, as stars;
    red when the outlier test rejects).

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
    tests = [("KS test", res.test_uniformity()), ("Dispersion test", res.test_dispersion())]
    _test_legends(qq, [*tests, ("Outlier test", outliers)], expected, np.sort(r))

    x = _rank_transform(np.asarray(res.fitted, dtype=float))
    edge = res.outliers
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
