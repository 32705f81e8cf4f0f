"""Comparing runs: the table, the workbook, the charts in English and Chinese, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager

import sim
from sim.inputs import catalogue
from sim.inputs.chain import DEFAULT_CHAIN
from sim.inputs.errors import InputError
from sim.inputs.levers import LEVERS
from sim.outputs import labels
from sim.outputs.charts import COMPARISON_CHARTS, FONT_DIR, run_charts
from sim.outputs.compare import COMPARISON_COLUMNS
from sim.outputs.metrics import metric_catalogue
from sim.runs.compare import compare
from sim.runs.runner import run_scenario
from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

# 锂 (lithium) is a level-2 GB 2312 character, so the bundled subset lacks it until sim/outputs/fonts/make_subset.py
# adds it and the font is rebuilt; every other missing glyph still fails the tests (warnings are errors)


def _strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)


@pytest.fixture(scope="module")
def runs(short, tmp_path_factory):
    """A baseline and a low-price run of 2022-2024, saved as run directories."""
    root = tmp_path_factory.mktemp("runs")
    low = short.with_changes(name="low_price", carbonate_points=tuple((m, p * 0.6) for m, p in short.carbonate_points))
    base_result = run_scenario(short, replicates=3, progress=False)
    low_result = run_scenario(low, replicates=2, progress=False)
    return {
        "baseline": (base_result, base_result.save(root / "baseline", charts=False)),
        "low_price": (low_result, low_result.save(root / "low_price", charts=False)),
    }


@pytest.fixture(scope="module")
def comparison(runs, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "en"
    table = compare([runs["baseline"][1], runs["low_price"][1]], out, lang="en")
    return table, out


def test_comparison_csv_has_every_row_and_the_differences(runs, comparison):
    table, out = comparison
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv.columns) == COMPARISON_COLUMNS
    assert list(dict.fromkeys(csv["scenario"])) == ["baseline", "low_price"]
    base_summary, low_summary = runs["baseline"][0].summary, runs["low_price"][0].summary
    assert len(csv) == len(base_summary) + len(low_summary)
    base = csv[csv.scenario == "baseline"]
    assert (base["diff_mean"] == 0).all()
    key = ["year", "region", "segment", "metric"]
    low = csv[csv.scenario == "low_price"].merge(base_summary[[*key, "mean"]], on=key, suffixes=("", "_base"))
    assert np.allclose(low["diff_mean"], low["mean"] - low["mean_base"], rtol=1e-12, atol=1e-9)
    nonzero = low["mean_base"] != 0
    assert np.allclose(
        low.loc[nonzero, "diff_pct"], 100 * low.loc[nonzero, "diff_mean"] / low.loc[nonzero, "mean_base"].abs()
    )
    # a lower carbonate price lowers Suining's current-price value added
    va = low.query("region == 'suining' and segment == 'all' and metric == 'value_added' and year == 2023")
    assert float(va["diff_mean"].iloc[0]) < 0
    pd.testing.assert_frame_equal(csv, table.reset_index(drop=True), check_dtype=False)


def test_workbook_has_headline_difference_and_full_sheets(comparison):
    table, out = comparison
    book = openpyxl.load_workbook(out / "comparison.xlsx")
    assert book.sheetnames == ["Headline", "Difference", "Clusters", "Scoreboard", "Assumptions", "Comparison"]
    headline = [row for row in book["Headline"].iter_rows(values_only=True)]
    assert "Suining" in headline[0][0]
    assert headline[2][2::3][:3] == (2022, 2023, 2024)  # each year over its mean, P5 and P95
    assert headline[3][:8] == ("indicator", "scenario", "mean", "P5", "P95", "mean", "P5", "P95")
    indicators = [row[0] for row in headline[4:] if row[0]]
    for expected in (
        "value added, current prices (亿元)",
        "real value-added growth (comparable prices) (%)",
        "output — lithium salts (kt LCE)",
        "output — battery cells (GWh)",
        "share of national output — LFP cathode (%)",
        "employment (persons)",
        "profit (亿元)",
        "share of city GDP (%)",
        "contribution to city GDP growth (percentage points)",
        "policy support paid since 2022 (亿元)",
        "net for the city: local revenue less support, since 2022 (亿元)",
    ):
        assert expected in indicators
    # every mean has its P5 and P95 beside it, in order, and numbers are formatted
    sheet = book["Headline"]
    row = next(r for r in sheet.iter_rows(min_row=5) if r[0].value.startswith("value added, current"))
    mean, low, high = (c.value for c in row[2:5])
    assert low <= mean <= high
    assert row[2].number_format == "#,##0.00"
    assert sheet.freeze_panes == "C5" and sheet.auto_filter.ref.startswith("A4:")
    full = list(book["Comparison"].iter_rows(values_only=True))
    assert full[0][:3] == ("Scenario", "Scenario name", "Year") and "Difference from baseline" in full[0][11]
    assert full[0][13:15] == ("Difference from baseline, P5", "Difference from baseline, P95")
    assert len(full) == len(table) + 1
    assert book["Comparison"].freeze_panes == "A2" and book["Comparison"].auto_filter.ref == f"A1:O{len(table) + 1}"


def test_assumptions_sheet_says_what_was_compared(runs, comparison):
    _, out = comparison
    sheet = openpyxl.load_workbook(out / "comparison.xlsx")["Assumptions"]
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]}
    meta = runs["baseline"][0].meta
    assert rows["scenario (key)"] == ("baseline", "low_price")
    assert rows["name in Chinese"][0] == "基准情景"
    assert rows["description"][0] == meta["description"] and rows["description in Chinese"][0].startswith("2022")
    assert rows["master seed"] == (meta["seed"], meta["seed"]) and rows["replicates"] == (3, 2)
    assert rows["carbonate price mode"] == ("path", "path")
    assert rows["parameter file SHA-256"][0] == meta["parameter_file_sha256"]
    assert rows["code version"][0] == meta["version"] and rows["history years (data)"][0] == "2022–2024"


def test_differences_carry_bands_from_paired_replicates(runs, comparison):
    table, _ = comparison
    low = table[(table.scenario == "low_price") & (table.region == "suining")]
    assert low[["diff_p05", "diff_p95"]].notna().all().all()
    assert (low.diff_p05 <= low.diff_p95 + 1e-9).all()
    # the band is that of the replicate-by-replicate differences (same seeds: common random numbers)
    base_rep, low_rep = runs["baseline"][0].replicate_table(), runs["low_price"][0].replicate_table()
    key = ["year", "region", "segment", "metric"]
    row = low.query("segment == 'all' and metric == 'value_added' and year == 2024").iloc[0]
    pick = lambda frame: frame.set_index(key).loc[(2024, "suining", "all", "value_added")]  # noqa: E731
    diffs = (pick(low_rep)[["0", "1"]].astype(float) - pick(base_rep)[["0", "1"]].astype(float)).to_numpy()
    assert row.diff_p05 == pytest.approx(np.quantile(diffs, 0.05)) and row.diff_p95 == pytest.approx(
        np.quantile(diffs, 0.95)
    )
    base = table[(table.scenario == "baseline") & (table.region == "suining")]
    assert (base.diff_p05 == 0).all() and (base.diff_p95 == 0).all()


def test_cost_and_return_reads_revenue_gained_minus_support_paid(comparison):
    from sim.outputs.compare import cost_and_return

    table, _ = comparison
    fiscal = cost_and_return(table).set_index(["scenario", "metric"])
    for scenario in ("baseline", "low_price"):
        net = fiscal.loc[(scenario, "net_fiscal")]
        revenue = fiscal.loc[(scenario, "local_fiscal_revenue_cumulative")]
        support = fiscal.loc[(scenario, "support_cumulative")]
        assert net["mean"] == pytest.approx(revenue["mean"] - support["mean"])
        assert net["diff_mean"] == pytest.approx(revenue["diff_mean"] - support["diff_mean"])
        assert net["p05"] <= net["mean"] <= net["p95"] and net["unit"] == "亿元" and net["year"] == 2024


def test_charts_in_english(comparison):
    _, out = comparison
    expected = {f"{stem}{suffix}.png" for stem in COMPARISON_CHARTS for suffix in ("", "_diff", "_diff_final")}
    assert {p.name for p in (out / "charts").iterdir()} == expected | {"scoreboard.png", "compare_clusters.png"}
    assert all(p.stat().st_size > 10_000 for p in (out / "charts").iterdir())


def test_workbook_and_charts_in_chinese(runs, tmp_path):
    out = tmp_path / "zh"
    from sim.runs.executors import process_pool

    with process_pool(1) as pool:  # a worker process draws half the charts
        compare([runs["baseline"][1], runs["low_price"][1]], out, lang="zh", pool=pool)
    book = openpyxl.load_workbook(out / "comparison.xlsx")
    assert book.sheetnames == ["主要指标", "与基准差值", "产业集群", "记分牌", "假设与来源", "完整对比表"]
    headline = [row[0] for row in book["主要指标"].iter_rows(min_row=5, values_only=True) if row[0]]
    assert "增加值（现价）（亿元）" in headline and "产量 — 基础锂盐（万吨 LCE）" in headline
    assert next(book["完整对比表"].iter_rows(values_only=True))[:4] == ("情景", "情景名称", "年份", "地区")
    assert len(list((out / "charts").glob("*.png"))) == 3 * len(COMPARISON_CHARTS) + 2  # the scoreboard, clusters


def test_run_charts_in_chinese(runs, tmp_path):
    paths = run_charts(runs["baseline"][0].summary, tmp_path, "baseline", lang="zh")
    names = {p.name for p in paths}
    assert {"suining_output.png", "suining_value_added.png", "national_shares.png", "demand_output.png"} <= names
    assert all(p.stat().st_size > 10_000 for p in paths)


def test_one_run_alone_gets_level_charts_only(runs, tmp_path):
    compare([runs["baseline"][1]], tmp_path / "one")
    names = {p.name for p in (tmp_path / "one" / "charts").glob("*.png")}
    assert names == {f"{stem}.png" for stem in COMPARISON_CHARTS} | {"scoreboard.png", "compare_clusters.png"}


def test_the_catalogue_has_every_entry_in_every_language_and_every_metric():
    assert catalogue.missing() == []
    metrics = {m for _, _, m in metric_catalogue()} | {"pipeline_projects"}
    assert not [m for m in metrics if f"metric.{m}" not in catalogue.ENTRIES]
    assert catalogue.words("zh")["sheets"]["headline"] == "主要指标" and labels.text("en")["band"] == "P5–P95"


def _chinese_labels():
    yield from _strings(catalogue.words("zh"))
    yield from (stage.label("zh") for stage in DEFAULT_CHAIN)
    yield from (lever.label("zh") for lever in LEVERS)
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        scenario = sim.load_scenario(path)
        yield scenario.name_zh
        yield scenario.description_zh


def test_every_chinese_label_character_is_in_the_fonts():
    """Each character of the Chinese labels is in DejaVu Sans or in the bundled CJK subset."""
    bundled = set()
    for path in FONT_DIR.glob("*.[ot]tf"):
        bundled |= set(TTFont(path).getBestCmap())
    dejavu = set(TTFont(font_manager.findfont("DejaVu Sans", fallback_to_default=False)).getBestCmap())
    used = {c for text in _chinese_labels() for c in text}
    missing = sorted(c for c in used if ord(c) not in bundled | dejavu)
    assert not missing, f"characters missing from the fonts: {''.join(missing)}"


def test_api_compares_results_in_memory_like_directories(runs, comparison, tmp_path):
    table, _ = comparison
    in_memory = sim.compare_runs([runs["baseline"][0], runs["low_price"][0]])
    pd.testing.assert_frame_equal(in_memory.reset_index(drop=True), table.reset_index(drop=True), check_dtype=False)
    mixed = sim.compare_runs([runs["baseline"][0], runs["low_price"][1]], out_dir=tmp_path / "mixed")
    assert (tmp_path / "mixed" / "comparison.xlsx").is_file() and len(mixed) == len(table)


def test_the_same_scenario_twice_is_labelled_by_its_directory(runs, tmp_path):
    base_dir = runs["baseline"][1]
    copy = tmp_path / "baseline_again"
    copy.mkdir()
    for name in ("summary.csv", "meta.json"):
        (copy / name).write_bytes((base_dir / name).read_bytes())
    table = compare([base_dir, copy])
    assert list(dict.fromkeys(table["scenario"])) == ["baseline (baseline)", "baseline (baseline_again)"]
    assert (table["diff_mean"] == 0).all()


# --- bad input: a clear error naming the file, and nothing written --------------------------------------
def _broken_copy(run_dir: Path, tmp_path: Path, edit) -> Path:
    target = tmp_path / "broken"
    target.mkdir()
    for name in ("summary.csv", "meta.json"):
        (target / name).write_bytes((run_dir / name).read_bytes())
    edit(target)
    return target


def _set_cell(column, value):
    def edit(target):
        frame = pd.read_csv(target / "summary.csv")
        frame[column] = frame[column].astype(object)
        frame.loc[5, column] = value
        frame.to_csv(target / "summary.csv", index=False)

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: (t / "summary.csv").unlink(), "summary.csv is missing"),
        (lambda t: (t / "meta.json").unlink(), "meta.json is missing"),
        (lambda t: (t / "meta.json").write_text("{not json", encoding="utf-8"), "not valid JSON"),
        (lambda t: (t / "meta.json").write_text(json.dumps({"seed": 1}), encoding="utf-8"), "at key 'scenario'"),
        (
            lambda t: pd.read_csv(t / "summary.csv").drop(columns="p95").to_csv(t / "summary.csv", index=False),
            "missing column(s) p95",
        ),
        (_set_cell("mean", "lots"), "column 'mean' must hold numbers; line 7 has 'lots'"),
        (_set_cell("year", 2023.5), "column 'year' must hold whole years"),
        (_set_cell("region", "chengdu"), "column 'region' has 'chengdu'; allowed: suining, yibin"),
        (lambda t: (t / "summary.csv").write_text("", encoding="utf-8"), "not a readable CSV"),
    ],
)
def test_a_bad_run_directory_is_named_and_nothing_is_written(runs, tmp_path, edit, message):
    broken = _broken_copy(runs["baseline"][1], tmp_path, edit)
    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        compare([runs["baseline"][1], broken], out)
    assert message in err.value.message and str(broken) in err.value.message
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["broken"]


def test_the_output_may_not_replace_a_run(runs):
    base_dir = runs["baseline"][1]
    for out in (base_dir, base_dir.parent):
        with pytest.raises(InputError, match="would replace the run directory"):
            compare([base_dir, runs["low_price"][1]], out)
    assert (base_dir / "summary.csv").is_file()


# --- like with like ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def market_dir(market_baseline, tmp_path_factory):
    """baseline_market over 2022-2024, two replicates, as a run directory."""
    short = market_baseline.with_changes(end_month=35)
    result = run_scenario(short, replicates=2, progress=False)
    return result.save(tmp_path_factory.mktemp("market") / "baseline_market", charts=False)


def test_a_market_run_against_a_path_baseline_is_refused_naming_the_key(runs, market_dir, tmp_path):
    with pytest.raises(InputError) as err:
        compare([runs["baseline"][1], market_dir], tmp_path / "out")
    assert err.value.key == "price_mode" and "market mode" in err.value.message and "path mode" in err.value.message
    assert str(market_dir / "meta.json") in err.value.message and "--allow-mixed" in err.value.message
    assert not (tmp_path / "out").exists()


def test_another_parameter_file_is_refused(runs, tmp_path):
    other = _broken_copy(runs["low_price"][1], tmp_path, lambda t: None)
    meta = json.loads((other / "meta.json").read_text(encoding="utf-8"))
    meta["parameter_file_sha256"] = "0" * 64
    (other / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(InputError) as err:
        compare([runs["baseline"][1], other])
    assert err.value.key == "parameter_file_sha256"


def test_a_mixed_comparison_when_allowed_says_so_in_every_title_and_sheet(runs, market_dir, tmp_path, monkeypatch):
    import sim.outputs.charts as charts

    titles = []
    original = charts.save

    def keep_title(fig, path):
        titles.append(fig._suptitle.get_text().replace("\n", " "))
        return original(fig, path)

    monkeypatch.setattr(charts, "_save", keep_title)
    out = tmp_path / "mixed"
    compare([runs["baseline"][1], market_dir], out, allow_mixed=True)
    assert len(titles) == 3 * len(COMPARISON_CHARTS) + 1
    assert all("Mixed comparison: baseline_market in market mode against a baseline in path mode" in t for t in titles)
    book = openpyxl.load_workbook(out / "comparison.xlsx")
    for sheet in book:
        assert "Mixed comparison" in str(sheet["A2"].value), sheet.title
