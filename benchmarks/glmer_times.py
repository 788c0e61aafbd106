"""Time every GLMM reference case: mm.glmer beside lme4's glmer (R in one process) and
mixedlm (statsmodels' BinomialBayesMixedGLM is not the same estimator: not timed).

Usage: PYTHONPATH=src python benchmarks/glmer_times.py [--repeat N] [--no-r]
Cases and data are the test copies (tests/reference/glmm, tests/data).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import mixedmodels as mm

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference" / "glmm"
DATA = ROOT / "tests" / "data"

R_SCRIPT = r"""
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
cases <- fromJSON(commandArgs(TRUE)[1], simplifyVector = FALSE)
out <- list()
for (cs in cases) {
  d <- read.csv(cs$path)
  for (f in unlist(cs$factors)) d[[f]] <- factor(d[[f]])
  fam <- get(cs$family)(link = cs$link)
  args <- list(formula = as.formula(cs$formula), data = d, family = fam, nAGQ = cs$nAGQ)
  if (!is.null(cs$weights)) args$weights <- d[[cs$weights]]
  best <- Inf
  for (r in seq_len(cs$reps)) { t0 <- Sys.time(); m <- do.call(glmer, args)
    best <- min(best, as.numeric(Sys.time() - t0, units = "secs")) }
  out[[cs$case]] <- best
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), commandArgs(TRUE)[2])
"""


def load(ref: dict) -> pd.DataFrame:
    df = pd.read_csv(DATA / ref["data"])
    for col in ref.get("factors") or []:
        df[col] = pd.Categorical(df[col].astype(str) if df[col].dtype == object else df[col])
    return df


def time_ours(ref: dict, repeat: int) -> float:
    df = load(ref)
    kw = {"weights": ref["weights"]} if ref.get("weights") else {}
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mm.glmer(ref["formula"], df, family=ref["family"], link=ref["link"], nagq=int(ref["nAGQ"]), **kw)
        best = min(best, time.perf_counter() - t0)
    return best


def time_lme4(refs: list[dict], repeat: int) -> dict:
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        spec = [{**{k: r[k] for k in ("case", "formula", "family", "link", "nAGQ", "weights", "factors")},
                 "path": str(DATA / r["data"]), "reps": repeat} for r in refs]  # fmt: skip
        (Path(tmp) / "spec.json").write_text(json.dumps(spec))
        (Path(tmp) / "script.R").write_text(R_SCRIPT)
        out = Path(tmp) / "out.json"
        subprocess.run(
            ["Rscript", str(Path(tmp) / "script.R"), str(Path(tmp) / "spec.json"), str(out)], check=True
        )
        return json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args()
    refs = [json.loads(p.read_text()) for p in sorted(REF.glob("*.json")) if p.stem != "families"]
    r_times = {} if args.no_r else time_lme4(refs, args.repeat)
    print(f"{'case':<26} {'mixedmodels':>12} {'lme4':>10} {'ratio':>8}")
    for ref in refs:
        ours = time_ours(ref, args.repeat)
        theirs = r_times.get(ref["case"])
        ratio = f"{theirs / ours:7.2f}x" if theirs else "      -"
        shown = f"{theirs:9.3f}s" if theirs else "        -"
        print(f"{ref['case']:<26} {ours:11.3f}s {shown} {ratio}", flush=True)


if __name__ == "__main__":
    main()
