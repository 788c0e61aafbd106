"""Settings a user can change: ``mixedmodels.options.memory_limit = 16 * 2**30``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["format_bytes", "options"]


@dataclass
class Options:
    """Library-wide settings.

    Attributes
    ----------
    memory_limit : float
        Bytes the dense block of a Cholesky factor may take before a model is refused.
    safe_formulas : bool
        Read a formula's expressions before evaluating them and refuse anything but data
        columns, numbers, arithmetic and an allow-list of functions (:mod:`mixedmodels.formula.safety`).
        Off by default (a formula is code, as in R); the command line always turns it on.
    """

    memory_limit: float = 8 * 2**30
    safe_formulas: bool = False


options = Options()


def format_bytes(size: float) -> str:
    """A memory size for a message: ``"1.5 GiB"``, ``"31 MiB"``, ``"12 KiB"``, ``"100 bytes"``."""
    for unit, power in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 2**power:
            return f"{size / 2**power:.1f} GiB" if unit == "GiB" else f"{size / 2**power:.0f} {unit}"
    return f"{size:.0f} bytes"
