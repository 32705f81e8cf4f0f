"""Faults from outside: runs killed (SIGKILL) or interrupted (SIGINT) at random points resume to the same
bytes as an uninterrupted run; after an interrupt the exit code and the message agree with what is on
disk; worker processes die with their parent; two runs into one directory do not mix; a full disk, a
read-only one and an unreachable scheduler end in one paragraph naming the path or address, what to do and
where the finished replicates are kept (a small tmpfs plays the disk where this machine allows mounting one)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sim.cli import main
from sim.inputs.errors import InputError
from tests.conftest import BASELINE

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

TABLES = ("summary.csv", "firms.csv", "market.csv")
REPLICATES = "4"


@pytest.fixture(scope="module")
def reference(short_file, tmp_path_factory):
    """The uninterrupted run: what every interrupted and resumed run must come to, byte for byte."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["run", str(short_file), "--replicates", REPLICATES, "--out", str(out), "--quiet", "--no-charts"]) == 0
    return out


def _run_process(scenario: Path, out: Path, replicates: str, *extra: str, capture: bool = True) -> subprocess.Popen:
    """``lithium-sim run`` in a child process, its output captured (or discarded)."""
    command = [sys.executable, "-m", "sim", "run", str(scenario), "--replicates", replicates, "--out", str(out)]
    stream = subprocess.PIPE if capture else subprocess.DEVNULL
    return subprocess.Popen([*command, "--quiet", *extra], stdout=stream, stderr=stream, text=True)


def _start(short_file: Path, out: Path, *extra: str) -> subprocess.Popen:
    return _run_process(short_file, out, REPLICATES, *extra)


def _strike(process: subprocess.Popen, out: Path, how: signal.Signals, rng: random.Random) -> None:
    """Signal the run at a random point once it has claimed its directory: while it runs replicates, saves,
    renames or cleans up. (Earlier, in the interpreter's start-up before the program's first line, an
    interrupt is Python's own business: it prints Python's traceback, and nothing has been written.)"""
    deadline = time.monotonic() + 60
    lock = out.parent / f".{out.name}.lock"
    while not lock.exists() and not out.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(rng.uniform(0.0, 0.5))
    if process.poll() is None:
        process.send_signal(how)


def _assert_same(out: Path, reference: Path) -> None:
    for name in TABLES:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_killed_or_interrupted_runs_resume_to_the_same_bytes(short_file, reference, tmp_path, how):
    rng = random.Random(f"faults-{how.name}")
    for attempt in range(3):
        out = tmp_path / f"run{attempt}"
        process = _start(short_file, out, "--no-charts")  # the tables are compared: charts would only take time
        _strike(process, out, how, rng)
        _, err = process.communicate(timeout=120)
        assert "Traceback" not in err, err
        if how == signal.SIGINT:
            assert process.returncode in (0, 130), err
            if process.returncode == 130:  # the message is true: nothing that looks finished
                assert "no results were written" in err and not out.exists()
            else:
                _assert_same(out, reference)
        again = ["run", str(short_file), "--replicates", REPLICATES, "--out", str(out), "--resume", "--no-charts"]
        code = main([*again, "--quiet"])
        assert code == 0
        _assert_same(out, reference)
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}.")]  # nothing left


@pytest.mark.slow
def test_workers_die_with_their_parent(short_file, tmp_path):
    process = _run_process(BASELINE, tmp_path / "run", "400", "--workers", "2", "--no-charts", capture=False)
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 60
    workers: list[psutil.Process] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        workers = [p for p in parent.children(recursive=True) if "spawn_main" in _command(p)]
        time.sleep(0.05)
    assert len(workers) == 2, "the run did not start its workers"
    helpers = parent.children(recursive=True)  # the workers and multiprocessing's resource tracker
    time.sleep(0.5)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 5
    alive = helpers
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _running(p)]
        time.sleep(0.05)
    for leftover in alive:
        leftover.kill()
    assert not alive, [p.pid for p in alive]


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # gone already (e.g. the git the run asks for its version)
        return ""


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (a dead orphan waits for whoever adopted it to reap it: it is gone)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_two_runs_into_one_directory_do_not_mix(short_file, reference, tmp_path):
    out = tmp_path / "run"
    # 250 replicates: long enough (seconds) that the second process starts while the first holds the lock
    first = _run_process(BASELINE, out, "250", "--no-charts", "--seed", "1")
    while not os.path.exists(tmp_path / ".run.lock") and first.poll() is None:
        time.sleep(0.01)
    second = _start(short_file, out, "--seed", "2")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and "another lithium-sim process" in err and "Traceback" not in err
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


# --- the environment fails: a full disk, a read-only one, a scheduler that is not there ---------------------------
@contextlib.contextmanager
def _tmpfs(where: Path, size: str, *options: str):
    """A small in-memory file system mounted at ``where`` (root may mount one); the test is skipped, saying why,
    where this machine does not allow it."""
    where.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full or read-only disk is simulated with a small tmpfs, which needs Linux and root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"this machine does not allow mounting a tmpfs to simulate a full disk: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _remount(where: Path, *options: str) -> None:
    subprocess.run(["mount", "-o", ",".join(["remount", *options]), str(where)], check=True)


@pytest.mark.slow
def test_a_full_disk_while_replicates_are_kept_says_so_and_loses_nothing(tmp_path):
    with _tmpfs(tmp_path / "disk", "1m") as disk:
        done = _run_process(BASELINE, disk / "out", "40", "--no-charts")
        _, err = done.communicate(timeout=300)
        assert done.returncode == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert "is on a full disk" in err and "free space on that disk" in err and str(disk) in err
        assert "no replicate had finished, so nothing was kept" in err
        assert os.listdir(disk) == []  # nothing half-written, and the partial folder gave its space back


@pytest.mark.slow
def test_a_full_disk_while_saving_keeps_the_finished_replicates_for_resume(short_file, reference, tmp_path):
    with _tmpfs(tmp_path / "disk", "600k") as disk:  # the parts (~300 kB) fit, the run directory (1 MB) not
        out = disk / "run"
        done = _start(short_file, out)
        _, err = done.communicate(timeout=300)
        assert done.returncode == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert "is on a full disk" in err and f"{REPLICATES} finished replicate(s) are kept in" in err, err
        [partial] = [p for p in disk.iterdir() if ".partial-" in p.name]
        assert str(partial) in err and "--resume" in err and not out.exists()
        _remount(disk, "size=64m")  # space is freed
        resumed = _start(short_file, out, "--resume")
        _, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err
        _assert_same(out, reference)
        assert sorted(p.name for p in disk.iterdir()) == ["run"]


@pytest.mark.slow
def test_a_read_only_disk_says_where_and_what_to_do(short_file, tmp_path):
    with _tmpfs(tmp_path / "disk", "1m", "ro") as disk:
        done = _start(short_file, disk / "run")
        _, err = done.communicate(timeout=300)
        assert done.returncode == 2 and "Traceback" not in err and err.count("\n") == 1, err
        assert "read-only file system" in err and "a disk that can be written" in err and str(disk) in err
        assert "No replicate ran and nothing was written" in err


def test_an_unreachable_scheduler_is_a_message_within_seconds(tmp_path):
    from sim.runs.executors import CONNECT_TIMEOUT_S, connect

    started = time.monotonic()
    with pytest.raises(InputError) as info:
        connect("tcp://127.0.0.1:1")
    assert time.monotonic() - started < 10  # Dask's client alone waited 30 s
    assert "tcp://127.0.0.1:1" in info.value.message and "connection refused" in info.value.message
    assert CONNECT_TIMEOUT_S <= 5


@pytest.mark.slow
def test_an_unreachable_scheduler_stops_the_run_with_exit_2(short_file, tmp_path):
    done = _start(short_file, tmp_path / "run", "--scheduler", "tcp://127.0.0.1:1")
    _, err = done.communicate(timeout=120)
    assert done.returncode == 2 and "Traceback" not in err and err.count("\n") == 1, err
    assert "tcp://127.0.0.1:1" in err and "dask scheduler" in err and "nothing was kept" in err
    assert list(tmp_path.iterdir()) == []
