"""Command line: ``lithium-sim`` / ``python -m sim``.

Verbs: ``run`` a scenario, ``compare`` run directories, ``check`` a scenario file, ``calibrate`` the free
parameters to the targets, ``explore`` where a target holds over the uncertain inputs (scenario discovery),
``app`` the workbench in a browser.

Exit codes: 0 success; 2 bad input (a one-paragraph message naming the file, the key and what is allowed,
no traceback; nothing is written); 1 internal error (or replicates that failed, recorded in meta.json).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import sys
import time
import traceback
from pathlib import Path

from sim.inputs.errors import InputError, clip

STARTED = time.perf_counter()  # when the command line was imported: the times it prints count from here
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
LANGUAGES = ("en", "zh")
MAX_WORKERS = 256  # local worker processes; more is a typo, not a machine
# errors the operating system raises about a path the user chose: bad input, not a bug in the program
_INPUT_ERRNOS = {
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EEXIST,
    errno.EXDEV,
    errno.EFBIG,
    errno.EBUSY,
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well; keep its usage line
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {clip(message)}\n")
        raise SystemExit(EXIT_INPUT)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _integer(text, 1)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _integer(text, 0)


def _integer(text: str, least: int, most: float = float("inf"), what: str = "") -> int:
    digits = text.strip().replace("_", "")
    unsigned = digits.removeprefix("-").removeprefix("+")
    if not (unsigned.isascii() and unsigned.isdigit()):  # ASCII digits only: not '３', not '1e3'
        raise argparse.ArgumentTypeError(f"'{text}' is not an integer")
    value = int(digits) if len(unsigned) <= 100 else None  # beyond any bound, and int() of 5,000 digits fails
    if value is None or not least <= value <= most:
        allowed = f"at least {least}" if most == float("inf") else f"an integer from {least} to {int(most)}"
        raise argparse.ArgumentTypeError(f"must be {allowed}{f' ({what})' if what else ''}, got {text}")
    return value


def schema_int(key: str):
    """argparse type for an option that sets the scenario key ``key``: the schema's bounds, declared once."""
    from sim.inputs.scenario import SCHEMA

    leaf = SCHEMA[key]

    def parse(text: str) -> int:
        return _integer(text, int(leaf.low), leaf.high, leaf.help)

    parse.__name__ = key  # argparse names the type in some messages
    return parse


def workers_int(text: str) -> int:
    """argparse type: local worker processes, 1 to `MAX_WORKERS`."""
    return _integer(text, 1, MAX_WORKERS, "local worker processes")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lithium-sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run a scenario and write its results directory")
    run.add_argument("scenario", type=Path, help="scenario TOML file")
    run.add_argument("--out", type=Path, help="results directory (default results/<name>/)")
    run.add_argument(
        "--replicates", type=schema_int("replicates"), help="Monte Carlo replicates (default: the scenario's)"
    )
    run.add_argument("--seed", type=schema_int("seed"), help="master seed (default: the scenario's)")
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=workers_int, default=1, help=f"local worker processes, at most {MAX_WORKERS} (default 1)"
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the replicates on the Dask cluster at ADDRESS, e.g. tcp://127.0.0.1:8786",
    )
    run.add_argument(
        "--params",
        type=Path,
        help="parameter file (default calibration/calibrated.toml if present, else calibration/parameters.toml)",
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="reuse the finished replicates of an interrupted run of the same scenario, "
        "parameters, seed and replicate count into the same --out",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="if --out holds files lithium-sim did not write, move it aside (kept, as "
        "NAME.replaced-TIMESTAMP) instead of refusing",
    )
    run.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the charts and messages (default en)")
    run.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    _allow_path_option(run)

    compare = sub.add_parser("compare", help="compare run directories (the first is the baseline)")
    compare.add_argument("runs", nargs="+", type=Path, metavar="DIR", help="run directories written by run")
    compare.add_argument("--out", type=Path, required=True, help="comparison directory to write")
    compare.add_argument(
        "--lang", choices=LANGUAGES, default="en", help="language of the workbook, charts and messages (default en)"
    )
    compare.add_argument(
        "--allow-mixed",
        action="store_true",
        help="compare runs of another price mode, parameter file or history years than the baseline (refused "
        "otherwise); every chart title and sheet then says what is mixed",
    )
    compare.add_argument(
        "--force",
        action="store_true",
        help="if --out holds files lithium-sim did not write, move it aside (kept) instead of refusing",
    )

    check = sub.add_parser("check", help="validate a scenario file without running it")
    check.add_argument("scenario", type=Path)
    check.add_argument("--params", type=Path, help="parameter file to validate with the scenario")
    _allow_path_option(check)

    _calibrate_parser(sub)
    _explore_parser(sub)
    _app_parser(sub)
    return parser


def _explore_parser(sub) -> None:
    """The ``explore`` verb: scenario discovery (`sim.discovery.explore`)."""
    from sim.discovery.targets import DEFAULT_REPLICATES, DEFAULT_SAMPLES, MAX_SAMPLES, NAMED_TARGETS

    named = "; ".join(f"{k} = {v.expression} ({v.question_en})" for k, v in NAMED_TARGETS.items())
    p = sub.add_parser(
        "explore",
        help="scenario discovery: which uncertain inputs make a target hold (PRIM boxes)",
        description="Draw scenarios over the declared uncertain inputs (carbonate price level and volatility, "
        "demand growth, lever strengths, project completion) with a Latin hypercube, run each with a few "
        "replicates, evaluate the target on each draw's mean and find the PRIM boxes where it holds and where it "
        f"fails. Named targets: {named}.",
    )
    p.add_argument("scenario", type=Path, help="scenario TOML file the draws start from")
    p.add_argument(
        "--target",
        required=True,
        metavar="EXPR",
        help="METRIC[region,segment,year] OP NUMBER (OP: >=, <=, >, <), clauses joined by 'and', or a named "
        f"target: {', '.join(NAMED_TARGETS)}",
    )
    p.add_argument(
        "--samples",
        type=lambda text: _integer(text, 1, MAX_SAMPLES, "scenarios drawn"),
        default=DEFAULT_SAMPLES,
        metavar="N",
        help=f"scenarios drawn (default {DEFAULT_SAMPLES})",
    )
    p.add_argument("--out", type=Path, help="output directory (default results/explore-<scenario>-<target>/)")
    p.add_argument(
        "--workers",
        type=workers_int,
        default=1,
        help="local worker processes (default 1: this process; more pay on machines with more real cores)",
    )
    p.add_argument(
        "--replicates",
        type=schema_int("replicates"),
        default=DEFAULT_REPLICATES,
        help=f"replicates per scenario drawn (default {DEFAULT_REPLICATES})",
    )
    p.add_argument("--seed", type=schema_int("seed"), help="master seed (default: the scenario's)")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="language of the charts and messages (default en)")
    p.add_argument(
        "--force",
        action="store_true",
        help="if --out holds files lithium-sim did not write, move it aside (kept) instead of refusing",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _allow_path_option(p)


def _explore(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.discovery.explore import EXPLORE_FILES, EXPLORE_OWNED, explore
    from sim.discovery.targets import parse_target
    from sim.inputs import catalogue as cat
    from sim.inputs.scenario import load_scenario
    from sim.runs.rundir import claim, kind_for

    target = parse_target(args.target)  # a bad target fails before the scenario is read
    scenario = load_scenario(args.scenario, allow_paths=args.allow_path)
    target.check_years(scenario)
    out = args.out or Path("results") / f"explore-{scenario.name}-{target.name or 'target'}"
    kind = kind_for(EXPLORE_FILES, EXPLORE_OWNED, name="explore directory")
    with claim(out, kind, force=args.force, option="--out"):
        with tqdm(
            total=args.samples,
            desc=cat.say(args.lang, "cli.bar_explore"),
            unit=cat.say(args.lang, "cli.bar_explore_unit"),
            disable=args.quiet,
            file=sys.stderr,
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.update(done - bar.n)

            result = explore(
                scenario,
                target,
                args.samples,
                replicates=args.replicates,
                seed=args.seed,
                workers=args.workers,
                progress=progress,
            )
        result.save(out, lang=args.lang, force=args.force)
    print("\n".join(result.console_lines(args.lang)))
    print(cat.say(args.lang, "explore.wrote", out=out, seconds=result.wall_time_s))
    if result.failed:
        print(cat.say(args.lang, "explore.failed", n=len(result.failed), out=out), file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_OK


def _app_parser(sub) -> None:
    """The ``app`` verb: the workbench (`sim.app`)."""
    p = sub.add_parser("app", help="start the workbench: scenarios, levers and charts in a local web browser")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument(
        "--port", type=lambda text: _integer(text, 0, 65535, "TCP port; 0: any free port"), default=8765,
        help="port (default 8765)",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=workers_int, default=1,
        help="local worker processes for runs (default 1: this process, quickest for the workbench's runs)",
    )  # fmt: skip
    p.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="a host name (or address) the workbench answers besides 127.0.0.1, localhost and --host: the name "
        "other machines use to reach it (repeatable; *.example.org allows a domain)",
    )  # fmt: skip


def _app(args: argparse.Namespace) -> int:
    from sim.app.server import serve

    for name in args.allow_host:
        text = name.strip()
        if not text or any(c in text for c in "/@ \t") or (":" in text and text.count(":") < 2):  # no URL, no port
            raise InputError(
                f"'{name}' is not a host name or address; give a name such as planning-pc.local, or an address",
                key="--allow-host",
            )
    return serve(args.host, args.port, workers=args.workers, allow_hosts=args.allow_host)


def _calibrate_parser(sub) -> None:
    """The ``calibrate`` verb's options (the calibration package reads them in `calibration.command.run_calibrate`)."""
    from sim.inputs.files import project_root

    root = project_root()
    p = sub.add_parser(
        "calibrate",
        help="fit the free parameters to the targets; write calibrated.toml and the fit report",
        description="Fit the free parameters (calibration/free_parameters.toml) to the targets "
        "(calibration/targets.toml) by simulated method of moments with common random numbers and "
        "differential evolution; write calibration/calibrated.toml (used by every run by default) and the "
        "fit report with a rolling-origin backtest. An interrupted calibration resumes from its checkpoint.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a small budget for tests and notebooks (seconds); default: the full budget",
    )
    p.add_argument("--workers", type=workers_int, help="local worker processes (default: the CPU count; 1: no pool)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster at this scheduler address")
    p.add_argument("--seeds", type=positive_int, help="common-random-number replicates per candidate")
    p.add_argument(
        "--seed", type=schema_int("seed"), help="master seed of the replicate seeds (default: the scenario's)"
    )
    p.add_argument("--popsize", type=positive_int, help="differential-evolution population per free parameter")
    p.add_argument("--maxiter", type=non_negative_int, help="differential-evolution generations")
    p.add_argument(
        "--through",
        type=positive_int,
        metavar="YEAR",
        help="fit only the targets up to this year (a backtest: the later ones are scored, not fitted)",
    )
    p.add_argument(
        "--sensitivity",
        choices=("morris", "sobol", "none"),
        help="global sensitivity method in the report (default morris)",
    )
    p.add_argument("--no-recovery", action="store_true", help="skip the parameter-recovery check")
    p.add_argument("--no-backtest", action="store_true", help="skip the rolling-origin backtest")
    for flag, default, what in (
        ("--scenario", "scenarios/baseline.toml", "scenario whose base years are fitted"),
        ("--targets", "calibration/targets.toml", "targets file"),
        ("--free", "calibration/free_parameters.toml", "free-parameter file"),
        ("--base-params", "calibration/parameters.toml", "values of held parameters (never overwritten)"),
        ("--out", "calibration/calibrated.toml", "calibrated parameter file to write"),
        ("--report-dir", "calibration/report", "fit report directory"),
    ):
        p.add_argument(flag, type=Path, default=root / default, help=f"{what} (default {default})")
    p.add_argument("--no-report", action="store_true", help="write the parameter file only")
    p.add_argument("--checkpoint", type=Path, help="optimiser checkpoint (default .<out name>.checkpoint.json)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument(
        "--resume", dest="resume", action="store_true", default=True, help="resume from a matching checkpoint (default)"
    )
    resume.add_argument("--fresh", dest="resume", action="store_false", help="ignore any checkpoint and start over")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _calibrate(args: argparse.Namespace) -> int:
    from calibration.command import run_calibrate

    return run_calibrate(args)


def _allow_path_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a directory whose files the scenario may read through extends and parameter_file, "
        "beyond its own directory tree, scenarios/ and calibration/ (repeatable)",
    )


def _run(args: argparse.Namespace) -> int:
    from sim.inputs.scenario import load_scenario

    scenario = load_scenario(args.scenario, parameter_file=args.params, allow_paths=args.allow_path)
    out = args.out or Path("results") / scenario.name
    try:
        return _run_into(args, scenario, out)
    except InputError as err:
        if not getattr(err, "settled", False):  # refused before any replicate ran
            err.detail = f"{err.detail}. No replicate ran and nothing was written"
        raise


def _run_into(args: argparse.Namespace, scenario, out: Path) -> int:
    from sim.runs.rundir import RUN, claim, interrupt_requested, uninterruptible
    from sim.runs.runner import run_scenario

    # claimed before hours of replicates, not after: locked, checked, and what dead runs left dealt with; the
    # charts' worker starts now and loads matplotlib while the replicates run
    with (
        claim(out, RUN, force=args.force, option="--out") as held,
        _chart_pool(not args.no_charts) as pool,
    ):
        result = None
        interrupted = False
        try:
            result = run_scenario(
                scenario,
                replicates=args.replicates,
                seed=args.seed,
                workers=args.workers,
                progress=not args.quiet,
                lang=args.lang,
                scheduler=args.scheduler,
                out_dir=out,
                resume=args.resume,
            )
            result.save(out, charts=not args.no_charts, lang=args.lang, force=args.force, pool=pool)
        except BaseException as err:
            # an interrupt, or an error a library raised instead of it (matplotlib's renderer does)
            if not (isinstance(err, KeyboardInterrupt) or (isinstance(err, Exception) and interrupt_requested())):
                fault = _fault(err, held.partial) if isinstance(err, InputError | OSError) else None
                if fault is None:
                    raise
                raise fault from None
            if not held.committed:
                with uninterruptible():
                    _report_interrupted(held.partial, finished=result is not None)
                return EXIT_INTERRUPTED
            interrupted = True  # after the results were in place: they are complete
        with uninterruptible():
            result.store.discard()  # the part files are in the run directory now
            return _report_run(args, out, result, interrupted)


def _fault(err: InputError | OSError, partial: Path | None) -> InputError | None:
    """A run stopped by its environment (a full or read-only disk, a missing permission) or refused input once
    it had started: the message, and where the finished replicates are kept. None: not a fault of the
    environment (a bug: the traceback is for a report)."""
    from sim.inputs.files import describe_os_error
    from sim.runs.rundir import ENVIRONMENT_ERRNOS, advice, shown

    if isinstance(err, OSError):
        if err.errno not in ENVIRONMENT_ERRNOS:
            return None
        remedy = f"; {advice(err)}" if advice(err) else ""
        detail = f"{shown(err.filename) or 'a file of the run'} {describe_os_error(err)}{remedy}"
        file, key = None, None
    else:
        detail, file, key = err.detail, err.file, err.key
    finished = _finished_replicates(partial)
    if finished:
        kept = (
            f"{finished} finished replicate(s) are kept in {partial}: once that is solved, run the same command "
            "with --resume to reuse them"
        )
    else:
        kept = "no replicate had finished, so nothing was kept"
    fault = InputError(f"{detail}. No results were written; {kept}", file=file, key=key)
    fault.settled = True  # says what became of the replicates: `_run` adds nothing
    return fault


def _chart_pool(wanted: bool):
    from sim.runs.compare import chart_pool

    return chart_pool() if wanted else contextlib.nullcontext(None)


def _finished_replicates(partial: Path | None) -> int:
    if partial is None:
        return 0
    total = 0
    try:
        for path in (partial / "parts").glob("summary-*.npz"):
            first, last = path.stem.split("-")[1:3]
            total += int(last) - int(first) + 1
    except (OSError, ValueError):
        return total
    return total


def _report_interrupted(partial: Path | None, finished: bool) -> None:
    state = "all replicates had finished, but " if finished else ""
    if partial is not None and any((partial / "parts").glob("summary-*.npz")):
        print(
            f"interrupted; {state}no results were written. Finished replicates are on disk in {partial}; run "
            "the same command with --resume to reuse them",
            file=sys.stderr,
        )
    else:
        print(f"interrupted; {state}no results were written (no replicate had finished)", file=sys.stderr)


def _report_run(args: argparse.Namespace, out: Path, result, interrupted: bool) -> int:
    resumed = result.meta["replicates_resumed"]
    if args.resume and not resumed:
        print(
            "--resume: no finished replicates of this scenario, seed, replicate count and code version were "
            "found; all replicates were run",
            file=sys.stderr,
        )
    from sim.inputs.catalogue import say

    lang = args.lang
    print(
        say(
            lang, "cli.run_done", out=out, ok=result.meta["replicates_ok"], n=result.meta["replicates"],
            resumed=say(lang, "cli.resumed", count=resumed) if resumed else "", wall=time.perf_counter() - STARTED,
            sim=result.meta["wall_time_s"],
        )
    )  # fmt: skip
    if interrupted:
        print("interrupted after the results were written; they are complete", file=sys.stderr)
    numeric = result.meta.get("numeric_failures", {})
    if numeric:
        first = next(iter(numeric.values()))["message"]
        print(
            f"{len(numeric)} replicate(s) failed a numeric check; the first: {first}. summary.csv keeps every "
            f"row: column failed counts them where they are missing; each failure is in {out}/meta.json "
            "(numeric_failures)",
            file=sys.stderr,
        )
    errors = len(result.failures) - len(numeric)
    if errors:
        print(f"{errors} replicate(s) failed; their errors are in {out}/meta.json", file=sys.stderr)
    if result.failures:
        return EXIT_INTERNAL
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from sim.runs.compare import COMPARISON, compare
    from sim.runs.rundir import claim

    with claim(args.out, COMPARISON, force=args.force, option="--out") as held:
        try:
            table = compare(
                args.runs, args.out, lang=args.lang, force=args.force, allow_mixed=args.allow_mixed, pool=True
            )
            interrupted = False
        except KeyboardInterrupt:
            if not held.committed:
                raise
            interrupted = True
    scenarios = list(dict.fromkeys(table["scenario"])) if not interrupted else []
    if interrupted:
        print(f"wrote {args.out}/; interrupted after it was written: it is complete", file=sys.stderr)
        return EXIT_OK
    from sim.inputs.catalogue import say

    lang = args.lang
    names = table.attrs.get("names", {}).get(lang, {})
    shown = [names.get(s, s) for s in scenarios]
    wall = time.perf_counter() - STARTED
    if len(shown) == 1:
        print(say(lang, "cli.compare_alone", out=args.out, baseline=shown[0], wall=wall))
    else:
        others = say(lang, "cli.list_sep").join(shown[1:])
        print(say(lang, "cli.compare_done", out=args.out, others=others, baseline=shown[0], wall=wall))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from sim.inputs.scenario import load_scenario

    scenario = load_scenario(args.scenario, parameter_file=args.params, allow_paths=args.allow_path)
    print(
        f"{args.scenario}: ok (scenario '{scenario.name}', {scenario.n_months} months, "
        f"{scenario.replicates} replicate(s), parameters from {scenario.parameter_file or 'defaults'})"
    )
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run the command line; ``argv`` None means this is the program (``sys.argv``)."""
    from sim.runs.rundir import interrupts_recorded

    with interrupts_recorded(program=argv is None) as settle:
        code = _main(argv)
        settle()
    return code


def _main(argv: list[str] | None) -> int:
    from sim.runs.rundir import committed_targets, interrupt_requested

    command, args = "?", None
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        verbs = {
            "run": _run,
            "compare": _compare,
            "check": _check,
            "calibrate": _calibrate,
            "explore": _explore,
            "app": _app,
        }
        return verbs[command](args)
    except InputError as err:
        print(f"lithium-sim {command}: {err.message_in(getattr(args, 'lang', 'en'))}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return _interrupted(committed_targets())
    except OSError as err:
        if interrupt_requested():
            return _interrupted(committed_targets())
        if err.errno not in _INPUT_ERRNOS or not err.filename:
            return _internal(command)
        from sim.inputs.files import describe_os_error

        # a path the user chose that the operating system refuses: input, not a bug
        print(f"lithium-sim {command}: {clip(f'{err.filename} {describe_os_error(err)}')}", file=sys.stderr)
        return EXIT_INPUT
    except Exception:
        if interrupt_requested():  # a library turned the KeyboardInterrupt into another error
            return _interrupted(committed_targets())
        return _internal(command)


def _interrupted(written: list[Path]) -> int:
    """The message after an interrupt: what was written is complete (exit 0), else nothing was (exit 130)."""
    if written:
        print(f"interrupted after {', '.join(map(str, written))} had been written completely", file=sys.stderr)
        return EXIT_OK
    print("interrupted; no results were written", file=sys.stderr)
    return EXIT_INTERRUPTED


def _internal(command: str) -> int:
    """An internal error: the traceback is for a bug report."""
    traceback.print_exc()
    print(
        f"lithium-sim {command}: internal error (exit {EXIT_INTERNAL}); please report it with the traceback above",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
