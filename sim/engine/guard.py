"""Numbers that cannot silently go wrong: every month, every stage's prices and quantities are checked.

A price or quantity that is not finite, or that runs beyond a declared physical bound (`PRICE_BOUNDS`,
`QUANTITY_BOUNDS`, `YEAR_BOUNDS`: each with its unit and reason, declared once here), fails its replicate:
the model stops with `Tripped`, naming the replicate, the month, the stage and the variable (`Failure`).
Nothing downstream is allowed to turn such a number into a row that looks complete.

- `Guard.month` checks, after the chain's quantities are set each month: the carbonate quote, every stage's
  price, the demand drivers, every stage's gross, addressed and requested demand, its output, unmet and final
  demand, and in market mode the world market's month.
- `Guard.year` checks, when a year closes, every stage's year of accounts (output value, value added, profit,
  taxes, cash, debt, capacity, employment, ...), China's totals (they include Suining's).
- `partial_record`: a replicate run alone (a batch of one) that trips keeps the years before the year it
  failed in; every later year, and the months from the failure on, are NaN, so its summary rows exist and
  the failure is marked (the runner counts such replicates in the summary's ``failed`` column). A batch of
  several replicates that trips raises, and the runner runs its replicates one by one, so the others are
  not touched (a replicate's figures do not depend on its batch).

Checks run on whole arrays: the month's values stacked into one array and compared with the bounds at once
(about 0.1 ms a month, whatever the batch's size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.engine.records import STAGE_FLOWS, WORLD_SERIES
from sim.inputs.scenario import month_label

_POSITIVE = float(np.finfo(float).tiny)  # a price must be above zero: margins divide by it


@dataclass(frozen=True)
class Bound:
    """The physical range of a kind of number.

    Attributes:
        low, high: the range (a price must also be above zero: ``low`` is then the smallest positive float).
        unit: of the value as the model holds it.
        reason: why a value beyond it cannot be right.
    """

    low: float
    high: float
    unit: str
    reason: str

    def describe(self) -> str:
        low = "above 0" if self.low == _POSITIVE else f"{self.low:g}"
        return f"{low} to {self.high:g} {self.unit} ({self.reason})"


# --- the bounds, declared once -------------------------------------------------------------------------------
LITHIUM_PRICE = Bound(
    1.0,
    1e8,
    "yuan/t LCE",
    "scenario paths quote 1,000 to 2,000,000 yuan/t and the 2022 peak was near 600,000; below a thousandth of "
    "the lowest quote or above a hundred million is no market",
)
FEEDSTOCK_PRICE = Bound(
    0.0,
    1e8,
    "yuan/t LCE",
    "concentrate sells by formula, share x (carbonate - allowance), zero when carbonate is below the "
    "allowance; a hundred million is no market",
)
PRICE_BOUNDS: dict[str, Bound] = {
    "carbonate_quote": LITHIUM_PRICE,
    "lithium_supply": FEEDSTOCK_PRICE,
    "lithium_salt": LITHIUM_PRICE,
    "lfp_cathode": Bound(
        _POSITIVE,
        1e8,
        "yuan/t",
        "LFP cathode peaked near 170,000 yuan/t in 2022; its lithium is a quarter tonne of carbonate a tonne",
    ),
    "battery": Bound(
        _POSITIVE,
        1e11,
        "yuan/GWh",
        "100 yuan/Wh: cells peaked near 1 yuan/Wh in the 2022 shortage",
    ),
}
OTHER_PRICE = Bound(_POSITIVE, 1e12, "yuan per unit", "beyond the price of any unit of any stage of the chain")

MONTHLY_CELLS = 1e6  # GWh a month
QUANTITY_BOUNDS: dict[str, Bound] = {
    "battery": Bound(
        -MONTHLY_CELLS,
        MONTHLY_CELLS,
        "GWh/month",
        "12,000 TWh a year, thousands of times the world's 1.5 TWh of cells in 2024",
    ),
    "lfp_cathode": Bound(-1e10, 1e10, "t/month", "what 1e6 GWh of cells a month would use, at 2,500 t/GWh, rounded up"),
    "lithium_salt": Bound(-1e10, 1e10, "t LCE/month", "ten thousand times the world's lithium demand of 2024"),
    "lithium_supply": Bound(-1e10, 1e10, "t LCE/month", "ten thousand times the world's lithium demand of 2024"),
}
OTHER_QUANTITY = Bound(-1e12, 1e12, "units/month", "beyond what any stage of the chain could make in a month")
SHARE = Bound(-1e-9, 1.0 + 1e-9, "fraction", "a share of demand lies between 0 and 1")

MONEY = Bound(-1e16, 1e16, "yuan/yr", "eighty times China's 2024 GDP (about 1.3e14 yuan)")
PERSONS = Bound(-1e10, 1e10, "persons", "more people than live on earth")
COUNT = Bound(-1e7, 1e7, "firms", "ten million plants of one stage")
YEAR_BOUNDS: dict[str, Bound | str] = {  # a year's field -> its bound, or "quantity": the stage's, times 12
    **dict.fromkeys(
        (
            "output_value",
            "intermediate",
            "value_added",
            "wages",
            "depreciation",
            "vat",
            "surcharges",
            "income_tax",
            "profit",
            "interest",
            "support",
            "investment",
            "cash",
            "debt",
        ),
        MONEY,
    ),
    **dict.fromkeys(("output", "unmet", "available", "installed", "capacity"), "quantity"),
    "employment": PERSONS,
    "firms": COUNT,
    "building": COUNT,
}


def price_bound(stage: str) -> Bound:
    return PRICE_BOUNDS.get(stage, OTHER_PRICE)


def quantity_bound(stage: str, per: str = "month") -> Bound:
    bound = QUANTITY_BOUNDS.get(stage, OTHER_QUANTITY)
    if per == "month":
        return bound
    unit = bound.unit.replace("/month", "/yr")
    return Bound(bound.low * 12, bound.high * 12, unit, bound.reason)


def _driver_bound(name: str) -> Bound:
    if name.endswith("_share"):
        return SHARE
    if name.endswith("_gwh"):
        return quantity_bound("battery")
    if name.endswith("_lce"):
        return quantity_bound("lithium_salt")
    return Bound(-math.inf, math.inf, "", "")


# --- failures ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """Where a replicate's numbers went wrong.

    Attributes:
        replicate: its row in the batch (the runner turns it into the run's replicate number).
        month: months since January 2022.
        stage: the stage of the chain (or "market" for the carbonate quote and demand drivers, "world"
            for the world market).
        variable: what was checked (e.g. "price", "output", "value_added").
        value: the value found.
        bound: the range it had to lie in, with its reason.
        year_end: the check was of the year's accounts, closed in December.
    """

    replicate: int
    month: int
    stage: str
    variable: str
    value: float
    bound: str
    year_end: bool = False

    @property
    def year(self) -> int:
        return int(month_label(self.month)[:4])

    def message(self, replicate: int | None = None) -> str:
        """One paragraph: which replicate, when, which stage and variable, the value and what was allowed."""
        who = self.replicate if replicate is None else replicate
        when = f"the accounts of {self.year}" if self.year_end else month_label(self.month)
        if math.isnan(self.value):
            found = "is not a number (NaN)"
        elif math.isinf(self.value):
            found = f"is {'+' if self.value > 0 else '-'}infinite"
        else:
            found = f"is {self.value:.6g}, beyond its bound"
        return (
            f"replicate {who} failed a numeric check in {when}: stage {self.stage}, {self.variable} {found}; "
            f"allowed {self.bound}. Its figures from {self.year} on are left out of the summary (column failed "
            "counts them)"
        )

    def to_dict(self, replicate: int | None = None) -> dict[str, Any]:
        """JSON-ready form (meta.json): numbers that are not finite as text."""
        value = self.value if math.isfinite(self.value) else str(self.value)
        return {
            "replicate": self.replicate if replicate is None else replicate,
            "month": month_label(self.month),
            "year": self.year,
            "year_end": self.year_end,
            "stage": self.stage,
            "variable": self.variable,
            "value": value,
            "allowed": self.bound,
            "message": self.message(replicate),
        }


class Tripped(RuntimeError):
    """A replicate's numbers went wrong (`Failure`); raised out of the model's step."""

    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures
        super().__init__(failures[0].message())


# --- the checks ----------------------------------------------------------------------------------------------
class _Checks:
    """One stacked check: the names, and the bounds as arrays, fixed at its first use."""

    def __init__(self, labels: list[tuple[str, str]], bounds: list[Bound]) -> None:
        self.labels = labels
        self.bounds = bounds
        self.low = np.array([b.low for b in bounds])[:, None]
        self.high = np.array([b.high for b in bounds])[:, None]

    def run(self, values: list[np.ndarray], month: int, year_end: bool = False) -> None:
        stacked = np.stack(values)  # (checks, R)
        with np.errstate(invalid="ignore"):
            ok = (stacked >= self.low) & (stacked <= self.high)  # NaN compares False
        if ok.all():
            return
        failures = []
        for r in np.flatnonzero(~ok.all(axis=0)):
            i = int(np.flatnonzero(~ok[:, r])[0])  # the first check it failed, in the chain's order
            stage, variable = self.labels[i]
            failures.append(
                Failure(int(r), month, stage, variable, float(stacked[i, r]), self.bounds[i].describe(), year_end)
            )
        raise Tripped(failures)


class Guard:
    """The checks of one model (see the module docs)."""

    def __init__(self) -> None:
        self._month: _Checks | None = None
        self._year: _Checks | None = None

    @property
    def month_labels(self) -> list[tuple[str, str]]:
        """(stage, variable) of every monthly check, in order (empty before the first month)."""
        return list(self._month.labels) if self._month is not None else []

    def month(
        self,
        t: int,
        quote: np.ndarray,
        prices: dict[str, np.ndarray],
        drivers: dict[str, np.ndarray],
        flows: dict[str, Any],
    ) -> None:
        """Check month ``t``'s prices and quantities (raises `Tripped`)."""
        supply = flows.get("supply")
        values = [quote, *prices.values(), *drivers.values()]
        for flow in STAGE_FLOWS:
            values.extend(flows[flow].values())
        if supply is not None:
            values.extend(getattr(supply, name) for name in (*WORLD_SERIES, "price"))
        if self._month is None or len(self._month.labels) != len(values):  # a model's checks never change
            labels: list[tuple[str, str]] = [("market", "carbonate_quote")]
            labels += [(stage, "price") for stage in prices]
            labels += [("market", name) for name in drivers]
            labels += [(stage, flow) for flow in STAGE_FLOWS for stage in flows[flow]]
            if supply is not None:
                labels += [("world", name) for name in (*WORLD_SERIES, "price")]
            self._month = _Checks(labels, [self._month_bound(stage, name) for stage, name in labels])
        self._month.run(values, t)

    @staticmethod
    def _month_bound(stage: str, name: str) -> Bound:
        if name == "carbonate_quote" or (stage, name) == ("world", "price"):
            return LITHIUM_PRICE
        if name == "marginal_cost":
            return FEEDSTOCK_PRICE
        if name == "price":
            return price_bound(stage)
        if stage == "market":
            return _driver_bound(name)
        if stage == "world":
            if name in ("capacity", "curtailed"):
                return quantity_bound("lithium_supply", per="yr")
            if name == "inventory":
                bound = quantity_bound("lithium_supply", per="yr")
                return Bound(bound.low * 100, bound.high * 100, "t LCE", "a hundred years of that supply")
            if name == "stock_change":  # stocks fall as well as rise, by at most a month's supply bound
                bound = quantity_bound("lithium_supply")
                return Bound(-bound.high, bound.high, bound.unit, "a month's change of stocks: " + bound.reason)
            return quantity_bound("lithium_supply")
        return quantity_bound(stage)

    def year(self, t: int, regional: dict[tuple[str, str, str], list[np.ndarray]]) -> None:
        """Check the year just closed (December ``t``): China's totals of every stage (raises `Tripped`)."""
        labels: list[tuple[str, str]] = []
        values = []
        for (region, stage, name), series in regional.items():
            if region == "china" and name in YEAR_BOUNDS and series:
                labels.append((stage, name))
                values.append(series[-1])
        if not values:
            return
        if self._year is None or self._year.labels != labels:
            bounds = []
            for stage, name in labels:
                bound = YEAR_BOUNDS[name]
                bounds.append(quantity_bound(stage, per="yr") if bound == "quantity" else bound)
            self._year = _Checks(labels, bounds)
        self._year.run(values, t, year_end=True)


# --- a replicate that failed: its record up to the failure -----------------------------------------------------
def partial_record(model: Any, trip: Tripped, months: int | None) -> Any:
    """The record of a single-replicate model stopped by ``trip``: the years before the failure's year as they
    were, every later year NaN, the monthly series through the last month that passed, NaN after.

    ``months`` is what the run was asked to step (None: the whole scenario).
    """
    recorder = model.recorder
    failure = trip.failures[0]
    if not recorder.market:  # stopped in its first month: the month's series exist, as NaN
        _record_nan_month(model, failure.month)
    if not recorder.regional:  # stopped before its first December: the year's rows exist, as NaN
        recorder.close_year()
    n_years = len(model.scenario.years[: (months or model.n_months) // 12])
    n_months = n_years * 12
    done = min(failure.month // 12, n_years)  # complete years that passed every check
    replicates = model.replicates

    def fill(series: list[np.ndarray], kept: int, total: int, shape: tuple[int, ...]) -> None:
        del series[kept:]
        series.extend(np.full(shape, np.nan) for _ in range(len(series), total))

    for series in recorder.regional.values():
        fill(series, done, n_years, (replicates,))
    for series in recorder.market.values():  # every month recorded passed its checks
        fill(series, len(series), n_months, (replicates,))
    for series in recorder.cohorts.values():
        fill(series, done, n_years, series[0].shape if series else (replicates, len(model.world.book.cohorts)))
    for stage, kept in recorder.firms.items():
        for series in kept.values():
            fill(series, done, n_years, (recorder.keep, recorder.books[stage].shape[1]))
    for stage, series in recorder.grades.items():
        fill(series, done, n_years, (recorder.keep, recorder.books[stage].shape[1]))
    cohorts = [c.cohort for c in model.world.book.cohorts] if model.world is not None else []
    record = recorder.finish(
        model.scenario.years[:n_years],
        cohorts,
        "market" if model.market_mode else "path",
        params=model.params,
        city=model.data.city,
        city_growth=(model.scenario.city_other_growth, model.scenario.city_deflator),
    )
    record.failures = {f.replicate: f for f in trip.failures}
    return record


def _record_nan_month(model: Any, t: int) -> None:
    """Record month ``t`` with every series NaN (named as the guard's checks of that month named them)."""
    labels = model.guard.month_labels
    nan = np.full(model.replicates, np.nan)
    prices = {stage: nan for stage, name in labels if name == "price" and stage not in ("world", "market")}
    drivers = {name: nan for stage, name in labels if stage == "market" and name != "carbonate_quote"}
    flows: dict[str, Any] = {
        flow: {stage: nan for stage, name in labels if name == flow and stage not in ("world", "market")}
        for flow in STAGE_FLOWS
    }
    flows["supply"] = None
    if model.world is not None:
        cohorts = len(model.world.book.cohorts)
        flows["supply"] = SimpleNamespace(
            **dict.fromkeys(WORLD_SERIES, nan), by_cohort=np.full((model.replicates, cohorts), np.nan)
        )
    model._record_month(t, nan, prices, drivers, flows)
