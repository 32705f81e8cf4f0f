"""Running scenarios: a batch of replicates (`simulate`), a whole run (`run_scenario`), the finished run
(`RunResult`).

Replicate seeds come from ``numpy.random.SeedSequence(seed).spawn(n)``, so replicate *i* gets the same streams
whatever runs it. Replicates run in batches (`batch_sizes`): consecutive replicates stepped together by the
batched model, in this process, on local worker processes or on a Dask cluster (`sim.runs.executors`); a
replicate's figures do not depend on its batch, so ``summary.csv`` is byte-identical for any number of workers,
batch size or executor.

Memory stays bounded over many replicates: each finished batch's tables go to part files on disk at once
(`sim.runs.store`); only its summary values (one float per summary row and replicate) stay in memory; at most
two batches per worker are in flight. Every finished model's Mesa registry is freed (`sim.engine.model.release`,
the one place the workaround for Mesa 3.3's model leak lives).

When the run directory is known (`run_scenario(..., out_dir=...)`, as the CLI does), it is claimed for the run
(`sim.runs.rundir`: a lock, and what earlier processes left beside it is dealt with), and the part files live
beside it in ``.NAME.partial-KEY/``, where KEY hashes the scenario, parameters, seed, replicate count and code
version. An interrupted run leaves them there, and ``resume=True`` reuses the finished batches.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.engine.model import simulate_batch
from sim.inputs import catalogue as cat
from sim.inputs.data import default_data
from sim.inputs.errors import InputError  # noqa: F401  (re-exported: callers catch it from here)
from sim.inputs.scenario import Scenario, month_label
from sim.outputs.tables import BatchTables, batch_tables, history_years, replicate_table, supply_table
from sim.runs.executors import Simulator, Work, dask_client, run_here, run_on_dask, run_on_processes
from sim.runs.provenance import (  # noqa: F401  (re-exported)
    code_version,
    package_version,
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
    is_private_dir,
    partial_dir,
    private_dir,
    report,
    siblings,
    write_directory,
)
from sim.runs.store import MANIFEST, ReplicateStore  # noqa: F401

MAX_BATCH = 100  # replicates per batch: past about 100, a batch runs no faster per replicate
FIRM_DETAIL = 100  # replicates whose per-firm tables are kept by default (firms.csv grows ~2k rows a replicate)


def simulate(
    scenario: Scenario, params=None, seeds=None, replicates: list[int] | None = None, firm_detail: int = 0
) -> BatchTables:
    """Run one batch of replicates and return its tables. Pure and picklable: a worker task.

    Args:
        scenario: the scenario.
        params: overrides the scenario's parameters.
        seeds: one seed per replicate (default: replicate 0 of the scenario's seed).
        replicates: the run's numbers of these replicates (default 0, 1, ...).
        firm_detail: keep per-firm years for the replicates numbered below this.
    """
    seeds = list(seeds) if seeds is not None else replicate_seeds(scenario.seed, 1)
    replicates = list(replicates) if replicates is not None else list(range(len(seeds)))
    keep = sum(1 for r in replicates if r < firm_detail)
    # a replicate that fails a numeric check alone keeps its years before the failure (sim.engine.guard)
    record = simulate_batch(scenario, params=params, seeds=seeds, firm_detail=keep, partial=True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        if record.failures:  # its later years are NaN: metrics of them are NaN, and say nothing more
            warnings.simplefilter("ignore", RuntimeWarning)
        tables = batch_tables(record, replicates)
        tables.supply = supply_table(record, replicates)  # the world market runs in both price modes
    tables.failures = {replicates[j]: f.to_dict(replicates[j]) for j, f in record.failures.items()}
    return tables


def batch_sizes(n: int, workers: int = 1, largest: int = MAX_BATCH) -> list[int]:
    """How a run of ``n`` replicates is cut into batches: enough batches to keep every worker busy (two
    each), none larger than ``largest``, sizes within one of each other."""
    if n <= 0:
        return []
    count = max(math.ceil(n / largest), min(n, 2 * workers if workers > 1 else 1))
    base, extra = divmod(n, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


# ---------------------------------------------------------------------------------------------------------
# a finished run
# ---------------------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    """A finished run: the summary across replicates, provenance, failed replicates and the firm tables.

    Attributes:
        scenario: the scenario that was run.
        summary: one row per year, region, segment and metric (columns as `sim.outputs.tables.SUMMARY_COLUMNS`).
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
        """Per replicate and month: prices, demand and output along the chain, the world market."""
        return self._table("market")

    @property
    def supply(self) -> pd.DataFrame:
        """Per replicate, year and supply cohort (market mode; empty in path mode)."""
        return self._table("supply")

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

    def replicate_table(self) -> pd.DataFrame | None:
        """Suining's figures per replicate (``replicates.csv``; `sim.outputs.tables.replicate_table`), or None
        when the part files' values are gone."""
        if self.store is None or not self.store.replicates:
            return None
        return replicate_table(*self.store.replicate_values())

    def save(
        self, out_dir: str | Path, charts: bool = True, lang: str = "en", *, force: bool = False, pool=None
    ) -> Path:
        """Write the run directory atomically: built beside the target, then renamed into place.

        Args:
            out_dir: the run directory; an earlier run directory there is replaced if it holds nothing
                but what lithium-sim writes (see `sim.runs.rundir`).
            charts: draw the PNG charts into ``charts/``.
            lang: chart language, "en" or "zh".
            force: if ``out_dir`` holds anything else, move it aside whole (kept, and reported) rather than
                refuse.
            pool: a worker process to share the charts with (`sim.runs.compare.chart_pool`).

        Raises:
            InputError: ``out_dir`` cannot be written, is being written by another process, or holds files
                lithium-sim did not write (without ``force``).
        """

        def fill(tmp: Path) -> None:
            self.summary.to_csv(tmp / "summary.csv", index=False)
            per_replicate = self.replicate_table()
            if per_replicate is not None:
                per_replicate.to_csv(tmp / "replicates.csv", index=False)
            has_supply = False
            if self.store is not None:
                for table in ReplicateStore.TABLES:
                    written = self.store.concatenate(table, tmp / f"{table}.csv")
                    has_supply |= table == "supply" and written
            if charts:
                from sim.outputs.charts import run_charts

                supply = pd.read_csv(tmp / "supply.csv") if has_supply else None
                run_charts(
                    self.summary,
                    tmp / "charts",
                    self.scenario.label(lang),
                    lang=lang,
                    supply=supply,
                    city=default_data().city,
                    history=self.meta.get("history_years"),
                    pool=pool,
                )
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
    params=None,
    progress: bool | Callable[[int, int], None] = True,
    *,
    lang: str = "en",
    scheduler: Any = None,
    out_dir: str | Path | None = None,
    resume: bool = False,
    simulator: Simulator = simulate,
    batch_size: int | None = None,
    firm_detail: int | None = None,
) -> RunResult:
    """Run a scenario's replicates, in batches, and summarise them.

    A batch that raises is rerun replicate by replicate; a replicate that raises is recorded in
    `RunResult.failures` with its traceback, and the others complete.

    Args:
        scenario: a loaded scenario.
        replicates: overrides the scenario's count.
        seed: overrides the scenario's master seed.
        workers: local worker processes; 1 runs in this process. Ignored when ``scheduler`` is given.
        params: overrides the scenario's parameters.
        progress: show a progress bar on standard error, or a callable ``(replicates done, total)``.
        lang: the language of the progress bar.
        scheduler: a Dask scheduler address (e.g. "tcp://127.0.0.1:8786"), a `distributed.Client` or a
            cluster object (e.g. `distributed.LocalCluster`); batches then run on that cluster.
        out_dir: the run directory the result will be saved to. It is claimed (locked) for the run, and
            the batches' part files are kept beside it (``.NAME.partial-KEY/``) rather than in a temporary
            directory, so that an interrupted run can be resumed.
        resume: reuse the finished batches of an interrupted run of the same scenario, parameters, seed,
            replicate count and code version (needs ``out_dir``).
        simulator: runs one batch, ``simulator(scenario, params, seeds, replicates, firm_detail) ->
            BatchTables``; a module-level function so worker processes can unpickle it. The default is
            `simulate`; tests pass a wrapper that fails on chosen replicates.
        batch_size: replicates per batch (default: `batch_sizes`).
        firm_detail: replicates whose per-firm tables are kept (default: the first `FIRM_DETAIL`).

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
    detail = min(n, FIRM_DETAIL if firm_detail is None else firm_detail)
    version = code_version()
    key = run_key(scenario, used, master, n, version)
    failures: dict[int, str] = {}
    started = time.perf_counter()

    def cut(replicates: list[int]) -> list[list[int]]:
        """Batches of consecutive replicates (a replicate's figures do not depend on its batch)."""
        m = len(replicates)
        sizes = (
            [batch_size] * (m // batch_size) + ([m % batch_size] if m % batch_size else [])
            if batch_size
            else batch_sizes(m, workers if scheduler is None else 4)
        )
        out, start = [], 0
        for size in sizes:
            part = replicates[start : start + size]
            start += size
            gaps = [j for j in range(1, len(part)) if part[j] != part[j - 1] + 1]  # never across a gap
            for a, b in zip([0, *gaps], [*gaps, len(part)], strict=True):
                out.append(part[a:b])
        return out

    sizes = [len(c) for c in cut(list(range(n)))]

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
            "batches": sizes,
        }
        directory = partial_dir(out_dir, key) if out_dir is not None else None
        if directory is not None:
            report_partials(directory)
        store = ReplicateStore.open(directory, resume, manifest)
        if holder is not None:
            holder.partial = store.directory  # where this run's finished replicates are, until saved
        resumed = len(store.replicates)
        chunks = cut([i for i in range(n) if i not in store])
        todo = [(chunk, [seeds[i] for i in chunk]) for chunk in chunks]
        work = Work(scenario, params, simulator, todo, detail)
        bar = tqdm(
            total=n,
            initial=resumed,
            desc=cat.say(lang, "cli.bar_run", scenario=scenario.label(lang)),
            unit=cat.say(lang, "cli.bar_run_unit"),
            disable=not progress or callable(progress) or n < 2,
            file=sys.stderr,
        )
        done = [resumed]

        def on_result(replicates: list[int], tables: list[BatchTables], errors: dict[int, str]) -> None:
            for batch in tables:
                store.add(batch)
            failures.update(errors)
            bar.update(len(replicates))
            done[0] += len(replicates)
            if callable(progress):
                progress(done[0], n)

        try:
            if client is not None:
                run_on_dask(work, client, on_result)
                executor = {"kind": "dask", "scheduler": str(client.scheduler.address)}
            elif workers <= 1 or len(todo) <= 1:
                run_here(work, on_result)
                executor = {"kind": "in-process"}
            else:
                run_on_processes(work, min(workers, len(todo)), on_result)
                executor = {"kind": "local processes", "workers": workers}
        except BaseException:  # interrupted: part files beside a results directory stay for --resume
            if store.temporary or not store.replicates:
                store.discard()
            else:
                store.close()
            raise
        finally:
            bar.close()

    if not store.replicates:
        store.discard()
        raise RuntimeError(f"every replicate failed; first error:\n{failures[min(failures)]}")
    numeric = store.failures  # stopped by a numeric check: their years before it are in the summary
    failures.update({replicate: failure["message"] for replicate, failure in numeric.items()})
    meta = {
        "scenario": scenario.name,
        "description": scenario.description,
        "name_zh": scenario.name_zh,
        "description_zh": scenario.description_zh,
        "history_years": history_years(scenario),
        "scenario_file": scenario.source,
        "scenario_sha256": scenario.source_sha256,
        "scenario_lineage": [{"file": f, "sha256": h} for f, h in scenario.lineage],
        "scenario_fingerprint": scenario_fingerprint(scenario),
        "price_mode": scenario.price_mode,
        "seed": master,
        "replicates": n,
        "replicates_ok": len(store.replicates) - len(numeric),
        "replicates_resumed": resumed,
        "numeric_failures": {str(replicate): failure for replicate, failure in numeric.items()},
        "events_per_replicate": {name: round(v, 3) for name, v in store.events().items()},
        "replicate_seeds": {
            "entropy": str(seeds[0].entropy),
            "spawn_keys": [list(s.spawn_key) for s in seeds] if n <= 1000 else "SeedSequence(seed).spawn(n)",
        },
        "batches": [len(c) for c in chunks] if resumed else sizes,
        "firm_detail_replicates": detail,
        "workers": workers if client is None else None,
        "executor": executor,
        "version": version,
        "package_version": package_version(),
        "parameter_file": scenario.parameter_file,
        "parameter_file_sha256": scenario.parameter_file_sha256,
        "parameters": used.to_dict(),
        "parameters_sha256": hashlib.sha256(json.dumps(used.to_dict(), sort_keys=True).encode()).hexdigest(),
        "policy": scenario.policy.to_table(month_label),  # as a scenario file's [policy] table
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
        if not is_private_dir(path):
            report(f"{path} is not a folder lithium-sim made (a link, or a file); it is left alone")
            continue
        finished = 0
        try:
            with private_dir(path, create=False) as folder:
                finished = sum(
                    int(p.stem.split("-")[2]) - int(p.stem.split("-")[1]) + 1
                    for p in (folder.anchored / "parts").glob("summary-*.npz")
                )
                about = json.loads(folder.read_bytes(MANIFEST, 1_000_000) or b"")
            what = (
                f"scenario {about['scenario']}, seed {about['seed']}, {finished} of {about['replicates']} "
                "replicates finished"
            )
        except InputError:
            continue
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            what = f"{finished} replicate(s) finished"
        report(
            f"{path} holds an interrupted run bound for {target.name} ({what}); it is kept: run that command "
            "again with --resume to finish it, or delete the directory"
        )
