"""Fitting the free parameters to the targets, and the ``lithium-sim calibrate`` command.

Simulated method of moments with common random numbers (docs/model.md and calibration/README.md): every candidate runs the
calibration scenario (by default ``scenarios/baseline.toml``) on the same replicate seeds,
``SeedSequence(seed).spawn(n)`` with the scenario's master seed, through December of the last target year;
the objective (`calibration.objective`) is minimised by differential evolution (`calibration.optimise`),
checkpointed every generation. The result is written atomically to ``calibration/calibrated.toml``, which
`sim.inputs.scenario.default_parameter_file` then gives every scenario, and the fit report to
``calibration/report/`` (`calibration.report`).

Held parameters (``fit = false`` in the free-parameter file) and every parameter not listed keep their
values from the base file, ``calibration/parameters.toml`` (hand-set), which calibration never overwrites.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from calibration.objective import Evaluation, Problem, evaluate_candidate
from calibration.optimise import Evaluator, SearchResult, SearchSpace, atomic_write_text, progress_bar, search
from calibration.parallel import Executor, open_executor
from calibration.targets import (
    CALIBRATION_DIR,
    FREE_PARAMETERS_FILE,
    TARGETS_FILE,
    FreeParameter,
    Target,
    check_base,
    load_free_parameters,
    load_targets,
)
from sim.cli import non_negative_int, positive_int
from sim.inputs.errors import InputError
from sim.inputs.params import PARAM_FIELDS, ModelParams, load_param_file
from sim.runs.runner import code_version
from sim.inputs.scenario import Scenario, load_scenario, project_root

ROOT = project_root()
BASELINE_SCENARIO = ROOT / "scenarios" / "baseline.toml"
BASE_PARAMETERS_FILE = CALIBRATION_DIR / "parameters.toml"
CALIBRATED_FILE = CALIBRATION_DIR / "calibrated.toml"
REPORT_DIR = CALIBRATION_DIR / "report"
DE_SEED = 20240521  # the optimiser's own seed (mutation, crossover, initial population); part of the record
SIGNIFICANT_DIGITS = 6  # fitted values are written with this many significant digits


@dataclass(frozen=True)
class Budget:
    """How much work a calibration does.

    Attributes:
        name: ``quick`` (tests, notebooks: well under a minute) or ``default`` (under 20 minutes on 2 cores).
        seeds: common-random-number replicates per candidate.
        popsize: differential-evolution population per free parameter.
        maxiter: generations after the initial population.
        tol: stop when the population's objective values are within this fraction of their mean.
        sensitivity: ``morris``, ``sobol`` or ``none`` (global sensitivity of headline outcomes).
        morris_trajectories: Morris trajectories (evaluations: trajectories x (parameters + 1)).
        sobol_samples: Sobol base sample, a power of two (evaluations: samples x (parameters + 2)).
        sensitivity_seeds: replicates per sensitivity point (full runs to the scenario's end).
        jacobian: compute the moments' Jacobian (identification and parameter uncertainty).
        recovery: run the parameter-recovery check.
        recovery_seeds: replicates per candidate in the recovery check.
        recovery_popsize: its population per parameter.
        recovery_maxiter: its generations.
        validation_replicates: replicates of the baseline run in the fit table (None: the scenario's).
        out_of_sample: replicates on seeds the fit never saw.
    """

    name: str
    seeds: int
    popsize: int
    maxiter: int
    tol: float
    sensitivity: str
    morris_trajectories: int
    sobol_samples: int
    sensitivity_seeds: int
    jacobian: bool
    recovery: bool
    recovery_seeds: int
    recovery_popsize: int
    recovery_maxiter: int
    validation_replicates: int | None
    out_of_sample: int


QUICK = Budget(
    "quick",
    seeds=3,
    popsize=2,
    maxiter=2,
    tol=0.01,
    sensitivity="morris",
    morris_trajectories=2,
    sobol_samples=8,
    sensitivity_seeds=1,
    jacobian=True,
    recovery=True,
    recovery_seeds=3,
    recovery_popsize=8,
    recovery_maxiter=15,
    validation_replicates=3,
    out_of_sample=3,
)
DEFAULT = Budget(
    "default",
    seeds=20,
    popsize=6,
    maxiter=60,
    tol=0.005,
    sensitivity="morris",
    morris_trajectories=16,
    sobol_samples=64,
    sensitivity_seeds=8,
    jacobian=True,
    recovery=True,
    recovery_seeds=10,
    recovery_popsize=8,
    recovery_maxiter=20,
    validation_replicates=None,
    out_of_sample=20,
)


@dataclass(frozen=True)
class CalibrationConfig:
    """Everything a calibration reads and writes.

    Attributes:
        scenario: the scenario whose base years are fitted.
        targets: the targets file.
        free_parameters: the free-parameter file.
        base_parameters: values of held and unlisted parameters (never overwritten).
        out: the calibrated parameter file to write.
        report_dir: the report directory (None: no report).
        checkpoint: the optimiser's checkpoint (default: ``.<out stem>.checkpoint.json`` beside ``out``).
        budget: how much work.
        seed: master seed of the replicate seeds (None: the scenario's).
        de_seed: the optimiser's seed.
        workers: local worker processes (None: the CPU count; 1: this process).
        scheduler: a Dask scheduler address (overrides ``workers``).
        resume: resume from a matching checkpoint.
        progress: show progress bars and messages on standard error.
    """

    scenario: Path = BASELINE_SCENARIO
    targets: Path = TARGETS_FILE
    free_parameters: Path = FREE_PARAMETERS_FILE
    base_parameters: Path = BASE_PARAMETERS_FILE
    out: Path = CALIBRATED_FILE
    report_dir: Path | None = REPORT_DIR
    checkpoint: Path | None = None
    budget: Budget = DEFAULT
    seed: int | None = None
    de_seed: int = DE_SEED
    workers: int | None = None
    scheduler: str | None = None
    resume: bool = True
    progress: bool = True

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint or Path(self.out).with_name(f".{Path(self.out).stem}.checkpoint.json")


@dataclass
class Setup:
    """A loaded calibration: inputs checked, problem built."""

    config: CalibrationConfig
    scenario: Scenario
    base: ModelParams
    base_table: dict[str, Any]
    targets: list[Target]
    free: list[FreeParameter]
    seeds: list[np.random.SeedSequence]
    problem: Problem
    space: SearchSpace

    @property
    def fitted(self) -> list[FreeParameter]:
        return [p for p in self.free if p.fit]

    @property
    def used_targets(self) -> list[Target]:
        return [t for t in self.targets if t.used]


@dataclass
class CalibrationResult:
    """A finished search and the parameters it chose.

    Attributes:
        setup: the loaded calibration.
        search: the differential-evolution outcome.
        x: the fitted values as written (rounded to `SIGNIFICANT_DIGITS`), in ``problem.names`` order.
        params: the full parameter set with the fitted values.
        evaluation: the fitted values evaluated on the calibration seeds.
        wall_time_s: search time in this run (excluding the report).
        finished: the date and time the search finished (UTC, ISO 8601).
    """

    setup: Setup
    search: SearchResult
    x: np.ndarray
    params: ModelParams
    evaluation: Evaluation
    wall_time_s: float
    finished: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def fitted_values(self) -> dict[str, float]:
        return dict(zip(self.setup.problem.names, (float(v) for v in self.x), strict=True))


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# modules that present results but cannot change a simulated figure: editing them keeps a checkpoint valid
PRESENTATION_MODULES = {"cli.py", "charts.py", "compare.py", "api.py", "__main__.py"}


def source_fingerprint() -> str:
    """Hash of the model's code and data and of the moment code: a checkpoint is only valid for these."""
    h = hashlib.sha256()
    files = sorted(
        [
            *(f for f in ROOT.glob("sim/*.py") if f.name not in PRESENTATION_MODULES),
            *ROOT.glob("sim/inputs/data/*.csv"),
            *ROOT.glob("agents/*.py"),
            CALIBRATION_DIR / "moments.py",
            CALIBRATION_DIR / "objective.py",
        ]
    )
    for f in files:
        if f.is_file():
            h.update(f.relative_to(ROOT).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def load_setup(config: CalibrationConfig) -> Setup:
    """Read and check the scenario, targets, free parameters and base parameters; build the problem.

    Raises:
        InputError: naming the file and the key of the first problem.
    """
    targets = load_targets(config.targets)
    free = load_free_parameters(config.free_parameters)
    _, base_table = load_param_file(config.base_parameters)
    scenario = load_scenario(config.scenario, parameter_file=config.base_parameters)
    base = scenario.params
    check_base(free, base, str(config.free_parameters))
    last_year = max(t.spec.year for t in targets if t.used)
    if scenario.n_months < (last_year - 2021) * 12:
        raise InputError(
            f"the scenario ends before the last target year {last_year}", file=str(config.scenario), key="end"
        )
    master = scenario.seed if config.seed is None else config.seed
    seeds = np.random.SeedSequence(master).spawn(config.budget.seeds)
    problem = Problem.build(scenario, base, free, targets, seeds)
    fitted = [p for p in free if p.fit]
    space = SearchSpace(
        low=np.array([p.low for p in fitted]),
        high=np.array([p.high for p in fitted]),
        integer=np.array([p.integer for p in fitted]),
    )
    return Setup(
        config, scenario, base, dict(base_table.get("parameters", {})), targets, free, seeds, problem, space
    )


def checkpoint_config(setup: Setup) -> dict[str, Any]:
    """What must be unchanged for a checkpoint to be resumed (the generation budget may grow)."""
    c, b = setup.config, setup.config.budget
    return {
        "scenario_sha256": _sha256(c.scenario),
        "targets_sha256": _sha256(c.targets),
        "free_parameters_sha256": _sha256(c.free_parameters),
        "base_parameters_sha256": _sha256(c.base_parameters),
        "source": source_fingerprint(),
        "seed_entropy": str(setup.seeds[0].entropy),
        "seeds": len(setup.seeds),
        "popsize": b.popsize,
        "de_seed": c.de_seed,
        "names": list(setup.problem.names),
    }


def _round(value: float, whole: bool) -> float:
    if whole:
        return float(round(value))
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def calibrate(
    config: CalibrationConfig, executor: Executor | None = None, setup: Setup | None = None
) -> CalibrationResult:
    """Fit the free parameters (no files written but the checkpoint).

    Args:
        config: inputs, outputs and budget.
        executor: where evaluations run (default: from ``config.workers``/``config.scheduler``).
        setup: an already loaded setup for ``config``.
    """
    setup = setup or load_setup(config)
    own = executor is None
    executor = executor or open_executor(config.workers, config.scheduler)
    started = time.perf_counter()
    budget = config.budget
    size = max(5, budget.popsize * len(setup.space.low))
    bar = progress_bar(size * (budget.maxiter + 1), "calibrate: candidates", config.progress)
    try:
        evaluator = Evaluator(setup.problem, setup.space, executor, progress=bar.update)
        start = setup.space.clip(np.array([getattr(setup.base, n) for n in setup.problem.names]))

        def show(generation: int, best: float) -> None:
            bar.set_postfix_str(f"generation {generation}, best objective {best:.4g}")

        def log(message: str) -> None:
            if config.progress:
                bar.write(f"calibrate: {message}", file=sys.stderr)

        result = search(
            setup.problem,
            setup.space,
            evaluator,
            popsize=budget.popsize,
            maxiter=budget.maxiter,
            tol=budget.tol,
            de_seed=config.de_seed,
            start=start,
            checkpoint=config.checkpoint_path,
            config=checkpoint_config(setup),
            resume=config.resume,
            on_generation=show,
            log=log,
        )
        x = np.array([_round(v, w) for v, w in zip(result.x, setup.space.integer, strict=True)])
        x = setup.space.clip(x)
        evaluation = evaluator.lookup(x)
        if evaluation is None or not np.array_equal(evaluation.x, x):
            evaluation = executor.map(evaluate_candidate, [setup.problem], [x])[0]
    finally:
        bar.close()
        if own:
            executor.close()
    return CalibrationResult(
        setup, result, x, setup.problem.params_at(x), evaluation, time.perf_counter() - started
    )


# ---------------------------------------------------------------------------------------------------------
# the calibrated parameter file
# ---------------------------------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def toml_table(name: str, values: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    """One TOML table of scalars and lists, with optional end-of-line comments."""
    lines = [f"[{name}]"]
    for key, value in values.items():
        line = f"{_toml_key(key)} = {_toml_value(value)}"
        if comments and key in comments:
            line = f"{line:<44}# {comments[key]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def parameter_values(result: CalibrationResult) -> dict[str, float | int]:
    """The ``[parameters]`` table: every base-file parameter, the fitted ones at their fitted values."""
    setup = result.setup
    fitted = result.fitted_values
    names = [*setup.base_table, *[n for n in fitted if n not in setup.base_table]]
    out: dict[str, float | int] = {}
    for name in names:
        value = fitted.get(name, getattr(result.params, name))
        kind = PARAM_FIELDS[name].type
        out[name] = int(value) if kind in (int, "int") else float(value)
    return out


def parameter_file_text(
    result: CalibrationResult,
    fit_rows: list[dict[str, Any]],
    uncertainty: dict[str, dict[str, float]] | None = None,
) -> str:
    """The calibrated parameter file: provenance, the parameters, the fit and the uncertainty."""
    setup, c, s = result.setup, result.setup.config, result.search
    rel = {
        k: _relative(v)
        for k, v in (
            ("scenario", c.scenario),
            ("targets", c.targets),
            ("free_parameters", c.free_parameters),
            ("base_parameters", c.base_parameters),
        )
    }
    meta = {
        "kind": "calibrated",
        "date": result.finished,
        "code_version": code_version(),
        "method": "simulated method of moments, common random numbers, scipy differential_evolution "
        "(polish=False, updating='deferred')",
        "objective": float(result.evaluation.energy),
        "objective_formula": "sum over used targets of weight x ((mean model - target) / tolerance)^2",
        "budget": c.budget.name,
        "seed_master": int(setup.seeds[0].entropy),
        "seeds": len(setup.seeds),
        "seed_spawn": "numpy.random.SeedSequence(seed_master).spawn(seeds)",
        "de_seed": c.de_seed,
        "popsize": c.budget.popsize,
        "generations": s.generations,
        "max_generations": c.budget.maxiter,
        "converged": s.converged,
        "evaluations": int(s.history[-1][2]) if s.history else s.evaluations,
        "wall_time_s": round(result.wall_time_s, 1),
        "scenario": rel["scenario"],
        "scenario_sha256": _sha256(c.scenario),
        "targets": rel["targets"],
        "targets_sha256": _sha256(c.targets),
        "free_parameters": rel["free_parameters"],
        "free_parameters_sha256": _sha256(c.free_parameters),
        "base_parameters": rel["base_parameters"],
        "base_parameters_sha256": _sha256(c.base_parameters),
        "fitted": list(setup.problem.names),
        "held": [p.name for p in setup.free if not p.fit],
    }
    bounds = {p.name: p for p in setup.free}
    comments = {}
    for name in parameter_values(result):
        unit = PARAM_FIELDS[name].metadata["unit"]
        if name in result.fitted_values:
            b = bounds[name]
            text = f"fitted in [{b.low:g}, {b.high:g}] {unit}; hand-set {getattr(setup.base, name):g}"
            if uncertainty and name in uncertainty:
                u = uncertainty[name]
                text += f"; 90% {u['low90']:.4g}..{u['high90']:.4g}"
            comments[name] = text
        else:
            comments[name] = f"held at the base value, {unit}"
    header = (
        "# Calibrated parameters, written by `lithium-sim calibrate`. Every scenario uses this file by "
        "default\n# (sim.inputs.scenario.default_parameter_file). Do not edit by hand: re-run the calibration; "
        "the hand-set\n# values stay in calibration/parameters.toml. The fit report is in "
        "calibration/report/REPORT.md.\n\n"
    )
    parts = [
        header,
        toml_table("meta", meta),
        "",
        toml_table("parameters", parameter_values(result), comments),
    ]
    for row in fit_rows:
        parts += ["", toml_table(f"fit.{row['target']}", {k: v for k, v in row.items() if k != "target"})]
    for name, u in (uncertainty or {}).items():
        parts += ["", toml_table(f"uncertainty.{name}", u)]
    return "\n".join(parts)


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def write_parameter_file(path: Path, text: str) -> None:
    """Write the calibrated file atomically, after checking it reads back as a valid parameter file."""
    path = Path(path)
    probe = path.with_name(f".{path.name}.check.tmp")
    try:
        atomic_write_text(probe, text)
        load_param_file(probe)
    finally:
        probe.unlink(missing_ok=True)
    atomic_write_text(path, text)


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
    from calibration import report

    started = time.perf_counter()
    setup = load_setup(config)
    executor = open_executor(config.workers, config.scheduler)
    try:
        if config.progress:
            print(
                f"calibrate: {len(setup.fitted)} free parameters, {len(setup.used_targets)} targets, "
                f"{len(setup.seeds)} seeds per candidate, {config.budget.name} budget, on "
                f"{executor.description}",
                file=sys.stderr,
            )
        result = calibrate(config, executor, setup)
        analysis = report.analyse(result, executor)
    finally:
        executor.close()
    text = parameter_file_text(result, analysis.fit_rows(), analysis.uncertainty_table())
    write_parameter_file(config.out, text)
    report_dir = None
    wall = time.perf_counter() - started
    if config.report_dir is not None:
        report_dir = report.write_report(
            analysis, config.report_dir, parameter_file=config.out, wall_time_s=wall
        )
    return CalibrationRun(result, analysis, Path(config.out), report_dir, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------------------
def add_calibrate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``calibrate`` verb on an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "calibrate",
        help="fit the free parameters to the targets; write calibrated.toml and the fit report",
        description="Fit the free parameters (calibration/free_parameters.toml) to the targets "
        "(calibration/targets.toml) by simulated method of moments with common random numbers and "
        "differential evolution; write calibration/calibrated.toml (used by every run by default) and the "
        "fit report. An interrupted calibration resumes from its checkpoint.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a small budget for tests and notebooks (well under a minute); default: the full budget "
        "(under 20 minutes on 2 cores)",
    )
    p.add_argument(
        "--workers", type=positive_int, help="local worker processes (default: the CPU count; 1: no pool)"
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster at this scheduler address")
    p.add_argument("--seeds", type=positive_int, help="common-random-number replicates per candidate")
    p.add_argument(
        "--seed", type=non_negative_int, help="master seed of the replicate seeds (default: the scenario's)"
    )
    p.add_argument("--popsize", type=positive_int, help="differential-evolution population per free parameter")
    p.add_argument("--maxiter", type=non_negative_int, help="differential-evolution generations")
    p.add_argument(
        "--sensitivity",
        choices=("morris", "sobol", "none"),
        help="global sensitivity method in the report (default morris)",
    )
    p.add_argument("--no-recovery", action="store_true", help="skip the parameter-recovery check")
    p.add_argument(
        "--scenario",
        type=Path,
        default=BASELINE_SCENARIO,
        help="scenario whose base years are fitted (default scenarios/baseline.toml)",
    )
    p.add_argument(
        "--targets", type=Path, default=TARGETS_FILE, help="targets file (default calibration/targets.toml)"
    )
    p.add_argument(
        "--free",
        type=Path,
        default=FREE_PARAMETERS_FILE,
        help="free-parameter file (default calibration/free_parameters.toml)",
    )
    p.add_argument(
        "--base-params",
        type=Path,
        default=BASE_PARAMETERS_FILE,
        help="values of held parameters (default calibration/parameters.toml; never overwritten)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=CALIBRATED_FILE,
        help="calibrated parameter file to write (default calibration/calibrated.toml)",
    )
    p.add_argument(
        "--report-dir",
        type=Path,
        default=REPORT_DIR,
        help="fit report directory (default calibration/report/)",
    )
    p.add_argument("--no-report", action="store_true", help="write the parameter file only")
    p.add_argument(
        "--checkpoint",
        type=Path,
        help="optimiser checkpoint (default .<out name>.checkpoint.json beside --out)",
    )
    resume = p.add_mutually_exclusive_group()
    resume.add_argument(
        "--resume",
        dest="resume",
        action="store_true",
        default=True,
        help="resume from a matching checkpoint (default)",
    )
    resume.add_argument(
        "--fresh", dest="resume", action="store_false", help="ignore any checkpoint and start over"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def config_from_args(args: argparse.Namespace) -> CalibrationConfig:
    """The configuration an argparse namespace (from `add_calibrate_parser`) asks for."""
    budget = QUICK if args.quick else DEFAULT
    changes = {
        k: getattr(args, k)
        for k in ("seeds", "popsize", "maxiter", "sensitivity")
        if getattr(args, k, None) is not None
    }
    if getattr(args, "no_recovery", False):
        changes["recovery"] = False
    budget = replace(budget, **changes)
    for flag, path in (
        ("--scenario", args.scenario),
        ("--targets", args.targets),
        ("--free", args.free),
        ("--base-params", args.base_params),
    ):
        if not Path(path).is_file():
            raise InputError(f"file not found (given by {flag})", file=str(path))
    if (
        Path(args.out).resolve() == BASE_PARAMETERS_FILE.resolve()
        or Path(args.out).resolve() == Path(args.base_params).resolve()
    ):
        raise InputError(
            "calibration never overwrites the base (hand-set) parameter file; choose another --out",
            file=str(args.out),
            key="--out",
        )
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
    )


def run_calibrate(args: argparse.Namespace) -> int:
    """The ``calibrate`` verb: 0 on success. Bad input raises `InputError` (the CLI turns it into exit 2)."""
    config = config_from_args(args)
    done = run(config)
    a = done.analysis
    rows = a.fit_rows()
    inside = sum(1 for r in rows if r["inside"])
    print(
        f"wrote {_relative(done.parameter_file)} (objective {done.result.evaluation.energy:.4g}, "
        f"{inside}/{len(rows)} targets inside their band in the baseline run)"
    )
    if done.report_dir is not None:
        print(f"wrote {_relative(done.report_dir)}/REPORT.md ({done.wall_time_s:.0f} s in all)")
    return 0
