"""Command line: ``lithium-sim`` / ``python -m sim``.

Verbs: ``run`` a scenario, ``compare`` run directories, ``check`` a scenario file, ``calibrate`` the free
parameters to the targets.

Exit codes: 0 success; 2 bad input (a one-paragraph message naming the file, the key and what is allowed,
no traceback; nothing is written); 1 internal error (or replicates that failed, recorded in meta.json).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from sim.inputs.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
LANGUAGES = ("en", "zh")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep its usage line
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_INPUT)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _integer(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _integer(text, 0)


def _integer(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lithium-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write its results directory")
    run.add_argument("scenario", type=Path, help="scenario TOML file")
    run.add_argument("--out", type=Path, help="results directory (default results/<name>/)")
    run.add_argument("--replicates", type=positive_int, help="Monte Carlo replicates (default: the scenario's)")
    run.add_argument("--seed", type=non_negative_int, help="master seed (default: the scenario's)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=1, help="local worker processes (default 1)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the replicates on the Dask cluster at ADDRESS, e.g. tcp://127.0.0.1:8786")
    run.add_argument("--params", type=Path, help="parameter file (default calibration/calibrated.toml "
                     "if present, else calibration/parameters.toml)")
    run.add_argument("--resume", action="store_true",
                     help="reuse the finished replicates of an interrupted run of the same scenario, "
                     "parameters, seed and replicate count into the same --out")
    run.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the charts (default en)")
    run.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    compare = sub.add_parser("compare", help="compare run directories (the first is the baseline)")
    compare.add_argument("runs", nargs="+", type=Path, metavar="DIR", help="run directories written by run")
    compare.add_argument("--out", type=Path, required=True, help="comparison directory to write")
    compare.add_argument("--lang", choices=LANGUAGES, default="en",
                         help="language of the workbook and charts (default en)")

    check = sub.add_parser("check", help="validate a scenario file without running it")
    check.add_argument("scenario", type=Path)
    check.add_argument("--params", type=Path, help="parameter file to validate with the scenario")

    from calibration.fit import add_calibrate_parser  # the calibration package owns its verb's options

    add_calibrate_parser(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    from sim.runs.runner import RUN_FILES, check_replaceable, run_scenario
    from sim.inputs.scenario import load_scenario

    scenario = load_scenario(args.scenario, parameter_file=args.params)
    out = args.out or Path("results") / scenario.name
    check_replaceable(out, RUN_FILES)  # before hours of replicates, not after
    try:
        result = run_scenario(scenario, replicates=args.replicates, seed=args.seed, workers=args.workers,
                              progress=not args.quiet, scheduler=args.scheduler, out_dir=out, resume=args.resume)
    except KeyboardInterrupt:
        kept = sorted(out.resolve().parent.glob(f".{out.resolve().name}.partial-*"))
        where = f" and kept in {kept[0]}" if kept else ""
        print(f"interrupted; no results were written. Finished replicates are on disk{where}; run the same "
              "command with --resume to reuse them", file=sys.stderr)
        return 130
    resumed = result.meta["replicates_resumed"]
    if args.resume and not resumed:
        print("--resume: no finished replicates of this scenario, seed, replicate count and code version were "
              "found; all replicates were run", file=sys.stderr)
    result.save(out, charts=not args.no_charts, lang=args.lang)
    result.store.discard()  # the part files are in the run directory now
    print(f"wrote {out}/ ({result.meta['replicates_ok']}/{result.meta['replicates']} replicates"
          f"{f', {resumed} resumed' if resumed else ''}, {result.meta['wall_time_s']:.1f} s)")
    if result.failures:
        print(f"{len(result.failures)} replicate(s) failed; their errors are in {out}/meta.json",
              file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from sim.outputs.compare import compare

    table = compare(args.runs, args.out, lang=args.lang)
    scenarios = list(dict.fromkeys(table["scenario"]))
    print(f"wrote {args.out}/ (comparison.csv, comparison.xlsx, charts/) comparing {', '.join(scenarios)} "
          f"with the baseline {scenarios[0]}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from sim.inputs.scenario import load_scenario

    scenario = load_scenario(args.scenario, parameter_file=args.params)
    print(f"{args.scenario}: ok (scenario '{scenario.name}', {scenario.n_months} months, "
          f"{scenario.replicates} replicate(s), parameters from {scenario.parameter_file or 'defaults'})")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from calibration.fit import run_calibrate

    verbs = {"run": _run, "compare": _compare, "check": _check, "calibrate": run_calibrate}
    try:
        return verbs[args.command](args)
    except InputError as err:
        print(f"lithium-sim {args.command}: {err.message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted; no results were written", file=sys.stderr)
        return 130
    except Exception:  # an internal error: the traceback is for a bug report
        traceback.print_exc()
        print(f"lithium-sim {args.command}: internal error (exit {EXIT_INTERNAL}); please report it with the "
              "traceback above", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
