"""``rubric batch`` and ``rubric report``: accounting, atomic output, CSV in and out, the bulletin.

Most tests call ``rubric.cli.main`` in-process (capsys captures the summary on stderr); the
interruption tests start a real ``python -m rubric.cli batch`` process and kill it while it is
writing. Expected totals are worked out by hand from the rubric YAML (the clause is named in a
comment); the four 表一 examples are known to score perfect 100, typical 83, veto 93, floor 80:

    perfect  every standard met, every declared point                                 = 100
    typical  (see tests/test_cli.py) 17 + 40 + 12 + 12 + 2                            = 83
    veto     100 − 2 (序号2 不及时完成任务扣2分) − 5 (序号9 有就不得分)                = 93
    floor    100 − 5 (序号8: 没有完成的扣5分, 10 − 5)
                − 10 (序号14: 10 − 5 − 3 − 5 = −3, floored at 0)
                − 5 (序号15: 2 − 5 = −3, floored at 0)                                 = 80
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import rubric
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = "rubrics/table1.yaml"
TABLE2 = "rubrics/table2.yaml"
DEPARTMENT = "rubrics/department.yaml"

TOTALS = {"perfect": "100", "typical": "83", "veto": "93", "floor": "80"}

# 表二 (rubrics/table2.yaml), examples/table2-typical.yaml (as in tests/test_cli.py):
#   T2-01 40 − 3 (如变动扣3分) − 5 (未经中心许可变动1人次×5) − 3 (酌情扣3分) = 29
#   T2-02 40 − 2 (2项未更新×1) − 2 (1项发牌警告×2) − 2 (2个月未按时报送×1) = 34
#   T2-03 0 + 3 (表扬1件×3) + 1.5 (二个以上工作人员的窗口加1.5分) = 4.5         总分 67.5
# examples/table2-perfect.yaml: 40 + 40 + (4 + 3 + 2×5 + 3 = 20, cap 20)            总分 100
TABLE2_TYPICAL = "67.5"


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run from the repository root; undo the SIGTERM handler that ``batch`` installs."""
    monkeypatch.chdir(ROOT)
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def example(name: str) -> dict[str, Any]:
    """An example evidence record as plain data (the files hold only text, booleans, integers)."""
    data = yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def jline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def summary_line(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("read "))


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def leftovers(folder: Path, name: str) -> list[str]:
    """Temporary files of an atomic writer for ``name`` left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


# ------------------------------------------------------------------------------------------
# JSON Lines: every line accounted for, every problem reported, results in input order
# ------------------------------------------------------------------------------------------


def mixed_jsonl() -> tuple[bytes, dict[str, Any]]:
    """Good records with bad ones in the middle, and what a hand count of the lines says."""
    typical = example("table1-typical")
    wrong_type = copy.deepcopy(typical)
    wrong_type["T1-01"]["sound"] = 1  # a number is not a flag
    two_problems = copy.deepcopy(example("table1-perfect"))
    two_problems["T1-02"]["documents"] = ["计划", "年报"]  # 年报 is not one of the four items
    two_problems["T1-09"]["mass_petitions"] = "no"  # text is not a flag
    lines = [
        jline(example("table1-perfect")).encode(),  # 1 bare record: unit "1", 100
        jline({"unit": "典型单位", "evidence": typical}).encode(),  # 2 83
        jline({"unit": "类型错", "evidence": wrong_type}).encode(),  # 3 rejected: wrong-type
        b"\n",  # 4 blank
        jline({"unit": "两处错", "evidence": two_problems}).encode(),  # 5 rejected: two problems
        b'{"T1-01": {"sound": true,\n',  # 6 rejected: not JSON
        jline({"unit": "多键", "evidence": typical, "note": "x"}).encode(),  # 7 rejected: unknown key
        jline({"unit": "否决单位", "evidence": example("table1-veto")}).encode(),  # 8 93
        b"   \t \n",  # 9 blank (whitespace only)
        b"\xff\xfe not utf-8\n",  # 10 rejected: not UTF-8
        jline(example("table1-floor")).encode(),  # 11 bare record: unit "11", 80
    ]
    expected = {
        "read": 11,
        "scored": 4,
        "rejected": 5,
        "blank": 2,
        "scored_rows": [("1", 1, "100"), ("典型单位", 2, "83"), ("否决单位", 8, "93"), ("11", 11, "80")],
        "errors": {
            3: ("类型错", {("wrong-type", "T1-01.sound")}),
            5: ("两处错", {("unknown-item", "T1-02.documents[1]"), ("wrong-type", "T1-09.mass_petitions")}),
            6: ("6", {("bad-json", "")}),
            7: ("多键", {("unknown-key", "note")}),
            10: ("10", {("not-utf8", "")}),
        },
    }
    return b"".join(lines), expected


def test_jsonl_every_line_is_accounted_for(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data, expected = mixed_jsonl()
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_bytes(data)
    assert data.count(b"\n") == expected["read"]  # the hand count is of the lines in the file

    code, stdout, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out))

    assert code == 1
    assert stdout == ""
    read, scored, rejected, blank = (expected[k] for k in ("read", "scored", "rejected", "blank"))
    assert read == scored + rejected + blank
    assert summary_line(err) == f"read {read}, scored {scored}, rejected {rejected}, blank {blank}"

    results = jsonl(out)
    assert [(r["unit"], r["line"], r["total"]) for r in results] == expected["scored_rows"]
    assert all(r["max"] == "100" for r in results)

    errors = jsonl(Path(str(out) + ".errors.jsonl"))  # the default errors file
    assert [e["line"] for e in errors] == sorted(expected["errors"])
    for entry in errors:
        unit, problems = expected["errors"][entry["line"]]
        assert entry["unit"] == unit
        assert entry["file"] == str(source)
        assert {(p["code"], p["path"]) for p in entry["problems"]} == problems
        assert all(p["line"] == entry["line"] for p in entry["problems"])
    assert leftovers(tmp_path, "out.jsonl") == []


def test_jsonl_all_good_input_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    names = ["perfect", "typical", "veto", "floor"]
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(
        "".join(jline({"unit": n, "evidence": example(f"table1-{n}")}) for n in names), encoding="utf-8"
    )
    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out))
    assert code == 0
    assert summary_line(err) == "read 4, scored 4, rejected 0, blank 0"
    assert [(r["unit"], r["total"]) for r in jsonl(out)] == [(n, TOTALS[n]) for n in names]
    errors = Path(str(out) + ".errors.jsonl")
    assert not errors.exists() or errors.read_text(encoding="utf-8") == ""


def test_max_errors_stops_early_and_leaves_previous_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = jline(example("table1-typical"))
    bad = jline({"T1-01": {"sound": "是", "adjusted": True}})  # wrong-type, and 14 criteria missing
    # lines: 1 good, 2 bad, 3 good, 4 bad (second reject: stop), 5 bad, 6 bad, 7 good, 8 bad
    source = tmp_path / "in.jsonl"
    source.write_text(good + bad + good + bad + bad + bad + good + bad, encoding="utf-8")
    out, errors = tmp_path / "out.jsonl", tmp_path / "bad.jsonl"
    out.write_bytes(b"previous results\n")
    errors.write_bytes(b"previous errors\n")

    code, _, err = run(
        capsys, "batch", TABLE1, str(source), "--out", str(out), "--errors", str(errors), "--max-errors", "2"
    )

    assert code == 1
    line = summary_line(err)
    assert line.startswith("read 4, scored 2, rejected 2, blank 0")
    assert "stopped early" in line
    assert out.read_bytes() == b"previous results\n"
    assert errors.read_bytes() == b"previous errors\n"
    assert leftovers(tmp_path, "out.jsonl") == leftovers(tmp_path, "bad.jsonl") == []


# ------------------------------------------------------------------------------------------
# Interrupted runs: a real process killed while it writes
# ------------------------------------------------------------------------------------------

BIG_LINES = 200_000


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200,000 表一 records (the four examples repeated): far more than a test waits for."""
    records = [jline(example(f"table1-{n}")) for n in ("perfect", "typical", "veto", "floor")]
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    block = "".join(records) * 1000
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(BIG_LINES // 4000):
            handle.write(block)
    return path


def start_batch(source: Path, out: Path) -> subprocess.Popen[bytes]:
    # the child imports the same rubric package as this process
    env = {**os.environ, "PYTHONPATH": str(Path(rubric.__file__).resolve().parent.parent)}
    return subprocess.Popen(
        [sys.executable, "-m", "rubric.cli", "batch", TABLE1, str(source), "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_partial_output(process: subprocess.Popen[bytes], folder: Path, name: str) -> Path:
    """Poll (up to 20 s) until the run's temporary output file holds some results."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for path in folder.iterdir():
            if path.name.startswith(f".{name}.") and not path.name.startswith(f".{name}.errors"):
                try:
                    if path.stat().st_size > 0:
                        return path
                except FileNotFoundError:
                    pass
        assert process.poll() is None, "the batch ended before it could be interrupted"
        time.sleep(0.02)
    process.kill()
    process.wait()
    pytest.fail("no temporary output file appeared within 20 s")


def interrupt(source: Path, out: Path, how: signal.Signals) -> tuple[int, str]:
    process = start_batch(source, out)
    try:
        wait_for_partial_output(process, out.parent, out.name)
        assert process.poll() is None  # still writing: the output is partial right now
        process.send_signal(how)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, err.decode("utf-8", "replace")


def test_sigkill_leaves_no_output_under_the_final_name(big_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, _ = interrupt(big_input, out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not out.exists()
    assert not Path(str(out) + ".errors.jsonl").exists()
    # only the killed writer's temporary files may remain (nothing could remove them)
    assert all(name.endswith(".tmp") for name in leftovers(tmp_path, "out.jsonl"))


def test_sigkill_leaves_the_previous_output_byte_identical(big_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    errors = Path(str(out) + ".errors.jsonl")
    before = jline({"unit": "上次", "total": "90"}).encode() * 3
    out.write_bytes(before)
    errors.write_bytes(b"")
    code, _ = interrupt(big_input, out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert out.read_bytes() == before
    assert errors.read_bytes() == b""


def test_sigterm_cleans_up_and_leaves_the_previous_output(big_input: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    errors = Path(str(out) + ".errors.jsonl")
    before = "上次的结果\n".encode()
    out.write_bytes(before)
    errors.write_bytes(b"old errors\n")
    code, err = interrupt(big_input, out, signal.SIGTERM)
    assert code == 130, err  # cli: SIGTERM is handled as an interrupt
    assert "Traceback" not in err
    assert out.read_bytes() == before
    assert errors.read_bytes() == b"old errors\n"
    assert leftovers(tmp_path, "out.jsonl") == []  # both temporary files removed


# ------------------------------------------------------------------------------------------
# CSV input: one column per fact
# ------------------------------------------------------------------------------------------


def csv_text(header: list[str], rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return buffer.getvalue()


def table1_cells(name: str) -> dict[str, str]:
    """An example 表一 record as CSV cells, by the documented convention."""
    cells = {}
    for criterion, fields in example(f"table1-{name}").items():
        for field, value in fields.items():
            if isinstance(value, bool):
                cell = "true" if value else "false"
            elif isinstance(value, list):
                cell = ";".join(value) or "-"
            else:
                cell = str(value)
            cells[f"{criterion}.{field}"] = cell
    return cells


TABLE1_COLUMNS = ["unit", *table1_cells("perfect")]


def test_csv_input_table1_flags_checklists_choices(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = [
        {**table1_cells("typical"), "unit": "甲"},  # line 2: 83
        # line 3: perfect but 序号2 "-" (none of the four documents): 没有不得分, 5 → 0: 100 − 5 = 95
        {**table1_cells("perfect"), "unit": "乙", "T1-02.documents": "-"},
        # line 4: perfect but 序号2 has only 总结、计划 (缺两项 × 1 = −2, items in any order, spaces
        # trimmed), 序号11 未及时受理又没有台账 (5 → 0), 序号15 无 (5 → 0): 100 − 2 − 5 − 5 = 88
        {
            **table1_cells("perfect"),
            "unit": "丙",
            "T1-02.documents": "总结; 计划",
            "T1-11.handling": "未及时受理又没有台账",
            "T1-15.recognition": "无",
        },
        {**table1_cells("perfect"), "unit": "丁", "T1-01.sound": "yes"},  # line 5: not a flag
        {**table1_cells("perfect"), "unit": "戊", "T1-11.handling": "符合"},  # line 6: not an option
        {**table1_cells("perfect"), "unit": "己", "T1-01.adjusted": ""},  # line 7: not recorded
    ]
    source, out, errors = tmp_path / "in.csv", tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    source.write_text(csv_text(TABLE1_COLUMNS, rows), encoding="utf-8")

    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out), "--errors", str(errors))

    assert code == 1
    assert summary_line(err) == "read 6, scored 3, rejected 3, blank 0"
    assert [(r["unit"], r["line"], r["total"]) for r in jsonl(out)] == [
        ("甲", 2, "83"),
        ("乙", 3, "95"),
        ("丙", 4, "88"),
    ]
    scored = {r["unit"]: r["criteria"] for r in jsonl(out)}
    assert (scored["乙"]["T1-02"], scored["丙"]["T1-02"], scored["丙"]["T1-11"]) == ("0", "3", "0")
    rejected = {e["unit"]: e for e in jsonl(errors)}
    assert [(u, e["line"]) for u, e in rejected.items()] == [("丁", 5), ("戊", 6), ("己", 7)]
    assert [(p["code"], p["path"]) for p in rejected["丁"]["problems"]] == [("wrong-type", "T1-01.sound")]
    assert [(p["code"], p["path"]) for p in rejected["戊"]["problems"]] == [
        ("unknown-option", "T1-11.handling")
    ]
    assert "符合要求" in rejected["戊"]["problems"][0]["hint"]
    assert [(p["code"], p["path"]) for p in rejected["己"]["problems"]] == [("missing", "T1-01.adjusted")]


TABLE2_TYPICAL_CELLS = {
    "T2-01.staffed": "true",
    "T2-01.changed": "true",
    "T2-01.unauthorised_changes": "1",
    "T2-01.equipment_incomplete": "false",
    "T2-01.attendance": "3:全年迟到早退8次",
    "T2-01.uncovered_half_days": "0",
    "T2-01.unresolved_problems": "0",
    "T2-01.violations": "-",
    "T2-01.returned_staff": "0",
    "T2-02.items_not_in_window": "0",
    "T2-02.guides_missing": "0",
    "T2-02.guides_unpublished": "0",
    "T2-02.guides_not_updated": "2",
    "T2-02.data_not_published": "false",
    "T2-02.not_online": "0",
    "T2-02.not_online_as_required": "0",
    "T2-02.overdue_warnings": "1",
    "T2-02.green_channel_uncooperative": "false",
    "T2-02.handled_outside": "false",
    "T2-02.late_report_months": "2",
    "T2-02.data_untrue": "false",
    "T2-02.complaint_from_error": "false",
    "T2-03.innovations": "-",
    "T2-03.praises": "1",
    "T2-03.banners": "0",
    "T2-03.rated_service_window": "false",
    "T2-03.solo_window_stars": "0",
    "T2-03.team_window_stars": "1",
}
TABLE2_COLUMNS = ["unit", *TABLE2_TYPICAL_CELLS]
# No deductions, no awards: T2-01 40, T2-02 40, T2-03 0.
TABLE2_CLEAN_CELLS = {
    **dict.fromkeys(TABLE2_TYPICAL_CELLS, "0"),
    **{k: "false" for k, v in TABLE2_TYPICAL_CELLS.items() if v in ("true", "false")},
    "T2-01.staffed": "true",
    "T2-01.attendance": "-",
    "T2-01.violations": "-",
    "T2-03.innovations": "-",
}


def test_csv_input_table2_counts_and_assessed(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = [
        {**TABLE2_TYPICAL_CELLS, "unit": "窗口甲"},  # line 2: 67.5
        # line 3: T2-01 40 − 7.5 (视情节扣5—10分, one judgement) = 32.5; T2-02 40;
        #         T2-03 0 + 4 + 3.5 (每项各加3-5分, two entries) + 3 (一个工作人员的窗口加3分) = 10.5
        #         32.5 + 40 + 10.5 = 83
        {
            **TABLE2_CLEAN_CELLS,
            "unit": "窗口乙",
            "T2-01.violations": "7.5:违纪未处理两起",
            "T2-03.innovations": "4:合并两个审批环节;3.5:缩短办理时限",
            "T2-03.solo_window_stars": "1",
        },
        # line 4: two bad cells, both reported: a count with a point, points outside 3—5
        {
            **TABLE2_CLEAN_CELLS,
            "unit": "窗口丙",
            "T2-02.late_report_months": "2.5",
            "T2-01.attendance": "6:迟到太多",
        },
        {**TABLE2_CLEAN_CELLS, "unit": "窗口丁", "T2-03.praises": "３"},  # line 5: full-width digit
    ]
    source, out = tmp_path / "in.csv", tmp_path / "out.jsonl"
    source.write_text(csv_text(TABLE2_COLUMNS, rows), encoding="utf-8")

    code, _, err = run(capsys, "batch", TABLE2, str(source), "--out", str(out))

    assert code == 1
    assert summary_line(err) == "read 4, scored 2, rejected 2, blank 0"
    results = jsonl(out)
    assert [(r["unit"], r["total"]) for r in results] == [("窗口甲", TABLE2_TYPICAL), ("窗口乙", "83")]
    assert results[1]["criteria"] == {"T2-01": "32.5", "T2-02": "40", "T2-03": "10.5"}
    rejected = {e["unit"]: e for e in jsonl(Path(str(out) + ".errors.jsonl"))}
    assert rejected["窗口丙"]["line"] == 4
    paths = {p["path"] for p in rejected["窗口丙"]["problems"]}
    assert "T2-02.late_report_months" in paths
    assert "T2-01.attendance[0].points" in paths
    assert len(rejected["窗口丙"]["problems"]) == 2
    assert rejected["窗口丁"]["line"] == 5
    assert [(p["code"], p["path"]) for p in rejected["窗口丁"]["problems"]] == [
        ("wrong-type", "T2-03.praises")
    ]


def test_csv_unknown_column_is_unusable_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    header = [("T1-01.sond" if h == "T1-01.sound" else h) for h in TABLE1_COLUMNS]
    source, out = tmp_path / "in.csv", tmp_path / "out.jsonl"
    source.write_text(csv_text(header, [{**table1_cells("perfect"), "unit": "甲"}]), encoding="utf-8")
    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out))
    assert code == 2
    assert "unknown-column" in err
    assert "T1-01.sond" in err
    assert "did you mean 'T1-01.sound'?" in err
    assert "Traceback" not in err
    assert not out.exists()
    assert leftovers(tmp_path, "out.jsonl") == []


# ------------------------------------------------------------------------------------------
# YAML list input
# ------------------------------------------------------------------------------------------


def test_yaml_list_input_with_line_numbers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    flow = {n: json.dumps(example(f"table1-{n}"), ensure_ascii=False) for n in TOTALS}
    bad = example("table1-perfect")
    bad["T1-01"]["sound"] = "__YES__"
    bad_flow = json.dumps(bad, ensure_ascii=False).replace('"__YES__"', "yes")  # YAML 1.2: text
    source = tmp_path / "in.yaml"
    source.write_text(
        "# 一批记录\n"  # 1
        f"- unit: 甲\n  evidence: {flow['typical']}\n"  # 2-3
        f"- unit: 乙\n  evidence: {bad_flow}\n"  # 4-5
        "\n"  # 6
        f"- {flow['veto']}\n",  # 7: a bare record, named by its line
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out))
    assert code == 1
    assert summary_line(err) == "read 3, scored 2, rejected 1, blank 0"
    assert [(r["unit"], r["line"], r["total"]) for r in jsonl(out)] == [("甲", 2, "83"), ("7", 7, "93")]
    (entry,) = jsonl(Path(str(out) + ".errors.jsonl"))
    assert (entry["unit"], entry["line"]) == ("乙", 4)
    assert [(p["code"], p["path"]) for p in entry["problems"]] == [("wrong-type", "T1-01.sound")]


# ------------------------------------------------------------------------------------------
# Workers
# ------------------------------------------------------------------------------------------


def test_two_workers_give_byte_identical_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    records = [jline({"unit": f"u{n}", "evidence": example(f"table1-{n}")}) for n in TOTALS]
    lines = []
    for i in range(1300):  # more than two chunks of 500, with rejects and blanks in each
        if i % 97 == 0:
            lines.append(jline({"T1-01": {"sound": 1, "adjusted": True}}))
        elif i % 131 == 0:
            lines.append("\n")
        else:
            lines.append(records[i % 4])
    source = tmp_path / "in.jsonl"
    source.write_text("".join(lines), encoding="utf-8")
    outputs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out), "--workers", workers)
        assert code == 1
        outputs[workers] = (
            out.read_bytes(),
            Path(str(out) + ".errors.jsonl").read_bytes(),
            summary_line(err),
        )
    assert outputs["1"] == outputs["2"]
    assert outputs["1"][2] == "read 1300, scored 1277, rejected 14, blank 9"


# ------------------------------------------------------------------------------------------
# CSV output: formula-safe text, plain numbers
# ------------------------------------------------------------------------------------------

# A one-criterion rubric whose floor lets a total go negative, to see a negative number in CSV.
#   bad only:  0 − 2.5 = −2.5 (floor −10)      good only: 0 + 90 = 90      both: 87.5
SIGNED_RUBRIC = """\
id: signed
version: "1"
title: 负分测试
points: 100
floor: -10
categories:
  - id: 甲类
    name: 甲类
    floor: -10
    criteria:
      - id: S-01
        number: 1
        content: 测试
        points: 100
        standard: 好得90分;坏扣2.5分
        start: zero
        floor: -10
        evidence:
          good: {type: flag, label: 好}
          bad: {type: flag, label: 坏}
        rules:
          - award: 90
            when: good
            clause: 好得90分
          - deduct: 2.5
            when: bad
            clause: 坏扣2.5分
"""


def signed_batch(tmp_path: Path, units: list[tuple[str, bool, bool]]) -> Path:
    rubric_path = tmp_path / "signed.yaml"
    rubric_path.write_text(SIGNED_RUBRIC, encoding="utf-8")
    source = tmp_path / "signed.jsonl"
    source.write_text(
        "".join(jline({"unit": u, "evidence": {"S-01": {"good": g, "bad": b}}}) for u, g, b in units),
        encoding="utf-8",
    )
    return source


def test_csv_output_header_numbers_and_formula_safe_units(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = signed_batch(
        tmp_path,
        [('=HYPERLINK("x")', False, True), ("-x", True, True), ("@x", True, False), ("普通", False, False)],
    )
    out = tmp_path / "out.csv"
    code, _, err = run(
        capsys, "batch", str(tmp_path / "signed.yaml"), str(source), "--out", str(out), "--format", "csv"
    )
    assert code == 0, err
    # utf-8-sig: a CSV file for Excel starts with a byte-order mark; S-01.score is the criterion's
    assert csv_rows(out.read_text(encoding="utf-8-sig")) == [
        ["unit", "line", "total", "max", "grade", "甲类", "S-01.score"],
        ['\'=HYPERLINK("x")', "1", "-2.5", "100", "", "-2.5", "-2.5"],
        ["'-x", "2", "87.5", "100", "", "87.5", "87.5"],
        ["'@x", "3", "90", "100", "", "90", "90"],
        ["普通", "4", "0", "100", "", "0", "0"],
    ]


def test_csv_output_table1_header_and_subtotals(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.csv"
    source.write_text(jline({"unit": "典型", "evidence": example("table1-typical")}), encoding="utf-8")
    code, _, _ = run(capsys, "batch", TABLE1, str(source), "--out", str(out), "--format", "csv")
    assert code == 0
    # typical, by category: 组织领导 3+4+5+5 = 17; 信息公开 5+15+5+5+5 = 35; 依申请公开 4+3+5 = 12;
    # 政务服务 5+7 = 12; 工作创新 2; then each criterion (序号1-15) as scored in test_cli's comments
    criteria = [f"T1-{n:02}.score" for n in range(1, 16)]
    scores = ["3", "4", "5", "5", "5", "15", "5", "10", "5", "4", "3", "5", "5", "7", "2"]
    assert csv_rows(out.read_text(encoding="utf-8-sig")) == [
        [
            "unit",
            "line",
            "total",
            "max",
            "grade",
            "组织领导",
            "信息公开",
            "依申请公开",
            "政务服务",
            "工作创新",
            *criteria,
        ],
        ["典型", "1", "83", "100", "", "17", "40", "12", "12", "2", *scores],
    ]


@pytest.mark.parametrize("unit", ["+1", "-1", "-2.5"])
def test_csv_output_unit_names_that_look_like_numbers_stay_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, unit: str
) -> None:
    # A unit name is text: a spreadsheet must show "+1", not compute the number 1.
    source = signed_batch(tmp_path, [(unit, False, True)])
    out = tmp_path / "out.csv"
    code, _, _ = run(
        capsys, "batch", str(tmp_path / "signed.yaml"), str(source), "--out", str(out), "--format", "csv"
    )
    assert code == 0
    assert csv_rows(out.read_text(encoding="utf-8-sig"))[1] == [
        "'" + unit,
        "1",
        "-2.5",
        "100",
        "",
        "-2.5",
        "-2.5",
    ]


# ------------------------------------------------------------------------------------------
# The composite in batch, then the bulletin
# ------------------------------------------------------------------------------------------


def department_results(capsys: pytest.CaptureFixture[str], tmp_path: Path, with_plain: bool) -> Path:
    units = [
        # 窗口甲: 83 × 0.6 + 67.5 × 0.4 = 49.8 + 27 = 76.8
        {
            "unit": "窗口甲",
            "evidence": {
                "has_window": True,
                "table1": example("table1-typical"),
                "table2": example("table2-typical"),
            },
        },
        # 窗口乙: 100 × 0.6 + 100 × 0.4 = 60 + 40 = 100
        {
            "unit": "窗口乙",
            "evidence": {
                "has_window": True,
                "table1": example("table1-perfect"),
                "table2": example("table2-perfect"),
            },
        },
    ]
    if with_plain:  # 无窗口: 表一 alone, 93
        units.append({"unit": "无窗口", "evidence": {"has_window": False, "table1": example("table1-veto")}})
    source, out = tmp_path / "dept.jsonl", tmp_path / "dept.out.jsonl"
    source.write_text("".join(jline(u) for u in units), encoding="utf-8")
    code, _, err = run(capsys, "batch", DEPARTMENT, str(source), "--out", str(out))
    assert code == 0, err
    return out


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of a Markdown table (split on unescaped pipes)."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells, cell, escaped = [], "", False
            for char in line.strip()[1:-1]:
                if char == "|" and not escaped:
                    cells.append(cell.strip())
                    cell = ""
                else:
                    cell += char
                escaped = char == "\\" and not escaped
            cells.append(cell.strip())
            rows.append(cells)
    return rows


def test_department_batch_then_report_shows_parts_side_by_side(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Each part's own total next to its weight (commit 66bab81 split the former "table1×0.6"
    # header into a "table1" column and a "table1权重" column, so that branches line up).
    results = department_results(capsys, tmp_path, with_plain=False)
    assert [(r["unit"], r["total"]) for r in jsonl(results)] == [("窗口甲", "76.8"), ("窗口乙", "100")]

    code, md, _ = run(capsys, "report", str(results))
    assert code == 0
    rows = table_rows(md)
    assert rows[0] == ["名次", "单位", "总分", "table1", "table1权重", "table2", "table2权重", "主要失分"]
    assert [r[:7] for r in rows[2:]] == [
        ["1", "窗口乙", "100 / 100", "100", "0.6", "100", "0.4"],
        ["2", "窗口甲", "76.8 / 100", "83", "0.6", "67.5", "0.4"],
    ]

    code, text, _ = run(capsys, "report", str(results), "--format", "csv")
    assert code == 0
    table = csv_rows(text)
    assert table[0][:9] == [
        "rank",
        "unit",
        "line",
        "total",
        "max",
        "table1",
        "table1权重",
        "table2",
        "table2权重",
    ]
    assert [r[:9] for r in table[1:]] == [
        ["1", "窗口乙", "2", "100", "100", "100", "0.6", "100", "0.4"],
        ["2", "窗口甲", "1", "76.8", "100", "83", "0.6", "67.5", "0.4"],
    ]


def test_department_report_with_and_without_window_keeps_columns_aligned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # 窗口乙 100 (two parts), 无窗口 93 (表一 only, weight 1), 窗口甲 76.8 (two parts): one table, so
    # every row has as many cells as the header, whichever branch scored it, and 无窗口's 表一
    # total sits under table1.
    results = department_results(capsys, tmp_path, with_plain=True)
    code, md, _ = run(capsys, "report", str(results))
    assert code == 0
    rows = table_rows(md)
    assert [r[1] for r in rows[2:]] == ["窗口乙", "无窗口", "窗口甲"]
    assert [len(r) for r in rows] == [len(rows[0])] * len(rows), md
    plain = dict(zip(rows[0], rows[3], strict=True))
    assert (plain["总分"], plain["table1"], plain["table1权重"]) == ("93 / 100", "93", "1")
    assert plain.get("table2") in ("", "—")

    code, text, _ = run(capsys, "report", str(results), "--format", "csv")
    table = csv_rows(text)
    assert [len(r) for r in table] == [len(table[0])] * len(table), text
    plain = dict(zip(table[0], table[2], strict=True))
    assert (plain["total"], plain["table1"], plain["table1权重"], plain["table2"]) == ("93", "93", "1", "")


# ------------------------------------------------------------------------------------------
# The bulletin: ranking, escaping, top clauses
# ------------------------------------------------------------------------------------------


def batch_units(capsys: pytest.CaptureFixture[str], tmp_path: Path, units: list[tuple[str, str]]) -> Path:
    source, out = tmp_path / "units.jsonl", tmp_path / "units.out.jsonl"
    source.write_text(
        "".join(jline({"unit": u, "evidence": example(f"table1-{n}")}) for u, n in units), encoding="utf-8"
    )
    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out))
    assert code == 0, err
    return out


def test_report_ties_share_a_rank_ordered_by_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # input order b (100), c (83), a (100), d (80): a and b tie at 100 → both rank 1, a first by name;
    # c is third by position → rank 3; d rank 4.
    results = batch_units(
        capsys, tmp_path, [("b", "perfect"), ("c", "typical"), ("a", "perfect"), ("d", "floor")]
    )
    code, text, _ = run(capsys, "report", str(results), "--format", "json")
    assert code == 0
    assert [(r["rank"], r["unit"], r["line"], r["total"]) for r in json.loads(text)] == [
        (1, "a", 3, "100"),
        (1, "b", 1, "100"),
        (3, "c", 2, "83"),
        (4, "d", 4, "80"),
    ]
    code, md, _ = run(capsys, "report", str(results))
    assert [r[:3] for r in table_rows(md)[2:]] == [
        ["1", "a", "100 / 100"],
        ["1", "b", "100 / 100"],
        ["3", "c", "83 / 100"],
        ["4", "d", "80 / 100"],
    ]


def test_report_markdown_escapes_pipes_and_newlines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    results = batch_units(capsys, tmp_path, [("甲|乙\n丙", "perfect"), ("x|y", "typical")])
    code, md, _ = run(capsys, "report", str(results))
    assert code == 0
    lines = [line for line in md.splitlines() if line.startswith("|")]
    assert len(lines) == 4  # header, rule, two units: the newline did not break a row
    rows = table_rows(md)
    assert [len(r) for r in rows] == [len(rows[0])] * 4
    assert rows[2][1] == "甲\\|乙 丙"
    assert rows[3][1] == "x\\|y"


def test_report_csv_is_formula_safe(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    results = batch_units(
        capsys, tmp_path, [('=HYPERLINK("x")', "perfect"), ("@SUM(A1)", "typical"), ("-x", "floor")]
    )
    code, text, _ = run(capsys, "report", str(results), "--format", "csv")
    assert code == 0
    table = csv_rows(text)
    assert [r[:5] for r in table[1:]] == [
        ["1", '\'=HYPERLINK("x")', "1", "100", "100"],
        ["2", "'@SUM(A1)", "2", "83", "100"],
        ["3", "'-x", "3", "80", "100"],
    ]
    # the typical unit's most costly clause, as a number lost
    assert table[2][table[0].index("lost1")] == "5"


def test_report_clauses_1_names_the_most_costly_clause(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # table1-typical loses: 序号1 −2 (不及时调整), 序号2 −1 (缺一项), 序号6 −5 (超过20个工作日没有更新),
    # 序号10 −1 (缺一项), 序号14 −3 (有投诉扣3分); 序号11 and 15 are tiers (they award 3 and 2, take
    # nothing off). The most costly clause is 序号6's −5. table1-perfect loses nothing.
    results = batch_units(capsys, tmp_path, [("典型", "typical"), ("满分", "perfect")])
    code, text, _ = run(capsys, "report", str(results), "--format", "json", "--clauses", "1")
    assert code == 0
    rows = {r["unit"]: r["reasons"] for r in json.loads(text)}
    assert rows == {
        "典型": [{"clause": "T1-06 有信息内容但超过20个工作日没有更新的扣5分", "lost": "5", "kind": "扣分"}],
        "满分": [],
    }
    code, md, _ = run(capsys, "report", str(results), "--clauses", "1")
    cells = {r[1]: r[-1] for r in table_rows(md)[2:]}
    assert cells == {"典型": "T1-06 有信息内容但超过20个工作日没有更新的扣5分（−5）", "满分": "—"}
