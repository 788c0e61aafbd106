"""Progress bars for long runs: tqdm on a terminal, nothing otherwise."""

from __future__ import annotations

import sys

__all__ = ["progress_bar"]


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, wanted: bool, desc: str, unit: str):
    """A tqdm bar when ``wanted`` and standard error is a terminal, else a silent stand-in."""
    if not wanted or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc=desc)
