"""Parametric bootstrap time: mixedmodels beside lme4's bootMer and mixedlm's bootMer.

    python benchmarks/bootstrap_times.py [--nsim 10000] [--r-nsim 200] [--peer-nsim 500] [--no-r]

mixedmodels runs the full ``--nsim`` replicates (median of 3 runs, one process). lme4's
``bootMer(fit, fixef, nsim, use.u)`` and mixedlm's ``bootMer`` run fewer replicates and are
scaled up to ``--nsim`` (per-replicate cost is constant). lme4 is timed inside R, without
start-up, with whatever BLAS R is linked to.
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
]

R_SCRIPT = r"""
for (cs in cases) {
  d <- read_case(cs)
  m <- lmer(as.formula(cs$formula), d)
  for (u in c(FALSE, TRUE)) {
    t0 <- Sys.time()
    b <- bootMer(m, fixef, nsim = cs$nsim, use.u = u, seed = 1)
    out[[paste(cs$name, u)]] <- as.numeric(Sys.time() - t0, units = "secs") / cs$nsim
  }
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE))
"""


def time_ours(fit, nsim: int, use_u: bool) -> tuple[float, object]:
    times, boot = [], None
    for rep in range(3):
        t0 = time.perf_counter()
        boot = mm.bootstrap(fit, nsim, use_u=use_u, seed=rep, progress=False)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), boot


def time_lme4(nsim: int) -> dict:
    cases = [{"name": n, "formula": f, "factors": fs, "nsim": nsim} for n, f, fs in MODELS]
    return run_r(R_SCRIPT, cases)


def time_mixedlm(nsim: int) -> dict:
    try:
        import mixedlm
    except ImportError:
        return {}
    out = {}
    for name, formula, factors in MODELS:
        data = datasets.load(name)
        for col in factors:
            data[col] = data[col].cat.codes
        model = mixedlm.lmer(formula, data)
        t0 = time.perf_counter()
        mixedlm.bootMer(model, nsim=nsim, seed=1)
        out[name] = (time.perf_counter() - t0) / nsim
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsim", type=int, default=10_000)
    ap.add_argument("--r-nsim", type=int, default=200)
    ap.add_argument("--peer-nsim", type=int, default=500)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    lme4 = {} if args.no_r else time_lme4(args.r_nsim)
    peer = time_mixedlm(args.peer_nsim)
    print(f"seconds for {args.nsim} replicates (lme4 and mixedlm timed on fewer and scaled)")
    print(f"{'model':<12} {'use_u':<6} {'mixedmodels':>11} {'lme4':>9} {'ratio':>7} {'mixedlm':>9}  sd(Int)")
    for name, formula, _ in MODELS:
        fit = mm.lmer(formula, datasets.load(name))
        for use_u in (False, True):
            ours, boot = time_ours(fit, args.nsim, use_u)
            r = lme4.get(f"{name} {str(use_u).upper()}")
            r_total = r * args.nsim if r else None
            p = peer.get(name) * args.nsim if (peer.get(name) and not use_u) else None
            print(
                f"{name:<12} {str(use_u):<6} {ours:10.2f}s {(f'{r_total:8.1f}s' if r_total else '-'):>9} "
                f"{(f'{r_total / ours:6.0f}x' if r_total else '-'):>7} {(f'{p:8.1f}s' if p else '-'):>9}  "
                f"{boot.sd()['(Intercept)']:.4f}"
            )


if __name__ == "__main__":
    main()
