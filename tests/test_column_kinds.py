"""Columns by kind (issue 26): decimals are numbers everywhere, dates a factor only as a
grouping factor, durations, lists and structs refused naming the column, only when used;
the same from a Parquet file read by pandas, by the command line and as Arrow-backed pandas."""

import datetime
import decimal

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.app.cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def parquet_file(tmp_path_factory):
    """sleepstudy with a decimal response and covariate, dates, a duration, a list and a struct."""
    d = datasets.load("sleepstudy")
    day = [datetime.date(2020, 1, 1) + datetime.timedelta(days=int(x)) for x in d.Days]
    table = pa.table(
        {
            "Reaction": d.Reaction,
            "Days": d.Days,
            "Subject": d.Subject.astype(str),
            "rdec": pa.array([decimal.Decimal(f"{x:.4f}") for x in d.Reaction], pa.decimal128(12, 4)),
            "ddec": pa.array([decimal.Decimal(int(x)) for x in d.Days], pa.decimal128(10, 2)),
            "day": pa.array(day, pa.date32()),
            "stamp": pa.array([datetime.datetime(2020, 1, 1 + int(x)) for x in d.Days], pa.timestamp("s")),
            "span": pa.array([datetime.timedelta(days=int(x)) for x in d.Days], pa.duration("s")),
            "items": pa.array([[int(x)] for x in d.Days]),
            "record": pa.array([{"a": int(x)} for x in d.Days]),
        }
    )
    path = tmp_path_factory.mktemp("parquet") / "kinds.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module", params=["numpy", "pyarrow"])
def frame(request, parquet_file):
    if request.param == "numpy":
        return pd.read_parquet(parquet_file)
    return pd.read_parquet(parquet_file, dtype_backend="pyarrow")


@pytest.fixture(scope="module")
def reference():
    return mm.lmer("Reaction ~ Days + (1 | Subject)", datasets.load("sleepstudy"))


def test_decimals_are_numbers_as_response_and_covariate(frame, reference):
    fit = mm.lmer("rdec ~ ddec + (1 | Subject)", frame)
    assert list(fit.fixef.index) == ["(Intercept)", "ddec"]  # not a factor of its values
    np.testing.assert_allclose(fit.fixef.to_numpy(), reference.fixef.to_numpy(), rtol=1e-5)
    lm = mm.lm("Reaction ~ ddec", frame)
    assert list(lm.coef.index) == ["(Intercept)", "ddec"]
    glm = mm.glm("ddec ~ Reaction", frame, family="poisson")
    assert np.isfinite(glm.coef).all()


def test_a_date_is_a_factor_as_a_grouping_factor(frame):
    formula = "Reaction ~ 1 + (1 | Subject) + (1 | day)"
    fit = mm.lmer(formula, frame)
    same = mm.lmer(formula, frame.assign(day=frame["Days"].astype(str)))
    assert fit.objective == pytest.approx(same.objective, rel=1e-10)
    levels = fit.ranef()["day"].index
    assert list(levels) == sorted(levels) and levels[0] == "2020-01-01"


@pytest.mark.parametrize(
    ("formula", "column", "message"),
    [
        ("Reaction ~ day + (1 | Subject)", "day", "dates or times"),
        ("Reaction ~ stamp + (1 | Subject)", "stamp", "dates or times"),
        ("Reaction ~ Days + (day | Subject)", "day", "dates or times"),
        ("Reaction ~ span + (1 | Subject)", "span", "durations"),
        ("Reaction ~ items + (1 | Subject)", "items", "lists or structs"),
        ("Reaction ~ record + (1 | Subject)", "record", "lists or structs"),
        ("Reaction ~ Days + (1 | items)", "items", "lists or structs"),
    ],
)
def test_other_kinds_are_refused_naming_the_column(frame, formula, column, message):
    with pytest.raises(mm.DataError, match=message) as info:
        mm.lmer(formula, frame)
    assert f"column {column!r}" in str(info.value)


def test_unused_columns_of_any_kind_are_not_looked_at(frame, reference):
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", frame)
    assert fit.objective == pytest.approx(reference.objective, rel=1e-12)


def test_weights_and_offset_may_be_decimal(frame, reference):
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", frame.assign(w=frame["ddec"] * 0 + 1), weights="w")
    assert fit.objective == pytest.approx(reference.objective, rel=1e-10)


def test_the_command_line_reads_the_kinds_alike(capsys, parquet_file):
    assert main(["fit", str(parquet_file), "rdec ~ ddec + (1 | Subject)", "--format", "csv"]) == 0
    assert "ddec," in capsys.readouterr().out
    for formula, column in [
        ("Reaction ~ span + (1 | Subject)", "span"),
        ("Reaction ~ items + (1 | Subject)", "items"),
    ]:
        assert main(["fit", str(parquet_file), formula]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and f"column {column!r}" in err
