"""Text of the R-style summaries, and their HTML tables for notebooks, kept apart from the numbers.

The formatting follows R's own rules so that printed numbers can be compared with lme4's and
R's output digit for digit: ``format`` of a numeric vector (a common number of decimals, the
fewest that show every element to ``digits`` significant digits), ``printCoefmat`` for
coefficient tables, ``abbreviate`` for the column labels of the correlation matrix.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from .lm import LmFit
    from .results import LmerFit

__all__ = [
    "allfit_text",
    "anova_html",
    "anova_text",
    "ranova_html",
    "ranova_text",
    "argument_lines",
    "coef_table_strings",
    "convergence_text",
    "format_pvalues",
    "format_table",
    "html_block",
    "html_frame",
    "html_heading",
    "html_lines",
    "html_table",
    "lm_summary",
    "lm_summary_html",
    "lmer_summary",
    "lmer_summary_html",
    "named_vector",
    "profile_html",
    "r_abbreviate",
    "r_format",
    "signif_stars",
]


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


def profile_html(result) -> str:
    """A profile result (``fit.profile()``) as HTML: the parameters and their profile intervals."""
    lines = [f"Profile of {len(result.parameters)} parameters"]
    return html_block([html_lines(lines), html_frame(result.confint())])


# ----------------------------------------------------------------------------- lmer
def _criterion_cells(fit: LmerFit) -> dict[str, str]:
    """The REML criterion, or AIC, BIC, logLik, deviance and df.resid of an ML fit."""
    if fit.reml:
        return {"REML criterion at convergence": _r_cat(round(fit.objective, 1))}
    values = [fit.aic, fit.bic, fit.loglik, fit.objective]
    shown = r_format([round(v, 1) for v in values], 7)
    table = dict(zip(["AIC", "BIC", "logLik", "deviance"], (s.strip() for s in shown)))
    table["df.resid"] = str(fit.nobs - fit.npar)
    return table


def _aic_block(fit: LmerFit) -> str:
    cells = _criterion_cells(fit)
    if fit.reml:
        return "".join(f"{name}: {value}" for name, value in cells.items())
    return named_vector(cells)


def _r_cat(x: float) -> str:
    """A number as R's ``cat`` prints it (7 significant digits, no trailing zeros)."""
    return f"{x:.7g}"


def zapsmall(x: np.ndarray, digits: int) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits - log10(max|x|)`` decimals (R rounds that to an integer)."""
    mx = float(np.max(np.abs(x)))
    decimals = max(0.0, digits - math.log10(mx)) if mx > 0 else digits
    return np.round(x, int(math.floor(decimals + 0.5)))


def _residual_cells(fit: LmerFit) -> tuple[str, dict[str, str]]:
    q, exact = fit.scaled_residual_quantiles()
    shown = r_format(zapsmall(q, 5), 4)
    title = "Scaled residuals:" if exact else "Scaled residuals (quartiles approximate):"
    return title, dict(zip(["Min", "1Q", "Median", "3Q", "Max"], shown))


def _scaled_residuals(fit: LmerFit) -> str:
    title, cells = _residual_cells(fit)
    return f"{title} \n" + named_vector(cells)


def _random_effects_cells(fit: LmerFit) -> tuple[list[str], list[list[str]]]:
    """Header and rows of lme4's random-effects table (Groups, Name, Variance, Std.Dev., Corr)."""
    vc = fit.varcorr
    sds = vc[vc.var2.isna()]
    variance = r_format(sds.vcov.to_numpy(), 4)
    stddev = r_format(sds.sdcor.to_numpy(), 4)
    kmax = max(t.k for t in fit.design.reterms)
    rows, last_group = [], None
    corr: dict = {}
    corrs = vc[vc.var2.notna()]
    shown = r_format(np.round(corrs.sdcor.to_numpy(), 2), 7, nsmall=2) if len(corrs) else []
    for r, text in zip(corrs.itertuples(), shown):
        corr.setdefault((r.group, r.var2), []).append(text)
    for i, r in enumerate(sds.itertuples()):
        group = "" if r.group == last_group else r.group
        last_group = r.group
        name = r.var1 if isinstance(r.var1, str) else ""
        row = [group, name, variance[i], stddev[i]]
        if kmax > 1:
            cells = corr.get((r.group, name), [])
            row += cells + [""] * (kmax - 1 - len(cells))
        rows.append(row)
    header = ["Groups", "Name", "Variance", "Std.Dev."] + (["Corr"] + [""] * (kmax - 2) if kmax > 1 else [])
    return header, rows


def _random_effects(fit: LmerFit) -> str:
    header, rows = _random_effects_cells(fit)
    return "Random effects:\n" + format_table(rows, header, right=False)


def _groups_line(fit: LmerFit) -> str:
    groups = "; ".join(f"{g}, {n}" for g, n in fit.ngroups.items())
    return f"Number of obs: {fit.nobs}, groups:  {groups}"


def _fixed_effects_cells(fit: LmerFit, ddf: str | None) -> tuple[str, list[str], list[str], list[list[str]]]:
    """Title, header, row names and cells of the fixed-effects table (lme4's or lmerTest's)."""
    names = list(fit.fixef_names)
    if ddf is None:
        cells = coef_table_strings(fit.fixef.to_numpy(), fit.se.to_numpy(), fit.tvalues.to_numpy())
        return "Fixed effects:", ["Estimate", "Std. Error", "t value"], names, cells
    table = fit.coef_table(ddf)
    cells = coef_table_strings(*(table[c].to_numpy() for c in ("Estimate", "Std. Error", "t value")))
    df = r_format(np.round(table["df"].to_numpy(), 2), 4)
    p = table["Pr(>|t|)"].to_numpy()
    pvals = format_pvalues(p, 3)
    cells = [[c[0], c[1], d, c[2], pv, signif_stars(pr)] for c, d, pv, pr in zip(cells, df, pvals, p)]
    header = ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)", ""]
    return f"Fixed effects (t tests use {ddf}'s method):", header, names, cells


def _fixed_effects(fit: LmerFit, ddf: str | None) -> str:
    title, header, names, cells = _fixed_effects_cells(fit, ddf)
    text = f"{title}\n{format_table(cells, header, names)}"
    return text if ddf is None else f"{text}\n---\n{SIGNIF_LEGEND}"


def _correlation_cells(names: Sequence[str], vcov: np.ndarray):
    """Header, row names and lower-triangle cells of the correlation of the fixed effects."""
    p = len(names)
    sd = np.sqrt(np.diag(vcov))
    corr = vcov / np.outer(sd, sd)
    shown = np.array(r_format(np.round(corr, 3).ravel(), 7, nsmall=3)).reshape(p, p)
    rows = [[shown[i, j] if j < i else "" for j in range(p - 1)] for i in range(1, p)]
    header = [r_abbreviate(n, 6) for n in names[:-1]]
    rownames = [r_abbreviate(n, 11) for n in names[1:]]
    return header, rownames, rows


def correlation_block(names: Sequence[str], vcov: np.ndarray, max_p: int = 12) -> str:
    """lme4's 'Correlation of Fixed Effects' block (empty for one coefficient)."""
    p = len(names)
    if p <= 1:
        return ""
    if p > max_p:
        return f"\nCorrelation matrix not shown by default, as p = {p} > {max_p}."
    header, rownames, rows = _correlation_cells(names, vcov)
    return "\nCorrelation of Fixed Effects:\n" + format_table(rows, header, rownames, right=False)


def _lmer_heading(fit: LmerFit) -> list[str]:
    method = "REML " if fit.reml else "maximum likelihood  "
    data_line = "   Data: data"
    if fit.design.dropped_rows:
        data_line += f" ({fit.design.dropped_rows} rows with missing values dropped)"
    lines = [f"Linear mixed model fit by {method}['lmerMod']", f"Formula: {fit.formula}", data_line]
    return lines + argument_lines(fit.design.labels)


def argument_lines(labels: tuple[str | None, str | None]) -> list[str]:
    """lme4's "Weights:" and " Offset:" lines of a summary heading (lmer and glmer alike).

    Parameters
    ----------
    labels : (str or None, str or None)
        What ``weights=`` and ``offset=`` were (``Design.labels``): a column's name, "given"
        for an array, None when not given (no line).

    Returns
    -------
    list of str
        lme4 prints the argument as the call wrote it; a column is named, an array is "given".
    """
    weights, offset = labels
    lines = [] if weights is None else [f"Weights: {weights}"]
    return lines + ([] if offset is None else [f" Offset: {offset}"])


def lmer_summary(fit: LmerFit, ddf: str | None = "Satterthwaite") -> str:
    """The summary of an lmer fit in lme4's layout."""
    parts = [
        *_lmer_heading(fit),
        "",
        _aic_block(fit),
        "",
        _scaled_residuals(fit),
        "",
        _random_effects(fit),
        _groups_line(fit),
        "",
        _fixed_effects(fit, ddf),
    ]
    corr = correlation_block(list(fit.fixef_names), fit.vcov.to_numpy())
    if corr:
        parts.append(corr)
    parts += list(fit.messages)
    return "\n".join(parts)


def _vector_html(cells: dict[str, str]) -> str:
    return html_table([list(cells.values())], list(cells))


def _legend_html() -> str:
    return html_lines([SIGNIF_LEGEND], note=True)


def lmer_summary_html(fit: LmerFit, ddf: str | None = "Satterthwaite") -> str:
    """The summary of an lmer fit as HTML tables, with the same cells as :func:`lmer_summary`."""
    heading = [line.strip() for line in _lmer_heading(fit)]
    res_title, res_cells = _residual_cells(fit)
    re_header, re_rows = _random_effects_cells(fit)
    fe_title, fe_header, fe_names, fe_cells = _fixed_effects_cells(fit, ddf)
    parts = [
        f'<p style="{_HEADING}">{html.escape(heading[0])}</p>',
        html_lines(heading[1:]),
        _vector_html(_criterion_cells(fit)),
        html_heading(res_title),
        _vector_html(res_cells),
        html_heading("Random effects:"),
        html_table(re_rows, re_header),
        html_lines([_groups_line(fit)]),
        html_heading(fe_title),
        html_table(fe_cells, fe_header, fe_names),
    ]
    if ddf is not None:
        parts.append(_legend_html())
    parts += _correlation_html(list(fit.fixef_names), fit.vcov.to_numpy())
    if fit.messages:
        parts.append(html_lines(list(fit.messages), note=True))
    return html_block(parts)


def _correlation_html(names: Sequence[str], vcov: np.ndarray, max_p: int = 12) -> list[str]:
    if len(names) <= 1:
        return []
    if len(names) > max_p:
        return [html_lines([f"Correlation matrix not shown by default, as p = {len(names)} > {max_p}."])]
    header, rownames, rows = _correlation_cells(names, vcov)
    return [html_heading("Correlation of Fixed Effects:"), html_table(rows, header, rownames)]


# ------------------------------------------------------------------------------- lm
def _lm_call(fit: LmFit) -> str:
    args = [f"formula = {fit.formula}", "data = data"]
    if fit.contrasts:
        inner = ", ".join(
            f'{k} = "contr.{v.removeprefix("contr.")}"' if isinstance(v, str) else f"{k} = <matrix>"
            for k, v in fit.contrasts.items()
        )
        args.append(f"contrasts = list({inner})")
    if fit.design.weights is not None:
        args.append("weights = weights")
    return f"lm({', '.join(args)})"


def _lm_residual_cells(fit: LmFit) -> tuple[str, dict[str, str]]:
    resid = fit.residuals.to_numpy()[fit.weights > 0]
    title = "Weighted Residuals:" if fit.design.weights is not None else "Residuals:"
    if fit.df_residual > 5:
        q = np.quantile(resid, [0, 0.25, 0.5, 0.75, 1])
        return title, dict(zip(["Min", "1Q", "Median", "3Q", "Max"], r_format(zapsmall(q, 5), 4)))
    labels = [str(i + 1) for i in range(len(resid))]
    return title, dict(zip(labels, r_format(resid, 4)))


def _lm_residuals(fit: LmFit) -> str:
    title, cells = _lm_residual_cells(fit)
    return f"{title}\n" + named_vector(cells)


def _lm_coefficient_cells(fit: LmFit) -> tuple[str, list[str], list[list[str]]]:
    """Title, header and cells of R's coefficient table (NA rows for aliased columns)."""
    coef, se, t, p = (s.to_numpy() for s in (fit.coef, fit.se, fit.tvalues, fit.pvalues))
    ok = ~np.isnan(coef)
    cells = [["NA", "NA", "NA", "NA", ""] for _ in coef]
    shown = coef_table_strings(coef[ok], se[ok], t[ok])
    pvals = format_pvalues(p[ok], 3)
    for i, row, pv, pr in zip(np.flatnonzero(ok), shown, pvals, p[ok]):
        cells[i] = [*row, pv, signif_stars(pr)]
    header = ["Estimate", "Std. Error", "t value", "Pr(>|t|)", ""]
    nalias = int((~ok).sum())
    title = "Coefficients:" + (f" ({nalias} not defined because of singularities)" if nalias else "")
    return title, header, cells


def _lm_coefficients(fit: LmFit) -> str:
    title, header, cells = _lm_coefficient_cells(fit)
    table = format_table(cells, header, fit.names)
    return f"{title}\n{table}\n---\n{SIGNIF_LEGEND}"


def _lm_fit_lines(fit: LmFit) -> list[str]:
    """Residual standard error, R-squared and the F test, as R's summary.lm ends."""
    sigma = r_format([signif(fit.sigma, 4)], 4)[0] if math.isfinite(fit.sigma) else "NaN"
    lines = [f"Residual standard error: {sigma} on {fit.df_residual} degrees of freedom"]
    if fit.design.dropped_rows:
        lines.append(f"  ({fit.design.dropped_rows} observations deleted due to missingness)")
    value, numdf, dendf = fit.fstatistic
    if numdf > 0:
        lines.append(
            f"Multiple R-squared:  {fit.r_squared:.4g},\tAdjusted R-squared:  {fit.adj_r_squared:.4g} "
        )
        pval = format_pvalues([fit.f_pvalue], 4)[0]
        lines.append(f"F-statistic: {value:.4g} on {numdf} and {dendf} DF,  p-value: {pval}")
    return lines


def lm_summary(fit: LmFit) -> str:
    """The summary of an lm fit in R's ``summary.lm`` layout."""
    parts = ["", "Call:", _lm_call(fit), "", _lm_residuals(fit), "", _lm_coefficients(fit), ""]
    return "\n".join(parts + _lm_fit_lines(fit))


def lm_summary_html(fit: LmFit) -> str:
    """The summary of an lm fit as HTML tables, with the same cells as :func:`lm_summary`."""
    res_title, res_cells = _lm_residual_cells(fit)
    coef_title, header, cells = _lm_coefficient_cells(fit)
    parts = [
        html_heading("Call:"),
        html_lines([_lm_call(fit)]),
        html_heading(res_title),
        _vector_html(res_cells),
        html_heading(coef_title),
        html_table(cells, header, fit.names),
        _legend_html(),
        html_lines([line.strip().replace("\t", " ") for line in _lm_fit_lines(fit)]),
    ]
    return html_block(parts)


# ------------------------------------------------------------------------------ anova
REFIT_NOTE = "refitting model(s) with ML (instead of REML)"


def _finite_format(values: np.ndarray, digits: int, zap: bool = False) -> list[str]:
    """``format`` of the finite entries (zapped as ``zapsmall`` first), "" for the missing ones."""
    out = [""] * len(values)
    ok = np.flatnonzero(np.isfinite(values))
    if ok.size:
        shown = zapsmall(values[ok], digits) if zap else values[ok]
        for i, text in zip(ok, r_format(shown, digits)):
            out[i] = text
    return out


def anova_cells(table: pd.DataFrame, digits: int = 5) -> tuple[list[str], list[list[str]], bool]:
    """Header, cells and whether there are stars, as R's ``print.anova`` formats the table.

    ``npar`` to ``deviance`` are zapped and formatted to ``digits``; ``Chisq`` is rounded to
    ``digits - 1`` decimals first; the p-values go through ``format.pval`` with ``digits - 1``
    digits, followed by significance stars when any p-value is below 0.1.
    """
    dig_tst = max(1, min(5, digits - 1))
    columns = [_finite_format(table[c].to_numpy(dtype=float), digits, zap=True) for c in table.columns[:5]]
    chisq = table["Chisq"].to_numpy(dtype=float)
    columns.append(_finite_format(np.round(chisq, dig_tst), digits))
    columns.append(_finite_format(table["Df"].to_numpy(dtype=float, na_value=np.nan), digits))
    return _with_pvalues(table, columns, dig_tst)


def _with_pvalues(table: pd.DataFrame, columns: list[list[str]], digits: int):
    """Header, cells and stars: ``columns`` then the table's last column, its p-values (blank
    where missing), formatted by ``format.pval`` to ``digits``, and stars when any is below 0.1."""
    p = table[table.columns[-1]].to_numpy(dtype=float)
    ok = np.isfinite(p)
    pvals = [""] * len(p)
    for i, text in zip(np.flatnonzero(ok), format_pvalues(p[ok], digits)):
        pvals[i] = text
    columns = [*columns, pvals]
    header = [str(c) for c in table.columns]
    stars = bool(np.any(p[ok] < 0.1))
    if stars:
        columns.append([signif_stars(v) if np.isfinite(v) else "" for v in p])
        header.append("")
    return header, [list(row) for row in zip(*columns)], stars


def _anova_heading(refitted: bool, models: Sequence[tuple[str, str]]) -> list[str]:
    lines = [REFIT_NOTE] if refitted else []
    lines.append("Data: data")
    if models:
        lines += ["Models:"] + [f"{label}: {formula}" for label, formula in models]
    return lines


def anova_text(table: pd.DataFrame, refitted: bool, models: Sequence[tuple[str, str]] = ()) -> str:
    """The likelihood-ratio table as lme4's ``anova`` prints it.

    Parameters
    ----------
    table : DataFrame
        npar, AIC, BIC, logLik, deviance, Chisq, Df and Pr(>Chisq), one row per model.
    refitted : bool
        Whether REML fits were refitted by maximum likelihood (says so on the first line).
    models : sequence of (label, formula)
        The "Models:" block; none when the labels are the formulas themselves.
    """
    header, cells, stars = anova_cells(table)
    lines = _anova_heading(refitted, models)
    lines.append(format_table(cells, header, [str(i) for i in table.index]))
    if stars:
        lines += ["---", SIGNIF_LEGEND]
    return "\n".join(lines)


def anova_html(table: pd.DataFrame, refitted: bool, models: Sequence[tuple[str, str]] = ()) -> str:
    """The likelihood-ratio table as HTML, with the cells of :func:`anova_text`."""
    header, cells, stars = anova_cells(table)
    heading = _anova_heading(refitted, models)
    parts = [html_lines(heading[:1], note=True)] if refitted else []
    parts.append(html_lines(heading[1 if refitted else 0 :]))
    parts.append(html_table(cells, header, [str(i) for i in table.index]))
    if stars:
        parts.append(_legend_html())
    return html_block(parts)


RANOVA_TITLE = "ANOVA-like table for random-effects: Single term deletions"


def ranova_cells(table: pd.DataFrame, digits: int = 5) -> tuple[list[str], list[list[str]], bool]:
    """Header, cells and stars of lmerTest's ``ranova`` table, as ``print.anova`` formats it:
    npar to LRT zapped and formatted to ``digits``, p-values to ``digits - 1``."""
    columns = [_finite_format(table[c].to_numpy(dtype=float), digits, zap=True) for c in table.columns[:4]]
    columns.append(_finite_format(table["Df"].to_numpy(dtype=float), digits))
    return _with_pvalues(table, columns, digits - 1)


def ranova_text(table: pd.DataFrame, formula: str) -> str:
    """lmerTest's ``ranova`` table as it prints."""
    header, cells, stars = ranova_cells(table)
    lines = [RANOVA_TITLE, "", "Model:", formula, format_table(cells, header, [str(i) for i in table.index])]
    if stars:
        lines += ["---", SIGNIF_LEGEND]
    return "\n".join(lines)


def ranova_html(table: pd.DataFrame, formula: str) -> str:
    """The ``ranova`` table as HTML, with the cells of :func:`ranova_text`."""
    header, cells, stars = ranova_cells(table)
    parts = [html_heading(RANOVA_TITLE), html_lines(["Model:", formula])]
    parts.append(html_table(cells, header, [str(i) for i in table.index]))
    if stars:
        parts.append(_legend_html())
    return html_block(parts)


def convergence_text(check) -> str:
    """The text of a :class:`~mixedmodels.convergence.ConvergenceCheck`."""
    lines = [f"Convergence check: {check.verdict} (criterion {check.criterion:.6f})"]
    lines += [f"  {reason}" for reason in check.reasons]
    lines.append(f"derivatives: {check.source}")
    names = list(check.names)
    width = max((len(n) for n in names), default=0)
    lines.append(f"{'':<{width}}  {'estimate':>12}  {'gradient':>11}  {'scaled':>11}  bound")
    for j, name in enumerate(names):
        bound = "yes" if check.at_bound[j] else ""
        lines.append(
            f"{name:<{width}}  {check.estimate[j]:>12.6g}  {check.gradient[j]:>11.3g}  "
            f"{check.scaled_gradient[j]:>11.3g}  {bound}"
        )
    eigen = " ".join(f"{v:.3g}" for v in check.eigenvalues)
    lines.append(f"scaled Hessian eigenvalues (free coordinates): {eigen or 'none'}")
    if np.isfinite(check.decrease):
        lines.append(f"a Newton step would lower the criterion by {check.decrease:.3g}")
    if check.restarts:
        lines.append(
            f"first optimum: {check.initial_verdict} (criterion {check.initial_criterion:.6f}); restarts:"
        )
        for r in check.restarts:
            mark = "" if r.converged else "  (not converged)"
            lines.append(f"  from {r.start}: {r.criterion:.6f}{mark}")
        if check.improved:
            lines.append(f"a restart lowered the criterion by {check.improvement:.6g}")
        else:
            lines.append("no restart lowered the criterion")
    return "\n".join(lines)


def allfit_text(result) -> str:
    """The text of an :class:`~mixedmodels.allfit.AllFit`: lme4's ``summary(allFit(fit))`` in one view."""
    summary = result.summary.copy()
    summary["criterion"] = summary["criterion"].map(lambda v: f"{v:.6f}")
    summary["excess"] = summary["excess"].map(lambda v: f"{v:.3g}")
    summary["seconds"] = summary["seconds"].map(lambda v: "" if not np.isfinite(v) else f"{v:.3f}")
    summary["evaluations"] = summary["evaluations"].map(lambda v: "" if not np.isfinite(v) else f"{int(v)}")
    summary["message"] = summary["message"].map(lambda m: m if len(m) <= 40 else m[:37] + "...")
    parts = [
        "Refits by each optimizer:",
        summary.to_string(),
        "",
        "theta:",
        result.theta.to_string(float_format=lambda v: f"{v:.6g}"),
        "",
        "fixed effects:",
        result.fixef.to_string(float_format=lambda v: f"{v:.6g}"),
        "",
        result.verdict,
    ]
    return "\n".join(parts)
