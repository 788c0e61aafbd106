"""Power by simulation for linear mixed models, with simr's semantics (``powerSim``, ``extend``,
``powerCurve``).

Responses are simulated from the fitted model with one fixed effect set to the effect of
interest (``theta`` and ``sigma`` kept, new random effects in every replicate), the model is
refitted to each and the coefficient tested against 0:

- ``test="lrt"``: the likelihood-ratio test of the model against the model without that column
  of ``X`` (both by maximum likelihood, chi-square on 1 df). Both models are refitted for a
  whole chunk of replicates at once by the bootstrap's batched refits
  (:class:`mixedmodels.replicates.bootstrap.LmerRefits`);
- ``test="satterthwaite"``: lmerTest's t test with Satterthwaite's degrees of freedom on each
  refit (by the fit's criterion, REML or ML); the degrees of freedom of a whole chunk of refits
  come from one batched computation (:mod:`mixedmodels.replicates.many_df`);
- ``test="kr"``: the t test with Kenward-Roger's adjusted standard error and degrees of freedom
  (lmerTest's ``summary(fit, ddf = "Kenward-Roger")``, pbkrtest's numbers) on each refit, refit by
  refit; the refits are by REML whatever the fit's criterion (the method needs REML estimates).

Power is the share of replicates with ``p < alpha``, with an exact (Clopper-Pearson) binomial
confidence interval; replicates whose refit failed are left out of it and counted.

With ``along`` and ``sizes`` the design is first given that many levels of a grouping factor,
as simr's ``extend``: fewer levels keep the rows of the first levels, more levels add copies of
the existing levels' rows relabelled as new levels; the model is simulated and refitted there,
with the original fit's parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import cast

import numpy as np
from scipy import stats

from ..base.protocols import fit_of
from ..glmm.fit import GlmerFit
from ..lmm.engine import fit_model, model_pls, refit
from ..lmm.fit import LmerFit
from ..lmm.simulate import lmer_blocks
from .bootstrap import LmerRefits
from .glmm_power import glmer_power
from .many import response_estimates
from .power_results import (
    LrtRefits,
    PowerCurve,
    PowerResult,
    check_common,
    extended_fit,
    failed_status,
    power_by_simulation,
    replicate_pvalues,
    term_columns,
)

__all__ = ["PowerCurve", "PowerResult", "power"]

TESTS = ("lrt", "satterthwaite", "kr")


# --------------------------------------------------------------------------- refits
def _quiet_fit(design, formula: str, theta: np.ndarray, reml: bool) -> LmerFit:
    """The model of ``design`` fitted by ``reml``, its warnings (a singular fit) suppressed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_model(formula, design, model_pls(design), reml, start=theta)


def _without_columns(fit: LmerFit, cols: list[int], theta: np.ndarray) -> LmerFit:
    """The fit's model without columns ``cols`` of ``X``, by maximum likelihood."""
    names = tuple(n for i, n in enumerate(fit.design.fixef_names) if i not in cols)
    design = replace(fit.design, X=np.delete(fit.design.X, cols, axis=1), fixef_names=names)
    return _quiet_fit(design, fit.formula, theta, reml=False)


class _LrtRefits(LrtRefits):
    """p-values of the likelihood-ratio test of columns ``cols`` (chi-square on as many df):
    full and reduced model refitted by maximum likelihood."""

    def __init__(self, fit: LmerFit, cols: list[int], theta: np.ndarray):
        full = _quiet_fit(fit.design, fit.formula, theta, reml=False)
        reduced = _without_columns(fit, cols, theta)
        super().__init__((LmerRefits(full, None), LmerRefits(reduced, None)), len(cols))

    def criterion(self, model: LmerRefits, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The ML deviance of each response (a column of ``Y``) at its refit."""
        _, status, theta = model.run(Y)
        if model.batch is not None:
            deviance = model.batch.criterion(theta, model.batch.responses(Y))
        else:
            deviance = np.array(
                [refit(model.fit, Y[:, i], theta=theta[i]).objective for i in range(Y.shape[1])]
            )
        return deviance, status == "failed"


class _SatterthwaiteRefits:
    """p-values of the Satterthwaite t test of column ``j``: the refits, their standard errors
    and degrees of freedom batched as ``lmer_many``'s."""

    def __init__(self, fit: LmerFit, cols: list[int], theta: np.ndarray):
        base = _quiet_fit(fit.design, fit.formula, theta, reml=fit.reml)
        self.model, self.j = LmerRefits(base, None), cols[0]

    def chunk_size(self) -> int:
        return self.model.chunk_size()

    def bytes_per_replicate(self) -> float:
        return self.model.bytes_per_replicate()

    def run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        _, status, theta = self.model.run(Y)
        good = np.flatnonzero(status != "failed")
        p = np.full(len(theta), np.nan)
        if good.size:
            j = self.j
            est = response_estimates(self.model, Y[:, good], theta[good])
            p[good] = 2.0 * stats.t.sf(np.abs(est.beta[:, j] / est.se[:, j]), est.df[:, j])
        return p[:, None], failed_status(p), None


def _kr_pvalue(fit: LmerFit, j: int) -> float:
    """p-value of the Kenward-Roger t test of coefficient ``j`` (``coef_table(fit, "KR")``'s)."""
    kr = fit.kenward_roger
    t = fit.fixef.iloc[j] / kr.coefficient_se()[j]
    return float(2.0 * stats.t.sf(abs(t), kr.df_contrast(np.eye(len(fit.fixef))[j])))


class _KenwardRogerRefits(_SatterthwaiteRefits):
    """p-values of the Kenward-Roger t test of column ``j``, refit by refit (REML refits)."""

    def __init__(self, fit: LmerFit, cols: list[int], theta: np.ndarray):
        j = cols[0]
        base = _quiet_fit(fit.design, fit.formula, theta, reml=True)
        self.model, self.j = LmerRefits(base, lambda f: _kr_pvalue(f, j)), j

    def run(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, None]:
        values, status, _ = self.model.run(Y)
        failed = (status == "failed") | np.isnan(values[:, 0])
        return values, np.where(failed, "failed", "ok"), None


# --------------------------------------------------------------------------- driver
def _simulated_pvalues(
    fit: LmerFit, design_fit: LmerFit, cols: list[int], effect, test: str, nsim: int, seed, progress: bool
) -> np.ndarray:
    """p-values of ``nsim`` replicates simulated on ``design_fit``'s design with ``fit``'s
    parameters (coefficients ``cols`` set to ``effect``)."""
    beta = fit.fixef.to_numpy().copy()
    beta[cols] = effect
    params = (beta, fit.opt.theta, fit.sigma)
    makers: dict[str, type[_LrtRefits] | type[_SatterthwaiteRefits]] = {
        "lrt": _LrtRefits,
        "satterthwaite": _SatterthwaiteRefits,
        "kr": _KenwardRogerRefits,
    }
    maker = makers[test]
    engine = maker(design_fit, cols, fit.opt.theta)

    def blocks(rng, m, block):
        return lmer_blocks(design_fit, m, False, rng, block, params)

    return replicate_pvalues(engine, blocks, nsim, seed, progress)


def _check(fit: LmerFit, test: str, nsim: int, alpha: float) -> None:
    """Refuse arguments that cannot be simulated or tested."""
    if not fit_of(fit, "lmer"):
        raise TypeError(f"power needs a fit from mm.lmer, not {type(fit).__name__}")
    fit.require_rows("power")
    if test not in TESTS:
        hint = " (the z test is for glmer fits)" if test == "z" else ""
        raise ValueError(f"test must be 'lrt', 'satterthwaite' or 'kr', not {test!r}{hint}")
    check_common(nsim, alpha)


def power(
    fit: LmerFit | GlmerFit,
    term: str,
    effect,
    nsim: int = 1000,
    test: str = "lrt",
    alpha: float = 0.05,
    seed=None,
    along: str | None = None,
    sizes=None,
    progress: bool = True,
) -> PowerResult | PowerCurve:
    """Power of the test of a fixed effect by simulation, as simr's ``powerSim`` and ``powerCurve``.

    Parameters
    ----------
    fit : LmerFit or GlmerFit
        The model to simulate from: its ``theta`` and ``sigma``, its fixed effects with ``term``
        set to ``effect``, new random effects in every replicate. A glmer fit (binomial or
        Poisson) goes to :func:`mixedmodels.replicates.glmm_power.glmer_power`, with ``test`` "z" or "lrt".
    term : str
        A fixed-effect coefficient (a column name of ``X``, as in ``fit.fixef``), or a term of
        the formula with several columns (a factor such as ``"recipe"``), tested as a whole by
        the likelihood-ratio test (simr's ``fixed("recipe", "lr")``).
    effect : float, sequence or dict
        Its value in the simulations; for a term with several columns one value per column, in
        the order of ``fit.fixef`` or as a dict ``{column: value}``.
    nsim : int
        Replicates (per size with ``along``).
    test : {"lrt", "satterthwaite", "kr"}
        The likelihood-ratio test against the model without ``term``'s columns (both by ML,
        chi-square on as many df), the t test with Satterthwaite's degrees of freedom (by the
        fit's criterion), or the t test with Kenward-Roger's standard error and degrees of
        freedom (REML refits).
    alpha : float
        Significance level.
    seed : int, SeedSequence or None
        Seed of the random streams (each size of a curve gets its own stream from it).
    along : str, optional
        A grouping factor (a column of the fit's data) whose number of levels varies.
    sizes : sequence of int, optional
        Its numbers of levels (with ``along``).
    progress : bool
        Show a progress bar (only when standard error is a terminal).

    Returns
    -------
    PowerResult or PowerCurve
        A PowerResult without ``along``; a PowerCurve (one result per size) with it.
    """
    if fit_of(fit, "glmer"):  # glmer fits: test "z" or "lrt", see mixedmodels.replicates.glmm_power
        return glmer_power(cast(GlmerFit, fit), term, effect, nsim, test, alpha, seed, along, sizes, progress)
    fit = cast(LmerFit, fit)  # or refused by _check
    _check(fit, test, int(nsim), alpha)
    cols, values, recorded = term_columns(fit, term, effect, test == "lrt")

    def pvalues(size: int | None, stream: np.random.SeedSequence) -> np.ndarray:
        design = extended_fit(fit, along, size)
        return _simulated_pvalues(fit, design, cols, values, test, int(nsim), stream, progress)

    return power_by_simulation(term, recorded, test, alpha, seed, along, sizes, pvalues)
