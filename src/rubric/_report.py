"""The bulletin: batch results ranked by total, with subtotals and the clauses that cost the most.

Ranking rule: higher total first; equal totals share a rank and the next rank skips (1, 2, 2, 4);
inside a tie, units are listed by name (Unicode code point order), then by input line, so the
same results always give the same bulletin.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

from ._batch import csv_line
from ._documents import DEFAULT_LIMITS, Limits, parse_json_line
from ._errors import EvidenceError, Problem, short_repr
from ._numbers import text
from ._readers import bounded_lines, open_input
from ._result import AuditEntry, CriterionScore, shortfalls
from ._result import reasons as result_reasons
from ._xlsx_forms import DETAIL

DEDUCTED, NOT_EARNED = "扣分", "未得分"
CSV_HEAD = ["unit", "line", "total", "max", "grade"]  # the first columns of batch's CSV


class Lost(NamedTuple):
    """Points a unit lost on one clause: deducted (扣分) or not earned from a tier or a criterion
    that starts from zero (未得分)."""

    label: str
    points: Decimal
    kind: str = DEDUCTED


@dataclass(frozen=True, slots=True)
class Row:
    """One unit in the bulletin."""

    rank: int
    unit: str
    line: int
    total: Decimal
    max: Decimal
    columns: tuple[tuple[str, str], ...]  # (header, value) subtotals or part totals
    reasons: tuple[Lost, ...]  # most costly first
    grade: str | None = None


def _reasons(record: dict[str, Any]) -> list[dict[str, Any]]:
    if "reasons" in record:
        return list(record["reasons"])
    if record.get("kind") == "composite":  # a full result: reasons come from the parts' audits
        return [r for p in record["parts"] for r in _full_reasons(p["result"], p["name"])]
    return _full_reasons(record, None)


def _shortfalls(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Points not earned; results written before batch recorded them have none to show."""
    if "shortfalls" in record:
        return list(record["shortfalls"])
    if "reasons" in record:
        return []
    if record.get("kind") == "composite":
        return [s for p in record["parts"] for s in _full_shortfalls(p["result"], p["name"])]
    return _full_shortfalls(record, None)


def _full_shortfalls(record: dict[str, Any], part: str | None) -> list[dict[str, Any]]:
    criteria = [CriterionScore.from_dict(c) for cat in record["categories"] for c in cat["criteria"]]
    return shortfalls(criteria, part=part)


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
    """Batch results, the JSON Lines or the CSV ``rubric batch`` writes (``-`` reads standard
    input); a line that is not a result raises EvidenceError naming its line."""
    with open_input(path) as handle:
        lines = bounded_lines(handle, limits.max_bytes)
        first = next(lines, b"")
        rest = itertools.chain([first], lines)
        if first is not None and first.removeprefix(b"\xef\xbb\xbf").startswith(",".join(CSV_HEAD).encode()):
            yield from _csv_results(str(path), rest, limits)
        else:
            yield from _json_results(str(path), rest, limits)


def _decoded(path: str, lines: Iterable[bytes | None], limits: Limits) -> Iterator[str]:
    for number, raw in enumerate(lines, start=1):
        try:
            if raw is None:
                raise _bad(f"the line is longer than the limit of {limits.max_bytes} bytes", "too-large")
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise _bad("the line is not UTF-8", "not-utf8") from None
        except EvidenceError as exc:
            raise EvidenceError([replace(p, file=path, line=number) for p in exc.problems]) from None


def _csv_text(cell: str) -> str:
    """Undo the formula guard batch puts on text cells (a leading apostrophe)."""
    return cell[1:] if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r'" else cell


def _csv_results(path: str, lines: Iterable[bytes | None], limits: Limits) -> Iterator[dict[str, Any]]:
    """Results from batch's CSV: totals, 等次 and subtotal (or part total) columns; the clauses that
    cost points are not in that file."""
    rows = csv.reader(_decoded(path, lines, limits))
    header = next(rows)
    extra = [name for name in header[len(CSV_HEAD) :] if not name.endswith(DETAIL)]  # not each criterion
    for cells in rows:
        if not any(cells):
            continue
        try:
            if len(cells) != len(header):
                raise _bad(f"{len(cells)} cells under a header of {len(header)}")
            row = dict(zip(header, cells, strict=True))
            try:
                [Decimal(row[key]) for key in ("total", "max", *extra) if row[key]]
            except InvalidOperation:
                raise _bad("a total that is not a number") from None
            record = {
                "unit": _csv_text(row["unit"]),
                "line": int(row["line"]) if row["line"].isdigit() else 0,
                "total": row["total"],
                "max": row["max"],
                "grade": _csv_text(row["grade"]) or None,
                "categories": [{"name": h, "score": row[h]} for h in extra if row[h]],
                "reasons": [],
                "shortfalls": [],
            }
            _row(record, 1, 0)
        except EvidenceError as exc:
            raise EvidenceError([replace(p, file=path, line=rows.line_num) for p in exc.problems]) from None
        yield record


def _json_results(path: str, lines: Iterable[bytes | None], limits: Limits) -> Iterator[dict[str, Any]]:
    for number, raw in enumerate(lines, start=1):
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
            raise EvidenceError([replace(p, file=path, line=number) for p in exc.problems]) from None
        yield value


def _bad(message: str, code: str = "not-a-result") -> EvidenceError:
    hint = "give the JSON Lines or CSV output of 'rubric batch'"
    return EvidenceError([Problem(code, message, (), hint=hint)])


def _row(record: dict[str, Any], rank: int, clauses: int) -> Row:
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
            costs.append(Lost(label, -Decimal(reason["points"]) * weight))
        for short in _shortfalls(record):
            part = short.get("part")
            weight = weights.get(part, Decimal(1)) if part else Decimal(1)
            # A zero-start criterion without tiers has no one clause to quote: its id says where.
            label = f"{part}·{short['criterion']}" if part else str(short["criterion"])
            label = f"{label} {short['clause']}" if short["clause"] else label
            costs.append(Lost(label, -Decimal(short["points"]) * weight, NOT_EARNED))
        costs.sort(key=lambda c: (-c.points, c.label))
        columns = tuple((str(h), str(v)) for h, v in _columns(record))
        row = Row(
            rank,
            str(record.get("unit", "")),
            int(record.get("line", 0)),
            total,
            Decimal(record["max"]),
            columns,
            tuple(costs[:clauses]),
            None if record.get("grade") is None else str(record["grade"]),
        )
        if not all(n.is_finite() for n in (total, row.max, *(Decimal(v) for _, v in columns))):
            raise ValueError("totals and subtotals must be finite numbers")
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, IndexError) as exc:
        what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc) or type(exc).__name__
        raise _bad(f"not a batch result line: {short_repr(what, 120)}") from None
    return row


def rank(records: list[dict[str, Any]], clauses: int = 3, *, top: int | None = None) -> list[Row]:
    """Rank results by total (ties share a rank; within a tie by unit name, then line), with the
    ``clauses`` that cost each unit most; ``top`` keeps the units ranked ``top`` or better (a tie at
    the boundary keeps every tied unit)."""
    ordered = sorted((_row(r, 0, clauses) for r in records), key=lambda row: (-row.total, row.unit, row.line))
    rows: list[Row] = []
    previous: Decimal | None = None
    current = 0
    for position, row in enumerate(ordered, start=1):
        if row.total != previous:
            current, previous = position, row.total
        rows.append(replace(row, rank=current))
    return rows if top is None else [row for row in rows if row.rank <= top]


def graded(rows: list[Row]) -> bool:
    """Whether the bulletin needs a 等次 column (some unit has a grade band)."""
    return any(row.grade for row in rows)


def lost_text(lost: Lost) -> str:
    """How a bulletin shows one loss: −5 for a deduction, 未得分2 for points not earned."""
    return f"{NOT_EARNED}{text(lost.points)}" if lost.kind == NOT_EARNED else f"−{text(lost.points)}"


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
    grade = ["等次"] if graded(rows) else []
    lines.append("| " + " | ".join(["名次", "单位", "总分", *grade, *map(_md, headers), "主要失分"]) + " |")
    lines.append("|---:|---|---:|" + "---|" * len(grade) + "---:|" * len(headers) + "---|")
    for row in rows:
        lost = "；".join(f"{_md(r.label)}（{lost_text(r)}）" for r in row.reasons) or "—"
        cells = [
            str(row.rank),
            _md(row.unit),
            f"{text(row.total)} / {text(row.max)}",
            *([_md(row.grade or "—")] if grade else []),
            *(_md(dict(row.columns).get(h, "—")) for h in headers),
            lost,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def csv_report(rows: list[Row]) -> str:
    """The bulletin as CSV (formula-safe text cells; numbers stay numbers)."""
    headers = _headers(rows)
    top = max((len(r.reasons) for r in rows), default=0)
    grade = graded(rows)
    out = [
        csv_line(
            [
                "rank",
                "unit",
                "line",
                "total",
                "max",
                *(["grade"] if grade else []),
                *headers,
                *(f"reason{i + 1}" for i in range(top)),
                *(f"lost{i + 1}" for i in range(top)),
                *(f"kind{i + 1}" for i in range(top)),
            ]
        )
    ]
    for row in rows:
        gap = top - len(row.reasons)
        labels = [r.label for r in row.reasons] + [""] * gap
        lost: list[Decimal | None] = [r.points for r in row.reasons] + [None] * gap
        kinds = [r.kind for r in row.reasons] + [""] * gap
        out.append(
            csv_line(
                [
                    row.rank,
                    row.unit,
                    row.line,
                    row.total,
                    row.max,
                    *([row.grade or ""] if grade else []),
                    *(_number(dict(row.columns).get(h)) for h in headers),
                    *labels,
                    *lost,
                    *kinds,
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
                "grade": r.grade,
                "columns": dict(r.columns),
                "reasons": [{"clause": c.label, "lost": text(c.points), "kind": c.kind} for c in r.reasons],
            }
            for r in rows
        ],
        ensure_ascii=False,
        indent=2,
    )
