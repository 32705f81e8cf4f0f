"""Loading the sourced data files in ``sim/inputs/data/``: the Suining firm registry and national series.

Every row of those files carries its source or is marked ``assumed``/``derived`` with a reason; see
``sim/inputs/data/README.md``. The registry can be edited by a planner; bad rows raise `InputError` naming the
file, the row and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sim.inputs.errors import InputError
from sim.inputs.scenario import month_index

DATA_DIR = Path(__file__).resolve().parent / "data"
SEGMENT_UNITS = {"lithium_salt": "t LCE/yr", "lfp_cathode": "t/yr", "battery": "GWh/yr"}


@dataclass
class RegisteredFirm:
    """A named Suining firm with its capacity tranches (month index, u/yr)."""

    firm_id: str
    name: str
    segment: str
    owns_feedstock: bool
    tranches: list[tuple[int, float]] = field(default_factory=list)

    def capacity_at(self, month: int) -> float:
        return sum(amount for online, amount in self.tranches if online <= month)


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise InputError("data file not found", file=str(path))
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_registry(path: str | Path | None = None) -> list[RegisteredFirm]:
    """Read the Suining firm registry (one row per capacity tranche)."""
    path = Path(path) if path else DATA_DIR / "suining_firms.csv"
    firms: dict[str, RegisteredFirm] = {}
    for line, row in enumerate(_rows(path), start=2):
        where = {"file": str(path)}
        segment = row.get("segment", "")
        if segment not in SEGMENT_UNITS:
            raise InputError(f"row {line}: segment '{segment}' is not one of {', '.join(SEGMENT_UNITS)}",
                             key="segment", **where)
        if row.get("unit") != SEGMENT_UNITS[segment]:
            raise InputError(f"row {line}: unit must be '{SEGMENT_UNITS[segment]}' for {segment}",
                             key="unit", **where)
        try:
            capacity = float(row["capacity"])
        except (KeyError, ValueError):
            raise InputError(f"row {line}: capacity must be a number", key="capacity", **where) from None
        if capacity < 0:
            raise InputError(f"row {line}: capacity must be >= 0", key="capacity", **where)
        try:
            online = max(month_index(row["online"]), 0)
        except (KeyError, ValueError):
            raise InputError(f"row {line}: online must be 'YYYY-MM'", key="online", **where) from None
        owns = row.get("owns_feedstock", "").strip().lower()
        if owns not in ("true", "false"):
            raise InputError(f"row {line}: owns_feedstock must be true or false", key="owns_feedstock", **where)
        fid = row["firm_id"].strip()
        firm = firms.setdefault(fid, RegisteredFirm(fid, row["name"], segment, owns == "true"))
        if firm.segment != segment:
            raise InputError(f"row {line}: firm {fid} appears in two segments", key="segment", **where)
        firm.tranches.append((online, capacity))
    return list(firms.values())


def load_national(path: str | Path | None = None) -> dict[str, dict[int, float]]:
    """National series: ``{key: {year: value}}``."""
    path = Path(path) if path else DATA_DIR / "national.csv"
    out: dict[str, dict[int, float]] = {}
    for line, row in enumerate(_rows(path), start=2):
        try:
            out.setdefault(row["key"], {})[int(row["year"])] = float(row["value"])
        except (KeyError, ValueError):
            raise InputError(f"row {line}: year and value must be numbers", file=str(path), key="value") from None
    return out


def load_price_history(path: str | Path | None = None) -> list[tuple[str, float, str]]:
    """Carbonate price observations: (month, yuan/t, kind)."""
    path = Path(path) if path else DATA_DIR / "carbonate_prices.csv"
    return [(r["month"], float(r["price"]), r["kind"]) for r in _rows(path)]
