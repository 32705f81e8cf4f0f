"""World lithium supply and its market in the reference model: one `mesa.Agent` per supply cohort, and the world
market's stocks and price (docs/model.md, "Submodels: world lithium supply", "Submodels: world lithium market").

**A cohort** (Australian spodumene, Chilean brine, Chinese lepidolite, recycling, ...) has units whose cash costs
(yuan/t LCE excl. VAT) spread evenly between ``cost_low`` and ``cost_high``; a share ``l`` of the carbonate price
adds to them. Each month, with ``Pbar`` the smoothed quote excl. VAT (`Cohort.curtail`)::

    target  = clip((Pbar (1 - l) / (1 - curtail_loss_tolerance) - cost_low) / (cost_high - cost_low), 0, 1)
              (1 under a restart event; at most the running share under a hold)
    running = max(target, running - 1 / curtail_months)      when the target is below the running share
            = min(target, running + 1 / restart_months)      otherwise
    production = max(available - withheld, 0) x running x supply_operating_rate / 12

and at a quarter's end it takes up its part of the capacity producers lack for the demand they expect
(`Cohort.expansion_order`)::

    order = shortfall x capacity / total capacity x clip((E[P] (1 - l) - mid) / (mine_hurdle x mid), 0, 1)

**The market** (`WorldMarket.step`): demand (converters' and the rest of the world's, plus the chain's
restocking) is served from production, stockpile releases and the social inventory; in market mode what they
cannot cover is unmet and next month's price closes ``price_adjustment`` of the log gap to the clearing price
``T = MC x clip((target_inventory_days / cover)^stock_price_elasticity, min, max)`` (at most ``max_price_move``);
at a price the scenario pins, demand is served in full and the difference is the supply gap.
"""

from __future__ import annotations

import math

import mesa

from sim.reference.accounts import ramp_month

DAYS_PER_MONTH = 365.25 / 12.0


class Cohort(mesa.Agent):
    """One supply cohort, one replicate: its capacity (the data's path plus projects and expansions, ramping up),
    its cost bounds this month and the share of its capacity running.

    Args:
        model: the reference model.
        column: its index among the cohorts (the engine's column).
        data: its `sim.inputs.data.Cohort` (identity, resource, region).
        paths: ``base_capacity``, ``cost_low_path``, ``cost_high_path`` by month (t LCE/yr; yuan/t LCE).
        state: ``added``, ``ramping``, ``ramp_months_left``, ``running``, ``building``, ``price_linked``.
    """

    def __init__(self, model: mesa.Model, column: int, data, paths: dict, state: dict) -> None:
        super().__init__(model)
        self.column = column
        self.cohort = data.cohort
        self.name = data.name
        self.resource = data.resource
        self.region = data.region
        self.base_capacity = paths["base_capacity"]
        self.cost_low_path = paths["cost_low_path"]
        self.cost_high_path = paths["cost_high_path"]
        for name, value in state.items():
            setattr(self, name, value)
        self.at(0)
        self.withheld = 0.0
        self.production = 0.0
        self.order = 0.0

    def at(self, month: int) -> None:
        """This month's cash-cost bounds, yuan/t LCE."""
        self.cost_low = self.cost_low_path[month]
        self.cost_high = self.cost_high_path[month]

    def capacity(self, month: int) -> float:
        """Installed capacity, t LCE/yr."""
        return self.base_capacity[month] + self.added

    def available(self, month: int) -> float:
        """Capacity able to produce (ramping additions pro rata), t LCE/yr."""
        return self.capacity(month) - self.ramping

    def add(self, amount: float, ramp_months: float) -> None:
        """New capacity (a project, an expansion) that ramps up as a firm's plant does."""
        self.added += amount
        if ramp_months > 0:
            self.ramping += amount
            self.ramp_months_left = max(self.ramp_months_left, ramp_months)

    def advance_ramp(self) -> None:
        """One month of ramp-up."""
        self.ramping, self.ramp_months_left = ramp_month(self.ramping, self.ramp_months_left)

    def curtail(self, smoothed_price: float, restart: bool, hold: bool) -> None:
        """Move the running share toward what the smoothed price (excl. VAT) covers (see the module docstring)."""
        p = self.model.params
        covered = smoothed_price * (1.0 - self.price_linked) / (1.0 - p.curtail_loss_tolerance)
        span = max(self.cost_high - self.cost_low, 1e-9)
        target = min(max((covered - self.cost_low) / span, 0.0), 1.0)
        if restart:
            target = 1.0
        elif hold:
            target = min(target, self.running)
        if target < self.running:
            self.running = max(target, self.running - 1.0 / p.curtail_months)
        else:
            self.running = min(target, self.running + 1.0 / p.restart_months)

    def produce(self, month: int) -> float:
        """This month's production, t LCE/month: running capacity able to run, at the operating rate."""
        able = max(self.available(month) - self.withheld, 0.0)
        self.production = able * self.running * self.model.params.supply_operating_rate / 12.0
        return self.production

    def break_even(self) -> tuple[float, float]:
        """The quote (incl. VAT) at which its cheapest and dearest units cover their cash cost, yuan/t LCE."""
        vat = 1.0 + self.model.params.vat_rate
        return vat * self.cost_low / (1.0 - self.price_linked), vat * self.cost_high / (1.0 - self.price_linked)

    def expansion_order(self, shortfall: float, weight: float, expected_price: float) -> float:
        """Capacity it orders this quarter, t LCE/yr: its part (``weight``) of the producers' shortfall, as far as the
        expected price (excl. VAT, net of price-linked costs) has moved from its mid cash cost toward its
        incentive price ``mid x (1 + mine_hurdle)``."""
        p = self.model.params
        mid = 0.5 * (self.cost_low + self.cost_high)
        covered = expected_price * (1.0 - self.price_linked)
        pull = min(max((covered - mid) / (p.mine_hurdle * mid), 0.0), 1.0)
        self.order = shortfall * weight * pull
        return self.order


def marginal_cost(needed: float, cohorts: list[Cohort], able: dict, scarcity_elasticity: float) -> float:
    """The break-even quote of the last unit needed to make ``needed`` t LCE/yr: the supply curve (each cohort's
    able capacity spread evenly between its break-even bounds) inverted at its sorted breakpoints; beyond the whole
    curve, the top break-even times ``(needed / total)^scarcity_elasticity``."""
    bounds = {c: c.break_even() for c in cohorts}

    def supplied(price: float) -> float:
        total = 0.0
        for c in cohorts:
            low, high = bounds[c]
            total += able[c] * min(max((price - low) / max(high - low, 1e-9), 0.0), 1.0)
        return total

    points = sorted([bounds[c][0] for c in cohorts] + [bounds[c][1] for c in cohorts])
    curve = [supplied(price) for price in points]
    total, top = curve[-1], points[-1]
    if needed > total:
        return top * max(needed / total if total > 0 else 1.0, 1.0) ** scarcity_elasticity
    j = min(max(sum(1 for q in curve if q < needed), 1), len(points) - 1)
    q0, q1, p0, p1 = curve[j - 1], curve[j], points[j - 1], points[j]
    return p0 + (p1 - p0) * min(max((needed - q0) / (q1 - q0) if q1 > q0 else 0.0, 0.0), 1.0)


class WorldMarket:
    """The world carbonate market of one replicate: the cohorts, the social inventory, the price.

    Args:
        model: the reference model (parameters, the cohorts' `AgentSet`).
        cohorts: the cohorts, in the engine's column order.
        events: the scenario's supply events (suspensions, export restrictions, restarts, holds, releases).
        pinned: the scenario's quote by month (yuan/t incl. VAT) in path mode; None in market mode.
        state: ``price``, ``expected``, ``smoothed``, ``last_target`` (yuan/t incl. VAT).
    """

    def __init__(self, model, cohorts: list[Cohort], events, pinned: list[float] | None, state: dict) -> None:
        self.model = model
        self.cohorts = cohorts
        self.agents = mesa.agent.AgentSet(cohorts, random=model.random)
        self.events = events
        self.pinned = pinned
        self.price = state["price"]
        self.expected = state["expected"]  # the long-run price mines expect
        self.smoothed = state["smoothed"]  # the price curtailment answers to
        self.last_target = state["last_target"]  # this month's clearing price (for forward prices)
        self.inventory: float | None = None  # set from the first month's demand
        self.chain_stock = 0.0
        self.demand_history: list[float] = []  # the salt demand the price answers to, t LCE/month

    def _events(self, month: int) -> tuple[dict, dict, dict, float]:
        """This month's event effects: withheld capacity, restarts and holds by cohort, released t LCE."""
        by_key = {c.cohort: c for c in self.cohorts}
        withheld = {c: 0.0 for c in self.cohorts}
        restart = {c: False for c in self.cohorts}
        hold = {c: False for c in self.cohorts}
        released = 0.0
        for event in self.events:
            if not event.start <= month <= event.until:
                continue
            if event.kind == "stockpile_release":
                released += event.amount / (event.until - event.start + 1)
                continue
            cohort = by_key[event.cohort]
            if event.kind == "suspension":
                withheld[cohort] += event.capacity
            elif event.kind == "export_restriction":
                withheld[cohort] += event.share * cohort.capacity(month)
            elif event.kind == "restart":
                restart[cohort] = True
            elif event.kind == "hold_curtailment":
                hold[cohort] = True
        return withheld, restart, hold, released

    def withheld_fraction(self, month: int) -> dict[Cohort, float]:
        """The share of each cohort's data capacity that events withhold this month: suspended capacity over the
        cohort's capacity, or an export restriction's share (at most all of it)."""
        by_key = {c.cohort: c for c in self.cohorts}
        out = {c: 0.0 for c in self.cohorts}
        for event in self.events:
            if not event.start <= month <= event.until or event.kind not in ("suspension", "export_restriction"):
                continue
            cohort = by_key[event.cohort]
            if event.kind == "suspension":
                out[cohort] += event.capacity / max(cohort.base_capacity[month], 1.0)
            else:
                out[cohort] += event.share
        return {c: min(value, 1.0) for c, value in out.items()}

    def step(self, month: int, demand: float, price_demand: float) -> dict[str, float]:
        """Produce, serve ``demand`` (t LCE/month) from production and stocks, and in market mode set next
        month's price; ``price_demand`` is the demand for salts the price answers to."""
        p = self.model.params
        if self.inventory is None:
            self.inventory = p.initial_inventory_days * price_demand / DAYS_PER_MONTH
            self.chain_stock = p.chain_stock_days * price_demand / DAYS_PER_MONTH
        # the chain's own stocks follow demand: filling them is demand for salts, emptying them supply
        chain_stock = p.chain_stock_days * price_demand / DAYS_PER_MONTH
        restock = chain_stock - self.chain_stock
        self.chain_stock = chain_stock
        wanted = max(demand + restock, 0.0)
        if self.pinned is not None:
            self.price = self.pinned[month]
        price = self.price
        for cohort in self.cohorts:
            cohort.at(month)
        withheld, restart, hold, released = self._events(month)
        self.demand_history.append(price_demand)

        # each cohort curtails or restarts on its own: the order does not matter
        vat = 1.0 + p.vat_rate
        self.agents.shuffle_do(lambda c: c.curtail(self.smoothed / vat, restart[c], hold[c]))
        for cohort in self.cohorts:
            cohort.withheld = withheld[cohort]
        self.agents.shuffle_do("produce", month)
        production = sum(c.production for c in self.cohorts)
        on_hand = self.inventory + production + released
        if self.pinned is None:
            taken, gap = min(wanted, on_hand), 0.0
        else:
            taken, gap = wanted, max(wanted - on_hand, 0.0)
        stock_change = on_hand + gap - taken - self.inventory
        self.inventory = on_hand + gap - taken
        # buyers and restocking share a shortfall pro rata
        to_buyers = demand * (taken / wanted if wanted > 0 else 1.0)
        able = {c: max(c.available(month) - withheld[c], 0.0) for c in self.cohorts}
        curtailed = sum(able[c] * (1.0 - c.running) + min(withheld[c], c.available(month)) for c in self.cohorts)

        # the clearing price at this month's stocks; in market mode next month's price moves toward it
        needed = price_demand * 12.0 / p.supply_operating_rate
        cost = marginal_cost(needed, self.cohorts, able, p.supply_scarcity_elasticity)
        cover = self.inventory / (price_demand / DAYS_PER_MONTH) if price_demand > 0 else 1e3
        multiple = (p.target_inventory_days / max(cover, 0.1)) ** p.stock_price_elasticity
        self.last_target = cost * min(max(multiple, p.min_price_multiple), p.max_price_multiple)
        if self.pinned is None:
            move = min(
                max(p.price_adjustment * math.log(self.last_target / price), -p.max_price_move), p.max_price_move
            )
            self.price = price * math.exp(move)
        self.smoothed = self.smoothed + (price - self.smoothed) / p.curtail_smoothing_months
        self.expected = self.expected + (price - self.expected) / p.mine_expectation_months
        return {
            "production": production,
            "released": released,
            "demand": wanted,
            "served": taken,
            "to_buyers": to_buyers,
            "unmet": wanted - taken,
            "inventory": self.inventory,
            "capacity": sum(c.capacity(month) for c in self.cohorts),
            "curtailed": curtailed,
            "marginal_cost": cost,
            "price": price,
            "gap": gap,
            "stock_change": stock_change,
        }

    def expansion(self, month: int) -> dict[Cohort, float]:
        """Capacity each cohort orders this quarter, t LCE/yr (see the module docstring).

        Producers expect demand to keep growing as over the last year (at most ``mine_growth_cap``) until new
        capacity could arrive, and plan ``1 + mine_reserve_margin`` times the capacity it needs at their operating
        rate; the shortfall is what installed capacity and the pipeline do not cover.
        """
        p = self.model.params
        history = self.demand_history
        if len(history) < 24:
            return {c: 0.0 for c in self.cohorts}
        last = 12.0 * (sum(history[-12:]) / 12)
        before = 12.0 * (sum(history[-24:-12]) / 12)
        growth = min(max((last / before if before > 0 else 1.0) - 1.0, 0.0), p.mine_growth_cap)
        expected = last * (1.0 + growth) ** (p.mine_construction_lag / 12.0)
        required = expected / p.supply_operating_rate * (1.0 + p.mine_reserve_margin)
        pipeline = sum(c.capacity(month) + c.building for c in self.cohorts)
        shortfall = max(required - pipeline, 0.0)
        total = sum(c.capacity(month) for c in self.cohorts)
        return {
            c: c.expansion_order(
                shortfall, c.capacity(month) / total if total > 0 else 0.0, self.expected / (1 + p.vat_rate)
            )
            for c in self.cohorts
        }
