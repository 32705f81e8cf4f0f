"""Output directories: nothing the program did not write is ever deleted, one process writes a directory at
a time, what dead processes left is found, and after an interrupt the message says what is true."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim.runs.runner
from sim.cli import build_parser, main
from sim.inputs.errors import InputError
from sim.inputs.scenario import SCHEMA
from sim.runs.rundir import RUN, claim, hidden, partial_dir, uninterruptible, write_directory
from sim.runs.runner import RunResult, run_scenario

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

OWN_FILES = {"summary.csv", "replicates.csv", "firms.csv", "market.csv", "supply.csv", "meta.json"}


@pytest.fixture(scope="module")
def earlier_run(short_file, tmp_path_factory):
    """A finished run directory to copy (the program's own files only)."""
    out = tmp_path_factory.mktemp("earlier") / "run"
    assert main(["run", str(short_file), "--replicates", "1", "--out", str(out), "--no-charts", "--quiet"]) == 0
    return out


def _copy_run(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def _run(short_file, out, *extra):
    return main(["run", str(short_file), "--replicates", "1", "--out", str(out), "--no-charts", "--quiet", *extra])


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


# --- nothing the program did not write is deleted ----------------------------------------------------------
def test_a_users_file_in_an_earlier_run_is_never_deleted(short_file, earlier_run, tmp_path, capsys):
    out = _copy_run(earlier_run, tmp_path / "run")
    (out / "budget.xlsx").write_text("the user's", encoding="utf-8")
    assert _run(short_file, out) == 2
    err = capsys.readouterr().err
    assert "budget.xlsx" in err and "--force" in err and "never deletes" in err
    assert (out / "budget.xlsx").read_text(encoding="utf-8") == "the user's"
    assert _hidden(tmp_path) == []


def test_force_moves_the_directory_aside_whole(short_file, earlier_run, tmp_path, capsys):
    out = _copy_run(earlier_run, tmp_path / "run")
    (out / "charts").mkdir(exist_ok=True)
    (out / "charts" / "notes.txt").write_text("the user's", encoding="utf-8")
    assert _run(short_file, out, "--force") == 0
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("run.replaced-")]
    assert (aside / "charts" / "notes.txt").read_text(encoding="utf-8") == "the user's"
    assert OWN_FILES <= {p.name for p in aside.iterdir()}
    assert {p.name for p in out.iterdir()} == OWN_FILES
    assert "nothing in it was deleted" in capsys.readouterr().err
    assert _hidden(tmp_path) == []


def test_an_earlier_run_holding_only_its_own_files_is_replaced(short_file, earlier_run, tmp_path):
    out = _copy_run(earlier_run, tmp_path / "run")
    assert _run(short_file, out, "--seed", "7") == 0
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["seed"] == 7
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_without_an_atomic_swap_the_old_run_is_renamed_aside_first(short_file, earlier_run, tmp_path, monkeypatch):
    monkeypatch.setattr("sim.runs.rundir._exchange", lambda *names: False)  # not Linux, or an old file system
    out = _copy_run(earlier_run, tmp_path / "run")
    assert _run(short_file, out, "--seed", "8") == 0
    assert json.loads((out / "meta.json").read_text(encoding="utf-8"))["seed"] == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_meta_json_without_the_programs_marker_is_not_a_run(short_file, earlier_run, tmp_path, capsys):
    out = _copy_run(earlier_run, tmp_path / "run")
    (out / "meta.json").write_text(json.dumps({"scenario": "mine"}), encoding="utf-8")
    assert _run(short_file, out) == 2
    assert "not an output of lithium-sim" in capsys.readouterr().err


# --- one writer at a time ------------------------------------------------------------------------------
def test_a_second_writer_stops_at_once(short_file, tmp_path, capsys):
    out = tmp_path / "run"
    lock = hidden(out, "lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as another process's claim would
        os.write(fd, b"4242\n")
        assert _run(short_file, out) == 2
    finally:
        os.close(fd)
    err = capsys.readouterr().err
    assert "another lithium-sim process (pid 4242) is writing this directory" in err
    assert not out.exists()
    assert _run(short_file, out) == 0  # the lock of a dead process is no lock
    assert _hidden(tmp_path) == []


def test_claims_are_reentrant_and_leave_no_lock(tmp_path):
    with claim(tmp_path / "out", RUN) as outer:
        with claim(tmp_path / "out", RUN) as inner:
            assert inner is outer
        assert hidden(outer.target, "lock").exists()
    assert _hidden(tmp_path) == []


# --- what dead processes left ------------------------------------------------------------------------------
def test_a_replacement_cut_between_its_renames_is_restored(earlier_run, tmp_path, capsys):
    out = tmp_path / "run"
    moved = _copy_run(earlier_run, hidden(out, f"old-{_dead_pid()}-0bad"))
    with claim(out, RUN):
        pass
    assert {p.name for p in out.iterdir()} == OWN_FILES and not moved.exists()
    assert "restored the previous run directory" in capsys.readouterr().err


def test_leftovers_of_dead_processes_are_removed_and_reported(earlier_run, tmp_path, capsys):
    out = _copy_run(earlier_run, tmp_path / "run")
    dead = _dead_pid()
    _copy_run(earlier_run, hidden(out, f"old-{dead}-0001"))  # replaced, then the process died
    (hidden(out, f"writing-{dead}-0002") / "charts").mkdir(parents=True)
    hidden(out, f"trash-{dead}-0003").mkdir()
    alive = hidden(out, f"writing-{os.getppid()}-0004")  # a live process's: left alone
    alive.mkdir()
    with claim(out, RUN):
        pass
    err = capsys.readouterr().err
    assert err.count("removed") == 3 and "still running" in err
    assert _hidden(tmp_path) == [alive.name]
    assert {p.name for p in out.iterdir()} == OWN_FILES


def test_an_interrupted_runs_parts_are_reported_and_kept(short, tmp_path, capsys):
    from tests.test_runner import interrupt_at_replicate_three

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            short, replicates=4, batch_size=1, progress=False, out_dir=out, simulator=interrupt_at_replicate_three
        )
    [partial] = tmp_path.glob(".run.partial-*")
    capsys.readouterr()
    other = run_scenario(short, replicates=2, seed=5, progress=False, out_dir=out)
    other.store.discard()
    err = capsys.readouterr().err
    assert str(partial) in err and "3 of 4 replicates finished" in err and "--resume" in err
    assert partial.is_dir()


def test_starting_afresh_says_what_it_discards(short, tmp_path, capsys):
    from tests.test_runner import interrupt_at_replicate_three

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_scenario(
            short, replicates=4, batch_size=1, progress=False, out_dir=out, simulator=interrupt_at_replicate_three
        )
    capsys.readouterr()
    run_scenario(short, replicates=4, progress=False, out_dir=out).store.discard()
    assert "discarded 3 finished replicate(s)" in capsys.readouterr().err
    assert _hidden(tmp_path) == []


# --- interrupts: the message is true ----------------------------------------------------------------------
def test_an_interrupt_after_the_results_are_in_place_reports_them_complete(short_file, tmp_path, monkeypatch, capsys):
    save = RunResult.save

    def save_then_interrupt(self, *args, **kwargs):
        save(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunResult, "save", save_then_interrupt)
    out = tmp_path / "run"
    assert _run(short_file, out) == 0
    err = capsys.readouterr().err
    assert "they are complete" in err and "no results were written" not in err
    assert {p.name for p in out.iterdir()} == OWN_FILES
    assert _hidden(tmp_path) == []  # the part files went, whole


def test_an_interrupt_while_writing_keeps_the_parts_and_says_so(short_file, tmp_path, monkeypatch, capsys):
    def interrupted_charts(*args, **kwargs):  # matplotlib's renderer, interrupted, raises ValueError instead
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            raise ValueError("Invalid bounding box") from None

    monkeypatch.setattr("sim.outputs.charts.run_charts", interrupted_charts)
    out = tmp_path / "run"
    assert main(["run", str(short_file), "--replicates", "2", "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert "no results were written" in err and "--resume" in err and "Traceback" not in err
    assert not out.exists()
    [partial] = _hidden(tmp_path)
    assert partial.startswith(".run.partial-")
    assert (
        main(["run", str(short_file), "--replicates", "2", "--out", str(out), "--quiet", "--no-charts", "--resume"])
        == 0
    )
    assert "2 resumed" in capsys.readouterr().out
    assert _hidden(tmp_path) == []


def test_uninterruptible_holds_sigint_until_the_block_ends():
    done = []
    # Python's own handler, whatever the test runner installed (a pytest-xdist worker ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with uninterruptible():
                os.kill(os.getpid(), signal.SIGINT)
                done.append("renamed")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert done == ["renamed"]


# --- the command line's bounds are the schema's -------------------------------------------------------------
@pytest.mark.parametrize("flag, key", [("--replicates", "replicates"), ("--seed", "seed")])
def test_flags_have_the_schemas_bounds(flag, key, capsys):
    leaf = SCHEMA[key]
    parser = build_parser()
    for ok in (int(leaf.low), int(leaf.high)):
        assert getattr(parser.parse_args(["run", "s.toml", flag, str(ok)]), key) == ok
    for bad in (str(int(leaf.low) - 1), str(int(leaf.high) + 1), str(2**200), "1e3", "３", "9" * 5000):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(["run", "s.toml", flag, bad])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert f"{int(leaf.low)} to {int(leaf.high)}" in err or "not an integer" in err
        assert len(err) < 1500


def test_unwritable_outputs_are_input(short_file, tmp_path, capsys):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    for out, says in (
        (tmp_path / "file" / "out", "is not a directory"),
        (tmp_path / ("o" * 300), "at most 255 bytes"),
        (tmp_path / ("o" * 230), "may have at most 215"),
        (Path("/proc/lithium-sim/out"), "does not exist"),
        (Path("/"), "root of the file system"),
    ):
        assert _run(short_file, out) == 2, out
        err = capsys.readouterr().err
        assert says in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_failed_run_removes_the_folders_it_created(short_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sim.runs.runner, "dask_client", _unreachable)
    assert main(["run", str(short_file), "--replicates", "1", "--quiet"]) == 2
    assert list(tmp_path.iterdir()) == []


def _unreachable(scheduler):
    raise InputError("cannot connect", key="scheduler")


# --- compare -----------------------------------------------------------------------------------------------
def _variant(run_dir: Path, target: Path, **meta_changes) -> Path:
    out = _copy_run(run_dir, target)
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    meta.update(meta_changes)
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return out


def test_compare_refuses_runs_over_different_years(earlier_run, tmp_path, capsys):
    other = _variant(earlier_run, tmp_path / "other", scenario="other")
    summary = pd.read_csv(other / "summary.csv")
    summary[summary.year == 2022].to_csv(other / "summary.csv", index=False)
    assert main(["compare", str(earlier_run), str(other), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "covers 2022-2022 but the baseline 'short' covers 2022-2023" in err and str(other) in err
    assert not (tmp_path / "cmp").exists()


def test_compare_warns_when_replicates_or_seeds_differ(earlier_run, tmp_path, capsys):
    other = _variant(earlier_run, tmp_path / "other", scenario="other", replicates=5, seed=9)
    assert main(["compare", str(earlier_run), str(other), "--out", str(tmp_path / "cmp")]) == 0
    err = capsys.readouterr().err
    assert "different replicate counts (5 and 1)" in err and "different master seeds" in err


def test_compare_refuses_a_scenario_name_with_control_characters(earlier_run, tmp_path, capsys):
    other = _variant(earlier_run, tmp_path / "other", scenario="bad\u0001name")
    assert main(["compare", str(earlier_run), str(other), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "at key 'scenario'" in err and "\\x01" in err and "Traceback" not in err


def test_compare_does_not_replace_a_directory_holding_other_files(earlier_run, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(earlier_run), "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["compare", str(earlier_run), "--out", str(out)]) == 2
    assert "notes.txt" in capsys.readouterr().err and (out / "notes.txt").exists()
    (out / "notes.txt").unlink()
    assert main(["compare", str(earlier_run), "--out", str(out)]) == 0


# --- no name is trusted: links, pipes and lookalikes beside the target --------------------------------------
def test_a_link_at_the_lock_stops_the_run_and_leaves_its_target_alone(short_file, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my draft\n", encoding="utf-8")
    os.symlink("notes.txt", tmp_path / ".out.lock")
    assert _run(short_file, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert ".out.lock is a symbolic link (to notes.txt)" in err and "remove it" in err and "Traceback" not in err
    assert notes.read_text(encoding="utf-8") == "my draft\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "notes.txt"]


@pytest.mark.parametrize("what", ["directory", "fifo", "hard link", "large file"])
def test_anything_but_a_lock_at_the_locks_name_stops_the_run(short_file, tmp_path, capsys, what):
    lock = tmp_path / ".out.lock"
    mine = tmp_path / "mine.txt"
    mine.write_text("keep me\n" * (1000 if what == "large file" else 1), encoding="utf-8")
    if what == "directory":
        lock.mkdir()
    elif what == "fifo":
        os.mkfifo(lock)
    elif what == "hard link":
        os.link(mine, lock)
    else:
        os.rename(mine, lock)
        mine = lock
    assert _run(short_file, tmp_path / "out") == 2
    err = capsys.readouterr().err
    says = {"directory": "is a directory", "fifo": "is a named pipe", "hard link": "2 names", "large file": "bytes"}
    assert str(lock) in err and says[what] in err and "not a lock lithium-sim made" in err
    assert not (tmp_path / "out").exists()
    if what in ("hard link", "large file"):
        assert mine.read_text(encoding="utf-8").startswith("keep me")


def test_a_link_in_place_of_the_partial_folder_is_refused(short, tmp_path):
    out = tmp_path / "run"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from sim.runs.provenance import code_version, run_key

    key = run_key(short, short.params, short.seed, 2, code_version())
    os.symlink(elsewhere, partial_dir(out, key))
    with pytest.raises(InputError) as info:
        run_scenario(short, replicates=2, progress=False, out_dir=out)
    assert "is a symbolic link, not a folder lithium-sim made" in info.value.message
    assert list(elsewhere.iterdir()) == [] and not out.exists()


def test_leftovers_that_are_links_are_left_alone(earlier_run, tmp_path, capsys):
    out = _copy_run(earlier_run, tmp_path / "run")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine", encoding="utf-8")
    os.symlink(victim, hidden(out, f"writing-{_dead_pid()}-0bad"))
    with claim(out, RUN):
        pass
    assert "not a folder lithium-sim made" in capsys.readouterr().err
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_results_land_in_the_folder_made_for_them_even_if_its_name_is_swapped(tmp_path):
    """Whoever can write the folder above the target may rename the temporary folder and put a link in its
    place while the results are written: they still land in the folder the program made, and nothing is put
    in place."""
    out = tmp_path / "out"
    decoy = tmp_path / "decoy"
    decoy.mkdir()

    def fill(tmp: Path) -> None:
        [writing] = [p for p in tmp_path.iterdir() if ".writing-" in p.name]
        os.rename(writing, tmp_path / "moved")
        os.symlink(decoy, writing)
        (tmp / "summary.csv").write_text("a,b\n", encoding="utf-8")

    with pytest.raises(InputError) as info:
        write_directory(out, fill, ("summary.csv",))
    assert "was moved or replaced" in info.value.message
    assert list(decoy.iterdir()) == []  # nothing went through the link
    assert (tmp_path / "moved" / "summary.csv").read_text(encoding="utf-8") == "a,b\n"
    assert not out.exists()


# --- only what the program recorded writing is ever deleted ---------------------------------------------------
def test_a_users_png_in_charts_is_never_deleted(short_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(short_file), "--replicates", "1", "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert {name for name in meta["files"] if name.startswith("charts/")} == {
        f"charts/{p.name}" for p in (out / "charts").iterdir()
    }
    annotated = out / "charts" / "prices_annotated.png"
    annotated.write_bytes((out / "charts" / "prices.png").read_bytes() + b"my notes")
    assert main(["run", str(short_file), "--replicates", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "charts/prices_annotated.png" in err and "never deletes" in err
    assert annotated.read_bytes().endswith(b"my notes")
    annotated.unlink()
    assert main(["run", str(short_file), "--replicates", "1", "--out", str(out), "--quiet", "--seed", "3"]) == 0


def test_a_file_changed_since_it_was_written_is_kept(short_file, earlier_run, tmp_path, capsys):
    out = _copy_run(earlier_run, tmp_path / "run")
    with open(out / "summary.csv", "a", encoding="utf-8") as handle:
        handle.write("# my correction\n")
    assert _run(short_file, out) == 2
    assert "summary.csv (changed since lithium-sim wrote it)" in capsys.readouterr().err
    assert _run(short_file, out, "--force") == 0
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("run.replaced-")]
    assert (aside / "summary.csv").read_text(encoding="utf-8").endswith("# my correction\n")


def test_a_file_changed_after_the_check_is_kept_when_the_old_run_is_deleted(earlier_run, tmp_path, capsys):
    out = _copy_run(earlier_run, tmp_path / "run")
    with claim(out, RUN) as held:
        contents = held.check()
        os.rename(out, hidden(out, "old-1-beef"))
        with open(hidden(out, "old-1-beef") / "market.csv", "a", encoding="utf-8") as handle:
            handle.write("mine\n")
        held._dispose(hidden(out, "old-1-beef").name, contents.manifest)
    [kept] = [p for p in tmp_path.iterdir() if p.name.startswith("run.replaced-")]
    assert {p.name for p in kept.iterdir()} == {"meta.json", "market.csv"}  # the manifest stays with what is kept
    assert (kept / "market.csv").read_text(encoding="utf-8").endswith("mine\n")
    assert "kept files lithium-sim did not write" in capsys.readouterr().err


def test_a_run_directory_written_before_manifests_is_judged_by_the_names_written(short_file, earlier_run, tmp_path):
    out = _copy_run(earlier_run, tmp_path / "run")
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    del meta["files"]
    (out / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (out / "charts").mkdir()
    (out / "charts" / "prices.png").write_bytes(b"png")
    (out / "charts" / "mine.png").write_bytes(b"png")
    assert _run(short_file, out) == 2  # a chart name the program never wrote is not its own
    (out / "charts" / "mine.png").unlink()
    assert _run(short_file, out) == 0 and "files" in json.loads((out / "meta.json").read_text(encoding="utf-8"))
