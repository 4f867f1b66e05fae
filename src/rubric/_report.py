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
from ._documents import DEFAULT_LIMITS, Limits, parse_json_line
from ._errors import EvidenceError, Problem, short_repr
from ._numbers import text
from ._readers import bounded_lines, open_input
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


def read_results(path: str | Path, limits: Limits = DEFAULT_LIMITS) -> Iterator[dict[str, Any]]:
    """Batch results, one per JSON line (``-`` reads standard input); a line that is not a result
    raises EvidenceError naming its line."""
    with open_input(path) as handle:
        for number, raw in enumerate(bounded_lines(handle, limits.max_bytes), start=1):
            try:
                if raw is None:
                    raise _bad(f"the line is longer than the limit of {limits.max_bytes} bytes", "too-large")
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    raise _bad("the line is not UTF-8", "not-utf8") from None
                if not line.strip():
                    continue
                value = parse_json_line(line, limits)
                if not isinstance(value, dict) or "total" not in value:
                    raise _bad("not a batch result line")
                _row(value, 1, 0)  # every field the bulletin reads is there and well formed
            except EvidenceError as exc:
                raise EvidenceError([replace(p, file=str(path), line=number) for p in exc.problems]) from None
            yield value


def _bad(message: str, code: str = "not-a-result") -> EvidenceError:
    return EvidenceError([Problem(code, message, (), hint="give the JSON Lines output of 'rubric batch'")])


def _row(record: dict[str, Any], rank: int, top: int) -> Row:
    """One bulletin row; a result missing what the bulletin needs raises EvidenceError."""
    try:
        total = Decimal(record["total"])
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
        columns = tuple((str(h), str(v)) for h, v in _columns(record))
        row = Row(
            rank,
            str(record.get("unit", "")),
            int(record.get("line", 0)),
            total,
            Decimal(record["max"]),
            columns,
            tuple(costs[:top]),
        )
        if not all(n.is_finite() for n in (total, row.max, *(Decimal(v) for _, v in columns))):
            raise ValueError("totals and subtotals must be finite numbers")
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, IndexError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        raise _bad(f"not a batch result line: {short_repr(what, 120)}") from None
    return row


def rank(records: list[dict[str, Any]], top: int = 3) -> list[Row]:
    """Rank results by total (ties share a rank; within a tie by unit name, then line)."""
    ordered = sorted((_row(r, 0, top) for r in records), key=lambda row: (-row.total, row.unit, row.line))
    rows: list[Row] = []
    previous: Decimal | None = None
    current = 0
    for position, row in enumerate(ordered, start=1):
        if row.total != previous:
            current, previous = position, row.total
        rows.append(replace(row, rank=current))
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
