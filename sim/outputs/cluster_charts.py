"""Charts of the rival clusters: where the nation's new capacity went, each cluster's share of national output,
and Suining's share of the nation's new capacity (its win rate for new plants); for a run and for a comparison.

They read the summary's cluster rows, never the model: ``new_capacity`` (capacity ordered in the year for the
cluster's plants, u/yr), ``new_capacity_share`` (% of the nation's) and ``national_share`` (% of national output),
docs/model.md, section 7, "Submodels: observation". A summary without cluster rows gets none of these drawing. The
tables the charts draw (`project_flow`, `pooled_share`) are functions of their own, so a test can check them.
They draw with the building blocks of `sim.outputs.drawing` (through the module, so what patches it reaches them
too); `sim.outputs.charts` adds them to a run's charts, `sim.outputs.compare` to a comparison's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib import ticker as mticker
from matplotlib.patches import Patch

from sim.inputs import catalogue as cat
from sim.inputs.chain import DEFAULT_CHAIN, Chain
from sim.inputs.clusters import cluster_keys
from sim.outputs import drawing

HOME = "suining"
RESIDUAL = "rest_of_china"  # the rest of China: the residual population of plants, not a city
FLOW_YEARS = (2024, 2030)  # the years of the project flow (clipped to the run's)
POOLED_YEARS = (2025, 2030)  # the years Suining's share of new capacity is pooled over (clipped to the run's)
COMPARED_STAGES = ("lithium_salt", "lfp_cathode")  # Suining's main segments, where a neighbour's bid is felt
CLUSTER_METRICS = ("new_capacity", "new_capacity_share", "national_share")
# the home city in a strong red, the rest of China in pale grey behind the others, the rival cities in
# colour-blind-safe hues (Okabe and Ito) that stay apart from both
HOME_COLOUR = "#c62828"
RESIDUAL_COLOUR = "#c4c4c4"
RIVAL_COLOURS = ("#0072B2", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#6a3d9a", "#8c6d31")
FLOW_BAND = 0.07  # lighter than `drawing.BAND_ALPHA`: six clusters' bands overlap on one panel


def cluster_colours(clusters: Sequence[str]) -> dict[str, str]:
    """A colour for each cluster: Suining red, the rest of China grey, the rivals in turn."""
    rivals = [c for c in clusters if c not in (HOME, RESIDUAL)]
    out = {c: RIVAL_COLOURS[i % len(RIVAL_COLOURS)] for i, c in enumerate(rivals)}
    return {c: HOME_COLOUR if c == HOME else RESIDUAL_COLOUR if c == RESIDUAL else out[c] for c in clusters}


def clusters_in(table: pd.DataFrame) -> list[str]:
    """The clusters that have rows of new capacity in ``table``, in the clusters' order (Suining first)."""
    present = set(table.loc[table.metric == "new_capacity", "region"])
    return [key for key in cluster_keys() if key in present]


def cluster_stages(table: pd.DataFrame, chain: Chain = DEFAULT_CHAIN) -> list[str]:
    """The firm stages with cluster rows of new capacity, in the chain's order."""
    clusters = clusters_in(table)
    rows = table[(table.metric == "new_capacity") & table.region.isin(clusters)]
    present = set(rows["segment"])
    return [stage.key for stage in chain.firm_stages if stage.key in present]


def window(years: Sequence[int], bounds: tuple[int, int]) -> list[int]:
    """The run's years within ``bounds``; a run that ends before them, its last year."""
    years = sorted({int(y) for y in years})
    inside = [y for y in years if bounds[0] <= y <= bounds[1]]
    return inside or years[-1:]


def span(years: Sequence[int]) -> str:
    """``2025–2030``, or one year alone."""
    return f"{years[0]}–{years[-1]}" if len(years) > 1 and years[0] != years[-1] else str(years[0])


def cluster_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows these charts read (the clusters' and the nation's metrics of `CLUSTER_METRICS`): what a worker
    process is sent rather than the whole summary."""
    keep = table.metric.isin(CLUSTER_METRICS) & table.region.isin([*clusters_in(table), "china"])
    return table[keep]


def project_flow(table: pd.DataFrame, segment: str, years: Sequence[int]) -> pd.DataFrame:
    """Capacity ordered by cluster and year for one segment (mean over replicates, the model's unit: u/yr).

    Rows are ``years``, columns the clusters (Suining first, the rest of China last); a cluster without a row
    in a year counts 0. The clusters partition the nation, and a mean is linear, so each row sums to the nation's
    mean new capacity of that year (the ``china`` rows). The unit is in ``attrs["unit"]``.
    """
    clusters = clusters_in(table)
    rows = table[(table.metric == "new_capacity") & (table.segment == segment) & table.region.isin(clusters)]
    flow = rows.pivot_table(index="year", columns="region", values="mean", aggfunc="sum")
    flow = flow.reindex(index=list(years), columns=clusters).fillna(0.0)
    flow.index.name, flow.columns.name = "year", "region"
    flow.attrs["unit"] = str(rows["unit"].iloc[0]) if len(rows) else ""
    return flow


def pooled_share(table: pd.DataFrame, segment: str, years: Sequence[int], region: str = HOME) -> float:
    """A cluster's share of the nation's new capacity over ``years`` pooled (%): its mean new capacity summed
    over the years, over the nation's (NaN where the nation ordered none). A ratio of means, not the mean of the
    replicates' ratios: the summary keeps no per-replicate figures of the nation."""
    rows = table[(table.metric == "new_capacity") & (table.segment == segment) & table.year.isin(list(years))]
    mine = float(rows.loc[rows.region == region, "mean"].sum())
    nation = float(rows.loc[rows.region == "china", "mean"].sum())
    return 100.0 * mine / nation if nation > 0 else float("nan")


# ---------------------------------------------------------------------------------------------------------------
# a run
# ---------------------------------------------------------------------------------------------------------------
def run_jobs(
    summary: pd.DataFrame, out: Path, common: dict, chain: Chain = DEFAULT_CHAIN
) -> list[tuple[Callable[..., Path], tuple, dict]]:
    """The clusters' charts of a run as jobs for `sim.outputs.drawing.draw_all` (none without cluster rows):
    ``project_flow.png``, ``cluster_shares.png`` and ``suining_win_rate.png``."""
    stages = cluster_stages(summary, chain)
    if not stages or HOME not in clusters_in(summary):
        return []
    rows = cluster_rows(summary)
    return [
        (project_flow_chart, (rows, stages, out / "project_flow.png"), common),
        (cluster_shares_chart, (rows, stages, out / "cluster_shares.png"), common),
        (win_rate_chart, (rows, stages, out / "suining_win_rate.png"), common),
    ]


def project_flow_chart(s: pd.DataFrame, stages, path: Path, *, scenario, lang, history, chain=None) -> Path:
    """Stacked bars per year and segment: each cluster's new capacity ordered (mean), the nation's as the bar."""
    chain = chain or DEFAULT_CHAIN
    lab = cat.words(lang)
    clusters = clusters_in(s)
    colours = cluster_colours(clusters)
    years = window(s["year"], FLOW_YEARS)
    shaded = [y for y in history or [] if y in years]
    with rc_context(drawing._style()):
        fig, axes = drawing._figure(len(stages), width=4.4, height=4.4)
        for ax, key in zip(axes, stages, strict=True):
            flow = project_flow(s, key, years)
            totals = flow.sum(axis=1).to_numpy(dtype=float)
            factor, unit = cat.display_unit(lang, flow.attrs["unit"], float(totals.max(initial=0.0)))
            drawing._history(ax, shaded, lab["history"])
            bottom = np.zeros(len(years))
            for cluster in clusters:
                values = flow[cluster].to_numpy(dtype=float) * factor
                ax.bar(
                    years, values, bottom=bottom, width=0.7, color=colours[cluster], edgecolor="white", lw=0.4,
                    label=cat.cluster(lang, cluster), zorder=2,
                )  # fmt: skip
                bottom += values
            top = float(bottom.max(initial=0.0))
            ax.set_ylim(0.0, top * 1.06 if top > 0 else 1.0)
            drawing._panel_title(ax, cat.segment(lang, key, chain))
            drawing._axes(ax, lab, lab["with_unit"].format(name=cat.metric(lang, "new_capacity"), unit=unit), years)
            ax.grid(alpha=0.3, axis="y")
            ax.grid(False, axis="x")
        handles, _ = axes[-1].get_legend_handles_labels()
        drawing.side_legend(axes[-1], handles[::-1], lab["cluster_axis"])  # top of the stack first, as drawn
        drawing._title(fig, lab["flow_title"].format(scenario=scenario), lab["flow_note"])
        return drawing._save(fig, path)


def cluster_shares_chart(s: pd.DataFrame, stages, path: Path, *, scenario, lang, history, chain=None) -> Path:
    """Each city's share of national output by segment (mean, P5-P95 band); the rest of China, the remainder,
    is left out so the cities' shares are not squeezed against the axis."""
    chain = chain or DEFAULT_CHAIN
    lab = cat.words(lang)
    clusters = [c for c in clusters_in(s) if c != RESIDUAL]
    colours = cluster_colours(clusters)
    years = sorted(s["year"].unique())
    with rc_context(drawing._style()):
        fig, axes = drawing._figure(len(stages), width=4.4, height=4.4)
        banded = False
        for ax, key in zip(axes, stages, strict=True):
            drawing._history(ax, history, lab["history"] if ax is axes[-1] else None)
            for cluster in clusters:
                rows = drawing._series(s, cluster, key, "national_share")
                width = 2.4 if cluster == HOME else 1.5
                banded |= _light_band(ax, rows, colours[cluster], cat.cluster(lang, cluster), width)
            drawing._panel_title(ax, cat.segment(lang, key, chain))
            drawing._axes(ax, lab, lab["share_axis"], years)
            ax.set_ylim(bottom=0.0)
        extra = [Patch(facecolor="#888888", alpha=0.3, label=lab["band"])] if banded else []
        handles, _ = axes[-1].get_legend_handles_labels()
        drawing.side_legend(axes[-1], [*handles, *extra], lab["cluster_axis"])
        drawing._title(fig, lab["cluster_shares_title"].format(scenario=scenario), lab["cluster_shares_note"])
        return drawing._save(fig, path)


def _light_band(ax, rows: pd.DataFrame, colour: str, label: str, width: float) -> bool:
    """`drawing._band` with a lighter fill, for many bands on one panel."""
    rows = rows.dropna(subset=["mean"])
    if rows.empty:
        return False
    ax.plot(rows.year, rows["mean"], color=colour, lw=width, label=label, zorder=3)
    spread = (rows["p95"] - rows["p05"]).abs().fillna(0)
    if not (spread > 0).any():
        return False
    ax.fill_between(rows.year, rows["p05"], rows["p95"], color=colour, alpha=FLOW_BAND, lw=0)
    for edge in ("p05", "p95"):
        ax.plot(rows.year, rows[edge], color=colour, lw=0.5, alpha=0.5, zorder=2.5)
    return True


def win_rate_chart(s: pd.DataFrame, stages, path: Path, *, scenario, lang, history, chain=None) -> Path:
    """Suining's share of the nation's new capacity by year and segment (mean with the replicates' P5-P95), its
    share pooled over `POOLED_YEARS` (dashed, and in the panel's title) and its share of national output."""
    chain = chain or DEFAULT_CHAIN
    lab = cat.words(lang)
    years = sorted(s["year"].unique())
    pooled_years = window(years, POOLED_YEARS)
    pooled_text = span(pooled_years)
    with rc_context(drawing._style()):
        fig, axes = drawing._figure(len(stages), width=4.6, height=4.4)
        for ax, key in zip(axes, stages, strict=True):
            drawing._history(ax, history, lab["history"])
            rows = drawing._series(s, HOME, key, "new_capacity_share").dropna(subset=["mean"])
            if len(rows):
                drawing._bars(
                    ax, rows.year.to_numpy(), rows["mean"], rows.p05.to_numpy(float), rows.p95.to_numpy(float),
                    HOME_COLOUR, ".0f", lab["win_share"], lab["band"],
                )  # fmt: skip
            pooled = pooled_share(s, key, pooled_years)
            marks = [float(rows.p95.max())] if len(rows) else []
            if np.isfinite(pooled):
                ax.hlines(
                    pooled, pooled_years[0] - 0.45, pooled_years[-1] + 0.45, colors="#222222", linestyles="--",
                    lw=1.6, label=lab["win_pooled"].format(years=pooled_text), zorder=5,
                )  # fmt: skip
                marks.append(pooled)
            output = drawing._series(s, HOME, key, "national_share").dropna(subset=["mean"])
            if len(output):
                ax.plot(
                    output.year, output["mean"], ":", color="#444444", lw=1.6, marker="o", ms=3,
                    label=lab["win_output"], zorder=4,
                )  # fmt: skip
                marks.append(float(output["mean"].max()))
            low, high = ax.get_ylim()
            if marks and max(marks) * 1.12 > high:
                ax.set_ylim(low, max(marks) * 1.12)
            ax.set_ylim(bottom=0.0)
            title = lab["win_panel"].format(segment=cat.segment(lang, key, chain), years=pooled_text, share=pooled)
            drawing._panel_title(ax, title if np.isfinite(pooled) else cat.segment(lang, key, chain))
            drawing._axes(ax, lab, lab["win_axis"], years)
        drawing.side_legend(axes[-1])
        note = lab["win_note"].format(years=pooled_text)
        drawing._title(fig, lab["win_title"].format(scenario=scenario), note)
        return drawing._save(fig, path)


# ---------------------------------------------------------------------------------------------------------------
# a comparison of scenarios
# ---------------------------------------------------------------------------------------------------------------
def comparison_jobs(
    table: pd.DataFrame,
    out: Path,
    lang: str = "en",
    *,
    names: dict[str, str],
    history: Sequence[int],
    note: str = "",
) -> list[tuple[Callable[..., Path], tuple, dict]]:
    """``compare_clusters.png`` as a job for `sim.outputs.drawing.draw_all` (none without cluster rows)."""
    stages = [k for k in COMPARED_STAGES if k in cluster_stages(table)]
    if not stages or HOME not in clusters_in(table):
        return []
    scenarios = list(dict.fromkeys(table["scenario"]))
    Path(out).mkdir(parents=True, exist_ok=True)
    words = {"lang": lang, "names": names, "history": list(history or []), "note": note}
    return [(comparison_chart, (cluster_rows(table), scenarios, stages, Path(out) / "compare_clusters.png"), words)]


def comparison_chart(table: pd.DataFrame, scenarios, stages, path: Path, *, lang, names, history, note) -> Path:
    """Above, per segment: Suining's share of the nation's new capacity by scenario and year (mean, P5-P95 band),
    each scenario's share pooled over `POOLED_YEARS` in the legend. Below: where the nation's new capacity of
    those years went, by cluster: each scenario's difference from the baseline (with the baseline alone, its
    levels), the years' means summed."""
    lab = cat.words(lang)
    colours, styles = drawing.scenario_colours(scenarios), drawing.scenario_styles(scenarios)
    years = sorted(table["year"].unique())
    pooled_years = window(years, POOLED_YEARS)
    pooled_text = span(pooled_years)
    clusters = clusters_in(table)
    others = scenarios[1:] or scenarios[:1]
    baseline = names.get(scenarios[0], scenarios[0])
    with rc_context(drawing._style()):
        fig, axes = drawing._figure(len(stages), 2, width=5.6, height=4.4)
        for ax, key in zip(axes[: len(stages)], stages, strict=True):
            drawing._history(ax, history, lab["history"])
            banded = False
            for name in scenarios:
                mine = table[table.scenario == name]
                share = pooled_share(mine, key, pooled_years)
                shown = names.get(name, name)
                label = lab["named_share"].format(name=shown, share=share) if np.isfinite(share) else shown
                rows = drawing._series(mine, HOME, key, "new_capacity_share")
                banded |= drawing._band(ax, rows, colours[name], label, None, styles[name])
            extra = [Patch(facecolor="#888888", alpha=0.3, label=lab["band"])] if banded else []
            drawing._legend(ax, title=lab["scenario"], extra=extra)
            segment = cat.segment(lang, key)
            drawing._panel_title(ax, lab["cmp_win_panel"].format(segment=segment))
            drawing._axes(ax, lab, lab["win_axis"], years)
            ax.set_ylim(bottom=0.0)
        for ax, key in zip(axes[len(stages) :], stages, strict=True):
            levels = {
                name: project_flow(table[table.scenario == name], key, pooled_years).sum(axis=0) for name in scenarios
            }
            unit = project_flow(table[table.scenario == scenarios[0]], key, pooled_years).attrs["unit"]
            shown = {
                name: levels[name] - levels[scenarios[0]] if len(scenarios) > 1 else levels[name] for name in others
            }
            magnitude = max((float(v.abs().max()) for v in shown.values()), default=0.0)
            factor, shown_unit = cat.display_unit(lang, unit, magnitude)
            x = np.arange(len(clusters))
            width = 0.8 / len(others)
            for i, name in enumerate(others):
                values = shown[name].reindex(clusters).fillna(0.0).to_numpy(dtype=float) * factor
                ax.bar(
                    x - 0.4 + width * (i + 0.5), values, width=width, color=colours[name], alpha=0.85,
                    label=names.get(name, name), zorder=2,
                )  # fmt: skip
            ax.axhline(0.0, color="#888888", lw=1)
            ax.set_xticks(x, [cat.cluster(lang, c) for c in clusters], rotation=30, ha="right")
            ax.set_xlim(-0.6, len(clusters) - 0.4)
            segment = cat.segment(lang, key)
            if len(scenarios) > 1:
                title = lab["cmp_flow_panel"].format(segment=segment, years=pooled_text, baseline=baseline)
                name = lab["difference"]
            else:
                title = lab["cmp_flow_level"].format(segment=segment, years=pooled_text)
                name = cat.metric(lang, "new_capacity")
            drawing._panel_title(ax, title)
            ax.set_xlabel(lab["cluster_axis"])
            drawing._ylabel(ax, lab["with_unit"].format(name=name, unit=shown_unit))
            ax.yaxis.set_major_formatter(mticker.FuncFormatter(drawing._thousands))
            ax.grid(alpha=0.3, axis="y")
            drawing._legend(ax, title=lab["scenario"])
        notes = [lab["cmp_clusters_note"].format(years=pooled_text), *([note] if note else [])]
        drawing._title(fig, lab["cmp_clusters_title"].format(years=pooled_text), "\n".join(notes))
        return drawing._save(fig, path)
