"""Separation: fixed effects whose maximum-likelihood estimates are infinite.

A binomial model's estimates run off to infinity when a direction ``d`` of the coefficients
moves no row against its data and some rows with it: ``x_i'd >= 0`` on every row with
successes only, ``x_i'd <= 0`` on every row with failures only, ``x_i'd = 0`` on every row with
both (a ``cbind`` row with ``0 < k < size``). Along ``beta + t d`` the log-likelihood then rises
with ``t`` for ever: complete separation when every row moves, quasi-complete when some stay.
A Poisson model (log link) has the same with ``x_i'd <= 0`` on zero counts and ``x_i'd = 0``
on positive ones (a level with no events: its estimate is ``-inf``). The random effects do not
change this: they are finite, penalized, and the direction moves the fixed part only.

Detection (:func:`detect_separation`) is one linear program (``scipy.optimize.linprog``, HiGHS):
variables ``b`` (free) and a slack ``s_i`` in ``[0, 1]`` for each one-sided row, constraints
``x_i'b >= s_i`` (successes only), ``-x_i'b >= s_i`` (failures only), ``x_i'b = 0`` (both),
maximize ``sum s_i``. The directions form a cone, so the optimum moves every row that any
direction moves (``s_i = 1``): those rows ``R`` are the separated rows, and the directions span
``L``, the null space of the other rows' ``X``. The coefficients with a non-zero entry in ``L``
are the separated ones (with a factor level: the level's column alone). This is the linear
program of Konis (2007), the method of R's ``detectseparation``, in our own formulation.

A fit with separation (:func:`bounded_offset`) holds the coefficients along ``L`` at a stated
point: ``beta = N gamma + T d``, ``N`` a basis of the complement of ``L``, ``d`` the program's
direction and ``T`` such that every separated row's linear predictor has moved
``SEPARATION_BOUND`` (10) on the link scale; ``gamma`` (and the variance parameters) are then
estimated as usual. The separated coefficients are reported at that point with no standard
error: their estimates are infinite, and what is shown is a bound on the finite side.

The program has a slack per distinct one-sided row: with many such rows (continuous
predictors, a 0/1 response) proving that nothing is separated is its slow part (4 s for
20,000 rows). There the GLM's score is tried first (:func:`certified`): a finite optimum of
the GLM is a certificate of no separation (a few IRLS steps, 0.07 s for 20,000 rows); only
where it fails does the program run.

Reference: Konis, K. (2007). Linear programming algorithms for detecting separated data in
binary logistic regression models. DPhil thesis, University of Oxford.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, sparse
from scipy.linalg import null_space

from ..families import Family, glm_family
from .irls import IrlsFit, irls

__all__ = [
    "SEPARATION_BOUND",
    "BoundedIrlsFit",
    "Separation",
    "SeparationCheck",
    "describe",
    "detect_separation",
    "fit_glm_separated",
    "separated_mask",
    "separated_start",
]

SEPARATION_BOUND = 10.0  # the separated rows' linear predictor moved this far (link scale)
_TOL = 1e-7  # an entry of the direction or of the null space below this (relative) is 0
CERTIFY_ROWS = 50  # more one-sided distinct rows: the GLM's certificate first (n = 300: 0.7 ms, LP 5 ms)


@dataclass(frozen=True)
class Separation:
    """What the linear program found.

    Attributes
    ----------
    names : tuple of str
        All coefficients' names, in the design's order.
    coefficients : tuple of str
        The separated coefficients (their estimates are infinite).
    direction : ndarray (p,)
        A direction along which the likelihood keeps rising (largest entry 1 in size).
    span : ndarray (p, r)
        An orthonormal basis of all such directions.
    rows : ndarray of bool (n,)
        The rows the direction moves (their fitted means go to 0 or 1, or a count's to 0).
    complete : bool
        Whether every row moves (complete separation) or some stay (quasi-complete).
    """

    names: tuple[str, ...]
    coefficients: tuple[str, ...]
    direction: np.ndarray
    span: np.ndarray
    rows: np.ndarray
    complete: bool

    @property
    def kind(self) -> str:
        return "complete separation" if self.complete else "quasi-complete separation"

    def signs(self) -> dict[str, str]:
        """Each separated coefficient's run-off: "+infinity" or "-infinity" (the side of the
        program's direction), "+-infinity" where that direction leaves it unchanged."""
        out = {}
        for name in self.coefficients:
            d = self.direction[self.names.index(name)]
            out[name] = "+-infinity" if abs(d) < _TOL else ("+infinity" if d > 0 else "-infinity")
        return out

    def __repr__(self) -> str:
        runs = ", ".join(f"{c} -> {s}" for c, s in self.signs().items())
        return f"<Separation ({self.kind}, {int(np.sum(self.rows))} rows): {runs}>"

    def to_frame(self) -> pd.DataFrame:
        """One row per separated coefficient: its direction and the side it runs to."""
        rows = [
            {"coefficient": c, "direction": float(self.direction[self.names.index(c)]), "estimate": s}
            for c, s in self.signs().items()
        ]
        return pd.DataFrame(rows, columns=["coefficient", "direction", "estimate"])


def _sides(y: np.ndarray, weights: np.ndarray, fam: Family) -> tuple[np.ndarray, np.ndarray]:
    """Per row: +1 (may move up: successes only), -1 (may move down: failures only, a zero
    count), 0 (must stay: both, a positive count); and which rows count (non-zero weight)."""
    return fam.separation_sides(np.asarray(y, dtype=float)[:, None])[:, 0], np.asarray(weights) > 0


def _as_family(family: Family | str, link: str | None) -> Family:
    """``family`` itself, or the family of that name with ``link`` (the strings' spelling)."""
    return glm_family(family, link)


def applies(fam: Family) -> bool:
    """Whether infinite estimates can arise: binomial (every link), Poisson with the log link
    (the family's ``separable``)."""
    return fam.separable


class SeparationCheck:
    """The check of one fixed-effects design for any response (see the module).

    The program runs on the design's distinct rows (a distinct row whose copies have data on
    both sides is two-sided), and its answer is kept for each pattern of sides: the replicates
    of a bootstrap of a factor design share a few patterns.

    Parameters
    ----------
    X : ndarray (n, p)
        The fixed-effects design (full column rank).
    weights : ndarray (n,)
        Prior weights (a binomial's trials); rows of weight 0 are left out.
    family : Family or str
        The family (or its name, with ``link`` the link's).
    link : str, optional
    names : sequence of str, optional
        The coefficients' names (``x1``, ``x2``, ... by default).
    """

    def __init__(
        self, X: np.ndarray, weights: np.ndarray, family: Family | str, link: str | None = None, names=None
    ):
        self.X = np.asarray(X, dtype=float)
        n, p = self.X.shape
        self.names = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(p))
        self.fam = _as_family(family, link)
        self.weights = np.asarray(weights, dtype=float)
        self.keep = self.weights > 0
        Xu, self.inverse = _distinct_rows(self.X[self.keep])
        self.scale = np.maximum(np.abs(Xu).max(axis=0), 1e-300) if len(Xu) else np.ones(p)
        self.Xs = Xu / self.scale  # columns on one scale: the program's tolerances are relative
        rows = self.keep.sum()
        self.groups = sparse.csr_matrix(
            (np.ones(rows), (self.inverse, np.arange(rows))), shape=(len(Xu), rows)
        )
        self.cache: dict[bytes, Separation | None] = {}

    def group_sides(self, Y: np.ndarray) -> np.ndarray:
        """The side of each distinct row for each column of ``Y`` (n, m): that of its copies
        where they agree, else 0."""
        sides = self.fam.separation_sides(np.asarray(Y, dtype=float)[self.keep])
        up, down, stay = (np.asarray(self.groups @ (sides == v).astype(float)) for v in (1.0, -1.0, 0.0))
        return np.where((stay > 0) | ((up > 0) & (down > 0)), 0.0, np.where(up > 0, 1.0, -1.0))

    def possible(self, gsides: np.ndarray) -> np.ndarray:
        """For each column of ``gsides``: whether a direction can leave every two-sided row
        unchanged (the two-sided rows' Gram matrix is singular): a necessary condition, a few
        microseconds a response."""
        two = (gsides == 0).astype(float)
        G = np.einsum("gi,gj,gm->mij", self.Xs, self.Xs, two)
        return _singular(G)

    def many(self, Y: np.ndarray) -> list[Separation | None]:
        """The separation of each column of ``Y`` (n, m), or None."""
        m = Y.shape[1]
        if not applies(self.fam) or not self.keep.any():
            return [None] * m
        gsides = self.group_sides(Y)
        maybe = self.possible(gsides)
        return [self._program(gsides[:, i], Y[:, i]) if maybe[i] else None for i in range(m)]

    def __call__(self, y: np.ndarray) -> Separation | None:
        """The separation of one response, or None."""
        return self.many(np.asarray(y, dtype=float)[:, None])[0]

    def _program(self, gside: np.ndarray, y: np.ndarray) -> Separation | None:
        key = gside.tobytes()
        if key not in self.cache:
            many = np.count_nonzero(gside) > CERTIFY_ROWS
            self.cache[key] = None if many and self._certified(y) else self._solve(gside)
        return self.cache[key]

    def _certified(self, y: np.ndarray) -> bool:
        """Whether the GLM's score proves that no direction separates (see :func:`certified`):
        far cheaper than the program where it has many rows and nothing is separated."""
        # on the distinct rows, their responses pooled: the same score, fewer rows
        w = self.weights[self.keep]
        W = np.asarray(self.groups @ w).ravel()
        yg = np.asarray(self.groups @ (w * y[self.keep])).ravel() / W
        Xu = self.Xs * self.scale
        try:
            fam = self.fam
            with np.errstate(all="ignore"):
                fit = irls(Xu, yg, fam, W, epsilon=1e-4, warn=False)  # the correction does the rest
        except Exception:  # noqa: BLE001 - any failure only means: no certificate, run the program
            return False
        return certified(Xu, yg, W, fam, fit.eta)

    def _solve(self, gside: np.ndarray) -> Separation | None:
        """The linear program of the module for one pattern of sides."""
        Xs, p = self.Xs, self.X.shape[1]
        one = np.flatnonzero(gside != 0)
        two = np.flatnonzero(gside == 0)
        if one.size == 0:
            return None
        m = one.size
        c = np.concatenate([np.zeros(p), -np.ones(m)])  # maximize sum s
        # s_i - side_i x_i'b <= 0, sparse: the slacks' identity would be m x m
        A_ub = sparse.hstack([sparse.csr_matrix(-gside[one, None] * Xs[one]), sparse.identity(m)], "csr")
        A_eq = (
            sparse.hstack([sparse.csr_matrix(Xs[two]), sparse.csr_matrix((two.size, m))], "csr")
            if two.size
            else None
        )
        b_eq = np.zeros(two.size) if two.size else None
        bounds = [(None, None)] * p + [(0.0, 1.0)] * m
        res = optimize.linprog(
            c, A_ub=A_ub, b_ub=np.zeros(m), A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs"
        )
        if res.status != 0 or -res.fun < 0.5:
            return None
        moved_groups = np.zeros(len(Xs), dtype=bool)
        moved_groups[one[res.x[p:] > 0.5]] = True
        span = null_space(Xs[~moved_groups]) if (~moved_groups).any() else np.eye(p)
        if span.shape[1] == 0:
            return None
        span = np.linalg.qr(span / self.scale[:, None])[0]  # back to the coefficients' own scale
        direction = res.x[:p] / self.scale
        direction = direction / np.max(np.abs(direction))
        separated = np.max(np.abs(span), axis=1) > _TOL
        moved = np.zeros(len(self.X), dtype=bool)
        moved[np.flatnonzero(self.keep)] = moved_groups[self.inverse]
        return Separation(
            names=self.names,
            coefficients=tuple(nm for nm, sep in zip(self.names, separated) if sep),
            direction=direction,
            span=span,
            rows=moved,
            complete=bool(moved_groups.all()),
        )


def _distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``X`` (in order of first appearance) and each row's index among
    them, by hashing the rows' bytes (exact; a tenth of ``np.unique(axis=0)``'s time)."""
    n, p = X.shape
    if n == 0:
        return np.zeros((0, p)), np.zeros(0, dtype=np.intp)
    rows = np.ascontiguousarray(X).view(np.dtype((np.void, X.dtype.itemsize * p))).ravel()
    codes, uniques = pd.factorize(rows)
    first = np.empty(len(uniques), dtype=np.intp)
    first[codes[::-1]] = np.arange(n)[::-1]
    return X[first], codes.astype(np.intp)


def certified(X: np.ndarray, y: np.ndarray, weights: np.ndarray, fam: Family, eta: np.ndarray) -> bool:
    """A proof that no direction separates, from a GLM fit's linear predictor ``eta``.

    No separating direction exists exactly when some ``c`` with ``c_i`` of the row's side
    (``c_i > 0`` on success-only rows, ``< 0`` on failure-only ones, any sign on two-sided ones)
    gives ``X'c = 0`` (Gordan's alternative). The score of the GLM, ``c_i = w_i (y_i - mu_i)
    mu_eta_i / V(mu_i)``, has those signs at any finite ``eta`` and ``X'c`` about 0 at its
    optimum; the least-norm correction ``d = -X (X'X)^{-1} X'c`` makes ``X'(c + d) = 0``, and if
    it leaves every one-sided row's sign the proof is complete.
    """
    mu = fam.linkinv(eta)
    c = weights * (y - mu) * fam.mu_eta(eta) / fam.variance(mu)
    side = fam.separation_sides(y[:, None])[:, 0]
    if not np.all(np.isfinite(c)) or np.any((side != 0) & (np.sign(c) != side)):
        return False
    try:
        d = -X @ np.linalg.lstsq(X.T @ X, X.T @ c, rcond=None)[0]
    except np.linalg.LinAlgError:
        return False
    fixed = c + d
    return bool(np.all(side[side != 0] * fixed[side != 0] > 0))


def separated_mask(
    seps: list[Separation | None], flagged: np.ndarray, width: int, column: Callable[[str], int] | None
) -> np.ndarray:
    """Which of each replicate's ``width`` statistics are separated estimates: for each
    ``flagged`` replicate, its separated coefficients' statistics (``column(name)`` their
    position), or all of them where ``column`` is None (a custom statistic)."""
    mask = np.zeros((len(seps), width), dtype=bool)
    for i in np.flatnonzero(flagged):
        sep = seps[i]
        if column is None:
            mask[i] = True
        elif sep is not None:
            mask[i, [column(c) for c in sep.coefficients]] = True
    return mask


def detect_separation(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    family: Family | str,
    link: str | None = None,
    names: tuple[str, ...] | list[str] | None = None,
) -> Separation | None:
    """The separated coefficients of a fixed-effects design with one response, or None (see the
    module; :class:`SeparationCheck` checks many responses of one design).

    Parameters
    ----------
    X : ndarray (n, p)
        The fixed-effects design (full column rank).
    y : ndarray (n,)
        The response as the family reads it: a binomial's proportions, a count.
    weights : ndarray (n,)
        Prior weights (a binomial's trials); rows of weight 0 are left out.
    family : Family or str
        The family (or its name, with ``link`` the link's).
    link : str, optional
    names : sequence of str, optional
        The coefficients' names (``x1``, ``x2``, ... by default).
    """
    fam = _as_family(family, link)
    if not applies(fam) or not _possible_at_all(X, y, weights, fam):
        return None
    return SeparationCheck(X, weights, fam, names=names)(y)


def _possible_at_all(
    X: np.ndarray, y: np.ndarray, weights: np.ndarray, family: Family | str, link: str | None = None
) -> bool:
    """Whether separation is possible, in a few microseconds: some row is one-sided, and the
    rows with data on both sides do not pin every direction (their Gram matrix is singular).
    Rows one-sided alone may be two-sided as copies of one distinct row, so this is a
    necessary condition of :meth:`SeparationCheck.possible`'s."""
    side, keep = _sides(
        np.asarray(y, dtype=float), np.asarray(weights, dtype=float), _as_family(family, link)
    )
    if not np.any(keep & (side != 0)):
        return False
    X = np.asarray(X, dtype=float)
    if X.shape[1] == 0:
        return False
    two = X[keep & (side == 0)]
    two = two / np.maximum(np.abs(X[keep]).max(axis=0), 1e-300)
    return bool(_singular(two.T @ two))


def _singular(G: np.ndarray) -> np.ndarray:
    """Whether each Gram matrix in ``G`` (..., p, p) is singular: its smallest eigenvalue within
    1e-10 of its largest (the rows leave a direction free)."""
    eig = np.linalg.eigvalsh(G)
    return eig[..., 0] <= 1e-10 * np.maximum(eig[..., -1], 1e-300)


def bounded_offset(X: np.ndarray, sep: Separation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stated point along the run-off: ``(N, shift, bound_beta)``, ``N`` a basis of the
    complement of the separated directions (the design's columns for the fit become ``X N``),
    ``shift = X (T d)`` the offset it adds, ``bound_beta = T d``."""
    p = X.shape[1]
    N = null_space(sep.span.T) if sep.span.shape[1] < p else np.zeros((p, 0))
    moved = np.abs(X[sep.rows] @ sep.direction)
    T = SEPARATION_BOUND / float(np.min(moved[moved > 0])) if np.any(moved > 0) else SEPARATION_BOUND
    bound_beta = T * sep.direction
    return N, X @ bound_beta, bound_beta


def _reason(x: np.ndarray, side: np.ndarray, keep: np.ndarray, fam: Family) -> str:
    """Why an indicator column (a factor level) is separated: all its rows on one side."""
    if not np.all(np.isin(x, (0.0, 1.0))):
        return ""
    rows = keep & (x == 1.0)
    if not rows.any():
        return ""
    if np.all(side[rows] < 0):
        return fam.no_events
    if np.all(side[rows] > 0):
        return "only events (all 1s) in its rows"
    return ""


def describe(
    sep: Separation, X: np.ndarray, y: np.ndarray, weights: np.ndarray, fam: Family,
    bound_beta: np.ndarray,
) -> str:  # fmt: skip
    """The warning: each separated coefficient, why (a level with no events or only events, where
    that is the reason), its side, and the stated value it is shown at."""
    side, keep = _sides(np.asarray(y, dtype=float), np.asarray(weights, dtype=float), fam)
    parts = []
    for name, runs in sep.signs().items():
        j = sep.names.index(name)
        why = _reason(X[:, j], side, keep, fam)
        bound = (
            "an upper bound"
            if runs == "-infinity"
            else "a lower bound"
            if runs == "+infinity"
            else "a stated point"
        )
        parts.append(
            f"{name}: {why + '; ' if why else ''}its estimate is {runs} and its SE meaningless "
            f"(shown as {bound_beta[j]:.4g}, {bound})"
        )
    return (
        "; ".join(parts)
        + f": {sep.kind} of the fixed effects. The run-off is stopped where the separated rows' "
        f"linear predictor has moved {SEPARATION_BOUND:g} on the link scale; fit.separation lists "
        "the coefficients (a weakly penalized fit: fixef_prior=)"
    )


@dataclass(frozen=True)
class BoundedIrlsFit(IrlsFit):
    """An IRLS fit of a GLM with separated coefficients held at the stated point: ``beta`` in the
    full design's coefficients, ``vcov_unscaled`` ``N (X_N'WX_N)^{-1} N'`` with NaN for the
    separated ones (``R`` is the reduced fit's)."""

    vcov_bounded: np.ndarray | None = None

    @property
    def vcov_unscaled(self) -> np.ndarray:
        assert self.vcov_bounded is not None
        return self.vcov_bounded


def separated_start(fam, y: np.ndarray, weights: np.ndarray, mustart: np.ndarray | None, shift: np.ndarray):
    """The starting linear predictor of a fit with separated directions held at the stated point:
    the usual means' (R's ``mustart``) moved by ``shift``, so that the separated rows start where
    the stated point puts them. (Started from the usual means alone, as R's ``glm.fit`` with
    that offset is, the first working response of a separated 0/1 row is about ``-shift`` and
    the steps run off.)"""
    start = fam.initialize(y, weights).mustart if mustart is None else mustart
    return fam.linkfun(start) + shift


def fit_glm_separated(
    X: np.ndarray, y: np.ndarray, fam, weights: np.ndarray, offset: np.ndarray, sep: Separation,
    mustart: np.ndarray | None = None,
) -> tuple[BoundedIrlsFit, str]:  # fmt: skip
    """IRLS of ``X N`` with the offset ``offset + X (T d)`` (the module), written back in ``X``'s
    coefficients, and the warning. IRLS starts from :func:`separated_start`."""
    N, shift, bound_beta = bounded_offset(X, sep)
    note = describe(sep, X, y, weights, fam, bound_beta)
    etastart = separated_start(fam, y, weights, mustart, shift)
    result = irls(X @ N, y, fam, weights, offset + shift, etastart=etastart)
    V = N @ result.vcov_unscaled @ N.T
    separated = np.array([name in sep.coefficients for name in sep.names])
    V[separated, :] = np.nan
    V[:, separated] = np.nan
    fields = {f: getattr(result, f) for f in IrlsFit.__dataclass_fields__}
    fields["beta"] = N @ result.beta + bound_beta
    return BoundedIrlsFit(**fields, vcov_bounded=V), note
