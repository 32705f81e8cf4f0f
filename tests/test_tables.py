"""The summary across replicates: quantiles exactly as numpy's, rows undefined everywhere dropped."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.outputs.metrics import fiscal_metrics
from sim.outputs.tables import _quantiles, history_years, summarise

values = arrays(
    np.float64,
    st.tuples(st.integers(1, 12), st.integers(1, 30)),
    elements=st.one_of(st.floats(-1e12, 1e12, allow_nan=False), st.just(np.nan)),
)


@settings(max_examples=200, deadline=None)
@given(values)
def test_quantiles_equal_numpys_nanquantile_bit_for_bit(v):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        expected = np.nanquantile(v, [0.05, 0.5, 0.95], axis=1)
    assert np.array_equal(_quantiles(v, np.isfinite(v), (0.05, 0.5, 0.95)), expected, equal_nan=True)


def test_summary_drops_rows_undefined_for_every_replicate_and_orders_quantiles():
    keys = [(2023, "suining", "battery", "output", "GWh"), (2023, "suining", "battery", "growth", "%")]
    v = np.array([[3.0, 1.0, 2.0, 5.0], [np.nan] * 4])
    frame = summarise(keys, v, "baseline")
    assert list(frame["metric"]) == ["output"]
    row = frame.iloc[0]
    assert row["p05"] <= row["p50"] <= row["p95"] and row["mean"] == 2.75 and row["p50"] == 2.5


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 9)), elements=st.floats(0, 1e3)),
    st.data(),
)
def test_the_city_net_is_revenue_received_less_support_paid_since_the_start(revenue, data):
    support = data.draw(arrays(np.float64, revenue.shape, elements=st.floats(0, 1e3)))
    out = {key[2]: values for key, (unit, values) in fiscal_metrics(revenue, support).items()}
    assert np.allclose(out["net_fiscal"], out["local_fiscal_revenue_cumulative"] - out["support_cumulative"])
    assert np.allclose(out["net_fiscal"][:, -1], revenue.sum(axis=1) - support.sum(axis=1))
    # year by year the net moves by that year's revenue less its support
    assert np.allclose(np.diff(out["net_fiscal"], axis=1), (revenue - support)[:, 1:])


def test_history_is_the_data_years_before_the_price_shocks(baseline, market_baseline):
    assert history_years(baseline) == [2022, 2023, 2024, 2025]  # national data through 2025, shocks from 2026
    assert history_years(baseline.with_changes(shocks_from=12)) == [2022]  # shocks from January 2023
    assert history_years(market_baseline.with_changes(shocks_from=12)) == [2022, 2023, 2024, 2025]  # no path to shock
    assert history_years(baseline, last_data_year=2023) == [2022, 2023]
