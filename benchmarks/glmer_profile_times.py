"""glmer profile time: mixedmodels' ``fit.profile().confint()`` and ``fit.confint()`` beside lme4's
``confint(profile(fit))`` (what lme4's ``confint(fit)`` does).

    PYTHONPATH=src python benchmarks/glmer_profile_times.py [--repeat 5] [--no-r] [--cases a,b]

Median of ``--repeat`` runs of the profile of every parameter and its 95% intervals (the fit
itself excluded); lme4 timed inside one R process. Cases and data are the tests' copies
(tests/reference/glmm/profile, tests/data).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from rbench import run_r

import mixedmodels as mm

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference" / "glmm" / "profile"
DATA = ROOT / "tests" / "data"
DEFAULT_CASES = "cbpp_laplace,cbpp_agq25,poisson_offset_slopes"

R_SCRIPT = r"""
for (cs in cases) {
  d <- read_case(cs)
  m <- glmer(as.formula(cs$formula), data = d, family = get(cs$family), nAGQ = cs$nAGQ)
  times <- numeric(0)
  for (i in seq_len(cs$repeat_n)) {
    t0 <- Sys.time(); ci <- suppressWarnings(confint(profile(m)))
    times <- c(times, as.numeric(Sys.time() - t0, units = "secs"))
  }
  out[[cs$name]] <- median(times)
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def load(ref: dict) -> pd.DataFrame:
    df = pd.read_csv(DATA / ref["data"])
    for col in ref.get("factors") or []:
        df[col] = pd.Categorical(df[col].astype(str))
    return df


def median_seconds(run, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_ours(fit, repeat: int) -> tuple[float, float]:
    """Medians of ``fit.profile().confint()`` and of ``fit.confint()`` (traces only to the level)."""
    full = median_seconds(lambda: fit.profile(progress=False).confint(), repeat)
    alone = median_seconds(lambda: fit.confint(progress=False), repeat)
    return full, alone


def time_lme4(refs: list[dict], repeat: int) -> dict:
    cases = [
        {"name": r["case"], "formula": r["formula"], "family": r["family"], "nAGQ": r["nAGQ"],
         "factors": r.get("factors") or [], "repeat_n": repeat}
        for r in refs
    ]  # fmt: skip
    return run_r(R_SCRIPT, cases, frames={r["case"]: pd.read_csv(DATA / r["data"]) for r in refs})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument(
        "--cases", default=DEFAULT_CASES, help="comma-separated names in tests/reference/glmm/profile"
    )
    args = ap.parse_args()
    refs = [json.loads((REF / f"{name}.json").read_text()) for name in args.cases.split(",")]
    lme4 = {} if args.no_r else time_lme4(refs, args.repeat)
    print(f"median seconds of {args.repeat} runs: the profile of every parameter and its 95% intervals")
    head = ("case", "profile+confint", "confint", "lme4", "lme4/profile", "lme4/confint")
    print("{:<22} {:>15} {:>8} {:>8} {:>12} {:>12}".format(*head))
    for ref in refs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mm.MixedModelsWarning)
            fit = mm.glmer(ref["formula"], load(ref), family=ref["family"], nagq=int(ref["nAGQ"]))
            full, alone = time_ours(fit, args.repeat)
        r = lme4.get(ref["case"])
        cells = f"{r:7.3f}s {r / full:11.1f}x {r / alone:11.1f}x" if r else f"{'-':>8} {'-':>12} {'-':>12}"
        print(f"{ref['case']:<22} {full:14.3f}s {alone:7.3f}s {cells}", flush=True)


if __name__ == "__main__":
    main()
