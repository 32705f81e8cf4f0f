"""Numbers that cannot silently go wrong (sim/engine/guard.py): every month's prices and quantities and every year's
accounts are checked; a replicate that fails is named with its month, stage and variable, keeps its years before
the failure, and the summary keeps every row with the failure counted; the declared parameter box is jointly
safe (its corners and random points give no failure at all)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim.engine.guard as guard
from sim.cli import main
from sim.engine.guard import Failure, Guard, Tripped
from sim.engine.model import simulate_batch
from sim.inputs.errors import InputError
from sim.inputs.params import PARAMETERS, build_params
from sim.inputs.scenario import load_scenario, month_index
from sim.outputs.compare import read_summary
from sim.outputs.tables import FAILED_COLUMN, SUMMARY_COLUMNS, summarise
from sim.runs.provenance import replicate_seeds
from sim.runs.runner import run_scenario, simulate
from tests.conftest import BASELINE, LIBRARY, SCENARIOS


# --- the checks ---------------------------------------------------------------------------------------------
def _month(guard_: Guard, quote=None, battery_price=5e8, output=100.0, share=0.5) -> None:
    ones = np.ones(3)
    guard_.month(
        40,
        ones * 90_000 if quote is None else quote,
        {"lithium_salt": ones * 80_000, "battery": ones * battery_price},
        {"storage_share": ones * share, "battery_gwh": ones * 100.0},
        {
            "output": {"battery": ones * output},
            **{flow: {} for flow in ("gross", "addressed", "request", "unmet", "final", "trade")},
        },
    )


def test_plain_numbers_pass():
    _month(Guard())


@pytest.mark.parametrize(
    "change, stage, variable, says",
    [
        (dict(battery_price=np.array([5e8, np.nan, 5e8])), "battery", "price", "NaN"),
        (dict(battery_price=np.array([5e8, 5e8, np.inf])), "battery", "price", "+infinite"),
        (dict(battery_price=np.array([1e110, 5e8, 5e8])), "battery", "price", "beyond its bound"),
        (dict(quote=np.array([90_000, 0.5, 90_000])), "market", "carbonate_quote", "beyond its bound"),
        (dict(output=np.array([1.0, 1.0, -1e30])), "battery", "output", "beyond its bound"),
        (dict(share=np.array([0.5, 1.5, 0.5])), "market", "storage_share", "beyond its bound"),
    ],
)
def test_a_number_gone_wrong_names_its_replicate_month_stage_and_variable(change, stage, variable, says):
    with pytest.raises(Tripped) as info:
        _month(Guard(), **change)
    [failure] = info.value.failures
    assert (failure.stage, failure.variable, failure.month) == (stage, variable, 40)
    text = failure.message()
    assert says in text and "2025-05" in text and f"stage {stage}" in text and "allowed" in text
    assert "\n" not in text


def test_every_bound_is_declared_with_a_unit_and_a_reason():
    bounds = [*guard.PRICE_BOUNDS.values(), *guard.QUANTITY_BOUNDS.values(), guard.OTHER_PRICE, guard.OTHER_QUANTITY]
    bounds += [b for b in guard.YEAR_BOUNDS.values() if isinstance(b, guard.Bound)]
    for bound in bounds:
        assert bound.low < bound.high and bound.unit and len(bound.reason) > 20


def test_a_failure_reads_as_json():
    failure = Failure(2, month_index("2025-05"), "battery", "price", math.inf, "above 0 to 1e+11 yuan/GWh")
    data = json.loads(json.dumps(failure.to_dict(replicate=7)))
    assert data["replicate"] == 7 and data["month"] == "2025-05" and data["year"] == 2025 and data["value"] == "inf"


# --- a replicate that fails keeps its years before the failure ----------------------------------------------
@pytest.fixture(scope="module")
def short():
    return load_scenario(BASELINE).with_changes(end_month=month_index("2026-12"))


@pytest.mark.slow  # full scenario runs: left out of `make test-fast`
@pytest.mark.parametrize(
    "month, year_end, market",
    [(0, False, False), (5, False, False), (11, True, False), (30, False, False), (59, True, False), (40, False, True)],
)
def test_a_failed_replicate_has_every_row_and_its_years_before_the_failure(short, monkeypatch, month, year_end, market):
    scenario = load_scenario(SCENARIOS / "baseline_market.toml").with_changes(end_month=59) if market else short
    seeds = replicate_seeds(11, 1)
    full = simulate(scenario, seeds=seeds, replicates=[0], firm_detail=1)
    check = Guard.year if year_end else Guard.month

    def tripping(self, t, *args):
        check(self, t, *args)
        if t == month:
            raise Tripped(
                [Failure(0, t, "battery", "value_added" if year_end else "price", math.nan, "test", year_end)]
            )

    monkeypatch.setattr(Guard, "year" if year_end else "month", tripping)
    failed = simulate(scenario, seeds=seeds, replicates=[0], firm_detail=1)
    assert failed.keys == full.keys  # the same rows, whenever it failed
    years = np.array([k[0] for k in failed.keys])
    before = years < 2022 + month // 12
    assert np.array_equal(failed.values[before, 0], full.values[before, 0], equal_nan=True)
    assert failed.failures[0]["month"] == f"{2022 + month // 12}-{month % 12 + 1:02d}"
    assert len(failed.market) == len(full.market)  # every month: those after the failure are empty
    assert failed.market.iloc[:, 3:].notna().all(axis=1).sum() == month + (1 if year_end else 0)


def test_a_batch_that_trips_raises_and_its_replicates_run_alone(short, monkeypatch):
    original = Guard.month

    def tripping(self, t, quote, *args):
        original(self, t, quote, *args)
        if t == 20 and len(quote) > 1:
            raise Tripped([Failure(1, t, "battery", "price", math.nan, "test")])

    monkeypatch.setattr(Guard, "month", tripping)
    with pytest.raises(Tripped):
        simulate_batch(short, seeds=replicate_seeds(1, 3), partial=True)  # several replicates: never partial


def test_the_summary_keeps_every_row_and_counts_the_failed():
    keys = [(2022, "china", "all", "output", "t"), (2023, "china", "all", "output", "t")]
    keys += [(2022, "china", "all", "value_added_real_growth", "%")]
    values = np.array([[1.0, 2.0, 3.0], [np.nan, 5.0, np.nan], [np.nan, np.nan, np.nan]])
    failed = np.array([[False, False, False], [True, False, True], [False, False, False]])
    frame = summarise(keys, values, "s", failed)
    assert list(frame.columns) == [*SUMMARY_COLUMNS, FAILED_COLUMN]
    assert list(frame["year"]) == [2022, 2023]  # a row undefined by definition goes; a failed one stays
    assert frame.loc[frame.year == 2023, ["mean", "failed"]].values.tolist() == [[5.0, 2]]
    everyone = summarise(keys[:1], np.array([[np.nan, np.nan]]), "s", np.array([[True, True]]))
    assert len(everyone) == 1 and everyone["mean"].isna().all() and everyone[FAILED_COLUMN].iloc[0] == 2


# --- a run with failed replicates ---------------------------------------------------------------------------
WILD_SEED = 21  # with these shocks, replicate 1 of 4 runs its carbonate price beyond 1e8 yuan/t in 2028


@pytest.fixture(scope="module")
def wild_file(tmp_path_factory):
    """The baseline with price shocks of 50% a month that persist: a valid scenario whose price can run away."""
    path = tmp_path_factory.mktemp("wild") / "wild.toml"
    text = BASELINE.read_text(encoding="utf-8").replace('name = "baseline"', 'name = "wild"')
    text = text.replace("volatility = 0.08", "volatility = 0.5").replace("persistence = 0.9 ", "persistence = 0.999 ")
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path).volatility == 0.5 and load_scenario(path).persistence == 0.999
    return path


@pytest.mark.slow
def test_a_run_with_a_runaway_replicate_exits_1_and_writes_every_row(wild_file, tmp_path, capsys):
    out = tmp_path / "wild"
    args = ["run", str(wild_file), "--replicates", "4", "--seed", str(WILD_SEED), "--out", str(out)]
    assert main([*args, "--no-charts", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "1 replicate(s) failed a numeric check" in err and "replicate 1" in err and "2028-03" in err
    assert "Traceback" not in err
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    failure = meta["numeric_failures"]["1"]
    assert (failure["month"], failure["stage"], failure["variable"]) == ("2028-03", "market", "carbonate_quote")
    assert meta["replicates_ok"] == 3
    summary = pd.read_csv(out / "summary.csv")
    rows = summary.groupby("year").size()
    assert rows.loc[2024:].nunique() == 1  # every metric in every year (2022-23 lack the growth rates)
    assert (summary.loc[summary.year >= 2028, "failed"] == 1).all() and (
        summary.loc[summary.year < 2028, "failed"] == 0
    ).all()
    assert summary[["mean", "p05", "p50", "p95"]].notna().all().all()  # three replicates are left everywhere
    read_summary(out / "summary.csv")  # and the run can be compared


@pytest.mark.slow
def test_failures_survive_a_resume(wild_file, tmp_path):
    scenario = load_scenario(wild_file)
    out = tmp_path / "wild"
    first = run_scenario(scenario, replicates=4, seed=WILD_SEED, out_dir=out, progress=False, batch_size=1)
    first.store.close()
    again = run_scenario(scenario, replicates=4, seed=WILD_SEED, out_dir=out, progress=False, resume=True)
    assert again.meta["replicates_resumed"] == 4
    assert again.meta["numeric_failures"] == first.meta["numeric_failures"] and list(again.failures) == [1]
    pd.testing.assert_frame_equal(again.summary, first.summary)


@pytest.mark.slow
def test_when_every_replicate_fails_the_rows_are_still_there(short, tmp_path, monkeypatch, capsys):
    original = Guard.month

    def tripping(self, t, *args):
        original(self, t, *args)
        if t == 30:
            raise Tripped([Failure(0, t, "battery", "price", math.nan, "test")])

    monkeypatch.setattr(Guard, "month", tripping)
    result = run_scenario(short, replicates=2, progress=False)
    summary = result.summary
    assert set(summary.year) == {2022, 2023, 2024, 2025, 2026}
    later = summary[summary.year >= 2024]
    assert later["mean"].isna().all() and (later["failed"] == 2).all()
    assert summary.loc[summary.year < 2024, "mean"].notna().all()
    path = tmp_path / "summary.csv"
    summary.to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        read_summary(path)
    assert "every replicate of that row failed" in info.value.message and "np.float64" not in info.value.message


# --- the reproducer, and the declared box ---------------------------------------------------------------------
@pytest.mark.slow
def test_the_demand_slowdown_at_the_reference_price_corner_stays_finite(tmp_path, capsys):
    """Reference price 600,000 yuan/t with storage elasticity -3 used to compound the cell price to 1e110, then
    NaN, and drop rows: the demand response compared the price with its reference at next month's fees."""
    scenario = tmp_path / "corner.toml"
    scenario.write_text(
        f'extends = "{SCENARIOS / "demand_slowdown.toml"}"\nname = "corner"\n\n[parameters]\n'
        "reference_carbonate_price = 600000\ndemand_elasticity_storage = -3.0\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["run", str(scenario), "--replicates", "2", "--out", str(out), "--no-charts", "--quiet"])
    assert code == 0, capsys.readouterr().err
    summary = pd.read_csv(out / "summary.csv")
    assert summary.groupby("year").size().loc[2024:].nunique() == 1
    assert summary[["mean", "p05", "p50", "p95"]].notna().all().all() and (summary["failed"] == 0).all()
    price = summary[(summary.metric == "price") & (summary.segment == "battery") & (summary.region == "china")]
    assert price["mean"].max() < 2.0  # yuan/Wh: cells stay priced like cells


BOX_SCENARIOS = [load_scenario(p) for p in LIBRARY if p.stem in ("baseline", "demand_slowdown", "baseline_market")]
# thousands of synthetic firms per stage cost seconds a run: those corners are drawn less often
_MANY = {name for name in PARAMETERS if name.startswith(("synthetic_firms_", "entrant_slots_"))}


@st.composite
def box_points(draw: st.DrawFn) -> dict[str, float]:
    """A corner of the declared box (every parameter at its low or high end) or a random point in it."""
    corner = draw(st.booleans())
    values = {}
    for name, decl in PARAMETERS.items():
        if name in _MANY and not draw(st.integers(0, 4)) == 0:
            continue
        if corner:
            value = decl.high if draw(st.booleans()) else decl.low
        else:
            value = draw(st.floats(decl.low, decl.high, allow_nan=False))
        values[name] = int(round(value)) if decl.integer else value
    return values


@pytest.mark.slow
@settings(max_examples=16, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(values=box_points(), which=st.integers(0, len(BOX_SCENARIOS) - 1))
def test_the_declared_parameter_box_is_jointly_safe(values, which):
    """Corners and random points of every declared range (sim/inputs/params.py, sim/inputs/chain.py), on the
    library's baseline, demand slowdown and market mode: no check fails, no value is NaN (warnings are errors)."""
    scenario = BOX_SCENARIOS[which]
    params = build_params(values, "the box", base=scenario.params)
    record = simulate_batch(scenario, params=params, seeds=replicate_seeds(7, 1))  # raises Tripped on failure
    assert not record.failures
    for name, series in record.market.items():
        assert np.isfinite(series).all(), name
