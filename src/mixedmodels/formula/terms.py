"""Split a mixed-model formula into its response, fixed part and random-effects terms.

A formula such as ``y ~ x + (x | g) + (1 | a/b)`` has a fixed part (``y ~ x``) that formulaic
reads, and bar terms in parentheses that lme4 reads as random effects:

- ``(expr | g)``: correlated random effects for the columns of ``expr`` within levels of ``g``;
- ``(expr || g)``: the same with the correlations fixed at zero, which lme4 expands into one
  term per column of ``expr``;
- ``(expr | a/b)``: nested grouping, ``(expr | a) + (expr | b:a)``;
- ``(expr | a:b)``: grouping by the observed combinations of ``a`` and ``b``.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

from ..covariance.structures import STRUCTURES, UNAVAILABLE

__all__ = [
    "FormulaError",
    "ParsedFormula",
    "RandomTerm",
    "cbind_arguments",
    "parse_formula",
    "split_arguments",
]


class FormulaError(ValueError):
    """A formula that cannot be read, with the position of the problem."""

    def __init__(self, formula: str, position: int, message: str):
        self.formula = formula
        self.position = position
        pointer = " " * position + "^"
        super().__init__(f"{message} (at position {position})\n  {formula}\n  {pointer}")


@dataclass(frozen=True)
class RandomTerm:
    """One random-effects term ``(expr | g1:g2:...)``.

    Attributes
    ----------
    expr : str
        The left of the bar, a formula right-hand side such as ``"1 + Days"``.
    factors : tuple of str
        The grouping columns; several mean their interaction.
    correlated : bool
        False for a term that came from ``||`` (to be split per column).
    structure : str
        The covariance structure's name as glmmTMB (and lme4 2.0) write it around the term:
        ``"us"`` (the default), ``"diag"``, ``"cs"``, ``"homcs"``, ``"ar1"``, ``"toep"``,
        ``"homdiag"`` (:data:`mixedmodels.covariance.structures.STRUCTURES`).
    """

    expr: str
    factors: tuple[str, ...]
    correlated: bool = True
    structure: str = "us"  # glmmTMB's spelling of its covariance structure: ar1(x | g), cs(...), ...

    @property
    def group(self) -> str:
        """The grouping factor's name, as lme4 prints it (``cask:batch``)."""
        return ":".join(self.factors)


@dataclass(frozen=True)
class ParsedFormula:
    """A formula split into response, fixed-effects right-hand side and random terms."""

    response: str
    fixed: str
    random: tuple[RandomTerm, ...]
    text: str = ""
    offsets: tuple[str, ...] = ()  # the expressions of the fixed part's offset(expr) terms

    def error(self, part: str, message: str) -> FormulaError:
        """A FormulaError pointing at ``part`` of the formula text."""
        position = self.text.find(part.strip()) if part.strip() else -1
        return FormulaError(self.text, max(position, 0), message)

    @property
    def fixed_formula(self) -> str:
        return f"{self.response} ~ {self.fixed}"


_NAME = re.compile(r"^\s*([A-Za-z_.][A-Za-z0-9_.]*|`[^`]+`)\s*$")
# R's factor(g) as a grouping factor is the column g: a grouping factor is read as a factor anyway
_AS_FACTOR = re.compile(r"^\s*(?:as\.factor|factor)\s*\(\s*([A-Za-z_.][A-Za-z0-9_.]*|`[^`]+`)\s*\)\s*$")


def _check_parens(formula: str) -> None:
    depth = 0
    for pos, ch in enumerate(formula):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise FormulaError(formula, pos, "unmatched ')'")
    if depth:
        raise FormulaError(formula, formula.index("("), "unmatched '('")


def _bar_groups(formula: str, start: int) -> list[tuple[int, int]]:
    """Spans (open, close) of the top-level parenthesised groups holding a '|' at depth one."""
    spans, depth, open_pos, has_bar = [], 0, -1, False
    for pos in range(start, len(formula)):
        ch = formula[pos]
        if ch == "(":
            depth += 1
            if depth == 1:
                open_pos, has_bar = pos, False
        elif ch == ")":
            depth -= 1
            if depth == 0 and has_bar:
                spans.append((open_pos, pos))
        elif ch == "|" and depth == 1:
            has_bar = True
        elif ch == "|" and depth == 0:
            raise FormulaError(formula, pos, "a random-effects term must be in parentheses")
    return spans


def _group_factors(formula: str, text: str, offset: int) -> list[tuple[str, ...]]:
    """Grouping factors of one bar term: ``a`` -> [(a,)], ``a/b`` -> [(a,), (b, a)]."""
    parts = text.split("/")
    groups: list[tuple[str, ...]] = []
    nested: list[str] = []
    for part in parts:
        names = []
        for name in part.split(":"):
            match = _NAME.match(name) or _AS_FACTOR.match(name)
            if not match:
                where = offset + text.find(name.strip()) if name.strip() else offset
                raise FormulaError(formula, where, f"grouping factor {name.strip()!r} is not a column name")
            names.append(match.group(1).strip("`"))
        nested = names + nested
        groups.append(tuple(nested))
    return groups


def _check_joined(formula: str, tilde: int, spans: list[tuple[int, int]]) -> None:
    """Each random-effects term is a term of its own: preceded by '+' (or first after '~') and
    followed by '+', '-' or the end. ``x (1 | g)`` is a missing operator, not two terms."""
    previous, last = None, tilde + 1
    for open_pos, close_pos in spans:
        term = formula[open_pos : close_pos + 1]
        between = formula[last:open_pos]
        named = _NAME_BEFORE.search(between)
        if named is not None and (named.group(1) in STRUCTURES or named.group(1) in UNAVAILABLE):
            between = between[: named.start()]  # ar1(x | g): the structure's name is the term's
        elif named is not None and named.end() == len(between) and named.group(0) == named.group(1):
            _structure_name(formula, between, open_pos)  # arl(x | g): a name against '(' is no structure
        between = between.strip()
        if previous is not None and between and between[0] not in "+-":
            right = _first_term(between.lstrip(_OPERATORS))
            _refuse_join(formula, formula.index(between, last), previous, right, between[0])
        if (between or previous is not None) and not between.endswith("+"):
            left = _last_term(between.rstrip(_OPERATORS)) or previous or ""
            _refuse_join(formula, open_pos, left, term, between[-1:])
        previous, last = term, close_pos + 1
    after = formula[last:].strip()
    if previous is not None and after and after[0] not in "+-":
        right = _first_term(after.lstrip(_OPERATORS))
        _refuse_join(formula, formula.index(after, last), previous, right, after[0])


_OPERATORS = "+-*:/^%|~"


def _refuse_join(formula: str, position: int, left: str, right: str, operator: str) -> None:
    where = f"between {left!r} and {right!r}"
    if operator and operator in _OPERATORS:
        message = f"a random-effects term is added with '+', not {operator!r} ({where})"
    else:
        message = f"expected an operator {where}: a random-effects term is added with '+'"
    raise FormulaError(formula, position, message)


def _top_level_plus(text: str) -> list[int]:
    """Positions of the '+' signs of ``text`` outside parentheses."""
    depth, found = 0, []
    for pos, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth == 0:
            found.append(pos)
    return found


def _last_term(text: str) -> str:
    """The last term of ``text`` (after its last top-level '+')."""
    plus = _top_level_plus(text)
    return text[plus[-1] + 1 :].strip() if plus else text.strip()


def _first_term(text: str) -> str:
    """The first term of ``text`` (before its first top-level '+')."""
    plus = [p for p in _top_level_plus(text) if p > 0]
    return text[: plus[0]].strip() if plus else text.strip()


def parse_formula(formula: str) -> ParsedFormula:
    """Split ``formula`` into response, fixed part and random-effects terms.

    Parameters
    ----------
    formula : str
        An lme4-style formula, e.g. ``"y ~ x + (1 | g)"``.

    Returns
    -------
    ParsedFormula

    Raises
    ------
    FormulaError
        When the formula has no ``~``, unbalanced parentheses, an empty side, or a bar term
        whose grouping is not a column name.
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, not {type(formula).__name__}")
    return _parse(formula)


@functools.lru_cache(maxsize=256)
def _parse(formula: str) -> ParsedFormula:
    """:func:`parse_formula` of a string, cached: the result is immutable and a session fits
    the same few formulas again and again (a refit, a bootstrap, a benchmark); an error is
    raised again on each call (exceptions are not cached)."""
    tilde = formula.find("~")
    if tilde < 0:
        raise FormulaError(formula, len(formula), "the formula has no '~' between response and terms")
    _check_parens(formula)
    if formula.rstrip() and formula.rstrip()[-1] in "+-*:/^|~":
        raise FormulaError(formula, len(formula.rstrip()) - 1, "the formula ends with an operator")
    response = formula[:tilde].strip()
    if not response:
        raise FormulaError(formula, 0, "the formula has no response on the left of '~'")
    if "~" in formula[tilde + 1 :]:
        raise FormulaError(formula, formula.index("~", tilde + 1), "the formula has more than one '~'")
    random: list[RandomTerm] = []
    pieces, last = [], tilde + 1
    spans = _bar_groups(formula, tilde + 1)
    _check_joined(formula, tilde, spans)
    for open_pos, close_pos in spans:
        before, structure = _structure_name(formula, formula[last:open_pos], open_pos)
        pieces.append(before)
        last = close_pos + 1
        inner = formula[open_pos + 1 : close_pos]
        double = "||" in inner
        bar = inner.index("||" if double else "|")
        expr = inner[:bar].strip()
        if not expr:
            raise FormulaError(formula, open_pos + 1, "nothing on the left of '|' in a random-effects term")
        rhs = inner[bar + (2 if double else 1) :]
        if not rhs.strip():
            raise FormulaError(formula, close_pos, "no grouping factor on the right of '|'")
        if double and structure != "us":
            raise FormulaError(
                formula,
                open_pos,
                f"{structure}(...) takes a single '|', not '||': the structure sets the correlations "
                f"(diag(...) is lme4's '||'); write {structure}({expr} | {rhs.strip()})",
            )
        for factors in _group_factors(formula, rhs, open_pos + bar + 2):
            random.append(RandomTerm(expr=expr, factors=factors, correlated=not double, structure=structure))
    pieces.append(formula[last:])
    fixed, offsets = _split_offsets("".join(pieces), formula)
    fixed = _clean_fixed(fixed, formula)
    return ParsedFormula(response=response, fixed=fixed, random=tuple(random), text=formula, offsets=offsets)


_NAME_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*$")


def _structure_name(formula: str, before: str, open_pos: int) -> tuple[str, str]:
    """The text before a bar term without the name of a covariance structure written around it
    (``ar1(times + 0 | id)``), and that name (``"us"`` where there is none); glmmTMB's structures
    that are not available are refused by name."""
    match = _NAME_BEFORE.search(before)
    if match is None:
        return before, "us"
    name = match.group(1)
    if name in STRUCTURES:
        return before[: match.start()], name
    if name in UNAVAILABLE:
        raise FormulaError(
            formula,
            open_pos - len(name),
            f"the covariance structure {name}(...) is not available; available: "
            + ", ".join(f"{k}(...)" for k in STRUCTURES),
        )
    close = difflib.get_close_matches(name, [*STRUCTURES, *UNAVAILABLE], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}(...)?" if close and close[0] in STRUCTURES else ""
    raise FormulaError(
        formula,
        open_pos - len(name),
        f"unknown covariance structure {name!r} around a random-effects term; available: "
        + ", ".join(f"{k}(...)" for k in STRUCTURES)
        + hint,
    )


_OFFSET = re.compile(r"^offset\s*\((?P<expr>.*)\)$", re.DOTALL)


def _split_offsets(text: str, formula: str) -> tuple[str, tuple[str, ...]]:
    """The fixed part without its ``offset(expr)`` terms, and their expressions.

    An offset is a term of its own, joined by ``+`` (as R reads it); one inside another term
    (``x:offset(z)``, ``-offset(z)``) is refused.
    """
    kept, offsets = [], []
    for token in _split_plus(text):
        match = _OFFSET.match(token)
        if match and _balanced(match.group("expr")):
            expr = match.group("expr").strip()
            if not expr:
                raise FormulaError(formula, formula.find("offset"), "offset() needs an expression")
            offsets.append(expr)
        else:
            kept.append(token)
    rest = " + ".join(kept)
    found = re.search(r"(?<![\w.])offset\s*\(", rest)
    if found:
        raise FormulaError(
            formula,
            max(formula.find(found.group(0)), 0),
            "offset(expr) must be a term of its own, added with '+' (y ~ x + offset(log(t)))",
        )
    return rest, tuple(offsets)


def _balanced(text: str) -> bool:
    """Whether the parentheses of ``text`` pair up (offset(a) + b(c) is two terms, not one)."""
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0


def _split_plus(text: str) -> list[str]:
    """Split ``text`` at the '+' signs outside parentheses."""
    parts, depth, last = [], 0, 0
    for pos, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth == 0:
            parts.append(text[last:pos])
            last = pos + 1
    parts.append(text[last:])
    return [p.strip() for p in parts]


def _clean_fixed(text: str, formula: str) -> str:
    """Tidy the fixed part after bar terms were cut out: stray '+' signs, an empty remainder."""
    fixed = ""
    for token in filter(None, _split_plus(text)):
        joiner = " " if token.startswith("-") else " + "
        fixed = f"{fixed}{joiner}{token}" if fixed else token
    if fixed.startswith("-"):
        fixed = f"1 {fixed}"
    if fixed and fixed[-1] in "-*:/^":
        raise FormulaError(formula, len(formula) - 1, "the formula ends with an operator")
    return fixed or "1"


_CBIND = re.compile(r"^\s*cbind\s*\((?P<args>.*)\)\s*$", re.S)


def cbind_arguments(response: str) -> list[str] | None:
    """The arguments of ``cbind(a, b)`` split at top-level commas, or None for another response."""
    match = _CBIND.match(response)
    if match is None:
        return None
    return [arg.strip() for arg in split_arguments(match.group("args"))]


def split_arguments(inner: str) -> list[str]:
    """The top-level comma-separated arguments of a call's text (brackets and quotes respected)."""
    parts, depth, quote, current = [], 0, "", ""
    for ch in inner:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    return [*parts, current]
