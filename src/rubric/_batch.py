"""Batch scoring: stream records from a file, score each, write results and rejects atomically.

Memory stays flat: records are read, scored and written one chunk at a time. Nothing is lost: a
bad record goes to the errors file with its line number and all its problems, the run ends with
``read == scored + rejected + blank``, and both output files appear under their final names only
when the run completes (``--max-errors`` stopping early leaves the previous outputs untouched).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from ._atomic import STDIO, FileError, atomic_writers, is_special, refuse_clobbering
from ._documents import DEFAULT_LIMITS, Limits, parse
from ._errors import EvidenceError, Problem, RubricEngineError
from ._evidence import MAX_PROBLEMS_PER_RECORD, capped
from ._model import Category
from ._numbers import text
from ._readers import Item, read_items
from ._result import CompositeResult, Result
from ._rubric import Composite, Rubric

CHUNK = 500
Format = Literal["jsonl", "csv"]


@dataclass(frozen=True, slots=True)
class Summary:
    """How a batch run accounted for its input."""

    read: int
    scored: int
    rejected: int
    blank: int
    stopped_early: bool = False

    @property
    def balanced(self) -> bool:
        """Every line read is scored, rejected or blank."""
        return self.read == self.scored + self.rejected + self.blank

    def __str__(self) -> str:
        tail = " (stopped early: --max-errors reached; outputs left unchanged)" if self.stopped_early else ""
        return f"read {self.read}, scored {self.scored}, rejected {self.rejected}, blank {self.blank}{tail}"


@dataclass(frozen=True, slots=True)
class Scored:
    """One scored or rejected line, ready to write."""

    line: int
    unit: str
    output: str | None  # a JSON line or a CSV row (already formatted)
    problems: tuple[Problem, ...] = ()
    blank: bool = False


def _compact(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the input: JSON escapes keep the line valid UTF-8
        return json.dumps(data, ensure_ascii=True, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return text


def csv_header(scorer: Rubric | Composite) -> list[str]:
    """Columns of the CSV output: unit, line, total, max, grade, then subtotals."""
    if isinstance(scorer, Composite):
        extra = [f"{name}.total" for name in scorer.parts]
    else:
        extra = [node.id for _, node in scorer.doc.walk() if isinstance(node, Category)]
    return ["unit", "line", "total", "max", "grade", *extra]


Cell = str | int | Decimal | None


def _csv_row(unit: str, line: int, result: Result | CompositeResult, parts: tuple[str, ...]) -> list[Cell]:
    row: list[Cell] = [unit, line, result.total, result.max, result.grade or ""]
    if isinstance(result, CompositeResult):
        weighted = {p.name: p.result.total for p in result.parts}
        row += [weighted.get(name) for name in parts]
    else:
        row += [c.score for c in result.groups()]
    return row


def safe_cell(value: Cell) -> str:
    """A CSV cell a spreadsheet will not run as a formula: numbers are written as numbers, and
    text that starts like a formula (= + - @ tab, return) gets a leading apostrophe, even text
    that looks like a number (a unit called "+1" is a name, not a number)."""
    if value is None:
        return ""
    if isinstance(value, (int, Decimal)):
        return text(Decimal(value))
    if not value.isprintable() and any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")  # keep the file valid UTF-8
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


def csv_line(cells: Iterable[Cell]) -> str:
    """One CSV line (RFC 4180: CRLF, so a cell holding a line break is quoted): numbers as exact
    numbers, text made formula-safe."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return out.getvalue()


class _Worker:
    """Scores items; built once per process."""

    def __init__(self, scorer: Rubric | Composite, fmt: Format, audit: bool) -> None:
        self.scorer, self.fmt, self.audit = scorer, fmt, audit
        self.parts = tuple(scorer.parts) if isinstance(scorer, Composite) else ()

    def __call__(self, item: Item) -> Scored:
        if item.blank or item.problems:
            return Scored(item.line, item.unit, None, item.problems, item.blank)
        try:
            result = self.scorer.score(item.record, audit=True)
        except EvidenceError as exc:
            return Scored(item.line, item.unit, None, exc.problems)
        if self.fmt == "csv":
            return Scored(item.line, item.unit, csv_line(_csv_row(item.unit, item.line, result, self.parts)))
        body = result.to_dict() if self.audit else result.summary()
        return Scored(item.line, item.unit, _compact({"unit": item.unit, "line": item.line, **body}) + "\n")

    def chunk(self, items: list[Item]) -> list[Scored]:
        """Score a chunk (the unit of work sent to a process)."""
        return [self(item) for item in items]


@dataclass(frozen=True, slots=True)
class _Recipe:
    """What a worker process rebuilds the scorer from: its sources and the parent's limits (a
    rubric pickled on its own would be rebuilt under the default limits, and one the parent could
    load with raised limits would then fail in every worker)."""

    source: bytes
    path: str | None
    limits: Limits
    parts: tuple[tuple[str, bytes, str | None], ...] | None

    @classmethod
    def of(cls, scorer: Rubric | Composite, limits: Limits) -> _Recipe:
        if isinstance(scorer, Composite):
            parts = tuple((name, part.source, part.path) for name, part in scorer.parts.items())
            return cls(scorer.source, scorer.path, limits, parts)
        return cls(scorer.source, scorer.path, limits, None)

    def build(self) -> Rubric | Composite:
        if self.parts is None:
            return Rubric.from_bytes(self.source, self.path, self.limits)
        parts = {name: Rubric.from_bytes(source, path, self.limits) for name, source, path in self.parts}
        data = parse(self.source, file=self.path, limits=self.limits).data
        return Composite.from_data(data, parts, file=self.path)


_WORKER: _Worker | None = None


def _init(recipe: _Recipe, fmt: Format, audit: bool) -> None:
    global _WORKER  # noqa: PLW0603 - one worker object per process, set by the pool initializer
    # Ctrl-C reaches the whole process group: the parent alone decides how the run ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = _Worker(recipe.build(), fmt, audit)


def _run_chunk(items: list[Item]) -> list[Scored]:
    assert _WORKER is not None
    return _WORKER.chunk(items)


def _chunks(items: Iterator[Item]) -> Iterator[list[Item]]:
    while chunk := list(itertools.islice(items, CHUNK)):
        yield chunk


class WorkerError(RubricEngineError):
    """A worker process died (killed, out of memory) or could not start: the run was abandoned."""

    family = "io"


def score_stream(
    scorer: Rubric | Composite,
    items: Iterator[Item],
    *,
    fmt: Format = "jsonl",
    audit: bool = False,
    workers: int = 1,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Scored]:
    """Score items in input order, in this process or in ``workers`` supervised processes."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    local = _Worker(scorer, fmt, audit)
    if workers == 1:
        for item in items:
            yield local(item)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init, initargs=(_Recipe.of(scorer, limits), fmt, audit)
    )
    try:
        # At most two chunks per worker in flight: reading never runs ahead of scoring, so memory
        # stays flat whatever the input's size.
        pending: deque[tuple[list[Item], Future[list[Scored]]]] = deque()
        for chunk in itertools.chain(_chunks(items), [None]):
            if chunk is not None:
                with _workers_born_deaf():
                    future = pool.submit(_run_chunk, chunk)
                pending.append((chunk, future))
                if len(pending) < 2 * workers:
                    continue
            while pending and (chunk is None or len(pending) >= 2 * workers):
                sent, future = pending.popleft()
                yield from _collect(sent, future, local)
    except BrokenProcessPool:
        raise WorkerError(
            [
                Problem(
                    "worker-died",
                    "a worker process stopped unexpectedly (killed, out of memory, or unable to "
                    "start); the run was abandoned and the outputs left unchanged",
                    hint="rerun, or use --workers 1 to score in this process",
                )
            ]
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _workers_born_deaf() -> Iterator[None]:
    """Ignore Ctrl-C while a submit may start worker processes: an ignored SIGINT is inherited
    across exec and Python keeps it ignored at start-up, so a worker still importing when the
    user presses Ctrl-C prints no traceback (the initializer ignores it too, but runs later)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _collect(sent: list[Item], future: Future[list[Scored]], local: _Worker) -> list[Scored]:
    try:
        return future.result()
    except BrokenProcessPool:
        raise
    except Exception:
        # A chunk that cannot travel (a record nested too deep to pickle) is scored here instead,
        # so that any number of workers gives the same output; a real bug raises here again.
        return local.chunk(sent)


# A hint may list every item of a large checklist: a report of 100 problems must not be megabytes.
MAX_TEXT = 500


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def reported(problem: Problem) -> Problem:
    """A problem as it is reported: message and hint cut to MAX_TEXT characters."""
    if len(problem.message) <= MAX_TEXT and len(problem.hint) <= MAX_TEXT:
        return problem
    return replace(problem, message=_cut(problem.message), hint=_cut(problem.hint))


def error_record(scored: Scored, source: str) -> str:
    """A line of the errors file: the input file and line, the unit, and all the record's problems."""
    problems = [
        reported(replace(p, file=source, line=p.line or scored.line)).as_dict() for p in scored.problems
    ]
    return _compact({"file": source, "line": scored.line, "unit": scored.unit, "problems": problems}) + "\n"


# Listed problems per run: with the per-record cap this bounds the errors file (each rejected record
# still gets its line, with a count of what was not listed) whatever the input holds.
MAX_PROBLEMS_PER_RUN = 100_000


def inputs_of(scorer: Rubric | Composite, source: str | Path) -> list[tuple[str, str | Path]]:
    """The files a run reads, named for messages: the input and every rubric file."""
    named: list[tuple[str, str | Path]] = [("the input", source)]
    if scorer.path is not None:
        named.append(("the rubric", scorer.path))
    if isinstance(scorer, Composite):
        named += [(f"the rubric part {name}", p.path) for name, p in scorer.parts.items() if p.path]
    return named


def run_batch(
    scorer: Rubric | Composite,
    source: str | Path,
    out: str | Path,
    *,
    errors: str | Path | None = None,
    fmt: Format = "jsonl",
    input_format: str | None = None,
    audit: bool = False,
    workers: int = 1,
    max_errors: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Score every record of ``source`` into ``out`` (and rejects into ``errors``), atomically.

    ``-`` reads standard input or writes standard output. An output that is the input, a rubric
    file or the other output is refused before anything is read or written.
    """
    if errors is None:
        if str(out) == STDIO or is_special(out):  # no OUT.errors.jsonl beside a stream or device
            raise FileError(
                [
                    Problem(
                        "io",
                        "the results go to a stream: name a file for the rejected records",
                        (),
                        file=str(out),
                        hint="add --errors FILE",
                    )
                ]
            )
        errors = Path(str(out) + ".errors.jsonl")
    refuse_clobbering([("--out", out), ("--errors", errors)], inputs_of(scorer, source))
    read = scored = rejected = blank = listed = 0
    items = read_items(source, scorer, limits, input_format)
    stopped = False
    try:
        with atomic_writers([out, errors], newline="") as (handle, bad):
            if fmt == "csv":
                handle.write(csv_line(csv_header(scorer)))
            stream = score_stream(scorer, items, fmt=fmt, audit=audit, workers=workers, limits=limits)
            for result in stream:
                read += 1
                if result.blank:
                    blank += 1
                elif result.output is None:
                    rejected += 1
                    room = max(min(MAX_PROBLEMS_PER_RECORD, MAX_PROBLEMS_PER_RUN - listed), 1)
                    problems = capped(result.problems, room)
                    listed += len(problems)
                    bad.write(error_record(replace(result, problems=problems), str(source)))
                    if max_errors is not None and rejected >= max_errors:
                        stopped = True
                        raise _StopEarly
                else:
                    scored += 1
                    handle.write(result.output)
                if progress is not None and read % 1000 == 0:
                    progress(read)
    except _StopEarly:
        pass
    return Summary(read, scored, rejected, blank, stopped)


class _StopEarly(Exception):
    """Raised inside the writers so that neither output is renamed into place."""
