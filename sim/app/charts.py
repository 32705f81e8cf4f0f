"""The workbench's charts: the baseline and the scenario side by side on every chart, mean lines with P5-P95
bands, in English or Chinese, as PNG bytes for the page.

Charts read the two runs' summaries only. Words come from `sim.outputs.labels`; the bundled CJK font of
`sim.outputs.charts` draws the Chinese (it is drawn into the image, so the browser needs no font for it).
Figures are `matplotlib.figure.Figure` objects, never pyplot's, so charts can be drawn from several threads.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
from matplotlib import ticker as mticker  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.api import DEFAULT_CHAIN  # noqa: E402
from sim.outputs.charts import BASELINE_COLOUR, PALETTE, use_bundled_font  # noqa: E402
from sim.outputs.labels import metric_label, segment_label, text, unit_label  # noqa: E402

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


def _rows(summary: pd.DataFrame, region: str, segment: str, metric: str) -> pd.DataFrame:
    sel = summary[(summary.region == region) & (summary.segment == segment) & (summary.metric == metric)]
    return sel.sort_values("year")


def _draw(ax, rows: pd.DataFrame, colour: str, label: str, style: str = "-", band: bool = True) -> None:
    if rows.empty:
        return
    ax.plot(rows.year, rows["mean"], style, color=colour, lw=2, label=label)
    if band and (rows.p95 - rows.p05).abs().max() > 0:
        ax.fill_between(rows.year, rows.p05, rows.p95, color=colour, alpha=0.15, lw=0)


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
        for summary, colour, label in ((base, BASELINE_COLOUR, labels[0]), (scenario, SCENARIO_COLOUR, labels[1])):
            rows = _rows(summary, region, segment, metric)
            if name == "demand":
                _draw(ax, rows, colour, f"{label}: {words['demand']}", "--", band=False)
                _draw(ax, _rows(summary, region, segment, "output"), colour, f"{label}: {words['output']}")
            else:
                _draw(ax, rows, colour, label)
            years = sorted(set(years) | {int(y) for y in rows.year})
        unit = _rows(base, region, segment, metric)["unit"]
        unit_text = unit_label(lang, unit.iloc[0]) if len(unit) else ""
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
    fig.suptitle(f"{TITLES[lang][name]} ({words['band']})", fontsize=11)
    return fig


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def all_charts(base: pd.DataFrame, scenario: pd.DataFrame, labels: Sequence[str], lang: str = "en") -> dict[str, bytes]:
    """Every chart of `CHARTS` as PNG bytes, by name."""
    return {name: png(chart(name, base, scenario, labels, lang)) for name in CHARTS}
