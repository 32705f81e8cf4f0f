"""Parameter recovery: does the calibration find parameters it knows, and do its 90% intervals hold them?

A few free parameters get known values (the truth), every other parameter its base value. Then, for each of R
replications:

1. **pseudo-data**: the model's figures at the truth on one fresh seed (`calibration.seeds.recovery_seeds`: a
   realisation no fit ever sees, as the world is one realisation), plus normal noise with a standard deviation of
   half each target's tolerance (the data error the uncertainty method assumes: a band of about two standard
   deviations), drawn from a generator of its own; a figure the realisation leaves undefined is left out;
2. **refit**: the recovered parameters calibrated back against the pseudo-data of their group's targets, with
   the calibration's objective (weights, tolerances) and optimiser on its common seeds, not told the truth: a
   smaller budget than the main fit (the first `Budget.recovery_seeds` seeds, population and generations of
   `Budget.recovery_*`), then one Gauss-Newton step from the best candidate, kept when it lowers the objective;
3. **interval**: each parameter's 90% interval by the fit report's own method (`calibration.uncertainty`).

For each parameter: the bias and spread of the estimates and the **coverage**, how often the interval holds the
truth (90% if the intervals are right). A parameter whose interval covers nearly the whole search range (median
width at least `NOT_IDENTIFIED` of it) is **not identified**: the targets cannot tell its values apart. One whose
intervals hold the truth in fewer than `MIN_COVERAGE` of the replications has intervals too narrow, and the check
fails. Unlike pseudo-data generated on the calibration's own seeds without noise, where the truth scores zero,
this check can fail: through the seeds' noise, the data's noise, the optimiser's budget and the linearisation
behind the intervals.

The replications' candidates run on the same common seeds, so a candidate evaluated for one replication is
reused by the others (the first generation, a Latin hypercube of the optimiser's seed, is shared by all).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from calibration.moments import months_needed
from calibration.objective import PENALTY, Evaluation, Problem, evaluate_candidate, seed_mean
from calibration.optimise import Evaluator, SearchSpace, search
from calibration.seeds import recovery_noise, recovery_seeds
from calibration.targets import GROUPS, FreeParameter
from calibration.uncertainty import (
    NOT_IDENTIFIED,
    identification_label,
    interval90,
    jacobian_from,
    jacobian_points,
    problem_tol,
    sandwich_se,
)
from sim.api import Executor

# Known values: interior points of the search ranges, away from the hand-set values, of three of the firms'
# fitted parameters (pinned down mainly by the LFP share, the cell price and margins, and the two shares).
RECOVERY_TRUTH = {
    "suining_cost_factor_lfp": 1.05,
    "processing_fee_cell": 1.6e8,
    "competitiveness_elasticity": 5.0,
}
QUICK_RECOVERY = ("suining_cost_factor_lfp", "processing_fee_cell")
NOISE_SD = 0.5  # standard deviation of the data noise, in tolerances (a band of about +-2 standard deviations)
MIN_COVERAGE = 0.7  # fewer intervals holding the truth fails the check (10 replications at 90%: P(<= 6) = 1.3%)


class SharedEvaluator(Evaluator):
    """An `Evaluator` whose model runs are shared by every replication: the moments of a candidate depend on the
    parameters and the common seeds only, the objective on the replication's pseudo-data."""

    def __init__(self, problem: Problem, space: SearchSpace, executor: Executor, shared: dict) -> None:
        super().__init__(problem, space, executor)
        self.shared = shared

    def run(self, xs: Iterable[np.ndarray]) -> list[Evaluation]:
        """The evaluations of ``xs``, running on the executor only those no replication has run yet."""
        xs = [np.asarray(x, dtype=float) for x in xs]
        keys = [self.space.key(x) for x in xs]
        todo = {}
        for k, x in zip(keys, xs, strict=True):
            if k not in self.shared and k not in todo:
                todo[k] = x
        if todo:
            results = self.executor.map(evaluate_candidate, [self.problem] * len(todo), list(todo.values()))
            self.shared.update(zip(todo, results, strict=True))
            self.evaluations += len(todo)
        return [self.shared[k] for k in keys]

    def energy(self, ev: Evaluation) -> float:
        return PENALTY if ev.failures else self.problem.objective(seed_mean(ev.moments))

    def evaluate(self, xs: Iterable[np.ndarray]) -> list[float]:
        xs = list(xs)
        out = []
        for x, ev in zip(xs, self.run(xs), strict=True):
            key = self.space.key(x)
            self.cache[key] = ev
            self.energies[key] = self.energy(ev)
            out.append(self.energies[key])
        return out


@dataclass
class Replication:
    """One refit: its estimate, 90% interval and objective.

    Attributes:
        estimate: the refit's values, in the recovery's order of parameters.
        low90: lower ends of the 90% intervals.
        high90: upper ends.
        objective: the objective at the estimate (against this replication's pseudo-data).
        generations: the optimiser's generations.
        gauss_newton: whether the Gauss-Newton step was kept.
        targets: pseudo-targets the realisation defined (the others are left out).
    """

    estimate: np.ndarray
    low90: np.ndarray
    high90: np.ndarray
    objective: float
    generations: int
    gauss_newton: bool
    targets: int


@dataclass
class RecoveryResult:
    """Truth, bounds and the replications of a recovery run.

    Attributes:
        names: the recovered parameters.
        truth: their known values.
        low: lower search bounds.
        high: upper search bounds.
        replications: the refits.
        seeds: calibration seeds per candidate.
        popsize: population per parameter of each refit.
        maxiter: generations of each refit.
        evaluations: model evaluations in all (shared candidates counted once).
        wall_time_s: time spent.
    """

    names: tuple[str, ...]
    truth: np.ndarray
    low: np.ndarray
    high: np.ndarray
    replications: list[Replication] = field(default_factory=list)
    seeds: int = 0
    popsize: int = 0
    maxiter: int = 0
    evaluations: int = 0
    wall_time_s: float = 0.0

    @property
    def estimates(self) -> np.ndarray:
        """(replications, parameters)."""
        return np.array([r.estimate for r in self.replications])

    @property
    def covered(self) -> np.ndarray:
        """(replications, parameters): the interval holds the truth."""
        lo = np.array([r.low90 for r in self.replications])
        hi = np.array([r.high90 for r in self.replications])
        return (lo <= self.truth[None, :]) & (self.truth[None, :] <= hi)

    @property
    def width_share(self) -> np.ndarray:
        """(replications, parameters): the interval's width as a share of the search range."""
        lo = np.array([r.low90 for r in self.replications])
        hi = np.array([r.high90 for r in self.replications])
        return (hi - lo) / (self.high - self.low)[None, :]

    def status(self, k: int) -> str:
        """``not identified``, ``intervals too narrow`` or ``intervals hold`` for parameter ``k``."""
        if float(np.median(self.width_share[:, k])) >= NOT_IDENTIFIED:
            return "not identified"
        if float(self.covered[:, k].mean()) < MIN_COVERAGE:
            return "intervals too narrow"
        return "intervals hold"

    @property
    def passed(self) -> bool:
        """No parameter's intervals miss the truth more often than `MIN_COVERAGE` allows."""
        return all(self.status(k) != "intervals too narrow" for k in range(len(self.names)))

    def rows(self) -> list[dict[str, object]]:
        """Per parameter: truth, bias, spread, coverage, median interval width and status."""
        est, span = self.estimates, self.high - self.low
        out = []
        for k, name in enumerate(self.names):
            bias = float(est[:, k].mean() - self.truth[k])
            spread = float(est[:, k].std(ddof=1)) if len(est) > 1 else float("nan")
            width = float(np.median(self.width_share[:, k]))
            out.append(
                {
                    "parameter": name,
                    "truth": float(self.truth[k]),
                    "low": float(self.low[k]),
                    "high": float(self.high[k]),
                    "replications": len(est),
                    "mean_estimate": float(est[:, k].mean()),
                    "bias": bias,
                    "bias_share_of_range": bias / span[k],
                    "spread": spread,
                    "spread_share_of_range": spread / span[k],
                    "coverage90": float(self.covered[:, k].mean()),
                    "median_interval_share_of_range": width,
                    "identification": identification_label(width),
                    "status": self.status(k),
                }
            )
        return out

    def replication_rows(self) -> list[dict[str, object]]:
        """Per replication and parameter: estimate, interval, whether it holds the truth."""
        covered = self.covered
        return [
            {
                "replication": r,
                "parameter": name,
                "truth": float(self.truth[k]),
                "estimate": float(rep.estimate[k]),
                "low90": float(rep.low90[k]),
                "high90": float(rep.high90[k]),
                "covers_truth": bool(covered[r, k]),
                "objective": rep.objective,
                "gauss_newton_step_kept": rep.gauss_newton,
                "targets": rep.targets,
            }
            for r, rep in enumerate(self.replications)
            for k, name in enumerate(self.names)
        ]


def gauss_newton_step(problem: Problem, x: np.ndarray, jac: np.ndarray, mean: np.ndarray, space: SearchSpace):
    """One Gauss-Newton step of the weighted least squares objective from ``x`` (in units of each parameter's
    range, like the sandwich), clipped to the box."""
    span = space.high - space.low
    g = jac * span[None, :]
    w = problem.weights / problem_tol(problem) ** 2
    gap = np.where(np.isfinite(mean), mean - problem.values, 0.0)
    a = g.T @ (w[:, None] * g)
    step = -np.linalg.pinv(a, rcond=1e-10, hermitian=True) @ (g.T @ (w * gap))
    return space.clip(x + step * span)


def recover(
    problem: Problem,
    free: list[FreeParameter],
    executor: Executor,
    *,
    master: int,
    truth: dict[str, float] | None = None,
    replications: int = 10,
    seeds: int = 3,
    popsize: int = 1,
    maxiter: int = 5,
    tol: float = 1e-4,
    de_seed: int = 7,
) -> RecoveryResult:
    """Generate pseudo-data at known parameter values on fresh seeds, add noise, and calibrate them back, many
    times.

    Args:
        problem: the real calibration problem (scenarios, base values, targets' tolerances and weights, seeds).
        free: the free-parameter declarations (bounds).
        executor: where evaluations run.
        master: the master seed of the calibration's seed sets.
        truth: parameter name -> known value (default `RECOVERY_TRUTH`).
        replications: refits, each on its own pseudo-data.
        seeds: calibration seeds per candidate (the first ``seeds`` of the problem's).
        popsize: population per parameter of each refit.
        maxiter: generations of each refit.
        tol: the optimiser's convergence tolerance.
        de_seed: the optimiser's seed (the same for every replication: its first generation is shared).
    """
    started = time.perf_counter()
    truth = dict(truth or RECOVERY_TRUTH)
    bounds = {p.name: p for p in free}
    missing = [n for n in truth if n not in bounds]
    if missing:
        raise ValueError(f"recovery parameters without declared bounds: {missing}")
    names = tuple(truth)
    integer = tuple(bounds[n].integer for n in names)
    true_params = problem.base.replace(**truth)
    # the targets of the scenarios that fit these parameters (the firms' on baseline, the market's on
    # baseline_market), with their tolerances and weights
    scenarios = {GROUPS[bounds[n].group] for n in names}
    keep = [k for k, s in enumerate(problem.specs) if s.scenario in scenarios]
    if not keep:
        raise ValueError(f"no target of scenario(s) {sorted(scenarios)} to recover {names} from")
    specs = tuple(problem.specs[k] for k in keep)
    lows, highs, weights = problem.tolerance_low[keep], problem.tolerance_high[keep], problem.weights[keep]

    def at(values: np.ndarray, w: np.ndarray, seed_list) -> Problem:
        return Problem(
            problem.scenario,
            true_params,
            names,
            integer,
            specs,
            values,
            lows,
            highs,
            w,
            tuple(seed_list),
            months_needed(specs),
            problem.scenarios,
        )

    x_true = np.array([truth[n] for n in names], dtype=float)
    data_seeds = recovery_seeds(master, replications)
    world = executor.map(evaluate_candidate, [at(problem.values[keep], weights, data_seeds)], [x_true])[0]
    if world.failures:
        raise RuntimeError(f"the model failed at the recovery truth:\n{world.failures[0]}")
    space = SearchSpace(
        low=np.array([bounds[n].low for n in names]),
        high=np.array([bounds[n].high for n in names]),
        integer=np.array(integer),
    )
    fit_seeds = problem.seeds[:seeds]
    tolerance = (lows + highs) / 2.0
    shared: dict = {}
    evaluations = 1
    result = RecoveryResult(
        names, x_true, space.low, space.high, seeds=len(fit_seeds), popsize=popsize, maxiter=maxiter
    )
    for r in range(replications):
        realised = world.moments[r]
        defined = np.isfinite(realised)
        noise = recovery_noise(master, r).normal(0.0, NOISE_SD * tolerance)
        pseudo = at(np.where(defined, realised + noise, 0.0), np.where(defined, weights, 0.0), fit_seeds)
        evaluator = SharedEvaluator(pseudo, space, executor, shared)
        found = search(pseudo, space, evaluator, popsize=popsize, maxiter=maxiter, tol=tol, de_seed=de_seed)
        best = evaluator.lookup(found.x)
        points = jacobian_points(found.x, space.low, space.high, space.integer)
        jac = jacobian_from(points, [ev.mean for ev in evaluator.run(points)])
        x_gn = gauss_newton_step(pseudo, found.x, jac, best.mean, space)
        energy_gn = evaluator.evaluate([x_gn])[0]
        kept = energy_gn < found.energy
        estimate, energy = (x_gn, energy_gn) if kept else (found.x, found.energy)
        at_estimate = evaluator.lookup(estimate)
        se, _ = sandwich_se(pseudo, jac, at_estimate.moments, space.high - space.low)
        lo, hi = interval90(estimate, se, space.low, space.high)
        evaluations += evaluator.evaluations
        result.replications.append(
            Replication(estimate, lo, hi, float(energy), found.generations, bool(kept), int(defined.sum()))
        )
    result.evaluations = evaluations
    result.wall_time_s = time.perf_counter() - started
    return result
