"""The evaluator: a rubric compiled once into a plan, and the per-record scoring of that plan.

Phases (docs/format.md): a criterion starts → rules (each within its own cap) → clamp into
[floor, cap] → veto. A category is the sum of its children (criteria, or categories one level
down) clamped into its own [floor, cap], then its vetoes (单项否决) fix the subtotal. The base is
the sum of the top categories clamped into the rubric's [floor, cap]; the bonus and penalty
sections are categories too, outside the declared total; the total is base + bonus + penalty, not
below the rubric's floor; last, a table-wide veto (一票否决) may fix the total and the grade.

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
from ._conditions import BASE, TOTAL, Predicate, compile_condition, score_key, scores_read
from ._conditions import reads as condition_reads
from ._model import Category, Criterion, RubricDoc
from ._numbers import ZERO, text
from ._result import AuditEntry, CategoryScore, CriterionScore, shortfall

START_CLAUSES = {"full": "start at full marks", "zero": "start at 0"}
FLOOR, CAP, VETO = -1, -2, -3  # step codes of a clamp or a group veto; rules are numbered from 0
OWN = ""  # the key of the rubric's own facts among a record's facts
Step = tuple[int, Decimal, Decimal]  # (rule position, FLOOR/CAP or VETO-i, points applied, discarded)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with everything that does not depend on the record worked out."""

    id: str
    kind: str
    clause: str
    reads: tuple[str, ...]  # sorted, as JSON writes them
    apply: Apply
    cap: Decimal | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    """A criterion ready to score records."""

    id: str
    number: int | str
    position: int  # in document order among all criteria
    points: Decimal
    base: Decimal
    floor: Decimal
    upper: Decimal
    start: str
    section: str  # "" for the base, else "bonus" or "penalty"
    rules: tuple[CompiledRule, ...]  # in file order, vetoes included
    ops: tuple[tuple[int, Apply, Decimal | None], ...]  # the non-veto rules: (position, apply, cap)
    vetoes: tuple[tuple[int, Apply], ...]
    plain: tuple[Apply, ...]  # for the totals-only loop: uncapped rules,
    capped: tuple[tuple[Apply, Decimal], ...]  # capped rules,
    may_clamp: bool  # and whether the clamp can ever bind


@dataclass(frozen=True, slots=True)
class CompiledVeto:
    """A veto on a category or on the whole table, read from the rubric's own facts."""

    id: str
    clause: str
    reads: tuple[str, ...]
    holds: Predicate
    score: Decimal | None
    grade: str | None
    needs: tuple[str, ...] = ()  # the computed scores its condition reads (worked out first)


@dataclass(frozen=True, slots=True)
class CompiledCategory:
    """A category (or section) ready to score records: criteria, or categories one level down."""

    id: str
    name: str
    index: int  # position among all groups, parents first
    maximum: Decimal
    floor: Decimal
    upper: Decimal
    criteria: tuple[CompiledCriterion, ...]
    categories: tuple[CompiledCategory, ...]
    vetoes: tuple[CompiledVeto, ...]
    may_clamp: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole rubric ready to score records."""

    id: str
    categories: tuple[CompiledCategory, ...]
    bonus: CompiledCategory | None
    penalty: CompiledCategory | None
    groups: tuple[CompiledCategory, ...]  # every category and section, parents first
    criteria: tuple[CompiledCriterion, ...]  # every criterion, in document order
    floor: Decimal
    upper: Decimal
    vetoes: tuple[CompiledVeto, ...]
    named: Mapping[str, CompiledCriterion | CompiledCategory]  # for vetoes that read scores


class Trail(NamedTuple):
    """What scoring one record found: every score, and (with the audit on) every step.

    A named tuple, not a frozen dataclass: one is built per record, and a tuple is built in one
    step where a frozen dataclass sets each field through object.__setattr__."""

    scores: tuple[Decimal, ...]  # per criterion, in document order
    steps: tuple[tuple[Step, ...], ...] | None  # per criterion; None when the audit was off
    subtotals: tuple[Decimal, ...]  # per group, parents first
    clamps: tuple[tuple[Step, ...], ...]  # per group: its clamp, then its veto, if any
    base: Decimal
    bonus: Decimal
    penalty: Decimal
    total_clamp: Step | None  # the base's clamp
    floor_step: Step | None  # the total's floor, under a penalty
    veto: int | None  # the table-wide veto that fixed the total or grade


def rule_id(criterion: Criterion, index: int) -> str:
    """The id of a criterion's rule: its own, else ``<criterion>.r<n>`` (1-based)."""
    declared = criterion.clauses()[index].id
    return declared if declared is not None else f"{criterion.id}.r{index + 1}"


def compile_criterion(criterion: Criterion, section: str = "", position: int = 0) -> CompiledCriterion:
    """Compile a validated criterion whose cross-references have been checked."""
    rules = tuple(
        CompiledRule(
            id=rule_id(criterion, index),
            kind=rule.kind,
            clause=rule.clause,
            reads=tuple(sorted(rule.reads())),
            apply=rule.compile(criterion.evidence),
            cap=rule.rule_cap,
            note=rule.note or "",
        )
        for index, rule in enumerate(criterion.clauses())
    )
    vetoing = {index for index, rule in enumerate(criterion.clauses()) if rule.vetoes}
    ops = tuple((i, r.apply, r.cap) for i, r in enumerate(rules) if i not in vetoing)
    low, high = criterion.base, criterion.base
    for rule in criterion.clauses():
        lo, hi = rule.bounds(criterion.evidence)
        cap = rule.rule_cap
        low += lo if cap is None else max(lo, -cap)
        high += hi if cap is None else min(hi, cap)
    return CompiledCriterion(
        id=criterion.id,
        number=criterion.number,
        position=position,
        points=criterion.maximum,
        base=criterion.base,
        floor=criterion.lower,
        upper=criterion.upper,
        start=criterion.start,
        section=section,
        rules=rules,
        ops=ops,
        vetoes=tuple((i, r.apply) for i, r in enumerate(rules) if i in vetoing),
        plain=tuple(apply for _, apply, cap in ops if cap is None),
        capped=tuple((apply, cap) for _, apply, cap in ops if cap is not None),
        may_clamp=low < criterion.lower or high > criterion.upper,
    )


def _veto(owner: str, index: int, veto: Any, own: Mapping[str, Any]) -> CompiledVeto:
    return CompiledVeto(
        id=f"{owner}.veto{index + 1}",
        clause=veto.clause,
        reads=tuple(sorted(dict.fromkeys(condition_reads(veto.condition)))),
        holds=compile_condition(veto.condition, own),
        score=veto.score,
        grade=getattr(veto, "grade", None),
        needs=tuple(dict.fromkeys(scores_read(veto.condition))),
    )


def _reach(node: CompiledCategory | CompiledCriterion) -> tuple[Decimal, Decimal]:
    """Bounds on what a node can contribute after its own clamp and veto (a veto gives 0 or its
    score), used only to skip clamps that can never bind."""
    if isinstance(node, CompiledCriterion):
        return min(node.floor, ZERO), max(node.upper, ZERO)
    fixed = [v.score if v.score is not None else ZERO for v in node.vetoes]
    return min(node.floor, *fixed, ZERO), max(node.upper, *fixed, ZERO)


def compile_category(
    category: Category,
    own: Mapping[str, Any],
    section: str,
    groups: list[CompiledCategory | None],
    criteria_seen: list[CompiledCriterion],
) -> CompiledCategory:
    """Compile a category and everything below it, registering each group in ``groups`` and each
    criterion in ``criteria_seen`` (depth first: document order)."""
    index = len(groups)
    groups.append(None)  # parents first: this slot is filled once the children are compiled
    criteria: list[CompiledCriterion] = []
    for c in category.criteria:
        criteria_seen.append(compile_criterion(c, section, len(criteria_seen)))
        criteria.append(criteria_seen[-1])
    categories = tuple(compile_category(c, own, section, groups, criteria_seen) for c in category.categories)
    children: tuple[CompiledCategory | CompiledCriterion, ...] = tuple(criteria) or categories
    low = sum((_reach(c)[0] for c in children), ZERO)
    high = sum((_reach(c)[1] for c in children), ZERO)
    compiled = CompiledCategory(
        id=category.id,
        name=category.name,
        index=index,
        maximum=category.maximum,
        floor=category.lower,
        upper=category.upper,
        criteria=tuple(criteria),
        categories=categories,
        vetoes=tuple(_veto(category.id, i, v, own) for i, v in enumerate(category.vetoes)),
        may_clamp=low < category.lower or high > category.upper,
    )
    groups[index] = compiled
    return compiled


def compile_rubric(doc: RubricDoc) -> Plan:
    """Compile a checked rubric."""
    own = doc.evidence
    groups: list[CompiledCategory | None] = []
    criteria: list[CompiledCriterion] = []
    categories = tuple(compile_category(c, own, "", groups, criteria) for c in doc.categories)
    sections = {key: compile_category(s, own, key, groups, criteria) for key, s in doc.sections()}
    done = tuple(g for g in groups if g is not None)
    named: dict[str, CompiledCriterion | CompiledCategory] = {c.id: c for c in criteria}
    named.update({g.id: g for g in done})
    return Plan(
        id=doc.id,
        categories=categories,
        bonus=sections.get("bonus"),
        penalty=sections.get("penalty"),
        groups=done,
        criteria=tuple(criteria),
        floor=doc.floor,
        upper=doc.upper,
        vetoes=tuple(_veto(doc.id, i, v, own) for i, v in enumerate(doc.vetoes)),
        named=named,
    )


def _clamp(score: Decimal, floor: Decimal, upper: Decimal) -> tuple[Decimal, Step | None]:
    if score < floor:
        return floor, (FLOOR, floor - score, floor - score)
    if score > upper:
        return upper, (CAP, upper - score, score - upper)
    return score, None


class _Run:
    """One record's scoring: the facts, and what has been found so far."""

    __slots__ = (
        "audit",
        "base",
        "clamps",
        "done",
        "facts",
        "own",
        "plan",
        "scores",
        "steps",
        "subtotals",
        "total",
    )

    def __init__(self, plan: Plan, facts: Mapping[str, Mapping[str, Any]], audit: bool) -> None:
        self.plan = plan
        self.facts = facts
        self.own = facts.get(OWN, {})
        self.audit = audit
        # Scores are kept by position: a veto that reads a score has it worked out first (on
        # demand), and the walk in document order then finds it done.
        self.scores: list[Decimal | None] = [None] * len(plan.criteria)
        self.steps: list[tuple[Step, ...]] = [()] * len(plan.criteria)
        self.subtotals: list[Decimal] = [ZERO] * len(plan.groups)
        self.clamps: list[tuple[Step, ...]] = [()] * len(plan.groups)
        self.done: list[bool] = [False] * len(plan.groups)
        self.base: tuple[Decimal, Step | None] | None = None
        self.total: Decimal | None = None

    def criterion(self, c: CompiledCriterion) -> Decimal:
        score = self.scores[c.position]
        if score is None:
            score = self._audited(c) if self.audit else self._quick(c)
            self.scores[c.position] = score
        return score

    def value(self, name: str) -> Decimal:
        """A computed score a veto reads (the checks at load rule out cycles)."""
        if name == BASE:
            return self.base_score()[0]
        if name == TOTAL:
            assert self.total is not None  # only the table's vetoes read it, after the total
            return self.total
        node = self.plan.named[name]
        return self.criterion(node) if isinstance(node, CompiledCriterion) else self.category(node)

    def facts_of(self, veto: CompiledVeto) -> Mapping[str, Any]:
        """The rubric's own facts, with the scores this veto reads."""
        if not veto.needs:
            return self.own
        return {**self.own, **{score_key(name): self.value(name) for name in veto.needs}}

    def base_score(self) -> tuple[Decimal, Step | None]:
        """The base (the top categories' sum, clamped), worked out once."""
        if self.base is None:
            running = ZERO
            for category in self.plan.categories:
                running += self.category(category)
            self.base = _clamp(running, self.plan.floor, self.plan.upper)
        return self.base

    def _quick(self, c: CompiledCriterion) -> Decimal:
        """The totals-only hot path: the same phases, no steps recorded."""
        f = self.facts[c.id]
        score = c.base
        for apply in c.plain:
            raw = apply(f)
            if raw is not None:
                score += raw
        for apply, cap in c.capped:
            raw = apply(f)
            if raw is not None:
                score += cap if raw > cap else -cap if raw < -cap else raw
        if c.may_clamp:
            if score < c.floor:
                score = c.floor
            elif score > c.upper:
                score = c.upper
        for _, veto in c.vetoes:
            if veto(f) is not None:
                return ZERO
        return score

    def _audited(self, c: CompiledCriterion) -> Decimal:
        f = self.facts[c.id]
        score = c.base
        steps: list[Step] = []
        for position, apply, limit in c.ops:
            raw = apply(f)
            if raw is None:
                continue
            points = raw if limit is None or -limit <= raw <= limit else limit if raw > 0 else -limit
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
        self.steps[c.position] = tuple(steps)
        return score

    def category(self, g: CompiledCategory) -> Decimal:
        if self.done[g.index]:
            return self.subtotals[g.index]
        subtotal = ZERO
        for c in g.criteria:
            subtotal += self.criterion(c)
        for sub in g.categories:
            subtotal += self.category(sub)
        steps: tuple[Step, ...] = ()
        if g.may_clamp:
            subtotal, step = _clamp(subtotal, g.floor, g.upper)
            steps = () if step is None else (step,)
        for i, veto in enumerate(g.vetoes):
            if veto.holds(self.facts_of(veto)):
                fixed = ZERO if veto.score is None else veto.score
                steps += ((VETO - i, fixed - subtotal, abs(fixed - subtotal)),)
                subtotal = fixed
                break
        self.subtotals[g.index] = subtotal
        self.clamps[g.index] = steps
        self.done[g.index] = True
        return subtotal


def evaluate(plan: Plan, facts: Mapping[str, Mapping[str, Any]], audit: bool) -> tuple[Decimal, Trail]:
    """Score validated facts: the total and the trail of how it was reached."""
    run = _Run(plan, facts, audit)
    base, total_clamp = run.base_score()
    bonus = ZERO if plan.bonus is None else run.category(plan.bonus)
    penalty = ZERO if plan.penalty is None else run.category(plan.penalty)
    total, floor_step = base + bonus + penalty, None
    if total < plan.floor:
        floor_step = (FLOOR, plan.floor - total, plan.floor - total)
        total = plan.floor
    run.total = total
    veto = next((i for i, v in enumerate(plan.vetoes) if v.holds(run.facts_of(v))), None)
    fixed = None if veto is None else plan.vetoes[veto].score
    if fixed is not None:
        total = fixed
    return total, Trail(
        scores=tuple(run.scores),  # type: ignore[arg-type]  # every criterion was scored by now
        steps=tuple(run.steps) if audit else None,
        subtotals=tuple(run.subtotals),
        clamps=tuple(run.clamps),
        base=base,
        bonus=bonus,
        penalty=penalty,
        total_clamp=total_clamp,
        floor_step=floor_step,
        veto=veto,
    )


def evaluate_totals(plan: Plan, facts: Mapping[str, Mapping[str, Any]]) -> tuple[Decimal, Trail]:
    """Score validated facts without recording steps (the same phases as ``evaluate``)."""
    return evaluate(plan, facts, False)


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
            out.append(
                AuditEntry(c.id, rule.id, rule.kind, rule.clause, points, discarded, inputs, rule.note)
            )
    return tuple(out)


def scores_of(plan: Plan, trail: Trail, names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The computed scores a veto read, as audit inputs (``score <name>``: the score as text)."""
    out = []
    for name in names:
        if name == BASE:
            value = trail.base
        elif name == TOTAL:
            value = trail.base + trail.bonus + trail.penalty
            value += ZERO if trail.floor_step is None else trail.floor_step[1]
        else:
            node = plan.named[name]
            if isinstance(node, CompiledCriterion):
                value = trail.scores[node.position]
            else:
                value = trail.subtotals[node.index]
        out.append((score_key(name), text(value)))
    return tuple(out)


def _veto_entry(
    owner: str, veto: CompiledVeto, points: Decimal, own: Mapping[str, Any], read: tuple[tuple[str, str], ...]
) -> AuditEntry:
    inputs = tuple((name, own[name]) for name in veto.reads) + read
    return AuditEntry(owner, veto.id, "veto", veto.clause, points, abs(points), inputs)


def _group_adjustments(
    plan: Plan, trail: Trail, g: CompiledCategory, own: Mapping[str, Any]
) -> tuple[AuditEntry, ...]:
    out: tuple[AuditEntry, ...] = ()
    for step in trail.clamps[g.index]:
        if step[0] <= VETO:
            veto = g.vetoes[VETO - step[0]]
            out += (_veto_entry(g.id, veto, step[1], own, scores_of(plan, trail, veto.needs)),)
        else:
            out += _owner_clamp(g.id, step, g.floor, g.upper)
    return out


def _owner_clamp(owner: str, step: Step | None, floor: Decimal, upper: Decimal) -> tuple[AuditEntry, ...]:
    if step is None:
        return ()
    kind, bound = ("floor", floor) if step[0] == FLOOR else ("cap", upper)
    return (AuditEntry(owner, kind, kind, f"{kind} {text(bound)}", step[1], step[2]),)


def materialize(
    plan: Plan, canonical: Mapping[str, Any], trail: Trail
) -> tuple[tuple[CategoryScore, ...], tuple[AuditEntry, ...], tuple[CategoryScore, ...]]:
    """The public view of a trail: category (and section) scores with their criteria and audit
    entries, and the adjustments of the total."""
    position = {c.id: i for i, c in enumerate(plan.criteria)}
    own = canonical  # the rubric's own facts sit at the top of a canonical record

    def criterion(c: CompiledCriterion) -> CriterionScore:
        i = position[c.id]
        steps = () if trail.steps is None else _entries(c, trail.steps[i], canonical[c.id])
        return CriterionScore(c.id, c.number, trail.scores[i], c.points, steps)

    def category(g: CompiledCategory) -> CategoryScore:
        adjustments = () if trail.steps is None else _group_adjustments(plan, trail, g, own)
        return CategoryScore(
            g.id,
            g.name,
            trail.subtotals[g.index],
            g.maximum,
            tuple(criterion(c) for c in g.criteria),
            adjustments,
            tuple(category(sub) for sub in g.categories),
        )

    categories = tuple(category(g) for g in plan.categories)
    sections = tuple(category(s) for s in (plan.bonus, plan.penalty) if s is not None)
    total: tuple[AuditEntry, ...] = ()
    if trail.steps is not None:
        total = _owner_clamp(plan.id, trail.total_clamp, plan.floor, plan.upper)
        total += _owner_clamp(plan.id, trail.floor_step, plan.floor, plan.upper)
        if trail.veto is not None:
            veto = plan.vetoes[trail.veto]
            before = trail.base + trail.bonus + trail.penalty
            if trail.floor_step is not None:
                before += trail.floor_step[1]
            moved = ZERO if veto.score is None else veto.score - before
            total += (_veto_entry(plan.id, veto, moved, own, scores_of(plan, trail, veto.needs)),)
    return categories, total, sections


def outline(plan: Plan, trail: Trail) -> dict[str, Any]:
    """The compact summary of a trail (subtotals, criterion scores, the clauses that cost points),
    built straight from the steps: batch output needs no audit objects."""
    criteria: dict[str, str] = {}
    costly: list[tuple[Decimal, str, str, str]] = []
    short: list[dict[str, Any]] = []
    for index, c in enumerate(plan.criteria):
        criteria[c.id] = text(trail.scores[index])
        if trail.steps is None:
            continue
        for code, points, _ in trail.steps[index]:
            if code >= 0 and points < 0:
                rule = c.rules[code]
                costly.append((points, rule.id, c.id, rule.clause))
        if c.section:  # a bonus not earned is no loss; a penalty item's most is 0
            continue
        moves = [("start", "start", "", c.base)]
        for code, points, _ in trail.steps[index]:
            rule_kind = ("floor" if code == FLOOR else "cap") if code < 0 else c.rules[code].kind
            words = "" if code < 0 else c.rules[code].clause
            moves.append((rule_kind, "" if code < 0 else c.rules[code].id, words, points))
        missing = shortfall(c.id, c.points, moves)
        if missing is not None:
            short.append(missing)
    costly.sort(key=lambda item: (item[0], item[1]))
    out: dict[str, Any] = {
        "categories": [
            {"id": g.id, "name": g.name, "score": text(trail.subtotals[g.index]), "max": text(g.maximum)}
            for g in plan.groups
        ],
        "criteria": criteria,
        "reasons": [
            {"criterion": cid, "rule": rid, "clause": clause, "points": text(points)}
            for points, rid, cid, clause in costly
        ],
        "shortfalls": sorted(short, key=lambda s: (Decimal(s["points"]), s["rule"])),
    }
    if plan.bonus is not None or plan.penalty is not None or plan.vetoes:
        out["base"] = text(trail.base)
        out["bonus"] = text(trail.bonus)
        out["penalty"] = text(trail.penalty)
    if trail.veto is not None:
        out["veto"] = plan.vetoes[trail.veto].clause
    return out


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
