"""Parameter recovery: can the calibration find parameters it knows?

Pick a few free parameters and give them known values (the truth), hold the others at the base values,
generate pseudo-targets from the model at the truth on the calibration's seeds, then calibrate only those
parameters against the pseudo-targets of their group's scenario (as the calibration fits them), with the real
targets' tolerances and weights, the same objective and the same optimiser (not told the truth: the initial
population is a Latin hypercube). Recovery
succeeds when every estimate lies within `RECOVERY_TOLERANCE` of the truth, as a fraction of the
parameter's search range.

The pseudo-targets carry no data error and the seeds are common, so the truth has objective zero: a
failure here is a failure of identification or of the optimiser's budget, not of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.moments import months_needed
from calibration.objective import Problem, evaluate_candidate
from calibration.optimise import Evaluator, SearchResult, SearchSpace, search
from calibration.targets import GROUPS, FreeParameter
from sim.api import Executor

# Known values: interior points of the search ranges, away from the hand-set values, of three of the firms'
# fitted parameters (pinned down mainly by the LFP share, the cell price and margins, and the two shares).
RECOVERY_TRUTH = {
    "suining_cost_factor_lfp": 1.05,
    "processing_fee_cell": 1.6e8,
    "competitiveness_elasticity": 5.0,
}
QUICK_RECOVERY = ("suining_cost_factor_lfp", "processing_fee_cell")
RECOVERY_TOLERANCE = 0.10  # largest accepted |estimate - truth| as a fraction of the search range


@dataclass
class RecoveryResult:
    """Truth, estimates and errors of a recovery run.

    Attributes:
        names: the recovered parameters.
        truth: their known values.
        estimate: the calibration's estimates.
        low: lower search bounds.
        high: upper search bounds.
        tolerance: the accepted error, fraction of the range.
        objective: the objective at the estimate (zero at the truth).
        search: the optimiser's outcome.
        seeds: replicates per candidate.
    """

    names: tuple[str, ...]
    truth: np.ndarray
    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    tolerance: float
    objective: float
    search: SearchResult
    seeds: int

    @property
    def error(self) -> np.ndarray:
        """|estimate - truth| as a fraction of the search range."""
        return np.abs(self.estimate - self.truth) / (self.high - self.low)

    @property
    def passed(self) -> bool:
        return bool(np.all(self.error <= self.tolerance))

    def rows(self) -> list[dict[str, object]]:
        return [
            {
                "parameter": n,
                "truth": float(t),
                "estimate": float(e),
                "low": float(lo),
                "high": float(hi),
                "error_share_of_range": float(err),
                "within_tolerance": bool(err <= self.tolerance),
            }
            for n, t, e, lo, hi, err in zip(
                self.names, self.truth, self.estimate, self.low, self.high, self.error, strict=True
            )
        ]


def recover(
    problem: Problem,
    free: list[FreeParameter],
    executor: Executor,
    *,
    truth: dict[str, float] | None = None,
    seeds: int = 10,
    popsize: int = 8,
    maxiter: int = 20,
    tol: float = 1e-4,
    de_seed: int = 7,
    tolerance: float = RECOVERY_TOLERANCE,
) -> RecoveryResult:
    """Generate pseudo-targets at known parameter values and calibrate them back.

    Args:
        problem: the real calibration problem (scenario, base values, targets' tolerances, seeds).
        free: the free-parameter declarations (bounds).
        executor: where evaluations run.
        truth: parameter name -> known value (default `RECOVERY_TRUTH`).
        seeds: replicates per candidate (the first ``seeds`` of the problem's seeds).
        popsize: population per parameter.
        maxiter: generations.
        tol: the optimiser's convergence tolerance.
        de_seed: the optimiser's seed.
        tolerance: accepted error as a fraction of the range.
    """
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
    low, high, weights = problem.tolerance_low[keep], problem.tolerance_high[keep], problem.weights[keep]
    generating = Problem(
        problem.scenario,
        true_params,
        names,
        integer,
        specs,
        problem.values[keep],
        low,
        high,
        weights,
        problem.seeds[:seeds],
        months_needed(specs),
        problem.scenarios,
    )
    x_true = np.array([truth[n] for n in names], dtype=float)
    at_truth = executor.map(evaluate_candidate, [generating], [x_true])[0]
    if at_truth.failures:
        raise RuntimeError(f"the model failed at the recovery truth:\n{at_truth.failures[0]}")
    pseudo = Problem(
        problem.scenario,
        true_params,
        names,
        integer,
        specs,
        at_truth.moments.mean(axis=0),
        low,
        high,
        weights,
        problem.seeds[:seeds],
        months_needed(specs),
        problem.scenarios,
    )
    space = SearchSpace(
        low=np.array([bounds[n].low for n in names]),
        high=np.array([bounds[n].high for n in names]),
        integer=np.array(integer),
    )
    evaluator = Evaluator(pseudo, space, executor)
    found = search(pseudo, space, evaluator, popsize=popsize, maxiter=maxiter, tol=tol, de_seed=de_seed)
    return RecoveryResult(names, x_true, found.x, space.low, space.high, tolerance, found.energy, found, seeds)
