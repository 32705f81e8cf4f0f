"""What the planner reads, at a glance: every chart's text fits its figure, and a Chinese output holds no English.

Charts, the workbook and the command line's messages are drawn or written in English and Chinese from short
runs of a path-mode and a market-mode scenario; every text artist of every figure must lie inside the figure
(matplotlib reports each one's extent after drawing), and in Chinese every word of Latin letters must be one a
Chinese reader writes that way (units such as GWh and LCE, P5-P95, GDP, file names).
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import openpyxl
import pytest

import sim.outputs.charts as charts
import sim.outputs.cluster_charts as cluster_charts
from sim.cli import main
from sim.inputs.data import default_data
from sim.outputs.charts import overflowing_text, run_charts
from sim.runs.compare import compare
from sim.runs.runner import run_scenario

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

# words written in Latin letters in Chinese text: units, statistics, file names, hashes' labels
LATIN_IN_CHINESE = {"GWh", "LCE", "Wh", "GDP", "P5", "P50", "P95", "SHA", "UTC", "meta", "json", "csv", "xlsx", "png"}


def english_words(text: str, allowed: set[str] = frozenset()) -> list[str]:
    """Words of two or more Latin letters in ``text`` that a Chinese text would not hold."""
    text = re.sub(r"\S*[/\\]\S*", " ", str(text))  # paths
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]+", text) if w not in LATIN_IN_CHINESE | set(allowed)]


@pytest.fixture(scope="module")
def runs(short, market_baseline, tmp_path_factory):
    """Path and market runs of 2022-2024 as run directories, each with its Chinese name."""
    root = tmp_path_factory.mktemp("charts")
    low = short.with_changes(
        name="low_price", name_zh="低价持续", carbonate_points=tuple((m, p * 0.6) for m, p in short.carbonate_points)
    )
    market = market_baseline.with_changes(end_month=35)
    out = {}
    for scenario, count in ((short, 2), (low, 2), (market, 2)):
        result = run_scenario(scenario, replicates=count, progress=False)
        out[scenario.name] = (result, result.save(root / scenario.name, charts=False))
    return out


@pytest.fixture(scope="module")
def drawn(runs, tmp_path_factory):
    """Every chart of a run (path and market mode) and of comparisons (like with like and mixed), in both
    languages: (language, file, figure texts, texts outside the figure)."""
    found = []

    def check(fig, path):
        charts.layout(fig)
        outside = overflowing_text(fig)
        texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if str(t.get_text()).strip()]
        found.append((lang, path.name, texts, outside))
        plt.close(fig)  # drawn and measured: the PNG itself is written by the runs of other tests
        return path

    patch = pytest.MonkeyPatch()
    patch.setattr(charts, "_save", check)
    # the rival clusters' charts are checked the same way on a longer run (tests/test_cluster_outputs.py)
    patch.setattr(cluster_charts, "run_jobs", lambda *args, **kwargs: [])
    patch.setattr(cluster_charts, "comparison_jobs", lambda *args, **kwargs: [])
    root = tmp_path_factory.mktemp("drawn")
    try:
        for lang in ("en", "zh"):
            for name, (result, _) in runs.items():
                if name == "low_price":  # the same charts as the baseline's: drawn for the comparison only
                    continue
                supply = result.supply if result.scenario.price_mode == "market" else None
                run_charts(
                    result.summary, root / f"{name}-{lang}", result.scenario.label(lang), lang, supply=supply,
                    city=default_data().city, history=result.meta["history_years"],
                )  # fmt: skip
            dirs = [runs[n][1] for n in ("baseline", "low_price")]
            compare(dirs, root / f"cmp-{lang}", lang=lang)
            compare([dirs[0], runs["baseline_market"][1]], root / f"mixed-{lang}", lang=lang, allow_mixed=True)
    finally:
        patch.undo()
    return found, root


def test_every_chart_text_fits_its_figure(drawn):
    found, _ = drawn
    assert len(found) > 60
    cut = [(lang, name, outside) for lang, name, _, outside in found if outside]
    assert not cut


def test_chinese_charts_hold_no_english(drawn):
    found, _ = drawn
    english = {}
    for lang, name, texts, _ in found:
        if lang == "zh":
            # supply cohorts are named by their data keys (sim/inputs/data/supply_cohorts.csv) on the cost curve
            words = [w for t in texts for w in english_words(t)]
            if name == "cost_curve.png":
                words = []
            if words:
                english[name] = sorted(set(words))
    assert not english


def test_chinese_workbook_holds_no_english(drawn):
    _, root = drawn
    for folder in ("cmp-zh", "mixed-zh"):
        book = openpyxl.load_workbook(root / folder / "comparison.xlsx")
        english = {}
        for sheet in book:
            assert not english_words(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                # the assumptions sheet quotes each run's own records beside its Chinese item names: English
                # descriptions, file names, hashes and versions are data there, not words of the workbook
                # and the full table's first column is the scenario's key, as in comparison.csv
                cells = row[:1] if sheet.title == "假设与来源" else row[1:] if sheet.title == "完整对比表" else row
                for value in cells:
                    if isinstance(value, str) and english_words(value):
                        english.setdefault(sheet.title, set()).update(english_words(value))
        assert not english, folder


def test_command_line_messages_in_chinese(runs, tmp_path, capsys):
    from tests.conftest import BASELINE

    out = tmp_path / "run"
    assert main(["run", str(BASELINE), "--replicates", "1", "--out", str(out), "--no-charts", "--lang", "zh"]) == 0
    said = capsys.readouterr().out
    assert "已写入" in said and not english_words(said.replace(str(out), ""))
    dirs = [str(runs[n][1]) for n in ("baseline", "low_price")]
    assert main(["compare", *dirs, "--out", str(tmp_path / "cmp"), "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "低价持续" in out and "基准情景" in out
    assert not english_words(out.replace(str(tmp_path / "cmp"), ""), {"comparison", "charts"})
    # a refusal speaks the command's language too, naming the file and the key
    mixed = [str(runs[n][1]) for n in ("baseline", "baseline_market")]
    assert main(["compare", *mixed, "--out", str(tmp_path / "mixed"), "--lang", "zh"]) == 2
    refused = capsys.readouterr().err
    assert "市场出清" in refused and "price_mode" in refused
    commands = {"lithium", "sim", "compare", "price_mode", "baseline_market", "allow", "mixed", "allow_mixed", "True"}
    assert not english_words(refused, commands)
