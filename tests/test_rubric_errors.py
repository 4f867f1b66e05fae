"""A broken rubric is refused with the specific problem, placed on the offending YAML node.

Every test starts from VALID (a small rubric that loads), breaks one thing in its text, loads it
from a file, and compares the whole problem records: code, path, file, line and column, and the
message and hint where docs/errors.md gives them. Lines and columns are 1-based and were worked
out by hand from the text below (columns count characters, so a Chinese character is one column).
The numbered listing of VALID, for checking the positions quoted in the tests:

     1  id: mini-table
     2  version: "1"
     3  title: 最小考核表
     4  points: 10
     5  categories:
     6    - id: 组织领导
     7      name: 组织领导
     8      criteria:
     9        - id: C-01                 (criterion mapping starts at 'id', column 9)
    10          number: 1
    11          content: 领导小组健全、材料齐备。
    12          points: 5
    13          standard: 不健全扣2分;缺一项扣1分
    14          evidence:
    15            sound: {type: flag, label: 领导小组健全}
    16            documents: {type: checklist, label: 已制定的材料, items: [计划, 总结]}
    17          rules:
    18            - deduct: 2              ('deduct' at column 13, '2' at column 21)
    19              when: {not: sound}     ('{' at column 19)
    20              clause: 不健全扣2分
    21            - per_missing: documents ('documents' at column 26)
    22              points: 1
    23              clause: 缺一项扣1分
    24    - id: 工作创新
    25      name: 工作创新
    26      criteria:
    27        - id: C-02                 ('C-02' at column 13)
    28          number: 2
    29          content: 受到表彰、群众反映好。
    30          points: 5
    31          standard: 受表彰得5分;只有群众反映好的得2分
    32          start: zero
    33          evidence:
    34            recognition: {type: choice, label: 表彰情况, options: [受表彰, 群众反映好, 无]}
    35          rules:
    36            - tiers: recognition
    37              levels: {受表彰: 5, 群众反映好: 2, 无: 0}   ('{' at column 21)
    38              clause: 受表彰得5分;只有群众反映好的得2分
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric import Problem, RubricError

VALID = """\
id: mini-table
version: "1"
title: 最小考核表
points: 10
categories:
  - id: 组织领导
    name: 组织领导
    criteria:
      - id: C-01
        number: 1
        content: 领导小组健全、材料齐备。
        points: 5
        standard: 不健全扣2分;缺一项扣1分
        evidence:
          sound: {type: flag, label: 领导小组健全}
          documents: {type: checklist, label: 已制定的材料, items: [计划, 总结]}
        rules:
          - deduct: 2
            when: {not: sound}
            clause: 不健全扣2分
          - per_missing: documents
            points: 1
            clause: 缺一项扣1分
  - id: 工作创新
    name: 工作创新
    criteria:
      - id: C-02
        number: 2
        content: 受到表彰、群众反映好。
        points: 5
        standard: 受表彰得5分;只有群众反映好的得2分
        start: zero
        evidence:
          recognition: {type: choice, label: 表彰情况, options: [受表彰, 群众反映好, 无]}
        rules:
          - tiers: recognition
            levels: {受表彰: 5, 群众反映好: 2, 无: 0}
            clause: 受表彰得5分;只有群众反映好的得2分
"""

C1: tuple[str | int, ...] = ("categories", 0, "criteria", 0)
C2: tuple[str | int, ...] = ("categories", 1, "criteria", 0)

COMPOSITE = """\
id: mini-composite
version: "1"
title: 综合得分
points: 100
parts:
  table1: table1.yaml
  table2: table2.yaml
evidence:
  has_window: {type: flag, label: 设置窗口}
branches:
  - when: has_window
    clause: 设置窗口的按表一(占60%)和表二(40%)
    weights: {table1: 0.6, table2: 0.4}
  - when: {not: has_window}
    clause: 未设置窗口的按表一
    weights: {table1: 1}
"""


def broken(*edits: tuple[str, str]) -> str:
    """VALID with each ``old`` text (which must occur exactly once) replaced by ``new``."""
    text = VALID
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} must occur once in VALID"
        text = text.replace(old, new)
    return text


def write(tmp_path: Path, text: str, name: str = "rubric.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> RubricError:
    with pytest.raises(RubricError) as info:
        rubric.load(path)
    return info.value


def records(error: RubricError) -> list[tuple[Any, ...]]:
    """Every problem of the error as (code, path, file, line, column, severity), in file order."""
    problems = sorted(error.problems, key=lambda p: (p.line or 0, p.column or 0, p.code))
    return [(p.code, p.path, p.file, p.line, p.column, p.severity) for p in problems]


def find(error: RubricError, code: str) -> Problem:
    """The one problem of the error with this code."""
    found = [p for p in error.problems if p.code == code]
    assert len(found) == 1, [str(p) for p in error.problems]
    return found[0]


def single(error: RubricError) -> None:
    """Nothing else is reported: one broken thing, one problem."""
    assert len(error.problems) == 1, [str(p) for p in error.problems]


def place(problem: Problem) -> tuple[Any, ...]:
    return (problem.code, problem.path, problem.file, problem.line, problem.column)


def test_the_minimal_rubric_loads(tmp_path: Path) -> None:
    loaded = rubric.load(write(tmp_path, VALID))
    assert isinstance(loaded, rubric.Rubric)
    assert loaded.id == "mini-table"


def test_a_misspelt_key_is_an_unknown_key_with_a_did_you_mean_and_the_required_key_is_missing(
    tmp_path: Path,
) -> None:
    # 'standard' (line 13) misspelt as 'standrd': the key is unknown (the key sits at 13:9), and
    # the criterion (its mapping starts at 9:9) no longer has its required 'standard'.
    path = write(tmp_path, broken(("        standard: 不健全", "        standrd: 不健全")))
    error = load_error(path)
    f = str(path)
    unknown = find(error, "unknown-key")
    assert unknown.message == "unknown key 'standrd'"
    assert unknown.hint == "did you mean 'standard'?"
    missing = find(error, "missing")
    assert missing.message == "'standard' is required"
    assert str(unknown) == (
        f"{f}:13:9: unknown-key: categories[0].criteria[0].standrd: unknown key 'standrd' "
        "(did you mean 'standard'?)"
    )
    assert records(error) == [
        ("missing", (*C1, "standard"), f, 9, 9, "error"),
        ("unknown-key", (*C1, "standrd"), f, 13, 9, "error"),
    ]


def test_a_misspelt_optional_key_is_only_an_unknown_key(tmp_path: Path) -> None:
    # 'start' (line 32, column 9) misspelt as 'strat'; 'start' has a default, so nothing is missing.
    path = write(tmp_path, broken(("        start: zero", "        strat: zero")))
    error = load_error(path)
    problem = find(error, "unknown-key")
    assert place(problem) == (
        "unknown-key",
        (*C2, "strat"),
        str(path),
        32,
        9,
    )
    assert problem.hint == "did you mean 'start'?"
    single(error)


def test_a_criterion_without_points_is_missing_points_placed_on_the_criterion(tmp_path: Path) -> None:
    # The first 'points: 5' (line 12) removed: the problem is placed on the criterion mapping (9:9).
    path = write(
        tmp_path,
        broken(
            (
                "        content: 领导小组健全、材料齐备。\n        points: 5\n",
                "        content: 领导小组健全、材料齐备。\n",
            )
        ),
    )
    error = load_error(path)
    problem = find(error, "missing")
    assert place(problem) == (
        "missing",
        (*C1, "points"),
        str(path),
        9,
        9,
    )
    assert problem.message == "'points' is required"
    single(error)


def test_a_rule_without_a_kind_key_is_an_unknown_kind_with_a_did_you_mean(tmp_path: Path) -> None:
    # 'deduct' (line 18) misspelt 'dedcut': the rule mapping starts at its first key, 18:13.
    path = write(tmp_path, broken(("          - deduct: 2", "          - dedcut: 2")))
    error = load_error(path)
    problem = find(error, "unknown-kind")
    assert place(problem) == (
        "unknown-kind",
        (*C1, "rules", 0),
        str(path),
        18,
        13,
    )
    assert problem.message == "a rule needs one kind key"
    assert problem.hint == "did you mean 'deduct'?"
    single(error)


def test_an_unknown_field_type_is_an_unknown_type_on_the_type_value(tmp_path: Path) -> None:
    # Line 15: '          sound: {type: bool, ...}' -> 'sound' 11, '{' 18, 'type' 19, 'bool' 25.
    # docs/errors.md: "…evidence.sound.type: unknown type 'bool' (types: …)".
    path = write(tmp_path, broken(("sound: {type: flag,", "sound: {type: bool,")))
    error = load_error(path)
    problem = find(error, "unknown-type")
    assert place(problem) == (
        "unknown-type",
        (*C1, "evidence", "sound", "type"),
        str(path),
        15,
        25,
    )
    assert problem.message == "unknown type 'bool'"
    assert problem.hint.startswith("types:")
    for name in ("flag", "count", "checklist", "choice", "assessed"):
        assert name in problem.hint
    single(error)


def test_a_bare_checklist_name_as_a_condition_is_a_bad_condition(tmp_path: Path) -> None:
    # Line 19 becomes '            when: documents': the value starts at column 19.
    path = write(tmp_path, broken(("when: {not: sound}", "when: documents")))
    error = load_error(path)
    problem = find(error, "bad-condition")
    assert place(problem) == (
        "bad-condition",
        (*C1, "rules", 0, "when"),
        str(path),
        19,
        19,
    )
    assert problem.message == "'documents' is a checklist field; a bare name tests a flag"
    single(error)


def test_a_rule_naming_an_undeclared_field_is_an_unknown_field_with_a_suggestion(tmp_path: Path) -> None:
    # Line 21 becomes '          - per_missing: docs': 'docs' at column 26.
    path = write(tmp_path, broken(("per_missing: documents", "per_missing: docs")))
    error = load_error(path)
    problem = find(error, "unknown-field")
    assert place(problem) == (
        "unknown-field",
        (*C1, "rules", 1, "per_missing"),
        str(path),
        21,
        26,
    )
    assert problem.message == (
        "'docs' is not a declared evidence field of this criterion; declared: sound, documents"
    )
    assert problem.hint == "did you mean 'documents'?"
    single(error)


def test_a_rule_naming_a_field_of_the_wrong_type_is_a_wrong_field_type(tmp_path: Path) -> None:
    # per_missing needs a checklist; 'sound' is a flag. Line 21, 'sound' at column 26.
    path = write(tmp_path, broken(("per_missing: documents", "per_missing: sound")))
    error = load_error(path)
    problem = find(error, "wrong-field-type")
    assert place(problem) == (
        "wrong-field-type",
        (*C1, "rules", 1, "per_missing"),
        str(path),
        21,
        26,
    )
    assert problem.message == "per_missing needs a checklist field; 'sound' is a flag"
    single(error)


def test_an_option_without_a_level_is_a_missing_level(tmp_path: Path) -> None:
    # The level of option '无' removed; the levels mapping starts at '{', line 37 column 21.
    path = write(tmp_path, broken(("群众反映好: 2, 无: 0}", "群众反映好: 2}")))
    error = load_error(path)
    problem = find(error, "missing-level")
    assert place(problem) == (
        "missing-level",
        (*C2, "rules", 0, "levels"),
        str(path),
        37,
        21,
    )
    assert problem.message == "option '无' of 'recognition' has no level"
    single(error)


def test_a_level_that_is_not_an_option_is_an_unknown_level_on_its_key(tmp_path: Path) -> None:
    # Line 37 becomes '            levels: {受表彰: 5, 群众反映好: 2, 无: 0, 其他: 0}':
    # '{' 21, 受 22 … '无' 40, ':' 41, ' ' 42, '0' 43, ',' 44, ' ' 45, '其他' 46 (its value 50).
    path = write(tmp_path, broken(("无: 0}", "无: 0, 其他: 0}")))
    error = load_error(path)
    problem = find(error, "unknown-level")
    assert place(problem) == (
        "unknown-level",
        (*C2, "rules", 0, "levels", "其他"),
        str(path),
        37,
        46,
    )
    assert problem.message == "level '其他' is not an option of 'recognition'"
    single(error)


def test_a_default_of_the_wrong_kind_is_a_bad_default(tmp_path: Path) -> None:
    # Line 15 becomes '          sound: {type: flag, label: 领导小组健全, default: 1}':
    # '{' 18, 'label' 31, '领导小组健全' 38-43, ',' 44, 'default' 46, '1' 55.
    path = write(tmp_path, broken(("label: 领导小组健全}", "label: 领导小组健全, default: 1}")))
    error = load_error(path)
    problem = find(error, "bad-default")
    assert place(problem) == (
        "bad-default",
        (*C1, "evidence", "sound", "default"),
        str(path),
        15,
        55,
    )
    assert problem.message == "default: expected true or false, got a number"
    single(error)


def test_a_cap_below_the_floor_is_bad_bounds_on_the_cap(tmp_path: Path) -> None:
    # 'cap: 2' and 'floor: 3' inserted after line 12: the cap is line 13, its value at column 14.
    path = write(
        tmp_path,
        broken(
            (
                "        points: 5\n        standard: 不健全",
                "        points: 5\n        cap: 2\n        floor: 3\n        standard: 不健全",
            )
        ),
    )
    error = load_error(path)
    problem = find(error, "bad-bounds")
    assert place(problem) == (
        "bad-bounds",
        (*C1, "cap"),
        str(path),
        13,
        14,
    )
    assert problem.message == "cap is below floor"
    single(error)


def test_a_criterion_id_used_twice_is_a_duplicate_id_on_the_second(tmp_path: Path) -> None:
    # Line 27 becomes '      - id: C-01': the second id's value at column 13.
    path = write(tmp_path, broken(("      - id: C-02", "      - id: C-01")))
    error = load_error(path)
    problem = find(error, "duplicate-id")
    assert place(problem) == (
        "duplicate-id",
        (*C2, "id"),
        str(path),
        27,
        13,
    )
    assert problem.message == "criterion id 'C-01' is used twice"
    single(error)


def test_a_zero_deduction_is_pydantics_greater_than(tmp_path: Path) -> None:
    # Line 18 becomes '          - deduct: 0': the value at column 21 (deduct must be > 0).
    path = write(tmp_path, broken(("          - deduct: 2", "          - deduct: 0")))
    error = load_error(path)
    problem = find(error, "greater-than")
    assert place(problem) == (
        "greater-than",
        (*C1, "rules", 0, "deduct"),
        str(path),
        18,
        21,
    )
    assert "greater than 0" in problem.message
    single(error)


def test_two_independent_schema_mistakes_are_reported_together(tmp_path: Path) -> None:
    # The rubric's points 0 (line 4, value at column 9) and a rule with no kind (18:13).
    path = write(tmp_path, broken(("points: 10\n", "points: 0\n"), ("- deduct: 2", "- dedcut: 2")))
    error = load_error(path)
    f = str(path)
    assert records(error) == [
        ("greater-than", ("points",), f, 4, 9, "error"),
        ("unknown-kind", (*C1, "rules", 0), f, 18, 13, "error"),
    ]
    assert "(and 1 more)" in str(error)


def test_two_independent_reference_mistakes_are_reported_together(tmp_path: Path) -> None:
    # An undeclared field (21:26) and a criterion id used twice (27:13).
    path = write(
        tmp_path,
        broken(("per_missing: documents", "per_missing: docs"), ("      - id: C-02", "      - id: C-01")),
    )
    error = load_error(path)
    f = str(path)
    assert records(error) == [
        ("unknown-field", (*C1, "rules", 1, "per_missing"), f, 21, 26, "error"),
        ("duplicate-id", (*C2, "id"), f, 27, 13, "error"),
    ]


def test_a_composite_weighing_an_undeclared_part_is_an_unknown_part_on_its_key(tmp_path: Path) -> None:
    # Line 13 becomes '    weights: {table1: 0.6, table3: 0.4}':
    # '{' 14, 'table1' 15-20, ':' 21, ' ' 22, '0.6' 23-25, ',' 26, ' ' 27, 'table3' 28.
    write(tmp_path, VALID, "table1.yaml")
    write(tmp_path, VALID.replace("mini-table", "mini-table-2"), "table2.yaml")
    path = write(tmp_path, COMPOSITE.replace("table2: 0.4}", "table3: 0.4}"), "department.yaml")
    error = load_error(path)
    problem = find(error, "unknown-part")
    assert place(problem) == (
        "unknown-part",
        ("branches", 0, "weights", "table3"),
        str(path),
        13,
        28,
    )
    assert problem.message == "'table3' is not a part of this composite"
    single(error)


def test_the_valid_composite_loads(tmp_path: Path) -> None:
    write(tmp_path, VALID, "table1.yaml")
    write(tmp_path, VALID.replace("mini-table", "mini-table-2"), "table2.yaml")
    loaded = rubric.load(write(tmp_path, COMPOSITE, "department.yaml"))
    assert isinstance(loaded, rubric.Composite)
    assert set(loaded.parts) == {"table1", "table2"}


def test_an_error_in_a_part_file_names_the_part_file(tmp_path: Path) -> None:
    # table2.yaml is VALID with C-02 reusing C-01 (line 27, column 13 of table2.yaml). The place
    # and code are given, but not the part's own words: the composite's path names the part.
    write(tmp_path, VALID, "table1.yaml")
    part = write(tmp_path, broken(("      - id: C-02", "      - id: C-01")), "table2.yaml")
    path = write(tmp_path, COMPOSITE, "department.yaml")
    error = load_error(path)
    problem = find(error, "duplicate-id")
    assert str(problem).startswith(f"{part}:27:13: duplicate-id: ")
    assert place(problem) == (
        "duplicate-id",
        ("parts", "table2"),
        str(part),
        27,
        13,
    )
    single(error)
