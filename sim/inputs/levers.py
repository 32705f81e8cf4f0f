"""Policy levers of the 2024 Suining work report, declared once as data.

Each lever (a table under ``[policy]`` in a scenario) is a `Lever`: its TOML name, labels in English and
Chinese, the report line it comes from, and its fields, each a declared `Param` (unit, range, default, reason)
or a table of values by year. The scenario schema, the parser, the validation, the Python API's ``override`` and
the workbench's controls are generated from `LEVERS`; the mechanisms live in `sim.engine.policy`. The levers
under ``[policy]`` act on Suining's plants; the same levers under ``[policy.<cluster>]`` act on a rival
cluster's, over the policies that cluster is known for (docs/model.md, "Submodels: policy levers").

=====================  =============================================  ==========================================
lever (table)          report                                         mechanism in the model
=====================  =============================================  ==========================================
``tax_relief``         减税降费 9.03 亿元, 留抵退税 3.51 亿元 (l.17)     cash to firms pro rata to plant value;
                                                                      a share of input-VAT credit refunded yearly
``energy_support``     gas 转供改直供, 500 kV grid works (l.125)          a cut in firms' energy cost
``investment_support`` 增资扩能, "标准地" land supply (l.81)              capex subsidy share; shorter build lag
``projects``           招商引资: 141 projects over 1 亿 (l.25, 73)        named plants that come online with a
                                                                      probability (one draw per replicate)
``land_efficiency``    亩均论英雄 (l.81)                                 yearly A-D grading on value added and tax
                                                                      per unit of plant; differentiated energy
                                                                      prices; upgrade support; D plants that
                                                                      cannot upgrade leave
``hedging``            carbonate futures delivery warehouses (l.21)    a share of salt output sold forward at the
                                                                      futures price; costs basis and margin
``innovation``         揭榜挂帅, research institute (l.23)               faster cost learning
=====================  =============================================  ==========================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.inputs.declare import Param


@dataclass(frozen=True)
class Lever:
    """A policy lever.

    Attributes:
        name: the table name under ``[policy]``.
        labels: display names by language.
        report: where the report speaks of it.
        fields: scalar fields, each a declared number.
        yearly: fields given as a table of values by year (e.g. the relief paid each year).
    """

    name: str
    labels: Mapping[str, str]
    report: str
    fields: tuple[Param, ...] = ()
    yearly: tuple[Param, ...] = ()

    def field(self, name: str) -> Param:
        for decl in (*self.fields, *self.yearly):
            if decl.name == name:
                return decl
        raise KeyError(name)

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels["en"]


LEVERS: tuple[Lever, ...] = (
    Lever(
        "tax_relief",
        {"en": "Tax and fee relief, VAT refunds", "zh": "减税降费与留抵退税"},
        "work report line 17: 9.03 亿元 of new relief and deferrals and 3.51 亿元 of VAT credit refunds, "
        "city-wide, 2023",
        fields=(
            Param(
                "vat_refund_share",
                0.0,
                "fraction of credit",
                0.0,
                1.0,
                "share of Suining firms' input-VAT credit (留抵) refunded each December",
                label_en="VAT credit refunded",
                label_zh="留抵退税比例",
            ),
        ),
        yearly=(
            Param(
                "amount",
                0.0,
                "亿元/yr",
                0.0,
                1000.0,
                "tax and fee relief paid to Suining lithium firms in the year (cash, pro rata to plant value)",
                label_en="relief paid",
                label_zh="减税降费金额",
            ),
        ),
    ),
    Lever(
        "energy_support",
        {"en": "Energy cost support", "zh": "能源成本支持"},
        "work report line 125: gas 转供改直供 (direct supply), 500 kV grid works",
        fields=(
            Param(
                "cost_cut",
                0.0,
                "fraction of energy cost",
                0.0,
                0.5,
                "fraction off Suining firms' energy cost (direct gas supply saves ~0.05 of ~0.6 yuan/kWh-eq)",
                label_en="energy cost cut",
                label_zh="能源成本降幅",
            ),
            Param(
                "city_cost_share",
                1.0,
                "fraction of the firms' saving",
                0.0,
                1.0,
                "share of the firms' energy saving the city's budget pays: 1 for a power or gas price rebate (the "
                "city pays what the firms save, e.g. 0.03-0.10 yuan/kWh, lever_costs.csv), near 0 for direct supply "
                "that only removes resellers' markups (转供改直供, 0.03-0.15 yuan/kWh); assumption, default 1 so a "
                "planner sees the full cost",
                label_en="share paid by the city",
                label_zh="财政承担比例",
            ),
        ),
    ),
    Lever(
        "investment_support",
        {"en": "Investment support and standard land", "zh": "增资扩能与标准地"},
        "work report line 81: 增资扩能 and '标准地' land supply",
        fields=(
            Param(
                "capex_subsidy",
                0.0,
                "fraction of capex",
                0.0,
                0.5,
                "share of Suining firms' capex paid by the government (provincial and city equipment "
                "subsidies run 3-8%)",
                label_en="capex subsidy",
                label_zh="设备投资补贴比例",
            ),
            Param(
                "lag_cut_months",
                0.0,
                "months",
                0.0,
                12.0,
                "months off the construction lag when serviced land and approvals are ready ('标准地')",
                label_en="construction time saved",
                label_zh="建设周期缩短",
            ),
        ),
    ),
    Lever(
        "land_efficiency",
        {"en": "Land-efficiency review (亩均论英雄)", "zh": "亩均论英雄"},
        "work report line 81: idle and low-efficiency land down 10%+, output per plant up 10%+",
        fields=(
            Param(
                "grade_a",
                1.2,
                "x stage average",
                0.5,
                3.0,
                "value added plus taxes per yuan of plant at or above this multiple of the stage's national "
                "average grade A (Sichuan's 亩均 evaluations grade firms A-D on tax and output per mu)",
                label_en="grade A threshold",
                label_zh="A类门槛",
            ),
            Param(
                "grade_c",
                0.6,
                "x stage average",
                0.0,
                2.0,
                "below this multiple grade C (below grade_d: D); between C and A: B",
                label_en="grade C threshold",
                label_zh="C类门槛",
            ),
            Param(
                "grade_d",
                0.25,
                "x stage average",
                0.0,
                2.0,
                "below this multiple grade D",
                label_en="grade D threshold",
                label_zh="D类门槛",
            ),
            Param(
                "energy_discount_a",
                0.0,
                "fraction of energy cost",
                0.0,
                0.3,
                "grade A firms' energy price advantage (priority supply, lower tariffs)",
                label_en="A: energy discount",
                label_zh="A类用能优惠",
            ),
            Param(
                "energy_surcharge_c",
                0.0,
                "fraction of energy cost",
                0.0,
                0.5,
                "grade C firms' differentiated energy price (Zhejiang's model: +0.05 yuan/kWh on ~0.6)",
                label_en="C: energy surcharge",
                label_zh="C类差别化电价",
            ),
            Param(
                "energy_surcharge_d",
                0.0,
                "fraction of energy cost",
                0.0,
                0.5,
                "grade D firms' differentiated energy price (+0.1 yuan/kWh on ~0.6)",
                label_en="D: energy surcharge",
                label_zh="D类差别化电价",
            ),
            Param(
                "upgrade_cost_share",
                0.15,
                "fraction of plant capex",
                0.0,
                1.0,
                "cost of upgrading a C or D plant, as a share of its capex",
                label_en="upgrade cost",
                label_zh="技改成本",
            ),
            Param(
                "upgrade_cost_cut",
                0.08,
                "fraction of processing cost",
                0.0,
                0.5,
                "fraction off conversion and energy cost after an upgrade",
                label_en="upgrade saving",
                label_zh="技改降本",
            ),
            Param(
                "upgrade_support",
                0.0,
                "fraction of upgrade cost",
                0.0,
                1.0,
                "share of the upgrade cost the city pays (技改补助)",
                label_en="upgrade support",
                label_zh="技改补助比例",
            ),
            Param(
                "exit_after_d_years",
                2,
                "years",
                1,
                10,
                "a plant graded D this many years in a row that cannot pay to upgrade returns its land",
                integer=True,
                label_en="years in D before exit",
                label_zh="D类退出年限",
            ),
        ),
    ),
    Lever(
        "hedging",
        {"en": "Futures hedging", "zh": "期货套期保值"},
        "work report lines 21, 99: Tianqi's and Shengxin's carbonate futures delivery warehouses in Suining",
        fields=(
            Param(
                "share",
                0.0,
                "fraction of output",
                0.0,
                1.0,
                "share of Suining salt output sold forward on the GFEX carbonate contract",
                label_en="share hedged",
                label_zh="套保比例",
            ),
            Param(
                "horizon_months",
                3,
                "months",
                1,
                12,
                "months between selling forward and delivery (GFEX contracts run up to 12 months)",
                integer=True,
                label_en="hedge horizon",
                label_zh="套保期限",
            ),
            Param(
                "basis_cost",
                0.02,
                "fraction of price",
                0.0,
                0.1,
                "delivery and grade basis paid on hedged tonnes (warehouse fees, grade discounts)",
                label_en="basis cost",
                label_zh="基差成本",
            ),
            Param(
                "margin_rate",
                0.12,
                "fraction of notional",
                0.05,
                0.5,
                "exchange margin posted on open positions, financed at the firm's interest rate",
                label_en="margin rate",
                label_zh="保证金比例",
            ),
        ),
    ),
    Lever(
        "innovation",
        {"en": "Innovation support", "zh": "揭榜挂帅与研发支持"},
        "work report line 23: 59 揭榜挂帅 projects, a lithium research institute alliance",
        fields=(
            Param(
                "extra_learning_rate",
                0.0,
                "1/yr",
                0.0,
                0.1,
                "extra annual decline of Suining firms' processing costs",
                label_en="extra cost learning",
                label_zh="额外降本速度",
            ),
            Param(
                "cost_per_point",
                1.0,
                "亿元/yr per point of extra learning",
                0.0,
                10.0,
                "the city's grants (揭榜挂帅 awards, the research institute's budget) that buy each percentage point "
                "of extra annual cost decline, paid to Suining firms pro rata to plant while the lever runs; "
                "assumption, range 0.3-3: a programme of about 5 awards a year at 1.43 百万 plus the institute's "
                "20 百万 (0.27 亿元 a year, lever_costs.csv) would buy about a quarter of a point",
                label_en="grants per point of learning",
                label_zh="每百分点降本的资助",
            ),
        ),
    ),
)
LEVER_BY_NAME = {lever.name: lever for lever in LEVERS}

# the project pipeline (招商引资) is a list of plants rather than a lever with fields
PROJECT_FIELDS = (
    Param("capacity", 0.0, "t LCE/yr, t/yr or GWh/yr by segment", 0.0, 5e6, "capacity of the plant"),
    Param("probability", 1.0, "fraction", 0.0, 1.0, "chance the project is built (drawn once per replicate)"),
)


@dataclass(frozen=True)
class Project:
    """A named plant of the scenario's pipeline (招商引资)."""

    name: str
    segment: str
    capacity: float  # u/yr
    online: int  # month index
    probability: float = 1.0
    owns_feedstock: bool = False
    listed_parent: bool = False


@dataclass(frozen=True)
class Setting:
    """One lever's values in a scenario: scalar fields, yearly tables, and the first month it acts."""

    values: Mapping[str, float] = field(default_factory=dict)
    yearly: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    start: int = 0

    def get(self, lever: Lever, name: str) -> float:
        """The field's value, or its declared default."""
        return float(self.values.get(name, lever.field(name).default))

    def by_year(self, name: str, year: int) -> float:
        return float(self.yearly.get(name, {}).get(year, 0.0))


@dataclass(frozen=True)
class Policy:
    """Every lever's setting; a lever not set is off (its defaults are "no policy")."""

    settings: Mapping[str, Setting] = field(default_factory=dict)
    projects: tuple[Project, ...] = ()
    # a rival cluster's levers (``[policy.<cluster>.<lever>]``), by cluster key; the settings above are Suining's
    clusters: Mapping[str, Policy] = field(default_factory=dict)

    def setting(self, name: str) -> Setting:
        return self.settings.get(name, Setting())

    def value(self, lever: str, name: str) -> float:
        return self.setting(lever).get(LEVER_BY_NAME[lever], name)

    def start(self, lever: str) -> int:
        return self.setting(lever).start

    def to_table(self, month_label) -> dict[str, Any]:
        """The ``[policy]`` table of a scenario file that gives this policy (``month_label`` formats months)."""
        out: dict[str, Any] = {}
        for name, setting in self.settings.items():
            table: dict[str, Any] = dict(setting.values)
            table.update({k: {str(y): v for y, v in by_year.items()} for k, by_year in setting.yearly.items()})
            table["from"] = month_label(setting.start)
            out[name] = table
        if self.projects:
            out["projects"] = [
                {
                    "name": p.name,
                    "segment": p.segment,
                    "capacity": p.capacity,
                    "online": month_label(max(p.online, 0)),
                    "probability": p.probability,
                    "owns_feedstock": p.owns_feedstock,
                    "listed_parent": p.listed_parent,
                }
                for p in self.projects
            ]
        for key, policy in self.clusters.items():
            out[key] = policy.to_table(month_label)
        return out

    def to_data(self) -> dict[str, Any]:
        """JSON-ready form for meta.json."""
        out: dict[str, Any] = {
            name: {"values": dict(s.values), "yearly": {str(k): dict(v) for k, v in s.yearly.items()}, "start": s.start}
            for name, s in self.settings.items()
        }
        out["projects"] = [dataclasses.asdict(p) for p in self.projects]
        for key, policy in self.clusters.items():
            out[key] = policy.to_data()
        return out


def parse_policy(table: Mapping[str, Any], month_index, clusters: tuple[str, ...] = ()) -> Policy:
    """Build a `Policy` from a validated ``[policy]`` table (see the schema in `sim.inputs.scenario`); a sub-table
    named after one of ``clusters`` holds that rival cluster's levers, in the same form."""
    settings = {}
    for lever in LEVERS:
        if lever.name not in table:
            continue
        t = table[lever.name]
        values = {p.name: (int(t[p.name]) if p.integer else float(t[p.name])) for p in lever.fields if p.name in t}
        yearly = {p.name: {int(y): float(v) for y, v in t[p.name].items()} for p in lever.yearly if p.name in t}
        settings[lever.name] = Setting(values, yearly, month_index(t["from"]) if "from" in t else 0)
    projects = tuple(
        Project(
            name=p["name"],
            segment=p["segment"],
            capacity=float(p["capacity"]),
            online=month_index(p["online"]),
            probability=float(p.get("probability", 1.0)),
            owns_feedstock=bool(p.get("owns_feedstock", False)),
            listed_parent=bool(p.get("listed_parent", False)),
        )
        for p in table.get("projects", [])
    )
    rivals = {key: parse_policy(table[key], month_index) for key in clusters if isinstance(table.get(key), dict)}
    return Policy(settings, projects, rivals)
