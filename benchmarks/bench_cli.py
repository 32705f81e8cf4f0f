"""Speed of the command line where a planner waits: a repeat ``make run`` and a ``compare`` of five runs.

What it measures, each as a fresh process timed from outside (the wall time a user sees, imports included):
  1. a repeat run: ``lithium-sim run scenarios/baseline.toml --out DIR`` (20 replicates, charts) into a DIR that
     already holds that run's results, as a second ``make run`` does;
  2. a compare of five runs: ``lithium-sim compare`` of baseline, low_price, price_rebound, policy_package and
     demand_slowdown (20 replicates each), writing comparison.csv, comparison.xlsx and the charts.

Each is the median of ``--repeats`` runs (default 3). With ``--before COMMIT`` (default: the commit before the
command line's imports, charts and workbook were reworked) the same commands run from that commit's source tree,
checked out in a temporary git worktree and put first on PYTHONPATH, in this same run: the before figure beside
the now figure. It prints figures and never fails on them: the machine is shared, so read the load average it
prints and compare figures from one run.

Run from the project root:  make bench   (or .venv/bin/python benchmarks/bench_cli.py [--repeats N] [--before C])
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE = "5b2566d"  # the last commit with the old command line (pyplot charts, openpyxl workbook, eager imports)
SCENARIOS = ("baseline", "low_price", "price_rebound", "policy_package", "demand_slowdown")


def _sim(args: list[str], source: Path | None, cwd: Path) -> tuple[float, float]:
    """Run ``python -m sim ARGS`` (from ``source`` when given); return its wall time and the CPU time of it and
    its child processes (user + system), s. On a loaded machine the CPU time is the steadier figure."""
    env = {**os.environ}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(source), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"python -m sim {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(source: Path | None, work: Path, repeats: int) -> dict[str, float]:
    """Median wall times of a repeat run and of a compare of five runs, with the code in ``source`` (None: this
    tree)."""
    runs = work / "runs"
    work.mkdir(parents=True, exist_ok=True)
    scenarios = (source or ROOT) / "scenarios"
    for name in SCENARIOS:  # the runs to compare, and the first run of the baseline (results exist)
        _sim(["run", str(scenarios / f"{name}.toml"), "--out", str(runs / name), "--quiet", "--force"], source, work)
    repeat = [
        _sim(["run", str(scenarios / "baseline.toml"), "--out", str(runs / "baseline"), "--quiet"], source, work)
        for _ in range(repeats)
    ]
    dirs = [str(runs / name) for name in SCENARIOS]
    compare = [_sim(["compare", *dirs, "--out", str(work / "comparison")], source, work) for _ in range(repeats)]
    return {
        "repeat run": statistics.median(w for w, _ in repeat),
        "repeat run cpu": statistics.median(c for _, c in repeat),
        "compare of 5": statistics.median(w for w, _ in compare),
        "compare of 5 cpu": statistics.median(c for _, c in compare),
    }


@contextlib.contextmanager
def checkout(commit: str) -> Iterator[Path | None]:
    """The source tree of ``commit`` in a temporary git worktree (None when git cannot give it)."""
    where = Path(tempfile.mkdtemp(prefix="bench-before-"))
    tree = where / "src"
    done = subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), commit], cwd=ROOT, capture_output=True, text=True
    )
    try:
        yield tree if done.returncode == 0 else None
    finally:
        if done.returncode == 0:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(where, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (the median is printed)")
    parser.add_argument("--before", default=BEFORE, help="commit to measure the old command line at ('' to skip)")
    args = parser.parse_args()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (quiet figures need a quiet machine)")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        rows["now"] = measure(None, Path(tmp) / "now", args.repeats)
        if args.before:
            with checkout(args.before) as tree:
                if tree is None:
                    print(f"(commit {args.before} is not in this repository: no before figures)")
                else:
                    rows[f"before ({args.before})"] = measure(tree, Path(tmp) / "before", args.repeats)
    print(f"\ncommand line, seconds (median of {args.repeats}; targets on a quiet machine: repeat run <= 3 s wall,")
    print("compare of 5 <= 5 s wall; cpu: user + system of the command and its child processes):")
    print(f"  {'':22s} {'repeat run (20 rep.)':>22s} {'compare of 5 runs':>22s}")
    print(f"  {'':22s} {'wall':>10s} {'cpu':>11s} {'wall':>10s} {'cpu':>11s}")
    for label, f in rows.items():
        print(
            f"  {label:22s} {f['repeat run']:10.2f} {f['repeat run cpu']:11.2f} {f['compare of 5']:10.2f} "
            f"{f['compare of 5 cpu']:11.2f}"
        )
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
