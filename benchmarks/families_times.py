"""Times of the count and positive-data families, with glmmTMB's zero-inflation, hurdle and
dispersion models: mm.glmer beside glmmTMB, mm.glmer_nb beside lme4's glmer.nb.

    PYTHONPATH=src python benchmarks/families_times.py [--repeat 5] [--nb-repeat 1] [--no-r] [--only NAME,...]

Each time is the median of ``--repeat`` fits after one warm-up fit (ours and glmmTMB's alike);
R runs once, in one process, for every case. lme4's ``glmer.nb`` takes about a minute for
Salamanders, so it is timed ``--nb-repeat`` times (1 by default: one fit, no warm-up). A "-"
is a package that is not installed or a family or function that mixedmodels does not have yet.
The data are the tests' copies (tests/data). The goals of issue 28: the NB fits at least 10x
faster than glmmTMB's and 100x faster than ``glmer.nb``; of issue 29: each ``ziformula`` /
``dispformula`` reference case (tests/reference/families: the zero-inflated NB2 and the NB2
hurdle on Salamanders, Owls' NB1 with constant zero-inflation and an offset, a Gaussian whose
residual variance differs by group) at least 10x faster than glmmTMB. ``--only zi,hurdle,disp``
times those four alone.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# BLAS single-threaded for us and for R (Rscript inherits it), set before numpy is imported: on
# a small, shared machine a second BLAS thread costs these small models more than it gives.
# Export OPENBLAS_NUM_THREADS (or OMP_/MKL_) beforehand to choose otherwise.
for _key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_key, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from rbench import run_r  # noqa: E402

import mixedmodels as mm  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"

# name, data, formula, factors, our family and link, glmmTMB's family, timed by glmer.nb too
CASES = [
    {"name": "salamanders_nb2", "data": "salamanders.csv", "formula": "count ~ spp * mined + (1 | site)",
     "factors": ["site", "mined", "spp"], "family": "nbinom2", "link": "log",
     "tmb_family": "nbinom2", "nb": True},
    {"name": "grouseticks_nb2", "data": "grouseticks_nb.csv",
     "formula": "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)",
     "factors": ["BROOD", "YEAR", "LOCATION"], "family": "nbinom2", "link": "log",
     "tmb_family": "nbinom2", "nb": True},
    {"name": "salamanders_nb1", "data": "salamanders.csv", "formula": "count ~ spp * mined + (1 | site)",
     "factors": ["site", "mined", "spp"], "family": "nbinom1", "link": "log",
     "tmb_family": "nbinom1", "nb": False},
    {"name": "gamma_log", "data": "gamma_generated.csv", "formula": "y ~ x + (1 | g)", "factors": ["g"],
     "family": "Gamma", "link": "log", "tmb_family": 'Gamma(link = "log")', "nb": False},
    {"name": "beta_logit", "data": "beta_generated.csv", "formula": "y ~ x + (1 | g)", "factors": ["g"],
     "family": "beta", "link": "logit", "tmb_family": "beta_family()", "nb": False},
    # issue 29: zero-inflation ("zi"), hurdles (a truncated family with "zi") and dispersion models ("disp")
    {"name": "salamanders_zinb2", "data": "salamanders.csv", "formula": "count ~ spp * mined + (1 | site)",
     "factors": ["site", "mined", "spp"], "family": "nbinom2", "link": "log",
     "tmb_family": "nbinom2", "nb": False, "zi": "~spp"},
    {"name": "owls_nb1_zi", "data": "owls.csv",
     "formula": "SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest)",
     "factors": ["Nest", "FoodTreatment", "SexParent"], "family": "nbinom1", "link": "log",
     "tmb_family": "nbinom1", "nb": False, "zi": "~1"},
    {"name": "salamanders_hurdle_nb2", "data": "salamanders.csv",
     "formula": "count ~ spp + mined + (1 | site)", "factors": ["site", "mined", "spp"],
     "family": "truncated_nbinom2", "link": "log",
     "tmb_family": "truncated_nbinom2", "nb": False, "zi": "~spp + mined"},
    {"name": "gaussian_dispformula", "data": "hetero_generated.csv", "formula": "y ~ x + (1 | g)",
     "factors": ["g", "grp"], "family": "gaussian", "link": "identity",
     "tmb_family": "gaussian", "nb": False, "disp": "~grp"},
]  # fmt: skip

R_SCRIPT = r"""
has_tmb <- requireNamespace("glmmTMB", quietly = TRUE)
median_time <- function(fit, n, warm) {
  if (warm) fit()
  times <- numeric(0)
  for (i in seq_len(n)) {
    t0 <- Sys.time(); fit(); times <- c(times, as.numeric(Sys.time() - t0, units = "secs"))
  }
  median(times)
}
for (cs in cases) {
  d <- read_case(cs)
  f <- as.formula(cs$formula)
  res <- list()
  if (has_tmb) {
    fam <- eval(parse(text = cs$tmb_family), envir = asNamespace("glmmTMB"))
    zi <- as.formula(cs$zi); disp <- as.formula(cs$disp)
    res$glmmTMB <- median_time(function() suppressWarnings(glmmTMB::glmmTMB(
      f, data = d, family = fam, ziformula = zi, dispformula = disp)), cs$repeat_n, TRUE)
  }
  if (isTRUE(cs$nb)) {
    res$glmer_nb <- median_time(function() suppressWarnings(glmer.nb(f, data = d)), cs$nb_repeat, FALSE)
  }
  out[[cs$name]] <- res
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def load(case: dict) -> pd.DataFrame:
    """The case's data, its factors as categoricals (every level read as text)."""
    df = pd.read_csv(DATA / case["data"])
    for col in case["factors"]:
        df[col] = pd.Categorical(df[col].astype(str))
    return df


def median_seconds(fit: Callable[[], object], repeat: int) -> float | None:
    """Median time of ``repeat`` calls after one warm-up; None where the call raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit()
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fit()
                times.append(time.perf_counter() - t0)
    except Exception:  # noqa: BLE001 - a family or function not in this version: "-"
        return None
    return float(np.median(times))


def time_ours(case: dict, repeat: int) -> tuple[float | None, float | None]:
    """Medians of ``mm.glmer(family=...)`` and (NB cases) ``mm.glmer_nb``; None where missing."""
    df = load(case)
    auxiliary = {"ziformula": case.get("zi"), "dispformula": case.get("disp")}
    glmer = median_seconds(
        lambda: mm.glmer(case["formula"], df, family=case["family"], link=case["link"], **auxiliary), repeat
    )
    nb = None
    if case["nb"] and hasattr(mm, "glmer_nb"):
        nb = median_seconds(lambda: mm.glmer_nb(case["formula"], df), repeat)
    return glmer, nb


def time_r(cases: list[dict], repeat: int, nb_repeat: int) -> dict:
    """glmmTMB's (and glmer.nb's) medians per case, from one R process; {} without R."""
    spec = [
        {"name": c["name"], "formula": c["formula"], "factors": c["factors"], "tmb_family": c["tmb_family"],
         "zi": c.get("zi", "~0"), "disp": c.get("disp", "~1"), "nb": c["nb"], "repeat_n": repeat,
         "nb_repeat": nb_repeat}
        for c in cases
    ]  # fmt: skip
    return run_r(R_SCRIPT, spec, frames={c["name"]: pd.read_csv(DATA / c["data"]) for c in cases})


def cell(t: float | None) -> str:
    return f"{t:8.3f}s" if t is not None else "        -"


def ratio(theirs: float | None, ours: float | None) -> str:
    return f"{theirs / ours:8.1f}x" if theirs is not None and ours else "        -"


def machine_state() -> str:
    """CPUs, the load when the run starts and the BLAS threads: the caveats of every time."""
    blas = os.environ["OPENBLAS_NUM_THREADS"]
    return f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start, BLAS threads {blas}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--nb-repeat", type=int, default=1, help="fits of glmer.nb (about a minute each)")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--only", default="", help="only the cases whose name contains one of these (commas)")
    ap.add_argument("--bootstrap", type=int, default=1000, help="replicates of the NB2 bootstrap (0: none)")
    args = ap.parse_args()
    cases = [c for c in CASES if any(part in c["name"] for part in args.only.split(","))]
    print(machine_state())
    r_times = {} if args.no_r else time_r(cases, args.repeat, args.nb_repeat)
    head = ("case", "mm.glmer", "glmmTMB", "TMB/ours", "glmer_nb", "glmer.nb", "nb/ours")
    print("{:<22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}".format(*head))
    for case in cases:
        ours, ours_nb = time_ours(case, args.repeat)
        theirs = r_times.get(case["name"], {})
        tmb, lme4_nb = theirs.get("glmmTMB"), theirs.get("glmer_nb")
        row = [cell(ours), cell(tmb), ratio(tmb, ours)]
        row += [cell(ours_nb), cell(lme4_nb), ratio(lme4_nb, ours_nb)] if case["nb"] else ["        -"] * 3
        print(f"{case['name']:<22} " + " ".join(row), flush=True)
    print(
        f"\nmedians of {args.repeat} fits after a warm-up; glmer.nb: median of {args.nb_repeat} fit(s), "
        "no warm-up. nb/ours: glmer.nb over mm.glmer_nb."
    )
    if args.bootstrap:
        print(bootstrap_line(args.bootstrap))


def bootstrap_line(nsim: int) -> str:
    """The parametric bootstrap (new random effects) of the Salamanders NB2 model with an
    additive fixed part, one process: the model of tests/reference/families/make_bootstrap.R,
    whose 200 glmmTMB refits took about two minutes here."""
    df = load(CASES[0])
    fit = mm.glmer("count ~ spp + mined + (1 | site)", df, family="nbinom2")
    t0 = time.perf_counter()
    mm.bootstrap(fit, nsim, seed=1, progress=False)
    seconds = time.perf_counter() - t0
    return f"bootstrap of salamanders nbinom2 (spp + mined), {nsim} replicates, one process: {seconds:.2f}s"


if __name__ == "__main__":
    main()
