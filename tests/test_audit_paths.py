"""``score(record, audit=False)`` (what ``rubric score --totals`` and batch use) is a separate, faster
loop than the audited one; both must give the same total, subtotals and criterion scores on every
rubric, including rubrics whose caps are negative (a veto's 0 is then above the cap).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

import rubric
from rubric.testing import evidence, rubrics

NEGATIVE = st.sampled_from([Decimal(-1), Decimal("-2.5"), Decimal(-4)])


def scores(result: rubric.Result) -> tuple[Decimal, list[Decimal], list[Decimal]]:
    return result.total, [c.score for c in result.categories], [c.score for c in result.criteria()]


@st.composite
def negative_bounds(draw: st.DrawFn) -> rubric.Rubric:
    """A random rubric with some caps (and the floors below them) pushed below zero."""
    data: dict[str, Any] = draw(rubrics()).doc.model_dump(by_alias=True, exclude_defaults=True)
    targets = [data]

    def below(category: dict[str, Any]) -> None:  # categories and criteria at any depth
        targets.append(category)
        for sub in category.get("categories", ()):
            below(sub)
        targets.extend(category.get("criteria", ()))

    for category in data["categories"]:
        below(category)
    for target in targets:
        if draw(st.booleans()):
            cap = draw(NEGATIVE)
            target["cap"] = cap
            target["floor"] = cap - draw(st.sampled_from([Decimal(0), Decimal(1), Decimal(5)]))
    try:
        return rubric.Rubric.from_data(data)
    except rubric.RubricError:
        assume(False)
        raise


def test_a_negative_cap_under_a_veto_gives_the_same_total_with_and_without_the_audit() -> None:
    # The criterion is capped at -1 (floor -5) and its veto fires: 5 - 0 → cap -1 → veto 0.
    # The category is capped at -1 too, so its subtotal is clamped from 0 to -1: total -1.
    data = {
        "id": "neg",
        "version": "1",
        "title": "负封顶",
        "points": 5,
        "floor": -5,
        "categories": [
            {
                "id": "K",
                "name": "类别",
                "floor": -5,
                "cap": -1,
                "criteria": [
                    {
                        "id": "C1",
                        "number": 1,
                        "content": "c",
                        "standard": "s",
                        "points": 5,
                        "floor": -5,
                        "cap": -1,
                        "evidence": {"bad": {"type": "flag", "label": "违规"}},
                        "rules": [{"veto": "bad", "clause": "有就不得分"}],
                    }
                ],
            }
        ],
    }
    negative = rubric.Rubric.from_data(data)
    record = {"C1": {"bad": True}}
    assert scores(negative.score(record)) == (Decimal(-1), [Decimal(-1)], [Decimal(0)])
    assert scores(negative.score(record, audit=False)) == (Decimal(-1), [Decimal(-1)], [Decimal(0)])


@given(st.data())
def test_every_random_rubric_scores_the_same_with_and_without_the_audit(data: st.DataObject) -> None:
    scorer = data.draw(st.one_of(rubrics(), negative_bounds()))
    record = data.draw(evidence(scorer))
    assert scores(scorer.score(record, audit=False)) == scores(scorer.score(record))
