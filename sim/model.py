"""The agent-based model of the lithium chain: Suining's named firms and a synthetic rest of China.

Each monthly step (DESIGN section 2):

1. capacity under construction comes online and ramps up;
2. prices: the carbonate price from the scenario path (with shocks); LFP and cell prices pass costs through
   plus a processing fee that moves with last month's utilisation;
3. markets clear top-down: cell demand is allocated among cell makers, their output sets LFP demand
   (LFP share x t per GWh), LFP output sets lithium demand (t LCE per t LFP, plus non-LFP uses); in each
   segment firms offer according to their margin and demand is split by a logit on unit cost, capped by
   offers (`sim.market.allocate`), so Suining's shares emerge;
4. every firm's accounts (`sim.accounting`), finance, expectations, idling and exit;
5. each quarter, investment by incumbents and entry into the rest of China.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import mesa
import numpy as np
from scipy import special

from agents.firm import FIRM_TYPES, SEGMENTS, Firm, FirmBook, SaltMaker
from sim import market
from sim.accounting import finance, firm_accounts
from sim.data import RegisteredFirm, load_national, load_registry
from sim.params import ModelParams
from sim.scenario import Scenario

# national capacity keys in sim/data/national.csv, by segment
CAPACITY_KEYS = {"lithium_salt": "lithium_salt_capacity", "lfp_cathode": "lfp_capacity", "battery": "battery_capacity"}
RECORDED = ("output", "output_value", "intermediate", "value_added", "wages", "depreciation", "vat",
            "surcharges", "profit", "income_tax", "employment")
DEBT_SHARE_OF_NEW_PLANT = 0.6
ENTRY_EXCESS_CAP = 0.3  # excess return (1/yr) beyond which entry no longer quickens  # registry and pre-2022 pipeline plants: share of capex financed by loans


def stratified_lognormal(rng: np.random.Generator, n: int, sd: float) -> np.ndarray:
    """n draws of a mean-one lognormal, one from each of n equal-probability strata, in random order.

    The population keeps the distribution's spread but a small one no longer depends on a lucky draw:
    the variance of Suining's emergent shares across seeds comes from the model, not the sampling.
    """
    u = (rng.permutation(n) + rng.random(n)) / n
    return np.exp(-sd * sd / 2 + sd * special.ndtri(u))


@dataclass
class Arrival:
    segment: str
    index: int
    amount: float  # u/yr
    paid: bool  # capex already paid at order (endogenous investment) or financed at arrival (pipeline)


class LithiumModel(mesa.Model):
    """Suining's lithium chain within the national market.

    Args:
        scenario: a validated `Scenario`.
        params: overrides the scenario's parameters (for calibration and sweeps).
        rng: seed or numpy Generator; all randomness of the run comes from it.
        registry: Suining firms (defaults to ``sim/data/suining_firms.csv``).
        national: national series (defaults to ``sim/data/national.csv``).
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

        # random draws for the whole run, made up front (kernels stay pure)
        self.carbonate_price = self._shocked_price_path()
        self.demand = scenario.monthly_demand()

        self._add_suining(registry)
        self._add_rest_of_china(national, registry)

        # market state carried between months
        self.segment_utilization = {seg: self.params.reference_utilization for seg in SEGMENTS}
        self.history: dict[str, list[dict[str, np.ndarray]]] = {seg: [] for seg in SEGMENTS}
        self.market_history: list[dict[str, float]] = []

    # ----------------------------------------------------------------------------------------------------
    # set-up
    # ----------------------------------------------------------------------------------------------------
    def _shocked_price_path(self) -> np.ndarray:
        sc = self.scenario
        path = sc.price_path()
        eps = self.rng.standard_normal(sc.n_months)
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
            "cost_factor": np.ones(len(capacity)),
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
                        self._arrivals[online].append(Arrival(seg, agent.index, amount, paid=False))

    def _add_rest_of_china(self, national: dict[str, dict[int, float]], registry: list[RegisteredFirm]) -> None:
        """Synthetic firms sized so national capacity follows the data for end-2021, -2022 and -2023."""
        p = self.params
        rng = self.rng
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
            # the pipeline under construction at the start: the data's capacity growth in 2022 and 2023,
            # net of Suining's registered tranches, in tranches to size-weighted random firms and months
            # only what was ordered before the run starts: arrivals earlier than one construction lag;
            # later capacity comes from the firms' own investment decisions
            horizon = int(round(p.seg("construction_lag", seg)))
            for year, prev in ((2022, 2021), (2023, 2022)):
                first, last = (year - 2022) * 12, (year - 2022) * 12 + 11
                added_here = suining_capacity(last) - suining_capacity(first - 1 if first > 0 else 0)
                increment = max(cap[year] - cap[prev] - added_here, 0.0)
                n_tranches = max(n // 4, 1)
                who = rng.choice(n, size=n_tranches, p=sizes / sizes.sum())
                when = rng.integers(first, last + 1, size=n_tranches)
                split = rng.dirichlet(np.ones(n_tranches)) * increment
                for w, m, amount in zip(who, when, split, strict=True):
                    if m >= horizon:
                        continue
                    self._arrivals[int(max(m, 1))].append(Arrival(seg, agents[w].index, float(amount), False))

    # ----------------------------------------------------------------------------------------------------
    # the monthly step
    # ----------------------------------------------------------------------------------------------------
    def step(self) -> None:
        t = self.month
        p = self.params
        learn = (1.0 - p.cost_learning_rate) ** (t / 12.0)
        carbonate = float(self.carbonate_price[t])

        self._bring_online(t)

        # prices, top-down
        lfp_fee = market.processing_fee(p.processing_fee_lfp * learn, self.segment_utilization["lfp_cathode"],
                                        p.reference_utilization, p.fee_utilization_elasticity)
        lfp_other = p.other_inputs_lfp * learn
        lithium_per_t_lfp = p.lce_per_t_lfp * carbonate
        lfp_price = lithium_per_t_lfp + lfp_other + lfp_fee
        share = float(self.demand["lfp_share"][t])
        cathode_per_gwh = (share * p.lfp_t_per_gwh * lfp_price
                           + (1.0 - share) * (p.ncm_lce_per_gwh * carbonate + p.cathode_premium_ncm))
        cell_fee = market.processing_fee(p.processing_fee_cell * learn, self.segment_utilization["battery"],
                                         p.reference_utilization, p.fee_utilization_elasticity)
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
        q_salt = self._clear("lithium_salt", salt_demand, carbonate,
                             SaltMaker.main_input_cost(self.books["lithium_salt"], carbonate, p), 0.0, learn)

        self.market_history.append({
            "month": t, "carbonate_price": carbonate, "lfp_price": lfp_price, "cell_price": cell_price,
            "lfp_share": share, "battery_demand": cell_demand, "lfp_demand": lfp_demand,
            "salt_demand": salt_demand, "battery_output": float(q_cell.sum()), "lfp_output": float(q_lfp.sum()),
            "salt_output": float(q_salt.sum()), "lithium_in_lfp": float(q_lfp.sum() * p.lce_per_t_lfp),
            "lfp_in_cells": float(q_cell.sum() * share * p.lfp_t_per_gwh),
        })

        if t % 3 == 2:
            prices = {"lithium_salt": carbonate, "lfp_cathode": lfp_price, "battery": cell_price}
            for seg in SEGMENTS:
                self._invest(seg, t, prices[seg])
                self._enter(seg, t, prices[seg])
        self.month += 1

    def _bring_online(self, t: int) -> None:
        p = self.params
        for book in self.books.values():
            book.advance_ramp()
        for arrival in self._arrivals.pop(t, []):
            book = self.books[arrival.segment]
            if not book.active[arrival.index]:
                continue  # the firm exited before its plant was finished; the project is abandoned
            book.add_capacity(arrival.index, arrival.amount, p.ramp_up_months)
            value = arrival.amount * p.seg("capex", arrival.segment)
            book.capital[arrival.index] += value
            if not arrival.paid:
                book.debt[arrival.index] += value * DEBT_SHARE_OF_NEW_PLANT

    def _clear(self, segment: str, demand: float, price: float, main_input: np.ndarray, other_inputs: float,
               learn: float) -> np.ndarray:
        """Allocate one segment's demand, then run every firm's accounts and decisions for the month."""
        p = self.params
        book = self.books[segment]
        firm_type: type[Firm] = FIRM_TYPES[segment]
        processing = (book.conversion_cost + book.energy_cost) * book.cost_factor * learn
        unit_cost = main_input + other_inputs + processing
        prices = np.full(len(book), price)
        margin = (prices - unit_cost) / price
        offers = firm_type.offers(book, margin, p)
        # firms compete on the costs they control: inputs bought at one market price by every firm of the
        # segment (LFP's lithium, cells' cathode) are passed through and do not differentiate them
        shared = other_inputs + (0.0 if segment == "lithium_salt" else main_input)
        weights = market.logit_weights(offers, unit_cost - shared, p.competitiveness_elasticity)
        quantity = market.allocate(demand, offers, weights)

        available = book.available()
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(available > 0, quantity * 12.0 / available, 0.0)
        employment = book.labour * book.capacity * (p.labour_fixed_share + (1 - p.labour_fixed_share) * util)
        acc = firm_accounts(
            quantity, prices, unit_cost, employment, book.capital, book.debt, book.vat_credit,
            annual_wage=p.annual_wage, depreciation_years=p.depreciation_years, interest_rate=p.interest_rate,
            vat_rate=p.vat_rate, surcharge_rate=p.surcharge_rate, income_tax_rate=p.income_tax_rate,
        )
        book.vat_credit = acc.vat_credit
        book.capital = book.capital - acc.depreciation  # declining balance
        book.cash, book.debt = finance(book.cash, book.debt, acc.net_income + acc.depreciation)
        book.utilization = util
        book.utilization_q = book.utilization_q + (util - book.utilization_q) / 3.0
        if self.month == 0:
            book.expected_margin = margin.copy()

        record = {name: getattr(acc, name) for name in RECORDED}
        record.update(capacity=book.capacity.copy(), available=available, price=prices, unit_cost=unit_cost,
                      active=book.active.copy(), idle=book.idle.copy())
        self.history[segment].append(record)

        idle_now, exit_now = firm_type.update_after_month(book, margin, acc.net_income + acc.depreciation, p)
        book.idle = (book.idle & ~(margin > 0.0)) | idle_now
        for i in np.flatnonzero(exit_now):
            book.agents[i].exit_market()
        total_available = available[book.active].sum() / 12.0
        self.segment_utilization[segment] = quantity.sum() / total_available if total_available > 0 else 0.0
        return quantity

    def _lag(self, segment: str, suining: np.ndarray | bool) -> np.ndarray | float:
        return self.params.seg("construction_lag", segment)

    def _invest(self, segment: str, t: int, price: float) -> None:
        p = self.params
        book = self.books[segment]
        orders = FIRM_TYPES[segment].plan_investment(book, price, p)
        if not orders.any():
            return
        cost = orders * p.seg("capex", segment)
        book.cash, book.debt = finance(book.cash, book.debt, -cost)
        lag = np.broadcast_to(self._lag(segment, book.suining), orders.shape)
        for i in np.flatnonzero(orders):
            self._arrivals[t + max(int(round(lag[i])), 1)].append(Arrival(segment, int(i), float(orders[i]), True))

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
        n = int(self.rng.poisson(p.entry_rate * min(excess, ENTRY_EXCESS_CAP) / 0.1))
        if n == 0:
            return
        sd = p.cost_dispersion
        size = np.median(book.capacity[incumbents]) * self.rng.lognormal(0.0, p.firm_size_sd / 2, n)
        cost_draw = self.rng.lognormal(-sd * sd / 2, sd, n)
        energy_draw = self.rng.lognormal(-sd * sd / 2, sd, n)
        owns = np.zeros(n, dtype=bool)
        own_cost = np.full(n, np.nan)
        if segment == "lithium_salt":
            s = p.own_feedstock_cost_sd
            owns = self.rng.random(n) < p.integrated_share
            own_cost = np.where(owns, p.own_feedstock_cost_mean * self.rng.lognormal(-s * s / 2, s, n), np.nan)
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
        for agent, amount in zip(agents, size, strict=True):
            self._arrivals[t + lag].append(Arrival(segment, agent.index, float(amount), True))

    def run(self) -> LithiumModel:
        """Step through every month of the scenario."""
        while self.month < self.n_months:
            self.step()
        return self
