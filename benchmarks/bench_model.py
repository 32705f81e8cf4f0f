"""Speed of the lithium model: replicates per second, against Mesa's Boltzmann wealth example in the same process.

What it measures, on the baseline scenario:
  1. 1, 20, 100 and 1,000 replicates with `sim.api.run`, as a planner's script runs them (batches of
     replicates through the monthly step, summary across replicates, firm tables kept for the first 100):
     in this process, and on 2 local worker processes (started by the run, as from the command line);
  2. the same batches mapped over 2 workers that are already running (`sim.api.Executor`, as calibration and
     the workbench hold them);
  3. replicate-firm-months per second: firms alive in a month, summed over months and replicates (the run's
     ``firm_months_*`` event counts), divided by the wall time;
  4. Mesa's shipped Boltzmann wealth example with as many agents as the 1,000-replicate run has firms alive on
     average, stepped a few times: agent-steps per second, and the ratio;
  5. a full default calibration's wall time (``lithium-sim calibrate``), unless ``--no-calibration``.

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


def timed_run(scenario, n: int, workers: int) -> tuple[float, float]:
    """(wall seconds, replicate-firm-months) of one `sim.api.run`."""
    started = time.perf_counter()
    result = api.run(scenario, replicates=n, seed=1, workers=workers)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per size below 1,000 replicates (5)")
    ap.add_argument("--quick", action="store_true", help="1 repeat, no 1,000-replicate rows, no calibration")
    ap.add_argument("--no-calibration", action="store_true", help="skip the full calibration (about 3 minutes)")
    args = ap.parse_args()
    sizes = SIZES[:-1] if args.quick else SIZES
    repeats = 1 if args.quick else max(1, args.repeats)

    print(f"python {platform.python_version()} on {platform.platform()}; os.cpu_count()={os.cpu_count()}")
    print(f"numpy {np.__version__}, mesa {mesa.__version__}; scenario {SCENARIO.relative_to(ROOT)}")
    scenario = api.load_scenario(SCENARIO)
    api.run(scenario, replicates=2, seed=1).store.discard()  # warm-up: imports, data files, caches

    rows = []
    for n in sizes:
        reps = repeats if n < 1000 else 1
        wall, months = median_of(reps, lambda n=n: timed_run(scenario, n, 1))
        rows.append((n, "1 (this process)", wall, months))
        print(f"  {n} replicates in this process: {wall:.3f} s", flush=True)
        if n > 1:
            wall2, months2 = median_of(1 if n >= 100 else reps, lambda n=n: timed_run(scenario, n, WORKERS))
            rows.append((n, f"{WORKERS} (started by the run)", wall2, months2))
            print(f"  {n} replicates on {WORKERS} new workers: {wall2:.3f} s", flush=True)
    with api.Executor(workers=WORKERS) as executor:
        timed_warm(scenario, 2 * WORKERS, executor)  # start the workers
        for n in sizes[1:]:
            reps = repeats if n < 1000 else 1
            wall = statistics.median(timed_warm(scenario, n, executor) for _ in range(reps))
            months = next(m for k, _, _, m in rows if k == n)
            rows.append((n, f"{WORKERS} (already running)", wall, months))
            print(f"  {n} replicates on {WORKERS} running workers: {wall:.3f} s", flush=True)

    largest = max(sizes)
    alive = next(m for k, _, _, m in rows if k == largest) / (largest * 108)
    agents = max(1, round(alive * largest))
    steps = 3 if agents > 50_000 else 20
    boltzmann = boltzmann_rate(agents, steps)

    print()
    print(f"{'replicates':>10}  {'workers':<22}{'wall s':>9}{'ms/replicate':>14}{'replicate-firm-months/s':>26}")
    for n, workers, wall, months in sorted(rows, key=lambda r: (r[0], r[1])):
        print(f"{n:>10}  {workers:<22}{wall:>9.3f}{1e3 * wall / n:>14.1f}{months / wall:>26,.0f}")
    print()
    print(f"firms alive per replicate and month, mean: {alive:.1f}")
    print(
        f"Boltzmann wealth (Mesa {mesa.__version__}, as shipped) with {agents:,} agents: {boltzmann:,.0f} agent-steps/s"
    )
    best = min((r for r in rows if r[0] == largest), key=lambda r: r[2])
    print(f"fastest at {largest} replicates: {best[1]}, {best[2]:.2f} s")
    print(f"ratio at {largest} replicates: {best[3] / best[2] / boltzmann:.1f}")

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
