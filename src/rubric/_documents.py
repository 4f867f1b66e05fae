"""The one way this package reads YAML and JSON: safely, with limits, and with node positions.

YAML is read as a stream of parser events and built into plain data here, iteratively, so that
nothing is ever constructed from a tag, aliases are refused before they can expand, nesting depth
is bounded without recursion, duplicate keys are caught, and every node's line and column is kept
for error messages. Scalars follow one documented table (docs/coercion.md): only ``true``/``false``
are booleans, only plain decimal digits are integers, numbers with a point or exponent become
``Decimal`` straight from their text (never through float), and every YAML 1.1 surprise
(``yes``/``on``, ``012``, ``1:30``, dates, ``.nan``) stays text.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Any, BinaryIO

import yaml

from ._errors import EvidenceError, Positions, Problem, RubricEngineError, RubricError
from ._marks import Marks, Tree, pack

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_DECIMAL = re.compile(r"[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)\Z")
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_STR_TAGS = frozenset({"!", "tag:yaml.org,2002:str"})
_MAX_NUMBER_CHARS = 40


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what a document may be, checked before or while it is read."""

    max_bytes: int = 5_000_000
    max_depth: int = 64


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Document:
    """Plain data read from a file, with the position of every node."""

    data: Any
    positions: Positions
    source: bytes


def _scalar(value: str, tag: str | None, plain: bool) -> object:
    if not plain or tag in _STR_TAGS:
        return value
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    number = _INT.match(value) or _DECIMAL.match(value)
    if number and len(value) > _MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(value)} characters is longer than any score needs")
    if _INT.match(value):
        return int(value)
    if number:
        return Decimal(value)
    return value


def plain_text(value: str) -> bool:
    """True when ``value`` written unquoted would be read back as the same text."""
    try:
        return _scalar(value, None, True) == value and not isinstance(_scalar(value, None, True), bool)
    except (ValueError, ArithmeticError):
        return False


def _problem(code: str, message: str, line: int | None, column: int | None, hint: str = "") -> Problem:
    return Problem(code=code, message=message, line=line, column=column, hint=hint)


_UNSEEN = object()
_SHARED_SCALARS = 4096  # the cache is bounded too: unique values are not worth remembering


class _Builder:
    """Plain data from YAML events, built with an explicit stack (no recursion, bounded depth).

    Positions go into a ``Tree`` of flat arrays (a few bytes per node), not a dict of paths."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.tree = Tree()
        self.stack: list[list[Any]] = []  # frames: [container, node, pending key, its packed mark]
        self.scalars: dict[tuple[str, bool], object] = {}
        self.documents = 0

    def scalar(self, text: str, tag: str | None, plain: bool) -> object:
        """A scalar's value, shared with earlier equal scalars: a file of one number repeated
        would otherwise hold a Decimal (104 bytes) for every 3 bytes of input."""
        key = (text, tag in _STR_TAGS or not plain)
        value = self.scalars.get(key, _UNSEEN)
        if value is _UNSEEN:
            value = _scalar(text, tag, plain)
            if len(self.scalars) < _SHARED_SCALARS:
                self.scalars[key] = value
        return value

    @property
    def root(self) -> Any:
        """The document's top node."""
        return self.tree.root

    def place(self, value: object, line: int, col: int) -> int | None:
        """Put a finished node into its parent (a mapping's first node of a pair is its key);
        returns the node's number, or None for a key."""
        if not self.stack:
            self.tree.root = value
            return self.tree.add(pack(line, col), 0)
        frame = self.stack[-1]
        container = frame[0]
        if isinstance(container, list):
            container.append(value)
            return self.tree.add(pack(line, col), 0)
        if frame[2] is None:
            if not isinstance(value, (str, int, Decimal, bool)) and value is not None:
                raise _Fail("yaml-complex-key", "a mapping key must be plain text", line, col)
            key = "" if value is None else str(value)
            if key in container:
                raise _Fail(
                    "duplicate-key",
                    f"key '{key}' appears twice in the same mapping",
                    line,
                    col,
                    "each key may appear once; merge the two entries",
                )
            frame[2], frame[3] = key, pack(line, col)
            return None
        container[frame[2]] = value
        node = self.tree.add(pack(line, col), frame[3])
        frame[2] = None
        return node

    def open(self, event: Any, line: int, col: int) -> None:
        """Start a mapping or sequence."""
        if len(self.stack) >= self.limits.max_depth:
            raise _Fail(
                "too-deep",
                f"nesting deeper than {self.limits.max_depth} levels",
                line,
                col,
                "flatten the document, or raise Limits.max_depth",
            )
        if self.stack and isinstance(self.stack[-1][0], dict) and self.stack[-1][2] is None:
            raise _Fail("yaml-complex-key", "a mapping key must be plain text", line, col)
        container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
        node = self.place(container, line, col)
        self.stack.append([container, node, None, 0])

    def feed(self, event: Any) -> None:
        """Take one parser event."""
        mark = event.start_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _Fail("yaml-multiple-documents", "a file holds one document", line, col)
        elif isinstance(event, yaml.AliasEvent):
            raise _Fail(
                "yaml-alias",
                f"aliases (*{event.anchor}) are not allowed",
                line,
                col,
                "write the value out in full",
            )
        elif isinstance(event, (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            tag = event.tag
            if tag is not None and tag not in _STR_TAGS:
                raise _Fail("yaml-tag", f"the tag {tag} is not allowed", line, col, "remove the tag")
            if isinstance(event, yaml.ScalarEvent):
                try:
                    value = self.scalar(event.value, tag, event.implicit[0] and not event.style)
                except (ValueError, ArithmeticError) as exc:  # decimal signals are ArithmeticErrors
                    raise _Fail(
                        "number-too-large", str(exc) or "a number too large to represent", line, col
                    ) from None
                self.place(value, line, col)
            else:
                self.open(event, line, col)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.tree.close(self.stack.pop()[1])


def _build(text: str, limits: Limits) -> _Builder:
    """Plain data and node positions from YAML text."""
    builder = _Builder(limits)
    for event in yaml.parse(text, Loader=_Loader):
        builder.feed(event)
    return builder


class _Fail(Exception):
    def __init__(self, code: str, message: str, line: int | None, col: int | None, hint: str = ""):
        super().__init__(message)
        self.problem = _problem(code, message, line, col, hint)


def _decode(raw: bytes, file: str | None) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark is harmless: documented as accepted
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        column = len(raw[start : exc.start].decode("utf-8", errors="replace")) + 1
        raise _Fail(
            "not-utf8",
            f"byte {raw[exc.start]:#04x} is not UTF-8",
            line,
            column,
            "save the file as UTF-8",
        ) from None


def parse(
    raw: bytes,
    *,
    file: str | None = None,
    error: type[RubricEngineError] = RubricError,
    limits: Limits = DEFAULT_LIMITS,
    size: int | None = None,
) -> Document:
    """Read YAML (or JSON, which this reads as YAML) bytes into plain data with positions."""
    text = ""
    try:
        if len(raw) > limits.max_bytes:
            raise _Fail(
                "too-large",
                f"{size if size is not None else len(raw)} bytes is over the limit of {limits.max_bytes}",
                None,
                None,
                "split the file, or raise Limits.max_bytes",
            )
        text = _decode(raw, file)
        built = _build(text, limits)
    except _Fail as fail:
        raise error([_with_file(fail.problem, file)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        message = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        code = "too-deep" if "nesting depth" in message else "yaml-syntax"
        raise error([_with_file(_problem(code, message, line, col), file)]) from None
    except yaml.reader.ReaderError as exc:
        line, col = _place(text, exc.position)
        message = f"the character {exc.character!r} is not allowed in YAML"
        raise error([_with_file(_problem("yaml-syntax", message, line, col), file)]) from None
    except yaml.YAMLError as exc:
        raise error([_with_file(_problem("yaml-syntax", str(exc), 1, 1), file)]) from None
    return Document(
        data=built.root,
        positions=Positions(file=file, marks=Marks(built.tree), keys=Marks(built.tree, keys=True)),
        source=raw,
    )


def _place(text: str, position: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a character offset."""
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def _with_file(problem: Problem, file: str | None) -> Problem:
    return Problem(
        code=problem.code,
        message=problem.message,
        path=problem.path,
        file=file,
        line=problem.line,
        column=problem.column,
        hint=problem.hint,
    )


def _open_regular(path: str | FilePath) -> BinaryIO:
    """Open a file only if it is a regular file: checked before opening (opening a FIFO blocks,
    opening some devices acts) and again on the open handle (the path may have been swapped)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise _NotRegular
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _NotRegular
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class _NotRegular(Exception):
    pass


def read_file(
    path: str | FilePath,
    *,
    error: type[RubricEngineError] = RubricError,
    limits: Limits = DEFAULT_LIMITS,
    regular_only: bool = False,
) -> Document:
    """Read a YAML or JSON file, refusing an oversized one before reading it whole.

    With ``regular_only``, a FIFO, device or folder is refused without reading from it."""
    name = str(path)
    try:
        with _open_regular(path) if regular_only else open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            # read(n) sets aside n bytes first: ask for what the file holds, and only read on
            # (up to the limit) if it holds more than it said (a pipe says 0; a file may grow).
            first = min(size, limits.max_bytes) + 1
            raw = handle.read(first)
            if len(raw) == first and first <= limits.max_bytes:
                raw += handle.read(limits.max_bytes + 1 - first)
    except _NotRegular:
        raise error(
            [
                Problem(
                    code="not-a-file",
                    message="not a regular file (a folder, FIFO or device)",
                    file=name,
                    hint="name a YAML file",
                )
            ]
        ) from None
    except OSError as exc:
        raise error([Problem(code="io", message=exc.strerror or str(exc), file=name)]) from None
    except ValueError as exc:  # a path with a NUL byte
        raise error([Problem(code="io", message=str(exc), file=name.replace("\0", "\\0"))]) from None
    return parse(raw, file=name, error=error, limits=limits, size=max(size, len(raw)))


def _refuse_constant(name: str) -> object:
    raise _JsonFail("not-finite", f"{name} is not a number this engine accepts")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _JsonFail("duplicate-key", f"key '{key}' appears twice in the same object")
        out[key] = value
    return out


def _float(text: str) -> Decimal:
    if len(text) > _MAX_NUMBER_CHARS:
        raise _JsonFail(
            "number-too-large", f"a number of {len(text)} characters is longer than any score needs"
        )
    try:
        return Decimal(text)
    except ArithmeticError:  # an exponent beyond what Decimal represents
        raise _JsonFail("number-too-large", f"{text} is too large to represent") from None


def _int(text: str) -> int:
    if len(text) > _MAX_NUMBER_CHARS:
        raise _JsonFail("number-too-large", f"a number of {len(text)} digits is longer than any score needs")
    return int(text)


class RecordError(EvidenceError, ValueError):
    """A JSON record that cannot be read (an EvidenceError, and a ValueError for json users)."""


def parse_json_line(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse one JSON value strictly (Decimal numbers, no NaN, no duplicate keys); RecordError if bad."""
    try:
        return _json_value(text, limits)
    except _JsonFail as fail:
        raise RecordError([Problem(fail.code, str(fail))]) from None
    except ValueError as exc:
        raise RecordError([Problem("bad-json", str(exc))]) from None


class _JsonFail(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _json_value(text: str, limits: Limits) -> Any:
    if len(text) > limits.max_bytes:
        raise _JsonFail("too-large", f"a record of {len(text)} characters is over the limit")
    try:
        value = json.loads(
            text,
            parse_float=_float,
            parse_int=_int,
            parse_constant=_refuse_constant,
            object_pairs_hook=_pairs,
        )
    except RecursionError:
        raise _JsonFail("too-deep", "nesting too deep") from None
    # Counting brackets is C-speed and bounds the depth from above: walk only when it might be over.
    if text.count("[") + text.count("{") > limits.max_depth and _depth(value) > limits.max_depth:
        raise _JsonFail("too-deep", f"nesting deeper than {limits.max_depth} levels")
    return value


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, level = todo.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            todo.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


__all__ = [
    "DEFAULT_LIMITS",
    "Document",
    "EvidenceError",
    "Limits",
    "parse",
    "parse_json_line",
    "read_file",
]
