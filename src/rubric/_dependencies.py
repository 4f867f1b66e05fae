"""Which scores depend on which: the names a score condition may read, and cycles among them.

A veto (on a category, a section or the table) may read a computed score: a criterion's, a
category's, ``base`` (the declared total's part, before the bonus and penalty sections) or
``total``. The evaluator computes what a veto needs on demand, so any order without a cycle works;
this module refuses a name that is not there and a score that would depend on itself (a category
whose veto reads the category above it, or ``base``), naming both places.
"""

from __future__ import annotations

from collections.abc import Iterator

from ._conditions import BASE, TOTAL, scores_read
from ._errors import Path, Problem, format_path, suggest
from ._model import Category, GroupVeto, RubricDoc, TableVeto

Node = str  # "criterion:<id>", "category:<id>", "base", "total"
_WHOLE = {BASE: "the base: every category of the declared total", TOTAL: "the table's total"}


def _graph(doc: RubricDoc) -> tuple[dict[Node, list[Node]], dict[Node, Path], dict[str, Node]]:
    """Edges (a node → what it needs), each node's place in the document, and the readable names."""
    needs: dict[Node, list[Node]] = {BASE: [], TOTAL: [BASE]}
    places: dict[Node, Path] = {BASE: ("categories",), TOTAL: ("points",)}
    names: dict[str, Node] = {}
    for path, node in doc.walk():
        key = f"{'category' if isinstance(node, Category) else 'criterion'}:{node.id}"
        names.setdefault(node.id, key)
        places[key] = path
        needs.setdefault(key, [])
        if isinstance(node, Category):
            needs[key] += [
                f"{'category' if isinstance(c, Category) else 'criterion'}:{c.id}" for c in node.children
            ]
    needs[BASE] += [f"category:{c.id}" for c in doc.categories]
    needs[TOTAL] += [f"category:{s.id}" for _, s in doc.sections()]
    return needs, places, names


def _vetoes(doc: RubricDoc) -> Iterator[tuple[Node | None, Path, TableVeto | GroupVeto]]:
    """Every veto with the node it belongs to (None: the table's, which nothing else reads)."""
    for path, node in doc.walk():
        if isinstance(node, Category):
            for index, veto in enumerate(node.vetoes):
                yield f"category:{node.id}", (*path, "vetoes", index), veto
    for index, table_veto in enumerate(doc.vetoes):
        yield None, ("vetoes", index), table_veto


def _reaches(needs: dict[Node, list[Node]], start: Node, goal: Node) -> bool:
    seen, stack = set(), [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(needs.get(node, ()))
    return False


def score_problems(doc: RubricDoc) -> list[Problem]:
    """Unknown or ambiguous score names, and scores that would depend on themselves."""
    needs, places, names = _graph(doc)
    problems: list[Problem] = []
    resolved: list[tuple[Node | None, Path, Node]] = []
    for owner, path, veto in _vetoes(doc):
        key, condition = veto.tested
        for name in scores_read(condition):
            at = (*path, key)
            if name in (BASE, TOTAL) and name in names:
                problems.append(
                    Problem(
                        "ambiguous-score",
                        f"'{name}' names both a criterion or category and the table's {name}",
                        at,
                        hint=f"give that criterion or category another id than '{name}'",
                    )
                )
            elif name in (BASE, TOTAL):
                resolved.append((owner, at, name))
            elif name in names:
                resolved.append((owner, at, names[name]))
            else:
                problems.append(
                    Problem(
                        "unknown-score",
                        f"no criterion or category '{name}' to read the score of",
                        at,
                        hint=suggest(name, [BASE, TOTAL, *names])
                        or f"give a criterion's or category's id, or {BASE} or {TOTAL}",
                    )
                )
    for owner, _, target in resolved:
        if owner is not None:
            needs[owner].append(target)
    for owner, at, target in resolved:
        if owner is not None and _reaches(needs, target, owner):
            what = owner.split(":", 1)[1]
            other = _WHOLE.get(target) or f"at {format_path(places[target])}"
            problems.append(
                Problem(
                    "score-cycle",
                    f"this veto of '{what}' reads the score of '{target.split(':', 1)[-1]}' ({other}), "
                    f"which depends on '{what}' itself: neither can be scored first",
                    at,
                    hint="read a score that does not contain this category (a sibling, a child, or "
                    "base from a bonus/penalty section), or put the test on the table's vetoes",
                )
            )
    return problems
