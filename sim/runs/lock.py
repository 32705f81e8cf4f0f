"""The lock beside an output directory: one process writes a target at a time.

``P/.T.lock`` is locked (``fcntl.flock``) by the one process writing ``T``, for as long as it holds the target; a
second process that wants ``T`` stops at once with `InputError` naming the holder's process id, which the lock
file holds. The kernel drops the lock when its process dies, however it dies, so a crash leaves no stale lock:
the next process locks the same file and writes its own id. The lock file is removed when the claim ends.

It is opened relative to the folder the claim holds open (`sim.runs.folder.Folder`) and never through a link:
a link, a directory, a pipe, a file with other names (hard links) or a file larger than a process id at the
lock's name stops the run with `InputError` naming it, and is left alone.

Why not the ``filelock`` library (measured with filelock 4.3, which the workbench's server installs): its Unix
lock refuses a final symbolic link too (``O_NOFOLLOW``) and ``filelock.lock_descriptor`` locks a descriptor with
the same ``flock``, but its `FileLock` opens the lock by path from the current directory rather than relative to
the held folder, leaves the file in place on release (the README promises it is removed), records the holder's
process id only in its soft-lock fallback, refuses neither hard links nor oversized files, and does not check
that the file it locked is still the one at the name after a holder removed it. Those checks are this module;
the one call it would take from the library (``flock`` on a descriptor) is the standard library's.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from sim.inputs.errors import InputError
from sim.inputs.files import describe_os_error
from sim.runs.folder import LINK_ERRNOS, Folder, advice, kind_of_entry
from sim.runs.leftovers import hidden

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: writes are atomic, but not locked against each other
    fcntl = None  # type: ignore[assignment]

MAX_LOCK_BYTES = 64  # a lock file holds a process id; a larger file at the lock's name is not a lock
_ATTEMPTS = 20  # a holder that releases removes the file: lock the new one at the name, a few times at most


def write_error(err: OSError, what: str, target: Path, option: str | None) -> InputError:
    """The message for an error the environment raised while writing ``target``: what, why, what to do."""
    remedy = advice(err)
    return InputError(f"{what} {describe_os_error(err)}{f'; {remedy}' if remedy else ''}", file=str(target), key=option)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


class RunLock:
    """The lock of ``target``, in the folder ``parent`` holds open (see the module docs).

    Args:
        parent: the folder holding the target, open for as long as the lock is held.
        target: the output directory.
        option: the command-line option that named it, for messages (None: the Python API).
    """

    def __init__(self, parent: Folder, target: Path, option: str | None) -> None:
        self.parent = parent
        self.target = target
        self.option = option
        self._fd: int | None = None

    @property
    def path(self) -> Path:
        return hidden(self.target, "lock")

    def acquire(self) -> None:
        """Lock the target for this process and write its id into the lock file.

        Raises:
            InputError: another process holds it; its lock's name is taken by a link or anything but a lock
                file; the lock file cannot be written (a full disk, a read-only folder).
        """
        for _ in range(_ATTEMPTS):
            fd = self._open()
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
                what = f"cannot be locked: its lock file {self.path}"
                raise write_error(err, what, self.target, self.option) from None
            # the file we locked must still be the lock file: a releasing holder unlinks it
            if self._at_name(fd):
                try:
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                except OSError as err:  # a full disk
                    os.close(fd)
                    with contextlib.suppress(OSError):
                        self.parent.unlink(self.path.name)
                    raise write_error(
                        err, f"cannot be locked: its lock file {self.path}", self.target, self.option
                    ) from None
                self._fd = fd
                return
            os.close(fd)
        raise InputError("the lock file beside it keeps changing; try again", file=str(self.target))

    def release(self) -> None:
        """Remove the lock file (if it is still ours) and unlock; nothing if not held."""
        if self._fd is None:
            return
        try:
            if self._at_name(self._fd):
                self.parent.unlink(self.path.name)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None

    def _at_name(self, fd: int) -> bool:
        info = self.parent.lstat(self.path.name)
        mine = os.fstat(fd)
        return info is not None and (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino)

    def _refusal(self, mode: int, size: int = 0, links: int = 1) -> InputError:
        path = self.path
        if stat.S_ISLNK(mode):
            try:
                where = f" (to {os.readlink(path)})"
            except OSError:
                where = ""
            what = f"is a symbolic link{where}"
        elif not stat.S_ISREG(mode):
            what = f"is {kind_of_entry(mode)}"
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

    def _open(self) -> int:
        name = self.path.name
        try:
            before = self.parent.lstat(name)
            if before is not None and (
                not stat.S_ISREG(before.st_mode) or before.st_nlink > 1 or before.st_size > MAX_LOCK_BYTES
            ):
                raise self._refusal(before.st_mode, before.st_size, before.st_nlink)
            fd = self.parent.open_file(name, os.O_RDWR | os.O_CREAT | getattr(os, "O_NONBLOCK", 0))
        except OSError as err:
            if err.errno in LINK_ERRNOS:  # a link put there between the look and the open
                raise self._refusal(stat.S_IFLNK) from None
            raise write_error(err, f"cannot be written: its lock file {self.path}", self.target, self.option) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink > 1 or info.st_size > MAX_LOCK_BYTES:
            os.close(fd)
            raise self._refusal(info.st_mode, info.st_size, info.st_nlink)
        return fd
