"""From a file to a checked document: schema validation, cross-references, positions.

Every problem found while loading is collected (not only the first), given a stable code, and
placed at the line and column of the YAML node it concerns.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path as FilePath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ._clauses import CLAUSES, kind_of
from ._conditions import ScoreTest, Test, scores_read
from ._conditions import _tag as condition_tag
from ._conditions import check as check_condition
from ._dependencies import score_problems
from ._documents import Document, Limits, read_file
from ._errors import Path, Positions, Problem, RubricError, short_repr, suggest
from ._fields import FIELD_TYPES, FieldSpec, Invalid
from ._model import (
    Branch,
    Category,
    CompositeDoc,
    Criterion,
    Grade,
    GroupVeto,
    Note,
    RubricDoc,
    TableVeto,
)
from ._numbers import BUDGET, MAX_FAILING_PARTS, TooManyProblems

Doc = TypeVar("Doc", bound=BaseModel)


def _places() -> dict[str, list[str]]:
    """Each key the format knows, with the places that take it (for 'it belongs on …' hints)."""
    models: Iterable[tuple[str, type[BaseModel]]] = [
        ("the rubric", RubricDoc),
        ("a composite", CompositeDoc),
        ("a category", Category),
        ("a criterion", Criterion),
        ("a grade band", Grade),
        ("a note", Note),
        ("a category's vetoes", GroupVeto),
        ("the rubric's vetoes", TableVeto),
        ("a composite branch", Branch),
        ("a condition", Test),
        ("a score condition", ScoreTest),
        *((f"{key} rules", cls) for key, cls in CLAUSES.items()),
        *((f"{key} fields", cls) for key, cls in FIELD_TYPES.items()),
    ]
    places: dict[str, list[str]] = {}
    for place, model in models:
        for name, info in model.model_fields.items():
            places.setdefault(info.alias or name, []).append(place)
    for key in ("not", "all", "any"):
        places.setdefault(key, []).append("a condition")
    return places


_PLACES = _places()
_KEYS = set(_PLACES)


def _unknown_key(key: str, path: Path) -> Problem:
    places = _PLACES.get(key)
    if places is not None:  # a real key, in the wrong place
        where = ", ".join(places[:6]) + (", …" if len(places) > 6 else "")
        other = suggest(key, _KEYS - {key})
        return Problem(
            "unknown-key",
            f"'{key}' is not allowed here",
            path,
            hint=f"'{key}' belongs on: {where}" + (f"; or {other}" if other else ""),
            at_key=True,
        )
    if any(ord(ch) > 0x2E7F for ch in key):  # CJK: most likely text that a ':' or ',' split
        hint = "if this is part of a text, an ASCII ':' or ',' split it: put the whole text in quotes"
    else:
        hint = suggest(key, _KEYS)
    return Problem("unknown-key", f"unknown key '{key}'", path, hint=hint, at_key=True)


def data_path(data: Any, loc: tuple[str | int, ...]) -> Path:
    """Turn a pydantic error location into a path into the data, dropping union tags."""
    path: list[str | int] = []
    node = data
    tagged: set[int] = set()
    for segment in loc:
        if id(node) not in tagged and _is_tag(node, segment, path):
            tagged.add(id(node))
            continue
        path.append(segment)
        try:
            node = node[segment] if isinstance(node, (dict, list)) else None  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(path)


def _is_tag(node: Any, segment: str | int, path: list[str | int]) -> bool:
    if not isinstance(segment, str):
        return False
    if isinstance(node, str):
        return segment == "flag"
    if not isinstance(node, dict):
        return False
    # A rule's kind is a tag only on a rule: a category with a stray 'veto:' key is no rule.
    in_rules = len(path) >= 2 and path[-2] == "rules"
    if (in_rules and segment == kind_of(node)) or segment == condition_tag(node):
        return True
    return segment not in node and node.get("type") == segment


def _message(error: Mapping[str, Any], path: Path, data: Any) -> Problem:
    kind = error["type"]
    if path and path[-1] == "[key]":  # pydantic's mark of a problem with a mapping's key
        problem = _message(error, path[:-1], data)
        return Problem(problem.code, problem.message, problem.path, hint=problem.hint, at_key=True)
    key = path[-1] if path else ""
    if kind == "extra_forbidden":
        return _unknown_key(str(key), path)
    if kind == "missing":
        return Problem("missing", f"'{key}' is required", path)
    if kind == "unknown-kind":
        node = _at(data, path)
        found = [k for k in CLAUSES if isinstance(node, dict) and k in node]
        if len(found) > 1:
            return Problem(
                "unknown-kind",
                "a rule has exactly one kind; found " + " and ".join(found),
                path,
                hint="split it into separate rules",
            )
        keys = [str(k) for k in node] if isinstance(node, dict) else []
        hints = [suggest(k, CLAUSES) for k in keys if k not in _KEYS]
        hint = next((h for h in hints if h), "kinds: " + ", ".join(CLAUSES))
        return Problem("unknown-kind", "a rule needs one kind key", path, hint=hint)
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return Problem(
            "unknown-type",
            f"unknown type {short_repr(ctx.get('tag'))}",
            (*path, "type"),
            hint=suggest(str(ctx.get("tag")), ["flag", "count", "checklist", "choice", "assessed"])
            or f"types: {ctx.get('expected_tags', '')}",
        )
    if kind == "union_tag_not_found":
        return Problem("missing", "'type' is required (flag, count, checklist, choice or assessed)", path)
    value = error.get("input")
    if kind == "int_type" and isinstance(value, Decimal) and not isinstance(value, bool):
        return Problem(
            "int-type",
            f"a whole number is needed here, got {value}",
            path,
            hint="counts and their thresholds are whole numbers (at_least: 3 means 3 or more)",
        )
    message = str(error["msg"]).removeprefix("Value error, ")
    return Problem(kind.replace("_", "-"), message, path)


def _at(data: Any, path: Path) -> Any:
    node = data
    for segment in path:
        try:
            node = node[segment]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def validate_model(model: type[Doc], document: Document) -> Doc:
    """Validate plain data into a document model, or raise RubricError with every problem placed."""
    data = document.data
    if not isinstance(data, dict):
        raise RubricError(
            [
                document.positions.locate(
                    Problem("wrong-type", "a rubric file is a mapping (id, title, categories, …)", ())
                )
            ]
        )
    try:
        try:
            return _budgeted(model, data)
        except ValidationError as exc:
            # Errors of plain values (a list of a million wrong items) are not budgeted as they
            # are met: at least never turn more than the budget of them into Python objects.
            if exc.error_count() > MAX_FAILING_PARTS:
                raise TooManyProblems from None
            problems = _problems(exc, data, document)
    except TooManyProblems:
        # Too many to hold: report those in the first few entries of every list and mapping.
        problems = []
        for keep in (20, 3, 1):
            try:
                _budgeted(model, _first(data, keep))
            except ValidationError as exc:
                problems = _problems(exc, data, document)
                break
            except TooManyProblems:
                continue
        problems.append(
            Problem(
                "too-many-problems",
                f"more than {MAX_FAILING_PARTS} parts of the file are wrong; the first are listed",
                hint="fix those and load the file again",
                file=document.positions.file,
            )
        )
    raise RubricError(problems)


def _budgeted(model: type[Doc], data: Any) -> Doc:
    token = BUDGET.set([0])
    try:
        return model.model_validate(data)
    finally:
        BUDGET.reset(token)


def _problems(exc: ValidationError, data: Any, document: Document) -> list[Problem]:
    return [
        document.positions.locate(_message(e, data_path(data, e["loc"]), data))
        for e in exc.errors(include_url=False)
    ]


def _first(data: Any, keep: int) -> Any:
    """A copy of plain data with every list and mapping cut to its first ``keep`` entries (paths
    of what is kept are unchanged, so problems found in it are placed in the original)."""
    if isinstance(data, dict):
        return {k: _first(v, keep) for k, v in itertools.islice(data.items(), keep)}
    if isinstance(data, list):
        return [_first(v, keep) for v in data[:keep]]
    return data


def _defaults(fields: Mapping[str, FieldSpec], path: Path) -> Iterator[Problem]:
    for name, spec in fields.items():
        if spec.default is not None:
            try:
                spec.check(spec.default)
            except Invalid as bad:
                yield Problem("bad-default", f"default: {bad.defects[0].message}", (*path, name, "default"))


def _rule_problems(criterion: Criterion, path: Path) -> Iterator[Problem]:
    for k, rule in enumerate(criterion.clauses()):
        for d in rule.check(criterion.evidence):
            yield Problem(
                d.code,
                d.message,
                (*path, "rules", k, *d.path),
                hint=d.hint,
                at_key=d.code == "unknown-level",
            )


def _condition_problems(vetoes: Any, own: Mapping[str, FieldSpec], path: Path) -> Iterator[Problem]:
    for i, veto in enumerate(vetoes):
        key, condition = veto.tested
        for d in check_condition(condition, own, scores=True):
            hint = d.hint or "a veto reads the rubric's own facts: declare them under evidence: at the top"
            yield Problem(d.code, d.message, (*path, "vetoes", i, key, *d.path), hint=hint)


def reference_problems(doc: RubricDoc) -> list[Problem]:
    """Cross-reference errors of a schema-valid rubric (the ones that would make scoring wrong)."""
    problems: list[Problem] = list(_defaults(doc.evidence, ("evidence",)))
    seen_categories: dict[str, Path] = {}
    seen_criteria: dict[str, Path] = {}
    for path, node in doc.walk():
        seen = seen_categories if isinstance(node, Category) else seen_criteria
        if node.id in seen:
            kind = "category" if isinstance(node, Category) else "criterion"
            problems.append(Problem("duplicate-id", f"{kind} id '{node.id}' is used twice", (*path, "id")))
        seen[node.id] = path
        # A category's own cap below its floor is a contradiction; a floor above its points alone
        # is for check to report (floor-above-max), as the subtotal can then exceed its maximum.
        capped = node.cap is not None if isinstance(node, Category) else True
        if capped and node.upper < node.lower:
            problems.append(Problem("bad-bounds", "cap is below floor", (*path, "cap")))
        if isinstance(node, Category):
            problems.extend(_condition_problems(node.vetoes, doc.evidence, path))
            continue
        if path[0] == "categories" and node.points is None:
            problems.append(
                Problem(
                    "missing",
                    "'points' is required",
                    (*path, "points"),
                    hint="give its points (分值): only bonus and penalty items may leave them out",
                )
            )
        if node.id in doc.evidence:
            problems.append(
                Problem(
                    "duplicate-id",
                    f"'{node.id}' names both a criterion and a fact of the rubric",
                    (*path, "id"),
                )
            )
        problems.extend(_defaults(node.evidence, (*path, "evidence")))
        problems.extend(_rule_problems(node, path))
    problems.extend(_condition_problems(doc.vetoes, doc.evidence, ()))
    problems.extend(score_problems(doc))
    if doc.upper < doc.floor:
        problems.append(Problem("bad-bounds", "cap is below floor", ("cap",)))
    return problems


def weights_path(doc: CompositeDoc, index: int) -> Path:
    """Where a branch's weights are written: under branches, or the plain top-level weights."""
    return ("weights",) if doc.weights is not None else ("branches", index, "weights")


def composite_problems(doc: CompositeDoc) -> list[Problem]:
    """Cross-reference errors of a schema-valid composite."""
    problems = list(_defaults(doc.evidence, ("evidence",)))
    for name in doc.evidence:
        if name in doc.parts:
            problems.append(
                Problem("duplicate-id", f"'{name}' names both a part and a fact", ("evidence", name))
            )
    for name in doc.scale:
        if name not in doc.parts:
            problems.append(
                Problem(
                    "unknown-part", f"'{name}' is not a part of this composite", ("scale", name), at_key=True
                )
            )
    for i, branch in enumerate(doc.branches):
        for d in check_condition(branch.when, doc.evidence, scores=True) if branch.when is not None else ():
            problems.append(Problem(d.code, d.message, ("branches", i, "when", *d.path), hint=d.hint))
        for name in scores_read(branch.when) if branch.when is not None else ():
            if name not in doc.parts:  # a branch reads a part's total (表二得分达到60分的…)
                problems.append(
                    Problem(
                        "unknown-score",
                        f"a composite's condition reads a part's total; '{name}' is not a part",
                        ("branches", i, "when"),
                        hint=suggest(name, doc.parts) or "parts: " + ", ".join(doc.parts),
                    )
                )
        for part in branch.weights:
            if part not in doc.parts:
                problems.append(
                    Problem(
                        "unknown-part",
                        f"'{part}' is not a part of this composite",
                        (*weights_path(doc, i), part),
                        at_key=True,
                        hint=suggest(part, doc.parts),
                    )
                )
    return problems


def raise_if(problems: list[Problem], positions: Positions) -> None:
    """Raise RubricError with the problems placed, if there are any."""
    if problems:
        raise RubricError([positions.locate(p) for p in problems])


def read_part(composite: Document, name: str, named: str, *, limits: Limits, allow_outside: bool) -> Document:
    """Read a composite's part: a regular file inside the composite's folder tree (unless allowed
    outside), never a FIFO or device, which could hang the load or read what is not a rubric."""
    here = composite.positions.file
    base = FilePath(here).parent if here is not None else FilePath()
    target = base / named
    if not allow_outside and "\0" not in named:  # a NUL byte is read_file's io problem
        inside = not FilePath(named).is_absolute()
        if inside:
            # Resolved, so '..' and symbolic links that lead out of the folder are caught too.
            root = os.path.realpath(base)
            inside = os.path.commonpath([root, os.path.realpath(target)]) == root
        if not inside:
            raise_if(
                [
                    Problem(
                        "part-outside",
                        f"part '{name}' names a file outside the composite's folder",
                        ("parts", name),
                        hint="keep parts in the composite's folder or below, "
                        "or load with allow_outside=True if you trust this composite",
                    )
                ],
                composite.positions,
            )
    return read_file(target, limits=limits, regular_only=True)


# Problems about a part that quote only the composite or the file system, never the part's text.
_OWN_WORDS = frozenset({"io", "not-a-file", "not-a-rubric", "part-outside", "too-large"})


def part_problems(problems: Sequence[Problem], name: str, composite: Positions) -> list[Problem]:
    """A part's own problems, placed in the part's file but without quoting it.

    The part is another file: its keys, values and messages are not echoed, so a composite cannot
    be used to read files it names. Code, line and column say where to look; checking the part on
    its own gives the details."""
    out = []
    for problem in problems:
        if problem.code in _OWN_WORDS:
            out.append(problem)
            continue
        where = problem.file or "the part"
        out.append(
            Problem(
                problem.code,
                f"part '{name}' is not a valid rubric",
                ("parts", name),
                file=problem.file,
                line=problem.line,
                column=problem.column,
                hint=f"check {where} on its own for the details",
            )
        )
    return out or [composite.locate(Problem("not-a-rubric", f"part '{name}' is not a valid rubric"))]
