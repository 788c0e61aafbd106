"""broom's tidy tables of a fit: :func:`tidy` (one row per parameter), :func:`glance` (one row per
model) and :func:`augment` (one row per observation), with broom.mixed 0.2.9's column names, row
order and term names for mixed fits and broom's for ``lm`` and ``glm`` fits.

``tidy`` of a mixed fit stacks the fixed effects (``effect = "fixed"``), the random-effect
parameters (``"ran_pars"``: ``sd__(Intercept)``, ``cor__(Intercept).Days``, and for an lmer fit
``sd__Observation`` in group ``Residual``) and the conditional modes (``"ran_vals"``, one row per
level and term, their conditional standard deviations as ``std.error``). A fit glmmTMB's way
(:attr:`~mixedmodels.glmm.fit.GlmerFit.glmmtmb_style`) has broom.mixed's ``component`` column:
``cond`` for the conditional model and ``zi`` for the zero-inflation model (broom.mixed leaves the
dispersion model out of the table; so do we).

Intervals (``conf_int=True``): "Wald" is ``estimate -+ q se`` with ``q`` the standard normal's
quantile, or Student's ``t`` with the row's ``df`` where the row has one (an lmer fit's
Satterthwaite df, as broom.mixed gives it for an lmerTest fit); the random-effect parameters
have none by Wald for an lme4-style fit (as lme4's ``confint(method = "Wald")``), and glmmTMB's
(Wald on the log standard deviation) for a fit glmmTMB's way. "profile" and "boot" take the
fit's own ``confint``. A conditional mode's interval is ``mode -+ z condsd``.

Each table's columns are fixed per fit type, so ``pd.concat(tidy(f) for f in fits)`` aligns
them by name (columns a fit type lacks are left missing, as ``dplyr::bind_rows`` leaves them).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.protocols import Fit
from ..formula.rsyntax import unexpected_keyword

__all__ = ["augment", "glance", "tidy"]

EFFECTS = ("fixed", "ran_pars", "ran_vals")
CONF_METHODS = {"wald": "wald", "profile": "profile", "boot": "boot"}


# --------------------------------------------------------------------------- fit types
def _check_fit(fit: Any) -> Fit:
    """``fit``, checked: a fitted model (anything else refused by name)."""
    if not isinstance(fit, Fit):
        raise TypeError(
            f"tidy, glance and augment need a fit from mm.lmer, mm.glmer, mm.glmer_nb, mm.lm or mm.glm, "
            f"not {type(fit).__name__}"
        )
    return fit


def _tmb(fit: Any) -> bool:
    """Whether broom.mixed would treat the fit as glmmTMB's (its tables get ``component``)."""
    return bool(getattr(fit, "glmmtmb_style", False))


def _effects(effects: str | Iterable[str]) -> list[str]:
    """The requested effects, checked, in broom.mixed's row order (fixed, ran_pars, ran_vals)."""
    asked = [effects] if isinstance(effects, str) else list(effects)
    unknown = [e for e in asked if e not in EFFECTS]
    if unknown or not asked:
        what = repr(unknown[0]) if unknown else "nothing"
        raise ValueError(f"effects must be among {', '.join(map(repr, EFFECTS))}, not {what}")
    return [e for e in EFFECTS if e in asked]


def _conf_method(fit: Fit, method: str | None, confint_args: dict) -> str:
    """The interval method asked for, checked against what the fit's ``confint`` offers; None:
    broom's default for the fit type (broom.mixed's Wald for a mixed fit, R's ``confint`` of an lm
    or glm fit: its t intervals, MASS's profile)."""
    if method is None:
        key = "wald" if fit.is_mixed else fit.confint_methods[0]
    else:
        key = str(method).lower()
        if key not in CONF_METHODS:
            raise ValueError(f"conf_method must be 'Wald', 'profile' or 'boot', not {method!r}")
        if key not in fit.confint_methods:
            offered = ", ".join(repr(m) for m in fit.confint_methods)
            name = type(fit).__name__
            raise ValueError(f"a {name} has no {method!r} intervals; its confint offers {offered}")
    if confint_args and key == "wald":
        raise ValueError(
            f"confint arguments ({', '.join(confint_args)}) are for conf_method 'profile' or 'boot'; "
            "Wald intervals take none"
        )
    return key


_TIDY_KEYWORDS = ("effects", "conf_int", "conf_level", "conf_method", "ddf")


def _check_confint_keywords(fit: Any, confint_args: dict) -> None:
    """Refuse a keyword that neither tidy nor the fit's ``confint`` takes (a misspelled
    ``conf_int`` would otherwise pass into ``confint_args`` unnoticed), naming the closest."""
    accepted = _confint_keywords(fit)
    for key in confint_args:
        if key not in accepted:
            raise unexpected_keyword("tidy", key, [*_TIDY_KEYWORDS, *accepted])


def _confint_keywords(fit: Any) -> list[str]:
    """The keywords a ``confint`` takes besides its method and level: the fit's own, and those
    that a mixed fit's passes on to the bootstrap and the profile (a fit type or interval method
    that takes none of them is refused later, by :func:`_conf_method` and the fit's ``confint``,
    with its own message)."""
    from ..replicates.bootstrap import bootstrap

    own = [
        key
        for key, p in inspect.signature(fit.confint).parameters.items()
        if p.kind is not inspect.Parameter.VAR_KEYWORD and key not in ("method", "level")
    ]
    passed_on = [p for p in inspect.signature(bootstrap).parameters if p not in ("fit", "statistic")]
    return list(dict.fromkeys([*own, "parm", *passed_on, "progress", "client"]))


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"conf_level must be between 0 and 1, not {level}")
    return float(level)


# --------------------------------------------------------------------------- tidy
def tidy(
    fit: Any,
    effects: str | Iterable[str] = ("ran_pars", "fixed"),
    conf_int: bool = False,
    conf_level: float = 0.95,
    conf_method: str | None = None,
    ddf: str | None = "auto",
    **confint_args: Any,
) -> pd.DataFrame:
    """A fit's parameters as a table, as broom.mixed's (mixed fits) or broom's (lm, glm) ``tidy``.

    Parameters
    ----------
    fit : LmerFit, GlmerFit, GlmerNbFit, LmFit or GlmFit
    effects : str or sequence of str
        Any of "fixed", "ran_pars" and "ran_vals" (broom.mixed's default: ran_pars and fixed);
        rows come fixed first, then ran_pars, then ran_vals, as broom.mixed orders them.
        Ignored for lm and glm fits (their coefficients only, as broom's).
    conf_int : bool
        Add ``conf.low`` and ``conf.high``.
    conf_level : float
        Their coverage.
    conf_method : {"Wald", "profile", "boot"}, optional
        How the intervals are made (see the module); profile and boot are the fit's ``confint``.
        None: broom's default for the fit type, Wald for a mixed fit (broom.mixed's), R's
        ``confint`` for lm (t intervals, named "Wald" here) and glm (MASS's profile). A method
        the fit's ``confint`` lacks (``fit.confint_methods``) is refused.
    ddf : {"auto", "Satterthwaite", "Kenward-Roger", None}
        lmer fits: the fixed effects' ``df`` and ``p.value`` as lmerTest's (broom.mixed gives
        them for an lmerTest fit); None leaves them out, as broom.mixed does for an lme4 fit;
        "auto" is Satterthwaite unless the model is too large for it (as ``fit.summary()``).
    **confint_args
        Passed to the fit's ``confint`` for "profile" and "boot" (``nsim``, ``seed``,
        ``progress``, ...; refused with Wald intervals).

    Returns
    -------
    pandas.DataFrame
        Mixed fits: ``effect``, (``component``), ``group``, ``term``, ``estimate``,
        ``std.error``, ``statistic``, (``df``), ``p.value``, (``conf.low``, ``conf.high``); for
        ran_vals also ``level``. lm and glm fits: ``term``, ``estimate``, ``std.error``,
        ``statistic``, ``p.value``, (``conf.low``, ``conf.high``).
    """
    fit = _check_fit(fit)
    _check_confint_keywords(fit, confint_args)
    level = _check_level(conf_level)
    method = _conf_method(fit, conf_method, confint_args)
    if not fit.is_mixed:
        return _tidy_fixed_fit(fit, conf_int, level, method, confint_args)
    parts = []
    wanted = _effects(effects)
    confint = _ConfintCache(fit, level, method, confint_args) if conf_int else None
    if "fixed" in wanted:
        parts.append(_fixed_rows(fit, ddf, confint))
    if "ran_pars" in wanted:
        parts.append(_ran_pars_rows(fit, confint))
    if "ran_vals" in wanted:
        parts.append(_ran_vals_rows(fit, level if conf_int else None))
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if wanted == ["fixed"]:  # broom.mixed has no group column then
        table = table.drop(columns="group")
    return table[[c for c in _mixed_columns(fit, table, conf_int) if c in table]].reset_index(drop=True)


def _mixed_columns(fit: Any, table: pd.DataFrame, conf_int: bool) -> list[str]:
    """broom.mixed's column order."""
    cols = ["effect", *(["component"] if _tmb(fit) else []), "group"]
    cols += ["level"] if "level" in table else []
    cols += ["term", "estimate", "std.error", "statistic", "df", "p.value"]
    return cols + (["conf.low", "conf.high"] if conf_int else [])


class _ConfintCache:
    """The fit's ``confint`` by ``method`` (computed once, when a table first needs it)."""

    def __init__(self, fit: Any, level: float, method: str, args: dict) -> None:
        self.fit, self.level, self.method, self.args = fit, level, method, args
        self._table: pd.DataFrame | None = None

    @property
    def table(self) -> pd.DataFrame:
        if self._table is None:
            self._table = self.fit.confint(method=self.method, level=self.level, **self.args)
        return self._table

    def bounds(self, names: list[list[str]]) -> np.ndarray:
        """(lower, upper) per row: the first of each row's candidate names in the table."""
        out = np.full((len(names), 2), np.nan)
        index = self.table.index
        for i, candidates in enumerate(names):
            for name in candidates:
                if name in index:
                    out[i] = self.table.loc[name].iloc[:2].to_numpy(dtype=float)
                    break
        return out


def _wald_bounds(estimate: np.ndarray, se: np.ndarray, level: float, df: np.ndarray | None) -> np.ndarray:
    """``estimate -+ q se``, ``q`` Student's t with ``df`` where given, else the normal's."""
    a = (1 - level) / 2
    q = stats.norm.ppf(1 - a) if df is None else stats.t.ppf(1 - a, df)
    return np.column_stack([estimate - q * se, estimate + q * se])


def _fixed_rows(fit: Any, ddf: str | None, confint: _ConfintCache | None) -> pd.DataFrame:
    """The fixed effects (and a glmmTMB-style fit's zero-inflation coefficients)."""
    names = list(fit.fixef_names)
    df = None
    linear = not fit.is_generalized  # an lmer fit: lmerTest's t tests
    if linear:
        checked = fit.summary_ddf(ddf)
        table = fit.coef_table(checked)
        estimate, se = table["Estimate"].to_numpy(), table["Std. Error"].to_numpy()
        statistic = table["t value"].to_numpy()
        if checked is not None:
            df, p = table["df"].to_numpy(), table["Pr(>|t|)"].to_numpy()
    else:
        estimate, se = fit.fixef.to_numpy(), fit.se.to_numpy()
        statistic = fit.zvalues.to_numpy()
        p = fit.pvalues.to_numpy()
    rows = pd.DataFrame({"effect": "fixed", "group": np.nan, "term": names, "estimate": estimate})
    rows["std.error"], rows["statistic"] = se, statistic
    if linear and df is None:
        pass  # lme4's table: no df, no p-value
    else:
        if df is not None:
            rows["df"] = df
        rows["p.value"] = p
    if _tmb(fit):
        rows.insert(1, "component", "cond")
    if confint is not None:
        if confint.method == "wald":
            bounds = _wald_bounds(estimate, se, confint.level, df)
        else:
            prefix = "cond." if getattr(fit, "has_auxiliary_models", False) else ""
            bounds = confint.bounds([[n, prefix + n] for n in names])
        rows["conf.low"], rows["conf.high"] = bounds[:, 0], bounds[:, 1]
    zi = getattr(fit, "zi", None)
    if zi is not None:
        rows = pd.concat([rows, _zi_rows(zi, confint)], ignore_index=True)
    return rows


def _zi_rows(zi: Any, confint: _ConfintCache | None) -> pd.DataFrame:
    """The zero-inflation model's coefficients (component ``zi``; Wald z tests)."""
    table = zi.coef_table()
    rows = pd.DataFrame({"effect": "fixed", "component": "zi", "group": np.nan, "term": list(zi.names)})
    rows["estimate"] = table.iloc[:, 0].to_numpy()
    rows["std.error"], rows["statistic"] = table.iloc[:, 1].to_numpy(), table.iloc[:, 2].to_numpy()
    rows["p.value"] = table.iloc[:, 3].to_numpy()
    if confint is not None:
        if confint.method == "wald":
            bounds = _wald_bounds(
                rows["estimate"].to_numpy(), rows["std.error"].to_numpy(), confint.level, None
            )
        else:
            bounds = confint.bounds([[f"zi.{n}"] for n in zi.names])
        rows["conf.low"], rows["conf.high"] = bounds[:, 0], bounds[:, 1]
    return rows


def ran_pars_terms(varcorr: pd.DataFrame, lme4_order: bool = True) -> list[tuple[str, str, float, list[str]]]:
    """broom.mixed's rows of the random-effect parameters from lme4's ``as.data.frame(VarCorr)``:
    ``(group, term, estimate, confint names)``, the groups in their order, the residual
    ``sd__Observation`` last. For an lme4 fit (``lme4_order``) each standard deviation is
    followed by its correlations with the later columns (``sd__a``, ``cor__a.b``, ``sd__b``); for
    a glmmTMB fit broom.mixed keeps VarCorr's order (the standard deviations, then the
    correlations). The confint names are lme4's (and glmmTMB's) row names."""
    out = []
    for group, rows in varcorr.groupby("group", sort=False):
        group = str(group)
        if group == "Residual":
            out.append((group, "sd__Observation", float(rows["sdcor"].iloc[0]), ["sigma"]))
            continue
        sds = rows[rows["var2"].isna()]
        cors = rows[rows["var2"].notna()]
        sd_rows, cor_rows = [], []
        for _, sd in sds.iterrows():
            a = sd["var1"]
            name = f"sd_{a}|{group}"
            sd_rows.append((group, f"sd__{a}", float(sd["sdcor"]), [name, *_tmb_names(name)]))
            mine = []
            for _, cor in cors[cors["var1"] == a].iterrows():
                b = cor["var2"]
                names = [f"cor_{b}.{a}|{group}", f"cor_{a}.{b}|{group}"]
                mine.append((group, f"cor__{a}.{b}", float(cor["sdcor"]), [*names, *_tmb_names(names[0])]))
            if lme4_order:
                sd_rows += mine
            else:
                cor_rows += mine
        out += sd_rows + cor_rows
    return out


def _tmb_names(name: str) -> list[str]:
    """glmmTMB's confint row names of a parameter named as lme4 names it (with and without the
    ``cond.`` prefix of a fit with auxiliary models)."""
    from ..glmm.fit import tmb_varpar_name

    tmb = tmb_varpar_name(name)
    return [tmb, f"cond.{tmb}"]


def _ran_pars_rows(fit: Any, confint: _ConfintCache | None) -> pd.DataFrame:
    """The random effects' standard deviations and correlations (and lmer's residual SD)."""
    terms = ran_pars_terms(fit.varcorr, lme4_order=not _tmb(fit))
    if _tmb(fit) and fit.family.residual_row_shown:  # glmmTMB's Gaussian: its sigma()
        terms.append(("Residual", "sd__Observation", float(fit.sigma), ["sigma"]))
    rows = pd.DataFrame(
        {
            "effect": "ran_pars",
            "group": [t[0] for t in terms],
            "term": [t[1] for t in terms],
            "estimate": [t[2] for t in terms],
        }
    )
    if _tmb(fit):
        rows.insert(1, "component", "cond")
    rows["std.error"] = rows["statistic"] = np.nan  # (df and p.value: those of the fixed rows)
    if confint is not None:
        if confint.method == "wald" and not _tmb(fit):
            bounds = np.full((len(terms), 2), np.nan)  # lme4's Wald intervals have none
        else:
            bounds = confint.bounds([t[3] for t in terms])
        rows["conf.low"], rows["conf.high"] = bounds[:, 0], bounds[:, 1]
    return rows


def _ran_vals_rows(fit: Any, level: float | None) -> pd.DataFrame:
    """The conditional modes and their conditional SDs, ordered by group, term, level (lme4's
    ``as.data.frame(ranef(fit, condVar = TRUE))``)."""
    modes = fit.ranef(condvar=True)
    rows = pd.DataFrame(
        {
            "effect": "ran_vals",
            "group": modes["grpvar"].astype(str).to_numpy(),
            "level": modes["grp"].astype(str).to_numpy(),
            "term": modes["term"].astype(str).to_numpy(),
            "estimate": modes["condval"].to_numpy(dtype=float),
            "std.error": modes["condsd"].to_numpy(dtype=float),
        }
    )
    if _tmb(fit):
        rows.insert(1, "component", "cond")
    if level is not None:
        bounds = _wald_bounds(rows["estimate"].to_numpy(), rows["std.error"].to_numpy(), level, None)
        rows["conf.low"], rows["conf.high"] = bounds[:, 0], bounds[:, 1]
    return rows


def _tidy_fixed_fit(fit: Any, conf_int: bool, level: float, method: str, confint_args: dict) -> pd.DataFrame:
    """broom's ``tidy.lm`` / ``tidy.glm``: one row per coefficient (aliased ones NaN)."""
    t_tests = not fit.is_generalized or fit.estimates_dispersion
    statistic = fit.tvalues if t_tests else fit.zvalues
    rows = pd.DataFrame(
        {
            "term": list(fit.fixef.index),
            "estimate": fit.fixef.to_numpy(dtype=float),
            "std.error": fit.se.reindex(fit.fixef.index).to_numpy(dtype=float),
            "statistic": statistic.reindex(fit.fixef.index).to_numpy(dtype=float),
            "p.value": fit.pvalues.reindex(fit.fixef.index).to_numpy(dtype=float),
        }
    )
    if conf_int:
        ci = fit.confint(method=method, level=level, **confint_args).reindex(rows["term"])
        rows["conf.low"], rows["conf.high"] = ci.iloc[:, 0].to_numpy(), ci.iloc[:, 1].to_numpy()
    return rows


# --------------------------------------------------------------------------- glance
def glance(fit: Any) -> pd.DataFrame:
    """One row of model statistics, as broom.mixed's (mixed fits) or broom's (lm, glm) ``glance``.

    lmer: ``nobs``, ``sigma``, ``logLik``, ``AIC``, ``BIC``, ``REMLcrit`` (a REML fit) or
    ``deviance`` (ML), ``df.residual``. glmer: ``nobs``, ``sigma``, ``logLik``, ``AIC``,
    ``BIC``, ``deviance``, ``df.residual`` (a fit glmmTMB's way has no ``deviance``, as
    glmmTMB's; its ``sigma`` is glmmTMB's). lm: ``r.squared``, ``adj.r.squared``, ``sigma``,
    ``statistic``, ``p.value``, ``df``, ``logLik``, ``AIC``, ``BIC``, ``deviance``,
    ``df.residual``, ``nobs``. glm: ``null.deviance``, ``df.null``, ``logLik``, ``AIC``,
    ``BIC``, ``deviance``, ``df.residual``, ``nobs``.
    """
    fit = _check_fit(fit)
    row: dict[str, Any]
    if not fit.is_mixed and not fit.is_generalized:  # lm
        f, num, den = fit.fstatistic
        row = {
            "r.squared": fit.r_squared,
            "adj.r.squared": fit.adj_r_squared,
            "sigma": fit.sigma,
            "statistic": f,
            "p.value": fit.f_pvalue,
            "df": num,
            "logLik": fit.loglik,
            "AIC": fit.aic,
            "BIC": fit.bic,
            "deviance": fit.rss,
            "df.residual": fit.df_residual,
            "nobs": fit.nobs,
        }
    elif not fit.is_mixed:  # glm
        row = {
            "null.deviance": fit.null_deviance,
            "df.null": fit.df_null,
            "logLik": fit.loglik,
            "AIC": fit.aic,
            "BIC": fit.bic,
            "deviance": fit.deviance,
            "df.residual": fit.df_residual,
            "nobs": fit.nobs,
        }
    else:
        row = {
            "nobs": fit.nobs,
            "sigma": fit.r_sigma,
            "logLik": fit.loglik,
            "AIC": fit.aic,
            "BIC": fit.bic,
        }
        if not fit.is_generalized:  # lmer: its criterion
            row["REMLcrit" if fit.is_reml else "deviance"] = fit.objective
        elif not _tmb(fit):
            row["deviance"] = fit.deviance
        row["df.residual"] = fit.df_residual
    return pd.DataFrame([row])


# --------------------------------------------------------------------------- augment
def augment(fit: Any) -> pd.DataFrame:
    """The rows the fit used, its data columns and per-observation quantities, as broom.mixed's
    (mixed fits) or broom's (lm, glm) ``augment``.

    lmer: ``.fitted``, ``.resid``, ``.hat``, ``.cooksd``, ``.fixed`` (``X beta`` plus the
    offset), ``.mu``, ``.offset``, ``.sqrtXwt``, ``.sqrtrwt``, ``.weights``, ``.wtres``.
    glmer (lme4's way): the same less ``.hat`` and ``.cooksd`` (lme4 warns that its hat matrix
    of a GLMM "may not make sense", and broom.mixed's values there exceed one), plus ``.eta``;
    ``.fitted`` and ``.fixed`` on the link scale and ``.resid`` the deviance residuals, as
    broom.mixed's. A fit glmmTMB's way: ``.fitted`` (link scale) and ``.resid`` (response
    residuals; broom.mixed's ``.se.fit`` is left out). lm: ``.fitted``, ``.resid``, ``.hat``,
    ``.sigma``, ``.cooksd``, ``.std.resid``; glm: the same with ``.fitted`` on the link scale and
    ``.resid`` the deviance residuals.

    The data columns are the fit's data's columns that the formula uses (R's model frame makes
    one matrix column of a ``cbind(...)`` response; here its columns stay as they are), none
    for a fit made without keeping its data.

    The rows keep the data's index labels (those of the rows the fit used, in the fit's order),
    as ``fit.fitted()`` and ``simulate_residuals(fit).scaled`` do, so that
    ``data.join(augment(fit))`` pairs each row with its own values even on shuffled data or
    with rows dropped for missing values (broom's tibbles have no row names; a pandas table
    aligns by its index). ``augment(fit).reset_index(drop=True)`` numbers them 0..n-1.
    """
    from .model_check import influence_table

    fit = _check_fit(fit)
    fit.require_rows("augment")
    frame = _model_frame(fit)
    if fit.is_mixed and fit.is_generalized:
        cols = _glmer_columns(fit)
    else:  # leverages and Cook's distances: model_check's
        cols = _AUGMENT_COLUMNS[fit.is_generalized](fit, influence_table(fit))
    for name, values in cols.items():
        frame[name] = np.asarray(values, dtype=float)
    return frame


def _model_frame(fit: Any) -> pd.DataFrame:
    """The data's columns the model uses, at the rows the fit used, in the order the formula
    names them (empty without the data)."""
    from ..formula.design import formula_variables, offset_rhs

    index = fit.design.row_index
    data = getattr(fit, "data", None)
    if data is None:
        return pd.DataFrame(index=index)
    if not isinstance(data, pd.DataFrame):  # polars
        data = data.to_pandas()
    parsed = fit.parsed
    needed = (
        {parsed.response} if parsed.response in data.columns else formula_variables(parsed.response, parsed)
    )
    needed |= formula_variables(parsed.fixed, parsed)
    for expr in parsed.offsets:
        needed |= formula_variables(offset_rhs(expr), parsed)
    for term in getattr(parsed, "random", ()):
        needed |= formula_variables(term.expr, parsed) | set(term.factors)
    columns = sorted(needed & set(data.columns), key=lambda c: _position(fit.formula, c))
    at = [data.columns.get_loc(c) for c in columns]
    return data.iloc[_row_positions(data, index, columns), at].set_axis(index, axis=0).copy()


def _row_positions(data: pd.DataFrame, index: pd.Index, columns: list[str]) -> np.ndarray:
    """The positions in ``data`` of the fit's rows (labelled ``index``): by label where the data's
    labels are unique; else the rows without missing values in the model's ``columns`` (the
    rows the fit kept), checked against the labels."""
    if data.index.is_unique:
        return data.index.get_indexer(index)
    complete = np.flatnonzero(data[columns].notna().all(axis=1).to_numpy())
    if len(complete) != len(index) or not data.index[complete].equals(index):
        raise ValueError(
            "augment cannot tell which rows the fit used: the data's index has duplicate labels and "
            "rows were dropped; give the data a unique index (data.reset_index(drop=True))"
        )
    return complete


def _position(formula: str, name: str) -> int:
    """Where a variable first appears in the formula (R's model frame orders its columns so)."""
    found = re.search(rf"(?<![\w.]){re.escape(name)}(?![\w.])", formula)
    return found.start() if found else len(formula)


def _linear_columns(fit: Any, influence: pd.DataFrame) -> dict[str, np.ndarray]:
    """broom's columns of an lm fit, broom.mixed's (lme4's per-observation quantities) of an lmer
    fit; ``influence`` is :func:`~mixedmodels.checks.model_check.influence_table`."""
    from .influence import leave_one_out_sigma

    hat, cooksd = influence["hat"].to_numpy(), influence["cooks_distance"].to_numpy()
    if not fit.is_mixed:
        e = fit.resid("pearson").to_numpy()  # sqrt(w) (y - fitted)
        return {
            ".fitted": fit.fitted.to_numpy(),
            ".resid": fit.resid("response").to_numpy(),
            ".hat": hat,
            ".sigma": leave_one_out_sigma(e, hat, fit.df_residual),
            ".cooksd": cooksd,
            ".std.resid": influence["std_resid"].to_numpy(),
        }
    w = fit.working_weights
    sw = np.sqrt(w)
    offset = _offset(fit)
    mu = fit.fitted.to_numpy()
    wtres = sw * (fit.observed_response - mu)
    return {
        ".fitted": mu,
        ".resid": fit.resid("response").to_numpy(),
        ".hat": hat,
        ".cooksd": cooksd,
        ".fixed": fit.design.X @ fit.fixef.to_numpy() + offset,
        ".mu": mu,
        ".offset": offset,
        ".sqrtXwt": sw,
        ".sqrtrwt": sw,
        ".weights": w,
        ".wtres": wtres,
    }


def _offset(fit: Any) -> np.ndarray:
    off = fit.design.offset
    return np.zeros(fit.design.X.shape[0]) if off is None else np.asarray(off, dtype=float)


def _glm_columns(fit: Any, influence: pd.DataFrame) -> dict[str, np.ndarray]:
    """broom's columns of a glm fit (its order): R's ``rstandard`` (deviance residuals) and
    ``influence()$sigma``; ``influence`` is :func:`~mixedmodels.checks.model_check.influence_table`."""
    from .influence import leave_one_out_sigma

    hat = influence["hat"].to_numpy()
    dev = fit.resid("deviance").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        std = dev / np.sqrt(fit.dispersion * (1 - hat))
    return {
        ".fitted": fit.linear_predictor.to_numpy(),
        ".resid": dev,
        ".std.resid": std,
        ".hat": hat,
        ".sigma": leave_one_out_sigma(dev, hat, fit.df_residual),
        ".cooksd": influence["cooks_distance"].to_numpy(),
    }


_AUGMENT_COLUMNS = {False: _linear_columns, True: _glm_columns}  # by is_generalized


def _glmer_columns(fit: Any) -> dict[str, np.ndarray]:
    """lme4's per-observation quantities of a glmer fit at the conditional modes (glmmTMB's two
    for a fit its way)."""
    eta = np.asarray(fit.eta, dtype=float)
    if _tmb(fit):
        return {".fitted": eta, ".resid": fit.resid().to_numpy()}
    m, fam = fit.model, fit.family
    mu, w = np.asarray(fit.mu, dtype=float), np.asarray(m.weights, dtype=float)
    sqrtrwt = np.sqrt(w / fam.variance(mu))
    return {
        ".fitted": eta,
        ".resid": fit.resid("deviance").to_numpy(),
        ".fixed": m.X @ fit.beta + np.asarray(m.offset, dtype=float),
        ".mu": mu,
        ".offset": np.asarray(m.offset, dtype=float) * np.ones_like(mu),
        ".sqrtXwt": sqrtrwt * fam.mu_eta(eta),
        ".sqrtrwt": sqrtrwt,
        ".weights": w,
        ".wtres": sqrtrwt * (m.y - mu),
        ".eta": eta,
    }
