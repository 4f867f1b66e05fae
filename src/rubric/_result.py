"""Results: frozen records of a score and the audit trail behind it, and their JSON form.

Results are slotted dataclasses rather than pydantic models because one is built per criterion per
record and the batch targets count every object. Points are Decimal in memory and exact text in
JSON ("87.5"), so a result read back is equal to the one written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from ._fields import Assessment
from ._numbers import ZERO, text

Inputs = tuple[tuple[str, Any], ...]


def freeze(value: Any) -> Any:
    """A read-only view of plain data: mappings behind MappingProxyType, lists as tuples, so that
    nothing reachable from a result can change what its audit trail and evidence hash say."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (for pickling: a MappingProxyType does not pickle)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Assessment):
        return value.as_json()
    if isinstance(value, Decimal):
        # A number field's value, tagged so that reading it back gives a Decimal, not text that
        # a choice could also hold.
        return {"number": text(value)}
    return value


def _fact_value(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_fact_value(v) for v in value)
    if isinstance(value, dict) and set(value) == {"points", "reason"}:
        return Assessment(Decimal(value["points"]), value["reason"])
    if isinstance(value, dict) and set(value) == {"number"}:
        return Decimal(value["number"])
    return value


def dumps(data: Any) -> str:
    """Canonical JSON: sorted keys, Chinese kept as text, no NaN ever."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False, indent=2)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Assessment):
        return value.as_json()
    if isinstance(value, Decimal):
        return text(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def sha256_of(data: Any) -> str:
    """The SHA-256 of the compact canonical JSON of ``data`` (tuples as arrays, Decimals as text)."""
    raw = json.dumps(
        data,
        ensure_ascii=False,
        sort_keys=True,
        allow_nan=False,
        separators=(",", ":"),
        default=_json_default,
    )
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One step of scoring: the rule (or start, cap, floor, veto) and the points it moved."""

    criterion: str
    rule: str
    kind: str
    clause: str
    points: Decimal
    discarded: Decimal = ZERO
    inputs: Inputs = ()
    note: str = ""  # the rule's own note: how this file reads its clause

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``note`` only when the rule has one)."""
        out = {
            "criterion": self.criterion,
            "rule": self.rule,
            "kind": self.kind,
            "clause": self.clause,
            "points": text(self.points),
            "discarded": text(self.discarded),
            "inputs": {name: _json_value(value) for name, value in self.inputs},
        }
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        """Read the JSON form back."""
        return cls(
            criterion=data["criterion"],
            rule=data["rule"],
            kind=data["kind"],
            clause=data["clause"],
            points=Decimal(data["points"]),
            discarded=Decimal(data["discarded"]),
            inputs=tuple((k, _fact_value(v)) for k, v in data["inputs"].items()),
            note=data.get("note", ""),
        )


def reasons(entries: Any, limit: int | None = None, part: str | None = None) -> list[dict[str, Any]]:
    """The rule entries that cost points, most costly first (a scorecard's reason codes)."""
    costly = sorted(
        (e for e in entries if e.points < 0 and e.kind not in ("start", "floor", "cap")),
        key=lambda e: (e.points, e.rule),
    )
    out = []
    for e in costly[:limit]:
        item = {"criterion": e.criterion, "rule": e.rule, "clause": e.clause, "points": text(e.points)}
        if part is not None:
            item["part"] = part
        out.append(item)
    return out


def shortfall(criterion: str, maximum: Decimal, moves: Any, part: str | None = None) -> dict[str, Any] | None:
    """The points a criterion did not earn (未得分, as opposed to 扣分): a tier below its top level
    or a zero-start criterion's awards not made, i.e. the maximum less the start and what rules
    awarded (net of caps); deductions are not in it, they are reasons. None when nothing is short."""
    earned, rule, clause = ZERO, "start", ""
    for kind, rid, words, points in moves:
        if kind in ("start", "cap") or (points > 0 and kind != "floor"):
            earned += points
        if kind == "tiers":
            rule, clause = rid, words
    if earned >= maximum:
        return None
    item = {"criterion": criterion, "rule": rule, "clause": clause, "points": text(earned - maximum)}
    if part is not None:
        item["part"] = part
    return item


def shortfalls(criteria: Any, part: str | None = None) -> list[dict[str, Any]]:
    """Every criterion's shortfall (see ``shortfall``), largest first, from full audit entries."""
    found = [
        shortfall(c.id, c.max, ((e.kind, e.rule, e.clause, e.points) for e in c.audit), part)
        for c in criteria
    ]
    return sorted((s for s in found if s is not None), key=lambda s: (Decimal(s["points"]), s["rule"]))


def _entries(items: Any) -> tuple[AuditEntry, ...]:
    return tuple(AuditEntry.from_dict(e) for e in items)


@dataclass(frozen=True, slots=True)
class CriterionScore:
    """A criterion's score out of its points, and how it was reached."""

    id: str
    number: int | str
    score: Decimal
    max: Decimal
    audit: tuple[AuditEntry, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "id": self.id,
            "number": self.number,
            "score": text(self.score),
            "max": text(self.max),
            "audit": [e.to_dict() for e in self.audit],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CriterionScore:
        """Read the JSON form back."""
        return cls(
            data["id"],
            data["number"],
            Decimal(data["score"]),
            Decimal(data["max"]),
            _entries(data["audit"]),
        )


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """A category's subtotal, its criteria (or its categories one level down), and any clamp or
    veto applied to the subtotal."""

    id: str
    name: str
    score: Decimal
    max: Decimal
    criteria: tuple[CriterionScore, ...]
    adjustments: tuple[AuditEntry, ...] = ()
    categories: tuple[CategoryScore, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``categories`` only when it has some)."""
        out = {
            "id": self.id,
            "name": self.name,
            "score": text(self.score),
            "max": text(self.max),
            "criteria": [c.to_dict() for c in self.criteria],
            "adjustments": [e.to_dict() for e in self.adjustments],
        }
        if self.categories:
            out["categories"] = [c.to_dict() for c in self.categories]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoryScore:
        """Read the JSON form back."""
        return cls(
            data["id"],
            data["name"],
            Decimal(data["score"]),
            Decimal(data["max"]),
            tuple(CriterionScore.from_dict(c) for c in data["criteria"]),
            _entries(data["adjustments"]),
            tuple(CategoryScore.from_dict(c) for c in data.get("categories", ())),
        )

    def walk(self) -> Iterator[CategoryScore]:
        """This category and every category below it, parents first."""
        yield self
        for sub in self.categories:
            yield from sub.walk()

    def all_criteria(self) -> Iterator[CriterionScore]:
        """Every criterion below, in document order."""
        for group in self.walk():
            yield from group.criteria


@dataclass(frozen=True, slots=True)
class RubricInfo:
    """Which rubric produced a result, precisely enough to re-check it years later."""

    id: str
    version: str
    title: str
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"id": self.id, "version": self.version, "title": self.title, "sha256": self.sha256}


Views = tuple[tuple[CategoryScore, ...], tuple[AuditEntry, ...], tuple[CategoryScore, ...]]
View = Callable[[], Views]
Sections = tuple[Decimal, Decimal, Decimal] | None  # (base, bonus, penalty) when the rubric has them


class Result:
    """The score of one evidence record against one rubric. Immutable.

    Scoring builds only the totals; the category and criterion objects and the audit entries are
    built from the compact trail the first time they are read (and then kept).
    """

    # Two slots, set once: one object per record is the budget the batch targets allow, and each
    # object.__setattr__ on an immutable object costs about as much as a rule.
    __slots__ = ("_core", "_lazy")
    _core: tuple[RubricInfo, str, Decimal, Decimal, str | None, Sections]
    # [views: (categories, adjustments, sections), unused, view fn, evidence fn, canonical evidence,
    # sha256, outline fn, frozen evidence]: the canonical evidence itself never leaves; callers get
    # the frozen view of it.
    _lazy: list[Any]

    def __init__(
        self,
        rubric: RubricInfo,
        engine: str,
        total: Decimal,
        max: Decimal,
        grade: str | None,
        *,
        categories: tuple[CategoryScore, ...] | None = None,
        adjustments: tuple[AuditEntry, ...] = (),
        sections: tuple[CategoryScore, ...] = (),
        parts: Sections = None,
        view: View | None = None,
        evidence: Callable[[], Any] | None = None,
        sha256: str | None = None,
        outline: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        """Build a result from its parts (scoring passes a view to build them lazily)."""
        object.__setattr__(self, "_core", (rubric, engine, total, max, grade, parts))
        views = None if categories is None else (categories, adjustments, sections)
        object.__setattr__(self, "_lazy", [views, None, view, evidence, None, sha256, outline, None])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Result is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_result_from_dict, (self.to_dict(),))

    @property
    def rubric(self) -> RubricInfo:
        """Which rubric scored this."""
        return self._core[0]

    @property
    def engine(self) -> str:
        """The engine and version that scored this."""
        return self._core[1]

    @property
    def total(self) -> Decimal:
        """The total score."""
        return self._core[2]

    @property
    def max(self) -> Decimal:
        """The rubric's declared maximum."""
        return self._core[3]

    @property
    def grade(self) -> str | None:
        """The grade band of the total, if the rubric has bands."""
        return self._core[4]

    @property
    def base(self) -> Decimal | None:
        """The score within the declared points, before bonus and penalty (None without sections)."""
        parts = self._core[5]
        return None if parts is None else parts[0]

    @property
    def bonus(self) -> Decimal | None:
        """The bonus section's points, after its cap (None when the rubric has no sections)."""
        parts = self._core[5]
        return None if parts is None else parts[1]

    @property
    def penalty(self) -> Decimal | None:
        """The penalty section's points, zero or negative (None when the rubric has no sections)."""
        parts = self._core[5]
        return None if parts is None else parts[2]

    def _materialize(self) -> Views:
        lazy = self._lazy
        if lazy[0] is None:
            lazy[0] = lazy[2]()
        views: Views = lazy[0]
        return views

    @property
    def categories(self) -> tuple[CategoryScore, ...]:
        """Each top category's subtotal, criteria and categories below, in rubric order."""
        return self._materialize()[0]

    @property
    def sections(self) -> tuple[CategoryScore, ...]:
        """The bonus and penalty sections (加分项, 扣分项), as categories outside the declared total."""
        return self._materialize()[2]

    @property
    def adjustments(self) -> tuple[AuditEntry, ...]:
        """Clamps and table-wide vetoes applied to the total."""
        return self._materialize()[1]

    def groups(self) -> tuple[CategoryScore, ...]:
        """Every category at every level and every section, parents first."""
        return tuple(g for top in (*self.categories, *self.sections) for g in top.walk())

    def _canonical(self) -> Any:
        """The canonical evidence as built (internal: the audit view and the hash read it)."""
        lazy = self._lazy
        if lazy[4] is None and lazy[3] is not None:
            lazy[4] = lazy[3]()
        return lazy[4]

    @property
    def evidence(self) -> Any:
        """The validated evidence in canonical form, read-only (None for a result read from JSON)."""
        lazy = self._lazy
        if lazy[7] is None:
            lazy[7] = freeze(self._canonical())
        return lazy[7]

    @property
    def evidence_sha256(self) -> str:
        """The SHA-256 of the canonical JSON of the validated evidence (computed once, on demand)."""
        lazy = self._lazy
        if lazy[5] is None:
            lazy[5] = sha256_of(self._canonical())
        sha: str = lazy[5]
        return sha

    def _key(self) -> tuple[Any, ...]:
        return (*self._core, self.categories, self.adjustments, self.sections)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Result(rubric={self.rubric.id!r}, total={self.total}, max={self.max}, grade={self.grade!r})"

    def criterion(self, criterion_id: str) -> CriterionScore:
        """The score of one criterion, by id."""
        for item in self.criteria():
            if item.id == criterion_id:
                return item
        raise KeyError(criterion_id)

    def category(self, category_id: str) -> CategoryScore:
        """The subtotal of one category (at any level) or section, by id."""
        for group in self.groups():
            if group.id == category_id:
                return group
        raise KeyError(category_id)

    def criteria(self) -> tuple[CriterionScore, ...]:
        """Every criterion's score, in rubric order (sections last)."""
        return tuple(c for g in self.groups() for c in g.criteria)

    def _head(self) -> dict[str, Any]:
        head = {
            "kind": "rubric",
            "rubric": self.rubric.to_dict(),
            "engine": self.engine,
            "evidence_sha256": self.evidence_sha256,
            "total": text(self.total),
            "max": text(self.max),
            "grade": self.grade,
        }
        parts = self._core[5]
        if parts is not None:
            head.update(base=text(parts[0]), bonus=text(parts[1]), penalty=text(parts[2]))
        return head

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        out = {
            **self._head(),
            "categories": [c.to_dict() for c in self.categories],
            "adjustments": [e.to_dict() for e in self.adjustments],
        }
        if self.sections:
            out["sections"] = [s.to_dict() for s in self.sections]
        return out

    def to_json(self) -> str:
        """Canonical JSON text (byte-identical for identical inputs)."""
        return dumps(self.to_dict())

    def summary(self) -> dict[str, Any]:
        """The compact form for batch output: totals, subtotals, criterion scores, reason codes."""
        head = self._head()
        if self._lazy[6] is not None:  # straight from the trail, without building audit objects
            outline: dict[str, Any] = self._lazy[6]()
            return {**head, **outline}
        return {
            **head,
            "categories": [
                {"id": c.id, "name": c.name, "score": text(c.score), "max": text(c.max)}
                for c in self.groups()
            ],
            "criteria": {c.id: text(c.score) for c in self.criteria()},
            "reasons": reasons(e for c in self.criteria() for e in c.audit),
            "shortfalls": shortfalls(c for top in self.categories for c in top.all_criteria()),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Read the JSON form back."""
        info = data["rubric"]
        return cls(
            rubric=RubricInfo(info["id"], info["version"], info["title"], info["sha256"]),
            engine=data["engine"],
            total=Decimal(data["total"]),
            max=Decimal(data["max"]),
            grade=data["grade"],
            categories=tuple(CategoryScore.from_dict(c) for c in data["categories"]),
            adjustments=_entries(data["adjustments"]),
            sections=tuple(CategoryScore.from_dict(c) for c in data.get("sections", ())),
            parts=(Decimal(data["base"]), Decimal(data["bonus"]), Decimal(data["penalty"]))
            if "base" in data
            else None,
            sha256=data["evidence_sha256"],
        )


def _result_from_dict(data: dict[str, Any]) -> Result:
    return Result.from_dict(data)


@dataclass(frozen=True, slots=True)
class PartScore:
    """One rubric inside a composite: its weight and its own result."""

    name: str
    weight: Decimal
    result: Result

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"name": self.name, "weight": text(self.weight), "result": self.result.to_dict()}


@dataclass(frozen=True, slots=True)
class CompositeResult:
    """The score of a composite: the branch that applied, each weighted part, the total."""

    composite: RubricInfo
    engine: str
    branch: str
    parts: tuple[PartScore, ...]
    total: Decimal
    max: Decimal
    grade: str | None
    audit: tuple[AuditEntry, ...]
    evidence: Any = field(default=None, compare=False, repr=False)
    _sha: list[str] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evidence", freeze(self.evidence))
        object.__setattr__(self, "parts", tuple(self.parts))
        object.__setattr__(self, "audit", tuple(self.audit))

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.composite, self.engine, self.branch, self.parts, self.total, self.max, self.grade)
        return (CompositeResult, (*fields, self.audit, thaw(self.evidence)))

    @property
    def evidence_sha256(self) -> str:
        """The SHA-256 of the canonical JSON of the validated composite record."""
        if not self._sha:
            self._sha.append(self.evidence if isinstance(self.evidence, str) else sha256_of(self.evidence))
        return self._sha[0]

    def part(self, name: str) -> Result:
        """The result of one part, by name."""
        for item in self.parts:
            if item.name == name:
                return item.result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "kind": "composite",
            "composite": self.composite.to_dict(),
            "engine": self.engine,
            "evidence_sha256": self.evidence_sha256,
            "branch": self.branch,
            "parts": [p.to_dict() for p in self.parts],
            "total": text(self.total),
            "max": text(self.max),
            "grade": self.grade,
            "audit": [e.to_dict() for e in self.audit],
        }

    def to_json(self) -> str:
        """Canonical JSON text."""
        return dumps(self.to_dict())

    def summary(self) -> dict[str, Any]:
        """The compact form for batch output: each weighted part side by side, and reason codes."""
        return {
            "kind": "composite",
            "composite": self.composite.to_dict(),
            "engine": self.engine,
            "evidence_sha256": self.evidence_sha256,
            "branch": self.branch,
            "total": text(self.total),
            "max": text(self.max),
            "grade": self.grade,
            "parts": [
                {
                    "name": p.name,
                    "weight": text(p.weight),
                    **{
                        k: v
                        for k, v in p.result.summary().items()
                        if k in ("total", "max", "categories", "criteria")
                    },
                }
                for p in self.parts
            ],
            "reasons": [
                r
                for p in self.parts
                for r in reasons((e for c in p.result.criteria() for e in c.audit), part=p.name)
            ],
            "shortfalls": [s for p in self.parts for s in shortfalls(p.result.criteria(), part=p.name)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompositeResult:
        """Read the JSON form back."""
        info = data["composite"]
        return cls(
            composite=RubricInfo(info["id"], info["version"], info["title"], info["sha256"]),
            engine=data["engine"],
            branch=data["branch"],
            parts=tuple(
                PartScore(p["name"], Decimal(p["weight"]), Result.from_dict(p["result"]))
                for p in data["parts"]
            ),
            total=Decimal(data["total"]),
            max=Decimal(data["max"]),
            grade=data["grade"],
            audit=_entries(data["audit"]),
            evidence=data["evidence_sha256"],
        )


def from_json(raw: str) -> Result | CompositeResult:
    """Read a result's JSON text back into a result."""
    data = json.loads(raw)
    return CompositeResult.from_dict(data) if data.get("kind") == "composite" else Result.from_dict(data)
