"""Errors the command line turns into exit codes: bad input is 2, anything else is 1."""

from __future__ import annotations

import difflib
import re

MAX_VALUE = 80  # characters of a quoted value from input that a message repeats; longer ones are cut
MAX_PATH = 256  # the same for a file name, or anything else unbroken by spaces (paths are long, values short)
_MAX_MESSAGE = 2000  # a message as a whole, whatever it holds
_QUOTED = MAX_VALUE - 1
_LONG = re.compile(rf"'[^'\n]{{{_QUOTED},}}'|\"[^\"\n]{{{_QUOTED},}}\"|\S{{{MAX_PATH + 1},}}")


def cut(value: str, limit: int = MAX_VALUE) -> str:
    """A value from input as a message shows it: control characters escaped, and when it is longer than
    ``limit``, its head and tail around an ellipsis that says how long it was."""
    if len(value) <= limit and value.isprintable():
        return value
    if len(value) <= limit:
        return _printable(value)
    head, tail = _printable(value[: limit * 2 // 3]), _printable(value[-(limit // 3) :])
    return f"{head[: limit * 2 // 3]}…{tail[-(limit // 3) :]} ({len(value):,} characters)"


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def did_you_mean(word: str, choices) -> str:
    """ " Did you mean 'x'?" for the closest of ``choices`` to a misspelt ``word`` (difflib), else ""."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.7)
    return f" did you mean '{close[0]}'?" if close else ""


def clip(text: str) -> str:
    """A message safe to print: each long value in it cut (see `cut`), and the whole bounded."""
    text = _LONG.sub(lambda m: cut(m.group(0), MAX_VALUE if m.group(0)[0] in "'\"" else MAX_PATH), text)
    text = _printable(text)  # one line, whatever the values held
    return text if len(text) <= _MAX_MESSAGE else cut(text, _MAX_MESSAGE)


class InputError(Exception):
    """Bad input from a user's file or argument: names the file, the key and what is allowed.

    The message repeats what came from the input (a file name, a key, an offending value) cut to a few
    dozen characters, with control characters escaped: `message` is the one place where that happens, so
    whatever a caller puts in ``detail``, a message stays a paragraph.

    Args:
        detail: what is wrong and what is allowed.
        file: the file the value came from, if any.
        key: the dotted key inside the file, if any.
        translations: ``detail`` in other languages, by language code (``{"zh": ...}``), for commands run in
            that language (`message_in`).
    """

    def __init__(
        self, detail: str, *, file: str | None = None, key: str | None = None, translations: dict | None = None
    ) -> None:
        self.detail = detail
        self.file = file
        self.key = key
        self.translations = dict(translations or {})
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = []
        if self.file:
            where.append(f"in {cut(str(self.file), MAX_PATH)}")
        if self.key and str(self.key).startswith("--"):  # a command-line option, not a key in a file
            where.append(f"(given by {cut(str(self.key))})")
        elif self.key:
            where.append(f"at key '{cut(str(self.key))}'")
        prefix = " ".join(where)
        detail = clip(self.detail)
        return f"{prefix}: {detail}" if prefix else detail

    def message_in(self, lang: str) -> str:
        """The message in Chinese (``lang`` "zh") where the error carries a translation, else in English."""
        if lang != "zh" or lang not in self.translations:
            return self.message
        where = []
        if self.file:
            where.append(f"文件 {cut(str(self.file), MAX_PATH)}")
        if self.key and str(self.key).startswith("--"):
            where.append(f"（由 {cut(str(self.key))} 给出）")
        elif self.key:
            where.append(f"键 '{cut(str(self.key))}'")
        detail = clip(self.translations[lang])
        return f"{'，'.join(where)}：{detail}" if where else detail
