"""Scenario files: validation names the file and the key; extends merges; bad input never half-loads."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.inputs.errors import InputError
from sim.inputs.scenario import load_scenario, month_index, month_label
from tests.conftest import BASELINE

TEXT = BASELINE.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert str(path.name) in info.value.message
    return info.value


@pytest.mark.parametrize(
    "edit,key",
    [
        (lambda t: t.replace("seed = 20240101", 'seed = 20240101\ncolour = "red"'), "colour"),
        (lambda t: t.replace('"2022-01" = 300000', '"2022-01" = -5'), "carbonate_price.points.2022-01"),
        (lambda t: t.replace("2022 = 0.607", "2022 = 1.5"), "demand.lfp_share.levels.2022"),
        (lambda t: t.replace('"2022-04" = 453000', '"2021-04" = 453000'), "carbonate_price.points.2021-04"),
        (lambda t: t.replace("replicates = 20", 'replicates = "many"'), "replicates"),
        (lambda t: t.replace('end = "2030-12"', 'end = "2030-13"'), "end"),
        (lambda t: t.replace('after = "revert"', 'after = "sideways"'), "carbonate_price.after"),
        (lambda t: t.replace('unit = "GWh/yr"', 'unit = "MWh/yr"'), "demand.battery.unit"),
        (lambda t: t.replace("volatility = 0.0", "volatility = 0.9"), "carbonate_price.volatility"),
        (lambda t: t + "\n[parameters]\nno_such_parameter = 1\n", "no_such_parameter"),
        (lambda t: t + "\n[parameters]\ncompetitiveness_elasticity = 500\n", "competitiveness_elasticity"),
        (lambda t: t + "\n[policy.hedging]\nshare = 1.5\n", "policy.hedging.share"),
        (lambda t: t + '\n[policy.energy_support]\ncost_cut = 0.1\nfrom = "2040-01"\n', "policy.energy_support.from"),
        (lambda t: t + "\n[policy.subsidy_everything]\nyes = true\n", "policy.subsidy_everything"),
        (
            lambda t: t + '\n[[policy.projects]]\nname = "x"\nsegment = "copper"\ncapacity = 1\nonline = "2025-01"\n',
            "policy.projects[0].segment",
        ),
        (
            lambda t: t + '\n[[policy.projects]]\nname = "x"\nsegment = "battery"\nonline = "2025-01"\n',
            "policy.projects[0].capacity",
        ),
    ],
)
def test_bad_scenarios_name_the_key(tmp_path, edit, key):
    err = _error(_write(tmp_path, edit(TEXT)))
    assert err.key == key, err.message
    assert key in err.message


def test_months_out_of_order_are_rejected(tmp_path):
    text = TEXT.replace('"2022-02" = 480000   # end-Feb spot, MIIT Jan-Feb release\n', "")
    text = text.replace('"2022-04" = 453000', '"2022-04" = 453000\n"2022-02" = 480000')
    err = _error(_write(tmp_path, text))
    assert "order" in err.message and err.key == "carbonate_price.points.2022-02"


def test_missing_parent_and_cycles(tmp_path):
    err = _error(_write(tmp_path, 'extends = "missing.toml"\nname = "x"\n'))
    assert err.key == "extends" and "missing.toml" in err.message
    _write(tmp_path, 'extends = "b.toml"\nname = "a"\n', "a.toml")
    _write(tmp_path, 'extends = "a.toml"\nname = "b"\n', "b.toml")
    err = _error(tmp_path / "a.toml")
    assert "cycle" in err.message


def test_extends_overrides_fields_and_keeps_the_rest(tmp_path):
    _write(tmp_path, TEXT, "baseline.toml")
    child = _write(
        tmp_path,
        'extends = "baseline.toml"\nname = "child"\n\n[carbonate_price]\nrevert_level = 60000\n'
        "\n[demand.battery]\ngrowth = { 2024 = 0.1 }\n\n[policy.hedging]\nshare = 0.3\n",
        "c.toml",
    )
    parent, sc = load_scenario(tmp_path / "baseline.toml"), load_scenario(child)
    assert sc.name == "child" and sc.price_revert_level == 60000
    assert sc.carbonate_points == parent.carbonate_points  # inherited
    assert sc.battery_levels == parent.battery_levels and sc.battery_growth == {2024: 0.1}  # tables replace whole
    assert sc.policy.value("hedging", "share") == 0.3


def test_scenario_files_are_data_not_code(tmp_path):
    err = _error(_write(tmp_path, TEXT.replace('name = "baseline"', "name = \"__import__('os').system('x')\"")))
    assert err.key == "name"


def test_price_path_interpolates_and_continues(baseline):
    path = baseline.price_path()
    assert path[0] == 300000 and path[1] == 480000
    assert path[2] == pytest.approx((480000 + 453000) / 2)
    last = month_index("2025-12")
    assert path[last] == 101500
    assert abs(path[-1] - 90000) < abs(path[last + 1] - 90000)  # reverting toward 90,000
    growth = baseline.with_changes(price_after="growth", price_growth_rate=0.1)
    assert growth.price_path()[last + 12] == pytest.approx(101500 * 1.1)


def test_demand_series(baseline):
    d = baseline.monthly_demand()
    assert d["battery_gwh"][:12].sum() == pytest.approx(750)
    assert d["battery_gwh"][12:24].sum() == pytest.approx(940)
    assert d["battery_gwh"][24:36].sum() == pytest.approx(1170)
    # a year's level is the mean of its months, and demand moves month by month, without a step every January
    assert d["lfp_share"][24:36].mean() == pytest.approx(0.77)
    steps = np.abs(np.diff(d["battery_gwh"][:48]))
    assert steps[11::12].max() <= 1.5 * np.delete(steps, np.s_[11::12]).max()
    assert d["storage_share"][12 * 5 : 12 * 6].mean() == pytest.approx(0.27)  # 2027: a quarter of 2026 to 2030
    assert d["battery_gwh"][48:60].sum() == pytest.approx(1840 * 1.15)  # growth after the last level


@given(st.integers(0, 12 * 28 - 1))
@settings(max_examples=50)
def test_month_labels_round_trip(index):
    assert month_index(month_label(index)) == index


def test_every_shipped_scenario_passes_check():
    for path in sorted(BASELINE.parent.glob("*.toml")):
        sc = load_scenario(path)
        assert sc.name == path.stem  # the library's names are its file names
        assert sc.n_months >= 24 and np.all(sc.price_path() > 0)


def test_project_names_must_be_unique(tmp_path):
    project = '\n[[policy.projects]]\nname = "A"\nsegment = "battery"\ncapacity = 5\nonline = "2025-01"\n'
    err = _error(_write(tmp_path, TEXT + project + project))
    assert err.key == "policy.projects[1].name"


@given(share=st.floats(-0.5, 1.5), cut=st.floats(-0.2, 0.8), month=st.integers(-24, 150))
@settings(max_examples=60, deadline=None)
def test_generated_levers_load_or_fail_naming_the_key(tmp_path_factory, share, cut, month):
    label = month_label(month) if month >= 0 else f"{2022 + (month // 12)}-{month % 12 + 1:02d}"
    text = TEXT + (
        f'\n[policy.hedging]\nshare = {share!r}\nfrom = "{label}"\n\n[policy.energy_support]\ncost_cut = {cut!r}\n'
    )
    path = _write(tmp_path_factory.mktemp("gen"), text)
    ok = 0 <= share <= 1 and 0 <= cut <= 0.5 and 0 <= month <= month_index("2030-12")
    if ok:
        sc = load_scenario(path)
        assert sc.policy.value("hedging", "share") == share and sc.policy.value("energy_support", "cost_cut") == cut
    else:
        with pytest.raises(InputError) as info:
            load_scenario(path)
        assert info.value.key in ("policy.hedging.share", "policy.energy_support.cost_cut", "policy.hedging.from")


# --- scenarios that say what they do ------------------------------------------------------------------------
def test_every_library_scenario_has_a_chinese_name_and_description():
    for path in sorted(BASELINE.parent.glob("*.toml")):
        scenario = load_scenario(path)
        assert scenario.name_zh and scenario.description_zh, path.name
        assert scenario.label("zh") == scenario.name_zh and scenario.label("en") == scenario.name
        assert scenario.about("zh") == scenario.description_zh


def test_a_child_that_renames_itself_drops_its_parents_chinese_name(tmp_path):
    _write(tmp_path, TEXT, "baseline.toml")
    renamed = load_scenario(_write(tmp_path, 'extends = "baseline.toml"\nname = "child"\n', "c.toml"))
    assert renamed.name_zh == "" and renamed.label("zh") == "child"
    named = load_scenario(_write(tmp_path, 'extends = "baseline.toml"\nname = "c"\nname_zh = "子情景"\n', "d.toml"))
    assert named.label("zh") == "子情景"
    described = 'extends = "baseline.toml"\nname = "c"\ndescription = "other"\n'
    assert load_scenario(_write(tmp_path, described, "e.toml")).description_zh == ""
    kept = load_scenario(_write(tmp_path, 'extends = "baseline.toml"\nname = "c"\n', "f.toml"))
    assert kept.description_zh == load_scenario(tmp_path / "baseline.toml").description_zh  # description unchanged
    # in code too: a new name without a new Chinese name leaves none
    assert kept.with_changes(name="x").name_zh == "" and kept.with_changes(seed=1).description_zh


def test_chinese_names_stay_out_of_the_fingerprint(baseline):
    from sim.runs.provenance import scenario_fingerprint

    assert scenario_fingerprint(baseline) == scenario_fingerprint(baseline.with_changes(name_zh="别名"))


@pytest.mark.parametrize(
    "edit,key,suggestion",
    [
        (lambda t: t.replace("volatility = ", "volatilty = "), "carbonate_price.volatilty", "volatility"),
        (lambda t: t.replace("[demand.lfp_share]", "[demand.lfp_shares]"), "demand.lfp_shares", "lfp_share"),
        (lambda t: t + "\n[policy.tax_releif]\nvat_refund_share = 0.5\n", "policy.tax_releif", "tax_relief"),
        (lambda t: t + "\n[parameters]\ncompetitivness_elasticity = 3\n", "competitivness_elasticity",
         "competitiveness_elasticity"),
    ],
)  # fmt: skip
def test_a_misspelt_key_gets_a_suggestion(tmp_path, edit, key, suggestion):
    err = _error(_write(tmp_path, edit(TEXT)))
    assert err.key == key and f"did you mean '{suggestion}'?" in err.message


@pytest.mark.parametrize(
    "child,key",
    [
        ('extends = "m.toml"\nname = "x"\n[carbonate_price]\nvolatility = 0.1\n', "carbonate_price.volatility"),
        ('extends = "m.toml"\nname = "x"\n[carbonate_price]\nrevert_level = 80000\n', "carbonate_price.revert_level"),
    ],
)  # fmt: skip
def test_a_key_that_does_nothing_in_the_price_mode_is_refused(tmp_path, child, key):
    _write(tmp_path, TEXT, "baseline.toml")
    _write(tmp_path, 'extends = "baseline.toml"\nname = "m"\n[carbonate_price]\nmode = "market"\n', "m.toml")
    load_scenario(tmp_path / "m.toml")  # the market child inherits the path's keys: they were the parent's
    path = _write(tmp_path, child, "x.toml")
    err = _error(path)
    assert err.key == key and "does nothing in" in err.message and str(path) in err.message


def test_the_world_market_acts_in_both_price_modes(tmp_path):
    """One world: supply events and project probabilities move world supply, stocks and the supply gap at the
    pinned price too, so a path-mode child may set them."""
    _write(tmp_path, TEXT, "baseline.toml")
    path = _write(tmp_path, 'extends = "baseline.toml"\nname = "x"\n[market.project_probability]\nspodumene = 0.5\n')
    assert load_scenario(path).project_probability == {"spodumene": 0.5}


def test_a_childs_price_points_replace_the_parents_path_and_the_message_says_so(tmp_path):
    _write(tmp_path, TEXT, "baseline.toml")
    path = _write(tmp_path, 'extends = "baseline.toml"\nname = "x"\n[carbonate_price.points]\n"2026-06" = 150000\n')
    err = _error(path)
    assert err.key == "carbonate_price.points" and "starts at 2026-06" in err.message
    assert "replaces the parent's whole price path" in err.message and "price_rebound.toml" in err.message
