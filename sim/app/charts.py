"""The workbench's charts: the baseline and the scenario side by side on every chart, mean lines with P5-P95
bands, in English or Chinese, as PNG bytes for the page.

Charts read the two runs' summaries only. Words come from `sim.outputs.labels`; the bundled CJK font of
`sim.outputs.charts` draws the Chinese (it is drawn into the image, so the browser needs no font for it).
Figures are `matplotlib.figure.Figure` objects, never pyplot's, so charts can be drawn from several threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import ticker as mticker
from matplotlib.figure import Figure

from sim.api import DEFAULT_CHAIN
from sim.inputs import catalogue
from sim.outputs.charts import BASELINE_COLOUR, PALETTE, use_bundled_font
from sim.outputs.labels import metric_label, segment_label, text

SCENARIO_COLOUR = PALETTE[1]
STAGES = tuple(stage.key for stage in DEFAULT_CHAIN.firm_stages)
DPI = 80

# chart -> panels, each (region, segment, metric); "demand" panels draw output beside demand
CHARTS: dict[str, list[tuple[str, str, str]]] = {
    "output": [("suining", s, "output") for s in STAGES],
    "value_added": [("suining", "all", "value_added"), ("suining", "all", "value_added_real_growth")],
    "shares": [("suining", s, "national_share") for s in STAGES],
    "jobs_taxes_profit": [("suining", "all", "employment"), ("suining", "all", "taxes"), ("suining", "all", "profit")],
    "prices": [("china", s, "price") for s in STAGES],
    "demand": [("china", s, "demand") for s in STAGES],
}
TITLES = {
    "en": {
        "output": "Suining output by segment",
        "value_added": "Suining lithium value added: current prices, and real growth",
        "shares": "Suining share of China's output",
        "jobs_taxes_profit": "Suining lithium employment, taxes and profit",
        "prices": "Prices in China, excl. VAT",
        "demand": "China: demand (dashed) against output (solid)",
    },
    "zh": {
        "output": "遂宁分环节产量",
        "value_added": "遂宁锂电产业增加值：现价与可比价实际增速",
        "shares": "遂宁产量占全国比重",
        "jobs_taxes_profit": "遂宁锂电产业就业、税收与利润",
        "prices": "全国价格（不含税）",
        "demand": "全国需求（虚线）与产量（实线）",
    },
}

use_bundled_font()


def _rows(summary: pd.DataFrame | dict, region: str, segment: str, metric: str) -> pd.DataFrame:
    """A summary's rows of one figure by year; ``summary`` may be `indexed` (a lookup instead of a scan)."""
    if isinstance(summary, dict):
        return summary.get((region, segment, metric), _EMPTY)
    sel = summary[(summary.region == region) & (summary.segment == segment) & (summary.metric == metric)]
    return sel.sort_values("year")


_EMPTY = pd.DataFrame(columns=["year", "unit", "mean", "p05", "p50", "p95"])


def indexed(summary: pd.DataFrame) -> dict[tuple[str, str, str], pd.DataFrame]:
    """A summary's rows by (region, segment, metric), each sorted by year: charts look figures up once."""
    return {key: rows.sort_values("year") for key, rows in summary.groupby(["region", "segment", "metric"])}


def _draw(ax, rows: pd.DataFrame, colour: str, label: str, style: str = "-", band: bool = True) -> None:
    if rows.empty:
        return
    ax.plot(rows.year, rows["mean"], style, color=colour, lw=2, label=label)
    if band and (rows.p95 - rows.p05).abs().max() > 0:
        ax.fill_between(rows.year, rows.p05, rows.p95, color=colour, alpha=0.15, lw=0)


def _display(frames, region: str, segment: str, metric: str, lang: str) -> tuple[float, str]:
    """The factor and unit a reader expects for a panel (万吨 in Chinese, kt or Mt in English; see
    `sim.inputs.catalogue.display_unit`), from the largest figure either side shows."""
    unit = ""
    magnitude = 0.0
    for frame in frames:
        rows = _rows(frame, region, segment, metric)
        if len(rows):
            unit = unit or str(rows["unit"].iloc[0])
            values = rows[["mean", "p95"]].abs().to_numpy(dtype=float)
            if np.isfinite(values).any():
                magnitude = max(magnitude, float(np.nanmax(values)))
    if not unit:
        return 1.0, ""
    return catalogue.display_unit(lang, unit, magnitude)


def _scaled(rows: pd.DataFrame, factor: float) -> pd.DataFrame:
    if factor == 1.0 or rows.empty:
        return rows
    return rows.assign(**{c: rows[c] * factor for c in ("mean", "p05", "p50", "p95") if c in rows})


def _part(label: str, what: str, lang: str) -> str:
    """A series' name for one of two lines a side draws ("baseline: output")."""
    return f"{label}（{what}）" if lang == "zh" else f"{label}: {what}"


def _thousands(value: float, _pos: int) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def chart(name: str, base: pd.DataFrame, scenario: pd.DataFrame, labels: Sequence[str], lang: str = "en") -> Figure:
    """One chart of `CHARTS`: a panel per row, the baseline (dark) and the scenario (orange), P5-P95 bands."""
    words = text(lang)
    panels = CHARTS[name]
    fig = Figure(figsize=(4.0 * len(panels) + 0.6, 3.5), dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    years: list[int] = []
    for ax, (region, segment, metric) in zip(axes, panels, strict=True):
        factor, unit_text = _display((base, scenario), region, segment, metric, lang)
        for summary, colour, label in ((base, BASELINE_COLOUR, labels[0]), (scenario, SCENARIO_COLOUR, labels[1])):
            rows = _scaled(_rows(summary, region, segment, metric), factor)
            if name == "demand":
                _draw(ax, rows, colour, _part(label, words["demand"], lang), "--", band=False)
                output = _scaled(_rows(summary, region, segment, "output"), factor)
                _draw(ax, output, colour, _part(label, words["output"], lang))
            else:
                _draw(ax, rows, colour, label)
            years = sorted(set(years) | {int(y) for y in rows.year})
        title = segment_label(lang, segment) if segment != "all" else metric_label(lang, metric)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(words["with_unit"].format(name=metric_label(lang, metric), unit=unit_text), fontsize=8)
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
        ax.grid(alpha=0.3)
        if years:
            step = 1 if len(years) <= 10 else 2
            ax.set_xticks(years[::step])
            ax.tick_params(axis="x", labelsize=8, rotation=45 if len(years) > 6 else 0)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(titled(name, lang), fontsize=11)
    return fig


def titled(name: str, lang: str, band: str | None = None) -> str:
    """A chart's title with what its lines and shading show (``band``; default the bands' name), bracketed as
    the language brackets."""
    band = band or text(lang)["band"]
    return f"{TITLES[lang][name]}（{band}）" if lang == "zh" else f"{TITLES[lang][name]} ({band})"


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def all_charts(base: pd.DataFrame, scenario: pd.DataFrame, labels: Sequence[str], lang: str = "en") -> dict[str, bytes]:
    """Every chart of `CHARTS` as PNG bytes, by name."""
    return {name: png(chart(name, base, scenario, labels, lang)) for name in CHARTS}


# ---------------------------------------------------------------------------------------------------------
# the same charts drawn in the browser (ECharts, shipped by solara-assets): the page sends numbers, not pictures
# ---------------------------------------------------------------------------------------------------------
CHARTS["fiscal"] = [("suining", "all", "support"), ("suining", "all", "local_fiscal_revenue"),
                    ("suining", "all", "net_fiscal")]  # fmt: skip
TITLES["en"]["fiscal"] = "What it costs the city and what it returns: support paid, local revenue, the net"
TITLES["zh"]["fiscal"] = "城市的投入与回报：扶持支出、地方财政收入与净收益"
FONT = 'Roboto, Arial, "LithiumSim CJK", sans-serif'


def _series_values(rows: pd.DataFrame, column: str, years: list[int]) -> list[float | None]:
    by_year = rows.set_index("year")[column]
    out = []
    for year in years:
        value = by_year.get(year)
        out.append(None if value is None or pd.isna(value) else round(float(value), 6))
    return out


def echarts_option(
    name: str,
    base: pd.DataFrame | dict,
    scenario: pd.DataFrame | dict,
    labels: Sequence[str],
    lang: str = "en",
    metric_names: dict[str, str] | None = None,
) -> dict:
    """One chart of `CHARTS` as an ECharts option: a panel (grid) per row side by side, the baseline (dark) and
    the scenario (orange) as mean lines with P5-P95 bands (a transparent lower line and the band stacked on it),
    a shared legend, a tooltip per year. ``metric_names`` overrides metric labels (e.g. for ``net_fiscal``)."""
    words = text(lang)
    names = metric_names or {}
    panels = CHARTS[name]
    count = len(panels)
    width = 100 / count
    option: dict = {
        "animation": False,
        "textStyle": {"fontFamily": FONT},
        "title": [],
        "legend": {"bottom": 0, "textStyle": {"fontFamily": FONT, "fontSize": 11}},
        "tooltip": {"trigger": "axis"},
        "grid": [],
        "xAxis": [],
        "yAxis": [],
        "series": [],
    }
    for i, (region, segment, metric) in enumerate(panels):
        years = sorted({int(y) for frame in (base, scenario) for y in _rows(frame, region, segment, metric).year})
        factor, unit = _display((base, scenario), region, segment, metric, lang)
        metric_name = names.get(metric) or metric_label(lang, metric)
        title = segment_label(lang, segment) if segment != "all" else metric_name
        option["title"].append(
            {"text": title, "subtext": unit, "left": f"{width * i + width / 2:.1f}%", "textAlign": "center",
             "top": 0, "textStyle": {"fontSize": 12, "fontWeight": "normal", "fontFamily": FONT},
             "subtextStyle": {"fontSize": 10, "fontFamily": FONT}}
        )  # fmt: skip
        option["grid"].append(
            {"left": f"{width * i + 4.5:.1f}%", "width": f"{width - 7:.1f}%", "top": 52, "bottom": 56,
             "containLabel": False}
        )  # fmt: skip
        option["xAxis"].append(
            {"type": "category", "gridIndex": i, "data": [str(y) for y in years], "boundaryGap": False,
             "axisLabel": {"fontSize": 10}}
        )  # fmt: skip
        option["yAxis"].append(
            {"type": "value", "gridIndex": i, "scale": True, "splitLine": {"lineStyle": {"opacity": 0.3}},
             "axisLabel": {"fontSize": 10}}
        )  # fmt: skip
        for frame, colour, label in ((base, BASELINE_COLOUR, labels[0]), (scenario, SCENARIO_COLOUR, labels[1])):
            rows = _scaled(_rows(frame, region, segment, metric), factor)
            if rows.empty:
                continue
            mean = _series_values(rows, "mean", years)
            low, high = _series_values(rows, "p05", years), _series_values(rows, "p95", years)
            stack = f"band-{i}-{label}"
            if any(v is not None for v in low) and any(
                h is not None and lo is not None and h > lo for lo, h in zip(low, high, strict=True)
            ):
                widths = [
                    None if lo is None or h is None else round(h - lo, 6) for lo, h in zip(low, high, strict=True)
                ]
                common = {"type": "line", "xAxisIndex": i, "yAxisIndex": i, "stack": stack, "symbol": "none",
                          "lineStyle": {"opacity": 0}, "tooltip": {"show": False}, "silent": True}  # fmt: skip
                option["series"].append({**common, "name": f"{label} P5", "data": low, "legendHoverLink": False})
                option["series"].append(
                    {
                        **common,
                        "name": f"{label} P5–P95",
                        "data": widths,
                        "areaStyle": {"color": colour, "opacity": 0.18},
                    }
                )
            if name == "demand":
                output = _series_values(_scaled(_rows(frame, region, segment, "output"), factor), "mean", years)
                option["series"].append(
                    {"type": "line", "name": _part(label, words["output"], lang), "xAxisIndex": i, "yAxisIndex": i,
                     "data": output, "symbol": "none", "lineStyle": {"color": colour, "width": 2}, "color": colour}
                )  # fmt: skip
                label = _part(label, words["demand"], lang)
            option["series"].append(
                {"type": "line", "name": label, "xAxisIndex": i, "yAxisIndex": i, "data": mean, "symbol": "circle",
                 "symbolSize": 4, "color": colour,
                 "lineStyle": {"color": colour, "width": 2, "type": "dashed" if name == "demand" else "solid"}}
            )  # fmt: skip
    keep = [s["name"] for s in option["series"] if "areaStyle" not in s and not s["name"].endswith(" P5")]
    option["legend"]["data"] = list(dict.fromkeys(keep))
    return option
