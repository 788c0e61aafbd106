"""How a fit with glmmTMB's zero-inflation or dispersion model is shown and predicts, against
glmmTMB 1.1.5: the summary's sections, the HTML, ``predict`` of every type on the fit's rows and on
new data with a level not in the fit, and the Pearson and response residuals.

References: tests/reference/families/{salamanders_zinb2,owls_nb1_zi,salamanders_hurdle_nb2,
gaussian_dispformula}.json (the shared fits) and zero_inflation_report.json (written by
make_zero_inflation_report.R: summaries, predictions, residuals; also of a zero-inflated Gaussian,
whose summary has glmmTMB's "Residual" row).

The zero-inflated salamanders model's zi coefficient ``sppGP`` runs to -infinity (glmmTMB stops at
-15.9, ours elsewhere): its rows' ``zprob`` are ~1e-8 in both and their ``zlink`` differ, so those
are compared with an absolute tolerance (zprob) or left out (zlink, the sppGP row of the table).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm

HERE = Path(__file__).parent
FAMILIES = HERE / "reference" / "families"
REPORT = json.loads((FAMILIES / "zero_inflation_report.json").read_text())
TYPES = ("link", "response", "conditional", "zprob", "zlink", "disp")

CASES = {
    "salamanders_zinb2": ("salamanders.csv", ["site", "mined", "spp"]),
    "owls_nb1_zi": ("owls.csv", ["Nest", "FoodTreatment", "SexParent"]),
    "salamanders_hurdle_nb2": ("salamanders.csv", ["site", "mined", "spp"]),
    "gaussian_dispformula": ("hetero_generated.csv", ["g", "grp"]),
}


def _reference(case: str) -> dict:
    return json.loads((FAMILIES / f"{case}.json").read_text())


def _categorical(data: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    data = data.copy()
    for c in factors:
        data[c] = pd.Categorical(data[c].astype(str))
    return data


def _fit(case: str) -> mm.GlmerFit:
    ref = _reference(case)
    name, factors = CASES[case]
    data = _categorical(pd.read_csv(HERE / "data" / name), factors)
    zi = None if ref["ziformula"] == "~0" else ref["ziformula"]
    disp = None if ref["dispformula"] == "~1" else ref["dispformula"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the zinb2 fit's flat direction (sppGP)
        return mm.glmer(ref["formula"], data, family=ref["family"], ziformula=zi, dispformula=disp)


@pytest.fixture(scope="module")
def fits() -> dict[str, mm.GlmerFit]:
    return {case: _fit(case) for case in CASES}


def _block(text: str, title: str, first: bool = False) -> list[str]:
    """The lines of a summary's section from its title to the next blank line (the last section
    of the title: "Conditional model" titles the random effects' table first; ``first``: the
    first)."""
    lines = text.splitlines()
    start = lines.index(f"{title}:") if first else len(lines) - 1 - lines[::-1].index(f"{title}:")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def _table(text: str, title: str) -> dict[str, tuple[float, float]]:
    """Estimate and standard error per row of a summary's coefficient table."""
    rows = {}
    for line in _block(text, title)[2:]:
        if line.startswith("---"):
            break
        name, estimate, se = re.match(r"(\S+)\s+(\S+)\s+(\S+)", line).groups()  # type: ignore[union-attr]
        rows[name] = (float(estimate), float(se))
    return rows


def _r_summary(case: str) -> str:
    return "\n".join(REPORT[case]["summary"])


# ----------------------------------------------------------------------------- summary
@pytest.mark.parametrize("case", list(CASES))
def test_summary_heading_is_glmmtmbs(fits, case):
    ours, theirs = fits[case].summary().splitlines(), _r_summary(case).splitlines()
    for label in ("Zero inflation:", "Dispersion:"):
        expected = [line for line in theirs if line.startswith(label)]
        assert [line for line in ours if line.startswith(label)] == expected
    assert ours[0] == theirs[0]  # " Family: nbinom2  ( log )"


@pytest.mark.parametrize("case", list(CASES))
def test_summary_sections_and_numbers(fits, case):
    fit, ref = fits[case], _reference(case)
    text = fit.summary()
    for part, title in (("zi", "Zero-inflation model"), ("disp", "Dispersion model")):
        shown = ref[part] is not None and not (part == "disp" and ref["dispformula"] == "~1")
        assert (f"{title}:" in text) == shown
        if not shown:
            continue
        table = _table(text, title)
        assert list(table) == ref[part]["names"]
        for name, estimate, se in zip(ref[part]["names"], ref[part]["estimate"], ref[part]["se"]):
            if case == "salamanders_zinb2" and name == "sppGP":
                continue  # runs to -infinity (the module)
            assert table[name][0] == pytest.approx(estimate, abs=2e-4)
            assert table[name][1] == pytest.approx(se, abs=2e-4)
    cond = _table(text, "Conditional model")
    assert list(cond) == ref["cond"]["names"]
    dispersion = [line for line in text.splitlines() if line.startswith("Dispersion parameter")]
    expected = [line for line in _r_summary(case).splitlines() if line.startswith("Dispersion parameter")]
    assert dispersion == expected  # "... nbinom2 family (): 1.45 ", none with a dispersion model


@pytest.mark.parametrize(
    ("case", "title"), [("owls_nb1_zi", "Zero-inflation model"), ("gaussian_dispformula", "Dispersion model")]
)
def test_auxiliary_table_exactly_as_glmmtmb_prints_it(fits, case, title):
    assert _block(fits[case].summary(), title) == _block(_r_summary(case), title)


def test_gaussian_residual_row_is_na_with_a_dispersion_model(fits):
    fit = fits["gaussian_dispformula"]
    assert np.isnan(fit.sigma)
    ours = _block(fit.summary(), "Conditional model", first=True)
    assert ours == _block(_r_summary("gaussian_dispformula"), "Conditional model", first=True)
    assert " Residual                NA       NA   " in fit.summary().splitlines()


def test_repr_names_the_auxiliary_models(fits):
    assert "zi='~spp'" in repr(fits["salamanders_zinb2"])
    assert "disp='~grp'" in repr(fits["gaussian_dispformula"])


@pytest.mark.parametrize("case", list(CASES))
def test_html_has_the_auxiliary_tables(fits, case):
    fit = fits[case]
    page = fit._repr_html_()
    has_disp_model = fit.model.aux is not None and fit.model.aux.disp is not None
    assert page.count("<table") == 3 + (fit.zi is not None) + has_disp_model
    assert "Conditional model</p>" in page
    assert ("Zero-inflation model</p>" in page) == (fit.zi is not None)
    assert ("Dispersion model</p>" in page) == has_disp_model
    for part, label in ((fit.zi, "Zero inflation"), (fit.disp if has_disp_model else None, "Dispersion")):
        if part is not None:
            assert f"{label}: {part.formula}" in page
            assert all(f">{name}</th>" in page for name in part.names)


# ----------------------------------------------------------------------------- predict
def _close(case: str, kind: str, ours, theirs) -> None:
    ours = np.asarray(ours, dtype=float)
    theirs = np.array([-np.inf if v is None else v for v in theirs], dtype=float)
    if case == "salamanders_zinb2" and kind in ("zprob", "zlink"):
        keep = theirs > -10 if kind == "zlink" else np.ones(len(theirs), dtype=bool)  # sppGP: the module
        np.testing.assert_allclose(ours[keep], theirs[keep], rtol=1e-4, atol=1e-6)
        return
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", TYPES)
def test_predict_types_on_the_fits_rows(fits, case, kind):
    ours = fits[case].predict(type=kind).to_numpy()[:6]
    _close(case, kind, ours, REPORT[case]["predict_head"][kind])


@pytest.mark.parametrize("case", list(CASES))
def test_fitted_and_predict_heads_match_the_reference(fits, case):
    fit, ref = fits[case], _reference(case)
    n = len(ref["fitted_head"])
    np.testing.assert_allclose(fit.fitted.to_numpy()[:n], ref["fitted_head"], rtol=1e-4)
    np.testing.assert_allclose(
        fit.predict(type="response").to_numpy()[:n], ref["predict_response_head"], rtol=1e-4
    )
    np.testing.assert_allclose(
        fit.predict(type="link").to_numpy()[:n], ref["predict_cond_link_head"], rtol=1e-4
    )
    population = fit.predict(type="response", re_form="~0").to_numpy()[:n]
    np.testing.assert_allclose(population, ref["predict_population_response_head"], rtol=1e-4)


def _newdata(case: str) -> pd.DataFrame:
    return pd.DataFrame(REPORT[case]["newdata"])


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("kind", TYPES)
def test_predict_types_on_new_data_with_a_new_level(fits, case, kind):
    ours = fits[case].predict(_newdata(case), type=kind, allow_new_levels=True)
    assert len(ours) == len(REPORT[case]["newdata"])
    _close(case, kind, ours.to_numpy(), REPORT[case]["predict_new"][kind])


def test_new_level_refused_without_allow_new_levels(fits):
    with pytest.raises(Exception, match="NEW"):
        fits["salamanders_hurdle_nb2"].predict(_newdata("salamanders_hurdle_nb2"), type="zprob")


def test_rows_missing_an_auxiliary_variable_are_dropped_from_every_type(fits):
    fit = fits["salamanders_hurdle_nb2"]
    new = _newdata("salamanders_hurdle_nb2").iloc[:4].copy()
    new.loc[1, "spp"] = np.nan
    for kind in TYPES:
        out = fit.predict(new, type=kind)
        assert list(out.index) == [0, 2, 3]
        full = fit.predict(new.drop(index=1), type=kind)
        np.testing.assert_allclose(out.to_numpy(), full.to_numpy())


def test_predict_refuses_an_unknown_type(fits):
    with pytest.raises(ValueError, match="zprob"):
        fits["owls_nb1_zi"].predict(type="probability")


# ----------------------------------------------------------------------------- residuals
@pytest.mark.parametrize("case", ["salamanders_zinb2", "owls_nb1_zi", "salamanders_hurdle_nb2"])
def test_pearson_residual_quantiles_are_glmmtmbs(fits, case):
    r = fits[case].resid("pearson").to_numpy()
    quantiles = np.quantile(r, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(quantiles, _reference(case)["resid_pearson_quantiles"], rtol=1e-4, atol=5e-5)
    np.testing.assert_allclose(r[:6], REPORT[case]["resid_pearson_head"], rtol=1e-4, atol=5e-5)


@pytest.mark.parametrize("case", list(CASES))
def test_response_residuals_are_glmmtmbs(fits, case):
    r = fits[case].resid("response").to_numpy()[:6]
    np.testing.assert_allclose(r, REPORT[case]["resid_response_head"], rtol=1e-4, atol=5e-5)


# ----------------------------------------------------------------------------- a zero-inflated Gaussian
@pytest.fixture(scope="module")
def gaussian_zi() -> mm.GlmerFit:
    """The heteroscedastic data's responses below 1 set to 0, a zero-inflated Gaussian (the R
    script's ``gaussian_zi``)."""
    data = _categorical(pd.read_csv(HERE / "data" / "hetero_generated.csv"), ["g", "grp"])
    data["y"] = np.where(data["y"] < 1, 0.0, data["y"])
    return mm.glmer("y ~ x + (1 | g)", data, family="gaussian", ziformula="~1")


def test_zero_inflated_gaussian_summary_has_glmmtmbs_residual_row(gaussian_zi):
    ours, theirs = gaussian_zi.summary(), _r_summary("gaussian_zi")
    assert _block(ours, "Conditional model", first=True) == _block(theirs, "Conditional model", first=True)
    assert _block(ours, "Zero-inflation model") == _block(theirs, "Zero-inflation model")
    line = "Dispersion estimate for gaussian family (sigma^2):  1.2 "
    assert line in ours.splitlines() and line in theirs.splitlines()


def test_zero_inflated_gaussian_predicts_and_its_pearson_residuals(gaussian_zi):
    for kind in TYPES:
        _close(
            "gaussian_zi",
            kind,
            gaussian_zi.predict(type=kind).to_numpy()[:6],
            REPORT["gaussian_zi"]["predict_head"][kind],
        )
    r = gaussian_zi.resid("pearson").to_numpy()[:6]
    np.testing.assert_allclose(r, REPORT["gaussian_zi"]["resid_pearson_head"], rtol=1e-4, atol=1e-6)
