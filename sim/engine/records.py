"""What a batch records as it runs: yearly flows and year-end stocks of every firm stage by region, monthly
market series, world supply, and per-firm years for the replicates whose firm table is kept.

Flows are summed over the year's months per firm, then reduced to regions at year end, so recording costs a
few array additions a month. `BatchRecord` is what `sim.engine.simulate_batch` returns; `sim.outputs.metrics`
turns it into the summary (docs/model.md, "Observation").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from agents.book import FirmBook

# flows summed over a year, yuan (money), u (output, unmet) or persons x months / 12 (employment)
FLOWS = (
    "output",
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
    "unmet",
    "ordered",
    "loss_months",
)
MEANS = ("employment", "available", "installed")  # averages over the year's months
# the monthly series of every stage (``<flow>_<stage>`` in `BatchRecord.market`) and of the world market
# (``world_<name>``), named once for the model, the numeric checks and their empty months
STAGE_FLOWS = ("gross", "addressed", "request", "output", "unmet", "final", "trade")
WORLD_SERIES = (
    "production",
    "released",
    "demand",
    "served",
    "unmet",
    "inventory",
    "capacity",
    "curtailed",
    "marginal_cost",
    "gap",
    "stock_change",
)
STOCKS = ("capacity", "firms", "cash", "debt", "building")  # at the end of December
TIER_FIELDS = ("output", "output_value", "intermediate", "wages", "depreciation", "profit", "capacity", "installed")
REGIONS = ("suining", "china")
PLANT_FIELDS = ("output", "output_value", "value_added", "installed", "capacity")  # kept per named plant


@dataclass
class BatchRecord:
    """The record of a finished batch.

    Attributes:
        years: calendar years of the run.
        regional: ``(region, stage, field) -> (R, Y)`` flows, means and year-end stocks.
        market: ``name -> (R, T)`` monthly series (prices, demand, output, world market).
        cohorts: ``name -> (R, Y, K)`` world supply by cohort (capacity, production), market mode only.
        cohort_names: cohort identifiers, in order.
        firms: stage -> field -> ``(r_kept, Y, N)`` per-firm years of the first ``r_kept`` replicates.
        columns: stage -> the firms' identities (``firm_id``, ``name``, ``region``, ``role``).
        events: counters of what happened (``exits``, ``entrants``, ``land_upgrades``, ...), ``(R,)`` each.
        replicates: R.
    """

    years: list[int]
    regional: dict[tuple[str, str, str], np.ndarray]
    market: dict[str, np.ndarray]
    cohorts: dict[str, np.ndarray]
    cohort_names: list[str]
    firms: dict[str, dict[str, np.ndarray]]
    columns: dict[str, dict[str, list]]
    events: dict[str, np.ndarray]
    replicates: int
    price_mode: str = "path"
    grades: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> (r_kept, Y, N) land-efficiency grade
    params: object = None  # the parameters the batch ran with (fiscal shares for the scoreboard)
    city: dict = field(default_factory=dict)  # the city's data (city.csv)
    city_growth: tuple[float, float] = (0.06, 0.0)  # the scenario's other-economy real growth and deflator
    failures: dict = field(default_factory=dict)  # row -> sim.engine.guard.Failure: a replicate a check stopped

    def region(self, region: str, stage: str, name: str) -> np.ndarray:
        return self.regional[(region, stage, name)]


class Recorder:
    """Accumulates a batch's records month by month."""

    def __init__(
        self, books: dict[str, FirmBook], replicates: int, firm_detail: int, clusters: tuple[str, ...] = ("suining",)
    ) -> None:
        self.books = books
        self.clusters = clusters  # the cluster codes' keys (the home city first)
        self.replicates = replicates
        self.keep = min(firm_detail, replicates)
        self.acc = {key: {name: np.zeros(book.shape) for name in (*FLOWS, *MEANS)} for key, book in books.items()}
        self.regional: dict[tuple[str, str, str], list[np.ndarray]] = defaultdict(list)
        self.firms: dict[str, dict[str, list[np.ndarray]]] = {key: defaultdict(list) for key in books}
        self.market: dict[str, list[np.ndarray]] = defaultdict(list)
        self.cohorts: dict[str, list[np.ndarray]] = defaultdict(list)
        self.cohort_acc: dict[str, np.ndarray] = {}
        self.grades: dict[str, list[np.ndarray]] = defaultdict(list)
        self.events: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(replicates))
        self.plants = {
            key: [
                (j, fid)
                for j, (fid, role) in enumerate(zip(book.columns.firm_id, book.columns.role, strict=True))
                if role == "registry"
            ]
            for key, book in books.items()
        }
        self.tiers = {
            key: {tier: np.array([t == tier for t in book.columns.tier]) for tier in dict.fromkeys(book.columns.tier)}
            for key, book in books.items()
        }

    def add(self, stage: str, **values: np.ndarray) -> None:
        """Add this month's per-firm values (R, N) to the year's flows; means are added as monthly twelfths."""
        acc = self.acc[stage]
        for name, value in values.items():
            acc[name] += value / 12.0 if name in MEANS else value

    def month(self, **values: np.ndarray) -> None:
        """Monthly market series, one (R,) array each."""
        for name, value in values.items():
            self.market[name].append(np.asarray(value, dtype=float))

    def cohort_month(self, **values: np.ndarray) -> None:
        """Monthly world supply by cohort (R, K), summed (flows) or averaged (capacity) over the year."""
        for name, value in values.items():
            self.cohort_acc[name] = self.cohort_acc.get(name, 0.0) + value

    def count(self, name: str, mask: np.ndarray) -> None:
        """Count events per replicate (a (R, N) mask or an (R,) count)."""
        self.events[name] = self.events[name] + (mask.sum(axis=-1) if mask.ndim == 2 else mask)

    def year_flows(self, stage: str) -> dict[str, np.ndarray]:
        """The year's flows so far, per firm (for the December review)."""
        acc = self.acc[stage]
        return {"value_added": acc["value_added"], "taxes": acc["vat"] + acc["surcharges"] + acc["income_tax"]}

    def close_year(self, grades: dict[str, np.ndarray] | None = None) -> None:
        """December: reduce the year's flows and the year-end stocks to regions; keep per-firm years."""
        for key, book in self.books.items():
            values = dict(self.acc[key])
            values["capacity"] = book.capacity.copy()
            values["firms"] = (book.active & (book.capacity > 0)).astype(float)
            values["building"] = (book.active & (book.capacity <= 0)).astype(float)
            values["cash"] = book.cash.copy()
            values["debt"] = book.debt.copy()
            masks = [book.columns.in_cluster(code) for code in range(len(self.clusters))]
            for name, value in values.items():
                self.regional[("china", key, name)].append(value.sum(axis=-1))
                # masked sums over whole C-ordered rows (never over fancy-indexed columns): batch-independent
                for cluster, mask in zip(self.clusters, masks, strict=True):
                    self.regional[(cluster, key, name)].append(np.where(mask, value, 0.0).sum(axis=-1))
            for tier, members in self.tiers[key].items():
                for name in TIER_FIELDS:
                    self.regional[(f"tier:{tier}", key, name)].append(np.where(members, values[name], 0.0).sum(axis=-1))
            # the named plants of the registry, one by one (their reported figures are calibration targets)
            for j, firm_id in self.plants[key]:
                for name in PLANT_FIELDS:
                    self.regional[(f"plant:{firm_id}", key, name)].append(values[name][:, j].copy())
            if self.keep:
                kept = self.firms[key]
                for name, value in values.items():
                    kept[name].append(value[: self.keep].copy())
                kept["active"].append(book.active[: self.keep].astype(float))
                if grades is not None and key in grades:
                    self.grades[key].append(grades[key][: self.keep].astype(float))
                else:
                    self.grades[key].append(np.full((self.keep, book.shape[1]), -1.0))
            for value in self.acc[key].values():
                value[:] = 0.0
        for name, value in self.cohort_acc.items():
            self.cohorts[name].append(np.asarray(value, dtype=float))
        self.cohort_acc = {}

    def finish(self, years: list[int], cohort_names: list[str], price_mode: str, **context) -> BatchRecord:
        regional = {key: np.stack(values, axis=-1) for key, values in self.regional.items()}
        # (R, T), C-ordered: every reduction over months runs along the last axis, as for firms (batch-independent)
        market = {name: np.ascontiguousarray(np.stack(values, axis=-1)) for name, values in self.market.items()}
        cohorts = {name: np.stack(values, axis=1) for name, values in self.cohorts.items()}
        firms = {
            key: {name: np.stack(values, axis=1) for name, values in kept.items()}
            for key, kept in self.firms.items()
            if kept
        }
        columns = {
            key: {
                "firm_id": list(book.columns.firm_id),
                "name": list(book.columns.name),
                "region": [self.clusters[c] for c in book.columns.cluster],
                "role": list(book.columns.role),
                "tier": list(book.columns.tier),
            }
            for key, book in self.books.items()
        }
        grades = {key: np.stack(values, axis=1) for key, values in self.grades.items() if values}
        return BatchRecord(
            years=years,
            regional=regional,
            market=market,
            cohorts=cohorts,
            cohort_names=cohort_names,
            firms=firms,
            columns=columns,
            events=dict(self.events),
            replicates=self.replicates,
            price_mode=price_mode,
            grades=grades,
            **context,
        )
