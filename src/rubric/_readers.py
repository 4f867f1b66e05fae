"""Batch input: records streamed one at a time from JSON Lines, CSV or a YAML list.

Each reader yields ``Item``s: the line number, the unit's name, and either the raw record or the
problem that kept it from being read. Blank lines are counted, never silently dropped, so that
``scored + rejected + blank == lines read`` holds at the end of every run.

A record line is either a bare evidence record, or an envelope ``{"unit": NAME, "evidence":
RECORD}`` that names the unit for reports. CSV has one column per fact (see ``csv_value``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Any

from ._documents import DEFAULT_LIMITS, Limits, parse_json_line, read_file
from ._errors import EvidenceError, Problem, suggest
from ._fields import Assessed, Checklist, Count, FieldSpec, Flag
from ._rubric import Composite, Rubric

NONE_MARK = "-"
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


def _envelope(line: int, value: Any) -> Item:
    if isinstance(value, dict) and "evidence" in value:
        extra = sorted(set(value) - {"unit", "evidence"})
        if extra:
            return Item(
                line,
                str(value.get("unit", line)),
                problems=(
                    Problem(
                        "unknown-key",
                        f"unknown key '{extra[0]}' in a batch record",
                        (extra[0],),
                        hint="a batch record is {unit, evidence}",
                    ),
                ),
            )
        return Item(line, str(value.get("unit", line)), value["evidence"])
    return Item(line, str(line), value)


def read_jsonl(path: str | FilePath, limits: Limits = DEFAULT_LIMITS) -> Iterator[Item]:
    """Records from a JSON Lines file, one per line."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
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
    document = read_file(path, error=EvidenceError, limits=limits)
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


_BAD_LINE = "\ufffe"  # stands in for a line that is not UTF-8, so that the csv module keeps counting


def _decoded_lines(path: str | FilePath) -> Iterator[str]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                yield _BAD_LINE + "\n"


def read_csv(
    path: str | FilePath, scorer: Rubric | Composite, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Item]:
    """Records from a CSV file with a header row of fact columns (and an optional ``unit``).

    Lines are decoded one at a time, so a line that is not UTF-8 is rejected on its own and the
    lines around it are still read.
    """
    columns = csv_columns(scorer)
    reader = csv.reader(_decoded_lines(path))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise EvidenceError([Problem("bad-csv", str(exc), (), file=str(path), line=1)]) from None
    unknown = [h for h in header if h != "unit" and h not in columns]
    if _BAD_LINE in header or unknown:
        name = unknown[0] if unknown else "?"
        raise EvidenceError(
            [
                Problem(
                    "unknown-column",
                    f"unknown column '{name}'",
                    (),
                    file=str(path),
                    line=1,
                    hint=suggest(name, columns),
                )
            ]
        )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Item(reader.line_num, str(reader.line_num), problems=(Problem("bad-csv", str(exc)),))
            continue
        line = reader.line_num
        if any(_BAD_LINE in cell for cell in row):
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


def read_items(
    path: str | FilePath, scorer: Rubric | Composite, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Item]:
    """Records from a batch input file, by its extension (.jsonl/.ndjson, .csv, .yaml/.yml/.json)."""
    suffix = FilePath(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return read_jsonl(path, limits)
    if suffix == ".csv":
        return read_csv(path, scorer, limits)
    if suffix in (".yaml", ".yml", ".json"):
        return read_yaml_list(path, limits)
    raise EvidenceError(
        [
            Problem(
                "unknown-format",
                f"cannot tell the format of '{path}'",
                (),
                file=str(path),
                hint="use .jsonl, .csv or .yaml",
            )
        ]
    )
