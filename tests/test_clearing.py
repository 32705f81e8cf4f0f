"""One world: stages clear, path mode is market mode with the price pinned, integrated converters, levers' costs.

docs/model.md, "Submodels: offers and allocation" and "Submodels: world lithium market".
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.model import LithiumModel, release, simulate_batch
from sim.inputs.scenario import month_index, override_policy
from sim.outputs.metrics import batch_metrics
from tests.conftest import seeds

STAGES = ("lithium_salt", "lfp_cathode", "battery")
INPUT = {"lithium_salt": "lithium_supply", "lfp_cathode": "lithium_salt", "battery": "lfp_cathode"}


def _traced(scenario, params, n, master):
    model = LithiumModel(scenario, params=params, seeds=seeds(n, master), trace=("offers", "available", "margin"))
    model.run()
    release(model)
    return model


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
@given(
    level=st.floats(0.3, 3.0),
    demand=st.floats(0.6, 1.6),
    fee_lfp=st.floats(3000.0, 30000.0),
    fee_cell=st.floats(1e8, 4.5e8),
    dispersion=st.floats(0.05, 0.6),
    firms=st.integers(5, 30),
    master=st.integers(0, 2**32 - 1),
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_unmet_demand_beside_capacity_that_would_produce(
    short, level, demand, fee_lfp, fee_cell, dispersion, firms, master
):
    """Whenever a stage leaves demand unmet in a month, every firm that could be brought to produce by a higher fee
    (or, for converters, cheaper feedstock) offers all it has, or the stage's own input is short."""
    points = tuple((m, price * level) for m, price in short.carbonate_points)
    scenario = short.with_changes(
        carbonate_points=points,
        battery_levels={y: v * demand for y, v in short.battery_levels.items()},
    )
    params = short.params.replace(
        processing_fee_lfp=fee_lfp,
        processing_fee_cell=fee_cell,
        cost_dispersion=dispersion,
        synthetic_firms_salt=firms,
        synthetic_firms_lfp=firms,
        synthetic_firms_cell=firms,
    )
    model = _traced(scenario, params, 2, master)
    market = model.record.market
    for key in STAGES:
        offers = np.stack(model.monthly[key]["offers"], axis=1)  # (R, T, N) u/month
        available = np.stack(model.monthly[key]["available"], axis=1) / 12.0
        margin = np.stack(model.monthly[key]["margin"], axis=1)
        # a converter fed by its own group's mine cannot be helped by cheaper bought feedstock
        stuck = model.books[key].owns_feedstock[:, None, :] & (margin < 0) if key == "lithium_salt" else False
        could = np.where(stuck, 0.0, available).sum(axis=-1)
        unmet, addressed = market[f"unmet_{key}"], market[f"addressed_{key}"]
        short_month = unmet > 1e-6 * np.maximum(addressed, 1.0)
        input_short = market[f"unmet_{INPUT[key]}"] > 1e-6 * np.maximum(market[f"addressed_{INPUT[key]}"], 1.0)
        offered_all = offers.sum(axis=-1) >= could * (1.0 - 1e-6)
        assert np.all(~short_month | offered_all | input_short), key


def _mean_monthly_path(scenario, record):
    """A path-mode copy of a market-mode scenario, pinned to the market run's mean monthly price."""
    mean = record.market["carbonate_quote"].mean(axis=0)
    return scenario.with_changes(
        price_mode="path",
        carbonate_points=tuple((m, float(p)) for m, p in enumerate(mean)),
        volatility=0.0,
    )


@pytest.mark.slow
def test_path_mode_at_the_market_s_own_prices_reproduces_the_market(market_baseline):
    """One world: path mode run with market mode's mean monthly price gives Suining's value added and national
    outputs within 10% of market mode, 2025-2030 (common seeds)."""
    market = simulate_batch(market_baseline, seeds=seeds(10, 99))
    path = simulate_batch(_mean_monthly_path(market_baseline, market), seeds=seeds(10, 99))
    a, b = batch_metrics(market), batch_metrics(path)
    later = [i for i, y in enumerate(market.years) if 2025 <= y <= 2030]
    for key in (("suining", "all", "value_added"), *(("china", s, "output") for s in STAGES)):
        x, y = a[key][1][:, later].mean(axis=0), b[key][1][:, later].mean(axis=0)
        assert np.all(np.abs(y / x - 1.0) < 0.10), (key, x, y)


@pytest.mark.parametrize("mode", ["path", "market"])
def test_integrated_converters_run_on_their_group_s_cost_and_book_the_transfer_price(baseline, mode):
    """Tianqi's Suining plants run through the 2024-25 price trough (their group's Greenbushes concentrate costs
    far less than the price) while their accounts pay the lagged market-linked transfer price."""
    scenario = baseline.with_changes(price_mode=mode, end_month=month_index("2025-12"))
    model = LithiumModel(scenario, seeds=seeds(2, 5), trace=("quantity", "available", "unit_cost"), firm_detail=2)
    model.run()
    release(model)
    book = model.books["lithium_salt"]
    tianqi = [j for j, fid in enumerate(book.columns.firm_id) if fid.startswith("tianqi")]
    quantity = np.stack(model.monthly["lithium_salt"]["quantity"], axis=1)[:, 24:, tianqi].sum(axis=(1, 2))
    available = np.stack(model.monthly["lithium_salt"]["available"], axis=1)[:, 24:, tianqi].sum(axis=(1, 2)) / 12
    assert np.all(quantity >= 0.5 * available)
    firms = model.record.firms["lithium_salt"]
    # the plant's intermediate consumption per t is the transfer price plus processing: far above the mine's cost
    per_t = firms["intermediate"][:, :, tianqi].sum(axis=-1) / firms["output"][:, :, tianqi].sum(axis=-1)
    mine = book.own_feedstock_cost[0, tianqi[0]]
    assert np.all(per_t[:, 2:] > 2.0 * mine)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
@pytest.mark.parametrize(
    "lever, settings",
    [
        ("energy_support", {"cost_cut": 0.2, "city_cost_share": 1.0, "from": "2025-01"}),
        ("innovation", {"extra_learning_rate": 0.02, "cost_per_point": 1.5, "from": "2025-01"}),
    ],
)
def test_every_lever_books_what_it_costs_the_city(short, lever, settings):
    scenario = short.with_changes(end_month=month_index("2026-12"))
    base = batch_metrics(simulate_batch(scenario, seeds=seeds(1, 3)))
    policy = override_policy(scenario, {lever: settings})
    with_lever = batch_metrics(simulate_batch(scenario.with_changes(policy=policy), seeds=seeds(1, 3)))
    support = ("suining", "all", "support")
    extra = with_lever[support][1][0, -2:] - base[support][1][0, -2:]
    if lever == "innovation":
        assert extra == pytest.approx([3.0, 3.0], rel=1e-6)  # 2 points x 1.5 亿元 a year
    else:
        assert np.all(extra > 0.05)
        free = override_policy(scenario, {lever: {**settings, "city_cost_share": 0.0}})
        gratis = batch_metrics(simulate_batch(scenario.with_changes(policy=free), seeds=seeds(1, 3)))
        assert np.allclose(gratis[support][1], base[support][1])
