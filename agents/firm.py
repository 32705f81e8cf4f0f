"""Firms: lithium salt makers, LFP cathode makers and cell makers, as Mesa agents.

Each firm is a `mesa.Agent` with an identity (id, name, region) and decision rules. Its state lives in its
stage's `FirmBook` (``agents.book``), a struct of ``(R, N)`` numpy arrays: column ``column`` holds this firm
in each of the batch's R replicates, so the monthly step and the decisions run vectorised over all firms of a
stage and all replicates at once. The decision rules are class methods over the whole book (pure numpy, in
`agents.decisions`); an agent is the firm's identity and a view on its column (docs/model.md, "Entities,
state variables and scales").
"""

from __future__ import annotations

from typing import Any, ClassVar

import mesa
import numpy as np

from agents.book import FirmBook
from agents.decisions import investment_orders, loss_streaks, offer_share, return_on_capital


class Firm(mesa.Agent):
    """A producing firm; its state is column ``column`` of ``book`` (one row per replicate).

    Attributes:
        firm_id: stable identifier (registry id for named firms, ``<stage>_<n>`` for synthetic ones).
        name: display name.
        region: the key of the firm's cluster (``suining``, a rival cluster, or ``rest_of_china``).
        role: ``registry``, ``project``, ``synthetic`` or ``entrant``.
    """

    stage_key: ClassVar[str] = ""

    def __init__(self, model: mesa.Model, book: FirmBook, column: int) -> None:
        super().__init__(model)
        cols = book.columns
        self.book = book
        self.column = column
        self.firm_id = cols.firm_id[column]
        self.name = cols.name[column]
        self.role = cols.role[column]
        self.region = model.data.clusters.keys[int(cols.cluster[column])]

    # views on the book, one value per replicate (for notebooks and tests)
    @property
    def capacity(self) -> np.ndarray:
        return self.book.capacity[:, self.column]

    @property
    def cash(self) -> np.ndarray:
        return self.book.cash[:, self.column]

    @property
    def active(self) -> np.ndarray:
        return self.book.active[:, self.column]

    # --- decisions, vectorised over the whole book -----------------------------------------------------------
    @classmethod
    def input_cost(cls, book: FirmBook, materials: np.ndarray, params: Any) -> np.ndarray:
        """Materials per unit of output each firm pays, yuan/u, ``(R, N)``: the market's, for most firms."""
        return np.broadcast_to(materials[:, None], book.shape)

    @classmethod
    def controllable_cost(cls, book: FirmBook, input_cost: np.ndarray, processing: np.ndarray) -> np.ndarray:
        """The cost firms compete on: inputs bought at one market price by every firm of a stage are passed
        through and do not tell firms apart, so only processing counts."""
        return processing

    @classmethod
    def offers(cls, book: FirmBook, available: np.ndarray, margin: np.ndarray, params: Any) -> np.ndarray:
        """Monthly quantity each firm offers, u/month, from available capacity in u/yr (see `offer_share`)."""
        share = offer_share(margin, book.idle, params.min_utilization, params.cut_margin)
        return np.where(book.active, available / 12.0 * share, 0.0)

    @classmethod
    def update_after_month(
        cls, book: FirmBook, margin: np.ndarray, cash_flow: np.ndarray, params: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Update expectations and loss streaks; return the masks of firms that idle and that exit now."""
        w = params.expectation_weight
        book.expected_margin = np.where(
            book.active, book.expected_margin + w * (margin - book.expected_margin), book.expected_margin
        )
        book.margin_year = np.where(
            book.active, book.margin_year + (margin - book.margin_year) / 12.0, book.margin_year
        )
        book.loss_months, idle_now, exit_now = loss_streaks(
            book.loss_months,
            cash_flow,
            margin,
            book.active,
            book.idle,
            params.idle_after_loss_months,
            params.exit_after_loss_months,
        )
        # a firm closes when it has run out of road: a long streak and debts beyond what the plant would fetch
        insolvent = book.debt > book.cash + params.liquidation_value * book.capital
        return idle_now, exit_now & insolvent

    @classmethod
    def expected_margin(cls, book: FirmBook, params: Any) -> np.ndarray:
        """The margin a firm expects of new capacity: adaptive, plus the recent trend extrapolated."""
        return book.expected_margin + params.expectation_trend * (book.expected_margin - book.margin_year)

    @classmethod
    def own_capex(cls, book: FirmBook, capex: float, params: Any) -> np.ndarray:
        """Capex per unit the firm itself pays at its cluster: less its city's capex subsidy, or in the rest of China
        local incentives."""
        # the rest of China's local incentives; a rival city's are its own policy, in capex_factor
        local = np.where(book.columns.cluster == book.columns.reference, 1.0 - params.local_incentive_share, 1.0)
        return capex * book.columns.capex_location * book.capex_factor * local

    @classmethod
    def expected_utilization(cls, book: FirmBook, params: Any) -> np.ndarray:
        """Utilisation a firm expects of new lines: a blend of its own and its stage's (capacity-weighted)."""
        running = book.active & (book.capacity > 0)
        cap = np.where(running, book.capacity, 0.0)
        total = cap.sum(axis=-1, keepdims=True)
        stage = np.divide(
            (cap * book.utilization_q).sum(axis=-1, keepdims=True), total, out=np.zeros_like(total), where=total > 0
        )
        w = params.own_utilization_weight
        return w * book.utilization_q + (1.0 - w) * stage

    @classmethod
    def expected_return(cls, book: FirmBook, price: np.ndarray, capex: float, params: Any) -> np.ndarray:
        """Expected annual return on the capital of new capacity, 1/yr (see `agents.decisions`)."""
        return return_on_capital(
            cls.expected_margin(book, params),
            price[:, None],
            cls.expected_utilization(book, params),
            book.labour,
            params.annual_wage * book.columns.wage_location,
            cls.own_capex(book, capex, params),
            params.depreciation_years,
        )

    @classmethod
    def plan_investment(cls, book: FirmBook, price: np.ndarray, capex: float, params: Any) -> np.ndarray:
        """Capacity each firm orders this quarter, u/yr (see `agents.decisions.investment_orders`)."""
        bankable = book.debt <= params.max_leverage * (book.capital + book.cash)
        return investment_orders(
            book.capacity,
            cls.expected_return(book, price, capex, params),
            cls.expected_utilization(book, params),
            book.active & ~book.idle & bankable,
            params.investment_hurdle,
            params.investment_sensitivity,
            params.max_expansion_share,
            params.investment_utilization,
            params.investment_utilization_span,
        )


class SaltMaker(Firm):
    """Lithium carbonate/hydroxide maker (t LCE). Buys feedstock by formula unless its group owns a mine; then it
    decides on the group's mining cost and accounts at the transfer price (docs/model.md, "Submodels: offers and
    allocation")."""

    stage_key = "lithium_salt"

    @classmethod
    def input_cost(cls, book: FirmBook, materials: np.ndarray, params: Any) -> np.ndarray:
        """Feedstock per t LCE the group decides on: its own mines' cash cost for the part they supply, bought
        concentrate at the formula price (yuan/t LCE) for the rest, less Suining's discount for nearby Sichuan
        spodumene. The plant's accounts may pay otherwise (a lagged transfer price, `sim.engine.model`)."""
        bought = materials[:, None] * np.where(book.suining, 1.0 - params.suining_feedstock_discount, 1.0)
        return book.own_share * book.own_feedstock_cost + (1.0 - book.own_share) * bought

    @classmethod
    def controllable_cost(cls, book: FirmBook, input_cost: np.ndarray, processing: np.ndarray) -> np.ndarray:
        """Converters differ in what their feedstock costs them (own mine, bought, nearby ore): it counts."""
        return input_cost + processing


class CathodeMaker(Firm):
    """LFP cathode maker (t)."""

    stage_key = "lfp_cathode"


class CellMaker(Firm):
    """Lithium-ion cell maker (GWh), all chemistries at the national LFP share."""

    stage_key = "battery"


FIRM_TYPES: dict[str, type[Firm]] = {cls.stage_key: cls for cls in (SaltMaker, CathodeMaker, CellMaker)}


def firm_type(stage_key: str) -> type[Firm]:
    """The agent class of a stage's firms (plain `Firm` for a stage without its own rules)."""
    return FIRM_TYPES.get(stage_key, Firm)
