"""The formula cases read without formulaic (mixedmodels.formula.direct) give formulaic's results exactly:
model matrices, their names and terms, new-data matrices, response expressions, factor codes."""

import itertools

import numpy as np
import pandas as pd
import pytest

from mixedmodels.families import family
from mixedmodels.families.response import _all_booleans, _numeric, read_response
from mixedmodels.formula.design import (
    DataError,
    _formulaic_matrix,
    _value_codes,
    factor_codes,
    materialize,
    model_frame,
    response_values,
)
from mixedmodels.formula.direct import additive_matrix, arithmetic
from mixedmodels.formula.terms import parse_formula


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(7)
    n = 30
    data = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "ci": pd.Categorical(rng.integers(1, 4, n)),
            "cs": pd.Categorical(rng.choice(["b", "a", "c d", "Z"], n)),
            "cf": pd.Categorical(rng.choice([1.5, 2.0, 3.25], n)),
            "flag": rng.random(n) > 0.5,
            "a.b": pd.Categorical(rng.choice(["u", "v"], n)),
            "text": rng.choice(["p", "q", "r"], n),
            "obj": pd.Series(rng.choice(["m", "n"], n).astype(object), dtype=object),
            "ord": pd.Categorical(rng.choice(["l", "m", "h"], n), categories=["l", "m", "h"], ordered=True),
        }
    )
    return model_frame(data, list(data.columns), "omit")[0]


def test_additive_matrices_are_formulaics(frame):
    names = ["x", "ci", "cs", "cf", "flag", "a.b", "text", "obj", "ord", "k"]
    rhss = [" + ".join(c) for r in (1, 2) for c in itertools.combinations(names, r)]
    rhss += ["ci + x", "cs + ci", "text + x + ci", "cf + flag + a.b", "obj + cs + k"]
    rhss += ["1", "0 + x", "0 + ci", "0 + x + ci", "ci + ci", "1 + cs", "cs + 1"]
    direct = 0
    for rhs in rhss:
        X, spec = materialize(rhs, frame, None, "test")
        want, want_spec = _formulaic_matrix(rhs, frame, None, "test")
        assert (spec.names, spec.terms) == (want_spec.names, want_spec.terms), rhs
        assert X.dtype == want.dtype and np.array_equal(X, want), rhs
        if spec.training is not None:
            direct += 1
            new = frame.iloc[[4, 0, 9]].reset_index(drop=True)
            assert np.array_equal(spec.matrix(new), want_spec.matrix(new)), rhs
    assert direct > len(rhss) // 2  # most went the direct way


def test_additive_matrix_leaves_the_rest_to_formulaic(frame):
    for rhs in ["x:ci", "ci * x", "ord", "0 + ci", "x + ci + x", "factor(k)", "log(x) + ci", "C(ci)"]:
        assert additive_matrix(rhs, frame) is None, rhs
    single = frame.assign(one=pd.Categorical(["a"] * len(frame)))
    assert additive_matrix("one", single) is None
    assert additive_matrix("cs", frame) is not None


def test_new_data_with_an_unseen_level_is_refused_by_both_paths(frame):
    # formulaic read an unseen level as the baseline (a silently wrong prediction): both the
    # direct path and formulaic's refuse it alike, naming the level and the factor
    _, spec = materialize("x + cs", frame, None, "test")
    _, want = _formulaic_matrix("x + cs", frame, None, "test")
    assert spec.training is not None and want.training is None
    new = frame.iloc[:2].assign(cs=["a", "never seen"])
    for matrix_spec in (spec, want):
        with pytest.raises(DataError, match="level 'never seen' of factor 'cs'"):
            matrix_spec.matrix(new)
    np.testing.assert_array_equal(spec.matrix(frame.iloc[:3]), want.matrix(frame.iloc[:3]))


@pytest.mark.parametrize(
    "expr",
    ["size - incidence", "size + incidence", "40 - incidence", "2 * size - incidence / 3", "-size + 1.5",
     "(size - incidence)", "size - incidence - 0", "+incidence", "rate * size", "size / size"],
)  # fmt: skip
def test_response_arithmetic_is_formulaics(expr):
    rng = np.random.default_rng(3)
    data = pd.DataFrame(
        {"incidence": rng.integers(0, 9, 25), "size": rng.integers(9, 30, 25), "rate": rng.random(25)}
    )
    data.loc[[2, 11], "rate"] = np.nan
    before = data.copy()
    values, complete = arithmetic(expr, data)
    uses_rate = "rate" in expr
    assert np.array_equal(complete, ~data["rate"].isna().to_numpy() if uses_rate else np.ones(25, bool))
    rows = data.loc[complete].reset_index(drop=True)
    want = response_values(rows, f"I({expr})")
    assert np.array_equal(values[complete], want)
    parsed = parse_formula(f"{expr} ~ 1")
    got = _numeric(expr, data, parsed)
    assert np.isnan(got[~complete]).all() and np.array_equal(got[complete], want)
    pd.testing.assert_frame_equal(data, before)  # the data's arrays are never written


@pytest.mark.parametrize(
    "expr", ["np.log(size)", "size ** 2", "size - txt", "size - nosuch", "1 + 2", "size // 2", "`size` - 1"]
)
def test_other_expressions_go_to_formulaic(expr):
    data = pd.DataFrame({"size": [1, 2, 3], "txt": ["a", "b", "c"]})
    assert arithmetic(expr, data) is None


def test_non_finite_response_values_are_refused_as_before():
    data = pd.DataFrame({"a": [1.0, 2.0, np.inf], "b": [0.0, 1.0, 2.0], "g": ["x", "y", "x"]})
    parsed = parse_formula("cbind(b, a - b) ~ 1 + (1 | g)")
    with pytest.raises(DataError, match=r"the response 'I\(a - b\)' has non-finite values"):
        read_response(parsed, data, family("binomial"))
    with pytest.raises(DataError, match="non-finite"):
        response_values(data, "I(a - b)")  # formulaic's way says the same


def test_factor_codes_by_hashing_are_np_uniques():
    rng = np.random.default_rng(5)
    for values in [
        rng.integers(-5, 50, 200),
        rng.integers(0, 9, 200).astype("uint16"),
        rng.choice(["b", "a", "B", "é", "a b", "10", "9"], 200).astype(object),
        np.array(["z", "y"] * 10),
    ]:
        codes, labels = factor_codes(pd.Series(values))
        uniq, want = np.unique(np.asarray(values).astype(str) if values.dtype.kind not in "iu" else values,
                               return_inverse=True)  # fmt: skip
        assert np.array_equal(codes, want) and codes.dtype == np.int64
        assert labels == tuple(str(u) for u in uniq)
    mixed = np.array([1, "a", 2.5], dtype=object)  # not all text: as before, by np.unique of its text
    assert _value_codes(mixed, mixed.dtype)[1] == ("1", "2.5", "a")


def test_boolean_categories_are_recognised():
    assert _all_booleans(pd.Series(pd.Categorical([True, False, None])))
    assert not _all_booleans(pd.Series(pd.Categorical(["a", "b"])))
    mixed = pd.Series(pd.Categorical([True, "x"], categories=[True, "x"]))
    assert not _all_booleans(mixed)
    assert _all_booleans(mixed.iloc[:1])  # only the categories in use count
    assert _all_booleans(pd.Series(pd.Categorical([None, None], categories=["a"])))  # nothing present
