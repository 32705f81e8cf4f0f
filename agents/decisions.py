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


def offer_share(margin: np.ndarray, idle: np.ndarray, min_utilization: float, cut_margin: float) -> np.ndarray:
    """Share of available capacity offered this month: a running firm by `offer_fraction`; an idle one restarts
    and offers all once its variable margin is positive again, and nothing before."""
    return np.where(idle, (margin > 0.0).astype(float), offer_fraction(margin, min_utilization, cut_margin))


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
    utilization_span: float,
) -> np.ndarray:
    """Capacity ordered this quarter, u/yr: a continuous response to expected returns and utilisation.

    ``capacity x min(max_share, sensitivity x (return - hurdle)) x clip((u - u_min) / span, 0, 1)`` for eligible
    firms whose expected return on capital clears the hurdle: expansion slows as the utilisation a firm expects
    falls toward ``min_utilization`` and stops there, and resumes as it rises (no on/off gate).
    """
    excess = expected_return - hurdle
    pull = np.clip((utilization - min_utilization) / max(utilization_span, 1e-9), 0.0, 1.0)
    go = eligible & (excess > 0.0) & (capacity > 0.0)
    return np.where(go, capacity * np.minimum(max_share, sensitivity * np.maximum(excess, 0.0)) * pull, 0.0)
