"""Profile traces computed by tasks running at once as threads of one process (issue 26).

On ``Client(processes=False)`` every task received the same profiler object, whose criterion
writes into work arrays of the model (``PLS``): two traces computed at once overwrote each
other's evaluations ("found a lower deviance (1719.589432) than the fit's (1751.939344)", then
"f(a) and f(b) must have different signs"). Each task now works on a private copy; its trace
must be the serial run's exactly, however many run at once and however busy the CPU is.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.profile.lmm import _Profiler, _Traces


@pytest.fixture(scope="module")
def fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


class _Busy:
    """A thread that keeps a core busy (in numpy, which releases the GIL) until stopped."""

    def __enter__(self):
        self.stop = threading.Event()

        def burn():
            a = np.random.default_rng(0).normal(size=(200, 200))
            while not self.stop.is_set():
                a = np.tanh(a @ a.T / 200.0)

        self.thread = threading.Thread(target=burn, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def test_concurrent_traces_equal_the_serial_ones(fit):
    serial_prof = _Profiler(fit)
    cutoff = math.sqrt(stats.chi2.ppf(1 - 0.001, len(serial_prof.names)))
    indices = list(range(len(serial_prof.names)))
    serial = [serial_prof.trace(i, cutoff) for i in indices]  # as profile() runs them
    job = _Traces(_Profiler(fit), cutoff)
    with _Busy(), ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(job.run, indices * 3))
    for i, (trace, learned) in zip(indices * 3, results):
        assert trace == serial[i], f"trace {serial_prof.names[i]} differs from the serial one"
        assert len(learned[0][i]) == len(serial_prof.optima[i])  # only its own optima
    assert not job.prof.optima  # the shared profiler is left as it was


def test_private_copies_do_not_share_work_arrays(fit):
    prof = _Profiler(fit)
    copy = prof.private_copy()
    assert copy.pls is not prof.pls and copy.pls._theta_ext is not prof.pls._theta_ext
    assert copy.optima is not prof.optima and copy._zero_sd is not prof._zero_sd
    theta = fit.opt.theta
    assert copy._deviance(theta, fit.sigma) == prof._deviance(theta, fit.sigma)


@pytest.mark.slow
def test_profile_on_threads_of_one_process_under_load(fit):
    distributed = pytest.importorskip("distributed")
    serial = fit.profile(progress=False)
    serial_ci = serial.confint()  # (once: the interval's ends re-optimize, and learn, from the traces)
    with (
        _Busy(),
        distributed.Client(
            processes=False, n_workers=4, threads_per_worker=2, dashboard_address=None
        ) as client,
    ):
        for _ in range(2):
            threaded = fit.profile(progress=False, client=client)
            pd.testing.assert_frame_equal(threaded.table, serial.table, rtol=0, atol=0)
            pd.testing.assert_frame_equal(threaded.confint(), serial_ci, rtol=0, atol=0)
