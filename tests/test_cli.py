"""The ``rubric`` command: exit codes, the itemised table, JSON, and clear errors without tracebacks.

Most tests call ``rubric.cli.main`` in-process (output captured by capsys), from the repository
root so that file names print as written; two run ``python -m rubric.cli`` as a real process.
Expected scores are worked out by hand from the rubric text (the clause is named in a comment).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import rubric
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED_TEXT = ROOT / "rubrics" / "sources" / "kaifu-2013-zhengwu-gongkai.txt"
SEED_RUBRICS = [
    "rubrics/table1.yaml",
    "rubrics/table2.yaml",
    "rubrics/table3.yaml",
    "rubrics/department.yaml",
]

# 表一, examples/table1-typical.yaml, worked out criterion by criterion:
#  1  5 − 2 (不及时调整扣2分) = 3          2  5 − 1 (缺业务报表: 缺一项扣1分) = 4
#  3  5    4  5                           组织领导 17
#  5  5    6  20 − 5 (超过20个工作日没有更新的扣5分) = 15
#  7  0 + 1 + 2 + 2 = 5    8  10 (两项要求都做到，注) = 10    9  5    信息公开 40
# 10  5 − 1 (缺传真号码) = 4    11  受理但没有建立台账的得3分 = 3    12  5    依申请公开 12
# 13  5   14  10 − 3 (有投诉扣3分) = 7 (投诉已及时处理)    政务服务 12
# 15  只有群众反映好的得2分 = 2                                                     工作创新 2
# 总分 17 + 40 + 12 + 12 + 2 = 83
TABLE1_TYPICAL_TOTAL = "83"

# 表二, examples/table2-typical.yaml:
# T2-01 40 − 3 (经许可的变动: 如变动扣3分) − 5 (另有未经中心许可变动1人次×5) − 3 (酌情扣3分) = 29
# T2-02 40 − 2 (2项未在20个工作日更新×1) − 2 (1项发牌警告×2) − 2 (2个月未按时报送报表×1) = 34
# T2-03 0 + 3 (表扬1件×3) + 1.5 (多人窗口一名服务明星: 二个以上工作人员的窗口加1.5分) = 4.5
# 总分 29 + 34 + 4.5 = 67.5
# 综合 (附2 注明, 设置窗口): 83 × 0.6 + 67.5 × 0.4 = 49.8 + 27 = 76.8
DEPARTMENT_WINDOW_TOTAL = "76.8"


@pytest.fixture(autouse=True)
def _at_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def evidence_text(example: str) -> str:
    """An example evidence file without its leading comment line."""
    lines = (ROOT / example).read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("#"))


def test_score_prints_the_itemised_table_and_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "score", "rubrics/table1.yaml", "examples/table1-typical.yaml")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "开福区区直部门(垂直部门)政务公开政务服务工作考核细则(表一)"
    assert lines[1] == "kaifu-2013-table1 2013.2"
    assert re.split(r"\s+", lines[3].strip()) == ["序号", "考核项目", "得分", "分值", "扣分/加分"]
    rows = {}
    for line in lines:
        m = re.match(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+(.*))?$", line)
        if m:
            rows[int(m.group(1))] = m.groups()[1:]
    assert sorted(rows) == list(range(1, 16))
    # (考核项目, 得分, 分值, first move) per 序号, from the working above
    assert rows[1] == ("组织领导", "3", "5", "−2  不及时调整扣2分")
    assert rows[2] == ("组织领导", "4", "5", "−1  缺一项扣1分")
    assert rows[3] == ("组织领导", "5", "5", None)
    assert rows[6] == ("信息公开", "15", "20", "−5  有信息内容但超过20个工作日没有更新的扣5分")
    assert rows[8] == ("信息公开", "10", "10", None)
    assert rows[10] == ("依申请公开", "4", "5", "−1  缺一项扣1分")
    assert rows[14][:3] == ("政务服务", "7", "10")
    assert rows[15][:3] == ("工作创新", "2", "5")
    subtotals = {
        m.group(1): (m.group(2), m.group(3))
        for m in (re.match(r"^\s*(\S+)小计\s+(\S+)\s+(\S+)$", line) for line in lines)
        if m
    }
    assert subtotals == {
        "组织领导": ("17", "20"),
        "信息公开": ("40", "45"),
        "依申请公开": ("12", "15"),
        "政务服务": ("12", "15"),
        "工作创新": ("2", "5"),
    }
    assert f"总分 {TABLE1_TYPICAL_TOTAL} / 100" in lines


def test_score_json_prints_the_full_result(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "score", "rubrics/table1.yaml", "examples/table1-typical.yaml", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["kind"] == "rubric"
    assert data["total"] == TABLE1_TYPICAL_TOTAL
    assert data["max"] == "100"
    assert data["rubric"]["id"] == "kaifu-2013-table1"
    assert "\\u" not in out


def test_score_a_composite_record(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    record = {
        "has_window": True,
        "table1": yaml.safe_load(evidence_text("examples/table1-typical.yaml")),
        "table2": yaml.safe_load(evidence_text("examples/table2-typical.yaml")),
    }
    path = tmp_path / "department.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    code, out, err = run(capsys, "score", "rubrics/department.yaml", str(path))
    assert (code, err) == (0, "")
    assert "kaifu-2013-department 2013.2" in out
    assert f"综合得分 {DEPARTMENT_WINDOW_TOTAL} / 100" in out.splitlines()

    code, out, err = run(capsys, "score", "rubrics/department.yaml", str(path), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["kind"], data["total"]) == ("composite", DEPARTMENT_WINDOW_TOTAL)
    assert {p["name"]: p["result"]["total"] for p in data["parts"]} == {"table1": "83", "table2": "67.5"}


def bad_evidence(tmp_path: Path) -> Path:
    """表一 typical, with T1-01.sound written 1 (line 1) and an unknown item in T1-02 (line 2)."""
    body = evidence_text("examples/table1-typical.yaml").splitlines(keepends=True)
    assert body[0].startswith("T1-01:")
    assert body[1].startswith("T1-02:")
    path = tmp_path / "bad.yaml"
    path.write_text(
        "T1-01: {sound: 1, adjusted: false}\n"  # '1' at column 16
        "T1-02: {documents: [计划, 年报], on_time: true}\n"  # '[' 20, 计 21, 划 22, ',' 23, ' ' 24, 年 25
        + "".join(body[2:]),
        encoding="utf-8",
    )
    return path


def test_bad_evidence_exits_2_with_every_problem_placed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = bad_evidence(tmp_path)
    code, out, err = run(capsys, "score", "rubrics/table1.yaml", str(path))
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert sorted(err.splitlines()) == sorted(
        [
            f"{path}:1:16: wrong-type: T1-01.sound: expected true or false, got a number "
            "(write true or false)",
            f"{path}:2:25: unknown-item: T1-02.documents[1]: unknown item '年报' "
            "(known items: 计划、部署、业务报表、总结)",
        ]
    )


def test_a_missing_evidence_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    code, out, err = run(capsys, "score", "rubrics/table1.yaml", str(path))
    assert (code, out) == (2, "")
    assert err == f"{path}: io: No such file or directory\n"


def test_a_missing_rubric_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "score", "rubrics/nowhere.yaml", "examples/table1-typical.yaml")
    assert (code, out) == (2, "")
    assert err == "rubrics/nowhere.yaml: io: No such file or directory\n"


def test_a_broken_rubric_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # 表一 with the first rule's 'deduct: 2' (line 23, value at column 21) made 'deduct: 0'.
    text = (ROOT / "rubrics/table1.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[22] == "          - deduct: 2"
    path = tmp_path / "table1.yaml"
    path.write_text(text.replace("          - deduct: 2", "          - deduct: 0", 1), encoding="utf-8")
    code, out, err = run(capsys, "score", str(path), "examples/table1-typical.yaml")
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert err.startswith(
        f"{path}:23:21: greater-than: categories[0].criteria[0].rules[0].deduct: "
        "Input should be greater than 0"
    )


def test_check_of_the_seed_rubrics_finds_no_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check", *SEED_RUBRICS)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert not [line for line in lines if line.startswith("error:")]
    for path in SEED_RUBRICS:
        summary = [line for line in lines if line.startswith(f"{path}: ")]
        assert len(summary) == 1
        assert summary[0].startswith(f"{path}: 0 errors, ")


def _table1_notes() -> list[dict[str, str]]:
    doc = yaml.safe_load((ROOT / "rubrics/table1.yaml").read_text(encoding="utf-8"))
    notes = list(doc.get("notes", []))
    for category in doc["categories"]:
        notes += category.get("notes", [])
        for criterion in category["criteria"]:
            notes += criterion.get("notes", [])
    return notes


def test_check_reports_every_note_of_table1_as_an_interpretation_quoting_the_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    notes = _table1_notes()
    # 1 on 信息公开, 16 on criteria: 序号 1, 2, 4, 6, 8, 10, 11, 12, 14, 15 have 1+2+1+1+1+2+1+1+4+2
    assert len(notes) == 17
    code, out, _ = run(capsys, "check", "rubrics/table1.yaml")
    assert code == 0
    interpretations = [line for line in out.splitlines() if ": interpretation: " in line]
    assert all(line.startswith("note: rubrics/table1.yaml:") for line in interpretations)
    # …plus one line per rule that carries its own note: 序号8 r2, 序号10 r2, 序号14 r2
    rule_notes = [line for line in interpretations if ".note: " in line]
    assert [re.findall(r"rule (\S+) 「", line) for line in rule_notes] == [
        ["T1-08.r2"],
        ["T1-10.r2"],
        ["T1-14.r2"],
    ]
    assert len(interpretations) == len(notes) + len(rule_notes)
    seed = re.sub(r"\s+", "", SEED_TEXT.read_text(encoding="utf-8"))
    for note in notes:
        assert any(f"「{note['quote']}」 — {note['reading']}" in line for line in interpretations), note
        # the quote is the notice's own wording (the table's line breaks aside)
        assert re.sub(r"\s+", "", note["quote"]) in seed, note["quote"]


def test_test_with_coverage_passes_every_case_and_covers_every_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "test", "rubrics/table1.yaml", "--coverage")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(r"\d+ passed, 0 failed", lines[0])
    assert not [line for line in lines if line.startswith("FAIL")]
    assert not [line for line in lines if "not exercised" in line]
    # 表一's 28 rules: 2+3+1+1+1+2+3+2+1+2+1+1+1+5+2 (rules per 序号 1–15)
    assert lines[-1] == "coverage: 28/28 rules (100%)"


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "schema")
    assert (code, err) == (0, "")
    schema = json.loads(out)
    assert isinstance(schema, dict)
    assert "categories" in json.dumps(schema)

    code, out, err = run(capsys, "schema", "--evidence", "rubrics/table1.yaml")
    assert (code, err) == (0, "")
    evidence = json.loads(out)
    assert "T1-15" in json.dumps(evidence, ensure_ascii=False)


def _subprocess(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "rubric.cli", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )


def test_score_as_a_real_process() -> None:
    done = _subprocess("score", "rubrics/table1.yaml", "examples/table1-typical.yaml")
    assert (done.returncode, done.stderr) == (0, "")
    assert f"总分 {TABLE1_TYPICAL_TOTAL} / 100" in done.stdout.splitlines()


def test_bad_evidence_as_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = bad_evidence(tmp_path)
    done = _subprocess("score", "rubrics/table1.yaml", str(path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert f"{path}:1:16: wrong-type: T1-01.sound: " in done.stderr
    assert f"{path}:2:25: unknown-item: T1-02.documents[1]: " in done.stderr


def test_the_engine_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"rubric {rubric.__version__}"
