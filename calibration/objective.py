"""The simulated-method-of-moments objective with common random numbers.

A `Problem` fixes everything but the free parameters: the scenario, the base parameters, the moments and
their targets, and the replicate seeds. Every candidate is evaluated on the same seeds (common random
numbers), so differences between candidates are differences of parameters, not of luck.

The objective is

    J(theta) = sum_k weight_k * z_k(theta)^2,   z_k = (mean_r m_k(theta, seed_r) - target_k) / tolerance_k,

with the tolerance on the side of the gap (``tolerance_low`` below the target, ``tolerance_high`` above).
|z_k| <= 1 means the model's mean lies in target k's band. The mean over seeds is the run summary's: over the
seeds where the figure is defined. A replicate that fails, or a moment that no seed defines (nan), gives the
candidate a large finite penalty, so the optimiser moves away from it; the error text is kept with the
evaluation.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

import numpy as np

from calibration.moments import MomentSpec, months_needed, simulate_moments
from calibration.targets import FreeParameter, Target
from sim.api import ModelParams, Scenario

PENALTY = 1e9  # objective of a candidate whose replicates fail or whose moments are undefined


@dataclass(frozen=True, eq=False)
class Problem:
    """A calibration problem: the map from free-parameter values to moments and the objective.

    Attributes:
        scenario: the baseline calibration scenario (its history years carry most targets).
        base: values of all parameters not being fitted.
        names: the free parameters, in the order of the vector ``x``.
        integer: which of them are whole numbers (rounded before use).
        specs: the model figures compared with targets.
        values: the targets, one per spec.
        tolerance_low: band below each target.
        tolerance_high: band above each target.
        weights: weight of each target in the objective.
        seeds: the fixed replicate seeds (common random numbers).
        months: months each replicate is stepped (through December of the last target year).
        scenarios: every scenario a target names (``spec.scenario``), by name; ``baseline`` is ``scenario``.
    """

    scenario: Scenario
    base: ModelParams
    names: tuple[str, ...]
    integer: tuple[bool, ...]
    specs: tuple[MomentSpec, ...]
    values: np.ndarray
    tolerance_low: np.ndarray
    tolerance_high: np.ndarray
    weights: np.ndarray
    seeds: tuple[np.random.SeedSequence, ...]
    months: int
    scenarios: dict = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        scenario: Scenario,
        base: ModelParams,
        free: list[FreeParameter],
        targets: list[Target],
        seeds: list[np.random.SeedSequence],
        scenarios: dict | None = None,
    ) -> Problem:
        """The problem of fitting the ``fit`` parameters of ``free`` to the fitted ``targets`` (used, kind
        ``fitted``; inputs, identities and held-out targets never enter the objective).

        ``scenarios`` maps the other scenario names targets use (e.g. ``baseline_market``) to scenarios.
        """
        fitted = [p for p in free if p.fit]
        used = [t for t in targets if t.fitted]
        specs = tuple(t.spec for t in used)
        return cls(
            scenario=scenario,
            base=base,
            names=tuple(p.name for p in fitted),
            integer=tuple(p.integer for p in fitted),
            specs=specs,
            values=np.array([t.value for t in used]),
            tolerance_low=np.array([t.tolerance_low for t in used]),
            tolerance_high=np.array([t.tolerance_high for t in used]),
            weights=np.array([t.weight for t in used]),
            seeds=tuple(seeds),
            months=months_needed(specs),
            scenarios={"baseline": scenario, **(scenarios or {})},
        )

    def params_at(self, x: np.ndarray) -> ModelParams:
        """The full parameter set with the free parameters at ``x`` (whole numbers rounded)."""
        changes = {}
        for name, value, whole in zip(self.names, np.asarray(x, dtype=float), self.integer, strict=True):
            changes[name] = float(np.round(value)) if whole else float(value)
        return self.base.replace(**changes)

    def z(self, mean_moments: np.ndarray) -> np.ndarray:
        """Gap of each mean moment from its target, in units of the tolerance on that side."""
        gap = np.asarray(mean_moments, dtype=float) - self.values
        return gap / np.where(gap > 0, self.tolerance_high, self.tolerance_low)

    def objective(self, mean_moments: np.ndarray) -> float:
        """J = sum of weight x z^2; `PENALTY` when a moment is undefined."""
        z = self.z(mean_moments)
        if not np.all(np.isfinite(z)):
            return PENALTY
        return float(np.sum(self.weights * z * z))

    def with_specs(
        self, specs: tuple[MomentSpec, ...], seeds: tuple[np.random.SeedSequence, ...] | None = None
    ) -> Problem:
        """Same scenario and parameters, other figures (no targets: the objective is not defined)."""
        nan = np.full(len(specs), np.nan)
        return Problem(
            self.scenario,
            self.base,
            self.names,
            self.integer,
            specs,
            nan,
            nan,
            nan,
            nan,
            self.seeds if seeds is None else seeds,
            months_needed(specs),
            self.scenarios,
        )

    def with_free(self, base: ModelParams, names: tuple[str, ...], integer: tuple[bool, ...]) -> Problem:
        """Same targets and seeds, another base and set of free parameters."""
        return Problem(
            self.scenario,
            base,
            names,
            integer,
            self.specs,
            self.values,
            self.tolerance_low,
            self.tolerance_high,
            self.weights,
            self.seeds,
            self.months,
            self.scenarios,
        )

    def __call__(self, x: np.ndarray) -> float:
        """The objective at ``x`` (scipy's interface); see `evaluate_candidate` for the moments too."""
        return evaluate_candidate(self, x).energy


@dataclass
class Evaluation:
    """One candidate evaluated on every seed.

    Attributes:
        x: the free-parameter values.
        moments: (seeds, specs) array; nan rows for failed replicates.
        energy: the objective (`PENALTY` if anything failed).
        failures: error text of failed replicates.
    """

    x: np.ndarray
    moments: np.ndarray
    energy: float
    failures: list[str] = field(default_factory=list)

    @property
    def mean(self) -> np.ndarray:
        """Mean over seeds of each moment, as the run summary takes it (`seed_mean`)."""
        return seed_mean(self.moments)


def seed_mean(moments: np.ndarray) -> np.ndarray:
    """Mean over seeds (axis 0) of the seeds where a figure is defined, as the run summary's mean; nan where no
    seed defines it (a tier that made nothing has no gross margin)."""
    moments = np.asarray(moments, dtype=float)
    finite = np.isfinite(moments)
    count = finite.sum(axis=0)
    total = np.where(finite, moments, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def evaluate_candidate(problem: Problem, x: np.ndarray) -> Evaluation:
    """Run every seed at ``x`` (one batch per scenario the targets name) and compute the moments and the
    objective (a worker task: importable, pure)."""
    x = np.asarray(x, dtype=float)
    moments = np.full((len(problem.seeds), len(problem.specs)), np.nan)
    failures: list[str] = []
    try:
        params = problem.params_at(x)
    except Exception:  # an invalid candidate is recorded, not raised: the optimiser moves on
        return Evaluation(x, moments, PENALTY, [traceback.format_exc()])
    scenarios = problem.scenarios or {"baseline": problem.scenario}
    for name in dict.fromkeys(spec.scenario for spec in problem.specs):
        columns = [k for k, spec in enumerate(problem.specs) if spec.scenario == name]
        specs = tuple(problem.specs[k] for k in columns)
        try:
            moments[:, columns] = simulate_moments(scenarios[name], params, problem.seeds, specs, months_needed(specs))
        except Exception:
            failures.append(traceback.format_exc())
    if failures:
        return Evaluation(x, moments, PENALTY, failures)
    energy = problem.objective(seed_mean(moments)) if np.all(np.isfinite(problem.values)) else float("nan")
    return Evaluation(x, moments, energy, failures)
