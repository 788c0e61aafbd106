"""The seed's comparison for a GLMM: glmer beside glm with sum-coded groups (cbpp), the bootstrap
both ways, the labels, the figure, the command line and bad input."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.app.cli import main
from mixedmodels.app.compare import _tails

FORMULA = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
NSIM = 1000
# The bootstrap SD estimates the exact SD of the estimator; the model's standard error is the
# asymptotic (Wald) approximation of it, a few percent off for cbpp's 15 herds whatever nsim is
# (with 2000 replicates each way: 3.5% for glmer's SE, 6% for glm's). On the log scale:
MODEL_GAP = 0.08


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    return datasets.load("cbpp")


@pytest.fixture(scope="module")
def comparison(cbpp):
    return mm.compare(FORMULA, cbpp, nsim=NSIM, seed=1, family="binomial", progress=False)


def test_the_table_holds_the_separate_fits_numbers(comparison, cbpp):
    mixed = mm.glmer(FORMULA, cbpp, family="binomial")
    frame = cbpp.assign(herd=pd.Categorical(cbpp["herd"]))
    fixed = mm.glm(
        "cbind(incidence, size - incidence) ~ period + herd", frame, "binomial", contrasts={"herd": "sum"}
    )
    t = comparison.table
    assert list(t.index) == ["(Intercept)", "period2", "period3", "period4"]
    assert_allclose(t["glmer estimate"], mixed.fixef, rtol=1e-10)
    assert_allclose(t["glmer SE"], mixed.se, rtol=1e-10)
    assert_allclose(t["glm estimate"], fixed.coef[t.index], rtol=1e-10)
    assert_allclose(t["glm SE"], fixed.se[t.index], rtol=1e-10)
    # lme4: 0.2312140 and R's glm with contr.sum herd: 0.1699777
    assert t.loc["(Intercept)", "glmer SE"] == pytest.approx(0.2312140, rel=1e-3)
    assert t.loc["(Intercept)", "glm SE"] == pytest.approx(0.1699777, rel=1e-5)
    wald = mixed.confint("wald").loc["(Intercept)"]
    assert_allclose(t.loc["(Intercept)", ["Wald lower", "Wald upper"]], wald, rtol=1e-10)


def _sd_tolerance(values: np.ndarray) -> float:
    """Four Monte-Carlo standard errors of log(SD) from ``values``' kurtosis, plus MODEL_GAP."""
    values = values[np.isfinite(values)]
    z = (values - values.mean()) / values.std()
    kurtosis = np.mean(z**4)
    return 4 * math.sqrt((kurtosis - 1) / (4 * len(values))) + MODEL_GAP


@pytest.mark.parametrize(
    ("boot", "own", "other"), [("boot_new_u", "glmer SE", "glm SE"), ("boot_fixed_u", "glm SE", "glmer SE")]
)
def test_each_bootstrap_reproduces_its_models_intercept_se(comparison, boot, own, other):
    result = getattr(comparison, boot)
    row = comparison.table.loc["(Intercept)"]
    sd = result.sd()["(Intercept)"]
    assert result.nsim == NSIM and result.n_failed == 0
    assert abs(math.log(sd / row[own])) < _sd_tolerance(result.replicates["(Intercept)"].to_numpy())
    # glmer's SE is 1.36 times glm's: the bootstrap SD is much nearer its own model's
    assert abs(math.log(sd / row[own])) < 0.5 * abs(math.log(sd / row[other]))


def test_labels_and_sentences_name_glmer_and_glm(comparison):
    assert comparison.labels == ("glmer", "glm") and comparison.generalized
    report = comparison.report()
    header = report.splitlines()[2].split()
    assert header[:6] == ["glmer", "estimate", "glmer", "SE", "glm", "estimate"]
    assert "lmer estimate" not in header and " lm " not in report
    assert "is 1.4 times the fixed-effects model's" in report  # not "nearly the same"
    assert "(use_u=False) gives" in report and "reproduces the mixed model's standard error" in report
    assert "reproduces the fixed-effects model's standard error" in report
    assert "on the logit scale the mixed model's intercept is the mean over a population" in report
    assert "'herd'" in report and "residual noise" not in report
    assert str(comparison) == report  # print(comparison) shows the report, not the dataclass's fields
    assert repr(comparison) == "<Comparison of glmer and glm: 4 fixed effects, group 'herd'>"


def test_far_out_replicates_are_counted_and_left_out_of_the_sd():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(-1.5, 0.4, 998), [-22.0, -21.0]])
    text = _tails(values, -1.5, 0.42)
    assert text.startswith(": 2 of 1000 replicates lie more than 10 standard errors")
    rest = float(re.search(r"without them the SD is ([-+.\de]+?)\. ", text).group(1))
    assert rest == pytest.approx(np.std(values[:998], ddof=1), rel=1e-3)
    assert _tails(values[:998], -1.5, 0.42) == "."


def test_the_figure_shows_proportions_against_period(comparison):
    fig = comparison.figure()
    data_ax = fig.axes[0]
    assert len(fig.axes) == 3
    assert [t.get_text() for t in data_ax.get_xticklabels()] == ["1", "2", "3", "4"]
    assert data_ax.get_xlabel() == "period"
    assert data_ax.get_ylabel() == "incidence, as a proportion of the trials"
    assert len(data_ax.get_lines()) == 15  # one line of fitted values per herd
    points = np.concatenate([c.get_offsets()[:, 1] for c in data_ax.collections])
    assert points.min() >= 0 and points.max() <= 1 and len(points) == 56
    assert "(use_u=False)" in fig.axes[1].get_title() and "(use_u=True)" in fig.axes[2].get_title()


def test_cli_compare_with_a_family_writes_the_report_and_the_figure(capsys, tmp_path):
    argv = ["compare", "cbpp", FORMULA, "--family", "binomial", "--nsim", "100", "--out", str(tmp_path)]
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "glmer estimate" in out.out and "glm SE" in out.out
    assert "Generalized linear mixed model fit by maximum likelihood" in out.out
    assert 'contrasts = list(herd = "contr.sum")' in out.out
    assert (tmp_path / "cbpp_comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["cbind(incidence, size - incidence) ~ period + (period | herd)", "--family", "binomial"],
            "one random intercept (1 | g)",
        ),
        (
            ["cbind(incidence, size - incidence) ~ period", "--family", "binomial"],
            "one random intercept (1 | g)",
        ),
        (["incidence ~ period + (1 | herd)", "--link", "probit"], "link='probit' needs a family"),
        ([FORMULA, "--family", "poisson"], "a cbind(successes, failures) response is binomial"),
    ],
)
def test_cli_bad_input_is_one_clear_line(capsys, argv, message):
    code = main(["compare", "cbpp", *argv, "--nsim", "10"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_compare_refuses_a_family_it_does_not_fit(cbpp):
    with pytest.raises(ValueError, match="family must be 'binomial' or 'poisson'"):
        mm.compare(FORMULA, cbpp, nsim=10, family="gaussian", progress=False)
