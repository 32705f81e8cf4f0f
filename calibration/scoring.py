"""Scoring targets on a set of seeds: the figures of a batch of replicates, and their mean and P5-P95 band as the
run summary computes them (the mean over the replicates where a figure is defined; numpy's default quantiles).
Used by the fit table (`calibration.report`) and the backtest (`calibration.backtest`)."""

from __future__ import annotations

import warnings

import numpy as np

from calibration.moments import MomentSpec, fresh_seed, simulate_moments
from calibration.objective import seed_mean
from calibration.targets import Target
from sim.api import Executor, ModelParams, Scenario


def batch_figures(
    scenario: Scenario, params: ModelParams, seeds: list[np.random.SeedSequence], specs: tuple[MomentSpec, ...]
) -> np.ndarray:
    """The figures ``specs`` of one batch of replicates, ``(seeds, specs)`` (a worker task)."""
    return simulate_moments(scenario, params, [fresh_seed(s) for s in seeds], specs)


def by_scenario(targets: list[Target]) -> dict[str, list[int]]:
    """Indices of ``targets`` by the calibration scenario they are read from, in order."""
    out: dict[str, list[int]] = {}
    for k, t in enumerate(targets):
        out.setdefault(t.spec.scenario, []).append(k)
    return out


def band(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, P5 and P95 over seeds (axis 0) of the seeds where a figure is defined, as ``summary.csv``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # a figure no seed defines stays nan
        p05, p95 = np.nanquantile(values, [0.05, 0.95], axis=0)
    return {"mean": seed_mean(values), "p05": p05, "p95": p95}


def score(
    executor: Executor,
    scenarios: dict[str, Scenario],
    targets: list[Target],
    runs: dict[str, tuple[ModelParams, list[np.random.SeedSequence]]],
) -> dict[str, dict[str, np.ndarray]]:
    """Every target's figures under each named run (parameters, seeds): ``run -> {"values": (seeds, targets),
    "mean", "p05", "p95"}``, one batch per run and calibration scenario, all on the executor at once."""
    groups = by_scenario(targets)
    jobs, order = [], []
    for run_name, (params, seeds) in runs.items():
        for scenario_name, idx in groups.items():
            jobs.append((scenarios[scenario_name], params, list(seeds), tuple(targets[k].spec for k in idx)))
            order.append((run_name, idx))
    results = executor.map(batch_figures, *zip(*jobs, strict=True)) if jobs else []
    out: dict[str, dict[str, np.ndarray]] = {}
    for (run_name, idx), values in zip(order, results, strict=True):
        n = len(runs[run_name][1])
        table = out.setdefault(run_name, {"values": np.full((n, len(targets)), np.nan)})
        table["values"][:, idx] = values
    for table in out.values():
        table.update(band(table["values"]))
    return out
