"""Running scenarios: one replicate (`simulate`), many (`run_scenario`), and the finished run (`RunResult`).

Replicate seeds come from ``numpy.random.SeedSequence(seed).spawn(n)``, so replicate *i* gets the same
stream whatever runs it: this process, local worker processes, or a Dask cluster (`sim.runs.executors`).
Results are summarised in replicate order, so ``summary.csv`` is byte-identical for any number of workers
and either executor.

Memory stays bounded over many replicates:

- each finished replicate's firm and market tables go to part files on disk at once (`sim.runs.store`);
  only its summary values (one float per summary row) stay in memory, and the summary is computed in
  chunks of rows;
- local workers are spawned processes (``import mesa`` sets the start method to "spawn"), at most two
  replicates per worker in flight; every process, this one or a worker, frees each finished model's Mesa
  registry and runs a full garbage collection every `GC_EVERY` replicates. (Workers are not recycled with
  ``max_tasks_per_child``: on Python 3.11 replacing a worker can hang the pool, CPython gh-115634.)
- in-process runs free each model's Mesa agent registry (Mesa 3.3 otherwise keeps every model alive,
  upstream issue #3179).

When the run directory is known (`run_scenario(..., out_dir=...)`, as the CLI does), it is claimed for the
run (`sim.runs.rundir`: a lock, and what earlier processes left beside it is dealt with), and the part files
live beside it in ``.NAME.partial-KEY/``, where KEY hashes the scenario, parameters, seed, replicate count
and code version. An interrupted run leaves them there, and ``resume=True`` reuses the finished replicates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from tqdm import tqdm

import sim
from sim.engine.model import LithiumModel
from sim.inputs.errors import InputError  # noqa: F401  (re-exported: callers catch it from here)
from sim.inputs.params import ModelParams
from sim.inputs.scenario import Scenario
from sim.outputs.results import ReplicateResult, collect
from sim.runs.executors import (  # noqa: F401  (re-exported)
    GC_EVERY,
    Batch,
    Outcome,
    Simulator,
    dask_client,
    replicate_task,
    run_here,
    run_on_dask,
    run_on_processes,
)
from sim.runs.provenance import (  # noqa: F401  (re-exported)
    as_data,
    code_version,
    replicate_seeds,
    run_key,
    scenario_fingerprint,
)
from sim.runs.rundir import (  # noqa: F401  (re-exported)
    RUN,
    RUN_FILES,
    RUN_MARKER,
    check_replaceable,
    claim,
    partial_dir,
    report,
    siblings,
    write_directory,
)
from sim.runs.store import MANIFEST, SUMMARY_CHUNK_ROWS, SUMMARY_KEYS, ReplicateStore  # noqa: F401


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


def _replicate_task(scenario, params, seed, replicate, simulator: Simulator = simulate) -> Outcome:
    """`sim.runs.executors.replicate_task` with `simulate` as the default simulator."""
    return replicate_task(scenario, params, seed, replicate, simulator)


# ---------------------------------------------------------------------------------------------------------
# a finished run
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

    def save(self, out_dir: str | Path, charts: bool = True, lang: str = "en", *, force: bool = False) -> Path:
        """Write the run directory atomically: built beside the target, then renamed into place.

        Args:
            out_dir: the run directory; an earlier run directory there is replaced if it holds nothing
                but what lithium-sim writes (see `sim.runs.rundir`).
            charts: draw the PNG charts into ``charts/``.
            lang: chart language, "en" or "zh".
            force: if ``out_dir`` holds anything else, move it aside whole (kept, and reported) rather than
                refuse.

        Raises:
            InputError: ``out_dir`` cannot be written, is being written by another process, or holds files
                lithium-sim did not write (without ``force``).
        """

        def fill(tmp: Path) -> None:
            self.summary.to_csv(tmp / "summary.csv", index=False)
            if self.store is not None:
                for table in ReplicateStore.TABLES:
                    self.store.concatenate(table, tmp / f"{table}.csv")
            if charts:
                from sim.outputs.charts import run_charts

                run_charts(self, tmp / "charts", lang=lang)
            meta = {RUN_MARKER: {"kind": "run directory", "format": 1}, **self.meta}
            meta["failures"] = {str(k): v for k, v in sorted(self.failures.items())}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")

        with claim(out_dir, RUN, force=force, option=None) as held:
            return held.write(fill)


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
        out_dir: the run directory the result will be saved to. It is claimed (locked) for the run, and
            the replicates' part files are kept beside it (``.NAME.partial-KEY/``) rather than in a
            temporary directory, so that an interrupted run can be resumed.
        resume: reuse the finished replicates of an interrupted run of the same scenario, parameters, seed,
            replicate count and code version (needs ``out_dir``).
        simulator: runs one replicate, ``simulator(scenario, params, seed) -> ReplicateResult``; it must be a
            module-level function so worker processes can unpickle it. The default is `simulate`; tests
            pass a wrapper that fails on chosen replicates.

    Raises:
        InputError: a scheduler that cannot be reached; an ``out_dir`` in use by another process, or that
            cannot be written, or holds files lithium-sim did not write.
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

    held = claim(out_dir, RUN, option=None) if out_dir is not None else contextlib.nullcontext()
    # claim, then connect: a directory in use, or an unreachable scheduler, leaves nothing behind
    with held as holder, dask_client(scheduler) as client:
        manifest = {
            "scenario": scenario.name,
            "scenario_file": scenario.source,
            "seed": master,
            "replicates": n,
            "version": version,
            "key": key,
        }
        directory = partial_dir(out_dir, key) if out_dir is not None else None
        if directory is not None:
            report_partials(directory)
        store = ReplicateStore.open(directory, resume, manifest)
        if holder is not None:
            holder.partial = store.directory  # where this run's finished replicates are, until saved
        resumed = len(store.replicates)
        batch = Batch(scenario, params, simulator, [(i, seeds[i]) for i in range(n) if i not in store])
        bar = tqdm(
            total=n,
            initial=resumed,
            desc=f"{scenario.name}: replicates",
            unit="rep",
            disable=not progress or n < 2,
            file=sys.stderr,
        )

        def on_result(replicate: int, result: ReplicateResult | None, error: str | None) -> None:
            if result is not None:
                store.add(replicate, result)
            else:
                failures[replicate] = error or "unknown error"
            bar.update()

        try:
            if client is not None:
                run_on_dask(batch, client, on_result)
                executor = {"kind": "dask", "scheduler": str(client.scheduler.address)}
            elif workers <= 1 or n - resumed <= 1:
                run_here(batch, on_result)
                executor = {"kind": "in-process"}
            else:
                run_on_processes(batch, min(workers, n - resumed), on_result)
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
        "policy": as_data(scenario.policy),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    return RunResult(scenario, store.summary(scenario.name), meta, failures, store)


def report_partials(own: Path) -> None:
    """Tell the user about finished replicates of other interrupted runs bound for the same directory
    (another seed, replicate count, scenario or code version): they are kept for ``--resume``."""
    target = own.parent / own.name[1:].rsplit(".partial-", 1)[0]
    for path, m in siblings(target):
        if m.group("key") is None or path == own:
            continue
        finished = len(list((path / "parts").glob("summary-*.csv")))
        try:
            about = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            what = (
                f"scenario {about['scenario']}, seed {about['seed']}, {finished} of {about['replicates']} "
                "replicates finished"
            )
        except (OSError, ValueError, KeyError, TypeError):
            what = f"{finished} replicate(s) finished"
        report(
            f"{path} holds an interrupted run bound for {target.name} ({what}); it is kept: run that command "
            "again with --resume to finish it, or delete the directory"
        )
