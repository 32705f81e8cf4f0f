"""Seeds that never overlap: no calibration seed (the fit's common random numbers, the out-of-sample replicates,
the recovery's pseudo-data and noise) is ever the seed of a run's replicate, or of one of its random streams, so
every figure a run reports comes from replicates the fit never saw (calibration/seeds.py; docs/model.md,
"Stochasticity")."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.seeds import SPAWN_KEYS, calibration_seeds, out_of_sample_seeds, recovery_seeds, seed_set
from sim.engine.population import STREAMS
from sim.inputs.scenario import MAX_REPLICATES, load_scenario
from sim.runs.provenance import replicate_seeds
from tests.conftest import LIBRARY

RUN_REPLICATES = 3000  # replicates of every library scenario's run whose seeds are checked
CALIBRATION_SEEDS = 200  # seeds of each calibration set checked (the default fit uses 10, 20 and 10)


def state(seed: np.random.SeedSequence) -> tuple[int, ...]:
    """What a seed feeds a generator: its first 128 bits of state."""
    return tuple(int(v) for v in seed.generate_state(4))


@pytest.fixture(scope="module")
def masters() -> list[int]:
    return sorted({load_scenario(path).seed for path in LIBRARY})


@pytest.fixture(scope="module")
def run_states(masters) -> set[tuple[int, ...]]:
    """The states of every replicate seed, and of every replicate's streams, of the library's runs."""
    out = set()
    for master in masters:
        for seed in replicate_seeds(master, RUN_REPLICATES):
            out.add(state(seed))
            fresh = np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
            out.update(state(child) for child in fresh.spawn(len(STREAMS)))
    return out


def calibration_states(master: int) -> dict[str, set[tuple[int, ...]]]:
    return {use: {state(s) for s in seed_set(master, use, CALIBRATION_SEEDS)} for use in SPAWN_KEYS}


def test_no_calibration_seed_is_a_run_replicate_or_one_of_its_streams(masters, run_states):
    assert len(run_states) == len(masters) * RUN_REPLICATES * (1 + len(STREAMS))  # the runs' own are distinct
    for master in masters:
        for use, states in calibration_states(master).items():
            clash = states & run_states
            assert not clash, f"{len(clash)} {use} seeds of master {master} coincide with a run's"


def test_the_calibration_sets_never_overlap_each_other(masters):
    for master in masters:
        sets = calibration_states(master)
        everything = set().union(*sets.values())
        assert len(everything) == CALIBRATION_SEEDS * len(sets)


def test_the_overlap_check_would_catch_the_old_seeds(run_states, masters):
    """The calibration's seeds used to be the first replicates of a run: the check sees that."""
    old = {state(s) for s in np.random.SeedSequence(masters[0]).spawn(10)}
    assert old <= run_states


def test_the_spawn_keys_lie_above_any_replicate_index():
    """A run's replicate i spawns its streams with keys (i, k): a calibration key (KEY, j) must never be one."""
    assert min(SPAWN_KEYS.values()) > MAX_REPLICATES and len(set(SPAWN_KEYS.values())) == len(SPAWN_KEYS)
    for make, use in ((calibration_seeds, "calibration"), (out_of_sample_seeds, "out_of_sample")):
        assert [s.spawn_key for s in make(7, 3)] == [(SPAWN_KEYS[use], j) for j in range(3)]
    assert recovery_seeds(7, 2)[1].spawn_key == (SPAWN_KEYS["recovery"], 1)
