"""Static analysis: the exact range of reachable scores, and the checks built on it.

Rules of a criterion are grouped by the evidence fields they share; groups are independent, so a
criterion's range is the clamp of the sum of its groups' ranges. Inside a group every combination
of the fields' domains is tried (domains are small: flags, options, checklist subsets, counts at
0/1/2/max and at each threshold a condition names). A range is therefore exact: its ends are
attained by some valid evidence, which ``witness`` returns.

Partial evidence narrows a field's domain to its known value, which answers "what totals are
still possible?" half-way through an assessment.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._clauses import INFINITY, Apply, Clause
from ._conditions import All, AnyOf, Condition, Not, Test
from ._errors import Path, Problem
from ._evaluate import rule_id
from ._evidence import evidence_error
from ._fields import Assessed, Assessment, Count
from ._model import Criterion, RubricDoc
from ._numbers import ZERO, exact, text
from ._rubric import Composite, Rubric

MAX_COMBINATIONS = 200_000


@dataclass(frozen=True, slots=True)
class Range:
    """The lowest and highest score reachable, with evidence that reaches each end."""

    low: Decimal
    high: Decimal
    low_witness: Mapping[str, Any]
    high_witness: Mapping[str, Any]


def _thresholds(cond: Condition, out: dict[str, set[int]]) -> None:
    if isinstance(cond, Not):
        _thresholds(cond.not_, out)
    elif isinstance(cond, (All, AnyOf)):
        for inner in cond.all_ if isinstance(cond, All) else cond.any_:
            _thresholds(inner, out)
    elif isinstance(cond, Test):
        for bound in (cond.at_least, cond.at_most):
            if bound is not None:
                out.setdefault(cond.field, set()).update({max(bound - 1, 0), bound, bound + 1})


def domains(criterion: Criterion, known: Mapping[str, Any] | None = None) -> dict[str, tuple[Any, ...]]:
    """Values to try per field: a known value alone, else the field's domain plus thresholds."""
    marks: dict[str, set[int]] = {}
    for rule in criterion.clauses():
        for cond in rule.conditions():
            _thresholds(cond, marks)
    out: dict[str, tuple[Any, ...]] = {}
    for name, spec in criterion.evidence.items():
        if known is not None and name in known:
            out[name] = (known[name],)
        elif isinstance(spec, Count):
            extra = {m for m in marks.get(name, ()) if m <= spec.max}
            out[name] = tuple(sorted(set(spec.domain()) | extra))
        elif isinstance(spec, Assessed):
            out[name] = _assessed_domain(spec, criterion, marks.get(name, set()))
        else:
            out[name] = spec.domain()
    return out


def _assessed_domain(spec: Assessed, criterion: Criterion, marks: set[int]) -> tuple[Any, ...]:
    # A score depends on an assessed field through how many entries there are (conditions) and
    # what they add up to (the rules). Capped rules on the same field make the score
    # non-monotone in the sum, so every sum on the step grid is tried, for each count that
    # matters: 0, 1, each threshold a condition names, and the most.
    low, high = spec.range
    span = max(criterion.points, criterion.upper - criterion.floor, Decimal(1))
    # Without max_entries there is no last count: go past the span of the score and past every
    # threshold a condition names.
    most = spec.max_entries or max(int(span / max(low, spec.step)) + 1, max(marks, default=0) + 1)
    counts = sorted({0, min(1, most), most, *(m for m in marks if m <= most)})
    options: list[tuple[Assessment, ...]] = []
    for count in counts:
        steps = int((high - low) * count / spec.step)
        extras = range(steps + 1) if steps <= _MAX_SUMS else (0, steps)
        for extra in extras:
            options.append(_entries_adding_up(count, low, high, spec.step, extra))
    return tuple(dict.fromkeys(options))


_MAX_SUMS = 200


def _entries_adding_up(
    count: int, low: Decimal, high: Decimal, step: Decimal, extra: int
) -> tuple[Assessment, ...]:
    """``count`` amounts inside [low, high] adding up to count × low + extra × step."""
    amounts = []
    left = extra * step
    for _ in range(count):
        bump = min(left, high - low)
        amounts.append(low + bump)
        left -= bump
    return tuple(Assessment(a, "analysis") for a in amounts)


def _groups(criterion: Criterion) -> list[tuple[list[int], list[str]]]:
    """Rule indexes grouped so that no two groups read a common field."""
    groups: list[tuple[set[int], set[str]]] = []
    for index, rule in enumerate(criterion.clauses()):
        fields = set(rule.reads())
        merged = ({index}, fields)
        for group in [g for g in groups if g[1] & fields]:
            groups.remove(group)
            merged = (merged[0] | group[0], merged[1] | group[1])
        groups.append(merged)
    return [(sorted(r), sorted(f)) for r, f in groups]


@dataclass(frozen=True, slots=True)
class _Outcome:
    points: Decimal
    vetoed: bool
    facts: dict[str, Any]


def _capped(raw: Decimal, cap: Decimal | None) -> Decimal:
    return raw if cap is None else max(-cap, min(cap, raw))


def _group_outcomes(
    criterion: Criterion,
    rules: list[int],
    fields: list[str],
    values: dict[str, tuple[Any, ...]],
    skip: int | None = None,
) -> Iterator[_Outcome]:
    clauses = criterion.clauses()
    applies: list[tuple[Apply, Clause]] = [
        (clauses[i].compile(criterion.evidence), clauses[i]) for i in rules if i != skip
    ]
    for combo in itertools.product(*(values[f] for f in fields)):
        facts = dict(zip(fields, combo, strict=True))
        points, vetoed = ZERO, False
        for apply, rule in applies:
            raw = apply(facts)
            if raw is None:
                continue
            if rule.vetoes:
                vetoed = True
            else:
                points += _capped(raw, rule.rule_cap)
        yield _Outcome(points, vetoed, facts)


def _combinations(fields: list[str], values: dict[str, tuple[Any, ...]]) -> int:
    count = 1
    for f in fields:
        count *= len(values[f])
    return count


def _clamp(criterion: Criterion, value: Decimal) -> Decimal:
    return max(criterion.floor, min(criterion.upper, value))


def criterion_range(criterion: Criterion, known: Mapping[str, Any] | None = None) -> Range:
    """The exact range of a criterion's score (given any known facts), with witnesses."""
    values = domains(criterion, known)
    low_sum, high_sum = criterion.base, criterion.base
    low_facts: dict[str, Any] = {}
    high_facts: dict[str, Any] = {}
    can_veto, must_veto = False, False
    veto_facts: dict[str, Any] = {}
    for rules, fields in _groups(criterion):
        if _combinations(fields, values) > MAX_COMBINATIONS:
            low, high = _interval(criterion, rules)
            low_sum, high_sum = low_sum + low, high_sum + high
            continue
        outcomes = list(_group_outcomes(criterion, rules, fields, values))
        free = [o for o in outcomes if not o.vetoed]
        vetoing = [o for o in outcomes if o.vetoed]
        if vetoing:
            can_veto, veto_facts = True, {**veto_facts, **vetoing[0].facts}
        if not free:
            must_veto = True
            continue
        low_o = min(free, key=lambda o: o.points)
        high_o = max(free, key=lambda o: o.points)
        low_sum += low_o.points
        high_sum += high_o.points
        low_facts.update(low_o.facts)
        high_facts.update(high_o.facts)
    for name, vals in values.items():
        low_facts.setdefault(name, vals[0])
        high_facts.setdefault(name, vals[0])
    low, high = _clamp(criterion, low_sum), _clamp(criterion, high_sum)
    if must_veto:
        return Range(ZERO, ZERO, {**low_facts, **veto_facts}, {**high_facts, **veto_facts})
    if can_veto and low > ZERO:
        return Range(ZERO, high, {**low_facts, **veto_facts}, high_facts)
    if can_veto and high < ZERO:  # a negative floor: the veto's 0 is then the best score
        return Range(low, ZERO, low_facts, {**high_facts, **veto_facts})
    return Range(low, high, low_facts, high_facts)


def _interval(criterion: Criterion, rules: list[int]) -> tuple[Decimal, Decimal]:
    low, high = ZERO, ZERO
    for index in rules:
        rule = criterion.clauses()[index]
        lo, hi = rule.bounds(criterion.evidence)
        cap = rule.rule_cap
        low += lo if cap is None else max(lo, -cap)
        high += hi if cap is None else min(hi, cap)
    return low, high


def raw_high(criterion: Criterion) -> Decimal:
    """The most the rules could add up to before the criterion's cap (may be infinite)."""
    return criterion.base + _interval(criterion, list(range(len(criterion.rules))))[1]


def _shadowed(criterion: Criterion) -> Iterator[int]:
    """Indexes of rules that never change the final score, whatever the evidence."""
    values = domains(criterion)
    groups = _groups(criterion)
    for rules, fields in groups:
        if _combinations(fields, values) > MAX_COMBINATIONS:
            continue
        others = [g for g in groups if g[0] != rules]
        other_sums = _sumset(criterion, others, values)
        if other_sums is None:
            continue
        with_rule = list(_group_outcomes(criterion, rules, fields, values))
        for index in rules:
            without = list(_group_outcomes(criterion, rules, fields, values, skip=index))
            if not any(
                _differs(criterion, a, b, other_sums) for a, b in zip(with_rule, without, strict=True)
            ):
                yield index


def _sumset(
    criterion: Criterion,
    groups: list[tuple[list[int], list[str]]],
    values: dict[str, tuple[Any, ...]],
) -> set[Decimal] | None:
    sums = {ZERO}
    for rules, fields in groups:
        if _combinations(fields, values) > MAX_COMBINATIONS:
            return None
        outs = {o.points for o in _group_outcomes(criterion, rules, fields, values) if not o.vetoed}
        sums = {a + b for a in sums for b in outs}
        if len(sums) > 10_000:
            return None
    return sums


def _differs(criterion: Criterion, a: _Outcome, b: _Outcome, others: set[Decimal]) -> bool:
    for other in others:
        final_a = ZERO if a.vetoed else _clamp(criterion, criterion.base + a.points + other)
        final_b = ZERO if b.vetoed else _clamp(criterion, criterion.base + b.points + other)
        if final_a != final_b:
            return True
    return False


@dataclass(frozen=True, slots=True)
class RubricRanges:
    """Reachable ranges per criterion, per category and of the total."""

    criteria: dict[str, Range]
    categories: dict[str, tuple[Decimal, Decimal]]
    total: tuple[Decimal, Decimal]


def rubric_ranges(doc: RubricDoc, known: Mapping[str, Mapping[str, Any]] | None = None) -> RubricRanges:
    """Exact reachable ranges (criteria are independent, so sums and clamps compose)."""
    with exact():
        return _rubric_ranges(doc, known)


def _rubric_ranges(doc: RubricDoc, known: Mapping[str, Mapping[str, Any]] | None) -> RubricRanges:
    criteria, categories = {}, {}
    total_low, total_high = ZERO, ZERO
    for category in doc.categories:
        low, high = ZERO, ZERO
        for criterion in category.criteria:
            r = criterion_range(criterion, (known or {}).get(criterion.id))
            criteria[criterion.id] = r
            low, high = low + r.low, high + r.high
        low = max(category.floor, min(category.upper, low))
        high = max(category.floor, min(category.upper, high))
        categories[category.id] = (low, high)
        total_low, total_high = total_low + low, total_high + high
    total = (max(doc.floor, min(doc.upper, total_low)), max(doc.floor, min(doc.upper, total_high)))
    return RubricRanges(criteria, categories, total)


def _criterion_paths(doc: RubricDoc) -> Iterator[tuple[Path, Criterion]]:
    for i, category in enumerate(doc.categories):
        for j, criterion in enumerate(category.criteria):
            yield ("categories", i, "criteria", j), criterion


def _tier_checks(path: Path, c: Criterion) -> Iterator[Problem]:
    for index, rule in enumerate(c.clauses()):
        for level, points in rule.fixed_awards().items():
            if c.base + points > c.upper:
                yield Problem(
                    "tier-above-cap",
                    f"{c.id}: tier '{level}' gives {text(points)}, but the criterion is capped at "
                    f"{text(c.upper)}: part of it can never count",
                    (*path, "rules", index, "levels", level),
                    severity="warning",
                )


def _criterion_checks(path: Path, c: Criterion, r: Range) -> Iterator[Problem]:
    if c.upper > c.points:
        yield Problem(
            "cap-above-points",
            f"{c.id}: cap {text(c.upper)} is above the declared {text(c.points)} points, so the criterion "
            "can score more than its maximum",
            (*path, "cap"),
        )
    yield from _tier_checks(path, c)
    if r.high < c.points:
        yield Problem(
            "unreachable-max",
            f"{c.id}: declared {text(c.points)} points, but no evidence scores more than {text(r.high)}",
            (*path, "points"),
            severity="warning",
            hint="compare the rules with 评分标准; a notes: entry records an intended reading, "
            "and this warning stays visible",
        )
    if r.low > c.floor:
        yield Problem(
            "unreachable-floor",
            f"{c.id}: no evidence scores below {text(r.low)}",
            (*path, "rules"),
            severity="note",
        )
    most = raw_high(c)
    if most > c.upper:
        shown = "without limit" if most == INFINITY else f"to {text(most)}"
        yield Problem(
            "exceeds-cap",
            f"{c.id}: rules can add up {shown}, above the cap {text(c.upper)}; the cap discards the rest",
            (*path, "rules"),
            severity="note",
        )
    for index in _shadowed(c):
        rule = c.clauses()[index]
        why = f" (its note: {rule.note})" if rule.note else " (add a note: saying why, or fix the rule)"
        yield Problem(
            "never-changes-score",
            f"{c.id}: rule {rule_id(c, index)} ({rule.clause}) never changes "
            f"the score: a veto, cap or floor always absorbs it{why}",
            (*path, "rules", index),
            severity="warning",
        )
    read = {f for rule in c.clauses() for f in rule.reads()}
    for name in c.evidence:
        if name not in read:
            yield Problem(
                "unused-field",
                f"{c.id}: no rule reads the evidence field '{name}'",
                (*path, "evidence", name),
                severity="warning",
            )
    for note in c.notes:
        yield Problem(
            "interpretation",
            f"{c.id}: 「{note.quote}」 — {note.reading}",
            (*path, "notes"),
            severity="note",
        )
    for index, rule in enumerate(c.clauses()):
        if rule.note:
            yield Problem(
                "interpretation",
                f"{c.id}: rule {rule_id(c, index)} 「{rule.clause}」 — {rule.note}",
                (*path, "rules", index, "note"),
                severity="note",
            )


def check_rubric(rubric: Rubric) -> list[Problem]:
    """Every static finding about a loaded rubric: errors, warnings and notes, placed in the file."""
    doc = rubric.doc
    problems: list[Problem] = []
    ranges = rubric_ranges(doc)
    for path, criterion in _criterion_paths(doc):
        problems.extend(_criterion_checks(path, criterion, ranges.criteria[criterion.id]))
    maximum = sum((c.maximum for c in doc.categories), ZERO)
    if maximum != doc.points:
        problems.append(
            Problem(
                "total-mismatch",
                f"the criteria add up to {text(maximum)}, but the rubric declares {text(doc.points)}",
                ("points",),
            )
        )
    if doc.upper > doc.points:
        problems.append(
            Problem(
                "cap-above-points",
                f"the total's cap {text(doc.upper)} is above the declared {text(doc.points)} points",
                ("cap",),
            )
        )
    for i, category in enumerate(doc.categories):
        if category.upper > category.maximum:
            problems.append(
                Problem(
                    "cap-above-points",
                    f"category {category.id}: cap {text(category.upper)} is above "
                    f"the sum of its criteria ({text(category.maximum)})",
                    ("categories", i, "cap"),
                )
            )
        if category.points is not None and category.points != category.maximum:
            problems.append(
                Problem(
                    "total-mismatch",
                    f"category {category.id}: criteria add up to "
                    f"{text(category.maximum)}, declared {text(category.points)}",
                    ("categories", i, "points"),
                )
            )
        for note in category.notes:
            problems.append(
                Problem(
                    "interpretation",
                    f"{category.id}: 「{note.quote}」 — {note.reading}",
                    ("categories", i, "notes"),
                    severity="note",
                )
            )
    low, high = ranges.total
    if high < doc.points:
        problems.append(
            Problem(
                "unreachable-max",
                f"the total can reach at most {text(high)} of the declared {text(doc.points)}",
                ("points",),
                severity="warning",
            )
        )
    problems.append(Problem("range", f"reachable total: {text(low)} to {text(high)}", (), severity="note"))
    problems.extend(_grade_checks(doc))
    problems.extend(_doc_notes(doc))
    return [rubric.positions.locate(p) for p in problems]


def _doc_notes(doc: Any) -> Iterator[Problem]:
    for note in doc.notes:
        yield Problem(
            "interpretation", f"{doc.id}: 「{note.quote}」 — {note.reading}", ("notes",), severity="note"
        )


def _grade_checks(doc: Any) -> Iterator[Problem]:
    mins = [g.min for g in doc.grades]
    if mins != sorted(mins, reverse=True):
        yield Problem("grades-order", "grade bands must go from the highest minimum down", ("grades",))


def check_composite(composite: Composite) -> list[Problem]:
    """Static findings about a composite: weights, reachable total, and its parts' findings."""
    doc = composite.doc
    problems: list[Problem] = []
    for i, branch in enumerate(doc.branches):
        weight = sum(branch.weights.values(), ZERO)
        if weight != 1:
            problems.append(
                Problem(
                    "weights-sum",
                    f"branch {i + 1}: weights add up to {text(weight)}, not 1",
                    ("branches", i, "weights"),
                )
            )
        high = sum((w * composite.parts[p].max for p, w in branch.weights.items()), ZERO)
        if high > doc.points:
            problems.append(
                Problem(
                    "exceeds-max",
                    f"branch {i + 1} can reach {text(high)}, above the declared {text(doc.points)}",
                    ("branches", i),
                )
            )
    problems.extend(_grade_checks(doc))
    problems.extend(_doc_notes(doc))
    out = [composite.positions.locate(p) for p in problems]
    for part in composite.parts.values():
        out.extend(check_rubric(part))
    return out


def check(loaded: Rubric | Composite) -> list[Problem]:
    """Static findings about a rubric or composite."""
    with exact():
        return check_composite(loaded) if isinstance(loaded, Composite) else check_rubric(loaded)


@dataclass(frozen=True, slots=True)
class OpenFact:
    """A fact not yet collected, and how much it can still move its criterion."""

    criterion: str
    field: str
    label: str
    swing: Decimal


@dataclass(frozen=True, slots=True)
class PartialScore:
    """What partial evidence still allows: ranges per criterion, category and total."""

    ranges: RubricRanges
    open_facts: tuple[OpenFact, ...]  # most consequential first


def _swing(criterion: Criterion, known: Mapping[str, Any], name: str, best: Mapping[str, Any]) -> Decimal:
    # With the criterion's other open facts at their best, how far can this one move the score?
    assumed = {**{k: v for k, v in best.items() if k not in known and k != name}, **known}
    reach = criterion_range(criterion, assumed)
    return reach.high - reach.low


def partial_score(rubric: Rubric, record: Any, positions: Any = None) -> PartialScore:
    """Ranges of the scores that the facts not yet collected could still produce.

    Facts given are validated as usual; facts (or whole criteria) left out are open. Each open
    fact is ranked by its swing: how many points it alone can still move its criterion when the
    criterion's other open facts are at their best.
    """
    with exact():
        return _partial_score(rubric, record, positions)


def _partial_score(rubric: Rubric, record: Any, positions: Any) -> PartialScore:
    problems: list[Problem] = []
    facts = rubric._evidence.collect(record if record is not None else {}, (), problems)
    problems = [p for p in problems if p.code != "missing"]
    if problems:
        raise evidence_error(problems, positions)
    ranges = rubric_ranges(rubric.doc, facts)
    open_facts = []
    for _, criterion in _criterion_paths(rubric.doc):
        known = facts.get(criterion.id, {})
        best = ranges.criteria[criterion.id].high_witness
        for name, spec in criterion.evidence.items():
            if name not in known:
                open_facts.append(
                    OpenFact(criterion.id, name, spec.label, _swing(criterion, known, name, best))
                )
    open_facts.sort(key=lambda f: (-f.swing, f.criterion, f.field))
    return PartialScore(ranges, tuple(open_facts))
