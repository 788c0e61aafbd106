"""lmer_many's driver: n_jobs and a Dask client give the serial numbers; weights; bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.replicates import many

RHS = "~ Days + (Days | Subject)"
FRAMES = ("fixef", "se", "theta", "varpart", "stats")


@pytest.fixture(scope="module")
def sleep():
    data = datasets.load("sleepstudy")
    sim = mm.lmer("Reaction " + RHS, data).simulate(14, seed=11)
    Y = sim.to_numpy().copy()
    Y[[0, 7, 30], 3] = np.nan  # a second missingness pattern
    Y[[2, 90], 9] = np.nan  # and a third
    return data, pd.DataFrame(Y, columns=[f"gene{i}" for i in range(Y.shape[1])])


@pytest.fixture
def small_pieces(monkeypatch):
    """Several pieces per pattern, so that the workers have more than one task each."""
    monkeypatch.setattr(many, "PIECE", 4)


def _same(a, b, tol=0.0):
    """The same numbers: exactly, or within ``tol`` relative (a last digit)."""
    for name in FRAMES:
        x, y = getattr(a, name), getattr(b, name)
        assert x.index.equals(y.index) and x.columns.equals(y.columns)
        x, y = x.select_dtypes(exclude="object"), y.select_dtypes(exclude="object")
        x, y = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
        assert np.array_equal(np.isnan(x), np.isnan(y))
        assert np.nanmax(np.abs(x - y) / (1 + np.abs(y)), initial=0.0) <= tol, name


def _single(data, y, **kwargs):
    keep = ~np.isnan(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mm.lmer("y " + RHS, data.assign(y=y)[keep].reset_index(drop=True), **kwargs)


def _close(a, b, tol=1e-6):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert np.max(np.abs(a - b) / (1 + np.abs(b))) < tol


def test_pieces_are_even_and_bounded(small_pieces):
    patterns = [(np.ones(5, dtype=bool), np.arange(10)), (np.ones(5, dtype=bool), np.arange(10, 12))]
    assert many._pieces(patterns) == [(0, 0, 3), (0, 3, 7), (0, 7, 10), (1, 0, 2)]
    assert many._even(7, 7) == [(0, 7)] and many._even(8, 7) == [(0, 4), (4, 8)]


def test_n_jobs_gives_the_serial_numbers(sleep, small_pieces):
    data, Y = sleep
    serial = mm.lmer_many(RHS, data, Y, progress=False)
    assert serial.converged.all() and serial.stats["nobs"]["gene3"] == 177
    _same(mm.lmer_many(RHS, data, Y, progress=False, n_jobs=2), serial)


def test_dask_client_gives_the_serial_numbers(sleep, small_pieces):
    distributed = pytest.importorskip("distributed")
    data, Y = sleep
    serial = mm.lmer_many(RHS, data, Y, progress=False, reml=False)
    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as c:
        # threads of this process: a product may round differently in its last digit
        _same(mm.lmer_many(RHS, data, Y, progress=False, reml=False, client=c), serial, 1e-12)


@pytest.mark.parametrize("reml", [True, False])
def test_weights_equal_single_weighted_fits(sleep, reml):
    data, Y = sleep
    w = np.random.default_rng(2).uniform(0.2, 3.0, len(data))
    w[5] = 0.0  # a zero weight, as lme4 allows
    by_column = mm.lmer_many(RHS, data.assign(w=w), Y, reml=reml, progress=False, weights="w")
    by_array = mm.lmer_many(RHS, data, Y, reml=reml, progress=False, weights=w)
    _same(by_column, by_array)
    for name in ("gene0", "gene3", "gene9"):
        y = Y[name].to_numpy()
        keep = ~np.isnan(y)
        one = _single(data.assign(w=w), y, weights="w", reml=reml)
        assert one.nobs == keep.sum() - 1  # the zero weight is not an observation
        _close(by_array.fixef.loc[name], one.fixef)
        _close(by_array.se.loc[name], one.se)
        _close(by_array.sigma[name], one.sigma)
        _close(by_array.loglik[name], one.loglik)
        assert by_array.stats["nobs"][name] == one.nobs
    unweighted = mm.lmer_many(RHS, data, Y, reml=reml, progress=False)
    assert not np.allclose(unweighted.fixef.to_numpy(), by_array.fixef.to_numpy())


@pytest.mark.parametrize(
    "change, kwargs, message",
    [
        (lambda Y: Y.iloc[:-1], {}, r"one row per row of data \(180 rows"),
        (lambda Y: Y.T, {}, r"not shape \(14, 180\); genes in rows\? pass responses.T"),
        (lambda Y: Y.assign(gene1="a"), {}, "not numeric: 'gene1'"),
        (lambda Y: Y, {"n_jobs": 0}, "n_jobs must be a whole number of at least 1"),
        (lambda Y: Y, {"weights": "nope"}, "weights='nope': no such column"),
        (lambda Y: Y, {"weights": np.ones(3)}, "one number per row of data"),
        (lambda Y: Y, {"weights": -np.ones(180)}, "non-negative"),
    ],
)
def test_bad_input_is_named(sleep, change, kwargs, message):
    data, Y = sleep
    with pytest.raises(ValueError, match=message):
        mm.lmer_many(RHS, data, change(Y), progress=False, **kwargs)


def test_responses_that_cannot_be_fitted_are_named_and_the_others_fitted(sleep):
    data, Y = sleep
    Y = Y[[f"gene{i}" for i in range(6)]]
    bad = Y.assign(gene2=np.nan, gene5=4.0, gene1=Y["gene1"].where(Y.index < 10))
    bad.loc[3, "gene4"] = -np.inf
    with pytest.warns(mm.MixedModelsWarning, match="4 of 6 responses not fitted: ") as record:
        res = mm.lmer_many(RHS, data, bad, progress=False)
    text = str(record[0].message)
    assert "'gene2' (no observed value)" in text and "'gene5' (constant" in text
    assert "'gene4' (infinite values)" in text
    message = res.stats["message"]
    assert message["gene1"].startswith("10 complete rows of 180: grouping factor")
    assert list(res.converged) == [True, False, False, True, False, False]
    assert res.fixef.loc[["gene1", "gene2", "gene4", "gene5"]].isna().all().all()
    assert message["gene3"] == "" and not res.singular["gene2"]
    good = mm.lmer_many(RHS, data, Y[["gene0", "gene3"]], progress=False)
    assert np.allclose(res.fixef.loc[["gene0", "gene3"]], good.fixef, rtol=1e-12)
    with pytest.raises(ValueError, match="no response could be fitted: 'gene2'"):
        mm.lmer_many(RHS, data, bad[["gene2", "gene5"]], progress=False)


def test_weights_in_a_model_refitted_one_response_at_a_time(sleep, monkeypatch):
    """A model too large to batch is refitted response by response: with its weights too."""
    from mixedmodels.numerics.batch import BatchCriterion

    data, Y = sleep
    w = np.random.default_rng(3).uniform(0.2, 3.0, len(data))
    batched = mm.lmer_many(RHS, data, Y.iloc[:, :4], progress=False, weights=w)
    monkeypatch.setattr(BatchCriterion, "suitable", staticmethod(lambda pls: False))
    single = mm.lmer_many(RHS, data, Y.iloc[:, :4], progress=False, weights=w)
    _same(single, batched, 1e-6)
    one = _single(data.assign(w=w), Y["gene3"].to_numpy(), weights="w")
    _close(single.fixef.loc["gene3"], one.fixef)
    _close(single.se.loc["gene3"], one.se)


def test_a_missing_column_is_named_without_internal_columns(sleep):
    data, Y = sleep
    with pytest.raises(mm.DataError, match=r"'Dayz' .* the data has: Reaction, Days, Subject$"):
        mm.lmer_many("~ Dayz + (1 | Subject)", data, Y, progress=False)


def test_all_fitted_one_piece_and_several_pieces_give_the_same_frames(sleep, monkeypatch):
    """The result of one piece in order (taken as it is) equals that of pieces joined again."""
    data, Y = sleep
    Y = Y[[f"gene{i}" for i in (0, 1, 2, 4, 5)]]  # one pattern: no missing value
    one = mm.lmer_many(RHS, data, Y, progress=False)
    assert list(one.stats.index) == list(Y.columns) and one.stats["converged"].dtype == bool
    assert one.stats["message"].dtype == object and (one.stats["message"] == "").all()
    monkeypatch.setattr(many, "PIECE", 2)
    split = mm.lmer_many(RHS, data, Y, progress=False)
    for name in (*FRAMES, "df"):
        a, b = getattr(one, name), getattr(split, name)
        assert a.index.equals(b.index) and a.columns.equals(b.columns) and (a.dtypes == b.dtypes).all()
