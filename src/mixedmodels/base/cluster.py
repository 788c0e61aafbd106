"""Independent pieces of work on a Dask cluster (``dask.distributed``), for bootstrap and profile.

The shared state (the fitted model and what is derived from it) goes to each worker once, as
the result of one task; each piece is one task, so a worker lost in the middle costs the reruns
of its pieces only (Dask reschedules them, and makes the state again if no worker holds it).
Results come back in the order of the pieces. Dask is imported here only, and only when a
client is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["map_on_client"]


def map_on_client(client, fn: Callable, state, pieces: Sequence, sizes: Sequence[int], bar) -> list:
    """``[fn(state, piece) for piece in pieces]`` computed on ``client``'s workers.

    Parameters
    ----------
    client : dask.distributed.Client
    fn : callable
        A module-level function of (state, piece).
    state : object
        Sent to each worker once.
    pieces : sequence
        One task each.
    sizes : sequence of int
        What each piece adds to the progress bar ``bar`` when it is done.
    """
    from distributed import as_completed

    if not hasattr(client, "scatter") or not hasattr(client, "submit"):
        raise TypeError(f"client must be a dask.distributed.Client, not {type(client).__name__}")
    # a task that returns the state, not scattered data: should every worker holding it die,
    # the scheduler makes it again instead of cancelling the pieces that need it
    shared = client.submit(_identity, state, pure=False)
    futures = [client.submit(fn, shared, piece, pure=False) for piece in pieces]
    size_of = {f.key: s for f, s in zip(futures, sizes)}
    for done in as_completed(futures):
        bar.update(size_of[done.key])
    return client.gather(futures)


def _identity(value):
    return value
