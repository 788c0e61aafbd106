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
from ..families import Family, glmmtmb_family
from ..families import family as make_family
from ..families.zero_inflated import zero_augmented
from ..formula.rsyntax import r_keywords
from ..formula.terms import cbind_arguments, parse_formula
from ..lmm.engine import aliased_notes
from .auxiliary import any_auxiliary, auxiliary_model, auxiliary_rows
from .fit import GlmerFit
from .glmer_nb import fit_alternating
from .glmer_steps import check_nagq as _check_nagq
from .glmer_steps import glmer_frame, glmer_model
from .glmer_steps import glmer_optimum as _optimum
from .glmer_steps import optimum_notes as _notes
from .glmer_steps import refuse_constant as _refuse_constant
from .laplace_ml import fits_ml as _fits_ml
from .prior import prior_sd

__all__ = ["glmer"]


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
    ziformula: str | None = None,
    dispformula: str | None = None,
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
        lme4's "binomial" or "poisson", or glmmTMB's "nbinom2" (also "negative_binomial"),
        "nbinom1", "Gamma", "beta" (also "beta_family"), "truncated_poisson",
        "truncated_nbinom2" or "gaussian" (with the log or inverse link), whose parameter beyond
        the mean is estimated with the rest (:func:`mixedmodels.families.family`); or a
        :class:`~mixedmodels.families.Family` object (one's own subclass too; a family with its
        parameter given holds it).
    link : str, optional
        The family's links (:func:`mixedmodels.families.family`): binomial: logit (default),
        probit, cloglog, cauchit, log; poisson: log (default), sqrt (the identity link is refused
        for now: NotImplementedError); Gamma: inverse (default), log, identity; ...
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
        ``"expected"`` with a parameter to estimate (``family="nbinom2"``) is lme4's
        ``glmer.nb``: the parameter by a 1-D search, a fit at each value held fixed
        (:func:`mixedmodels.glmer_nb`, which this then returns); refused for a family lme4 has
        no such fit of.
    ziformula : str, optional
        glmmTMB's zero-inflation model, a one-sided formula of fixed effects (``"~1"``: one
        probability; ``"~ x"``; ``"~0"`` or None: none): the probability ``pi`` of a structural
        zero by a logit-linear model, so that ``p(0) = pi + (1 - pi) f(0)``; with a truncated
        family (``"truncated_nbinom2"``, ``"truncated_poisson"``) a hurdle model, ``pi`` the
        probability of a zero (:mod:`mixedmodels.families.zero_inflated`). Fitted glmmTMB's way
        (the observed information). Its estimates are ``fit.zi``.
    dispformula : str, optional
        glmmTMB's dispersion model, a one-sided formula of fixed effects: the log of the family's
        parameter per observation (a Gaussian's variance, as nlme's ``varIdent(form = ~1 | g)``
        with ``"~ g"``; a negative binomial's size; ...). ``"~1"`` or None: one parameter. Its
        estimates are ``fit.disp``.

    Returns
    -------
    GlmerFit
    """
    data = glmer_frame(data)
    formulas = {"zi": ziformula, "disp": dispformula}
    if any_auxiliary(formulas):
        fam = glmmtmb_family(family, link)
        return _glmer_auxiliary(
            formula, data, fam, formulas, nagq=nagq, weights=weights, offset=offset, contrasts=contrasts,
            na_action=na_action, memory_limit=memory_limit, fixef_prior=fixef_prior, laplace=laplace,
        )  # fmt: skip
    fam = make_family(family, link)
    if fam.glmm_refusal is not None:
        raise NotImplementedError(fam.glmm_refusal)
    if fam.estimates_parameter and (laplace or fam.default_information) == "expected":  # glmer.nb
        if fixef_prior is not None:
            raise NotImplementedError(f"fixef_prior is not available for the {fam.name} family yet")
        return fit_alternating(
            formula, data, fam, nagq=nagq, weights=weights, offset=offset, contrasts=contrasts,
            na_action=na_action, memory_limit=memory_limit,
        )  # fmt: skip
    fam = _with_laplace(fam, laplace)
    nagq = _check_nagq(nagq)
    if nagq != 1 and _fits_ml(fam):
        raise ValueError(
            f"nagq = {nagq} is lme4's for its families with the expected information; the "
            f"{fam.name} family (laplace='observed', or a parameter to estimate) is fitted by "
            "the Laplace approximation (nagq = 1), as glmmTMB fits it"
        )
    design, init, model = glmer_model(
        formula, data, fam, nagq, weights, offset, contrasts, na_action, memory_limit
    )
    sd = prior_sd(fixef_prior, design.fixef_names)
    model_args = {"weights": weights, "offset": offset}
    return _fitted(formula, data, design, model, init.mustart, nagq, sd, model_args, contrasts, na_action)


def _fitted(formula, data, design, model, mustart, nagq, sd, model_args, contrasts, na_action) -> GlmerFit:
    """The fit of ``model`` at its optimum, with the notes of the optimum (warned)."""
    optimum, model, sep, sep_notes = _optimum(model, nagq, design.fixef_names, sd, mustart, check=True)
    notes = aliased_notes(design.aliased) + sep_notes + _notes(model, optimum, sep is not None)
    fit = GlmerFit(
        formula=formula, family=model.fam, nagq=nagq, design=design, model=model, optimum=optimum,
        messages=tuple(notes), data=data, model_args=model_args, contrasts=contrasts,
        na_action=na_action, separation=sep, fixef_prior=sd,
    )  # fmt: skip
    for note in notes:
        warn(note)
    return fit


def _glmer_auxiliary(
    formula,
    data,
    fam,
    formulas,
    *,
    nagq,
    weights,
    offset,
    contrasts,
    na_action,
    memory_limit,
    fixef_prior,
    laplace,
) -> GlmerFit:
    """:func:`glmer` with a zero-inflation or dispersion model (:mod:`~mixedmodels.glmm.auxiliary`),
    fitted as glmmTMB fits it."""
    if laplace == "expected":
        raise ValueError(
            "laplace='expected' is not available with ziformula or dispformula: such a model is fitted "
            "glmmTMB's way, with the observed information (laplace='observed', the default there)"
        )
    if _check_nagq(nagq) != 1:
        raise ValueError(
            f"nagq={nagq} is not available with ziformula or dispformula: such a model is fitted by the "
            "Laplace approximation (nagq=1), as glmmTMB fits it"
        )
    if fixef_prior is not None:
        raise NotImplementedError("fixef_prior is not available with ziformula or dispformula yet")
    if formulas["disp"] is not None or (fam.parameter_name is not None and fam.parameter is None):
        fam = fam.estimating()  # glmmTMB estimates a parameter that is not given
    if fam.glmm_refusal is not None:
        raise NotImplementedError(fam.glmm_refusal)
    fam = fam.with_information("observed")
    reading = zero_augmented(fam, 0.0) if any_auxiliary({"zi": formulas["zi"]}) else fam
    given = len(data)
    data = auxiliary_rows(data if data.index.is_unique else data.reset_index(drop=True), formulas, na_action)
    design, init, model = glmer_model(
        formula, data, reading, 1, weights, offset, contrasts, na_action, memory_limit
    )
    if len(data) < given:  # the rows with missing values in the auxiliary models' variables
        design = replace(design, dropped_rows=design.dropped_rows + given - len(data))
    aux = auxiliary_model(formulas["zi"], formulas["disp"], data, design.row_index, fam, contrasts)
    if aux is not None and aux.zi is not None and fam.takes_trials:
        aux = replace(aux, trials=_zero_inflated_trials(model.trials, model.weights))
    model = replace(model, fam=fam, aux=aux)
    model_args = _model_args(weights, offset, formulas)
    return _fitted(formula, data, design, model, init.mustart, 1, None, model_args, contrasts, na_action)


def _zero_inflated_trials(trials: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The trials of a zero-inflated binomial's rows, in ``p(0) = pi + (1 - pi)(1 - mu)^n``: those
    of ``cbind(k, n - k)``; for a proportion or 0/1 response, its weights (glmmTMB's and lme4's
    reading of a binomial's weights: the trials)."""
    trials = np.asarray(trials, dtype=float)
    return trials if np.any(trials != 1.0) else np.asarray(weights, dtype=float)


def _model_args(weights, offset, formulas) -> dict:
    """What ``update`` passes back to :func:`glmer`: the weights, offset and auxiliary formulas."""
    zi, disp = formulas["zi"], formulas["disp"]
    return {"weights": weights, "offset": offset, "ziformula": zi, "dispformula": disp}


def refit_glmer(fit: GlmerFit, newresponse) -> GlmerFit:
    """:meth:`GlmerFit.refit`: the model of ``fit`` fitted to ``newresponse``."""
    model = fit.model.with_response(_new_response(fit, newresponse))
    _refuse_constant(fit.family, model, "newresponse")
    optimum, model, sep, sep_notes = _optimum(model, fit.nagq, fit.design.fixef_names, fit.fixef_prior)
    notes = sep_notes + _notes(model, optimum, sep is not None)
    for note in notes:
        warn(note)
    return replace(
        fit, family=model.fam, model=model, optimum=optimum,
        messages=tuple(aliased_notes(fit.design.aliased) + notes), separation=sep,
    )  # fmt: skip


def _with_laplace(fam: Family, laplace: str | None) -> Family:
    """The family with the information ``laplace`` asks for (its default when None)."""
    information = fam.default_information if laplace is None else laplace
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
