"""Text of the R-style summaries, kept apart from the numbers.

The formatting follows R's own rules so that printed numbers can be compared with lme4's and
R's output digit for digit: ``format`` of a numeric vector (a common number of decimals, the
fewest that show every element to ``digits`` significant digits), ``printCoefmat`` for
coefficient tables, ``abbreviate`` for the column labels of the correlation matrix.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "coef_table_strings",
    "format_pvalues",
    "format_table",
    "html_pre",
    "named_vector",
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


def r_format(values: Sequence[float], digits: int = 7, nsmall: int = 0) -> list[str]:
    """R's ``format(x, digits=)`` of a numeric vector: common decimals, right-justified.

    Fixed notation unless it would be wider than scientific notation, as R decides.
    """
    values = [float(v) for v in values]
    finite = [v for v in values if math.isfinite(v) and v != 0.0]
    rgt, left, mxsig, neg, big_exp = 0, 1, 1, 0, False
    for v in finite:
        nsig, e = _sig_and_exp(v, digits)
        rgt = max(rgt, nsig - e - 1)
        left = max(left, e + 1)
        mxsig = max(mxsig, nsig)
        neg = neg or v < 0
        big_exp = big_exp or abs(e) >= 100
    rgt = max(rgt, nsmall)
    fixed_width = neg + left + (rgt > 0) + rgt
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


def html_pre(text: str) -> str:
    """Text for Jupyter: a preformatted HTML block (``_repr_html_``)."""
    import html

    return f"<pre style='font-size: 90%'>{html.escape(text)}</pre>"


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


def format_pvalues(p: Sequence[float], digits: int = 3, sep: str = "") -> list[str]:
    """R's ``format.pval(p, digits)`` with ``eps`` the machine epsilon: ``<2e-16`` below it."""
    p = np.asarray(p, dtype=float)
    eps = np.finfo(float).eps
    out = [""] * len(p)
    tiny = p < eps
    expo = np.floor(np.log10(np.where(p > 0, p, 1e-50)))
    for group in ((~tiny) & ((expo >= -3) | (p == 0)), (~tiny) & (expo < -3)):
        idx = np.flatnonzero(group)
        for i, text in zip(idx, r_format(p[idx], digits)):
            out[i] = text.strip()
    eps_text = r_format([eps], max(1, digits - 2))[0]
    for i in np.flatnonzero(tiny):
        out[i] = f"<{sep}{eps_text}"
    return out


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


# ----------------------------------------------------------------------------- lmer
def _aic_block(fit) -> str:
    if fit.reml:
        return f"REML criterion at convergence: {_r_cat(round(fit.objective, 1))}"
    values = [fit.aic, fit.bic, fit.loglik, fit.objective]
    shown = r_format([round(v, 1) for v in values], 7)
    table = dict(zip(["AIC", "BIC", "logLik", "deviance"], (s.strip() for s in shown)))
    table["df.resid"] = str(fit.nobs - fit.npar)
    return named_vector(table)


def _r_cat(x: float) -> str:
    """A number as R's ``cat`` prints it (7 significant digits, no trailing zeros)."""
    return f"{x:.7g}"


def zapsmall(x: np.ndarray, digits: int) -> np.ndarray:
    """R's ``zapsmall``: round to ``digits - log10(max|x|)`` decimals (R rounds that to an integer)."""
    mx = float(np.max(np.abs(x)))
    decimals = max(0.0, digits - math.log10(mx)) if mx > 0 else digits
    return np.round(x, int(math.floor(decimals + 0.5)))


def _scaled_residuals(fit) -> str:
    q, exact = fit.scaled_residual_quantiles()
    shown = r_format(zapsmall(q, 5), 4)
    title = "Scaled residuals: \n" if exact else "Scaled residuals (quartiles approximate): \n"
    return title + named_vector(dict(zip(["Min", "1Q", "Median", "3Q", "Max"], shown)))


def _random_effects(fit) -> str:
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
    return "Random effects:\n" + format_table(rows, header, right=False)


def _fixed_effects(fit, ddf: str | None) -> str:
    cells = coef_table_strings(fit.fixef.to_numpy(), fit.se.to_numpy(), fit.tvalues.to_numpy())
    names = list(fit.fixef_names)
    if ddf is None:
        return "Fixed effects:\n" + format_table(cells, ["Estimate", "Std. Error", "t value"], names)
    df = r_format(np.round(fit.satterthwaite_df.to_numpy(), 2), 4)
    p = fit.pvalues.to_numpy()
    pvals = format_pvalues(p, 3)
    cells = [[c[0], c[1], d, c[2], pv, signif_stars(pr)] for c, d, pv, pr in zip(cells, df, pvals, p)]
    table = format_table(cells, ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)", ""], names)
    return f"Fixed effects (t tests use Satterthwaite's method):\n{table}\n---\n{SIGNIF_LEGEND}"


def correlation_block(names: Sequence[str], vcov: np.ndarray, max_p: int = 12) -> str:
    """lme4's 'Correlation of Fixed Effects' block (empty for one coefficient)."""
    p = len(names)
    if p <= 1:
        return ""
    if p > max_p:
        return f"\nCorrelation matrix not shown by default, as p = {p} > {max_p}."
    sd = np.sqrt(np.diag(vcov))
    corr = vcov / np.outer(sd, sd)
    shown = np.array(r_format(np.round(corr, 3).ravel(), 7, nsmall=3)).reshape(p, p)
    rows = [[shown[i, j] if j < i else "" for j in range(p - 1)] for i in range(1, p)]
    header = [r_abbreviate(n, 6) for n in names[:-1]]
    rownames = [r_abbreviate(n, 11) for n in names[1:]]
    return "\nCorrelation of Fixed Effects:\n" + format_table(rows, header, rownames, right=False)


def lmer_summary(fit, ddf: str | None = "Satterthwaite") -> str:
    """The summary of an lmer fit in lme4's layout."""
    method = "REML " if fit.reml else "maximum likelihood  "
    data_line = "   Data: data"
    if fit.design.dropped_rows:
        data_line += f" ({fit.design.dropped_rows} rows with missing values dropped)"
    groups = "; ".join(f"{g}, {n}" for g, n in fit.ngroups.items())
    parts = [
        f"Linear mixed model fit by {method}['lmerMod']",
        f"Formula: {fit.formula}",
        data_line,
        "",
        _aic_block(fit),
        "",
        _scaled_residuals(fit),
        "",
        _random_effects(fit),
        f"Number of obs: {fit.nobs}, groups:  {groups}",
        "",
        _fixed_effects(fit, ddf),
    ]
    corr = correlation_block(list(fit.fixef_names), fit.vcov.to_numpy())
    if corr:
        parts.append(corr)
    parts += list(fit.messages)
    return "\n".join(parts)


# ------------------------------------------------------------------------------- lm
def _lm_call(fit) -> str:
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


def _lm_residuals(fit) -> str:
    resid = fit.residuals.to_numpy()[fit._w > 0]
    title = "Weighted Residuals:" if fit.design.weights is not None else "Residuals:"
    if fit.df_residual > 5:
        q = np.quantile(resid, [0, 0.25, 0.5, 0.75, 1])
        return f"{title}\n" + named_vector(
            dict(zip(["Min", "1Q", "Median", "3Q", "Max"], r_format(zapsmall(q, 5), 4)))
        )
    labels = [str(i + 1) for i in range(len(resid))]
    return f"{title}\n" + named_vector(dict(zip(labels, r_format(resid, 4))))


def _lm_coefficients(fit) -> str:
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
    table = format_table(cells, header, fit.names)
    return f"{title}\n{table}\n---\n{SIGNIF_LEGEND}"


def lm_summary(fit) -> str:
    """The summary of an lm fit in R's ``summary.lm`` layout."""
    parts = ["", "Call:", _lm_call(fit), "", _lm_residuals(fit), "", _lm_coefficients(fit), ""]
    sigma = r_format([signif(fit.sigma, 4)], 4)[0] if math.isfinite(fit.sigma) else "NaN"
    parts.append(f"Residual standard error: {sigma} on {fit.df_residual} degrees of freedom")
    if fit.design.dropped_rows:
        parts.append(f"  ({fit.design.dropped_rows} observations deleted due to missingness)")
    value, numdf, dendf = fit.fstatistic
    if numdf > 0:
        parts.append(
            f"Multiple R-squared:  {fit.r_squared:.4g},\tAdjusted R-squared:  {fit.adj_r_squared:.4g} "
        )
        pval = format_pvalues([fit.f_pvalue], 4, sep=" ")[0]
        parts.append(f"F-statistic: {value:.4g} on {numdf} and {dendf} DF,  p-value: {pval}")
    return "\n".join(parts)
