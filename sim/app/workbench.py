"""The workbench's state and work apart from its page, so that they can be tested without a browser.

- **Controls** are generated from the declarations: every field of every policy lever (`sim.api.LEVERS`: label
  in English and Chinese, unit, range, default) and the lever's first year; the carbonate price's mode; the
  uncertain inputs of scenario discovery (`sim.discovery.explore`: the price level after the history, its
  volatility, demand growth, each pipeline project's completion probability); the run's last year. A new
  lever, lever field or uncertain input appears without code here.
- **A neighbour's levers**: for each rival city (`NEIGHBOURS`: the clusters of ``clusters.csv`` but Suining and the
  rest of China), the location levers of `NEIGHBOUR_FIELDS` (energy cost cut, capex subsidy, months off the build),
  bounded by the same declarations as Suining's, and the year they change from; a choice of which city the page
  shows. They become ``[policy.<cluster>.<lever>]`` tables, as a scenario file writes them, checked by the same
  code and booked to that city (docs/model.md, "Submodels: policy levers").
- **A view** is a starting scenario (from the library, or uploaded TOML), the controls' values that differ from
  it, the replicates and the language; `encode_query` / `decode_query` put it in the URL's query string, so a
  link reproduces the view.
- **Runs** are cached by the scenario's fingerprint (everything it holds), replicates and seed: the same inputs
  are never run twice. The baseline beside a scenario is the library's baseline *of the same price mode*
  (`BASELINES`: ``baseline`` for path mode, ``baseline_market`` for market mode) over the same years, so a
  market-mode scenario is never read against a path-mode baseline.
- **What a neighbour's bid takes away**: `new_capacity_shares` gives Suining's share of the nation's new LFP
  cathode and lithium salt capacity, pooled over 2025-2030 (`sim.outputs.cluster_charts.POOLED_YEARS`), in both runs.
- **Cost beside benefit**: `fiscal` puts the support the city pays beside the local revenue it gains and the
  net, from the summary's ``support`` and ``local_fiscal_revenue`` rows.
- **Downloads**: the run directories as a zip, the comparison workbook, the scenario as a TOML file.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import hashlib
import io
import math
import tempfile
import threading
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pandas as pd

from sim.api import (
    BASE_YEAR,
    LEVERS,
    InputError,
    Policy,
    RunResult,
    Scenario,
    compare,
    load_scenario,
    load_scenario_text,
    month_label,
    override,
    project_root,
)
from sim.api import run as run_scenario
from sim.app.words import explanation, lever_source
from sim.discovery.explore import HISTORY_END_YEAR, SCENARIO_INPUTS, UncertainInput, project_inputs
from sim.inputs import catalogue
from sim.inputs.clusters import HOME, REFERENCE, cluster_keys, default_clusters
from sim.inputs.data import load_city
from sim.inputs.levers import LEVER_BY_NAME
from sim.outputs.cluster_charts import COMPARED_STAGES, POOLED_YEARS, pooled_share, window

BASELINE = "baseline"
BASELINES = {"path": "baseline", "market": "baseline_market"}  # the library's baseline of each price mode
DEFAULT_SCENARIO = "policy_package"  # the first view: the work report's measures against the baseline
MAX_REPLICATES = 200  # the workbench's bound; the command line runs more
DEFAULT_REPLICATES = 20
MAX_QUERY = 64 * 1024  # characters of a query string the workbench reads (an uploaded scenario is a few kB)
MAX_CACHED_RUNS = 12
PRICE_MODES = ("path", "market")  # the scenario schema's carbonate_price.mode; override() checks them
PRICE_MODE_LABELS = {
    "path": {"en": "follows the scenario's path", "zh": "按情景价格路径"},
    "market": {"en": "clears world supply and demand", "zh": "由全球供需出清"},
}


# What the city can pay: a yearly support amount (a lever field in 亿元) is bounded by a share of the city's local
# general budget revenue (sim/inputs/data/city.csv, key "revenue": 110 亿元 in 2023, an assumption there). The
# 2023 relief and VAT refunds, city-wide and for every industry, were 9.03 + 3.51 亿元, about 11% of it (work
# report line 17); a fifth of the revenue for lithium alone is already a stretch.
SUPPORT_SHARE_OF_REVENUE = 0.2


def city_support_bound() -> tuple[float, int, float]:
    """(bound in 亿元 a year, the year of the revenue figure, the revenue): `SUPPORT_SHARE_OF_REVENUE` of the
    city's latest local general budget revenue in ``city.csv``."""
    revenue = load_city()["revenue"]
    year = max(revenue)
    return SUPPORT_SHARE_OF_REVENUE * revenue[year], year, revenue[year]


def library() -> list[str]:
    """The names of the library's scenario files (``scenarios/*.toml``)."""
    return sorted(p.stem for p in (project_root() / "scenarios").glob("*.toml"))


def library_choices(lang: str) -> dict[str, str]:
    """The library's scenarios as a reader picks them: the name shown in ``lang`` (a scenario's ``name_zh`` in
    Chinese) -> the file's name. Read from the files' own ``name_zh``; a name two files share gets its key."""
    names = library()
    shown = {name: library_label(name, lang) for name in names}
    counts = collections.Counter(shown.values())
    return {(label if counts[label] == 1 else f"{label} ({name})"): name for name, label in shown.items()}


def library_label(name: str, lang: str) -> str:
    """A library scenario's name as the page shows it in ``lang``."""
    return _name_zh(name) if lang == "zh" else name


def _name_zh(name: str) -> str:
    path = project_root() / "scenarios" / f"{name}.toml"
    stamp = path.stat().st_mtime_ns
    cached = _NAMES_ZH.get(name)
    if cached is None or cached[0] != stamp:
        with open(path, "rb") as handle:
            cached = (stamp, str(tomllib.load(handle).get("name_zh") or name))
        _NAMES_ZH[name] = cached
    return cached[1]


_NAMES_ZH: dict[str, tuple[int, str]] = {}


def load_library(name: str) -> Scenario:
    if name not in library():
        raise InputError(
            f"'{name}' is not a scenario of the library; choose one of {', '.join(library())}", key="scenario"
        )
    return load_scenario(project_root() / "scenarios" / f"{name}.toml")


def fingerprint(scenario: Scenario) -> str:
    """SHA-256 of everything the scenario holds (as a run's ``meta.json`` records it)."""
    return hashlib.sha256(repr(scenario).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# controls, generated from the declarations
# ---------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Control:
    """One input on the page.

    Attributes:
        key: its name in the URL and in a view's values (``energy_support.cost_cut``, ``price_level``, ...).
        group: the panel it sits in: "run", "price", "demand", "projects" or a lever's name.
        kind: "number", "choice" or "year".
        labels: by language; units: by language.
        low, high: the range a value must lie in; step: the input's step.
        integer: whole numbers only.
        choices: for "choice".
        reason: what it means and why its range, in English (`explain` gives it in the page's language).
        read: the starting scenario's value.
        source: where it comes from (a lever's line of the work report), in English.
        acts: whether it acts in a scenario (e.g. the price level only in path mode); when it does not, the page
            shows it disabled with ``idle`` (by language) as the reason.
        bound: by language, why its range is narrower than the declaration's ('' when it is not).
        reasons: by language, what it means, when the control words it itself (a neighbour's); else `explain`
            looks the key up (`sim.app.words.explanation`).
        cluster: the neighbour whose lever it is ('' for Suining's and the rest): the page shows a neighbour's
            controls when that neighbour is chosen.
    """

    key: str
    group: str
    kind: str
    labels: Mapping[str, str]
    units: Mapping[str, str]
    low: float
    high: float
    step: float
    integer: bool
    reason: str
    read: Callable[[Scenario], Any]
    choices: tuple[str, ...] = ()
    choice_labels: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    source: str = ""
    acts: Callable[[Scenario], bool] = lambda scenario: True
    idle: Mapping[str, str] = dataclasses.field(default_factory=dict)
    bound: Mapping[str, str] = dataclasses.field(default_factory=dict)
    reasons: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cluster: str = ""

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["en"]

    def explain(self, lang: str) -> str:
        """What the control means and why its range, in ``lang`` (`sim.app.words.explanation`)."""
        if lang in self.reasons:
            return self.reasons[lang]
        return explanation(self.key, self.reason, lang)

    def source_text(self, lang: str) -> str:
        return lever_source(self.group, self.source, lang) if self.source else ""

    def display(self, value: Any, lang: str = "en") -> str:
        """The value as the page shows it: a share in percent, thousands separated, never "90000.0"."""
        if self.kind == "choice":
            return self.choice_label(str(value), lang)
        if self.kind == "year":
            return str(int(value))
        if self.percent:
            return _trimmed(format_number(float(value) * 100)) + "%"
        return format_number(float(value), integer=self.integer)

    @property
    def percent(self) -> bool:
        """Whether the value is a share the page shows (and takes) in percent: 0.2 shows as 20%."""
        unit = self.units.get("en", "")
        return unit.startswith(("fraction", "%"))

    def choice_label(self, choice: str, lang: str) -> str:
        labels = self.choice_labels.get(choice, {})
        return labels.get(lang) or labels.get("en") or choice

    def unit(self, lang: str) -> str:
        """The unit in ``lang``; a share the page shows in percent says so ("% of energy cost")."""
        unit = self.units.get(lang) or self.units.get("en", "")
        if self.units.get("en", "").startswith("fraction"):
            return unit + "（%）" if lang == "zh" else "%" + unit.removeprefix("fraction")
        return unit

    def check(self, value: Any) -> Any:
        """The value as the control holds it, or `InputError` naming the key and what is allowed."""
        if self.kind == "choice":
            if value not in self.choices:
                raise InputError(f"'{value}' is not allowed; choose one of {', '.join(self.choices)}", key=self.key)
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number) or not self.low <= number <= self.high or (self.integer and number != int(number)):
            kind = "a whole number" if self.integer else "a number"
            raise InputError(
                f"must be {kind} from {self.low:g} to {self.high:g} {self.units.get('en', '')}".rstrip(), key=self.key
            )
        return int(number) if self.integer else number


def _trimmed(text: str) -> str:
    """'8.00' -> '8', '12.50' -> '12.5' (a control's value, not a column of figures)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_number(value: float | None, *, integer: bool = False, signed: bool = False) -> str:
    """A number for the page: three significant digits at most two decimals, thousands separated.

    >>> [format_number(v) for v in (90000.0, 269.43, 40.71, 5.983, 0.2, -0.00766, float("nan"))]
    ['90,000', '269', '40.7', '5.98', '0.20', '-0.01', '–']
    >>> format_number(0.204, signed=True), format_number(12345.6, integer=True)
    ('+0.20', '12,346')
    """
    if value is None or not math.isfinite(value):
        return "–"
    if integer or value == 0:
        decimals = 0
    else:
        decimals = max(0, min(2, 2 - math.floor(math.log10(abs(value)))))
    if round(value, decimals) == 0:
        value = 0.0
    return f"{value:{'+' if signed else ''},.{decimals}f}"


UNITS_ZH = {  # the levers' units in Chinese; a unit not here shows in English
    "fraction of credit": "占留抵税额比例",
    "亿元/yr": "亿元/年",
    "fraction of energy cost": "占能源成本比例",
    "fraction of capex": "占设备投资比例",
    "months": "月",
    "years": "年",
    "x stage average": "× 环节平均",
    "fraction of plant capex": "占厂房设备投资比例",
    "fraction of processing cost": "占加工成本比例",
    "fraction of upgrade cost": "占技改成本比例",
    "fraction of output": "占产量比例",
    "fraction of price": "占价格比例",
    "fraction of notional": "占合约金额比例",
    "1/yr": "每年",
    "fraction of the firms' saving": "占企业节省额比例",
    "亿元/yr per point of extra learning": "亿元/年（学习率每提高一个百分点）",
}


def unit_zh(unit: str) -> str:
    return UNITS_ZH.get(unit, unit)


def _step(low: float, high: float, integer: bool) -> float:
    """A slider's step: a round number giving 20 to 200 steps over the range."""
    if integer:
        return 1
    span = high - low
    return 10 ** math.floor(math.log10(span / 20)) if span > 0 else 0.01


def _control_unit(unit: str, lang: str) -> str:
    """A discovery unit as a control shows it: a leading "%" there means a fraction shown in percent, as the
    control shows it too."""
    if unit == "%":
        return "建成概率（%）" if lang == "zh" else "% chance"
    return unit


def _from_uncertain(decl: UncertainInput, group: str, scenario: Scenario) -> Control:
    current = decl.value_in(scenario)
    low, high = decl.low, decl.high
    if current is not None:  # a scenario outside the sampled range still shows its own value
        low, high = min(low, current), max(high, current)
    return Control(
        key=decl.name,
        group=group,
        kind="number",
        labels={"en": decl.label("en"), "zh": decl.label("zh")},
        units={"en": _control_unit(decl.unit_in("en"), "en"), "zh": _control_unit(decl.unit_in("zh"), "zh")},
        low=low,
        high=high,
        step=_step(low, high, decl.integer),
        integer=decl.integer,
        reason=decl.reason,
        read=lambda s, decl=decl: decl.value_in(s),
        acts=decl.applies,
        idle=IDLE_IN_MARKET_MODE,
    )


IDLE_IN_MARKET_MODE = {  # why a price-path control does nothing in market mode
    "en": "does nothing in market mode: the price clears world supply, stocks and demand (choose path mode to set it)",
    "zh": "市场模式下不起作用：价格由全球供给、库存与需求决定（选择“按情景价格路径”后可设置）",
}


def _lever_value(lever, decl, yearly: bool) -> Callable[[Scenario], float]:
    def read(scenario: Scenario) -> float:
        setting = scenario.policy.setting(lever.name)
        if yearly:
            values = setting.yearly.get(decl.name, {})
            later = [v for y, v in sorted(values.items()) if y > HISTORY_END_YEAR]
            earlier = [v for y, v in sorted(values.items())]
            return float(later[-1] if later else earlier[-1] if earlier else 0.0)
        value = setting.get(lever, decl.name)
        return int(value) if decl.integer else value

    return read


def _lever_start(name: str) -> Callable[[Scenario], int]:
    def read(scenario: Scenario) -> int:
        if name in scenario.policy.settings:
            return BASE_YEAR + scenario.policy.start(name) // 12
        return min(HISTORY_END_YEAR + 1, scenario.years[-1])

    return read


def controls(scenario: Scenario) -> list[Control]:
    """Every control of the page for a starting scenario, in page order (see the module docstring)."""
    years = scenario.years
    out = [
        Control(
            "end",
            "run",
            "year",
            {"en": "last year of the run", "zh": "模拟截止年份"},
            {"en": "", "zh": ""},
            BASE_YEAR + 1,
            years[-1],
            1,
            True,
            "a shorter run is quicker; the scenario's own end is the longest",
            lambda s: s.years[-1],
        ),
        Control(
            "price_mode",
            "price",
            "choice",
            {"en": "how the carbonate price is set", "zh": "碳酸锂价格形成方式"},
            {"en": "", "zh": ""},
            0,
            0,
            0,
            False,
            "path: the scenario's price path and its continuation; market: the price clears world supply, stocks "
            "and demand (the level and volatility below then do not act)",
            lambda s: s.price_mode,
            choices=PRICE_MODES,
            choice_labels=PRICE_MODE_LABELS,
        ),
    ]
    groups = {"price_level": "price", "price_volatility": "price", "demand_growth": "demand"}
    out += [_from_uncertain(decl, groups.get(decl.name, "demand"), scenario) for decl in SCENARIO_INPUTS]
    for lever in LEVERS:
        out.append(
            Control(
                f"{lever.name}.from",
                lever.name,
                "year",
                {"en": "from", "zh": "起始年份"},
                {"en": "", "zh": ""},
                BASE_YEAR,
                years[-1],
                1,
                True,
                "the first year (January) the lever acts",
                _lever_start(lever.name),
                source=lever.report,
            )
        )
        for decl in (*lever.fields, *lever.yearly):
            yearly = decl in lever.yearly
            unit = decl.unit + (" (each year from 'from')" if yearly else "")
            high, bound = decl.high, {}
            if "亿元" in decl.unit:  # money the city pays: bounded by what it can pay
                limit, year, revenue = city_support_bound()
                if limit < high:
                    high = limit
                    bound = {
                        "en": f"at most {format_number(limit)} 亿元 a year: {SUPPORT_SHARE_OF_REVENUE:.0%} of the "
                        f"city's local general budget revenue ({format_number(revenue)} 亿元 in {year}, city.csv); "
                        f"the declaration allows up to {decl.high:g}",
                        "zh": f"每年不超过 {format_number(limit)} 亿元：即全市一般公共预算收入（{year}年 "
                        f"{format_number(revenue)} 亿元，city.csv）的 {SUPPORT_SHARE_OF_REVENUE:.0%}；"
                        f"参数声明允许的上限为 {decl.high:g}",
                    }
            current = _lever_value(lever, decl, yearly)(scenario)
            high = max(high, current)  # a scenario beyond the bound still shows its own value
            out.append(
                Control(
                    key=f"{lever.name}.{decl.name}",
                    group=lever.name,
                    kind="number",
                    labels={"en": decl.label("en"), "zh": decl.label("zh")},
                    units={"en": unit, "zh": unit_zh(decl.unit) + ("（自起始年份起每年）" if yearly else "")},
                    low=decl.low,
                    high=high,
                    step=_step(decl.low, high, decl.integer),
                    integer=decl.integer,
                    reason=decl.reason,
                    read=_lever_value(lever, decl, yearly),
                    source=lever.report,
                    bound=bound,
                )
            )
    out += [_from_uncertain(decl, "projects", scenario) for decl in project_inputs(scenario)]
    out += neighbour_controls(scenario)
    return out


# ---------------------------------------------------------------------------------------------------------
# a neighbour's levers
# ---------------------------------------------------------------------------------------------------------
NEIGHBOUR = "neighbour"  # the choice of which neighbour's controls the page shows: the view's, not the scenario's
VIEW_ONLY = (NEIGHBOUR,)  # controls that change what the page shows, never the scenario
NEIGHBOURS_GROUP = "neighbours"
# the levers through which a city bids for a new plant (its location choice reads its energy cost, its capex and
# its build time: docs/model.md, "Submodels: investment, entry and exit"), as (lever, field) of `sim.api.LEVERS`
NEIGHBOUR_FIELDS = (
    ("energy_support", "cost_cut"),
    ("investment_support", "capex_subsidy"),
    ("investment_support", "lag_cut_months"),
)
NEIGHBOUR_REASONS = {  # what a neighbour's control means, by field and language ({city}: the city's name)
    "from": {
        "en": "the first year (January) {city}'s changed levers act; before it, the city's known policies hold",
        "zh": "{city}调整后的政策开始起作用的年份（1月起）；此前沿用该市现有政策",
    },
    "cost_cut": {
        "en": "fraction off the energy cost of plants in {city}, paid from its own budget; a new plant chooses "
        "where to go on expected unit cost, so a cheaper {city} draws plants from Suining. It starts at the "
        "scenario's value, else the city's known offer (cluster_policies.csv)",
        "zh": "{city}企业能源成本的降幅，由该市财政承担；新建工厂按预期单位成本选址，{city}成本越低，"
        "从遂宁吸引走的工厂越多。起始值为情景中的设定，未设定时为该市已知的现有政策",
    },
    "capex_subsidy": {
        "en": "share of the capex of plants in {city} paid by its government (Suining's 2019 policy pays 0.3%, "
        "Zigong up to 20%); it starts at the scenario's value, else the city's known offer (cluster_policies.csv)",
        "zh": "{city}政府承担的当地工厂设备投资比例（遂宁2019年政策为0.3%，自贡最高20%）；起始值为情景中的设定，"
        "未设定时为该市已知的现有政策",
    },
    "lag_cut_months": {
        "en": "months off the construction lag in {city} where serviced land and approvals are ready ('standard "
        "land'); it starts at the scenario's value, else the city's known offer (cluster_policies.csv)",
        "zh": "{city}“标准地”与审批就绪后建设周期缩短的月数；起始值为情景中的设定，未设定时为该市已知的现有政策",
    },
}
NEIGHBOUR_CHOICE_REASON = {
    "en": "which rival city's levers to set; changes made for one city are kept when another is chosen",
    "zh": "选择要设置政策的周边城市；切换城市时，已作的修改保留",
}


def neighbours() -> tuple[str, ...]:
    """The rival cities whose levers the workbench sets: the clusters but Suining and the rest of China (a
    residual, not a city with a budget; its incentives are the model's ``local_incentive_share``)."""
    return tuple(k for k in cluster_keys() if k not in (HOME, REFERENCE))


def _neighbour_lever(scenario: Scenario, cluster: str, lever: str) -> dict[str, float]:
    """The fields of a neighbour's lever in force at the end of the scenario: the scenario's
    ``[policy.<cluster>.<lever>]`` where it sets one (it replaces the city's known offer from its month), else the
    city's known offer (``cluster_policies.csv``, `ClusterData.standing_policies`), else none (the declaration's
    defaults: no policy)."""
    own = scenario.policy.clusters.get(cluster)
    if own is not None and lever in own.settings:
        return dict(own.settings[lever].values)
    known = default_clusters().standing_policies().get(cluster, {}).get(lever, {})
    return {name: float(value) for name, value in known.items() if name != "from"}


def _neighbour_value(cluster: str, lever: str, name: str) -> Callable[[Scenario], float]:
    decl = LEVER_BY_NAME[lever].field(name)

    def read(scenario: Scenario) -> float:
        value = _neighbour_lever(scenario, cluster, lever).get(name, decl.default)
        return int(value) if decl.integer else float(value)

    return read


def _neighbour_start(cluster: str) -> Callable[[Scenario], int]:
    """The first year of the scenario's levers for ``cluster`` (the earliest), else the first year after the
    history (a change to a city's offer reads as news from then on, as in the library's ``neighbours_bid``)."""

    def read(scenario: Scenario) -> int:
        own = scenario.policy.clusters.get(cluster)
        if own is not None and own.settings:
            return BASE_YEAR + min(max(s.start, 0) for s in own.settings.values()) // 12
        return min(HISTORY_END_YEAR + 1, scenario.years[-1])

    return read


def _first_neighbour(scenario: Scenario) -> str:
    """The first neighbour whose levers the scenario sets, else the first neighbour."""
    keys = neighbours()
    return next((k for k in keys if k in scenario.policy.clusters), keys[0])


def neighbour_controls(scenario: Scenario) -> list[Control]:
    """The choice of neighbour, then each neighbour's year and location levers (`NEIGHBOUR_FIELDS`), with the
    declarations' units and ranges; a value beyond the declaration's bound (a scenario's own) widens it, as for
    Suining's levers."""
    keys = neighbours()
    names = {key: {lang: catalogue.cluster(lang, key) for lang in ("en", "zh")} for key in keys}
    out = [
        Control(
            NEIGHBOUR,
            NEIGHBOURS_GROUP,
            "choice",
            {"en": "neighbouring city", "zh": "邻市"},
            {"en": "", "zh": ""},
            0,
            0,
            0,
            False,
            NEIGHBOUR_CHOICE_REASON["en"],
            _first_neighbour,
            choices=keys,
            choice_labels=names,
            reasons=NEIGHBOUR_CHOICE_REASON,
        )
    ]
    years = scenario.years
    for key in keys:
        name = names[key]
        out.append(
            Control(
                f"{key}.from",
                NEIGHBOURS_GROUP,
                "year",
                {"en": f"{name['en']}: from", "zh": f"{name['zh']}：起始年份"},
                {"en": "", "zh": ""},
                BASE_YEAR,
                years[-1],
                1,
                True,
                NEIGHBOUR_REASONS["from"]["en"].format(city=name["en"]),
                _neighbour_start(key),
                reasons={lang: text.format(city=name[lang]) for lang, text in NEIGHBOUR_REASONS["from"].items()},
                cluster=key,
            )
        )
        for lever, field_name in NEIGHBOUR_FIELDS:
            decl = LEVER_BY_NAME[lever].field(field_name)
            read = _neighbour_value(key, lever, field_name)
            high = max(decl.high, read(scenario))
            words = NEIGHBOUR_REASONS.get(field_name, {"en": decl.reason})
            out.append(
                Control(
                    key=f"{key}.{lever}.{field_name}",
                    group=NEIGHBOURS_GROUP,
                    kind="number",
                    labels={"en": f"{name['en']}: {decl.label('en')}", "zh": f"{name['zh']}：{decl.label('zh')}"},
                    units={"en": decl.unit, "zh": unit_zh(decl.unit)},
                    low=decl.low,
                    high=high,
                    step=_step(decl.low, high, decl.integer),
                    integer=decl.integer,
                    reason=words["en"].format(city=name["en"]),
                    read=read,
                    reasons={lang: text.format(city=name[lang]) for lang, text in words.items()},
                    cluster=key,
                )
            )
    return out


def _neighbour_policy(scenario: Scenario, changed: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``[policy.<cluster>]`` tables of the neighbours' changed controls: for each lever touched, the lever's
    fields in force (`_neighbour_lever`) with the changed ones, from January of the city's year (a lever the
    scenario already sets keeps its own month unless the year is changed)."""
    out: dict[str, dict[str, Any]] = {}
    for cluster in neighbours():
        touched = {k.split(".", 1)[1]: v for k, v in changed.items() if k.startswith(f"{cluster}.")}
        if not touched:
            continue
        own = scenario.policy.clusters.get(cluster)
        first = f"{int(touched.get('from', _neighbour_start(cluster)(scenario)))}-01"
        tables: dict[str, Any] = {}
        for lever in dict.fromkeys(lever for lever, _ in NEIGHBOUR_FIELDS):
            fields = {k.split(".", 1)[1]: v for k, v in touched.items() if k.startswith(f"{lever}.")}
            values = _neighbour_lever(scenario, cluster, lever)
            if not fields and not ("from" in touched and values):
                continue
            values.update(fields)
            declared = LEVER_BY_NAME[lever]
            table: dict[str, Any] = {
                name: int(v) if declared.field(name).integer else float(v) for name, v in values.items()
            }
            keeps_month = "from" not in touched and own is not None and lever in own.settings
            table["from"] = month_label(max(own.start(lever), 0)) if keeps_month else first
            tables[lever] = table
        if tables:
            out[cluster] = tables
    return out


def lever_labels(lang: str) -> dict[str, str]:
    return {lever.name: lever.label(lang) for lever in LEVERS}


def defaults(scenario: Scenario) -> dict[str, Any]:
    """Each control's value in the starting scenario."""
    return {c.key: c.read(scenario) for c in controls(scenario)}


def changes(scenario: Scenario, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the starting scenario's, checked by their controls (the choice of neighbour
    among them: it is part of the view, though it changes nothing in the scenario)."""
    by_key = {c.key: c for c in controls(scenario)}
    start = defaults(scenario)
    out = {}
    for key, value in values.items():
        if key not in by_key:
            raise InputError(f"unknown control '{key}'", key=key)
        checked = by_key[key].check(value)
        if checked != start[key] and not (isinstance(checked, float) and math.isclose(checked, start[key])):
            out[key] = checked
    return out


def _policy_to(policy: Policy, end: int) -> Policy:
    """The policy without the levers that would start, and the projects that would come online, after month
    ``end``; the neighbours' policies cut the same way (a neighbour left with nothing keeps its known offer)."""
    clusters = {key: _policy_to(p, end) for key, p in policy.clusters.items()}
    return Policy(
        {k: v for k, v in policy.settings.items() if v.start <= end},
        tuple(p for p in policy.projects if p.online <= end),
        {key: p for key, p in clusters.items() if p.settings or p.projects},
    )


def _cut_to(scenario: Scenario, last_year: int) -> Scenario:
    """The scenario run to December of ``last_year``: levers that would start and projects that would come
    online after it are left out (they would not act within the run)."""
    end = (last_year - BASE_YEAR) * 12 + 11
    if end == scenario.end_month:
        return scenario
    kept = _policy_to(scenario.policy, end)
    events = tuple(dataclasses.replace(e, until=min(e.until, end)) for e in scenario.supply_events if e.start <= end)
    return override(scenario, end_month=end).with_changes(policy=kept, supply_events=events)


def build(start: Scenario, values: Mapping[str, Any]) -> Scenario:
    """The starting scenario with the controls' values (those that differ from it), named ``<start>-workbench``
    when anything changed. Every change goes through `sim.api.override`, checked by the declarations; a
    neighbour's levers as ``[policy.<cluster>.<lever>]`` tables, as a scenario file gives them."""
    changed = {k: v for k, v in changes(start, values).items() if k not in VIEW_ONLY}
    if not changed:
        return start
    scenario = start
    rename = bool(set(changed) - {"end"})  # a shorter run of the same scenario keeps its name
    if "end" in changed:
        scenario = _cut_to(scenario, int(changed["end"]))
    if "price_mode" in changed:
        scenario = override(scenario, price_mode=changed["price_mode"])
    for decl in SCENARIO_INPUTS:
        if decl.name in changed:
            scenario = decl.apply(scenario, changed[decl.name])
    policy: dict[str, dict[str, Any]] = {}
    for lever in LEVERS:
        touched = {k.split(".", 1)[1]: v for k, v in changed.items() if k.startswith(f"{lever.name}.")}
        if not touched:
            continue
        first_year = int(touched.get("from", _lever_start(lever.name)(scenario)))
        table: dict[str, Any] = {"from": f"{first_year}-01"}
        setting = scenario.policy.setting(lever.name)
        for decl in lever.fields:
            if decl.name in touched:
                table[decl.name] = int(touched[decl.name]) if decl.integer else float(touched[decl.name])
        for decl in lever.yearly:
            if decl.name in touched:
                by_year = {y: v for y, v in setting.yearly.get(decl.name, {}).items() if y < first_year}
                by_year.update({y: float(touched[decl.name]) for y in scenario.years if y >= first_year})
                table[decl.name] = {str(y): v for y, v in sorted(by_year.items())}
        policy[lever.name] = table
    policy.update(_neighbour_policy(scenario, changed))
    if policy:
        scenario = override(scenario, policy=policy)
    for decl in project_inputs(start):
        if decl.name in changed and any(p.name == decl.name.split(":", 1)[1] for p in scenario.policy.projects):
            index = [p.name for p in scenario.policy.projects].index(decl.name.split(":", 1)[1])
            scenario = project_inputs(scenario)[index].apply(scenario, changed[decl.name])
    if not rename:
        return scenario
    name = f"{start.name[:90]}-workbench"
    return override(
        scenario,
        name=name,
        description=f"{start.description} Changed in the workbench.".strip(),
        name_zh=f"{start.label('zh')}（工作台调整）",
        description_zh=f"{start.about('zh')}（在工作台中调整）",
    )


def baseline_for(scenario: Scenario) -> Scenario:
    """The library's baseline of the scenario's price mode (`BASELINES`) over the years of ``scenario``, with its
    seed: like is compared with like (a market-mode scenario with the market-mode baseline), and both sides share
    their replicate draws (common random numbers), so their differences are the scenario's, not sampling noise."""
    base = load_library(BASELINES[scenario.price_mode])
    if scenario.years[-1] <= base.years[-1]:
        base = _cut_to(base, scenario.years[-1])
    else:
        base = override(base, end_month=scenario.end_month)
    return base if base.seed == scenario.seed else override(base, seed=scenario.seed)


# ---------------------------------------------------------------------------------------------------------
# a view in the URL
# ---------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class View:
    """What the URL holds: the starting scenario (a library name, or uploaded TOML text and its file name),
    the changed controls, replicates, language and tab."""

    scenario: str = DEFAULT_SCENARIO
    uploaded: str | None = None
    uploaded_name: str = "uploaded.toml"
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    replicates: int = DEFAULT_REPLICATES
    lang: str = "en"
    tab: int = 0

    def start(self) -> Scenario:
        if self.uploaded is not None:
            return load_scenario_text(self.uploaded, name=self.uploaded_name)
        return load_library(self.scenario)


def _pack(text: str) -> str:
    return base64.urlsafe_b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii").rstrip("=")


def _unpack(data: str) -> str:
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    out = zlib.decompressobj().decompress(raw, 4 * 1024 * 1024 + 1)
    return out.decode("utf-8")


def encode_query(view: View) -> str:
    """The query string of a view (only what differs from the defaults)."""
    params: list[tuple[str, str]] = []
    if view.uploaded is not None:
        params += [("toml", _pack(view.uploaded)), ("file", view.uploaded_name)]
    elif view.scenario != DEFAULT_SCENARIO:
        params.append(("scenario", view.scenario))
    if view.lang != "en":
        params.append(("lang", view.lang))
    if view.replicates != DEFAULT_REPLICATES:
        params.append(("replicates", str(view.replicates)))
    if view.tab:
        params.append(("tab", str(view.tab)))
    for key, value in view.values.items():
        params.append(
            (key, value if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value))
        )
    return urlencode(params)


def decode_query(query: str | None) -> tuple[View, list[str]]:
    """A view from a query string, and what in it was ignored and why (a link never fails to open)."""
    view, problems = View(), []
    if not query:
        return view, problems
    if len(query) > MAX_QUERY:
        return view, [f"the link is longer than {MAX_QUERY:,} characters; it was ignored"]
    items = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    raw = dict(items)
    if "toml" in raw:
        try:
            view.uploaded, view.uploaded_name = _unpack(raw["toml"]), raw.get("file", "uploaded.toml")[:200]
        except (ValueError, zlib.error, UnicodeDecodeError):
            problems.append(f"toml: the scenario in the link cannot be read; '{DEFAULT_SCENARIO}' is shown")
    elif "scenario" in raw:
        if raw["scenario"] in library():
            view.scenario = raw["scenario"]
        else:
            problems.append(f"scenario: '{raw['scenario'][:80]}' is not in the library; '{DEFAULT_SCENARIO}' is shown")
    if raw.get("lang") in ("en", "zh"):
        view.lang = raw["lang"]
    if "replicates" in raw:
        try:
            view.replicates = min(max(int(raw["replicates"]), 1), MAX_REPLICATES)
        except ValueError:
            problems.append("replicates: not a whole number; ignored")
    if raw.get("tab", "").isdigit():
        view.tab = min(int(raw["tab"]), 1)
    try:
        start = view.start()
    except InputError as err:
        problems.append(err.message)
        view.uploaded, view.scenario = None, DEFAULT_SCENARIO
        start = view.start()
    by_key = {c.key: c for c in controls(start)}
    for key, value in items:
        if key in ("toml", "file", "scenario", "lang", "replicates", "tab"):
            continue
        control = by_key.get(key)
        if control is None:
            problems.append(f"{key[:80]}: not a control of this scenario; ignored")
            continue
        try:
            view.values[key] = control.check(value if control.kind == "choice" else float(value))
        except (InputError, ValueError) as err:
            problems.append(err.message if isinstance(err, InputError) else f"{key}: {err}")
    return view, problems


# ---------------------------------------------------------------------------------------------------------
# runs, cached by fingerprint
# ---------------------------------------------------------------------------------------------------------
class RunCache:
    """Finished runs by (fingerprint, replicates, seed); the oldest go first beyond `MAX_CACHED_RUNS`.

    Shared by every browser tab of the server: the same inputs are never run twice.
    """

    def __init__(self, size: int = MAX_CACHED_RUNS, firm_detail: int | None = None) -> None:
        self._runs: collections.OrderedDict[tuple[str, int, int], RunResult] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.size = size
        self.firm_detail = firm_detail  # replicates whose per-firm tables are kept (None: the runner's default)
        self.runs_made = 0

    @staticmethod
    def key(scenario: Scenario, replicates: int) -> tuple[str, int, int]:
        return fingerprint(scenario), int(replicates), int(scenario.seed)

    def get(self, scenario: Scenario, replicates: int) -> RunResult | None:
        with self._lock:
            key = self.key(scenario, replicates)
            if key in self._runs:
                self._runs.move_to_end(key)
                return self._runs[key]
            return None

    def run(
        self,
        scenario: Scenario,
        replicates: int,
        workers: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> RunResult:
        """The run of ``scenario`` with ``replicates`` replicates: from the cache, or run now."""
        cached = self.get(scenario, replicates)
        if cached is not None:
            if progress is not None:
                progress(replicates, replicates)
            return cached
        options = {} if self.firm_detail is None else {"firm_detail": self.firm_detail}
        result = run_scenario(scenario, replicates=replicates, workers=workers, progress=progress or False, **options)
        with self._lock:
            self._runs[self.key(scenario, replicates)] = result
            self.runs_made += 1
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)
        return result


CACHE = RunCache()


def run_pair(
    scenario: Scenario,
    replicates: int,
    workers: int = 1,
    progress: Callable[[float], None] | None = None,
    cache: RunCache = CACHE,
) -> tuple[RunResult, RunResult]:
    """The baseline's run and the scenario's, each from the cache or run now; ``progress`` gets the share done."""
    base = baseline_for(scenario)
    todo = [s for s in (base, scenario) if cache.get(s, replicates) is None]
    done = [0]

    def step(finished: int, total: int) -> None:
        if progress is not None and todo:
            progress(min(1.0, (done[0] + finished / max(total, 1)) / len(todo)))

    results = []
    for s in (base, scenario):
        results.append(cache.run(s, replicates, workers, step if s in todo else None))
        if s in todo:
            done[0] += 1
    if progress is not None:
        progress(1.0)
    return results[0], results[1]


# ---------------------------------------------------------------------------------------------------------
# tables and downloads
# ---------------------------------------------------------------------------------------------------------
NET_FISCAL = "net_fiscal"  # cumulative local fiscal revenue minus cumulative support, 亿元 (see `with_net_fiscal`)


def with_net_fiscal(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with Suining's ``net_fiscal`` rows: local fiscal revenue minus the support the city pays,
    summed from the first year of the run to each year (亿元; means only, summed from the yearly means).

    A run whose summary already has ``net_fiscal`` rows (computed per replicate, with bands) is returned as it is.
    """
    if (summary["metric"] == NET_FISCAL).any():
        return summary
    rows = summary[(summary.region == "suining") & (summary.segment == "all")]
    revenue = rows[rows.metric == "local_fiscal_revenue"].set_index("year")["mean"]
    support = rows[rows.metric == "support"].set_index("year")["mean"]
    if revenue.empty:
        return summary
    net = (revenue.sub(support, fill_value=0.0)).sort_index().cumsum()
    scenario = summary["scenario"].iloc[0]
    extra = pd.DataFrame(
        {"scenario": scenario, "year": net.index, "region": "suining", "segment": "all", "metric": NET_FISCAL,
         "unit": "亿元", "mean": net.to_numpy(), "p05": math.nan, "p50": math.nan, "p95": math.nan}
    )  # fmt: skip
    return pd.concat([summary, extra[summary.columns]], ignore_index=True)


def fiscal(base: RunResult, scenario: RunResult, year: int) -> dict[str, float]:
    """What the scenario costs the city and what it returns, summed over the run to ``year`` (亿元):
    ``support`` paid to firms (the scenario's, and ``support_extra`` beyond the baseline's), ``revenue_gain``
    (local fiscal revenue beyond the baseline's) and ``net`` = revenue gained minus extra support (the difference
    of the two runs' ``net_fiscal``)."""

    def cumulative(result: RunResult, metric: str) -> float:
        rows = with_net_fiscal(result.summary)
        sel = rows[(rows.region == "suining") & (rows.segment == "all") & (rows.metric == metric)]
        sel = sel[sel.year <= year]
        return float(sel["mean"].sum()) if metric != NET_FISCAL else float(sel.sort_values("year")["mean"].iloc[-1])

    support_s, support_b = cumulative(scenario, "support"), cumulative(base, "support")
    revenue_gain = cumulative(scenario, "local_fiscal_revenue") - cumulative(base, "local_fiscal_revenue")
    return {
        "support": support_s,
        "support_extra": support_s - support_b,
        "revenue_gain": revenue_gain,
        "net": cumulative(scenario, NET_FISCAL) - cumulative(base, NET_FISCAL),
    }


DIFFERENCE_ROWS = (  # (region, segment, metric): Suining's headline figures, in the comparison's order
    ("suining", "all", "output_value"),
    ("suining", "all", "value_added"),
    ("suining", "all", "value_added_real_growth"),
    ("suining", "lithium_salt", "output"),
    ("suining", "lfp_cathode", "output"),
    ("suining", "battery", "output"),
    ("suining", "lithium_salt", "national_share"),
    ("suining", "lfp_cathode", "national_share"),
    ("suining", "battery", "national_share"),
    *(("suining", segment, "new_capacity_share") for segment in COMPARED_STAGES),  # where new plants go
    ("suining", "all", "employment"),
    ("suining", "all", "taxes"),
    ("suining", "all", "profit"),
    ("suining", "all", "support"),
    ("suining", "all", "local_fiscal_revenue"),
    ("suining", "all", NET_FISCAL),
    ("suining", "all", "gdp_growth_contribution"),
)
SCOREBOARD_ROWS = (
    "gdp_share",
    "gdp_growth_contribution",
    "fixed_asset_investment",
    "fai_growth_contribution",
    "support",
    "local_fiscal_revenue",
    NET_FISCAL,
    "revenue_growth_contribution",
)


def comparison(base: RunResult, scenario: RunResult) -> pd.DataFrame:
    """The comparison table (`sim.api.compare`): every figure of both runs with the difference from the baseline,
    the ``net_fiscal`` rows included (`with_net_fiscal`)."""
    runs = [dataclasses.replace(r, summary=with_net_fiscal(r.summary)) for r in (base, scenario)]
    return compare(runs)


def differences(table: pd.DataFrame, years: Sequence[int], rows=DIFFERENCE_ROWS) -> pd.DataFrame:
    """The scenario's rows of ``rows`` for ``years``: baseline mean, scenario mean and P5-P95, the differences."""
    scenarios = list(dict.fromkeys(table["scenario"]))
    base_name, other = scenarios[0], scenarios[-1]
    out = []
    for region, segment, metric in rows:
        sel = table[(table.region == region) & (table.segment == segment) & (table.metric == metric)]
        for year in years:
            b = sel[(sel.scenario == base_name) & (sel.year == year)]
            s = sel[(sel.scenario == other) & (sel.year == year)]
            if b.empty or s.empty:
                continue
            row = s.iloc[0]
            out.append(
                {
                    "region": region,
                    "segment": segment,
                    "metric": metric,
                    "unit": row["unit"],
                    "year": year,
                    "baseline": float(b.iloc[0]["mean"]),
                    "scenario": float(row["mean"]),
                    "p05": float(row["p05"]),
                    "p95": float(row["p95"]),
                    "diff_mean": row["diff_mean"],
                    "diff_pct": row["diff_pct"],
                }
            )
    return pd.DataFrame(out)


def headline(result: RunResult, year: int) -> dict[str, float]:
    """A few figures of a run in one year, for the page's header."""
    out = {}
    for metric, segment in (
        ("output_value", "all"),
        ("value_added", "all"),
        ("national_share", "lfp_cathode"),
        ("employment", "all"),
    ):
        try:
            out[f"{metric}.{segment}"] = result.value(metric, "suining", segment, year)
        except KeyError:
            out[f"{metric}.{segment}"] = math.nan
    return out


def new_capacity_shares(base: RunResult, scenario: RunResult) -> tuple[list[int], dict[str, tuple[float, float]]]:
    """Suining's share of the nation's new capacity (%), pooled over 2025-2030 (`POOLED_YEARS`, clipped to the
    run's years), in the baseline and the scenario, by segment of `COMPARED_STAGES` (lithium salt and LFP
    cathode): what a neighbour's bid takes away. A ratio of means over the replicates
    (`sim.outputs.cluster_charts.pooled_share`), without a band."""
    years = window(scenario.scenario.years, POOLED_YEARS)
    shares = {
        segment: (pooled_share(base.summary, segment, years), pooled_share(scenario.summary, segment, years))
        for segment in COMPARED_STAGES
    }
    return years, shares


def workbook(base: RunResult, scenario: RunResult, lang: str = "en") -> bytes:
    """The comparison workbook (``comparison.xlsx`` as ``lithium-sim compare`` writes it: the same writer, the
    same sheets), as bytes; without drawing the comparison's charts, which the workbook does not hold."""
    from sim.outputs.compare import write_workbook
    from sim.outputs.scoreboard import scoreboard_table

    table = compare([base, scenario])
    projects = {r.scenario.name: len(r.scenario.policy.projects) for r in (base, scenario)}
    with tempfile.TemporaryDirectory(prefix="lithium-sim-app-") as tmp:
        path = Path(tmp) / "comparison.xlsx"
        write_workbook(table, path, lang, scoreboard_table(table, load_city(), projects))
        return path.read_bytes()


def workbook_bytes(table: pd.DataFrame, lang: str, projects: Mapping[str, int]) -> bytes:
    """The comparison workbook of a comparison table (`comparison`), as bytes: `workbook`'s work, from data
    alone, so that a worker process can make it (``projects``: each scenario's count of pipeline projects)."""
    from sim.outputs.compare import write_workbook
    from sim.outputs.scoreboard import scoreboard_table

    with tempfile.TemporaryDirectory(prefix="lithium-sim-app-") as tmp:
        path = Path(tmp) / "comparison.xlsx"
        write_workbook(table, path, lang, scoreboard_table(table, load_city(), dict(projects)))
        return path.read_bytes()


def run_directory_files(scenario: Scenario, replicates: int, lang: str) -> dict[str, bytes]:
    """The run directory of ``scenario`` (as ``lithium-sim run`` writes it: every table, the per-firm rows of
    the first replicates, the charts), by relative path. It runs the scenario again with the same seeds (the
    same figures: a replicate's results do not depend on how it is run), so that the page's own runs can leave
    the per-firm tables out and a worker process can make this one."""
    result = run_scenario(scenario, replicates=replicates)
    with tempfile.TemporaryDirectory(prefix="lithium-sim-app-") as tmp:
        directory = Path(tmp) / "run"
        result.save(directory, lang=lang)
        return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def workbook_with_charts(base: RunResult, scenario: RunResult, lang: str = "en") -> bytes:
    """The workbook as the workbench made it before: a whole comparison directory written (its charts drawn),
    then its workbook read (benchmarks' "before" figure)."""
    with tempfile.TemporaryDirectory(prefix="lithium-sim-app-") as tmp:
        out = Path(tmp) / "comparison"
        compare([base, scenario], out_dir=out, lang=lang)
        return (out / "comparison.xlsx").read_bytes()


def runs_zip(base: RunResult, scenario: RunResult, lang: str = "en", toml: str | None = None) -> bytes:
    """Both run directories (as ``lithium-sim run`` writes them) and the scenario's TOML, zipped."""
    buffer = io.BytesIO()
    with (
        tempfile.TemporaryDirectory(prefix="lithium-sim-app-") as tmp,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        names = []
        for result in (base, scenario):
            name = result.scenario.name if result.scenario.name not in names else f"{result.scenario.name}-2"
            names.append(name)
            directory = Path(tmp) / name
            result.save(directory, lang=lang)
            for path in sorted(directory.rglob("*")):
                if path.is_file():
                    archive.write(path, f"{name}/{path.relative_to(directory).as_posix()}")
        if toml is not None:
            archive.writestr(f"{scenario.scenario.name}.toml", toml)
    return buffer.getvalue()
