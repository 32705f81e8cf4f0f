"""The summary across replicates: quantiles exactly as numpy's, rows undefined everywhere dropped."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.outputs.tables import _quantiles, summarise

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
