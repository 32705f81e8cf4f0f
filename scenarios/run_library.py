"""The planners' workflow: run the scenario library and compare each scenario with its own baseline.

    .venv/bin/python scenarios/run_library.py                 # 20 replicates each, in this process
    .venv/bin/python scenarios/run_library.py --replicates 50 --workers 2 --lang zh
    .venv/bin/python scenarios/run_library.py --scheduler tcp://10.0.0.5:8786   # on a Dask cluster
    .venv/bin/python scenarios/run_library.py --no-charts      # each run's tables only (the comparisons draw theirs)

Each scenario's run directory goes to results/<name>/. Scenarios are compared like with like: those whose
carbonate price follows a path with `baseline` (results/library_comparison/), those whose price clears the world
market with `baseline_market` (results/library_comparison_market/); a scenario is never set against a baseline
of the other price mode. The headline printed at the end is Suining's lithium value added in the final year
under each scenario, with its P5-P95 band across replicates and its difference from its own baseline, then what
the city pays and gets back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim
from sim.inputs import catalogue as cat

HERE = Path(__file__).resolve().parent
# every scenario file here, each price mode's baseline first (a new file joins the library by being here)
LIBRARY = sorted((p.stem for p in HERE.glob("*.toml")), key=lambda n: (n.endswith("_market"), n != "baseline", n))
LIBRARY.remove("baseline_market")
LIBRARY.insert(next(i for i, n in enumerate(LIBRARY) if n.endswith("_market")), "baseline_market")
# each price mode's baseline: a scenario is compared with the baseline of its own mode (and parameter file)
BASELINES = {"path": "baseline", "market": "baseline_market"}
COMPARISONS = {"path": "library_comparison", "market": "library_comparison_market"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    # batches of replicates make one process the fastest choice below a few hundred replicates (benchmarks/)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scheduler", help="Dask scheduler address (instead of local workers)")
    parser.add_argument("--results", type=Path, default=HERE.parent / "results")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--no-charts", action="store_true", help="write each run's tables without its charts")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", choices=LIBRARY, help="these scenarios (and the baselines)"
    )
    args = parser.parse_args()

    names = [n for n in LIBRARY if not args.only or n in args.only or n in BASELINES.values()]
    runs = {}
    for name in names:
        result = sim.run(
            HERE / f"{name}.toml",
            replicates=args.replicates,
            workers=1 if args.scheduler else args.workers,
            scheduler=args.scheduler,
            progress=True,
            lang=args.lang,
        )
        result.save(args.results / name, charts=not args.no_charts, lang=args.lang)
        runs[name] = result

    tables = []
    for mode, baseline in BASELINES.items():
        group = [runs[baseline], *(r for n, r in runs.items() if n != baseline and r.scenario.price_mode == mode)]
        out = args.results / COMPARISONS[mode]
        tables.append(sim.compare_runs(group, out_dir=out, lang=args.lang, pool=True))
        print(cat.say(args.lang, "library.wrote", baseline=runs[baseline].scenario.label(args.lang), out=out))
    report(tables, args.lang)


def _pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded to ``width`` columns as a terminal shows it (a Chinese character takes two)."""
    room = max(width - cat.display_width(text), 0)
    return " " * room + text if right else text + " " * room


def report(tables, lang: str) -> None:
    """Each scenario against its own baseline: value added in the final year, GDP share, the city's net."""
    say = cat.say
    for table in tables:
        names = table.attrs.get("names", {}).get(lang, {})
        baseline = table["scenario"].iloc[0]
        final = int(table["year"].max())
        suining = table.query("region == 'suining' and segment == 'all' and year == @final")
        print("\n" + say(lang, "library.against", baseline=names.get(baseline, baseline), year=final))
        heads = (say(lang, "library.col_va"), say(lang, "library.col_share"), say(lang, "library.col_net"))
        # over the figures' columns: value added (27 wide, then its difference), GDP share (12), the net (25)
        va_head, share_head, net_head = (_pad(h, w, True) for h, w in zip(heads, (27, 12, 25), strict=True))
        print(f"  {_pad('', 28)} {va_head}{'':10s} {share_head} {net_head}")
        for scenario in dict.fromkeys(table["scenario"]):
            rows = suining[suining.scenario == scenario].set_index("metric")
            va, share, net = rows.loc["value_added"], rows.loc["gdp_share"], rows.loc["net_fiscal"]
            change = "" if scenario == baseline else f" ({va.diff_mean:+7.1f})"
            net_change = "" if scenario == baseline else f" ({net.diff_mean:+6.1f})"
            print(
                f"  {_pad(names.get(scenario, scenario), 28)} {va['mean']:8.1f} [{va.p05:7.1f}, {va.p95:7.1f}]"
                f"{change:10s} {share['mean']:12.2f} {net['mean']:8.1f} [{net.p05:6.1f}, {net.p95:6.1f}]{net_change}"
            )
    print("\n" + say(lang, "library.note"))


if __name__ == "__main__":
    main()
