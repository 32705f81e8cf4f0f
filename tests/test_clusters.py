"""Rival clusters: the clusters partition the nation, every new plant picks a cluster, each city's levers act
through the same location choice (docs/model.md, "Submodels: investment, entry and exit")."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.model import simulate_batch
from sim.inputs.clusters import REFERENCE, cluster_keys
from sim.inputs.scenario import load_scenario, month_index, override_policy
from sim.outputs.metrics import batch_metrics
from tests.conftest import SCENARIOS, seeds

STAGES = ("lithium_salt", "lfp_cathode", "battery")
RIVALS = tuple(k for k in cluster_keys() if k not in ("suining", REFERENCE))


@pytest.fixture(scope="module")
def horizon():
    """The baseline to 2027: two years of location choices after the history."""
    return load_scenario(SCENARIOS / "baseline.toml").with_changes(end_month=month_index("2027-12"))


def _new_shares(scenario, n=6, master=77):
    """Each cluster's share of the new capacity ordered in 2025-27, mean over replicates, by stage (%)."""
    m = batch_metrics(simulate_batch(scenario, seeds=seeds(n, master)))
    out = {}
    for stage in STAGES:
        total = m[("china", stage, "new_capacity")][1][:, 3:].sum(axis=1)
        for cluster in cluster_keys():
            mine = m[(cluster, stage, "new_capacity")][1][:, 3:].sum(axis=1)
            out[(cluster, stage)] = float(np.mean(100.0 * mine / np.maximum(total, 1e-9)))
    return out


def test_the_clusters_partition_the_nation(baseline):
    """Every plant is in one cluster: the clusters' output, capacity, value added and support add up to China's."""
    m = batch_metrics(simulate_batch(baseline, seeds=seeds(2)))
    for stage in STAGES:
        for metric in ("output", "capacity", "value_added", "support", "new_capacity"):
            total = sum(m[(c, stage, metric)][1] for c in cluster_keys())
            assert np.allclose(total, m[("china", stage, metric)][1], rtol=1e-9, atol=1e-9), (stage, metric)


LEVERS = st.sampled_from(
    [
        ("energy_support", "cost_cut", 0.05, 0.3),
        ("investment_support", "capex_subsidy", 0.05, 0.3),
        ("investment_support", "lag_cut_months", 2.0, 8.0),
    ]
)
TOLERANCE = 1.0  # percentage points of the new capacity: 6 replicates' sampling noise in the feedback


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lever=LEVERS, size=st.floats(0.0, 1.0), master=st.integers(0, 2**16))
def test_a_suining_incentive_draws_plants_to_suining_and_from_no_neighbour_to_another(horizon, lever, size, master):
    """A Suining incentive never lowers Suining's share of new plants and never raises a neighbour's (mean of six
    replicates on common seeds, within a percentage point)."""
    name, field, low, high = lever
    value = low + size * (high - low)
    policy = override_policy(horizon, {name: {field: value, "from": "2025-01"}})
    base, more = _new_shares(horizon, master=master), _new_shares(horizon.with_changes(policy=policy), master=master)
    for stage in STAGES:
        assert more[("suining", stage)] >= base[("suining", stage)] - TOLERANCE, (stage, base, more)
        for rival in RIVALS:
            assert more[(rival, stage)] <= base[(rival, stage)] + TOLERANCE, (stage, rival)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lever=LEVERS, size=st.floats(0.0, 1.0), rival=st.sampled_from(RIVALS), master=st.integers(0, 2**16))
def test_a_neighbour_s_incentive_never_draws_plants_to_suining(horizon, lever, size, rival, master):
    """A rival city's incentive never raises Suining's share of new plants (mean of six replicates, within a
    percentage point)."""
    name, field, low, high = lever
    value = low + size * (high - low)
    policy = override_policy(horizon, {rival: {name: {field: value, "from": "2025-01"}}})
    base, bid = _new_shares(horizon, master=master), _new_shares(horizon.with_changes(policy=policy), master=master)
    for stage in STAGES:
        assert bid[("suining", stage)] <= base[("suining", stage)] + TOLERANCE, (stage, rival, base, bid)


@pytest.mark.slow
def test_where_plants_go_leaves_the_nation_s_output_as_it_was(horizon):
    """National output follows demand whichever city wins the plants: the neighbours' bid moves it by under 2%
    (only through costs and the price they pass on)."""
    bid = load_scenario(SCENARIOS / "neighbours_bid.toml").with_changes(end_month=month_index("2027-12"))
    a = batch_metrics(simulate_batch(horizon, seeds=seeds(4, 5)))
    b = batch_metrics(simulate_batch(bid, seeds=seeds(4, 5)))
    for stage in STAGES:
        x, y = a[("china", stage, "output")][1].mean(axis=0), b[("china", stage, "output")][1].mean(axis=0)
        assert np.all(np.abs(y / x - 1.0) < 0.02), (stage, x, y)


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
def test_a_rival_s_lever_replaced_from_2026_leaves_its_history_alone(horizon):
    """A scenario's ``[policy.<cluster>.<lever>]`` replaces the cluster's known lever from its own ``from`` month:
    before it, every number is the baseline's (same seeds), and from it the rival's support changes."""
    bid = load_scenario(SCENARIOS / "neighbours_bid.toml").with_changes(end_month=month_index("2027-12"))
    base = batch_metrics(simulate_batch(horizon, seeds=seeds(2)))
    rival = batch_metrics(simulate_batch(bid, seeds=seeds(2)))
    before = np.arange(base[("suining", "lithium_salt", "output")][1].shape[1]) < 4  # columns are 2022, 2023, ...
    for key, (_, values) in base.items():
        assert np.array_equal(values[:, before], rival[key][1][:, before], equal_nan=True), key
    support = rival[("deyang_aba", "lfp_cathode", "support")][1][:, ~before]
    assert (support > base[("deyang_aba", "lfp_cathode", "support")][1][:, ~before]).all()
