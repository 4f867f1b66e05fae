"""Batch input: records streamed one at a time from JSON Lines, CSV or a YAML list.

Each reader yields ``Item``s: the line number, the unit's name, and either the raw record or the
problem that kept it from being read. Blank lines are counted, never silently dropped, so that
``scored + rejected + blank == lines read`` holds at the end of every run.

A record line is either a bare evidence record, or an envelope ``{"unit": NAME, "evidence":
RECORD}`` that names the unit for reports. CSV has one column per fact (see ``csv_value``).
"""

from __future__ import annotations

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
from ._errors import EvidenceError, Problem, short_repr, suggest
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


def bounded_lines(handle: BinaryIO, limit: int) -> Iterator[bytes | None]:
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


def read_jsonl(path: str | FilePath, limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Records from a JSON Lines file (or standard input for ``-``), one per line."""
    with open_input(path) as handle:
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
    for name, fact in scorer.doc.evidence.items():  # the rubric's own facts: a column each
        columns[name] = ((name,), fact)
    for criterion in scorer.doc.all_criteria():
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


_BAD_LINE = "\ufffe"  # stands in for a line that is not UTF-8, so that the csv module keeps counting
_LONG_LINE = "\uffff"  # stands in for a line over the limit, read past without being held


def _decoded_lines(handle: BinaryIO, limits: Limits) -> Iterator[str]:
    for number, raw in enumerate(bounded_lines(handle, limits.max_bytes), start=1):
        if raw is None:
            yield _LONG_LINE + "\n"
            continue
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            yield _BAD_LINE + "\n"


def read_csv(
    path: str | FilePath, scorer: Rubric | Composite, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Item]:
    """Records from a CSV file with a header row of fact columns (and an optional ``unit``).

    Lines are decoded one at a time, so a line that is not UTF-8 (or longer than the limit) is
    rejected on its own and the lines around it are still read.
    """
    with open_input(path) as handle:
        yield from _csv_items(csv.reader(_decoded_lines(handle, limits)), path, scorer, limits)


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
    reader: Any, path: str | FilePath, scorer: Rubric | Composite, limits: Limits
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
            yield Item(line, str(line), problems=(Problem("not-utf8", "the line is not UTF-8"),))
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
}


def read_items(
    path: str | FilePath,
    scorer: Rubric | Composite,
    limits: Limits = DEFAULT_LIMITS,
    fmt: str | None = None,
) -> Iterator[Item]:
    """Records from a batch input file, by ``fmt`` (jsonl, csv or yaml) or else by its extension
    (.jsonl/.ndjson, .csv, .yaml/.yml/.json); standard input (``-``) is JSON Lines unless told."""
    if fmt is None:
        fmt = "jsonl" if str(path) == STDIN else FORMATS.get(FilePath(path).suffix.lower())
    if fmt == "jsonl":
        return read_jsonl(path, limits)
    if fmt == "csv":
        return read_csv(path, scorer, limits)
    if fmt == "yaml":
        return read_yaml_list(path, limits)
    raise EvidenceError(
        [
            Problem(
                "unknown-format",
                f"cannot tell the format of {short_repr(str(path))}",
                (),
                file=str(path),
                hint="use .jsonl, .csv or .yaml, or say which with --input-format",
            )
        ]
    )
