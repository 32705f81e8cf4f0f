"""The agent-based model of the lithium chain: Suining's named firms and a synthetic rest of China.

Each monthly step (DESIGN section 2):

1. capacity under construction comes online and ramps up;
2. prices: the carbonate price from the scenario path (with shocks); LFP and cell prices pass costs through
   plus a processing fee that moves with last month's utilisation;
3. markets clear top-down: cell demand is allocated among cell makers, their output sets LFP demand
   (LFP share x t per GWh), LFP output sets lithium demand (t LCE per t LFP, plus non-LFP uses); in each
   segment firms offer according to their margin and demand is split by a logit on unit cost, capped by
   offers (`sim.engine.market.allocate`), so Suining's shares emerge;
4. every firm's accounts (`sim.engine.accounting`), finance, expectations, idling and exit;
5. each quarter, investment by incumbents and entry into the rest of China.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import mesa
import numpy as np
from scipy import special

from agents.firm import FIRM_TYPES, SEGMENTS, Firm, FirmBook, SaltMaker
from sim.engine import market
from sim.engine.accounting import finance, firm_accounts
from sim.inputs.data import RegisteredFirm, load_national, load_registry
from sim.inputs.params import ModelParams
from sim.inputs.scenario import MODEL_START, Scenario

# national capacity keys in sim/inputs/data/national.csv, by segment
CAPACITY_KEYS = {"lithium_salt": "lithium_salt_capacity", "lfp_cathode": "lfp_capacity", "battery": "battery_capacity"}
RECORDED = ("output", "output_value", "intermediate", "value_added", "wages", "depreciation", "vat",
            "surcharges", "profit", "income_tax", "employment")
DEBT_SHARE_OF_NEW_PLANT = 0.6  # registry and pre-2022 pipeline plants: share of capex financed by loans
FIRST_ENDOGENOUS_ARRIVAL = 24  # 2024-01: capacity built in 2022-23 is the data's, orders placed then arrive later
ENTRY_EXCESS_CAP = 0.3  # excess return (1/yr) beyond which entry no longer quickens


def _slug(name: str) -> str:
    return "project_" + "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def stratified_lognormal(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    """n draws of a mean-one lognormal, one from each of n equal-probability strata, in random order.

    The population keeps the distribution's spread but a small one no longer depends on a lucky draw:
    the variance of Suining's emergent shares across seeds comes from the model, not the sampling.
    """
    u = (rng.permutation(n) + rng.random(n)) / n
    return np.exp(-sd * sd / 2 + sd * special.ndtri(u))


@dataclass
class Arrival:
    """A batch of capacity tranches coming online in one month, for firms of one segment."""

    segment: str
    index: np.ndarray  # rows in the segment's book (may repeat)
    amount: np.ndarray  # u/yr
    paid: bool  # capex already paid at order (endogenous investment) or financed at arrival (pipeline)

    @classmethod
    def one(cls, segment: str, index: int, amount: float, paid: bool) -> Arrival:
        return cls(segment, np.array([index]), np.array([float(amount)]), paid)


class LithiumModel(mesa.Model):
    """Suining's lithium chain within the national market.

    Args:
        scenario: a validated `Scenario`.
        params: overrides the scenario's parameters (for calibration and sweeps).
        rng: seed or numpy Generator; all randomness of the run comes from it.
        registry: Suining firms (defaults to ``sim/inputs/data/suining_firms.csv``).
        national: national series (defaults to ``sim/inputs/data/national.csv``).
    """

    def __init__(self, scenario: Scenario, params: ModelParams | None = None,
                 rng: int | np.random.Generator | None = None,
                 registry: list[RegisteredFirm] | None = None,
                 national: dict[str, dict[int, float]] | None = None) -> None:
        super().__init__(rng=rng)
        self.scenario = scenario
        self.params = params or scenario.params
        self.n_months = scenario.n_months
        self.month = 0
        self.books = {seg: FirmBook(seg) for seg in SEGMENTS}
        self._arrivals: dict[int, list[Arrival]] = defaultdict(list)
        self._entrants = 0
        registry = registry if registry is not None else load_registry()
        national = national if national is not None else load_national()

        # one independent stream per source of randomness (spawned, not offset): a lever that changes one
        # source, say the project pipeline, leaves the others' draws untouched (common random numbers)
        # (spawned from a fresh SeedSequence drawn from the model's rng: Generator.spawn would advance the
        # caller's SeedSequence, so the same seed object passed twice would give different runs)
        streams = np.random.SeedSequence(int(self.rng.integers(2**63))).spawn(4)
        self._rng_population, self._rng_projects, self._rng_shocks, self._rng_entry = map(
            np.random.default_rng, streams
        )
        self.carbonate_price = self._shocked_price_path()
        self.demand = scenario.monthly_demand()

        self.policy = scenario.policy
        self._add_suining(registry)
        self._add_projects()
        self._add_rest_of_china(national, registry)

        # market state carried between months
        # demand over available capacity, last month: it can exceed 1, so scarcity shows in the fees
        self.segment_tightness = {seg: self.params.reference_utilization for seg in SEGMENTS}
        self.smoothed_carbonate = float(self.carbonate_price[0])  # the hedged (futures) price
        self.history: dict[str, list[dict[str, np.ndarray]]] = {seg: [] for seg in SEGMENTS}
        self.market_history: list[dict[str, float]] = []
        self._support: dict[str, np.ndarray] = {}  # this month's support booked as income, per firm, yuan
        self._support_paid: dict[str, np.ndarray] = {}  # all government cash to firms this month, yuan
        self.land_efficiency_log: list[dict[str, int]] = []

    # ----------------------------------------------------------------------------------------------------
    # set-up
    # ----------------------------------------------------------------------------------------------------
    def _shocked_price_path(self) -> np.ndarray:
        sc = self.scenario
        path = sc.price_path()
        eps = self._rng_shocks.standard_normal(sc.n_months)
        if sc.volatility <= 0.0:
            return path
        shock = np.zeros(sc.n_months)
        for t in range(sc.shocks_from, sc.n_months):
            prev = shock[t - 1] if t > sc.shocks_from else 0.0
            shock[t] = sc.persistence * prev + sc.volatility * eps[t]
        return path * np.exp(shock)

    def _initial_state(self, segment: str, capacity: np.ndarray) -> dict[str, np.ndarray]:
        p = self.params
        capex = p.seg("capex", segment)
        capital = capacity * capex * 0.7  # plants a few years old on average
        return {
            "capital": capital,
            "debt": capital * DEBT_SHARE_OF_NEW_PLANT * 0.8,
            "cash": capital * 0.1,
            "labour": np.full(len(capacity), p.seg("labour", segment)),
            "utilization_q": np.full(len(capacity), p.reference_utilization),
            "utilization_y": np.full(len(capacity), p.reference_utilization),
            "cost_factor": np.ones(len(capacity)),
            "energy_factor": np.ones(len(capacity)),
            "capex_factor": np.ones(len(capacity)),
        }

    def _add_suining(self, registry: list[RegisteredFirm]) -> None:
        p = self.params
        for seg in SEGMENTS:
            firms = [f for f in registry if f.segment == seg]
            if not firms:
                continue
            cap0 = np.array([f.capacity_at(0) for f in firms])
            factor = p.seg("suining_cost_factor", seg)
            state = self._initial_state(seg, cap0)
            owns = np.array([f.owns_feedstock for f in firms])
            agents = FIRM_TYPES[seg].create_many(
                self, self.books[seg], [f.firm_id for f in firms], [f.name for f in firms], "suining",
                capacity=cap0,
                conversion_cost=p.seg("conversion_cost", seg) * factor,
                energy_cost=p.seg("energy_cost", seg) * factor,
                owns_feedstock=owns,
                own_feedstock_cost=np.where(owns, p.own_feedstock_cost_mean, np.nan),
                **state,
            )
            for agent, firm in zip(agents, firms, strict=True):
                for online, amount in firm.tranches:
                    if online > 0 and amount > 0:
                        self._arrivals[online].append(Arrival.one(seg, agent.index, amount, paid=False))

    def _add_projects(self) -> None:
        """The scenario's project pipeline (招商引资): each project is built with its probability."""
        p = self.params
        draws = self._rng_projects.random(len(self.policy.projects))
        for project, u in zip(self.policy.projects, draws, strict=True):
            if u >= project.probability:
                continue
            seg = project.segment
            factor = p.seg("suining_cost_factor", seg)
            owns = project.owns_feedstock and seg == "lithium_salt"
            (agent,) = FIRM_TYPES[seg].create_many(
                self, self.books[seg], [_slug(project.name)], [project.name], "suining",
                conversion_cost=p.seg("conversion_cost", seg) * factor, energy_cost=p.seg("energy_cost", seg) * factor,
                owns_feedstock=owns, own_feedstock_cost=p.own_feedstock_cost_mean if owns else np.nan,
                **self._initial_state(seg, np.zeros(1)),
            )
            self._arrivals[max(project.online, 0)].append(Arrival.one(seg, agent.index, project.capacity, paid=False))

    def _add_rest_of_china(self, national: dict[str, dict[int, float]], registry: list[RegisteredFirm]) -> None:
        """Synthetic firms sized so national capacity follows the data for end-2021, -2022 and -2023."""
        p = self.params
        rng = self._rng_population
        for seg in SEGMENTS:
            cap = national[CAPACITY_KEYS[seg]]
            suining = [f for f in registry if f.segment == seg]

            def suining_capacity(month: int, firms: list[RegisteredFirm] = suining) -> float:
                return sum(f.capacity_at(month) for f in firms)

            n = p.seg("synthetic_firms", seg)
            sizes = stratified_lognormal(rng, n, p.firm_size_sd)
            start_capacity = max(cap[2021] - suining_capacity(0), 0.0)
            capacity = sizes / sizes.sum() * start_capacity
            cost_draw = stratified_lognormal(rng, n, p.cost_dispersion)
            energy_draw = stratified_lognormal(rng, n, p.cost_dispersion)
            owns = np.zeros(n, dtype=bool)
            own_cost = np.full(n, np.nan)
            if seg == "lithium_salt":
                owns = rng.permutation(n) < round(p.integrated_share * n)
                own_cost = np.where(owns, p.own_feedstock_cost_mean
                                    * stratified_lognormal(rng, n, p.own_feedstock_cost_sd), np.nan)
            state = self._initial_state(seg, capacity)
            agents = FIRM_TYPES[seg].create_many(
                self, self.books[seg], [f"{seg}_{i:04d}" for i in range(n)],
                [f"{seg} firm {i}" for i in range(n)], "rest_of_china",
                capacity=capacity, conversion_cost=p.seg("conversion_cost", seg) * cost_draw,
                energy_cost=p.seg("energy_cost", seg) * energy_draw, owns_feedstock=owns,
                own_feedstock_cost=own_cost, **state,
            )
            # capacity built in 2022 and 2023 is history: the data's growth, net of Suining's registered
            # tranches, in tranches to size-weighted random firms and months. Firms' own orders arrive from
            # 2024 on (FIRST_ENDOGENOUS_ARRIVAL), so the two do not count the same plants twice.
            for year, prev in ((2022, 2021), (2023, 2022)):
                first, last = (year - 2022) * 12, (year - 2022) * 12 + 11
                added_here = suining_capacity(last) - suining_capacity(first - 1 if first > 0 else 0)
                increment = max(cap[year] - cap[prev] - added_here, 0.0)
                n_tranches = max(n // 4, 1)
                who = rng.choice(n, size=n_tranches, p=sizes / sizes.sum())
                when = rng.integers(first, last + 1, size=n_tranches)
                split = rng.dirichlet(np.ones(n_tranches)) * increment
                rows = np.array([agents[w].index for w in who])
                for m in np.unique(when):
                    batch = when == m
                    self._arrivals[int(max(m, 1))].append(Arrival(seg, rows[batch], split[batch], paid=False))

    # ----------------------------------------------------------------------------------------------------
    # the monthly step
    # ----------------------------------------------------------------------------------------------------
    def step(self) -> None:
        t = self.month
        p = self.params
        learn = (1.0 - p.cost_learning_rate) ** (t / 12.0)
        carbonate = float(self.carbonate_price[t])

        self._bring_online(t)
        self._apply_policy(t)
        hedge = self.policy.hedging
        alpha = 1.0 - 0.5 ** (1.0 / hedge.smoothing_months)
        self.smoothed_carbonate += alpha * (carbonate - self.smoothed_carbonate)

        # prices, top-down
        lfp_fee = market.processing_fee(p.processing_fee_lfp * learn, self.segment_tightness["lfp_cathode"],
                                        p.reference_utilization, p.fee_utilization_elasticity,
                                        p.scarcity_elasticity)
        lfp_other = p.other_inputs_lfp * learn
        lithium_per_t_lfp = p.lce_per_t_lfp * carbonate
        lfp_price = lithium_per_t_lfp + lfp_other + lfp_fee
        share = float(self.demand["lfp_share"][t])
        cathode_per_gwh = (share * p.lfp_t_per_gwh * lfp_price
                           + (1.0 - share) * (p.ncm_lce_per_gwh * carbonate + p.cathode_premium_ncm))
        cell_fee = market.processing_fee(p.processing_fee_cell * learn, self.segment_tightness["battery"],
                                         p.reference_utilization, p.fee_utilization_elasticity,
                                        p.scarcity_elasticity)
        cell_other = p.other_inputs_cell * learn
        cell_price = cathode_per_gwh + cell_other + cell_fee

        # markets, top-down through the chain: material flows downstream-to-upstream
        cell_demand = float(self.demand["battery_gwh"][t])
        q_cell = self._clear("battery", cell_demand, cell_price,
                             FIRM_TYPES["battery"].main_input_cost(self.books["battery"], cathode_per_gwh, p),
                             cell_other, learn)
        lfp_demand = q_cell.sum() * share * p.lfp_t_per_gwh
        q_lfp = self._clear("lfp_cathode", lfp_demand, lfp_price,
                            FIRM_TYPES["lfp_cathode"].main_input_cost(self.books["lfp_cathode"], carbonate, p),
                            lfp_other, learn)
        salt_demand = q_lfp.sum() * p.lce_per_t_lfp + float(self.demand["non_lfp_lce"][t])
        salt_book = self.books["lithium_salt"]
        salt_price: float | np.ndarray = carbonate
        if hedge.share > 0 and t >= hedge.start:
            # Suining makers sell a share at the smoothed futures price (delivery warehouses, GFEX)
            hedged = (1.0 - hedge.share) * carbonate + hedge.share * self.smoothed_carbonate
            salt_price = np.where(salt_book.suining, hedged, carbonate)
        q_salt = self._clear("lithium_salt", salt_demand, salt_price,
                             SaltMaker.main_input_cost(salt_book, carbonate, p), 0.0, learn)

        self.market_history.append({
            "month": t, "carbonate_price": carbonate, "lfp_price": lfp_price, "cell_price": cell_price,
            "lfp_share": share, "battery_demand": cell_demand, "lfp_demand": lfp_demand,
            "salt_demand": salt_demand, "battery_output": float(q_cell.sum()), "lfp_output": float(q_lfp.sum()),
            "salt_output": float(q_salt.sum()), "lithium_in_lfp": float(q_lfp.sum() * p.lce_per_t_lfp),
            "lfp_in_cells": float(q_cell.sum() * share * p.lfp_t_per_gwh),
            "smoothed_carbonate_price": self.smoothed_carbonate,
        })
        if t % 12 == 11:
            self._year_end(t)

        if t % 3 == 2:
            prices = {"lithium_salt": carbonate, "lfp_cathode": lfp_price, "battery": cell_price}
            for seg in SEGMENTS:
                self._invest(seg, t, prices[seg])
                self._enter(seg, t, prices[seg])
        self.month += 1

    def _apply_policy(self, t: int) -> None:
        """Set this month's policy multipliers and support payments (Suining firms only)."""
        pol = self.policy
        energy, invest, innovation = pol.energy_support, pol.investment_support, pol.innovation
        for seg, book in self.books.items():
            self._support_paid[seg] = np.zeros(len(book))
            # levers switch on at their start month; every Suining firm exists by then (projects are created
            # at the start, entrants are rest-of-China), so setting the factors once is enough
            if t == energy.start and energy.cost_cut > 0:
                book.energy_factor = np.where(book.suining, 1.0 - energy.cost_cut, 1.0)
            if t == invest.start and invest.capex_subsidy > 0:
                book.capex_factor = np.where(book.suining, 1.0 - invest.capex_subsidy, 1.0)
            if innovation.extra_learning_rate > 0 and t >= innovation.start:
                monthly = (1.0 - innovation.extra_learning_rate) ** (1.0 / 12.0)
                book.cost_factor = np.where(book.suining, book.cost_factor * monthly, book.cost_factor)
        # tax and fee relief: the year's amount in twelfths, pro rata to the value of Suining firms' plants
        relief = pol.tax_relief
        year = MODEL_START[0] + t // 12
        monthly_yuan = relief.amount_yi.get(year, 0.0) * 1e8 / 12.0 if t >= relief.start else 0.0
        self._support = {}
        if monthly_yuan > 0:
            plant = {seg: np.where(b.suining & b.active, b.capital, 0.0) for seg, b in self.books.items()}
            total = sum(v.sum() for v in plant.values())
            for seg, value in plant.items():
                if total > 0:
                    self._support[seg] = monthly_yuan * value / total
                    self._support_paid[seg] += self._support[seg]

    def _year_end(self, t: int) -> None:
        """December: VAT credit refunds (留抵退税) and the land-efficiency review (亩均论英雄)."""
        p = self.params
        relief, land = self.policy.tax_relief, self.policy.land_efficiency
        if relief.vat_refund_share > 0 and t >= relief.start:
            for seg, book in self.books.items():
                refund = np.where(book.suining & book.active, relief.vat_refund_share * book.vat_credit, 0.0)
                book.vat_credit = book.vat_credit - refund
                book.cash, book.debt = finance(book.cash, book.debt, refund)
                self._support_paid[seg] += refund
        if land.min_utilization > 0 and t >= land.start:
            upgrades = exits = 0
            for seg, book in self.books.items():
                below = (book.suining & book.active & (book.capacity > 0) & (book.ramping == 0)
                         & (book.utilization_y < land.min_utilization))
                cost = land.upgrade_cost_share * book.capacity * p.seg("capex", seg)
                for i in np.flatnonzero(below):
                    if book.cash[i] >= cost[i]:  # upgrade: pay for better lines, cut processing cost
                        book.cash[i] -= cost[i]
                        book.capital[i] += cost[i]
                        book.cost_factor[i] *= 1.0 - land.upgrade_cost_cut
                        upgrades += 1
                    else:  # cannot pay: the land goes back to the park
                        book.agents[i].exit_market()
                        exits += 1
            self.land_efficiency_log.append({"month": t, "upgrades": upgrades, "exits": exits})

    def _bring_online(self, t: int) -> None:
        p = self.params
        for book in self.books.values():
            book.advance_ramp()
        for arrival in self._arrivals.pop(t, []):
            book = self.books[arrival.segment]
            alive = book.active[arrival.index]  # a firm that exited before its plant was finished abandons it
            index, amount = arrival.index[alive], arrival.amount[alive]
            book.add_capacity(index, amount, p.ramp_up_months)
            value = amount * p.seg("capex", arrival.segment)
            np.add.at(book.capital, index, value)
            if not arrival.paid:  # financed now: loans for part, the government's capex subsidy if any
                np.add.at(book.debt, index, value * DEBT_SHARE_OF_NEW_PLANT * book.capex_factor[index])

    def _clear(self, segment: str, demand: float, price: float | np.ndarray, main_input: np.ndarray,
               other_inputs: float, learn: float) -> np.ndarray:
        """Allocate one segment's demand, then run every firm's accounts and decisions for the month."""
        p = self.params
        book = self.books[segment]
        firm_type: type[Firm] = FIRM_TYPES[segment]
        processing = (book.conversion_cost + book.energy_cost * book.energy_factor) * book.cost_factor * learn
        unit_cost = main_input + other_inputs + processing
        prices = np.full(len(book), price) if np.isscalar(price) else np.asarray(price, dtype=float)
        margin = (prices - unit_cost) / prices
        available = book.available()
        offers = firm_type.offers(book, available, margin, p)
        # firms compete on the costs they control: inputs bought at one market price by every firm of the
        # segment (LFP's lithium, cells' cathode) are passed through and do not differentiate them
        controllable = main_input + processing if segment == "lithium_salt" else processing
        weights = market.logit_weights(offers, controllable, p.competitiveness_elasticity)
        quantity = market.allocate(demand, offers, weights)

        util = np.divide(quantity * 12.0, available, out=np.zeros(len(book)), where=available > 0)
        employment = book.labour * book.capacity * (p.labour_fixed_share + (1 - p.labour_fixed_share) * util)
        acc = firm_accounts(
            quantity, prices, unit_cost, employment, book.capital, book.debt, book.vat_credit,
            annual_wage=p.annual_wage, depreciation_years=p.depreciation_years, interest_rate=p.interest_rate,
            vat_rate=p.vat_rate, surcharge_rate=p.surcharge_rate, income_tax_rate=p.income_tax_rate,
            subsidy=self._support.get(segment, 0.0),
        )
        book.vat_credit = acc.vat_credit
        book.capital = book.capital - acc.depreciation  # declining balance
        book.cash, book.debt = finance(book.cash, book.debt, acc.net_income + acc.depreciation)
        book.utilization = util
        book.utilization_q = book.utilization_q + (util - book.utilization_q) / 3.0
        book.utilization_y = book.utilization_y + (util - book.utilization_y) / 12.0
        if self.month == 0:
            book.expected_margin = margin.copy()

        record = {name: getattr(acc, name) for name in RECORDED}
        record["support"] = self._support_paid[segment]  # the same array: later payments this month add to it
        record.update(capacity=book.capacity.copy(), available=available, price=prices, unit_cost=unit_cost,
                      active=book.active.copy(), idle=book.idle.copy())
        self.history[segment].append(record)

        idle_now, exit_now = firm_type.update_after_month(book, margin, acc.net_income + acc.depreciation, p)
        book.idle = (book.idle & ~(margin > 0.0)) | idle_now
        for i in np.flatnonzero(exit_now):
            book.agents[i].exit_market()
        total_available = available[book.active].sum() / 12.0
        self.segment_tightness[segment] = demand / total_available if total_available > 0 else 1.0
        return quantity

    def _lag(self, segment: str, suining: np.ndarray, t: int) -> np.ndarray:
        """Construction lag in months; "标准地" land supply shortens it for Suining firms."""
        lag = np.full(suining.shape, self.params.seg("construction_lag", segment))
        support = self.policy.investment_support
        if t >= support.start:
            lag = np.where(suining, np.maximum(lag - support.lag_cut_months, 1.0), lag)
        return lag

    def _invest(self, segment: str, t: int, price: float) -> None:
        p = self.params
        book = self.books[segment]
        orders = FIRM_TYPES[segment].plan_investment(book, price, p)
        if not orders.any():
            return
        cost = orders * p.seg("capex", segment)
        subsidy = cost * (1.0 - book.capex_factor)
        self._support_paid[segment] += subsidy
        book.cash, book.debt = finance(book.cash, book.debt, -(cost - subsidy))
        arrive = np.maximum(t + np.maximum(np.rint(self._lag(segment, book.suining, t)), 1), FIRST_ENDOGENOUS_ARRIVAL)
        arrive = arrive.astype(int)
        ordered = orders > 0
        for month in np.unique(arrive[ordered]):
            batch = np.flatnonzero(ordered & (arrive == month))
            self._arrivals[int(month)].append(Arrival(segment, batch, orders[batch], paid=True))

    def _enter(self, segment: str, t: int, price: float) -> None:
        """New rest-of-China firms when the segment's expected full-cost margin clears the hurdle."""
        p = self.params
        book = self.books[segment]
        incumbents = book.active & ~book.suining & (book.capacity > 0)
        if not incumbents.any() or p.entry_rate <= 0:
            return
        capex = p.seg("capex", segment)
        weights = book.capacity[incumbents]
        returns = FIRM_TYPES[segment].expected_return(book, price, p)[incumbents]
        excess = float(np.dot(weights, returns) / weights.sum()) - p.investment_hurdle
        if excess <= 0:
            return
        # entry saturates: permits, equipment and engineers limit how many projects start in a quarter
        n = int(self._rng_entry.poisson(p.entry_rate * min(excess, ENTRY_EXCESS_CAP) / 0.1))
        if n == 0:
            return
        sd = p.cost_dispersion
        size = np.median(book.capacity[incumbents]) * self._rng_entry.lognormal(0.0, p.firm_size_sd / 2, n)
        cost_draw = self._rng_entry.lognormal(-sd * sd / 2, sd, n)
        energy_draw = self._rng_entry.lognormal(-sd * sd / 2, sd, n)
        owns = np.zeros(n, dtype=bool)
        own_cost = np.full(n, np.nan)
        if segment == "lithium_salt":
            s = p.own_feedstock_cost_sd
            owns = self._rng_entry.random(n) < p.integrated_share
            own_cost = np.where(owns, p.own_feedstock_cost_mean * self._rng_entry.lognormal(-s * s / 2, s, n), np.nan)
        ids = [f"{segment}_entrant_{self._entrants + k:04d}" for k in range(n)]
        self._entrants += n
        state = self._initial_state(segment, np.zeros(n))
        state["expected_margin"] = np.full(n, float(np.dot(weights, book.expected_margin[incumbents]) / weights.sum()))
        agents = FIRM_TYPES[segment].create_many(
            self, book, ids, [f"{segment} entrant {i}" for i in ids], "rest_of_china",
            conversion_cost=p.seg("conversion_cost", segment) * cost_draw,
            energy_cost=p.seg("energy_cost", segment) * energy_draw, owns_feedstock=owns,
            own_feedstock_cost=own_cost, **state,
        )
        book.cash[agents[0].index:] -= size * capex  # paid at order, borrowed in full by a new firm
        book.cash, book.debt = finance(book.cash, book.debt, np.zeros(len(book)))
        lag = int(round(p.seg("construction_lag", segment)))
        rows = np.array([agent.index for agent in agents])
        self._arrivals[max(t + lag, FIRST_ENDOGENOUS_ARRIVAL)].append(Arrival(segment, rows, size, paid=True))

    def run(self) -> LithiumModel:
        """Step through every month of the scenario."""
        while self.month < self.n_months:
            self.step()
        return self
