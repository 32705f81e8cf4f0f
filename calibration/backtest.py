"""The rolling-origin backtest: fit through one year, score the next, for every year with data after the first.

The years with informative targets (kind ``fitted`` or ``held_out``) are the origins' candidates: with data for
2022, 2023 and 2024 the calibration is fitted through 2022 and scored on 2023, then fitted through 2023 and scored
on 2024 (an expanding window). Each fit is the calibration's own (`calibration.fit.fit_groups`: both groups, the
common seeds) with the backtest's smaller budget; a group with no fitted target up to the origin keeps its base
values, and says so. The scored year's informative targets are then scored at its parameters on the
out-of-sample seeds (`calibration.seeds.out_of_sample_seeds`), each beside a naive forecast: **persistence**,
the same figure's value a year earlier (the used target of the same metric, region, segment and scenario), carried
forward. Where no earlier value exists the table says so. A target's score is its gap in tolerance units (z) and
whether it lies inside its band.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from calibration.scoring import score
from calibration.seeds import out_of_sample_seeds
from calibration.targets import Target
from sim.api import Executor, ModelParams

if TYPE_CHECKING:
    from calibration.fit import GroupResult, Setup

NO_EARLIER = "no earlier value"
COLUMNS = [
    "through",
    "scored_year",
    "target",
    "kind",
    "scenario",
    "value",
    "unit",
    "band_low",
    "band_high",
    "model_mean",
    "model_p05",
    "model_p95",
    "model_z",
    "model_inside",
    "persistence_from",
    "persistence_value",
    "persistence_z",
    "persistence_inside",
    "model_closer",
    "full_fit_mean",
    "full_fit_inside",
]


@dataclass
class Origin:
    """One fit through ``through``, scored on ``scored``.

    Attributes:
        through: the last year of the targets it was fitted to.
        scored: the year it is scored on.
        groups: its searches (a group without a fitted target up to ``through`` is skipped, with the reason).
        params: its parameters.
        table: one row per scored target (`COLUMNS`).
        wall_time_s: its time.
    """

    through: int
    scored: int
    groups: list[GroupResult]
    params: ModelParams
    table: pd.DataFrame
    wall_time_s: float = 0.0

    def summary(self) -> dict[str, float]:
        """Counts and mean |z| of the model and of persistence (on the targets persistence can forecast)."""
        t = self.table
        both = t[t.persistence_from != NO_EARLIER]
        return {
            "targets": len(t),
            "model_inside": int(t.model_inside.sum()),
            "with_persistence": len(both),
            "model_inside_where_persistence": int(both.model_inside.sum()),
            "persistence_inside": int(both.persistence_inside.sum()),
            "model_closer": int((both.model_closer == "yes").sum()),
            "model_mean_abs_z": float(both.model_z.abs().mean()) if len(both) else float("nan"),
            "persistence_mean_abs_z": float(both.persistence_z.abs().mean()) if len(both) else float("nan"),
        }


def origins(targets: list[Target], last: int | None = None) -> list[tuple[int, int]]:
    """(fit through, scored year) for every year with informative data after the first, up to ``last``."""
    years = sorted({t.spec.year for t in targets if t.used and t.informative and (last is None or t.spec.year <= last)})
    return list(zip(years[:-1], years[1:], strict=True))


def persistence(target: Target, targets: list[Target]) -> Target | None:
    """The same figure a year earlier (a used target of the same scenario, metric, region and segment)."""
    s = target.spec
    for t in targets:
        o = t.spec
        if t.used and (o.scenario, o.metric, o.region, o.segment, o.year) == (
            s.scenario,
            s.metric,
            s.region,
            s.segment,
            s.year - 1,
        ):
            return t
    return None


def run_backtest(setup: Setup, executor: Executor, full_fit: pd.DataFrame) -> list[Origin]:
    """Fit through each origin (the backtest budget), score the next year's informative targets on the
    out-of-sample seeds beside persistence and the full fit's out-of-sample figures (``full_fit``: the fit
    table)."""
    from calibration.fit import fit_groups

    b = setup.config.budget
    seeds = out_of_sample_seeds(setup.master, b.out_of_sample)
    full = full_fit.set_index("target")
    out = []
    for through, scored_year in origins(setup.targets, setup.config.through):
        started = time.perf_counter()
        groups, params = fit_groups(
            setup,
            executor,
            through=through,
            seeds=setup.seeds,
            popsize=b.backtest_popsize,
            maxiter=b.backtest_maxiter,
            tol=b.tol,
            tag=f"backtest{through}.",
            label=f"backtest through {through}",
        )
        scored = [t for t in setup.targets if t.used and t.informative and t.spec.year == scored_year]
        figures = score(executor, setup.scenarios, scored, {"model": (params, seeds)})["model"]
        rows = []
        for k, t in enumerate(scored):
            mean = float(figures["mean"][k])
            before = persistence(t, setup.targets)
            naive = before.value if before is not None else float("nan")
            row = {
                "through": through,
                "scored_year": scored_year,
                "target": t.name,
                "kind": t.kind,
                "scenario": t.spec.scenario,
                "value": t.value,
                "unit": t.unit,
                "band_low": t.value - t.tolerance_low,
                "band_high": t.value + t.tolerance_high,
                "model_mean": mean,
                "model_p05": float(figures["p05"][k]),
                "model_p95": float(figures["p95"][k]),
                "model_z": t.z(mean),
                "model_inside": t.inside(mean),
                "persistence_from": before.name if before is not None else NO_EARLIER,
                "persistence_value": naive,
                "persistence_z": t.z(naive) if before is not None else float("nan"),
                "persistence_inside": t.inside(naive) if before is not None else False,
                "model_closer": ("yes" if abs(t.z(mean)) < abs(t.z(naive)) else "no") if before is not None else "",
                "full_fit_mean": float(full.loc[t.name, "out_of_sample_mean"]) if t.name in full.index else np.nan,
                "full_fit_inside": bool(full.loc[t.name, "out_of_sample_inside"]) if t.name in full.index else False,
            }
            rows.append(row)
        table = pd.DataFrame(rows, columns=COLUMNS)
        out.append(Origin(through, scored_year, groups, params, table, time.perf_counter() - started))
    return out


def backtest_table(found: list[Origin]) -> pd.DataFrame:
    """Every origin's rows, one table (``backtest.csv``)."""
    tables = [o.table for o in found if len(o.table)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)
