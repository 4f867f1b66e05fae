"""Batch scoring: stream records from a file, score each, write results and rejects atomically.

Memory stays flat: records are read, scored and written one chunk at a time. Nothing is lost: a
bad record goes to the errors file with its line number and all its problems, the run ends with
``read == scored + rejected + blank``, and both output files appear under their final names only
when the run completes (``--max-errors`` stopping early leaves the previous outputs untouched).
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import io
import itertools
import json
import multiprocessing
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TextIO

from ._atomic import STDIO, FileError, atomic_writers, is_special, refuse_clobbering
from ._documents import DEFAULT_LIMITS, Limits
from ._errors import EvidenceError, Problem, RubricEngineError
from ._evidence import MAX_PROBLEMS_PER_RECORD, capped
from ._numbers import text
from ._readers import Item, Tally, read_items
from ._result import CompositeResult, Result
from ._rubric import Composite, Rubric
from ._xlsx_forms import RESULT_HEAD, SCORE, SUBTOTAL, ResultsBook, result_columns

CHUNK = 500
Format = Literal["jsonl", "csv", "xlsx"]
BOM = "\ufeff"  # Excel reads a CSV file as UTF-8 only when it starts with one
OUT_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".xlsx": "xlsx"}


def output_format(out: str | Path, fmt: str | None, formats: dict[str, str], default: str) -> str:
    """The format an output is written in: its extension's, else ``fmt``, else ``default``.
    A known extension that disagrees with ``fmt`` is refused (``format-mismatch``), never chosen
    between silently."""
    suffix = "" if str(out) == STDIO else Path(out).suffix.lower()
    implied = formats.get(suffix)
    if fmt is not None and implied is not None and fmt != implied:
        raise FileError(
            [
                Problem(
                    "format-mismatch",
                    f"--format {fmt} does not match the output's extension {suffix} ({implied})",
                    (),
                    file=str(out),
                    hint=f"drop --format, or name the output with .{fmt}",
                )
            ]
        )
    return fmt or implied or default


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
    output: str | None  # a JSON line or a CSV row (already formatted); "" for a workbook row
    problems: tuple[Problem, ...] = ()
    blank: bool = False
    cells: tuple[Cell, ...] = ()  # a workbook row


def _compact(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, allow_nan=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the input: JSON escapes keep the line valid UTF-8
        return json.dumps(data, ensure_ascii=True, sort_keys=True, allow_nan=False, separators=(",", ":"))
    return text


def csv_header(scorer: Rubric | Composite) -> list[str]:
    """Columns of the CSV output: unit, line, total, max, grade, then category subtotals (part
    totals and the parts' subtotals for a composite), then every criterion's score."""
    return [name for name, _ in (*RESULT_HEAD, *result_columns(scorer))]


Cell = str | int | Decimal | None


def result_values(result: Result | CompositeResult) -> dict[str, Decimal]:
    """A result's numbers by results column (``组织领导``, ``T1-01.score``; ``table1.total``,
    ``table1.组织领导.subtotal``, ``table1.T1-01.score``)."""
    if isinstance(result, CompositeResult):
        values: dict[str, Decimal] = {}
        for part in result.parts:
            values[f"{part.name}.total"] = part.result.total
            values.update({f"{part.name}.{c.id}{SUBTOTAL}": c.score for c in part.result.categories})
            values.update({f"{part.name}.{c.id}{SCORE}": c.score for c in part.result.criteria()})
        return values
    return {
        **{c.id: c.score for c in result.categories},
        **{f"{c.id}{SCORE}": c.score for c in result.criteria()},
    }


def _csv_row(unit: str, line: int, result: Result | CompositeResult, names: tuple[str, ...]) -> list[Cell]:
    row: list[Cell] = [unit, line, result.total, result.max, result.grade or ""]
    values = result_values(result)
    return row + [values.get(name) for name in names]  # a part not weighted stays empty


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
        self.names = tuple(name for name, _ in result_columns(scorer))

    def __call__(self, item: Item) -> Scored:
        if item.blank or item.problems:
            return Scored(item.line, item.unit, None, item.problems, item.blank)
        try:
            result = self.scorer.score(item.record, audit=True, positions=item.positions)
        except EvidenceError as exc:
            return Scored(item.line, item.unit, None, exc.problems)
        if self.fmt == "csv":
            return Scored(item.line, item.unit, csv_line(_csv_row(item.unit, item.line, result, self.names)))
        if self.fmt == "xlsx":
            return Scored(
                item.line, item.unit, "", cells=tuple(_csv_row(item.unit, item.line, result, self.names))
            )
        body = result.to_dict() if self.audit else result.summary()
        return Scored(item.line, item.unit, _compact({"unit": item.unit, "line": item.line, **body}) + "\n")

    def chunk(self, items: list[Item]) -> list[Scored]:
        """Score a chunk (the unit of work sent to a process)."""
        return [self(item) for item in items]


_WORKER: _Worker | None = None


def _init(scorer: Rubric | Composite, fmt: Format, audit: bool) -> None:
    """Set up a worker process; the scorer arrives pickled as its sources and limits, so it is the
    rubric the parent loaded (with raised limits too), whatever happened to its files since."""
    global _WORKER  # noqa: PLW0603 - one worker object per process, set by the pool initializer
    # Ctrl-C reaches the whole process group: the parent alone decides how the run ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = _Worker(scorer, fmt, audit)


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
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init, initargs=(scorer, fmt, audit))
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
    # A problem already placed in a cell (units.xlsx!单位!D7) keeps its place.
    problems = [
        reported(replace(p, file=p.file or source, line=p.line or scored.line)).as_dict()
        for p in scored.problems
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
    progress: Callable[[int, Tally], None] | None = None,
    encoding: str | None = None,
    bom: bool = True,
) -> Summary:
    """Score every record of ``source`` into ``out`` (and rejects into ``errors``), atomically.

    ``-`` reads standard input or writes standard output. An output that is the input, a rubric
    file or the other output is refused before anything is read or written. ``fmt`` is jsonl,
    csv (with a UTF-8 BOM for Excel when written to a file, unless ``bom`` is False) or xlsx;
    ``encoding`` is a CSV input's (detected when None); ``progress`` is called with the records
    read so far and how far through the input the reader is.
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
    book = ResultsBook(scorer) if fmt == "xlsx" else None  # before reading: openpyxl may be missing
    tally = Tally()
    counts = [0, 0, 0, 0]  # read, scored, rejected, blank
    items = read_items(source, scorer, limits, input_format, encoding=encoding, tally=tally)
    stopped = False
    try:
        with atomic_writers([out, errors], newline="") as (handle, bad):
            if fmt == "csv":
                if bom and str(out) != STDIO and not is_special(out):
                    handle.write(BOM)
                handle.write(csv_line(csv_header(scorer)))
            stream = score_stream(scorer, items, fmt=fmt, audit=audit, workers=workers)
            _write(
                stream,
                counts,
                handle=handle,
                bad=bad,
                book=book,
                source=str(source),
                max_errors=max_errors,
                progress=progress,
                tally=tally,
            )
            if book is not None:
                handle.flush()
                book.save(handle.buffer)
    except _StopEarly:
        stopped = True
    if progress is not None:
        progress(counts[0], tally)
    return Summary(counts[0], counts[1], counts[2], counts[3], stopped)


def _write(
    stream: Iterator[Scored],
    counts: list[int],
    *,
    handle: TextIO,
    bad: TextIO,
    book: ResultsBook | None,
    source: str,
    max_errors: int | None,
    progress: Callable[[int, Tally], None] | None,
    tally: Tally,
) -> None:
    listed = 0
    for result in stream:
        counts[0] += 1
        if result.blank:
            counts[3] += 1
        elif result.output is None:
            counts[2] += 1
            room = max(min(MAX_PROBLEMS_PER_RECORD, MAX_PROBLEMS_PER_RUN - listed), 1)
            problems = capped(result.problems, room)
            listed += len(problems)
            bad.write(error_record(replace(result, problems=problems), source))
            if max_errors is not None and counts[2] >= max_errors:
                raise _StopEarly
        else:
            counts[1] += 1
            if book is not None:
                book.append(list(result.cells))
            else:
                handle.write(result.output)
        if progress is not None and counts[0] % PROGRESS_EVERY == 0:
            progress(counts[0], tally)


PROGRESS_EVERY = 100


class ProgressBar:
    """A progress bar on standard error: records read, how far through the input (bytes of the
    file's size) with rate and time left. tqdm draws it when installed; else a plain line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, records: int, tally: Tally) -> None:
        """Show the records read so far and the reader's position."""
        try:
            tqdm = importlib.import_module("tqdm").tqdm  # optional: a plain line when it is missing
        except ImportError:
            self._plain(records, tally)
            return
        if self.bar is None:
            sized = tally.total is not None
            self.bar = tqdm(
                total=tally.total,
                unit="B" if sized else " records",
                unit_scale=sized,
                unit_divisor=1024,
                file=self.stream,
                desc="scoring",
                leave=True,
                dynamic_ncols=True,
            )
        done = tally.done if tally.total is not None else records
        self.bar.update(done - self.bar.n)
        if tally.total is not None:
            self.bar.set_postfix_str(f"{records} records", refresh=False)

    def _plain(self, records: int, tally: Tally) -> None:
        now = time.monotonic()
        if now - self.shown < 0.5 and tally.done != tally.total:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-9)
        line = f"scoring: {records} records, {records / elapsed:.0f}/s"
        if tally.total:
            share = min(tally.done / tally.total, 1.0)
            left = elapsed * (1 - share) / share if share else 0.0
            line += f", {share:.0%} of {tally.total} bytes, {left:.0f}s left"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line, so that the summary starts on a line of its own."""
        if self.bar is not None:
            self.bar.close()
        else:
            self.stream.write("\n")
            self.stream.flush()


class _StopEarly(Exception):
    """Raised inside the writers so that neither output is renamed into place."""
