"""Text from files and records is shown, never obeyed, and names mean what they look like.

Every problem is formatted in one place, which writes control and invisible format characters
as escapes: a key holding a terminal escape sequence (ESC [2J clears the screen, ESC ]0; retitles
the window) is printed as the letters '\\x1b[2J'. Ids and field names are NFKC-normalised, so
'A' and full-width 'Ａ' are the same id (and the duplicate-id check sees the clash), and invisible
characters in them (U+200B zero-width space, U+202E right-to-left override) are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
ESCAPE = "\x1b[2J\x1b]0;pwned\x07"
SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07"
HIDDEN = ("\x1b", "\x07", "\u202e", "\u200b", "\x9b")


def visible(text: str) -> bool:
    return not any(char in text for char in HIDDEN)


def test_a_terminal_escape_in_an_evidence_key_is_printed_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = rubric.load_evidence(ROOT / "examples" / "table1-typical.yaml").data
    record["T1-01"][ESCAPE] = True
    record[ESCAPE] = {}
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    code = main(["score", str(ROOT / "rubrics" / "table1.yaml"), str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert visible(err)
    assert f"T1-01.{SHOWN}: unknown field" in err
    assert "unknown-criterion" in err


def test_escapes_in_a_rubric_files_keys_and_labels_are_shown_escaped(tmp_path: Path) -> None:
    text = (ROOT / "rubrics" / "table1.yaml").read_text(encoding="utf-8")
    text = text.replace("label: 政务公开领导小组机构健全", 'label: "领导小组\\u202e健全\\e[31m"', 1)
    text = text.replace("        standard:", '        "bad\\e[2Jkey\\u009b": 1\n        standard:', 1)
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(path)
    assert visible(str(caught.value))
    assert all(visible(str(p)) for p in caught.value.problems)
    assert all(visible(json.dumps(p.as_dict(), ensure_ascii=False)) for p in caught.value.problems)
    assert "bad\\x1b[2Jkey\\x9b" in str(caught.value.problems[0])


def test_a_missing_fields_label_with_a_bidi_override_is_shown_escaped(tmp_path: Path) -> None:
    text = (ROOT / "rubrics" / "table1.yaml").read_text(encoding="utf-8")
    path = tmp_path / "t.yaml"
    path.write_text(
        text.replace("label: 政务公开领导小组机构健全", 'label: "领导小组\\u202e健全"', 1), encoding="utf-8"
    )
    table = rubric.load_rubric(path)
    record = rubric.load_evidence(ROOT / "examples" / "table1-typical.yaml").data
    del record["T1-01"]["sound"]
    with pytest.raises(rubric.EvidenceError) as caught:
        table.score(record)
    assert "领导小组\\u202e健全" in str(caught.value.problems[0])
    assert visible(str(caught.value))


def test_chinese_text_and_ideographic_spaces_are_not_escaped() -> None:
    problem = rubric.Problem("missing", "'sound' (领导小组　健全) is required", ("T1-01", "sound"))
    assert str(problem) == "missing: T1-01.sound: 'sound' (领导小组　健全) is required"


# --- ids and names ------------------------------------------------------------------------------


def criterion(cid: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": cid,
        "number": 1,
        "content": "内容",
        "standard": "标准",
        "points": 5,
        "evidence": fields or {},
        "rules": [],
    }


def rubric_data(*criteria: dict[str, Any], category: str = "K") -> dict[str, Any]:
    return {
        "id": "names",
        "version": "1",
        "title": "名称",
        "points": 5 * len(criteria),
        "categories": [{"id": category, "name": "类别", "criteria": list(criteria)}],
    }


def problems_of(data: dict[str, Any]) -> list[tuple[str, tuple[str | int, ...]]]:
    with pytest.raises(rubric.RubricError) as caught:
        rubric.Rubric.from_data(data)
    return [(p.code, p.path) for p in caught.value.problems]


def test_a_full_width_id_is_the_same_id_and_clashes_with_its_ascii_twin() -> None:
    assert problems_of(rubric_data(criterion("A"), criterion("Ａ"))) == [
        ("duplicate-id", ("categories", 0, "criteria", 1, "id"))
    ]


@pytest.mark.parametrize("hidden", ["\u200b", "\u202e", "\u2060", "\ufeff", "\x00", "\u00ad"])
def test_an_id_with_an_invisible_character_is_refused(hidden: str) -> None:
    assert problems_of(rubric_data(criterion("A"), criterion("A" + hidden))) == [
        ("invisible-character", ("categories", 0, "criteria", 1, "id"))
    ]
    assert problems_of(rubric_data(criterion("A"), category="K" + hidden)) == [
        ("invisible-character", ("categories", 0, "id"))
    ]


def test_field_names_are_normalised_and_invisible_characters_refused() -> None:
    twins = {"ａ": {"type": "flag", "label": "甲"}, "a": {"type": "flag", "label": "乙"}}
    assert problems_of(rubric_data(criterion("A", twins))) == [
        ("duplicate-id", ("categories", 0, "criteria", 0, "evidence"))
    ]
    hidden = {"a\u200b": {"type": "flag", "label": "甲"}}
    assert problems_of(rubric_data(criterion("A", hidden))) == [
        ("invisible-character", ("categories", 0, "criteria", 0, "evidence", "a\u200b"))
    ]
    full_width = criterion("Ａ１", {"ｆｌａｇ": {"type": "flag", "label": "甲"}})
    single = rubric.Rubric.from_data(rubric_data(full_width))
    assert single.score({"A1": {"flag": True}}).total == 5


def test_a_record_key_spelled_with_look_alikes_is_refused_with_the_real_name_as_hint() -> None:
    table1 = rubric.load_rubric(ROOT / "rubrics" / "table1.yaml")
    record = rubric.load_evidence(ROOT / "examples" / "table1-typical.yaml").data
    record["Ｔ1-01"] = record.pop("T1-01")
    record["T1-02"]["on\u200b_time"] = record["T1-02"].pop("on_time")
    with pytest.raises(rubric.EvidenceError) as caught:
        table1.score(record)
    hints = {(p.code, p.hint) for p in caught.value.problems}
    look_alike = "(this one is written with look-alike or invisible characters)"
    assert ("unknown-criterion", f"did you mean 'T1-01'? {look_alike}") in hints
    assert ("unknown-field", f"did you mean 'on_time'? {look_alike}") in hints


def test_a_composites_part_names_are_normalised_and_cannot_clash() -> None:
    part = rubric.load_rubric(ROOT / "rubrics" / "table1.yaml")
    data = {
        "id": "c",
        "version": "1",
        "title": "组合",
        "points": 100,
        "parts": {"t": "t", "ｔ": "t"},
        "evidence": {"w": {"type": "flag", "label": "窗口"}},
        "branches": [{"when": "w", "clause": "全部", "weights": {"t": 1}}],
    }
    with pytest.raises(rubric.RubricError) as caught:
        rubric.Composite.from_data(data, {"t": part})
    assert [(p.code, p.path) for p in caught.value.problems] == [("duplicate-id", ("parts",))]
