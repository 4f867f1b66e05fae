"""Static checks built on the reachable ranges (``_ranges``), and partial scores.

Findings are generated lazily and limited: at most ``PER_CODE`` of one code about one criterion
(category, rubric) and ``MAX_FINDINGS`` per rubric, the rest counted in a ``more-findings``
summary that carries the worst severity it stands for, so output and memory stay proportional to
the rubric and an error is never hidden from the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._clauses import INFINITY
from ._conditions import reads as condition_reads
from ._errors import Path, Problem
from ._evaluate import rule_id
from ._evidence import evidence_error
from ._loading import weights_path
from ._model import Category, Criterion, Note, RubricDoc
from ._numbers import ZERO, exact, text
from ._ranges import (
    BUDGET,
    CriterionAnalysis,
    Range,
    RubricRanges,
    aggregate,
    criterion_range,
    raw_high,
    rubric_ranges,
    shadowed,
)
from ._rubric import Composite, Rubric

__all__ = [
    "BUDGET",
    "OpenFact",
    "PartialScore",
    "Range",
    "RubricRanges",
    "check",
    "criterion_range",
    "partial_score",
    "rubric_ranges",
]

PER_CODE = 20
MAX_FINDINGS = 1000
_RANK = {"error": 0, "warning": 1, "note": 2}


def _criterion_paths(doc: RubricDoc) -> Iterator[tuple[Path, Criterion]]:
    for path, node in doc.walk():
        if isinstance(node, Criterion):
            yield path, node


def _category_paths(doc: RubricDoc) -> Iterator[tuple[Path, Category]]:
    for path, node in doc.walk():
        if isinstance(node, Category):
            yield path, node


def _waiver(notes: Iterable[Note], code: str) -> Note | None:
    return next((note for note in notes if code in note.waives), None)


def _unreachable(message: str, path: Path, notes: Iterable[Note], hint: str = "") -> Problem:
    """An unreachable declared maximum: an error, unless a note on the same place waives it."""
    note = _waiver(notes, "unreachable-max")
    if note is None:
        return Problem("unreachable-max", message, path, hint=hint)
    return Problem("unreachable-max", f"{message} — waived: {note.reading}", path, severity="warning")


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


def _criterion_checks(path: Path, analysis: CriterionAnalysis, r: Range) -> Iterator[Problem]:
    c = analysis.criterion
    if c.upper > c.maximum:
        yield Problem(
            "cap-above-points",
            f"{c.id}: cap {text(c.upper)} is above the declared {text(c.maximum)} points, so the criterion "
            "can score more than its maximum",
            (*path, "cap"),
        )
    yield from _tier_checks(path, c)
    if not r.exact:
        yield Problem(
            "range",
            f"{c.id}: range {text(r.low)} to {text(r.high)} (bound): its rules share more combinations "
            f"of facts than the {BUDGET:,} evaluations the analysis tries, so this is a sound bound, "
            "not the exact range",
            (*path, "rules"),
            severity="note",
        )
    elif r.high < c.maximum and path[0] == "categories":  # a bonus item need not reach its cap
        yield _unreachable(
            f"{c.id}: declared {text(c.maximum)} points, but no evidence scores more than {text(r.high)}",
            (*path, "points"),
            c.notes,
            "compare the rules with 评分标准, or give a notes: entry with waives: [unreachable-max] "
            "that explains the reading",
        )
    if c.floor is not None and r.low > c.floor:
        yield Problem(
            "unreachable-floor",
            f"{c.id}: no evidence scores below {text(r.low)}",
            (*path, "rules"),
            severity="note",
        )
    most = raw_high(analysis)
    if most > c.upper:
        shown = "without limit" if most == INFINITY else f"to {text(most)}"
        yield Problem(
            "exceeds-cap",
            f"{c.id}: rules can add up {shown}, above the cap {text(c.upper)}; the cap discards the rest",
            (*path, "rules"),
            severity="note",
        )
    for index in shadowed(analysis):
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
    yield from _notes(c.id, c.notes, (*path, "notes"))
    for index, rule in enumerate(c.clauses()):
        if rule.note:
            yield Problem(
                "interpretation",
                f"{c.id}: rule {rule_id(c, index)} 「{rule.clause}」 — {rule.note}",
                (*path, "rules", index, "note"),
                severity="note",
            )


def _notes(owner: str, notes: Iterable[Note], path: Path) -> Iterator[Problem]:
    for note in notes:
        yield Problem("interpretation", f"{owner}: 「{note.quote}」 — {note.reading}", path, severity="note")


def _category_checks(
    path: Path, category: Category, reach: tuple[Decimal, Decimal], exact: bool
) -> Iterator[Problem]:
    declared = category.maximum if category.points is None else category.points
    if category.upper > category.maximum:
        yield Problem(
            "cap-above-points",
            f"category {category.id}: cap {text(category.upper)} is above "
            f"the sum of its criteria ({text(category.maximum)})",
            (*path, "cap"),
        )
    elif category.lower > min(category.maximum, declared):
        yield Problem(
            "floor-above-max",
            f"category {category.id}: floor {text(category.floor)} is above its "
            f"{text(min(category.maximum, declared))} points, so its subtotal can exceed its maximum",
            (*path, "floor"),
            hint="lower the floor to at most the category's points",
        )
    elif reach[1] > category.maximum and not category.vetoes:
        yield Problem(
            "exceeds-max",
            f"category {category.id}: the subtotal can reach {text(reach[1])}, above its "
            f"{text(category.maximum)} points",
            path,
        )
    if category.points is not None and category.points != category.maximum:
        yield Problem(
            "total-mismatch",
            f"category {category.id}: criteria add up to {text(category.maximum)}, "
            f"declared {text(category.points)}",
            (*path, "points"),
        )
    # Only the category's own floor and cap are its fault; criteria that fall short say so.
    ideal = max(category.lower, min(category.upper, category.maximum))
    if exact and reach[1] < declared and ideal < declared and path[0] == "categories":
        yield _unreachable(
            f"category {category.id}: declared {text(declared)} points, but its cap lets it reach "
            f"at most {text(reach[1])}",
            (*path, "points" if category.points is not None else "cap"),
            category.notes,
        )
    yield from _notes(category.id, category.notes, (*path, "notes"))


def _rubric_checks(rubric: Rubric) -> Iterator[Problem]:
    doc = rubric.doc
    criteria: dict[str, Range] = {}
    for path, criterion in _criterion_paths(doc):
        # One analysis per criterion, dropped once its findings are out: memory stays that of
        # the largest criterion, not of the rubric.
        analysis = CriterionAnalysis(criterion)
        criteria[criterion.id] = analysis.range()
        yield from _criterion_checks(path, analysis, criteria[criterion.id])
    ranges = aggregate(doc, criteria)
    yield from _own_fact_checks(doc)
    maximum = sum((c.maximum for c in doc.categories), ZERO)
    if maximum != doc.points:
        yield Problem(
            "total-mismatch",
            f"the criteria add up to {text(maximum)}, but the rubric declares {text(doc.points)}",
            ("points",),
        )
    low, high = ranges.base
    if doc.upper > doc.points:
        yield Problem(
            "cap-above-points",
            f"the total's cap {text(doc.upper)} is above the declared {text(doc.points)} points",
            ("cap",),
        )
    elif high > doc.points:
        yield Problem(
            "exceeds-max", f"the total can reach {text(high)}, above the declared {text(doc.points)}", ()
        )
    for path, category in _category_paths(doc):
        yield from _category_checks(
            path, category, ranges.categories[category.id], ranges.exact_categories[category.id]
        )
    if ranges.exact and high < doc.points:
        ideals = sum((max(c.lower, min(c.upper, c.maximum)) for c in doc.categories), ZERO)
        message = f"the total can reach at most {text(high)} of the declared {text(doc.points)}"
        if max(doc.floor, min(doc.upper, ideals)) < doc.points:
            yield _unreachable(message, ("points",), doc.notes)
        else:  # the criteria or categories that fall short are reported where they are
            yield Problem(
                "unreachable-max",
                message + ", because of the findings above",
                ("points",),
                severity="warning",
            )
    how = "exact" if ranges.exact else "bound"
    low, high = ranges.total
    yield Problem("range", f"reachable total: {text(low)} to {text(high)} ({how})", (), severity="note")
    yield from _grade_checks(doc)
    yield from _notes(doc.id, doc.notes, ("notes",))


def _scope(path: Path) -> Path:
    """The criterion (or else the category) a finding is about, at any depth."""
    if path[:1] not in (("categories",), ("bonus",), ("penalty",)):
        return ()
    if "criteria" in path:
        at = len(path) - 1 - path[::-1].index("criteria")
        return path[: at + 2]
    ends = [i + 2 for i in range(len(path) - 1) if path[i] == "categories" and isinstance(path[i + 1], int)]
    return path[: max(ends)] if ends else path[:1]


def _worst(problems: Iterable[Problem]) -> str:
    return min((p.severity for p in problems), key=_RANK.__getitem__, default="note")


def limited(problems: Iterable[Problem]) -> list[Problem]:
    """The findings, at most ``PER_CODE`` per code and place and ``MAX_FINDINGS`` in all; the rest
    are counted in ``more-findings`` summaries carrying the worst severity they stand for."""
    kept: list[Problem] = []
    extra: dict[tuple[str, Path], list[int]] = {}  # (code, place) → [seen, worst rank dropped]
    for problem in problems:
        key = (problem.code, _scope(problem.path))
        tally = extra.setdefault(key, [0, 2])
        tally[0] += 1
        if tally[0] <= PER_CODE:
            kept.append(problem)
        else:
            tally[1] = min(tally[1], _RANK[problem.severity])
    severities = list(_RANK)
    for (code, place), (seen, rank) in extra.items():
        if seen > PER_CODE:
            kept.append(
                Problem(
                    "more-findings",
                    f"… and {seen - PER_CODE} more {code} findings here",
                    place,
                    severity=severities[rank],  # type: ignore[arg-type]
                )
            )
    if len(kept) <= MAX_FINDINGS:
        return kept
    order = sorted(range(len(kept)), key=lambda i: _RANK[kept[i].severity])
    shown = sorted(order[: MAX_FINDINGS - 1])
    dropped = [kept[i] for i in order[MAX_FINDINGS - 1 :]]
    counts = {s: sum(1 for p in dropped if p.severity == s) for s in _RANK}
    summary = Problem(
        "more-findings",
        f"… and {len(dropped)} more findings not shown ({counts['error']} errors, "
        f"{counts['warning']} warnings, {counts['note']} notes)",
        (),
        severity=_worst(dropped),  # type: ignore[arg-type]
    )
    return [*(kept[i] for i in shown), summary]


def check_rubric(rubric: Rubric) -> list[Problem]:
    """Every static finding about a loaded rubric: errors, warnings and notes, placed in the file."""
    return [rubric.positions.locate(p) for p in limited(_rubric_checks(rubric))]


def _own_fact_checks(doc: RubricDoc) -> Iterator[Problem]:
    """The rubric's own facts must be read by some veto (else nothing uses them)."""
    conditions = [v.condition for v in doc.vetoes]
    conditions += [v.condition for _, c in _category_paths(doc) for v in c.vetoes]
    read = {name for condition in conditions for name in condition_reads(condition)}
    for name in doc.evidence:
        if name not in read:
            yield Problem(
                "unused-field",
                f"no veto reads the rubric's own fact '{name}'",
                ("evidence", name),
                severity="warning",
            )


def _grade_checks(doc: Any) -> Iterator[Problem]:
    mins = [g.min for g in doc.grades]
    if mins != sorted(mins, reverse=True):
        yield Problem("grades-order", "grade bands must go from the highest minimum down", ("grades",))


def _composite_checks(composite: Composite) -> Iterator[Problem]:
    doc = composite.doc
    for i, branch in enumerate(doc.branches):
        where = weights_path(doc, i)
        for part, weight in branch.weights.items():
            if weight < 0:
                yield Problem(
                    "negative-weight",
                    f"branch {i + 1}: the weight of '{part}' is {text(weight)}; a weight is at least 0",
                    (*where, part),
                )
        weight = sum(branch.weights.values(), ZERO)
        if weight != 1:
            yield Problem("weights-sum", f"branch {i + 1}: weights add up to {text(weight)}, not 1", where)
        high = sum((max(w, ZERO) * composite.part_max(p) for p, w in branch.weights.items()), ZERO)
        if high > doc.points:
            yield Problem(
                "exceeds-max",
                f"branch {i + 1} can reach {text(high)}, above the declared {text(doc.points)}",
                where[:-1] or where,
            )
    yield from _composite_range(composite)
    yield from _grade_checks(doc)
    yield from _notes(doc.id, doc.notes, ("notes",))


def _composite_range(composite: Composite) -> Iterator[Problem]:
    """The composite's own reachable total: per branch the weighted parts' ranges (the parts'
    records are independent), clamped into [0, points]; over the branches, the widest."""
    doc = composite.doc
    totals = {name: rubric_ranges(part.doc) for name, part in composite.parts.items()}
    lows, highs, exact_all = [], [], True
    outside = doc.sections == "outside"
    for branch in doc.branches:
        weighed = {p: totals[p].base if outside else totals[p].total for p in branch.weights}
        ends = [
            (w * composite.scaled(p, weighed[p][0]), w * composite.scaled(p, weighed[p][1]))
            for p, w in branch.weights.items()
        ]
        low = sum((min(a, b) for a, b in ends), ZERO)  # a negative weight swaps a part's ends
        high = sum((max(a, b) for a, b in ends), ZERO)
        low, high = max(ZERO, min(doc.points, low)), max(ZERO, min(doc.points, high))
        if outside:  # the parts' bonus and penalty sections, added as they are, the total not below 0
            for p in branch.weights:
                for _, section in composite.parts[p].doc.sections():
                    lo, hi = totals[p].categories[section.id]
                    low, high = low + lo, high + hi
            low, high = max(ZERO, low), max(ZERO, high)
        lows.append(low)
        highs.append(high)
        exact_all = exact_all and all(totals[p].exact for p in branch.weights)
    how = "exact" if exact_all else "bound"
    message = f"reachable total: {text(min(lows))} to {text(max(highs))} ({how})"
    yield Problem("range", message, (), severity="note")


def check_composite(composite: Composite) -> list[Problem]:
    """Static findings about a composite: weights, reachable total, and its parts' findings (a
    rubric file used by two parts is reported once)."""
    out = [composite.positions.locate(p) for p in limited(_composite_checks(composite))]
    seen: set[tuple[str | None, bytes]] = set()
    for part in composite.parts.values():
        if (part.path, part.source) in seen:
            continue
        seen.add((part.path, part.source))
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


def _swing(fixed: CriterionAnalysis, name: str) -> Decimal:
    # With the criterion's other open facts at their best (``fixed`` knows every fact), how far
    # can this one move the score?
    reach = fixed.reopened(name).range()
    return reach.high - reach.low


def partial_score(rubric: Rubric, record: Any, positions: Any = None) -> PartialScore:
    """Ranges of the scores that the facts not yet collected could still produce.

    Facts given are validated as usual; facts (or whole criteria) left out are open. Each open
    fact is ranked by its swing: how many points it alone can still move its criterion when the
    criterion's other open facts are at their best. Ranges are bounded like ``check``'s: exact
    within the budget, sound bounds (``exact`` false) beyond.
    """
    with exact():
        return _partial_score(rubric, record, positions)


def _partial_score(rubric: Rubric, record: Any, positions: Any) -> PartialScore:
    problems: list[Problem] = []
    facts = rubric._evidence.collect(record if record is not None else {}, (), problems)
    problems = [p for p in problems if p.code != "missing"]
    if problems:
        raise evidence_error(problems, positions)
    criteria: dict[str, Range] = {}
    open_facts = []
    for _, criterion in _criterion_paths(rubric.doc):
        known = facts.get(criterion.id, {})
        analysis = CriterionAnalysis(criterion, known)
        reach = criteria[criterion.id] = analysis.range()
        if len(known) == len(criterion.evidence):
            continue
        fixed = analysis.narrowed({**reach.high_facts, **known})
        for name, spec in criterion.evidence.items():
            if name not in known:
                open_facts.append(OpenFact(criterion.id, name, spec.label, _swing(fixed, name)))
    ranges = aggregate(rubric.doc, criteria)
    open_facts.sort(key=lambda f: (-f.swing, f.criterion, f.field))
    return PartialScore(ranges, tuple(open_facts))
