"""The bulletin (``rubric report``): points not earned beside points deducted, the 等次 column,
``--top`` units and ``--clauses`` per unit, and ``batch``'s own CSV read back."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = ROOT / "rubrics" / "table1.yaml"
GRADES = (
    "grades:\n  - {name: 优秀, min: 90}\n  - {name: 良好, min: 80}\n"
    "  - {name: 合格, min: 60}\n  - {name: 不合格, min: 0}\n"
)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = rubric.load_evidence(ROOT / "examples" / f"{name}.yaml").data
    return data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def graded_table1(tmp_path: Path) -> Path:
    """表一 with grade bands (the seed tables have none): 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60."""
    path = tmp_path / "table1-graded.yaml"
    path.write_text(
        TABLE1.read_text(encoding="utf-8").replace("points: 100\n", "points: 100\n" + GRADES, 1), "utf-8"
    )
    return path


def batch(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    units: list[tuple[str, str]],
    *,
    table: Path = TABLE1,
    fmt: str = "jsonl",
) -> Path:
    source, out = tmp_path / "units.jsonl", tmp_path / f"results.{fmt}"
    source.write_text(
        "".join(json.dumps({"unit": u, "evidence": example(n)}, ensure_ascii=False) + "\n" for u, n in units),
        encoding="utf-8",
    )
    code, _, err = run(capsys, "batch", str(table), str(source), "--out", str(out), "--format", fmt)
    assert code == 0, err
    return out


def test_tier_and_zero_start_shortfalls_count_as_points_lost_labelled_not_earned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # 表一 typical scores 83, so it loses 17, every point accounted for: deducted (扣分) 序号6 −5,
    # 序号14 −3, 序号1 −2, 序号2 −1, 序号10 −1 = 12; not earned (未得分) on two tiers that start
    # from zero: 序号15 got 2 of 5 (只有群众反映好) = 3, 序号11 got 3 of 5 (受理但没有建立台账) = 2.
    # 12 + 5 = 17 = 100 − 83. Equal amounts are listed by label.
    results = batch(capsys, tmp_path, [("典型", "table1-typical")])
    code, out, _ = run(capsys, "report", str(results), "--format", "json", "--clauses", "10")
    assert code == 0
    (row,) = json.loads(out)
    assert [(r["clause"][:5], r["lost"], r["kind"]) for r in row["reasons"]] == [
        ("T1-06", "5", "扣分"),
        ("T1-14", "3", "扣分"),
        ("T1-15", "3", "未得分"),
        ("T1-01", "2", "扣分"),
        ("T1-11", "2", "未得分"),
        ("T1-02", "1", "扣分"),
        ("T1-10", "1", "扣分"),
    ]
    assert sum(int(r["lost"]) for r in row["reasons"]) == 100 - 83
    code, md, _ = run(capsys, "report", str(results), "--clauses", "3")
    assert "T1-15 群众反映好且受省市表彰的得5分;只有群众反映好的得2分（未得分3）" in md
    assert "T1-06 有信息内容但超过20个工作日没有更新的扣5分（−5）" in md


def test_a_composite_weighs_points_not_earned_by_the_part_weight(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Department typical (has a window): 表一 × 0.6. 序号15 of 表一 leaves 3 not earned → 1.8.
    results = batch(
        capsys, tmp_path, [("窗口甲", "department-typical")], table=ROOT / "rubrics" / "department.yaml"
    )
    code, out, _ = run(capsys, "report", str(results), "--format", "json", "--clauses", "20")
    assert code == 0
    (row,) = json.loads(out)
    found = {r["clause"].split(" ")[0]: (r["lost"], r["kind"]) for r in row["reasons"]}
    assert found["table1·T1-15"] == ("1.8", "未得分")
    assert found["table1·T1-06"] == ("3", "扣分")  # 5 × 0.6


def test_full_results_written_with_audit_give_the_same_shortfalls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source, out = tmp_path / "units.jsonl", tmp_path / "full.jsonl"
    source.write_text(
        json.dumps({"unit": "典型", "evidence": example("table1-typical")}, ensure_ascii=False) + "\n",
        "utf-8",
    )
    assert main(["batch", str(TABLE1), str(source), "--out", str(out), "--audit"]) == 0
    capsys.readouterr()
    code, text, _ = run(capsys, "report", str(out), "--format", "json", "--clauses", "10")
    assert code == 0
    kinds = [(r["clause"][:5], r["kind"]) for r in json.loads(text)[0]["reasons"] if r["kind"] == "未得分"]
    assert kinds == [("T1-15", "未得分"), ("T1-11", "未得分")]


def test_the_bulletin_has_a_grade_column_when_the_rubric_has_grade_bands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # perfect 100 → 优秀 (≥ 90); typical 83 → 良好 (≥ 80); floor 80 → 良好.
    results = batch(
        capsys,
        tmp_path,
        [("甲", "table1-perfect"), ("乙", "table1-typical"), ("丙", "table1-floor")],
        table=graded_table1(tmp_path),
    )
    code, md, _ = run(capsys, "report", str(results))
    assert code == 0
    header = next(line for line in md.splitlines() if line.startswith("| 名次"))
    assert header.startswith("| 名次 | 单位 | 总分 | 等次 |")
    rows = [line.split(" | ")[:4] for line in md.splitlines() if line.startswith("| ") and "名次" not in line]
    assert rows == [
        ["| 1", "甲", "100 / 100", "优秀"],
        ["| 2", "乙", "83 / 100", "良好"],
        ["| 3", "丙", "80 / 100", "良好"],
    ]
    code, text, _ = run(capsys, "report", str(results), "--format", "csv")
    lines = text.splitlines()
    assert lines[0].startswith("rank,unit,line,total,max,grade,")
    assert lines[1].startswith("1,甲,1,100,100,优秀,")
    code, text, _ = run(capsys, "report", str(results), "--format", "json")
    assert [r["grade"] for r in json.loads(text)] == ["优秀", "良好", "良好"]


def test_the_bulletin_has_no_grade_column_when_no_unit_has_a_grade(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    results = batch(capsys, tmp_path, [("甲", "table1-perfect")])
    code, md, _ = run(capsys, "report", str(results))
    assert code == 0
    assert "等次" not in md


def test_top_n_keeps_the_top_n_units_and_every_unit_tied_at_the_boundary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # a and b tie at 100 (rank 1, 1), c 83 is rank 3, d 80 rank 4.
    results = batch(
        capsys,
        tmp_path,
        [("b", "table1-perfect"), ("c", "table1-typical"), ("a", "table1-perfect"), ("d", "table1-floor")],
    )
    units = {}
    for top in ("1", "2", "3", "4"):
        code, text, _ = run(capsys, "report", str(results), "--format", "json", "--top", top)
        assert code == 0
        units[top] = [r["unit"] for r in json.loads(text)]
    assert units == {"1": ["a", "b"], "2": ["a", "b"], "3": ["a", "b", "c"], "4": ["a", "b", "c", "d"]}
    # --top says nothing about clauses: each unit still lists the default 3
    code, text, _ = run(capsys, "report", str(results), "--format", "json", "--top", "3")
    assert [len(r["reasons"]) for r in json.loads(text)] == [0, 0, 3]


def test_clauses_k_lists_k_clauses_per_unit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    results = batch(capsys, tmp_path, [("c", "table1-typical")])
    for k in (1, 2, 5):
        code, text, _ = run(capsys, "report", str(results), "--format", "json", "--clauses", str(k))
        assert code == 0
        assert len(json.loads(text)[0]["reasons"]) == k


def test_report_reads_the_csv_that_batch_writes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Same ranking as from JSON Lines; subtotals by category (表一 typical: 组织领导 17 of 20,
    # 信息公开 40, 依申请公开 12, 政务服务 12, 工作创新 2 → 83). The CSV has no clauses.
    results = batch(
        capsys,
        tmp_path,
        [("=甲", "table1-typical"), ("乙", "table1-perfect")],
        fmt="csv",
    )
    code, text, err = run(capsys, "report", str(results), "--format", "json")
    assert code == 0, err
    rows = json.loads(text)
    assert [(r["rank"], r["unit"], r["line"], r["total"]) for r in rows] == [
        (1, "乙", 2, "100"),
        (2, "=甲", 1, "83"),
    ]
    assert rows[1]["columns"] == {
        "组织领导": "17",
        "信息公开": "40",
        "依申请公开": "12",
        "政务服务": "12",
        "工作创新": "2",
    }
    assert rows[1]["reasons"] == []
    code, md, _ = run(capsys, "report", str(results))
    assert code == 0
    assert "| 2 | =甲 | 83 / 100 |" in md


def test_report_reads_batch_csv_of_a_composite_with_an_empty_part(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # 窗口甲 76.8 (83 × 0.6 + 67.5 × 0.4); 无窗口 is scored on 表一 alone, so its table2 cell is empty.
    results = batch(
        capsys,
        tmp_path,
        [("窗口甲", "department-typical"), ("无窗口", "department-no-window")],
        table=ROOT / "rubrics" / "department.yaml",
        fmt="csv",
    )
    code, text, err = run(capsys, "report", str(results), "--format", "json")
    assert code == 0, err
    rows = {r["unit"]: r for r in json.loads(text)}
    assert rows["窗口甲"]["total"] == "76.8"
    assert rows["窗口甲"]["columns"] == {"table1.total": "83", "table2.total": "67.5"}
    assert "table2.total" not in rows["无窗口"]["columns"]


def test_a_csv_that_is_not_batch_output_is_refused_with_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "r.csv"
    path.write_text("unit,line,total,max,grade\r\nx,1,many,100,\r\n", encoding="utf-8")
    code, _, err = run(capsys, "report", str(path))
    assert code == 2
    assert f"{path}:2:1: not-a-result: a total that is not a number" in err


def test_report_reads_batch_csv_from_standard_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Told apart from JSON Lines by its header line, since standard input has no file name.
    results = batch(capsys, tmp_path, [("乙", "table1-typical")], fmt="csv")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(results.read_bytes()), encoding="utf-8"))
    code, text, err = run(capsys, "report", "-", "--format", "json")
    assert code == 0, err
    assert [(r["unit"], r["total"]) for r in json.loads(text)] == [("乙", "83")]
