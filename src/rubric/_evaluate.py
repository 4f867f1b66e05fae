"""The evaluator: a rubric compiled once into a plan, and the per-record scoring of that plan.

Phases for a criterion, in this order (docs/format.md): start → rules (each within its own cap)
→ clamp into [floor, cap] → veto. A category is the sum of its criteria clamped into its own
[floor, cap]; the total is the sum of the categories clamped into the rubric's. Every phase that
moves points leaves an AuditEntry, so the entries of a criterion add up exactly to its score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._clauses import Apply
from ._model import Category, Criterion, RubricDoc
from ._numbers import ZERO, text
from ._result import AuditEntry, CategoryScore, CriterionScore

START_CLAUSES = {"full": "start at full marks", "zero": "start at 0"}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with everything that does not depend on the record worked out."""

    id: str
    kind: str
    clause: str
    reads: tuple[str, ...]
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
    rules: tuple[CompiledRule, ...]
    vetoes: tuple[CompiledRule, ...]


@dataclass(frozen=True, slots=True)
class CompiledCategory:
    """A category ready to score records."""

    id: str
    name: str
    maximum: Decimal
    floor: Decimal
    upper: Decimal
    criteria: tuple[CompiledCriterion, ...]


def rule_id(criterion: Criterion, index: int) -> str:
    """The id of a criterion's rule: its own, else ``<criterion>.r<n>`` (1-based)."""
    declared = criterion.clauses()[index].id
    return declared if declared is not None else f"{criterion.id}.r{index + 1}"


def compile_criterion(criterion: Criterion) -> CompiledCriterion:
    """Compile a validated criterion whose cross-references have been checked."""
    rules: list[CompiledRule] = []
    vetoes: list[CompiledRule] = []
    for index, rule in enumerate(criterion.clauses()):
        compiled = CompiledRule(
            id=rule_id(criterion, index),
            kind=rule.kind,
            clause=rule.clause,
            reads=rule.reads(),
            apply=rule.compile(criterion.evidence),
            cap=rule.rule_cap,
        )
        (vetoes if rule.vetoes else rules).append(compiled)
    return CompiledCriterion(
        id=criterion.id,
        number=criterion.number,
        points=criterion.points,
        base=criterion.base,
        floor=criterion.floor,
        upper=criterion.upper,
        start=criterion.start,
        rules=tuple(rules),
        vetoes=tuple(vetoes),
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


def compile_rubric(doc: RubricDoc) -> tuple[CompiledCategory, ...]:
    """Compile every category of a checked rubric."""
    return tuple(compile_category(c) for c in doc.categories)


def _inputs(rule: CompiledRule, facts: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, facts[name]) for name in rule.reads)


def _capped(raw: Decimal, cap: Decimal | None) -> Decimal:
    if cap is None:
        return raw
    return cap if raw > cap else -cap if raw < -cap else raw


def score_criterion(c: CompiledCriterion, facts: Mapping[str, Any], audit: bool) -> CriterionScore:
    """Score one criterion against its validated facts."""
    score = c.base
    entries: list[AuditEntry] = []
    if audit:
        entries.append(AuditEntry(c.id, "start", "start", START_CLAUSES[c.start], c.base))
    for rule in c.rules:
        raw = rule.apply(facts)
        if raw is None:
            continue
        points = _capped(raw, rule.cap)
        score += points
        if audit:
            entries.append(
                AuditEntry(
                    c.id,
                    rule.id,
                    rule.kind,
                    rule.clause,
                    points,
                    abs(raw - points),
                    _inputs(rule, facts),
                )
            )
    clamped = c.floor if score < c.floor else c.upper if score > c.upper else score
    if clamped != score:
        if audit:
            kind = "floor" if clamped > score else "cap"
            entries.append(
                AuditEntry(
                    c.id,
                    kind,
                    kind,
                    f"{kind} {text(clamped)}",
                    clamped - score,
                    abs(clamped - score),
                )
            )
        score = clamped
    for veto in c.vetoes:
        if veto.apply(facts) is not None:
            if audit:
                entries.append(
                    AuditEntry(
                        c.id,
                        veto.id,
                        veto.kind,
                        veto.clause,
                        -score,
                        abs(score),
                        _inputs(veto, facts),
                    )
                )
            score = ZERO
            break
    return CriterionScore(c.id, c.number, score, c.points, tuple(entries))


def clamp_total(
    owner: str, score: Decimal, floor: Decimal, upper: Decimal, audit: bool
) -> tuple[Decimal, tuple[AuditEntry, ...]]:
    """Clamp a subtotal or total into [floor, upper], with the audit entry of any clamp."""
    clamped = floor if score < floor else upper if score > upper else score
    if clamped == score:
        return score, ()
    kind = "floor" if clamped > score else "cap"
    entry = AuditEntry(owner, kind, kind, f"{kind} {text(clamped)}", clamped - score, abs(clamped - score))
    return clamped, ((entry,) if audit else ())


def score_categories(
    plan: tuple[CompiledCategory, ...], facts: Mapping[str, Mapping[str, Any]], audit: bool
) -> tuple[tuple[CategoryScore, ...], Decimal]:
    """Score every category; return them and the unclamped sum of their subtotals."""
    out = []
    running = ZERO
    for cat in plan:
        scores = tuple(score_criterion(c, facts[c.id], audit) for c in cat.criteria)
        subtotal = sum((s.score for s in scores), ZERO)
        subtotal, adjustments = clamp_total(cat.id, subtotal, cat.floor, cat.upper, audit)
        out.append(CategoryScore(cat.id, cat.name, subtotal, cat.maximum, scores, adjustments))
        running += subtotal
    return tuple(out), running


def grade_of(grades: tuple[tuple[str, Decimal], ...], total: Decimal) -> str | None:
    """The first band whose minimum the total reaches."""
    for name, minimum in grades:
        if total >= minimum:
            return name
    return None
