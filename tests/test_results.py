"""Results: declared points match the notice, audits replay exactly, JSON is stable, composites weigh.

Every expected number is worked out by hand from the notice's text (the clause is named in a
comment), never copied from the engine's output.
"""

from __future__ import annotations

import copy
import hashlib
import json
import pickle
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric import EvidenceError

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"
EXAMPLES = ROOT / "examples"
TABLES = ("table1", "table2", "table3")

# 分值 of every 序号, as printed in the notice (附1 表一, 附2 表二, 附3 表三).
SEED_POINTS = {
    "table1": {
        "T1-01": 5, "T1-02": 5, "T1-03": 5, "T1-04": 5,                  # 组织领导
        "T1-05": 5, "T1-06": 20, "T1-07": 5, "T1-08": 10, "T1-09": 5,    # 信息公开
        "T1-10": 5, "T1-11": 5, "T1-12": 5,                              # 依申请公开
        "T1-13": 5, "T1-14": 10,                                         # 政务服务
        "T1-15": 5,                                                      # 工作创新
    },
    "table2": {"T2-01": 40, "T2-02": 40, "T2-03": 20},                   # 40分, 40分, 20分
    "table3": {
        "T3-01": 5, "T3-02": 5, "T3-03": 5,                              # 组织领导
        "T3-04": 5, "T3-05": 15, "T3-06": 5,                             # 信息公开
        "T3-07": 5, "T3-08": 10,                                         # 依申请公开
        "T3-09": 5, "T3-10": 5, "T3-11": 7, "T3-12": 5, "T3-13": 5, "T3-14": 5, "T3-15": 5,
        "T3-16": 8,                                                      # 工作创新
    },
}  # fmt: skip

# The total of every shipped example, worked out from the clauses:
EXAMPLE_TOTALS = {
    # 表一: every standard met, so every declared point: 20 + 45 + 15 + 15 + 5
    "table1-perfect": "100",
    # 表一: see tests/test_cli.py: 3+4+5+5 | 5+15+5+5+5 | 4+3+5 | 5+7 | 2
    "table1-typical": "83",
    # 表一: 8 未完成在线审批 10 − 5 (−5); 14 no channel, complaints not resolved: 10 − 5 − 3 − 5
    # → floor 0 (−10); 15 只有群众反映好 2 − 5 有投诉上访 → floor 0 (−5): 100 − 20
    "table1-floor": "80",
    # 表一: 2 不及时完成任务扣2分 (−2), 9 有就不得分 (−5): 100 − 7
    "table1-veto": "93",
    # 表二: 40 + 40 + (4 创新 + 3 表扬 + 2×5 锦旗 + 3 服务窗口 = 20)
    "table2-perfect": "100",
    # 表二: 40 + (40 − 1 报表1个月) + (5+4 创新 + 3 + 2×5 + 3 + 3 一个服务明星 = 28 → cap 20) = 99
    "table2-capped": "99",
    # 表二: 40 − 5 − 3 − 3×5 − 5 − 4×5 = −8 → 0; 40 − 3×2 未在线办理 − 5 中心之外受理 = 29; 0
    "table2-floor": "29",
    # 表二: 29 + 34 + 4.5 (see tests/test_cli.py)
    "table2-typical": "67.5",
    # 表三: every criterion full; 16: 2 市级表彰 + 3 省级表彰 + 1 市级媒体 + 2 省级媒体 = 8
    "table3-perfect": "100",
    # 表三: 9 缺1个窗口 5 − 0.5; 16: 2×1 + 1×2 + 2×3 + 1 + 2 = 13 → 累计不超过8分: 100 − 0.5
    "table3-capped": "99.5",
    # 表三: 2 缺半年总结 −1; 5 5+10−5 (超过20个工作日没有更新) → −5; 7 缺传真 −1; 8 受理但没有台账
    # 5 → −5; 9 缺3个窗口 −1.5; 11 报表不及时 −2; 13 有投诉 −3; 16 区级表彰1次 1 → −7:
    # 100 − 1 − 5 − 1 − 5 − 1.5 − 2 − 3 − 7 = 74.5
    "table3-typical": "74.5",
    # 表三: 1 不及时调整 −2; 12 缺责任追究制 −1; 15 发生此类行为不得分 −5; 16 = 8: 100 − 8
    "table3-veto": "92",
}


def load(name: str) -> Any:
    return rubric.load(RUBRICS / f"{name}.yaml")


def evidence(example: str) -> Any:
    return rubric.load_evidence(EXAMPLES / f"{example}.yaml").data


def table_of(example: str) -> str:
    """'table2-floor' -> 'table2'."""
    return example.split("-", maxsplit=1)[0]


def examples_of(table: str) -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob(f"{table}-*.yaml"))


ALL_EXAMPLES = [e for t in TABLES for e in examples_of(t)]


# --- declared points -----------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_each_seed_tables_criteria_carry_the_notices_points_and_sum_to_100(table: str) -> None:
    doc = load(table).doc
    points = {c.id: c.points for cat in doc.categories for c in cat.criteria}
    assert points == {k: Decimal(v) for k, v in SEED_POINTS[table].items()}
    assert sum(points.values()) == Decimal(100) == doc.points


def test_table2s_criteria_are_40_40_and_20() -> None:
    doc = load("table2").doc
    assert [c.points for cat in doc.categories for c in cat.criteria] == [
        Decimal(40),
        Decimal(40),
        Decimal(20),
    ]


# --- audit replay --------------------------------------------------------------------------------


def test_every_table_ships_examples() -> None:
    for table in TABLES:
        assert examples_of(table), table
    assert set(ALL_EXAMPLES) == set(EXAMPLE_TOTALS)


@pytest.mark.parametrize("example", ALL_EXAMPLES)
def test_the_audit_of_every_example_replays_to_its_scores(example: str) -> None:
    result = load(table_of(example)).score(evidence(example))
    for category in result.categories:
        for criterion in category.criteria:
            assert criterion.audit, criterion.id
            assert all(isinstance(e.points, Decimal) for e in criterion.audit)
            assert sum((e.points for e in criterion.audit), Decimal(0)) == criterion.score, criterion.id
            assert all(e.criterion == criterion.id for e in criterion.audit)
            assert criterion.audit[0].kind == "start"
        adjustments = sum((e.points for e in category.adjustments), Decimal(0))
        assert category.score == sum((c.score for c in category.criteria), Decimal(0)) + adjustments
    adjustments = sum((e.points for e in result.adjustments), Decimal(0))
    assert result.total == sum((c.score for c in result.categories), Decimal(0)) + adjustments


@pytest.mark.parametrize("example", ALL_EXAMPLES)
def test_every_example_scores_the_total_worked_out_by_hand(example: str) -> None:
    result = load(table_of(example)).score(evidence(example))
    assert result.total == Decimal(EXAMPLE_TOTALS[example])


# --- the floor records what it discards ---------------------------------------------------------


def test_a_floor_records_the_points_it_discards() -> None:
    record = copy.deepcopy(evidence("table2-perfect"))
    # Each clause of 表二 人员管理, and what it takes off here:
    #   1、未按要求配备在职在岗人员驻窗口的,扣5分            −5
    #   2、如变动扣3分                                        −3
    #      未经中心许可变动的,每人次扣5分: 2 × 5              −10
    #      服装及办公设施未按要求配齐到位的,扣5分            −5
    #   3、酌情扣3—5分: 4.5                                   −4.5
    #      单位未派替岗人员的,每半天扣5分: 1 × 5             −5
    #   4、一起扣5分: 1 × 5                                   −5
    #   5、视情节扣5—10分: 7.5                                −7.5
    #   6、每退回1人次扣5分: 1 × 5                            −5
    record["T2-01"] = {
        "staffed": False,
        "changed": True,
        "unauthorised_changes": 2,
        "equipment_incomplete": True,
        "attendance": [{"points": Decimal("4.5"), "reason": "迟到早退多"}],
        "uncovered_half_days": 1,
        "unresolved_problems": 1,
        "violations": [{"points": Decimal("7.5"), "reason": "违纪未及时处理"}],
        "returned_staff": 1,
    }
    # deductions: 5 + 3 + 10 + 5 + 4.5 + 5 + 5 + 7.5 + 5 = 50; 40 − 50 = −10; 扣完为止 → 0,
    # so the floor adds back 10 and discards 10.
    result = load("table2").score(record)
    t201 = result.criterion("T2-01")
    assert t201.score == Decimal(0)
    moves = [(e.kind, e.points) for e in t201.audit]
    assert moves == [
        ("start", Decimal(40)),
        ("deduct", Decimal(-5)),
        ("deduct", Decimal(-3)),
        ("deduct_each", Decimal(-10)),
        ("deduct", Decimal(-5)),
        ("deduct_assessed", Decimal("-4.5")),
        ("deduct_each", Decimal(-5)),
        ("deduct_each", Decimal(-5)),
        ("deduct_assessed", Decimal("-7.5")),
        ("deduct_each", Decimal(-5)),
        ("floor", Decimal(10)),
    ]
    floor = t201.audit[-1]
    assert (floor.criterion, floor.rule, floor.kind) == ("T2-01", "floor", "floor")
    assert floor.discarded == Decimal(10)
    # the other rules discard nothing (no rule of T2-01 has its own cap)
    assert all(e.discarded == 0 for e in t201.audit[:-1])
    # 人员管理 0 + 业务管理 40 + 奖励加分 20 (as in table2-perfect)
    assert result.total == Decimal(60)


# --- JSON ----------------------------------------------------------------------------------------


def test_result_json_keeps_chinese_and_identifies_rubric_evidence_and_engine() -> None:
    table1 = load("table1")
    result = table1.score(evidence("table1-typical"))
    text = result.to_json()
    assert "\\u" not in text
    assert "开福区区直部门(垂直部门)政务公开政务服务工作考核细则(表一)" in text
    assert "不及时调整扣2分" in text
    data = json.loads(text)
    assert data["rubric"]["id"] == "kaifu-2013-table1"
    assert data["rubric"]["version"] == "2013.2"
    source_sha = hashlib.sha256((RUBRICS / "table1.yaml").read_bytes()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", data["rubric"]["sha256"])
    assert data["rubric"]["sha256"] == source_sha
    assert re.fullmatch(r"[0-9a-f]{64}", data["evidence_sha256"])
    assert data["evidence_sha256"] == result.evidence_sha256
    assert data["engine"] == f"rubric {rubric.__version__}"
    assert data["total"] == "83"


@pytest.mark.parametrize("example", ["table1-typical", "table2-typical", "table2-floor", "table3-capped"])
def test_result_json_reads_back_equal(example: str) -> None:
    result = load(table_of(example)).score(evidence(example))
    back = rubric.from_json(result.to_json())
    assert back == result
    assert back.evidence_sha256 == result.evidence_sha256
    assert back.to_json() == result.to_json()


def test_scoring_twice_gives_byte_identical_json() -> None:
    first = load("table2").score(evidence("table2-typical")).to_json()
    second = load("table2").score(evidence("table2-typical")).to_json()
    assert first.encode("utf-8") == second.encode("utf-8")


def _reversed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(v) for v in value]
    return value


def test_the_evidence_sha256_does_not_depend_on_key_order() -> None:
    table2 = load("table2")
    record = evidence("table2-typical")
    shuffled = _reversed(record)
    assert list(shuffled) == ["T2-03", "T2-02", "T2-01"]
    assert next(iter(shuffled["T2-01"])) == "returned_staff"
    first, second = table2.score(record), table2.score(shuffled)
    assert first.evidence_sha256 == second.evidence_sha256
    assert first.to_json() == second.to_json()


# --- the composite (附2 注明) --------------------------------------------------------------------


def department_record(has_window: bool, *parts: str) -> dict[str, Any]:
    record: dict[str, Any] = {"has_window": has_window}
    if "table1" in parts:
        record["table1"] = evidence("table1-typical")
    if "table2" in parts:
        record["table2"] = evidence("table2-typical")
    return record


def test_a_window_department_scores_60_percent_of_table1_plus_40_percent_of_table2() -> None:
    department = load("department")
    result = department.score(department_record(True, "table1", "table2"))
    table1 = load("table1").score(evidence("table1-typical")).total
    table2 = load("table2").score(evidence("table2-typical")).total
    assert result.total == table1 * Decimal("0.6") + table2 * Decimal("0.4")
    # 在区政务服务中心设置窗口的部门,按表一(占60%)和表二(40%): 83 × 0.6 + 67.5 × 0.4 = 49.8 + 27
    assert (table1, table2) == (Decimal(83), Decimal("67.5"))
    assert result.total == Decimal("76.8")
    assert [(p.name, p.weight) for p in result.parts] == [
        ("table1", Decimal("0.6")),
        ("table2", Decimal("0.4")),
    ]


def test_a_department_without_a_window_scores_table1_alone() -> None:
    # 未设置窗口的部门,按表一考核评分
    result = load("department").score(department_record(False, "table1"))
    assert result.total == load("table1").score(evidence("table1-typical")).total == Decimal(83)
    assert [p.name for p in result.parts] == ["table1"]


def test_a_window_department_without_a_table2_record_is_missing_it() -> None:
    with pytest.raises(EvidenceError) as info:
        load("department").score(department_record(True, "table1"))
    assert info.value.code == "missing"
    assert [(p.code, p.path) for p in info.value.problems] == [("missing", ("table2",))]


def test_a_composite_result_reads_back_equal() -> None:
    result = load("department").score(department_record(True, "table1", "table2"))
    assert "\\u" not in result.to_json()
    assert rubric.from_json(result.to_json()) == result


# --- pickling and audit-free scoring -------------------------------------------------------------


def test_a_pickled_rubric_scores_identically(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    table1 = rubric.load("rubrics/table1.yaml")
    copy_ = pickle.loads(pickle.dumps(rubric.load("rubrics/table1.yaml")))
    assert isinstance(copy_, rubric.Rubric)
    for example in examples_of("table1"):
        record = evidence(example)
        assert copy_.score(record) == table1.score(record)
        assert copy_.score(record).to_json() == table1.score(record).to_json()


@pytest.mark.parametrize("example", ALL_EXAMPLES)
def test_scoring_without_the_audit_gives_the_same_totals_and_no_entries(example: str) -> None:
    table = load(table_of(example))
    record = evidence(example)
    full = table.score(record)
    bare = table.score(record, audit=False)
    assert bare.total == full.total
    assert [c.score for c in bare.categories] == [c.score for c in full.categories]
    assert [c.score for c in bare.criteria()] == [c.score for c in full.criteria()]
    assert all(c.audit == () for c in bare.criteria())
    assert all(c.adjustments == () for c in bare.categories)
    assert bare.adjustments == ()


def test_the_capped_and_floored_examples_do_leave_adjustments_when_audited() -> None:
    # so that the audit-free test above is not vacuous: 表二 T2-03 28 → cap 20 (discarding 8),
    # 表二 T2-01 −8 → floor 0 (discarding 8)
    capped = load("table2").score(evidence("table2-capped")).criterion("T2-03").audit[-1]
    assert (capped.kind, capped.points, capped.discarded) == ("cap", Decimal(-8), Decimal(8))
    floored = load("table2").score(evidence("table2-floor")).criterion("T2-01").audit[-1]
    assert (floored.kind, floored.points, floored.discarded) == ("floor", Decimal(8), Decimal(8))
