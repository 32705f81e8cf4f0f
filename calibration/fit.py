"""Fitting the free parameters to the targets (the ``lithium-sim calibrate`` command is `calibration.command`).

Simulated method of moments with common random numbers (docs/model.md and calibration/README.md), by groups
(``group`` in ``free_parameters.toml``):

1. ``firms``: the firms' parameters against the targets of scenario ``baseline`` (``scenarios/baseline.toml``:
   the carbonate price path as it happened);
2. ``market``: the market mode's parameters against the targets of scenario ``baseline_market``
   (``scenarios/baseline_market.toml``: the carbonate price cleared by world supply, stocks and demand), the
   firms' fitted values held.

Every candidate runs the group's scenario once, as one batch of the same replicate seeds
(``SeedSequence(seed, spawn_key=(CALIBRATION_KEY,)).spawn(n)`` with the scenario's master seed: seeds of
their own, never a run's replicates, `calibration.seeds`), through December of the group's last target year;
the objective (`calibration.objective`) is minimised by differential evolution (`calibration.optimise`,
``polish=False``), checkpointed every generation, one checkpoint per group. Only targets of kind ``fitted``
enter the objective (``kind`` in ``targets.toml``: inputs and identities are reported, never fitted).
``through`` fits only the targets up to that year (a backtest scores the later ones).
The result is written atomically to ``calibration/calibrated.toml``, which every scenario then uses by
default, and the fit report to ``calibration/report/`` (`calibration.report`).

Held parameters (``fit = false``) and every parameter not listed keep their values from the base file,
``calibration/parameters.toml`` (hand-set, never overwritten by calibration).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calibration.objective import Evaluation, Problem, evaluate_candidate
from calibration.optimise import (
    Evaluator,
    SearchResult,
    SearchSpace,
    atomic_write_text,
    population_size,
    progress_bar,
    search,
)
from calibration.seeds import SPAWN_KEYS, calibration_seeds, describe
from calibration.targets import (
    CALIBRATION_DIR,
    FREE_PARAMETERS_FILE,
    GROUPS,
    KINDS,
    TARGETS_FILE,
    FreeParameter,
    Target,
    check_base,
    check_units,
    load_free_parameters,
    load_targets,
)
from sim.api import (
    BASE_YEAR,
    PARAMETERS,
    Executor,
    InputError,
    ModelParams,
    Scenario,
    code_version,
    load_param_file,
    load_scenario,
    project_root,
    simulate_metrics,
    toml_table,
)

ROOT = project_root()
BASELINE_SCENARIO = ROOT / "scenarios" / "baseline.toml"
MARKET_SCENARIO = ROOT / "scenarios" / "baseline_market.toml"
BASE_PARAMETERS_FILE = CALIBRATION_DIR / "parameters.toml"
CALIBRATED_FILE = CALIBRATION_DIR / "calibrated.toml"
REPORT_DIR = CALIBRATION_DIR / "report"
DE_SEED = 20240521  # the optimiser's own seed (mutation, crossover, initial population); part of the record
SIGNIFICANT_DIGITS = 6  # fitted values are written with this many significant digits


@dataclass(frozen=True)
class Budget:
    """How much work a calibration does.

    Attributes:
        name: ``quick`` (tests, notebooks: seconds) or ``default`` (about 3 minutes on 2 cores, report included).
        seeds: common-random-number replicates per candidate.
        popsize: differential-evolution population per free parameter of a group.
        maxiter: generations after the initial population, per group.
        tol: a group's search stops when the population's objective values have a standard deviation within
            this fraction of their mean (scipy's ``tol`` criterion).
        sensitivity: ``morris``, ``sobol`` or ``none`` (global sensitivity of headline outcomes).
        morris_trajectories: Morris trajectories (evaluations: trajectories x (parameters + 1)).
        sobol_samples: Sobol base sample, a power of two (evaluations: samples x (parameters + 2)).
        sensitivity_seeds: replicates per sensitivity point.
        headline_year: the year of the headline outcomes in the sensitivity analysis: ``end`` (the scenario's last
            year: full runs) or ``targets`` (the last target year: shorter runs, for the quick budget).
        jacobian: compute the moments' Jacobian (identification and parameter uncertainty).
        recovery: run the parameter-recovery check.
        recovery_seeds: calibration seeds per candidate in the recovery's refits.
        recovery_popsize: their population per parameter.
        recovery_maxiter: their generations.
        recovery_replications: refits, each on its own pseudo-data (fresh seeds and noise).
        out_of_sample: replicates on seeds the fit never saw (the fit table's out-of-sample columns, the
            backtest's scores).
        backtest: run the rolling-origin backtest (fit through each year with data but the last, score the next).
        backtest_popsize: its population per parameter.
        backtest_maxiter: its generations per group.
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
    headline_year: str
    jacobian: bool
    recovery: bool
    recovery_seeds: int
    recovery_popsize: int
    recovery_maxiter: int
    recovery_replications: int
    out_of_sample: int
    backtest: bool
    backtest_popsize: int
    backtest_maxiter: int


QUICK = Budget(
    "quick",
    seeds=2,
    popsize=1,
    maxiter=1,
    tol=0.01,
    sensitivity="morris",
    morris_trajectories=2,
    sobol_samples=8,
    sensitivity_seeds=1,
    headline_year="targets",
    jacobian=True,
    recovery=True,
    recovery_seeds=2,
    recovery_popsize=1,
    recovery_maxiter=1,
    recovery_replications=2,
    out_of_sample=3,
    backtest=True,
    backtest_popsize=1,
    backtest_maxiter=1,
)
DEFAULT = Budget(
    "default",
    seeds=10,
    popsize=2,
    maxiter=60,
    tol=0.05,
    sensitivity="morris",
    morris_trajectories=4,
    sobol_samples=32,
    sensitivity_seeds=2,
    headline_year="end",
    jacobian=True,
    recovery=True,
    recovery_seeds=10,
    recovery_popsize=1,
    recovery_maxiter=5,
    recovery_replications=10,
    out_of_sample=20,
    backtest=True,
    backtest_popsize=2,
    backtest_maxiter=10,
)


@dataclass(frozen=True)
class CalibrationConfig:
    """Everything a calibration reads and writes.

    Attributes:
        scenario: the firms' calibration scenario (scenario ``baseline`` of the targets).
        market_scenario: the market mode's calibration scenario (``baseline_market``).
        targets: the targets file.
        free_parameters: the free-parameter file.
        base_parameters: values of held and unlisted parameters (never overwritten).
        out: the calibrated parameter file to write.
        report_dir: the report directory (None: no report).
        checkpoint: the optimiser's checkpoint; each group's is named after it (default:
            ``.<out stem>.checkpoint.<group>.json`` beside ``out``).
        budget: how much work.
        seed: master seed of the calibration's seed sets (None: the baseline scenario's); each set has its own
            spawn key (`calibration.seeds`).
        de_seed: the optimiser's seed.
        workers: local worker processes (None: the CPU count; 1: this process).
        scheduler: a Dask scheduler address (overrides ``workers``).
        resume: resume from matching checkpoints.
        progress: show progress bars and messages on standard error.
        through: fit only the targets up to this year (None: all).
    """

    scenario: Path = BASELINE_SCENARIO
    market_scenario: Path = MARKET_SCENARIO
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
    through: int | None = None

    def checkpoint_path(self, tag: str) -> Path:
        """The checkpoint of one search (``tag``: the group, and the backtest's year when it is one)."""
        base = (
            Path(self.checkpoint)
            if self.checkpoint
            else Path(self.out).with_name(f".{Path(self.out).stem}.checkpoint.json")
        )
        return base.with_name(f"{base.stem}.{tag}{base.suffix or '.json'}")


@dataclass
class Setup:
    """A loaded calibration: inputs checked, the whole problem built.

    Attributes:
        config: what was asked.
        scenarios: the calibration scenarios by the name targets use (``baseline``, ``baseline_market``).
        base: the base parameters (held and unlisted values).
        base_table: the base file's ``[parameters]`` table.
        targets: every target on record.
        free: every declared free parameter.
        seeds: the common replicate seeds (`calibration.seeds.calibration_seeds`).
        problem: all fitted parameters against every fitted target up to ``through`` (the objective reported).
        space: its search box.
        units: (scenario, region, segment, metric) -> the summary's unit, from a short run of each scenario.
    """

    config: CalibrationConfig
    scenarios: dict[str, Scenario]
    base: ModelParams
    base_table: dict[str, Any]
    targets: list[Target]
    free: list[FreeParameter]
    seeds: list[np.random.SeedSequence]
    problem: Problem
    space: SearchSpace
    units: dict[tuple[str, str, str, str], str] = field(default_factory=dict)

    @property
    def scenario(self) -> Scenario:
        return self.scenarios["baseline"]

    @property
    def fitted(self) -> list[FreeParameter]:
        return [p for p in self.free if p.fit]

    @property
    def master(self) -> int:
        """The master seed of the calibration's seed sets."""
        return int(self.seeds[0].entropy)

    @property
    def fitted_targets(self) -> list[Target]:
        """The targets in the objective: used, of kind ``fitted``, and up to ``through``."""
        through = self.config.through
        return [t for t in self.targets if t.fitted and (through is None or t.spec.year <= through)]

    @property
    def scored_targets(self) -> list[Target]:
        """Every used target, whatever its kind (the report scores them all, and counts the informative
        ones)."""
        return [t for t in self.targets if t.used]


@dataclass
class GroupResult:
    """One group's search.

    Attributes:
        group: ``firms`` or ``market``.
        scenario: the calibration scenario its targets come from.
        names: its fitted parameters.
        targets: the names of the targets it was fitted to.
        search: the differential-evolution outcome (None when the group was skipped).
        x: the fitted values as written (rounded), in ``names`` order.
        note: why the group was skipped, if it was.
        checkpoint: its checkpoint file.
    """

    group: str
    scenario: str
    names: tuple[str, ...]
    targets: tuple[str, ...]
    search: SearchResult | None
    x: np.ndarray
    note: str = ""
    checkpoint: Path | None = None

    @property
    def converged(self) -> bool:
        return self.search is not None and self.search.converged


@dataclass
class CalibrationResult:
    """A finished calibration (all groups) and the parameters it chose.

    Attributes:
        setup: the loaded calibration.
        groups: each group's search, in the order they ran.
        x: the fitted values as written (rounded to `SIGNIFICANT_DIGITS`), in ``setup.problem.names`` order.
        params: the full parameter set with the fitted values.
        evaluation: the fitted values evaluated on the calibration seeds against every fitted target.
        wall_time_s: search time in this run (excluding the report).
        finished: the date and time the search finished (UTC, ISO 8601).
    """

    setup: Setup
    groups: list[GroupResult]
    x: np.ndarray
    params: ModelParams
    evaluation: Evaluation
    wall_time_s: float
    finished: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @property
    def fitted_values(self) -> dict[str, float]:
        return dict(zip(self.setup.problem.names, (float(v) for v in self.x), strict=True))

    @property
    def converged(self) -> bool:
        """Every group that ran met the tolerance criterion (False when any stopped at its generation cap)."""
        ran = [g for g in self.groups if g.search is not None]
        return bool(ran) and all(g.converged for g in ran)

    @property
    def evaluations(self) -> int:
        return sum(int(g.search.history[-1][2]) for g in self.groups if g.search is not None and g.search.history)


# Threads of the numerical libraries in each worker process. A candidate is many small array operations: with
# OpenBLAS's default of one thread per core, two workers on two cores run four spinning threads and each candidate
# takes over twice as long (measured: 0.20 s against 0.08 s a candidate on 2 workers). Set for the calibration's
# worker processes only when the user has not set them.
WORKER_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def single_threaded_workers() -> Iterator[None]:
    """Worker processes started inside the block use one thread of the numerical libraries each (unless the
    environment says otherwise); the environment is restored after."""
    saved = {k: os.environ.get(k) for k in WORKER_THREAD_VARIABLES}
    for k in WORKER_THREAD_VARIABLES:
        os.environ.setdefault(k, "1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def open_executor(workers: int | None, scheduler: str | None) -> Iterator[Executor]:
    """The calibration's executor (`sim.api.Executor`: this process, local workers or Dask), closed after."""
    with single_threaded_workers():
        executor = Executor(workers, scheduler)
        try:
            yield executor
        finally:
            executor.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fingerprinted_files() -> list[Path]:
    """The files whose content decides a simulated moment: the engine, the inputs and their data, the agents,
    the metrics (and the scoreboard they include), and calibration's moments and objective."""
    patterns = (
        "sim/engine/*.py",
        "sim/inputs/*.py",
        "sim/inputs/data/*.csv",
        "agents/*.py",
        "sim/outputs/metrics.py",
        "sim/outputs/scoreboard.py",
        "calibration/moments.py",
        "calibration/objective.py",
    )
    return sorted({f for pattern in patterns for f in ROOT.glob(pattern) if f.is_file()})


def source_fingerprint() -> str:
    """Hash of the model's code and data and of the moment code: a checkpoint is only valid for these."""
    h = hashlib.sha256()
    for f in fingerprinted_files():
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


def summary_units(scenarios: dict[str, Scenario]) -> dict[tuple[str, str, str, str], str]:
    """The unit of every figure of each calibration scenario's summary, from a one-year run of one replicate."""
    out = {}
    for name, scenario in scenarios.items():
        metrics = simulate_metrics(scenario, scenario.params, [np.random.SeedSequence(0)], months=12)
        out.update({(name, *key): unit for key, (unit, _) in metrics.items()})
    return out


def load_setup(config: CalibrationConfig) -> Setup:
    """Read and check the scenarios, targets, free parameters and base parameters; build the whole problem.

    Raises:
        InputError: naming the file and the key of the first problem.
    """
    targets = load_targets(config.targets)
    free = load_free_parameters(config.free_parameters)
    _, base_table = load_param_file(config.base_parameters)
    scenarios = {
        "baseline": load_scenario(config.scenario, parameter_file=config.base_parameters),
        "baseline_market": load_scenario(config.market_scenario, parameter_file=config.base_parameters),
    }
    if scenarios["baseline_market"].price_mode != "market":
        raise InputError(
            "the market group's scenario must form the carbonate price in the market ([carbonate_price] mode = "
            '"market")',
            file=str(config.market_scenario),
            key="carbonate_price.mode",
        )
    base = scenarios["baseline"].params
    check_base(free, base, str(config.free_parameters))
    units = summary_units(scenarios)
    check_units(targets, units, str(config.targets))
    through = config.through
    if through is not None and not any(t.fitted and t.spec.year <= through for t in targets):
        raise InputError(f"no fitted target is of {through} or earlier", file=str(config.targets), key="--through")
    for name, path in (("baseline", config.scenario), ("baseline_market", config.market_scenario)):
        years = [t.spec.year for t in targets if t.used and t.spec.scenario == name]
        if years and scenarios[name].n_months < (max(years) - BASE_YEAR + 1) * 12:
            raise InputError(f"the scenario ends before the last target year {max(years)}", file=str(path), key="end")
    master = scenarios["baseline"].seed if config.seed is None else config.seed
    seeds = calibration_seeds(master, config.budget.seeds)
    used = [t for t in targets if t.fitted and (through is None or t.spec.year <= through)]
    problem = Problem.build(scenarios["baseline"], base, free, used, seeds, scenarios=scenarios)
    space = search_space([p for p in free if p.fit])
    return Setup(
        config, scenarios, base, dict(base_table.get("parameters", {})), targets, free, seeds, problem, space, units
    )


def search_space(params: list[FreeParameter]) -> SearchSpace:
    return SearchSpace(
        low=np.array([p.low for p in params], dtype=float),
        high=np.array([p.high for p in params], dtype=float),
        integer=np.array([p.integer for p in params], dtype=bool),
    )


def group_problem(
    setup: Setup, group: str, base: ModelParams, through: int | None, seeds: list[np.random.SeedSequence]
) -> tuple[Problem, SearchSpace, list[FreeParameter], list[Target]]:
    """The problem of one group: its fitted parameters against the fitted targets of its scenario up to
    ``through``, every other parameter at ``base``."""
    params = [p for p in setup.free if p.fit and p.group == group]
    targets = [
        t
        for t in setup.targets
        if t.fitted and t.spec.scenario == GROUPS[group] and (through is None or t.spec.year <= through)
    ]
    problem = Problem.build(setup.scenario, base, params, targets, seeds, scenarios=setup.scenarios)
    return problem, search_space(params), params, targets


def checkpoint_config(setup: Setup, problem: Problem, group: str, through: int | None, popsize: int) -> dict[str, Any]:
    """What must be unchanged for a group's checkpoint to be resumed (the generation budget may grow)."""
    c = setup.config
    return {
        "group": group,
        "scenario_files": {name: [list(x) for x in s.lineage] for name, s in setup.scenarios.items()},
        "targets_sha256": _sha256(c.targets),
        "free_parameters_sha256": _sha256(c.free_parameters),
        "base_parameters_sha256": _sha256(c.base_parameters),
        "base": {k: float(v) for k, v in problem.base.to_dict().items()},  # the earlier groups' fitted values
        "source": source_fingerprint(),
        "seed_entropy": str(problem.seeds[0].entropy),
        "seed_spawn_key": list(problem.seeds[0].spawn_key[:-1]),
        "seeds": len(problem.seeds),
        "popsize": popsize,
        "de_seed": c.de_seed,
        "names": list(problem.names),
        "targets": [s.label for s in problem.specs],
        "through": through,
    }


def _round(value: float, whole: bool) -> float:
    if whole:
        return float(round(value))
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def fit_groups(
    setup: Setup,
    executor: Executor,
    *,
    through: int | None,
    seeds: list[np.random.SeedSequence],
    popsize: int,
    maxiter: int,
    tol: float,
    tag: str = "",
    label: str = "calibrate",
) -> tuple[list[GroupResult], ModelParams]:
    """Fit the groups in order, each with the earlier groups' values held; returns the groups and the full
    parameter set. ``tag`` distinguishes the checkpoints of a backtest from the calibration's."""
    config = setup.config
    params = setup.base
    results: list[GroupResult] = []
    for group, scenario in GROUPS.items():
        problem, space, free, targets = group_problem(setup, group, params, through, seeds)
        checkpoint = config.checkpoint_path(f"{tag}{group}")
        if not problem.names or not targets:
            why = "no free parameter to fit" if not problem.names else f"no fitted target of scenario {scenario}"
            if through is not None and problem.names:
                why += f" up to {through}"
            results.append(GroupResult(group, scenario, problem.names, (), None, np.array([]), f"skipped: {why}"))
            continue
        size = population_size(popsize, len(space.low))
        bar = progress_bar(size * (maxiter + 1), f"{label}: {group}", config.progress)
        try:
            evaluator = Evaluator(problem, space, executor, progress=bar.update)
            start = space.clip(np.array([getattr(params, n) for n in problem.names], dtype=float))

            def show(generation: int, best: float, _bar=bar) -> None:
                _bar.set_postfix_str(f"generation {generation}, best objective {best:.4g}")

            def log(message: str, _bar=bar, _group=group) -> None:
                if config.progress:
                    _bar.write(f"{label}: {_group}: {message}", file=sys.stderr)

            found = search(
                problem,
                space,
                evaluator,
                popsize=popsize,
                maxiter=maxiter,
                tol=tol,
                de_seed=config.de_seed,
                start=start,
                checkpoint=checkpoint,
                config=checkpoint_config(setup, problem, group, through, popsize),
                resume=config.resume,
                on_generation=show,
                log=log,
            )
        finally:
            bar.close()
        x = space.clip(np.array([_round(v, w) for v, w in zip(found.x, space.integer, strict=True)]))
        params = problem.params_at(x)
        results.append(
            GroupResult(group, scenario, problem.names, tuple(t.name for t in targets), found, x, checkpoint=checkpoint)
        )
    return results, params


def calibrate(
    config: CalibrationConfig, executor: Executor | None = None, setup: Setup | None = None
) -> CalibrationResult:
    """Fit the free parameters, group by group (no files written but the checkpoints).

    Args:
        config: inputs, outputs and budget.
        executor: where evaluations run (default: from ``config.workers``/``config.scheduler``).
        setup: an already loaded setup for ``config``.
    """
    setup = setup or load_setup(config)
    if executor is None:
        with open_executor(config.workers, config.scheduler) as own:
            return calibrate(config, own, setup)
    started = time.perf_counter()
    b = config.budget
    groups, params = fit_groups(
        setup, executor, through=config.through, seeds=setup.seeds, popsize=b.popsize, maxiter=b.maxiter, tol=b.tol
    )
    x = np.array([getattr(params, n) for n in setup.problem.names], dtype=float)
    evaluation = executor.map(evaluate_candidate, [setup.problem], [x])[0]
    return CalibrationResult(setup, groups, x, setup.problem.params_at(x), evaluation, time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------------------
# the calibrated parameter file
# ---------------------------------------------------------------------------------------------------------
def parameter_values(result: CalibrationResult) -> dict[str, float | int]:
    """The ``[parameters]`` table: every base-file parameter, the fitted ones at their fitted values."""
    setup = result.setup
    fitted = result.fitted_values
    names = [*setup.base_table, *[n for n in fitted if n not in setup.base_table]]
    out: dict[str, float | int] = {}
    for name in names:
        value = fitted.get(name, getattr(result.params, name))
        out[name] = int(round(value)) if PARAMETERS[name].integer else float(value)
    return out


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def parameter_file_text(
    result: CalibrationResult,
    fit_rows: list[dict[str, Any]],
    uncertainty: dict[str, dict[str, float]] | None = None,
) -> str:
    """The calibrated parameter file: provenance, the parameters, the fit and the uncertainty."""
    setup, c = result.setup, result.setup.config
    meta = {
        "kind": "calibrated",
        "date": result.finished,
        "code_version": code_version(),
        "method": "simulated method of moments by groups (firms on scenario baseline, then market on "
        "baseline_market), common random numbers, scipy differential_evolution (polish=False, "
        "updating='deferred')",
        "objective": float(result.evaluation.energy),
        "objective_formula": "sum over fitted targets of weight x ((mean model - target) / tolerance)^2",
        "budget": c.budget.name,
        "through": c.through if c.through is not None else max(t.spec.year for t in setup.fitted_targets),
        "targets_by_kind": {k: sum(1 for t in setup.scored_targets if t.kind == k) for k in KINDS},
        "targets_not_scored": sum(1 for t in setup.targets if not t.used),
        "seed_master": setup.master,
        "seeds": len(setup.seeds),
        "seed_spawn": describe("calibration", n="seeds"),
        "seed_spawn_keys": dict(SPAWN_KEYS),
        "seed_note": "each seed set has its own spawn key, far above any run's replicate index (at most 100,000): "
        "no calibration, out-of-sample or recovery seed is ever a run's replicate seed (calibration/seeds.py)",
        "de_seed": c.de_seed,
        "popsize": c.budget.popsize,
        "tol": c.budget.tol,
        "max_generations": c.budget.maxiter,
        "generations": [g.search.generations if g.search else 0 for g in result.groups],
        "groups": [g.group for g in result.groups],
        "converged": result.converged,
        "groups_converged": [g.converged for g in result.groups],
        "evaluations": result.evaluations,
        "wall_time_s": round(result.wall_time_s, 1),
        "scenario": _relative(c.scenario),
        "scenario_sha256": _sha256(c.scenario),
        "market_scenario": _relative(c.market_scenario),
        "market_scenario_sha256": _sha256(c.market_scenario),
        "targets": _relative(c.targets),
        "targets_sha256": _sha256(c.targets),
        "free_parameters": _relative(c.free_parameters),
        "free_parameters_sha256": _sha256(c.free_parameters),
        "base_parameters": _relative(c.base_parameters),
        "base_parameters_sha256": _sha256(c.base_parameters),
        "source_fingerprint": source_fingerprint(),
        "fitted": list(setup.problem.names),
        "held": [p.name for p in setup.free if not p.fit],
    }
    bounds = {p.name: p for p in setup.free}
    comments = {}
    for name in parameter_values(result):
        unit = PARAMETERS[name].unit
        if name in result.fitted_values:
            b = bounds[name]
            text = f"fitted ({b.group}) in [{b.low:g}, {b.high:g}] {unit}; hand-set {getattr(setup.base, name):g}"
            if uncertainty and name in uncertainty:
                u = uncertainty[name]
                text += f"; 90% {u['low90']:.4g}..{u['high90']:.4g}"
            comments[name] = text
        else:
            comments[name] = f"held at the base value, {unit}"
    header = (
        "# Calibrated parameters, written by `lithium-sim calibrate`. Every scenario uses this file by default.\n"
        "# Do not edit by hand: re-run the calibration; the hand-set values stay in calibration/parameters.toml.\n"
        "# The fit report is in calibration/report/REPORT.md.\n\n"
    )
    parts = [header, toml_table("meta", meta), "", toml_table("parameters", parameter_values(result), comments)]
    for row in fit_rows:
        parts += ["", toml_table(f"fit.{row['target']}", {k: v for k, v in row.items() if k != "target"})]
    for name, u in (uncertainty or {}).items():
        parts += ["", toml_table(f"uncertainty.{name}", u)]
    return "\n".join(parts)


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
