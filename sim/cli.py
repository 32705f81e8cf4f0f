"""Command line: ``lithium-sim`` / ``python -m sim``.

Exit codes: 0 success; 2 bad input (a one-paragraph message naming the file, the key and what is allowed,
no traceback); 1 internal error (or replicates that failed, recorded in meta.json).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep its usage line
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_INPUT)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lithium-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write its results directory")
    run.add_argument("scenario", type=Path, help="scenario TOML file")
    run.add_argument("--out", type=Path, help="results directory (default results/<name>/)")
    run.add_argument("--replicates", type=_positive, help="Monte Carlo replicates (default: the scenario's)")
    run.add_argument("--seed", type=_seed, help="master seed (default: the scenario's)")
    run.add_argument("--workers", type=_positive, default=1, help="local worker processes (default 1)")
    run.add_argument("--params", type=Path, help="parameter file (default calibration/calibrated.toml "
                     "if present, else calibration/parameters.toml)")
    run.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    check = sub.add_parser("check", help="validate a scenario file without running it")
    check.add_argument("scenario", type=Path)
    check.add_argument("--params", type=Path, help="parameter file to validate with the scenario")
    return parser


def _run(args: argparse.Namespace) -> int:
    from sim.runner import run_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, parameter_file=args.params)
    out = args.out or Path("results") / scenario.name
    result = run_scenario(scenario, replicates=args.replicates, seed=args.seed, workers=args.workers,
                          progress=not args.quiet)
    result.save(out, charts=not args.no_charts)
    print(f"wrote {out}/ ({result.meta['replicates_ok']}/{result.meta['replicates']} replicates, "
          f"{result.meta['wall_time_s']:.1f} s)")
    if result.failures:
        print(f"{len(result.failures)} replicate(s) failed; their errors are in {out}/meta.json", file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario, parameter_file=args.params)
    print(f"{args.scenario}: ok (scenario '{scenario.name}', {scenario.n_months} months, "
          f"{scenario.replicates} replicate(s), parameters from {scenario.parameter_file or 'defaults'})")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"run": _run, "check": _check}[args.command](args)
    except InputError as err:
        print(f"lithium-sim {args.command}: {err.message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted; no results were written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
