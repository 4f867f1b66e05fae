"""Thread safety: one loaded rubric shared by many threads scores exactly as it does alone.

README: "A loaded rubric is immutable and safe to share across threads". These tests hold the seed
tables and the composite to it: 8 threads score the same records at once and must give results
whose JSON is identical to scoring them one by one; and results whose category, criterion and
audit views are built lazily on first read give identical JSON when many threads read them first
at the same moment. A tiny thread switch interval makes the threads interleave as often as
CPython allows.

Records come from benchmarks/bench_table1.py's ``generate_records`` (seeded ``random.Random``),
so every run scores the same records.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import generate_records

import rubric

ROOT = Path(__file__).resolve().parent.parent
THREADS = 8
RECORDS = 2000  # per scorer, scored alone and from 8 threads; totals compared for all of them,
JSON_EVERY = 2  # and the full JSON for every second one (rendering JSON is most of the cost)
SHARED = 120  # results per scorer whose lazy views 8 threads race to build
NAMES = ("table1", "table2", "table3", "department")


def records_for(scorer: rubric.Rubric | rubric.Composite, count: int, seed: int = 2013) -> list[Any]:
    """Valid records, reproducibly; for the composite, both branches and both parts."""
    if isinstance(scorer, rubric.Rubric):
        return generate_records(scorer.doc, count, seed)
    one = generate_records(scorer.parts["table1"].doc, count, seed)
    two = generate_records(scorer.parts["table2"].doc, count, seed + 1)
    return [
        {"has_window": i % 3 != 0, "table1": a, "table2": b}
        for i, (a, b) in enumerate(zip(one, two, strict=True))
    ]


@pytest.fixture(scope="module")
def scorers() -> dict[str, rubric.Rubric | rubric.Composite]:
    return {name: rubric.load(ROOT / "rubrics" / f"{name}.yaml") for name in NAMES}


@pytest.fixture(autouse=True)
def switch_often() -> Iterator[None]:
    """Make the interpreter switch threads as often as it can while a test runs."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def full_json(result: Any) -> str:
    """Everything a result says: its JSON, and the batch summary form."""
    return result.to_json() + "\n" + repr(result.summary())


@pytest.mark.parametrize("name", NAMES)
def test_eight_threads_score_a_shared_rubric_exactly_as_one_thread_does(
    scorers: dict[str, Any], name: str
) -> None:
    scorer = scorers[name]
    records = records_for(scorer, RECORDS)
    jobs = [(i % JSON_EVERY == 0, record) for i, record in enumerate(records)]

    def score(job: tuple[bool, Any]) -> tuple[str, Decimal, str]:
        full, record = job
        result = scorer.score(record)
        text = result.to_json() if full else ""
        return text, scorer.score(record, audit=False).total, str(result.total)

    alone = [score(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        threaded = list(pool.map(score, jobs, chunksize=1))
    assert threaded == alone
    assert len({text for text, _, _ in alone}) > RECORDS // JSON_EVERY // 2  # distinct records


@pytest.mark.parametrize("name", NAMES)
def test_lazy_views_read_first_by_many_threads_at_once_are_identical(
    scorers: dict[str, Any], name: str
) -> None:
    scorer = scorers[name]
    records = records_for(scorer, SHARED, seed=7)
    expected = [full_json(scorer.score(record)) for record in records]
    shared = [scorer.score(record) for record in records]  # nothing read yet: every view is lazy
    start = threading.Barrier(THREADS)

    def read_all(offset: int) -> list[tuple[int, str, str]]:
        start.wait()  # all threads reach the unbuilt views together
        seen = []
        for k in range(len(shared)):
            i = (k + offset * 17) % len(shared)  # threads start at different results
            result = shared[i]
            if isinstance(result, rubric.CompositeResult):
                views = [p.result for p in result.parts]
                sha = result.evidence_sha256
            else:
                views = [result]
                sha = result.evidence_sha256
            # Touch every lazy view in a different order per thread, then render.
            for view in views if offset % 2 else reversed(views):
                if offset % 3 == 0:
                    view.adjustments  # noqa: B018 - reading the property builds it
                    view.categories  # noqa: B018
                else:
                    view.categories  # noqa: B018
                    view.adjustments  # noqa: B018
                for criterion in view.criteria():
                    assert sum((e.points for e in criterion.audit), Decimal(0)) == criterion.score
                view.evidence_sha256  # noqa: B018
            seen.append((i, full_json(result), sha))
        return seen

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        runs = list(pool.map(read_all, range(THREADS)))
    for run in runs:
        assert len(run) == len(shared)
        for i, text, sha in run:
            assert text == expected[i]
            assert sha == shared[i].evidence_sha256
    assert [full_json(r) for r in shared] == expected


def test_eight_threads_loading_the_same_files_get_identical_rubrics() -> None:
    paths = [ROOT / "rubrics" / f"{name}.yaml" for name in NAMES] * 4
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        loaded = list(pool.map(rubric.load, paths))
    by_name: dict[str, set[tuple[str, bytes, str]]] = {}
    for path, scorer in zip(paths, loaded, strict=True):
        record = records_for(scorer, 1, seed=3)[0]
        by_name.setdefault(path.stem, set()).add(
            (scorer.info.sha256, scorer.source, scorer.score(record).to_json())
        )
    assert all(len(variants) == 1 for variants in by_name.values()), by_name.keys()


@pytest.mark.parametrize("name", NAMES)
def test_a_record_reused_by_its_caller_after_scoring_does_not_change_the_result(
    scorers: dict[str, Any], name: str
) -> None:
    """Views are built lazily, perhaps on another thread, after the caller has moved on: a caller
    that reuses its record (clears its lists, changes its flags) must not change what the result
    says about the record it scored."""
    scorer = scorers[name]
    for record in records_for(scorer, 20, seed=11):
        expected = scorer.score(record).to_json()
        result = scorer.score(record)
        reuse(record)
        assert result.to_json() == expected


def reuse(value: Any) -> None:
    """Change a record in place, the way a caller recycling its buffers would: flags flipped,
    every list's contents replaced."""
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, bool):
                value[key] = not child
            else:
                reuse(child)
    elif isinstance(value, list):
        for child in value:
            reuse(child)
        value[:] = ["reused"]


def test_reproducer_appending_to_a_scored_records_empty_list_cannot_break_to_json(
    scorers: dict[str, Any],
) -> None:
    """The smallest case of the aliasing above: table2's T2-03.innovations is scored as [] (the
    fast path keeps the caller's list), then the caller appends to it."""
    record = rubric.load_evidence(ROOT / "examples" / "table2-typical.yaml").data
    result = scorers["table2"].score(record)
    record["T2-03"]["innovations"].append({"points": float("nan"), "reason": "later"})
    strict = json.loads(result.to_json(), parse_constant=lambda name: pytest.fail(f"JSON holds {name}"))
    assert strict["total"] == "67.5"
