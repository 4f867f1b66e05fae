"""Static analysis stays bounded whatever the domains, and never claims more than it knows.

Each rubric here is an attack that once exploded or misled `rubric check`: a fine-step assessed
range, a 100,000-item checklist, 17 flags read by 30 rules, a checklist of more than 6 items tested
with `has`, a category floor above its points, negative composite weights, a rubric whose findings
would fill megabytes. Work is bounded by memory (tracemalloc) and by counting rule evaluations,
never by the clock.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

import rubric
from rubric import _ranges
from rubric._analysis import MAX_FINDINGS, PER_CODE, check, partial_score, rubric_ranges
from rubric._fields import Checklist, Invalid
from rubric._rubric import Composite, Rubric
from rubric.cli import main
from rubric.testing import evidence

D = Decimal
MB = 1024 * 1024


def one_criterion(evidence: dict[str, Any], rules: list[dict[str, Any]], **extra: Any) -> Rubric:
    return Rubric.from_data(one_criterion_data(evidence, rules, **extra))


def one_criterion_data(evidence: dict[str, Any], rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    points = extra.pop("points", 10)
    criterion = {
        "id": "C1",
        "number": 1,
        "content": "内容",
        "standard": "标准",
        "points": points,
        "evidence": evidence,
        "rules": rules,
        **extra,
    }
    return {
        "id": "attack",
        "version": "1",
        "title": "攻击",
        "points": points,
        "categories": [{"id": "K1", "name": "类别", "criteria": [criterion]}],
    }


def peak_of(work: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        out = work()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def codes(problems: list[rubric.Problem]) -> dict[str, list[rubric.Problem]]:
    out: dict[str, list[rubric.Problem]] = {}
    for p in problems:
        out.setdefault(p.code, []).append(p)
    return out


FINE_STEP = {"a": {"type": "assessed", "label": "酌情", "range": [0, 100], "step": D("0.01")}}
FINE_RULES = [
    {"deduct_assessed": "a", "clause": "酌情扣分,最多扣7分", "cap": 7},
    {"award_assessed": "a", "clause": "酌情加分,最多加3分", "cap": 3},
]


def test_a_fine_step_assessed_range_is_analysed_exactly_in_little_memory() -> None:
    scorer = one_criterion(FINE_STEP, FINE_RULES)
    problems, peak = peak_of(lambda: check(scorer))
    assert peak < 5 * MB
    # Both rules read the same sum s: 10 − min(s, 7) + min(s, 3) is least at s = 7: 10 − 7 + 3 = 6.
    ranges = rubric_ranges(scorer.doc)
    assert ranges.criteria["C1"].low == D(6)
    assert ranges.criteria["C1"].high == D(10)
    assert ranges.exact
    assert scorer.score({"C1": {"a": [{"points": D(7), "reason": "情节"}]}}).total == D(6)
    assert "reachable total: 6 to 10 (exact)" in [p.message for p in problems if p.code == "range"]


def test_partial_scoring_a_fine_step_assessed_field_stays_small() -> None:
    scorer = one_criterion(FINE_STEP, FINE_RULES)
    partial, peak = peak_of(lambda: partial_score(scorer, {}))
    assert peak < 5 * MB
    assert partial.ranges.total == (D(6), D(10))
    assert [(f.field, f.swing) for f in partial.open_facts] == [("a", D(4))]


def test_drawing_evidence_for_a_fine_step_assessed_range_never_lists_every_amount() -> None:
    scorer = one_criterion(
        {"a": {"type": "assessed", "label": "酌情", "range": [0, 1_000_000], "step": D("0.0001")}},
        [{"deduct_assessed": "a", "clause": "酌情扣分"}],
    )
    strategy = evidence(scorer)

    @settings(max_examples=20, database=None)
    @given(strategy)
    def draw(record: dict[str, Any]) -> None:
        assert D(0) <= scorer.score(record).total <= D(10)

    _, peak = peak_of(draw)
    assert peak < 50 * MB


BIG = [f"材料{n}" for n in range(100_000)]


@pytest.fixture(scope="module")
def big_checklist() -> Rubric:
    return one_criterion(
        {"docs": {"type": "checklist", "label": "材料", "items": BIG}},
        [
            {"per_missing": "docs", "points": 1, "cap": 8, "clause": "缺一项扣1分,最多扣8分"},
            {
                "deduct": 2,
                "when": {"not": {"field": "docs", "has": "材料99999"}},
                "clause": "缺最后一项扣2分",
            },
        ],
    )


def test_a_100000_item_checklist_is_checked_without_listing_its_subsets(big_checklist: Rubric) -> None:
    problems, peak = peak_of(lambda: check(big_checklist))
    assert peak < 20 * MB
    ranges = rubric_ranges(big_checklist.doc)
    # Everything missing: −8 (capped) −2 = 0; everything present: 10.
    assert (ranges.criteria["C1"].low, ranges.criteria["C1"].high, ranges.exact) == (D(0), D(10), True)
    assert "never-changes-score" not in codes(problems)


def test_the_witness_of_a_100000_item_checklist_scores_the_end_it_claims(big_checklist: Rubric) -> None:
    reach = rubric_ranges(big_checklist.doc).criteria["C1"]
    for witness, end in ((reach.low_witness, reach.low), (reach.high_witness, reach.high)):
        assert big_checklist.score({"C1": witness}).total == end


def test_checking_20000_checklist_items_compares_each_item_a_few_times_not_with_every_other() -> None:
    compared = 0

    class Counted(str):
        __hash__ = str.__hash__

        def __eq__(self, other: object) -> bool:
            nonlocal compared
            compared += 1
            return str.__eq__(self, other)

    items = [f"项{n}" for n in range(20_000)]
    spec = Checklist(type="checklist", label="材料", items=tuple(items))
    assert len(spec.check([Counted(i) for i in reversed(items)])) == 20_000
    # A tuple lookup per item made this about n²/2 = 200,000,000 comparisons.
    assert compared < 5 * 20_000


def test_a_checklist_hint_names_a_few_items_not_all_of_them() -> None:
    spec = Checklist(type="checklist", label="材料", items=tuple(BIG[:5000]))
    with pytest.raises(Invalid) as caught:
        spec.check(["没有这一项"])
    hint = caught.value.defects[0].hint
    assert hint.endswith("… and 4990 more")


def test_has_on_a_checklist_of_more_than_six_items_is_seen_by_the_analysis() -> None:
    # Only 'h' present alone earns the 10 points: the old analysis tried prefixes of the list for
    # more than 6 items (none holds 'h' with at most one item) and called the rule useless.
    scorer = one_criterion(
        {"c": {"type": "checklist", "label": "材料", "items": list("abcdefgh")}},
        [
            {
                "award": 10,
                "when": {"all": [{"field": "c", "has": "h"}, {"field": "c", "at_most": 1}]},
                "clause": "只有h得10分",
            }
        ],
        start="zero",
    )
    real = scorer.score({"C1": {"c": ["h"]}}).total
    reach = rubric_ranges(scorer.doc).criteria["C1"]
    assert real == D(10)
    assert reach.low <= real <= reach.high == D(10)
    assert "never-changes-score" not in codes(check(scorer))


def test_capped_rules_on_one_count_reach_the_high_end_between_the_small_counts() -> None:
    # min(5n, 15) − min(2n, 20): n=2 → 6, n=3 → 9, n=4 → 7, n=10 → −5. Trying only 0, 1, 2 and
    # the maximum claimed 6 as the highest score, narrower than the truth.
    scorer = one_criterion(
        {"n": {"type": "count", "label": "次数", "max": 10}},
        [
            {"award_each": "n", "points": 5, "cap": 15, "clause": "每次加5分,最多加15分"},
            {"deduct_each": "n", "points": 2, "cap": 20, "clause": "每次扣2分,最多扣20分"},
        ],
        start="zero",
    )
    assert scorer.score({"C1": {"n": 3}}).total == D(9)
    assert rubric_ranges(scorer.doc).total == (D(0), D(9))


def counting_evaluations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = _ranges.CriterionAnalysis.applies.fget
    assert original is not None

    def counted(self: _ranges.CriterionAnalysis) -> list[Any]:
        def wrap(apply: Callable[[Any], Any]) -> Callable[[Any], Any]:
            def run(facts: Any) -> Any:
                calls[0] += 1
                return apply(facts)

            return run

        return [wrap(a) for a in original(self)]

    monkeypatch.setattr(_ranges.CriterionAnalysis, "applies", property(counted))
    return calls


def seventeen_flags() -> Rubric:
    flags = {f"f{i}": {"type": "flag", "label": f"条件{i}"} for i in range(17)}
    rules = [
        {"deduct": 1, "when": {"all": [f"f{i % 17}", f"f{(i + 1) % 17}"]}, "clause": f"扣分{i}"}
        for i in range(30)
    ]
    return one_criterion(flags, rules)


def test_17_flags_read_by_30_rules_give_a_bound_within_the_evaluation_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scorer = seventeen_flags()
    calls = counting_evaluations(monkeypatch)
    problems = check(scorer)
    partial_score(scorer, {})
    # 2^17 combinations × 30 rules is over the budget: no enumeration at all.
    assert calls[0] <= 3 * _ranges.BUDGET
    reach = rubric_ranges(scorer.doc).criteria["C1"]
    assert (reach.low, reach.high, reach.exact) == (D(0), D(10), False)
    messages = [p.message for p in problems if p.code == "range"]
    assert "reachable total: 0 to 10 (bound)" in messages
    assert any("C1: range 0 to 10 (bound)" in m for m in messages)
    assert "unreachable-max" not in codes(problems)
    assert "never-changes-score" not in codes(problems)


def test_a_bound_contains_the_scores_of_real_evidence() -> None:
    scorer = seventeen_flags()
    reach = rubric_ranges(scorer.doc).criteria["C1"]
    for pattern in range(0, 2**17, 997):
        record = {"C1": {f"f{i}": bool(pattern >> i & 1) for i in range(17)}}
        assert reach.low <= scorer.score(record).total <= reach.high


def test_a_bound_below_the_points_is_never_reported_as_unreachable() -> None:
    flags = {f"f{i}": {"type": "flag", "label": "条件"} for i in range(17)}
    rules = [
        {"award": 1, "when": {"all": [f"f{i}", f"f{(i + 1) % 17}"]}, "clause": "得分"} for i in range(17)
    ]
    scorer = one_criterion(flags, rules, start="zero", points=20)
    reach = rubric_ranges(scorer.doc).criteria["C1"]
    assert not reach.exact
    assert "unreachable-max" not in codes(check(scorer))


UNREACHABLE = {"done": {"type": "flag", "label": "完成"}}
UNREACHABLE_RULES = [{"award": 5, "when": "done", "clause": "完成得5分"}]


def test_an_unreachable_declared_maximum_is_an_error() -> None:
    scorer = one_criterion(UNREACHABLE, UNREACHABLE_RULES, start="zero")
    (finding,) = [p for p in check(scorer) if p.code == "unreachable-max" and "C1" in p.message]
    assert finding.severity == "error"
    assert "declared 10 points, but no evidence scores more than 5" in finding.message


def test_a_note_that_waives_an_unreachable_maximum_makes_it_a_warning_quoting_the_reading() -> None:
    note = {
        "quote": "完成得5分",
        "reading": "原文分值10分,标准只给5分,照录不改",
        "waives": ["unreachable-max"],
    }
    scorer = one_criterion(UNREACHABLE, UNREACHABLE_RULES, start="zero", notes=[note])
    problems = check(scorer)
    found = [p for p in problems if p.code == "unreachable-max"]
    assert [p.severity for p in found] == ["warning", "warning"]  # the criterion, then the total
    assert "waived: 原文分值10分,标准只给5分,照录不改" in found[0].message
    assert not [p for p in problems if p.severity == "error"]


def test_a_note_cannot_waive_a_code_that_does_not_exist() -> None:
    note = {"quote": "完成得5分", "reading": "照录", "waives": ["unreachable-maximum"]}
    with pytest.raises(rubric.RubricError) as caught:
        one_criterion(UNREACHABLE, UNREACHABLE_RULES, start="zero", notes=[note])
    (problem,) = caught.value.problems
    assert problem.code == "literal-error"
    assert problem.path[-4:] == ("notes", 0, "waives", 0)


def test_a_category_floor_above_its_points_is_an_error_not_a_subtotal_of_10_of_5() -> None:
    rules = [{"deduct": 5, "when": {"not": "ok"}, "clause": "不合格扣5分"}]
    data = one_criterion_data({"ok": {"type": "flag", "label": "合格"}}, rules, points=5)
    data["categories"][0]["floor"] = 10
    scorer = Rubric.from_data(data)
    subtotal = scorer.score({"C1": {"ok": False}}).categories[0].score
    assert subtotal == D(10)  # 10 / 5: what check must refuse
    errors = [p for p in check(scorer) if p.severity == "error"]
    assert "floor-above-max" in {p.code for p in errors}


def test_negative_composite_weights_are_an_error(tmp_path: Path) -> None:
    part = one_criterion(
        {"ok": {"type": "flag", "label": "合格"}}, [{"deduct": 5, "when": {"not": "ok"}, "clause": "扣5分"}]
    )
    composite = Composite.from_data(
        {
            "id": "weights",
            "version": "1",
            "title": "权重",
            "points": 10,
            "parts": {"a": "a", "b": "b"},
            "evidence": {"g": {"type": "flag", "label": "条件"}},
            "branches": [{"when": "g", "clause": "2 × a − b", "weights": {"a": 2, "b": -1}}],
        },
        {"a": part, "b": part},
    )
    errors = {(p.code, p.path) for p in check(composite) if p.severity == "error"}
    assert ("negative-weight", ("branches", 0, "weights", "b")) in errors


def test_findings_are_capped_per_code_and_per_run_with_a_count_of_the_rest(tmp_path: Path) -> None:
    fields = {f"u{i}": {"type": "flag", "label": "没人读"} for i in range(3000)}
    scorer = one_criterion(
        {**fields, "ok": {"type": "flag", "label": "合格"}},
        [{"deduct": 1, "when": {"not": "ok"}, "clause": "扣1分"}],
    )
    problems = check(scorer)
    unused = [p for p in problems if p.code == "unused-field"]
    assert len(unused) == PER_CODE
    (more,) = [p for p in problems if p.code == "more-findings"]
    assert f"… and {3000 - PER_CODE} more unused-field findings here" in more.message
    assert more.severity == "warning"


def many_bad_criteria(count: int) -> dict[str, Any]:
    criteria = [
        {
            "id": f"C{i}",
            "number": i,
            "content": "c",
            "standard": "s",
            "points": 10,
            "start": "zero",
            "evidence": {"done": {"type": "flag", "label": "完成"}},
            "rules": [{"award": 5, "when": "done", "clause": "完成得5分"}],
        }
        for i in range(count)
    ]
    return {
        "id": "many",
        "version": "1",
        "title": "多",
        "points": 10 * count,
        "categories": [{"id": "K", "name": "类", "criteria": criteria}],
    }


def test_a_run_shows_at_most_max_findings_and_still_counts_hidden_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scorer = Rubric.from_data(many_bad_criteria(1500))
    problems = check(scorer)
    assert len(problems) == MAX_FINDINGS
    assert problems[-1].code == "more-findings"
    assert problems[-1].severity == "error"
    path = tmp_path / "many.yaml"
    path.write_text(scorer.to_yaml(), encoding="utf-8")
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") <= MAX_FINDINGS + 1


def test_a_category_cap_below_its_points_is_an_unreachable_maximum_unless_a_note_waives_it() -> None:
    rules = [{"deduct": 5, "when": {"not": "ok"}, "clause": "不合格扣5分"}]
    data = one_criterion_data({"ok": {"type": "flag", "label": "合格"}}, rules)
    data["categories"][0]["cap"] = 6
    found = [p for p in check(Rubric.from_data(data)) if p.code == "unreachable-max"]
    # The criterion reaches its 10; the category's own cap of 6 is what falls short.
    assert [(p.severity, p.path) for p in found[:1]] == [("error", ("categories", 0, "cap"))]
    data["categories"][0]["notes"] = [
        {"quote": "最多6分", "reading": "类别封顶6分", "waives": ["unreachable-max"]}
    ]
    found = [p for p in check(Rubric.from_data(data)) if p.code == "unreachable-max"]
    assert found[0].severity == "warning"
    assert found[0].message.endswith("waived: 类别封顶6分")


def test_partial_json_says_whether_each_range_is_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(seventeen_flags().to_yaml(), encoding="utf-8")
    record = tmp_path / "record.yaml"
    record.write_text("C1: {f0: true}\n", encoding="utf-8")
    assert main(["score", "--partial", "--json", str(path), str(record)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"]["exact"] is False
    assert out["criteria"]["C1"] == {"low": "0", "high": "10", "exact": False}


def test_rules_naming_unknown_fields_among_thousands_get_short_messages() -> None:
    # Each message once listed every declared field: 300 rules × 5,000 names ran to megabytes.
    fields = {f"field{i}": {"type": "flag", "label": "条件"} for i in range(5000)}
    rules = [{"deduct": 1, "when": f"missing{i}", "clause": "扣1分"} for i in range(300)]
    with pytest.raises(rubric.RubricError) as caught:
        one_criterion(fields, rules)
    problems = caught.value.problems
    assert len(problems) == 300
    assert all(len(str(p)) < 400 for p in problems)
    assert problems[0].message.endswith("field9, … and 4990 more")


def test_a_rule_that_matters_only_between_the_ends_of_a_checklist_is_not_called_useless() -> None:
    # 1 − 0.5 × missing − 0.5 × missing, floored at 0: with nothing or everything present either
    # rule alone gives the same score, but with one item missing both give 0 and one gives 0.5.
    rules = [{"per_missing": "docs", "points": D("0.5"), "clause": f"缺一项扣0.5分({n})"} for n in (1, 2)]
    scorer = one_criterion(
        {"docs": {"type": "checklist", "label": "材料", "items": ["计划", "部署"]}}, rules, points=1
    )
    assert scorer.score({"C1": {"docs": ["计划"]}}).total == D(0)
    assert one_criterion(
        {"docs": {"type": "checklist", "label": "材料", "items": ["计划", "部署"]}}, rules[1:], points=1
    ).score({"C1": {"docs": ["计划"]}}).total == D("0.5")
    assert "never-changes-score" not in codes(check(scorer))


def test_sums_of_many_other_groups_are_not_multiplied_out_in_the_useless_rule_check() -> None:
    # Three independent counts of 0–1500 at 1, 1501 and 1501² points a unit: each gives 1501
    # sums, and multiplying two of them out held 2,253,001 distinct Decimals at once (表二 took
    # 80 s this way).
    fields = {f"n{i}": {"type": "count", "label": "次数", "max": 1500} for i in range(3)}
    rules = [{"award_each": f"n{i}", "points": 1501**i, "clause": f"每次加分({i})"} for i in range(3)]
    scorer = one_criterion(fields, rules, start="zero", points=100)
    problems, peak = peak_of(lambda: check(scorer))
    assert peak < 20 * MB
    assert "never-changes-score" not in codes(problems)


def test_a_penalty_item_with_unlimited_assessed_deductions_has_no_lower_end() -> None:
    # A penalty item has no floor; 视情节扣分 without max_entries can take off without limit, so
    # the range must not claim an end that three entries of 45 already pass (found by the
    # large-domain property: "exact" low −89, real score −134).
    scorer = rubric.Rubric.from_data(
        {
            "id": "p",
            "version": "1",
            "title": "扣分项",
            "points": 1,
            "categories": [
                {
                    "id": "K",
                    "name": "k",
                    "criteria": [{"id": "C1", "number": 1, "content": "c", "standard": "s", "points": 1}],
                }
            ],
            "penalty": {
                "id": "扣分项",
                "name": "扣分项",
                "criteria": [
                    {
                        "id": "P1",
                        "number": 2,
                        "content": "c",
                        "standard": "视情节扣1—45分",
                        "evidence": {"f": {"type": "assessed", "range": [1, 45], "label": "扣分"}},
                        "rules": [{"deduct_assessed": "f", "clause": "视情节扣1—45分"}],
                    }
                ],
            },
        }
    )
    reach = rubric_ranges(scorer.doc).criteria["P1"]
    assert (reach.low, reach.exact) == (Decimal("-Infinity"), False)
    entries = [{"points": Decimal(45), "reason": "情节较重"}] * 3
    assert scorer.score({"C1": {}, "P1": {"f": entries}}).criterion("P1").score == Decimal(-135)
