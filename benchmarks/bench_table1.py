"""Benchmark the engine on 表一 (rubrics/table1.yaml) against hand-written Python.

Run from the repository root:

    .venv/bin/python benchmarks/bench_table1.py [--records N] [--repeats R]

It generates N random valid evidence records (seeded, derived from the rubric's own field
declarations), checks that four scorers give identical totals on every one of them, and only then
times them:

    (a) table1.score(record)               engine: validation + full audit trail
    (b) table1.score(record, audit=False)  engine: validation, no audit entries
    (c) score_decimal(record)              hand-written 表一: careful validation, Decimal points
    (d) score_int(record)                  hand-written 表一: no validation, int points (the floor)

Each repetition runs a, b, c, d over all records in turn; the median of the repetitions is
reported per scorer, with the ratios the engine is aiming for, and the median load time.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import rubric

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = ROOT / "rubrics" / "table1.yaml"
SEED = 2013
LOADS = 20

Record = dict[str, dict[str, Any]]

TARGETS = (  # (numerator, denominator, most allowed)
    ("a", "c", 1.5),
    ("b", "c", 1.0),
    ("b", "d", 3.0),
)
LOAD_TARGET_MS = 50.0


# --------------------------------------------------------------------------------------------
# Records: drawn from the loaded rubric's field declarations, so they follow the YAML.
# --------------------------------------------------------------------------------------------


def _criteria(doc: Any) -> Iterable[Any]:
    for category in doc.categories:
        yield from category.criteria


def random_value(spec: Any, rng: random.Random) -> Any:
    """One valid value for a declared evidence field."""
    kind = spec.type_name
    if kind == "flag":
        return rng.random() < 0.5
    if kind == "checklist":
        present = [item for item in spec.items if rng.random() < 0.5]
        rng.shuffle(present)  # any order is valid; the engine puts them back in declared order
        return present
    if kind == "choice":
        return rng.choice(spec.options)
    if kind == "count":
        return rng.randint(0, min(spec.max, 5))
    if kind == "assessed":
        amounts = list(spec.amounts())
        most = spec.max_entries or 3
        return [
            {"points": rng.choice(amounts), "reason": f"第{i + 1}项"} for i in range(rng.randint(0, most))
        ]
    raise SystemExit(f"bench_table1: no generator for field type '{kind}'; add one to random_value")


def generate_records(doc: Any, count: int, seed: int = SEED) -> list[Record]:
    """``count`` valid records for the rubric ``doc``, reproducibly."""
    rng = random.Random(seed)
    fields = [(c.id, tuple(c.evidence.items())) for c in _criteria(doc)]
    return [
        {cid: {name: random_value(spec, rng) for name, spec in specs} for cid, specs in fields}
        for _ in range(count)
    ]


def coverage_gaps(doc: Any, records: list[Record]) -> list[str]:
    """Declared values never drawn: a flag value, a checklist item (present or absent), an option."""
    gaps = []
    for c in _criteria(doc):
        for name, spec in c.evidence.items():
            seen = [r[c.id][name] for r in records]
            where = f"{c.id}.{name}"
            if spec.type_name == "flag":
                gaps += [f"{where}={v}" for v in (True, False) if v not in seen]
            elif spec.type_name == "checklist":
                for item in spec.items:
                    if not any(item in v for v in seen):
                        gaps.append(f"{where} has {item}")
                    if all(item in v for v in seen):
                        gaps.append(f"{where} lacks {item}")
                if not any(len(v) == 0 for v in seen):
                    gaps.append(f"{where}=[]")
            elif spec.type_name == "choice":
                gaps += [f"{where}={o}" for o in spec.options if o not in seen]
    return gaps


# --------------------------------------------------------------------------------------------
# (c) 表一 by hand, as someone would write it instead of using the engine: validate, then score
# each 序号 with Decimal, exactly as rubrics/table1.yaml reads the notice.
# --------------------------------------------------------------------------------------------

FLAG = "flag"
DOCUMENTS = ("计划", "部署", "业务报表", "总结")
PUBLISHED = ("名称", "办公地址", "办公时间", "联系电话", "传真号码", "电子邮箱")
HANDLING = ("符合要求", "受理但没有建立台账", "未及时受理又没有台账")
RECOGNITION = ("群众反映好且受省市表彰", "只有群众反映好", "无")

# Each criterion's fields: FLAG, ("checklist", items) or ("choice", options).
TABLE1_FIELDS: dict[str, dict[str, Any]] = {
    "T1-01": {"sound": FLAG, "adjusted": FLAG},
    "T1-02": {"documents": ("checklist", DOCUMENTS), "on_time": FLAG},
    "T1-03": {"completed": FLAG},
    "T1-04": {"coordinated": FLAG, "window_complaints": FLAG},
    "T1-05": {"rules_established": FLAG},
    "T1-06": {"compiled": FLAG, "overdue": FLAG},
    "T1-07": {"powers_cleared": FLAG, "catalog_compiled": FLAG, "flowchart_drawn": FLAG},
    "T1-08": {"online_approval_done": FLAG, "licensing_in_center": FLAG},
    "T1-09": {"mass_petitions": FLAG},
    "T1-10": {"published": ("checklist", PUBLISHED)},
    "T1-11": {"handling": ("choice", HANDLING)},
    "T1-12": {"replied_on_time": FLAG},
    "T1-13": {"abuse": FLAG},
    "T1-14": {
        "channel_set_up": FLAG,
        "channel_published": FLAG,
        "mechanism": FLAG,
        "has_complaints": FLAG,
        "complaints_resolved": FLAG,
        "complaints_ignored": FLAG,
    },
    "T1-15": {"recognition": ("choice", RECOGNITION), "complaints_petitions": FLAG},
}

ZERO, ONE, TWO, THREE, FIVE, TEN, TWENTY = (Decimal(n) for n in (0, 1, 2, 3, 5, 10, 20))
HANDLING_POINTS = dict(zip(HANDLING, (FIVE, THREE, ZERO), strict=True))
RECOGNITION_POINTS = dict(zip(RECOGNITION, (FIVE, TWO, ZERO), strict=True))


def _check_value(where: str, kind: Any, value: Any) -> Any:
    """A validated fact: a bool, the number of checklist items present, or the option chosen."""
    if kind == FLAG:
        if type(value) is not bool:
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    tag, names = kind
    if tag == "choice":
        if not isinstance(value, str) or value not in names:
            raise ValueError(f"{where}: expected one of {', '.join(names)}, got {value!r}")
        return value
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{where}: expected a list of the items present, got {value!r}")
    present = set()
    for item in value:
        if not isinstance(item, str) or item not in names:
            raise ValueError(f"{where}: unknown item {item!r}")
        if item in present:
            raise ValueError(f"{where}: item {item!r} is listed twice")
        present.add(item)
    return len(present)


def validate_table1(record: Any) -> dict[str, dict[str, Any]]:
    """Every criterion present with exactly its fields, each of the right type; else ValueError."""
    if not isinstance(record, dict):
        raise ValueError(f"a record is a mapping of criterion id to its fields, got {record!r}")
    if record.keys() != TABLE1_FIELDS.keys():
        unknown = sorted(map(str, record.keys() - TABLE1_FIELDS.keys()))
        missing = sorted(TABLE1_FIELDS.keys() - record.keys())
        raise ValueError(f"unknown criteria {unknown}, missing criteria {missing}")
    facts = {}
    for cid, fields in TABLE1_FIELDS.items():
        data = record[cid]
        if not isinstance(data, dict):
            raise ValueError(f"{cid}: expected a mapping of fields, got {data!r}")
        if data.keys() != fields.keys():
            unknown = sorted(map(str, data.keys() - fields.keys()))
            missing = sorted(fields.keys() - data.keys())
            raise ValueError(f"{cid}: unknown fields {unknown}, missing fields {missing}")
        facts[cid] = {name: _check_value(f"{cid}.{name}", kind, data[name]) for name, kind in fields.items()}
    return facts


def _clamp(score: Decimal, upper: Decimal) -> Decimal:
    """Into [0, upper]: 扣完为止 below, the criterion's points above."""
    return ZERO if score < ZERO else upper if score > upper else score


def score_decimal(record: Any) -> tuple[Decimal, tuple[Decimal, ...]]:
    """表一 by hand with Decimal points: (total, the 15 criterion scores in table order)."""
    f = validate_table1(record)

    c = f["T1-01"]  # 不健全扣2分;不及时调整扣2分 (independent, cumulative)
    s1 = _clamp(FIVE - (ZERO if c["sound"] else TWO) - (ZERO if c["adjusted"] else TWO), FIVE)

    c = f["T1-02"]  # 缺一项扣1分;不及时完成任务扣2分;没有不得分 (none of the four → 0)
    s2 = _clamp(FIVE - ONE * (4 - c["documents"]) - (ZERO if c["on_time"] else TWO), FIVE)
    if c["documents"] == 0:
        s2 = ZERO

    s3 = FIVE if f["T1-03"]["completed"] else ZERO  # 不及时完成扣5分

    c = f["T1-04"]  # 工作协调不到位或窗口有投诉扣5分 (once, either or both)
    s4 = ZERO if not c["coordinated"] or c["window_complaints"] else FIVE

    s5 = FIVE if f["T1-05"]["rules_established"] else ZERO  # 否则扣5分

    c = f["T1-06"]  # 超过20个工作日没有更新的扣5分; no 目录、指南 at all → 0
    s6 = (TWENTY - FIVE if c["overdue"] else TWENTY) if c["compiled"] else ZERO

    c = f["T1-07"]  # from 0: 清理1分, 目录2分, 流程图2分
    s7 = ZERO
    if c["powers_cleared"]:
        s7 += ONE
    if c["catalog_compiled"]:
        s7 += TWO
    if c["flowchart_drawn"]:
        s7 += TWO
    s7 = _clamp(s7, FIVE)

    c = f["T1-08"]  # from 10: 没有完成的扣5分; 行政许可业务未全部纳入中心扣5分
    s8 = TEN - (ZERO if c["online_approval_done"] else FIVE) - (ZERO if c["licensing_in_center"] else FIVE)

    s9 = ZERO if f["T1-09"]["mass_petitions"] else FIVE  # 有就不得分

    c = f["T1-10"]  # 缺一项扣1分 of six; 没有的不得分
    s10 = _clamp(FIVE - ONE * (6 - c["published"]), FIVE)
    if c["published"] == 0:
        s10 = ZERO

    s11 = HANDLING_POINTS[f["T1-11"]["handling"]]  # 5 / 3 / 0

    s12 = FIVE if f["T1-12"]["replied_on_time"] else ZERO  # 未及时答复的扣5分

    s13 = ZERO if f["T1-13"]["abuse"] else FIVE  # 有就不得分

    c = f["T1-14"]  # from 10, every clause applied in order, then clamped, then the veto
    s14 = TEN
    if not c["channel_set_up"]:
        s14 -= FIVE  # 没有设立投诉电话、投诉信箱的扣5分
    elif not (c["channel_published"] and c["mechanism"]):
        s14 -= FIVE  # 符合得5分 (not met; the same absence is never charged twice)
    if c["has_complaints"]:
        s14 -= THREE  # 有投诉扣3分
        if not c["complaints_resolved"]:
            s14 -= FIVE  # 及时受理、查处并回复且不再出现类似的投诉的得5分 (not met)
    s14 = _clamp(s14, TEN)
    if c["complaints_ignored"]:
        s14 = ZERO  # 对投诉不做处理的不得分

    c = f["T1-15"]  # from 0: 表彰5分 / 反映好2分; 有投诉上访扣5分
    s15 = _clamp(RECOGNITION_POINTS[c["recognition"]] - (FIVE if c["complaints_petitions"] else ZERO), FIVE)

    scores = (s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15)
    # Category and total clamps ([0, sum of points], [0, 100]) cannot bind: every criterion is
    # already within [0, its points], so the total is within [0, 100].
    return sum(scores, ZERO), scores


# --------------------------------------------------------------------------------------------
# (d) The same logic on plain ints, trusting its input: the floor for pure Python.
# --------------------------------------------------------------------------------------------

HANDLING_INT = dict(zip(HANDLING, (5, 3, 0), strict=True))
RECOGNITION_INT = dict(zip(RECOGNITION, (5, 2, 0), strict=True))


def score_int(r: Record) -> int:
    """表一 by hand with int points and no validation: the total."""
    c = r["T1-01"]
    s1 = max(0, 5 - (0 if c["sound"] else 2) - (0 if c["adjusted"] else 2))
    c = r["T1-02"]
    n = len(c["documents"])
    s2 = max(0, 5 - (4 - n) - (0 if c["on_time"] else 2)) if n else 0
    s3 = 5 if r["T1-03"]["completed"] else 0
    c = r["T1-04"]
    s4 = 0 if not c["coordinated"] or c["window_complaints"] else 5
    s5 = 5 if r["T1-05"]["rules_established"] else 0
    c = r["T1-06"]
    s6 = (15 if c["overdue"] else 20) if c["compiled"] else 0
    c = r["T1-07"]
    s7 = (1 if c["powers_cleared"] else 0) + (2 if c["catalog_compiled"] else 0)
    s7 += 2 if c["flowchart_drawn"] else 0
    c = r["T1-08"]
    s8 = 10 - (0 if c["online_approval_done"] else 5) - (0 if c["licensing_in_center"] else 5)
    s9 = 0 if r["T1-09"]["mass_petitions"] else 5
    n = len(r["T1-10"]["published"])
    s10 = max(0, 5 - (6 - n)) if n else 0
    s11 = HANDLING_INT[r["T1-11"]["handling"]]
    s12 = 5 if r["T1-12"]["replied_on_time"] else 0
    s13 = 0 if r["T1-13"]["abuse"] else 5
    c = r["T1-14"]
    if c["complaints_ignored"]:
        s14 = 0
    else:
        s14 = 10 - (0 if c["channel_set_up"] and c["channel_published"] and c["mechanism"] else 5)
        if c["has_complaints"]:
            s14 -= 3 if c["complaints_resolved"] else 8
        s14 = max(0, s14)
    c = r["T1-15"]
    s15 = max(0, RECOGNITION_INT[c["recognition"]] - (5 if c["complaints_petitions"] else 0))
    return s1 + s2 + s3 + s4 + s5 + s6 + s7 + s8 + s9 + s10 + s11 + s12 + s13 + s14 + s15


# --------------------------------------------------------------------------------------------
# Checks before timing: the hand-written code must describe the same table, accept and refuse
# the same records, and give the same totals as the engine.
# --------------------------------------------------------------------------------------------


def check_declarations(doc: Any) -> None:
    """The hand-written field table matches the loaded rubric (fails if the YAML changed)."""
    declared: dict[str, dict[str, Any]] = {}
    for c in _criteria(doc):
        declared[c.id] = {}
        for name, spec in c.evidence.items():
            if spec.type_name == "flag":
                declared[c.id][name] = FLAG
            elif spec.type_name == "checklist":
                declared[c.id][name] = ("checklist", tuple(spec.items))
            elif spec.type_name == "choice":
                declared[c.id][name] = ("choice", tuple(spec.options))
            else:
                declared[c.id][name] = spec.type_name
    if declared != TABLE1_FIELDS:
        raise SystemExit("bench_table1: TABLE1_FIELDS no longer matches rubrics/table1.yaml")


def invalid_variants(doc: Any, record: Record) -> Iterable[tuple[str, Any]]:
    """(what is wrong, record) for a range of defects, derived from the declarations."""

    def patched(cid: str, name: str, value: Any) -> Record:
        out = {k: dict(v) for k, v in record.items()}
        out[cid][name] = value
        return out

    yield "record is a list", [record]
    yield "unknown criterion", {**record, "T1-99": {}}
    first = next(iter(record))
    yield "missing criterion", {k: v for k, v in record.items() if k != first}
    for c in _criteria(doc):
        yield f"{c.id} not a mapping", {**record, c.id: list(record[c.id])}
        yield f"{c.id} unknown field", {**record, c.id: {**record[c.id], "extra": True}}
        name = next(iter(c.evidence))
        yield f"{c.id} missing field", {**record, c.id: {k: v for k, v in record[c.id].items() if k != name}}
        for name, spec in c.evidence.items():
            bad: list[Any] = [None, "true"]
            if spec.type_name == "flag":
                bad += [1, 0, "是"]
            elif spec.type_name == "checklist":
                bad += [spec.items[0], ["未知项"], [spec.items[0], spec.items[0]], [1], {}]
            elif spec.type_name == "choice":
                bad += ["未知", [spec.options[0]], 1, True]
            for value in bad:
                yield f"{c.id}.{name}={value!r}", patched(c.id, name, value)


def check_rejections(table1: Any, doc: Any, record: Record) -> int:
    """Both validating scorers refuse every invalid variant; return how many were tried."""
    tried = 0
    for what, bad in invalid_variants(doc, record):
        tried += 1
        try:
            table1.score(bad, audit=False)
        except rubric.EvidenceError:
            pass
        else:
            raise SystemExit(f"bench_table1: the engine accepted an invalid record ({what})")
        try:
            score_decimal(bad)
        except ValueError:
            pass
        else:
            raise SystemExit(f"bench_table1: score_decimal accepted an invalid record ({what})")
    return tried


def check_agreement(table1: Any, records: list[Record]) -> list[Decimal]:
    """Identical totals from (a)-(d) on every record, else exit with the first disagreement."""
    totals = []
    for index, record in enumerate(records):
        full = table1.score(record)
        bare = table1.score(record, audit=False)
        by_hand, items = score_decimal(record)
        floor = score_int(record)
        if not full.total == bare.total == by_hand == Decimal(floor):
            engine_items = [c.score for cat in full.categories for c in cat.criteria]
            differ = [
                f"{cid}: engine {e}, by hand {h}"
                for cid, e, h in zip(TABLE1_FIELDS, engine_items, items, strict=True)
                if e != h
            ]
            raise SystemExit(
                f"bench_table1: scorers disagree on record {index}: (a) {full.total}, (b) {bare.total}, "
                f"(c) {by_hand}, (d) {floor}\n  " + "\n  ".join(differ) + f"\n  record: {record!r}"
            )
        totals.append(full.total)
    return totals


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def time_block(score: Callable[[Any], Any], records: list[Record]) -> int:
    """Nanoseconds to score every record once."""
    gc.collect()
    start = time.perf_counter_ns()
    for record in records:
        score(record)
    return time.perf_counter_ns() - start


def time_scorers(
    scorers: dict[str, Callable[[Any], Any]], records: list[Record], repeats: int
) -> dict[str, float]:
    """Median per-record microseconds per scorer, the scorers interleaved in each repetition."""
    runs: dict[str, list[int]] = {name: [] for name in scorers}
    for _ in range(repeats):
        for name, score in scorers.items():
            runs[name].append(time_block(score, records))
    return {name: statistics.median(ns) / len(records) / 1000 for name, ns in runs.items()}


def time_load(path: Path, loads: int = LOADS) -> float:
    """Median milliseconds of ``rubric.load(path)``."""
    times = []
    for _ in range(loads):
        gc.collect()
        start = time.perf_counter_ns()
        rubric.load(path)
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1e6


def machine() -> str:
    """Processor, cores and Python, as the platform reports them."""
    cpu = platform.processor() or platform.machine()
    try:  # Linux names the model; platform.processor() there is only the architecture
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu} ({platform.machine()}), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.system()}"
    )


def main(argv: list[str] | None = None) -> int:
    """Generate, check, time, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per block (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (default 5)")
    args = parser.parse_args(argv)
    if args.records < 1 or args.repeats < 1:
        parser.error("--records and --repeats must be at least 1")

    print(f"bench_table1  {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %z}")
    print(f"machine       {machine()}")
    print(f"engine        {rubric.__version__} ({Path(rubric.__file__).parent})")

    table1 = rubric.load(TABLE1)
    doc = table1.doc
    check_declarations(doc)
    records = generate_records(doc, args.records)
    rejected = check_rejections(table1, doc, records[0])
    totals = check_agreement(table1, records)
    gaps = coverage_gaps(doc, records)
    print(
        f"records       {len(records)} (random.Random({SEED})), {args.repeats} repeats; "
        f"totals {min(totals)}-{max(totals)}, mean {statistics.fmean(totals):.2f}"
    )
    print(
        f"coverage      {'every flag value, item and option drawn' if not gaps else 'MISSING ' + str(gaps)}"
    )
    print(
        f"checked       (a)-(d) identical totals on all records; {rejected} invalid records refused by a, c"
    )
    print()

    scorers: dict[str, Callable[[Any], Any]] = {
        "a": table1.score,
        "b": functools.partial(table1.score, audit=False),
        "c": score_decimal,
        "d": score_int,
    }
    labels = {
        "a": "engine, audit trail",
        "b": "engine, audit=False",
        "c": "by hand, validated, Decimal",
        "d": "by hand, no validation, int",
    }
    micros = time_scorers(scorers, records, args.repeats)
    print("scorer                                µs/record")
    for name, us in micros.items():
        print(f"({name}) {labels[name]:<32} {us:9.2f}")
    print()
    print("ratio       measured   target")
    for top, bottom, most in TARGETS:
        ratio = micros[top] / micros[bottom]
        verdict = "ok" if ratio <= most else "MISSED"
        print(f"({top})/({bottom})     {ratio:7.2f}   <= {most:<4}  {verdict}")
    print()
    load_ms = time_load(TABLE1)
    verdict = "ok" if load_ms < LOAD_TARGET_MS else "MISSED"
    print(f"load        {load_ms:7.2f} ms  < {LOAD_TARGET_MS:g} ms  {verdict}  (median of {LOADS} loads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
