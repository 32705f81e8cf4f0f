"""Where a new plant goes in the reference model: one decider's discrete choice among the clusters (docs/model.md,
"Submodels: investment, entry and exit").

For a decider with conversion and energy cost ``conv``, ``e`` (at the rest of China's conditions) and ``l`` workers
per unit/yr, at cluster c (``hf_c`` Suining's fitted residual factor at Suining, else 1)::

    U_c = conv + freight_c + e x power_c x (1 - cut_c) + l x wage x wage_c + capex x land_c x (1 - subsidy_c) x annuity
          + (hf_c - 1) x (conv + e x power_c x (1 - cut_c))
    V_c = -location_cost_elasticity x (U_c / min_k U_k - 1) + location_home_bias x [group has a plant in c]
          + location_agglomeration x ln(max(share of the stage and its neighbours in c, 1e-3))
          + location_time_value x (months of construction c's ready land saves)
    P_c = exp(V_c) / sum_k exp(V_k)        over the clusters that host the stage

with ``cut_c`` and ``subsidy_c`` the energy support and capex subsidy cluster c's policy offers now (the rest of
China's local incentives count as a capex subsidy there: ``1 - (1 - subsidy)(1 - local_incentive_share)``),

and the decider draws with two uniforms (`draw`): home (Suining) or elsewhere, then which cluster elsewhere.
"""

from __future__ import annotations

import math


def agglomeration(model, stage_key: str) -> list[float]:
    """ln of each cluster's weight in a stage and its neighbours along the chain: half its share of the stage's
    national capacity, half its mean share of the adjacent firm stages' (suppliers and customers nearby)."""
    k = len(model.data.clusters.keys)

    def shares(key: str) -> list[float]:
        firms = model.firms[key]
        total = sum(f.capacity for f in firms)
        by = [sum(f.capacity for f in firms if f.cluster == c) for c in range(k)]
        return [b / total if total > 0 else 0.0 for b in by]

    stage = model.chain[stage_key]
    adjacent = [
        s.key
        for s in model.chain.firm_stages
        if s.key != stage_key
        and (any(i.stage == s.key for i in stage.inputs) or any(i.stage == stage_key for i in s.inputs))
    ]
    own = shares(stage_key)
    if adjacent:
        near_shares = [shares(a) for a in adjacent]
        near = [sum(s[c] for s in near_shares) / len(adjacent) for c in range(k)]
    else:
        near = own
    return [math.log(max(0.5 * own[c] + 0.5 * near[c], 1e-3)) for c in range(k)]


def choose(model, stage, month: int, conversion: float, energy: float, labour: float, home: list[bool], u: float):
    """The cluster (index) a decider picks for a new plant (see the module docstring)."""
    p = model.params
    site = model.sites[stage.key]
    policies = [pol for _, pol in sorted(model.policies(month).items())]
    capex = p.of(stage, "capex")
    annuity = p.investment_hurdle + 1.0 / p.depreciation_years
    weight = model.agglomeration_weight(stage.key, month)
    lag_cut = model.lag_cuts(month)
    costs = []
    for c, pol in enumerate(policies):
        cut = pol.value("energy_support", "cost_cut") if month >= pol.start("energy_support") else 0.0
        subsidy = pol.value("investment_support", "capex_subsidy") if month >= pol.start("investment_support") else 0.0
        if c == model.reference_cluster:  # the rest of China's local incentives lower its capex, as when built
            subsidy = 1.0 - (1.0 - subsidy) * (1.0 - p.local_incentive_share)
        unit = (
            conversion
            + site["logistics"][c]
            + energy * site["energy"][c] * (1.0 - cut)
            + labour * p.annual_wage * site["wage"][c]
            + capex * site["capex"][c] * (1.0 - subsidy) * annuity
        )
        home_factor = p.of(stage, "suining_cost_factor") if c == 0 else 1.0
        costs.append(unit + (home_factor - 1.0) * (conversion + energy * site["energy"][c] * (1.0 - cut)))
    allowed = site["allowed"]
    cheapest = min(cost for cost, ok in zip(costs, allowed, strict=True) if ok)
    utility = []
    for c, cost in enumerate(costs):
        relative = cost / max(cheapest, 1e-9) - 1.0
        value = (
            -p.location_cost_elasticity * relative
            + p.location_home_bias * home[c]
            + p.location_agglomeration * weight[c]
            + p.location_time_value * lag_cut[c]
        )
        utility.append(value if allowed[c] else -math.inf)
    best = max(utility)
    expo = [math.exp(v - best) for v in utility]
    total = sum(expo)
    probabilities = [value / total for value in expo]
    return draw(probabilities, u)


def draw(probabilities: list[float], u: tuple[float, float], home: int = 0) -> int:
    """The cluster picked with two uniform draws: the first decides between the home city (cluster ``home``) and
    elsewhere (home when it falls below home's probability), the second which cluster elsewhere, by their
    probabilities given elsewhere (the first whose cumulative share exceeds it). So a home incentive only moves
    deciders to the home city, and a rival's only moves them away from it or among the rivals."""
    k = len(probabilities)
    if u[0] < probabilities[home]:
        return home
    rest = [0.0 if c == home else value for c, value in enumerate(probabilities)]
    total = sum(rest)
    cumulative, other = 0.0, 0
    for value in rest:
        cumulative += value / total if total > 0 else 0.0
        if cumulative <= u[1]:
            other += 1
    other = min(other, k - 1)
    return min(home + 1, k - 1) if other == home else other  # home has no width here: never picked
