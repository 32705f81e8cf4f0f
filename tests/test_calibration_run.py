"""The quick calibration end to end, through the command line: the parameter file, the report, the fit table,
the backtest, the recovery check and a resumed second run (one module fixture runs it once)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calibration import command, fit
from calibration.backtest import NO_EARLIER
from calibration.recovery import MIN_COVERAGE, QUICK_RECOVERY, RecoveryResult, Replication
from calibration.seeds import CALIBRATION_KEY
from calibration.targets import GROUPS, INFORMATIVE, KINDS, load_free_parameters, load_targets
from sim.api import load_param_file, load_scenario
from sim.cli import main as cli_main
from tests.test_calibration import BASELINE, HAND_SET, calibrate_args

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`


# ---------------------------------------------------------------------------------------------------------
# the quick calibration end to end, through the command line
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibrate")
    code = cli_main(
        [
            "calibrate",
            "--quick",
            "--workers",
            "1",
            "--sensitivity",
            "none",
            "--out",
            str(out / "calibrated.toml"),
            "--report-dir",
            str(out / "report"),
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_the_quick_calibration_writes_a_readable_parameter_file(quick_run):
    path = quick_run / "calibrated.toml"
    params, data = load_param_file(path)
    meta = data["meta"]
    assert meta["kind"] == "calibrated" and meta["budget"] == "quick" and meta["groups"] == ["firms", "market"]
    for key in (
        "date",
        "code_version",
        "objective",
        "seed_master",
        "seeds",
        "de_seed",
        "generations",
        "converged",
        "source_fingerprint",
        "through",
        "seed_spawn_keys",
        "targets_by_kind",
    ):
        assert key in meta
    assert meta["seed_spawn_keys"]["calibration"] == CALIBRATION_KEY and "spawn_key" in meta["seed_spawn"]
    assert meta["targets_by_kind"] == {k: sum(1 for t in load_targets() if t.used and t.kind == k) for k in KINDS}
    assert isinstance(meta["converged"], bool)
    free = {p.name: p for p in load_free_parameters()}
    assert set(meta["fitted"]) == {n for n, p in free.items() if p.fit}
    for name in meta["fitted"]:
        assert free[name].low <= getattr(params, name) <= free[name].high
    hand, _ = load_param_file(HAND_SET)
    for name in meta["held"]:
        assert getattr(params, name) == getattr(hand, name)
    assert set(data["fit"]) == {t.name for t in load_targets() if t.used}
    # a scenario run with it uses exactly these parameters
    assert load_scenario(BASELINE, parameter_file=path).params == params
    for group in GROUPS:
        assert (quick_run / f".calibrated.checkpoint.{group}.json").is_file()


def test_the_quick_calibration_writes_the_report(quick_run):
    report = quick_run / "report"
    text = (report / "REPORT.md").read_text(encoding="utf-8")
    for section in (
        "## Fit",
        "## Where the model misses",
        "## Rolling-origin backtest",
        "### Fitted through 2022, scored on 2023",
        "### Fitted through 2023, scored on 2024",
        "## Parameters, with uncertainty",
        "## Identification",
        "## Parameter recovery",
        "## Convergence",
    ):
        assert section in text
    for chart in ("fit", "parameters", "identification", "recovery", "convergence", "backtest"):
        assert (report / f"{chart}.png").stat().st_size > 5000
    assert not list(quick_run.glob(".report.*"))


def test_the_fit_table_gives_each_target_in_and_out_of_sample(quick_run):
    fit_table = pd.read_csv(quick_run / "report" / "fit.csv")
    targets = {t.name: t for t in load_targets() if t.used}
    assert set(fit_table.target) == set(targets)
    assert all(fit_table.kind == [targets[n].kind for n in fit_table.target])
    for sample in ("in_sample", "out_of_sample"):
        mean, p05, p95 = (fit_table[f"{sample}_{k}"] for k in ("mean", "p05", "p95"))
        assert ((p05 <= mean + 1e-9) & (mean <= p95 + 1e-9)).all()
        inside = (fit_table.band_low <= mean) & (mean <= fit_table.band_high)
        assert (inside == fit_table[f"{sample}_inside"]).all()
    flag = fit_table.in_sample_inside & ~fit_table.out_of_sample_inside
    assert (flag == fit_table.passes_in_sample_fails_out_of_sample).all()
    # the seeds differ: some figure that varies across replicates differs between the two samples
    varies = fit_table.out_of_sample_p95 > fit_table.out_of_sample_p05
    assert (fit_table.in_sample_mean[varies] != fit_table.out_of_sample_mean[varies]).any()
    # only fitted targets enter the objective, and the report counts only the informative ones
    assert set(fit_table.target[fit_table.fitted]) == {n for n, t in targets.items() if t.kind == "fitted"}
    text = (quick_run / "report" / "REPORT.md").read_text(encoding="utf-8")
    informative = fit_table[fit_table.kind.isin(INFORMATIVE)]
    assert (
        f"**{int(informative.out_of_sample_inside.sum())} of {len(informative)} informative targets inside their "
        "band out of sample**" in text
    )
    assert f"{sum(1 for t in targets.values() if t.kind == 'input')} inputs" in text


def test_the_backtest_fits_through_each_year_and_scores_the_next_against_persistence(quick_run):
    table = pd.read_csv(quick_run / "report" / "backtest.csv", keep_default_na=False, na_values=[""])
    targets = {t.name: t for t in load_targets()}
    assert sorted(set(zip(table.through, table.scored_year, strict=True))) == [(2022, 2023), (2023, 2024), (2024, 2025)]
    for through, scored in ((2022, 2023), (2023, 2024), (2024, 2025)):
        rows = table[table.through == through]
        expected = {n for n, t in targets.items() if t.used and t.informative and t.spec.year == scored}
        assert set(rows.target) == expected  # informative targets only: no input or identity is scored
        assert (quick_run / f".calibrated.checkpoint.backtest{through}.firms.json").is_file()
    for r in table.itertuples():
        t = targets[r.target]
        inside = r.band_low <= r.model_mean <= r.band_high
        assert inside == r.model_inside
        earlier = [
            o
            for o in targets.values()
            if o.used
            and o.spec.year == t.spec.year - 1
            and (o.spec.scenario, o.spec.metric, o.spec.region, o.spec.segment)
            == (t.spec.scenario, t.spec.metric, t.spec.region, t.spec.segment)
        ]
        if earlier:
            assert r.persistence_from == earlier[0].name and r.persistence_value == earlier[0].value
            assert r.persistence_inside == (r.band_low <= earlier[0].value <= r.band_high)
            assert r.model_closer == ("yes" if abs(r.model_z) < abs(r.persistence_z) else "no")
        else:
            assert r.persistence_from == NO_EARLIER and np.isnan(r.persistence_value)
    # persistence is scored where a last-year value exists: the carbonate price, national LFP output
    assert (table.persistence_from == "carbonate_price_2023").any() and (table.persistence_from != NO_EARLIER).any()


def test_parameter_recovery_in_quick_mode(quick_run):
    """Refits on noisy pseudo-data from fresh seeds: bias, spread and coverage per parameter."""
    table = pd.read_csv(quick_run / "report" / "recovery.csv")
    assert tuple(table.parameter) == QUICK_RECOVERY
    assert (table.replications == fit.QUICK.recovery_replications).all()
    assert table.coverage90.between(0, 1).all() and (table.spread >= 0).all()
    assert set(table.status) <= {"intervals hold", "not identified", "intervals too narrow"}
    each = pd.read_csv(quick_run / "report" / "recovery_replications.csv")
    covers = (each.low90 <= each.truth) & (each.truth <= each.high90)
    assert (covers == each.covers_truth).all()
    # each refit saw its own pseudo-data: the estimates differ
    assert each.groupby("parameter").estimate.nunique().min() > 1


def _recovery(estimates, lows, highs) -> RecoveryResult:
    result = RecoveryResult(("a",), np.array([5.0]), np.array([0.0]), np.array([10.0]))
    for e, lo, hi in zip(estimates, lows, highs, strict=True):
        result.replications.append(Replication(np.array([e]), np.array([lo]), np.array([hi]), 0.0, 1, False, 1))
    return result


def test_the_recovery_check_fails_when_intervals_miss_the_truth():
    narrow = _recovery([6.0] * 10, [5.5] * 10, [6.5] * 10)  # precise, and wrong every time
    assert narrow.status(0) == "intervals too narrow" and not narrow.passed
    assert narrow.rows()[0]["bias"] == pytest.approx(1.0) and narrow.rows()[0]["coverage90"] == 0.0
    good = _recovery([4.0, 5.5] * 5, [3.0, 4.5] * 5, [5.5, 6.5] * 5)
    assert good.status(0) == "intervals hold" and good.passed and good.rows()[0]["coverage90"] == 1.0
    # an interval over the whole range always holds the truth, and says nothing: not identified
    flat = _recovery([9.0] * 10, [0.0] * 10, [10.0] * 10)
    assert flat.status(0) == "not identified" and flat.passed
    edge = int(np.ceil(MIN_COVERAGE * 10)) - 1  # one refit short of the coverage required
    short = _recovery([5.0] * 10, [4.0] * edge + [5.5] * (10 - edge), [6.0] * 10)
    assert short.status(0) == "intervals too narrow"


def test_calibrating_again_resumes_from_the_finished_checkpoints(quick_run):
    """The same inputs again: each group resumes at its last generation and gives the same values."""
    before, _ = load_param_file(quick_run / "calibrated.toml")
    config = command.config_from_args(
        calibrate_args(
            "--quick", "--workers", "1", "--out", str(quick_run / "calibrated.toml"), "--quiet", "--no-report"
        )
    )
    result = fit.calibrate(config)
    for group in result.groups:
        assert group.search.resumed_from == group.search.generations == 1
    assert result.params == before
