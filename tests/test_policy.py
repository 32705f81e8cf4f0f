"""Each policy lever moves what it should, in the direction it should, and leaves the rest of China alone.

Runs share a seed; every source of randomness has its own stream, so a lever changes only what it acts on.
"""

import numpy as np
import pytest

from sim.inputs.levers import (
    EnergySupport,
    Hedging,
    Innovation,
    InvestmentSupport,
    LandEfficiency,
    Policy,
    Project,
    TaxRelief,
)
from sim.outputs.results import collect
from sim.inputs.scenario import month_index
from tests.conftest import run_model

SEED = 11
START = month_index("2024-01")


def _with(scenario, **levers):
    return scenario.with_changes(policy=Policy(**levers))


def _suining_total(model, segment, field):
    return sum(rec[field][model.books[segment].suining[: len(rec[field])]].sum() for rec in model.history[segment])


def _rest_unit_costs(model, segment):
    """Rest-of-China unit costs month by month, for the firms present from the start."""
    book = model.books[segment]
    n0 = len(model.history[segment][0]["unit_cost"])
    rest = ~book.suining[:n0]
    return np.array([rec["unit_cost"][:n0][rest] for rec in model.history[segment]])


@pytest.fixture(scope="module")
def plain(baseline):
    scenario = baseline.with_changes(end_month=month_index("2026-12"))
    return scenario, run_model(scenario, seed=SEED)


def test_energy_support_cuts_suining_costs_only(plain):
    scenario, base = plain
    model = run_model(_with(scenario, energy_support=EnergySupport(cost_cut=0.3, start=START)), seed=SEED)
    for seg in ("lithium_salt", "lfp_cathode", "battery"):
        book = model.books[seg]
        rec_b, rec_p = base.history[seg][START + 1], model.history[seg][START + 1]
        n = min(len(rec_b["unit_cost"]), len(rec_p["unit_cost"]))
        s = book.suining[:n] & (rec_p["output"][:n] > 0)
        assert np.all(rec_p["unit_cost"][:n][s] < rec_b["unit_cost"][:n][s])
        # before the lever starts, nothing differs
        assert np.array_equal(base.history[seg][START - 1]["unit_cost"], model.history[seg][START - 1]["unit_cost"])
    # rest-of-China costs are what the market, not the subsidy, makes them: identical in the lever's first month
    for seg in ("lithium_salt", "lfp_cathode", "battery"):
        assert np.array_equal(_rest_unit_costs(base, seg)[: START + 1], _rest_unit_costs(model, seg)[: START + 1])
    assert _suining_total(model, "lfp_cathode", "output") >= _suining_total(base, "lfp_cathode", "output")


def test_tax_relief_pays_suining_firms_and_raises_profit(plain):
    scenario, base = plain
    relief = TaxRelief(amount_yi={2024: 9.03, 2025: 9.03}, vat_refund_share=0.5, start=START)
    model = run_model(_with(scenario, tax_relief=relief), seed=SEED)
    support = collect(model).summary.query("metric == 'support' and region == 'suining' and segment == 'all'")
    by_year = support.set_index("year")["value"]
    assert by_year.loc[2024] >= 9.03 - 1e-9 and by_year.loc[2025] >= 9.03 - 1e-9  # plus any VAT refunds
    assert by_year.loc[2023] == 0.0
    profit = lambda m: sum(_suining_total(m, seg, "profit") for seg in m.books)  # noqa: E731
    assert profit(model) > profit(base)
    rest = collect(model).summary.query("metric == 'support' and region == 'china' and segment == 'all'")
    assert np.allclose(rest.set_index("year")["value"], by_year)  # all support went to Suining firms
    # prices are the scenario's and the market's: untouched
    assert [r["carbonate_price"] for r in base.market_history] == [r["carbonate_price"] for r in model.market_history]


def test_capex_subsidy_and_faster_land_supply_raise_suining_capacity(plain):
    scenario, base = plain
    lever = InvestmentSupport(capex_subsidy=0.4, lag_cut_months=9, start=month_index("2022-06"))
    model = run_model(_with(scenario, investment_support=lever), seed=SEED)
    cap = lambda m, seg: m.books[seg].capacity[m.books[seg].suining].sum()  # noqa: E731
    assert sum(cap(model, s) for s in model.books) > sum(cap(base, s) for s in base.books) * 0.999
    assert sum(_suining_total(model, s, "support") for s in model.books) > 0


def test_shorter_construction_lag_brings_capacity_sooner(baseline):
    from sim.engine.model import LithiumModel

    scenario = baseline.with_changes(policy=Policy(investment_support=InvestmentSupport(lag_cut_months=6)))
    model = LithiumModel(scenario, rng=SEED)
    suining = model.books["lfp_cathode"].suining
    lag = model._lag("lfp_cathode", suining, 0)
    assert np.all(lag[suining] == model.params.construction_lag_lfp - 6)
    assert np.all(lag[~suining] == model.params.construction_lag_lfp)


def test_project_pipeline_adds_named_plants(plain):
    scenario, base = plain
    sure = Project("New LFP plant", "lfp_cathode", 100000.0, month_index("2025-01"), 1.0)
    never = Project("Unlikely salt plant", "lithium_salt", 50000.0, month_index("2025-01"), 0.0)
    model = run_model(_with(scenario, projects=(sure, never)), seed=SEED)
    ids = [a.firm_id for a in model.books["lfp_cathode"].agents]
    assert "project_new_lfp_plant" in ids
    assert "project_unlikely_salt_plant" not in [a.firm_id for a in model.books["lithium_salt"].agents]
    i = ids.index("project_new_lfp_plant")
    cap = [rec["capacity"][i] for rec in model.history["lfp_cathode"]]
    assert cap[month_index("2024-12")] == 0.0 and cap[month_index("2025-01")] >= 100000.0
    # the rest-of-China population is the same draw with or without the pipeline
    n0 = len(base.books["battery"])
    assert np.array_equal(base.history["battery"][0]["unit_cost"][:n0], model.history["battery"][0]["unit_cost"][:n0])


def test_land_efficiency_floor_upgrades_or_closes_underused_plants(plain):
    scenario, base = plain
    lever = LandEfficiency(min_utilization=0.95, upgrade_cost_share=0.2, upgrade_cost_cut=0.1, start=START)
    model = run_model(_with(scenario, land_efficiency=lever), seed=SEED)
    assert len(model.land_efficiency_log) == 3  # reviews in December 2024, 2025 and 2026
    assert sum(e["upgrades"] + e["exits"] for e in model.land_efficiency_log) > 0
    upgraded_or_closed = [
        (~b.active & b.suining).sum() + (b.suining & (b.cost_factor < 1.0)).sum() for b in model.books.values()
    ]
    assert sum(upgraded_or_closed) > 0
    for seg, book in model.books.items():
        assert np.all(book.cost_factor[~book.suining] == 1.0)  # rest-of-China plants are never reviewed
        assert np.array_equal(_rest_unit_costs(base, seg)[: START + 12], _rest_unit_costs(model, seg)[: START + 12])


def test_hedging_smooths_suining_salt_prices(plain):
    scenario, base = plain
    model = run_model(_with(scenario, hedging=Hedging(share=0.5, smoothing_months=6, start=0)), seed=SEED)
    book = model.books["lithium_salt"]
    spot = np.array([r["carbonate_price"] for r in model.market_history])
    realised = np.array([rec["price"][book.suining[: len(rec["price"])]][0] for rec in model.history["lithium_salt"]])
    rest = np.array([rec["price"][~book.suining[: len(rec["price"])]][0] for rec in model.history["lithium_salt"]])
    assert np.array_equal(rest, spot)  # the rest of China sells at spot
    falling = slice(month_index("2023-03"), month_index("2023-12") + 1)  # the 2023 collapse
    assert np.all(realised[falling] > spot[falling])
    assert np.std(np.diff(realised)) < np.std(np.diff(spot))
    # in the year of the collapse the hedge raises Suining salt makers' output value
    year = lambda m: sum(  # noqa: E731
        rec["output_value"][m.books["lithium_salt"].suining[: len(rec["price"])]].sum()
        for rec in m.history["lithium_salt"][falling]
    )
    assert year(model) > year(base)


def test_innovation_support_lowers_suining_costs_over_time(plain):
    scenario, base = plain
    model = run_model(_with(scenario, innovation=Innovation(extra_learning_rate=0.05, start=START)), seed=SEED)
    book = model.books["lfp_cathode"]
    assert np.all(book.cost_factor[book.suining & book.active] < 1.0)
    assert np.all(book.cost_factor[~book.suining] == 1.0)
    for seg in model.books:
        assert np.array_equal(_rest_unit_costs(base, seg)[: START + 1], _rest_unit_costs(model, seg)[: START + 1])
