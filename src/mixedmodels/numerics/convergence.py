"""Is the optimum an optimum? The check after every lmer and glmer fit, and its restarts.

At the point an optimizer stopped, the gradient and the Hessian of the criterion are read on a
scaled parameterization, so that the verdict does not depend on the units of the covariates:
``theta``'s entry in row ``i`` of a template times the scale of the term's column ``i`` (its
standard deviation where the term has an intercept, else its root mean square; 1 for the
intercept), and each fixed effect times the scale of its column of ``X`` (a covariate measured
in milliseconds instead of seconds leaves the scaled problem unchanged). The derivatives come
from where they are known already: the Newton polish's last finite differences (lmer), the
Laplace criterion's closed-form gradient and the Hessian behind ``vcov`` (glmer); otherwise
one finite-difference stencil on the scaled parameters.

The verdict is

- ``"optimum"``: the scaled Hessian on the coordinates off their bounds is positive definite,
  its smallest eigenvalue above ``FLAT_TOL`` times its largest, and a Newton step there would
  lower the criterion by less than ``DECREASE_TOL`` (lme4 judges the Newton step's length
  instead); on a bound the gradient does not point inward (by more than ``GRAD_TOL``);
- ``"not an optimum"``: a Newton step that would gain more (a scaled gradient above
  ``GRAD_TOL`` where the Hessian is not known), a gradient that says the criterion falls
  inward from a bound, or a negative curvature (below ``-NEG_TOL`` times the largest
  eigenvalue);
- ``"nearly flat"``: the smallest eigenvalue is within ``FLAT_TOL`` of zero, relative to the
  largest.

Where it is not ``"optimum"``, the fit is restarted from a few starts
(:func:`mixedmodels.numerics.restarts.checked_lmer`, :func:`mixedmodels.glmm.restarts.checked_glmm`) by
BOBYQA and Newton steps, all on scaled parameters, and the best point is kept; a restart that
lowers the criterion by more than ``IMPROVE_TOL`` is reported in the fit's messages, and a fit
still "not an optimum" after its restarts is reported too (and ``fit.converged`` is False).
:class:`ConvergenceCheck` records what was checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..covariance.layout import ThetaLayout
from .newton import derivatives_one, stencil_offsets

__all__ = [
    "DECREASE_TOL",
    "FLAT_TOL",
    "GRAD_TOL",
    "IMPROVE_TOL",
    "NEG_TOL",
    "ConvergenceCheck",
    "Restart",
    "StandardMap",
    "assess",
    "column_scales",
    "parameter_scales",
    "scaled_derivatives",
    "theta_scales",
]

DECREASE_TOL = 1e-5  # largest gain of a Newton step at an optimum (criterion units)
GRAD_TOL = 1e-3  # largest scaled gradient where the Hessian cannot tell (criterion units per unit)
NEG_TOL = 1e-6  # an eigenvalue below -NEG_TOL max|eigenvalue| is a negative curvature
FLAT_TOL = 1e-6  # an eigenvalue below FLAT_TOL max|eigenvalue| is a flat direction
IMPROVE_TOL = 1e-7  # a restart lower by more than this (criterion units) replaces the optimum
REL_STEP = 1e-4  # finite-difference steps on the scaled parameters: REL_STEP (|phi| + 0.1)


@dataclass(frozen=True)
class Restart:
    """One restart: where it started, the criterion it reached and whether its optimizer converged."""

    start: str
    criterion: float
    converged: bool


@dataclass(frozen=True)
class ConvergenceCheck:
    """What the convergence check found at the optimum a fit kept (see
    :mod:`mixedmodels.numerics.convergence`).

    Attributes
    ----------
    names : tuple of str
        The parameters: ``theta`` entries (and, for glmer, fixed effects).
    estimate : ndarray
        Their values at the optimum kept.
    gradient, scaled_gradient : ndarray
        The criterion's gradient there, on the parameters and on the scaled parameters.
    eigenvalues : ndarray
        Eigenvalues of the scaled Hessian on the coordinates not on a bound, ascending.
    at_bound : ndarray of bool
        The coordinates on their bound.
    decrease : float
        What a Newton step on the coordinates off the bounds would lower the criterion by (NaN
        where their Hessian is not positive definite).
    verdict : str
        ``"optimum"``, ``"not an optimum"`` or ``"nearly flat"``, at the optimum kept.
    reasons : tuple of str
        Why, where the verdict is not ``"optimum"``.
    criterion : float
        The criterion at the optimum kept.
    initial_verdict : str
        The verdict at the optimizer's first stopping point (the one that called for restarts).
    initial_criterion : float
        The criterion there.
    restarts : tuple of Restart
        The restarts tried (none where the first verdict was ``"optimum"``).
    source : str
        Where the derivatives came from.
    """

    names: tuple[str, ...]
    estimate: np.ndarray
    gradient: np.ndarray
    scaled_gradient: np.ndarray
    eigenvalues: np.ndarray
    at_bound: np.ndarray
    decrease: float
    verdict: str
    reasons: tuple[str, ...]
    criterion: float
    initial_verdict: str
    initial_criterion: float
    initial_reasons: tuple[str, ...] = ()
    restarts: tuple[Restart, ...] = ()
    source: str = ""

    @property
    def ok(self) -> bool:
        """Whether the optimum kept passed the check."""
        return self.verdict == "optimum"

    @property
    def improvement(self) -> float:
        """How much the restarts lowered the criterion (0 where they did not)."""
        return max(self.initial_criterion - self.criterion, 0.0)

    @property
    def improved(self) -> bool:
        """Whether a restart replaced the optimizer's first optimum."""
        return self.improvement > IMPROVE_TOL

    def __repr__(self) -> str:
        from ..report.diagnostics import convergence_text

        return convergence_text(self)

    __str__ = __repr__


# ----------------------------------------------------------------------------- scales
def column_scales(M: np.ndarray) -> np.ndarray:
    """A scale for each column of ``M``: 1 for a column of ones; the standard deviation where
    ``M`` has a column of ones (the others are measured from their means), else the root mean
    square; 1 where that is 0 or not finite."""
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] == 0:
        return np.ones(M.shape[1] if M.ndim == 2 else 0)
    n = M.shape[0]
    means = ((np.ones(n) @ M) / n).tolist()  # two BLAS calls, then a few columns as floats
    meansqs = (np.einsum("ij,ij->j", M, M) / n).tolist()
    ones = [m == 1.0 and q == 1.0 for m, q in zip(means, meansqs)]  # mean x = mean x^2 = 1: all 1
    out = []
    for j, (m, q) in enumerate(zip(means, meansqs)):
        var = q - m * m if any(ones) else q
        if any(ones) and math.isfinite(q) and var <= 1e-6 * q:  # cancelled: from the centred column
            var = float(np.mean((M[:, j] - m) ** 2))
        spread = math.sqrt(var) if var > 0 else 0.0
        out.append(1.0 if ones[j] or not math.isfinite(spread) or spread <= 0 else spread)
    return np.array(out)


def theta_scales(layout, reterms: Sequence) -> np.ndarray:
    """The scale of each ``theta`` entry: that of the term's column of its template row (a
    covariate multiplied by ``c`` divides its row of the template by ``c``)."""
    out = []
    for term, structure in zip(reterms, layout.structures):
        if tuple(term.cnames) == ("(Intercept)",):  # a column of ones: scale 1
            out.append(np.ones(structure.ntheta))
            continue
        out.append(structure.scales(column_scales(term.z)))
    return np.concatenate(out) if out else np.zeros(0)


def parameter_scales(model) -> np.ndarray:
    """The scale of each of a GLMM's ``(theta, beta)``: :func:`theta_scales`, then each fixed
    effect's column's (:func:`column_scales`)."""
    return np.concatenate([theta_scales(model.layout, model.reterms), column_scales(model.X)])


def scaled_derivatives(
    fn: Callable[[np.ndarray], float], x: np.ndarray, fx: float, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian of ``fn`` at ``x`` on the scaled parameters
    ``phi = x * scale``, with steps ``REL_STEP (|phi| + 0.1)`` (the Newton polish's stencil)."""
    phi = x * scale
    h = REL_STEP * (np.abs(phi) + 0.1)
    points = phi + stencil_offsets(len(phi))[0] * h
    values = [fn(point / scale) for point in points]
    return derivatives_one(fx, values, h.tolist())


def bound_mask(layout, x: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coordinates on their bound, and the entries below a zero diagonal entry of a template
    (free, but they only rotate an equivalent template: flat directions that are no failure)."""
    at = x <= lower  # -inf bounds are never reached
    if not at.any():
        return at, at
    rotation = np.zeros(len(x), dtype=bool)
    for diagonal, below in layout.rotation_columns():
        if at[diagonal]:
            rotation[list(below)] = True
    return at, rotation & ~at


def assess(
    scaled_gradient: np.ndarray,
    scaled_hessian: np.ndarray | None,
    at_bound: np.ndarray,
    names: Sequence[str],
    rotation: np.ndarray | None = None,
) -> tuple[str, tuple[str, ...], np.ndarray, float]:
    """The verdict on the scaled derivatives: ``(verdict, reasons, eigenvalues, decrease)``
    (module docs); ``decrease`` is what a Newton step on the interior coordinates would gain
    (NaN where their Hessian is not positive definite).

    ``rotation``: free coordinates left out of the eigenvalues (see :func:`bound_mask`)."""
    g = np.asarray(scaled_gradient, dtype=float)
    quick = _interior_optimum(g, scaled_hessian, at_bound, rotation)
    if quick is not None:
        return "optimum", (), quick[0], quick[1]
    rotation = np.zeros(len(g), dtype=bool) if rotation is None else rotation
    interior = ~at_bound & ~rotation
    if not np.all(np.isfinite(g)):
        return "not an optimum", ("the gradient is not finite",), np.full(int(interior.sum()), np.nan), np.nan
    eigenvalues, flat = np.zeros(0), ""
    reasons: list[str] = []
    decrease = math.nan
    if scaled_hessian is not None and np.all(np.isfinite(scaled_hessian)):
        H = (scaled_hessian + scaled_hessian.T) / 2.0
        eigenvalues, reasons, flat = _curvature_reasons(H, at_bound, interior, names)
        if interior.any() and not reasons and not flat:
            gi, Hi = g[interior], H[interior][:, interior]
            step = gi / Hi[0, 0] if len(gi) == 1 else np.linalg.solve(Hi, gi)
            decrease = 0.5 * float(gi @ step)
    reasons = _gradient_reasons(g, at_bound, rotation, decrease, names) + reasons
    if reasons:
        return "not an optimum", tuple(reasons), eigenvalues, decrease
    return ("nearly flat", (flat,), eigenvalues, decrease) if flat else ("optimum", (), eigenvalues, decrease)


def _interior_optimum(
    g: np.ndarray, H: np.ndarray | None, at_bound: np.ndarray, rotation: np.ndarray | None
) -> tuple[np.ndarray, float] | None:
    """The common case in few operations (a check after every fit): no coordinate on a bound,
    the Hessian positive definite and not flat, a Newton step's gain below ``DECREASE_TOL``;
    its eigenvalues and that gain, or None where the general rules must look."""
    if H is None or at_bound.any() or (rotation is not None and rotation.any()):
        return None
    H = (H + H.T) / 2.0
    if len(g) <= 2:
        eigenvalues, decrease = _small_newton(H, g)
    else:
        try:
            eigenvalues, vectors = np.linalg.eigh(H)  # one decomposition for both
        except np.linalg.LinAlgError:
            return None
        decrease = 0.5 * float(np.sum((vectors.T @ g) ** 2 / eigenvalues)) if eigenvalues[0] > 0 else np.nan
    if not eigenvalues[0] > 0:
        return None
    top = max(abs(float(eigenvalues[0])), abs(float(eigenvalues[-1])), 1.0)
    if not (eigenvalues[0] >= FLAT_TOL * top and 0.0 <= decrease <= DECREASE_TOL):
        return None  # NaN fails too
    return eigenvalues, decrease


def _small_newton(H: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, float]:
    """The eigenvalues of a symmetric 1 x 1 or 2 x 2 ``H`` and a Newton step's gain
    ``g' H^-1 g / 2``, in closed form (most fits have one or two parameters; NaN gain where
    ``H`` is singular)."""
    if len(g) == 1:
        h = float(H[0, 0])
        return np.array([h]), 0.5 * float(g[0]) ** 2 / h if h != 0 else math.nan
    a, b, d = float(H[0, 0]), float(H[0, 1]), float(H[1, 1])
    half = math.hypot((a - d) / 2.0, b)
    eigenvalues = np.array([(a + d) / 2.0 - half, (a + d) / 2.0 + half])
    det = a * d - b * b
    if det == 0:
        return eigenvalues, math.nan
    g0, g1 = float(g[0]), float(g[1])
    return eigenvalues, 0.5 * (d * g0 * g0 - 2.0 * b * g0 * g1 + a * g1 * g1) / det


def _gradient_reasons(
    g: np.ndarray, at_bound: np.ndarray, rotation: np.ndarray, decrease: float, names: Sequence[str]
) -> list[str]:
    """What the gradient says: on the interior, a Newton step that would gain more than
    ``DECREASE_TOL`` (a gradient above ``GRAD_TOL`` where the Hessian cannot tell); off a
    bound, a gradient above ``GRAD_TOL``; on a bound, one pointing inward."""
    reasons = []
    large = ~at_bound & (np.abs(g) > GRAD_TOL)
    if math.isfinite(decrease):
        large &= rotation
        if decrease > DECREASE_TOL:
            j = int(np.argmax(np.where(at_bound | rotation, 0.0, np.abs(g))))
            reasons.append(
                f"a Newton step would lower the criterion by {decrease:.3g} "
                f"(scaled gradient {g[j]:.3g} along {names[j]})"
            )
    if large.any():
        j = int(np.argmax(np.where(large, np.abs(g), 0.0)))
        reasons.append(f"scaled gradient {g[j]:.3g} along {names[j]} (tolerance {GRAD_TOL:g})")
    inward = at_bound & (g < -GRAD_TOL)
    if inward.any():
        j = int(np.argmin(np.where(inward, g, 0.0)))
        reasons.append(
            f"the criterion falls inward from the bound of {names[j]} (scaled gradient {g[j]:.3g})"
        )
    return reasons


def _curvature_reasons(
    H: np.ndarray, at_bound: np.ndarray, interior: np.ndarray, names: Sequence[str]
) -> tuple[np.ndarray, list[str], str]:
    """The eigenvalues on the interior coordinates, negative curvatures, and a flat direction."""
    reasons, flat = [], ""
    for j in np.flatnonzero(at_bound).tolist():
        if H[j, j] < -NEG_TOL * max(float(np.max(np.abs(H))), 1.0):
            reasons.append(f"negative curvature {H[j, j]:.3g} along {names[j]} at its bound")
    if not interior.any():
        return np.zeros(0), reasons, flat
    inner = H[interior][:, interior]
    eigenvalues = np.diag(inner).copy() if len(inner) == 1 else np.linalg.eigvalsh(inner)
    scale = max(float(np.max(np.abs(eigenvalues))), 1.0)
    if eigenvalues[0] < -NEG_TOL * scale:
        reasons.append(
            f"negative curvature: the scaled Hessian's smallest eigenvalue is {eigenvalues[0]:.3g}"
        )
    elif eigenvalues[0] < FLAT_TOL * scale:
        span = f"{eigenvalues[0]:.3g} to {eigenvalues[-1]:.3g}"
        flat = f"the scaled Hessian's eigenvalues run from {span}"
    return eigenvalues, reasons, flat


def make_check(
    names: Sequence[str],
    x: np.ndarray,
    gradient: np.ndarray,
    scale: np.ndarray,
    hessian: np.ndarray | None,
    bounds: tuple[np.ndarray, np.ndarray],
    criterion: float,
    source: str,
) -> ConvergenceCheck:
    """A :class:`ConvergenceCheck` of one point from its derivatives on the parameters ``x``;
    ``bounds``: :func:`bound_mask`'s coordinates on a bound and rotations."""
    at_bound, rotation = bounds
    at_bound = np.asarray(at_bound, dtype=bool)
    scaled_gradient = gradient / scale
    scaled_hessian = None if hessian is None else hessian / np.outer(scale, scale)
    verdict, reasons, eigenvalues, decrease = assess(
        scaled_gradient, scaled_hessian, at_bound, names, rotation
    )
    return ConvergenceCheck(
        names=tuple(names), estimate=np.array(x, dtype=float), gradient=np.asarray(gradient, dtype=float),
        scaled_gradient=scaled_gradient, eigenvalues=eigenvalues, at_bound=at_bound, decrease=decrease,
        verdict=verdict, reasons=reasons, criterion=float(criterion), initial_verdict=verdict,
        initial_criterion=float(criterion), initial_reasons=reasons, source=source,
    )  # fmt: skip


def restart_note(check: ConvergenceCheck) -> str:
    """The message of a fit whose optimum a restart improved."""
    best = min(check.restarts, key=lambda r: r.criterion)
    return (
        f"the optimizer stopped short ({check.initial_verdict}: {'; '.join(check.initial_reasons)}); "
        f"a restart from {best.start} lowered the criterion by {check.improvement:.6g} "
        f"(from {check.initial_criterion:.6f} to {check.criterion:.6f})"
    )


def failed_note(check: ConvergenceCheck) -> str:
    """The message of a fit that fails the check after its restarts."""
    return f"convergence check: {check.verdict} ({'; '.join(check.reasons)}); see fit.check_convergence()"


# ----------------------------------------------------------------------------- standardized terms
def lower_root(M: np.ndarray) -> np.ndarray:
    """The lower-triangular ``L`` with nonnegative diagonal and ``L L' = M M'`` (QR of ``M'``)."""
    _, R = np.linalg.qr(M.T)
    L = R.T
    signs = np.where(np.diag(L) < 0, -1.0, 1.0)
    return L * signs[None, :]


@dataclass(frozen=True)
class StandardMap:
    """``theta`` of the model whose random-effects covariates are centred and scaled, and back.

    A term's columns ``Z`` become ``Z A`` (each covariate minus its mean, over its standard
    deviation, where the term has an intercept; over its root mean square otherwise), so its
    random effects ``b = A b_std`` and its relative covariance ``T T' = A T_std T_std' A'``: each
    template is the lower-triangular root of ``A T_std`` (the criterion is the same function of
    the covariance, so the two models' criteria agree point by point). Only unstructured terms
    are mapped: a structured term's ``A T_std`` need not be a template of its structure, and its
    ``theta`` is left as it is.
    """

    layout: ThetaLayout
    transforms: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, layout, reterms: Sequence) -> StandardMap:
        return cls(layout, tuple(_standardizing(term.z) for term in reterms))

    def theta(self, phi: np.ndarray) -> np.ndarray:
        """The original model's ``theta`` of the standardized model's ``phi``."""
        return self._map(phi, self.transforms)

    def phi(self, theta: np.ndarray) -> np.ndarray:
        """The standardized model's ``phi`` of the original model's ``theta``."""
        return self._map(theta, tuple(np.linalg.inv(A) for A in self.transforms))

    def _map(self, x: np.ndarray, transforms) -> np.ndarray:
        out = np.array(x, dtype=float)
        for A, s, lo, T in zip(
            transforms, self.layout.structures, self.layout.offsets, self.layout.templates(out)
        ):
            if s.identity:  # unstructured: any lower-triangular root is a template (others stay)
                out[lo : lo + s.ntheta] = s.theta_of(lower_root(A @ T))
        return out


def _standardizing(z: np.ndarray) -> np.ndarray:
    """``A`` with ``z A`` the term's columns centred (where it has an intercept) and scaled."""
    z = np.asarray(z, dtype=float)
    k = z.shape[1]
    A = np.eye(k)
    if z.shape[0] == 0:  # the rows are not at hand (a Dask fit's terms): no standardization
        return A
    ones = np.flatnonzero(np.all(z == 1.0, axis=0))
    scale = column_scales(z)
    for j in range(k):
        if ones.size and j == ones[0]:
            continue
        A[j, j] = 1.0 / scale[j]
        if ones.size:
            A[ones[0], j] = -float(np.mean(z[:, j])) / scale[j]
    return A
