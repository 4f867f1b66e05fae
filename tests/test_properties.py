"""The engine's own properties, over the seed tables, the composite and random rubrics.

Run deeper with HYPOTHESIS_PROFILE=deep.
"""

from __future__ import annotations

import copy
import itertools
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rubric
from rubric._analysis import rubric_ranges
from rubric._conditions import Not
from rubric._documents import parse
from rubric._domains import Marks
from rubric._fields import Assessed, Checklist, Choice, Count, Flag
from rubric._result import AuditEntry, Result
from rubric.testing import composites, evidence, invalid_evidence, rubrics

ROOT = Path(__file__).parent.parent
TABLES = {name: rubric.load(ROOT / "rubrics" / f"{name}.yaml") for name in ("table1", "table2", "table3")}
DEPARTMENT = rubric.load(ROOT / "rubrics" / "department.yaml")
ZERO = Decimal(0)


def seeded(scorer: Any) -> st.SearchStrategy[tuple[Any, dict[str, Any]]]:
    return evidence(scorer).map(lambda record: (scorer, record))


ANY_TABLE = st.sampled_from(sorted(TABLES)).flatmap(lambda name: seeded(TABLES[name]))
RANDOM = rubrics().flatmap(seeded)
SCORED = st.one_of(ANY_TABLE, RANDOM)


def total_of(entries: Any) -> Decimal:
    return sum((e.points for e in entries), ZERO)


def check_replay(result: Result) -> None:
    for category in result.groups():
        for criterion in category.criteria:
            assert total_of(criterion.audit) == criterion.score, criterion.id
        children = sum((c.score for c in (*category.criteria, *category.categories)), ZERO)
        assert children + total_of(category.adjustments) == category.score, category.id
    # base (the top categories, clamped) + bonus + penalty, then the total's floor and vetoes
    sections = sum((s.score for s in result.sections), ZERO)
    assert (
        sum((c.score for c in result.categories), ZERO) + sections + total_of(result.adjustments)
        == result.total
    )


@given(SCORED)
def test_every_score_lies_within_its_bounds_and_the_static_range(pair: tuple[Any, dict[str, Any]]) -> None:
    scorer, record = pair
    result = scorer.score(record)
    ranges = rubric_ranges(scorer.doc)
    for criterion in scorer.doc.all_criteria():
        score = result.criterion(criterion.id).score
        assert min(criterion.lower, ZERO) <= score <= max(criterion.upper, ZERO)
        reach = ranges.criteria[criterion.id]
        assert reach.low <= score <= reach.high, criterion.id
    for group in result.groups():
        assert ranges.categories[group.id][0] <= group.score <= ranges.categories[group.id][1], group.id
    if result.base is not None:
        assert scorer.doc.floor <= result.base <= scorer.doc.upper
    else:
        assert scorer.doc.floor <= result.total <= scorer.doc.upper
    assert ranges.total[0] <= result.total <= ranges.total[1]


def _witnessed_total(scorer: Any, end: str) -> Decimal:
    """The total the criteria's witnesses reach, with the rubric's own facts (read only by vetoes,
    independent of every criterion's) set the way that pushes it furthest towards ``end``."""
    own = scorer.doc.evidence
    totals = [
        scorer.score({**dict(zip(own, values, strict=True)), **_witness(scorer, end)}).total
        for values in itertools.product(*(spec.domain() for spec in own.values()))
    ]
    return min(totals) if end == "low" else max(totals)


def _witness(scorer: Any, end: str) -> dict[str, Any]:
    ranges = rubric_ranges(scorer.doc)
    return {cid: dict(getattr(r, f"{end}_witness")) for cid, r in ranges.criteria.items()}


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("end", ["low", "high"])
def test_the_static_range_of_a_seed_table_is_attained_by_its_witness(name: str, end: str) -> None:
    scorer = TABLES[name]
    ranges = rubric_ranges(scorer.doc)
    result = scorer.score(_witness(scorer, end))
    for criterion in result.criteria():
        assert criterion.score == getattr(ranges.criteria[criterion.id], end), criterion.id
    assert result.total == ranges.total[0 if end == "low" else 1]


@given(rubrics(), st.sampled_from(["low", "high"]))
def test_the_static_range_of_a_random_rubric_is_attained(scorer: rubric.Rubric, end: str) -> None:
    ranges = rubric_ranges(scorer.doc)
    # The rubric's own facts (read by its vetoes) are independent of every criterion's: the end is
    # attained by the criteria's witness with the own facts that push the total that way. A veto
    # on computed scores that their ranges do not settle makes the range a bound, which holds the
    # witnessed total.
    witnessed, bound = _witnessed_total(scorer, end), ranges.total[0 if end == "low" else 1]
    if ranges.exact:
        assert witnessed == bound
    else:
        assert ranges.total[0] <= witnessed <= ranges.total[1]


LARGE = rubrics(large_domains=True, max_categories=2, max_criteria=3)


@given(LARGE.flatmap(seeded))
def test_the_static_range_contains_every_score_on_large_domains(pair: tuple[Any, dict[str, Any]]) -> None:
    # Fine-step assessed ranges, 100+ item checklists and many flags: exact or bound, the range
    # is never narrower than a score real evidence obtains.
    scorer, record = pair
    result = scorer.score(record)
    ranges = rubric_ranges(scorer.doc)
    for criterion in result.criteria():
        reach = ranges.criteria[criterion.id]
        assert reach.low <= criterion.score <= reach.high, criterion.id
    for category in result.categories:
        low, high = ranges.categories[category.id]
        assert low <= category.score <= high
    assert ranges.total[0] <= result.total <= ranges.total[1]


@given(LARGE, st.sampled_from(["low", "high"]))
def test_an_exact_range_on_large_domains_is_attained_by_its_witness(scorer: rubric.Rubric, end: str) -> None:
    ranges = rubric_ranges(scorer.doc)
    own = {name: spec.domain()[0] for name, spec in scorer.doc.evidence.items()}
    result = scorer.score({**own, **_witness(scorer, end)})
    for criterion in result.criteria():
        reach = ranges.criteria[criterion.id]
        if reach.exact:
            assert criterion.score == getattr(reach, end), criterion.id
    if ranges.exact:
        assert _witnessed_total(scorer, end) == ranges.total[0 if end == "low" else 1]


@given(st.one_of(RANDOM, LARGE.flatmap(seeded)))
def test_a_rule_check_calls_useless_changes_no_score(pair: tuple[Any, dict[str, Any]]) -> None:
    scorer, record = pair
    flagged = [p.path for p in rubric.check(scorer) if p.code == "never-changes-score"]
    if not flagged:
        return
    data = parse(scorer.to_yaml().encode("utf-8")).data
    before = scorer.score(record)
    for path in flagged:
        changed = copy.deepcopy(data)
        criterion = changed
        for step in path[:-2]:  # the criterion, at any depth or in a section
            criterion = criterion[step]
        del criterion["rules"][path[-1]]
        after = rubric.Rubric.from_data(changed).score(record)
        assert after.criterion(criterion["id"]).score == before.criterion(criterion["id"]).score, path


def _every_value(spec: Any) -> list[Any] | None:
    """Every valid value of a small field (None when there are too many to list)."""
    if isinstance(spec, Flag):
        return [False, True]
    if isinstance(spec, Count):
        return list(range(spec.max + 1))
    if isinstance(spec, Checklist):
        return [list(c) for n in range(len(spec.items) + 1) for c in itertools.combinations(spec.items, n)]
    if isinstance(spec, Assessed):
        if spec.max_entries is None:
            return None
        amounts = list(spec.amounts())
        return [
            [{"points": a, "reason": "理由"} for a in chosen]
            for n in range(spec.max_entries + 1)
            for chosen in itertools.combinations_with_replacement(amounts, n)
        ]
    if isinstance(spec, Choice):
        return list(spec.options)
    # Quantities (number, date) list themselves when few.
    values: list[Any] | None = spec.analysis_all(Marks(), 400)
    return values


@given(rubrics(max_categories=1, max_criteria=2))
def test_a_useless_rule_changes_no_score_for_any_evidence_of_a_small_rubric(scorer: rubric.Rubric) -> None:
    # Every record of each criterion is scored with and without each rule check calls useless.
    flagged = [p.path for p in rubric.check(scorer) if p.code == "never-changes-score"]
    data = parse(scorer.to_yaml().encode("utf-8")).data
    rest = {cid: dict(r.low_witness) for cid, r in rubric_ranges(scorer.doc).criteria.items()}
    for path in flagged:
        if path[:3] != ("categories", 0, "criteria"):
            continue  # a criterion one level down, or in a section: the flat case is the one replayed
        _, _, _, j, _, k = path
        criterion = scorer.doc.categories[0].criteria[j]
        domains = [_every_value(spec) for spec in criterion.evidence.values()]
        if any(d is None for d in domains) or math.prod(len(d) for d in domains if d) > 5000:
            continue
        changed = copy.deepcopy(data)
        del changed["categories"][0]["criteria"][j]["rules"][k]
        without = rubric.Rubric.from_data(changed)
        for combo in itertools.product(*(d for d in domains if d is not None)):
            record = {**rest, criterion.id: dict(zip(criterion.evidence, combo, strict=True))}
            assert (
                without.score(record).criterion(criterion.id).score
                == scorer.score(record).criterion(criterion.id).score
            ), (path, record[criterion.id])


@given(SCORED)
def test_audit_entries_add_up_to_every_score(pair: tuple[Any, dict[str, Any]]) -> None:
    scorer, record = pair
    check_replay(scorer.score(record))


def _direction(criterion: Any, name: str) -> str | None:
    """'deduct' if more of this field can only cost points, 'award' if it can only add, else None."""
    spec = criterion.evidence[name]
    kinds = set()
    for rule in criterion.clauses():
        if name not in rule.reads():
            continue
        if rule.kind in ("per_missing", "deduct_each", "deduct_assessed"):
            kinds.add("deduct")
        elif rule.kind in ("award_each", "award_assessed"):
            kinds.add("award")
        elif isinstance(spec, Flag) and rule.kind in ("deduct", "veto"):
            cond = rule.when if rule.kind == "deduct" else rule.veto
            kinds.add(
                "deduct-if-true"
                if cond == name
                else "deduct-if-false"
                if cond == Not(**{"not": name})
                else "?"
            )
        else:
            kinds.add("?")
    return kinds.pop() if len(kinds) == 1 and "?" not in kinds else None


def _worsen(spec: Any, value: Any, direction: str) -> Any:
    """One more deficiency (or one more award) on a field, or None when there is no room."""
    if isinstance(spec, Count):
        return value + 1 if value < spec.max else None
    if isinstance(spec, Checklist) and direction == "deduct":
        return list(value)[1:] if value else None
    if isinstance(spec, Assessed):
        if spec.max_entries is not None and len(value) >= spec.max_entries:
            return None
        return [*value, {"points": spec.range[0], "reason": "再一次"}]
    if isinstance(spec, Flag):
        bad = direction == "deduct-if-true"
        return bad if value != bad else None
    return None


@given(SCORED, st.data())
def test_one_more_deficiency_never_raises_and_one_more_award_never_lowers(
    pair: tuple[Any, dict[str, Any]], data: st.DataObject
) -> None:
    scorer, record = pair
    before = {c.id: c.score for c in scorer.score(record).criteria()}
    candidates = []
    for criterion in scorer.doc.all_criteria():
        for name in criterion.evidence:
            direction = _direction(criterion, name)
            if direction is not None:
                changed = _worsen(criterion.evidence[name], record[criterion.id][name], direction)
                if changed is not None:
                    candidates.append((criterion.id, name, direction, changed))
    if not candidates:
        return
    cid, name, direction, changed = data.draw(st.sampled_from(candidates))
    after = scorer.score({**record, cid: {**record[cid], name: changed}}).criterion(cid).score
    if direction == "award":
        assert after >= before[cid]
    else:
        assert after <= before[cid]


@given(SCORED)
def test_scoring_is_deterministic_and_results_round_trip_through_json(
    pair: tuple[Any, dict[str, Any]],
) -> None:
    scorer, record = pair
    first, second = scorer.score(record), scorer.score(record)
    assert first.to_json() == second.to_json()
    assert rubric.from_json(first.to_json()) == first
    assert rubric.from_json(first.to_json()).to_json() == first.to_json()


@given(SCORED)
def test_a_rubric_dumped_and_reloaded_scores_identically(pair: tuple[Any, dict[str, Any]]) -> None:
    scorer, record = pair
    again = rubric.Rubric.from_bytes(scorer.to_yaml().encode("utf-8"))
    assert again.score(record).total == scorer.score(record).total
    assert [c.score for c in again.score(record).criteria()] == [
        c.score for c in scorer.score(record).criteria()
    ]


@given(
    st.one_of(st.sampled_from(sorted(TABLES)).map(TABLES.__getitem__), rubrics()).flatmap(
        lambda scorer: invalid_evidence(scorer).map(lambda bad: (scorer, bad))
    )
)
def test_invalid_evidence_raises_evidence_error_naming_the_defect(pair: tuple[Any, Any]) -> None:
    scorer, bad = pair
    with pytest.raises(rubric.EvidenceError) as caught:
        scorer.score(bad.record)
    assert (bad.code, bad.path) in {(p.code, p.path) for p in caught.value.problems}


@given(invalid_evidence(DEPARTMENT))
def test_invalid_composite_evidence_names_the_defect_inside_its_part(bad: Any) -> None:
    with pytest.raises(rubric.EvidenceError) as caught:
        DEPARTMENT.score(bad.record)
    assert (bad.code, bad.path) in {(p.code, p.path) for p in caught.value.problems}


@given(st.one_of(seeded(DEPARTMENT), composites().flatmap(seeded)))
def test_a_composite_is_exactly_the_weighted_sum_of_its_parts(pair: tuple[Any, dict[str, Any]]) -> None:
    scorer, record = pair
    result = scorer.score(record)
    # Sections outside the weighting: each part's base is weighted (the weighted sum capped at the
    # composite's max), then its bonus and penalty points are added as they are, the total not below 0.
    outside = getattr(scorer.doc, "sections", "weighted") == "outside"
    weighted, extra = ZERO, ZERO
    for part in result.parts:
        r = part.result
        if outside and r.base is not None:
            weighted, extra = weighted + part.weight * r.base, extra + r.bonus + r.penalty
        else:
            weighted += part.weight * r.total
    assert result.total == max(ZERO, min(weighted, scorer.max) + extra)
    assert total_of(result.audit) == result.total
    for part in result.parts:
        check_replay(part.result)


def test_audit_entry_replay_also_holds_for_a_floor_that_discards_points() -> None:
    # 表二1 starts at 40; six persons sent back (每退回1人次扣5分) cost 30 and two half-days without
    # a stand-in (每半天扣5分) cost 10 more: 40 - 40 = 0 exactly, then one more costs 5 the floor discards.
    record = {
        k: dict(v) for k, v in rubric.load_evidence(ROOT / "examples" / "table2-perfect.yaml").data.items()
    }
    record["T2-01"] = {**record["T2-01"], "returned_staff": 7, "uncovered_half_days": 2}
    criterion = TABLES["table2"].score(record).criterion("T2-01")
    floor = [e for e in criterion.audit if e.kind == "floor"]
    assert criterion.score == 0
    assert floor == [AuditEntry("T2-01", "floor", "floor", "floor 0", Decimal(5), Decimal(5))]
