"""The workbench's work apart from its page: controls generated from the declarations, scenarios built from the
controls through the checked API, runs cached by fingerprint, links that hold a view, and the downloads (the
scenario as TOML that `lithium-sim check` accepts, the workbook, the run directories)."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import openpyxl
import pytest

from sim.api import LEVERS, InputError, load_scenario, load_scenario_text, month_index
from sim.app import workbench as wb
from sim.app.scenario_toml import scenario_toml
from sim.cli import main
from sim.discovery.explore import SCENARIO_INPUTS, project_inputs
from sim.inputs.declare import Param
from sim.inputs.levers import Lever
from tests.conftest import LIBRARY, SCENARIOS

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`


@pytest.fixture(scope="module")
def start():
    return wb.load_library("baseline")


@pytest.fixture(scope="module")
def attraction():
    return wb.load_library("project_attraction")


def test_every_lever_field_and_uncertain_input_has_a_control(attraction):
    keys = {c.key for c in wb.controls(attraction)}
    for lever in LEVERS:
        assert f"{lever.name}.from" in keys
        for decl in (*lever.fields, *lever.yearly):
            assert f"{lever.name}.{decl.name}" in keys
    assert {u.name for u in SCENARIO_INPUTS} <= keys
    assert {u.name for u in project_inputs(attraction)} <= keys and "end" in keys and "price_mode" in keys


def test_controls_carry_the_declarations_labels_units_and_ranges(start):
    by_key = {c.key: c for c in wb.controls(start)}
    for lever in LEVERS:
        for decl in lever.fields:
            control = by_key[f"{lever.name}.{decl.name}"]
            assert (control.low, control.high, control.integer) == (decl.low, decl.high, decl.integer)
            assert control.label("en") == decl.label("en") and control.label("zh") == decl.label("zh")
            assert control.unit("en") == decl.unit and control.read(start) == decl.default
    assert by_key["price_level"].read(start) == start.price_revert_level
    assert by_key["energy_support.cost_cut"].label("zh") == "能源成本降幅"


def test_a_new_lever_appears_without_code_for_it(start, monkeypatch):
    extra = Lever(
        "water_support",
        {"en": "Water price support", "zh": "水价支持"},
        "an imagined lever",
        fields=(
            Param("cut", 0.0, "fraction of water cost", 0.0, 0.4, "why", label_en="water cut", label_zh="水价降幅"),
        ),
    )
    monkeypatch.setattr(wb, "LEVERS", (*LEVERS, extra))
    by_key = {c.key: c for c in wb.controls(start)}
    control = by_key["water_support.cut"]
    assert control.group == "water_support" and control.high == 0.4 and control.label("zh") == "水价降幅"
    assert wb.lever_labels("zh")["water_support"] == "水价支持"


def test_controls_check_their_values(start):
    by_key = {c.key: c for c in wb.controls(start)}
    assert by_key["energy_support.cost_cut"].check("0.25") == 0.25
    for bad in ("0.9", "-1", "nan", "x", None):
        with pytest.raises(InputError) as err:
            by_key["energy_support.cost_cut"].check(bad)
        assert err.value.key == "energy_support.cost_cut" and "from 0 to 0.5" in err.value.message
    with pytest.raises(InputError, match="choose one of path, market"):
        by_key["price_mode"].check("guess")
    with pytest.raises(InputError, match="whole number"):
        by_key["land_efficiency.exit_after_d_years"].check(2.5)


def test_building_a_scenario_goes_through_the_declarations(start):
    assert wb.build(start, {}) is start
    assert wb.build(start, {"energy_support.cost_cut": 0.0}) is start  # the scenario's own value: no change
    built = wb.build(
        start,
        {"energy_support.cost_cut": 0.2, "tax_relief.amount": 4.0, "tax_relief.from": 2027, "price_level": 150_000.0,
         "demand_growth": 1.2, "end": 2028},
    )  # fmt: skip
    assert built.name == "baseline-workbench" and built.years[-1] == 2028
    assert built.policy.value("energy_support", "cost_cut") == 0.2
    assert built.policy.start("energy_support") == month_index("2026-01")
    assert built.policy.start("tax_relief") == month_index("2027-01")
    assert built.policy.setting("tax_relief").yearly["amount"] == {2027: 4.0, 2028: 4.0}
    assert built.price_revert_level == 150_000.0
    assert wb.build(start, {"end": 2026}).name == "baseline"  # a shorter run of the same scenario
    with pytest.raises(InputError):
        wb.build(start, {"energy_support.cost_cut": 0.9})
    with pytest.raises(InputError, match="unknown control"):
        wb.build(start, {"free_money": 1.0})


def test_a_shorter_run_leaves_out_what_would_start_after_it(attraction):
    short = wb.build(attraction, {"end": 2026})
    assert short.years[-1] == 2026
    assert all(p.online <= short.end_month for p in short.policy.projects)
    assert len(short.policy.projects) < len(attraction.policy.projects)


def test_project_probabilities_are_controls(attraction):
    name = attraction.policy.projects[1].name
    built = wb.build(attraction, {f"project:{name}": 0.9})
    assert built.policy.projects[1].probability == 0.9
    assert [p.probability for i, p in enumerate(built.policy.projects) if i != 1] == [
        p.probability for i, p in enumerate(attraction.policy.projects) if i != 1
    ]


def test_a_link_holds_the_view():
    view = wb.View(scenario="policy_package", values={"energy_support.cost_cut": 0.2, "price_mode": "market"},
                   replicates=4, lang="zh", tab=1)  # fmt: skip
    query = wb.encode_query(view)
    back, problems = wb.decode_query(query)
    assert problems == [] and back == view
    assert wb.encode_query(wb.View()) == ""
    uploaded = wb.View(uploaded=(SCENARIOS / "low_price.toml").read_text(encoding="utf-8"), uploaded_name="mine.toml")
    back, problems = wb.decode_query(wb.encode_query(uploaded))
    assert problems == [] and back.uploaded == uploaded.uploaded and back.start().name == "low_price"


def test_a_bad_link_still_opens_and_says_what_it_ignored():
    view, problems = wb.decode_query("scenario=nope&energy_support.cost_cut=9&foo=1&lang=zh&replicates=x&toml=%%%")
    assert view.lang == "zh" and view.values == {} and view.uploaded is None
    text = " | ".join(problems)
    assert "energy_support.cost_cut" in text and "foo" in text and "replicates" in text
    view, problems = wb.decode_query("toml=" + wb._pack('name = "x"\n'))
    assert view.uploaded is None and any("at key" in p or "required" in p for p in problems)
    view, problems = wb.decode_query("x" * (wb.MAX_QUERY + 1))
    assert problems and view == wb.View()


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_the_scenario_written_back_is_the_scenario(path):
    scenario = load_scenario(path)
    again = load_scenario_text(scenario_toml(scenario), name="downloaded.toml")

    def held(s):
        return dataclasses.replace(s, source=None, source_sha256=None, lineage=(), parameter_file=None,
                                   parameter_file_sha256=None)  # fmt: skip

    assert repr(held(again)) == repr(held(scenario))


def test_a_workbench_scenario_downloads_as_a_file_check_accepts(start, tmp_path, capsys):
    built = wb.build(start, {"energy_support.cost_cut": 0.15, "tax_relief.amount": 2.0, "demand_growth": 0.8})
    built = dataclasses.replace(built, description='quotes " and \\ and 中文 and a\ttab')
    path = tmp_path / "mine.toml"
    path.write_text(scenario_toml(built, header="from the workbench"), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "ok (scenario 'baseline-workbench'" in capsys.readouterr().out
    loaded = load_scenario(path)
    assert loaded.policy.value("energy_support", "cost_cut") == 0.15
    assert loaded.battery_growth == built.battery_growth and loaded.description == built.description


def test_runs_are_cached_by_fingerprint(start):
    cache = wb.RunCache()
    scenario = wb.build(start, {"end": 2024, "energy_support.cost_cut": 0.1})
    seen = []
    base, scen = wb.run_pair(scenario, 2, cache=cache, progress=seen.append)
    assert cache.runs_made == 2 and seen[-1] == 1.0
    again = wb.run_pair(wb.build(start, {"end": 2024, "energy_support.cost_cut": 0.1}), 2, cache=cache)
    assert cache.runs_made == 2 and again[0] is base and again[1] is scen  # same inputs: no rerun
    wb.run_pair(wb.build(start, {"end": 2024, "energy_support.cost_cut": 0.2}), 2, cache=cache)
    assert cache.runs_made == 3  # the baseline was reused
    table = wb.comparison(base, scen)
    diff = wb.differences(table, [2023, 2024])
    assert set(diff.year) == {2023, 2024} and {"baseline", "scenario", "diff_mean"} <= set(diff.columns)
    assert base.scenario.name == "baseline" and base.scenario.years == scenario.years
    reseeded = wb.baseline_for(scenario.with_changes(seed=7))
    assert reseeded.seed == 7 and reseeded.name == "baseline"  # the same replicate draws on both sides


def test_downloads_hold_the_workbook_and_the_run_directories(start, tmp_path):
    base, scen = wb.run_pair(wb.build(start, {"end": 2024, "investment_support.capex_subsidy": 0.2}), 2)
    book = openpyxl.load_workbook(io.BytesIO(wb.workbook(base, scen, "zh")), read_only=True)
    assert "主要指标" in book.sheetnames
    book.close()
    archive = zipfile.ZipFile(io.BytesIO(wb.runs_zip(base, scen, "en", toml="name = 'x'\n")))
    names = set(archive.namelist())
    for run in ("baseline", "baseline-workbench"):
        assert {f"{run}/summary.csv", f"{run}/meta.json"} <= names
    assert "baseline-workbench.toml" in names
