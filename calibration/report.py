"""The fit report: how well the calibrated model meets each target on the seeds it was fitted to and on seeds it
never saw, where it misses and why, how sure the parameters are, which targets pin down which parameter, how the
headline outcomes depend on the free parameters, whether the procedure recovers known parameters with intervals
that hold them, and how fits through earlier years forecast the next year against persistence (a rolling-origin
backtest).

`analyse` computes everything (on the calibration's executor); `write_report` writes ``REPORT.md``, CSV tables
and PNG charts to the report directory atomically (`sim.api.write_directory`).

Methods:

- **Kinds**: every target declares what it is to the fit (``kind`` in ``targets.toml``): ``fitted`` (in the
  objective), ``held_out`` (scored, never fitted), ``input`` (equals a scenario input) or ``identity`` (follows
  from the inputs given named parameters). Counts of targets met count the informative ones (fitted and held
  out) only; inputs and identities are shown, never counted.
- **Fit**: every used target with the calibrated parameters, **in sample** (on the calibration's own common
  seeds) and **out of sample** (on `Budget.out_of_sample` seeds of their own spawn key, `calibration.seeds`,
  which neither the fit nor any run uses): mean, P5-P95 across replicates, z and inside the band or not; a flag
  for targets inside in sample and outside out of sample. The hand-set parameters on the same out-of-sample
  seeds.
- **Misses**: for each informative target outside its band out of sample, the fitted parameters that move it
  most (from the Jacobian) and the fitted targets that pull those parameters the other way, with a note in model
  terms.
- **Identification and uncertainty**: `calibration.uncertainty` (the Jacobian on the common seeds, the sandwich
  covariance, 90% intervals clipped to the bounds).
- **Sensitivity**: SALib Morris elementary effects (or Sobol indices) of the targets and of headline
  outcomes in the scenario's last year against every declared free parameter (held ones included) over
  their whole bounds (global: it does not depend on the calibrated values of those parameters).
- **Recovery**: `calibration.recovery`.
- **Backtest**: `calibration.backtest`.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from calibration.backtest import NO_EARLIER, Origin, backtest_table, run_backtest
from calibration.moments import MomentSpec
from calibration.objective import Problem, evaluate_candidate
from calibration.recovery import MIN_COVERAGE, NOISE_SD, QUICK_RECOVERY, RECOVERY_TRUTH, RecoveryResult, recover
from calibration.scoring import score
from calibration.seeds import describe, out_of_sample_seeds
from calibration.targets import INFORMATIVE, KINDS
from calibration.uncertainty import (
    JACOBIAN_STEP,
    NOT_IDENTIFIED,
    WELL_IDENTIFIED,
    identification_label,
    interval90,
    jacobian,
    problem_tol,
    sandwich_se,
)
from sim.api import Executor, Scenario, code_version, write_directory

if TYPE_CHECKING:
    from calibration.fit import CalibrationResult

AT_BOUND = 0.02  # a fitted value within this fraction of the range from a bound is reported as at the bound
RUNAWAY = 100.0  # a sensitivity point whose headline outcome is this many times its median has run away
BACKTEST_HEADING = "## Rolling-origin backtest"
HEADLINE = (
    ("output_value", "suining", "all"),
    ("value_added_real", "suining", "all"),
    ("national_share", "suining", "lithium_salt"),
    ("national_share", "suining", "lfp_cathode"),
)
# What a miss of a target means in model terms: the mechanism behind the figure and the assumption of the model
# that most likely keeps it from the data. Shown only for targets the calibrated model misses.
MISS_NOTES: dict[str, str] = {
    "suining_revenue_2023": (
        "Likely reason: the model's Suining is its three segments, and their volumes are pinned by the 2023 shares "
        "(7% of salt, 18% of LFP) while their unit values follow national prices that the price targets pin; "
        "so its output value falls with the 2023 price collapse (salt revenue down two fifths, LFP a fifth), "
        "whereas the city reported revenue level with 2022's output value. What the model lacks is the rest of the "
        "city's 锂电 industry (electrolyte, iron phosphate precursor, recycling, trading), which the band allows "
        "only up to 120 亿 of, and the lag of contract prices behind the monthly carbonate price."
    ),
    "china_carbonate_utilization_2022": (
        "Likely reason: a difference of definition, not of parameters. The model's 2022 salt capacity is the "
        "data's (708.8 kt LCE/yr at the end of 2021, 916.8 at the end of 2022, sim/inputs/data/national.csv), "
        "and its utilisation is output over the year's mean installed capacity (about 830 kt/yr), with output "
        "set by demand (650 kt LCE, inside its own band); the statistic is carbonate output over carbonate "
        "nameplate (395 kt on about 600 kt/yr). Output over year-end capacity would be 0.71, inside the band."
    ),
    "china_salt_output_2024": (
        "Likely reason: the model's salt output is what demand calls for: LFP's lithium (LFP output, inside its "
        "band but low, with lfp_t_per_gwh near its declared maximum of 2,600) plus the scenario's non-LFP demand, "
        "which grows 6% in 2024 (an assumption of scenarios/baseline.toml). The data's 1.0 Mt imply about 410 kt "
        "of non-LFP demand, a third more than 2023's 310 kt: stock building and exports of salts in the glut, "
        "which the scenario's demand does not have."
    ),
    "china_lfp_price_2024": (
        "Likely reason: the LFP price is lithium plus other inputs plus a processing fee that falls with slack "
        "capacity. Its non-lithium costs are declared at 2022 prices (iron phosphate 11,000, conversion 6,500, "
        "energy 3,000 yuan/t, sim/inputs/chain.py) and fall only with the 5% a year learning rate, while 2024's "
        "realised price left only about 12k over lithium (free_parameters.toml, processing_fee_lfp). A fee low "
        "enough for the price would leave the leaders without the 7.3-7.6% margins they reported and Suining's "
        "2023 revenue further below its band, so the fit trades the price off against them."
    ),
}


# ---------------------------------------------------------------------------------------------------------
# the analysis
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Analysis:
    """Everything the report shows, as tables (pandas) and arrays."""

    result: CalibrationResult
    fit: pd.DataFrame
    unused: pd.DataFrame
    parameters: pd.DataFrame
    jacobian: np.ndarray | None = None  # (fitted targets, fitted parameters), moment units per parameter unit
    identification: pd.DataFrame | None = None  # z change across each parameter's range
    sensitivity: pd.DataFrame | None = None  # long: output, kind, parameter, index, value, conf
    sensitivity_method: str = "none"
    sensitivity_evaluations: int = 0
    runaway: pd.DataFrame | None = None  # sensitivity points where a headline outcome ran away
    recovery: RecoveryResult | None = None
    backtest: list[Origin] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    in_sample: int = 0
    out_of_sample: int = 0
    condition_number: float = float("nan")
    hand_set_objective: float = float("nan")

    @property
    def informative(self) -> pd.DataFrame:
        """The fit table's informative targets (fitted and held out): the ones counts of targets met count."""
        return self.fit[self.fit.kind.isin(INFORMATIVE)]

    def counts(self) -> dict[str, int]:
        """Informative targets, inside their band in and out of sample, and those that pass only in sample."""
        f = self.informative
        return {
            "informative": len(f),
            "in_sample_inside": int(f.in_sample_inside.sum()),
            "out_of_sample_inside": int(f.out_of_sample_inside.sum()),
            "hand_set_inside": int(f.hand_set_inside.sum()),
            "passes_in_sample_only": int(f.passes_in_sample_fails_out_of_sample.sum()),
        }

    def fit_rows(self) -> list[dict[str, Any]]:
        """The ``[fit.<target>]`` tables of the calibrated parameter file."""
        rows = []
        for r in self.fit.itertuples():
            rows.append(
                {
                    "target": r.target,
                    "kind": r.kind,
                    "scenario": r.scenario,
                    "year": int(r.year),
                    "fitted": bool(r.fitted),
                    "value": float(r.value),
                    "unit": r.unit,
                    "band_low": float(r.band_low),
                    "band_high": float(r.band_high),
                    "in_sample_mean": float(r.in_sample_mean),
                    "in_sample_inside": bool(r.in_sample_inside),
                    "out_of_sample_mean": float(r.out_of_sample_mean),
                    "out_of_sample_p05": float(r.out_of_sample_p05),
                    "out_of_sample_p95": float(r.out_of_sample_p95),
                    "out_of_sample_z": float(r.out_of_sample_z),
                    "out_of_sample_inside": bool(r.out_of_sample_inside),
                    "out_of_sample_replicates": int(self.out_of_sample),
                }
            )
        return rows

    def uncertainty_table(self) -> dict[str, dict[str, Any]]:
        """The ``[uncertainty.<parameter>]`` tables: standard error and 90% interval of fitted parameters."""
        out = {}
        for r in self.parameters[self.parameters.fitted].itertuples():
            if np.isfinite(r.se):
                out[r.parameter] = {
                    "se": float(f"{r.se:.4g}"),
                    "low90": float(f"{r.low90:.6g}"),
                    "high90": float(f"{r.high90:.6g}"),
                    "identification": r.identification,
                }
        return out

    def convergence(self) -> pd.DataFrame:
        """Best objective by generation, per group (and each backtest fit's)."""
        rows = []
        runs = [("calibration", self.result.groups)]
        for origin in self.backtest or []:
            runs.append((f"backtest through {origin.through}", origin.groups))
        for fit_name, groups in runs:
            for g in groups:
                if g.search is None:
                    continue
                for gen, best, evaluated in g.search.history:
                    rows.append(
                        {
                            "fit": fit_name,
                            "group": g.group,
                            "generation": gen,
                            "best_objective": best,
                            "candidates_evaluated": evaluated,
                        }
                    )
        return pd.DataFrame(rows, columns=["fit", "group", "generation", "best_objective", "candidates_evaluated"])

    @property
    def misses(self) -> pd.DataFrame:
        """The informative targets whose out-of-sample mean lies outside their band."""
        f = self.informative
        return f[~f.out_of_sample_inside]


def analyse(result: CalibrationResult, executor: Executor, *, with_report: bool = True) -> Analysis:
    """The fit table, identification and uncertainty and, for the report, sensitivity, recovery and the
    backtest."""
    setup = result.setup
    budget = setup.config.budget
    timings: dict[str, float] = {}

    t = time.perf_counter()
    fit, unused = validate(result, executor)
    hand = hand_set_objective(result, executor)
    timings["fit table (in and out of sample)"] = time.perf_counter() - t

    jac = ident = None
    cond = float("nan")
    se = np.full(len(setup.problem.names), np.nan)
    if budget.jacobian and setup.problem.names:
        t = time.perf_counter()
        jac = jacobian(setup.problem, setup.space.low, setup.space.high, setup.space.integer, result.x, executor)
        ident = identification_table(
            setup.problem, jac, setup.space.low, setup.space.high, [t.name for t in setup.fitted_targets]
        )
        se, cond = sandwich_se(setup.problem, jac, result.evaluation.moments, setup.space.high - setup.space.low)
        timings["identification and uncertainty (Jacobian)"] = time.perf_counter() - t
    analysis = Analysis(
        result,
        fit,
        unused,
        parameter_table(result, se),
        jac,
        ident,
        timings=timings,
        in_sample=len(setup.seeds),
        out_of_sample=budget.out_of_sample,
        condition_number=cond,
        hand_set_objective=hand,
    )
    if not with_report:
        return analysis
    if budget.sensitivity != "none":
        t = time.perf_counter()
        analysis.sensitivity, analysis.sensitivity_evaluations, analysis.runaway = sensitivity(result, executor)
        analysis.sensitivity_method = budget.sensitivity
        timings[f"sensitivity ({budget.sensitivity})"] = time.perf_counter() - t
    if budget.recovery:
        t = time.perf_counter()
        quick = budget.name == "quick"
        truth = {n: RECOVERY_TRUTH[n] for n in (QUICK_RECOVERY if quick else RECOVERY_TRUTH)}
        analysis.recovery = recover(
            setup.problem,
            setup.free,
            executor,
            master=setup.master,
            truth=truth,
            replications=budget.recovery_replications,
            seeds=budget.recovery_seeds,
            popsize=budget.recovery_popsize,
            maxiter=budget.recovery_maxiter,
        )
        timings["parameter recovery"] = time.perf_counter() - t
    if budget.backtest:
        t = time.perf_counter()
        analysis.backtest = run_backtest(setup, executor, fit)
        timings["backtest"] = time.perf_counter() - t
    return analysis


def validate(result: CalibrationResult, executor: Executor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fit table: every used target, whatever its kind, in sample (the calibration seeds) and out of sample
    (seeds of their own), with the calibrated parameters; the hand-set ones out of sample."""
    setup = result.setup
    scored = setup.scored_targets
    fitted_names = {t.name for t in setup.fitted_targets}
    fresh = out_of_sample_seeds(setup.master, setup.config.budget.out_of_sample)
    figures = score(
        executor,
        setup.scenarios,
        scored,
        {
            "in_sample": (result.params, setup.seeds),
            "out_of_sample": (result.params, fresh),
            "hand_set": (setup.base, fresh),
        },
    )
    rows = []
    for k, tgt in enumerate(scored):
        row: dict[str, Any] = {
            "target": tgt.name,
            "label": tgt.spec.label,
            "kind": tgt.kind,
            "given": ", ".join(tgt.given),
            "scenario": tgt.spec.scenario,
            "year": tgt.spec.year,
            "fitted": tgt.name in fitted_names,
            "value": tgt.value,
            "unit": tgt.unit,
            "band_low": tgt.value - tgt.tolerance_low,
            "band_high": tgt.value + tgt.tolerance_high,
            "weight": tgt.weight,
        }
        for run_name in ("in_sample", "out_of_sample"):
            mean = float(figures[run_name]["mean"][k])
            row[f"{run_name}_mean"] = mean
            row[f"{run_name}_p05"] = float(figures[run_name]["p05"][k])
            row[f"{run_name}_p95"] = float(figures[run_name]["p95"][k])
            row[f"{run_name}_z"] = tgt.z(mean)
            row[f"{run_name}_inside"] = tgt.inside(mean)
        row["passes_in_sample_fails_out_of_sample"] = row["in_sample_inside"] and not row["out_of_sample_inside"]
        row["in_sample_seeds"] = len(setup.seeds)
        row["out_of_sample_seeds"] = len(fresh)
        hand = float(figures["hand_set"]["mean"][k])
        row["hand_set_mean"] = hand
        row["hand_set_inside"] = tgt.inside(hand)
        row["source"] = tgt.source
        rows.append(row)
    fit = pd.DataFrame(rows)
    unused = pd.DataFrame(
        [
            {
                "target": t.name,
                "label": t.spec.label,
                "kind": t.kind,
                "value": t.value,
                "unit": t.unit,
                "reason": t.reason,
                "source": t.source,
            }
            for t in setup.targets
            if not t.used
        ],
        columns=["target", "label", "kind", "value", "unit", "reason", "source"],
    )
    return fit, unused


def hand_set_objective(result: CalibrationResult, executor: Executor) -> float:
    """The objective at the hand-set values, on the calibration seeds."""
    setup = result.setup
    x = setup.space.clip(np.array([getattr(setup.base, n) for n in setup.problem.names], dtype=float))
    return executor.map(evaluate_candidate, [setup.problem], [x])[0].energy


def identification_table(
    problem: Problem, jac: np.ndarray, low: np.ndarray, high: np.ndarray, target_names: list[str]
) -> pd.DataFrame:
    """Change of each target's z (gap in tolerance units) as a parameter crosses its range, linearised."""
    scaled = jac * (high - low)[None, :] / problem_tol(problem)[:, None]
    return pd.DataFrame(scaled, index=target_names, columns=list(problem.names))


def parameter_table(result: CalibrationResult, se: np.ndarray) -> pd.DataFrame:
    """Every declared free parameter: group, hand-set, calibrated, bounds, and for fitted ones SE, 90% interval
    (clipped to the bounds) and what its width says (`calibration.uncertainty.identification_label`)."""
    setup = result.setup
    fitted = result.fitted_values
    se_by_name = dict(zip(setup.problem.names, se, strict=True))
    rows = []
    for p in setup.free:
        value = fitted.get(p.name, getattr(setup.base, p.name))
        s = se_by_name.get(p.name, np.nan)
        computed = p.fit and not np.isnan(s)
        if computed:
            lo, hi = (float(v[0]) for v in interval90(np.array([value]), np.array([s]), p.low, p.high))
            width = (hi - lo) / (p.high - p.low)
        else:
            lo = hi = width = np.nan
        rows.append(
            {
                "parameter": p.name,
                "group": p.group,
                "unit": p.unit,
                "fitted": p.fit,
                "hand_set": getattr(setup.base, p.name),
                "calibrated": value,
                "low": p.low,
                "high": p.high,
                "se": s,
                "low90": lo,
                "high90": hi,
                "interval_share_of_range": width,
                "identification": identification_label(width) if p.fit else "held",
                "at_bound": bool(p.fit and min(value - p.low, p.high - value) <= AT_BOUND * (p.high - p.low)),
                "identified_by_prior": p.identified_by,
            }
        )
    return pd.DataFrame(rows)


def headline_specs(scenario: Scenario, year: int | None = None) -> tuple[MomentSpec, ...]:
    """Headline outcomes in ``year`` (default: the scenario's last year)."""
    return tuple(MomentSpec(m, r, s, year or scenario.years[-1]) for m, r, s in HEADLINE)


def sensitivity(result: CalibrationResult, executor: Executor) -> tuple[pd.DataFrame, int, pd.DataFrame]:
    """SALib Morris (or Sobol) indices of targets and headline outcomes against all declared free parameters.

    Targets' indices are in tolerance units; headline outcomes' in percent of their median over the sample points.
    The few points where the model runs away (a headline `RUNAWAY` times its median or more) would swamp the
    indices: Morris leaves out the trajectories through them (while two remain), and headline values are capped at
    `RUNAWAY` times the median. Returns the long table (output, kind, parameter, index, value, conf), the number
    of model evaluations (points x seeds), and the runaway points (their parameters and headline outcomes).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    setup = result.setup
    budget = setup.config.budget
    free = setup.free
    names = tuple(p.name for p in free)
    salib_problem = {"num_vars": len(free), "names": list(names), "bounds": [[p.low, p.high] for p in free]}
    used = setup.scored_targets
    year = max(t.spec.year for t in used) if budget.headline_year == "targets" else None
    specs = tuple(t.spec for t in used) + headline_specs(setup.scenario, year)
    labels = [t.name for t in used] + [f"{s.region}_{s.segment}_{s.metric}_{s.year}" for s in specs[len(used) :]]
    tol = np.array([(t.tolerance_low + t.tolerance_high) / 2.0 for t in used])
    problem = setup.problem.with_free(result.params, names, tuple(p.integer for p in free)).with_specs(
        specs, seeds=setup.problem.seeds[: budget.sensitivity_seeds]
    )
    seed = setup.config.de_seed
    if budget.sensitivity == "morris":
        x = morris_sample.sample(salib_problem, budget.morris_trajectories, num_levels=4, seed=seed)
    else:
        x = sobol_sample.sample(salib_problem, budget.sobol_samples, calc_second_order=False, seed=seed)
    whole = np.array([p.integer for p in free])
    x = np.where(whole, np.round(x), x)
    evals = executor.map(evaluate_candidate, [problem] * len(x), list(x))
    y = np.array([e.mean for e in evals])
    failed = int((~np.isfinite(y)).any(axis=1).sum())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # an all-nan column stays nan
        y = np.where(np.isfinite(y), y, np.nanmean(y, axis=0))  # a failed point takes the column mean
    heads = y[:, len(used) :]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # an output never positive has no median
        median = np.nanmedian(np.where(heads > 0, heads, np.nan), axis=0)
    over = heads > RUNAWAY * median
    ran_away = np.any(over, axis=1)
    runaway = pd.DataFrame(x[ran_away], columns=list(names))
    for j, label in enumerate(labels[len(used) :]):
        runaway[label] = heads[ran_away, j]
        runaway[f"{label}_over_median"] = heads[ran_away, j] / median[j]
    # Morris: leave out whole trajectories through a runaway point (a trajectory is d + 1 consecutive points),
    # as long as two trajectories remain; Sobol samples cannot be thinned, and rely on the log scale alone
    keep = np.ones(len(x), dtype=bool)
    if budget.sensitivity == "morris":
        steps = len(names) + 1
        clean = ~ran_away.reshape(-1, steps).any(axis=1)
        if clean.sum() >= 2:
            keep = np.repeat(clean, steps)
    runaway.attrs["trajectories_dropped"] = int((~keep).sum() // (len(names) + 1))
    x_used, y = x[keep], y[keep]
    rows = []
    for k, label in enumerate(labels):
        if k < len(used):
            kind, yk = "target (tolerance units)", y[:, k] / tol[k]
        else:
            med = median[k - len(used)]
            kind = "headline (% of its median)"
            ok = np.isfinite(med) and med > 0
            yk = 100.0 * (np.clip(y[:, k], None, RUNAWAY * med) - med) / med if ok else np.zeros(len(y))
        with warnings.catch_warnings():
            # SALib divides by a zero variance when an output does not move at all; the index is then nan
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            if budget.sensitivity == "morris":
                res = morris_analyze.analyze(salib_problem, x_used, yk, num_levels=4, seed=seed)
                indices = {"mu_star": (res["mu_star"], res["mu_star_conf"]), "sigma": (res["sigma"], None)}
            else:
                res = sobol_analyze.analyze(salib_problem, yk, calc_second_order=False, seed=seed)
                indices = {"S1": (res["S1"], res["S1_conf"]), "ST": (res["ST"], res["ST_conf"])}
        for index, (values, conf) in indices.items():
            for j, name in enumerate(names):
                rows.append(
                    {
                        "output": label,
                        "kind": kind,
                        "parameter": name,
                        "index": index,
                        "value": float(np.asarray(values)[j]),
                        "conf": float(np.asarray(conf)[j]) if conf is not None else np.nan,
                    }
                )
    table = pd.DataFrame(rows)
    table.attrs["failed_points"] = failed
    return table, len(x) * len(problem.seeds), runaway


def backtest_parameters(a: Analysis, origin: Origin) -> pd.DataFrame:
    """Fitted parameters at the full fit and at a backtest fit's, and their difference in share of the range."""
    rows = []
    for r in a.parameters[a.parameters.fitted].itertuples():
        back = float(getattr(origin.params, r.parameter))
        rows.append(
            {
                "parameter": r.parameter,
                "full_fit": float(r.calibrated),
                "backtest": back,
                "difference": (back - float(r.calibrated)) / (r.high - r.low),
            }
        )
    return pd.DataFrame(rows, columns=["parameter", "full_fit", "backtest", "difference"])


# ---------------------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------------------
REPORT_FILES = ("REPORT.md",)
REPORT_OWNED = ("REPORT.md", "*.csv", "*.png")


def write_report(
    analysis: Analysis, report_dir: Path, *, parameter_file: Path | None = None, wall_time_s: float | None = None
) -> Path:
    """Write REPORT.md, charts and CSV tables to ``report_dir`` atomically; returns the directory."""
    from calibration import charts

    def fill(tmp: Path) -> None:
        charts.write_charts(analysis, tmp)
        analysis.fit.to_csv(tmp / "fit.csv", index=False)
        analysis.parameters.to_csv(tmp / "parameters.csv", index=False)
        if analysis.identification is not None:
            analysis.identification.to_csv(tmp / "identification.csv")
        if analysis.sensitivity is not None:
            analysis.sensitivity.to_csv(tmp / "sensitivity.csv", index=False)
        if analysis.runaway is not None and len(analysis.runaway):
            analysis.runaway.to_csv(tmp / "sensitivity_runaway.csv", index=False)
        if analysis.recovery is not None:
            pd.DataFrame(analysis.recovery.rows()).to_csv(tmp / "recovery.csv", index=False)
            pd.DataFrame(analysis.recovery.replication_rows()).to_csv(tmp / "recovery_replications.csv", index=False)
        if analysis.backtest:
            backtest_table(analysis.backtest).to_csv(tmp / "backtest.csv", index=False)
        analysis.convergence().to_csv(tmp / "convergence.csv", index=False)
        timings = {"search": analysis.result.wall_time_s, **analysis.timings}
        if wall_time_s is not None:
            timings["total"] = wall_time_s
        workers = analysis.result.setup.config.workers
        pd.DataFrame(
            [{"step": k, "seconds": round(v, 1), "workers": workers or "cpu count"} for k, v in timings.items()]
        ).to_csv(tmp / "timings.csv", index=False)
        (tmp / "REPORT.md").write_text(markdown(analysis, parameter_file, wall_time_s), encoding="utf-8")

    # an earlier report is replaced if it holds only what a report holds (anything else is never deleted)
    return write_directory(report_dir, fill, REPORT_FILES, owned=REPORT_OWNED)


def _fmt(value: float, unit: str = "") -> str:
    if not np.isfinite(value):
        return "n/a"
    if unit == "share":
        return f"{value:.3f}"
    if abs(value) >= 1e5:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _param(value: float) -> str:
    if np.isinf(value):
        return "unbounded"
    return f"{value:.4g}" if np.isfinite(value) else "n/a"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _gap(r: Any) -> str:
    """How far a model mean lies outside its band, in the target's unit and in tolerance units."""
    mean = r.out_of_sample_mean
    edge = r.band_high if mean > r.band_high else r.band_low
    side = "above" if mean > r.band_high else "below"
    return f"{_fmt(abs(mean - edge), r.unit)} {r.unit} {side} its band (z {r.out_of_sample_z:+.2f})"


def miss_diagnosis(a: Analysis, target: str) -> str:
    """What moves a missed target and what holds it back, from the Jacobian at the fit (fitted targets only)."""
    ident = a.identification
    if ident is None or target not in ident.index:
        return "not fitted (scored only), so the fit did not trade it off against the others"
    row = ident.loc[target]
    if not np.any(np.abs(row.to_numpy()) >= 0.5):
        return (
            "no fitted parameter moves it by half a tolerance across its whole range: a gap of structure or "
            "of held parameters, not of the fitted values"
        )
    setup = a.result.setup
    z = a.fit.set_index("target").in_sample_z  # the balance at the optimum is on the calibration seeds
    weights = dict(zip([t.name for t in setup.fitted_targets], setup.problem.weights, strict=True))
    bound = a.parameters.set_index("parameter").at_bound
    parts = []
    for name in row.abs().sort_values(ascending=False).index[:2]:
        effect = row[name]
        if abs(effect) < 0.5:
            continue
        # the gradient of the objective along this parameter from the other fitted targets
        pull = {t: weights[t] * z[t] * ident.loc[t, name] for t in ident.index if t != target}
        # at the optimum the others' pull along the parameter balances this target's: those pulling the other way
        mine = np.sign(z[target] * effect)
        against = sorted(
            (t for t, v in pull.items() if np.sign(v) == -mine and abs(v) > 0.5), key=lambda t: -abs(pull[t])
        )[:3]
        where = " (at a bound of its search)" if bound.get(name, False) else ""
        held = f"; held back by {', '.join(against)}" if against else ""
        parts.append(f"`{name}`{where} moves it {effect:+.1f} z across its range{held}")
    return "; ".join(parts)


def _kind_mark(kind: str) -> str:
    return {"fitted": "", "held_out": " (held out)", "input": " (input)", "identity": " (identity)"}[kind]


def _band_text(mean: float, p05: float, p95: float, unit: str) -> str:
    return f"{_fmt(mean, unit)} ({_fmt(p05, unit)} - {_fmt(p95, unit)})"


def kinds_sentence(setup: Any) -> str:
    """How many targets of each kind there are, and which are counted."""
    counts = {k: sum(1 for t in setup.scored_targets if t.kind == k) for k in KINDS}
    unused = sum(1 for t in setup.targets if not t.used)
    return (
        f"{len(setup.scored_targets)} targets scored: {counts['fitted']} fitted, {counts['held_out']} held out, "
        f"{counts['input']} inputs and {counts['identity']} identities"
        + (f" ({unused} more on record, not computable by the model)" if unused else "")
        + f". The **{counts['fitted'] + counts['held_out']} informative targets** (fitted and held out) are the ones "
        "counted; inputs equal a scenario input and identities follow from the inputs given named parameters, so "
        "they are shown, never counted."
    )


def markdown(a: Analysis, parameter_file: Path | None, wall_time_s: float | None) -> str:
    """The report's text."""
    from calibration.fit import _relative

    res = a.result
    setup, c = res.setup, res.setup.config
    b = c.budget
    out: list[str] = []
    add = out.append
    n = a.counts()
    add("# Calibration report\n")
    add(
        f"Written by `lithium-sim calibrate` on {res.finished} (code {code_version()}). Parameters: "
        f"`{_relative(parameter_file) if parameter_file else 'not written'}`; targets: `{_relative(c.targets)}`; "
        f"free parameters: `{_relative(c.free_parameters)}`; held values from `{_relative(c.base_parameters)}`; "
        f"scenarios `{_relative(c.scenario)}` (firms) and `{_relative(c.market_scenario)}` (market).\n"
    )
    add("## Summary\n")
    add(f"- {kinds_sentence(setup)}")
    flagged = a.informative[a.informative.passes_in_sample_fails_out_of_sample]
    add(
        f"- **{n['out_of_sample_inside']} of {n['informative']} informative targets inside their band out of "
        f"sample** (the mean of {a.out_of_sample} replicates on seeds the fit never saw); in sample (the fit's own "
        f"{a.in_sample} seeds): {n['in_sample_inside']} of {n['informative']}. "
        + (
            f"Inside in sample but outside out of sample: {', '.join(f'`{t}`' for t in flagged.target)}. "
            if len(flagged)
            else "No target passes in sample and fails out of sample. "
        )
        + f"With the hand-set parameters (out of sample): {n['hand_set_inside']} of {n['informative']}."
    )
    add(
        f"- Objective {res.evaluation.energy:.4g} on the {len(setup.seeds)} calibration seeds (hand-set: "
        f"{a.hand_set_objective:.4g}); it is the weighted sum of squared gaps in tolerance units over the "
        f"{len(setup.fitted_targets)} fitted targets, of total weight {setup.problem.weights.sum():g}."
    )
    for g in res.groups:
        if g.search is None:
            add(f"- Group `{g.group}`: {g.note}.")
            continue
        s = g.search
        add(
            f"- Group `{g.group}` ({len(g.names)} parameters, {len(g.targets)} targets of scenario `{g.scenario}`): "
            f"population {len(s.population)}, {s.generations} of at most {b.maxiter} generations, "
            + (
                f"**converged** (objective spread within {b.tol:g} of its mean)"
                if s.converged
                else "**not converged** (stopped at the generation cap)"
            )
            + f", best objective {s.energy:.4g}."
            + (f" Resumed from a checkpoint at generation {s.resumed_from}." if s.resumed_from is not None else "")
        )
    add(
        f"- Budget `{b.name}`: {len(setup.seeds)} common seeds per candidate "
        f"(`{describe('calibration', setup.master, len(setup.seeds))}`"
        f": seeds of their own, never a run's replicate, `calibration/seeds.py`), population {b.popsize} per "
        f"parameter, tolerance {b.tol:g}, optimiser seed {c.de_seed}, {res.evaluations} candidates in all."
    )
    for origin in a.backtest or []:
        s = origin.summary()
        add(
            f"- Backtest, fitted through {origin.through} and scored on {origin.scored}: {s['model_inside']} of "
            f"{s['targets']} informative targets inside their band out of sample; where a value of "
            f"{origin.scored - 1} exists to carry forward ({s['with_persistence']} targets), the model "
            f"{s['model_inside_where_persistence']} and persistence {s['persistence_inside']}, mean |z| "
            f"{s['model_mean_abs_z']:.2f} against {s['persistence_mean_abs_z']:.2f}."
        )
    if a.recovery is not None:
        rec = a.recovery
        status = {r["parameter"]: r for r in rec.rows()}
        add(
            f"- Recovery ({len(rec.replications)} refits on pseudo-data with noise): "
            + "; ".join(f"`{p}` {r['status']} (coverage {r['coverage90']:.0%})" for p, r in status.items())
            + ("." if rec.passed else ". **The check fails**: some intervals miss the truth too often.")
        )
    unidentified = a.parameters[a.parameters.identification == "not identified"]
    if len(unidentified):
        add(
            "- **Not identified** (the 90% interval covers nearly the whole search range): "
            + ", ".join(f"`{p}`" for p in unidentified.parameter)
            + ". Read their fitted values as one point on a ridge of the objective."
        )
    bound = a.parameters[a.parameters.at_bound]
    if len(bound):
        sides = ", ".join(
            f"`{r.parameter}` ({'low' if r.calibrated - r.low < r.high - r.calibrated else 'high'})"
            for r in bound.itertuples()
        )
        add(f"- **At a bound of the search**: {sides}. Read their intervals as one-sided.")
    timing = "; ".join(f"{k} {v:.0f} s" for k, v in a.timings.items())
    add(
        f"- Wall time: search {res.wall_time_s:.0f} s; {timing}"
        + (f"; **total {wall_time_s:.0f} s**" if wall_time_s is not None else "")
        + ".\n"
    )

    add("## Fit: each target, in sample and out of sample\n")
    add(
        f"*In sample*: the mean and P5-P95 over the fit's own {a.in_sample} common seeds, with the calibrated "
        f"parameters. *Out of sample*: the same over {a.out_of_sample} seeds of their own spawn key, which neither "
        "the fit nor any run uses (a run's replicates are seeds the fit never saw too). *inside*: the mean lies in "
        "the target's band; z is the out-of-sample gap in tolerance units (|z| <= 1 is inside); **!** marks a "
        "target inside in sample and outside out of sample. The hand-set column is out of sample. Kinds other than "
        "fitted are marked: (held out), (input), (identity). Targets of scenario `baseline_market` are marked "
        "[market].\n"
    )
    add("![fit](fit.png)\n")
    rows = []
    for r in a.fit.itertuples():
        name = r.target + (" [market]" if r.scenario != "baseline" else "") + _kind_mark(r.kind)
        rows.append(
            [
                name,
                str(r.year),
                f"{_fmt(r.value, r.unit)} {r.unit}",
                f"{_fmt(r.band_low, r.unit)} - {_fmt(r.band_high, r.unit)}",
                _band_text(r.in_sample_mean, r.in_sample_p05, r.in_sample_p95, r.unit),
                "yes" if r.in_sample_inside else "no",
                _band_text(r.out_of_sample_mean, r.out_of_sample_p05, r.out_of_sample_p95, r.unit),
                ("**yes**" if r.out_of_sample_inside else "no")
                + (" **!**" if r.passes_in_sample_fails_out_of_sample else ""),
                f"{r.out_of_sample_z:+.2f}",
                _fmt(r.hand_set_mean, r.unit),
                f"{r.weight:g}" if r.fitted else "",
            ]
        )
    add(
        _table(
            [
                "target",
                "year",
                "value",
                "band",
                "in sample: mean (P5 - P95)",
                "inside",
                "out of sample: mean (P5 - P95)",
                "inside",
                "z",
                "hand-set",
                "weight",
            ],
            rows,
        )
    )
    add("")
    others = a.fit[~a.fit.kind.isin(INFORMATIVE)]
    if len(others):
        add("Inputs and identities, shown but never fitted or counted:\n")
        for r in others.itertuples():
            t = next(t for t in setup.targets if t.name == r.target)
            given = f" (given {', '.join(f'`{g}`' for g in t.given)})" if t.given else ""
            add(f"- `{r.target}`, {r.kind}{given}: {t.reason}")
        add("")
    add("Targets kept on record but not scored:\n")
    add(
        _table(
            ["target", "value", "why not used"],
            [[r.target, f"{_fmt(r.value)} {r.unit}", r.reason] for r in a.unused.itertuples()],
        )
        if len(a.unused)
        else "none"
    )
    add("")

    add("## Where the model misses\n")
    misses = a.misses
    if not len(misses):
        add("Every informative target's out-of-sample mean lies inside its band.\n")
    else:
        add(
            f"{len(misses)} of {n['informative']} informative targets lie outside their band out of sample with the "
            "calibrated parameters. For each: by how much, what moves it (the fitted parameters with the largest "
            "effect across their range, from the Jacobian) and which fitted targets pull those parameters the other "
            "way, then the likely reason in model terms.\n"
        )
        for r in misses.itertuples():
            add(
                f"- **{r.target}** ({r.year}): model {_fmt(r.out_of_sample_mean, r.unit)} against "
                f"{_fmt(r.value, r.unit)} {r.unit}, {_gap(r)}. {miss_diagnosis(a, r.target).capitalize()}."
                + (f" {MISS_NOTES[r.target]}" if r.target in MISS_NOTES else "")
            )
        add("")
    add(
        "Approximations: Suining's 2023 *revenue* (营业收入) is compared with the model's gross output value (产值) "
        "of its three segments; the national *carbonate* utilisation with the model's lithium salt segment "
        "(carbonate and hydroxide together in LCE); shares of the national *market* with shares of national "
        "output; listed makers' gross margins with the model's tiers. Each target's note in `targets.toml` gives "
        "the reasoning behind its tolerance.\n"
    )

    if a.backtest is not None:
        add(BACKTEST_HEADING + "\n")
        if not a.backtest:
            add("Not run: the targets' informative years leave no year to fit through and another to score.\n")
        else:
            add(
                "For every year with data after the first, the calibration again (both groups, the same common "
                f"seeds, population {b.backtest_popsize} per parameter, at most {b.backtest_maxiter} generations per "
                "group), fitted only to the targets up to the year before, then the next year's informative targets "
                f"scored at its parameters on the {a.out_of_sample} out-of-sample seeds, each beside a naive "
                "forecast: **persistence**, the same figure's value of the year before carried forward ("
                f"'{NO_EARLIER}' where the targets have none). *closer*: the model's |z| is below persistence's.\n"
            )
            add("![backtest](backtest.png)\n")
            for origin in a.backtest:
                s = origin.summary()
                add(f"### Fitted through {origin.through}, scored on {origin.scored}\n")
                add(
                    f"**{s['model_inside']} of {s['targets']} informative {origin.scored} targets inside their band.** "
                    f"On the {s['with_persistence']} with a {origin.scored - 1} value to carry forward: the model "
                    f"{s['model_inside_where_persistence']} inside, persistence {s['persistence_inside']}; the model "
                    f"closer on {s['model_closer']}; mean |z| {s['model_mean_abs_z']:.2f} (model) against "
                    f"{s['persistence_mean_abs_z']:.2f} (persistence). Groups: "
                    + "; ".join(
                        f"`{g.group}` {g.note}"
                        if g.search is None
                        else f"`{g.group}` {g.search.generations} generations"
                        f"{', converged' if g.search.converged else ', not converged'}"
                        for g in origin.groups
                    )
                    + f"; {origin.wall_time_s:.0f} s.\n"
                )
                rows = []
                for r in origin.table.itertuples():
                    naive = r.persistence_from != NO_EARLIER
                    rows.append(
                        [
                            r.target + (" [market]" if r.scenario != "baseline" else "") + _kind_mark(r.kind),
                            f"{_fmt(r.value, r.unit)} {r.unit}",
                            f"{_fmt(r.band_low, r.unit)} - {_fmt(r.band_high, r.unit)}",
                            _band_text(r.model_mean, r.model_p05, r.model_p95, r.unit),
                            f"{r.model_z:+.2f}",
                            "**yes**" if r.model_inside else "no",
                            _fmt(r.persistence_value, r.unit) if naive else NO_EARLIER,
                            f"{r.persistence_z:+.2f}" if naive else "",
                            ("yes" if r.persistence_inside else "no") if naive else "",
                            r.model_closer,
                            _fmt(r.full_fit_mean, r.unit),
                        ]
                    )
                add(
                    _table(
                        [
                            "target",
                            "data",
                            "band",
                            f"model, fit through {origin.through}: mean (P5 - P95)",
                            "z",
                            "inside",
                            f"persistence ({origin.scored - 1})",
                            "z",
                            "inside",
                            "closer",
                            "full fit",
                        ],
                        rows,
                    )
                )
                moved = backtest_parameters(a, origin)
                far = moved[moved.difference.abs() >= 0.2]
                if len(far):
                    add(
                        "\nParameters this fit sets a fifth of their range or more from the full fit: "
                        + ", ".join(
                            f"`{r.parameter}` {_param(r.backtest)} (full fit {_param(r.full_fit)})"
                            for r in far.itertuples()
                        )
                        + f": those the targets after {origin.through} pin down and the earlier ones hardly see."
                    )
                add("")

    add("## Parameters, with uncertainty\n")
    add(
        "Fitted parameters with the standard error from the curvature of the objective (Gauss-Newton sandwich, "
        "method below) and a 90% interval clipped to the search bounds; held parameters keep the hand-set value "
        "and are listed because the sensitivity analysis covers them.\n"
    )
    add("![parameters](parameters.png)\n")
    rows = []
    for r in a.parameters.itertuples():
        rows.append(
            [
                r.parameter,
                r.group,
                r.unit,
                _param(r.hand_set),
                f"**{_param(r.calibrated)}**" if r.fitted else _param(r.calibrated),
                f"{_param(r.low)} - {_param(r.high)}",
                _param(r.se) if r.fitted else "",
                f"{_param(r.low90)} - {_param(r.high90)}" if r.fitted else "",
                f"{r.interval_share_of_range:.0%}" if r.fitted and np.isfinite(r.interval_share_of_range) else "",
                r.identification + (" (at a bound)" if r.at_bound else ""),
            ]
        )
    add(
        _table(
            [
                "parameter",
                "group",
                "unit",
                "hand-set",
                "calibrated",
                "bounds",
                "SE",
                "90% interval",
                "share of range",
                "status",
            ],
            rows,
        )
    )
    if np.isfinite(a.condition_number):
        add(
            f"\nCondition number of G'WG: {a.condition_number:.3g} (large values mean some combination of "
            "parameters is hardly pinned down)."
        )
    add(
        "\nMethod: V = A^+ G'W (D + (1 + 1/n) S) W G A^+ with A = G'WG, G the Jacobian below (moment units), W = "
        "diag(weight/tolerance^2), D = diag((tolerance/2)^2) reading each tolerance as about two standard "
        "deviations of the data's error, and S the covariance of one replicate's moments over the n calibration "
        "seeds at the optimum: the data are one realisation of the world, the model's figure a mean over n seeds. "
        f"'Well identified': the clipped 90% interval spans under {WELL_IDENTIFIED:.0%} of the search range; "
        f"'weakly': under {NOT_IDENTIFIED:.0%}; otherwise 'not identified' (the interval covers nearly the whole "
        "range). The recovery check below tests these intervals against known truths.\n"
    )

    if a.identification is not None:
        add("## Identification: which targets pin down which parameter\n")
        add(
            "Each cell is the change of a target's z (its gap in tolerance units) when the parameter moves across "
            "its whole search range, from the Jacobian at the calibrated values (central differences, step "
            f"{JACOBIAN_STEP:.0%} of the range, on the calibration seeds). A column of small numbers is a parameter "
            "the targets cannot see.\n"
        )
        add("![identification](identification.png)\n")
        rows = []
        ident = a.identification
        weights = setup.problem.weights
        prior = a.parameters.set_index("parameter").identified_by_prior
        for name in ident.columns:
            contrib = weights * ident[name].to_numpy() ** 2
            total = contrib.sum()
            order = np.argsort(contrib)[::-1][:3]
            top = ", ".join(
                f"{ident.index[i]} ({contrib[i] / total:.0%})"
                for i in order
                if total > 0 and contrib[i] / total >= 0.05
            )
            rows.append([name, top or "none", f"{np.sqrt(total):.2g}", prior[name]])
        add(
            _table(
                [
                    "parameter",
                    "identified by (share of weighted squared effect)",
                    "total effect (z)",
                    "prior claim (free_parameters.toml)",
                ],
                rows,
            )
        )
        add("")

    if a.sensitivity is not None:
        add(f"## Sensitivity: {a.sensitivity_method} indices (SALib)\n")
        method = (
            "Morris elementary effects: mu* is the mean absolute change of the output for a step of 2/3 of a "
            "parameter's range"
            if a.sensitivity_method == "morris"
            else "Sobol indices: S1 first order, ST total"
        )
        add(
            f"{method}, over every declared free parameter (held ones included) across its whole bounds (global: "
            f"it does not depend on the calibrated values), with {a.sensitivity_evaluations} model runs (points x "
            f"{b.sensitivity_seeds} seeds). Targets are in tolerance units; headline outcomes "
            + ("in the scenario's last year" if b.headline_year == "end" else "in the last target year")
            + " in percent of their median over the sample points (capped at "
            f"{RUNAWAY:g} times the median, so that points where the model runs away do not swamp the indices).\n"
        )
        add("![sensitivity](sensitivity.png)\n")
        runaway = a.runaway
        if runaway is not None and len(runaway):
            ratios = [c for c in runaway.columns if c.endswith("_over_median")]
            worst = {c.removesuffix("_over_median"): float(runaway[c].max()) for c in ratios}
            worst = {h: v for h, v in worst.items() if v >= RUNAWAY}
            dropped = runaway.attrs.get("trajectories_dropped", 0)
            add(
                f"**The model runs away at {len(runaway)} of {a.sensitivity_evaluations // b.sensitivity_seeds} "
                f"sample points**: "
                + ", ".join(
                    f"{h} up to {_fmt(float(runaway[h].max()))} ({v:,.0f} times its median)" for h, v in worst.items()
                )
                + ". Their parameters are in `sensitivity_runaway.csv`. It is the model's behaviour at those points "
                "of the search box: a finding about the model, to be read beside the indices"
                + (f"; the {dropped} Morris trajectories through them are left out of the indices" if dropped else "")
                + ".\n"
            )
        main = "mu_star" if a.sensitivity_method == "morris" else "ST"
        sens = a.sensitivity[a.sensitivity["index"] == main]
        pivot = sens.pivot(index="parameter", columns="output", values="value")
        target_names = [t.name for t in setup.scored_targets]
        heads = [col for col in dict.fromkeys(sens.output) if col not in target_names]
        rows = [[p.name, *[f"{pivot.loc[p.name, col]:.2f}" for col in heads]] for p in setup.free]
        add("Headline outcomes (the targets' indices are in `sensitivity.csv` and the chart):\n")
        add(_table(["parameter", *heads], rows))
        add("")

    if a.recovery is not None:
        rec = a.recovery
        add("## Parameter recovery\n")
        add(
            f"{len(rec.replications)} refits of {len(rec.names)} parameters with known values (the truth; the other "
            "parameters at their base values). Each refit's pseudo-data are the model's figures at the truth on one "
            "fresh seed (`calibration.seeds.recovery_seeds`: a realisation no fit sees) plus normal noise of "
            f"standard deviation {NOISE_SD:g} x each target's tolerance; the refit uses the calibration's objective "
            f"and optimiser on {rec.seeds} of its common seeds with a smaller budget than the main fit (population "
            f"{rec.popsize} per parameter, at least 10; {rec.maxiter} generations), then one Gauss-Newton step, kept "
            "when it lowers the objective; each parameter's 90% interval comes from the method above. *Coverage* is "
            "the share of refits whose interval holds the truth (90% if the intervals are right); a parameter whose "
            f"median interval spans {NOT_IDENTIFIED:.0%} of its range or more is **not identified**; one whose "
            f"intervals hold the truth in fewer than {MIN_COVERAGE:.0%} of the refits has intervals too narrow, and "
            f"the check fails. {rec.evaluations} model evaluations, {rec.wall_time_s:.0f} s. "
            + ("**Passed.**" if rec.passed else "**Failed.**")
            + "\n"
        )
        add("![recovery](recovery.png)\n")
        add(
            _table(
                [
                    "parameter",
                    "truth",
                    "bounds",
                    "mean estimate",
                    "bias (share of range)",
                    "spread (share of range)",
                    "coverage of the 90% intervals",
                    "median interval (share of range)",
                    "status",
                ],
                [
                    [
                        r["parameter"],
                        _param(r["truth"]),
                        f"{_param(r['low'])} - {_param(r['high'])}",
                        _param(r["mean_estimate"]),
                        f"{_param(r['bias'])} ({r['bias_share_of_range']:+.3f})",
                        f"{_param(r['spread'])} ({r['spread_share_of_range']:.3f})",
                        f"{r['coverage90']:.0%}",
                        f"{r['median_interval_share_of_range']:.0%}",
                        f"**{r['status']}**",
                    ]
                    for r in rec.rows()
                ],
            )
        )
        add("\nEach refit's estimate and interval: `recovery_replications.csv`.\n")

    add("## Convergence\n")
    add("![convergence](convergence.png)\n")
    conv = a.convergence()
    conv = conv[conv.fit == "calibration"]
    add(
        _table(
            ["group", "generation", "best objective", "candidates evaluated"],
            [
                [r.group, str(r.generation), f"{r.best_objective:.4g}", str(r.candidates_evaluated)]
                for r in conv.itertuples()
            ],
        )
    )
    add(f"\n*Generated {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}.*\n")
    return "\n".join(out)
