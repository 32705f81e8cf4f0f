"""``lithium-sim compare``: gather runs (run directories or finished runs), check they can be compared, and
write the comparison directory atomically (`sim.outputs.compare` makes its tables, workbook and charts).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sim.inputs import files
from sim.inputs.data import default_data
from sim.inputs.errors import InputError
from sim.outputs.compare import (
    COMPARISON_COLUMNS,
    MAX_LABEL,
    check_comparable,
    check_label,
    comparison_table,
    fill_comparison,
    read_summary,
    unique_labels,
)
from sim.outputs.labels import check as check_language
from sim.runs.rundir import DirKind, claim, report, target_path
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
) -> Path:
    """Write ``comparison.csv``, ``comparison.xlsx`` and ``charts/`` into ``out_dir``, atomically.

    An earlier comparison there is replaced if it holds nothing else; with ``force`` a directory holding
    other files is moved aside (kept) rather than refused (see `sim.runs.rundir`).
    """
    check_language(lang)  # an unknown language fails before anything is written

    def fill(tmp: Path) -> None:
        fill_comparison(table, tmp, lang, default_data().city, projects)

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
    return [(label, summary) for label, summary, _, _ in _gather(runs)]


def _gather(runs: Sequence[RunResult | str | Path]) -> list[tuple[str, pd.DataFrame, dict, str]]:
    """(label, summary, meta, where it came from) of each run."""
    names, summaries, sources, metas, origins = [], [], [], [], []
    for position, run in enumerate(runs, start=1):
        if isinstance(run, RunResult):
            name, summary, meta, source = run.scenario.name, run.summary, run.meta, f"run {position}"
            check_label(name, source, None)
            origin = source
        else:
            (name, summary, meta), source = load_run_with_meta(run), Path(run).resolve().name
            source = "".join(c if c.isprintable() else "?" for c in source)[:MAX_LABEL]
            origin = str(run)
        names.append(name)
        summaries.append(summary)
        sources.append(source)
        metas.append(meta)
        origins.append(origin)
    return list(zip(unique_labels(names, sources), summaries, metas, origins, strict=True))


def compare(
    runs: Sequence[RunResult | str | Path],
    out_dir: str | Path | None = None,
    lang: str = "en",
    *,
    force: bool = False,
) -> pd.DataFrame:
    """Compare runs; write the comparison directory when ``out_dir`` is given; return the comparison table.

    Runs must cover the same years; runs with different replicate counts or seeds are compared with a
    warning on standard error.

    Args:
        runs: `RunResult` objects (in memory) or run directories written by `lithium-sim run`, in any mix;
            the first is the baseline.
        out_dir: the comparison directory to write (an earlier comparison there is replaced).
        lang: language of the workbook and charts, "en" or "zh".
        force: move an ``out_dir`` that holds other files aside (kept) instead of refusing.

    Raises:
        InputError: a directory that is not a run directory, a bad summary, runs over different years, or
            an output directory that would replace a run or something that is not an earlier comparison.
            Nothing is written then.
    """
    runs = list(runs)
    if not runs:
        raise InputError("give at least one run to compare")
    check_language(lang)
    if out_dir is not None:
        check_out_dir(out_dir, [r for r in runs if not isinstance(r, RunResult)])
    gathered = _gather(runs)
    for warning in check_comparable(gathered):
        report(warning)
    table = comparison_table([(label, summary) for label, summary, _, _ in gathered])
    if out_dir is not None:
        projects = {label: len(meta.get("policy", {}).get("projects", [])) for label, _, meta, _ in gathered}
        write_comparison(table, out_dir, lang, force=force, projects=projects)
    return table
