"""Charts of a run and of a comparison of runs: titles, axis labels with units (亿元, t, GWh, %), legends,
P5-P95 bands.

Charts import the results, never the reverse. Labels come from `LABELS` so that a second language is a
table, not new code; the bundled font subset (``sim/outputs/fonts/``, SIL Open Font License) renders 亿元 and the
Chinese labels on a machine with no CJK font installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib import ticker as mticker  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

if TYPE_CHECKING:
    from sim.runs.runner import RunResult

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SEGMENTS = ("lithium_salt", "lfp_cathode", "battery")
SEGMENT_COLOURS = {
    "lithium_salt": "#1b9e77", "lfp_cathode": "#d95f02", "battery": "#7570b3", "all": "#333333",
}
BASELINE_COLOUR = "#222222"

LABELS = {
    "en": {
        "lithium_salt": "lithium salt", "lfp_cathode": "LFP cathode", "battery": "battery cells",
        "all": "all segments", "suining": "Suining", "china": "China",
        # run charts
        "output_title": "Suining output by segment — {scenario}",
        "va_title": "Suining lithium value added — {scenario}",
        "share_title": "Suining share of national output — {scenario}",
        "price_title": "Prices — {scenario}",
        "year": "year", "current": "current prices", "constant": "constant 2022 prices",
        "va_axis": "value added (亿元)", "share_axis": "share of China's output (%)",
        "report": "report, 2023", "band": "P5–P95",
        "carbonate": "lithium carbonate (yuan/t)", "lfp": "LFP cathode (yuan/t)", "cell": "cells (yuan/Wh)",
        "units": {"lithium_salt": "t LCE", "lfp_cathode": "t", "battery": "GWh"},
        # comparison charts
        "cmp_output": "Suining output by segment",
        "cmp_value_added": "Suining lithium value added",
        "cmp_share": "Suining share of national output",
        "cmp_employment": "Suining lithium employment",
        "cmp_profit": "Suining lithium profit",
        "cmp_levels": "{title}: scenarios (mean, P5–P95 band)",
        "cmp_diff": "{title}: difference from '{baseline}'",
        "cmp_diff_final": "{title}: difference from '{baseline}' in {year}",
        "difference": "difference", "scenario": "scenario", "percentage_points": "percentage points",
        "metrics": {
            "output": "output", "capacity": "capacity", "utilization": "capacity utilisation", "price": "price",
            "national_share": "share of national output", "output_value": "gross output value",
            "intermediate": "intermediate consumption", "value_added": "value added, current prices",
            "value_added_real": "value added, constant prices",
            "value_added_real_growth": "real value-added growth", "wages": "wages", "profit": "profit",
            "taxes": "taxes", "support": "policy support", "employment": "employment", "firms": "firms",
        },
        # summary units as shown to a reader; units not listed are shown as written in summary.csv
        "unit_names": {"share": "share (0–1)", "亿元 (2022 prices)": "亿元, 2022 prices"},
        # comparison workbook
        "sheets": {"headline": "Headline", "difference": "Difference", "comparison": "Comparison"},
        "headline_title": "Suining lithium industry by scenario and year: mean over replicates",
        "difference_title": "Suining lithium industry: difference from the baseline scenario '{baseline}' "
                            "(mean over replicates)",
        "indicator": "indicator", "with_unit": "{name} ({unit})",
        "columns": {
            "scenario": "Scenario", "year": "Year", "region": "Region", "segment": "Segment", "metric": "Metric",
            "unit": "Unit", "mean": "Mean", "p05": "P5", "p50": "P50 (median)", "p95": "P95",
            "diff_mean": "Difference from baseline (mean, in the row's unit)",
            "diff_pct": "Difference from baseline (% of baseline mean)",
        },
    },
    "zh": {
        "lithium_salt": "锂盐", "lfp_cathode": "磷酸铁锂正极", "battery": "锂电池",
        "all": "合计", "suining": "遂宁", "china": "全国",
        "output_title": "遂宁分环节产量 — {scenario}",
        "va_title": "遂宁锂电产业增加值 — {scenario}",
        "share_title": "遂宁产量占全国比重 — {scenario}",
        "price_title": "价格 — {scenario}",
        "year": "年份", "current": "现价", "constant": "2022年不变价",
        "va_axis": "增加值（亿元）", "share_axis": "占全国产量比重（%）",
        "report": "政府工作报告，2023年", "band": "P5–P95",
        "carbonate": "碳酸锂（元/吨）", "lfp": "磷酸铁锂正极（元/吨）", "cell": "电芯（元/Wh）",
        "units": {"lithium_salt": "吨 LCE", "lfp_cathode": "吨", "battery": "GWh"},
        "cmp_output": "遂宁分环节产量",
        "cmp_value_added": "遂宁锂电产业增加值",
        "cmp_share": "遂宁产量占全国比重",
        "cmp_employment": "遂宁锂电产业就业人数",
        "cmp_profit": "遂宁锂电产业利润",
        "cmp_levels": "{title}：各情景（均值，P5–P95 区间）",
        "cmp_diff": "{title}：与“{baseline}”情景之差",
        "cmp_diff_final": "{title}：{year}年与“{baseline}”情景之差",
        "difference": "差值", "scenario": "情景", "percentage_points": "百分点",
        "metrics": {
            "output": "产量", "capacity": "产能", "utilization": "产能利用率", "price": "价格",
            "national_share": "占全国产量比重", "output_value": "产值（现价）", "intermediate": "中间投入",
            "value_added": "增加值（现价）", "value_added_real": "增加值（不变价）",
            "value_added_real_growth": "增加值实际增速（可比价）", "wages": "工资", "profit": "利润",
            "taxes": "税收", "support": "政策支持", "employment": "就业人数", "firms": "企业数",
        },
        "unit_names": {
            "t LCE": "吨 LCE", "t": "吨", "persons": "人", "firms": "家", "share": "比例（0–1）",
            "亿元 (2022 prices)": "亿元，2022年价格", "yuan/t LCE": "元/吨 LCE", "yuan/t": "元/吨",
            "yuan/Wh": "元/Wh", "t LCE/yr": "吨 LCE/年", "t/yr": "吨/年", "GWh/yr": "GWh/年",
        },
        "sheets": {"headline": "主要指标", "difference": "与基准差值", "comparison": "完整对比表"},
        "headline_title": "遂宁锂电产业分情景、分年度主要指标（各次模拟均值）",
        "difference_title": "遂宁锂电产业：与基准情景（{baseline}）之差（各次模拟均值）",
        "indicator": "指标", "with_unit": "{name}（{unit}）",
        "columns": {
            "scenario": "情景", "year": "年份", "region": "地区", "segment": "环节", "metric": "指标",
            "unit": "单位", "mean": "均值", "p05": "P5", "p50": "P50（中位数）", "p95": "P95",
            "diff_mean": "与基准差值（均值，单位同本行）", "diff_pct": "与基准差值（占基准均值的%）",
        },
    },
}

# comparison charts: file stem -> (title key, panels as (region, segment, metric))
COMPARISON_CHARTS: dict[str, tuple[str, list[tuple[str, str, str]]]] = {
    "suining_output": ("cmp_output", [("suining", seg, "output") for seg in SEGMENTS]),
    "suining_value_added": (
        "cmp_value_added", [("suining", "all", "value_added"), ("suining", "all", "value_added_real")]
    ),
    "national_shares": ("cmp_share", [("suining", seg, "national_share") for seg in SEGMENTS]),
    "suining_employment": ("cmp_employment", [("suining", "all", "employment")]),
    "suining_profit": ("cmp_profit", [("suining", "all", "profit")]),
}


def use_bundled_font() -> None:
    """Register the bundled CJK subset and put it after DejaVu Sans, so 亿元 renders everywhere."""
    names = []
    for path in sorted(FONT_DIR.glob("*.[ot]tf")):
        font_manager.fontManager.addfont(str(path))
        names.append(font_manager.FontProperties(fname=str(path)).get_name())
    # a list of families: matplotlib falls back glyph by glyph from the first to the next
    plt.rcParams["font.family"] = ["DejaVu Sans", *names]
    plt.rcParams["axes.unicode_minus"] = False


def labels(lang: str) -> dict:
    """The label table of a language ("en" or "zh")."""
    if lang not in LABELS:
        raise ValueError(f"unknown chart language {lang!r}; choose one of {', '.join(LABELS)}")
    return LABELS[lang]


def metric_label(lang: str, metric: str) -> str:
    return LABELS[lang]["metrics"].get(metric, metric)


def unit_label(lang: str, unit: str) -> str:
    return LABELS[lang]["unit_names"].get(unit, unit)


def _series(summary, region: str, segment: str, metric: str):
    sel = summary[(summary.region == region) & (summary.segment == segment) & (summary.metric == metric)]
    return sel.sort_values("year")


def _band(ax, rows, colour: str, label: str, band_label: str | None) -> bool:
    """Mean line and, when the replicates differ, the P5-P95 band; True if a band was drawn."""
    ax.plot(rows.year, rows["mean"], color=colour, lw=2, label=label)
    if (rows.p95 - rows.p05).abs().max() > 0:
        ax.fill_between(rows.year, rows.p05, rows.p95, color=colour, alpha=0.2, label=band_label, lw=0)
        return True
    return False


def _thousands(value: float, _pos: int) -> str:
    """Tick labels: 1,250,000 rather than 1.25e6 (planners read tonnes and persons in full)."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _short(value: float) -> str:
    if value != value:  # NaN: no bar
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _axes_style(ax, lab: dict, ylabel: str) -> None:
    ax.set_xlabel(lab["year"])
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
    ax.grid(alpha=0.3)


def run_charts(result: RunResult, out_dir: str | Path, lang: str = "en") -> list[Path]:
    """Write the run's PNG charts into ``out_dir``; return their paths."""
    use_bundled_font()
    lab = labels(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = result.summary
    name = result.scenario.name
    paths = []

    # 1. output by segment
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, seg in zip(axes, SEGMENTS, strict=True):
        _band(ax, _series(s, "suining", seg, "output"), SEGMENT_COLOURS[seg], lab[seg], lab["band"])
        ax.set_title(lab[seg])
        _axes_style(ax, lab, lab["with_unit"].format(name=lab[seg], unit=lab["units"][seg]))
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(lab["output_title"].format(scenario=name))
    paths.append(_save(fig, out / "suining_output.png"))

    # 2. value added, current and constant prices
    fig, ax = plt.subplots(figsize=(8, 4.5))
    _band(ax, _series(s, "suining", "all", "value_added"), "#e7298a", lab["current"], lab["band"])
    _band(ax, _series(s, "suining", "all", "value_added_real"), "#386cb0", lab["constant"], None)
    ax.set_title(lab["va_title"].format(scenario=name))
    _axes_style(ax, lab, lab["va_axis"])
    ax.legend(loc="best")
    paths.append(_save(fig, out / "suining_value_added.png"))

    # 3. national shares, with the report's 2023 figures
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for seg, reported in (("lithium_salt", 7.0), ("lfp_cathode", 18.0), ("battery", None)):
        rows = _series(s, "suining", seg, "national_share")
        _band(ax, rows, SEGMENT_COLOURS[seg], lab[seg], None)
        if reported is not None:
            ax.scatter([2023], [reported], color=SEGMENT_COLOURS[seg], marker="D", s=50, zorder=5,
                       edgecolor="black", label=f"{lab[seg]}: {lab['report']}")
    ax.set_title(lab["share_title"].format(scenario=name))
    _axes_style(ax, lab, lab["share_axis"])
    ax.legend(loc="best", fontsize=8)
    paths.append(_save(fig, out / "national_shares.png"))

    # 4. prices
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, seg, key in zip(axes, SEGMENTS, ("carbonate", "lfp", "cell"), strict=True):
        _band(ax, _series(s, "china", seg, "price"), SEGMENT_COLOURS[seg], lab[key], lab["band"])
        ax.set_title(lab[key])
        _axes_style(ax, lab, lab[key])
        ax.legend(loc="best", fontsize=8)
    fig.suptitle(lab["price_title"].format(scenario=name))
    paths.append(_save(fig, out / "prices.png"))
    return paths


# ---------------------------------------------------------------------------------------------------------
# comparison of scenarios
# ---------------------------------------------------------------------------------------------------------
def scenario_colours(scenarios: Sequence[str]) -> dict[str, str]:
    """The baseline (first) in near-black, the others in the tab10 palette."""
    palette = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["tab10"].colors]
    return {name: BASELINE_COLOUR if i == 0 else palette[(i - 1) % len(palette)] for i, name in enumerate(scenarios)}


def _panel_title(lab: dict, lang: str, segment: str, metric: str) -> str:
    return metric_label(lang, metric) if segment == "all" else lab[segment]


def _difference_unit(lab: dict, lang: str, unit: str) -> str:
    return lab["percentage_points"] if unit == "%" else unit_label(lang, unit)


def comparison_charts(table: pd.DataFrame, out_dir: str | Path, lang: str = "en") -> list[Path]:
    """Charts of a comparison table (see `sim.outputs.compare.comparison_table`) into ``out_dir``; return their paths.

    For each key metric (`COMPARISON_CHARTS`): ``STEM.png``, every scenario's mean with its P5-P95 band;
    and, when there are scenarios besides the baseline, ``STEM_diff.png``, their mean's difference from
    the baseline by year, and ``STEM_diff_final.png``, that difference in the last year all runs share.
    """
    use_bundled_font()
    lab = labels(lang)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scenarios = list(dict.fromkeys(table["scenario"]))
    baseline, others = scenarios[0], scenarios[1:]
    colours = scenario_colours(scenarios)
    final_year = int(table.groupby("scenario")["year"].max().min())
    paths = []
    for stem, (title_key, panels) in COMPARISON_CHARTS.items():
        title = lab[title_key]
        rows = {panel: _series(table, *panel) for panel in panels}
        paths.append(_comparison_levels(rows, scenarios, colours, lab, lang,
                                        lab["cmp_levels"].format(title=title), out / f"{stem}.png"))
        if not others:
            continue
        paths.append(_comparison_differences(rows, others, colours, lab, lang,
                                             lab["cmp_diff"].format(title=title, baseline=baseline),
                                             out / f"{stem}_diff.png"))
        paths.append(_comparison_final(rows, others, colours, lab, lang, final_year,
                                       lab["cmp_diff_final"].format(title=title, baseline=baseline, year=final_year),
                                       out / f"{stem}_diff_final.png"))
    return paths


def _panels(count: int):
    fig, axes = plt.subplots(1, count, figsize=(4.6 * count + 1.5, 4.4), squeeze=False)
    return fig, list(axes[0])


def _unit(rows: pd.DataFrame) -> str:
    return str(rows["unit"].iloc[0]) if len(rows) else ""


def _comparison_levels(rows, scenarios, colours, lab, lang, title, path) -> Path:
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
        ax.set_title(_panel_title(lab, lang, segment, metric))
        ylabel = lab["with_unit"].format(name=metric_label(lang, metric), unit=unit_label(lang, _unit(sel)))
        _axes_style(ax, lab, ylabel)
    fig.suptitle(title)
    return _save(fig, path)


def _comparison_differences(rows, others, colours, lab, lang, title, path) -> Path:
    fig, axes = _panels(len(rows))
    for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
        ax.axhline(0.0, color="#888888", lw=1)
        for name in others:
            mine = sel[sel.scenario == name]
            ax.plot(mine.year, mine.diff_mean, color=colours[name], lw=2, marker="o", ms=3, label=name)
        ax.legend(loc="best", fontsize=8, title=lab["scenario"], title_fontsize=8)
        ax.set_title(_panel_title(lab, lang, segment, metric))
        _axes_style(ax, lab, lab["with_unit"].format(name=lab["difference"],
                                                     unit=_difference_unit(lab, lang, _unit(sel))))
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
        ax.set_xticks(range(len(others)), others, rotation=30 if len(others) > 3 else 0,
                      ha="right" if len(others) > 3 else "center")
        ax.set_title(_panel_title(lab, lang, segment, metric))
        ax.set_xlabel(lab["scenario"])
        ax.set_ylabel(lab["with_unit"].format(name=lab["difference"], unit=_difference_unit(lab, lang, _unit(sel))))
        ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
        ax.grid(alpha=0.3, axis="y")
        ax.legend(loc="best", fontsize=8, title=lab["scenario"], title_fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
