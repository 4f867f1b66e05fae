"""The scaling law of ``rubric batch`` on 表一: records/s and peak memory at 10^4, 10^5, 10^6 records.

Run from the repository root:

    .venv/bin/python benchmarks/bench_scaling.py [--sizes 10000,100000,1000000] [--dir DIR]

Each size is written as JSON Lines (the seeded records of ``bench_batch.write_inputs``, one pass
for all sizes) and scored by ``rubric._batch.run_batch`` in a fresh child process with one worker
(``bench_batch.run_child``), which reports its time and its peak resident memory (VmHWM). The
last lines fit records/s and memory against the size and extrapolate to 10^7 and 10^9 records.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import rubric
from rubric._readers import csv_columns

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import iter_records, load, peak_kb, run_child, write_inputs
from bench_table1 import TABLE1, machine


def frames(table1: rubric.Rubric, count: int, scratch: Path) -> None:
    """``rubric.score_table`` on an Arrow table of ``count`` records: records/s and the bytes per
    record of the results as Parquet (what ``score_dask`` writes), for the cluster estimate."""
    pa = importlib.import_module("pyarrow")
    parquet = importlib.import_module("pyarrow.parquet")
    columns: dict[str, list[Any]] = {name: [] for name in csv_columns(table1)}
    paths = {name: path for name, (path, _) in csv_columns(table1).items()}
    for record in iter_records(table1.doc, count):
        for name, (cid, field) in paths.items():
            columns[name].append(record[cid][field])
    table = pa.table(columns)
    del columns
    parquet.write_table(table, scratch / "input.parquet")
    size_in = (scratch / "input.parquet").stat().st_size
    before = peak_kb()
    start = time.perf_counter()
    scores = rubric.score_table(table1, table)
    seconds = time.perf_counter() - start
    parquet.write_table(scores.results, scratch / "results.parquet")
    size = (scratch / "results.parquet").stat().st_size
    print(
        f"score_table   {count} records from Arrow in {seconds:.1f} s: {count / seconds:.0f} records/s; "
        f"results as Parquet {size / count:.0f} bytes/record"
    )
    print(
        f"              input as Parquet {size_in / count:.0f} bytes/record; peak resident memory "
        f"{before / 1024:.0f} MiB before scoring (the table built), {peak_kb() / 1024:.0f} MiB after"
    )


def main(argv: list[str] | None = None) -> int:
    """Generate every size once, run each in a child, print the table and the extrapolation."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="record counts, comma-separated")
    parser.add_argument("--frames", type=int, default=0, help="also time score_table on N records")
    parser.add_argument("--dir", help="scratch folder (default: a new temporary folder, removed after)")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))

    print(f"bench_scaling {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %z}")
    print(f"machine       {machine()}")
    print(f"load average  {load()} (other work on the machine slows every figure below)")
    table1 = rubric.load(TABLE1)
    scratch = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_scaling."))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        inputs = {scratch / f"records{n}.jsonl": n for n in sizes}
        start = time.perf_counter()
        write_inputs(table1.doc, inputs)
        print(f"input         generated in {time.perf_counter() - start:.1f} s")
        heads = ("records", "input MiB", "seconds", "records/s", "peak MiB", "output MiB")
        print(" ".join(f"{head:>10}" for head in heads))
        rates = []
        for path, n in inputs.items():
            out = scratch / "results.jsonl"
            report = run_child(path, out)
            if report["scored"] != n:
                raise SystemExit(f"bench_scaling: the child scored {report['scored']} of {n} records")
            rate = n / report["seconds"]
            rates.append(rate)
            print(
                f"{n:>10} {path.stat().st_size / 2**20:>10.1f} {report['seconds']:>9.1f} {rate:>10.0f} "
                f"{report['peak_kb'] / 1024:>9.1f} {out.stat().st_size / 2**20:>10.1f}"
            )
            per_in, per_out = path.stat().st_size / n, out.stat().st_size / n
            out.unlink()
            path.unlink()
        rate = rates[-1]
        print(f"per record    input {per_in:.0f} bytes, output {per_out:.0f} bytes")
        for n in (10**7, 10**9):
            hours = n / rate / 3600
            print(
                f"extrapolated  {n:.0e} records: {hours:.2f} core-hours at {rate:.0f} records/s on one core, "
                f"input {n * per_in / 2**30:.0f} GiB, output {n * per_out / 2**30:.0f} GiB"
            )
        if args.frames:
            frames(table1, args.frames, scratch)
        print(f"load average  {load()} at the end")
    finally:
        if not args.dir:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
