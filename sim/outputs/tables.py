"""The tables of a run: the summary across replicates, per-firm years and monthly market series.

A batch of replicates becomes a `BatchTables`: its summary values (one column per replicate, rows keyed by
year, region, segment, metric and unit, from `sim.outputs.metrics`), its firms table (the replicates whose firm
detail was kept) and its market table. `summarise` turns the values of all batches into ``summary.csv``:
mean and P5/P50/P95 across replicates (one replicate: all four equal). Money is in 亿元.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.inputs.chain import DEFAULT_CHAIN, Chain
from sim.inputs.units import YI
from sim.outputs.metrics import MetricTable

if TYPE_CHECKING:  # the engine's record type, for annotations only: reading tables needs no engine
    from sim.engine.records import BatchRecord

SUMMARY_COLUMNS = ["scenario", "year", "region", "segment", "metric", "unit", "mean", "p05", "p50", "p95"]
REPLICATE_REGIONS = ("suining",)  # the rows kept per replicate (replicates.csv): what comparisons chart
MAX_KEPT_REPLICATES = 1000  # replicates.csv holds the first this many (bands of differences need no more)
KEY_COLUMNS = SUMMARY_COLUMNS[1:6]  # year, region, segment, metric, unit
FAILED_COLUMN = "failed"  # after the statistics: replicates a numeric check stopped before that row's year
FIRM_MONEY = ("output_value", "value_added", "profit", "support", "investment")
MARKET_PREFIXES = ("price_", "gross_", "addressed_", "output_", "unmet_", "final_", "world_")


@dataclass
class BatchTables:
    """What one batch contributes to a run.

    Attributes:
        replicates: the run's replicate numbers of this batch, in order.
        keys: summary row keys (year, region, segment, metric, unit); the same for every batch of a run.
        values: ``(rows, R)`` one column per replicate (NaN where a figure is undefined, e.g. a first-year
            growth rate).
        firms: per-firm years of the kept replicates (may be empty).
        market: monthly market series of every replicate.
        supply: world supply by replicate, year and cohort (market mode).
        events: counts per replicate over the run, ``(R,)`` each: entrants, exits, orders, land-review
            upgrades and exits, entries blocked for want of room, firm-months lived (``firm_months_<stage>``).
    """

    replicates: list[int]
    keys: list[tuple]
    values: np.ndarray
    firms: pd.DataFrame
    market: pd.DataFrame
    supply: pd.DataFrame | None = None
    events: dict[str, np.ndarray] = field(default_factory=dict)
    failures: dict[int, dict] = field(default_factory=dict)  # replicate -> where a check stopped it (meta.json)


def batch_tables(record: BatchRecord, replicates: list[int], chain: Chain = DEFAULT_CHAIN) -> BatchTables:
    """A finished batch's tables; ``replicates`` numbers its rows in the run."""
    table = MetricTable.from_batch(record, chain)
    return BatchTables(
        list(replicates),
        table.keys,
        table.values,
        firm_table(record, replicates),
        market_table(record, replicates),
        events={name: np.asarray(count, dtype=float) for name, count in sorted(record.events.items())},
    )


def firm_table(record: BatchRecord, replicates: list[int]) -> pd.DataFrame:
    """One row per kept replicate, firm and year (firms that never existed in a replicate are left out)."""
    frames = []
    years = np.asarray(record.years)
    for stage, fields in record.firms.items():
        cols = record.columns[stage]
        active = fields["active"]  # (r, Y, N)
        r, y, n = active.shape
        existed = (
            (active > 0)
            | (fields["capacity"] > 0)
            | (fields["output"] > 0)
            | (fields["profit"] != 0)
            | (fields["investment"] != 0)
            | (fields["support"] != 0)
        )
        installed = fields["installed"]
        with np.errstate(divide="ignore", invalid="ignore"):
            utilization = np.where(installed > 0, fields["output"] / installed, 0.0)
        status = np.where((active > 0) & (fields["capacity"] > 0), "active", np.where(active > 0, "building", "exited"))
        data = {
            "replicate": np.repeat(np.asarray(replicates[:r]), y * n),
            "firm_id": np.tile(np.asarray(cols["firm_id"], dtype=object), r * y),
            "name": np.tile(np.asarray(cols["name"], dtype=object), r * y),
            "segment": stage,
            "region": np.tile(np.asarray(cols["region"], dtype=object), r * y),
            "tier": np.tile(np.asarray(cols["tier"], dtype=object), r * y),
            "year": np.tile(np.repeat(years, n), r),
            "status": status.ravel(),
            "capacity": fields["capacity"].ravel(),
            "output": fields["output"].ravel(),
            "utilization": utilization.ravel(),
            "taxes": ((fields["vat"] + fields["surcharges"] + fields["income_tax"]) / YI).ravel(),
            "employment": fields["employment"].ravel(),
            "grade": record.grades[stage].ravel() if stage in record.grades else np.full(r * y * n, -1.0),
        }
        for name in FIRM_MONEY:
            data[name] = (fields[name] / YI).ravel()
        frame = pd.DataFrame(data)
        frame = frame[existed.ravel()]
        frame["grade"] = frame["grade"].map({0.0: "A", 1.0: "B", 2.0: "C", 3.0: "D"}).fillna("")
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    # replicate first, then stage, year and firm: the same rows in the same order whatever the batches
    return pd.concat(frames, ignore_index=True).sort_values("replicate", kind="stable", ignore_index=True)


def market_table(record: BatchRecord, replicates: list[int]) -> pd.DataFrame:
    """One row per replicate and month: prices, demand and output along the chain, the world market."""
    months = next(iter(record.market.values())).shape[1]
    data = {
        "replicate": np.repeat(np.asarray(replicates), months),
        "month": np.tile(np.arange(months), len(replicates)),
    }
    data["year"] = record.years[0] + data["month"] // 12
    for name, values in record.market.items():
        data[name] = values.ravel()
    return pd.DataFrame(data)


def summarise(keys: list[tuple], values: np.ndarray, scenario: str, failed: np.ndarray | None = None) -> pd.DataFrame:
    """Mean and P5/P50/P95 across replicates (columns of ``values``), and column ``failed``: how many replicates
    have no value in the row because a check stopped them (``failed``, a mask like ``values``).

    A row undefined for every replicate by its definition (a growth rate in the first year) goes; a row where
    replicates failed stays, its statistics over the others (empty if none is left). Quantiles interpolate
    linearly, as pandas does; with one replicate (or identical values) all four equal.
    """
    finite = np.isfinite(values)
    lost = np.zeros(values.shape, dtype=bool) if failed is None else np.asarray(failed, dtype=bool)
    finite &= ~lost
    keep = finite.any(axis=1) | lost.any(axis=1)
    values = values[keep]
    finite = finite[keep]
    lost = lost[keep]
    count = finite.sum(axis=1)  # the mean as np.nanmean sums it, over the values that count
    mean = np.divide(np.where(finite, values, 0.0).sum(axis=1), count, out=np.full(len(count), np.nan), where=count > 0)
    q = _quantiles(values, finite, (0.05, 0.5, 0.95))
    lo = np.where(finite, values, np.inf).min(axis=1)
    hi = np.where(finite, values, -np.inf).max(axis=1)
    same = lo == hi
    frame = pd.DataFrame([k for k, ok in zip(keys, keep, strict=True) if ok], columns=KEY_COLUMNS)
    frame.insert(0, "scenario", scenario)
    frame["mean"] = np.where(same, lo, mean)
    for j, name in enumerate(("p05", "p50", "p95")):
        frame[name] = np.where(same, lo, q[j])
    frame[FAILED_COLUMN] = lost.sum(axis=1)
    return frame[[*SUMMARY_COLUMNS, FAILED_COLUMN]]


def _quantiles(values: np.ndarray, finite: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """Per row, the quantiles of its finite values: numpy's default (linear) method, as ``np.nanquantile``
    computes them, on all rows at once (``nanquantile`` loops over rows with NaN in Python)."""
    ordered = np.sort(np.where(finite, values, np.inf), axis=1)  # NaN rows' gaps sort last
    count = finite.sum(axis=1)
    out = np.empty((len(probs), len(values)))
    for j, prob in enumerate(probs):
        pos = prob * np.maximum(count - 1, 0)
        below = np.floor(pos).astype(int)
        above = np.minimum(below + 1, np.maximum(count - 1, 0))
        a = np.take_along_axis(ordered, below[:, None], axis=1)[:, 0]
        b = np.take_along_axis(ordered, above[:, None], axis=1)[:, 0]
        t = pos - below
        with np.errstate(invalid="ignore"):
            diff = b - a
            lerp = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)  # numpy's _lerp, for the same bits
        out[j] = np.where(count > 0, lerp, np.nan)
    return out


def supply_table(record, replicates: list[int]) -> pd.DataFrame:
    """World supply by replicate, year and cohort (both price modes): mean capacity (t LCE/yr), production (t LCE),
    mean running share."""
    if not record.cohorts:
        return pd.DataFrame()
    r, y, k = record.cohorts["capacity"].shape
    return pd.DataFrame(
        {
            "replicate": np.repeat(np.asarray(replicates[:r]), y * k),
            "year": np.tile(np.repeat(np.asarray(record.years), k), r),
            "cohort": np.tile(np.asarray(record.cohort_names, dtype=object), r * y),
            "capacity": record.cohorts["capacity"].ravel(),
            "production": record.cohorts["production"].ravel(),
            "running": record.cohorts["running"].ravel(),
        }
    )


def replicate_table(keys: list[tuple], replicates: list[int], values: np.ndarray) -> pd.DataFrame:
    """Suining's summary rows per replicate (``replicates.csv``): the key columns, then one column per replicate
    (named by its number), for the first `MAX_KEPT_REPLICATES` replicates. Comparisons take the bands of their
    differences from baseline from these, replicate by replicate.

    Args:
        keys: the summary row keys (year, region, segment, metric, unit).
        replicates: the replicate numbers of the columns of ``values``.
        values: (rows, R).
    """
    rows = [i for i, key in enumerate(keys) if key[1] in REPLICATE_REGIONS]
    kept = min(len(replicates), MAX_KEPT_REPLICATES)
    frame = pd.DataFrame([keys[i] for i in rows], columns=KEY_COLUMNS)
    data = pd.DataFrame(values[rows, :kept], columns=[str(r) for r in replicates[:kept]])
    return pd.concat([frame, data], axis=1)


def history_years(scenario, last_data_year: int | None = None) -> list[int]:
    """The years a run takes as history: from the base year to the last year of the national data (2025), and
    in path mode not past the last year before the price shocks start (``shocks_from``): charts shade them apart
    from the projection, and comparisons check that their runs share them.

    Args:
        scenario: a `sim.inputs.scenario.Scenario`.
        last_data_year: the last year of the national data (default: ``national.csv``'s).
    """
    if last_data_year is None:
        from sim.inputs.data import default_data

        last_data_year = max(year for series in default_data().national.values() for year in series)
    years = scenario.years
    last = min(last_data_year, years[-1])
    if scenario.price_mode == "path":
        last = min(last, years[0] + scenario.shocks_from // 12 - 1)
    return [y for y in years if y <= last]
