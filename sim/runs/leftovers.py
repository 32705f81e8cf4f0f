"""What processes leave beside an output directory, named and dealt with.

Owns the hidden siblings of a target ``T`` in folder ``P`` (`siblings`): ``.T.lock`` (`sim.runs.lock`),
``.T.writing-PID-TOKEN`` (a directory being built), ``.T.old-PID-TOKEN`` (the replaced one, where names cannot be
exchanged), ``.T.trash-PID-TOKEN`` and ``.T.partial-KEY`` (finished replicates of an unfinished run,
`sim.runs.store`). When ``T`` is next claimed, `recover` deals with what a process that died left: a
``.T.old-*`` is renamed back to ``T`` if ``T`` is missing (the replacement died between its two renames), else
deleted like any replaced output; ``.T.writing-*`` and ``.T.trash-*`` are deleted. Each is reported, and none is
touched while its process lives. Partial directories are reported by the run, never deleted here: they are
what ``--resume`` reuses.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from sim.inputs.errors import InputError
from sim.inputs.files import describe_os_error
from sim.runs.folder import Folder, kind_of_entry, report
from sim.runs.interrupts import uninterruptible
from sim.runs.manifest import DirKind
from sim.runs.swap import dispose

_SIBLING = re.compile(
    r"(?P<kind>writing|old|trash)-(?P<pid>[0-9]+)-(?P<token>[0-9a-f]+)|partial-(?P<key>[0-9a-f]+)"
    r"|lock"
)
SIBLING_ROOM = 40  # bytes a hidden sibling's name adds to the target's (".T.writing-PID-TOKEN")


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
                f"is {kind_of_entry(info.st_mode)}, not a folder lithium-sim made; lithium-sim never writes "
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


def recover(parent: Folder, target: Path, kind: DirKind) -> None:
    """Restore, remove or report what dead processes left beside ``target`` (see the module docs)."""
    for path, m in siblings(target):
        what = m.group("kind")
        if what is None:
            continue  # the lock, and partial directories (the run reports those)
        pid = int(m.group("pid"))
        if pid == os.getpid() or pid_alive(pid):
            report(f"{path} belongs to process {pid}, which is still running; it is left alone")
            continue
        info = parent.lstat(path.name)
        if info is None:
            continue
        if not stat.S_ISDIR(info.st_mode):
            report(f"{path} is {kind_of_entry(info.st_mode)}, not a folder lithium-sim made; it is left alone")
            continue
        with uninterruptible():
            if what == "old" and parent.lstat(target.name) is None:
                try:
                    parent.rename(path.name, target.name)
                except OSError as err:
                    report(
                        f"could not restore {path} to {target} ({describe_os_error(err)}); "
                        "it holds the previous results: rename it yourself"
                    )
                    continue
                report(
                    f"restored the previous {kind.name} {target} from {path.name} "
                    f"(process {pid} died while replacing it)"
                )
            elif what == "old":
                dispose(parent, target, kind, path.name)
                report(f"removed {path.name}, a {kind.name} that process {pid} had replaced before it died")
            else:
                parent.rmtree(path.name)
                state = "unfinished output" if what == "writing" else "files being deleted"
                report(f"removed {path.name}, {state} of process {pid}, which is no longer running")
