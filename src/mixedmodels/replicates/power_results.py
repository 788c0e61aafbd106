"""What a power simulation returns: the power of one design with its binomial interval
(:class:`PowerResult`), a curve over the number of levels of a grouping factor
(:class:`PowerCurve`), and the designs of such a curve (:func:`extend`, simr's ``extend``).

Also what the simulations of lmer fits (:mod:`mixedmodels.replicates.power`) and glmer fits
(:mod:`mixedmodels.replicates.glmm_power`) share to get there: the checks of the arguments
(:func:`check_common`, :func:`term_columns`), the fit on an extended design
(:func:`extended_fit`), the likelihood-ratio test's refits (:class:`LrtRefits`), the p-values of
the replicates (:func:`replicate_pvalues`) and the result or curve made from them
(:func:`power_by_simulation`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from .driver import CHUNK, run_replicates

__all__ = [
    "PowerCurve",
    "PowerResult",
    "LrtRefits",
    "check_common",
    "clopper_pearson",
    "extended_fit",
    "failed_status",
    "extend",
    "power_by_simulation",
    "replicate_pvalues",
    "term_columns",
]

_TEST_NAMES = {
    "lrt": "likelihood-ratio test",
    "satterthwaite": "t test, Satterthwaite df",
    "kr": "t test, Kenward-Roger",
    "z": "Wald z test",
}


# --------------------------------------------------------------------------- results
def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval of a proportion (Clopper-Pearson, as R's binom.test).

    Parameters
    ----------
    successes, trials : int
        Counts (``0 <= successes <= trials``).
    level : float
        Coverage.

    Returns
    -------
    tuple of float
        Lower and upper bound (NaN for no trials).
    """
    if trials == 0:
        return math.nan, math.nan
    a = (1 - level) / 2
    lower = 0.0 if successes == 0 else float(stats.beta.ppf(a, successes, trials - successes + 1))
    upper = 1.0 if successes == trials else float(stats.beta.ppf(1 - a, successes + 1, trials - successes))
    return lower, upper


@dataclass(frozen=True, eq=False)
class PowerResult:
    """Simulated power of a test of one fixed effect.

    Attributes
    ----------
    term : str
        The coefficient tested, or a term of the formula with several columns (a factor).
    effect : float or tuple of float
        Its value in the simulations (one per column of a term with several).
    test : str
        "lrt", "satterthwaite", "kr" or (a glmer fit's Wald test) "z".
    alpha : float
        Significance level.
    pvalues : ndarray
        One per replicate (NaN where the refit failed).
    status : ndarray of str, optional
        Per replicate (a glmer fit's): "ok", "singular", "separated" (some fixed effect's
        estimate is infinite: :mod:`mixedmodels.numerics.separation`) or "failed".
    seed : object
        The seed given.
    """

    term: str
    effect: float | tuple[float, ...]
    test: str
    alpha: float
    pvalues: np.ndarray
    seed: object = None
    status: np.ndarray | None = None

    @property
    def nsim(self) -> int:
        return len(self.pvalues)

    @cached_property
    def n_failed(self) -> int:
        """Replicates whose refit failed (left out of the power)."""
        return int(np.isnan(self.pvalues).sum())

    @cached_property
    def n_separated(self) -> int:
        """Replicates whose refit has separated fixed effects (kept in the power: the test is
        still computed, but a Wald test of a separated coefficient is meaningless)."""
        return 0 if self.status is None else int(np.sum(self.status == "separated"))

    @cached_property
    def n_singular(self) -> int:
        """Replicates whose refit has a variance component estimated at 0."""
        return 0 if self.status is None else int(np.sum(self.status == "singular"))

    @cached_property
    def successes(self) -> int:
        """Replicates with ``p < alpha``."""
        return int(np.sum(self.pvalues[~np.isnan(self.pvalues)] < self.alpha))

    @property
    def power(self) -> float:
        """Share of the refitted replicates with ``p < alpha``."""
        trials = self.nsim - self.n_failed
        return self.successes / trials if trials else math.nan

    @property
    def ci(self) -> tuple[float, float]:
        """95% Clopper-Pearson interval of the power."""
        return clopper_pearson(self.successes, self.nsim - self.n_failed)

    def _lines(self) -> list[str]:
        test = _TEST_NAMES[self.test]
        lo, hi = self.ci
        return [
            f"Power for {self.term!r} = {_effect_text(self.effect)} ({test}, alpha = {self.alpha:g}):",
            f"{100 * self.power:.2f}% (95% CI {100 * lo:.2f}, {100 * hi:.2f}; Clopper-Pearson)",
            f"{self.successes} of {self.nsim - self.n_failed} replicates significant, "
            f"{self.n_failed} failed refits"
            + (
                f", {self.n_singular} singular, {self.n_separated} separated (infinite estimates)"
                if self.status is not None
                else ""
            ),
        ]

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        from ..report.rformat import html_block, html_lines

        return html_block([html_lines(self._lines())])


@dataclass(frozen=True, eq=False)
class PowerCurve:
    """Simulated power over the number of levels of a grouping factor (simr's ``powerCurve``).

    Attributes
    ----------
    along : str
        The grouping factor.
    sizes : tuple of int
        Its numbers of levels.
    results : tuple of PowerResult
        The power at each size.
    """

    along: str
    sizes: tuple[int, ...]
    results: tuple[PowerResult, ...]

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per size: power, its 95% interval, replicates and failed refits (and for a
        glmer fit the singular and separated ones)."""
        rows = []
        for r in self.results:
            row = {"power": r.power, "lower": r.ci[0], "upper": r.ci[1], "nsim": r.nsim}
            row["n_failed"] = r.n_failed
            if r.status is not None:
                row.update(n_singular=r.n_singular, n_separated=r.n_separated)
            rows.append(row)
        return pd.DataFrame(rows, index=pd.Index(self.sizes, name=self.along))

    def plot(self, ax=None):
        """Power against size with its 95% intervals, lines at ``alpha`` and 80%."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t = self.table
        err = np.vstack([t["power"] - t["lower"], t["upper"] - t["power"]])
        ax.errorbar(t.index, t["power"], yerr=err, marker="o", capsize=3)
        ax.axhline(0.8, color="grey", linestyle="--", linewidth=1, label="80%")
        ax.axhline(self.results[0].alpha, color="grey", linestyle=":", linewidth=1, label="alpha")
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"levels of {self.along}")
        ax.set_ylabel(f"power for {self.results[0].term!r}")
        ax.legend(loc="lower right")
        return ax.figure

    def __str__(self) -> str:
        first = self.results[0]
        effect = _effect_text(first.effect)
        head = f"Power curve for {first.term!r} = {effect} along {self.along!r} ({first.test})"
        return "\n".join([head, self.table.to_string()])

    def _repr_html_(self) -> str:
        from ..report.rformat import html_block, html_frame, html_lines

        first = self.results[0]
        return html_block(
            [html_lines([f"Power curve for {first.term!r} along {self.along!r}"]), html_frame(self.table)]
        )


def extend(data: pd.DataFrame, along: str, size: int) -> pd.DataFrame:
    """``data`` with ``size`` levels of ``along``, as simr's ``extend``.

    Parameters
    ----------
    data : DataFrame
        The fit's data.
    along : str
        A column: the grouping factor.
    size : int
        Its number of levels in the result: fewer than in ``data`` keeps the rows of the first
        levels (in order of appearance); more adds copies of the levels' rows, in turn, each
        copy a new level (``"<level>.<copy>"``).

    Returns
    -------
    DataFrame
    """
    if along not in data.columns:
        raise ValueError(f"along={along!r} is not a column of the fit's data")
    if size < 1:
        raise ValueError(f"sizes must be at least 1, not {size}")
    levels = pd.unique(data[along].dropna())
    if size <= len(levels):
        return data[data[along].isin(levels[:size])].reset_index(drop=True)
    parts = []
    for i in range(size):
        level, copy = levels[i % len(levels)], i // len(levels)
        rows = data[data[along] == level].copy()
        rows[along] = f"{level}" if copy == 0 else f"{level}.{copy}"
        parts.append(rows)
    return pd.concat(parts, ignore_index=True)


class LrtRefits:
    """p-values of a likelihood-ratio test of ``df`` columns: the full and the reduced model
    (``models``) refitted to each replicate. A subclass gives :meth:`criterion`, each model's
    ``-2 log L`` per replicate (up to a constant the two models share)."""

    def __init__(self, models: tuple, df: int):
        self.models, self.df = models, df

    def chunk_size(self) -> int:
        return min(m.chunk_size() for m in self.models)

    def bytes_per_replicate(self) -> float:
        return max(m.bytes_per_replicate() for m in self.models)

    def criterion(self, model, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``model``'s criterion of each replicate (a column of ``Y``) and which refits failed."""
        raise NotImplementedError

    def run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        (full, failed_full), (reduced, failed_reduced) = (self.criterion(m, Y) for m in self.models)
        chisq = np.maximum(reduced - full, 0.0)
        failed = failed_full | failed_reduced | ~np.isfinite(chisq)
        p = np.where(failed, np.nan, stats.chi2.sf(chisq, self.df))
        return p[:, None], failed_status(p), None


def failed_status(p: np.ndarray) -> np.ndarray:
    """A replicate's status from its p-value: "failed" where it is NaN."""
    return np.where(np.isnan(p), "failed", "ok")


def _effect_text(effect: float | tuple[float, ...]) -> str:
    return f"{effect:g}" if isinstance(effect, float) else "(" + ", ".join(f"{v:g}" for v in effect) + ")"


def check_common(nsim: int, alpha: float) -> None:
    """Refuse a number of replicates or a significance level that makes no sense."""
    if nsim < 1:
        raise ValueError(f"nsim must be at least 1, not {nsim}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")


def term_columns(
    fit, term: str, effect, several: bool = True
) -> tuple[list[int], np.ndarray, float | tuple[float, ...]]:
    """The columns of ``X`` that ``term`` names (a coefficient, or a term of the formula such as
    a factor, with all its columns), their values in the simulations, and the effect as a
    result records it (a float, or a tuple for several columns). ``several``: whether the test
    takes a term of several columns (the likelihood-ratio test does; a t or z test does not)."""
    names = list(fit.fixef_names)
    if term in names:
        cols = [names.index(term)]
    else:
        spec = fit.design.xspec
        terms = [spec.terms[spec.names.index(n)] for n in names] if spec is not None else []
        cols = [i for i, t in enumerate(terms) if t == term]
        if not cols:
            choices = list(dict.fromkeys([*names, *terms]))
            raise ValueError(f"term must be a fixed effect or a term of the formula {choices}, not {term!r}")
    columns = [names[i] for i in cols]
    if len(cols) > 1 and not several:
        raise ValueError(f"{term!r} has {len(cols)} columns {columns}: test it as a whole with test='lrt'")
    if isinstance(effect, dict):
        if sorted(effect) != sorted(columns):
            raise ValueError(f"effect must give the columns of {term!r}: {columns}, not {sorted(effect)}")
        effect = [effect[c] for c in columns]
    values = np.atleast_1d(np.asarray(effect, dtype=float))
    if values.shape != (len(cols),) or not np.all(np.isfinite(values)):
        raise ValueError(
            f"effect must be {len(cols)} finite number(s), one per column of {term!r} {columns}, "
            f"not {effect!r}"
        )
    recorded = float(values[0]) if len(cols) == 1 else tuple(float(v) for v in values)
    return cols, values, recorded


def power_by_simulation(term: str, effect, test: str, alpha: float, seed, along, sizes, pvalues):
    """A power result, or a curve over ``sizes`` levels of ``along``, from the p-values of
    simulated replicates.

    ``pvalues(size, stream)`` gives the p-values of the replicates of the design with ``size``
    levels of ``along`` (``None``: the fit's own design) drawn from the random stream
    ``stream``; each size gets its own stream spawned from ``seed``.
    """
    if (along is None) != (sizes is None):
        raise ValueError("along and sizes go together")
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)

    def result(out) -> PowerResult:  # p-values, or (p-values, status)
        p, status = out if isinstance(out, tuple) else (out, None)
        return PowerResult(term, effect, test, alpha, p, seed, status)

    if along is None:
        return result(pvalues(None, seq))
    sizes = tuple(int(s) for s in sizes)
    results = tuple(result(pvalues(size, stream)) for size, stream in zip(sizes, seq.spawn(len(sizes))))
    return PowerCurve(along, sizes, results)


def replicate_pvalues(
    engine, blocks, nsim: int, seed: np.random.SeedSequence, progress: bool, with_status: bool = False
):
    """The p-values of ``nsim`` replicates: responses from ``blocks`` (the bootstrap's simulator
    of a design), chunk by chunk from streams spawned from ``seed``, each refitted and tested by
    ``engine`` (its ``run`` gives the p-values as its first column); with ``with_status`` also
    each replicate's status, ``(pvalues, status)``."""
    values, status, _ = run_replicates(
        engine, blocks, nsim, seed, chunk=min(CHUNK, engine.chunk_size()), progress=progress, desc="power"
    )
    return (values[:, 0], status) if with_status else values[:, 0]


def extended_fit(fit, along: str | None, size: int | None):
    """The fit itself, or its model fitted (``fit.update``: family, contrasts and options kept)
    to its data with ``size`` levels of ``along`` (:func:`extend`)."""
    if along is None or size is None:
        return fit
    if fit.data is None:
        raise ValueError("power along a grouping factor needs the fit's data")
    if fit.model_args and any(v is not None for v in fit.model_args.values()):
        raise NotImplementedError("power along a grouping factor is not available with weights= or offset=")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        extended = fit.update(data=extend(fit.data, along, int(size)))
    if extended.fixef_names != fit.fixef_names:
        raise ValueError(
            f"with {size} levels of {along!r} the fixed effects change: {list(extended.fixef_names)}"
        )
    return extended
