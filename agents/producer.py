"""World lithium supply: cohorts of mines, brine fields and recyclers as Mesa agents, and their decision rules.

A cohort (Australian tier-1 spodumene, Chinese lepidolite, South American brine, ...) is a group of producers
whose cash costs per t LCE, delivered to a Chinese converter and incl. conversion, spread evenly between a low
and a high bound; part of the cost moves with the carbonate price (royalties, the CORFO lease, black-mass
payables). Its state, one row per replicate, is a column of the `SupplyBook` (``sim.engine.supply``).
Decisions (docs/model.md, "Submodels: world lithium supply"):

- curtail and restart: the units whose cash cost is above the carbonate price averaged over the last months
  wind down over a few months; stopped units restart, over some months, once the averaged price covers their
  cost again;
- expand: producers plan capacity for the demand they expect when it could come online; each cohort takes up
  its part of the shortfall as far as the long-run expected price covers its incentive price, and the order
  arrives after a long construction lag.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np


class Producer(mesa.Agent):
    """One supply cohort; its state is column ``column`` of the supply book.

    Attributes:
        cohort: identifier in ``supply_cohorts.csv``.
        name: display name.
        resource: ``spodumene``, ``brine``, ``lepidolite`` or ``recycling``.
        region: where it produces.
    """

    def __init__(self, model: mesa.Model, book: Any, column: int) -> None:
        """``book`` is the batch's `sim.engine.supply.SupplyBook` (the engine owns it)."""
        super().__init__(model)
        cohort = book.cohorts[column]
        self.book = book
        self.column = column
        self.cohort = cohort.cohort
        self.name = cohort.name
        self.resource = cohort.resource
        self.region = cohort.region

    @property
    def running(self) -> np.ndarray:
        """Share of the cohort's capacity running, one value per replicate."""
        return self.book.running[:, self.column]

    # --- decisions, vectorised over cohorts and replicates ---------------------------------------------------
    @staticmethod
    def running_target(
        smoothed_price: np.ndarray,
        cost_low: np.ndarray,
        cost_high: np.ndarray,
        price_linked: np.ndarray,
        tolerance: float = 0.0,
    ) -> np.ndarray:
        """Share of each cohort that keeps running at the smoothed price, ``(R, K)``.

        A unit with fixed cost c and price-linked share l covers its cash cost when ``P >= c + l P``, i.e.
        ``c <= P (1 - l)``; it keeps running while its loss stays within ``tolerance`` of its cost
        (``c (1 - tolerance) <= P (1 - l)``): stopping a mine costs care and maintenance, offtake penalties and a
        restart, so producers carry losses for a while (2024-25: most cohorts ran through prices below their
        cash cost).
        """
        covered = smoothed_price[:, None] * (1.0 - price_linked) / (1.0 - tolerance)
        span = np.maximum(cost_high - cost_low, 1e-9)
        return np.clip((covered - cost_low) / span, 0.0, 1.0)

    @staticmethod
    def next_running(
        running: np.ndarray, target: np.ndarray, curtail_months: float, restart_months: float
    ) -> np.ndarray:
        """Move the running share toward the target gradually: down by at most ``1 / curtail_months`` a month
        (mines wind down over a few months: offtake contracts, stockpiles of ore, care-and-maintenance work),
        up by at most ``1 / restart_months`` (a restart takes works and a ramp-up)."""
        down = np.maximum(target, running - 1.0 / curtail_months)
        up = np.minimum(target, running + 1.0 / restart_months)
        return np.where(target < running, down, up)

    @staticmethod
    def expansion_orders(
        shortfall: np.ndarray,
        capacity: np.ndarray,
        expected_price: np.ndarray,
        cost_low: np.ndarray,
        cost_high: np.ndarray,
        price_linked: np.ndarray,
        hurdle: float,
    ) -> np.ndarray:
        """Capacity ordered this quarter, ``(R, K)`` t LCE/yr: the capacity producers lack for the demand they
        expect when new capacity could arrive (``shortfall``, ``(R,)`` t LCE/yr), taken up by each cohort in
        proportion to its capacity and to how far the expected price (net of price-linked costs) has moved from
        its cash cost toward its incentive price, ``mid x (1 + hurdle)``: nothing at or below cash cost, its full
        part at the incentive price."""
        mid = 0.5 * (cost_low + cost_high)
        covered = expected_price[:, None] * (1.0 - price_linked)
        pull = np.clip((covered - mid) / (hurdle * mid), 0.0, 1.0)
        total = capacity.sum(axis=-1, keepdims=True)
        weight = np.divide(capacity, total, out=np.zeros_like(capacity), where=total > 0)
        return shortfall[:, None] * weight * pull
