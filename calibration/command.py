"""The ``lithium-sim calibrate`` command: fit (`calibration.fit`), analyse and report (`calibration.report`),
write the parameter file. Its options are declared in `sim.cli`, which calls `run_calibrate`.

It sits above both: the fit never imports the report, the report imports the fit's results.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from calibration import report
from calibration.fit import (
    BASE_PARAMETERS_FILE,
    DEFAULT,
    GROUPS,
    QUICK,
    CalibrationConfig,
    CalibrationResult,
    _relative,
    calibrate,
    load_setup,
    open_executor,
    parameter_file_text,
    write_parameter_file,
)
from sim.api import BASE_YEAR, InputError


# ---------------------------------------------------------------------------------------------------------
# the whole run: search, analysis, files
# ---------------------------------------------------------------------------------------------------------
@dataclass
class CalibrationRun:
    """A finished ``calibrate``: the result, its analysis, and where the files went."""

    result: CalibrationResult
    analysis: Any  # calibration.report.Analysis
    parameter_file: Path
    report_dir: Path | None
    wall_time_s: float


def run(config: CalibrationConfig) -> CalibrationRun:
    """Calibrate, analyse, write the parameter file and the report. Returns what was done."""
    started = time.perf_counter()
    setup = load_setup(config)
    with open_executor(config.workers, config.scheduler) as executor:
        if config.progress:
            groups = ", ".join(f"{g} {sum(1 for p in setup.fitted if p.group == g)}" for g in GROUPS)
            print(
                f"calibrate: {len(setup.fitted)} free parameters ({groups}), {len(setup.fitted_targets)} fitted targets"
                f"{f' through {config.through}' if config.through else ''}, {len(setup.seeds)} seeds per "
                f"candidate, {config.budget.name} budget, on {executor.description}",
                file=sys.stderr,
            )
        result = calibrate(config, executor, setup)
        analysis = report.analyse(result, executor, with_report=config.report_dir is not None)
    text = parameter_file_text(result, analysis.fit_rows(), analysis.uncertainty_table())
    write_parameter_file(config.out, text)
    report_dir = None
    if config.report_dir is not None:
        report_dir = report.write_report(
            analysis, config.report_dir, parameter_file=config.out, wall_time_s=time.perf_counter() - started
        )
    return CalibrationRun(result, analysis, Path(config.out), report_dir, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------------------
# command line (the options are declared in sim/cli.py, `_calibrate_parser`)
# ---------------------------------------------------------------------------------------------------------
def config_from_args(args: argparse.Namespace) -> CalibrationConfig:
    """The configuration the ``calibrate`` verb's namespace asks for (built by `sim.cli`)."""
    budget = QUICK if getattr(args, "quick", False) else DEFAULT
    changes = {
        k: getattr(args, k)
        for k in ("seeds", "popsize", "maxiter", "sensitivity")
        if getattr(args, k, None) is not None
    }
    if getattr(args, "no_recovery", False):
        changes["recovery"] = False
    if getattr(args, "no_backtest", False):
        changes["backtest"] = False
    budget = replace(budget, **changes)
    for flag, path in (
        ("--scenario", args.scenario),
        ("--targets", args.targets),
        ("--free", args.free),
        ("--base-params", args.base_params),
    ):
        if not Path(path).is_file():
            raise InputError(f"file not found (given by {flag})", file=str(path))
    out = Path(args.out).resolve()
    if out in (BASE_PARAMETERS_FILE.resolve(), Path(args.base_params).resolve()):
        raise InputError(
            "calibration never overwrites the base (hand-set) parameter file; choose another --out",
            file=str(args.out),
            key="--out",
        )
    through = getattr(args, "through", None)
    if through is not None and through < BASE_YEAR:
        raise InputError(f"the model starts in {BASE_YEAR}; give a year from {BASE_YEAR} on", key="--through")
    return CalibrationConfig(
        scenario=Path(args.scenario),
        targets=Path(args.targets),
        free_parameters=Path(args.free),
        base_parameters=Path(args.base_params),
        out=Path(args.out),
        report_dir=None if args.no_report else Path(args.report_dir),
        checkpoint=args.checkpoint,
        budget=budget,
        seed=args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=not args.quiet,
        through=through,
    )


def run_calibrate(args: argparse.Namespace) -> int:
    """The ``calibrate`` verb: 0 on success. Bad input raises `InputError` (the CLI turns it into exit 2)."""
    config = config_from_args(args)
    done = run(config)
    n = done.analysis.counts()
    state = "converged" if done.result.converged else "stopped at its generation cap (not converged)"
    print(
        f"wrote {_relative(done.parameter_file)} (objective {done.result.evaluation.energy:.4g}, {state}; "
        f"{n['out_of_sample_inside']}/{n['informative']} informative targets inside their band out of sample, "
        f"{n['in_sample_inside']}/{n['informative']} in sample)"
    )
    if done.report_dir is not None:
        print(f"wrote {_relative(done.report_dir)}/REPORT.md ({done.wall_time_s:.0f} s in all)")
    return 0
