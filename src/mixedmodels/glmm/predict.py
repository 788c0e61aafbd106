"""Predictions and simulations of a glmer fit.

``predict`` is lme4's ``predict.merMod``: the linear predictor ``eta = o + X beta + sum z b`` of
the chosen random-effects terms (:mod:`mixedmodels.lmm.predict`'s ``re_form`` and
``allow_new_levels``), on the link scale or, ``type="response"``, through the inverse link (and the
family's :meth:`~mixedmodels.families.Family.response_mean`: a truncated family's mean of the
response). With glmmTMB's zero-inflation and dispersion models (``zeta = X_z beta_z``,
``pi = logistic(zeta)``, ``log phi = X_d beta_d``, :mod:`mixedmodels.glmm.auxiliary`) the types are
glmmTMB 1.1.5's ``predict.glmmTMB``:

- ``"link"``: ``eta``, the conditional model's linear predictor;
- ``"conditional"``: the conditional family's mean of the response, ``m = g^{-1}(eta)`` (a
  hurdle's count part: the truncated mean);
- ``"response"``: ``E[y] = (1 - pi) m`` (``m`` without a zero-inflation model; glmmTMB's fitted);
- ``"zprob"``: ``pi`` (0 without a zero-inflation model), ``"zlink"``: ``zeta`` (``-inf``);
- ``"disp"``: the family's dispersion per row as glmmTMB's ``sigma()`` gives it (a negative
  binomial's size, a Gaussian's standard deviation; 1 for the binomial and the Poisson).

For new data the auxiliary models' matrices are built from its columns; rows missing a variable of
an auxiliary model are dropped (as the fit drops them), from every type alike.

``simulate`` draws responses from the fitted model: with ``use_u`` at the conditional modes,
otherwise with new spherical random effects ``u ~ N(0, I)`` (``b = Lambda u``) per replicate,
then the family's draws (:meth:`~mixedmodels.families.Family.draw`): a binomial response as
successes out of the model's trials (a proportion response as the proportion, NaN where a row
has no trials, as R's ``rbinom(...) / wts``), a Poisson response as counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from ..base.seeds import as_generator
from ..families import Family
from ..families.zero_inflated import zero_augmented
from ..formula.design import formula_variables
from ..formula.frames import as_pandas, check_frame
from ..formula.terms import cbind_arguments, parse_formula
from ..lmm.predict import new_frame, predict_lmer
from .auxiliary import auxiliary_rows

if TYPE_CHECKING:
    from .fit import GlmerFit

__all__ = ["TYPES", "predict_glmer", "simulate_glmer"]


TYPES = ("link", "response", "conditional", "zprob", "zlink", "disp")


def predict_glmer(fit: GlmerFit, newdata, type: str, re_form, allow_new_levels: bool) -> pd.Series:
    """Predictions of the given ``type`` (see the module) for the fit's rows or ``newdata``."""
    if type not in TYPES:
        raise ValueError(f"type must be one of {', '.join(map(repr, TYPES))}, not {type!r}")
    aux = fit.model.aux
    if newdata is not None and aux is not None:
        newdata = _complete_rows(fit, newdata)
    eta = predict_lmer(fit, newdata, re_form, allow_new_levels)  # type: ignore[arg-type]  # same fields
    if type == "link":
        return eta
    fam, zeta = _family_for(fit, newdata)
    n = len(eta)
    if type == "zlink":
        values = np.full(n, -np.inf) if zeta is None else zeta
    elif type == "zprob":
        values = np.zeros(n) if zeta is None else special.expit(zeta)
    elif type == "disp":
        values = np.broadcast_to(np.asarray(fam.conditional.sigma, dtype=float), (n,)).copy()
    else:
        mu = fam.linkinv(eta.to_numpy())
        values = (fam if type == "response" else fam.conditional).response_mean(mu)
    return pd.Series(values, index=eta.index, name="predicted")


def _auxiliary_formulas(fit: GlmerFit) -> dict[str, str]:
    aux = fit.model.aux
    parts = [] if aux is None else [aux.zi, aux.disp]
    return {part.kind: part.formula for part in parts if part is not None}


def _complete_rows(fit: GlmerFit, newdata) -> pd.DataFrame:
    """``newdata`` (pandas) without the rows missing a variable of an auxiliary model."""
    check_frame(newdata, "newdata")
    return auxiliary_rows(as_pandas(newdata, what="newdata"), _auxiliary_formulas(fit), "omit")


def _family_for(fit: GlmerFit, newdata) -> tuple[Family, np.ndarray | None]:
    """The family at the rows predicted (the fit's, or ``newdata``'s: its dispersion and
    zero-inflation models evaluated there) and the zero-inflation linear predictor ``zeta``
    there (None without a zero-inflation model)."""
    aux = fit.model.aux
    if aux is None:
        return fit.family, None
    if newdata is None:
        zeta = None if aux.zi is None or fit.zi is None else aux.zi.X @ fit.zi.estimates
        return fit.family, zeta
    variables: set[str] = set()
    for part in (aux.zi, aux.disp):
        if part is not None:
            variables |= formula_variables(part.formula.strip().lstrip("~"))
    frame = new_frame(fit, newdata, variables) if variables else pd.DataFrame(index=newdata.index)  # type: ignore[arg-type]
    base = fit.family.conditional
    if aux.disp is not None and fit.disp is not None:
        base = base.with_parameter(np.exp(aux.disp.matrix(frame) @ fit.disp.estimates))
    if aux.zi is None or fit.zi is None:
        return base, None
    zeta = aux.zi.matrix(frame) @ fit.zi.estimates
    return zero_augmented(base, zeta), zeta


def simulate_glmer(fit: GlmerFit, nsim: int, use_u: bool, seed) -> pd.DataFrame:
    """``nsim`` simulated responses, one column each (see the module)."""
    rng = as_generator(seed)
    m = fit.model
    fixed = m.offset + m.X @ fit.beta
    ZL = m.z_matrix() @ m.lambda_matrix(fit.theta)
    q = ZL.shape[1]
    out = np.empty((m.n, int(nsim)))
    cbind = cbind_arguments(parse_formula(fit.formula).response) is not None
    trials = np.round(m.weights).astype(np.int64) if np.any(m.weights > 1) else np.ones(m.n, dtype=np.int64)
    for j in range(int(nsim)):
        u = fit.optimum.state.u if use_u else rng.standard_normal(q)
        mu = m.fam.linkinv(fixed + ZL @ u)
        k = m.fam.draw(mu, trials, rng)
        out[:, j] = k if cbind else m.fam.draws_as_response(k, trials, empty=np.nan)
    return pd.DataFrame(out, index=fit.design.row_index, columns=[f"sim_{i + 1}" for i in range(int(nsim))])
