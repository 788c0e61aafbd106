"""The seed's comparison for any data: a mixed model, the fixed-effects model beside it, and the
parametric bootstrap that explains why their intercept standard errors differ.

For ``y ~ x + (1 | g)`` the fixed-effects model is ``y ~ x + g`` with ``g`` sum-coded, so its
intercept is the mean over the levels of ``g``, as the mixed model's is. The bootstrap with new
random effects (``use_u=False``) asks how the estimates vary over new samples of groups; with the
random effects held at their conditional modes (``use_u=True``) it asks how they vary when only
the residual noise is new, which is the fixed-effects model's question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from .bootstrap import BootstrapResult, bootstrap
from .design import used_columns
from .formula import parse_formula
from .frames import as_pandas
from .lm import LmFit, lm
from .lmer import lmer
from .printing import html_block, html_frame, html_heading, html_lines
from .results import LmerFit

__all__ = ["Comparison", "compare"]


@dataclass(frozen=True, eq=False)
class Comparison:
    """Both fits, both bootstraps and the intervals, for the fixed effects of the mixed model."""

    mixed: LmerFit
    fixed: LmFit
    boot_new_u: BootstrapResult
    boot_fixed_u: BootstrapResult
    profile_ci: pd.DataFrame
    level: float
    group: str

    @property
    def terms(self) -> list[str]:
        return list(self.mixed.fixef_names)

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per fixed effect: estimates, standard errors, bootstrap SDs, intervals."""
        terms = self.terms
        wald = self.mixed.confint("wald", level=self.level).loc[terms]
        boot_ci = self.boot_new_u.confint("percentile", level=self.level).loc[terms]
        prof = self.profile_ci.loc[terms]
        return pd.DataFrame(
            {
                "lmer estimate": self.mixed.fixef[terms],
                "lmer SE": self.mixed.se[terms],
                "lm estimate": self.fixed.coef[terms],
                "lm SE": self.fixed.se[terms],
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

    def sentences(self) -> list[str]:
        """What the table shows, in words, from its numbers."""
        t = self.table
        out = []
        for term in t.index:
            r = t.loc[term]
            ratio = r["lmer SE"] / r["lm SE"]
            if ratio > 2:
                out.append(
                    f"{term}: the mixed model's standard error ({_g(r['lmer SE'])}) is {ratio:.0f} times "
                    f"the fixed-effects model's ({_g(r['lm SE'])}), though the estimates agree "
                    f"({_g(r['lmer estimate'])} and {_g(r['lm estimate'])})."
                )
            else:
                out.append(
                    f"{term}: both models give nearly the same standard error "
                    f"({_g(r['lmer SE'])} and {_g(r['lm SE'])})."
                )
            out.append("  " + self._which(r, "boot SD new u", "new random effects (use_u=False)"))
            out.append("  " + self._which(r, "boot SD fixed u", "the random effects held fixed (use_u=True)"))
        out.append(self._why())
        return out

    @staticmethod
    def _which(r: pd.Series, column: str, how: str) -> str:
        sd = r[column]
        near = {
            "the mixed model's": abs(math.log(sd / r["lmer SE"])),
            "the fixed-effects model's": abs(math.log(sd / r["lm SE"])),
        }
        closest = min(near, key=near.__getitem__)
        both = max(near.values()) < 0.1
        if both:
            return f"The bootstrap with {how} gives {_g(sd)}: the two standard errors agree and so does it."
        return f"The bootstrap with {how} gives {_g(sd)}, which reproduces {closest} standard error."

    def _why(self) -> str:
        return (
            f"Why: the mixed model's intercept is the mean over a population of groups '{self.group}': a "
            "new sample of groups moves it by about the spread of the groups over the square root of "
            "their number. The fixed-effects model holds these groups fixed, so only the residual noise "
            "moves its intercept. Slopes are estimated within groups, so which groups were sampled "
            "hardly matters to them."
        )

    def _report_parts(self) -> tuple[str, pd.DataFrame, str, pd.DataFrame, list[str]]:
        """Title, estimates table, intervals title, intervals table and notes of the report."""
        t = self.table
        pct = f"{100 * self.level:g}%"
        nsim = self.boot_new_u.nsim
        title = f"Comparison of the two models ({nsim} bootstrap replicates each way, {pct} intervals)"
        est = t[["lmer estimate", "lmer SE", "lm estimate", "lm SE", "boot SD new u", "boot SD fixed u"]]
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
        return title, est, f"{pct} intervals for the mixed model:", intervals, notes

    def report(self) -> str:
        """The text the demo prints after the two summaries."""
        title, est, intervals_title, intervals, notes = self._report_parts()
        lines = [title, "", est.to_string(float_format=_g), "", intervals_title, intervals.to_string(), ""]
        return "\n".join(lines + notes + self.sentences())

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
        from .plotting import comparison_figure

        return comparison_figure(self)


def _g(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.6g}"


def compare(
    formula: str,
    data: pd.DataFrame,
    nsim: int = 10_000,
    seed=1,
    level: float = 0.95,
    progress: bool = True,
) -> Comparison:
    """Fit ``y ~ x + (1 | g)`` and ``y ~ x + g`` (sum contrasts), bootstrap both ways, profile.

    Parameters
    ----------
    formula : str
        A mixed-model formula with exactly one random-effects term, a random intercept ``(1 | g)``.
    data : pandas.DataFrame or polars.DataFrame
        The data; it is not modified (of a polars frame, the model's columns are converted).
    nsim : int
        Bootstrap replicates for each of ``use_u=False`` and ``use_u=True``.
    seed : int
        Seed of the bootstrap.
    level : float
        Coverage of the intervals.
    """
    parsed = parse_formula(formula)
    if len(parsed.random) != 1 or parsed.random[0].expr.strip() != "1" or len(parsed.random[0].factors) != 1:
        raise ValueError(
            f"compare needs one random intercept (1 | g) and no other random terms, not {formula!r}"
        )
    group = parsed.random[0].factors[0]
    data = as_pandas(data, lambda schema: used_columns(parsed, schema))
    mixed = lmer(formula, data)
    frame = data.copy()
    frame[group] = pd.Categorical(frame[group])
    fixed_rhs = f"{parsed.fixed} + {group}" if parsed.fixed != "1" else group
    fixed = lm(f"{parsed.response} ~ {fixed_rhs}", frame, contrasts={group: "sum"})
    new_u = bootstrap(mixed, nsim, use_u=False, seed=seed, progress=progress)
    fixed_u = bootstrap(mixed, nsim, use_u=True, seed=seed, progress=progress)
    profile_ci = mixed.profile(which="beta_", progress=progress).confint(level)
    return Comparison(mixed, fixed, new_u, fixed_u, profile_ci, level, group)
