"""What the package tells its user besides results: its warning class and when it warns.

A leaf module (it imports nothing of the package), so that every stage can warn.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

__all__ = ["MixedModelsWarning", "warn"]


class MixedModelsWarning(UserWarning):
    """Something about a fit worth knowing: dropped columns, a singular or unconverged fit."""


def warn(message: str) -> None:
    """Issue ``message`` as a :class:`MixedModelsWarning` that names the user's line."""
    warnings.warn(message, MixedModelsWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The ``stacklevel`` (for the caller of :func:`warn`) of the first frame outside the package,
    so that a warning names the user's line whichever way it was reached."""
    frame: FrameType | None = sys._getframe(2)
    level = 2
    package = os.path.dirname(os.path.abspath(sys.modules[__name__.split(".")[0]].__file__ or ""))
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level
