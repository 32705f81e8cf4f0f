"""The fit report: how well the calibrated model meets each target, how sure the parameters are, which
targets pin down which parameter, how the headline outcomes depend on the free parameters, and whether the
procedure recovers known parameters.

`analyse` computes everything (on the calibration's executor); `write_report` writes ``REPORT.md`` and PNG
charts to the report directory atomically (built beside it, then renamed into place).

Methods:

- **Fit**: the scenario run as ``lithium-sim run`` runs it by default, with the calibrated parameters, on the
  scenario's own replicate seeds (`sim.runs.runner.simulate` and `sim.outputs.results.collect`): mean, P5-P95
  band, inside the target's band or not. The same for the hand-set parameters, and for seeds the fit never saw
  (out of sample: ``SeedSequence(seed).spawn(n + m)[n:]``).
- **Identification**: the Jacobian G of the mean moments with respect to the fitted parameters at the
  optimum, by central differences on the common seeds. Shown as the change of each target's z (gap in
  tolerance units) when a parameter moves across its whole search range, linearised.
- **Uncertainty**: the sandwich covariance of a minimum-distance estimator, V = A^+ G'W (D + S/n) W G A^+
  with A = G'WG, W = diag(weight / tolerance^2), D = diag((tolerance/2)^2) (a tolerance read as about two
  standard deviations of the data's error) and S/n the simulation noise of the mean over n seeds (from the
  replicates at the optimum). It is the curvature of the objective (Gauss-Newton) turned into standard
  errors. Intervals are +-1.645 SE, clipped to the bounds.
- **Sensitivity**: SALib Morris elementary effects (or Sobol indices) of the targets and of headline
  outcomes in the scenario's last year against every declared free parameter (held ones included) over
  their whole bounds (a global analysis: it does not depend on the calibrated values of those parameters;
  parameters not declared free keep their values).
- **Recovery**: `calibration.recovery`.
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

from calibration.moments import MomentSpec, fresh_seed
from calibration.objective import Problem, evaluate_candidate
from calibration.parallel import Executor
from calibration.recovery import QUICK_RECOVERY, RECOVERY_TRUTH, RecoveryResult, recover
from sim.inputs.params import ModelParams
from sim.inputs.scenario import Scenario
from sim.runs.runner import code_version, simulate, write_directory

if TYPE_CHECKING:
    from calibration.fit import CalibrationResult

JACOBIAN_STEP = 0.05  # central-difference step, fraction of the search range (whole numbers: at least 1)
Z90 = 1.6448536269514722  # two-sided 90% normal quantile
AT_BOUND = 0.02  # a fitted value within this fraction of the range from a bound is reported as at the bound
HEADLINE = (
    ("output_value", "suining", "all"),
    ("value_added_real", "suining", "all"),
    ("national_share", "suining", "lithium_salt"),
    ("national_share", "suining", "lfp_cathode"),
)


# ---------------------------------------------------------------------------------------------------------
# validation runs: the real `run` path
# ---------------------------------------------------------------------------------------------------------
def replicate_figures(
    scenario: Scenario, params: ModelParams, seed: np.random.SeedSequence, specs: tuple[MomentSpec, ...]
) -> np.ndarray:
    """One replicate as `lithium-sim run` computes it (`simulate`, i.e. `collect`), reduced to ``specs``."""
    summary = simulate(scenario, params, fresh_seed(seed)).summary
    index = summary.set_index(["year", "region", "segment", "metric"])["value"]
    out = np.full(len(specs), np.nan)
    for k, s in enumerate(specs):
        key = (s.year, s.region, s.segment, s.metric)
        if key in index.index:
            out[k] = float(index.loc[key])
    return out


def _figures(
    executor: Executor,
    scenario: Scenario,
    params: ModelParams,
    seeds: list[np.random.SeedSequence],
    specs: tuple[MomentSpec, ...],
) -> np.ndarray:
    n = len(seeds)
    return np.array(executor.map(replicate_figures, [scenario] * n, [params] * n, seeds, [specs] * n))


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
    jacobian: np.ndarray | None = None  # (targets, fitted parameters), moment units per parameter unit
    identification: pd.DataFrame | None = None  # z change across each parameter's range
    sensitivity: pd.DataFrame | None = None  # long: output, parameter, index, value, conf
    sensitivity_method: str = "none"
    sensitivity_evaluations: int = 0
    recovery: RecoveryResult | None = None
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

    def uncertainty_table(self) -> dict[str, dict[str, float]]:
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


def analyse(result: CalibrationResult, executor: Executor) -> Analysis:
    """Validation, identification, uncertainty, sensitivity and recovery for a calibration result."""
    setup = result.setup
    budget = setup.config.budget
    timings: dict[str, float] = {}

    t = time.perf_counter()
    fit, unused, n_val, n_oos = _validate(result, executor)
    timings["fit table (validation runs)"] = time.perf_counter() - t

    jac = ident = None
    cond = float("nan")
    se = np.full(len(setup.problem.names), np.nan)
    if budget.jacobian:
        t = time.perf_counter()
        jac = jacobian(setup.problem, setup.space.low, setup.space.high, setup.space.integer, result.x, executor)
        ident = identification_table(
            setup.problem, jac, setup.space.low, setup.space.high, [t.name for t in setup.used_targets]
        )
        se, cond = sandwich_se(setup.problem, jac, result.evaluation.moments, setup.space.high - setup.space.low)
        timings["identification and uncertainty (Jacobian)"] = time.perf_counter() - t
    parameters = parameter_table(result, se)

    analysis = Analysis(
        result,
        fit,
        unused,
        parameters,
        jac,
        ident,
        timings=timings,
        validation_replicates=n_val,
        out_of_sample=n_oos,
        condition_number=cond,
        hand_set_objective=hand_set_objective(result, executor),
    )
    if budget.sensitivity != "none":
        t = time.perf_counter()
        analysis.sensitivity, analysis.sensitivity_evaluations = sensitivity(result, executor)
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
    return analysis


def _validate(result: CalibrationResult, executor: Executor) -> tuple[pd.DataFrame, pd.DataFrame, int, int]:
    setup = result.setup
    budget = setup.config.budget
    scenario = setup.scenario
    used = setup.used_targets
    specs = tuple(t.spec for t in used)
    n = budget.validation_replicates or scenario.replicates
    run_seeds = np.random.SeedSequence(scenario.seed).spawn(n + budget.out_of_sample)
    calibrated = _figures(executor, scenario, result.params, run_seeds[:n], specs)
    hand_set = _figures(executor, scenario, setup.base, run_seeds[:n], specs)
    oos = (
        _figures(executor, scenario, result.params, run_seeds[n:], specs)
        if budget.out_of_sample
        else np.full((1, len(specs)), np.nan)
    )
    in_sample = result.evaluation.moments.mean(axis=0)
    rows = []
    for k, tgt in enumerate(used):
        mean = float(np.mean(calibrated[:, k]))
        oos_mean = float(np.mean(oos[:, k]))
        rows.append(
            {
                "target": tgt.name,
                "label": tgt.spec.label,
                "year": tgt.spec.year,
                "value": tgt.value,
                "unit": tgt.unit,
                "band_low": tgt.value - tgt.tolerance_low,
                "band_high": tgt.value + tgt.tolerance_high,
                "weight": tgt.weight,
                "model_mean": mean,
                "model_p05": float(np.percentile(calibrated[:, k], 5)),
                "model_p95": float(np.percentile(calibrated[:, k], 95)),
                "z": tgt.z(mean),
                "inside": tgt.inside(mean),
                "hand_set_mean": float(np.mean(hand_set[:, k])),
                "hand_set_inside": tgt.inside(float(np.mean(hand_set[:, k]))),
                "out_of_sample_mean": oos_mean,
                "out_of_sample_inside": tgt.inside(oos_mean) if budget.out_of_sample else False,
                "calibration_seeds_mean": float(in_sample[k]),
                "source": tgt.source,
            }
        )
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
    return pd.DataFrame(rows), unused, n, budget.out_of_sample


def jacobian(
    problem: Problem,
    low: np.ndarray,
    high: np.ndarray,
    integer: np.ndarray,
    x: np.ndarray,
    executor: Executor,
) -> np.ndarray:
    """d(mean moment)/d(parameter) at ``x`` by central differences on the common seeds (one-sided at a "
    "bound)."""
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


def identification_table(
    problem: Problem, jac: np.ndarray, low: np.ndarray, high: np.ndarray, target_names: list[str]
) -> pd.DataFrame:
    """Change of each target's z (gap in tolerance units) as a parameter crosses its range, linearised."""
    tol = (problem.tolerance_low + problem.tolerance_high) / 2.0
    scaled = jac * (high - low)[None, :] / tol[:, None]
    return pd.DataFrame(scaled, index=target_names, columns=list(problem.names))


def sandwich_se(problem: Problem, jac: np.ndarray, per_seed: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, float]:
    """Standard errors of the fitted parameters (see the module docs) and the condition number of G'WG.

    Computed in units of each parameter's search range (``span``), so parameters of very different scales
    (yuan per GWh next to fractions) do not make the matrix numerically singular; a direction the targets
    cannot see still comes out with a very large standard error.
    """
    tol = (problem.tolerance_low + problem.tolerance_high) / 2.0
    g = jac * span[None, :]
    w = np.diag(problem.weights / tol**2)
    a = g.T @ w @ g
    data = np.diag((tol / 2.0) ** 2)
    n = per_seed.shape[0]
    sim_cov = np.cov(per_seed, rowvar=False) / n if n > 1 else np.zeros_like(data)
    middle = g.T @ w @ (data + sim_cov) @ w @ g
    a_inv = np.linalg.pinv(a, rcond=1e-12, hermitian=True)
    cov = a_inv @ middle @ a_inv
    eig = np.linalg.eigvalsh(a)
    cond = float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")
    return np.sqrt(np.clip(np.diag(cov), 0.0, None)) * span, cond


def _identification_label(halfwidth: float, span: float) -> str:
    share = halfwidth / span
    if not np.isfinite(share):
        return "not computed"
    if share < 0.15:
        return "well identified"
    if share < 0.5:
        return "weakly identified"
    return "not identified"


def parameter_table(result: CalibrationResult, se: np.ndarray) -> pd.DataFrame:
    """Every declared free parameter: hand-set, calibrated, bounds, and for fitted ones SE and 90% "
    "interval."""
    setup = result.setup
    fitted = result.fitted_values
    se_by_name = dict(zip(setup.problem.names, se, strict=True))
    rows = []
    for p in setup.free:
        value = fitted.get(p.name, getattr(setup.base, p.name))
        s = se_by_name.get(p.name, np.nan)
        low90 = max(p.low, value - Z90 * s) if np.isfinite(s) else np.nan
        high90 = min(p.high, value + Z90 * s) if np.isfinite(s) else np.nan
        rows.append(
            {
                "parameter": p.name,
                "unit": p.unit,
                "fitted": p.fit,
                "hand_set": getattr(setup.base, p.name),
                "calibrated": value,
                "low": p.low,
                "high": p.high,
                "se": s,
                "low90": low90,
                "high90": high90,
                "identification": _identification_label(Z90 * s, p.high - p.low) if p.fit else "held",
                "at_bound": bool(p.fit and min(value - p.low, p.high - value) <= AT_BOUND * (p.high - p.low)),
                "identified_by_prior": p.identified_by,
            }
        )
    return pd.DataFrame(rows)


def headline_specs(scenario: Scenario) -> tuple[MomentSpec, ...]:
    """Headline outcomes in the scenario's last year."""
    last = scenario.years[-1] if scenario.n_months % 12 == 0 else scenario.years[-2]
    return tuple(MomentSpec(m, r, s, last) for m, r, s in HEADLINE)


def sensitivity(result: CalibrationResult, executor: Executor) -> tuple[pd.DataFrame, int]:
    """SALib Morris (or Sobol) indices of targets and headline outcomes against all declared free parameters.

    Targets' indices are in tolerance units; headline outcomes' in percent of their mean. Returns the long
    table (output, kind, parameter, index, value, conf) and the number of model evaluations (points x seeds).
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
    used = setup.used_targets
    specs = tuple(t.spec for t in used) + headline_specs(setup.scenario)
    labels = [t.name for t in used] + [f"{s.region}_{s.segment}_{s.metric}_{s.year}" for s in specs[len(used) :]]
    problem = setup.problem.with_free(result.params, names, tuple(p.integer for p in free)).with_specs(
        specs, seeds=setup.problem.seeds[: budget.sensitivity_seeds]
    )
    seed = setup.config.de_seed
    if budget.sensitivity == "morris":
        x = morris_sample.sample(salib_problem, budget.morris_trajectories, num_levels=4, seed=seed)
    else:
        x = sobol_sample.sample(salib_problem, budget.sobol_samples, calc_second_order=False, seed=seed)
    evals = executor.map(evaluate_candidate, [problem] * len(x), list(x))
    y = np.array([e.mean for e in evals])
    failed = int((~np.isfinite(y)).any(axis=1).sum())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # an all-nan column stays nan
        y = np.where(np.isfinite(y), y, np.nanmean(y, axis=0))  # a failed point takes the column mean
    tol = np.concatenate([(problem_tol(setup.problem)), np.full(len(specs) - len(used), np.nan)])
    rows = []
    for k, label in enumerate(labels):
        scale = tol[k] if k < len(used) else max(abs(float(np.mean(y[:, k]))), 1e-12) / 100.0
        kind = "target (tolerance units)" if k < len(used) else "headline (% of mean)"
        yk = y[:, k] / scale
        with warnings.catch_warnings():
            # SALib divides by a zero variance when an output does not move at all; the index is then nan
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            if budget.sensitivity == "morris":
                res = morris_analyze.analyze(salib_problem, x, yk, num_levels=4, seed=seed)
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
    return table, len(x) * len(problem.seeds)


def problem_tol(problem: Problem) -> np.ndarray:
    return (problem.tolerance_low + problem.tolerance_high) / 2.0


# ---------------------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------------------
def write_report(
    analysis: Analysis,
    report_dir: Path,
    *,
    parameter_file: Path | None = None,
    wall_time_s: float | None = None,
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
        if analysis.recovery is not None:
            pd.DataFrame(analysis.recovery.rows()).to_csv(tmp / "recovery.csv", index=False)
        (tmp / "REPORT.md").write_text(markdown(analysis, parameter_file, wall_time_s), encoding="utf-8")

    # an earlier report is replaced if it holds only what a report holds (anything else is never deleted)
    return write_directory(report_dir, fill, ("REPORT.md",), owned=("REPORT.md", "*.csv", "*.png"))


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
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.4g}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(a: Analysis, parameter_file: Path | None, wall_time_s: float | None) -> str:
    """The report's text."""
    from calibration.fit import _relative

    res = a.result
    setup, c, s = res.setup, res.setup.config, res.search
    b = c.budget
    out: list[str] = []
    add = out.append
    inside = int(a.fit.inside.sum())
    inside_2023 = a.fit[a.fit.year == 2023]
    add("# Calibration report\n")
    add(
        f"Written by `lithium-sim calibrate` on {res.finished} (code {code_version()}). Parameters: "
        f"`{_relative(parameter_file) if parameter_file else 'not written'}`; targets: "
        f"`{_relative(c.targets)}`; free parameters: `{_relative(c.free_parameters)}`; held values from "
        f"`{_relative(c.base_parameters)}`; scenario `{_relative(c.scenario)}`.\n"
    )
    add("## Summary\n")
    add(
        f"- **{inside} of {len(a.fit)} used targets inside their band** in the baseline run with the "
        f"calibrated parameters ({a.validation_replicates} replicates, the scenario's own seeds); "
        f"{int(inside_2023.inside.sum())} of {len(inside_2023)} of the 2023 targets. With the hand-set "
        f"parameters: {int(a.fit.hand_set_inside.sum())} of {len(a.fit)}."
    )
    add(
        f"- Objective {res.evaluation.energy:.4g} on the {len(setup.seeds)} calibration seeds (hand-set: "
        f"{a.hand_set_objective:.4g}); the objective is the weighted sum of squared gaps in tolerance "
        f"units, so a value below the sum of weights ({setup.problem.weights.sum():g}) means the targets "
        "are met on average."
    )
    add(
        f"- Budget `{b.name}`: differential evolution over {len(setup.problem.names)} parameters, "
        f"population {max(5, b.popsize * len(setup.problem.names))}, {s.generations} of at most {b.maxiter} "
        f"generations{' (converged)' if s.converged else ''}, "
        f"{s.history[-1][2] if s.history else s.evaluations} candidates x {len(setup.seeds)} seeds; "
        f"optimiser seed {c.de_seed}; replicate seeds "
        f"`SeedSequence({setup.seeds[0].entropy}).spawn({len(setup.seeds)})` (the scenario's master seed: "
        "the calibration seeds are the first replicates of the default run)."
        + (f" Resumed from a checkpoint at generation {s.resumed_from}." if s.resumed_from is not None else "")
    )
    bound = a.parameters[a.parameters.at_bound]
    if len(bound):
        sides = ", ".join(
            f"`{r.parameter}` ({'low' if r.calibrated - r.low < r.high - r.calibrated else 'high'})"
            for r in bound.itertuples()
        )
        add(
            f"- **At a bound of the search**: {sides}. The targets pull these parameters to the edge of "
            "their prior range: either the prior range is too narrow or the model misses something those "
            "targets measure; read their intervals as one-sided."
        )
    timing = "; ".join(f"{k} {v:.0f} s" for k, v in a.timings.items())
    add(
        f"- Wall time: search {res.wall_time_s:.0f} s; {timing}"
        + (f"; **total {wall_time_s:.0f} s**" if wall_time_s is not None else "")
        + ".\n"
    )

    add("## Fit: each target against the model\n")
    add(
        f"The model's figure is the mean over the baseline run's {a.validation_replicates} replicates, as "
        "`lithium-sim run scenarios/baseline.toml` computes it with the calibrated parameters; the band is "
        "the P5-P95 range across replicates; *inside* means the mean lies in the target's tolerance band. "
        f"*Out of sample* is the mean over {a.out_of_sample} seeds the fit never saw. z is the gap in "
        "tolerance units (|z| <= 1 is inside).\n"
    )
    add("![fit](fit.png)\n")
    rows = []
    for r in a.fit.itertuples():
        rows.append(
            [
                r.target,
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
    add(
        "\nApproximations: Suining's 2023 *revenue* (营业收入) is compared with the model's gross output "
        "value (产值) of its three segments; the national *carbonate* utilisation is compared with the "
        "model's lithium salt segment (carbonate and hydroxide together in LCE, output over the capacity "
        "available in the year); shares of the national *market* are compared with shares of national "
        "output. Each target's note in `targets.toml` gives the reasoning behind its tolerance.\n"
    )

    add("## Parameters, with uncertainty\n")
    add(
        "Fitted parameters with the standard error from the curvature of the objective (Gauss-Newton "
        "sandwich; see the method note below) and a 90% interval clipped to the search bounds; held "
        "parameters keep the hand-set value and are listed because the sensitivity analysis covers them.\n"
    )
    add("![parameters](parameters.png)\n")
    rows = []
    for r in a.parameters.itertuples():
        rows.append(
            [
                r.parameter,
                r.unit,
                _param(r.hand_set),
                f"**{_param(r.calibrated)}**" if r.fitted else _param(r.calibrated),
                f"{_param(r.low)} - {_param(r.high)}",
                _param(r.se),
                f"{_param(r.low90)} - {_param(r.high90)}" if r.fitted else "",
                r.identification + (" (at a bound)" if r.at_bound else ""),
            ]
        )
    add(_table(["parameter", "unit", "hand-set", "calibrated", "bounds", "SE", "90% interval", "status"], rows))
    if np.isfinite(a.condition_number):
        add(
            f"\nCondition number of G'WG: {a.condition_number:.3g} (large values mean some combination of "
            "parameters is hardly pinned down)."
        )
    add(
        "\nMethod: V = A^+ G'W (D + S/n) W G A^+ with A = G'WG, G the Jacobian below (moment units), W = "
        "diag(weight/tolerance^2), D = diag((tolerance/2)^2) reading each tolerance as about two standard "
        "deviations of the data's error, and S/n the covariance of the mean moments over the n calibration "
        "seeds at the optimum. 'Well identified': the 90% half-width is under 15% of the search range; "
        "'weakly': under half; otherwise 'not identified' (the targets cannot tell values apart).\n"
    )

    if a.identification is not None:
        add("## Identification: which targets pin down which parameter\n")
        add(
            "Each cell is the change of a target's z (its gap in tolerance units) when the parameter moves "
            "across its whole search range, from the Jacobian at the calibrated values (central "
            f"differences, step {JACOBIAN_STEP:.0%} of the range, on the calibration seeds). A column with "
            "only small numbers is a parameter the targets cannot see.\n"
        )
        add("![identification](identification.png)\n")
        rows = []
        ident = a.identification
        weights = setup.problem.weights
        for name in ident.columns:
            contrib = weights * ident[name].to_numpy() ** 2
            total = contrib.sum()
            order = np.argsort(contrib)[::-1][:3]
            top = ", ".join(
                f"{ident.index[i]} ({contrib[i] / total:.0%})"
                for i in order
                if total > 0 and contrib[i] / total >= 0.05
            )
            prior = a.parameters.set_index("parameter").loc[name, "identified_by_prior"]
            rows.append([name, top or "none", f"{np.sqrt(total):.2g}", prior])
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
            "Morris elementary effects: mu* is the mean absolute change of the output for a step of 2/3 of "
            "a parameter's range"
            if a.sensitivity_method == "morris"
            else "Sobol indices: S1 first order, ST total"
        )
        add(
            f"{method}, over every declared free parameter (held ones included) across its whole bounds "
            "(global: it does not depend on the calibrated values), with "
            f"{a.sensitivity_evaluations} model runs (points x "
            f"{setup.config.budget.sensitivity_seeds} seeds). Targets are in tolerance units; headline "
            "outcomes in the scenario's last year in percent of their mean.\n"
        )
        add("![sensitivity](sensitivity.png)\n")
        main = "mu_star" if a.sensitivity_method == "morris" else "ST"
        sens = a.sensitivity[a.sensitivity["index"] == main]
        pivot = sens.pivot(index="parameter", columns="output", values="value")
        heads = [c for c in pivot.columns if not c.startswith(tuple(t.name for t in setup.used_targets))]
        cols = heads + [t.name for t in setup.used_targets if t.name in pivot.columns]
        order = [p.name for p in setup.free]
        rows = [[p, *[f"{pivot.loc[p, col]:.2f}" for col in cols]] for p in order]
        add(_table(["parameter", *cols], rows))
        add("")

    if a.recovery is not None:
        rec = a.recovery
        add("## Parameter recovery\n")
        add(
            f"Pseudo-targets generated by the model at known values of {len(rec.names)} parameters (the "
            f"others held), on {rec.seeds} of the calibration seeds, then calibrated back with the same "
            f"objective and optimiser ({rec.search.generations} generations, population "
            f"{len(rec.search.population)}), not told the truth. Accepted error: {rec.tolerance:.0%} of the "
            f"search range. **{'Recovered' if rec.passed else 'Not recovered'}**; objective at the estimate "
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
    add(
        _table(
            ["generation", "best objective", "candidates evaluated"],
            [[str(g), f"{e:.4g}", str(n)] for g, e, n in s.history],
        )
    )
    add(f"\n*Generated {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}.*\n")
    return "\n".join(out)


def hand_set_objective(result: CalibrationResult, executor: Executor) -> float:
    """The objective at the hand-set values, on the calibration seeds."""
    setup = result.setup
    x = setup.space.clip(np.array([getattr(setup.base, n) for n in setup.problem.names]))
    return executor.map(evaluate_candidate, [setup.problem], [x])[0].energy
