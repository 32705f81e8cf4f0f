"""Like for like: the batched engine against the per-agent reference model, the same rules and set-up.

N replicates of the baseline scenario run one at a time through the reference model (`sim.reference`: one Mesa
agent per plant and supply cohort, plain Python over numbers), against one batch of the same N replicates through
the batched engine (`sim.engine.simulate_batch`: ``(replicates x firms)`` arrays). Both start from the same
set-up and give the same monthly outcomes (tests/test_reference.py); each timing is the median of ``--repeats``
runs (at least 3) on this machine. It prints figures and never fails on them.

Run from the project root:  .venv/bin/python benchmarks/bench_reference.py [--replicates 5] [--repeats 3]
(``make bench`` runs it after bench_model.py)
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sim.engine.model import simulate_batch
from sim.inputs.scenario import load_scenario
from sim.reference import run_reference
from sim.runs.provenance import replicate_seeds

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "baseline.toml"


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=5, help="replicates N (default 5: about a minute)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each, median taken (at least 3)")
    args = parser.parse_args()
    repeats = max(args.repeats, 3)
    scenario = load_scenario(SCENARIO)
    seeds = replicate_seeds(scenario.seed, args.replicates)
    firms = None

    def engine() -> None:
        simulate_batch(scenario, seeds=seeds)

    def reference() -> None:
        nonlocal firms
        for seed in seeds:
            record = run_reference(scenario, seed=seed)
        firms = sum(record.regional[("china", key, "firms")][-1] for key in ("lithium_salt", "lfp_cathode", "battery"))

    engine()  # warm caches (data files, imports) before timing either
    engine_times = [timed(engine) for _ in range(repeats)]
    reference_times = [timed(reference) for _ in range(repeats)]
    e, r = statistics.median(engine_times), statistics.median(reference_times)
    print(f"baseline, {scenario.n_months} months, {args.replicates} replicates, medians of {repeats} runs")
    print(
        f"  per-agent reference model, one replicate at a time: {r:8.2f} s  ({r / args.replicates:.2f} s a replicate)"
    )
    print(
        f"  batched engine, one batch:                          {e:8.2f} s  ({e / args.replicates:.2f} s a replicate)"
    )
    print(f"  (firms in business at the end, last replicate: {firms:.0f})")
    print(f"batched engine {r / e:.1f}x faster than the per-agent model at {args.replicates} replicates")


if __name__ == "__main__":
    main()
