"""Evidence records: validated against a rubric's declared fields, reporting every problem at once.

A record maps criterion id → {field: value}. A missing field is an error unless the rubric gives
it a ``default``; a criterion that declares no fields may be left out. The checks per field live
on the field types (``_fields``); this module walks a record and names the place of each defect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import EvidenceError, Path, Positions, Problem, short_repr, suggest
from ._fields import Assessed, Checklist, FieldSpec, Invalid

_MISSING = object()


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One declared field, ready to check a value."""

    name: str
    spec: FieldSpec
    default: Any  # _MISSING when the field is required
    fast: Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """The fields of one criterion (or of a composite's own facts), with their checks built once."""

    key: str
    fields: tuple[FieldPlan, ...]
    names: frozenset[str]
    tests: tuple[tuple[str, Callable[[Any], bool]], ...]
    lists: tuple[str, ...]  # fields whose values are lists: frozen on the way in

    def take(self, data: dict[str, Any]) -> dict[str, Any]:
        """A copy of valid facts that the caller can no longer change (lists become tuples)."""
        facts = dict(data)
        for name in self.lists:
            facts[name] = tuple(facts[name])
        return facts

    @property
    def optional(self) -> bool:
        """A group whose every field has a default may be left out of a record."""
        return all(f.default is not _MISSING for f in self.fields)

    def check(self, data: Any, path: Path, problems: list[Problem]) -> dict[str, Any]:
        """Validate one group's mapping, appending every problem; return its facts."""
        if type(data) is dict and data.keys() == self.names:
            for name, ok in self.tests:
                if not ok(data[name]):
                    break
            else:
                return self.take(data)  # valid as it stands: the common case costs one test per field
        return self._check_slowly(data, path, problems)

    def _check_slowly(self, data: Any, path: Path, problems: list[Problem]) -> dict[str, Any]:
        if not isinstance(data, dict):
            problems.append(Problem("wrong-type", f"expected a mapping of fields, got {_kind(data)}", path))
            return {}
        facts: dict[str, Any] = {}
        for plan in self.fields:
            value = data.get(plan.name, _MISSING)
            if value is _MISSING:
                if plan.default is _MISSING:
                    problems.append(
                        Problem(
                            "missing",
                            f"'{plan.name}' ({plan.spec.label}) is required",
                            (*path, plan.name),
                            hint="record it, or give the field a default",
                        )
                    )
                else:
                    facts[plan.name] = plan.default
            elif plan.fast(value):
                facts[plan.name] = tuple(value) if plan.name in self.lists else value
            else:
                try:
                    facts[plan.name] = plan.spec.check(value)
                except Invalid as bad:
                    problems.extend(
                        Problem(d.code, d.message, (*path, plan.name, *d.path), hint=d.hint)
                        for d in bad.defects
                    )
        for key in data:
            if key not in self.names:
                declared = ", ".join(sorted(self.names)) or "none"
                hint = suggest(str(key), self.names) or f"declared fields: {declared}"
                problems.append(
                    Problem(
                        "unknown-field",
                        f"unknown field {short_repr(key)}",
                        (*path, str(key)),
                        hint=hint,
                        at_key=True,
                    )
                )
        return facts

    def canonical(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical form of validated facts (checklists in declared order, and so on)."""
        if not self.lists:  # flags, counts and choices are canonical as validated
            return dict(facts)
        out = dict(facts)
        for plan in self.fields:
            if plan.name in self.lists:
                out[plan.name] = plan.spec.canonical(out[plan.name])
        return out


def plan_group(key: str, fields: Mapping[str, FieldSpec]) -> GroupPlan:
    """Prepare the checks of one group of declared fields (defaults already validated)."""
    plans = tuple(
        FieldPlan(name, spec, _MISSING if spec.default is None else spec.check(spec.default), spec.fast())
        for name, spec in fields.items()
    )
    lists = tuple(name for name, spec in fields.items() if isinstance(spec, (Checklist, Assessed)))
    return GroupPlan(
        key=key,
        fields=plans,
        names=frozenset(fields),
        tests=tuple((p.name, p.fast) for p in plans),
        lists=lists,
    )


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else short_repr(value)


FlatGroup = tuple[str, frozenset[str], tuple[tuple[str, Callable[[Any], bool]], ...], GroupPlan]


@dataclass(frozen=True, slots=True)
class EvidencePlan:
    """The checks of a whole rubric's evidence, built once at load."""

    groups: tuple[GroupPlan, ...]
    keys: frozenset[str]
    flat: tuple[FlatGroup, ...]  # the groups as plain tuples, for the hot loop

    def validate(self, record: Any, positions: Positions | None = None) -> dict[str, dict[str, Any]]:
        """Facts per criterion, or EvidenceError listing every problem of the record."""
        problems: list[Problem] = []
        facts = self.collect(record, (), problems)
        if problems:
            raise evidence_error(problems, positions)
        return facts

    def collect(self, record: Any, path: Path, problems: list[Problem]) -> dict[str, dict[str, Any]]:
        """Validate, appending problems instead of raising (composites gather all parts' problems)."""
        if type(record) is dict and record.keys() == self.keys:
            fast: dict[str, dict[str, Any]] = {}
            for key, names, tests, group in self.flat:
                data = record[key]
                if type(data) is dict and data.keys() == names:
                    for name, ok in tests:
                        if not ok(data[name]):
                            break
                    else:
                        fast[key] = group.take(data)  # a copy: the result must not follow later changes
                        continue
                fast[key] = group._check_slowly(data, (*path, key), problems)
            return fast
        if not isinstance(record, dict):
            problems.append(
                Problem(
                    "wrong-type",
                    f"an evidence record is a mapping of criterion id to its fields, got {_kind(record)}",
                    path,
                )
            )
            return {}
        facts: dict[str, dict[str, Any]] = {}
        for group in self.groups:
            data = record.get(group.key, _MISSING)
            if data is _MISSING:
                if not group.optional:
                    problems.append(
                        Problem("missing", f"no evidence for criterion {group.key}", (*path, group.key))
                    )
                    continue
                data = {}
            facts[group.key] = group.check(data, (*path, group.key), problems)
        for key in record:
            if key not in self.keys:
                problems.append(
                    Problem(
                        "unknown-criterion",
                        f"no criterion {short_repr(key)} in this rubric",
                        (*path, str(key)),
                        hint=suggest(str(key), self.keys),
                        at_key=True,
                    )
                )
        return facts

    def canonical(self, facts: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """The canonical form of a record's facts."""
        return {g.key: g.canonical(facts[g.key]) for g in self.groups if g.key in facts}


def plan_evidence(groups: tuple[GroupPlan, ...]) -> EvidencePlan:
    """The evidence plan of a rubric's criteria."""
    return EvidencePlan(
        groups, frozenset(g.key for g in groups), tuple((g.key, g.names, g.tests, g) for g in groups)
    )


# A record can hold thousands of defects (unknown items by the thousand): past this many, the rest
# are counted, not listed, so that an error report stays proportional to the limit, not the input.
MAX_PROBLEMS_PER_RECORD = 100


@dataclass(frozen=True, slots=True)
class MoreProblems(Problem):
    """The last problem of a capped list: how many more there were (kept exact when recapped)."""

    hidden: int = 0


def capped(problems: Sequence[Problem], limit: int) -> tuple[Problem, ...]:
    """At most ``limit`` problems (at least one), the last saying how many more there were."""
    if len(problems) <= limit:
        return tuple(problems)
    kept = max(limit - 1, 0)
    hidden = sum(p.hidden if isinstance(p, MoreProblems) else 1 for p in problems[kept:])
    message = f"… and {hidden} more problems not listed"
    return (
        *problems[:kept],
        MoreProblems("more-problems", message, (), hint="fix these first", hidden=hidden),
    )


def evidence_error(problems: list[Problem], positions: Positions | None) -> EvidenceError:
    """An EvidenceError with positions stamped on its problems (at most MAX_PROBLEMS_PER_RECORD)."""
    listed = capped(problems, MAX_PROBLEMS_PER_RECORD)
    if positions is not None:
        listed = tuple(positions.locate(p) for p in listed)
    return EvidenceError(list(listed))
