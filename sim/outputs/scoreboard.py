"""The report's own scoreboard: what lithium does to the city's GDP growth, investment and revenue.

The 2024 work report judges the year by GDP growth (2023: +6.7%; 2024 target about 7%), fixed-asset investment
(2023: +6.2%, 1.8 points below target; 2024 target +6%), local general budget revenue (2023: +9.9%; 2024 target
+7%) and projects signed (141 in 2023; 2024 target 100 or more). These figures put the model's lithium industry
in those terms (docs/model.md, "Submodels: observation"; the city's figures in ``sim/inputs/data/city.csv``):

- ``fixed_asset_investment`` (亿元): capex spent by Suining's lithium firms and on their behalf in the year, by
  year of spending (pipeline plants included);
- ``local_fiscal_revenue`` (亿元): the part of their taxes that stays with the city: VAT x the local share x the
  city's share of it, income tax likewise, surcharges whole;
- ``gdp_share`` (%): lithium value added at current prices over city GDP. City GDP is the data's through its
  last year; after it, the rest of the economy grows at the scenario's ``[city]`` real growth and deflator;
- ``gdp_growth_contribution`` (percentage points): lithium's real value-added growth (chained, previous-year
  prices) times its share of GDP the year before. With the rest of the economy's contribution, computed the
  same way, the two add up to the city's real growth (its record in data years, the projection after);
- ``fai_growth_contribution``, ``revenue_growth_contribution`` (percentage points): the change in lithium's
  investment or local revenue over the city's total the year before (2023 levels assumed, see ``city.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.inputs.units import YI

INDICATORS = ("gdp_growth", "fai_growth", "revenue_growth", "projects_signed")
CONTRIBUTIONS = {
    "gdp_growth": "gdp_growth_contribution",
    "fai_growth": "fai_growth_contribution",
    "revenue_growth": "revenue_growth_contribution",
}


def local_revenue(vat: np.ndarray, income_tax: np.ndarray, surcharges: np.ndarray, params) -> np.ndarray:
    """Taxes that stay with the city, yuan (same shape as the inputs)."""
    city = params.city_share_of_local
    return (
        vat * params.vat_local_share * city
        + income_tax * params.income_tax_local_share * city
        + surcharges * params.surcharge_city_share
    )


def _path(levels: dict[int, float], years: list[int], lithium: np.ndarray, growth: float) -> np.ndarray:
    """A city total by year (R, Y): the data's level where given; after the last given year, the part outside
    lithium grows at ``growth`` (nominal) and lithium's part is the model's."""
    r, y = lithium.shape
    out = np.full((r, y), np.nan)
    rest = np.full(r, np.nan)
    for j, year in enumerate(years):
        if year in levels:
            out[:, j] = levels[year]
            rest = levels[year] - lithium[:, j]
        elif np.isfinite(rest).all() and j > 0:
            rest = rest * (1.0 + growth)
            out[:, j] = rest + lithium[:, j]
    return out


def _growth_contribution(lithium: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Percentage points of the total's growth that lithium's change makes: 100 x d(lithium) / total(t-1)."""
    out = np.full(lithium.shape, np.nan)
    prev = total[:, :-1]
    out[:, 1:] = np.divide(
        100.0 * (lithium[:, 1:] - lithium[:, :-1]),
        prev,
        out=np.full(prev.shape, np.nan),
        where=np.isfinite(prev) & (prev > 0),
    )
    return out


def city_growth(
    lithium_va: np.ndarray,
    lithium_growth: np.ndarray,
    gdp: np.ndarray,
    years: list[int],
    record: dict[int, float],
    other_growth: float,
) -> dict[str, np.ndarray]:
    """Contributions of lithium and of the rest of the economy to the city's real GDP growth, in points.

    Args:
        lithium_va: (R, Y) lithium value added at current prices, 亿元.
        lithium_growth: (R, Y) its real growth, percent.
        gdp: (R, Y) city GDP at current prices, 亿元.
        record: the city's recorded real growth by year, percent.
        other_growth: the rest of the economy's real growth after the record, fraction.

    Returns:
        ``share`` (lithium share of GDP, %), ``lithium`` and ``rest`` contributions and ``city`` growth (points):
        ``city = lithium + rest`` every year; in recorded years the rest's growth is what the record implies.
    """
    share = 100.0 * np.divide(lithium_va, gdp, out=np.full(gdp.shape, np.nan), where=gdp > 0)
    lithium = np.full(gdp.shape, np.nan)
    rest = np.full(gdp.shape, np.nan)
    city = np.full(gdp.shape, np.nan)
    for j in range(1, len(years)):
        w = share[:, j - 1] / 100.0
        lithium[:, j] = w * lithium_growth[:, j]
        if years[j] in record:
            city[:, j] = record[years[j]]
            rest[:, j] = city[:, j] - lithium[:, j]
        else:
            rest[:, j] = (1.0 - w) * 100.0 * other_growth
            city[:, j] = lithium[:, j] + rest[:, j]
    return {"share": share, "lithium": lithium, "rest": rest, "city": city}


def scoreboard_metrics(
    reg: dict,
    years: list[int],
    params,
    city: dict[str, dict[int, float]],
    other_growth: float,
    deflator: float,
    lithium_growth: np.ndarray,
) -> dict[tuple[str, str, str], tuple[str, np.ndarray]]:
    """The scoreboard's figures for Suining's lithium industry (region ``suining``, segment ``all``).

    Args:
        reg: the batch's regional records (``(region, stage, field) -> (R, Y)``).
        lithium_growth: (R, Y) real growth of Suining's lithium value added, percent.
    """
    stages = sorted({stage for (region, stage, _) in reg if region == "suining"})

    def total(name: str) -> np.ndarray:
        return sum(reg[("suining", stage, name)] for stage in stages)

    va = total("value_added") / YI
    fai = total("investment") / YI
    revenue = local_revenue(total("vat"), total("income_tax"), total("surcharges"), params) / YI
    nominal = (1.0 + other_growth) * (1.0 + deflator) - 1.0
    gdp = _path(city.get("gdp", {}), years, va, nominal)
    growth = city_growth(va, lithium_growth, gdp, years, city.get("gdp_growth", {}), other_growth)
    fai_city = _path(city.get("fai", {}), years, fai, nominal)
    revenue_city = _path(city.get("revenue", {}), years, revenue, nominal)
    key = ("suining", "all")
    return {
        (*key, "local_fiscal_revenue"): ("亿元", revenue),
        (*key, "gdp_share"): ("%", growth["share"]),
        (*key, "gdp_growth_contribution"): ("percentage points", growth["lithium"]),
        (*key, "city_gdp_growth"): ("%", growth["city"]),
        (*key, "fai_growth_contribution"): ("percentage points", _growth_contribution(fai, fai_city)),
        (*key, "revenue_growth_contribution"): ("percentage points", _growth_contribution(revenue, revenue_city)),
    }


FISCAL = ("support_cumulative", "local_fiscal_revenue_cumulative", "net_fiscal")  # the city's cost and return


def scoreboard_table(
    summary: pd.DataFrame, city: dict[str, dict[int, float]], projects: dict[str, int] | None = None
) -> pd.DataFrame:
    """The scoreboard of a run (or of several: the summary may hold many scenarios): for each indicator and
    year, the report's target, the city's record, lithium's figure (mean, P5, P95) and its contribution (mean,
    P5, P95); ``projects`` gives each scenario's count of lithium projects in its pipeline (beside projects
    signed); and, as indicator ``net_fiscal``, what the city has paid in support and got back in local revenue
    since 2022, and the net (`sim.outputs.metrics.fiscal_metrics`)."""
    rows = []
    suining = summary[(summary.region == "suining") & (summary.segment == "all")]
    figures = {
        "gdp_growth": "gdp_share",
        "fai_growth": "fixed_asset_investment",
        "revenue_growth": "local_fiscal_revenue",
    }
    for scenario, runs in suining.groupby("scenario", sort=False):
        for indicator in INDICATORS[:3]:
            level = runs[runs.metric == figures[indicator]].set_index("year")
            contribution = runs[runs.metric == CONTRIBUTIONS[indicator]].set_index("year")
            for year in sorted(runs.year.unique()):
                rows.append(
                    {
                        "scenario": scenario,
                        "year": int(year),
                        "indicator": indicator,
                        "target": city.get(f"target_{indicator}", {}).get(int(year), np.nan),
                        "city_record": city.get(indicator, {}).get(int(year), np.nan),
                        "lithium_metric": figures[indicator],
                        "lithium_value": level["mean"].get(year, np.nan),
                        "lithium_p05": level["p05"].get(year, np.nan),
                        "lithium_p95": level["p95"].get(year, np.nan),
                        "lithium_unit": level["unit"].get(year, ""),
                        "contribution_mean": contribution["mean"].get(year, np.nan),
                        "contribution_p05": contribution["p05"].get(year, np.nan),
                        "contribution_p95": contribution["p95"].get(year, np.nan),
                    }
                )
        for year in sorted(runs.year.unique()):
            rows.append(
                {
                    "scenario": scenario,
                    "year": int(year),
                    "indicator": "projects_signed",
                    "target": city.get("target_projects_signed", {}).get(int(year), np.nan),
                    "city_record": city.get("projects_signed", {}).get(int(year), np.nan),
                    "lithium_metric": "pipeline_projects",
                    "lithium_value": float((projects or {}).get(scenario, 0)),
                    "lithium_p05": np.nan,
                    "lithium_p95": np.nan,
                    "lithium_unit": "projects",
                    "contribution_mean": np.nan,
                    "contribution_p05": np.nan,
                    "contribution_p95": np.nan,
                }
            )
        for metric in FISCAL:
            level = runs[runs.metric == metric].set_index("year")
            for year in level.index:
                rows.append(
                    {
                        "scenario": scenario,
                        "year": int(year),
                        "indicator": "net_fiscal",
                        "target": np.nan,
                        "city_record": np.nan,
                        "lithium_metric": metric,
                        "lithium_value": level["mean"][year],
                        "lithium_p05": level["p05"][year],
                        "lithium_p95": level["p95"][year],
                        "lithium_unit": level["unit"][year],
                        "contribution_mean": np.nan,
                        "contribution_p05": np.nan,
                        "contribution_p95": np.nan,
                    }
                )
    return pd.DataFrame(rows)
