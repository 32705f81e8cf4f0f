"""The base years come out right because capacities, costs and allocation make them so.

Bands are the acceptance ranges: shares of 7% and 18% (report), real value-added growth of 21.8% (report),
national output within 20% of the data (sim/inputs/data/national.csv).

Figures are the means over the baseline's replicates, exactly as `make run` writes them to summary.csv.
"""

import pytest

from sim.inputs.data import load_national
from sim.runs.runner import run_scenario


@pytest.fixture(scope="module")
def summary(baseline):
    return run_scenario(baseline, progress=False).summary


def _value(summary, year, region, segment, metric):
    row = summary.query("year == @year and region == @region and segment == @segment and metric == @metric")
    return float(row["mean"].iloc[0])


def test_suining_shares_2023(summary):
    assert 5.5 <= _value(summary, 2023, "suining", "lithium_salt", "national_share") <= 8.5
    assert 15.0 <= _value(summary, 2023, "suining", "lfp_cathode", "national_share") <= 21.0


def test_suining_real_value_added_growth_2023(summary):
    assert 15.0 <= _value(summary, 2023, "suining", "all", "value_added_real_growth") <= 29.0


@pytest.mark.parametrize("segment,key", [("lithium_salt", "lithium_salt_output"), ("lfp_cathode", "lfp_output"),
                                         ("battery", "battery_output")])
@pytest.mark.parametrize("year", [2022, 2023])
def test_national_output_near_data(summary, segment, key, year):
    data = load_national()[key][year]
    model = _value(summary, year, "china", segment, "output")
    assert model == pytest.approx(data, rel=0.2)
