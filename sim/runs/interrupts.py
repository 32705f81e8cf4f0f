"""SIGINT while output is written: recorded for the program, held during renames and deletions.

Owns the interrupt handling of every command that writes a directory (`sim.runs.rundir`, `sim.runs.store`, the
command line): `interrupts_recorded` lets Ctrl-C raise KeyboardInterrupt as usual but remembers it
(`interrupt_requested`), and `uninterruptible` holds it until a block of renames or deletions is done, so an
interrupt never leaves half a swap behind.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

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
