"""The yearly figures of a run, one definition for the summary, the charts and calibration.

`batch_metrics` turns a `BatchRecord` (one batch of replicates) into ``{(region, segment, metric): (unit,
values)}`` with ``values`` of shape ``(R, Y)``; `MetricTable` lays them out as the rows of ``summary.csv``
(one row per year, region, segment and metric) with one column per replicate. Definitions (docs/model.md,
"Observation"; s a stage, r a region, y a year; flows summed over the year's months):

- ``output``: firms' output, u (t LCE, t, GWh); ``capacity``: installed at the end of December, u/yr;
  ``utilization``: output / the year's mean installed capacity (lines still ramping up included, as the
  industry's statistics count nameplate), share.
- ``output_value`` (产值), ``intermediate``, ``value_added`` (增加值), ``wages``, ``profit``, ``taxes`` (VAT,
  surcharges, income tax), ``support`` (government cash to firms), ``fixed_asset_investment`` (capex spent in
  the year, by the firms and on their behalf): 亿元 at current prices.
- ``value_added_real``: value added at comparable prices, chain-linked with 2022 as reference: each year's
  output valued at the region's own value added per unit of the previous year, by stage (the national figure
  where the region made nothing that year), so real growth is driven by volumes and each year is valued at the
  prices of the year before, as growth "at comparable prices" (可比价) is reported; ``value_added_real_growth``
  its growth, percent. ``value_added_fixed_2022``: output at the nation's 2022 value added per unit, by stage
  (the bureau's fixed base-year method), a secondary series.
- ``national_share``: Suining's output / national output, percent.
- ``price``: the market price (china rows, mean of the year's months), or the price Suining's firms realised
  (output value / output); yuan per unit excl. VAT (cells in yuan/Wh).
- ``demand``: demand addressed to the stage (china rows); ``unmet_demand``: the part not delivered (same unit as
  output; Suining's is the national figure attributed by competitiveness weight).
- ``firms``, ``employment`` (persons, annual mean).
- Suining, all segments: the report's scoreboard (`sim.outputs.scoreboard`) and the city's cost and return
  (`fiscal_metrics`): ``support_cumulative``, ``local_fiscal_revenue_cumulative`` and ``net_fiscal`` = the
  second less the first (亿元, summed since 2022).
- ``gross_margin``: (output value - intermediate consumption - depreciation - wages) / output value, percent, as
  listed makers report it; china rows also by tier of the rest of China (``gross_margin_leaders``, ...).
- market mode, region ``world``: segment ``lithium_salt`` ``supply``, ``demand``, ``inventory`` (end of year),
  ``curtailed_capacity`` (annual mean), ``unmet_demand`` (t LCE), ``price`` (carbonate incl. VAT, yuan/t), and
  the supply stage's ``production`` (mines, brine and recycling, without stock releases), ``supply_capacity``
  (end of year) and ``supply_utilization``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.inputs.chain import DEFAULT_CHAIN, Chain
from sim.inputs.units import YI
from sim.outputs.scoreboard import scoreboard_metrics

if TYPE_CHECKING:  # the engine's record type, for annotations only: reading tables needs no engine
    from sim.engine.records import BatchRecord

MONEY = {
    "output_value": "output_value",
    "intermediate": "intermediate",
    "value_added": "value_added",
    "wages": "wages",
    "profit": "profit",
    "support": "support",
    "fixed_asset_investment": "investment",
}
REAL_UNIT = "亿元 (2022 prices, chained)"
FIXED_UNIT = "亿元 (2022 prices)"


def _div(a: np.ndarray, b: np.ndarray, fill: float = 0.0) -> np.ndarray:
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, fill), where=b != 0)


def _annual(monthly: np.ndarray, how: str = "sum") -> np.ndarray:
    """(R, T) monthly -> (R, Y) annual sums, means or December values (reductions along the last axis, so a
    replicate's figures do not depend on its batch)."""
    r, t = monthly.shape
    by_year = monthly.reshape(r, t // 12, 12)
    if how == "sum":
        return by_year.sum(axis=-1)
    if how == "mean":
        return by_year.mean(axis=-1)
    return by_year[:, :, -1].copy()


def chained_real(output: dict[str, np.ndarray], va_per_unit: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Chain-linked real value added (2022 reference) and its growth (percent) over stages.

    Args:
        output: stage -> (R, Y) output of the region.
        va_per_unit: stage -> (R, Y) national value added per unit (the deflator), yuan/u.

    Returns:
        level (R, Y) in yuan at 2022 prices, growth (R, Y) percent (NaN in the first year or when the previous
        year's value added is not positive).
    """
    stages = list(output)
    current = sum(output[s] * va_per_unit[s] for s in stages)
    at_previous = sum(output[s][:, 1:] * va_per_unit[s][:, :-1] for s in stages)
    previous = current[:, :-1]
    ratio = np.divide(at_previous, previous, out=np.full(previous.shape, np.nan), where=previous > 0)
    level = np.empty_like(current)
    level[:, 0] = current[:, 0]
    for y in range(1, current.shape[1]):
        level[:, y] = level[:, y - 1] * np.where(np.isfinite(ratio[:, y - 1]), ratio[:, y - 1], 1.0)
    growth = np.concatenate([np.full((current.shape[0], 1), np.nan), 100.0 * (ratio - 1.0)], axis=1)
    return level, growth


def gross_margin(reg: dict, group: str, stage: str) -> np.ndarray:
    """Gross margin of a group of firms, percent of output value: (output value - intermediate consumption -
    depreciation - wages) / output value, as listed makers report it (cost of sales incl. plant and labour)."""
    value = reg[(group, stage, "output_value")]
    cost = reg[(group, stage, "intermediate")] + reg[(group, stage, "depreciation")] + reg[(group, stage, "wages")]
    return np.divide(100.0 * (value - cost), value, out=np.full(value.shape, np.nan), where=value > 0)


def batch_metrics(
    record: BatchRecord, chain: Chain = DEFAULT_CHAIN
) -> dict[tuple[str, str, str], tuple[str, np.ndarray]]:
    """Every yearly figure of a batch: ``(region, segment, metric) -> (unit, (R, Y) values)``."""
    out: dict[tuple[str, str, str], tuple[str, np.ndarray]] = {}
    stages = [s for s in chain.firm_stages if ("china", s.key, "output") in record.regional]
    reg = record.regional
    market = record.market

    tiers = {
        s.key: [
            name for name in dict.fromkeys(record.columns[s.key]["tier"]) if name not in ("suining", "entrant", "all")
        ]
        for s in stages
    }
    national_vapu = {s.key: _div(reg[("china", s.key, "value_added")], reg[("china", s.key, "output")]) for s in stages}

    def own_vapu(region: str, key: str) -> np.ndarray:
        """The region's value added per unit, the nation's where the region made nothing."""
        output = reg[(region, key, "output")]
        own = np.divide(reg[(region, key, "value_added")], output, out=np.zeros_like(output), where=output > 0)
        return np.where(output > 0, own, national_vapu[key])

    base_vapu = {key: v[:, :1] for key, v in national_vapu.items()}

    # the home city, the rival clusters and the rest of China (one region per cluster), then the nation
    first = stages[0].key if stages else ""
    clusters = [
        r for (r, s, n) in reg if s == first and n == "output" and r != "china" and ":" not in r and r != "world"
    ]
    for region in (*clusters, "china"):
        totals: dict[str, np.ndarray] = {}
        outputs = {}
        deflators = {s.key: own_vapu(region, s.key) for s in stages}
        for stage in stages:
            key = stage.key

            def g(name: str, _key: str = key, _region: str = region) -> np.ndarray:
                return reg[(_region, _key, name)]

            output = g("output")
            outputs[key] = output
            unit = stage.unit
            out[(region, key, "output")] = (unit, output)
            out[(region, key, "capacity")] = (f"{unit}/yr", g("capacity"))
            out[(region, key, "utilization")] = ("share", _div(output, g("installed")))
            price_unit = f"{stage.price_unit} excl. VAT"
            if region == "china":
                price = _annual(market[f"price_{key}"], "mean") / stage.price_scale
                out[(region, key, "demand")] = (unit, _annual(market[f"addressed_{key}"]))
                # at a pinned price (salts in path mode), demand served from stocks and trade, not domestic output
                out[(region, key, "imports")] = (
                    unit,
                    _annual(market.get(f"trade_{key}", 0.0 * market[f"addressed_{key}"])),
                )
            else:
                # the region's realised price, the nation's where it sold nothing
                national = _annual(market[f"price_{key}"], "mean") / stage.price_scale
                price = np.where(output > 0, _div(g("output_value"), output) / stage.price_scale, national)
            out[(region, key, "price")] = (price_unit, price)
            out[(region, key, "unmet_demand")] = (unit, g("unmet"))
            if region != "china":
                out[(region, key, "national_share")] = ("%", 100.0 * _div(output, reg[("china", key, "output")]))
            # capacity ordered in the year for plants in the region (u/yr: expansions, new plants, entrants), and
            # the region's share of the nation's: where new plants went
            if (region, key, "ordered") in reg:
                out[(region, key, "new_capacity")] = (f"{unit}/yr", g("ordered"))
                if region != "china":
                    share = 100.0 * _div(g("ordered"), reg[("china", key, "ordered")])
                    out[(region, key, "new_capacity_share")] = ("%", share)
            values = {name: g(field) / YI for name, field in MONEY.items()}
            values["taxes"] = (g("vat") + g("surcharges") + g("income_tax")) / YI
            values["value_added_fixed_2022"] = output * base_vapu[key] / YI
            real, growth = chained_real({key: output}, {key: deflators[key]})
            values["value_added_real"] = real / YI
            for name, value in values.items():
                unit_name = {"value_added_real": REAL_UNIT, "value_added_fixed_2022": FIXED_UNIT}.get(name, "亿元")
                out[(region, key, name)] = (unit_name, value)
                totals[name] = totals.get(name, 0.0) + value
            if region in ("suining", "china"):  # a rival cluster may start from nothing: no growth rate then
                out[(region, key, "value_added_real_growth")] = ("%", growth)
            if region in ("suining", "china"):  # listed makers' measure: undefined where a cluster sells nothing
                out[(region, key, "gross_margin")] = ("%", gross_margin(reg, region, key))
            if region == "china":
                for tier in tiers.get(key, ()):
                    out[(region, key, f"gross_margin_{tier}")] = ("%", gross_margin(reg, f"tier:{tier}", key))
                    # the tier's share of national output (Hunan Yuneng, the LFP leader, sold 29-31% of China's LFP)
                    share = 100.0 * _div(reg[(f"tier:{tier}", key, "output")], output)
                    out[(region, key, f"output_share_{tier}")] = ("%", share)
            out[(region, key, "employment")] = ("persons", g("employment"))
            # plant-months of negative operating cash flow: distress (hedging is meant to lower it)
            out[(region, key, "loss_months")] = ("plant-months", g("loss_months"))
            totals["loss_months"] = totals.get("loss_months", 0.0) + g("loss_months")
            out[(region, key, "firms")] = ("firms", g("firms"))
            totals["employment"] = totals.get("employment", 0.0) + g("employment")
            totals["firms"] = totals.get("firms", 0.0) + g("firms")
        if not stages:
            continue
        real, growth = chained_real(outputs, deflators)
        totals["value_added_real"] = real / YI
        for name, value in totals.items():
            unit = {
                "employment": "persons",
                "firms": "firms",
                "loss_months": "plant-months",
                "value_added_real": REAL_UNIT,
                "value_added_fixed_2022": FIXED_UNIT,
            }.get(name, "亿元")
            out[(region, "all", name)] = (unit, value)
        if region in ("suining", "china"):
            out[(region, "all", "value_added_real_growth")] = ("%", growth)
        if region == "suining" and record.params is not None and record.city:
            out.update(scoreboard_metrics(reg, record.years, record.params, record.city, *record.city_growth, growth))
            out.update(fiscal_metrics(out[("suining", "all", "local_fiscal_revenue")][1], totals["support"]))

    if "world_production" in market:
        supply = _annual(market["world_production"]) + _annual(market["world_released"])
        out[("world", "lithium_salt", "supply")] = ("t LCE", supply)
        out[("world", "lithium_salt", "demand")] = ("t LCE", _annual(market["world_demand"]))
        out[("world", "lithium_salt", "inventory")] = ("t LCE", _annual(market["world_inventory"], "last"))
        out[("world", "lithium_salt", "curtailed_capacity")] = ("t LCE/yr", _annual(market["world_curtailed"], "mean"))
        out[("world", "lithium_salt", "unmet_demand")] = ("t LCE", _annual(market["world_unmet"]))
        # path mode: what production and stocks could not cover at the scenario's price (0 in market mode)
        out[("world", "lithium_salt", "supply_gap")] = ("t LCE", _annual(market["world_gap"]))
        out[("world", "lithium_salt", "price")] = ("yuan/t LCE incl. VAT", _annual(market["carbonate_quote"], "mean"))
        # the supply stage's own figures sit on the same rows (region world, segment lithium_salt: the segments of
        # summary.csv stay the firm stages and "all")
        out[("world", "lithium_salt", "production")] = ("t LCE", _annual(market["world_production"]))
        capacity = _annual(market["world_capacity"], "mean")
        out[("world", "lithium_salt", "supply_capacity")] = ("t LCE/yr", _annual(market["world_capacity"], "last"))
        out[("world", "lithium_salt", "supply_utilization")] = (
            "share",
            _div(_annual(market["world_production"]), capacity),
        )
    return out


def plant_metrics(record: BatchRecord) -> dict[tuple[str, str, str], tuple[str, np.ndarray]]:
    """The registry's named plants' yearly figures: ``(firm_id, segment, metric) -> (unit, (R, Y))`` for
    ``output``, ``output_value`` and ``value_added`` (亿元), ``capacity`` and ``utilization``. Not summary rows: the
    calibration reads them for the plants' reported figures."""
    out: dict[tuple[str, str, str], tuple[str, np.ndarray]] = {}
    for (region, stage, name), values in record.regional.items():
        if not region.startswith("plant:"):
            continue
        firm_id = region.split(":", 1)[1]
        if name in ("output_value", "value_added"):
            out[(firm_id, stage, name)] = ("亿元", values / YI)
        elif name == "output":
            out[(firm_id, stage, name)] = ("", values)
            installed = record.regional[(region, stage, "installed")]
            out[(firm_id, stage, "utilization")] = ("share", _div(values, installed))
        elif name == "capacity":
            out[(firm_id, stage, name)] = ("/yr", values)
    return out


def fiscal_metrics(revenue: np.ndarray, support: np.ndarray) -> dict[tuple[str, str, str], tuple[str, np.ndarray]]:
    """What the city gets back and what it pays, summed from the first year of the run (Suining, all segments).

    ``net_fiscal`` = cumulative ``local_fiscal_revenue`` - cumulative ``support`` (亿元): the local revenue from
    lithium the city has collected since 2022 less the support it has paid to lithium firms under the scenario's
    levers. A scenario's difference from its baseline reads "local revenue gained minus support paid".

    Args:
        revenue: (R, Y) local fiscal revenue from lithium, 亿元 a year.
        support: (R, Y) support paid to Suining's lithium firms, 亿元 a year.
    """
    received = np.cumsum(revenue, axis=1)  # along the years of each replicate: independent of the batch
    paid = np.cumsum(support, axis=1)
    key = ("suining", "all")
    return {
        (*key, "local_fiscal_revenue_cumulative"): ("亿元", received),
        (*key, "support_cumulative"): ("亿元", paid),
        (*key, "net_fiscal"): ("亿元", received - paid),
    }


STAGE_METRICS = (
    "loss_months",
    "output",
    "capacity",
    "utilization",
    "price",
    "unmet_demand",
    *MONEY,
    "taxes",
    "value_added_fixed_2022",
    "value_added_real",
    "value_added_real_growth",
    "gross_margin",
    "employment",
    "firms",
)
ALL_METRICS = (
    "loss_months",
    *MONEY,
    "taxes",
    "value_added_fixed_2022",
    "value_added_real",
    "value_added_real_growth",
    "employment",
    "firms",
)
SCOREBOARD_METRICS = (
    "local_fiscal_revenue",
    "gdp_share",
    "gdp_growth_contribution",
    "city_gdp_growth",
    "fai_growth_contribution",
    "revenue_growth_contribution",
    "local_fiscal_revenue_cumulative",
    "support_cumulative",
    "net_fiscal",
)
WORLD_METRICS = {
    "lithium_salt": (
        "supply",
        "demand",
        "inventory",
        "curtailed_capacity",
        "unmet_demand",
        "supply_gap",
        "price",
        "production",
        "supply_capacity",
        "supply_utilization",
    ),
}


def metric_catalogue(
    chain: Chain = DEFAULT_CHAIN, tiers: dict[str, list[str]] | None = None
) -> set[tuple[str, str, str]]:
    """Every (region, segment, metric) a summary can hold.

    Args:
        tiers: the rest of China's tier names by stage (default: those of ``tiers.csv``).
    """
    if tiers is None:
        from sim.inputs.data import default_data

        tiers = {key: [t.tier for t in ts if t.tier != "all"] for key, ts in default_data().tiers.items()}
    out: set[tuple[str, str, str]] = set()
    from sim.inputs.clusters import cluster_keys

    clusters = cluster_keys()
    for stage in chain.firm_stages:
        for region in (*clusters, "china"):
            out.update(
                (region, stage.key, m) for m in STAGE_METRICS if m not in ("gross_margin", "value_added_real_growth")
            )
            out.add((region, stage.key, "new_capacity"))
        out.update(
            (region, stage.key, m)
            for region in ("suining", "china")
            for m in ("gross_margin", "value_added_real_growth")
        )
        for region in clusters:
            out.add((region, stage.key, "national_share"))
            out.add((region, stage.key, "new_capacity_share"))
        out.add(("china", stage.key, "demand"))
        out.add(("china", stage.key, "imports"))
        out.update(("china", stage.key, f"gross_margin_{t}") for t in tiers.get(stage.key, ()))
        out.update(("china", stage.key, f"output_share_{t}") for t in tiers.get(stage.key, ()))
    for region in (*clusters, "china"):
        out.update((region, "all", m) for m in ALL_METRICS if m != "value_added_real_growth")
    out.update((region, "all", "value_added_real_growth") for region in ("suining", "china"))
    out.update(("suining", "all", m) for m in SCOREBOARD_METRICS)
    for segment, metrics in WORLD_METRICS.items():
        out.update(("world", segment, m) for m in metrics)
    return out


@dataclass
class MetricTable:
    """Summary rows (year, region, segment, metric, unit) and their values, one column per replicate."""

    keys: list[tuple[int, str, str, str, str]]
    values: np.ndarray  # (rows, R)

    @classmethod
    def from_batch(cls, record: BatchRecord, chain: Chain = DEFAULT_CHAIN) -> MetricTable:
        metrics = batch_metrics(record, chain)
        keys, rows = [], []
        for (region, segment, metric), (unit, values) in metrics.items():
            for j, year in enumerate(record.years):
                keys.append((int(year), region, segment, metric, unit))
                rows.append(values[:, j])
        order = sorted(range(len(keys)), key=lambda i: keys[i][:4])
        return cls([keys[i] for i in order], np.stack([rows[i] for i in order]))
