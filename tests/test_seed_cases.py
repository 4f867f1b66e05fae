"""The hand-worked cases of the seed tables: each expected score is derived from the notice's text.

The cases live next to the rubrics (rubrics/*.cases.yaml), each with a `why` naming the clause
that gives its number; this runs every one of them as its own test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rubric._cases import load_cases, run_case

RUBRICS = Path(__file__).parent.parent / "rubrics"
CASE_FILES = sorted(RUBRICS.glob("*.cases.yaml"))


def _cases() -> list[tuple[Path, int, str]]:
    out = []
    for path in CASE_FILES:
        for index, case in enumerate(load_cases(path).cases):
            out.append((path, index, case.name))
    return out


@pytest.fixture(scope="module")
def case_files() -> dict[Path, object]:
    return {path: load_cases(path) for path in CASE_FILES}


def test_every_seed_table_and_the_composite_ship_cases() -> None:
    names = {p.name for p in CASE_FILES}
    assert {"table1.cases.yaml", "table2.cases.yaml", "table3.cases.yaml"} <= names


@pytest.mark.parametrize(
    ("path", "index", "name"),
    _cases(),
    ids=lambda v: str(v) if isinstance(v, (int, str)) else v.name,
)
def test_seed_case_scores_as_worked_out_by_hand(
    case_files: dict[Path, object], path: Path, index: int, name: str
) -> None:
    case_file = case_files[path]
    case = case_file.cases[index]  # type: ignore[attr-defined]
    outcome = run_case(case_file.rubric, case)  # type: ignore[attr-defined]
    assert outcome.passed, f"{name} ({case.why}): " + "; ".join(outcome.failures)
