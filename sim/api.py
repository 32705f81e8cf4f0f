"""The Python API: load a scenario, change it in code, run it, compare runs, without the command line.

A thin layer over `sim.inputs.scenario`, `sim.runs.runner` and `sim.outputs.compare`::

    import sim

    base = sim.load_scenario("scenarios/baseline.toml")
    cheaper = sim.override(base, name="cheaper_lfp", suining_cost_factor_lfp=0.9,
                           policy={"energy_support": {"cost_cut": 0.1, "start": "2026-01"}})
    a, b = sim.run(base, replicates=20), sim.run(cheaper, replicates=20, workers=2)
    b.value("value_added", year=2030)            # Suining value added, 亿元, mean over replicates
    b.summary                                    # the summary.csv table as a DataFrame
    b.save("results/cheaper_lfp")                # a run directory, as `lithium-sim run` writes it
    table = sim.compare_runs([a, b], out_dir="results/cheaper_vs_base")   # comparison.csv, .xlsx, charts

``sim.compare_runs`` is `compare` below (``sim.outputs.compare`` is the module that implements it).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.inputs import scenario as scenario_schema
from sim.inputs.errors import InputError
from sim.inputs.params import PARAM_FIELDS, build_params
from sim.inputs.scenario import Scenario, load_scenario, load_scenario_text, month_index
from sim.outputs.compare import compare
from sim.runs.runner import RunResult, run_scenario

__all__ = ["RunResult", "Scenario", "compare", "load_scenario", "load_scenario_text", "override", "run"]

_SCENARIO_FIELDS = {f.name for f in dataclasses.fields(Scenario)}


def override(scenario: Scenario, *, policy: Mapping[str, Any] | None = None, **changes: Any) -> Scenario:
    """A copy of ``scenario`` with model parameters, scenario fields or policy levers changed.

    Args:
        scenario: a loaded scenario (it is not modified).
        policy: lever -> {field: value}, fields as in `sim.inputs.levers` (e.g.
            ``{"energy_support": {"cost_cut": 0.1}}``; a ``start`` may be given as "YYYY-MM"); ``projects``
            takes a sequence of `sim.inputs.levers.Project`. Values are checked against the ranges of the scenario
            schema where it declares the same name.
        **changes: each a model parameter (a field of `sim.inputs.params.ModelParams`, checked against its range)
            or a scenario field (``name``, ``seed``, ``replicates``, ``end_month``, ``volatility``, ...).

    Raises:
        InputError: an unknown name, or a value of the wrong type or out of range.
    """
    param_changes = {k: v for k, v in changes.items() if k in PARAM_FIELDS}
    scenario_changes = {k: v for k, v in changes.items() if k not in PARAM_FIELDS}
    unknown = sorted(set(scenario_changes) - _SCENARIO_FIELDS)
    if unknown:
        raise InputError(
            f"unknown name(s) {', '.join(unknown)}: give model parameters (sim/params.py) or scenario fields "
            f"({', '.join(sorted(_SCENARIO_FIELDS - {'raw', 'source', 'source_sha256'}))})",
            file="override()",
            key=unknown[0],
        )
    if param_changes:
        scenario_changes["params"] = build_params(param_changes, "override()", base=scenario.params)
    if policy:
        scenario_changes["policy"] = _override_policy(scenario.policy, policy)
    return scenario.with_changes(**scenario_changes)


def _override_policy(policy: Any, changes: Mapping[str, Any]) -> Any:
    levers = {f.name for f in dataclasses.fields(policy)}
    updated: dict[str, Any] = {}
    for lever, fields in changes.items():
        key = f"policy.{lever}"
        if lever not in levers:
            raise InputError(
                f"unknown lever '{lever}'; levers: {', '.join(sorted(levers))}", file="override()", key=key
            )
        current = getattr(policy, lever)
        if not dataclasses.is_dataclass(current):  # e.g. projects: the whole list is replaced
            updated[lever] = tuple(fields)
            continue
        if not isinstance(fields, Mapping):
            raise InputError("must be a mapping of field -> value", file="override()", key=key)
        allowed = {f.name for f in dataclasses.fields(current)}
        values = {}
        for name, value in fields.items():
            if name not in allowed:
                raise InputError(
                    f"unknown field '{name}'; fields: {', '.join(sorted(allowed))}",
                    file="override()",
                    key=f"{key}.{name}",
                )
            values[name] = _lever_value(lever, name, value)
        updated[lever] = dataclasses.replace(current, **values)
    return dataclasses.replace(policy, **updated)


def _lever_value(lever: str, name: str, value: Any) -> Any:
    """Check a lever's value against the scenario schema's range for the same name, if it declares one."""
    key = f"policy.{lever}.{name}"
    if name == "start" and isinstance(value, str):
        try:
            return month_index(value)
        except ValueError:
            raise InputError(f"'{value}' is not a month; write 'YYYY-MM'", file="override()", key=key) from None
    rule = getattr(scenario_schema, "SCHEMA", {}).get("policy", {}).get(lever, {})
    rule = rule.get(name) if isinstance(rule, dict) else None
    low, high = getattr(rule, "low", None), getattr(rule, "high", None)
    if low is None or high is None:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"must be a number in [{low:g}, {high:g}]", file="override()", key=key)
    if not low <= value <= high:
        raise InputError(f"{value!r} is out of range; allowed [{low:g}, {high:g}]", file="override()", key=key)
    return float(value)


def run(
    scenario: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = False,
) -> RunResult:
    """Run a scenario (a `Scenario` or the path of its TOML file) and return the `RunResult`.

    Args:
        scenario: the scenario, or its file.
        replicates: overrides the scenario's count.
        seed: overrides the scenario's master seed.
        workers: local worker processes (1: this process).
        scheduler: a Dask scheduler address or `distributed.Client` to run the replicates on instead.
        progress: show a progress bar on standard error.

    Returns:
        The run: ``.summary`` (DataFrame), ``.value(metric, region, segment, year)``, ``.firms``,
        ``.save(dir)``. Replicates that raised are in ``.failures``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return run_scenario(
        scenario, replicates=replicates, seed=seed, workers=workers, scheduler=scheduler, progress=progress
    )
