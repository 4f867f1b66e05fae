"""Benchmark ``rubric check`` (and ``partial_score``) on generated rubrics: time and peak memory.

Run from the repository root:

    .venv/bin/python benchmarks/bench_check.py [--criteria N ...] [--items N] [--quick]

Rubrics are generated (seeded), never read from disk: table-like rubrics of N criteria (default
100, 1,000 and 10,000), each criterion with a flag, a count, a 4-item checklist, a choice and an
assessed field and six rules of every kind; and the attacks that once exploded the analysis: a
100,000-item checklist read by a capped per_missing rule and a ``has`` condition, an assessed
field of range [0, 100] in steps of 0.0001, and 17 flags read together by 30 rules. For each it
prints the load time, then the time and the peak traced memory (tracemalloc) of ``check`` and of
``partial_score`` with no facts known, and whether the total's range is exact or a bound.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import time
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import rubric
from rubric._rubric import Rubric, dump_yaml

LIMITS = rubric.Limits(max_bytes=100_000_000)  # a generated 10,000-criterion rubric is ~6 MB


def table_criterion(rng: random.Random, n: int) -> dict[str, Any]:
    """A criterion like the seed tables': every field type, every clause kind."""
    return {
        "id": f"C{n}",
        "number": n,
        "content": f"第{n}项",
        "standard": "按规定执行",
        "points": 10,
        "evidence": {
            "sound": {"type": "flag", "label": "健全"},
            "incidents": {"type": "count", "label": "次数", "max": rng.choice([5, 100, 1_000_000])},
            "docs": {"type": "checklist", "label": "材料", "items": ["计划", "部署", "报表", "总结"]},
            "grade": {"type": "choice", "label": "档次", "options": ["好", "中", "差"]},
            "judged": {"type": "assessed", "label": "酌情", "range": [1, 3], "step": Decimal("0.5")},
        },
        "rules": [
            {"deduct": 2, "when": {"not": "sound"}, "clause": "不健全扣2分"},
            {"deduct_each": "incidents", "points": 1, "cap": 4, "clause": "每次扣1分"},
            {"per_missing": "docs", "points": 1, "clause": "缺一项扣1分"},
            {"deduct": 1, "when": {"field": "grade", "is": "差"}, "clause": "差扣1分"},
            {"deduct_assessed": "judged", "cap": 3, "clause": "酌情扣1-3分"},
            {"veto": {"all": [{"not": "sound"}, {"field": "docs", "at_most": 0}]}, "clause": "没有不得分"},
        ],
    }


def wrap(criteria: list[dict[str, Any]], per_category: int = 100) -> dict[str, Any]:
    """A rubric of the criteria, in categories of ``per_category``."""
    categories = [
        {"id": f"K{i}", "name": f"类别{i}", "criteria": criteria[i : i + per_category]}
        for i in range(0, len(criteria), per_category)
    ]
    points = sum(Decimal(c["points"]) for c in criteria)
    return {"id": "bench", "version": "1", "title": "基准", "points": points, "categories": categories}


def one(criterion: dict[str, Any]) -> dict[str, Any]:
    """A rubric of one criterion."""
    return wrap([{"id": "C1", "number": 1, "content": "内容", "standard": "标准", **criterion}])


def attacks(items: int) -> dict[str, dict[str, Any]]:
    """The rubrics that once exploded the analysis."""
    names = [f"材料{i}" for i in range(items)]
    flags = {f"f{i}": {"type": "flag", "label": f"条件{i}"} for i in range(17)}
    return {
        f"checklist of {items:,} items": one(
            {
                "points": 10,
                "evidence": {"docs": {"type": "checklist", "label": "材料", "items": names}},
                "rules": [
                    {"per_missing": "docs", "points": 1, "cap": 8, "clause": "缺一项扣1分"},
                    {
                        "deduct": 2,
                        "when": {"not": {"field": "docs", "has": names[-1]}},
                        "clause": "缺末项扣2分",
                    },
                ],
            }
        ),
        "assessed [0, 100] step 0.0001": one(
            {
                "points": 10,
                "evidence": {
                    "a": {"type": "assessed", "label": "酌情", "range": [0, 100], "step": Decimal("0.0001")}
                },
                "rules": [
                    {"deduct_assessed": "a", "cap": 7, "clause": "酌情扣分"},
                    {"award_assessed": "a", "cap": 3, "clause": "酌情加分"},
                ],
            }
        ),
        "17 flags, 30 rules": one(
            {
                "points": 10,
                "evidence": flags,
                "rules": [
                    {"deduct": 1, "when": {"all": [f"f{i % 17}", f"f{(i + 1) % 17}"]}, "clause": f"扣分{i}"}
                    for i in range(30)
                ],
            }
        ),
    }


def measured(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """The result, seconds and peak traced MiB of ``work`` (run twice: tracing slows it down, so
    the time is taken on a run without it)."""
    start = time.perf_counter()
    out = work()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        work()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return out, seconds, peak


def run(name: str, data: dict[str, Any]) -> None:
    """Load, check and partially score one rubric; print one row."""
    start = time.perf_counter()
    scorer = Rubric.from_bytes(dump_yaml(data), limits=LIMITS)
    load = time.perf_counter() - start
    problems, check_s, check_mb = measured(lambda: rubric.check(scorer))
    partial, partial_s, partial_mb = measured(lambda: rubric.partial_score(scorer, {}))
    kind = "exact" if partial.ranges.exact else "bound"
    print(
        f"{name:<32} {load:8.2f} {check_s:9.2f} {check_mb:9.1f} {partial_s:9.2f} {partial_mb:9.1f}"
        f"  {len(problems):>5}  {kind}"
    )


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criteria", type=int, nargs="*", default=[100, 1000, 10_000])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="100 criteria and 10,000 items only")
    args = parser.parse_args()
    if args.quick:
        args.criteria, args.items = [100], 10_000
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, load average {load:.2f}")
    print()
    print(
        f"{'rubric':<32} {'load s':>8} {'check s':>9} {'check MiB':>9} {'partial s':>9} {'part. MiB':>9}"
        "  finds  range"
    )
    rng = random.Random(2013)
    for count in args.criteria:
        run(f"{count:,} criteria", wrap([table_criterion(rng, n) for n in range(1, count + 1)]))
    for name, data in attacks(args.items).items():
        run(name, data)


if __name__ == "__main__":
    main()
