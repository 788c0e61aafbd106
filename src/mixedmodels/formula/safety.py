"""Safe formula mode: read a formula's expressions without running code that is not arithmetic.

formulaic evaluates each expression of a formula as Python, so a formula is code:
``I(np.testing._private.utils.os.system("..."))`` runs a shell command. With
``mixedmodels.options.safe_formulas = True`` (always on in the command line), every expression is
parsed with :mod:`ast` before anything is evaluated and accepted only if it is built from

- data columns (names that are columns of the data), numbers, and strings as options;
- arithmetic ``+ - * / // % ** ^`` (a constant exponent at most 64 in size, so that
  ``10 ** 10 ** 10`` cannot exhaust the machine), unary ``+ -``, and comparisons;
- calls of an allow-list of functions by plain name (``log``, ``exp``, ``sqrt``, ``I``, ``C``,
  ``poly``, ``scale`` ..., R's ``factor``/``as.factor``/``ordered`` of a column) or numpy's
  spelling ``np.log``, with arguments themselves safe.

Attribute access (but ``np.<allowed>`` and ``contr.<coding>``), dunder names, subscripts,
lambdas, comprehensions and any other call are refused with a :class:`FormulaError` that points
at the offending piece. Arithmetic is allowed on numeric columns only (string arithmetic such as
``"a" * 10 ** 9`` could exhaust memory), and a formula power ``(a + b + c)^k`` only as large as
formulaic expands quickly.

One gate, :func:`admit`, sees a model before anything of it is evaluated: every expression an
evaluator will read (:func:`expression_slots`: the response and each side of ``cbind``, the
fixed part, each ``offset()``, each random-effects term and its grouping factors), each read
token by token (so a subtracted term is checked too), and ``contrasts``; ``weights=`` and
``offset=`` given as text are column names, looked up and never evaluated. The functions that
call formulaic check again (:func:`guard`), so a path that skipped the gate still evaluates no
code, and in safe mode their errors give the kind of a failure, not its text (which can show
evaluated values).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn

import numpy as np
import pandas as pd
from formulaic.parser import DefaultFormulaParser

from ..base.options import options
from .rsyntax import CONTRAST_NAMES, FUNCTION_NAMES, call_column, factor_calls, translate_powers
from .terms import FormulaError, ParsedFormula, cbind_arguments

__all__ = ["SAFE_FUNCTIONS", "Slot", "admit", "check_safe", "expression_slots", "failure", "guard"]

MATH_FUNCTIONS = frozenset(
    {"log", "log2", "log10", "log1p", "exp", "exp2", "expm1", "sqrt", "abs", "sin", "cos", "tan"}
)
SAFE_FUNCTIONS = MATH_FUNCTIONS | {"I", "C", "Q", "poly", "scale", "center", "standardize", "offset"}
_NUMPY = frozenset({"np", "numpy"})
_CODINGS = frozenset({"treatment", "sum", "helmert", "poly", "diff"})
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitXor)
_COMPARISON = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
MAX_EXPONENT = 64
MAX_POWER_WORK = 20_000  # (terms in a group)^k of a formula power: (a + b + c + d + e + f)^5 at most
_PARSER = DefaultFormulaParser()
Fail = Callable[..., NoReturn]  # raises the FormulaError of a refused piece
_ALLOWED_TEXT = (
    "safe formula mode (mixedmodels.options.safe_formulas) allows data columns, numbers, "
    "arithmetic and the functions " + ", ".join(sorted(SAFE_FUNCTIONS | {"factor", "ordered"}))
)


class _RefusedError(Exception):
    def __init__(self, node: ast.AST, what: str):
        self.node, self.what = node, what


class _Checker:
    """Checks one expression's tree against the data's columns."""

    def __init__(self, columns: Mapping[str, bool], factors: set[str]):
        self.columns = columns  # name -> numeric?
        self.factors = factors  # placeholders of factor(x) calls

    # --------------------------------------------------------------- entry points
    def factor(self, node: ast.AST) -> None:
        """A whole formula factor: a column of any type may stand alone."""
        if isinstance(node, ast.Name):
            self.name(node, numeric=False)
        else:
            self.value(node)

    def name(self, node: ast.Name, numeric: bool) -> None:
        if node.id in self.factors:
            if numeric:
                raise _RefusedError(node, "arithmetic on a factor")
            return
        if node.id in self.columns:
            if numeric and not self.columns[node.id]:
                raise _RefusedError(node, f"arithmetic on the non-numeric column {node.id!r}")
            return
        if node.id.startswith("__") or node.id.endswith("__"):
            raise _RefusedError(node, f"the dunder name {node.id!r}")
        if node.id in FUNCTION_NAMES or node.id in _NUMPY:
            raise _RefusedError(node, f"{node.id!r} used as a value (it is not a column of the data)")
        # any other name is a missing column: reported as such before anything is evaluated

    def value(self, node: ast.AST) -> None:
        """An expression whose value is numeric (or a comparison's truth value)."""
        if isinstance(node, ast.Name):
            self.name(node, numeric=True)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise _RefusedError(node, f"the constant {node.value!r} in arithmetic")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            self.value(node.operand)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC):
            self.value(node.left)
            self.value(node.right)
            if isinstance(node.op, (ast.Pow, ast.BitXor)):
                self.power(node)
        elif isinstance(node, ast.Compare) and all(isinstance(op, _COMPARISON) for op in node.ops):
            for operand in [node.left, *node.comparators]:
                self.compared(operand)
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            raise _RefusedError(node, _describe(node))

    def compared(self, node: ast.AST) -> None:
        if isinstance(node, ast.Name) and (node.id in self.columns or node.id in self.factors):
            return  # a column of any type may be compared
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return
        self.value(node)

    def power(self, node: ast.BinOp) -> None:
        """Refuse constant powers that could take unbounded time (``10 ** 10 ** 10``)."""
        if _has_name(node.right):
            return
        exponent = _number(node.right)
        if exponent is None or abs(exponent) > MAX_EXPONENT:
            raise _RefusedError(node.right, f"an exponent other than a number of size at most {MAX_EXPONENT}")
        if not _has_name(node.left) and any(
            isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Pow, ast.BitXor)) for n in ast.walk(node.left)
        ):
            raise _RefusedError(node, "a power of a constant power")

    # --------------------------------------------------------------- calls
    def call(self, node: ast.Call) -> None:
        name = self.function_name(node.func)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise _RefusedError(node, "*args or **kwargs in a call")
        if name == "Q":
            self.quoted(node)
            return
        if not node.args:
            raise _RefusedError(node, f"{name}() without an argument")
        first, rest = node.args[0], node.args[1:]
        if name == "C":
            self.factor(first)
            for arg in rest:
                self.coding(arg)
            for kw in node.keywords:
                self.coding(kw.value) if kw.arg == "contr" else self.option(kw.value)
            return
        self.value(first)
        for arg in rest:
            self.option(arg)
        for kw in node.keywords:
            self.option(kw.value)

    def function_name(self, func: ast.AST) -> str:
        if isinstance(func, ast.Name):
            if func.id in SAFE_FUNCTIONS:
                return func.id
            raise _RefusedError(func, f"a call of {func.id}(), which is not on the allow-list")
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in _NUMPY:
            if func.attr in MATH_FUNCTIONS:
                return func.attr
            what = f"a call of {func.value.id}.{func.attr}(), which is not on the allow-list"
            raise _RefusedError(func, what)
        raise _RefusedError(func, f"a call of {_segment(func)}, which is not on the allow-list")

    def quoted(self, node: ast.Call) -> None:
        args = node.args
        if len(args) != 1 or node.keywords or not isinstance(args[0], ast.Constant):
            raise _RefusedError(node, "Q() with anything but one quoted column name")
        if args[0].value not in self.columns:
            raise _RefusedError(node, f"Q({args[0].value!r}), which is not a column of the data")

    def coding(self, node: ast.AST) -> None:
        """The contrast argument of ``C(x, ...)``."""
        if isinstance(node, ast.Name) and node.id in CONTRAST_NAMES:
            return
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "contr"
            and node.attr in _CODINGS
        ):
            return
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CONTRAST_NAMES:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self.option(arg)
            return
        self.option(node)

    def option(self, node: ast.AST) -> None:
        """An option of a call: a constant, or a list or tuple of them."""
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _number(node) is not None:
            return
        if isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                self.option(element)
            return
        raise _RefusedError(node, f"{_describe(node)} as an option of a call")


def _number(node: ast.AST) -> float | None:
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # a number, not True
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    return None


def _has_name(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


_KINDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.IfExp: "a conditional expression",
    ast.NamedExpr: "an assignment expression",
    ast.BoolOp: "'and'/'or'",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.Starred: "a starred expression",
}


def _describe(node: ast.AST) -> str:
    kind = _KINDS.get(type(node))
    if kind is None:
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            kind = f"the operator {type(node.op).__name__}"
        elif isinstance(node, ast.Compare):
            kind = "a comparison operator other than == != < <= > >="
        elif isinstance(node, ast.Constant):
            kind = f"the constant {node.value!r}"
        else:
            kind = type(node).__name__
    return f"{kind} ({_segment(node)})"


def _segment(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover - unparse handles every parsed node
        return type(node).__name__


# ------------------------------------------------------------------ the formula's expressions
def _column_kinds(data: pd.DataFrame) -> dict[str, bool]:
    """Each column's name and whether arithmetic may use it (numeric, not categorical, not
    boolean: the model frame reads booleans as a factor). A duplicated name is numeric only if
    all its columns are (using it is refused later, by name)."""
    kinds: dict[str, bool] = {}
    for col, dtype in zip(data.columns, data.dtypes):
        numeric = (
            pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)
            and not isinstance(dtype, pd.CategoricalDtype)
        )
        kinds[str(col)] = bool(numeric) and kinds.get(str(col), True)
    return kinds


def _without_factor_calls(part: str, columns, fail: Fail) -> tuple[str, set[str]]:
    out: list[str] = []
    placeholders: set[str] = set()
    pos = 0
    for begin, end, function, argument in factor_calls(part):
        column = call_column(function, argument)
        name = column[1:-1] if column.startswith("`") and column.endswith("`") else column
        if name not in columns:
            fail(begin, f"{function}() of {argument!r}: it takes a column of the data")
        alias = f"__mm_f{len(placeholders)}__"
        placeholders.add(alias)
        out += [part[pos:begin], alias]
        pos = end
    out.append(part[pos:])
    return "".join(out), placeholders


@dataclass(frozen=True)
class Slot:
    """One expression of a model that will be evaluated.

    Attributes
    ----------
    kind : str
        Where it is: "response", "fixed", "offset", "random", "grouping".
    text : str
        The right-hand side that is checked, as it is evaluated (an offset's or a response's
        expression inside ``I()``, which is how the evaluators read it).
    source : str
        The piece of the formula it comes from (to point at it in a message).
    """

    kind: str
    text: str
    source: str


def _is_identifier(text: str) -> bool:
    return text.strip().isidentifier()


def expression_slots(parsed: ParsedFormula, columns: Mapping[str, bool]) -> list[Slot]:
    """Every expression of ``parsed`` that reaches an evaluator, in the formula's order.

    The response (each side of ``cbind``, when it is not a column), the fixed part, each
    ``offset()`` term, each random-effects term's left of the bar and its grouping factors.
    """
    slots: list[Slot] = []
    response = parsed.response
    sides = cbind_arguments(response)
    if sides is not None:
        slots += [Slot("response", f"I({side})", side) for side in sides if side not in columns]
    elif response not in columns:
        slots.append(Slot("response", f"I({response})", response))
    slots.append(Slot("fixed", parsed.fixed, parsed.fixed))
    for expr in parsed.offsets:
        slots.append(Slot("offset", expr if _is_identifier(expr) else f"I({expr})", expr))
    for term in parsed.random:
        slots.append(Slot("random", term.expr, term.expr))
        slots += [Slot("grouping", name, name) for name in term.factors]
    return slots


def _failer(parsed: ParsedFormula, source: str) -> Fail:
    base = max(parsed.text.find(source.strip()), 0) if source.strip() else 0

    def fail(offset: int, what: str, piece: str | None = None) -> NoReturn:
        where = parsed.text.find(piece, base) if piece else -1
        position = where if where >= 0 else base + max(offset, 0)
        raise FormulaError(parsed.text, position, f"{what}: {_ALLOWED_TEXT}")

    return fail


def _check_slot(slot: Slot, columns: Mapping[str, bool], fail: Fail) -> None:
    if slot.kind == "grouping":  # a name (the parser allows nothing else), never evaluated
        if slot.text not in columns:
            _check_missing_name(slot.text, fail)
        return
    text, placeholders = _without_factor_calls(translate_powers(slot.text), columns, fail)
    if "`" in text:
        fail(text.find("`"), "a backticked name (rename the column)")
    try:
        tokens = list(_PARSER.get_tokens(text))
    except Exception as exc:  # formulaic's parse errors carry their own message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(0, f"cannot read {slot.source.strip()!r} ({first})")
    _check_formula_powers(tokens, fail)
    checker = _Checker(columns, placeholders)
    for token in tokens:
        kind = token.kind.value
        if kind == "name":  # a column, or a missing one reported as such before evaluation
            if token.token not in columns and token.token not in placeholders:
                _check_missing_name(token.token, fail)
        elif kind == "python":
            try:
                tree = ast.parse(token.token, mode="eval")
                checker.factor(tree.body)
            except SyntaxError:
                fail(0, f"cannot read the expression {token.token!r}")
            except _RefusedError as refused:
                fail(0, f"refused {refused.what}", _first_token(refused.node))


def _check_formula_powers(tokens: list, fail: Fail) -> None:
    """Refuse a formula power ``(a + b + c)^k`` whose expansion would take unbounded time:
    formulaic's work grows as (terms in the group)^k."""
    for i, token in enumerate(tokens):
        if token.kind.value != "operator" or not token.token.startswith(("**", "^")):
            continue
        exponent = _exponent(token, tokens[i + 1] if i + 1 < len(tokens) else None)
        if exponent is None:
            fail(0, f"a formula power {token.token} other than a whole number", token.token)
        terms = _powered_terms(tokens, i)
        if terms > 1 and terms**exponent > MAX_POWER_WORK:
            fail(
                0,
                f"a formula power of {terms} terms to the {int(exponent)} "
                f"({terms}^{int(exponent)} products, more than {MAX_POWER_WORK})",
                token.token,
            )


def _exponent(operator, following) -> int | None:
    """The whole, non-negative exponent of a formula power, or None."""
    if following is None or operator.token not in ("**", "^") or following.kind.value != "value":
        return None
    try:
        value = _number(ast.parse(following.token, mode="eval").body)
    except SyntaxError:
        return None
    return int(value) if value is not None and value >= 0 and value == int(value) else None


def _powered_terms(tokens: list, at: int) -> int:
    """How many names and expressions the group before the power operator at ``at`` holds."""
    if at == 0 or tokens[at - 1].token != ")":
        return 1
    depth, count = 0, 0
    for token in reversed(tokens[:at]):
        if token.token == ")":
            depth += 1
        elif token.token == "(":
            depth -= 1
            if depth == 0:
                break
        elif token.kind.value in ("name", "python"):
            count += 1
    return max(count, 1)


def _check_missing_name(name: str, fail: Fail) -> None:
    """A name that is not a column is reported as a missing column, unless it names code."""
    if name in FUNCTION_NAMES or name in _NUMPY or name.startswith("__") or name.endswith("__"):
        fail(0, f"refused the name {name!r}, which is not a column of the data", name)


def _first_token(node: ast.AST) -> str:
    """A piece of text to find the refused node by in the formula."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return _segment(node)


def _check_contrasts(contrasts) -> None:
    """``contrasts`` map a name to a coding's name or a matrix of numbers, nothing callable.

    ``weights=`` and ``offset=`` need no check: given as text they name a column, which is
    looked up (:func:`~mixedmodels.formula.design.column_term`), never evaluated."""
    for key, spec in dict(contrasts or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"contrasts are keyed by a column's name, not {type(key).__name__}")
        if not isinstance(spec, (str, np.ndarray, list, tuple, pd.DataFrame)):
            kind = type(spec).__name__
            raise TypeError(f"contrasts for {key!r}: a coding's name ('sum') or a matrix, not {kind}")


def check_safe(parsed: ParsedFormula, data: pd.DataFrame, *, contrasts=None) -> None:
    """Refuse a model with anything but columns, numbers, arithmetic and allowed calls.

    Every expression that an evaluator will read (:func:`expression_slots`: the response, the
    fixed part, the offsets, the random-effects terms and their grouping factors) is checked,
    and so are the codings (``contrasts``), before anything is evaluated. ``weights=`` and
    ``offset=`` need none: given as text they name a column, looked up, never evaluated.

    Parameters
    ----------
    parsed : ParsedFormula
        The formula, split into response, fixed part, offsets and random-effects terms.
    data : pandas.DataFrame
        The data (only its column names and types are used).
    contrasts : mapping, optional
        The model's ``contrasts``.

    Raises
    ------
    FormulaError
        Pointing at the first piece the safe mode refuses, naming it.
    """
    columns = _column_kinds(data)
    for slot in expression_slots(parsed, columns):
        _check_slot(slot, columns, _failer(parsed, slot.source))
    _check_contrasts(contrasts)


def admit(parsed: ParsedFormula, data: pd.DataFrame, *, contrasts=None) -> None:
    """The gate every model passes before anything of it is evaluated: :func:`check_safe` when
    ``mixedmodels.options.safe_formulas`` is on, nothing otherwise."""
    if options.safe_formulas:
        check_safe(parsed, data, contrasts=contrasts)


def guard(rhs: str, frame: pd.DataFrame) -> None:
    """The evaluators' own check in safe mode: ``rhs`` is about to be evaluated on ``frame``.

    Every expression passed :func:`admit` already; this repeats the check where formulaic is
    called (the model matrices, the response, new data for predictions), so that a path which
    skipped the gate still cannot evaluate code.
    """
    if not options.safe_formulas:
        return
    columns = _column_kinds(frame)
    parsed = ParsedFormula(response="", fixed=rhs, random=(), text=rhs)
    _check_slot(Slot("fixed", rhs, rhs), columns, _failer(parsed, rhs))


def failure(exc: BaseException) -> str:
    """An evaluator's error for a message: its text, or in safe mode only its kind (the text may
    show values the evaluation produced)."""
    if options.safe_formulas:
        return f"{type(exc).__name__} (its text is not shown in safe formula mode)"
    return str(exc)
