"""Every tunable number of the model, declared once: typed, with a default, a unit, a valid range and a reason.

`ModelParams` is frozen; agents and kernels read it, nothing mutates it. A parameter file (TOML, one
``name = value`` per line, see ``calibration/parameters.toml``) overrides the defaults; scenarios may override
further. Values outside their range are rejected with the file and key named.

Segment-indexed parameters are three fields with the segment in the name (``*_salt``, ``*_lfp``, ``*_cell``),
so each carries its own unit and range.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.inputs import files
from sim.inputs.errors import InputError


def _p(default: float, unit: str, low: float, high: float, reason: str, *, calibrate: bool = False) -> Any:
    return field(
        default=default,
        metadata={"unit": unit, "range": (low, high), "reason": reason, "calibrate": calibrate},
    )


@dataclass(frozen=True)
class ModelParams:
    """Structural and behavioural parameters. Money in yuan unless the unit says 亿元."""

    # --- material intensities (physical constants and engineering ratios) ---
    lce_per_t_lfp: float = _p(
        0.245, "t LCE/t LFP", 0.234, 0.26, "stoichiometric 0.234 (½ x 73.89/157.76) plus plant losses"
    )
    lfp_t_per_gwh: float = _p(
        2400.0, "t LFP/GWh", 2200.0, 2600.0, "549 t Li2CO3/GWh (facts.csv) / 0.234, net of shipment ratios"
    )

    # --- lithium salt costs (yuan per t LCE) ---
    feedstock_share: float = _p(
        0.78,
        "fraction of carbonate price",
        0.6,
        0.9,
        "non-integrated converters buy spodumene/lepidolite priced off carbonate; 2022-23 converter margins "
        "of 10-25% of the price (Tianqi, Ganfeng reports) imply 0.75-0.85",
        calibrate=True,
    )
    conversion_allowance: float = _p(
        10000.0,
        "yuan/t LCE",
        0.0,
        40000.0,
        "concentrate is priced off the carbonate price net of a conversion allowance: spodumene at 881 USD/t "
        "x 8 t ~ 50k yuan per t LCE against 75k carbonate in Oct 2025 (facts.csv) gives 0.78 x (75k - 10k)",
    )
    own_feedstock_cost_mean: float = _p(
        70000.0,
        "yuan/t LCE",
        30000.0,
        130000.0,
        "integrated producers' mining cost: brine 30-60k, lepidolite break-even ~120k (facts.csv)",
    )
    own_feedstock_cost_sd: float = _p(0.35, "log sd", 0.05, 1.0, "spread between brine and lepidolite")
    integrated_share: float = _p(
        0.3,
        "fraction of rest-of-China salt firms",
        0.0,
        0.8,
        "domestic mine production ~19 kt Li (2022, USGS) ~ 100 kt LCE of ~630 kt: about a third self-supplied",
    )
    conversion_cost_salt: float = _p(
        16000.0,
        "yuan/t LCE",
        8000.0,
        30000.0,
        "reagents, consumables and services of a spodumene converter, excl. feedstock, energy, wages, capital",
        calibrate=True,
    )
    energy_cost_salt: float = _p(5000.0, "yuan/t LCE", 2000.0, 10000.0, "gas and power of roasting/leaching")

    # --- LFP cathode costs (yuan per t) ---
    other_inputs_lfp: float = _p(
        11000.0, "yuan/t", 6000.0, 18000.0, "iron phosphate ~0.95 t/t plus carbon source, at 2022 prices"
    )
    processing_fee_lfp: float = _p(
        17000.0,
        "yuan/t",
        8000.0,
        30000.0,
        "LFP price minus lithium and other inputs at reference utilisation; Hunan Yuneng 2023 realised 81.6k "
        "at a 258k carbonate average (facts.csv) leaves ~17k",
        calibrate=True,
    )
    conversion_cost_lfp: float = _p(6500.0, "yuan/t", 3000.0, 12000.0, "sintering consumables, services")
    energy_cost_lfp: float = _p(3000.0, "yuan/t", 1500.0, 6000.0, "kiln power, ~3,000 kWh/t at 0.7-1 yuan")

    # --- battery cell costs (yuan per GWh; 1 yuan/Wh = 1e9 yuan/GWh) ---
    ncm_lce_per_gwh: float = _p(710.0, "t LCE/GWh", 600.0, 800.0, "NCM cells, 710 t/GWh (facts.csv)")
    cathode_premium_ncm: float = _p(
        1.6e8, "yuan/GWh", 0.5e8, 3.0e8, "nickel, cobalt and processing of NCM cathode per GWh beyond lithium"
    )
    other_inputs_cell: float = _p(
        2.0e8,
        "yuan/GWh",
        1.0e8,
        4.5e8,
        "anode, electrolyte, separator, foils, casing: ~0.20 yuan/Wh (2022-23; 0.6 yuan/Wh LFP cells in "
        "Mar 2023 less ~0.3 of cathode leaves ~0.1 for fee and processing)",
    )
    processing_fee_cell: float = _p(
        2.0e8,
        "yuan/GWh",
        0.5e8,
        3.5e8,
        "cell price minus materials at reference utilisation; 0.88 yuan/Wh peak, 0.6 in Mar 2023 (facts.csv)",
        calibrate=True,
    )
    conversion_cost_cell: float = _p(0.6e8, "yuan/GWh", 0.3e8, 1.2e8, "consumables and services per GWh")
    energy_cost_cell: float = _p(0.2e8, "yuan/GWh", 0.1e8, 0.4e8, "formation and dry rooms, ~0.02 yuan/Wh")

    # --- price formation downstream ---
    reference_utilization: float = _p(
        0.65, "fraction", 0.4, 0.9, "demand / capacity at which processing fees are at their base level"
    )
    fee_utilization_elasticity: float = _p(
        1.0,
        "1",
        0.0,
        3.0,
        "fees move with demand / capacity: fee x (x/x_ref)^e (slack: Hunan Yuneng 2024 at 31.8k yuan/t)",
    )
    scarcity_elasticity: float = _p(
        3.0,
        "1",
        1.0,
        8.0,
        "when demand exceeds capacity the fee rises faster, x^s beyond x = 1: a shortage must lift margins "
        "until new lines are ordered (cell prices rose ~50% in the 2021-22 shortage)",
    )
    cost_learning_rate: float = _p(
        0.05, "1/yr", 0.0, 0.15, "annual decline of conversion and other-input costs (cell prices -20% y/y 2024)"
    )

    # --- supply and allocation ---
    competitiveness_elasticity: float = _p(
        3.0,
        "1",
        0.2,
        20.0,
        "logit weight on relative controllable unit cost in the allocation of demand among firms",
        calibrate=True,
    )
    min_utilization: float = _p(
        0.25, "fraction", 0.0, 0.6, "a loss-making firm cuts output toward this floor (contracts, staff)"
    )
    cut_margin: float = _p(0.15, "fraction of price", 0.01, 0.5, "relative loss at which a firm is down to its floor")
    suining_cost_factor_salt: float = _p(
        1.0,
        "x rest-of-China",
        0.6,
        1.5,
        "Suining converters' conversion and energy cost relative to peers",
        calibrate=True,
    )
    suining_feedstock_discount: float = _p(
        0.10,
        "fraction of bought feedstock cost",
        0.0,
        0.25,
        "Suining converters sit near Sichuan's spodumene (甲基卡, 李家沟): less freight, domestic concentrate",
        calibrate=True,
    )
    suining_cost_factor_lfp: float = _p(
        1.08,
        "x rest-of-China",
        0.6,
        1.6,
        "inland plants, far from iron phosphate and coastal customers",
        calibrate=True,
    )
    suining_cost_factor_cell: float = _p(
        0.8,
        "x rest-of-China",
        0.6,
        1.6,
        "SVOLT's new lines: recent equipment, Sichuan hydropower",
        calibrate=True,
    )
    cost_dispersion: float = _p(0.25, "log sd", 0.05, 0.6, "spread of synthetic firms' conversion and energy costs")
    ramp_up_months: float = _p(
        12.0,
        "months",
        0.0,
        24.0,
        "new capacity reaches full availability linearly over this period",
        calibrate=True,
    )

    # --- investment, entry and exit ---
    expectation_weight: float = _p(0.15, "1/month", 0.02, 1.0, "adaptive expectation of the margin: E += w (m - E)")
    investment_hurdle: float = _p(
        0.12, "1/yr", 0.0, 0.5, "required return on capital (after depreciation) before a firm expands"
    )
    investment_sensitivity: float = _p(
        0.3,
        "capacity share per unit excess return",
        0.0,
        3.0,
        "expansion ordered per quarter = capacity x sensitivity x (return - hurdle), capped",
        calibrate=True,
    )
    max_expansion_share: float = _p(
        0.1, "fraction of capacity", 0.01, 0.5, "cap on one quarter's order (~45%/yr at most)"
    )
    investment_utilization: float = _p(
        0.6, "fraction", 0.0, 1.0, "firms expand only when running above this utilisation"
    )
    construction_lag_salt: float = _p(18.0, "months", 6.0, 36.0, "converter build times 15-24 months")
    construction_lag_lfp: float = _p(12.0, "months", 6.0, 30.0, "Yuneng phases came 9-15 months apart")
    construction_lag_cell: float = _p(18.0, "months", 6.0, 36.0, "SVOLT Suining: 2021 signing to Oct 2022")
    capex_salt: float = _p(40000.0, "yuan per t LCE/yr", 15000.0, 60000.0, "Shehong 60 kt project: 24 亿 (facts.csv)")
    capex_lfp: float = _p(15000.0, "yuan per t/yr", 8000.0, 30000.0, "LFP lines ~1.5 亿 per 10 kt/yr")
    capex_cell: float = _p(3.5e8, "yuan per GWh/yr", 1.5e8, 6.0e8, "SVOLT Suining: 71 亿 for 20 GWh")
    depreciation_years: float = _p(10.0, "years", 5.0, 20.0, "straight line, plant and equipment")
    interest_rate: float = _p(0.045, "1/yr", 0.02, 0.1, "one-year LPR 3.65% plus spread")
    max_leverage: float = _p(
        0.8, "debt / (plant + cash)", 0.3, 1.5, "banks stop lending for expansion beyond this leverage"
    )
    liquidation_value: float = _p(
        0.5,
        "fraction of plant book value",
        0.0,
        1.0,
        "a firm with a long loss streak exits once its debt exceeds cash plus this share of its plant",
    )
    entry_rate: float = _p(
        0.5,
        "entrants per quarter per 0.1 excess return",
        0.0,
        5.0,
        "rest-of-China entry when the segment's expected return on capital is above the hurdle",
    )
    idle_after_loss_months: float = _p(
        6.0, "months", 1.0, 36.0, "a firm with negative operating cash flow this long idles its plant"
    )
    exit_after_loss_months: float = _p(
        36.0,
        "months",
        6.0,
        72.0,
        "a firm with negative operating cash flow this long exits",
        calibrate=True,
    )

    # --- labour and taxes ---
    labour_salt: float = _p(0.02, "workers per t LCE/yr", 0.005, 0.05, "a 20 kt converter employs ~400")
    labour_lfp: float = _p(0.006, "workers per t/yr", 0.002, 0.02, "a 100 kt LFP plant employs ~600")
    labour_cell: float = _p(150.0, "workers per GWh/yr", 50.0, 600.0, "automated cell plants ~100-200/GWh")
    labour_fixed_share: float = _p(0.4, "fraction", 0.0, 1.0, "share of the workforce kept when the plant is idle")
    annual_wage: float = _p(90000.0, "yuan/worker-yr", 50000.0, 150000.0, "Sichuan manufacturing wage")
    vat_rate: float = _p(0.13, "fraction", 0.0, 0.17, "statutory VAT on manufactured goods")
    surcharge_rate: float = _p(0.12, "fraction of VAT", 0.0, 0.2, "urban construction and education levies")
    income_tax_rate: float = _p(0.15, "fraction", 0.0, 0.25, "high-tech enterprise rate")

    # --- population ---
    synthetic_firms_salt: int = _p(60, "firms", 5, 5000, "rest-of-China lithium salt producers")
    synthetic_firms_lfp: int = _p(80, "firms", 5, 5000, "rest-of-China LFP makers")
    synthetic_firms_cell: int = _p(80, "firms", 5, 5000, "rest-of-China cell makers")
    firm_size_sd: float = _p(1.0, "log sd", 0.1, 2.5, "size dispersion of synthetic firms (lognormal)")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            low, high = f.metadata["range"]
            value = getattr(self, f.name)
            if not (low <= value <= high):
                raise InputError(
                    f"parameter {f.name} = {value!r} is outside its range [{low}, {high}] ({f.metadata['unit']})",
                    key=f.name,
                )

    def replace(self, **changes: Any) -> ModelParams:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    # segment-indexed views
    def seg(self, name: str, segment: str) -> float:
        """Value of a segment-indexed parameter, e.g. ``seg("capex", "lfp_cathode")``."""
        return getattr(self, f"{name}_{SEGMENT_SUFFIX[segment]}")


SEGMENT_SUFFIX = {"lithium_salt": "salt", "lfp_cathode": "lfp", "battery": "cell"}

PARAM_FIELDS = {f.name: f for f in dataclasses.fields(ModelParams)}
CALIBRATABLE = [name for name, f in PARAM_FIELDS.items() if f.metadata["calibrate"]]


def coerce_overrides(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Check names and types of parameter overrides; raise InputError naming ``source`` and the key.

    Integer parameters take whole numbers (``5`` or ``5.0``, not ``5.9``, ``inf`` or ``nan``); the others
    take any number a float can hold.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in PARAM_FIELDS:
            raise InputError(
                f"unknown parameter '{key}'; known parameters are listed in sim/params.py "
                f"(e.g. {', '.join(sorted(PARAM_FIELDS)[:6])}, ...)",
                file=source,
                key=key,
            )
        f = PARAM_FIELDS[key]
        low, high = f.metadata["range"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"parameter '{key}' must be a number ({f.metadata['unit']})", file=source, key=key)
        if f.type in (int, "int"):
            if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
                raise InputError(
                    f"parameter '{key}' must be a whole number from {low} to {high} ({f.metadata['unit']}), "
                    f"got {value!r}",
                    file=source,
                    key=key,
                )
            out[key] = int(value)
        else:
            try:
                out[key] = float(value)
            except OverflowError:
                raise InputError(
                    f"parameter '{key}' = {value!r} is outside its range [{low}, {high}] ({f.metadata['unit']})",
                    file=source,
                    key=key,
                ) from None
    return out


def build_params(overrides: dict[str, Any], source: str, base: ModelParams | None = None) -> ModelParams:
    """Defaults (or ``base``) with checked overrides; range errors name ``source``."""
    changes = coerce_overrides(overrides, source)
    try:
        return dataclasses.replace(base or ModelParams(), **changes)
    except InputError as err:
        raise InputError(err.detail, file=source, key=err.key) from None


def read_param_file(path: str | Path) -> tuple[ModelParams, dict[str, Any], files.TextFile]:
    """Read a parameter file: the parameters, every table of the file, and its text and hash."""
    resolved = files.resolve(path, what="parameter file")
    data, text = files.read_toml(resolved, what="parameter file")
    if "parameters" not in data or not isinstance(data["parameters"], dict):
        raise InputError("a parameter file needs a [parameters] table", file=str(resolved), key="parameters")
    return build_params(data["parameters"], str(resolved)), data, text


def load_param_file(path: str | Path) -> tuple[ModelParams, dict[str, Any]]:
    """Read a parameter file: a top-level ``[parameters]`` table (other tables are metadata, kept)."""
    params, data, _ = read_param_file(path)
    return params, data


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
