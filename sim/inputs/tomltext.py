"""TOML text from Python values: the one writer behind every file the project writes for people to read back
(the calibrated parameter file, a scenario saved from the workbench). Reading is `tomllib`'s.

Keys are bare where TOML allows and nothing could misread them (letters, digits, ``_`` and ``-``; a month such
as ``2025-08`` is quoted so it never looks like a date); strings use JSON's escapes, which are TOML's, with DEL
escaped as TOML requires; floats are written in their shortest exact form, so they read back bit for bit.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


def toml_string(text: str) -> str:
    """A TOML basic string."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def toml_key(key: Any) -> str:
    """A key, bare when that is safe, quoted otherwise."""
    key = str(key)
    return key if _BARE_KEY.fullmatch(key) and not _MONTH.fullmatch(key) else toml_string(key)


def toml_value(value: Any, finite: bool = False) -> str:
    """A TOML value: booleans, integers, floats (``nan`` and ``inf`` too unless ``finite``), strings, dates and
    times, lists and inline tables of those.

    Raises:
        ValueError: a NaN or infinite float when ``finite``.
        TypeError: a value TOML cannot hold.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            if finite:
                raise ValueError(f"a value must be finite, got {value}")
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v, finite)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v, finite) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def toml_table(
    name: str,
    values: Mapping[str, Any],
    comments: Mapping[str, str] | None = None,
    *,
    array: bool = False,
    finite: bool = False,
) -> str:
    """One table (``[name]``, or ``[[name]]`` as an element of an array of tables) of values, each line with an
    optional end-of-line comment."""
    lines = [f"[[{name}]]" if array else f"[{name}]"]
    for key, value in values.items():
        line = f"{toml_key(key)} = {toml_value(value, finite)}"
        if comments and key in comments:
            line = f"{line:<44}# {comments[key]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def toml_dumps(tree: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """A whole document from nested mappings: values first, then sub-tables and arrays of tables."""
    lines = [
        f"{toml_key(k)} = {toml_value(v)}"
        for k, v in tree.items()
        if not isinstance(v, Mapping) and not _is_table_array(v)
    ]
    for k, v in tree.items():
        header = ".".join(toml_key(p) for p in (*prefix, k))
        if isinstance(v, Mapping):
            lines += [f"[{header}]", toml_dumps(v, (*prefix, k))]
        elif _is_table_array(v):
            for item in v:
                lines += [f"[[{header}]]", toml_dumps(item, (*prefix, k))]
    return "\n".join(lines) + "\n"
