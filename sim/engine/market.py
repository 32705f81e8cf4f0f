"""Market kernels: price rules, competitiveness, the allocation of demand, the chain's material balance and the
clearing of the world lithium market.

Pure numpy functions over batched arrays: quantities per replicate have shape ``(R,)``, per firm ``(R, N)``,
one row per replicate. Every reduction runs along the last axis of C-ordered arrays, so a replicate's numbers do
not depend on which other replicates share its batch (tested). The model calls these once per stage and month;
every price rule of the chain lives here (docs/model.md, "Submodels: prices", "Submodels: offers and
allocation", "Submodels: world lithium market").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


# -------------------------------------------------------------------------------------------------------------
# prices
# -------------------------------------------------------------------------------------------------------------
def processing_fee(
    base_fee: float,
    tightness: np.ndarray,
    reference: float,
    elasticity: float,
    scarcity_elasticity: float,
    max_scarcity: float = np.inf,
) -> np.ndarray:
    """Processing margin a downstream stage earns over its inputs, yuan per unit.

    ``base x (min(x, 1) / x_ref)^elasticity x min(max(x, 1)^scarcity_elasticity, max_scarcity)``, with ``x``
    demand over available capacity. Slack capacity competes the fee down (LFP realised prices fell to 31.8k
    yuan/t in 2024 while lithium content fell less); demand beyond capacity raises it steeply until capacity
    arrives, up to ``max_scarcity`` times (beyond it buyers go unserved rather than pay any price).
    """
    x = np.maximum(tightness, 1e-6)
    scarcity = np.minimum(np.maximum(x, 1.0) ** scarcity_elasticity, max_scarcity)
    return base_fee * (np.minimum(x, 1.0) / reference) ** elasticity * scarcity


@dataclass
class PriceInputs:
    """What a price rule may read (all per replicate, shape ``(R,)``, yuan per unit, excl. VAT).

    Attributes:
        carbonate: battery-grade lithium carbonate, yuan/t LCE.
        upstream: prices of stages already priced this month, by key.
        intensities: units of each input per unit of output, by input stage key.
        shares: share of output using each input (1 when not split), by input stage key.
        other_inputs: materials bought outside the chain, yuan per unit.
        fee: processing fee at this month's tightness, yuan per unit (0 when the rule has none).
        params: the model parameters (rule-specific values).
    """

    carbonate: np.ndarray
    upstream: dict[str, np.ndarray]
    intensities: dict[str, float]
    shares: dict[str, np.ndarray]
    other_inputs: float
    fee: np.ndarray
    params: object


def price_carbonate(inp: PriceInputs) -> np.ndarray:
    """Lithium salts sell at the carbonate price (hydroxide counted in LCE at the same price)."""
    return inp.carbonate


def price_feedstock(inp: PriceInputs) -> np.ndarray:
    """Concentrate and lepidolite sold to converters by formula: ``share x max(P - allowance, 0)`` per t LCE."""
    p = inp.params
    return p.feedstock_share * np.maximum(inp.carbonate - p.conversion_allowance, 0.0)


def input_cost(inp: PriceInputs) -> np.ndarray:
    """Cost of the chain inputs per unit of output: sum over inputs of intensity x share x price."""
    total = np.zeros_like(inp.carbonate)
    for key, intensity in inp.intensities.items():
        total = total + intensity * inp.shares[key] * inp.upstream[key]
    return total


def price_cost_plus(inp: PriceInputs) -> np.ndarray:
    """Inputs passed through, plus materials from outside the chain, plus the processing fee."""
    return input_cost(inp) + inp.other_inputs + inp.fee


def price_cell(inp: PriceInputs) -> np.ndarray:
    """Cells: `price_cost_plus`, where the cells not using LFP carry NCM cathode priced off carbonate.

    NCM cathode per GWh = ``ncm_lce_per_gwh x P + cathode_premium_ncm`` for the share ``1 - LFP share``.
    """
    p = inp.params
    non_lfp = sum(1.0 - share for share in inp.shares.values())
    ncm = non_lfp * (p.ncm_lce_per_gwh * inp.carbonate + p.cathode_premium_ncm)
    return price_cost_plus(inp) + ncm


PRICE_RULES: dict[str, Callable[[PriceInputs], np.ndarray]] = {
    "carbonate": price_carbonate,
    "feedstock": price_feedstock,
    "cost_plus": price_cost_plus,
    "cell": price_cell,
}
FEE_RULES = {"cost_plus", "cell"}  # rules that add a processing fee (declared as processing_fee_<suffix>)


def clearing_markup(
    need: np.ndarray, offers_at: Callable[[np.ndarray], np.ndarray], upper: np.ndarray, rounds: int = 40
) -> np.ndarray:
    """The smallest markup ``x`` in ``[0, upper]`` at which a stage's firms offer at least ``need``, per row.

    ``offers_at(x)`` is the stage's total offer at markup ``x`` (``(R,)`` for ``(R,)``), non-decreasing in ``x``:
    a higher processing fee, or for converters a cheaper feedstock, turns loss-makers into firms that offer all
    they can. Rows that clear at ``x = 0`` keep 0; rows that cannot clear below ``upper`` (every firm already
    offering all it has) get ``upper``. Bisection to ``upper / 2^rounds``; the result is the upper end of the
    last bracket, so the offers at it always cover ``need`` where ``need`` can be covered.
    """
    upper = np.maximum(upper, 0.0)
    short = offers_at(np.zeros_like(need)) < need
    if not short.any():
        return np.zeros_like(need)
    lo, hi = np.zeros_like(need), np.where(short, upper, 0.0)
    for _ in range(rounds):
        mid = 0.5 * (lo + hi)
        enough = offers_at(mid) >= need
        hi = np.where(short & enough, mid, hi)
        lo = np.where(short & ~enough, mid, lo)
    return hi


# -------------------------------------------------------------------------------------------------------------
# competition among firms
# -------------------------------------------------------------------------------------------------------------
def logit_weights(offers: np.ndarray, unit_cost: np.ndarray, elasticity: float) -> np.ndarray:
    """Competitiveness weights per row: ``offer x exp(-elasticity x (c / c_mean - 1))``, ``c_mean`` offer-weighted.

    Weighting by the offer makes shares proportional to size at equal cost; the exponential term moves demand
    toward cheaper firms. Firms offering nothing get weight 0.
    """
    offered = offers > 0
    total = offers.sum(axis=-1, keepdims=True)
    weighted = np.where(offered, offers * unit_cost, 0.0).sum(axis=-1, keepdims=True)
    mean_cost = np.divide(weighted, total, out=np.zeros_like(total), where=total > 0)
    rel = np.divide(unit_cost, mean_cost, out=np.ones_like(unit_cost), where=mean_cost > 0) - 1.0
    expo = np.where(offered, -elasticity * rel, -np.inf)
    # shift so the cheapest firm of each row has exponent 0: avoids overflow, leaves shares unchanged
    top = expo.max(axis=-1, keepdims=True)
    expo = expo - np.where(np.isfinite(top), top, 0.0)
    with np.errstate(under="ignore"):
        return np.where(offered, offers * np.exp(expo), 0.0)


def row_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per row, the median of the entries where ``mask`` holds (NaN for a row with none): ``np.nanmedian`` of the
    masked values, by one sort of all rows (``nanmedian`` works row by row through masked arrays)."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=-1)
    count = mask.sum(axis=-1)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[..., None], axis=-1)[..., 0]
    high = np.take_along_axis(ordered, np.maximum(count // 2, 0)[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, np.where(count % 2 == 1, low, (low + high) / 2.0), np.nan)


def allocate(demand: np.ndarray, offers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each row's ``demand`` among its firms in proportion to ``weights``, each capped at its offer.

    Exact water-filling: ``q_i = min(offer_i, lam x w_i)`` with ``lam`` chosen so that ``sum q = min(demand,
    sum offers)``. Overflow from capped firms goes to the others in proportion to their weights; firms offering
    something whose weight underflowed to zero take what is left, in proportion to their offers.

    Args:
        demand: ``(R,)`` units to allocate.
        offers: ``(R, N)`` what each firm offers.
        weights: ``(R, N)`` competitiveness weights (`logit_weights`).
    """
    offers = np.asarray(offers, dtype=float)
    demand = np.asarray(demand, dtype=float)
    # weights are relative: scale each row's largest to 1 and treat the vanishing ones (a firm whose cost is so
    # far above the mean that its weight underflows) as zero, so no ratio offer/weight overflows
    top = weights.max(axis=-1, keepdims=True)
    weights = np.divide(weights, top, out=np.zeros_like(weights), where=top > 0)
    pos = (weights > 1e-200) & (offers > 0)
    o = np.where(pos, offers, 0.0)
    w = np.where(pos, weights, 0.0)
    pos_supply = o.sum(axis=-1)
    target = np.clip(demand, 0.0, pos_supply)
    q = _waterfill(target, o, w)
    # what the weighted firms cannot take goes to the zero-weight firms that offer something
    spare = np.where((offers > 0) & ~pos, offers, 0.0)
    rest = np.maximum(np.clip(demand, 0.0, None) - q.sum(axis=-1), 0.0)
    spare_supply = spare.sum(axis=-1)
    scale = np.divide(np.minimum(rest, spare_supply), spare_supply, out=np.zeros_like(rest), where=spare_supply > 0)
    return q + spare * scale[..., None]


def allocate_capped(demand: np.ndarray, offers: np.ndarray, weights: np.ndarray, max_share: float) -> np.ndarray:
    """`allocate` with no firm taking more than ``max_share`` of a row's demand while others can serve it.

    Buyers keep second sources: first each firm's offer counts up to ``max_share x demand``; what that leaves
    unserved (few firms, or the others' offers too small) is split among the remaining offers as `allocate` does.
    """
    limit = np.minimum(offers, max_share * np.clip(demand, 0.0, None)[..., None])
    first = allocate(demand, limit, weights)
    rest = np.clip(demand, 0.0, None) - first.sum(axis=-1)
    if not (rest > 1e-9 * np.maximum(demand, 1.0)).any():
        return first
    return first + allocate(np.maximum(rest, 0.0), np.maximum(offers - first, 0.0), weights)


def _waterfill(demand: np.ndarray, offers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Water-filling of ``demand <= sum(offers)`` per row; entries with zero weight get nothing.

    Fixed point on the set of capped firms: with the firms capped so far, the free ones share what is left in
    proportion to their weights, ``lam = (demand - capped offers) / free weight``; every free firm whose share
    ``lam x w`` reaches its offer is capped too, and the step repeats. The capped set only grows and ``lam``
    only falls, so this ends within N rounds at the exact solution (in practice 2 to 7 rounds, far cheaper
    than sorting every row by ``offer / weight``). Each row's arithmetic depends on that row alone.
    """
    live = weights > 0
    w = np.where(live, weights, 0.0)
    o = np.where(live, offers, 0.0)
    capped = np.zeros(offers.shape, dtype=bool)
    for _ in range(offers.shape[-1] + 1):
        free_weight = np.where(capped, 0.0, w).sum(axis=-1)
        rest = demand - np.where(capped, o, 0.0).sum(axis=-1)
        lam = np.divide(rest, free_weight, out=np.zeros_like(rest), where=free_weight > 0)
        newly = live & ~capped & (lam[..., None] * w >= o)
        if not newly.any():
            break
        capped |= newly
    q = np.where(capped, o, lam[..., None] * w)
    return np.where(demand[..., None] > 0, q, 0.0)


# -------------------------------------------------------------------------------------------------------------
# the world lithium market (market mode)
# -------------------------------------------------------------------------------------------------------------
def supply_curve_quantity(
    price: np.ndarray, capacity: np.ndarray, cost_low: np.ndarray, cost_high: np.ndarray
) -> np.ndarray:
    """Capacity whose cash cost is at or below ``price``, per row.

    Each cohort's units have cash costs spread evenly between ``cost_low`` and ``cost_high`` (yuan/t LCE).
    """
    span = np.maximum(cost_high - cost_low, 1e-9)
    share = np.clip((price[..., None] - cost_low) / span, 0.0, 1.0)
    return (capacity * share).sum(axis=-1)


def marginal_cost(
    quantity: np.ndarray, capacity: np.ndarray, cost_low: np.ndarray, cost_high: np.ndarray, scarcity_elasticity: float
) -> np.ndarray:
    """The cash cost of the last unit needed to supply ``quantity`` (per row, same unit as capacity per time).

    The supply curve is piecewise linear between the cohorts' cost bounds; it is inverted exactly at its sorted
    breakpoints. Beyond the whole curve the cost rises as ``top x (quantity / total)^scarcity_elasticity``.
    """
    points = np.sort(np.concatenate([cost_low, cost_high], axis=-1), axis=-1)  # (R, 2K)
    supplied = np.stack(
        [supply_curve_quantity(points[..., j], capacity, cost_low, cost_high) for j in range(points.shape[-1])], axis=-1
    )  # (R, 2K), non-decreasing
    total = supplied[..., -1]
    j = np.clip((supplied < quantity[..., None]).sum(axis=-1), 1, points.shape[-1] - 1)
    q0 = np.take_along_axis(supplied, (j - 1)[..., None], axis=-1)[..., 0]
    q1 = np.take_along_axis(supplied, j[..., None], axis=-1)[..., 0]
    p0 = np.take_along_axis(points, (j - 1)[..., None], axis=-1)[..., 0]
    p1 = np.take_along_axis(points, j[..., None], axis=-1)[..., 0]
    inside = p0 + (p1 - p0) * np.clip(np.divide(quantity - q0, q1 - q0, out=np.zeros_like(q0), where=q1 > q0), 0, 1)
    top = points[..., -1]
    beyond = top * np.maximum(np.divide(quantity, total, out=np.ones_like(total), where=total > 0), 1.0) ** (
        scarcity_elasticity
    )
    return np.where(quantity > total, beyond, inside)


def clearing_target(
    cost: np.ndarray,
    cover_days: np.ndarray,
    target_days: float,
    stock_elasticity: float,
    max_multiple: float,
    min_multiple: float,
) -> np.ndarray:
    """The price that clears the market at this month's stocks, yuan/t.

    The marginal cost of the supply needed times ``(target cover / cover)^e`` bounded to ``[min_multiple,
    max_multiple]``: thin stocks lift the price above the marginal producer's cost (up to a multiple at which
    buyers cut and substitute), ample stocks push it below (down to where high-cost producers stop).
    """
    cover = np.maximum(cover_days, 0.1)
    return cost * np.clip((target_days / cover) ** stock_elasticity, min_multiple, max_multiple)


def clearing_price(price: np.ndarray, target: np.ndarray, adjustment: float, max_move: float) -> np.ndarray:
    """Next month's carbonate price: the log price closes ``adjustment`` of the gap to the clearing price,
    by at most ``max_move``, so spikes and collapses come from capacity lags and stocks, not jumps."""
    step = np.clip(adjustment * np.log(target / price), -max_move, max_move)
    return price * np.exp(step)
