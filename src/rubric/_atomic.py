"""Atomic output: write to a temporary file beside the destination, fsync, then rename over it.

An interrupted run therefore never leaves a half-written file under the final name, and the
previous output stays byte-identical until the new one is complete.

``-`` means standard output. A symlink is written through: the temporary file goes beside the
link's target and is renamed onto the target, so the link stays a link. A device, FIFO or socket
(``/dev/stdout``, a named pipe) is never renamed over: it is opened and written directly, as a
stream (there is nothing to keep byte-identical on a device).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ._errors import Problem, RubricEngineError

STDIO = "-"


class FileError(RubricEngineError):
    """An output file could not be written (no such folder, no permission, disk full)."""

    family = "io"


def _fail(path: str | Path, message: str, code: str = "io") -> FileError:
    return FileError([Problem(code, message, file=str(path))])


def _mode(target: Path) -> int:
    """The replaced file's permissions, or the usual ones for a new file under the umask."""
    try:
        return os.stat(target).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def is_special(target: str | Path) -> bool:
    """True for an existing device, FIFO or socket: written in place, never replaced."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output(path: str | Path) -> None:
    """Refuse an output path that can never be written as a file (a folder), before any writing."""
    if str(path) == STDIO:
        return
    if os.path.isdir(path):
        raise _fail(path, "is a folder, not a file (name a file to write)")


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file (through symlinks, hard links, ``./`` and ``..``)."""
    if STDIO in (str(a), str(b)):
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet: compare where they would be
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_clobbering(
    outputs: Sequence[tuple[str, str | Path]], inputs: Sequence[tuple[str, str | Path]]
) -> None:
    """Refuse, before anything is written, an output that is an input or another output.

    ``outputs`` and ``inputs`` are (option name, path) pairs, so that the message names the options.
    """
    for index, (name, out) in enumerate(outputs):
        check_output(out)
        for other, path in [*inputs, *outputs[:index]]:
            if same_file(out, path):
                raise _fail(
                    out,
                    f"{name} is the same file as {other}: writing it would destroy what is read or "
                    "written there",
                    "same-file",
                )


@contextlib.contextmanager
def atomic_writer(path: str | Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text handle whose content replaces ``path`` only when the block completes."""
    with atomic_writers([path], newline) as (handle,):
        yield handle


@contextlib.contextmanager
def atomic_writers(paths: Sequence[str | Path], newline: str | None = None) -> Iterator[list[TextIO]]:
    """Handles for several outputs that are all renamed into place only when the block completes.

    Every temporary file is written and fsynced before the first rename, so that a failure while
    writing leaves every previous output untouched.
    """
    with contextlib.ExitStack() as stack:
        pending: list[tuple[tempfile._TemporaryFileWrapper[str], Path]] = []
        handles: list[TextIO] = []
        for path in paths:
            if str(path) == STDIO:
                handles.append(_stdout(newline))
                continue
            check_output(path)
            if is_special(path):  # before resolving: /dev/stdout resolves to no real path
                handles.append(stack.enter_context(_open_special(Path(path), newline)))
                continue
            target = Path(os.path.realpath(path))  # through a symlink to what it names
            try:
                handle = _temporary(target, newline)
            except OSError as exc:
                raise _fail(path, exc.strerror or str(exc)) from None
            stack.callback(_discard, handle)
            pending.append((handle, target))
            handles.append(handle)  # type: ignore[arg-type]  # a TextIO in all but name
        yield handles
        for temporary, target in pending:
            temporary.flush()
            os.fsync(temporary.fileno())
            temporary.close()
            os.chmod(temporary.name, _mode(target))  # temporary files are private; the output is not
        for temporary, target in pending:
            os.replace(temporary.name, target)
        if any(handle is sys.stdout for handle in handles):
            sys.stdout.flush()


def _discard(handle: tempfile._TemporaryFileWrapper[str]) -> None:
    """Remove a temporary file that was not renamed into place (a no-op after the rename)."""
    handle.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(handle.name)


def _stdout(newline: str | None) -> TextIO:
    if newline == "" and hasattr(sys.stdout, "reconfigure"):
        # CSV writes its own CRLF: keep the text layer from translating it again.
        with contextlib.suppress(ValueError, OSError):
            sys.stdout.reconfigure(newline="")
    return sys.stdout


@contextlib.contextmanager
def _open_special(target: Path, newline: str | None) -> Iterator[TextIO]:
    try:
        handle = open(target, "w", encoding="utf-8", newline=newline)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _fail(target, exc.strerror or str(exc)) from None
    with handle:
        yield handle


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
