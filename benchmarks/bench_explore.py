"""Speed and memory of scenario discovery (``lithium-sim explore``) at scale: 1,000 draws x 10 replicates.

What it measures, on the revenue question of the library's plan-capacity scenario (12 uncertain inputs):
  1. 1,000 draws of 10 replicates each on 2 worker processes (each draw's replicates one batch, draws handed
     to workers that stay up, a chunk built at a time), with PRIM, the significance tests and 50 bootstrap
     resamples of each box: wall time, and the peak resident memory of the process and of its largest worker;
  2. the same with 250 draws: memory should not grow with the draws (only their inputs and figures are kept);
  3. before: the same exploration the way it ran by default before (one process), on 50 draws, scaled to 1,000.

Each exploration runs in a fresh Python process (so peak memory is its own). It prints figures and never fails
on them: the machine is shared, so compare figures from one run.

Run from the project root:  make bench   (or .venv/bin/python benchmarks/bench_explore.py [--quick])
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "plan_capacity.toml"
TARGET = "revenue_1000"

CHILD = r"""
import json, resource, sys, time
from sim.api import load_scenario
from sim.discovery.explore import explore
samples, replicates, workers = (int(a) for a in sys.argv[2:5])
scenario = load_scenario(sys.argv[1])
started = time.perf_counter()
result = explore(scenario, sys.argv[5], samples, replicates=replicates, workers=workers)
wall = time.perf_counter() - started
print(json.dumps({
    "wall_s": wall,
    "holds": int(result.holds.sum()),
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def explore_in_child(samples: int, replicates: int, workers: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(SCENARIO), str(samples), str(replicates), str(workers), TARGET],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 draws instead of 1,000 (and no 250-draw run)")
    args = parser.parse_args()
    draws = 200 if args.quick else 1000
    print(f"explore: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; {SCENARIO.name}, "
          f"--target {TARGET}")  # fmt: skip
    now = explore_in_child(draws, 10, 2)
    print(
        f"  {draws:,} draws x 10 replicates, 2 workers: {now['wall_s']:.1f} s "
        f"(target holds in {now['holds']}); peak memory {now['rss_mb']:.0f} MB here, "
        f"{now['worker_rss_mb']:.0f} MB the largest worker"
    )
    if not args.quick:
        fewer = explore_in_child(250, 10, 2)
        print(
            f"  250 draws x 10 replicates, 2 workers: {fewer['wall_s']:.1f} s; peak memory {fewer['rss_mb']:.0f} MB "
            f"here, {fewer['worker_rss_mb']:.0f} MB the largest worker (memory flat in the draws: "
            f"{now['rss_mb'] - fewer['rss_mb']:+.0f} MB for 4x the draws)"
        )
    before = explore_in_child(50, 10, 1)
    scaled = before["wall_s"] * draws / 50
    print(
        f"  before (one process, as the default was): 50 draws x 10 replicates {before['wall_s']:.1f} s, "
        f"scaled to {draws:,} draws: {scaled:.0f} s; now {now['wall_s']:.0f} s ({scaled / now['wall_s']:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
