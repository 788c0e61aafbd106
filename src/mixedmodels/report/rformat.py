"""R's formatting of numbers and tables, shared by every printed result, and their HTML.

The formatting follows R's own rules so that printed numbers can be compared with R's output
digit for digit: ``format`` of a numeric vector (a common number of decimals, the fewest that
show every element to ``digits`` significant digits), ``format.pval``, ``printCoefmat`` for
coefficient tables, ``abbreviate`` for the column labels of a correlation matrix, ``print`` of
a named vector and of a character matrix, ``cat(fill = TRUE)`` (R's ``deparse`` of a call and
a formula is :mod:`~mixedmodels.report.deparse`). The text of each kind of result is written apart
from these parts: :mod:`~mixedmodels.report.lmm`, :mod:`~mixedmodels.report.lm`,
:mod:`~mixedmodels.report.glm`, :mod:`~mixedmodels.report.glmm`,
:mod:`~mixedmodels.report.anova`, :mod:`~mixedmodels.report.diagnostics`.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "missingness_note",
    "SIGNIF_LEGEND",
    "WIDTH",
    "cat_fill",
    "coef_table_strings",
    "coefficient_cells",
    "format_pvalues",
    "format_table",
    "frame_cells",
    "html_block",
    "html_frame",
    "html_heading",
    "html_lines",
    "html_table",
    "html_title",
    "legend_html",
    "named_vector",
    "named_vector_lines",
    "r_abbreviate",
    "r_cat",
    "r_format",
    "signif",
    "signif_stars",
    "significant",
    "stars_column",
    "vector_html",
    "zapsmall",
]

WIDTH = 80  # R's getOption("width")


def _sig_and_exp(x: float, digits: int) -> tuple[int, int]:
    """Significant digits needed (at most ``digits``) and the decimal exponent of ``x``."""
    mantissa = f"{abs(x):.{digits - 1}e}"
    digits_part, exponent = mantissa.split("e")
    stripped = digits_part.replace(".", "").rstrip("0")
    return max(len(stripped), 1), int(exponent)


def r_format(values: Iterable[float], digits: int = 7, nsmall: int = 0) -> list[str]:
    """R's ``format(x, digits=)`` of a numeric vector: common decimals, right-justified.

    Fixed notation unless it would be wider than scientific notation, as R decides.
    """
    values = [float(v) for v in values]
    finite = [v for v in values if math.isfinite(v) and v != 0.0]
    rgt, left, mxsig, neg, big_exp = 0, 1, 1, 0, False
    for v in finite:
        nsig, e = _sig_and_exp(v, digits)
        rgt = max(rgt, nsig - e - 1)
        left = max(left, (v < 0) + max(e + 1, 1))  # the sign counts with the number it belongs to
        mxsig = max(mxsig, nsig)
        neg = neg or v < 0
        big_exp = big_exp or abs(e) >= 100
    rgt = max(rgt, nsmall)
    fixed_width = left + (rgt > 0) + rgt
    sci_width = neg + (mxsig + 1 if mxsig > 1 else mxsig) + (5 if big_exp else 4)
    if finite and fixed_width > sci_width:
        out = [_na_or(v, lambda v: f"{v:.{mxsig - 1}e}") for v in values]
    else:
        out = [_na_or(v, lambda v: f"{v:.{rgt}f}") for v in values]
    width = max((len(s) for s in out), default=0)
    return [s.rjust(width) for s in out]


def _na_or(v: float, fmt) -> str:
    if math.isnan(v):
        return "NA"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    out = fmt(v)
    return out[1:] if out.startswith("-") and float(out) == 0.0 and v == 0.0 else out


def r_abbreviate(name: str, minlength: int) -> str:
    """R's ``abbreviate(name, minlength)``: drop lower-case vowels, then lower-case letters,
    from the right (never a word's first character), then truncate."""
    chars = list(name.strip())

    def first_of_word(i: int) -> bool:
        return chars[i - 1].isspace()

    def last_of_word(i: int) -> bool:
        return not chars[i - 1].isspace() and (i + 1 == len(chars) or chars[i + 1].isspace())

    def length() -> int:
        return len(chars) - sum(c.isspace() for c in chars)

    passes = [
        lambda i: chars[i] in "aeiou" and last_of_word(i),
        lambda i: chars[i] in "aeiou" and not first_of_word(i),
        lambda i: chars[i].islower() and last_of_word(i),
        lambda i: chars[i].islower() and not first_of_word(i),
    ]
    for rule in passes:
        if length() <= minlength:
            break
        for i in range(len(chars) - 1, 0, -1):
            if i < len(chars) and rule(i):
                del chars[i]
                if length() <= minlength:
                    break
    out = "".join(c for c in chars if not c.isspace())
    return out[:minlength] if len(out) > minlength else out


def format_table(
    rows: Sequence[Sequence[str]],
    header: Sequence[str],
    rownames: Sequence[str] | None = None,
    right: bool = True,
) -> str:
    """A character matrix as R's ``print(quote = FALSE)`` shows it."""
    ncol = len(header)
    widths = [max([len(header[j])] + [len(r[j]) for r in rows]) for j in range(ncol)]
    rownames = list(rownames) if rownames is not None else [""] * len(rows)
    rw = max([len(r) for r in rownames] + [0])

    def cell(text: str, j: int) -> str:
        return text.rjust(widths[j]) if right else text.ljust(widths[j])

    lines = [" " * rw + "".join(" " + cell(h, j) for j, h in enumerate(header))]
    for name, row in zip(rownames, rows):
        lines.append(name.ljust(rw) + "".join(" " + cell(v, j) for j, v in enumerate(row)))
    return "\n".join(lines)


def named_vector(values: dict[str, str]) -> str:
    """A named character vector as R prints it: common width, right-justified, trailing space."""
    width = max(len(s) for s in list(values) + list(values.values()))
    names = "".join(n.rjust(width) + " " for n in values)
    vals = "".join(v.rjust(width) + " " for v in values.values())
    return f"{names}\n{vals}"


def coef_table_strings(
    estimate: np.ndarray, se: np.ndarray, stat: np.ndarray, digits: int = 4
) -> list[list[str]]:
    """Estimate, standard error and test statistic columns as R's ``printCoefmat`` formats them."""
    coef_se = np.column_stack([estimate, se])
    acs = np.abs(coef_se[np.isfinite(coef_se) & (coef_se != 0)])
    digmin = 1 + math.floor(math.log10(acs.min())) if acs.size else 1
    rounded = np.round(coef_se, max(1, digits - digmin))
    cs = r_format(rounded.ravel(), digits)
    width = max(len(s) for s in cs)
    cs = [s.rjust(width) for s in cs]
    dig_tst = max(1, min(5, digits - 1))
    ts = r_format(np.round(stat, dig_tst), digits)
    return [[cs[2 * i], cs[2 * i + 1], ts[i]] for i in range(len(estimate))]


def stars_column(p: npt.ArrayLike) -> list[str]:
    """Significance stars as R's ``format`` shows them: left-justified to a common width."""
    marks = [signif_stars(v) for v in np.asarray(p, dtype=float)]
    width = max((len(m) for m in marks), default=0)
    return [m.ljust(width) for m in marks]


def coefficient_cells(
    estimate: np.ndarray, se: np.ndarray, stat: np.ndarray, p: np.ndarray, digits: int = 4
) -> tuple[list[list[str]], bool]:
    """The cells of R's ``printCoefmat`` table, and whether it has its column of stars.

    Estimate, standard error and statistic as :func:`coef_table_strings` formats them, the
    p-values by ``format.pval`` to 3 digits; a row of "NA" where the estimate is missing (an
    aliased column). The stars (left-justified, as R's ``format``) and so the legend under the
    table are shown only when some p-value is below 0.1.
    """
    estimate, se, stat, p = (np.asarray(v, dtype=float) for v in (estimate, se, stat, p))
    ok = ~np.isnan(estimate)
    stars = bool(np.any(p[ok] < 0.1))
    cells = [["NA", "NA", "NA", "NA"] + ([""] if stars else []) for _ in estimate]
    shown = coef_table_strings(estimate[ok], se[ok], stat[ok], digits)
    pvals = format_pvalues(p[ok], 3)
    marks = stars_column(p[ok])
    for i, row, pv, mark in zip(np.flatnonzero(ok), shown, pvals, marks):
        cells[i] = [*row, pv] + ([mark] if stars else [])
    return cells, stars


def format_pvalues(p: npt.ArrayLike, digits: int = 3, sep: str | None = None) -> list[str]:
    """R's ``format.pval(p, digits)`` with ``eps`` the machine epsilon: ``< 2e-16`` below it.

    Parameters
    ----------
    p : sequence of float
        P-values; NaN gives "NA" (R's ``na.form``).
    digits : int
        Significant digits.
    sep : str, optional
        Between ``<`` and ``eps``; by default R's choice (no space when the other p-values are
        short and ``eps`` is shown to one digit, else one space).
    """
    pv = np.asarray(p, dtype=float)
    eps = np.finfo(float).eps
    out = ["NA"] * len(pv)
    tiny = pv < eps
    expo = np.floor(np.log10(np.where(pv > 0, pv, 1e-50)))
    widths = [0]
    shown_p = ~tiny & ~np.isnan(pv)
    fixed = (expo >= -3) | ((expo == -4) & (digits > 1))  # R 4.2 keeps 1e-4 <= p < 1e-3 fixed too
    for group in (shown_p & fixed, shown_p & ~fixed):
        idx = np.flatnonzero(group)
        shown = r_format(pv[idx], digits)
        widths += [len(text) for text in shown]
        for i, text in zip(idx, shown):
            out[i] = text.strip()
    if tiny.any():
        eps_digits, auto_sep = _eps_digits(digits, max(widths), bool(shown_p.any()))
        eps_text = r_format([eps], eps_digits)[0]
        for i in np.flatnonzero(tiny):
            out[i] = f"<{auto_sep if sep is None else sep}{eps_text}"
    return out


def _eps_digits(digits: int, width: int, others: bool) -> tuple[int, str]:
    """Digits of ``eps`` and the separator after ``<``, as ``format.pval`` chooses them."""
    eps_digits = max(1, digits - 2)
    if not others:
        return eps_digits, "" if eps_digits == 1 else " "
    if eps_digits > 1 and eps_digits + 6 > width:
        eps_digits = max(1, width - 7)
    return eps_digits, "" if eps_digits == 1 and width <= 6 else " "


def signif(x: float, digits: int) -> float:
    """R's ``signif``."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def signif_stars(p: float) -> str:
    """R's significance codes."""
    if not math.isfinite(p):
        return ""
    for cut, star in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p <= cut:
            return star
    return " "


SIGNIF_LEGEND = "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"


def r_cat(x: float) -> str:
    """A number as R's ``cat`` prints it (7 significant digits, no trailing zeros)."""
    return f"{x:.7g}"


def zapsmall(x: np.ndarray, digits: int) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits - log10(max|x|)`` decimals (R rounds that to an integer)."""
    mx = float(np.max(np.abs(x)))
    decimals = max(0.0, digits - math.log10(mx)) if mx > 0 else digits
    return np.round(x, int(math.floor(decimals + 0.5)))


def cat_fill(items: Sequence[str], width: int = WIDTH) -> list[str]:
    """The lines of R's ``cat(..., fill = TRUE)``: the items separated by a space, a new line
    begun before an item that would pass ``width`` (the space before it stays at the line's end)."""
    lines, line = [], ""
    for i, item in enumerate(items):
        if i > 0:
            line += " "
            if len(line) + len(item) + 1 > width:
                lines.append(line)
                line = ""
        line += item
    return [*lines, line]


def named_vector_lines(cells: dict[str, str], gap: int = 2) -> list[str]:
    """A named vector as ``print.default(print.gap = gap)`` prints it, wrapped at 80 columns."""
    width = max(len(s) for s in [*cells, *cells.values()])
    per_line = max(1, WIDTH // (width + gap))
    names, values = list(cells), list(cells.values())
    lines = []
    for lo in range(0, len(names), per_line):
        lines.append("".join(n.rjust(width) + " " * gap for n in names[lo : lo + per_line]))
        lines.append("".join(v.rjust(width) + " " * gap for v in values[lo : lo + per_line]))
    return lines


# ----------------------------------------------------------------------------- HTML
# Tables for notebooks: the same cells as the text, in real HTML tables (a notebook shows <pre>
# text in a proportional font, where R's column alignment is lost). Inline styles only, because
# notebook viewers strip <style> elements from untrusted output.
_FONT = "font-family:inherit;font-size:0.92em;font-variant-numeric:tabular-nums"
_TABLE = f"border-collapse:collapse;margin:0.2em 0 0.6em 0;{_FONT}"
_HEAD = "padding:2px 10px;border-bottom:1px solid #888;font-weight:600"
_CELL = "padding:2px 10px;border:none"
_HEADING = "font-weight:600;margin:0.8em 0 0.2em 0"
_NOTE = "margin:0.2em 0;color:#555;font-size:0.85em"
_NUMBER = re.compile(r"^\s*(<\s*)?[-+]?(\d|\.\d|NA$|NaN$|-?Inf$|\[)")


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text))


def _numeric_columns(rows: Sequence[Sequence[str]], ncol: int) -> list[bool]:
    """A column is right-aligned when each of its non-blank cells is a number."""
    numeric = []
    for j in range(ncol):
        cells = [str(r[j]).strip() for r in rows if str(r[j]).strip()]
        numeric.append(bool(cells) and all(_is_number(c) for c in cells))
    return numeric


def _cell(tag: str, text: str, style: str, right: bool) -> str:
    align = "right" if right else "left"
    return f'<{tag} style="{style};text-align:{align}">{html.escape(str(text).strip())}</{tag}>'


def html_table(
    rows: Sequence[Sequence[str]],
    header: Sequence[str],
    rownames: Sequence[str] | None = None,
) -> str:
    """An HTML table of text cells: numbers right-aligned, text left-aligned, all escaped.

    Parameters
    ----------
    rows : sequence of sequences of str
        The cells, already formatted (as the text summary formats them).
    header : sequence of str
        Column labels.
    rownames : sequence of str, optional
        Row labels, shown as a first column of row headers.
    """
    numeric = _numeric_columns(rows, len(header))
    corner = [_cell("th", "", _HEAD, False)] if rownames is not None else []
    head = corner + [_cell("th", h, _HEAD, right) for h, right in zip(header, numeric)]
    body = []
    for i, row in enumerate(rows):
        cells = [_cell("th", rownames[i], _CELL, False)] if rownames is not None else []
        cells += [_cell("td", v, _CELL, right) for v, right in zip(row, numeric)]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table style="{_TABLE}"><thead><tr>{"".join(head)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def html_heading(text: str) -> str:
    """A section title (as "Random effects:" in the text)."""
    return f'<p style="{_HEADING}">{html.escape(text.rstrip(": "))}</p>'


def html_lines(lines: Sequence[str], note: bool = False) -> str:
    """Lines of text as one paragraph (smaller and grey for a note such as a legend)."""
    style = _NOTE if note else "margin:0.2em 0"
    return f'<p style="{style}">{"<br>".join(html.escape(line) for line in lines)}</p>'


def html_block(parts: Sequence[str]) -> str:
    """The parts of one result in a single block (what ``_repr_html_`` returns)."""
    return f'<div class="mixedmodels" style="{_FONT}">{"".join(parts)}</div>'


def significant(x: float, digits: int = 4) -> str:
    """A number to ``digits`` significant digits (more for large numbers, so no exponent below
    1e6); "NA" for a missing one."""
    if not math.isfinite(x):
        return "NA" if math.isnan(x) else ("Inf" if x > 0 else "-Inf")
    return f"{x:.{digits}g}" if abs(x) < 10**digits else f"{x:.{max(digits, 6)}g}"


def frame_cells(frame: pd.DataFrame, digits: int = 4) -> tuple[list[str], list[str], list[list[str]]]:
    """Header, row names and cells of a data frame, numbers to ``digits`` significant digits."""
    columns = []
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            columns.append([significant(v, digits) for v in values.to_numpy(dtype=float, na_value=np.nan)])
        else:
            columns.append(["" if v is None else str(v) for v in values])
    rows = [list(cells) for cells in zip(*columns)] if columns else [[] for _ in range(len(frame))]
    return [str(c) for c in frame.columns], [str(i) for i in frame.index], rows


def html_frame(frame: pd.DataFrame, digits: int = 4) -> str:
    """A data frame as an HTML table, numbers to ``digits`` significant digits."""
    header, rownames, rows = frame_cells(frame, digits)
    return html_table(rows, header, rownames)


def html_title(text: str) -> str:
    """The first line of a summary (as "Linear mixed model fit by REML"), as a title."""
    return f'<p style="{_HEADING}">{html.escape(text)}</p>'


def vector_html(cells: dict[str, str]) -> str:
    return html_table([list(cells.values())], list(cells))


def legend_html() -> str:
    return html_lines([SIGNIF_LEGEND], note=True)


def missingness_note(dropped: int) -> str:
    """R's ``naprint`` of the rows ``na.omit`` dropped: "(1 observation deleted due to
    missingness)", "(2 observations ...)"."""
    noun = "observation" if dropped == 1 else "observations"
    return f"  ({dropped} {noun} deleted due to missingness)"
