"""The value chain, declared once as data: stages, what each buys from which, in what quantity, how it is priced.

Every stage of the chain is a `Stage`: its key, unit, labels in English and Chinese, the stages it buys from
(`Input`, with the material intensity as a declared parameter), its price rule (the name of a kernel in
`sim.engine.market`), the demand it serves outside the chain, and its own parameters. The model's monthly
step loops over `DEFAULT_CHAIN`; results, charts, scenario validation and calibration read stage keys, units
and labels from it. Adding a stage (say an iron-phosphate precursor feeding LFP) is a new `Stage` here, its
national series in ``data/national.csv`` and, if its firms are named, rows in the registry
(docs/model.md, "Process overview and scheduling").

Stages come in two kinds (``agents``):

- ``firms``: a segment of producing firms (Suining's named plants plus a synthetic rest of China), competing
  for the stage's demand (docs/model.md, "Submodels: offers and allocation");
- ``cohorts``: world lithium supply, groups of mines, brine fields and recyclers on a cost curve; simulated in
  both modes of the carbonate price (in path mode the price is pinned to the scenario's path and a shortfall is a
  supply gap; docs/model.md, "Submodels: world lithium market").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from sim.inputs.declare import Param


@dataclass(frozen=True)
class Input:
    """What a stage buys from an upstream stage.

    Attributes:
        stage: key of the upstream stage.
        intensity: units of the upstream product per unit of the buyer's output (a declared parameter).
        share: name of a demand driver (see `DEMAND_DRIVERS`) giving the share of the buyer's output that uses
            this input (cells: the LFP share); None when all of it does.
    """

    stage: str
    intensity: Param
    share: str | None = None


@dataclass(frozen=True)
class Stage:
    """One stage of the chain.

    Attributes:
        key: identifier used in results (``segment`` column), e.g. ``lfp_cathode``.
        unit: physical unit of output (``t LCE``, ``t``, ``GWh``).
        labels: display names by language (``en``, ``zh``).
        suffix: suffix of the stage's parameter names (``conversion_cost_lfp``).
        price_rule: name of the price kernel in `sim.engine.market.PRICE_RULES`.
        price_unit: unit of the reported price.
        price_scale: reported price = model price (yuan per unit) / price_scale.
        inputs: what the stage buys, from upstream stages.
        final_demand: demand driver of sales outside the chain (per year), or None.
        agents: ``firms`` or ``cohorts`` (see the module docstring).
        national: keys of the stage's national series in ``data/national.csv`` (``capacity``, ``output``).
        params: the stage's own parameters (full names, with the suffix).
    """

    key: str
    unit: str
    labels: Mapping[str, str]
    suffix: str
    price_rule: str
    price_unit: str
    price_scale: float = 1.0
    inputs: tuple[Input, ...] = ()
    final_demand: str | None = None
    agents: str = "firms"
    national: Mapping[str, str] = field(default_factory=dict)
    params: tuple[Param, ...] = ()

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels["en"]

    def param(self, name: str) -> str:
        """Full parameter name of a stage template parameter, e.g. ``param("capex") -> "capex_lfp"``."""
        return f"{name}_{self.suffix}"


# parameters every firm stage declares (name -> unit template; "{u}" is the stage's unit)
FIRM_TEMPLATE = {
    "conversion_cost": "yuan/{u}",
    "energy_cost": "yuan/{u}",
    "other_inputs": "yuan/{u}",
    "capex": "yuan per {u}/yr",
    "labour": "workers per {u}/yr",
    "construction_lag": "months",
    "synthetic_firms": "firms",
    "entrant_slots": "firms",
    "suining_cost_factor": "x the plant's tier",
    "max_firm_share": "fraction of the stage's output",
    "freight_in": "t moved in per {u}",
    "freight_out": "t moved out per {u}",
}
INTEGER_TEMPLATE = {"synthetic_firms", "entrant_slots"}
CALIBRATED_TEMPLATE = {"suining_cost_factor"}

# monthly demand drivers the scenario provides (sim.inputs.scenario) and stages may name
DEMAND_DRIVERS = {
    "battery_gwh": "national lithium-ion cell demand, GWh/month (after price response and sodium-ion)",
    "lfp_share": "share of cells that are LFP, fraction",
    "non_lfp_lce": "lithium salts for NCM cathode, other uses and net exports, t LCE/month",
    "rest_of_world_lce": "lithium demand served outside China's salt makers, t LCE/month",
}


def firm_params(stage_suffix: str, unit: str, **values: tuple[float, float, float, str]) -> tuple[Param, ...]:
    """The template parameters of a firm stage: ``name=(default, low, high, reason)`` for every name in
    `FIRM_TEMPLATE` (and nothing else)."""
    missing = set(FIRM_TEMPLATE) - set(values)
    extra = set(values) - set(FIRM_TEMPLATE)
    if missing or extra:
        raise ValueError(f"stage {stage_suffix}: missing {sorted(missing)}, unexpected {sorted(extra)}")
    return tuple(
        Param(
            f"{name}_{stage_suffix}",
            default,
            FIRM_TEMPLATE[name].format(u=unit),
            low,
            high,
            reason,
            integer=name in INTEGER_TEMPLATE,
            calibrate=name in CALIBRATED_TEMPLATE,
        )
        for name, (default, low, high, reason) in values.items()
    )


@dataclass(frozen=True)
class Chain:
    """The stages in order, upstream first."""

    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        suffixes: set[str] = set()
        for stage in self.stages:
            if stage.key in seen or stage.suffix in suffixes:
                raise ValueError(f"stage {stage.key}: key or parameter suffix used twice")
            for inp in stage.inputs:
                if inp.stage not in seen:
                    raise ValueError(f"stage {stage.key} buys from {inp.stage}, which must come earlier")
                if inp.share is not None and inp.share not in DEMAND_DRIVERS:
                    raise ValueError(f"stage {stage.key}: unknown share driver {inp.share}")
            if stage.final_demand is not None and stage.final_demand not in DEMAND_DRIVERS:
                raise ValueError(f"stage {stage.key}: unknown final demand {stage.final_demand}")
            if stage.agents not in ("firms", "cohorts"):
                raise ValueError(f"stage {stage.key}: agents must be 'firms' or 'cohorts'")
            seen.add(stage.key)
            suffixes.add(stage.suffix)

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def __getitem__(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(stage.key == key for stage in self.stages)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(stage.key for stage in self.stages)

    @property
    def firm_stages(self) -> tuple[Stage, ...]:
        """The stages whose producers are firms (Suining's and the rest of China's)."""
        return tuple(stage for stage in self.stages if stage.agents == "firms")

    @property
    def supply_stage(self) -> Stage | None:
        """The world supply stage (cohorts), if the chain has one."""
        return next((stage for stage in self.stages if stage.agents == "cohorts"), None)

    def buyers(self, key: str) -> list[tuple[Stage, Input]]:
        """The stages that buy from ``key``, with the input they buy."""
        return [(stage, inp) for stage in self.stages for inp in stage.inputs if inp.stage == key]

    def parameters(self) -> tuple[Param, ...]:
        """Every parameter the stages declare: their own and the intensities of their inputs."""
        out: list[Param] = []
        for stage in self.stages:
            out.extend(stage.params)
            out.extend(inp.intensity for inp in stage.inputs)
        return tuple(out)

    def with_stage(self, stage: Stage, before: str | None = None) -> Chain:
        """A new chain with ``stage`` inserted before the stage ``before`` (default: at the end)."""
        stages = list(self.stages)
        index = len(stages) if before is None else self.keys.index(before)
        stages.insert(index, stage)
        return Chain(tuple(stages))

    def with_inputs(self, key: str, *inputs: Input) -> Chain:
        """A new chain in which stage ``key`` also buys ``inputs``."""
        return Chain(tuple(replace(s, inputs=s.inputs + inputs) if s.key == key else s for s in self.stages))


# -------------------------------------------------------------------------------------------------------------
# the lithium chain: supply -> salts -> LFP cathode -> cells
# -------------------------------------------------------------------------------------------------------------
LITHIUM_SUPPLY = Stage(
    key="lithium_supply",
    unit="t LCE",
    labels={"en": "lithium supply", "zh": "锂资源供给"},
    suffix="supply",
    price_rule="feedstock",
    price_unit="yuan/t LCE",
    final_demand="rest_of_world_lce",
    agents="cohorts",
    params=(
        Param(
            "feedstock_share",
            0.78,
            "fraction of carbonate price",
            0.6,
            0.9,
            "converters buy spodumene and lepidolite priced off the carbonate price; 2022-23 converter margins "
            "of 10-25% of the price (Tianqi, Ganfeng reports) imply 0.75-0.85",
            calibrate=True,
        ),
        Param(
            "conversion_allowance",
            10000.0,
            "yuan/t LCE",
            0.0,
            40000.0,
            "concentrate is priced off the carbonate price (excl. VAT) net of a conversion allowance: "
            "spodumene at 881 USD/t x 8 t ~ 50k yuan per t LCE in Oct 2025, when carbonate was 75.4k incl. "
            "VAT (66.7k excl.), gives 0.78 x (66.7k - 10k) ~ 44k, near enough given freight and grade "
            "(docs/data.md)",
        ),
        Param(
            "supply_operating_rate",
            0.95,
            "fraction of effective capacity",
            0.7,
            1.0,
            "running mines and brine fields produce at this share of their effective capacity (ore grades, "
            "maintenance, evaporation seasons)",
        ),
        Param(
            "curtail_smoothing_months",
            4.0,
            "months",
            1.0,
            12.0,
            "producers decide to curtail or restart on the carbonate price averaged over this many months "
            "(2024-25 curtailments came 3-9 months into the price fall, docs/data.md)",
        ),
        Param(
            "curtail_loss_tolerance",
            0.15,
            "fraction of cash cost",
            0.0,
            0.5,
            "a unit keeps running while the price covers its cash cost less this share: care and maintenance, "
            "offtake penalties and restart costs make producers carry losses (2025 output of about 1.44-1.66 Mt "
            "came at 60-85k yuan/t, below the cash cost of much African, lepidolite and high-cost Australian "
            "supply; docs/data.md)",
        ),
        Param(
            "curtail_months",
            3.0,
            "months",
            1.0,
            12.0,
            "a loss-making mine winds down over this long rather than at once: offtake contracts, ore stockpiles "
            "and care-and-maintenance work (2024-25 curtailments were announced a quarter ahead: Finniss, Bald "
            "Hill, Ngungaju, docs/data.md)",
        ),
        Param(
            "restart_months",
            6.0,
            "months",
            1.0,
            24.0,
            "a curtailed mine takes this long to come back to full output (Bald Hill: restart 4-6 weeks of "
            "works plus ramp-up; Ngungaju held in care and maintenance through FY26)",
        ),
        Param(
            "initial_inventory_days",
            12.0,
            "days of demand",
            1.0,
            90.0,
            "social inventory of lithium salts in January 2022, at the height of the shortage",
            calibrate=True,
        ),
        Param(
            "chain_stock_days",
            60.0,
            "days of demand",
            0.0,
            180.0,
            "lithium held along the chain outside the visible stocks of salts (concentrate in transit and at "
            "converters, precursor, cathode and cells in process): it grows with demand, so a growing market "
            "absorbs part of supply (the 2023-24 surpluses of 89-120 kt a year left visible stocks near 100 kt, "
            "docs/data.md); assumption, range 30-120",
        ),
        Param(
            "target_inventory_days",
            30.0,
            "days of demand",
            5.0,
            120.0,
            "the stock cover at which the market is balanced: SMM social inventory of 111 kt in Dec 2025 was "
            "26.5 days of turnover (docs/data.md)",
        ),
        Param(
            "stock_price_elasticity",
            1.2,
            "1",
            0.1,
            4.0,
            "the clearing price is the marginal cost times (target cover / cover)^e: thin stocks lift the "
            "price far above cost (2022), ample stocks push it below the marginal producer's cost",
            calibrate=True,
        ),
        Param(
            "max_price_multiple",
            6.0,
            "x marginal cost",
            1.5,
            15.0,
            "the clearing price is at most this multiple of the marginal producer's cost however thin stocks "
            "get: buyers cut and substitute (the 2022 peak of ~600k was about 6 times the ~90-100k cost of "
            "the marginal lepidolite and African supply)",
            calibrate=True,
        ),
        Param(
            "min_price_multiple",
            0.7,
            "x marginal cost",
            0.3,
            1.0,
            "ample stocks push the price below the marginal producer's cost, to at most this multiple of it: "
            "there high-cost producers curtail (the 2024-25 price held near the 80-90th percentile cost line, "
            "56-63k, docs/data.md)",
            calibrate=True,
        ),
        Param(
            "price_adjustment",
            0.35,
            "fraction per month",
            0.02,
            1.0,
            "share of the log gap between the clearing price and the current price closed each month",
            calibrate=True,
        ),
        Param(
            "max_price_move",
            0.2,
            "log change per month",
            0.02,
            0.6,
            "the price moves at most this much in a month (the largest monthly moves of 2022-23 were about 20-30%)",
        ),
        Param(
            "supply_scarcity_elasticity",
            2.0,
            "1",
            0.0,
            6.0,
            "beyond the last producer on the cost curve the marginal cost rises as (demand / capacity)^e",
        ),
        Param(
            "mine_hurdle",
            0.8,
            "fraction over cash cost",
            0.2,
            2.0,
            "a cohort's incentive price is its mid cash cost times (1 + this): the price at which new capacity "
            "earns its capital (the 2024 incentive price of spodumene, about 1,400 USD/t SC6, ~95k yuan/t LCE "
            "converted, was near 1.9 times mid-cost mines' cash cost, docs/data.md)",
        ),
        Param(
            "mine_reserve_margin",
            0.1,
            "fraction of expected demand",
            0.0,
            0.5,
            "producers together plan capacity this much above the demand they expect when it comes online "
            "(slack for outages, ramp-ups and curtailment of the highest-cost units; assumption, range 0-0.3)",
        ),
        Param(
            "mine_growth_cap",
            0.15,
            "1/yr",
            0.0,
            0.5,
            "producers plan for demand growing as it did over the last year, but at most this fast: consensus "
            "forecasts of lithium demand for 2025-30 grew 10-17% a year (docs/data.md), and a year of 25-30% "
            "growth is not extrapolated over a mine's build",
        ),
        Param(
            "mine_expectation_months",
            24.0,
            "months",
            3.0,
            60.0,
            "mines judge a project on the carbonate price averaged over about this long (exponential): investment "
            "follows long-run margins, not the month's spike or slump",
        ),
        Param(
            "supply_cost_learning_rate",
            0.02,
            "1/yr",
            0.0,
            0.1,
            "after the last year of cost data, cohorts' cash costs fall by this much a year (ore-sorting, "
            "recoveries, direct lithium extraction; 2023-25 cash costs fell 10-30% at mines that stayed open, "
            "partly through grade and currency, docs/data.md)",
        ),
        Param(
            "mine_construction_lag",
            36.0,
            "months",
            12.0,
            96.0,
            "greenfield mines and brine projects take 3-7 years from decision to output; expansions less",
        ),
        Param(
            "project_lag_months",
            6.0,
            "months",
            0.0,
            36.0,
            "average delay of an announced supply project beyond its announced start (projects are late)",
        ),
        Param(
            "mine_decisions_from",
            36,
            "months since 2022-01",
            12,
            120,
            "the model's own expansion decisions start in 2025: capacity to 2025-26 is the data's "
            "(supply_capacity.csv) and decisions of 2022-24 are the announced projects (supply_projects.csv); "
            "orders placed from 2025 arrive from 2028, after the construction lag, so nothing is counted twice",
            integer=True,
        ),
    ),
)

LITHIUM_SALT = Stage(
    key="lithium_salt",
    unit="t LCE",
    labels={"en": "lithium salts", "zh": "基础锂盐"},
    suffix="salt",
    price_rule="carbonate",
    price_unit="yuan/t LCE",
    inputs=(
        Input(
            "lithium_supply",
            Param(
                "feedstock_per_t_salt",
                1.0,
                "t LCE feedstock per t LCE salt",
                1.0,
                1.15,
                "lithium recovered from concentrate or brine per t of salt; the feedstock formula prices losses in",
            ),
        ),
    ),
    final_demand="non_lfp_lce",
    national={"capacity": "lithium_salt_capacity", "output": "lithium_salt_output"},
    params=firm_params(
        "salt",
        "t LCE",
        conversion_cost=(
            16000.0,
            8000.0,
            30000.0,
            "reagents, consumables and services of a spodumene converter, excl. feedstock, energy, wages and capital",
        ),
        energy_cost=(5000.0, 2000.0, 10000.0, "gas and power of roasting and leaching"),
        other_inputs=(0.0, 0.0, 10000.0, "none beyond the conversion cost (reagents are counted there)"),
        capex=(40000.0, 15000.0, 60000.0, "Shehong 60 kt project: 24 亿 (docs/data.md)"),
        labour=(0.02, 0.005, 0.05, "a 20 kt converter employs about 400"),
        construction_lag=(18.0, 6.0, 36.0, "converter build times of 15-24 months"),
        synthetic_firms=(60, 5, 5000, "rest-of-China lithium salt producers"),
        entrant_slots=(40, 0, 5000, "room for new rest-of-China salt makers over a run"),
        suining_cost_factor=(1.0, 0.6, 1.5, "Suining converters' conversion and energy cost relative to peers"),
        max_firm_share=(
            0.25,
            0.05,
            1.0,
            "buyers keep second sources: no converter sells more than about a quarter of China's lithium salts "
            "(Ganfeng and Tianqi, the largest, each made under a fifth of China's salts in 2023-24; docs/data.md)",
        ),
        freight_in=(8.0, 1.0, 30.0, "about 8 t of spodumene concentrate per t LCE (lepidolite ore far more)"),
        freight_out=(1.0, 0.5, 2.0, "a t of salt per t LCE (hydroxide 1.14)"),
    )
    + (
        Param(
            "cohort_conversion_cost",
            20000.0,
            "yuan/t LCE",
            10000.0,
            30000.0,
            "the conversion in China that the supply cohorts' cash costs include (processing is 20-25% of a "
            "55-80k integrated cost, supply_cohorts.csv): an integrated group's feedstock from its own mine costs "
            "the cohort's cost less this",
        ),
        Param(
            "integrated_share",
            0.3,
            "fraction of rest-of-China salt firms",
            0.0,
            0.8,
            "domestic mine output of ~19 kt Li (2022, USGS) ~ 100 kt LCE of ~630 kt: about a third self-supplied; "
            "their mines' costs follow the domestic cohorts of the supply cost curve (brine, lepidolite)",
        ),
        Param(
            "suining_feedstock_discount",
            0.10,
            "fraction of bought feedstock cost",
            0.0,
            0.25,
            "Suining converters sit near Sichuan's spodumene (甲基卡, 李家沟): less freight, domestic concentrate",
            calibrate=True,
        ),
    ),
)

LFP_CATHODE = Stage(
    key="lfp_cathode",
    unit="t",
    labels={"en": "LFP cathode", "zh": "磷酸铁锂正极"},
    suffix="lfp",
    price_rule="cost_plus",
    price_unit="yuan/t",
    inputs=(
        Input(
            "lithium_salt",
            Param(
                "lce_per_t_lfp",
                0.245,
                "t LCE/t LFP",
                0.234,
                0.26,
                "stoichiometric 0.234 (½ x 73.89/157.76) plus plant losses",
            ),
        ),
    ),
    national={"capacity": "lfp_capacity", "output": "lfp_output"},
    params=firm_params(
        "lfp",
        "t",
        conversion_cost=(6500.0, 3000.0, 12000.0, "sintering consumables and services"),
        energy_cost=(3000.0, 1500.0, 6000.0, "kiln power, ~3,000 kWh/t at 0.7-1 yuan"),
        other_inputs=(11000.0, 6000.0, 18000.0, "iron phosphate ~0.95 t/t plus carbon source, at 2022 prices"),
        capex=(
            12000.0,
            8000.0,
            30000.0,
            "LFP lines 1.06-1.2 亿 per 10 kt/yr (Hunan Yuneng Malaysia, Fulin 35万t, Jiangxi Shenghua 50万t)",
        ),
        labour=(0.006, 0.002, 0.02, "a 100 kt LFP plant employs about 600"),
        construction_lag=(12.0, 6.0, 30.0, "Yuneng's phases came 9-15 months apart"),
        synthetic_firms=(80, 5, 5000, "rest-of-China LFP makers"),
        entrant_slots=(60, 0, 5000, "room for new rest-of-China LFP makers over a run"),
        suining_cost_factor=(
            1.08,
            0.6,
            1.6,
            "Suining's location factor on top of each plant's group tier (registry column tier): inland, far "
            "from iron phosphate and coastal customers",
        ),
        max_firm_share=(
            0.3,
            0.05,
            1.0,
            "cell makers keep second sources of cathode: the largest LFP maker, Hunan Yuneng, sold 30.7% (2023) "
            "and 28.9% (2024) of China's LFP from several plants (tiers.csv)",
        ),
        freight_in=(1.3, 0.5, 3.0, "0.25 t of lithium salt, 0.95 t of iron phosphate and carbon per t of LFP"),
        freight_out=(1.0, 0.5, 2.0, "a t of cathode per t"),
    )
    + (
        Param(
            "processing_fee_lfp",
            15000.0,
            "yuan/t",
            3000.0,
            30000.0,
            "LFP price minus lithium and other inputs at reference utilisation; Hunan Yuneng 2023 realised "
            "81.6k at a 258k carbonate average leaves ~17k",
            calibrate=True,
        ),
    ),
)

BATTERY = Stage(
    key="battery",
    unit="GWh",
    labels={"en": "battery cells", "zh": "锂电池"},
    suffix="cell",
    price_rule="cell",
    price_unit="yuan/Wh",
    price_scale=1e9,
    inputs=(
        Input(
            "lfp_cathode",
            Param(
                "lfp_t_per_gwh",
                2400.0,
                "t LFP/GWh",
                2200.0,
                2600.0,
                "549 t Li2CO3/GWh / 0.234, net of shipment ratios",
                calibrate=True,
            ),
            share="lfp_share",
        ),
    ),
    final_demand="battery_gwh",
    national={"capacity": "battery_capacity", "output": "battery_output"},
    params=firm_params(
        "cell",
        "GWh",
        conversion_cost=(0.6e8, 0.3e8, 1.2e8, "consumables and services per GWh"),
        energy_cost=(0.2e8, 0.1e8, 0.4e8, "formation and dry rooms, ~0.02 yuan/Wh"),
        other_inputs=(2.0e8, 1.0e8, 4.5e8, "anode, electrolyte, separator, foils, casing: ~0.20 yuan/Wh (2022-23)"),
        capex=(
            2.0e8,
            1.3e8,
            4.0e8,
            "EVE Jingmen: 1.33 亿/GWh of fixed assets (60 GWh), 2.0-2.3 亿/GWh all-in; SVOLT Suining 3.55",
        ),
        labour=(150.0, 50.0, 600.0, "automated cell plants employ 100-200 per GWh"),
        construction_lag=(18.0, 6.0, 36.0, "SVOLT Suining: 2021 signing to Oct 2022"),
        synthetic_firms=(80, 5, 5000, "rest-of-China cell makers"),
        entrant_slots=(60, 0, 5000, "room for new rest-of-China cell makers over a run"),
        suining_cost_factor=(
            0.8,
            0.6,
            1.6,
            "Suining's location factor on top of each plant's group tier (registry column tier): SVOLT's new "
            "lines, recent equipment, Sichuan hydropower",
        ),
        max_firm_share=(
            0.4,
            0.05,
            1.0,
            "carmakers and storage integrators keep second sources: CATL, the largest cell maker, held about 40% "
            "of China's power-battery installations in 2023-24 (tiers.csv: leaders' capacity share 45%, with BYD)",
        ),
        freight_in=(5500.0, 2000.0, 10000.0, "cathode, anode, electrolyte, separator and foils: about 5.5 kt per GWh"),
        freight_out=(6000.0, 3000.0, 10000.0, "LFP cells at 160-180 Wh/kg weigh 5.5-6.5 kt per GWh"),
    )
    + (
        Param(
            "processing_fee_cell",
            2.8e8,
            "yuan/GWh",
            0.5e8,
            4.5e8,
            "cell price minus materials at reference utilisation: leaders' 23-24% gross margins at 2023-24 "
            "ASPs of 0.66-0.89 yuan/Wh (CATL) need a fee of about 0.25-0.3 yuan/Wh",
            calibrate=True,
        ),
        Param("ncm_lce_per_gwh", 710.0, "t LCE/GWh", 600.0, 800.0, "NCM cells, 710 t LCE per GWh"),
        Param(
            "cathode_premium_ncm",
            1.6e8,
            "yuan/GWh",
            0.5e8,
            3.0e8,
            "nickel, cobalt and processing of NCM cathode per GWh beyond lithium",
        ),
    ),
)

DEFAULT_CHAIN = Chain((LITHIUM_SUPPLY, LITHIUM_SALT, LFP_CATHODE, BATTERY))
