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
several threads or processes (`draw_all` spreads a list of charts over worker processes).
"""

from __future__ import annotations

import os
import textwrap
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import font_manager, rc_context
from matplotlib import ticker as mticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import TightLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.inputs import catalogue as cat
from sim.inputs.chain import DEFAULT_CHAIN, Chain
from sim.inputs.reported import reported_figures

FONT_DIR = Path(__file__).resolve().parent / "fonts"
PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
BASELINE_COLOUR = "#222222"
# scenarios besides the baseline: colour-blind-safe hues (Okabe and Ito) that stay apart on white, with line
# styles cycling too, so eight scenarios remain distinguishable in print and in grey
SCENARIO_COLOURS = ("#E69F00", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999933")
SCENARIO_STYLES = ("-", "--", "-.", ":")
HISTORY_COLOUR = "#e3ebf5"  # a pale blue, apart from the grey of the bands
BAND_ALPHA = 0.12  # light enough that several bands overlapping stay readable; their edges are drawn too
DPI = 100
# the report's 2023 figures (2024 work report, line 21), shares of national output and real growth, are read from
# the calibration targets when a chart marks them (sim.inputs.reported)
REPORTED_SHARE_STAGES = ("lithium_salt", "lfp_cathode")
STATISTICS = ("mean", "p05", "p50", "p95", "diff_mean", "diff_p05", "diff_p95")

_FONTS: list[str] = []


def _font_families() -> list[str]:
    """DejaVu Sans, then the bundled CJK subset (registered once): matplotlib falls back glyph by glyph."""
    if not _FONTS:
        for path in sorted(FONT_DIR.glob("*.[ot]tf")):
            font_manager.fontManager.addfont(str(path))
            _FONTS.append(font_manager.FontProperties(fname=str(path)).get_name())
    return ["DejaVu Sans", *_FONTS]


def _style() -> dict:
    return {"font.family": _font_families(), "axes.unicode_minus": False, "savefig.dpi": DPI}


def use_bundled_font() -> None:
    """Make the bundled CJK subset matplotlib's fallback font for the whole process (for code drawing its own
    figures); this module's charts use it without changing global settings."""
    import matplotlib

    matplotlib.rcParams.update(_style())


def stage_colours(chain: Chain = DEFAULT_CHAIN) -> dict[str, str]:
    colours = {stage.key: PALETTE[i % len(PALETTE)] for i, stage in enumerate(chain)}
    colours["all"] = "#333333"
    return colours


def scenario_colours(scenarios: Sequence[str]) -> dict[str, str]:
    """The baseline (first) in near-black, the others in `SCENARIO_COLOURS`."""
    return {
        name: BASELINE_COLOUR if i == 0 else SCENARIO_COLOURS[(i - 1) % len(SCENARIO_COLOURS)]
        for i, name in enumerate(scenarios)
    }


def scenario_styles(scenarios: Sequence[str]) -> dict[str, str]:
    return {
        name: "-" if i == 0 else SCENARIO_STYLES[(i - 1) % len(SCENARIO_STYLES)] for i, name in enumerate(scenarios)
    }


# ---------------------------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------------------------
def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, figure_width: float, fontsize: float = 12.0) -> str:
    """A title broken into lines that fit a figure ``figure_width`` inches wide (CJK characters count double)."""
    limit = max(int((figure_width - 0.3) * 72.0 / (fontsize * 0.68)), 20)
    lines = []
    for paragraph in text.split("\n"):
        if _width(paragraph) <= limit:
            lines.append(paragraph)
            continue
        if any(_width(c) == 2 for c in paragraph):  # Chinese: break anywhere, by display width
            line = ""
            for char in paragraph:
                if _width(line + char) > limit:
                    lines.append(line)
                    line = ""
                line += char
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(paragraph, limit))
    return "\n".join(lines)


def _figure(ncols: int = 1, nrows: int = 1, width: float = 4.8, height: float = 4.2) -> tuple[Figure, list]:
    fig = Figure(figsize=(width * ncols + 0.8, height * nrows + 0.9))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, list(axes.ravel())


def _panel_title(ax, text: str) -> None:
    """A panel's title, broken into lines that fit the panel's width."""
    fig = ax.get_figure()
    width = ax.get_position().width * fig.get_figwidth()
    ax.set_title(wrap(text, width, 11.0), fontsize=11)


def _title(fig: Figure, text: str, note: str = "") -> None:
    width = fig.get_figwidth()
    title = wrap(text, width)
    if note:
        title += "\n" + wrap(note, width, 10.0)
    fig.suptitle(title, fontsize=12)
    fig._title_lines = title.count("\n") + 1  # read by `save`: the room the title takes above the panels


def _series(table: pd.DataFrame, region: str, segment: str, metric: str) -> pd.DataFrame:
    sel = table[(table.region == region) & (table.segment == segment) & (table.metric == metric)]
    return sel.sort_values("year")


def _scaled(rows: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, str]:
    """The rows in the unit a reader expects (`sim.inputs.catalogue.display_unit`), and that unit."""
    if rows.empty:
        return rows, ""
    unit = str(rows["unit"].iloc[0])
    columns = [c for c in STATISTICS if c in rows.columns]
    magnitude = float(np.nanmax(np.abs(rows[columns].to_numpy(dtype=float)))) if len(rows) else 0.0
    factor, shown = cat.display_unit(lang, unit, magnitude if np.isfinite(magnitude) else 0.0)
    if factor != 1.0:
        rows = rows.copy()
        rows[columns] = rows[columns] * factor
    return rows, shown


def _history(ax, history: Sequence[int] | None, label: str | None) -> None:
    """Shade the years of history (data) behind the projection."""
    if history:
        ax.axvspan(min(history) - 0.5, max(history) + 0.5, color=HISTORY_COLOUR, zorder=0, lw=0, label=label)


def _band(
    ax,
    rows: pd.DataFrame,
    colour: str,
    label: str | None,
    band_label: str | None,
    style: str = "-",
    low: str = "p05",
    high: str = "p95",
    centre: str = "mean",
    width: float = 2.0,
    zorder: float = 3,
) -> bool:
    """Mean line and, when the replicates differ, the P5-P95 band (lightly filled, its edges drawn); True if a
    band was drawn."""
    rows = rows.dropna(subset=[centre])
    if rows.empty:
        return False
    ax.plot(rows.year, rows[centre], style, color=colour, lw=width, label=label, zorder=zorder)
    if low not in rows or high not in rows:
        return False
    spread = (rows[high] - rows[low]).abs()
    if not (spread.fillna(0) > 0).any():
        return False
    ax.fill_between(rows.year, rows[low], rows[high], color=colour, alpha=BAND_ALPHA, lw=0, label=band_label)
    for edge in (low, high):
        ax.plot(rows.year, rows[edge], color=colour, lw=0.6, alpha=0.55, zorder=zorder - 0.5)
    return True


def _headroom(ax, low: float, high: float, share: float = 0.14) -> None:
    """Room above and below the bars for their labels (which sit outside the error bars)."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high - low <= 0:  # nothing but zeros: a small symmetric range around the zero line
        ax.set_ylim(-1.0, 1.0)
        return
    pad = (high - low) * share
    ax.set_ylim(low - (pad if low < 0 else 0.0), high + (pad if high > 0 else 0.0))


def _bars(ax, x, mean, low, high, colours, number: str, label: str | None = None, band_label: str | None = None):
    """Bars with their P5-P95 range as error bars; each value written beyond the end of its error bar, so labels
    never sit on a bar or a whisker."""
    mean = np.asarray(mean, dtype=float)
    low = np.where(np.isfinite(low), low, mean)
    high = np.where(np.isfinite(high), high, mean)
    ax.bar(x, mean, width=0.7, color=colours, alpha=0.85, label=label, zorder=2)
    if np.any(high - low > 0):
        below, above = np.maximum(mean - low, 0), np.maximum(high - mean, 0)  # a mean outside its band: no whisker
        ax.errorbar(
            x, mean, yerr=[below, above], fmt="none", ecolor="#222222", elinewidth=1, capsize=3, label=band_label,
            zorder=3,
        )  # fmt: skip
    for xi, m, lo, hi in zip(x, mean, low, high, strict=True):
        if not np.isfinite(m):
            continue
        above = m >= 0
        ax.annotate(
            format(m, number), (xi, max(hi, m) if above else min(lo, m)), xytext=(0, 3 if above else -3),
            textcoords="offset points", ha="center", va="bottom" if above else "top", fontsize=7, zorder=4,
        )  # fmt: skip
    finite = np.isfinite(mean)
    if finite.any():
        _headroom(ax, float(np.nanmin(np.r_[low[finite], mean[finite]])), float(np.nanmax(np.r_[high[finite]])))


def _thousands(value: float, _pos: int) -> str:
    """Tick labels: 1,250 rather than 1.25e3."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _short(value: float) -> str:
    if value != value:  # NaN
        return ""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _years(ax, years) -> None:
    """One tick per year, labels slanted when there are many; half a year of room at each end, so the first and
    last bars are never cut."""
    years = sorted({int(y) for y in years})
    if not years:
        return
    many = len(years) > 7
    ax.set_xticks(years, [str(y) for y in years], rotation=45 if many else 0, ha="right" if many else "center")
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)


def _ylabel(ax, text: str) -> None:
    """An axis label broken into lines that fit the panel's height."""
    height = ax.get_position().height * ax.get_figure().get_figheight()
    ax.set_ylabel(wrap(text, height, 10.0))


def _axes(ax, lab: dict, ylabel: str, years=None) -> None:
    ax.set_xlabel(lab["year"])
    _ylabel(ax, ylabel)
    if years is not None:
        _years(ax, years)
    ax.yaxis.set_major_formatter(mticker.FuncFormatter(_thousands))
    ax.grid(alpha=0.3)


def _legend(ax, fontsize: float = 7, title: str | None = None, extra: Sequence = ()) -> None:
    handles, names = ax.get_legend_handles_labels()
    for handle in extra:
        handles.append(handle)
        names.append(handle.get_label())
    if handles:
        ax.legend(handles, names, loc="best", fontsize=fontsize, title=title, title_fontsize=fontsize)


def layout(fig: Figure) -> None:
    """Fit the panels to their text (labels, legends) below the figure's title."""
    lines = getattr(fig, "_title_lines", 0)
    # the engine run once, not attached (a figure with a layout engine is drawn twice when saved), and without
    # a rect (which makes it measure every text twice): the panels then move down below the title
    TightLayoutEngine(pad=0.6, rect=None).execute(fig)
    if lines:
        below_title = (0.12 + 0.24 * lines) / fig.get_figheight()
        fig.subplots_adjust(top=fig.subplotpars.top - below_title)


def save(fig: Figure, path: Path) -> Path:
    """Lay the figure out (once, so it is drawn once) and write it as PNG."""
    layout(fig)
    fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 2})  # zlib's level 6 takes 3 times as long
    return path


def _save(fig: Figure, path: Path) -> Path:
    return save(fig, path)


def overflowing_text(fig: Figure) -> list[str]:
    """Every piece of text that does not fit inside the figure (after drawing it): what a reader would see cut."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    hidden = set()  # tick labels of ticks outside the axes' limits: matplotlib keeps them but never draws them
    for ax in fig.axes:
        for axis, (low, high) in ((ax.xaxis, sorted(ax.get_xlim())), (ax.yaxis, sorted(ax.get_ylim()))):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - 1e-9 * (abs(low) + 1) <= tick.get_loc() <= high + 1e-9 * (abs(high) + 1):
                    hidden.update((id(tick.label1), id(tick.label2)))
    out = []
    for text in fig.findobj(lambda a: hasattr(a, "get_text") and hasattr(a, "get_window_extent")):
        if id(text) in hidden or not text.get_visible() or not str(text.get_text()).strip():
            continue
        extent = text.get_window_extent(renderer)
        if extent.x0 < box.x0 - 1 or extent.y0 < box.y0 - 1 or extent.x1 > box.x1 + 1 or extent.y1 > box.y1 + 1:
            out.append(str(text.get_text()))
    return out


def draw_all(
    jobs: Sequence[tuple[Callable[..., Path | None], tuple, dict]],
    pool: Executor | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> list[Path | None]:
    """Run chart jobs ``(function, args, kwargs)``, each writing one file, and ``meanwhile`` (other work of this
    process, e.g. the workbook). With ``pool``, every job is offered to it at once; this process runs
    ``meanwhile`` and then draws, from the last job backwards, those the pool has not started, so the two share
    the work whatever each costs."""
    if pool is None or not jobs:
        if meanwhile is not None:
            meanwhile()
        return [function(*args, **kwargs) for function, args, kwargs in jobs]
    try:
        futures = [pool.submit(function, *_for_worker(args), **kwargs) for function, args, kwargs in jobs]
    except BrokenProcessPool:  # the worker could not start (e.g. a main module it cannot import): draw here
        return draw_all(jobs, None, meanwhile)
    if meanwhile is not None:
        meanwhile()
    here = {}
    for i in reversed(range(len(jobs))):
        if futures[i].cancel():
            function, args, kwargs = jobs[i]
            here[i] = function(*args, **kwargs)
    out = []
    for i, (function, args, kwargs) in enumerate(jobs):
        if i in here:
            out.append(here[i])
            continue
        try:
            out.append(futures[i].result())
        except (BrokenProcessPool, OSError):  # the worker died, or could not reach the directory: draw here
            out.append(function(*args, **kwargs))
    return out


def _for_worker(args: tuple) -> tuple:
    """A job's arguments as another process must read them: a directory this process holds by descriptor
    (``/proc/self/fd/N``, `sim.runs.rundir`) is named through this process's id, which the worker can follow."""
    own = f"/proc/{os.getpid()}/"
    return tuple(
        Path(str(a).replace("/proc/self/", own, 1)) if isinstance(a, Path) and str(a).startswith("/proc/self/") else a
        for a in args
    )


def warm() -> None:
    """Load the fonts and draw a word in each script: a chart worker does this while its parent is busy."""
    with rc_context(_style()):
        fig, (ax,) = _figure(1, width=1.0, height=1.0)
        _panel_title(ax, "P5–P95 亿元 万吨")
        fig.canvas.draw()


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
    from sim.outputs import cluster_charts  # it draws with this module's building blocks

    jobs.extend(cluster_charts.run_jobs(s, out, common, chain))
    return draw_all(jobs, pool)


def _run_output(s, stages, path, *, scenario, lang, history, chain) -> Path:
    lab = cat.words(lang)
    colours = stage_colours(chain)
    with rc_context(_style()):
        fig, axes = _figure(len(stages))
        for ax, key in zip(axes, stages, strict=True):
            rows, unit = _scaled(_series(s, "suining", key, "output"), lang)
            _history(ax, history, lab["history"])
            _band(ax, rows, colours[key], cat.segment(lang, key, chain), lab["band"])
            _panel_title(ax, cat.segment(lang, key, chain))
            _axes(ax, lab, lab["with_unit"].format(name=cat.metric(lang, "output"), unit=unit), s["year"])
            _legend(ax)
        _title(fig, lab["output_title"].format(scenario=scenario))
        return _save(fig, path)


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
        _legend(ax, extra=[Patch(facecolor="#888888", alpha=0.3, label=lab["band"])])
        _title(fig, lab["share_title"].format(scenario=scenario))
        return _save(fig, path)


def _run_prices(s, stages, path, *, scenario, lang, history, chain) -> Path:
    lab = cat.words(lang)
    colours = stage_colours(chain)
    with rc_context(_style()):
        fig, axes = _figure(len(stages))
        for ax, key in zip(axes, stages, strict=True):
            rows, unit = _scaled(_series(s, "china", key, "price"), lang)
            _history(ax, history, lab["history"])
            _band(ax, rows, colours[key], cat.segment(lang, key, chain), lab["band"])
            _panel_title(ax, cat.segment(lang, key, chain))
            _axes(ax, lab, lab["with_unit"].format(name=cat.metric(lang, "price"), unit=unit), s["year"])
            _legend(ax)
        _title(fig, lab["price_title"].format(scenario=scenario))
        return _save(fig, path)


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
        for ax, ((_, segment, metric), sel) in zip(axes, rows.items(), strict=True):
            sel, unit = _scaled(sel, lang)
            _history(ax, history, lab["history"])
            banded = False
            for name in scenarios:
                banded |= _band(ax, sel[sel.scenario == name], colours[name], names[name], None, styles[name])
            extra = [Patch(facecolor="#888888", alpha=0.3, label=lab["band"])] if banded else []
            _legend(ax, title=lab["scenario"], extra=extra)
            _panel_title(ax, _panel_name(lang, segment, metric))
            _axes(ax, lab, lab["with_unit"].format(name=cat.metric(lang, metric), unit=unit), sel["year"])
        _title(fig, title, note)
        return _save(fig, path)


def _comparison_differences(rows, scenarios, title, path, *, lang, names, history, note) -> Path:
    lab = cat.words(lang)
    colours, styles = scenario_colours(scenarios), scenario_styles(scenarios)
    with rc_context(_style()):
        fig, axes = _figure(len(rows), width=5.0, height=4.4)
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
            _legend(ax, title=lab["scenario"], extra=extra)
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
            _bars(ax, x, values, np.asarray(low, float), np.asarray(high, float), [colours[n] for n in others], ".3g")
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
            _legend(ax, title=lab["scenario"], extra=extra)
        _title(fig, lab["score_cmp_title"], note)
        return _save(fig, Path(out_dir) / "scoreboard.png")
