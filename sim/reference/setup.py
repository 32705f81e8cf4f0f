"""The reference model's set-up: exactly the batched engine's initial state for one replicate.

The engine draws everything random up front (the rest of China's firms, the pipeline built, the price shocks,
entrants, locations, supply projects; docs/model.md, "Initialisation" and "Stochasticity"). `copy_setup` builds
a `sim.engine.model.LithiumModel` for one seed and copies, before its first month: every plant's state (its
column of the stage's book) into one agent each, the calendar of scheduled capacity and spending, the quarter's
entrant and location draws, the supply cohorts and the world market's state. The reference then runs its own
months from there, so comparing the two tests the monthly rules, not the draws.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from mesa.agent import AgentSet

from agents.book import book_fields
from sim.engine.model import LithiumModel
from sim.reference.firms import firm_class
from sim.reference.markets import StageMarket
from sim.reference.world import Cohort, WorldMarket


def _plain(value):
    """A numpy scalar as a Python float, int or bool."""
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return float(value)


def copy_setup(model, engine: LithiumModel) -> None:
    """Give ``model`` (a `sim.reference.model.ReferenceModel`) replicate 0 of ``engine``'s initial state."""
    if engine.steps != 0 or engine.replicates != 1:
        raise ValueError("the reference starts from a fresh engine model of one replicate")
    p = engine.params
    model.scenario, model.params, model.chain, model.data = engine.scenario, p, engine.chain, engine.data
    model.n_months = engine.n_months
    model.market_mode = engine.market_mode
    model.demand = {name: [float(v) for v in series] for name, series in engine.demand.items()}
    model.quote_path = [float(v) for v in engine.quote_path[0]]
    model.price_shock = [float(v) for v in engine.price_shock[0]]
    model.cluster_policies = engine.cluster_policies
    model.reference_cluster = engine._reference
    model.sites = {
        key: {
            "energy": [float(v) for v in site.energy],
            "logistics": [float(v) for v in site.logistics],
            "wage": [float(v) for v in site.wage],
            "capex": [float(v) for v in site.capex],
            "allowed": [bool(v) for v in site.allowed],
        }
        for key, site in engine.sites.items()
    }

    # the plants: one agent per column of each stage's book
    state_names = list(book_fields())
    model.firms, model.stage_sets, model.markets = {}, {}, {}
    model.entrant_slots, model.next_entrant, model.new_plant_columns, model.group_plants = {}, {}, {}, {}
    model.entrant_draws, model.entrant_sites, model.site_draws, model.mine_cost = {}, {}, {}, {}
    for stage in engine.chain.firm_stages:
        key = stage.key
        book = engine.books[key]
        cols = book.columns
        registry = [f for f in engine.data.registry if f.segment == key]
        firms = []
        for j in range(len(cols)):
            identity = {
                "firm_id": cols.firm_id[j],
                "name": cols.name[j],
                "role": cols.role[j],
                "cluster": int(cols.cluster[j]),
                "group": int(cols.group[j]),
                "listed_parent": bool(cols.listed_parent[j]),
                "tier": cols.tier[j],
                "energy_location": float(cols.energy_location[j]),
                "logistics": float(cols.logistics[j]),
                "wage_location": float(cols.wage_location[j]),
                "capex_location": float(cols.capex_location[j]),
            }
            state = {name: _plain(getattr(book, name)[0, j]) for name in state_names}
            firm = firm_class(key)(model, stage, j, identity, state)
            if j < len(registry):
                firm.registered = registry[j]
            firms.append(firm)
        model.firms[key] = firms
        model.stage_sets[key] = AgentSet(firms, random=model.random)
        model.markets[key] = StageMarket(stage, firms, p, float(engine.tightness[key][0]))
        start = engine._entrant_start[key]
        model.entrant_slots[key] = firms[start:]
        model.next_entrant[key] = int(engine._next_entrant[key][0])
        model.new_plant_columns[key] = dict(engine._aggregate_col[key])
        model.group_plants[key] = [[[int(j) for j in plants] for plants in by_c] for by_c in engine._group_cols[key]]
        counts, draws = engine._entrants[key]
        model.entrant_draws[key] = {
            "count": [float(u) for u in counts[0]],
            **{name: getattr(draws, name)[0].tolist() for name in ("size", "cost", "energy", "owns", "own_cost")},
        }
        model.entrant_sites[key] = engine._entrant_sites[key][0].tolist()
        model.site_draws[key] = engine._site_draws[key][0].tolist()
        model.mine_cost[key] = engine._mine_cost(stage)

    # the world: supply cohorts and the market's state
    model.world = None
    if engine.world is not None:
        world, book = engine.world, engine.world.book
        cohorts = []
        for k, data in enumerate(book.cohorts):
            paths = {
                "base_capacity": book.base_capacity[:, k].tolist(),
                "cost_low_path": book.cost_low_path[:, k].tolist(),
                "cost_high_path": book.cost_high_path[:, k].tolist(),
            }
            state = {
                name: float(getattr(book, name)[0, k])
                for name in ("added", "ramping", "ramp_months_left", "running", "building")
            }
            state["price_linked"] = float(book.price_linked[k])
            cohorts.append(Cohort(model, k, data, paths, state))
        pinned = None if world.pinned is None else [float(v) for v in world.pinned[0]]
        state = {name: float(getattr(world, name)[0]) for name in ("price", "expected", "smoothed", "last_target")}
        if not math.isnan(float(world.inventory[0])):
            raise ValueError("the world market's stocks are set in its first month")
        model.world = WorldMarket(model, cohorts, world.events, pinned, state)

    # the calendar: capacity arriving and spending starting or stopping, by month, plant by plant
    firms_of = model.firms
    model.events = defaultdict(list)
    for month, events in sorted(engine.events.items()):
        for event in events:
            for i, (row, col) in enumerate(zip(event.rows, event.cols, strict=True)):
                if row != 0:
                    continue
                if event.stage == "lithium_supply":
                    model.events[month].append(("arrive", model.world.cohorts[col], {"amount": float(event.amount[i])}))
                    continue
                agent = firms_of[event.stage][col]
                if event.kind == "spend":
                    changes = {
                        "capex_rate": float(event.amount[i]),
                        "subsidy_rate": 0.0 if event.subsidy is None else float(event.subsidy[i]),
                        "funded_rate": 0.0 if event.funded is None else float(event.funded[i]),
                    }
                    model.events[month].append(("spend", agent, changes))
                else:
                    model.events[month].append((event.kind, agent, {"amount": float(event.amount[i])}))

    # market state carried between months
    model.sodium_share = float(engine.sodium_share[0])
    model.smoothed_quote = float(engine.smoothed_quote[0])
    model.last_cell_ratio = float(engine.last_cell_ratio[0])
    model.forwards = {}
