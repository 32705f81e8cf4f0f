"""Differential evolution over the free parameters, one generation at a time, with a checkpoint.

Each generation is one call of `scipy.optimize.differential_evolution` with ``maxiter=1``, the current
population as ``init``, ``polish=False``, ``updating="deferred"`` and a generator seeded from
``(de_seed, generation)``. The population's objective values are kept in a cache keyed by the candidate,
so a population handed back to scipy is never evaluated twice, and a run resumed from the checkpoint
(population, objective values, generation) continues exactly as the uninterrupted run would have: the same
candidates, the same result.

The population is evaluated through ``workers=`` (scipy's map-like hook): `Evaluator` looks candidates up
in the cache and sends the rest to the executor (this process, local workers or Dask), each candidate
on every common-random-number seed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import differential_evolution
from scipy.stats import qmc
from tqdm import tqdm

from calibration.objective import Evaluation, Problem, evaluate_candidate
from sim.api import Executor

CHECKPOINT_VERSION = 1
MUTATION = (0.5, 1.0)  # scipy's default dithering
RECOMBINATION = 0.7
# fewest members of a population: with a handful (3 parameters x 2) the population can collapse onto a poor point
# and meet the tolerance in a few generations (seen in the market group: objective 9.5 "converged" at generation 4)
MIN_POPULATION = 10


def population_size(popsize: int, parameters: int) -> int:
    """Members of the population: ``popsize`` per parameter, at least `MIN_POPULATION`."""
    return max(MIN_POPULATION, popsize * parameters)


@dataclass(frozen=True)
class SearchSpace:
    """Bounds and integrality of the free parameters, in the order of ``Problem.names``."""

    low: np.ndarray
    high: np.ndarray
    integer: np.ndarray

    def key(self, x: np.ndarray) -> tuple[float, ...]:
        """A cache key: the position in the box, rounded so scipy's rescaling round trip maps to one key."""
        unit = (np.asarray(x, dtype=float) - self.low) / (self.high - self.low)
        return tuple(np.round(unit, 9).tolist())

    def clip(self, x: np.ndarray) -> np.ndarray:
        x = np.clip(np.asarray(x, dtype=float), self.low, self.high)
        return np.where(self.integer, np.round(x), x)


class Evaluator:
    """Evaluates candidates on an executor, caching every evaluation; doubles as scipy's ``workers`` map.

    Args:
        problem: the calibration problem.
        space: its search space (for cache keys).
        executor: where evaluations run.
        progress: a callback told how many new evaluations finished.
    """

    def __init__(
        self,
        problem: Problem,
        space: SearchSpace,
        executor: Executor,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.problem = problem
        self.space = space
        self.executor = executor
        self.progress = progress
        self.cache: dict[tuple[float, ...], Evaluation] = {}
        self.energies: dict[tuple[float, ...], float] = {}  # also holds values restored from a checkpoint
        self.evaluations = 0

    def evaluate(self, xs: Iterable[np.ndarray]) -> list[float]:
        """Objective values of ``xs`` (new candidates are run on the executor, in one batch)."""
        xs = [np.asarray(x, dtype=float) for x in xs]
        keys = [self.space.key(x) for x in xs]
        todo: dict[tuple[float, ...], np.ndarray] = {}
        for k, x in zip(keys, xs, strict=True):
            if k not in self.energies and k not in todo:
                todo[k] = x
        if todo:
            results = self.executor.map(evaluate_candidate, [self.problem] * len(todo), list(todo.values()))
            for k, ev in zip(todo, results, strict=True):
                self.cache[k] = ev
                self.energies[k] = ev.energy
            self.evaluations += len(todo)
            if self.progress:
                self.progress(len(todo))
        return [self.energies[k] for k in keys]

    def __call__(self, func: Callable[[np.ndarray], float], iterable: Iterable[np.ndarray]) -> list[float]:
        """scipy's map-like ``workers``: ``func`` is the problem's objective, evaluated via the cache."""
        return self.evaluate(iterable)

    def lookup(self, x: np.ndarray) -> Evaluation | None:
        return self.cache.get(self.space.key(x))


@dataclass
class SearchResult:
    """The outcome of the differential-evolution search.

    Attributes:
        x: best free-parameter values found.
        energy: their objective.
        population: the final population (rows are candidates).
        energies: its objective values.
        generations: generations completed (0 = the initial population only).
        evaluations: candidates evaluated in this process's run (resumed ones excluded).
        converged: whether the population's objective values met the tolerance.
        history: (generation, best objective, evaluations so far) per generation.
        resumed_from: the generation a checkpoint supplied, or None.
        wall_time_s: time spent searching in this run.
    """

    x: np.ndarray
    energy: float
    population: np.ndarray
    energies: np.ndarray
    generations: int
    evaluations: int
    converged: bool
    history: list[tuple[int, float, int]] = field(default_factory=list)
    resumed_from: int | None = None
    wall_time_s: float = 0.0


def initial_population(space: SearchSpace, size: int, de_seed: int, start: np.ndarray | None) -> np.ndarray:
    """Latin hypercube over the box (seeded from ``(de_seed, 0)``); the first member is ``start`` if given."""
    d = len(space.low)
    unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng([de_seed, 0])).random(size)
    pop = space.low + unit * (space.high - space.low)
    if start is not None:
        pop[0] = start
    return np.array([space.clip(x) for x in pop])


def _converged(energies: np.ndarray, tol: float) -> bool:
    if not np.all(np.isfinite(energies)):
        return False
    return bool(np.std(energies) <= tol * abs(np.mean(energies)) + 1e-12)


def search(
    problem: Problem,
    space: SearchSpace,
    evaluator: Evaluator,
    *,
    popsize: int,
    maxiter: int,
    tol: float,
    de_seed: int,
    start: np.ndarray | None = None,
    checkpoint: Path | None = None,
    config: dict[str, Any] | None = None,
    resume: bool = True,
    on_generation: Callable[[int, float], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> SearchResult:
    """Minimise the problem's objective by differential evolution, checkpointing every generation.

    Args:
        problem: the calibration problem.
        space: bounds and integrality.
        evaluator: evaluates candidates (and caches them).
        popsize: population size per free parameter (scipy's ``popsize``); at least `MIN_POPULATION` in all.
        maxiter: generations after the initial population.
        tol: stop when std(objective) <= tol x |mean(objective)| over the population.
        de_seed: seeds the optimiser's own randomness (mutation, crossover, initial population).
        start: a candidate put in the initial population (the hand-set values).
        checkpoint: file for the optimiser state (None: no checkpoint).
        config: what must match for a checkpoint to be resumed (hashed into it).
        resume: resume from a matching checkpoint.
        on_generation: called with (generation, best objective) after each generation.
        log: called with one-line messages (resume, stop).
    """
    started = time.perf_counter()
    size = population_size(popsize, len(space.low))
    config_hash = _hash(config or {})
    state = read_checkpoint(checkpoint, config_hash) if (checkpoint and resume) else None
    history: list[tuple[int, float, int]] = []
    if state is not None:
        generation = int(state["generation"])
        population = np.array(state["population"], dtype=float)
        energies = np.array(state["energies"], dtype=float)
        history = [tuple(h) for h in state.get("history", [])]
        for x, e in zip(population, energies, strict=True):
            evaluator.energies[space.key(x)] = float(e)
        if log:
            log(f"resuming from {checkpoint} at generation {generation} of {maxiter}")
        resumed_from: int | None = generation
        earlier_evaluations = int(history[-1][2]) if history else 0
    else:
        generation = 0
        population = initial_population(space, size, de_seed, start)
        energies = np.array(evaluator.evaluate(population))
        history.append((0, float(energies.min()), evaluator.evaluations))
        resumed_from = None
        earlier_evaluations = 0
        if checkpoint:
            write_checkpoint(checkpoint, config, config_hash, generation, population, energies, history)
    if on_generation:
        on_generation(generation, float(energies.min()))

    converged = _converged(energies, tol)
    bounds = list(zip(space.low, space.high, strict=True))
    while generation < maxiter and not converged:
        generation += 1
        result = differential_evolution(
            problem,
            bounds,
            init=population,
            maxiter=1,
            polish=False,
            updating="deferred",
            workers=evaluator,
            rng=np.random.default_rng([de_seed, generation]),
            tol=0.0,
            atol=0.0,
            mutation=MUTATION,
            recombination=RECOMBINATION,
            integrality=space.integer if space.integer.any() else None,
        )
        population = np.asarray(result.population, dtype=float)
        energies = np.asarray(result.population_energies, dtype=float)
        history.append((generation, float(energies.min()), earlier_evaluations + evaluator.evaluations))
        converged = _converged(energies, tol)
        if checkpoint:
            write_checkpoint(
                checkpoint,
                config,
                config_hash,
                generation,
                population,
                energies,
                history,
                finished=converged or generation >= maxiter,
            )
        if on_generation:
            on_generation(generation, float(energies.min()))
    if converged and log:
        log(f"converged at generation {generation}: objective spread within {tol:g} of its mean")
    best = int(np.argmin(energies))
    return SearchResult(
        x=population[best].copy(),
        energy=float(energies[best]),
        population=population,
        energies=energies,
        generations=generation,
        evaluations=evaluator.evaluations,
        converged=converged,
        history=history,
        resumed_from=resumed_from,
        wall_time_s=time.perf_counter() - started,
    )


# ---------------------------------------------------------------------------------------------------------
# checkpoint
# ---------------------------------------------------------------------------------------------------------
def _hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def read_checkpoint(path: Path, config_hash: str) -> dict[str, Any] | None:
    """The checkpoint's state if it exists, is readable and was written for the same configuration."""
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if state.get("version") != CHECKPOINT_VERSION or state.get("config_hash") != config_hash:
        return None
    return state


def write_checkpoint(
    path: Path,
    config: dict[str, Any] | None,
    config_hash: str,
    generation: int,
    population: np.ndarray,
    energies: np.ndarray,
    history: list[tuple[int, float, int]],
    finished: bool = False,
) -> None:
    """Save the optimiser state atomically (temporary file, then rename)."""
    state = {
        "version": CHECKPOINT_VERSION,
        "config_hash": config_hash,
        "config": config,
        "generation": generation,
        "finished": finished,
        "population": population.tolist(),
        "energies": [float(e) if math.isfinite(e) else 1e300 for e in energies],
        "history": [list(h) for h in history],
    }
    atomic_write_text(path, json.dumps(state, default=str))


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file so that readers see either the old or the complete new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def progress_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """A progress bar on standard error (off when ``enabled`` is False)."""
    return tqdm(total=total, desc=desc, unit="cand", disable=not enabled, file=sys.stderr, dynamic_ncols=True)
