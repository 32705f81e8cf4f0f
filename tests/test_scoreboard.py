"""The report's scoreboard: lithium's share of GDP, its contribution to growth, investment and local revenue."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.api import override
from sim.inputs.data import default_data
from sim.inputs.params import ModelParams
from sim.inputs.units import YI
from sim.outputs.metrics import batch_metrics
from sim.outputs.scoreboard import city_growth, local_revenue
from tests.conftest import LIBRARY, run

SCOREBOARD = ("fixed_asset_investment", "local_fiscal_revenue", "gdp_share", "gdp_growth_contribution")


@pytest.fixture(scope="module")
def record(baseline):
    return run(baseline, 3)


@pytest.fixture(scope="module")
def board(record):
    return batch_metrics(record)


def _lithium_accounts(record):
    """Suining's lithium value added (亿元) by year, and the same year's output valued at the previous year's
    value added per unit, stage by stage (the nation's where Suining made nothing): computed here from the
    record's stage accounts, not through the metrics."""
    stages = sorted({stage for (region, stage, field) in record.regional if region == "suining" and field == "output"})
    va = sum(record.regional[("suining", s, "value_added")] for s in stages) / YI
    at_previous = 0.0
    for s in stages:
        output = record.regional[("suining", s, "output")]
        own = record.regional[("suining", s, "value_added")] / np.where(output > 0, output, 1.0)
        china = record.regional[("china", s, "value_added")] / record.regional[("china", s, "output")]
        per_unit = np.where(output > 0, own, china)
        at_previous = at_previous + output[:, 1:] * per_unit[:, :-1]
    return va, at_previous / YI


def test_lithium_s_contribution_is_its_real_value_added_change_over_last_year_s_gdp(record, board):
    """In every year, the recorded ones (2023, 2024) included: lithium's contribution to the city's growth is the
    change in its value added at the previous year's prices over the city's GDP of the year before (GDP from
    city.csv while it has data; after it the rest of the economy grows at the scenario's [city] rates). And in the
    projection the city's growth is the real growth of that GDP path."""
    city = default_data().city
    years = record.years
    va, at_previous = _lithium_accounts(record)
    other, deflator = record.city_growth
    gdp = np.full(va.shape, np.nan)
    rest = None
    for j, year in enumerate(years):
        if year in city["gdp"]:
            gdp[:, j] = city["gdp"][year]
            rest = city["gdp"][year] - va[:, j]
        else:
            rest = rest * (1 + other) * (1 + deflator)
            gdp[:, j] = rest + va[:, j]
    expected = 100 * (at_previous - va[:, :-1]) / gdp[:, :-1]
    contribution = board[("suining", "all", "gdp_growth_contribution")][1]
    assert 2023 in years and 2024 in years and years[-1] > max(city["gdp"])
    np.testing.assert_allclose(contribution[:, 1:], expected, rtol=1e-9, atol=1e-9)
    # the city's real growth after the data: the rest of the economy at its real rate plus lithium at last year's
    # prices, over last year's GDP
    growth = board[("suining", "all", "city_gdp_growth")][1]
    for j, year in enumerate(years):
        if j and year > max(city["gdp"]):
            rest_before = gdp[:, j - 1] - va[:, j - 1]
            real = 100 * ((rest_before * (1 + other) + at_previous[:, j - 1]) / gdp[:, j - 1] - 1)
            np.testing.assert_allclose(growth[:, j], real, rtol=1e-9)
    # the recorded years carry the record
    assert np.allclose(growth[:, years.index(2023)], city["gdp_growth"][2023])


@given(
    va=st.lists(st.floats(1.0, 200.0), min_size=4, max_size=4),
    growth=st.lists(st.floats(-30, 60), min_size=4, max_size=4),
)
def test_the_growth_identity_holds_for_any_lithium_path(va, growth):
    years = [2023, 2024, 2025, 2026]
    gdp = np.array([[1700.0, 1800.0, 1900.0, 2000.0]])
    out = city_growth(np.array([va]), np.array([growth]), gdp, years, {2023: 6.7, 2024: 6.6}, 0.05)
    assert np.allclose(out["lithium"][:, 1:] + out["rest"][:, 1:], out["city"][:, 1:], rtol=1e-12, atol=1e-12)


@given(vat=st.floats(0, 1e9), cit=st.floats(0, 1e9), surcharges=st.floats(0, 1e8), city=st.floats(0.3, 1.0))
def test_fiscal_shares_sum_to_the_taxes_paid(vat, cit, surcharges, city):
    p = ModelParams().replace(city_share_of_local=city)
    to_city = local_revenue(np.array(vat), np.array(cit), np.array(surcharges), p)
    to_centre = vat * (1 - p.vat_local_share) + cit * (1 - p.income_tax_local_share)
    to_province = (vat * p.vat_local_share + cit * p.income_tax_local_share) * (1 - city)
    assert np.isclose(to_city + to_centre + to_province, vat + cit + surcharges, rtol=1e-12)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_more_investment_never_shows_less_fixed_asset_investment(baseline):
    more = override(
        baseline,
        policy={
            "projects": [
                {
                    "name": "Big LFP plant",
                    "segment": "lfp_cathode",
                    "capacity": 200000,
                    "online": "2026-01",
                    "probability": 1.0,
                },
                {"name": "Cell plant", "segment": "battery", "capacity": 20, "online": "2026-06", "probability": 1.0},
            ]
        },
    )
    base = batch_metrics(run(baseline, 2))[("suining", "all", "fixed_asset_investment")][1]
    up = batch_metrics(run(more, 2))[("suining", "all", "fixed_asset_investment")][1]
    # the projects' capex counts in the years it is spent (2024-25, before they come online), and investment to
    # date is higher until they are built; later, incumbents crowded out of the market may invest less (in a
    # replicate where Suining's LFP makers would have expanded, the new plant takes their place)
    assert np.all(up[:, 2:4] > base[:, 2:4])
    assert np.all(np.cumsum(up, axis=1)[:, :5] >= np.cumsum(base, axis=1)[:, :5] - 1e-9)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_a_project_that_only_adds_investment_never_shows_less_fixed_asset_investment(baseline):
    """A plant built in 2029-30 that comes online in the run's last month adds capex and crowds nobody out: the
    city's lithium investment is at least the baseline's in every year, and higher in the years it is spent."""
    more = override(
        baseline,
        policy={
            "projects": [{"name": "Next LFP plant", "segment": "lfp_cathode", "capacity": 200000, "online": "2030-12"}]
        },
    )
    base = batch_metrics(run(baseline, 3))[("suining", "all", "fixed_asset_investment")][1]
    up = batch_metrics(run(more, 3))[("suining", "all", "fixed_asset_investment")][1]
    assert np.all(up >= base - 1e-9 * np.abs(base).max())
    assert np.all(up[:, -2:] > base[:, -2:] + 1.0)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_every_library_scenario_reports_the_scoreboard(path):
    from sim.inputs.scenario import load_scenario

    scenario = load_scenario(path)
    m = batch_metrics(run(scenario, 1, months=36))
    for metric in SCOREBOARD:
        values = m[("suining", "all", metric)][1]
        assert values.shape == (1, 3) and np.isfinite(values[:, 1:]).all(), metric
