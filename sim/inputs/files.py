"""The one guarded place where a path from input becomes a file's text.

Scenario files name other files (``extends``, ``parameter_file``) and the command line names scenario and
parameter files. Every such path goes through `resolve` and every such file through `read_text` /
`read_toml`, which turn whatever the operating system, the decoder or the parser raises into an
`InputError` naming the file and the key:

- a path is text without NUL characters, at most `MAX_PATH_BYTES` long with names of at most
  `MAX_NAME_BYTES`; relative paths are taken from the directory of the file that names them;
- a path named inside a file must lie within the allowed roots (`Roots`): by default the referring
  scenario's own directory tree, the project's scenario library and its calibration files; the command
  line widens them with ``--allow-path DIR``. Paths are checked as written and again with symbolic links
  resolved, so a link cannot lead out; nothing outside the roots is opened, or even looked at;
- the file must be a regular file (a directory, a named pipe or a device is named as what it is), at most
  `MAX_FILE_BYTES` long, UTF-8 text (a byte-order mark is accepted) and, for TOML, nested at most
  `MAX_NESTING` levels deep.

Parsing has a budget: before ``tomllib`` sees a text, one linear scan (`check_budget`) bounds its size, its
lines and the depth of its keys and values (table headers, dotted keys, inline tables and arrays), so a
text built to make the parser slow (``tomllib`` is quadratic in the parts of one dotted key) is refused in
milliseconds.

Messages never repeat the content of a file that failed to parse: TOML errors give a line and column.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.inputs.errors import InputError

MAX_PATH_BYTES = 4096  # PATH_MAX on Linux
MAX_NAME_BYTES = 255  # NAME_MAX on Linux, macOS and Windows
MAX_FILE_BYTES = 4 * 1024 * 1024  # scenario and parameter files are a few kB
MAX_NESTING = 16  # tables and arrays within each other; the scenario schema needs 4
MAX_LINES = 100_000  # lines of a TOML text; the library's scenarios have 25 to 120, the parameter files ~200
_BOM = b"\xef\xbb\xbf"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def library_dirs() -> tuple[Path, ...]:
    """The project's scenario library and calibration files: every scenario may read these."""
    root = project_root()
    return (root / "scenarios", root / "calibration")


@dataclass(frozen=True)
class Roots:
    """Directories whose files (and subdirectories' files) a scenario may read; ``None``: anywhere.

    Attributes:
        dirs: the allowed directories, absolute.
    """

    dirs: tuple[Path, ...] | None

    @classmethod
    def anywhere(cls) -> Roots:
        return cls(None)

    @classmethod
    def of(cls, dirs: Iterable[str | Path]) -> Roots:
        forms: list[Path] = []
        for d in dirs:
            text = os.fspath(d)
            check_path_text(text, what="an allowed directory")
            for form in (Path(os.path.abspath(text)), Path(os.path.realpath(text))):
                if form not in forms:
                    forms.append(form)
        return cls(tuple(forms))

    def allows(self, path: str | Path) -> bool:
        return self.dirs is None or any(Path(path).is_relative_to(d) for d in self.dirs)

    def describe(self) -> str:
        if self.dirs is None:
            return "anywhere"
        shown = list(dict.fromkeys(str(d) for d in self.dirs))
        return ", ".join(shown)


def check_path_text(text: Any, *, what: str = "a path", file: str | None = None, key: str | None = None) -> str:
    """``text`` if it can name a file on this system; else `InputError` saying why (checks no file)."""
    if isinstance(text, os.PathLike):
        text = os.fspath(text)
    if not isinstance(text, str):
        raise InputError(f"{what} must be a string, got {type(text).__name__}", file=file, key=key)
    if not text:
        raise InputError(f"{what} is empty", file=file, key=key)
    if "\0" in text:
        raise InputError(f"{what} '{text}' contains a NUL character, which no file name can hold", file=file, key=key)
    try:
        encoded = os.fsencode(text)
    except UnicodeError:
        raise InputError(
            f"{what} '{text}' has characters this system cannot use in file names", file=file, key=key
        ) from None
    if len(encoded) > MAX_PATH_BYTES:
        raise InputError(
            f"{what} is {len(encoded):,} bytes long; paths may have at most {MAX_PATH_BYTES} bytes", file=file, key=key
        )
    longest = max(encoded.split(b"/"), key=len)
    if len(longest) > MAX_NAME_BYTES:
        raise InputError(
            f"{what} '{text}' has a name of {len(longest):,} bytes; a file or directory name may have at most "
            f"{MAX_NAME_BYTES} bytes",
            file=file,
            key=key,
        )
    return text


def describe_os_error(err: OSError) -> str:
    """What an OSError means for a path a user gave, in words (no traceback, no errno numbers)."""
    reasons = {
        errno.ENOENT: "does not exist",
        errno.ELOOP: "is a loop of symbolic links",
        errno.ENAMETOOLONG: "is too long a name for this file system",
        errno.ENOTDIR: "goes through something that is not a directory",
        errno.EISDIR: "is a directory",
        errno.EACCES: "cannot be accessed (permission denied)",
        errno.EPERM: "cannot be accessed (operation not permitted)",
        errno.EROFS: "is on a read-only file system",
        errno.ENOSPC: "is on a full disk (no space left on the device)",
        errno.EDQUOT: "is over its disk quota",
        errno.EFBIG: "would be larger than the file system allows",
        errno.EEXIST: "already exists",
        errno.EXDEV: "is on another file system",
        errno.EBUSY: "is in use (busy)",
        errno.EIO: "cannot be read or written (input/output error)",
    }
    return reasons.get(err.errno or 0, f"cannot be used ({err.strerror or err.__class__.__name__})")


def kind_of(mode: int) -> str | None:
    """'a directory', 'a named pipe (FIFO)', ... for anything that is not a regular file; None for one."""
    for test, name in _KINDS:
        if test(mode):
            return name
    return None if stat.S_ISREG(mode) else "not a regular file"


def resolve(
    ref: Any,
    *,
    base: str | Path | None = None,
    roots: Roots | None = None,
    what: str = "file",
    file: str | None = None,
    key: str | None = None,
) -> Path:
    """The regular file a path from input names, with symbolic links resolved.

    Args:
        ref: the path as given (a string from a file or the command line, or a Path).
        base: the directory a relative ``ref`` is taken from (the referring file's); None: the current one.
        roots: where the file may be (`Roots`); None: anywhere (paths the user typed on the command line).
        what: what the file is, for messages ("scenario file", "parameter file").
        file: the file that names ``ref`` (None when it comes from the command line).
        key: the key (or command-line option) that names it.

    Raises:
        InputError: naming ``file`` and ``key`` (or ``ref`` itself when there is no ``file``).
    """
    text = check_path_text(ref, what=f"the {what} path", file=file, key=key)
    where = {"file": file, "key": key} if file else {"file": text, "key": key}
    shown = f"the {what} '{text}' " if file else ""  # without a referring file, the message names the path
    joined = os.path.abspath(os.path.join(os.fspath(base), text) if base is not None else text)
    if roots is not None and not roots.allows(joined):
        raise InputError(_outside(shown, roots), **where)
    try:
        real = os.path.realpath(joined, strict=True)
        if roots is not None and not roots.allows(real):
            raise InputError(_outside(f"{shown}(a symbolic link to {real}) ", roots), **where)
        mode = os.stat(real).st_mode
    except OSError as err:
        if file and err.errno == errno.ENOENT:
            raise InputError(f"{shown}does not exist (looked for {joined})", **where) from None
        raise InputError(f"{shown}{describe_os_error(err)}", **where) from None
    except ValueError as err:  # e.g. a path the platform cannot represent
        raise InputError(f"{shown}cannot be used ({err})", **where) from None
    kind = kind_of(mode)
    if kind is not None:
        raise InputError(f"{shown}is {kind}, not a {what}", **where)
    return Path(real)


def _outside(shown: str, roots: Roots) -> str:
    return (
        f"{shown}is outside the folders a scenario may read ({roots.describe()}); move the file there, "
        "or allow its folder on the command line with --allow-path DIR"
    )


@dataclass(frozen=True)
class TextFile:
    """A file read once: its path, its text and the SHA-256 of its bytes (for provenance)."""

    path: Path
    text: str
    sha256: str


def decode(data: bytes, label: str) -> str:
    """UTF-8 text of ``data`` (a leading byte-order mark is dropped); `InputError` naming ``label`` if it is not."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise InputError(
            f"is not UTF-8 text (byte 0x{data[err.start]:02x} at line {line}, column {column}); save it as UTF-8",
            file=label,
        ) from None


def read_text(path: Path, *, what: str = "file", limit: int = MAX_FILE_BYTES) -> TextFile:
    """Read a file `resolve` returned: at most ``limit`` bytes of UTF-8 text."""
    label = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            kind = kind_of(mode)
            if kind is not None:  # replaced between resolve and open
                raise InputError(f"is {kind}, not a {what}", file=label)
            data = handle.read(limit + 1)
    except OSError as err:
        raise InputError(describe_os_error(err), file=label) from None
    if len(data) > limit:
        raise InputError(f"is larger than {limit // (1024 * 1024)} MB; a {what} is a few kB of text", file=label)
    return TextFile(path, decode(data, label), hashlib.sha256(data).hexdigest())


# what the scan stops at: in a key, its dots and what ends it; in a value, brackets, strings and line ends
_IN_KEY = re.compile(r'"""' + r"|'''" + r"""|["'#\[\]{},=.\n]""")
_IN_VALUE = re.compile(r'"""' + r"|'''" + r"""|["'#\[\]{},\n]""")
_BLANK = re.compile(r"[ \t\r\n]*")
_STRING_END = {
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"'),
    "'": re.compile(r"[^'\n]*'"),
    '"""': re.compile(r'(?:[^\\]|\\.)*?"""', re.DOTALL),
    "'''": re.compile(r"[\s\S]*?'''"),
}


def check_budget(text: str, label: str, limit: int = MAX_NESTING) -> None:
    """Refuse, before any parser sees it, a TOML text too long, of too many lines or nested too deeply.

    One pass over the text, linear in its length, follows strings, comments, table headers, dotted keys,
    inline tables and arrays, and counts how deep each key or value would sit (a header's parts, a key's
    dotted parts and the brackets open around it). What it cannot follow (an unterminated string or header)
    it leaves to ``tomllib``, whose errors name a line and column.

    Raises:
        InputError: naming ``label``, the line and the limit.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise InputError(
            f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; a scenario is a few kB of text", file=label
        )
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        raise InputError(f"has {lines:,} lines; a scenario or parameter file has at most {MAX_LINES:,}", file=label)

    def too_deep(position: int, what: str) -> InputError:
        line = text.count("\n", 0, position) + 1
        return InputError(
            f"{what} at line {line} is nested too deeply: at most {limit} levels of tables, dotted keys, "
            "inline tables and arrays (a scenario needs 4)",
            file=label,
        )

    header = 0  # parts of the current [table] header
    stack: list[tuple[str, int]] = []  # open '[' and '{' of values, with the depth of each
    depth = 0  # a table's depth (its keys add their parts), or the depth of the value or items being read
    parts = 1  # parts of the key being read
    in_key = True  # at a key: a line's start (outside values), or after '{' or ',' in an inline table
    position, end = 0, len(text)
    while position < end:
        match = (_IN_KEY if in_key else _IN_VALUE).search(text, position)
        if match is None:
            return
        token, position = match.group(), match.end()
        if token in _STRING_END:  # strings: quoted keys and values; what is in them is text
            closed = _STRING_END[token].match(text, position)
            if closed is None:
                return
            position = closed.end()
        elif token == "#":
            newline = text.find("\n", position)
            position = end if newline < 0 else newline
        elif token == "\n":
            if not stack:
                in_key, parts, depth = True, 1, header
        elif token == "." and in_key:
            parts += 1
            if depth + parts > limit:
                raise too_deep(match.start(), "a dotted key")
        elif token == "=" and in_key:
            in_key, depth, parts = False, depth + parts, 1
            if depth > limit:
                raise too_deep(match.start(), "a key")
        elif token == "[" and in_key and not stack:  # a table header: [a.b] or [[a.b]]
            closing = _header_end(text, position)
            if closing is None:
                return
            name, position = closing
            header = name.count(".") + 1 + (1 if name.startswith("[") else 0)
            if header > limit:
                raise too_deep(match.start(), "a table header")
            depth = header
        elif token == "[":  # an array: its items sit one level deeper than it
            stack.append((token, depth))
            depth += 1
            following = _BLANK.match(text, position).end()
            if depth > limit and not (following < end and text[following] == "]"):  # an empty one holds nothing
                raise too_deep(match.start(), "an array")
            in_key = False
        elif token == "{":  # an inline table: its keys add their parts to its depth, as a table's do
            stack.append((token, depth))
            in_key, parts = True, 1
        elif token in "]}":
            if stack:
                depth = stack.pop()[1]
            in_key = False
        elif token == "," and stack:
            kind, outer = stack[-1]
            in_key, parts = kind == "{", 1
            depth = outer if kind == "{" else outer + 1


def _header_end(text: str, position: int) -> tuple[str, int] | None:
    """A table header from ``position`` (after its first '['): its name with quoted parts left out (a second
    '[' kept first, for an array of tables), and the position after its closing bracket(s); None if the
    line ends first."""
    name: list[str] = []
    while position < len(text):
        char = text[position]
        if char in "\"'":
            closed = _STRING_END[char].match(text, position + 1)
            if closed is None:
                return None
            position = closed.end()
        elif char == "]":
            position += 1
            if position < len(text) and text[position] == "]":
                position += 1
            return "".join(name), position
        elif char == "\n":
            return None
        else:
            name.append(char)
            position += 1
    return None


def parse_toml(text: str, label: str) -> dict[str, Any]:
    """TOML ``text`` as a dict, nested at most `MAX_NESTING` deep; errors give positions, never content.

    The text is first checked by `check_budget`, so no text makes the parser run long or use much memory."""
    check_budget(text, label)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"not valid TOML: {err}", file=label) from None
    except RecursionError:
        raise InputError(f"values are nested too deeply (at most {MAX_NESTING} levels)", file=label) from None
    except ValueError:  # an integer beyond Python's limit on digits
        raise InputError(f"not valid TOML: a number has more than {_max_digits()} digits", file=label) from None
    check_nesting(data, label)
    return data


def _max_digits() -> int:
    return getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300


def check_nesting(data: Any, label: str, limit: int = MAX_NESTING) -> None:
    """`InputError` if tables and arrays nest more than ``limit`` levels deep (checked without recursion)."""
    stack = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise InputError(f"values are nested too deeply (at most {limit} levels)", file=label)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def read_toml(path: Path, *, what: str = "file") -> tuple[dict[str, Any], TextFile]:
    """A TOML file `resolve` returned, parsed and checked, with its text and hash."""
    text = read_text(path, what=what)
    return parse_toml(text.text, str(path)), text
