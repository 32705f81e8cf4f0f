"""Shared fixtures: the baseline scenario, a short variant, and one finished run of each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine.model import LithiumModel
from sim.outputs.results import collect
from sim.runs.runner import release, replicate_seeds
from sim.inputs.scenario import load_scenario, month_index

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"


@pytest.fixture(scope="session")
def baseline():
    return load_scenario(BASELINE)


@pytest.fixture(scope="session")
def short(baseline):
    """Baseline cut at 2024-12: the base years plus one, fast enough for property tests."""
    return baseline.with_changes(end_month=month_index("2024-12"))


def run_model(scenario, params=None, seed=1):
    model = LithiumModel(scenario, params=params, rng=seed).run()
    release(model)
    return model


@pytest.fixture(scope="session")
def baseline_model(baseline):
    """Replicate 0 of the baseline, seeded exactly as `lithium-sim run scenarios/baseline.toml` seeds it."""
    return run_model(baseline, seed=np.random.default_rng(replicate_seeds(baseline.seed, 1)[0]))


@pytest.fixture(scope="session")
def baseline_result(baseline_model):
    return collect(baseline_model)
