"""Random draws of firms: the synthetic rest of China at the start and the entrants later, one definition.

Every replicate draws from its own streams (`Streams`, spawned from its seed: the population, the projects and
uncertain registry plants, the price shocks, entry, world supply projects, and where new plants go), so a
replicate's draws do not depend on the batch it runs in. Draws are standard variates taken up front;
`firm_attributes` turns them into sizes and costs with the current parameters, and an integrated salt maker's
mining cost comes from the domestic supply cohorts' cost curve (`mine_cost_quantile`). docs/model.md,
"Initialisation" and "Stochasticity".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special

STREAMS = ("population", "projects", "shocks", "entry", "supply", "location")


@dataclass
class Streams:
    """One generator per source of randomness of one replicate (spawned, not offset: a lever that changes one
    source, say the project pipeline, leaves the others' draws untouched)."""

    population: np.random.Generator
    projects: np.random.Generator
    shocks: np.random.Generator
    entry: np.random.Generator
    supply: np.random.Generator
    location: np.random.Generator  # where new plants go (spawned last: the others' draws are unchanged by it)

    @classmethod
    def spawn(cls, seed: np.random.SeedSequence) -> Streams:
        # spawn from a copy: SeedSequence.spawn advances the caller's object, and the same seed given twice
        # must give the same run
        fresh = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
        return cls(*map(np.random.default_rng, fresh.spawn(len(STREAMS))))


def stratified_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    """n standard normal draws, one from each of n equal-probability strata, in random order.

    A small population keeps the distribution's spread without depending on a lucky draw: the variance of
    Suining's shares across seeds comes from the model, not the sampling.
    """
    u = (rng.permutation(n) + rng.random(n)) / n
    return special.ndtri(u)


def mean_one_lognormal(z: np.ndarray, sd: float) -> np.ndarray:
    """``exp(-sd^2/2 + sd z)``: a lognormal with mean one from standard normal draws."""
    return np.exp(-sd * sd / 2.0 + sd * z)


@dataclass
class FirmDraws:
    """Standard variates of a set of firms (any leading shape)."""

    size: np.ndarray  # standard normal
    cost: np.ndarray  # standard normal
    energy: np.ndarray  # standard normal
    owns: np.ndarray  # uniform
    own_cost: np.ndarray  # standard normal


def mine_cost_quantile(costs: list[tuple[float, float, float]], processing: float) -> Callable:
    """The quantile function of domestic mines' cash cost of feedstock, yuan/t LCE excl. conversion.

    ``costs`` are the domestic supply cohorts' ``(cost_low, cost_high, weight)``: each cohort's units spread
    evenly between its bounds (incl. conversion, as ``supply_cohorts.csv`` states them), weighted by capacity.
    A converter that owns such a mine pays the cohort cost less its own processing (``processing``, yuan/t LCE),
    at least a tenth of the cohort cost.
    """
    grid = np.linspace(min(c[0] for c in costs), max(c[1] for c in costs), 513)
    cdf = sum(w * np.clip((grid - lo) / max(hi - lo, 1e-9), 0.0, 1.0) for lo, hi, w in costs)
    cdf = cdf / cdf[-1]

    def quantile(u: np.ndarray) -> np.ndarray:
        cost = np.interp(u, cdf, grid)
        return np.maximum(cost - processing, 0.1 * cost)

    return quantile


def firm_attributes(
    draws: FirmDraws,
    params,
    conversion_cost: float,
    energy_cost: float,
    integrated: bool,
    size_sd: float,
    mine_cost: Callable | None = None,
) -> dict[str, np.ndarray]:
    """Costs and ownership of drawn firms from their variates and the parameters (yuan per unit).

    Conversion and energy costs are mean-one lognormal multiples (sd ``cost_dispersion``) of the stage's
    parameter; a share ``integrated_share`` of salt makers own their feedstock (a domestic brine or lepidolite
    mine), at a mining cost drawn from the domestic supply cohorts' cost curve (``mine_cost``, see
    `mine_cost_quantile`); sizes are mean-one lognormal multiples with ``size_sd``.
    """
    sd = params.cost_dispersion
    owns = integrated & (draws.owns < (params.integrated_share if integrated else 0.0))
    own_cost = (
        mine_cost(special.ndtr(draws.own_cost)) if integrated and mine_cost is not None else np.zeros(draws.owns.shape)
    )
    return {
        "size": mean_one_lognormal(draws.size, size_sd),
        "conversion_cost": conversion_cost * mean_one_lognormal(draws.cost, sd),
        "energy_cost": energy_cost * mean_one_lognormal(draws.energy, sd),
        "owns_feedstock": owns,
        "own_feedstock_cost": np.where(owns, own_cost, 0.0),
    }


def draw_population(rng: np.random.Generator, n: int) -> FirmDraws:
    """The synthetic firms of one replicate and stage at the start: stratified draws."""
    owns = (rng.permutation(n) + 0.5) / n  # exactly round(share x n) firms integrated, in random order
    return FirmDraws(
        size=stratified_normal(rng, n),
        cost=stratified_normal(rng, n),
        energy=stratified_normal(rng, n),
        owns=owns,
        own_cost=stratified_normal(rng, n),
    )


def draw_entrants(rng: np.random.Generator, quarters: int, per_quarter: int) -> tuple[np.ndarray, FirmDraws]:
    """Entrants of one replicate and stage: a uniform per quarter (the count) and variates per potential firm."""
    shape = (quarters, per_quarter)
    return rng.random(quarters), FirmDraws(
        size=rng.standard_normal(shape),
        cost=rng.standard_normal(shape),
        energy=rng.standard_normal(shape),
        owns=rng.random(shape),
        own_cost=rng.standard_normal(shape),
    )


def stack(draws: list[FirmDraws]) -> FirmDraws:
    """Draws of several replicates stacked on a new leading axis."""
    return FirmDraws(
        *(np.stack([getattr(d, f) for d in draws]) for f in ("size", "cost", "energy", "owns", "own_cost"))
    )
