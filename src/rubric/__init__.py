"""rubric: declarative assessment rubrics in YAML, scored exactly, with an audit trail.

>>> import rubric
>>> table1 = rubric.load_rubric("rubrics/table1.yaml")
>>> record = rubric.load_evidence("examples/table1-typical.yaml")
>>> table1.score(record.data).total
Decimal('78')
"""

from ._analysis import check, partial_score
from ._analysis import rubric_ranges as reachable
from ._atomic import FileError
from ._batch import Summary as BatchSummary
from ._batch import run_batch
from ._cases import coverage, load_cases, run_cases
from ._diff import diff_rubrics as diff
from ._diff import movements
from ._distributed import DaskSummary, score_dask
from ._documents import Document, Limits
from ._errors import EvidenceError, Problem, RubricEngineError, RubricError
from ._evidence_files import load_evidence
from ._fields import Assessment
from ._frames import RejectedRow, TableScores, score_table
from ._report import csv_report as report_csv
from ._report import markdown as report_markdown
from ._report import rank, read_results
from ._result import (
    AuditEntry,
    CategoryScore,
    CompositeResult,
    CriterionScore,
    PartScore,
    Result,
    RubricInfo,
    from_json,
)
from ._rubric import Composite, Rubric, load, load_composite, load_rubric
from ._schema import evidence_schema, rubric_schema
from ._version import __version__

__all__ = [
    "Assessment",
    "AuditEntry",
    "BatchSummary",
    "CategoryScore",
    "Composite",
    "CompositeResult",
    "CriterionScore",
    "DaskSummary",
    "Document",
    "EvidenceError",
    "FileError",
    "Limits",
    "PartScore",
    "Problem",
    "RejectedRow",
    "Result",
    "Rubric",
    "RubricEngineError",
    "RubricError",
    "RubricInfo",
    "TableScores",
    "__version__",
    "check",
    "coverage",
    "diff",
    "evidence_schema",
    "from_json",
    "load",
    "load_cases",
    "load_composite",
    "load_evidence",
    "load_rubric",
    "movements",
    "partial_score",
    "rank",
    "reachable",
    "read_results",
    "report_csv",
    "report_markdown",
    "rubric_schema",
    "run_batch",
    "run_cases",
    "score_dask",
    "score_table",
]
