"""Coordinates for profiling the variance parameters: one held at a value, the others free.

The variance parameters ``psi`` are the standard deviations and correlations of each
random-effects term (theta order) and ``sigma``. Profiling holds one of them and minimizes the
deviance over the others. In ``psi`` itself that search has forbidden regions (correlations
that make no covariance matrix, and at a correlation of +-1 a singular one), and an optimizer
that meets them there stops short of the minimum. The coordinates here have none:

- each term's standard deviations ``s`` (bounded below by 0) and ``sigma`` (above 0);
- each term's correlation matrix as ``R = C C'`` with ``C`` lower triangular with unit rows,
  row ``r`` given by ``r`` angles in ``[0, pi]`` (:func:`mixedmodels.covariance.layout.unit_rows`),
  so that every point is a correlation matrix and every correlation matrix, singular ones
  included, is a point;
- the template is ``T = diag(s) C / sigma`` (``sigma^2 T T' = diag(s) R diag(s)``).

A term with another covariance structure (:mod:`mixedmodels.covariance.structures`) has its
own coordinates: its absolute standard deviations (``sigma`` times its scale parameters) and its
correlation parameters ``a`` themselves (unbounded, every value a valid template). A held
correlation of such a term (ar1's, cs's or homcs's ``rho``, toep's lag-1 ``rho1``, which is its
first partial autocorrelation) is the coordinate ``a`` that makes it; toep's correlations at
longer lags are no coordinate of their own and are refused.

A held correlation ``rho_ij`` is made the first angle by ordering the term's columns
``i, j, ...`` (then ``R_ij = cos(a_1)``) and the template is the Cholesky factor of the
covariance in the original order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import brentq

from ..covariance.layout import ThetaLayout, angles_of, psd_cholesky, tril_colmajor, unit_rows
from ..covariance.structures import CovStructure, Diagonal, Structured

_FAR = 40.0  # |a| beyond which a structure's correlation is within 1e-3 of its limit

__all__ = ["HeldCoordinates", "correlation_limits", "correlation_parameter", "psi_bounds"]


@dataclass(frozen=True)
class _Term:
    """Where one term's parameters are in ``psi`` and in the coordinates."""

    k: int
    psi: int  # first index in psi
    coord: int  # first index in the full coordinates (k sds, then the angles)
    perm: np.ndarray  # column order of the angles
    structure: CovStructure

    @property
    def ncoord(self) -> int:
        """Number of coordinates of the term."""
        return self.k * (self.k + 1) // 2 if self.structure.identity else self.structure.ntheta

    @property
    def nscale(self) -> int:
        """Number of standard deviations among the term's coordinates."""
        s = self.structure
        if s.identity:
            return self.k
        return s.nscale if isinstance(s, Structured) else s.ntheta


def correlation_limits(structure: Structured, m: int) -> tuple[float, float]:
    """The range of correlation ``m`` of a structure that its profile goes over (cs's lower end
    is ``-1 / (k - 1)``): the correlation at ``a_m = -+40``, the others at 0."""
    a = np.zeros(structure.ncorrelation)
    out = []
    for end in (-_FAR, _FAR):
        a[m] = end
        out.append(float(structure.correlation_values(a)[m]))
    return out[0], out[1]


def psi_bounds(layout: ThetaLayout) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the standard deviations and correlations (theta order):
    ``[0, inf)`` for a standard deviation, ``[-1, 1]`` for an unstructured term's correlation,
    :func:`correlation_limits` for a structure's own."""
    diag = layout.diagonal_mask()
    lower = np.where(diag, 0.0, -1.0)
    upper = np.where(diag, math.inf, 1.0)
    for s, lo in zip(layout.structures, layout.offsets):
        if isinstance(s, Structured):
            for m in range(s.ncorrelation):
                lower[lo + s.nscale + m], upper[lo + s.nscale + m] = correlation_limits(s, m)
    return lower, upper


def correlation_parameter(structure: Structured, m: int, value: float) -> float:
    """The parameter ``a_m`` that makes correlation ``m`` equal to ``value`` (the others at 0).

    Only the first correlation of a structure is a function of its own parameter alone.
    """
    if m != 0:
        raise NotImplementedError(
            f"profiling correlation {m + 1} of a {structure.label} term (a correlation at lag "
            f"{m + 1}) is not available: it is no parameter of the structure (glmmTMB's are the "
            "partial autocorrelations); leave it out with confint(parm=...), or use "
            "confint(method='boot')"
        )
    a = np.zeros(structure.ncorrelation)

    def gap(x: float) -> float:
        a[0] = x
        return float(structure.correlation_values(a)[0]) - value

    if gap(-_FAR) >= 0.0:
        return -_FAR
    if gap(_FAR) <= 0.0:
        return _FAR
    return float(brentq(gap, -_FAR, _FAR, xtol=1e-13))


@dataclass(frozen=True, eq=False)
class HeldCoordinates:
    """Free coordinates of the variance parameters with ``psi[held]`` held.

    Parameters
    ----------
    layout : ThetaLayout
    held : int
        Index in ``psi`` (theta order, then ``sigma`` at ``layout.ntheta``).
    """

    layout: ThetaLayout
    held: int

    def __post_init__(self) -> None:
        for s in self.layout.structures:
            if not (s.identity or isinstance(s, (Structured, Diagonal))):  # theta = SDs / sigma
                raise NotImplementedError(
                    f"profiling the variance parameters of a term with a {type(s).__name__} "
                    "covariance structure is not available; use confint(method='boot')"
                )

    @cached_property
    def _index(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Where each term's parameters are in its template (unstructured: its lower triangle)."""
        return [tril_colmajor(k) for k in self.layout.ks]

    @cached_property
    def _located(self) -> tuple[list[_Term], int]:
        """The terms, and the position of the held parameter in the full coordinates."""
        terms, coord, position = [], 0, None
        for k, lo, (rows, cols), s in zip(
            self.layout.ks, self.layout.offsets, self._index, self.layout.structures
        ):
            perm = np.arange(k)
            local = self.held - lo
            if not s.identity:
                if 0 <= local < s.ntheta:
                    position = coord + local
                terms.append(_Term(k, int(lo), coord, perm, s))
                coord += s.ntheta
                continue
            if 0 <= local < len(rows):
                i, j = cols[local], rows[local]
                if i == j:
                    position = coord + i
                else:
                    perm = np.array([i, j, *(c for c in range(k) if c not in (i, j))])
                    position = coord + k
            terms.append(_Term(k, int(lo), coord, perm, s))
            coord += k * (k + 1) // 2
        return terms, coord if position is None else position

    @property
    def terms(self) -> list[_Term]:
        return self._located[0]

    @property
    def position(self) -> int:
        return self._located[1]

    @property
    def size(self) -> int:
        """Number of full coordinates (the held one included)."""
        return self.layout.ntheta + 1

    @cached_property
    def _is_angle(self) -> np.ndarray:
        out = np.zeros(self.size, dtype=bool)
        for t in self.terms:
            if t.structure.identity:
                out[t.coord + t.k : t.coord + t.ncoord] = True
        return out

    @cached_property
    def _is_free(self) -> np.ndarray:
        """Where the coordinates are a structure's correlation parameters (unbounded)."""
        out = np.zeros(self.size, dtype=bool)
        for t in self.terms:
            if not t.structure.identity:
                out[t.coord + t.nscale : t.coord + t.ncoord] = True
        return out

    @cached_property
    def _held_structured(self) -> tuple[_Term, int] | None:
        """The term and index of a held correlation of a structured term (else None)."""
        for t in self.terms:
            local = self.held - t.psi
            if not t.structure.identity and t.nscale <= local < t.ncoord:
                return t, local - t.nscale
        return None

    def _free(self, full: np.ndarray) -> np.ndarray:
        return np.delete(full, self.position)

    def bounds(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the free coordinates."""
        lower = np.where(self._is_free, -math.inf, 0.0)
        lower[-1] = 1e-12 * sigma
        upper = np.where(self._is_angle, math.pi, math.inf)
        return self._free(lower), self._free(upper)

    def steps(self, x: np.ndarray, sigma: float) -> np.ndarray:
        """BOBYQA's initial steps: a fifth of each value (0.2 for angles)."""
        bounded = self._free(self._is_angle | self._is_free)
        return np.where(bounded, 0.2, np.maximum(0.2 * np.abs(x), 1e-2 * sigma))

    def coordinates(self, psi: np.ndarray) -> np.ndarray:
        """The free coordinates of ``psi`` (an undefined correlation is taken as 0)."""
        full = np.empty(self.size)
        for t, (rows, cols) in zip(self.terms, self._index):
            if not t.structure.identity:
                full[t.coord : t.coord + t.ncoord] = self._structured_coordinates(t, psi)
                continue
            values = psi[t.psi : t.psi + len(rows)]
            full[t.coord : t.coord + t.k] = values[rows == cols]
            if t.k > 1:
                corr = np.eye(t.k)
                corr[rows, cols] = np.where(rows == cols, 1.0, np.nan_to_num(values))
                corr = np.tril(corr) + np.tril(corr, -1).T
                C = psd_cholesky(corr[np.ix_(t.perm, t.perm)])
                C = np.eye(t.k) if C is None else C / np.linalg.norm(C, axis=1, keepdims=True)
                full[t.coord + t.k : t.coord + t.k * (t.k + 1) // 2] = angles_of(C)
        full[-1] = psi[-1]
        return self._free(full)

    @staticmethod
    def _structured_coordinates(t: _Term, psi: np.ndarray) -> np.ndarray:
        """A structured term's coordinates (its SDs, then ``a``) from its part of ``psi``."""
        s = t.structure
        values = psi[t.psi : t.psi + s.ntheta]
        if not isinstance(s, Structured) or not s.ncorrelation:
            return values.copy()
        R = np.eye(t.k)
        a = np.zeros(s.ncorrelation)
        for m in range(s.ncorrelation):  # Toeplitz matrix of the lags' correlations (ar1: rho^lag)
            a[m] = correlation_parameter(s, 0, float(values[s.nscale + m])) if m == 0 else 0.0
        if s.ncorrelation > 1:
            lags = np.abs(np.subtract.outer(np.arange(t.k), np.arange(t.k)))
            rho = np.concatenate([[1.0], values[s.nscale :]])
            R = rho[lags]
            if np.all(np.linalg.eigvalsh(R) > 0):
                a = s.correlation_parameters(R)
        return np.concatenate([values[: s.nscale], a])

    def _held_coordinate(self, value: float) -> float:
        """The held coordinate of a held parameter's ``value``."""
        if self._held_angle:
            return math.acos(min(max(value, -1.0), 1.0))
        if self._held_structured is not None:
            t, m = self._held_structured
            assert isinstance(t.structure, Structured)
            return correlation_parameter(t.structure, m, value)
        return value

    def theta_sigma(self, x: np.ndarray, value: float) -> tuple[np.ndarray | None, float]:
        """``theta`` and ``sigma`` at free coordinates ``x`` with the held parameter at ``value``."""
        full = np.insert(x, self.position, self._held_coordinate(value))
        sigma = full[-1]
        if not sigma > 0.0:  # no model there (the criterion is infinite)
            return None, sigma
        theta = np.empty(self.layout.ntheta)
        for t, (rows, cols) in zip(self.terms, self._index):
            if not t.structure.identity:
                part = full[t.coord : t.coord + t.ncoord].copy()
                part[: t.nscale] /= sigma
                theta[t.psi : t.psi + t.ncoord] = part
                continue
            if t.k == 1:
                theta[t.psi] = full[t.coord] / sigma
                continue
            s = full[t.coord : t.coord + t.k]
            C = unit_rows(full[t.coord + t.k : t.coord + t.k * (t.k + 1) // 2], t.k)
            if np.array_equal(t.perm, np.arange(t.k)):
                T = s[:, None] * C
            else:
                inverse = np.argsort(t.perm)
                R = (C @ C.T)[np.ix_(inverse, inverse)]
                T = psd_cholesky(R * np.outer(s, s))
                if T is None:
                    return None, sigma
            theta[t.psi : t.psi + len(rows)] = T[rows, cols] / sigma
        return theta, sigma

    def correlated(self) -> list[int]:
        """Where in ``psi`` the standard deviations of a held correlation are (else empty).

        Where either is 0 the correlation has no effect, so its profile cannot rise above the
        deviance with that standard deviation held at 0.
        """
        if self._held_structured is not None:
            t, _ = self._held_structured
            return [t.psi] if t.nscale == 1 else []
        if not self._held_angle:
            return []
        for t, (rows, cols) in zip(self.terms, self._index):
            local = self.held - t.psi
            if 0 <= local < len(rows):
                pair = (cols[local], rows[local])
                return [t.psi + int(np.flatnonzero((rows == cols) & (rows == c))[0]) for c in pair]
        return []

    @property
    def _held_angle(self) -> bool:
        return bool(self.position < self.size - 1 and self._is_angle[self.position])
