"""Firms: lithium salt makers, LFP cathode makers and cell makers.

Each firm is a Mesa agent with an identity (id, name, region) and decision rules. Its state lives in its
segment's `FirmBook`, a struct of numpy arrays, so the monthly market step and the decisions run vectorised over
all firms of a segment; the agent is a view on row ``index`` of the book. Rows are never reused: a firm that
exits keeps its row (inactive, zero capacity), so per-firm histories stay aligned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from agents.decisions import investment_orders, loss_streaks, offer_fraction, return_on_capital

if TYPE_CHECKING:
    from sim.inputs.params import ModelParams

SEGMENTS = ("lithium_salt", "lfp_cathode", "battery")
UNITS = {"lithium_salt": "t LCE", "lfp_cathode": "t", "battery": "GWh"}

# float state of a firm, one array each; units per segment (u = t LCE, t or GWh)
FLOAT_FIELDS = {
    "capacity": "u/yr, installed",
    "ramping": "u/yr, part of capacity still ramping up",
    "ramp_months_left": "months until ramping capacity is fully available",
    "conversion_cost": "yuan/u at start, reagents/consumables/services",
    "energy_cost": "yuan/u at start",
    "own_feedstock_cost": "yuan/t LCE, mining cost of an integrated salt maker (nan if it buys feedstock)",
    "labour": "workers per u/yr of capacity",
    "capital": "yuan, gross depreciable plant",
    "cash": "yuan",
    "debt": "yuan",
    "vat_credit": "yuan, input VAT carried forward (留抵)",
    "expected_margin": "fraction of price, adaptive expectation of the variable margin",
    "utilization": "fraction, last month's output / available capacity",
    "utilization_q": "fraction, average utilisation over the last quarter",
    "loss_months": "consecutive months with a net loss",
    "cost_factor": "x, policy/learning multiplier on conversion and energy cost",
    "energy_factor": "x, policy multiplier on energy cost (energy support)",
    "capex_factor": "x, share of capex the firm pays itself (1 - capex subsidy)",
    "utilization_y": "fraction, average utilisation over the last year",
}
BOOL_FIELDS = ("suining", "active", "idle", "owns_feedstock")


class FirmBook:
    """Struct-of-arrays state of one segment's firms. Row ``i`` belongs to ``agents[i]``."""

    def __init__(self, segment: str) -> None:
        self.segment = segment
        self.agents: list[Firm] = []
        for name in FLOAT_FIELDS:
            setattr(self, name, np.zeros(0))
        for name in BOOL_FIELDS:
            setattr(self, name, np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return len(self.agents)

    def extend(self, n: int, **values: np.ndarray | float | bool) -> range:
        """Append ``n`` rows (fields not given are 0/False); return their indices. Agents attach after."""
        unknown = set(values) - set(FLOAT_FIELDS) - set(BOOL_FIELDS)
        if unknown:
            raise KeyError(f"unknown firm fields {sorted(unknown)}")
        start = len(self.capacity)
        for names, dtype, default in ((FLOAT_FIELDS, float, 0.0), (BOOL_FIELDS, bool, False)):
            for name in names:
                value = values.get(name, default)
                new = np.full(n, value, dtype) if np.ndim(value) == 0 else np.asarray(value, dtype)
                setattr(self, name, np.concatenate((getattr(self, name), new)))
        return range(start, start + n)

    def available(self) -> np.ndarray:
        """Capacity available this month, u/yr: ramping tranches count pro rata to months elapsed."""
        return self.capacity - self.ramping

    def add_capacity(self, index: np.ndarray, amount: np.ndarray, ramp_months: float) -> None:
        """Tranches come online (rows may repeat): each ramps up linearly over ``ramp_months``.

        A tranche arriving while an earlier one still ramps merges with it: the remainder and the new one
        ramp together from now.
        """
        np.add.at(self.capacity, index, amount)
        np.add.at(self.ramping, index, amount)
        np.maximum.at(self.ramp_months_left, index, ramp_months)

    def advance_ramp(self) -> None:
        """One month of ramp-up: each ramping tranche loses 1/months_left of what still ramps."""
        on = self.ramp_months_left > 0
        self.ramping[on] *= 1.0 - 1.0 / self.ramp_months_left[on]
        self.ramp_months_left[on] -= 1.0
        self.ramping[self.ramp_months_left <= 0] = 0.0


class Firm(mesa.Agent):
    """A producing firm; state lives in ``book`` at row ``index``.

    Attributes:
        firm_id: stable identifier (registry id for named firms, ``<segment>_<n>`` for synthetic ones).
        name: display name.
        region: ``suining`` or ``rest_of_china``.
    """

    segment: ClassVar[str]

    def __init__(self, model: mesa.Model, book: FirmBook, index: int, firm_id: str, name: str,
                 region: str) -> None:
        super().__init__(model)
        self.firm_id = firm_id
        self.name = name
        self.region = region
        self.book = book
        self.index = index
        book.agents.append(self)

    @classmethod
    def create_many(cls, model: mesa.Model, book: FirmBook, firm_ids: list[str], names: list[str],
                    region: str, **state: np.ndarray | float | bool) -> list[Firm]:
        """Create firms in bulk: one book extension, one agent per row."""
        rows = book.extend(len(firm_ids), suining=(region == "suining"), active=True, **state)
        return [cls(model, book, i, fid, nm, region) for i, fid, nm in zip(rows, firm_ids, names, strict=True)]

    # views on the book (read-only conveniences for notebooks and tests)
    @property
    def capacity(self) -> float:
        return float(self.book.capacity[self.index])

    @property
    def cash(self) -> float:
        return float(self.book.cash[self.index])

    @property
    def active(self) -> bool:
        return bool(self.book.active[self.index])

    def exit_market(self) -> None:
        """Close the plant: capacity is scrapped, the row stays for the record, the agent leaves the model."""
        b = self.book
        b.active[self.index] = False
        b.idle[self.index] = False
        b.capacity[self.index] = 0.0
        b.ramping[self.index] = 0.0
        self.remove()

    # --- decisions, vectorised over the whole book -------------------------------------------------------
    @classmethod
    def offers(cls, book: FirmBook, available: np.ndarray, margin: np.ndarray, params: ModelParams) -> np.ndarray:
        """Monthly quantity each firm offers, u/month, from available capacity in u/yr (see `offer_fraction`)."""
        frac = offer_fraction(margin, params.min_utilization, params.cut_margin)
        return np.where(book.active & ~book.idle, available / 12.0 * frac, 0.0)

    @classmethod
    def update_after_month(cls, book: FirmBook, margin: np.ndarray, cash_flow: np.ndarray,
                           params: ModelParams) -> tuple[np.ndarray, np.ndarray]:
        """Update expectations and loss streaks; return the masks of firms that idle and that exit now."""
        w = params.expectation_weight
        book.expected_margin = np.where(
            book.active, book.expected_margin + w * (margin - book.expected_margin), book.expected_margin
        )
        book.loss_months, idle_now, exit_now = loss_streaks(
            book.loss_months, cash_flow, margin, book.active, book.idle,
            params.idle_after_loss_months, params.exit_after_loss_months,
        )
        # a firm closes when it has run out of road: a long streak and debts beyond what the plant would fetch
        insolvent = book.debt > book.cash + params.liquidation_value * book.capital
        return idle_now, exit_now & insolvent

    @classmethod
    def expected_return(cls, book: FirmBook, price: float, params: ModelParams) -> np.ndarray:
        """Expected annual return on the capital of new capacity, 1/yr (see `agents.decisions`)."""
        return return_on_capital(book.expected_margin, price, book.utilization_q, book.labour, params.annual_wage,
                                 params.seg("capex", cls.segment) * book.capex_factor, params.depreciation_years)

    @classmethod
    def plan_investment(cls, book: FirmBook, price: float, params: ModelParams) -> np.ndarray:
        """Capacity each firm orders this quarter, u/yr (see `agents.decisions.investment_orders`)."""
        bankable = book.debt <= params.max_leverage * (book.capital + book.cash)
        return investment_orders(
            book.capacity, cls.expected_return(book, price, params), book.utilization_q,
            book.active & ~book.idle & bankable, params.investment_hurdle, params.investment_sensitivity,
            params.max_expansion_share, params.investment_utilization,
        )


class SaltMaker(Firm):
    """Lithium carbonate/hydroxide maker (t LCE). Buys feedstock priced off carbonate unless it owns a mine."""

    segment = "lithium_salt"

    @staticmethod
    def main_input_cost(book: FirmBook, carbonate_price: float, params: ModelParams) -> np.ndarray:
        """Feedstock per t LCE: own mining cost, or bought concentrate priced off carbonate (yuan/t LCE).

        Bought: ``feedstock_share x max(P - conversion_allowance, 0)``, the usual formula-pricing of
        spodumene off the salt price net of conversion.
        """
        bought = params.feedstock_share * max(carbonate_price - params.conversion_allowance, 0.0)
        bought = bought * np.where(book.suining, 1.0 - params.suining_feedstock_discount, 1.0)
        return np.where(book.owns_feedstock, book.own_feedstock_cost, bought)


class CathodeMaker(Firm):
    """LFP cathode maker (t). Lithium input: lce_per_t_lfp t LCE per t, at the carbonate price."""

    segment = "lfp_cathode"

    @staticmethod
    def main_input_cost(book: FirmBook, carbonate_price: float, params: ModelParams) -> np.ndarray:
        return np.full(len(book), params.lce_per_t_lfp * carbonate_price)


class CellMaker(Firm):
    """Lithium-ion cell maker (GWh), all chemistries at the national LFP share."""

    segment = "battery"

    @staticmethod
    def main_input_cost(book: FirmBook, cathode_cost_per_gwh: float, params: ModelParams) -> np.ndarray:
        return np.full(len(book), cathode_cost_per_gwh)


FIRM_TYPES: dict[str, type[Firm]] = {cls.segment: cls for cls in (SaltMaker, CathodeMaker, CellMaker)}
