"""What the program wrote into an output directory, and whether a target may be replaced.

Owns the *manifest* (every file's size and SHA-256, `manifest_of`; a run directory's in ``meta.json`` under
``files``, other kinds' in ``.lithium-sim-files.json``), the kinds of output directory (`DirKind`: how one is
recognised, which names the program writes there; `RUN` for run directories) and the verdict on an existing
target (`inspect`: absent, empty, an earlier output of the same kind holding only the files its manifest lists,
unchanged, or foreign; `refusal` words the last). Directories written before manifests existed are judged by
the names the program writes there.
"""

from __future__ import annotations

import fnmatch
import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.inputs.errors import InputError
from sim.inputs.files import describe_os_error
from sim.runs.folder import Folder, file_digest, walk

RUN_FILES = ("summary.csv", "meta.json")  # a directory holding these is a run directory
RUN_MARKER = "lithium_sim"  # meta.json key that marks a run directory written by this program
_LEGACY_META_KEYS = {"scenario", "scenario_sha256", "package_version", "replicate_seeds"}  # before the marker
MANIFEST_FILE = ".lithium-sim-files.json"  # where kinds without a JSON file of their own keep their manifest
MANIFEST_KEY = "files"  # the manifest's key: relative path -> {"bytes": size, "sha256": hex digest}
_MAX_JSON_BYTES = 64 * 1024 * 1024  # a meta.json or manifest read to judge a directory


def manifest_of(folder: Folder, leave_out: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """The size and SHA-256 of every regular file under ``folder`` (but ``leave_out``), by relative path."""
    skip = set(leave_out)
    out: dict[str, dict[str, Any]] = {}
    entries, _ = walk(folder, limit=10**9)
    for relative, mode in entries:
        if stat.S_ISREG(mode) and relative not in skip:
            digest = file_digest(folder, relative)
            if digest is not None:
                out[relative] = {"bytes": digest[0], "sha256": digest[1]}
    return out


def _valid_manifest(files: Any) -> dict[str, dict[str, Any]] | None:
    if not isinstance(files, dict):
        return None
    for name, entry in files.items():
        if (
            not isinstance(name, str)
            or not name
            or name.startswith("/")
            or ".." in name.split("/")
            or not isinstance(entry, dict)
            or not isinstance(entry.get("bytes"), int)
            or not isinstance(entry.get("sha256"), str)
        ):
            return None
    return files


# ---------------------------------------------------------------------------------------------------------
# kinds of output directories
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DirKind:
    """A kind of output directory: how to recognise one, and where the program records the files it wrote.

    Attributes:
        name: for messages ("run directory").
        marker: True for a directory (given as a path) that holds the program's marker for this kind.
        owned: glob patterns, relative with "/" between names, of the files the program writes here; they
            judge only directories written before manifests were recorded.
        lacks: what the marker is, for messages.
        manifest: the JSON file holding the manifest under the key ``files`` (the run directory's
            ``meta.json``); default `MANIFEST_FILE`, a file of its own.
    """

    name: str
    marker: Callable[[Path], bool]
    owned: tuple[str, ...]
    lacks: str
    manifest: str = MANIFEST_FILE

    def owns(self, relative: str) -> bool:
        """A file (path relative to the directory) is one the program writes (by name; see `owned`)."""
        parts = relative.split("/")
        return any(len(p) == len(parts) and _match(parts, p) for p in self._patterns)

    def owns_dir(self, relative: str) -> bool:
        """A subdirectory that holds files the program writes (e.g. ``charts``; by name)."""
        parts = relative.split("/")
        return any(len(p) > len(parts) and _match(parts, p[: len(parts)]) for p in self._patterns)

    @property
    def _patterns(self) -> list[list[str]]:
        return [pattern.split("/") for pattern in self.owned]

    def read_manifest(self, folder: Folder) -> dict[str, dict[str, Any]] | None:
        """The files the program recorded writing into ``folder``, or None (no manifest, or not a valid one)."""
        doc = _json_object(folder.read_bytes(self.manifest, _MAX_JSON_BYTES))
        if doc is None or RUN_MARKER not in doc:
            return None
        return _valid_manifest(doc.get(MANIFEST_KEY))

    def record(self, folder: Folder) -> None:
        """Record every file in ``folder`` (but the manifest's own file) as the program's."""
        files = manifest_of(folder, leave_out=(self.manifest,))
        if self.manifest == MANIFEST_FILE:
            doc: dict[str, Any] = {RUN_MARKER: {"kind": self.name, "format": 1}}
        else:
            data = folder.read_bytes(self.manifest, _MAX_JSON_BYTES)
            doc = json.loads(data) if data is not None else None
            if not isinstance(doc, dict):
                raise RuntimeError(f"{self.manifest} was not written as a JSON object, so it cannot hold the manifest")
            doc.setdefault(RUN_MARKER, {"kind": self.name, "format": 1})
        doc[MANIFEST_KEY] = files
        folder.write_bytes(self.manifest, json.dumps(doc, indent=2, ensure_ascii=False).encode("utf-8"))


def _match(parts: list[str], pattern: list[str]) -> bool:
    return all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pattern, strict=True))


def _is_run_dir(path: Path) -> bool:
    try:
        with Folder.open(path, follow=True) as folder:
            if not all((info := folder.lstat(name)) is not None and stat.S_ISREG(info.st_mode) for name in RUN_FILES):
                return False
            data = folder.read_bytes("meta.json", _MAX_JSON_BYTES)
    except OSError:
        return False
    meta = _json_object(data)
    return meta is not None and (RUN_MARKER in meta or _LEGACY_META_KEYS <= set(meta))


def _json_object(data: bytes | None) -> dict | None:
    """``data`` read as a JSON object, or None (no data, not JSON, too deeply nested, or not an object)."""
    if data is None:
        return None
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def has_files(*names: str) -> Callable[[Path], bool]:
    """A marker: the directory holds these files."""
    return lambda path: all((path / name).is_file() for name in names)


# the charts of a run directory written before manifests were recorded (only those are judged by name)
_RUN_CHARTS = (
    "suining_output",
    "suining_value_added",
    "national_shares",
    "prices",
    "demand_output",
    "scoreboard",
    "world_market",
    "cost_curve",
)
RUN = DirKind(
    "run directory",
    _is_run_dir,
    (
        "summary.csv",
        "replicates.csv",
        "firms.csv",
        "market.csv",
        "supply.csv",
        "meta.json",
        *(f"charts/{c}.png" for c in _RUN_CHARTS),
    ),
    "summary.csv and a meta.json written by lithium-sim",
    manifest="meta.json",
)


def kind_for(expected: Iterable[str], owned: Iterable[str] | None = None, name: str = "output") -> DirKind:
    """The `DirKind` whose marker is the ``expected`` files (the run directory's for `RUN_FILES`)."""
    expected = tuple(expected)
    if expected == RUN_FILES and owned is None:
        return RUN
    return DirKind(name, has_files(*expected), tuple(owned) if owned is not None else expected, ", ".join(expected))


@dataclass(frozen=True)
class Contents:
    """What an existing target holds: ``state`` is "absent", "empty", "ours" or "foreign".

    Attributes:
        marked: it holds the kind's marker.
        foreign: a few of the entries that make it foreign (changed files say so).
        manifest: the files the program recorded writing there (None: written before manifests, or none).
    """

    state: str
    marked: bool = False
    foreign: tuple[str, ...] = ()
    manifest: dict[str, dict[str, Any]] | None = None


def _judge(folder: Folder, kind: DirKind) -> Contents:
    """`inspect` of an open directory."""
    entries, cut = walk(folder)
    if not entries:
        return Contents("empty")
    manifest = kind.read_manifest(folder)
    foreign: list[str] = []
    if manifest is not None:
        dirs = {"/".join(name.split("/")[:i]) for name in manifest for i in range(1, name.count("/") + 1)}
        for relative, mode in entries:
            if relative == kind.manifest and stat.S_ISREG(mode):
                continue
            if stat.S_ISDIR(mode) and relative in dirs:
                continue
            recorded = manifest.get(relative)
            if recorded is None or not stat.S_ISREG(mode):
                foreign.append(relative + ("/" if stat.S_ISDIR(mode) else ""))
            elif file_digest(folder, relative) != (recorded["bytes"], recorded["sha256"]):
                foreign.append(f"{relative} (changed since lithium-sim wrote it)")
            if len(foreign) >= 3:
                break
    else:
        for relative, mode in entries:
            if stat.S_ISDIR(mode):
                if not kind.owns_dir(relative):
                    foreign.append(relative + "/")
            elif not stat.S_ISREG(mode) or not kind.owns(relative):
                foreign.append(relative)
            if len(foreign) >= 3:
                break
    marked = kind.marker(folder.anchored)
    if marked and not foreign and not cut:
        return Contents("ours", marked=True, manifest=manifest)
    return Contents("foreign", marked=marked, foreign=tuple(foreign[:3]), manifest=manifest)


def inspect(target: Path, kind: DirKind) -> Contents:
    """Whether ``target`` may be replaced: absent, empty, or an earlier output of ``kind`` holding only the
    files its manifest lists, unchanged ("ours"); anything else is "foreign", with a few of the entries that
    make it so."""
    try:
        info = os.stat(target, follow_symlinks=False)
    except FileNotFoundError:
        return Contents("absent")
    except OSError as err:
        raise InputError(f"cannot be inspected: {describe_os_error(err)}", file=str(target)) from None
    if not stat.S_ISDIR(info.st_mode):
        raise InputError("exists and is not a directory; choose another output directory", file=str(target))
    try:
        with Folder.open(target) as folder:
            return _judge(folder, kind)
    except OSError as err:
        raise InputError(f"cannot be inspected: {describe_os_error(err)}", file=str(target)) from None


def refusal(target: Path, kind: DirKind, contents: Contents, option: str | None) -> InputError:
    """The message for a target that may not be replaced."""
    force = "--force" if option else "force=True"
    if contents.marked:
        files = ", ".join(contents.foreign)
        return InputError(
            f"is an earlier {kind.name} but also holds files lithium-sim did not write, or that changed since "
            f"it wrote them ({files}); lithium-sim never deletes those: move them elsewhere, or add {force} to "
            f"move the whole directory aside (to {target.name}.replaced-TIMESTAMP) and write a new one",
            file=str(target),
        )
    return InputError(
        f"exists and is not an output of lithium-sim (it lacks {kind.lacks}), so it will not be replaced; "
        f"choose another output directory, or add {force} to move it aside (to {target.name}.replaced-TIMESTAMP, "
        "nothing is deleted)",
        file=str(target),
    )


def check_replaceable(
    target: str | Path, expected: Iterable[str], owned: Iterable[str] | None = None, force: bool = False
) -> None:
    """Raise `InputError` unless ``target`` is absent, empty, or an earlier output holding ``expected`` files
    and nothing lithium-sim did not write (with ``force``: anything but a file)."""
    kind = kind_for(expected, owned)
    target = Path(target)
    contents = inspect(target, kind)
    if contents.state == "foreign" and not force:
        raise refusal(target, kind, contents, None)
