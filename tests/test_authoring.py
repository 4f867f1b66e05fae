"""Authoring tools: static checks on a deliberately broken rubric, partial scores, diff, schemas.

tests/data/broken.yaml trips one check per criterion; the lines named below are the lines of
that file (the test fails if the file and these lines drift apart).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

import rubric
from rubric._analysis import check, partial_score, rubric_ranges
from rubric._diff import diff_rubrics, movements
from rubric._documents import read_file
from rubric._schema import evidence_schema, rubric_schema
from rubric.cli import main

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
SEED = [ROOT / "rubrics" / f"{n}.yaml" for n in ("table1", "table2", "table3", "department")]


@pytest.fixture(scope="module")
def findings() -> dict[tuple[str, int | None], rubric.Problem]:
    problems = check(rubric.load(DATA / "broken.yaml"))
    return {(p.code, p.line): p for p in problems}


@pytest.mark.parametrize(
    ("code", "line", "severity", "words"),
    [
        # B1 declares 10 but 完成得5分 is the most its rules give, and no note waives it.
        ("unreachable-max", 18, "error", "declared 10 points, but no evidence scores more than 5"),
        # B1 starts at 0, so 没有完成的扣5分 is always absorbed by the floor.
        ("never-changes-score", 27, "warning", "B1.r2"),
        # B2's deduction of 2 only applies when the veto (有违规不得分) zeroes the criterion anyway.
        ("never-changes-score", 38, "warning", "B2.r1"),
        ("unused-field", 22, "warning", "'unused'"),
        # B3's top tier (8) is above its 5 points.
        ("tier-above-cap", 57, "warning", "tier '高' gives 8"),
        # B3: 8 + 10 praises × 1 = 18 before the cap of 5.
        ("exceeds-cap", 56, "note", "rules can add up to 18"),
        ("cap-above-points", 67, "error", "cap 7 is above the declared 5"),
        # 10 + 5 + 5 + 5 = 25, declared 30; category A is 10 + 5 = 15, declared 12.
        ("total-mismatch", 5, "error", "add up to 25, but the rubric declares 30"),
        ("total-mismatch", 12, "error", "criteria add up to 15, declared 12"),
        ("grades-order", 7, "error", "highest minimum down"),
    ],
)
def test_each_static_check_reports_its_finding_at_the_line(
    findings: dict[tuple[str, int | None], rubric.Problem], code: str, line: int, severity: str, words: str
) -> None:
    problem = findings[(code, line)]
    assert problem.severity == severity
    assert words in problem.message
    assert problem.file is not None
    assert problem.file.endswith("broken.yaml")


def test_the_reachable_total_of_the_broken_rubric_is_worked_out_exactly() -> None:
    # B1 [0, 5], B2 [0, 5] (veto), B3 [2, 5], B4 [5, 7]; category 乙 caps at 5 + 5 = 10: 7 to 20.
    ranges = rubric_ranges(rubric.load(DATA / "broken.yaml").doc)
    assert ranges.total == (Decimal(7), Decimal(20))
    assert ranges.categories["C"] == (Decimal(7), Decimal(10))


def test_composite_weights_that_do_not_add_up_to_one_are_errors() -> None:
    problems = [
        p for p in check(rubric.load(DATA / "broken-composite.yaml")) if p.file.endswith("composite.yaml")
    ]
    codes = {(p.code, p.severity, p.line) for p in problems if p.severity == "error"}
    # 0.6 + 0.5 = 1.1; 0.6 × 10 + 0.5 × 10 = 11 > 10.
    assert codes == {("weights-sum", "error", 14), ("exceeds-max", "error", 12)}


def test_check_exits_1_on_errors_and_0_on_the_seed_rubrics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(DATA / "broken.yaml")]) == 1
    assert main(["check", *map(str, SEED)]) == 0
    assert main(["check", "--format", "json", str(SEED[0])]) == 0
    out = capsys.readouterr().out
    report = json.loads(out[out.index("[\n") :])
    codes = {p["code"] for p in report[0]["problems"]}
    assert codes >= {"interpretation", "range"}
    assert "unreachable-max" not in codes  # every declared point of the seed is reachable


def test_every_documented_reading_of_the_seed_shows_up_in_check_with_its_quote() -> None:
    seed_text = (ROOT / "rubrics" / "sources" / "kaifu-2013-zhengwu-gongkai.txt").read_text(encoding="utf-8")
    for path in SEED[:3]:
        loaded = rubric.load(path)
        notes = [n for cat in loaded.doc.categories for c in cat.criteria for n in c.notes]
        shown = [p.message for p in check(loaded) if p.code == "interpretation"]
        assert len(notes) >= 1
        for note in notes:
            assert any(note.quote in message and note.reading in message for message in shown)
            if note.quote in seed_text:  # most quotes are the notice's own words
                continue
            assert "/" in note.quote or "空白" in note.quote or "\n" in note.quote or " " in note.quote


def test_partial_evidence_gives_the_range_still_possible_and_ranks_open_facts() -> None:
    table1 = rubric.load(ROOT / "rubrics" / "table1.yaml")
    record = rubric.load_evidence(ROOT / "examples" / "table1-typical.yaml").data
    del record["T1-06"]
    partial = partial_score(table1, record)
    # The typical unit scores 83 with T1-06 at 15 (超过20个工作日没有更新的扣5分): the rest is 68.
    # T1-06 open: 0 (not compiled, read as 不得分) to 20 (做好并及时更新) → 68 to 88.
    assert partial.ranges.total == (Decimal(68), Decimal(88))
    assert [(f.criterion, f.field, f.swing) for f in partial.open_facts] == [
        ("T1-06", "compiled", Decimal(20)),
        ("T1-06", "overdue", Decimal(5)),
    ]


def test_partial_evidence_still_rejects_wrong_values() -> None:
    table1 = rubric.load(ROOT / "rubrics" / "table1.yaml")
    with pytest.raises(rubric.EvidenceError) as caught:
        partial_score(table1, {"T1-01": {"sound": "yes"}})
    assert [(p.code, p.path) for p in caught.value.problems] == [("wrong-type", ("T1-01", "sound"))]


def test_score_partial_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = tmp_path / "partial.yaml"
    record.write_text("T1-01: {sound: true}\n", encoding="utf-8")
    assert main(["score", "--partial", str(ROOT / "rubrics" / "table1.yaml"), str(record)]) == 0
    out = capsys.readouterr().out
    # Only T1-01 is known (5); every other criterion is open: the total can still be 5 + … up to 100.
    assert "总分可能范围" in out
    assert "– 100 / 100" in out


def test_diff_names_changed_criteria_and_how_each_record_moves(tmp_path: Path) -> None:
    old_path = ROOT / "rubrics" / "table1.yaml"
    new_path = tmp_path / "table1-2014.yaml"
    text = old_path.read_text(encoding="utf-8")
    new_path.write_text(
        text.replace(
            "          - deduct: 2\n            when: {not: sound}",
            "          - deduct: 3\n            when: {not: sound}",
        ),
        encoding="utf-8",
    )
    old, new = rubric.load(old_path), rubric.load(new_path)
    changes = diff_rubrics(old, new)
    assert [(c.criterion, c.kind) for c in changes] == [("T1-01", "changed")]
    assert "deduct 2 → 3" in changes[0].details[0]
    record = rubric.load_evidence(ROOT / "examples" / "table1-typical.yaml").data
    record["T1-01"] = {"sound": False, "adjusted": True}
    (move,) = movements(old, new, [("unit", record)])
    # Typical unit: 83 with T1-01 at 3 (不及时调整扣2分). Now 不健全 instead: old 5-2 = 3, new 5-3 = 2.
    assert (move.old, move.new) == (Decimal(83), Decimal(82))
    assert move.criteria == (("T1-01", Decimal(3), Decimal(2)),)


GRADES = "grades:\n  - {name: 优秀, min: 90}\n  - {name: 良好, min: 80}\n  - {name: 合格, min: 60}\n"


def table1_variant(folder: Path, name: str, *edits: tuple[str, str]) -> Path:
    """A copy of 表一 with each (old, new) text replaced once (each edit must apply)."""
    text = (ROOT / "rubrics" / "table1.yaml").read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_diff_reports_a_grade_band_that_moves_a_unit_to_another_grade_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 表一 typical scores 83 under both: 良好 (≥ 80) before, 合格 once 良好 needs 85.
    old = table1_variant(tmp_path, "old.yaml", ("points: 100\n", "points: 100\n" + GRADES))
    new = table1_variant(
        tmp_path, "new.yaml", ("points: 100\n", "points: 100\n" + GRADES.replace("min: 80", "min: 85"))
    )
    typical = str(ROOT / "examples" / "table1-typical.yaml")
    assert main(["diff", str(old), str(new), "--evidence", typical]) == 1
    out = capsys.readouterr().out
    assert "~ 等次 changed: 良好 min 80 → 85" in out
    assert f"{typical}: 83 → 83 (0)" in out
    assert "    等次: 良好 → 合格" in out
    assert "0 of 1 records change score, 1 change 等次" in out
    assert main(["diff", str(old), str(new), "--evidence", typical, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["records"][0]["grade"] == {"old": "良好", "new": "合格"}
    assert (data["changed_scores"], data["changed_grades"]) == (0, 1)


def test_diff_names_a_category_cap_as_the_cause_of_a_moved_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 表一 typical: 信息公开 subtotal 40 (of 45). A category cap of 38 takes 2 off: 83 → 81, with no
    # criterion changing; the diff names the cap and the subtotal that moved.
    new = table1_variant(tmp_path, "new.yaml", ("  - id: 信息公开\n", "  - id: 信息公开\n    cap: 38\n"))
    typical = str(ROOT / "examples" / "table1-typical.yaml")
    assert main(["diff", str(ROOT / "rubrics" / "table1.yaml"), str(new), "--evidence", typical]) == 1
    out = capsys.readouterr().out
    assert "~ 信息公开（信息公开） changed: cap none → 38" in out
    assert f"{typical}: 83 → 81 (-2)" in out
    assert "    信息公开（信息公开） subtotal: 40 → 38" in out
    assert "1 of 1 records change score, 0 change 等次" in out


def test_diff_reports_the_total_floor_and_criterion_floor(tmp_path: Path) -> None:
    new = table1_variant(tmp_path, "new.yaml", ("points: 100\n", "points: 100\nfloor: 10\n"))
    changes = diff_rubrics(rubric.load(ROOT / "rubrics" / "table1.yaml"), rubric.load(new))
    assert [(c.criterion, c.details) for c in changes] == [("总分", ("floor 0 → 10",))]


def test_diff_reports_composite_weight_changes_and_how_the_weighted_total_moves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Department typical: 83 × 0.6 + 67.5 × 0.4 = 76.8; at 0.5 / 0.5 it is 41.5 + 33.75 = 75.25.
    for name in ("table1.yaml", "table2.yaml"):
        (tmp_path / name).write_bytes((ROOT / "rubrics" / name).read_bytes())
    text = (ROOT / "rubrics" / "department.yaml").read_text(encoding="utf-8")
    (tmp_path / "old.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "new.yaml").write_text(
        text.replace("weights: {table1: 0.6, table2: 0.4}", "weights: {table1: 0.5, table2: 0.5}"), "utf-8"
    )
    typical = str(ROOT / "examples" / "department-typical.yaml")
    assert main(["diff", str(tmp_path / "old.yaml"), str(tmp_path / "new.yaml"), "--evidence", typical]) == 1
    out = capsys.readouterr().out
    assert "changed: weight table1 0.6 → 0.5; weight table2 0.4 → 0.5" in out
    assert f"{typical}: 76.8 → 75.25 (-1.55)" in out
    assert "    table1 weighted subtotal: 49.8 → 41.5" in out
    assert "    table2 weighted subtotal: 27 → 33.75" in out


def test_diff_exits_0_when_no_record_moves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Rewording a clause changes the rubric but moves no score: like diff(1), exit 0 means "same".
    new = table1_variant(tmp_path, "new.yaml", ("clause: 不及时调整扣2分", "clause: 领导小组不及时调整扣2分"))
    typical = str(ROOT / "examples" / "table1-typical.yaml")
    assert main(["diff", str(ROOT / "rubrics" / "table1.yaml"), str(new), "--evidence", typical]) == 0
    out = capsys.readouterr().out
    assert "T1-01 changed" in out
    assert "0 of 1 records change score, 0 change 等次" in out
    assert main(["diff", str(ROOT / "rubrics" / "table1.yaml"), str(ROOT / "rubrics" / "table1.yaml")]) == 0


def test_the_shipped_schema_file_is_the_current_schema() -> None:
    shipped = json.loads((ROOT / "schema" / "rubric.schema.json").read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(rubric_schema()))


@pytest.mark.parametrize("path", SEED, ids=lambda p: p.name)
def test_the_shipped_rubrics_validate_against_the_json_schema(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(rubric_schema())
    assert list(validator.iter_errors(read_file(path).data)) == []


def test_the_json_schema_rejects_an_unknown_clause_kind() -> None:
    data = read_file(ROOT / "rubrics" / "table1.yaml").data
    data["categories"][0]["criteria"][0]["rules"][0] = {"dedcut": 2, "when": "sound", "clause": "x"}
    assert not jsonschema.Draft202012Validator(rubric_schema()).is_valid(data)


@pytest.mark.parametrize("table", ["table1", "table2", "table3"])
def test_the_shipped_examples_validate_against_their_evidence_schema(table: str) -> None:
    validator = jsonschema.Draft202012Validator(
        evidence_schema(rubric.load(ROOT / "rubrics" / f"{table}.yaml"))
    )
    examples = sorted((ROOT / "examples").glob(f"{table}-*.yaml"))
    assert examples
    for example in examples:
        assert list(validator.iter_errors(read_file(example).data)) == [], example.name


def test_the_evidence_schema_rejects_an_unknown_checklist_item() -> None:
    validator = jsonschema.Draft202012Validator(
        evidence_schema(rubric.load(ROOT / "rubrics" / "table1.yaml"))
    )
    record = read_file(ROOT / "examples" / "table1-perfect.yaml").data
    record["T1-02"]["documents"] = ["年报"]
    assert not validator.is_valid(record)


def test_rubric_test_prints_a_diff_for_a_failing_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = tmp_path / "wrong.cases.yaml"
    base = read_file(ROOT / "rubrics" / "table1.cases.yaml").data["base"]
    cases.write_text(
        json.dumps(
            {
                "rubric": str(ROOT / "rubrics" / "table1.yaml"),
                "base": base,
                "cases": [
                    {
                        "name": "写错的预期",
                        "why": "不健全扣2分 → 3, written here as 4 on purpose",
                        "evidence": {"T1-01": {"sound": False}},
                        "expect": {"total": 93, "criteria": {"T1-01": 4}},
                    }
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    assert main(["test", str(ROOT / "rubrics" / "table1.yaml"), str(cases)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out
    assert "criterion T1-01: expected 4, got 3" in out
    assert "T1-01.r1: -2 不健全扣2分" in out
