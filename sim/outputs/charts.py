"""Charts of a run and of a comparison of runs: titles, axis labels with units (亿元, t, GWh, %), legends, P5-P95
bands, one tick per year.

Charts read tables (the run summary, the supply table), never the model. Words come from `sim.outputs.labels`;
the bundled font subset (``sim/outputs/fonts/``, SIL Open Font License) renders 亿元 and the Chinese labels on a
machine with no CJK font installed. Levels at current prices and at comparable prices are never drawn on one
axis: value added is shown as a current-price level beside real growth as a rate.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib import ticker as mticker  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.inputs.chain import DEFAULT_CHAIN, Chain  # noqa: E402
from sim.inputs.reported import reported_figures  # noqa: E402
from sim.outputs.labels import metric_label, segment_label, stage_unit, text, unit_label  # noqa: E402

FONT_DIR = Path(__file__).resolve().parent / "fonts"
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
BASELINE_COLOUR = "#222222"
# the report's 2023 figures (2024 work report, line 21), shares of national output and real growth, are read from
# the calibration targets when a chart marks them (sim.inputs.reported)
REPORTED_SHARE_STAGES = ("lithium_salt", "lfp_cathode")


def stage_colours(chain: Chain = DEFAULT_CHAIN) -> dict[str, str]:
    colours = {stage.key: PALETTE[i % len(PALETTE)] for i, stage in enumerate(chain)}
    colours["all"] = "#333333"
    return colours


def use_bundled_font() -> None:
    """Register the bundled CJK subset and put it after DejaVu Sans, so 亿元 renders everywhere."""
    names = []
    for path in sorted(FONT_DIR.glob("*.[ot]tf")):
        font_manager.fontManager.addfont(str(path))
        names.append(font_manager.FontProperties(fname=str(path)).get_name())
    # a list of families: matplotlib falls back glyph by glyph from the first to the next
    plt.rcParams["font.family"] = ["DejaVu Sans", *names]
    plt.rcParams["axes.unicode_minus"] = False


def _series(summary: pd.DataFrame, region: str, segment: str, metric: str) -> pd.DataFrame:
    sel = summary[(summary.region == region) & (summary.segment == segment) & (summary.metric == metric)]
    return sel.sort_values("year")


def _band(ax, rows: pd.DataFrame, colour: str, label: str, band_label: str | None, style: str = "-") -> bool:
    """Mean line and, when the replicates differ, the P5-P95 band; True if a band was drawn."""
    if rows.empty:
        return False
    ax.plot(rows.year, rows["mean"], style, color=colour, lw=2, label=label)
    if (rows.p95 - rows.p05).abs().max() > 0:
        ax.fill_between(rows.year, rows.p05, rows.p95, color=colour, alpha=0.18, label=band_label, lw=0)
        return True
    return False


def _bars(ax, rows: pd.DataFrame, label: str, band_label: str, number: str, alpha: float = 0.85) -> None:
    """Bars of the yearly means, each with its P5-P95 range as an error bar and its value written on it."""
    bars = ax.bar(rows.year, rows["mean"], color="#386cb0", alpha=alpha, label=label)
    ax.errorbar(
        rows.year,
        rows["mean"],
        yerr=[rows["mean"] - rows.p05, rows.p95 - rows["mean"]],
        fmt="none",
        ecolor="#222222",
        elinewidth=1,
        capsize=3,
        label=band_label,
    )
    ax.bar_label(bars, labels=[format(v, number) for v in rows["mean"]], fontsize=7, padding=2)


def _thousands(value: float, _pos: int) -> str:
    """Tick labels: 1,250,000 rather than 1.25e6 (planners read tonnes and persons in full)."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _short(value: float) -> str:
    if value != value:  # NaN: no bar
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _years(ax, years) -> None:
    """One tick per year, labels slanted when there are many, so they never run together."""
    years = sorted({int(y) for y in years})
    if not years:
        return
    ax.set_xticks(years)
    ax.set_xticklabels(
        [str(y) for y in years],
        rotation=45 if len(years) > 7 else 0,
        ha="right" if len(years) > 7 else "center",
        fontsize=8,
    )
    ax.set_xlim(years[0] - 0.4, years[-1] + 0.4)


def _axes_style(ax, lab: dict, ylabel: str, years=None) -> None:
    ax.set_xlabel(lab["year"])
    ax.set_ylabel(ylabel)
    if years is not None:
        _years(ax, years)
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
    ax.grid(alpha=0.3)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _panels(count: int, width: float = 4.6, height: float = 4.4):
    fig, axes = plt.subplots(1, count, figsize=(width * count + 1.5, height), squeeze=False)
    return fig, list(axes[0])


# ---------------------------------------------------------------------------------------------------------------
# a run
# ---------------------------------------------------------------------------------------------------------------
def run_charts(
    summary: pd.DataFrame,
    out_dir: str | Path,
    scenario: str,
    lang: str = "en",
    supply: pd.DataFrame | None = None,
    chain: Chain = DEFAULT_CHAIN,
    city: dict | None = None,
) -> list[Path]:
    """Write a run's PNG charts into ``out_dir``; return their paths.

    Args:
        summary: the run's summary (``summary.csv``).
        scenario: the scenario's name, for titles.
        supply: the world supply table (``supply.csv``, market mode) for the cost curve.
        city: the city's data (``city.csv``) for the scoreboard's records and targets.
    """
    use_bundled_font()
    lab = text(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = summary
    years = sorted(s["year"].unique())
    colours = stage_colours(chain)
    stages = [st for st in chain.firm_stages if not _series(s, "china", st.key, "output").empty]
    paths = []

    # 1. Suining's output by stage
    fig, axes = _panels(len(stages))
    for ax, stage in zip(axes, stages, strict=True):
        _band(
            ax,
            _series(s, "suining", stage.key, "output"),
            colours[stage.key],
            segment_label(lang, stage.key),
            lab["band"],
        )
        ax.set_title(segment_label(lang, stage.key, chain))
        _axes_style(
            ax,
            lab,
            lab["with_unit"].format(name=metric_label(lang, "output"), unit=stage_unit(lang, stage.key, chain)),
            years,
        )
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(lab["output_title"].format(scenario=scenario))
    paths.append(_save(fig, out / "suining_output.png"))

    # 2. value added: the current-price level and, on its own axis, real growth as a rate
    fig, (left, right) = _panels(2, width=5.2)
    _band(left, _series(s, "suining", "all", "value_added"), "#e7298a", metric_label(lang, "value_added"), lab["band"])
    left.set_title(metric_label(lang, "value_added"))
    _axes_style(left, lab, lab["va_level"], years)
    left.legend(loc="best", fontsize=8)
    growth = _series(s, "suining", "all", "value_added_real_growth")
    if not growth.empty:
        _bars(right, growth, metric_label(lang, "value_added_real_growth"), lab["band"], ".1f", alpha=0.8)
    right.axhline(0.0, color="#888888", lw=1)
    reported_growth = reported_figures("value_added_real_growth", "suining", ("all",), 2023)["all"]
    right.scatter(
        [2023],
        [reported_growth],
        marker="D",
        s=55,
        color="#ffd92f",
        edgecolor="black",
        zorder=5,
        label=f"{reported_growth:+g}%: {lab['report']}",
    )
    right.set_title(metric_label(lang, "value_added_real_growth"))
    _axes_style(right, lab, lab["va_growth"], years)
    right.legend(loc="best", fontsize=8)
    fig.suptitle(lab["va_title"].format(scenario=scenario))
    paths.append(_save(fig, out / "suining_value_added.png"))

    # 3. national shares, with the report's 2023 figures
    fig, ax = plt.subplots(figsize=(8.5, 4.6))
    reported_shares = reported_figures("national_share", "suining", REPORTED_SHARE_STAGES, 2023)
    for stage in stages:
        rows = _series(s, "suining", stage.key, "national_share")
        _band(ax, rows, colours[stage.key], segment_label(lang, stage.key, chain), None)
        if stage.key in reported_shares:
            ax.scatter(
                [2023],
                [reported_shares[stage.key]],
                color=colours[stage.key],
                marker="D",
                s=55,
                zorder=5,
                edgecolor="black",
                label=f"{segment_label(lang, stage.key, chain)} {reported_shares[stage.key]:g}%: {lab['report']}",
            )
    ax.set_title(lab["share_title"].format(scenario=scenario))
    _axes_style(ax, lab, lab["share_axis"], years)
    ax.legend(loc="best", fontsize=8)
    paths.append(_save(fig, out / "national_shares.png"))

    # 4. prices
    fig, axes = _panels(len(stages))
    for ax, stage in zip(axes, stages, strict=True):
        rows = _series(s, "china", stage.key, "price")
        _band(ax, rows, colours[stage.key], segment_label(lang, stage.key, chain), lab["band"])
        ax.set_title(segment_label(lang, stage.key, chain))
        unit = unit_label(lang, rows["unit"].iloc[0]) if len(rows) else ""
        _axes_style(ax, lab, lab["with_unit"].format(name=metric_label(lang, "price"), unit=unit), years)
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(lab["price_title"].format(scenario=scenario))
    paths.append(_save(fig, out / "prices.png"))

    # 5. demand against output and capacity, by stage
    fig, axes = _panels(len(stages))
    for ax, stage in zip(axes, stages, strict=True):
        demand = _series(s, "china", stage.key, "demand")
        _band(ax, demand, "#999999", lab["demand"], None, "--")
        _band(ax, _series(s, "china", stage.key, "output"), colours[stage.key], lab["output"], lab["band"])
        _band(ax, _series(s, "china", stage.key, "capacity"), "#444444", lab["capacity"], None, ":")
        unmet = _series(s, "china", stage.key, "unmet_demand")
        if len(unmet) and unmet["mean"].max() > 0:
            ax.bar(unmet.year, unmet["mean"], color="#d62728", alpha=0.6, width=0.5, label=lab["unmet"])
        ax.set_title(segment_label(lang, stage.key, chain))
        _axes_style(ax, lab, stage_unit(lang, stage.key, chain), years)
        ax.legend(loc="best", fontsize=7)
    fig.suptitle(lab["demand_title"].format(scenario=scenario))
    paths.append(_save(fig, out / "demand_output.png"))

    # 6. the work report's scoreboard
    if not _series(s, "suining", "all", "gdp_growth_contribution").empty and city is not None:
        paths.append(scoreboard_chart(s, city, lab, lang, scenario, years, out / "scoreboard.png"))

    # 7. market mode: the world market and the cost curve
    if not _series(s, "world", "lithium_salt", "supply").empty:
        paths.append(_world_market(s, lab, lang, scenario, years, out / "world_market.png"))
        if supply is not None and len(supply):
            paths.append(_cost_curve(s, supply, lab, scenario, out / "cost_curve.png"))
    return paths


def scoreboard_chart(s: pd.DataFrame, city: dict, lab: dict, lang: str, scenario: str, years, path: Path) -> Path:
    """Lithium's contribution to the report's indicators by year, beside the city's record and the targets."""
    fig, axes = plt.subplots(2, 2, figsize=(12.5, 8.5))
    panels = (
        ("gdp_growth", "gdp_growth_contribution", lab["score_gdp"]),
        ("fai_growth", "fai_growth_contribution", lab["score_fai"]),
        ("revenue_growth", "revenue_growth_contribution", lab["score_revenue"]),
    )
    for ax, (indicator, metric, title) in zip(axes.ravel(), panels, strict=False):
        rows = _series(s, "suining", "all", metric).dropna(subset=["mean"])
        if len(rows):
            _bars(ax, rows, lab["contribution"], lab["band"], "+.2f")
        record = city.get(indicator, {})
        target = city.get(f"target_{indicator}", {})
        if indicator == "gdp_growth":
            growth = _series(s, "suining", "all", "city_gdp_growth").dropna(subset=["mean"])
            ax.plot(growth.year, growth["mean"], color="#666666", lw=1.5, marker="o", ms=3, label=lab["city_growth"])
        # the city's record, then the report's targets, drawn over the bars
        for points, marker, size, colour, label in (
            (record, "o", 45, "#1b9e77", lab["record"]),
            (target, "*", 140, "#ffd92f", lab["target"]),
        ):
            shown = [y for y in years if y in points]
            ax.scatter(
                shown,
                [points[y] for y in shown],
                marker=marker,
                s=size,
                color=colour,
                edgecolor="black",
                zorder=6,
                label=label,
            )
        ax.axhline(0.0, color="#888888", lw=1)
        ax.set_title(title)
        _axes_style(ax, lab, "%", years)
        ax.legend(loc="best", fontsize=7)
    ax = axes.ravel()[3]
    _band(ax, _series(s, "suining", "all", "gdp_share"), "#e7298a", metric_label(lang, "gdp_share"), lab["band"])
    ax.set_title(lab["score_share"])
    _axes_style(ax, lab, "%", years)
    ax.legend(loc="best", fontsize=7)
    fig.suptitle(lab["score_title"].format(scenario=scenario))
    return _save(fig, path)


def scoreboard_comparison(table: pd.DataFrame, city: dict, out_dir: str | Path, lang: str = "en") -> Path | None:
    """Lithium's contribution to the report's indicators by scenario, for the years from 2024 to 2026."""
    use_bundled_font()
    lab = text(lang)
    rows = table[(table.region == "suining") & (table.segment == "all")]
    scenarios = list(dict.fromkeys(table["scenario"]))
    years = [y for y in (2024, 2025, 2026) if y in set(rows.year)]
    if not years or rows[rows.metric == "gdp_growth_contribution"].empty:
        return None
    colours = scenario_colours(scenarios)
    fig, axes = _panels(3, width=5.0, height=4.8)
    width = 0.8 / len(scenarios)
    for ax, (metric, title) in zip(
        axes,
        (
            ("gdp_growth_contribution", lab["score_gdp"]),
            ("fai_growth_contribution", lab["score_fai"]),
            ("revenue_growth_contribution", lab["score_revenue"]),
        ),
        strict=True,
    ):
        for i, name in enumerate(scenarios):
            sel = rows[(rows.scenario == name) & (rows.metric == metric)].set_index("year")["mean"]
            values = [float(sel.get(y, np.nan)) for y in years]
            ax.bar(
                np.arange(len(years)) + (i - (len(scenarios) - 1) / 2) * width,
                values,
                width=width,
                color=colours[name],
                label=name,
            )
        ax.axhline(0.0, color="#888888", lw=1)
        ax.set_xticks(range(len(years)), [str(y) for y in years])
        ax.set_title(title)
        ax.set_xlabel(lab["year"])
        ax.set_ylabel(lab["contribution"])
        ax.grid(alpha=0.3, axis="y")
        ax.legend(loc="best", fontsize=7, title=lab["scenario"], title_fontsize=7)
    fig.suptitle(lab["score_cmp_title"])
    return _save(fig, Path(out_dir) / "scoreboard.png")


def _world_market(s: pd.DataFrame, lab: dict, lang: str, scenario: str, years, path: Path) -> Path:
    fig, (left, right) = _panels(2, width=5.2)
    for metric, colour, style in (
        ("supply", "#1b9e77", "-"),
        ("demand", "#d95f02", "--"),
        ("inventory", "#7570b3", "-"),
        ("curtailed_capacity", "#e7298a", ":"),
    ):
        _band(left, _series(s, "world", "lithium_salt", metric), colour, metric_label(lang, metric), None, style)
    left.set_title(metric_label(lang, "supply") + " / " + metric_label(lang, "demand"))
    _axes_style(left, lab, "t LCE", years)
    left.legend(loc="best", fontsize=8)
    _band(right, _series(s, "world", "lithium_salt", "price"), "#333333", lab["price_incl"], lab["band"])
    right.set_title(lab["price_incl"])
    _axes_style(right, lab, lab["price_incl"], years)
    right.legend(loc="best", fontsize=8)
    fig.suptitle(lab["world_title"].format(scenario=scenario))
    return _save(fig, path)


def _cost_curve(s: pd.DataFrame, supply: pd.DataFrame, lab: dict, scenario: str, path: Path) -> Path:
    """The supply cost curve of chosen years (each cohort a block: width its capacity, from its low to its high
    cash cost), with that year's mean price and demand."""
    from sim.inputs.data import load_supply

    cohorts = {c.cohort: c for c in load_supply().cohorts}
    years = sorted(supply["year"].unique())
    chosen = [y for y in (2022, 2024, years[-1]) if y in years]
    chosen = list(dict.fromkeys(chosen))
    fig, axes = _panels(len(chosen), width=5.0, height=4.8)
    price = _series(s, "world", "lithium_salt", "price").set_index("year")["mean"]
    demand = _series(s, "world", "lithium_salt", "demand").set_index("year")["mean"]
    vat = 1.13
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(sorted({c.resource for c in cohorts.values()}))}
    for ax, year in zip(axes, chosen, strict=True):
        cap = supply[supply.year == year].groupby("cohort")["capacity"].mean()
        order = sorted(cap.index, key=lambda c: cohorts[c].cost_low + cohorts[c].cost_high)
        x = 0.0
        for cohort in order:
            c = cohorts[cohort]
            width = cap[cohort] / 1000.0  # kt LCE/yr
            ax.add_patch(
                plt.Rectangle(
                    (x, c.cost_low),
                    width,
                    c.cost_high - c.cost_low,
                    color=colours[c.resource],
                    alpha=0.6,
                    lw=0.5,
                    ec="white",
                )
            )
            ax.text(
                x + width / 2, c.cost_high, cohort.replace("_", " "), rotation=90, fontsize=6, ha="center", va="bottom"
            )
            x += width
        if year in price.index:
            ax.axhline(price[year] / vat, color="#d62728", lw=2, label=lab["curve_price"].format(year=year))
        if year in demand.index:
            ax.axvline(
                demand[year] / 1000.0, color="#333333", lw=1.5, ls="--", label=lab["curve_demand"].format(year=year)
            )
        ax.set_xlim(0, x * 1.05)
        ax.set_ylim(0, max(max(c.cost_high for c in cohorts.values()) * 1.35, float(price.get(year, 0)) / vat * 1.1))
        ax.set_title(str(year))
        ax.set_xlabel(lab["curve_x"])
        ax.set_ylabel(lab["curve_y"])
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
        handles, names = ax.get_legend_handles_labels()
        handles += [Patch(color=col, alpha=0.6, label=res) for res, col in colours.items()]
        ax.legend(handles=handles, loc="upper left", fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(lab["curve_title"].format(scenario=scenario))
    return _save(fig, path)


# ---------------------------------------------------------------------------------------------------------------
# a comparison of scenarios
# ---------------------------------------------------------------------------------------------------------------
def comparison_panels(chain: Chain = DEFAULT_CHAIN) -> dict[str, tuple[str, list[tuple[str, str, str]]]]:
    """Comparison charts: file stem -> (title key, panels as (region, segment, metric))."""
    stages = [s.key for s in chain.firm_stages]
    return {
        "suining_output": ("cmp_output", [("suining", seg, "output") for seg in stages]),
        "suining_value_added": ("cmp_value_added", [("suining", "all", "value_added")]),
        "suining_real_growth": ("cmp_growth", [("suining", "all", "value_added_real_growth")]),
        "national_shares": ("cmp_share", [("suining", seg, "national_share") for seg in stages]),
        "suining_employment": ("cmp_employment", [("suining", "all", "employment")]),
        "suining_profit": ("cmp_profit", [("suining", "all", "profit")]),
        "suining_investment": ("cmp_investment", [("suining", "all", "fixed_asset_investment")]),
    }


COMPARISON_CHARTS = comparison_panels()


def scenario_colours(scenarios) -> dict[str, str]:
    """The baseline (first) in near-black, the others in the tab10 palette."""
    palette = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors]
    return {name: BASELINE_COLOUR if i == 0 else palette[(i - 1) % len(palette)] for i, name in enumerate(scenarios)}


def _panel_title(lang: str, segment: str, metric: str) -> str:
    return metric_label(lang, metric) if segment == "all" else segment_label(lang, segment)


def _difference_unit(lab: dict, lang: str, unit: str) -> str:
    return lab["percentage_points"] if unit == "%" else unit_label(lang, unit)


def _unit(rows: pd.DataFrame) -> str:
    return str(rows["unit"].iloc[0]) if len(rows) else ""


def comparison_charts(table: pd.DataFrame, out_dir: str | Path, lang: str = "en") -> list[Path]:
    """Charts of a comparison table (`sim.outputs.compare.comparison_table`) into ``out_dir``; return their paths.

    For each key figure (`COMPARISON_CHARTS`): ``STEM.png``, every scenario's mean with its P5-P95 band; and,
    when there are scenarios besides the baseline, ``STEM_diff.png``, their mean's difference from the baseline
    by year, and ``STEM_diff_final.png``, that difference in the last year all runs share.
    """
    use_bundled_font()
    lab = text(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scenarios = list(dict.fromkeys(table["scenario"]))
    baseline, others = scenarios[0], scenarios[1:]
    colours = scenario_colours(scenarios)
    final_year = int(table.groupby("scenario")["year"].max().min())
    years = sorted(table["year"].unique())
    paths = []
    for stem, (title_key, panels) in COMPARISON_CHARTS.items():
        title = lab[title_key]
        rows = {panel: _series(table, *panel) for panel in panels}
        if all(r.empty for r in rows.values()):
            continue
        paths.append(
            _comparison_levels(
                rows, scenarios, colours, lab, lang, years, lab["cmp_levels"].format(title=title), out / f"{stem}.png"
            )
        )
        if not others:
            continue
        paths.append(
            _comparison_differences(
                rows,
                others,
                colours,
                lab,
                lang,
                years,
                lab["cmp_diff"].format(title=title, baseline=baseline),
                out / f"{stem}_diff.png",
            )
        )
        paths.append(
            _comparison_final(
                rows,
                others,
                colours,
                lab,
                lang,
                final_year,
                lab["cmp_diff_final"].format(title=title, baseline=baseline, year=final_year),
                out / f"{stem}_diff_final.png",
            )
        )
    return paths


def _comparison_levels(rows, scenarios, colours, lab, lang, years, title, path) -> Path:
    fig, axes = _panels(len(rows))
    for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
        banded = False
        for name in scenarios:
            banded |= _band(ax, sel[sel.scenario == name], colours[name], name, None)
        handles, names = ax.get_legend_handles_labels()
        if banded:
            handles.append(Patch(facecolor="#888888", alpha=0.3, label=lab["band"]))
            names.append(lab["band"])
        ax.legend(handles, names, loc="best", fontsize=8, title=lab["scenario"], title_fontsize=8)
        ax.set_title(_panel_title(lang, segment, metric))
        ylabel = lab["with_unit"].format(name=metric_label(lang, metric), unit=unit_label(lang, _unit(sel)))
        _axes_style(ax, lab, ylabel, years)
    fig.suptitle(title)
    return _save(fig, path)


def _comparison_differences(rows, others, colours, lab, lang, years, title, path) -> Path:
    fig, axes = _panels(len(rows))
    for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
        ax.axhline(0.0, color="#888888", lw=1)
        for name in others:
            mine = sel[sel.scenario == name]
            ax.plot(mine.year, mine.diff_mean, color=colours[name], lw=2, marker="o", ms=3, label=name)
        ax.legend(loc="best", fontsize=8, title=lab["scenario"], title_fontsize=8)
        ax.set_title(_panel_title(lang, segment, metric))
        _axes_style(
            ax,
            lab,
            lab["with_unit"].format(name=lab["difference"], unit=_difference_unit(lab, lang, _unit(sel))),
            years,
        )
    fig.suptitle(title)
    return _save(fig, path)


def _comparison_final(rows, others, colours, lab, lang, year, title, path) -> Path:
    fig, axes = _panels(len(rows))
    for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
        final = sel[sel.year == year].set_index("scenario")["diff_mean"]
        values = [float(final.get(name, float("nan"))) for name in others]
        bars = ax.bar(range(len(others)), values, width=0.6, color=[colours[n] for n in others], label=others)
        ax.set_xlim(-0.75, len(others) - 0.25)
        ax.bar_label(bars, labels=[_short(v) for v in values], fontsize=8, padding=2)
        ax.axhline(0.0, color="#888888", lw=1)
        ax.set_xticks(
            range(len(others)),
            others,
            rotation=30 if len(others) > 3 else 0,
            ha="right" if len(others) > 3 else "center",
        )
        ax.set_title(_panel_title(lang, segment, metric))
        ax.set_xlabel(lab["scenario"])
        ax.set_ylabel(lab["with_unit"].format(name=lab["difference"], unit=_difference_unit(lab, lang, _unit(sel))))
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
        ax.grid(alpha=0.3, axis="y")
        ax.legend(loc="best", fontsize=8, title=lab["scenario"], title_fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)
