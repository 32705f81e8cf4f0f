"""The reported figures the model is compared with, read from the calibration targets (``calibration/targets.toml``,
shipped with the package), for charts that mark them: one file holds each figure, so a chart never carries a
copy of it.

The targets file is read as data through the guarded reader (`sim.inputs.files`); the ``calibration`` package
itself is not imported: it sits above the simulator and reaches it only through ``sim.api`` (tests/test_layers.py).
Its loader checks the file in full; here only the fields a marker needs are read.
"""

from __future__ import annotations

import functools

from sim.inputs.errors import InputError
from sim.inputs.files import project_root, read_toml

TARGETS_FILE = project_root() / "calibration" / "targets.toml"


@functools.cache
def _figures() -> dict[tuple[str, str, str, int], float]:
    data, _ = read_toml(TARGETS_FILE, what="calibration targets file")
    out: dict[tuple[str, str, str, int], float] = {}
    for table in data.get("targets", {}).values():
        if not isinstance(table, dict) or not table.get("used", True):
            continue
        if table.get("scenario", "baseline") != "baseline":
            continue
        key = (table.get("metric"), table.get("region"), table.get("segment"), table.get("year"))
        out.setdefault(key, float(table["value"]))
    return out


def reported_figures(metric: str, region: str, segments: tuple[str, ...], year: int) -> dict[str, float]:
    """The reported values of a summary figure by segment, as the used calibration targets of scenario
    ``baseline`` hold them.

    Raises:
        InputError: naming the targets file, when it gives no used target for one of the figures.
    """
    figures = _figures()
    out = {}
    for segment in segments:
        if (metric, region, segment, year) not in figures:
            raise InputError(
                f"no used target gives {metric} of {region} {segment} in {year}, which the charts mark",
                file=str(TARGETS_FILE),
                key="targets",
            )
        out[segment] = figures[(metric, region, segment, year)]
    return out
