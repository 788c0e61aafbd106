"""matplotlib figures; matplotlib is imported only when a figure is asked for."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bootstrap_figure", "profile_figure"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use(
            matplotlib.get_backend() if "matplotlib.pyplot" in __import__("sys").modules else "Agg"
        )
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is an optional extra
        raise ImportError('plots need matplotlib: pip install "mixedmodels[plot]"') from exc
    return plt


def _grid(n: int):
    ncol = min(n, 3)
    return math.ceil(n / ncol), ncol


def bootstrap_figure(result, parm=None, kind: str = "hist"):
    """One panel per statistic: histogram (or density) of the replicates, the original marked."""
    if kind not in ("hist", "density"):
        raise ValueError(f"kind must be 'hist' or 'density', not {kind!r}")
    plt = _pyplot()
    names = list(result.replicates.columns if parm is None else parm)
    nrow, ncol = _grid(len(names))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3 * nrow), squeeze=False)
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
    plt = _pyplot()
    names = result.parameters
    nrow, ncol = _grid(len(names))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3 * nrow), squeeze=False)
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
