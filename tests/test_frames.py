"""Data inputs: a polars DataFrame gives the numbers a pandas one does (only the model's columns
converted); anything else is refused with a message that says what is accepted."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.formula import frames

pl = pytest.importorskip("polars")


def _polars(data: pd.DataFrame):
    """The same data as a polars frame (a categorical column as an Enum of its levels)."""
    columns = {}
    for name in data.columns:
        values = data[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = [str(c) for c in values.cat.categories]
            columns[name] = pl.Series(values.astype(str).to_numpy(), dtype=pl.Enum(levels))
        else:
            columns[name] = values.to_numpy()
    return pl.DataFrame(columns)


@pytest.fixture(scope="module")
def sleepstudy():
    return datasets.load("sleepstudy")


def test_lmer_on_polars_gives_the_pandas_numbers(sleepstudy):
    formula = "Reaction ~ Days + (Days | Subject)"
    want = mm.lmer(formula, sleepstudy)
    got = mm.lmer(formula, _polars(sleepstudy))
    np.testing.assert_array_equal(got.fixef, want.fixef)
    np.testing.assert_array_equal(got.theta, want.theta)
    assert got.objective == want.objective and got.sigma == want.sigma
    assert got.summary() == want.summary()
    pd.testing.assert_frame_equal(got.ranef()["Subject"], want.ranef()["Subject"])


def test_lm_on_polars_with_factor_and_weights_column():
    seed = datasets.load("seed")
    seed = seed.assign(w=np.linspace(0.5, 2, len(seed)))
    want = mm.lm("y ~ x + p", seed, contrasts={"p": "sum"}, weights="w")
    got = mm.lm("y ~ x + p", _polars(seed), contrasts={"p": "sum"}, weights="w")
    np.testing.assert_array_equal(got.coef, want.coef)
    np.testing.assert_array_equal(got.se, want.se)


def test_glmer_on_polars_gives_the_pandas_numbers():
    """glmer read a polars frame as a pandas one (it failed in the check of duplicated columns)."""
    cbpp = datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    want = mm.glmer(formula, cbpp, family="binomial")
    got = mm.glmer(formula, _polars(cbpp), family="binomial")
    np.testing.assert_array_equal(got.fixef, want.fixef)
    assert got.loglik == want.loglik


def test_polars_predict_update_and_type3_anova(sleepstudy):
    data = _polars(sleepstudy)
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    ref = mm.lmer("Reaction ~ Days + (Days | Subject)", sleepstudy)
    new = pl.DataFrame({"Days": [0.0, 5.0, 3.0], "Subject": ["308", "new", "372"]})
    got = fit.predict(new, allow_new_levels=True)
    want = ref.predict(new.to_pandas(), allow_new_levels=True)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert list(got.index) == [0, 1, 2]
    assert fit.update(reml=False).objective == ref.update(reml=False).objective
    np.testing.assert_allclose(fit.anova()["F value"], ref.anova()["F value"], rtol=1e-12)
    lm_fit = mm.lm("Reaction ~ Days", data)
    np.testing.assert_allclose(
        lm_fit.predict(new), mm.lm("Reaction ~ Days", sleepstudy).predict(new.to_pandas())
    )


def test_compare_on_polars():
    seed = datasets.load("seed")
    want = mm.compare("y ~ x + (1 | p)", seed, nsim=10, seed=3, progress=False)
    got = mm.compare("y ~ x + (1 | p)", _polars(seed), nsim=10, seed=3, progress=False)
    pd.testing.assert_frame_equal(got.table, want.table)


def test_only_the_model_columns_are_converted(sleepstudy, monkeypatch):
    data = _polars(sleepstudy).with_columns(
        pl.Series("notes", [["x"]] * len(sleepstudy)),  # a list column pandas would hold as objects
        pl.Series("unused", np.arange(len(sleepstudy))),
    )
    converted = []
    original = frames._polars_column

    def spy(series):
        converted.append((series.name, len(series)))
        return original(series)

    monkeypatch.setattr(frames, "_polars_column", spy)
    mm.lmer("Reaction ~ Days + (1 | Subject)", data)
    with_rows = {name for name, n in converted if n > 0}
    assert with_rows == {"Reaction", "Days", "Subject"}


def test_polars_column_types_convert_as_pandas_reads_them():
    data = pl.DataFrame(
        {
            "y": [1.0, 2.5, None, 4.0, 3.0, 6.0],
            "n": pl.Series([1, None, 3, 4, 5, 6], dtype=pl.Int32),
            "s": ["b", "a", None, "b", "a", "c"],
            "c": pl.Series(["b", "a", "a", "b", "a", "c"], dtype=pl.Categorical),
            "e": pl.Series(["lo", "hi", "lo", "hi", "lo", "hi"], dtype=pl.Enum(["lo", "hi"])),
            "b": [True, None, False, True, False, True],
        }
    )
    out = frames.polars_to_pandas(data)
    assert out["y"].dtype == np.float64 and np.isnan(out["y"][2])
    assert out["n"].dtype == np.float64 and np.isnan(out["n"][1])
    assert out["s"].isna().tolist() == [False, False, True, False, False, False]
    assert not isinstance(out["c"].dtype, pd.CategoricalDtype)  # levels sorted as for strings
    assert list(out["e"].cat.categories) == ["lo", "hi"]  # an Enum keeps its order
    assert pd.api.types.is_bool_dtype(out["b"]) and out["b"].isna().sum() == 1
    assert isinstance(out.index, pd.RangeIndex)


def test_polars_enum_sets_the_reference_level():
    seed = datasets.load("seed")
    order = [str(c) for c in reversed(seed.p.cat.categories)]  # "10" first: the reference level
    data = _polars(seed).with_columns(pl.col("p").cast(pl.String).cast(pl.Enum(order)))
    fit = mm.lm("y ~ x + p", data)
    assert fit.names[2] == "p9"
    want = mm.lm("y ~ x + p", seed.assign(p=pd.Categorical(seed.p.astype(str), order)))
    assert fit.names == want.names
    np.testing.assert_array_equal(fit.coef, want.coef)


def test_polars_strings_are_factors_with_sorted_levels():
    data = pl.DataFrame({"y": [1.0, 2.0, 4.0, 3.5, 0.5, 1.5], "g": ["b", "a", "c", "b", "a", "c"]})
    for column in (data, data.with_columns(pl.col("g").cast(pl.Categorical))):
        assert mm.lm("y ~ g", column).names == ["(Intercept)", "gb", "gc"]


def test_caller_polars_frame_is_not_modified(sleepstudy):
    data = _polars(sleepstudy)
    before = data.clone()
    mm.lmer("Reaction ~ Days + (1 | Subject)", data).predict(data.head(4))
    assert data.equals(before) and data.columns == before.columns


def test_polars_missing_column_names_the_columns(sleepstudy):
    with pytest.raises(mm.DataError, match="column 'Dayz' named in the formula is not in the data"):
        mm.lmer("Reaction ~ Dayz + (1 | Subject)", _polars(sleepstudy))


@pytest.mark.parametrize(
    "data, hint",
    [
        ({"y": [1.0]}, "not dict; for a dict of columns use pandas.DataFrame"),
        (np.zeros((3, 2)), "not numpy.ndarray; a model names its columns"),
        ([[1, 2]], "not list; for a list of rows"),
        ("data.csv", "not str"),
    ],
)
def test_other_objects_are_refused_saying_what_is_accepted(data, hint):
    with pytest.raises(TypeError, match="a pandas DataFrame, a polars DataFrame or a Dask DataFrame") as info:
        mm.lmer("y ~ 1 + (1 | g)", data)
    assert hint in str(info.value)
    with pytest.raises(TypeError, match="data must be a pandas DataFrame or a polars DataFrame, not") as info:
        mm.lm("y ~ 1", data)
    assert hint in str(info.value)
    with pytest.raises(TypeError, match="a pandas DataFrame or a polars DataFrame"):
        mm.compare("y ~ x + (1 | p)", data, nsim=2, progress=False)


def test_lazy_frame_and_bad_newdata_are_refused(sleepstudy):
    with pytest.raises(TypeError, match=r"collect the LazyFrame first \(\.collect\(\)\)"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", _polars(sleepstudy).lazy())
    fit = mm.lmer("Reaction ~ Days + (1 | Subject)", sleepstudy)
    with pytest.raises(TypeError, match="newdata must be a pandas DataFrame or a polars DataFrame, not dict"):
        fit.predict({"Days": [1], "Subject": ["308"]})
    with pytest.raises(TypeError, match="newdata must be"):
        mm.lm("Reaction ~ Days", sleepstudy).predict(np.ones((2, 2)))


def test_polars_is_not_imported_for_pandas_data():
    code = (
        "import sys, mixedmodels as mm; from mixedmodels import datasets; "
        "mm.lmer('Reaction ~ Days + (1 | Subject)', datasets.load('sleepstudy')); "
        "assert 'polars' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
