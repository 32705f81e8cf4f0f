"""What runs the replicates: this process, local worker processes, or a Dask cluster.

The unit of work is a batch of consecutive replicates, run in one pass of the model
(``simulator(scenario, params, seeds, replicates, firm_detail)``; `batch_task` wraps it so a batch that raises
becomes data: its replicates are then run one by one, so only those that fail are lost). Workers and Dask split
a run into batches, never single replicates. Whatever runs them, results come back through
``on_result(replicates, tables, errors)`` in the order they finish; the runner puts them in replicate order.
The same executors run calibration's candidates (`map_tasks`).

Local workers are spawned processes that never outlive this one: each asks the kernel to kill it when its
parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` on Linux) and, everywhere, watches its parent from a
thread and exits when it is gone. They ignore SIGINT (a Ctrl-C in the terminal reaches the whole process
group): this process decides what an interrupt means, and stops them.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import itertools
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from sim.inputs.errors import InputError

PARENT_POLL_S = 0.5  # how often a worker checks that its parent is alive (where the kernel cannot tell it)
CONNECT_TIMEOUT_S = 5  # a Dask scheduler that has not answered by then is not there (Dask's default waits 30 s)
_PR_SET_PDEATHSIG = 1

# simulator(scenario, params, seeds, replicates, firm_detail) -> BatchTables (sim.outputs.tables)
Simulator = Callable[..., Any]
Outcome = tuple[list[int], list[Any], dict[int, str]]  # replicates, their tables (batches), errors by replicate


def batch_task(
    scenario: Any,
    params: Any,
    seeds: list[np.random.SeedSequence],
    replicates: list[int],
    simulator: Simulator,
    firm_detail: int,
) -> Outcome:
    """Run one batch; if it raises, run its replicates one by one so only those that fail are lost."""
    try:
        return replicates, [simulator(scenario, params, seeds, replicates, firm_detail)], {}
    except Exception:  # recorded as data; the run goes on with the other batches
        if len(replicates) == 1:
            return replicates, [], {replicates[0]: traceback.format_exc()}
        errors: dict[int, str] = {}
        done = []
        for seed, replicate in zip(seeds, replicates, strict=True):
            _, tables, error = batch_task(scenario, params, [seed], [replicate], simulator, firm_detail)
            errors.update(error)
            done.extend(tables)
        return replicates, done, errors


class Work:
    """The batches still to run: their shared arguments and an iterator of (replicates, seeds)."""

    def __init__(
        self,
        scenario: Any,
        params: Any,
        simulator: Simulator,
        todo: Iterable[tuple[list[int], list[np.random.SeedSequence]]],
        firm_detail: int = 0,
    ) -> None:
        self.scenario = scenario
        self.params = params
        self.simulator = simulator
        self.firm_detail = firm_detail
        self.todo: Iterator[tuple[list[int], list[np.random.SeedSequence]]] = iter(todo)

    def take(self, count: int) -> list[tuple[list[int], list[np.random.SeedSequence]]]:
        return list(itertools.islice(self.todo, count))

    def args(self, replicates: list[int], seeds: list[np.random.SeedSequence], scenario: Any = None) -> tuple:
        return (
            self.scenario if scenario is None else scenario,
            self.params,
            seeds,
            replicates,
            self.simulator,
            self.firm_detail,
        )


def run_here(work: Work, on_result: Callable[..., None]) -> None:
    for replicates, seeds in work.todo:
        on_result(*batch_task(*work.args(replicates, seeds)))


# ---------------------------------------------------------------------------------------------------------
# local worker processes
# ---------------------------------------------------------------------------------------------------------
def die_with_parent(parent: int) -> None:
    """Worker initializer: exit when process ``parent`` dies, and leave SIGINT to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)  # the C library, already loaded
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the kernel was asked to tell us
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="lithium-sim-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers (their replicates are lost anyway)."""
    processes = list(getattr(pool, "_processes", {}).values())  # stable in CPython 3.8-3.13
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, ValueError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, ValueError, AssertionError):
            process.join(5)


def process_pool(workers: int) -> cf.ProcessPoolExecutor:
    """Spawned worker processes that die with this one and leave SIGINT to it."""
    ctx = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(),)
    )


def run_on_processes(work: Work, workers: int, on_result: Callable[..., None]) -> None:
    pool = process_pool(workers)

    def submit(replicates: list[int], seeds: list[np.random.SeedSequence]) -> cf.Future:
        return pool.submit(batch_task, *work.args(replicates, seeds))

    try:
        pending = {submit(*item) for item in work.take(2 * workers)}  # a window: results never pile up
        while pending:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                on_result(*future.result())
                pending.update(submit(*item) for item in work.take(1))
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


# ---------------------------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def dask_client(scheduler: Any) -> Iterator[Any]:
    """The `distributed.Client` for ``scheduler`` (None: no cluster); a client opened here is closed after."""
    if scheduler is None:
        yield None
        return
    client, opened = connect(scheduler)
    try:
        yield client
    finally:
        if opened:
            client.close()


def connect(scheduler: Any) -> tuple[Any, bool]:
    """A `distributed.Client` for ``scheduler`` (an address or a client), and whether we opened it."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    scheduler = getattr(scheduler, "scheduler_address", scheduler)  # a cluster object, e.g. LocalCluster
    if not isinstance(scheduler, str):
        raise InputError(
            f"the scheduler must be an address such as tcp://127.0.0.1:8786, got {scheduler!r}", key="scheduler"
        )
    try:
        _knock(scheduler)
        return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"), True
    except Exception as err:  # whatever the address gives back, it is not a scheduler this run can use
        if isinstance(err, TimeoutError | socket.timeout):
            reason = f"no answer within {CONNECT_TIMEOUT_S} s"
        elif isinstance(err, ConnectionRefusedError):
            reason = "nothing listens at that port: connection refused"
        elif isinstance(err, OSError | ValueError | TypeError):
            reason = str(err) or type(err).__name__
        else:  # e.g. another server answered, and its bytes made no sense as Dask's protocol
            reason = "something answered there, but not a Dask scheduler"
        raise InputError(
            f"cannot connect to a Dask scheduler at '{scheduler}' (--scheduler: {reason}); start one with `dask "
            "scheduler` and give the address it prints (tcp://HOST:8786), or leave the option out to run on this "
            "machine"
        ) from None


def _knock(address: str) -> None:
    """Open and close a TCP connection to a ``tcp://`` or ``tls://`` scheduler address: an address where
    nothing listens fails at once (Dask's client would retry until its timeout); others are left to Dask."""
    parts = urllib.parse.urlsplit(address)
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        return
    port = parts.port or 8786  # Dask's default scheduler port
    with socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S):
        pass


def run_on_dask(work: Work, client: Any, on_result: Callable[..., None]) -> None:
    """Submit batches to a Dask cluster, a window at a time, gathering them as they complete."""
    from distributed import as_completed

    in_flight: dict[str, tuple[list[int], Any]] = {}  # task key -> (replicates, future)
    try:
        window = max(2, 2 * sum(client.nthreads().values()))
        scenario = client.scatter(work.scenario, broadcast=True)  # sent once, not with every task

        def submit(replicates: list[int], seeds: list[np.random.SeedSequence]) -> Any:
            future = client.submit(batch_task, *work.args(replicates, seeds, scenario), pure=False)
            in_flight[future.key] = (replicates, future)
            return future

        running = as_completed([submit(*item) for item in work.take(window)], with_results=True, raise_errors=False)
        for future, outcome in running:
            replicates, _ = in_flight.pop(future.key)
            if isinstance(outcome, BaseException):  # e.g. a worker died; the task itself never raises
                error = "".join(traceback.format_exception(outcome))
                on_result(replicates, [], dict.fromkeys(replicates, error))
            else:
                on_result(*outcome)
            future.release()
            for item in work.take(1):
                running.add(submit(*item))
    except BaseException:
        client.cancel([future for _, future in in_flight.values()])
        raise


# ---------------------------------------------------------------------------------------------------------
# a map for calibration: the same executors, one call per candidate
# ---------------------------------------------------------------------------------------------------------
class Executor:
    """Maps a picklable, importable function over items, in order: in this process, on local spawned workers
    (that die with this one), or on a Dask cluster. `scipy.optimize.differential_evolution` takes ``map``."""

    def __init__(self, workers: int | None = None, scheduler: Any = None) -> None:
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self._pool: cf.ProcessPoolExecutor | None = None
        self._client, self._opened = connect(scheduler) if scheduler is not None else (None, False)

    @property
    def description(self) -> str:
        if self._client is not None:
            return f"the Dask cluster at {self._client.scheduler.address}"
        return "this process" if self.workers == 1 else f"{self.workers} local worker processes"

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> list[Any]:
        """``[fn(*args) for args in zip(*iterables)]``, in order, wherever the executor runs."""
        columns = [list(it) for it in iterables]
        if self._client is not None:
            return self._client.gather(self._client.map(fn, *columns, pure=False))
        if self.workers == 1 or len(columns[0]) <= 1:
            return [fn(*args) for args in zip(*columns, strict=True)]
        if self._pool is None:
            self._pool = process_pool(self.workers)
        try:
            return list(self._pool.map(fn, *columns))
        except BaseException:
            stop_workers(self._pool)
            self._pool = None
            raise

    def __call__(self, fn: Callable[..., Any], items: Iterable[Any]) -> list[Any]:
        """scipy's ``workers=`` interface: a map over one iterable."""
        return self.map(fn, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None and self._opened:
            self._client.close()
            self._client = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
