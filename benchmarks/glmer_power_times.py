"""Time power by simulation for a glmer fit: mm.power beside a simr-style loop in R, per replicate.

Usage: PYTHONPATH=src python benchmarks/glmer_power_times.py [--nsim N] [--r-nsim M] [--no-r]

Case: cbpp, ``cbind(incidence, size - incidence) ~ period + (1 | herd)``, term ``period2`` set to
``--effect`` (-0.8). Ours: ``mm.power(fit, "period2", effect, nsim, test=...)`` for the Wald z
test and the likelihood-ratio test, one process, the median of ``--repeat`` runs. R (what
simr's ``powerSim`` does for each replicate, without simr): responses from
``simulate(fit, newparams = ...)`` with the effect, then ``refit`` and ``summary`` (z) or
``refit`` of both models and ``anova`` (lrt), ``M`` replicates in one R process, lme4 on the
same machine. Times are per replicate; "-" where R is not installed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings

import numpy as np
from rbench import run_r

import mixedmodels as mm
from mixedmodels.datasets import load

FORMULA = "cbind(incidence, size - incidence) ~ period + (1 | herd)"

R_SCRIPT = r"""
cs <- cases[[1]]
d <- read_case(cs)
d$p3 <- as.numeric(d$period == 3)
d$p4 <- as.numeric(d$period == 4)
fit <- glmer(as.formula(cs$formula), d, family = binomial)
fit0 <- glmer(cbind(incidence, size - incidence) ~ p3 + p4 + (1 | herd), d, family = binomial)
beta <- fixef(fit)
beta["period2"] <- cs$effect
set.seed(1)
ys <- simulate(fit, nsim = cs$nsim, newparams = list(beta = beta, theta = getME(fit, "theta")))
for (test in c("z", "lrt")) {
  p <- numeric(cs$nsim)
  t0 <- Sys.time()
  for (i in seq_len(cs$nsim)) {
    m1 <- suppressWarnings(suppressMessages(refit(fit, ys[[i]])))
    if (test == "z") {
      p[i] <- summary(m1)$coefficients["period2", "Pr(>|z|)"]
    } else {
      m0 <- suppressWarnings(suppressMessages(refit(fit0, ys[[i]])))
      p[i] <- suppressMessages(anova(m0, m1))[2, "Pr(>Chisq)"]
    }
  }
  out[[test]] <- list(time = as.numeric(Sys.time() - t0, units = "secs") / cs$nsim, power = mean(p < 0.05))
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def time_ours(fit, test: str, effect: float, nsim: int, repeat: int) -> tuple[float, float]:
    """Seconds per replicate (median of ``repeat`` runs) and the power."""
    times, power = [], np.nan
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = mm.power(fit, "period2", effect, nsim=nsim, test=test, seed=1, progress=False)
        times.append((time.perf_counter() - t0) / nsim)
        power = result.power
    return statistics.median(times), power


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsim", type=int, default=500)
    parser.add_argument("--r-nsim", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--effect", type=float, default=-0.8)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    data = load("cbpp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mm.glmer(FORMULA, data, family="binomial")
    ours = {test: time_ours(fit, test, args.effect, args.nsim, args.repeat) for test in ("z", "lrt")}
    case = {"name": "cbpp", "formula": FORMULA, "factors": ["herd", "period"], "nsim": args.r_nsim}
    r = {} if args.no_r else run_r(R_SCRIPT, [{**case, "effect": args.effect}], {"cbpp": data})
    print(
        f"cbpp, period2 = {args.effect:g}; per replicate; ours: {args.nsim} replicates "
        f"(median of {args.repeat}); R loop (simulate, refit, summary/anova): {args.r_nsim}"
    )
    print(f"{'test':6}{'ours':>12}{'R loop':>12}{'R/ours':>10}{'power ours':>12}{'power R':>10}")
    for test, (seconds, power) in ours.items():
        rr = r.get(test)
        cells = (
            [f"{rr['time'] * 1000:.1f}ms", f"{rr['time'] / seconds:.0f}x", f"{rr['power']:.3f}"]
            if rr
            else ["-"] * 3
        )
        print(f"{test:6}{seconds * 1000:>10.2f}ms{cells[0]:>12}{cells[1]:>10}{power:>12.3f}{cells[2]:>10}")
    print(json.dumps({"ours": ours, "r": r}))


if __name__ == "__main__":
    main()
