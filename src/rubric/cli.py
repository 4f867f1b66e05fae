"""The ``rubric`` command: thin argument parsing over the public API.

Exit codes: 0 ok; 1 some records rejected or some cases failed or check found errors; 2 unusable
input, rubric or I/O (a batch worker that died included); 3 internal error (a bug: please report
it); 130 interrupted; 141 standard output closed by its reader. Bad input never prints a
traceback; ``--debug`` shows one for internal errors. ``-`` names standard input or output.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import functools
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._analysis import check, partial_score
from ._atomic import STDIO, atomic_writer, refuse_clobbering
from ._batch import BOM, OUT_FORMATS, ProgressBar, inputs_of, output_format, reported, run_batch
from ._cases import Outcome, coverage, criterion_scores, load_cases, run_cases
from ._diff import any_moved, diff_rubrics, movements
from ._diff import as_json as diff_json
from ._diff import render as render_diff
from ._documents import Limits
from ._errors import Problem, RubricEngineError, short_repr
from ._evidence import MAX_PROBLEMS_PER_RECORD, capped
from ._evidence_files import load_evidence
from ._html import bulletin, score_sheet
from ._readers import check_encoding
from ._render import partial_json, render_composite, render_partial, render_result
from ._report import csv_report, dumps_rows, markdown, rank, read_results
from ._result import CompositeResult, dumps
from ._rubric import Composite, Rubric, load
from ._schema import evidence_schema, rubric_schema
from ._version import __version__

EXIT_OK, EXIT_REJECTED, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141  # 128 + SIGINT, 128 + SIGPIPE, as a shell reports them


# What a console that cannot show a character gets instead: the nearest ASCII, else "?".
_ASCII = {"\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2192": "->", "\u00d7": "x", "\u2026": "..."}


def _console_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(_ASCII.get(char, "?") for char in error.object[error.start : error.end]), error.end


codecs.register_error("rubric-console", _console_fallback)


def _safe_console() -> None:
    """Output never fails on a console that cannot encode a character (a GBK console has no
    U+2212 MINUS SIGN): such characters are written in a safe form instead."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            unicode = codecs.lookup(encoding).name.startswith("utf")
        except LookupError:
            unicode = False
        if not unicode and hasattr(stream, "reconfigure"):
            with contextlib.suppress(ValueError, OSError):
                stream.reconfigure(errors="rubric-console")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _problems(problems: Sequence[Problem]) -> None:
    for problem in capped(problems, MAX_PROBLEMS_PER_RECORD):
        _err(str(reported(problem)))


def cmd_score(args: argparse.Namespace) -> int:
    """Score one evidence file."""
    args.format = output_format(args.out or STDIO, args.format, {".html": "html"}, "text")
    if args.out and args.format != "html":
        _err("--out writes a page: use it with --format html")
        return EXIT_INPUT
    if args.out:
        refuse_clobbering(
            [("--out", args.out)], [("the rubric", args.rubric), ("the evidence", args.evidence)]
        )
    scorer = load(args.rubric, limits=args.limits)
    if Path(args.evidence).suffix.lower() == ".xlsx":
        from ._xlsx_read import read_form  # noqa: PLC0415 - openpyxl is an optional extra

        document = read_form(args.evidence, scorer, limits=args.limits)
    else:
        document = load_evidence(args.evidence, limits=args.limits)
    if args.partial:
        if not isinstance(scorer, Rubric):
            _err("--partial works on one rubric: score each part of the composite on its own")
            return EXIT_INPUT
        partial = partial_score(scorer, document.data, document.positions)
        _out(dumps(partial_json(partial)) if args.json else render_partial(scorer, partial))
        return EXIT_OK
    result = scorer.score(document.data, audit=not args.totals, positions=document.positions)
    if args.format == "html":
        return _write(args.out, score_sheet(result, scorer))
    if args.json:
        _out(result.to_json())
    elif isinstance(result, CompositeResult):
        _out(render_composite(result))
    else:
        _out(render_result(result))
    return EXIT_OK


def _write(out: str | None, body: str) -> int:
    """Write a page or report to ``out`` atomically, or to standard output."""
    with atomic_writer(out or STDIO, newline="") as handle:
        handle.write(body)
    return EXIT_OK


def _cases_path(rubric: str, cases: str | None) -> str:
    if cases:
        return cases
    path = Path(rubric)
    return str(path.with_name(path.name.removesuffix(".yaml").removesuffix(".yml") + ".cases.yaml"))


def cmd_test(args: argparse.Namespace) -> int:
    """Run a rubric's cases; print a diff for each failure."""
    scorer = load(args.rubric, limits=args.limits)
    if args.cases and Path(args.cases).suffix.lower() == ".xlsx":
        from ._xlsx_read import read_cases  # noqa: PLC0415 - openpyxl is an optional extra

        case_file = read_cases(args.cases, scorer, limits=args.limits)
    else:
        case_file = load_cases(_cases_path(args.rubric, args.cases), rubric=scorer, limits=args.limits)
    outcomes = run_cases(case_file)
    failed = [o for o in outcomes if not o.passed]
    for outcome in failed:
        where = f"{case_file.path}:{outcome.case.line}" if outcome.case.line else case_file.path
        _out(f"FAIL {where}: {outcome.case.name}")
        if outcome.case.why:
            _out(f"  why: {outcome.case.why}")
        for failure in outcome.failures:
            _out(f"  {failure}")
        if outcome.result is not None:
            for line in _differing_audit(outcome):
                _out(f"    {line}")
    _out(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if args.coverage:
        cov = coverage(scorer, outcomes)
        for criterion, rules in cov.rules.items():
            hit = [r for r in rules if r in cov.hit]
            missed = [r for r in rules if r not in cov.hit]
            mark = "" if not missed else "  not exercised: " + ", ".join(missed)
            _out(f"  {criterion}: {len(hit)}/{len(rules)}{mark}")
        percent = 100 * cov.covered // cov.total if cov.total else 100
        _out(f"coverage: {cov.covered}/{cov.total} rules ({percent}%)")
    return EXIT_REJECTED if failed else EXIT_OK


def _differing_audit(outcome: Outcome) -> list[str]:
    result = outcome.result
    assert result is not None
    scores = criterion_scores(result)
    wrong = {k for k, v in outcome.case.criteria.items() if scores.get(k) != v}
    parts = [p.result for p in result.parts] if isinstance(result, CompositeResult) else [result]
    lines = []
    for part in parts:
        for criterion in part.criteria():
            if criterion.id in wrong:
                for entry in criterion.audit:
                    lines.append(f"{criterion.id} {entry.rule}: {entry.points:+} {entry.clause}")
    return lines


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare two versions of a rubric, and how they score the given records."""
    old, new = load(args.old, limits=args.limits), load(args.new, limits=args.limits)
    if isinstance(old, Rubric) != isinstance(new, Rubric):
        _err("diff compares two rubrics or two composites, not one of each")
        return EXIT_INPUT
    records = [(path, load_evidence(path, limits=args.limits).data) for path in args.evidence or []]
    changes, moves = diff_rubrics(old, new), movements(old, new, records)
    _out(dumps(diff_json(changes, moves)) if args.json else render_diff(changes, moves))
    return EXIT_REJECTED if any_moved(moves) else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """Static checks of rubric files."""
    worst = EXIT_OK
    reports = []
    for path in args.rubrics:
        try:
            problems = check(load(path, limits=args.limits))
        except RubricEngineError as exc:
            problems = list(exc.problems)
            # a file that cannot be read or loaded is unusable input, not a finding of the checks
            worst = EXIT_INPUT
        reports.append((path, problems))
        if any(p.severity == "error" for p in problems):
            worst = max(worst, EXIT_REJECTED)
    if args.format == "json":
        _out(dumps([{"file": f, "problems": [p.as_dict() for p in ps]} for f, ps in reports]))
    else:
        for path, problems in reports:
            for problem in problems:
                _out(f"{problem.severity}: {problem}")
            counts = {s: sum(1 for p in problems if p.severity == s) for s in ("error", "warning", "note")}
            _out(f"{path}: {counts['error']} errors, {counts['warning']} warnings, {counts['note']} notes")
    return worst


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the rubric format, or of one rubric's evidence."""
    if args.evidence:
        _out(
            json.dumps(
                evidence_schema(load(args.evidence, limits=args.limits)),
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _out(json.dumps(rubric_schema(), ensure_ascii=False, indent=2))
    return EXIT_OK


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that atomic writers remove their temporary files


def cmd_batch(args: argparse.Namespace) -> int:
    """Score a file of records into a results file and an errors file."""
    fmt = output_format(args.out, args.format, OUT_FORMATS, "jsonl")
    scorer = load(args.rubric, limits=args.limits)
    signal.signal(signal.SIGTERM, _terminate)
    show = ProgressBar(sys.stderr) if sys.stderr.isatty() else None  # silent in pipes and logs
    try:
        summary = run_batch(
            scorer,
            args.input,
            args.out,
            errors=args.errors,
            fmt=fmt,  # type: ignore[arg-type]  # one of OUT_FORMATS' values
            input_format=args.input_format,
            audit=args.audit,
            workers=args.workers,
            max_errors=args.max_errors,
            limits=args.limits,
            progress=show,
            encoding=args.encoding,
            bom=not args.no_bom,
        )
    finally:
        if show is not None:
            show.close()
    _err(str(summary))
    if summary.rejected and not summary.stopped_early:
        _err(f"rejected records: {args.errors or str(args.out) + '.errors.jsonl'}")
    sys.stdout.flush()
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Rank batch results into a bulletin."""
    fmt = output_format(args.out or STDIO, args.format, REPORT_FORMATS, "md")
    writers: dict[str, Callable[[list[Any]], str]] = {
        "md": lambda rows: markdown(rows, args.title),
        "csv": csv_report,
        "json": dumps_rows,
        "html": lambda rows: bulletin(rows, args.title),
    }
    if args.out:
        refuse_clobbering([("--out", args.out)], [("the results", args.results)])
    rows = rank(list(read_results(args.results, args.limits)), args.clauses, top=args.top)
    body = writers[fmt](rows)
    if fmt == "csv" and args.out and args.out != STDIO and not args.no_bom:
        body = BOM + body  # Excel on Chinese Windows reads a CSV file as UTF-8 only with it
    return _write(args.out, body)


REPORT_FORMATS = {".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json", ".html": "html"}


def cmd_template(args: argparse.Namespace) -> int:
    """Write an evidence-entry workbook for a rubric: a form for one unit, or a batch sheet."""
    from ._xlsx_forms import batch_workbook, form_workbook  # noqa: PLC0415 - optional extra

    output_format(args.out, "xlsx", {**OUT_FORMATS, **REPORT_FORMATS}, "xlsx")
    scorer = load(args.rubric, limits=args.limits)
    refuse_clobbering([("--out", args.out)], inputs_of(scorer, args.rubric)[1:])
    data = batch_workbook(scorer) if args.batch else form_workbook(scorer)
    with atomic_writer(args.out) as handle:
        handle.flush()
        handle.buffer.write(data)
    return EXIT_OK


def _whole(low: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` up to what this machine can index."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of {what}, got {text!r}") from None
        if not low <= value <= sys.maxsize // 2:
            raise argparse.ArgumentTypeError(
                f"{what} must be from {low} to {sys.maxsize // 2}, got {short_repr(value)}"
            )
        return value

    return parse


def _encoding(name: str) -> str:
    """An argparse type: an encoding a CSV file can be read in line by line."""
    try:
        return check_encoding(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _globals(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name (after it, they only override)."""
    common = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    common.add_argument(
        "--debug", action="store_true", default=default(False), help="show a traceback for internal errors"
    )
    common.add_argument(
        "--max-bytes",
        type=_whole(1, "bytes"),
        default=default(Limits().max_bytes),
        help="largest file (or JSON line) accepted",
    )
    common.add_argument(
        "--max-depth",
        type=_whole(1, "levels"),
        default=default(Limits().max_depth),
        help="deepest nesting accepted",
    )
    return common


def _add_batch(add: Callable[..., argparse.ArgumentParser]) -> None:
    batch = add(
        "batch",
        help="score many records (JSON Lines, CSV, a YAML list or a workbook) into JSON Lines, CSV or xlsx",
    )
    batch.add_argument("rubric")
    batch.add_argument(
        "input",
        help="records: .jsonl, .csv (one column per fact), .yaml (a list) or .xlsx (a batch workbook); "
        "- for standard input",
    )
    batch.add_argument(
        "--input-format",
        choices=["jsonl", "csv", "yaml", "xlsx"],
        help="the input's format (default: by extension)",
    )
    batch.add_argument(
        "--encoding",
        type=_encoding,
        help="a CSV input's encoding, e.g. gbk (default: UTF-8 if the file is UTF-8, else GB18030)",
    )
    batch.add_argument(
        "--out", required=True, help="results file (written atomically; - for standard output)"
    )
    batch.add_argument("--errors", help="rejected records (default: OUT.errors.jsonl)")
    batch.add_argument(
        "--format",
        choices=["jsonl", "csv", "xlsx"],
        help="the results' format (default: by the extension of --out, else jsonl)",
    )
    batch.add_argument(
        "--no-bom", action="store_true", help="CSV results without the byte-order mark Excel needs"
    )
    batch.add_argument("--audit", action="store_true", help="write full results with audit entries")
    batch.add_argument("--workers", type=_whole(1, "workers"), default=1, help="processes to score with")
    batch.add_argument(
        "--max-errors",
        type=_whole(1, "records"),
        help="stop after N rejected records (outputs left unchanged)",
    )
    batch.set_defaults(run=cmd_batch)


def _add_template(add: Callable[..., argparse.ArgumentParser]) -> None:
    template = add("template", help="write an Excel workbook to fill in: a form for one unit, or --batch")
    template.add_argument("rubric", help="a rubric or composite YAML file")
    template.add_argument("--out", required=True, help="the workbook to write (.xlsx)")
    template.add_argument(
        "--batch", action="store_true", help="one row per unit and one column per fact, instead of a form"
    )
    template.set_defaults(run=cmd_template)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="rubric", description="Score evidence against YAML rubrics.", parents=[_globals(False)]
    )
    parser.add_argument("--version", action="version", version=f"rubric {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add = functools.partial(sub.add_parser, parents=[_globals(True)])

    score = add("score", help="score one evidence record and print an itemised table")
    score.add_argument("rubric", help="a rubric or composite YAML file")
    score.add_argument(
        "evidence", help="an evidence record (YAML or JSON; - for standard input), or a form workbook (.xlsx)"
    )
    score.add_argument("--json", action="store_true", help="print the full result as JSON")
    score.add_argument(
        "--format",
        choices=["text", "html"],
        help="html: a printable 评分表 (needs jinja2); default: html for --out X.html, else text",
    )
    score.add_argument("--out", help="with --format html: write the page here (atomically)")
    score.add_argument("--totals", action="store_true", help="skip the audit trail (faster)")
    score.add_argument(
        "--partial", action="store_true", help="facts may be missing: show the range of scores still possible"
    )
    score.set_defaults(run=cmd_score)

    test = add("test", help="run the test cases written next to a rubric")
    test.add_argument("rubric")
    test.add_argument(
        "cases",
        nargs="?",
        help="cases file (default: RUBRIC with .cases.yaml), or a batch workbook with an expect.total column",
    )
    test.add_argument("--coverage", action="store_true", help="report which rules the cases exercised")
    test.set_defaults(run=cmd_test)

    check = add("check", help="static checks: reachable scores, unused rules, ambiguities")
    check.add_argument("rubrics", nargs="+")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.set_defaults(run=cmd_check)

    diff = add("diff", help="what changed between two versions of a rubric")
    diff.add_argument("old")
    diff.add_argument("new")
    diff.add_argument("--evidence", nargs="*", metavar="FILE", help="records to score with both versions")
    diff.add_argument("--json", action="store_true")
    diff.set_defaults(run=cmd_diff)

    _add_batch(add)

    report = add("report", help="rank batch results into a bulletin (Markdown, CSV, JSON or HTML)")
    report.add_argument(
        "results", help="the JSON Lines or CSV file written by 'rubric batch' (- for standard input)"
    )
    report.add_argument(
        "--format", choices=["md", "csv", "json", "html"], help="default: by the extension of --out, else md"
    )
    report.add_argument("--out", help="write here (atomically) instead of standard output")
    report.add_argument("--no-bom", action="store_true", help="CSV without the byte-order mark Excel needs")
    report.add_argument(
        "--top", type=_whole(1, "units"), metavar="N", help="only the top N units (ties included)"
    )
    report.add_argument(
        "--clauses", type=_whole(0, "clauses"), default=3, metavar="K", help="clauses listed per unit"
    )
    report.add_argument("--title", default="考核结果通报")
    report.set_defaults(run=cmd_report)

    _add_template(add)

    schema = add("schema", help="print a JSON Schema (of rubric files, or of one rubric's evidence)")
    schema.add_argument("--evidence", metavar="RUBRIC", help="the evidence schema of this rubric")
    schema.set_defaults(run=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    _safe_console()
    parser = build_parser()
    args = parser.parse_args(argv)
    args.limits = Limits(max_bytes=args.max_bytes, max_depth=args.max_depth)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        code = run(args)
        sys.stdout.flush()  # inside the handlers: a closed pipe is reported here, not at exit
    except RubricEngineError as exc:
        _problems(exc.problems)
        return EXIT_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _pipe_closed()
    except OSError as exc:  # an output folder that does not exist, a full disk, no permission
        name = f"{exc.filename}: " if exc.filename else ""
        _err(f"{name}io: {exc.strerror or exc}")
        return EXIT_INPUT
    except Exception as exc:  # the last line of defence: never a traceback for users
        if args.debug:
            raise
        _err(f"internal error: {type(exc).__name__}: {exc} (this is a bug in rubric; rerun with --debug)")
        return EXIT_INTERNAL
    return code


def _pipe_closed() -> int:
    """The reader went away (``rubric check | head -1``): stop quietly, as other Unix tools do."""
    # Python flushes stdout once more at exit; point it at /dev/null so that flush cannot complain.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Composite", "Rubric", "build_parser", "main"]
