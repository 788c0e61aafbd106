"""Time the parametric bootstrap of glmer fits: mm.bootstrap beside lme4's bootMer, per replicate.

Usage: PYTHONPATH=src python benchmarks/glmer_bootstrap_times.py [--nsim N] [--r-nsim M] [--no-r]

Cases: the probit model of tests/reference/glmm/probit_binary (1,200 rows, 40 groups) and cbpp
(56 rows). Ours: ``nsim`` replicates with ``use_u=False``, one process and two; lme4:
``bootMer(fit, FUN = function(m) c(fixef(m), getME(m, "theta")), nsim = M)`` (its default
refits, one by one), the same machine, one R process. Times are per replicate, the median of
``--repeat`` runs; "-" where R is not installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import pandas as pd
from rbench import run_r

import mixedmodels as mm
from mixedmodels.datasets import load

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "probit_binary": (
        "y ~ x + (1 | g)",
        "probit",
        lambda: pd.read_csv(ROOT / "tests" / "data" / "probit_binary.csv"),
    ),
    "cbpp": ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "logit", lambda: load("cbpp")),
}

R_SCRIPT = r"""
for (cs in cases) {
  d <- read_case(cs)
  fit <- glmer(as.formula(cs$formula), d, family = binomial(link = cs$link))
  t0 <- Sys.time()
  b <- bootMer(fit, function(m) c(fixef(m), getME(m, "theta")), nsim = cs$nsim, use.u = FALSE, seed = 1)
  out[[cs$name]] <- as.numeric(Sys.time() - t0, units = "secs") / cs$nsim
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def time_ours(fit, nsim: int, n_jobs: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        mm.bootstrap(fit, nsim, seed=1, progress=False, n_jobs=n_jobs)
        times.append((time.perf_counter() - t0) / nsim)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsim", type=int, default=2000)
    parser.add_argument("--r-nsim", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    frames, rows = {}, []
    for name, (formula, link, data) in CASES.items():
        frames[name] = data()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = mm.glmer(formula, frames[name], family="binomial", link=link)
        rows.append(
            (name, time_ours(fit, args.nsim, 1, args.repeat), time_ours(fit, args.nsim, 2, args.repeat))
        )
    r_cases = [
        {"name": name, "formula": CASES[name][0], "link": CASES[name][1], "factors": [], "nsim": args.r_nsim}
        for name in CASES
    ]
    lme4 = {} if args.no_r else run_r(R_SCRIPT, r_cases, frames)
    print(
        f"per replicate; ours: {args.nsim} replicates (median of {args.repeat}); lme4 bootMer: {args.r_nsim}"
    )
    header = ["case", "ours 1 proc", "ours 2 proc", "lme4", "lme4/ours(1)", "lme4/ours(2)"]
    print(f"{header[0]:16}" + "".join(f"{h:>14}" for h in header[1:]))
    for name, one, two in rows:
        r = lme4.get(name)
        cells = [f"{one * 1000:.2f}ms", f"{two * 1000:.2f}ms"]
        cells += [f"{r * 1000:.1f}ms", f"{r / one:.0f}x", f"{r / two:.0f}x"] if r else ["-"] * 3
        print(f"{name:16}" + "".join(f"{c:>14}" for c in cells))
    print(json.dumps({"ours": {n: [o, t] for n, o, t in rows}, "lme4": lme4}))


if __name__ == "__main__":
    main()
