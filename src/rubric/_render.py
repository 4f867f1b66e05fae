"""Text rendering of results and problems for people: aligned tables that handle Chinese widths."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ._numbers import ZERO, text
from ._result import AuditEntry, CategoryScore, CompositeResult, Result


def width(value: str) -> int:
    """Display width in a terminal: wide and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)


def pad(value: str, size: int, right: bool = False) -> str:
    """Pad to a display width."""
    gap = " " * max(0, size - width(value))
    return gap + value if right else value + gap


def table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[bool]) -> list[str]:
    """Rows aligned into columns by display width."""
    body = [list(header), *[list(r) for r in rows]]
    sizes = [max(width(r[i]) for r in body) for i in range(len(header))]
    return ["  ".join(pad(cell, sizes[i], right[i]) for i, cell in enumerate(row)).rstrip() for row in body]


def signed(value: Decimal) -> str:
    """A signed point amount: +2, −2 (a real minus sign reads better in Chinese text)."""
    return ("+" if value > 0 else "−" if value < 0 else "±") + text(abs(value))


def _moves(entries: Iterable[AuditEntry]) -> list[str]:
    out = []
    for entry in entries:
        if entry.kind == "start":
            continue
        note = (
            f"（{text(entry.discarded)}分未计）"
            if entry.discarded and entry.kind not in ("floor", "cap")
            else ""
        )
        chosen = f"【{entry.inputs[0][1]}】" if entry.kind == "tiers" and entry.inputs else ""
        out.append(f"{signed(entry.points)}  {chosen}{entry.clause}{note}")
    return out


def shown(value: Decimal) -> str:
    """A score as a table shows it: exact, with the same minus sign as the moves (−4, not -4)."""
    return text(value).replace("-", "−")


def _group_rows(group: CategoryScore, rows: list[list[str]]) -> None:
    for criterion in group.criteria:
        moves = _moves(criterion.audit)
        rows.append(
            [
                str(criterion.number),
                group.name,
                shown(criterion.score),
                shown(criterion.max) if criterion.max.is_finite() else "不限",
                moves[0] if moves else "",
            ]
        )
        rows.extend(["", "", "", "", m] for m in moves[1:])
    for sub in group.categories:
        _group_rows(sub, rows)
    for move in _moves(group.adjustments):
        rows.append(["", group.name, "", "", move])
    maximum = shown(group.max) if group.max.is_finite() else "不限"
    rows.append(["", f"{group.name}小计", shown(group.score), maximum, ""])


def render_result(result: Result, title: bool = True) -> str:
    """The itemised table of one rubric result, with the clauses that moved points."""
    lines = [f"{result.rubric.title}", f"{result.rubric.id} {result.rubric.version}", ""] if title else []
    rows: list[list[str]] = []
    for category in result.categories:
        _group_rows(category, rows)
    if result.sections:
        rows.append(["", "基础得分", shown(result.base or ZERO), shown(result.max), ""])
        for section in result.sections:
            _group_rows(section, rows)
    lines += table(["序号", "考核项目", "得分", "分值", "扣分/加分"], rows, [True, False, True, True, False])
    parts = ""
    if result.sections:
        base, bonus, penalty = result.base or ZERO, result.bonus or ZERO, result.penalty or ZERO
        parts = f"（基础 {shown(base)}，加分 {signed(bonus)}，扣分 {signed(penalty)}）"
    lines += [
        "",
        f"总分 {shown(result.total)} / {text(result.max)}{parts}"
        + (f"  等次 {result.grade}" if result.grade else ""),
    ]
    lines += [f"  {m}" for m in _moves(result.adjustments)]
    return "\n".join(lines)


def render_composite(result: CompositeResult) -> str:
    """A composite: the branch, each weighted part's table, and the weighted total."""
    lines = [
        result.composite.title,
        f"{result.composite.id} {result.composite.version}",
        f"适用：{result.branch}",
        "",
    ]
    for part in result.parts:
        lines.append(f"== {part.name} × {text(part.weight)}: {part.result.rubric.title}")
        lines.append(render_result(part.result, title=False))
        lines.append("")
    # What each part added is the composite's own audit entry (after any 折算); a part's bonus and
    # penalty sections added outside the weighting have entries of their own.
    weighted = {e.rule: e for e in result.audit if e.kind == "weight"}
    rows = []
    for p in result.parts:
        entry = next(e for rule, e in weighted.items() if rule.endswith(f".{p.name}"))
        rows.append([p.name, entry.inputs[0][1], text(p.weight), text(entry.points)])
    for e in result.audit:
        if e.kind in ("bonus", "penalty"):
            rows.append([e.clause, "", "", signed(e.points)])
    lines += table(["部分", "得分", "权重", "折算"], rows, [False, True, True, True])
    lines += [
        "",
        f"综合得分 {text(result.total)} / {text(result.max)}"
        + (f"  等次 {result.grade}" if result.grade else ""),
    ]
    return "\n".join(lines)


def render_partial(rubric: Any, partial: Any) -> str:
    """Ranges still possible per criterion and in total, and the open facts that matter most."""
    ranges = partial.ranges
    rows = []
    for category in rubric.doc.categories:
        for criterion in category.criteria:
            reach = ranges.criteria[criterion.id]
            shown = text(reach.low) if reach.low == reach.high else f"{text(reach.low)}–{text(reach.high)}"
            rows.append([str(criterion.number), category.name, shown, text(criterion.points)])
    lines = [rubric.doc.title, ""]
    lines += table(["序号", "考核项目", "可能得分", "分值"], rows, [True, False, True, True])
    low, high = ranges.total
    how = "" if ranges.exact else " (bound)"
    lines += ["", f"总分可能范围 {text(low)} – {text(high)} / {text(rubric.doc.points)}{how}"]
    if partial.open_facts:
        lines += ["", "尚未取得的事实（按影响从大到小）："]
        lines += [
            f"  {f.criterion}.{f.field}（{f.label}）: 最多影响 {text(f.swing)} 分" for f in partial.open_facts
        ]
    return "\n".join(lines)


def partial_json(partial: Any) -> dict[str, Any]:
    """The JSON form of a partial score."""
    ranges = partial.ranges
    return {
        "total": {"low": text(ranges.total[0]), "high": text(ranges.total[1]), "exact": ranges.exact},
        "categories": {
            k: {"low": text(lo), "high": text(hi), "exact": ranges.exact_categories[k]}
            for k, (lo, hi) in ranges.categories.items()
        },
        "criteria": {
            k: {"low": text(r.low), "high": text(r.high), "exact": r.exact}
            for k, r in ranges.criteria.items()
        },
        "open_facts": [
            {"criterion": f.criterion, "field": f.field, "label": f.label, "swing": text(f.swing)}
            for f in partial.open_facts
        ],
    }
