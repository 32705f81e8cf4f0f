"""Speed of the lithium model, measured against Mesa's own Boltzmann wealth example in the same process.

What it measures (model only: construct + run; no result collection, no I/O):
  1. wall time of one baseline replicate: median and min over N seeds from SeedSequence(0).spawn(N);
  2. firm-months simulated per second at the default synthetic population and at ten times as many
     synthetic firms (a firm-month is one firm row of one book in one month, entrants and exited included);
  3. agent-steps per second of Mesa 3.3.1's shipped BoltzmannWealth example with as many agents as the
     lithium model's average number of firm rows at each size, stepped 108 times (one step per month);
  4. the ratios of the two throughputs and how the lithium model scales from 1x to 10x.

Why: the model keeps firm state in numpy arrays (FirmBook) rather than one Python object per firm, so
it should beat a plain per-agent Mesa model and pull further ahead as the population grows. Comparing
with Boltzmann in the same process and interpreter cancels out most of the machine's speed.

Run from the project root:  .venv/bin/python benchmarks/bench_model.py [--repeats N] [--quick]  (or `make bench`)
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
import types
from pathlib import Path

import mesa
import numpy as np

from sim.engine.model import LithiumModel
from sim.runs.runner import release
from sim.inputs.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "baseline.toml"
TARGET_MS, TARGET_1X, TARGET_10X = 50.0, 1.0, 3.0


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


BoltzmannWealth = load_boltzmann()


def run_lithium(scenario, params, seed: np.random.SeedSequence) -> tuple[float, int, int]:
    """One replicate: (seconds for construct + run, firm-months simulated, months)."""
    gc.collect()
    t0 = time.perf_counter()
    m = LithiumModel(scenario, params=params, rng=np.random.default_rng(seed))
    m.run()
    elapsed = time.perf_counter() - t0
    firm_months = sum(len(rec["output"]) for seg in m.history for rec in m.history[seg])
    months = len(next(iter(m.history.values())))
    m.remove_all_agents()
    release(m)
    return elapsed, firm_months, months


def run_boltzmann(n_agents: int, steps: int, seed: np.random.SeedSequence) -> float:
    """Seconds to build and step the shipped BoltzmannWealth (data collection on, as shipped)."""
    side = max(1, round(math.sqrt(n_agents)))  # about one agent per cell, as in Mesa's own benchmarks
    gc.collect()
    t0 = time.perf_counter()
    m = BoltzmannWealth(n=n_agents, width=side, height=side, seed=int(seed.generate_state(1)[0]))
    for _ in range(steps):
        m.step()
    elapsed = time.perf_counter() - t0
    m.remove_all_agents()
    mesa.Agent._ids.pop(m, None)
    return elapsed


def measure(scenario, params, seeds, label: str) -> dict[str, float]:
    runs = [run_lithium(scenario, params, s) for s in seeds]
    times = [r[0] for r in runs]
    rates = [r[1] / r[0] for r in runs]
    months = runs[0][2]
    rows = statistics.mean(r[1] for r in runs) / months
    n_agents = max(1, round(rows))
    b_rates = [n_agents * months / run_boltzmann(n_agents, months, s) for s in seeds]
    out = {"median_s": statistics.median(times), "min_s": min(times), "rate": statistics.median(rates),
           "rows": rows, "months": months, "agents": n_agents, "b_rate": statistics.median(b_rates)}
    print(f"[{label}] runs={len(seeds)} months={months} mean firm rows={rows:.1f} "
          f"replicate median={out['median_s'] * 1e3:.1f} ms min={out['min_s'] * 1e3:.1f} ms")
    return out


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15, help="timed replicates at the default size (15)")
    ap.add_argument("--quick", action="store_true", help="smoke test: 3 repeats at each size")
    args = ap.parse_args()
    n1 = 3 if args.quick else max(1, args.repeats)
    n10 = 3 if args.quick else max(1, min(5, n1))

    print(f"python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}")
    print(f"numpy {np.__version__}, mesa {mesa.__version__}, os.cpu_count()={os.cpu_count()}")
    print(f"scenario {SCENARIO.relative_to(ROOT)}; repeats: {n1} at 1x, {n10} at 10x")

    sc = load_scenario(SCENARIO)
    p1 = sc.params
    keys = ("synthetic_firms_salt", "synthetic_firms_lfp", "synthetic_firms_cell")
    p10 = p1.replace(**{k: 10 * getattr(p1, k) for k in keys})
    sizes = "  ".join(f"{x}={tuple(getattr(p, k) for k in keys)}" for x, p in (("1x", p1), ("10x", p10)))
    print(f"synthetic firms (salt, lfp, cell): {sizes}")
    run_lithium(sc, p1, np.random.SeedSequence(12345))  # warm-up: imports, data files, caches
    run_boltzmann(100, 5, np.random.SeedSequence(12345))

    seeds = np.random.SeedSequence(0).spawn(max(n1, n10))
    r1 = measure(sc, p1, seeds[:n1], "1x")
    r10 = measure(sc, p10, seeds[:n10], "10x")

    ratio1, ratio10 = r1["rate"] / r1["b_rate"], r10["rate"] / r10["b_rate"]
    scaling = r10["rate"] / r1["rate"]
    print()
    print(f"baseline replicate wall time (construct + run), median: {r1['median_s'] * 1e3:.1f} ms")
    print(f"baseline replicate wall time (construct + run), min: {r1['min_s'] * 1e3:.1f} ms")
    print(f"lithium firm-months/s at 1x: {r1['rate']:,.0f}")
    print(f"lithium firm-months/s at 10x: {r10['rate']:,.0f}")
    print(f"Boltzmann agent-steps/s at 1x ({r1['agents']} agents): {r1['b_rate']:,.0f}")
    print(f"Boltzmann agent-steps/s at 10x ({r10['agents']} agents): {r10['b_rate']:,.0f}")
    print(f"ratio lithium/Boltzmann at 1x: {ratio1:.2f}")
    print(f"ratio lithium/Boltzmann at 10x: {ratio10:.2f}")
    print(f"scaling lithium firm-months/s 10x/1x: {scaling:.2f}")
    print("(Boltzmann run as shipped: its DataCollector, incl. a Gini each step, cannot be switched off)")

    print()
    print(f"{'size':<5}{'firm rows':>10}{'replicate ms':>14}{'firm-months/s':>15}{'Boltzmann a-s/s':>17}"
          f"{'ratio':>7}")
    for label, r, ratio in (("1x", r1, ratio1), ("10x", r10, ratio10)):
        print(f"{label:<5}{r['rows']:>10.1f}{r['median_s'] * 1e3:>14.1f}{r['rate']:>15,.0f}"
              f"{r['b_rate']:>17,.0f}{ratio:>7.2f}")

    print()
    ms = r1["median_s"] * 1e3
    print(f"targets (reference only): one replicate <= {TARGET_MS:g} ms; "
          f"ratio >= {TARGET_1X:g} at default size, >= {TARGET_10X:g} at 10x")
    print(f"  replicate median {ms:.1f} ms <= {TARGET_MS:g} ms: {verdict(ms <= TARGET_MS)}")
    print(f"  ratio at 1x {ratio1:.2f} >= {TARGET_1X:g}: {verdict(ratio1 >= TARGET_1X)}")
    print(f"  ratio at 10x {ratio10:.2f} >= {TARGET_10X:g}: {verdict(ratio10 >= TARGET_10X)}")

if __name__ == "__main__":
    main()
