"""World lithium supply: cohorts of mines, brine fields and recyclers as Mesa agents, and their decision rules.

A cohort (Australian tier-1 spodumene, Chinese lepidolite, South American brine, ...) is a group of producers
whose cash costs per t LCE, delivered to a Chinese converter and incl. conversion, spread evenly between a low
and a high bound; part of the cost moves with the carbonate price (royalties, the CORFO lease, black-mass
payables). Its state, one row per replicate, is a column of the `SupplyBook` (``sim.engine.supply``).
Decisions (docs/model.md, "Submodels: world lithium supply"):

- curtail and restart: the units whose cash cost is above the carbonate price averaged over the last months
  wind down over a few months; stopped units restart, over some months, once the averaged price covers their
  cost again;
- expand: when the expected price exceeds the cohort's mid cost by more than a hurdle, new capacity is ordered
  and arrives after a long construction lag.
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
        smoothed_price: np.ndarray, cost_low: np.ndarray, cost_high: np.ndarray, price_linked: np.ndarray
    ) -> np.ndarray:
        """Share of each cohort whose cash cost the smoothed price covers, ``(R, K)``.

        A unit with fixed cost c and price-linked share l runs when ``P >= c + l P``, i.e. ``c <= P (1 - l)``.
        """
        covered = smoothed_price[:, None] * (1.0 - price_linked)
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
        capacity: np.ndarray,
        expected_price: np.ndarray,
        cost_low: np.ndarray,
        cost_high: np.ndarray,
        price_linked: np.ndarray,
        hurdle: float,
        sensitivity: float,
        cap: float,
    ) -> np.ndarray:
        """Capacity ordered this quarter, t LCE/yr: ``capacity x min(cap, s x (margin - hurdle))`` when the
        expected margin over the cohort's mid cost, ``P (1 - l) / c_mid - 1``, clears the hurdle."""
        mid = 0.5 * (cost_low + cost_high)
        margin = expected_price[:, None] * (1.0 - price_linked) / mid - 1.0
        return capacity * np.minimum(cap, sensitivity * np.maximum(margin - hurdle, 0.0))
