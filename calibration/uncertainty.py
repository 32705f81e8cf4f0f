"""How sure a fit is of its parameters: the Jacobian of the mean moments, the sandwich covariance of the
minimum-distance estimator and the 90% intervals it gives, and the label a parameter earns from them. Used by the
fit report (`calibration.report`) and by the recovery check (`calibration.recovery`), which tests these very
intervals against known truths.

The covariance is V = A^+ G'W (D + (1 + 1/n) S) W G A^+ with A = G'WG, G the Jacobian of the mean moments (moment
units per parameter unit), W = diag(weight / tolerance^2), D = diag((tolerance/2)^2) (a tolerance read as about
two standard deviations of the data's error) and S the covariance of one replicate's moments at the estimate:
the data are one realisation of the world (S), the model's figure a mean over the n calibration seeds (S/n).
Intervals are +-1.645 standard errors, clipped to the search bounds.
"""

from __future__ import annotations

import numpy as np

from calibration.objective import Problem, evaluate_candidate, seed_mean
from sim.api import Executor

JACOBIAN_STEP = 0.05  # central-difference step, fraction of the search range (whole numbers: at least 1)
Z90 = 1.6448536269514722  # two-sided 90% normal quantile
# a parameter's 90% interval, clipped to its search bounds, as a share of the search range:
WELL_IDENTIFIED = 0.3  # below this: well identified
NOT_IDENTIFIED = 0.9  # at or above this (it covers nearly the whole range): not identified


def jacobian_points(x: np.ndarray, low: np.ndarray, high: np.ndarray, integer: np.ndarray) -> list[np.ndarray]:
    """The points of the central differences around ``x``: up and down for each parameter (one-sided at a
    bound)."""
    steps = np.where(integer, np.maximum(1.0, np.round(JACOBIAN_STEP * (high - low))), JACOBIAN_STEP * (high - low))
    points = []
    for j in range(len(x)):
        up, down = x.copy(), x.copy()
        up[j] = min(x[j] + steps[j], high[j])
        down[j] = max(x[j] - steps[j], low[j])
        points += [up, down]
    return points


def jacobian_from(points: list[np.ndarray], means: list[np.ndarray]) -> np.ndarray:
    """d(mean moment)/d(parameter) from the mean moments at `jacobian_points`."""
    d = len(points) // 2
    jac = np.zeros((len(means[0]), d))
    for j in range(d):
        span = points[2 * j][j] - points[2 * j + 1][j]
        jac[:, j] = (means[2 * j] - means[2 * j + 1]) / span if span > 0 else 0.0
    return jac


def jacobian(
    problem: Problem, low: np.ndarray, high: np.ndarray, integer: np.ndarray, x: np.ndarray, executor: Executor
) -> np.ndarray:
    """d(mean moment)/d(parameter) at ``x`` by central differences on the common seeds (one-sided at a
    bound)."""
    points = jacobian_points(np.asarray(x, dtype=float), low, high, integer)
    evals = executor.map(evaluate_candidate, [problem] * len(points), points)
    return jacobian_from(points, [e.mean for e in evals])


def problem_tol(problem: Problem) -> np.ndarray:
    """Each target's tolerance, the mean of its two sides."""
    return (problem.tolerance_low + problem.tolerance_high) / 2.0


def sandwich_se(problem: Problem, jac: np.ndarray, per_seed: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, float]:
    """Standard errors of the fitted parameters (see the module docs) and the condition number of G'WG.

    Computed in units of each parameter's search range (``span``), so parameters of very different scales
    (yuan per GWh next to fractions) do not make the matrix numerically singular; a direction the targets
    cannot see still comes out with a very large standard error. Targets of weight zero do not count.
    """
    tol = problem_tol(problem)
    g = jac * span[None, :]
    w = np.diag(problem.weights / tol**2)
    a = g.T @ w @ g
    data = np.diag((tol / 2.0) ** 2)
    n = per_seed.shape[0]
    filled = np.where(np.isfinite(per_seed), per_seed, seed_mean(per_seed)[None, :])  # undefined: no spread
    replicate_cov = np.nan_to_num(np.cov(filled, rowvar=False)) if n > 1 else np.zeros_like(data)
    middle = g.T @ w @ (data + (1.0 + 1.0 / n) * np.atleast_2d(replicate_cov)) @ w @ g
    a_inv = np.linalg.pinv(a, rcond=1e-12, hermitian=True)
    cov = a_inv @ middle @ a_inv
    eig = np.linalg.eigvalsh(a)
    cond = float(eig.max() / eig.min()) if eig.min() > 0 else float("inf")
    # a parameter no target sees at all (zero column) has no standard error, not a zero one
    blind = ~np.any(g != 0.0, axis=0)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) * span
    return np.where(blind, np.inf, se), cond


def interval90(value: np.ndarray, se: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 90% interval value +- 1.645 SE, clipped to the bounds (the whole range where SE is infinite)."""
    value, se = np.asarray(value, dtype=float), np.asarray(se, dtype=float)
    finite = np.isfinite(se)
    lo = np.where(finite, np.maximum(low, value - Z90 * np.where(finite, se, 0.0)), low)
    hi = np.where(finite, np.minimum(high, value + Z90 * np.where(finite, se, 0.0)), high)
    return lo, hi


def identification_label(width_share: float) -> str:
    """What a 90% interval covering ``width_share`` of the search range says about the parameter."""
    if not np.isfinite(width_share):
        return "not computed"
    if width_share < WELL_IDENTIFIED:
        return "well identified"
    if width_share < NOT_IDENTIFIED:
        return "weakly identified"
    return "not identified"
