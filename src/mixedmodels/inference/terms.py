"""The terms of a fit's fixed effects, for the tests of terms (:mod:`~mixedmodels.inference.anova`,
:mod:`~mixedmodels.inference.wald_anova`): each column's formula term, each term's columns,
a term's variables, and the names of the ANOVA types."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["anova_type", "column_terms", "term_columns", "term_variables"]

_TYPES = {"1": 1, "i": 1, "2": 2, "ii": 2, "3": 3, "iii": 3}


def anova_type(type) -> int:
    """The ANOVA type named by ``type``: 1, 2 or 3 (also "I", "II", "III", as lmerTest)."""
    key = None if isinstance(type, bool) else str(type).strip().lower()
    if key not in _TYPES:
        raise ValueError(f"type must be 1, 2 or 3 (or 'I', 'II', 'III'), not {type!r}")
    return _TYPES[key]


def column_terms(fit, names: Sequence[str] | None = None) -> list[str]:
    """The formula term of each column of the fit's ``X`` (``"(Intercept)"`` for the
    intercept), or of the columns ``names``."""
    xspec = fit.design.xspec
    if xspec is None:
        raise ValueError("the tests of terms need the specification of the model matrix; this fit has none")
    return [xspec.term_of(n) for n in (fit.fixef_names if names is None else names)]


def term_columns(terms: Sequence[str], intercept: bool = False) -> dict[str, list[int]]:
    """The columns of each term (``terms`` the term of each column), terms in the order of
    ``X``; the intercept's only with ``intercept=True``."""
    out: dict[str, list[int]] = {}
    for j, term in enumerate(terms):
        if intercept or term != "(Intercept)":
            out.setdefault(term, []).append(j)
    return out


def term_variables(term: str) -> list[str]:
    """The variables of an interaction term, split at the colons outside parentheses:
    ``"a:log(b)"`` -> ``["a", "log(b)"]`` (the rows of R's factors matrix that the term has)."""
    parts, depth, current = [], 0, ""
    for ch in term:
        depth += (ch == "(") - (ch == ")")
        if ch == ":" and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p.strip() for p in [*parts, current]]
