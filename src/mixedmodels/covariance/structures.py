"""Covariance structures: how one random-effects term's ``theta`` makes its relative factor.

A term with ``k`` columns has random effects of covariance ``sigma^2 T T'`` within each level,
``T = T(theta_t)`` its ``k x k`` lower-triangular template (relative factor block) made from the
term's slice ``theta_t`` of ``theta``. A structure owns everything that depends on how:

- ``factor(theta_t) -> T`` and ``dfactor(theta_t) -> [dT / dtheta_j]`` (``T`` may be any
  function of ``theta_t``, not only a linear one), and back, ``theta_of(T)``;
- the number of parameters, their starting values and lower bounds, their names;
- the singular test (lme4's ``isSingular``), written here once per structure;
- the standard-deviation / correlation view of the parameters and which correlations VarCorr
  shows.

Two structures are lme4's: :class:`Unstructured` (the default: ``theta_t`` is the lower
triangle of ``T`` column by column, diagonal entries bounded below by 0) and :class:`Diagonal`
(``T = diag(theta_t)``, independent components). A formula's ``(x || g)`` is not a
:class:`Diagonal` term: it is split into one scalar (unstructured) term per column, as lme4 does,
which is the same model.

The blocked factor (:mod:`mixedmodels.numerics.pls`) reads every template through its *entries*: the
lower triangle of each ``T`` column by column. For :class:`Unstructured` these are ``theta_t``
itself (:attr:`CovStructure.identity`), so the model's hot loops use ``theta`` directly; other
structures map ``theta_t`` to the entries once per evaluation (:meth:`CovStructure.entries`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import numpy as np

SINGULAR_TOL = 1e-4  # lme4's isSingular tolerance on the scales (the templates' diagonals)

__all__ = [
    "SINGULAR_TOL",
    "CovStructure",
    "Diagonal",
    "Unstructured",
    "psd_cholesky",
    "structure_for",
    "tril_colmajor",
    "with_structures",
    "unstructured",
]


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=64)
def tril_colmajor(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of a k x k lower triangle, column by column (shared, read-only)."""
    cols, rows = np.triu_indices(k)
    return _read_only(rows), _read_only(cols)


def psd_cholesky(cov: np.ndarray, tol: float = 1e-10) -> np.ndarray | None:
    """Lower Cholesky factor of a positive semi-definite matrix; None if it is not one.

    A pivot within ``tol`` (relative to the largest diagonal entry) of zero gives a zero column,
    so a singular covariance (a correlation of +-1, a standard deviation of 0) has a factor.
    """
    k = len(cov)
    L = np.zeros((k, k))
    scale = tol * max(float(np.max(np.diag(cov))), 0.0)
    for j in range(k):
        pivot = cov[j, j] - L[j, :j] @ L[j, :j]
        if pivot < -scale or not np.isfinite(pivot):
            return None
        if pivot <= scale:
            off = cov[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]
            if np.any(np.abs(off) > np.sqrt(scale * np.abs(np.diag(cov)[j + 1 :])) + scale):
                return None
            continue
        L[j, j] = np.sqrt(pivot)
        L[j + 1 :, j] = (cov[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L


class CovStructure:
    """The covariance structure of one random-effects term of ``k`` columns (a base class).

    A subclass sets :attr:`ntheta` and implements :meth:`factor`, :meth:`dfactor`,
    :meth:`start`, :meth:`lower`, :meth:`theta_of`, :meth:`names`, :meth:`sdcor` and
    :meth:`sdcor_names`; the rest has defaults built on those (a template with structural
    zeros says where in :attr:`support`, so that ``Lambda`` leaves them out; a structure with
    settings besides ``k`` adds them to :meth:`key`). Instances are not changed once made and
    compare by value.

    Parameters
    ----------
    k : int
        Columns of the term.
    """

    identity = False  # True where the entries of the template are theta itself (Unstructured)
    # whether Nakagawa's variance decomposition (R^2, ICC: performance's) reads the term: its
    # columns are covariates whose variance enters at the fixed-effects model matrix's values
    # (lme4's unstructured and diagonal terms); a structured term's columns (a factor's levels
    # with a correlation pattern) have no such meaning
    variance_decomposition = True
    correlated = True  # whether VarCorr lists the term's correlations
    rotations = False  # whether entries below a zero diagonal entry only rotate the template

    def __init__(self, k: int):
        self.k = int(k)

    # ------------------------------------------------------------ identity
    def key(self) -> tuple:
        """What identifies the structure besides its class: ``(k,)`` and any further settings."""
        return (self.k,)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash((type(self), self.key()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.k})"

    # ------------------------------------------------------------ to implement
    @property
    def ntheta(self) -> int:
        """Number of parameters."""
        raise NotImplementedError

    def factor(self, theta: np.ndarray) -> np.ndarray:
        """The lower-triangular template ``T`` (k x k, a new array) of the term's ``theta``."""
        raise NotImplementedError

    def dfactor(self, theta: np.ndarray) -> list[np.ndarray]:
        """``dT / dtheta_j`` for each parameter ``j`` (k x k arrays)."""
        raise NotImplementedError

    def theta_of(self, T: np.ndarray) -> np.ndarray:
        """The parameters whose template is ``T`` (a template of this structure)."""
        raise NotImplementedError

    def start(self) -> np.ndarray:
        """lme4's starting value (a new array)."""
        raise NotImplementedError

    def lower(self) -> np.ndarray:
        """Lower bounds of the parameters (a new array)."""
        raise NotImplementedError

    def names(self, group: str, cnames: Sequence[str]) -> list[str]:
        """The parameters' names, lme4's style (``Subject.(Intercept)``)."""
        raise NotImplementedError

    def sdcor(self, theta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Standard deviations and correlations of the random effects, one per parameter, for
        each row of ``theta`` (R, ntheta) with residual standard deviation ``sigma`` (R,)."""
        raise NotImplementedError

    def sdcor_names(self, group: str, cnames: Sequence[str]) -> list[str]:
        """The names of :meth:`sdcor`'s values, lme4's ``confint`` style (``sd_Days|Subject``,
        ``cor_Days.(Intercept)|Subject``); ``group`` as VarCorr numbers it."""
        raise NotImplementedError

    # ------------------------------------------------------------ defaults
    @property
    def variance_mask(self) -> np.ndarray:
        """True where a parameter is bounded below by 0 (a scale: an entry on the template's diagonal)."""
        return self.lower() == 0.0

    @property
    def scale_mask(self) -> np.ndarray:
        """True where a parameter scales the template: ``T`` at ``theta`` with these entries
        times ``c`` is ``c T(theta)`` (the scales of a structure; every entry of an
        unstructured template)."""
        return np.ones(self.ntheta, dtype=bool) if self.identity else self.variance_mask

    def singular_columns(self, theta: np.ndarray, tol: float = SINGULAR_TOL) -> np.ndarray:
        """Which columns of the term are at the boundary for each row of ``theta`` (R, ntheta):
        (R, k), True where the template's diagonal entry ``T[j, j]`` is below ``tol`` (a
        standard deviation of 0, or column ``j`` a combination of the earlier ones: a
        correlation of +-1). The one place of lme4's ``isSingular`` test (``theta`` below
        ``tol`` where its lower bound is 0, an unstructured template's diagonal), read on the
        template for every structure."""
        T = self.stacked_factor(np.atleast_2d(theta))
        return np.asarray(np.diagonal(T, axis1=1, axis2=2) < tol)

    def singular(self, theta: np.ndarray, tol: float = SINGULAR_TOL) -> np.ndarray:
        """lme4's ``isSingular`` for each row of ``theta`` (R, ntheta): some column at the
        boundary (:meth:`singular_columns`)."""
        return np.asarray(self.singular_columns(theta, tol).any(axis=1))

    def boundary_names(
        self, theta: np.ndarray, cnames: Sequence[str], tol: float = SINGULAR_TOL
    ) -> list[str]:
        """What is at the boundary at one ``theta``, by name: here (lme4's reading of an
        unstructured or diagonal template) each column ``j`` whose diagonal entry ``T[j, j]``
        is below ``tol`` (:meth:`singular_columns`: its standard deviation is 0, or it is a
        combination of the earlier columns)."""
        at = self.singular_columns(np.asarray(theta, dtype=float), tol)[0]
        return [str(c) for c, zero in zip(cnames, at) if zero]

    def stacked_factor(self, theta: np.ndarray) -> np.ndarray:
        """The templates of each row of ``theta`` (R, ntheta): (R, k, k)."""
        return np.array([self.factor(t) for t in np.atleast_2d(theta)]).reshape(-1, self.k, self.k)

    @functools.cached_property
    def support(self) -> np.ndarray:
        """Which entries of the lower triangle (column by column) can be non-zero (read-only)."""
        rows, cols = tril_colmajor(self.k)
        return _read_only(np.ones(len(rows), dtype=bool))

    def entries(self, theta: np.ndarray) -> np.ndarray:
        """The lower triangle of ``T`` column by column."""
        rows, cols = tril_colmajor(self.k)
        return self.factor(theta)[rows, cols]

    def stacked_entries(self, theta: np.ndarray) -> np.ndarray:
        """:meth:`entries` of each row of ``theta`` (R, ntheta)."""
        rows, cols = tril_colmajor(self.k)
        return self.stacked_factor(theta)[:, rows, cols]

    def theta_gradient(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        """The gradient over the parameters of a function whose gradient over the template's
        entries is ``G`` (k x k, ``G[r, c] = df / dT[r, c]``): ``sum(G * dT / dtheta_j)``."""
        return np.array([float(np.sum(G * D)) for D in self.dfactor(theta)])

    def stacked_theta_gradient(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        """:meth:`theta_gradient` for each row of ``theta`` (R, ntheta) and ``G`` (R, k, k)."""
        return np.array([self.theta_gradient(t, g) for t, g in zip(theta, G)]).reshape(len(theta), -1)

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """An equivalent ``theta`` with no free rotation (this one: structures without rotations)."""
        return np.array(theta, dtype=float)

    def rotation_columns(self) -> list[tuple[int, list[int]]]:
        """For each template column whose entries below a zero diagonal only rotate the
        template: the parameter index of the diagonal and those of the entries below it."""
        return []

    def scales(self, column_scales: np.ndarray) -> np.ndarray:
        """The scale of each parameter given the scales of the term's columns (1 by default)."""
        return np.ones(self.ntheta)

    def correlation_matrix(self, theta: np.ndarray) -> np.ndarray:
        """The correlation matrix of the term's columns (k x k), for VarCorr's correlations: by
        default that of the covariance ``T T'``, NaN where a column's standard deviation is 0
        (0/0, as lme4's ``VarCorr`` gives it; the diagonal is 1). A structure of its own
        correlations gives them whatever the scales (:class:`Structured`)."""
        T = self.factor(theta)
        cov = T @ T.T
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.clip(cov / np.outer(sd, sd), -1.0, 1.0)
        np.fill_diagonal(corr, 1.0)
        return corr

    def correlation_pairs(self) -> list[tuple[int, int]]:
        """The (row, column) pairs, row > column, of the correlations VarCorr lists."""
        if not self.correlated:
            return []
        return [(i, j) for j in range(self.k) for i in range(j + 1, self.k)]


class Unstructured(CovStructure):
    """lme4's default: ``theta`` is the lower triangle of ``T`` column by column (k (k + 1) / 2
    parameters), diagonal entries bounded below by 0, start at the identity."""

    identity = True
    rotations = True

    @property
    def ntheta(self) -> int:
        return self.k * (self.k + 1) // 2

    @functools.cached_property
    def _diagonal(self) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        return _read_only(rows == cols)

    def factor(self, theta: np.ndarray) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        T = np.zeros((self.k, self.k))
        T[rows, cols] = theta
        return T

    def stacked_factor(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        rows, cols = tril_colmajor(self.k)
        T = np.zeros((len(theta), self.k, self.k))
        T[:, rows, cols] = theta
        return T

    def dfactor(self, theta: np.ndarray) -> list[np.ndarray]:
        out = []
        for r, c in zip(*tril_colmajor(self.k)):
            D = np.zeros((self.k, self.k))
            D[r, c] = 1.0
            out.append(D)
        return out

    def theta_of(self, T: np.ndarray) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        return np.asarray(T, dtype=float)[rows, cols]

    def entries(self, theta: np.ndarray) -> np.ndarray:
        return theta

    def stacked_entries(self, theta: np.ndarray) -> np.ndarray:
        return theta

    def theta_gradient(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        return G[rows, cols]

    def stacked_theta_gradient(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        return G[:, rows, cols]

    def start(self) -> np.ndarray:
        return self._diagonal.astype(float)

    def lower(self) -> np.ndarray:
        return np.where(self._diagonal, 0.0, -np.inf)

    @property
    def variance_mask(self) -> np.ndarray:
        return self._diagonal

    def names(self, group: str, cnames: Sequence[str]) -> list[str]:
        rows, cols = tril_colmajor(self.k)
        return [
            f"{group}.{cnames[i]}" if i == j else f"{group}.{cnames[i]}.{cnames[j]}"
            for i, j in zip(rows, cols)
        ]

    def sdcor(self, theta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """The entry of a diagonal element of ``T`` is the standard deviation of its column,
        that of an off-diagonal element ``(i, j)`` the correlation of columns ``i`` and ``j``,
        from ``sigma^2 T T'``."""
        rows, cols = tril_colmajor(self.k)
        T = self.stacked_factor(theta)
        cov = T @ np.swapaxes(T, 1, 2) * (sigma**2)[:, None, None]
        sd = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.clip(cov / (sd[:, :, None] * sd[:, None, :]), -1.0, 1.0)  # rounding: 1 + 2e-16
        return np.where(rows == cols, sd[:, rows], corr[:, rows, cols])

    def sdcor_names(self, group: str, cnames: Sequence[str]) -> list[str]:
        rows, cols = tril_colmajor(self.k)
        return [
            f"sd_{cnames[j]}|{group}" if i == j else f"cor_{cnames[i]}.{cnames[j]}|{group}"
            for i, j in zip(rows, cols)
        ]

    def canonical(self, theta: np.ndarray) -> np.ndarray:
        """``T`` replaced by the semi-definite Cholesky factor of ``T T'``: the same covariances,
        and where a diagonal entry is 0 its whole column is 0 (the entries below it, which then
        only rotate an equivalent template, are moved into the columns to its right)."""
        out = np.array(theta, dtype=float)
        if self.k > 1:
            T = self.factor(out)
            L = psd_cholesky(T @ T.T)
            if L is not None:
                out = self.theta_of(L)
        return out

    def rotation_columns(self) -> list[tuple[int, list[int]]]:
        rows, cols = tril_colmajor(self.k)
        out = []
        for j in range(self.k):
            diagonal = int(np.flatnonzero((rows == j) & (cols == j))[0])
            out.append((diagonal, [int(i) for i in np.flatnonzero((cols == j) & (rows > j))]))
        return out

    def scales(self, column_scales: np.ndarray) -> np.ndarray:
        """That of the term's column of the entry's template row (a covariate multiplied by ``c``
        divides its row of the template by ``c``)."""
        rows, _ = tril_colmajor(self.k)
        return np.asarray(column_scales)[rows]


@functools.cache
def unstructured(k: int) -> Unstructured:
    """The unstructured structure of a term of ``k`` columns: one object per ``k``, shared by
    every model, so that its index arrays are worked out once."""
    return Unstructured(k)


class Diagonal(CovStructure):
    """Independent components: ``T = diag(theta)`` (k parameters, bounded below by 0, start 1).

    lme4 spells it ``(x || g)``, which the formula splits into scalar terms instead (the same
    model); this structure keeps the components in one term."""

    correlated = False

    @property
    def ntheta(self) -> int:
        return self.k

    @functools.cached_property
    def support(self) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        return _read_only(rows == cols)

    def factor(self, theta: np.ndarray) -> np.ndarray:
        return np.diag(np.asarray(theta, dtype=float))

    def stacked_factor(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(theta)
        T = np.zeros((len(theta), self.k, self.k))
        T[:, np.arange(self.k), np.arange(self.k)] = theta
        return T

    def dfactor(self, theta: np.ndarray) -> list[np.ndarray]:
        out = []
        for j in range(self.k):
            D = np.zeros((self.k, self.k))
            D[j, j] = 1.0
            out.append(D)
        return out

    def theta_of(self, T: np.ndarray) -> np.ndarray:
        return np.diagonal(np.asarray(T, dtype=float)).copy()

    def theta_gradient(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        return np.diagonal(G).copy()

    def stacked_theta_gradient(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        return np.diagonal(G, axis1=1, axis2=2).copy()

    def start(self) -> np.ndarray:
        return np.ones(self.k)

    def lower(self) -> np.ndarray:
        return np.zeros(self.k)

    def names(self, group: str, cnames: Sequence[str]) -> list[str]:
        return [f"{group}.{c}" for c in cnames]

    def sdcor(self, theta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """The standard deviation of each column: ``sigma |theta_j|``."""
        return np.abs(np.atleast_2d(theta)) * np.asarray(sigma)[:, None]

    def sdcor_names(self, group: str, cnames: Sequence[str]) -> list[str]:
        return [f"sd_{c}|{group}" for c in cnames]

    def scales(self, column_scales: np.ndarray) -> np.ndarray:
        return np.asarray(column_scales, dtype=float).copy()


StructureSpec = CovStructure | Callable[[int], CovStructure]


def structure_for(spec: StructureSpec, k: int, where: str = "") -> CovStructure:
    """A structure for a term of ``k`` columns: ``spec`` itself (its ``k`` checked) or
    ``spec(k)`` (a structure class, or any function of ``k`` that makes one)."""
    structure = spec if isinstance(spec, CovStructure) else spec(k)
    if not isinstance(structure, CovStructure):
        raise TypeError(f"a covariance structure{where} must be a CovStructure, got {structure!r}")
    if structure.k != k:
        raise ValueError(
            f"the covariance structure {structure!r}{where} is for {structure.k} columns, the term has {k}"
        )
    return structure


def with_structures(design, covariance: Mapping[str, StructureSpec] | None):
    """``design`` with the covariance structures of ``{group: structure}`` attached to its terms.

    The seam through which a term gets a structure other than :class:`Unstructured` (the
    formula syntax for structures comes later): each key names a grouping factor with exactly
    one random-effects term; the value is a :class:`CovStructure` of the term's ``k`` or a
    function of ``k`` that makes one (a structure class). Every fit made from the design, and
    its refits (bootstrap, profile), use the structures.
    """
    if not covariance:
        return design
    terms = list(design.reterms)
    for group, spec in covariance.items():
        found = [i for i, t in enumerate(terms) if t.group == group]
        if len(found) != 1:
            raise ValueError(
                f"covariance structure for {group!r}: the model has {len(found)} random-effects terms "
                "on that grouping factor, it needs exactly one"
            )
        term = terms[found[0]]
        terms[found[0]] = replace(term, covariance=structure_for(spec, term.k, f" of {group!r}"))
    return replace(design, reterms=tuple(terms))


# ----------------------------------------------------------------------------- structured terms
def _unit_interval(a) -> np.ndarray:
    """``a / sqrt(1 + a^2)``: the real line onto (-1, 1) (glmmTMB's map of a correlation)."""
    a = np.asarray(a, dtype=float)
    return a / np.sqrt(1.0 + a * a)


def _from_unit_interval(r) -> np.ndarray:
    """The inverse of :func:`_unit_interval`."""
    r = np.clip(np.asarray(r, dtype=float), -1.0 + 1e-15, 1.0 - 1e-15)
    return r / np.sqrt(1.0 - r * r)


def _factor_of(R: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of a correlation matrix (semi-definite at a boundary)."""
    try:
        return np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        L = psd_cholesky(R)
        if L is None:
            raise
        return L


def _unit_interval_slope(a) -> np.ndarray:
    """``d/da a / sqrt(1 + a^2) = (1 + a^2)^(-3/2)``."""
    a = np.asarray(a, dtype=float)
    return (1.0 + a * a) ** -1.5


def _cholesky_derivative(L: np.ndarray, dR: np.ndarray) -> np.ndarray:
    """``dL`` of the Cholesky factor ``L`` of ``R`` along ``dR`` (symmetric):
    ``dL = L Phi(L^-1 dR L^-T)``, ``Phi`` the lower triangle with the diagonal halved
    (from ``dR = dL L' + L dL'`` with ``L^-1 dL`` lower triangular)."""
    inner = np.linalg.solve(L, np.linalg.solve(L, dR).T)  # L^-1 dR L^-T (symmetric)
    phi = np.tril(inner)
    phi[np.diag_indices_from(phi)] *= 0.5
    return L @ phi


class Structured(CovStructure):
    """A structure of scales and correlation parameters: ``theta_t = (s, a)``, the template
    ``T = diag(s) L(a)`` with ``L`` the Cholesky factor of the correlation matrix ``R(a)``, so
    that the random effects' covariance is ``sigma^2 diag(s) R diag(s)``.

    The scales ``s`` (one per column, or one for all: :attr:`homogeneous`) are the standard
    deviations relative to ``sigma``, bounded below by 0 and starting at 1; the correlation
    parameters ``a`` are unbounded and start where ``R = I``. A subclass says how ``a`` makes
    ``R`` (:meth:`correlation`) and back (:meth:`correlation_parameters`), how many there are,
    and what its correlations are called, and the derivatives of ``R`` (:meth:`dcorrelation`);
    ``dT / dtheta`` is analytic: ``dT / ds_j`` is row ``j`` of ``L`` (all of ``L`` for one
    scale), ``dT / da_m = diag(s) dL / da_m`` with ``dL`` from ``dR / da_m``
    (:func:`_cholesky_derivative`) unless a subclass has ``dL`` in closed form
    (:meth:`dcorrelation_factor`).
    """

    homogeneous = False
    label = ""  # glmmTMB's name of the structure: VarCorr shows it after the correlations
    variance_decomposition = False  # see CovStructure

    @property
    def nscale(self) -> int:
        return 1 if self.homogeneous else self.k

    @property
    def ncorrelation(self) -> int:
        raise NotImplementedError

    @property
    def ntheta(self) -> int:
        return self.nscale + self.ncorrelation

    def correlation(self, a: np.ndarray) -> np.ndarray:
        """The correlation matrix ``R(a)``."""
        raise NotImplementedError

    def correlation_parameters(self, R: np.ndarray) -> np.ndarray:
        """The parameters ``a`` of a correlation matrix of this structure."""
        raise NotImplementedError

    def correlation_values(self, a: np.ndarray) -> np.ndarray:
        """The structure's own correlations (one per parameter: a ``rho``, or one per lag)."""
        raise NotImplementedError

    def correlation_matrix(self, theta: np.ndarray) -> np.ndarray:
        """``R(a)``, also where a scale is 0 (glmmTMB's VarCorr shows the structure's
        correlations then; the covariances are 0)."""
        theta = np.asarray(theta, dtype=float)
        return self.correlation(theta[self.nscale :]) if self.ncorrelation else np.eye(self.k)

    def correlation_start(self) -> np.ndarray:
        return np.zeros(self.ncorrelation)

    def _scales(self, theta: np.ndarray) -> np.ndarray:
        s = np.asarray(theta, dtype=float)[: self.nscale]
        return np.repeat(s, self.k) if self.homogeneous else s

    def factor(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        L = _factor_of(self.correlation(theta[self.nscale :])) if self.ncorrelation else np.eye(self.k)
        return self._scales(theta)[:, None] * L

    def dcorrelation(self, a: np.ndarray) -> list[np.ndarray]:
        """``dR / da_m`` for each correlation parameter (k x k symmetric arrays)."""
        raise NotImplementedError

    def dcorrelation_factor(self, a: np.ndarray, L: np.ndarray) -> list[np.ndarray]:
        """``dL / da_m``, ``L`` the Cholesky factor of ``R(a)``; by default from
        :meth:`dcorrelation` (a positive definite ``R``)."""
        return [_cholesky_derivative(L, dR) for dR in self.dcorrelation(a)]

    def dfactor(self, theta: np.ndarray) -> list[np.ndarray]:
        theta = np.asarray(theta, dtype=float)
        a = theta[self.nscale :]
        L = self.factor(np.concatenate([np.ones(self.nscale), a]))
        if self.homogeneous:
            out = [L]
        else:
            out = []
            for j in range(self.k):
                D = np.zeros((self.k, self.k))
                D[j] = L[j]
                out.append(D)
        if self.ncorrelation:
            s = self._scales(theta)[:, None]
            out += [s * dL for dL in self.dcorrelation_factor(a, L)]
        return out

    def stacked_dcorrelation(self, a: np.ndarray) -> np.ndarray:
        """:meth:`dcorrelation` for each row of ``a`` (R, ncorrelation): (R, ncorrelation, k, k)."""
        return np.array([self.dcorrelation(x) for x in a]).reshape(len(a), self.ncorrelation, self.k, self.k)

    def stacked_theta_gradient(self, theta: np.ndarray, G: np.ndarray) -> np.ndarray:
        """:meth:`theta_gradient` for each row at once: ``dT / ds`` from the rows of ``L``,
        ``dT / da_m = diag(s) L Phi(L^-1 dR_m L^-T)`` by batched solves."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        G = np.asarray(G, dtype=float).reshape(len(theta), self.k, self.k)
        a = theta[:, self.nscale :]
        L = self.stacked_factor(np.concatenate([np.ones((len(theta), self.nscale)), a], axis=1))
        GL = np.sum(G * L, axis=2)  # (R, k): the gradient over each row's scale
        parts = [GL.sum(axis=1, keepdims=True) if self.homogeneous else GL]
        if self.ncorrelation:
            s = np.repeat(theta[:, :1], self.k, axis=1) if self.homogeneous else theta[:, : self.nscale]
            dR = self.stacked_dcorrelation(a)  # (R, m, k, k)
            Lm = np.broadcast_to(L[:, None], dR.shape)
            half = np.linalg.solve(Lm, dR)  # L^-1 dR
            inner = np.linalg.solve(Lm, np.swapaxes(half, 2, 3))  # L^-1 dR L^-T (symmetric)
            phi = np.tril(inner)
            idx = np.arange(self.k)
            phi[..., idx, idx] *= 0.5
            dL = Lm @ phi
            parts.append(np.einsum("rij,rmij->rm", s[:, :, None] * G, dL))
        return np.concatenate(parts, axis=1)

    def stacked_correlation_factor(self, a: np.ndarray) -> np.ndarray:
        """The Cholesky factors of ``R`` for each row of ``a`` (R, ncorrelation): (R, k, k)."""
        R = np.array([self.correlation(x) for x in a]).reshape(-1, self.k, self.k)
        try:
            return np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            return np.array([_factor_of(r) for r in R]).reshape(-1, self.k, self.k)

    def stacked_factor(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        s = np.repeat(theta[:, :1], self.k, axis=1) if self.homogeneous else theta[:, : self.nscale]
        if not self.ncorrelation:
            L = np.broadcast_to(np.eye(self.k), (len(theta), self.k, self.k))
        else:
            L = self.stacked_correlation_factor(theta[:, self.nscale :])
        return s[:, :, None] * L

    def theta_of(self, T: np.ndarray) -> np.ndarray:
        T = np.asarray(T, dtype=float)
        cov = T @ T.T
        s = np.sqrt(np.diag(cov))
        scales = np.array([float(np.mean(s))]) if self.homogeneous else s
        if not self.ncorrelation:
            return scales
        with np.errstate(invalid="ignore", divide="ignore"):
            R = cov / np.outer(s, s)
        R = np.where(np.isfinite(R), R, np.eye(self.k))
        return np.concatenate([scales, self.correlation_parameters(R)])

    def start(self) -> np.ndarray:
        return np.concatenate([np.ones(self.nscale), self.correlation_start()])

    def lower(self) -> np.ndarray:
        return np.concatenate([np.zeros(self.nscale), np.full(self.ncorrelation, -np.inf)])

    def _correlation_names(self) -> list[str]:
        return ["rho"] if self.ncorrelation == 1 else [f"rho{j + 1}" for j in range(self.ncorrelation)]

    def _scale_names(self, cnames: Sequence[str]) -> list[str]:
        return [self.label or "sd"] if self.homogeneous else list(cnames)

    def names(self, group: str, cnames: Sequence[str]) -> list[str]:
        return [f"{group}.{n}" for n in self._scale_names(cnames) + self._correlation_names()]

    def boundary_names(
        self, theta: np.ndarray, cnames: Sequence[str], tol: float = SINGULAR_TOL
    ) -> list[str]:
        """What is at the boundary at one ``theta``, by name, for each column ``j`` with
        ``T[j, j] = s_j L[j, j]`` below ``tol``: the column where its standard deviation
        ``s_j`` is below ``tol`` (every column for a zero common one), else the correlation
        parameter that put ``L[j, j]`` at zero (a correlation at +-1, or ``cs``'s at its lower
        limit ``-1 / (k - 1)``: the correlation matrix singular), named as VarCorr names it
        with the structure's label (``rho (cs)``; ``rho<j> (toep)``, the lag whose partial
        autocorrelation reached +-1)."""
        theta = np.asarray(theta, dtype=float)
        at = self.singular_columns(theta, tol)[0]
        scales = np.abs(self._scales(theta))
        correlations = self._correlation_names() if self.ncorrelation else []
        names: list[str] = []
        for j in np.flatnonzero(at):
            if scales[j] < tol or not correlations:
                name = str(cnames[int(j)])
            else:
                name = f"{correlations[min(int(j), len(correlations)) - 1]} ({self.label})"
            if name not in names:
                names.append(name)
        return names

    def sdcor(self, theta: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """The standard deviations (one per scale parameter) and the structure's own
        correlations (:meth:`correlation_values`)."""
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        sd = np.abs(theta[:, : self.nscale]) * np.asarray(sigma, dtype=float)[:, None]
        if not self.ncorrelation:
            return sd
        rho = np.array([self.correlation_values(t[self.nscale :]) for t in theta])
        return np.concatenate([sd, rho], axis=1)

    def sdcor_names(self, group: str, cnames: Sequence[str]) -> list[str]:
        sds = [f"sd_({self.label})|{group}"] if self.homogeneous else [f"sd_{c}|{group}" for c in cnames]
        return sds + [f"{n}_({self.label})|{group}" for n in self._correlation_names()]


class Ar1(Structured):
    """glmmTMB's ``ar1``: one standard deviation, correlation ``rho^|i - j|`` between the term's
    columns ``i``, ``j`` (the levels of a factor of equally spaced times), ``rho = a / sqrt(1 +
    a^2)``. The factor of ``R`` is in closed form: column 0 is ``rho^i``, column ``j > 0`` is
    ``rho^(i - j) sqrt(1 - rho^2)`` below the diagonal."""

    homogeneous = True
    label = "ar1"

    @property
    def ncorrelation(self) -> int:
        return 1 if self.k > 1 else 0

    def correlation(self, a: np.ndarray) -> np.ndarray:
        rho = float(_unit_interval(a[0]))
        lags = np.abs(np.subtract.outer(np.arange(self.k), np.arange(self.k)))
        return rho**lags

    @functools.cached_property
    def _lags(self) -> tuple[np.ndarray, np.ndarray]:
        """The lag ``i - j`` of each lower-triangle entry (column by column) and whether it is
        in column 0 (read-only)."""
        rows, cols = tril_colmajor(self.k)
        return _read_only(rows - cols), _read_only(cols == 0)

    def _stacked_correlation_entries(self, a: np.ndarray) -> np.ndarray:
        """The lower triangle of ``L`` column by column for each entry of ``a`` (R,): (R, nentries)."""
        lag, first = self._lags
        rho = _unit_interval(a)[:, None]
        return rho**lag * np.where(first, 1.0, np.sqrt(1.0 - rho * rho))

    def factor(self, theta: np.ndarray) -> np.ndarray:
        return self.stacked_factor(theta)[0]

    def entries(self, theta: np.ndarray) -> np.ndarray:
        return self.stacked_entries(theta)[0]

    def stacked_entries(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        if not self.ncorrelation:
            return theta[:, :1].copy()
        return theta[:, :1] * self._stacked_correlation_entries(theta[:, 1])

    def stacked_factor(self, theta: np.ndarray) -> np.ndarray:
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        rows, cols = tril_colmajor(self.k)
        T = np.zeros((len(theta), self.k, self.k))
        T[:, rows, cols] = self.stacked_entries(theta)
        return T

    def stacked_correlation_factor(self, a: np.ndarray) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        L = np.zeros((len(a), self.k, self.k))
        L[:, rows, cols] = self._stacked_correlation_entries(np.asarray(a, dtype=float)[:, 0])
        return L

    def dcorrelation(self, a: np.ndarray) -> list[np.ndarray]:
        rho = float(_unit_interval(a[0]))
        lags = np.abs(np.subtract.outer(np.arange(self.k), np.arange(self.k)))
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(lags > 0, lags * rho ** np.maximum(lags - 1, 0), 0.0)
        return [d * float(_unit_interval_slope(a[0]))]

    def dcorrelation_factor(self, a: np.ndarray, L: np.ndarray) -> list[np.ndarray]:
        """Closed form: ``L[i, j] = rho^(i - j) c_j`` (``c_0 = 1``, else ``sqrt(1 - rho^2)``), so
        ``dL[i, j] / drho = (i - j) rho^(i - j - 1) c_j + rho^(i - j) dc_j``."""
        rho = float(_unit_interval(a[0]))
        i, j = np.tril_indices(self.k)
        lag = i - j
        c = np.sqrt(1.0 - rho * rho)
        power = rho ** np.maximum(lag - 1, 0)  # rho^(lag - 1), used only where lag > 0
        dpower = np.where(lag > 0, lag * power, 0.0)
        value = np.where(j == 0, dpower, dpower * c - rho**lag * rho / c)
        D = np.zeros((self.k, self.k))
        D[i, j] = value * float(_unit_interval_slope(a[0]))
        return [D]

    def correlation_parameters(self, R: np.ndarray) -> np.ndarray:
        return _from_unit_interval([R[1, 0]])

    def correlation_values(self, a: np.ndarray) -> np.ndarray:
        return _unit_interval(a[:1])


class CompoundSymmetry(Structured):
    """glmmTMB's ``cs``: a standard deviation per column and one correlation ``rho`` between
    every two, ``rho`` in ``(-1 / (k - 1), 1)`` (where ``R`` is positive definite):
    ``rho = lo + (1 - lo) logistic(a)``, ``lo = -1 / (k - 1)``."""

    label = "cs"

    @property
    def ncorrelation(self) -> int:
        return 1 if self.k > 1 else 0

    @property
    def _lo(self) -> float:
        return -1.0 / (self.k - 1)

    def _rho(self, a: np.ndarray) -> float:
        lo = self._lo
        return float(lo + (1.0 - lo) / (1.0 + np.exp(-float(a[0]))))

    def correlation(self, a: np.ndarray) -> np.ndarray:
        rho = self._rho(a)
        return np.full((self.k, self.k), rho) + (1.0 - rho) * np.eye(self.k)

    def dcorrelation(self, a: np.ndarray) -> list[np.ndarray]:
        """``dR / da = (1 - lo) u (1 - u) (J - I)``, ``u = logistic(a)``."""
        u = 1.0 / (1.0 + np.exp(-float(a[0])))
        return [(1.0 - self._lo) * u * (1.0 - u) * (np.ones((self.k, self.k)) - np.eye(self.k))]

    def stacked_correlation_factor(self, a: np.ndarray) -> np.ndarray:
        lo = self._lo
        rho = lo + (1.0 - lo) / (1.0 + np.exp(-a[:, 0]))
        R = rho[:, None, None] * np.ones((self.k, self.k)) + (1.0 - rho)[:, None, None] * np.eye(self.k)
        try:
            return np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            return np.array([_factor_of(r) for r in R]).reshape(-1, self.k, self.k)

    def correlation_parameters(self, R: np.ndarray) -> np.ndarray:
        i, j = np.tril_indices(self.k, -1)
        lo = self._lo
        u = np.clip((float(np.mean(R[i, j])) - lo) / (1.0 - lo), 1e-15, 1.0 - 1e-15)
        return np.array([np.log(u / (1.0 - u))])

    def correlation_start(self) -> np.ndarray:
        if not self.ncorrelation:
            return np.zeros(0)  # one column: no correlation (and no lower limit of one)
        lo = self._lo
        u = -lo / (1.0 - lo)
        return np.array([np.log(u / (1.0 - u))])

    def correlation_values(self, a: np.ndarray) -> np.ndarray:
        return np.array([self._rho(a)])


class HomCompoundSymmetry(CompoundSymmetry):
    """glmmTMB's ``homcs``: :class:`CompoundSymmetry` with one standard deviation."""

    homogeneous = True
    label = "homcs"


class Toeplitz(Structured):
    """glmmTMB's ``toep``: a standard deviation per column and a correlation per lag, ``R`` the
    Toeplitz matrix of the autocorrelations of the partial autocorrelations ``phi_j = a_j /
    sqrt(1 + a_j^2)`` (Durbin-Levinson: every ``a`` gives a positive definite ``R``, and every
    such ``R`` has its ``a``)."""

    label = "toep"

    @property
    def ncorrelation(self) -> int:
        return self.k - 1

    def _autocorrelations(self, a: np.ndarray) -> np.ndarray:
        """``rho_1 .. rho_(k-1)`` of the partial autocorrelations (Durbin-Levinson; real or
        complex ``a``: the recursion is analytic, so a complex step differentiates it); ``a``
        of shape (..., k - 1), each row its own recursion."""
        phi = a / np.sqrt(1.0 + a * a)
        rho = np.zeros_like(phi)
        coef = np.zeros(phi.shape[:-1] + (0,), dtype=phi.dtype)
        if phi.ndim == 1:  # one row (the fit's evaluations): dot products, less overhead
            for m, p in enumerate(phi):
                rho[m] = p if m == 0 else coef @ rho[m - 1 :: -1] + p * (1.0 - coef @ rho[:m])
                coef = np.concatenate([coef - p * coef[::-1], [p]])
            return rho
        for m in range(phi.shape[-1]):
            p = phi[..., m]
            if m == 0:
                rho[..., 0] = p
            else:
                past = rho[..., m - 1 :: -1][..., :m]
                rho[..., m] = np.sum(coef * past, axis=-1) + p * (1.0 - np.sum(coef * rho[..., :m], axis=-1))
            coef = np.concatenate([coef - p[..., None] * coef[..., ::-1], p[..., None]], axis=-1)
        return rho

    def stacked_correlation_factor(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        rho = np.concatenate([np.ones((len(a), 1)), self._autocorrelations(a)], axis=1)
        lags = np.abs(np.subtract.outer(np.arange(self.k), np.arange(self.k)))
        R = rho[:, lags]
        try:
            return np.linalg.cholesky(R)
        except np.linalg.LinAlgError:
            return np.array([_factor_of(r) for r in R]).reshape(-1, self.k, self.k)

    def correlation(self, a: np.ndarray) -> np.ndarray:
        rho = np.concatenate([[1.0], self._autocorrelations(np.asarray(a, dtype=float))])
        lags = np.abs(np.subtract.outer(np.arange(self.k), np.arange(self.k)))
        return rho[lags]

    def dcorrelation(self, a: np.ndarray) -> list[np.ndarray]:
        """``dR / da_m`` by a complex step through the Durbin-Levinson recursion (exact to
        rounding: ``Im f(a + i h e_m) / h`` with ``h = 1e-30`` has no subtraction)."""
        a = np.asarray(a, dtype=float)
        lags = np.abs(np.subtract.outer(np.arange(self.k), np.arange(self.k)))
        out = []
        for m in range(self.ncorrelation):
            step = a.astype(complex)
            step[m] += 1e-30j
            drho = np.concatenate([[0.0], self._autocorrelations(step).imag / 1e-30])
            out.append(drho[lags])
        return out

    def stacked_dcorrelation(self, a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        lags = np.abs(np.subtract.outer(np.arange(self.k), np.arange(self.k)))
        out = np.zeros((len(a), self.ncorrelation, self.k, self.k))
        for m in range(self.ncorrelation):
            step = a.astype(complex)
            step[:, m] += 1e-30j
            drho = np.concatenate([np.zeros((len(a), 1)), self._autocorrelations(step).imag / 1e-30], axis=1)
            out[:, m] = drho[:, lags]
        return out

    def correlation_parameters(self, R: np.ndarray) -> np.ndarray:
        rho = np.array([np.mean(np.diagonal(R, -lag)) for lag in range(1, self.k)])
        phi = np.zeros(len(rho))
        coef = np.zeros(0)
        for m in range(len(rho)):
            past = rho[:m][::-1]
            phi[m] = (rho[m] - coef @ past) / (1.0 - coef @ rho[:m]) if m else rho[0]
            coef = np.concatenate([coef - phi[m] * coef[::-1], [phi[m]]])
        return _from_unit_interval(phi)

    def correlation_values(self, a: np.ndarray) -> np.ndarray:
        return self._autocorrelations(np.asarray(a, dtype=float))


class HomDiagonal(Structured):
    """glmmTMB's ``homdiag``: independent columns of one standard deviation."""

    homogeneous = True
    correlated = False
    label = "homdiag"

    @property
    def ncorrelation(self) -> int:
        return 0

    @functools.cached_property
    def support(self) -> np.ndarray:
        rows, cols = tril_colmajor(self.k)
        return _read_only(rows == cols)


STRUCTURES: dict[str, type[CovStructure]] = {
    "us": Unstructured,
    "diag": Diagonal,
    "cs": CompoundSymmetry,
    "homcs": HomCompoundSymmetry,
    "ar1": Ar1,
    "toep": Toeplitz,
    "homdiag": HomDiagonal,
}
"""glmmTMB's (and lme4 2.0's) spellings of a random-effects term's structure."""

UNAVAILABLE = ("ou", "exp", "gau", "mat", "rr", "propto", "equalto")
"""glmmTMB's structures that are refused by name."""
