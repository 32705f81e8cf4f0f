"""Reading what a browser sends, within a budget of time and memory.

A scenario that arrives as text (an upload, or a link that holds one) is parsed by `parse` in a worker
process, never in the server's own: the worker may take at most `PARSE_SECONDS` and `PARSE_MEMORY_BYTES`
of memory, and is killed and replaced when it runs over, so no text can stall the server or fill its
memory, whatever it does to the parser. The text is first bounded to `MAX_TEXT_BYTES` (a scenario is a few
kB; the library's largest is 6 kB) and checked by the linear scan of `sim.inputs.files.check_budget`.

`install` makes `sim.inputs.scenario.load_scenario_text` parse through here (the workbench's server calls
it at start-up); the scenario is then validated in the server's process as any scenario is.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

from sim.inputs.errors import InputError

PARSE_SECONDS = 5.0  # a scenario parses in milliseconds; the worker is stopped beyond this
PARSE_MEMORY_BYTES = 1024 * 1024 * 1024  # address space of the worker (a few kB of TOML needs a few MB)
MAX_TEXT_BYTES = 256 * 1024  # a scenario the workbench reads; `lithium-sim check` reads files up to 4 MB


def _limit_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX: the time limit still holds
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard if hard != resource.RLIM_INFINITY else limit))


def _serve(connection: Any, memory: int) -> None:
    """The worker: parse each (text, label) it is sent; answer ("ok", tables) or ("input", message)."""
    _limit_memory(memory)
    from sim.inputs import files

    while True:
        try:
            text, label = connection.recv()
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", files.parse_toml(text, label))
        except InputError as err:
            answer = ("input", (err.detail, err.file, err.key))
        except MemoryError:
            answer = ("memory", None)
        except Exception as err:  # noqa: BLE001 - reported to the server, which logs it
            answer = ("error", f"{type(err).__name__}: {err}")
        del text
        connection.send(answer)


class Parser:
    """One worker process, started on first use and replaced after it runs over its budget."""

    def __init__(self, seconds: float = PARSE_SECONDS, memory: int = PARSE_MEMORY_BYTES) -> None:
        self.seconds = seconds
        self.memory = memory
        self._lock = threading.Lock()
        self._process: Any = None
        self._connection: Any = None

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(theirs, self.memory), name="lithium-sim-parser", daemon=True
        )
        self._process.start()
        theirs.close()
        self._connection = ours

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def parse(self, text: str, label: str) -> dict[str, Any]:
        """The tables of a TOML ``text``, parsed within the budget (see the module docs).

        Raises:
            InputError: naming ``label``: the text is too large, not valid TOML, nested too deeply, or ran
                over the time or memory the workbench gives a scenario.
        """
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_TEXT_BYTES:
            raise InputError(
                f"is {size:,} bytes; the workbench reads scenarios of at most {MAX_TEXT_BYTES // 1024} kB (a "
                "scenario is a few kB; `lithium-sim check` reads files of up to 4 MB)",
                file=label,
            )
        with self._lock:
            if self._process is None or not self._process.is_alive():
                self._start()
            try:
                self._connection.send((text, label))
                if not self._connection.poll(self.seconds):
                    self._stop()
                    raise InputError(
                        f"could not be read within {self.seconds:g} s, the time the workbench gives a scenario",
                        file=label,
                    )
                kind, payload = self._connection.recv()
            except (EOFError, OSError, BrokenPipeError):
                self._stop()
                raise InputError(
                    "could not be read within the memory the workbench gives a scenario", file=label
                ) from None
        if kind == "ok":
            return payload
        if kind == "input":
            detail, file, key = payload
            raise InputError(detail, file=file, key=key)
        if kind == "memory":
            self._stop_quietly()
            raise InputError("could not be read within the memory the workbench gives a scenario", file=label)
        raise RuntimeError(f"the scenario parser failed on {label}: {payload}")

    def _stop_quietly(self) -> None:
        with self._lock:
            self._stop()

    def close(self) -> None:
        with self._lock:
            self._stop()


_PARSER = Parser()


def parse(text: str, label: str) -> dict[str, Any]:
    """`Parser.parse` with the server's one worker."""
    return _PARSER.parse(text, label)


def close() -> None:
    """Stop the worker (the server is stopping)."""
    _PARSER.close()


def install() -> None:
    """Make scenario text (`sim.inputs.scenario.load_scenario_text`) parse within the budget."""
    from sim.inputs.scenario import set_text_parser

    set_text_parser(parse)
