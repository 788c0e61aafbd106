"""Crossed random effects at scale: y ~ x1 + x2 + treat + (1 | user) + (1 | item).

    python benchmarks/scale.py [--sizes 1e5 1e6 4e6]

Each size is fitted in a fresh process (so that its peak memory is its own) on data from
crossed_data.py: 1e5 rows with 2e4 users and 2e3 items, 1e6 with 1e5 and 5e3, 4e6 with 2e5 and
1e4. Prints fit time, objective evaluations, time per evaluation, peak resident memory and the
estimates beside the truth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

SHAPES = {100_000: (20_000, 2_000), 1_000_000: (100_000, 5_000), 4_000_000: (200_000, 10_000)}

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {here!r})
from crossed_data import FORMULA, generate
import mixedmodels as mm
n, users, items = {n}, {users}, {items}
data = generate(n, users, items)
t0 = time.perf_counter()
fit = mm.lmer(FORMULA, data)
seconds = time.perf_counter() - t0
sd = fit.varcorr.sdcor.tolist()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
out = {{"seconds": seconds, "evals": fit.opt.feval, "peak_gb": peak, "sd": sd}}
out["fixef"] = fit.fixef.round(4).to_dict()
print(json.dumps(out))
"""


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info

        return ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    except ImportError:
        return f"threadpoolctl not installed; {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 4e6])
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    print(f"BLAS: {blas_threads()}")
    header = f"{'rows':>9} {'users':>7} {'items':>6} {'fit':>8} {'evals':>5} {'s/eval':>7} {'peak':>8}"
    print(f"{header}  estimates (truth)")
    for size in args.sizes:
        n = int(size)
        users, items = SHAPES.get(n, (n // 10, n // 200))
        code = CHILD.format(here=here, n=n, users=users, items=items)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            print(
                f"{n:>9} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}"
            )
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        est = ", ".join(f"{k} {v:.3f}" for k, v in r["fixef"].items())
        sd = ", ".join(f"{v:.3f}" for v in r["sd"])
        per_eval = r["seconds"] / r["evals"]
        print(
            f"{n:>9} {users:>7} {items:>6} {r['seconds']:7.1f}s {r['evals']:>5} {per_eval:6.2f}s "
            f"{r['peak_gb']:6.2f}GiB  {est}; sd {sd} (truth 3, 0.5, -0.25, 0.3; sd 0.6, 0.4, 1)"
        )


if __name__ == "__main__":
    main()
