"""The mistakes people make while encoding a table, and the messages that say how to fix them."""

from __future__ import annotations

from pathlib import Path

import pytest

import rubric
from rubric.cli import main

HEAD = """id: x
version: "1"
title: 示例
points: 5
categories:
  - id: a
    name: 组织领导
"""
CRITERION = """    criteria:
      - id: C-01
        number: 1
        content: {content}
        points: 5
        standard: 健全得5分
        evidence:
          sound: {{type: flag, label: {label}}}
        rules:
          - deduct: 2
            when: {{not: sound}}
            clause: 不健全扣2分
{extra}"""


def problems(tmp_path: Path, text: str) -> list[rubric.Problem]:
    path = tmp_path / "rubric.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(path)
    return list(caught.value.problems)


def criterion(content: str = "领导小组健全。", label: str = "健全", extra: str = "") -> str:
    return HEAD + CRITERION.format(content=content, label=label, extra=extra)


def test_a_key_in_the_wrong_place_names_the_places_that_take_it(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, criterion(extra="            cap: 1\n"))
    assert (problem.code, problem.path) == (
        "unknown-key",
        ("categories", 0, "criteria", 0, "rules", 0, "cap"),
    )
    assert problem.message == "'cap' is not allowed here"
    assert "a criterion" in problem.hint
    assert "per_missing rules" in problem.hint
    assert "did you mean 'cap'" not in problem.hint  # the old hint suggested the key itself


def test_veto_on_a_category_points_to_its_vetoes_list(tmp_path: Path) -> None:
    text = (
        HEAD
        + "    veto: {when: leak, clause: 泄密的不得分}\n"
        + CRITERION.format(content="c", label="l", extra="")
    )
    (problem,) = problems(tmp_path, text)
    # not "unknown key '0'": the key is named, placed on the category, and 'vetoes' suggested
    assert (problem.code, problem.path, problem.line) == ("unknown-key", ("categories", 0, "veto"), 8)
    assert "did you mean 'vetoes'?" in problem.hint


def test_an_unquoted_colon_in_chinese_text_says_to_quote_it(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, criterion(content="注明: 按表一考核评分"))
    assert problem.code == "yaml-syntax"
    assert problem.line == 11
    assert "quotes" in problem.hint
    assert "：" in problem.hint  # or the full-width colon


def test_a_comma_that_splits_a_label_in_braces_says_to_quote_it(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, criterion(label="缺一项,扣1分: 否"))
    assert problem.code == "unknown-key"
    assert problem.message == "unknown key '扣1分'"
    assert "put the whole text in quotes" in problem.hint


def test_a_decimal_threshold_on_a_count_says_whole_numbers_are_needed(tmp_path: Path) -> None:
    text = (
        criterion()
        .replace(
            "sound: {type: flag, label: 健全}",
            "sound: {type: flag, label: 健全}\n          n: {type: count, label: 次数}",
        )
        .replace("when: {not: sound}", "when: {field: n, at_least: 2.5}")
    )
    (problem,) = problems(tmp_path, text)
    assert (problem.code, problem.message) == ("int-type", "a whole number is needed here, got 2.5")
    assert "whole numbers" in problem.hint


def test_check_of_an_unparseable_rubric_exits_2_like_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rubric.yaml"
    path.write_text(criterion(content="注明: 按表一考核评分"), encoding="utf-8")
    assert main(["check", str(path)]) == 2
    assert main(["score", str(path), str(path)]) == 2
    assert "yaml-syntax" in capsys.readouterr().err
