"""Comparing runs side by side: one table of every scenario's figures with differences from the baseline,
an Excel workbook a planning office can pass around, and charts.

The first run is the baseline. For every scenario, year, region, segment and metric the comparison holds
the run's mean and P5/P50/P95 across replicates and

    diff_mean = mean - mean of the baseline (same year, region, segment and metric; in the row's unit,
                so percentage points for the percent metrics),
    diff_pct  = 100 x diff_mean / |mean of the baseline| (empty where the baseline is 0 or missing),
    diff_p05, diff_p95 = the 5th and 95th percentiles of the difference over replicates (Suining's rows, from
                each run's ``replicates.csv``): replicate by replicate when the two runs share their seeds and
                replicate numbers (common random numbers: replicate i of each run draws the same streams), else
                over pairs of replicates of the two runs (independent draws); empty where a run kept no
                per-replicate values.

Runs are compared like with like (`check_comparable`): the same years, price mode, parameter file and history
years, or, if the caller allows a mixed comparison, every title and sheet says what is mixed.

This module makes the tables and files from summaries; `sim.runs.compare` gathers the runs (run directories or
finished runs) and writes the comparison directory.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs import catalogue as cat
from sim.inputs import files
from sim.inputs.chain import DEFAULT_CHAIN
from sim.inputs.clusters import cluster_keys
from sim.inputs.errors import InputError
from sim.outputs.scoreboard import scoreboard_table
from sim.outputs.tables import KEY_COLUMNS, SUMMARY_COLUMNS, _quantiles

COMPARISON_COLUMNS = [*SUMMARY_COLUMNS, "diff_mean", "diff_pct", "diff_p05", "diff_p95"]
COMPARISON_FILES = ("comparison.csv",)  # a directory holding these is a comparison directory
MAX_LABEL = 200  # characters of a scenario label (a workbook cell, a chart legend)
ROW_KEY = ["year", "region", "segment", "metric"]
REGIONS = (*cluster_keys(), "china", "world")  # the clusters (Suining first), the nation, the world market
SEGMENT_KEYS = (*DEFAULT_CHAIN.keys, "all")
STATISTICS = ("mean", "p05", "p50", "p95")
FIRM_STAGES = tuple(s.key for s in DEFAULT_CHAIN.firm_stages)
# the figures the headline sheet and the charts need (the run-directory interface of the README promises them)
REQUIRED_METRICS = ("output", "value_added", "value_added_real", "national_share", "employment", "profit")
UNPAIRED = 60  # replicates of each run whose pairs make the band of an unpaired difference (3,600 pairs)
FISCAL = ("support_cumulative", "local_fiscal_revenue_cumulative", "net_fiscal")
# the clusters' sheet: each cluster's share of national output, new capacity ordered and share of the nation's
CLUSTER_METRICS = ("national_share", "new_capacity", "new_capacity_share")

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
    ("all", "gdp_share"),
    ("all", "gdp_growth_contribution"),
    ("all", "local_fiscal_revenue"),
    ("all", "support"),
    *[("all", m) for m in FISCAL],
]
# Excel number formats by the unit a value is shown in
FORMATS = {
    "亿元": "#,##0.00",
    "%": "0.0",
    "percentage points": "0.00",
    "persons": "#,##0",
    "firms": "#,##0",
    "projects": "#,##0",
    "t LCE": "#,##0",
    "t": "#,##0",
    "GWh": "#,##0.0",
    "share": "0.000",
}


@dataclass
class Comparing:
    """What a comparison knows beyond its table: how readers name the scenarios, where each run came from.

    Attributes:
        metas: scenario label -> the run's ``meta.json`` (scenario names and descriptions in both languages,
            seeds, replicates, price mode, parameter file and its hash, code version, history years).
        note: what a mixed comparison mixes, in English and Chinese ({} when like is compared with like).
    """

    metas: dict[str, dict] = field(default_factory=dict)
    note: dict[str, str] = field(default_factory=dict)

    def names(self, lang: str) -> dict[str, str]:
        """Scenario label -> the name a reader sees in ``lang`` (its Chinese name in Chinese, where it has one)."""
        out = {}
        for label, meta in self.metas.items():
            name = str(meta.get("scenario", label))
            shown = cat.scenario_label(lang, name, meta.get("name_zh") or None)
            out[label] = label.replace(name, shown, 1) if label.startswith(name) else shown
        return out

    def history(self) -> list[int]:
        first = next(iter(self.metas.values()), {})
        return [int(y) for y in first.get("history_years", [])]


def check_label(name: str, file: str, key: str | None) -> None:
    """Scenario names become workbook cells and chart labels: printable text of a reasonable length."""
    if not name.isprintable() or len(name) > MAX_LABEL or not name.strip():
        raise InputError(
            f"the scenario name '{name}' cannot label a comparison: it must be 1 to {MAX_LABEL} printable "
            "characters (no control characters)",
            file=file,
            key=key,
        )


def _read_csv(path: str | Path, dtype: dict) -> pd.DataFrame:
    file = str(path)
    try:
        return pd.read_csv(path, dtype=dtype)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(f"is not a readable CSV table ({err})", file=file) from None
    except OSError as err:
        raise InputError(files.describe_os_error(err), file=file) from None
    except (ValueError, OverflowError, RecursionError) as err:
        raise InputError(f"is not a readable CSV table ({type(err).__name__})", file=file) from None


def read_summary(path: str | Path) -> pd.DataFrame:
    """Read and check a ``summary.csv`` against the run-directory interface (README, "What a run writes")."""
    file = str(path)
    summary = _read_csv(path, {c: str for c in SUMMARY_COLUMNS[:6]})
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


def read_replicates(path: str | Path) -> pd.DataFrame:
    """Read a run's ``replicates.csv`` (`sim.outputs.tables.replicate_table`): key columns, then one column of
    numbers per replicate."""
    file = str(path)
    frame = _read_csv(path, {c: str for c in KEY_COLUMNS[1:]})
    if list(frame.columns[: len(KEY_COLUMNS)]) != KEY_COLUMNS or len(frame.columns) == len(KEY_COLUMNS):
        raise InputError(f"must have the columns {','.join(KEY_COLUMNS)} and then one column per replicate", file=file)
    values = frame.iloc[:, len(KEY_COLUMNS) :].apply(pd.to_numeric, errors="coerce")
    if not all(str(c).isdigit() for c in values.columns):
        raise InputError("its replicate columns must be named by replicate number", file=file)
    frame = pd.concat([frame.iloc[:, : len(KEY_COLUMNS)], values], axis=1)
    frame["year"] = pd.to_numeric(frame["year"], errors="coerce")
    if frame["year"].isna().any():
        raise InputError("column 'year' must hold whole years", file=file, key="year")
    frame["year"] = frame["year"].astype(int)
    return frame


def _difference_bands(base: pd.DataFrame, other: pd.DataFrame, paired: bool) -> pd.DataFrame:
    """P5 and P95 of ``other - base`` over replicates, row by row (`ROW_KEY`)."""
    keys = ROW_KEY
    merged = other.merge(base, on=keys, how="inner", suffixes=("", "_base"))
    mine = [c for c in other.columns if c not in KEY_COLUMNS]
    theirs = [c for c in base.columns if c not in KEY_COLUMNS]
    if paired:
        common = [c for c in mine if c in set(theirs)]
        a = merged[common].to_numpy(dtype=float)
        b = merged[[f"{c}_base" if c in mine else c for c in common]].to_numpy(dtype=float)
        diff = a - b
    else:
        a = merged[mine[:UNPAIRED]].to_numpy(dtype=float)
        cols = [f"{c}_base" if c in mine else c for c in theirs[:UNPAIRED]]
        b = merged[cols].to_numpy(dtype=float)
        diff = (a[:, :, None] - b[:, None, :]).reshape(len(merged), -1)
    q = _quantiles(diff, np.isfinite(diff), (0.05, 0.95))
    return merged[keys].assign(diff_p05=q[0], diff_p95=q[1])


def comparison_table(
    runs: Sequence[tuple[str, pd.DataFrame]],
    replicates: Sequence[pd.DataFrame | None] | None = None,
    paired: Sequence[bool] | None = None,
) -> pd.DataFrame:
    """Every run's summary rows, labelled by scenario, with differences from the first run (the baseline).

    Args:
        runs: (scenario label, summary DataFrame) pairs; labels must be unique.
        replicates: each run's per-replicate values (``replicates.csv``) or None; with them, the bands of the
            differences (``diff_p05``, ``diff_p95``).
        paired: for each run, whether its replicates pair with the baseline's (same master seed): the band is
            then taken replicate by replicate, else over pairs of replicates (default: paired).
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
    table["diff_p05"] = np.nan
    table["diff_p95"] = np.nan
    replicates = list(replicates or [None] * len(runs))
    paired = list(paired or [True] * len(runs))
    if replicates[0] is not None:
        for (name, _), per_replicate, pair in zip(runs, replicates, paired, strict=True):
            if per_replicate is None:
                continue
            bands = _difference_bands(replicates[0], per_replicate, pair).assign(scenario=name)
            index = pd.MultiIndex.from_frame(table[["scenario", *ROW_KEY]])
            found = bands.set_index(["scenario", *ROW_KEY])
            position = index.get_indexer(found.index)
            ok = position >= 0
            table.loc[table.index[position[ok]], "diff_p05"] = found["diff_p05"].to_numpy()[ok]
            table.loc[table.index[position[ok]], "diff_p95"] = found["diff_p95"].to_numpy()[ok]
    # a difference within floating-point noise of the figures is no difference (not -1.4e-14)
    scale = np.maximum(table["mean"].abs(), table["baseline_mean"].abs()).fillna(0.0)
    for column in ("diff_mean", "diff_p05", "diff_p95"):
        table[column] = table[column].mask(table[column].abs() <= 1e-9 * scale, 0.0)
    return table[COMPARISON_COLUMNS]


def cost_and_return(table: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """What each scenario costs the city and what it returns, summed from 2022 to ``year`` (default: the last
    year all runs share), with bands: one row per scenario and figure (``support_cumulative``,
    ``local_fiscal_revenue_cumulative``, ``net_fiscal``), columns ``scenario, metric, year, unit, mean, p05,
    p95, diff_mean, diff_p05, diff_p95`` (亿元; the differences are from the baseline, so a scenario's
    ``net_fiscal`` difference reads "local revenue gained minus support paid"). The workbench's headline and
    the workbook's scoreboard read it.
    """
    rows = table[(table.region == "suining") & (table.segment == "all") & table.metric.isin(FISCAL)]
    if year is None:
        year = int(table.groupby("scenario")["year"].max().min())
    out = rows[rows.year == year][["scenario", "metric", "year", "unit", "mean", "p05", "p95", "diff_mean",
                                   "diff_p05", "diff_p95"]]  # fmt: skip
    order = {m: i for i, m in enumerate(FISCAL)}
    scenarios = {s: i for i, s in enumerate(dict.fromkeys(table["scenario"]))}
    out = out.assign(_s=out.scenario.map(scenarios), _m=out.metric.map(order)).sort_values(["_s", "_m"])
    return out.drop(columns=["_s", "_m"]).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# like with like
# ---------------------------------------------------------------------------------------------------------------
def _years_text(years: Sequence[int]) -> str:
    return f"{years[0]}-{years[-1]}" if years else "none"


def check_comparable(
    gathered: Sequence[tuple[str, pd.DataFrame, dict, str]], allow_mixed: bool = False, lang: str = "en"
) -> tuple[list[str], dict[str, str]]:
    """Refuse runs that cannot be compared like with like; return warnings, and what a mixed comparison mixes.

    Runs over different years are always refused (their differences would be blank). A run in another price
    mode than the baseline, with another parameter file (by its SHA-256) or other history years is refused
    unless ``allow_mixed``: its difference from the baseline would mix the mode's, the parameters' or the
    history's effect with the scenario's. Runs with different replicate counts or seeds get a warning (their
    differences mix the scenarios' effects with sampling noise).

    Args:
        gathered: (label, summary, meta.json, where it came from) of each run, the baseline first.
        allow_mixed: compare mixed runs anyway, labelled.
        lang: language of the warnings and the note.

    Returns:
        The warnings in ``lang``; and the note every title and sheet of a mixed comparison carries, by language
        ({} when like is compared with like).
    """
    base_label, base_summary, base_meta, _ = gathered[0]
    base_years = sorted(set(base_summary["year"].astype(int)))
    warnings: list[str] = []
    mixed: dict[str, list[str]] = {language: [] for language in cat.LANGUAGES}
    for label, summary, meta, origin in gathered[1:]:
        years = sorted(set(summary["year"].astype(int)))
        if years != base_years:
            raise InputError(
                f"covers {_years_text(years)} but the baseline '{base_label}' covers {_years_text(base_years)}; "
                "runs compared must cover the same years (give their scenarios the same end)",
                file=origin,
                translations={
                    "zh": f"覆盖{_years_text(years)}年，而基准“{_named_zh(base_label, base_meta)}”覆盖"
                    f"{_years_text(base_years)}年；"
                    "比较的运行必须覆盖相同的年份（给它们的情景设相同的结束年份）"
                },
            )
        for problem in _unlike(label, meta, base_label, base_meta):
            key, detail, words = problem
            if not allow_mixed:
                raise InputError(
                    f"{detail['en']}; a difference between them would mix that with the scenario's own effect. "
                    f"Compare it with a baseline of the same price mode, parameter file and history (for "
                    f"market-mode scenarios of the library: baseline_market), or allow a mixed comparison (compare "
                    f"--allow-mixed, or allow_mixed=True), which every chart title and sheet then labels",
                    file=_meta_file(origin),
                    key=key,
                    translations={
                        "zh": f"{detail['zh']}；两者之差会把这一差别与情景本身的作用混在一起。请与价格模式、参数文件和"
                        "历史年份都相同的基准比较（情景库中市场出清模式的情景：baseline_market），或允许混合比较"
                        "（compare --allow-mixed，或 allow_mixed=True），此时每张图的标题和每个工作表都会注明混合之处"
                    },
                )
            for language in cat.LANGUAGES:
                mixed[language].append(words(language))
        for key in ("replicates", "seed"):
            if meta.get(key) != base_meta.get(key):
                warnings.append(
                    cat.say(
                        lang, "cli.noise", scenario=label, baseline=base_label, what=cat.say(lang, f"cli.what.{key}"),
                        value=meta.get(key), base_value=base_meta.get(key),
                    )
                )  # fmt: skip
    note = {
        language: cat.say(language, "mixed", what=cat.say(language, "cli.list_sep").join(items))
        for language, items in mixed.items()
        if items
    }
    return warnings, note


def _named_zh(label: str, meta: dict) -> str:
    """A run's name in Chinese messages: its scenario's Chinese name where it has one."""
    return cat.scenario_label("zh", str(meta.get("scenario", label)), meta.get("name_zh") or None)


def _meta_file(origin: str) -> str:
    path = Path(origin)
    return str(path / "meta.json") if path.is_dir() else origin


def _unlike(label: str, meta: dict, base_label: str, base_meta: dict):
    """(key, what differs, its words by language) for each way a run is unlike the baseline."""

    def shown(language: str) -> str:
        name = str(meta.get("scenario", label))
        named = cat.scenario_label(language, name, meta.get("name_zh") or None)
        return label.replace(name, named, 1) if label.startswith(name) else named

    base_zh = _named_zh(base_label, base_meta)
    mode, base_mode = meta.get("price_mode", "path"), base_meta.get("price_mode", "path")
    if mode != base_mode:

        def words(language: str, m=mode, b=base_mode) -> str:
            return cat.say(
                language, "mixed_mode", scenario=shown(language), mode=cat.say(language, f"mode.{m}"),
                base_mode=cat.say(language, f"mode.{b}"),
            )  # fmt: skip

        detail = {
            "en": f"'{label}' runs in {mode} mode but the baseline '{base_label}' in {base_mode} mode",
            "zh": f"“{shown('zh')}”为{cat.say('zh', f'mode.{mode}')}模式，而基准“{base_zh}”为"
            f"{cat.say('zh', f'mode.{base_mode}')}模式",
        }
        yield "price_mode", detail, words
    file, base_file = meta.get("parameter_file_sha256"), base_meta.get("parameter_file_sha256")
    if file != base_file:
        files = (meta.get("parameter_file"), str(file)[:12], base_meta.get("parameter_file"), str(base_file)[:12])
        yield (
            "parameter_file_sha256",
            {
                "en": f"'{label}' used the parameter file {files[0]} (SHA-256 {files[1]}) but the baseline "
                f"'{base_label}' {files[2]} (SHA-256 {files[3]})",
                "zh": f"“{shown('zh')}”使用参数文件 {files[0]}（SHA-256 {files[1]}），而基准“{base_zh}”使用 "
                f"{files[2]}（SHA-256 {files[3]}）",
            },
            lambda language: cat.say(language, "mixed_params", scenario=shown(language)),
        )
    history, base_history = meta.get("history_years"), base_meta.get("history_years")
    if history is not None and base_history is not None and list(history) != list(base_history):
        yield (
            "history_years",
            {
                "en": f"'{label}' takes {_years_text(history)} as history but the baseline '{base_label}' "
                f"{_years_text(base_history)}",
                "zh": f"“{shown('zh')}”以{_years_text(history)}年为历史年份，而基准“{base_zh}”以"
                f"{_years_text(base_history)}年为历史年份",
            },
            lambda language: cat.say(
                language, "mixed_history", scenario=shown(language), years=_years_text(history),
                base_years=_years_text(base_history),
            ),
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# the workbook
# ---------------------------------------------------------------------------------------------------------------
def _indicator(lang: str, segment: str, metric: str, unit: str) -> str:
    name = (
        cat.metric(lang, metric) if segment == "all" else f"{cat.metric(lang, metric)} — {cat.segment(lang, segment)}"
    )
    return cat.say(lang, "with_unit", name=name, unit=unit)


def headline_tables(
    table: pd.DataFrame, lang: str = "en", names: dict[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suining's headline figures: rows (indicator with unit, scenario), columns (year, statistic).

    Tonnes are shown as readers count them (万吨; kt or Mt), as the charts do.

    Returns:
        The scenarios' mean, P5 and P95, and their differences from the baseline (mean, P5, P95 of the
        difference; without the baseline's own rows).
    """
    lab = cat.words(lang)
    scenarios = list(dict.fromkeys(table["scenario"]))
    names = {s: (names or {}).get(s, s) for s in scenarios}
    suining = table[table.region == "suining"]
    levels, differences = [], []
    for segment, metric in HEADLINE:
        rows = suining[(suining.segment == segment) & (suining.metric == metric)]
        if rows.empty:
            continue
        unit = str(rows["unit"].iloc[0])
        magnitude = float(rows["mean"].abs().max())
        factor, shown = cat.display_unit(lang, unit, magnitude)
        indicator = _indicator(lang, segment, metric, shown)
        stats = ("mean", "p05", "p95")
        for scenario in scenarios:
            mine = rows[rows.scenario == scenario].set_index("year")
            if mine.empty:
                continue
            key = (indicator, names[scenario])
            levels.append((key, shown, {(y, s): mine.at[y, s] * factor for y in mine.index for s in stats}))
            if scenario != scenarios[0]:
                diff = {(y, s): mine.at[y, f"diff_{s}"] * factor for y in mine.index for s in stats}
                differences.append((key, "percentage points" if shown == "%" else shown, diff))

    return _wide_frame(levels, lab), _wide_frame(differences, lab)


def _wide_frame(items: list[tuple[tuple[str, str], str, dict]], lab: dict) -> pd.DataFrame:
    """Rows ((indicator, scenario), unit shown, {(year, statistic): value}) as a frame for `_wide_sheet`."""
    if not items:
        return pd.DataFrame()
    out = pd.DataFrame([values for _, _, values in items], index=pd.MultiIndex.from_tuples([k for k, _, _ in items]))
    out.index.names = [lab["indicator"], lab["scenario"]]
    out = out.reindex(columns=sorted(out.columns, key=lambda c: (c[0], ("mean", "p05", "p95").index(c[1]))))
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=[lab["year"], lab["statistic"]])
    out.attrs["units"] = [unit for _, unit, _ in items]  # the unit each row is shown in (its number format)
    return out


def cluster_tables(table: pd.DataFrame, lang: str = "en", names: dict[str, str] | None = None) -> pd.DataFrame:
    """The rival clusters' figures (`CLUSTER_METRICS`) by cluster, segment and scenario: rows (indicator with
    unit, scenario), columns (year, statistic: mean, P5, P95). Tonnes as readers count them, as the charts do;
    empty when the table has no cluster rows."""
    lab = cat.words(lang)
    scenarios = list(dict.fromkeys(table["scenario"]))
    names = {s: (names or {}).get(s, s) for s in scenarios}
    present = set(table.loc[table.metric.isin(CLUSTER_METRICS), "region"])
    clusters = [key for key in cluster_keys() if key in present]
    items = []
    for metric in CLUSTER_METRICS:
        for segment in FIRM_STAGES:
            rows = table[(table.metric == metric) & (table.segment == segment) & table.region.isin(clusters)]
            if rows.empty:
                continue
            unit = str(rows["unit"].iloc[0])
            factor, shown = cat.display_unit(lang, unit, float(rows["mean"].abs().max()))
            for cluster in clusters:
                mine = rows[rows.region == cluster]
                name = lab["cluster_indicator"].format(
                    cluster=cat.cluster(lang, cluster),
                    metric=cat.metric(lang, metric),
                    segment=cat.segment(lang, segment),
                )
                indicator = cat.say(lang, "with_unit", name=name, unit=shown)
                for scenario in scenarios:
                    values = mine[mine.scenario == scenario].set_index("year")
                    if values.empty:
                        continue
                    cells = {(y, s): values.at[y, s] * factor for y in values.index for s in ("mean", "p05", "p95")}
                    items.append(((indicator, names[scenario]), shown, cells))
    return _wide_frame(items, lab)


def readable_table(table: pd.DataFrame, lang: str = "en", names: dict[str, str] | None = None) -> pd.DataFrame:
    """The comparison table with names and headers a reader understands (for the workbook): the scenario's key,
    as in ``comparison.csv``, then the name a reader sees."""
    lab = cat.words(lang)
    out = table.copy()
    out.insert(1, "scenario_name", out["scenario"].map(lambda key: (names or {}).get(key, key)))
    out["region"] = out["region"].map(lambda key: cat.region(lang, key))
    out["segment"] = out["segment"].map(lambda key: cat.segment(lang, key))
    out["metric"] = out["metric"].map(lambda key: cat.metric(lang, key))
    out["unit"] = out["unit"].map(lambda key: cat.unit(lang, key))
    return out.rename(columns=lab["columns"])


def _display_width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _number_format(unit: str) -> str:
    """The Excel number format for a value shown in ``unit`` (the model's unit or a display unit)."""
    if unit in FORMATS:
        return FORMATS[unit]
    if unit.startswith(("亿元", "万元", "1,000 yuan", "yuan")):
        return "#,##0.00"
    if unit.startswith(("万吨", "kt", "Mt")):
        return "#,##0.00"
    if unit.startswith(("t", "吨")):
        return "#,##0"
    return "#,##0.00"


class _Book:
    """The workbook being written (XlsxWriter: number formats, frozen headers and filters, written fast)."""

    def __init__(self, path: Path) -> None:
        import xlsxwriter

        self.book = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True})
        self.bold = self.book.add_format({"bold": True})
        self.header = self.book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
        self.note = self.book.add_format({"italic": True, "font_color": "#9c0006"})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self._formats: dict[str, object] = {}

    def number(self, unit: str):
        pattern = _number_format(unit)
        if pattern not in self._formats:
            self._formats[pattern] = self.book.add_format({"num_format": pattern})
        return self._formats[pattern]

    def sheet(self, name: str, title: str, note: str):
        sheet = self.book.add_worksheet(name)
        sheet.write(0, 0, title, self.bold)
        if note:
            sheet.write(1, 0, note, self.note)
        return sheet

    def close(self) -> None:
        self.book.close()


def _write_cell(sheet, row: int, col: int, value, fmt=None) -> None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return
    if isinstance(value, int | float | np.integer | np.floating):
        sheet.write_number(row, col, float(value), fmt)
    else:
        sheet.write_string(row, col, str(value), fmt)


def _widths(sheet, columns: list[list], least: int = 8, most: int = 60) -> None:
    for j, values in enumerate(columns):
        width = max((_display_width(v) for v in values), default=least)
        sheet.set_column(j, j, min(max(width + 2, least), most))


def _wide_sheet(book: _Book, name: str, title: str, note: str, frame: pd.DataFrame, lab: dict) -> None:
    """A headline-style sheet: indicator and scenario down, years across with mean, P5 and P95 under each."""
    sheet = book.sheet(name, title, note)
    top = 3
    sheet.write(top, 0, lab["indicator"], book.header)
    sheet.write(top, 1, lab["scenario"], book.header)
    years = list(dict.fromkeys(c[0] for c in frame.columns))
    for i, year in enumerate(years):
        first = 2 + 3 * i
        sheet.merge_range(top - 1, first, top - 1, first + 2, int(year), book.header)
        for j, stat in enumerate(("mean", "p05", "p95")):
            sheet.write(top, first + j, lab["stat"][stat], book.header)
    units = frame.attrs.get("units", [""] * len(frame))
    for r, ((indicator, scenario), values) in enumerate(frame.iterrows(), start=top + 1):
        fmt = book.number(units[r - top - 1])
        sheet.write_string(r, 0, indicator)
        sheet.write_string(r, 1, scenario)
        for c, value in enumerate(values.to_numpy(dtype=float), start=2):
            _write_cell(sheet, r, c, value, fmt)
    sheet.freeze_panes(top + 1, 2)
    sheet.autofilter(top, 0, top + max(len(frame), 1), 1 + 3 * len(years))
    sheet.set_column(0, 0, min(max(_display_width(i) for i, _ in frame.index) + 2, 70) if len(frame) else 30)
    sheet.set_column(1, 1, min(max(_display_width(s) for _, s in frame.index) + 2, 40) if len(frame) else 12)
    sheet.set_column(2, 1 + 3 * len(years), 10)


def _table_sheet(book: _Book, name: str, title: str, note: str, frame: pd.DataFrame, units: list[str] | None) -> None:
    """A long table: a header row, frozen, with a filter; numbers formatted by each row's unit."""
    sheet = book.sheet(name, title, note)
    top = 2 if title or note else 0
    for j, column in enumerate(frame.columns):
        sheet.write(top, j, str(column), book.header)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    data = frame.to_numpy(dtype=object)
    for i, row in enumerate(data, start=top + 1):
        fmt = book.number(units[i - top - 1]) if units is not None else None
        for j, value in enumerate(row):
            if numeric[j] and not isinstance(value, str):
                if frame.columns[j] in ("Year", "年份", "year"):
                    _write_cell(sheet, i, j, value)
                else:
                    _write_cell(sheet, i, j, value, fmt)
            else:
                _write_cell(sheet, i, j, value)
    sheet.freeze_panes(top + 1, 0)
    sheet.autofilter(top, 0, top + max(len(frame), 1), len(frame.columns) - 1)
    sample = data[:500]
    _widths(sheet, [[frame.columns[j], *sample[:, j]] for j in range(len(frame.columns))], most=50)


def assumptions_table(context: Comparing, lang: str) -> pd.DataFrame:
    """What was compared, from each run's ``meta.json``: one row per item, one column per scenario."""
    lab = cat.words(lang)
    assume = lab["assume"]
    labels = list(context.metas)
    rows = []

    def value(meta: dict, key: str):
        if key == "history_years":
            years = meta.get(key) or []
            return f"{years[0]}–{years[-1]}" if years else assume["none"]
        if key == "price_mode":
            return cat.say(lang, f"mode.{meta.get(key, 'path')}")
        found = meta.get(key)
        return assume["none"] if found in (None, "") else found

    rows.append([assume["role"], *[assume["baseline" if i == 0 else "compared"] for i in range(len(labels))]])
    rows.append([assume["name"], *[m.get("scenario", label) for label, m in context.metas.items()]])
    for key in ("name_zh", "description", "description_zh", "price_mode", "seed", "replicates", "replicates_ok",
                "history_years", "parameter_file", "parameter_file_sha256", "scenario_file", "scenario_sha256",
                "version", "finished"):  # fmt: skip
        label = assume["description_en"] if key == "description" else assume[key]
        rows.append([label, *[value(m, key) for m in context.metas.values()]])
    if context.note:
        rows.append([assume["mixed"], context.note.get(lang, ""), *[""] * (len(labels) - 1)])
    return pd.DataFrame(rows, columns=[assume["item"], *[context.names(lang).get(k, k) for k in labels]])


def write_workbook(
    table: pd.DataFrame,
    path: str | Path,
    lang: str = "en",
    scoreboard: pd.DataFrame | None = None,
    context: Comparing | None = None,
) -> Path:
    """``comparison.xlsx``: the headline sheet and the differences from the baseline (each mean with its P5 and
    P95), the rival clusters (`cluster_tables`), the report's scoreboard with the city's cost and return, the
    assumptions (from every run's meta.json) and the full table; headers frozen, filters on, numbers formatted
    by unit."""
    lab = cat.words(lang)
    sheets = lab["sheets"]
    context = context or Comparing({s: {"scenario": s} for s in dict.fromkeys(table["scenario"])})
    names = context.names(lang)
    note = context.note.get(lang, "")
    baseline = names.get(table["scenario"].iloc[0], table["scenario"].iloc[0])
    head, difference = headline_tables(table, lang, names)
    book = _Book(Path(path))
    try:
        _wide_sheet(book, sheets["headline"], lab["headline_title"], note, head, lab)
        if not difference.empty:
            _wide_sheet(book, sheets["difference"], lab["difference_title"].format(baseline=baseline), note,
                        difference, lab)  # fmt: skip
        clusters = cluster_tables(table, lang, names)
        if not clusters.empty:
            _wide_sheet(book, sheets["clusters"], lab["clusters_title"], note, clusters, lab)
        if scoreboard is not None and len(scoreboard):
            score = scoreboard.assign(
                scenario=scoreboard["scenario"].map(lambda s: names.get(s, s)),
                indicator=scoreboard["indicator"].map(lambda k: lab["indicators"].get(k, k)),
                lithium_metric=scoreboard["lithium_metric"].map(lambda m: cat.metric(lang, m)),
                lithium_unit=scoreboard["lithium_unit"].map(lambda u: cat.unit(lang, u)),
            )
            units = list(scoreboard["lithium_unit"])
            _table_sheet(book, sheets["scoreboard"], lab["score_cmp_title"], note,
                         score.rename(columns=lab["score_columns"]), units)  # fmt: skip
        assumptions = assumptions_table(context, lang)
        _table_sheet(book, sheets["assumptions"], lab["assumptions_title"], note, assumptions, None)
        _table_sheet(book, sheets["comparison"], "", note, readable_table(table, lang, names), list(table["unit"]))
    finally:
        book.close()
    return Path(path)


def fill_comparison(
    table: pd.DataFrame,
    directory: Path,
    lang: str = "en",
    city: dict | None = None,
    projects: dict[str, int] | None = None,
    context: Comparing | None = None,
    pool: Executor | None = None,
) -> None:
    """Write ``comparison.csv``, ``comparison.xlsx`` and ``charts/`` (with the scoreboard) into ``directory``;
    with ``pool``, a worker process draws charts while this one writes the workbook and draws the rest."""
    from sim.outputs import cluster_charts
    from sim.outputs.charts import comparison_jobs, draw_all, scoreboard_comparison

    context = context or Comparing({s: {"scenario": s} for s in dict.fromkeys(table["scenario"])})
    names, note = context.names(lang), context.note.get(lang, "")
    table.to_csv(directory / "comparison.csv", index=False)
    score = scoreboard_table(table, city or {}, projects) if city else None
    words = {"names": names, "history": context.history(), "note": note}
    jobs = comparison_jobs(table, directory / "charts", lang, **words)
    jobs.extend(cluster_charts.comparison_jobs(table, directory / "charts", lang, **words))
    if city:
        jobs.append((scoreboard_comparison, (table, city, directory / "charts", lang), words))
    draw_all(jobs, pool, meanwhile=lambda: write_workbook(table, directory / "comparison.xlsx", lang, score, context))


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
