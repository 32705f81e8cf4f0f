"""Policy levers from the 2024 Suining work report, as scenario data (DESIGN section 4).

Each lever is a table under ``[policy]`` in a scenario; every number has a unit and a valid range, checked
by `sim.inputs.scenario`. All levers act on Suining firms only, through the model's own mechanisms:

=====================  ===========================================  ==========================================
lever (table)          report                                       mechanism in the model
=====================  ===========================================  ==========================================
``tax_relief``         减税降费 9.03 亿元, 留抵退税 3.51 亿元 (l.17)   cash to firms pro rata to plant value;
                                                                    a share of input-VAT credit refunded yearly
``energy_support``     gas 转供改直供, 500 kV grid works (l.125)        a cut in firms' energy cost
``investment_support`` 增资扩能, "标准地" land supply (l.81)            capex subsidy share; shorter build lag
``projects``           招商引资: 141 projects over 1 亿 (l.25, 73)      named plants that come online with a
                                                                    probability (one draw per replicate)
``land_efficiency``    亩均论英雄 (l.81)                               plants under a utilisation floor for a
                                                                    year upgrade (if they can pay) or exit
``hedging``            carbonate futures delivery warehouses (l.21)  a share of salt output sold at a smoothed
                                                                    futures price
``innovation``         揭榜挂帅, research institute (l.23)             faster cost learning
=====================  ===========================================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEGMENT_KEYS = ("lithium_salt", "lfp_cathode", "battery")


@dataclass(frozen=True)
class TaxRelief:
    amount_yi: dict[int, float] = field(default_factory=dict)  # 亿元 per year, by year
    vat_refund_share: float = 0.0  # share of the input-VAT credit refunded each December
    start: int = 0  # month index


@dataclass(frozen=True)
class EnergySupport:
    cost_cut: float = 0.0  # fraction off energy cost
    start: int = 0


@dataclass(frozen=True)
class InvestmentSupport:
    capex_subsidy: float = 0.0  # share of capex paid by the government
    lag_cut_months: float = 0.0  # months off the construction lag
    start: int = 0


@dataclass(frozen=True)
class Project:
    name: str
    segment: str
    capacity: float  # u/yr
    online: int  # month index
    probability: float
    owns_feedstock: bool = False


@dataclass(frozen=True)
class LandEfficiency:
    min_utilization: float = 0.0  # yearly output / capacity floor
    upgrade_cost_share: float = 0.2  # of the plant's capex
    upgrade_cost_cut: float = 0.1  # fraction off conversion and energy cost after an upgrade
    start: int = 0


@dataclass(frozen=True)
class Hedging:
    share: float = 0.0  # share of salt output sold at the smoothed futures price
    smoothing_months: float = 6.0  # half-life of the exponential smoothing
    start: int = 0


@dataclass(frozen=True)
class Innovation:
    extra_learning_rate: float = 0.0  # extra annual cost decline
    start: int = 0


@dataclass(frozen=True)
class Policy:
    """All levers; the defaults are "no policy"."""

    tax_relief: TaxRelief = field(default_factory=TaxRelief)
    energy_support: EnergySupport = field(default_factory=EnergySupport)
    investment_support: InvestmentSupport = field(default_factory=InvestmentSupport)
    projects: tuple[Project, ...] = ()
    land_efficiency: LandEfficiency = field(default_factory=LandEfficiency)
    hedging: Hedging = field(default_factory=Hedging)
    innovation: Innovation = field(default_factory=Innovation)


def parse_policy(table: dict[str, Any], month_index) -> Policy:
    """Build a `Policy` from a validated ``[policy]`` table (see the schema in `sim.inputs.scenario`)."""

    def start(sub: dict[str, Any]) -> int:
        return month_index(sub["from"]) if "from" in sub else 0

    kwargs: dict[str, Any] = {}
    if "tax_relief" in table:
        t = table["tax_relief"]
        kwargs["tax_relief"] = TaxRelief(
            amount_yi={int(k): float(v) for k, v in t.get("amount", {}).items()},
            vat_refund_share=float(t.get("vat_refund_share", 0.0)), start=start(t),
        )
    if "energy_support" in table:
        t = table["energy_support"]
        kwargs["energy_support"] = EnergySupport(cost_cut=float(t.get("cost_cut", 0.0)), start=start(t))
    if "investment_support" in table:
        t = table["investment_support"]
        kwargs["investment_support"] = InvestmentSupport(
            capex_subsidy=float(t.get("capex_subsidy", 0.0)), lag_cut_months=float(t.get("lag_cut_months", 0.0)),
            start=start(t),
        )
    if "projects" in table:
        kwargs["projects"] = tuple(
            Project(name=p["name"], segment=p["segment"], capacity=float(p["capacity"]),
                    online=month_index(p["online"]), probability=float(p.get("probability", 1.0)),
                    owns_feedstock=bool(p.get("owns_feedstock", False)))
            for p in table["projects"]
        )
    if "land_efficiency" in table:
        t = table["land_efficiency"]
        kwargs["land_efficiency"] = LandEfficiency(
            min_utilization=float(t.get("min_utilization", 0.0)),
            upgrade_cost_share=float(t.get("upgrade_cost_share", 0.2)),
            upgrade_cost_cut=float(t.get("upgrade_cost_cut", 0.1)), start=start(t),
        )
    if "hedging" in table:
        t = table["hedging"]
        kwargs["hedging"] = Hedging(share=float(t.get("share", 0.0)),
                                    smoothing_months=float(t.get("smoothing_months", 6.0)), start=start(t))
    if "innovation" in table:
        t = table["innovation"]
        kwargs["innovation"] = Innovation(extra_learning_rate=float(t.get("extra_learning_rate", 0.0)),
                                          start=start(t))
    return Policy(**kwargs)
