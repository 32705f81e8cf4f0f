"""``lithium-sim compare``: gather runs (run directories or finished runs), check they can be compared, and
write the comparison directory atomically (`sim.outputs.compare` makes its tables, workbook and charts).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sim.inputs import files
from sim.inputs.catalogue import check as check_language
from sim.inputs.catalogue import say
from sim.inputs.data import default_data
from sim.inputs.errors import InputError
from sim.outputs.compare import (
    COMPARISON_COLUMNS,
    MAX_LABEL,
    Comparing,
    check_comparable,
    check_label,
    comparison_table,
    fill_comparison,
    read_replicates,
    read_summary,
    unique_labels,
)
from sim.runs.rundir import DirKind, claim, report, target_path

if TYPE_CHECKING:  # the runner (and the engine under it) is imported only by code that runs scenarios
    from sim.runs.runner import RunResult

MAX_META_BYTES = 64 * 1024 * 1024  # meta.json of a run (replicate seeds and failures' tracebacks included)


def _is_comparison(path: Path) -> bool:
    try:
        with open(path / "comparison.csv", "rb") as handle:
            return handle.readline().decode("utf-8", "replace").startswith(",".join(COMPARISON_COLUMNS[:5]))
    except OSError:
        return False


COMPARISON = DirKind(
    "comparison directory",
    _is_comparison,
    ("comparison.csv", "comparison.xlsx", "charts/*.png"),
    "a comparison.csv written by lithium-sim",
)


def load_run(run_dir: str | Path) -> tuple[str, pd.DataFrame]:
    """The scenario name (from ``meta.json``) and the checked ``summary.csv`` of a run directory.

    Raises:
        InputError: naming the file and what is wrong when ``run_dir`` is not a run directory.
    """
    name, summary, _ = load_run_with_meta(run_dir)
    return name, summary


def _is_result(run: Any) -> bool:
    """A finished run in memory (`sim.runs.runner.RunResult`), without importing the runner to ask."""
    runner = __import__("sys").modules.get("sim.runs.runner")
    return runner is not None and isinstance(run, runner.RunResult)


@contextlib.contextmanager
def chart_pool() -> Iterator[Executor | None]:
    """One worker process that draws charts beside this one (`sim.outputs.charts.draw_all`), warmed up at once
    (it imports matplotlib and loads the fonts while this process does other work); None on a single core or
    when the machine has no core to spare (load average above the cores less one).
    It dies with this process and leaves SIGINT to it, as the replicates' workers do."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if cores < 2 or busy > cores - 1:  # no core to spare: a second process would only add its own start-up
        yield None
        return
    from sim.outputs.charts import warm
    from sim.runs.executors import process_pool, stop_workers

    pool = process_pool(1)
    pool.submit(warm)
    try:
        yield pool
    except BaseException:
        stop_workers(pool)
        raise
    pool.shutdown(wait=True)


def load_run_with_meta(run_dir: str | Path) -> tuple[str, pd.DataFrame, dict]:
    """`load_run`, and the run's ``meta.json`` as a dict."""
    text = files.check_path_text(run_dir, what="the run directory")
    run_dir = Path(text)
    try:
        is_dir, exists = run_dir.is_dir(), run_dir.exists()
    except OSError as err:
        raise InputError(
            f"{files.describe_os_error(err)}; give run directories written by `lithium-sim run`", file=text
        ) from None
    if not is_dir:
        what = "does not exist" if not exists else "is not a directory"
        raise InputError(f"{what}; give run directories written by `lithium-sim run`", file=str(run_dir))
    for name in ("summary.csv", "meta.json"):
        if not (run_dir / name).is_file():
            raise InputError(
                f"is not a run directory: {name} is missing (a run directory written by `lithium-sim run` "
                "holds summary.csv, firms.csv, meta.json and charts/)",
                file=str(run_dir),
            )
    meta_file = run_dir / "meta.json"
    text_file = files.read_text(files.resolve(meta_file, what="meta.json"), what="meta.json", limit=MAX_META_BYTES)
    try:
        meta = json.loads(text_file.text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise InputError(f"is not valid JSON ({err})", file=str(meta_file)) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("scenario"), str) or not meta["scenario"]:
        raise InputError("must name the run's scenario (a non-empty string)", file=str(meta_file), key="scenario")
    check_label(meta["scenario"], str(meta_file), "scenario")
    return meta["scenario"], read_summary(files.resolve(run_dir / "summary.csv", what="summary.csv")), meta


def write_comparison(
    table: pd.DataFrame,
    out_dir: str | Path,
    lang: str = "en",
    *,
    force: bool = False,
    projects: dict[str, int] | None = None,
    context: Comparing | None = None,
    pool: Executor | None = None,
) -> Path:
    """Write ``comparison.csv``, ``comparison.xlsx`` and ``charts/`` into ``out_dir``, atomically.

    An earlier comparison there is replaced if it holds nothing else; with ``force`` a directory holding
    other files is moved aside (kept) rather than refused (see `sim.runs.rundir`).
    """
    check_language(lang)  # an unknown language fails before anything is written

    def fill(tmp: Path) -> None:
        fill_comparison(table, tmp, lang, default_data().city, projects, context, pool)

    with claim(out_dir, COMPARISON, force=force, option=None) as held:
        return held.write(fill)


def check_out_dir(out_dir: str | Path, run_dirs: Sequence[str | Path]) -> None:
    """The output directory must not be, or contain, a run being compared (it is replaced whole)."""
    out = target_path(out_dir, option=None)
    for run_dir in run_dirs:
        run = Path(os.path.realpath(files.check_path_text(run_dir, what="the run directory")))
        if run == out or out in run.parents:
            raise InputError(
                f"the output directory would replace the run directory {run_dir}; choose another --out",
                file=str(out_dir),
            )


def gather(runs: Sequence[RunResult | str | Path]) -> list[tuple[str, pd.DataFrame]]:
    """(label, summary) of each run: finished `RunResult` objects or run directories, in any mix.

    Labels are the scenario names, disambiguated by the directory name (or position) where they repeat.
    """
    return [(label, summary) for label, summary, _, _, _ in _gather(runs)]


def _gather(runs: Sequence[RunResult | str | Path]) -> list[tuple[str, pd.DataFrame, dict, str, pd.DataFrame | None]]:
    """(label, summary, meta, where it came from, per-replicate values or None) of each run."""
    names, summaries, sources, metas, origins, replicates = [], [], [], [], [], []
    for position, run in enumerate(runs, start=1):
        if _is_result(run):
            name, summary, meta, source = run.scenario.name, run.summary, run.meta, f"run {position}"
            check_label(name, source, None)
            origin = source
            per_replicate = run.replicate_table()
        else:
            (name, summary, meta), source = load_run_with_meta(run), Path(run).resolve().name
            source = "".join(c if c.isprintable() else "?" for c in source)[:MAX_LABEL]
            origin = str(run)
            kept = Path(run) / "replicates.csv"
            per_replicate = read_replicates(files.resolve(kept, what="replicates.csv")) if kept.is_file() else None
        names.append(name)
        summaries.append(summary)
        sources.append(source)
        metas.append(meta)
        origins.append(origin)
        replicates.append(per_replicate)
    return list(zip(unique_labels(names, sources), summaries, metas, origins, replicates, strict=True))


def compare(
    runs: Sequence[RunResult | str | Path],
    out_dir: str | Path | None = None,
    lang: str = "en",
    *,
    force: bool = False,
    allow_mixed: bool = False,
    pool: Executor | None | bool = None,
) -> pd.DataFrame:
    """Compare runs; write the comparison directory when ``out_dir`` is given; return the comparison table.

    Runs are compared like with like: the same years always; the same price mode, parameter file and history
    years unless ``allow_mixed``, and then every chart title and sheet says what is mixed. Runs with different
    replicate counts or seeds are compared with a warning on standard error.

    Args:
        runs: `RunResult` objects (in memory) or run directories written by `lithium-sim run`, in any mix;
            the first is the baseline.
        out_dir: the comparison directory to write (an earlier comparison there is replaced).
        lang: language of the workbook, the charts and the warnings, "en" or "zh".
        force: move an ``out_dir`` that holds other files aside (kept) instead of refusing.
        allow_mixed: compare runs of another price mode, parameter file or history than the baseline,
            labelled as mixed, instead of refusing.
        pool: draw charts in a worker process beside this one (True: start one, if there are two cores; an
            executor: use it; None: draw them here). Worker processes are spawned, so a script that asks for
            one runs its code under ``if __name__ == "__main__":``, as for ``workers`` (the command line does).

    Raises:
        InputError: a directory that is not a run directory, a bad summary, runs over different years or
            (without ``allow_mixed``) unlike runs, or an output directory that would replace a run or
            something that is not an earlier comparison. Nothing is written then.
    """
    runs = list(runs)
    if not runs:
        raise InputError("give at least one run to compare")
    check_language(lang)
    if out_dir is not None:
        check_out_dir(out_dir, [r for r in runs if not _is_result(r)])
    with chart_pool() if pool is True and out_dir is not None else contextlib.nullcontext(pool or None) as workers:
        gathered = _gather(runs)
        warnings, note = check_comparable([g[:4] for g in gathered], allow_mixed, lang)
        for warning in warnings:
            report(warning)
        if note:
            report(say(lang, "cli.mixed", what=note[lang]))
        base_seed = gathered[0][2].get("seed")
        table = comparison_table(
            [(label, summary) for label, summary, *_ in gathered],
            [g[4] for g in gathered],
            [g[2].get("seed") == base_seed for g in gathered],
        )
        if out_dir is not None:
            projects = {label: len(meta.get("policy", {}).get("projects", [])) for label, _, meta, *_ in gathered}
            context = Comparing({label: meta for label, _, meta, *_ in gathered}, note)
            write_comparison(table, out_dir, lang, force=force, projects=projects, context=context, pool=workers)
    # how readers name the scenarios, in each language (the command line's message says them)
    table.attrs["names"] = {
        language: Comparing({g[0]: g[2] for g in gathered}).names(language) for language in ("en", "zh")
    }
    return table
