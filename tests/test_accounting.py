"""Accounting identities (docs/model.md, "Submodels: accounting"), firm by firm and month by month, to about 1e-8."""

import numpy as np
import pytest

from sim.engine.accounting import finance, firm_accounts
from sim.engine.model import RECORDED


def test_value_added_identities_every_firm_and_month(baseline_model):
    for history in baseline_model.history.values():
        for rec in history:
            scale = max(np.abs(rec["output_value"]).max(), 1.0)
            # production approach: VA = gross output value - intermediate consumption
            assert np.allclose(rec["value_added"], rec["output_value"] - rec["intermediate"], atol=1e-8 * scale)
            # output value = quantity x price; intermediate = quantity x unit cost
            assert np.allclose(rec["output_value"], rec["output"] * rec["price"], atol=1e-8 * scale)
            assert np.allclose(rec["intermediate"], rec["output"] * rec["unit_cost"], atol=1e-8 * scale)


def test_income_approach_adds_up():
    rng = np.random.default_rng(0)
    n = 50
    acc = firm_accounts(
        quantity=rng.uniform(0, 100, n), price=rng.uniform(1e4, 5e5, n), unit_cost=rng.uniform(1e4, 5e5, n),
        employment=rng.uniform(0, 500, n), capital=rng.uniform(0, 1e9, n), debt=rng.uniform(0, 1e9, n),
        vat_credit=rng.uniform(0, 1e6, n), annual_wage=9e4, depreciation_years=10, interest_rate=0.045,
        vat_rate=0.13, surcharge_rate=0.12, income_tax_rate=0.15,
    )
    income = acc.wages + acc.depreciation + acc.vat + acc.surcharges + acc.operating_surplus
    assert np.allclose(acc.value_added, income, rtol=0, atol=1e-6)
    assert np.allclose(acc.profit, acc.operating_surplus - acc.interest)
    assert np.allclose(acc.net_income, acc.profit - acc.income_tax)
    assert np.all(acc.vat >= 0) and np.all(acc.vat_credit >= 0) and np.all(acc.income_tax >= 0)


def test_vat_credit_carries_forward_and_is_used():
    kw = dict(employment=np.zeros(1), capital=np.zeros(1), debt=np.zeros(1), annual_wage=0.0,
              depreciation_years=10, interest_rate=0.0, vat_rate=0.13, surcharge_rate=0.12, income_tax_rate=0.15)
    loss = firm_accounts(np.ones(1), np.array([100.0]), np.array([200.0]), vat_credit=np.zeros(1), **kw)
    assert loss.vat[0] == 0.0 and loss.vat_credit[0] == pytest.approx(13.0)
    gain = firm_accounts(np.ones(1), np.array([300.0]), np.array([200.0]), vat_credit=loss.vat_credit, **kw)
    assert gain.vat[0] == 0.0 and gain.vat_credit[0] == pytest.approx(0.0)


def test_finance_never_leaves_negative_cash():
    cash, debt = finance(np.array([10.0, 10.0, 0.0]), np.array([5.0, 0.0, 3.0]), np.array([-30.0, 5.0, 10.0]))
    assert np.all(cash >= 0) and np.all(debt >= 0)
    assert np.allclose(cash - debt, np.array([10 - 5 - 30, 15, 10 - 3]))


def test_firms_sum_to_summary_totals(baseline_result):
    firms, summary = baseline_result.firms, baseline_result.summary
    for metric in ("output_value", "value_added", "value_added_real", "profit", "employment"):
        for region in ("suining", "china"):
            sel = firms if region == "china" else firms[firms.region == "suining"]
            by_year = sel.groupby("year")[metric].sum()
            rows = summary[(summary.region == region) & (summary.segment == "all") & (summary.metric == metric)]
            assert np.allclose(rows.set_index("year")["value"].loc[by_year.index], by_year, rtol=1e-9), metric


def test_segments_sum_to_all(baseline_result):
    s = baseline_result.summary
    for metric in ("output_value", "value_added", "employment", "firms"):
        for region in ("suining", "china"):
            parts = s[(s.region == region) & (s.segment != "all") & (s.metric == metric)].groupby("year")["value"].sum()
            whole = s[(s.region == region) & (s.segment == "all") & (s.metric == metric)].set_index("year")["value"]
            assert np.allclose(parts, whole.loc[parts.index], rtol=1e-9)


def test_recorded_fields_are_finite(baseline_model):
    for history in baseline_model.history.values():
        for rec in history:
            for name in RECORDED:
                assert np.all(np.isfinite(rec[name])), name
