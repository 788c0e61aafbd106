"""The trigamma and tetragamma functions, vectorized, and the differences of polygamma functions
that count families need (``psi_k(y + s) - psi_k(s)``).

``scipy.special.polygamma`` evaluates the Hurwitz zeta function (about 0.2 microseconds an
element), which made the polygamma functions most of the time of a ``nbinom1`` fit. Here, for
``x`` below :data:`SHIFT_TO`, the recurrences

    psi_1(x) = psi_1(x + 1) + 1 / x^2,    psi_2(x) = psi_2(x + 1) - 2 / x^3

move the argument up (every entry by the steps the least needs to reach 10), and there the
asymptotic series in the Bernoulli numbers ``B_2k``,

    psi_1(x) = 1/x + 1/(2 x^2) + sum_k B_2k / x^(2k+1),
    psi_2(x) = -1/x^2 - 1/x^3 - sum_k (2k + 1) B_2k / x^(2k+2),

truncated after ``k = 7`` (relative error below 1e-15 at ``x >= 10``; ``tests/test_special.py``
checks them against scipy's).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["digamma_difference", "polygamma_differences", "trigamma", "trigamma_tetragamma"]

SHIFT_TO = 10.0
_B2K = (1.0 / 6.0, -1.0 / 30.0, 1.0 / 42.0, -1.0 / 30.0, 5.0 / 66.0, -691.0 / 2730.0, 7.0 / 6.0)


def _shifted(x: np.ndarray, second: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``x`` moved up until its least entry is at least :data:`SHIFT_TO` (every entry by the same
    number of steps: fewer array passes than a shift per entry) and the recurrences' sums for
    ``psi_1`` (and ``psi_2`` when ``second``)."""
    x = np.asarray(x, dtype=float)
    s1 = np.zeros_like(x)
    s2 = np.zeros_like(x) if second else None
    t = x.copy()
    inv = np.empty_like(x)
    inv2 = np.empty_like(x)
    steps = int(np.ceil(max(SHIFT_TO - float(np.nanmin(x, initial=SHIFT_TO)), 0.0)))  # NaN stays NaN
    for _ in range(steps):
        np.divide(1.0, t, out=inv)
        np.multiply(inv, inv, out=inv2)
        s1 += inv2
        if s2 is not None:
            s2 -= 2.0 * inv2 * inv
        t += 1.0
    return t, s1, s2


def _series(x: np.ndarray, second: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The asymptotic series of ``psi_1`` (and ``psi_2``) at ``x >= SHIFT_TO``."""
    r = 1.0 / x
    r2 = r * r
    tail1 = np.zeros_like(x)
    tail2 = np.zeros_like(x) if second else None
    for k in range(len(_B2K), 0, -1):  # Horner's scheme in 1/x^2
        tail1 = tail1 * r2 + _B2K[k - 1]
        if tail2 is not None:
            tail2 = tail2 * r2 + (2 * k + 1) * _B2K[k - 1]
    psi1 = r + r2 / 2.0 + tail1 * r2 * r
    psi2 = None if tail2 is None else -r2 - r2 * r - tail2 * r2 * r2
    return psi1, psi2


def trigamma(x) -> np.ndarray:
    """``psi_1(x)`` for ``x > 0`` (see the module)."""
    xs, s1, _ = _shifted(x, False)
    return _series(xs, False)[0] + s1


def trigamma_tetragamma(x) -> tuple[np.ndarray, np.ndarray]:
    """``psi_1(x)`` and ``psi_2(x)`` for ``x > 0`` (see the module)."""
    xs, s1, s2 = _shifted(x, True)
    psi1, psi2 = _series(xs, True)
    assert psi2 is not None and s2 is not None
    return psi1 + s1, psi2 + s2


def polygamma_differences(y, s, second: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """``psi_1(y + s) - psi_1(s)`` (and ``psi_2(y + s) - psi_2(s)`` when ``second``), exactly 0
    where ``y = 0``, computed on the other entries only (``y`` and ``s`` broadcast together)."""
    y, s = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(s, dtype=float))
    B1 = np.zeros(y.shape)
    B2 = np.zeros(y.shape) if second else None
    some = y != 0
    if not some.any():
        return B1, B2
    ys, ss = y[some], s[some]
    if second:
        a1, a2 = trigamma_tetragamma(ys + ss)
        b1, b2 = trigamma_tetragamma(ss)
        B1[some], B2[some] = a1 - b1, a2 - b2  # type: ignore[index]
    else:
        B1[some] = trigamma(ys + ss) - trigamma(ss)
    return B1, B2


def digamma_difference(y, s) -> np.ndarray:
    """``psi(y + s) - psi(s)``, exactly 0 where ``y = 0``, computed on the other entries only."""
    y, s = np.broadcast_arrays(np.asarray(y, dtype=float), np.asarray(s, dtype=float))
    out = np.zeros(y.shape)
    some = y != 0
    if some.any():
        ys, ss = y[some], s[some]
        out[some] = special.digamma(ys + ss) - special.digamma(ss)
    return out
