"""Fuzzing: whatever bytes, records or batch files come in, only the documented errors come out.

Three kinds of input are mutated at random and fed to the engine:

- rubric files: the seed rubrics' bytes with lines deleted, duplicated and swapped, numbers changed
  (huge, negative, ``NaN`` text, a string), keys renamed, anchors, aliases and ``!!python`` tags
  inserted, files truncated, bytes flipped, invalid UTF-8 inserted, values nested very deeply.
  Each either loads (and then scores a valid record) or raises ``rubric.RubricError``;
- evidence records: the shipped examples and generated valid records with values replaced by
  arbitrary JSON-like values (huge integers, ``Decimal('NaN')``, ``Decimal('1E+999999999')``, lone
  surrogates, …) and keys deleted, added and renamed. Scoring either gives a total within
  [0, max] or raises ``rubric.EvidenceError``;
- batch files: random bytes, mutated JSON Lines and random CSV through ``read_items`` and
  ``run_batch``. Only ``rubric.RubricEngineError`` subclasses escape, every line read is scored,
  rejected or blank, and nothing is silently lost.

The example budget comes from the active hypothesis profile (tests/conftest.py). Run longer with:

    HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest tests/test_fuzz.py

The plain tests at the end pin the defects these fuzzers found, as minimal reproducers.
"""

from __future__ import annotations

import copy
import csv
import importlib.util
import io
import json
import random
import re
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rubric
from rubric._analysis import MAX_FINDINGS
from rubric._batch import Summary, run_batch
from rubric._documents import parse
from rubric._fields import Assessed, FieldSpec
from rubric._readers import csv_columns, read_items
from rubric._rubric import Composite, Rubric, load_document
from rubric.testing import evidence, rubrics

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"
EXAMPLES = ROOT / "examples"
TABLE_NAMES = ("table1", "table2", "table3")
SOURCES = {name: (RUBRICS / f"{name}.yaml").read_bytes() for name in (*TABLE_NAMES, "department")}
TABLES = {name: rubric.load(RUBRICS / f"{name}.yaml") for name in TABLE_NAMES}
DEPARTMENT = rubric.load(RUBRICS / "department.yaml")
SCORERS: dict[str, Rubric | Composite] = {**TABLES, "department": DEPARTMENT}  # type: ignore[dict-item]
EXAMPLE_FILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
ZERO = Decimal(0)
MANY_AMOUNTS = 10_000  # check_result lists the amounts of a range to check steps; more is too slow


def amount_count(spec: Assessed) -> Decimal:
    """How many amounts an assessed field's range holds (a mutated one may hold billions)."""
    return (spec.range[1] - spec.range[0]) / spec.step


# --------------------------------------------------------------------------------------------
# Shared checks
# --------------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"JSON output holds the token {name}")


def strict_json(text: str) -> Any:
    """Parse JSON output, failing on NaN / Infinity tokens."""
    return json.loads(text, parse_constant=_refuse_constant)


def check_error(exc: rubric.RubricEngineError) -> None:
    """A documented error: at least one problem, each a Problem that renders and serialises."""
    assert exc.problems
    assert all(isinstance(p, rubric.Problem) for p in exc.problems)
    assert str(exc)
    json.dumps([p.as_dict() for p in exc.problems], allow_nan=False)


def assessed_fields(scorer: Rubric | Composite) -> Iterator[tuple[tuple[str, ...], str, Assessed]]:
    """(path to the criterion's facts, field name, spec) of every assessed field."""
    parts = scorer.parts.items() if isinstance(scorer, Composite) else [("", scorer)]
    for part, table in parts:
        for category in table.doc.categories:
            for criterion in category.criteria:
                for name, spec in criterion.evidence.items():
                    if isinstance(spec, Assessed):
                        yield ((part, criterion.id) if part else (criterion.id,)), name, spec


def check_result(
    scorer: Rubric | Composite, result: Any, *, low: Decimal = ZERO, high: Decimal | None = None
) -> None:
    """A total within [low, high] (default [0, max]) and strict JSON, every accepted amount on its
    step."""
    high = result.max if high is None else high
    # With bonus or penalty sections the total may leave [0, max]; the base may not.
    within = result.total if getattr(result, "base", None) is None else result.base
    assert low <= within <= high, (within, low, high)
    strict_json(result.to_json())
    canonical = result.evidence if isinstance(scorer, Rubric) else None
    if canonical is None:
        return
    for path, name, spec in assessed_fields(scorer):
        if amount_count(spec) > MANY_AMOUNTS:
            continue
        allowed = set(spec.amounts())
        for entry in canonical[path[-1]][name]:
            assert entry.points in allowed, f"{path[-1]}.{name}: accepted {entry.points!r} (off-step)"


# --------------------------------------------------------------------------------------------
# Valid records for any loaded rubric (rubric.testing.evidence, bounded)
# --------------------------------------------------------------------------------------------


def valid_records(scorer: Rubric | Composite) -> st.SearchStrategy[dict[str, Any]]:
    """``rubric.testing.evidence(scorer)``: it draws amounts as steps, so even a mutated range of
    [0, 1e9] in steps of 0.0001 is drawn from without being listed."""
    return evidence(scorer)


# --------------------------------------------------------------------------------------------
# Byte-level mutations of rubric files
# --------------------------------------------------------------------------------------------

_NUMBER = re.compile(rb"(?<![\w.\-])-?[0-9]+(?:\.[0-9]+)?(?![\w.])")
_KEY = re.compile(rb"(?m)^[ \t]*(?:- )?([A-Za-z_][A-Za-z0-9_]*):")
_VALUE = re.compile(rb"(?m):[ ]+([^\n#]+)$")
_FILE_REF = re.compile(rb"table[0-9]\.yaml")


def _replace_match(data: bytes, pattern: re.Pattern[bytes], at: int, payload: bytes, group: int) -> bytes:
    found = list(pattern.finditer(data))
    if not found:
        return data
    m = found[at % len(found)]
    return data[: m.start(group)] + payload + data[m.end(group) :]


def _nest(style: bytes, depth: int) -> bytes:
    if style == b"flow-seq":
        return b"[" * depth + b"1" + b"]" * depth
    if style == b"flow-map":
        return b"{a: " * depth + b"1" + b"}" * depth
    # block style: a mapping nested depth levels on its own lines
    return b"\n" + b"".join(b"  " * (i + 20) + b"a:\n" for i in range(depth)) + b"  " * (depth + 20) + b"1"


def _line_edit(data: bytes, at: int, to: int, op: str) -> bytes:
    lines = data.split(b"\n")
    n = len(lines)
    i, j = at % n, to % n
    if op == "delete-line":
        del lines[i]
    elif op == "duplicate-line":
        lines.insert(to % (n + 1), lines[i])
    elif op == "swap-lines":
        lines[i], lines[j] = lines[j], lines[i]
    else:  # indent-line
        lines[i] = b" " * (to % 200 + 1) + lines[i]
    return b"\n".join(lines)


def _before_value(data: bytes, at: int, payload: bytes) -> bytes:
    found = list(_VALUE.finditer(data))
    if not found:
        return data
    start = found[at % len(found)].start(1)
    return data[:start] + payload + data[start:]


def _flip(data: bytes, at: int, to: int, masks: bytes) -> bytes:
    out = bytearray(data)
    for k, mask in enumerate(masks):
        if out:
            out[(at + k * (to + 1)) % len(out)] ^= mask or 1
    return bytes(out)


_EDITS: dict[str, Callable[[bytes, int, int, bytes], bytes]] = {
    **{
        op: (lambda data, at, to, payload, op=op: _line_edit(data, at, to, op))
        for op in ("delete-line", "duplicate-line", "swap-lines", "indent-line")
    },
    "number": lambda data, at, to, payload: _replace_match(data, _NUMBER, at, payload, 0),
    "key": lambda data, at, to, payload: _replace_match(data, _KEY, at, payload, 1),
    "value": lambda data, at, to, payload: _replace_match(data, _VALUE, at, payload, 1),
    "before-value": lambda data, at, to, payload: _before_value(data, at, payload),
    "nest": lambda data, at, to, payload: _replace_match(data, _VALUE, at, _nest(payload, to), 1),
    "file-ref": lambda data, at, to, payload: _replace_match(data, _FILE_REF, at, payload, 0),
    "insert": lambda data, at, to, payload: (
        data[: at % (len(data) + 1)] + payload + data[at % (len(data) + 1) :]
    ),
    "truncate": lambda data, at, to, payload: data[: at % (len(data) + 1)],
    "flip": _flip,
}


@dataclass(frozen=True)
class Mutation:
    """One edit of a file's bytes; indexes wrap around, so any mutation applies to any file."""

    op: str
    at: int = 0
    to: int = 0
    payload: bytes = b""

    def apply(self, data: bytes) -> bytes:
        """The edited bytes."""
        return _EDITS[self.op](data, self.at, self.to, self.payload)


def _b(*items: str) -> list[bytes]:
    return [i.encode("utf-8") for i in items]


NUMBER_TEXT = st.one_of(
    st.sampled_from(
        _b(
            "0",
            "1",
            "-1",
            "-5",
            "0.5",
            "0.25",
            "0.00001",
            "99999999999",
            "1e400",
            "1E+999999999",
            "1e-999999999",
            "-1E+999999999",
            "1e1000000000000000000",  # an exponent beyond what Decimal can hold
            "1e5000",  # an integer field of 5001 digits
            "-1e-9999999999999999999999999",
            "9" * 39,
            "9" * 41,
            "9" * 5000,
            ".nan",
            "NaN",
            ".inf",
            "-.inf",
            "Infinity",
            '"5"',
            "five",
            "true",
            "null",
            "012",
            "0x1F",
            "1_000",
            "1:30",
            "2013-03-26",
            "+3",
            "3.",
            ".5",
            "1e5",
        )
    ),
    st.integers().map(lambda i: str(i).encode()),
    st.decimals(allow_nan=True, allow_infinity=True).map(lambda d: str(d).encode()),
)

VALUE_TEXT = st.one_of(
    NUMBER_TEXT,
    st.sampled_from(
        _b(
            "abc",
            "中文",
            "''",
            '""',
            '"1e5"',
            '"1.5e3"',
            '".5"',
            '"yes"',
            '"null"',
            '"~"',
            "~",
            "[]",
            "{}",
            "[1, 2]",
            "{a: 1}",
            "[a, b]",
            "yes",
            "on",
            "-",
            "*a",
            "&a 1",
            "&a [1, 2]",
            "!!str 5",
            "!!int 5",
            "!!float 5",
            "!!bool yes",
            "!!binary aGVsbG8=",
            "!!set {a, b}",
            "!!omap [{a: 1}]",
            "!!python/object/apply:os.system ['true']",
            "!!python/name:os.system",
            "!!python/object:builtins.dict {}",
            "!foo bar",
            "!<tag:yaml.org,2002:str> x",
            r'"\0"',
            r'"\x00"',
            r'"\x1b"',
            r'"\ud800"',
            r'"\U0010FFFF"',
            r'"\N\L\P"',
            r'"tab\there"',
            "|\n  block",
            ">-\n  folded",
            "{? [a]: b}",
            "[a, b]: c",
            "<<: {a: 1}",
            "'" + "长" * 3000 + "'",
        )
    ),
    st.text(max_size=20).map(lambda s: json.dumps(s, ensure_ascii=False).encode("utf-8", "surrogatepass")),
)

KEYS = sorted(
    {m.group(1) for data in SOURCES.values() for m in _KEY.finditer(data)}
    | set(_b("standrd", "pionts", "rule", "type", "when", "not", "all", "any", "field", "is", "has"))
)
KEY_TEXT = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(_b("<<", '"a b"', "? x", "[x]", "1", "true", "null", "'id'", "中文")),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).map(str.encode),
)

INSERT_TEXT = st.one_of(
    st.sampled_from(
        [
            b"&a ",
            b"*a ",
            b"*a\n",
            b"!!python/object:builtins.dict ",
            b"!!python/object/apply:os.system ['true'] ",
            b"!!str ",
            b"!foo ",
            b"---\n",
            b"...\n",
            b"%YAML 1.1\n",
            b"%TAG ! tag:example.com,2000:\n",
            b"\t",
            b"\r",
            b"\x00",
            b"\x1b",
            b"\xff",
            b"\xc3",
            b"\xe9",
            b"\xed\xa0\x80",  # a UTF-8-encoded surrogate (invalid UTF-8)
            b"\xf4\x90\x80\x80",
            b"\xc0\x80",
            b"\xef\xbb\xbf",
            b"\xfe\xff",
            b"\n- ",
            b": ",
            b"{",
            b"[",
            b'"',
            b"'",
            b"#",
        ]
    ),
    st.binary(min_size=1, max_size=16),
)

FILE_REFS = st.sampled_from(
    _b(
        "table1.yaml",
        "table2.yaml",
        "table3.yaml",
        "department.yaml",
        "missing.yaml",
        "table1.cases.yaml",
        ".",
        "..",
        "/",
        '""',
        "../rubrics/table1.yaml",
        "a" * 300 + ".yaml",
        r'"tab\0le1.yaml"',
        r'"\ud800.yaml"',
    )
)

INDEX = st.integers(0, 2**16)


NO_PAYLOAD = st.just(b"")


def _mutation(op: str, payload: st.SearchStrategy[bytes] = NO_PAYLOAD) -> st.SearchStrategy[Mutation]:
    return st.builds(Mutation, st.just(op), INDEX, INDEX, payload)


MUTATION = st.one_of(
    _mutation("delete-line"),
    _mutation("duplicate-line"),
    _mutation("swap-lines"),
    _mutation("indent-line"),
    _mutation("number", NUMBER_TEXT),
    _mutation("key", KEY_TEXT),
    _mutation("value", VALUE_TEXT),
    _mutation("before-value", INSERT_TEXT),
    st.builds(
        Mutation,
        st.just("nest"),
        INDEX,
        st.sampled_from([10, 63, 64, 65, 200, 1000, 20_000]),
        st.sampled_from([b"flow-seq", b"flow-map", b"block"]),
    ),
    _mutation("file-ref", FILE_REFS),
    _mutation("insert", INSERT_TEXT),
    _mutation("truncate"),
    _mutation("flip", st.binary(min_size=1, max_size=8)),
)
MUTATIONS = st.lists(MUTATION, min_size=1, max_size=4)


def mutate(data: bytes, mutations: list[Mutation]) -> bytes:
    for mutation in mutations:
        data = mutation.apply(data)
    return data


def check_no_branch(scorer: Rubric | Composite, exc: rubric.EvidenceError) -> None:
    """The one way a valid record of a (mutated) composite may be refused."""
    assert isinstance(scorer, Composite), exc
    assert exc.code == "no-branch", exc


def score_loaded(scorer: Rubric | Composite, data: st.DataObject) -> None:
    """A loaded (mutated) rubric scores a valid record, or refuses a composite record it cannot
    route (no-branch): nothing else."""
    record = data.draw(valid_records(scorer), label="record")
    try:
        result = scorer.score(record)
    except rubric.EvidenceError as exc:
        # A mutated composite may lose the branch a valid record needs (documented: no-branch).
        check_no_branch(scorer, exc)
        return
    if isinstance(scorer, Rubric):
        check_result(scorer, result, low=scorer.doc.floor, high=scorer.doc.upper)
        # Rubric.to_yaml: "loading it gives a rubric that scores identically".
        again = rubric.Rubric.from_bytes(scorer.to_yaml().encode("utf-8"))
        assert again.score(record).total == result.total
    else:
        check_result(scorer, result)
    assert scorer.score(record, audit=False).total == result.total


@pytest.fixture(scope="module")
def rubric_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the seed rubrics, where a mutated composite is written beside its parts."""
    folder = tmp_path_factory.mktemp("rubrics")
    for name in (*TABLE_NAMES, "department", "table1.cases"):
        shutil.copy(RUBRICS / f"{name}.yaml", folder / f"{name}.yaml")
    return folder


@given(name=st.sampled_from(TABLE_NAMES), mutations=MUTATIONS, data=st.data())
def test_a_mutated_table_loads_and_scores_or_raises_rubric_error(
    name: str, mutations: list[Mutation], data: st.DataObject
) -> None:
    raw = mutate(SOURCES[name], mutations)
    try:
        loaded = rubric.Rubric.from_bytes(raw)
    except rubric.RubricError as exc:
        check_error(exc)
        return
    score_loaded(loaded, data)


@given(mutations=MUTATIONS, data=st.data())
def test_a_mutated_composite_loads_and_scores_or_raises_rubric_error(
    rubric_dir: Path, mutations: list[Mutation], data: st.DataObject
) -> None:
    raw = mutate(SOURCES["department"], mutations)
    path = rubric_dir / "department.yaml"
    path.write_bytes(raw)  # on disk too, so that a part naming department.yaml names this file
    with pytest.raises(rubric.RubricError):
        rubric.Rubric.from_bytes(raw, file=str(path))  # a composite (or broken) is never a Rubric
    try:
        loaded = load_document(parse(raw, file=str(path)))
    except rubric.RubricError as exc:
        check_error(exc)
        return
    score_loaded(loaded, data)


@given(raw=st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode)))
def test_random_bytes_never_load_and_raise_rubric_error(raw: bytes) -> None:
    try:
        rubric.Rubric.from_bytes(raw)
    except rubric.RubricError as exc:
        check_error(exc)
    else:
        raise AssertionError("random bytes loaded as a rubric")


# --------------------------------------------------------------------------------------------
# Evidence records
# --------------------------------------------------------------------------------------------


def vocabulary(scorer: Rubric | Composite) -> list[str]:
    """Names that mean something to this rubric: ids, fields, items, options, part names."""
    words = {"points", "reason", "unit", "evidence", "", " "}
    tables = scorer.parts.items() if isinstance(scorer, Composite) else [("", scorer)]
    if isinstance(scorer, Composite):
        words |= set(scorer.parts) | set(scorer.doc.evidence)
    for _, table in tables:
        for category in table.doc.categories:
            for criterion in category.criteria:
                words.add(criterion.id)
                for name, spec in criterion.evidence.items():
                    words.add(name)
                    words.update(getattr(spec, "items", ()))
                    words.update(getattr(spec, "options", ()))
    return sorted(words)


SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
SPECIAL_DECIMALS = [
    Decimal("NaN"),
    Decimal("-NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("1E+999999999"),
    Decimal("-1E+999999999"),
    Decimal("1E-999999999"),
    Decimal("-0"),
    Decimal("0.5"),
    Decimal("2.5"),
    Decimal("3.0"),
    Decimal("3.25"),
    Decimal("4.5000"),
    Decimal("1E+2"),
]


@dataclass(frozen=True)
class Huge:
    """Stands for an integer too long to print (hypothesis prints what it draws; Python refuses to
    turn an int of over 4300 digits into text): ``real`` swaps in the integer itself."""

    sign: int = 1

    def __repr__(self) -> str:
        return "-10**5000" if self.sign < 0 else "10**5000"


def real(value: Any) -> Any:
    """A drawn value with every Huge replaced by its integer (a fresh copy)."""
    if isinstance(value, Huge):
        return value.sign * 10**5000
    if isinstance(value, dict):
        return {k: real(v) for k, v in value.items()}
    if isinstance(value, list):
        return [real(v) for v in value]
    return copy.deepcopy(value)


HUGE_INTS = [
    2**63,
    -(2**63),
    10**40,
    10**41,
    10**4000,
    -(10**4000),
    1_000_000,
    1_000_001,
    10**9,
    Huge(),
    Huge(-1),
]


def json_like(words: list[str]) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values (as YAML or json with parse_float=Decimal would give), biased
    towards the names and numbers this rubric cares about."""
    text = st.one_of(
        st.sampled_from(words),
        st.text(max_size=12),
        st.lists(st.one_of(st.characters(), SURROGATE), min_size=1, max_size=6).map("".join),
        st.sampled_from(["是", "true", "3", " 3 ", "３", "1_000", "a\x00b", "长" * 2001]),
    )
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(HUGE_INTS),
        st.decimals(),
        st.sampled_from(SPECIAL_DECIMALS),
        text,
    )
    keys = st.one_of(text, st.sampled_from(words))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(keys, inner, max_size=4),
            st.fixed_dictionaries({"points": inner, "reason": inner}),
        ),
        max_leaves=8,
    )


def locations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every node's path inside a record (the root included)."""
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from locations(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from locations(child, (*path, index))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@dataclass(frozen=True)
class Edit:
    """One edit of a record: replace a node, delete it, add a key or item beside it, rename it."""

    op: str
    at: int
    key: Any = None
    value: Any = None

    def apply(self, record: Any) -> Any:
        paths = list(locations(record))
        path = paths[self.at % len(paths)]
        if self.op == "replace":
            if not path:
                return real(self.value)
            _at(record, path[:-1])[path[-1]] = real(self.value)
        elif self.op == "delete" and path:
            del _at(record, path[:-1])[path[-1]]
        elif self.op == "add":
            node = _at(record, path)
            if isinstance(node, dict):
                node[self.key] = real(self.value)
            elif isinstance(node, list):
                node.append(real(self.value))
        elif self.op == "rename" and path:
            parent = _at(record, path[:-1])
            if isinstance(parent, dict) and self.key not in parent:
                parent[self.key] = parent.pop(path[-1])
        return record


def edits(words: list[str]) -> st.SearchStrategy[list[Edit]]:
    value = json_like(words)
    key = st.one_of(st.sampled_from(words), st.text(max_size=8), SURROGATE)
    edit = st.builds(
        Edit, st.sampled_from(["replace", "replace", "delete", "add", "rename"]), INDEX, key, value
    )
    return st.lists(edit, min_size=1, max_size=4)


def edit_record(record: Any, changes: list[Edit]) -> Any:
    record = copy.deepcopy(record)
    for change in changes:
        record = change.apply(record)
    return record


def check_scoring(scorer: Rubric | Composite, record: Any) -> None:
    """A total within [0, max], or EvidenceError: nothing else."""
    try:
        result = scorer.score(record)
    except rubric.EvidenceError as exc:
        check_error(exc)
        return
    check_result(scorer, result)


WORDS = {name: vocabulary(scorer) for name, scorer in SCORERS.items()}


def _example_scorer(file: str) -> str:
    return file.split("-", 1)[0]


@given(
    file=st.sampled_from(EXAMPLE_FILES),
    data=st.data(),
)
def test_a_mutated_example_record_scores_or_raises_evidence_error(file: str, data: st.DataObject) -> None:
    name = _example_scorer(file)
    record = rubric.load_evidence(EXAMPLES / file).data
    changes = data.draw(edits(WORDS[name]), label="edits")
    check_scoring(SCORERS[name], edit_record(record, changes))


@given(name=st.sampled_from(sorted(SCORERS)), data=st.data())
def test_a_mutated_generated_record_scores_or_raises_evidence_error(name: str, data: st.DataObject) -> None:
    scorer = SCORERS[name]
    record = data.draw(evidence(scorer), label="record")
    changes = data.draw(edits(WORDS[name]), label="edits")
    check_scoring(scorer, edit_record(record, changes))


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(data=st.data())
def test_a_mutated_record_of_a_random_rubric_scores_or_raises_evidence_error(data: st.DataObject) -> None:
    scorer = data.draw(rubrics(), label="rubric")
    record = data.draw(evidence(scorer), label="record")
    changes = data.draw(edits(vocabulary(scorer)), label="edits")
    check_scoring(scorer, edit_record(record, changes))


@given(name=st.sampled_from(sorted(SCORERS)), value=json_like(WORDS["table1"]))
def test_any_json_like_value_as_a_whole_record_scores_or_raises_evidence_error(name: str, value: Any) -> None:
    check_scoring(SCORERS[name], real(value))


# --------------------------------------------------------------------------------------------
# Batch readers
# --------------------------------------------------------------------------------------------


def json_text(value: Any) -> str:
    """JSON text of a JSON-like value as a careless producer would write it: Decimals as numbers
    (NaN and Infinity as bare tokens), huge integers in full, lone surrogates as \\u escapes."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if value.is_nan():
            return "NaN"
        if value.is_infinite():
            return "Infinity" if value > 0 else "-Infinity"
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value) if value.bit_length() < 10_000 else "9" * 5000
    if isinstance(value, Huge):
        return ("-" if value.sign < 0 else "") + "9" * 5000
    return json.dumps(value)


def lines_of(text: str) -> list[str]:
    """JSON Lines are separated by \\n alone (str.splitlines would also split at U+2028, \\x1e, …,
    which JSON leaves unescaped inside strings)."""
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n") if text else []


def line_count(raw: bytes) -> int:
    """Lines as a binary file iterates them."""
    return raw.count(b"\n") + (1 if raw and not raw.endswith(b"\n") else 0)


def check_batch(scorer: Rubric | Composite, source: Path, fmt: str) -> Summary | None:
    """Run a batch: only documented errors escape, the summary balances, the outputs are strict
    UTF-8 JSON (or CSV), one line per scored / rejected record."""
    out = source.with_name("out." + fmt)
    errors = source.with_name("errors.jsonl")
    for stale in (out, errors):
        stale.unlink(missing_ok=True)
    try:
        items = list(read_items(source, scorer))
    except rubric.RubricEngineError as exc:
        check_error(exc)
        items = None
    try:
        summary = run_batch(scorer, source, out, errors=errors, fmt=fmt)  # type: ignore[arg-type]
    except rubric.RubricEngineError as exc:
        check_error(exc)
        return None
    assert items is not None
    assert summary.balanced, summary
    assert summary.read == len(items)
    results = lines_of(out.read_bytes().decode("utf-8"))
    rejects = lines_of(errors.read_bytes().decode("utf-8"))
    assert len(rejects) == summary.rejected
    if fmt == "jsonl":
        assert len(results) == summary.scored
        for line in results:
            body = strict_json(line)
            assert ZERO <= Decimal(body["total"]) <= Decimal(body["max"])
    else:
        rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
        assert len(rows) == summary.scored + 1
    for line in rejects:
        assert strict_json(line)["problems"]
    return summary


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("batch")


@given(
    name=st.sampled_from(sorted(SCORERS)),
    suffix=st.sampled_from([".jsonl", ".csv", ".yaml", ".json"]),
    raw=st.one_of(st.binary(max_size=3000), st.text(max_size=300).map(str.encode)),
    fmt=st.sampled_from(["jsonl", "csv"]),
)
def test_random_bytes_as_a_batch_file_raise_only_documented_errors(
    batch_dir: Path, name: str, suffix: str, raw: bytes, fmt: str
) -> None:
    source = batch_dir / f"random{suffix}"
    source.write_bytes(raw)
    summary = check_batch(SCORERS[name], source, fmt)
    if summary is not None and suffix == ".jsonl":
        assert summary.read == line_count(raw), "a line of the input was lost"


def _load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_table1", ROOT / "benchmarks" / "bench_table1.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_pool(count: int = 8) -> dict[str, list[Any]]:
    """Valid records per scorer: the shipped examples and seeded random ones (benchmarks'
    ``generate_records``); a small fixed pool keeps each fuzzed batch file cheap to shrink."""
    generate = _load_bench().generate_records
    pool: dict[str, list[Any]] = {name: generate(TABLES[name].doc, count) for name in TABLE_NAMES}
    pool["department"] = [
        {"has_window": i % 2 == 0, "table1": one, "table2": two}
        for i, (one, two) in enumerate(zip(pool["table1"], pool["table2"], strict=False))
    ]
    for file in EXAMPLE_FILES:
        pool[_example_scorer(file)].append(rubric.load_evidence(EXAMPLES / file).data)
    return pool


POOL = record_pool()
ALL_WORDS = sorted(set().union(*WORDS.values()))


@dataclass(frozen=True)
class Line:
    """One line of a fuzzed JSON Lines file: an edited pool record (bare or in an envelope), or
    raw bytes."""

    kind: str
    base: int = 0
    edits: tuple[Edit, ...] = ()
    extra: Any = None

    def render(self, name: str) -> bytes:
        if self.kind == "raw":
            return bytes(self.extra).replace(b"\n", b" ")
        pool = POOL[name]
        record = edit_record(pool[self.base % len(pool)], list(self.edits))
        if self.kind == "envelope":
            record = {"unit": self.extra, "evidence": record}
        return json_text(record).encode("utf-8")


LINE_EDITS = st.lists(
    st.builds(
        Edit,
        st.sampled_from(["replace", "delete", "add", "rename"]),
        INDEX,
        st.one_of(st.sampled_from(ALL_WORDS), SURROGATE),
        json_like(ALL_WORDS),
    ),
    max_size=2,
).map(tuple)
RAW_LINES = st.one_of(
    st.sampled_from(
        [
            b"",
            b" ",
            b"\t",
            b"\r",
            b"{",
            b"[1,",
            b"NaN",
            b'{"a":1,"a":2}',
            b"[" * 5000,
            b"\xef\xbb\xbf{}",
            b"\xff",
        ]
    ),
    st.binary(max_size=40),
)
UNITS = st.one_of(st.sampled_from(["单位甲", "=cmd()", "-1", "", 7, None]), st.text(max_size=6), SURROGATE)
LINE = st.one_of(
    st.builds(Line, st.just("record"), INDEX, LINE_EDITS),
    st.builds(Line, st.just("envelope"), INDEX, LINE_EDITS, UNITS),
    st.builds(Line, st.just("raw"), extra=RAW_LINES),
)


@given(
    name=st.sampled_from(sorted(SCORERS)),
    lines=st.lists(LINE, min_size=1, max_size=12),
    end=st.sampled_from([b"\n", b""]),
    fmt=st.sampled_from(["jsonl", "csv"]),
)
def test_mutated_json_lines_balance_and_raise_only_documented_errors(
    batch_dir: Path, name: str, lines: list[Line], end: bytes, fmt: str
) -> None:
    scorer = SCORERS[name]
    raw = b"\n".join(line.render(name) for line in lines) + end
    source = batch_dir / "mutated.jsonl"
    source.write_bytes(raw)
    summary = check_batch(scorer, source, fmt)
    assert summary is not None, "a JSON Lines file is read line by line, never refused whole"
    assert summary.read == line_count(raw), "a line of the input was lost"


def _cell_values(spec: FieldSpec) -> list[str]:
    names = [*getattr(spec, "items", ()), *getattr(spec, "options", ())]
    return [
        "",
        "-",
        "true",
        "false",
        "TRUE",
        "0",
        "3",
        "3.5",
        "-1",
        "1e5",
        "9" * 39,
        "9" * 5000,
        "3:理由",
        "5:;4:x",
        "abc:def",
        " ",
        "=HYPERLINK()",
        ";".join(names),
        *names,
    ]


@st.composite
def csv_files(draw: st.DrawFn, scorer: Rubric | Composite) -> bytes:
    """CSV text with no quoted newline, so one record per physical line after the header."""
    columns = csv_columns(scorer)
    names = draw(st.lists(st.sampled_from(sorted(columns)), unique=True, max_size=len(columns)))
    names = [c for c in sorted(columns) if c not in names] if draw(st.booleans()) else names
    header = ["unit", *names]
    if draw(st.booleans()):
        header.append(draw(st.sampled_from(["T9-99.x", "未知列", "unit"])))
    cells = {c: _cell_values(columns[c][1]) if c in columns else ["x"] for c in header}
    cells["unit"] = ["u", "", "=1+1", "单位"]
    text = st.text(alphabet=st.characters(exclude_characters='\r\n"', exclude_categories=["Cs"]), max_size=8)
    rows = draw(st.integers(0, 400))
    seed = draw(st.integers(0, 2**32))
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    odd = draw(
        st.lists(
            st.tuples(st.integers(0, max(rows - 1, 0)), st.integers(0, len(header) - 1), text), max_size=3
        )
    )
    table = [[rng.choice(cells[c]) for c in header] for _ in range(rows)]
    for r, c, value in odd:
        if table:
            table[r][c] = value
    writer.writerows(table)
    raw = out.getvalue().encode("utf-8")
    if draw(st.booleans()):
        corrupt = draw(st.integers(0, max(len(raw) - 1, 0)))
        raw = raw[:corrupt] + draw(st.sampled_from([b"\xff", b"\xe9", b"\xed\xa0\x80"])) + raw[corrupt:]
    return raw


@given(name=st.sampled_from(sorted(SCORERS)), data=st.data(), fmt=st.sampled_from(["jsonl", "csv"]))
def test_csv_with_the_rubrics_columns_loses_no_line(
    batch_dir: Path, name: str, data: st.DataObject, fmt: str
) -> None:
    scorer = SCORERS[name]
    raw = data.draw(csv_files(scorer), label="file")
    source = batch_dir / "columns.csv"
    source.write_bytes(raw)
    summary = check_batch(scorer, source, fmt)
    if summary is not None:
        # One record per physical line after the header (no quoted newlines are written).
        assert summary.read == line_count(raw) - 1, (
            f"{line_count(raw) - 1} lines after the header, read {summary.read}"
        )


# --------------------------------------------------------------------------------------------
# Minimal reproducers of the defects found by the fuzzers above (each fails until fixed)
# --------------------------------------------------------------------------------------------


def test_reproducer_composite_part_path_with_a_nul_byte_raises_rubric_error(rubric_dir: Path) -> None:
    raw = SOURCES["department"].replace(b"table2: table2.yaml", b'table2: "tab\\0le2.yaml"')
    with pytest.raises(rubric.RubricError):
        load_document(parse(raw, file=str(rubric_dir / "department.yaml")))


def test_reproducer_a_composite_naming_itself_as_a_part_raises_rubric_error(tmp_path: Path) -> None:
    for name in TABLE_NAMES:
        shutil.copy(RUBRICS / f"{name}.yaml", tmp_path / f"{name}.yaml")
    path = tmp_path / "department.yaml"
    path.write_bytes(SOURCES["department"].replace(b"table2: table2.yaml", b"table2: department.yaml"))
    with pytest.raises(rubric.RubricError):
        rubric.load(path)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b'{"\\ud800": 1}\n', id="key"),
        pytest.param(b'{"unit": "\\udc00", "evidence": {}}\n', id="unit"),
    ],
)
def test_reproducer_a_lone_surrogate_escape_in_json_lines_is_a_rejected_record(
    tmp_path: Path, line: bytes
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(line)
    summary = run_batch(TABLES["table1"], source, tmp_path / "out.jsonl")
    assert (summary.read, summary.rejected) == (1, 1)


HUGE_EXPONENT = b"1e1000000000000000000"  # 21 characters: under the 40-character limit


def test_reproducer_a_yaml_number_with_a_huge_exponent_in_a_rubric_raises_rubric_error() -> None:
    raw = SOURCES["table1"].replace(b"points: 100", b"points: " + HUGE_EXPONENT, 1)
    with pytest.raises(rubric.RubricError):
        rubric.Rubric.from_bytes(raw)


def test_reproducer_a_yaml_number_with_a_huge_exponent_in_evidence_raises_evidence_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "evidence.yaml"
    path.write_bytes(b"T1-01: {sound: " + HUGE_EXPONENT + b"}\n")
    with pytest.raises(rubric.EvidenceError):
        rubric.load_evidence(path)


def test_reproducer_a_json_line_with_a_huge_exponent_is_a_rejected_record(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"T1-01": {"sound": ' + HUGE_EXPONENT + b"}}\n")
    summary = run_batch(TABLES["table1"], source, tmp_path / "out.jsonl")
    assert (summary.read, summary.rejected) == (1, 1)


def test_reproducer_an_integer_field_written_1e5000_is_refused_or_its_results_can_be_written() -> None:
    raw = SOURCES["table1"].replace(b"number: 1\n", b"number: 1e5000\n", 1)
    try:
        loaded = rubric.Rubric.from_bytes(raw)
    except rubric.RubricError:
        return
    record = rubric.load_evidence(EXAMPLES / "table1-typical.yaml").data
    strict_json(loaded.score(record).to_json())


def test_reproducer_an_integer_field_written_1e100000000_is_refused_in_bounded_time(tmp_path: Path) -> None:
    """11 characters of YAML must not cost minutes and hundreds of MB (an int of 10**8 digits)."""
    path = tmp_path / "big-year.yaml"
    path.write_bytes(SOURCES["table1"].replace(b"year: 2013", b"year: 1e100000000", 1))
    script = "import sys, rubric\ntry:\n    rubric.load(sys.argv[1])\nexcept rubric.RubricError:\n    pass\n"
    try:
        subprocess.run([sys.executable, "-c", script, str(path)], timeout=5, check=True, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("loading a rubric with 'year: 1e100000000' took over 5 seconds")


def test_reproducer_a_unit_with_a_carriage_return_stays_one_row_of_csv_output(tmp_path: Path) -> None:
    record = rubric.load_evidence(EXAMPLES / "table1-typical.yaml").data
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"unit": "单位\r甲", "evidence": record}, ensure_ascii=False) + "\n", "utf-8"
    )
    out = tmp_path / "out.csv"
    run_batch(TABLES["table1"], source, out, fmt="csv")
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8"), newline="")))
    assert len(rows) == 2, rows  # the header and one result, not ['单位'] and ['甲', '1', '83', …]
    assert rows[1][2] == "83"  # 表一 typical, worked out in tests/test_cli.py


@pytest.mark.parametrize("text", ["1e5", "1.5e3", "2E+1"])
def test_reproducer_to_yaml_of_a_rubric_whose_title_looks_like_a_number_loads_again(text: str) -> None:
    raw = SOURCES["table1"].replace(b"title: ", f'title: "{text}" #'.encode(), 1)
    loaded = rubric.Rubric.from_bytes(raw)
    again = rubric.Rubric.from_bytes(loaded.to_yaml().encode("utf-8"))
    assert again.doc.title == text


def test_reproducer_a_csv_count_of_5000_digits_is_a_rejected_record(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"unit,T2-01.unauthorised_changes\nu1,{'9' * 5000}\n", encoding="utf-8")
    summary = run_batch(TABLES["table2"], source, tmp_path / "out.jsonl")
    assert (summary.read, summary.rejected) == (1, 1)


def test_reproducer_csv_rows_near_an_invalid_utf8_byte_are_not_silently_dropped(tmp_path: Path) -> None:
    columns = list(csv_columns(TABLES["table1"]))
    rows = "".join(f"u{i}," + ",".join("false" for _ in columns) + "\n" for i in range(1000))
    raw = ("unit," + ",".join(columns) + "\n" + rows).encode("utf-8")
    cut = raw.index(b"u500,")
    source = tmp_path / "in.csv"
    source.write_bytes(raw[:cut] + b"\xff" + raw[cut:])
    summary = run_batch(TABLES["table1"], source, tmp_path / "out.jsonl")
    assert summary.read == 1000, summary  # 1000 lines after the header: each scored or rejected


def test_reproducer_an_assessed_amount_of_1e_minus_999999999_is_off_step() -> None:
    data = {
        "id": "r",
        "version": "1",
        "title": "t",
        "points": 10,
        "categories": [
            {
                "id": "K",
                "name": "k",
                "criteria": [
                    {
                        "id": "C1",
                        "number": 1,
                        "content": "c",
                        "standard": "s",
                        "points": 10,
                        "evidence": {"a": {"type": "assessed", "label": "l", "range": [0, 5]}},
                        "rules": [{"deduct_assessed": "a", "clause": "酌情扣分"}],
                    }
                ],
            }
        ],
    }
    scorer = rubric.Rubric.from_data(data)
    with pytest.raises(rubric.EvidenceError) as caught:
        scorer.score({"C1": {"a": [{"points": Decimal("1E-999999999"), "reason": "r"}]}})
    assert caught.value.code == "off-step"


# --------------------------------------------------------------------------------------------
# Static analysis of random rubrics with large domains: bounded memory, sound ranges
# --------------------------------------------------------------------------------------------

ANALYSIS_MEMORY = 64 * 1024 * 1024  # peak traced bytes for check + partial_score of one rubric


@settings(deadline=timedelta(seconds=60))  # a hang guard, not a speed target
@given(rubrics(large_domains=True), st.data())
def test_check_and_partial_score_of_a_large_domain_rubric_stay_bounded_and_sound(
    scorer: Rubric, data: st.DataObject
) -> None:
    record = data.draw(evidence(scorer))
    known: dict[str, Any] = {}
    for cid, facts in record.items():
        if not isinstance(facts, dict):  # the rubric's own facts sit at the top of a record
            continue
        keep = data.draw(st.sets(st.sampled_from(sorted(facts))), label=f"{cid} facts kept")
        if keep:
            known[cid] = {name: facts[name] for name in keep}
    tracemalloc.start()
    try:
        problems = rubric.check(scorer)
        partial = rubric.partial_score(scorer, known)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < ANALYSIS_MEMORY
    assert len(problems) <= MAX_FINDINGS
    json.dumps([p.as_dict() for p in problems], allow_nan=False)
    # Facts still open may take the record's values, so its score lies within what is possible.
    total = scorer.score(record).total
    assert partial.ranges.total[0] <= total <= partial.ranges.total[1]
    for criterion in scorer.score(record).criteria():
        reach = partial.ranges.criteria[criterion.id]
        assert reach.low <= criterion.score <= reach.high, criterion.id
