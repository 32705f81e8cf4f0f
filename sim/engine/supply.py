"""World lithium supply and the clearing of the carbonate market (the ``market`` price mode).

`SupplyBook` holds the supply cohorts of a batch, ``(R, K)`` arrays (replicate x cohort); `WorldMarket` runs
one month: what the cohorts produce, what is served from production and stocks, the inventory, and next
month's carbonate price. Supply balances every month: production + stock draw (+ supply gap at a pinned price)
= served demand, and ``served + unmet = demand``, demand counting the chain's restocking (docs/model.md,
"Submodels: world lithium market").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.book import ramp_step, start_ramp
from agents.producer import Producer
from sim.engine.market import clearing_price, clearing_target, marginal_cost
from sim.inputs.data import Cohort, SupplyData
from sim.inputs.scenario import Scenario, SupplyEvent
from sim.inputs.units import BASE_YEAR

DAYS_PER_MONTH = 365.25 / 12.0


def capacity_path(supply: SupplyData, n_months: int) -> np.ndarray:
    """Effective capacity of each cohort by month from the data's yearly figures, ``(T, K)`` t LCE/yr.

    A year's figure is its average: it sits at mid-year, months between are interpolated, and after the last
    year the capacity stays at the last figure (growth then comes from projects and expansion).
    """
    months = np.arange(n_months, dtype=float)
    out = np.empty((n_months, len(supply.cohorts)))
    for k, cohort in enumerate(supply.cohorts):
        years = sorted(supply.capacity[cohort.cohort])
        xs = np.array([(y - BASE_YEAR) * 12 + 5.5 for y in years])
        ys = np.array([supply.capacity[cohort.cohort][y] for y in years])
        out[:, k] = np.interp(months, xs, ys)
    return out


def cost_paths(supply: SupplyData, n_months: int, learning_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Each cohort's cash-cost bounds by month, ``(T, K)`` yuan/t LCE excl. VAT.

    Years with cost data (``supply_costs.csv``; else the cohort's bounds in ``supply_cohorts.csv``) sit at mid-year
    and months between are interpolated; after the last such year costs fall at ``learning_rate`` a year.
    """
    months = np.arange(n_months, dtype=float)
    low = np.empty((n_months, len(supply.cohorts)))
    high = np.empty_like(low)
    for k, cohort in enumerate(supply.cohorts):
        by_year = supply.costs.get(cohort.cohort) or {BASE_YEAR + 2: (cohort.cost_low, cohort.cost_high)}
        years = sorted(by_year)
        xs = np.array([(y - BASE_YEAR) * 12 + 5.5 for y in years])
        decline = (1.0 - learning_rate) ** (np.maximum(months - xs[-1], 0.0) / 12.0)
        low[:, k] = np.interp(months, xs, [by_year[y][0] for y in years]) * decline
        high[:, k] = np.interp(months, xs, [by_year[y][1] for y in years]) * decline
    return low, high


@dataclass
class SupplyBook:
    """Supply cohorts across R replicates: every array field has shape (R, K)."""

    cohorts: tuple[Cohort, ...]
    base_capacity: np.ndarray  # (T, K) t LCE/yr from the data
    added: np.ndarray  # (R, K) t LCE/yr from projects and expansion, online
    ramping: np.ndarray  # (R, K) part of `added` still ramping up
    ramp_months_left: np.ndarray  # (R, K)
    running: np.ndarray  # (R, K) share of capacity running
    cost_low_path: np.ndarray  # (T, K) yuan/t LCE, cash cost of each cohort's cheapest units by month
    cost_high_path: np.ndarray  # (T, K) and of its dearest
    price_linked: np.ndarray  # (K,)
    building: np.ndarray  # (R, K) t LCE/yr ordered or announced and not yet online (the pipeline)
    cost_low: np.ndarray | None = None  # (K,) this month's (set by `at`)
    cost_high: np.ndarray | None = None

    @classmethod
    def create(cls, supply: SupplyData, n_months: int, replicates: int, learning_rate: float = 0.0) -> SupplyBook:
        k = len(supply.cohorts)
        low, high = cost_paths(supply, n_months, learning_rate)
        book = cls(
            cohorts=supply.cohorts,
            base_capacity=capacity_path(supply, n_months),
            added=np.zeros((replicates, k)),
            ramping=np.zeros((replicates, k)),
            ramp_months_left=np.zeros((replicates, k)),
            running=np.ones((replicates, k)),
            cost_low_path=low,
            cost_high_path=high,
            price_linked=np.array([c.price_linked_share for c in supply.cohorts]),
            building=np.zeros((replicates, k)),
        )
        book.at(0)
        return book

    def at(self, month: int) -> None:
        """Set this month's cash costs (``cost_low``, ``cost_high``, (K,) yuan/t LCE)."""
        self.cost_low = self.cost_low_path[month]
        self.cost_high = self.cost_high_path[month]

    def index(self, cohort: str) -> int:
        for k, c in enumerate(self.cohorts):
            if c.cohort == cohort:
                return k
        raise KeyError(cohort)

    def capacity(self, month: int) -> np.ndarray:
        """Installed effective capacity this month, (R, K) t LCE/yr."""
        return self.base_capacity[month][None, :] + self.added

    def available(self, month: int) -> np.ndarray:
        """Capacity able to produce this month (ramping additions pro rata), (R, K) t LCE/yr."""
        return self.capacity(month) - self.ramping

    def add(self, rows: np.ndarray, cols: np.ndarray, amount: np.ndarray, ramp_months: float) -> None:
        """New capacity (projects, expansions) that ramps up as a firm's plant does (`agents.book.start_ramp`)."""
        np.add.at(self.added, (rows, cols), amount)
        start_ramp(self.ramping, self.ramp_months_left, rows, cols, amount, ramp_months)

    def advance_ramp(self) -> None:
        """One month of ramp-up (`agents.book.ramp_step`)."""
        self.ramping, self.ramp_months_left = ramp_step(self.ramping, self.ramp_months_left)


@dataclass
class SupplyMonth:
    """One month of the world lithium market, per replicate (t LCE/month unless stated)."""

    production: np.ndarray
    released: np.ndarray  # from stockpile releases
    demand: np.ndarray  # buyers' demand plus the chain's restocking (less when it destocks)
    served: np.ndarray  # what production, stocks (and in path mode the supply gap) served of it
    to_buyers: np.ndarray  # the part served to the buyers (China's converters and the rest of the world)
    unmet: np.ndarray
    inventory: np.ndarray  # t LCE at the end of the month
    capacity: np.ndarray  # t LCE/yr installed
    curtailed: np.ndarray  # t LCE/yr curtailed or withheld
    marginal_cost: np.ndarray  # yuan/t LCE incl. VAT, the break-even price of the last unit needed
    price: np.ndarray  # yuan/t LCE incl. VAT, this month's
    by_cohort: np.ndarray  # (R, K) production, t LCE/month
    gap: np.ndarray  # path mode: demand that production and stocks could not cover at the pinned price
    stock_change: np.ndarray  # t LCE, change of the inventory this month


class WorldMarket:
    """The carbonate market of a batch in the market mode: cohorts, stocks, the price.

    Args:
        book: the supply cohorts.
        scenario: events and the starting price.
        params: model parameters (the supply stage's declarations).
        replicates: R.
    """

    def __init__(
        self, book: SupplyBook, scenario: Scenario, params, replicates: int, pinned: np.ndarray | None = None
    ) -> None:
        self.book = book
        self.params = params
        self.events = scenario.supply_events
        self.pinned = pinned  # (R, T) yuan/t incl. VAT: the scenario's price (path mode), or None (market mode)
        start = pinned[:, 0] if pinned is not None else np.full(replicates, float(scenario.price_path()[0]))
        self.price = np.array(start, dtype=float)  # yuan/t incl. VAT
        self.expected = self.price.copy()  # the long-run price mines expect, yuan/t incl. VAT
        self._demand_history: list[np.ndarray] = []  # the salt demand the price answers to, t LCE/month
        self.smoothed = self.price.copy()
        self.inventory = np.full(replicates, np.nan)  # set from the first month's demand
        self.last_target = self.price.copy()  # this month's clearing price (for forward prices)

    def _withheld(self, month: int, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Event effects this month: withheld capacity (R, K), forced restarts and holds (K,), released t LCE."""
        k = len(self.book.cohorts)
        withheld = np.zeros_like(capacity)
        restart = np.zeros(k, dtype=bool)
        hold = np.zeros(k, dtype=bool)
        released = 0.0
        for event in self.events:
            if not event.start <= month <= event.until:
                continue
            if event.kind == "stockpile_release":
                released += event.amount / (event.until - event.start + 1)
                continue
            col = self.book.index(event.cohort)
            if event.kind == "suspension":
                withheld[:, col] += event.capacity
            elif event.kind == "export_restriction":
                withheld[:, col] += event.share * capacity[:, col]
            elif event.kind == "restart":
                restart[col] = True
            elif event.kind == "hold_curtailment":
                hold[col] = True
        return withheld, restart, hold, np.full(capacity.shape[0], released)

    def withheld_fraction(self, month: int) -> np.ndarray:
        """The share of each cohort's data capacity that events withhold this month, (K,): suspended capacity over
        the cohort's capacity, or an export restriction's share (the same in every replicate)."""
        base = self.book.base_capacity[month]
        out = np.zeros(len(self.book.cohorts))
        for event in self.events:
            if not event.start <= month <= event.until or event.kind not in ("suspension", "export_restriction"):
                continue
            col = self.book.index(event.cohort)
            if event.kind == "suspension":
                out[col] += event.capacity / max(base[col], 1.0)
            else:
                out[col] += event.share
        return np.minimum(out, 1.0)

    def step(self, month: int, demand: np.ndarray, price_demand: np.ndarray | None = None) -> SupplyMonth:
        """Produce, serve ``demand`` (t LCE/month per replicate) from production and stocks, set next price.

        ``price_demand`` is the demand for lithium salts the price answers to (default ``demand``): China's
        converters may ask for less feedstock than their buyers want when they are short of capacity or idle,
        but the price must still see the buyers' demand.

        Market mode: what production and stocks cannot serve is unmet, and the price moves toward the clearing
        price. Path mode (the price pinned by the scenario): demand is always served; what production and stocks
        cannot cover at the pinned price is the supply gap (reported), never a shortage to converters.
        """
        price_demand = demand if price_demand is None else price_demand
        p, book = self.params, self.book
        if np.isnan(self.inventory).any():
            self.inventory = p.initial_inventory_days * price_demand / DAYS_PER_MONTH
            self._chain_stock = p.chain_stock_days * price_demand / DAYS_PER_MONTH
        # the chain's own stocks follow demand: filling them is demand for salts, emptying them is supply
        chain_stock = p.chain_stock_days * price_demand / DAYS_PER_MONTH
        restock = chain_stock - self._chain_stock
        self._chain_stock = chain_stock
        wanted = np.maximum(demand + restock, 0.0)  # buyers' demand and the chain's restocking
        if self.pinned is not None:
            self.price = np.array(self.pinned[:, month], dtype=float)
        price = self.price.copy()
        book.at(month)
        capacity = book.capacity(month)
        available = book.available(month)
        withheld, restart, hold, released = self._withheld(month, capacity)
        self._demand_history.append(np.asarray(price_demand, dtype=float))

        # cohort costs are excl. VAT, like the accounts; the price is the spot quote incl. VAT
        vat = 1.0 + p.vat_rate
        target = Producer.running_target(
            self.smoothed / vat, book.cost_low, book.cost_high, book.price_linked, p.curtail_loss_tolerance
        )
        target = np.where(restart, 1.0, np.where(hold, np.minimum(target, book.running), target))
        book.running = Producer.next_running(book.running, target, p.curtail_months, p.restart_months)

        # only capacity that could run counts: ramping additions are neither running nor curtailed
        able = np.maximum(available - withheld, 0.0)
        running_capacity = able * book.running
        by_cohort = running_capacity * p.supply_operating_rate / 12.0
        production = by_cohort.sum(axis=-1)
        on_hand = self.inventory + production + released
        if self.pinned is None:
            taken = np.minimum(wanted, on_hand)
            gap = np.zeros_like(taken)
        else:
            taken = wanted.astype(float)
            gap = np.maximum(wanted - on_hand, 0.0)
        stock_change = on_hand + gap - taken - self.inventory
        self.inventory = on_hand + gap - taken
        # buyers and restocking share a shortfall pro rata
        to_buyers = demand * np.divide(taken, wanted, out=np.ones_like(taken), where=wanted > 0)
        unmet = wanted - taken
        curtailed = (able * (1.0 - book.running) + np.minimum(withheld, available)).sum(axis=-1)

        # the clearing price at this month's stocks; in market mode next month's price moves toward it
        # break-even prices: a unit with fixed cost c and price-linked share l needs P >= c / (1 - l)
        cost_low = np.broadcast_to(vat * book.cost_low / (1.0 - book.price_linked), available.shape)
        cost_high = np.broadcast_to(vat * book.cost_high / (1.0 - book.price_linked), available.shape)
        needed = price_demand * 12.0 / p.supply_operating_rate
        cost = marginal_cost(needed, able, cost_low, cost_high, p.supply_scarcity_elasticity)
        cover = np.divide(
            self.inventory, price_demand / DAYS_PER_MONTH, out=np.full_like(demand, 1e3), where=price_demand > 0
        )
        self.last_target = clearing_target(
            cost, cover, p.target_inventory_days, p.stock_price_elasticity, p.max_price_multiple, p.min_price_multiple
        )
        if self.pinned is None:
            self.price = clearing_price(price, self.last_target, p.price_adjustment, p.max_price_move)
        self.smoothed = self.smoothed + (price - self.smoothed) / p.curtail_smoothing_months
        self.expected = self.expected + (price - self.expected) / p.mine_expectation_months
        return SupplyMonth(
            production=production,
            released=released,
            demand=wanted,
            served=taken,
            to_buyers=to_buyers,
            unmet=unmet,
            inventory=self.inventory.copy(),
            capacity=capacity.sum(axis=-1),
            curtailed=curtailed,
            marginal_cost=cost,
            price=price,
            by_cohort=by_cohort,
            gap=gap,
            stock_change=stock_change,
        )

    def expansion(self, month: int) -> np.ndarray:
        """Capacity each cohort orders this quarter, (R, K) t LCE/yr (`Producer.expansion_orders`).

        Producers expect demand to keep growing as it did over the last year (at most ``mine_growth_cap``) until new
        capacity could arrive (``mine_construction_lag``), and plan ``1 + mine_reserve_margin`` times the capacity
        that demand needs at their operating rate; the shortfall is what the installed capacity and the pipeline
        (orders and announced projects not yet online) do not cover.
        """
        p, book = self.params, self.book
        history = self._demand_history
        if len(history) < 24:
            return np.zeros_like(book.added)
        # (R, 12) C-ordered, reduced along the last axis: a replicate's sum does not depend on its batch
        last = 12.0 * np.stack(history[-12:], axis=-1).mean(axis=-1)
        before = 12.0 * np.stack(history[-24:-12], axis=-1).mean(axis=-1)
        growth = np.divide(last, before, out=np.ones_like(last), where=before > 0) - 1.0
        growth = np.clip(growth, 0.0, p.mine_growth_cap)
        expected = last * (1.0 + growth) ** (p.mine_construction_lag / 12.0)
        required = expected / p.supply_operating_rate * (1.0 + p.mine_reserve_margin)
        pipeline = (book.capacity(month) + book.building).sum(axis=-1)
        shortfall = np.maximum(required - pipeline, 0.0)
        return Producer.expansion_orders(
            shortfall,
            book.capacity(month),
            self.expected / (1.0 + p.vat_rate),
            book.cost_low,
            book.cost_high,
            book.price_linked,
            p.mine_hurdle,
        )


def event_cohorts(events: tuple[SupplyEvent, ...]) -> set[str]:
    """Cohorts named by events (checked against the data by the model)."""
    return {e.cohort for e in events if e.cohort}
