"""Model moments: the yearly figures calibration compares with targets.

A moment is a row of the run summary (metric, region, segment, year) of a named calibration scenario
(``baseline`` or ``baseline_market``); its value is the one `sim.outputs.metrics` computes for ``summary.csv``
(one definition). All replicate seeds of a candidate run as one batch (common random numbers), stopped after
the last target year with the draws of a full run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.api import BASE_YEAR, cluster_keys, default_data, metric_catalogue, simulate_metrics

REGIONS = (*cluster_keys(), "china", "world")  # and "plant:<firm_id>[+<firm_id>...]" for named plants
PLANT_METRICS = ("output", "output_value", "value_added", "capacity")  # a named plant's figures


@dataclass(frozen=True)
class MomentSpec:
    """One yearly model figure: ``metric`` of ``region`` and ``segment`` in ``year`` of ``scenario``."""

    metric: str
    region: str
    segment: str
    year: int
    scenario: str = "baseline"

    @property
    def label(self) -> str:
        where = "" if self.scenario == "baseline" else f" [{self.scenario}]"
        return f"{self.region} {self.segment} {self.metric} {self.year}{where}"

    def problem(self) -> str:
        """Why the model cannot compute this figure, or '' when it can."""
        if self.region.startswith("plant:"):  # named plants of the registry, summed when joined by "+"
            known = {f.firm_id: f.segment for f in default_data().registry}
            ids = self.region.split(":", 1)[1].split("+")
            unknown = [i for i in ids if i not in known]
            if unknown:
                return f"no plant {', '.join(unknown)} in the registry (sim/inputs/data/suining_firms.csv)"
            if any(known[i] != self.segment for i in ids) or self.metric not in PLANT_METRICS:
                return f"plants give {', '.join(PLANT_METRICS)} of their own segment"
            return ""
        catalogue = metric_catalogue()
        if (self.region, self.segment, self.metric) not in catalogue:
            known = sorted({m for _, _, m in catalogue})
            return (
                f"the summary has no metric '{self.metric}' for region '{self.region}' and segment "
                f"'{self.segment}' (metrics: {', '.join(known)})"
            )
        if self.metric.endswith("growth") and self.year <= BASE_YEAR:
            return f"growth needs the previous year; the model starts in {BASE_YEAR}"
        return ""


def months_needed(specs) -> int:
    """Months to step so every spec's year is complete."""
    return (max(s.year for s in specs) - BASE_YEAR + 1) * 12


def fresh_seed(seed: np.random.SeedSequence | int) -> np.random.SeedSequence:
    """A copy of ``seed`` with no children spawned yet (a SeedSequence is stateful)."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key, pool_size=seed.pool_size)
    return np.random.SeedSequence(seed)


def simulate_moments(scenario, params, seeds, specs, months: int | None = None) -> np.ndarray:
    """The moments of every seed, ``(seeds, specs)``: one batch, stopped after ``months`` (default: through the
    last spec year, never past the scenario's end)."""
    months = min(months or months_needed(specs), scenario.n_months)
    metrics = simulate_metrics(scenario, params, [fresh_seed(s) for s in seeds], months=months)
    years = scenario.years
    out = np.full((len(seeds), len(specs)), np.nan)
    for k, spec in enumerate(specs):
        if spec.year not in years:
            continue
        regions = [spec.region]
        if spec.region.startswith("plant:"):  # a sum of named plants
            regions = [f"plant:{i}" for i in spec.region.split(":", 1)[1].split("+")]
        keys = [(region, spec.segment, spec.metric) for region in regions]
        if all(key in metrics for key in keys):
            out[:, k] = sum(metrics[key][1][:, years.index(spec.year)] for key in keys)
    return out
