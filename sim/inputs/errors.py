"""Errors the command line turns into exit codes: bad input is 2, anything else is 1."""

from __future__ import annotations


class InputError(Exception):
    """Bad input from a user's file or argument: names the file, the key and what is allowed.

    Args:
        detail: what is wrong and what is allowed.
        file: the file the value came from, if any.
        key: the dotted key inside the file, if any.
    """

    def __init__(self, detail: str, *, file: str | None = None, key: str | None = None) -> None:
        self.detail = detail
        self.file = file
        self.key = key
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = []
        if self.file:
            where.append(f"in {self.file}")
        if self.key:
            where.append(f"at key '{self.key}'")
        prefix = " ".join(where)
        return f"{prefix}: {self.detail}" if prefix else self.detail
