"""Scoring a whole table: Arrow, pandas and polars in, an Arrow results table out, the same
validation and the same numbers as score(), and every bad row accounted for."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rubric
from rubric._batch import result_values
from rubric._readers import csv_columns
from rubric.testing import evidence

pa = pytest.importorskip("pyarrow", reason="scoring tables needs pyarrow: pip install '.[frames]'")

ROOT = Path(__file__).parent.parent
TABLES = {name: rubric.load(ROOT / "rubrics" / f"{name}.yaml") for name in ("table1", "table2", "table3")}
DEPARTMENT = rubric.load(ROOT / "rubrics" / "department.yaml")
MISSING = object()


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = rubric.load_evidence(ROOT / "examples" / f"{name}.yaml").data
    return data


def lookup(record: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return MISSING
        record = record[key]
    return record


def columns_of(scorer: Any, records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Records as fact columns (batch CSV's names); a fact a record leaves out is a null cell."""
    columns: dict[str, list[Any]] = {}
    for name, (path, _) in csv_columns(scorer).items():
        cells = [lookup(record, path) for record in records]
        if any(cell is not MISSING for cell in cells):
            columns[name] = [None if cell is MISSING else cell for cell in cells]
    return columns


def assert_row_equals_score(row: dict[str, Any], expected: Any) -> None:
    assert row["total"] == expected.total
    assert row["max"] == expected.max
    assert row["grade"] == expected.grade
    assert row["evidence_sha256"] == expected.evidence_sha256
    for name, value in result_values(expected).items():
        assert row[name] == value, name


SEEDED = st.one_of(
    *(st.lists(evidence(t), min_size=1, max_size=4).map(lambda rs, t=t: (t, rs)) for t in TABLES.values()),
    st.lists(evidence(DEPARTMENT), min_size=1, max_size=4).map(lambda rs: (DEPARTMENT, rs)),
)


@given(SEEDED)
def test_a_table_of_random_evidence_scores_exactly_as_score_does_row_by_row(
    drawn: tuple[Any, list[dict[str, Any]]],
) -> None:
    scorer, records = drawn
    scores = rubric.score_table(scorer, columns_of(scorer, records))
    assert scores.rejected == ()
    rows = scores.results.to_pylist()
    assert [row["row"] for row in rows] == list(range(len(records)))
    for row, record in zip(rows, records, strict=True):
        assert_row_equals_score(row, scorer.score(record))


@given(SEEDED)
def test_an_arrow_table_of_random_evidence_scores_as_its_columns_do(
    drawn: tuple[Any, list[dict[str, Any]]],
) -> None:
    scorer, records = drawn
    columns = columns_of(scorer, records)
    table = pa.table(columns)
    assert rubric.score_table(scorer, table).results == rubric.score_table(scorer, columns).results


def test_the_typical_examples_score_as_worked_out_by_hand_with_exact_decimal_columns() -> None:
    # 表一 typical 83, 表二 typical 67.5; the department composite 83×0.6 + 67.5×0.4 = 76.8.
    department = example("department-typical")
    table = pa.table(columns_of(DEPARTMENT, [department]))
    results = rubric.score_table(DEPARTMENT, table).results
    assert pa.types.is_decimal(results.schema.field("total").type)
    row = results.to_pylist()[0]
    assert (row["total"], row["table1.total"], row["table2.total"]) == (
        Decimal("76.8"),
        Decimal(83),
        Decimal("67.5"),
    )
    assert row["unit"] == "0"


def test_results_have_one_column_per_criterion_after_the_subtotals() -> None:
    results = rubric.score_table(TABLES["table1"], columns_of(TABLES["table1"], [example("table1-typical")]))
    names = results.results.column_names
    assert names[:5] == ["row", "unit", "total", "max", "grade"]
    assert names[5:10] == ["组织领导", "信息公开", "依申请公开", "政务服务", "工作创新"]
    assert names[10:25] == [f"T1-{n:02d}.score" for n in range(1, 16)]
    assert names[-1] == "evidence_sha256"


def test_a_pandas_count_column_with_a_gap_counts_its_whole_floats_and_refuses_a_fraction() -> None:
    pd = pytest.importorskip("pandas", reason="needs pandas")
    table2 = TABLES["table2"]
    typical = example("table2-typical")
    changes = typical["T2-01"]["unauthorised_changes"]
    bad = {**typical, "T2-01": {**typical["T2-01"]}}
    del bad["T2-01"]["unauthorised_changes"]
    frame = pd.DataFrame(columns_of(table2, [typical, bad, typical]))
    frame["T2-01.unauthorised_changes"] = [float(changes), None, changes + 0.5]  # float64 with NaN
    frame["unit"] = ["甲", "乙", "丙"]
    scores = rubric.score_table(table2, frame)
    assert scores.results.column("total").to_pylist() == [Decimal("67.5")]
    assert [(r.row, r.unit, [p.code for p in r.problems]) for r in scores.rejected] == [
        (1, "乙", ["missing"]),
        (2, "丙", ["not-whole"]),
    ]


def test_a_float_amount_of_points_is_refused_because_a_double_is_not_exact() -> None:
    table2 = TABLES["table2"]
    typical = example("table2-typical")
    columns = columns_of(table2, [typical])
    columns["T2-03.innovations"] = [[{"points": 0.5, "reason": "创新"}]]
    scores = rubric.score_table(table2, columns)
    assert scores.results.num_rows == 0
    assert [(p.code, p.path) for p in scores.rejected[0].problems] == [
        ("wrong-type", ("T2-03", "innovations", 0, "points"))
    ]


def test_text_cells_follow_the_csv_convention_and_typed_cells_are_taken_as_values() -> None:
    table1 = TABLES["table1"]
    typical = example("table1-typical")
    columns = columns_of(table1, [typical, typical])
    columns["T1-01.sound"] = ["true", True]
    columns["T1-02.documents"] = ["计划;部署;总结", ["计划", "部署", "总结"]]
    scores = rubric.score_table(table1, columns)
    assert scores.results.column("total").to_pylist() == [Decimal(83), Decimal(83)]


def test_every_bad_row_is_returned_with_its_row_number_and_none_is_dropped() -> None:
    table1 = TABLES["table1"]
    typical = example("table1-typical")
    columns = columns_of(table1, [typical] * 4)
    columns["T1-01.sound"] = [True, 1, True, "maybe"]  # 1 is never true
    columns["unit"] = ["甲", "乙", None, "丁"]
    scores = rubric.score_table(table1, columns)
    assert scores.results.column("unit").to_pylist() == ["甲"]
    assert [(r.row, r.unit, r.problems[0].code) for r in scores.rejected] == [
        (1, "乙", "wrong-type"),
        (2, "2", "bad-unit"),
        (3, "丁", "wrong-type"),
    ]
    assert scores.results.num_rows + len(scores.rejected) == 4
    assert scores.rejected_table().column("path").to_pylist() == ["T1-01.sound", "unit", "T1-01.sound"]


def test_errors_raise_reports_every_bad_row_with_the_row_leading_each_path() -> None:
    table1 = TABLES["table1"]
    typical = example("table1-typical")
    columns = columns_of(table1, [typical] * 3)
    columns["T1-01.sound"] = [True, 1, "maybe"]
    with pytest.raises(rubric.EvidenceError) as caught:
        rubric.score_table(table1, columns, errors="raise")
    assert [(p.code, p.path) for p in caught.value.problems] == [
        ("wrong-type", (1, "T1-01", "sound")),
        ("wrong-type", (2, "T1-01", "sound")),
    ]
    assert str(caught.value.problems[0]).startswith("wrong-type: [1].T1-01.sound: ")


def test_an_unknown_column_is_refused_with_a_suggestion_before_any_row_is_scored() -> None:
    with pytest.raises(rubric.EvidenceError) as caught:
        rubric.score_table(TABLES["table1"], {"T1-01.sond": [True]})
    problem = caught.value.problems[0]
    assert (problem.code, problem.hint) == ("unknown-column", "did you mean 'T1-01.sound'?")


def test_a_column_named_twice_is_refused_rather_than_one_silently_winning() -> None:
    table = pa.Table.from_arrays([pa.array([True]), pa.array([False])], names=["T1-01.sound"] * 2)
    with pytest.raises(rubric.EvidenceError) as caught:
        rubric.score_table(TABLES["table1"], table)
    assert caught.value.problems[0].message == "columns 1 and 2 are both named 'T1-01.sound'"


def test_a_pandas_column_arrow_cannot_hold_is_named() -> None:
    pd = pytest.importorskip("pandas", reason="needs pandas")
    frame = pd.DataFrame({"T1-01.sound": [True, "x"], "T1-02.documents": [["计划"], 3]})
    with pytest.raises(rubric.EvidenceError) as caught:
        rubric.score_table(TABLES["table1"], frame)
    assert caught.value.code == "bad-column"
    assert "'T1-01.sound'" in caught.value.problems[0].message


def test_polars_and_pandas_frames_score_as_their_arrow_table_does() -> None:
    pl = pytest.importorskip("polars", reason="needs polars")
    table1 = TABLES["table1"]
    records = [example(name) for name in ("table1-typical", "table1-perfect", "table1-veto", "table1-floor")]
    table = pa.table(columns_of(table1, records))
    expected = rubric.score_table(table1, table).results
    assert expected.column("total").to_pylist() == [table1.score(r).total for r in records]
    assert rubric.score_table(table1, pl.from_arrow(table)).results == expected
    assert rubric.score_table(table1, table.to_pandas()).results == expected
    assert rubric.score_table(table1, table.to_batches()[0]).results == expected


def test_an_empty_table_gives_an_empty_results_table_with_every_column() -> None:
    scores = rubric.score_table(TABLES["table1"], {"T1-01.sound": []})
    assert (scores.results.num_rows, scores.results.num_columns, scores.rejected) == (0, 26, ())


def test_without_pyarrow_scoring_a_table_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"rubric-engine\[frames\]"):
        rubric.score_table(TABLES["table1"], {"T1-01.sound": [True]})


def test_something_that_is_not_a_table_is_a_type_error_naming_what_it_got() -> None:
    with pytest.raises(TypeError, match="not int"):
        rubric.score_table(TABLES["table1"], 3)


def test_columns_of_different_lengths_are_refused_rather_than_cut_to_the_shortest() -> None:
    with pytest.raises(rubric.EvidenceError) as caught:
        rubric.score_table(TABLES["table1"], {"T1-01.sound": [True, False], "T1-01.adjusted": [True]})
    assert str(caught.value.problems[0]) == "<table>: bad-column: the columns have different lengths"


def test_results_built_in_chunks_keep_every_row_at_the_widest_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    from rubric import _frames  # noqa: PLC0415 - the chunk size is shrunk to cross chunk boundaries

    monkeypatch.setattr(_frames, "_CHUNK", 2)
    table2 = TABLES["table2"]
    records = [example("table2-perfect")] * 4 + [example("table2-typical")]  # 100 ×4, then 67.5
    results = rubric.score_table(table2, columns_of(table2, records)).results
    assert results.schema.field("total").type == pa.decimal128(38, 1)
    assert results.column("total").to_pylist() == [Decimal(100)] * 4 + [Decimal("67.5")]
    assert results.column("row").to_pylist() == [0, 1, 2, 3, 4]
