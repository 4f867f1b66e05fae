"""Evidence records: validated against a rubric's declared fields, reporting every problem at once.

A record maps criterion id → {field: value}. A missing field is an error unless the rubric gives
it a ``default``; a criterion that declares no fields may be left out. The checks per field live
on the field types (``_fields``); this module walks a record and names the place of each defect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import EvidenceError, Path, Positions, Problem, short_repr, suggest
from ._fields import FieldSpec, Invalid

_MISSING = object()


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One declared field, ready to check a value."""

    name: str
    spec: FieldSpec
    default: Any  # _MISSING when the field is required


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """The fields of one criterion (or of a composite's own facts)."""

    key: str
    fields: tuple[FieldPlan, ...]
    names: frozenset[str]

    @property
    def optional(self) -> bool:
        """A group whose every field has a default may be left out of a record."""
        return all(f.default is not _MISSING for f in self.fields)


def plan_group(key: str, fields: Mapping[str, FieldSpec]) -> GroupPlan:
    """Prepare the checks of one group of declared fields (defaults already validated)."""
    plans = tuple(
        FieldPlan(name, spec, _MISSING if spec.default is None else spec.check(spec.default))
        for name, spec in fields.items()
    )
    return GroupPlan(key=key, fields=plans, names=frozenset(fields))


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else short_repr(value)


def check_group(group: GroupPlan, data: Any, path: Path, problems: list[Problem]) -> dict[str, Any]:
    """Validate one group's mapping, appending every problem; return the canonical facts."""
    if not isinstance(data, dict):
        problems.append(Problem("wrong-type", f"expected a mapping of fields, got {_kind(data)}", path))
        return {}
    facts: dict[str, Any] = {}
    for plan in group.fields:
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
                continue
            facts[plan.name] = plan.default
            continue
        try:
            facts[plan.name] = plan.spec.check(value)
        except Invalid as bad:
            problems.extend(
                Problem(d.code, d.message, (*path, plan.name, *d.path), hint=d.hint) for d in bad.defects
            )
    if len(data) > len(facts) or any(k not in group.names for k in data):
        for key in data:
            if key not in group.names:
                declared = ", ".join(sorted(group.names)) or "none"
                hint = suggest(str(key), group.names) or f"declared fields: {declared}"
                problems.append(
                    Problem(
                        "unknown-field",
                        f"unknown field {short_repr(key)}",
                        (*path, str(key)),
                        hint=hint,
                    )
                )
    return facts


@dataclass(frozen=True, slots=True)
class EvidencePlan:
    """The checks of a whole rubric's evidence, built once at load."""

    groups: tuple[GroupPlan, ...]
    keys: frozenset[str]

    def validate(self, record: Any, positions: Positions | None = None) -> dict[str, dict[str, Any]]:
        """Canonical facts per criterion, or EvidenceError listing every problem."""
        problems: list[Problem] = []
        facts = self.collect(record, (), problems)
        if problems:
            raise evidence_error(problems, positions)
        return facts

    def collect(self, record: Any, path: Path, problems: list[Problem]) -> dict[str, dict[str, Any]]:
        """Validate, appending problems instead of raising (for composites)."""
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
            facts[group.key] = check_group(group, data, (*path, group.key), problems)
        if len(record) > len(self.groups) or any(k not in self.keys for k in record):
            for key in record:
                if key not in self.keys:
                    hint = suggest(str(key), self.keys)
                    problems.append(
                        Problem(
                            "unknown-criterion",
                            f"no criterion {short_repr(key)} in this rubric",
                            (*path, str(key)),
                            hint=hint,
                        )
                    )
        return facts


def evidence_error(problems: list[Problem], positions: Positions | None) -> EvidenceError:
    """An EvidenceError with positions stamped on its problems."""
    if positions is not None:
        problems = [positions.locate(p) for p in problems]
    return EvidenceError(problems)
