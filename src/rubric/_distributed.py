"""Score a partitioned dataset on Dask: one task per partition, results written as Parquet.

Dask, not a scheduler of our own: it runs the same code on this machine's threads or processes
and on a cluster (a ``dask.distributed`` client, when one is active, is used by ``dask.compute``),
and it reads partitioned Parquet or CSV into pandas partitions, which ``score_table`` takes. A
rubric pickles as its source, so each worker rebuilds it and scores exactly as this process would.
Dask is an optional extra (``rubric-engine[dask]``), imported only here and only when called.
"""

from __future__ import annotations

import importlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._atomic import FileError
from ._errors import Problem
from ._frames import score_table
from ._rubric import Composite, Rubric

RESULTS, REJECTED = "results", "rejected"


@dataclass(frozen=True, slots=True)
class DaskSummary:
    """What a Dask run did: partitions, rows read, scored and rejected, and where it wrote them."""

    partitions: int
    read: int
    scored: int
    rejected: int
    out: Path

    def __str__(self) -> str:
        return (
            f"partitions {self.partitions}, read {self.read}, scored {self.scored}, "
            f"rejected {self.rejected} (in {self.out})"
        )


def _dask() -> Any:
    try:
        return importlib.import_module("dask")
    except ImportError:
        raise ImportError("scoring on Dask needs dask: pip install 'rubric-engine[dask]'") from None


def _score_partition(scorer: Rubric | Composite, part: Any, index: int, folder: str) -> tuple[int, int, int]:
    """Score one partition and write its results and its rejected rows (each row carries the
    partition and its row within it, so a rejection points back to its input)."""
    pa = importlib.import_module("pyarrow")
    parquet = importlib.import_module("pyarrow.parquet")
    scores = score_table(scorer, part)
    name = f"part-{index:05d}.parquet"
    for kind, table in ((RESULTS, scores.results), (REJECTED, scores.rejected_table())):
        column = pa.array([index] * table.num_rows, pa.int64())
        parquet.write_table(table.add_column(0, "partition", column), os.path.join(folder, kind, name))
    return len(part), scores.results.num_rows, len(scores.rejected)


def score_dask(
    scorer: Rubric | Composite, frame: Any, out: str | Path, *, scheduler: str | None = None
) -> DaskSummary:
    """Score every partition of a Dask DataFrame; write ``OUT/results`` and ``OUT/rejected`` as Parquet.

    ``out`` must not exist yet, or be an empty folder: the parts are written beside it and moved
    into place only when every partition has been scored, so a failed run leaves nothing behind.
    ``scheduler`` is passed to ``dask.compute`` ("threads", "processes", "synchronous"; None for
    Dask's default, or the active ``dask.distributed`` client).
    """
    dask = _dask()
    target = Path(out)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise FileError(
            [
                Problem(
                    "out-not-empty",
                    "the output folder already holds files",
                    (),
                    file=str(target),
                    hint="name a new folder; results are never written over earlier ones",
                )
            ]
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = str(target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp"))
    os.mkdir(staging)  # not mkdtemp: its 0700 would stay on the results folder
    try:
        for kind in (RESULTS, REJECTED):
            os.mkdir(os.path.join(staging, kind))
        delayed = dask.delayed(_score_partition, pure=False)
        tasks = [delayed(scorer, part, i, staging) for i, part in enumerate(frame.to_delayed())]
        counts = dask.compute(*tasks, scheduler=scheduler)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    read, scored, rejected = (sum(c[i] for c in counts) for i in range(3))
    return DaskSummary(len(tasks), read, scored, rejected, target)
