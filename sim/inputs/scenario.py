"""Scenario files: TOML data (never executed), validated against a schema, with ``extends`` inheritance.

A scenario says what the planner controls or assumes: the run's span, seed and replicates, the lithium
carbonate price path, national demand, policy levers and parameter overrides. ``load_scenario`` returns a
frozen `Scenario` or raises `InputError` naming the file, the dotted key and what is allowed.

Months are ``"YYYY-MM"`` strings. Runs start in January 2022 (the firm registry and the base year of the
constant-price accounts are anchored there).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.inputs import files
from sim.inputs.chain import DEFAULT_CHAIN
from sim.inputs.clusters import cluster_keys
from sim.inputs.declare import Param
from sim.inputs.errors import InputError, did_you_mean
from sim.inputs.files import Roots, TextFile, library_dirs
from sim.inputs.levers import LEVERS, PROJECT_FIELDS, Policy, parse_policy
from sim.inputs.params import ModelParams, build_params, read_param_file
from sim.inputs.units import MAX_END_YEAR, MODEL_START

MAX_REPLICATES = 100_000
MAX_EXTENDS = 50  # files in one 'extends' chain, the scenario itself included
MAX_NAME = 100  # characters of a scenario name (it names the results directory)
_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits only, nothing before or after


def month_index(text: str) -> int:
    """Months since January 2022 for a ``YYYY-MM`` string (raises ValueError if malformed)."""
    m = _MONTH_RE.fullmatch(text) if isinstance(text, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(text)
    return (int(m.group(1)) - MODEL_START[0]) * 12 + int(m.group(2)) - MODEL_START[1]


def month_label(index: int) -> str:
    year, month = divmod(index + MODEL_START[1] - 1, 12)
    return f"{MODEL_START[0] + year:04d}-{month + 1:02d}"


# ---------------------------------------------------------------------------------------------------------
# schema: each leaf is (kind, low, high, help); tables are dicts; "*" matches any key (years, months, names)
# ---------------------------------------------------------------------------------------------------------
NUM = "number"
INT = "integer"
STR = "string"
MONTH = "month"
YEAR_KEY = "year"  # a table keyed by year, values numbers in range


@dataclass(frozen=True)
class Leaf:
    kind: str
    low: float = -math.inf
    high: float = math.inf
    help: str = ""
    choices: tuple[str, ...] = ()

    @classmethod
    def of(cls, decl: Param) -> Leaf:
        """The rule for a declared number."""
        return cls(INT if decl.integer else NUM, decl.low, decl.high, f"{decl.unit}: {decl.reason}")


@dataclass(frozen=True)
class YearTable:
    """A table keyed by calendar years, e.g. ``{ 2022 = 750, 2023 = 940 }``."""

    low: float
    high: float
    help: str


@dataclass(frozen=True)
class MonthTable:
    """A table keyed by ``YYYY-MM`` months, in increasing order."""

    low: float
    high: float
    help: str


@dataclass(frozen=True)
class TableList:
    """An array of tables (``[[policy.projects]]``), each checked against ``spec``; ``required`` keys must appear."""

    spec: dict[str, Any]
    required: tuple[str, ...] = ()


BOOL = "boolean"


def _series(unit: str, low: float, high: float, growth: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "unit": Leaf(STR, help=f"informative; must be '{unit}'", choices=(unit,)),
        "levels": YearTable(low, high, f"{unit} by year"),
    }
    if growth:
        spec["growth"] = YearTable(-0.9, 2.0, "growth per year (fraction) from that year on")
    return spec


def _lever_schema() -> dict[str, Any]:
    """The ``[policy]`` tables, generated from the lever declarations (`sim.inputs.levers.LEVERS`)."""
    out: dict[str, Any] = {}
    for lever in LEVERS:
        spec: dict[str, Any] = {p.name: Leaf.of(p) for p in lever.fields}
        spec.update({p.name: YearTable(p.low, p.high, f"{p.unit} by year: {p.reason}") for p in lever.yearly})
        spec["from"] = Leaf(MONTH, help="first month the lever acts")
        out[lever.name] = spec
    out["projects"] = TableList(
        {
            "name": Leaf(STR, help="project name (unique in the scenario)"),
            "segment": Leaf(STR, help="stage of the plant", choices=tuple(s.key for s in DEFAULT_CHAIN.firm_stages)),
            **{p.name: Leaf.of(p) for p in PROJECT_FIELDS},
            "online": Leaf(MONTH, help="month the plant starts producing"),
            "owns_feedstock": Leaf(BOOL, help="lithium salt plants with their own mine"),
            "listed_parent": Leaf(BOOL, help="the plant belongs to a listed group that finances it through losses"),
        },
        required=("name", "segment", "capacity", "online"),
    )
    # each rival cluster's levers, as Suining's: [policy.<cluster>.<lever>] and [[policy.<cluster>.projects]]
    levers = dict(out)
    for key in rival_clusters():
        out[key] = dict(levers)
    return out


def rival_clusters() -> tuple[str, ...]:
    """The clusters whose levers a scenario may set beside Suining's (`sim.inputs.clusters`)."""
    return tuple(k for k in cluster_keys() if k != "suining")


EVENT_KINDS = ("suspension", "export_restriction", "restart", "hold_curtailment", "stockpile_release")

SCHEMA: dict[str, Any] = {
    "name": Leaf(STR, help="a short identifier (letters, digits, _ or -)"),
    "name_zh": Leaf(STR, help="the scenario's name in Chinese, for titles, legends and sheets"),
    "description": Leaf(STR),
    "description_zh": Leaf(STR, help="the description in Chinese"),
    "market_twin_reason": Leaf(
        STR, help="why a path-mode scenario of the library has no market-mode twin (<name>_market.toml)"
    ),
    "extends": Leaf(STR, help="path of a parent scenario, relative to this file"),
    "start": Leaf(MONTH, help="must be 2022-01 (runs start in the base year)"),
    "end": Leaf(MONTH, help=f"the last month, from 2023-12 to {MAX_END_YEAR}-12"),
    "seed": Leaf(INT, 0, 2**63 - 1, "master seed; replicate seeds are spawned from it"),
    "replicates": Leaf(INT, 1, MAX_REPLICATES, "number of Monte Carlo replicates"),
    "parameter_file": Leaf(STR, help="parameter file (TOML), relative to the project root or this file"),
    "carbonate_price": {
        "unit": Leaf(STR, help="must be 'yuan/t'", choices=("yuan/t",)),
        "mode": Leaf(
            STR,
            help="'path': the price follows the points below; 'market': it clears world supply, "
            "inventories and demand (the points are then unused after the first month)",
            choices=("path", "market"),
        ),
        "points": MonthTable(1000.0, 2_000_000.0, "battery-grade lithium carbonate spot price incl. 13% VAT, yuan/t"),
        "after": Leaf(STR, help="continuation after the last point", choices=("flat", "growth", "revert")),
        "growth_rate": Leaf(NUM, -0.5, 1.0, "per year, when after = 'growth'"),
        "revert_level": Leaf(NUM, 1000.0, 2_000_000.0, "yuan/t, when after = 'revert'"),
        "revert_half_life_months": Leaf(NUM, 0.5, 600.0, "months, when after = 'revert'"),
        "volatility": Leaf(NUM, 0.0, 0.5, "monthly log standard deviation of price shocks"),
        "persistence": Leaf(NUM, 0.0, 0.999, "AR(1) coefficient of the log price shock"),
        "shocks_from": Leaf(MONTH, help="first month with shocks (history before it is taken as known)"),
    },
    "demand": {
        "battery": _series("GWh/yr", 0.0, 1e6),
        "storage_share": _series("fraction", 0.0, 1.0, growth=False),
        "lfp_share": _series("fraction", 0.0, 1.0, growth=False),
        "non_lfp_lithium": _series("t LCE/yr", 0.0, 1e8),
        "rest_of_world_lithium": _series("t LCE/yr", 0.0, 1e8),
    },
    "market": {
        "project_probability": {
            "*": Leaf(
                NUM,
                0.0,
                1.0,
                "completion probability of the announced supply projects "
                "of this cohort or resource (key: a cohort id or a resource such as "
                "spodumene; overrides the data file's)",
            )
        },
        "events": TableList(
            {
                "kind": Leaf(STR, help="what happens to supply", choices=EVENT_KINDS),
                "name": Leaf(STR, help="a label for charts and reports"),
                "cohort": Leaf(STR, help="supply cohort it acts on (sim/inputs/data/supply_cohorts.csv)"),
                "capacity": Leaf(NUM, 0.0, 1e7, "t LCE/yr withheld (suspension)"),
                "share": Leaf(NUM, 0.0, 1.0, "share of the cohort's capacity withheld (export_restriction)"),
                "amount": Leaf(NUM, 0.0, 1e7, "t LCE released from stockpiles (stockpile_release)"),
                "from": Leaf(MONTH, help="first month"),
                "until": Leaf(MONTH, help="last month (default: the end of the run)"),
            },
            required=("kind", "from"),
        ),
    },
    "city": {
        "other_growth_real": Leaf(
            NUM,
            -0.2,
            0.3,
            "real growth per year of the city's economy outside lithium, after the last year of data (fraction)",
        ),
        "deflator": Leaf(NUM, -0.2, 0.3, "GDP deflator growth per year after the last year of data (fraction)"),
    },
    "policy": _lever_schema(),
    "parameters": {},  # checked against the parameter declarations (sim.inputs.params)
}


@dataclass(frozen=True)
class SupplyEvent:
    """A scenario event acting on world lithium supply (market mode)."""

    kind: str
    start: int  # month index
    until: int  # month index, inclusive
    cohort: str = ""
    capacity: float = 0.0  # t LCE/yr
    share: float = 0.0
    amount: float = 0.0  # t LCE
    name: str = ""


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. Series are resolved to monthly arrays by `monthly_demand` and `price_path`."""

    name: str
    description: str
    end_month: int
    seed: int
    replicates: int
    carbonate_points: tuple[tuple[int, float], ...]
    price_after: str
    price_growth_rate: float
    price_revert_level: float
    price_revert_half_life: float
    volatility: float
    persistence: float
    shocks_from: int
    battery_levels: dict[int, float]
    battery_growth: dict[int, float]
    lfp_share_levels: dict[int, float]
    non_lfp_levels: dict[int, float]
    non_lfp_growth: dict[int, float]
    price_mode: str = "path"
    storage_share_levels: dict[int, float] = field(default_factory=lambda: {MODEL_START[0]: 0.0})
    rest_of_world_levels: dict[int, float] = field(default_factory=lambda: {MODEL_START[0]: 0.0})
    rest_of_world_growth: dict[int, float] = field(default_factory=dict)
    supply_events: tuple[SupplyEvent, ...] = ()
    # the city's economy outside lithium after the last year of data (see [city]); defaults: the 2024 target of
    # about 7% less lithium's part, and a deflator near 2023-24's (China's GDP deflator was about -0.5% to -1%)
    city_other_growth: float = 0.06
    city_deflator: float = 0.0
    project_probability: dict[str, float] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy)
    params: Any = field(default_factory=ModelParams)
    parameter_file: str | None = None
    parameter_file_sha256: str | None = None
    source: str | None = None
    source_sha256: str | None = None
    lineage: tuple[tuple[str, str], ...] = ()  # (file, sha256) of the scenario and every file it extends
    # the name and description in Chinese ("" when the file gives none: readers then see the English); words for
    # readers, not inputs, so they stay out of the scenario's repr, its fingerprint and the run key
    name_zh: str = field(default="", repr=False, compare=False)
    description_zh: str = field(default="", repr=False, compare=False)

    @property
    def n_months(self) -> int:
        return self.end_month + 1

    def label(self, lang: str = "en") -> str:
        """The name a reader sees: the Chinese name in Chinese where there is one, else ``name``."""
        return self.name_zh if lang == "zh" and self.name_zh else self.name

    def about(self, lang: str = "en") -> str:
        """The description in ``lang`` (the English one where no Chinese one is given)."""
        return self.description_zh if lang == "zh" and self.description_zh else self.description

    @property
    def years(self) -> list[int]:
        return list(range(MODEL_START[0], MODEL_START[0] + self.n_months // 12 + (self.n_months % 12 > 0)))

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with fields replaced (for the Python API: seeds, replicates, parameters).

        A new ``name`` without a new ``name_zh`` drops the Chinese name (it named the old scenario), and so does
        a new ``description`` for ``description_zh``.
        """
        for field_name in ("name", "description"):
            if field_name in changes and changes[field_name] != getattr(self, field_name):
                changes.setdefault(f"{field_name}_zh", "")
        return dataclasses.replace(self, **changes)

    # -- monthly inputs -----------------------------------------------------------------------------------
    def price_path(self) -> np.ndarray:
        """Carbonate price path without shocks, yuan/t incl. VAT, one value per month."""
        months = np.arange(self.n_months, dtype=float)
        xs = np.array([m for m, _ in self.carbonate_points], dtype=float)
        ys = np.array([p for _, p in self.carbonate_points], dtype=float)
        path = np.interp(months, xs, ys)
        tail = months > xs[-1]
        dt = months[tail] - xs[-1]
        last = ys[-1]
        if self.price_after == "growth":
            path[tail] = last * (1.0 + self.price_growth_rate) ** (dt / 12.0)
        elif self.price_after == "revert":
            decay = 0.5 ** (dt / self.price_revert_half_life)
            path[tail] = self.price_revert_level + (last - self.price_revert_level) * decay
        return path

    def annual_series(self, levels: dict[int, float], growth: dict[int, float], interpolate: bool) -> np.ndarray:
        """Annual values for every run year: given levels; between them interpolated (``interpolate``) or
        grown; after the last level grown at the latest rate given for a year up to it (0 if none)."""
        years = self.years
        out = np.empty(len(years))
        known = sorted(levels)
        for i, year in enumerate(years):
            if year in levels:
                out[i] = levels[year]
            elif year < known[0]:
                out[i] = levels[known[0]]
            elif interpolate and year < known[-1]:
                out[i] = np.interp(year, known, [levels[k] for k in known])
            else:
                rates = [g for y, g in sorted(growth.items()) if y <= year]
                out[i] = out[i - 1] * (1.0 + (rates[-1] if rates else 0.0))
        return out

    def monthly_demand(self) -> dict[str, np.ndarray]:
        """Demand drivers per month (`sim.inputs.chain.DEMAND_DRIVERS`), before any price response: each annual
        series spread over its months smoothly, keeping every year's mean (`smooth_monthly`)."""
        battery = self.annual_series(self.battery_levels, self.battery_growth, interpolate=False)
        share = self.annual_series(self.lfp_share_levels, {}, interpolate=True)
        storage = self.annual_series(self.storage_share_levels, {}, interpolate=True)
        non_lfp = self.annual_series(self.non_lfp_levels, self.non_lfp_growth, interpolate=False)
        rest = self.annual_series(self.rest_of_world_levels, self.rest_of_world_growth, interpolate=False)
        return {
            "battery_gwh": smooth_monthly(battery) / 12.0,
            "lfp_share": smooth_monthly(share),
            "storage_share": smooth_monthly(storage),
            "non_lfp_lce": smooth_monthly(non_lfp) / 12.0,
            "rest_of_world_lce": smooth_monthly(rest) / 12.0,
        }


def smooth_monthly(annual: np.ndarray, rounds: int = 30) -> np.ndarray:
    """Twelve monthly values per year whose mean is each year's value, joined without steps at new year.

    A piecewise-linear curve through one node per year at mid-year (months 5.5, 17.5, ...), flat before the
    first and after the last; the nodes are corrected until each year's monthly mean equals its value (a
    contraction: a year's mean moves with its own node about 3x as much as with a neighbour's), and the small
    remainder is scaled away. A year-on-year change in demand then arrives month by month, not every January.
    """
    annual = np.asarray(annual, dtype=float)
    months = np.arange(12 * len(annual), dtype=float)
    mid = 12.0 * np.arange(len(annual)) + 5.5
    nodes = annual.copy()
    for _ in range(rounds):
        curve = np.interp(months, mid, nodes)
        nodes = nodes + annual - curve.reshape(-1, 12).mean(axis=1)
    curve = np.interp(months, mid, nodes).reshape(-1, 12)
    means = curve.mean(axis=1, keepdims=True)
    scale = np.divide(annual[:, None], means, out=np.ones_like(means), where=means != 0)
    return (curve * scale).ravel()


# ---------------------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------------------
def _read_chain(
    first: TextFile,
    data: dict[str, Any],
    roots: Roots,
    seen: list[TextFile] | None = None,
    label: str | None = None,
    replaced: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Follow ``extends`` from a checked scenario (``first``, parsed as ``data``) and merge the chain.

    The chain is walked in a loop, at most `MAX_EXTENDS` files long; each parent is resolved relative to
    the file that names it, within ``roots``, and checked before its own parent is read. ``label`` names
    the first file in messages (default: its path); ``replaced`` collects the tables a child replaced whole.
    """
    chain: list[tuple[TextFile, dict[str, Any]]] = [(first, data)]
    replaced = replaced if replaced is not None else {}
    while "extends" in chain[-1][1]:
        child, child_data = chain[-1]
        name = label if label is not None and len(chain) == 1 else str(child.path)
        where = {"file": name, "key": "extends"}
        if len(chain) >= MAX_EXTENDS:
            raise InputError(f"'extends' chains may be at most {MAX_EXTENDS} files long; this one is longer", **where)
        path = files.resolve(child_data["extends"], base=child.path.parent, roots=roots, what="scenario file", **where)
        if any(path == f.path for f, _ in chain):
            cycle = " -> ".join(p.name for p in [*(f.path for f, _ in chain), path])
            raise InputError(f"'extends' forms a cycle: {cycle}", **where)
        parent_data, parent = files.read_toml(path, what="scenario file")
        _check_keys(parent_data, SCHEMA, str(path), "", extended=True)
        chain.append((parent, parent_data))
    if seen is not None:
        seen.extend(f for f, _ in chain)
    _check_inert(chain, label)
    merged = chain[-1][1]
    for i in range(len(chain) - 2, -1, -1):
        file, layer = chain[i]
        name = label if label is not None and i == 0 else str(file.path)
        merged = _merge(merged, _follow_names(layer), replaced=replaced, file=name)
    merged.pop("extends", None)
    return merged


def _follow_names(layer: dict[str, Any]) -> dict[str, Any]:
    """A layer that renames (or redescribes) the scenario drops the parent's Chinese name (or description):
    ``name_zh`` named the parent. An empty value stands for "none" and is removed after merging."""
    out = dict(layer)
    for key in ("name", "description"):
        if key in out:
            out.setdefault(f"{key}_zh", "")
    return out


def _merge(
    base: dict[str, Any],
    child: dict[str, Any],
    prefix: str = "",
    replaced: dict[str, str] | None = None,
    file: str = "",
) -> dict[str, Any]:
    """Child overrides parent; tables merge key by key, except year/month tables and lists, which replace
    (`_REPLACE_WHOLE`; ``replaced`` records the dotted keys a child replaced, with the child's file)."""
    out = dict(base)
    for key, value in child.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in _REPLACE_WHOLE:
            out[key] = _merge(out[key], value, f"{dotted}.", replaced, file)
        else:
            if key in _REPLACE_WHOLE and key in out and replaced is not None:
                replaced[dotted] = file
            out[key] = value
    return out


# tables whose entries describe one path: a child's table replaces the parent's rather than merging into it
# (README, "Scenarios"): a [carbonate_price.points] table under `extends` is the child's whole price path
_REPLACE_WHOLE = {"points", "levels", "growth", "projects"}

# keys that do nothing in a price mode: an error in a file that extends another and writes them (there it can
# only be a mistake: the file changes nothing by it; its parents' keys were meant for their own mode, and a
# complete file, as the workbench writes one, may carry the whole price block). In market mode the price clears
# the world market after January 2022 (docs/model.md), so the path's continuation and its shocks are unused. The
# world market runs in both modes (one world: in path mode its events and projects move supply, stocks and the
# supply gap at the pinned price), so [market] tables act in both.
INERT = {
    "market": {
        "carbonate_price": ("after", "growth_rate", "revert_level", "revert_half_life_months", "volatility",
                            "persistence", "shocks_from"),
    },
}  # fmt: skip


def _check_inert(chain: list[tuple[TextFile, dict[str, Any]]], label: str | None) -> None:
    """Refuse a key a file writes that does nothing in the price mode the scenario runs in at that file."""
    for i, (file, layer) in enumerate(chain):
        if "extends" not in layer:
            continue
        mode = next(
            (d["carbonate_price"]["mode"] for _, d in chain[i:] if "mode" in d.get("carbonate_price", {})), "path"
        )
        for table, keys in INERT.get(mode, {}).items():
            for key in keys:
                if isinstance(layer.get(table), dict) and key in layer[table]:
                    other = "path" if mode == "market" else "market"
                    raise InputError(
                        f"does nothing in {mode} mode (it acts only in {other} mode); remove it, or set "
                        f'carbonate_price.mode = "{other}"',
                        file=label if label is not None and i == 0 else str(file.path),
                        key=f"{table}.{key}",
                    )


def _check_keys(data: dict[str, Any], spec: dict[str, Any], file: str, prefix: str, extended: bool = False) -> None:
    """Reject unknown keys and wrong types, recursively (ranges are checked after merging).

    A file reached through ``extends`` (``extended``) whose top-level keys are none of a scenario's is not
    described key by key: it is not a scenario, and its content stays out of the message.
    """
    if extended and data and not set(data) & set(SCHEMA):
        raise InputError("is not a scenario file (none of its top-level keys is a scenario key)", file=file)
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if prefix == "" and key == "parameters":
            if not isinstance(value, dict):
                raise InputError("must be a table", file=file, key=dotted)
            continue
        rule = spec.get(key, spec.get("*"))
        if rule is None:
            known = sorted(k for k in spec if k != "*")
            raise InputError(
                f"unknown key '{key}';{did_you_mean(key, known)} allowed here: {', '.join(known) or '(none)'}",
                file=file,
                key=dotted,
            )
        if isinstance(rule, dict):
            if not isinstance(value, dict):
                raise InputError("must be a table", file=file, key=dotted)
            _check_keys(value, rule, file, dotted + ".")
        elif isinstance(rule, YearTable | MonthTable):
            _check_table(value, rule, file, dotted)
        elif isinstance(rule, TableList):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise InputError("must be an array of tables ([[...]] entries)", file=file, key=dotted)
            for i, item in enumerate(value):
                for req in rule.required:
                    if req not in item:
                        raise InputError("is required in every entry", file=file, key=f"{dotted}[{i}].{req}")
                _check_keys(item, rule.spec, file, f"{dotted}[{i}].")
        else:
            _check_leaf(value, rule, file, dotted)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _check_leaf(value: Any, rule: Leaf, file: str, key: str) -> None:
    if rule.kind in (NUM, INT):
        if rule.kind == INT and (isinstance(value, bool) or not isinstance(value, int)):
            raise InputError(f"must be an integer in [{rule.low:g}, {rule.high:g}]", file=file, key=key)
        if not _is_number(value):
            raise InputError(f"must be a number in [{rule.low:g}, {rule.high:g}] ({rule.help})", file=file, key=key)
        if not rule.low <= value <= rule.high:
            raise InputError(
                f"{value!r} is out of range; allowed [{rule.low:g}, {rule.high:g}] ({rule.help})", file=file, key=key
            )
    elif rule.kind == STR:
        if not isinstance(value, str):
            raise InputError(f"must be a string ({rule.help})", file=file, key=key)
        if rule.choices and value not in rule.choices:
            raise InputError(f"'{value}' is not allowed; choose one of {', '.join(rule.choices)}", file=file, key=key)
    elif rule.kind == BOOL:
        if not isinstance(value, bool):
            raise InputError("must be true or false", file=file, key=key)
    elif rule.kind == MONTH:
        if not isinstance(value, str):
            raise InputError("must be a month string 'YYYY-MM'", file=file, key=key)
        try:
            month_index(value)
        except ValueError:
            raise InputError(f"'{value}' is not a month; write 'YYYY-MM'", file=file, key=key) from None


def _check_table(value: Any, rule: YearTable | MonthTable, file: str, key: str) -> None:
    if not isinstance(value, dict) or not value:
        raise InputError(f"must be a non-empty table ({rule.help})", file=file, key=key)
    previous = None
    for k, v in value.items():
        sub = f"{key}.{k}"
        if isinstance(rule, YearTable):
            if not re.fullmatch(r"[0-9]{4}", k) or not MODEL_START[0] - 1 <= int(k) <= MAX_END_YEAR:
                raise InputError(f"'{k}' is not a year from 2021 to {MAX_END_YEAR}", file=file, key=sub)
            order = int(k)
        else:
            try:
                order = month_index(k)
            except ValueError:
                raise InputError(f"'{k}' is not a month; write \"YYYY-MM\"", file=file, key=sub) from None
        if previous is not None and order <= previous:
            raise InputError("keys must be in increasing order (months/years out of order)", file=file, key=sub)
        previous = order
        if not _is_number(v):
            raise InputError(f"must be a number ({rule.help})", file=file, key=sub)
        if not rule.low <= v <= rule.high:
            raise InputError(
                f"{v!r} is out of range; allowed [{rule.low:g}, {rule.high:g}] ({rule.help})", file=file, key=sub
            )


def _policy_months(table: dict[str, Any], prefix: str = "policy") -> list[tuple[str, str]]:
    """(dotted key, month) of every month a policy table names (a rival cluster's levers included)."""
    out = []
    for lever, sub in table.items():
        if isinstance(sub, dict) and lever in rival_clusters():
            out.extend(_policy_months(sub, f"{prefix}.{lever}"))
        elif isinstance(sub, dict) and "from" in sub:
            out.append((f"{prefix}.{lever}.from", sub["from"]))
        elif isinstance(sub, list):
            out.extend((f"{prefix}.{lever}[{i}].online", item["online"]) for i, item in enumerate(sub))
    return out


def _require(data: dict[str, Any], dotted: str, file: str, why: str = "") -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise InputError(f"is required{f' ({why})' if why else ''}", file=file, key=dotted)
        node = node[part]
    return node


def _years(table: dict[str, float]) -> dict[int, float]:
    return {int(k): float(v) for k, v in table.items()}


def project_root() -> Path:
    return files.project_root()


def default_parameter_file() -> Path:
    """The calibrated parameters when present, else the hand-set ones."""
    root = project_root() / "calibration"
    calibrated = root / "calibrated.toml"
    return calibrated if calibrated.is_file() else root / "parameters.toml"


def default_roots(scenario: str | Path | None, allow: Iterable[str | Path] = ()) -> Roots:
    """Where a scenario's ``extends`` and ``parameter_file`` may lead: the scenario's own directory tree,
    the project's scenario library and calibration files, and the directories in ``allow``."""
    own = [Path(os.path.realpath(scenario)).parent] if scenario is not None else []
    return Roots.of([*own, *library_dirs(), *allow])


def load_scenario(
    path: str | Path, parameter_file: str | Path | None = None, *, allow_paths: Iterable[str | Path] = ()
) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file.

    Args:
        path: the scenario TOML.
        parameter_file: overrides the scenario's ``parameter_file`` and the default
            (``calibration/calibrated.toml`` if present, else ``calibration/parameters.toml``).
        allow_paths: directories beyond the defaults (`default_roots`) that the files a scenario names,
            through ``extends`` and ``parameter_file``, may lie in.

    Raises:
        InputError: naming the file, the key and what is allowed.
    """
    top = files.resolve(path, what="scenario file")
    roots = default_roots(top, allow_paths)
    data, text = files.read_toml(top, what="scenario file")
    _check_keys(data, SCHEMA, str(top), "")
    chain: list[TextFile] = []
    replaced: dict[str, str] = {}
    merged = _read_chain(text, data, roots, chain, replaced=replaced)
    given = files.resolve(parameter_file, what="parameter file") if parameter_file is not None else None
    return _build(merged, str(top), text, chain, given, (project_root(), top.parent), roots, replaced=replaced)


# how scenario text (not a file) is parsed: `files.parse_toml`, or, where the text comes from a browser, a parser
# with a time and memory budget (`sim.app.budget.install`)
_parse_text: Callable[[str, str], dict[str, Any]] = files.parse_toml


def set_text_parser(parse: Callable[[str, str], dict[str, Any]] | None) -> None:
    """Parse scenario text with ``parse(text, name)`` (None: `sim.inputs.files.parse_toml` again)."""
    global _parse_text
    _parse_text = parse if parse is not None else files.parse_toml


def load_scenario_text(text: str, name: str = "<scenario text>", parameter_file: str | Path | None = None) -> Scenario:
    """Validate a scenario given as TOML text (e.g. uploaded to the workbench) rather than as a file.

    Such a scenario reads no file but the project's own: ``extends`` may name only scenarios of the library
    (``scenarios/``, relative paths taken from there) and ``parameter_file`` only the calibration's
    parameter files (``calibration/``).

    Args:
        text: the TOML text.
        name: how messages name the text (e.g. the uploaded file's name).
        parameter_file: a parameter file of ``calibration/`` overriding the scenario's and the default.

    Raises:
        InputError: naming ``name``, the key and what is allowed.
    """
    if not isinstance(text, str):
        raise InputError(f"scenario text must be a string, got {type(text).__name__}", file=name)
    if len(text) > files.MAX_FILE_BYTES:
        raise InputError(
            f"is larger than {files.MAX_FILE_BYTES // (1024 * 1024)} MB; a scenario is a few kB of text", file=name
        )
    text = text.removeprefix("\ufeff")
    scenarios, calibration = library_dirs()
    data = _parse_text(text, name)
    _check_keys(data, SCHEMA, name, "")
    source = TextFile(scenarios / "<text>", text, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    chain: list[TextFile] = []
    replaced: dict[str, str] = {}
    merged = _read_chain(source, data, Roots.of([scenarios]), chain, label=name, replaced=replaced)
    given = None
    if parameter_file is not None:
        given = files.resolve(
            parameter_file,
            base=project_root(),
            roots=Roots.of([calibration]),
            what="parameter file",
            file=name,
            key="parameter_file",
        )
    bases = (project_root(),)
    return _build(merged, name, source, chain, given, bases, Roots.of([calibration]), from_text=True, replaced=replaced)


def _build(
    data: dict[str, Any],
    file: str,
    source: TextFile,
    chain: list[TextFile],
    given_parameter_file: Path | None,
    parameter_bases: tuple[Path, ...],
    roots: Roots,
    from_text: bool = False,
    replaced: dict[str, str] | None = None,
) -> Scenario:
    """Validate the merged tables of a scenario and build it (ranges, months, the parameter file)."""
    name = _require(data, "name", file)
    if not re.fullmatch(rf"[A-Za-z0-9_\-]{{1,{MAX_NAME}}}", name):
        raise InputError(
            f"'{name}' is not allowed; use 1 to {MAX_NAME} letters, digits, '_' or '-'", file=file, key="name"
        )
    name_zh = data.get("name_zh", "")
    if name_zh and (not name_zh.isprintable() or not name_zh.strip() or len(name_zh) > MAX_NAME):
        raise InputError(
            f"must be 1 to {MAX_NAME} printable characters (it names the scenario in titles, legends and sheets)",
            file=file,
            key="name_zh",
        )
    start = month_index(_require(data, "start", file))
    if start != 0:
        raise InputError('runs start in the base year: start must be "2022-01"', file=file, key="start")
    end = month_index(_require(data, "end", file))
    if not 23 <= end <= (MAX_END_YEAR - MODEL_START[0]) * 12 + 11 or end % 12 != 11:
        raise InputError(f"end must be a December from 2023-12 to {MAX_END_YEAR}-12", file=file, key="end")

    cp = _require(data, "carbonate_price", file)
    points = [(month_index(k), float(v)) for k, v in _require(data, "carbonate_price.points", file).items()]
    if points[0][0] > 0:
        where = (replaced or {}).get("carbonate_price.points")
        why = (
            f"; {where} gives a [carbonate_price.points] table, and under 'extends' such a table replaces the "
            "parent's whole price path (points are not merged by date): repeat the parent's points from 2022-01 "
            "in it, as scenarios/price_rebound.toml does"
            if where
            else ""
        )
        raise InputError(
            f"the first price point must be at or before 2022-01, but the path starts at "
            f"{month_label(points[0][0])}{why}",
            file=where or file,
            key="carbonate_price.points",
        )
    if points[-1][0] > end:
        raise InputError(
            "price points must lie within the run (start to end)",
            file=file,
            key=f"carbonate_price.points.{month_label(points[-1][0])}",
        )
    after = cp.get("after", "flat")
    if after == "growth" and "growth_rate" not in cp:
        raise InputError("after = 'growth' needs growth_rate", file=file, key="carbonate_price.growth_rate")
    if after == "revert":
        for k in ("revert_level", "revert_half_life_months"):
            if k not in cp:
                raise InputError(f"after = 'revert' needs {k}", file=file, key=f"carbonate_price.{k}")
    shocks_from = month_index(cp.get("shocks_from", month_label(points[-1][0] + 1)))

    demand = _require(data, "demand", file)
    for series in ("battery", "lfp_share", "non_lfp_lithium", *demand):  # every series given needs its levels
        _require(data, f"demand.{series}.levels", file, "a demand series gives its levels by year")
    for series, table in demand.items():
        if "levels" in table and int(next(iter(table["levels"]))) > MODEL_START[0]:
            raise InputError("levels must start at 2022 or earlier", file=file, key=f"demand.{series}.levels")
    mode = cp.get("mode", "path")
    if mode == "market" and "rest_of_world_lithium" not in demand:
        raise InputError(
            "the market mode needs the lithium demand served outside China's salt makers",
            file=file,
            key="demand.rest_of_world_lithium",
        )

    _months_in_run(data, end, file)
    policy_table = data.get("policy", {})
    # every pipeline project, Suining's and the rival clusters', has a name of its own: names identify plants
    named = [(f"policy.projects[{i}].name", p["name"]) for i, p in enumerate(policy_table.get("projects", []))]
    for key in rival_clusters():
        sub = policy_table.get(key, {})
        named += [(f"policy.{key}.projects[{i}].name", p["name"]) for i, p in enumerate(sub.get("projects", []))]
    seen: set[str] = set()
    for dotted, project in named:
        if not project.strip() or not project.isprintable():
            raise InputError("a project needs a name: printable text, not empty", file=file, key=dotted)
        if project in seen:
            raise InputError(f"project name '{project}' is used twice; names identify plants", file=file, key=dotted)
        seen.add(project)
    policy = parse_policy(policy_table, month_index, rival_clusters())
    events = _supply_events(data, end, file)

    pfile = given_parameter_file
    if pfile is None and "parameter_file" in data:
        pfile = _parameter_file(data["parameter_file"], parameter_bases, roots, file)
    if pfile is None and given_parameter_file is None:
        default = default_parameter_file()
        pfile = default if default.is_file() else None
    if pfile is not None:
        params, _, ptext = read_param_file(pfile)
        pfile_str, pfile_hash = str(pfile), ptext.sha256
    else:
        params, pfile_str, pfile_hash = ModelParams(), None, None
    params = build_params(data.get("parameters", {}), f"{file} [parameters]", base=params)

    def levels(series: str, default: float = 0.0) -> dict[int, float]:
        return _years(demand[series]["levels"]) if series in demand else {MODEL_START[0]: default}

    def growth(series: str) -> dict[int, float]:
        return _years(demand[series].get("growth", {})) if series in demand else {}

    return Scenario(
        name=name,
        description=data.get("description", ""),
        end_month=end,
        seed=int(data.get("seed", 0)),
        replicates=int(data.get("replicates", 1)),
        carbonate_points=tuple(points),
        price_after=after,
        price_growth_rate=float(cp.get("growth_rate", 0.0)),
        price_revert_level=float(cp.get("revert_level", points[-1][1])),
        price_revert_half_life=float(cp.get("revert_half_life_months", 12.0)),
        volatility=float(cp.get("volatility", 0.0)),
        persistence=float(cp.get("persistence", 0.9)),
        shocks_from=shocks_from,
        battery_levels=levels("battery"),
        battery_growth=growth("battery"),
        lfp_share_levels=levels("lfp_share"),
        non_lfp_levels=levels("non_lfp_lithium"),
        non_lfp_growth=growth("non_lfp_lithium"),
        price_mode=mode,
        storage_share_levels=levels("storage_share"),
        rest_of_world_levels=levels("rest_of_world_lithium"),
        rest_of_world_growth=growth("rest_of_world_lithium"),
        supply_events=events,
        city_other_growth=float(data.get("city", {}).get("other_growth_real", 0.06)),
        city_deflator=float(data.get("city", {}).get("deflator", 0.0)),
        project_probability={k: float(v) for k, v in data.get("market", {}).get("project_probability", {}).items()},
        policy=policy,
        params=params,
        parameter_file=pfile_str,
        parameter_file_sha256=pfile_hash,
        source=None if from_text else file,
        source_sha256=source.sha256,
        lineage=tuple((file if from_text and f is source else str(f.path), f.sha256) for f in chain),
        name_zh=name_zh,
        description_zh=data.get("description_zh", ""),
    )


def _months_in_run(data: dict[str, Any], end: int, file: str) -> None:
    """Every month a policy or market table names lies within the run; a supply event may start after the run
    ends (it then does nothing) or last beyond it (a scenario cut short keeps its parent's events)."""
    found = _policy_months(data.get("policy", {}))
    for i, event in enumerate(data.get("market", {}).get("events", [])):
        found.extend((f"market.events[{i}].{k}", event[k]) for k in ("from",) if k in event)
    for dotted, month in found:
        low, high = 0, end if not dotted.startswith("market.") else 10**6
        if not low <= month_index(month) <= high:
            raise InputError(f"'{month}' is outside the run (2022-01 to {month_label(end)})", file=file, key=dotted)


def override_policy(scenario: Scenario, changes: dict[str, Any], source: str = "override()") -> Policy:
    """The scenario's policy with ``changes`` (lever -> {field: value}, as in a ``[policy]`` table; ``projects``
    a list of tables) merged in and checked exactly as a scenario file's would be: names, types, ranges and
    months come from the lever declarations."""
    if not isinstance(changes, dict):
        raise InputError("policy changes must be a table of lever -> fields", file=source, key="policy")
    table = scenario.policy.to_table(month_label)

    def keys_as_text(value: Any) -> Any:  # years may be given as ints in code, as they are keys in TOML
        return {str(k): keys_as_text(v) for k, v in value.items()} if isinstance(value, dict) else value

    for lever, fields in keys_as_text(changes).items():
        if isinstance(fields, dict) and isinstance(table.get(lever), dict):
            merged = dict(table[lever])
            merged.update(fields)
            table[lever] = merged
        else:
            table[lever] = fields
    _check_keys({"policy": table}, SCHEMA, source, "")
    _months_in_run({"policy": table}, scenario.end_month, source)
    return parse_policy(table, month_index, rival_clusters())


def _supply_events(data: dict[str, Any], end: int, file: str) -> tuple[SupplyEvent, ...]:
    events = []
    for i, e in enumerate(data.get("market", {}).get("events", [])):
        key = f"market.events[{i}]"
        needs = {
            "suspension": ("cohort", "capacity"),
            "export_restriction": ("cohort", "share"),
            "restart": ("cohort",),
            "hold_curtailment": ("cohort",),
            "stockpile_release": ("amount",),
        }
        for req in needs[e["kind"]]:
            if req not in e:
                raise InputError(f"a '{e['kind']}' event needs '{req}'", file=file, key=f"{key}.{req}")
        start = month_index(e["from"])
        until = month_index(e["until"]) if "until" in e else end
        if until < start:
            raise InputError("'until' comes before 'from'", file=file, key=f"{key}.until")
        events.append(
            SupplyEvent(
                kind=e["kind"],
                start=start,
                until=until,
                cohort=e.get("cohort", ""),
                capacity=float(e.get("capacity", 0.0)),
                share=float(e.get("share", 0.0)),
                amount=float(e.get("amount", 0.0)),
                name=e.get("name", e["kind"]),
            )
        )
    return tuple(events)


def _parameter_file(ref: Any, bases: tuple[Path, ...], roots: Roots, file: str) -> Path:
    """A scenario's ``parameter_file``: relative to the project root if it names a file there, else to the
    scenario's directory (the last of ``bases``); always within ``roots``."""
    for base in bases[:-1]:
        try:
            return files.resolve(ref, base=base, roots=roots, what="parameter file", file=file, key="parameter_file")
        except InputError:
            continue
    return files.resolve(ref, base=bases[-1], roots=roots, what="parameter file", file=file, key="parameter_file")
