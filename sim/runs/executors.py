"""What runs the replicates: this process, local worker processes, or a Dask cluster.

The unit of work is one opaque call ``simulator(scenario, params, seed)`` (`replicate_task` wraps it so a
replicate that raises becomes data). Whatever runs them, results come back through ``on_result(replicate,
result, error)`` in the order they finish; the runner puts them in replicate order.

Local workers are spawned processes that never outlive this one: each asks the kernel to kill it when its
parent dies (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` on Linux) and, everywhere, watches its parent from a
thread and exits when it is gone. They ignore SIGINT (a Ctrl-C in the terminal reaches the whole process
group): this process decides what an interrupt means, and stops them.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import ctypes
import gc
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from sim.inputs.errors import InputError
from sim.inputs.params import ModelParams
from sim.inputs.scenario import Scenario
from sim.outputs.results import ReplicateResult

GC_EVERY = 10  # in-process replicates between full garbage collections
PARENT_POLL_S = 0.5  # how often a worker checks that its parent is alive (where the kernel cannot tell it)
_PR_SET_PDEATHSIG = 1

Simulator = Callable[[Scenario, ModelParams | None, np.random.SeedSequence], ReplicateResult]
Outcome = tuple[int, ReplicateResult | None, str | None]  # replicate, result or None, traceback or None


def replicate_task(
    scenario: Scenario,
    params: ModelParams | None,
    seed: np.random.SeedSequence,
    replicate: int,
    simulator: Simulator,
) -> Outcome:
    try:
        return replicate, simulator(scenario, params, seed), None
    except Exception:  # recorded as data; the run goes on with the other replicates
        return replicate, None, traceback.format_exc()
    finally:
        if (replicate + 1) % GC_EVERY == 0:  # by replicate number: the same rhythm whichever process runs it
            # a finished model is cyclic garbage (agents <-> model); without a full collection now and then,
            # it piles up between Python's rare generation-2 collections and memory grows with replicates
            gc.collect()


class Batch:
    """The replicates still to run: their shared arguments and an iterator of (replicate, seed)."""

    def __init__(
        self,
        scenario: Scenario,
        params: ModelParams | None,
        simulator: Simulator,
        todo: Iterable[tuple[int, np.random.SeedSequence]],
    ) -> None:
        self.scenario = scenario
        self.params = params
        self.simulator = simulator
        self.todo: Iterator[tuple[int, np.random.SeedSequence]] = iter(todo)

    def take(self, count: int) -> list[tuple[int, np.random.SeedSequence]]:
        return list(itertools.islice(self.todo, count))


def run_here(batch: Batch, on_result: Callable[..., None]) -> None:
    for replicate, seed in batch.todo:
        on_result(*replicate_task(batch.scenario, batch.params, seed, replicate, batch.simulator))


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


def _stop_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel what has not started and kill the workers (their replicates are lost anyway)."""
    processes = list(getattr(pool, "_processes", {}).values())  # stable in CPython 3.8-3.13
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, ValueError):
            process.kill()
    for process in processes:
        with contextlib.suppress(OSError, AttributeError, ValueError, AssertionError):
            process.join(5)


def run_on_processes(batch: Batch, workers: int, on_result: Callable[..., None]) -> None:
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(),)
    )

    def submit(replicate: int, seed: np.random.SeedSequence) -> cf.Future:
        return pool.submit(replicate_task, batch.scenario, batch.params, seed, replicate, batch.simulator)

    try:
        pending = {submit(*item) for item in batch.take(2 * workers)}  # a window: results never pile up
        while pending:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                on_result(*future.result())
                pending.update(submit(*item) for item in batch.take(1))
    except BaseException:
        _stop_workers(pool)
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
        return Client(scheduler), True
    except (OSError, ValueError, TypeError) as err:
        raise InputError(
            f"cannot connect to a Dask scheduler at '{scheduler}' ({err}); start one with `dask scheduler` "
            "and give the address it prints (tcp://HOST:8786), or leave the option out to run locally",
            key="scheduler",
        ) from None


def run_on_dask(batch: Batch, client: Any, on_result: Callable[..., None]) -> None:
    """Submit replicates to a Dask cluster, a window at a time, gathering them as they complete."""
    from distributed import as_completed

    in_flight: dict[str, tuple[int, Any]] = {}  # task key -> (replicate, future)
    try:
        window = max(2, 2 * sum(client.nthreads().values()))
        scenario = client.scatter(batch.scenario, broadcast=True)  # sent once, not with every task

        def submit(replicate: int, seed: np.random.SeedSequence) -> Any:
            future = client.submit(replicate_task, scenario, batch.params, seed, replicate, batch.simulator, pure=False)
            in_flight[future.key] = (replicate, future)
            return future

        running = as_completed([submit(*item) for item in batch.take(window)], with_results=True, raise_errors=False)
        for future, outcome in running:
            replicate, _ = in_flight.pop(future.key)
            if isinstance(outcome, BaseException):  # e.g. a worker died; the task itself never raises
                on_result(replicate, None, "".join(traceback.format_exception(outcome)))
            else:
                on_result(*outcome)
            future.release()
            for item in batch.take(1):
                running.add(submit(*item))
    except BaseException:
        client.cancel([future for _, future in in_flight.values()])
        raise
