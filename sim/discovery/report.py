"""The scenario-discovery report: the samples, the PRIM trajectory and boxes as CSV, three charts and REPORT.md.

Charts take their titles and axis labels from `LABELS` ("en" or "zh"; the bundled CJK font of
`sim.outputs.charts` renders the Chinese); REPORT.md is in English, with the box described in words.
Files are written into the directory (created if need be), replacing earlier files of the same names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib import ticker as mticker
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sim.api import use_bundled_font
from sim.discovery.confidence import SureBox
from sim.discovery.prim import PrimResult, describe_box, readable_number

REPORT_FILES = (
    "samples.csv", "trajectory.csv", "boxes.csv", "trajectory.png", "box_limits.png", "box_scatter.png", "REPORT.md"
)  # fmt: skip
HOLDS, FAILS, BOX = "#d95f02", "#9e9e9e", "#1b5e20"

LABELS = {
    "en": {
        "coverage": "coverage", "density": "density", "support": "support",
        "trajectory_title": "Peeling trajectory", "n_restricted": "restricted inputs",
        "chosen": "chosen box (step {step})", "pasted": "chosen box after pasting",
        "limits_title": "Chosen box against the sampled ranges", "share_of_range": "share of the sampled range",
        "range": "sampled range", "box": "chosen box", "no_restriction": "the chosen box restricts no input",
        "scatter_title": "Samples and the chosen box", "holds": "target holds", "fails": "target fails",
        "outcome": "outcome",
    },
    "zh": {
        "coverage": "覆盖率", "density": "密度", "support": "支持度",
        "trajectory_title": "峰值剥离轨迹", "n_restricted": "受限输入数",
        "chosen": "选定的框（第{step}步）", "pasted": "粘贴后的选定框",
        "limits_title": "选定框与抽样范围", "share_of_range": "占抽样范围的比例",
        "range": "抽样范围", "box": "选定框", "no_restriction": "选定框未限制任何输入",
        "scatter_title": "样本与选定框", "holds": "目标成立", "fails": "目标不成立",
        "outcome": "结果",
    },
}  # fmt: skip


def write_report(
    out_dir: str | Path,
    samples: pd.DataFrame,
    outcome: Sequence[float] | np.ndarray | pd.Series,
    target: np.ndarray,
    result: PrimResult,
    *,
    question: str,
    labels: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    outcome_name: str = "outcome",
    lang: str = "en",
    sure: SureBox | None = None,
) -> list[Path]:
    """Write the report of one PRIM analysis into ``out_dir``; return the paths written (`REPORT_FILES`).

    Args:
        out_dir: the report directory.
        samples: the sampled inputs, a row per scenario (the ``x`` given to `prim`).
        outcome: the outcome of each scenario the target was computed from.
        target: whether the target holds in each scenario (the ``y`` given to `prim`).
        result: the PRIM result, with the step to report chosen.
        question: the target in words, e.g. "Suining value added in 2030 at least 1,000 亿元".
        labels: a readable name per input (default: its name).
        units: a unit per input; one starting with "%" shows fractions in percent.
        outcome_name: the outcome's column name in samples.csv.
        lang: language of the charts, "en" or "zh".
        sure: the box's significance tests and bootstrap resamples (`sim.discovery.confidence.sure_box`), for
            the report's section "How sure"; ``result`` is then ``sure.result``.
    """
    if lang not in LABELS:
        raise ValueError(f"unknown chart language {lang!r}; choose one of {', '.join(LABELS)}")
    target = np.asarray(target, dtype=bool)
    if not (len(samples) == len(outcome) == len(target)):
        raise ValueError("samples, outcome and target must have one entry per scenario")
    if clash := {outcome_name, "target"} & set(samples.columns):
        raise ValueError(f"samples already have columns named {', '.join(sorted(clash))}")
    labels, units = dict(labels or {}), dict(units or {})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = samples.assign(**{outcome_name: np.asarray(outcome), "target": target})
    table.to_csv(out / "samples.csv", index=False)
    result.trajectory.to_csv(out / "trajectory.csv", index=False)
    _boxes_table(result).to_csv(out / "boxes.csv", index=False)
    use_bundled_font()
    lab = LABELS[lang]
    _trajectory_chart(result, lab, out / "trajectory.png")
    _limits_chart(result, labels, units, lab, out / "box_limits.png")
    _scatter_chart(samples, np.asarray(outcome), target, result, labels, units, lab, out / "box_scatter.png")
    markdown = _markdown(samples, target, result, question, labels, units, sure)
    (out / "REPORT.md").write_text(markdown, encoding="utf-8")
    return [out / name for name in REPORT_FILES]


def _boxes_table(result: PrimResult) -> pd.DataFrame:
    """The limits of every peeling step, then the chosen box after pasting (stage "paste")."""
    frames = [result.box(i).assign(step=i, stage="peel") for i in range(len(result.boxes))]
    frames.append(result.box().assign(step=result.chosen, stage="paste"))
    columns = ["stage", "step", "dimension", "lower", "upper", "restricted"]
    return pd.concat(frames, ignore_index=True)[columns]


def _axis_label(name: str, labels: Mapping[str, str], units: Mapping[str, str]) -> str:
    """An input's name with its unit, bracketed as its language brackets (a Chinese name: full width)."""
    label, unit = labels.get(name, name), units.get(name, "")
    if not unit:
        return label
    return f"{label}（{unit}）" if any(ord(c) >= 0x2E80 for c in label) else f"{label} ({unit})"


def _format_axis(axis, unit: str) -> None:
    if unit.startswith("%"):
        axis.set_major_formatter(mticker.PercentFormatter(xmax=1, decimals=None))
    else:
        axis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:g}"))


def _figure(width: float, height: float):
    """A figure and its axes, drawn by Agg into a file: never pyplot's, so the backend of whoever imports this
    (a notebook's inline one) is left alone."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110)


def _trajectory_chart(result: PrimResult, lab: dict, path: Path) -> None:
    t = result.trajectory
    fig, ax = _figure(7, 5)
    ax.plot(t["coverage"], t["density"], color="#bbbbbb", lw=1, zorder=1)
    colours = colormaps["viridis"]
    most = max(int(t["n_restricted"].max()), 1)
    for count, rows in t.groupby("n_restricted"):
        ax.scatter(rows["coverage"], rows["density"], s=22, color=colours(count / most), label=str(count), zorder=2)
    chosen = t.loc[result.chosen]
    ax.scatter(chosen["coverage"], chosen["density"], s=160, facecolors="none", edgecolors="red", lw=2, zorder=3,
               label=lab["chosen"].format(step=result.chosen))  # fmt: skip
    stats = result.chosen_stats
    if (stats["coverage"], stats["density"]) != (chosen["coverage"], chosen["density"]):
        ax.scatter(stats["coverage"], stats["density"], s=90, marker="*", color="red", zorder=3, label=lab["pasted"])
    ax.set(title=lab["trajectory_title"], xlabel=lab["coverage"], ylabel=lab["density"])
    ax.legend(title=lab["n_restricted"], loc="best", fontsize=8, title_fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)


def _limits_chart(result: PrimResult, labels, units, lab: dict, path: Path) -> None:
    box = result.box().set_index("dimension")
    order = list(result.importance().index)
    fig, ax = _figure(7, 1.8 + 0.7 * max(len(order), 1))
    for row, name in enumerate(reversed(order)):
        lower, upper, low, high = box.loc[name, ["lower", "upper", "range_lower", "range_upper"]]
        start, end = (lower - low) / (high - low), (upper - low) / (high - low)
        ax.barh(row, 1, color="#dddddd", height=0.5, label=lab["range"] if row == 0 else None)
        ax.barh(row, end - start, left=start, color=BOX, height=0.5, label=lab["box"] if row == 0 else None)
        unit = units.get(name, "")
        for share, value, align in ((start, lower, "right"), (end, upper, "left")):
            ax.annotate(readable_number(value, unit), (share, row + 0.3), ha=align, va="bottom", fontsize=8)
    if not order:
        ax.text(0.5, 0.5, lab["no_restriction"], ha="center", va="center", transform=ax.transAxes)
        ax.barh(0, 1, color="#dddddd", height=0.5, label=lab["range"])
    ax.set_yticks(range(len(order)), [_axis_label(n, labels, units) for n in reversed(order)])
    ax.set(title=lab["limits_title"], xlabel=lab["share_of_range"], xlim=(-0.05, 1.05))
    ax.set_ylim(-0.6, max(len(order), 1) - 0.2)
    ax.xaxis.set_major_formatter(mticker.PercentFormatter(xmax=1, decimals=None))
    fig.legend(loc="outside lower center", ncol=2, fontsize=8)
    _save(fig, path)


def _scatter_chart(samples, outcome, target, result: PrimResult, labels, units, lab: dict, path: Path) -> None:
    """The two inputs that matter most to the box (restricted ones first), the samples and the box drawn."""
    ranked = list(result.importance().index)
    ranked += [name for name in result.inputs if name not in ranked]
    box = result.box().set_index("dimension")
    fig, ax = _figure(7, 5.5)
    first = ranked[0]
    xs = samples[first].to_numpy(dtype=float)
    if len(ranked) > 1:
        second, ys = ranked[1], samples[ranked[1]].to_numpy(dtype=float)
        y_label, y_unit = _axis_label(second, labels, units), units.get(second, "")
        y_low, y_high = box.loc[second, ["lower", "upper"]]
    else:  # a single input: against the outcome
        ys, y_label, y_unit = outcome.astype(float), lab["outcome"], ""
        y_low, y_high = np.min(ys), np.max(ys)
    ax.scatter(xs[~target], ys[~target], s=10, color=FAILS, alpha=0.6, label=lab["fails"])
    ax.scatter(xs[target], ys[target], s=10, color=HOLDS, alpha=0.8, label=lab["holds"])
    x_low, x_high = box.loc[first, ["lower", "upper"]]
    ax.add_patch(Rectangle((x_low, y_low), x_high - x_low, y_high - y_low, fill=False, ec=BOX, lw=2, label=lab["box"]))
    ax.set(title=lab["scatter_title"], xlabel=_axis_label(first, labels, units), ylabel=y_label)
    _format_axis(ax.xaxis, units.get(first, ""))
    _format_axis(ax.yaxis, y_unit)
    fig.legend(loc="outside lower center", ncol=3, fontsize=8)
    _save(fig, path)


def _share(value: float) -> str:
    return f"{value:.1%}"


def _key_steps(result: PrimResult, rows: int = 8) -> list[int]:
    last = len(result.boxes) - 1
    spread = np.linspace(0, last, num=min(rows, last + 1)).round().astype(int)
    return sorted({0, result.chosen, last, *spread.tolist()})


def _sure_markdown(sure: SureBox, labels, units) -> list[str]:
    """The section "How sure": each limit's quasi-p value, the limits dropped, the bootstrap resamples."""

    def interval(column: str) -> str:
        median, low, high = sure.interval(column)
        return "n/a" if not np.isfinite(median) else f"{_share(median)} ({_share(low)} – {_share(high)})"

    lines = [
        "## How sure",
        "",
        f"Each limit of the box passed a one-sided binomial test at {sure.alpha:g} (the quasi-p value of Bryant and "
        "Lempert 2010: how likely the box's count of cases would be if the limit were lifted); limits that did not "
        "were lifted, one at a time, worst first.",
        "",
    ]
    if len(sure.p_values):
        lines += ["| input | limit | value | quasi-p |", "|---|---|---|---|"]
        for row in sure.p_values.itertuples(index=False):
            unit = units.get(row.dimension, "")
            lines.append(
                f"| {_axis_label(row.dimension, labels, units)} | {row.side} | "
                f"{readable_number(row.limit, unit)} | {row.p_value:.2g} |"
            )
        lines.append("")
    if len(sure.dropped):
        lines += ["Dropped (not significant):", "", "| input | limit | value | quasi-p |", "|---|---|---|---|"]
        for row in sure.dropped.itertuples(index=False):
            unit = units.get(row.dimension, "")
            lines.append(
                f"| {_axis_label(row.dimension, labels, units)} | {row.side} | "
                f"{readable_number(row.limit, unit)} | {row.p_value:.2g} |"
            )
        lines.append("")
    lines += [
        f"Over {len(sure.resamples)} bootstrap resamples of the draws (median, 5–95%):",
        "",
        "| measure | value | meaning |",
        "|---|---|---|",
        f"| coverage | {interval('coverage')} | this box's coverage on each resample |",
        f"| density | {interval('density')} | this box's density on each resample |",
        f"| coverage out of bag | {interval('coverage_out_of_bag')} | PRIM rerun on each resample; its box's "
        "coverage on the draws the resample left out |",
        f"| density out of bag | {interval('density_out_of_bag')} | the same box's density there: far below the "
        "density above means the box fits the sample rather than the model |",
        "",
    ]
    reproduced = sure.reproduced[sure.reproduced > 0].sort_values(ascending=False)
    if len(reproduced):
        lines += ["| input | restricted in the resamples' boxes |", "|---|---|"]
        lines += [f"| {_axis_label(k, labels, units)} | {_share(v)} |" for k, v in reproduced.items()]
        lines.append("")
    return lines


def _markdown(samples, target, result: PrimResult, question, labels, units, sure: SureBox | None = None) -> str:
    stats, box = result.chosen_stats, result.box()
    n, holds = len(target), int(target.sum())
    restricted = box[box["restricted"]].set_index("dimension")
    importance = result.importance()
    pasting = "; pasting then widened it." if stats["mass"] != result.trajectory.loc[result.chosen, "mass"] else "."
    lines = [
        f"# Scenario discovery: {question}",
        "",
        f"Which combinations of the uncertain inputs make the target hold? Target: **{question}**.",
        "",
        f"- Samples: {n:,} scenarios over {samples.shape[1]} uncertain inputs.",
        f"- The target holds in {holds:,} of them ({_share(holds / n)}).",
        "",
        "## The chosen box",
        "",
        f"**{describe_box(box, labels, units)}**",
        "",
        f"Step {result.chosen} of {len(result.boxes) - 1} on the peeling trajectory: {result.rule}{pasting}",
    ]
    lines += [
        "",
        "| measure | value | meaning |",
        "|---|---|---|",
        f"| coverage | {_share(stats['coverage'])} | share of the scenarios where the target holds that are inside |",
        f"| density | {_share(stats['density'])} | share of the scenarios in the box where the target holds |",
        f"| support | {_share(stats['support'])} | share of all scenarios in the box ({stats['mass']:,} of {n:,}) |",
        "",
    ]
    if len(restricted):
        lines += [
            "| input | lower | upper | sampled range | density lost if lifted |",
            "|---|---|---|---|---|",
        ]
        for name in importance.index:
            row, unit = restricted.loc[name], units.get(name, "")
            span = f"{readable_number(row.range_lower, unit)} – {readable_number(row.range_upper, unit)}"
            cells = [_axis_label(name, labels, units), readable_number(row.lower, unit),
                     readable_number(row.upper, unit), span, f"{importance[name]:.3f}"]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if sure is not None:
        lines += _sure_markdown(sure, labels, units)
    lines += [
        "## Peeling trajectory",
        "",
        "Each step peels a slice off one end of one input, the one that leaves the highest density; coverage falls "
        "as density rises. Key steps (all of them in trajectory.csv, their limits in boxes.csv):",
        "",
        "| step | coverage | density | support | restricted inputs |",
        "|---|---|---|---|---|",
    ]
    t = result.trajectory
    for i in _key_steps(result):
        names = result.box(i).query("restricted")["dimension"].map(lambda k: labels.get(k, k))
        step = f"**{i} (chosen)**" if i == result.chosen else str(i)
        cells = [step, _share(t.loc[i, "coverage"]), _share(t.loc[i, "density"]), _share(t.loc[i, "support"]),
                 ", ".join(names) or "none"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Charts",
        "",
        "![Peeling trajectory: coverage against density](trajectory.png)",
        "",
        "![The chosen box's limits against each restricted input's sampled range](box_limits.png)",
        "",
        "![The samples on the two inputs that matter most, with the chosen box](box_scatter.png)",
        "",
        "## Files",
        "",
        "- samples.csv: the sampled inputs, the outcome and whether the target holds, a row per scenario.",
        "- trajectory.csv: coverage, density, support, mass and limits at every peeling step.",
        "- boxes.csv: the limits of every step (stage peel) and of the chosen box after pasting (stage paste).",
        "",
    ]
    return "\n".join(lines)
