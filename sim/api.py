"""The Python API: load a scenario, change it in code, run it, compare runs, without the command line.

The one door into the simulator for code outside it (notebooks, calibration, scenario discovery, the
workbench)::

    import sim

    base = sim.load_scenario("scenarios/baseline.toml")
    cheaper = sim.override(base, name="cheaper_lfp", suining_cost_factor_lfp=0.9,
                           policy={"energy_support": {"cost_cut": 0.1, "from": "2026-01"}})
    a, b = sim.run(base, replicates=20), sim.run(cheaper, replicates=20, workers=2)
    b.value("value_added", year=2030)            # Suining value added, 亿元, mean over replicates
    b.summary                                    # the summary.csv table as a DataFrame
    b.save("results/cheaper_lfp")                # a run directory, as `lithium-sim run` writes it
    table = sim.compare_runs([a, b], out_dir="results/cheaper_vs_base")   # comparison.csv, .xlsx, charts

Parameters, levers and stages are declared once (`PARAMETERS`, `LEVERS`, `DEFAULT_CHAIN`); ``override`` checks
every change against those declarations exactly as a scenario file is checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.engine.model import simulate_batch
from sim.inputs.catalogue import say
from sim.inputs.chain import DEFAULT_CHAIN, Chain, Stage
from sim.inputs.clusters import cluster_keys
from sim.inputs.data import default_data
from sim.inputs.errors import InputError
from sim.inputs.files import project_root
from sim.inputs.levers import LEVERS, Policy
from sim.inputs.params import PARAMETERS, ModelParams, build_params, load_param_file
from sim.inputs.scenario import (
    SCHEMA,
    Leaf,
    Scenario,
    load_scenario,
    load_scenario_text,
    month_index,
    month_label,
    override_policy,
)
from sim.inputs.tomltext import toml_key, toml_table, toml_value
from sim.inputs.units import BASE_YEAR, YI
from sim.outputs.charts import use_bundled_font
from sim.outputs.metrics import batch_metrics, metric_catalogue, plant_metrics
from sim.runs.compare import compare
from sim.runs.executors import Executor
from sim.runs.provenance import code_version
from sim.runs.rundir import write_directory
from sim.runs.runner import RunResult, run_scenario

__all__ = [
    "BASE_YEAR",
    "DEFAULT_CHAIN",
    "LEVERS",
    "PARAMETERS",
    "YI",
    "Chain",
    "Executor",
    "InputError",
    "Leaf",
    "ModelParams",
    "Policy",
    "RunResult",
    "Scenario",
    "Stage",
    "build_params",
    "code_version",
    "compare",
    "cluster_keys",
    "default_data",
    "load_param_file",
    "load_scenario",
    "load_scenario_text",
    "metric_catalogue",
    "month_index",
    "month_label",
    "override",
    "project_root",
    "run",
    "say",
    "simulate_metrics",
    "toml_key",
    "toml_table",
    "toml_value",
    "use_bundled_font",
    "write_directory",
]

# scenario fields ``override`` may change, with the schema rule that checks them
_FIELD_RULES = {
    "name": SCHEMA["name"],
    "description": SCHEMA["description"],
    "seed": SCHEMA["seed"],
    "replicates": SCHEMA["replicates"],
    "volatility": SCHEMA["carbonate_price"]["volatility"],
    "persistence": SCHEMA["carbonate_price"]["persistence"],
    "price_revert_level": SCHEMA["carbonate_price"]["revert_level"],
    "price_revert_half_life": SCHEMA["carbonate_price"]["revert_half_life_months"],
    "price_growth_rate": SCHEMA["carbonate_price"]["growth_rate"],
    "price_mode": SCHEMA["carbonate_price"]["mode"],
    "price_after": SCHEMA["carbonate_price"]["after"],
    "city_other_growth": SCHEMA["city"]["other_growth_real"],
    "city_deflator": SCHEMA["city"]["deflator"],
}
_TABLE_FIELDS = (
    {f.name for f in dataclasses.fields(Scenario)}
    - set(_FIELD_RULES)
    - {"params", "policy", "source", "source_sha256", "lineage", "parameter_file", "parameter_file_sha256"}
)


def override(scenario: Scenario, *, policy: Mapping[str, Any] | None = None, **changes: Any) -> Scenario:
    """A copy of ``scenario`` with model parameters, scenario fields or policy levers changed.

    Args:
        scenario: a loaded scenario (it is not modified).
        policy: lever -> {field: value}, as in a scenario's ``[policy]`` table (``"from": "YYYY-MM"``; yearly
            fields such as ``amount`` by year; ``projects`` a list of tables). Checked against the lever
            declarations, as a scenario file is.
        **changes: each a model parameter (`PARAMETERS`, checked against its declared range) or a scenario
            field (``name``, ``seed``, ``replicates``, ``end_month``, ``volatility``, ``price_mode``, ...).

    Raises:
        InputError: an unknown name, or a value of the wrong type or out of range.
    """
    from sim.inputs.scenario import _check_leaf  # the schema's own leaf check: one rule for files and code

    params = {k: v for k, v in changes.items() if k in PARAMETERS}
    fields = {k: v for k, v in changes.items() if k not in PARAMETERS}
    unknown = sorted(set(fields) - set(_FIELD_RULES) - _TABLE_FIELDS)
    if unknown:
        raise InputError(
            f"unknown name(s) {', '.join(unknown)}: give model parameters (docs/model.md, 'Parameters') or "
            f"scenario fields ({', '.join(sorted(set(_FIELD_RULES) | _TABLE_FIELDS))})",
            file="override()",
            key=unknown[0],
        )
    for name, value in fields.items():
        if name in _FIELD_RULES:
            _check_leaf(value, _FIELD_RULES[name], "override()", name)
    if "end_month" in fields:
        end = fields["end_month"]
        if not isinstance(end, int) or isinstance(end, bool) or end < 23 or end % 12 != 11:
            raise InputError(
                "end_month must be the index of a December from 2023-12 on (23, 35, ...)",
                file="override()",
                key="end_month",
            )
    if params:
        fields["params"] = build_params(params, "override()", base=scenario.params)
    result = scenario.with_changes(**fields)
    if policy:
        result = result.with_changes(policy=override_policy(result, dict(policy)))
    return result


def run(
    scenario: Scenario | str | Path,
    replicates: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: bool = False,
    **options: Any,
) -> RunResult:
    """Run a scenario (a `Scenario` or the path of its TOML file) and return the `RunResult`.

    Args:
        scenario: the scenario, or its file.
        replicates: overrides the scenario's count.
        seed: overrides the scenario's master seed.
        workers: local worker processes (1: this process).
        scheduler: a Dask scheduler address or `distributed.Client` to run the batches on instead.
        progress: show a progress bar on standard error (or a callable ``(done, total)``).
        **options: passed to `sim.runs.runner.run_scenario` (e.g. ``batch_size``, ``firm_detail``).

    Returns:
        The run: ``.summary`` (DataFrame), ``.value(metric, region, segment, year)``, ``.firms``, ``.save(dir)``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return run_scenario(
        scenario, replicates=replicates, seed=seed, workers=workers, scheduler=scheduler, progress=progress, **options
    )


def simulate_metrics(
    scenario: Scenario, params: ModelParams | None = None, seeds=None, *, months: int | None = None
) -> dict[tuple[str, str, str], tuple[str, np.ndarray]]:
    """The summary's figures of one batch of replicates, one per seed: ``(region, segment, metric) -> (unit,
    (R, Y) values)``; with ``months``, the first whole years only (the same draws as a full run). Calibration's
    moments come from here, so they are the summary's by construction. The registry's named plants come too, as
    regions ``plant:<firm_id>`` (`sim.outputs.metrics.plant_metrics`: not summary rows, but reported figures a
    calibration can be held to)."""
    record = simulate_batch(scenario, params=params, seeds=seeds, months=months)
    out = batch_metrics(record)
    out.update({(f"plant:{fid}", stage, name): value for (fid, stage, name), value in plant_metrics(record).items()})
    return out
