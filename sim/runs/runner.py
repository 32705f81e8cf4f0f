"""Running scenarios: one replicate (`simulate`), many (`run_scenario`), and writing the run directory.

Replicate seeds come from ``numpy.random.SeedSequence(seed).spawn(n)``, so replicate *i* gets the same
stream whatever runs it: this process, local worker processes, or a Dask cluster. Results are summarised in
replicate order, so ``summary.csv`` is byte-identical for any number of workers and either executor.

Memory stays bounded over many replicates:

- each finished replicate's firm and market tables go to part files on disk at once (`ReplicateStore`);
  only its summary values (one float per summary row) stay in memory, and the summary is computed in
  chunks of rows;
- local workers are spawned processes (``import mesa`` sets the start method to "spawn"), at most two
  replicates per worker in flight; every process, this one or a worker, frees each finished model's Mesa
  registry and runs a full garbage collection every `GC_EVERY` replicates. (Workers are not recycled with
  ``max_tasks_per_child``: on Python 3.11 replacing a worker can hang the pool, CPython gh-115634.)
- in-process runs free each model's Mesa agent registry (Mesa 3.3 otherwise keeps every model alive,
  upstream issue #3179).

When the run directory is known (`run_scenario(..., out_dir=...)`, as the CLI does), the part files live
beside it in ``.NAME.partial-KEY/``, where KEY hashes the scenario, parameters, seed, replicate count and
code version. An interrupted run leaves them there, and ``resume=True`` reuses the finished replicates.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from tqdm import tqdm

import sim
from sim.inputs.errors import InputError
from sim.engine.model import LithiumModel
from sim.inputs.params import ModelParams
from sim.outputs.results import SUMMARY_COLUMNS, ReplicateResult, collect, summarise
from sim.inputs.scenario import Scenario, project_root

GC_EVERY = 10  # in-process replicates between full garbage collections
SUMMARY_CHUNK_ROWS = 2_000_000  # replicate rows summarised at once (bounds the memory of the summary step)
SUMMARY_KEYS = SUMMARY_COLUMNS[1:6]  # year, region, segment, metric, unit
RUN_FILES = ("summary.csv", "meta.json")  # a directory holding these is a run directory
# floats must read back bit for bit (a resumed run's summary equals an uninterrupted one's): pandas 3 parses
# exactly by default and deprecates the option; pandas 2 needs it
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}

Simulator = Callable[[Scenario, ModelParams | None, np.random.SeedSequence], ReplicateResult]
Outcome = tuple[int, ReplicateResult | None, str | None]  # replicate, result or None, traceback or None


def release(model: mesa.Model) -> None:
    """Drop Mesa 3.3's class-level reference to a finished model so it can be garbage collected."""
    mesa.Agent._ids.pop(model, None)


def simulate(
    scenario: Scenario, params: ModelParams | None = None, seed: np.random.SeedSequence | int | None = None
) -> ReplicateResult:
    """Run one replicate and return its tables. Pure: same inputs, same outputs; picklable arguments."""
    rng = np.random.default_rng(seed)
    model = LithiumModel(scenario, params=params, rng=rng)
    try:
        model.run()
        return collect(model)
    finally:
        model.remove_all_agents()
        release(model)


def _replicate_task(
    scenario: Scenario,
    params: ModelParams | None,
    seed: np.random.SeedSequence,
    replicate: int,
    simulator: Simulator = simulate,
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


# ---------------------------------------------------------------------------------------------------------
# finished replicates: part files on disk, summary values in memory
# ---------------------------------------------------------------------------------------------------------
class ReplicateStore:
    """The finished replicates of one run.

    Each replicate's tables are written to ``parts/`` as ``firms-000012.csv``, ``market-000012.csv`` and
    ``summary-000012.csv`` (each written under a temporary name and renamed; the summary part last, so a
    replicate whose summary part exists is complete). The summary values are also kept in memory as one
    float array per replicate over a shared table of row keys.

    Args:
        directory: where the part files go.
        temporary: delete the directory when the store is garbage collected (runs not tied to a results
            directory, e.g. from the Python API).
    """

    TABLES = ("firms", "market")

    def __init__(self, directory: Path, temporary: bool) -> None:
        self.directory = directory
        self.parts = directory / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.temporary = temporary
        self._layouts: list[pd.DataFrame] = []  # distinct tables of summary row keys
        self._values: dict[int, tuple[int, np.ndarray]] = {}  # replicate -> (layout, values)
        self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True) if temporary else None

    @classmethod
    def open(cls, directory: Path | None, resume: bool, manifest: dict[str, Any]) -> ReplicateStore:
        """A store in ``directory`` (a fresh temporary one when None); with ``resume``, keep its finished parts."""
        if directory is None:
            return cls(Path(tempfile.mkdtemp(prefix="lithium-sim-run-")), temporary=True)
        if directory.exists() and not resume:
            shutil.rmtree(directory)
        store = cls(directory, temporary=False)
        (directory / "run.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if resume:
            store._load_finished()
        return store

    def __contains__(self, replicate: int) -> bool:
        return replicate in self._values

    @property
    def replicates(self) -> list[int]:
        """Finished replicates, in order."""
        return sorted(self._values)

    def _part(self, table: str, replicate: int) -> Path:
        return self.parts / f"{table}-{replicate:06d}.csv"

    def _write(self, frame: pd.DataFrame, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)

    def add(self, replicate: int, result: ReplicateResult) -> None:
        """Write a finished replicate's parts and keep its summary values."""
        for table in self.TABLES:
            frame = getattr(result, table)
            frame = frame.assign(replicate=replicate)[["replicate", *[c for c in frame.columns if c != "replicate"]]]
            self._write(frame, self._part(table, replicate))
        self._write(result.summary, self._part("summary", replicate))
        self._keep(replicate, result.summary)

    def _keep(self, replicate: int, summary: pd.DataFrame) -> None:
        layout = summary[SUMMARY_KEYS].reset_index(drop=True)
        known = next((k for k, seen in enumerate(self._layouts) if seen.equals(layout)), None)
        if known is None:
            self._layouts.append(layout)
            known = len(self._layouts) - 1
        self._values[replicate] = (known, summary["value"].to_numpy(dtype=float, copy=True))

    def _load_finished(self) -> None:
        for stale in self.parts.glob("*.tmp"):
            stale.unlink()
        for path in sorted(self.parts.glob("summary-*.csv")):
            replicate = int(path.stem.split("-")[1])
            if all(self._part(t, replicate).is_file() for t in self.TABLES):
                self._keep(replicate, pd.read_csv(path, **_EXACT_FLOATS))

    def summary(self, scenario: str, chunk_rows: int = SUMMARY_CHUNK_ROWS) -> pd.DataFrame:
        """The run's summary: exactly ``summarise`` of the replicates' rows in replicate order.

        Rows are summarised in chunks of summary keys so that at most about ``chunk_rows`` replicate rows
        are in one frame. Every key's values are still taken in replicate order, and chunks follow the
        order in which keys first appear, so the result equals the unchunked one bit for bit.
        """
        order = self.replicates
        layout_of = {i: self._values[i][0] for i in order}
        used = list(dict.fromkeys(layout_of[i] for i in order))  # layouts in order of first use
        keys = pd.concat([self._layouts[k] for k in used], ignore_index=True).drop_duplicates(ignore_index=True)
        index = pd.MultiIndex.from_frame(keys)
        position = {k: index.get_indexer(pd.MultiIndex.from_frame(self._layouts[k])) for k in used}
        members = {k: [i for i in order if layout_of[i] == k] for k in used}
        step = max(1, chunk_rows // len(order))
        chunks = []
        for start in range(0, len(keys), step):
            blocks = []
            for k in used:
                rows = np.flatnonzero((position[k] >= start) & (position[k] < start + step))
                if rows.size == 0:
                    continue
                reps = members[k]
                block = self._layouts[k].iloc[np.tile(rows, len(reps))].reset_index(drop=True)
                block["value"] = np.concatenate([self._values[i][1][rows] for i in reps])
                block["_replicate"] = np.repeat(reps, rows.size)
                block["_row"] = np.tile(rows, len(reps))
                blocks.append(block)
            stacked = pd.concat(blocks, ignore_index=True)
            stacked = stacked.iloc[np.lexsort((stacked["_row"], stacked["_replicate"]))]
            chunks.append(summarise([stacked.drop(columns=["_replicate", "_row"])], scenario))
        return pd.concat(chunks, ignore_index=True)

    def concatenate(self, table: str, destination: Path) -> None:
        """Write one CSV of ``table`` ("firms" or "market") for all replicates, in replicate order."""
        header = None
        with open(destination, "wb") as out:
            for replicate in self.replicates:
                with open(self._part(table, replicate), "rb") as part:
                    first = part.readline()
                    if header is None:
                        header = first
                        out.write(header)
                    elif first != header:
                        raise RuntimeError(f"replicate {replicate}'s {table} table has other columns: {first!r}")
                    shutil.copyfileobj(part, out)

    def read(self, table: str) -> pd.DataFrame:
        """All replicates' ``table`` as one DataFrame (for small runs: it holds every row in memory)."""
        frames = [pd.read_csv(self._part(table, i), **_EXACT_FLOATS) for i in self.replicates]
        return pd.concat(frames, ignore_index=True)

    def discard(self) -> None:
        """Delete the part files (after the run directory is written, or when nothing is worth keeping)."""
        if self._cleanup is not None:
            self._cleanup()
        else:
            shutil.rmtree(self.directory, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------------
# a finished run and its directory
# ---------------------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """A finished run: the summary across replicates, provenance, failed replicates and the firm tables.

    Attributes:
        scenario: the scenario that was run.
        summary: one row per year, region, segment and metric (columns as `sim.outputs.results.SUMMARY_COLUMNS`).
        meta: provenance written to ``meta.json``.
        failures: replicate -> traceback of the replicates that raised.
        store: the finished replicates' part files (firm and market tables).
    """

    scenario: Scenario
    summary: pd.DataFrame
    meta: dict[str, Any]
    failures: dict[int, str] = field(default_factory=dict)
    store: ReplicateStore | None = field(default=None, repr=False)

    @property
    def firms(self) -> pd.DataFrame:
        """Per replicate, firm and year (read from the part files: meant for small runs)."""
        return self._table("firms")

    @property
    def market(self) -> pd.DataFrame:
        """Per replicate and month: prices and national quantities."""
        return self._table("market")

    def _table(self, table: str) -> pd.DataFrame:
        if self.store is None or not self.store.parts.is_dir():
            raise RuntimeError(f"the {table} table of this run is no longer available (its part files were removed)")
        return self.store.read(table)

    def value(
        self, metric: str, region: str = "suining", segment: str = "all", year: int | None = None, stat: str = "mean"
    ) -> float | pd.Series:
        """One figure from the summary, or a series by year when ``year`` is None.

        Args:
            metric: e.g. "value_added" (亿元), "output" (t LCE, t or GWh), "national_share" (%).
            region: "suining" or "china".
            segment: "lithium_salt", "lfp_cathode", "battery" or "all".
            year: a calendar year.
            stat: "mean", "p05", "p50" or "p95".
        """
        s = self.summary
        sel = s[(s.metric == metric) & (s.region == region) & (s.segment == segment)].set_index("year")[stat]
        if sel.empty:
            raise KeyError(f"no summary rows for metric={metric!r}, region={region!r}, segment={segment!r}")
        return float(sel.loc[year]) if year is not None else sel

    def save(self, out_dir: str | Path, charts: bool = True, lang: str = "en") -> Path:
        """Write the run directory atomically: built beside the target, then renamed into place.

        Args:
            out_dir: the run directory; an existing run directory there is replaced.
            charts: draw the PNG charts into ``charts/``.
            lang: chart language, "en" or "zh".
        """

        def fill(tmp: Path) -> None:
            self.summary.to_csv(tmp / "summary.csv", index=False)
            if self.store is not None:
                for table in ReplicateStore.TABLES:
                    self.store.concatenate(table, tmp / f"{table}.csv")
            if charts:
                from sim.outputs.charts import run_charts

                run_charts(self, tmp / "charts", lang=lang)
            meta = dict(self.meta)
            meta["failures"] = {str(k): v for k, v in sorted(self.failures.items())}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")

        return write_directory(out_dir, fill, RUN_FILES)


def check_replaceable(target: str | Path, expected: Iterable[str]) -> None:
    """Raise `InputError` unless ``target`` is absent, empty, or an earlier output holding ``expected`` files.

    Results directories are replaced whole; this keeps ``--out .`` or ``--out ~/Documents`` from deleting
    anything that lithium-sim did not write.
    """
    target = Path(target)
    expected = tuple(expected)
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError("exists and is not a directory; choose another output directory", file=str(target))
    if any(target.iterdir()) and not all((target / name).is_file() for name in expected):
        raise InputError(
            f"exists and is not an output of lithium-sim (it lacks {', '.join(expected)}), so it will not be "
            "replaced; choose another output directory or remove this one",
            file=str(target),
        )


def write_directory(target: str | Path, fill: Callable[[Path], None], expected: Iterable[str]) -> Path:
    """Build a results directory in a temporary sibling with ``fill(tmp)``, then rename it into place.

    A failure or interruption leaves the previous directory (if any) untouched and no partial one.

    Args:
        target: the directory to write.
        fill: writes the files into the directory it is given.
        expected: files that mark an earlier output of the same kind (see `check_replaceable`).
    """
    target = Path(target).resolve()
    check_replaceable(target, expected)
    target.parent.mkdir(parents=True, exist_ok=True)
    # not mkdtemp: its 0700 mode would stay with the results; mkdir honours the umask like any directory
    tmp = target.parent / f".{target.name}.writing-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        fill(tmp)
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


# ---------------------------------------------------------------------------------------------------------
# provenance
# ---------------------------------------------------------------------------------------------------------
def code_version() -> str:
    """Package version plus the git commit of the source tree when there is one."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=project_root(), capture_output=True, text=True,
            timeout=5, check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_root(), capture_output=True,
            text=True, timeout=5, check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return f"{sim.__version__}+g{commit}{'.dirty' if dirty else ''}" if commit else sim.__version__


def replicate_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """One seed per replicate: ``SeedSequence(seed).spawn(n)`` (replicate i always gets child i)."""
    return np.random.SeedSequence(seed).spawn(n)


def scenario_fingerprint(scenario: Scenario) -> str:
    """SHA-256 of everything the scenario holds, including changes made in code after loading it."""
    return hashlib.sha256(repr(scenario).encode("utf-8")).hexdigest()


def run_key(scenario: Scenario, params: ModelParams, seed: int, replicates: int, version: str) -> str:
    """What must match for an interrupted run's finished replicates to be reused."""
    key = {"scenario": scenario_fingerprint(scenario), "parameters": params.to_dict(), "seed": seed,
           "replicates": replicates, "version": version}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()


def partial_dir(out_dir: str | Path, key: str) -> Path:
    """Where the part files of a run bound for ``out_dir`` are kept until it is saved."""
    out_dir = Path(out_dir).resolve()
    return out_dir.parent / f".{out_dir.name}.partial-{key[:16]}"


# ---------------------------------------------------------------------------------------------------------
# executors
# ---------------------------------------------------------------------------------------------------------
class _Batch:
    """The replicates still to run: their shared arguments and an iterator of (replicate, seed)."""

    def __init__(self, scenario: Scenario, params: ModelParams | None, simulator: Simulator,
                 todo: Iterable[tuple[int, np.random.SeedSequence]]) -> None:
        self.scenario = scenario
        self.params = params
        self.simulator = simulator
        self.todo: Iterator[tuple[int, np.random.SeedSequence]] = iter(todo)

    def take(self, count: int) -> list[tuple[int, np.random.SeedSequence]]:
        return list(itertools.islice(self.todo, count))


def _run_here(batch: _Batch, on_result: Callable[..., None]) -> None:
    for replicate, seed in batch.todo:
        on_result(*_replicate_task(batch.scenario, batch.params, seed, replicate, batch.simulator))


def _run_on_processes(batch: _Batch, workers: int, on_result: Callable[..., None]) -> None:
    ctx = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

    def submit(replicate: int, seed: np.random.SeedSequence) -> cf.Future:
        return pool.submit(_replicate_task, batch.scenario, batch.params, seed, replicate, batch.simulator)

    try:
        pending = {submit(*item) for item in batch.take(2 * workers)}  # a window: results never pile up
        while pending:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                on_result(*future.result())
                pending.update(submit(*item) for item in batch.take(1))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


@contextlib.contextmanager
def _dask_client(scheduler: Any) -> Iterator[Any]:
    """The `distributed.Client` for ``scheduler`` (None: no cluster); a client opened here is closed after."""
    if scheduler is None:
        yield None
        return
    client, opened = _connect(scheduler)
    try:
        yield client
    finally:
        if opened:
            client.close()


def _connect(scheduler: Any) -> tuple[Any, bool]:
    """A `distributed.Client` for ``scheduler`` (an address or a client), and whether we opened it."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    scheduler = getattr(scheduler, "scheduler_address", scheduler)  # a cluster object, e.g. LocalCluster
    if not isinstance(scheduler, str):
        raise InputError(f"the scheduler must be an address such as tcp://127.0.0.1:8786, got {scheduler!r}",
                         key="scheduler")
    try:
        return Client(scheduler), True
    except (OSError, ValueError) as err:
        raise InputError(
            f"cannot connect to a Dask scheduler at '{scheduler}' ({err}); start one with `dask scheduler` "
            "and give the address it prints (tcp://HOST:8786), or leave the option out to run locally",
            key="scheduler",
        ) from None


def _run_on_dask(batch: _Batch, client: Any, on_result: Callable[..., None]) -> None:
    """Submit replicates to a Dask cluster, a window at a time, gathering them as they complete."""
    from distributed import as_completed

    in_flight: dict[str, tuple[int, Any]] = {}  # task key -> (replicate, future)
    try:
        window = max(2, 2 * sum(client.nthreads().values()))
        scenario = client.scatter(batch.scenario, broadcast=True)  # sent once, not with every task

        def submit(replicate: int, seed: np.random.SeedSequence) -> Any:
            future = client.submit(_replicate_task, scenario, batch.params, seed, replicate, batch.simulator,
                                   pure=False)
            in_flight[future.key] = (replicate, future)
            return future

        running = as_completed([submit(*item) for item in batch.take(window)], with_results=True,
                               raise_errors=False)
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


# ---------------------------------------------------------------------------------------------------------
# many replicates
# ---------------------------------------------------------------------------------------------------------
def run_scenario(
    scenario: Scenario,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    params: ModelParams | None = None,
    progress: bool = True,
    *,
    scheduler: Any = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    simulator: Simulator = simulate,
) -> RunResult:
    """Run a scenario's replicates and summarise them.

    A replicate that raises is recorded in `RunResult.failures` with its traceback; the others complete.

    Args:
        scenario: a loaded scenario.
        replicates: overrides the scenario's count.
        seed: overrides the scenario's master seed.
        workers: local worker processes; 1 runs in this process. Ignored when ``scheduler`` is given.
        params: overrides the scenario's parameters.
        progress: show a progress bar on standard error.
        scheduler: a Dask scheduler address (e.g. "tcp://127.0.0.1:8786"), a `distributed.Client` or a
            cluster object (e.g. `distributed.LocalCluster`); replicates then run on that cluster.
        out_dir: the run directory the result will be saved to. The replicates' part files are then kept
            beside it (``.NAME.partial-KEY/``) rather than in a temporary directory, so that an
            interrupted run can be resumed.
        resume: reuse the finished replicates of an interrupted run of the same scenario, parameters, seed,
            replicate count and code version (needs ``out_dir``).
        simulator: runs one replicate, ``simulator(scenario, params, seed) -> ReplicateResult``; it must be a
            module-level function so worker processes can unpickle it. The default is `simulate`; tests
            pass a wrapper that fails on chosen replicates.

    Raises:
        InputError: a scheduler that cannot be reached.
        RuntimeError: every replicate failed.
    """
    if resume and out_dir is None:
        raise ValueError("resume needs out_dir: the finished replicates are kept beside the run directory")
    n = replicates or scenario.replicates
    master = scenario.seed if seed is None else seed
    seeds = replicate_seeds(master, n)
    used = params or scenario.params
    version = code_version()
    key = run_key(scenario, used, master, n, version)
    failures: dict[int, str] = {}
    started = time.perf_counter()

    with _dask_client(scheduler) as client:  # connect first: an unreachable scheduler leaves nothing behind
        manifest = {"scenario": scenario.name, "scenario_file": scenario.source, "seed": master,
                    "replicates": n, "version": version, "key": key}
        store = ReplicateStore.open(partial_dir(out_dir, key) if out_dir is not None else None, resume, manifest)
        resumed = len(store.replicates)
        batch = _Batch(scenario, params, simulator, [(i, seeds[i]) for i in range(n) if i not in store])
        bar = tqdm(total=n, initial=resumed, desc=f"{scenario.name}: replicates", unit="rep",
                   disable=not progress or n < 2, file=sys.stderr)

        def on_result(replicate: int, result: ReplicateResult | None, error: str | None) -> None:
            if result is not None:
                store.add(replicate, result)
            else:
                failures[replicate] = error or "unknown error"
            bar.update()

        try:
            if client is not None:
                _run_on_dask(batch, client, on_result)
                executor = {"kind": "dask", "scheduler": str(client.scheduler.address)}
            elif workers <= 1 or n - resumed <= 1:
                _run_here(batch, on_result)
                executor = {"kind": "in-process"}
            else:
                _run_on_processes(batch, min(workers, n - resumed), on_result)
                executor = {"kind": "local processes", "workers": workers}
        except BaseException:  # interrupted: part files beside a results directory stay for --resume
            if store.temporary or not store.replicates:
                store.discard()
            raise
        finally:
            bar.close()

    if not store.replicates:
        store.discard()
        raise RuntimeError(f"every replicate failed; first error:\n{failures[min(failures)]}")
    meta = {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": scenario.source,
        "scenario_sha256": scenario.source_sha256,
        "scenario_lineage": [{"file": f, "sha256": h} for f, h in scenario.lineage],
        "scenario_fingerprint": scenario_fingerprint(scenario),
        "seed": master,
        "replicates": n,
        "replicates_ok": len(store.replicates),
        "replicates_resumed": resumed,
        "replicate_seeds": {
            "entropy": str(seeds[0].entropy),
            "spawn_keys": [list(s.spawn_key) for s in seeds] if n <= 1000 else "SeedSequence(seed).spawn(n)",
        },
        "workers": workers if client is None else None,
        "executor": executor,
        "version": version,
        "package_version": sim.__version__,
        "parameter_file": scenario.parameter_file,
        "parameter_file_sha256": scenario.parameter_file_sha256,
        "parameters": used.to_dict(),
        "parameters_sha256": hashlib.sha256(json.dumps(used.to_dict(), sort_keys=True).encode()).hexdigest(),
        "policy": _as_data(scenario.policy),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    return RunResult(scenario, store.summary(scenario.name), meta, failures, store)


def _as_data(value: Any) -> Any:
    """Policy levers as JSON-ready data, whatever form the scenario holds them in."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value
