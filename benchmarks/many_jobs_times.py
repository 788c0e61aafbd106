"""lmer_many with n_jobs = 1 and 2 on the designs of ``many_times.py`` (2,000 responses each).

Wall-clock seconds, the median of three runs each, alternating the two settings so a loaded
machine weighs on both alike. Pass ``--threads 1`` to run BLAS single-threaded (set before
numpy is imported).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, help="BLAS threads per process")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[key] = str(args.threads)
    import numpy as np
    import pandas as pd
    from many_times import genomics_design, sleep_design

    import mixedmodels as mm

    rng = np.random.default_rng(2026)
    rows = []
    for name, design in (("sleepstudy", sleep_design), ("genomics", genomics_design)):
        data, Y, rhs = design(rng)
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.repeats):
            for n_jobs in times:
                t0 = time.perf_counter()
                mm.lmer_many(rhs, data, Y, progress=False, n_jobs=n_jobs)
                times[n_jobs].append(time.perf_counter() - t0)
        rows.append({"design": name, **{f"n_jobs={k} s": float(np.median(v)) for k, v in times.items()}})
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(pd.DataFrame(rows).set_index("design").round(2).to_string())


if __name__ == "__main__":
    main()
