"""Charts of a run and of a comparison of runs: titles, axis labels with units, legends, P5-P95 bands, one tick
per year, the years of history shaded apart from the projection.

Charts read tables (the run summary, the supply table, the comparison table), never the model. Words come from
the message catalogue (`sim.inputs.catalogue`); tonnes are shown as Chinese readers count them (万吨) and as
English readers do (kt, Mt), prices in 万元/吨 or 1,000 yuan/t. The bundled font subset (``fonts/``, SIL Open
Font License) renders 亿元 and the Chinese labels on a machine with no CJK font installed. Levels at current
prices and at comparable prices are never drawn on one axis: value added is shown as a current-price level
beside real growth as a rate.

Figures are `matplotlib.figure.Figure` objects drawn by the Agg canvas, never pyplot's: importing this module
chooses no backend (a notebook keeps its own), holds no global figure state, and charts may be drawn from
several threads or processes (`draw_all` spreads a list of charts over worker processes). The building blocks
(fonts, bands, bars, titles that fit, the text check, `draw_all`) are in `sim.outputs.drawing`, and the rival
clusters' charts, which a run and a comparison also draw, in `sim.outputs.cluster_charts`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib import ticker as mticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.inputs import catalogue as cat
from sim.inputs.chain import DEFAULT_CHAIN, Chain
from sim.inputs.reported import reported_figures
from sim.outputs import cluster_charts

# the building blocks are read from here too (sim.outputs.drawing holds them): fonts, style, saving, checks
from sim.outputs.drawing import (  # noqa: F401
    BAND_ALPHA,
    BASELINE_COLOUR,
    DPI,
    FONT_DIR,
    HISTORY_COLOUR,
    PALETTE,
    SCENARIO_COLOURS,
    SCENARIO_STYLES,
    _axes,
    _band,
    _bars,
    _figure,
    _headroom,
    _history,
    _legend,
    _panel_title,
    _save,
    _scaled,
    _series,
    _style,
    _thousands,
    _title,
    _width,
    _ylabel,
    draw_all,
    layout,
    overflowing_text,
    save,
    scenario_colours,
    scenario_styles,
    side_legend,
    stage_colours,
    use_bundled_font,
    warm,
    wrap,
)

# the report's 2023 figures (2024 work report, line 21), shares of national output and real growth, are read from
# the calibration targets when a chart marks them (sim.inputs.reported)
REPORTED_SHARE_STAGES = ("lithium_salt", "lfp_cathode")
LEGEND_ROOM = 1.8  # inches a figure grows by for a legend beside its last panel


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
    history: Sequence[int] | None = None,
    pool: Executor | None = None,
) -> list[Path]:
    """Write a run's PNG charts into ``out_dir``; return their paths.

    Args:
        summary: the run's summary (``summary.csv``).
        scenario: the scenario's name as the reader sees it (its Chinese name in Chinese), for titles.
        supply: the world supply table (``supply.csv``, market mode) for the cost curve.
        city: the city's data (``city.csv``) for the scoreboard's records and targets.
        history: the years taken as history (data), shaded apart from the projection.
        pool: worker processes to share the drawing with (`draw_all`).
    """
    cat.check(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = summary
    stages = [st.key for st in chain.firm_stages if not _series(s, "china", st.key, "output").empty]
    common = {"scenario": scenario, "lang": lang, "history": list(history or []), "chain": chain}
    jobs: list[tuple[Callable[..., Path], tuple, dict]] = [
        (_run_output, (s, stages, out / "suining_output.png"), common),
        (_run_value_added, (s, out / "suining_value_added.png"), common),
        (_run_shares, (s, stages, out / "national_shares.png"), common),
        (_run_prices, (s, stages, out / "prices.png"), common),
        (_run_demand, (s, stages, out / "demand_output.png"), common),
    ]
    if not _series(s, "suining", "all", "gdp_growth_contribution").empty and city is not None:
        jobs.append((scoreboard_chart, (s, city, out / "scoreboard.png"), common))
    if not _series(s, "world", "lithium_salt", "supply").empty:
        jobs.append((_world_market, (s, out / "world_market.png"), common))
        if supply is not None and len(supply):
            jobs.append((_cost_curve, (s, supply, out / "cost_curve.png"), common))
    jobs.extend(cluster_charts.run_jobs(s, out, common, chain))
    return draw_all(jobs, pool)


def _per_stage(s, stages, region, metric, title, path, *, scenario, lang, history, chain) -> Path:
    """One panel per stage: ``region``'s ``metric`` with its band, in the unit a reader expects."""
    lab = cat.words(lang)
    colours = stage_colours(chain)
    with rc_context(_style()):
        fig, axes = _figure(len(stages))
        for ax, key in zip(axes, stages, strict=True):
            rows, unit = _scaled(_series(s, region, key, metric), lang)
            _history(ax, history, lab["history"])
            _band(ax, rows, colours[key], cat.segment(lang, key, chain), lab["band"])
            _panel_title(ax, cat.segment(lang, key, chain))
            _axes(ax, lab, lab["with_unit"].format(name=cat.metric(lang, metric), unit=unit), s["year"])
            _legend(ax)
        _title(fig, lab[title].format(scenario=scenario))
        return _save(fig, path)


def _run_output(s, stages, path, **kw) -> Path:
    return _per_stage(s, stages, "suining", "output", "output_title", path, **kw)


def _run_value_added(s, path, *, scenario, lang, history, chain) -> Path:
    lab = cat.words(lang)
    years = s["year"]
    with rc_context(_style()):
        fig, (left, right) = _figure(2, width=5.4)
        _history(left, history, lab["history"])
        _band(
            left, _series(s, "suining", "all", "value_added"), "#e7298a", cat.metric(lang, "value_added"), lab["band"]
        )
        _panel_title(left, cat.metric(lang, "value_added"))
        _axes(left, lab, lab["va_level"], years)
        _legend(left)
        _history(right, history, lab["history"])
        growth = _series(s, "suining", "all", "value_added_real_growth").dropna(subset=["mean"])
        if len(growth):
            _bars(
                right, growth.year.to_numpy(), growth["mean"], growth.p05, growth.p95, "#386cb0", ".1f",
                cat.metric(lang, "value_added_real_growth"), lab["band"],
            )  # fmt: skip
        right.axhline(0.0, color="#888888", lw=1)
        reported = reported_figures("value_added_real_growth", "suining", ("all",), 2023)["all"]
        right.scatter(
            [2023], [reported], marker="D", s=55, color="#ffd92f", edgecolor="black", zorder=5,
            label=f"+{reported}%: {lab['report']}",
        )  # fmt: skip
        _panel_title(right, cat.metric(lang, "value_added_real_growth"))
        _axes(right, lab, lab["va_growth"], years)
        _legend(right)
        _title(fig, lab["va_title"].format(scenario=scenario))
        return _save(fig, path)


def _run_shares(s, stages, path, *, scenario, lang, history, chain) -> Path:
    lab = cat.words(lang)
    colours = stage_colours(chain)
    with rc_context(_style()):
        fig, (ax,) = _figure(1, width=8.0, height=4.4)
        _history(ax, history, lab["history"])
        marked = [key for key in stages if key in REPORTED_SHARE_STAGES]
        reported = reported_figures("national_share", "suining", tuple(marked), 2023) if marked else {}
        for key in stages:
            _band(ax, _series(s, "suining", key, "national_share"), colours[key], cat.segment(lang, key, chain), None)
            if key in reported:
                ax.scatter(
                    [2023], [reported[key]], color=colours[key], marker="D", s=55, zorder=5, edgecolor="black",
                    label=f"{cat.segment(lang, key, chain)} {reported[key]:.0f}%: {lab['report']}",
                )  # fmt: skip
        _axes(ax, lab, lab["share_axis"], s["year"])
        side_legend(ax, extra=[Patch(facecolor="#888888", alpha=0.3, label=lab["band"])])
        _title(fig, lab["share_title"].format(scenario=scenario))
        return _save(fig, path)


def _run_prices(s, stages, path, **kw) -> Path:
    return _per_stage(s, stages, "china", "price", "price_title", path, **kw)


def _run_demand(s, stages, path, *, scenario, lang, history, chain) -> Path:
    """Demand against output and capacity: demand drawn last, dashed with markers, so it never hides under
    output; every band named in the legend."""
    lab = cat.words(lang)
    colours = stage_colours(chain)
    with rc_context(_style()):
        fig, axes = _figure(len(stages), height=4.6)
        for ax, key in zip(axes, stages, strict=True):
            rows = {m: _series(s, "china", key, m) for m in ("demand", "output", "capacity", "unmet_demand")}
            magnitude = max((float(r["mean"].abs().max()) for r in rows.values() if len(r)), default=0.0)
            factor, unit = cat.display_unit(lang, chain[key].unit, magnitude)
            rows = {m: r.assign(**{c: r[c] * factor for c in ("mean", "p05", "p95")}) for m, r in rows.items()}
            _history(ax, history, lab["history"])
            _band(
                ax, rows["capacity"], "#555555", lab["capacity"], lab["band_of"].format(name=lab["capacity"]), ":",
                width=1.5,
            )  # fmt: skip
            _band(ax, rows["output"], colours[key], lab["output"], lab["band_of"].format(name=lab["output"]))
            demand = rows["demand"].dropna(subset=["mean"])
            if len(demand):
                ax.plot(
                    demand.year, demand["mean"], "--", color="#000000", lw=1.6, marker="o", ms=3.5, zorder=6,
                    label=lab["demand"],
                )  # fmt: skip
            unmet = rows["unmet_demand"]
            if len(unmet) and unmet["mean"].max() > 0:
                ax.bar(unmet.year, unmet["mean"], color="#d62728", alpha=0.6, width=0.5, label=lab["unmet"], zorder=2)
            _panel_title(ax, cat.segment(lang, key, chain))
            _axes(ax, lab, unit, s["year"])
            _legend(ax)
        _title(fig, lab["demand_title"].format(scenario=scenario))
        return _save(fig, path)


def scoreboard_chart(s: pd.DataFrame, city: dict, path: Path, *, scenario, lang, history, chain=None) -> Path:
    """Lithium's contribution to the report's indicators by year (mean, P5-P95), beside the city's record and
    the targets; and lithium's share of the city's GDP."""
    lab = cat.words(lang)
    years = sorted(s["year"].unique())
    panels = (
        ("gdp_growth", "gdp_growth_contribution", lab["score_gdp"]),
        ("fai_growth", "fai_growth_contribution", lab["score_fai"]),
        ("revenue_growth", "revenue_growth_contribution", lab["score_revenue"]),
    )
    with rc_context(_style()):
        fig, axes = _figure(2, 2, width=5.8, height=4.0)
        for ax, (indicator, metric, title) in zip(axes, panels, strict=False):
            _history(ax, history, lab["history"])
            rows = _series(s, "suining", "all", metric).dropna(subset=["mean"])
            if len(rows):
                _bars(
                    ax, rows.year.to_numpy(), rows["mean"], rows.p05, rows.p95, "#386cb0", "+.2f", lab["contribution"],
                    lab["band"],
                )  # fmt: skip
            _city_marks(ax, s, city, indicator, years, lab)
            ax.axhline(0.0, color="#888888", lw=1)
            _panel_title(ax, title)
            _axes(ax, lab, "%", years)
            _legend(ax)
        ax = axes[3]
        _history(ax, history, lab["history"])
        _band(ax, _series(s, "suining", "all", "gdp_share"), "#e7298a", cat.metric(lang, "gdp_share"), lab["band"])
        _panel_title(ax, lab["score_share"])
        _axes(ax, lab, "%", years)
        _legend(ax)
        _title(fig, lab["score_title"].format(scenario=scenario))
        return _save(fig, path)


def _city_marks(ax, s: pd.DataFrame, city: dict, indicator: str, years, lab: dict) -> None:
    """The city's record and the report's targets (and for GDP the city's growth, record then projection); the
    axis widened to show them beside lithium's bars."""
    marks: list[float] = []
    if indicator == "gdp_growth":
        growth = _series(s, "suining", "all", "city_gdp_growth").dropna(subset=["mean"])
        ax.plot(growth.year, growth["mean"], color="#666666", lw=1.5, marker="o", ms=3, label=lab["city_growth"])
        marks.extend(growth["mean"])
    for points, marker, size, colour, label in (
        (city.get(indicator, {}), "o", 45, "#1b9e77", lab["record"]),
        (city.get(f"target_{indicator}", {}), "*", 140, "#ffd92f", lab["target"]),
    ):
        shown = [y for y in years if y in points]
        if shown:
            ax.scatter(
                shown, [points[y] for y in shown], marker=marker, s=size, color=colour, edgecolor="black", zorder=6,
                label=label,
            )  # fmt: skip
            marks.extend(points[y] for y in shown)
    if marks:
        low, high = ax.get_ylim()
        low, high = min(low, min(marks)), max(high, max(marks))
        _headroom(ax, low, high, 0.08)


def _world_market(s: pd.DataFrame, path: Path, *, scenario, lang, history, chain=None) -> Path:
    lab = cat.words(lang)
    years = s["year"]
    with rc_context(_style()):
        fig, (left, right) = _figure(2, width=5.4)
        _history(left, history, lab["history"])
        flows = {
            m: _series(s, "world", "lithium_salt", m) for m in ("supply", "demand", "inventory", "curtailed_capacity")
        }
        magnitude = max((float(r["mean"].abs().max()) for r in flows.values() if len(r)), default=0.0)
        factor, unit = cat.display_unit(lang, "t LCE", magnitude)
        for (metric, rows), colour, style in zip(
            flows.items(), ("#1b9e77", "#d95f02", "#7570b3", "#e7298a"), ("-", "--", "-", ":"), strict=True
        ):
            rows = rows.assign(**{c: rows[c] * factor for c in ("mean", "p05", "p95")})
            _band(left, rows, colour, cat.metric(lang, metric), None, style)
        _panel_title(left, cat.metric(lang, "supply") + " / " + cat.metric(lang, "demand"))
        _axes(left, lab, unit, years)
        _legend(left)
        price, price_unit = _scaled(_series(s, "world", "lithium_salt", "price"), lang)
        _history(right, history, lab["history"])
        _band(right, price, "#333333", lab["price_incl"], lab["band"])
        _panel_title(right, lab["price_incl"])
        _axes(right, lab, price_unit, years)
        _legend(right)
        _title(fig, lab["world_title"].format(scenario=scenario))
        return _save(fig, path)


def _cost_curve(s: pd.DataFrame, supply: pd.DataFrame, path: Path, *, scenario, lang, history=None, chain=None):
    """The supply cost curve of chosen years (each cohort a block: width its capacity, from its low to its high
    cash cost), with that year's mean price and demand."""
    from sim.inputs.data import load_supply

    lab = cat.words(lang)
    cohorts = {c.cohort: c for c in load_supply().cohorts}
    years = sorted(supply["year"].unique())
    chosen = list(dict.fromkeys(y for y in (2022, 2024, years[-1]) if y in years))
    price = _series(s, "world", "lithium_salt", "price").set_index("year")["mean"]
    demand = _series(s, "world", "lithium_salt", "demand").set_index("year")["mean"]
    vat = 1.13
    x_factor, x_unit = cat.display_unit(lang, "t LCE/yr", float(supply.groupby(["year"])["capacity"].sum().max()))
    y_factor, y_unit = cat.display_unit(lang, "yuan/t LCE excl. VAT")
    resources = sorted({c.resource for c in cohorts.values()})
    colours = {r: PALETTE[i % len(PALETTE)] for i, r in enumerate(resources)}
    top = max(c.cost_high for c in cohorts.values()) * 1.35
    with rc_context(_style()):
        fig, axes = _figure(len(chosen), width=5.0, height=4.6)
        for ax, year in zip(axes, chosen, strict=True):
            cap = supply[supply.year == year].groupby("cohort")["capacity"].mean()
            x = 0.0
            for cohort in sorted(cap.index, key=lambda c: cohorts[c].cost_low + cohorts[c].cost_high):
                c = cohorts[cohort]
                width = cap[cohort] * x_factor
                ax.add_patch(
                    Rectangle(
                        (x, c.cost_low * y_factor), width, (c.cost_high - c.cost_low) * y_factor,
                        color=colours[c.resource], alpha=0.6, lw=0.5, ec="white",
                    )
                )  # fmt: skip
                ax.text(x + width / 2, c.cost_high * y_factor, cohort.replace("_", " "), rotation=90, fontsize=6,
                        ha="center", va="bottom")  # fmt: skip
                x += width
            if year in price.index:
                ax.axhline(
                    price[year] / vat * y_factor, color="#d62728", lw=2, label=lab["curve_price"].format(year=year)
                )
            if year in demand.index:
                ax.axvline(demand[year] * x_factor, color="#333333", lw=1.5, ls="--",
                           label=lab["curve_demand"].format(year=year))  # fmt: skip
            ax.set_xlim(0, x * 1.05)
            ax.set_ylim(0, max(top, float(price.get(year, 0)) / vat * 1.1) * y_factor)
            _panel_title(ax, str(year))
            ax.set_xlabel(lab["with_unit"].format(name=lab["curve_x"], unit=x_unit))
            _ylabel(ax, lab["with_unit"].format(name=lab["curve_y"], unit=y_unit))
            ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
            ax.grid(alpha=0.3)
            _legend(ax, extra=[Patch(color=col, alpha=0.6, label=res) for res, col in colours.items()])
        _title(fig, lab["curve_title"].format(scenario=scenario))
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
        "suining_fiscal": (
            "cmp_fiscal",
            [("suining", "all", m) for m in ("support_cumulative", "local_fiscal_revenue_cumulative", "net_fiscal")],
        ),
    }


COMPARISON_CHARTS = comparison_panels()


def _panel_name(lang: str, segment: str, metric: str) -> str:
    return cat.metric(lang, metric) if segment == "all" else cat.segment(lang, segment)


def _difference_unit(lab: dict, unit: str) -> str:
    return lab["percentage_points"] if unit == "%" else unit


def comparison_jobs(
    table: pd.DataFrame,
    out_dir: str | Path,
    lang: str = "en",
    *,
    names: dict[str, str] | None = None,
    history: Sequence[int] | None = None,
    note: str = "",
) -> list[tuple[Callable[..., Path], tuple, dict]]:
    """The charts of a comparison as jobs for `draw_all` (see `comparison_charts`)."""
    cat.check(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scenarios = list(dict.fromkeys(table["scenario"]))
    names = {s: (names or {}).get(s, s) for s in scenarios}
    final_year = int(table.groupby("scenario")["year"].max().min())
    common = {"lang": lang, "names": names, "history": list(history or []), "note": note}
    jobs: list[tuple[Callable[..., Path], tuple, dict]] = []
    lab = cat.words(lang)
    for stem, (title_key, panels) in COMPARISON_CHARTS.items():
        rows = {panel: _series(table, *panel) for panel in panels}
        if all(r.empty for r in rows.values()):
            continue
        title = lab[title_key]
        levels = (rows, scenarios, lab["cmp_levels"].format(title=title), out / f"{stem}.png")
        jobs.append((_comparison_levels, levels, common))
        if len(scenarios) < 2:
            continue
        baseline = names[scenarios[0]]
        by_year = (rows, scenarios, lab["cmp_diff"].format(title=title, baseline=baseline), out / f"{stem}_diff.png")
        jobs.append((_comparison_differences, by_year, common))
        final_title = lab["cmp_diff_final"].format(title=title, baseline=baseline, year=final_year)
        final = (rows, scenarios, final_year, final_title, out / f"{stem}_diff_final.png")
        jobs.append((_comparison_final, final, common))
    return jobs


def comparison_charts(
    table: pd.DataFrame,
    out_dir: str | Path,
    lang: str = "en",
    *,
    names: dict[str, str] | None = None,
    history: Sequence[int] | None = None,
    note: str = "",
    pool: Executor | None = None,
) -> list[Path]:
    """Charts of a comparison table (`sim.outputs.compare.comparison_table`) into ``out_dir``; return their paths.

    For each key figure (`COMPARISON_CHARTS`): ``STEM.png``, every scenario's mean with its P5-P95 band; and,
    when there are scenarios besides the baseline, ``STEM_diff.png``, their difference from the baseline by year
    with the P5-P95 band of the difference, and ``STEM_diff_final.png``, that difference in the last year all
    runs share, with its P5-P95 range.

    Args:
        names: scenario label (the table's ``scenario``) -> the name a reader sees (default: the label).
        history: the years of history (data), shaded apart from the projection.
        note: a line every title carries (a mixed comparison says what is mixed).
        pool: worker processes to share the drawing with (`draw_all`).
    """
    jobs = comparison_jobs(table, out_dir, lang, names=names, history=history, note=note)
    return draw_all(jobs, pool)


def _comparison_levels(rows, scenarios, title, path, *, lang, names, history, note) -> Path:
    lab = cat.words(lang)
    colours, styles = scenario_colours(scenarios), scenario_styles(scenarios)
    with rc_context(_style()):
        fig, axes = _figure(len(rows), width=5.0, height=4.4)
        fig.set_figwidth(fig.get_figwidth() + LEGEND_ROOM)
        for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
            sel, unit = _scaled(sel, lang)
            _history(ax, history, lab["history"])
            banded = False
            for name in scenarios:
                banded |= _band(ax, sel[sel.scenario == name], colours[name], names[name], None, styles[name])
            extra = [Patch(facecolor="#888888", alpha=0.3, label=lab["band"])] if banded else []
            if ax is axes[-1]:
                side_legend(ax, title=lab["scenario"], extra=extra)
            _panel_title(ax, _panel_name(lang, segment, metric))
            _axes(ax, lab, lab["with_unit"].format(name=cat.metric(lang, metric), unit=unit), sel["year"])
        _title(fig, title, note)
        return _save(fig, path)


def _comparison_differences(rows, scenarios, title, path, *, lang, names, history, note) -> Path:
    lab = cat.words(lang)
    colours, styles = scenario_colours(scenarios), scenario_styles(scenarios)
    with rc_context(_style()):
        fig, axes = _figure(len(rows), width=5.0, height=4.4)
        fig.set_figwidth(fig.get_figwidth() + LEGEND_ROOM)
        for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
            sel, unit = _scaled(sel, lang)
            _history(ax, history, lab["history"])
            ax.axhline(0.0, color="#888888", lw=1)
            banded = False
            for name in scenarios[1:]:
                mine = sel[sel.scenario == name]
                banded |= _band(
                    ax, mine, colours[name], names[name], None, styles[name], "diff_p05", "diff_p95", "diff_mean"
                )
            extra = [Patch(facecolor="#888888", alpha=0.3, label=lab["band"])] if banded else []
            if ax is axes[-1]:
                side_legend(ax, title=lab["scenario"], extra=extra)
            _panel_title(ax, _panel_name(lang, segment, metric))
            ylabel = lab["with_unit"].format(name=lab["difference"], unit=_difference_unit(lab, unit))
            _axes(ax, lab, ylabel, sel["year"])
        _title(fig, title, note)
        return _save(fig, path)


def _comparison_final(rows, scenarios, year, title, path, *, lang, names, history, note) -> Path:
    lab = cat.words(lang)
    colours = scenario_colours(scenarios)
    others = scenarios[1:]
    with rc_context(_style()):
        fig, axes = _figure(len(rows), width=max(4.0, 0.9 * len(others) + 1.6), height=4.6)
        for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
            sel, unit = _scaled(sel, lang)
            final = sel[sel.year == year].set_index("scenario")
            values = [final["diff_mean"].get(n, np.nan) for n in others]
            low = [final["diff_p05"].get(n, np.nan) if "diff_p05" in final else np.nan for n in others]
            high = [final["diff_p95"].get(n, np.nan) if "diff_p95" in final else np.nan for n in others]
            x = np.arange(len(others))
            bands = np.asarray(low, float), np.asarray(high, float)
            _bars(ax, x, values, *bands, [colours[n] for n in others], "amount")
            ax.axhline(0.0, color="#888888", lw=1)
            ax.set_xlim(-0.7, len(others) - 0.3)
            slant = len(others) > 2 or any(_width(names[n]) > 12 for n in others)
            ax.set_xticks(x, [names[n] for n in others], rotation=30 if slant else 0, ha="right" if slant else "center")
            _panel_title(ax, _panel_name(lang, segment, metric))
            ax.set_xlabel(lab["scenario"])
            _ylabel(ax, lab["with_unit"].format(name=lab["difference"], unit=_difference_unit(lab, unit)))
            ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
            ax.grid(alpha=0.3, axis="y")
            _legend(ax, extra=[Line2D([], [], color="#222222", lw=1, label=lab["band"])])
        _title(fig, title, note)
        return _save(fig, path)


def scoreboard_comparison(
    table: pd.DataFrame,
    city: dict,
    out_dir: str | Path,
    lang: str = "en",
    *,
    names: dict[str, str] | None = None,
    history: Sequence[int] | None = None,
    note: str = "",
) -> Path | None:
    """Lithium's contribution to the report's indicators by scenario and year (mean and P5-P95 band); ``city``
    is kept for callers that pass the city's data (the single run's scoreboard marks its record and targets)."""
    cat.check(lang)
    lab = cat.words(lang)
    rows = table[(table.region == "suining") & (table.segment == "all")]
    if rows[rows.metric == "gdp_growth_contribution"].empty:
        return None
    scenarios = list(dict.fromkeys(table["scenario"]))
    names = {s: (names or {}).get(s, s) for s in scenarios}
    colours, styles = scenario_colours(scenarios), scenario_styles(scenarios)
    years = sorted(rows.year.unique())
    with rc_context(_style()):
        fig, axes = _figure(3, width=5.0, height=4.6)
        fig.set_figwidth(fig.get_figwidth() + LEGEND_ROOM)
        for ax, (metric, title) in zip(
            axes,
            (
                ("gdp_growth_contribution", lab["score_gdp"]),
                ("fai_growth_contribution", lab["score_fai"]),
                ("revenue_growth_contribution", lab["score_revenue"]),
            ),
            strict=True,
        ):
            _history(ax, history, lab["history"])
            banded = False
            for name in scenarios:
                sel = rows[(rows.scenario == name) & (rows.metric == metric)].sort_values("year")
                banded |= _band(ax, sel, colours[name], names[name], None, styles[name])
            ax.axhline(0.0, color="#888888", lw=1)
            _panel_title(ax, title)
            _axes(ax, lab, lab["contribution"], years)
            extra = [Patch(facecolor="#888888", alpha=0.3, label=lab["band"])] if banded else []
            if ax is axes[-1]:
                side_legend(ax, title=lab["scenario"], extra=extra)
        _title(fig, lab["score_cmp_title"], note)
        return _save(fig, Path(out_dir) / "scoreboard.png")
