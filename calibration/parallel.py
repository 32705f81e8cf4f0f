"""Where candidate evaluations run: this process, local worker processes, or a Dask cluster.

All three offer ``map(fn, *iterables) -> list`` in input order, so results do not depend on the executor.
Worker functions must be importable module-level functions (``import mesa`` sets the "spawn" start method:
no lambdas, no closures). The local pool is replaced between batches once its workers have run about
`WORKER_TASKS` tasks each, which bounds the memory Mesa 3.3 can leak (the tasks also free their models'
agent registries). The pool is recycled whole rather than with ``max_tasks_per_child``: on Python 3.11 a
pool replacing a worker that reached that limit can hang (CPython gh-115634).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Iterable
from typing import Any

from sim.inputs.errors import InputError

WORKER_TASKS = 500  # candidate evaluations per local worker before the pool is replaced (between batches)


class SerialExecutor:
    """Evaluations in this process, one after the other."""

    description = "this process"

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        return [fn(*args) for args in zip(*iterables, strict=True)]

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of spawned worker processes on this machine.

    Args:
        workers: number of processes.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.description = f"{workers} local worker processes"
        self._pool: cf.ProcessPoolExecutor | None = None
        self._tasks = 0

    def _ready_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is not None and self._tasks >= WORKER_TASKS * self.workers:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
            self._tasks = 0
        return self._pool

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        args = [list(it) for it in iterables]
        pool = self._ready_pool()
        self._tasks += len(args[0]) if args else 0
        return list(pool.map(fn, *args))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """Tasks on a Dask cluster through ``distributed.Client(address)``.

    Args:
        address: the scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
    """

    def __init__(self, address: str) -> None:
        from distributed import Client

        try:
            self._client = Client(address, timeout="20s")
        except OSError as err:
            raise InputError(
                f"cannot reach the Dask scheduler at '{address}': {err}", key="--scheduler"
            ) from None
        self.description = f"Dask cluster at {address}"

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        futures = self._client.map(fn, *[list(it) for it in iterables], pure=False)
        return self._client.gather(futures)

    def close(self) -> None:
        self._client.close()


Executor = SerialExecutor | LocalExecutor | DaskExecutor


def open_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for a calibration: Dask when given a scheduler address, else local processes
    (``workers`` of them, default the CPU count), or this process when ``workers`` is 1."""
    if scheduler:
        return DaskExecutor(scheduler)
    n = workers if workers is not None else (os.cpu_count() or 1)
    if n <= 1:
        return SerialExecutor()
    return LocalExecutor(n)
