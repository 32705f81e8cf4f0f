"""A quarter's investment in the reference model: incumbents' orders, where each plant goes, entry into the rest of
China, and building (docs/model.md, "Submodels: investment, entry and exit").

At the end of each quarter, stage by stage:

1. **Orders** (`invest`). Every plant plans its order (`sim.reference.firms.Firm.plan_investment`); a named group
   decides once for all its plants (its first plant carries the group's order) and counts as at home wherever it
   has a plant.
2. **Placement** (`place`), one decider after another in column order (the order matters: new firms take the free
   entrant slots in turn): the decider picks a cluster (`sim.reference.location.choose`, with its own two uniform
   draws of the quarter); the order goes to its own plant if it picks its own cluster, else to its group's largest
   plant there, else to the cluster's column of new plants for its tier (or its entrants' column), else, in the
   rest of China, to a new firm in the next free entrant slot (at the decider's costs and expectations). A
   cluster's column of new plants that an expansion opens keeps the expectations it formed in the run's first
   month (its own margin then): unlike a new firm, it takes none from the decider.
3. **Entry** (`enter`). With ``rbar`` the rest of China's incumbents' capacity-weighted expected return, ``n =
   Poisson quantile of the quarter's uniform at entry_rate x min(rbar - entrant_hurdle, entry_excess_cap) / 0.1``
   entrants (at most ``max_entrants_per_quarter``), each of the median incumbent's size times a drawn multiple,
   at drawn costs; each picks a cluster as above (at home nowhere) and takes a slot in the rest of China or joins
   the cluster's column of entrants' plants.
4. **Building** (`order`): ``completion_rate`` of an order is built, in three tranches after ``(1 - lag_spread)``,
   1 and ``(1 + lag_spread)`` times the construction lag (not before ``first_endogenous_arrival``); its capex is
   spent evenly from next month over ``round(lag x (1 + lag_spread))`` months, the firm paying its share and the
   government the rest.
"""

from __future__ import annotations

import math
import statistics

from scipy import special

from sim.reference.location import choose


def stage_utilization(firms: list) -> float:
    """The stage's capacity-weighted mean quarterly utilisation over the plants in business with capacity."""
    running = [f for f in firms if f.active and f.capacity > 0]
    total = sum(f.capacity for f in running)
    return sum(f.capacity * f.utilization_q for f in running) / total if total > 0 else 0.0


def lag_months(model, stage, firm, month: int) -> int:
    """Construction lag of a plant, months: the stage's, less the months its cluster's ready land saves (at least
    one), rounded."""
    lag = max(model.params.of(stage, "construction_lag") - model.lag_cuts(month)[firm.cluster], 1.0)
    return max(int(round(lag)), 1)


def order(model, stage, firm, amount: float, month: int) -> None:
    """A plant ordered now at ``firm`` (see the module docstring, step 4)."""
    p = model.params
    built = amount * p.completion_rate
    cost = built * p.of(stage, "capex") * firm.capex_location
    # the rest of China's local incentives (a rival city's are its own policy, in capex_factor)
    local = 1.0 - p.local_incentive_share if firm.cluster == model.reference_cluster else 1.0
    own = cost * firm.capex_factor * local
    subsidy = cost - own
    lag = lag_months(model, stage, firm, month)
    spend_months = max(int(round(lag * (1.0 + p.lag_spread))), 1)
    rate, paid_by_government = own / spend_months, subsidy / spend_months
    firm.capex_rate += rate
    firm.subsidy_rate += paid_by_government
    model.schedule(month + 1 + spend_months, "spend", firm, capex=-rate, subsidy=-paid_by_government)
    for factor in (1.0 - p.lag_spread, 1.0, 1.0 + p.lag_spread):
        arrive = max(month + max(int(round(lag * factor)), 1), p.first_endogenous_arrival)
        model.schedule(arrive, "arrive", firm, amount=built / 3.0)
    firm.year["ordered"] = firm.year.get("ordered", 0.0) + built


def take_slot(model, stage):
    """The next free entrant slot of the stage (None when all are taken: the entry is blocked)."""
    slots = model.entrant_slots[stage.key]
    n = model.next_entrant[stage.key]
    if n >= len(slots):
        model.count(f"entry_blocked_{stage.key}")
        return None
    model.next_entrant[stage.key] = n + 1
    return slots[n]


def place(model, stage, month: int, decider, amount: float, home: list[bool]) -> None:
    """Place one decider's order where it picks (see the module docstring, step 2)."""
    p = model.params
    firms = model.firms[stage.key]
    hf = p.of(stage, "suining_cost_factor") if decider.cluster == 0 else 1.0
    u = model.site_draws[stage.key][month // 3][decider.column]
    picked = choose(
        model, stage, month, decider.conversion_cost / hf, decider.energy_cost / hf, decider.labour, home, u
    )
    target = None
    if picked == decider.cluster:
        target = decider
    elif decider.group < len(model.group_plants[stage.key]):
        plants = model.group_plants[stage.key][decider.group][picked]
        if plants:  # the group's largest plant in the picked cluster (the first, if none has capacity)
            target = firms[max(plants, key=lambda j: firms[j].capacity if firms[j].active else 0.0)]
    if target is None:
        columns = model.new_plant_columns[stage.key]
        j = columns.get((picked, decider.tier), columns.get((picked, "entrant")))
        target = firms[j] if j is not None else None
    if target is None:  # the rest of China: a new firm in an entrant slot, at the decider's costs
        target = take_slot(model, stage)
        if target is None:
            return
        target.conversion_cost = decider.conversion_cost / hf
        target.energy_cost = decider.energy_cost / hf
        target.start(decider.expected_margin)
    target.active = True  # in business from now (a cluster's new-plant column opens; a group's closed plant reopens)
    order(model, stage, target, amount, month)


def invest(model, stage, month: int, price: float) -> None:
    """This quarter's expansions of the stage's plants (see the module docstring, steps 1-2)."""
    firms = model.firms[stage.key]
    capex = model.params.of(stage, "capex")
    utilization = stage_utilization(firms)
    # every plant plans on its own: the order does not matter
    model.stage_sets[stage.key].shuffle_do("plan_investment", price, capex, utilization)
    for f in firms:
        if f.planned > 0:
            model.count(f"orders_{stage.key}")
    # a named group decides once for all its plants: its first plant carries the group's order
    deciding = {f: f.planned for f in firms}
    home = {f: [c == f.cluster for c in range(len(model.data.clusters.keys))] for f in firms}
    for g, by_cluster in enumerate(model.group_plants[stage.key]):
        members = [f for f in firms if f.group == g]
        total = sum(f.planned for f in members)
        for f in members:
            deciding[f] = 0.0
        deciding[members[0]] = total
        home[members[0]] = [len(plants) > 0 for plants in by_cluster]
    for f in firms:  # in column order: new firms take the entrant slots in turn
        if deciding[f] > 0:
            place(model, stage, month, f, deciding[f], home[f])


def poisson_quantile(u: float, rate: float) -> int:
    """The least n with P(N <= n) >= u for N Poisson with mean ``rate``."""
    n, term = 0, math.exp(-rate)
    cumulative = term
    while cumulative < u and term > 0:
        n += 1
        term *= rate / n
        cumulative += term
    return n


def enter(model, stage, month: int, price: float) -> None:
    """New firms when the rest of China's expected return clears the entrants' hurdle (module docstring, step 3)."""
    p = model.params
    firms = model.firms[stage.key]
    capex = p.of(stage, "capex")
    incumbents = [f for f in firms if f.active and f.cluster == model.reference_cluster and f.capacity > 0]
    if p.entry_rate <= 0 or not incumbents:
        return
    utilization = stage_utilization(firms)
    total = sum(f.capacity for f in incumbents)
    mean_return = sum(f.capacity * f.expected_return(price, capex, utilization) for f in incumbents) / total
    excess = mean_return - p.entrant_hurdle
    rate = p.entry_rate * min(excess, p.entry_excess_cap) / 0.1 if excess > 0 else 0.0
    q = month // 3
    entrants = model.entrant_draws[stage.key]
    n = poisson_quantile(entrants["count"][q], max(rate, 1e-12)) if rate > 0 else 0
    most = p.max_entrants_per_quarter
    for _ in range(max(n - most, 0)):
        model.count(f"entry_blocked_{stage.key}")
    n = min(n, most)
    if n == 0:
        return
    median = statistics.median(f.capacity for f in incumbents)
    expected = sum(f.capacity * f.expected_margin for f in incumbents) / total
    integrated = stage.key == "lithium_salt"
    mine_cost = model.mine_cost[stage.key]
    placed = []
    for k in range(n):
        size = median * lognormal(entrants["size"][q][k], p.entrant_size_sd)
        conversion = p.of(stage, "conversion_cost") * lognormal(entrants["cost"][q][k], p.cost_dispersion)
        energy = p.of(stage, "energy_cost") * lognormal(entrants["energy"][q][k], p.cost_dispersion)
        owns = integrated and entrants["owns"][q][k] < p.integrated_share
        own_cost = 0.0
        if owns and mine_cost is not None:
            own_cost = float(mine_cost(special.ndtr(entrants["own_cost"][q][k])))
        home = [False] * len(model.data.clusters.keys)
        u = model.entrant_sites[stage.key][q][k]
        picked = choose(model, stage, month, conversion, energy, p.of(stage, "labour"), home, u)
        if picked == model.reference_cluster:  # a new firm in a slot
            target = take_slot(model, stage)
            if target is None:
                continue
            target.conversion_cost, target.energy_cost = conversion, energy
            target.owns_feedstock, target.own_feedstock_cost = owns, own_cost
            target.own_share = 1.0 if owns else 0.0
            target.start(expected)
        else:  # the cluster's column of entrants' plants
            j = model.new_plant_columns[stage.key].get((picked, "entrant"))
            if j is None:
                continue
            target = firms[j]
            if not target.active:
                target.start(expected)
        placed.append((target, size))
    for target, size in placed:
        order(model, stage, target, size, month)
    model.count(f"entrants_{stage.key}", n)


def lognormal(z: float, sd: float) -> float:
    """A mean-one lognormal multiple from a standard normal draw: ``exp(-sd^2 / 2 + sd z)``."""
    return math.exp(-sd * sd / 2.0 + sd * z)


def expand_supply(model, month: int) -> None:
    """The supply cohorts' orders this quarter, online after ``mine_construction_lag`` months."""
    world = model.world
    orders = world.expansion(month)
    arrive = month + int(round(model.params.mine_construction_lag))
    for cohort in world.cohorts:
        if orders[cohort] > 0:
            model.schedule(arrive, "arrive", cohort, amount=orders[cohort])
            cohort.building += orders[cohort]
