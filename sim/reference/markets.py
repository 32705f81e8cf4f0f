"""The stages' markets in the reference model: prices, the month's clearing markup, and the split of a stage's output
among its plants (docs/model.md, "Submodels: prices" and "Submodels: offers and allocation").

**Prices**, yuan per unit excl. VAT, upstream first (``L_t`` the learning factor, ``P_c`` the carbonate price)::

    feedstock:  P_feed = feedstock_share x max(P_c - conversion_allowance, 0)
    carbonate:  P_salt = P_c
    cost_plus:  P_lfp  = lce_per_t_lfp x P_salt + other_inputs_lfp x L_t + fee_lfp
    cell:       P_cell = lfp_t_per_gwh x s x P_lfp + other_inputs_cell x L_t + fee_cell
                         + (1 - s) x (ncm_lce_per_gwh x P_c + cathode_premium_ncm)
    fee_k      = processing_fee_k x L_t x (min(x, 1) / reference_utilization)^fee_utilization_elasticity
                 x min(max(x, 1)^scarcity_elasticity, max_scarcity_multiple),   x = last month's tightness

**Clearing.** A stage's markup is the least at which its plants offer what its buyers ask (or all they can): a
stage priced by a fee clears by a higher fee (its price rises one for one); the salt stage, priced at the
carbonate quote, clears by cheaper feedstock (each converter's cost falls by what it buys at the formula price).
`StageMarket.clearing_markup` finds it by bisection over the plants' offers.

**Allocation.** Each plant's competitiveness weight is ``offer x exp(-competitiveness_elasticity x (k / kbar -
1))`` (``k`` the cost it controls, ``kbar`` its offer-weighted mean); the stage's output is split by water-filling,
``q_i = min(offer_i, lambda x w_i)`` with ``sum q = min(output, sum offers)``, no plant taking more than
``max_firm_share`` of it while others can serve it (`StageMarket.allocate`).
"""

from __future__ import annotations

import math

FEE_RULES = {"cost_plus", "cell"}  # price rules that add a processing fee (processing_fee_<suffix>)


# -------------------------------------------------------------------------------------------------------------
# prices
# -------------------------------------------------------------------------------------------------------------
def processing_fee(base_fee: float, tightness: float, params) -> float:
    """A fee stage's processing margin over its inputs at the stage's tightness, yuan per unit."""
    p = params
    x = max(tightness, 1e-6)
    scarcity = min(max(x, 1.0) ** p.scarcity_elasticity, p.max_scarcity_multiple)
    return base_fee * (min(x, 1.0) / p.reference_utilization) ** p.fee_utilization_elasticity * scarcity


def input_cost(intensities: dict[str, float], shares: dict[str, float], prices: dict[str, float]) -> float:
    """Chain inputs per unit of output: sum over inputs of intensity x share x price."""
    total = 0.0
    for key, intensity in intensities.items():
        total = total + intensity * shares[key] * prices[key]
    return total


def stage_price(rule: str, carbonate: float, inputs: float, other: float, fee: float, non_lfp: float, params) -> float:
    """A stage's price by its rule (see the module docstring); ``inputs`` its chain inputs per unit, ``non_lfp``
    the share of cells not using its inputs (cells only)."""
    p = params
    if rule == "carbonate":
        return carbonate
    if rule == "feedstock":
        return p.feedstock_share * max(carbonate - p.conversion_allowance, 0.0)
    cost_plus = inputs + other + fee
    if rule == "cost_plus":
        return cost_plus
    if rule == "cell":
        return cost_plus + non_lfp * (p.ncm_lce_per_gwh * carbonate + p.cathode_premium_ncm)
    raise ValueError(f"unknown price rule {rule}")


def price_pass(model, carbonate: float, drivers: dict[str, float], learn: float, with_fee=True, markups=None):
    """Every stage's price and materials cost per unit (yuan, excl. VAT), upstream first.

    ``markups`` are the stages' clearing markups: a fee stage's price rises by its markup; a stage priced outside
    it (salts) buys its inputs cheaper, the input prices falling in proportion so that what it pays for them falls
    by the markup. Materials: a fee stage's price less its fee; otherwise its chain inputs plus other materials.
    """
    p, markups = model.params, markups or {}
    prices: dict[str, float] = {}
    materials: dict[str, float] = {}
    for stage in model.chain:
        other = p.of(stage, "other_inputs") * learn if stage.agents == "firms" else 0.0
        fee = 0.0
        if stage.price_rule in FEE_RULES and with_fee:
            base = getattr(p, f"processing_fee_{stage.suffix}") * learn
            fee = processing_fee(base, model.markets[stage.key].tightness, p)
        markup = markups.get(stage.key)
        if markup is not None and stage.price_rule in FEE_RULES:
            fee = fee + markup
        intensities = {i.stage: getattr(p, i.intensity.name) for i in stage.inputs}
        shares = {i.stage: (drivers[i.share] if i.share else 1.0) for i in stage.inputs}
        if markup is not None and stage.price_rule not in FEE_RULES and stage.inputs:
            paid = input_cost(intensities, shares, prices)
            factor = 1.0 - (markup / paid if paid > 0 else 0.0)
            for i in stage.inputs:
                prices[i.stage] = prices[i.stage] * max(factor, 0.0)
        inputs = input_cost(intensities, shares, prices)
        non_lfp = sum(1.0 - share for share in shares.values())
        prices[stage.key] = stage_price(stage.price_rule, carbonate, inputs, other, fee, non_lfp, p)
        materials[stage.key] = prices[stage.key] - fee if stage.price_rule in FEE_RULES else inputs + other
    return prices, materials


# -------------------------------------------------------------------------------------------------------------
# one stage's market
# -------------------------------------------------------------------------------------------------------------
class StageMarket:
    """The market of one firm stage: its plants (in column order), last month's tightness, the salt stage's
    materials history; it clears the month and splits the stage's output.

    Args:
        stage: the chain's `Stage`.
        firms: the stage's plants, in column order (the order the engine sums them in).
        params: the model's parameters.
        tightness: demand addressed to the stage over its available capacity, last month.
    """

    def __init__(self, stage, firms: list, params, tightness: float) -> None:
        self.stage = stage
        self.firms = firms
        self.params = params
        self.tightness = tightness
        self.fee_priced = stage.price_rule in FEE_RULES
        self.history: list[float] = []  # the stage's materials price (after clearing), month by month
        self.markup = 0.0

    def in_business(self) -> list:
        return [f for f in self.firms if f.active]

    def full_offer(self) -> float:
        """What the stage could make this month, u/month: every plant in business offering all it has."""
        return sum(f.available() / 12.0 for f in self.in_business())

    # --- the clearing markup ---------------------------------------------------------------------------------
    def offer_at_markup(self, markup: float) -> float:
        """The stage's total offer (u/month) at a markup: a fee stage's plants receive the markup more; a
        converter's feedstock cost falls by the markup per yuan of feedstock it buys at the formula price."""
        total = 0.0
        for f in self.in_business():
            if self.fee_priced:
                price, cost = f.received + markup, f.unit_cost
            else:
                price, cost = f.received, f.unit_cost - f.feedstock_relief() * markup
            total += f.offer_at((price - cost) / price)
        return total

    def clearing_markup(self, addressed: float, cap: float) -> float:
        """The least markup at which the plants offer ``min(addressed, all they can)``, yuan per unit.

        None needed when they offer it at no markup. Otherwise bisection (40 halvings) between 0 and just above the
        markup at which the last plant in business breaks even (at most ``cap``: for converters, free feedstock),
        keeping the upper end of the last bracket; then a hair more, so that prices recomputed from it keep a plant
        that breaks even there offering (an idle plant restarts only at a positive margin).
        """
        need = min(addressed, self.full_offer())
        gaps = []
        for f in self.in_business():
            slope = 1.0 if self.fee_priced else f.feedstock_relief()
            if slope > 0:
                gaps.append((f.unit_cost - f.received) / max(slope, 1e-12))
        upper = min(max(max(gaps, default=0.0), 0.0) * 1.001 + 1e-6, cap)
        upper = max(upper, 0.0)
        if not self.offer_at_markup(0.0) < need:
            return 0.0
        low, high = 0.0, upper
        for _ in range(40):
            middle = 0.5 * (low + high)
            if self.offer_at_markup(middle) >= need:
                high = middle
            else:
                low = middle
        if high <= 0:
            return 0.0
        scale = max(abs(f.received) for f in self.firms)
        return min(high + 1e-9 * scale, max(cap, high))

    # --- competition and allocation --------------------------------------------------------------------------
    def weigh(self) -> None:
        """Every plant's competitiveness weight: its offer, less for a cost above the offer-weighted mean."""
        e = self.params.competitiveness_elasticity
        offering = [f for f in self.firms if f.offered > 0]
        total = sum(f.offered for f in offering)
        mean_cost = sum(f.offered * f.controllable_cost() for f in offering) / total if total > 0 else 0.0
        exponents = {}
        for f in offering:
            relative = f.controllable_cost() / mean_cost - 1.0 if mean_cost > 0 else 0.0
            exponents[f] = -e * relative
        top = max(exponents.values(), default=0.0)  # the cheapest plant's exponent is 0: no overflow
        for f in self.firms:
            f.weight = f.offered * math.exp(exponents[f] - top) if f in exponents else 0.0

    def allocate(self, output: float) -> dict:
        """Split the stage's output among its plants (u/month each, by plant): each plant's offer counts up to
        ``max_firm_share`` of the output first; what that leaves is split among what the plants still offer."""
        demand = max(output, 0.0)
        share = self.params.of(self.stage, "max_firm_share")
        limits = {f: min(f.offered, share * demand) for f in self.firms}
        first = water_fill(output, limits, {f: f.weight for f in self.firms})
        rest = demand - sum(first.values())
        if not rest > 1e-9 * max(output, 1.0):
            return first
        left = {f: max(f.offered - first[f], 0.0) for f in self.firms}
        second = water_fill(max(rest, 0.0), left, {f: f.weight for f in self.firms})
        return {f: first[f] + second[f] for f in self.firms}


def water_fill(demand: float, offers: dict, weights: dict) -> dict:
    """Split ``demand`` in proportion to weights, no plant beyond its offer: ``q_i = min(offer_i, lambda x w_i)``.

    The plain loop: take the plants by offer per unit of weight, smallest first; while the next plant's share at
    the current ``lambda`` (what is left over the weight of the plants not yet capped) reaches its offer, it gets
    its offer; the rest share what is left by weight. Plants whose weight vanishes beside the largest (cost far
    above the mean) take what the others cannot, in proportion to their offers.
    """
    top = max(weights.values(), default=0.0)
    scaled = {f: (w / top if top > 0 else 0.0) for f, w in weights.items()}
    weighted = [f for f in offers if scaled[f] > 1e-200 and offers[f] > 0]
    spare = [f for f in offers if offers[f] > 0 and not scaled[f] > 1e-200]
    out = {f: 0.0 for f in offers}
    target = min(max(demand, 0.0), sum(offers[f] for f in weighted))
    if target > 0:
        queue = sorted(weighted, key=lambda f: offers[f] / scaled[f])
        weight_from = [0.0] * (len(queue) + 1)  # weight of the plants from i on
        for i in reversed(range(len(queue))):
            weight_from[i] = scaled[queue[i]] + weight_from[i + 1]
        capped, i = 0.0, 0
        while i < len(queue) and (target - capped) / weight_from[i] * scaled[queue[i]] >= offers[queue[i]]:
            out[queue[i]] = offers[queue[i]]
            capped += offers[queue[i]]
            i += 1
        if i < len(queue):
            level = (target - capped) / weight_from[i]
            for f in queue[i:]:
                out[f] = level * scaled[f]
    rest = max(max(demand, 0.0) - sum(out.values()), 0.0)
    spare_offer = sum(offers[f] for f in spare)
    if spare_offer > 0:
        scale = min(rest, spare_offer) / spare_offer
        for f in spare:
            out[f] += offers[f] * scale
    return out
