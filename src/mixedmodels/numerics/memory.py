"""What a model's arrays will cost, checked before they are built: ``memory_limit``.

Each check refuses, with a :class:`MemoryError` that names the terms and the limit, a model whose
dense arrays would exceed ``memory_limit`` bytes (default ``mixedmodels.options.memory_limit``):
lmer's dense block of the Cholesky factor, a GLMM's PIRLS system, a fixed-effects fit's dense
model matrices.
"""

from __future__ import annotations

import numpy as np

from ..base.options import format_bytes, options

PAIR_COST = 8.0  # a bincount entry costs about this many multiply-adds of a dense product

__all__ = ["PAIR_COST", "check_glmm_memory", "check_memory", "check_rows_memory"]


def check_memory(reterms, p: int, limit: float | None) -> None:
    """Refuse a model whose dense block of the Cholesky factor would exceed ``limit`` bytes.

    The block is square in the columns of every term but the one with most levels, plus ``X``
    and ``y``: crossed factors with many levels make it large.
    """
    limit = options.memory_limit if limit is None else limit
    ordered = sorted(reterms, key=lambda t: -t.nlevels)
    q = sum(t.q for t in ordered[1:]) + p + 1
    need = 8.0 * q * q * 3  # the block, its work copy and the correction P w
    if need > limit:
        terms = ", ".join(f"{t.group!r} ({t.nlevels} levels)" for t in ordered[1:])
        raise MemoryError(
            f"the dense block of the Cholesky factor would need {format_bytes(need)} "
            f"({q} x {q} doubles, three times): the terms {terms} are crossed with "
            f"{ordered[0].group!r} ({ordered[0].nlevels} levels). The limit is {format_bytes(limit)}; "
            "raise it with memory_limit= or mixedmodels.options.memory_limit"
        )


def check_glmm_memory(reterms, p: int, limit: float | None) -> None:
    """Refuse, before anything is built, a GLMM whose PIRLS system would exceed ``limit`` bytes.

    PIRLS (:mod:`mixedmodels.glmm.pirls`) holds the dense Schur complement of the other terms'
    columns and ``X`` (as lmer's factor: :func:`check_memory`), and the products of the first
    term's levels with the other terms' columns: a dense ``(q_r, q_1)`` array for crossed
    terms, or the pairs of non-zero blocks within each level, whichever is smaller. Each
    level's blocks are bounded by its rows times the other terms' columns per row (and by
    ``q_r``), so the bound is computed from the levels' counts alone.
    """
    check_memory(reterms, p, limit)
    limit = options.memory_limit if limit is None else limit
    first, rest = reterms[0], reterms[1:]
    if not rest:
        return
    qr = sum(t.q for t in rest)
    rows = np.bincount(first.refs, minlength=first.nlevels).astype(float)
    blocks = np.minimum(rows * sum(t.k for t in rest), qr)  # at least the level's blocks
    pairs = float(np.sum(blocks * blocks))  # ordered pairs of blocks within a level, at most
    if pairs * PAIR_COST >= qr * qr * first.q:  # PIRLS's own rule: a dense (q_r, q_1) array
        need, made = 24.0 * qr * first.q, f"a dense {qr} x {first.q} array of products"
    else:  # the pairs' indices while they are made, then their products
        need, made = 8.0 * (5 + 3 * first.k) * pairs, f"{pairs:.0f} products of pairs of columns"
    if need > limit:
        terms = ", ".join(f"{t.group!r} ({t.nlevels} levels)" for t in rest)
        raise MemoryError(
            f"the GLMM's penalized least-squares system would need about {format_bytes(need)} "
            f"({made} of the terms {terms} within the levels of {first.group!r}, "
            f"{first.nlevels} levels). The limit is {format_bytes(limit)}; raise it with "
            "memory_limit= or mixedmodels.options.memory_limit"
        )


def check_rows_memory(n: int, p: int, copies: int, limit: float | None, what: str) -> None:
    """Refuse a fixed-effects fit whose ``copies`` dense ``n x p`` arrays (the model matrix,
    its weighted copy, its QR's ``Q``) would exceed ``limit`` bytes."""
    limit = options.memory_limit if limit is None else limit
    need = 8.0 * n * p * copies
    if need > limit:
        raise MemoryError(
            f"{what} would need about {format_bytes(need)} ({copies} dense {n} x {p} arrays of "
            f"doubles: {n} rows, {p} fixed-effect columns). The limit is {format_bytes(limit)}; "
            "raise it with memory_limit= or mixedmodels.options.memory_limit"
        )
