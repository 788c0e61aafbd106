"""The driver of simulated replicates: chunks, units of work, and where they run.

The parametric bootstrap (:mod:`mixedmodels.replicates.bootstrap`), power by simulation
(:mod:`mixedmodels.replicates.power_results`) and many responses
(:mod:`mixedmodels.replicates.many`) share it.

Replicates come in chunks whose size is set by the model alone (``CHUNK``, or ``LARGE_CHUNK``
for a model refitted one replicate at a time: a task on a cluster), each chunk with its own
random stream spawned from the seed, so the replicates are the same however they are run.
Consecutive chunks are grouped into units of work (:func:`work_units`), one process's or one
Dask task's share; within a unit the responses are simulated and refitted at most
:func:`batch_limit` replicates at a time (about ``WORK_BYTES`` of memory), so a model with many
rows never holds a whole chunk of responses. The units run here, in forked worker processes
(``n_jobs``, one BLAS thread each) or on a Dask cluster (``client``, :mod:`mixedmodels.base.cluster`),
with a progress bar (:mod:`mixedmodels.base.progress`) advanced as each unit finishes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..base.blas import single_threaded_blas
from ..base.cluster import map_on_client
from ..base.progress import progress_bar

__all__ = [
    "CHUNK",
    "LARGE_CHUNK",
    "WORK_BYTES",
    "Refits",
    "ReplicateJob",
    "batch_limit",
    "chunk_sizes",
    "map_units",
    "run_replicates",
    "work_units",
]

CHUNK = 1000  # replicates per random stream
LARGE_CHUNK = 20  # ... for a model refitted one replicate at a time (a task on a cluster)
WORK_BYTES = 64e6  # memory for one batched refit: chunks are grouped up to about this size

Chunks = list[tuple[int, int]]  # (index, size) of consecutive chunks: a unit of work


class Refits(Protocol):
    """What refits a chunk of simulated responses (the bootstrap's, the power analysis's and
    the many responses' engines).

    ``run(Y)`` refits the columns of ``Y`` (n, m) and returns the statistics (m, s), each
    replicate's status and whatever else the engine gives (ignored here). An engine that finds
    separated estimates has ``run_flagged(Y)`` as well, which adds a fourth item: a mask (m, s)
    of the separated statistics.
    """

    def chunk_size(self) -> int:
        """Replicates per random stream."""
        ...

    def bytes_per_replicate(self) -> float:
        """Memory of one replicate in a batched refit."""
        ...

    def run(self, Y: np.ndarray) -> tuple:
        """Statistics, status, ... of the refits of the columns of ``Y``."""
        ...


@dataclass(frozen=True, eq=False)
class ReplicateJob:
    """What every process running replicates needs.

    Attributes
    ----------
    engine : Refits
        The refits of a block of simulated responses.
    blocks : callable
        ``blocks(rng, m, block)``: ``m`` simulated responses from ``rng`` as arrays (n, <= block).
    streams : dict
        The random stream (a ``SeedSequence``) of each chunk, by index.
    limit : int
        Most replicates simulated and refitted at a time.
    """

    engine: Refits
    blocks: Callable
    streams: dict
    limit: int

    def run(self, chunks: Chunks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Simulate the given chunks (index, size), each from its own stream, and refit them.

        Parameters
        ----------
        chunks : list of (int, int)
            A unit of work (:func:`work_units`).

        Returns
        -------
        values, status, separated : ndarray (m, s), (m,), (m, s)
            The statistics, each replicate's status and which statistics are separated
            estimates (all False for an engine without ``run_flagged``).
        """
        pending: list[np.ndarray] = []
        values: list[np.ndarray] = []
        status: list[np.ndarray] = []
        masks: list[np.ndarray] = []

        def refit() -> None:
            if pending:
                Y = np.hstack(pending)
                flagged = getattr(self.engine, "run_flagged", None)
                if flagged is not None:
                    v, st, _, mask = flagged(Y)
                else:
                    v, st, _ = self.engine.run(Y)
                    mask = np.zeros(v.shape, dtype=bool)
                values.append(v)
                status.append(st)
                masks.append(mask)
                pending.clear()

        for index, size in chunks:
            for Y in self.blocks(np.random.default_rng(self.streams[index]), size, self.limit):
                pending.append(Y)
                if sum(y.shape[1] for y in pending) >= self.limit:
                    refit()
        refit()
        return np.vstack(values), np.concatenate(status), np.vstack(masks)


def chunk_sizes(nsim: int, chunk: int) -> list[int]:
    """``nsim`` replicates cut into chunks of ``chunk`` (the last one shorter)."""
    return [min(chunk, nsim - start) for start in range(0, nsim, chunk)]


def batch_limit(engine: Refits) -> int:
    """Most replicates refitted together: about ``WORK_BYTES`` of the engine's memory (at least 1)."""
    return max(1, int(WORK_BYTES // max(engine.bytes_per_replicate(), 1.0)))


def work_units(sizes: list[int], limit: int) -> list[Chunks]:
    """Consecutive chunks of ``sizes`` grouped up to ``limit`` replicates (a unit of work for
    one process or task; a chunk larger than ``limit`` is a unit of its own).

    Returns
    -------
    list of list of (int, int)
        Each unit's chunks as (index, size).
    """
    units: list[Chunks] = []
    current: Chunks = []
    count = 0
    for index, size in enumerate(sizes):
        if current and count + size > limit:
            units.append(current)
            current, count = [], 0
        current.append((index, size))
        count += size
    units.append(current)
    return units


_FORKED: dict = {}  # the function and its state, inherited by forked worker processes


def _run_forked(unit):
    """A worker process's share, on one BLAS thread: the processes share the cores."""
    fn, state = _FORKED["call"]
    with single_threaded_blas():
        return fn(state, unit)


def map_units(
    fn: Callable[[Any, Any], Any],
    state: Any,
    units: Sequence,
    sizes: Sequence[int],
    bar,
    n_jobs: int = 1,
    client=None,
    batch: int = 1,
) -> list:
    """``[fn(state, unit) for unit in units]``: here, in forked processes, or on a Dask cluster.

    Parameters
    ----------
    fn : callable
        A module-level function of (state, unit).
    state : object
        What every unit needs: inherited by forked processes, sent to each Dask worker once.
    units : sequence
        The units of work, in order.
    sizes : sequence of int
        What each unit adds to the progress bar ``bar`` when it is done.
    bar : progress bar
        Advanced as units finish (closed by the caller).
    n_jobs : int
        Worker processes (forked on this machine); one runs the units here.
    client : dask.distributed.Client, optional
        Run each unit as a task on this cluster instead (:func:`mixedmodels.base.cluster.map_on_client`).
    batch : int
        Units sent to a worker process at a time.

    Returns
    -------
    list
        The units' results, in the order of ``units``.
    """
    if client is not None:
        return map_on_client(client, fn, state, units, sizes, bar)
    results = []
    if n_jobs > 1 and len(units) > 1:
        _FORKED["call"] = (fn, state)
        try:
            with multiprocessing.get_context("fork").Pool(min(n_jobs, len(units))) as pool:
                for res, size in zip(pool.imap(_run_forked, units, chunksize=batch), sizes):
                    results.append(res)
                    bar.update(size)
        finally:
            _FORKED.clear()
    else:
        for unit, size in zip(units, sizes):
            results.append(fn(state, unit))
            bar.update(size)
    return results


def run_replicates(
    engine: Refits,
    blocks: Callable,
    nsim: int,
    seed,
    chunk: int | None = None,
    progress: bool = True,
    desc: str = "bootstrap",
    n_jobs: int = 1,
    client=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate and refit ``nsim`` replicates, chunk by chunk, each chunk from its own stream.

    Parameters
    ----------
    engine : Refits
        The refits of a block of simulated responses.
    blocks : callable
        ``blocks(rng, m, block)``: the simulator of the responses (see :class:`ReplicateJob`).
    nsim : int
        Number of replicates.
    seed : int, SeedSequence or None
        The chunks' streams are spawned from it: the same seed gives the same replicates for
        any ``n_jobs`` and any cluster.
    chunk : int, optional
        Replicates per stream; ``engine.chunk_size()`` by default.
    progress : bool
        Show a progress bar (only when standard error is a terminal), labelled ``desc``.
    n_jobs, client
        Where the units of work run (:func:`map_units`).

    Returns
    -------
    values, status, separated : ndarray (nsim, s), (nsim,), (nsim, s)
        As :meth:`ReplicateJob.run`, all replicates in order.
    """
    sizes = chunk_sizes(nsim, engine.chunk_size() if chunk is None else chunk)
    seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    limit = batch_limit(engine)
    job = ReplicateJob(engine, blocks, dict(enumerate(seq.spawn(len(sizes)))), limit)
    units = work_units(sizes, limit)
    unit_sizes = [sum(size for _, size in unit) for unit in units]
    bar = progress_bar(nsim, progress, desc, "rep")
    try:
        results = map_units(ReplicateJob.run, job, units, unit_sizes, bar, n_jobs, client)
    finally:
        bar.close()
    values = np.vstack([r[0] for r in results])
    status = np.concatenate([r[1] for r in results])
    return values, status, np.vstack([r[2] for r in results])
