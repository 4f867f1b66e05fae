"""Number and date evidence fields, and decimal thresholds on numbers (worked out by hand)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

import rubric

RULES: list[dict[str, Any]] = [
    {
        "deduct": 2,
        "when": {"field": "late_rate", "at_least": Decimal("0.03")},
        "clause": "超时率达到3%以上扣2分",
    },
    {"deduct": 3, "when": {"field": "posts", "at_most": Decimal("2.4")}, "clause": "发布不足2.5条扣3分"},
]


def _table(rules: list[dict[str, Any]] = RULES, late: dict[str, Any] | None = None) -> rubric.Rubric:
    evidence = {
        "posts": {"type": "number", "label": "信息发布条数", "max": 1000, "places": 1},
        "late_rate": late or {"type": "number", "label": "超时率", "max": 1, "places": 4},
        "submitted": {"type": "date", "label": "报送日期"},
    }
    return rubric.Rubric.from_data(
        {
            "id": "q",
            "version": "1",
            "title": "数量",
            "issuer": "示例",
            "points": 10,
            "categories": [
                {
                    "id": "A",
                    "name": "A",
                    "criteria": [
                        {
                            "id": "N-01",
                            "number": 1,
                            "content": "信息发布",
                            "points": 10,
                            "standard": "超时率达到3%以上扣2分；发布不足2.5条扣3分",
                            "evidence": evidence,
                            "rules": rules,
                        }
                    ],
                }
            ],
        }
    )


def _score(**facts: Any) -> Decimal:
    record = {"N-01": {"posts": Decimal(10), "late_rate": Decimal(0), "submitted": "2013-12-31", **facts}}
    return _table().score(record).total


def test_a_decimal_threshold_on_a_number_field_holds_exactly_at_the_threshold() -> None:
    # 0.03 is 3%: 10 - 2 = 8; one ten-thousandth below it is not.
    assert _score(late_rate=Decimal("0.03")) == 8
    assert _score(late_rate=Decimal("0.0299")) == 10


def test_numbers_compare_as_decimals_with_no_float_rounding() -> None:
    # 2.4 条 is "不足2.5条": 10 - 3 = 7; 2.5 is not.
    assert _score(posts=Decimal("2.4")) == 7
    assert _score(posts=Decimal("2.5")) == 10
    assert _score(posts=2) == 7


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("posts", 2.5, "wrong-type"),
        ("posts", "3", "wrong-type"),
        ("posts", True, "wrong-type"),
        ("posts", Decimal("2.45"), "too-many-places"),
        ("posts", Decimal("-1"), "out-of-range"),
        ("posts", Decimal("NaN"), "not-finite"),
        ("submitted", "2013-02-30", "bad-date"),
        ("submitted", "2013/12/31", "bad-date"),
        ("submitted", 20131231, "wrong-type"),
    ],
)
def test_a_float_text_or_impossible_quantity_is_refused_with_its_code(
    field: str, value: Any, code: str
) -> None:
    with pytest.raises(rubric.EvidenceError) as caught:
        _score(**{field: value})
    assert [p.code for p in caught.value.problems] == [code]


def test_a_date_object_from_a_caller_is_refused_and_told_to_write_text() -> None:
    with pytest.raises(rubric.EvidenceError) as caught:
        _score(submitted=datetime.date(2013, 12, 31))
    assert "quoted text" in caught.value.problems[0].hint


def test_a_decimal_threshold_on_a_count_is_refused_as_a_whole_number_is_needed() -> None:
    rules = [{"deduct": 2, "when": {"field": "late_rate", "at_least": Decimal("0.5")}, "clause": "超时扣2分"}]
    with pytest.raises(rubric.RubricError) as caught:
        _table(rules, {"type": "count", "label": "超时件数"})
    assert caught.value.problems[0].code == "int-type"


def test_the_static_range_of_a_number_table_is_exact_and_attained() -> None:
    problems = rubric.check(_table())
    ranges = [p.message for p in problems if p.code == "range"]
    assert ranges == ["reachable total: 5 to 10 (exact)"]


def test_the_audit_records_the_number_it_read_and_reads_it_back_as_a_decimal() -> None:
    result = _table().score(
        {"N-01": {"posts": Decimal("2.4"), "late_rate": Decimal(0), "submitted": "2013-12-31"}}
    )
    assert '"number": "2.4"' in result.to_json()
    assert rubric.from_json(result.to_json()) == result


def _steps(rule: dict[str, Any], most: int = 3) -> rubric.Rubric:
    return _table(
        [{**rule, "clause": "完成率超过110%加1分，此后每再超过10%加0.5分"}],
        {"type": "number", "label": "完成率", "max": most, "places": 2},
    )


STEPS = {
    "award_steps": "late_rate",
    "over": Decimal("1.10"),
    "first": 1,
    "every": Decimal("0.10"),
    "each": Decimal("0.5"),
}


@pytest.mark.parametrize(
    ("rate", "total"),
    [
        ("1.10", "0"),  # not over 110%
        ("1.11", "1"),  # over 110%: 1
        ("1.20", "1"),  # 120% has not exceeded a further 10%
        ("1.21", "1.5"),  # one further step: 1 + 0.5
        ("1.35", "2"),  # two further steps: 1 + 0.5 × 2
        ("3", "10"),  # (3 − 1.1) / 0.1 = 19 → 18 further steps: 1 + 0.5 × 18 = 10
    ],
)
def test_a_stepped_deduction_counts_only_steps_strictly_exceeded(rate: str, total: str) -> None:
    scorer = _steps({**{k: v for k, v in STEPS.items() if k != "award_steps"}, "deduct_steps": "late_rate"})
    facts = {"posts": Decimal(10), "late_rate": Decimal(rate), "submitted": "2013-12-31"}
    assert 10 - scorer.score({"N-01": facts}).total == Decimal(total)


def test_a_stepped_award_with_a_cap_has_an_exact_static_range() -> None:
    # 完成率 0–3: the series reaches 1 + 0.5 × 18 = 10, capped at 2; the deduct rules add 0.
    rule = {**STEPS, "cap": 2}
    problems = rubric.check(_steps(rule))
    assert [p.message for p in problems if p.code == "range"] == ["reachable total: 10 to 10 (exact)"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"every": Decimal("0.01")}, "too-many-steps"),  # 1890 steps of 0.01 from 1.10 up to 20
        ({"over": Decimal("1.105")}, "off-step"),  # finer than the field's 2 places
    ],
)
def test_a_step_series_the_analysis_cannot_try_step_by_step_is_refused(
    change: dict[str, Any], code: str
) -> None:
    with pytest.raises(rubric.RubricError) as caught:
        _steps({**STEPS, **change}, most=20)
    assert [p.code for p in caught.value.problems] == [code]
