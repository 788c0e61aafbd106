"""The command line's user errors (issue 26): one line on stderr and exit status 2 for every
bad family, link, formula or column; file names made from terms; output names checked
before anything is computed."""

import pytest

from mixedmodels import datasets
from mixedmodels.app.cli import main, safe_file_name

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
SLEEP = "Reaction ~ Days + (Days | Subject)"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_line(code, out, err, message):
    assert code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("mixedmodels: error:")
    assert message in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "sleepstudy", SLEEP, "--family", "poisson", "--link", "identity"], "identity link"),
        (["fit", "cbpp", CBPP, "--family", "binomial", "--link", "bogus"], "link 'bogus'"),
        (
            ["power", "cbpp", CBPP, "--family", "poisson", "--link", "identity", "--term", "period2",
             "--effect", "1", "--nsim", "2"],
            "identity link",
        ),
        (["compare", "sleepstudy", "Reaction ~ Days + (1 | Nope)", "--nsim", "5"], "'Nope'"),
        (["bootstrap", "sleepstudy", "Reaction ~ Nope + (1 | Subject)", "--nsim", "5"], "'Nope'"),
        (["profile", "sleepstudy", "Reaction ~ Days + (1 | Nope)"], "'Nope'"),
    ],
)  # fmt: skip
def test_every_verb_reports_a_bad_family_link_or_column_in_one_line(capsys, tmp_path, argv, message):
    assert_one_line(*run(capsys, *argv, *(["--out", tmp_path] if argv[0] == "compare" else [])), message)


def test_file_names_from_terms_are_sanitized():
    assert safe_file_name("I(Days / 2)") == "I_Days_2"
    assert safe_file_name("x:z") == "x_z"
    assert safe_file_name("Subject") == "Subject"
    assert safe_file_name("../../etc") == "etc"
    assert safe_file_name("()") == "term"
    assert len(safe_file_name("x" * 300)) == 80


def test_power_curve_of_a_term_with_slashes_and_parentheses_writes_its_figure(capsys, tmp_path):
    code, out, err = run(
        capsys, "power", "sleepstudy", "Reaction ~ I(Days / 2) + (1 | Subject)",
        "--term", "I(Days / 2)", "--effect", "8", "--nsim", "3", "--along", "Subject",
        "--sizes", "4,6", "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, err
    png = tmp_path / "power_I_Days_2_Subject.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert f"figure: {png}" in out


def test_power_refuses_an_output_folder_it_cannot_make_before_fitting(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, out, err = run(
        capsys, "power", "sleepstudy", SLEEP, "--term", "Days", "--effect", "4", "--nsim", "3",
        "--along", "Subject", "--sizes", "4,6", "--out", blocker / "sub",
    )  # fmt: skip
    assert_one_line(code, out, err, "cannot make the folder")


@pytest.mark.parametrize("name", ["tidy.xlsx", "tidy", "tidy.txt"])
def test_many_refuses_a_table_name_it_cannot_write(capsys, tmp_path, name):
    data = datasets.load("sleepstudy")
    data.drop(columns="Reaction").to_csv(tmp_path / "data.csv", index=False)
    data[["Reaction"]].to_csv(tmp_path / "responses.csv", index=False)
    out_file = tmp_path / name
    code, out, err = run(
        capsys, "many", tmp_path / "data.csv", tmp_path / "responses.csv", "~ Days + (1 | Subject)",
        "--out", out_file,
    )  # fmt: skip
    assert_one_line(code, out, err, ".csv, .parquet, .pq")
    assert not out_file.exists()
    code, out, err = run(
        capsys, "many", tmp_path / "data.csv", tmp_path / "responses.csv", "~ Days + (1 | Subject)",
        "--out", tmp_path / "ok.csv", "--varpart", out_file,
    )  # fmt: skip
    assert_one_line(code, out, err, "--varpart")
    assert not (tmp_path / "ok.csv").exists()
