"""Time every GLMM reference case: mm.glmer beside lme4's glmer (R in one process) and
mixedlm's glmer where it is installed and reads the formula (statsmodels' BinomialBayesMixedGLM
is not the same estimator: not timed).

Usage: PYTHONPATH=src python benchmarks/glmer_times.py [--repeat N] [--no-r] [--only SUBSTRING]
Cases and data are the test copies (tests/reference/glmm, tests/data). Each time is the best of
``--repeat`` fits; "-" where a package is missing or cannot fit the case (mixedlm has no
``cbind()`` responses or ``offset()`` terms).
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


def time_mixedlm(ref: dict, repeat: int) -> float | None:
    """mixedlm's glmer on the case, or None where it is not installed or cannot fit it."""
    try:
        import mixedlm
        from mixedlm import families
    except ImportError:
        return None
    df = load(ref)
    links = {"logit": families.LogitLink, "probit": families.ProbitLink, "log": families.LogLink}
    fams = {"binomial": families.Binomial, "poisson": families.Poisson}
    if ref["link"] not in links or ref["family"] not in fams:
        return None
    kw = {"weights": df[ref["weights"]].to_numpy(float)} if ref.get("weights") else {}
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fam = fams[ref["family"]](link=links[ref["link"]]())
                mixedlm.glmer(ref["formula"], df, family=fam, nAGQ=int(ref["nAGQ"]), **kw)
        except Exception:  # noqa: BLE001 - a formula or response mixedlm does not read
            return None
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
    ap.add_argument("--only", default="", help="only the cases whose name contains this")
    args = ap.parse_args()
    paths = sorted(REF.glob("*.json"))
    refs = [json.loads(p.read_text()) for p in paths if p.stem != "families" and args.only in p.stem]
    r_times = {} if args.no_r else time_lme4(refs, args.repeat)
    head = ("case", "mixedmodels", "lme4", "mixedlm", "lme4/ours", "mixedlm/ours")
    print("{:<24} {:>11} {:>8} {:>8} {:>9} {:>12}".format(*head))
    for ref in refs:
        ours = time_ours(ref, args.repeat)
        theirs = r_times.get(ref["case"])
        other = time_mixedlm(ref, args.repeat)
        cells = [f"{t:7.3f}s" if t else "       -" for t in (theirs, other)]
        ratios = [f"{t / ours:8.2f}x" if t else "        -" for t in (theirs, other)]
        line = f"{ref['case']:<24} {ours:10.3f}s {cells[0]} {cells[1]} {ratios[0]} {ratios[1]:>12}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
