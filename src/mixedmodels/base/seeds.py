"""Randomness comes in as a seed or a :class:`numpy.random.Generator`, never from global state;
so many replicates as ``nsim`` says, a whole number of at least 1."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_generator", "replicate_count"]


def as_generator(seed) -> np.random.Generator:
    """A Generator from a seed, a SeedSequence or a Generator (never the global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def replicate_count(nsim) -> int:
    """``nsim`` as an int: a whole number of at least 1 (``10`` or ``10.0``, not ``1.5`` or 0).

    Raises
    ------
    ValueError
        Anything else, named.
    """
    whole = isinstance(nsim, numbers.Real) and not isinstance(nsim, bool) and float(nsim).is_integer()
    if not whole:
        raise ValueError(f"nsim must be a whole number of replicates, not {nsim!r}")
    count = int(nsim)
    if count < 1:
        raise ValueError(f"nsim must be at least 1, not {count}")
    return count
