"""Comparing runs side by side: one table of every scenario's figures with differences from the baseline,
an Excel workbook a planning office can pass around, and charts.

The first run is the baseline. For every scenario, year, region, segment and metric the comparison holds
the run's mean and P5/P50/P95 across replicates and

    diff_mean = mean - mean of the baseline (same year, region, segment and metric; in the row's unit,
                so percentage points for the percent metrics),
    diff_pct  = 100 x diff_mean / |mean of the baseline| (empty where the baseline is 0 or missing).

Runs are run directories (``lithium-sim compare``) or `RunResult` objects in memory (the Python API), in
any mix. A comparison directory holds ``comparison.csv``, ``comparison.xlsx`` and ``charts/``; it is
written atomically, like a run directory, and only after every input has been checked.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs import files
from sim.inputs.errors import InputError
from sim.outputs.charts import SEGMENTS, comparison_charts, labels, metric_label, unit_label
from sim.outputs.results import SUMMARY_COLUMNS
from sim.runs.rundir import DirKind, claim, report, target_path
from sim.runs.runner import RunResult

COMPARISON_COLUMNS = [*SUMMARY_COLUMNS, "diff_mean", "diff_pct"]
COMPARISON_FILES = ("comparison.csv",)  # a directory holding these is a comparison directory
MAX_LABEL = 200  # characters of a scenario label (a workbook cell, a chart legend)
MAX_META_BYTES = 64 * 1024 * 1024  # meta.json of a run (replicate seeds and failures' tracebacks included)


def _is_comparison(path: Path) -> bool:
    try:
        with open(path / "comparison.csv", "rb") as handle:
            return handle.readline().decode("utf-8", "replace").startswith(",".join(COMPARISON_COLUMNS[:5]))
    except OSError:
        return False


COMPARISON = DirKind(
    "comparison directory",
    _is_comparison,
    ("comparison.csv", "comparison.xlsx", "charts/*.png"),
    "a comparison.csv written by lithium-sim",
)
ROW_KEY = ["year", "region", "segment", "metric"]
REGIONS = ("suining", "china")
SEGMENT_KEYS = (*SEGMENTS, "all")
STATISTICS = ("mean", "p05", "p50", "p95")
# the figures the headline sheet and the charts need (DESIGN section 6 promises them)
REQUIRED_METRICS = ("output", "value_added", "value_added_real", "national_share", "employment", "profit")

# the headline sheet: Suining's figures a planning office asks for first, as (segment, metric)
HEADLINE = [
    ("all", "value_added"),
    ("all", "value_added_real"),
    ("all", "value_added_real_growth"),
    *[(seg, "output") for seg in SEGMENTS],
    *[(seg, "national_share") for seg in SEGMENTS],
    ("all", "employment"),
    ("all", "profit"),
]
DECIMALS = {"t LCE": 0, "t": 0, "GWh": 1, "persons": 0, "亿元": 2, "亿元 (2022 prices)": 2, "%": 2}


def load_run(run_dir: str | Path) -> tuple[str, pd.DataFrame]:
    """The scenario name (from ``meta.json``) and the checked ``summary.csv`` of a run directory.

    Raises:
        InputError: naming the file and what is wrong when ``run_dir`` is not a run directory.
    """
    name, summary, _ = load_run_with_meta(run_dir)
    return name, summary


def load_run_with_meta(run_dir: str | Path) -> tuple[str, pd.DataFrame, dict]:
    """`load_run`, and the run's ``meta.json`` as a dict."""
    text = files.check_path_text(run_dir, what="the run directory")
    run_dir = Path(text)
    try:
        is_dir, exists = run_dir.is_dir(), run_dir.exists()
    except OSError as err:
        raise InputError(
            f"{files.describe_os_error(err)}; give run directories written by `lithium-sim run`", file=text
        ) from None
    if not is_dir:
        what = "does not exist" if not exists else "is not a directory"
        raise InputError(f"{what}; give run directories written by `lithium-sim run`", file=str(run_dir))
    for name in ("summary.csv", "meta.json"):
        if not (run_dir / name).is_file():
            raise InputError(
                f"is not a run directory: {name} is missing (a run directory written by `lithium-sim run` "
                "holds summary.csv, firms.csv, meta.json and charts/)",
                file=str(run_dir),
            )
    meta_file = run_dir / "meta.json"
    text_file = files.read_text(files.resolve(meta_file, what="meta.json"), what="meta.json", limit=MAX_META_BYTES)
    try:
        meta = json.loads(text_file.text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise InputError(f"is not valid JSON ({err})", file=str(meta_file)) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("scenario"), str) or not meta["scenario"]:
        raise InputError("must name the run's scenario (a non-empty string)", file=str(meta_file), key="scenario")
    _check_label(meta["scenario"], str(meta_file), "scenario")
    return meta["scenario"], read_summary(files.resolve(run_dir / "summary.csv", what="summary.csv")), meta


def _check_label(name: str, file: str, key: str | None) -> None:
    """Scenario names become workbook cells and chart labels: printable text of a reasonable length."""
    if not name.isprintable() or len(name) > MAX_LABEL or not name.strip():
        raise InputError(
            f"the scenario name '{name}' cannot label a comparison: it must be 1 to {MAX_LABEL} printable "
            "characters (no control characters)",
            file=file,
            key=key,
        )


def read_summary(path: str | Path) -> pd.DataFrame:
    """Read and check a ``summary.csv`` against the run-directory interface (DESIGN section 6)."""
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
            raise InputError(
                f"column '{column}' must hold {kind}; line {row + 2} has {summary[column].iloc[row]!r}",
                file=file,
                key=column,
            )
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
    lab = labels(lang)
    scenarios = list(dict.fromkeys(table["scenario"]))
    suining = table[table.region == "suining"]
    blocks, order = [], []
    for segment, metric in HEADLINE:
        rows = suining[(suining.segment == segment) & (suining.metric == metric)]
        if rows.empty:
            continue
        unit = str(rows["unit"].iloc[0])
        name = metric_label(lang, metric) if segment == "all" else f"{metric_label(lang, metric)} — {lab[segment]}"
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
    lab = labels(lang)
    out = table.copy()
    out["region"] = out["region"].map(lambda key: lab.get(key, key))
    out["segment"] = out["segment"].map(lambda key: lab.get(key, key))
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


def write_workbook(table: pd.DataFrame, path: str | Path, lang: str = "en") -> Path:
    """``comparison.xlsx``: the headline sheet, the differences from the baseline, and the full table."""
    lab = labels(lang)
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
        readable_table(table, lang).to_excel(writer, sheet_name=sheets["comparison"], index=False, freeze_panes=(1, 0))
        for name, sheet in writer.sheets.items():
            _fit_columns(sheet, first_row=1 if name == sheets["comparison"] else 3)
    return Path(path)


def write_comparison(table: pd.DataFrame, out_dir: str | Path, lang: str = "en", *, force: bool = False) -> Path:
    """Write ``comparison.csv``, ``comparison.xlsx`` and ``charts/`` into ``out_dir``, atomically.

    An earlier comparison there is replaced if it holds nothing else; with ``force`` a directory holding
    other files is moved aside (kept) rather than refused (see `sim.runs.rundir`).
    """
    labels(lang)  # an unknown language fails before anything is written

    def fill(tmp: Path) -> None:
        table.to_csv(tmp / "comparison.csv", index=False)
        write_workbook(table, tmp / "comparison.xlsx", lang)
        comparison_charts(table, tmp / "charts", lang)

    with claim(out_dir, COMPARISON, force=force, option=None) as held:
        return held.write(fill)


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


def check_out_dir(out_dir: str | Path, run_dirs: Sequence[str | Path]) -> None:
    """The output directory must not be, or contain, a run being compared (it is replaced whole)."""
    out = target_path(out_dir, option=None)
    for run_dir in run_dirs:
        run = Path(os.path.realpath(files.check_path_text(run_dir, what="the run directory")))
        if run == out or out in run.parents:
            raise InputError(
                f"the output directory would replace the run directory {run_dir}; choose another --out",
                file=str(out_dir),
            )


def gather(runs: Sequence[RunResult | str | Path]) -> list[tuple[str, pd.DataFrame]]:
    """(label, summary) of each run: finished `RunResult` objects or run directories, in any mix.

    Labels are the scenario names, disambiguated by the directory name (or position) where they repeat.
    """
    return [(label, summary) for label, summary, _, _ in _gather(runs)]


def _gather(runs: Sequence[RunResult | str | Path]) -> list[tuple[str, pd.DataFrame, dict, str]]:
    """(label, summary, meta, where it came from) of each run."""
    names, summaries, sources, metas, origins = [], [], [], [], []
    for position, run in enumerate(runs, start=1):
        if isinstance(run, RunResult):
            name, summary, meta, source = run.scenario.name, run.summary, run.meta, f"run {position}"
            _check_label(name, source, None)
            origin = source
        else:
            (name, summary, meta), source = load_run_with_meta(run), Path(run).resolve().name
            source = "".join(c if c.isprintable() else "?" for c in source)[:MAX_LABEL]
            origin = str(run)
        names.append(name)
        summaries.append(summary)
        sources.append(source)
        metas.append(meta)
        origins.append(origin)
    return list(zip(unique_labels(names, sources), summaries, metas, origins, strict=True))


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


def compare(
    runs: Sequence[RunResult | str | Path],
    out_dir: str | Path | None = None,
    lang: str = "en",
    *,
    force: bool = False,
) -> pd.DataFrame:
    """Compare runs; write the comparison directory when ``out_dir`` is given; return the comparison table.

    Runs must cover the same years; runs with different replicate counts or seeds are compared with a
    warning on standard error.

    Args:
        runs: `RunResult` objects (in memory) or run directories written by `lithium-sim run`, in any mix;
            the first is the baseline.
        out_dir: the comparison directory to write (an earlier comparison there is replaced).
        lang: language of the workbook and charts, "en" or "zh".
        force: move an ``out_dir`` that holds other files aside (kept) instead of refusing.

    Raises:
        InputError: a directory that is not a run directory, a bad summary, runs over different years, or
            an output directory that would replace a run or something that is not an earlier comparison.
            Nothing is written then.
    """
    runs = list(runs)
    if not runs:
        raise InputError("give at least one run to compare")
    labels(lang)
    if out_dir is not None:
        check_out_dir(out_dir, [r for r in runs if not isinstance(r, RunResult)])
    gathered = _gather(runs)
    for warning in check_comparable(gathered):
        report(warning)
    table = comparison_table([(label, summary) for label, summary, _, _ in gathered])
    if out_dir is not None:
        write_comparison(table, out_dir, lang, force=force)
    return table
