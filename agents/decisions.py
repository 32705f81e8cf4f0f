"""Firms' decision rules as pure numpy functions over a segment's firms (no randomness, no model state)."""

from __future__ import annotations

import numpy as np


def offer_fraction(margin: np.ndarray, min_utilization: float, cut_margin: float) -> np.ndarray:
    """Share of available capacity a firm offers, given its relative variable margin m = (P - c) / P.

    A firm covering its variable cost (m >= 0) offers all it can; a loss-making one cuts linearly toward
    ``min_utilization``, reached when the loss is ``cut_margin`` of the price:
    ``clip(1 + m / cut_margin, min_utilization, 1)``.
    """
    return np.clip(1.0 + margin / cut_margin, min_utilization, 1.0)


def loss_streaks(
    loss_months: np.ndarray,
    cash_flow: np.ndarray,
    margin: np.ndarray,
    active: np.ndarray,
    idle: np.ndarray,
    idle_after: float,
    exit_after: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count consecutive months of negative operating cash flow; decide who idles and who exits.

    A month whose cash flow (net income plus depreciation) is negative adds one; a positive one resets the
    count: firms keep plants running while they cover cash costs, as the shutdown rule says. An idle
    firm restarts (count reset) once its variable margin at current prices is positive again. Returns the
    new counts, the firms idling from now, and the firms exiting now.
    """
    losing = active & (cash_flow < 0.0)
    counts = np.where(losing, loss_months + 1.0, 0.0)
    restart = idle & active & (margin > 0.0)
    counts = np.where(restart, 0.0, counts)
    exit_now = active & (counts >= exit_after)
    idle_now = active & ~idle & ~exit_now & (counts >= idle_after) & (margin <= 0.0)
    return counts, idle_now, exit_now


def return_on_capital(
    expected_margin: np.ndarray,
    price: float,
    utilization: np.ndarray,
    labour: np.ndarray,
    annual_wage: float,
    capex: float,
    depreciation_years: float,
) -> np.ndarray:
    """Expected annual return on a unit of new capacity, net of depreciation, 1/yr.

    ``(E[m] x P x u - labour x wage) / capex - 1 / depreciation_years``: the variable margin earned at the
    firm's recent utilisation, less the wages the capacity needs, per yuan invested.
    """
    operating = expected_margin * price * utilization - labour * annual_wage
    return operating / capex - 1.0 / depreciation_years


def investment_orders(
    capacity: np.ndarray,
    expected_return: np.ndarray,
    utilization: np.ndarray,
    eligible: np.ndarray,
    hurdle: float,
    sensitivity: float,
    max_share: float,
    min_utilization: float,
) -> np.ndarray:
    """Capacity ordered this quarter, u/yr.

    ``capacity x min(max_share, sensitivity x (return - hurdle))`` for eligible firms whose expected
    return on capital clears the hurdle and whose utilisation is at least ``min_utilization``; zero otherwise.
    """
    excess = expected_return - hurdle
    go = eligible & (excess > 0.0) & (utilization >= min_utilization) & (capacity > 0.0)
    return np.where(go, capacity * np.minimum(max_share, sensitivity * excess), 0.0)
