"""Each policy lever moves what it should, in the direction it should, through the mechanism the real policy
uses, and leaves the rest of China alone (docs/model.md, "Submodels: policy levers").

Runs share their seeds and every source of randomness has its own stream, so a lever changes only what it
acts on.
"""

import numpy as np
import pytest

from sim.api import InputError, override
from sim.inputs.scenario import month_index
from sim.outputs.metrics import batch_metrics
from tests.conftest import SCENARIOS, run, traced

START = month_index("2024-01")


@pytest.fixture(scope="module")
def plain(baseline):
    return baseline.with_changes(end_month=month_index("2026-12"))


def _lever(scenario, **levers):
    return override(scenario, policy=levers)


def _stack(model, stage, field):
    return np.stack(model.monthly[stage][field])  # (T, R, N)


def test_energy_support_cuts_suining_costs_only(plain):
    base = traced(plain)
    lever = traced(_lever(plain, energy_support={"cost_cut": 0.3, "from": "2024-01"}))
    for stage, book in lever.books.items():
        suining = book.suining
        before, after = _stack(base, stage, "unit_cost"), _stack(lever, stage, "unit_cost")
        producing = _stack(lever, stage, "quantity")[START, 0] > 0
        assert np.all(after[START, 0, suining & producing] < before[START, 0, suining & producing])
        # before the lever starts nothing differs; in its first month the rest of China is untouched
        assert np.array_equal(before[:START], after[:START])
        assert np.array_equal(before[START, :, ~suining], after[START, :, ~suining])


def test_tax_relief_pays_suining_firms_and_raises_profit(plain):
    base = batch_metrics(run(plain, 2))
    relief = batch_metrics(run(_lever(plain, tax_relief={"amount": {2024: 9.03, 2025: 9.03}, "from": "2024-01"}), 2))
    support = relief[("suining", "all", "support")][1]
    assert np.allclose(support[:, 2:4], 9.03, rtol=1e-9) and np.all(support[:, :2] == 0)
    extra = relief[("china", "all", "support")][1] - base[("china", "all", "support")][1]
    rest = extra - (support - base[("suining", "all", "support")][1])
    # all of it went to Suining; the rest of China's own support (local incentives to its investment) moves only
    # through the market: not in the relief's first year, and by a fraction of the relief once investment answers
    assert np.allclose(rest[:, :3], 0.0, atol=0.01 * 9.03) and np.all(np.abs(rest) < 0.1 * 9.03)
    assert np.all(relief[("suining", "all", "profit")][1][:, 2] > base[("suining", "all", "profit")][1][:, 2])
    assert np.array_equal(relief[("china", "lithium_salt", "price")][1], base[("china", "lithium_salt", "price")][1])


def test_vat_refunds_pay_out_input_vat_credit_from_capex(plain):
    refunds = batch_metrics(run(_lever(plain, tax_relief={"vat_refund_share": 0.5, "from": "2023-01"}), 2))
    support = refunds[("suining", "all", "support")][1]
    assert np.all(support[:, 0] == 0) and np.all(support[:, 1] > 0)
    # the report's city-wide 3.51 亿 of 2023 was refunded under the actual rules (incremental credits only); half of
    # the lithium firms' whole credit is of that order: they are the city's most capex-heavy industry, and converters
    # paying a lagged market price for concentrate in 2023's falling market built credits on their inputs
    assert 0.5 < support[:, 1].mean() < 4 * 3.51


def test_capex_subsidy_and_standard_land_pay_suining_investment(plain):
    base = run(plain, 2)
    lever = run(_lever(plain, investment_support={"capex_subsidy": 0.4, "lag_cut_months": 6, "from": "2022-06"}), 2)
    support = batch_metrics(lever)[("suining", "all", "support")][1]
    assert support.sum() > 0

    def suining_capacity(r):
        return sum(r.regional[("suining", s, "capacity")] for s in ("lithium_salt", "lfp_cathode", "battery"))

    assert np.all(suining_capacity(lever) >= suining_capacity(base) * 0.999)


def test_standard_land_shortens_suining_construction(baseline):
    from sim.engine.model import LithiumModel
    from tests.conftest import seeds

    model = LithiumModel(_lever(baseline, investment_support={"lag_cut_months": 6}), seeds=seeds(1))
    stage = model.chain["lfp_cathode"]
    lag = model._lag(stage, 0)
    columns = model.books["lfp_cathode"].columns
    suining, rest = columns.suining, columns.cluster == columns.reference
    assert np.all(lag[suining] == model.params.construction_lag_lfp - 6)
    # the rest of China builds at the normal pace; a rival city's ready land is its own policy
    assert np.all(lag[rest] == model.params.construction_lag_lfp)
    cuts = model._lag_cuts(0)
    assert np.all(
        lag[~suining & ~rest]
        == np.maximum(model.params.construction_lag_lfp - cuts[columns.cluster[~suining & ~rest]], 1)
    )


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_the_project_pipeline_adds_named_plants(plain):
    projects = [
        {
            "name": "New LFP plant",
            "segment": "lfp_cathode",
            "capacity": 100000,
            "online": "2025-01",
            "probability": 1.0,
        },
        {
            "name": "Unlikely salt plant",
            "segment": "lithium_salt",
            "capacity": 50000,
            "online": "2025-01",
            "probability": 0.0,
        },
    ]
    model = traced(_lever(plain, projects=projects), fields=("available", "unit_cost"))
    ids = model.books["lfp_cathode"].columns.firm_id
    j = ids.index("project_new_lfp_plant")
    assert model.books["lfp_cathode"].active[0, j]
    k = model.books["lithium_salt"].columns.firm_id.index("project_unlikely_salt_plant")
    assert not model.books["lithium_salt"].active[0, k]
    available = _stack(model, "lfp_cathode", "available")[:, 0, j]
    assert available[month_index("2024-12")] == 0.0 and available[month_index("2025-06")] > 0
    # the rest of China is the same draw with or without the pipeline
    base = traced(plain, fields=("available", "unit_cost"))
    rest = ~model.books["battery"].suining
    assert np.array_equal(
        _stack(base, "battery", "unit_cost")[0][:, rest[: base.books["battery"].shape[1]]],
        _stack(model, "battery", "unit_cost")[0][:, rest],
    )


def test_land_efficiency_grades_suining_plants_and_prices_energy_by_grade(plain):
    lever = {
        "land_efficiency": {
            "grade_a": 1.2,
            "grade_c": 0.9,
            "grade_d": 0.6,
            "energy_surcharge_c": 0.2,
            "energy_surcharge_d": 0.4,
            "energy_discount_a": 0.1,
            "upgrade_cost_share": 0.15,
            "upgrade_cost_cut": 0.08,
            "upgrade_support": 0.7,
            "from": "2024-01",
        }
    }
    record = run(override(plain, policy=lever), 2, firm_detail=2)
    for stage, grades in record.grades.items():
        suining = np.array([r == "suining" for r in record.columns[stage]["region"]])
        graded = grades >= 0
        assert not graded[:, :, ~suining].any()  # rest-of-China plants are never reviewed
        assert not graded[:, :2].any()  # no review before the lever starts (2022, 2023)
    assert sum(int((g[:, 2:] >= 0).sum()) for g in record.grades.values()) > 0
    assert record.events["land_upgrades"].sum() > 0


def test_listed_groups_carry_their_plants_through_a_harsh_review(plain):
    """A plant of a listed group draws on its parent before it closes (Tianqi Anju survives a harsh review)."""
    harsh = {
        "land_efficiency": {
            "grade_a": 3.0,
            "grade_c": 2.0,
            "grade_d": 2.0,
            "energy_surcharge_d": 0.5,
            "upgrade_cost_share": 0.15,
            "exit_after_d_years": 1,
            "from": "2022-01",
        }
    }
    record = run(override(plain, policy=harsh), 4, firm_detail=4)
    ids = record.columns["lithium_salt"]["firm_id"]
    anju = ids.index("tianqi_anju")
    assert np.all(record.firms["lithium_salt"]["active"][:, -1, anju] > 0)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_hedging_never_raises_the_mean_price_received_and_steadies_cash_flow(baseline):
    """Forward sales at the expected price: the mean realised price is spot's less costs; its variance falls."""
    flat = baseline.with_changes(
        carbonate_points=((0, 90000.0),),
        price_after="flat",
        volatility=0.15,
        persistence=0.9,
        shocks_from=0,
        end_month=month_index("2025-12"),
    )
    hedged = _lever(flat, hedging={"share": 0.8, "horizon_months": 3, "from": "2022-01"})
    base, lever = traced(flat, ("prices",), n=8), traced(hedged, ("prices",), n=8)
    suining = lever.books["lithium_salt"].suining
    spot = _stack(base, "lithium_salt", "prices")[6:, :, suining][..., 0]
    realised = _stack(lever, "lithium_salt", "prices")[6:, :, suining][..., 0]
    assert realised.mean() <= spot.mean()
    assert np.std(np.diff(realised, axis=0)) < np.std(np.diff(spot, axis=0))


def test_hedging_brings_no_windfall_in_the_2023_24_collapse(baseline):
    hedged = _lever(baseline, hedging={"share": 0.3, "horizon_months": 3, "from": "2023-07"})
    model = traced(hedged.with_changes(end_month=month_index("2024-12")), ("prices",))
    suining = model.books["lithium_salt"].suining
    prices = _stack(model, "lithium_salt", "prices")[:, 0]
    jan24 = month_index("2024-01")
    ratio = prices[jan24, suining][0] / prices[jan24, ~suining][0]
    assert 0.85 < ratio < 1.05  # futures expect the known path: no 49% premium over spot


def test_innovation_support_lowers_suining_costs_over_time(plain):
    model = traced(_lever(plain, innovation={"extra_learning_rate": 0.05, "from": "2024-01"}), ("unit_cost",))
    book = model.books["lfp_cathode"]
    assert np.all(book.cost_factor[:, book.suining][book.active[:, book.suining]] < 1.0)
    assert np.all(book.cost_factor[:, ~book.suining] == 1.0)


def test_override_checks_levers_against_their_declarations(baseline):
    with pytest.raises(InputError, match="tax_relief.amount.2026"):
        override(baseline, policy={"tax_relief": {"amount": {2026: -500}}})
    with pytest.raises(InputError, match="cost_cut"):
        override(baseline, policy={"energy_support": {"cost_cut": 0.9}})
    with pytest.raises(InputError, match="unknown key"):
        override(baseline, policy={"energy_support": {"cut": 0.1}})
    with pytest.raises(InputError, match="outside the run"):
        override(baseline, policy={"energy_support": {"cost_cut": 0.1, "from": "2040-01"}})


def test_the_policy_package_pays_the_report_s_magnitudes():
    """Tax relief of 3.2 亿 a year is the report's 9.03 亿 (line 17) times lithium's 35% of industry revenue."""
    from sim.inputs.scenario import load_scenario

    scenario = load_scenario(SCENARIOS / "policy_package.toml")
    setting = scenario.policy.settings["tax_relief"]
    assert setting.yearly["amount"][2024] == pytest.approx(9.03 * 590 / 1665, rel=0.02)
