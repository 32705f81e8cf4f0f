"""Calibration: targets (with their kinds) and free parameters as data (errors name the file and key), moments
equal to the run summary, the objective, common random numbers on seeds of their own, checkpoint and resumption,
the recovery check's verdicts, and the package's single door into the model (`sim.api`). The quick calibration
end to end (parameter file, report with in-sample and out-of-sample columns, rolling-origin backtest against
persistence, recovery) is tests/test_calibration_run.py.

Everything runs with the quick budget (calibration/README.md; the full calibration is `lithium-sim calibrate`).
The module is self-contained: it uses no shared fixture.
"""

from __future__ import annotations

import ast
import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from calibration import command, fit
from calibration.moments import MomentSpec, fresh_seed, simulate_moments
from calibration.objective import PENALTY, Problem, evaluate_candidate
from calibration.optimise import Evaluator, SearchSpace, atomic_write_text, search
from calibration.seeds import CALIBRATION_KEY
from calibration.targets import GROUPS, INFORMATIVE, KINDS, check_units, load_free_parameters, load_targets
from sim.api import PARAMETERS, Executor, InputError, load_param_file, load_scenario, run
from sim.cli import build_parser
from sim.cli import main as cli_main

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
MARKET = ROOT / "scenarios" / "baseline_market.toml"
HAND_SET = ROOT / "calibration" / "parameters.toml"
TARGETS = ROOT / "calibration" / "targets.toml"
FREE = ROOT / "calibration" / "free_parameters.toml"


def calibrate_args(*extra: str):
    """The namespace the command line builds for ``lithium-sim calibrate ...``."""
    return build_parser().parse_args(["calibrate", *extra])


# ---------------------------------------------------------------------------------------------------------
# the package reaches the model through sim.api only
# ---------------------------------------------------------------------------------------------------------
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "pandas", "matplotlib", "SALib", "tqdm"}


def test_calibration_imports_the_model_through_sim_api_only():
    import sys

    for path in sorted((ROOT / "calibration").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                ok = (
                    module == "sim.api"
                    or top == "calibration"
                    or top in ALLOWED_THIRD_PARTY
                    or top in sys.stdlib_module_names
                    or top == "__future__"
                )
                assert ok, f"{path.name} imports {module}"


# ---------------------------------------------------------------------------------------------------------
# targets and free parameters
# ---------------------------------------------------------------------------------------------------------
def test_targets_cover_the_report_the_2024_glut_and_the_market_mode():
    targets = {t.name: t for t in load_targets()}
    by_spec = {
        (t.spec.scenario, t.spec.metric, t.spec.region, t.spec.segment, t.spec.year): t
        for t in targets.values()
        if t.used
    }
    expected = {
        ("baseline", "national_share", "suining", "lithium_salt", 2023): 7.0,
        ("baseline", "national_share", "suining", "lfp_cathode", 2023): 18.0,
        ("baseline", "value_added_real_growth", "suining", "all", 2023): 21.8,
        ("baseline", "output_value", "suining", "all", 2022): 580.0,
        ("baseline", "capacity", "china", "lfp_cathode", 2024): 5_000_000.0,
        ("baseline", "gross_margin_leaders", "china", "battery", 2023): 22.9,
        ("baseline_market", "price", "world", "lithium_salt", 2024): 90_000.0,
        ("baseline_market", "supply", "world", "lithium_salt", 2024): 1_255_000.0,
    }
    for spec, value in expected.items():
        assert by_spec[spec].value == value, spec
    for segment in ("lithium_salt", "lfp_cathode", "battery"):
        for year in (2022, 2023, 2024):
            assert ("baseline", "output", "china", segment, year) in by_spec
    for t in targets.values():
        assert t.source and t.kind in KINDS
        assert t.spec.scenario in GROUPS.values()
        if t.used:
            assert t.tolerance_low > 0 and t.tolerance_high > 0
        if t.used and t.kind == "fitted":
            assert t.weight > 0
        if t.kind != "fitted":
            assert t.reason and not t.fitted
    h1 = targets["suining_real_va_growth_h1_2022"]
    assert h1.value == 371.9 and not h1.used and "2021" in h1.reason


def test_targets_that_are_inputs_or_identities_are_marked_and_never_fitted():
    """Cell output equals the scenario's cell demand; salt output in 2022-23 follows from the non-LFP demand
    derived from it. Neither may count as a fit."""
    targets = {t.name: t for t in load_targets()}
    for year in (2022, 2023, 2024):
        assert targets[f"china_battery_output_{year}"].kind == "input"
    for year in (2022, 2023, 2024):  # the scenario derives its non-LFP salt demand from these figures
        salt = targets[f"china_salt_output_{year}"]
        assert salt.kind == "identity" and set(salt.given) == {"lfp_t_per_gwh", "lce_per_t_lfp"}
    for name in ("suining_salt_share_2023", "suining_lfp_share_2023", "suining_real_va_growth_2023"):
        assert targets[name].fitted and targets[name].informative
    assert {t.kind for t in targets.values() if t.informative} <= set(INFORMATIVE)


def test_target_units_are_the_summarys():
    setup_units = fit.summary_units(
        {
            "baseline": load_scenario(BASELINE, parameter_file=HAND_SET),
            "baseline_market": load_scenario(MARKET, parameter_file=HAND_SET),
        }
    )
    check_units(load_targets(), setup_units, str(TARGETS))  # raises on a mismatch
    for t in load_targets():
        s = t.spec
        if t.used:
            regions = [s.region]
            if s.region.startswith("plant:"):  # named plants, summed when joined by +
                regions = [f"plant:{i}" for i in s.region.split(":", 1)[1].split("+")]
            for region in regions:
                assert setup_units[(s.scenario, region, s.segment, s.metric)] == t.unit


def test_free_parameters_lie_within_declared_ranges_and_hold_the_hand_set_values():
    free = load_free_parameters()
    base, _ = load_param_file(HAND_SET)
    assert {p.group for p in free} == set(GROUPS)
    assert any(p.fit and p.group == "firms" for p in free) and any(p.fit and p.group == "market" for p in free)
    for p in free:
        declared = PARAMETERS[p.name]
        assert declared.low <= p.low < p.high <= declared.high, p.name
        assert p.reason and p.unit == declared.unit
        if not p.fit:
            assert p.low <= getattr(base, p.name) <= p.high, p.name


def _edited(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    text = source.read_text(encoding="utf-8")
    assert old in text
    out = tmp_path / source.name
    out.write_text(text.replace(old, new, 1), encoding="utf-8")
    return out


SALT_SHARE = 'tolerance = 1.5\nweight = 4.0\nused = true\nsource = "2024 work report line 21: 基础锂盐'
SHARE_KIND = "targets.suining_salt_share_2023.kind"
BATTERY_REASON = next(
    line + "\n" for line in TARGETS.read_text(encoding="utf-8").splitlines() if "cell demand for 2022 (" in line
)


@pytest.mark.parametrize(
    "old,new,key",
    [
        (SALT_SHARE, SALT_SHARE.replace("1.5", '"wide"'), "targets.suining_salt_share_2023.tolerance"),
        ('metric = "national_share"', 'metric = "market_share"', "targets.suining_salt_share_2023.metric"),
        ('scenario = "baseline_market"', 'scenario = "market"', "targets.carbonate_price_2022.scenario"),
        ("year = 2023\nvalue = 7.0", "year = 2023\nvalue = 7.0\ncolour = 1", "targets.suining_salt_share_2023.colour"),
        ('[targets.suining_salt_share_2023]\nkind = "fitted"\n', "[targets.suining_salt_share_2023]\n", SHARE_KIND),
        (
            '[targets.suining_salt_share_2023]\nkind = "fitted"',
            '[targets.suining_salt_share_2023]\nkind = "fit"',
            SHARE_KIND,
        ),
        (
            '[targets.suining_salt_share_2023]\nkind = "fitted"',
            '[targets.suining_salt_share_2023]\nkind = "fitted"\ngiven = "lfp_t_per_gwh"',
            "targets.suining_salt_share_2023.given",
        ),
        (
            'given = ["lfp_t_per_gwh", "lce_per_t_lfp"]',
            'given = ["lfp_tonnes"]',
            "targets.china_salt_output_2022.given",
        ),
        (BATTERY_REASON, "", "targets.china_battery_output_2022.reason"),  # an input says why
    ],
)
def test_a_malformed_targets_file_names_the_file_and_key(tmp_path, old, new, key):
    bad = _edited(tmp_path, TARGETS, old, new)
    with pytest.raises(InputError) as err:
        load_targets(bad)
    assert err.value.file == str(bad) and err.value.key == key


def test_a_target_in_the_wrong_unit_is_rejected_naming_the_file_and_key(tmp_path):
    bad = _edited(tmp_path, TARGETS, 'unit = "%"', 'unit = "percent"')
    units = {("baseline", "suining", "lithium_salt", "national_share"): "%"}
    with pytest.raises(InputError) as err:
        check_units(load_targets(bad), units, str(bad))
    assert err.value.file == str(bad) and err.value.key == "targets.suining_salt_share_2023.unit"


@pytest.mark.parametrize(
    "old,new,key,detail",
    [
        (
            "low = 0.5\nhigh = 12.0",
            "low = 0.5\nhigh = 99.0",
            "parameters.competitiveness_elasticity.high",
            "out of range",
        ),
        (
            'group = "market"\nlow = 2.0',
            'group = "world"\nlow = 2.0',
            "parameters.initial_inventory_days.group",
            "firms, market",
        ),
        (
            "[parameters.ramp_up_months]",
            "[parameters.ramp_up_weeks]",
            "parameters.ramp_up_weeks",
            "not a model parameter",
        ),
        (
            'high = 12.0\nunit = "1"',
            'high = 12.0\nunit = "yuan"',
            "parameters.competitiveness_elasticity.unit",
            "declared unit",
        ),
    ],
)
def test_a_malformed_free_parameter_file_names_the_file_and_key(tmp_path, old, new, key, detail):
    bad = _edited(tmp_path, FREE, old, new)
    with pytest.raises(InputError) as err:
        load_free_parameters(bad)
    assert err.value.file == str(bad) and err.value.key == key and detail in err.value.detail


def test_the_calibrate_verb_exits_2_on_a_malformed_targets_file(tmp_path, capsys):
    bad = tmp_path / "targets.toml"
    bad.write_text("[targets.x]\nmetric = 3\n", encoding="utf-8")
    code = cli_main(["calibrate", "--quick", "--targets", str(bad), "--out", str(tmp_path / "c.toml"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "targets.x.metric" in err and "Traceback" not in err
    assert not (tmp_path / "c.toml").exists()


def test_calibrate_never_overwrites_the_hand_set_file():
    with pytest.raises(InputError) as err:
        command.run_calibrate(calibrate_args("--quick", "--out", str(HAND_SET)))
    assert err.value.key == "--out"


def test_config_reads_the_command_lines_options(tmp_path):
    config = command.config_from_args(
        calibrate_args(
            "--seeds",
            "4",
            "--popsize",
            "3",
            "--maxiter",
            "7",
            "--through",
            "2023",
            "--no-backtest",
            "--no-recovery",
            "--sensitivity",
            "none",
            "--workers",
            "1",
            "--fresh",
            "--quiet",
            "--out",
            str(tmp_path / "c.toml"),
        )
    )
    b = config.budget
    assert (b.name, b.seeds, b.popsize, b.maxiter, b.backtest, b.recovery, b.sensitivity) == (
        "default",
        4,
        3,
        7,
        False,
        False,
        "none",
    )
    assert config.through == 2023 and config.workers == 1 and not config.resume and not config.progress
    assert config.checkpoint_path("firms") == tmp_path / ".c.checkpoint.firms.json"
    assert command.config_from_args(calibrate_args("--quick")).budget.name == "quick"
    with pytest.raises(InputError) as err:
        command.config_from_args(calibrate_args("--through", "2021"))
    assert err.value.key == "--through"


def test_the_checkpoint_fingerprint_covers_the_model_code_and_data(tmp_path, monkeypatch):
    names = {f.relative_to(ROOT).as_posix() for f in fit.fingerprinted_files()}
    for required in (
        "sim/engine/model.py",
        "sim/inputs/params.py",
        "sim/outputs/metrics.py",
        "sim/outputs/scoreboard.py",
        "agents/firm.py",
        "calibration/moments.py",
        "calibration/objective.py",
    ):
        assert required in names
    assert any(n.startswith("sim/inputs/data/") and n.endswith(".csv") for n in names)
    assert "sim/cli.py" not in names and "calibration/report.py" not in names
    # a copy of the tree: changing a data file changes the fingerprint, changing the command line does not
    for name in names | {"sim/cli.py"}:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(fit, "ROOT", tmp_path)
    before = fit.source_fingerprint()
    (tmp_path / "sim" / "cli.py").write_text("# edited\n", encoding="utf-8")
    assert fit.source_fingerprint() == before
    data = sorted((tmp_path / "sim" / "inputs" / "data").glob("*.csv"))[0]
    data.write_text(data.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert fit.source_fingerprint() != before


# ---------------------------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenarios():
    return {
        "baseline": load_scenario(BASELINE, parameter_file=HAND_SET),
        "baseline_market": load_scenario(MARKET, parameter_file=HAND_SET),
    }


def test_moments_are_the_run_summarys_figures(scenarios):
    """simulate_moments on the scenario's first replicate seeds gives what `lithium-sim run` summarises."""
    for name, scenario in scenarios.items():
        specs = tuple(t.spec for t in load_targets() if t.used and t.spec.scenario == name)
        specs += (MomentSpec("national_share", "suining", "lfp_cathode", 2027, name),)
        seeds = np.random.SeedSequence(scenario.seed).spawn(2)
        moments = simulate_moments(scenario, scenario.params, seeds, specs, months=scenario.n_months)
        result = run(scenario, replicates=2, progress=False)
        summary = result.summary.set_index(["year", "region", "segment", "metric"])["mean"]
        firms = result.firms.groupby(["firm_id", "year"]).mean(numeric_only=True)  # mean over the replicates
        result.store.discard()
        for k, s in enumerate(specs):
            if s.region.startswith("plant:"):  # named plants: the firm table's figures, summed over the plants
                ids = s.region.split(":", 1)[1].split("+")
                expected = sum(firms.loc[(i, s.year), s.metric] for i in ids)
            else:
                expected = summary[(s.year, s.region, s.segment, s.metric)]
            assert moments[:, k].mean() == pytest.approx(expected, rel=1e-9, abs=1e-9), s.label


def test_stopping_after_the_last_target_year_changes_no_figure(scenarios):
    scenario = scenarios["baseline"]
    specs = tuple(t.spec for t in load_targets() if t.used and t.spec.scenario == "baseline")
    seeds = np.random.SeedSequence(3).spawn(2)
    short = simulate_moments(scenario, scenario.params, seeds, specs)
    full = simulate_moments(scenario, scenario.params, seeds, specs, months=scenario.n_months)
    np.testing.assert_array_equal(short, full)


def test_a_seed_reused_gives_the_same_moments(scenarios):
    """SeedSequence.spawn is stateful, so every run gets a fresh copy of each seed."""
    scenario = scenarios["baseline"]
    specs = (MomentSpec("national_share", "suining", "lfp_cathode", 2023),)
    seed = np.random.SeedSequence(5)
    seed.spawn(3)  # a used seed: its copy must not remember it
    first = simulate_moments(scenario, scenario.params, [seed], specs)
    np.testing.assert_array_equal(simulate_moments(scenario, scenario.params, [fresh_seed(seed)], specs), first)


# ---------------------------------------------------------------------------------------------------------
# objective, common random numbers, optimiser
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def setup():
    return fit.load_setup(fit.CalibrationConfig(budget=dataclasses.replace(fit.QUICK, seeds=2), progress=False))


def test_the_calibration_seeds_have_their_own_spawn_key(setup):
    """Never the first replicates of a run (tests/test_seeds.py compares their states with the library's runs)."""
    assert [s.spawn_key for s in setup.seeds] == [(CALIBRATION_KEY, j) for j in range(len(setup.seeds))]
    assert setup.seeds[0].entropy == load_scenario(BASELINE).seed
    assert {t.kind for t in setup.fitted_targets} == {"fitted"}
    assert len(setup.problem.specs) == len(setup.fitted_targets) < len(setup.scored_targets)


def _start(setup) -> np.ndarray:
    return np.array([getattr(setup.base, n) for n in setup.problem.names], dtype=float)


def test_the_objective_measures_gaps_in_tolerance_units(setup):
    p = setup.problem
    assert p.objective(p.values) == 0.0
    np.testing.assert_allclose(p.z(p.values + p.tolerance_high), 1.0)
    np.testing.assert_allclose(p.z(p.values - p.tolerance_low), -1.0)
    assert p.objective(p.values + p.tolerance_high) == pytest.approx(p.weights.sum())
    assert p.objective(np.full(len(p.values), np.nan)) == PENALTY


def test_the_objective_is_zero_at_targets_equal_to_the_models_own_moments(setup):
    p = setup.problem
    x = _start(setup)
    own = evaluate_candidate(p, x).mean
    assert np.all(np.isfinite(own))
    at_own = dataclasses.replace(p, values=own)
    assert evaluate_candidate(at_own, x).energy == 0.0
    moved = x.copy()
    moved[p.names.index("processing_fee_cell")] *= 1.2
    assert evaluate_candidate(at_own, moved).energy > 0.0


def test_common_random_numbers_make_the_objective_deterministic(setup):
    """The same candidate gives the same moments and objective, whatever process or order evaluates it."""
    xs = [_start(setup), (_start(setup) + setup.space.low) / 2]
    here = [evaluate_candidate(setup.problem, x) for x in xs]
    again = [evaluate_candidate(setup.problem, x) for x in reversed(xs)][::-1]
    with fit.open_executor(2, None) as pool:
        there = pool.map(evaluate_candidate, [setup.problem] * 2, xs)
    for a, b, c in zip(here, again, there, strict=True):
        np.testing.assert_array_equal(a.moments, b.moments)
        np.testing.assert_array_equal(a.moments, c.moments)
        assert a.energy == b.energy == c.energy < PENALTY
    assert here[0].energy != here[1].energy


def test_a_failing_candidate_is_recorded_not_raised(setup):
    x = _start(setup)
    x[setup.problem.names.index("competitiveness_elasticity")] = -5.0  # outside its declared range
    ev = evaluate_candidate(setup.problem, x)
    assert ev.energy == PENALTY and ev.failures and "out of range" in ev.failures[0]


def test_each_group_runs_only_its_own_scenario(setup):
    firms, _, _, firms_targets = fit.group_problem(setup, "firms", setup.base, None, setup.seeds)
    market, _, _, market_targets = fit.group_problem(setup, "market", setup.base, None, setup.seeds)
    assert {s.scenario for s in firms.specs} == {"baseline"} and {s.scenario for s in market.specs} == {
        "baseline_market"
    }
    assert {p.group for p in setup.free if p.name in firms.names} == {"firms"}
    assert {p.group for p in setup.free if p.name in market.names} == {"market"}
    _, _, _, early = fit.group_problem(setup, "firms", setup.base, 2023, setup.seeds)
    assert early and max(t.spec.year for t in early) == 2023 < max(t.spec.year for t in firms_targets)
    assert market_targets


def _small(setup) -> tuple[Problem, SearchSpace]:
    names = ("suining_cost_factor_lfp", "processing_fee_cell")
    bounds = {p.name: p for p in setup.free}
    problem, _, _, _ = fit.group_problem(setup, "firms", setup.base, 2023, setup.seeds[:1])
    problem = problem.with_free(setup.base, names, (False, False))
    space = SearchSpace(
        np.array([bounds[n].low for n in names]), np.array([bounds[n].high for n in names]), np.array([False, False])
    )
    return problem, space


def test_an_interrupted_search_resumes_exactly(setup, tmp_path):
    problem, space = _small(setup)
    here = Executor(1)
    kwargs = {"popsize": 5, "tol": 0.0, "de_seed": 1}
    whole = search(problem, space, Evaluator(problem, space, here), maxiter=2, **kwargs)

    checkpoint = tmp_path / ".checkpoint.json"
    config = {"test": "resume"}
    first = search(
        problem, space, Evaluator(problem, space, here), maxiter=1, checkpoint=checkpoint, config=config, **kwargs
    )
    assert first.generations == 1 and checkpoint.is_file()
    resumed_evaluator = Evaluator(problem, space, here)
    resumed = search(problem, space, resumed_evaluator, maxiter=2, checkpoint=checkpoint, config=config, **kwargs)
    assert resumed.resumed_from == 1 and resumed.generations == 2
    # only the missing generation was run, and the record counts every evaluation
    assert resumed_evaluator.evaluations == whole.history[2][2] - whole.history[1][2]
    assert resumed.history == whole.history
    np.testing.assert_array_equal(resumed.population, whole.population)
    np.testing.assert_array_equal(resumed.x, whole.x)
    # another configuration does not resume from it
    other = search(
        problem,
        space,
        Evaluator(problem, space, here),
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
