"""Dask: an InstEval bootstrap serially and on a LocalCluster, and a Dask DataFrame fit.

    python benchmarks/dask_times.py bootstrap [--nsim 1000] [--workers 2]
    python benchmarks/dask_times.py fit [--rows 2e7] [--users 20000] [--items 500] [--partitions 40]
                                        [--in-memory]

bootstrap: the InstEval model ``y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)``
(lme4's example), ``nsim`` replicates with new random effects, in this process and then on a
LocalCluster of ``workers`` single-threaded worker processes (cluster start-up timed apart);
checks that the replicates agree.

fit: ``rating ~ 1 + x1 + x2 + treat + (1 | user) + (1 | item)`` on generated crossed data
(mixedmodels.datasets.crossed) made lazily, partition by partition, on the workers: the client
never holds the rows. Peak resident memory of the client and of each worker. ``--in-memory``
also fits the same rows as one pandas DataFrame in a fresh process, for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

INSTEVAL = "y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)"


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def cluster(workers: int):
    from dask.distributed import Client, LocalCluster

    c = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return c, Client(c)


def bench_bootstrap(args) -> None:
    import numpy as np

    import mixedmodels as mm
    from mixedmodels import datasets

    fit = mm.lmer(INSTEVAL, datasets.load("insteval"))
    t0 = time.perf_counter()
    serial = mm.bootstrap(fit, args.nsim, seed=1, progress=False)
    t_serial = time.perf_counter() - t0
    t0 = time.perf_counter()
    lc, client = cluster(args.workers)
    t_start = time.perf_counter() - t0
    t0 = time.perf_counter()
    remote = mm.bootstrap(fit, args.nsim, seed=1, progress=False, client=client)
    t_remote = time.perf_counter() - t0
    client.close()
    lc.close()
    diff = np.nanmax(np.abs(remote.replicates.to_numpy() - serial.replicates.to_numpy()))
    print(f"InstEval bootstrap, {args.nsim} replicates (use_u=False)")
    print(f"{'run':<28}{'seconds':>10}{'s/replicate':>14}")
    print(f"{'serial (this process)':<28}{t_serial:>10.1f}{t_serial / args.nsim:>14.3f}")
    label = f"LocalCluster, {args.workers} workers"
    print(f"{label:<28}{t_remote:>10.1f}{t_remote / args.nsim:>14.3f}")
    print(f"cluster start-up {t_start:.1f} s; speed-up {t_serial / t_remote:.2f}x")
    print(f"largest difference between the runs' replicates: {diff:.2e}; failed {remote.n_failed}")
    print(remote.sd().to_string())


def bench_fit(args) -> None:
    import resource as res

    import mixedmodels as mm
    from mixedmodels.datasets.crossed import FORMULA, crossed_dask

    lc, client = cluster(args.workers)
    data = crossed_dask(int(args.rows), args.users, args.items, args.partitions)
    before = peak_gib()
    t0 = time.perf_counter()
    fit = mm.lmer(FORMULA, data)
    seconds = time.perf_counter() - t0
    workers = client.run(lambda: res.getrusage(res.RUSAGE_SELF).ru_maxrss / 2**20)
    client.close()
    lc.close()
    print(f"Dask DataFrame fit: {int(args.rows):,} rows, {args.users} users x {args.items} items, ")
    print(f"{args.partitions} partitions made on {args.workers} workers")
    print(f"fit {seconds:.1f} s ({fit.opt.feval} evaluations); client peak {peak_gib():.2f} GiB ")
    print(
        f"(before the fit {before:.2f} GiB); workers' peaks "
        + ", ".join(f"{v:.2f}" for v in workers.values())
    )
    print(fit.fixef.round(4).to_string())
    print(fit.varcorr[["group", "sdcor"]].round(4).to_string(index=False))
    if args.in_memory:
        child = (
            "import json, resource, time, mixedmodels as mm\n"
            "from mixedmodels.datasets.crossed import FORMULA, crossed\n"
            f"data = crossed({int(args.rows)}, {args.users}, {args.items}, {args.partitions})\n"
            "t0 = time.perf_counter(); fit = mm.lmer(FORMULA, data); s = time.perf_counter() - t0\n"
            "print(json.dumps({'seconds': s, 'peak': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss"
            " / 2**20, 'fixef': fit.fixef.tolist()}))\n"
        )
        out = json.loads(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout)
        gap = max(abs(a / b - 1) for a, b in zip(fit.fixef, out["fixef"]))
        print(f"in memory (pandas, fresh process): fit {out['seconds']:.1f} s, peak {out['peak']:.2f} GiB")
        print(f"largest relative difference of the fixed effects: {gap:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["bootstrap", "fit"])
    parser.add_argument("--nsim", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=float, default=2e7)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=40)
    parser.add_argument("--in-memory", action="store_true")
    args = parser.parse_args()
    if args.what == "bootstrap":
        bench_bootstrap(args)
    else:
        bench_fit(args)


if __name__ == "__main__":
    main()
