"""How each cluster's policy levers act on its plants in the reference model (docs/model.md, "Submodels: policy
levers"); the levers are declared in `sim.inputs.levers`, a cluster's policy is a `sim.inputs.levers.Policy`.

A lever acts on its cluster's plants only (``code``: Suining 0, the rival cities, the rest of China) and from its
start month:

- ``energy_support``: ``energy_factor = 1 - cost_cut`` from the start; the city pays ``city_cost_share`` of what
  the plants save;
- ``investment_support``: ``capex_factor = 1 - capex_subsidy`` from the start; construction ``lag_cut_months``
  shorter (`sim.reference.investment`);
- ``innovation``: ``cost_factor`` falls by ``extra_learning_rate`` a year, compounded monthly; the city pays
  ``100 x extra_learning_rate x cost_per_point`` 亿元 a year in grants, pro rata to plant value;
- ``tax_relief``: the year's ``amount`` in twelfths, pro rata to plant value; each December ``vat_refund_share``
  of the plants' VAT credit refunded;
- ``land_efficiency``: each December the review (`land_review`);
- ``hedging``: salt makers sell ``share`` of output forward (`hedged_price`).
"""

from __future__ import annotations

from sim.inputs.levers import LEVER_BY_NAME
from sim.inputs.units import BASE_YEAR, YI
from sim.reference.accounts import finance


def monthly_factors(policy, firms: list, month: int) -> None:
    """Energy support and capex subsidies are set at their start month (whatever their size: a scenario's lever
    may replace a rival's known one by a smaller one); innovation compounds monthly. Every plant of the cluster,
    built or not: a plant built later finds the lever's factors in place."""
    if not policy.settings:
        return
    energy = policy.value("energy_support", "cost_cut")
    subsidy = policy.value("investment_support", "capex_subsidy")
    learning = policy.value("innovation", "extra_learning_rate")
    for firm in firms:
        if month == policy.start("energy_support") and "energy_support" in policy.settings:
            firm.energy_factor = 1.0 - energy
        if month == policy.start("investment_support") and "investment_support" in policy.settings:
            firm.capex_factor = 1.0 - subsidy
        if learning > 0 and month >= policy.start("innovation"):
            firm.cost_factor = firm.cost_factor * (1.0 - learning) ** (1.0 / 12.0)


def pro_rata_plant(firms: list, amount: float) -> dict:
    """``amount`` yuan split among the cluster's plants in business pro rata to their plant's book value."""
    plant = {firm: firm.capital for firm in firms if firm.active}
    total = sum(plant.values())
    return {firm: value * (amount / total) for firm, value in plant.items()} if total > 0 else {}


def tax_relief(policy, firms: list, month: int) -> dict:
    """This month's relief (减税降费) by plant: the year's amount in twelfths, pro rata to plant value."""
    setting = policy.setting("tax_relief")
    year = BASE_YEAR + month // 12
    monthly = setting.by_year("amount", year) * YI / 12.0 if month >= setting.start else 0.0
    return pro_rata_plant(firms, monthly) if monthly > 0 else {}


def innovation_grants(policy, firms: list, month: int) -> dict:
    """This month's innovation grants (揭榜挂帅) by plant: ``extra_learning_rate x 100 x cost_per_point`` 亿元 a
    year in twelfths, pro rata to plant value."""
    points = 100.0 * policy.value("innovation", "extra_learning_rate")
    if points <= 0 or month < policy.start("innovation"):
        return {}
    return pro_rata_plant(firms, points * policy.value("innovation", "cost_per_point") * YI / 12.0)


def energy_support_cost(policy, firm, learn: float, quantity: float) -> float:
    """What the city pays this month for a plant's energy support, yuan: its share of what the plant saves,
    ``energy cost before the cut - after it``, times the quantity made."""
    if "energy_support" not in policy.settings:
        return 0.0
    share = policy.value("energy_support", "city_cost_share")
    if share <= 0 or policy.value("energy_support", "cost_cut") <= 0:
        return 0.0
    after = firm.energy_cost * firm.energy_location * firm.energy_factor * firm.grade_factor * firm.cost_factor * learn
    saving = (after / firm.energy_factor if firm.energy_factor > 0 else 0.0) - after
    return share * saving * quantity


def vat_refunds(policy, firms: list, month: int) -> dict:
    """December: ``vat_refund_share`` of the cluster's plants' VAT credit refunded in cash (留抵退税), by plant."""
    share = policy.value("tax_relief", "vat_refund_share")
    if share <= 0 or month < policy.start("tax_relief"):
        return {}
    out = {}
    for firm in firms:
        if firm.active:
            refund = share * firm.vat_credit
            firm.vat_credit = firm.vat_credit - refund
            firm.cash, firm.debt = finance(firm.cash, firm.debt, refund)
            out[firm] = refund
    return out


def grade(score: float, policy) -> int:
    """A-D (0-3) from value added plus taxes per yuan of plant relative to the stage's national average."""
    a, c, d = (policy.value("land_efficiency", name) for name in ("grade_a", "grade_c", "grade_d"))
    return 0 if score >= a else 1 if score >= c else 2 if score >= d else 3


def land_review(policy, stage_firms: list, cluster: int, capex: float, month: int) -> dict:
    """December review (亩均论英雄) of one stage's plants of the cluster; returns the upgrade support by plant.

    A plant in business is graded on the year's value added plus taxes per yuan of the plant that has run through
    the year ((capacity - ramping) x capex) against the stage's national average; the grade sets next year's
    energy price. A C or D plant upgrades when it can pay its share (cash plus a listed parent's credit), the
    city paying ``upgrade_support``: plant value up by the cost, processing costs down by ``upgrade_cost_cut``. A
    plant graded D ``exit_after_d_years`` years running that cannot pay returns its land (exits).
    """
    lever = LEVER_BY_NAME["land_efficiency"]
    setting = policy.setting(lever.name)
    if lever.name not in policy.settings or month < setting.start:
        return {}
    value = {name: setting.get(lever, name) for name in (f.name for f in lever.fields)}

    def plant(f) -> float:  # plant that has run through the year: capacity still ramping is not judged
        return (f.capacity - f.ramping) * capex

    running = [f for f in stage_firms if f.active and plant(f) > 0]

    def contribution(f) -> float:
        taxes = f.year.get("vat", 0.0) + f.year.get("surcharges", 0.0) + f.year.get("income_tax", 0.0)
        return f.year.get("value_added", 0.0) + taxes

    total_plant = sum(plant(f) for f in running)
    average = sum(contribution(f) for f in running) / total_plant if total_plant > 0 else 0.0
    support = {}
    for f in stage_firms:
        if f.cluster != cluster:
            continue
        graded = f in running
        score = contribution(f) / (plant(f) * abs(average)) if plant(f) > 0 and average != 0 else 0.0
        g = grade(score, policy) if graded else -1
        f.grade_factor = {
            0: 1.0 - value["energy_discount_a"],
            2: 1.0 + value["energy_surcharge_c"],
            3: 1.0 + value["energy_surcharge_d"],
        }.get(g, 1.0)
        f.d_years = f.d_years + 1.0 if g == 3 else 0.0
        if not (graded and g >= 2):
            continue
        cost = value["upgrade_cost_share"] * plant(f)
        own_share = cost * (1.0 - value["upgrade_support"])
        if f.cash + f.parent_credit() >= own_share:
            f.cash, f.debt = finance(f.cash, f.debt, -own_share)
            f.capital = f.capital + cost
            f.cost_factor = f.cost_factor * (1.0 - value["upgrade_cost_cut"])
            f.d_years = 0.0
            support[f] = cost * value["upgrade_support"]
        elif f.d_years >= value["exit_after_d_years"]:
            f.close()
    return support


def hedge_terms(policy, params) -> tuple[float, int, float]:
    """Hedged share, horizon (months) and the cost per yuan of forward price (basis plus financed margin)."""
    share = policy.value("hedging", "share")
    horizon = int(policy.value("hedging", "horizon_months"))
    cost = policy.value("hedging", "basis_cost") + policy.value("hedging", "margin_rate") * params.interest_rate * (
        horizon / 12.0
    )
    return share, horizon, cost
