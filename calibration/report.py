"""The fit report: how well the calibrated model meets each target, where it misses and why, how sure the
parameters are, which targets pin down which parameter, how the headline outcomes depend on the free
parameters, whether the procedure recovers known parameters, and how a fit through the year before the last
scores the last year (a rolling-origin backtest).

`analyse` computes everything (on the calibration's executor); `write_report` writes ``REPORT.md``, CSV tables
and PNG charts to the report directory atomically (`sim.api.write_directory`).

Methods:

- **Fit**: each calibration scenario run as ``lithium-sim run`` runs it (`sim.api.run`), with the calibrated
  parameters, on the scenario's own replicate seeds: mean, P5-P95 across replicates, inside the target's band
  or not. The same means for the hand-set parameters, and for seeds the fit never saw (out of sample:
  ``SeedSequence(seed).spawn(n + m)[n:]``).
- **Misses**: for each target outside its band, the fitted parameters that move it most (from the Jacobian)
  and the fitted targets that pull those parameters the other way, with a note in model terms.
- **Identification**: the Jacobian G of the mean moments with respect to the fitted parameters at the
  optimum, by central differences on the common seeds. Shown as the change of each target's z (gap in
  tolerance units) when a parameter moves across its whole search range, linearised.
- **Uncertainty**: the sandwich covariance of a minimum-distance estimator, V = A^+ G'W (D + S/n) W G A^+
  with A = G'WG, W = diag(weight / tolerance^2), D = diag((tolerance/2)^2) (a tolerance read as about two
  standard deviations of the data's error) and S/n the simulation noise of the mean over n seeds (from the
  replicates at the optimum). Intervals are +-1.645 SE, clipped to the bounds. The groups are fitted one after
  the other; the covariance treats all fitted parameters jointly against all fitted targets.
- **Sensitivity**: SALib Morris elementary effects (or Sobol indices) of the targets and of headline
  outcomes in the scenario's last year against every declared free parameter (held ones included) over
  their whole bounds (global: it does not depend on the calibrated values of those parameters).
- **Recovery**: `calibration.recovery`.
- **Backtest**: the same calibration, fitted only to the targets up to the year before the last target year
  (a smaller budget), then every target scored at its parameters on the scenario's own seeds.
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

from calibration.moments import MomentSpec, fresh_seed, simulate_moments
from calibration.objective import Problem, evaluate_candidate, seed_mean
from calibration.recovery import QUICK_RECOVERY, RECOVERY_TRUTH, RecoveryResult, recover
from calibration.targets import Target
from sim.api import Executor, ModelParams, Scenario, code_version, run, write_directory

if TYPE_CHECKING:
    from calibration.fit import CalibrationResult, GroupResult

JACOBIAN_STEP = 0.05  # central-difference step, fraction of the search range (whole numbers: at least 1)
Z90 = 1.6448536269514722  # two-sided 90% normal quantile
AT_BOUND = 0.02  # a fitted value within this fraction of the range from a bound is reported as at the bound
RUNAWAY = 100.0  # a sensitivity point whose headline outcome is this many times its median has run away
BACKTEST_HEADING = "## Rolling-origin backtest: fitted through {through}, scored on {scored}"
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
# validation runs
# ---------------------------------------------------------------------------------------------------------
def batch_figures(
    scenario: Scenario, params: ModelParams, seeds: list[np.random.SeedSequence], specs: tuple[MomentSpec, ...]
) -> np.ndarray:
    """The figures ``specs`` of one batch of replicates, ``(seeds, specs)`` (a worker task)."""
    return simulate_moments(scenario, params, [fresh_seed(s) for s in seeds], specs)


def run_figures(
    scenario: Scenario, params: ModelParams, replicates: int, specs: tuple[MomentSpec, ...]
) -> pd.DataFrame:
    """Mean, P5 and P95 of ``specs`` as ``lithium-sim run`` computes them (`sim.api.run`, the scenario's own
    replicate seeds), one row per spec."""
    result = run(scenario, replicates=replicates, params=params, progress=False)
    try:
        summary = result.summary.set_index(["year", "region", "segment", "metric"])
    finally:
        if result.store is not None:
            result.store.discard()
    rows = []
    for s in specs:
        key = (s.year, s.region, s.segment, s.metric)
        row = summary.loc[key] if key in summary.index else None
        rows.append({k: float(row[k]) if row is not None else np.nan for k in ("mean", "p05", "p95")})
    return pd.DataFrame(rows)


def _by_scenario(targets: list[Target]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for k, t in enumerate(targets):
        out.setdefault(t.spec.scenario, []).append(k)
    return out


def _means(
    executor: Executor, jobs: list[tuple[Scenario, ModelParams, list, tuple[MomentSpec, ...]]]
) -> list[np.ndarray]:
    """Mean over seeds of each job's figures (jobs run on the executor)."""
    if not jobs:
        return []
    out = executor.map(batch_figures, *zip(*jobs, strict=True))
    return [seed_mean(values) for values in out]


# ---------------------------------------------------------------------------------------------------------
# the analysis
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Backtest:
    """A fit through ``through`` scored on every target.

    Attributes:
        through: the last year of the targets it was fitted to.
        groups: its searches.
        params: its parameters.
        table: one row per scored target (see `backtest`).
        wall_time_s: its time.
        note: why it did not run, if it did not.
    """

    through: int
    groups: list[GroupResult]
    params: ModelParams | None
    table: pd.DataFrame
    wall_time_s: float = 0.0
    note: str = ""


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
    backtest: Backtest | None = None
    timings: dict[str, float] = field(default_factory=dict)
    validation_replicates: int = 0
    out_of_sample: int = 0
    condition_number: float = float("nan")
    hand_set_objective: float = float("nan")

    def fit_rows(self) -> list[dict[str, Any]]:
        """The ``[fit.<target>]`` tables of the calibrated parameter file."""
        rows = []
        for r in self.fit.itertuples():
            rows.append(
                {
                    "target": r.target,
                    "scenario": r.scenario,
                    "year": int(r.year),
                    "fitted": bool(r.fitted),
                    "value": float(r.value),
                    "unit": r.unit,
                    "band_low": float(r.band_low),
                    "band_high": float(r.band_high),
                    "model_mean": float(r.model_mean),
                    "model_p05": float(r.model_p05),
                    "model_p95": float(r.model_p95),
                    "z": float(r.z),
                    "inside": bool(r.inside),
                    "replicates": int(self.validation_replicates),
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
        """Best objective by generation, per group (and the backtest's)."""
        rows = []
        runs = [("calibration", self.result.groups)]
        if self.backtest is not None:
            runs.append((f"backtest through {self.backtest.through}", self.backtest.groups))
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
        """The scored targets whose calibrated mean lies outside their band."""
        return self.fit[~self.fit.inside]


def analyse(result: CalibrationResult, executor: Executor, *, with_report: bool = True) -> Analysis:
    """Validation, identification, uncertainty and, for the report, sensitivity, recovery and the backtest."""
    setup = result.setup
    budget = setup.config.budget
    timings: dict[str, float] = {}

    t = time.perf_counter()
    fit, unused, n_val, n_oos = validate(result, executor)
    hand = hand_set_objective(result, executor)
    timings["fit table (validation runs)"] = time.perf_counter() - t

    jac = ident = None
    cond = float("nan")
    se = np.full(len(setup.problem.names), np.nan)
    if budget.jacobian and setup.problem.names:
        t = time.perf_counter()
        jac = jacobian(setup.problem, setup.space.low, setup.space.high, setup.space.integer, result.x, executor)
        ident = identification_table(
            setup.problem, jac, setup.space.low, setup.space.high, [t.name for t in setup.used_targets]
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
        validation_replicates=n_val,
        out_of_sample=n_oos,
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
            truth=truth,
            seeds=budget.recovery_seeds,
            popsize=budget.recovery_popsize,
            maxiter=budget.recovery_maxiter,
        )
        timings["parameter recovery"] = time.perf_counter() - t
    if budget.backtest:
        t = time.perf_counter()
        analysis.backtest = backtest(result, executor, fit)
        timings["backtest"] = time.perf_counter() - t
    return analysis


def validate(result: CalibrationResult, executor: Executor) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    """The fit table: every used target (fitted or not) against the validation runs."""
    setup = result.setup
    budget = setup.config.budget
    scored = setup.scored_targets
    fitted_names = {t.name for t in setup.used_targets}
    groups = _by_scenario(scored)
    n_oos = budget.out_of_sample
    calibrated: dict[str, pd.DataFrame] = {}
    jobs, order = [], []
    for name, idx in groups.items():
        scenario = setup.scenarios[name]
        n = budget.validation_replicates or scenario.replicates
        specs = tuple(scored[k].spec for k in idx)
        calibrated[name] = run_figures(scenario, result.params, n, specs)
        seeds = np.random.SeedSequence(scenario.seed).spawn(n + n_oos)
        jobs.append((scenario, setup.base, seeds[:n], specs))
        order.append((name, "hand_set"))
        if n_oos:
            jobs.append((scenario, result.params, seeds[n:], specs))
            order.append((name, "out_of_sample"))
    means = dict(zip(order, _means(executor, jobs), strict=True))
    n_val = budget.validation_replicates or setup.scenario.replicates
    in_sample = dict(zip([t.name for t in setup.used_targets], result.evaluation.mean, strict=True))
    rows = []
    for name, idx in groups.items():
        for j, k in enumerate(idx):
            tgt = scored[k]
            mean = float(calibrated[name]["mean"].iloc[j])
            hand = float(means[(name, "hand_set")][j])
            oos = float(means[(name, "out_of_sample")][j]) if n_oos else float("nan")
            rows.append(
                {
                    "target": tgt.name,
                    "label": tgt.spec.label,
                    "scenario": name,
                    "year": tgt.spec.year,
                    "fitted": tgt.name in fitted_names,
                    "value": tgt.value,
                    "unit": tgt.unit,
                    "band_low": tgt.value - tgt.tolerance_low,
                    "band_high": tgt.value + tgt.tolerance_high,
                    "weight": tgt.weight,
                    "model_mean": mean,
                    "model_p05": float(calibrated[name]["p05"].iloc[j]),
                    "model_p95": float(calibrated[name]["p95"].iloc[j]),
                    "z": tgt.z(mean),
                    "inside": tgt.inside(mean),
                    "hand_set_mean": hand,
                    "hand_set_inside": tgt.inside(hand),
                    "out_of_sample_mean": oos,
                    "out_of_sample_inside": tgt.inside(oos) if n_oos else False,
                    "calibration_seeds_mean": float(in_sample.get(tgt.name, np.nan)),
                    "source": tgt.source,
                }
            )
    order_names = [t.name for t in scored]
    fit = pd.DataFrame(rows).set_index("target").loc[order_names].reset_index()
    unused = pd.DataFrame(
        [
            {
                "target": t.name,
                "label": t.spec.label,
                "value": t.value,
                "unit": t.unit,
                "reason": t.reason,
                "source": t.source,
            }
            for t in setup.targets
            if not t.used
        ]
    )
    return fit, unused, n_val, n_oos


def hand_set_objective(result: CalibrationResult, executor: Executor) -> float:
    """The objective at the hand-set values, on the calibration seeds."""
    setup = result.setup
    x = setup.space.clip(np.array([getattr(setup.base, n) for n in setup.problem.names], dtype=float))
    return executor.map(evaluate_candidate, [setup.problem], [x])[0].energy


def jacobian(
    problem: Problem, low: np.ndarray, high: np.ndarray, integer: np.ndarray, x: np.ndarray, executor: Executor
) -> np.ndarray:
    """d(mean moment)/d(parameter) at ``x`` by central differences on the common seeds (one-sided at a
    bound)."""
    d = len(x)
    steps = np.where(integer, np.maximum(1.0, np.round(JACOBIAN_STEP * (high - low))), JACOBIAN_STEP * (high - low))
    points, spans = [], []
    for j in range(d):
        up, down = x.copy(), x.copy()
        up[j] = min(x[j] + steps[j], high[j])
        down[j] = max(x[j] - steps[j], low[j])
        points += [up, down]
        spans.append(up[j] - down[j])
    evals = executor.map(evaluate_candidate, [problem] * len(points), points)
    jac = np.zeros((len(problem.specs), d))
    for j in range(d):
        up, down = evals[2 * j].mean, evals[2 * j + 1].mean
        jac[:, j] = (up - down) / spans[j] if spans[j] > 0 else 0.0
    return jac


def problem_tol(problem: Problem) -> np.ndarray:
    return (problem.tolerance_low + problem.tolerance_high) / 2.0


def identification_table(
    problem: Problem, jac: np.ndarray, low: np.ndarray, high: np.ndarray, target_names: list[str]
) -> pd.DataFrame:
    """Change of each target's z (gap in tolerance units) as a parameter crosses its range, linearised."""
    scaled = jac * (high - low)[None, :] / problem_tol(problem)[:, None]
    return pd.DataFrame(scaled, index=target_names, columns=list(problem.names))


def sandwich_se(problem: Problem, jac: np.ndarray, per_seed: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, float]:
    """Standard errors of the fitted parameters (see the module docs) and the condition number of G'WG.

    Computed in units of each parameter's search range (``span``), so parameters of very different scales
    (yuan per GWh next to fractions) do not make the matrix numerically singular; a direction the targets
    cannot see still comes out with a very large standard error.
    """
    tol = problem_tol(problem)
    g = jac * span[None, :]
    w = np.diag(problem.weights / tol**2)
    a = g.T @ w @ g
    data = np.diag((tol / 2.0) ** 2)
    n = per_seed.shape[0]
    filled = np.where(np.isfinite(per_seed), per_seed, seed_mean(per_seed)[None, :])  # undefined: no spread
    sim_cov = np.nan_to_num(np.cov(filled, rowvar=False)) / n if n > 1 else np.zeros_like(data)
    middle = g.T @ w @ (data + sim_cov) @ w @ g
    a_inv = np.linalg.pinv(a, rcond=1e-12, hermitian=True)
    cov = a_inv @ middle @ a_inv
    eig = np.linalg.eigvalsh(a)
    cond = float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")
    # a parameter no target sees at all (zero column) has no standard error, not a zero one
    blind = ~np.any(g != 0.0, axis=0)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) * span
    return np.where(blind, np.inf, se), cond


def _identification_label(halfwidth: float, span: float) -> str:
    share = halfwidth / span
    if np.isnan(share):
        return "not computed"
    if share < 0.15:
        return "well identified"
    if share < 0.5:
        return "weakly identified"
    return "not identified"


def parameter_table(result: CalibrationResult, se: np.ndarray) -> pd.DataFrame:
    """Every declared free parameter: group, hand-set, calibrated, bounds, and for fitted ones SE and 90%
    interval."""
    setup = result.setup
    fitted = result.fitted_values
    se_by_name = dict(zip(setup.problem.names, se, strict=True))
    rows = []
    for p in setup.free:
        value = fitted.get(p.name, getattr(setup.base, p.name))
        s = se_by_name.get(p.name, np.nan)
        finite = bool(np.isfinite(s))
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
                "low90": max(p.low, value - Z90 * s) if finite else (p.low if p.fit and s == np.inf else np.nan),
                "high90": min(p.high, value + Z90 * s) if finite else (p.high if p.fit and s == np.inf else np.nan),
                "identification": _identification_label(Z90 * s, p.high - p.low) if p.fit else "held",
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


def backtest(result: CalibrationResult, executor: Executor, fit: pd.DataFrame) -> Backtest:
    """Fit through the year before the last target year (the backtest budget), then score every target at
    those parameters on the scenarios' own replicate seeds, beside the full fit's figures (``fit``)."""
    from calibration.fit import fit_groups

    setup = result.setup
    b = setup.config.budget
    scored = setup.scored_targets
    last = max(t.spec.year for t in scored)
    through = last - 1
    started = time.perf_counter()
    if setup.config.through is not None and setup.config.through <= through:
        return Backtest(
            through,
            [],
            None,
            pd.DataFrame(),
            0.0,
            f"not run: the calibration itself was fitted through {setup.config.through} only",
        )
    groups, params = fit_groups(
        setup,
        executor,
        through=through,
        seeds=setup.seeds,
        popsize=b.backtest_popsize,
        maxiter=b.backtest_maxiter,
        tol=b.tol,
        tag=f"backtest{through}.",
        label="backtest",
    )
    jobs = []
    by = _by_scenario(scored)
    for name, idx in by.items():
        scenario = setup.scenarios[name]
        n = b.validation_replicates or scenario.replicates
        jobs.append(
            (scenario, params, np.random.SeedSequence(scenario.seed).spawn(n), tuple(scored[k].spec for k in idx))
        )
    means = dict(zip(by, _means(executor, jobs), strict=True))
    full = fit.set_index("target")
    rows = []
    for name, idx in by.items():
        for j, k in enumerate(idx):
            t = scored[k]
            value = float(means[name][j])
            f = full.loc[t.name]
            rows.append(
                {
                    "target": t.name,
                    "scenario": name,
                    "year": t.spec.year,
                    "in_backtest_fit": t.spec.year <= through,
                    "value": t.value,
                    "unit": t.unit,
                    "band_low": t.value - t.tolerance_low,
                    "band_high": t.value + t.tolerance_high,
                    "full_fit_mean": float(f.model_mean),
                    "full_fit_p05": float(f.model_p05),
                    "full_fit_p95": float(f.model_p95),
                    "full_fit_inside": bool(f.inside),
                    "backtest_mean": value,
                    "backtest_inside": t.inside(value),
                    "backtest_z": t.z(value),
                }
            )
    table = pd.DataFrame(rows).set_index("target").loc[[t.name for t in scored]].reset_index()
    return Backtest(through, groups, params, table, time.perf_counter() - started)


def backtest_parameters(a: Analysis) -> pd.DataFrame:
    """Fitted parameters at the full fit and at the backtest's, and their difference in share of the range."""
    bt = a.backtest
    if bt is None or bt.params is None:
        return pd.DataFrame(columns=["parameter", "full_fit", "backtest", "difference"])
    rows = []
    for r in a.parameters[a.parameters.fitted].itertuples():
        back = float(getattr(bt.params, r.parameter))
        rows.append(
            {
                "parameter": r.parameter,
                "full_fit": float(r.calibrated),
                "backtest": back,
                "difference": (back - float(r.calibrated)) / (r.high - r.low),
            }
        )
    return pd.DataFrame(rows)


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
        if analysis.backtest is not None and len(analysis.backtest.table):
            analysis.backtest.table.to_csv(tmp / "backtest.csv", index=False)
        analysis.convergence().to_csv(tmp / "convergence.csv", index=False)
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
    edge = r.band_high if r.model_mean > r.band_high else r.band_low
    side = "above" if r.model_mean > r.band_high else "below"
    return f"{_fmt(abs(r.model_mean - edge), r.unit)} {r.unit} {side} its band (z {r.z:+.2f})"


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
    z = a.fit.set_index("target").z
    weights = dict(zip([t.name for t in setup.used_targets], setup.problem.weights, strict=True))
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


def markdown(a: Analysis, parameter_file: Path | None, wall_time_s: float | None) -> str:
    """The report's text."""
    from calibration.fit import _relative

    res = a.result
    setup, c = res.setup, res.setup.config
    b = c.budget
    out: list[str] = []
    add = out.append
    fitted = a.fit[a.fit.fitted]
    add("# Calibration report\n")
    add(
        f"Written by `lithium-sim calibrate` on {res.finished} (code {code_version()}). Parameters: "
        f"`{_relative(parameter_file) if parameter_file else 'not written'}`; targets: `{_relative(c.targets)}`; "
        f"free parameters: `{_relative(c.free_parameters)}`; held values from `{_relative(c.base_parameters)}`; "
        f"scenarios `{_relative(c.scenario)}` (firms) and `{_relative(c.market_scenario)}` (market).\n"
    )
    add("## Summary\n")
    add(
        f"- **{int(fitted.inside.sum())} of {len(fitted)} fitted targets inside their band** in the validation "
        f"runs with the calibrated parameters ({a.validation_replicates} replicates, each scenario's own seeds)"
        + (f"; {int(a.fit.inside.sum())} of {len(a.fit)} of all scored targets" if len(a.fit) > len(fitted) else "")
        + f". With the hand-set parameters: {int(fitted.hand_set_inside.sum())} of {len(fitted)}."
    )
    add(
        f"- Objective {res.evaluation.energy:.4g} on the {len(setup.seeds)} calibration seeds (hand-set: "
        f"{a.hand_set_objective:.4g}); it is the weighted sum of squared gaps in tolerance units over "
        f"{len(setup.used_targets)} targets of total weight {setup.problem.weights.sum():g}."
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
        f"(`SeedSequence({setup.seeds[0].entropy}).spawn({len(setup.seeds)})`, the first replicates of the "
        f"default run), population {b.popsize} per parameter, tolerance {b.tol:g}, optimiser seed {c.de_seed}, "
        f"{res.evaluations} candidates in all."
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

    add("## Fit: each target against the model\n")
    add(
        f"The model's figure is the mean over the {a.validation_replicates} replicates of the scenario's run (as "
        "`lithium-sim run` computes it, with the calibrated parameters); P5-P95 is the range across replicates; "
        "*inside* means the mean lies in the target's band. *Out of sample* is the mean over "
        f"{a.out_of_sample} seeds the fit never saw. z is the gap in tolerance units (|z| <= 1 is inside). "
        "Targets of scenario `baseline_market` are marked [market].\n"
    )
    add("![fit](fit.png)\n")
    rows = []
    for r in a.fit.itertuples():
        name = r.target + (" [market]" if r.scenario != "baseline" else "") + ("" if r.fitted else " (not fitted)")
        rows.append(
            [
                name,
                str(r.year),
                f"{_fmt(r.value, r.unit)} {r.unit}",
                f"{_fmt(r.band_low, r.unit)} - {_fmt(r.band_high, r.unit)}",
                _fmt(r.model_mean, r.unit),
                f"{_fmt(r.model_p05, r.unit)} - {_fmt(r.model_p95, r.unit)}",
                "**yes**" if r.inside else "no",
                f"{r.z:+.2f}",
                _fmt(r.hand_set_mean, r.unit),
                _fmt(r.out_of_sample_mean, r.unit) + ("" if r.out_of_sample_inside else " (out)"),
                f"{r.weight:g}",
            ]
        )
    add(
        _table(
            [
                "target",
                "year",
                "value",
                "band",
                "model mean",
                "P5 - P95",
                "inside",
                "z",
                "hand-set mean",
                "out of sample",
                "weight",
            ],
            rows,
        )
    )
    add("")
    add("Targets kept on record but not fitted:\n")
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
        add("Every scored target's model mean lies inside its band.\n")
    else:
        add(
            f"{len(misses)} of {len(a.fit)} scored targets lie outside their band with the calibrated parameters. "
            "For each: by how much, what moves it (the fitted parameters with the largest effect across their "
            "range, from the Jacobian) and which fitted targets pull those parameters the other way, then the "
            "likely reason in model terms.\n"
        )
        for r in misses.itertuples():
            add(
                f"- **{r.target}** ({r.year}): model {_fmt(r.model_mean, r.unit)} against "
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
        bt = a.backtest
        scored_year = max(t.spec.year for t in setup.scored_targets)
        add(BACKTEST_HEADING.format(through=bt.through, scored=scored_year) + "\n")
        if bt.note:
            add(f"{bt.note}.\n")
        else:
            t = bt.table
            late = t[~t.in_backtest_fit]
            add(
                f"The calibration again, fitted only to the targets up to {bt.through} (population "
                f"{b.backtest_popsize} per parameter, at most {b.backtest_maxiter} generations per group, the same "
                f"seeds), then every target scored at its parameters on each scenario's own {a.validation_replicates}"
                f" replicates. The {scored_year} targets were not seen by that fit: **{int(late.backtest_inside.sum())}"
                f" of {len(late)} inside their band** (the full fit: {int(late.full_fit_inside.sum())} of "
                f"{len(late)}); of the targets it was fitted to, {int(t[t.in_backtest_fit].backtest_inside.sum())} of "
                f"{int(t.in_backtest_fit.sum())}. Groups: "
                + "; ".join(
                    f"`{g.group}` {g.note}"
                    if g.search is None
                    else f"`{g.group}` {g.search.generations} generations"
                    f"{', converged' if g.search.converged else ', not converged'}"
                    for g in bt.groups
                )
                + f"; {bt.wall_time_s:.0f} s.\n"
            )
            add("![backtest](backtest.png)\n")
            rows = []
            for r in t.itertuples():
                rows.append(
                    [
                        r.target + (" [market]" if r.scenario != "baseline" else ""),
                        str(r.year),
                        f"{_fmt(r.value, r.unit)} {r.unit}",
                        f"{_fmt(r.band_low, r.unit)} - {_fmt(r.band_high, r.unit)}",
                        _fmt(r.full_fit_mean, r.unit),
                        f"{_fmt(r.full_fit_p05, r.unit)} - {_fmt(r.full_fit_p95, r.unit)}",
                        _fmt(r.backtest_mean, r.unit),
                        "**yes**" if r.backtest_inside else "no",
                        f"{r.backtest_z:+.2f}",
                        "yes" if r.in_backtest_fit else "**no (scored only)**",
                    ]
                )
            add(
                _table(
                    [
                        "target",
                        "year",
                        "data",
                        "band",
                        "model mean (full fit)",
                        "P5 - P95 (full fit)",
                        f"model mean (fit through {bt.through})",
                        "inside",
                        "z",
                        f"in the {bt.through} fit",
                    ],
                    rows,
                )
            )
            out_late = late[~late.backtest_inside]
            moved = backtest_parameters(a)
            if len(moved):
                add("\nThe parameters of the two fits (differences in share of the search range):\n")
                add(
                    _table(
                        ["parameter", "full fit", f"fit through {bt.through}", "difference"],
                        [
                            [r.parameter, _param(r.full_fit), _param(r.backtest), f"{r.difference:+.2f}"]
                            for r in moved.itertuples()
                        ],
                    )
                )
            if len(out_late):
                far = moved[moved.difference.abs() >= 0.2]
                add(
                    f"\nThe fit through {bt.through} misses "
                    + ", ".join(f"`{r.target}` (z {r.backtest_z:+.1f})" for r in out_late.itertuples())
                    + f" in {scored_year}."
                    + (
                        " The parameters it sets far from the full fit (a fifth of their range or more: "
                        + ", ".join(f"`{r.parameter}`" for r in far.itertuples())
                        + f") are those the {scored_year} targets pin down and the earlier years hardly see; "
                        "the other misses are those of the full fit (above)."
                        if len(far)
                        else " Its parameters are close to the full fit's: the misses are those of the full fit "
                        "(above)."
                    )
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
                r.identification + (" (at a bound)" if r.at_bound else ""),
            ]
        )
    add(
        _table(["parameter", "group", "unit", "hand-set", "calibrated", "bounds", "SE", "90% interval", "status"], rows)
    )
    if np.isfinite(a.condition_number):
        add(
            f"\nCondition number of G'WG: {a.condition_number:.3g} (large values mean some combination of "
            "parameters is hardly pinned down)."
        )
    add(
        "\nMethod: V = A^+ G'W (D + S/n) W G A^+ with A = G'WG, G the Jacobian below (moment units), W = "
        "diag(weight/tolerance^2), D = diag((tolerance/2)^2) reading each tolerance as about two standard "
        "deviations of the data's error, and S/n the covariance of the mean moments over the n calibration seeds "
        "at the optimum. 'Well identified': the 90% half-width is under 15% of the search range; 'weakly': under "
        "half; otherwise 'not identified'.\n"
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
            f"Pseudo-targets generated by the model at known values of {len(rec.names)} parameters (the others "
            f"held), on {rec.seeds} of the calibration seeds, then calibrated back against their group's targets "
            f"with the same objective and optimiser ({rec.search.generations} generations, population "
            f"{len(rec.search.population)}), not told the truth. Accepted error: {rec.tolerance:.0%} of the search "
            f"range. **{'Recovered' if rec.passed else 'Not recovered'}**; objective at the estimate "
            f"{rec.objective:.3g} (zero at the truth).\n"
        )
        add("![recovery](recovery.png)\n")
        add(
            _table(
                ["parameter", "truth", "estimate", "bounds", "error (share of range)", "within tolerance"],
                [
                    [
                        r["parameter"],
                        _param(r["truth"]),
                        _param(r["estimate"]),
                        f"{_param(r['low'])} - {_param(r['high'])}",
                        f"{r['error_share_of_range']:.3f}",
                        "yes" if r["within_tolerance"] else "no",
                    ]
                    for r in rec.rows()
                ],
            )
        )
        add("")

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
