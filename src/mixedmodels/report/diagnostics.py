"""The text of what is printed beside a fit's summary: a convergence check, the refits of
``allfit`` and (as HTML) a profile."""

from __future__ import annotations

import numpy as np

from .rformat import html_block, html_frame, html_lines

__all__ = ["allfit_text", "convergence_text", "profile_html"]


def profile_html(result) -> str:
    """A profile result (``fit.profile()``) as HTML: the parameters and their profile intervals."""
    lines = [f"Profile of {len(result.parameters)} parameters"]
    return html_block([html_lines(lines), html_frame(result.confint())])


def convergence_text(check) -> str:
    """The text of a :class:`~mixedmodels.numerics.convergence.ConvergenceCheck`."""
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
    """The text of an :class:`~mixedmodels.replicates.allfit.AllFit`: lme4's
    ``summary(allFit(fit))`` in one view."""
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
