"""Conditions on computed scores (format 2, capability 4): gates, vetoes that read a score, the
dependency order they need, cycles refused at load, and composites that read a part's total or
add the parts' bonus and penalty sections outside the weighting."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

import rubric
from rubric._conditions import ScoreTest, settled

ROOT = Path(__file__).resolve().parent.parent
CAPABILITIES = ROOT / "examples" / "capabilities"


def _criterion(cid: str, points: int, per: int) -> dict[str, Any]:
    """A criterion of ``points`` losing ``per`` for each counted failing (每次扣N分)."""
    return {
        "id": cid,
        "number": cid,
        "content": cid,
        "points": points,
        "standard": f"每次扣{per}分",
        "evidence": {"n": {"type": "count", "label": "次数", "max": 10}},
        "rules": [{"deduct_each": "n", "points": per, "clause": f"每次扣{per}分"}],
    }


def _rubric(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "score-tests",
        "version": "1",
        "title": "得分条件",
        "points": 40,
        "categories": [
            {"id": "甲", "name": "甲", "criteria": [_criterion("A1", 20, 5)]},
            {"id": "乙", "name": "乙", "criteria": [_criterion("B1", 20, 2)]},
        ],
    }
    data.update(extra)
    return data


def _problems(data: dict[str, Any]) -> list[rubric.Problem]:
    with pytest.raises(rubric.RubricError) as caught:
        rubric.Rubric.from_data(data)
    return list(caught.value.problems)


def test_a_veto_may_read_a_later_category_which_is_then_scored_first() -> None:
    data = _rubric()
    veto = {"when": {"score": "乙", "below": 10}, "clause": "乙项得分低于10分的，甲项不得分"}
    data["categories"][0]["vetoes"] = [veto]
    loaded = rubric.Rubric.from_data(data)
    # 乙: 20 - 2×6 = 8, below 10 → 甲 is vetoed to 0 (it would be 20 - 5 = 15); total 0 + 8.
    result = loaded.score({"A1": {"n": 1}, "B1": {"n": 6}})
    assert (result.category("甲").score, result.category("乙").score, result.total) == (0, 8, 8)
    assert loaded.score({"A1": {"n": 1}, "B1": {"n": 6}}, audit=False).total == 8
    # 乙: 20 - 2×5 = 10, not below 10 → 甲 keeps 15; total 25.
    assert loaded.score({"A1": {"n": 1}, "B1": {"n": 5}}).total == 25
    entry = next(e for e in result.category("甲").adjustments if e.kind == "veto")
    assert dict(entry.inputs) == {"score 乙": "8"}
    assert entry.points == -15


def test_a_gate_on_the_bonus_reads_the_base() -> None:
    bonus = {
        "id": "加分",
        "name": "加分",
        "cap": 5,
        "vetoes": [
            {"only_if": {"score": "base", "at_least": 35}, "clause": "基础得分达到35分以上的方可加分"}
        ],
        "criteria": [
            {
                "id": "C1",
                "number": 3,
                "content": "表彰",
                "standard": "获表彰加5分",
                "evidence": {"won": {"type": "flag", "label": "获表彰"}},
                "rules": [{"award": 5, "when": "won", "clause": "获表彰加5分"}],
            }
        ],
    }
    loaded = rubric.Rubric.from_data(_rubric(bonus=bonus))
    # base 20 + (20 - 2×2) = 36 ≥ 35: the 5 bonus points count, total 41.
    passed = loaded.score({"A1": {"n": 0}, "B1": {"n": 3 - 1}, "C1": {"won": True}})
    assert (passed.base, passed.bonus, passed.total) == (36, 5, 41)
    # base 20 + (20 - 2×3) = 34 < 35: the section is 0, total 34; the audit says why, with the base.
    failed = loaded.score({"A1": {"n": 0}, "B1": {"n": 3}, "C1": {"won": True}})
    assert (failed.base, failed.bonus, failed.total) == (34, 0, 34)
    gate = next(e for e in failed.sections[0].adjustments if e.kind == "veto")
    assert (gate.clause, dict(gate.inputs), gate.points) == (
        "基础得分达到35分以上的方可加分",
        {"score base": "34"},
        -5,
    )


def test_a_table_veto_reads_the_total_and_fixes_the_grade() -> None:
    grades = [{"name": "合格", "min": 24}, {"name": "不合格", "min": 0}]
    veto = {
        "when": {"score": "甲", "at_most": 10},
        "clause": "甲项得分10分及以下的评为不合格",
        "grade": "不合格",
    }
    loaded = rubric.Rubric.from_data(_rubric(grades=grades, vetoes=[veto]))
    # 甲 20 - 5×2 = 10 (at most 10), 乙 20: total 30 would be 合格; the veto makes it 不合格.
    result = loaded.score({"A1": {"n": 2}, "B1": {"n": 0}})
    assert (result.total, result.grade) == (30, "不合格")
    # 甲 15: no veto, 35 is 合格.
    assert loaded.score({"A1": {"n": 1}, "B1": {"n": 0}}).grade == "合格"


@pytest.mark.parametrize(
    ("where", "reads"),
    [
        ("甲", "甲"),  # a category reading itself
        ("甲", "A1"),  # …is fine for a child (see below); this one reads its own criterion: allowed
        ("甲", "base"),  # the base contains 甲
    ],
)
def test_a_score_that_depends_on_itself_is_refused_at_load(where: str, reads: str) -> None:
    data = _rubric()
    data["categories"][0]["vetoes"] = [{"when": {"score": reads, "below": 1}, "clause": "读取得分"}]
    if reads == "A1":  # a child is scored before its category: no cycle
        rubric.Rubric.from_data(data)
        return
    problems = _problems(data)
    assert [p.code for p in problems] == ["score-cycle"]
    assert problems[0].path == ("categories", 0, "vetoes", 0, "when")
    assert f"'{where}'" in problems[0].message


def test_two_categories_reading_each_other_are_both_named() -> None:
    data = _rubric()
    data["categories"][0]["vetoes"] = [{"when": {"score": "乙", "below": 1}, "clause": "读乙"}]
    data["categories"][1]["vetoes"] = [{"when": {"score": "甲", "below": 1}, "clause": "读甲"}]
    problems = _problems(data)
    assert sorted((p.code, p.path[1]) for p in problems) == [("score-cycle", 0), ("score-cycle", 1)]
    first = next(p for p in problems if p.path[1] == 0)
    assert "'乙'" in first.message
    assert "categories[1]" in first.message


def test_an_unknown_score_name_is_refused_with_a_suggestion() -> None:
    data = _rubric()
    data["categories"][0]["vetoes"] = [{"when": {"score": "已", "below": 1}, "clause": "读取"}]
    (problem,) = _problems(data)
    assert problem.code == "unknown-score"
    assert "'已'" in problem.message


def test_a_rule_cannot_read_a_score_and_is_told_where_it_can() -> None:
    data = _rubric()
    data["categories"][0]["criteria"][0]["rules"].append(
        {"deduct": 1, "when": {"score": "乙", "below": 1}, "clause": "读取"}
    )
    (problem,) = _problems(data)
    assert problem.code == "bad-condition"
    assert "vetoes" in (problem.hint or "")


def test_a_category_named_base_cannot_be_read_by_that_name() -> None:
    data = _rubric()
    data["categories"][1]["id"] = "base"
    data["categories"][0]["vetoes"] = [{"when": {"score": "base", "below": 1}, "clause": "读取"}]
    assert "ambiguous-score" in [p.code for p in _problems(data)]


def test_a_score_test_needs_a_comparison() -> None:
    data = _rubric(vetoes=[{"when": {"score": "甲"}, "clause": "读取", "grade": "不合格"}])
    assert "below: 60" in _problems(data)[0].message


def test_partial_scoring_and_check_handle_score_conditions() -> None:
    loaded = rubric.load(CAPABILITIES / "score-conditions.yaml")
    assert isinstance(loaded, rubric.Rubric)
    # Nothing known: every total from 0 to 110 is still possible (the bonus only with base ≥ 85).
    partial = rubric.partial_score(loaded, {})
    assert (partial.ranges.total[0], partial.ranges.total[1]) == (0, 110)
    assert [p.code for p in rubric.check(loaded) if p.severity != "note"] == []


def _write(tmp: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_composite_branch_may_read_a_part_total(tmp_path: Path) -> None:
    _write(tmp_path, "one.yaml", _rubric(id="one"))
    _write(tmp_path, "two.yaml", _rubric(id="two"))
    composite = {
        "id": "both",
        "version": "1",
        "title": "综合",
        "points": 40,
        "parts": {"one": "one.yaml", "two": "two.yaml"},
        "branches": [
            {
                "when": {"score": "two", "at_least": 30},
                "clause": "表二得分达到30分的，各占50%",
                "weights": {"one": 0.5, "two": 0.5},
            },
            {"clause": "否则只计表一", "weights": {"one": 1}},
        ],
    }
    loaded = rubric.load(_write(tmp_path, "both.yaml", composite))
    full = {"A1": {"n": 0}, "B1": {"n": 0}}
    low = {"A1": {"n": 2}, "B1": {"n": 0}}  # 20 - 10 + 20 = 30
    lower = {"A1": {"n": 2}, "B1": {"n": 1}}  # 10 + 18 = 28
    # two = 30 (at least 30): 40 × 0.5 + 30 × 0.5 = 35.
    assert loaded.score({"one": full, "two": low}).total == Decimal(35)
    # two = 28: only table one counts, 40.
    result = loaded.score({"one": full, "two": lower})
    assert (result.total, result.branch) == (40, "否则只计表一")
    with pytest.raises(rubric.EvidenceError) as caught:
        loaded.score({"one": full})
    assert caught.value.problems[0].path == ("two",)
    composite["branches"][0]["when"] = {"score": "three", "at_least": 1}
    with pytest.raises(rubric.RubricError) as bad:
        rubric.load(_write(tmp_path, "both.yaml", composite))
    assert bad.value.problems[0].code == "unknown-score"


def test_sections_outside_the_weighting_use_the_part_base() -> None:
    composite = rubric.load_composite(CAPABILITIES / "outside-weighting.yaml")
    record = {
        "website": {
            "W-01": {"short_months": 0},
            "W-02": {"late_replies": 0},
            "B-01": {"city_awards": 0, "province_awards": 1},
            "P-01": {"reprimands": 1},
        },
        "onsite": {"O-01": {"problems": 0}},
    }
    result = composite.score(record)
    # website base 100 × 0.7 = 70, onsite 100 × 0.3 = 30; +5 (省级表彰) and -3 (通报批评) unweighted.
    assert result.total == 102
    weighted = next(e for e in result.audit if e.kind == "weight" and e.rule.endswith(".website"))
    assert dict(weighted.inputs)["base"] == "100"
    assert [(e.kind, e.points) for e in result.audit if e.kind in ("bonus", "penalty")] == [
        ("bonus", 5),
        ("penalty", -3),
    ]


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        # The score read lies in [0, 10].
        ({"at_least": 0}, True),
        ({"at_least": 11}, False),
        ({"at_least": 5}, None),
        ({"below": 0}, False),
        ({"below": 11}, True),
        ({"below": 10}, None),
        ({"above": 10}, False),
        ({"above": -1}, True),
        ({"at_most": 10}, True),
        ({"at_most": -1}, False),
        ({"at_least": 0, "at_most": 10}, True),
        ({"at_least": 0, "below": 0}, False),
    ],
)
def test_a_score_condition_is_settled_by_the_range_of_the_score_it_reads(
    test: dict[str, int], expected: bool | None
) -> None:
    condition = ScoreTest.model_validate({"score": "base", **test})
    assert settled(condition, {"base": (Decimal(0), Decimal(10))}) is expected
    assert settled(condition, {}) is None  # a score whose range is not known settles nothing
