"""Scenario discovery (`lithium-sim explore`): the target grammar, the uncertain inputs and their sampling, and a
tiny run end to end that writes the report; bad targets and flags are exit 2 with nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.api import LEVERS, InputError, load_scenario, month_index, override
from sim.cli import main
from sim.discovery.explore import (
    HISTORY_END_YEAR,
    LEVER_INPUTS,
    SCENARIO_INPUTS,
    apply_inputs,
    draw,
    explore,
    lever_input,
    project_inputs,
    scaled_demand,
    uncertain_inputs,
)
from sim.discovery.targets import NAMED_TARGETS, parse_target
from tests.conftest import BASELINE, SCENARIOS

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`


# --- the grammar ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("output_value[suining,all,2030] >= 1000", [("output_value", "suining", "all", 2030, ">=", 1000.0)]),
        ("  national_share[ suining , lfp_cathode , 2030 ]<15.5 ", [("national_share", "suining", "lfp_cathode",
                                                                     2030, "<", 15.5)]),
        ("profit[china,all,2028] > -2.5e1", [("profit", "china", "all", 2028, ">", -25.0)]),
        ("output_value[suining,all,2030] >= 1000 and national_share[suining,lithium_salt,2029] <= .5",
         [("output_value", "suining", "all", 2030, ">=", 1000.0),
          ("national_share", "suining", "lithium_salt", 2029, "<=", 0.5)]),
        ("demand[china,battery,2027] > 1", [("demand", "china", "battery", 2027, ">", 1.0)]),
    ],
)  # fmt: skip
def test_valid_targets(text, clauses):
    target = parse_target(text)
    got = [(c.metric, c.region, c.segment, c.year, c.op, c.number) for c in target.clauses]
    assert got == clauses
    assert target.years == sorted({c[3] for c in clauses})


@pytest.mark.parametrize("name", sorted(NAMED_TARGETS))
def test_named_targets_are_ready_questions(name):
    target = parse_target(name)
    assert target.name == name and target.text == name
    assert [str(c) for c in target.clauses] == [str(c) for c in parse_target(NAMED_TARGETS[name].expression).clauses]
    assert target.question("en") != target.question("zh")
    assert (SCENARIOS / f"{NAMED_TARGETS[name].scenario}.toml").is_file()


def test_ready_questions_are_the_brief():
    revenue, share = parse_target("revenue_1000").clauses[0], parse_target("lfp_share_15").clauses[0]
    assert (revenue.metric, revenue.region, revenue.segment, revenue.year, revenue.op, revenue.number) == (
        "output_value", "suining", "all", 2030, ">=", 1000.0)  # fmt: skip
    assert (share.metric, share.segment, share.year, share.op, share.number) == (
        "national_share", "lfp_cathode", 2030, ">=", 15.0)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("revenue_2000", "neither a named target"),
        ("__import__('os').system('true')", "neither a named target"),
        ("output_value[suining,all,2030] == 1000", "cannot read"),
        ("output_value[suining,all,2030] >= ", "cannot read"),
        ("output_value[suining,all] >= 1000", "cannot read"),
        ("output_value[suining,all,2030] >= 1000 or profit[suining,all,2030] > 0", "cannot read"),
        ("output_value[suining,all,2030] >= 1000 and", "cannot read"),
        ("output_value[suining,all,2030] >= 1e999", "not finite"),
        ("revenue[suining,all,2030] >= 1000", "unknown metric 'revenue'"),
        ("output_value[shanghai,all,2030] >= 1000", "no figure for region 'shanghai'"),
        ("national_share[china,lfp_cathode,2030] >= 15", "no figure for region 'china'"),
        ("x" * 2000, "longer than"),
    ],
)
def test_invalid_targets_name_the_option_and_what_is_allowed(text, says):
    with pytest.raises(InputError) as err:
        parse_target(text)
    assert err.value.key == "--target"
    assert says in err.value.message
    if says not in ("unknown metric 'revenue'",) and "no figure" not in says:
        assert "METRIC[region,segment,year] OP NUMBER" in err.value.message


def test_a_target_year_must_lie_in_the_run(short):
    target = parse_target("output_value[suining,all,2030] >= 1")
    with pytest.raises(InputError, match=r"year 2030 is outside the run .*2022-2024") as err:
        target.check_years(short)
    assert err.value.key == "--target"
    parse_target("output_value[suining,all,2024] >= 1").check_years(short)


def test_target_evaluation():
    target = parse_target("output_value[suining,all,2030] >= 1000 and national_share[suining,lfp_cathode,2030] < 15")
    cols = [c.column for c in target.clauses]
    assert target.holds({cols[0]: 1000.0, cols[1]: 14.9})
    assert not target.holds({cols[0]: 999.9, cols[1]: 14.9})
    assert not target.holds({cols[0]: 1500.0, cols[1]: 15.0})
    assert not target.holds({cols[0]: float("nan"), cols[1]: 1.0})


# --- the uncertain inputs ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def attraction():
    return load_scenario(SCENARIOS / "project_attraction.toml")


@pytest.mark.parametrize("decl", LEVER_INPUTS, ids=lambda d: d.name)
def test_lever_inputs_lie_within_their_declarations(decl):
    lever, field = decl.name.split(".")
    declared = next(lv for lv in LEVERS if lv.name == lever).field(field)
    assert declared.low <= decl.low < decl.high <= declared.high
    assert decl.label("en") == declared.label("en") and decl.label("zh") == declared.label("zh")


def test_a_lever_input_outside_its_declared_range_is_refused():
    with pytest.raises(ValueError, match="outside the declared"):
        lever_input("energy_support", "cost_cut", 0.0, 0.9, "too deep")
    with pytest.raises(ValueError, match="no lever"):
        lever_input("free_money", "amount", 0.0, 1.0, "no such lever")


def test_every_input_is_declared_with_labels_units_and_reasons(attraction):
    inputs = uncertain_inputs(attraction)
    names = [u.name for u in inputs]
    assert len(set(names)) == len(names)
    assert {u.name for u in (*SCENARIO_INPUTS, *LEVER_INPUTS)} <= set(names)
    assert len(project_inputs(attraction)) == len(attraction.policy.projects) == 4
    for u in inputs:
        assert u.label_en and u.label_zh and u.unit and len(u.reason) > 20
        assert u.low < u.high
    price = next(u for u in SCENARIO_INPUTS if u.name == "price_level")
    assert (price.low, price.high) == (50_000.0, 200_000.0)


def test_market_mode_has_no_price_path_inputs():
    market = load_scenario(SCENARIOS / "baseline_market.toml")
    names = {u.name for u in uncertain_inputs(market)}
    assert "price_level" not in names and "price_volatility" not in names and "demand_growth" in names


def test_sampling_covers_the_declared_ranges(attraction):
    inputs = uncertain_inputs(attraction)
    n = 40
    samples = draw(inputs, n, seed=7)
    assert list(samples.columns) == [u.name for u in inputs] and len(samples) == n
    for u in inputs:
        column = samples[u.name].to_numpy()
        assert u.low <= column.min() and column.max() <= u.high
        strata = np.floor((column - u.low) / (u.high - u.low) * n).astype(int)
        assert sorted(strata) == list(range(n)), f"{u.name}: one sample in each of the {n} strata"
    pd.testing.assert_frame_equal(samples, draw(inputs, n, seed=7))
    assert not samples.equals(draw(inputs, n, seed=8))


def test_inputs_change_the_scenario_as_declared(attraction):
    inputs = uncertain_inputs(attraction)
    values = {u.name: u.low + 0.25 * (u.high - u.low) for u in inputs}
    changed = apply_inputs(attraction, inputs, values)
    assert changed.price_after == "revert" and changed.price_revert_level == values["price_level"]
    assert changed.volatility == values["price_volatility"]
    assert changed.policy.value("energy_support", "cost_cut") == values["energy_support.cost_cut"]
    assert changed.policy.start("energy_support") == month_index(f"{HISTORY_END_YEAR + 1}-01")
    assert changed.policy.value("investment_support", "capex_subsidy") == values["investment_support.capex_subsidy"]
    relief = changed.policy.setting("tax_relief").yearly["amount"]
    assert all(relief[y] == values["tax_relief.amount"] for y in changed.years if y > HISTORY_END_YEAR)
    assert all(y > HISTORY_END_YEAR for y in relief)
    for i, project in enumerate(changed.policy.projects):
        assert project.probability == values[f"project:{project.name}"]
        assert project.name == attraction.policy.projects[i].name
    for u in inputs:  # the workbench's defaults read back what was set (a multiplier reads 1: the rates now)
        if u.name != "demand_growth":
            assert u.value_in(changed) == pytest.approx(values[u.name])
    assert attraction.policy.projects[0].probability == 0.5  # the scenario itself is untouched


def test_demand_growth_scales_rates_after_the_history_only(baseline):
    years = baseline.years
    levels, growth = scaled_demand(baseline, 1.0)
    scaled = override(baseline, battery_levels=levels, battery_growth=growth)
    same = baseline.annual_series(baseline.battery_levels, baseline.battery_growth, interpolate=False)
    np.testing.assert_allclose(scaled.annual_series(levels, growth, interpolate=False), same)
    half_levels, half_growth = scaled_demand(baseline, 0.5)
    half = baseline.annual_series(half_levels, half_growth, interpolate=False)
    history = [i for i, y in enumerate(years) if y <= HISTORY_END_YEAR]
    np.testing.assert_allclose(half[history], same[history])
    for i, year in enumerate(years):
        if year > HISTORY_END_YEAR:
            assert half[i] / half[i - 1] - 1 == pytest.approx(0.5 * (same[i] / same[i - 1] - 1))


def test_lever_inputs_keep_a_start_the_scenario_sets():
    package = load_scenario(SCENARIOS / "policy_package.toml")
    decl = next(u for u in LEVER_INPUTS if u.name == "tax_relief.amount")
    changed = decl.apply(package, 7.0)
    assert changed.policy.start("tax_relief") == package.policy.start("tax_relief")
    amounts = changed.policy.setting("tax_relief").yearly["amount"]
    assert amounts[2024] == amounts[2025] == 3.2 and amounts[2026] == amounts[2030] == 7.0
    assert changed.policy.value("tax_relief", "vat_refund_share") == 0.5


# --- end to end ---------------------------------------------------------------------------------------------------
def short_scenario(tmp_path: Path) -> Path:
    """The project-attraction scenario cut at 2026 (one year after the history), one project in the run."""
    path = tmp_path / "short.toml"
    path.write_text(
        f'extends = "{(SCENARIOS / "project_attraction.toml").as_posix()}"\nname = "short"\nend = "2026-12"\n'
        '[[policy.projects]]\nname = "LFP plant"\nsegment = "lfp_cathode"\ncapacity = 100000\n'
        'online = "2026-03"\nprobability = 0.6\n',
        encoding="utf-8",
    )
    return path


def test_a_tiny_exploration_writes_the_report(tmp_path, capsys):
    scenario_file = short_scenario(tmp_path)
    scenario = load_scenario(scenario_file)
    first = explore(scenario, "output_value[suining,all,2026] >= 0", samples=10, replicates=1, workers=1)
    assert first.holds.all() and first.fails_box is None and first.holds_box is not None
    outcome = first.figures.iloc[:, 0]
    threshold = float(outcome.median())
    out = tmp_path / "explore"
    target = f"output_value[suining,all,2026] >= {threshold!r}"
    code = main(["explore", str(scenario_file), "--target", target, "--samples", "10", "--replicates", "1",
                 "--workers", "1", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "holds in 5 of 10" in printed and "coverage" in printed
    table = pd.read_csv(out / "samples.csv")
    assert len(table) == 10 and table["target"].sum() == 5 and not table["failed"].any()
    np.testing.assert_allclose(table["output_value[suining,all,2026]"], outcome)  # same draws, same figures
    for side in ("holds", "fails"):
        for name in ("REPORT.md", "samples.csv", "trajectory.csv", "boxes.csv", "box_scatter.png"):
            assert (out / side / name).is_file()
    meta = json.loads((out / "explore.json").read_text(encoding="utf-8"))
    assert meta["samples"] == 10 and meta["holds"] == 5 and meta["target"] == target
    assert {i["name"] for i in meta["inputs"]} == {u.name for u in uncertain_inputs(scenario)}
    assert meta["holds_box"]["coverage"] > 0 and 0 < meta["holds_box"]["density"] <= 1
    summary = (out / "SUMMARY.md").read_text(encoding="utf-8")
    assert "Where the target holds" in summary and "Where the target fails" in summary
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".explore")]


def test_24_draws_warn_in_the_result_the_summary_and_the_console(tmp_path, capsys):
    scenario_file = short_scenario(tmp_path)
    scenario = load_scenario(scenario_file)
    probe = explore(scenario, "output_value[suining,all,2026] >= 0", samples=24, replicates=1)
    threshold = float(probe.figures.iloc[:, 0].median())
    out = tmp_path / "explore"
    code = main(["explore", str(scenario_file), "--target", f"output_value[suining,all,2026] >= {threshold!r}",
                 "--samples", "24", "--replicates", "1", "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "warning: Only 24 draws" in printed and "resamples" in printed
    summary = (out / "SUMMARY.md").read_text(encoding="utf-8")
    assert "**Warning.** Only 24 draws" in summary and "How sure" in summary
    meta = json.loads((out / "explore.json").read_text(encoding="utf-8"))
    assert {c["key"] for c in meta["caveats"]} == {"few_samples", "few_replicates"}
    confidence = meta["holds_box"]["confidence"]
    assert confidence["resamples"] > 0 and set(confidence["coverage"]) == {"median", "p05", "p95"}
    for row in confidence["p_values"]:  # only limits that passed stay in the box
        assert row["p_value"] < confidence["alpha"]
    assert "How sure" in (out / "holds" / "REPORT.md").read_text(encoding="utf-8")
    # the same report in Chinese: the boxes, their stability and the warnings (the question quotes the target)
    chinese = probe.console_lines("zh")
    assert "注意：" in chinese[-1] and "在24个抽样情景中" in chinese[0]
    for line in chinese[1:]:
        assert not re.findall(r"[A-Za-z]{3,}", line), line


def test_memory_and_scenarios_are_built_a_chunk_at_a_time(monkeypatch):
    import sim.discovery.explore as module

    scenario = load_scenario(SCENARIOS / "baseline.toml")
    built, live = [], []
    real = module.apply_inputs

    def counting(*args):
        built.append(1)
        return real(*args)

    def figures(chunk, *rest):
        live.append(len(chunk))
        return [{"output_value[suining,all,2024]": float(i)} for i in range(len(chunk))]

    class Pool:
        def __init__(self, workers):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def map(self, fn, chunk, *rest):
            return figures(chunk)

    monkeypatch.setattr(module, "apply_inputs", counting)
    monkeypatch.setattr(module, "Executor", Pool)
    result = explore(scenario, "output_value[suining,all,2024] >= 5", samples=40, replicates=1, workers=1)
    assert len(built) == 40 and max(live) == module.CHUNK_PER_WORKER and sum(live) == 40
    assert result.holds.sum() == sum(max(0, n - 5) for n in live)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--target", "revenue_2000"], "--target"),
        (["--target", "output_value[suining,all,2040] >= 1"], "--target"),
        (["--target", "output_value[suining,all,2030] >= 1", "--samples", "0"], "--samples"),
        (["--target", "revenue_1000", "--workers", "0"], "--workers"),
        (["--target", "revenue_1000", "--replicates", "0"], "--replicates"),
        (["--target", "revenue_1000", "--lang", "fr"], "--lang"),
        (["--samples", "10"], "--target"),
    ],
)
def test_bad_targets_and_flags_are_exit_2_and_write_nothing(tmp_path, capsys, flags, says):
    out = tmp_path / "out"
    try:
        code = main(["explore", str(BASELINE), "--out", str(out), "--quiet", *flags])
    except SystemExit as exit_:  # argparse's errors (flags) exit from the parser
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]  # argparse prints its usage lines first
    assert says in last and "Traceback" not in err and last.startswith("lithium-sim explore")
    assert not out.exists()
