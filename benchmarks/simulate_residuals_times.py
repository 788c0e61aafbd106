"""Simulated (DHARMa) residuals: mixedmodels' ``simulate_residuals`` beside lme4's ``simulate``.

    python benchmarks/simulate_residuals_times.py [--n 250] [--reps 7] [--no-r]

The model: VerbAgg's binomial GLMM ``r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)``
(7,584 rows, 316 subjects crossed with 24 items). ``simulate_residuals(fit, n)`` draws ``n``
responses per row (conditional on the random effects, our default) and computes the scaled
residuals; lme4's ``simulate(fit, n)`` (its default: new random effects) and
``simulate(fit, n, re.form = NULL)`` (conditional, what DHARMa 0.5 asks for) are timed inside
R, without start-up. DHARMa's own cost is that simulation plus the ECDF per row on top. Medians
of ``--reps`` runs, in seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rbench import run_r

import mixedmodels as mm
from mixedmodels import datasets

FORMULA = "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)"

R_SCRIPT = r"""
for (cs in cases) {
  d <- read_case(cs)
  m <- glmer(as.formula(cs$formula), d, family = binomial)
  for (what in c("unconditional", "conditional")) {
    times <- numeric(cs$reps)
    for (i in seq_len(cs$reps)) {
      t0 <- Sys.time()
      if (what == "conditional") s <- simulate(m, cs$n, re.form = NULL) else s <- simulate(m, cs$n)
      times[i] <- as.numeric(Sys.time() - t0, units = "secs")
    }
    out[[what]] <- median(times)
  }
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE))
"""


def time_ours(fit, n: int, reps: int, re_form) -> float:
    times = []
    for rep in range(reps):
        t0 = time.perf_counter()
        mm.simulate_residuals(fit, n=n, seed=rep, re_form=re_form)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=250)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()

    data = datasets.load("verbagg")
    fit = mm.glmer(FORMULA, data, family="binomial")
    mm.simulate_residuals(fit, n=args.n, seed=0)  # warm up (imports, caches)
    ours = {
        "conditional": time_ours(fit, args.n, args.reps, None),
        "unconditional": time_ours(fit, args.n, args.reps, "~0"),
    }
    cases = [
        {
            "name": "verbagg",
            "formula": FORMULA,
            "factors": ["id", "item", "r2"],
            "n": args.n,
            "reps": args.reps,
        }
    ]
    lme4 = {} if args.no_r else run_r(R_SCRIPT, cases)

    print(
        f"VerbAgg binomial GLMM, {len(data)} rows, n = {args.n} simulations; median of {args.reps} runs (s)"
    )
    print(f"{'':<15}{'mm.simulate_residuals':>24}{'lme4 simulate':>16}")
    for what in ("conditional", "unconditional"):
        r = lme4.get(what)
        r_text = f"{r:16.3f}" if r is not None else f"{'-':>16}"
        print(f"{what:<15}{ours[what]:24.3f}{r_text}")


if __name__ == "__main__":
    main()
