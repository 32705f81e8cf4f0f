"""Comparing runs side by side: one table of every scenario's figures with differences from the baseline,
an Excel workbook a planning office can pass around, and charts.

The first run is the baseline. For every scenario, year, region, segment and metric the comparison holds
the run's mean and P5/P50/P95 across replicates and

    diff_mean = mean - mean of the baseline (same year, region, segment and metric; in the row's unit,
                so percentage points for the percent metrics),
    diff_pct  = 100 x diff_mean / |mean of the baseline| (empty where the baseline is 0 or missing).

This module makes the tables and files from summaries; `sim.runs.compare` gathers the runs (run directories or
finished runs) and writes the comparison directory.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs import files
from sim.inputs.chain import DEFAULT_CHAIN
from sim.inputs.clusters import cluster_keys
from sim.inputs.errors import InputError
from sim.outputs.charts import comparison_charts, scoreboard_comparison
from sim.outputs.labels import metric_label, segment_label, text, unit_label
from sim.outputs.scoreboard import scoreboard_table
from sim.outputs.tables import SUMMARY_COLUMNS

COMPARISON_COLUMNS = [*SUMMARY_COLUMNS, "diff_mean", "diff_pct"]
COMPARISON_FILES = ("comparison.csv",)  # a directory holding these is a comparison directory
MAX_LABEL = 200  # characters of a scenario label (a workbook cell, a chart legend)
ROW_KEY = ["year", "region", "segment", "metric"]
REGIONS = (*cluster_keys(), "china", "world")  # the clusters (Suining first), the nation, the world market
SEGMENT_KEYS = (*DEFAULT_CHAIN.keys, "all")
STATISTICS = ("mean", "p05", "p50", "p95")
FIRM_STAGES = tuple(s.key for s in DEFAULT_CHAIN.firm_stages)
# the figures the headline sheet and the charts need (the run-directory interface of the README promises them)
REQUIRED_METRICS = ("output", "value_added", "value_added_real", "national_share", "employment", "profit")

# the headline sheet: Suining's figures a planning office asks for first, as (segment, metric)
HEADLINE = [
    ("all", "value_added"),
    ("all", "value_added_real_growth"),
    ("all", "output_value"),
    *[(seg, "output") for seg in FIRM_STAGES],
    *[(seg, "national_share") for seg in FIRM_STAGES],
    ("all", "employment"),
    ("all", "profit"),
    ("all", "taxes"),
    ("all", "fixed_asset_investment"),
    ("all", "local_fiscal_revenue"),
    ("all", "gdp_share"),
    ("all", "gdp_growth_contribution"),
]
DECIMALS = {
    "t LCE": 0,
    "t": 0,
    "GWh": 1,
    "persons": 0,
    "亿元": 2,
    "亿元 (2022 prices)": 2,
    "%": 2,
    "percentage points": 2,
}


def check_label(name: str, file: str, key: str | None) -> None:
    """Scenario names become workbook cells and chart labels: printable text of a reasonable length."""
    if not name.isprintable() or len(name) > MAX_LABEL or not name.strip():
        raise InputError(
            f"the scenario name '{name}' cannot label a comparison: it must be 1 to {MAX_LABEL} printable "
            "characters (no control characters)",
            file=file,
            key=key,
        )


def read_summary(path: str | Path) -> pd.DataFrame:
    """Read and check a ``summary.csv`` against the run-directory interface (README, "What a run writes")."""
    file = str(path)
    try:
        summary = pd.read_csv(path, dtype={c: str for c in SUMMARY_COLUMNS[:6]})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"is not a readable CSV table ({err})", file=file) from None
    except OSError as err:
        raise InputError(files.describe_os_error(err), file=file) from None
    except (ValueError, OverflowError, RecursionError) as err:
        raise InputError(f"is not a readable CSV table ({type(err).__name__})", file=file) from None
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}; a summary has the columns {','.join(SUMMARY_COLUMNS)}",
            file=file,
            key=missing[0],
        )
    failed = summary["failed"] if "failed" in summary.columns else None  # replicates a numeric check stopped
    summary = summary[SUMMARY_COLUMNS]
    if summary.empty:
        raise InputError("has no rows", file=file)
    for column in ("year", *STATISTICS):
        numbers = pd.to_numeric(summary[column], errors="coerce")
        bad = ~np.isfinite(numbers.to_numpy(dtype=float))
        if column == "year":
            bad |= numbers.fillna(0.5).mod(1).to_numpy() != 0
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            kind = "whole years" if column == "year" else "numbers"
            value = summary[column].iloc[row]
            if pd.isna(value) and failed is not None and str(failed.iloc[row]) not in ("", "0"):
                has = "no value: every replicate of that row failed (meta.json of that run says where and why)"
            elif pd.isna(value):
                has = "an empty cell"
            else:
                has = f"'{value}'" if isinstance(value, str) else f"{float(value):g}"
            raise InputError(f"column '{column}' must hold {kind}; line {row + 2} has {has}", file=file, key=column)
        summary[column] = numbers.astype(int) if column == "year" else numbers.astype(float)
    for column, allowed in (("region", REGIONS), ("segment", SEGMENT_KEYS)):
        unknown = sorted(set(summary[column].fillna("(empty)")) - set(allowed))
        if unknown:
            raise InputError(
                f"column '{column}' has {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}",
                file=file,
                key=column,
            )
    absent = [m for m in REQUIRED_METRICS if not (summary["metric"] == m).any()]
    if absent:
        raise InputError(
            f"column 'metric' lacks {', '.join(absent)}; a comparison needs {', '.join(REQUIRED_METRICS)}",
            file=file,
            key="metric",
        )
    duplicated = summary.duplicated(ROW_KEY)
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        raise InputError(f"line {row + 2} repeats a year, region, segment and metric given before", file=file)
    return summary


def comparison_table(runs: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """Every run's summary rows, labelled by scenario, with differences from the first run (the baseline).

    Args:
        runs: (scenario label, summary DataFrame) pairs; labels must be unique.
    """
    names = [name for name, _ in runs]
    if len(set(names)) != len(names):
        raise InputError(f"scenario labels must be unique, got {', '.join(names)}")
    frames = [summary[SUMMARY_COLUMNS].assign(scenario=name) for name, summary in runs]
    table = pd.concat(frames, ignore_index=True)
    baseline = frames[0].set_index(ROW_KEY)["mean"].rename("baseline_mean")
    table = table.join(baseline, on=ROW_KEY)
    table["diff_mean"] = table["mean"] - table["baseline_mean"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * table["diff_mean"] / table["baseline_mean"].abs()
    table["diff_pct"] = pct.where(table["baseline_mean"] != 0)
    return table[COMPARISON_COLUMNS]


def headline_tables(table: pd.DataFrame, lang: str = "en") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suining's headline figures (rows: indicator with unit, scenario; columns: years).

    Returns:
        The scenarios' means, and their differences from the baseline (without the baseline's own rows).
    """
    lab = text(lang)
    scenarios = list(dict.fromkeys(table["scenario"]))
    suining = table[table.region == "suining"]
    blocks, order = [], []
    for segment, metric in HEADLINE:
        rows = suining[(suining.segment == segment) & (suining.metric == metric)]
        if rows.empty:
            continue
        unit = str(rows["unit"].iloc[0])
        name = (
            metric_label(lang, metric)
            if segment == "all"
            else f"{metric_label(lang, metric)} — {segment_label(lang, segment)}"
        )
        indicator = lab["with_unit"].format(name=name, unit=unit_label(lang, unit))
        decimals = DECIMALS.get(unit, 3)
        blocks.append(
            rows.assign(
                indicator=indicator, mean=rows["mean"].round(decimals), diff_mean=rows["diff_mean"].round(decimals)
            )
        )
        order.append(indicator)
    frame = pd.concat(blocks, ignore_index=True)
    index_names = [lab["indicator"], lab["scenario"]]

    def wide(values: str, names: list[str]) -> pd.DataFrame:
        out = frame.set_index(["indicator", "scenario", "year"])[values].unstack("year")
        out = out.reindex(pd.MultiIndex.from_product([order, names])).dropna(how="all")
        out.index.names = index_names
        out.columns.name = lab["year"]
        return out

    return wide("mean", scenarios), wide("diff_mean", scenarios[1:])


def readable_table(table: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """The comparison table with names and headers a reader understands (for the workbook)."""
    lab = text(lang)
    out = table.copy()
    out["region"] = out["region"].map(lambda key: lab.get(key, key))
    out["segment"] = out["segment"].map(lambda key: segment_label(lang, key))
    out["metric"] = out["metric"].map(lambda key: metric_label(lang, key))
    out["unit"] = out["unit"].map(lambda key: unit_label(lang, key))
    return out.rename(columns=lab["columns"])


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit_columns(sheet, first_row: int = 1) -> None:
    """Column widths from the longest entry (openpyxl has no autofit); CJK characters count double."""
    for column in sheet.iter_cols(min_row=first_row):
        width = max((_display_width(cell.value) for cell in column), default=8)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)


def write_workbook(
    table: pd.DataFrame, path: str | Path, lang: str = "en", scoreboard: pd.DataFrame | None = None
) -> Path:
    """``comparison.xlsx``: the headline sheet, the differences from the baseline, the report's scoreboard and
    the full table."""
    lab = text(lang)
    sheets = lab["sheets"]
    baseline = table["scenario"].iloc[0]
    head, difference = headline_tables(table, lang)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        head.to_excel(writer, sheet_name=sheets["headline"], startrow=2)
        writer.sheets[sheets["headline"]].cell(row=1, column=1, value=lab["headline_title"])
        if not difference.empty:
            difference.to_excel(writer, sheet_name=sheets["difference"], startrow=2)
            writer.sheets[sheets["difference"]].cell(
                row=1, column=1, value=lab["difference_title"].format(baseline=baseline)
            )
        if scoreboard is not None and len(scoreboard):
            score = scoreboard.assign(
                indicator=scoreboard["indicator"].map(lab["indicators"]),
                lithium_metric=scoreboard["lithium_metric"].map(lambda m: metric_label(lang, m)),
            )
            score.rename(columns=lab["score_columns"]).to_excel(
                writer, sheet_name=sheets["scoreboard"], startrow=2, index=False
            )
            writer.sheets[sheets["scoreboard"]].cell(row=1, column=1, value=lab["score_cmp_title"])
        readable_table(table, lang).to_excel(writer, sheet_name=sheets["comparison"], index=False, freeze_panes=(1, 0))
        for name, sheet in writer.sheets.items():
            _fit_columns(sheet, first_row=1 if name == sheets["comparison"] else 3)
    return Path(path)


def fill_comparison(
    table: pd.DataFrame,
    directory: Path,
    lang: str = "en",
    city: dict | None = None,
    projects: dict[str, int] | None = None,
) -> None:
    """Write ``comparison.csv``, ``comparison.xlsx`` and ``charts/`` (with the scoreboard) into ``directory``."""
    table.to_csv(directory / "comparison.csv", index=False)
    score = scoreboard_table(table, city or {}, projects) if city else None
    write_workbook(table, directory / "comparison.xlsx", lang, score)
    comparison_charts(table, directory / "charts", lang)
    if city:
        scoreboard_comparison(table, city, directory / "charts", lang)


def unique_labels(names: Sequence[str], sources: Sequence[str]) -> list[str]:
    """Scenario names, disambiguated by their source (e.g. the run directory's name) where they repeat."""
    out = list(names)
    for i, name in enumerate(names):
        if names.count(name) > 1:
            out[i] = f"{name} ({sources[i]})"
    repeated = sorted({label for label in out if out.count(label) > 1})
    if repeated:
        raise InputError(f"the same run is given more than once: {', '.join(repeated)}")
    return out


def check_comparable(gathered: Sequence[tuple[str, pd.DataFrame, dict, str]]) -> list[str]:
    """Refuse runs over different years (their differences would be blank); return warnings for runs with
    different replicate counts or seeds (their differences mix scenario effects with sampling noise)."""
    base_label, base_summary, base_meta, _ = gathered[0]
    base_years = sorted(set(base_summary["year"].astype(int)))
    warnings = []
    for label, summary, meta, origin in gathered[1:]:
        years = sorted(set(summary["year"].astype(int)))
        if years != base_years:
            raise InputError(
                f"covers {_span(years)} but the baseline {base_label} covers {_span(base_years)}; runs compared "
                "must cover the same years (give their scenarios the same end)",
                file=origin,
            )
        for key, what in (("replicates", "replicate counts"), ("seed", "master seeds")):
            if meta.get(key) != base_meta.get(key):
                warnings.append(
                    f"warning: {label} and the baseline {base_label} have different {what} ({meta.get(key)} and "
                    f"{base_meta.get(key)}): their differences mix the scenarios' effects with sampling noise"
                )
    return warnings


def _span(years: list[int]) -> str:
    return f"{years[0]}-{years[-1]}" if years else "no years"
