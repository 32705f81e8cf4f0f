"""The market kernels: water-filling allocation and logit weights, over generated inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agents.decisions import investment_orders, offer_fraction
from sim.engine.market import allocate, logit_weights, processing_fee

positive = st.one_of(st.just(0.0), st.floats(1e-6, 1e6))  # quantities: zero, or at least a gram
offers_st = arrays(np.float64, st.integers(1, 40), elements=positive)


@given(offers=offers_st, demand_share=st.floats(0.0, 1.5), data=st.data())
@settings(max_examples=300, deadline=None)
def test_allocation_respects_caps_and_clears(offers, demand_share, data):
    costs = data.draw(arrays(np.float64, offers.shape, elements=st.floats(1.0, 1e6)))
    weights = logit_weights(offers, costs, elasticity=5.0)
    demand = demand_share * offers.sum()
    q = allocate(demand, offers, weights)
    assert np.all(q >= -1e-9)
    assert np.all(q <= offers * (1 + 1e-9) + 1e-9)
    assert np.isclose(q.sum(), min(demand, offers.sum()), rtol=1e-9, atol=1e-6)


@given(offers=offers_st, data=st.data())
@settings(max_examples=200, deadline=None)
def test_uncapped_firms_share_in_proportion_to_weight(offers, data):
    weights = data.draw(arrays(np.float64, offers.shape, elements=st.floats(0.01, 10.0)))
    weights = np.where(offers > 0, weights, 0.0)
    demand = 0.5 * offers.sum()
    q = allocate(demand, offers, weights)
    free = (offers > 0) & (q < offers * (1 - 1e-9))
    if free.sum() >= 2:
        ratio = q[free] / weights[free]
        assert np.allclose(ratio, ratio[0], rtol=1e-7)
    # a capped firm would have got at least as much as its offer at the common ratio
    if free.any():
        lam = (q[free] / weights[free])[0]
        capped = (offers > 0) & ~free
        assert np.all(offers[capped] <= lam * weights[capped] * (1 + 1e-7) + 1e-9)


def test_cheaper_firm_gets_more_at_equal_size():
    offers = np.array([100.0, 100.0])
    w = logit_weights(offers, np.array([90.0, 110.0]), elasticity=5.0)
    q = allocate(100.0, offers, w)
    assert q[0] > q[1]
    assert np.isclose(q.sum(), 100.0)


def test_logit_weights_ignore_firms_offering_nothing():
    w = logit_weights(np.array([0.0, 10.0]), np.array([1.0, 100.0]), elasticity=30.0)
    assert w[0] == 0.0 and w[1] > 0.0


@given(margin=st.floats(-2.0, 2.0))
def test_offer_fraction_is_bounded_and_monotone(margin):
    f = offer_fraction(np.array([margin, margin + 0.01]), 0.25, 0.15)
    assert 0.25 <= f[0] <= 1.0
    assert f[1] >= f[0]


def test_processing_fee_rises_with_tightness_and_steeply_in_shortage():
    assert processing_fee(100.0, 0.9, 0.65, 1.0, 3.0) > processing_fee(100.0, 0.5, 0.65, 1.0, 3.0)
    assert processing_fee(100.0, 0.65, 0.65, 1.0, 3.0) == 100.0
    at_capacity = processing_fee(100.0, 1.0, 0.65, 1.0, 3.0)
    assert processing_fee(100.0, 1.2, 0.65, 1.0, 3.0) == pytest.approx(at_capacity * 1.2**3)


def test_investment_only_above_hurdle_and_utilization():
    orders = investment_orders(
        capacity=np.array([100.0, 100.0, 100.0, 100.0]), expected_return=np.array([0.5, 0.05, 0.5, 0.5]),
        utilization=np.array([0.9, 0.9, 0.3, 0.9]), eligible=np.array([True, True, True, False]),
        hurdle=0.12, sensitivity=0.3, max_share=0.1, min_utilization=0.6,
    )
    assert orders[0] == 10.0  # capped at max_share
    assert orders[1:].sum() == 0.0
