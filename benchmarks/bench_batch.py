"""Benchmark ``rubric batch`` on 表一 (rubrics/table1.yaml): throughput end to end and peak memory.

Run from the repository root:

    .venv/bin/python benchmarks/bench_batch.py [--records N] [--workers W] [--no-memory] [--profile]

It writes N seeded, valid 表一 records (drawn from the rubric's own field declarations, exactly the
records ``bench_table1.generate_records`` draws) as JSON Lines ``{"unit", "evidence"}``, then:

    (1) times ``rubric._batch.run_batch`` from that file to a results file (summary output, the
        default): read, parse, validate, score, write, fsync, rename; and checks the totals of the
        first records against the hand-written scorer of bench_table1;
    (2) times the same run with CSV output, and with W worker processes (default 2);
    (3) runs the batch in a child process for N and for 5×N records and reports each child's peak
        resident memory (VmHWM, and the child's own ru_maxrss from wait4), to show memory is flat;
    (4) with --profile, runs cProfile over a batch of min(N, 20000) records and prints the hotspots.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import filecmp
import gc
import io
import itertools
import json
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import rubric
from rubric._batch import Summary, run_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling module bench_table1
from bench_table1 import (
    SEED,
    TABLE1,
    _criteria,
    generate_records,
    machine,
    random_value,
    score_decimal,
)

TARGET_RATE = 20_000  # records/s end to end on one core
CHECKED = 2_000  # records whose totals are checked against the hand-written scorer
PROFILED = 20_000
LINES_PER_WRITE = 1_000


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def iter_records(doc: Any, count: int, seed: int = SEED) -> Iterator[dict[str, dict[str, Any]]]:
    """The records of ``bench_table1.generate_records(doc, count, seed)``, one at a time."""
    rng = random.Random(seed)
    fields = [(c.id, tuple(c.evidence.items())) for c in _criteria(doc)]
    for _ in range(count):
        yield {cid: {name: random_value(spec, rng) for name, spec in specs} for cid, specs in fields}


def unit_name(index: int) -> str:
    return f"单位{index + 1:07d}"


def write_inputs(doc: Any, paths: dict[Path, int]) -> None:
    """Write the first ``count`` generated records to each path (one pass over the largest)."""
    most = max(paths.values())
    handles = {path: path.open("w", encoding="utf-8") for path in paths}
    try:
        records = iter_records(doc, most)
        for start in range(0, most, LINES_PER_WRITE):
            block = "".join(
                json.dumps(
                    {"unit": unit_name(start + i), "evidence": record},
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
                + "\n"
                for i, record in enumerate(itertools.islice(records, LINES_PER_WRITE))
            )
            for path, count in paths.items():
                if start < count:
                    handles[path].write(block)
    finally:
        for handle in handles.values():
            handle.close()


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------


def peak_kb() -> int:
    """This process's peak resident set in KiB (VmHWM on Linux, else ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    most = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return most // 1024 if sys.platform == "darwin" else most  # bytes on macOS, KiB elsewhere


def timed_batch(scorer: Any, source: Path, out: Path, **options: Any) -> tuple[Summary, float]:
    gc.collect()
    start = time.perf_counter()
    summary = run_batch(scorer, source, out, **options)
    return summary, time.perf_counter() - start


def check_summary(summary: Summary, count: int, what: str) -> None:
    if not (summary.balanced and summary.read == summary.scored == count and not summary.stopped_early):
        raise SystemExit(f"bench_batch: {what}: expected {count} records scored, got '{summary}'")


def check_totals(doc: Any, out: Path, count: int) -> int:
    """The first results' totals equal bench_table1's hand-written Decimal scorer; return how many."""
    expected = (score_decimal(r)[0] for r in iter_records(doc, count))
    checked = 0
    with out.open(encoding="utf-8") as handle:
        for index, (line, total) in enumerate(zip(handle, expected, strict=False)):
            result = json.loads(line)
            if result["unit"] != unit_name(index) or Decimal(result["total"]) != total:
                raise SystemExit(
                    f"bench_batch: result {index + 1} is {result['unit']} {result['total']}, "
                    f"the hand-written scorer says {unit_name(index)} {total}"
                )
            checked += 1
    return checked


def child_main(source: str, out: str, fmt: str, workers: int) -> int:
    """Run one batch and print what it cost, as one JSON line (the parent reads it)."""
    table1 = rubric.load(TABLE1)
    before = peak_kb()
    summary, seconds = timed_batch(table1, Path(source), Path(out), fmt=fmt, workers=workers)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "read": summary.read,
                "scored": summary.scored,
                "seconds": seconds,
                "peak_after_load_kb": before,
                "peak_kb": peak_kb(),
                "pool_peak_kb": children if workers > 1 else 0,
            }
        )
    )
    return 0


def run_child(source: Path, out: Path, fmt: str = "jsonl", workers: int = 1) -> dict[str, Any]:
    """The batch in a fresh process; its report plus its own ru_maxrss (from wait4)."""
    command = [sys.executable, __file__, "--child", str(source), str(out), fmt, str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"bench_batch: the child batch failed with exit code {process.returncode}")
    report: dict[str, Any] = json.loads(output)
    report["ru_maxrss_kb"] = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return report


def profile(table1: Any, source: Path, out: Path, count: int) -> str:
    """cProfile over a batch of ``count`` records: the top functions by own time and by total time."""
    sample = source.with_name("profile.jsonl")
    with source.open(encoding="utf-8") as full, sample.open("w", encoding="utf-8") as part:
        part.writelines(itertools.islice(full, count))
    profiler = cProfile.Profile()
    profiler.enable()
    run_batch(table1, sample, out)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats(25)
    return text.getvalue()


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def mib(kb: float) -> str:
    return f"{kb / 1024:8.1f} MiB"


def rate_line(label: str, count: int, seconds: float, note: str = "") -> str:
    return f"{label:<28} {count:>9} records {seconds:8.2f} s {count / seconds:9.0f} records/s{note}"


def throughput(table1: Any, source: Path, scratch: Path, count: int, workers: int) -> None:
    """(1) and (2): jsonl, csv and workers runs, timed in this process."""
    out = scratch / "results.jsonl"
    summary, seconds = timed_batch(table1, source, out)
    check_summary(summary, count, "jsonl")
    checked = check_totals(table1.doc, out, min(count, CHECKED))
    verdict = "ok" if count / seconds >= TARGET_RATE else "MISSED"
    print(rate_line("(1) jsonl, 1 process", count, seconds, f"   target {TARGET_RATE}: {verdict}"))
    print(f"{'':<28} results {out.stat().st_size / 2**20:.0f} MiB; first {checked} totals checked")

    summary, seconds = timed_batch(table1, source, scratch / "results.csv", fmt="csv")
    check_summary(summary, count, "csv")
    print(rate_line("(2) csv, 1 process", count, seconds))

    out_w = scratch / "results.w.jsonl"
    summary, seconds = timed_batch(table1, source, out_w, workers=workers)
    check_summary(summary, count, f"workers={workers}")
    same = filecmp.cmp(out_w, out, shallow=False)  # streamed: this process stays small
    note = f"   ({os.cpu_count()} CPUs; output {'identical to' if same else 'DIFFERS from'} (1))"
    print(rate_line(f"(2) jsonl, workers={workers}", count, seconds, note))
    if not same:
        raise SystemExit("bench_batch: the workers run wrote different results")
    for path in (out, scratch / "results.csv", out_w):
        path.unlink()


def memory(inputs: dict[Path, int], scratch: Path) -> None:
    """(3): the batch in a child process at N and 5×N records; peak resident memory of each."""
    print("(3) peak memory, batch in a child process (jsonl, 1 process)")
    print(f"{'records':>9}  {'after load':>12}  {'peak VmHWM':>12}  {'ru_maxrss':>12}  {'records/s':>9}")
    peaks = []
    for path, n in inputs.items():
        report = run_child(path, scratch / "child.jsonl")
        if report["read"] != n or report["scored"] != n:
            raise SystemExit(f"bench_batch: the child scored {report['scored']} of {n} records")
        peaks.append(report["peak_kb"])
        print(
            f"{n:>9}  {mib(report['peak_after_load_kb'])}  {mib(report['peak_kb'])}  "
            f"{mib(report['ru_maxrss_kb'])}  {n / report['seconds']:9.0f}"
        )
    growth = peaks[-1] - peaks[0]
    flat = growth <= max(5 * 1024, peaks[0] // 10)
    print(
        f"growth N → 5N: {growth / 1024:+.1f} MiB  "
        f"{'flat' if flat else 'NOT FLAT'} (allowed: 5 MiB or 10% of the peak at N)"
    )
    print(
        "(VmHWM is read inside the child; ru_maxrss comes from wait4 and on Linux also counts the\n"
        " parent's resident set when the child was forked, so it is a ceiling, not the child's own peak)"
    )


def main(argv: list[str] | None = None) -> int:
    """Generate, time, measure memory, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000, help="records N (default 200000)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the workers run (default 2)")
    parser.add_argument("--no-memory", action="store_true", help="skip the child runs at N and 5×N")
    parser.add_argument("--profile", action="store_true", help=f"cProfile a batch of {PROFILED} records")
    parser.add_argument("--dir", help="scratch folder for the files (default: a new temporary folder)")
    parser.add_argument(
        "--child", nargs=4, metavar=("IN", "OUT", "FORMAT", "WORKERS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        source, out, fmt, workers = args.child
        return child_main(source, out, fmt, int(workers))
    if args.records < 1 or args.workers < 1:
        parser.error("--records and --workers must be at least 1")

    print(f"bench_batch   {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %z}")
    print(f"machine       {machine()}")
    print(f"engine        {rubric.__version__} ({Path(rubric.__file__).parent})")
    print(f"load average  {load()} (other work on the machine slows every figure below)")

    count = args.records
    table1 = rubric.load(TABLE1)
    if list(iter_records(table1.doc, 50)) != generate_records(table1.doc, 50):
        raise SystemExit("bench_batch: iter_records no longer draws the records of generate_records")
    scratch = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_batch."))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        source = scratch / "records.jsonl"
        inputs = {source: count} if args.no_memory else {source: count, scratch / "records5.jsonl": 5 * count}
        start = time.perf_counter()
        write_inputs(table1.doc, inputs)
        made = time.perf_counter() - start
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.0f} MiB" for p in inputs)
        print(f"input         {sizes}; generated in {made:.1f} s (random.Random({SEED}))")
        print()
        throughput(table1, source, scratch, count, args.workers)
        print()
        if not args.no_memory:
            memory(inputs, scratch)
            print()
        if args.profile:
            print(f"(4) cProfile, batch of {min(count, PROFILED)} records")
            print(profile(table1, source, scratch / "profile.out.jsonl", min(count, PROFILED)))
        print(f"load average  {load()} at the end")
    finally:
        if not args.dir:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
