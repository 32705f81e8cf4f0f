"""Model moments: the yearly figures calibration compares with targets, computed from a finished model.

`model_moments` reads the monthly records (``model.history``) and the firm books directly, so it needs
only the months up to the last target year: calibration steps each replicate to December of that year and
stops. The figures are the ones `sim.outputs.results.collect` puts in the run summary (same definitions, same
units; the tests check equality on a full run), computed in a fraction of the time.

Definitions (per segment s, region r in {suining, china}, year y; flows summed over the year's months):

- ``output``: sum of firms' output, u (t LCE, t, GWh).
- ``output_value``, ``value_added``: sums in 亿元 (current prices).
- ``value_added_real``: output x the segment's national value added per unit in 2022, 亿元 at 2022 prices
  (the statistics bureau's method, DESIGN section 3); segment ``all`` sums the three.
- ``value_added_real_growth``: 100 x (real_y / real_{y-1} - 1), percent.
- ``national_share``: 100 x Suining's output / national output, percent (0 when national output is 0).
- ``utilization``: output / the year's mean available capacity (ramping lines pro rata), share.
- ``capacity``: installed capacity at the end of December, u/yr.
- ``price``: the national market price, mean of the year's months (region ``china``): yuan/t LCE, yuan/t,
  yuan/Wh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.firm import SEGMENTS, UNITS
from sim.engine.model import LithiumModel
from sim.inputs.params import ModelParams
from sim.runs.runner import release
from sim.inputs.scenario import MODEL_START, Scenario

YI = 1e8  # yuan per 亿元
REGIONS = ("suining", "china")
SEGMENTS_ALL = (*SEGMENTS, "all")
METRICS = {
    "output": "segment unit",
    "output_value": "亿元",
    "value_added": "亿元",
    "value_added_real": "亿元 (2022 prices)",
    "value_added_real_growth": "%",
    "national_share": "%",
    "utilization": "share",
    "capacity": "segment unit/yr",
    "price": "segment price unit",
}
# market_history key and the divisor that gives the summary's price unit, by segment
PRICES = {"lithium_salt": ("carbonate_price", 1.0, "yuan/t LCE"), "lfp_cathode": ("lfp_price", 1.0, "yuan/t"),
          "battery": ("cell_price", 1e9, "yuan/Wh")}
BASE_YEAR = MODEL_START[0]


@dataclass(frozen=True)
class MomentSpec:
    """One yearly model figure: ``metric`` of ``region`` and ``segment`` in ``year``."""

    metric: str
    region: str
    segment: str
    year: int

    @property
    def unit(self) -> str:
        if self.metric == "output":
            return UNITS.get(self.segment, "")
        if self.metric == "capacity":
            return f"{UNITS.get(self.segment, '')}/yr"
        if self.metric == "price":
            return PRICES[self.segment][2] if self.segment in PRICES else ""
        return METRICS[self.metric]

    @property
    def label(self) -> str:
        return f"{self.region} {self.segment} {self.metric} {self.year}"

    def problem(self) -> str:
        """Why the model cannot compute this figure, or '' when it can."""
        if self.metric not in METRICS:
            return f"unknown metric '{self.metric}'; known: {', '.join(METRICS)}"
        if self.segment == "all" and self.metric in ("output", "utilization", "capacity", "national_share", "price"):
            return f"{self.metric} is defined per segment (units differ), not for segment 'all'"
        if self.metric == "national_share" and self.region != "suining":
            return "national_share is defined for region 'suining'"
        if self.metric == "price" and self.region != "china":
            return "price is the national market price: region 'china'"
        if self.metric == "value_added_real_growth" and self.year <= BASE_YEAR:
            return f"real growth needs the previous year; the model starts in {BASE_YEAR}"
        return ""


class _Yearly:
    """Yearly sums of one segment's monthly records, by region."""

    def __init__(self, model: LithiumModel, segment: str, n_years: int) -> None:
        book = model.books[segment]
        suining = np.asarray(book.suining, dtype=bool)
        months = n_years * 12
        fields = ("output", "output_value", "value_added", "available")
        totals = {f: np.zeros((months, 2)) for f in fields}
        capacity = np.zeros((months, 2))
        for t, rec in enumerate(model.history[segment][:months]):
            mask = suining[: len(rec["output"])]
            for f in fields:
                values = rec[f]
                totals[f][t, 0] = values[mask].sum()
                totals[f][t, 1] = values.sum()
            capacity[t, 0] = rec["capacity"][mask].sum()
            capacity[t, 1] = rec["capacity"].sum()
        self.flows = {
            f: totals[f].reshape(n_years, 12, 2).sum(axis=1)
            for f in ("output", "output_value", "value_added")
        }
        self.available = totals["available"].reshape(n_years, 12, 2).mean(axis=1)
        self.capacity_end = capacity.reshape(n_years, 12, 2)[:, -1, :]
        key, scale, _ = PRICES[segment]
        monthly = np.array([row[key] for row in model.market_history[:months]]) / scale
        self.price = monthly.reshape(n_years, 12).mean(axis=1)
        base_output = self.flows["output"][0, 1]
        self.va_per_unit = self.flows["value_added"][0, 1] / base_output if base_output > 0 else 0.0


def model_moments(model: LithiumModel, specs: tuple[MomentSpec, ...] | list[MomentSpec]) -> np.ndarray:
    """The figures ``specs`` from a model stepped through at least December of their latest year.

    Returns:
        One value per spec (nan where `collect` leaves it out: real growth after a year with no output).
    """
    n_years = len(model.history[SEGMENTS[0]]) // 12
    if n_years < 1:
        raise ValueError("the model has not completed a year")
    need = max(s.year for s in specs) - BASE_YEAR + 1
    if need > n_years:
        raise ValueError(f"the model has {n_years} complete year(s); the moments need {need}")
    yearly = {seg: _Yearly(model, seg, n_years) for seg in SEGMENTS}
    out = np.full(len(specs), np.nan)
    for k, spec in enumerate(specs):
        out[k] = _moment(yearly, spec)
    return out


def _real(yearly: dict[str, _Yearly], segment: str, col: int) -> np.ndarray:
    segs = SEGMENTS if segment == "all" else (segment,)
    return sum(yearly[s].flows["output"][:, col] * yearly[s].va_per_unit for s in segs) / YI


def _moment(yearly: dict[str, _Yearly], spec: MomentSpec) -> float:
    i = spec.year - BASE_YEAR
    col = 0 if spec.region == "suining" else 1
    segs = SEGMENTS if spec.segment == "all" else (spec.segment,)
    metric = spec.metric
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "output":
            return float(yearly[spec.segment].flows["output"][i, col])
        if metric in ("output_value", "value_added"):
            return float(sum(yearly[s].flows[metric][i, col] for s in segs) / YI)
        if metric == "value_added_real":
            return float(_real(yearly, spec.segment, col)[i])
        if metric == "value_added_real_growth":
            real = _real(yearly, spec.segment, col)
            return float(100.0 * (real[i] / real[i - 1] - 1.0)) if real[i - 1] > 0 else float("nan")
        y = yearly[spec.segment]
        if metric == "national_share":
            national = y.flows["output"][i, 1]
            return float(100.0 * y.flows["output"][i, 0] / national) if national > 0 else 0.0
        if metric == "utilization":
            available = y.available[i, col]
            return float(y.flows["output"][i, col] / available) if available > 0 else 0.0
        if metric == "capacity":
            return float(y.capacity_end[i, col])
        if metric == "price":
            return float(y.price[i])
    raise ValueError(f"unknown metric {metric!r}")


def fresh_seed(seed: np.random.SeedSequence | int) -> np.random.SeedSequence:
    """A copy of ``seed`` with no children spawned yet.

    ``SeedSequence.spawn`` is stateful: the model spawns its streams from the seed it is given, so a
    SeedSequence object used twice would give the second run different streams. Common random numbers
    need the same streams for every candidate, so every run gets a fresh copy.
    """
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    return np.random.SeedSequence(seed)


def months_needed(specs: tuple[MomentSpec, ...] | list[MomentSpec]) -> int:
    """Months to step so every spec's year is complete."""
    return (max(s.year for s in specs) - BASE_YEAR + 1) * 12


def simulate_moments(
    scenario: Scenario,
    params: ModelParams,
    seed: np.random.SeedSequence,
    specs: tuple[MomentSpec, ...],
    months: int | None = None,
) -> np.ndarray:
    """One replicate's moments: build the model, step ``months`` months (default: through the last spec
    year, never past the scenario's end), read the moments, free the model.

    The model draws its whole run's random inputs when it is built, so stopping early leaves the earlier
    months exactly as in a full run with the same seed.
    """
    months = min(months or months_needed(specs), scenario.n_months)
    model = LithiumModel(scenario, params=params, rng=np.random.default_rng(fresh_seed(seed)))
    try:
        for _ in range(months):
            model.step()
        return model_moments(model, specs)
    finally:
        model.remove_all_agents()
        release(model)
