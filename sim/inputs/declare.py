"""The declaration of one tunable number: the building block of parameters, stages and levers.

A `Param` says everything the rest of the code needs to know about a number: its default, unit, valid range,
the reason for the default, and whether calibration may move it. Parameter tables, the scenario schema, the
Python API's checks and the workbench's controls are generated from these declarations (docs/model.md,
"Parameters").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    """A declared number.

    Attributes:
        name: the name in parameter files and scenario tables (snake_case, unit-free).
        default: the value used unless a parameter file or scenario says otherwise.
        unit: the unit, written out (``yuan/t``, ``months``, ``1`` for dimensionless).
        low: smallest valid value.
        high: largest valid value.
        reason: why the default, with its source or the assumption it rests on.
        integer: whole numbers only.
        calibrate: calibration may fit it (the free-parameter file chooses which ones it does).
        label_en: a short English label for controls and tables (defaults to the name).
        label_zh: the Chinese label.
    """

    name: str
    default: float
    unit: str
    low: float
    high: float
    reason: str
    integer: bool = False
    calibrate: bool = False
    label_en: str = ""
    label_zh: str = ""

    def __post_init__(self) -> None:
        if not self.low <= self.default <= self.high:
            raise ValueError(f"declaration of {self.name}: default {self.default} outside [{self.low}, {self.high}]")

    def label(self, lang: str = "en") -> str:
        """The label in ``lang`` ("en" or "zh"), falling back to English and then to the name."""
        if lang == "zh" and self.label_zh:
            return self.label_zh
        return self.label_en or self.name.replace("_", " ")

    def problem(self, value: object) -> str:
        """What is wrong with ``value`` for this declaration, or '' when it is valid."""
        import math

        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "an integer" if self.integer else "a number"
            return f"must be {kind} in [{self.low:g}, {self.high:g}] ({self.unit})"
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer too large for a float
            return f"{str(value)[:20]}... is out of range; allowed [{self.low:g}, {self.high:g}] ({self.unit})"
        if not finite:
            return f"must be a finite number in [{self.low:g}, {self.high:g}] ({self.unit})"
        if self.integer and value != int(value):
            return f"must be a whole number in [{self.low:g}, {self.high:g}] ({self.unit}), got {value!r}"
        if not self.low <= value <= self.high:
            return f"{value!r} is out of range; allowed [{self.low:g}, {self.high:g}] ({self.unit})"
        return ""
