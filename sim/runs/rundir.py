"""Output directories: claiming one, writing it atomically, and never deleting what the program did not write.

Every directory the program writes (a run's ``--out``, a comparison's ``--out``, the calibration report)
is written through `claim` and `Claim.write`. For a target directory ``T`` in folder ``P``:

- ``P/.T.lock`` is locked (``fcntl.flock``) by the one process writing ``T``; a second process that wants
  ``T`` stops at once with `InputError`. The lock file is removed when the claim ends.
- ``T`` is built in ``P/.T.writing-PID-TOKEN`` and renamed into place, so ``T`` appears only complete.
- An earlier ``T`` is replaced only if it is empty or an earlier output of the same kind that holds
  nothing else (`DirKind`: the program's marker, and only files the program writes). On Linux the new and
  the old directory swap names in one atomic step (``renameat2(RENAME_EXCHANGE)``); elsewhere the old one
  is renamed to ``P/.T.old-PID-TOKEN`` and the new one renamed in. Then the old files are deleted one by
  one, by name. Anything else in ``T`` refuses the write, unless ``force``: then ``T`` is renamed whole to
  ``P/T.replaced-TIMESTAMP`` (visible, kept) and reported.
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
import json
import os
import re
import secrets
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
# kinds of output directories
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DirKind:
    """A kind of output directory: how to recognise one, and which files the program writes into it.

    Attributes:
        name: for messages ("run directory").
        marker: True for a directory that holds the program's marker for this kind.
        owned: glob patterns, relative with "/" between names, of every file the program writes here.
        lacks: what the marker is, for messages.
    """

    name: str
    marker: Callable[[Path], bool]
    owned: tuple[str, ...]
    lacks: str

    def owns(self, relative: str) -> bool:
        """A file (path relative to the directory) is one the program writes."""
        parts = relative.split("/")
        return any(len(p) == len(parts) and _match(parts, p) for p in self._patterns)

    def owns_dir(self, relative: str) -> bool:
        """A subdirectory that holds files the program writes (e.g. ``charts``)."""
        parts = relative.split("/")
        return any(len(p) > len(parts) and _match(parts, p[: len(parts)]) for p in self._patterns)

    @property
    def _patterns(self) -> list[list[str]]:
        return [pattern.split("/") for pattern in self.owned]


def _match(parts: list[str], pattern: list[str]) -> bool:
    return all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pattern, strict=True))


def _is_run_dir(path: Path) -> bool:
    if not all((path / name).is_file() for name in RUN_FILES):
        return False
    try:
        with open(path / "meta.json", "rb") as handle:
            meta = json.loads(handle.read(50_000_000))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(meta, dict) and (RUN_MARKER in meta or _LEGACY_META_KEYS <= set(meta))


def has_files(*names: str) -> Callable[[Path], bool]:
    """A marker: the directory holds these files."""
    return lambda path: all((path / name).is_file() for name in names)


RUN = DirKind(
    "run directory",
    _is_run_dir,
    ("summary.csv", "replicates.csv", "firms.csv", "market.csv", "supply.csv", "meta.json", "charts/*.png"),
    "summary.csv and a meta.json written by lithium-sim",
)


def kind_for(expected: Iterable[str], owned: Iterable[str] | None = None, name: str = "output") -> DirKind:
    """The `DirKind` whose marker is the ``expected`` files (the run directory's for `RUN_FILES`)."""
    expected = tuple(expected)
    if expected == RUN_FILES and owned is None:
        return RUN
    return DirKind(name, has_files(*expected), tuple(owned) if owned is not None else expected, ", ".join(expected))


@dataclass(frozen=True)
class Contents:
    """What an existing target holds: ``state`` is "absent", "empty", "ours" or "foreign"."""

    state: str
    marked: bool = False
    foreign: tuple[str, ...] = ()


def inspect(target: Path, kind: DirKind) -> Contents:
    """Whether ``target`` may be replaced: absent, empty, or an earlier output of ``kind`` holding only its
    own files ("ours"); anything else is "foreign", with a few of the files that make it so."""
    try:
        if not target.exists() and not target.is_symlink():
            return Contents("absent")
        if not target.is_dir() or target.is_symlink():
            raise InputError("exists and is not a directory; choose another output directory", file=str(target))
        foreign: list[str] = []
        seen = 0
        for top, dirs, names in os.walk(target):
            rel_top = os.path.relpath(top, target).replace(os.sep, "/")
            prefix = "" if rel_top == "." else rel_top + "/"
            for name in names:
                if not kind.owns(prefix + name):
                    foreign.append(prefix + name)
            for name in list(dirs):
                if not kind.owns_dir(prefix + name) or os.path.islink(os.path.join(top, name)):
                    foreign.append(prefix + name + "/")
                    dirs.remove(name)
            seen += len(names) + len(dirs)
            if len(foreign) >= 3 or seen > _SCAN_LIMIT:
                break
        if seen == 0 and not foreign:
            return Contents("empty")
        marked = kind.marker(target)
        if marked and not foreign and seen <= _SCAN_LIMIT:
            return Contents("ours", marked=True)
        return Contents("foreign", marked=marked, foreign=tuple(foreign[:3]))
    except OSError as err:
        raise InputError(f"cannot be inspected: {describe_os_error(err)}", file=str(target)) from None


def refusal(target: Path, kind: DirKind, contents: Contents, option: str | None) -> InputError:
    """The message for a target that may not be replaced."""
    force = "--force" if option else "force=True"
    if contents.marked:
        files = ", ".join(contents.foreign)
        return InputError(
            f"is an earlier {kind.name} but also holds files lithium-sim did not write ({files}); lithium-sim "
            f"never deletes those: move them elsewhere, or add {force} to move the whole directory aside "
            f"(to {target.name}.replaced-TIMESTAMP) and write a new one",
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
    _created: list[Path] = field(default_factory=list, repr=False)
    _depth: int = 0

    @property
    def lock_path(self) -> Path:
        return hidden(self.target, "lock")

    # -- acquiring ------------------------------------------------------------------------------------
    def _acquire(self) -> None:
        self._make_parent()
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
            try:  # the file we locked must still be the lock file: a releasing holder unlinks it
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                self._fd = fd
                return
            os.close(fd)
        raise InputError("the lock file beside it keeps changing; try again", file=str(self.target))

    def _open_lock(self) -> int:
        try:
            return os.open(self.lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as err:
            raise self._os_error(err, f"cannot be written: its lock file {self.lock_path}") from None

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
        return InputError(f"{what} {describe_os_error(err)}", file=str(self.target), key=self.option)

    def _release(self) -> None:
        with uninterruptible():
            if self._fd is not None:
                try:
                    if os.stat(self.lock_path).st_ino == os.fstat(self._fd).st_ino:
                        os.unlink(self.lock_path)
                except OSError:
                    pass
                os.close(self._fd)
                self._fd = None
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
            with uninterruptible():
                if what == "old" and not self.target.exists():
                    try:
                        os.rename(path, self.target)
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
                    self._dispose(path)
                    report(f"removed {path.name}, a {self.kind.name} that process {pid} had replaced before it died")
                else:
                    shutil.rmtree(path, ignore_errors=True)
                    state = "unfinished output" if what == "writing" else "files being deleted"
                    report(f"removed {path.name}, {state} of process {pid}, which is no longer running")

    # -- writing ----------------------------------------------------------------------------------------
    def check(self) -> Contents:
        contents = inspect(self.target, self.kind)
        if contents.state == "foreign" and not self.force:
            raise refusal(self.target, self.kind, contents, self.option)
        return contents

    def write(self, fill: Callable[[Path], None]) -> Path:
        """Build the directory with ``fill(tmp)`` in a hidden sibling, then put it in place of the target."""
        self.check()
        # not mkdtemp: its 0700 mode would stay with the results; mkdir honours the umask like any directory
        tmp = hidden(self.target, f"writing-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            tmp.mkdir()
        except OSError as err:
            raise self._os_error(err, f"cannot be written: the folder {tmp}") from None
        try:
            fill(tmp)
        except BaseException as err:
            with uninterruptible():
                shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(err, OSError) and err.errno in _ENVIRONMENT_ERRNOS:
                raise self._os_error(err, f"cannot be written: {err.filename or tmp}") from None
            raise
        with uninterruptible():
            try:
                self._commit(tmp)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return self.target

    def _commit(self, tmp: Path) -> None:
        contents = self.check()  # again: the target may have changed while the results were computed
        try:
            if contents.state == "absent":
                os.rename(tmp, self.target)
            elif contents.state == "foreign":  # only with force: keep it whole, in sight
                aside = self._backup_name()
                os.rename(self.target, aside)
                os.rename(tmp, self.target)
                report(f"moved what was in {self.target} to {aside} (--force); nothing in it was deleted")
            elif _exchange(tmp, self.target):  # one atomic step: the target is never missing
                self._dispose(tmp)  # which now holds the earlier output
            else:
                aside = hidden(self.target, f"old-{os.getpid()}-{secrets.token_hex(4)}")
                os.rename(self.target, aside)
                os.rename(tmp, self.target)
                self._dispose(aside)
        except OSError as err:
            raise self._os_error(err, f"cannot be replaced: {err.filename or self.target}") from None
        self.committed = True
        _committed.append(self.target)

    def _backup_name(self) -> Path:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        candidate = self.target.with_name(f"{self.target.name}.replaced-{stamp}")
        n = 1
        while candidate.exists() or candidate.is_symlink():
            n += 1
            candidate = self.target.with_name(f"{self.target.name}.replaced-{stamp}-{n}")
        return candidate

    def _dispose(self, old: Path) -> None:
        """Delete a replaced output file by file, by name; what is not the program's is kept in sight."""
        for top, dirs, names in os.walk(old, topdown=False):
            rel_top = os.path.relpath(top, old).replace(os.sep, "/")
            prefix = "" if rel_top == "." else rel_top + "/"
            for name in names:
                if self.kind.owns(prefix + name):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(top, name))
            for name in dirs:
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(top, name))
        try:
            os.rmdir(old)
        except OSError:
            kept = self._backup_name()
            try:
                os.rename(old, kept)
                report(f"kept files lithium-sim did not write from the previous {self.target.name} in {kept}")
            except OSError:
                report(f"kept files lithium-sim did not write from the previous {self.target.name} in {old}")


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where that is not
    available (another system, an old kernel or C library, a file system without it)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


_ENVIRONMENT_ERRNOS = {
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
        InputError: another process holds it; it cannot be created or locked; it holds what the program
            did not write (unless ``force``).
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
        owned: glob patterns of every file the program writes there (default: ``expected``); an earlier
            output holding anything else is not replaced (unless ``force``).
        force: move a directory that is not a clean earlier output aside (kept, reported) instead of refusing.
    """
    kind = kind_for(expected, owned)
    with claim(target, kind, force=force, option=None) as held:
        return held.write(fill)
