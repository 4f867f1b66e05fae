"""Rubric test cases: evidence and expected scores written next to a rubric, and rule coverage.

A cases file names its rubric, a complete ``base`` record, and cases that patch the base field by
field and state the expected total and, optionally, criterion and category scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Any

from ._documents import DEFAULT_LIMITS, Document, Limits, read_file
from ._errors import EvidenceError, Positions, Problem, RubricError
from ._evaluate import rule_id
from ._model import Category
from ._result import AuditEntry, CompositeResult, Result
from ._rubric import Composite, Rubric, branch_rule_id, load


@dataclass(frozen=True, slots=True)
class Case:
    """One case: a name, the hand-worked reason, the merged record and what is expected."""

    name: str
    why: str
    evidence: Any
    total: Decimal | None
    criteria: dict[str, Decimal]
    categories: dict[str, Decimal]
    error: str | None = None
    line: int | None = None
    sections: dict[str, Decimal] = field(default_factory=dict)  # base, bonus, penalty
    grade: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What running a case gave: failures (empty when it passed) and the audit it produced."""

    case: Case
    failures: tuple[str, ...]
    result: Result | CompositeResult | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def passed(self) -> bool:
        """True when every expectation held."""
        return not self.failures


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A loaded cases file."""

    rubric: Rubric | Composite
    cases: tuple[Case, ...]
    path: str | None = None


def merge(base: Any, patch: Any) -> Any:
    """Merge a patch into a base record mapping by mapping; any other value replaces."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base.get(key), value) if key in base else value
        return out
    return patch


def _number(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return Decimal(value)


def _expect(cases_doc: Document, index: int, raw: dict[str, Any], base: Any) -> Case:
    where = f"cases[{index}]"
    expect = raw.get("expect") or {}
    return Case(
        name=str(raw.get("name", where)),
        why=str(raw.get("why", "")),
        evidence=merge(base, raw.get("evidence") or {}),
        total=_number(expect["total"], f"{where}.expect.total") if "total" in expect else None,
        criteria={
            k: _number(v, f"{where}.expect.criteria.{k}") for k, v in (expect.get("criteria") or {}).items()
        },
        categories={
            k: _number(v, f"{where}.expect.categories.{k}")
            for k, v in (expect.get("categories") or {}).items()
        },
        error=expect.get("error"),
        line=cases_doc.positions.marks.get(("cases", index), (None, None))[0],
        sections={k: _number(expect[k], f"{where}.expect.{k}") for k in SECTIONS if k in expect},
        grade=None if expect.get("grade") is None else str(expect["grade"]),
    )


def load_cases(
    path: str | FilePath, rubric: Rubric | Composite | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> CaseFile:
    """Read a cases file within ``limits``; load the rubric it names (same limits) unless one is given."""
    document = read_file(path, limits=limits)
    data = document.data
    bad = Problem("bad-cases", "a cases file is a mapping with rubric, base and cases", (), file=str(path))
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise RubricError([bad])
    if rubric is None:
        rubric = load(FilePath(path).parent / str(data.get("rubric", "")), limits=limits)
    base = data.get("base") or {}
    try:
        cases = tuple(_expect(document, i, raw, base) for i, raw in enumerate(data["cases"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RubricError([Problem("bad-cases", str(exc), (), file=str(path))]) from None
    return CaseFile(rubric=rubric, cases=cases, path=str(path))


def criterion_scores(result: Result | CompositeResult) -> dict[str, Decimal]:
    results = [p.result for p in result.parts] if isinstance(result, CompositeResult) else [result]
    return {c.id: c.score for r in results for c in r.criteria()}


def category_scores(result: Result | CompositeResult) -> dict[str, Decimal]:
    results = [p.result for p in result.parts] if isinstance(result, CompositeResult) else [result]
    return {c.id: c.score for r in results for c in r.groups()}


SECTIONS = ("base", "bonus", "penalty")


def _section_failures(result: Result | CompositeResult, case: Case) -> Iterator[str]:
    for key, value in case.sections.items():
        got = getattr(result, key, None)
        if got is None:
            yield f"{key}: expected {value}, but this rubric has no bonus or penalty section"
        elif got != value:
            yield f"{key}: expected {value}, got {got}"
    if case.grade is not None and result.grade != case.grade:
        yield f"grade: expected {case.grade}, got {result.grade}"


def run_case(rubric: Rubric | Composite, case: Case) -> Outcome:
    """Score one case and compare with what it expects."""
    try:
        result = rubric.score(case.evidence, positions=Positions(file=None))
    except EvidenceError as exc:
        codes = sorted({p.code for p in exc.problems})
        if case.error is not None and case.error in codes:
            return Outcome(case, (), None, exc.problems)
        return Outcome(case, tuple(f"evidence error: {p}" for p in exc.problems), None, exc.problems)
    failures = []
    if case.error is not None:
        failures.append(f"expected evidence error {case.error}, but it scored {result.total}")
    if case.total is not None and result.total != case.total:
        failures.append(f"total: expected {case.total}, got {result.total}")
    failures.extend(_section_failures(result, case))
    for scores, expected, label in (
        (criterion_scores(result), case.criteria, "criterion"),
        (category_scores(result), case.categories, "category"),
    ):
        for key, value in expected.items():
            if key not in scores:
                failures.append(f"{label} {key}: no such {label} in the result")
            elif scores[key] != value:
                failures.append(f"{label} {key}: expected {value}, got {scores[key]}")
    return Outcome(case, tuple(failures), result)


def run_cases(case_file: CaseFile) -> tuple[Outcome, ...]:
    """Run every case of a file."""
    return tuple(run_case(case_file.rubric, case) for case in case_file.cases)


def _audit(result: Result | CompositeResult) -> Iterator[AuditEntry]:
    if isinstance(result, CompositeResult):
        yield from result.audit
        for part in result.parts:
            yield from _audit(part.result)
        return
    for criterion in result.criteria():
        yield from criterion.audit
    for group in result.groups():  # category vetoes (单项否决)
        yield from group.adjustments
    yield from result.adjustments  # table-wide vetoes (一票否决)


def exercised(entry: AuditEntry) -> bool:
    """A rule is exercised by a record when it applied: its condition held, its count was not 0,
    its tier was chosen. (Rules that can never change the score are ``rubric check``'s business.)"""
    return entry.kind not in ("start", "floor", "cap")


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which rules at least one case exercised, per criterion."""

    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hit: frozenset[str] = frozenset()

    @property
    def total(self) -> int:
        """How many rules there are."""
        return sum(len(r) for r in self.rules.values())

    @property
    def covered(self) -> int:
        """How many of them were exercised."""
        return sum(1 for rs in self.rules.values() for r in rs if r in self.hit)


def all_rules(rubric: Rubric | Composite) -> dict[str, tuple[str, ...]]:
    """Every rule id, per criterion; a composite's rules are its branches' weighted parts (its parts'
    own rules are covered by their own cases)."""
    if isinstance(rubric, Composite):
        doc = rubric.doc
        return {
            doc.id: tuple(branch_rule_id(doc.id, i, p) for i, b in enumerate(doc.branches) for p in b.weights)
        }
    plain = rubric.doc
    rules = {c.id: tuple(rule_id(c, i) for i in range(len(c.rules))) for c in plain.all_criteria()}
    for _, node in plain.walk():  # a veto on a category, or on the table, is a rule to cover too
        if isinstance(node, Category) and node.vetoes:
            rules[node.id] = tuple(f"{node.id}.veto{i + 1}" for i in range(len(node.vetoes)))
    if plain.vetoes:
        rules[plain.id] = tuple(f"{plain.id}.veto{i + 1}" for i in range(len(plain.vetoes)))
    return rules


def coverage(rubric: Rubric | Composite, outcomes: tuple[Outcome, ...]) -> Coverage:
    """Rule coverage of a set of case outcomes."""
    hit = {e.rule for o in outcomes if o.result is not None for e in _audit(o.result) if exercised(e)}
    return Coverage(rules=all_rules(rubric), hit=frozenset(hit))
