"""The seed's comparison for any data: a mixed model, the fixed-effects model beside it, and the
parametric bootstrap that explains why their intercept standard errors differ.

For ``y ~ x + (1 | g)`` the fixed-effects model is ``y ~ x + g`` with ``g`` sum-coded, so its
intercept is the mean over the levels of ``g``, as the mixed model's is. The bootstrap with new
random effects (``use_u=False``) asks how the estimates vary over new samples of groups; with the
random effects held at their conditional modes (``use_u=True``) it asks how they vary when only
the residual noise is new, which is the fixed-effects model's question.

With ``family`` (binomial or Poisson) the two models are a GLMM (:func:`mixedmodels.glmer`) and a
GLM (:func:`mixedmodels.glm`) with ``g`` sum-coded, and the intercepts are on the link scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import cast

import numpy as np
import pandas as pd

from ..fixed.glm import GlmFit, glm
from ..fixed.lm import LmFit, lm
from ..formula.design import DataError, used_columns
from ..formula.frames import as_pandas
from ..formula.terms import ParsedFormula, parse_formula
from ..glmm.fit import GlmerFit
from ..glmm.glmer import glmer
from ..lmm.fit import LmerFit
from ..lmm.lmer import lmer
from ..replicates.bootstrap import BootstrapResult, bootstrap
from ..report.rformat import html_block, html_frame, html_heading, html_lines
from .defaults import NSIM

__all__ = ["Comparison", "compare"]

FAMILIES = ("binomial", "poisson")
FAR_OUT = 10  # a replicate this many standard errors from the estimate is far out in a tail


@dataclass(frozen=True, eq=False)
class Comparison:
    """Both fits, both bootstraps and the intervals, for the fixed effects of the mixed model."""

    mixed: LmerFit | GlmerFit
    fixed: LmFit | GlmFit
    boot_new_u: BootstrapResult
    boot_fixed_u: BootstrapResult
    profile_ci: pd.DataFrame
    level: float
    group: str

    @property
    def terms(self) -> list[str]:
        return list(self.mixed.fixef_names)

    @property
    def labels(self) -> tuple[str, str]:
        """The R functions of the two fits, ``("lmer", "lm")`` or ``("glmer", "glm")``."""
        return self.mixed.kind, self.fixed.kind

    @property
    def generalized(self) -> bool:
        """Whether the models are a GLMM and a GLM."""
        return self.mixed.is_generalized

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per fixed effect: estimates, standard errors, bootstrap SDs, intervals."""
        terms = self.terms
        wald = self.mixed.confint("wald", level=self.level).loc[terms]
        boot_ci = self.boot_new_u.confint("percentile", level=self.level).loc[terms]
        prof = self.profile_ci.loc[terms]
        mixed, fixed = self.labels
        return pd.DataFrame(
            {
                f"{mixed} estimate": self.mixed.fixef[terms],
                f"{mixed} SE": self.mixed.se[terms],
                f"{fixed} estimate": self.fixed.coef[terms],
                f"{fixed} SE": self.fixed.se[terms],
                "boot SD new u": self.boot_new_u.sd()[terms],
                "boot SD fixed u": self.boot_fixed_u.sd()[terms],
                "Wald lower": wald.iloc[:, 0],
                "Wald upper": wald.iloc[:, 1],
                "profile lower": prof.iloc[:, 0],
                "profile upper": prof.iloc[:, 1],
                "boot lower": boot_ci.iloc[:, 0],
                "boot upper": boot_ci.iloc[:, 1],
            },
            index=pd.Index(terms, name="term"),
        )

    @cached_property
    def separated_terms(self) -> dict[str, list[str]]:
        """The terms whose estimates are infinite (:mod:`mixedmodels.numerics.separation`), each with the
        fits that separate it (``["glmer", "glm"]``)."""
        out: dict[str, list[str]] = {}
        for fit, label in zip((self.mixed, self.fixed), self.labels):
            sep = fit.separation
            for term in sep.coefficients if sep is not None else ():
                if term in self.terms:
                    out.setdefault(term, []).append(label)
        return out

    def sentences(self) -> list[str]:
        """What the table shows, in words, from its numbers."""
        out = []
        separated = self.separated_terms
        for term in self.table.index:
            if term in separated:
                out.append(self._separated_sentence(term, separated[term]))
                continue
            r = self._row(term)
            out.append(self._se_sentence(term, r))
            out.append("  " + self._which(term, r, self.boot_new_u, "new random effects (use_u=False)"))
            out.append(
                "  " + self._which(term, r, self.boot_fixed_u, "the random effects held fixed (use_u=True)")
            )
        out.append(self._why())
        return out

    def _separated_sentence(self, term: str, fits: list[str]) -> str:
        """The sentence for a separated term: nothing to compare."""
        seps = [f.separation for f in (self.mixed, self.fixed) if f.kind in fits]
        sep = next(s for s in seps if s is not None)
        return (
            f"{term}: separated in the data ({sep.kind}, in the {' and '.join(fits)} fit"
            f"{'s' if len(fits) > 1 else ''}): its estimate is infinite (shown at a stated bound) and its "
            "standard errors and bootstrap SDs are meaningless, so the comparison says nothing about it "
            "(fixef_prior= in mm.glmer gives a penalized, finite estimate)."
        )

    def _row(self, term: str) -> pd.Series:
        """A row of the table with the fits' labels taken out: ``mixed SE``, ``fixed estimate``."""
        mixed, fixed = self.labels
        row = self.table.loc[term]
        return row.rename(lambda c: c.replace(f"{mixed} ", "mixed ").replace(f"{fixed} ", "fixed "))

    @staticmethod
    def _se_sentence(term: str, r: pd.Series) -> str:
        """How the two standard errors of ``term`` compare, and its two estimates."""
        ratio = r["mixed SE"] / r["fixed SE"]
        if abs(math.log(ratio)) < math.log(1.2):
            return (
                f"{term}: both models give nearly the same standard error "
                f"({_g(r['mixed SE'])} and {_g(r['fixed SE'])})."
            )
        times = f"{ratio:.0f}" if ratio > 2 else f"{ratio:.2g}"
        close = abs(r["mixed estimate"] - r["fixed estimate"]) < min(r["mixed SE"], r["fixed SE"])
        return (
            f"{term}: the mixed model's standard error ({_g(r['mixed SE'])}) is {times} times "
            f"the fixed-effects model's ({_g(r['fixed SE'])}), though the estimates "
            f"{'agree' if close else 'differ'} ({_g(r['mixed estimate'])} and {_g(r['fixed estimate'])})."
        )

    @staticmethod
    def _which(term: str, r: pd.Series, boot: BootstrapResult, how: str) -> str:
        """Which model's standard error the bootstrap SD of ``term`` reproduces, if either."""
        sd = boot.sd()[term]
        near = {
            "the mixed model's": abs(math.log(sd / r["mixed SE"])),
            "the fixed-effects model's": abs(math.log(sd / r["fixed SE"])),
        }
        closest = min(near, key=near.__getitem__)
        if max(near.values()) < 0.1:
            return f"The bootstrap with {how} gives {_g(sd)}: the two standard errors agree and so does it."
        if near[closest] < math.log(1.5):
            return f"The bootstrap with {how} gives {_g(sd)}, which reproduces {closest} standard error."
        return f"The bootstrap with {how} gives {_g(sd)}, which reproduces neither standard error" + _tails(
            boot.replicates[term].to_numpy(), boot.t0[term], r["mixed SE"]
        )

    def _why(self) -> str:
        if self.generalized:
            return self._why_generalized()
        return (
            f"Why: the mixed model's intercept is the mean over a population of groups '{self.group}': a "
            "new sample of groups moves it by about the spread of the groups over the square root of "
            "their number. The fixed-effects model holds these groups fixed, so only the residual noise "
            "moves its intercept. Slopes are estimated within groups, so which groups were sampled "
            "hardly matters to them."
        )

    def _why_generalized(self) -> str:
        fit = cast(GlmerFit, self.mixed)  # a generalized comparison's mixed model
        mean = fit.family.mean_name
        return (
            f"Why: on the {fit.link} scale the mixed model's intercept is the mean over a population of "
            f"groups '{self.group}' (the linear predictor of a typical group, whose random effect is 0): "
            "a new sample of groups moves it by about the spread of the groups over the square root of "
            f"their number. The glm with sum-coded '{self.group}' holds these groups fixed (its intercept "
            f"is the mean of their {fit.link}s), so only the {fit.family.name} noise of the responses "
            "moves it. Effects that vary within groups are estimated within groups, so which groups "
            f"were sampled hardly matters to them. On the response scale the intercept is a typical "
            f"group's {mean}, not the {mean} averaged over the population of groups."
        )

    def _report_parts(self) -> tuple[str, pd.DataFrame, str, pd.DataFrame, list[str]]:
        """Title, estimates table, intervals title, intervals table and notes of the report."""
        t = self.table
        pct = f"{100 * self.level:g}%"
        nsim = self.boot_new_u.nsim
        title = f"Comparison of the two models ({nsim} bootstrap replicates each way, {pct} intervals)"
        mixed, fixed = self.labels
        est = t[
            [
                f"{mixed} estimate",
                f"{mixed} SE",
                f"{fixed} estimate",
                f"{fixed} SE",
                "boot SD new u",
                "boot SD fixed u",
            ]
        ]
        intervals = pd.DataFrame(
            {
                "Wald": [f"[{_g(a)}, {_g(b)}]" for a, b in zip(t["Wald lower"], t["Wald upper"])],
                "profile": [f"[{_g(a)}, {_g(b)}]" for a, b in zip(t["profile lower"], t["profile upper"])],
                "bootstrap": [f"[{_g(a)}, {_g(b)}]" for a, b in zip(t["boot lower"], t["boot upper"])],
            },
            index=t.index,
        )
        failed = self.boot_new_u.n_failed + self.boot_fixed_u.n_failed
        notes = [f"({failed} bootstrap refits failed)"] if failed else []
        n_sep = self.boot_new_u.n_separated + self.boot_fixed_u.n_separated
        if n_sep:
            notes.append(
                f"({n_sep} of {2 * nsim} bootstrap replicates have separated fixed effects: those "
                "estimates are left out of the bootstrap SDs)"
            )
        if self.separated_terms:
            notes.append(
                f"(separated in the data: {', '.join(self.separated_terms)}: no comparison is "
                "meaningful for these terms)"
            )
        return title, est, f"{pct} intervals for the mixed model:", intervals, notes

    def report(self) -> str:
        """The text the demo prints after the two summaries."""
        title, est, intervals_title, intervals, notes = self._report_parts()
        lines = [title, "", est.to_string(float_format=_g), "", intervals_title, intervals.to_string(), ""]
        return "\n".join(lines + notes + self.sentences())

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        models = " and ".join(self.labels)
        return f"<Comparison of {models}: {len(self.terms)} fixed effects, group {self.group!r}>"

    def _repr_html_(self) -> str:
        title, est, intervals_title, intervals, notes = self._report_parts()
        parts = [
            html_heading(title),
            html_frame(est),
            html_heading(intervals_title),
            html_frame(intervals),
        ]
        if notes:
            parts.append(html_lines(notes, note=True))
        parts += [html_lines([sentence]) for sentence in self.sentences()]
        return html_block(parts)

    def figure(self):
        """Data with a fitted line per group, and the two bootstrap distributions of the intercept."""
        from ..plotting import comparison_figure

        return comparison_figure(self)


def _g(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.6g}"


def _tails(values: np.ndarray, t0: float, se: float) -> str:
    """The end of a sentence on a bootstrap SD that matches neither standard error: how many
    replicates lie more than ``FAR_OUT`` standard errors from the estimate, and the SD without them."""
    values = values[np.isfinite(values)]
    far = np.abs(values - t0) > FAR_OUT * se
    if not far.any() or far.all():
        return "."
    few = " The percentile interval hardly notices so few." if far.mean() < 0.01 else ""
    return (
        f": {far.sum()} of {len(values)} replicates lie more than {FAR_OUT} standard errors from the "
        f"estimate (a resample whose events or counts run out, so the estimate runs off towards "
        f"infinity); without them the SD is {_g(np.std(values[~far], ddof=1))}.{few}"
    )


def compare(
    formula: str,
    data: pd.DataFrame,
    nsim: int | None = None,
    seed=1,
    level: float = 0.95,
    progress: bool = True,
    family: str | None = None,
    link: str | None = None,
) -> Comparison:
    """Fit ``y ~ x + (1 | g)`` and ``y ~ x + g`` (sum contrasts), bootstrap both ways, profile.

    Parameters
    ----------
    formula : str
        A mixed-model formula with exactly one random-effects term, a random intercept ``(1 | g)``;
        with ``family`` the response may be ``cbind(successes, failures)``.
    data : pandas.DataFrame or polars.DataFrame
        The data; it is not modified (of a polars frame, the model's columns are converted).
    nsim : int, optional
        Bootstrap replicates for each of ``use_u=False`` and ``use_u=True``: by default 10000
        for a linear mixed model, 2000 for a GLMM (each replicate's refit costs more).
    seed : int
        Seed of the bootstrap.
    level : float
        Coverage of the intervals.
    progress : bool
        Show the progress of the bootstraps and the profile.
    family : {"binomial", "poisson"}, optional
        Compare a GLMM (:func:`mixedmodels.glmer`) with a GLM (:func:`mixedmodels.glm`) of this
        family instead of ``lmer`` with ``lm``.
    link : str, optional
        The GLMM's and GLM's link (the family's canonical link by default); needs ``family``.

    Returns
    -------
    Comparison
    """
    parsed = parse_formula(formula)
    group = _random_intercept_group(parsed, formula)
    _check_family(family, link)
    data = as_pandas(data, lambda schema: used_columns(parsed, schema))
    if group not in data.columns:
        raise DataError(
            f"grouping factor {group!r} named in the formula is not in the data; the data has: "
            f"{', '.join(map(str, data.columns))}"
        )
    frame = data.copy()
    frame[group] = pd.Categorical(frame[group])
    fixed_formula = _fixed_formula(parsed, group)
    contrasts = {group: "sum"}
    mixed: LmerFit | GlmerFit
    fixed: LmFit | GlmFit
    if family is None:
        mixed, fixed = lmer(formula, data), lm(fixed_formula, frame, contrasts=contrasts)
    else:
        mixed = glmer(formula, data, family, link)
        fixed = glm(fixed_formula, frame, family, link, contrasts=contrasts)
    nsim = NSIM[mixed.kind] if nsim is None else nsim
    new_u = bootstrap(mixed, nsim, use_u=False, seed=seed, progress=progress)
    fixed_u = bootstrap(mixed, nsim, use_u=True, seed=seed, progress=progress)
    profile_ci = mixed.profile(which="beta_", progress=progress).confint(level)
    return Comparison(mixed, fixed, new_u, fixed_u, profile_ci, level, group)


def _random_intercept_group(parsed: ParsedFormula, formula: str) -> str:
    """The grouping factor of the formula's one random-effects term, which must be ``(1 | g)``."""
    if len(parsed.random) != 1 or parsed.random[0].expr.strip() != "1" or len(parsed.random[0].factors) != 1:
        raise ValueError(
            f"compare needs one random intercept (1 | g) and no other random terms, not {formula!r}"
        )
    return parsed.random[0].factors[0]


def _check_family(family: str | None, link: str | None) -> None:
    if family is None and link is not None:
        raise ValueError(f"link={link!r} needs a family ('binomial' or 'poisson'): it is for a GLMM")
    if family is not None and family not in FAMILIES:
        raise ValueError(
            f"compare's family must be 'binomial' or 'poisson' (or None for a linear mixed model), "
            f"not {family!r}"
        )


def _fixed_formula(parsed: ParsedFormula, group: str) -> str:
    """``response ~ fixed + g`` with the mixed model's offsets: the fixed-effects model."""
    rhs = f"{parsed.fixed} + {group}" if parsed.fixed != "1" else group
    offsets = "".join(f" + offset({expr})" for expr in parsed.offsets)
    return f"{parsed.response} ~ {rhs}{offsets}"
