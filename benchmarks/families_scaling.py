"""Brooks et al. (2017)'s scaling design: the Salamanders NB2 model on the data replicated,
mm.glmer(family="nbinom2") beside glmmTMB's nbinom2.

    PYTHONPATH=src python benchmarks/families_scaling.py [--factors 1,2,...,10] [--repeat 3] [--no-r]

Model: ``count ~ spp * mined + (1 | site)`` on the Salamanders data (tests/data/salamanders.csv,
644 rows, 23 sites), replicated ``k`` times in two ways, as in the timing figure of Brooks et al.
(2017, The R Journal 9(2), "glmmTMB balances speed and flexibility ..."):

- rows: every row repeated ``k`` times, the same 23 sites (more observations per site);
- sites: ``k`` copies of the data, each with its own site levels (``site`` renamed per copy:
  ``23 k`` sites).

Each time is the median of ``--repeat`` fits after one warm-up fit; glmmTMB runs in one R
process for every design and factor. Prints a table and saves a plot (log time against the
factor, both designs, both packages) to docs/_generated/families_scaling.png (``--plot``).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
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
DATA = ROOT / "tests" / "data" / "salamanders.csv"
PLOT = ROOT / "docs" / "_generated" / "families_scaling.png"
FORMULA = "count ~ spp * mined + (1 | site)"
FACTORS = ["site", "mined", "spp"]
DESIGNS = ("rows", "sites")

R_SCRIPT = r"""
suppressPackageStartupMessages(library(glmmTMB))
cs <- cases[[1]]
base <- read.csv(cs$path)
replicate_data <- function(design, k) {
  if (design == "rows") {
    d <- base[rep(seq_len(nrow(base)), times = k), ]
  } else {
    d <- do.call(rbind, lapply(seq_len(k), function(i) transform(base, site = paste(site, i, sep = "_"))))
  }
  for (f in unlist(cs$factors)) d[[f]] <- factor(d[[f]])
  d
}
f <- as.formula(cs$formula)
for (design in unlist(cs$designs)) {
  res <- list()
  for (k in unlist(cs$ks)) {
    d <- replicate_data(design, k)
    fit <- function() suppressWarnings(glmmTMB(f, data = d, family = nbinom2))
    fit()
    times <- numeric(0)
    for (i in seq_len(cs$repeat_n)) {
      t0 <- Sys.time(); fit(); times <- c(times, as.numeric(Sys.time() - t0, units = "secs"))
    }
    res[[as.character(k)]] <- median(times)
  }
  out[[design]] <- res
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def replicate(data: pd.DataFrame, design: str, k: int) -> pd.DataFrame:
    """The data replicated ``k`` times: every row repeated ("rows") or new sites per copy ("sites")."""
    if design == "rows":
        out = data.loc[data.index.repeat(k)].reset_index(drop=True)
    else:
        copies = [data.assign(site=data["site"].astype(str) + f"_{i}") for i in range(1, k + 1)]
        out = pd.concat(copies, ignore_index=True)
    for col in FACTORS:
        out[col] = pd.Categorical(out[col].astype(str))
    return out


def time_ours(data: pd.DataFrame, design: str, k: int, repeat: int) -> float:
    """Median of ``repeat`` fits of the NB2 model on the replicated data, after a warm-up."""
    d = replicate(data, design, k)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mm.glmer(FORMULA, d, family="nbinom2")
        for _ in range(repeat):
            t0 = time.perf_counter()
            mm.glmer(FORMULA, d, family="nbinom2")
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def time_glmmtmb(data: pd.DataFrame, ks: list[int], repeat: int) -> dict:
    """glmmTMB's medians, ``{design: {str(k): seconds}}``, from one R process; {} without R."""
    spec = [{"name": "salamanders", "formula": FORMULA, "factors": FACTORS, "designs": list(DESIGNS),
             "ks": ks, "repeat_n": repeat}]  # fmt: skip
    return run_r(R_SCRIPT, spec, frames={"salamanders": data})


def plot(ks: list[int], ours: dict, theirs: dict, path: Path) -> None:
    """Log time against the replication factor: both designs, both packages."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {"rows": "-", "sites": "--"}
    for design in DESIGNS:
        ax.plot(ks, [ours[design][k] for k in ks], styles[design], marker="o", color="C0",
                label=f"mixedmodels, {design}")  # fmt: skip
        if theirs.get(design):
            ax.plot(ks, [theirs[design][str(k)] for k in ks], styles[design], marker="s", color="C1",
                    label=f"glmmTMB, {design}")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("replication factor")
    ax.set_ylabel("time to fit (s, log scale)")
    ax.set_title("Salamanders NB2, count ~ spp * mined + (1 | site)")
    ax.set_xticks(ks)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def machine_state() -> str:
    """CPUs, the load when the run starts and the BLAS threads: the caveats of every time."""
    blas = os.environ["OPENBLAS_NUM_THREADS"]
    return f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start, BLAS threads {blas}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--factors", default="1,2,3,4,5,6,7,8,9,10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--plot", default=str(PLOT))
    args = ap.parse_args()
    ks = [int(k) for k in args.factors.split(",")]
    print(machine_state())
    data = pd.read_csv(DATA)
    theirs = {} if args.no_r else time_glmmtmb(data, ks, args.repeat)
    ours: dict = {design: {} for design in DESIGNS}
    head = ("factor", "nobs", "rows:ours", "glmmTMB", "ratio", "sites:ours", "glmmTMB", "ratio")
    print("{:>6} {:>6} {:>10} {:>9} {:>7} {:>10} {:>9} {:>7}".format(*head))
    for k in ks:
        cells = [f"{k:>6}", f"{len(data) * k:>6}"]
        for design in DESIGNS:
            ours[design][k] = time_ours(data, design, k, args.repeat)
            tmb = theirs.get(design, {}).get(str(k))
            cells.append(f"{ours[design][k]:9.3f}s")
            cells.append(
                f"{tmb:8.3f}s {tmb / ours[design][k]:6.1f}x" if tmb is not None else f"{'-':>9} {'-':>7}"
            )
        print(" ".join(cells), flush=True)
    print(f"\nmedians of {args.repeat} fits after a warm-up; sites: 23 in 'rows', 23 x factor in 'sites'")
    plot(ks, ours, theirs, Path(args.plot))
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
