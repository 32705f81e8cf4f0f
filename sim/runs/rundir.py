"""Output directories: claiming one, writing it atomically, and never deleting what the program did not write.

Every directory the program writes (a run's ``--out``, a comparison's ``--out``, an exploration, the
calibration report) is written through `claim` and `Claim.write`. For a target directory ``T`` in folder ``P``:

- ``P`` is held open by a descriptor for the whole claim (`sim.runs.folder.Folder`), and every name beside ``T``
  (the lock, temporary, replaced and partial directories) is opened relative to it without following symbolic
  links (``O_NOFOLLOW``, ``openat``). Path-based writers (pyarrow, numpy, matplotlib) are given the directory's
  descriptor as a path (``/proc/self/fd/N`` on Linux), so what they write lands in the directory the program
  made, even if its name is swapped meanwhile.
- ``P/.T.lock`` is held by the one process writing ``T`` (`sim.runs.lock`).
- What processes that died left beside ``T`` is restored, removed or reported (`sim.runs.leftovers`).
- ``T`` is built in ``P/.T.writing-PID-TOKEN`` and renamed into place, so ``T`` appears only complete. Its
  manifest (every file's size and SHA-256) is recorded in it (`sim.runs.manifest`).
- An earlier ``T`` is replaced only if it is empty or an earlier output of the same kind holding nothing but the
  files its manifest lists, unchanged (`sim.runs.manifest.inspect`). On Linux the new and the old directory swap
  names in one atomic step; elsewhere the old one is renamed to ``P/.T.old-PID-TOKEN`` and the new one renamed
  in; then the old files are deleted one by one, each only if it is still as recorded (`sim.runs.swap`).
  Anything else in ``T`` refuses the write, unless ``force``: then ``T`` is renamed whole to
  ``P/T.replaced-TIMESTAMP`` (visible, kept) and reported.
- SIGINT is held during the renames and deletions (`sim.runs.interrupts.uninterruptible`): an interrupt takes
  effect after them, and `Claim.committed` says whether the new ``T`` was in place.

This module owns the claim and the write; the names other packages import from it (the command line, the
runner, the comparison, the API) are re-exported from the modules that own them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.inputs.errors import InputError
from sim.inputs.files import MAX_NAME_BYTES, check_path_text
from sim.runs.folder import ENVIRONMENT_ERRNOS, Folder, advice, report, shown
from sim.runs.interrupts import interrupt_requested, interrupts_recorded, uninterruptible
from sim.runs.leftovers import SIBLING_ROOM, hidden, is_private_dir, partial_dir, private_dir, recover, siblings
from sim.runs.lock import RunLock, write_error
from sim.runs.manifest import (
    RUN,
    RUN_FILES,
    RUN_MARKER,
    Contents,
    DirKind,
    check_replaceable,
    inspect,
    kind_for,
    refusal,
)
from sim.runs.swap import backup_name, dispose
from sim.runs.swap import exchange as _exchange  # looked up here at each swap (a test takes the other path)

__all__ = [  # used by the command line, the runner, the comparison and the API
    "ENVIRONMENT_ERRNOS",
    "RUN",
    "RUN_FILES",
    "RUN_MARKER",
    "Claim",
    "DirKind",
    "advice",
    "check_replaceable",
    "claim",
    "committed_targets",
    "hidden",
    "interrupt_requested",
    "interrupts_recorded",
    "is_private_dir",
    "kind_for",
    "partial_dir",
    "private_dir",
    "report",
    "shown",
    "siblings",
    "target_path",
    "uninterruptible",
    "write_directory",
]


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
    if len(os.fsencode(path.name)) > MAX_NAME_BYTES - SIBLING_ROOM:
        raise InputError(
            f"the output directory's name is {len(os.fsencode(path.name))} bytes long; it may have at most "
            f"{MAX_NAME_BYTES - SIBLING_ROOM} (its temporary siblings need the rest of the {MAX_NAME_BYTES})",
            file=text,
            key=option,
        )
    return path


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
    _lock: RunLock | None = field(default=None, repr=False)
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
        self._lock = RunLock(self._parent, self.target, self.option)
        self._lock.acquire()

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
        return write_error(err, what, self.target, self.option)

    def _release(self) -> None:
        with uninterruptible():
            if self._lock is not None:
                self._lock.release()
                self._lock = None
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
        """Restore, remove or report what dead processes left beside the target (`sim.runs.leftovers`)."""
        recover(self.parent, self.target, self.kind)

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
                aside = backup_name(self.parent, self.target)
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

    def _dispose(self, name: str, manifest: dict[str, dict[str, Any]] | None = None) -> None:
        """Delete the replaced output ``name`` beside the target, file by file (`sim.runs.swap.dispose`)."""
        dispose(self.parent, self.target, self.kind, name, manifest)


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
