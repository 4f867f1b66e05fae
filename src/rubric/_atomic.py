"""Atomic output: write to a temporary file beside the destination, fsync, then rename over it.

An interrupted run therefore never leaves a half-written file under the final name, and the
previous output stays byte-identical until the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ._errors import Problem, RubricEngineError


class FileError(RubricEngineError):
    """An output file could not be written (no such folder, no permission, disk full)."""

    family = "io"


def _mode(target: Path) -> int:
    """The replaced file's permissions, or the usual ones for a new file under the umask."""
    try:
        return os.stat(target).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_writer(path: str | Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text handle whose content replaces ``path`` only when the block completes."""
    target = Path(path)
    try:
        handle = _temporary(target, newline)
    except OSError as exc:
        raise FileError([Problem("io", exc.strerror or str(exc), file=str(target))]) from None
    try:
        yield handle  # type: ignore[misc]  # a TextIO in all but name
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.chmod(handle.name, _mode(target))  # temporary files are private; the output is not
        os.replace(handle.name, target)
    except BaseException:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


def _temporary(target: Path, newline: str | None) -> tempfile._TemporaryFileWrapper[str]:
    return tempfile.NamedTemporaryFile(
        "w",
        encoding="utf-8",
        newline=newline,
        dir=target.parent or ".",
        prefix=f".{target.name}.",
        suffix=".tmp",
        delete=False,
    )
