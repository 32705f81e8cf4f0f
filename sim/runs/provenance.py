"""What a run records about itself: the code version, the replicates' seeds, and the keys that say whether
two runs are the same run (for resuming)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from sim.inputs.files import project_root
from sim.inputs.params import ModelParams
from sim.inputs.scenario import Scenario


def package_version() -> str:
    """The installed package's version (``0.0.0+unknown`` in a source tree that is not installed)."""
    try:
        return version("suining-lithium-sim")
    except PackageNotFoundError:
        return "0.0.0+unknown"


def _git(*args: str) -> str:
    """A git command's output in the source tree ('' when git or the repository is not there)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=project_root(), capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def code_version() -> str:
    """Package version plus the git commit of the source tree when there is one (``.dirty`` when tracked files
    differ from it)."""
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no") if commit else ""
    base = package_version()
    return f"{base}+g{commit}{'.dirty' if dirty else ''}" if commit else base


def replicate_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """One seed per replicate: ``SeedSequence(seed).spawn(n)`` (replicate i always gets child i)."""
    return np.random.SeedSequence(seed).spawn(n)


def scenario_fingerprint(scenario: Scenario) -> str:
    """SHA-256 of everything the scenario holds, including changes made in code after loading it."""
    return hashlib.sha256(repr(scenario).encode("utf-8")).hexdigest()


def run_key(scenario: Scenario, params: ModelParams, seed: int, replicates: int, version: str) -> str:
    """What must match for an interrupted run's finished replicates to be reused."""
    key = {
        "scenario": scenario_fingerprint(scenario),
        "parameters": params.to_dict(),
        "seed": seed,
        "replicates": replicates,
        "version": version,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()
