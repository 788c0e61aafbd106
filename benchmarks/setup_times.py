"""Time glmer's set-up before the optimizer: parsing the formula, reading the response (``cbind``
included) and building the design (:func:`mixedmodels.families.response.response_design`), per
GLMM reference case.

Usage: PYTHONPATH=src python benchmarks/setup_times.py [--repeat N] [--only SUBSTRING]
Cases and data are the test copies (tests/reference/glmm, tests/data). Each time is the best of
``--repeat`` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import pandas as pd

from mixedmodels.families import family as make_family
from mixedmodels.families.response import response_design
from mixedmodels.formula.terms import parse_formula

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference" / "glmm"
DATA = ROOT / "tests" / "data"


def load(ref: dict) -> pd.DataFrame:
    """The case's data, its factor columns categorical (as the tests read them)."""
    df = pd.read_csv(DATA / ref["data"])
    for col in ref.get("factors") or []:
        df[col] = pd.Categorical(df[col].astype(str) if df[col].dtype == object else df[col])
    return df


def setup_time(ref: dict, repeat: int) -> float:
    """Best time, in seconds, of the formula-to-design stage of ``mm.glmer`` for one case."""
    df, fam = load(ref), make_family(ref["family"], ref["link"])
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parse_formula(ref["formula"])
            response_design(parsed, df, fam, weights=ref.get("weights"), residual=False)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    for path in sorted(REF.glob("*.json")):
        ref = json.loads(path.read_text())
        if "formula" not in ref or args.only not in path.stem:
            continue
        rows = len(load(ref))
        print(f"{path.stem:24s} {rows:6d} rows  {1e3 * setup_time(ref, args.repeat):7.2f} ms")


if __name__ == "__main__":
    main()
