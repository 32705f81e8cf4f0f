"""This month's demand drivers in the reference model (docs/model.md, "Submodels: demand"), one replicate.

The scenario's monthly series, with cell demand answering to last month's cell price and sodium-ion cells taking
part of storage demand::

    Qbar_t = Qbar_(t-1) + (Q_t - Qbar_(t-1)) / sodium_price_smoothing_months
    n_t    = clip(n_(t-1) +- sodium_adoption_rate / 12, 0, sodium_max_share)   (+ while Qbar_t > sodium_threshold)
    r      = last month's cell price / the cell price at reference_carbonate_price   (1 before demand_response_from)
    D_t    = C_t x [(1 - a) r^demand_elasticity_ev + a r^demand_elasticity_storage (1 - n_t)]     cells, GWh/month
    Na_t   = C_t x a r^demand_elasticity_storage n_t                                              sodium-ion, GWh/month
"""

from __future__ import annotations

from sim.reference.markets import price_pass


def month_drivers(model, month: int, quote: float) -> dict[str, float]:
    """The month's demand drivers (the scenario's series, cells after the price response and sodium-ion)."""
    p, series = model.params, model.demand
    model.smoothed_quote = model.smoothed_quote + (quote - model.smoothed_quote) / p.sodium_price_smoothing_months
    if month >= p.sodium_from and p.sodium_max_share > 0:
        step = p.sodium_adoption_rate / 12.0
        moved = model.sodium_share + (step if model.smoothed_quote > p.sodium_threshold else -step)
        model.sodium_share = min(max(moved, 0.0), p.sodium_max_share)
    storage = series["storage_share"][month]
    cells = series["battery_gwh"][month]
    if month >= p.demand_response_from:
        ratio = model.last_cell_ratio
        ev = (1.0 - storage) * ratio**p.demand_elasticity_ev
        st = storage * ratio**p.demand_elasticity_storage
    else:
        ev, st = 1.0 - storage, storage
    out = {name: values[month] for name, values in series.items()}
    out["battery_gwh"] = cells * (ev + st * (1.0 - model.sodium_share))
    out["sodium_gwh"] = cells * st * model.sodium_share
    return out


def cell_ratio(model, month: int, prices: dict, drivers: dict, learn: float) -> None:
    """Next month's demand response: the cell price over its value at the reference carbonate price, both at this
    month's fees (before the month's clearing moves them)."""
    p = model.params
    if month + 1 >= p.demand_response_from:
        reference = p.reference_carbonate_price / (1.0 + p.vat_rate)
        at_reference, _ = price_pass(model, reference, drivers, learn)
        cells = model.chain.keys[-1]
        model.last_cell_ratio = prices[cells] / at_reference[cells]
