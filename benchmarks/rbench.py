"""Running a timing script in R (lme4) from the benchmarks: one R process, JSON back."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from mixedmodels import datasets

R_PREAMBLE = r"""
suppressPackageStartupMessages(library(lme4))
cases <- jsonlite::fromJSON(commandArgs(TRUE)[1], simplifyVector = FALSE)
read_case <- function(cs) {
  d <- read.csv(cs$path)
  for (f in unlist(cs$factors)) d[[f]] <- factor(d[[f]])
  d
}
out <- list()
"""


def run_r(script: str, cases: list[dict], frames: dict | None = None) -> dict:
    """Run ``script`` with ``cases`` (each with a data set ``name``) as JSON; {} without R.

    Each case gets ``path``, its data written as CSV (``frames[name]`` when given, else the
    shipped data set of that name), before R reads the list.
    The script runs after R_PREAMBLE, which defines ``cases``, ``read_case(cs)`` (its data with
    the ``factors`` as factors) and an empty ``out``.
    """
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            path = Path(tmp) / f"{case['name']}.csv"
            data = frames[case["name"]] if frames is not None else datasets.load(case["name"])
            data.to_csv(path, index=False)
            case["path"] = str(path)
        (Path(tmp) / "spec.json").write_text(json.dumps(cases))
        (Path(tmp) / "script.R").write_text(R_PREAMBLE + script)
        proc = subprocess.run(
            ["Rscript", str(Path(tmp) / "script.R"), str(Path(tmp) / "spec.json")],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        print(f"R failed: {proc.stderr.strip()[-300:]}")
        return {}
    return json.loads(proc.stdout)
