"""Profile-likelihood time: mixedmodels' ``fit.profile()`` beside lme4's ``profile(fit)``.

    python benchmarks/profile_times.py [--repeat 5] [--no-r]

Median of ``--repeat`` runs of the whole profile of every parameter (the fit itself excluded),
lme4 timed inside one R process.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rbench import run_r

import mixedmodels as mm
from mixedmodels import datasets

MODELS = [
    ("seed", "y ~ x + (1 | p)", ["p"]),
    ("sleepstudy", "Reaction ~ Days + (Days | Subject)", ["Subject"]),
    ("dyestuff", "Yield ~ 1 + (1 | Batch)", ["Batch"]),
    ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", ["plate", "sample"]),
]

R_SCRIPT = r"""
for (cs in cases) {
  d <- read_case(cs)
  m <- lmer(as.formula(cs$formula), d)
  times <- numeric(0)
  for (i in seq_len(cs$repeat_n)) {
    t0 <- Sys.time(); p <- profile(m); times <- c(times, as.numeric(Sys.time() - t0, units = "secs"))
  }
  out[[cs$name]] <- median(times)
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE))
"""


def time_lme4(repeat: int) -> dict:
    cases = [{"name": n, "formula": f, "factors": fs, "repeat_n": repeat} for n, f, fs in MODELS]
    return run_r(R_SCRIPT, cases)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    lme4 = {} if args.no_r else time_lme4(args.repeat)
    print("median seconds for the profile of every parameter")
    print(f"{'model':<12} {'mixedmodels':>11} {'lme4':>8} {'ratio':>6}")
    for name, formula, _ in MODELS:
        fit = mm.lmer(formula, datasets.load(name))
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fit.profile(progress=False)
            times.append(time.perf_counter() - t0)
        ours = float(np.median(times))
        r = lme4.get(name)
        ratio = f"{r / ours:5.1f}x" if r else "-"
        print(f"{name:<12} {ours:10.3f}s {(f'{r:7.3f}s' if r else '-'):>8} {ratio:>6}")


if __name__ == "__main__":
    main()
