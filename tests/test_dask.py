"""Dask: a Dask DataFrame fitted from partition cross-products, bootstrap and profile on a cluster."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.datasets.crossed import FORMULA, crossed, crossed_dask

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def assert_same_fit(got, want, tol):
    assert rel(got.fixef, want.fixef) < tol
    assert rel(got.se, want.se) < tol
    assert rel(got.theta, want.theta) < tol
    assert rel(got.sigma, want.sigma) < tol
    assert rel(got.objective, want.objective) < tol
    assert list(got.fixef.index) == list(want.fixef.index)
    for g in want.ngroups:
        a, b = got.ranef()[g], want.ranef()[g]
        assert list(a.index) == list(b.index)
        assert rel(a.to_numpy(), b.to_numpy()) < 1e-6 * max(1.0, tol / 1e-8)


# --------------------------------------------------------------------------- on a cluster
@pytest.mark.slow
def test_dask_dataframe_fit_equals_in_memory_fit(client):
    """Two million rows, users crossed with items, eight partitions on two worker processes.

    Both fits run to the criterion's rounding; at this size (criterion 5.7e6, a unit in the last
    place 1e-9) that fixes theta to about 1e-8: the in-memory criterion at the Dask fit's theta
    (1.05e-8 away) was 4.7e-9 *below* its own optimum. Hence 3e-8 for the estimates."""
    n, users, items, parts = 2_000_000, 5000, 100, 8
    want = mm.lmer(FORMULA, crossed(n, users, items, parts, seed=3))
    data = crossed_dask(n, users, items, parts, seed=3)
    got = mm.lmer(FORMULA, data)
    assert isinstance(got, mm.DaskLmerFit) and got.nobs == n
    assert_same_fit(got, want, 3e-8)
    assert abs(want.criterion(got.theta) - want.objective) < 1e-14 * want.objective  # rounding
    resid = got.residuals.compute().to_numpy()
    assert np.max(np.abs(resid - want.residuals.to_numpy())) < 1e-8 * want.sigma
    assert np.max(np.abs(got.fitted.compute().to_numpy() - want.fitted.to_numpy())) < 1e-8 * want.sigma


def test_bootstrap_on_a_cluster_gives_the_serial_replicates(client):
    fit = mm.lmer("y ~ x + (1 | p)", datasets.load("seed"))
    serial = mm.bootstrap(fit, 2500, seed=11, progress=False)
    remote = mm.bootstrap(fit, 2500, seed=11, progress=False, client=client)
    np.testing.assert_allclose(remote.replicates.to_numpy(), serial.replicates.to_numpy(), rtol=1e-12)
    assert (remote.status == serial.status).all()


def test_glmer_bootstrap_on_a_cluster_gives_the_serial_replicates(client):
    """Two chunks of a glmer fit's batched refits (2,000 replicates), as tasks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mm.MixedModelsWarning)
        fit = mm.glmer(
            "cbind(incidence, size - incidence) ~ period + (1 | herd)",
            datasets.load("cbpp"),
            family="binomial",
        )
    serial = mm.bootstrap(fit, 2000, seed=3, progress=False)
    remote = mm.bootstrap(fit, 2000, seed=3, progress=False, client=client)
    np.testing.assert_allclose(remote.replicates.to_numpy(), serial.replicates.to_numpy(), rtol=1e-12)
    assert (remote.status == serial.status).all()


def test_a_lost_worker_costs_only_a_rerun(client, tmp_path):
    """The statistic kills the worker process the first time it runs there; Dask reruns that
    chunk elsewhere and the result is the serial one. Twice in a row: the second run starts while
    the first killed worker restarts, so the one worker holding the model dies too, and the
    model is made again rather than its tasks cancelled."""
    client.wait_for_workers(2, timeout=60)
    fit = mm.lmer("y ~ x + (1 | p)", datasets.load("seed"))
    parent = os.getpid()

    def killer(marker):
        def statistic(refit):
            if os.getpid() != parent and not os.path.exists(marker):
                open(marker, "w").close()
                os._exit(1)
            return refit.fixef

        return statistic

    serial = mm.bootstrap(fit, 40, statistic=killer(str(tmp_path / "never")), seed=5, progress=False)
    for run in ("first", "second"):
        marker = str(tmp_path / run)
        remote = mm.bootstrap(fit, 40, statistic=killer(marker), seed=5, progress=False, client=client)
        assert os.path.exists(marker)
        np.testing.assert_allclose(remote.replicates.to_numpy(), serial.replicates.to_numpy(), rtol=1e-12)
    client.wait_for_workers(2, timeout=60)  # both back for the next test


def test_profile_on_a_cluster_gives_the_serial_traces(client):
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))
    serial = fit.profile(progress=False)
    remote = fit.profile(progress=False, client=client)
    pd.testing.assert_frame_equal(remote.table, serial.table, rtol=1e-10)
    pd.testing.assert_frame_equal(remote.confint(), serial.confint(), rtol=1e-8)


# --------------------------------------------------------------------------- in this process
@pytest.fixture
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.mark.parametrize(
    ("name", "formula", "contrasts"),
    [
        ("cake", "angle ~ recipe * temp + (1 | recipe:replicate)", {"recipe": "sum"}),
        ("pastes", "strength ~ 1 + (1 | batch/cask)", None),
        ("sleepstudy", "Reaction ~ Days + (Days | Subject)", None),
        ("sleepstudy", "Reaction ~ Days + (Days || Subject)", None),
        ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)", None),
    ],
)
def test_partitions_give_the_in_memory_fit(synchronous, name, formula, contrasts):
    data = datasets.load(name)
    want = mm.lmer(formula, data, contrasts=contrasts)
    got = mm.lmer(formula, dd.from_pandas(data, npartitions=4), contrasts=contrasts)
    # sums over partitions round differently; on these small data sets the criterion is so flat
    # that this moves theta by up to 4e-6 (Penicillin), yet each fit's criterion at the other's
    # theta is at its own optimum to 1e-10: the optimum is not determined more closely
    assert abs(want.criterion(got.theta) - want.objective) < 1e-10 * abs(want.objective)
    assert abs(got.criterion(want.theta) - got.objective) < 1e-10 * abs(got.objective)
    assert_same_fit(got, want, 1e-5)


def test_text_factors_missing_values_and_aliased_columns(synchronous):
    rng = np.random.default_rng(0)
    n = 3000
    g = rng.integers(0, 40, n)
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n) + g % 7 + 100.0,
            "x": rng.normal(size=n),
            "site": np.array(["north", "south", "east"])[rng.integers(0, 3, n)],
            "flag": rng.integers(0, 2, n).astype(bool),
            "g": np.array([f"g{i:02d}" for i in g]),
        }
    )
    data["x2"] = 2.0 * data["x"]  # aliased: dropped, as in memory
    data.loc[rng.choice(n, 50, replace=False), "x"] = np.nan
    formula = "y ~ x + x2 + site + flag + (1 | g)"
    with pytest.warns(mm.MixedModelsWarning, match="dropping 1 column"):
        want = mm.lmer(formula, data)
    with pytest.warns(mm.MixedModelsWarning, match="dropping 1 column"):
        got = mm.lmer(formula, dd.from_pandas(data, npartitions=5))
    assert_same_fit(got, want, 1e-8)
    assert got.design.dropped_rows == 50 and got.nobs == n - 50
    new = data.iloc[:20].dropna()
    np.testing.assert_allclose(got.predict(new), want.predict(new), rtol=1e-8)


def test_dask_fit_refuses_what_needs_the_rows(synchronous):
    data = dd.from_pandas(datasets.load("sleepstudy"), npartitions=2)
    fit = mm.lmer("Reaction ~ Days + (Days | Subject)", data)
    for call in (fit.simulate, lambda: fit.refit(np.zeros(180)), fit.profile, fit.anova):
        with pytest.raises(NotImplementedError, match="observations in memory"):
            call()
    with pytest.raises(NotImplementedError, match="bootstrap needs the observations"):
        mm.bootstrap(fit, 10)
    assert repr(fit).startswith("<DaskLmerFit 'Reaction ~ Days + (Days | Subject)' by REML: nobs=180")
    text = fit.summary()
    assert "Scaled residuals (quartiles approximate)" in text and "Days" in text
    assert fit.confint("wald").loc["Days"].notna().all()


def test_dask_fit_errors_name_the_problem(synchronous):
    frame = datasets.load("sleepstudy")
    data = dd.from_pandas(frame, npartitions=2)
    with pytest.raises(mm.DataError, match="'Hours'"):
        mm.lmer("Reaction ~ Hours + (1 | Subject)", data)
    with pytest.raises(MemoryError, match="The limit is 100 bytes"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", data, memory_limit=100)
    holes = frame.assign(Days=frame.Days.where(frame.index % 10 != 0))
    with pytest.raises(mm.DataError, match="missing values in 'Days' \\(18\\)"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", dd.from_pandas(holes, npartitions=3), na_action="raise")
    with pytest.raises(mm.DataError, match="scale\\(Days\\) learns from the whole column"):
        mm.lmer("Reaction ~ scale(Days) + (1 | Subject)", data)
    flat = frame.assign(Reaction=1.0)
    with pytest.raises(mm.DataError, match="constant"):
        mm.lmer("Reaction ~ Days + (1 | Subject)", dd.from_pandas(flat, npartitions=2))


def test_the_core_never_imports_dask():
    code = (
        "import sys, mixedmodels as mm; from mixedmodels import datasets;"
        "fit = mm.lmer('y ~ x + (1 | p)', datasets.load('seed'));"
        "mm.bootstrap(fit, 20, progress=False); fit.profile(progress=False);"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_factor_levels_keep_the_in_memory_order(synchronous):
    """An object column of numbers orders its levels as numbers, a categorical by its categories
    (Dask keeps object columns as objects here; by default it converts them to text)."""
    rng = np.random.default_rng(0)
    n = 2000
    g = rng.integers(0, 30, n)
    data = pd.DataFrame(
        {
            "y": rng.normal(size=n) + g % 5,
            "k": pd.Series(rng.choice([1, 2, 10], n), dtype=object),
            "c": pd.Categorical(rng.choice(["lo", "mid", "hi"], n), categories=["lo", "mid", "hi"]),
            "g": g,
        }
    )
    want = mm.lmer("y ~ k + c + (1 | g)", data)
    with dask.config.set({"dataframe.convert-string": False}):
        got = mm.lmer("y ~ k + c + (1 | g)", dd.from_pandas(data, npartitions=3))
    assert list(got.fixef.index) == ["(Intercept)", "k2", "k10", "cmid", "chi"]
    assert_same_fit(got, want, 1e-8)
