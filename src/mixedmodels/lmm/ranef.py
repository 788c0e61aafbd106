"""The random effects as lme4 tabulates them, for linear and generalized mixed models alike.

``ranef`` gives the conditional modes ``b`` per grouping factor (or, with their conditional
standard deviations, one tidy table), and ``varcorr`` the variance components
``Sigma = scale T T'`` of each term (``T`` its template, ``scale`` = ``sigma^2`` for a linear
model and 1 for a generalized one) as standard deviations and correlations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..formula.design import ReTerm

__all__ = [
    "coef_tables",
    "VARCORR_COLUMNS",
    "by_group",
    "ranef_records",
    "ranef_table",
    "varcorr_records",
    "varcorr_rows",
    "varpar_names",
]

VARCORR_COLUMNS = ["group", "var1", "var2", "vcov", "sdcor"]


def varpar_names(terms: Sequence[ReTerm]) -> list[str]:
    """lme4's names of the random-effect standard deviations and correlations, in theta order:
    ``sd_(Intercept)|Subject``, ``cor_Days.(Intercept)|Subject``, ``sd_Days|Subject`` (a group
    met again is numbered, ``Subject.1``), as each term's structure names them
    (:meth:`~mixedmodels.covariance.structures.CovStructure.sdcor_names`)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for term in terms:
        count = seen.get(term.group, 0)
        seen[term.group] = count + 1
        group = term.group if count == 0 else f"{term.group}.{count}"
        names += term.structure.sdcor_names(group, term.cnames)
    return names


def by_group(terms: Sequence[ReTerm]) -> dict[str, list[int]]:
    """The indices of the terms of each grouping factor (``(Days || Subject)`` gives two)."""
    groups: dict[str, list[int]] = {}
    for i, term in enumerate(terms):
        groups.setdefault(term.group, []).append(i)
    return groups


def ranef_table(
    terms: Sequence[ReTerm], b_terms: Sequence[np.ndarray], condvar_terms: Sequence[np.ndarray] | None
):
    """lme4's ``ranef``: ``{group: DataFrame}`` (one row per level, one column per term) when
    ``condvar_terms`` is None; otherwise one tidy DataFrame with ``grpvar``, ``term``, ``grp``,
    ``condval``, ``condsd`` (``as.data.frame(ranef(fit, condVar = TRUE))``)."""
    if condvar_terms is None:
        out = {}
        for group, idx in by_group(terms).items():
            cols = {c: b_terms[i][:, j] for i in idx for j, c in enumerate(terms[i].cnames)}
            out[group] = pd.DataFrame(cols, index=pd.Index(terms[idx[0]].levels, name=group))
        return out
    frames = []
    for i, term in enumerate(terms):
        sd = np.sqrt(np.diagonal(condvar_terms[i], axis1=1, axis2=2))
        for j, c in enumerate(term.cnames):
            frames.append(
                pd.DataFrame(
                    {"grpvar": term.group, "term": c, "grp": list(term.levels),
                     "condval": b_terms[i][:, j], "condsd": sd[:, j]}
                )
            )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def coef_tables(fixef: pd.Series, ranef: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """lme4's ``coef``: for each grouping factor, the fixed effects plus that factor's conditional
    modes, one row per level. A random-effects column without a fixed effect holds the level's
    deviation alone and comes first, as lme4 places it; then the fixed effects' columns."""
    out = {}
    for group, modes in ranef.items():
        extra = [c for c in modes.columns if c not in fixef.index]
        table = pd.DataFrame(
            np.tile(np.append(np.zeros(len(extra)), fixef.to_numpy()), (len(modes), 1)),
            index=modes.index,
            columns=[*extra, *fixef.index],
        )
        table[list(modes.columns)] += modes.to_numpy()
        out[group] = table
    return out


def varcorr_rows(
    terms: Sequence[ReTerm], thetas: Sequence[np.ndarray], scale: float = 1.0
) -> list[tuple[str, str | None, str | None, float, float]]:
    """Rows of lme4's ``as.data.frame(VarCorr(fit))`` for the random-effects terms (``thetas``:
    each term's slice of theta): a standard deviation per column (``var2`` None), then the
    correlations; separate terms on one grouping factor are named ``g``, ``g.1``, ... as lme4
    names them. The correlations are those the term's covariance structure lists
    (:meth:`~mixedmodels.covariance.structures.CovStructure.correlation_pairs`), with its
    :meth:`~mixedmodels.covariance.structures.CovStructure.correlation_matrix`: where a
    standard deviation is 0, NaN for an unstructured term (as lme4) and the structure's own
    correlation for a structured one (as glmmTMB), the covariance 0 either way."""
    rows: list[tuple[str, str | None, str | None, float, float]] = []
    seen: dict[str, int] = {}
    for term, theta in zip(terms, thetas):
        count = seen.get(term.group, 0)
        seen[term.group] = count + 1
        name = term.group if count == 0 else f"{term.group}.{count}"
        T = term.structure.factor(theta)
        cov = scale * (T @ T.T)
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        for j, c in enumerate(term.cnames):
            rows.append((name, c, None, cov[j, j], sd[j]))
        corr = term.structure.correlation_matrix(theta)
        for i, j in term.structure.correlation_pairs():  # none for independent components
            rows.append((name, term.cnames[j], term.cnames[i], cov[i, j], corr[i, j]))
    return rows


def ranef_records(
    terms: Sequence[ReTerm], b_terms: Sequence[np.ndarray], condvar_terms: Sequence[np.ndarray]
) -> dict:
    """The conditional modes for ``to_dict``: ``{group: {"levels": [...], TERM: [...], ...,
    "condsd": {TERM: [...]}}}``, all the terms of a grouping factor together, as lme4's ranef."""
    out = {}
    for group, idx in by_group(terms).items():
        entry: dict = {"levels": list(terms[idx[0]].levels)}
        condsd = {}
        for i in idx:
            sd = np.sqrt(np.diagonal(condvar_terms[i], axis1=1, axis2=2))
            for j, c in enumerate(terms[i].cnames):
                entry[c] = b_terms[i][:, j].tolist()
                condsd[c] = sd[:, j].tolist()
        entry["condsd"] = condsd
        out[group] = entry
    return out


def varcorr_records(varcorr: pd.DataFrame) -> list[dict]:
    """The rows of a ``varcorr`` table for ``to_dict``: group, var1, var2, sd or corr, variance."""
    return [
        {
            "group": r.group,
            "var1": _text(r.var1),
            "var2": _text(r.var2),
            "sd": None if _text(r.var2) else float(r.sdcor),
            "corr": float(r.sdcor) if _text(r.var2) else None,
            "variance": float(r.vcov),
        }
        for r in varcorr.itertuples()
    ]


def _text(value) -> str | None:
    """A name from a DataFrame cell, None for a missing one."""
    return value if isinstance(value, str) else None
