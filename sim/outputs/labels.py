"""Words for charts, workbooks and the workbench: the names this module always gave, now read from the one
message catalogue (`sim.inputs.catalogue`, where every entry and its API are documented). New code calls the
catalogue directly."""

from __future__ import annotations

from sim.inputs.catalogue import LANGUAGES, check, display_unit, scenario_label, stage_unit, words
from sim.inputs.catalogue import metric as metric_label
from sim.inputs.catalogue import segment as segment_label
from sim.inputs.catalogue import unit as unit_label

__all__ = [
    "LANGUAGES",
    "check",
    "display_unit",
    "metric_label",
    "scenario_label",
    "segment_label",
    "stage_unit",
    "text",
    "unit_label",
]


def text(lang: str) -> dict:
    """Every word of a language as a nested dict (``text("zh")["sheets"]["headline"]``)."""
    return words(lang)
