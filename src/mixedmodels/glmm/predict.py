"""Predictions and simulations of a glmer fit.

``predict`` is lme4's ``predict.merMod``: the linear predictor ``o + X beta + sum z b`` of the
chosen random-effects terms (:mod:`mixedmodels.lmm.predict`'s ``re_form`` and
``allow_new_levels``), on the link scale or, ``type="response"``, through the inverse link (and the family's
:meth:`~mixedmodels.families.Family.response_mean`: a truncated family's mean of the response).

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

from ..base.seeds import as_generator
from ..formula.terms import cbind_arguments, parse_formula
from ..lmm.predict import predict_lmer

if TYPE_CHECKING:
    from .fit import GlmerFit

__all__ = ["predict_glmer", "simulate_glmer"]


def predict_glmer(fit: GlmerFit, newdata, type: str, re_form, allow_new_levels: bool) -> pd.Series:
    """Predictions on the link (``type="link"``) or response scale (``"response"``)."""
    if type not in ("link", "response"):
        raise ValueError(f"type must be 'link' or 'response', not {type!r}")
    eta = predict_lmer(fit, newdata, re_form, allow_new_levels)  # type: ignore[arg-type]  # same fields
    if type == "link":
        return eta
    mean = fit.family.response_mean(fit.family.linkinv(eta.to_numpy()))
    return pd.Series(mean, index=eta.index, name="predicted")


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
