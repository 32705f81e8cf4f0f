"""A scenario written back as a TOML scenario file: what the workbench downloads, so that an exploration
becomes a file that ``lithium-sim check`` accepts and ``lithium-sim run`` runs to the same figures.

The file stands alone (no ``extends``): every series, the price path, the policy and the parameters that differ
from its parameter file are written out. The parameter file is named relative to the project root when it lies
in the project (the library's calibration files), so the file works from any directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.api import PARAMETERS, Scenario, load_param_file, month_label, project_root, toml_key, toml_table, toml_value


def _key(key: Any) -> str:
    return toml_key(key)


def _value(value: Any) -> str:
    return toml_value(value, finite=True)  # a scenario's numbers are finite


def _table(lines: list[str], header: str, items: Mapping[str, Any], array: bool = False) -> None:
    lines.append("")
    lines.append(toml_table(header, items, array=array, finite=True).rstrip("\n"))


def _years(table: Mapping[int, float]) -> dict[str, float]:
    return {str(y): float(v) for y, v in sorted(table.items())}


def parameter_file_reference(path: str | None) -> str | None:
    """The parameter file as the TOML names it: relative to the project root when inside it."""
    if path is None:
        return None
    root = project_root().resolve()
    resolved = Path(path).resolve()
    if resolved.is_relative_to(root):
        return resolved.relative_to(root).as_posix()
    return os.fspath(resolved)


def scenario_toml(scenario: Scenario, header: str = "") -> str:
    """The scenario as the text of a standalone scenario file (see the module docstring).

    Args:
        scenario: the scenario (loaded, then changed in code or not).
        header: comment lines to put first (each line is prefixed with ``#``).
    """
    s = scenario
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    top: dict[str, Any] = {
        "name": s.name,
        "description": s.description,
        "start": month_label(0),
        "end": month_label(s.end_month),
        "seed": int(s.seed),
        "replicates": int(s.replicates),
    }
    reference = parameter_file_reference(s.parameter_file)
    if reference is not None:
        top["parameter_file"] = reference
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in top.items())

    price: dict[str, Any] = {"unit": "yuan/t", "mode": s.price_mode, "after": s.price_after}
    if s.price_after == "growth":
        price["growth_rate"] = float(s.price_growth_rate)
    if s.price_after == "revert":
        price["revert_level"] = float(s.price_revert_level)
        price["revert_half_life_months"] = float(s.price_revert_half_life)
    price.update(
        volatility=float(s.volatility), persistence=float(s.persistence), shocks_from=month_label(s.shocks_from)
    )
    _table(lines, "carbonate_price", price)
    _table(lines, "carbonate_price.points", {month_label(m): float(p) for m, p in s.carbonate_points})

    series = (
        ("battery", "GWh/yr", s.battery_levels, s.battery_growth),
        ("storage_share", "fraction", s.storage_share_levels, None),
        ("lfp_share", "fraction", s.lfp_share_levels, None),
        ("non_lfp_lithium", "t LCE/yr", s.non_lfp_levels, s.non_lfp_growth),
        ("rest_of_world_lithium", "t LCE/yr", s.rest_of_world_levels, s.rest_of_world_growth),
    )
    for name, unit, levels, growth in series:
        table: dict[str, Any] = {"unit": unit, "levels": _years(levels)}
        if growth:
            table["growth"] = _years(growth)
        _table(lines, f"demand.{name}", table)

    if s.project_probability:
        _table(lines, "market.project_probability", {k: float(v) for k, v in s.project_probability.items()})
    for event in s.supply_events:
        item: dict[str, Any] = {"kind": event.kind, "name": event.name}
        if event.cohort:
            item["cohort"] = event.cohort
        item.update(capacity=float(event.capacity), share=float(event.share), amount=float(event.amount))
        item.update({"from": month_label(event.start), "until": month_label(event.until)})
        _table(lines, "market.events", item, array=True)

    _table(lines, "city", {"other_growth_real": float(s.city_other_growth), "deflator": float(s.city_deflator)})

    policy = s.policy.to_table(month_label)
    for lever, fields in policy.items():
        if lever != "projects":
            _table(lines, f"policy.{lever}", fields)
    for project in policy.get("projects", []):
        _table(lines, "policy.projects", project, array=True)

    changed = _changed_parameters(s)
    if changed:
        _table(lines, "parameters", changed)
    return "\n".join(lines).lstrip("\n") + "\n"


def _changed_parameters(scenario: Scenario) -> dict[str, Any]:
    """The scenario's parameters that differ from its parameter file's (or from the defaults without one)."""
    if scenario.parameter_file is not None:
        base = load_param_file(scenario.parameter_file)[0].to_dict()
    else:
        base = {name: decl.default for name, decl in PARAMETERS.items()}
    return {k: v for k, v in scenario.params.to_dict().items() if base.get(k) != v}
