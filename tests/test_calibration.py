"""Calibration: targets and free parameters as data, moments equal to the run summary, common random numbers,
checkpoint and resumption, the quick calibration end to end, and parameter recovery.

Everything runs with the quick budget (docs/model.md and calibration/README.md; the full calibration is `lithium-sim calibrate`).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from sim.outputs.results import collect

from calibration import fit
from calibration.moments import METRICS, REGIONS, SEGMENTS_ALL, MomentSpec, model_moments, simulate_moments
from calibration.objective import PENALTY, evaluate_candidate
from calibration.optimise import Evaluator, SearchSpace, atomic_write_text, search
from calibration.parallel import DaskExecutor, LocalExecutor, SerialExecutor
from calibration.recovery import QUICK_RECOVERY, RECOVERY_TOLERANCE, RECOVERY_TRUTH, recover
from calibration.targets import load_free_parameters, load_targets
from sim.engine.model import LithiumModel
from sim.inputs.errors import InputError
from sim.inputs.params import PARAM_FIELDS, load_param_file
from sim.inputs.scenario import load_scenario
from sim.runs.runner import release
from tests.conftest import BASELINE

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------------------
# targets and free parameters
# ---------------------------------------------------------------------------------------------------------
def test_targets_cover_the_issue_list_with_sources_and_tolerances():
    targets = {t.name: t for t in load_targets()}
    expected = {
        ("national_share", "suining", "lithium_salt", 2023): 7.0,
        ("national_share", "suining", "lfp_cathode", 2023): 18.0,
        ("value_added_real_growth", "suining", "all", 2023): 21.8,
        ("output_value", "suining", "all", 2022): 580.0,
        ("output_value", "suining", "all", 2023): 590.0,
        ("utilization", "china", "lithium_salt", 2022): 0.66,
    }
    by_spec = {
        (t.spec.metric, t.spec.region, t.spec.segment, t.spec.year): t for t in targets.values() if t.used
    }
    for spec, value in expected.items():
        assert by_spec[spec].value == value
    for segment in ("lithium_salt", "lfp_cathode", "battery"):
        for year in (2022, 2023):
            assert ("output", "china", segment, year) in by_spec
    # the done-when bands: shares within 1.5 points, real growth within 5 points
    assert by_spec[("national_share", "suining", "lithium_salt", 2023)].tolerance_low == 1.5
    assert by_spec[("national_share", "suining", "lfp_cathode", 2023)].tolerance_high == 1.5
    assert by_spec[("value_added_real_growth", "suining", "all", 2023)].tolerance_low == 5.0
    for t in targets.values():
        assert t.source
        if t.used:
            assert t.tolerance_low > 0 and t.tolerance_high > 0 and t.weight > 0
    # H1 2022 growth is kept on record, not fitted, with the reason
    h1 = targets["suining_real_va_growth_h1_2022"]
    assert h1.value == 371.9 and not h1.used and "2021" in h1.reason


def test_free_parameters_lie_within_declared_ranges_and_hold_the_hand_set_values():
    free = load_free_parameters()
    base, _ = load_param_file(ROOT / "calibration" / "parameters.toml")
    assert {
        "competitiveness_elasticity",
        "suining_cost_factor_salt",
        "suining_cost_factor_lfp",
        "suining_cost_factor_cell",
        "conversion_allowance",
        "processing_fee_lfp",
        "investment_sensitivity",
        "construction_lag_salt",
        "exit_after_loss_months",
    } <= {p.name for p in free}
    for p in free:
        low, high = PARAM_FIELDS[p.name].metadata["range"]
        assert low <= p.low < p.high <= high, p.name
        assert p.reason and p.unit == PARAM_FIELDS[p.name].metadata["unit"]
        assert p.low <= getattr(base, p.name) <= p.high, p.name


@pytest.mark.parametrize(
    "edit,key",
    [
        (
            (
                'tolerance = 1.5\nweight = 4.0\nused = true\nsource = "2024 work report line 21: 基础锂盐',
                'tolerance = "wide"\nweight = 4.0\nused = true\nsource = "2024 work report line 21: 基础锂盐',
            ),
            "targets.suining_salt_share_2023.tolerance",
        ),
        (('metric = "national_share"', 'metric = "market_share"'), "targets.suining_salt_share_2023.metric"),
        (('unit = "%"', 'unit = "percent"'), "targets.suining_salt_share_2023.unit"),
    ],
)
def test_malformed_targets_file_names_the_file_and_key(tmp_path, edit, key):
    text = (ROOT / "calibration" / "targets.toml").read_text(encoding="utf-8")
    assert edit[0] in text
    bad = tmp_path / "targets.toml"
    bad.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_targets(bad)
    assert err.value.file == str(bad) and err.value.key == key


def test_free_parameter_bounds_outside_the_declared_range_are_rejected(tmp_path):
    text = (ROOT / "calibration" / "free_parameters.toml").read_text(encoding="utf-8")
    bad = tmp_path / "free.toml"
    bad.write_text(text.replace("low = 0.5\nhigh = 12.0", "low = 0.5\nhigh = 99.0", 1), encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_free_parameters(bad)
    assert err.value.key == "parameters.competitiveness_elasticity.high"
    assert "out of range" in err.value.detail


def _calibrate_args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lithium-sim")
    sub = parser.add_subparsers(dest="command", required=True)
    fit.add_calibrate_parser(sub)
    return parser.parse_args(["calibrate", *extra])


def test_calibrate_verb_rejects_a_malformed_targets_file(tmp_path):
    bad = tmp_path / "targets.toml"
    bad.write_text("[targets.x]\nmetric = 3\n", encoding="utf-8")
    args = _calibrate_args("--quick", "--targets", str(bad), "--out", str(tmp_path / "c.toml"), "--quiet")
    with pytest.raises(InputError) as err:
        fit.run_calibrate(args)
    assert err.value.file == str(bad) and err.value.key == "targets.x.metric"


def test_calibrate_never_overwrites_the_hand_set_file():
    args = _calibrate_args("--quick", "--out", str(ROOT / "calibration" / "parameters.toml"))
    with pytest.raises(InputError) as err:
        fit.run_calibrate(args)
    assert err.value.key == "--out"


# ---------------------------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BASELINE, parameter_file=ROOT / "calibration" / "parameters.toml")


def test_moments_equal_the_run_summary(scenario):
    """The fast moments are the summary's figures: every metric, region, segment and year."""
    model = LithiumModel(scenario, rng=np.random.default_rng(np.random.SeedSequence(11))).run()
    summary = collect(model).summary.set_index(["year", "region", "segment", "metric"])
    specs = [
        MomentSpec(m, r, s, y)
        for m in METRICS
        for r in REGIONS
        for s in SEGMENTS_ALL
        for y in scenario.years
        if not MomentSpec(m, r, s, y).problem()
    ]
    values = model_moments(model, specs)
    model.remove_all_agents()
    release(model)
    assert len(specs) > 300
    for spec, value in zip(specs, values, strict=True):
        row = summary.loc[(spec.year, spec.region, spec.segment, spec.metric)]
        assert value == pytest.approx(row["value"], rel=1e-10, abs=1e-9), spec
        assert row["unit"] == spec.unit, spec


def test_stepping_through_the_target_years_equals_the_full_run(scenario):
    """Calibration stops each replicate after the last target year: the earlier months are unchanged."""
    specs = tuple(t.spec for t in load_targets() if t.used)
    seed = np.random.SeedSequence(3)
    model = LithiumModel(scenario, rng=np.random.default_rng(np.random.SeedSequence(3))).run()
    full = model_moments(model, specs)
    model.remove_all_agents()
    release(model)
    np.testing.assert_array_equal(simulate_moments(scenario, scenario.params, seed, specs), full)


def test_a_seed_reused_gives_the_same_moments(scenario):
    """Common random numbers: SeedSequence.spawn is stateful, so every run must get a fresh copy."""
    specs = tuple(t.spec for t in load_targets() if t.used)
    seed = np.random.SeedSequence(5)
    first = simulate_moments(scenario, scenario.params, seed, specs)
    np.testing.assert_array_equal(simulate_moments(scenario, scenario.params, seed, specs), first)


# ---------------------------------------------------------------------------------------------------------
# objective, executors, optimiser
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def setup():
    return fit.load_setup(
        fit.CalibrationConfig(budget=dataclasses.replace(fit.QUICK, seeds=2), progress=False)
    )


def test_objective_measures_gaps_in_tolerance_units(setup):
    p = setup.problem
    assert p.objective(p.values) == 0.0
    above = p.values + p.tolerance_high
    below = p.values - p.tolerance_low
    np.testing.assert_allclose(p.z(above), 1.0)
    np.testing.assert_allclose(p.z(below), -1.0)
    assert p.objective(above) == pytest.approx(p.weights.sum())
    assert p.objective(np.full(len(p.values), np.nan)) == PENALTY


def test_a_failing_candidate_is_recorded_not_raised(setup):
    x = np.array([getattr(setup.base, n) for n in setup.problem.names])
    x[0] = -5.0  # outside the declared range of competitiveness_elasticity: ModelParams rejects it
    ev = evaluate_candidate(setup.problem, x)
    assert ev.energy == PENALTY and ev.failures and "outside its range" in ev.failures[0]


def test_local_workers_give_the_same_evaluations_as_this_process(setup):
    rng = np.random.default_rng(0)
    xs = [
        setup.space.low + rng.random(len(setup.space.low)) * (setup.space.high - setup.space.low)
        for _ in range(3)
    ]
    here = SerialExecutor().map(evaluate_candidate, [setup.problem] * 3, xs)
    pool = LocalExecutor(2)
    try:
        there = pool.map(evaluate_candidate, [setup.problem] * 3, xs)
    finally:
        pool.close()
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.moments, b.moments)
        assert a.energy == b.energy


def test_a_dask_cluster_gives_the_same_evaluations_as_this_process(setup):
    distributed = pytest.importorskip("distributed")
    xs = [setup.space.low, setup.space.high]
    here = SerialExecutor().map(evaluate_candidate, [setup.problem] * 2, xs)
    with distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            there = executor.map(evaluate_candidate, [setup.problem] * 2, xs)
        finally:
            executor.close()
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.moments, b.moments)


def _small(setup):
    names = ("suining_cost_factor_lfp", "processing_fee_cell")
    bounds = {p.name: p for p in setup.free}
    problem = setup.problem.with_free(setup.base, names, (False, False))
    space = SearchSpace(
        np.array([bounds[n].low for n in names]),
        np.array([bounds[n].high for n in names]),
        np.array([False, False]),
    )
    return problem, space


def test_an_interrupted_search_resumes_exactly(setup, tmp_path):
    problem, space = _small(setup)
    kwargs = {"popsize": 3, "tol": 0.0, "de_seed": 1}
    whole = search(problem, space, Evaluator(problem, space, SerialExecutor()), maxiter=2, **kwargs)

    checkpoint = tmp_path / ".checkpoint.json"
    config = {"test": "resume"}
    first = search(
        problem,
        space,
        Evaluator(problem, space, SerialExecutor()),
        maxiter=1,
        checkpoint=checkpoint,
        config=config,
        **kwargs,
    )
    assert first.generations == 1 and checkpoint.is_file()
    resumed_evaluator = Evaluator(problem, space, SerialExecutor())
    resumed = search(
        problem, space, resumed_evaluator, maxiter=2, checkpoint=checkpoint, config=config, **kwargs
    )
    assert resumed.resumed_from == 1 and resumed.generations == 2
    # only the missing generation was run, and the record counts every evaluation
    assert resumed_evaluator.evaluations == whole.history[2][2] - whole.history[1][2]
    assert resumed.history == whole.history
    np.testing.assert_array_equal(resumed.population, whole.population)
    np.testing.assert_array_equal(resumed.energies, whole.energies)
    np.testing.assert_array_equal(resumed.x, whole.x)

    # another configuration does not resume from it
    other = search(
        problem,
        space,
        Evaluator(problem, space, SerialExecutor()),
        maxiter=0,
        checkpoint=checkpoint,
        config={"test": "other"},
        **kwargs,
    )
    assert other.resumed_from is None


def test_an_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "calibrated.toml"
    target.write_text("old", encoding="utf-8")

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("calibration.optimise.os.replace", fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["calibrated.toml"]


# ---------------------------------------------------------------------------------------------------------
# the quick calibration end to end, through the command's functions
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibrate")
    args = _calibrate_args(
        "--quick",
        "--workers",
        "2",
        "--out",
        str(out / "calibrated.toml"),
        "--report-dir",
        str(out / "report"),
        "--quiet",
    )
    assert fit.run_calibrate(args) == 0
    return out


def test_quick_calibration_writes_a_valid_parameter_file(quick_run):
    path = quick_run / "calibrated.toml"
    params, data = load_param_file(path)
    meta = data["meta"]
    assert meta["kind"] == "calibrated" and meta["budget"] == "quick"
    for key in ("date", "code_version", "objective", "seed_master", "seeds", "de_seed", "generations"):
        assert key in meta
    free = {p.name: p for p in load_free_parameters()}
    for name in meta["fitted"]:
        assert free[name].low <= getattr(params, name) <= free[name].high
    hand, _ = load_param_file(ROOT / "calibration" / "parameters.toml")
    for name in meta["held"]:
        assert getattr(params, name) == getattr(hand, name)
    assert set(data["fit"]) == {t.name for t in load_targets() if t.used}
    # a scenario run with it uses exactly these parameters
    assert load_scenario(BASELINE, parameter_file=path).params == params
    assert (quick_run / ".calibrated.checkpoint.json").is_file()


def test_quick_calibration_writes_the_report(quick_run):
    report = quick_run / "report"
    text = (report / "REPORT.md").read_text(encoding="utf-8")
    for section in (
        "## Fit",
        "## Parameters, with uncertainty",
        "## Identification",
        "## Sensitivity",
        "## Parameter recovery",
    ):
        assert section in text
    for chart in ("fit", "parameters", "identification", "sensitivity", "recovery", "convergence"):
        assert (report / f"{chart}.png").stat().st_size > 5000
    for table in ("fit", "parameters", "identification", "sensitivity", "recovery"):
        assert (report / f"{table}.csv").stat().st_size > 0
    assert not list(quick_run.glob(".report.partial-*"))


def test_calibrate_again_resumes_from_the_finished_checkpoint(quick_run):
    """Run again with the same inputs: the search resumes at its last generation, same values."""
    before = load_param_file(quick_run / "calibrated.toml")[0]
    args = _calibrate_args("--quick", "--workers", "1", "--out", str(quick_run / "calibrated.toml"),
                           "--report-dir", str(quick_run / "report"), "--quiet", "--no-recovery",
                           "--sensitivity", "none")
    assert fit.run_calibrate(args) == 0
    assert load_param_file(quick_run / "calibrated.toml")[0] == before
    assert "Resumed from a checkpoint at generation 2" in (quick_run / "report" / "REPORT.md").read_text(
        encoding="utf-8")


def test_parameter_recovery_in_quick_mode(setup):
    """Targets generated by the model at known parameters are calibrated back within the stated tolerance."""
    truth = {n: RECOVERY_TRUTH[n] for n in QUICK_RECOVERY}
    b = fit.QUICK
    result = recover(
        setup.problem,
        setup.free,
        SerialExecutor(),
        truth=truth,
        seeds=b.recovery_seeds,
        popsize=b.recovery_popsize,
        maxiter=b.recovery_maxiter,
    )
    assert result.names == QUICK_RECOVERY
    np.testing.assert_array_less(result.error, RECOVERY_TOLERANCE + 1e-12)
    assert result.passed
