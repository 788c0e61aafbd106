"""The command line: ``mixedmodels fit DATA "FORMULA"`` and friends."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import pandas as pd

from . import datasets

EXAMPLES = """examples:
  mixedmodels fit                                  the seed example: y ~ x + (1 | p)
  mixedmodels fit sleepstudy "Reaction ~ Days + (Days | Subject)"
  mixedmodels fit data.csv "y ~ x + (1 | g)" --ml --format json
"""


def read_data(source: str, factors: list[str]) -> pd.DataFrame:
    """A shipped data set by name, or a CSV, Parquet or Feather file."""
    if source.lower() in datasets.DESCRIPTIONS and not Path(source).exists():
        data = datasets.load(source)
    else:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no such file: {source}")
        readers = {".parquet": pd.read_parquet, ".feather": pd.read_feather}
        data = readers.get(path.suffix.lower(), pd.read_csv)(path)
    for col in factors:
        if col not in data.columns:
            raise KeyError(
                f"--factor {col!r}: no such column; the data has: {', '.join(map(str, data.columns))}"
            )
        data[col] = pd.Categorical(data[col])
    return data


def _fit(args) -> str:
    from . import lmer

    data = read_data(args.data, args.factor)
    fit = lmer(args.formula, data, reml=not args.ml)
    if args.format == "json":
        return json.dumps(fit.to_dict(), indent=1)
    if args.format == "csv":
        table = pd.DataFrame({"estimate": fit.fixef, "se": fit.se, "t": fit.tvalues})
        return table.to_csv(index_label="term").rstrip("\n")
    return fit.summary()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixedmodels",
        description="Linear mixed-effects models as lme4 fits them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser(
        "fit",
        help="fit a linear mixed model and print its summary",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument(
        "data",
        nargs="?",
        default="seed",
        help="CSV, Parquet or Feather file, or a shipped data set name (default: seed)",
    )
    fit.add_argument(
        "formula", nargs="?", default="y ~ x + (1 | p)", help="lme4 formula (default: y ~ x + (1 | p))"
    )
    fit.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    fit.add_argument("--format", choices=["text", "json", "csv"], default="text")
    fit.add_argument(
        "--factor",
        action="append",
        default=[],
        metavar="COL",
        help="treat COL as categorical in the fixed part (repeatable)",
    )
    fit.set_defaults(run=_fit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = args.run(args)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"mixedmodels: error: {message}", file=sys.stderr)
        return 2
    for w in caught:
        print(f"mixedmodels: note: {w.message}", file=sys.stderr)
    print(out)
    return 0
