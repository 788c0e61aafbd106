"""Times of the covariance structures of issue 30: mm.lmer beside glmmTMB on the five
glmmTMB reference cases (ar1, cs, diag, toep and us), both by maximum likelihood.

    PYTHONPATH=src python benchmarks/covstruct_times.py [--repeat 5] [--no-r] [--only NAME,...]

Each time is the median of ``--repeat`` fits after one warm-up fit (ours and glmmTMB's alike);
R runs once, in one process, for every case. The data are the tests' copies (tests/data) and
the shipped sleepstudy. The last columns are each fit's logLik, ours and glmmTMB's, so a fast
fit that lands elsewhere shows (toep: glmmTMB stops at a boundary, 5.7 below the supremum at
sigma = 0 that our fit reaches).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# BLAS single-threaded for us and for R (Rscript inherits it), set before numpy is imported.
for _key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_key, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rbench import run_r  # noqa: E402

import mixedmodels as mm  # noqa: E402
from mixedmodels import datasets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

# name, data (a file of tests/data, or a shipped data set), formula, factors
CASES = [
    {"name": "ar1_gaussian", "data": "long_ar1.csv", "formula": "y ~ time + ar1(times + 0 | id)",
     "factors": ["times", "id"]},
    {"name": "cs_gaussian", "data": "cs_generated.csv", "formula": "y ~ f + cs(f + 0 | g)",
     "factors": ["f", "g"]},
    {"name": "diag_sleepstudy", "data": "sleepstudy", "formula": "Reaction ~ Days + diag(Days | Subject)",
     "factors": ["Subject"]},
    {"name": "toep_gaussian", "data": "long_ar1.csv", "formula": "y ~ time + toep(times + 0 | id)",
     "factors": ["times", "id"]},
    {"name": "us_sleepstudy", "data": "sleepstudy", "formula": "Reaction ~ Days + us(Days | Subject)",
     "factors": ["Subject"]},
]  # fmt: skip

R_SCRIPT = r"""
has_tmb <- requireNamespace("glmmTMB", quietly = TRUE)
median_time <- function(fit, n) {
  fit()
  times <- numeric(0)
  for (i in seq_len(n)) {
    t0 <- Sys.time(); fit(); times <- c(times, as.numeric(Sys.time() - t0, units = "secs"))
  }
  median(times)
}
for (cs in cases) {
  if (!has_tmb) break
  d <- read_case(cs)
  f <- as.formula(cs$formula)
  fit <- function() suppressWarnings(glmmTMB::glmmTMB(f, data = d, REML = FALSE))
  out[[cs$name]] <- list(glmmTMB = median_time(fit, cs$repeat_n), loglik = as.numeric(logLik(fit())))
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def raw(case: dict) -> pd.DataFrame:
    """The case's data as stored (a CSV of tests/data or a shipped data set)."""
    if case["data"].endswith(".csv"):
        return pd.read_csv(DATA / case["data"])
    return datasets.load(case["data"])


def load(case: dict) -> pd.DataFrame:
    """The case's data, its factors as categoricals (every level read as text)."""
    df = raw(case)
    for col in case["factors"]:
        df[col] = pd.Categorical(df[col].astype(str))
    return df


def median_seconds(fit: Callable[[], object], repeat: int) -> tuple[float | None, object]:
    """Median time of ``repeat`` calls after one warm-up, and the last fit; None where it raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit()
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = fit()
                times.append(time.perf_counter() - t0)
    except Exception:  # noqa: BLE001 - a structure not in this version: "-"
        return None, None
    return float(np.median(times)), result


def time_r(cases: list[dict], repeat: int) -> dict:
    """glmmTMB's medians and logLiks per case, from one R process; {} without R."""
    spec = [
        {"name": c["name"], "formula": c["formula"], "factors": c["factors"], "repeat_n": repeat}
        for c in cases
    ]
    return run_r(R_SCRIPT, spec, frames={c["name"]: raw(c) for c in cases})


def cell(t: float | None) -> str:
    return f"{t:8.3f}s" if t is not None else "        -"


def ratio(theirs: float | None, ours: float | None) -> str:
    return f"{theirs / ours:8.1f}x" if theirs is not None and ours else "        -"


def loglik(value: float | None) -> str:
    return f"{value:10.3f}" if value is not None else "         -"


def machine_state() -> str:
    """CPUs, the load when the run starts and the BLAS threads: the caveats of every time."""
    blas = os.environ["OPENBLAS_NUM_THREADS"]
    return f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start, BLAS threads {blas}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--only", default="", help="only the cases whose name contains one of these (commas)")
    args = ap.parse_args()
    cases = [c for c in CASES if any(part in c["name"] for part in args.only.split(","))]
    print(machine_state())
    r_times = {} if args.no_r else time_r(cases, args.repeat)
    head = ("case", "mm.lmer", "glmmTMB", "TMB/ours", "logLik", "TMB logLik")
    print("{:<16} {:>9} {:>9} {:>9} {:>10} {:>10}".format(*head))
    for case in cases:
        df = load(case)
        ours, fit = median_seconds(lambda: mm.lmer(case["formula"], df, reml=False), args.repeat)  # noqa: B023
        theirs = r_times.get(case["name"], {})
        tmb = theirs.get("glmmTMB")
        row = [
            cell(ours),
            cell(tmb),
            ratio(tmb, ours),
            loglik(getattr(fit, "loglik", None)),
            loglik(theirs.get("loglik")),
        ]
        print(f"{case['name']:<16} " + " ".join(row), flush=True)
    print(f"\nmedians of {args.repeat} fits after a warm-up, ML; TMB/ours: glmmTMB's time over ours.")


if __name__ == "__main__":
    main()
