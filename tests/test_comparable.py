"""Like with like, without running anything: what `check_comparable` refuses, allows and says, in both languages;
and the colours of up to eight scenarios stay apart."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.inputs.errors import InputError
from sim.outputs.charts import scenario_colours, scenario_styles
from sim.outputs.compare import check_comparable

YEARS = [2022, 2023, 2024]


def _run(label: str, **meta) -> tuple[str, pd.DataFrame, dict, str]:
    base = {"scenario": label, "price_mode": "path", "parameter_file_sha256": "a" * 64, "history_years": YEARS,
            "seed": 1, "replicates": 20}  # fmt: skip
    return label, pd.DataFrame({"year": YEARS}), {**base, **meta}, f"runs/{label}"


@pytest.mark.parametrize(
    "meta,key",
    [
        ({"price_mode": "market"}, "price_mode"),
        ({"parameter_file_sha256": "b" * 64}, "parameter_file_sha256"),
        ({"history_years": [2022, 2023]}, "history_years"),
    ],
)
def test_unlike_runs_are_refused_naming_the_key(meta, key):
    with pytest.raises(InputError) as err:
        check_comparable([_run("baseline"), _run("other", **meta)])
    assert err.value.key == key and "runs/other" in err.value.message and "allow" in err.value.message


def test_a_mixed_comparison_allowed_carries_its_note_in_both_languages():
    warnings, note = check_comparable(
        [_run("baseline"), _run("storage_boom", price_mode="market", name_zh="储能需求高增长")], allow_mixed=True
    )
    assert warnings == []
    assert note["en"] == "Mixed comparison: storage_boom in market mode against a baseline in path mode"
    assert note["zh"] == "混合比较：储能需求高增长为市场出清模式，基准为价格路径模式"


def test_like_runs_pass_and_sampling_differences_are_warned_in_the_language_asked():
    assert check_comparable([_run("baseline"), _run("low_price")]) == ([], {})
    warnings, note = check_comparable([_run("baseline"), _run("low_price", replicates=5)], lang="zh")
    assert note == {} and len(warnings) == 1 and "模拟次数" in warnings[0]
    with pytest.raises(InputError, match="covers 2022-2023"):
        check_comparable([_run("baseline"), ("short", pd.DataFrame({"year": [2022, 2023]}), {}, "runs/short")])


def test_eight_scenarios_keep_distinct_colours_and_styles():
    names = [f"s{i}" for i in range(8)]
    colours, styles = scenario_colours(names), scenario_styles(names)
    assert len(set(colours.values())) == 8
    assert len({(colours[n], styles[n]) for n in names}) == 8
