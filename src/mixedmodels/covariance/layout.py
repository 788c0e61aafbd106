"""The relative covariance factor ``Lambda(theta)`` term by term, and VarCorr.

A term with ``k`` columns has a lower-triangular ``k x k`` template ``T`` made from its slice
of ``theta`` by its covariance structure (:mod:`mixedmodels.covariance.structures`; lme4's default reads
the lower triangle from ``theta`` column by column, diagonal entries bounded below by 0); its
random effects have covariance ``sigma^2 T T'`` within each level.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .structures import SINGULAR_TOL, CovStructure, Unstructured, psd_cholesky, tril_colmajor, unstructured

__all__ = [
    "ThetaLayout",
    "angles_of",
    "psd_cholesky",
    "sdcor_from_theta",
    "unit_rows",
]


@dataclass(frozen=True)
class ThetaLayout:
    """Where each term's parameters live in ``theta``, and its covariance structure.

    Parameters
    ----------
    ks : tuple of int
        Columns of each random-effects term, in term order.
    structures : tuple of CovStructure, optional
        Each term's structure (:mod:`mixedmodels.covariance.structures`); unstructured (lme4's default)
        for every term when not given. :meth:`of` takes them from the terms.

    Everything that depends on a structure (templates, bounds, the singular test, names) is
    asked of it; the layout concatenates the answers in term order. The blocked factor reads
    the templates through their *entries* (each lower triangle column by column,
    :meth:`entries`), which are ``theta`` itself when every structure is unstructured.
    """

    ks: tuple[int, ...]
    structures: tuple[CovStructure, ...] = ()

    def __post_init__(self) -> None:
        if not self.structures:
            object.__setattr__(self, "structures", tuple(unstructured(k) for k in self.ks))
        if tuple(s.k for s in self.structures) != tuple(self.ks):
            raise ValueError(f"structures {self.structures} do not match the terms' columns {self.ks}")

    @classmethod
    def of(cls, reterms) -> ThetaLayout:
        """The layout of random-effects terms, each with its structure
        (:attr:`~mixedmodels.formula.design.ReTerm.structure`)."""
        structures = tuple(t.structure for t in reterms)
        return cls(tuple(s.k for s in structures), structures)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(s.ntheta for s in self.structures)

    @cached_property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)

    @property
    def ntheta(self) -> int:
        return int(sum(self.sizes))

    @property
    def nentries(self) -> int:
        """Number of the templates' entries (:meth:`entries`): ``k (k + 1) / 2`` per term."""
        return sum(k * (k + 1) // 2 for k in self.ks)

    @cached_property
    def identity(self) -> bool:
        """Whether the templates' entries are ``theta`` itself (every term unstructured)."""
        return all(s.identity for s in self.structures)

    def slices(self, theta: np.ndarray):
        """Each term's structure and its slice of ``theta`` (the last axis)."""
        for s, lo in zip(self.structures, self.offsets):
            yield s, theta[..., lo : lo + s.ntheta]

    def entries(self, theta: np.ndarray) -> np.ndarray:
        """The templates' lower triangles, column by column, term after term (``theta`` itself
        when :attr:`identity`): what :meth:`lambda_pattern` indexes."""
        if self.identity:
            return theta
        theta = np.asarray(theta, dtype=float)
        return np.concatenate([s.entries(t) for s, t in self.slices(theta)]) if self.ks else theta

    def stacked_entries(self, theta: np.ndarray) -> np.ndarray:
        """:meth:`entries` of each row of ``theta`` (R, ntheta)."""
        if self.identity:
            return theta
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        return np.concatenate([s.stacked_entries(t) for s, t in self.slices(theta)], axis=1)

    def start(self) -> np.ndarray:
        """lme4's starting value: identity templates (a new array)."""
        return self._start.copy()

    def lower(self) -> np.ndarray:
        """Lower bounds: 0 for scales (an unstructured template's diagonal), -inf for the rest (new)."""
        return self._lower.copy()

    @cached_property
    def _lower(self) -> np.ndarray:
        return np.concatenate([s.lower() for s in self.structures]) if self.ks else np.zeros(0)

    @cached_property
    def _start(self) -> np.ndarray:
        return np.concatenate([s.start() for s in self.structures]) if self.ks else np.zeros(0)

    def templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """The lower-triangular ``T`` of each term."""
        return [s.factor(t) for s, t in self.slices(np.asarray(theta))]

    def stacked_templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """The templates of each term for each row of ``theta`` (R, d): arrays (R, k, k)."""
        return [s.stacked_factor(t) for s, t in self.slices(np.atleast_2d(theta))]

    def diagonal_mask(self) -> np.ndarray:
        """True where a ``theta`` entry is a scale (bounded below by 0): a diagonal element of
        an unstructured template."""
        return self._variance_mask.copy()

    @cached_property
    def _variance_mask(self) -> np.ndarray:
        return self._lower == 0.0

    def singular(self, theta: np.ndarray, tol: float = SINGULAR_TOL) -> bool:
        """lme4's ``isSingular`` of one ``theta``: some term's structure says it is singular
        (a template diagonal entry below ``tol``)."""
        diagonal = self._unstructured_diagonal
        if diagonal is not None:  # the templates' diagonal entries are theta's own: read them there
            return bool(np.any(np.asarray(theta)[: self.ntheta][diagonal] < tol))
        return bool(self.singular_rows(np.asarray(theta)[None, : self.ntheta], tol)[0])

    @cached_property
    def _unstructured_diagonal(self) -> np.ndarray | None:
        """Where every term is unstructured: True at the ``theta`` entries that are a template's
        diagonal (:meth:`singular` compares those without making the templates); else None."""
        diagonals = [
            s._diagonal for s in self.structures if isinstance(s, Unstructured) and type(s) is Unstructured
        ]
        if not self.ks or len(diagonals) < len(self.structures):
            return None
        return np.concatenate(diagonals)

    def singular_rows(self, theta: np.ndarray, tol: float = SINGULAR_TOL) -> np.ndarray:
        """:meth:`singular` for each row of ``theta`` (R, ntheta)."""
        theta = np.atleast_2d(theta)
        out = np.zeros(len(theta), dtype=bool)
        for s, t in self.slices(theta):
            out |= s.singular(t, tol)
        return out

    def singular_columns(self, theta: np.ndarray, tol: float = SINGULAR_TOL) -> list[np.ndarray]:
        """Which columns of each term are at the boundary at one ``theta``: a boolean array of
        the term's columns each (:meth:`CovStructure.singular_columns`)."""
        theta = np.asarray(theta)[None, : self.ntheta]
        return [s.singular_columns(t, tol)[0] for s, t in self.slices(theta)]

    def boundary_names(
        self, theta: np.ndarray, cnames: Sequence[Sequence[str]], tol: float = SINGULAR_TOL
    ) -> list[list[str]]:
        """What is at the boundary in each term at one ``theta``, by name: a column whose
        standard deviation is at zero, or a structure's correlation parameter at its limit
        (:meth:`CovStructure.boundary_names`); ``cnames`` the columns of each term."""
        theta = np.asarray(theta, dtype=float)[: self.ntheta]
        return [s.boundary_names(t, c, tol) for (s, t), c in zip(self.slices(theta), cnames)]

    @cached_property
    def rotation_mask(self) -> np.ndarray:
        """True at the diagonal entries of templates whose entries below a zero diagonal only
        rotate the template (unstructured terms of more than one column)."""
        out = np.zeros(self.ntheta, dtype=bool)
        for s, lo in zip(self.structures, self.offsets):
            if s.k > 1:
                for diagonal, _ in s.rotation_columns():
                    out[lo + diagonal] = True
        return out

    def rotation_columns(self) -> tuple[tuple[int, tuple[int, ...]], ...]:
        """For each template column that has rotations: the ``theta`` index of its diagonal
        entry and those of the entries below it."""
        return self._rotation_columns

    @cached_property
    def _rotation_columns(self) -> tuple[tuple[int, tuple[int, ...]], ...]:
        return tuple(
            (int(lo) + d, tuple(int(lo) + i for i in below))
            for s, lo in zip(self.structures, self.offsets)
            for d, below in s.rotation_columns()
        )

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """``theta`` with each template without free rotation (:meth:`CovStructure.canonical`):
        for an unstructured term the semi-definite Cholesky factor of ``T T'``."""
        out = np.array(theta, dtype=float)
        for s, lo in zip(self.structures, self.offsets):
            out[lo : lo + s.ntheta] = s.canonical(out[lo : lo + s.ntheta])
        return out

    def names(self, reterms) -> list[str]:
        """lme4's names of ``theta``: ``Subject.(Intercept)``, ``Subject.Days.(Intercept)``, ..."""
        return [n for s, t in zip(self.structures, reterms) for n in s.names(t.group, t.cnames)]

    def theta_gradient(self, theta: np.ndarray, G: Sequence[np.ndarray]) -> np.ndarray:
        """The gradient over ``theta`` from each term's gradient over its template ``G[t]``."""
        out = [s.theta_gradient(t, g) for (s, t), g in zip(self.slices(np.asarray(theta)), G)]
        return np.concatenate(out) if out else np.zeros(0)

    def lambda_pattern(self, nlevels: tuple[int, ...], first: int = 0, extra: int = 0):
        """The sparsity pattern of ``Lambda`` for terms ``first..`` and the index of each entry.

        Returns ``(rows, cols, index)``: ``Lambda[rows[i], cols[i]] = e_ext[index[i]]`` where
        ``e_ext`` is :meth:`entries` of ``theta`` with a 1 appended; ``extra`` trailing identity
        columns (for ``X`` and ``y``) point at that 1. Entries a structure keeps at zero are left
        out. The arrays are shared between calls (read-only).
        """
        return _lambda_pattern(self.ks, tuple(int(n) for n in nlevels), first, extra, self._supports)

    @cached_property
    def _supports(self) -> tuple[tuple[bool, ...], ...]:
        return tuple(tuple(bool(b) for b in s.support) for s in self.structures)


@functools.lru_cache(maxsize=256)
def _lambda_pattern(
    ks: tuple[int, ...],
    nlevels: tuple[int, ...],
    first: int,
    extra: int,
    supports: tuple[tuple[bool, ...], ...],
):
    """:meth:`ThetaLayout.lambda_pattern`, computed once per model shape."""
    rows, cols, index, start = [], [], [], 0
    offsets = np.concatenate([[0], np.cumsum([k * (k + 1) // 2 for k in ks])]).astype(int)
    for k, lo, nl, keep in zip(ks[first:], offsets[first:], nlevels, supports[first:]):
        tr, tc = tril_colmajor(k)
        at = np.flatnonzero(keep)
        tr, tc = tr[at], tc[at]
        base = start + k * np.arange(nl)[:, None]
        rows.append((base + tr).ravel())
        cols.append((base + tc).ravel())
        index.append(np.tile(lo + at, nl))
        start += k * nl
    rows.append(start + np.arange(extra))
    cols.append(start + np.arange(extra))
    index.append(np.full(extra, offsets[-1]))
    return tuple(_read_only(np.concatenate(a)) for a in (rows, cols, index))


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def sdcor_from_theta(layout: ThetaLayout, theta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Standard deviations and correlations of the random effects, in theta order.

    ``theta`` is (R, ntheta) and ``sigma`` (R,); each term's structure gives its view
    (:meth:`~mixedmodels.covariance.structures.CovStructure.sdcor`): for an unstructured term the entry of
    a diagonal element of ``T`` is the standard deviation of its column, that of an off-diagonal
    element ``(i, j)`` the correlation of columns ``i`` and ``j``, from ``sigma^2 T T'``.
    """
    theta = np.atleast_2d(theta)
    sigma = np.atleast_1d(sigma)
    out = np.empty_like(theta, dtype=float)
    for s, lo in zip(layout.structures, layout.offsets):
        out[:, lo : lo + s.ntheta] = s.sdcor(theta[:, lo : lo + s.ntheta], sigma)
    return out


def unit_rows(angles: np.ndarray, k: int) -> np.ndarray:
    """A lower-triangular ``k x k`` matrix with unit rows from ``k (k - 1) / 2`` angles in [0, pi].

    Row ``r`` has ``r`` angles ``a_1..a_r`` (rows in order) and is the point of the unit sphere
    ``(cos a_1, sin a_1 cos a_2, ..., sin a_1 ... sin a_{r-1} cos a_r, sin a_1 ... sin a_r)``,
    whose last entry is not negative. ``C C'`` is a correlation matrix, every correlation matrix
    is one of these, and each is a valid template: the angles have no forbidden region.
    """
    C = np.zeros((k, k))
    C[0, 0] = 1.0
    start = 0
    for r in range(1, k):
        a = angles[start : start + r]
        sines = np.concatenate([[1.0], np.cumprod(np.sin(a))])
        C[r, :r] = sines[:-1] * np.cos(a)
        C[r, r] = sines[-1]
        start += r
    return C


def angles_of(C: np.ndarray) -> np.ndarray:
    """The angles of :func:`unit_rows` of a lower-triangular matrix with unit rows."""
    out = []
    for r in range(1, len(C)):
        row = C[r, : r + 1]
        tail = np.sqrt(np.cumsum(row[::-1] ** 2)[::-1])  # |row[l:]| for each l
        out += [float(np.arctan2(tail[l + 1], row[l])) for l in range(r)]
    return np.array(out)
