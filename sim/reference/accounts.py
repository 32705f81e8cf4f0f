"""One plant's accounts for one month, as Chinese industrial statistics count them (docs/model.md, "Submodels:
accounting"); yuan per month, prices excluding VAT::

    OV   = q x p                               gross output value (产值)
    IC   = q x c                               intermediate consumption
    VA   = OV - IC                             value added (增加值)
    W    = employment x wage / 12,   Dep = capital / depreciation_years / 12
    net  = vat_rate x (VA - capex bought) - VAT credit;   VAT = max(net, 0), credit carried = max(-net, 0)
    S    = surcharge_rate x VAT
    OS   = VA - W - Dep - VAT - S              operating surplus
    I    = debt x interest_rate / 12
    PR   = OS - I + subsidy                    profit before income tax (利润总额)
    T    = income_tax_rate x max(PR, 0),  NI = PR - T

Finance: a month's cash flow first repays debt, then builds cash; a deficit draws cash, then borrows. Capacity:
new capacity ramps up the same way for plants and mines (`ramp_month`).
"""

from __future__ import annotations


def month_accounts(
    quantity: float,
    price: float,
    unit_cost: float,
    employment: float,
    capital: float,
    debt: float,
    vat_credit: float,
    *,
    annual_wage: float,
    params,
    subsidy: float = 0.0,
    investment: float = 0.0,
) -> dict[str, float]:
    """The month's accounts of one plant (see the module docstring), by name."""
    p = params
    output_value = quantity * price
    intermediate = quantity * unit_cost
    value_added = output_value - intermediate
    wages = employment * annual_wage / 12.0
    depreciation = capital / p.depreciation_years / 12.0
    net_vat = p.vat_rate * (value_added - investment) - vat_credit
    vat = max(net_vat, 0.0)
    surcharges = p.surcharge_rate * vat
    operating_surplus = value_added - wages - depreciation - vat - surcharges
    interest = debt * p.interest_rate / 12.0
    profit = operating_surplus - interest + subsidy
    income_tax = p.income_tax_rate * max(profit, 0.0)
    return {
        "output_value": output_value,
        "intermediate": intermediate,
        "value_added": value_added,
        "wages": wages,
        "depreciation": depreciation,
        "vat": vat,
        "surcharges": surcharges,
        "operating_surplus": operating_surplus,
        "interest": interest,
        "profit": profit,
        "income_tax": income_tax,
        "net_income": profit - income_tax,
        "vat_credit": max(-net_vat, 0.0),
    }


def finance(cash: float, debt: float, inflow: float) -> tuple[float, float]:
    """Apply a cash flow: a surplus repays debt first, then builds cash; a deficit draws cash, then borrows."""
    cash = cash + inflow
    repay = min(max(cash, 0.0), debt)
    debt = debt - repay
    cash = cash - repay
    borrow = max(-cash, 0.0)
    return cash + borrow, debt + borrow


def ramp_month(ramping: float, months_left: float) -> tuple[float, float]:
    """One month of ramp-up, the same for plants and mines: what still ramps loses ``1 / months left`` of itself
    (all of it in the last month). Returns the capacity still ramping and the months left."""
    if months_left <= 0:
        return ramping, months_left
    ramping = ramping * (1.0 - 1.0 / max(months_left, 1.0))
    months_left = months_left - 1.0
    return (0.0 if months_left <= 0 else ramping), months_left
