"""Firm accounts as Chinese industrial statistics count them (docs/model.md, "Submodels: accounting").

All flows are yuan per month, per firm; prices exclude VAT, as 产值 does.

- gross output value (产值) = quantity x price
- intermediate consumption = quantity x (main input + other materials + conversion consumables + energy)
- value added (增加值) = gross output value - intermediate consumption
  = wages + depreciation + net taxes on production (VAT paid, surcharges) + operating surplus
- profit before income tax (利润总额) = operating surplus - interest + subsidies booked as other income

VAT is charged on value added less the capex bought in the month (equipment carries input VAT, deductible
since the 2009 reform); a negative VAT base becomes input-VAT credit carried forward (留抵) and is offset against
later VAT, or refunded (留抵退税, `sim.engine.policy.vat_refunds`). Income tax is levied monthly on positive
profit (no loss carry-forward: a stated simplification that overstates tax in years that mix losses and
profits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Accounts:
    """One month of every firm's accounts in a segment (arrays, yuan/month; employment in persons)."""

    output: np.ndarray
    output_value: np.ndarray
    intermediate: np.ndarray
    value_added: np.ndarray
    wages: np.ndarray
    depreciation: np.ndarray
    vat: np.ndarray
    surcharges: np.ndarray
    operating_surplus: np.ndarray
    interest: np.ndarray
    profit: np.ndarray
    income_tax: np.ndarray
    net_income: np.ndarray
    employment: np.ndarray
    vat_credit: np.ndarray  # credit carried forward after this month (a stock, not a flow)


def firm_accounts(
    quantity: np.ndarray,
    price: np.ndarray,
    unit_cost: np.ndarray,
    employment: np.ndarray,
    capital: np.ndarray,
    debt: np.ndarray,
    vat_credit: np.ndarray,
    *,
    annual_wage: float,
    depreciation_years: float,
    interest_rate: float,
    vat_rate: float,
    surcharge_rate: float,
    income_tax_rate: float,
    subsidy: np.ndarray | float = 0.0,
    investment: np.ndarray | float = 0.0,
) -> Accounts:
    """Accounts of one month for arrays of firms.

    Args:
        quantity: output, u/month.
        price: realised price, yuan/u (excl. VAT).
        unit_cost: intermediate consumption per unit, yuan/u.
        employment: persons.
        capital: depreciable plant at book value, yuan.
        debt: yuan.
        vat_credit: input VAT carried forward into this month, yuan.
        subsidy: government support booked as other income (其他收益), yuan; in profit, not in value added.
        investment: capex bought this month, yuan: its input VAT is deducted.
    """
    output_value = quantity * price
    intermediate = quantity * unit_cost
    value_added = output_value - intermediate
    wages = employment * annual_wage / 12.0
    depreciation = capital / depreciation_years / 12.0
    net_vat = vat_rate * (value_added - investment) - vat_credit
    vat = np.maximum(net_vat, 0.0)
    credit = np.maximum(-net_vat, 0.0)
    surcharges = surcharge_rate * vat
    operating_surplus = value_added - wages - depreciation - vat - surcharges
    interest = debt * interest_rate / 12.0
    profit = operating_surplus - interest + subsidy
    income_tax = income_tax_rate * np.maximum(profit, 0.0)
    return Accounts(
        output=quantity,
        output_value=output_value,
        intermediate=intermediate,
        value_added=value_added,
        wages=wages,
        depreciation=depreciation,
        vat=vat,
        surcharges=surcharges,
        operating_surplus=operating_surplus,
        interest=interest,
        profit=profit,
        income_tax=income_tax,
        net_income=profit - income_tax,
        employment=employment,
        vat_credit=credit,
    )


def finance(cash: np.ndarray, debt: np.ndarray, inflow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a cash flow: surpluses first repay debt, then build cash; deficits draw cash, then borrow."""
    cash = cash + inflow
    repay = np.minimum(np.maximum(cash, 0.0), debt)
    debt = debt - repay
    cash = cash - repay
    borrow = np.maximum(-cash, 0.0)
    return cash + borrow, debt + borrow
