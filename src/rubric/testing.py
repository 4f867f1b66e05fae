"""Hypothesis strategies for property-based tests of rubrics (needs the ``testing`` extra).

    from hypothesis import given
    import rubric
    from rubric.testing import evidence

    table1 = rubric.load("rubrics/table1.yaml")

    @given(evidence(table1))
    def test_total_stays_within_bounds(record):
        assert 0 <= table1.score(record).total <= table1.max

Every strategy is derived from the rubric's own declarations through the same registries the
engine uses (evidence field types and clause kinds), so a new field type or clause kind is
covered here by adding its hooks in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from ._clauses import CLAUSES
from ._conditions import samples as condition_samples
from ._errors import Path
from ._fields import FIELD_TYPES, FieldSpec
from ._rubric import Composite, Rubric

__all__ = ["InvalidRecord", "composites", "evidence", "invalid_evidence", "rubrics"]


@dataclass(frozen=True, slots=True)
class InvalidRecord:
    """An evidence record with one known defect: the problem code and path it must produce."""

    record: dict[str, Any]
    code: str
    path: Path


def _groups(scorer: Rubric) -> list[tuple[str, dict[str, FieldSpec]]]:
    return [(c.id, dict(c.evidence)) for c in scorer.doc.all_criteria()]


def _group_values(fields: dict[str, FieldSpec]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({name: spec.values(st) for name, spec in fields.items()})


def _rubric_evidence(scorer: Rubric) -> st.SearchStrategy[dict[str, Any]]:
    criteria = st.fixed_dictionaries({cid: _group_values(fields) for cid, fields in _groups(scorer)})
    if not scorer.doc.evidence:
        return criteria
    own = _group_values(dict(scorer.doc.evidence))  # the rubric's own facts sit at the top
    return st.builds(lambda o, c: {**o, **c}, own, criteria)


def evidence(scorer: Rubric | Composite) -> st.SearchStrategy[dict[str, Any]]:
    """Valid evidence records for a rubric or composite, edge values included (zero counts, all
    items missing, both ends of every range)."""
    if isinstance(scorer, Rubric):
        return _rubric_evidence(scorer)
    facts = _group_values(dict(scorer.doc.evidence))
    parts = st.fixed_dictionaries({name: _rubric_evidence(part) for name, part in scorer.parts.items()})
    return st.builds(lambda f, p: {**f, **p}, facts, parts)


@st.composite
def _invalid_rubric_record(draw: st.DrawFn, scorer: Rubric, prefix: Path) -> InvalidRecord:
    record: dict[str, Any] = draw(_rubric_evidence(scorer))
    groups = [(cid, fields) for cid, fields in _groups(scorer) if fields]
    kinds = ["unknown-criterion"] + (["value", "unknown-field", "missing"] if groups else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "unknown-criterion":
        record["未知条目"] = {}
        return InvalidRecord(record, "unknown-criterion", (*prefix, "未知条目"))
    cid, fields = draw(st.sampled_from(groups))
    name = draw(st.sampled_from(sorted(fields)))
    if kind == "unknown-field":
        record[cid]["未知字段"] = True
        return InvalidRecord(record, "unknown-field", (*prefix, cid, "未知字段"))
    if kind == "missing" and fields[name].default is None:
        del record[cid][name]
        return InvalidRecord(record, "missing", (*prefix, cid, name))
    bad, code, inner = draw(fields[name].defects(st))
    record[cid][name] = bad
    return InvalidRecord(record, code, (*prefix, cid, name, *inner))


@st.composite
def _invalid_composite_record(draw: st.DrawFn, scorer: Composite) -> InvalidRecord:
    record = draw(evidence(scorer))
    name = draw(st.sampled_from(sorted(scorer.parts)))
    broken = draw(_invalid_rubric_record(scorer.parts[name], (name,)))
    record[name] = broken.record
    # The part must be weighed for its record to be read: pick facts that make a branch weigh it.
    return InvalidRecord(record, broken.code, broken.path)


def invalid_evidence(scorer: Rubric | Composite) -> st.SearchStrategy[InvalidRecord]:
    """Records each with one specific defect (unknown criterion or field, missing fact, wrong type,
    negative count, out-of-range or off-step amount, …) and the problem it must raise."""
    if isinstance(scorer, Rubric):
        return _invalid_rubric_record(scorer, ())
    return _invalid_composite_record(scorer)


_FIELD_DECLARATIONS = st.one_of([cls.declarations(st) for cls in FIELD_TYPES.values()])
# Domains that once made static analysis explode: fine-step assessed ranges (with and without a
# limit on entries), checklists of 100+ items, and (in ``_many_flags``) criteria of many flags.
_LARGE_DECLARATIONS = st.one_of(
    _FIELD_DECLARATIONS,
    st.builds(
        lambda low, width, step, most: {
            "type": "assessed",
            "label": "酌情",
            "range": [low, low + width],
            "step": step,
            **({} if most is None else {"max_entries": most}),
        },
        st.integers(0, 5),
        st.integers(1, 100),
        st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("0.0001")]),
        st.none() | st.integers(1, 10_000),
    ),
    st.integers(100, 400).map(
        lambda n: {"type": "checklist", "label": "材料", "items": [f"材料{i}" for i in range(n)]}
    ),
    st.integers(1, 10**9).map(lambda m: {"type": "count", "label": "次数", "max": m}),
)
_POINTS = st.sampled_from([Decimal(1), Decimal(2), Decimal(5), Decimal("7.5"), Decimal(10), Decimal(20)])


@st.composite
def _criterion(
    draw: st.DrawFn, cid: str, max_fields: int, max_rules: int, large: bool = False
) -> dict[str, Any]:
    if large and draw(st.integers(0, 4)) == 0:  # many flags read together by many rules
        declarations = [{"type": "flag", "label": "是否"}] * draw(st.integers(10, 20))
        max_rules = max(max_rules, 30)
    else:
        types = _LARGE_DECLARATIONS if large else _FIELD_DECLARATIONS
        declarations = draw(st.lists(types, min_size=1, max_size=max_fields))
    fields = {f"f{i + 1}": d for i, d in enumerate(declarations)}
    specs = {name: FIELD_TYPES[d["type"]].model_validate(d) for name, d in fields.items()}
    kinds = [s for s in (cls.samples(st, specs) for cls in CLAUSES.values()) if s is not None]
    # A criterion whose fields no kind can read yet (dates alone) has no rules.
    rules = draw(st.lists(st.one_of(kinds), max_size=max_rules)) if kinds else []
    points = draw(_POINTS)
    out: dict[str, Any] = {
        "id": cid,
        "number": cid,
        "content": cid,
        "standard": cid,
        "points": points,
        "start": draw(st.sampled_from(["full", "zero"])),
        "evidence": fields,
        "rules": rules,
    }
    if draw(st.booleans()):
        out["cap"] = draw(st.sampled_from([points, points / 2]))
    if draw(st.booleans()):
        out["floor"] = draw(
            st.sampled_from([Decimal(0), Decimal(1), Decimal(-2)]).filter(lambda f: f <= points / 2)
        )
    return out


@st.composite
def _rubric_data(
    draw: st.DrawFn, max_categories: int, max_criteria: int, max_fields: int, max_rules: int, *, large: bool
) -> Any:
    categories = []
    count = 0
    for c in range(draw(st.integers(1, max_categories))):
        criteria = []
        for _ in range(draw(st.integers(1, max_criteria))):
            count += 1
            criteria.append(draw(_criterion(f"C{count}", max_fields, max_rules, large)))
        category: dict[str, Any] = {"id": f"K{c + 1}", "name": f"类别{c + 1}", "criteria": criteria}
        total = sum((x["points"] for x in criteria), Decimal(0))
        if draw(st.booleans()):
            category["cap"] = draw(st.sampled_from([total, total - min(total, Decimal(1))]))
        if draw(st.integers(0, 3)) == 0:  # one level deeper: 一级指标 over this 二级指标
            category = {"id": f"L{c + 1}", "name": f"一级{c + 1}", "categories": [category]}
        categories.append(category)
    points = sum((_points(cat) for cat in categories), Decimal(0))
    data: dict[str, Any] = {
        "id": "random",
        "version": "1",
        "title": "随机评分表",
        "points": points,
        "categories": categories,
    }
    for key in ("bonus", "penalty"):  # sections outside the declared total
        if draw(st.integers(0, 2)) == 0:
            count += 1
            item = draw(_criterion(f"C{count}", max_fields, max_rules, large))
            section: dict[str, Any] = {"id": key, "name": key, "criteria": [item]}
            if key == "bonus" and draw(st.booleans()):
                section["cap"] = draw(st.sampled_from([Decimal(2), Decimal(5)]))
            data[key] = section
    if draw(st.integers(0, 2)) == 0:  # the rubric's own fact, read by a table or category veto
        data["evidence"] = {"incident": {"type": "flag", "label": "发生否决事项", "default": False}}
        veto = {"when": "incident", "clause": "一票否决"}
        if draw(st.booleans()):
            data["vetoes"] = [
                {**veto, "grade": "不合格", "score": draw(st.sampled_from([Decimal(0), Decimal(1)]))}
            ]
        else:
            categories[0]["vetoes"] = [veto]
    _score_vetoes(draw, data, categories, points)
    if draw(st.booleans()):
        data["grades"] = [
            {"name": "优秀", "min": points * Decimal("0.9")},
            {"name": "合格", "min": points * Decimal("0.6")},
            {"name": "不合格", "min": Decimal(0)},
        ]
    return data


def _score_vetoes(draw: st.DrawFn, data: dict[str, Any], categories: list[Any], points: Decimal) -> None:
    """Sometimes vetoes that read computed scores: a gate on the bonus section (方可申报加分) and a
    category that reads a later one's subtotal (scored first: dependency order)."""
    if "bonus" in data and draw(st.integers(0, 2)) == 0:
        least = draw(st.sampled_from([Decimal(0), points / 2, points]))
        gate = {"only_if": {"score": "base", "at_least": least}, "clause": "基础得分达到要求的方可加分"}
        data["bonus"]["vetoes"] = [gate]
    if len(categories) > 1 and draw(st.integers(0, 2)) == 0:
        below = draw(st.sampled_from([Decimal(1), _points(categories[-1]) / 2]))
        veto = {
            "when": {"score": categories[-1]["id"], "below": below},
            "clause": "后一项得分过低的本项不得分",
        }
        categories[0]["vetoes"] = [*categories[0].get("vetoes", []), veto]


def _points(category: dict[str, Any]) -> Decimal:
    """A drawn category's declared maximum: the sum of its criteria's points, at any depth."""
    if "categories" in category:
        return sum((_points(sub) for sub in category["categories"]), Decimal(0))
    return sum((x["points"] for x in category["criteria"]), Decimal(0))


def rubrics(
    *,
    max_categories: int = 3,
    max_criteria: int = 4,
    max_fields: int = 3,
    max_rules: int = 4,
    large_domains: bool = False,
) -> st.SearchStrategy[Rubric]:
    """Random valid rubrics built from every field type and clause kind, with caps, floors,
    vetoes, tiers, bonus caps and grades. ``large_domains`` also draws the domains that stress
    static analysis: fine-step assessed ranges, checklists of 100+ items, counts up to 10⁹ and
    criteria of 10–20 flags read by 30 rules."""
    data = _rubric_data(max_categories, max_criteria, max_fields, max_rules, large=large_domains)
    return data.map(Rubric.from_data)


@st.composite
def _composite(draw: st.DrawFn, parts: int) -> Composite:
    loaded = {f"p{i + 1}": draw(rubrics(max_categories=2, max_criteria=3)) for i in range(parts)}
    names = sorted(loaded)
    facts = {"g1": {"type": "flag", "label": "条件"}}
    split = draw(st.integers(1, 9))
    weights = (
        {names[0]: Decimal(split) / 10, names[-1]: Decimal(10 - split) / 10} if parts > 1 else {names[0]: 1}
    )
    first: Any = "g1"
    if draw(st.booleans()):  # a branch that also reads a part's total (表一得分达到…的)
        first = {"any": ["g1", {"score": names[-1], "above": loaded[names[-1]].max / 2}]}
    data = {
        "id": "random-composite",
        "version": "1",
        "title": "随机综合",
        "points": max(r.max for r in loaded.values()),
        "parts": {n: n for n in names},
        "evidence": facts,
        "branches": [
            {"when": first, "clause": "加权", "weights": weights},
            {"when": {"not": "g1"}, "clause": "只计第一部分", "weights": {names[0]: 1}},
        ],
        # The parts' bonus and penalty sections inside their weighted totals, or outside them.
        "sections": draw(st.sampled_from(["weighted", "outside"])),
    }
    return Composite.from_data(data, loaded)


def composites(*, parts: int = 2) -> st.SearchStrategy[Composite]:
    """Random valid composites of random rubrics: a weighted branch and a single-part branch."""
    return _composite(parts)


def conditions(fields: dict[str, FieldSpec]) -> Any:
    """Random raw conditions over declared fields (or None when no field can be tested)."""
    return condition_samples(st, fields)
