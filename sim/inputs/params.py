"""Every tunable number of the model, declared once: typed, with a default, a unit, a valid range and a reason.

The declarations are `GLOBAL_PARAMS` below plus the parameters each stage of the chain declares
(`sim.inputs.chain`). `params_class(chain)` builds from them a frozen dataclass, `ModelParams` for the default
chain, that agents and kernels read and nothing mutates. A parameter file (TOML with a ``[parameters]``
table, see ``calibration/parameters.toml``) overrides the defaults; scenarios may override further. A value
outside its range, of the wrong type, or a fraction where a whole number is declared is rejected with the file
and key named. docs/model.md lists every parameter with its unit and reason.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sim.inputs import files
from sim.inputs.chain import DEFAULT_CHAIN, Chain, Stage
from sim.inputs.declare import Param
from sim.inputs.errors import InputError, did_you_mean

GLOBAL_PARAMS: tuple[Param, ...] = (
    # --- price formation downstream ---
    Param(
        "reference_utilization",
        0.65,
        "fraction",
        0.4,
        0.9,
        "demand / capacity at which processing fees are at their base level",
    ),
    Param(
        "fee_utilization_elasticity",
        1.5,
        "1",
        0.0,
        4.0,
        "fees move with demand / capacity: fee x (x/x_ref)^e (slack: Hunan Yuneng 2024 at 31.8k yuan/t)",
    ),
    Param(
        "scarcity_elasticity",
        3.0,
        "1",
        1.0,
        8.0,
        "when demand exceeds capacity the fee rises faster, x^s beyond x = 1: a shortage must lift margins "
        "until new lines are ordered (cell prices rose ~50% in the 2021-22 shortage)",
    ),
    Param(
        "max_scarcity_multiple",
        3.0,
        "1",
        1.0,
        5.0,
        "the shortage factor x^s is at most this: beyond it buyers go unserved (unmet demand) rather than pay "
        "any price (cell prices rose ~50%, LFP fees about doubled, in the 2021-22 shortage); without a bound a "
        "stage that lost most of its plants priced its output beyond any market",
    ),
    Param(
        "cost_learning_rate",
        0.05,
        "1/yr",
        0.0,
        0.15,
        "annual decline of processing (conversion and energy) costs, materials bought outside the chain and "
        "the base processing fees (cell prices -20% y/y in 2024)",
    ),
    # --- supply and allocation ---
    Param(
        "competitiveness_elasticity",
        3.0,
        "1",
        0.2,
        20.0,
        "logit weight on relative controllable unit cost in the allocation of demand among firms",
        calibrate=True,
    ),
    Param(
        "min_utilization",
        0.25,
        "fraction",
        0.0,
        0.6,
        "a loss-making firm cuts output toward this floor (contracts, staff)",
    ),
    Param("cut_margin", 0.15, "fraction of price", 0.01, 0.5, "relative loss at which a firm is down to its floor"),
    Param("cost_dispersion", 0.25, "log sd", 0.05, 0.6, "spread of synthetic firms' conversion and energy costs"),
    Param("firm_size_sd", 1.0, "log sd", 0.1, 2.5, "size dispersion of synthetic firms (lognormal)"),
    Param(
        "entrant_size_sd",
        0.5,
        "log sd",
        0.0,
        2.5,
        "size dispersion of new entrants around the incumbents' median plant (lognormal): entrants build "
        "plants of the current standard size, so less dispersed than the incumbents (firm_size_sd)",
    ),
    Param(
        "ramp_up_months",
        12.0,
        "months",
        0.0,
        24.0,
        "new capacity reaches full availability linearly over this period",
        calibrate=True,
    ),
    # --- demand ---
    Param(
        "demand_response_from",
        36,
        "months since 2022-01",
        0,
        600,
        "demand follows the scenario's levels through 2024 (they are the record) and responds to prices after",
        integer=True,
    ),
    Param(
        "reference_carbonate_price",
        90000.0,
        "yuan/t incl. VAT",
        20000.0,
        600000.0,
        "the carbonate price at which the scenario's cell demand holds; other prices move demand through the "
        "cell price (the late-2024 to 2025 average, about 75-100k)",
    ),
    Param(
        "demand_elasticity_ev",
        -0.3,
        "1",
        -1.5,
        0.0,
        "price elasticity of EV and consumer cell demand: the battery is 30-40% of an EV's cost and EV "
        "demand elasticities run -1 to -1.5, so -0.3 to -0.5 per unit of cell price; 0 switches it off",
    ),
    Param(
        "demand_elasticity_storage",
        -1.0,
        "1",
        -3.0,
        0.0,
        "price elasticity of storage cell demand: cells are half or more of a storage system's cost and "
        "tenders clear on project returns (bid prices fell 14-26% in 2025 as volumes doubled), so -1 to "
        "-2; 0 switches it off",
    ),
    Param(
        "sodium_threshold",
        140000.0,
        "yuan/t incl. VAT",
        50000.0,
        600000.0,
        "sodium-ion gains storage demand while carbonate stays above this price (130-150k yuan/t, 经济观察报 2026)",
    ),
    Param(
        "sodium_price_smoothing_months",
        6.0,
        "months",
        1.0,
        24.0,
        "sodium-ion substitution answers to the carbonate price smoothed over about this many months "
        "(exponential): cell makers switch chemistry on sustained prices, not on a month's spike ('长期高于', "
        "经济观察报 2026)",
    ),
    Param(
        "sodium_max_share",
        0.25,
        "fraction of storage demand",
        0.0,
        1.0,
        "the share of storage cells sodium-ion can take (ESS is >70% of its market; BYD's 30 GWh line); "
        "0 switches substitution off",
    ),
    Param(
        "sodium_adoption_rate",
        0.05,
        "fraction of storage demand per year",
        0.0,
        0.5,
        "how fast sodium-ion gains (and, below the threshold, loses) share: new lines take a year or two",
    ),
    Param(
        "sodium_from",
        42,
        "months since 2022-01",
        0,
        600,
        "first month sodium-ion can substitute at scale (2025-07: BYD's 30 GWh line in Qinghai)",
        integer=True,
    ),
    # --- investment, entry and exit ---
    Param("expectation_weight", 0.15, "1/month", 0.02, 1.0, "adaptive expectation of the margin: E += w (m - E)"),
    Param(
        "investment_hurdle",
        0.08,
        "1/yr",
        0.0,
        0.5,
        "required return on capital (after depreciation) before a firm expands",
    ),
    Param(
        "investment_sensitivity",
        1.0,
        "capacity share per unit excess return",
        0.0,
        5.0,
        "expansion ordered per quarter = capacity x sensitivity x (return - hurdle), capped",
        calibrate=True,
    ),
    Param(
        "expectation_trend",
        0.5,
        "1",
        0.0,
        3.0,
        "extrapolation in expected margins: E + b (E - the year's average margin); firms chase a rising "
        "margin (the 2022 capacity race) and flee a falling one (0: adaptive only)",
        calibrate=True,
    ),
    Param(
        "own_utilization_weight",
        0.5,
        "fraction",
        0.0,
        1.0,
        "a firm expects new lines to run at this blend of its own utilisation and its stage's (the rest): "
        "a leader adding capacity in a glut does not expect its new lines to run as full as its old ones",
    ),
    Param(
        "local_incentive_share",
        0.15,
        "fraction of capex",
        0.0,
        0.5,
        "cheap land, equipment subsidies and easy credit that local governments elsewhere in China offered "
        "new lithium capacity (10-30% of project cost was common in 2021-23): rest-of-China firms count "
        "only the rest of the capex in their returns",
        calibrate=True,
    ),
    Param(
        "entrant_hurdle",
        0.05,
        "1/yr",
        -0.1,
        0.5,
        "the return on capital new rest-of-China firms require: local incentives and capacity races let "
        "entrants build below incumbents' hurdle",
        calibrate=True,
    ),
    Param(
        "completion_rate",
        0.8,
        "fraction of ordered capacity",
        0.3,
        1.0,
        "share of announced capacity that gets built; the rest is cancelled or shelved (many 2022-23 "
        "announcements were)",
    ),
    Param(
        "lag_spread",
        0.3,
        "fraction of the lag",
        0.0,
        0.8,
        "an order arrives in three equal tranches after (1 - spread), 1 and (1 + spread) times the "
        "construction lag: phases of one project come online apart",
    ),
    Param(
        "max_expansion_share",
        0.15,
        "fraction of capacity",
        0.01,
        0.5,
        "cap on one quarter's order (~75%/yr at most: cell makers doubled capacity in 2021-22)",
    ),
    Param(
        "investment_utilization",
        0.3,
        "fraction",
        0.0,
        0.9,
        "expansion stops when the utilisation a firm expects of new lines (its own and its stage's, blended) "
        "falls to this level, and grows back to its full pace over investment_utilization_span above it; low in "
        "a capacity race (2022-23 orders went on while utilisation fell to 41-51%)",
        calibrate=True,
    ),
    Param(
        "investment_utilization_span",
        0.25,
        "fraction",
        0.05,
        0.6,
        "utilisation above investment_utilization over which expansion rises from nothing to its full pace: "
        "capacity growth slows as utilisation falls instead of switching off at a threshold (assumption, range "
        "0.1-0.4)",
    ),
    Param(
        "entry_rate",
        0.5,
        "entrants per quarter per 0.1 excess return",
        0.0,
        5.0,
        "rest-of-China entry when the segment's expected return on capital is above the hurdle",
    ),
    Param(
        "entry_excess_cap",
        0.3,
        "1/yr",
        0.05,
        2.0,
        "excess return beyond which entry no longer quickens: permits, equipment and engineers limit how "
        "many projects start in a quarter",
    ),
    Param(
        "max_entrants_per_quarter",
        12,
        "firms per stage and quarter",
        1,
        100,
        "the most new firms a stage gains in a quarter in one replicate, a bound far above the entry rates "
        "the caps allow (entry_excess_cap); entries beyond it are counted in meta.json (entry_blocked_*)",
        integer=True,
    ),
    Param(
        "idle_after_loss_months",
        6.0,
        "months",
        1.0,
        36.0,
        "a firm with negative operating cash flow this long idles its plant",
    ),
    Param(
        "exit_after_loss_months",
        36.0,
        "months",
        6.0,
        72.0,
        "a firm with negative operating cash flow this long exits",
        calibrate=True,
    ),
    Param(
        "liquidation_value",
        0.5,
        "fraction of plant book value",
        0.0,
        1.0,
        "a firm with a long loss streak exits once its debt exceeds cash plus this share of its plant",
    ),
    Param(
        "parent_credit_share",
        0.5,
        "fraction of plant book value",
        0.0,
        2.0,
        "a plant of a listed group (registry column listed_parent) draws on its parent's finance up to this "
        "share of its plant before it is insolvent (Tianqi, Shengxin, Hunan Yuneng, Longpan and Fulin all "
        "carried loss-making plants through 2023-25)",
    ),
    Param(
        "first_endogenous_arrival",
        24,
        "months since 2022-01",
        12,
        48,
        "capacity built in 2022-23 is the data's; plants the model's firms order arrive from this month "
        "(2024-01), so the two never count the same plant twice",
        integer=True,
    ),
    # --- location of new plants (sim.engine.location) ---
    Param(
        "location_cost_elasticity",
        10.0,
        "log-odds per unit of relative cost",
        0.0,
        40.0,
        "how strongly a new plant goes to the cluster where it costs least to run: a cluster 5% dearer than the "
        "cheapest has exp(-0.5), about 0.6, times the odds; no 2022-24 figure measures it (assumption, range 3-30)",
    ),
    Param(
        "location_home_bias",
        2.0,
        "log-odds",
        0.0,
        6.0,
        "a group's expansion favours a cluster where it already has a plant (staff, permits, suppliers): about "
        "7 times the odds; assumption, range 0-4 (Fulin's group built its next LFP plants in Deyang-Aba and "
        "Ordos, not beside its Suining plant, so the bias is not overwhelming)",
    ),
    Param(
        "location_agglomeration",
        1.0,
        "log-odds per log share",
        0.0,
        2.0,
        "a new plant goes where the industry already is (its stage and its suppliers and customers): with 1, "
        "twice the industry draws twice the plants; assumption, range 0.5-1.5",
    ),
    Param(
        "location_time_value",
        0.1,
        "log-odds per month",
        0.0,
        0.5,
        "a month of construction saved by ready land and permits ('标准地', Meishan's land prepared before "
        "Albemarle arrived) raises a cluster's odds by about 10%; assumption, range 0.03-0.3",
    ),
    Param(
        "freight_rate",
        0.35,
        "yuan/t-km",
        0.1,
        1.0,
        "freight of bulk materials by road and rail in western China, blended (road 0.4-0.6, rail 0.15-0.25 "
        "yuan/t-km); moves a cluster's costs with its distances to feedstock and customers",
    ),
    Param(
        "land_share_of_capex",
        0.06,
        "fraction of capex at the reference land price",
        0.0,
        0.3,
        "industrial land in a plant's cost: a 100 kt LFP plant on about 500 mu at 150,000 yuan/mu is 0.75 亿 of "
        "12 亿 (6%); a cluster's land price moves capex by this share (cluster_conditions.csv)",
    ),
    # --- finance ---
    Param(
        "depreciation_years",
        10.0,
        "years",
        5.0,
        20.0,
        "plant is written down by 1/(12 x years) of its book value each month (declining balance)",
    ),
    Param("interest_rate", 0.045, "1/yr", 0.02, 0.1, "one-year LPR 3.65% plus spread"),
    Param(
        "max_leverage", 0.8, "debt / (plant + cash)", 0.3, 1.5, "banks stop lending for expansion beyond this leverage"
    ),
    Param(
        "new_plant_debt_share",
        0.6,
        "fraction of capex",
        0.0,
        1.0,
        "share of a registry or pipeline plant's capex financed by loans when it comes online",
    ),
    Param(
        "initial_plant_age_share",
        0.7,
        "fraction of capex",
        0.3,
        1.0,
        "book value of plant running in January 2022 as a share of its replacement cost (plants a few "
        "years old on average)",
    ),
    Param(
        "initial_debt_share",
        0.48,
        "fraction of initial plant value",
        0.0,
        1.0,
        "debt of incumbents in January 2022: loans for 60% of capex, a fifth repaid",
    ),
    Param("initial_cash_share", 0.1, "fraction of initial plant value", 0.0, 1.0, "cash of incumbents in January 2022"),
    # --- labour and taxes ---
    Param("labour_fixed_share", 0.4, "fraction", 0.0, 1.0, "share of the workforce kept when the plant is idle"),
    Param("annual_wage", 90000.0, "yuan/worker-yr", 50000.0, 150000.0, "Sichuan manufacturing wage"),
    Param("vat_rate", 0.13, "fraction", 0.0, 0.17, "statutory VAT on manufactured goods"),
    Param("surcharge_rate", 0.12, "fraction of VAT", 0.0, 0.2, "urban construction and education levies"),
    Param("income_tax_rate", 0.15, "fraction", 0.0, 0.25, "high-tech enterprise rate"),
    # --- fiscal sharing (the city's part of the taxes its lithium firms pay) ---
    Param(
        "vat_local_share",
        0.5,
        "fraction of VAT",
        0.0,
        1.0,
        "domestic VAT is split 50:50 between the centre and localities since May 2016 (国发〔2016〕26号)",
    ),
    Param(
        "income_tax_local_share",
        0.4,
        "fraction of corporate income tax",
        0.0,
        1.0,
        "corporate income tax is split 60:40 between the centre and localities since 2003 (国发〔2001〕37号)",
    ),
    Param(
        "city_share_of_local",
        0.65,
        "fraction of the local part",
        0.3,
        1.0,
        "the part of the localities' VAT and income tax that stays with the city and its counties rather than "
        "Sichuan province; the province-city split is not public in the sources (assumption, range 0.4-0.9)",
    ),
    Param(
        "surcharge_city_share",
        1.0,
        "fraction of surcharges",
        0.0,
        1.0,
        "urban maintenance and construction tax and education surcharges are local taxes collected by the "
        "city and its counties",
    ),
)


def declarations(chain: Chain = DEFAULT_CHAIN) -> dict[str, Param]:
    """Every declared parameter of a model on ``chain``: the global ones and the stages' own."""
    out: dict[str, Param] = {}
    for param in (*GLOBAL_PARAMS, *chain.parameters()):
        if param.name in out:
            raise ValueError(f"parameter {param.name} declared twice")
        out[param.name] = param
    return out


class _ParamsBase:
    """Behaviour shared by every generated parameter class (see `params_class`)."""

    DECLARATIONS: dict[str, Param] = {}
    CHAIN: Chain = DEFAULT_CHAIN

    def __post_init__(self) -> None:
        for name, decl in self.DECLARATIONS.items():
            problem = decl.problem(getattr(self, name))
            if problem:
                raise InputError(f"parameter {name}: {problem}", key=name)

    def replace(self, **changes: Any) -> Any:
        """A copy with some values changed (validated)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    def to_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.DECLARATIONS}

    def of(self, stage: Stage, name: str) -> float:
        """A stage's value of a template parameter, e.g. ``of(lfp, "capex")`` is ``capex_lfp``."""
        return getattr(self, stage.param(name))


_CLASSES: dict[int, tuple[Chain, type]] = {}  # id(chain) -> (chain, class); chains hold dicts, so no hashing


def params_class(chain: Chain = DEFAULT_CHAIN) -> type:
    """The frozen parameter dataclass for a chain: one typed field per declaration, defaults filled in."""
    if id(chain) in _CLASSES:
        return _CLASSES[id(chain)][1]
    decls = declarations(chain)
    fields = [
        (name, int if d.integer else float, dataclasses.field(default=int(d.default) if d.integer else d.default))
        for name, d in decls.items()
    ]
    cls = dataclasses.make_dataclass(
        "ModelParams", fields, bases=(_ParamsBase,), frozen=True, namespace={"DECLARATIONS": decls, "CHAIN": chain}
    )
    cls.__module__ = __name__
    cls.__doc__ = "Structural and behavioural parameters (generated from the declarations; money in yuan)."
    if chain is not DEFAULT_CHAIN:
        cls.__qualname__ = f"ModelParams_{'_'.join(chain.keys)}"
    _CLASSES[id(chain)] = (chain, cls)
    return cls


ModelParams = params_class(DEFAULT_CHAIN)
PARAMETERS = declarations(DEFAULT_CHAIN)
CALIBRATABLE = [name for name, d in PARAMETERS.items() if d.calibrate]


def coerce_overrides(values: dict[str, Any], source: str, decls: dict[str, Param] | None = None) -> dict[str, Any]:
    """Check names, types and ranges of parameter overrides; raise `InputError` naming ``source`` and the key."""
    decls = decls if decls is not None else PARAMETERS
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in decls:
            raise InputError(
                f"unknown parameter '{key}';{did_you_mean(key, decls)} parameters are declared in "
                "sim/inputs/params.py and "
                f"sim/inputs/chain.py and listed in docs/model.md (e.g. {', '.join(sorted(decls)[:5])}, ...)",
                file=source,
                key=key,
            )
        problem = decls[key].problem(value)
        if problem:
            raise InputError(f"parameter '{key}' {problem}", file=source, key=key)
        out[key] = int(value) if decls[key].integer else float(value)
    return out


def build_params(overrides: dict[str, Any], source: str, base: Any = None) -> Any:
    """Defaults (or ``base``) with checked overrides; errors name ``source``."""
    base = base if base is not None else ModelParams()
    changes = coerce_overrides(overrides, source, type(base).DECLARATIONS)
    return dataclasses.replace(base, **changes)


def read_param_file(path: str | Path) -> tuple[Any, dict[str, Any], files.TextFile]:
    """Read a parameter file: the parameters, every table of the file, and its text and hash."""
    resolved = files.resolve(path, what="parameter file")
    data, text = files.read_toml(resolved, what="parameter file")
    if "extends" in data:  # a scenario's key; here it would be ignored, and the values it names lost
        raise InputError(
            "a parameter file cannot extend another (only scenarios extend): write every value it needs in its "
            "[parameters] table, or give the other file with --params or with parameter_file in a scenario",
            file=str(resolved),
            key="extends",
        )
    if "parameters" not in data or not isinstance(data["parameters"], dict):
        raise InputError("a parameter file needs a [parameters] table", file=str(resolved), key="parameters")
    return build_params(data["parameters"], str(resolved)), data, text


def load_param_file(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Read a parameter file: a top-level ``[parameters]`` table (other tables are metadata, kept)."""
    params, data, _ = read_param_file(path)
    return params, data


def _number_text(value: float) -> str:
    """A parameter value as the docs print it: 0.65, 36, 10,000, 2.8e8."""
    value = float(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
        mantissa, exponent = f"{value:.6e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:g}"


def parameter_tables(chain: Chain = DEFAULT_CHAIN) -> dict[str, str]:
    """The markdown tables of docs/model.md's section 8, generated from the declarations: ``"global"`` and one per
    stage key (a test checks that the documentation holds them verbatim)."""
    head = "| name | default | unit | range | fit | reason |\n|---|---|---|---|---|---|\n"

    def rows(params) -> str:
        return "".join(
            f"| `{p.name}` | {_number_text(p.default)} | {p.unit} | {_number_text(p.low)} to {_number_text(p.high)} "
            f"| {'yes' if p.calibrate else ''} | {p.reason} |\n"
            for p in params
        )

    out = {"global": head + rows(GLOBAL_PARAMS)}
    for stage in chain.stages:
        out[stage.key] = head + rows((*stage.params, *(inp.intensity for inp in stage.inputs)))
    return out
