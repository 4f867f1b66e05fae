"""Evidence values: every row of the "Evidence values" table of docs/coercion.md.

A small rubric with one criterion per field type is written here; each accepted value must score
as the clause says, and each refused value must raise EvidenceError with the documented problem
code at the documented path, with every problem of a record reported at once.
"""

from __future__ import annotations

import copy
import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric import EvidenceError, Problem, RubricError

RUBRIC_YAML = """\
id: coercion-test
version: "1"
title: 取值测试
points: 100
categories:
  - id: 全部
    name: 全部
    criteria:
      - id: C1
        number: 1
        content: 领导小组健全
        points: 20
        standard: 不健全扣2分
        evidence:
          sound: {type: flag, label: 领导小组机构健全}
        rules:
          - deduct: 2
            when: {not: sound}
            clause: 不健全扣2分
      - id: C2
        number: 2
        content: 未经许可变动人员
        points: 20
        standard: 每人次扣5分
        evidence:
          n: {type: count, max: 100, label: 未经许可变动的人次}
        rules:
          - deduct_each: n
            points: 5
            clause: 每人次扣5分
      - id: C3
        number: 3
        content: 年初有计划、有部署,年终有总结
        points: 20
        standard: 缺一项扣1分
        evidence:
          documents: {type: checklist, label: 已制定的材料, items: [计划, 部署, 业务报表, 总结]}
        rules:
          - per_missing: documents
            points: 1
            clause: 缺一项扣1分
      - id: C4
        number: 4
        content: 受理及台账
        points: 20
        start: zero
        standard: 符合要求得20分;受理但没有建立台账得12分;未及时受理又没有台账不得分
        evidence:
          handling:
            type: choice
            label: 受理及台账情况
            options: [符合要求, 受理但没有建立台账, 未及时受理又没有台账]
        rules:
          - tiers: handling
            levels: {符合要求: 20, 受理但没有建立台账: 12, 未及时受理又没有台账: 0}
            clause: 符合要求得20分;受理但没有建立台账得12分;未及时受理又没有台账不得分
      - id: C5
        number: 5
        content: 窗口人员考勤
        points: 20
        standard: 迟到、早退及请假次数多的酌情扣3—5分
        evidence:
          attendance:
            type: assessed
            label: 酌情扣分
            range: [3, 5]
            step: 0.5
            max_entries: 2
        rules:
          - deduct_assessed: attendance
            clause: 酌情扣3—5分
"""

RUBRIC = rubric.Rubric.from_bytes(RUBRIC_YAML.encode("utf-8"))

BASE: dict[str, dict[str, Any]] = {
    "C1": {"sound": True},
    "C2": {"n": 0},
    "C3": {"documents": ["计划", "部署", "业务报表", "总结"]},
    "C4": {"handling": "符合要求"},
    "C5": {"attendance": []},
}

FIELD = {"C1": "sound", "C2": "n", "C3": "documents", "C4": "handling", "C5": "attendance"}


def record_with(criterion: str, value: Any) -> dict[str, dict[str, Any]]:
    """The valid base record with one field replaced."""
    record = copy.deepcopy(BASE)
    record[criterion] = {FIELD[criterion]: value}
    return record


def refusal(record: Any) -> tuple[Problem, ...]:
    with pytest.raises(EvidenceError) as info:
        RUBRIC.score(record)
    assert not isinstance(info.value, RubricError)
    return info.value.problems


def entry(points: Any, reason: Any = "迟到3次") -> dict[str, Any]:
    return {"points": points, "reason": reason}


def test_the_base_record_is_valid_and_scores_full_marks() -> None:
    result = RUBRIC.score(BASE)
    assert result.total == 100
    assert [c.score for cat in result.categories for c in cat.criteria] == [20] * 5


# --- accepted values ---------------------------------------------------------------------------

ACCEPTED = [
    # flag
    pytest.param("C1", True, Decimal(20), id="flag-true"),
    pytest.param("C1", False, Decimal(18), id="flag-false"),
    # count
    pytest.param("C2", 0, Decimal(20), id="count-0"),
    pytest.param("C2", 3, Decimal(5), id="count-3"),
    pytest.param("C2", 100, Decimal(0), id="count-max"),
    pytest.param("C2", Decimal("3.0"), Decimal(5), id="count-decimal-3.0"),
    pytest.param("C2", Decimal(3), Decimal(5), id="count-decimal-3"),
    pytest.param("C2", Decimal("1E+1"), Decimal(0), id="count-decimal-1E+1"),
    # checklist
    pytest.param("C3", [], Decimal(16), id="checklist-empty"),
    pytest.param("C3", ["计划"], Decimal(17), id="checklist-one"),
    pytest.param("C3", ["总结", "计划"], Decimal(18), id="checklist-any-order"),
    pytest.param("C3", ("计划", "部署", "业务报表"), Decimal(19), id="checklist-tuple"),
    pytest.param("C3", ["计划", "部署", "业务报表", "总结"], Decimal(20), id="checklist-all"),
    # choice
    pytest.param("C4", "符合要求", Decimal(20), id="choice-first"),
    pytest.param("C4", "受理但没有建立台账", Decimal(12), id="choice-second"),
    pytest.param("C4", "未及时受理又没有台账", Decimal(0), id="choice-third"),
    # assessed
    pytest.param("C5", [], Decimal(20), id="assessed-none"),
    pytest.param("C5", [entry(3)], Decimal(17), id="assessed-int-low"),
    pytest.param("C5", [entry(5)], Decimal(15), id="assessed-int-high"),
    pytest.param("C5", [entry(Decimal("4.5"))], Decimal("15.5"), id="assessed-decimal-on-step"),
    pytest.param("C5", [entry(Decimal("4.0"))], Decimal(16), id="assessed-decimal-4.0"),
    pytest.param("C5", [entry(3), entry(Decimal("3.5"))], Decimal("13.5"), id="assessed-max-entries"),
    pytest.param("C5", (entry(4),), Decimal(16), id="assessed-tuple"),
    pytest.param("C5", [entry(4, "迟到\t3次\n早退2次")], Decimal(16), id="reason-tab-newline"),
    pytest.param("C5", [entry(4, "迟" * 2000)], Decimal(16), id="reason-2000-chars"),
    pytest.param("C5", [entry(4, "请假过多 👎")], Decimal(16), id="reason-astral"),
]


@pytest.mark.parametrize(("criterion", "value", "score"), ACCEPTED)
def test_accepted_value_scores_as_the_clause_says(criterion: str, value: Any, score: Decimal) -> None:
    result = RUBRIC.score(record_with(criterion, value))
    assert result.criterion(criterion).score == score


def test_an_integral_decimal_count_counts_as_that_many() -> None:
    facts = RUBRIC.validate(record_with("C2", Decimal("3.0")))
    assert facts["C2"]["n"] == 3


# --- refused values ----------------------------------------------------------------------------

C1 = ("C1", "sound")
C2 = ("C2", "n")
C3 = ("C3", "documents")
C4 = ("C4", "handling")
C5 = ("C5", "attendance")

HUGE = 10**100_000

REFUSED = [
    # flag
    pytest.param("C1", 1, "wrong-type", C1, id="flag-1"),
    pytest.param("C1", 0, "wrong-type", C1, id="flag-0"),
    pytest.param("C1", "true", "wrong-type", C1, id="flag-text-true"),
    pytest.param("C1", "是", "wrong-type", C1, id="flag-text-shi"),
    pytest.param("C1", None, "wrong-type", C1, id="flag-null"),
    pytest.param("C1", "yes", "wrong-type", C1, id="flag-text-yes"),
    pytest.param("C1", Decimal(1), "wrong-type", C1, id="flag-decimal-1"),
    # count: booleans are never incidents
    pytest.param("C2", True, "wrong-type", C2, id="count-true"),
    pytest.param("C2", False, "wrong-type", C2, id="count-false"),
    # count: text, however number-like
    pytest.param("C2", "3", "wrong-type", C2, id="count-text-3"),
    pytest.param("C2", " 3 ", "wrong-type", C2, id="count-text-spaced-3"),
    pytest.param("C2", "1_000", "wrong-type", C2, id="count-text-1_000"),
    pytest.param("C2", "３", "wrong-type", C2, id="count-text-fullwidth-3"),
    pytest.param("C2", ".nan", "wrong-type", C2, id="count-text-.nan"),
    # count: fractions, negatives, range
    pytest.param("C2", Decimal("2.5"), "not-whole", C2, id="count-decimal-2.5"),
    pytest.param("C2", Decimal("0.1"), "not-whole", C2, id="count-decimal-0.1"),
    pytest.param("C2", -1, "negative", C2, id="count-minus-1"),
    pytest.param("C2", Decimal("-1"), "negative", C2, id="count-decimal-minus-1"),
    pytest.param("C2", 101, "out-of-range", C2, id="count-above-max"),
    pytest.param("C2", Decimal("1e400"), "out-of-range", C2, id="count-1e400"),
    pytest.param("C2", Decimal("1E+999999999"), "out-of-range", C2, id="count-1E+999999999"),
    pytest.param("C2", HUGE, "out-of-range", C2, id="count-10**100000"),
    # count: non-finite and float
    pytest.param("C2", Decimal("NaN"), "not-finite", C2, id="count-nan"),
    pytest.param("C2", Decimal("sNaN"), "not-finite", C2, id="count-snan"),
    pytest.param("C2", Decimal("Infinity"), "not-finite", C2, id="count-infinity"),
    pytest.param("C2", Decimal("-Infinity"), "not-finite", C2, id="count-minus-infinity"),
    pytest.param("C2", 3.0, "wrong-type", C2, id="count-float-3.0"),
    pytest.param("C2", float("nan"), "wrong-type", C2, id="count-float-nan"),
    pytest.param("C2", float("inf"), "wrong-type", C2, id="count-float-inf"),
    # checklist
    pytest.param("C3", "计划", "wrong-type", C3, id="checklist-text"),
    pytest.param("C3", {"计划": True}, "wrong-type", C3, id="checklist-mapping"),
    pytest.param("C3", None, "wrong-type", C3, id="checklist-null"),
    pytest.param("C3", ["计划", "年报"], "unknown-item", (*C3, 1), id="checklist-unknown-item"),
    pytest.param("C3", ["计划", "部署", "计划"], "duplicate-item", (*C3, 2), id="checklist-duplicate"),
    # choice
    pytest.param("C4", "符合", "unknown-option", C4, id="choice-unknown"),
    pytest.param("C4", "符合要求 ", "unknown-option", C4, id="choice-trailing-space"),
    pytest.param("C4", 1, "wrong-type", C4, id="choice-number"),
    pytest.param("C4", None, "wrong-type", C4, id="choice-null"),
    pytest.param("C4", ["符合要求"], "wrong-type", C4, id="choice-list"),
    # assessed: the list
    pytest.param("C5", entry(4), "wrong-type", C5, id="assessed-not-a-list"),
    pytest.param("C5", [entry(3), entry(3), entry(3)], "too-many", C5, id="assessed-too-many"),
    # assessed: points
    pytest.param("C5", [entry(6)], "out-of-range", (*C5, 0, "points"), id="points-above-range"),
    pytest.param("C5", [entry(Decimal("2.5"))], "out-of-range", (*C5, 0, "points"), id="points-below-range"),
    pytest.param("C5", [entry(0)], "out-of-range", (*C5, 0, "points"), id="points-zero"),
    pytest.param("C5", [entry(-4)], "out-of-range", (*C5, 0, "points"), id="points-negative"),
    pytest.param("C5", [entry(Decimal("3.25"))], "off-step", (*C5, 0, "points"), id="points-off-step"),
    pytest.param("C5", [entry(Decimal("4.1"))], "off-step", (*C5, 0, "points"), id="points-off-step-4.1"),
    pytest.param("C5", [entry("4")], "wrong-type", (*C5, 0, "points"), id="points-text"),
    pytest.param("C5", [entry(4.0)], "wrong-type", (*C5, 0, "points"), id="points-float"),
    pytest.param("C5", [entry(True)], "wrong-type", (*C5, 0, "points"), id="points-true"),
    pytest.param("C5", [entry(Decimal("NaN"))], "not-finite", (*C5, 0, "points"), id="points-nan"),
    pytest.param("C5", [entry(Decimal("Infinity"))], "not-finite", (*C5, 0, "points"), id="points-inf"),
    # assessed: reason
    pytest.param("C5", [{"points": 4}], "missing", (*C5, 0, "reason"), id="reason-missing"),
    pytest.param("C5", [entry(4, "")], "missing", (*C5, 0, "reason"), id="reason-empty"),
    pytest.param("C5", [entry(4, "   ")], "missing", (*C5, 0, "reason"), id="reason-blank"),
    pytest.param("C5", [entry(4, "\u3000\n\t")], "missing", (*C5, 0, "reason"), id="reason-blank-wide"),
    pytest.param("C5", [entry(4, "迟到\ud800")], "bad-text", (*C5, 0, "reason"), id="reason-lone-surrogate"),
    pytest.param("C5", [entry(4, "\udfff")], "bad-text", (*C5, 0, "reason"), id="reason-low-surrogate"),
    pytest.param("C5", [entry(4, "迟到\x00")], "bad-text", (*C5, 0, "reason"), id="reason-nul"),
    pytest.param("C5", [entry(4, "\x1b[31m迟到")], "bad-text", (*C5, 0, "reason"), id="reason-escape"),
    pytest.param("C5", [entry(4, "迟到\x7f")], "bad-text", (*C5, 0, "reason"), id="reason-del"),
    pytest.param("C5", [entry(4, "迟" * 2001)], "too-long", (*C5, 0, "reason"), id="reason-too-long"),
    # assessed: keys
    pytest.param(
        "C5", [{"points": 4, "reason": "迟到", "note": "x"}], "unknown-key", (*C5, 0, "note"), id="extra-key"
    ),
]


@pytest.mark.parametrize(("criterion", "value", "code", "path"), REFUSED)
def test_refused_value_names_its_code_and_path(
    criterion: str, value: Any, code: str, path: tuple[str | int, ...]
) -> None:
    problems = refusal(record_with(criterion, value))
    assert [(p.code, p.path) for p in problems] == [(code, path)]
    assert all(p.severity == "error" for p in problems)


@pytest.mark.parametrize("value", ["3", " 3 ", "1_000", "３"])
def test_quoted_numbers_are_told_to_drop_the_quotes(value: str) -> None:
    (problem,) = refusal(record_with("C2", value))
    assert problem.code == "wrong-type"
    assert "without quotes" in problem.hint


def test_unknown_item_suggests_the_closest_item() -> None:
    (problem,) = refusal(record_with("C3", ["总结报告"]))
    assert problem.code == "unknown-item"
    assert problem.path == (*C3, 0)
    assert "总结" in problem.hint


def test_unknown_option_suggests_the_closest_option() -> None:
    (problem,) = refusal(record_with("C4", "符合"))
    assert problem.code == "unknown-option"
    assert "符合要求" in problem.hint


def test_misspelt_reason_key_is_an_unknown_key_with_a_suggestion() -> None:
    # docs/errors.md: T2-01.attendance[0].resaon: unknown key 'resaon' (did you mean 'reason'?)
    problems = refusal(record_with("C5", [{"points": 4, "resaon": "迟到"}]))
    unknown = [p for p in problems if p.code == "unknown-key"]
    assert [p.path for p in unknown] == [(*C5, 0, "resaon")]
    assert "reason" in unknown[0].hint


def test_each_bad_assessed_entry_is_reported() -> None:
    value = [entry(6), entry(Decimal("3.25"))]
    problems = refusal(record_with("C5", value))
    assert [(p.code, p.path) for p in problems] == [
        ("out-of-range", (*C5, 0, "points")),
        ("off-step", (*C5, 1, "points")),
    ]


@pytest.mark.parametrize(
    "value", [HUGE, -HUGE, Decimal(HUGE), Decimal(-HUGE)], ids=["int", "-int", "dec", "-dec"]
)
def test_a_huge_count_is_refused_quickly_with_a_short_message(value: Any) -> None:
    start = time.perf_counter()
    problems = refusal(record_with("C2", value))
    with pytest.raises(EvidenceError) as info:
        RUBRIC.score(record_with("C2", value))
    text = str(info.value) + "".join(str(p) for p in problems) + repr(problems)
    assert time.perf_counter() - start < 1.0
    assert [(p.code, p.path) for p in problems] == [
        ("negative" if value < 0 else "out-of-range", C2),
    ]
    assert len(text) < 2000


def test_a_huge_assessed_amount_is_refused_with_a_short_message() -> None:
    problems = refusal(record_with("C5", [entry(HUGE)]))
    assert [(p.code, p.path) for p in problems] == [("out-of-range", (*C5, 0, "points"))]
    assert len(str(problems[0])) < 500


# --- every problem at once ---------------------------------------------------------------------


def test_three_defects_give_three_problems() -> None:
    record = copy.deepcopy(BASE)
    record["C1"]["sound"] = 1
    record["C2"]["n"] = -1
    record["C3"]["documents"] = ["年报"]
    problems = refusal(record)
    assert sorted((p.code, p.path) for p in problems) == sorted(
        [
            ("wrong-type", C1),
            ("negative", C2),
            ("unknown-item", (*C3, 0)),
        ]
    )


def test_every_problem_of_a_messy_record_is_reported_at_once() -> None:
    record: dict[str, Any] = {
        "C1": {"sound": "是", "soundd": True},
        "C2": {"n": True},
        "C3": {"documents": ["计划", "计划", "年报"]},
        # C4 left out entirely
        "C5": {"attendance": [entry(Decimal("3.25")), entry(4.0, "\x00")]},
        "C6": {},
    }
    problems = refusal(record)
    assert sorted((p.code, p.path) for p in problems) == sorted(
        [
            ("wrong-type", C1),
            ("unknown-field", ("C1", "soundd")),
            ("wrong-type", C2),
            ("duplicate-item", (*C3, 1)),
            ("unknown-item", (*C3, 2)),
            ("missing", ("C4",)),
            ("off-step", (*C5, 0, "points")),
            ("wrong-type", (*C5, 1, "points")),
            ("unknown-criterion", ("C6",)),
        ]
    )


def test_a_missing_field_is_reported_with_its_path() -> None:
    record = copy.deepcopy(BASE)
    record["C2"] = {}
    problems = refusal(record)
    assert [(p.code, p.path) for p in problems] == [("missing", C2)]


# --- values read from YAML and JSON evidence files ---------------------------------------------

FROM_YAML = [
    pytest.param("C1", "yes", "wrong-type", C1, id="flag-yes"),
    pytest.param("C1", "on", "wrong-type", C1, id="flag-on"),
    pytest.param("C1", "1", "wrong-type", C1, id="flag-1"),
    pytest.param("C1", '"true"', "wrong-type", C1, id="flag-quoted-true"),
    pytest.param("C1", "~", "wrong-type", C1, id="flag-null"),
    pytest.param("C2", "true", "wrong-type", C2, id="count-true"),
    pytest.param("C2", '"3"', "wrong-type", C2, id="count-quoted"),
    pytest.param("C2", "012", "wrong-type", C2, id="count-012"),
    pytest.param("C2", "0x1F", "wrong-type", C2, id="count-hex"),
    pytest.param("C2", "1_000", "wrong-type", C2, id="count-underscore"),
    pytest.param("C2", "1:30", "wrong-type", C2, id="count-sexagesimal"),
    pytest.param("C2", ".nan", "wrong-type", C2, id="count-.nan"),
    pytest.param("C2", ".inf", "wrong-type", C2, id="count-.inf"),
    pytest.param("C2", "2.5", "not-whole", C2, id="count-2.5"),
    pytest.param("C2", "-1", "negative", C2, id="count-minus-1"),
    pytest.param("C2", "1e400", "out-of-range", C2, id="count-1e400"),
    pytest.param("C2", "101", "out-of-range", C2, id="count-above-max"),
    pytest.param("C2", "1e999999999", "out-of-range", C2, id="count-1e999999999"),
    pytest.param("C5", "[{points: .nan, reason: 迟到}]", "wrong-type", (*C5, 0, "points"), id="points-.nan"),
    pytest.param("C5", '[{points: "4", reason: 迟到}]', "wrong-type", (*C5, 0, "points"), id="points-quoted"),
    pytest.param("C5", "[{points: 3.25, reason: 迟到}]", "off-step", (*C5, 0, "points"), id="points-3.25"),
    pytest.param("C5", "[{points: 4, reason: ''}]", "missing", (*C5, 0, "reason"), id="reason-empty"),
    pytest.param("C5", "[{points: 4}]", "missing", (*C5, 0, "reason"), id="reason-absent"),
]


def _evidence_yaml(criterion: str, value: str) -> str:
    lines = [
        "C1: {sound: true}",
        "C2: {n: 0}",
        "C3: {documents: [计划, 部署, 业务报表, 总结]}",
        "C4: {handling: 符合要求}",
        "C5: {attendance: []}",
    ]
    index = int(criterion[1]) - 1
    lines[index] = f"{criterion}: {{{FIELD[criterion]}: {value}}}"
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("criterion", "value", "code", "path"), FROM_YAML)
def test_refused_value_read_from_a_yaml_file(
    tmp_path: Path, criterion: str, value: str, code: str, path: tuple[str | int, ...]
) -> None:
    file = tmp_path / "record.yaml"
    file.write_text(_evidence_yaml(criterion, value), encoding="utf-8")
    record = rubric.load_evidence(file)
    with pytest.raises(EvidenceError) as info:
        RUBRIC.score(record.data, positions=record.positions)
    problems = info.value.problems
    assert [(p.code, p.path) for p in problems] == [(code, path)]
    assert problems[0].file == str(file)
    assert problems[0].line == int(criterion[1])
    assert problems[0].column is not None


@pytest.mark.parametrize(
    ("criterion", "value", "score"),
    [
        pytest.param("C2", "3.0", Decimal(5), id="count-3.0"),
        pytest.param("C2", "3", Decimal(5), id="count-3"),
        pytest.param("C5", "[{points: 4.5, reason: 迟到}]", Decimal("15.5"), id="points-4.5"),
        pytest.param("C5", "[{points: 3, reason: !!str 3}]", Decimal(17), id="reason-str-tag"),
    ],
)
def test_accepted_value_read_from_a_yaml_file(
    tmp_path: Path, criterion: str, value: str, score: Decimal
) -> None:
    file = tmp_path / "record.yaml"
    file.write_text(_evidence_yaml(criterion, value), encoding="utf-8")
    record = rubric.load_evidence(file)
    result = RUBRIC.score(record.data, positions=record.positions)
    assert result.criterion(criterion).score == score


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_evidence_file_with_nan_is_refused(tmp_path: Path, constant: str) -> None:
    # docs/coercion.md: JSON is read by the same loader, so NaN and Infinity are refused
    file = tmp_path / "record.json"
    record = copy.deepcopy(BASE)
    record["C2"]["n"] = "__CONSTANT__"
    file.write_text(
        json.dumps(record, ensure_ascii=False).replace('"__CONSTANT__"', constant), encoding="utf-8"
    )
    try:
        loaded = rubric.load_evidence(file)
    except EvidenceError:
        return  # refused by the loader itself
    problems = refusal(loaded.data)
    assert [(p.code, p.path) for p in problems] == [("wrong-type", C2)]


def test_json_lines_floats_read_as_decimal_are_accepted() -> None:
    from rubric._documents import parse_json_line  # noqa: PLC0415

    line = json.dumps(BASE, ensure_ascii=False).replace(
        '"attendance": []', '"attendance": [{"points": 4.5, "reason": "迟到"}]'
    )
    result = RUBRIC.score(parse_json_line(line))
    assert result.criterion("C5").score == Decimal("15.5")


# --- results are exact JSON --------------------------------------------------------------------


def test_json_result_never_contains_nan() -> None:
    record = copy.deepcopy(BASE)
    record["C1"]["sound"] = False
    record["C2"]["n"] = 3
    record["C3"]["documents"] = ["计划"]
    record["C4"]["handling"] = "受理但没有建立台账"
    record["C5"]["attendance"] = [entry(Decimal("4.5")), entry(Decimal("3.0"), "早退")]
    result = RUBRIC.score(record)
    text = result.to_json()
    assert "NaN" not in text
    assert "Infinity" not in text

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in result JSON")

    data = json.loads(text, parse_constant=refuse, parse_float=Decimal)
    assert data is not None
    assert result.total == 100 - 2 - 15 - 3 - 8 - Decimal("7.5")
