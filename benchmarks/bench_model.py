"""Speed of the lithium model, like for like: the same model, one replicate at a time against batched.

What it measures, on the baseline scenario:
  1. **like for like at 1,000 replicates**: `sim.api.run` with one replicate per batch (``batch_size=1``) against
     the default batches (up to 100 replicates), in this process and on 2 local worker processes (started by the
     run, as from the command line), each including what a user waits for: the run, the summary across
     replicates, the part files, and the run directory written (``summary.csv``, ``firms.csv``, ``market.csv``,
     ``meta.json``; no charts, which cost the same either way). Median of ``--repeats`` runs (at least 3) of each;
     it prints ``like-for-like at 1000 replicates: batched Xx faster than one at a time`` (the fastest batched
     configuration against the fastest one at a time) and the ratio in each configuration;
  2. the batched run's scaling: 1, 20 and 100 replicates in this process and mapped over 2 workers that are
     already running (`sim.api.Executor`, as the calibration and the workbench hold them; batches only, no
     summary or files); replicate-firm-months per second (firms alive in a month, summed over months and
     replicates, from the run's ``firm_months_*`` counts, over the wall time);
  3. context only, a different model: Mesa's shipped Boltzmann wealth example with as many agents as the
     1,000-replicate run has firms alive on average, stepped a few times (agent-steps per second);
  4. a full default calibration's wall time (``lithium-sim calibrate``), unless ``--no-calibration``.

It prints figures and never fails on them: the machine is shared, so compare medians from one run.

Run from the project root:  make bench   (or .venv/bin/python benchmarks/bench_model.py [--quick])
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import mesa
import numpy as np

import sim.api as api
from sim.runs.runner import batch_sizes, replicate_seeds, simulate

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "baseline.toml"
SIZES = (1, 20, 100, 1000)
WORKERS = 2


def load_boltzmann() -> type:
    """Mesa's shipped BoltzmannWealth. ``mesa/examples/__init__.py`` imports every example, some needing
    networkx; if that fails, stand in an empty ``mesa.examples`` package so only this example's files load."""
    try:
        from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth
    except ImportError:
        for name in [k for k in sys.modules if k.startswith("mesa.examples")]:
            del sys.modules[name]
        stub = types.ModuleType("mesa.examples")
        stub.__path__ = [str(Path(mesa.__file__).parent / "examples")]
        sys.modules["mesa.examples"] = stub
        from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth
    return BoltzmannWealth


def boltzmann_rate(n_agents: int, steps: int, seed: int = 0) -> float:
    """Agent-steps per second of the shipped BoltzmannWealth (data collection on, as shipped), about one agent
    per grid cell as in Mesa's own benchmark configurations; construction is not timed."""
    model_class = load_boltzmann()
    side = max(1, round(math.sqrt(n_agents)))
    model = model_class(n=n_agents, width=side, height=side, seed=seed)
    started = time.perf_counter()
    for _ in range(steps):
        model.step()
    elapsed = time.perf_counter() - started
    model.remove_all_agents()
    mesa.Agent._ids.pop(model, None)
    return n_agents * steps / elapsed


def timed_run(scenario, n: int, workers: int, batch_size: int | None = None) -> tuple[float, float]:
    """(wall seconds, replicate-firm-months) of one `sim.api.run` and its run directory (no charts)."""
    started = time.perf_counter()
    result = api.run(scenario, replicates=n, seed=1, workers=workers, batch_size=batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        result.save(Path(tmp) / "run", charts=False)
    wall = time.perf_counter() - started
    months = n * sum(v for k, v in result.meta["events_per_replicate"].items() if k.startswith("firm_months_"))
    result.store.discard()
    return wall, months


def timed_warm(scenario, n: int, executor: api.Executor) -> float:
    """Wall seconds of ``n`` replicates as batches mapped over running workers (no summary, no files)."""
    sizes = batch_sizes(n, executor.workers)
    seeds = replicate_seeds(1, n)
    bounds = np.cumsum([0, *sizes])
    chunks = [list(range(int(a), int(b))) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    started = time.perf_counter()
    executor.map(
        simulate,
        [scenario] * len(chunks),
        [None] * len(chunks),
        [[seeds[i] for i in c] for c in chunks],
        chunks,
        [0] * len(chunks),
    )
    return time.perf_counter() - started


def median_of(repeats: int, fn) -> tuple[float, float]:
    runs = [fn() for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def like_for_like(scenario, n: int, repeats: int) -> dict[tuple[str, int], tuple[float, float]]:
    """Median (wall s, replicate-firm-months) of ``n`` replicates, one per batch and batched, on 1 and 2 workers.
    The configurations take turns within each repeat, so a change in the machine's load falls on all of them."""
    configs = [(mode, workers) for workers in (1, WORKERS) for mode in ("one at a time", "batched")]
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {c: [] for c in configs}
    for repeat in range(repeats):
        for mode, workers in configs:
            wall, months = timed_run(scenario, n, workers, 1 if mode == "one at a time" else None)
            runs[(mode, workers)].append((wall, months))
            print(f"  [{repeat + 1}/{repeats}] {n} replicates {mode}, {workers} worker(s): {wall:.1f} s", flush=True)
    return {c: (statistics.median(w for w, _ in r), statistics.median(m for _, m in r)) for c, r in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each configuration (at least 3)")
    ap.add_argument("--replicates", type=int, default=1000, help="replicates of the like-for-like comparison")
    ap.add_argument("--quick", action="store_true", help="like for like at 100 replicates, no calibration")
    ap.add_argument("--no-calibration", action="store_true", help="skip the full calibration (about 2 minutes)")
    args = ap.parse_args()
    repeats = max(3, args.repeats)
    n = 100 if args.quick else args.replicates

    print(f"python {platform.python_version()} on {platform.platform()}; os.cpu_count()={os.cpu_count()}")
    print(f"numpy {np.__version__}, mesa {mesa.__version__}; scenario {SCENARIO.relative_to(ROOT)}")
    scenario = api.load_scenario(SCENARIO)
    api.run(scenario, replicates=2, seed=1).store.discard()  # warm-up: imports, data files, caches

    print(f"like for like: {n} replicates, run + summary + run directory, median of {repeats}")
    same = like_for_like(scenario, n, repeats)
    print()
    print(
        f"{'replicates':>10}  {'batches':<16}{'workers':>8}{'wall s':>10}{'ms/replicate':>14}{'rep-firm-months/s':>20}"
    )
    for (mode, workers), (wall, months) in same.items():
        print(f"{n:>10}  {mode:<16}{workers:>8}{wall:>10.2f}{1e3 * wall / n:>14.1f}{months / wall:>20,.0f}")
    for workers in (1, WORKERS):
        ratio = same[("one at a time", workers)][0] / same[("batched", workers)][0]
        print(f"  {workers} worker(s): batched {ratio:.1f}x faster than one at a time")
    slowest_way = min(same[("one at a time", w)][0] for w in (1, WORKERS))
    fastest_way = min(same[("batched", w)][0] for w in (1, WORKERS))
    print(f"like-for-like at {n} replicates: batched {slowest_way / fastest_way:.1f}x faster than one at a time")

    print()
    print("the batched run's scaling (median of the repeats):")
    rows = []
    for size in SIZES[:-1]:
        wall, months = median_of(repeats, lambda size=size: timed_run(scenario, size, 1))
        rows.append((size, "1 (this process, with files)", wall, months))
    with api.Executor(workers=WORKERS) as executor:
        timed_warm(scenario, 2 * WORKERS, executor)  # start the workers
        for size in SIZES[1:-1]:
            wall = statistics.median(timed_warm(scenario, size, executor) for _ in range(repeats))
            months = next(m for k, _, _, m in rows if k == size)
            rows.append((size, f"{WORKERS} (already running, batches only)", wall, months))
    print(f"{'replicates':>10}  {'workers':<36}{'wall s':>9}{'ms/replicate':>14}{'rep-firm-months/s':>20}")
    for size, workers, wall, months in sorted(rows, key=lambda r: (r[0], r[1])):
        print(f"{size:>10}  {workers:<36}{wall:>9.3f}{1e3 * wall / size:>14.1f}{months / wall:>20,.0f}")

    months = same[("batched", 1)][1]
    alive = months / (n * 108)
    agents = max(1, round(alive * n))
    steps = 3 if agents > 50_000 else 20
    boltzmann = boltzmann_rate(agents, steps)
    best = min((same[("batched", w)] for w in (1, WORKERS)), key=lambda r: r[0])
    print()
    print("context only, a different model (not like for like):")
    print(f"  firms alive per replicate and month, mean: {alive:.1f}")
    print(
        f"  Mesa's Boltzmann wealth example (Mesa {mesa.__version__}, as shipped; {agents:,} agents on a grid, "
        f"one process): {boltzmann:,.0f} agent-steps/s; this model's fastest batched run: "
        f"{best[1] / best[0]:,.0f} replicate-firm-months/s"
    )

    if not (args.quick or args.no_calibration):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sim",
                    "calibrate",
                    "--out",
                    f"{tmp}/calibrated.toml",
                    "--report-dir",
                    f"{tmp}/report",
                    "--workers",
                    str(WORKERS),
                    "--quiet",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - started
        status = "" if done.returncode == 0 else f" (exit {done.returncode}: {done.stderr.strip()[-300:]})"
        print(f"full default calibration on {WORKERS} workers: {wall:.0f} s{status}")


if __name__ == "__main__":
    main()
