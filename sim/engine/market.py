"""Market kernels: prices by cost pass-through and the allocation of demand among firms.

Pure numpy functions; the model calls them once per segment and month.
"""

from __future__ import annotations

import numpy as np


def processing_fee(base_fee: float, tightness: float, reference: float, elasticity: float,
                   scarcity_elasticity: float) -> float:
    """Processing margin a downstream segment earns over its inputs.

    ``base x (min(x, 1) / x_ref)^elasticity x max(x, 1)^scarcity_elasticity``, with ``x`` demand over
    available capacity. Slack capacity competes the fee down (LFP realised prices fell to 31.8k yuan/t in
    2024 while lithium content fell less); demand beyond capacity raises it steeply, without bound, until
    new capacity arrives.
    """
    x = max(tightness, 1e-6)
    return base_fee * (min(x, 1.0) / reference) ** elasticity * max(x, 1.0) ** scarcity_elasticity


def logit_weights(offers: np.ndarray, unit_cost: np.ndarray, elasticity: float) -> np.ndarray:
    """Competitiveness weights: offer x exp(-elasticity x (c / c_mean - 1)), c_mean offer-weighted.

    Weighting by the offer makes shares proportional to size at equal cost; the exponential term moves
    demand toward cheaper firms. Firms offering nothing get weight 0.
    """
    total = offers.sum()
    if total <= 0.0:
        return np.zeros_like(offers)
    mean_cost = float(np.dot(offers, unit_cost) / total)
    rel = unit_cost / mean_cost - 1.0 if mean_cost > 0 else np.zeros_like(unit_cost)
    # shift the exponent so the cheapest firm has exponent 0: avoids overflow, leaves shares unchanged
    expo = -elasticity * rel
    expo = expo - expo[offers > 0].max()
    return np.where(offers > 0, offers * np.exp(expo), 0.0)


def allocate(demand: float, offers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split ``demand`` among firms in proportion to ``weights``, each capped at its offer.

    Exact water-filling: q_i = min(offer_i, lam x w_i) with lam chosen so that sum q = min(demand, sum offers).
    Overflow from capped firms goes to the others in proportion to their weights. Firms offering something
    with a weight that underflowed to zero take what is left, in proportion to their offers. O(n log n).
    """
    offers = np.asarray(offers, dtype=float)
    supply = offers.sum()
    if demand >= supply:
        return offers.copy()
    if demand <= 0.0:
        return np.zeros_like(offers)
    pos = (weights > 0) & (offers > 0)
    q = np.zeros_like(offers)
    q[pos] = _waterfill(demand, offers[pos], weights[pos])
    rest = demand - q.sum()
    spare = (offers > 0) & ~pos
    if rest > 0 and spare.any():
        spare_supply = offers[spare].sum()
        q[spare] = offers[spare] if rest >= spare_supply else offers[spare] * (rest / spare_supply)
    return q


def _waterfill(demand: float, offers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Water-filling for strictly positive weights and offers."""
    if demand >= offers.sum():
        return offers.copy()
    ratio = offers / weights
    order = np.argsort(ratio, kind="stable")
    r, o, w = ratio[order], offers[order], weights[order]
    capped_offer = np.concatenate([[0.0], np.cumsum(o)[:-1]])  # offers of the k first-filled firms
    free_weight = np.cumsum(w[::-1])[::-1]  # sum of w[k:], summed from the small end for accuracy
    lam = (demand - capped_offer) / free_weight
    # k firms capped is consistent when lam_k <= r_k (the k-th firm, 0-based, is not capped)
    k = int(np.argmax(lam <= r))
    q_sorted = np.where(np.arange(len(o)) < k, o, np.minimum(o, lam[k] * w))
    q = np.empty_like(q_sorted)
    q[order] = q_sorted
    return q
