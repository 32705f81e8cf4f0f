"""The market mode: world lithium supply, stocks and an endogenous carbonate price (docs/model.md, "Submodels:
world lithium supply" and "Submodels: world lithium market")."""

import dataclasses

import numpy as np
import pytest

from sim.engine.supply import SupplyBook, WorldMarket
from sim.inputs.data import default_data
from sim.inputs.scenario import SupplyEvent, load_scenario, month_index
from sim.outputs.metrics import batch_metrics
from tests.conftest import SCENARIOS, run

PRICES_2022_2024 = {2022: 485000.0, 2023: 258000.0, 2024: 90000.0}  # averages incl. VAT (docs/data.md)


@pytest.fixture(scope="module")
def market(market_baseline):
    return run(market_baseline, 4)


def test_supply_equals_demand_plus_the_change_in_stocks_every_month(market):
    m = market.market
    inventory = m["world_inventory"]
    change = np.diff(inventory, axis=1, prepend=np.nan)
    produced = m["world_production"] + m["world_released"] + m["world_gap"]
    assert np.allclose((produced - m["world_served"])[:, 1:], change[:, 1:], rtol=1e-9, atol=1e-6)
    assert np.allclose(m["world_served"] + m["world_unmet"], m["world_demand"], rtol=1e-12, atol=1e-6)
    assert np.all(inventory >= -1e-6) and np.all(m["world_unmet"] >= 0)


def test_prices_are_finite_and_positive(market):
    for name, values in market.market.items():
        if name.startswith("price_") or name == "carbonate_quote":
            assert np.all(np.isfinite(values)) and np.all(values > 0), name


def test_the_world_rows_are_in_the_summary(market):
    m = batch_metrics(market)
    for metric in ("supply", "demand", "inventory", "curtailed_capacity", "unmet_demand", "price"):
        values = m[("world", "lithium_salt", metric)][1]
        assert values.shape == (4, 9) and np.all(np.isfinite(values)), metric
    for key in m:
        if key[2] == "unmet_demand":
            assert np.all(m[key][1] >= 0)


def _world(scenario, replicates=2):
    data = default_data()
    book = SupplyBook.create(data.supply, scenario.n_months, replicates)
    return WorldMarket(book, scenario, scenario.params, replicates)


def test_producers_curtail_only_below_their_cash_cost(market_baseline):
    """Units stop only when the smoothed price no longer covers their cash cost less the loss producers carry,
    and they wind down gradually (at most 1/curtail_months of the cohort a month)."""
    world = _world(market_baseline)
    book, p = world.book, market_baseline.params
    vat, tolerance = 1 + p.vat_rate, p.curtail_loss_tolerance
    demand = np.full(2, 80000.0)
    for month in range(48):
        before = book.running.copy()
        smoothed = world.smoothed.copy()
        world.step(month, demand * (0.6 if month > 12 else 1.3))
        fell = book.running < before - 1e-12
        covered = (smoothed / vat)[:, None] * (1 - book.price_linked) / (1 - tolerance)
        span = book.cost_high - book.cost_low
        expected = np.clip((covered - book.cost_low) / span, 0, 1)
        # the share running never falls below what the price covers, nor by more than a step a month
        assert np.all(book.running[fell] >= np.broadcast_to(expected, fell.shape)[fell] - 1e-12)
        assert np.all(before[fell] - book.running[fell] <= 1.0 / p.curtail_months + 1e-12)
        assert np.all(covered[fell] < np.broadcast_to(book.cost_high, fell.shape)[fell])


def _mean_price(scenario, supply=None, months=72, master=11):
    if supply is not None:
        data = dataclasses.replace(default_data(), supply=supply)
        record = run(scenario, 3, master=master, data=data, months=months)
    else:
        record = run(scenario, 3, master=master, months=months)
    return record.market["carbonate_quote"].mean(axis=1)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_more_supply_capacity_never_raises_the_mean_price(market_baseline):
    supply = default_data().supply
    more = dataclasses.replace(
        supply, capacity={c: {y: v * 1.15 for y, v in years.items()} for c, years in supply.capacity.items()}
    )
    base, plenty = _mean_price(market_baseline), _mean_price(market_baseline, more)
    assert np.all(plenty <= base * (1 + 1e-9))  # same seeds: common random numbers


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_a_suspension_never_lowers_the_mean_price(market_baseline):
    event = SupplyEvent("suspension", month_index("2025-08"), market_baseline.end_month, "china_lepidolite", 70000.0)
    suspended = market_baseline.with_changes(supply_events=(*market_baseline.supply_events, event))
    assert np.all(_mean_price(suspended) >= _mean_price(market_baseline) * (1 - 1e-9))


def test_path_mode_does_not_read_world_supply(baseline):
    supply = default_data().supply
    other = dataclasses.replace(
        supply, capacity={c: {y: v * 3 for y, v in years.items()} for c, years in supply.capacity.items()}
    )
    a = run(baseline, 2, months=36)
    b = run(baseline, 2, months=36, data=dataclasses.replace(default_data(), supply=other))
    assert np.array_equal(a.market["carbonate_quote"], b.market["carbonate_quote"])
    assert np.array_equal(
        a.regional[("china", "lfp_cathode", "output")], b.regional[("china", "lfp_cathode", "output")]
    )


def test_the_fitted_market_mode_keeps_the_2022_24_prices_within_their_target_bands(market):
    """The 2022 spike and the 2023-24 collapse are fitted, not emergent: the market group's parameters
    (price_adjustment, stock_price_elasticity, initial_inventory_days) are fitted to these three annual prices
    (calibration/targets.toml, bands of 30%). With the actual 2022-24 demand the calibrated parameters keep each
    annual average within its band; a fit through 2023 alone misses 2024 (the backtest in
    calibration/report/REPORT.md)."""
    price = batch_metrics(market)[("world", "lithium_salt", "price")][1].mean(axis=0)
    for year, recorded in PRICES_2022_2024.items():
        assert abs(price[year - 2022] / recorded - 1) <= 0.30, (year, price[year - 2022])


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_the_supply_scenarios_bracket_the_market_baseline_in_2027(market_baseline):
    """oversupply (projects on time, restarts) < baseline_market < supply_discipline (suspensions, curtailments
    held): mean carbonate price of 2027 over 8 replicates on common seeds."""
    prices = {}
    for name in ("oversupply", "baseline_market", "supply_discipline"):
        scenario = market_baseline if name == "baseline_market" else load_scenario(SCENARIOS / f"{name}.toml")
        metric = batch_metrics(run(scenario, 8, master=market_baseline.seed))[("world", "lithium_salt", "price")][1]
        prices[name] = metric[:, 2027 - 2022].mean()
    assert prices["oversupply"] < prices["baseline_market"] < prices["supply_discipline"], prices
