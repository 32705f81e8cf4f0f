"""The state of one stage's firms across a batch of replicates: a struct of ``(R, N)`` numpy arrays.

Row ``r`` is replicate ``r`` of the batch; column ``j`` is one firm, the same firm in every replicate (a named
Suining plant, a pipeline project, synthetic rest-of-China firm ``j``, or the ``k``-th entrant). A firm that
has not entered, was not built or has exited in a replicate is inactive there (``active`` False, zero
capacity); columns are never reused, so per-firm histories stay aligned. Every field is declared below with
its unit (``u`` is the stage's unit: t LCE, t or GWh). See docs/model.md, "Entities, state variables and scales".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from sim.inputs.chain import Stage

COLUMN_ROLES = ("registry", "project", "synthetic", "cluster", "entrant")


@dataclass
class Columns:
    """Who the columns of a book are (the same in every replicate).

    ``cluster`` indexes the clusters (`sim.inputs.clusters`, the home city Suining is 0); ``group`` numbers the firm
    groups of the stage (a named group's plants share a number; every other column is a group of its own). The
    location fields say what running a plant there costs relative to the rest of China.
    """

    firm_id: list[str]
    name: list[str]
    role: list[str]  # one of COLUMN_ROLES
    cluster: np.ndarray  # int (N,): where the plant is
    group: np.ndarray  # int (N,): the firm group it belongs to
    listed_parent: np.ndarray  # bool (N,): a listed group finances the plant through losses
    tier: list[str]  # the national tier of the plant's group (tiers.csv), or "entrant"
    energy_location: np.ndarray | None = None  # (N,) power price at the plant's cluster over the reference's
    logistics: np.ndarray | None = None  # (N,) yuan per unit of freight beyond the reference's
    wage_location: np.ndarray | None = None  # (N,) wage at the cluster over the reference's
    capex_location: np.ndarray | None = None  # (N,) capex at the cluster (land) over the reference's
    reference: int = -1  # the rest of China's cluster code
    # how a plant's accounts pay for its main input, when it has feedstock terms of its own (salt plants of the
    # registry): {lag in months: weight} of market-linked parts, and the share paid at its group's mining cost
    accounts_linked: list[dict[int, float]] = field(default_factory=list)
    accounts_at_cost: np.ndarray | None = None  # (N,)
    accounts_terms: list[int] = field(default_factory=list)  # the columns with such terms

    def __post_init__(self) -> None:
        n = len(self.firm_id)
        if not self.accounts_linked:
            self.accounts_linked = [{} for _ in self.firm_id]
        if self.accounts_at_cost is None:
            self.accounts_at_cost = np.zeros(n)
        for name, default in (("energy_location", 1.0), ("logistics", 0.0), ("wage_location", 1.0)):
            if getattr(self, name) is None:
                setattr(self, name, np.full(n, default))
        if self.capex_location is None:
            self.capex_location = np.ones(n)

    @property
    def suining(self) -> np.ndarray:
        """(N,) bool: the home city's plants."""
        return self.cluster == 0

    def in_cluster(self, code: int) -> np.ndarray:
        """(N,) bool: the plants of cluster ``code``."""
        return self.cluster == code

    def __len__(self) -> int:
        return len(self.firm_id)

    def of_role(self, role: str) -> np.ndarray:
        return np.flatnonzero(np.array([r == role for r in self.role], dtype=bool))


def _state(doc: str) -> np.ndarray:
    return field(default=None, metadata={"doc": doc})  # type: ignore[return-value]


@dataclass
class FirmBook:
    """Firm state of one stage for R replicates and N firm columns; every array field has shape (R, N)."""

    stage: Stage
    columns: Columns
    # capacity and its pipeline
    capacity: np.ndarray = _state("u/yr installed")
    ramping: np.ndarray = _state("u/yr, part of capacity still ramping up")
    ramp_months_left: np.ndarray = _state("months until ramping capacity is fully available")
    capex_rate: np.ndarray = _state("yuan/month of capex being spent on plant under construction (firm's share)")
    subsidy_rate: np.ndarray = _state("yuan/month of that capex paid by the government (capex subsidy)")
    funded_rate: np.ndarray = _state("yuan/month of capex of registry and pipeline plants, financed on completion")
    # costs
    conversion_cost: np.ndarray = _state("yuan/u at the start, reagents, consumables and services")
    energy_cost: np.ndarray = _state("yuan/u at the start")
    own_feedstock_cost: np.ndarray = _state(
        "yuan/t LCE, the group's cash cost of feedstock from its own mines, excl. conversion (0 if it buys)"
    )
    own_share: np.ndarray = _state("fraction of the plant's feedstock its group's own mines supply")
    labour: np.ndarray = _state("workers per u/yr of capacity")
    cost_factor: np.ndarray = _state("x, learning, upgrade and innovation multiplier on processing cost")
    energy_factor: np.ndarray = _state("x, policy multiplier on energy cost (energy support)")
    grade_factor: np.ndarray = _state("x, land-efficiency grade's multiplier on energy cost")
    capex_factor: np.ndarray = _state("x, share of capex the firm pays itself (1 - capex subsidy)")
    # finance
    capital: np.ndarray = _state("yuan, depreciable plant (book value)")
    cash: np.ndarray = _state("yuan")
    debt: np.ndarray = _state("yuan")
    vat_credit: np.ndarray = _state("yuan, input VAT carried forward (留抵)")
    # expectations and history
    expected_margin: np.ndarray = _state("fraction of price, adaptive expectation of the variable margin")
    margin_year: np.ndarray = _state("fraction of price, the margin averaged over about a year")
    utilization: np.ndarray = _state("fraction, last month's output / available capacity")
    utilization_q: np.ndarray = _state("fraction, average utilisation over the last quarter")
    utilization_y: np.ndarray = _state("fraction, average utilisation over the last year")
    loss_months: np.ndarray = _state("consecutive months of negative operating cash flow")
    d_years: np.ndarray = _state("consecutive years graded D in the land-efficiency review")
    # status
    active: np.ndarray = _state("bool: the firm exists and has not exited")
    idle: np.ndarray = _state("bool: plant idled after sustained losses")
    owns_feedstock: np.ndarray = _state("bool: its group's mines supply some of its feedstock")

    # what an exit zeroes: capacity and its ramp, construction spending, the balance sheet
    CLOSED_ON_EXIT = (
        *("capacity", "ramping", "ramp_months_left", "capex_rate", "subsidy_rate", "funded_rate"),
        *("capital", "cash", "debt", "vat_credit"),
    )
    ARRAYS = (
        "capacity",
        "ramping",
        "ramp_months_left",
        "capex_rate",
        "subsidy_rate",
        "funded_rate",
        "conversion_cost",
        "energy_cost",
        "own_feedstock_cost",
        "own_share",
        "labour",
        "cost_factor",
        "energy_factor",
        "grade_factor",
        "capex_factor",
        "capital",
        "cash",
        "debt",
        "vat_credit",
        "expected_margin",
        "margin_year",
        "utilization",
        "utilization_q",
        "utilization_y",
        "loss_months",
        "d_years",
        "active",
        "idle",
        "owns_feedstock",
    )
    BOOLS = ("active", "idle", "owns_feedstock")
    ONES = ("cost_factor", "energy_factor", "grade_factor", "capex_factor")

    @classmethod
    def empty(cls, stage: Stage, columns: Columns, replicates: int) -> FirmBook:
        """A book of inactive firms: zeros, multipliers at one, no feedstock of their own."""
        shape = (replicates, len(columns))
        values = {}
        for name in cls.ARRAYS:
            if name in cls.BOOLS:
                values[name] = np.zeros(shape, dtype=bool)
            elif name in cls.ONES:
                values[name] = np.ones(shape)
            else:
                values[name] = np.zeros(shape)
        return cls(stage=stage, columns=columns, **values)

    @property
    def shape(self) -> tuple[int, int]:
        return self.capacity.shape

    @property
    def suining(self) -> np.ndarray:
        """(N,) bool: Suining's firms."""
        return self.columns.suining

    def available(self) -> np.ndarray:
        """Capacity available this month, u/yr: ramping tranches count pro rata to months elapsed."""
        return self.capacity - self.ramping

    def add_capacity(self, rows: np.ndarray, cols: np.ndarray, amount: np.ndarray, ramp_months: float) -> None:
        """Tranches come online (cells may repeat): each ramps up linearly over ``ramp_months``.

        A tranche arriving while an earlier one still ramps merges with it: the remainder and the new one ramp
        together from now.
        """
        np.add.at(self.capacity, (rows, cols), amount)
        start_ramp(self.ramping, self.ramp_months_left, rows, cols, amount, ramp_months)

    def advance_ramp(self) -> None:
        """One month of ramp-up (see `ramp_step`)."""
        self.ramping, self.ramp_months_left = ramp_step(self.ramping, self.ramp_months_left)

    def close(self, mask: np.ndarray) -> None:
        """Firms exit where ``mask``: capacity scrapped, construction stopped, the books closed (plant, cash,
        debt and tax credit liquidated, so an exited firm books nothing more); the column stays for the record."""
        if not mask.any():
            return
        for name in self.CLOSED_ON_EXIT:
            setattr(self, name, np.where(mask, 0.0, getattr(self, name)))
        self.active = self.active & ~mask
        self.idle = self.idle & ~mask


def book_fields() -> dict[str, str]:
    """Field name -> documentation, for docs and tests."""
    return {f.name: f.metadata["doc"] for f in fields(FirmBook) if "doc" in f.metadata}


def start_ramp(
    ramping: np.ndarray, months_left: np.ndarray, rows: np.ndarray, cols: np.ndarray, amount, ramp_months: float
) -> None:
    """New capacity at ``(rows, cols)`` starts ramping up over ``ramp_months`` (in place; cells may repeat). A
    tranche arriving while an earlier one still ramps merges with it: both ramp together from now. Firms' books
    and the world supply book ramp alike."""
    if ramp_months > 0:
        np.add.at(ramping, (rows, cols), amount)
        np.maximum.at(months_left, (rows, cols), ramp_months)


def ramp_step(ramping: np.ndarray, months_left: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One month of ramp-up: each ramping tranche loses ``1 / months_left`` of what still ramps, the whole of it
    in its last month (a fractional ``ramp_up_months`` ends with a part month)."""
    on = months_left > 0
    if not on.any():
        return ramping, months_left
    left = np.where(on, np.maximum(months_left, 1.0), 1.0)
    ramping = np.where(on, ramping * (1.0 - 1.0 / left), 0.0)
    months_left = np.where(on, months_left - 1.0, 0.0)
    return np.where(months_left <= 0, 0.0, ramping), months_left
