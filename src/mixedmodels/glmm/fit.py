"""GlmerFit: a fitted generalized linear mixed model and what is derived from it.

The numbers follow lme4: ``loglik = -objective / 2`` with ``objective`` the criterion at the
optimum (Laplace: ``aic + |u|^2 + log|L|^2``; quadrature: lme4's AGQ deviance), ``deviance``
the sum of the deviance residuals at the conditional modes (lme4's ``deviance()``), AIC and BIC
from ``loglik`` with ``ntheta + p`` parameters (and the family's, where the fit estimates it),
Wald ``z`` tests, conditional variances of the random effects from ``(Lambda'Z'WZ Lambda +
I)^{-1}`` at the modes' Laplace weights. A fit glmmTMB's way (:attr:`GlmerFit.glmmtmb_style`:
the observed information, or the family's parameter estimated with the rest) follows glmmTMB
instead where the two differ: its summary, ``sigma``, default residuals, Wald intervals and
conditional variances (which add the estimates' uncertainty).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.protocols import MixedFit
from ..base.seeds import replicate_count
from ..families import Family
from ..formula.design import Design
from ..lmm.ranef import (
    VARCORR_COLUMNS,
    coef_tables,
    ranef_records,
    ranef_table,
    varcorr_records,
    varcorr_rows,
    varpar_names,
)
from ..numerics.convergence import ConvergenceCheck
from ..numerics.separation import Separation
from .engine import GlmmOptimum
from .laplace_ml import extra_size, model_at
from .parts import ModelPart
from .pirls import GlmmModel, ThetaState, WeightedFactor, pirls

__all__ = ["GlmerFit"]


def tmb_varpar_name(name: str) -> str:
    """glmmTMB's name of a variance parameter named as lme4 names it: ``sd_(Intercept)|site`` is
    ``Std.Dev.(Intercept)|site``, ``cor_x.(Intercept)|g`` is ``Cor.x.(Intercept)|g``."""
    kind, _, rest = name.partition("_")
    return f"Std.Dev.{rest}" if kind == "sd" else f"Cor.{rest}"


def _select(table: pd.DataFrame, parm) -> pd.DataFrame:
    """The rows ``parm`` of a confint table (all when None), unknown names refused."""
    if parm is None:
        return table
    unknown = [p for p in parm if p not in table.index]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r}; the parameters are: {', '.join(table.index)}")
    return table.loc[list(parm)]


@dataclass(frozen=True, eq=False)
class GlmerFit(MixedFit):
    """A fitted GLMM (see the module). Build it with :func:`mixedmodels.glmer`.

    The names shared by every fit type are those of :class:`mixedmodels.base.protocols.Fit`.
    """

    kind = "glmer"
    is_generalized = True
    confint_methods = ("profile", "wald", "boot")

    formula: str
    family: Family
    nagq: int
    design: Design
    model: GlmmModel
    optimum: GlmmOptimum
    messages: tuple[str, ...] = ()
    data: Any = field(default=None, repr=False)
    model_args: dict = field(default_factory=dict, repr=False)
    contrasts: Any = field(default=None, repr=False)
    na_action: str = field(default="omit", repr=False)
    separation: Separation | None = None
    fixef_prior: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------ parameters
    @property
    def parsed(self):
        """The parsed formula (its response the design's)."""
        return self.design.parsed

    @property
    def link(self) -> str:
        return self.family.link.name

    @property
    def ntheta(self) -> int:
        return self.model.layout.ntheta

    @cached_property
    def theta(self) -> np.ndarray:
        return np.array(self.optimum.opt.theta[: self.ntheta])

    @cached_property
    def beta(self) -> np.ndarray:
        return np.array(self.optimum.state.beta)

    @property
    def fixef_names(self) -> tuple[str, ...]:
        return self.design.fixef_names

    @cached_property
    def varpar_names(self) -> list[str]:
        """lme4's names of the random-effect standard deviations and correlations, in theta order."""
        return varpar_names(self.design.reterms)

    @cached_property
    def fixef(self) -> pd.Series:
        """Fixed-effects estimates on the link scale (named "Estimate", as every fit type's)."""
        return pd.Series(self.beta, index=list(self.fixef_names), name="Estimate")

    @cached_property
    def vcov(self) -> pd.DataFrame:
        names = list(self.fixef_names)
        return pd.DataFrame(self.optimum.vcov, index=names, columns=names)

    @cached_property
    def se(self) -> pd.Series:
        """Standard errors of the fixed effects (named "Std. Error", as every fit type's)."""
        return pd.Series(np.sqrt(np.diag(self.optimum.vcov)), index=list(self.fixef_names), name="Std. Error")

    @cached_property
    def zvalues(self) -> pd.Series:
        return pd.Series(self.beta / self.se.to_numpy(), index=list(self.fixef_names), name="z")

    @cached_property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * stats.norm.sf(np.abs(self.zvalues.to_numpy())), index=list(self.fixef_names))

    def coef_table(self) -> pd.DataFrame:
        """The fixed-effects table of the summary: Estimate, Std. Error, z value and Pr(>|z|)
        (Wald tests), one row per coefficient, as lme4's ``coef(summary(fit))`` (the conditional
        model's; the auxiliary models' are ``fit.zi.coef_table()`` and ``fit.disp.coef_table()``)."""
        return pd.DataFrame(
            {
                "Estimate": self.fixef.to_numpy(),
                "Std. Error": self.se.to_numpy(),
                "z value": self.zvalues.to_numpy(),
                "Pr(>|z|)": self.pvalues.to_numpy(),
            },
            index=list(self.fixef_names),
        )

    @property
    def nobs(self) -> int:
        return self.model.n

    @property
    def npar(self) -> int:
        """``ntheta + p``, plus the family's parameter where it is estimated (glmmTMB's count) or
        lme4 counts it though given (a negative binomial's size:
        :attr:`~mixedmodels.families.Family.lme4_counts_parameter`)."""
        fam = self.family
        if self.model.aux is not None:
            return self.ntheta + self.model.p + extra_size(self.model)
        return self.ntheta + self.model.p + int(fam.estimates_parameter or fam.lme4_counts_parameter)

    @property
    def df_residual(self) -> int:
        """``nobs - npar`` (lme4's and glmmTMB's ``df.residual``)."""
        return self.nobs - self.npar

    @cached_property
    def _covariance(self) -> np.ndarray | None:
        """``2 H^{-1}`` over every parameter ``x = (theta, beta, ...)`` (None without a Hessian)."""
        H = self.optimum.hessian
        if H is None:
            return None
        try:
            return 2.0 * np.linalg.inv(H)
        except np.linalg.LinAlgError:
            return None

    def _part(self, kind: str, formula: str, names, at: slice) -> ModelPart:
        """The auxiliary model whose coefficients are ``x[at]``, with their block of
        :attr:`_covariance` (NaN without one)."""
        x = np.asarray(self.optimum.opt.theta, dtype=float)
        V = self._covariance
        k = len(x[at])
        cov = np.full((k, k), np.nan) if V is None else (V[at, at] + V[at, at].T) / 2.0
        return ModelPart(kind, formula, tuple(names), x[at].copy(), cov)

    @cached_property
    def zi(self) -> ModelPart | None:
        """The zero-inflation model (glmmTMB's ``ziformula``): its coefficients on the logit scale
        of the structural-zero probability (a hurdle model's probability of a zero), their
        covariance and Wald tests; None without one."""
        aux = self.model.aux
        if aux is None or aux.zi is None:
            return None
        start = self.ntheta + self.model.p + aux.disp_size(self.family)
        return self._part("zi", aux.zi.formula, aux.zi.names, slice(start, start + aux.zi.size))

    @cached_property
    def disp(self) -> ModelPart | None:
        """The dispersion model (glmmTMB's ``dispformula``): the log of the family's parameter
        (``"~1"``: the one ``log phi``), the coefficients' covariance and Wald tests; None where
        the fit estimates no parameter of the family."""
        aux, fam = self.model.aux, self.family
        if not fam.conditional.estimates_parameter:
            return None
        start = self.ntheta + self.model.p
        if aux is None or aux.disp is None:
            return self._part("disp", "~1", ("(Intercept)",), slice(start, start + 1))
        return self._part("disp", aux.disp.formula, aux.disp.names, slice(start, start + aux.disp.size))

    @property
    def sigma(self) -> float:
        """glmmTMB's ``sigma()``: the family's dispersion parameter on glmmTMB's scale (the
        negative binomial's size, the Gamma's coefficient of variation, ...); 1 for the
        binomial and the Poisson; NaN with a dispersion model (one per observation), as
        glmmTMB's NA."""
        if self.model.aux is not None and self.model.aux.disp is not None:
            return math.nan
        return self.family.sigma

    @property
    def r_sigma(self) -> float:
        """R's ``sigma()``: glmmTMB's (:attr:`sigma`) for a fit its way, lme4's 1 otherwise (lme4's
        glmer fits families without a scale, glmer.nb's included)."""
        return float(self.sigma) if self.glmmtmb_style else 1.0

    @property
    def glmmtmb_style(self) -> bool:
        """Whether the fit is glmmTMB's (the observed information in the Laplace approximation, or
        a family parameter estimated with the rest): its summary, residuals, confint and
        ``to_dict`` then follow glmmTMB's."""
        return bool(self.family.observed_information or self.family.estimates_parameter)

    @property
    def objective(self) -> float:
        """lme4's criterion at the optimum: ``-2 loglik``."""
        return float(self.optimum.criterion)

    @property
    def loglik(self) -> float:
        return -self.objective / 2.0

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.npar

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + np.log(self.nobs) * self.npar

    @cached_property
    def deviance(self) -> float:
        """Sum of the deviance residuals at the conditional modes (lme4's ``deviance()``)."""
        return float(np.sum(self.model.dev_resids(self.mu)))

    @property
    def converged(self) -> bool:
        """Whether the optimizer converged to a point that passes the convergence check."""
        check = self.optimum.opt.check
        return bool(self.optimum.opt.converged and (check is None or check.verdict != "not an optimum"))

    def check_convergence(self) -> ConvergenceCheck:
        """What the convergence check found at the optimum: gradient and Hessian eigenvalues of
        the criterion on the scaled ``(theta, beta)``, the verdict, and any restarts it called
        for (:mod:`mixedmodels.numerics.convergence`). A refit is checked now (no restarts)."""
        if self.optimum.opt.check is not None:
            return self.optimum.opt.check
        from .restarts import glmm_check, named_check

        return named_check(glmm_check(self.model, self.nagq, self.optimum), self.model, self.fixef_names)

    @property
    def layout(self):
        return self.model.layout

    @cached_property
    def singular(self) -> bool:
        return self.model.layout.singular(self.theta)

    @cached_property
    def ngroups(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for term in self.design.reterms:
            out.setdefault(term.group, term.nlevels)
        return out

    # --------------------------------------------------------- random effects
    @cached_property
    def b_terms(self) -> list[np.ndarray]:
        """Conditional modes ``b = Lambda u`` per term, arrays (levels, k)."""
        u = self.optimum.state.u
        out, start = [], 0
        for term, T in zip(self.design.reterms, self.model.layout.templates(self.theta)):
            out.append(u[start : start + term.q].reshape(term.nlevels, term.k) @ T.T)
            start += term.q
        return out

    @cached_property
    def _condvar_terms(self) -> list[np.ndarray]:
        """Conditional covariance of ``b`` per level: ``T (Lambda'Z'WZ Lambda + I)^{-1}_block T'``
        (``W`` the Laplace approximation's weights: the observed information for a fit glmmTMB's
        way, which also adds the modes' uncertainty from the estimates, :meth:`_mode_jacobian`)."""
        m = self.model
        wz = m.fam.laplace_weights(m.y, self.eta, self.mu)
        factor = WeightedFactor(ThetaState(m, self.theta), m.weights * wz, joint=False)
        blocks = factor.inverse_blocks([(t.nlevels, t.k) for t in m.reterms])
        out = [T @ B @ T.T for B, T in zip(blocks, m.layout.templates(self.theta))]
        if not (self.glmmtmb_style and self.optimum.hessian is not None):
            return out
        J = self._mode_jacobian()
        V = 2.0 * np.linalg.inv(self.optimum.hessian)
        start, added = 0, []
        for term, C in zip(m.reterms, out):
            Jt = J[start : start + term.q].reshape(term.nlevels, term.k, -1)
            added.append(C + np.einsum("lkd,de,lme->lkm", Jt, V, Jt))
            start += term.q
        return added

    def _mode_jacobian(self) -> np.ndarray:
        """``d b / d x``: the derivatives of the conditional modes ``b = Lambda u`` in the
        parameters ``x = (theta, beta[, log phi])``, by central differences of PIRLS's modes.

        glmmTMB's conditional variances (TMB's ``sdreport``) add ``J V J'`` (``V = 2 H^{-1}`` the
        covariance of ``x``) to the conditional variance at ``x``: the uncertainty of the modes
        from that of the estimates, which lme4's (at fixed ``theta``, ``beta``) leave out."""
        m, x = self.model, np.asarray(self.optimum.opt.theta, dtype=float)
        nt, p = self.ntheta, m.p

        def modes(xx: np.ndarray) -> np.ndarray:
            at = model_at(m, xx[nt + p :])
            st = pirls(at, xx[:nt], xx[nt : nt + p], self.optimum.state.u, tol=1e-13, maxit=200)
            return m.lambda_matrix(xx[:nt]) @ st.u

        columns = []
        for i in range(len(x)):
            h = 1e-5 * max(1.0, abs(x[i]))
            e = np.zeros(len(x))
            e[i] = h
            columns.append((modes(x + e) - modes(x - e)) / (2 * h))
        return np.column_stack(columns)

    def ranef(self, condvar: bool = False):
        """Conditional modes: ``{group: DataFrame}``, or with ``condvar`` one tidy DataFrame
        (``grpvar``, ``term``, ``grp``, ``condval``, ``condsd``), as lme4's ``ranef``."""
        return ranef_table(self.design.reterms, self.b_terms, self._condvar_terms if condvar else None)

    def coef(self) -> dict[str, pd.DataFrame]:
        """lme4's ``coef``: per grouping factor, each level's coefficients on the link scale, the
        fixed effects plus its conditional modes (``{group: DataFrame}``, one row per level)."""
        return coef_tables(self.fixef, self.ranef())

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(fit))`` (no residual row)."""
        thetas = [t for _, t in self.model.layout.slices(np.asarray(self.theta))]
        rows = varcorr_rows(self.design.reterms, thetas)
        return pd.DataFrame(rows, columns=VARCORR_COLUMNS)

    # ------------------------------------------------------ fitted, residuals
    @property
    def eta(self) -> np.ndarray:
        """The linear predictor at the conditional modes (with the offset)."""
        return self.optimum.state.eta

    @property
    def mu(self) -> np.ndarray:
        return self.optimum.state.mu

    @cached_property
    def fitted(self) -> pd.Series:
        """Fitted means of the response (a binomial's probabilities; a truncated family's mean of
        the truncated response, :meth:`~mixedmodels.families.Family.response_mean`)."""
        return pd.Series(self.family.response_mean(self.mu), index=self.design.row_index, name="fitted")

    def resid(self, type: str | None = None) -> pd.Series:
        """Residuals: "deviance" (lme4's default), "pearson", "response" (glmmTMB's default, for
        a fit :attr:`glmmtmb_style`) or "working".

        Pearson residuals divide by the square root of the family's variance at the fitted mean
        (with the prior weights); working residuals are ``(y - mu) / mu_eta(eta)``. Deviance
        residuals ``sign(y - mu) sqrt(d_i)`` need a unit deviance: for a family without one
        (:attr:`~mixedmodels.families.Family.unit_deviance` False) they are refused. glmmTMB 1.1.5
        refuses ``type = "deviance"`` for every family; ours are lme4's (and later glmmTMB's).
        """
        m = self.model
        if type is None:
            type = "response" if self.glmmtmb_style else "deviance"
        y, mu = m.y, self.mu
        if type == "deviance":
            if not m.fam.unit_deviance:
                why = f"the {m.fam.name} family has no unit deviance"
                raise ValueError(f"deviance residuals are not defined: {why}")
            d = m.fam.residual_deviances(y, mu, m.weights)  # R's, without a dispersion parameter
            r = np.sign(y - mu) * np.sqrt(np.maximum(m.dev_resids(mu) if d is None else d, 0.0))
        elif type == "pearson":
            r = (y - m.fam.response_mean(mu)) * np.sqrt(m.weights) / np.sqrt(m.fam.pearson_variance(mu))
        elif type == "response":
            r = y - m.fam.response_mean(mu)
        elif type == "working":
            r = (y - mu) / m.fam.mu_eta(self.eta)
        else:
            raise ValueError(f"type must be 'deviance', 'pearson', 'response' or 'working', not {type!r}")
        return pd.Series(r, index=self.design.row_index, name="residuals")

    @property
    def observed_response(self) -> np.ndarray:
        """The response as the family reads it (a binomial's proportions)."""
        return np.asarray(self.model.y, dtype=float)

    @property
    def working_weights(self) -> np.ndarray:
        """``w mu_eta^2 / V(mu)`` at the conditional modes (the family's working weights times
        the prior weights; the observed information's for a fit glmmTMB's way, clipped at 0)."""
        m = self.model
        _, wz = m.fam.working(m.y, self.eta, self.mu)
        return np.maximum(m.weights * wz, 0.0)

    @property
    def pearson_dispersion(self) -> np.ndarray:
        """The family's ``Var(y) / v`` at the fitted means, ``v`` what the Pearson residuals divide
        by (:meth:`~mixedmodels.families.Family.pearson_variance`): 1 for the binomial, Poisson
        and negative binomials (their variance function is the response's variance), ``sigma^2``
        of a Gaussian, ``1 / shape`` of a Gamma, ``1 / (1 + phi)`` of a beta, per row with a
        dispersion model or a truncated family."""
        fam, mu = self.family, self.mu
        ratio = np.asarray(fam.response_variance(mu), dtype=float) / np.asarray(fam.pearson_variance(mu))
        return np.broadcast_to(ratio, mu.shape).astype(float)

    @property
    def response_variance(self) -> np.ndarray:
        """The family's ``Var(y)`` at the fitted means over the prior weights."""
        return np.asarray(self.family.response_variance(self.mu), dtype=float) / self.model.weights

    @property
    def simulation_trials(self) -> np.ndarray:
        """The trials a binomial's successes are drawn out of in simulations (the prior weights:
        trials times given weights; ones for a 0/1 response); ignored by other families."""
        from ..replicates.glmm_bootstrap import draw_trials

        return draw_trials(self.model).astype(float)

    def response_as_draws(self, values: Any, means: bool = False) -> np.ndarray:
        """The family's :meth:`~mixedmodels.families.Family.response_as_draws` with
        :attr:`simulation_trials` (see :meth:`mixedmodels.base.protocols.Fit.response_as_draws`)."""
        w = self.simulation_trials
        w = w[:, None] if np.ndim(values) == 2 else w
        return np.asarray(self.family.response_as_draws(values, w, means), dtype=float)

    def scaled_residual_quantiles(self) -> tuple[np.ndarray, bool]:
        """Min, quartiles and max of the Pearson residuals (the summary's)."""
        r = self.resid("pearson").to_numpy()
        return np.quantile(r, [0, 0.25, 0.5, 0.75, 1]), True

    def simulate_blocks(
        self, nsim: int, rng: np.random.Generator, block: int, use_u: bool = False
    ) -> Iterator[np.ndarray]:
        """Simulated responses on the model's scale (a binomial's proportions), ``block``
        replicates at a time (:func:`mixedmodels.replicates.glmm_bootstrap.glmer_blocks`; what the
        bootstrap refits)."""
        from ..replicates.glmm_bootstrap import glmer_blocks

        return glmer_blocks(self, nsim, use_u, rng, block)

    # ---------------------------------------------------------------- output
    def to_dict(self) -> dict:
        """A JSON-ready dict: the lmer schema less sigma, reml and Satterthwaite, plus family,
        link, nagq and deviance."""
        names = list(self.fixef_names)
        ranef = ranef_records(self.design.reterms, self.b_terms, self._condvar_terms)
        varcorr = varcorr_records(self.varcorr)
        return {
            "formula": self.formula,
            "family": self.family.name,
            "link": self.link,
            "nagq": self.nagq,
            "nobs": self.nobs,
            "ngroups": dict(self.ngroups),
            "converged": self.converged,
            "singular": self.singular,
            "fixef": dict(zip(names, map(float, self.fixef))),
            "se": dict(zip(names, map(float, self.se))),
            "z": dict(zip(names, map(float, self.zvalues))),
            "pvalues": dict(zip(names, map(float, self.pvalues))),
            "vcov": self.vcov.to_numpy().tolist(),
            "theta": self.theta.tolist(),
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "deviance": self.deviance,
            "objective": self.objective,
            "df_residual": self.nobs - self.npar,
            "varcorr": varcorr,
            "ranef": ranef,
            "dropped_rows": self.design.dropped_rows,
            "separated": [] if self.separation is None else list(self.separation.coefficients),
            **self._tmb_dict(),
        }

    def _tmb_dict(self) -> dict:
        """For a fit glmmTMB's way (the observed information, or a parameter estimated):
        ``sigma``, ``laplace``, the family's estimated parameter by name and value
        (``{"parameter": {"name": "theta", "estimate": ..., "se": ...}}``, the SE by the delta
        method from that of ``log phi``, as the GLM fits give theirs; a fit with a dispersion
        model has none), and glmmTMB's dispersion and zero-inflation models,
        ``{"disp": {"fixef": {"(Intercept)": log phi}, "se": {...}}, "zi": {...}}``."""
        fam = self.family
        if not self.glmmtmb_style:
            return {}
        out: dict = {"laplace": "observed" if fam.observed_information else "expected"}
        disp, zi = self.disp, self.zi
        if disp is None or self.model.aux is None or self.model.aux.disp is None:
            out["sigma"] = self.sigma
        if disp is not None:
            out["disp"] = disp.to_dict()
            if self.model.aux is None or self.model.aux.disp is None:
                phi = float(np.asarray(fam.parameter))
                se = float(disp.se.iloc[0])
                out["parameter"] = {"name": fam.parameter_name, "estimate": phi, "se": phi * se}
        if zi is not None:
            out["zi"] = zi.to_dict()
        return out

    def summary(self) -> str:
        """The summary in lme4's glmer layout, or glmmTMB's for a fit glmmTMB's way
        (:attr:`glmmtmb_style`)."""
        from ..report.glmm import glmer_summary, glmmtmb_summary

        return glmmtmb_summary(self) if self.glmmtmb_style else glmer_summary(self)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """The summary as HTML tables (for notebooks), with the cells of :meth:`summary`."""
        from ..report.glmm import glmer_summary_html, glmmtmb_summary_html

        return glmmtmb_summary_html(self) if self.glmmtmb_style else glmer_summary_html(self)

    def __repr__(self) -> str:
        aux = self.model.aux
        models = (
            ""
            if aux is None
            else "".join(
                f" {kind}={part.formula!r}"
                for kind, part in (("zi", aux.zi), ("disp", aux.disp))
                if part is not None
            )
        )
        return f"<GlmerFit {self.formula!r} {self.family.name}({self.link}){models} nagq={self.nagq}>"

    # ------------------------------------------------------------- inference
    def profile(self, which=None, alpha_max: float = 0.01, progress: bool = True):
        """The profile of the fit's criterion over the parameters, as lme4's ``profile``.

        See :func:`mixedmodels.profile.glmm.profile`.
        """
        from ..profile.glmm import profile

        self._refuse_profile()
        return profile(self, which=which, alpha_max=alpha_max, progress=progress)

    def _refuse_profile(self) -> None:
        """Profiles of a fit with a zero-inflation or dispersion model are not implemented."""
        if self.has_auxiliary_models:
            raise NotImplementedError(
                "profiles of a fit with a zero-inflation or dispersion model are not implemented: "
                'use confint(method="wald") or confint(method="boot")'
            )

    def confint(
        self, method: str = "profile", level: float = 0.95, parm=None, nsim: int = 1000, seed=None, **kwargs
    ) -> pd.DataFrame:
        """Confidence intervals, one row per parameter, named and ordered as lme4's ``confint``:
        the random effects' standard deviations and correlations, then (a family whose parameter
        the fit estimates) ``sigma``, glmmTMB's ``sigma()``, then the fixed effects.

        Parameters
        ----------
        method : {"profile", "wald", "boot"}
            Profile likelihood (lme4's default; see :func:`mixedmodels.profile.glmm.profile_confint`),
            Wald (fixed effects only: the variance rows are left empty, as lme4 leaves them; for
            a fit glmmTMB's way, :attr:`glmmtmb_style`, glmmTMB's ``confint(fit, full = TRUE)``:
            its row names and order, an "Estimate" column, the random effects' SDs and the
            family's ``sigma`` too, see :meth:`_tmb_wald_confint`) or parametric bootstrap
            percentiles (:func:`mixedmodels.bootstrap`).
        level : float
            Coverage.
        parm : list of str, optional
            Parameters to include, all by default: lme4's names (``sd_(Intercept)|site``), or
            for a fit glmmTMB's way glmmTMB's (``Std.Dev.(Intercept)|site``), which its tables
            use by every method.
        nsim, seed, **kwargs
            For ``method="boot"``: replicates, seed, and further arguments of
            :func:`mixedmodels.bootstrap`; for ``"profile"``: ``progress``.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, not {level}")
        method = str(method).lower()  # lme4 spells it "Wald"
        rename = self._tmb_row_names() if self.glmmtmb_style else {}
        if method == "wald" and self.glmmtmb_style:
            return _select(
                self._tmb_wald_confint(level), None if parm is None else [rename.get(p, p) for p in parm]
            )
        names = [
            *self.varpar_names,
            *(["sigma"] if self._sigma_row else []),
            *self.fixef_names,
            *self._auxiliary_names,
        ]
        back = {tmb: lme4 for lme4, tmb in rename.items()}
        parm = names if parm is None else [back.get(p, p) for p in parm]
        unknown = [p for p in parm if p not in names]
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r}; the parameters are: {', '.join(names)}")
        if method == "wald":
            out = self._wald_confint(names, level)
        elif method == "profile":
            from ..profile.glmm import profile_confint

            self._refuse_profile()
            out = profile_confint(self, level, which=parm, progress=kwargs.get("progress", True))
            if self.separation is not None:  # the run-off side of a separated coefficient: infinite
                for name, runs in self.separation.signs().items():
                    if name in out.index and runs != "+-infinity":
                        out.loc[name, out.columns[0 if runs == "-infinity" else 1]] = (
                            -np.inf if runs == "-infinity" else np.inf
                        )
        elif method == "boot":
            from ..replicates.bootstrap import bootstrap

            out = bootstrap(self, nsim, seed=seed, **kwargs).confint("percentile", level)
        else:
            raise ValueError(f"method must be 'profile', 'wald' or 'boot', not {method!r}")
        return out.loc[parm].rename(index=rename)

    @property
    def has_auxiliary_models(self) -> bool:
        """Whether the fit has a zero-inflation or dispersion model (glmmTMB then prefixes its
        conditional model's rows ``cond.``)."""
        aux = self.model.aux
        return aux is not None and (aux.zi is not None or aux.disp is not None)

    @property
    def _sigma_row(self) -> bool:
        """Whether confint has a ``sigma`` row: the family estimates its one parameter (with a
        dispersion model its coefficients have rows ``disp.<column>`` instead)."""
        aux = self.model.aux
        return bool(self.family.conditional.estimates_parameter and (aux is None or aux.disp is None))

    @property
    def _auxiliary_names(self) -> list[str]:
        """The rows of the auxiliary models' coefficients: ``zi.<column>``, then ``disp.<column>``
        for a dispersion model (glmmTMB's order)."""
        zi = [] if self.zi is None else [f"zi.{n}" for n in self.zi.names]
        aux = self.model.aux
        disp = (
            []
            if self.disp is None or aux is None or aux.disp is None
            else [f"disp.{n}" for n in self.disp.names]
        )
        return zi + disp

    def _tmb_row_names(self) -> dict[str, str]:
        """glmmTMB's row names of confint by our (lme4's) names: ``Std.Dev.(Intercept)|site`` for
        ``sd_(Intercept)|site``; with a zero-inflation or dispersion model the conditional
        model's rows prefixed ``cond.`` (``cond.x``, ``cond.Std.Dev.(Intercept)|site``)."""
        names = {n: tmb_varpar_name(n) for n in self.varpar_names}
        if not self.has_auxiliary_models:
            return names
        return {**{n: f"cond.{t}" for n, t in names.items()}, **{n: f"cond.{n}" for n in self.fixef_names}}

    def _wald_confint(self, names: list[str], level: float) -> pd.DataFrame:
        """``fixef -+ z se``; NaN for the variance parameters (as lme4's ``confint(method = "Wald")``)."""
        a = (1 - level) / 2
        columns = [f"{100 * a:g} %", f"{100 * (1 - a):g} %"]
        z = stats.norm.ppf(1 - a)
        out = pd.DataFrame(np.nan, index=names, columns=columns)
        out.loc[list(self.fixef_names), columns[0]] = (self.fixef - z * self.se).to_numpy()
        out.loc[list(self.fixef_names), columns[1]] = (self.fixef + z * self.se).to_numpy()
        return out

    def _tmb_wald_confint(self, level: float) -> pd.DataFrame:
        """glmmTMB's ``confint(fit, full = TRUE)`` by Wald: rows the fixed effects, the
        zero-inflation and dispersion models' coefficients (``zi.x``, ``disp.x``), the random
        effects' standard deviations (``Std.Dev.(Intercept)|site``) and the family's ``sigma``
        (when it estimates its one parameter), columns the bounds and the estimate; with a
        zero-inflation or dispersion model the conditional model's rows are prefixed ``cond.``
        (:meth:`_tmb_row_names`).

        The covariance of ``x = (theta, beta, beta_d, beta_z)`` is ``2 H^{-1}`` (``H`` the Hessian
        of the criterion ``-2 log L``). A coefficient's interval is ``b -+ z se`` on its own
        scale (the auxiliary models' on the logit scale of the structural-zero probability and
        the log scale of the family's parameter). A standard deviation's interval is ``exp(log
        sd -+ z se)`` with the standard error of ``log sd`` by the delta method over ``theta``
        (glmmTMB's own coordinate is ``log sd``, so the two agree at the optimum); ``sigma``'s is
        the family's ``sigma`` at the bounds of ``log phi -+ z se`` (its row last; glmmTMB's
        ``full = TRUE`` puts it before the SDs). For the correlations see
        :meth:`_tmb_sdcor_rows`."""
        a = (1 - level) / 2
        z = stats.norm.ppf(1 - a)
        cov = self._covariance
        rows = [(n, b - z * e, b + z * e, b) for n, b, e in zip(self.fixef_names, self.beta, self.se)]
        aux = self.model.aux
        for part in (self.zi, self.disp if aux is not None and aux.disp is not None else None):
            if part is not None:
                rows += [
                    (f"{part.kind}.{n}", b - z * e, b + z * e, b)
                    for n, b, e in zip(part.names, part.estimates, part.se.to_numpy())
                ]
        rows += self._tmb_sdcor_rows(cov, z)
        if self._sigma_row:
            at = self.ntheta + self.model.p  # log phi, first after (theta, beta)
            log_phi = float(self.optimum.opt.theta[at])
            base = self.family.conditional
            se = float(np.sqrt(cov[at, at])) if cov is not None else np.nan
            ends = sorted(base.with_parameter(float(np.exp(log_phi + k * z * se))).sigma for k in (-1, 1))
            rows.append(("sigma", ends[0], ends[1], self.sigma))
        columns = [f"{100 * a:g} %", f"{100 * (1 - a):g} %", "Estimate"]
        cond = {*self.fixef_names, *(tmb_varpar_name(n) for n in self.varpar_names)}
        prefix = "cond." if self.has_auxiliary_models else ""
        index = [prefix + r[0] if r[0] in cond else r[0] for r in rows]
        return pd.DataFrame([r[1:] for r in rows], index=index, columns=columns)

    def _tmb_sdcor_rows(self, cov: np.ndarray | None, z: float) -> list[tuple[str, float, float, float]]:
        """The random effects' rows of :meth:`_tmb_wald_confint`, per term its standard deviations
        then its correlations, as glmmTMB orders them.

        By the delta method over ``theta`` (central differences): a standard deviation's interval
        is ``exp(log sd -+ z se)``; a correlation ``rho`` of a two-column term is glmmTMB's
        parameter ``l = rho / sqrt(1 - rho^2)`` (the entry of its unit-diagonal Cholesky factor),
        ``l -+ z se`` mapped back by ``l / sqrt(1 + l^2)``. Larger terms' correlations, whose
        parameters glmmTMB does not map one to one, are left NaN."""
        from ..covariance.layout import sdcor_from_theta

        layout, nt = self.model.layout, self.ntheta

        def values(theta: np.ndarray) -> np.ndarray:
            return sdcor_from_theta(layout, theta[None], np.ones(1))[0]

        est = values(self.theta)
        h = 1e-6 * np.maximum(np.abs(self.theta), 1e-3)
        steps = np.diag(h)
        J = np.column_stack(
            [(values(self.theta + e) - values(self.theta - e)) / (2 * h[i]) for i, e in enumerate(steps)]
        )
        var = np.einsum("ij,jk,ik->i", J, cov[:nt, :nt], J) if cov is not None else np.full(nt, np.nan)
        columns = [term.k for term, s in zip(self.design.reterms, layout.structures) for _ in range(s.ntheta)]
        terms = [i for i, s in enumerate(layout.structures) for _ in range(s.ntheta)]
        sds, cors = [], []
        for name, value, v, k, term in zip(self.varpar_names, est, var, columns, terms):
            kind = name.partition("_")[0]
            if kind == "sd":
                se = np.sqrt(v) / value if value > 0 else np.nan
                sds.append(
                    (term, (tmb_varpar_name(name), value * np.exp(-z * se), value * np.exp(z * se), value))
                )
                continue
            lo = hi = np.nan
            if kind == "cor" and k == 2 and abs(value) < 1:
                l = value / np.sqrt(1 - value**2)
                se = np.sqrt(v) / (1 - value**2) ** 1.5  # d l / d rho = (1 - rho^2)^(-3/2)
                lo, hi = ((l + c * z * se) / np.sqrt(1 + (l + c * z * se) ** 2) for c in (-1, 1))
            cors.append((term, (tmb_varpar_name(name), lo, hi, value)))
        return [
            row
            for t in range(len(layout.structures))
            for row in [r for i, r in sds if i == t] + [r for i, r in cors if i == t]
        ]

    # ------------------------------------------------------------ prediction
    @property
    def population_fitted(self) -> np.ndarray:
        """The mean response without random effects (``predict(type="response", re_form="~0")``)."""
        return self.predict(type="response", re_form="~0").to_numpy(dtype=float)

    def predict(self, newdata=None, type: str = "link", re_form=None, allow_new_levels: bool = False):
        """Predictions: ``type`` "link" or "response" (lme4's), and for a fit glmmTMB's way with
        zero-inflation or dispersion models also "conditional", "zprob", "zlink" and "disp"
        (glmmTMB's; see :func:`mixedmodels.glmm.predict.predict_glmer`)."""
        from .predict import predict_glmer

        return predict_glmer(self, newdata, type, re_form, allow_new_levels)

    def refit(self, newresponse) -> GlmerFit:
        """The same model fitted to a new response, as lme4's ``refit``.

        ``newresponse`` holds one value per row of the fit, as :meth:`simulate` gives them: for a
        ``cbind(successes, failures)`` response the successes (each row keeping its trials),
        otherwise the response as the model reads it (0/1, a proportion with its weights, a
        count).
        """
        from .glmer import refit_glmer

        return refit_glmer(self, newresponse)

    def update(
        self, formula: str | None = None, data=None, nagq: int | None = None, **auxiliary: str | None
    ) -> GlmerFit:
        """The model refitted with a new formula, data or number of quadrature points (lme4's
        ``update``); the family, link, Laplace approximation (``laplace``), weights, offset,
        contrasts and the zero-inflation and dispersion models are kept (``ziformula=``,
        ``dispformula=`` replace them: ``"~0"`` and ``"~1"`` drop them)."""
        from .glmer import glmer

        if data is None and self.data is None:
            raise ValueError("update needs the fit's data: give data=")
        unknown = set(auxiliary) - {"ziformula", "dispformula"}
        if unknown:
            raise TypeError(f"update takes ziformula= and dispformula=, not {sorted(unknown)[0]}=")
        args = dict(self.model_args)
        formulas = {"ziformula": args.pop("ziformula", None), "dispformula": args.pop("dispformula", None)}
        formulas.update(auxiliary)
        family = self.family
        if self.model.aux is not None or any(v is not None for v in formulas.values()):
            family = self.family.conditional  # the family at the optimum holds the fit's pi and phi
            value = np.asarray(family.parameter if family.estimates_parameter else np.nan, dtype=float)
            if value.ndim > 0:  # a dispersion model's parameter per row: a start of one value
                family = family.with_parameter(float(np.exp(np.mean(np.log(value)))))
        return glmer(
            formula or self.formula,
            self.data if data is None else data,
            family=family,
            laplace="observed" if self.family.observed_information else "expected",
            nagq=self.nagq if nagq is None else nagq,
            contrasts=self.contrasts,
            na_action=self.na_action,
            fixef_prior=None if self.fixef_prior is None or formula is not None else self.fixef_prior,
            **args,
            **{k: v for k, v in formulas.items() if v is not None},
        )

    def update_formula(self, formula: str, data=None) -> GlmerFit:
        """The model with a new formula refitted as R's ``update(fit, formula)`` refits it: the
        family as the fit's call holds it (a ``glmer.nb`` fit's size at its estimate, lme4's
        ``update`` of a ``glmer`` call with that size; a glmmTMB family's parameter estimated
        again), the rest as :meth:`GlmerFit.update` keeps it. R^2's null model and ``drop1``
        refit this way (a :class:`~mixedmodels.glmm.glmer_nb.GlmerNbFit`'s own ``update``
        estimates the size again)."""
        return GlmerFit.update(self, formula, data)

    def simulate(self, nsim: int = 1, use_u: bool = False, seed=None) -> pd.DataFrame:
        """Responses simulated from the fitted model (see :func:`mixedmodels.glmm.predict.simulate_glmer`)."""
        from .predict import simulate_glmer

        return simulate_glmer(self, replicate_count(nsim), use_u, seed)
