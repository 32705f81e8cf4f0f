"""The calibration's replicate seeds, each set from its own spawn key so that none is ever a run's replicate.

A run with master seed S gives replicate i the seed ``SeedSequence(S).spawn(N)[i]``: spawn key ``(i,)``, with
i below the largest replicate count a run may have (100,000, ``replicates`` in a scenario file), and each
replicate's random streams are spawned from it with keys ``(i, k)`` (docs/model.md, "Stochasticity"). The
calibration draws its sets from ``SeedSequence(S, spawn_key=(KEY,)).spawn(n)``: spawn keys ``(KEY, j)``, with a
KEY per set far above any replicate index. So

- a calibration seed is never a run's replicate seed (their spawn keys differ in length, so the pools numpy
  hashes from them differ), and never one of a replicate's streams (KEY is no replicate index);
- the sets never overlap each other (their KEYs differ).

Every figure a run reports (README, docs, charts, ``summary.csv``) therefore comes from replicates the fit never
saw; the fit report's out-of-sample columns, the backtest's scores and the recovery's pseudo-data come from
sets of their own. A test compares the generated states of all of them with those of the library's runs.
"""

from __future__ import annotations

import numpy as np

# one spawn key per use, far above the largest replicate index of a run (MAX_REPLICATES = 100,000)
CALIBRATION_KEY = 1_000_001  # common random numbers of every candidate (the fit's own seeds: in sample)
OUT_OF_SAMPLE_KEY = 1_000_002  # the fit table's and the backtest's out-of-sample replicates
RECOVERY_KEY = 1_000_003  # the recovery check's pseudo-data, one realisation per replication
RECOVERY_NOISE_KEY = 1_000_004  # the noise added to each replication's pseudo-data (a generator, not a replicate)
SPAWN_KEYS = {
    "calibration": CALIBRATION_KEY,
    "out_of_sample": OUT_OF_SAMPLE_KEY,
    "recovery": RECOVERY_KEY,
    "recovery_noise": RECOVERY_NOISE_KEY,
}


def seed_set(master: int, use: str, n: int) -> list[np.random.SeedSequence]:
    """``n`` seeds of one use (a key of `SPAWN_KEYS`): ``SeedSequence(master, spawn_key=(KEY,)).spawn(n)``."""
    return np.random.SeedSequence(master, spawn_key=(SPAWN_KEYS[use],)).spawn(n)


def calibration_seeds(master: int, n: int) -> list[np.random.SeedSequence]:
    """The fit's common random numbers: spawn keys ``(CALIBRATION_KEY, j)``."""
    return seed_set(master, "calibration", n)


def out_of_sample_seeds(master: int, n: int) -> list[np.random.SeedSequence]:
    """Replicates the fit never saw: spawn keys ``(OUT_OF_SAMPLE_KEY, j)``."""
    return seed_set(master, "out_of_sample", n)


def recovery_seeds(master: int, n: int) -> list[np.random.SeedSequence]:
    """The recovery check's pseudo-data, one seed per replication: spawn keys ``(RECOVERY_KEY, r)``."""
    return seed_set(master, "recovery", n)


def recovery_noise(master: int, replication: int) -> np.random.Generator:
    """The generator of one recovery replication's data noise: spawn key ``(RECOVERY_NOISE_KEY, r)``."""
    return np.random.default_rng(seed_set(master, "recovery_noise", replication + 1)[replication])


def describe(use: str, master: int | str = "seed_master", n: int | str = "n") -> str:
    """How a set is spawned, for the record (``calibrated.toml``, the report)."""
    return f"numpy.random.SeedSequence({master}, spawn_key=({SPAWN_KEYS[use]},)).spawn({n})"
