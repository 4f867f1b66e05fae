"""Printable HTML: a unit's 评分表 and the ranked 通报, one self-contained A4 page each.

The pages are built from the public results (``Result``, ``CompositeResult``) and the bulletin
rows ``report`` already ranks; the rubric document only lends its wording (考核内容, field labels,
the award clauses a unit did not earn). Every string reaches the page through Jinja2 with
autoescape on, so a unit called ``<script>`` prints as text. Jinja2 is the optional ``html`` extra.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ._errors import Problem, RubricEngineError
from ._evaluate import rule_id
from ._fields import Assessment
from ._model import Criterion
from ._numbers import text
from ._render import signed
from ._report import NOT_EARNED, Row, graded, lost_text
from ._result import CategoryScore, CompositeResult, CriterionScore, Result, shortfall
from ._rubric import Composite, Rubric

INSTALL = "pip install 'rubric-engine[html]'"
AWARDS = ("award", "award_each", "award_assessed", "tiers")
# How each audit step reads on a printed sheet: what an assessor calls it.
KIND_NAMES = {
    "deduct": "扣分",
    "per_missing": "扣分",
    "deduct_each": "扣分",
    "deduct_assessed": "扣分",
    "veto": "否决",
    "floor": "扣完为止",
    "cap": "封顶",
    "award": "加分",
    "award_each": "加分",
    "award_assessed": "加分",
    "tiers": "得分",
}


@dataclass(frozen=True, slots=True)
class Move:
    """One line under a criterion: a clause that cost or gave points, or points not earned."""

    kind: str  # 扣分, 未得分, 加分, 得分, 否决, 封顶, 扣完为止
    points: str
    clause: str
    reasons: tuple[str, ...] = ()  # the assessor's reasons for assessed amounts
    note: str = ""  # points a cap, floor or veto discarded


@dataclass(frozen=True, slots=True)
class Line:
    """One criterion row of the score sheet."""

    number: str
    content: str
    points: str
    score: str
    moves: tuple[Move, ...]
    facts: tuple[str, ...]  # "label：value" for the facts that moved points


@dataclass(frozen=True, slots=True)
class Group:
    """A 考核项目 with its rows and subtotal."""

    name: str
    lines: tuple[Line, ...]
    score: str
    max: str
    adjustments: tuple[Move, ...]


@dataclass(frozen=True, slots=True)
class Sheet:
    """One rubric's score sheet (a whole page, or one part of a composite)."""

    title: str
    issuer: str
    source: str
    groups: tuple[Group, ...]
    total: str
    max: str
    grade: str | None
    adjustments: tuple[Move, ...]
    stamp: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class PartLine:
    """One part of a composite, side by side with the others."""

    name: str
    title: str
    score: str
    max: str
    weight: str
    weighted: str


def _environment() -> Any:
    """The Jinja2 environment; a clear usage error when the optional extra is not installed."""
    try:
        import jinja2  # noqa: PLC0415 - optional dependency, only needed for --format html
    except ImportError:
        raise RubricEngineError(
            [Problem("missing-dependency", "HTML output needs Jinja2", (), hint=INSTALL)]
        ) from None
    return jinja2.Environment(
        loader=jinja2.PackageLoader("rubric", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(template: str, **context: Any) -> str:
    page: str = _environment().get_template(template).render(**context)
    return page


def _value(value: Any) -> str:
    """A fact as an assessor writes it on the sheet: 是/否, items joined by 、, amounts with reasons."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Assessment):
        return f"{text(value.points)}分（{value.reason}）"
    if isinstance(value, tuple | list):
        return "、".join(_value(v) for v in value) or "无"
    if isinstance(value, Decimal):
        return text(value)
    return str(value)


def _labels(criterion: Criterion | None) -> dict[str, str]:
    if criterion is None:
        return {}
    return {name: spec.label or name for name, spec in criterion.evidence.items()}


def _moves(score: CriterionScore, criterion: Criterion | None) -> tuple[Move, ...]:
    out = []
    from_zero = any(e.kind == "start" and e.points == 0 for e in score.audit)
    for entry in score.audit:
        if entry.kind == "start" or (entry.points == 0 and entry.kind != "tiers"):
            continue
        # From zero an award is what the unit scored (得分); on top of full marks it is a bonus (加分).
        name = "得分" if from_zero and entry.kind in AWARDS else KIND_NAMES.get(entry.kind, entry.kind)
        if entry.kind in ("floor", "cap"):
            clause = f"{name}（{entry.clause.split()[-1]}分）"
        elif entry.kind == "tiers" and entry.inputs:
            clause = f"【{_value(entry.inputs[0][1])}】{entry.clause}"
        else:
            clause = entry.clause
        assessed = [v for _, value in entry.inputs if isinstance(value, tuple) for v in value]
        reasons = tuple(f"{text(a.points)}分：{a.reason}" for a in assessed if isinstance(a, Assessment))
        note = (
            f"{text(entry.discarded)}分未计" if entry.discarded and entry.kind not in ("floor", "cap") else ""
        )
        out.append(Move(name, signed(entry.points), clause, reasons, note))
    missing = shortfall(score.id, score.max, ((e.kind, e.rule, e.clause, e.points) for e in score.audit))
    if missing is not None:
        out.append(
            Move(NOT_EARNED, text(-Decimal(missing["points"])), _not_earned(score, criterion, missing))
        )
    return tuple(out)


def _not_earned(score: CriterionScore, criterion: Criterion | None, missing: dict[str, Any]) -> str:
    """What the points not earned were for: the tier's clause, else the award clauses not made."""
    tiers = [e for e in score.audit if e.kind == "tiers" and e.inputs]
    if tiers:
        return f"按【{_value(tiers[0].inputs[0][1])}】计分，未达到最高档"
    if criterion is None:
        return "未达到得分条件"
    fired = {e.rule for e in score.audit}
    unmade = [
        rule.clause
        for index, rule in enumerate(criterion.clauses())
        if rule.kind in AWARDS and rule_id(criterion, index) not in fired and rule.clause
    ]
    return "；".join(unmade) or "未达到得分条件"


def _facts(score: CriterionScore, criterion: Criterion | None) -> tuple[str, ...]:
    """The facts read by the clauses that moved points (each once, in the order first read)."""
    labels = _labels(criterion)
    seen: dict[str, str] = {}
    for entry in score.audit:
        if entry.points == 0 and entry.kind != "tiers":
            continue
        for name, value in entry.inputs:
            seen.setdefault(name, f"{labels.get(name, name)}：{_value(value)}")
    return tuple(seen.values())


def _clamps(entries: Iterable[Any]) -> tuple[Move, ...]:
    return tuple(
        Move(KIND_NAMES[e.kind], signed(e.points), f"{KIND_NAMES[e.kind]}（{e.clause.split()[-1]}分）")
        for e in entries
        if e.kind in ("floor", "cap")
    )


def _group(category: CategoryScore, criteria: dict[str, Criterion]) -> Group:
    lines = []
    for score in category.criteria:
        criterion = criteria.get(score.id)
        lines.append(
            Line(
                str(score.number),
                criterion.content if criterion is not None else score.id,
                text(score.max),
                text(score.score),
                _moves(score, criterion),
                _facts(score, criterion),
            )
        )
    return Group(
        category.name, tuple(lines), text(category.score), text(category.max), _clamps(category.adjustments)
    )


def _stamp(info: Any, evidence_sha256: str, engine: str) -> tuple[tuple[str, str], ...]:
    return (
        ("评分细则", f"{info.id} {info.version}"),
        ("细则 SHA-256", info.sha256),
        ("证据 SHA-256", evidence_sha256),
        ("评分程序", engine),
    )


def sheet(result: Result, rubric: Rubric | None = None) -> Sheet:
    """The score sheet of one rubric result (the rubric lends its wording when given)."""
    doc = rubric.doc if rubric is not None else None
    criteria = {c.id: c for cat in doc.categories for c in cat.criteria} if doc is not None else {}
    return Sheet(
        result.rubric.title,
        doc.issuer if doc is not None else "",
        doc.source if doc is not None else "",
        tuple(_group(category, criteria) for category in result.categories),
        text(result.total),
        text(result.max),
        result.grade,
        _clamps(result.adjustments),
        _stamp(result.rubric, result.evidence_sha256, result.engine),
    )


def score_sheet(result: Result | CompositeResult, scorer: Rubric | Composite | None = None) -> str:
    """The printable 评分表 of one unit as a self-contained HTML page."""
    if isinstance(result, Result):
        rubric = scorer if isinstance(scorer, Rubric) else None
        return _render("score.html.j2", sheet=sheet(result, rubric), composite=None)
    parts = scorer.parts if isinstance(scorer, Composite) else {}
    doc = scorer.doc if isinstance(scorer, Composite) else None
    composite = {
        "title": result.composite.title,
        "issuer": doc.issuer if doc is not None else "",
        "source": doc.source if doc is not None else "",
        "branch": result.branch,
        "parts": [
            PartLine(
                p.name,
                p.result.rubric.title,
                text(p.result.total),
                text(p.result.max),
                text(p.weight),
                text(p.result.total * p.weight),
            )
            for p in result.parts
        ],
        "total": text(result.total),
        "max": text(result.max),
        "grade": result.grade,
        "adjustments": _clamps(result.audit),
        "stamp": _stamp(result.composite, result.evidence_sha256, result.engine),
    }
    sheets = [(p.name, sheet(p.result, parts.get(p.name))) for p in result.parts]
    return _render("score.html.j2", sheet=None, composite=composite, sheets=sheets)


def bulletin(rows: list[Row], title: str = "考核结果通报") -> str:
    """The ranked 通报 as a self-contained HTML page (the same rows as the Markdown bulletin)."""
    headers = list(dict.fromkeys(h for row in rows for h, _ in row.columns))
    lines = [
        {
            "rank": row.rank,
            "unit": row.unit,
            "total": text(row.total),
            "max": text(row.max),
            "grade": row.grade or "—",
            "columns": [dict(row.columns).get(h, "—") for h in headers],
            "lost": [(r.label, lost_text(r), r.kind) for r in row.reasons],
        }
        for row in rows
    ]
    return _render("bulletin.html.j2", title=title, headers=headers, rows=lines, graded=graded(rows))
