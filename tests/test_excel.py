"""Excel and WPS both ways: a workbook made by ``rubric template``, filled in the way an assessor
fills it (typing 是/否, numbers, picking options, a points cell beside its reason), read by
``score``, ``batch`` and ``test``; results written as .xlsx and read back as Excel would.

Expected totals are the hand-worked seed examples (see the comments of tests/test_cli.py):
表一 typical 83 (17 + 40 + 12 + 12 + 2), perfect 100; 表二 typical 67.5 (29 + 34 + 4.5);
综合 with a window 83 × 0.6 + 67.5 × 0.4 = 49.8 + 27 = 76.8, without one 表一 alone = 83.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

openpyxl = pytest.importorskip("openpyxl")

import rubric  # noqa: E402 - after the skip: these tests need the excel extra
from rubric._fields import Assessed, Checklist, Choice, Count, Flag  # noqa: E402
from rubric._xlsx_read import typed_cell  # noqa: E402
from rubric.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"
EXAMPLES = ROOT / "examples"
SLOT_COLUMN, VALUE_COLUMN, REASON_COLUMN = 10, 8, 9  # J (hidden), H, I of a form

TABLE1_TYPICAL_SUBTOTALS = {"组织领导": 17, "信息公开": 40, "依申请公开": 12, "政务服务": 12, "工作创新": 2}
TABLE1_TYPICAL_CRITERIA = [3, 4, 5, 5, 5, 15, 5, 10, 5, 4, 3, 5, 5, 7, 2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def example(name: str) -> Any:
    return rubric.load_evidence(EXAMPLES / f"{name}.yaml").data


def typed(
    record: dict[str, Any], scorer: rubric.Rubric | rubric.Composite, prefix: str = ""
) -> dict[str, Any]:
    """What an assessor types, by slot: 是/否 for a flag and for each checklist item, a number
    for a count (Excel stores it as a float), the option picked, points and a reason per amount."""
    if isinstance(scorer, rubric.Composite):
        cells: dict[str, Any] = {}
        for name, value in record.items():
            if name in scorer.parts:
                cells.update(typed(value, scorer.parts[name], f"{name}."))
            else:
                cells[name] = "是" if value else "否"
        return cells
    specs = {
        (c.id, n): s for cat in scorer.doc.categories for c in cat.criteria for n, s in c.evidence.items()
    }
    cells = {}
    for criterion, facts in record.items():
        for name, value in facts.items():
            spec, slot = specs[(criterion, name)], f"{prefix}{criterion}.{name}"
            if isinstance(spec, Flag):
                cells[slot] = "是" if value else "否"
            elif isinstance(spec, Count):
                cells[slot] = float(value)
            elif isinstance(spec, Choice):
                cells[slot] = value
            elif isinstance(spec, Checklist):
                cells.update({f"{slot}[{item}]": "是" if item in value else "否" for item in spec.items})
            elif isinstance(spec, Assessed):
                for number, entry in enumerate(value, start=1):
                    cells[f"{slot}#{number}"] = float(entry["points"])
                    cells[f"{slot}#{number}.reason"] = entry["reason"]
    return cells


def fill_form(path: Path, cells: dict[str, Any]) -> None:
    """Type each value into the row of its slot (the hidden 字段 column names the row)."""
    book = openpyxl.load_workbook(path)
    left = dict(cells)
    for sheet in book.worksheets:
        for row in range(4, sheet.max_row + 1):
            slot = sheet.cell(row=row, column=SLOT_COLUMN).value
            if slot in left:
                sheet.cell(row=row, column=VALUE_COLUMN).value = left.pop(slot)
            if f"{slot}.reason" in left:
                sheet.cell(row=row, column=REASON_COLUMN).value = left.pop(f"{slot}.reason")
    assert not left, f"no row for {sorted(left)}"
    book.save(path)


def fill_batch(path: Path, units: list[tuple[str, dict[str, Any]]]) -> None:
    """Type one row per unit under the Chinese header, each value in the column of its slot."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    columns = {sheet.cell(row=2, column=c).value: c for c in range(1, sheet.max_column + 1)}
    for row, (unit, cells) in enumerate(units, start=3):
        sheet.cell(row=row, column=1).value = unit
        for slot, value in cells.items():
            sheet.cell(row=row, column=columns[slot]).value = value
    book.save(path)


def template(capsys: pytest.CaptureFixture[str], rubric_file: Path, out: Path, *extra: str) -> None:
    code, _, err = run(capsys, "template", str(rubric_file), "--out", str(out), *extra)
    assert code == 0, err


@pytest.mark.parametrize(
    ("rubric_name", "example_name", "total"),
    [
        ("table1", "table1-typical", "83"),
        ("table1", "table1-perfect", "100"),
        ("table2", "table2-typical", "67.5"),
        ("department", "department-typical", "76.8"),
        ("department", "department-no-window", "83"),
    ],
)
def test_a_form_typed_in_as_an_assessor_would_scores_the_hand_worked_total(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rubric_name: str, example_name: str, total: str
) -> None:
    form = tmp_path / "form.xlsx"
    scorer = rubric.load(RUBRICS / f"{rubric_name}.yaml")
    template(capsys, RUBRICS / f"{rubric_name}.yaml", form)
    fill_form(form, typed(example(example_name), scorer))
    code, out, err = run(capsys, "score", str(RUBRICS / f"{rubric_name}.yaml"), str(form), "--json")
    assert code == 0, err
    assert json.loads(out)["total"] == total


def grade_bands(tmp_path: Path) -> Path:
    """表一 with 等次 bands, to see the grade column filled: 优秀 from 90, 良好 from 80."""
    text = (RUBRICS / "table1.yaml").read_text(encoding="utf-8")
    text = text.replace(
        "points: 100\n", "points: 100\ngrades: [{name: 优秀, min: 90}, {name: 良好, min: 80}]\n", 1
    )
    path = tmp_path / "table1.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def read_rows(path: Path) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(path)  # as Excel opens it: every row as wide as the sheet
    return list(book.worksheets[0].iter_rows(values_only=True))


def test_a_batch_sheet_scores_into_a_workbook_of_totals_subtotals_criteria_and_grade(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table1 = grade_bands(tmp_path)
    scorer = rubric.load(table1)
    sheet, results = tmp_path / "units.xlsx", tmp_path / "results.xlsx"
    template(capsys, table1, sheet, "--batch")
    units = [("典型单位", example("table1-typical")), ("满分单位", example("table1-perfect"))]
    fill_batch(sheet, [(unit, typed(record, scorer)) for unit, record in units])
    code, _, err = run(capsys, "batch", str(table1), str(sheet), "--out", str(results))
    assert code == 0, err
    assert "read 2, scored 2, rejected 0, blank 0" in err
    head, names, typical, perfect = read_rows(results)
    assert head[:5] == ("单位", "行号", "总分", "满分", "等次")
    assert head[5] == "组织领导小计"
    assert head[10] == "组织领导 序号1"
    assert names[:5] == ("unit", "line", "total", "max", "grade")
    assert names[5:10] == tuple(TABLE1_TYPICAL_SUBTOTALS)
    assert names[10:] == tuple(f"T1-{n:02}.score" for n in range(1, 16))
    assert typical[:5] == ("典型单位", 3, 83, 100, "良好")
    assert typical[5:10] == tuple(TABLE1_TYPICAL_SUBTOTALS.values())
    assert list(typical[10:]) == TABLE1_TYPICAL_CRITERIA
    assert perfect[:5] == ("满分单位", 4, 100, 100, "优秀")
    assert perfect[5:10] == (20, 45, 15, 15, 5)
    printed = openpyxl.load_workbook(results).worksheets[0]  # prints with its header and 单位 on every page
    assert (printed.page_setup.orientation, str(printed.page_setup.paperSize)) == ("landscape", "9")
    assert (printed.print_title_rows, printed.print_title_cols) == ("$1:$1", "$A:$A")
    assert (printed.freeze_panes, printed.row_dimensions[2].hidden) == ("C3", True)


def test_a_batch_sheet_of_one_unit_can_be_scored_as_a_form(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet = tmp_path / "unit.xlsx"
    template(capsys, RUBRICS / "table2.yaml", sheet, "--batch")
    fill_batch(sheet, [("窗口", typed(example("table2-typical"), rubric.load(RUBRICS / "table2.yaml")))])
    code, out, err = run(capsys, "score", str(RUBRICS / "table2.yaml"), str(sheet), "--json")
    assert code == 0, err
    assert json.loads(out)["total"] == "67.5"


def test_a_department_batch_sheet_scores_units_with_and_without_a_window(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    department = RUBRICS / "department.yaml"
    scorer = rubric.load(department)
    sheet, results = tmp_path / "units.xlsx", tmp_path / "results.xlsx"
    template(capsys, department, sheet, "--batch")
    units = [("窗口甲", example("department-typical")), ("无窗口乙", example("department-no-window"))]
    fill_batch(sheet, [(unit, typed(record, scorer)) for unit, record in units])
    code, _, err = run(capsys, "batch", str(department), str(sheet), "--out", str(results))
    assert code == 0, err
    head, names, with_window, without = read_rows(results)
    assert names[5:7] == ("table1.total", "table2.total")
    assert head[5:7] == ("表一得分", "表二得分")
    # 83 × 0.6 + 67.5 × 0.4 = 76.8; the parts' own totals beside it
    assert with_window[:7] == ("窗口甲", 3, 76.8, 100, None, 83, 67.5)
    # no window: 表一 alone (83), and 表二's columns stay empty rather than show a zero
    assert without[:7] == ("无窗口乙", 4, 83, 100, None, 83, None)
    assert names[7] == "table1.组织领导.subtotal"
    assert (with_window[7], without[7]) == (17, 17)
    assert without[names.index("table2.T2-01.score")] is None
    assert with_window[names.index("table2.T2-01.score")] == 29


def test_the_form_reads_like_the_printed_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    form = tmp_path / "form.xlsx"
    template(capsys, RUBRICS / "table1.yaml", form)
    book = openpyxl.load_workbook(form)
    assert book.sheetnames == ["表一", "选项"]
    assert book["选项"].sheet_state == "hidden"
    sheet = book["表一"]
    assert "开福区区直部门" in sheet["A1"].value
    assert [sheet.cell(row=3, column=c).value for c in range(1, 10)] == [
        "序号", "考核项目", "考核内容", "评分标准", "分值", "考核方法", "考核要素", "填写", "理由"
    ]  # fmt: skip
    # 序号1 has two facts (sound, adjusted): its 序号, content, standard and points span both rows
    assert (sheet["A4"].value, sheet["E4"].value, sheet["G4"].value) == (1, 5, "政务公开领导小组机构健全")
    assert "A4:A5" in {str(r) for r in sheet.merged_cells.ranges}
    assert "D4:D5" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.column_dimensions["J"].hidden
    assert sheet.freeze_panes == "A4"
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == sheet.PAPERSIZE_A4
    assert (sheet.page_setup.fitToWidth, sheet.sheet_properties.pageSetUpPr.fitToPage) == (1, True)
    assert sheet.print_title_rows == "$3:$3"
    assert sheet["D4"].alignment.wrap_text
    checks = {(v.type, v.formula1, v.formula2) for v in sheet.data_validations.dataValidation}
    assert ("list", '"是,否"', None) in checks
    assert all(v.showErrorMessage for v in sheet.data_validations.dataValidation)


def test_the_form_checks_counts_and_amounts_as_excel_data_validation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    form = tmp_path / "form.xlsx"
    template(capsys, RUBRICS / "table2.yaml", form)
    sheet = openpyxl.load_workbook(form)["表二"]
    rows = {sheet.cell(row=r, column=SLOT_COLUMN).value: r for r in range(4, sheet.max_row + 1)}
    rules = {str(cell): v for v in sheet.data_validations.dataValidation for cell in v.sqref.ranges}
    count = rules[f"H{rows['T2-01.unauthorised_changes']}"]
    assert (count.type, count.operator, count.formula1) == ("whole", "between", "0")
    amount_row = rows["T2-01.attendance#1"]
    amount = rules[f"H{amount_row}"]
    assert amount.type == "custom"
    assert f"H{amount_row}>=3" in amount.formula1
    assert f"H{amount_row}<=5" in amount.formula1
    assert sheet.cell(row=amount_row, column=REASON_COLUMN).fill.fgColor.rgb.endswith("FFF2CC")


def test_a_choice_is_a_drop_down_of_its_options(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    form = tmp_path / "form.xlsx"
    template(capsys, RUBRICS / "table1.yaml", form)
    book = openpyxl.load_workbook(form)
    sheet = book["表一"]
    row = next(
        r for r in range(4, sheet.max_row + 1) if sheet.cell(row=r, column=10).value == "T1-11.handling"
    )
    rule = next(
        v for v in sheet.data_validations.dataValidation if f"H{row}" in {str(c) for c in v.sqref.ranges}
    )
    assert rule.type == "list"
    rows = book["选项"][rule.formula1.split("!")[1].replace("$", "")]
    assert [row[0].value for row in rows] == ["符合要求", "受理但没有建立台账", "未及时受理又没有台账"]


def test_the_batch_template_has_chinese_labels_and_a_hidden_row_of_machine_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet_path = tmp_path / "units.xlsx"
    template(capsys, RUBRICS / "table1.yaml", sheet_path, "--batch")
    sheet = openpyxl.load_workbook(sheet_path).worksheets[0]
    assert (sheet["A1"].value, sheet["A2"].value) == ("单位", "unit")
    assert (sheet["B1"].value, sheet["B2"].value) == ("1. 政务公开领导小组机构健全", "T1-01.sound")
    assert sheet.row_dimensions[2].hidden
    assert sheet.freeze_panes == "B3"
    names = [sheet.cell(row=2, column=c).value for c in range(1, sheet.max_column + 1)]
    assert "T1-02.documents[业务报表]" in names  # one 是/否 column per checklist item


def form_with(capsys: pytest.CaptureFixture[str], tmp_path: Path, **changes: Any) -> Path:
    """表一's typical form with some cells typed differently."""
    form = tmp_path / "form.xlsx"
    template(capsys, RUBRICS / "table1.yaml", form)
    cells = typed(example("table1-typical"), rubric.load(RUBRICS / "table1.yaml"))
    cells.update({slot.replace("__", "."): value for slot, value in changes.items()})
    fill_form(form, cells)
    return form


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("Y", "wrong-type"),  # neither 是 nor 否
        (1, "wrong-type"),  # 1 is never read as 是
        (None, "missing"),  # left empty: the fact was not recorded
    ],
)
def test_a_wrong_cell_is_named_by_workbook_sheet_and_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, value: Any, code: str
) -> None:
    form = form_with(capsys, tmp_path, **{"T1-01__sound": value})
    status, _, err = run(capsys, "score", str(RUBRICS / "table1.yaml"), str(form))
    assert status == 2
    assert err.startswith(f"{form}!表一!H4: {code}: T1-01.sound"), err  # H4: the first fact's cell


def test_a_checklist_item_left_empty_is_refused_at_its_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    form = form_with(capsys, tmp_path, **{"T1-02__documents[部署]": None})
    status, _, err = run(capsys, "score", str(RUBRICS / "table1.yaml"), str(form))
    assert status == 2
    assert err.startswith(f"{form}!表一!H7: missing: T1-02.documents: checklist item '部署' is left empty")


def test_a_count_of_two_and_a_half_is_refused_at_its_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    form = tmp_path / "form.xlsx"
    template(capsys, RUBRICS / "table2.yaml", form)
    cells = typed(example("table2-typical"), rubric.load(RUBRICS / "table2.yaml"))
    fill_form(form, {**cells, "T2-01.unauthorised_changes": 2.5, "T2-01.attendance#1": 3.25})
    status, _, err = run(capsys, "score", str(RUBRICS / "table2.yaml"), str(form))
    assert status == 2
    lines = err.splitlines()
    assert any(
        line.startswith(f"{form}!表二!H") and "not-whole: T2-01.unauthorised_changes" in line
        for line in lines
    )
    assert any(
        "off-step: T2-01.attendance[0].points: 3.25 is not a multiple of 0.5" in line for line in lines
    )


def test_cells_are_read_as_excel_stores_them() -> None:
    flag, count = Flag(type="flag", label="l"), Count(type="count", label="l")
    assert typed_cell(2.0, count, "field") == 2  # Excel's float for a typed 2
    assert typed_cell(2.5, count, "field") == Decimal("2.5")  # refused later as not-whole
    assert typed_cell(" 3 ", count, "field") == 3  # a number typed as text
    assert typed_cell(0.1, None, "points") == Decimal("0.1")  # repr: the shortest text of the double
    assert typed_cell(0.1 + 0.2, None, "points") == Decimal("0.30000000000000004")  # not silently 0.3
    assert typed_cell(3, None, "reason") == "3"
    assert typed_cell(True, flag, "field") is True  # an Excel TRUE


def test_an_excel_true_is_a_yes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    form = form_with(capsys, tmp_path, **{"T1-01__adjusted": True})
    status, out, _ = run(capsys, "score", str(RUBRICS / "table1.yaml"), str(form), "--json")
    assert status == 0
    assert json.loads(out)["total"] == "85"  # 83 + the 2 lost for 不及时调整


def good_and_bad(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    """A 表一 batch sheet: 好 typed in as the typical example, 坏 the same with 对 for a flag (B4)."""
    scorer = rubric.load(RUBRICS / "table1.yaml")
    sheet = tmp_path / "units.xlsx"
    template(capsys, RUBRICS / "table1.yaml", sheet, "--batch")
    bad = {**typed(example("table1-typical"), scorer), "T1-01.sound": "对"}
    fill_batch(sheet, [("好", typed(example("table1-typical"), scorer)), ("坏", bad)])
    return sheet


def test_a_batch_row_with_a_wrong_cell_is_rejected_with_its_cell(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet, results = good_and_bad(capsys, tmp_path), tmp_path / "results.xlsx"
    code, _, err = run(capsys, "batch", str(RUBRICS / "table1.yaml"), str(sheet), "--out", str(results))
    assert code == 1
    assert "read 2, scored 1, rejected 1, blank 0" in err
    (record,) = [json.loads(line) for line in Path(f"{results}.errors.jsonl").read_text("utf-8").splitlines()]
    assert (record["unit"], record["line"]) == ("坏", 4)
    assert record["problems"][0]["file"] == f"{sheet}!表一!B4"
    assert record["problems"][0]["code"] == "wrong-type"


def test_an_unknown_column_of_a_batch_sheet_is_refused_with_a_suggestion(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet_path = tmp_path / "units.xlsx"
    template(capsys, RUBRICS / "table1.yaml", sheet_path, "--batch")
    book = openpyxl.load_workbook(sheet_path)
    book.worksheets[0]["B2"] = "T1-01.sond"
    book.save(sheet_path)
    code, _, err = run(
        capsys, "batch", str(RUBRICS / "table1.yaml"), str(sheet_path), "--out", str(tmp_path / "r.jsonl")
    )
    assert code == 2
    assert err.startswith(f"{sheet_path}!表一!B2: unknown-column: 'T1-01.sond' names no fact")
    assert "did you mean 'T1-01.sound'?" in err


def test_a_file_that_is_not_a_workbook_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fake = tmp_path / "form.xlsx"
    fake.write_text("单位,T1-01.sound\n", encoding="utf-8")
    code, _, err = run(capsys, "score", str(RUBRICS / "table1.yaml"), str(fake))
    assert code == 2
    assert err.startswith(f"{fake}: bad-xlsx: not a readable Excel workbook")


def test_a_workbook_of_cases_runs_with_rubric_test(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scorer = rubric.load(RUBRICS / "table1.yaml")
    cases = tmp_path / "cases.xlsx"
    template(capsys, RUBRICS / "table1.yaml", cases, "--batch")
    book = openpyxl.load_workbook(cases)
    sheet = book.worksheets[0]
    column = sheet.max_column + 1
    sheet.cell(row=1, column=column, value="期望总分")
    sheet.cell(row=2, column=column, value="expect.total")
    book.save(cases)
    units = [("典型", {**typed(example("table1-typical"), scorer), "expect.total": 83})]
    units.append(("满分", {**typed(example("table1-perfect"), scorer), "expect.total": 100}))
    fill_batch(cases, units)
    code, out, _ = run(capsys, "test", str(RUBRICS / "table1.yaml"), str(cases))
    assert (code, out.splitlines()[-1]) == (0, "2 passed, 0 failed")
    units[1] = ("满分", {**units[1][1], "expect.total": 99})
    fill_batch(cases, units)
    code, out, _ = run(capsys, "test", str(RUBRICS / "table1.yaml"), str(cases))
    assert code == 1
    assert "total: expected 99, got 100" in out


def test_without_openpyxl_the_workbook_commands_say_how_to_install_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # as if the extra were not installed
    code, _, err = run(capsys, "template", str(RUBRICS / "table1.yaml"), "--out", str(tmp_path / "f.xlsx"))
    assert code == 2
    assert "missing-dependency" in err
    assert "pip install 'rubric-engine[excel]'" in err
    assert not (tmp_path / "f.xlsx").exists()


def test_a_fact_with_two_columns_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    sheet_path = tmp_path / "units.xlsx"
    template(capsys, RUBRICS / "table1.yaml", sheet_path, "--batch")
    book = openpyxl.load_workbook(sheet_path)
    book.worksheets[0]["C2"] = "T1-01.sound"  # B2 names it already
    book.save(sheet_path)
    code, _, err = run(
        capsys, "batch", str(RUBRICS / "table1.yaml"), str(sheet_path), "--out", str(tmp_path / "r.jsonl")
    )
    assert code == 2
    assert err.startswith(f"{sheet_path}!表一!C2: duplicate-column: T1-01.sound: 'T1-01.sound' appears twice")


def test_a_batch_sheet_scores_the_same_with_two_workers(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet = good_and_bad(capsys, tmp_path)
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"r{workers}.jsonl"
        code, _, _ = run(
            capsys, "batch", str(RUBRICS / "table1.yaml"), str(sheet), "--out", str(out), "--workers", workers
        )
        assert code == 1
        outputs.append((out.read_bytes(), Path(f"{out}.errors.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    assert f"{sheet}!表一!B4".encode() in outputs[1][1]  # the cell travels to the worker and back


def test_a_template_never_overwrites_its_rubric(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    copy = tmp_path / "table1.xlsx"
    copy.write_bytes((RUBRICS / "table1.yaml").read_bytes())
    code, _, err = run(capsys, "template", str(copy), "--out", str(copy))
    assert code == 2
    assert "same-file" in err
    assert copy.read_bytes() == (RUBRICS / "table1.yaml").read_bytes()


def readme_excel_commands() -> list[list[str]]:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Excel and WPS", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].split()[1:] for line in block.splitlines()]


def test_the_readme_excel_round_trip_runs_as_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rubrics").symlink_to(RUBRICS)
    monkeypatch.chdir(tmp_path)
    form, score, sheet, to_xlsx, to_csv = readme_excel_commands()
    assert run(capsys, *form)[0] == 0
    fill_form(tmp_path / form[-1], typed(example("table1-typical"), rubric.load(RUBRICS / "table1.yaml")))
    code, out, _ = run(capsys, *score)
    assert (code, out.splitlines()[-1]) == (0, "总分 83 / 100")
    assert run(capsys, *sheet)[0] == 0
    department = rubric.load(RUBRICS / "department.yaml")
    units = [("窗口甲", example("department-typical")), ("无窗口乙", example("department-no-window"))]
    fill_batch(tmp_path / sheet[-1], [(unit, typed(record, department)) for unit, record in units])
    assert run(capsys, *to_xlsx)[0] == 0
    assert [row[:3] for row in read_rows(tmp_path / to_xlsx[-1])[2:]] == [
        ("窗口甲", 3, 76.8),
        ("无窗口乙", 4, 83),
    ]
    assert run(capsys, *to_csv)[0] == 0
    lines = (tmp_path / to_csv[-1]).read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[:3] for line in lines[1:]] == [["窗口甲", "3", "76.8"], ["无窗口乙", "4", "83"]]


def test_blank_rows_between_units_are_counted_and_those_after_the_last_are_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scorer = rubric.load(RUBRICS / "table1.yaml")
    sheet = tmp_path / "units.xlsx"
    template(capsys, RUBRICS / "table1.yaml", sheet, "--batch")
    cells = typed(example("table1-typical"), scorer)
    fill_batch(sheet, [("甲", cells), ("", {}), ("", {}), ("乙", cells)])  # rows 3, 6; 4 and 5 blank
    book = openpyxl.load_workbook(sheet)
    book.worksheets[0]["B5000"].number_format = "0"  # a styled row far below: formatting, not input
    book.save(sheet)
    code, _, err = run(
        capsys, "batch", str(RUBRICS / "table1.yaml"), str(sheet), "--out", str(tmp_path / "r.jsonl")
    )
    assert code == 0
    assert "read 4, scored 2, rejected 0, blank 2" in err
