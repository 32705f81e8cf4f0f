"""Faults from outside: runs killed (SIGKILL) or interrupted (SIGINT) at random points resume to the same
bytes as an uninterrupted run; after an interrupt the exit code and the message agree with what is on
disk; worker processes die with their parent; two runs into one directory do not mix."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from sim.cli import main
from tests.conftest import BASELINE

pytestmark = pytest.mark.slow  # end to end: left out of `make test-fast`

TABLES = ("summary.csv", "firms.csv", "market.csv")
REPLICATES = "4"


@pytest.fixture(scope="module")
def reference(short_file, tmp_path_factory):
    """The uninterrupted run: what every interrupted and resumed run must come to, byte for byte."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main(["run", str(short_file), "--replicates", REPLICATES, "--out", str(out), "--quiet"]) == 0
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
        process = _start(short_file, out)
        _strike(process, out, how, rng)
        _, err = process.communicate(timeout=120)
        assert "Traceback" not in err, err
        if how == signal.SIGINT:
            assert process.returncode in (0, 130), err
            if process.returncode == 130:  # the message is true: nothing that looks finished
                assert "no results were written" in err and not out.exists()
            else:
                _assert_same(out, reference)
        code = main(["run", str(short_file), "--replicates", REPLICATES, "--out", str(out), "--quiet", "--resume"])
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
    # 1,000 replicates: long enough (seconds) that the second process starts while the first holds the lock
    first = _run_process(BASELINE, out, "1000", "--no-charts", "--seed", "1")
    while not os.path.exists(tmp_path / ".run.lock") and first.poll() is None:
        time.sleep(0.01)
    second = _start(short_file, out, "--seed", "2")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and "another lithium-sim process" in err and "Traceback" not in err
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
