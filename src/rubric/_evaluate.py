"""The evaluator: a rubric compiled once into a plan, and the per-record scoring of that plan.

Phases for a criterion, in this order (docs/format.md): start → rules (each within its own cap)
→ clamp into [floor, cap] → veto. A category is the sum of its criteria clamped into its own
[floor, cap]; the total is the sum of the categories clamped into the rubric's.

Scoring a record records each step that moved points as a compact tuple (which rule, points,
points discarded); the public ``AuditEntry`` objects are built from those steps only when someone
reads the audit trail. The steps hold everything the entries say, so the entries of a criterion
still add up exactly to its score, and a record's hot path builds no object per rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from ._clauses import Apply
from ._model import Category, Criterion, RubricDoc
from ._numbers import ZERO, text
from ._result import AuditEntry, CategoryScore, CriterionScore, shortfall

START_CLAUSES = {"full": "start at full marks", "zero": "start at 0"}
FLOOR, CAP = -1, -2  # step codes of a clamp; rules are numbered from 0
Step = tuple[int, Decimal, Decimal]  # (rule position or FLOOR/CAP, points applied, points discarded)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with everything that does not depend on the record worked out."""

    id: str
    kind: str
    clause: str
    reads: tuple[str, ...]  # sorted, as JSON writes them
    apply: Apply
    cap: Decimal | None


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    """A criterion ready to score records."""

    id: str
    number: int | str
    points: Decimal
    base: Decimal
    floor: Decimal
    upper: Decimal
    start: str
    rules: tuple[CompiledRule, ...]  # in file order, vetoes included
    ops: tuple[tuple[int, Apply, Decimal | None], ...]  # the non-veto rules: (position, apply, cap)
    vetoes: tuple[tuple[int, Apply], ...]


@dataclass(frozen=True, slots=True)
class CompiledCategory:
    """A category ready to score records."""

    id: str
    name: str
    maximum: Decimal
    floor: Decimal
    upper: Decimal
    criteria: tuple[CompiledCriterion, ...]


FlatCriterion = tuple[
    str,
    Decimal,
    Decimal,
    Decimal,
    tuple[Apply, ...],
    tuple[tuple[Apply, Decimal], ...],
    tuple[Apply, ...],
    bool,
]
Flat = tuple[tuple[Decimal, Decimal, bool, tuple[FlatCriterion, ...]], ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole rubric ready to score records."""

    id: str
    categories: tuple[CompiledCategory, ...]
    floor: Decimal
    upper: Decimal
    # The same plan as plain tuples for the totals-only loop (tuple unpacking is the cheapest way
    # Python has to read several fields): per category (floor, upper, may_clamp, criteria); per
    # criterion (id, base, floor, upper, uncapped rules, capped rules, vetoes, may_clamp).
    flat: Flat


class Trail(NamedTuple):
    """What scoring one record found: every score, and (with the audit on) every step.

    A named tuple, not a frozen dataclass: one is built per record, and a tuple is built in one
    step where a frozen dataclass sets each field through object.__setattr__."""

    scores: tuple[Decimal, ...]  # per criterion, in rubric order
    steps: tuple[tuple[Step, ...], ...] | None  # per criterion; None when the audit was off
    subtotals: tuple[Decimal, ...]  # per category
    clamps: tuple[Step | None, ...]  # per category
    total_clamp: Step | None


def rule_id(criterion: Criterion, index: int) -> str:
    """The id of a criterion's rule: its own, else ``<criterion>.r<n>`` (1-based)."""
    declared = criterion.clauses()[index].id
    return declared if declared is not None else f"{criterion.id}.r{index + 1}"


def compile_criterion(criterion: Criterion) -> CompiledCriterion:
    """Compile a validated criterion whose cross-references have been checked."""
    rules = tuple(
        CompiledRule(
            id=rule_id(criterion, index),
            kind=rule.kind,
            clause=rule.clause,
            reads=tuple(sorted(rule.reads())),
            apply=rule.compile(criterion.evidence),
            cap=rule.rule_cap,
        )
        for index, rule in enumerate(criterion.clauses())
    )
    vetoing = {index for index, rule in enumerate(criterion.clauses()) if rule.vetoes}
    return CompiledCriterion(
        id=criterion.id,
        number=criterion.number,
        points=criterion.points,
        base=criterion.base,
        floor=criterion.floor,
        upper=criterion.upper,
        start=criterion.start,
        rules=rules,
        ops=tuple((i, r.apply, r.cap) for i, r in enumerate(rules) if i not in vetoing),
        vetoes=tuple((i, r.apply) for i, r in enumerate(rules) if i in vetoing),
    )


def compile_category(category: Category) -> CompiledCategory:
    """Compile a category."""
    return CompiledCategory(
        id=category.id,
        name=category.name,
        maximum=category.maximum,
        floor=category.floor,
        upper=category.upper,
        criteria=tuple(compile_criterion(c) for c in category.criteria),
    )


def compile_rubric(doc: RubricDoc) -> Plan:
    """Compile a checked rubric."""
    categories = tuple(compile_category(c) for c in doc.categories)
    flat = []
    for cat, source in zip(categories, doc.categories, strict=True):
        criteria = tuple(_flat_criterion(c, s) for c, s in zip(cat.criteria, source.criteria, strict=True))
        # Criteria are clamped first, so a category can leave its bounds only if its own bounds
        # are tighter than the sum of its criteria's. A veto comes after the clamp and gives 0,
        # so a criterion scores within [min(floor, 0), max(cap, 0)]: a negative cap is not a bound.
        low = sum((min(c.floor, ZERO) for c in cat.criteria), ZERO)
        high = sum((max(c.upper, ZERO) for c in cat.criteria), ZERO)
        flat.append((cat.floor, cat.upper, low < cat.floor or high > cat.upper, criteria))
    return Plan(doc.id, categories, doc.floor, doc.upper, tuple(flat))


def _flat_criterion(c: CompiledCriterion, source: Criterion) -> FlatCriterion:
    low, high = c.base, c.base
    for rule in source.clauses():
        lo, hi = rule.bounds(source.evidence)
        cap = rule.rule_cap
        low += lo if cap is None else max(lo, -cap)
        high += hi if cap is None else min(hi, cap)
    plain = tuple(apply for _, apply, cap in c.ops if cap is None)
    capped = tuple((apply, cap) for _, apply, cap in c.ops if cap is not None)
    return (
        c.id,
        c.base,
        c.floor,
        c.upper,
        plain,
        capped,
        tuple(a for _, a in c.vetoes),
        low < c.floor or high > c.upper,
    )


def _clamp(score: Decimal, floor: Decimal, upper: Decimal) -> tuple[Decimal, Step | None]:
    if score < floor:
        return floor, (FLOOR, floor - score, floor - score)
    if score > upper:
        return upper, (CAP, upper - score, score - upper)
    return score, None


def evaluate_totals(plan: Plan, facts: Mapping[str, Mapping[str, Any]]) -> tuple[Decimal, Trail]:  # noqa: PLR0912
    """Score validated facts without recording steps: the same phases as ``evaluate``, kept as a
    separate loop because this is the hot path of batch work and every test in it costs."""
    scores: list[Decimal] = []
    subtotals: list[Decimal] = []
    clamps: list[Step | None] = []
    running = ZERO
    for cat_floor, cat_upper, cat_may_clamp, criteria in plan.flat:
        subtotal = ZERO
        for cid, base, floor, upper, plain, capped, vetoes, may_clamp in criteria:
            f = facts[cid]
            score = base
            for apply in plain:
                raw = apply(f)
                if raw is not None:
                    score += raw
            for apply, cap in capped:
                raw = apply(f)
                if raw is not None:
                    score += cap if raw > cap else -cap if raw < -cap else raw
            if may_clamp:
                if score < floor:
                    score = floor
                elif score > upper:
                    score = upper
            for veto in vetoes:
                if veto(f) is not None:
                    score = ZERO
                    break
            scores.append(score)
            subtotal += score
        if cat_may_clamp and not cat_floor <= subtotal <= cat_upper:
            subtotal, clamp = _clamp(subtotal, cat_floor, cat_upper)
            clamps.append(clamp)
        else:
            clamps.append(None)
        subtotals.append(subtotal)
        running += subtotal
    total, total_clamp = _clamp(running, plan.floor, plan.upper)
    return total, Trail(tuple(scores), None, tuple(subtotals), tuple(clamps), total_clamp)


def evaluate(plan: Plan, facts: Mapping[str, Mapping[str, Any]], audit: bool) -> tuple[Decimal, Trail]:
    """Score validated facts: the total and the trail of how it was reached."""
    if not audit:
        return evaluate_totals(plan, facts)
    scores: list[Decimal] = []
    all_steps: list[tuple[Step, ...]] = []
    subtotals: list[Decimal] = []
    clamps: list[Step | None] = []
    running = ZERO
    for category in plan.categories:
        subtotal = ZERO
        for c in category.criteria:
            f = facts[c.id]
            score = c.base
            steps: list[Step] = []
            for position, apply, cap in c.ops:
                raw = apply(f)
                if raw is None:
                    continue
                points = raw if cap is None or -cap <= raw <= cap else cap if raw > 0 else -cap
                steps.append((position, points, abs(raw - points)))
                score += points
            score, step = _clamp(score, c.floor, c.upper)
            if step is not None:
                steps.append(step)
            for position, veto in c.vetoes:
                if veto(f) is not None:
                    steps.append((position, -score, abs(score)))
                    score = ZERO
                    break
            scores.append(score)
            all_steps.append(tuple(steps))
            subtotal += score
        subtotal, clamp = _clamp(subtotal, category.floor, category.upper)
        subtotals.append(subtotal)
        clamps.append(clamp)
        running += subtotal
    total, total_clamp = _clamp(running, plan.floor, plan.upper)
    return total, Trail(tuple(scores), tuple(all_steps), tuple(subtotals), tuple(clamps), total_clamp)


def _entries(
    c: CompiledCriterion, steps: tuple[Step, ...], facts: Mapping[str, Any]
) -> tuple[AuditEntry, ...]:
    out = [AuditEntry(c.id, "start", "start", START_CLAUSES[c.start], c.base)]
    for code, points, discarded in steps:
        if code < 0:
            bound = c.floor if code == FLOOR else c.upper
            kind = "floor" if code == FLOOR else "cap"
            out.append(AuditEntry(c.id, kind, kind, f"{kind} {text(bound)}", points, discarded))
        else:
            rule = c.rules[code]
            inputs = tuple((name, facts[name]) for name in rule.reads)
            out.append(AuditEntry(c.id, rule.id, rule.kind, rule.clause, points, discarded, inputs))
    return tuple(out)


def _owner_clamp(owner: str, step: Step | None, floor: Decimal, upper: Decimal) -> tuple[AuditEntry, ...]:
    if step is None:
        return ()
    kind, bound = ("floor", floor) if step[0] == FLOOR else ("cap", upper)
    return (AuditEntry(owner, kind, kind, f"{kind} {text(bound)}", step[1], step[2]),)


def materialize(
    plan: Plan, canonical: Mapping[str, Mapping[str, Any]], trail: Trail
) -> tuple[tuple[CategoryScore, ...], tuple[AuditEntry, ...]]:
    """The public view of a trail: category and criterion scores with their audit entries."""
    categories = []
    index = 0
    for position, category in enumerate(plan.categories):
        criteria = []
        for c in category.criteria:
            steps = () if trail.steps is None else _entries(c, trail.steps[index], canonical[c.id])
            criteria.append(CriterionScore(c.id, c.number, trail.scores[index], c.points, steps))
            index += 1
        adjustments = (
            ()
            if trail.steps is None
            else _owner_clamp(category.id, trail.clamps[position], category.floor, category.upper)
        )
        categories.append(
            CategoryScore(
                category.id,
                category.name,
                trail.subtotals[position],
                category.maximum,
                tuple(criteria),
                adjustments,
            )
        )
    total = () if trail.steps is None else _owner_clamp(plan.id, trail.total_clamp, plan.floor, plan.upper)
    return tuple(categories), total


def outline(plan: Plan, trail: Trail) -> dict[str, Any]:
    """The compact summary of a trail (subtotals, criterion scores, the clauses that cost points),
    built straight from the steps: batch output needs no audit objects."""
    criteria: dict[str, str] = {}
    costly: list[tuple[Decimal, str, str, str]] = []
    short: list[dict[str, Any]] = []
    index = 0
    for category in plan.categories:
        for c in category.criteria:
            criteria[c.id] = text(trail.scores[index])
            if trail.steps is not None:
                for code, points, _ in trail.steps[index]:
                    if code >= 0 and points < 0:
                        rule = c.rules[code]
                        costly.append((points, rule.id, c.id, rule.clause))
                moves = [("start", "start", "", c.base)]
                for code, points, _ in trail.steps[index]:
                    rule_kind = ("floor" if code == FLOOR else "cap") if code < 0 else c.rules[code].kind
                    words = "" if code < 0 else c.rules[code].clause
                    moves.append((rule_kind, "" if code < 0 else c.rules[code].id, words, points))
                missing = shortfall(c.id, c.points, moves)
                if missing is not None:
                    short.append(missing)
            index += 1
    costly.sort(key=lambda item: (item[0], item[1]))
    return {
        "categories": [
            {"id": cat.id, "name": cat.name, "score": text(sub), "max": text(cat.maximum)}
            for cat, sub in zip(plan.categories, trail.subtotals, strict=True)
        ],
        "criteria": criteria,
        "reasons": [
            {"criterion": cid, "rule": rid, "clause": clause, "points": text(points)}
            for points, rid, cid, clause in costly
        ],
        "shortfalls": sorted(short, key=lambda s: (Decimal(s["points"]), s["rule"])),
    }


def clamp_total(
    owner: str, score: Decimal, floor: Decimal, upper: Decimal, audit: bool
) -> tuple[Decimal, tuple[AuditEntry, ...]]:
    """Clamp a total into [floor, upper], with the audit entry of any clamp (for composites)."""
    clamped, step = _clamp(score, floor, upper)
    if step is None or not audit:
        return clamped, ()
    return clamped, _owner_clamp(owner, step, floor, upper)


def grade_of(grades: tuple[tuple[str, Decimal], ...], total: Decimal) -> str | None:
    """The first band whose minimum the total reaches."""
    for name, minimum in grades:
        if total >= minimum:
            return name
    return None
