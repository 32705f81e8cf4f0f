"""Running scenarios: one replicate (`simulate`), many (`run_scenario`), and writing the run directory.

Replicate seeds come from ``numpy.random.SeedSequence(seed).spawn(n)``, so replicate *i* gets the same
stream whatever the number of workers. Workers are spawned processes (``import mesa`` sets the start method
to "spawn") and are recycled every few tasks; in-process runs free each model's Mesa agent registry
(Mesa 3.3 otherwise keeps every model alive, upstream issue #3179).
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd
from tqdm import tqdm

import sim
from sim.model import LithiumModel
from sim.params import ModelParams
from sim.results import ReplicateResult, collect, summarise
from sim.scenario import Scenario, project_root

WORKER_TASKS = 25  # replicates per worker process before it is replaced (bounds memory)


def release(model: mesa.Model) -> None:
    """Drop Mesa 3.3's class-level reference to a finished model so it can be garbage collected."""
    mesa.Agent._ids.pop(model, None)


def simulate(scenario: Scenario, params: ModelParams | None = None,
             seed: np.random.SeedSequence | int | None = None) -> ReplicateResult:
    """Run one replicate and return its tables. Pure: same inputs, same outputs; picklable arguments."""
    rng = np.random.default_rng(seed)
    model = LithiumModel(scenario, params=params, rng=rng)
    try:
        model.run()
        return collect(model)
    finally:
        model.remove_all_agents()
        release(model)


def _replicate_task(scenario: Scenario, params: ModelParams | None, seed: np.random.SeedSequence,
                    replicate: int) -> tuple[int, ReplicateResult | None, str | None]:
    try:
        return replicate, simulate(scenario, params, seed), None
    except Exception:  # recorded as data; the run goes on with the other replicates
        return replicate, None, traceback.format_exc()


@dataclass
class RunResult:
    """A finished run: the summary across replicates, per-firm years, provenance."""

    scenario: Scenario
    summary: pd.DataFrame
    firms: pd.DataFrame
    market: pd.DataFrame
    meta: dict[str, Any]
    failures: dict[int, str] = field(default_factory=dict)

    def value(self, metric: str, region: str = "suining", segment: str = "all", year: int | None = None,
              stat: str = "mean") -> float | pd.Series:
        """One figure (or a series by year) from the summary."""
        s = self.summary
        sel = s[(s.metric == metric) & (s.region == region) & (s.segment == segment)].set_index("year")[stat]
        return float(sel.loc[year]) if year is not None else sel

    def save(self, out_dir: str | Path, charts: bool = True) -> Path:
        """Write the run directory atomically: built beside the target, then renamed into place."""
        out_dir = Path(out_dir).resolve()
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
        try:
            self.summary.to_csv(tmp / "summary.csv", index=False)
            self.firms.to_csv(tmp / "firms.csv", index=False)
            self.market.to_csv(tmp / "market.csv", index=False)
            if charts:
                from sim.charts import run_charts

                run_charts(self, tmp / "charts")
            meta = dict(self.meta)
            meta["failures"] = {str(k): v for k, v in self.failures.items()}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
            _replace_dir(tmp, out_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out_dir


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        new.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(target)


def code_version() -> str:
    """Package version plus the git commit of the source tree when there is one."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(), capture_output=True,
                                text=True, timeout=5, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_root(),
                               capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    return f"{sim.__version__}+g{commit}{'.dirty' if dirty else ''}" if commit else sim.__version__


def replicate_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    return np.random.SeedSequence(seed).spawn(n)


def run_scenario(scenario: Scenario, replicates: int | None = None, seed: int | None = None,
                 workers: int = 1, params: ModelParams | None = None, progress: bool = True) -> RunResult:
    """Run a scenario's replicates and summarise them.

    Args:
        scenario: a loaded scenario.
        replicates: overrides the scenario's count.
        seed: overrides the scenario's master seed.
        workers: local processes; 1 runs in this process.
        params: overrides the scenario's parameters.
        progress: show a progress bar on standard error.
    """
    n = replicates or scenario.replicates
    master = scenario.seed if seed is None else seed
    seeds = replicate_seeds(master, n)
    started = time.perf_counter()
    results: dict[int, ReplicateResult] = {}
    failures: dict[int, str] = {}
    bar = tqdm(total=n, desc=f"{scenario.name}: replicates", unit="rep", disable=not progress or n < 2,
               file=sys.stderr)
    if workers <= 1:
        for i, s in enumerate(seeds):
            _, res, err = _replicate_task(scenario, params, s, i)
            _store(i, res, err, results, failures)
            bar.update()
    else:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=WORKER_TASKS) as pool:
            futures = [pool.submit(_replicate_task, scenario, params, s, i) for i, s in enumerate(seeds)]
            for fut in cf.as_completed(futures):
                i, res, err = fut.result()
                _store(i, res, err, results, failures)
                bar.update()
    bar.close()
    if not results:
        raise RuntimeError(f"every replicate failed; first error:\n{next(iter(failures.values()))}")

    order = sorted(results)
    summary = summarise([results[i].summary for i in order], scenario.name)
    firms = pd.concat([results[i].firms.assign(replicate=i) for i in order], ignore_index=True)
    firms = firms[["replicate", *[c for c in firms.columns if c != "replicate"]]]
    market = pd.concat([results[i].market.assign(replicate=i) for i in order], ignore_index=True)
    used = params or scenario.params
    meta = {
        "scenario": scenario.name,
        "description": scenario.description,
        "scenario_file": scenario.source,
        "scenario_sha256": scenario.source_sha256,
        "seed": master,
        "replicates": n,
        "replicates_ok": len(results),
        "replicate_seeds": {"entropy": str(seeds[0].entropy), "spawn_keys": [list(s.spawn_key) for s in seeds]
                            if n <= 1000 else "SeedSequence(seed).spawn(n)"},
        "workers": workers,
        "version": code_version(),
        "package_version": sim.__version__,
        "parameter_file": scenario.parameter_file,
        "parameter_file_sha256": scenario.parameter_file_sha256,
        "parameters": used.to_dict(),
        "parameters_sha256": hashlib.sha256(json.dumps(used.to_dict(), sort_keys=True).encode()).hexdigest(),
        "wall_time_s": round(time.perf_counter() - started, 3),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "mesa": mesa.__version__,
        "numpy": np.__version__,
    }
    return RunResult(scenario, summary, firms, market, meta, failures)


def _store(i: int, res: ReplicateResult | None, err: str | None, results: dict[int, ReplicateResult],
           failures: dict[int, str]) -> None:
    if res is not None:
        results[i] = res
    else:
        failures[i] = err or "unknown error"
