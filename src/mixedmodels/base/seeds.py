"""Randomness comes in as a seed or a :class:`numpy.random.Generator`, never from global state."""

from __future__ import annotations

import numpy as np

__all__ = ["as_generator"]


def as_generator(seed) -> np.random.Generator:
    """A Generator from a seed, a SeedSequence or a Generator (never the global state)."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)
