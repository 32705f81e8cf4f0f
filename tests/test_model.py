"""Model behaviour: material balance, determinism, price responses, and properties over generated inputs."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.model import LithiumModel
from sim.outputs.results import collect
from sim.runs.runner import release, simulate
from tests.conftest import run_model


def test_material_balance_through_the_chain(baseline_model):
    p = baseline_model.params
    for month, row in enumerate(baseline_model.market_history):
        salt_out = sum(baseline_model.history["lithium_salt"][month]["output"])
        lfp_out = sum(baseline_model.history["lfp_cathode"][month]["output"])
        cells = sum(baseline_model.history["battery"][month]["output"])
        # lithium used by LFP makers is their output times the intensity
        assert np.isclose(row["lithium_in_lfp"], lfp_out * p.lce_per_t_lfp, rtol=1e-12)
        # LFP demanded equals what the cells made this month need
        assert np.isclose(row["lfp_demand"], cells * row["lfp_share"] * p.lfp_t_per_gwh, rtol=1e-12)
        # salt demand is LFP's lithium plus the non-LFP uses; output never exceeds it
        assert row["salt_demand"] >= row["lithium_in_lfp"]
        assert salt_out <= row["salt_demand"] * (1 + 1e-9)
        assert lfp_out <= row["lfp_demand"] * (1 + 1e-9)
        assert cells <= row["battery_demand"] * (1 + 1e-9)


def test_same_seed_same_results(short):
    a = simulate(short, seed=np.random.SeedSequence(7))
    b = simulate(short, seed=np.random.SeedSequence(7))
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.firms, b.firms)


def test_different_seeds_differ(short):
    a = simulate(short, seed=1).firms
    b = simulate(short, seed=2).firms
    assert not a.equals(b)  # synthetic firms are drawn from the seed


def test_base_year_constant_prices_equal_current_prices_nationally(baseline_result):
    s = baseline_result.summary
    for seg in ("lithium_salt", "lfp_cathode", "battery", "all"):  # noqa: B007 (used as @seg in the queries)
        nominal = s.query("year == 2022 and region == 'china' and segment == @seg and metric == 'value_added'")
        real = s.query("year == 2022 and region == 'china' and segment == @seg and metric == 'value_added_real'")
        assert np.isclose(nominal["value"].iloc[0], real["value"].iloc[0], rtol=1e-9)


def _scaled_price(scenario, factor):
    points = tuple((m, p * factor) for m, p in scenario.carbonate_points)
    return scenario.with_changes(carbonate_points=points, price_revert_level=scenario.price_revert_level * factor)


def _segment_total(model, segment, field, suining_only=True):
    total = 0.0
    for rec in model.history[segment]:
        mask = model.books[segment].suining[: len(rec[field])] if suining_only else slice(None)
        total += rec[field][mask].sum()
    return total


def test_higher_carbonate_price_raises_salt_output_value_and_lfp_costs(short):
    low = run_model(_scaled_price(short, 0.8))
    high = run_model(_scaled_price(short, 1.25))
    assert _segment_total(high, "lithium_salt", "output_value") > _segment_total(low, "lithium_salt", "output_value")
    # LFP makers' unit cost (lithium content at the carbonate price) is higher in every month
    for rec_low, rec_high in zip(low.history["lfp_cathode"], high.history["lfp_cathode"], strict=True):
        n = min(len(rec_low["unit_cost"]), len(rec_high["unit_cost"]))
        assert np.all(rec_high["unit_cost"][:n] > rec_low["unit_cost"][:n])


def test_suining_shares_emerge_rather_than_being_set(short):
    """Cheaper Suining LFP makers win a larger share; nothing in the model fixes the share."""
    cheap = run_model(short, params=short.params.replace(suining_cost_factor_lfp=0.8))
    dear = run_model(short, params=short.params.replace(suining_cost_factor_lfp=1.2))
    share = lambda m: _segment_total(m, "lfp_cathode", "output") / _segment_total(m, "lfp_cathode", "output", False)  # noqa: E731
    assert share(cheap) > share(dear)


price_factors = st.lists(st.floats(0.2, 3.0), min_size=2, max_size=6)


@given(factors=price_factors, salt=st.integers(5, 40), lfp=st.integers(5, 40), cell=st.integers(5, 40),
       size_sd=st.floats(0.2, 2.0), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_properties_over_generated_populations_and_price_paths(short, factors, salt, lfp, cell, size_sd, seed):
    months = np.linspace(0, short.end_month, len(factors)).round().astype(int)
    base = short.price_path()
    points = []
    for m, f in zip(months, factors, strict=True):
        if not points or m > points[-1][0]:
            points.append((int(m), float(base[m] * f)))
    scenario = short.with_changes(carbonate_points=tuple(points))
    params = short.params.replace(synthetic_firms_salt=salt, synthetic_firms_lfp=lfp, synthetic_firms_cell=cell,
                                  firm_size_sd=size_sd)
    model = LithiumModel(scenario, params=params, rng=seed).run()
    result = collect(model)
    release(model)
    s = result.summary
    assert np.isfinite(s["value"]).all()
    assert (s[s.metric.isin(["output", "capacity", "output_value", "employment", "firms"])]["value"] >= 0).all()
    util = s[s.metric == "utilization"]["value"]
    assert ((util >= 0) & (util <= 1 + 1e-9)).all()
    share = s[s.metric == "national_share"]["value"]
    assert ((share >= 0) & (share <= 100 + 1e-9)).all()
    for history in model.history.values():
        for rec in history:
            assert np.all(rec["output"] >= 0)
            assert np.all(rec["output"] * 12 <= rec["available"] * (1 + 1e-9) + 1e-9)
    assert (result.firms["utilization"].between(0, 1 + 1e-9)).all()


def test_memory_stays_flat_over_many_replicates(short):
    import gc

    import mesa

    before = len(mesa.Agent._ids)
    for seed in range(30):
        simulate(short, seed=seed)
    gc.collect()
    assert len(mesa.Agent._ids) <= before  # no model is kept alive by Mesa's registry


def test_a_seed_object_can_be_reused(short):
    """Passing the same SeedSequence twice gives the same run (the model must not advance it)."""
    seed = np.random.SeedSequence(5)
    a, b = simulate(short, seed=seed), simulate(short, seed=seed)
    pd.testing.assert_frame_equal(a.summary, b.summary)
