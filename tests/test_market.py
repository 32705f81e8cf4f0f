"""The market kernels over generated inputs: water-filling, logit weights, fees, the cost curve, the clearing price.

Kernels work on batches (one row per replicate); every property is checked row by row, and each row's result
must not depend on the other rows of its batch.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agents.decisions import investment_orders, offer_fraction
from agents.producer import Producer
from sim.engine.market import (
    allocate,
    clearing_price,
    clearing_target,
    logit_weights,
    marginal_cost,
    processing_fee,
    row_median,
    supply_curve_quantity,
)

positive = st.one_of(st.just(0.0), st.floats(1e-6, 1e6))  # quantities: zero, or at least a gram
rows = st.integers(1, 5)
firms = st.integers(1, 40)


@st.composite
def books(draw):
    r, n = draw(rows), draw(firms)
    offers = draw(arrays(np.float64, (r, n), elements=positive))
    costs = draw(arrays(np.float64, (r, n), elements=st.floats(1.0, 1e6)))
    share = draw(arrays(np.float64, (r,), elements=st.floats(0.0, 1.5)))
    return offers, costs, share * offers.sum(axis=1)


@given(book=books(), elasticity=st.sampled_from([0.5, 5.0, 30.0, 300.0]))
@settings(max_examples=300, deadline=None)
def test_allocation_respects_caps_and_clears(book, elasticity):
    offers, costs, demand = book
    weights = logit_weights(offers, costs, elasticity)
    q = allocate(demand, offers, weights)
    assert np.all(q >= -1e-9)
    assert np.all(q <= offers * (1 + 1e-9) + 1e-9)
    assert np.allclose(q.sum(axis=1), np.minimum(demand, offers.sum(axis=1)), rtol=1e-9, atol=1e-6)


@given(book=books(), elasticity=st.sampled_from([0.5, 5.0, 30.0]))
@settings(max_examples=150, deadline=None)
def test_each_row_is_independent_of_its_batch(book, elasticity):
    offers, costs, demand = book
    weights = logit_weights(offers, costs, elasticity)
    q = allocate(demand, offers, weights)
    for r in range(offers.shape[0]):
        w = logit_weights(offers[r : r + 1], costs[r : r + 1], elasticity)
        assert np.array_equal(w[0], weights[r])
        assert np.array_equal(allocate(demand[r : r + 1], offers[r : r + 1], w)[0], q[r])


@given(n=firms, data=st.data())
@settings(max_examples=200, deadline=None)
def test_uncapped_firms_share_in_proportion_to_weight(n, data):
    offers = data.draw(arrays(np.float64, (1, n), elements=positive))
    weights = data.draw(arrays(np.float64, (1, n), elements=st.floats(0.01, 10.0)))
    weights = np.where(offers > 0, weights, 0.0)
    q = allocate(0.5 * offers.sum(axis=1), offers, weights)[0]
    o, w = offers[0], weights[0]
    free = (o > 0) & (q < o * (1 - 1e-9))
    if free.sum() >= 2:
        ratio = q[free] / w[free]
        assert np.allclose(ratio, ratio[0], rtol=1e-7)
    if free.any():  # a capped firm would have got at least its offer at the common ratio
        lam = (q[free] / w[free])[0]
        capped = (o > 0) & ~free
        assert np.all(o[capped] <= lam * w[capped] * (1 + 1e-7) + 1e-9)


def test_cheaper_firm_gets_more_at_equal_size():
    offers = np.array([[100.0, 100.0]])
    q = allocate(np.array([100.0]), offers, logit_weights(offers, np.array([[90.0, 110.0]]), 5.0))
    assert q[0, 0] > q[0, 1] and np.isclose(q.sum(), 100.0)


def test_logit_weights_ignore_firms_offering_nothing():
    w = logit_weights(np.array([[0.0, 10.0]]), np.array([[1.0, 100.0]]), 30.0)
    assert w[0, 0] == 0.0 and w[0, 1] > 0.0


@given(margin=st.floats(-2.0, 2.0))
def test_offer_fraction_is_bounded_and_monotone(margin):
    f = offer_fraction(np.array([margin, margin + 0.01]), 0.25, 0.15)
    assert 0.25 <= f[0] <= 1.0 and f[1] >= f[0]


def test_processing_fee_rises_with_tightness_and_steeply_in_shortage():
    fee = lambda x: processing_fee(100.0, np.array([x]), 0.65, 1.0, 3.0)[0]  # noqa: E731
    assert fee(0.9) > fee(0.5) and fee(0.65) == pytest.approx(100.0)
    assert fee(1.2) == pytest.approx(fee(1.0) * 1.2**3)


def test_investment_only_above_hurdle_and_utilization():
    orders = investment_orders(
        capacity=np.array([100.0, 100.0, 100.0, 100.0]),
        expected_return=np.array([0.5, 0.05, 0.5, 0.5]),
        utilization=np.array([0.9, 0.9, 0.3, 0.9]),
        eligible=np.array([True, True, True, False]),
        hurdle=0.12,
        sensitivity=0.3,
        max_share=0.1,
        min_utilization=0.6,
        utilization_span=0.2,
    )
    assert orders[0] == 10.0 and orders[1:].sum() == 0.0


@given(u=st.floats(0.0, 1.0), du=st.floats(0.0, 0.5), r=st.floats(-0.5, 1.0), dr=st.floats(0.0, 0.5))
def test_investment_responds_continuously_and_monotonically(u, du, r, dr):
    """Orders never fall as expected utilisation or return rise, and a small change in either moves them a little
    (no gate that switches a firm's whole expansion on or off)."""

    def orders(util, ret):
        return investment_orders(
            np.array([100.0]), np.array([ret]), np.array([util]), np.array([True]), 0.08, 1.0, 0.15, 0.5, 0.25
        )[0]

    assert orders(u + du, r) >= orders(u, r) - 1e-12
    assert orders(u, r + dr) >= orders(u, r) - 1e-12
    # Lipschitz in utilisation: at most max_share x capacity / span per unit of utilisation
    assert abs(orders(u + 1e-3, r) - orders(u, r)) <= 15.0 / 0.25 * 1e-3 + 1e-9


# --- the world market -------------------------------------------------------------------------------------------
COHORTS = dict(
    capacity=np.array([[100.0, 50.0, 80.0]]),
    cost_low=np.array([[30.0, 50.0, 60.0]]),
    cost_high=np.array([[40.0, 70.0, 90.0]]),
)


@given(quantity=st.floats(0.0, 300.0))
def test_marginal_cost_inverts_the_supply_curve(quantity):
    c = marginal_cost(np.array([quantity]), **COHORTS, scarcity_elasticity=2.0)
    total = COHORTS["capacity"].sum()
    if 0 < quantity <= total:
        assert supply_curve_quantity(c, **COHORTS)[0] == pytest.approx(quantity, rel=1e-9, abs=1e-9)
    if quantity > total:
        assert c[0] >= 90.0


@given(q1=st.floats(1.0, 220.0), q2=st.floats(1.0, 220.0))
def test_marginal_cost_rises_with_quantity(q1, q2):
    lo, hi = sorted((q1, q2))
    c = marginal_cost(
        np.array([lo, hi]),
        np.repeat(COHORTS["capacity"], 2, 0),
        np.repeat(COHORTS["cost_low"], 2, 0),
        np.repeat(COHORTS["cost_high"], 2, 0),
        2.0,
    )
    assert c[0] <= c[1] + 1e-9


@given(cover=st.floats(0.0, 400.0), price=st.floats(1e3, 1e6), cost=st.floats(1e3, 2e5))
def test_clearing_price_is_finite_positive_and_bounded(cover, price, cost):
    target = clearing_target(np.array([cost]), np.array([cover]), 30.0, 1.0, 6.0, 0.7)
    assert 0.7 * cost * (1 - 1e-12) <= target[0] <= 6.0 * cost * (1 + 1e-12)
    new = clearing_price(np.array([price]), target, 0.35, 0.2)
    assert np.isfinite(new[0]) and new[0] > 0
    assert np.exp(-0.2) * (1 - 1e-12) <= new[0] / price <= np.exp(0.2) * (1 + 1e-12)


@given(price=st.floats(1e3, 3e5), linked=st.floats(0.0, 0.5))
def test_units_run_only_when_the_price_covers_their_cash_cost(price, linked):
    low, high = np.array([40000.0]), np.array([80000.0])
    share = Producer.running_target(np.array([price]), low, high, np.array([linked]))[0]
    covered = price * (1 - linked)
    # the running share is the share of the cohort's cost range at or below what the price covers
    assert share == pytest.approx(np.clip((covered - 40000.0) / 40000.0, 0, 1))
    # curtailing: a fall of the running share happens only to units whose cost the price no longer covers, and
    # gradually (at most 1/curtail_months a month); restarts at most 1/restart_months a month
    after = Producer.next_running(np.array([[1.0]]), np.array([[share]]), 3.0, 6.0)[0, 0]
    assert after == pytest.approx(max(share, 1.0 - 1.0 / 3.0))
    restart = Producer.next_running(np.array([[0.0]]), np.array([[share]]), 3.0, 6.0)[0, 0]
    assert restart <= 1 / 6 + 1e-12


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=st.floats(0, 1e7)),
    st.integers(0, 2**32 - 1),
)
def test_row_median_is_nanmedian_of_the_masked_values(values, seed):
    mask = np.random.default_rng(seed).random(values.shape) < 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with nothing masked in
        expected = np.nanmedian(np.where(mask, values, np.nan), axis=-1)
    assert np.array_equal(row_median(values, mask), expected, equal_nan=True)
