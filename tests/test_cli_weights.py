"""``mixedmodels fit --weights COL --offset COL``: glmer and lmer fits from the command line give
the library's fit with ``weights=`` and ``offset=`` the named columns (and lme4's numbers)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.app.cli import main

HERE = Path(__file__).parent
GLMM = HERE / "reference" / "glmm"
CBPP_CSV = HERE / "data" / "cbpp.csv"
POISSON_CSV = HERE / "data" / "poisson_offset.csv"
SLEEP_CSV = HERE / "data" / "sleepstudy_weighted.csv"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_json(capsys, *argv) -> dict:
    code, out, err = run(capsys, *argv, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def quiet(fit_function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        return fit_function(*args, **kwargs)


def assert_same_fit(got: dict, fit) -> None:
    """The command line's JSON is the API fit's numbers."""
    want = fit.to_dict()
    assert list(got["fixef"]) == list(want["fixef"])
    assert got["fixef"] == pytest.approx(want["fixef"], rel=1e-12, abs=1e-14)
    assert got["se"] == pytest.approx(want["se"], rel=1e-12, abs=1e-14)
    assert got["loglik"] == pytest.approx(want["loglik"], rel=1e-12)
    assert got["nobs"] == want["nobs"]


def test_fit_help_lists_weights_and_offset(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    out = capsys.readouterr().out
    assert "--weights COL" in out and "--offset COL" in out


def test_glmer_weights_are_the_trials_of_a_proportion(capsys):
    ref = json.loads((GLMM / "cbpp_prop_weights.json").read_text())
    argv = ["fit", CBPP_CSV, ref["formula"], "--family", "binomial", "--factor", "period"]
    got = run_json(capsys, *argv, "--weights", "size")
    data = pd.read_csv(CBPP_CSV).assign(period=lambda d: pd.Categorical(d["period"]))
    assert_same_fit(got, quiet(mm.glmer, ref["formula"], data, weights="size"))
    assert list(got["fixef"].values()) == pytest.approx(ref["fixef"], rel=1e-3)  # lme4
    assert got["loglik"] == pytest.approx(ref["loglik"], abs=1e-3)
    unweighted = run_json(capsys, *argv)  # the weights change the fit
    assert abs(unweighted["loglik"] - got["loglik"]) > 1
    code, out, err = run(capsys, *argv, "--weights", "size")
    assert code == 0, err
    assert "Weights: size" in out.splitlines()


def test_glmer_offset_column_is_the_formulas_offset(capsys):
    ref = json.loads((GLMM / "poisson_offset_slopes.json").read_text())
    formula = ref["formula"].replace(" + offset(logexp)", "")
    assert formula == "count ~ x + (x | g)"
    got = run_json(capsys, "fit", POISSON_CSV, formula, "--family", "poisson", "--offset", "logexp")
    data = pd.read_csv(POISSON_CSV)
    assert_same_fit(got, quiet(mm.glmer, formula, data, family="poisson", offset="logexp"))
    assert list(got["fixef"].values()) == pytest.approx(ref["fixef"], rel=1e-3)  # lme4, offset in the formula
    assert got["loglik"] == pytest.approx(ref["loglik"], abs=1e-3)
    code, out, err = run(capsys, "fit", POISSON_CSV, formula, "--family", "poisson", "--offset", "logexp")
    assert code == 0, err
    assert " Offset: logexp" in out.splitlines()


def test_lmer_weights_and_offset(capsys):
    data = pd.read_csv(SLEEP_CSV)
    formula = "Reaction ~ Days + (Days | Subject)"
    got = run_json(capsys, "fit", SLEEP_CSV, formula, "--weights", "w")
    assert_same_fit(got, mm.lmer(formula, data, weights="w"))
    plain = run_json(capsys, "fit", SLEEP_CSV, formula)
    assert abs(plain["fixef"]["Days"] - got["fixef"]["Days"]) > 1e-3  # the weights count
    shifted = run_json(capsys, "fit", SLEEP_CSV, formula, "--offset", "Days", "--ml")
    direct = mm.lmer(formula, data, reml=False, offset="Days")
    assert_same_fit(shifted, direct)
    # an offset of Days moves the Days slope by exactly one
    ml = run_json(capsys, "fit", SLEEP_CSV, formula, "--ml")
    assert shifted["fixef"]["Days"] == pytest.approx(ml["fixef"]["Days"] - 1, abs=1e-4)
    code, out, err = run(capsys, "fit", SLEEP_CSV, formula, "--weights", "w", "--offset", "Days")
    assert code == 0, err
    assert {"Weights: w", " Offset: Days"} <= set(out.splitlines())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--weights", "nosuch"], "weights column 'nosuch' is not in the data"),
        (["--offset", "nosuch"], "offset column 'nosuch' is not in the data"),
        (["--weights", "txt"], "weights must be numbers"),
        (["--weights", "neg"], "weights must be non-negative"),
    ],
)
def test_bad_weights_and_offsets_are_one_line_errors(capsys, tmp_path, extra, message):
    data = pd.read_csv(SLEEP_CSV).assign(
        neg=lambda d: np.where(d["Days"] == 3, -1.0, 1.0),
        txt=lambda d: np.where(d["Days"] > 4, "late", "early"),
    )
    path = tmp_path / "sleep.csv"
    data.to_csv(path, index=False)
    for family in ([], ["--family", "poisson"]):
        formula = "Reaction ~ Days + (1 | Subject)"
        code, out, err = run(capsys, "fit", path, formula, *family, *extra)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert message in err
