"""Kenward-Roger timings: ours beside pbkrtest 0.5.2 (through lmerTest 3.1-3) on this machine.

    PYTHONPATH=src python benchmarks/kr_times.py [--repeat 5] [--r-big]

Cases: sleepstudy ``(Days | Subject)``, cake ``recipe * temp + (1 | recipe:replicate)``, and a
generated model with a few thousand rows and a few hundred levels (fixed seed; the same CSV is
read by R). Each cell is the median of the repeats, the model already fitted:

- ours, coef table: ``KenwardRoger(fit)`` and its t tests (``coef_table("KR")`` on a new object);
- ours, type III: ``KenwardRoger(fit)`` and ``anova(type=3, ddf="KR")``;
- R: ``summary(m, ddf = "Kenward-Roger")`` (lmerTest calls ``vcovAdj`` once per coefficient),
  ``anova(m, type = 3, ddf = "Kenward-Roger")`` and ``pbkrtest::vcovAdj(m)`` alone; on the
  generated case only ``vcovAdj``, once, and only with ``--r-big`` (it forms n x n matrices).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from rbench import run_r

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.inference.anova import coef_table
from mixedmodels.inference.kenward_roger import KenwardRoger

R_SCRIPT = r"""
suppressPackageStartupMessages({ library(lmerTest); library(pbkrtest) })
for (cs in cases) {
  d <- read_case(cs)
  m <- lmerTest::lmer(as.formula(cs$formula), d)
  reps <- cs$reps
  times <- list(vcovAdj = median(replicate(reps, system.time(vcovAdj(m))[["elapsed"]])))
  if (is.null(cs$big)) {
    times$summary <- median(replicate(reps, system.time(summary(m, ddf = "Kenward-Roger"))[["elapsed"]]))
    kr3 <- function() anova(m, type = 3, ddf = "Kenward-Roger")
    times$anova3 <- median(replicate(reps, system.time(kr3())[["elapsed"]]))
  }
  out[[cs$name]] <- times
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def generated(seed: int = 20240601, n: int = 4000, groups: int = 300, crossed: int = 40) -> pd.DataFrame:
    """An unbalanced model: a random slope over ``groups`` levels crossed with ``crossed`` more."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, n)
    h = rng.integers(0, crossed, n)
    x = rng.normal(size=n)
    f = rng.choice(list("abcd"), n, p=[0.4, 0.3, 0.2, 0.1])
    b0, b1, c0 = rng.normal(0, 1.0, groups), rng.normal(0, 0.5, groups), rng.normal(0, 0.7, crossed)
    effect = {"a": 0.0, "b": 0.5, "c": -0.3, "d": 0.2}
    y = 1 + 0.8 * x + np.vectorize(effect.get)(f) + b0[g] + b1[g] * x + c0[h] + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x": x, "f": f, "g": [f"g{i}" for i in g], "h": [f"h{i}" for i in h]})


CASES = [
    {"name": "sleepstudy", "formula": "Reaction ~ Days + (Days | Subject)", "factors": ["Subject"]},
    {"name": "cake", "formula": "angle ~ recipe * temp + (1 | recipe:replicate)", "factors": ["recipe"]},
    {
        "name": "generated",
        "formula": "y ~ x * f + (x | g) + (1 | h)",
        "factors": ["f", "g", "h"],
        "big": True,
    },
]


def case_data(case: dict) -> pd.DataFrame:
    return generated() if case["name"] == "generated" else datasets.load(case["name"])


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_ours(fit, repeat: int) -> dict[str, float]:
    def table():
        fit.__dict__.pop("kenward_roger", None)
        coef_table(fit, "KR")

    def anova3():
        fit.__dict__.pop("kenward_roger", None)
        fit.anova(type=3, ddf="KR")

    KenwardRoger(fit)  # warm-up (imports, caches of the fit itself)
    return {"table": median_time(table, repeat), "anova3": median_time(anova3, repeat)}


def time_r(cases: list[dict], frames: dict[str, pd.DataFrame]) -> dict:
    """pbkrtest's timings from one R process; {} without R."""
    return run_r(R_SCRIPT, cases, frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--r-big",
        action="store_true",
        help="time pbkrtest on the generated case too (one vcovAdj alone: ~7 minutes here; the "
        "summary and the table call it once per coefficient and per term, so they are not timed)",
    )
    args = parser.parse_args()
    frames = {c["name"]: case_data(c) for c in CASES}
    ours, shapes = {}, {}
    for case in CASES:
        fit = mm.lmer(case["formula"], frames[case["name"]])
        ours[case["name"]] = time_ours(fit, args.repeat)
        shapes[case["name"]] = f"n={fit.nobs}, q={sum(t.q for t in fit.pls.reterms)}, p={fit.pls.p}"
    r_cases = [
        {**c, "reps": 1 if c.get("big") else args.repeat} for c in CASES if args.r_big or not c.get("big")
    ]
    theirs = time_r(r_cases, frames)
    header = f"{'case':<12}{'shape':<26}{'ours table':>11}{'R summary':>11}{'ratio':>8}"
    header += f"{'ours anova3':>12}{'R anova3':>10}{'ratio':>8}{'R vcovAdj':>11}"
    print(header)
    for case in CASES:
        name, o, r = case["name"], ours[case["name"]], theirs.get(case["name"], {})
        row = f"{name:<12}{shapes[name]:<26}{o['table']:>10.4f}s"
        row += f"{_fmt(r.get('summary'))}{_ratio(r.get('summary'), o['table'])}"
        row += f"{o['anova3']:>11.4f}s{_fmt(r.get('anova3'), 10)}{_ratio(r.get('anova3'), o['anova3'])}"
        row += _fmt(r.get("vcovAdj"))
        print(row)
    print("(medians of the repeats; ratio: R's time over ours; R without the model fit)")


def _fmt(seconds: float | None, width: int = 11) -> str:
    return f"{'-':>{width}}" if seconds is None else f"{seconds:>{width - 1}.3f}s"


def _ratio(r: float | None, ours: float) -> str:
    return f"{'-':>8}" if r is None else f"{r / ours:>7.0f}x"


if __name__ == "__main__":
    main()
