"""The command line: the demo's numbers and figure, each verb on a CSV, each bad input."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mixedmodels import datasets
from mixedmodels.app.cli import main


@pytest.fixture
def seed_csv(tmp_path):
    path = tmp_path / "seed data.csv"
    datasets.load("seed").to_csv(path, index=False)
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_demo_prints_the_seed_numbers_and_writes_a_png(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--out", tmp_path)
    assert code == 0, err
    # lmer (lme4: 1.921110), with lmerTest's Satterthwaite columns
    assert re.search(r"\(Intercept\) 21\.040772   1\.9211\d\d\s+9\.01\s+10\.95", out)
    assert "(Intercept) 21.043157   0.055888  376.52" in out  # lm with sum contrasts
    table = out[out.index("Comparison of the two models") :]
    row = next(line for line in table.splitlines() if line.startswith("(Intercept)")).split()
    assert row[0] == "(Intercept)"
    boot_new_u, boot_fixed_u = float(row[5]), float(row[6])
    assert boot_new_u == pytest.approx(1.92, rel=0.04)
    assert boot_fixed_u == pytest.approx(0.056, rel=0.04)
    assert "reproduces the mixed model's standard error" in out
    assert "reproduces the fixed-effects model's standard error" in out
    png = tmp_path / "seed_comparison.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    assert imread(png).shape[2] in (3, 4)


def test_fit_on_a_csv_in_each_format(capsys, seed_csv):
    code, out, _ = run(capsys, "fit", seed_csv, "y ~ x + (1 | p)")
    assert code == 0 and "REML criterion at convergence: -88.6" in out
    code, out, _ = run(capsys, "fit", seed_csv, "y ~ x + (1 | p)", "--ml", "--format", "json")
    assert code == 0 and json.loads(out)["reml"] is False
    code, out, _ = run(capsys, "fit", seed_csv, "y ~ x + (1 | p)", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "term,estimate,se,t"


def test_bootstrap_and_profile_verbs(capsys, seed_csv):
    code, out, _ = run(capsys, "bootstrap", seed_csv, "y ~ x + (1 | p)", "--nsim", "200", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "parameter,original,bias,sd,2.5 %,97.5 %"
    code, out, _ = run(capsys, "profile", seed_csv, "y ~ x + (1 | p)", "--level", "0.9")
    assert code == 0 and "5 %" in out and "sd_(Intercept)|p" in out


def test_compare_on_a_csv(capsys, seed_csv, tmp_path):
    code, out, _ = run(
        capsys, "compare", seed_csv, "y ~ x + (1 | p)", "--nsim", "300", "--out", tmp_path / "figs"
    )
    assert code == 0
    assert (tmp_path / "figs" / "seed data_comparison.png").exists()
    code, _, err = run(capsys, "compare", seed_csv, "y ~ x + (x | p)", "--nsim", "10")
    assert code == 2 and "one random intercept" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "missing.csv", "y ~ x + (1 | p)"], "no such file: missing.csv"),
        (["fit", "{csv}", "y ~ z + (1 | p)"], "column 'z' named in the formula is not in the data"),
        (["fit", "{csv}", "y ~ x + 1 | p"], "must be in parentheses (at position 10)"),
        (["fit", "{csv}", "y ~ x + (1 | p"], "unmatched '('"),
        (["fit", "{csv}", "y ~ x + (1 | p)", "--factor", "q"], "--factor 'q': no such column"),
        (["fit", "{bad}", "y ~ x + (1 | p)"], "cannot read"),
        (["fit", "{dir}", "y ~ x + (1 | p)"], "is a folder"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(capsys, seed_csv, tmp_path, argv, message):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x00\xff\xfe binary \x00 junk")
    argv = [a.format(csv=seed_csv, bad=bad, dir=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("mixedmodels: error:")
    assert message in err
    assert "Traceback" not in err


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "mixedmodels demo" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("fake.parquet", b"x,y\n1,2\n", "cannot read"),
        ("fake.feather", b"x,y\n1,2\n", "cannot read"),
        ("broken.csv", b'a,b\n1,2,3,4\n"unterminated\n', "cannot read"),
        ("empty.csv", b"", "cannot read"),
    ],
)
def test_malformed_files_and_wrong_types(capsys, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    code, out, err = run(capsys, "fit", path, "y ~ x + (1 | g)")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("mixedmodels: error:") and ("needs pyarrow" in err or message in err)


@pytest.fixture
def cbpp_csv():
    from pathlib import Path

    return Path(__file__).parent / "data" / "cbpp.csv"


CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def test_fit_glmer_prints_lme4s_summary_and_values(capsys, cbpp_csv):
    code, out, err = run(
        capsys, "fit", cbpp_csv, CBPP, "--family", "binomial", "--link", "probit", "--factor", "period"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:4] == [
        "Generalized linear mixed model fit by maximum likelihood (Laplace",
        "  Approximation) [glmerMod]",
        " Family: binomial  ( probit )",
        f"Formula: {CBPP}",
    ]
    # lme4: glmer(CBPP, cbpp, binomial(link = "probit")) prints these criteria
    assert "   195.2    205.4    -92.6    185.2       51 " in lines
    code, out, err = run(
        capsys, "fit", cbpp_csv, CBPP, "--family", "binomial", "--link", "probit", "--nagq", "9",
        "--factor", "period", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert (got["family"], got["link"], got["nagq"]) == ("binomial", "probit", 9)
    # lme4 (nAGQ = 9): fixef and logLik
    want = {
        "(Intercept)": -0.8320172985,
        "period2": -0.5262744918,
        "period3": -0.6147719903,
        "period4": -0.7975292226,
    }
    assert got["fixef"] == pytest.approx(want, rel=1e-3)
    assert got["se"]["(Intercept)"] == pytest.approx(0.1261750102, rel=1e-3)
    assert got["loglik"] >= -50.588941067 - 1e-3
    code, out, _ = run(
        capsys, "fit", cbpp_csv, CBPP, "--family", "binomial", "--factor", "period", "--format", "csv"
    )
    assert code == 0 and out.splitlines()[0] == "term,estimate,se,z"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--link", "probit"], "--link and --nagq need --family"),
        (["--family", "binomial", "--ml"], "always by maximum likelihood"),
        (["--family", "binomial", "--nagq", "-1"], "nagq must be a non-negative integer"),
        (["--family", "poisson", "--link", "probit"], "probit"),
    ],
)
def test_fit_glmer_bad_options(capsys, cbpp_csv, extra, message):
    code, out, err = run(capsys, "fit", cbpp_csv, CBPP, *extra)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert message in err


def test_power_of_a_factor_as_a_whole(capsys):
    argv = ["power", "cake", "angle ~ recipe + temp + (1 | replicate)", "--term", "recipe"]
    assert main([*argv, "--effect", "0,2", "--nsim", "20", "--seed", "3"]) == 0
    assert "Power for 'recipe' = (0, 2) (likelihood-ratio test" in capsys.readouterr().out


def test_a_reader_that_stops_reading_gets_no_traceback():
    """`mixedmodels fit ... | head`: the output's reader closes the pipe; no BrokenPipeError
    traceback on stderr (trial)."""
    path = Path(datasets.__file__).parent / "sleepstudy.csv"
    argv = [sys.executable, "-m", "mixedmodels", "fit", str(path), "Reaction ~ Days + (Days | Subject)"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    err = process.stderr.read().decode()
    process.wait()
    assert "Traceback" not in err and process.returncode == 0
