"""How the policy levers act on a cluster's firms (the levers themselves are declared in `sim.inputs.levers`).

Each mechanism is a function over the books of the batch and one cluster's policy (``code`` the cluster's index,
Suining 0; a lever acts on that cluster's plants only, and what it pays is booked to that city); they act
through the model's own channels: cash (relief, refunds), costs (energy, upgrades, learning), capex (subsidy,
construction time), plant (pipeline, exit) and the price a firm receives (hedging). docs/model.md, "Submodels:
policy levers", gives each with its magnitude and source.
"""

from __future__ import annotations

import numpy as np

from agents.book import FirmBook
from sim.engine.accounting import finance
from sim.inputs.levers import LEVER_BY_NAME, Policy
from sim.inputs.units import BASE_YEAR, YI

GRADES = ("A", "B", "C", "D")


def monthly_factors(policy: Policy, books: dict[str, FirmBook], month: int, code: int = 0) -> None:
    """Energy support and capex subsidies switch on at their start month; innovation compounds monthly."""
    if not policy.settings:
        return
    energy = policy.value("energy_support", "cost_cut")
    subsidy = policy.value("investment_support", "capex_subsidy")
    learning = policy.value("innovation", "extra_learning_rate")
    for book in books.values():
        here = book.columns.in_cluster(code)
        # every plant column exists from the start (projects and new-plant columns are created then), so setting
        # once at the lever's start is enough; set whatever the size, as a scenario's lever may replace a rival
        # cluster's known one by a smaller one (`LithiumModel._cluster_policies`)
        if month == policy.start("energy_support") and "energy_support" in policy.settings:
            book.energy_factor = np.where(here, 1.0 - energy, book.energy_factor)
        if month == policy.start("investment_support") and "investment_support" in policy.settings:
            book.capex_factor = np.where(here, 1.0 - subsidy, book.capex_factor)
        if learning > 0 and month >= policy.start("innovation"):
            monthly = (1.0 - learning) ** (1.0 / 12.0)
            book.cost_factor = np.where(here, book.cost_factor * monthly, book.cost_factor)


def tax_relief(policy: Policy, books: dict[str, FirmBook], month: int, code: int = 0) -> dict[str, np.ndarray]:
    """This month's relief (减税降费), yuan per firm by stage: the year's amount in twelfths, pro rata to the
    value of the cluster's firms' plant in each replicate."""
    setting = policy.setting("tax_relief")
    year = BASE_YEAR + month // 12
    monthly = setting.by_year("amount", year) * YI / 12.0 if month >= setting.start else 0.0
    if monthly <= 0:
        return {}
    return _pro_rata_plant(books, monthly, code)


def innovation_grants(policy: Policy, books: dict[str, FirmBook], month: int, code: int = 0) -> dict[str, np.ndarray]:
    """This month's innovation grants (揭榜挂帅, the research institute), yuan per firm by stage: what the city pays
    for the extra learning, ``extra_learning_rate x 100 x cost_per_point`` 亿元 a year in twelfths, pro rata to
    the value of the plant of the cluster ``code``'s firms (Suining's, code 0, for the scenario's own lever)."""
    lever = "innovation"
    points = 100.0 * policy.value(lever, "extra_learning_rate")
    if points <= 0 or month < policy.start(lever):
        return {}
    return _pro_rata_plant(books, points * policy.value(lever, "cost_per_point") * YI / 12.0, code)


def energy_support_cost(
    policy: Policy, book: FirmBook, energy_per_unit: np.ndarray, quantity: np.ndarray, code: int = 0
) -> np.ndarray:
    """What the city pays this month for energy support, yuan per firm ``(R, N)``: its share
    (``city_cost_share``) of what the firms save, ``energy cost before the cut x cost_cut x quantity``.

    Args:
        energy_per_unit: the firms' energy cost per unit after the cut, yuan (``(R, N)``).
        quantity: output this month.
    """
    if "energy_support" not in policy.settings:
        return np.zeros(book.shape)
    share = policy.value("energy_support", "city_cost_share")
    if share <= 0 or policy.value("energy_support", "cost_cut") <= 0:
        return np.zeros(book.shape)
    factor = book.energy_factor
    saving = np.divide(energy_per_unit, factor, out=np.zeros_like(energy_per_unit), where=factor > 0) - energy_per_unit
    return np.where(book.columns.in_cluster(code), share * saving * quantity, 0.0)


def _pro_rata_plant(books: dict[str, FirmBook], amount: float, code: int = 0) -> dict[str, np.ndarray]:
    """``amount`` yuan split among the cluster's active firms of every stage pro rata to their plant's book value."""
    plant = {
        key: np.where(book.columns.in_cluster(code) & book.active, book.capital, 0.0) for key, book in books.items()
    }
    total = sum(value.sum(axis=-1) for value in plant.values())
    share = np.divide(amount, total, out=np.zeros_like(total), where=total > 0)
    return {key: value * share[:, None] for key, value in plant.items()}


def vat_refunds(policy: Policy, books: dict[str, FirmBook], month: int, code: int = 0) -> dict[str, np.ndarray]:
    """December: a share of the cluster's firms' input-VAT credit is refunded in cash (留抵退税); returns them."""
    share = policy.value("tax_relief", "vat_refund_share")
    out = {}
    if share <= 0 or month < policy.start("tax_relief"):
        return out
    for key, book in books.items():
        refund = np.where(book.columns.in_cluster(code) & book.active, share * book.vat_credit, 0.0)
        book.vat_credit = book.vat_credit - refund
        book.cash, book.debt = finance(book.cash, book.debt, refund)
        out[key] = refund
    return out


def grades(score: np.ndarray, policy: Policy) -> np.ndarray:
    """A-D grade (0-3) from a firm's value added plus taxes per yuan of plant, relative to its stage's average."""
    lever = "land_efficiency"
    a, c, d = (policy.value(lever, name) for name in ("grade_a", "grade_c", "grade_d"))
    return np.select([score >= a, score >= c, score >= d], [0, 1, 2], default=3)


def land_efficiency(
    policy: Policy,
    books: dict[str, FirmBook],
    yearly: dict[str, dict[str, np.ndarray]],
    capex: dict[str, float],
    parent_credit: dict[str, np.ndarray],
    month: int,
    code: int = 0,
) -> dict[str, dict[str, np.ndarray]]:
    """December review (亩均论英雄) of the cluster's plants, as Sichuan's 亩均 evaluations work.

    Each plant is graded A-D on the year's value added plus taxes per yuan of plant (the model's measure of
    tax and output per mu: land goes with plant), relative to its stage's national average. The grade sets
    next year's energy price (A cheaper, C and D dearer). C and D plants upgrade when they can pay their share
    of the upgrade (cash, plus the credit of a listed parent), the city paying ``upgrade_support`` of it; a
    plant graded D ``exit_after_d_years`` years running that cannot pay returns its land.

    Args:
        yearly: the year's flows per stage (``value_added``, ``taxes``), ``(R, N)`` yuan.
        capex: yuan per unit of capacity, per stage.
        parent_credit: yuan a listed parent will put in, per stage ``(R, N)``.

    Returns:
        Per stage: ``grade`` (R, N ints, -1 not graded), ``upgraded``, ``exited`` (bool), ``support`` (yuan).
    """
    lever = LEVER_BY_NAME["land_efficiency"]
    setting = policy.setting(lever.name)
    out: dict[str, dict[str, np.ndarray]] = {}
    if lever.name not in policy.settings or month < setting.start:
        return out
    val = {
        name: setting.get(lever, name)
        for name in (
            "energy_discount_a",
            "energy_surcharge_c",
            "energy_surcharge_d",
            "upgrade_cost_share",
            "upgrade_cost_cut",
            "upgrade_support",
        )
    }
    d_limit = setting.get(lever, "exit_after_d_years")
    for key, book in books.items():
        # plant that has run through the year: capacity still ramping up is not judged on a year it was not there
        plant = (book.capacity - book.ramping) * capex[key]
        contribution = yearly[key]["value_added"] + yearly[key]["taxes"]
        running = book.active & (plant > 0)
        # the stage's national average per yuan of plant, per replicate
        total_plant = np.where(running, plant, 0.0).sum(axis=-1)
        total_contrib = np.where(running, contribution, 0.0).sum(axis=-1)
        average = np.divide(total_contrib, total_plant, out=np.zeros_like(total_plant), where=total_plant > 0)
        score = np.divide(
            contribution,
            plant * np.abs(average)[:, None],
            out=np.zeros_like(plant),
            where=(plant > 0) & (average[:, None] != 0),
        )
        here = book.columns.in_cluster(code)
        graded = running & here
        grade = np.where(graded, grades(score, policy), -1)
        factor = np.select(
            [grade == 0, grade == 2, grade == 3],
            [1.0 - val["energy_discount_a"], 1.0 + val["energy_surcharge_c"], 1.0 + val["energy_surcharge_d"]],
            default=1.0,
        )
        book.grade_factor = np.where(here, factor, book.grade_factor)
        book.d_years = np.where(here, np.where(grade == 3, book.d_years + 1.0, 0.0), book.d_years)
        weak = graded & (grade >= 2)
        cost = val["upgrade_cost_share"] * plant
        own_share = cost * (1.0 - val["upgrade_support"])
        can_pay = book.cash + parent_credit[key] >= own_share
        upgrade = weak & can_pay
        book.cash, book.debt = finance(book.cash, book.debt, np.where(upgrade, -own_share, 0.0))
        book.capital = book.capital + np.where(upgrade, cost, 0.0)
        book.cost_factor = np.where(upgrade, book.cost_factor * (1.0 - val["upgrade_cost_cut"]), book.cost_factor)
        book.d_years = np.where(upgrade, 0.0, book.d_years)
        leave = weak & ~upgrade & (book.d_years >= d_limit)
        book.close(leave)
        out[key] = {
            "grade": grade,
            "upgraded": upgrade,
            "exited": leave,
            "support": np.where(upgrade, cost * val["upgrade_support"], 0.0),
        }
    return out


def hedge_terms(policy: Policy, params) -> tuple[float, int, float]:
    """Hedged share, horizon (months) and the cost per yuan of forward price (basis plus financed margin)."""
    lever = "hedging"
    share = policy.value(lever, "share")
    horizon = int(policy.value(lever, "horizon_months"))
    cost = policy.value(lever, "basis_cost") + policy.value(lever, "margin_rate") * params.interest_rate * (
        horizon / 12.0
    )
    return share, horizon, cost
