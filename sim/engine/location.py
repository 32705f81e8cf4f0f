"""Where a plant is, and where a new one goes: the clusters' cost conditions and the choice of a location.

Every plant sits in a cluster (`sim.inputs.clusters`): Suining, its rivals, or the rest of China. What running it
there costs differs from the rest of China's (the reference, where the national tiers' costs apply) by the
cluster's power price, freight to its feedstock and its customers, wages and land (`sites`). Every new plant, a
group's expansion or an entrant, picks a cluster by a discrete choice (multinomial logit; docs/model.md,
"Submodels: investment, entry and exit"):

    V_c = -location_cost_elasticity x (U_c / min_k U_k - 1)          the expected unit cost, net of incentives
          + location_home_bias x [the group already has a plant in c]
          + location_agglomeration x ln(the cluster's share of the stage and of its suppliers and customers)
          + location_time_value x (months of construction the cluster's ready land saves)

``U_c`` counts conversion, energy at the cluster's power price less its energy support, freight, wages, and capex
(with land) less its capex subsidy at an annuity. Pure functions over arrays: ``(R, M, K)`` for R replicates, M
deciders and K clusters, or flat ``(E, K)`` for E deciders; the uniform draws that pick a cluster come from each
replicate's own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.inputs.chain import Stage
from sim.inputs.clusters import REFERENCE, ClusterData


@dataclass(frozen=True)
class Sites:
    """A stage's clusters as places to run a plant, each ``(K,)`` in the clusters' order."""

    keys: tuple[str, ...]
    energy: np.ndarray  # power price over the reference's
    logistics: np.ndarray  # yuan per unit of output: freight beyond the reference's (negative when nearer)
    wage: np.ndarray  # wage over the reference's
    capex: np.ndarray  # capex over the reference's (land)
    allowed: np.ndarray  # bool: the cluster hosts the stage (its main segments; the rest of China always)

    def index(self, key: str) -> int:
        return self.keys.index(key)


def sites(clusters: ClusterData, stage: Stage, params) -> Sites:
    """The clusters' cost conditions for a stage's plants, relative to the rest of China."""
    key = stage.key
    energy, logistics, wage, capex, allowed = [], [], [], [], []
    rate = params.freight_rate
    inbound, outbound = params.of(stage, "freight_in"), params.of(stage, "freight_out")
    for cluster in clusters.clusters:
        c = cluster.key
        energy.append(clusters.relative(c, "electricity_price", key))
        wage.append(clusters.relative(c, "annual_wage", key))
        land = clusters.relative(c, "land_price", key)
        capex.append(1.0 + params.land_share_of_capex * (land - 1.0))
        extra_in = clusters.condition(c, "distance_to_feedstock_km", key) - clusters.condition(
            REFERENCE, "distance_to_feedstock_km", key
        )
        extra_out = clusters.condition(c, "distance_to_customers_km", key) - clusters.condition(
            REFERENCE, "distance_to_customers_km", key
        )
        logistics.append(rate * (inbound * extra_in + outbound * extra_out))
        allowed.append(c == REFERENCE or key in cluster.segments or not cluster.segments)
    return Sites(
        keys=clusters.keys,
        energy=np.array(energy),
        logistics=np.array(logistics),
        wage=np.array(wage),
        capex=np.array(capex),
        allowed=np.array(allowed, dtype=bool),
    )


def unit_costs(
    conversion: np.ndarray,
    energy: np.ndarray,
    labour: np.ndarray,
    site: Sites,
    annual_wage: float,
    capex: float,
    annuity: float,
    energy_cut: np.ndarray,
    capex_subsidy: np.ndarray,
) -> np.ndarray:
    """Expected unit cost of a new plant at each cluster, ``(..., K)`` yuan per unit at full use.

    Args:
        conversion, energy: the deciders' conversion and energy cost at the reference, ``(...)`` yuan/unit.
        labour: workers per unit/yr, ``(...)``.
        energy_cut, capex_subsidy: each cluster's energy support and capex subsidy on offer now, ``(K,)``.
        annuity: capital charge per yuan of capex a year (the hurdle plus depreciation).
    """
    return (
        conversion[..., None]
        + site.logistics
        + energy[..., None] * site.energy * (1.0 - energy_cut)
        + np.asarray(labour)[..., None] * annual_wage * site.wage
        + capex * site.capex * (1.0 - capex_subsidy) * annuity
    )


def agglomeration(capacity: dict[str, np.ndarray], cluster: dict[str, np.ndarray], stage: str, adjacent, k: int):
    """ln of each cluster's weight in a stage and its neighbours along the chain, ``(R, K)``: half its share of the
    stage's national capacity, half its mean share of the adjacent stages' (suppliers and customers nearby).

    Args:
        capacity: stage key -> (R, N) capacity of its plants.
        cluster: stage key -> (N,) the plants' cluster codes.
        adjacent: the keys of the stages that sell to or buy from ``stage`` (firm stages only).
    """

    def shares(key: str) -> np.ndarray:
        cap = capacity[key]
        total = cap.sum(axis=-1, keepdims=True)
        by = np.stack([np.where(cluster[key] == c, cap, 0.0).sum(axis=-1) for c in range(k)], axis=-1)
        return np.divide(by, total, out=np.zeros_like(by), where=total > 0)

    own = shares(stage)
    near = sum(shares(a) for a in adjacent) / len(adjacent) if adjacent else own
    return np.log(np.maximum(0.5 * own + 0.5 * near, 1e-3))


def choice_probabilities(
    unit_cost: np.ndarray,
    home: np.ndarray,
    weight: np.ndarray,
    lag_cut: np.ndarray,
    allowed: np.ndarray,
    params,
) -> np.ndarray:
    """The multinomial-logit probability of each cluster, ``(..., K)`` (see the module docstring).

    Args:
        unit_cost: `unit_costs`, ``(..., K)``, one row per decider.
        home: whether the decider's group already has a plant in each cluster, ``(..., K)``.
        weight: `agglomeration` of each decider's replicate, ``(..., K)``.
        lag_cut: months of construction each cluster's ready land saves now, ``(K,)``.
        allowed: the clusters that host the stage, ``(K,)``.
    """
    cheapest = np.where(allowed, unit_cost, np.inf).min(axis=-1, keepdims=True)
    relative = unit_cost / np.maximum(cheapest, 1e-9) - 1.0
    utility = (
        -params.location_cost_elasticity * relative
        + params.location_home_bias * home
        + params.location_agglomeration * weight
        + params.location_time_value * lag_cut
    )
    utility = np.where(allowed, utility, -np.inf)
    utility = utility - utility.max(axis=-1, keepdims=True)
    expo = np.exp(utility)
    return expo / expo.sum(axis=-1, keepdims=True)


def draw(probabilities: np.ndarray, uniforms: np.ndarray, home: int = 0) -> np.ndarray:
    """The cluster each decider picks, ints, from two uniforms per decider (``uniforms[..., 0]`` and ``[..., 1]``).

    The first decides between the home city (cluster ``home``) and elsewhere: home when it falls below home's
    probability. The second picks among the others, by their probabilities given "elsewhere" (the first cluster
    whose cumulative share exceeds it). So the draws couple across scenarios as the planner's question needs:
    a home incentive (home's probability up, the others' down in proportion, as a logit does) only moves deciders
    to the home city, and a rival's incentive only moves them away from it or among the rivals.
    """
    k = probabilities.shape[-1]
    p_home = probabilities[..., home]
    rest = np.where(np.arange(k) == home, 0.0, probabilities)
    total = rest.sum(axis=-1, keepdims=True)
    cumulative = np.cumsum(np.divide(rest, total, out=np.zeros_like(rest), where=total > 0), axis=-1)
    other = np.minimum((cumulative <= uniforms[..., 1:2]).sum(axis=-1), k - 1)
    other = np.where(other == home, np.minimum(home + 1, k - 1), other)  # home's zero width: never picked here
    return np.where(uniforms[..., 0] < p_home, home, other)
