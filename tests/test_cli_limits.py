"""Limits that hold and exit codes that mean what the README says.

Problems are capped per record and per run, a JSON Lines or CSV line is measured while it is read
(memory is bounded with tracemalloc, not time), bad ``report`` input and bad options exit 2, a
missing rubric given to ``check`` exits 2, and a closed pipe ends a command quietly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

import rubric
from rubric import _batch
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = "rubrics/table1.yaml"


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def typical() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "examples" / "table1-typical.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def with_unknown_items(count: int) -> dict[str, Any]:
    """表一 typical, with ``count`` unknown items in 序号2's checklist: one unknown-item problem each."""
    record = typical()
    record["T1-02"]["documents"] = [f"未知{i}" for i in range(count)]
    return record


def jline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------------------------
# Problems: at most 100 per record, a bounded number per run, each of bounded length
# ------------------------------------------------------------------------------------------


def test_a_record_with_500_unknown_items_lists_99_and_counts_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(jline(with_unknown_items(500)), encoding="utf-8")
    code, _, _ = run(capsys, "batch", TABLE1, source, "--out", out)
    assert code == 1
    (entry,) = [json.loads(line) for line in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    problems = entry["problems"]
    assert len(problems) == 100
    assert {p["code"] for p in problems[:99]} == {"unknown-item"}
    assert [p["path"] for p in problems[:2]] == ["T1-02.documents[0]", "T1-02.documents[1]"]
    assert (problems[99]["code"], problems[99]["message"]) == (
        "more-problems",
        "… and 401 more problems not listed",  # 500 − 99 listed
    )


def test_score_prints_at_most_100_problems_of_one_evidence_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    evidence = tmp_path / "many.json"
    evidence.write_text(json.dumps(with_unknown_items(2000), ensure_ascii=False), encoding="utf-8")
    code, _, err = run(capsys, "score", TABLE1, evidence)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 100
    assert lines[-1].endswith("more-problems: … and 1901 more problems not listed (fix these first)")


def test_the_errors_file_lists_a_bounded_number_of_problems_per_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_batch, "MAX_PROBLEMS_PER_RUN", 150)
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(jline(with_unknown_items(300)) * 4, encoding="utf-8")
    code, _, err = run(capsys, "batch", TABLE1, source, "--out", out)
    assert code == 1
    assert "read 4, scored 0, rejected 4, blank 0" in err  # every record is still accounted for
    entries = [json.loads(line) for line in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    # 100 listed (the per-record cap), then the 50 left in the run's budget, then 1 count each
    assert [len(e["problems"]) for e in entries] == [100, 50, 1, 1]
    assert [e["problems"][-1]["message"] for e in entries] == [
        "… and 201 more problems not listed",
        "… and 251 more problems not listed",
        "… and 300 more problems not listed",
        "… and 300 more problems not listed",
    ]


def test_a_hint_listing_a_huge_checklist_is_cut_in_the_errors_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    items = [f"材料{i:05d}" for i in range(5000)]
    document = {
        "id": "big",
        "version": "1",
        "title": "大清单",
        "points": 5,
        "categories": [
            {
                "id": "A",
                "name": "甲",
                "criteria": [
                    {
                        "id": "B-01",
                        "number": 1,
                        "content": "材料齐全",
                        "points": 5,
                        "standard": "缺一项扣1分",
                        "evidence": {"docs": {"type": "checklist", "label": "材料", "items": items}},
                        "rules": [{"per_missing": "docs", "points": 1, "clause": "缺一项扣1分"}],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "big.yaml"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    # 300 unknown items of 7 letters (no did-you-mean: they share no character with the items), a
    # 3 KB line; each one's hint lists all 5,000 items (55 KB), 16 MB in all before the caps
    unknown = ["".join(chr(ord("g") + int(d)) for d in f"{i:07d}") for i in range(300)]
    source.write_text(jline({"B-01": {"docs": unknown}}), encoding="utf-8")
    code, _, _ = run(capsys, "batch", path, source, "--out", out)
    assert code == 1
    errors = Path(f"{out}.errors.jsonl")
    # 100 problems, each a message and a hint of at most 500 characters (3 bytes each in UTF-8)
    # and about 200 bytes of codes, path and place
    assert errors.stat().st_size < 100 * (2 * 500 * 3 + 200)


# ------------------------------------------------------------------------------------------
# Lines are measured while they are read
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_an_overlong_line_is_rejected_by_number_without_being_held(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, suffix: str
) -> None:
    source, out = tmp_path / f"in.{suffix}", tmp_path / "out.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        if suffix == "csv":
            handle.write("unit,T1-01.sound\n甲,true\n")
            handle.write("乙," + "t" * 30_000_000 + "\n")
            handle.write("丙,false\n")
        else:
            handle.write('{"T1-01": {}}\n' + '{"x": "' + "a" * 30_000_000 + '"}\n' + '{"T1-02": {}}\n')
    tracemalloc.start()
    try:
        code, _, err = run(capsys, "--max-bytes", "100000", "batch", TABLE1, source, "--out", out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1, err
    assert peak < 10_000_000  # the 30 MB line was never held: a few 64 KiB pieces at a time
    entries = [json.loads(line) for line in Path(f"{out}.errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in entries] == [1, 2, 3] if suffix == "jsonl" else [2, 3, 4]
    (long_line,) = [e for e in entries if e["problems"][0]["code"] == "too-large"]
    assert long_line["line"] == 2 if suffix == "jsonl" else 3
    assert long_line["problems"][0]["message"] == "the line is longer than the limit of 100000 bytes"


# ------------------------------------------------------------------------------------------
# Exit codes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        '{"total": "x", "max": "5", "categories": []}',
        '{"total": "1", "categories": []}',
        '{"total": "1", "max": "5", "categories": "甲"}',
        '{"total": "1", "max": "5", "categories": [], "reasons": [7]}',
        '{"total": "NaN", "max": "5", "categories": []}',
        '{"total": "1", "max": "5", "categories": [{"name": "甲", "score": "高"}]}',
    ],
)
def test_report_of_a_malformed_result_exits_2_naming_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, line: str
) -> None:
    results = tmp_path / "results.jsonl"
    good = '{"total": "3", "max": "5", "categories": [], "reasons": [], "unit": "好"}'
    results.write_text(good + "\n" + line + "\n", encoding="utf-8")
    code, out, err = run(capsys, "report", results)
    assert code == 2
    assert out == ""
    assert err.startswith(f"{results}:2:1: not-a-result: not a batch result line")


@pytest.mark.parametrize("value", ["1e20", "100000000000000000000", "0", "-5"])
def test_an_impossible_max_bytes_exits_2_with_a_clear_message(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--max-bytes", value, "score", TABLE1, "examples/table1-typical.yaml"])
    assert exit_.value.code == 2
    assert "--max-bytes" in capsys.readouterr().err


def test_workers_0_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["batch", TABLE1, "examples/table1-units.jsonl", "--out", str(tmp_path / "o"), "--workers", "0"])
    assert exit_.value.code == 2
    assert "workers must be from 1" in capsys.readouterr().err


def test_check_of_a_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", TABLE1, "missing.yaml")
    assert code == 2
    assert "missing.yaml: io: No such file or directory" in out


def test_global_limits_are_accepted_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "score", TABLE1, "examples/table1-typical.yaml", "--max-bytes", "100")
    assert code == 2
    assert "too-large" in err


def test_max_bytes_applies_to_the_cases_file_of_rubric_test(capsys: pytest.CaptureFixture[str]) -> None:
    # A limit between the two sizes: table1.yaml fits, table1.cases.yaml (the larger) does not.
    rubric_size = (ROOT / TABLE1).stat().st_size
    cases_size = (ROOT / "rubrics" / "table1.cases.yaml").stat().st_size
    limit = (rubric_size + cases_size) // 2
    assert rubric_size < limit < cases_size
    code, _, err = run(capsys, "test", TABLE1, "--max-bytes", str(limit))
    assert code == 2
    assert err.startswith(
        f"rubrics/table1.cases.yaml: too-large: {cases_size} bytes is over the limit of {limit}"
    )


def test_a_repeated_csv_column_is_an_error_naming_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("unit,T1-01.sound,T1-01.adjusted,T1-01.sound\n甲,true,true,false\n", encoding="utf-8")
    code, _, err = run(capsys, "batch", TABLE1, source, "--out", tmp_path / "out.jsonl")
    assert code == 2
    assert err.strip() == (
        f"{source}:1:1: duplicate-column: columns 2 and 4 are both named 'T1-01.sound' "
        "(keep one column per fact)"
    )
    assert not (tmp_path / "out.jsonl").exists()


def test_check_into_a_closed_pipe_ends_quietly() -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(rubric.__file__).resolve().parent.parent)}
    # about 130 KB of findings: more than a pipe holds, so the writer meets the closed end
    process = subprocess.Popen(
        [sys.executable, "-m", "rubric.cli", "check", *[TABLE1] * 20],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline()  # `| head -1`
    process.stdout.close()
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode in (0, 141)
    assert err == b""
