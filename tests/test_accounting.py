"""Accounting identities (docs/model.md, "Submodels: accounting"), firm by firm and year by year, to about 1e-8."""

import numpy as np
import pytest

from sim.engine.accounting import finance, firm_accounts
from sim.outputs.metrics import batch_metrics
from sim.outputs.tables import firm_table


def test_value_added_identities_every_firm_and_year(baseline_record):
    for stage, fields in baseline_record.firms.items():
        scale = max(np.abs(fields["output_value"]).max(), 1.0)
        # production approach: VA = gross output value - intermediate consumption
        assert np.allclose(fields["value_added"], fields["output_value"] - fields["intermediate"], atol=1e-8 * scale)
        for name in ("output", "output_value", "employment", "capacity"):
            assert np.all(np.isfinite(fields[name])) and np.all(fields[name] >= 0), (stage, name)


def test_income_approach_adds_up():
    rng = np.random.default_rng(0)
    shape = (3, 50)
    acc = firm_accounts(
        quantity=rng.uniform(0, 100, shape),
        price=rng.uniform(1e4, 5e5, shape),
        unit_cost=rng.uniform(1e4, 5e5, shape),
        employment=rng.uniform(0, 500, shape),
        capital=rng.uniform(0, 1e9, shape),
        debt=rng.uniform(0, 1e9, shape),
        vat_credit=rng.uniform(0, 1e6, shape),
        annual_wage=9e4,
        depreciation_years=10,
        interest_rate=0.045,
        vat_rate=0.13,
        surcharge_rate=0.12,
        income_tax_rate=0.15,
        subsidy=rng.uniform(0, 1e5, shape),
    )
    income = acc.wages + acc.depreciation + acc.vat + acc.surcharges + acc.operating_surplus
    assert np.allclose(acc.value_added, income, rtol=0, atol=1e-6)
    assert np.all(acc.vat >= 0) and np.all(acc.vat_credit >= 0) and np.all(acc.income_tax >= 0)
    assert np.allclose(acc.net_income, acc.profit - acc.income_tax)


def test_vat_credit_carries_forward_and_is_used():
    kw = dict(
        employment=np.zeros(1),
        capital=np.zeros(1),
        debt=np.zeros(1),
        annual_wage=0.0,
        depreciation_years=10,
        interest_rate=0.0,
        vat_rate=0.13,
        surcharge_rate=0.12,
        income_tax_rate=0.15,
    )
    loss = firm_accounts(np.ones(1), np.array([100.0]), np.array([200.0]), vat_credit=np.zeros(1), **kw)
    assert loss.vat[0] == 0.0 and loss.vat_credit[0] == pytest.approx(13.0)
    gain = firm_accounts(np.ones(1), np.array([300.0]), np.array([200.0]), vat_credit=loss.vat_credit, **kw)
    assert gain.vat[0] == 0.0 and gain.vat_credit[0] == pytest.approx(0.0)


def test_finance_never_leaves_negative_cash():
    cash, debt = finance(np.array([10.0, 10.0, 0.0]), np.array([5.0, 0.0, 3.0]), np.array([-30.0, 5.0, 10.0]))
    assert np.all(cash >= 0) and np.all(debt >= 0)
    assert np.allclose(cash - debt, np.array([10 - 5 - 30, 15, 10 - 3]))


def test_firms_sum_to_summary_totals(baseline_record):
    firms = firm_table(baseline_record, [0, 1, 2, 3])
    m = batch_metrics(baseline_record)
    for metric, field in (
        ("output_value", "output_value"),
        ("value_added", "value_added"),
        ("profit", "profit"),
        ("employment", "employment"),
        ("fixed_asset_investment", "investment"),
    ):
        for region in ("suining", "china"):
            sel = firms if region == "china" else firms[firms.region == "suining"]
            for r in (0, 1):
                by_year = sel[sel.replicate == r].groupby("year")[field].sum()
                total = m[(region, "all", metric)][1][r]
                assert np.allclose(total, by_year.to_numpy(), rtol=1e-9), (metric, region)


def test_stages_sum_to_all(baseline_record):
    m = batch_metrics(baseline_record)
    for metric in ("output_value", "value_added", "employment", "firms", "taxes", "profit"):
        for region in ("suining", "china"):
            parts = sum(m[(region, s, metric)][1] for s in ("lithium_salt", "lfp_cathode", "battery"))
            assert np.allclose(parts, m[(region, "all", metric)][1], rtol=1e-9)
