"""What a statistician reads: anova printed as R prints it (printed.json, made by
tests/reference/make_printed_reference.R), p-values as format.pval, summary(ddf=) checked,
and HTML tables (not <pre> text) for notebooks."""

import html.parser
import warnings

import numpy as np
import pytest
from conftest import load_reference

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.report.diagnostics import profile_html
from mixedmodels.report.rformat import format_pvalues, html_table

R = load_reference("printed")


@pytest.fixture(scope="module")
def sleepstudy():
    return datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def fits(sleepstudy):
    d = sleepstudy
    return {
        "fm0": mm.lmer("Reaction ~ Days + (1 | Subject)", d),
        "fm1": mm.lmer("Reaction ~ Days + (Days | Subject)", d),
        "fm2": mm.lmer("Reaction ~ 1 + (Days | Subject)", d),
        "fm1ml": mm.lmer("Reaction ~ Days + (Days | Subject)", d, reml=False),
        "fq": mm.lmer("Reaction ~ Days + I(Days^2) + (Days | Subject)", d, reml=False),
        "l0": mm.lm("Reaction ~ Days", d),
    }


# ----------------------------------------------------------------------------- anova
@pytest.mark.parametrize(
    "case, names",
    [
        ("anova_two", ["fm0", "fm1"]),
        ("anova_three", ["fm2", "fm0", "fm1"]),
        ("anova_lm", ["fm1", "l0"]),
        ("anova_ml_not_significant", ["fm1ml", "fq"]),
    ],
)
def test_anova_prints_as_r_does(fits, case, names):
    result = mm.anova(*(fits[n] for n in names), names=names)
    assert str(result).splitlines() == R[case]


def test_anova_refitting_message_once_and_no_warning(fits):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = mm.anova(fits["fm0"], fits["fm1"], names=["a", "b"])
    text, page = str(result), result._repr_html_()
    assert text.count("refitting model(s) with ML (instead of REML)") == 1
    assert page.count("refitting model(s) with ML (instead of REML)") == 1
    ml_only = mm.anova(fits["fm1ml"], fits["fq"])
    assert not ml_only.refitted and "refitting" not in str(ml_only) + ml_only._repr_html_()


def test_anova_labels_rows_by_formulas_by_default(fits):
    result = mm.anova(fits["fm1"], fits["fm0"])
    lines = str(result).splitlines()
    assert lines[1] == "Data: data" and "Models:" not in lines  # the labels are the formulas
    first, second = lines[3], lines[4]
    assert first.startswith("Reaction ~ Days + (1 | Subject) ") and first.split()[7:9] == ["4", "1802.1"]
    assert second.startswith("Reaction ~ Days + (Days | Subject) ") and second.split()[7:9] == ["6", "1763.9"]
    assert list(result.table.index) == [fits["fm0"].formula, fits["fm1"].formula]


def test_anova_same_formulas_get_generic_names(fits):
    result = mm.anova(fits["fm1"], fits["fm1ml"])
    assert list(result.table.index) == ["MODEL1", "MODEL2"]
    assert "MODEL1: Reaction ~ Days + (Days | Subject)" in str(result)


def test_anova_df_and_npar_are_integers(fits):
    t = mm.anova(fits["fm0"], fits["fm1"], fits["fm2"], names=["a", "b", "c"]).table
    assert str(t["npar"].dtype) == "int64" and str(t["Df"].dtype) == "Int64"
    assert t["Df"].isna().iloc[0] and list(t["Df"].iloc[1:]) == [1, 1]
    assert " 2.0 " not in str(mm.anova(fits["fm0"], fits["fm1"]))


@pytest.mark.parametrize(
    "names, message",
    [(["a"], "one label per model"), (["a", "a"], "distinct"), ("ab", "one label per model")],
)
def test_anova_checks_names(fits, names, message):
    with pytest.raises(ValueError, match=message):
        mm.anova(fits["fm0"], fits["fm1"], names=names)


@pytest.mark.parametrize(
    "p, digits, want",
    [
        ([1e-20, 3.26e-06], 3, ["< 2e-16", "3.26e-06"]),  # R: a space when the others are long
        ([1e-20, 0.5], 3, ["<2e-16", "0.5"]),
        ([1e-20, 0.00123], 3, ["< 2e-16", "0.00123"]),
        ([1e-20], 4, ["< 2.2e-16"]),
        ([1e-20, 7.072e-10], 4, ["< 2.2e-16", "7.072e-10"]),
        ([0.0123, 0.5], 4, ["0.0123", "0.5000"]),
        ([np.nan, 0.2], 3, ["NA", "0.2"]),
    ],
)
def test_pvalues_as_format_pval(p, digits, want):
    """Each case checked in R 4.2.2: format.pval(p, digits = digits)."""
    assert format_pvalues(p, digits) == want


def test_lm_summary_uses_r_separator_for_tiny_pvalues(sleepstudy):
    """R's summary(lm(Reaction ~ Days, sleepstudy)): '< 2e-16' beside '9.89e-15'."""
    line = [s for s in str(mm.lm("Reaction ~ Days", sleepstudy)).splitlines() if s.startswith("(Intercept)")]
    assert line == ["(Intercept)  251.405      6.610  38.033  < 2e-16 ***"]


# ------------------------------------------------------------------------------ ddf
@pytest.mark.parametrize("ddf", ["Satterthwaite", "satterthwaite", "auto", None, "lme4"])
def test_summary_accepts_documented_ddf(fits, ddf):
    text = fits["fm1"].summary(ddf=ddf)
    with_df = ddf not in (None, "lme4")
    assert ("Satterthwaite's method" in text) == with_df
    assert ("Pr(>|t|)" in text) == with_df


@pytest.mark.parametrize("ddf", ["Kenward-Roger", "kenward-roger", "KR"])
def test_summary_accepts_kenward_roger(fits, ddf):
    text = fits["fm1"].summary(ddf=ddf)
    assert "Kenward-Roger's method" in text and "Satterthwaite" not in text
    assert "Pr(>|t|)" in text


@pytest.mark.parametrize("ddf", ["satterthwait", "residual", "", 3, True])
def test_summary_refuses_unknown_ddf(fits, ddf):
    with pytest.raises(ValueError, match="ddf must be 'auto', 'Satterthwaite', 'lme4' or None"):
        fits["fm1"].summary(ddf=ddf)


# ----------------------------------------------------------------------------- HTML
class _Tables(html.parser.HTMLParser):
    """The text of each table cell, and the tags seen."""

    def __init__(self):
        super().__init__()
        self.tags, self.rows, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = (tag, dict(attrs).get("style", ""), [])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[2].append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append((self._cell[0], self._cell[1], "".join(self._cell[2])))
            self._cell = None


def parse(page: str) -> _Tables:
    parser = _Tables()
    parser.feed(page)
    return parser


def _cells(parsed: _Tables) -> list[str]:
    return [text for row in parsed.rows for _, _, text in row]


def test_html_table_escapes_and_aligns():
    page = html_table([["<b>&", "1.5"], ["x", "-2e-16"]], ["name<", "value"], ["r1", "r2"])
    assert "<b>&" not in page and "&lt;b&gt;&amp;" in page and "name&lt;" in page
    rows = parse(page).rows
    assert rows[1][1][1].endswith("text-align:left") and rows[1][2][1].endswith("text-align:right")


def test_lmer_summary_html_has_tables_not_pre(fits):
    page = fits["fm1"]._repr_html_()
    parsed = parse(page)
    assert "pre" not in parsed.tags and parsed.tags.count("table") == 5
    cells = _cells(parsed)
    for text in ("Subject", "(Intercept)", "24.740", "0.07", "251.405", "6.825", "< 2e-16", "***", "-0.138"):
        assert text in cells, text
    assert "Random effects" in page and "Fixed effects (t tests use Satterthwaite" in page
    assert "Signif. codes" in page and "REML criterion at convergence" in cells


def test_lm_summary_html(fits):
    parsed = parse(fits["l0"]._repr_html_())
    assert "pre" not in parsed.tags and parsed.tags.count("table") == 2
    assert {"251.405", "< 2e-16", "9.89e-15", "***"} <= set(_cells(parsed))


def test_anova_html_table(fits):
    page = mm.anova(fits["fm0"], fits["fm1"], names=["fm0", "fm1"])._repr_html_()
    parsed = parse(page)
    assert "pre" not in parsed.tags and parsed.tags.count("table") == 1
    row = [text for _, _, text in parsed.rows[2]]
    assert row == ["fm1", "6", "1763.9", "1783.1", "-875.97", "1751.9", "42.139", "2", "7.072e-10", "***"]
    assert "fm1: Reaction ~ Days + (Days | Subject)" in page


def test_bootstrap_html_table(fits):
    result = mm.bootstrap(fits["l0"], 20, seed=1, progress=False)
    parsed = parse(result._repr_html_())
    assert "pre" not in parsed.tags and parsed.tags.count("table") == 1
    assert [text for _, _, text in parsed.rows[0]] == ["", "original", "bias", "std. error"]
    assert parsed.rows[1][0][2] == "(Intercept)" and parsed.rows[1][1][2] == "251.4"


def test_comparison_html_tables():
    data = datasets.load("seed")
    comparison = mm.compare("y ~ x + (1 | p)", data, nsim=20, seed=1, progress=False)
    parsed = parse(comparison._repr_html_())
    assert "pre" not in parsed.tags and parsed.tags.count("table") == 2
    assert parsed.rows[0][1][2] == "lmer estimate" and "Wald" in _cells(parsed)
    assert any(text.startswith("[") for text in _cells(parsed))


def test_profile_html_table(fits):
    prof = fits["fm0"].profile(progress=False)
    assert prof._repr_html_() == profile_html(prof)
    parsed = parse(prof._repr_html_())
    assert "pre" not in parsed.tags and parsed.tags.count("table") == 1
    assert "(Intercept)" in _cells(parsed)
