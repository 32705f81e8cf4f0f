"""Targets and free parameters as data: loading and checking ``targets.toml`` and ``free_parameters.toml``.

Both files are data, never executed. Every problem raises `InputError` naming the file and the dotted key.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calibration.moments import REGIONS, MomentSpec
from sim.api import PARAMETERS, InputError, ModelParams

CALIBRATION_DIR = Path(__file__).resolve().parent
TARGETS_FILE = CALIBRATION_DIR / "targets.toml"
FREE_PARAMETERS_FILE = CALIBRATION_DIR / "free_parameters.toml"

SCENARIOS = ("baseline", "baseline_market")  # calibration scenarios: scenarios/<name>.toml
# What a target is to the fit (docs/model.md, "What is fitted, what is an input, what is predicted"):
KINDS = {
    "fitted": "enters the objective",
    "held_out": "scored, never fitted: a check the fit did not aim at",
    "input": "equals, or is fixed by, a scenario input: reported, never fitted or counted",
    "identity": "follows from the scenario's inputs given the parameters named in `given`: reported, never fitted "
    "or counted",
}
INFORMATIVE = ("fitted", "held_out")  # the kinds a count of targets met counts
_TARGET_KEYS = {
    "kind",
    "given",
    "scenario",
    "metric",
    "region",
    "segment",
    "year",
    "value",
    "unit",
    "tolerance",
    "tolerance_low",
    "tolerance_high",
    "weight",
    "used",
    "reason",
    "source",
    "note",
}
_FREE_KEYS = {"low", "high", "unit", "reason", "fit", "integer", "identified_by", "group"}
# fit groups, in the order they are fitted, and the calibration scenario whose targets each is fitted to
GROUPS = {"firms": "baseline", "market": "baseline_market"}


@dataclass(frozen=True)
class Target:
    """One calibration target: a reported figure, the model figure it is compared with, and its band.

    Attributes:
        name: short identifier (the table name in the targets file).
        spec: which model figure (metric, region, segment, year).
        value: the reported or derived figure, in ``unit``.
        unit: its unit.
        tolerance_low: the band reaches ``value - tolerance_low``.
        tolerance_high: the band reaches ``value + tolerance_high``.
        weight: relative weight in the objective.
        used: False keeps the target on record without scoring it (the model cannot compute the figure).
        reason: why a target is not used, or not fitted (every kind but ``fitted``).
        source: where the figure comes from.
        note: how it relates to the model figure and why the tolerance.
        kind: ``fitted``, ``held_out``, ``input`` or ``identity`` (`KINDS`).
        given: for an identity, the parameters it follows from given the inputs.
    """

    name: str
    spec: MomentSpec
    value: float
    unit: str
    tolerance_low: float
    tolerance_high: float
    weight: float
    used: bool
    reason: str
    source: str
    note: str
    kind: str = "fitted"
    given: tuple[str, ...] = ()

    @property
    def fitted(self) -> bool:
        """Enters the objective (a used target of kind ``fitted``)."""
        return self.used and self.kind == "fitted"

    @property
    def informative(self) -> bool:
        """Says something the inputs do not (kind ``fitted`` or ``held_out``): the targets a count of met
        targets counts."""
        return self.kind in INFORMATIVE

    def inside(self, model_value: float) -> bool:
        """Whether a model figure lies in the band ``[value - tolerance_low, value + tolerance_high]``."""
        return bool(self.value - self.tolerance_low <= model_value <= self.value + self.tolerance_high)

    def z(self, model_value: float) -> float:
        """Distance from the target in tolerance units (negative below): |z| <= 1 is inside the band."""
        gap = model_value - self.value
        return gap / (self.tolerance_high if gap > 0 else self.tolerance_low)


@dataclass(frozen=True)
class FreeParameter:
    """A parameter calibration may move, with the bounds of its search and the reason for them.

    Attributes:
        name: a field of `sim.inputs.params.ModelParams`.
        low: lower bound of the search (within the parameter's declared range).
        high: upper bound.
        unit: its unit (as declared in sim/params.py).
        reason: the prior reason for the bounds.
        fit: False holds it at the base value (the reason says why).
        integer: search over whole numbers only (months, counts).
        identified_by: which targets are expected to pin it down (a prior claim the report checks).
        group: ``firms`` (fitted to the targets of scenario ``baseline``) or ``market`` (fitted afterwards to
            those of ``baseline_market``, the firms' values held); see `GROUPS`.
    """

    name: str
    low: float
    high: float
    unit: str
    reason: str
    fit: bool = True
    integer: bool = False
    identified_by: str = ""
    group: str = "firms"

    @property
    def scenario(self) -> str:
        """The calibration scenario whose targets fit this parameter."""
        return GROUPS[self.group]


def _read(path: Path, body: str) -> dict[str, Any]:
    """The TOML file's tables; only ``meta`` and ``body`` are allowed at the top."""
    data = _read_toml(path)
    unknown = sorted(set(data) - {"meta", body})
    if unknown:
        raise InputError(f"unknown table '{unknown[0]}'; allowed: meta, {body}", file=str(path), key=unknown[0])
    return data


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError("file not found", file=str(path))
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", file=str(path)) from None
    except UnicodeDecodeError:
        raise InputError("not a UTF-8 text file", file=str(path)) from None


def _number(
    table: dict[str, Any],
    key: str,
    file: str,
    dotted: str,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    default: float | None = None,
) -> float:
    if key not in table:
        if default is not None:
            return default
        raise InputError("is required (a number)", file=file, key=f"{dotted}.{key}")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value!r}", file=file, key=f"{dotted}.{key}")
    if not low <= value <= high:
        raise InputError(f"{value!r} is out of range; allowed [{low:g}, {high:g}]", file=file, key=f"{dotted}.{key}")
    return float(value)


def _string(
    table: dict[str, Any],
    key: str,
    file: str,
    dotted: str,
    *,
    required: bool = True,
    choices: tuple[str, ...] = (),
) -> str:
    if key not in table:
        if required:
            raise InputError("is required (a string)", file=file, key=f"{dotted}.{key}")
        return ""
    value = table[key]
    if not isinstance(value, str):
        raise InputError(f"must be a string, got {value!r}", file=file, key=f"{dotted}.{key}")
    if choices and value not in choices:
        raise InputError(
            f"'{value}' is not allowed; choose one of {', '.join(choices)}", file=file, key=f"{dotted}.{key}"
        )
    return value


def _boolean(table: dict[str, Any], key: str, file: str, dotted: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise InputError(f"must be true or false, got {value!r}", file=file, key=f"{dotted}.{key}")
    return value


def load_targets(path: str | Path | None = None) -> list[Target]:
    """Read and check a targets file (default ``calibration/targets.toml``).

    Raises:
        InputError: naming the file and the dotted key of the first problem.
    """
    path = Path(path) if path else TARGETS_FILE
    file = str(path)
    data = _read(path, "targets")
    tables = data.get("targets")
    if not isinstance(tables, dict) or not tables:
        raise InputError("needs a non-empty [targets.<name>] table per target", file=file, key="targets")
    out: list[Target] = []
    for name, table in tables.items():
        dotted = f"targets.{name}"
        if not isinstance(table, dict):
            raise InputError("must be a table", file=file, key=dotted)
        for key in table:
            if key not in _TARGET_KEYS:
                raise InputError(
                    f"unknown key '{key}'; allowed: {', '.join(sorted(_TARGET_KEYS))}",
                    file=file,
                    key=f"{dotted}.{key}",
                )
        metric = _string(table, "metric", file, dotted)
        region = _string(table, "region", file, dotted)
        if region not in REGIONS and not region.startswith("plant:"):
            raise InputError(
                f"region must be one of {', '.join(REGIONS)}, or plant:<firm_id> (several joined by +)",
                file=file,
                key=f"{dotted}.region",
            )
        segment = _string(table, "segment", file, dotted)
        year = int(_number(table, "year", file, dotted, low=2022, high=2050))
        if isinstance(table["year"], float):
            raise InputError("must be an integer year", file=file, key=f"{dotted}.year")
        scenario = _string(table, "scenario", file, dotted, required=False, choices=SCENARIOS) or "baseline"
        spec = MomentSpec(metric, region, segment, year, scenario)
        used = _boolean(table, "used", file, dotted, True)
        problem = spec.problem()
        if problem and used:
            raise InputError(f"{problem} (set used = false with a reason)", file=file, key=f"{dotted}.metric")
        value = _number(table, "value", file, dotted)
        unit = _string(table, "unit", file, dotted)  # checked against the summary's unit by `check_units`
        symmetric = "tolerance" in table
        if symmetric and ("tolerance_low" in table or "tolerance_high" in table):
            raise InputError(
                "give either tolerance or tolerance_low and tolerance_high, not both",
                file=file,
                key=f"{dotted}.tolerance",
            )
        if symmetric:
            low = high = _number(table, "tolerance", file, dotted, low=0.0)
        else:
            if "tolerance_low" not in table or "tolerance_high" not in table:
                raise InputError(
                    "needs tolerance (or tolerance_low and tolerance_high)",
                    file=file,
                    key=f"{dotted}.tolerance",
                )
            low = _number(table, "tolerance_low", file, dotted, low=0.0)
            high = _number(table, "tolerance_high", file, dotted, low=0.0)
        if used and (low <= 0.0 or high <= 0.0):
            raise InputError(
                "a used target needs a tolerance above zero (no invented precision)",
                file=file,
                key=f"{dotted}.tolerance",
            )
        if "kind" not in table:
            raise InputError(
                f"is required: one of {', '.join(KINDS)} (what the target is to the fit)",
                file=file,
                key=f"{dotted}.kind",
            )
        kind = _string(table, "kind", file, dotted, choices=tuple(KINDS))
        given = _given(table, kind, file, dotted)
        weight = _number(table, "weight", file, dotted, low=0.0, high=1e3, default=1.0)
        if used and kind == "fitted" and weight <= 0.0:
            raise InputError("a fitted target needs a weight above zero", file=file, key=f"{dotted}.weight")
        reason = _string(table, "reason", file, dotted, required=not used or kind != "fitted")
        source = _string(table, "source", file, dotted)
        note = _string(table, "note", file, dotted, required=False)
        out.append(Target(name, spec, value, unit, low, high, weight, used, reason, source, note, kind, given))
    if not any(t.fitted for t in out):
        raise InputError("no target is used and of kind fitted", file=file, key="targets")
    return out


def _given(table: dict[str, Any], kind: str, file: str, dotted: str) -> tuple[str, ...]:
    """The parameters an identity follows from: a model parameter's name or a list of them (identities only)."""
    key = f"{dotted}.given"
    if kind != "identity":
        if "given" in table:
            raise InputError("only a target of kind identity names the parameters it follows from", file=file, key=key)
        return ()
    value = table.get("given")
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InputError(
            "an identity names the model parameter(s) it follows from given the inputs (a name or a list)",
            file=file,
            key=key,
        )
    for n in names:
        if n not in PARAMETERS:
            raise InputError(f"'{n}' is not a model parameter (docs/model.md lists them)", file=file, key=key)
    return tuple(names)


def load_free_parameters(path: str | Path | None = None) -> list[FreeParameter]:
    """Read and check the free-parameter file (default ``calibration/free_parameters.toml``).

    Every name must be a model parameter and its bounds must lie within its declared range.

    Raises:
        InputError: naming the file and the dotted key of the first problem.
    """
    path = Path(path) if path else FREE_PARAMETERS_FILE
    file = str(path)
    data = _read(path, "parameters")
    tables = data.get("parameters")
    if not isinstance(tables, dict) or not tables:
        raise InputError("needs a [parameters.<name>] table per free parameter", file=file, key="parameters")
    out: list[FreeParameter] = []
    for name, table in tables.items():
        dotted = f"parameters.{name}"
        if name not in PARAMETERS:
            raise InputError(f"'{name}' is not a model parameter (docs/model.md lists them)", file=file, key=dotted)
        if not isinstance(table, dict):
            raise InputError("must be a table", file=file, key=dotted)
        for key in table:
            if key not in _FREE_KEYS:
                raise InputError(
                    f"unknown key '{key}'; allowed: {', '.join(sorted(_FREE_KEYS))}",
                    file=file,
                    key=f"{dotted}.{key}",
                )
        declared_low, declared_high = PARAMETERS[name].low, PARAMETERS[name].high
        low = _number(table, "low", file, dotted, low=declared_low, high=declared_high)
        high = _number(table, "high", file, dotted, low=declared_low, high=declared_high)
        if not low < high:
            raise InputError(f"low ({low:g}) must be below high ({high:g})", file=file, key=f"{dotted}.high")
        unit = _string(table, "unit", file, dotted)
        declared_unit = PARAMETERS[name].unit
        if unit != declared_unit:
            raise InputError(
                f"unit '{unit}' differs from the declared unit '{declared_unit}'",
                file=file,
                key=f"{dotted}.unit",
            )
        reason = _string(table, "reason", file, dotted)
        fit = _boolean(table, "fit", file, dotted, True)
        # a declared whole number is searched on whole numbers whatever the file says; others may opt in
        integer = _boolean(table, "integer", file, dotted, False) or PARAMETERS[name].integer
        identified_by = _string(table, "identified_by", file, dotted, required=False)
        group = _string(table, "group", file, dotted, required=False, choices=tuple(GROUPS)) or "firms"
        out.append(FreeParameter(name, low, high, unit, reason, fit, integer, identified_by, group))
    if not any(p.fit for p in out):
        raise InputError("no parameter has fit = true", file=file, key="parameters")
    return out


def check_units(targets: list[Target], units: dict[tuple[str, str, str, str], str], file: str) -> None:
    """Each target's unit must be the unit of its figure in the run summary (``units``: (scenario, region,
    segment, metric) -> unit, from a short run of each calibration scenario)."""
    for t in targets:
        s = t.spec
        model_unit = units.get((s.scenario, s.region, s.segment, s.metric))
        if model_unit is not None and t.unit != model_unit:
            raise InputError(
                f"unit '{t.unit}' does not match the summary's unit '{model_unit}' for {s.metric} of "
                f"{s.region} {s.segment}",
                file=file,
                key=f"targets.{t.name}.unit",
            )


def check_base(free: list[FreeParameter], base: ModelParams, file: str) -> None:
    """Held (fit = false) parameters keep their base value; it must lie within their bounds for the record."""
    for p in free:
        value = getattr(base, p.name)
        if not p.fit and not p.low <= value <= p.high:
            raise InputError(
                f"held at its base value {value:g}, outside its bounds [{p.low:g}, {p.high:g}]",
                file=file,
                key=f"parameters.{p.name}",
            )
