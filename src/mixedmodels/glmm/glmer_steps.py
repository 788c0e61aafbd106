"""The steps of a glmer fit that :func:`~mixedmodels.glmm.glmer.glmer` and
:func:`~mixedmodels.glmm.glmer_nb.glmer_nb` share: the data frame, the model from the formula
(with its checks), the optimum by the engine that suits the family, and the fit's notes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..families import Family, Initialized
from ..families.response import degenerate_response, response_design
from ..formula.design import DataError, Design
from ..formula.frames import as_pandas, check_frame, is_dask_frame
from ..formula.terms import FormulaError, parse_formula
from ..numerics.memory import check_glmm_memory
from .engine import fit_glmm
from .laplace_ml import fit_laplace_ml, fits_ml, parameter_bound_note, runaway_zero_note
from .pirls import GlmmModel
from .prior import fit_glmm_prior
from .restarts import checked_glmm, checked_laplace_ml
from .separated import fit_separated, model_separation

__all__ = [
    "check_nagq",
    "glmer_frame",
    "glmer_model",
    "glmer_optimum",
    "optimum_notes",
    "refuse_constant",
]

FITTED_EPS = 10 * np.finfo(float).eps  # a fitted probability this close to 0 or 1 is reported


def glmer_frame(data) -> pd.DataFrame:
    """The data as a pandas frame (a polars one converted, as glm reads it), checked."""
    if is_dask_frame(data):
        raise TypeError("glmer does not take a Dask DataFrame yet: compute() it to pandas first")
    check_frame(data)
    return as_pandas(data, lambda schema: list(schema.columns))


def glmer_model(
    formula: str,
    data: pd.DataFrame,
    fam: Family,
    nagq: int,
    weights,
    offset,
    contrasts,
    na_action: str,
    memory_limit: float | None,
) -> tuple[Design, Initialized, GlmmModel]:
    """The design, the family's initialized response and the :class:`GlmmModel` of a glmer fit,
    with the checks of the formula, response, quadrature and memory."""
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
    refuse_constant(fam, init, design.response)
    check_glmm_memory(design.reterms, design.X.shape[1], memory_limit)
    n = len(init.y)
    offset_values = np.zeros(n) if design.offset is None else np.asarray(design.offset, dtype=float)
    model = GlmmModel(fam, init.y, design.X, design.reterms, init.weights, offset_values, init.trials)
    if model.p >= n:
        raise DataError(f"{model.p} fixed effects for {n} observations: the model cannot be estimated")
    return design, init, model


def glmer_optimum(
    model: GlmmModel,
    nagq: int,
    names,
    sd: np.ndarray | None,
    mustart: np.ndarray | None = None,
    check: bool = False,
):
    """The optimum, the model there (its family at the estimated parameter), the separation of
    the fixed effects (or None) and its notes: for a family fitted as glmmTMB fits it, the
    maximum of the Laplace likelihood over every parameter (:mod:`~mixedmodels.glmm.laplace_ml`,
    restarted where it is singular, :func:`~mixedmodels.glmm.restarts.checked_laplace_ml`;
    noted where the family's parameter ends near its bounds);
    with a prior, the penalized fit (:mod:`~mixedmodels.glmm.prior`); else separated
    coefficients held at the stated bound (:mod:`~mixedmodels.glmm.separated`); else the fit,
    with ``check`` its convergence check and the restarts it calls for
    (:func:`~mixedmodels.glmm.restarts.checked_glmm`)."""
    if fits_ml(model.fam):
        if sd is not None:
            raise NotImplementedError(f"fixef_prior is not available for the {model.fam.name} family yet")
        optimum, at = fit_laplace_ml(model, mustart)
        optimum, at, check_notes = checked_laplace_ml(at, optimum, names, check)
        notes = [n for n in (parameter_bound_note(at.fam), runaway_zero_note(at, optimum)) if n is not None]
        return optimum, at, None, notes + check_notes
    optimum, sep, notes = _optimum_lme4(model, nagq, names, sd, mustart, check)
    return optimum, model, sep, notes


def _optimum_lme4(model: GlmmModel, nagq: int, names, sd, mustart, check: bool):
    """:func:`glmer_optimum` for lme4's families and information."""
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


def refuse_constant(fam: Family, response: Initialized | GlmmModel, name: str) -> None:
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


def check_nagq(nagq) -> int:
    if isinstance(nagq, bool) or not isinstance(nagq, (int, np.integer)) or nagq < 0:
        raise ValueError(f"nagq must be a non-negative integer, not {nagq!r}")
    if nagq > 100:
        raise ValueError("nagq must be at most 100 (lme4's limit)")
    return int(nagq)


def optimum_notes(model: GlmmModel, optimum, separated: bool = False) -> list[str]:
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
