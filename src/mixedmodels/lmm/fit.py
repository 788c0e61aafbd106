"""The fitted linear mixed model: estimates, derived quantities and the to_dict schema.

At the optimum ``theta`` the factor gives ``beta`` and the spherical random effects ``u``:

    b = Lambda(theta) u,                  fitted = X beta + Z b,
    vcov(beta) = sigma^2 (R_X' R_X)^{-1},
    Var(b | y) = sigma^2 Lambda (L_Z L_Z')^{-1} Lambda'   (blocks per level; beta held fixed,
                                                            as lme4's ``condVar``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats
from scipy.linalg import solve_triangular

from ..base.information import InformationCriteria
from ..base.protocols import GaussianResiduals, MixedFit
from ..base.seeds import as_generator, replicate_count
from ..formula.design import Design
from ..formula.terms import ParsedFormula, parse_formula
from ..numerics.convergence import ConvergenceCheck
from ..numerics.objective import criterion
from ..numerics.optimize import OptSummary
from ..numerics.pls import PLS, Factor
from ..report.lmm import lmer_summary, lmer_summary_html
from .ranef import (
    VARCORR_COLUMNS,
    coef_tables,
    ranef_records,
    ranef_table,
    varcorr_records,
    varcorr_rows,
    varpar_names,
)
from .simulate import lmer_blocks, simulate_lmer

__all__ = ["LmerFit"]


@dataclass(frozen=True, eq=False)
class LmerFit(InformationCriteria, GaussianResiduals, MixedFit):
    """A linear mixed model fitted by :func:`mixedmodels.lmer`.

    Estimates are properties computed once, when first asked for. The names shared by every
    fit type are those of :class:`mixedmodels.base.protocols.Fit`.
    """

    kind = "lmer"
    confint_methods = ("profile", "wald", "boot")

    formula: str
    reml: bool
    design: Design
    pls: PLS
    opt: OptSummary
    factor: Factor
    data: pd.DataFrame | None = None
    contrasts: dict | None = None
    na_action: str = "omit"
    messages: tuple[str, ...] = ()
    model_args: dict | None = None  # weights= and offset= as given, for update()

    @cached_property
    def parsed(self) -> ParsedFormula:
        """The formula split into response, fixed part and random terms (parsed once, at the fit)."""
        return self.design.parsed if self.design.parsed is not None else parse_formula(self.formula)

    # ------------------------------------------------------------- estimates
    @property
    def theta(self) -> np.ndarray:
        """The relative covariance parameters at the optimum (lme4's ``getME(fit, "theta")``)."""
        return self.opt.theta.copy()

    @property
    def nobs(self) -> int:
        return self.pls.n

    @property
    def is_reml(self) -> bool:
        """Whether the fit maximized the REML criterion (lme4's ``isREML``)."""
        return self.reml

    @property
    def fixef_names(self) -> tuple[str, ...]:
        return self.design.fixef_names

    @cached_property
    def varpar_names(self) -> list[str]:
        """lme4's names of the random-effect standard deviations and correlations, in theta order
        (:func:`~mixedmodels.lmm.ranef.varpar_names`)."""
        return varpar_names(self.design.reterms)

    @cached_property
    def objective(self) -> float:
        """The REML criterion (REML fits) or the deviance, ``-2 loglik`` (ML fits)."""
        return criterion(self.factor, self.pls.n, self.pls.p, self.reml, None, self.pls.log_weights)

    def criterion(self, theta) -> float:
        """The REML criterion or ML deviance of this model at any ``theta``."""
        f = self.pls.factor(np.asarray(theta, dtype=float))
        return criterion(f, self.pls.n, self.pls.p, self.reml, None, self.pls.log_weights)

    @cached_property
    def sigma(self) -> float:
        """Residual standard deviation."""
        dof = self.pls.n - self.pls.p if self.reml else self.pls.n
        return math.sqrt(self.factor.r2 / dof)

    @cached_property
    def _solution(self) -> tuple[np.ndarray, np.ndarray]:
        return self.pls.solve(self.factor)

    @cached_property
    def fixef(self) -> pd.Series:
        """Fixed-effects estimates, named as R names the model-matrix columns."""
        return pd.Series(self._solution[0], index=list(self.fixef_names), name="Estimate")

    @cached_property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the fixed-effects estimates."""
        p = self.pls.p
        inv = solve_triangular(self.pls.rx_lower(self.factor), np.eye(p), lower=True)
        names = list(self.fixef_names)
        return pd.DataFrame(self.sigma**2 * (inv.T @ inv), index=names, columns=names)

    @cached_property
    def se(self) -> pd.Series:
        """Standard errors of the fixed effects."""
        return pd.Series(np.sqrt(np.diag(self.vcov.to_numpy())), index=self.fixef.index, name="Std. Error")

    @cached_property
    def tvalues(self) -> pd.Series:
        return pd.Series(self.fixef / self.se, name="t value")

    @property
    def npar(self) -> int:
        """Number of parameters: fixed effects, theta, and sigma."""
        return self.pls.p + len(self.opt.theta) + 1

    @property
    def df_residual(self) -> int:
        """``nobs - npar`` (lme4's ``df.residual``)."""
        return self.nobs - self.npar

    @cached_property
    def loglik(self) -> float:
        """Log-likelihood; for a REML fit the REML criterion times -1/2, as lme4."""
        return -self.objective / 2.0

    @property
    def deviance(self) -> float:
        """The ML deviance ``-2 logLik`` (sigma profiled) at the fit's ``theta``: for an ML fit
        its objective; for a REML fit lme4's ``deviance(fit, REML = FALSE)``, the ML deviance
        at the REML estimate (not the REML criterion, which is ``objective``)."""
        if not self.reml:
            return self.objective
        return criterion(self.factor, self.pls.n, self.pls.p, False, None, self.pls.log_weights)

    @property
    def converged(self) -> bool:
        """Whether the optimizer converged to a point that passes the convergence check."""
        check = self.opt.check
        return bool(self.opt.converged and (check is None or check.verdict != "not an optimum"))

    def check_convergence(self) -> ConvergenceCheck:
        """What the convergence check found at the optimum: gradient and Hessian eigenvalues of
        the criterion on the scaled ``theta``, the verdict, and any restarts it called for
        (:mod:`mixedmodels.numerics.convergence`). A fit made at a given ``theta`` is checked now."""
        if self.opt.check is not None:
            return self.opt.check
        from ..numerics.objective import criterion_function
        from ..numerics.restarts import lmer_check

        fn = criterion_function(self.pls, self.reml)
        return lmer_check(fn, self.opt, self.pls.layout, self.design.reterms)

    @property
    def layout(self):
        return self.pls.layout

    @cached_property
    def singular(self) -> bool:
        """True for a fit on the boundary: a template diagonal entry below 1e-4 (lme4's isSingular)."""
        return self.pls.layout.singular(self.opt.theta)

    @cached_property
    def ngroups(self) -> dict[str, int]:
        """Levels of each grouping factor."""
        out: dict[str, int] = {}
        for term in self.design.reterms:
            out.setdefault(term.group, term.nlevels)
        return out

    # --------------------------------------------------------- random effects
    @cached_property
    def b_terms(self) -> list[np.ndarray]:
        """Conditional modes b = Lambda u, per random-effects term an array (levels, k).

        In the order of ``design.reterms``; :meth:`ranef` gives them with their names.
        """
        u = self._solution[1]
        out, start = [], 0
        for term, T in zip(self.design.reterms, self.pls.layout.templates(self.opt.theta)):
            uj = u[start : start + term.q].reshape(term.nlevels, term.k)
            out.append(uj @ T.T)
            start += term.q
        return out

    @cached_property
    def _condvar_terms(self) -> list[np.ndarray]:
        """Conditional covariance of b per level: sigma^2 T (L_Z L_Z')^{-1}_block T'."""
        blocks = self.pls.condvar_blocks(self.factor)
        templates = self.pls.layout.templates(self.opt.theta)
        return [self.sigma**2 * (T @ B @ T.T) for T, B in zip(templates, blocks)]

    def ranef(self, condvar: bool = False):
        """Conditional modes of the random effects.

        Parameters
        ----------
        condvar : bool
            False: a dict ``{group: DataFrame}`` with one row per level and one column per
            term, as lme4's ``ranef``. True: one tidy DataFrame with columns ``grpvar``,
            ``term``, ``grp``, ``condval``, ``condsd``, as lme4's
            ``as.data.frame(ranef(fit, condVar = TRUE))``.
        """
        return ranef_table(self.design.reterms, self.b_terms, self._condvar_terms if condvar else None)

    def coef(self) -> dict[str, pd.DataFrame]:
        """lme4's ``coef``: per grouping factor, each level's coefficients, the fixed effects
        plus its conditional modes (``{group: DataFrame}``, one row per level)."""
        return coef_tables(self.fixef, self.ranef())

    @cached_property
    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(fit))``.

        Columns ``group``, ``var1``, ``var2``, ``vcov``, ``sdcor``: one row per standard
        deviation (``var2`` missing) and per correlation, then the residual. Separate terms on
        one grouping factor are named ``g``, ``g.1``, ... as lme4 names them.
        """
        thetas = [t for _, t in self.pls.layout.slices(np.asarray(self.opt.theta))]
        rows = varcorr_rows(self.design.reterms, thetas, self.sigma**2)
        rows.append(("Residual", None, None, self.sigma**2, self.sigma))
        return pd.DataFrame(rows, columns=VARCORR_COLUMNS)

    # ------------------------------------------------------ fitted, residuals
    @property
    def weights(self) -> np.ndarray:
        """The prior weights of the rows used in the fit (ones when none were given)."""
        w = self.design.weights
        return np.ones(self.design.X.shape[0]) if w is None else w

    @property
    def offset(self) -> np.ndarray | None:
        """The offset of the rows used in the fit (None for a model without one)."""
        return self.design.offset

    @cached_property
    def fitted(self) -> pd.Series:
        """Fitted values ``offset + X beta + Z b`` for the rows used in the fit."""
        values = self.design.X @ self._solution[0]
        if self.design.offset is not None:
            values = values + self.design.offset
        for term, b in zip(self.design.reterms, self.b_terms):
            values = values + np.einsum("nk,nk->n", term.z, b[term.refs])
        return pd.Series(values, index=self.design.row_index, name="fitted")

    def resid(self, type: str = "response", scaled: bool = False) -> pd.Series:
        """Residuals as lme4's ``residuals(fit, type, scaled)``
        (:class:`~mixedmodels.base.protocols.GaussianResiduals`); ``scaled=True`` divides by
        ``sigma``."""
        r = self._residual_values(type)
        if scaled:
            r = r / self.sigma
        return pd.Series(r, index=self.residuals.index, name="residuals")

    def scaled_residual_quantiles(self) -> tuple[np.ndarray, bool]:
        """Min, quartiles and max of the scaled Pearson residuals (the summary's), and whether
        they are exact."""
        r = self.resid("pearson", scaled=True).to_numpy()
        return np.quantile(r, [0, 0.25, 0.5, 0.75, 1]), True

    # ------------------------------------------------------------- inference
    @cached_property
    def satterthwaite(self):
        """Satterthwaite's approximation (lmerTest's), computed once when first needed."""
        from ..inference.anova import Satterthwaite

        return Satterthwaite(self)

    @cached_property
    def satterthwaite_df(self) -> pd.Series:
        """Satterthwaite denominator degrees of freedom of each fixed effect's t test."""
        return pd.Series(self.satterthwaite.coefficient_df(), index=self.fixef.index, name="df")

    @cached_property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of the t tests with Satterthwaite's degrees of freedom."""
        p = 2 * stats.t.sf(np.abs(self.tvalues.to_numpy()), self.satterthwaite_df.to_numpy())
        return pd.Series(p, index=self.fixef.index, name="Pr(>|t|)")

    @cached_property
    def kenward_roger(self):
        """Kenward-Roger's adjusted covariance and degrees of freedom (pbkrtest's), computed once
        when first needed; REML fits only."""
        from ..inference.kenward_roger import KenwardRoger

        return KenwardRoger(self)

    def coef_table(self, ddf: str | None = "Satterthwaite") -> pd.DataFrame:
        """The fixed-effects table, as lmerTest's ``coef(summary(fit, ddf = ...))``.

        Parameters
        ----------
        ddf : {"Satterthwaite", "Kenward-Roger", None}
            Columns Estimate, Std. Error, df, t value, Pr(>|t|); Kenward-Roger ("KR") takes the
            standard errors from the adjusted covariance. None gives lme4's three columns
            (Estimate, Std. Error, t value). Case does not matter.
        """
        from ..inference.anova import coef_table

        return coef_table(self, ddf)

    def contest(self, L, ddf: str = "Satterthwaite") -> pd.Series:
        """F test of ``L beta = 0`` (lmerTest's ``contest(fit, L, joint = TRUE, ddf = ...)``).

        ``L`` has one column per fixed effect (one row: a t test squared). Returns Sum Sq,
        Mean Sq, NumDF, DenDF, F value and Pr(>F); ``ddf`` is "Satterthwaite" or "Kenward-Roger".
        """
        from ..inference.anova import contest

        return contest(self, L, ddf)

    def anova(self, type=3, ddf: str = "Satterthwaite") -> pd.DataFrame:
        """ANOVA table of the fixed-effect terms (lmerTest's ``anova(fit, type, ddf)``).

        Parameters
        ----------
        type : {3, 2, 1, "III", "II", "I"}
            Type III (default): each term with the categorical columns sum-coded; type II: each
            term after the terms not containing it; type I: sequential.
        ddf : {"Satterthwaite", "Kenward-Roger"}
            Denominator degrees of freedom (any case; "KR" for short).

        Returns
        -------
        DataFrame
            One row per term: Sum Sq, Mean Sq, NumDF, DenDF, F value, Pr(>F).
        """
        from ..inference.anova import anova_table, anova_type, ddf_method

        kind, method = anova_type(type), ddf_method(ddf)
        self._need_data("anova")
        self.require_rows("anova")
        return anova_table(self, kind, method)

    # ------------------------------------------------------ refit, update, predict
    def _need_data(self, what: str) -> None:
        if self.data is None:
            raise ValueError(f"{what} needs the fit's data; this fit was made without it")

    @property
    def has_rows(self) -> bool:
        """Whether the observations are in memory (False for a fit to a Dask DataFrame)."""
        return self.pls.has_rows

    def refit(self, newresponse) -> LmerFit:
        """The same model fitted to a new response (one value per row used in the fit)."""
        from .engine import refit

        self.require_rows("refit")
        y = np.asarray(newresponse, dtype=float).ravel()
        if y.shape != self.design.y.shape or not np.isfinite(y).all():
            raise ValueError(f"the new response must be {len(self.design.y)} finite numbers, got {y.shape}")
        return refit(self, y)

    def update(self, formula: str | None = None, reml: bool | None = None, data=None) -> LmerFit:
        """The model refitted with a new formula, estimation method or data (lme4's ``update``).

        ``formula`` may use ``.`` for the current formula's sides: ``". ~ . - x"`` is not
        supported; give the whole new formula.
        """
        from .lmer import lmer

        data = self.data if data is None else data
        self._need_data("update")
        return lmer(
            formula or self.formula,
            data,
            reml=self.reml if reml is None else reml,
            contrasts=self.contrasts,
            na_action=self.na_action,
            **(self.model_args or {}),
        )

    def ranova(self, reduce_terms: bool = True):
        """Likelihood-ratio tests of the random-effects terms (lmerTest's ``ranova``; see
        :func:`mixedmodels.inference.ranova.ranova`)."""
        from ..inference.ranova import ranova

        return ranova(self, reduce_terms)

    @property
    def population_fitted(self) -> np.ndarray:
        """``X beta`` plus the offset (``predict(re_form="~0")``)."""
        return self.predict(re_form="~0").to_numpy(dtype=float)

    def predict(
        self, newdata: pd.DataFrame | None = None, re_form=None, allow_new_levels: bool = False
    ) -> pd.Series:
        """Predictions with lme4's semantics.

        Parameters
        ----------
        newdata : DataFrame, optional
            New data; the fitted values when not given.
        re_form : None, str
            None: all random effects; ``"~0"`` or ``"NA"``: none (the population prediction);
            a formula such as ``"~(1 | Subject)"``: only those terms.
        allow_new_levels : bool
            Levels of a grouping factor not seen in the fit get the population prediction (True)
            or raise an error naming the factor and the levels (False).
        """
        from .predict import predict_lmer

        return predict_lmer(self, newdata, re_form, allow_new_levels)

    def profile(self, which=None, alpha_max: float = 0.001, progress: bool = True, client=None):
        """The profile likelihood (ML deviance) over the parameters, as lme4's ``profile``.

        See :func:`mixedmodels.profile.lmm.profile` (``client``: a Dask client to profile on).
        """
        from ..profile.lmm import profile

        return profile(self, which=which, alpha_max=alpha_max, progress=progress, client=client)

    def confint(
        self, method: str = "profile", level: float = 0.95, parm=None, nsim: int = 1000, seed=None, **kwargs
    ) -> pd.DataFrame:
        """Confidence intervals, one row per parameter, named and ordered as lme4's ``confint``.

        Parameters
        ----------
        method : {"profile", "wald", "boot"}
            Profile likelihood (lme4's default), Wald (fixed effects only: the variance rows
            are left empty, as lme4 leaves them) or parametric bootstrap percentiles.
        level : float
            Coverage.
        parm : list of str, optional
            Parameters to include (lme4's names), all by default.
        nsim, seed, **kwargs
            For ``method="boot"``: replicates, seed, and further arguments of
            :func:`mixedmodels.bootstrap`; for ``"profile"``: ``progress`` and ``client``.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, not {level}")
        names = [*self.varpar_names, "sigma", *self.fixef_names]
        parm = names if parm is None else list(parm)
        unknown = [p for p in parm if p not in names]
        if unknown:
            raise ValueError(f"unknown parameter {unknown[0]!r}; the parameters are: {', '.join(names)}")
        a = (1 - level) / 2
        columns = [f"{100 * a:g} %", f"{100 * (1 - a):g} %"]
        method = str(method).lower()  # lme4 spells it "Wald"
        if method == "wald":
            z = stats.norm.ppf(1 - a)
            out = pd.DataFrame(np.nan, index=names, columns=columns)
            out.loc[list(self.fixef_names), columns[0]] = (self.fixef - z * self.se).to_numpy()
            out.loc[list(self.fixef_names), columns[1]] = (self.fixef + z * self.se).to_numpy()
        elif method == "profile":
            prof = self.profile(
                which=parm, progress=kwargs.get("progress", True), client=kwargs.get("client")
            )
            out = prof.confint(level)
        elif method == "boot":
            from ..replicates.bootstrap import bootstrap

            out = bootstrap(self, nsim, seed=seed, **kwargs).confint("percentile", level)
        else:
            raise ValueError(f"method must be 'profile', 'wald' or 'boot', not {method!r}")
        return out.loc[parm]

    def simulate(self, nsim: int = 1, use_u: bool = False, seed=None) -> pd.DataFrame:
        """New responses from the fitted model, as lme4's ``simulate``: one column per replicate.

        ``use_u=False`` draws new random effects; ``use_u=True`` holds them at the
        conditional modes. ``seed`` is an int, a SeedSequence or a ``numpy.random.Generator``.
        """
        self.require_rows("simulate")
        Y = simulate_lmer(self, replicate_count(nsim), use_u, as_generator(seed))
        return pd.DataFrame(
            Y, index=self.design.row_index, columns=[f"sim_{i + 1}" for i in range(Y.shape[1])]
        )

    def simulate_blocks(
        self, nsim: int, rng: np.random.Generator, block: int, use_u: bool = False
    ) -> Iterator[np.ndarray]:
        """The responses of :meth:`simulate` (n x nsim), ``block`` replicates at a time (the
        same numbers; what the bootstrap refits)."""
        return lmer_blocks(self, nsim, use_u, rng, block)

    # ---------------------------------------------------------------- output
    def to_dict(self) -> dict:
        """A JSON-ready dict with the schema of design.md."""
        names = list(self.fixef_names)
        ranef = ranef_records(self.design.reterms, self.b_terms, self._condvar_terms)
        varcorr = varcorr_records(self.varcorr)
        return {
            "formula": self.formula,
            "reml": self.reml,
            "nobs": self.nobs,
            "ngroups": dict(self.ngroups),
            "converged": self.converged,
            "singular": self.singular,
            "fixef": dict(zip(names, map(float, self.fixef))),
            "se": dict(zip(names, map(float, self.se))),
            "vcov": self.vcov.to_numpy().tolist(),
            "theta": self.theta.tolist(),
            "sigma": self.sigma,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "objective": self.objective,
            "varcorr": varcorr,
            "ranef": ranef,
            "satterthwaite_df": dict(zip(names, map(float, self.satterthwaite_df))),
            "pvalues": dict(zip(names, map(float, self.pvalues))),
            "dropped_rows": self.design.dropped_rows,
        }

    def summary(self, ddf: str | None = "auto") -> str:
        """The lme4-style summary text.

        Parameters
        ----------
        ddf : {"auto", "Satterthwaite", "Kenward-Roger", "lme4", None}
            ``"Satterthwaite"`` adds lmerTest's ``df`` and ``Pr(>|t|)`` columns to the
            fixed-effects table; ``"Kenward-Roger"`` (or ``"KR"``) shows lmerTest's
            Kenward-Roger table instead (adjusted standard errors, their t values and
            Kenward-Roger df; REML fits only); ``None`` (or ``"lme4"``, lmerTest's name) prints
            exactly lme4's layout; ``"auto"`` (default) adds Satterthwaite's columns unless the
            model is so large that their ~200 evaluations of the deviance would take minutes
            (``fit.satterthwaite_df`` still computes them on request). Case does not matter.

        Raises
        ------
        ValueError
            For any other value, or Kenward-Roger for a maximum-likelihood fit.
        """
        return lmer_summary(self, ddf=self.summary_ddf(ddf))

    def summary_ddf(self, ddf: str | None) -> str | None:
        """The checked ``ddf`` of a summary: "Satterthwaite", "Kenward-Roger" or None (lme4's layout)."""
        ddf = check_ddf(ddf)
        if ddf == "auto":
            return None if self.pls.large else "Satterthwaite"
        if ddf == "Kenward-Roger" and not self.reml:
            raise ValueError("Kenward-Roger's method is only available for REML fits (as in lmerTest)")
        return ddf

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return lmer_summary_html(self, ddf=self.summary_ddf("auto"))

    def __repr__(self) -> str:
        kind = "REML" if self.reml else "ML"
        name = type(self).__name__
        return f"<{name} {self.formula!r} by {kind}: nobs={self.nobs}, objective={self.objective:.4f}>"


_DDF = {"auto": "auto", "satterthwaite": "Satterthwaite", "lme4": None}
_KENWARD_ROGER = {"kenward-roger", "kenward roger", "kenwardroger", "kr"}


def check_ddf(ddf: str | None) -> str | None:
    """``ddf`` of a summary, checked: "auto", "Satterthwaite", "Kenward-Roger" or None.

    Raises ValueError for anything else, so that a summary never shows degrees of freedom
    other than those asked for.
    """
    if ddf is None:
        return None
    key = ddf.strip().lower() if isinstance(ddf, str) else ddf
    if key in _DDF:
        return _DDF[key]
    if key in _KENWARD_ROGER:
        return "Kenward-Roger"
    raise ValueError(f"ddf must be 'auto', 'Satterthwaite', 'lme4' or None (or 'Kenward-Roger'), not {ddf!r}")
