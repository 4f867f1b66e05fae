"""Rubric diff: what changed between two versions of a rubric, and how it moves real scores."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import EvidenceError, Problem
from ._model import Criterion
from ._numbers import ZERO, text
from ._rubric import Rubric


@dataclass(frozen=True, slots=True)
class Change:
    """One criterion added, removed or changed (with what changed)."""

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


def diff_rubrics(old: Rubric, new: Rubric) -> list[Change]:
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


def _score(rubric: Rubric, record: Any) -> tuple[Decimal | None, dict[str, Decimal], tuple[Problem, ...]]:
    try:
        result = rubric.score(record, audit=False)
    except EvidenceError as exc:
        return None, {}, exc.problems
    return result.total, {c.id: c.score for c in result.criteria()}, ()


def movements(old: Rubric, new: Rubric, records: Iterable[tuple[str, Any]]) -> list[Movement]:
    """Score each named record with both rubrics and name the criteria that move it."""
    out = []
    for name, record in records:
        old_total, old_scores, old_problems = _score(old, record)
        new_total, new_scores, new_problems = _score(new, record)
        moved = tuple(
            (cid, old_scores.get(cid, ZERO), new_scores.get(cid, ZERO))
            for cid in dict.fromkeys([*old_scores, *new_scores])
            if old_scores.get(cid, ZERO) != new_scores.get(cid, ZERO)
        )
        out.append(Movement(name, old_total, new_total, moved, old_problems + new_problems))
    return out


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
        lines += [f"    {cid}: {text(a)} → {text(b)}" for cid, a, b in move.criteria]
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
                "problems": [p.as_dict() for p in m.problems],
            }
            for m in moves
        ],
    }
