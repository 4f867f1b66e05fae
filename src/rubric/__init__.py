"""rubric: declarative assessment rubrics in YAML, scored exactly, with an audit trail.

>>> import rubric
>>> table1 = rubric.load("rubrics/table1.yaml")
>>> result = table1.score(rubric.load_evidence("examples/table1-typical.yaml").data)
>>> result.total, result.max
"""

from ._documents import Document, Limits
from ._errors import EvidenceError, Problem, RubricEngineError, RubricError
from ._evidence_files import load_evidence
from ._fields import Assessment
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
from ._rubric import Composite, Rubric, load
from ._version import __version__

__all__ = [
    "Assessment",
    "AuditEntry",
    "CategoryScore",
    "Composite",
    "CompositeResult",
    "CriterionScore",
    "Document",
    "EvidenceError",
    "Limits",
    "PartScore",
    "Problem",
    "Result",
    "Rubric",
    "RubricEngineError",
    "RubricError",
    "RubricInfo",
    "__version__",
    "from_json",
    "load",
    "load_evidence",
]
