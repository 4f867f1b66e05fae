"""Rubric diff: what changed between two versions of a rubric (or composite), and how it moves
real scores: criteria, category and rubric floors and caps, grade bands, composite weights, and
for each given record its total, the subtotals and criteria that moved, and its 等次."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import EvidenceError, Problem
from ._model import CompositeDoc, Criterion, RubricDoc
from ._numbers import ZERO, text
from ._result import CompositeResult, Result
from ._rubric import Composite, Rubric


@dataclass(frozen=True, slots=True)
class Change:
    """One thing added, removed or changed (with what changed): a criterion by its id, or a
    category, the rubric's grade bands or total, a composite branch (``criterion`` names it)."""

    criterion: str
    kind: str  # "added", "removed", "changed"
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Movement:
    """How one evidence record's score moves from the old rubric to the new."""

    name: str
    old: Decimal | None
    new: Decimal | None
    criteria: tuple[tuple[str, Decimal, Decimal], ...]  # (criterion, old score, new score) that moved
    problems: tuple[Problem, ...] = ()
    categories: tuple[tuple[str, Decimal, Decimal], ...] = ()  # subtotals (or part totals) that moved
    grades: tuple[str | None, str | None] = (None, None)  # 等次 under the old and the new rubric

    @property
    def moved(self) -> bool:
        """Whether the record's total or 等次 differs between the two rubrics."""
        return self.old != self.new or self.grade_changed

    @property
    def grade_changed(self) -> bool:
        """Whether the record lands in a different 等次."""
        return self.grades[0] != self.grades[1]


def _criteria(rubric: Rubric) -> dict[str, Criterion]:
    return {c.id: c for cat in rubric.doc.categories for c in cat.criteria}


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _details(old: Criterion, new: Criterion) -> tuple[str, ...]:
    out = []
    if old.points != new.points:
        out.append(f"points {text(old.points)} → {text(new.points)}")
    for name, label in (("content", "考核内容"), ("standard", "评分标准"), ("method", "考核方法")):
        if getattr(old, name) != getattr(new, name):
            out.append(f"{label} wording changed")
    for name in ("start", "floor", "cap"):
        if getattr(old, name) != getattr(new, name):
            out.append(f"{name} {getattr(old, name)} → {getattr(new, name)}")
    old_rules = [_dump(r) for r in old.rules]
    new_rules = [_dump(r) for r in new.rules]
    for index in range(max(len(old_rules), len(new_rules))):
        before = old_rules[index] if index < len(old_rules) else None
        after = new_rules[index] if index < len(new_rules) else None
        if before == after:
            continue
        if before is None or after is None:
            rule = after if before is None else before
            assert rule is not None
            out.append(f"rule {index + 1} {'added' if before is None else 'removed'}: {rule.get('clause')}")
            continue
        moved = [
            f"{k} {before.get(k)} → {after.get(k)}"
            for k in dict.fromkeys([*before, *after])
            if before.get(k) != after.get(k)
        ]
        out.append(f"rule {index + 1} ({after.get('clause')}): " + ", ".join(moved))
    old_fields = {k: _dump(v) for k, v in old.evidence.items()}
    new_fields = {k: _dump(v) for k, v in new.evidence.items()}
    for name in sorted(old_fields.keys() | new_fields.keys()):
        if old_fields.get(name) != new_fields.get(name):
            state = "added" if name not in old_fields else "removed" if name not in new_fields else "changed"
            out.append(f"evidence field {name} {state}")
    return tuple(out)


def _bound(value: Decimal | None) -> str:
    return "none" if value is None else text(value)


def _bands(old: RubricDoc | CompositeDoc, new: RubricDoc | CompositeDoc) -> list[Change]:
    """Grade bands and the total's floor and cap: the changes that move a 等次 or a total with no
    criterion changing."""
    out = []
    before = {g.name: g.min for g in old.grades}
    after = {g.name: g.min for g in new.grades}
    bands = [
        f"{name} min {_bound(before.get(name))} → {_bound(after.get(name))}"
        for name in dict.fromkeys([*before, *after])
        if before.get(name) != after.get(name)
    ]
    if not bands and [g.name for g in old.grades] != [g.name for g in new.grades]:
        bands.append("bands reordered")
    if bands:
        out.append(Change("等次", "changed", tuple(bands)))
    total = [
        f"{name} {_bound(getattr(old, name, None))} → {_bound(getattr(new, name, None))}"
        for name in ("points", "floor", "cap")
        if getattr(old, name, None) != getattr(new, name, None)
    ]
    if total:
        out.append(Change("总分", "changed", tuple(total)))
    return out


def _categories(old: RubricDoc, new: RubricDoc) -> list[Change]:
    before = {c.id: c for c in old.categories}
    out = []
    for category in new.categories:
        was = before.get(category.id)
        if was is None:
            continue  # its criteria show up as added
        moved = [
            f"{name} {_bound(getattr(was, name))} → {_bound(getattr(category, name))}"
            for name in ("floor", "cap")
            if getattr(was, name) != getattr(category, name)
        ]
        if moved:
            out.append(Change(f"{category.id}（{category.name}）", "changed", tuple(moved)))
    return out


def _branches(old: CompositeDoc, new: CompositeDoc) -> list[Change]:
    out = []
    for index in range(max(len(old.branches), len(new.branches))):
        was = old.branches[index] if index < len(old.branches) else None
        now = new.branches[index] if index < len(new.branches) else None
        name = f"branch {index + 1}"
        if was is None or now is None:
            branch = now if was is None else was
            assert branch is not None
            out.append(Change(name, "added" if was is None else "removed", (branch.clause,)))
            continue
        details = [
            f"weight {part} {_bound(was.weights.get(part))} → {_bound(now.weights.get(part))}"
            for part in dict.fromkeys([*was.weights, *now.weights])
            if was.weights.get(part) != now.weights.get(part)
        ]
        if was.when != now.when:
            details.append("condition changed")
        if details:
            out.append(Change(f"{name}（{now.clause}）", "changed", tuple(details)))
    return out


def diff_rubrics(old: Rubric | Composite, new: Rubric | Composite) -> list[Change]:
    """Everything that changed: grade bands, the total's floor and cap, composite weights, category
    floors and caps, then criteria added, removed and changed (for a composite, part by part)."""
    if isinstance(old, Composite) or isinstance(new, Composite):
        if not (isinstance(old, Composite) and isinstance(new, Composite)):
            return [Change("rubric", "changed", ("a rubric and a composite: compare like with like",))]
        changes = _bands(old.doc, new.doc) + _branches(old.doc, new.doc)
        for name in dict.fromkeys([*old.parts, *new.parts]):
            if name not in old.parts or name not in new.parts:
                changes.append(Change(name, "added" if name not in old.parts else "removed", ()))
                continue
            part = diff_rubrics(old.parts[name], new.parts[name])
            changes += [Change(f"{name}·{c.criterion}", c.kind, c.details) for c in part]
        return changes
    return _bands(old.doc, new.doc) + _categories(old.doc, new.doc) + _criterion_changes(old, new)


def _criterion_changes(old: Rubric, new: Rubric) -> list[Change]:
    """Criteria added, removed and changed, in the new rubric's order (removed ones last)."""
    before, after = _criteria(old), _criteria(new)
    changes = []
    for cid, criterion in after.items():
        if cid not in before:
            changes.append(Change(cid, "added", (f"points {text(criterion.points)}",)))
        else:
            details = _details(before[cid], criterion)
            if details:
                changes.append(Change(cid, "changed", details))
    changes += [
        Change(cid, "removed", (f"points {text(c.points)}",)) for cid, c in before.items() if cid not in after
    ]
    return changes


@dataclass(frozen=True, slots=True)
class _Scored:
    total: Decimal | None = None
    grade: str | None = None
    criteria: dict[str, Decimal] | None = None
    subtotals: dict[str, Decimal] | None = None
    problems: tuple[Problem, ...] = ()


def _parts(result: Result | CompositeResult) -> list[tuple[str, Result]]:
    if isinstance(result, CompositeResult):
        return [(f"{p.name}·", p.result) for p in result.parts]
    return [("", result)]


def _score(rubric: Rubric | Composite, record: Any) -> _Scored:
    try:
        result = rubric.score(record, audit=False)
    except EvidenceError as exc:
        return _Scored(problems=exc.problems)
    criteria = {prefix + c.id: c.score for prefix, part in _parts(result) for c in part.criteria()}
    subtotals = {
        f"{prefix}{c.id}（{c.name}）": c.score for prefix, part in _parts(result) for c in part.categories
    }
    if isinstance(result, CompositeResult):
        subtotals.update({f"{p.name} weighted": p.result.total * p.weight for p in result.parts})
    return _Scored(result.total, result.grade, criteria, subtotals)


Moved = tuple[tuple[str, Decimal, Decimal], ...]


def _moved(old: dict[str, Decimal] | None, new: dict[str, Decimal] | None) -> Moved:
    before, after = old or {}, new or {}
    return tuple(
        (key, before.get(key, ZERO), after.get(key, ZERO))
        for key in dict.fromkeys([*before, *after])
        if before.get(key, ZERO) != after.get(key, ZERO)
    )


def movements(
    old: Rubric | Composite, new: Rubric | Composite, records: Iterable[tuple[str, Any]]
) -> list[Movement]:
    """Score each named record with both rubrics and name the criteria, subtotals and 等次 that move."""
    out = []
    for name, record in records:
        before, after = _score(old, record), _score(new, record)
        out.append(
            Movement(
                name,
                before.total,
                after.total,
                _moved(before.criteria, after.criteria),
                before.problems + after.problems,
                _moved(before.subtotals, after.subtotals),
                (before.grade, after.grade),
            )
        )
    return out


def any_moved(moves: list[Movement]) -> bool:
    """Whether any record's score or 等次 moves (``rubric diff`` then exits 1, like diff(1))."""
    return any(m.moved for m in moves)


def _counts(moves: list[Movement]) -> dict[str, int]:
    scored = [m for m in moves if m.old is not None and m.new is not None]
    return {
        "changed_scores": sum(1 for m in scored if m.old != m.new),
        "changed_grades": sum(1 for m in scored if m.grade_changed),
    }


def render(changes: list[Change], moves: list[Movement]) -> str:
    """The diff as text for people."""
    lines = []
    for change in changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
        lines.append(f"{mark} {change.criterion} {change.kind}: " + "; ".join(change.details))
    if not changes:
        lines.append("no criterion changed")
    for move in moves:
        if move.old is None or move.new is None:
            which = "old" if move.old is None else "new"
            lines.append(f"{move.name}: does not score under the {which} rubric")
            lines += [f"    {p}" for p in move.problems]
            continue
        delta = move.new - move.old
        sign = "+" if delta > 0 else ""
        lines.append(f"{move.name}: {text(move.old)} → {text(move.new)} ({sign}{text(delta)})")
        if move.grade_changed:
            lines.append(f"    等次: {move.grades[0] or '—'} → {move.grades[1] or '—'}")
        lines += [f"    {key} subtotal: {text(a)} → {text(b)}" for key, a, b in move.categories]
        lines += [f"    {cid}: {text(a)} → {text(b)}" for cid, a, b in move.criteria]
    if moves:
        counts = _counts(moves)
        lines.append(
            f"{counts['changed_scores']} of {len(moves)} records change score, "
            f"{counts['changed_grades']} change 等次"
        )
    return "\n".join(lines)


def as_json(changes: list[Change], moves: list[Movement]) -> dict[str, Any]:
    """The diff as JSON-ready data."""
    return {
        "criteria": [{"criterion": c.criterion, "kind": c.kind, "details": list(c.details)} for c in changes],
        "records": [
            {
                "name": m.name,
                "old": None if m.old is None else text(m.old),
                "new": None if m.new is None else text(m.new),
                "criteria": [{"criterion": cid, "old": text(a), "new": text(b)} for cid, a, b in m.criteria],
                "subtotals": [{"name": key, "old": text(a), "new": text(b)} for key, a, b in m.categories],
                "grade": {"old": m.grades[0], "new": m.grades[1]},
                "problems": [p.as_dict() for p in m.problems],
            }
            for m in moves
        ],
        **_counts(moves),
    }
