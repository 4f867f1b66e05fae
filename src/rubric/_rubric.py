"""Loaded rubrics and composites: immutable, compiled once, safe to share across threads.

``load`` reads a file and returns a ``Rubric`` or a ``Composite``; both score evidence records.
A loaded object keeps its source bytes, so it pickles as its source and recompiles on arrival
(closures do not pickle; sources do).
"""

from __future__ import annotations

import decimal
import hashlib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path as FilePath
from types import MappingProxyType
from typing import Any

import yaml

from ._conditions import Predicate, compile_condition, score_key, scores_read
from ._documents import DEFAULT_LIMITS, Document, Limits, parse, plain_text, read_file
from ._errors import EvidenceError, Positions, Problem, RubricError
from ._evaluate import OWN, Trail, clamp_total, compile_rubric, evaluate, grade_of, materialize, outline
from ._evidence import evidence_error, plan_evidence, plan_group
from ._loading import (
    composite_problems,
    part_problems,
    raise_if,
    read_part,
    reference_problems,
    validate_model,
)
from ._model import INFINITY, CompositeDoc, RubricDoc
from ._numbers import ZERO, engine_context, exact, text
from ._result import AuditEntry, CompositeResult, PartScore, Result, RubricInfo
from ._version import __version__ as _version

ENGINE = f"rubric {_version}"


class _Dumper(yaml.SafeDumper):
    """Writes Decimals as plain numbers (read back as Decimals), tuples as lists, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        """Shared values are written out in full: the loader refuses aliases."""
        return True


_Dumper.add_representer(
    Decimal,
    lambda d, v: d.represent_scalar(
        "tag:yaml.org,2002:" + ("int" if v == v.to_integral_value() else "float"), text(v)
    ),
)
_Dumper.add_representer(tuple, lambda d, v: d.represent_list(list(v)))
_Dumper.add_representer(
    str,
    # Quote any text this package's loader would read as something else ("1e5", "012", "true"):
    # PyYAML decides by YAML 1.1 rules, which differ from ours.
    lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v, style=None if plain_text(v) else '"'),
)


def dump_yaml(data: Any) -> bytes:
    """YAML bytes of plain data (Decimals exact), readable by this package's loader."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False).encode("utf-8")


def _info(doc: RubricDoc | CompositeDoc, source: bytes) -> RubricInfo:
    return RubricInfo(doc.id, doc.version, doc.title, hashlib.sha256(source).hexdigest())


class _Loaded:
    """What a loaded rubric and a loaded composite both answer."""

    __slots__ = ()
    doc: RubricDoc | CompositeDoc

    @property
    def id(self) -> str:
        """The id from the file."""
        return self.doc.id

    @property
    def max(self) -> Decimal:
        """The declared maximum of the total."""
        return self.doc.points


class Rubric(_Loaded):
    """A loaded, checked and compiled rubric."""

    doc: RubricDoc

    __slots__ = (
        "_evidence",
        "_grades",
        "_plan",
        "_sections",
        "doc",
        "info",
        "limits",
        "path",
        "positions",
        "source",
    )

    def __init__(self, doc: RubricDoc, document: Document, limits: Limits = DEFAULT_LIMITS) -> None:
        """Compile a checked document (use ``load_rubric`` or ``Rubric.from_bytes``)."""
        self.doc = doc
        self.limits = limits
        self.source = document.source
        self.path = document.positions.file
        self.positions = document.positions
        self.info = _info(doc, document.source)
        self._plan = compile_rubric(doc)
        self._evidence = plan_evidence(
            tuple(plan_group(c.id, c.evidence) for c in doc.all_criteria()),
            plan_group(OWN, doc.evidence) if doc.evidence else None,
        )
        self._grades = tuple((g.name, g.min) for g in doc.grades)
        self._sections = bool(doc.bonus or doc.penalty or doc.vetoes)

    @classmethod
    def from_bytes(cls, source: bytes, file: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Rubric:
        """Load a rubric from its YAML bytes."""
        with exact():
            return _rubric_of(parse(source, file=file, limits=limits), limits)

    @classmethod
    def from_data(cls, data: Any, file: str | None = None) -> Rubric:
        """Load a rubric from plain data (as ``yaml.safe_load`` would give), e.g. built in code."""
        return cls.from_bytes(dump_yaml(data), file)

    def to_yaml(self) -> str:
        """The rubric as YAML, defaults left out; loading it gives a rubric that scores identically."""
        data = self.doc.model_dump(by_alias=True, exclude_defaults=True)
        for key, section in self.doc.sections():
            # A section item's defaults differ from a base criterion's (start at 0, no floor): its
            # values as written or resolved are kept, so that it reads back the same.
            data[key] = section.model_dump(by_alias=True, exclude_unset=True)
        return dump_yaml(data).decode("utf-8")

    def __reduce__(self) -> tuple[Any, ...]:
        # As its source and limits: a rubric loaded with raised limits must load again on arrival.
        return (Rubric.from_bytes, (self.source, self.path, self.limits))

    def validate(self, evidence: Any, positions: Positions | None = None) -> dict[str, dict[str, Any]]:
        """Canonical facts per criterion, or EvidenceError listing every problem."""
        with exact():
            return self._evidence.validate(evidence, positions)

    def collect(self, evidence: Any, path: tuple[str, ...], problems: list[Problem]) -> dict[str, Any]:
        """Validate into ``problems`` instead of raising (composites gather all parts' problems)."""
        return self._evidence.collect(evidence, path, problems)

    def score(self, evidence: Any, *, audit: bool = True, positions: Positions | None = None) -> Result:
        """Score one evidence record; ``audit=False`` skips building audit entries (same totals)."""
        # setcontext costs a fifth of localcontext(), and this is the per-record hot path. A fresh
        # context again after validation: a caller's dict subclass may have changed the first.
        saved = decimal.getcontext()
        decimal.setcontext(engine_context())
        try:
            facts = self._evidence.validate(evidence, positions)
            decimal.setcontext(engine_context())
            return self._score(facts, audit)
        finally:
            decimal.setcontext(saved)

    def score_facts(self, facts: dict[str, dict[str, Any]], *, audit: bool = True) -> Result:
        """Score facts that have already been validated by this rubric."""
        with exact():
            return self._score(facts, audit)

    def _grade(self, total: Decimal, trail: Trail) -> str | None:
        if trail.veto is not None and self._plan.vetoes[trail.veto].grade is not None:
            return self._plan.vetoes[trail.veto].grade
        if not self._grades:
            return None
        return grade_of(self._grades, trail.base if self.doc.grade_on == "base" else total)

    def _score(self, facts: dict[str, dict[str, Any]], audit: bool) -> Result:
        total, trail = evaluate(self._plan, facts, audit)
        plan, canonical = self._plan, self._evidence.canonical
        result = Result(
            self.info,
            ENGINE,
            total,
            self.doc.points,
            self._grade(total, trail),
            parts=(trail.base, trail.bonus, trail.penalty) if self._sections else None,
            view=lambda: materialize(plan, result._canonical(), trail),
            evidence=lambda: canonical(facts),
            outline=lambda: outline(plan, trail),
        )
        return result

    def __repr__(self) -> str:
        return f"<Rubric {self.doc.id} {self.doc.version} ({self.path})>"


class Composite(_Loaded):
    """A loaded composite: rubrics combined with weights under conditions."""

    doc: CompositeDoc

    __slots__ = (
        "_branches",
        "_facts",
        "_grades",
        "_read",
        "doc",
        "info",
        "limits",
        "parts",
        "path",
        "positions",
        "source",
    )

    def __init__(
        self,
        doc: CompositeDoc,
        document: Document,
        parts: Mapping[str, Rubric],
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        """Compile a checked composite whose parts are loaded."""
        self.doc = doc
        self.limits = limits
        self.source = document.source
        self.path = document.positions.file
        self.positions = document.positions
        self.info = _info(doc, document.source + b"".join(parts[p].source for p in doc.parts))
        self.parts: Mapping[str, Rubric] = MappingProxyType({p: parts[p] for p in doc.parts})
        self._facts = plan_group("", doc.evidence)
        self._branches: tuple[tuple[Predicate, str, tuple[tuple[str, str, Decimal], ...]], ...] = tuple(
            (
                _always if b.when is None else compile_condition(b.when, doc.evidence),
                b.clause,
                tuple((branch_rule_id(doc.id, i, p), p, w) for p, w in b.weights.items()),
            )
            for i, b in enumerate(doc.branches)
        )
        # The parts whose totals a branch's condition reads: scored before a branch is chosen.
        self._read = tuple(
            dict.fromkeys(name for b in doc.branches if b.when is not None for name in scores_read(b.when))
        )
        self._grades = tuple((g.name, g.min) for g in doc.grades)

    @classmethod
    def from_data(cls, data: Any, parts: Mapping[str, Rubric], file: str | None = None) -> Composite:
        """A composite from plain data whose parts are already loaded (``parts`` in the data are names)."""
        with exact():
            return _composite_with(parse(dump_yaml(data), file=file), parts, DEFAULT_LIMITS)

    def __reduce__(self) -> tuple[Any, ...]:
        # As its own source and its parts' (each a Rubric, pickled as its source), never as a path:
        # a file edited after loading must not change what a worker process scores.
        return (Composite._rebuild, (self.source, self.path, self.limits, dict(self.parts)))

    @staticmethod
    def _rebuild(source: bytes, file: str | None, limits: Limits, parts: Mapping[str, Rubric]) -> Composite:
        with exact():
            return _composite_with(parse(source, file=file, limits=limits), parts, limits)

    def score(
        self, evidence: Any, *, audit: bool = True, positions: Positions | None = None
    ) -> CompositeResult:
        """Score a composite record: its own facts plus one record per weighted part."""
        with exact():
            return self._score(evidence, audit, positions)

    def _score(self, evidence: Any, audit: bool, positions: Positions | None) -> CompositeResult:
        problems: list[Problem] = []
        if not isinstance(evidence, dict):
            raise evidence_error([Problem("wrong-type", "a composite record is a mapping", ())], positions)
        own = {k: v for k, v in evidence.items() if k not in self.parts}
        facts = self._facts.check(own, (), problems)
        if problems:
            raise evidence_error(problems, positions)
        decimal.setcontext(engine_context())  # fresh after the caller's data was read (see Rubric.score)
        part_facts: dict[str, Any] = {}
        # Parts whose totals a branch's condition reads are scored before a branch is chosen.
        self._collect(evidence, self._read, part_facts, positions, why=" (a condition reads its total)")
        results = {name: self.parts[name]._score(part_facts[name], audit) for name in self._read}
        tested = {**facts, **{score_key(name): r.total for name, r in results.items()}} if results else facts
        branch = next((b for b in self._branches if b[0](tested)), None)
        if branch is None:
            raise EvidenceError([Problem("no-branch", "no branch of the composite applies to these facts")])
        _, clause, weights = branch
        weighted = {name for _, name, _ in weights}
        wanted = [name for name in self.parts if name in weighted or name in evidence]
        self._collect(evidence, wanted, part_facts, positions)
        parts, entries, running, outside = [], [], ZERO, []
        for rule, name, weight in weights:
            result = results.get(name) or self.parts[name]._score(part_facts[name], audit)
            weighed = result.total
            if self.doc.sections == "outside" and result.base is not None:
                weighed = result.base
                outside += [
                    (rule, name, kind, points)
                    for kind, points in (("bonus", result.bonus), ("penalty", result.penalty))
                    if points
                ]
            used = self.scaled(name, weighed)
            points = used * weight
            running += points
            parts.append(PartScore(name, weight, result))
            entries.append(
                AuditEntry(
                    self.doc.id,
                    rule,
                    "weight",
                    clause,
                    points,
                    ZERO,
                    (
                        ("base", text(weighed)) if weighed is not result.total else ("total", text(weighed)),
                        *((("scaled", text(used)),) if name in self.doc.scale else ()),
                        ("weight", text(weight)),
                    ),
                )
            )
        total, clamps = clamp_total(self.doc.id, running, ZERO, self.doc.points, True)
        if outside:
            total, clamps = self._outside(total, clamps, outside, entries)
        return CompositeResult(
            composite=self.info,
            engine=ENGINE,
            branch=clause,
            parts=tuple(parts),
            total=total,
            max=self.doc.points,
            grade=grade_of(self._grades, total),
            audit=(*entries, *clamps),
            evidence={"facts": facts, **{p.name: p.result._canonical() for p in parts}},
        )

    def _collect(
        self,
        evidence: Mapping[str, Any],
        names: Iterable[str],
        into: dict[str, Any],
        positions: Positions | None,
        why: str = "",
    ) -> None:
        """Validate the records of the named parts not yet read, all problems at once."""
        problems: list[Problem] = []
        for name in names:
            if name in into:
                continue
            if name not in evidence:
                problems.append(Problem("missing", f"no record for part '{name}'{why}", (name,)))
                continue
            into[name] = self.parts[name].collect(evidence[name], (name,), problems)
        if problems:
            raise evidence_error(problems, positions)

    def _outside(
        self,
        total: Decimal,
        clamps: tuple[AuditEntry, ...],
        outside: list[tuple[str, str, str, Decimal]],
        entries: list[AuditEntry],
    ) -> tuple[Decimal, tuple[AuditEntry, ...]]:
        """Add the parts' bonus and penalty points after the weighting, the total not below 0."""
        for rule, name, kind, points in outside:
            clause = f"{name}的{'加分项' if kind == 'bonus' else '扣分项'}在加权之外计入"
            entries.append(AuditEntry(self.doc.id, f"{rule}.{kind}", kind, clause, points, ZERO))
            total += points
        floored, more = clamp_total(self.doc.id, total, ZERO, INFINITY, True)
        return floored, clamps + more

    def part_max(self, name: str) -> Decimal:
        """The most a part contributes before its weight: its scale if it has one, else its max."""
        return self.doc.scale.get(name, self.parts[name].max)

    def scaled(self, name: str, total: Decimal) -> Decimal:
        """A part's total as weighted: rescaled to its ``scale`` (rounded half up), else as is."""
        target = self.doc.scale.get(name)
        if target is None:
            return total
        exact_value = total * target / self.parts[name].max
        return exact_value.quantize(Decimal(1).scaleb(-self.doc.places), rounding=decimal.ROUND_HALF_UP)

    def __repr__(self) -> str:
        return f"<Composite {self.doc.id} {self.doc.version} ({self.path})>"


def _always(facts: Any) -> bool:
    """The condition of a branch that has none."""
    return True


def branch_rule_id(composite: str, index: int, part: str) -> str:
    """The rule id of one weighted part of one branch: ``<composite>.b<n>.<part>``."""
    return f"{composite}.b{index + 1}.{part}"


def _is_composite(document: Document) -> bool:
    return isinstance(document.data, dict) and "parts" in document.data


def _wrong_kind(document: Document, code: str, what: str, loader: str) -> None:
    hint = f"load it with rubric.{loader} (or rubric.load)"
    raise_if([Problem(code, f"this is {what}", (), hint=hint)], document.positions)


def _rubric_of(document: Document, limits: Limits) -> Rubric:
    if _is_composite(document):
        _wrong_kind(document, "not-a-rubric", "a composite, not a rubric", "load_composite")
    doc = validate_model(RubricDoc, document)
    raise_if(reference_problems(doc), document.positions)
    return Rubric(doc, document, limits)


def _composite_with(document: Document, parts: Mapping[str, Rubric], limits: Limits) -> Composite:
    doc = validate_model(CompositeDoc, document)
    missing = [
        Problem("unknown-part", f"no loaded rubric for part '{name}'", ("parts", name))
        for name in doc.parts
        if name not in parts
    ]
    raise_if(composite_problems(doc) + missing, document.positions)
    return Composite(doc, document, parts, limits)


def _composite_of(document: Document, limits: Limits, allow_outside: bool) -> Composite:
    if not _is_composite(document):
        what = "a rubric, not a composite (it has no 'parts')"
        _wrong_kind(document, "not-a-composite", what, "load_rubric")
    composite = validate_model(CompositeDoc, document)
    raise_if(composite_problems(composite), document.positions)
    parts: dict[str, Rubric] = {}
    for name, named in composite.parts.items():
        try:
            part = read_part(document, name, named, limits=limits, allow_outside=allow_outside)
            if _is_composite(part):
                # Refused before it is loaded: a composite of composites could name itself.
                raise_if(
                    [Problem("not-a-rubric", f"part '{name}' is itself a composite", ("parts", name))],
                    document.positions,
                )
            parts[name] = _rubric_of(part, limits)
        except RubricError as exc:
            raise RubricError(part_problems(exc.problems, name, document.positions)) from None
    return Composite(composite, document, parts, limits)


def load_document(
    document: Document, *, limits: Limits = DEFAULT_LIMITS, allow_outside: bool = False
) -> Rubric | Composite:
    """Check and compile a parsed document: a composite if it has ``parts``, else a rubric."""
    with exact():
        if _is_composite(document):
            return _composite_of(document, limits, allow_outside)
        return _rubric_of(document, limits)


def load(
    path: str | FilePath, *, limits: Limits = DEFAULT_LIMITS, allow_outside: bool = False
) -> Rubric | Composite:
    """Load a rubric or composite file: parsed safely, validated, cross-checked, compiled.

    A composite's parts must lie in its own folder or below unless ``allow_outside`` is true."""
    with exact():
        return load_document(read_file(path, limits=limits), limits=limits, allow_outside=allow_outside)


def load_rubric(path: str | FilePath, *, limits: Limits = DEFAULT_LIMITS) -> Rubric:
    """Load a rubric file (a composite is a RubricError ``not-a-rubric``)."""
    with exact():
        return _rubric_of(read_file(path, limits=limits), limits)


def load_composite(
    path: str | FilePath, *, limits: Limits = DEFAULT_LIMITS, allow_outside: bool = False
) -> Composite:
    """Load a composite file with its parts (a rubric is a RubricError ``not-a-composite``)."""
    with exact():
        return _composite_of(read_file(path, limits=limits), limits, allow_outside)


__all__ = ["ENGINE", "Composite", "Rubric", "load", "load_composite", "load_rubric", "text"]
