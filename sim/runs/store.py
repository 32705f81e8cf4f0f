"""The finished replicates of a run: part files on disk, summary values in memory.

When the run directory is known, the part files live beside it in ``.NAME.partial-KEY/`` (see
`sim.runs.rundir`), where KEY hashes the scenario, parameters, seed, replicate count and code version: an
interrupted run leaves them there, and a run with ``resume`` reuses the finished replicates. Such a
directory is resume material: it is deleted only once its replicates are in a saved run directory, or
when a run of the same KEY starts afresh (and says so).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.outputs.results import SUMMARY_COLUMNS, ReplicateResult, summarise
from sim.runs.rundir import report, uninterruptible

SUMMARY_CHUNK_ROWS = 2_000_000  # replicate rows summarised at once (bounds the memory of the summary step)
SUMMARY_KEYS = SUMMARY_COLUMNS[1:6]  # year, region, segment, metric, unit
MANIFEST = "run.json"  # what a partial directory is for: scenario, seed, replicates, version, key, pid
# floats must read back bit for bit (a resumed run's summary equals an uninterrupted one's): pandas 3 parses
# exactly by default and deprecates the option; pandas 2 needs it
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


class ReplicateStore:
    """The finished replicates of one run.

    Each replicate's tables are written to ``parts/`` as ``firms-000012.csv``, ``market-000012.csv`` and
    ``summary-000012.csv`` (each written under a temporary name and renamed; the summary part last, so a
    replicate whose summary part exists is complete). The summary values are also kept in memory as one
    float array per replicate over a shared table of row keys.

    Args:
        directory: where the part files go.
        temporary: delete the directory when the store is garbage collected (runs not tied to a results
            directory, e.g. from the Python API).
    """

    TABLES = ("firms", "market")

    def __init__(self, directory: Path, temporary: bool) -> None:
        self.directory = directory
        self.parts = directory / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.temporary = temporary
        self._layouts: list[pd.DataFrame] = []  # distinct tables of summary row keys
        self._values: dict[int, tuple[int, np.ndarray]] = {}  # replicate -> (layout, values)
        self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True) if temporary else None

    @classmethod
    def open(cls, directory: Path | None, resume: bool, manifest: dict[str, Any]) -> ReplicateStore:
        """A store in ``directory`` (a fresh temporary one when None); with ``resume``, keep its finished parts.

        Without ``resume``, an earlier store in ``directory`` (the same run, interrupted) is discarded, and
        the user told how many finished replicates ``--resume`` would have reused.
        """
        if directory is None:
            return cls(Path(tempfile.mkdtemp(prefix="lithium-sim-run-")), temporary=True)
        if directory.exists() and not resume:
            finished = len(list((directory / "parts").glob("summary-*.csv")))
            _trash(directory)
            if finished:
                report(
                    f"discarded {finished} finished replicate(s) of an earlier, interrupted run of the same "
                    f"scenario, seed and replicate count (in {directory.name}); --resume would have reused them"
                )
        store = cls(directory, temporary=False)
        manifest = {**manifest, "pid": os.getpid()}
        tmp = directory / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        os.replace(tmp, directory / MANIFEST)
        if resume:
            store._load_finished()
        return store

    def __contains__(self, replicate: int) -> bool:
        return replicate in self._values

    @property
    def replicates(self) -> list[int]:
        """Finished replicates, in order."""
        return sorted(self._values)

    def _part(self, table: str, replicate: int) -> Path:
        return self.parts / f"{table}-{replicate:06d}.csv"

    def _write(self, frame: pd.DataFrame, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)

    def add(self, replicate: int, result: ReplicateResult) -> None:
        """Write a finished replicate's parts and keep its summary values."""
        for table in self.TABLES:
            frame = getattr(result, table)
            frame = frame.assign(replicate=replicate)[["replicate", *[c for c in frame.columns if c != "replicate"]]]
            self._write(frame, self._part(table, replicate))
        self._write(result.summary, self._part("summary", replicate))
        self._keep(replicate, result.summary)

    def _keep(self, replicate: int, summary: pd.DataFrame) -> None:
        layout = summary[SUMMARY_KEYS].reset_index(drop=True)
        known = next((k for k, seen in enumerate(self._layouts) if seen.equals(layout)), None)
        if known is None:
            self._layouts.append(layout)
            known = len(self._layouts) - 1
        self._values[replicate] = (known, summary["value"].to_numpy(dtype=float, copy=True))

    def _load_finished(self) -> None:
        for stale in self.parts.glob("*.tmp"):
            stale.unlink()
        for path in sorted(self.parts.glob("summary-*.csv")):
            replicate = int(path.stem.split("-")[1])
            if all(self._part(t, replicate).is_file() for t in self.TABLES):
                self._keep(replicate, pd.read_csv(path, **_EXACT_FLOATS))

    def summary(self, scenario: str, chunk_rows: int = SUMMARY_CHUNK_ROWS) -> pd.DataFrame:
        """The run's summary: exactly ``summarise`` of the replicates' rows in replicate order.

        Rows are summarised in chunks of summary keys so that at most about ``chunk_rows`` replicate rows
        are in one frame. Every key's values are still taken in replicate order, and chunks follow the
        order in which keys first appear, so the result equals the unchunked one bit for bit.
        """
        order = self.replicates
        layout_of = {i: self._values[i][0] for i in order}
        used = list(dict.fromkeys(layout_of[i] for i in order))  # layouts in order of first use
        keys = pd.concat([self._layouts[k] for k in used], ignore_index=True).drop_duplicates(ignore_index=True)
        index = pd.MultiIndex.from_frame(keys)
        position = {k: index.get_indexer(pd.MultiIndex.from_frame(self._layouts[k])) for k in used}
        members = {k: [i for i in order if layout_of[i] == k] for k in used}
        step = max(1, chunk_rows // len(order))
        chunks = []
        for start in range(0, len(keys), step):
            blocks = []
            for k in used:
                rows = np.flatnonzero((position[k] >= start) & (position[k] < start + step))
                if rows.size == 0:
                    continue
                reps = members[k]
                block = self._layouts[k].iloc[np.tile(rows, len(reps))].reset_index(drop=True)
                block["value"] = np.concatenate([self._values[i][1][rows] for i in reps])
                block["_replicate"] = np.repeat(reps, rows.size)
                block["_row"] = np.tile(rows, len(reps))
                blocks.append(block)
            stacked = pd.concat(blocks, ignore_index=True)
            stacked = stacked.iloc[np.lexsort((stacked["_row"], stacked["_replicate"]))]
            chunks.append(summarise([stacked.drop(columns=["_replicate", "_row"])], scenario))
        return pd.concat(chunks, ignore_index=True)

    def concatenate(self, table: str, destination: Path) -> None:
        """Write one CSV of ``table`` ("firms" or "market") for all replicates, in replicate order."""
        header = None
        with open(destination, "wb") as out:
            for replicate in self.replicates:
                with open(self._part(table, replicate), "rb") as part:
                    first = part.readline()
                    if header is None:
                        header = first
                        out.write(header)
                    elif first != header:
                        raise RuntimeError(f"replicate {replicate}'s {table} table has other columns: {first!r}")
                    shutil.copyfileobj(part, out)

    def read(self, table: str) -> pd.DataFrame:
        """All replicates' ``table`` as one DataFrame (for small runs: it holds every row in memory)."""
        frames = [pd.read_csv(self._part(table, i), **_EXACT_FLOATS) for i in self.replicates]
        return pd.concat(frames, ignore_index=True)

    def discard(self) -> None:
        """Delete the part files (after the run directory is written, or when nothing is worth keeping).

        The directory is first renamed out of the way (``.NAME.trash-PID-TOKEN``), with SIGINT held, so it
        is never left half-deleted under its own name.
        """
        if self._cleanup is not None:
            self._cleanup()
        else:
            _trash(self.directory)


def _trash(directory: Path) -> None:
    """Delete a partial directory: rename it to a trash name first (one step), then delete that."""
    with uninterruptible():
        name = directory.name.rsplit(".partial-", 1)[0]
        trash = directory.with_name(f"{name}.trash-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            os.rename(directory, trash)
        except OSError:
            trash = directory
        shutil.rmtree(trash, ignore_errors=True)
