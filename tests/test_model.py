"""Model behaviour: material balance along the chain, determinism, batches, responses, properties."""

import gc

import mesa
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.model import LithiumModel, simulate_batch
from sim.inputs.data import default_data
from sim.outputs.metrics import MetricTable
from tests.conftest import metrics, run, seeds


def _annual(series: np.ndarray) -> np.ndarray:
    r, t = series.shape
    return series.reshape(r, t // 12, 12).sum(axis=-1)


def test_material_balance_through_the_chain(baseline_record, baseline):
    m, p = baseline_record.market, baseline.params
    # salts served from stocks and trade at the scenario's pinned price count with domestic output
    salt = m["output_lithium_salt"] + m["trade_lithium_salt"]
    lfp, cells = m["output_lfp_cathode"], m["output_battery"]
    share = m["lfp_share"]
    # the lithium LFP makers buy is their output times the intensity; the rest of salt output is final sales
    salt_final = salt - p.lce_per_t_lfp * lfp
    assert np.all(salt_final >= -1e-6 * salt) and np.all(salt_final <= m["final_lithium_salt"] * (1 + 1e-9) + 1e-6)
    # every t of LFP went into cells: the LFP part of the cells made, times the intensity
    lfp_cells = cells - (1.0 - share) * m["request_battery"]
    assert np.allclose(lfp, p.lfp_t_per_gwh * lfp_cells, rtol=1e-9, atol=1e-6)
    # nothing is produced beyond the demand addressed to a stage; what is not delivered is unmet, never lost
    for key in ("lithium_salt", "lfp_cathode", "battery"):
        out, addressed, unmet, trade = (m[f"{n}_{key}"] for n in ("output", "addressed", "unmet", "trade"))
        assert np.all(out + trade <= addressed * (1 + 1e-9) + 1e-6) and np.all(trade >= 0)
        assert np.allclose(out + trade + unmet, addressed, rtol=1e-9, atol=1e-6)
        # the firms' allocations add up to the stage's output, year by year
        firms = baseline_record.region("china", key, "output")
        assert np.allclose(firms, _annual(out), rtol=1e-9)


def test_same_seed_same_results(short):
    a = MetricTable.from_batch(run(short, 2, master=7))
    b = MetricTable.from_batch(run(short, 2, master=7))
    assert a.keys == b.keys and np.array_equal(a.values, b.values, equal_nan=True)


def test_different_seeds_differ(short):
    a = metrics(short, 1, master=1)[("suining", "lfp_cathode", "national_share")]
    b = metrics(short, 1, master=2)[("suining", "lfp_cathode", "national_share")]
    assert not np.array_equal(a, b)


def test_a_seed_object_can_be_reused(short):
    """Passing the same SeedSequence twice gives the same run (the model must not advance it)."""
    seed = np.random.SeedSequence(5)
    a = MetricTable.from_batch(simulate_batch(short, seeds=[seed]))
    b = MetricTable.from_batch(simulate_batch(short, seeds=[seed]))
    assert np.array_equal(a.values, b.values, equal_nan=True)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
@pytest.mark.parametrize("name", ["baseline", "baseline_market", "policy_package"])
def test_a_replicate_is_bit_identical_whatever_its_batch(name):
    """Batches must not change the Monte Carlo: each replicate's figures equal the one-at-a-time run's."""
    from sim.inputs.scenario import load_scenario
    from tests.conftest import SCENARIOS

    scenario = load_scenario(SCENARIOS / f"{name}.toml").with_changes(end_month=47)
    batch = MetricTable.from_batch(simulate_batch(scenario, seeds=seeds(4)))
    for r in (0, 3):
        alone = MetricTable.from_batch(simulate_batch(scenario, seeds=seeds(4)[r : r + 1]))
        assert alone.keys == batch.keys
        assert np.array_equal(alone.values[:, 0], batch.values[:, r], equal_nan=True)


def test_stopping_after_some_years_gives_the_full_run_s_first_years(short):
    full = MetricTable.from_batch(run(short, 2))
    cut = MetricTable.from_batch(run(short, 2, months=24))
    index = {k: i for i, k in enumerate(full.keys)}
    for i, key in enumerate(cut.keys):
        assert np.array_equal(cut.values[i], full.values[index[key]], equal_nan=True)


def test_base_year_real_value_added_equals_current_prices(baseline_record):
    from sim.outputs.metrics import batch_metrics

    m = batch_metrics(baseline_record)
    for region in ("suining", "china"):
        for seg in ("lithium_salt", "lfp_cathode", "battery", "all"):
            nominal, real = m[(region, seg, "value_added")][1], m[(region, seg, "value_added_real")][1]
            fixed = m[(region, seg, "value_added_fixed_2022")][1]
            assert np.allclose(nominal[:, 0], real[:, 0], rtol=1e-9)
            if region == "china":  # the fixed-price series values output at the nation's 2022 prices
                assert np.allclose(nominal[:, 0], fixed[:, 0], rtol=1e-9)


def test_real_growth_is_chained_at_previous_year_prices(baseline_record):
    """Growth at comparable prices: this year's output valued at last year's value added per unit (Suining's own,
    the nation's in a year Suining made none of a product)."""
    reg = baseline_record.regional
    stages = ("lithium_salt", "lfp_cathode", "battery")

    def per_unit(region, s):
        output = reg[(region, s, "output")]
        return np.divide(reg[(region, s, "value_added")], output, out=np.full(output.shape, np.nan), where=output > 0)

    vapu = {
        s: np.where(reg[("suining", s, "output")] > 0, per_unit("suining", s), per_unit("china", s)) for s in stages
    }
    out = {s: reg[("suining", s, "output")] for s in stages}
    y = 1  # 2023
    expected = 100 * (
        sum(out[s][:, y] * vapu[s][:, y - 1] for s in stages)
        / sum(out[s][:, y - 1] * vapu[s][:, y - 1] for s in stages)
        - 1
    )
    from sim.outputs.metrics import batch_metrics

    growth = batch_metrics(baseline_record)[("suining", "all", "value_added_real_growth")][1][:, y]
    assert np.allclose(growth, expected, rtol=1e-9)


def _scaled_price(scenario, factor):
    points = tuple((m, p * factor) for m, p in scenario.carbonate_points)
    return scenario.with_changes(carbonate_points=points, price_revert_level=scenario.price_revert_level * factor)


def test_higher_carbonate_price_raises_salt_output_value(short):
    low = metrics(_scaled_price(short, 0.8), 2)
    high = metrics(_scaled_price(short, 1.25), 2)
    for region in ("suining", "china"):
        key = (region, "lithium_salt", "output_value")
        assert np.all(high[key] > low[key])
    assert np.all(high[("china", "lfp_cathode", "price")] > low[("china", "lfp_cathode", "price")])


def test_suining_shares_follow_costs_rather_than_being_set(short):
    """Cheaper Suining LFP makers win a larger share; nothing in the model fixes the share."""
    share = ("suining", "lfp_cathode", "national_share")
    cheap = metrics(short, 2, params=short.params.replace(suining_cost_factor_lfp=0.8))[share]
    dear = metrics(short, 2, params=short.params.replace(suining_cost_factor_lfp=1.2))[share]
    assert np.all(cheap[:, 1:] > dear[:, 1:])


price_factors = st.lists(st.floats(0.2, 3.0), min_size=2, max_size=6)


@given(
    factors=price_factors,
    salt=st.integers(5, 40),
    lfp=st.integers(5, 40),
    cell=st.integers(5, 40),
    size_sd=st.floats(0.2, 2.0),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_properties_over_generated_populations_and_price_paths(short, factors, salt, lfp, cell, size_sd, seed):
    months = np.linspace(0, short.end_month, len(factors)).round().astype(int)
    base = short.price_path()
    points = []
    for m, f in zip(months, factors, strict=True):
        if not points or m > points[-1][0]:
            points.append((int(m), float(base[m] * f)))
    scenario = short.with_changes(carbonate_points=tuple(points))
    params = short.params.replace(
        synthetic_firms_salt=salt, synthetic_firms_lfp=lfp, synthetic_firms_cell=cell, firm_size_sd=size_sd
    )
    record = simulate_batch(scenario, params=params, seeds=[seed, seed + 1])
    table = MetricTable.from_batch(record)
    values = table.values
    defined = np.isfinite(values)
    growth = np.array(["growth" in k[3] for k in table.keys])
    assert defined[~growth].all()
    for (_, _, _, metric, _), row in zip(table.keys, values, strict=True):
        if metric in ("output", "capacity", "output_value", "employment", "firms", "unmet_demand", "demand"):
            assert np.all(row >= 0), metric
        if metric == "utilization":
            assert np.all((row >= 0) & (row <= 1 + 1e-9))
        if metric == "national_share":
            assert np.all((row >= 0) & (row <= 100 + 1e-9))
        if metric == "price":
            assert np.all(row > 0)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_memory_stays_flat_over_many_batches(short):
    before = len(mesa.Agent._ids)
    for master in range(20):
        run(short, 2, master=master, months=12)
    gc.collect()
    assert len(mesa.Agent._ids) <= before  # no model is kept alive by Mesa's registry


def test_firms_are_mesa_agents_one_per_column(short):
    model = LithiumModel(short, seeds=seeds(3))
    for book in model.books.values():
        agents = [a for a in model.agents if getattr(a, "book", None) is book]
        assert len(agents) == len(book.columns)
        assert agents[0].capacity.shape == (3,)  # the firm in each replicate
    assert model.steps == 0
    model.run(months=12)
    assert model.steps == 12


def test_synthetic_capacity_matches_the_national_data(short):
    """The rest of China is drawn so national capacity at the start equals the data's end-2021 figure."""
    model = LithiumModel(short, seeds=seeds(3))
    national = default_data().national
    for stage in model.chain.firm_stages:
        total = model.books[stage.key].capacity.sum(axis=1)
        assert np.allclose(total, national[stage.national["capacity"]][2021], rtol=1e-9)
