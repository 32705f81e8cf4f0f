"""Loading the sourced data files in ``sim/inputs/data/``: the Suining firm registry, national series and the
world lithium supply (cohorts, their capacity by year, announced projects).

Every row of those files carries its source or is marked ``assumed``/``derived`` with a reason (docs/data.md).
The registry can be edited by a planner; a bad row raises `InputError` naming the file, the row and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sim.inputs.chain import DEFAULT_CHAIN, Chain
from sim.inputs.clusters import ClusterData, default_clusters
from sim.inputs.errors import InputError
from sim.inputs.scenario import month_index

DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class FeedstockPart:
    """One source of a salt plant's feedstock in a period (a row of ``suining_feedstock.csv``).

    Attributes:
        source: ``own_mine`` (the group's mine), ``contract`` or ``spot``.
        cohort: the supply cohort of the group's mine (``supply_cohorts.csv``), own mines only.
        share: the part of the plant's feedstock from this source.
        market_linked: the plant's accounts pay a market price (lagged ``lag_months``, less ``discount``) for it;
            else (a mine transferring at cost) the mine's cost.
        lag_months: months of lag of that price (the average of the ``lag_months`` months before).
        discount: fraction off the market price (a shareholder's volume discount).
    """

    source: str
    cohort: str
    share: float
    market_linked: bool
    lag_months: int
    discount: float


@dataclass(frozen=True)
class FeedstockPeriod:
    """The feedstock of a salt plant from ``start`` to ``end`` (month indices, inclusive; ``end`` None: open)."""

    start: int
    end: int | None
    parts: tuple[FeedstockPart, ...]


FEEDSTOCK_SOURCES = ("own_mine", "contract", "spot")


@dataclass
class RegisteredFirm:
    """A named Suining firm with its capacity tranches (month index, u/yr)."""

    firm_id: str
    name: str
    segment: str
    owns_feedstock: bool
    listed_parent: bool = False
    tier: str = ""  # the national tier (tiers.csv) of the group the plant belongs to; "" for the stage's middle
    tranches: list[tuple[int, float]] = field(default_factory=list)
    cluster: str = "suining"  # where the plant is (clusters.csv)
    group: str = ""  # the firm group it belongs to (several plants, possibly in several clusters)
    probability: float = 1.0  # an announced plant is built with this probability (one draw per replicate)
    feedstock: tuple[FeedstockPeriod, ...] = ()  # salt makers: what feeds the plant (suining_feedstock.csv)

    def feedstock_at(self, month: int) -> tuple[FeedstockPart, ...]:
        """The plant's feedstock sources in effect in ``month``: the last period starting by then (the first one
        before any starts); none when no period is given (the plant buys at the market)."""
        started = [period for period in self.feedstock if period.start <= month]
        if started:
            return started[-1].parts
        return self.feedstock[0].parts if self.feedstock else ()

    def capacity_at(self, month: int) -> float:
        return sum(amount for online, amount in self.tranches if online <= month)


@dataclass(frozen=True)
class Cohort:
    """A group of lithium producers on the world cost curve (``supply_cohorts.csv``)."""

    cohort: str
    name: str
    resource: str
    region: str
    cost_low: float  # yuan/t LCE, incl. conversion, excl. VAT (compared with the quote net of VAT)
    cost_high: float
    price_linked_share: float  # share of the carbonate price added to the cost (royalties, payables)


@dataclass(frozen=True)
class SupplyProject:
    """An announced supply project (``supply_projects.csv``)."""

    project: str
    cohort: str
    capacity: float  # t LCE/yr
    online: int  # month index
    probability: float


@dataclass(frozen=True)
class SupplyData:
    """World lithium supply: cohorts, their effective capacity by year, announced projects."""

    cohorts: tuple[Cohort, ...]
    capacity: dict[str, dict[int, float]]  # cohort -> {year: t LCE/yr}
    projects: tuple[SupplyProject, ...]
    costs: dict[str, dict[int, tuple[float, float]]] = field(default_factory=dict)  # cohort -> {year: (low, high)}


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError("data file not found", file=str(path))
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"not a readable UTF-8 CSV file ({err.__class__.__name__})", file=str(path)) from None


def _number(
    row: dict[str, str], key: str, line: int, path: Path, low: float = 0.0, high: float = float("inf")
) -> float:
    try:
        value = float(row[key])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"row {line}: {key} must be a number", file=str(path), key=key) from None
    if not low <= value <= high:
        raise InputError(f"row {line}: {key} must be in [{low:g}, {high:g}]", file=str(path), key=key)
    return value


def _flag(row: dict[str, str], key: str, line: int, path: Path, default: str | None = None) -> bool:
    text = (row.get(key) or default or "").strip().lower()
    if text not in ("true", "false"):
        raise InputError(f"row {line}: {key} must be true or false", file=str(path), key=key)
    return text == "true"


def load_registry(path: str | Path | None = None, chain: Chain = DEFAULT_CHAIN) -> list[RegisteredFirm]:
    """Read the registry of named plants: Suining's (``suining_firms.csv``, one row per capacity tranche) and the
    rival clusters' (``cluster_plants.csv`` beside it, one row per plant, announced ones with their probability)."""
    path = Path(path) if path else DATA_DIR / "suining_firms.csv"
    firms = _read_plants(path, chain, "firm_id", None)
    others = path.parent / "cluster_plants.csv"
    if others.is_file():
        for fid, firm in _read_plants(others, chain, "plant_id", "cluster").items():
            if fid in firms:
                raise InputError(f"plant {fid} is in both registries", file=str(others), key="plant_id")
            firms[fid] = firm
    feedstock = load_feedstock(path.parent / "suining_feedstock.csv", firms)
    for fid, periods in feedstock.items():
        firms[fid].feedstock = periods
    for fid, firm in firms.items():
        if firm.segment == "lithium_salt" and firm.owns_feedstock and not firm.feedstock:
            raise InputError(
                f"salt plant {fid} owns its feedstock but no row says which mine feeds it",
                file=str(
                    path.parent / ("suining_feedstock.csv" if firm.cluster == "suining" else "cluster_plants.csv")
                ),
                key="feedstock_cohort",
            )
    return list(firms.values())


def _read_plants(path: Path, chain: Chain, id_column: str, cluster_column: str | None) -> dict[str, RegisteredFirm]:
    """Plants of one registry file; rows with the same id are tranches of one plant."""
    units = {stage.key: f"{stage.unit}/yr" for stage in chain.firm_stages}
    firms: dict[str, RegisteredFirm] = {}
    for line, row in enumerate(_rows(path), start=2):
        where = {"file": str(path)}
        segment = row.get("segment", "")
        if segment not in units:
            raise InputError(
                f"row {line}: segment '{segment}' is not one of {', '.join(units)}", key="segment", **where
            )
        if row.get("unit") != units[segment]:
            raise InputError(f"row {line}: unit must be '{units[segment]}' for {segment}", key="unit", **where)
        capacity = _number(row, "capacity", line, path)
        try:
            online = max(month_index(row["online"]), 0)
        except (KeyError, ValueError):
            raise InputError(f"row {line}: online must be 'YYYY-MM'", key="online", **where) from None
        owns = _flag(row, "owns_feedstock", line, path)
        listed = _flag(row, "listed_parent", line, path, default="false")
        fid = (row.get(id_column) or "").strip()
        if not fid:
            raise InputError(f"row {line}: {id_column} is empty", key=id_column, **where)
        tier = (row.get("tier") or "").strip()
        cluster = (row.get(cluster_column) or "").strip() if cluster_column else "suining"
        probability = (
            _number(row, "probability", line, path, 0.0, 1.0) if (row.get("probability") or "").strip() else 1.0
        )
        firm = firms.setdefault(
            fid,
            RegisteredFirm(
                fid,
                row.get("name", fid),
                segment,
                owns,
                listed,
                tier,
                cluster=cluster,
                group=(row.get("group") or "").strip() or fid,
                probability=probability,
            ),
        )
        if firm.segment != segment:
            raise InputError(f"row {line}: firm {fid} appears in two segments", key="segment", **where)
        if firm.tier != tier:
            raise InputError(f"row {line}: firm {fid} has two tiers ('{firm.tier}', '{tier}')", key="tier", **where)
        firm.tranches.append((online, capacity))
        cohort = (row.get("feedstock_cohort") or "").strip()
        if owns and cohort and segment == "lithium_salt":
            # a rival's integrated plant: its group's mine supplies it all; a domestic mine transfers at cost, a
            # foreign one (Talison to Albemarle) at last month's market price
            domestic = cohort.startswith("china_") or cohort == "other_spodumene"
            part = FeedstockPart("own_mine", cohort, 1.0, not domestic, 0 if domestic else 1, 0.0)
            firm.feedstock = (FeedstockPeriod(-1, None, (part,)),)
    return firms


def load_feedstock(path: Path, firms: dict[str, RegisteredFirm]) -> dict[str, tuple[FeedstockPeriod, ...]]:
    """What feeds each registered salt plant, by period; an absent file means every plant buys at the market.

    Rows with the same ``firm_id`` and ``from`` form one period; their shares must add up to one.
    """
    if not path.is_file():
        return {}
    grouped: dict[tuple[str, int], list[FeedstockPart]] = {}
    ends: dict[tuple[str, int], int | None] = {}
    for line, row in enumerate(_rows(path), start=2):
        where = {"file": str(path)}
        fid = (row.get("firm_id") or "").strip()
        if fid not in firms or firms[fid].segment != "lithium_salt":
            raise InputError(f"row {line}: '{fid}' is not a salt plant of the registry", key="firm_id", **where)
        source = (row.get("feedstock_source") or "").strip()
        if source not in FEEDSTOCK_SOURCES:
            raise InputError(
                f"row {line}: feedstock_source must be one of {', '.join(FEEDSTOCK_SOURCES)}",
                key="feedstock_source",
                **where,
            )
        pricing = (row.get("transfer_pricing") or "").strip()
        if pricing not in ("market_linked", "cost"):
            raise InputError(
                f"row {line}: transfer_pricing must be market_linked or cost", key="transfer_pricing", **where
            )
        cohort = (row.get("feedstock_cohort") or "").strip()
        if source == "own_mine" and not cohort:
            raise InputError(f"row {line}: an own mine needs its feedstock_cohort", key="feedstock_cohort", **where)
        try:
            start = month_index(row["from"])
            end = month_index(row["until"]) if (row.get("until") or "").strip() else None
        except (KeyError, ValueError):
            raise InputError(f"row {line}: from and until must be 'YYYY-MM'", key="from", **where) from None
        key = (fid, start)
        grouped.setdefault(key, []).append(
            FeedstockPart(
                source=source,
                cohort=cohort,
                share=_number(row, "share", line, path, 0.0, 1.0),
                market_linked=pricing == "market_linked",
                lag_months=int(_number(row, "lag_months", line, path, 0, 24))
                if (row.get("lag_months") or "").strip()
                else 0,
                discount=_number(row, "discount", line, path, 0.0, 0.5) if (row.get("discount") or "").strip() else 0.0,
            )
        )
        ends[key] = end
    out: dict[str, list[FeedstockPeriod]] = {}
    for (fid, start), parts in sorted(grouped.items(), key=lambda kv: kv[0]):
        total = sum(part.share for part in parts)
        if abs(total - 1.0) > 0.01:
            raise InputError(
                f"the shares of {fid}'s feedstock from {start} add up to {total:.2f}, not 1",
                file=str(path),
                key="share",
            )
        out.setdefault(fid, []).append(FeedstockPeriod(start, ends[(fid, start)], tuple(parts)))
    return {fid: tuple(periods) for fid, periods in out.items()}


def load_national(path: str | Path | None = None) -> dict[str, dict[int, float]]:
    """National series: ``{key: {year: value}}``."""
    path = Path(path) if path else DATA_DIR / "national.csv"
    out: dict[str, dict[int, float]] = {}
    for line, row in enumerate(_rows(path), start=2):
        try:
            out.setdefault(row["key"], {})[int(row["year"])] = float(row["value"])
        except (KeyError, ValueError):
            raise InputError(f"row {line}: year and value must be numbers", file=str(path), key="value") from None
    return out


def load_supply(directory: str | Path | None = None) -> SupplyData:
    """World lithium supply: ``supply_cohorts.csv``, ``supply_capacity.csv``, ``supply_projects.csv`` and, when
    present, cash costs by year (``supply_costs.csv``)."""
    directory = Path(directory) if directory else DATA_DIR
    path = directory / "supply_cohorts.csv"
    cohorts = []
    for line, row in enumerate(_rows(path), start=2):
        low = _number(row, "cost_low", line, path, 0.0, 2e6)
        high = _number(row, "cost_high", line, path, low, 2e6)
        cohorts.append(
            Cohort(
                row["cohort"],
                row["name"],
                row["resource"],
                row["region"],
                low,
                high,
                _number(row, "price_linked_share", line, path, 0.0, 0.9),
            )
        )
    known = {c.cohort for c in cohorts}
    path = directory / "supply_capacity.csv"
    capacity: dict[str, dict[int, float]] = {c: {} for c in known}
    for line, row in enumerate(_rows(path), start=2):
        if row.get("cohort") not in known:
            raise InputError(f"row {line}: unknown cohort '{row.get('cohort')}'", file=str(path), key="cohort")
        capacity[row["cohort"]][int(_number(row, "year", line, path, 2000, 2100))] = _number(
            row, "capacity", line, path
        )
    missing = [c for c, years in capacity.items() if not years]
    if missing:
        raise InputError(f"no capacity rows for cohorts {', '.join(missing)}", file=str(path), key="cohort")
    path = directory / "supply_projects.csv"
    projects = []
    for line, row in enumerate(_rows(path), start=2):
        if row.get("cohort") not in known:
            raise InputError(f"row {line}: unknown cohort '{row.get('cohort')}'", file=str(path), key="cohort")
        try:
            online = month_index(row["online"])
        except (KeyError, ValueError):
            raise InputError(f"row {line}: online must be 'YYYY-MM'", file=str(path), key="online") from None
        projects.append(
            SupplyProject(
                row["project"],
                row["cohort"],
                _number(row, "capacity", line, path),
                online,
                _number(row, "probability", line, path, 0.0, 1.0),
            )
        )
    costs: dict[str, dict[int, tuple[float, float]]] = {}
    path = directory / "supply_costs.csv"
    if path.is_file():
        for line, row in enumerate(_rows(path), start=2):
            if row.get("cohort") not in known:
                raise InputError(f"row {line}: unknown cohort '{row.get('cohort')}'", file=str(path), key="cohort")
            low = _number(row, "cost_low", line, path, 0.0, 2e6)
            high = _number(row, "cost_high", line, path, low, 2e6)
            costs.setdefault(row["cohort"], {})[int(_number(row, "year", line, path, 2000, 2100))] = (low, high)
    return SupplyData(tuple(cohorts), capacity, tuple(projects), costs)


@dataclass(frozen=True)
class Tier:
    """A tier of a stage's rest-of-China firms (``tiers.csv``): its shares and relative processing cost."""

    stage: str
    tier: str
    capacity_share: float
    firm_share: float
    cost_factor: float


def load_tiers(path: str | Path | None = None) -> dict[str, list[Tier]]:
    """Tiers by stage; the capacity and firm shares of a stage's tiers each sum to one."""
    path = Path(path) if path else DATA_DIR / "tiers.csv"
    out: dict[str, list[Tier]] = {}
    for line, row in enumerate(_rows(path), start=2):
        out.setdefault(row["stage"], []).append(
            Tier(
                row["stage"],
                row["tier"],
                _number(row, "capacity_share", line, path, 0.0, 1.0),
                _number(row, "firm_share", line, path, 0.0, 1.0),
                _number(row, "cost_factor", line, path, 0.1, 5.0),
            )
        )
    for stage, tiers in out.items():
        for name in ("capacity_share", "firm_share"):
            total = sum(getattr(t, name) for t in tiers)
            if abs(total - 1.0) > 1e-6:
                raise InputError(f"the {name} of {stage}'s tiers sum to {total:g}, not 1", file=str(path), key=name)
    return out


def load_city(path: str | Path | None = None) -> dict[str, dict[int, float]]:
    """Suining's economy: GDP, growth, investment, revenue and the report's targets (``city.csv``)."""
    return load_national(path or DATA_DIR / "city.csv")


@dataclass(frozen=True)
class ModelData:
    """Everything a model reads from data files (loaded once per process, shared by replicates)."""

    registry: list[RegisteredFirm]
    national: dict[str, dict[int, float]]
    supply: SupplyData
    tiers: dict[str, list[Tier]] = field(default_factory=dict)
    city: dict[str, dict[int, float]] = field(default_factory=dict)
    clusters: ClusterData | None = None

    def __post_init__(self) -> None:
        if self.clusters is None:
            object.__setattr__(self, "clusters", default_clusters())
        for firm in self.registry:
            if firm.cluster not in self.clusters.keys:
                raise InputError(
                    f"plant {firm.firm_id}: cluster '{firm.cluster}' is not one of {', '.join(self.clusters.keys)}",
                    file=str(DATA_DIR / "cluster_plants.csv"),
                    key="cluster",
                )
            cohorts = {c.cohort for c in self.supply.cohorts}
            for period in firm.feedstock:
                for part in period.parts:
                    if part.cohort and part.cohort not in cohorts:
                        raise InputError(
                            f"plant {firm.firm_id}: feedstock_cohort '{part.cohort}' is not one of "
                            f"{', '.join(sorted(cohorts))} (supply_cohorts.csv)",
                            file=str(
                                DATA_DIR
                                / ("suining_feedstock.csv" if firm.cluster == "suining" else "cluster_plants.csv")
                            ),
                            key="feedstock_cohort",
                        )
            known = [t.tier for t in self.tiers.get(firm.segment, [])]
            if firm.tier and known and firm.tier not in known:
                raise InputError(
                    f"firm {firm.firm_id}: tier '{firm.tier}' is not one of {firm.segment}'s tiers in tiers.csv "
                    f"({', '.join(known)}); leave it empty for the stage's middle",
                    file=str(DATA_DIR / "suining_firms.csv"),
                    key="tier",
                )

    def tier_cost_factor(self, firm: RegisteredFirm) -> float:
        """The processing-cost factor of the tier a Suining plant's group belongs to (1 when none is given)."""
        for t in self.tiers.get(firm.segment, []):
            if t.tier == firm.tier:
                return t.cost_factor
        return 1.0


_CACHE: dict[str, ModelData] = {}


def default_data() -> ModelData:
    """The project's data files, loaded once per process."""
    if "default" not in _CACHE:
        _CACHE["default"] = ModelData(
            load_registry(), load_national(), load_supply(), load_tiers(), load_city(), default_clusters()
        )
    return _CACHE["default"]
