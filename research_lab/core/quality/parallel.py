"""Score many symbols across worker processes (``score_quality(..., workers=N)``).

Each worker process opens its own connection to the same store (pooled connections must not
cross processes), limits numeric libraries to one thread (two workers on two cores must not
each start a BLAS thread pool), then scores one symbol at a time with
:func:`.sentinel.score_partitions`, which writes that symbol's scores in its own transaction.
A symbol's scores do not depend on which process computes them or in what order, so the result
is the one of ``workers=1``. Both backends take concurrent writers: SQLite queues them on its
write lock (WAL, 30 s busy timeout), PostgreSQL writes different symbols in parallel.

Workers are started with ``spawn`` (a fresh interpreter: safe inside a threaded Dagster process;
~1 s of imports each), and only when there are at least two symbols and two workers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

_WORKER: dict[str, Any] = {}  # the worker process's store and scoring settings


def default_workers() -> int:
    """The CPUs this process may use (``os.sched_getaffinity``), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: int | None) -> int:
    """``workers`` validated (None: :func:`default_workers`); a bad value names the parameter."""
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    return workers


def one_thread() -> None:
    """Numeric libraries in this process use one thread (set before they start their pools)."""
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass


def _init_worker(url, calendar, book, config) -> None:
    one_thread()
    from research_lab.core.marketdata.store import BarStore
    from research_lab.core.marketdata.store._backend import make_engine

    _WORKER.update(store=BarStore(make_engine(url)), calendar=calendar, book=book, config=config)


def _score_one(item: tuple[str, Sequence[date]]):
    from .sentinel import score_partitions

    symbol, days = item
    return score_partitions(_WORKER["store"], symbol, days, calendar=_WORKER["calendar"],
                            book=_WORKER["book"], config=_WORKER["config"])


def score_many(store, requests: Mapping[str, Sequence[date]], *, calendar, book, config,
               workers: int) -> tuple:
    """:func:`.sentinel.score_partitions` of every (symbol, sessions) of ``requests``, in that
    order, on up to ``workers`` processes; returns the ``ScoreRun`` of each."""
    from .sentinel import score_partitions

    items = list(requests.items())
    url = store.engine.url
    in_memory = url.get_backend_name() == "sqlite" and (url.database or ":memory:") == ":memory:"
    workers = min(workers, len(items))
    if workers < 2 or in_memory:  # an in-memory database lives in this process only
        return tuple(score_partitions(store, sym, days, calendar=calendar, book=book,
                                      config=config) for sym, days in items)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    chunk = max(1, min(8, len(items) // (4 * workers)))
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(url, calendar, book, config)) as pool:
        try:
            return tuple(pool.map(_score_one, items, chunksize=chunk))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
