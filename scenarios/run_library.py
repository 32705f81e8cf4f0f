"""The planners' workflow: run the scenario library and compare it with the baseline.

    .venv/bin/python scenarios/run_library.py                 # 20 replicates each, in this process
    .venv/bin/python scenarios/run_library.py --replicates 50 --workers 2 --lang zh
    .venv/bin/python scenarios/run_library.py --scheduler tcp://10.0.0.5:8786   # on a Dask cluster

Each scenario's run directory goes to results/<name>/; the comparison (comparison.csv, comparison.xlsx and
charts) to results/library_comparison/. The headline printed at the end is Suining's lithium value added in
the final year under each scenario, with its P5-P95 band across replicates.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim

HERE = Path(__file__).resolve().parent
LIBRARY = [
    "baseline",
    "low_price",
    "price_rebound",
    "demand_slowdown",
    "policy_package",
    "project_attraction",
    "plan_capacity",
    "baseline_market",
    "oversupply",
    "supply_discipline",
    "storage_boom",
]  # the baseline first: differences are taken from it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    # batches of replicates make one process the fastest choice below a few hundred replicates (benchmarks/)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scheduler", help="Dask scheduler address (instead of local workers)")
    parser.add_argument("--results", type=Path, default=HERE.parent / "results")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    args = parser.parse_args()

    runs = []
    for name in LIBRARY:
        result = sim.run(
            HERE / f"{name}.toml",
            replicates=args.replicates,
            workers=1 if args.scheduler else args.workers,
            scheduler=args.scheduler,
            progress=True,
        )
        result.save(args.results / name)
        runs.append(result)

    table = sim.compare_runs(runs, out_dir=args.results / "library_comparison", lang=args.lang)
    final = int(table["year"].max())
    rows = table.query("region == 'suining' and segment == 'all' and metric == 'value_added' and year == @final")
    print(f"\nSuining lithium value added in {final}, 亿元 at current prices (mean, P5-P95 over replicates):")
    for _, row in rows.iterrows():
        change = "" if row.scenario == LIBRARY[0] else f"  ({row.diff_mean:+.1f} vs baseline)"
        print(f"  {row.scenario:20s} {row['mean']:8.1f}   [{row.p05:7.1f}, {row.p95:7.1f}]{change}")
    share = table.query("region == 'suining' and segment == 'all' and metric == 'gdp_share' and year == @final")
    print(f"\nlithium's share of Suining's GDP in {final}, % (mean):")
    for _, row in share.iterrows():
        print(f"  {row.scenario:20s} {row['mean']:8.2f}")
    print(f"\ncomparison written to {args.results / 'library_comparison'}/")


if __name__ == "__main__":
    main()
