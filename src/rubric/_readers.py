"""Batch input: records streamed one at a time from JSON Lines, CSV or a YAML list.

Each reader yields ``Item``s: the line number, the unit's name, and either the raw record or the
problem that kept it from being read. Blank lines are counted, never silently dropped, so that
``scored + rejected + blank == lines read`` holds at the end of every run.

A record line is either a bare evidence record, or an envelope ``{"unit": NAME, "evidence":
RECORD}`` that names the unit for reports. CSV has one column per fact (see ``csv_value``).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Any, BinaryIO

from ._documents import DEFAULT_LIMITS, Limits, parse, parse_json_line
from ._errors import EvidenceError, Positions, Problem, short_repr, suggest
from ._fields import Assessed, Checklist, Count, FieldSpec, Flag
from ._rubric import Composite, Rubric

NONE_MARK = "-"
STDIN = "-"
_DIGITS = re.compile(r"[0-9]{1,18}\Z")  # longer runs stay text, and validation names them
_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?\Z")


@dataclass(frozen=True, slots=True)
class Item:
    """One line of input: a record to score, a blank line, or a line that could not be read."""

    line: int
    unit: str
    record: Any = None
    problems: tuple[Problem, ...] = ()
    blank: bool = False
    positions: Positions | None = None  # where each fact stood, when the input can say (a workbook)


class Tally:
    """How far a reader has gone through its input, for a progress bar: bytes read of ``total``
    (None when the size is not known: standard input, a pipe)."""

    def __init__(self) -> None:
        self.done = 0
        self.total: int | None = None


class _Counted:
    """A binary handle that adds what it reads to a tally."""

    def __init__(self, handle: BinaryIO, tally: Tally) -> None:
        self.handle, self.tally = handle, tally

    def readline(self, limit: int = -1) -> bytes:
        raw = self.handle.readline(limit)
        self.tally.done += len(raw)
        return raw


def unit_name(value: Any, line: int) -> str | Problem:
    """A unit's name as text: text as it is, a whole number as its digits; anything else is refused
    (null, true/false, fractions, mappings and lists name nothing a bulletin could show)."""
    if value is _NO_UNIT:
        return str(line)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    kinds = {bool: "true or false", Decimal: "a number that is not whole", dict: "a mapping", list: "a list"}
    kind = "null" if value is None else kinds.get(type(value), type(value).__name__)
    return Problem(
        "bad-unit",
        f"a unit is named by text or a whole number, got {kind}",
        ("unit",),
        hint="write the unit's name as text, or leave 'unit' out to name it by its line",
    )


_NO_UNIT = object()


def _envelope(line: int, value: Any) -> Item:
    if not (isinstance(value, dict) and "evidence" in value):
        return Item(line, str(line), value)
    unit = unit_name(value.get("unit", _NO_UNIT), line)
    if isinstance(unit, Problem):
        return Item(line, str(line), problems=(unit,))
    extra = sorted(set(value) - {"unit", "evidence"})
    if extra:
        return Item(
            line,
            unit,
            problems=(
                Problem(
                    "unknown-key",
                    f"unknown key {short_repr(extra[0])} in a batch record",
                    (extra[0],),
                    hint="a batch record is {unit, evidence}",
                ),
            ),
        )
    return Item(line, unit, value["evidence"])


def bounded_lines(handle: BinaryIO | _Counted, limit: int) -> Iterator[bytes | None]:
    """The file's lines, each read with a bound: a line longer than ``limit`` bytes is skipped
    to its end in small pieces (never held whole) and stands as ``None``, so line numbers hold."""
    while True:
        raw = handle.readline(limit + 1)
        if not raw:
            return
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw
            continue
        while raw and not raw.endswith(b"\n"):
            raw = handle.readline(_SKIP)
        yield None


_SKIP = 1 << 16


def _too_long(line: int, limits: Limits) -> Item:
    return Item(
        line,
        str(line),
        problems=(
            Problem(
                "too-large",
                f"the line is longer than the limit of {limits.max_bytes} bytes",
                hint="split the record, or raise --max-bytes",
            ),
        ),
    )


@contextlib.contextmanager
def open_input(path: str | FilePath) -> Iterator[BinaryIO]:
    """A binary handle on a file, or on standard input for ``-``."""
    if str(path) == STDIN:
        yield sys.stdin.buffer
        return
    with open(path, "rb") as handle:
        yield handle


@contextlib.contextmanager
def _counted(path: str | FilePath, tally: Tally | None) -> Iterator[BinaryIO | _Counted]:
    with open_input(path) as handle:
        if tally is None:
            yield handle
            return
        try:
            size = os.fstat(handle.fileno()).st_size
        except (OSError, ValueError):
            size = 0
        tally.total = size or None  # a pipe or terminal has no size worth showing
        yield _Counted(handle, tally)


def read_bytes(path: str | FilePath, limits: Limits) -> tuple[bytes, int]:
    """A whole (small) file or standard input, at most ``max_bytes + 1`` bytes, and its size."""
    try:
        with open_input(path) as handle:
            raw = handle.read(limits.max_bytes + 1)
            try:
                size = os.fstat(handle.fileno()).st_size
            except (OSError, ValueError):
                size = 0
    except OSError as exc:
        raise EvidenceError([Problem("io", exc.strerror or str(exc), (), file=str(path))]) from None
    return raw, max(size, len(raw))


def read_jsonl(
    path: str | FilePath, limits: Limits = DEFAULT_LIMITS, tally: Tally | None = None
) -> Iterator[Item]:
    """Records from a JSON Lines file (or standard input for ``-``), one per line."""
    with _counted(path, tally) as handle:
        for number, raw in enumerate(bounded_lines(handle, limits.max_bytes), start=1):
            if raw is None:
                yield _too_long(number, limits)
                continue
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield Item(number, str(number), problems=(Problem("not-utf8", "the line is not UTF-8"),))
                continue
            if not text.strip():
                yield Item(number, str(number), blank=True)
                continue
            try:
                value = parse_json_line(text, limits)
            except EvidenceError as exc:
                yield Item(number, str(number), problems=exc.problems)
                continue
            yield _envelope(number, value)


def read_yaml_list(path: str | FilePath, limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Records from a YAML (or JSON) file holding a list of records."""
    raw, size = read_bytes(path, limits)
    name = "<stdin>" if str(path) == STDIN else str(path)
    document = parse(raw, file=name, error=EvidenceError, limits=limits, size=size)
    if not isinstance(document.data, list):
        raise EvidenceError(
            [Problem("wrong-type", "a YAML batch file is a list of records", (), file=str(path))]
        )
    for index, value in enumerate(document.data):
        line = document.positions.marks.get((index,), (index + 1, 1))[0]
        yield _envelope(line, value)


def csv_columns(scorer: Rubric | Composite) -> dict[str, tuple[tuple[str, ...], FieldSpec]]:
    """The CSV column names of a rubric's facts: ``T1-01.sound``; for composites ``table1.T1-01.sound``."""
    columns: dict[str, tuple[tuple[str, ...], FieldSpec]] = {}
    if isinstance(scorer, Composite):
        for name, fact in scorer.doc.evidence.items():
            columns[name] = ((name,), fact)
        for part, rubric in scorer.parts.items():
            for column, (path, spec) in csv_columns(rubric).items():
                columns[f"{part}.{column}"] = ((part, *path), spec)
        return columns
    for category in scorer.doc.categories:
        for criterion in category.criteria:
            for name, spec in criterion.evidence.items():
                columns[f"{criterion.id}.{name}"] = ((criterion.id, name), spec)
    return columns


def csv_value(cell: str, spec: FieldSpec) -> Any:
    """A CSV cell as the evidence value of its field (docs/coercion.md, CSV input).

    flag: ``true``/``false``; count: ASCII digits; choice: the option; checklist: items present
    joined by ``;`` (``-`` for none); assessed: ``points:reason`` entries joined by ``;`` (``-``
    for none). Anything else is passed through as text so that validation names the problem.
    """
    if isinstance(spec, Flag):
        lowered = cell.lower()
        return True if lowered == "true" else False if lowered == "false" else cell
    if isinstance(spec, Count):
        return int(cell) if _DIGITS.match(cell) else cell
    if isinstance(spec, Checklist):
        return [] if cell == NONE_MARK else [item.strip() for item in cell.split(";")]
    if isinstance(spec, Assessed):
        if cell == NONE_MARK:
            return []
        entries: list[Any] = []
        for part in cell.split(";"):
            amount, _, reason = part.partition(":")
            amount = amount.strip()
            entries.append(
                {"points": Decimal(amount) if _AMOUNT.match(amount) else amount, "reason": reason.strip()}
            )
        return entries
    return cell


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = record
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


_BAD_LINE = "\ufffe"  # stands in for a line that cannot be decoded, so that the csv module keeps counting
_LONG_LINE = "\uffff"  # stands in for a line over the limit, read past without being held
UTF8, GB18030 = "utf-8", "gb18030"
_SNIFF = 1 << 20


def check_encoding(name: str) -> str:
    """A text encoding a CSV file can be read in line by line (its line break is the byte 0x0A,
    as in UTF-8, GBK, GB18030 and Big5; not UTF-16); raises ValueError otherwise."""
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {short_repr(name)} (try utf-8, gbk or gb18030)") from None
    if "\n,".encode(canonical, "replace") != b"\n," or canonical.startswith("utf-16"):
        raise ValueError(f"{name} files cannot be read line by line; save the file as UTF-8")
    return canonical


def detect_encoding(handle: BinaryIO) -> str:
    """UTF-8 when the whole input decodes as UTF-8 (with or without a BOM), else GB18030 (what
    Excel and WPS write as "CSV" on Chinese Windows: GBK is a subset of it). A file is scanned
    whole and rewound; standard input is judged by what can be peeked without consuming it."""
    decoder = codecs.getincrementaldecoder(UTF8)()
    try:
        if handle.seekable():
            while chunk := handle.read(_SNIFF):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return UTF8
        peek = getattr(handle, "peek", None)
        if peek is not None:
            decoder.decode(peek(_SNIFF)[:_SNIFF])  # a character cut at the end is not final
    except UnicodeDecodeError:
        return GB18030
    else:
        return UTF8
    finally:
        if handle.seekable():
            handle.seek(0)


def _decoded_lines(handle: BinaryIO | _Counted, limits: Limits, encoding: str) -> Iterator[str]:
    for number, raw in enumerate(bounded_lines(handle, limits.max_bytes), start=1):
        if raw is None:
            yield _LONG_LINE + "\n"
            continue
        try:
            yield raw.decode("utf-8-sig" if number == 1 and encoding == UTF8 else encoding)
        except UnicodeDecodeError:
            yield _BAD_LINE + "\n"


def read_csv(
    path: str | FilePath,
    scorer: Rubric | Composite,
    limits: Limits = DEFAULT_LIMITS,
    *,
    encoding: str | None = None,
    tally: Tally | None = None,
) -> Iterator[Item]:
    """Records from a CSV file with a header row of fact columns (and an optional ``unit``).

    The encoding is ``encoding`` or else detected (``detect_encoding``). Lines are decoded one at
    a time, so a line that cannot be decoded (or is longer than the limit) is rejected on its own
    and the lines around it are still read.
    """
    with _counted(path, tally) as handle:
        raw = handle.handle if isinstance(handle, _Counted) else handle
        used = encoding or detect_encoding(raw)
        lines = csv.reader(_decoded_lines(handle, limits, used))
        yield from _csv_items(lines, path, scorer, limits, used)


def _undecodable(encoding: str) -> Problem:
    if encoding == UTF8:
        return Problem("not-utf8", "the line is not UTF-8", hint="say the file's encoding with --encoding")
    return Problem(
        "bad-encoding", f"the line is not {encoding}", hint="save the file as UTF-8, or use --encoding"
    )


def _header_problem(path: str | FilePath, code: str, message: str, hint: str = "") -> EvidenceError:
    return EvidenceError([Problem(code, message, (), file=str(path), line=1, hint=hint)])


def _csv_header(reader: Any, path: str | FilePath, columns: dict[str, Any]) -> list[str] | None:
    try:
        header: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise _header_problem(path, "bad-csv", str(exc)) from None
    if _LONG_LINE in "".join(header):
        raise _header_problem(path, "too-large", "the header line is longer than the limit")
    unknown = [h for h in header if h != "unit" and h not in columns]
    if _BAD_LINE in "".join(header) or unknown:
        name = unknown[0] if unknown else "?"
        raise _header_problem(
            path, "unknown-column", f"unknown column {short_repr(name)}", suggest(name, columns)
        )
    first: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if name in first:
            raise _header_problem(
                path,
                "duplicate-column",
                f"columns {first[name]} and {number} are both named {short_repr(name)}",
                "keep one column per fact",
            )
        first[name] = number
    return header


def _csv_items(
    reader: Any, path: str | FilePath, scorer: Rubric | Composite, limits: Limits, encoding: str = UTF8
) -> Iterator[Item]:
    columns = csv_columns(scorer)
    header = _csv_header(reader, path, columns)
    if header is None:
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Item(reader.line_num, str(reader.line_num), problems=(Problem("bad-csv", str(exc)),))
            continue
        line = reader.line_num
        if any(_LONG_LINE in cell for cell in row):
            yield _too_long(line, limits)
        elif any(_BAD_LINE in cell for cell in row):
            yield Item(line, str(line), problems=(_undecodable(encoding),))
        elif not any(cell.strip() for cell in row):
            yield Item(line, str(line), blank=True)
        elif len(row) != len(header):
            yield Item(
                line,
                str(line),
                problems=(Problem("bad-csv", f"{len(row)} cells, but the header has {len(header)}"),),
            )
        else:
            yield _csv_item(line, header, row, columns)


def _csv_item(line: int, header: list[str], row: list[str], columns: dict[str, Any]) -> Item:
    record: dict[str, Any] = {}
    unit = str(line)
    for name, cell in zip(header, row, strict=True):
        if name == "unit":
            unit = cell or unit
        elif cell != "":
            field_path, spec = columns[name]
            _set(record, field_path, csv_value(cell, spec))
    return Item(line, unit, record)


FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "yaml",
    ".xlsx": "xlsx",
}


def read_items(
    path: str | FilePath,
    scorer: Rubric | Composite,
    limits: Limits = DEFAULT_LIMITS,
    fmt: str | None = None,
    *,
    encoding: str | None = None,
    tally: Tally | None = None,
) -> Iterator[Item]:
    """Records from a batch input file, by ``fmt`` (jsonl, csv, yaml or xlsx) or else by its
    extension (.jsonl/.ndjson, .csv, .yaml/.yml/.json, .xlsx); standard input (``-``) is JSON
    Lines unless told. ``encoding`` applies to CSV (detected when None); ``tally`` follows the
    bytes read of a JSON Lines or CSV file."""
    if fmt is None:
        fmt = "jsonl" if str(path) == STDIN else FORMATS.get(FilePath(path).suffix.lower())
    if fmt == "jsonl":
        return read_jsonl(path, limits, tally)
    if fmt == "csv":
        return read_csv(path, scorer, limits, encoding=encoding, tally=tally)
    if fmt == "yaml":
        return read_yaml_list(path, limits)
    if fmt == "xlsx":
        from ._xlsx_read import read_xlsx  # noqa: PLC0415 - openpyxl is an optional extra

        return read_xlsx(path, scorer, limits)
    raise EvidenceError(
        [
            Problem(
                "unknown-format",
                f"cannot tell the format of {short_repr(str(path))}",
                (),
                file=str(path),
                hint="use .jsonl, .csv, .yaml or .xlsx, or say which with --input-format",
            )
        ]
    )
