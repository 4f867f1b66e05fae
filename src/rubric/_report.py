"""The bulletin: batch results ranked by total, with subtotals and the clauses that cost the most.

Ranking rule: higher total first; equal totals share a rank and the next rank skips (1, 2, 2, 4);
inside a tie, units are listed by name (Unicode code point order), then by input line, so the
same results always give the same bulletin.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from ._batch import csv_line
from ._documents import parse_json_line
from ._errors import EvidenceError, Problem
from ._numbers import text
from ._result import AuditEntry
from ._result import reasons as result_reasons


@dataclass(frozen=True, slots=True)
class Row:
    """One unit in the bulletin."""

    rank: int
    unit: str
    line: int
    total: Decimal
    max: Decimal
    columns: tuple[tuple[str, str], ...]  # (header, value) subtotals or part totals
    reasons: tuple[tuple[str, Decimal], ...]  # (label, points lost), most costly first


def _reasons(record: dict[str, Any]) -> list[dict[str, Any]]:
    if "reasons" in record:
        return list(record["reasons"])
    if record.get("kind") == "composite":  # a full result: reasons come from the parts' audits
        return [r for p in record["parts"] for r in _full_reasons(p["result"], p["name"])]
    return _full_reasons(record, None)


def _full_reasons(record: dict[str, Any], part: str | None) -> list[dict[str, Any]]:
    entries = [
        AuditEntry.from_dict(e) for cat in record["categories"] for c in cat["criteria"] for e in c["audit"]
    ]
    return result_reasons(entries, part=part)


def _columns(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if record.get("kind") == "composite":
        out = []
        for part in record["parts"]:
            total = part["total"] if "total" in part else part["result"]["total"]
            out += [(part["name"], total), (f"{part['name']}权重", part["weight"])]
        return tuple(out)
    return tuple((c["name"], c["score"]) for c in record["categories"])


def _weights(record: dict[str, Any]) -> dict[str, Decimal]:
    if record.get("kind") != "composite":
        return {}
    return {p["name"]: Decimal(p["weight"]) for p in record["parts"]}


def read_results(path: str | Path) -> Iterator[dict[str, Any]]:
    """Batch results, one per JSON line."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = parse_json_line(line)
            except EvidenceError as exc:
                raise EvidenceError([replace(p, file=str(path), line=number) for p in exc.problems]) from None
            if not isinstance(value, dict) or "total" not in value:
                raise EvidenceError(
                    [Problem("not-a-result", "not a batch result line", (), file=str(path), line=number)]
                )
            yield value


def rank(records: list[dict[str, Any]], top: int = 3) -> list[Row]:
    """Rank results by total (ties share a rank; within a tie by unit name, then line)."""
    ordered = sorted(
        records, key=lambda r: (-Decimal(r["total"]), str(r.get("unit", "")), int(r.get("line", 0)))
    )
    rows: list[Row] = []
    previous: Decimal | None = None
    current = 0
    for position, record in enumerate(ordered, start=1):
        total = Decimal(record["total"])
        if total != previous:
            current, previous = position, total
        weights = _weights(record)
        costs = []
        for reason in _reasons(record):
            part = reason.get("part")
            weight = weights.get(part, Decimal(1)) if part else Decimal(1)
            label = (
                f"{part}·{reason['criterion']} {reason['clause']}"
                if part
                else f"{reason['criterion']} {reason['clause']}"
            )
            costs.append((label, -Decimal(reason["points"]) * weight))
        costs.sort(key=lambda c: (-c[1], c[0]))
        rows.append(
            Row(
                current,
                str(record.get("unit", "")),
                int(record.get("line", 0)),
                total,
                Decimal(record["max"]),
                _columns(record),
                tuple(costs[:top]),
            )
        )
    return rows


def _headers(rows: list[Row]) -> list[str]:
    """Every column any row has, in first-seen order (a composite's branches weigh different parts)."""
    return list(dict.fromkeys(h for row in rows for h, _ in row.columns))


def _number(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _md(value: str) -> str:
    """Escape a cell for a Markdown table: pipes, backslashes, line breaks, leading markup."""
    value = value.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    for char in "*_`[]<>#":
        value = value.replace(char, "\\" + char)
    return value


def markdown(rows: list[Row], title: str = "考核结果通报") -> str:
    """The bulletin as a Markdown table."""
    headers = _headers(rows)
    lines = [
        f"# {_md(title)}",
        "",
        "名次规则：总分从高到低；总分相同名次并列（其后名次顺延），并列者按单位名称排序。",
        "",
    ]
    lines.append("| 名次 | 单位 | 总分 | " + " | ".join(_md(h) for h in headers) + " | 主要失分 |")
    lines.append("|---:|---|---:|" + "---:|" * len(headers) + "---|")
    for row in rows:
        lost = "；".join(f"{_md(label)}（−{text(points)}）" for label, points in row.reasons) or "—"
        cells = [
            str(row.rank),
            _md(row.unit),
            f"{text(row.total)} / {text(row.max)}",
            *(_md(dict(row.columns).get(h, "—")) for h in headers),
            lost,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_report(rows: list[Row]) -> str:
    """The bulletin as CSV (formula-safe text cells; numbers stay numbers)."""
    headers = _headers(rows)
    top = max((len(r.reasons) for r in rows), default=0)
    out = [
        csv_line(
            [
                "rank",
                "unit",
                "line",
                "total",
                "max",
                *headers,
                *(f"reason{i + 1}" for i in range(top)),
                *(f"lost{i + 1}" for i in range(top)),
            ]
        )
    ]
    for row in rows:
        labels = [label for label, _ in row.reasons] + [""] * (top - len(row.reasons))
        lost: list[Decimal | None] = [points for _, points in row.reasons] + [None] * (top - len(row.reasons))
        out.append(
            csv_line(
                [
                    row.rank,
                    row.unit,
                    row.line,
                    row.total,
                    row.max,
                    *(_number(dict(row.columns).get(h)) for h in headers),
                    *labels,
                    *lost,
                ]
            )
        )
    return "".join(out)


def dumps_rows(rows: list[Row]) -> str:
    """The ranked rows as JSON (for other systems)."""
    return json.dumps(
        [
            {
                "rank": r.rank,
                "unit": r.unit,
                "line": r.line,
                "total": text(r.total),
                "max": text(r.max),
                "columns": dict(r.columns),
                "reasons": [{"clause": c, "lost": text(p)} for c, p in r.reasons],
            }
            for r in rows
        ],
        ensure_ascii=False,
        indent=2,
    )
