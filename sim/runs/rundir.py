"""Output directories: claiming one, writing it atomically, and never deleting what the program did not write.

Every directory the program writes (a run's ``--out``, a comparison's ``--out``, an exploration, the
calibration report) is written through `claim` and `Claim.write`. For a target directory ``T`` in folder ``P``:

- ``P`` is held open by a descriptor for the whole claim (`Folder`), and every name beside ``T`` (the lock,
  temporary, replaced and partial directories) is opened relative to it without following symbolic links
  (``O_NOFOLLOW``, ``openat``). Whoever can write ``P`` (a shared ``/tmp/results``) cannot make the program
  write through a link to another file: a link, or anything but a regular file, at the lock's name stops the
  run with `InputError` naming it; a link or a file at a temporary or partial directory's name is refused
  or left alone and reported. Path-based writers (pyarrow, numpy, matplotlib) are given the directory's
  descriptor as a path (``/proc/self/fd/N`` on Linux), so what they write lands in the directory the program
  made, even if its name is swapped meanwhile.
- ``P/.T.lock`` is locked (``fcntl.flock``) by the one process writing ``T``; a second process that wants
  ``T`` stops at once with `InputError`. The lock file is removed when the claim ends.
- ``T`` is built in ``P/.T.writing-PID-TOKEN`` and renamed into place, so ``T`` appears only complete. Its
  *manifest* (every file's size and SHA-256, `manifest_of`) is recorded in it (a run directory's in
  ``meta.json``, under ``files``; other kinds' in ``.lithium-sim-files.json``).
- An earlier ``T`` is replaced only if it is empty or an earlier output of the same kind holding nothing but
  the files its manifest lists, unchanged (`DirKind`); directories written before manifests existed are
  judged by the names the program writes there. On Linux the new and the old directory swap names in one
  atomic step (``renameat2(RENAME_EXCHANGE)``); elsewhere the old one is renamed to ``P/.T.old-PID-TOKEN``
  and the new one renamed in. Then the old files are deleted one by one, each only if its size and hash are
  still those recorded. Anything else in ``T`` refuses the write, unless ``force``: then ``T`` is renamed
  whole to ``P/T.replaced-TIMESTAMP`` (visible, kept) and reported.
- Hidden siblings left by a process that died (``.T.writing-*``, ``.T.old-*``, ``.T.trash-*``) are found
  when ``T`` is next claimed: a ``.T.old-*`` is renamed back to ``T`` if ``T`` is missing (the replacement
  died between its two renames), else deleted like any replaced output; ``.T.writing-*`` and
  ``.T.trash-*`` are deleted. Each is reported, and none is touched while its process lives.
  ``.T.partial-KEY`` directories (finished replicates of an unfinished run, see `sim.runs.store`) are
  reported by the run, never deleted here: they are what ``--resume`` reuses.
- SIGINT is held during the renames and deletions (`uninterruptible`): an interrupt takes effect after
  them, and `Claim.committed` says whether the new ``T`` was in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fnmatch
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.inputs.errors import InputError
from sim.inputs.files import MAX_NAME_BYTES, check_path_text, describe_os_error

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: writes are atomic, but not locked against each other
    fcntl = None  # type: ignore[assignment]

RUN_FILES = ("summary.csv", "meta.json")  # a directory holding these is a run directory
RUN_MARKER = "lithium_sim"  # meta.json key that marks a run directory written by this program
_LEGACY_META_KEYS = {"scenario", "scenario_sha256", "package_version", "replicate_seeds"}  # before the marker
_SIBLING = re.compile(
    r"(?P<kind>writing|old|trash)-(?P<pid>[0-9]+)-(?P<token>[0-9a-f]+)|partial-(?P<key>[0-9a-f]+)"
    r"|lock"
)
_SIBLING_ROOM = 40  # bytes a hidden sibling's name adds to the target's (".T.writing-PID-TOKEN")
_SCAN_LIMIT = 10_000  # entries looked at when deciding whether a directory is an earlier output
MANIFEST_FILE = ".lithium-sim-files.json"  # where kinds without a JSON file of their own keep their manifest
MANIFEST_KEY = "files"  # the manifest's key: relative path -> {"bytes": size, "sha256": hex digest}
MAX_LOCK_BYTES = 64  # a lock file holds a process id; a larger file at the lock's name is not a lock
_MAX_JSON_BYTES = 64 * 1024 * 1024  # a meta.json or manifest read to judge a directory


def report(message: str) -> None:
    """Tell the user about something found or done beside the target (one line on standard error)."""
    print(f"lithium-sim: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# interrupts
# ---------------------------------------------------------------------------------------------------------
_held = threading.local()


class _Interrupts:
    requested = False  # SIGINT arrived while `interrupts_recorded` was in force
    finished = False  # the program is done: later interrupts change nothing


def _on_sigint(signum: int, frame: object) -> None:
    _Interrupts.requested = True
    if not _Interrupts.finished:
        raise KeyboardInterrupt


def interrupt_requested() -> bool:
    """Whether SIGINT arrived under `interrupts_recorded`, even if a library turned the KeyboardInterrupt into
    another exception (matplotlib's renderer, interrupted, raises ValueError)."""
    return _Interrupts.requested


@contextlib.contextmanager
def interrupts_recorded(program: bool = False) -> Iterator[Callable[[], None]]:
    """SIGINT raises KeyboardInterrupt, as by default, and is recorded (`interrupt_requested`).

    Yields a function to call when the program's outcome is settled: interrupts after it are ignored. For
    the program itself (``program``) they stay ignored after the block, as the interpreter shuts down (an
    interrupt then would kill it with a signal, hiding the exit code of a finished run).
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    _Interrupts.requested = _Interrupts.finished = False
    previous = signal.signal(signal.SIGINT, _on_sigint)

    def settle() -> None:
        _Interrupts.finished = True

    try:
        yield settle
    finally:
        if program:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if _Interrupts.requested:
                # CPython 3.11 marks a KeyboardInterrupt that passed through exec() of a string (scipy and
                # dataclasses build code that way while importing) as unhandled, even once the program has
                # handled it, and then kills itself with SIGINT at exit, hiding the exit code. Running any
                # string through exec() clears the mark.
                exec("pass", {})  # noqa: S102
        else:
            signal.signal(signal.SIGINT, previous)
        _Interrupts.finished = False


@contextlib.contextmanager
def uninterruptible() -> Iterator[None]:
    """Hold SIGINT until the block ends, then deliver it (as KeyboardInterrupt, by default).

    Only the main thread receives signals; elsewhere, and in nested blocks, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or getattr(_held, "depth", 0):
        _held.depth = getattr(_held, "depth", 0) + 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    _held.depth = 1
    try:
        yield
    finally:
        _held.depth = 0
        signal.signal(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


# ---------------------------------------------------------------------------------------------------------
# directories held by descriptor
# ---------------------------------------------------------------------------------------------------------
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
_AT = {os.open, os.mkdir, os.rename, os.unlink, os.rmdir, os.stat} <= os.supports_dir_fd
_LINK_ERRNOS = {errno.ELOOP, errno.EMLINK, errno.ENOTDIR}  # what O_NOFOLLOW (| O_DIRECTORY) gives on a link
_PROC_FD = Path("/proc/self/fd")


class Folder:
    """A directory held open by a descriptor: names in it are looked up relative to the descriptor (``openat``)
    and never through a symbolic link, so renaming the directory, or putting a link where it was, changes
    nothing about which files are read, written or deleted.

    Attributes:
        path: where the directory was when opened (for messages).
        fd: its descriptor (None once closed, or where the system cannot open directories relative to one).
    """

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path = path
        self.fd = fd

    @classmethod
    def open(cls, path: str | Path, follow: bool = False) -> Folder:
        """Open the directory at ``path``; a link or a file at its last name raises OSError (ELOOP/ENOTDIR),
        unless ``follow`` (a path the caller chose, e.g. an anchored ``/proc/self/fd/N``)."""
        path = Path(path)
        flags = _O_DIR & ~_NOFOLLOW if follow else _O_DIR
        return cls(path, os.open(path, flags) if _AT else None)

    def _name(self, name: str) -> str | Path:
        return name if self.fd is not None else self.path / name

    def lstat(self, name: str) -> os.stat_result | None:
        """The entry ``name`` itself (a link is a link), or None when there is none."""
        try:
            return os.stat(self._name(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def subfolder(self, name: str, create: bool = False) -> Folder:
        """The directory ``name`` in this one, opened without following a link; created first if ``create``."""
        if create:
            os.mkdir(self._name(name), 0o777, dir_fd=self.fd)
        if self.fd is None:
            return Folder(self.path / name, None)
        return Folder(self.path / name, os.open(name, _O_DIR, dir_fd=self.fd))

    def open_file(self, name: str, flags: int, mode: int = 0o644) -> int:
        """``os.open`` of ``name`` in this directory, never through a link."""
        return os.open(self._name(name), flags | _NOFOLLOW | _CLOEXEC, mode, dir_fd=self.fd)

    def read_bytes(self, name: str, limit: int) -> bytes | None:
        """At most ``limit`` bytes of the regular file ``name`` (None if it is not one, or is larger)."""
        try:
            fd = self.open_file(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
                return None
            return handle.read(limit + 1)

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write ``name`` under a temporary name, then rename it into place (never through a link)."""
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        fd = self.open_file(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            self.rename(tmp, name)
        except BaseException:
            with contextlib.suppress(OSError):
                self.unlink(tmp)
            raise

    def rename(self, old: str, new: str) -> None:
        os.rename(self._name(old), self._name(new), src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def unlink(self, name: str) -> None:
        os.unlink(self._name(name), dir_fd=self.fd)

    def rmdir(self, name: str) -> None:
        os.rmdir(self._name(name), dir_fd=self.fd)

    def rmtree(self, name: str) -> None:
        """Delete the directory ``name`` and everything in it (never following links; errors ignored)."""
        if self.fd is not None:
            shutil.rmtree(name, ignore_errors=True, dir_fd=self.fd)
        else:
            info = self.lstat(name)
            if info is not None and stat.S_ISDIR(info.st_mode):
                shutil.rmtree(self.path / name, ignore_errors=True)

    def names(self) -> list[os.DirEntry]:
        """The entries of this directory."""
        with os.scandir(self.fd if self.fd is not None else self.path) as entries:
            return list(entries)

    def holds(self, name: str, child: Folder) -> bool:
        """Whether the entry ``name`` here is still the directory ``child`` was opened on."""
        if child.fd is None:
            return True
        info = self.lstat(name)
        mine = os.fstat(child.fd)
        return info is not None and (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino)

    @property
    def anchored(self) -> Path:
        """A path to this very directory for path-based writers: ``/proc/self/fd/N`` on Linux (it names the
        descriptor's directory, wherever it is moved), else `path`."""
        if self.fd is None:
            return self.path
        proc = _PROC_FD / str(self.fd)
        try:
            here, there = os.fstat(self.fd), os.stat(proc)
        except OSError:
            return self.path
        if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
            _ANCHORS[str(proc)] = self.path
            return proc
        return self.path

    def close(self) -> None:
        if self.fd is not None:
            _ANCHORS.pop(str(_PROC_FD / str(self.fd)), None)
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ANCHORS: dict[str, Path] = {}  # "/proc/self/fd/N" -> the directory it stands for, for messages


def shown(path: str | os.PathLike | None) -> str:
    """A path as the user knows it: an anchored ``/proc/self/fd/N/...`` becomes the directory's own path."""
    if path is None:
        return ""
    text = os.fspath(path)
    for anchor, real in list(_ANCHORS.items()):
        if text == anchor or text.startswith(anchor + os.sep):
            return str(real) + text[len(anchor) :]
    return text


def _kind_of_entry(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


# ---------------------------------------------------------------------------------------------------------
# manifests: what the program wrote, file by file
# ---------------------------------------------------------------------------------------------------------
def file_digest(folder: Folder, relative: str) -> tuple[int, str] | None:
    """Size and SHA-256 of the regular file at ``relative`` (names joined by "/") under ``folder``, reached
    without following any link; None when it is not a regular file there."""
    *dirs, name = relative.split("/")
    opened: list[Folder] = []
    try:
        here = folder
        for part in dirs:
            here = here.subfolder(part)
            opened.append(here)
        fd = here.open_file(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        for f in opened:
            f.close()
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            return info.st_size, hashlib.file_digest(handle, "sha256").hexdigest()
    finally:
        for f in opened:
            f.close()


def walk(folder: Folder, limit: int = _SCAN_LIMIT) -> tuple[list[tuple[str, int]], bool]:
    """Every entry under ``folder`` as (relative path, lstat mode), directories before what they hold, links
    never followed; and whether the walk stopped at ``limit`` entries."""
    out: list[tuple[str, int]] = []
    stack: list[tuple[Folder, str]] = [(folder, "")]
    try:
        while stack:
            here, prefix = stack.pop()
            try:
                for entry in sorted(here.names(), key=lambda e: e.name):
                    mode = entry.stat(follow_symlinks=False).st_mode
                    out.append((prefix + entry.name, mode))
                    if len(out) > limit:
                        return out, True
                    if stat.S_ISDIR(mode):
                        try:
                            stack.append((here.subfolder(entry.name), f"{prefix}{entry.name}/"))
                        except OSError:
                            continue
            finally:
                if here is not folder:
                    here.close()
    finally:
        for here, _ in stack:
            if here is not folder:
                here.close()
    return out, False


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
        data = folder.read_bytes(self.manifest, _MAX_JSON_BYTES)
        if data is None:
            return None
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, dict) or RUN_MARKER not in doc:
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
    if data is None:
        return False
    try:
        meta = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return isinstance(meta, dict) and (RUN_MARKER in meta or _LEGACY_META_KEYS <= set(meta))


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


# ---------------------------------------------------------------------------------------------------------
# claiming a target
# ---------------------------------------------------------------------------------------------------------
def target_path(target: str | Path, option: str | None = "--out") -> Path:
    """The absolute path of an output directory (symbolic links resolved), checked as a name."""
    text = check_path_text(
        target,
        what="the output directory",
        key=option,
        file=os.fspath(target) if isinstance(target, str | os.PathLike) else None,
    )
    path = Path(os.path.realpath(os.path.abspath(text)))
    if not path.name or path == path.parent:
        raise InputError("the output directory cannot be the root of the file system", file=text, key=option)
    if len(os.fsencode(path.name)) > MAX_NAME_BYTES - _SIBLING_ROOM:
        raise InputError(
            f"the output directory's name is {len(os.fsencode(path.name))} bytes long; it may have at most "
            f"{MAX_NAME_BYTES - _SIBLING_ROOM} (its temporary siblings need the rest of the {MAX_NAME_BYTES})",
            file=text,
            key=option,
        )
    return path


def hidden(target: Path, suffix: str) -> Path:
    """A hidden sibling of ``target``: ``.NAME.SUFFIX``."""
    return target.parent / f".{target.name}.{suffix}"


def partial_dir(out_dir: str | Path, key: str) -> Path:
    """Where the part files of a run bound for ``out_dir`` are kept until it is saved."""
    return hidden(Path(os.path.realpath(os.path.abspath(out_dir))), f"partial-{key[:16]}")


def siblings(target: Path) -> list[tuple[Path, re.Match[str]]]:
    """The hidden siblings of ``target`` (lock, writing, old, trash and partial directories)."""
    prefix = f".{target.name}."
    found = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith(prefix) and (m := _SIBLING.fullmatch(entry.name[len(prefix) :])):
            found.append((Path(entry.path), m))
    return sorted(found, key=lambda item: item[0].name)


def private_dir(path: Path, create: bool = True) -> Folder:
    """The program's own directory at ``path`` (a partial or temporary one), opened without following a link
    and created if absent (when ``create``).

    Raises:
        InputError: something other than a directory is at ``path`` (a symbolic link, a file): it is not the
            program's, and is left alone.
        OSError: the directory cannot be created or opened.
    """
    with Folder.open(path.parent) as parent:
        info = parent.lstat(path.name)
        if info is not None and not stat.S_ISDIR(info.st_mode):
            raise InputError(
                f"is {_kind_of_entry(info.st_mode)}, not a folder lithium-sim made; lithium-sim never writes "
                "through it: remove it (it may have been put there to make lithium-sim write elsewhere), or "
                "choose another --out",
                file=str(path),
            )
        try:
            return parent.subfolder(path.name, create=create and info is None)
        except FileExistsError:  # made meanwhile: open what is there, if it is a directory
            return parent.subfolder(path.name)


def is_private_dir(path: Path) -> bool:
    """Whether ``path`` is a directory itself (not a link to one)."""
    try:
        return stat.S_ISDIR(os.stat(path, follow_symlinks=False).st_mode)
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


_claims: dict[Path, Claim] = {}
_claims_lock = threading.Lock()
_committed: list[Path] = []  # targets this process has written (for truthful messages after an interrupt)


def committed_targets() -> list[Path]:
    return list(_committed)


@dataclass
class Claim:
    """This process's hold on an output directory (see the module docs). Use `claim` to get one."""

    target: Path
    kind: DirKind
    force: bool = False
    option: str | None = "--out"
    committed: bool = False
    partial: Path | None = None  # the run's part files (set by the runner), for messages after an interrupt
    _fd: int | None = field(default=None, repr=False)
    _parent: Folder | None = field(default=None, repr=False)
    _created: list[Path] = field(default_factory=list, repr=False)
    _depth: int = 0

    @property
    def lock_path(self) -> Path:
        return hidden(self.target, "lock")

    @property
    def parent(self) -> Folder:
        """The folder holding the target, open for the whole claim."""
        assert self._parent is not None, "the claim is not held"
        return self._parent

    def _hidden_name(self, suffix: str) -> str:
        return f".{self.target.name}.{suffix}"

    # -- acquiring ------------------------------------------------------------------------------------
    def _acquire(self) -> None:
        self._make_parent()
        try:
            self._parent = Folder.open(self.target.parent)
        except OSError as err:
            raise self._os_error(err, f"cannot be created: the folder {self.target.parent}") from None
        for _ in range(20):
            fd = self._open_lock()
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (pid {holder})" if holder else ""
                raise InputError(
                    f"another lithium-sim process{who} is writing this directory; wait for it to finish, or "
                    f"choose another {self.option or 'output directory'}",
                    file=str(self.target),
                ) from None
            except OSError as err:
                os.close(fd)
                raise self._os_error(err, f"cannot be locked: its lock file {self.lock_path}") from None
            # the file we locked must still be the lock file: a releasing holder unlinks it
            info = self.parent.lstat(self.lock_path.name)
            mine = os.fstat(fd)
            if info is not None and (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino):
                try:
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                except OSError as err:  # a full disk
                    os.close(fd)
                    with contextlib.suppress(OSError):
                        self.parent.unlink(self.lock_path.name)
                    raise self._os_error(err, f"cannot be locked: its lock file {self.lock_path}") from None
                self._fd = fd
                return
            os.close(fd)
        raise InputError("the lock file beside it keeps changing; try again", file=str(self.target))

    def _lock_refusal(self, mode: int, size: int = 0, links: int = 1) -> InputError:
        path = self.lock_path
        if stat.S_ISLNK(mode):
            try:
                where = f" (to {os.readlink(path)})"
            except OSError:
                where = ""
            what = f"is a symbolic link{where}"
        elif not stat.S_ISREG(mode):
            what = f"is {_kind_of_entry(mode)}"
        elif links > 1:
            what = f"is a file with {links} names (hard links), so it may be someone's file under another name"
        else:
            what = f"is a file of {size:,} bytes, larger than a lock (a process id)"
        return InputError(
            f"its lock file {path} {what}, not a lock lithium-sim made; lithium-sim never writes through it "
            "(it could overwrite another file): remove it, or choose another "
            f"{self.option or 'output directory'}",
            file=str(self.target),
            key=self.option,
        )

    def _open_lock(self) -> int:
        # Not the filelock library: its Unix lock refuses a final link too (O_NOFOLLOW since 3.20.1), but it opens
        # by path from the current directory rather than relative to the held folder, truncates the file before
        # locking it (a waiting process would erase the process id the "in use" message names), and does not
        # check that the file it locked is still the one at the name (the holder removes it when done).
        name = self.lock_path.name
        try:
            before = self.parent.lstat(name)
            if before is not None and (
                not stat.S_ISREG(before.st_mode) or before.st_nlink > 1 or before.st_size > MAX_LOCK_BYTES
            ):
                raise self._lock_refusal(before.st_mode, before.st_size, before.st_nlink)
            fd = self.parent.open_file(name, os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0))
        except OSError as err:
            if err.errno in _LINK_ERRNOS:  # a link put there between the look and the open
                raise self._lock_refusal(stat.S_IFLNK) from None
            raise self._os_error(err, f"cannot be written: its lock file {self.lock_path}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1 or info.st_size > MAX_LOCK_BYTES:
            os.close(fd)
            raise self._lock_refusal(info.st_mode, info.st_size, info.st_nlink)
        return fd

    def _make_parent(self) -> None:
        missing = []
        try:
            parent = self.target.parent
            while not os.path.lexists(parent):
                missing.append(parent)
                parent = parent.parent
            for folder in reversed(missing):
                try:
                    folder.mkdir()
                except FileExistsError:
                    continue
                except OSError as err:
                    raise self._os_error(err, f"cannot be created: the folder {folder}") from None
                self._created.append(folder)
            if not self.target.parent.is_dir():
                raise InputError(
                    f"cannot be created: {self.target.parent} is not a directory",
                    file=str(self.target),
                    key=self.option,
                )
        except OSError as err:
            self._remove_created()
            raise self._os_error(err, f"cannot be created: the folder {self.target.parent}") from None
        except BaseException:
            self._remove_created()
            raise

    def _os_error(self, err: OSError, what: str) -> InputError:
        remedy = advice(err)
        return InputError(
            f"{what} {describe_os_error(err)}{f'; {remedy}' if remedy else ''}", file=str(self.target), key=self.option
        )

    def _release(self) -> None:
        with uninterruptible():
            if self._fd is not None:
                try:
                    info = self.parent.lstat(self.lock_path.name)
                    mine = os.fstat(self._fd)
                    if info is not None and (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino):
                        self.parent.unlink(self.lock_path.name)
                except OSError:
                    pass
                os.close(self._fd)
                self._fd = None
            if self._parent is not None:
                self._parent.close()
                self._parent = None
            if not self.committed:
                self._remove_created()

    def _remove_created(self) -> None:
        for folder in reversed(self._created):
            try:
                folder.rmdir()
            except OSError:
                break
        self._created.clear()

    # -- what earlier processes left --------------------------------------------------------------------
    def recover(self) -> None:
        """Restore, remove or report what dead processes left beside the target (see the module docs)."""
        for path, m in siblings(self.target):
            what = m.group("kind")
            if what is None:
                continue  # the lock, and partial directories (the run reports those)
            pid = int(m.group("pid"))
            if pid == os.getpid() or pid_alive(pid):
                report(f"{path} belongs to process {pid}, which is still running; it is left alone")
                continue
            info = self.parent.lstat(path.name)
            if info is None:
                continue
            if not stat.S_ISDIR(info.st_mode):
                report(f"{path} is {_kind_of_entry(info.st_mode)}, not a folder lithium-sim made; it is left alone")
                continue
            with uninterruptible():
                if what == "old" and self.parent.lstat(self.target.name) is None:
                    try:
                        self.parent.rename(path.name, self.target.name)
                    except OSError as err:
                        report(
                            f"could not restore {path} to {self.target} ({describe_os_error(err)}); "
                            "it holds the previous results: rename it yourself"
                        )
                        continue
                    report(
                        f"restored the previous {self.kind.name} {self.target} from {path.name} "
                        f"(process {pid} died while replacing it)"
                    )
                elif what == "old":
                    self._dispose(path.name)
                    report(f"removed {path.name}, a {self.kind.name} that process {pid} had replaced before it died")
                else:
                    self.parent.rmtree(path.name)
                    state = "unfinished output" if what == "writing" else "files being deleted"
                    report(f"removed {path.name}, {state} of process {pid}, which is no longer running")

    # -- writing ----------------------------------------------------------------------------------------
    def check(self) -> Contents:
        contents = inspect(self.target, self.kind)
        if contents.state == "foreign" and not self.force:
            raise refusal(self.target, self.kind, contents, self.option)
        return contents

    def write(self, fill: Callable[[Path], None]) -> Path:
        """Build the directory with ``fill(tmp)`` in a hidden sibling, record its manifest, then put it in
        place of the target."""
        self.check()
        # not mkdtemp: its 0700 mode would stay with the results; mkdir honours the umask like any directory
        name = self._hidden_name(f"writing-{os.getpid()}-{secrets.token_hex(4)}")
        tmp_path = self.target.parent / name
        try:
            tmp = self.parent.subfolder(name, create=True)
        except OSError as err:
            raise self._os_error(err, f"cannot be written: the folder {tmp_path}") from None
        try:
            try:
                fill(tmp.anchored)
                self.kind.record(tmp)
                if not self.parent.holds(name, tmp):
                    raise InputError(
                        f"its temporary folder {tmp_path} was moved or replaced while the results were written "
                        "into it; nothing was put in place: make sure no other program works in "
                        f"{self.target.parent}, and run again",
                        file=str(self.target),
                    )
            except BaseException as err:
                with uninterruptible():
                    self.parent.rmtree(name)
                if isinstance(err, OSError) and err.errno in ENVIRONMENT_ERRNOS:
                    raise self._os_error(err, f"cannot be written: {shown(err.filename) or tmp_path}") from None
                if isinstance(err, OSError) and err.errno is None and "No space left" in str(err):  # pyarrow's
                    raise self._os_error(OSError(errno.ENOSPC, str(err)), f"cannot be written: {tmp_path}") from None
                raise
            with uninterruptible():
                try:
                    self._commit(name)
                except BaseException:
                    self.parent.rmtree(name)
                    raise
        finally:
            tmp.close()
        return self.target

    def _commit(self, name: str) -> None:
        contents = self.check()  # again: the target may have changed while the results were computed
        parent, target = self.parent, self.target.name
        try:
            if contents.state == "absent":
                parent.rename(name, target)
            elif contents.state == "foreign":  # only with force: keep it whole, in sight
                aside = self._backup_name()
                parent.rename(target, aside.name)
                parent.rename(name, target)
                report(f"moved what was in {self.target} to {aside} (--force); nothing in it was deleted")
            elif _exchange(parent, name, target):  # one atomic step: the target is never missing
                self._dispose(name, contents.manifest)  # which now holds the earlier output
            else:
                aside = self._hidden_name(f"old-{os.getpid()}-{secrets.token_hex(4)}")
                parent.rename(target, aside)
                parent.rename(name, target)
                self._dispose(aside, contents.manifest)
        except OSError as err:
            raise self._os_error(err, f"cannot be replaced: {shown(err.filename) or self.target}") from None
        self.committed = True
        _committed.append(self.target)

    def _backup_name(self) -> Path:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        candidate = self.target.with_name(f"{self.target.name}.replaced-{stamp}")
        n = 1
        while self.parent.lstat(candidate.name) is not None:
            n += 1
            candidate = self.target.with_name(f"{self.target.name}.replaced-{stamp}-{n}")
        return candidate

    def _dispose(self, name: str, manifest: dict[str, dict[str, Any]] | None = None) -> None:
        """Delete a replaced output, file by file: only the files its manifest lists, each only if its size and
        hash are still those recorded (a directory written before manifests: by the names the program writes
        there); the manifest itself goes last, once nothing else is left. Whatever remains is kept in sight."""
        try:
            old = self.parent.subfolder(name)
        except OSError:
            return
        with old:
            if manifest is None:
                manifest = self.kind.read_manifest(old)
            entries, _ = walk(old, limit=10**9)
            for relative, mode in reversed(entries):  # what a directory holds comes before the directory
                if relative == self.kind.manifest and manifest is not None:
                    continue
                if stat.S_ISDIR(mode):
                    mine = True  # removed only if empty
                elif manifest is not None:
                    recorded = manifest.get(relative)
                    mine = recorded is not None and file_digest(old, relative) == (
                        recorded["bytes"],
                        recorded["sha256"],
                    )
                else:
                    mine = stat.S_ISREG(mode) and self.kind.owns(relative)
                if mine:
                    _remove(old, relative, directory=stat.S_ISDIR(mode))
            if manifest is not None and [e.name for e in old.names()] == [self.kind.manifest]:
                _remove(old, self.kind.manifest, directory=False)
        try:
            self.parent.rmdir(name)
        except OSError:
            kept = self._backup_name()
            try:
                self.parent.rename(name, kept.name)
                report(f"kept files lithium-sim did not write from the previous {self.target.name} in {kept}")
            except OSError:
                report(
                    f"kept files lithium-sim did not write from the previous {self.target.name} in "
                    f"{self.target.parent / name}"
                )


def _remove(folder: Folder, relative: str, directory: bool) -> None:
    """Unlink a file (or remove an empty directory) at ``relative`` under ``folder``, through no link."""
    *dirs, base = relative.split("/")
    opened: list[Folder] = []
    try:
        here = folder
        for part in dirs:
            here = here.subfolder(part)
            opened.append(here)
        (here.rmdir if directory else here.unlink)(base)
    except OSError:
        pass
    finally:
        for f in opened:
            f.close()


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(parent: Folder, a: str, b: str) -> bool:
    """Swap two directories of ``parent`` atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where that
    is not available (another system, an old kernel or C library, a file system without it)."""
    if not sys.platform.startswith("linux") or parent.fd is None:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(parent.fd, os.fsencode(a), parent.fd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(parent.path / b))


# errors the environment raises while writing (a full disk, a read-only or unreachable file system, limits)
ENVIRONMENT_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EROFS,
    errno.EACCES,
    errno.EPERM,
    errno.EIO,
    errno.ENAMETOOLONG,
    errno.EMFILE,
    errno.ENFILE,
    errno.EFBIG,
}
_ENVIRONMENT_ERRNOS = ENVIRONMENT_ERRNOS


def advice(err: OSError) -> str:
    """What to do about an error the environment raised while writing results (empty if nothing to say)."""
    code = err.errno
    if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "free space on that disk, or choose an output directory on another one"
    if code == errno.EROFS:
        return "choose an output directory on a disk that can be written"
    if code in (errno.EACCES, errno.EPERM):
        return "choose an output directory you may write to, or ask for permission to write there"
    if code == errno.EIO:
        return "the disk reported an input/output error: check it, or choose an output directory on another disk"
    if code in (errno.EMFILE, errno.ENFILE):
        return "too many files are open on this machine: close some programs and try again"
    return ""


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def claim(
    target: str | Path, kind: DirKind = RUN, *, force: bool = False, option: str | None = "--out"
) -> Iterator[Claim]:
    """Hold ``target`` for this process: lock it, deal with what dead processes left, check it may be written.

    Claims are re-entrant within a process (the command line claims the run directory, and the runner and
    `RunResult.save` claim it again).

    Raises:
        InputError: another process holds it; it cannot be created or locked; its lock's name is taken by a
            link or anything but a lock file; it holds what the program did not write (unless ``force``).
    """
    path = target_path(target, option)
    with _claims_lock:
        held = _claims.get(path)
        if held is not None:
            held._depth += 1
    if held is not None:
        try:
            if force and not held.force:
                held.force = True
            yield held
        finally:
            held._depth -= 1
        return
    current = Claim(path, kind, force=force, option=option)
    try:
        current._acquire()
        current.recover()
        current.check()
    except BaseException:
        current._release()
        raise
    with _claims_lock:
        _claims[path] = current
    try:
        yield current
    finally:
        with _claims_lock:
            _claims.pop(path, None)
        current._release()


def write_directory(
    target: str | Path,
    fill: Callable[[Path], None],
    expected: Iterable[str],
    owned: Iterable[str] | None = None,
    *,
    force: bool = False,
) -> Path:
    """Build an output directory in a temporary sibling with ``fill(tmp)``, then rename it into place.

    A failure or interruption leaves the previous directory (if any) untouched and no partial one.

    Args:
        target: the directory to write.
        fill: writes the files into the directory it is given.
        expected: files that mark an earlier output of the same kind.
        owned: glob patterns of the files the program writes there (default: ``expected``), which judge
            directories written before manifests were recorded; an earlier output holding anything else is
            not replaced (unless ``force``).
        force: move a directory that is not a clean earlier output aside (kept, reported) instead of refusing.
    """
    kind = kind_for(expected, owned)
    with claim(target, kind, force=force, option=None) as held:
        return held.write(fill)
