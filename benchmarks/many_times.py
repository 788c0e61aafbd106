"""lmer_many against loops of single fits: ours one at a time and lme4's in one R process.

Two designs, 2,000 responses each: sleepstudy (``~ Days + (Days | Subject)``, responses
simulated from its fit) and a genomics-shaped one (300 samples, 30 donors, 6 batches, a
condition and age; ``~ cond + age + (1 | donor) + (1 | batch)``). Per-response times are
medians of repeats; our loop times 100 fits, lme4's loop 200 fits.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
from rbench import run_r

import mixedmodels as mm
from mixedmodels import datasets

N_RESPONSES, N_OURS, N_R = 2000, 100, 200

R_SCRIPT = r"""
for (cs in cases) {
  d <- read_case(cs)
  ys <- grep("^resp_", names(d), value = TRUE)
  f <- as.formula(paste("y", cs$rhs))
  t0 <- proc.time()[["elapsed"]]
  for (y in ys) { d$y <- d[[y]]; suppressMessages(lmer(f, d)) }
  out[[cs$name]] <- (proc.time()[["elapsed"]] - t0) / length(ys)
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def sleep_design(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, str]:
    data = datasets.load("sleepstudy")
    rhs = "~ Days + (Days | Subject)"
    fit = mm.lmer("Reaction " + rhs, data)
    return data, fit.simulate(N_RESPONSES, seed=int(rng.integers(1 << 31))).to_numpy(), rhs


def genomics_design(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray, str]:
    n, donors, batches = 300, 30, 6
    data = pd.DataFrame(
        {
            "donor": [f"d{i}" for i in np.repeat(np.arange(donors), n // donors)],
            "batch": [f"b{i}" for i in rng.integers(batches, size=n)],
            "cond": np.tile(["ctrl", "treat"], n // 2),
            "age": rng.normal(50, 10, size=n),
        }
    )
    d_idx = np.repeat(np.arange(donors), n // donors)
    b_idx = data["batch"].str[1:].astype(int).to_numpy()
    sd_d, sd_b = rng.uniform(0, 1.5, N_RESPONSES), rng.uniform(0, 1.0, N_RESPONSES)
    effect = rng.normal(0, 0.5, N_RESPONSES) * rng.binomial(1, 0.2, N_RESPONSES)
    Y = (
        5.0
        + np.outer(data["cond"].eq("treat").to_numpy(), effect)
        + (rng.normal(size=(donors, N_RESPONSES)) * sd_d)[d_idx]
        + (rng.normal(size=(batches, N_RESPONSES)) * sd_b)[b_idx]
        + rng.normal(size=(n, N_RESPONSES))
    )
    return data, Y, "~ cond + age + (1 | donor) + (1 | batch)"


def time_ours(data: pd.DataFrame, Y: np.ndarray, rhs: str, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        mm.lmer_many(rhs, data, Y, progress=False)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / Y.shape[1]


def time_loop(data: pd.DataFrame, Y: np.ndarray, rhs: str) -> float:
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for j in range(N_OURS):
            t0 = time.perf_counter()
            mm.lmer("y " + rhs, data.assign(y=Y[:, j]))
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(2026)
    designs = {"sleepstudy": sleep_design(rng), "genomics": genomics_design(rng)}
    frames, cases = {}, []
    for name, (data, Y, rhs) in designs.items():
        resp = pd.DataFrame(Y[:, :N_R], columns=[f"resp_{j}" for j in range(N_R)])
        frames[name] = pd.concat([data.reset_index(drop=True), resp], axis=1)
        factors = ["Subject"] if name == "sleepstudy" else ["donor", "batch", "cond"]
        cases.append({"name": name, "rhs": rhs, "factors": factors})
    r_times = run_r(R_SCRIPT, cases, frames)
    rows = []
    for name, (data, Y, rhs) in designs.items():
        ours, loop = time_ours(data, Y, rhs), time_loop(data, Y, rhs)
        lme4 = r_times.get(name, float("nan"))
        rows.append(
            {
                "design": name,
                "lmer_many ms/resp": 1e3 * ours,
                "our loop ms/fit": 1e3 * loop,
                "lme4 loop ms/fit": 1e3 * lme4,
                "x our loop": loop / ours,
                "x lme4": lme4 / ours,
                f"lmer_many {N_RESPONSES} s": ours * N_RESPONSES,
                f"lme4 {N_RESPONSES} s (est.)": lme4 * N_RESPONSES,
            }
        )
    print(pd.DataFrame(rows).set_index("design").round(3).to_string())


if __name__ == "__main__":
    main()
