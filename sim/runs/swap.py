"""Putting a new output directory in place of the old one, and deleting the old one's files only.

Owns the two steps after a directory is built: `exchange` swaps the new and the old directory's names in one
atomic step on Linux (``renameat2(RENAME_EXCHANGE)``; elsewhere the caller renames the old one aside first), and
`dispose` deletes a replaced output file by file, each only if its size and hash are still those its manifest
records (`sim.runs.manifest`); whatever else it holds is kept, in sight (`backup_name`).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import stat
import sys
from pathlib import Path
from typing import Any

from sim.runs.folder import Folder, file_digest, remove_entry, report, walk
from sim.runs.manifest import DirKind

_RENAME_EXCHANGE = 2  # linux/fs.h


def exchange(parent: Folder, a: str, b: str) -> bool:
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


def backup_name(parent: Folder, target: Path) -> Path:
    """A visible name beside ``target`` for what is kept of it: ``T.replaced-TIMESTAMP`` (``-N`` if taken)."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = target.with_name(f"{target.name}.replaced-{stamp}")
    n = 1
    while parent.lstat(candidate.name) is not None:
        n += 1
        candidate = target.with_name(f"{target.name}.replaced-{stamp}-{n}")
    return candidate


def dispose(
    parent: Folder, target: Path, kind: DirKind, name: str, manifest: dict[str, dict[str, Any]] | None = None
) -> None:
    """Delete a replaced output, file by file: only the files its manifest lists, each only if its size and
    hash are still those recorded (a directory written before manifests: by the names the program writes
    there); the manifest itself goes last, once nothing else is left. Whatever remains is kept in sight."""
    try:
        old = parent.subfolder(name)
    except OSError:
        return
    with old:
        if manifest is None:
            manifest = kind.read_manifest(old)
        entries, _ = walk(old, limit=10**9)
        for relative, mode in reversed(entries):  # what a directory holds comes before the directory
            if relative == kind.manifest and manifest is not None:
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
                mine = stat.S_ISREG(mode) and kind.owns(relative)
            if mine:
                remove_entry(old, relative, directory=stat.S_ISDIR(mode))
        if manifest is not None and [e.name for e in old.names()] == [kind.manifest]:
            remove_entry(old, kind.manifest, directory=False)
    try:
        parent.rmdir(name)
    except OSError:
        kept = backup_name(parent, target)
        try:
            parent.rename(name, kept.name)
            report(f"kept files lithium-sim did not write from the previous {target.name} in {kept}")
        except OSError:
            report(f"kept files lithium-sim did not write from the previous {target.name} in {target.parent / name}")
