"""The seed tables read as an assessor reads them (docs/format.md, "Choosing a reading").

Three things must hold for every shipped table, whatever the letter of a clause says:
1. a unit that meets every standard receives every declared point;
2. one failing is charged once;
3. more merit never scores lower.
The hand-worked cases in rubrics/*.cases.yaml pin the numbers; these tests pin the principles.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric import check
from rubric._fields import Assessed

ROOT = Path(__file__).resolve().parent.parent
TABLES = ["table1", "table2", "table3"]


def load_table(name: str) -> rubric.Rubric:
    loaded = rubric.load(ROOT / "rubrics" / f"{name}.yaml")
    assert isinstance(loaded, rubric.Rubric)
    return loaded


def perfect_witness(table: rubric.Rubric) -> dict[str, Any]:
    """The record the analysis says reaches each criterion's highest score."""
    ranges = rubric.reachable(table.doc)
    return {cid: dict(r.high_witness) for cid, r in ranges.criteria.items()}


@pytest.mark.parametrize("name", TABLES)
def test_every_declared_point_of_a_seed_table_is_reachable(name: str) -> None:
    table = load_table(name)
    ranges = rubric.reachable(table.doc)
    assert ranges.total[1] == table.doc.points == Decimal(100)
    for category in table.doc.categories:
        assert ranges.categories[category.id][1] == category.maximum, category.id
        for criterion in category.criteria:
            assert ranges.criteria[criterion.id].high == criterion.points, criterion.id


@pytest.mark.parametrize("name", TABLES)
def test_the_perfect_unit_witness_of_a_seed_table_scores_exactly_its_declared_total(name: str) -> None:
    table = load_table(name)
    result = table.score(perfect_witness(table))
    # 表二: 40 + 40 + the 奖励加分 at its cap of 20; 表一 and 表三: every criterion at its 分值.
    assert result.total == Decimal(100)
    for category in table.doc.categories:
        for criterion in category.criteria:
            assert result.criterion(criterion.id).score == criterion.points, criterion.id


def test_a_window_department_that_meets_every_standard_scores_100() -> None:
    department = rubric.load(ROOT / "rubrics" / "department.yaml")
    record = {
        "has_window": True,
        "table1": perfect_witness(load_table("table1")),
        "table2": perfect_witness(load_table("table2")),
    }
    # 附2 注明: 表一 100 × 60% + 表二 100 × 40% = 60 + 40
    assert department.score(record).total == Decimal(100)


@pytest.mark.parametrize("name", TABLES)
def test_every_rule_that_never_changes_a_score_says_why_in_its_own_note(name: str) -> None:
    table = load_table(name)
    idle = [p for p in check(table) if p.code == "never-changes-score"]
    for problem in idle:
        _, ci, _, cj, _, rule_index = problem.path
        assert isinstance(ci, int)
        assert isinstance(cj, int)
        assert isinstance(rule_index, int)
        rule = table.doc.categories[ci].criteria[cj].clauses()[rule_index]
        assert rule.note, problem
        assert rule.note in problem.message  # check shows the reason beside the finding


@pytest.mark.parametrize("name", TABLES)
def test_every_assessed_range_states_its_step_in_a_note(name: str) -> None:
    table = load_table(name)
    for category in table.doc.categories:
        for criterion in category.criteria:
            for field_name, spec in criterion.evidence.items():
                if isinstance(spec, Assessed):
                    readings = [n.reading for n in criterion.notes]
                    assert any(f"步长{spec.step}分" in r for r in readings), (criterion.id, field_name)


def base_table1() -> dict[str, Any]:
    return perfect_witness(load_table("table1"))


def t1_14(**facts: bool) -> Decimal:
    """表一14's score for the perfect unit with some facts changed."""
    table = load_table("table1")
    record = base_table1()
    record["T1-14"] = {**record["T1-14"], **facts}
    return table.score(record).criterion("T1-14").score


def test_a_missing_complaint_channel_is_charged_once_not_twice() -> None:
    # 表一14: "没有设立投诉电话、投诉信箱的扣5分" takes the 5 of "符合得5分"; the same absence
    # is not also charged by withholding "符合"'s 5: 10 − 5 = 5, not 0.
    assert t1_14(channel_set_up=False, channel_published=False, mechanism=False) == Decimal(5)


def test_each_half_of_table1_14_is_worth_five_points() -> None:
    # 符合 half: not published → 10 − 5; complaints half: complaints not resolved → 10 − 3 − 5.
    assert t1_14(channel_published=False) == Decimal(5)
    assert t1_14(has_complaints=True, complaints_resolved=True) == Decimal(7)
    assert t1_14(has_complaints=True, complaints_resolved=False) == Decimal(2)


def test_table1_8_gives_each_of_its_two_requirements_five_points() -> None:
    table = load_table("table1")
    record = base_table1()
    scores = {}
    for online in (True, False):
        for licensing in (True, False):
            record["T1-08"] = {"online_approval_done": online, "licensing_in_center": licensing}
            scores[online, licensing] = table.score(record).criterion("T1-08").score
    # 完成在线审批任务的得5分;没有完成的扣5分 + 行政许可业务全部纳入中心 5 (notes of 序号8)
    assert scores == {(True, True): 10, (True, False): 5, (False, True): 5, (False, False): 0}


def test_one_more_service_star_never_lowers_the_bonus() -> None:
    # 表二3之3: a one-person window's star adds 3, each star of a larger window adds 1.5; under
    # the 20-point cap, more stars never score less (the literal reading gave 1 star 3, 2 stars 1.5).
    table = load_table("table2")
    record = perfect_witness(table)
    record["T2-03"] = {
        "innovations": [],
        "praises": 0,
        "banners": 0,
        "rated_service_window": False,
        "solo_window_stars": 0,
        "team_window_stars": 0,
    }
    bonus = []
    for solo in range(3):
        for team in range(16):
            record["T2-03"] = {**record["T2-03"], "solo_window_stars": solo, "team_window_stars": team}
            bonus.append((solo, team, table.score(record).criterion("T2-03").score))
    by_team = {(s, t): b for s, t, b in bonus}
    assert by_team[0, 1] == Decimal("1.5")
    assert by_team[0, 2] == Decimal(3)
    assert by_team[1, 0] == Decimal(3)
    assert by_team[2, 15] == Decimal(20)  # 2 × 3 + 15 × 1.5 = 28.5, capped at 20
    for (s, t), b in by_team.items():
        if (s, t + 1) in by_team:
            assert by_team[s, t + 1] >= b
        if (s + 1, t) in by_team:
            assert by_team[s + 1, t] >= b


def test_an_unauthorised_change_of_window_staff_is_charged_once() -> None:
    # 表二1之2: an unauthorised change costs 5 per person, not also the 3 of "如变动扣3分".
    table = load_table("table2")
    record = perfect_witness(table)
    record["T2-01"] = {**record["T2-01"], "changed": False, "unauthorised_changes": 1}
    assert table.score(record).criterion("T2-01").score == Decimal(35)


def test_a_rules_own_note_travels_with_its_audit_entry_and_its_json() -> None:
    # 表一8's second rule quotes the content column and says, in its note, why it deducts.
    table = load_table("table1")
    record = base_table1()
    record["T1-08"] = {"online_approval_done": True, "licensing_in_center": False}
    result = table.score(record)
    (entry,) = [e for e in result.criterion("T1-08").audit if e.rule == "T1-08.r2"]
    assert entry.points == Decimal(-5)
    assert entry.note.startswith("评分标准没有写这一要求的扣分办法")
    again = rubric.Result.from_dict(result.to_dict())
    assert [e.note for e in again.criterion("T1-08").audit] == [
        e.note for e in result.criterion("T1-08").audit
    ]
