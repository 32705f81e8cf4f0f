"""The runner: same results whatever executes the batches, failures recorded as data, bounded memory,
resumable runs, and the Python API on top of it."""

from __future__ import annotations

import gc
import json
import tracemalloc

import mesa
import numpy as np
import pandas as pd
import pytest

import sim
from sim.inputs.errors import InputError
from sim.outputs.tables import summarise
from sim.runs.runner import (
    ReplicateStore,
    batch_sizes,
    check_replaceable,
    partial_dir,
    replicate_seeds,
    run_scenario,
    simulate,
)
from tests.conftest import BASELINE

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`


# --- simulators for the `simulator` hook: module level, so spawned workers can unpickle them -------------
# (a batch that raises is rerun replicate by replicate, so only the replicate that raises is lost)
def fail_on_replicate_one(scenario, params, seeds, replicates, firm_detail):
    """`simulate`, except that a batch holding replicate 1 raises."""
    if 1 in replicates:
        raise RuntimeError("replicate 1 fails on purpose")
    return simulate(scenario, params, seeds, replicates, firm_detail)


def always_fail(scenario, params, seeds, replicates, firm_detail):
    raise ValueError("no replicate works")


def interrupt_at_replicate_three(scenario, params, seeds, replicates, firm_detail):
    """`simulate` until the batch holding replicate 3, where the user presses Ctrl-C."""
    if 3 in replicates:
        raise KeyboardInterrupt
    return simulate(scenario, params, seeds, replicates, firm_detail)


def _files_equal(a, b, names=("summary.csv", "replicates.csv", "firms.csv", "market.csv")):
    return {name: (a / name).read_bytes() == (b / name).read_bytes() for name in names}


SAME = {"summary.csv": True, "replicates.csv": True, "firms.csv": True, "market.csv": True}


# --- determinism across executors ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def in_process(short, tmp_path_factory):
    """Four replicates in this process, saved: the reference for every executor."""
    result = run_scenario(short, replicates=4, progress=False)
    return result, result.save(tmp_path_factory.mktemp("runs") / "in_process", charts=False)


def test_same_files_with_two_worker_processes(short, in_process, tmp_path):
    result, reference = in_process
    two = run_scenario(short, replicates=4, workers=2, progress=False)
    assert two.meta["executor"]["kind"] == "local processes"
    saved = two.save(tmp_path / "two", charts=False)
    assert _files_equal(reference, saved) == SAME


def test_same_files_on_a_dask_cluster(short, in_process, tmp_path):
    from distributed import Client, LocalCluster

    _, reference = in_process
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            by_client = run_scenario(short, replicates=4, scheduler=client, progress=False)
        by_address = run_scenario(short, replicates=4, scheduler=cluster.scheduler_address, progress=False)
    for name, result in (("client", by_client), ("address", by_address)):
        assert result.meta["executor"]["kind"] == "dask"
        saved = result.save(tmp_path / name, charts=False)
        assert _files_equal(reference, saved) == SAME


@pytest.mark.parametrize("batch_size", [1, 3])
def test_same_files_whatever_the_batches(short, in_process, tmp_path, batch_size):
    """A replicate's figures do not depend on the replicates that share its batch (docs/model.md)."""
    _, reference = in_process
    result = run_scenario(short, replicates=4, batch_size=batch_size, progress=False)
    assert result.meta["batches"] == ([1, 1, 1, 1] if batch_size == 1 else [3, 1])
    assert _files_equal(reference, result.save(tmp_path / "run", charts=False)) == SAME


def test_summary_is_summarise_of_the_batches_in_replicate_order(short):
    """The store's summary equals `summarise` of every replicate's values, whatever order batches arrive in."""
    seeds = replicate_seeds(5, 4)
    batches = [simulate(short, None, seeds[a:b], list(range(a, b))) for a, b in ((0, 1), (1, 3), (3, 4))]
    store = ReplicateStore.open(None, resume=False, manifest={})
    for batch in (batches[2], batches[0], batches[1]):
        store.add(batch)
    expected = summarise(batches[0].keys, np.concatenate([b.values for b in batches], axis=1), short.name)
    pd.testing.assert_frame_equal(store.summary(short.name), expected, check_exact=True)
    store.discard()


@pytest.mark.parametrize("n, workers", [(1, 1), (7, 1), (250, 1), (7, 2), (20, 2), (1000, 2)])
def test_batches_cover_every_replicate_once_and_keep_workers_busy(n, workers):
    sizes = batch_sizes(n, workers)
    assert sum(sizes) == n and max(sizes) - min(sizes) <= 1 and max(sizes) <= 100
    assert len(sizes) >= min(n, 2 * workers if workers > 1 else 1)


# --- failures -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_replicate_is_recorded_and_the_others_complete(short, tmp_path, workers):
    result = run_scenario(short, replicates=3, workers=workers, progress=False, simulator=fail_on_replicate_one)
    assert sorted(result.failures) == [1]
    assert "RuntimeError: replicate 1 fails on purpose" in result.failures[1]
    assert "Traceback" in result.failures[1]
    assert result.meta["replicates_ok"] == 2
    assert sorted(result.firms["replicate"].unique()) == [0, 2]
    meta = json.loads((result.save(tmp_path / "run", charts=False) / "meta.json").read_text(encoding="utf-8"))
    assert list(meta["failures"]) == ["1"]
    # the summary is the one of the replicates that worked
    seeds = replicate_seeds(short.seed, 3)
    ok = [simulate(short, None, [seeds[i]], [i]) for i in (0, 2)]
    expected = summarise(ok[0].keys, np.concatenate([b.values for b in ok], axis=1), short.name)
    pd.testing.assert_frame_equal(result.summary, expected, check_exact=True)


def test_every_replicate_failing_is_an_error(short):
    with pytest.raises(RuntimeError, match="(?s)every replicate failed.*no replicate works"):
        run_scenario(short, replicates=2, progress=False, simulator=always_fail)


# --- memory -------------------------------------------------------------------------------------------
def test_memory_stays_flat_over_many_replicates(short):
    """Mesa 3.3 keeps every model in `mesa.Agent._ids` (docs/model.md); the engine frees it, and the runner
    streams each batch's tables to disk, so 30 replicates in batches of 3 need about the memory of 6."""
    gc.collect()
    registered = len(mesa.Agent._ids)
    tracemalloc.start()
    try:
        peaks = {}
        for n in (6, 30):
            tracemalloc.reset_peak()
            result = run_scenario(short, replicates=n, batch_size=3, progress=False)
            peaks[n] = tracemalloc.get_traced_memory()[1]
            assert result.meta["replicates_ok"] == n
            del result
            gc.collect()
    finally:
        tracemalloc.stop()
    assert len(mesa.Agent._ids) == registered  # no model is kept alive by Mesa's registry
    assert peaks[30] < 1.5 * peaks[6], peaks


def test_firm_tables_live_on_disk_until_the_result_is_dropped(short):
    result = run_scenario(short, replicates=2, progress=False)
    firms = result.firms
    assert list(firms.columns[:2]) == ["replicate", "firm_id"]
    assert sorted(firms["replicate"].unique()) == [0, 1]
    parts = result.store.directory
    assert parts.is_dir()
    del result
    gc.collect()
    assert not parts.exists()


# --- resuming -----------------------------------------------------------------------------------------
def test_an_interrupted_run_resumes_with_the_same_results(short, in_process, tmp_path):
    _, reference = in_process
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            short, replicates=4, batch_size=1, progress=False, out_dir=out, simulator=interrupt_at_replicate_three
        )
    assert not out.exists()  # nothing that looks like a finished run
    [kept] = tmp_path.glob(".run.partial-*")
    assert len(list((kept / "parts").glob("summary-*.npz"))) == 3

    result = run_scenario(short, replicates=4, batch_size=1, progress=False, out_dir=out, resume=True)
    assert result.meta["replicates_resumed"] == 3
    result.save(out, charts=False)
    result.store.discard()
    assert _files_equal(reference, out) == SAME
    assert not list(tmp_path.glob(".run.*"))


def test_without_resume_a_partial_run_is_started_afresh(short, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            short, replicates=4, batch_size=1, progress=False, out_dir=out, simulator=interrupt_at_replicate_three
        )
    result = run_scenario(short, replicates=4, batch_size=1, progress=False, out_dir=out)
    assert result.meta["replicates_resumed"] == 0
    result.store.discard()


def test_a_different_seed_does_not_reuse_a_partial_run(short, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            short, replicates=4, batch_size=1, progress=False, out_dir=out, simulator=interrupt_at_replicate_three
        )
    result = run_scenario(short, replicates=4, batch_size=1, seed=99, progress=False, out_dir=out, resume=True)
    assert result.meta["replicates_resumed"] == 0
    assert partial_dir(out, "x").parent == tmp_path


# --- the results directory ----------------------------------------------------------------------------
def test_a_directory_lithium_sim_did_not_write_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not an output of lithium-sim"):
        check_replaceable(tmp_path, ("summary.csv", "meta.json"))
    check_replaceable(tmp_path / "absent", ("summary.csv",))
    (tmp_path / "empty").mkdir()
    check_replaceable(tmp_path / "empty", ("summary.csv",))


def test_save_replaces_an_earlier_run_atomically(short, tmp_path):
    first = run_scenario(short, replicates=1, progress=False)
    out = first.save(tmp_path / "run", charts=False)
    second = run_scenario(short, replicates=2, progress=False)
    second.save(out, charts=False)
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["replicates"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# --- the Python API -----------------------------------------------------------------------------------
def test_api_round_trip(tmp_path):
    base = sim.load_scenario(BASELINE)
    short = sim.override(base, name="short", end_month=35)
    cheaper = sim.override(
        short,
        name="cheaper",
        suining_cost_factor_lfp=0.9,
        policy={"energy_support": {"cost_cut": 0.1, "from": "2023-01"}},
    )
    assert cheaper.params.suining_cost_factor_lfp == 0.9
    assert cheaper.policy.value("energy_support", "cost_cut") == 0.1 and cheaper.policy.start("energy_support") == 12
    assert short.params == base.params and base.name == "baseline"  # the original is untouched

    result = sim.run(cheaper, replicates=2)
    assert isinstance(result, sim.RunResult)
    row = result.summary.query("year == 2023 and region == 'suining' and segment == 'all' and metric == 'value_added'")
    assert result.value("value_added", "suining", "all", 2023) == float(row["mean"].iloc[0])
    assert list(result.value("national_share", segment="lfp_cathode").index) == [2022, 2023, 2024]

    saved = result.save(tmp_path / "cheaper")
    written = {p.name for p in saved.iterdir()}
    assert written == {"summary.csv", "replicates.csv", "firms.csv", "market.csv", "supply.csv", "meta.json", "charts"}
    assert meta_events(saved)["firm_months_battery"] > 0
    pd.testing.assert_frame_equal(pd.read_csv(saved / "summary.csv"), result.summary, check_dtype=False)
    meta = json.loads((saved / "meta.json").read_text(encoding="utf-8"))
    assert meta["parameters"]["suining_cost_factor_lfp"] == 0.9
    assert meta["policy"]["energy_support"]["cost_cut"] == 0.1


def test_api_run_takes_a_scenario_file():
    result = sim.run(BASELINE, replicates=1)
    assert result.meta["scenario"] == "baseline" and result.meta["replicates"] == 1


@pytest.mark.parametrize(
    "changes, key",
    [
        ({"no_such_thing": 1.0}, "no_such_thing"),
        ({"suining_cost_factor_lfp": 99.0}, "suining_cost_factor_lfp"),
        ({"policy": {"no_lever": {}}}, "policy.no_lever"),
        ({"policy": {"energy_support": {"cut": 0.1}}}, "policy.energy_support.cut"),
        ({"policy": {"energy_support": {"cost_cut": 0.9}}}, "policy.energy_support.cost_cut"),
    ],
)
def test_api_override_rejects_unknown_names_and_out_of_range_values(short, changes, key):
    with pytest.raises(InputError) as err:
        sim.override(short, **changes)
    assert err.value.key == key


def meta_events(run_dir):
    return json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))["events_per_replicate"]
