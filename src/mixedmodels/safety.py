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
``"a" * 10 ** 9`` could exhaust memory).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import pandas as pd
from formulaic import Formula

from .formula import FormulaError, ParsedFormula
from .rformula import CONTRAST_NAMES, FUNCTION_NAMES, factor_calls, translate_powers

__all__ = ["SAFE_FUNCTIONS", "check_safe"]

MATH_FUNCTIONS = frozenset(
    {"log", "log2", "log10", "log1p", "exp", "exp2", "expm1", "sqrt", "abs", "sin", "cos", "tan"}
)
SAFE_FUNCTIONS = MATH_FUNCTIONS | {"I", "C", "Q", "poly", "scale", "center", "standardize", "offset"}
_NUMPY = frozenset({"np", "numpy"})
_CODINGS = frozenset({"treatment", "sum", "helmert", "poly", "diff"})
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitXor)
_COMPARISON = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
MAX_EXPONENT = 64
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
    """Each column's name and whether arithmetic may use it (numeric, not categorical)."""
    kinds = {}
    for col in data.columns:
        dtype = data[col].dtype
        numeric = pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)
        kinds[str(col)] = bool(numeric)
    return kinds


def _without_factor_calls(part: str, columns, fail) -> tuple[str, set[str]]:
    out: list[str] = []
    placeholders: set[str] = set()
    pos = 0
    for begin, end, function, argument in factor_calls(part):
        name = argument[1:-1] if argument.startswith("`") and argument.endswith("`") else argument
        if name not in columns:
            fail(begin, f"{function}() of {argument!r}: it takes a column of the data")
        alias = f"__mm_f{len(placeholders)}__"
        placeholders.add(alias)
        out += [part[pos:begin], alias]
        pos = end
    out.append(part[pos:])
    return "".join(out), placeholders


def _check_part(parsed: ParsedFormula, part: str, columns: dict[str, bool]) -> None:
    base = max(parsed.text.find(part.strip()), 0)

    def fail(offset: int, what: str, piece: str | None = None):
        where = parsed.text.find(piece, base) if piece else -1
        position = where if where >= 0 else base + max(offset, 0)
        raise FormulaError(parsed.text, position, f"{what}: {_ALLOWED_TEXT}")

    text, placeholders = _without_factor_calls(translate_powers(part), columns, fail)
    if "`" in text:
        fail(text.find("`"), "a backticked name (rename the column)")
    try:
        terms = list(Formula(text))
    except Exception as exc:  # formulaic's parse errors carry their own message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fail(0, f"cannot read {part.strip()!r} ({first})")
    checker = _Checker(columns, placeholders)
    for term in terms:
        for factor in term.factors:
            method = factor.eval_method.value
            if method == "literal":
                continue
            if method == "lookup":  # a name: a column, or a missing one reported as such later
                if factor.expr not in columns and factor.expr not in placeholders:
                    _check_missing_name(factor.expr, fail)
                continue
            try:
                tree = ast.parse(factor.expr, mode="eval")
                checker.factor(tree.body)
            except SyntaxError:
                fail(0, f"cannot read the expression {factor.expr!r}")
            except _RefusedError as refused:
                fail(0, f"refused {refused.what}", _first_token(refused.node))


def _check_missing_name(name: str, fail) -> None:
    """A name that is not a column is reported as a missing column, unless it names code."""
    if name in FUNCTION_NAMES or name in _NUMPY or name.startswith("__"):
        fail(0, f"refused the name {name!r}, which is not a column of the data", name)


def _first_token(node: ast.AST) -> str:
    """A piece of text to find the refused node by in the formula."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return _segment(node)


def check_safe(parsed: ParsedFormula, data: pd.DataFrame) -> None:
    """Refuse a formula with anything but columns, numbers, arithmetic and allowed calls.

    Parameters
    ----------
    parsed : ParsedFormula
        The formula, split into response, fixed part and random-effects terms.
    data : pandas.DataFrame
        The data (only its column names and types are used).

    Raises
    ------
    FormulaError
        Pointing at the first piece the safe mode refuses, naming it.
    """
    columns = _column_kinds(data)
    parts = [parsed.fixed, *(t.expr for t in parsed.random)]
    if parsed.response not in columns:
        parts.insert(0, parsed.response)
    for part in parts:
        _check_part(parsed, part, columns)
