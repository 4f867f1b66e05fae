"""Reading evidence records from YAML and JSON files, with positions for error messages."""

from __future__ import annotations

from pathlib import Path as FilePath

from ._documents import DEFAULT_LIMITS, Document, Limits, parse, read_file
from ._errors import EvidenceError
from ._readers import STDIN, read_bytes


def load_evidence(path: str | FilePath, *, limits: Limits = DEFAULT_LIMITS) -> Document:
    """Read an evidence record (YAML or JSON; ``-`` for standard input) safely; problems raise
    EvidenceError with positions."""
    if str(path) == STDIN:
        raw, size = read_bytes(path, limits)
        return parse(raw, file="<stdin>", error=EvidenceError, limits=limits, size=size)
    return read_file(path, error=EvidenceError, limits=limits)
