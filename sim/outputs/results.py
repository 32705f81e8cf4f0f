"""From a finished model to tables: per-firm years, and the region x segment x year summary.

Money in 亿元 (1e8 yuan). Constant-price value added follows the statistics bureau's industrial method
(DESIGN section 3): output at base-year (2022) prices x the base-year value-added rate, by segment. Both
factors are national averages of the segment in 2022 as the run computes them, so
``value_added_real = output x (value added per unit of the segment nationally in 2022)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from agents.firm import SEGMENTS, UNITS
from sim.engine.model import RECORDED, LithiumModel
from sim.inputs.scenario import MODEL_START

YI = 1e8  # yuan per 亿元
SUMMARY_COLUMNS = ["scenario", "year", "region", "segment", "metric", "unit", "mean", "p05", "p50", "p95"]
MONEY = ("output_value", "intermediate", "value_added", "value_added_real", "wages", "profit", "taxes", "support")
METRIC_UNITS = {
    "output_value": "亿元", "intermediate": "亿元", "value_added": "亿元", "value_added_real": "亿元 (2022 prices)",
    "value_added_real_growth": "%", "national_share": "%", "utilization": "share", "firms": "firms",
    "employment": "persons", "wages": "亿元", "profit": "亿元", "taxes": "亿元", "support": "亿元",
}


@dataclass
class ReplicateResult:
    """One replicate: long summary rows and the per-firm yearly table."""

    summary: pd.DataFrame  # year, region, segment, metric, unit, value
    firms: pd.DataFrame
    market: pd.DataFrame  # monthly prices and national quantities


def _stack(history: list[dict[str, np.ndarray]], name: str, n: int) -> np.ndarray:
    """(months, firms) matrix of one recorded field, zero for firms not yet created."""
    out = np.zeros((len(history), n))
    for t, rec in enumerate(history):
        values = rec[name]
        out[t, : len(values)] = values
    return out


def collect(model: LithiumModel) -> ReplicateResult:
    """Aggregate a finished model's monthly records into yearly tables."""
    n_years = model.n_months // 12
    years = np.arange(MODEL_START[0], MODEL_START[0] + n_years)
    firm_frames = []
    rows: list[tuple[int, str, str, str, str, float]] = []
    totals: dict[tuple[str, str], dict[str, np.ndarray]] = {}

    for seg in SEGMENTS:
        book = model.books[seg]
        hist = model.history[seg]
        n = len(book)
        m = {name: _stack(hist, name, n) for name in (*RECORDED, "support", "capacity", "available", "active")}
        yearly = {name: m[name].reshape(n_years, 12, n) for name in m}
        flows = {name: yearly[name].sum(axis=1) for name in (*RECORDED, "support") if name != "employment"}
        flows["taxes"] = flows["vat"] + flows["surcharges"] + flows["income_tax"]
        employment = yearly["employment"].mean(axis=1)
        capacity_end = yearly["capacity"][:, -1, :]
        available_mean = yearly["available"].mean(axis=1)
        alive = (yearly["active"][:, -1, :] > 0) & (capacity_end > 0)

        base_output = flows["output"][0].sum()
        va_per_unit = flows["value_added"][0].sum() / base_output if base_output > 0 else 0.0
        flows["value_added_real"] = flows["output"] * va_per_unit

        regions = {"suining": book.suining, "china": np.ones(n, dtype=bool)}
        for region, mask in regions.items():
            agg = {name: flows[name][:, mask].sum(axis=1) for name in flows}
            agg["employment"] = employment[:, mask].sum(axis=1)
            agg["capacity"] = capacity_end[:, mask].sum(axis=1)
            agg["available"] = available_mean[:, mask].sum(axis=1)
            agg["firms"] = alive[:, mask].sum(axis=1).astype(float)
            totals[(region, seg)] = agg

        status = np.where(alive, "active", np.where(yearly["active"][:, -1, :] > 0, "building", "exited"))
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(available_mean > 0, flows["output"] / available_mean, 0.0)
        firm_frames.append(pd.DataFrame({
            "firm_id": np.tile([a.firm_id for a in book.agents], n_years),
            "name": np.tile([a.name for a in book.agents], n_years),
            "segment": seg,
            "region": np.tile(np.where(book.suining, "suining", "rest_of_china"), n_years),
            "year": np.repeat(years, n),
            "status": status.ravel(),
            "capacity": capacity_end.ravel(),
            "output": flows["output"].ravel(),
            "utilization": util.ravel(),
            "output_value": flows["output_value"].ravel() / YI,
            "value_added": flows["value_added"].ravel() / YI,
            "value_added_real": flows["value_added_real"].ravel() / YI,
            "profit": flows["profit"].ravel() / YI,
            "taxes": flows["taxes"].ravel() / YI,
            "support": flows["support"].ravel() / YI,
            "employment": employment.ravel(),
        }))

    market = pd.DataFrame(model.market_history)
    market["year"] = MODEL_START[0] + market["month"] // 12
    prices = market.groupby("year")[["carbonate_price", "lfp_price", "cell_price"]].mean()
    price_by_segment = {"lithium_salt": prices["carbonate_price"].to_numpy(),
                        "lfp_cathode": prices["lfp_price"].to_numpy(),
                        "battery": prices["cell_price"].to_numpy() / 1e9}  # yuan/Wh reads better than yuan/GWh
    price_units = {"lithium_salt": "yuan/t LCE", "lfp_cathode": "yuan/t", "battery": "yuan/Wh"}

    for region in ("suining", "china"):
        all_seg = {name: sum(totals[(region, s)][name] for s in SEGMENTS)
                   for name in (*MONEY, "employment", "firms")}
        for seg in (*SEGMENTS, "all"):
            agg = totals[(region, seg)] if seg != "all" else all_seg
            series: dict[str, tuple[str, np.ndarray]] = {}
            if seg != "all":
                unit = UNITS[seg]
                series["output"] = (unit, agg["output"])
                series["capacity"] = (f"{unit}/yr", agg["capacity"])
                with np.errstate(divide="ignore", invalid="ignore"):
                    series["utilization"] = ("share", np.where(agg["available"] > 0,
                                                               agg["output"] / agg["available"], 0.0))
                    if region == "china":
                        series["price"] = (price_units[seg], price_by_segment[seg])
                    else:
                        scale = 1e9 if seg == "battery" else 1.0
                        series["price"] = (price_units[seg], np.where(
                            agg["output"] > 0, agg["output_value"] / agg["output"] / scale, 0.0))
                if region == "suining":
                    national = totals[("china", seg)]["output"]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        series["national_share"] = ("%", np.where(national > 0, 100 * agg["output"] / national, 0.0))
            for name in MONEY:
                series[name] = (METRIC_UNITS[name], agg[name] / YI)
            real = agg["value_added_real"]
            with np.errstate(divide="ignore", invalid="ignore"):
                growth = np.where(real[:-1] > 0, 100.0 * (real[1:] / real[:-1] - 1.0), np.nan)
            series["value_added_real_growth"] = ("%", np.concatenate([[np.nan], growth]))
            series["employment"] = ("persons", agg["employment"])
            series["firms"] = ("firms", agg["firms"])
            for metric, (unit, values) in series.items():
                for year, value in zip(years, values, strict=True):
                    if np.isfinite(value):
                        rows.append((int(year), region, seg, metric, unit, float(value)))

    summary = pd.DataFrame(rows, columns=["year", "region", "segment", "metric", "unit", "value"])
    return ReplicateResult(summary=summary, firms=pd.concat(firm_frames, ignore_index=True), market=market)


def summarise(per_replicate: list[pd.DataFrame], scenario: str) -> pd.DataFrame:
    """Mean and P5/P50/P95 across replicates of the long summary rows (one replicate: all four equal)."""
    stacked = pd.concat(per_replicate, ignore_index=True)
    keys = ["year", "region", "segment", "metric", "unit"]
    grouped = stacked.groupby(keys, sort=False)["value"]
    out = grouped.mean().rename("mean").to_frame()
    for q, name in ((0.05, "p05"), (0.5, "p50"), (0.95, "p95")):
        out[name] = grouped.quantile(q)
    out = out.reset_index()
    # quantiles of identical values can differ from the mean in the last bit; one replicate must show equality
    single = grouped.nunique().to_numpy() == 1
    for name in ("p05", "p50", "p95"):
        out.loc[single, name] = out.loc[single, "mean"]
    out.insert(0, "scenario", scenario)
    return out[SUMMARY_COLUMNS]
