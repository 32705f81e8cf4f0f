"""The building blocks of the charts: fonts and style, figures drawn by the Agg canvas, titles and labels that
fit, mean lines with P5-P95 bands, bars with their ranges, years as ticks, the years of history shaded, the check
that every text lies inside its figure, and drawing a list of charts over worker processes.

`sim.outputs.charts` (a run's and a comparison's charts) and `sim.outputs.cluster_charts` (the rival clusters')
draw with them; they hold no chart of their own. Figures are `matplotlib.figure.Figure` objects drawn by the Agg
canvas, never pyplot's: importing this module chooses no backend and holds no global figure state.
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

from sim.inputs import catalogue as cat
from sim.inputs.chain import DEFAULT_CHAIN, Chain

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


# Chinese line breaking: no line starts with closing punctuation, none ends with an opening bracket; a line
# breaks, where it can, after a clause's punctuation rather than inside a word
_NO_LINE_START = frozenset("，。、；：！？）》」』】”’…%·")
_NO_LINE_END = frozenset("（《「『【“‘")
_BREAK_AFTER = frozenset("，、；：）》」』】")
_BREAK_BEFORE = frozenset("（《「『【")


def _ems(text: str) -> float:
    """Width in ems: a CJK character is one em, anything else about two thirds of one."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.68 for c in text)


def _wrap_cjk(paragraph: str, limit: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for char in paragraph:
        if line and _ems(line + char) > limit:
            cut = len(line)
            for i in range(len(line) - 1, len(line) // 2, -1):  # the last clause break in the line's second half
                if line[i] in _BREAK_AFTER or line[i] in _BREAK_BEFORE:
                    cut = i + 1 if line[i] in _BREAK_AFTER else i
                    break
            else:
                while cut > 1 and (line[cut - 1] in _NO_LINE_END or (line + char)[cut] in _NO_LINE_START):
                    cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        line += char
    lines.append(line)
    return lines


def wrap(text: str, figure_width: float, fontsize: float = 12.0) -> str:
    """A title broken into lines that fit a figure ``figure_width`` inches wide (Chinese by its characters'
    widths, at clause breaks where it can and never with punctuation opening a line)."""
    limit = max(int((figure_width - 0.3) * 72.0 / (fontsize * 0.68)), 20)
    lines = []
    for paragraph in text.split("\n"):
        if any(_width(c) == 2 for c in paragraph):
            lines.extend(_wrap_cjk(paragraph, max((figure_width - 0.3) * 72.0 / fontsize, 14.0)))
        elif len(paragraph) <= limit:
            lines.append(paragraph)
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
        title += "\n" + wrap(note, width)  # one text, drawn at one size
    fig.suptitle(title, fontsize=12)
    fig._title_lines = title.count("\n") + 1  # read by `layout`: a figure with a title gets air below it


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
    never sit on a bar or a whisker. ``number`` is a format spec, or "amount" for figures of any size
    (`amount`)."""
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
        text = amount(m) if number == "amount" else format(m, number)
        ax.annotate(
            text, (xi, max(hi, m) if above else min(lo, m)), xytext=(0, 3 if above else -3), textcoords="offset points",
            ha="center", va="bottom" if above else "top", fontsize=7, zorder=4,
        )  # fmt: skip
    finite = np.isfinite(mean)
    if finite.any():
        _headroom(ax, float(np.nanmin(np.r_[low[finite], mean[finite]])), float(np.nanmax(np.r_[high[finite]])))


def amount(value: float) -> str:
    """A figure as a planner reads it on a bar: 1,250 / 90.6 / 7.7 / 0.95, never 7.69 beside -0.951."""
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if size >= 1 or size == 0 else f"{value:.2f}"


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


def side_legend(ax, handles: Sequence | None = None, title: str | None = None, extra: Sequence = ()) -> None:
    """A legend beside the panel, on its right (the layout makes room for it): lines, bars and bands stay clear
    of it, however many scenarios it names."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    handles = [*handles, *extra]
    if handles:
        ax.legend(
            handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=7,
            title=title, title_fontsize=7,
        )  # fmt: skip


def layout(fig: Figure) -> None:
    """Fit the panels to their text (labels, legends) below the figure's title."""
    lines = getattr(fig, "_title_lines", 0)
    # the engine run once, not attached (a figure with a layout engine is drawn twice when saved), and without
    # a rect (which makes it measure every text twice): the panels then move down below the title
    TightLayoutEngine(pad=0.6, rect=None).execute(fig)
    if lines:  # the engine leaves the title's own height; a little air between it and the panels' titles
        fig.subplots_adjust(top=fig.subplotpars.top - 0.1 / fig.get_figheight())


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
