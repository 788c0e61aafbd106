"""The ``many`` verb: a tidy CSV or Parquet table of lmer_many, rows matched by position or by id."""

import sys

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.app.cli import main

RHS = "~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    data = datasets.load("sleepstudy")
    Y = mm.lmer("Reaction " + RHS, data).simulate(6, seed=4)
    Y.columns = [f"gene{i}" for i in range(6)]
    Y.iloc[[3, 40], 2] = np.nan
    data.to_csv(folder / "data.csv", index=False)
    Y.to_csv(folder / "responses.csv", index=False)
    ids = [f"s{i:03d}" for i in range(len(data))]
    data.assign(sample=ids, w=np.linspace(0.5, 2.0, len(data))).to_csv(folder / "data_id.csv", index=False)
    extra = pd.DataFrame({"sample": ["unused"], **{c: [1.0] for c in Y.columns}})
    shuffled = pd.concat([Y.assign(sample=ids), extra]).sample(frac=1.0, random_state=2)
    shuffled.to_csv(folder / "responses_id.csv", index=False)
    return folder, data, Y


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _numbers(table: pd.DataFrame) -> np.ndarray:
    return table.drop(columns=["response", "term"]).to_numpy(dtype=float)


def test_many_writes_the_tidy_table_and_variance_fractions(capsys, files):
    folder, data, Y = files
    out, vp = folder / "tidy.csv", folder / "vp.csv"
    code, text, err = run(
        capsys, "many", folder / "data.csv", folder / "responses.csv", RHS, "--out", out, "--varpart", vp
    )
    assert code == 0, err
    assert "lmer_many: 6 responses" in text and "REML" in text
    assert "converged: 6, singular: 0" in text and "tidy table (12 rows" in text
    want = mm.lmer_many(RHS, data, Y, progress=False)
    got = pd.read_csv(out)
    assert list(got.columns) == list(want.tidy().columns)
    assert list(got["response"]) == list(want.tidy()["response"])
    np.testing.assert_allclose(_numbers(got), _numbers(want.tidy()), rtol=1e-12)
    fractions = pd.read_csv(vp, index_col="response")
    np.testing.assert_allclose(fractions.to_numpy(), want.varpart.to_numpy(), rtol=1e-12)


def test_many_matches_rows_by_id_with_weights_and_ml(capsys, files):
    folder, data, Y = files
    out = folder / "by_id.csv"
    argv = ["many", folder / "data_id.csv", folder / "responses_id.csv", RHS, "--id", "sample"]
    code, text, err = run(capsys, *argv, "--out", out, "--ml", "--weights", "w", "--n-jobs", "2")
    assert code == 0, err
    assert "maximum likelihood" in text
    w = np.linspace(0.5, 2.0, len(data))
    want = mm.lmer_many(RHS, data, Y, reml=False, weights=w, progress=False).tidy()
    np.testing.assert_allclose(_numbers(pd.read_csv(out)), _numbers(want), rtol=1e-10)


def test_many_writes_parquet_or_says_what_it_needs(capsys, files, monkeypatch):
    folder, data, Y = files
    out = folder / "tidy.parquet"
    argv = ["many", folder / "data.csv", folder / "responses.csv", RHS, "--out", out]
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        code, _, err = run(capsys, *argv)
        assert code == 0, err
        assert len(pd.read_parquet(out)) == 12
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    code, text, err = run(capsys, *argv[:-1], folder / "other.parquet")
    assert code == 2 and text == "" and "needs pyarrow (pip install pyarrow)" in err
    assert not (folder / "other.parquet").exists()


@pytest.mark.parametrize(
    ("responses", "extra", "message"),
    [
        ("responses_id.csv", [], "RESPONSES has 181 rows and DATA 180: rows match by position"),
        ("responses_id.csv", ["--id", "nope"], "--id 'nope': no such column in DATA"),
        ("responses.csv", ["--id", "sample"], "--id 'sample': no such column in RESPONSES"),
        ("data_id.csv", [], "RESPONSES column 'Reaction' is also a column of DATA"),
        ("responses.csv", ["--n-jobs", "0"], "--n-jobs must be at least 1"),
    ],
)
def test_many_bad_input_gives_one_line(capsys, files, responses, extra, message):
    folder, _, _ = files
    code, out, err = run(capsys, "many", folder / "data_id.csv", folder / responses, RHS, *extra)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err


def test_many_refuses_ids_missing_from_responses_and_text_columns(capsys, files, tmp_path):
    folder, data, Y = files
    short = pd.read_csv(folder / "responses_id.csv").iloc[5:]
    short.to_csv(tmp_path / "short.csv", index=False)
    code, _, err = run(capsys, "many", folder / "data_id.csv", tmp_path / "short.csv", RHS, "--id", "sample")
    assert code == 2 and "ids of DATA are not in RESPONSES" in err
    Y.assign(label="x").to_csv(tmp_path / "text.csv", index=False)
    code, _, err = run(capsys, "many", folder / "data.csv", tmp_path / "text.csv", RHS)
    assert code == 2 and "RESPONSES columns that are not numbers: 'label'" in err
    code, _, err = run(capsys, "many", folder / "data.csv", folder / "responses.csv", "y " + RHS)
    assert code == 2 and "must have no response" in err
