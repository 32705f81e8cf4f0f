"""The finished batches of a run: part files on disk, summary values in memory.

A batch (a chunk of consecutive replicates run together) leaves its part files in ``parts/``:
``firms-<first>-<last>.parquet``, ``market-...parquet``, ``supply-...parquet`` (market mode) and
``summary-...npz`` (its summary values, one column per replicate, with the row keys, and its event counts),
each written under a temporary name and renamed, the summary part last: a batch whose summary part exists is
complete. Parquet keeps the parts fast to write and exact (a float reads back bit for bit); the run directory's
CSV files are written from them once, when the run is saved. The summary values also stay in memory (a few
kilobytes per replicate) so the summary across replicates is computed without reading the parts back.

When the run directory is known, the part files live beside it in ``.NAME.partial-KEY/`` (see
`sim.runs.leftovers`), where KEY hashes the scenario, parameters, seed, replicate count and code version: an
interrupted run leaves them there, and a run with ``resume`` reuses the finished batches. Such a directory is
resume material: it is deleted only once its replicates are in a saved run directory, or when a run of the
same KEY starts afresh (and says so).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sim.outputs.tables import BatchTables, summarise
from sim.runs.folder import Folder, report, shown
from sim.runs.interrupts import uninterruptible
from sim.runs.leftovers import private_dir

MANIFEST = "run.json"  # what a partial directory is for: scenario, seed, replicates, version, key, pid
TABLES = ("firms", "market", "supply")
PART = "parquet"


class ReplicateStore:
    """The finished batches of one run.

    Args:
        directory: where the part files go (for messages: where the finished replicates are kept).
        temporary: delete the directory when the store is garbage collected (runs not tied to a results
            directory, e.g. from the Python API).
        folder: the directory held open (`sim.runs.leftovers.private_dir`): every part is written relative to
            its descriptor, never through a link put in its place.
    """

    TABLES = TABLES

    def __init__(self, directory: Path, temporary: bool, folder: Folder | None = None) -> None:
        self.directory = directory
        self._folder = folder
        self.root = folder.anchored if folder is not None else directory
        self.parts = self.root / "parts"
        if folder is not None:
            info = folder.lstat("parts")
            if info is None:
                folder.subfolder("parts", create=True).close()
            elif not stat.S_ISDIR(info.st_mode):
                raise RuntimeError(f"{directory}/parts is not a directory")
        else:
            self.parts.mkdir(parents=True, exist_ok=True)
        self.temporary = temporary
        self._keys: list[tuple] | None = None  # summary row keys (the same for every batch of a run)
        self._values: dict[int, np.ndarray] = {}  # replicate -> its summary values
        self._batches: dict[tuple[int, int], list[int]] = {}  # (first, last) -> replicates
        self._events: dict[int, dict[str, float]] = {}  # replicate -> its event counts
        self._failures: dict[int, dict[str, Any]] = {}  # replicate -> where a numeric check stopped it
        self._cleanup = weakref.finalize(self, shutil.rmtree, directory, True) if temporary else None

    @classmethod
    def open(cls, directory: Path | None, resume: bool, manifest: dict[str, Any]) -> ReplicateStore:
        """A store in ``directory`` (a fresh temporary one when None); with ``resume``, keep its finished parts.

        Without ``resume``, an earlier store in ``directory`` (the same run, interrupted) is discarded, and
        the user told how many finished replicates ``--resume`` would have reused.
        """
        if directory is None:
            return cls(Path(tempfile.mkdtemp(prefix="lithium-sim-run-")), temporary=True)
        if os.path.lexists(directory) and not resume:
            with private_dir(directory, create=False) as earlier:  # a link or a file there is refused
                finished = _count_finished(earlier.anchored)
            _trash(directory)
            if finished:
                report(
                    f"discarded {finished} finished replicate(s) of an earlier, interrupted run of the same "
                    f"scenario, seed and replicate count (in {directory.name}); --resume would have reused them"
                )
        folder = private_dir(directory)
        try:
            store = cls(directory, temporary=False, folder=folder)
            manifest = {**manifest, "pid": os.getpid()}
            folder.write_bytes(MANIFEST, json.dumps(manifest, indent=2).encode("utf-8"))
            if resume:
                store._load_finished()
        except BaseException:
            folder.close()
            raise
        return store

    def __contains__(self, replicate: int) -> bool:
        return replicate in self._values

    @property
    def replicates(self) -> list[int]:
        """Finished replicates, in order."""
        return sorted(self._values)

    def _part(self, table: str, first: int, last: int, suffix: str = PART) -> Path:
        return self.parts / f"{table}-{first:06d}-{last:06d}.{suffix}"

    @staticmethod
    def _write(frame: pd.DataFrame, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with _written(tmp):
            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        os.replace(tmp, path)

    def add(self, tables: BatchTables) -> None:
        """Write a finished batch's parts and keep its summary values."""
        first, last = tables.replicates[0], tables.replicates[-1]
        for name in TABLES:
            frame = getattr(tables, name)
            if frame is not None and len(frame):
                self._write(frame, self._part(name, first, last))
        tmp = self._part("summary", first, last, "npz.tmp")
        with _written(tmp), open(tmp, "wb") as fh:
            np.savez(
                fh,
                values=tables.values,
                replicates=np.asarray(tables.replicates),
                keys=np.asarray(json.dumps([list(k) for k in tables.keys], ensure_ascii=False)),
                event_names=np.asarray(json.dumps(list(tables.events))),
                events=np.asarray([tables.events[name] for name in tables.events], dtype=float).reshape(
                    len(tables.events), len(tables.replicates)
                ),
                failures=np.asarray(json.dumps({str(r): f for r, f in tables.failures.items()}, ensure_ascii=False)),
            )
        os.replace(tmp, self._part("summary", first, last, "npz"))
        self._keep(tables.keys, tables.replicates, tables.values, tables.events, tables.failures)

    def _keep(
        self,
        keys: list[tuple],
        replicates: list[int],
        values: np.ndarray,
        events: dict[str, np.ndarray],
        failures: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        keys = [tuple(k) for k in keys]
        if self._keys is None:
            self._keys = keys
        elif keys != self._keys:
            raise RuntimeError("a batch's summary rows differ from the run's other batches")
        for j, replicate in enumerate(replicates):
            self._values[int(replicate)] = values[:, j].copy()
            self._events[int(replicate)] = {name: float(count[j]) for name, count in events.items()}
        self._batches[(int(replicates[0]), int(replicates[-1]))] = [int(r) for r in replicates]
        self._failures.update({int(r): dict(f) for r, f in (failures or {}).items()})

    def _load_finished(self) -> None:
        for stale in self.parts.glob("*.tmp"):
            stale.unlink()
        for path in sorted(self.parts.glob("summary-*.npz")):
            with np.load(path) as data:
                keys = [tuple(k) for k in json.loads(str(data["keys"]))]
                names = json.loads(str(data["event_names"])) if "event_names" in data else []
                events = {name: data["events"][i] for i, name in enumerate(names)}
                failures = json.loads(str(data["failures"])) if "failures" in data else {}
                self._keep(keys, [int(r) for r in data["replicates"]], data["values"], events, failures)

    @property
    def failures(self) -> dict[int, dict[str, Any]]:
        """Replicates a numeric check stopped (`sim.engine.guard.Failure.to_dict`): their years before the
        failure count in the summary, the later ones are marked in its ``failed`` column."""
        return dict(sorted(self._failures.items()))

    def summary(self, scenario: str) -> pd.DataFrame:
        """The run's summary across every finished replicate, in replicate order: every row of the run, a
        failed replicate's values from the year it failed in left out and counted in column ``failed``."""
        order = self.replicates
        values = np.stack([self._values[i] for i in order], axis=1)
        keys = self._keys or []
        failed = np.zeros(values.shape, dtype=bool)
        if self._failures:
            years = np.array([int(k[0]) for k in keys])
            for j, replicate in enumerate(order):
                if replicate in self._failures:
                    failed[:, j] = years >= int(self._failures[replicate]["year"])
            values = np.where(failed, np.nan, values)
        return summarise(keys, values, scenario, failed)

    def replicate_values(self) -> tuple[list[tuple], list[int], np.ndarray]:
        """The summary row keys, the finished replicates in order and their values, (rows, R)."""
        order = self.replicates
        return list(self._keys or []), order, np.stack([self._values[i] for i in order], axis=1)

    def events(self) -> dict[str, float]:
        """Each event count's mean per finished replicate (entrants, exits, firm-months, ...)."""
        names = sorted({name for counts in self._events.values() for name in counts})
        n = max(len(self._events), 1)
        return {name: sum(c.get(name, 0.0) for c in self._events.values()) / n for name in names}

    def firm_months(self) -> float:
        """Firm-months lived over the finished replicates, all stages (a benchmark's unit of work)."""
        return sum(v for c in self._events.values() for k, v in c.items() if k.startswith("firm_months_"))

    def _parts_of(self, table: str) -> list[Path]:
        return [p for (first, last) in sorted(self._batches) if (p := self._part(table, first, last)).is_file()]

    def concatenate(self, table: str, destination: Path) -> bool:
        """Write one CSV of ``table`` for all batches, in replicate order; False if no batch has the table.

        Streams one part at a time (memory stays flat in the number of replicates). Floats are written in
        their shortest exact form, so the CSV reads back bit for bit.
        """
        parts = self._parts_of(table)
        if not parts:
            return False
        schema = pq.read_schema(parts[0])
        options = pa_csv.WriteOptions(quoting_style="needed")
        with pa_csv.CSVWriter(str(destination), schema, write_options=options) as writer:
            for path in parts:
                part = pq.read_table(path)
                if part.schema.names != schema.names:
                    raise RuntimeError(f"{path.name} has other columns than the run's {table} table")
                writer.write_table(part.cast(schema))
        return True

    def read(self, table: str) -> pd.DataFrame:
        """All batches' ``table`` as one DataFrame (for small runs: it holds every row in memory)."""
        frames = [pd.read_parquet(p) for p in self._parts_of(table)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def discard(self) -> None:
        """Delete the part files (after the run directory is written, or when nothing is worth keeping).

        The directory is first renamed out of the way (``.NAME.trash-PID-TOKEN``), with SIGINT held, so it
        is never left half-deleted under its own name.
        """
        if self._cleanup is not None:
            self._cleanup()
        else:
            if self._folder is not None:
                self._folder.close()
                self._folder = None
            self.root, self.parts = self.directory, self.directory / "parts"
            _trash(self.directory)

    def close(self) -> None:
        """Let go of the directory (its files stay: finished replicates for ``--resume``)."""
        if self._folder is not None:
            self._folder.close()
            self._folder = None
            self.root, self.parts = self.directory, self.directory / "parts"


@contextlib.contextmanager
def _written(tmp: Path):
    """A part being written: if writing fails (a full disk), its unfinished file is removed, and the error
    names the file as the user knows it."""
    try:
        yield
    except OSError as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OSError(err.errno, err.strerror or str(err), shown(tmp)) from None


def _count_finished(directory: Path) -> int:
    total = 0
    for path in (directory / "parts").glob("summary-*.npz"):
        parts = path.stem.split("-")
        total += int(parts[2]) - int(parts[1]) + 1
    return total


def _trash(directory: Path) -> None:
    """Delete a partial directory: rename it to a trash name first (one step), then delete that; by names
    relative to its folder, never through a link (a link in its place is left alone)."""
    with uninterruptible():
        name = directory.name.rsplit(".partial-", 1)[0]
        trash = f"{name}.trash-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            parent = Folder.open(directory.parent)
        except OSError:
            return
        with parent:
            info = parent.lstat(directory.name)
            if info is None or not stat.S_ISDIR(info.st_mode):
                return
            try:
                parent.rename(directory.name, trash)
            except OSError:
                trash = directory.name
            parent.rmtree(trash)
