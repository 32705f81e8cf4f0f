"""Charts of a run: titles, axis labels with units (亿元, t, GWh, %), legends, P5-P95 bands.

Charts import the results, never the reverse. Labels come from `LABELS` so that a second language is a
table, not new code; the bundled font subset (``sim/fonts/``, SIL Open Font License) renders 亿元 and the
Chinese labels on a machine with no CJK font installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

if TYPE_CHECKING:
    from sim.runner import RunResult

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SEGMENT_COLOURS = {"lithium_salt": "#1b9e77", "lfp_cathode": "#d95f02", "battery": "#7570b3", "all": "#333333"}

LABELS = {
    "en": {
        "lithium_salt": "lithium salt", "lfp_cathode": "LFP cathode", "battery": "battery cells", "all": "all",
        "output_title": "Suining output by segment — {scenario}",
        "va_title": "Suining lithium value added — {scenario}",
        "share_title": "Suining share of national output — {scenario}",
        "price_title": "Prices — {scenario}",
        "year": "year", "current": "current prices", "constant": "constant 2022 prices",
        "va_axis": "value added (亿元)", "share_axis": "share of China's output (%)",
        "report": "report, 2023", "band": "P5–P95",
        "carbonate": "lithium carbonate (yuan/t)", "lfp": "LFP cathode (yuan/t)", "cell": "cells (yuan/Wh)",
        "units": {"lithium_salt": "t LCE", "lfp_cathode": "t", "battery": "GWh"},
    },
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


def _series(summary, region: str, segment: str, metric: str):
    sel = summary[(summary.region == region) & (summary.segment == segment) & (summary.metric == metric)]
    return sel.sort_values("year")


def _band(ax, rows, colour: str, label: str, band_label: str | None) -> None:
    ax.plot(rows.year, rows["mean"], color=colour, lw=2, label=label)
    if (rows.p95 - rows.p05).abs().max() > 0:
        ax.fill_between(rows.year, rows.p05, rows.p95, color=colour, alpha=0.2, label=band_label)


def run_charts(result: RunResult, out_dir: str | Path, lang: str = "en") -> list[Path]:
    """Write the run's PNG charts into ``out_dir``; return their paths."""
    use_bundled_font()
    lab = LABELS[lang]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = result.summary
    name = result.scenario.name
    paths = []

    # 1. output by segment
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, seg in zip(axes, ("lithium_salt", "lfp_cathode", "battery"), strict=True):
        _band(ax, _series(s, "suining", seg, "output"), SEGMENT_COLOURS[seg], lab[seg], lab["band"])
        ax.set_title(lab[seg])
        ax.set_xlabel(lab["year"])
        ax.set_ylabel(f"{lab[seg]} ({lab['units'][seg]})")
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(lab["output_title"].format(scenario=name))
    paths.append(_save(fig, out / "suining_output.png"))

    # 2. value added, current and constant prices
    fig, ax = plt.subplots(figsize=(8, 4.5))
    _band(ax, _series(s, "suining", "all", "value_added"), "#e7298a", lab["current"], lab["band"])
    _band(ax, _series(s, "suining", "all", "value_added_real"), "#386cb0", lab["constant"], None)
    ax.set_title(lab["va_title"].format(scenario=name))
    ax.set_xlabel(lab["year"])
    ax.set_ylabel(lab["va_axis"])
    ax.legend(loc="best")
    ax.grid(alpha=0.3)
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
    ax.set_xlabel(lab["year"])
    ax.set_ylabel(lab["share_axis"])
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    paths.append(_save(fig, out / "national_shares.png"))

    # 4. prices
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, seg, key in zip(axes, ("lithium_salt", "lfp_cathode", "battery"), ("carbonate", "lfp", "cell"),
                            strict=True):
        _band(ax, _series(s, "china", seg, "price"), SEGMENT_COLOURS[seg], lab[key], lab["band"])
        ax.set_title(lab[key])
        ax.set_xlabel(lab["year"])
        ax.set_ylabel(lab[key])
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(lab["price_title"].format(scenario=name))
    paths.append(_save(fig, out / "prices.png"))
    return paths


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
