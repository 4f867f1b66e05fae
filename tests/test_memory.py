"""Memory stays proportional to the input: README "Limits" promises at most 60 bytes held per
byte of input while a file is read and checked, for the worst shapes a file can take.

The worst shapes are the ones with most nodes per byte: ``[[[[]]]],`` (four containers in nine
bytes) and ``{},`` (a mapping in three bytes). A position record per node used to cost about
225 bytes (a 5 MB file took over 500 MB), and a rubric of a million and a half empty categories
made pydantic build five million error records (6.5 GB).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric import _loading as loading
from rubric._documents import read_file

BYTES_PER_INPUT_BYTE = 60  # README "Limits"


def peak_while(action: object, path: Path) -> tuple[float, rubric.RubricError | None]:
    """Peak memory traced while ``action(path)`` runs, per byte of the file, and its error."""
    error = None
    tracemalloc.start()
    try:
        try:
            action(path)  # type: ignore[operator]
        except rubric.RubricError as exc:
            error = exc
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / path.stat().st_size, error


def test_a_large_rubric_of_empty_categories_loads_within_60_bytes_per_byte(tmp_path: Path) -> None:
    # 1.5 MB, 500,000 categories: memory per byte is what is bounded, and it does not fall with size
    # (the problems are capped, the positions kept are per node); a 5 MB file took two minutes
    # under tracemalloc without telling more.
    path = tmp_path / "empty.yaml"
    head = 'id: a\nversion: "1"\ntitle: t\npoints: 5\ncategories: ['
    path.write_text(head + "{}," * ((1_500_000 - len(head)) // 3) + "{}]\n", encoding="utf-8")
    per_byte, error = peak_while(rubric.load, path)
    assert per_byte < BYTES_PER_INPUT_BYTE
    assert error is not None
    assert len(error.problems) <= 1001
    assert error.problems[-1].code == "too-many-problems"
    assert (error.problems[0].code, error.problems[0].line) == ("missing", 5)


def test_a_file_of_nested_empty_lists_is_read_within_60_bytes_per_byte(tmp_path: Path) -> None:
    path = tmp_path / "nested.yaml"
    path.write_text("x: [" + "[[[[]]]]," * 110_000 + "[]]\n", encoding="utf-8")  # about 1 MB
    per_byte, _ = peak_while(read_file, path)
    assert per_byte < BYTES_PER_INPUT_BYTE
    document = read_file(path)
    assert len(document.data["x"]) == 110_001
    assert document.positions.marks[("x", 109_999, 0, 0)] == (1, 5 + 109_999 * 9 + 2)


def test_reading_a_small_file_does_not_set_aside_the_whole_size_limit(tmp_path: Path) -> None:
    # read(max_bytes + 1) once allocated 5 MB up front for every file, a 1 KB one included.
    path = tmp_path / "small.yaml"
    path.write_text("x: [" + "1, " * 330 + "1]\n", encoding="utf-8")
    per_byte, _ = peak_while(read_file, path)
    assert per_byte < BYTES_PER_INPUT_BYTE


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("rules", "        rules: [" + "1, " * 200_000 + "1]\n"),
        ("fields", "        evidence: {" + ", ".join(f"f{i}: 1" for i in range(200_000)) + "}\n"),
        ("categories", None),
        # the plain values inside checklist items, choice options, tier levels and condition lists
        ("items", "        evidence: {f: {type: checklist, label: l, items: [" + "1, " * 200_000 + "1]}}\n"),
        ("options", "        evidence: {f: {type: choice, label: l, options: [" + "1, " * 200_000 + "1]}}\n"),
        (
            "levels",
            "        evidence: {f: {type: choice, label: l, options: [a]}}\n"
            "        rules: [{tiers: f, clause: c, levels: {"
            + ", ".join(f"l{i}: x" for i in range(200_000))
            + "}}]\n",
        ),
        (
            "conditions",
            "        evidence: {f: {type: flag, label: l}}\n"
            "        rules: [{deduct: 1, clause: c, when: {all: [" + "1, " * 200_000 + "1]}}]\n",
        ),
    ],
)
def test_validation_of_a_file_of_many_wrong_parts_stops_at_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, wrong: str | None
) -> None:
    # pydantic keeps an error record per wrong part (hundreds of bytes each, outside what
    # tracemalloc sees): validation must stop once 1,000 parts have failed, not list 200,000.
    head = 'id: a\nversion: "1"\ntitle: t\npoints: 5\ncategories:\n'
    if wrong is None:
        text = head[: -len("categories:\n")] + "categories: [" + "{}, " * 200_000 + "{}]\n"
    else:
        text = head + (
            "  - id: K\n    name: k\n    criteria:\n      - id: C1\n        number: 1\n"
            "        content: c\n        standard: s\n        points: 5\n" + wrong
        )
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    outcomes: list[str] = []
    real = loading._budgeted

    def spy(model: Any, data: Any) -> Any:
        try:
            return real(model, data)
        except BaseException as exc:
            outcomes.append(type(exc).__name__)
            raise

    monkeypatch.setattr(loading, "_budgeted", spy)
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(path)
    assert outcomes[0] == "TooManyProblems"
    assert len(caught.value.problems) <= 1001
    assert caught.value.problems[-1].code == "too-many-problems"
