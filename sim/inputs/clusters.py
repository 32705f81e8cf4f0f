"""The rival clusters as data: who they are, what a plant costs to run there, and the policies each is known for.

Suining competes for every new plant with Yibin, Yichun, Deyang-Aba (Mianzhu), Meishan-Pengshan and Changzhou; the
rest of China is the residual. Three tables in ``sim/inputs/data/`` (docs/data.md):

- ``clusters.csv``: one row per cluster (key, names in English and Chinese, province, kind, main segments);
- ``cluster_conditions.csv``: one row per cluster, condition and segment (electricity price, land price, wages,
  distances to feedstock and to customers), each with its range and source or assumption;
- ``cluster_policies.csv``: the policies each city is known to use, mapped onto the levers of
  `sim.inputs.levers` where their size is given (`standing_policies`).

A planner adds a cluster by adding rows. The engine reads a plant's costs at a cluster relative to the rest of
China (the reference), so a cluster's conditions move its plants' costs up or down from the national tiers'.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from sim.inputs.errors import InputError

DATA_DIR = Path(__file__).resolve().parent / "data"
REFERENCE = "rest_of_china"  # the residual cluster: national conditions, the costs of the tiers
HOME = "suining"  # the city the planner asks about
CONDITIONS = {
    "electricity_price": "yuan/kWh",
    "land_price": "yuan/mu",
    "annual_wage": "yuan/worker-yr",
    "distance_to_feedstock_km": "km",
    "distance_to_customers_km": "km",
}
# a rival city's known policies, mapped onto the levers when their size is published or assumed: energy support in
# yuan/kWh becomes a cut in energy cost at the city's power price; ready land ("land_supply") months off the build
LAND_SUPPLY_MONTHS = 3.0  # assumption: serviced land and permits in advance save about a quarter (range 1-6)


@dataclass(frozen=True)
class Cluster:
    """A cluster of lithium plants (a city or park)."""

    key: str
    name: str
    name_zh: str
    province: str
    kind: str  # city, park or residual
    segments: tuple[str, ...]
    conditions: dict[tuple[str, str], float] = field(default_factory=dict)  # (condition, segment or "all") -> value

    def label(self, lang: str = "en") -> str:
        return self.name_zh.split(" (")[0] if lang == "zh" else self.name.split(" (")[0]

    def condition(self, name: str, segment: str) -> float | None:
        """The cluster's value of a condition for a segment (its value for "all" segments if none is given)."""
        return self.conditions.get((name, segment), self.conditions.get((name, "all")))


@dataclass(frozen=True)
class ClusterData:
    """Every cluster, the home city first and the reference (the rest of China) last."""

    clusters: tuple[Cluster, ...]
    policies: tuple[dict[str, str], ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.clusters)

    def __getitem__(self, key: str) -> Cluster:
        for c in self.clusters:
            if c.key == key:
                return c
        raise KeyError(key)

    def index(self, key: str) -> int:
        return self.keys.index(key)

    def condition(self, key: str, name: str, segment: str) -> float:
        """A cluster's condition, falling back on the reference's where the cluster gives none."""
        value = self[key].condition(name, segment)
        if value is None:
            value = self[REFERENCE].condition(name, segment)
        if value is None:
            raise InputError(
                f"no {name} for segment {segment} in cluster {key} or {REFERENCE}",
                file=str(DATA_DIR / "cluster_conditions.csv"),
                key="condition",
            )
        return value

    def relative(self, key: str, name: str, segment: str) -> float:
        """A condition at a cluster over the reference's (1 at the reference)."""
        return self.condition(key, name, segment) / self.condition(REFERENCE, name, segment)

    def standing_policies(self) -> dict[str, dict[str, dict[str, float | str]]]:
        """Each rival cluster's known policies as lever settings: ``{cluster: {lever: {field: value, "from": month}}}``.

        Mapped where the size is given: energy support in yuan/kWh becomes ``cost_cut`` at the city's power price
        (its budget pays it: ``city_cost_share`` 1); a capex subsidy share becomes ``capex_subsidy``; ready land
        becomes ``lag_cut_months`` (`LAND_SUPPLY_MONTHS`). Flags without a size (tax relief, chain chiefs, funds)
        and equity stakes are not levers here (docs/data.md says which). Suining's own levers are the scenarios'
        subject and start at zero; the rest of China's incentives are the model's ``local_incentive_share``.
        """
        out: dict[str, dict[str, dict[str, float | str]]] = {}
        for row in self.policies:
            key = row["cluster"]
            if key in (HOME, REFERENCE) or key not in self.keys:
                continue
            lever, unit, value = row["lever"], row["unit"], row["value"]
            start = row.get("from") or "2022-01"
            start = max(start, "2022-01")
            settings = out.setdefault(key, {})
            if lever == "energy_support" and unit == "yuan/kWh":
                price = self.condition(key, "electricity_price", "all")
                settings["energy_support"] = {
                    "cost_cut": min(value / price, 0.5),
                    "city_cost_share": 1.0,
                    "from": start,
                }
            elif lever == "investment_support" and unit == "share of fixed investment":
                entry = settings.setdefault("investment_support", {"from": start})
                entry["capex_subsidy"] = min(value, 0.5)
            elif lever == "land_supply":
                entry = settings.setdefault("investment_support", {"from": start})
                entry["lag_cut_months"] = LAND_SUPPLY_MONTHS
        return out


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError("data file not found", file=str(path))
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def load_clusters(directory: str | Path | None = None) -> ClusterData:
    """Read ``clusters.csv``, ``cluster_conditions.csv`` and ``cluster_policies.csv``; the home city comes first and
    the reference last, whatever the file's order."""
    directory = Path(directory) if directory else DATA_DIR
    rows = _rows(directory / "clusters.csv")
    keys = [r["cluster"] for r in rows]
    for needed in (HOME, REFERENCE):
        if needed not in keys:
            raise InputError(f"the cluster '{needed}' is missing", file=str(directory / "clusters.csv"), key="cluster")
    conditions: dict[str, dict[tuple[str, str], float]] = {k: {} for k in keys}
    path = directory / "cluster_conditions.csv"
    for line, row in enumerate(_rows(path), start=2):
        key, name = row.get("cluster", ""), row.get("condition", "")
        if key not in conditions:
            raise InputError(f"row {line}: unknown cluster '{key}'", file=str(path), key="cluster")
        if name not in CONDITIONS:
            raise InputError(
                f"row {line}: condition '{name}' is not one of {', '.join(CONDITIONS)}", file=str(path), key="condition"
            )
        try:
            value = float(row["value"])
        except (KeyError, ValueError):
            raise InputError(f"row {line}: value must be a number", file=str(path), key="value") from None
        if value <= 0:
            raise InputError(f"row {line}: value must be positive", file=str(path), key="value")
        conditions[key][(name, row.get("segment") or "all")] = value
    clusters = [
        Cluster(
            key=r["cluster"],
            name=r["name"],
            name_zh=r["name_zh"],
            province=r.get("province", ""),
            kind=r.get("kind", ""),
            segments=tuple(s for s in (r.get("main_segments") or "").split(";") if s),
            conditions=conditions[r["cluster"]],
        )
        for r in rows
    ]
    clusters.sort(key=lambda c: (c.key != HOME, c.key == REFERENCE))
    path = directory / "cluster_policies.csv"
    policies = tuple(_rows(path))
    for line, row in enumerate(policies, start=2):
        if row.get("cluster") not in keys:
            raise InputError(f"row {line}: unknown cluster '{row.get('cluster')}'", file=str(path), key="cluster")
        try:
            row["value"] = float(row["value"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"row {line}: value must be a number", file=str(path), key="value") from None
        start = row.get("from") or "2022-01"
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start):
            raise InputError(f"row {line}: from must be a month YYYY-MM, not '{start}'", file=str(path), key="from")
    return ClusterData(tuple(clusters), policies)


@cache
def default_clusters() -> ClusterData:
    """The project's cluster tables, loaded once per process."""
    return load_clusters()


def cluster_keys() -> tuple[str, ...]:
    """The clusters' keys, the home city first and the rest of China last."""
    return default_clusters().keys
