"""R's ``deparse`` of an expression written as text: a formula, a call's arguments.

R prints a model's call and formula from its parsed form, so the text it shows is normalized
(``y~a*b`` shows as ``y ~ a * b``, ``x**2`` as ``x^2``, ``'s'`` as ``"s"``, ``1e3`` as ``1000``)
and broken into lines by ``deparse``'s rule: once a line is longer than ``width.cutoff`` (60)
characters, it ends after the next ``", "`` between a call's arguments or the next spaced
binary operator (``+``, ``-``, ``*``, ``~``, ``|``, ``&``, comparisons, ``%op%``); the operators
written without spaces (``/``, ``^``, ``:``, ``%%``, ``%/%``, ``$``) never break. The line after
a break is indented by 4 spaces for each call or operator that has broken and is still open
(2 spaces past the fourth), as R's ``printtab2buff``.

Here text is parsed with R's operator precedence (``?Syntax``) into a small tree and written back
by those rules. Text that is not R syntax as parsed here is kept as it is, on one piece.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .rformat import r_format

__all__ = ["CUTOFF", "Node", "call_node", "deparse", "formula_text", "model_call", "parse_r"]

CUTOFF = 60  # deparse's width.cutoff

_SPACED = {"+", "-", "*", "~", "|", "||", "&", "&&", "==", "!=", "<", ">", "<=", ">=", "|>"}
_TIGHT = {"/", "^", ":", "%%", "%/%", "$", "@"}
# left binding powers of the binary operators (R's ?Syntax, lowest first)
_BINDING = {
    "~": 10,
    "||": 20, "|": 20,
    "&&": 30, "&": 30,
    "==": 40, "!=": 40, "<": 40, ">": 40, "<=": 40, ">=": 40,
    "+": 50, "-": 50,
    "*": 60, "/": 60,
    "%": 70, "|>": 70,
    ":": 80,
    "^": 90,
    "$": 100, "@": 100,
}  # fmt: skip
_PREFIX = {"~": 10, "!": 35, "-": 85, "+": 85}  # the binding power of a prefix operator's operand
_CALL = 110  # a call's "(" and an index's "[" bind tightest
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[Li]?)
    | (?P<name>(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*|\.)
    | (?P<backtick>`(?:[^`\\]|\\.)*`)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>%[^%]*%|\*\*|\|\||&&|==|!=|<=|>=|\|>|\[\[|[-+*/^~:|&!<>=$@()\[\],])
    )""",
    re.VERBOSE,
)
_SYNTACTIC = re.compile(r"^((([A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*)|\.)$")
_RESERVED = {"if", "else", "repeat", "while", "function", "for", "next", "break", "TRUE", "FALSE", "NULL"}
_RESERVED |= {"Inf", "NaN", "NA", "NA_integer_", "NA_real_", "NA_character_", "in"}


@dataclass(frozen=True)
class Node:
    """One piece of a parsed expression.

    ``kind`` is "atom" (``text``: a name, number or string as R deparses it), "paren"
    (``parts``: the inner expression), "unary" and "binary" (``text``: the operator; ``parts``:
    the operands), "call" and "index" (``parts``: the function or object, then the arguments;
    ``names``: each argument's name or "").
    """

    kind: str
    text: str = ""
    parts: tuple[Node, ...] = ()
    names: tuple[str, ...] = ()


class _UnparsableError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _UnparsableError(text)
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _r_name(name: str) -> str:
    """A symbol as deparse writes it: backticked unless it is a syntactic name."""
    return name if _SYNTACTIC.match(name) and name not in _RESERVED else f"`{name}`"


def _atom(kind: str, token: str) -> Node:
    if kind == "name":
        return Node("atom", token)
    if kind == "backtick":
        return Node("atom", _r_name(token[1:-1]))
    if kind == "string":
        inner = token[1:-1]
        if token[0] == "'":
            inner = inner.replace("\\'", "'").replace('"', '\\"')
        return Node("atom", f'"{inner}"')
    return Node("atom", _number(token))


def _number(token: str) -> str:
    """A numeric constant as deparse writes it: a double to 15 significant digits."""
    if token.endswith("i"):
        return token
    if token.endswith("L"):
        return f"{int(token[:-1], 0)}L"
    value = float.fromhex(token) if token.lower().startswith("0x") else float(token)
    return r_format([value], 15)[0]


class _Parser:
    """A Pratt parser of R expressions (the operators R's formulas and calls use)."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (expected is not None and token[1] != expected):
            raise _UnparsableError(expected or "end")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek()[0] != "end":
            raise _UnparsableError(self.peek()[1])
        return node

    def expression(self, floor: int) -> Node:
        left = self.prefix()
        while True:
            kind, token = self.peek()
            if kind != "op":
                return left
            if token in ("(", "[", "[["):
                if floor >= _CALL:
                    return left
                left = self.postfix(left, token)
                continue
            op = "^" if token == "**" else token
            power = _BINDING.get("%" if op.startswith("%") else op)
            if power is None or power <= floor:
                return left
            self.take()
            right = self.expression(power - 1 if op == "^" else power)  # ^ is right-associative
            left = Node("binary", op, (left, right))

    def prefix(self) -> Node:
        kind, token = self.take()
        if kind != "op":
            return _atom(kind, token)
        if token == "(":
            inner = self.expression(0)
            self.take(")")
            return Node("paren", parts=(inner,))
        if token in _PREFIX:
            return Node("unary", token, (self.expression(_PREFIX[token]),))
        raise _UnparsableError(token)

    def postfix(self, head: Node, opener: str) -> Node:
        self.take()
        closer = {"(": ")", "[": "]", "[[": "]]"}[opener]
        end = closer[0]
        args: list[Node] = [head]
        names: list[str] = []
        while self.peek() != ("op", end):
            args.append(self.argument(names))
            if self.peek() != ("op", end):
                self.take(",")
        for _ in closer:
            self.take(end)
        kind = "call" if opener == "(" else "index"
        return Node(kind, opener if kind == "index" else "", tuple(args), tuple(names))

    def argument(self, names: list[str]) -> Node:
        kind, token = self.peek()
        following = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else ("end", "")
        if kind in ("name", "backtick", "string") and following == ("op", "="):
            self.pos += 2
            names.append(_r_name(token.strip("`\"'")))
        else:
            names.append("")
        return self.expression(0)


def parse_r(text: str) -> Node:
    """The text parsed as an R expression; an atom holding the text as it is when it cannot be.

    Parameters
    ----------
    text : str
        R source of one expression (a formula, a call, a name).
    """
    try:
        return _Parser(text).parse()
    except (_UnparsableError, ValueError):
        return Node("atom", text.strip())


def call_node(function: str, arguments: Sequence[tuple[str, str]]) -> Node:
    """The call ``function(name = value, ...)``, each value R source parsed by :func:`parse_r`."""
    args = tuple(parse_r(value) for _, value in arguments)
    return Node("call", parts=(Node("atom", function), *args), names=tuple(name for name, _ in arguments))


class _Writer:
    """deparse's line buffer: the lines written, the current one, the indentation."""

    def __init__(self, cutoff: int) -> None:
        self.cutoff = cutoff
        self.lines: list[str] = []
        self.line = ""
        self.indent = 0
        self.fresh = True

    def put(self, text: str) -> None:
        if self.fresh:
            self.fresh = False
            self.line = "".join("    " if i < 4 else "  " for i in range(self.indent))
        self.line += text

    def maybe_break(self, broken: bool) -> bool:
        """End the line when it is past the cutoff (indenting once per construct that breaks)."""
        if len(self.line) > self.cutoff:
            if not broken:
                broken = True
                self.indent += 1
            self.lines.append(self.line)
            self.line, self.fresh = "", True
        return broken


def _write(node: Node, out: _Writer) -> None:
    if node.kind == "atom":
        out.put(node.text)
    elif node.kind == "paren":
        out.put("(")
        _write(node.parts[0], out)
        out.put(")")
    elif node.kind == "unary":
        out.put(node.text)
        _write(node.parts[0], out)
    elif node.kind == "binary":
        _write_binary(node, out)
    else:
        _write(node.parts[0], out)
        out.put(node.text or "(")
        _write_arguments(node.parts[1:], node.names, out)
        out.put("]" * len(node.text) or ")")


def _write_binary(node: Node, out: _Writer) -> None:
    left, right = node.parts
    _write(left, out)
    if node.text in _TIGHT:
        out.put(node.text)
        _write(right, out)
        return
    out.put(f" {node.text} ")
    broken = out.maybe_break(False)
    _write(right, out)
    if broken:
        out.indent -= 1


def _write_arguments(args: Sequence[Node], names: Sequence[str], out: _Writer) -> None:
    broken = False
    for i, (arg, name) in enumerate(zip(args, names)):
        if name:
            out.put(f"{name} = ")
        _write(arg, out)
        if i < len(args) - 1:
            out.put(", ")
            broken = out.maybe_break(broken)
    if broken:
        out.indent -= 1


def deparse(node: Node, cutoff: int = CUTOFF) -> list[str]:
    """The lines R's ``deparse(expr, width.cutoff = cutoff)`` gives for the expression.

    Parameters
    ----------
    node : Node
        From :func:`parse_r` or :func:`call_node`.
    cutoff : int
        The length past which a line ends at its next break point.
    """
    out = _Writer(cutoff)
    _write(node, out)
    return [*out.lines, out.line]


def formula_text(formula: str) -> str:
    """A formula as R prints it in the model lines of ``anova`` and ``ranova`` tables:
    ``deparse(formula)``, its lines joined (``y~x+(1|g)`` -> ``y ~ x + (1 | g)``)."""
    return "\n".join(deparse(parse_r(formula)))


# the formal arguments of R's lm and glm, in order: match.call() puts the given ones in this order
_FORMALS = {
    "lm": ("formula", "data", "subset", "weights", "na.action", "method", "model", "x", "y", "qr",
           "singular.ok", "contrasts", "offset"),
    "glm": ("formula", "family", "data", "weights", "subset", "na.action", "start", "etastart",
            "mustart", "offset", "control", "model", "method", "x", "y", "singular.ok", "contrasts"),
    # MASS's glm.nb: an offset= falls in its ``...``, before init.theta and link
    "glm.nb": ("formula", "data", "weights", "subset", "na.action", "start", "etastart", "mustart",
               "control", "method", "model", "x", "y", "contrasts", "offset", "init.theta", "link"),
}  # fmt: skip


def model_call(
    function: str,
    formula: str,
    labels: tuple[str | None, str | None] = (None, None),
    contrasts: Mapping | None = None,
    family: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> list[str]:
    """The lines of the "Call:" of R's ``summary.lm`` and ``summary.glm``: ``deparse(fit$call)``.

    Parameters
    ----------
    function : {"lm", "glm", "glm.nb"}
        The R function; its formal arguments order the arguments, as ``match.call`` does.
    formula : str
        The model formula as written (R's parse and deparse normalize it).
    labels : (str or None, str or None)
        What ``weights=`` and ``offset=`` were (``Design.labels``): a column's name, shown as
        the symbol R's call would hold; "given" for an array, shown as ``weights`` or ``offset``.
    contrasts : mapping, optional
        The ``contrasts=`` argument: a coding's name ("sum" or "contr.sum") or a matrix (shown
        as ``<matrix>``) per factor.
    family : str, optional
        R's ``family =`` argument (glm), as R source: ``binomial``, ``poisson(link = "sqrt")``.
    extra : mapping, optional
        Further arguments as R source, last and in their order (glm.nb's ``init.theta`` and
        ``link``, which it sets in its stored call).

    Returns
    -------
    list of str
        One line, or several broken as ``deparse`` breaks them past 60 characters.
    """
    given = {"formula": formula, "data": "data"}
    if family is not None:
        given["family"] = family
    for name, label in zip(("weights", "offset"), labels):
        if label is not None:
            given[name] = name if label == "given" else _r_name(label)
    if contrasts:
        inner = ", ".join(
            f'{k} = "contr.{v.removeprefix("contr.")}"' if isinstance(v, str) else f"{k} = <matrix>"
            for k, v in contrasts.items()
        )
        given["contrasts"] = f"list({inner})"
    order = _FORMALS[function]
    arguments = sorted(given.items(), key=lambda item: order.index(item[0])) + list((extra or {}).items())
    return deparse(call_node(function, arguments))
