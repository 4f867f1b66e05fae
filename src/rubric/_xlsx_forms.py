"""Excel workbooks written from a rubric: evidence-entry forms, batch sheets and results.

openpyxl (an optional extra, ``rubric-engine[excel]``) is imported only here and in
``_xlsx_read``, inside functions, so that the rest of the package works without it.

Every input cell is named by a *slot*: the CSV column of its fact (``T1-01.sound``), with
``[ITEM]`` for one item of a checklist (``T1-02.documents[计划]``) and ``#N`` / ``#N.reason`` for
the points and reason of the N-th amount of an assessed field (``T2-01.attendance#1``). The slot
names are written into the workbook (a hidden column of a form, a hidden row of a batch sheet), so
that the workbook reads back exactly whatever its Chinese labels say.
"""

from __future__ import annotations

import importlib
import io
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._atomic import FileError
from ._errors import Problem
from ._fields import Assessed, Checklist, Choice, Count, FieldSpec, Flag
from ._numbers import text
from ._rubric import Composite, Rubric

YES, NO = "是", "否"
ASSESSED_ROWS = 3  # amounts offered for an assessed field that sets no max_entries
BATCH_ROWS = 200  # rows of a batch sheet that carry data validation
FORM_HEADER = (
    "序号",
    "考核项目",
    "考核内容",
    "评分标准",
    "分值",
    "考核方法",
    "考核要素",
    "填写",
    "理由",
    "字段",
)
FORM_WIDTHS = (6, 10, 28, 40, 6, 14, 34, 12, 24, 24)
SLOT_HEADER, VALUE_HEADER, REASON_HEADER = "字段", "填写", "理由"
UNIT = "unit"
INPUT_FILL = "FFF2CC"  # the pale yellow Excel users know as "type here"


def require_openpyxl() -> Any:
    """The openpyxl module, or an error (exit 2) that says how to install it."""
    try:
        openpyxl = importlib.import_module("openpyxl")  # an optional extra, imported where needed
        importlib.import_module("openpyxl.worksheet.datavalidation")
    except ImportError:
        raise FileError(
            [
                Problem(
                    "missing-dependency",
                    "reading and writing .xlsx workbooks needs openpyxl",
                    hint="pip install 'rubric-engine[excel]'",
                )
            ]
        ) from None
    return openpyxl


@dataclass(frozen=True, slots=True)
class Slot:
    """One input cell's meaning: which fact, and which part of it."""

    name: str  # the machine name written into the workbook
    path: tuple[str, ...]  # the field's path in a record
    spec: FieldSpec
    kind: str  # "field", "item" (a checklist item), "points" or "reason" (an assessed amount)
    item: str = ""
    entry: int = 0  # 1-based amount of an assessed field


def field_slots(column: str, path: tuple[str, ...], spec: FieldSpec) -> list[Slot]:
    """The input cells of one fact: one, one per checklist item, or points and reason per amount."""
    if isinstance(spec, Checklist):
        return [Slot(f"{column}[{item}]", path, spec, "item", item=item) for item in spec.items]
    if isinstance(spec, Assessed):
        rows = min(spec.max_entries or ASSESSED_ROWS, 10)
        return [
            Slot(f"{column}{suffix}", path, spec, kind, entry=n)
            for n in range(1, rows + 1)
            for suffix, kind in ((f"#{n}", "points"), (f"#{n}.reason", "reason"))
        ]
    return [Slot(column, path, spec, "field")]


_ITEM = re.compile(r"(?P<column>.+?)\[(?P<item>.+)\]\Z", re.DOTALL)
_ENTRY = re.compile(r"(?P<column>.+)#(?P<entry>[1-9][0-9]{0,3})(?P<reason>\.reason)?\Z", re.DOTALL)


def parse_slot(name: str, columns: dict[str, tuple[tuple[str, ...], FieldSpec]]) -> Slot | None:
    """The slot a machine name stands for, or None when it names no fact of the rubric."""
    if name in columns:
        path, spec = columns[name]
        return Slot(name, path, spec, "field")
    item = _ITEM.match(name)
    if item and item["column"] in columns:
        path, spec = columns[item["column"]]
        if isinstance(spec, Checklist) and item["item"] in spec.items:
            return Slot(name, path, spec, "item", item=item["item"])
    entry = _ENTRY.match(name)
    if entry and entry["column"] in columns:
        path, spec = columns[entry["column"]]
        if isinstance(spec, Assessed):
            return Slot(
                name, path, spec, "reason" if entry["reason"] else "points", entry=int(entry["entry"])
            )
    return None


def sheet_title(rubric: Rubric | Composite, fallback: str) -> str:
    """A sheet name an assessor recognises: 表一 from a title ending in (表一), else ``fallback``."""
    found = re.search(r"[(（]([^()（）]{1,10})[)）]\s*\Z", rubric.doc.title)
    name = found[1] if found else fallback
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]


def _parts(scorer: Rubric | Composite) -> list[tuple[str, str, Rubric]]:
    """(prefix, sheet name, rubric) for each rubric in the scorer."""
    if isinstance(scorer, Rubric):
        return [("", sheet_title(scorer, "评分表"), scorer)]
    named: list[tuple[str, str, Rubric]] = []
    for part, rubric in scorer.parts.items():
        title = sheet_title(rubric, part)
        taken = {name for _, name, _ in named} | {"综合"}
        named.append((f"{part}.", title if title not in taken else part[:31], rubric))
    return named


def _hint(slot: Slot) -> str:
    spec = slot.spec
    if isinstance(spec, Count):
        return f"（填0—{spec.max}的整数）"
    if isinstance(spec, Assessed) and slot.kind == "points":
        low, high = spec.range
        return f"（{text(low)}—{text(high)}分，步长{text(spec.step)}）"
    return ""


def slot_label(slot: Slot) -> str:
    """The Chinese label of an input cell: the field's label, its item, its amount number."""
    label = slot.spec.label
    if slot.kind == "item":
        return f"{label}：{slot.item}"
    if slot.kind in ("points", "reason"):
        many = (
            min(slot.spec.max_entries or ASSESSED_ROWS, 10) > 1 if isinstance(slot.spec, Assessed) else False
        )
        number = f"第{slot.entry}项" if many else ""
        return f"{label}{number}{_hint(slot)}" if slot.kind == "points" else f"{label}{number}的理由"
    return label + _hint(slot)


class _Validations:
    """Data validation rules of one sheet, one rule per distinct check (Excel keeps them few)."""

    def __init__(self, openpyxl: Any, sheet: Any, lists: Any) -> None:
        self.dv = openpyxl.worksheet.datavalidation.DataValidation
        self.sheet, self.lists, self.rules = sheet, lists, dict[Any, Any]()

    def _rule(self, key: Any, **options: Any) -> Any:
        if key not in self.rules:
            rule = self.dv(allow_blank=True, showErrorMessage=True, showInputMessage=True, **options)
            self.sheet.add_data_validation(rule)
            self.rules[key] = rule
        return self.rules[key]

    def add(self, slot: Slot, cells: str) -> None:
        """Check the cells (a range such as ``H5`` or ``D3:D202``) as the slot's kind asks."""
        spec, first = slot.spec, cells.split(":", maxsplit=1)[0]
        if isinstance(spec, Flag) or slot.kind == "item":
            rule = self._rule("flag", type="list", formula1=f'"{YES},{NO}"', error="请选择 是 或 否")
        elif isinstance(spec, Count):
            rule = self._rule(
                ("count", spec.max), type="whole", operator="between", formula1="0", formula2=str(spec.max)
            )
            rule.error = f"请填写0—{spec.max}的整数"
        elif isinstance(spec, Choice):
            rule = self._rule(("choice", slot.path), type="list", formula1=self._options(spec))
            rule.error = "请从下拉列表中选择"
        elif isinstance(spec, Assessed) and slot.kind == "points":
            low, high = spec.range
            step = text(spec.step)
            formula = (
                f"AND(ISNUMBER({first}),{first}>={text(low)},{first}<={text(high)},"
                f"ABS({first}/{step}-ROUND({first}/{step},0))<0.000001)"
            )
            rule = self._rule(("amount", cells), type="custom", formula1=formula)
            rule.error = f"请填写{text(low)}—{text(high)}之间、步长{step}的分值"
        else:
            return
        rule.add(cells)

    def _options(self, spec: Choice) -> str:
        """A list source: options go to the hidden 选项 sheet (a quoted list cannot hold commas)."""
        column = self.lists.max_column + (1 if self.lists["A1"].value is not None else 0)
        letter = column_letter(column)
        for row, option in enumerate(spec.options, start=1):
            self.lists.cell(row=row, column=column, value=option)
        return f"'{self.lists.title}'!${letter}$1:${letter}${len(spec.options)}"


def column_letter(column: int) -> str:
    """Excel's name of a 1-based column: 1 is A, 27 is AA."""
    name = ""
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


def _styles(openpyxl: Any) -> dict[str, Any]:
    styles = openpyxl.styles
    thin = styles.Side(style="thin")
    return {
        "border": styles.Border(left=thin, right=thin, top=thin, bottom=thin),
        "wrap": styles.Alignment(wrap_text=True, vertical="center"),
        "center": styles.Alignment(wrap_text=True, vertical="center", horizontal="center"),
        "bold": styles.Font(bold=True),
        "title": styles.Font(bold=True, size=14),
        "input": styles.PatternFill("solid", fgColor=INPUT_FILL),
        "head": styles.PatternFill("solid", fgColor="D9D9D9"),
    }


def _heading(cell: Any, style: dict[str, Any]) -> None:
    cell.font, cell.alignment, cell.border, cell.fill = (
        style["bold"],
        style["center"],
        style["border"],
        style["head"],
    )


def _print_setup(sheet: Any, title_rows: str, fit: bool = True) -> None:
    """A4 landscape, header rows repeated on every page; a form fits one page wide (a batch sheet
    of a hundred columns cannot: it repeats the 单位 column on every page instead)."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    if fit:
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
    else:
        sheet.print_title_cols = "A:A"
    sheet.print_title_rows = title_rows
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4


def _lines(value: str, width: int) -> int:
    """Printed lines of wrapped text: a CJK character takes about two units of column width."""
    units = sum(2 if ord(char) > 0x2E7F else 1 for char in value) * 1.2  # fonts vary: leave room
    return max(1, math.ceil(units / max(width - 2, 1)))


@dataclass(frozen=True, slots=True)
class _Group:
    """The rows of one criterion (or of a composite's own facts) in a form."""

    cells: tuple[int | str, str, str, str, Decimal, str]  # 序号 … 考核方法
    category: str
    slots: tuple[Slot, ...]


def _groups(prefix: str, rubric: Rubric) -> Iterator[_Group]:
    part = (prefix[:-1],) if prefix else ()
    for category in rubric.doc.categories:
        for criterion in category.criteria:
            slots = [
                slot
                for name, spec in criterion.evidence.items()
                for slot in field_slots(f"{prefix}{criterion.id}.{name}", (*part, criterion.id, name), spec)
            ]
            cells = (
                criterion.number,
                category.name,
                criterion.content,
                criterion.standard,
                criterion.points,
                criterion.method,
            )
            yield _Group(cells, category.name, tuple(slots))


def _form_sheet(
    openpyxl: Any, book: Any, *, title: str, heading: str, groups: list[_Group], lists: Any
) -> None:
    sheet = book.create_sheet(title)
    style = _styles(openpyxl)
    checks = _Validations(openpyxl, sheet, lists)
    last = column_letter(len(FORM_HEADER) - 1)
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"] = heading
    sheet["A1"].font, sheet["A1"].alignment = style["title"], style["center"]
    sheet.row_dimensions[1].height = 30
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"] = (
        "黄色格子由考核人员填写：是/否从下拉列表选择；次数填整数；酌情扣分或加分填分值并写明理由；不适用或未考核的留空。"
    )
    sheet["A2"].alignment = style["wrap"]
    for column, (name, width) in enumerate(zip(FORM_HEADER, FORM_WIDTHS, strict=True), start=1):
        _heading(sheet.cell(row=3, column=column, value=name), style)
        sheet.column_dimensions[column_letter(column)].width = width
    sheet.column_dimensions[column_letter(len(FORM_HEADER))].hidden = True  # the slot names
    row = 4
    category_start: dict[str, int] = {}
    for group in groups:
        rows = _group_rows(group)
        if not rows:
            continue
        start = row
        category_start.setdefault(group.category, start)
        for cells in rows:
            for column, value in enumerate(cells, start=7):
                sheet.cell(row=row, column=column, value=value)
            row += 1
        _fill_group(sheet, group, start=start, end=row - 1, style=style, checks=checks)
    _merge_categories(sheet, category_start, row)
    for line in range(4, row):
        for column in range(1, len(FORM_HEADER) + 1):
            sheet.cell(row=line, column=column).border = style["border"]
    sheet.freeze_panes = "A4"
    _print_setup(sheet, "3:3")


def _group_rows(group: _Group) -> list[tuple[str, None, None, str]]:
    """Rows (label, value, reason, slot) of a group: an assessed amount's reason shares its row."""
    return [(slot_label(slot), None, None, slot.name) for slot in group.slots if slot.kind != "reason"]


def _fill_group(
    sheet: Any, group: _Group, *, start: int, end: int, style: dict[str, Any], checks: _Validations
) -> None:
    for column, value in enumerate(group.cells, start=1):
        sheet.cell(row=start, column=column, value=None if value == "" else value)
        if end > start and column != 2:
            sheet.merge_cells(start_row=start, start_column=column, end_row=end, end_column=column)
    # Merged cells do not grow with their text: give the rows the height the longest text needs.
    needed = max(_lines(str(value), width) for value, width in zip(group.cells, FORM_WIDTHS, strict=False))
    by_slot = {slot.name: slot for slot in group.slots}
    for row in range(start, end + 1):
        label = sheet.cell(row=row, column=7).value or ""
        own = _lines(label, FORM_WIDTHS[6])
        sheet.row_dimensions[row].height = 15 * max(own, math.ceil(needed / (end - start + 1)))
        for column in range(1, 10):
            cell = sheet.cell(row=row, column=column)
            cell.alignment = style["center"] if column in (1, 2, 5, 8) else style["wrap"]
        slot = by_slot[sheet.cell(row=row, column=10).value]
        sheet.cell(row=row, column=8).fill = style["input"]
        checks.add(slot, f"H{row}")
        if slot.kind == "points":
            sheet.cell(row=row, column=9).fill = style["input"]


def _merge_categories(sheet: Any, starts: dict[str, int], end: int) -> None:
    """One 考核项目 cell over all the rows of its criteria, as the printed table has it."""
    bounds = [*sorted(starts.values()), end]
    for first, after in itertools.pairwise(bounds):
        if after - 1 > first:
            sheet.merge_cells(start_row=first, start_column=2, end_row=after - 1, end_column=2)


def _own_group(scorer: Composite) -> _Group:
    slots = [slot for name, spec in scorer.doc.evidence.items() for slot in field_slots(name, (name,), spec)]
    clauses = "；".join(branch.clause for branch in scorer.doc.branches)
    return _Group(("", "综合", scorer.doc.title, clauses, scorer.doc.points, ""), "综合", tuple(slots))


def form_workbook(scorer: Rubric | Composite) -> bytes:
    """An evidence-entry form for one unit: the table's rows beside cells to fill in."""
    openpyxl = require_openpyxl()
    book = openpyxl.Workbook()
    book.remove(book.active)
    lists = book.create_sheet("选项")
    if isinstance(scorer, Composite):
        heading = f"{scorer.doc.title}  {scorer.doc.id} {scorer.doc.version}"
        _form_sheet(openpyxl, book, title="综合", heading=heading, groups=[_own_group(scorer)], lists=lists)
    for prefix, title, rubric in _parts(scorer):
        heading = f"{rubric.doc.title}  {rubric.doc.id} {rubric.doc.version}"
        _form_sheet(
            openpyxl, book, title=title, heading=heading, groups=list(_groups(prefix, rubric)), lists=lists
        )
    book.move_sheet(lists, offset=len(book.sheetnames))
    lists.sheet_state = "hidden"
    return _saved(book)


def _saved(book: Any) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def batch_slots(scorer: Rubric | Composite) -> list[tuple[str, Slot]]:
    """(Chinese header, slot) for every input column of a batch sheet, in the table's order."""
    out: list[tuple[str, Slot]] = []
    if isinstance(scorer, Composite):
        for slot in (
            s for name, spec in scorer.doc.evidence.items() for s in field_slots(name, (name,), spec)
        ):
            out.append((slot_label(slot), slot))
    for prefix, title, rubric in _parts(scorer):
        for group in _groups(prefix, rubric):
            for slot in group.slots:
                label = f"{group.cells[0]}. {slot_label(slot)}"  # 序号 first, as the table numbers it
                out.append((f"{title} {label}" if prefix else label, slot))
    return out


def batch_workbook(scorer: Rubric | Composite, rows: int = BATCH_ROWS) -> bytes:
    """A sheet for many units: a 单位 column, then one column per fact (Chinese labels in row 1,
    the machine names in the hidden row 2)."""
    openpyxl = require_openpyxl()
    style = _styles(openpyxl)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title(scorer, "单位") if isinstance(scorer, Rubric) else "单位"
    lists = book.create_sheet("选项")
    lists.sheet_state = "hidden"
    checks = _Validations(openpyxl, sheet, lists)
    columns = [("单位", None), *batch_slots(scorer)]
    for column, (label, slot) in enumerate(columns, start=1):
        _heading(sheet.cell(row=1, column=column, value=label), style)
        sheet.cell(row=2, column=column, value=UNIT if slot is None else slot.name)
        letter = column_letter(column)
        sheet.column_dimensions[letter].width = 12 if slot is None else 16
        if slot is not None:
            checks.add(slot, f"{letter}3:{letter}{rows + 2}")
    sheet.row_dimensions[1].height = 15 * max(_lines(label, 16) for label, _ in columns)
    sheet.row_dimensions[2].hidden = True
    sheet.freeze_panes = "B3"
    _print_setup(sheet, "1:1", fit=False)
    return _saved(book)


# Results columns that detail a row rather than summarise it (every criterion, a part's
# categories): a bulletin read from batch's CSV shows the others (subtotals, part totals).
SCORE, SUBTOTAL = ".score", ".subtotal"
DETAIL = (SCORE, SUBTOTAL)


def result_columns(scorer: Rubric | Composite) -> list[tuple[str, str]]:
    """(machine name, Chinese header) of the results columns past unit, line, total, max, grade:
    category subtotals (``组织领导``; for a composite, part totals ``table1.total`` and the parts'
    subtotals ``table1.组织领导.subtotal``), then every criterion (``T1-01.score``)."""
    named: list[tuple[str, str]] = []
    parts = _parts(scorer)
    if isinstance(scorer, Composite):
        named += [(f"{prefix}total", f"{title}得分") for prefix, title, _ in parts]
    for prefix, title, rubric in parts:
        if prefix:
            named += [(f"{prefix}{c.id}{SUBTOTAL}", f"{title} {c.name}小计") for c in rubric.doc.categories]
        else:
            named += [(c.id, f"{c.name}小计") for c in rubric.doc.categories]
    for prefix, title, rubric in parts:
        head = f"{title} " if prefix else ""
        for category in rubric.doc.categories:
            named += [
                (f"{prefix}{c.id}{SCORE}", f"{head}{category.name} 序号{c.number}") for c in category.criteria
            ]
    return named


RESULT_HEAD = (("unit", "单位"), ("line", "行号"), ("total", "总分"), ("max", "满分"), ("grade", "等次"))


class ResultsBook:
    """Results as a workbook, one row per unit, streamed to disk as rows arrive (write-only mode)."""

    def __init__(self, scorer: Rubric | Composite) -> None:
        openpyxl = require_openpyxl()
        importlib.import_module("openpyxl.cell")
        self.book = openpyxl.Workbook(write_only=True)
        self.sheet = self.book.create_sheet("结果")
        columns = [*RESULT_HEAD, *result_columns(scorer)]
        self.names = [name for name, _ in columns]
        sheet = self.sheet
        sheet.freeze_panes = "C3"
        sheet.row_dimensions[1].height = 15 * max(_lines(label, 11) for _, label in columns)
        sheet.row_dimensions[2].hidden = True
        sheet.column_dimensions["A"].width = 20
        for column in range(2, len(columns) + 1):
            sheet.column_dimensions[column_letter(column)].width = 11
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = "9"  # A4 (a write-only sheet has no PAPERSIZE_A4 constant)
        sheet.print_title_rows, sheet.print_title_cols = "1:1", "A:A"
        style = _styles(openpyxl)
        head = []
        for _, label in columns:
            cell = openpyxl.cell.WriteOnlyCell(sheet, value=label)
            _heading(cell, style)
            head.append(cell)
        sheet.append(head)
        sheet.append(self.names)

    def append(self, cells: list[Any]) -> None:
        """Add one unit's row; missing parts stay empty cells."""
        self.sheet.append([None if cell is None else cell for cell in cells])

    def save(self, handle: Any) -> None:
        """Write the workbook to a binary handle."""
        self.book.save(handle)
