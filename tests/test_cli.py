"""The command line: run, compare and check, their exit codes, and the run directory interface (README,
"What a run writes"), checked here by a self-contained checker."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.runs.runner
from sim.cli import main
from sim.inputs.clusters import cluster_keys
from sim.inputs.scenario import load_scenario
from tests.conftest import BASELINE
from tests.test_runner import fail_on_replicate_one, interrupt_at_replicate_three

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

# --- the run directory interface (README, "What a run writes") ---------------------------------------------------
SUMMARY_COLUMNS = ["scenario", "year", "region", "segment", "metric", "unit", "mean", "p05", "p50", "p95"]
REGIONS = {*cluster_keys(), "china", "world"}  # the clusters (Suining first), the nation, the world market
SEGMENTS = {"lithium_salt", "lfp_cathode", "battery", "all"}  # world rows are lithium_salt (carbonate equivalent)
METRICS = {
    "output",
    "capacity",
    "utilization",
    "output_value",
    "value_added",
    "value_added_real",
    "value_added_real_growth",
    "national_share",
    "price",
    "firms",
    "employment",
    "profit",
}
META_KEYS = {
    "scenario",
    "scenario_sha256",
    "seed",
    "replicates",
    "version",
    "package_version",
    "parameter_file",
    "parameter_file_sha256",
    "wall_time_s",
}


def assert_run_directory(run_dir: Path, scenario: str, replicates: int) -> None:
    """What other tools may rely on in a run directory."""
    summary = pd.read_csv(run_dir / "summary.csv")
    assert list(summary.columns) == [*SUMMARY_COLUMNS, "failed"]  # replicates a numeric check stopped
    assert set(summary["scenario"]) == {scenario}
    assert set(summary["region"]) == REGIONS
    assert set(summary["segment"]) == SEGMENTS
    assert METRICS <= set(summary["metric"])
    assert set(summary.loc[summary.metric == "national_share", "region"]) == set(cluster_keys())  # each cluster's share
    assert (summary["p05"] <= summary["p50"]).all() and (summary["p50"] <= summary["p95"]).all()
    assert not summary.duplicated(["year", "region", "segment", "metric"]).any()
    assert summary[["mean", "p05", "p50", "p95"]].notna().all().all()
    if replicates == 1:
        assert (summary["mean"] == summary["p05"]).all() and (summary["p05"] == summary["p95"]).all()
    firms = pd.read_csv(run_dir / "firms.csv")
    assert {"replicate", "firm_id", "segment", "region", "year"} <= set(firms.columns)
    assert sorted(firms["replicate"].unique()) == list(range(replicates))
    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    assert META_KEYS <= set(meta)
    assert meta["scenario"] == scenario and meta["replicates"] == replicates and meta["failures"] == {}
    charts = list((run_dir / "charts").glob("*.png"))
    assert charts and all(p.stat().st_size > 10_000 for p in charts)
    assert not [p for p in run_dir.parent.iterdir() if p.name.startswith(f".{run_dir.name}.")]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


# --- end to end, as a user types it -------------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """The baseline run by ``python -m sim run`` with two workers, and a low-price variant run in-process."""
    root = tmp_path_factory.mktemp("cli")
    done = _cli("run", str(BASELINE), "--replicates", "3", "--workers", "2", "--out", "runs/baseline", cwd=root)
    assert done.returncode == 0, done.stderr
    low = root / "low_price.toml"
    low.write_text(
        f'extends = "{BASELINE.as_posix()}"\nname = "low_price"\n\n[carbonate_price]\nrevert_level = 50000\n',
        encoding="utf-8",
    )
    assert (
        main(
            ["run", str(low), "--replicates", "2", "--out", str(root / "runs" / "low_price"), "--no-charts", "--quiet"]
        )
        == 0
    )
    return root


def test_run_writes_a_directory_that_meets_the_interface(cli_runs):
    assert_run_directory(cli_runs / "runs" / "baseline", "baseline", 3)


def test_bad_input_exits_2_with_a_message_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('colour = "red"\n' + BASELINE.read_text(encoding="utf-8"), encoding="utf-8")
    done = _cli("run", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "colour" in done.stderr and str(bad) in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_compare_end_to_end(cli_runs):
    done = _cli("compare", "runs/baseline", "runs/low_price", "--out", "comparison", cwd=cli_runs)
    assert done.returncode == 0, done.stderr
    out = cli_runs / "comparison"
    # and the list of the files it wrote (sizes and SHA-256), so that a later compare deletes only those
    assert {p.name for p in out.iterdir()} == {"comparison.csv", "comparison.xlsx", "charts", ".lithium-sim-files.json"}
    table = pd.read_csv(out / "comparison.csv")
    assert list(dict.fromkeys(table["scenario"])) == ["baseline", "low_price"]
    assert "low_price compared with the first run given, baseline (" in done.stdout
    assert "baseline baseline" not in done.stdout


def test_run_prints_the_commands_wall_time(tmp_path, capsys):
    started = time.perf_counter()
    args = ["run", str(BASELINE), "--replicates", "1", "--out", str(tmp_path / "r"), "--no-charts", "--quiet"]
    assert main(args) == 0
    elapsed = time.perf_counter() - started
    out = capsys.readouterr().out
    total = float(out.split("; ")[1].split(" s in all")[0])
    simulating = float(out.split(", ")[-1].split(" s of it simulating")[0])
    assert simulating <= total and total >= elapsed - 0.2  # counted from the start of the command line


# --- in-process: the verbs and their exit codes ------------------------------------------------------
def test_run_and_compare_in_chinese(cli_runs, tmp_path, capsys):
    assert (
        main(["run", str(BASELINE), "--replicates", "1", "--out", str(tmp_path / "zh"), "--lang", "zh", "--quiet"]) == 0
    )
    assert_run_directory(tmp_path / "zh", "baseline", 1)
    runs = cli_runs / "runs"
    assert (
        main(
            ["compare", str(runs / "baseline"), str(runs / "low_price"), "--out", str(tmp_path / "cmp"), "--lang", "zh"]
        )
        == 0
    )
    assert (tmp_path / "cmp" / "comparison.xlsx").is_file()
    assert "low_price" in capsys.readouterr().out


def test_check_ok(capsys):
    assert main(["check", str(BASELINE)]) == 0
    assert "ok" in capsys.readouterr().out


def _edited(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD_SCENARIOS = {
    "unknown key": (lambda t: 'colour = "red"\n' + t, "colour"),
    "negative price": (lambda t: _edited(t, '"2022-01" = 300000', '"2022-01" = -5'), "carbonate_price.points.2022-01"),
    "share above 1": (lambda t: _edited(t, "2022 = 0.607", "2022 = 1.5"), "demand.lfp_share.levels.2022"),
    "months out of order": (
        lambda t: _edited(t, '"2022-02" = 480000', '"2022-05" = 480000'),
        "carbonate_price.points.2022-04",
    ),
    "missing parent": (lambda t: 'extends = "missing.toml"\n' + t, "extends"),
}


@pytest.mark.parametrize("verb", ["run", "check"])
@pytest.mark.parametrize("case", list(BAD_SCENARIOS))
def test_a_bad_scenario_exits_2_naming_the_key_and_writes_nothing(tmp_path, monkeypatch, capsys, verb, case):
    edit, key = BAD_SCENARIOS[case]
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(edit(BASELINE.read_text(encoding="utf-8")), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = [verb, str(scenario)] + (["--out", str(tmp_path / "out")] if verb == "run" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert key in err and str(scenario) in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1  # one paragraph
    if case == "missing parent":
        assert "missing.toml" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.toml"]  # no results/, no out/


def test_compare_bad_input_exits_2_and_writes_nothing(cli_runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(cli_runs / "runs" / "baseline"), str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "summary.csv is missing" in err and str(tmp_path) in err and "Traceback" not in err
    assert not out.exists()


def test_compare_needs_out(cli_runs, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compare", str(cli_runs / "runs" / "baseline")])
    assert exit_.value.code == 2 and "--out" in capsys.readouterr().err


def test_run_refuses_to_replace_a_directory_it_did_not_write(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["run", str(BASELINE), "--replicates", "1", "--out", str(tmp_path), "--quiet"]) == 2
    assert "not an output of lithium-sim" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_failed_replicates_exit_1_and_are_listed(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        sim.runs.runner,
        "run_scenario",
        functools.partial(sim.runs.runner.run_scenario, simulator=fail_on_replicate_one),
    )
    assert (
        main(["run", str(BASELINE), "--replicates", "3", "--out", str(tmp_path / "run"), "--no-charts", "--quiet"]) == 1
    )
    assert "1 replicate(s) failed" in capsys.readouterr().err
    meta = json.loads((tmp_path / "run" / "meta.json").read_text(encoding="utf-8"))
    assert list(meta["failures"]) == ["1"] and "replicate 1 fails on purpose" in meta["failures"]["1"]


def test_resume_reuses_an_interrupted_run(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        sim.runs.runner.run_scenario(
            load_scenario(BASELINE),
            replicates=5,
            batch_size=1,
            progress=False,
            out_dir=out,
            simulator=interrupt_at_replicate_three,
        )
    assert (
        main(["run", str(BASELINE), "--replicates", "5", "--out", str(out), "--resume", "--no-charts", "--quiet"]) == 0
    )
    assert "3 resumed" in capsys.readouterr().out
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["replicates_resumed"] == 3 and meta["replicates_ok"] == 5
    assert meta["batches"] == [2]  # only replicates 3 and 4 were run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the part files are gone


def test_run_on_a_dask_scheduler(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        assert (
            main(
                [
                    "run",
                    str(BASELINE),
                    "--replicates",
                    "2",
                    "--scheduler",
                    cluster.scheduler_address,
                    "--out",
                    str(tmp_path / "run"),
                    "--no-charts",
                    "--quiet",
                ]
            )
            == 0
        )
    meta = json.loads((tmp_path / "run" / "meta.json").read_text(encoding="utf-8"))
    assert meta["executor"] == {"kind": "dask", "scheduler": cluster.scheduler_address}


def test_an_unreachable_scheduler_exits_2(tmp_path, monkeypatch, capsys):
    import dask

    monkeypatch.chdir(tmp_path)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main(["run", str(BASELINE), "--scheduler", "tcp://127.0.0.1:9", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to a Dask scheduler at 'tcp://127.0.0.1:9'" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
