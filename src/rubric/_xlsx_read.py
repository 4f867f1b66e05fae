"""Evidence read from Excel workbooks: a one-unit form, or a batch sheet of one unit per row.

A cell is read as Excel stored it (docs/coercion.md, Excel workbooks): a flag is 是/否 (or an
Excel TRUE/FALSE), never 1/0; a count is an integer, and Excel's float for it is accepted only
when it is whole; points go through ``repr`` of the float, the shortest text that reads back as
the same double, so a typed 0.1 is ``Decimal("0.1")``. Every problem names the cell:
``form.xlsx!表一!H7: wrong-type: …``.
"""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Any

from ._cases import Case, CaseFile
from ._documents import DEFAULT_LIMITS, Document, Limits
from ._errors import EvidenceError, Path, Positions, Problem, short_repr, suggest
from ._evidence import MAX_PROBLEMS_PER_RECORD
from ._fields import Assessed, Checklist, Choice, Count, FieldSpec, Flag
from ._readers import STDIN, Item, csv_columns, csv_value, read_bytes, unit_name
from ._rubric import Composite, Rubric
from ._xlsx_forms import (
    NO,
    REASON_HEADER,
    SLOT_HEADER,
    UNIT,
    VALUE_HEADER,
    YES,
    Slot,
    column_letter,
    parse_slot,
    require_openpyxl,
)

_DIGITS = re.compile(r"[0-9]{1,18}\Z")
_AMOUNT = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,18})?\Z")
_EXACT_FLOAT = 2**53  # past this a float no longer holds every whole number exactly
HEADER_SCAN = 10  # rows searched for a header


@dataclass(frozen=True, slots=True)
class CellPositions(Positions):
    """Positions of a record read from a workbook: each fact's cell (``Sheet!H7``)."""

    cells: dict[Path, str] = field(default_factory=dict)

    def locate(self, problem: Problem) -> Problem:
        """Name the workbook, sheet and cell of the deepest known prefix of the problem's path."""
        if problem.file is not None and problem.file != self.file:
            return problem
        for end in range(len(problem.path), -1, -1):
            cell = self.cells.get(problem.path[:end])
            if cell is not None:
                return replace(problem, file=f"{self.file}!{cell}", line=None, column=None)
        return replace(problem, file=self.file)


def open_workbook(path: str | FilePath, limits: Limits = DEFAULT_LIMITS) -> Any:
    """A workbook opened read-only (values, not formulas), refused when larger than the limit."""
    openpyxl = require_openpyxl()
    name = str(path)
    try:
        if name == STDIN:
            raw, size = read_bytes(path, limits)
            source: Any = io.BytesIO(raw)
        else:
            size = os.stat(path).st_size
            source = name
    except OSError as exc:
        raise EvidenceError([Problem("io", exc.strerror or str(exc), (), file=name)]) from None
    if size > limits.max_bytes:
        raise EvidenceError(
            [Problem("too-large", f"{size} bytes is over the limit of {limits.max_bytes}", (), file=name)]
        )
    try:
        return openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception as exc:  # a zip or XML fault anywhere inside the file
        raise EvidenceError(
            [
                Problem(
                    "bad-xlsx",
                    f"not a readable Excel workbook ({type(exc).__name__}: {short_repr(str(exc), 120)})",
                    (),
                    file=name,
                    hint="save it from Excel or WPS as .xlsx (Excel 2007 or later)",
                )
            ]
        ) from None


def _coordinate(row: int, column: int) -> str:
    return f"{column_letter(column)}{row}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else repr(value)


def flag_cell(value: Any) -> bool | str:
    """是/否, Excel's TRUE/FALSE, or the CSV words true/false; anything else is a message."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip()
        if word in (YES, NO):
            return word == YES
        if word.lower() in ("true", "false"):
            return word.lower() == "true"
        return f"expected {YES} or {NO}, got the text {short_repr(word)}"
    if isinstance(value, (int, float)):
        number = _number_text(value)
        return f"expected {YES} or {NO}, got the number {number} (1 and 0 are not read as yes or no)"
    return f"expected {YES} or {NO}, got {type(value).__name__}"


def typed_cell(value: Any, spec: FieldSpec | None, kind: str) -> Any:
    """A cell's value as the evidence value of its slot, before validation (which names faults)."""
    if isinstance(value, str):
        value = value.strip()
        if kind == "field" and isinstance(spec, (Checklist, Assessed)):
            return csv_value(value, spec)
        if kind == "reason":
            return value
        if isinstance(spec, Count):
            return int(value) if _DIGITS.match(value) else value
        if kind == "points":
            return Decimal(value) if _AMOUNT.match(value) else value
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if isinstance(spec, Choice) or kind == "reason":
            return _number_text(value)
        if isinstance(value, int):
            return value
        if isinstance(spec, Count) and value.is_integer() and abs(value) < _EXACT_FLOAT:
            return int(value)
        # repr is the shortest text that reads back as the same double: 0.1 stays 0.1, and a
        # float that is not what was typed (0.30000000000000004) shows as such and fails the step.
        return Decimal(repr(value))
    return value  # a date or time: validation names it


@dataclass
class _Reading:
    """What one record's cells gave: the record, each fact's cell, and reading problems."""

    file: str
    record: dict[str, Any] = field(default_factory=dict)
    cells: dict[Path, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    filled: set[str] = field(default_factory=set)  # top-level keys with a value typed in
    items: dict[tuple[str, ...], list[tuple[str, Any, str]]] = field(default_factory=dict)
    amounts: dict[tuple[str, ...], dict[int, dict[str, tuple[Any, str]]]] = field(default_factory=dict)
    specs: dict[tuple[str, ...], FieldSpec] = field(default_factory=dict)
    seen: dict[str, str] = field(default_factory=dict)  # slot name: its cell

    def problem(self, code: str, message: str, path: tuple[str, ...], cell: str, hint: str = "") -> None:
        if len(self.problems) <= MAX_PROBLEMS_PER_RECORD:  # a hostile sheet cannot pile up millions
            self.problems.append(Problem(code, message, path, file=f"{self.file}!{cell}", hint=hint))

    def put(self, slot: Slot, value: Any, cell: str) -> None:
        """Take one cell (a slot met twice is refused: which of the two would count?)."""
        if slot.name in self.seen:
            self.problem(
                "duplicate-column",
                f"{short_repr(slot.name)} appears twice (also at {self.seen[slot.name]})",
                slot.path,
                cell,
                "keep one cell per fact",
            )
            return
        self.seen[slot.name] = cell
        for end in range(1, len(slot.path) + 1):  # the criterion (and part) too: "no evidence for T1-01"
            self.cells.setdefault(slot.path[:end], cell)
        self.specs[slot.path] = slot.spec
        if not _blank(value):
            self.filled.add(slot.path[0])
        if slot.kind == "item":
            self.items.setdefault(slot.path, []).append((slot.item, value, cell))
        elif slot.kind in ("points", "reason"):
            entry = self.amounts.setdefault(slot.path, {}).setdefault(slot.entry, {})
            entry[slot.kind] = (value, cell)
        elif not _blank(value):
            if isinstance(slot.spec, Flag):
                flag = flag_cell(value)
                if isinstance(flag, str):
                    self.problem("wrong-type", flag, slot.path, cell, f"choose {YES} or {NO} from the list")
                    return
                _set(self.record, slot.path, flag)
            else:
                _set(self.record, slot.path, typed_cell(value, slot.spec, slot.kind))

    def finish(self, parts: tuple[str, ...]) -> tuple[dict[str, Any], CellPositions]:
        """The record (a part with no cell filled in left out), and where each fact stood."""
        for path, items in self.items.items():
            self._checklist(path, items)
        for path, entries in self.amounts.items():
            self._amounts(path, entries)
        for part in parts:
            if part not in self.filled:
                self.record.pop(part, None)
        return self.record, CellPositions(file=self.file, cells=self.cells)

    def _checklist(self, path: tuple[str, ...], items: list[tuple[str, Any, str]]) -> None:
        if all(_blank(value) for _, value, _ in items):
            return
        present = []
        for item, value, cell in items:
            flag = flag_cell(value) if not _blank(value) else None
            if flag is None or isinstance(flag, str):
                message = flag or f"checklist item {short_repr(item)} is left empty"
                self.problem(
                    "missing" if flag is None else "wrong-type",
                    message,
                    path,
                    cell,
                    f"fill {YES} or {NO} for every item (leave them all empty if the fact was not recorded)",
                )
            elif flag:
                present.append(item)
        _set(self.record, path, present)

    def _amounts(self, path: tuple[str, ...], entries: dict[int, dict[str, tuple[Any, str]]]) -> None:
        chosen: list[dict[str, Any]] = []
        for number in sorted(entries):
            points, points_cell = entries[number].get("points", (None, ""))
            reason, reason_cell = entries[number].get("reason", (None, points_cell))
            if _blank(points) and _blank(reason):
                continue
            if _blank(points):
                self.problem(
                    "missing", "a reason is given but no points", path, reason_cell, "type the points"
                )
                continue
            index = len(chosen)
            self.cells[(*path, index)] = points_cell
            self.cells[(*path, index, "reason")] = reason_cell or points_cell
            spec = self.specs[path]
            text = "" if reason is None else typed_cell(reason, spec, "reason")
            chosen.append({"points": typed_cell(points, spec, "points"), "reason": text})
        # No amount typed in means none chosen (出勤正常不扣分: 不填条目).
        _set(self.record, path, chosen)


def _set(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = record
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _parts(scorer: Rubric | Composite) -> tuple[str, ...]:
    return tuple(scorer.parts) if isinstance(scorer, Composite) else ()


def _unknown(reading: _Reading, name: str, cell: str, columns: dict[str, Any]) -> None:
    reading.problem(
        "unknown-column",
        f"{short_repr(name)} names no fact of this rubric",
        (),
        cell,
        suggest(name, columns) or "make the workbook again with 'rubric template'",
    )


def _header(rows: list[tuple[Any, ...]], *names: str) -> tuple[int, dict[str, int]] | None:
    """The first row (of those scanned) holding every one of ``names``, and each name's column."""
    for number, row in enumerate(rows, start=1):
        cells = {value.strip(): i for i, value in enumerate(row) if isinstance(value, str)}
        if all(name in cells for name in names):
            return number, cells
    return None


def read_form(path: str | FilePath, scorer: Rubric | Composite, limits: Limits = DEFAULT_LIMITS) -> Document:
    """One unit's evidence from a form workbook (every sheet with a 字段 column), or from a batch
    sheet holding exactly one unit."""
    book = open_workbook(path, limits)
    try:
        columns = csv_columns(scorer)
        reading = _Reading(str(path))
        forms = 0
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            head = [next(rows, ()) for _ in range(HEADER_SCAN)]
            found = _header(head, SLOT_HEADER, VALUE_HEADER)
            if found is None:
                continue
            forms += 1
            top, at = found
            body = [*head[top:], *rows]
            for number, row in enumerate(body, start=top + 1):
                _form_row(reading, sheet=sheet.title, number=number, row=row, at=at, columns=columns)
        if not forms:
            items = list(_batch_items(book, str(path), scorer, limits))
            records = [item for item in items if not item.blank]
            if len(records) != 1:
                raise EvidenceError(
                    [
                        Problem(
                            "bad-xlsx",
                            f"no form sheet (a {SLOT_HEADER} column), and {len(records)} units "
                            "in a batch sheet",
                            (),
                            file=str(path),
                            hint="score a form made by 'rubric template', or use 'rubric batch' "
                            "for many units",
                        )
                    ]
                )
            if records[0].problems:
                raise EvidenceError(records[0].problems)
            assert isinstance(records[0].positions, Positions)
            return Document(records[0].record, records[0].positions, b"")
    finally:
        book.close()
    if reading.problems:
        raise EvidenceError(reading.problems)
    record, positions = reading.finish(_parts(scorer))
    if reading.problems:
        raise EvidenceError(reading.problems)
    return Document(record, positions, b"")


def _form_row(
    reading: _Reading,
    *,
    sheet: str,
    number: int,
    row: tuple[Any, ...],
    at: dict[str, int],
    columns: dict[str, Any],
) -> None:
    def value(name: str) -> Any:
        index = at.get(name)
        return row[index] if index is not None and index < len(row) else None

    name = value(SLOT_HEADER)
    if _blank(name):
        return
    slot = parse_slot(str(name).strip(), columns)
    where = f"{sheet}!{_coordinate(number, at[VALUE_HEADER] + 1)}"
    if slot is None:
        _unknown(reading, str(name), f"{sheet}!{_coordinate(number, at[SLOT_HEADER] + 1)}", columns)
        return
    reading.put(slot, value(VALUE_HEADER), where)
    if slot.kind == "points" and REASON_HEADER in at:
        reason = replace(slot, kind="reason", name=f"{slot.name}.reason")
        reading.put(reason, value(REASON_HEADER), f"{sheet}!{_coordinate(number, at[REASON_HEADER] + 1)}")


def read_xlsx(
    path: str | FilePath, scorer: Rubric | Composite, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Item]:
    """Records from a batch workbook: a sheet whose machine-name row starts with ``unit``, then
    one row per unit (blank rows counted, never dropped)."""
    book = open_workbook(path, limits)
    try:
        yield from _batch_items(book, str(path), scorer, limits)
    finally:
        book.close()


@dataclass(frozen=True, slots=True)
class _Sheet:
    """A batch sheet: its name, the row of machine names, each column's slot, the rows after."""

    title: str
    top: int
    slots: list[Slot | None]
    names: list[str]
    rows: Iterator[tuple[Any, ...]]


def _batch_sheet(book: Any, name: str, columns: dict[str, Any]) -> _Sheet:
    for sheet in book.worksheets:
        rows = sheet.iter_rows(values_only=True)
        head = [next(rows, ()) for _ in range(HEADER_SCAN)]
        found = _header(head, UNIT)
        if found is None or found[1][UNIT] != 0:
            continue
        top, _ = found
        names = [str(title).strip() if title is not None else "" for title in head[top - 1]]
        slots: list[Slot | None] = [None]
        reading = _Reading(name)
        for index, title in enumerate(names[1:], start=2):
            slot = parse_slot(title, columns) if title else None
            where = f"{sheet.title}!{_coordinate(top, index)}"
            if slot is None and title and not title.startswith(EXPECT):
                _unknown(reading, title, where, columns)
            elif slot is not None:
                reading.put(slot, None, where)  # a column named twice is refused here, once
            slots.append(slot)
        if reading.problems:
            raise EvidenceError(reading.problems)
        return _Sheet(sheet.title, top, slots, names, itertools.chain(head[top:], rows))
    raise EvidenceError(
        [
            Problem(
                "bad-xlsx",
                f"no sheet has a row of fact names starting with '{UNIT}'",
                (),
                file=name,
                hint="fill in a workbook made by 'rubric template --batch'",
            )
        ]
    )


EXPECT = "expect."  # columns of expected results in a workbook of test cases


def _batch_items(book: Any, name: str, scorer: Rubric | Composite, limits: Limits) -> Iterator[Item]:
    sheet = _batch_sheet(book, name, csv_columns(scorer))
    blank_from = None  # the first of the blank rows just read (rows, not Items: there may be millions)
    for number, row in enumerate(sheet.rows, start=sheet.top + 1):
        item = _batch_item(name, sheet, number, row, _parts(scorer))
        if item.blank:
            blank_from = number if blank_from is None else blank_from
            continue
        # Blank rows between units are counted; those after the last unit are only formatting
        # Excel keeps (a data validation range, a styled row) and are not input.
        for line in range(blank_from or number, number):
            yield Item(line, str(line), blank=True)
        blank_from = None
        yield item


def read_cases(path: str | FilePath, scorer: Rubric | Composite, limits: Limits = DEFAULT_LIMITS) -> CaseFile:
    """Test cases from a batch workbook: each unit's row, and its expected total in the column
    named ``expect.total`` (the row names the case)."""
    book = open_workbook(path, limits)
    cases = []
    try:
        sheet = _batch_sheet(book, str(path), csv_columns(scorer))
        if f"{EXPECT}total" not in sheet.names:
            raise EvidenceError(
                [Problem("bad-cases", "a workbook of cases needs an expect.total column", (), file=str(path))]
            )
        column = sheet.names.index(f"{EXPECT}total")
        for number, row in enumerate(sheet.rows, start=sheet.top + 1):
            item = _batch_item(str(path), sheet, number, row, _parts(scorer))
            if item.blank:
                continue
            if item.problems:
                raise EvidenceError(item.problems)
            cell = row[column] if column < len(row) else None
            total = typed_cell(cell, None, "points")
            if not isinstance(total, (int, Decimal)) or isinstance(total, bool):
                where = f"{path}!{sheet.title}!{_coordinate(number, column + 1)}"
                raise EvidenceError([Problem("bad-cases", "expect.total is not a number", (), file=where)])
            cases.append(Case(item.unit, "", item.record, Decimal(total), {}, {}, line=number))
    finally:
        book.close()
    return CaseFile(rubric=scorer, cases=tuple(cases), path=str(path))


def _batch_item(name: str, sheet: _Sheet, number: int, row: tuple[Any, ...], parts: tuple[str, ...]) -> Item:
    if all(_blank(value) for value in row):
        return Item(number, str(number), blank=True)
    reading = _Reading(name)
    for index, (slot, value) in enumerate(zip(sheet.slots, row, strict=False), start=1):
        if slot is not None:
            reading.put(slot, value, f"{sheet.title}!{_coordinate(number, index)}")
    record, positions = reading.finish(parts)
    raw = row[0] if row else None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    unit = unit_name(raw.strip() if isinstance(raw, str) else raw, number) if not _blank(raw) else str(number)
    if isinstance(unit, Problem):
        return Item(number, str(number), problems=(replace(unit, file=f"{name}!{sheet.title}!A{number}"),))
    if reading.problems:
        return Item(number, unit, problems=tuple(reading.problems))
    return Item(number, unit, record, positions=positions)
