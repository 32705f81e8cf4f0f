"""The finished batches of a run: part files on disk, summary values in memory.

A batch (a chunk of consecutive replicates run together) leaves four part files in ``parts/``:
``firms-<first>-<last>.csv``, ``market-...csv``, ``supply-...csv`` (market mode) and ``summary-...npz`` (its
summary values, one column per replicate, with the row keys), each written under a temporary name and renamed,
the summary part last: a batch whose summary part exists is complete. The values also stay in memory (a few
kilobytes per replicate) so the summary across replicates is computed without reading the parts back.

When the run directory is known, the part files live beside it in ``.NAME.partial-KEY/`` (see
`sim.runs.rundir`), where KEY hashes the scenario, parameters, seed, replicate count and code version: an
interrupted run leaves them there, and a run with ``resume`` reuses the finished batches. Such a directory is
resume material: it is deleted only once its replicates are in a saved run directory, or when a run of the
same KEY starts afresh (and says so).
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

from sim.outputs.tables import BatchTables, summarise
from sim.runs.rundir import report, uninterruptible

MANIFEST = "run.json"  # what a partial directory is for: scenario, seed, replicates, version, key, pid
TABLES = ("firms", "market", "supply")
# floats must read back bit for bit (a resumed run's tables equal an uninterrupted one's): pandas 3 parses
# exactly by default and deprecates the option; pandas 2 needs it
_EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}


class ReplicateStore:
    """The finished batches of one run.

    Args:
        directory: where the part files go.
        temporary: delete the directory when the store is garbage collected (runs not tied to a results
            directory, e.g. from the Python API).
    """

    TABLES = TABLES

    def __init__(self, directory: Path, temporary: bool) -> None:
        self.directory = directory
        self.parts = directory / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.temporary = temporary
        self._keys: list[tuple] | None = None  # summary row keys (the same for every batch of a run)
        self._values: dict[int, np.ndarray] = {}  # replicate -> its summary values
        self._batches: dict[tuple[int, int], list[int]] = {}  # (first, last) -> replicates
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
            finished = _count_finished(directory)
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

    def _part(self, table: str, first: int, last: int, suffix: str = "csv") -> Path:
        return self.parts / f"{table}-{first:06d}-{last:06d}.{suffix}"

    @staticmethod
    def _write(frame: pd.DataFrame, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        frame.to_csv(tmp, index=False)
        os.replace(tmp, path)

    def add(self, tables: BatchTables) -> None:
        """Write a finished batch's parts and keep its summary values."""
        first, last = tables.replicates[0], tables.replicates[-1]
        for name in TABLES:
            frame = getattr(tables, name)
            if frame is not None and len(frame):
                self._write(frame, self._part(name, first, last))
        tmp = self._part("summary", first, last, "npz.tmp")
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                values=tables.values,
                replicates=np.asarray(tables.replicates),
                keys=np.asarray(json.dumps([list(k) for k in tables.keys], ensure_ascii=False)),
            )
        os.replace(tmp, self._part("summary", first, last, "npz"))
        self._keep(tables.keys, tables.replicates, tables.values)

    def _keep(self, keys: list[tuple], replicates: list[int], values: np.ndarray) -> None:
        keys = [tuple(k) for k in keys]
        if self._keys is None:
            self._keys = keys
        elif keys != self._keys:
            raise RuntimeError("a batch's summary rows differ from the run's other batches")
        for j, replicate in enumerate(replicates):
            self._values[int(replicate)] = values[:, j].copy()
        self._batches[(int(replicates[0]), int(replicates[-1]))] = [int(r) for r in replicates]

    def _load_finished(self) -> None:
        for stale in self.parts.glob("*.tmp"):
            stale.unlink()
        for path in sorted(self.parts.glob("summary-*.npz")):
            with np.load(path) as data:
                keys = [tuple(k) for k in json.loads(str(data["keys"]))]
                self._keep(keys, [int(r) for r in data["replicates"]], data["values"])

    def summary(self, scenario: str) -> pd.DataFrame:
        """The run's summary across every finished replicate, in replicate order."""
        order = self.replicates
        values = np.stack([self._values[i] for i in order], axis=1)
        return summarise(self._keys or [], values, scenario)

    def _parts_of(self, table: str) -> list[Path]:
        return [p for (first, last) in sorted(self._batches) if (p := self._part(table, first, last)).is_file()]

    def concatenate(self, table: str, destination: Path) -> bool:
        """Write one CSV of ``table`` for all batches, in replicate order; False if no batch has the table."""
        parts = self._parts_of(table)
        if not parts:
            return False
        header = None
        with open(destination, "wb") as out:
            for path in parts:
                with open(path, "rb") as part:
                    first = part.readline()
                    if header is None:
                        header = first
                        out.write(header)
                    elif first != header:
                        raise RuntimeError(f"{path.name} has other columns than the run's {table} table")
                    shutil.copyfileobj(part, out)
        return True

    def read(self, table: str) -> pd.DataFrame:
        """All batches' ``table`` as one DataFrame (for small runs: it holds every row in memory)."""
        frames = [pd.read_csv(p, **_EXACT_FLOATS) for p in self._parts_of(table)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def discard(self) -> None:
        """Delete the part files (after the run directory is written, or when nothing is worth keeping).

        The directory is first renamed out of the way (``.NAME.trash-PID-TOKEN``), with SIGINT held, so it
        is never left half-deleted under its own name.
        """
        if self._cleanup is not None:
            self._cleanup()
        else:
            _trash(self.directory)


def _count_finished(directory: Path) -> int:
    total = 0
    for path in (directory / "parts").glob("summary-*.npz"):
        parts = path.stem.split("-")
        total += int(parts[2]) - int(parts[1]) + 1
    return total


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
