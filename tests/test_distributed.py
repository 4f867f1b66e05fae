"""Scoring a partitioned dataset on Dask: the same results as scoring the table in one piece, every
rejected row pointing back to its partition and row, and nothing half-written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric import _distributed

pa = pytest.importorskip("pyarrow", reason="needs pyarrow: pip install '.[dask]'")
parquet = pytest.importorskip("pyarrow.parquet", reason="needs pyarrow: pip install '.[dask]'")
dd = pytest.importorskip("dask.dataframe", reason="needs Dask: pip install '.[dask]'")

from test_frames import TABLES, columns_of, example  # noqa: E402 - after the skips: it needs pyarrow

TABLE1 = TABLES["table1"]
NAMES = ("table1-typical", "table1-perfect", "table1-veto", "table1-floor")


def partitioned(folder: Path, records: list[dict[str, Any]], rows_per_file: int, **cells: list[Any]) -> Path:
    """Records written as a Parquet dataset of several files (one Dask partition each)."""
    columns = {**columns_of(TABLE1, records), **cells}
    table = pa.table(columns)
    folder.mkdir()
    for number, start in enumerate(range(0, table.num_rows, rows_per_file)):
        parquet.write_table(table.slice(start, rows_per_file), folder / f"units-{number}.parquet")
    return folder


def test_a_partitioned_dataset_scores_on_worker_processes_as_one_table_does(tmp_path: Path) -> None:
    records = [example(name) for name in NAMES] * 3
    units = [f"单位{n}" for n in range(12)]
    documents: list[Any] = [r["T1-02"]["documents"] for r in records]
    documents[9] = ["计划", "方案"]  # partition 2 (rows 8-11), its row 1: 方案 is not an item
    source = partitioned(tmp_path / "units", records, 4, unit=units, **{"T1-02.documents": documents})
    frame = dd.read_parquet(source)
    assert frame.npartitions == 3

    # worker processes receive the rubric pickled as its source and rebuild it
    summary = rubric.score_dask(TABLE1, frame, tmp_path / "out", scheduler="processes")

    assert (summary.partitions, summary.read, summary.scored, summary.rejected) == (3, 12, 11, 1)
    results = pa.concat_tables(
        parquet.read_table(p) for p in sorted((tmp_path / "out" / "results").iterdir())
    )
    whole = rubric.score_table(TABLE1, parquet.read_table(source)).results
    assert results.drop_columns(["partition", "row"]) == whole.drop_columns(["row"])
    assert results.column("partition").to_pylist() == [0] * 4 + [1] * 4 + [2] * 3
    rejected = parquet.read_table(tmp_path / "out" / "rejected" / "part-00002.parquet").to_pylist()
    assert [(r["partition"], r["row"], r["unit"], r["code"], r["path"]) for r in rejected] == [
        (2, 1, "单位9", "unknown-item", "T1-02.documents[1]")
    ]
    assert str(summary).startswith("partitions 3, read 12, scored 11, rejected 1")


def test_an_output_folder_that_holds_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    source = partitioned(tmp_path / "units", [example("table1-typical")], 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.parquet").write_bytes(b"earlier results")
    with pytest.raises(rubric.FileError) as caught:
        rubric.score_dask(TABLE1, dd.read_parquet(source), out)
    assert caught.value.code == "out-not-empty"
    assert [p.name for p in out.iterdir()] == ["old.parquet"]


def test_a_partition_that_fails_leaves_no_output_and_no_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = partitioned(tmp_path / "units", [example(name) for name in NAMES], 2)
    calls: list[int] = []

    def failing(scorer: Any, part: Any) -> Any:
        calls.append(len(part))
        if len(calls) == 2:
            raise MemoryError("a worker ran out of memory")
        return rubric.score_table(scorer, part)

    monkeypatch.setattr(_distributed, "score_table", failing)
    with pytest.raises(MemoryError):
        rubric.score_dask(TABLE1, dd.read_parquet(source), tmp_path / "out", scheduler="synchronous")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["units"]


def test_without_dask_scoring_a_dataset_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"rubric-engine\[dask\]"):
        rubric.score_dask(TABLE1, None, tmp_path / "out")
