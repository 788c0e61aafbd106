"""The driver of simulated replicates: chunks, units of work, and the same replicates wherever
they run."""

import numpy as np

from mixedmodels.replicates.driver import (
    ReplicateJob,
    batch_limit,
    chunk_sizes,
    map_units,
    run_replicates,
    work_units,
)


class _Bar:
    def __init__(self):
        self.done = 0

    def update(self, n):
        self.done += n

    def close(self):
        pass


class _Means:
    """A toy engine: the mean of each simulated response, all 'ok'."""

    def __init__(self, chunk=7, bytes_per_replicate=8e6):
        self.chunk, self.bytes = chunk, bytes_per_replicate

    def chunk_size(self):
        return self.chunk

    def bytes_per_replicate(self):
        return self.bytes

    def run(self, Y):
        return Y.mean(axis=0)[:, None], np.full(Y.shape[1], "ok"), None


def _blocks(rng, m, block):
    for lo in range(0, m, block):
        yield rng.normal(size=(min(block, m - lo), 5)).T  # replicate by replicate: any block


def test_chunks_and_units():
    assert chunk_sizes(23, 10) == [10, 10, 3]
    assert work_units([10, 10, 3], 15) == [[(0, 10)], [(1, 10), (2, 3)]]
    assert work_units([10, 10, 3], 5) == [[(0, 10)], [(1, 10)], [(2, 3)]]
    assert batch_limit(_Means(bytes_per_replicate=8e6)) == 8
    assert batch_limit(_Means(bytes_per_replicate=1e12)) == 1


def test_map_units_keeps_order_and_advances_the_bar():
    bar = _Bar()
    out = map_units(_scaled, 3, [1, 2, 3], [10, 20, 30], bar)
    assert out == [3, 6, 9] and bar.done == 60


def _scaled(state, unit):
    return state * unit


def test_same_replicates_for_any_grouping_and_processes():
    engine = _Means()
    values, status, separated = run_replicates(engine, _blocks, 30, 5, progress=False)
    assert values.shape == (30, 1) and (status == "ok").all() and not separated.any()
    streams = dict(enumerate(np.random.SeedSequence(5).spawn(5)))
    one_by_one = ReplicateJob(engine, _blocks, streams, 1).run(
        [(i, s) for i, s in enumerate([7, 7, 7, 7, 2])]
    )
    np.testing.assert_array_equal(values, one_by_one[0])
    forked, _, _ = run_replicates(engine, _blocks, 30, 5, progress=False, n_jobs=2)
    np.testing.assert_array_equal(values, forked)
