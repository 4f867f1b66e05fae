"""Reading evidence records from YAML and JSON files, with positions for error messages."""

from __future__ import annotations

from pathlib import Path as FilePath

from ._documents import DEFAULT_LIMITS, Document, Limits, read_file
from ._errors import EvidenceError


def load_evidence(path: str | FilePath, *, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read an evidence record (YAML or JSON) safely; problems raise EvidenceError with positions."""
    return read_file(path, error=EvidenceError, limits=limits)
