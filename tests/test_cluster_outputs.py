"""The rival clusters in what a planner reads: the run's charts (where new capacity went, each cluster's share of
national output, Suining's share of new capacity), the comparison's chart and the workbook's clusters sheet.

The end-to-end tests run the baseline and `neighbours_bid` to 2026 with two replicates each and draw only the
clusters' charts (the other charts have their own tests), in English and Chinese.
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.inputs import catalogue as cat
from sim.inputs.clusters import cluster_keys
from sim.inputs.scenario import load_scenario, month_index
from sim.outputs import charts, cluster_charts, drawing
from sim.outputs.cluster_charts import pooled_share, project_flow
from sim.runs.compare import compare
from sim.runs.runner import run_scenario
from tests.conftest import SCENARIOS
from tests.test_charts import english_words

RUN_CHARTS = ("project_flow.png", "cluster_shares.png", "suining_win_rate.png")
CLUSTERS = cluster_keys()


# ---------------------------------------------------------------------------------------------------------------
# the tables the charts draw, on generated summaries
# ---------------------------------------------------------------------------------------------------------------
def _summary(capacity: np.ndarray, years: list[int], segment: str = "lfp_cathode") -> pd.DataFrame:
    """A summary's new-capacity rows: ``capacity[i, j]`` for cluster i in year j, the nation's their sum."""
    rows = []
    for j, year in enumerate(years):
        for i, cluster in enumerate(CLUSTERS):
            rows.append((year, cluster, capacity[i, j]))
        rows.append((year, "china", capacity[:, j].sum()))
    frame = pd.DataFrame(rows, columns=["year", "region", "mean"])
    return frame.assign(scenario="s", segment=segment, metric="new_capacity", unit="t/yr", p05=0.0, p50=0.0, p95=0.0)


capacities = st.lists(
    st.lists(st.floats(0.0, 1e6, allow_subnormal=False), min_size=4, max_size=4), min_size=len(CLUSTERS),
    max_size=len(CLUSTERS),
).map(np.array)  # fmt: skip


@settings(max_examples=20, deadline=None)
@given(capacity=capacities, drop=st.integers(0, len(CLUSTERS) - 1))
def test_project_flow_sums_to_the_nation_and_pooled_shares_partition_it(capacity, drop):
    years = [2025, 2026, 2027, 2028]
    summary = _summary(capacity, years)
    # a cluster missing a year's row counts 0 (and the nation's total is what was recorded)
    summary = summary.drop(summary.index[(summary.region == CLUSTERS[drop]) & (summary.year == 2026)])
    capacity = capacity.copy()
    capacity[drop, 1] = 0.0
    summary.loc[(summary.region == "china") & (summary.year == 2026), "mean"] = capacity[:, 1].sum()
    flow = project_flow(summary, "lfp_cathode", years)
    assert list(flow.columns) == list(CLUSTERS) and list(flow.index) == years and flow.attrs["unit"] == "t/yr"
    np.testing.assert_allclose(flow.sum(axis=1).to_numpy(), capacity.sum(axis=0), rtol=1e-12, atol=1e-6)
    shares = [pooled_share(summary, "lfp_cathode", years, c) for c in CLUSTERS]
    if capacity.sum() > 0:
        assert sum(shares) == pytest.approx(100.0, rel=1e-9)
        # the pooled share is a weighted mean of the years' shares: never outside them
        built = capacity.sum(axis=0) > 0
        yearly = 100.0 * capacity[0, built] / capacity[:, built].sum(axis=0)
        assert yearly.min() - 1e-9 <= shares[0] <= yearly.max() + 1e-9
    else:
        assert all(np.isnan(shares))


def test_windows_are_clipped_to_the_run():
    assert cluster_charts.window(range(2022, 2031), (2025, 2030)) == list(range(2025, 2031))
    assert cluster_charts.window(range(2022, 2025), (2025, 2030)) == [2024]  # a short run: its last year
    assert cluster_charts.span([2025, 2026, 2030]) == "2025–2030" and cluster_charts.span([2024]) == "2024"


def test_every_cluster_has_a_short_name_in_both_languages():
    for lang in cat.LANGUAGES:
        names = [cat.cluster(lang, key) for key in CLUSTERS]
        assert len(set(names)) == len(names) and all(0 < len(n) <= 16 for n in names)
    assert [cat.cluster("zh", k) for k in CLUSTERS] == ["遂宁", "宜宾", "宜春", "德阳-阿坝", "眉山", "常州", "全国其他"]


def test_a_summary_without_cluster_rows_gets_no_cluster_charts(tmp_path):
    summary = _summary(np.ones((len(CLUSTERS), 2)), [2025, 2026])
    common = {"scenario": "s", "lang": "en", "history": [], "chain": charts.DEFAULT_CHAIN}
    assert len(cluster_charts.run_jobs(summary, tmp_path, common)) == 3
    assert cluster_charts.run_jobs(summary[summary.region == "china"], tmp_path, common) == []


# ---------------------------------------------------------------------------------------------------------------
# end to end: a run directory and a comparison
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(baseline, tmp_path_factory):
    """The baseline and neighbours_bid to 2026, two replicates each, saved as run directories (no charts)."""
    end = month_index("2026-12")
    bid = load_scenario(SCENARIOS / "neighbours_bid.toml").with_changes(end_month=end)
    root = tmp_path_factory.mktemp("cluster_runs")
    out = {}
    for scenario in (baseline.with_changes(end_month=end), bid):
        result = run_scenario(scenario, replicates=2, progress=False)
        out[scenario.name] = (result, result.save(root / scenario.name, charts=False))
    return out


@pytest.fixture(scope="module")
def drawn(runs, tmp_path_factory):
    """The baseline's run directory saved with its charts in English and Chinese, the comparison with
    neighbours_bid written in English (its workbook takes a while) and its clusters' chart drawn in Chinese too;
    only the clusters' charts are drawn: (run directories, comparison directory, figures drawn as (lang, file,
    figure, texts outside it))."""
    original_draw, original_save = charts.draw_all, drawing._save
    figures, current = [], {"lang": "en"}

    def only_clusters(jobs, pool=None, meanwhile=None):
        mine = [job for job in jobs if job[0].__module__ == cluster_charts.__name__]
        return original_draw(mine, pool, meanwhile)

    def keep(fig, path):
        drawing.layout(fig)
        figures.append((current["lang"], path.name, fig, drawing.overflowing_text(fig)))
        return original_save(fig, path)

    patch = pytest.MonkeyPatch()
    patch.setattr(charts, "draw_all", only_clusters)
    patch.setattr(drawing, "_save", keep)
    root = tmp_path_factory.mktemp("cluster_drawn")
    result = runs["baseline"][0]
    try:
        run_dirs = {}
        for lang in ("en", "zh"):
            current["lang"] = lang
            run_dirs[lang] = result.save(root / f"run-{lang}", charts=True, lang=lang)
        current["lang"] = "en"
        comparison = root / "cmp-en"
        compare([runs["baseline"][1], runs["neighbours_bid"][1]], comparison, lang="en")
        table = pd.read_csv(comparison / "comparison.csv")
        names = {"baseline": "基准情景", "neighbours_bid": "周边城市加码竞争"}
        current["lang"] = "zh"
        # as a mixed comparison draws it: the title carries what is mixed
        mode = cat.say("zh", "mixed_mode", scenario=names["neighbours_bid"], mode="市场出清", base_mode="价格路径")
        note = cat.say("zh", "mixed", what=mode)
        out = root / "cmp-zh" / "charts"
        charts.draw_all(cluster_charts.comparison_jobs(table, out, "zh", names=names, history=[2022], note=note))
    finally:
        patch.undo()
    return run_dirs, comparison, figures


@pytest.mark.slow
def test_a_run_directory_has_the_cluster_charts_in_both_languages(drawn):
    run_dirs, _, figures = drawn
    for lang, directory in run_dirs.items():
        for name in RUN_CHARTS:
            assert (directory / "charts" / name).stat().st_size > 10_000, (lang, name)
    assert sorted((lang, name) for lang, name, _, _ in figures if name in RUN_CHARTS) == sorted(
        (lang, name) for lang in ("en", "zh") for name in RUN_CHARTS
    )


@pytest.mark.slow
def test_every_text_of_the_cluster_charts_fits_its_figure(drawn):
    _, _, figures = drawn
    assert len(figures) == 8  # three of a run in two languages, a comparison's in two
    assert not [(lang, name, outside) for lang, name, _, outside in figures if outside]


@pytest.mark.slow
def test_chinese_cluster_charts_hold_no_english(drawn):
    _, _, figures = drawn
    english = {}
    for lang, name, fig, _ in figures:
        texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if str(t.get_text()).strip()]
        words = [w for t in texts for w in english_words(t)]
        if lang == "zh" and words:
            english[name] = sorted(set(words))
        if lang == "zh":
            assert any("德阳-阿坝" in t for t in texts) or name == "suining_win_rate.png", name
    assert not english


@pytest.mark.slow
def test_project_flow_bars_stack_to_the_nations_new_capacity(runs, drawn):
    """The bars drawn, read back from the figure: each year's stack is the nation's new capacity of that segment
    (mean over replicates, in the unit shown), Suining's at the bottom."""
    _, _, figures = drawn
    summary = runs["baseline"][0].summary
    fig = next(fig for lang, name, fig, _ in figures if (lang, name) == ("en", "project_flow.png"))
    stages = cluster_charts.cluster_stages(summary)
    years = cluster_charts.window(summary["year"], cluster_charts.FLOW_YEARS)
    assert years == [2024, 2025, 2026]
    for ax, stage in zip(fig.axes, stages, strict=True):
        stacks = np.zeros(len(years))
        bottoms = []
        for container in ax.containers:
            heights = np.array([bar.get_height() for bar in container])
            bottoms.append(np.array([bar.get_y() for bar in container]))
            stacks += heights
        assert len(ax.containers) == len(CLUSTERS) and (bottoms[0] == 0).all()
        rows = summary[(summary.region == "china") & (summary.metric == "new_capacity") & (summary.segment == stage)]
        nation = rows.set_index("year").loc[years, "mean"].to_numpy()
        factor, _ = cat.display_unit("en", str(rows["unit"].iloc[0]), float(nation.max()))
        np.testing.assert_allclose(stacks, nation * factor, rtol=1e-9)
        assert nation.sum() > 0


@pytest.mark.slow
def test_compare_draws_the_clusters_and_the_workbook_has_their_sheet(runs, drawn):
    _, directory, figures = drawn
    assert (directory / "charts" / "compare_clusters.png").stat().st_size > 10_000
    table = pd.read_csv(directory / "comparison.csv")
    assert set(CLUSTERS) <= set(table.region)
    book = openpyxl.load_workbook(directory / "comparison.xlsx", read_only=True)
    assert book.sheetnames.index("Clusters") == 2, book.sheetnames  # after the headline and the differences
    rows = [r for r in book["Clusters"].iter_rows(min_row=5, values_only=True) if r and r[0]]
    indicators = {r[0] for r in rows}
    # each cluster's three figures for each segment, for both scenarios
    assert len(rows) == len(indicators) * 2 == len(CLUSTERS) * 3 * 3 * 2
    found = next(r for r in rows if r[:2] == ("Suining: share of the nation's new capacity — LFP cathode (%)",
                                              "neighbours_bid"))  # fmt: skip
    expected = table[
        (table.scenario == "neighbours_bid") & (table.region == "suining") & (table.segment == "lfp_cathode")
        & (table.metric == "new_capacity_share") & (table.year == 2026)
    ].iloc[0]  # fmt: skip
    mean, low, high = found[2 + 3 * 4 : 5 + 3 * 4]  # 2026: the fifth year, its mean, P5 and P95
    assert (mean, low, high) == pytest.approx((expected["mean"], expected.p05, expected.p95))
    book.close()
    drawn_here = {lang: fig for lang, name, fig, _ in figures if name == "compare_clusters.png"}
    assert set(drawn_here) == {"en", "zh"} and "混合比较" in drawn_here["zh"]._suptitle.get_text()


@pytest.mark.slow
def test_the_chinese_clusters_sheet_is_chinese(runs):
    from sim.outputs.compare import cluster_tables, comparison_table

    summaries = [(name, result.summary) for name, (result, _) in runs.items()]
    names = {"baseline": "基准情景", "neighbours_bid": "周边城市加码竞争"}
    frame = cluster_tables(comparison_table(summaries), "zh", names)
    assert list(frame.index.names) == ["指标", "情景"] and list(frame.columns.names) == ["年份", "统计量"]
    assert "德阳-阿坝：占全国新增产能比重 — 磷酸铁锂正极（%）" in frame.index.get_level_values(0)
    assert "全国其他：新增产能（当年订单） — 基础锂盐（万吨 LCE/年）" in frame.index.get_level_values(0)
    assert not [w for key in frame.index for text in key for w in english_words(text)]
    assert set(frame.index.get_level_values(1)) == set(names.values())
