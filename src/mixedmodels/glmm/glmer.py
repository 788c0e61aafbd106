"""``glmer()``: a generalized linear mixed model, as lme4's ``glmer``.

formula -> response and design (:mod:`~mixedmodels.families.response`, as ``mm.glm`` reads them)
-> PIRLS (:mod:`~mixedmodels.glmm.pirls`) -> optimum (:mod:`~mixedmodels.glmm.engine`) ->
:class:`~mixedmodels.glmm.fit.GlmerFit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from ..base.messages import warn
from ..families import Family, Initialized
from ..families import family as make_family
from ..families.response import degenerate_response, response_design
from ..formula.design import DataError
from ..formula.frames import as_pandas, check_frame, is_dask_frame
from ..formula.rsyntax import r_keywords
from ..formula.terms import FormulaError, cbind_arguments, parse_formula
from ..lmm.engine import aliased_notes
from ..numerics.memory import check_glmm_memory
from .engine import fit_glmm
from .fit import GlmerFit
from .laplace_ml import fit_laplace_ml, fits_ml
from .pirls import GlmmModel
from .prior import fit_glmm_prior, prior_sd
from .restarts import checked_glmm
from .separated import fit_separated, model_separation

__all__ = ["glmer"]

FITTED_EPS = 10 * np.finfo(float).eps  # a fitted probability this close to 0 or 1 is reported


@r_keywords
def glmer(
    formula: str,
    data: pd.DataFrame,
    family: str | Family = "binomial",
    link: str | None = None,
    nagq: int = 1,
    weights: str | np.ndarray | None = None,
    offset: str | np.ndarray | None = None,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "omit",
    memory_limit: float | None = None,
    fixef_prior=None,
    laplace: str | None = None,
) -> GlmerFit:
    """Fit a generalized linear mixed model by maximum likelihood, as lme4's ``glmer``.

    Parameters
    ----------
    formula : str
        An lme4 formula; a binomial response may be ``cbind(successes, failures)``, 0/1, a
        proportion (with ``weights`` the trials), booleans or a two-level factor (first level
        failure). ``offset(expr)`` terms are allowed in the fixed part.
    data : pandas.DataFrame
        Not modified. (A Dask DataFrame is refused for now.)
    family : str or Family
        "binomial" or "poisson", or a :class:`~mixedmodels.families.Family` object (one's own
        subclass too, with a fixed dispersion).
    link : str, optional
        binomial: logit (default), probit, cloglog, cauchit, log; poisson: log (default), sqrt
        (the identity link is refused for now: NotImplementedError).
    nagq : int
        1: the Laplace approximation; > 1: adaptive Gauss-Hermite quadrature with that many
        nodes (one scalar random-effects term only, as lme4); 0: the fixed effects estimated
        inside PIRLS, only ``theta`` optimized (lme4's nAGQ = 0).
    weights : str or array, optional
        Prior weights (for a proportion, the numbers of trials).
    offset : str or array, optional
        A known part of the linear predictor, added to the formula's ``offset()`` terms.
    contrasts, na_action
        As for :func:`mixedmodels.lmer`.
    memory_limit : float, optional
        Bytes the penalized least-squares system may take (default
        ``mixedmodels.options.memory_limit``, 8 GiB): a larger model (crossed factors with
        many levels) is refused with MemoryError before it is built, as by ``lmer``.
    fixef_prior : float, sequence or dict, optional
        A weakly penalized fit: independent normal priors ``N(0, sd^2)`` on the fixed effects
        (one ``sd`` for all, one per coefficient, or ``{name: sd}``), their ``beta^2 / sd^2``
        added to the criterion, as blme's ``bglmer(fixef.prior = normal(sd = ...))``: finite
        estimates where the data separate a coefficient (:mod:`mixedmodels.glmm.prior`; nagq
        >= 1). Without it, separated coefficients are named in a warning, listed in
        ``fit.separation``, and held at a stated bound (:mod:`mixedmodels.numerics.separation`).
    laplace : {"expected", "observed"}, optional
        The information whose log determinant the Laplace approximation takes (and PIRLS's
        working weights): ``"expected"`` (Fisher's, lme4's) or ``"observed"`` (the Hessian,
        glmmTMB's). They differ for a link that is not canonical. By default lme4's for the
        families lme4's ``glmer`` fits (binomial, Poisson, a negative binomial of given size),
        so that every number is lme4's, and glmmTMB's for the others (``nbinom2`` and the
        families with a parameter beyond the mean), so that every number is glmmTMB's.

    Returns
    -------
    GlmerFit
    """
    if is_dask_frame(data):
        raise TypeError("glmer does not take a Dask DataFrame yet: compute() it to pandas first")
    check_frame(data)
    data = as_pandas(data, lambda schema: list(schema.columns))  # a polars frame, as glm reads it
    fam = make_family(family, link)
    if fam.glmm_refusal is not None:
        raise NotImplementedError(fam.glmm_refusal)
    fam = _with_laplace(fam, laplace)
    nagq = _check_nagq(nagq)
    if nagq != 1 and _fits_ml(fam):
        raise ValueError(
            f"nagq = {nagq} is lme4's for its families with the expected information; the "
            f"{fam.name} family (laplace='observed', or a parameter to estimate) is fitted by "
            "the Laplace approximation (nagq = 1), as glmmTMB fits it"
        )
    parsed = parse_formula(formula)
    if not parsed.random:
        raise FormulaError(
            formula,
            len(formula),
            "no random-effects terms such as (1 | g): use a GLM for a fixed-effects model",
        )
    design, init = response_design(
        parsed, data, fam, contrasts=contrasts, na_action=na_action, weights=weights, offset=offset,
        residual=False,
    )  # fmt: skip
    if nagq > 1 and (len(design.reterms) != 1 or design.reterms[0].k != 1):
        raise ValueError("nagq > 1 is only available for models with a single, scalar random-effects term")
    _refuse_constant(fam, init, design.response)
    check_glmm_memory(design.reterms, design.X.shape[1], memory_limit)
    n = len(init.y)
    offset_values = np.zeros(n) if design.offset is None else np.asarray(design.offset, dtype=float)
    model = GlmmModel(fam, init.y, design.X, design.reterms, init.weights, offset_values, init.trials)
    if model.p >= n:
        raise DataError(f"{model.p} fixed effects for {n} observations: the model cannot be estimated")
    sd = prior_sd(fixef_prior, design.fixef_names)
    optimum, model, sep, sep_notes = _optimum(model, nagq, design.fixef_names, sd, init.mustart, check=True)
    notes = aliased_notes(design.aliased) + sep_notes + _notes(model, optimum, sep is not None)
    fit = GlmerFit(
        formula=formula, family=model.fam, nagq=nagq, design=design, model=model, optimum=optimum,
        messages=tuple(notes), data=data, model_args={"weights": weights, "offset": offset},
        contrasts=contrasts, na_action=na_action, separation=sep, fixef_prior=sd,
    )  # fmt: skip
    for note in notes:
        warn(note)
    return fit


def refit_glmer(fit: GlmerFit, newresponse) -> GlmerFit:
    """:meth:`GlmerFit.refit`: the model of ``fit`` fitted to ``newresponse``."""
    model = fit.model.with_response(_new_response(fit, newresponse))
    _refuse_constant(fit.family, model, "newresponse")
    optimum, model, sep, sep_notes = _optimum(model, fit.nagq, fit.design.fixef_names, fit.fixef_prior)
    notes = sep_notes + _notes(model, optimum, sep is not None)
    for note in notes:
        warn(note)
    return replace(
        fit, family=model.fam, model=model, optimum=optimum, messages=tuple(aliased_notes(fit.design.aliased) + notes),
        separation=sep,
    )  # fmt: skip


def _optimum(
    model: GlmmModel,
    nagq: int,
    names,
    sd: np.ndarray | None,
    mustart: np.ndarray | None = None,
    check: bool = False,
):
    """The optimum, the model there (its family at the estimated parameter), the separation of
    the fixed effects (or None) and its notes: for a family fitted as glmmTMB fits it, the
    maximum of the Laplace likelihood over every parameter (:mod:`~mixedmodels.glmm.laplace_ml`);
    with a prior, the penalized fit (:mod:`~mixedmodels.glmm.prior`); else separated
    coefficients held at the stated bound (:mod:`~mixedmodels.glmm.separated`); else the fit,
    with ``check`` its convergence check and the restarts it calls for
    (:func:`~mixedmodels.glmm.restarts.checked_glmm`)."""
    if _fits_ml(model.fam):
        if sd is not None:
            raise NotImplementedError(f"fixef_prior is not available for the {model.fam.name} family yet")
        optimum, at = fit_laplace_ml(model, mustart)
        return optimum, at, None, []
    optimum, sep, notes = _optimum_lme4(model, nagq, names, sd, mustart, check)
    return optimum, model, sep, notes


def _optimum_lme4(model: GlmmModel, nagq: int, names, sd, mustart, check: bool):
    """:func:`_optimum` for lme4's families and information."""
    sep = model_separation(model, names)
    if sd is not None:
        notes = []
        if sep is not None:
            notes.append(
                f"{', '.join(sep.coefficients)}: separated in the data ({sep.kind}): "
                "finite only through fixef_prior, which then determines the estimate"
            )
        return fit_glmm_prior(model, nagq, sd, mustart), sep, notes
    if sep is None:
        optimum = fit_glmm(model, nagq, mustart)
        if not check:
            return optimum, None, []
        optimum, restart_notes = checked_glmm(model, nagq, optimum, names)
        return optimum, None, restart_notes
    optimum, note = fit_separated(model, nagq, sep, mustart)
    return optimum, sep, [note]


def _fits_ml(fam: Family) -> bool:
    """Whether the family is fitted glmmTMB's way (:mod:`~mixedmodels.glmm.laplace_ml`): it
    estimates a parameter, or takes the observed information."""
    return fits_ml(fam)


def _with_laplace(fam: Family, laplace: str | None) -> Family:
    """The family with the information ``laplace`` asks for (its default when None)."""
    information = fam.default_information if laplace is None else laplace
    if information == "expected" and fam.estimates_parameter:
        raise NotImplementedError(
            f"laplace='expected' with the {fam.name} family's parameter estimated is lme4's "
            "glmer.nb: use mm.glmer_nb"
        )
    if information == ("observed" if fam.observed_information else "expected"):
        return fam
    return fam.with_information(information)


def _new_response(fit: GlmerFit, newresponse) -> np.ndarray:
    """The new response on the model's scale (a binomial one as proportions of the trials)."""
    m = fit.model
    y = np.asarray(newresponse, dtype=float).ravel()
    if y.shape != m.y.shape or not np.isfinite(y).all():
        raise ValueError(
            f"the new response must be {m.n} finite numbers (one per row of the fit), got {y.shape}"
        )
    cbind = cbind_arguments(parse_formula(fit.formula).response) is not None
    return m.fam.new_response(y, m.weights, cbind)


def _refuse_constant(fam: Family, response: Initialized | GlmmModel, name: str) -> None:
    """Refuse a response without variation (lme4's ``check.response.not.const``): no successes
    or no failures, counts all 0 (estimates at infinity), or any other constant (nothing to model).

    ``response`` has the family's ``y``, prior ``weights`` and ``trials``."""
    degenerate = degenerate_response(fam, response, name)
    if degenerate is not None:
        raise DataError(f"{degenerate}; glmer does not fit it (lme4: 'Response is constant')")
    y = response.y[response.weights > 0]
    if len(y) and np.ptp(y) == 0:
        value = fam.describe_value(y[0])
        raise DataError(
            f"the response {name!r} is constant ({value} in all {len(y)} rows): there is no "
            "variation to model (lme4: 'Response is constant')"
        )


def _check_nagq(nagq) -> int:
    if isinstance(nagq, bool) or not isinstance(nagq, (int, np.integer)) or nagq < 0:
        raise ValueError(f"nagq must be a non-negative integer, not {nagq!r}")
    if nagq > 100:
        raise ValueError("nagq must be at most 100 (lme4's limit)")
    return int(nagq)


def _notes(model: GlmmModel, optimum, separated: bool = False) -> list[str]:
    """The fit's warnings (the 0/1 note left out where separation was named: it is its cause)."""
    notes = []
    opt = optimum.opt
    if not opt.converged:
        notes.append(f"the optimizer did not converge ({opt.return_value})")
    notes.extend(optimum.notes)
    theta = opt.theta[: model.layout.ntheta]
    if model.layout.singular(theta):
        notes.append("boundary (singular) fit: a random-effect variance or correlation is on its boundary")
    boundary = None if separated else model.fam.glmm_boundary_note(optimum.state.mu, FITTED_EPS)
    if boundary is not None:
        notes.append(boundary)
    return notes
