"""R's habits in formulas, translated for formulaic.

formulaic evaluates the Python expressions of a formula in a namespace where the data's columns
come first, then its own functions (``C``, ``I``, ``log``, ``Treatment``, ``np`` ...). R resolves
a name by how it is used: as a variable it is the data's column, as a call it is the function.
This module makes formulaic do the same, and reads R's spellings:

- ``factor(x)``, ``as.factor(x)``, ``ordered(x)`` (and ``as.ordered``) become a categorical
  copy of column ``x`` (levels sorted, numbers numerically, as R's ``factor()``; ordered ones
  get R's polynomial contrasts), named in the model matrix as R names it: ``factor(period)2``;
- ``relevel(x, "b")`` (or ``ref = "b"``; a number is the level's position, from 1, as in R)
  is the factor ``x`` with level ``b`` moved first, the reference of treatment contrasts, named
  as R names it: ``relevel(trt, "placebo")drugA``; an unknown level is refused by name;
- a column whose name is also used as a function, a namespace (``np.log``) or a contrast in the
  same formula is renamed for the evaluation and its R name restored in the column names;
- R's mathematical functions without a formulaic spelling (``sqrt``, ``abs``, ``log1p`` ...)
  are provided;
- a ``cbind()`` response (a binomial model) in ``lmer``/``lm`` is refused with a pointer to
  ``glmer``/``glm``, not "column 'cbind' is not in the data"; an ``offset()`` anywhere but in
  the fixed part is refused.
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from formulaic import Formula
from formulaic.parser.types import Factor
from formulaic.transforms import TRANSFORMS

from .terms import FormulaError, ParsedFormula

__all__ = [
    "FACTOR_CALLS",
    "R_FUNCTIONS",
    "Derived",
    "Prepared",
    "add_derived",
    "call_column",
    "check_supported",
    "expression_names",
    "prepare",
    "r_keywords",
    "translate_powers",
    "variables",
]

FACTOR_CALLS = ("as.factor", "as.ordered", "factor", "ordered", "relevel")
_FACTOR_CALL = re.compile(r"(?<![\w.])(as\.factor|as\.ordered|factor|ordered|relevel)\s*\(")
_BACKTICK = re.compile(r"`([^`]+)`")
_ALIAS = re.compile(r"__mm_[vb]\d+__")

# R's spellings of mathematical functions that formulaic's namespace lacks
R_FUNCTIONS = {
    "sqrt": np.sqrt,
    "abs": np.abs,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
}
CONTRAST_NAMES = frozenset({"Treatment", "Sum", "Helmert", "Poly", "Diff"})
FUNCTION_NAMES = frozenset(TRANSFORMS) | frozenset(R_FUNCTIONS)


@dataclass(frozen=True)
class Derived:
    """A column made for the evaluation: ``alias`` from data column ``source``.

    ``kind`` is "copy" (a renamed column), "factor" or "ordered"; ``levels`` are the
    categories of a factor (kept so that new data is coded as the training data).
    """

    alias: str
    source: str
    kind: str
    label: str
    levels: tuple = ()


@dataclass(frozen=True)
class Prepared:
    """A right-hand side ready for formulaic, with the frame it is evaluated on."""

    text: str
    frame: pd.DataFrame
    derived: tuple[Derived, ...] = ()
    contrasts: dict = field(default_factory=dict)

    def r_name(self, name: str) -> str:
        """``name`` with the aliases replaced by R's spellings (``factor(period)2``)."""
        return restore_names(name, self.derived)


def restore_names(name: str, derived: tuple[Derived, ...]) -> str:
    """Replace the aliases of ``derived`` in ``name`` by their R labels."""
    if not derived:
        return name
    labels = {d.alias: d.label for d in derived}
    return _ALIAS.sub(lambda m: labels.get(m.group(0), m.group(0)), name)


def translate_powers(text: str) -> str:
    """R's ``I(x^2)`` is Python's ``I(x**2)``: rewrite '^' inside ``I(...)`` calls."""
    out, pos = [], 0
    for match in re.finditer(r"\bI\(", text):
        if match.start() < pos:
            continue
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += (text[end] == "(") - (text[end] == ")")
            if depth == 0:
                break
        out.append(text[pos : match.start()])
        out.append(text[match.start() : end + 1].replace("^", "**"))
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


# ----------------------------------------------------------------- factor(), as.factor(), ordered()
def _closing(text: str, open_pos: int) -> int:
    """Index of the ')' matching the '(' at ``open_pos`` (or -1)."""
    depth = 0
    for pos in range(open_pos, len(text)):
        depth += (text[pos] == "(") - (text[pos] == ")")
        if depth == 0:
            return pos
    return -1


def factor_calls(text: str) -> list[tuple[int, int, str, str]]:
    """The ``factor(x)``-like calls of ``text``: (start, end, function, argument) each."""
    found: list[tuple[int, int, str, str]] = []
    for match in _FACTOR_CALL.finditer(text):
        if found and match.start() < found[-1][1]:
            continue  # nested in an earlier call's argument
        close = _closing(text, match.end() - 1)
        if close < 0:
            continue
        found.append((match.start(), close + 1, match.group(1), text[match.end() : close].strip()))
    return found


def call_column(function: str, argument: str) -> str:
    """The column argument of a ``factor()``-like call: ``relevel``'s first argument, the
    others' only one (as written, backticks kept)."""
    if function != "relevel":
        return argument
    depth = 0
    for pos, ch in enumerate(argument):
        depth += (ch in "([{") - (ch in ")]}")
        if ch == "," and depth == 0:
            return argument[:pos].strip()
    return argument.strip()


def _relevel_reference(text: str, begin: int, argument: str) -> str | int | float:
    """The reference of ``relevel(x, ref)``: a level (a string) or its position (a number)."""
    column = call_column("relevel", argument)
    rest = argument[len(column) :].strip().lstrip(",").strip()
    rest = re.sub(r"^ref\s*=\s*", "", rest)
    try:
        value = ast.literal_eval(rest) if rest else None
    except (ValueError, SyntaxError):
        value = None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise FormulaError(
            text, begin, f'cannot read relevel({argument}): it takes a column and a level, relevel(x, "b")'
        )
    return value


def _relevel(text: str, begin: int, argument: str, source: str, levels: list) -> list:
    """The levels with ``relevel``'s reference first (R's ``relevel``)."""
    ref = _relevel_reference(text, begin, argument)
    shown = ", ".join(map(str, levels))
    if isinstance(ref, str):
        found = [level for level in levels if str(level) == ref]
        if not found:
            message = f"relevel({argument}): {ref!r} is not a level of {source!r}; its levels are: {shown}"
            raise FormulaError(text, begin, message)
        first = found[0]
    else:
        if ref != int(ref) or not 1 <= int(ref) <= len(levels):
            message = (
                f"relevel({argument}): {source!r} has no level at position {ref!r} (1 to {len(levels)}); "
                f"its levels are: {shown}"
            )
            raise FormulaError(text, begin, message)
        first = levels[int(ref) - 1]
    return [first, *(level for level in levels if level is not first and level != first)]


def _column_argument(text: str, begin: int, function: str, argument: str, columns) -> str:
    argument = call_column(function, argument)
    name = argument[1:-1] if argument.startswith("`") and argument.endswith("`") else argument
    if name not in columns:
        what = f"column {name!r} is not in the data" if _is_name(name) else "it takes a column name here"
        raise FormulaError(text, begin, f"cannot read {function}({argument}): {what}")
    return name


def _is_name(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_.][\w.]*", text) is not None


def r_levels(series: pd.Series) -> list:
    """The levels R's ``factor()`` gives a column: its categories, or its sorted values."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return list(series.cat.categories)
    return list(pd.Categorical(series.dropna()).categories)


def _factor_column(series: pd.Series, levels, ordered: bool) -> pd.Categorical:
    return pd.Categorical(np.asarray(series, dtype=object), categories=list(levels), ordered=ordered)


def _substitute_factor_calls(text: str, frame: pd.DataFrame, start: int) -> tuple[str, list[Derived]]:
    derived: list[Derived] = []
    out, pos = [], 0
    for begin, end, function, argument in factor_calls(text):
        source = _column_argument(text, begin, function, argument, frame.columns)
        alias = f"__mm_v{start + len(derived)}__"
        kind = "ordered" if "ordered" in function else "factor"
        label = f"{function}({argument})"
        levels = r_levels(frame[source])
        if function == "relevel":
            levels = _relevel(text, begin, argument, source, levels)
        derived.append(Derived(alias, source, kind, label, tuple(levels)))
        out += [text[pos:begin], alias]
        pos = end
    out.append(text[pos:])
    return "".join(out), derived


# ----------------------------------------------------------------- names: variables and functions
def _swap_backticks(expr: str) -> tuple[str, dict[str, str]]:
    """``expr`` with backticked names replaced by identifiers, and the map back."""
    quoted: dict[str, str] = {}

    def swap(match: re.Match) -> str:
        key = f"__mm_b{len(quoted)}__"
        quoted[key] = match.group(1)
        return key

    return _BACKTICK.sub(swap, expr), quoted


def _python(expr: str) -> tuple[ast.Expression, dict[str, str]]:
    """``expr`` parsed, with backticked names replaced by identifiers (returned as a map)."""
    swapped, quoted = _swap_backticks(expr)
    return ast.parse(swapped, mode="eval"), quoted


def _contrast_arguments(call: ast.Call) -> list[ast.expr]:
    """The arguments of ``C(x, contr, ...)`` that name a coding, not data."""
    if not (isinstance(call.func, ast.Name) and call.func.id == "C"):
        return []
    return list(call.args[1:]) + [k.value for k in call.keywords if k.arg in ("contr", "spans_intercept")]


def expression_names(tree: ast.AST) -> tuple[list[ast.Name], set[str]]:
    """Names used as variables (nodes) and names used as functions, namespaces or codings."""
    functional: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            head = node.func
            while isinstance(head, ast.Attribute):
                head = head.value
            if isinstance(head, ast.Name):
                functional.add(head.id)
                skip.add(id(head))
            for arg in _contrast_arguments(node):
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Name) and (sub.id in CONTRAST_NAMES or sub.id == "contr"):
                        functional.add(sub.id)
                        skip.add(id(sub))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            functional.add(node.value.id)
            skip.add(id(node.value))
    used = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in skip]
    return used, functional


def _factors(text: str, response: bool = False) -> list[list[Factor]]:
    terms = Formula(f"{text} ~ 1").lhs if response else Formula(text)
    return [list(term.factors) for term in terms]


def _factor_names(factor: Factor) -> tuple[set[str], set[str]]:
    """Variable names and function-like names of one formulaic factor."""
    if factor.eval_method.value == "literal":
        return set(), set()
    if factor.eval_method.value == "lookup":
        return {factor.expr}, set()
    tree, quoted = _python(factor.expr)
    used, functional = expression_names(tree)
    return {quoted.get(n.id, n.id) for n in used}, functional


def variables(text: str) -> set[str]:
    """The names ``text`` (a right-hand side, R's spellings allowed) uses as variables."""
    names = set()
    pieces, pos = [], 0
    for begin, end, function, argument in factor_calls(text):
        column = call_column(function, argument)
        if not _is_name(column.strip("`")):
            message = f"cannot read {function}({argument}): it takes a column name here"
            raise FormulaError(text, begin, message)
        names.add(column.strip("`"))
        pieces += [text[pos:begin], f"({column})"]  # factor(x) -> (x): x is found as a variable
        pos = end
    stripped = "".join([*pieces, text[pos:]])
    for term in _factors(stripped):
        for factor in term:
            names |= _factor_names(factor)[0]
    return names - {"1", "0"}


# ----------------------------------------------------------------- renaming conflicting columns
def _rename_in(expr: str, factor: Factor, renames: Mapping[str, str]) -> str:
    if factor.eval_method.value == "lookup":
        return renames.get(factor.expr, f"`{factor.expr}`" if not _is_name(factor.expr) else factor.expr)
    if factor.eval_method.value == "literal":
        return expr
    swapped, quoted = _swap_backticks(expr)  # one line: ast's offsets index this text
    used, _ = expression_names(ast.parse(swapped, mode="eval"))
    edits = []
    for node in used:
        name = quoted.get(node.id, node.id)
        if name in renames:
            edits.append((node.col_offset, node.end_col_offset, renames[name]))
    for begin, end, new in sorted(edits, reverse=True):
        swapped = swapped[:begin] + new + swapped[end:]
    return _ALIAS_B.sub(lambda m: f"`{quoted[m.group(0)]}`", swapped)


_ALIAS_B = re.compile(r"__mm_b\d+__")


def _rebuild(factors: list[list[Factor]], renames: Mapping[str, str], response: bool) -> str:
    parts, intercept = [], False
    for term in factors:
        exprs = [f.expr for f in term]
        if exprs == ["1"]:
            intercept = True
            continue
        if exprs == ["0"]:
            continue
        parts.append(":".join(_rename_in(f.expr, f, renames) for f in term))
    if response:
        return " + ".join(parts)
    return " + ".join(["1" if intercept else "0", *parts])


def prepare(
    text: str, frame: pd.DataFrame, contrasts: Mapping | None = None, response: bool = False
) -> Prepared:
    """``text`` (a right-hand side in R's spellings) made ready for formulaic on ``frame``.

    Parameters
    ----------
    text : str
        A right-hand side such as ``"factor(period) + Type * Treatment"``.
    frame : pandas.DataFrame
        The model frame; it is not modified (a new frame is returned).
    contrasts : mapping, optional
        The user's contrasts; keys written as in the formula (``"factor(period)"``) are moved
        to the evaluation's column.
    response : bool
        ``text`` is a response (the left of ``~``), read without an intercept.

    Returns
    -------
    Prepared
    """
    text, derived = _substitute_factor_calls(text, frame, 0)
    factors = _factors(text, response)
    used, functional = set(), set()
    for term in factors:
        for factor in term:
            names, funcs = _factor_names(factor)
            used |= names
            functional |= funcs
    clashes = sorted((used & functional) & set(map(str, frame.columns)))
    renames = {}
    for name in clashes:
        alias = f"__mm_v{len(derived)}__"
        derived.append(Derived(alias, name, "copy", name))
        renames[name] = alias
    if renames:
        text = _rebuild(factors, renames, response)
    frame = add_derived(frame, tuple(derived))
    return Prepared(text, frame, tuple(derived), _moved_contrasts(contrasts, derived))


def _moved_contrasts(contrasts: Mapping | None, derived: list[Derived]) -> dict:
    contrasts = dict(contrasts or {})
    for d in derived:
        if d.label in contrasts:
            contrasts[d.alias] = contrasts.pop(d.label)
        elif d.kind == "copy" and d.source in contrasts:
            contrasts[d.alias] = contrasts.pop(d.source)
    return contrasts


def add_derived(frame: pd.DataFrame, derived: tuple[Derived, ...]) -> pd.DataFrame:
    """``frame`` with the derived columns added and renamed columns replaced by their aliases."""
    if not derived:
        return frame
    new = {}
    for d in derived:
        if d.source not in frame.columns:
            continue
        if d.kind == "copy":
            new[d.alias] = frame[d.source]
        else:
            new[d.alias] = _factor_column(frame[d.source], d.levels, d.kind == "ordered")
    renamed = {d.source for d in derived if d.kind == "copy"}
    kept = frame[[c for c in frame.columns if c not in renamed]]
    return kept.assign(**new)


# ----------------------------------------------------------------- not supported yet
def check_supported(parsed: ParsedFormula) -> None:
    """Refuse, with a message saying so, what the library does not support yet."""
    if re.match(r"\s*cbind\s*\(", parsed.response):
        raise parsed.error(
            parsed.response,
            "a cbind(successes, failures) response is a binomial model: fit it with "
            "mm.glmer (random effects) or mm.glm (fixed effects only), family='binomial'",
        )
    parts = [parsed.response, *(t.expr for t in parsed.random)]
    for part in parts:
        match = re.search(r"(?<![\w.])offset\s*\(", part)
        if match:
            at = parsed.text.find(part.strip()) + match.start() if part.strip() else -1
            raise FormulaError(
                parsed.text,
                max(at, 0),
                "offset() belongs in the fixed part of the formula, as a term of its own: "
                "y ~ x + offset(log(t)) + (1 | g)",
            )


# ----------------------------------------------------------------- R's spellings of arguments
_ARGUMENT_HINTS = {
    "family": "{name}() fits Gaussian models: for family= use mm.glmer (mm.glm without random effects)",
    "control": (
        "{name}() has no control=: the optimizer is fixed (BOBYQA with lme4's settings, then Newton "
        "steps to the exact optimum) and needs no tuning"
    ),
    "subset": "subset= is R's: select the rows first, e.g. data[data['x'] > 0]",
    "formula": None,  # a parameter of every model function
}


def _normalized(key: str) -> str:
    return key.lower().replace(".", "_")


def _keyword_error(name: str, key: str, accepted: list[str]) -> Exception:
    hint = _ARGUMENT_HINTS.get(key)
    if key == "family" and name == "glmer_nb":
        hint = "glmer_nb() fits the negative binomial (lme4's glmer.nb): for another family= use mm.glmer"
    if hint:
        return TypeError(hint.format(name=name))
    return unexpected_keyword(name, key, accepted)


def unexpected_keyword(name: str, key: str, accepted: list[str]) -> TypeError:
    """The error for a keyword ``key`` that function ``name`` does not take: it suggests the
    closest of the ``accepted`` names (R's dotted spelling counts as the underscored one), or
    lists them all."""
    same = [a for a in accepted if _normalized(a) == _normalized(key)]
    close = same or difflib.get_close_matches(_normalized(key), accepted, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}=?" if close else f"; it takes {', '.join(accepted)}"
    return TypeError(f"{name}() got an unexpected keyword argument {key!r}{hint}")


def _check_order(name: str, args: tuple, kwargs: Mapping) -> None:
    formula = args[0] if args else kwargs.get("formula")
    if formula is None or isinstance(formula, str):
        return
    data = args[1] if len(args) > 1 else kwargs.get("data")
    if isinstance(data, str):
        raise TypeError(f"{name}() takes the formula first and the data second: {name}({data!r}, data)")
    raise TypeError(f"the formula of {name}() must be a string such as 'y ~ x', not {type(formula).__name__}")


def r_keywords(function):
    """Decorate a model function so that R's spellings of its arguments get a helpful TypeError.

    ``REML=`` suggests ``reml=``, ``na.action=`` suggests ``na_action=``, ``family=`` and
    ``subset=`` say what to do instead, and data given before the formula is named as such.
    """
    accepted = list(inspect.signature(function).parameters)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        for key in kwargs:
            if key not in accepted:
                raise _keyword_error(function.__name__, key, accepted)
        _check_order(function.__name__, args, kwargs)
        return function(*args, **kwargs)

    return wrapper
