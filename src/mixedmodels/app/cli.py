"""The command line: ``mixedmodels demo``, ``compare``, ``fit``, ``bootstrap``, ``profile``, ``power``
and ``many``."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .. import datasets
from .defaults import NSIM

if TYPE_CHECKING:  # pandas, numpy and the models are imported inside the commands: --help is quick
    import pandas as pd

EXAMPLES = """examples:
  mixedmodels demo                                 the seed question, answered in one run
  mixedmodels compare data.csv "y ~ x + (1 | g)"   the same comparison for your data
  mixedmodels compare cbpp "cbind(incidence, size - incidence) ~ period + (1 | herd)" --family binomial
  mixedmodels fit sleepstudy "Reaction ~ Days + (Days | Subject)"
  mixedmodels fit data.csv "y ~ x + (1 | g)" --ml --format json
  mixedmodels fit data.csv "y ~ x + (1 | g)" --family binomial --link probit --nagq 9
  mixedmodels fit data.csv "prop ~ x + (1 | g)" --family binomial --weights trials
  mixedmodels fit data.csv "count ~ x + (1 | g)" --family poisson --offset log_exposure
  mixedmodels fit data.csv "count ~ x + (1 | g)" --family nbinom2
  mixedmodels bootstrap seed "y ~ x + (1 | p)" --nsim 10000 --use-u
  mixedmodels profile seed "y ~ x + (1 | p)" --level 0.9
  mixedmodels power sleepstudy "Reaction ~ Days + (Days | Subject)" --term Days --effect 4 \\
      --along Subject --sizes 5,10,20
  mixedmodels power cbpp "cbind(incidence, size - incidence) ~ period + (1 | herd)" --family binomial \\
      --term period2 --effect -0.8 --test z
  mixedmodels many samples.csv genes.csv "~ cond + (1 | donor)" --out tidy.parquet --n-jobs 4

DATA is a CSV, Parquet or Feather file, or a shipped data set: """ + ", ".join(datasets.names())


class CliError(Exception):
    """A problem with the command's input, reported as one line."""


def read_data(source: str, factors: list[str]) -> pd.DataFrame:
    """A shipped data set by name, or a CSV, Parquet or Feather file."""
    import pandas as pd

    path = Path(source)
    if source.lower() in datasets.DESCRIPTIONS and not path.exists():
        data = datasets.load(source)
    else:
        if not path.exists():
            raise CliError(f"no such file: {source}")
        if path.is_dir():
            raise CliError(f"{source} is a folder, not a data file")
        suffix = path.suffix.lower()
        try:
            if suffix in (".parquet", ".pq"):
                data = pd.read_parquet(path)
            elif suffix in (".feather", ".arrow"):
                data = pd.read_feather(path)
            else:
                data = pd.read_csv(path)
        except ImportError as exc:
            raise CliError(f"reading {suffix} files needs pyarrow (pip install pyarrow): {exc}") from None
        except Exception as exc:  # any reader's complaint about the file's contents
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CliError(f"cannot read {source} as a {suffix.lstrip('.') or 'CSV'} file: {first}") from None
    for col in factors:
        if col not in data.columns:
            raise CliError(
                f"--factor {col!r}: no such column; the data has: {', '.join(map(str, data.columns))}"
            )
        data[col] = pd.Categorical(data[col])
    return data


def _fit(args) -> str:
    import pandas as pd

    from .. import lmer

    if args.family is not None:
        return _fit_glmer(args)
    if args.link is not None or args.nagq is not None or args.laplace is not None:
        raise CliError("--link and --nagq need --family (as --laplace does): they are for a glmer fit")
    fit = lmer(args.formula, read_data(args.data, args.factor), reml=not args.ml, **_model_columns(args))
    if args.format == "json":
        return json.dumps(fit.to_dict(), indent=1)
    if args.format == "csv":
        table = pd.DataFrame({"estimate": fit.fixef, "se": fit.se, "t": fit.tvalues})
        return table.to_csv(index_label="term").rstrip("\n")
    return fit.summary()


def _fit_glmer(args) -> str:
    """``fit --family``: a generalized linear mixed model (lme4's glmer), always by maximum
    likelihood (Laplace, or quadrature with ``--nagq``)."""
    import pandas as pd

    from .. import glmer

    if args.ml:
        raise CliError("--ml is for a linear mixed model: a glmer fit is always by maximum likelihood")
    nagq = 1 if args.nagq is None else args.nagq
    data = read_data(args.data, args.factor)
    fit = glmer(
        args.formula,
        data,
        family=args.family,
        link=args.link,
        nagq=nagq,
        laplace=args.laplace,
        **_model_columns(args),
    )
    if args.format == "json":
        return json.dumps(fit.to_dict(), indent=1)
    if args.format == "csv":
        table = pd.DataFrame({"estimate": fit.fixef, "se": fit.se, "z": fit.zvalues})
        return table.to_csv(index_label="term").rstrip("\n")
    return fit.summary()


def _model_columns(args) -> dict[str, str]:
    """``weights=`` and ``offset=`` of the model function: the columns --weights and --offset name."""
    return {key: getattr(args, key) for key in ("weights", "offset") if getattr(args, key) is not None}


def _add_column_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--weights",
        metavar="COL",
        help="prior weights from column COL (for a binomial proportion response: the numbers of trials)",
    )
    p.add_argument(
        "--offset",
        metavar="COL",
        help="column COL added to the linear predictor with coefficient 1 (as + offset(COL) in the formula)",
    )


def _add_family_options(p: argparse.ArgumentParser, help: str, any_family: bool = False) -> None:
    """--family and --link; ``any_family``: every family the library knows by name (``fit``),
    else the binomial and the Poisson."""
    if any_family:
        p.add_argument("--family", metavar="FAMILY", help=help)
    else:
        p.add_argument("--family", choices=["binomial", "poisson"], help=help)
    p.add_argument("--link", help="the link function (default: the family's canonical link)")


def _add_glmer_options(p: argparse.ArgumentParser, any_family: bool = False) -> None:
    if any_family:
        help = (
            "fit a generalized linear mixed model of this family: binomial or poisson (lme4's glmer), "
            "nbinom2 (glmmTMB's negative binomial, its size estimated), ..."
        )
        _add_family_options(p, help, any_family=True)
        p.add_argument(
            "--laplace",
            choices=["expected", "observed"],
            help="the information in the Laplace approximation: expected (lme4's) or observed "
            "(glmmTMB's); by default the family's",
        )
    else:
        _add_family_options(p, "fit a generalized linear mixed model (lme4's glmer) of this family")
    p.add_argument(
        "--nagq",
        type=int,
        metavar="N",
        help="1: Laplace (default); N > 1: adaptive Gauss-Hermite quadrature; 0: lme4's nAGQ = 0",
    )


def _bootstrap(args) -> str:
    import pandas as pd

    from .. import bootstrap, lmer

    fit = lmer(args.formula, read_data(args.data, args.factor), reml=not args.ml)
    boot = bootstrap(fit, args.nsim, use_u=args.use_u, seed=args.seed, n_jobs=args.jobs)
    ci = boot.confint(args.method, level=args.level)
    table = pd.concat([boot.t0, boot.bias(), boot.sd(), ci], axis=1)
    if args.format == "csv":
        return table.to_csv(index_label="parameter").rstrip("\n")
    if args.format == "json":
        return json.dumps(
            {
                "nsim": boot.nsim,
                "failed": boot.n_failed,
                "singular": boot.n_singular,
                "separated": boot.n_separated,
                "table": json.loads(table.to_json(orient="index")),
            },
            indent=1,
        )
    return f"{boot.summary()}\n\n{args.method} intervals:\n{ci.to_string()}"


def _profile(args) -> str:
    from .. import lmer

    fit = lmer(args.formula, read_data(args.data, args.factor), reml=not args.ml)
    ci = fit.profile().confint(args.level)
    if args.format == "csv":
        return ci.to_csv(index_label="parameter").rstrip("\n")
    if args.format == "json":
        return ci.to_json(orient="index", indent=1)
    return f"Profile-likelihood confidence intervals (ML deviance, as lme4):\n{ci.to_string()}"


def _sizes(text: str) -> list[int]:
    """``--sizes 5,10,20``: numbers of levels."""
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise CliError(f"--sizes must be whole numbers separated by commas, not {text!r}") from None


def _effect(text: str) -> float | list[float]:
    """``--effect``: a number, or comma-separated numbers (a term with several columns)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or comma-separated numbers: {text!r}") from None
    return values[0] if len(values) == 1 else values


def _power(args) -> str:
    """``power``: simulated power of the test of one fixed effect (a curve with --along)."""
    from .. import power
    from ..replicates.power_results import PowerCurve

    if (args.along is None) != (args.sizes is None):
        raise CliError("--along and --sizes go together")
    sizes = None if args.sizes is None else _sizes(args.sizes)
    png = (
        None
        if args.along is None
        else _figure_path(args.out, f"power_{safe_file_name(args.term)}_{safe_file_name(args.along)}.png")
    )
    fit = _power_fit(args)
    result = power(
        fit, args.term, args.effect, args.nsim, args.test, args.alpha, args.seed, args.along, sizes
    )
    if not isinstance(result, PowerCurve) or png is None:
        return str(result)
    result.plot().savefig(png, dpi=110)
    return f"{result}\n\nfigure: {png}"


def _figure_path(folder: str, name: str) -> Path:
    """``folder/name``, the folder made (and so checked) now, before anything is computed."""
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"--out {folder}: cannot make the folder ({exc.strerror or exc})") from None
    return out / name


def safe_file_name(text: str) -> str:
    """``text`` as a portable file name: every run of characters other than letters, digits,
    ``.``, ``-`` and ``_`` becomes one ``_`` (``I(Days / 2)`` -> ``I_Days_2``), at most 80 of
    them (a file system's limit is 255 bytes for the whole name)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_.")[:80].rstrip("_.")
    return name or "term"


def _power_fit(args):
    """The model of ``power``: lmer, or with --family a glmer fit (tests "z" and "lrt")."""
    from .. import glmer, lmer

    data = read_data(args.data, args.factor)
    if args.family is None:
        if args.link is not None or args.nagq is not None:
            raise CliError("--link and --nagq need --family (binomial or poisson): they are for a glmer fit")
        return lmer(args.formula, data, reml=not args.ml)
    if args.ml:
        raise CliError("--ml is for a linear mixed model: a glmer fit is always by maximum likelihood")
    return glmer(
        args.formula, data, family=args.family, link=args.link, nagq=1 if args.nagq is None else args.nagq
    )


MANY_HELP = """\
Fit FORMULA, a model without its response ("~ x + (1 | g)"), to each column of RESPONSES with
the covariates and grouping factors of DATA, by the batched refit of mm.lmer_many; write the
tidy table (one row per response and term) to --out and print a summary.

RESPONSES has one column per response and one row per row of DATA. Rows match by position
(the i-th row of RESPONSES is the i-th row of DATA), or with --id COL by the column COL that
both files have (each id once in each file; RESPONSES may list its rows in any order, and
rows of RESPONSES that DATA lacks are left out). Empty cells are missing values: each
response uses its own complete rows.
"""


def _many(args) -> str:
    """``many``: one linear mixed model fitted to each column of RESPONSES (``lmer_many``)."""
    from .. import lmer_many

    if args.n_jobs < 1:
        raise CliError(f"--n-jobs must be at least 1, not {args.n_jobs}")
    for option, path in (("--out", args.out), ("--varpart", args.varpart)):
        if path is not None:
            _check_table_name(option, path)
    data = read_data(args.data, args.factor)
    responses = _matched_responses(data, read_data(args.responses, []), args.id)
    start = time.perf_counter()
    result = lmer_many(
        args.formula,
        data,
        responses,
        reml=not args.ml,
        n_jobs=args.n_jobs,
        weights=args.weights,
    )
    seconds = time.perf_counter() - start
    tidy = result.tidy()
    _write_table(tidy, args.out, index=False)
    lines = [
        f"lmer_many: {len(result.names)} responses, {args.formula.strip()}, "
        f"{'REML' if result.reml else 'maximum likelihood'}",
        f"converged: {int(result.converged.sum())}, singular: {int(result.singular.sum())}, "
        f"time: {seconds:.2f} s",
        f"tidy table ({len(tidy)} rows, one per response and term): {args.out}",
    ]
    if args.varpart is not None:
        _write_table(result.varpart.rename_axis("response"), args.varpart, index=True)
        lines.append(f"variance fractions: {args.varpart}")
    return "\n".join(lines)


def _matched_responses(data: pd.DataFrame, responses: pd.DataFrame, id_column: str | None) -> pd.DataFrame:
    """The responses' rows in the order of the rows of ``data``: by position, or by ``id_column``."""
    if id_column is None:
        if len(responses) != len(data):
            raise CliError(
                f"RESPONSES has {len(responses)} rows and DATA {len(data)}: rows match by position, "
                "so they must be as many (or match them by an id column with --id COL)"
            )
        shared = [str(c) for c in responses.columns if c in data.columns]
        if shared:
            raise CliError(
                f"RESPONSES column {shared[0]!r} is also a column of DATA: if it names the rows, "
                f"match them by it with --id {shared[0]}; if it is a response, rename it"
            )
        _require_numbers(responses, "(or match rows by an id column with --id COL)")
        return responses
    for name, frame in (("DATA", data), ("RESPONSES", responses)):
        if id_column not in frame.columns:
            raise CliError(f"--id {id_column!r}: no such column in {name}")
        if frame[id_column].duplicated().any():
            twice = frame[id_column][frame[id_column].duplicated()].iloc[0]
            raise CliError(f"--id {id_column!r}: the id {twice!r} is on more than one row of {name}")
    keys = responses[id_column].astype(str)
    wanted = data[id_column].astype(str)
    missing = wanted[~wanted.isin(keys)]
    if len(missing):
        raise CliError(
            f"--id {id_column!r}: {len(missing)} ids of DATA are not in RESPONSES, "
            f"the first {missing.iloc[0]!r}"
        )
    matched = responses.set_index(keys).drop(columns=id_column).loc[wanted.to_numpy()]
    _require_numbers(matched, "")
    return matched.reset_index(drop=True)


def _require_numbers(responses: pd.DataFrame, hint: str) -> None:
    """Every column of RESPONSES is a response, so every one must hold numbers."""
    import pandas as pd

    text = [str(c) for c in responses.columns if not pd.api.types.is_numeric_dtype(responses[c])]
    if text:
        shown = ", ".join(repr(c) for c in text[:5])
        raise CliError(f"RESPONSES columns that are not numbers: {shown} {hint}".rstrip())


def _is_parquet(path: str) -> bool:
    return Path(path).suffix.lower() in (".parquet", ".pq")


def _require_parquet() -> None:
    """Parquet is written by pyarrow (or fastparquet), neither of which mixedmodels needs."""
    for engine in ("pyarrow", "fastparquet"):
        try:
            __import__(engine)
            return
        except ImportError:
            continue
    raise CliError("writing a .parquet file needs pyarrow (pip install pyarrow); or name a .csv file")


TABLE_SUFFIXES = (".csv", ".parquet", ".pq")  # what --out and --varpart write


def _check_table_name(option: str, path: str) -> None:
    """Refuse, before anything is computed, a table file name we cannot write as its suffix
    says (``x.xlsx`` is not written as CSV in disguise)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise CliError(
            f"{option} {path}: cannot write a {suffix or 'suffix-less'} file; name a file ending in "
            f"{', '.join(TABLE_SUFFIXES)} (.parquet needs pyarrow)"
        )
    if _is_parquet(path):
        _require_parquet()


def _write_table(table: pd.DataFrame, path: str, index: bool) -> None:
    """``table`` to ``path``: Parquet when the name ends in .parquet (or .pq), else CSV (the
    names were checked by :func:`_check_table_name`)."""
    if _is_parquet(path):
        table.to_parquet(path, index=index)
    else:
        table.to_csv(path, index=index)


def _add_many_verb(sub) -> None:
    p = sub.add_parser(
        "many",
        help="one linear mixed model fitted to each column of a file of responses (lmer_many)",
        description=MANY_HELP,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", help="CSV, Parquet or Feather file (or a shipped data set): covariates")
    p.add_argument("responses", help="CSV, Parquet or Feather file: one column per response")
    p.add_argument("formula", help='the model without its response, e.g. "~ x + (1 | g)"')
    p.add_argument(
        "--id", metavar="COL", help="match the rows of RESPONSES to those of DATA by column COL of both"
    )
    p.add_argument(
        "--out",
        default="lmer_many.csv",
        metavar="FILE",
        help="the tidy table (one row per response and term): CSV, or Parquet for a .parquet name "
        "(needs pyarrow); default lmer_many.csv",
    )
    p.add_argument(
        "--varpart", metavar="FILE", help="also write the variance fractions (one row per response) to FILE"
    )
    p.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    p.add_argument("--weights", metavar="COL", help="prior weights from column COL of DATA")
    p.add_argument("--n-jobs", type=int, default=1, metavar="N", help="worker processes (default 1)")
    p.add_argument(
        "--factor",
        action="append",
        default=[],
        metavar="COL",
        help="treat COL of DATA as categorical in the fixed part (repeatable)",
    )
    p.set_defaults(run=_many)


def _compare_report(data: pd.DataFrame, formula: str, args, stem: str) -> str:
    from .compare import compare

    family, link = getattr(args, "family", None), getattr(args, "link", None)
    png = _figure_path(args.out, f"{stem}_comparison.png")
    result = compare(
        formula, data, nsim=args.nsim, seed=args.seed, level=args.level, family=family, link=link
    )
    result.figure().savefig(png, dpi=110)
    parts = [
        "=" * 30 + " mixed model " + "=" * 30,
        str(result.mixed),
        "",
        "=" * 30 + " fixed-effects model, sum contrasts " + "=" * 30,
        str(result.fixed),
        "",
        "=" * 30 + " comparison " + "=" * 30,
        result.report(),
        "",
        f"figure: {png}",
    ]
    return "\n".join(parts)


def _compare(args) -> str:
    stem = Path(args.data).stem if Path(args.data).exists() else args.data
    return _compare_report(read_data(args.data, args.factor), args.formula, args, stem)


def _demo(args) -> str:
    intro = (
        "The seed question: lmer(y ~ x + (1 | p)) and lm(y ~ x + p) with sum contrasts give the same\n"
        "slope and slope standard error, but intercept standard errors of 1.92 and 0.056. Why?\n"
    )
    return intro + "\n" + _compare_report(datasets.load("seed"), "y ~ x + (1 | p)", args, "seed")


def _add_common(p: argparse.ArgumentParser, data: bool = True) -> None:
    if data:
        p.add_argument("data", help="CSV, Parquet or Feather file, or a shipped data set name")
        p.add_argument("formula", help='lme4 formula, e.g. "y ~ x + (1 | g)"')
        p.add_argument(
            "--factor",
            action="append",
            default=[],
            metavar="COL",
            help="treat COL as categorical in the fixed part (repeatable)",
        )


def _add_boot_options(p: argparse.ArgumentParser, nsim: int | None = 10_000, nsim_help: str = "") -> None:
    p.add_argument(
        "--nsim", type=int, default=nsim, help=nsim_help or f"bootstrap replicates (default {nsim})"
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--level", type=float, default=0.95, help="interval coverage (default 0.95)")


def _model_verb(sub, name: str, help: str, run, ml_help: str = "maximum likelihood instead of REML"):
    """A verb that fits FORMULA to DATA (REML, or ML with --ml) and prints text, JSON or CSV."""
    p = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p)
    p.add_argument("--ml", action="store_true", help=ml_help)
    p.add_argument("--format", choices=["text", "json", "csv"], default="text")
    p.set_defaults(run=run)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixedmodels",
        description="Linear mixed-effects models as lme4 fits them, and the fixed-effects model beside them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    fmt = argparse.RawDescriptionHelpFormatter

    demo = sub.add_parser(
        "demo",
        help="the seed comparison: both models, bootstrap both ways, figure",
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    _add_boot_options(demo)
    demo.add_argument("--out", default=".", help="folder for the figure (default: current folder)")
    demo.set_defaults(run=_demo)

    comp = sub.add_parser(
        "compare",
        help='mixed vs fixed-effects model for "y ~ x + (1 | g)" on your data',
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    _add_common(comp)
    _add_boot_options(
        comp,
        nsim=None,
        nsim_help=(
            f"bootstrap replicates each way (default {NSIM['lmer']}; with --family {NSIM['glmer']}, "
            "as each GLMM refit costs more: a few seconds for cbpp)"
        ),
    )
    comp.add_argument("--out", default=".", help="folder for the figure (default: current folder)")
    _add_family_options(comp, "compare a GLMM (glmer) with a GLM (glm) of this family, not lmer with lm")
    comp.set_defaults(run=_compare)

    fit = _model_verb(sub, "fit", "fit a linear (or, with --family, generalized) mixed model", _fit)
    _add_column_options(fit)
    _add_glmer_options(fit, any_family=True)
    boot = _model_verb(sub, "bootstrap", "parametric bootstrap of a mixed model", _bootstrap)
    _add_boot_options(boot)
    boot.add_argument(
        "--use-u", action="store_true", help="hold the random effects at their conditional modes"
    )
    boot.add_argument("--method", choices=["percentile", "basic", "normal", "shortest"], default="percentile")
    boot.add_argument("--jobs", type=int, default=1, help="worker processes")
    prof = _model_verb(
        sub,
        "profile",
        "profile-likelihood confidence intervals",
        _profile,
        ml_help="fit by maximum likelihood (the profile is ML anyway)",
    )
    prof.add_argument("--level", type=float, default=0.95, help="interval coverage (default 0.95)")
    _add_power_verb(sub)
    _add_many_verb(sub)
    return parser


def _add_power_verb(sub) -> None:
    p = _model_verb(sub, "power", "simulated power of the test of a fixed effect (simr's powerSim)", _power)
    p.add_argument("--term", required=True, help="the fixed-effect coefficient tested, e.g. Days")
    p.add_argument(
        "--effect",
        type=_effect,
        required=True,
        help="its value in the simulations; for a term with several columns one per column, comma-separated",
    )
    p.add_argument("--nsim", type=int, default=1000, help="replicates (per size; default 1000)")
    p.add_argument(
        "--test",
        choices=["lrt", "satterthwaite", "kr", "z"],
        default="lrt",
        help="kr: Kenward-Roger; z: a glmer fit's Wald test",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--along", metavar="GROUP", help="a grouping factor whose number of levels varies")
    p.add_argument("--sizes", metavar="N,N,...", help="its numbers of levels, e.g. 5,10,20")
    p.add_argument("--out", default=".", help="folder for the curve's figure (default: current folder)")
    _add_glmer_options(p)


# what a user's input can raise: reported as one line on stderr, exit status 2 (NotImplementedError:
# a model we do not fit yet, such as glmer's Poisson identity link; ArithmeticError: overflow)
USER_ERRORS = (
    CliError,
    ValueError,
    KeyError,
    TypeError,
    OSError,
    MemoryError,
    ArithmeticError,
    NotImplementedError,
)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help and a usage error exit here, before any import
    from ..base.options import options

    # a formula given on the command line is read in safe mode, never run as arbitrary code
    safe, options.safe_formulas = options.safe_formulas, True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = args.run(args)
    except USER_ERRORS as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        lines = str(message).strip().splitlines() or [type(exc).__name__]
        print(
            f"mixedmodels: error: {lines[0]}", file=sys.stderr
        )  # a formula error's first line has its position
        return 2
    finally:
        options.safe_formulas = safe
    from ..base.messages import MixedModelsWarning

    for w in caught:
        if issubclass(w.category, MixedModelsWarning):
            print(f"mixedmodels: note: {w.message}", file=sys.stderr)
    try:
        print(out, flush=True)
    except BrokenPipeError:  # the reader (`| head`) stopped reading: no traceback, as Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
