"""Directories held open by a descriptor, and what the user is told about paths in them.

Owns `Folder` (names looked up relative to a held directory, never through a symbolic link), the walk and the
hashes of what a directory holds (`walk`, `file_digest`), the one-line messages about what was found or done
beside a target (`report`, `shown`), and what to do about an error the environment raised while writing
(`ENVIRONMENT_ERRNOS`, `advice`). Every writer of output directories (`sim.runs.rundir`, `sim.runs.store`)
goes through these.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
import stat
import sys
from pathlib import Path

SCAN_LIMIT = 10_000  # entries looked at when deciding whether a directory is an earlier output


def report(message: str) -> None:
    """Tell the user about something found or done beside the target (one line on standard error)."""
    print(f"lithium-sim: {message}", file=sys.stderr, flush=True)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC
_AT = {os.open, os.mkdir, os.rename, os.unlink, os.rmdir, os.stat} <= os.supports_dir_fd
LINK_ERRNOS = {errno.ELOOP, errno.EMLINK, errno.ENOTDIR}  # what O_NOFOLLOW (| O_DIRECTORY) gives on a link
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


def kind_of_entry(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISREG(mode):
        return "a file"
    return "not a regular file"


@contextlib.contextmanager
def _parent(folder: Folder, relative: str):
    """The folder holding ``relative`` (names joined by "/") under ``folder``, each step opened without following
    a link and closed afterwards, and the last name; OSError when a step is missing or is not a directory."""
    *dirs, name = relative.split("/")
    opened: list[Folder] = []
    try:
        here = folder
        for part in dirs:
            here = here.subfolder(part)
            opened.append(here)
        yield here, name
    finally:
        for f in opened:
            f.close()


def file_digest(folder: Folder, relative: str) -> tuple[int, str] | None:
    """Size and SHA-256 of the regular file at ``relative`` (names joined by "/") under ``folder``, reached
    without following any link; None when it is not a regular file there."""
    try:
        with _parent(folder, relative) as (here, name):
            fd = here.open_file(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    return None
                return info.st_size, hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


def walk(folder: Folder, limit: int = SCAN_LIMIT) -> tuple[list[tuple[str, int]], bool]:
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


def remove_entry(folder: Folder, relative: str, directory: bool) -> None:
    """Unlink a file (or remove an empty directory) at ``relative`` under ``folder``, through no link."""
    with contextlib.suppress(OSError), _parent(folder, relative) as (here, base):
        (here.rmdir if directory else here.unlink)(base)


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
