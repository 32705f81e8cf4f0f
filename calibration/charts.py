"""Charts of the fit report (PNG, matplotlib's Agg backend). Labels are ASCII: parameter and target names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402

# `calibration.report.Analysis`; not imported, since the report imports this module (no circle, not even for types)
Analysis = Any

DPI = 110


def write_charts(a: Analysis, out: Path) -> list[Path]:
    """Every chart of the report into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [
        fit_chart(a, out / "fit.png"),
        parameter_chart(a, out / "parameters.png"),
        convergence_chart(a, out / "convergence.png"),
    ]
    if a.identification is not None:
        written.append(identification_chart(a, out / "identification.png"))
    if a.sensitivity is not None:
        written.append(sensitivity_chart(a, out / "sensitivity.png"))
    if a.recovery is not None:
        written.append(recovery_chart(a, out / "recovery.png"))
    if a.backtest:
        written.append(backtest_chart(a, out / "backtest.png"))
    return written


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _z(value: np.ndarray, target: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    gap = value - target
    return gap / np.where(gap > 0, high - target, target - low)


def fit_chart(a: Analysis, path: Path) -> Path:
    """Each target's band as [-1, 1] in tolerance units; the model's out-of-sample mean and P5-P95 band against
    it, its in-sample mean, and the hand-set mean."""
    f = a.fit
    n = len(f)
    target, low, high = f.value.to_numpy(), f.band_low.to_numpy(), f.band_high.to_numpy()
    mean = _z(f.out_of_sample_mean.to_numpy(), target, low, high)
    p05 = _z(f.out_of_sample_p05.to_numpy(), target, low, high)
    p95 = _z(f.out_of_sample_p95.to_numpy(), target, low, high)
    inside = _z(f.in_sample_mean.to_numpy(), target, low, high)
    hand = _z(f.hand_set_mean.to_numpy(), target, low, high)
    y = np.arange(n)[::-1]
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * n + 1.8))
    ax.axvspan(-1, 1, color="#d9ead3", label="target band (tolerance)")
    ax.axvline(0, color="#6aa84f", lw=1)
    ax.hlines(y, p05, p95, color="#3c78d8", lw=2, label="out of sample: P5-P95 of replicates")
    ax.plot(mean, y, "o", color="#1c4587", label="out of sample: mean")
    ax.plot(inside, y, "x", color="#cc0000", label="in sample (the fit's seeds): mean")
    ax.plot(hand, y, "o", mfc="none", color="#999999", label="hand-set: mean (out of sample)")
    marks = {"fitted": "", "held_out": " (held out)", "input": " (input)", "identity": " (identity)"}
    labels = [
        t + (" [market]" if s != "baseline" else "") + marks.get(k, "")
        for t, s, k in zip(f.target, f.scenario, f.kind, strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    lim = max(3.0, float(np.nanmax(np.abs(np.concatenate([p05, p95, hand, mean, inside])))) * 1.05)
    ax.set_xlim(-min(lim, 8), min(lim, 8))
    ax.set_xlabel("gap from target, in tolerance units (band = [-1, 1]; clipped at +-8)")
    ax.set_title("Calibration fit: calibrated parameters, in sample and out of sample")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=8, frameon=False)
    return _save(fig, path)


def parameter_chart(a: Analysis, path: Path) -> Path:
    """Fitted parameters within their bounds (scaled to [0, 1]) with 90% intervals; hand-set values."""
    p = a.parameters[a.parameters.fitted]
    span = (p.high - p.low).to_numpy()
    pos = ((p.calibrated - p.low) / span).to_numpy()
    hand = ((p.hand_set - p.low) / span).to_numpy()
    lo = ((p.low90 - p.low) / span).to_numpy()
    hi = ((p.high90 - p.low) / span).to_numpy()
    y = np.arange(len(p))[::-1]
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(p) + 1.6))
    ax.hlines(y, np.nan_to_num(lo, nan=0.0), np.nan_to_num(hi, nan=1.0), color="#3c78d8", lw=2, label="90% interval")
    ax.plot(pos, y, "o", color="#1c4587", label="calibrated")
    ax.plot(hand, y, "o", mfc="none", color="#999999", label="hand-set")
    ax.set_yticks(y, p.parameter)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("position in the search bounds (0 = low, 1 = high)")
    ax.set_title("Calibrated parameters and their uncertainty")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    return _save(fig, path)


def _heatmap(
    ax: plt.Axes,
    values: np.ndarray,
    rows: list[str],
    cols: list[str],
    cmap: str,
    vmin: float,
    vmax: float,
    fmt: str,
) -> None:
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(np.arange(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(np.arange(len(rows)), rows, fontsize=8)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            if np.isfinite(v):
                ax.text(
                    j,
                    i,
                    format(v, fmt),
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    color="white" if abs(v) > 0.6 * max(abs(vmin), abs(vmax)) else "black",
                )
    plt.colorbar(im, ax=ax, fraction=0.03)


def identification_chart(a: Analysis, path: Path) -> Path:
    """Change of each target's z as each parameter crosses its range (linearised at the optimum)."""
    ident = a.identification
    values = ident.to_numpy()
    vmax = max(1.0, float(np.nanpercentile(np.abs(values), 95)))
    fig, ax = plt.subplots(figsize=(max(7.0, 3.5 + 0.8 * values.shape[1]), 2.2 + 0.4 * values.shape[0]))
    _heatmap(
        ax,
        values,
        list(ident.index),
        list(ident.columns),
        "RdBu_r",
        -vmax,
        vmax,
        ".1f",  # colours saturate
    )
    ax.set_title(
        "Identification: change of each target's z (tolerance units)\nas each parameter crosses its search "
        "range (linearised at the fit)",
        fontsize=10,
    )
    ax.set_xlabel("free parameter")
    ax.set_ylabel("target")
    return _save(fig, path)


def sensitivity_chart(a: Analysis, path: Path) -> Path:
    """Main sensitivity index (Morris mu* or Sobol ST) of each output, scaled to its largest parameter."""
    main = "mu_star" if a.sensitivity_method == "morris" else "ST"
    sens = a.sensitivity[a.sensitivity["index"] == main]
    pivot = sens.pivot(index="output", columns="parameter", values="value")
    outputs = list(dict.fromkeys(sens.output))
    params = list(dict.fromkeys(sens.parameter))
    values = pivot.loc[outputs, params].to_numpy()
    scaled = values / np.maximum(np.nanmax(np.abs(values), axis=1, keepdims=True), 1e-12)
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * len(params), 1.6 + 0.4 * len(outputs)))
    _heatmap(ax, scaled, outputs, params, "Purples", 0.0, 1.0, ".2f")
    name = "Morris mu*" if main == "mu_star" else "Sobol total index"
    ax.set_title(f"Sensitivity ({name}), each row scaled to its largest parameter")
    ax.set_xlabel("free parameter (held ones included)")
    ax.set_ylabel("output")
    return _save(fig, path)


def convergence_chart(a: Analysis, path: Path) -> Path:
    """Best objective by generation, one line per group (the backtest's dashed)."""
    table = a.convergence()
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    colours = {"firms": "#1c4587", "market": "#b45f06"}
    for (fit, group), rows in table.groupby(["fit", "group"], sort=False):
        style = "o-" if fit == "calibration" else "x--"
        ax.plot(
            rows.generation,
            rows.best_objective,
            style,
            color=colours.get(group, "#666666"),
            ms=3,
            label=f"{group} ({fit})",
        )
    if len(table) and np.all(table.best_objective > 0):
        ax.set_yscale("log")
    ax.set_xlabel("generation")
    ax.set_ylabel("best objective (sum of weight x z^2)")
    ax.set_title("Differential evolution: best objective by generation")
    ax.grid(alpha=0.3)
    if len(table):
        ax.legend(fontsize=8)
    return _save(fig, path)


def backtest_chart(a: Analysis, path: Path) -> Path:
    """For each origin, each scored target's z: the model fitted through the year before, and persistence (last
    year's value carried forward) where there is one."""
    origins = a.backtest
    heights = [max(1, len(o.table)) for o in origins]
    fig, axes = plt.subplots(
        len(origins),
        1,
        figsize=(8.5, 0.42 * sum(heights) + 1.4 * len(origins) + 0.6),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, origin in zip(axes[:, 0], origins, strict=True):
        t = origin.table
        y = np.arange(len(t))[::-1]
        ax.axvspan(-1, 1, color="#d9ead3", label="target band")
        ax.axvline(0, color="#6aa84f", lw=1)
        ax.plot(np.clip(t.model_z.to_numpy(dtype=float), -8, 8), y, "o", color="#1c4587", label="model")
        ax.plot(
            np.clip(t.persistence_z.to_numpy(dtype=float), -8, 8),
            y,
            "s",
            mfc="none",
            color="#b45f06",
            label=f"persistence ({origin.scored - 1} value carried forward)",
        )
        labels = [
            r.target + ("  (no earlier value)" if not np.isfinite(r.persistence_z) else "") for r in t.itertuples()
        ]
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlim(-8.5, 8.5)
        ax.set_title(f"Fitted through {origin.through}, scored on {origin.scored}", fontsize=10)
        ax.legend(loc="lower right", fontsize=7)
    axes[-1, 0].set_xlabel("gap from target, in tolerance units (band = [-1, 1]; clipped at +-8)")
    fig.suptitle("Rolling-origin backtest: the model against persistence")
    return _save(fig, path)


def recovery_chart(a: Analysis, path: Path) -> Path:
    """Each refit's estimate and 90% interval, scaled to the search bounds, against the truth."""
    rec = a.recovery
    span = rec.high - rec.low
    truth = (rec.truth - rec.low) / span
    n = len(rec.replications)
    fig, ax = plt.subplots(figsize=(7.5, 0.9 * len(rec.names) + 1.8))
    for k in range(len(rec.names)):
        base = len(rec.names) - 1 - k
        offsets = base + np.linspace(-0.3, 0.3, n) if n > 1 else np.array([float(base)])
        for r, rep in enumerate(rec.replications):
            lo, hi = (rep.low90[k] - rec.low[k]) / span[k], (rep.high90[k] - rec.low[k]) / span[k]
            covered = rep.low90[k] <= rec.truth[k] <= rep.high90[k]
            colour = "#3c78d8" if covered else "#cc0000"
            ax.hlines(offsets[r], lo, hi, color=colour, lw=1.5)
            ax.plot((rep.estimate[k] - rec.low[k]) / span[k], offsets[r], "o", color=colour, ms=3)
        ax.vlines(truth[k], base - 0.42, base + 0.42, color="#38761d", lw=2)
    ax.plot([], [], "o-", color="#3c78d8", label="estimate and 90% interval (holds the truth)")
    ax.plot([], [], "o-", color="#cc0000", label="estimate and 90% interval (misses it)")
    ax.plot([], [], "|", color="#38761d", ms=12, mew=2, label="truth")
    ax.set_yticks(np.arange(len(rec.names))[::-1], rec.names)
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("position in the search bounds (0 = low, 1 = high)")
    ax.set_title(f"Parameter recovery: {n} refits on noisy pseudo-data from fresh seeds")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8, frameon=False)
    return _save(fig, path)
