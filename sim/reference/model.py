"""The reference model: the monthly rules of docs/model.md written as Mesa reads them, one replicate.

`ReferenceModel` is a `mesa.Model` whose plants are `sim.reference.firms.Firm` agents (one per plant, its own
state) and whose world supply cohorts are `sim.reference.world.Cohort` agents; each stage has a market
(`sim.reference.markets.StageMarket`) and the world a market (`sim.reference.world.WorldMarket`). It starts from
exactly the batched engine's initial state for the seed (`sim.reference.setup`). One month (`step`, docs/model.md,
"Process overview and scheduling"):

1. capacity arrives and ramps up, spending on plant starts and stops (`bring_online`);
2. integrated converters' feedstock terms (`apply_feedstock`); each cluster's policy factors and payments
   (`sim.reference.policy`);
3. demand drivers (`sim.reference.demand`);
4. prices upstream first (`sim.reference.markets.price_pass`); each plant's costs at them and the price it
   receives (salt sold forward under hedging);
5. the stages clear downstream first: each stage's least markup at which its plants offer what its buyers ask
   (`StageMarket.clearing_markup`), demand passed up the chain (`sim.reference.chain.demand_up`);
6. prices at the cleared markups; every plant's offer (`Firm.offer`) and competitiveness weight;
7. the chain's quantities, with the world market's month (`sim.reference.chain.deliveries`);
8. each stage's output split among its plants (`StageMarket.allocate`); each plant's accounts (`Firm.produce`)
   and the end of its month (`Firm.step`: expectations, loss streak, idling, exit); the stage's tightness;
9. December: VAT refunds and the land-efficiency review; the year's records;
10. each quarter's end: investment and placement, entry (`sim.reference.investment`), and supply expansion.

Where the order of agents does not matter the model calls ``shuffle_do`` on an `AgentSet` (every plant's costs,
offer, accounts and month-end are its own); where it does it loops in column order and says why (new firms take
the free entrant slots in turn; stage totals are summed in the engine's column order).
"""

from __future__ import annotations

import math
from collections import defaultdict

import mesa

from sim.engine.model import LithiumModel, release
from sim.engine.records import FLOWS, STAGE_FLOWS, WORLD_SERIES
from sim.inputs.chain import DEFAULT_CHAIN, Chain
from sim.inputs.data import ModelData
from sim.inputs.scenario import Scenario
from sim.reference.chain import deliveries, demand_up
from sim.reference.demand import cell_ratio, month_drivers
from sim.reference.investment import enter, expand_supply, invest
from sim.reference.location import agglomeration
from sim.reference.markets import FEE_RULES, price_pass
from sim.reference.policy import (
    energy_support_cost,
    hedge_terms,
    innovation_grants,
    land_review,
    monthly_factors,
    tax_relief,
    vat_refunds,
)
from sim.reference.setup import copy_setup
from sim.reference.world import Cohort

# the year's flows of the engine's record (but its loss months), and what the reference also keeps per year
YEAR_FLOWS = (*(f for f in FLOWS if f != "loss_months"), "employment", "available", "installed")


class ReferenceModel(mesa.Model):
    """Suining's lithium chain within the national and world markets, one replicate, one agent per plant.

    Args:
        scenario: a validated `Scenario`.
        params: overrides the scenario's parameters.
        seed: the replicate's `numpy.random.SeedSequence` (or int); default: the engine's replicate 0 of the
            scenario's seed.
        chain: the declared chain of stages.
        data: registry, national series and supply data (default: the project's data files).
    """

    def __init__(
        self,
        scenario: Scenario,
        params=None,
        seed=None,
        *,
        chain: Chain = DEFAULT_CHAIN,
        data: ModelData | None = None,
    ) -> None:
        # Mesa's generator only orders `shuffle_do`: no rule depends on the order it gives
        super().__init__(seed=0)
        engine = LithiumModel(scenario, params=params, seeds=None if seed is None else [seed], chain=chain, data=data)
        try:
            copy_setup(self, engine)
        finally:
            release(engine)
            vars(engine).clear()
        self._agglomeration: dict[str, tuple[int, list[float]]] = {}
        self.counts: dict[str, float] = defaultdict(float)
        self.monthly: dict[str, list[float]] = defaultdict(list)
        self.yearly: dict[tuple[str, str, str], list[float]] = defaultdict(list)

    # ----------------------------------------------------------------------------------------------------------
    # helpers the submodels use
    # ----------------------------------------------------------------------------------------------------------
    def pinned(self, stage) -> bool:
        """Whether the scenario pins the stage's price: a firm stage priced off the carbonate quote in path mode."""
        return not self.market_mode and stage.agents == "firms" and stage.price_rule not in FEE_RULES

    def policies(self, month: int) -> dict:
        """The policy in force in each cluster this month, by cluster code: Suining's is the scenario's throughout;
        a rival's is its known policy, each lever replaced from its own start month by the scenario's."""
        return {
            code: next(pol for start, pol in reversed(phases) if start <= month)
            for code, phases in self.cluster_policies.items()
        }

    def lag_cuts(self, month: int) -> list[float]:
        """Months off the construction lag each cluster's ready land gives now."""
        return [
            pol.value("investment_support", "lag_cut_months") if month >= pol.start("investment_support") else 0.0
            for _, pol in sorted(self.policies(month).items())
        ]

    def agglomeration_weight(self, stage_key: str, month: int) -> list[float]:
        """The stage's agglomeration weights by cluster, once a quarter (expansions and entrants share them:
        capacity does not change while the quarter's orders are placed)."""
        cached = self._agglomeration.get(stage_key)
        if cached is None or cached[0] != month:
            cached = (month, agglomeration(self, stage_key))
            self._agglomeration[stage_key] = cached
        return cached[1]

    def schedule(self, month: int, kind: str, agent, **amounts: float) -> None:
        """Put capacity arriving (``amount``) or spending changing (``capex``, ``subsidy``) on the calendar."""
        if kind == "spend":
            changes = {"capex_rate": amounts.get("capex", 0.0), "subsidy_rate": amounts.get("subsidy", 0.0)}
            self.events[month].append(("spend", agent, changes))
        else:
            self.events[month].append((kind, agent, {"amount": amounts["amount"]}))

    def count(self, name: str, n: float = 1.0) -> None:
        self.counts[name] += n

    def all_firms(self) -> list:
        return [f for stage in self.chain.firm_stages for f in self.firms[stage.key]]

    # ----------------------------------------------------------------------------------------------------------
    # the month
    # ----------------------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One month (see the module docstring for the order)."""
        t = self.steps - 1
        p = self.params
        learn = (1.0 - p.cost_learning_rate) ** (t / 12.0)
        self.bring_online(t)
        self.apply_feedstock(t)
        self.apply_policies(t)

        # carbonate is quoted incl. VAT; prices and accounts are excl. VAT
        quote = self.world.price if self.market_mode else self.quote_path[t]
        carbonate = quote / (1.0 + p.vat_rate)
        drivers = month_drivers(self, t, quote)
        prices, materials = price_pass(self, carbonate, drivers, learn)
        cell_ratio(self, t, prices, drivers, learn)
        received = {s.key: self.realised_prices(s, prices[s.key], t) for s in self.chain.firm_stages}

        # each plant's costs at this month's materials price and the price it receives
        for stage in self.chain.firm_stages:
            self.prepare_stage(stage.key, received[stage.key], materials[stage.key], learn)
        markups: dict[str, float] = {}

        def clearing_offers(key: str, addressed: float) -> float:
            market = self.markets[key]
            cap = math.inf if market.fee_priced else materials[key]
            markups[key] = market.clearing_markup(addressed, cap)
            return market.offer_at_markup(markups[key])

        demand_up(self, drivers, clearing_offers)

        # every plant's cost, margin and offer at the cleared prices
        prices, materials = price_pass(self, carbonate, drivers, learn, markups=markups)
        offers = {}
        for stage in self.chain.firm_stages:
            key = stage.key
            # a fee stage's plants receive its cleared price; salt makers the carbonate price (or the hedged one)
            price_of = {f: prices[key] for f in self.firms[key]} if self.markets[key].fee_priced else received[key]
            offers[key] = self.offer_stage(key, price_of, materials[key], learn)
        flows = deliveries(self, drivers, offers, t)
        for stage in self.chain.firm_stages:
            self.markets[stage.key].history.append(materials[stage.key])

        for stage in self.chain.firm_stages:
            self.produce(stage, flows, t, learn)
        self.record_month(quote, prices, drivers, flows)

        if t % 12 == 11:
            self.year_end(t)
        if t % 3 == 2:
            for stage in self.chain.firm_stages:
                invest(self, stage, t, prices[stage.key])
                enter(self, stage, t, prices[stage.key])
            if self.world is not None and t >= p.mine_decisions_from:
                expand_supply(self, t)
        if t >= self.n_months - 1:
            self.running = False

    def prepare_stage(self, key: str, price_of: dict, materials: float, learn: float) -> None:
        """Every plant's costs and the price it receives before the stage clears (each its own: order free)."""
        history = self.markets[key].history
        self.stage_sets[key].shuffle_do(lambda f: f.prepare(price_of[f], materials, learn, history))

    def offer_stage(self, key: str, price_of: dict, materials: float, learn: float) -> float:
        """Every plant's cost, margin and offer at the cleared prices (each its own: order free), their
        competitiveness weights, and the stage's total offer, u/month (summed in column order, as the engine
        sums)."""
        market = self.markets[key]
        self.stage_sets[key].shuffle_do(lambda f: f.offer(price_of[f], materials, learn, market.history))
        market.weigh()
        return sum(f.offered for f in market.firms)

    # --- 1. capacity -------------------------------------------------------------------------------------------
    def bring_online(self, month: int) -> None:
        """Ramping capacity advances a month; this month's arrivals and spending changes apply.

        A firm that exited abandons its plants: nothing arrives and no spending starts or stops there. A spending
        rate that ends at (or below) a millionth of the change is what rounding leaves: it is cleared.
        """
        p = self.params
        for stage in self.chain.firm_stages:
            self.stage_sets[stage.key].shuffle_do("advance_ramp")
        if self.world is not None:
            self.world.agents.shuffle_do("advance_ramp")
        for kind, agent, values in self.events.pop(month, []):
            if isinstance(agent, Cohort):
                agent.add(values["amount"], p.ramp_up_months)
                agent.building -= values["amount"]
                continue
            if not agent.active:
                continue
            if kind == "spend":
                for name, change in values.items():
                    if change == 0:
                        continue
                    rate = getattr(agent, name) + change
                    setattr(agent, name, 0.0 if rate < 1e-6 * abs(change) else rate)
                continue
            amount = values["amount"]
            agent.add_capacity(amount, p.ramp_up_months)
            value = amount * p.of(agent.stage, "capex") * agent.capex_location
            agent.capital += value
            if kind == "arrive_financed":  # loans for part, less the government's capex subsidy if any
                agent.debt += value * p.new_plant_debt_share * agent.capex_factor

    # --- 2. feedstock terms and policy ---------------------------------------------------------------------------
    def apply_feedstock(self, month: int) -> None:
        """This month's feedstock terms of registered salt plants: the share their group's mines supply and its
        cash cost (the mine's cohort mid cost this month, less the conversion included in it), and how their
        accounts pay for each part (a lagged market price less a discount, or the mine's cost). A mine that events
        withhold (a licence suspended, exports banned) feeds its owner only the part it still runs; the rest is
        bought at this month's market price."""
        if self.world is None:
            return
        cohorts = {c.cohort: c for c in self.world.cohorts}
        withheld = self.world.withheld_fraction(month)

        def cash_cost(cohort: str) -> float:
            c = cohorts[cohort]
            mid = 0.5 * (c.cost_low_path[month] + c.cost_high_path[month])
            return max(mid - self.params.cohort_conversion_cost, 0.1 * mid)

        for firm in self.all_firms():
            parts = firm.registered.feedstock_at(month) if firm.registered is not None else ()
            if not parts:
                continue
            own = [part for part in parts if part.source == "own_mine"]
            running = {id(part): 1.0 - withheld[cohorts[part.cohort]] for part in own}
            share = sum(part.share * running[id(part)] for part in own)
            cost = sum(part.share * running[id(part)] * cash_cost(part.cohort) for part in own)
            firm.own_share = share
            firm.owns_feedstock = share > 0
            firm.own_feedstock_cost = cost / share if share > 0 else 0.0
            firm.has_terms = True
            firm.accounts_linked, firm.accounts_at_cost = {}, 0.0
            linked = firm.accounts_linked
            for part in parts:
                kept = running.get(id(part), 1.0)
                if part.market_linked:
                    lag = part.lag_months
                    linked[lag] = linked.get(lag, 0.0) + part.share * kept * (1.0 - part.discount)
                else:
                    firm.accounts_at_cost += part.share * kept
                if kept < 1.0:  # bought at this month's market price
                    linked[0] = linked.get(0, 0.0) + part.share * (1.0 - kept)

    def apply_policies(self, month: int) -> None:
        """Each cluster's levers on its own plants: factors, this month's relief and grants."""
        for firm in self.all_firms():
            firm.relief = firm.grants = 0.0
        for code, pol in self.policies(month).items():
            here = [f for f in self.all_firms() if f.cluster == code]
            monthly_factors(pol, here, month)
            for firm, value in tax_relief(pol, here, month).items():
                firm.relief += value
            for firm, value in innovation_grants(pol, here, month).items():
                firm.grants += value

    def realised_prices(self, stage, price: float, month: int) -> dict:
        """The price each plant receives: the market's, except salt sold forward (hedging) where a cluster's
        policy has it: ``(1 - share) x spot + share x forward x (1 - cost)`` once contracts come due."""
        firms = self.firms[stage.key]
        out = {f: price for f in firms}
        if stage.key != "lithium_salt":
            return out
        for code, pol in self.policies(month).items():
            if "hedging" not in pol.settings:
                continue
            share, horizon, cost = hedge_terms(pol, self.params)
            if share <= 0 or month < pol.start("hedging"):
                continue
            # sell forward now for delivery in `horizon` months at the expected price
            self.forwards[(code, month + horizon)] = self.forward_price(month, horizon, price)
            due = self.forwards.pop((code, month), None)
            if due is None:
                continue
            hedged = (1.0 - share) * price + share * due * (1.0 - cost)
            for f in firms:
                if f.cluster == code:
                    out[f] = hedged
        return out

    def forward_price(self, month: int, horizon: int, spot: float) -> float:
        """The futures price for delivery in ``horizon`` months, from what is known now: path mode, the scenario's
        path at delivery times the expected part of today's shock; market mode, the spot moving toward today's
        clearing price at the market's adjustment speed."""
        p, sc = self.params, self.scenario
        if not self.market_mode:
            later = min(month + horizon, self.n_months - 1)
            path = float(sc.price_path()[later]) / (1.0 + p.vat_rate)
            return path * math.exp(sc.persistence**horizon * self.price_shock[month])
        target = self.world.last_target / (1.0 + p.vat_rate)
        closed = 1.0 - (1.0 - p.price_adjustment) ** horizon
        return spot * (target / spot) ** closed

    # --- 8. production -----------------------------------------------------------------------------------------
    def produce(self, stage, flows: dict, month: int, learn: float) -> None:
        """The stage's output split among its plants; each plant's accounts and month-end; next month's
        tightness (demand addressed over the available capacity of the plants still in business)."""
        key, market = stage.key, self.markets[stage.key]
        quantities = market.allocate(flows["output"][key])
        total_weight = sum(f.weight for f in market.firms)
        unmet = flows["unmet"][key]
        energy = [(code, pol) for code, pol in self.policies(month).items() if "energy_support" in pol.settings]
        support = {}
        for f in market.firms:
            # what the city pays: capex subsidies, relief, innovation grants and its share of the energy saving
            saved = sum(
                (energy_support_cost(pol, f, learn, quantities[f]) for code, pol in energy if f.cluster == code),
                0.0,
            )
            support[f] = f.subsidy_rate + f.relief + f.grants + saved
        available = {f: f.available() for f in market.firms}
        self.stage_sets[key].shuffle_do(
            lambda f: f.produce(
                quantities[f], month, support[f], unmet * (f.weight / total_weight if total_weight > 0 else 0.0)
            )
        )
        self.stage_sets[key].shuffle_do("step")
        for f in market.firms:
            if f.exited_now:
                self.count(f"exits_{key}")
        total = sum(available[f] for f in market.firms if f.active) / 12.0
        addressed = flows["addressed"][key]
        market.tightness = addressed / total if total > 0 else 1.0

    def record_month(self, quote: float, prices: dict, drivers: dict, flows: dict) -> None:
        """The month's market series, named as the engine's (`sim.engine.records`)."""
        values = {
            "carbonate_quote": quote,
            "sodium_share": self.sodium_share,
            "sodium_gwh": drivers["sodium_gwh"],
            "lfp_share": drivers["lfp_share"],
        }
        for stage in self.chain:
            values[f"price_{stage.key}"] = prices[stage.key]
            for name in STAGE_FLOWS:
                values[f"{name}_{stage.key}"] = flows[name][stage.key]
        supply = flows["supply"]
        if supply is not None:
            for name in WORLD_SERIES:
                values[f"world_{name}"] = supply[name]
        for name, value in values.items():
            self.monthly[name].append(value)

    # --- 9. the year's end -------------------------------------------------------------------------------------
    def year_end(self, month: int) -> None:
        """December: VAT credit refunds (留抵退税) and the land-efficiency review (亩均论英雄), cluster by cluster
        (a review's exits change the next cluster's national averages); then the year's records."""
        for code, pol in self.policies(month).items():
            here = [f for f in self.all_firms() if f.cluster == code]
            for firm, refund in vat_refunds(pol, here, month).items():
                firm.year["support"] = firm.year.get("support", 0.0) + refund
            for stage in self.chain.firm_stages:
                capex = self.params.of(stage, "capex")
                for firm, paid in land_review(pol, self.firms[stage.key], code, capex, month).items():
                    firm.year["support"] = firm.year.get("support", 0.0) + paid
        self.close_year()

    def close_year(self) -> None:
        """The year's flows and year-end stocks by region (``suining``, every cluster, ``china``) and stage."""
        clusters = self.data.clusters.keys
        for stage in self.chain.firm_stages:
            for f in self.firms[stage.key]:
                f.year.update(
                    capacity=f.capacity,
                    firms=1.0 if f.active and f.capacity > 0 else 0.0,
                    building=1.0 if f.active and f.capacity <= 0 else 0.0,
                    cash=f.cash,
                    debt=f.debt,
                )
            names = (*YEAR_FLOWS, "capacity", "firms", "building", "cash", "debt")
            for name in names:
                values = [f.year.get(name, 0.0) for f in self.firms[stage.key]]
                self.yearly[("china", stage.key, name)].append(sum(values))
                for code, cluster in enumerate(clusters):
                    in_cluster = [v for f, v in zip(self.firms[stage.key], values, strict=True) if f.cluster == code]
                    self.yearly[(cluster, stage.key, name)].append(sum(in_cluster))
            for f in self.firms[stage.key]:
                f.year = {}

    # ----------------------------------------------------------------------------------------------------------
    def run(self, months: int | None = None) -> ReferenceRecord:
        """Step through the scenario's months (or the first ``months``); return the record."""
        months = self.n_months if months is None else months
        while self.steps < months and self.running:
            self.step()
        return ReferenceRecord(dict(self.monthly), dict(self.yearly), dict(self.counts))


class ReferenceRecord:
    """What a reference run records: ``market`` name -> monthly values (the engine's monthly series),
    ``regional`` (region, stage, name) -> yearly values, ``counts`` of events."""

    def __init__(self, market: dict, regional: dict, counts: dict) -> None:
        self.market = market
        self.regional = regional
        self.counts = counts


def run_reference(scenario: Scenario, params=None, seed=None, months: int | None = None, **kw) -> ReferenceRecord:
    """Run one replicate through the reference model and return its record (the model is released after)."""
    model = ReferenceModel(scenario, params=params, seed=seed, **kw)
    try:
        return model.run(months)
    finally:
        release(model)
