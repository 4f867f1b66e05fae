"""Compare the engine on 表一 with two general rule engines: zen-engine (GoRules, a Rust core) and
JsonLogic (panzi-json-logic, pure Python).

Run from the repository root (the rule engines are optional: ``pip install '.[bench]'``; an engine
that is not installed is skipped, and said so):

    .venv/bin/python benchmarks/bench_engines.py [--records N] [--repeats R]

表一 is written once for each engine below, clause by clause from rubrics/table1.yaml (the same
reading as bench_table1's hand-written scorers, whose totals are the expected ones). Before any
timing, every engine's total is checked against ``bench_table1.score_decimal`` on every record
(the seeded records of ``bench_table1.generate_records``); a disagreement stops the run. Then each
scorer runs over all records in turn, R times interleaved, and the medians and their ratios are
printed. Neither rule engine validates its input (neither would refuse ``"sound": 1``), so the
fair comparison for them is (b) and (d); (a) and (c) also validate.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import rubric

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling modules
from bench_batch import load
from bench_table1 import (
    DOCUMENTS,
    HANDLING,
    PUBLISHED,
    RECOGNITION,
    SEED,
    TABLE1,
    TABLE1_FIELDS,
    check_declarations,
    generate_records,
    machine,
    score_decimal,
    score_int,
    time_scorers,
)

# --------------------------------------------------------------------------------------------
# 表一 in the ZEN expression language: one expression node, a key per 序号, then the total.
# ``$root["T1-01"].sound`` reads a fact (the ids hold a hyphen); ``$.s1`` an earlier key.
# --------------------------------------------------------------------------------------------


def _z(cid: str, name: str) -> str:
    return f'$root["{cid}"].{name}'


def _z_items(cid: str, name: str, items: tuple[str, ...]) -> str:
    """How many declared items are present (each missing one is deducted on its own)."""
    return "(" + " + ".join(f'(contains({_z(cid, name)}, "{item}") ? 1 : 0)' for item in items) + ")"


def _z_points(cid: str, name: str, options: tuple[str, ...], points: tuple[int, ...]) -> str:
    text = "0"
    for option, value in reversed(list(zip(options, points, strict=True))):
        text = f'({_z(cid, name)} == "{option}" ? {value} : {text})'
    return text


ZEN_EXPRESSIONS = {
    # 不健全扣2分; 不及时调整扣2分
    "s1": f"max([0, 5 - ({_z('T1-01', 'sound')} ? 0 : 2) - ({_z('T1-01', 'adjusted')} ? 0 : 2)])",
    # 缺一项扣1分; 不及时完成任务扣2分; 没有不得分
    "s2": f"{_z_items('T1-02', 'documents', DOCUMENTS)} == 0 ? 0 : max([0, 5 - (4 - "
    f"{_z_items('T1-02', 'documents', DOCUMENTS)}) - ({_z('T1-02', 'on_time')} ? 0 : 2)])",
    "s3": f"{_z('T1-03', 'completed')} ? 5 : 0",  # 不及时完成扣5分
    # 工作协调不到位或窗口有投诉扣5分
    "s4": f"(not {_z('T1-04', 'coordinated')} or {_z('T1-04', 'window_complaints')}) ? 0 : 5",
    "s5": f"{_z('T1-05', 'rules_established')} ? 5 : 0",  # 否则扣5分
    # 超过20个工作日没有更新的扣5分; 没有编制的不得分
    "s6": f"{_z('T1-06', 'compiled')} ? ({_z('T1-06', 'overdue')} ? 15 : 20) : 0",
    # 清理1分, 目录2分, 流程图2分
    "s7": f"({_z('T1-07', 'powers_cleared')} ? 1 : 0) + ({_z('T1-07', 'catalog_compiled')} ? 2 : 0)"
    f" + ({_z('T1-07', 'flowchart_drawn')} ? 2 : 0)",
    # 没有完成的扣5分; 行政许可业务未全部纳入中心扣5分
    "s8": f"10 - ({_z('T1-08', 'online_approval_done')} ? 0 : 5)"
    f" - ({_z('T1-08', 'licensing_in_center')} ? 0 : 5)",
    "s9": f"{_z('T1-09', 'mass_petitions')} ? 0 : 5",  # 有就不得分
    # 缺一项扣1分; 没有的不得分
    "s10": f"{_z_items('T1-10', 'published', PUBLISHED)} == 0 ? 0 : max([0, 5 - (6 - "
    f"{_z_items('T1-10', 'published', PUBLISHED)})])",
    "s11": _z_points("T1-11", "handling", HANDLING, (5, 3, 0)),
    "s12": f"{_z('T1-12', 'replied_on_time')} ? 5 : 0",  # 未及时答复的扣5分
    "s13": f"{_z('T1-13', 'abuse')} ? 0 : 5",  # 有就不得分
    # 没有设立…扣5分 / 符合得5分; 有投诉扣3分, 及时处理…得5分; 对投诉不做处理的不得分
    "s14": f"{_z('T1-14', 'complaints_ignored')} ? 0 : max([0, 10 - (({_z('T1-14', 'channel_set_up')} and "
    f"{_z('T1-14', 'channel_published')} and {_z('T1-14', 'mechanism')}) ? 0 : 5) - "
    f"({_z('T1-14', 'has_complaints')} ? ({_z('T1-14', 'complaints_resolved')} ? 3 : 8) : 0)])",
    # 表彰5分 / 反映好2分; 有投诉上访扣5分
    "s15": f"max([0, {_z_points('T1-15', 'recognition', RECOGNITION, (5, 2, 0))} - "
    f"({_z('T1-15', 'complaints_petitions')} ? 5 : 0)])",
}
ZEN_EXPRESSIONS["total"] = " + ".join(f"$.s{n}" for n in range(1, 16))


def zen_graph() -> str:
    """The JSON Decision Model: input → one expression node → output."""
    place = {"x": 0, "y": 0}
    expressions = [{"id": key, "key": key, "value": value} for key, value in ZEN_EXPRESSIONS.items()]
    nodes = [
        {"id": "in", "type": "inputNode", "name": "evidence", "position": place},
        {
            "id": "t1",
            "type": "expressionNode",
            "name": "表一",
            "position": place,
            "content": {"expressions": expressions},
        },
        {"id": "out", "type": "outputNode", "name": "scores", "position": place},
    ]
    edges = [
        {"id": "e1", "sourceId": "in", "targetId": "t1", "type": "edge"},
        {"id": "e2", "sourceId": "t1", "targetId": "out", "type": "edge"},
    ]
    return json.dumps({"nodes": nodes, "edges": edges}, ensure_ascii=False)


def zen_scorer() -> Callable[[Any], Any] | str:
    """A function record → total on zen-engine, or why there is none."""
    try:
        zen = importlib.import_module("zen")
    except ImportError:
        return "not installed (pip install zen-engine)"
    decision = zen.ZenEngine().create_decision(zen_graph())

    def score(record: Any) -> Any:
        return decision.evaluate(record)["result"]["total"]

    return score


def zen_expression_scorer() -> Callable[[Any], Any] | str:
    """The same 15 expressions summed in one compiled ZEN expression, without a decision graph
    (the graph's own cost per evaluation dominates on this table)."""
    try:
        zen = importlib.import_module("zen")
    except ImportError:
        return "not installed (pip install zen-engine)"
    criteria = [value for key, value in ZEN_EXPRESSIONS.items() if key != "total"]
    expression = zen.compile_expression(" + ".join(f"({value})" for value in criteria))
    return expression.evaluate


# --------------------------------------------------------------------------------------------
# 表一 in JsonLogic: one rule, the sum of the 15 criteria.
# --------------------------------------------------------------------------------------------


def _v(cid: str, name: str) -> dict[str, Any]:
    return {"var": f"{cid}.{name}"}


def _if(condition: Any, yes: Any, no: Any) -> dict[str, Any]:
    return {"if": [condition, yes, no]}


def _flag(cid: str, name: str, yes: int, no: int) -> dict[str, Any]:
    return _if(_v(cid, name), yes, no)


def _minus(first: Any, *rest: Any) -> Any:
    for value in rest:
        first = {"-": [first, value]}
    return first


def _floor0(value: Any) -> dict[str, Any]:
    return {"max": [0, value]}


def _j_items(cid: str, name: str, items: tuple[str, ...]) -> dict[str, Any]:
    return {"+": [_if({"in": [item, _v(cid, name)]}, 1, 0) for item in items]}


def _j_points(cid: str, name: str, options: tuple[str, ...], points: tuple[int, ...]) -> Any:
    rule: Any = 0
    for option, value in reversed(list(zip(options, points, strict=True))):
        rule = _if({"==": [_v(cid, name), option]}, value, rule)
    return rule


def _j_counted(cid: str, name: str, items: tuple[str, ...], rest: Callable[[Any], Any]) -> dict[str, Any]:
    present = _j_items(cid, name, items)
    return _if({"==": [present, 0]}, 0, rest(present))


JSON_LOGIC = {
    "+": [
        _floor0(_minus(5, _flag("T1-01", "sound", 0, 2), _flag("T1-01", "adjusted", 0, 2))),
        _j_counted(
            "T1-02",
            "documents",
            DOCUMENTS,
            lambda n: _floor0(_minus(5, {"-": [4, n]}, _flag("T1-02", "on_time", 0, 2))),
        ),
        _flag("T1-03", "completed", 5, 0),
        _if({"or": [{"!": _v("T1-04", "coordinated")}, _v("T1-04", "window_complaints")]}, 0, 5),
        _flag("T1-05", "rules_established", 5, 0),
        _if(_v("T1-06", "compiled"), _flag("T1-06", "overdue", 15, 20), 0),
        {
            "+": [
                _flag("T1-07", "powers_cleared", 1, 0),
                _flag("T1-07", "catalog_compiled", 2, 0),
                _flag("T1-07", "flowchart_drawn", 2, 0),
            ]
        },
        _minus(10, _flag("T1-08", "online_approval_done", 0, 5), _flag("T1-08", "licensing_in_center", 0, 5)),
        _flag("T1-09", "mass_petitions", 0, 5),
        _j_counted("T1-10", "published", PUBLISHED, lambda n: _floor0(_minus(5, {"-": [6, n]}))),
        _j_points("T1-11", "handling", HANDLING, (5, 3, 0)),
        _flag("T1-12", "replied_on_time", 5, 0),
        _flag("T1-13", "abuse", 0, 5),
        _if(
            _v("T1-14", "complaints_ignored"),
            0,
            _floor0(
                _minus(
                    10,
                    _if(
                        {
                            "and": [
                                _v("T1-14", "channel_set_up"),
                                _v("T1-14", "channel_published"),
                                _v("T1-14", "mechanism"),
                            ]
                        },
                        0,
                        5,
                    ),
                    _if(_v("T1-14", "has_complaints"), _flag("T1-14", "complaints_resolved", 3, 8), 0),
                )
            ),
        ),
        _floor0(
            _minus(
                _j_points("T1-15", "recognition", RECOGNITION, (5, 2, 0)),
                _flag("T1-15", "complaints_petitions", 5, 0),
            )
        ),
    ]
}


def json_logic_scorer() -> Callable[[Any], Any] | str:
    """A function record → total on JsonLogic, or why there is none."""
    try:
        json_logic = importlib.import_module("json_logic")
    except ImportError:
        return "not installed (pip install panzi-json-logic)"
    apply = json_logic.jsonLogic
    return lambda record: apply(JSON_LOGIC, record)


# --------------------------------------------------------------------------------------------
# Checking, timing, reporting
# --------------------------------------------------------------------------------------------


def check_totals(scorers: dict[str, Callable[[Any], Any]], records: list[Any]) -> None:
    """Every scorer's total equals the hand-written Decimal scorer's on every record."""
    for index, record in enumerate(records):
        expected = score_decimal(record)[0]
        for name, score in scorers.items():
            total = score(record)
            if isinstance(total, tuple):  # score_decimal: (total, the criteria's scores)
                total = total[0]
            total = getattr(total, "total", total)  # a Result
            if Decimal(str(total)) != expected:
                raise SystemExit(
                    f"bench_engines: ({name}) gives {total} on record {index}, the hand-written scorer "
                    f"{expected}\n  record: {record!r}"
                )


def main(argv: list[str] | None = None) -> int:
    """Check every engine's totals on every record, then time them and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000, help="records per block (default 5000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions (default 5)")
    args = parser.parse_args(argv)
    if args.records < 1 or args.repeats < 1:
        parser.error("--records and --repeats must be at least 1")

    print(f"bench_engines {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %z}")
    print(f"machine       {machine()}")
    print(f"load average  {load()} (other work on the machine slows every figure below)")
    table1 = rubric.load(TABLE1)
    check_declarations(table1.doc)
    assert set(TABLE1_FIELDS) == {f"T1-{n:02d}" for n in range(1, 16)}
    records = generate_records(table1.doc, args.records)

    labels = {
        "a": "rubric score(), audit trail",
        "b": "rubric score(audit=False)",
        "c": "by hand, validated, Decimal",
        "d": "by hand, no validation, int",
        "z": "zen-engine decision graph",
        "y": "zen-engine one compiled expression",
        "j": "JsonLogic (panzi), pure Python",
    }
    scorers: dict[str, Callable[[Any], Any]] = {
        "a": table1.score,
        "b": functools.partial(table1.score, audit=False),
        "c": score_decimal,
        "d": score_int,
    }
    engines = (("z", zen_scorer()), ("y", zen_expression_scorer()), ("j", json_logic_scorer()))
    for name, made in engines:
        if isinstance(made, str):
            print(f"skipped       ({name}) {labels[name]}: {made}")
        else:
            scorers[name] = made
    check_totals(scorers, records)
    print(
        f"records       {len(records)} (random.Random({SEED})), {args.repeats} repeats; "
        f"identical totals from {', '.join(f'({n})' for n in scorers)} on every record"
    )
    print()
    micros = time_scorers(scorers, records, args.repeats)
    print("scorer                                     µs/record")
    for name, us in micros.items():
        print(f"({name}) {labels[name]:<36} {us:10.2f}")
    print()
    print("ratios (a number below 1 means the left one is faster)")
    for left in ("a", "b"):
        for right in ("z", "y", "j", "c", "d"):
            if right in micros:
                print(f"  ({left})/({right}) = {micros[left] / micros[right]:6.2f}")
    print(f"load average  {load()} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
