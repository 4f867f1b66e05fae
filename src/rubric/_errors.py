"""Errors as data: every problem has a stable code, a path, and (from a file) a line and column."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Literal

Path = tuple[str | int, ...]
Severity = Literal["error", "warning", "note"]


# Characters that change what a terminal shows rather than showing themselves: controls (escape
# sequences), format characters (bidi overrides, zero-width), line separators, surrogates and
# unassigned or private code points. Spaces of other widths (U+3000 in Chinese text) stay.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def format_path(path: Path) -> str:
    """Render a path as the dotted form used in messages, e.g. ``criteria[5].rules[1]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def suggest(word: str, choices: Iterable[str]) -> str:
    """A did-you-mean hint for an unknown name, or an empty string."""
    choices = list(choices)
    # Names in a rubric are NFKC-normalised; a record's keys are matched as written (nothing is
    # guessed), so a full-width or zero-width spelling of a real name gets a precise hint.
    seen = "".join(c for c in unicodedata.normalize("NFKC", word) if unicodedata.category(c) not in _HIDDEN)
    if seen != word and seen in choices:
        return f"did you mean '{seen}'? (this one is written with look-alike or invisible characters)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def short_repr(value: object, limit: int = 60) -> str:
    """A repr that is safe for any input: huge ints and long strings are cut, never expanded."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not mask the real problem
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_controls(text: str) -> str:
    """``text`` with every control or invisible format character written as an escape (``\\x1b``),
    so that a message read from a hostile file can never drive the terminal it is printed on."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or unicodedata.category(char) not in _HIDDEN:
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rubric or an evidence record."""

    code: str
    message: str
    path: Path = ()
    _: KW_ONLY
    file: str | None = None
    line: int | None = None
    column: int | None = None
    severity: Severity = "error"
    hint: str = ""
    at_key: bool = False  # the problem is the key itself (unknown key), so point at the key

    def __str__(self) -> str:
        # The one place a problem becomes text: every part is escaped here, whichever file or
        # record its words came from (paths hold keys of the record as they were written).
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}:{self.column or 1}"
            where += ": "
        place = format_path(self.path)
        text = f"{where}{self.code}: {place + ': ' if place else ''}{self.message}"
        return escape_controls(f"{text} ({self.hint})" if self.hint else text)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form (text escaped as in ``str``: JSON output is read on terminals too)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "path": escape_controls(format_path(self.path)),
            "message": escape_controls(self.message),
            "hint": escape_controls(self.hint),
            "file": None if self.file is None else escape_controls(self.file),
            "line": self.line,
            "column": self.column,
        }


@dataclass(frozen=True, slots=True)
class Positions:
    """Where each node of a loaded document stood in its file (1-based line and column)."""

    file: str | None
    marks: Mapping[Path, tuple[int, int]] = field(default_factory=dict)
    keys: Mapping[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, problem: Problem) -> Problem:
        """Stamp file, line and column on a problem, using the deepest known prefix of its path."""
        if problem.line is not None:
            return problem
        path = problem.path
        if problem.at_key or problem.code == "unknown-key":
            mark = self.keys.get(path)
            if mark is not None:
                return replace(problem, file=self.file, line=mark[0], column=mark[1])
        for end in range(len(path), -1, -1):
            mark = self.marks.get(path[:end])
            if mark is not None:
                return replace(problem, file=self.file, line=mark[0], column=mark[1])
        return replace(problem, file=self.file)


class RubricEngineError(Exception):
    """Base of every error this library raises on purpose."""

    family = "rubric-engine"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = str(self.problems[0]) if self.problems else "unknown problem"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))

    @property
    def code(self) -> str:
        """The code of the first problem."""
        return self.problems[0].code if self.problems else "unknown"


class RubricError(RubricEngineError):
    """The rubric (or composite) is wrong: fix the rubric file."""

    family = "rubric"


class EvidenceError(RubricEngineError):
    """The evidence record is wrong: fix the record."""

    family = "evidence"
