"""Shared fixtures: the library's scenarios, a short variant, and helpers that run batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine.model import LithiumModel, release, simulate_batch
from sim.inputs.scenario import load_scenario, month_index
from sim.outputs.metrics import batch_metrics
from sim.runs.provenance import replicate_seeds

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.toml"
LIBRARY = sorted(p for p in SCENARIOS.glob("*.toml"))

# The longest test files first (measured, seconds on 2 cores): `make test` hands whole files to its two
# processes in this order (pytest-xdist --dist loadfile --no-loadscope-reorder), so the short ones fill the end
LONGEST_FIRST = (
    "test_calibration_run.py",  # the quick calibration, ~60
    "test_app.py",  # a browser session, ~60
    "test_faults.py",
    "test_charts.py",
    "test_library.py",
    "test_readme.py",
    "test_explore.py",
    "test_runner.py",
    "test_calibration.py",
    "test_guard.py",
    "test_cli.py",
    "test_compare.py",
    "test_notebooks.py",
    "test_reference.py",
    "test_rundir.py",
    "test_workbench.py",
    "test_cluster_outputs.py",
    "test_fuzz.py",
    "test_gate.py",
)


def pytest_collection_modifyitems(items):
    """Files in `LONGEST_FIRST` order, the rest after; a file's tests keep their order (a stable sort)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def baseline():
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def market_baseline():
    return load_scenario(SCENARIOS / "baseline_market.toml")


@pytest.fixture(scope="session")
def short_file(tmp_path_factory):
    """The baseline cut at 2023-12, as a scenario file (fast enough for many runs from the command line)."""
    text = BASELINE.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.splitlines() if not line.startswith(('"2024-', '"2025-')))
    path = tmp_path_factory.mktemp("scenario") / "short.toml"
    path.write_text(
        text.replace('end = "2030-12"', 'end = "2023-12"').replace('name = "baseline"', 'name = "short"'),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="session")
def short(baseline):
    """Baseline cut at 2024-12: the base years plus one, fast enough for property tests."""
    return baseline.with_changes(end_month=month_index("2024-12"))


def seeds(n: int = 1, master: int = 20240101) -> list[np.random.SeedSequence]:
    return replicate_seeds(master, n)


def run(scenario, n: int = 1, params=None, master: int = 20240101, **kw):
    """A batch's record."""
    return simulate_batch(scenario, params=params, seeds=seeds(n, master), **kw)


def metrics(scenario, n: int = 1, params=None, master: int = 20240101, **kw):
    """(region, segment, metric) -> (R, Y) values of a batch."""
    return {k: v for k, (_, v) in batch_metrics(run(scenario, n, params, master, **kw)).items()}


def traced(
    scenario, fields=("unit_cost", "prices", "quantity", "available"), n: int = 1, params=None, master: int = 20240101
) -> LithiumModel:
    """A finished model that kept per-firm monthly fields (``model.monthly[stage][field]``, (R, N) a month)."""
    model = LithiumModel(scenario, params=params, seeds=seeds(n, master), trace=tuple(fields))
    model.run()
    release(model)
    return model


@pytest.fixture(scope="session")
def baseline_record(baseline):
    """Four replicates of the baseline, as `lithium-sim run` seeds them."""
    return run(baseline, 4, firm_detail=2)
