"""Fit time of every reference case: mixedmodels beside lme4 (R) and installed Python peers.

    python benchmarks/fit_times.py [--repeat 7] [--only CASE] [--no-r] [--peers lme-python]

Each time is the median of ``--repeat`` runs of a whole fit from formula and DataFrame
(formula parsing and model matrices included); mixedmodels and the Python peers are run in
interleaved rounds, so that a shared machine's load falls on all of them alike. lme4 is timed
inside one R process (no start-up), ``lmer(formula, data, REML = ...)`` with whatever BLAS R
is linked to (Debian's libopenblas0-pthread makes that OpenBLAS). Peers are timed only when
importable and only on models they can express.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from rbench import run_r

import mixedmodels as mm
from mixedmodels import datasets

REFERENCE = Path(__file__).resolve().parent.parent / "tests" / "reference"

R_SCRIPT = r"""
for (cs in cases) {
  d <- read_case(cs)
  fo <- as.formula(cs$formula)
  times <- numeric(0)
  for (i in seq_len(cs$repeat_n)) {
    t0 <- Sys.time()
    m <- lmer(fo, d, REML = cs$REML)
    times <- c(times, as.numeric(Sys.time() - t0, units = "secs"))
  }
  out[[cs$case]] <- median(times)
}
blas <- sessionInfo()$BLAS
cat(jsonlite::toJSON(list(times = out, blas = blas), auto_unbox = TRUE))
"""


def median_times(fits: dict, repeat: int) -> dict[str, float]:
    """Median wall time of each function of ``fits``, run in ``repeat`` interleaved rounds (each
    round in a rotated order), so that the load of a shared machine falls on all of them alike."""
    names = list(fits)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(repeat):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            fits[name]()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(values)) for name, values in times.items()}


def load_cases(only: str) -> list[dict]:
    cases = []
    for path in sorted(REFERENCE.glob("*.json")):
        ref = json.loads(path.read_text())
        if "case" not in ref or "coef" in ref or only not in ref["case"]:
            continue
        cases.append(ref)
    return cases


def case_data(ref: dict):
    return datasets.load(ref["data"].removesuffix(".csv"))


def time_lme4(cases: list[dict], repeat: dict) -> tuple[dict, str]:
    spec = []
    for ref in cases:
        parsed = mm.formula.terms.parse_formula(ref["formula"])
        factors = sorted({f for t in parsed.random for f in t.factors} | set(ref.get("factors") or []))
        spec.append(
            {
                "name": ref["data"].removesuffix(".csv"),
                "case": ref["case"],
                "formula": ref["formula"],
                "REML": ref["REML"],
                "factors": factors,
                "repeat_n": repeat[ref["case"]],
            }
        )
    result = run_r(R_SCRIPT, spec)
    if not result:
        return {}, "R not installed or failed"
    return result["times"], str(result.get("blas", ""))


def _peer_data(ref: dict):
    """The case's data with grouping factors as integer codes (what every peer accepts)."""
    data = case_data(ref)
    for col in data.columns:
        if isinstance(data[col].dtype, pd.CategoricalDtype):
            data[col] = data[col].cat.codes.astype("int64")
    return data


def peer_fitters() -> dict:
    """Fit functions of the installed peers: name -> fit(ref, data)."""
    fitters = {}
    try:
        import mixedlm

        fitters["mixedlm"] = lambda ref, data: mixedlm.lmer(ref["formula"], data, REML=ref["REML"])
    except ImportError:
        pass
    try:
        import lme_python

        fitters["lme-python"] = lambda ref, data: lme_python.lmer(ref["formula"], data, reml=ref["REML"])
    except ImportError:
        pass
    try:
        import statsmodels.formula.api as smf

        def statsmodels_fit(ref, data):
            parsed = mm.formula.terms.parse_formula(ref["formula"])
            term = parsed.random[0]
            if len(parsed.random) != 1 or not term.correlated or len(term.factors) != 1 or len(data) > 10_000:
                raise NotImplementedError("one random-effects term, small data only")
            re_formula = "1" if term.expr.strip() == "1" else f"~{term.expr}"
            model = smf.mixedlm(
                parsed.fixed_formula, data, groups=data[term.factors[0]], re_formula=re_formula
            )
            return model.fit(reml=ref["REML"])

        fitters["statsmodels"] = statsmodels_fit
    except ImportError:
        pass
    return fitters


SLOW_PEERS = {"lme-python", "statsmodels"}  # over 600 s on InstEval (73,421 rows): not run on it


def time_case(ref: dict, peers: dict, repeat: int) -> dict[str, float | None]:
    """Median times of mixedmodels and of each peer on one case, measured side by side.

    Each fit is run once first (untimed): a peer that cannot fit the case gets None.
    """
    data, peer_data = case_data(ref), _peer_data(ref)
    fits = {"mixedmodels": lambda: mm.lmer(ref["formula"], data, reml=ref["REML"])}
    for name, fit in peers.items():
        if not (name in SLOW_PEERS and len(peer_data) > 10_000):
            fits[name] = functools.partial(fit, ref, peer_data)
    times: dict[str, float | None] = dict.fromkeys(peers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fit in list(fits.items()):
            try:
                fit()
            except Exception:
                if name == "mixedmodels":
                    raise
                del fits[name]
        times.update(median_times(fits, repeat))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--only", default="")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument(
        "--peers",
        default="",
        help="comma-separated peers to time (default: all installed); statsmodels' BLAS threads "
        "slow whatever runs next on a machine with few cores",
    )
    args = ap.parse_args()
    cases = load_cases(args.only)
    repeat = {ref["case"]: (3 if ref["case"].startswith("insteval") else args.repeat) for ref in cases}
    peers = {} if args.no_peers else peer_fitters()
    if args.peers:
        peers = {name: fit for name, fit in peers.items() if name in args.peers.split(",")}
    python_times = {ref["case"]: time_case(ref, peers, repeat[ref["case"]]) for ref in cases}
    ours = {case: times["mixedmodels"] for case, times in python_times.items()}
    peer_times = {name: {case: times[name] for case, times in python_times.items()} for name in peers}
    lme4, blas = ({}, "skipped") if args.no_r else time_lme4(cases, repeat)
    print(f"lme4 BLAS: {blas}")
    print(
        "median seconds per fit, formula and DataFrame to fitted model; ratio = lme4 / mixedmodels, "
        "vs lme-python = mixedmodels / lme-python (below 1: we are faster)"
    )
    header = f"{'case':<22} {'mixedmodels':>11} {'lme4':>9} {'ratio':>6}" + "".join(
        f" {n:>11}" for n in peers
    )
    print(header + (f" {'vs lme-python':>13}" if "lme-python" in peers else ""))
    for ref in cases:
        c = ref["case"]
        r = lme4.get(c)
        row = f"{c:<22} {_fmt(ours[c]):>11} {_fmt(r):>9} {(f'{r / ours[c]:.1f}x' if r else '-'):>6}"
        row += "".join(f" {_fmt(peer_times[n][c]):>11}" for n in peers)
        if "lme-python" in peers:
            rust = peer_times["lme-python"][c]
            row += f" {(f'{ours[c] / rust:.2f}' if rust else '-'):>13}"
        print(row)


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:.1f}ms" if seconds < 1 else f"{seconds:.2f}s"


if __name__ == "__main__":
    main()
