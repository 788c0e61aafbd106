"""Start-up times: ``import mixedmodels``, ``python -m mixedmodels --help`` and the first public name.

Each command runs in a fresh interpreter (``sys.executable``, with ``src`` on ``PYTHONPATH`` so
that the working tree is measured); the table shows the median wall time of 7 runs after one
warm-up run (which fills the operating system's file cache).

    python benchmarks/import_times.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CASES = {
    "import mixedmodels": ["-c", "import mixedmodels"],
    "python -m mixedmodels --help": ["-m", "mixedmodels", "--help"],
    "import mixedmodels as mm; mm.lmer": ["-c", "import mixedmodels as mm; mm.lmer"],
}


def wall_time(arguments: list[str], env: dict[str, str]) -> float:
    """Seconds one fresh interpreter takes to run ``arguments``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, *arguments], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (default 7)")
    runs = parser.parse_args().runs
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    print(f"{'command':<40} {'median (s)':>10} {'min (s)':>8}")
    for label, arguments in CASES.items():
        wall_time(arguments, env)  # warm-up
        times = [wall_time(arguments, env) for _ in range(runs)]
        print(f"{label:<40} {statistics.median(times):>10.3f} {min(times):>8.3f}")


if __name__ == "__main__":
    main()
