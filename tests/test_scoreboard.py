"""The report's scoreboard: lithium's share of GDP, its contribution to growth, investment and local revenue."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.api import override
from sim.inputs.data import default_data
from sim.inputs.params import ModelParams
from sim.outputs.metrics import batch_metrics
from sim.outputs.scoreboard import city_growth, local_revenue
from tests.conftest import LIBRARY, run

SCOREBOARD = ("fixed_asset_investment", "local_fiscal_revenue", "gdp_share", "gdp_growth_contribution")


@pytest.fixture(scope="module")
def board(baseline):
    return batch_metrics(run(baseline, 3))


def test_contributions_add_up_to_the_city_s_growth(board):
    """Lithium's contribution and the rest of the economy's sum to the city's growth: its record in data years
    (2023: +6.7%, 2024: +6.6%), the projection after."""
    city = default_data().city
    lithium = board[("suining", "all", "gdp_growth_contribution")][1]
    total = board[("suining", "all", "city_gdp_growth")][1]
    assert np.allclose(total[:, 1], city["gdp_growth"][2023]) and np.allclose(total[:, 2], city["gdp_growth"][2024])
    share = board[("suining", "all", "gdp_share")][1] / 100
    rest_growth = 100 * 0.06  # the scenario's default outside lithium after the data
    rest = (1 - share[:, 2:-1]) * rest_growth
    assert np.allclose(lithium[:, 3:] + rest, total[:, 3:], rtol=1e-9)


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
