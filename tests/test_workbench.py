"""The workbench's work apart from its page: controls generated from the declarations, scenarios built from the
controls through the checked API, runs cached by fingerprint, links that hold a view, and the downloads (the
scenario as TOML that `lithium-sim check` accepts, the workbook, the run directories)."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile

import openpyxl
import pytest

from sim.api import LEVERS, InputError, load_scenario, load_scenario_text, month_index
from sim.app import workbench as wb
from sim.app.scenario_toml import scenario_toml
from sim.cli import main
from sim.discovery.explore import SCENARIO_INPUTS, project_inputs
from sim.inputs.clusters import default_clusters
from sim.inputs.declare import Param
from sim.inputs.levers import LEVER_BY_NAME, Lever
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


def test_controls_carry_the_declarations_labels_units_ranges_explanations_and_sources(start):
    by_key = {c.key: c for c in wb.controls(start)}
    for lever in LEVERS:
        for decl in (*lever.fields, *lever.yearly):
            control = by_key[f"{lever.name}.{decl.name}"]
            assert (control.low, control.integer) == (decl.low, decl.integer) and control.high <= decl.high
            assert control.label("en") == decl.label("en") and control.label("zh") == decl.label("zh")
            assert control.units["en"].startswith(decl.unit)
            assert control.explain("en") == decl.reason and control.source_text("en") == lever.report
            # every shipped lever explains itself and cites its source in Chinese too
            assert control.explain("zh") != decl.reason and control.source_text("zh") != lever.report
            if decl in lever.fields:
                assert control.read(start) == decl.default
    for decl in SCENARIO_INPUTS:
        assert by_key[decl.name].explain("zh") != decl.reason
    assert by_key["price_level"].read(start) == start.price_revert_level
    assert by_key["energy_support.cost_cut"].label("zh") == "能源成本降幅"
    assert by_key["energy_support.cost_cut"].unit("en") == "% of energy cost"


def test_support_amounts_are_bounded_by_what_the_city_can_pay(start):
    limit, year, revenue = wb.city_support_bound()
    assert limit == pytest.approx(wb.SUPPORT_SHARE_OF_REVENUE * revenue) and year >= 2023 and limit < 1000
    control = {c.key: c for c in wb.controls(start)}["tax_relief.amount"]
    assert control.high == pytest.approx(limit)
    assert f"{revenue:g}" in control.bound["en"] and "city.csv" in control.bound["en"] and control.bound["zh"]
    with pytest.raises(InputError, match="tax_relief.amount|from 0 to"):
        control.check(limit + 1)
    assert wb.build(start, {"tax_relief.amount": limit}).policy.setting("tax_relief").yearly["amount"]


def test_price_controls_are_idle_in_market_mode_with_the_reason(start):
    by_key = {c.key: c for c in wb.controls(start)}
    market = wb.build(start, {"price_mode": "market"})
    for key in ("price_level", "price_volatility"):
        assert by_key[key].acts(start) and not by_key[key].acts(market)
        assert "market mode" in by_key[key].idle["en"] and "市场模式" in by_key[key].idle["zh"]
    assert by_key["demand_growth"].acts(market) and by_key["energy_support.cost_cut"].acts(market)


def test_values_are_formatted_for_reading(start):
    assert [wb.format_number(v) for v in (90000.0, 269.43, -0.00766, 0.2)] == ["90,000", "269", "-0.01", "0.20"]
    by_key = {c.key: c for c in wb.controls(start)}
    assert by_key["price_level"].display(90000.0) == "90,000"
    assert by_key["energy_support.cost_cut"].display(0.2) == "20%"
    assert by_key["price_volatility"].display(0.08) == "8%"
    assert by_key["end"].display(2030) == "2030"


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
    assert wb.encode_query(wb.View(scenario="baseline")) == "scenario=baseline"
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


def test_a_market_mode_scenario_is_read_against_the_market_mode_baseline(start):
    market = wb.build(start, {"price_mode": "market", "end": 2024})
    base = wb.baseline_for(market)
    assert base.name == "baseline_market" and base.price_mode == "market" and base.years == market.years
    path = wb.baseline_for(wb.build(start, {"end": 2024, "energy_support.cost_cut": 0.1}))
    assert path.name == "baseline" and path.price_mode == "path"
    storm = wb.load_library("storage_boom")
    assert storm.price_mode == "market" and wb.baseline_for(storm).name == "baseline_market"
    for name in wb.library():  # every library scenario, like with like
        scenario = wb.load_library(name)
        assert wb.baseline_for(scenario).price_mode == scenario.price_mode


def test_the_first_view_is_the_policy_package_against_the_baseline():
    view, problems = wb.decode_query("")
    assert view.scenario == wb.DEFAULT_SCENARIO == "policy_package" and not problems
    assert view.start().name != wb.baseline_for(view.start()).name


def test_cost_beside_benefit_from_the_summary(start):
    package = wb.build(wb.load_library("policy_package"), {"end": 2025})
    base, scen = wb.run_pair(package, 2)
    money = wb.fiscal(base, scen, 2025)

    def total(result, metric):
        s = result.summary
        return s[(s.region == "suining") & (s.segment == "all") & (s.metric == metric)]["mean"].sum()

    assert money["support_extra"] == pytest.approx(total(scen, "support") - total(base, "support"))
    assert money["support_extra"] > 0  # the package pays relief from 2024
    gain = total(scen, "local_fiscal_revenue") - total(base, "local_fiscal_revenue")
    assert money["revenue_gain"] == pytest.approx(gain)
    assert money["net"] == pytest.approx(gain - money["support_extra"])
    net_rows = wb.with_net_fiscal(scen.summary).query("metric == 'net_fiscal'").sort_values("year")
    yearly = scen.summary.query("region == 'suining' and segment == 'all'")
    by_year = (
        yearly[yearly.metric == "local_fiscal_revenue"].set_index("year")["mean"]
        - yearly[yearly.metric == "support"].set_index("year")["mean"]
    )
    assert net_rows["mean"].to_numpy() == pytest.approx(by_year.sort_index().cumsum().to_numpy())
    diff = wb.differences(wb.comparison(base, scen), [2025])
    assert {"support", "local_fiscal_revenue", "net_fiscal"} <= set(diff.metric)
    assert "support" in wb.SCOREBOARD_ROWS and "net_fiscal" in wb.SCOREBOARD_ROWS


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


# ---------------------------------------------------------------------------------------------------------
# a neighbour's levers
# ---------------------------------------------------------------------------------------------------------
def test_a_neighbours_levers_are_controls_bounded_by_the_declarations(start):
    by_key = {c.key: c for c in wb.controls(start)}
    assert wb.neighbours() == ("yibin", "yichun", "deyang_aba", "meishan", "changzhou")
    choice = by_key[wb.NEIGHBOUR]
    assert choice.kind == "choice" and choice.choices == wb.neighbours() and choice.read(start) == "yibin"
    assert choice.choice_label("deyang_aba", "zh") == "德阳-阿坝" and choice.choice_label("yibin", "en") == "Yibin"
    for cluster in wb.neighbours():
        assert by_key[f"{cluster}.from"].kind == "year" and by_key[f"{cluster}.from"].read(start) == 2026
        for lever, name in wb.NEIGHBOUR_FIELDS:
            decl = LEVER_BY_NAME[lever].field(name)
            control = by_key[f"{cluster}.{lever}.{name}"]
            assert (control.low, control.high, control.integer) == (decl.low, decl.high, decl.integer)
            assert control.cluster == cluster and control.group == wb.NEIGHBOURS_GROUP
            assert control.label("zh").endswith(decl.label("zh")) and control.units["en"] == decl.unit
            # explained in the page's language: no English words in the Chinese
            assert not re.findall(r"[A-Za-z]{4,}", control.explain("zh")) and "energy" not in control.label("zh")
    # the start is the city's known offer (cluster_policies.csv): Deyang-Aba's 0.13 yuan/kWh at 0.42 yuan/kWh
    known = default_clusters().standing_policies()["deyang_aba"]["energy_support"]["cost_cut"]
    assert (
        by_key["deyang_aba.energy_support.cost_cut"].read(start) == pytest.approx(known) == pytest.approx(0.13 / 0.42)
    )
    assert by_key["changzhou.energy_support.cost_cut"].read(start) == 0.0
    bid = {c.key: c for c in wb.controls(wb.load_library("neighbours_bid"))}  # a scenario's own value comes first
    assert bid["deyang_aba.energy_support.cost_cut"].read(wb.load_library("neighbours_bid")) == 0.40


def test_a_neighbours_lever_becomes_its_policy_table_as_a_scenario_file_gives_it(start):
    built = wb.build(start, {"deyang_aba.energy_support.cost_cut": 0.45})
    assert built.name == "baseline-workbench" and set(built.policy.clusters) == {"deyang_aba"}
    assert built.policy.settings == start.policy.settings  # Suining's levers untouched
    # the same as [policy.deyang_aba.energy_support] in a file: the known offer's other fields, from the control's year
    text = (SCENARIOS / "baseline.toml").read_text(encoding="utf-8") + (
        '\n[policy.deyang_aba.energy_support]\ncost_cut = 0.45\ncity_cost_share = 1.0\nfrom = "2026-01"\n'
    )
    assert built.policy == load_scenario_text(text, name="baseline.toml").policy
    later = wb.build(start, {"yibin.from": 2027, "yibin.investment_support.capex_subsidy": 0.2})
    setting = later.policy.clusters["yibin"].setting("investment_support")
    assert setting.start == month_index("2027-01") and setting.values == {"capex_subsidy": 0.2, "lag_cut_months": 3.0}
    energy = later.policy.clusters["yibin"].setting("energy_support")  # the known offer, from the city's new year
    assert energy.start == month_index("2027-01") and energy.values == {
        k: v for k, v in default_clusters().standing_policies()["yibin"]["energy_support"].items() if k != "from"
    }
    alone = wb.build(start, {"yibin.investment_support.capex_subsidy": 0.2})
    assert set(alone.policy.clusters["yibin"].settings) == {"investment_support"}  # untouched: the known offer holds
    # a scenario that sets a neighbour's levers: the other levers and cities are kept
    bid = wb.load_library("neighbours_bid")
    more = wb.build(bid, {"deyang_aba.investment_support.capex_subsidy": 0.2})
    assert more.policy.clusters["deyang_aba"].value("investment_support", "capex_subsidy") == 0.2
    assert more.policy.clusters["deyang_aba"].value("energy_support", "cost_cut") == 0.40
    assert more.policy.clusters["yibin"] == bid.policy.clusters["yibin"]
    assert set(wb.build(bid, {"end": 2027}).policy.clusters) == {"yibin", "deyang_aba"}  # a shorter run keeps them
    assert wb.build(bid, {"end": 2025}).policy.clusters == {}  # ... unless they would start after it
    # the downloaded file holds them: a file `lithium-sim check` reads back to the same policy
    assert load_scenario_text(scenario_toml(more), name="more.toml").policy == more.policy


def test_a_neighbours_levers_travel_in_the_link_and_a_bad_value_is_refused(start):
    values = {wb.NEIGHBOUR: "deyang_aba", "deyang_aba.energy_support.cost_cut": 0.45, "deyang_aba.from": 2027,
              "yibin.investment_support.lag_cut_months": 6.0}  # fmt: skip
    view = wb.View(scenario="baseline", values=values)
    query = wb.encode_query(view)
    assert "deyang_aba.energy_support.cost_cut=0.45" in query and "neighbour=deyang_aba" in query
    back, problems = wb.decode_query(query)
    assert problems == [] and back == view
    assert wb.build(back.start(), back.values) == wb.build(start, values)
    assert wb.build(start, {wb.NEIGHBOUR: "meishan"}) is start  # choosing whose levers to show changes nothing
    with pytest.raises(InputError) as err:
        wb.build(start, {"yibin.energy_support.cost_cut": 0.7})
    assert err.value.key == "yibin.energy_support.cost_cut" and "from 0 to 0.5" in err.value.message
    view, problems = wb.decode_query("yibin.energy_support.cost_cut=0.7&neighbour=rest_of_china")
    assert view.values == {} and len(problems) == 2
    assert "yibin.energy_support.cost_cut" in problems[0] and "choose one of yibin" in problems[1]


# Deyang-Aba's raise from its known 31% to 50% moved Suining's pooled share by -0.2 to +0.04 points over three seeds
# at four replicates: a rise beyond half a point would not be noise
SHARE_TOLERANCE = 0.5  # percentage points


def test_a_neighbours_higher_energy_support_never_raises_suinings_share_of_new_lfp_capacity(start):
    cache = wb.RunCache(firm_detail=0)
    shares = {}
    for cluster in ("yibin", "deyang_aba"):
        scenario = wb.build(start, {f"{cluster}.energy_support.cost_cut": 0.5})
        base, scen = wb.run_pair(scenario, 4, cache=cache)
        years, shares[cluster] = wb.new_capacity_shares(base, scen)
        assert years == list(range(2025, 2031))
        before, after = shares[cluster]["lfp_cathode"]
        assert after <= before + SHARE_TOLERANCE, (cluster, before, after)
    assert cache.runs_made == 3  # one baseline for both
    assert shares["yibin"]["lfp_cathode"][1] < shares["yibin"]["lfp_cathode"][0]  # Yibin's bid is felt
    diff = wb.differences(wb.comparison(base, scen), [2030])
    assert {"lfp_cathode", "lithium_salt"} <= set(diff.loc[diff.metric == "new_capacity_share", "segment"])


def test_every_lever_unit_has_its_chinese_form():
    """A unit missing from the Chinese table shows in English on the Chinese page."""
    from sim.app.workbench import UNITS_ZH
    from sim.inputs.levers import LEVERS

    def declared(fields):
        return fields.values() if isinstance(fields, dict) else (fields or ())

    units = {p.unit for lever in LEVERS for p in [*declared(lever.fields), *declared(lever.yearly)]}
    assert units <= set(UNITS_ZH), sorted(units - set(UNITS_ZH))


def test_charts_show_tonnes_as_readers_count_them_and_scenarios_by_their_names():
    from sim.app import charts as app_charts

    package = wb.build(wb.load_library("policy_package"), {"end": 2024, "energy_support.cost_cut": 0.2})
    base, scen = wb.run_pair(package, 2)
    labels = ["基准：基准情景", f"情景：{scen.scenario.label('zh')}"]
    assert scen.scenario.label("zh") == "政策组合（工作台调整）"
    for lang, unit, factor in (("zh", "万吨", 1e-4), ("en", "kt", 1e-3)):
        option = app_charts.echarts_option("output", base.summary, scen.summary, labels, lang)
        salt = option["title"][0]
        assert salt["subtext"].startswith(unit), salt
        rows = base.summary.query("region == 'suining' and segment == 'lithium_salt' and metric == 'output'")
        line = next(s for s in option["series"] if s["name"] == labels[0] and s["xAxisIndex"] == 0)
        assert line["data"][-1] == pytest.approx(rows.sort_values("year")["mean"].iloc[-1] * factor, rel=1e-6)
    names = wb.library_choices("zh")
    assert names["政策组合"] == "policy_package" and names["基准情景"] == "baseline"
    assert len(set(names.values())) == len(wb.library())  # every file once, by a name of its own
