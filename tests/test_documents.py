"""The one YAML/JSON loader against hostile and sloppy input.

Every expectation here is written from docs/coercion.md ("Reading YAML and JSON files") and
docs/errors.md ("Reading files"), not from what the code happens to do: nothing is constructed
from a tag, aliases are refused before they expand, depth and size are bounded without recursion,
duplicate keys are caught, scalars follow one table, and every refusal is a RubricEngineError with
a stable code (and, from a file, a line and column).
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric import EvidenceError, Limits, Problem, RubricEngineError, RubricError
from rubric._documents import parse, parse_json_line, read_file

SRC = Path(__file__).parent.parent / "src"

DEEP = 10_000

VALID_RUBRIC = """\
id: docs-test
version: "1"
title: 测试
points: 10
categories:
  - id: 组织领导
    name: 组织领导
    criteria:
      - id: C1
        number: 1
        content: 领导小组健全
        points: 10
        standard: 不健全扣2分
        evidence:
          sound: {type: flag, label: 领导小组机构健全}
        rules:
          - deduct: 2
            when: {not: sound}
            clause: 不健全扣2分
"""


def only_problem(exc: RubricEngineError) -> Problem:
    """The single problem of an error (the loader stops at the first thing it refuses)."""
    assert len(exc.problems) == 1, exc.problems
    return exc.problems[0]


def parse_code(raw: bytes | str, **kwargs: Any) -> str:
    """The code of the error raised when parsing ``raw`` (fails the test if nothing is raised)."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    with pytest.raises(RubricEngineError) as info:
        parse(data, **kwargs)
    return only_problem(info.value).code


def write(tmp_path: Path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


# --- tags: nothing is ever constructed --------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        'a: !!python/object/apply:os.system ["touch {marker}"]',
        "!!python/object/apply:os.system [touch {marker}]",
        'a: !!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
        'a: !!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
        'a: !!python/object/apply:subprocess.call {{args: ["touch", "{marker}"]}}',
        '- !!python/object/apply:os.system ["touch {marker}"]',
        '{{!!python/object/apply:os.system ["touch {marker}"]: 1}}',
    ],
)
def test_python_object_tags_are_refused_and_have_no_side_effect(tmp_path: Path, template: str) -> None:
    marker = tmp_path / "pwned"
    text = template.format(marker=marker)
    assert parse_code(text) == "yaml-tag"
    assert not marker.exists()


def test_python_object_apply_refused_through_the_public_loaders(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, "evil.yaml", f'a: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(RubricError) as as_rubric:
        rubric.load(path)
    assert only_problem(as_rubric.value).code == "yaml-tag"
    with pytest.raises(EvidenceError) as as_evidence:
        rubric.load_evidence(path)
    assert only_problem(as_evidence.value).code == "yaml-tag"
    assert not marker.exists()


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/name:os.system",
        "a: !!python/name:os.system ''",
        "a: !!python/module:os",
        "a: !foo bar",
        "a: !foo {b: 1}",
        "a: !foo [1]",
        "!foo a: 1",
        "%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1",
    ],
)
def test_name_module_and_unknown_tags_are_refused(text: str) -> None:
    assert parse_code(text) == "yaml-tag"


def test_yaml_tag_problem_names_the_tag_and_its_place() -> None:
    # docs/errors.md: t.yaml:1:4: yaml-tag: the tag tag:yaml.org,2002:python/name:os.system ...
    with pytest.raises(RubricError) as info:
        parse(b"a: !!python/name:os.system", file="t.yaml")
    problem = only_problem(info.value)
    assert problem.code == "yaml-tag"
    assert "tag:yaml.org,2002:python/name:os.system" in problem.message
    assert (problem.file, problem.line, problem.column) == ("t.yaml", 1, 4)


def test_no_unsafe_yaml_entry_point_anywhere_in_src() -> None:
    forbidden = [b"yaml.load(", b"full_load", b"FullLoader", b"UnsafeLoader", b"unsafe_load"]
    files = [p for p in SRC.rglob("*") if p.is_file()]
    assert any(p.name == "_documents.py" for p in files)
    hits = [
        f"{path.relative_to(SRC)}: {needle.decode()}"
        for path in files
        for needle in forbidden
        if needle in path.read_bytes()
    ]
    assert hits == []


# --- aliases ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x",
        "a: &x {c: 1}\nb: *x",
        "a: &x [1, 2]\nb: [*x]",
        "base: &b {c: 1}\nd:\n  <<: *b",
        "- &a x\n- *a",
        "&a [*a]",
        "&a {k: *a}",
    ],
)
def test_aliases_are_refused(text: str) -> None:
    assert parse_code(text) == "yaml-alias"


def test_alias_problem_has_the_documented_place_and_fix() -> None:
    # docs/errors.md: t.yaml:2:4: yaml-alias: aliases (*x) are not allowed (write the value out in full)
    with pytest.raises(RubricError) as info:
        parse(b"a: &x 1\nb: *x\n", file="t.yaml")
    problem = only_problem(info.value)
    assert problem.code == "yaml-alias"
    assert (problem.line, problem.column) == (2, 4)
    assert (
        str(problem) == "t.yaml:2:4: yaml-alias: aliases (*x) are not allowed (write the value out in full)"
    )


def _billion_laughs() -> bytes:
    """The classic: ten levels of ten aliases each, about 1 KB that expands to 10**10 strings."""
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*lol{level - 1}"] * 10)
        lines.append(f"lol{level}: &lol{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


def test_billion_laughs_is_refused_quickly_and_in_little_memory() -> None:
    document = _billion_laughs()
    assert 800 < len(document) < 1200
    parse(b"warm: up")  # keep one-time costs out of the measurement

    start = time.perf_counter()
    with pytest.raises(RubricError) as info:
        parse(document)
    elapsed = time.perf_counter() - start
    assert only_problem(info.value).code == "yaml-alias"
    assert elapsed < 0.050, f"took {elapsed * 1000:.1f} ms"

    tracemalloc.start()
    try:
        with pytest.raises(RubricError):
            parse(document)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"peak {peak} bytes"


def test_self_referencing_alias_cycle_is_refused() -> None:
    with pytest.raises(RubricError) as info:
        parse(b"&a [*a]")
    assert only_problem(info.value).code == "yaml-alias"


# --- depth -----------------------------------------------------------------------------------


def _bounded(call: Any, *args: Any, **kwargs: Any) -> RubricEngineError:
    """Run ``call``; it must raise a RubricEngineError (not RecursionError) within a few seconds."""
    start = time.perf_counter()
    with pytest.raises(RubricEngineError) as info:
        call(*args, **kwargs)
    assert time.perf_counter() - start < 5.0
    return info.value


def test_ten_thousand_nested_block_mappings() -> None:
    text = "".join(" " * level + "a:\n" for level in range(DEEP)) + " " * DEEP + "b: 1\n"
    raw = text.encode()
    # the document is ~50 MB; raise the size limit so that it is the depth bound that refuses it
    error = _bounded(parse, raw, limits=Limits(max_bytes=len(raw) + 1))
    assert only_problem(error).code == "too-deep"


def test_ten_thousand_nested_block_mappings_with_default_limits() -> None:
    text = "".join(" " * level + "a:\n" for level in range(DEEP)) + " " * DEEP + "b: 1\n"
    _bounded(parse, text.encode())


DEEP_COLLECTIONS = [
    pytest.param("[" * DEEP + "]" * DEEP, id="flow-sequences"),
    pytest.param("a: " + "[" * DEEP + "1" + "]" * DEEP, id="flow-sequences-in-mapping"),
    pytest.param("[" * 1001 + "]" * 1001, id="flow-sequences-1001"),
    pytest.param("{a: " * DEEP + "1" + "}" * DEEP, id="flow-mappings"),
    pytest.param("- " * DEEP + "x", id="block-sequences"),
]


@pytest.mark.parametrize("text", DEEP_COLLECTIONS)
def test_ten_thousand_nested_flow_and_block_collections_are_refused(text: str) -> None:
    _bounded(parse, text.encode())


@pytest.mark.parametrize("text", DEEP_COLLECTIONS)
def test_ten_thousand_nested_flow_and_block_collections_are_too_deep(text: str) -> None:
    # docs/coercion.md: nesting deeper than Limits.max_depth (64) -> error too-deep
    error = _bounded(parse, text.encode())
    assert only_problem(error).code == "too-deep"


def test_ten_thousand_nested_json_line() -> None:
    _bounded(parse_json_line, "[" * DEEP + "]" * DEEP)


def test_ten_thousand_nested_json_object_line() -> None:
    _bounded(parse_json_line, '{"a": ' * DEEP + "1" + "}" * DEEP)


def test_ten_thousand_nested_json_file_read_as_evidence(tmp_path: Path) -> None:
    path = write(tmp_path, "deep.json", '{"a": ' * DEEP + "1" + "}" * DEEP)
    error = _bounded(rubric.load_evidence, path)
    assert isinstance(error, EvidenceError)
    problem = only_problem(error)
    assert problem.code == "too-deep"
    assert problem.file == str(path)
    assert problem.line is not None
    assert problem.column is not None


def test_depth_limit_is_the_documented_default() -> None:
    assert Limits().max_depth == 64
    parse(("[" * 64 + "]" * 64).encode())
    assert parse_code("[" * 65 + "]" * 65) == "too-deep"


def test_too_deep_problem_has_the_documented_place() -> None:
    # docs/errors.md: t.yaml:1:257: too-deep: nesting deeper than 64 levels
    with pytest.raises(RubricError) as info:
        parse(("{a: " * 65 + "1" + "}" * 65).encode(), file="t.yaml")
    problem = only_problem(info.value)
    assert problem.code == "too-deep"
    assert (problem.line, problem.column) == (1, 257)
    assert "64" in problem.message


@pytest.mark.parametrize("depth", [1, 3, 10])
def test_depth_limit_is_configurable(depth: int) -> None:
    limits = Limits(max_depth=depth)
    within = ("[" * depth + "]" * depth).encode()
    parse(within, limits=limits)
    assert parse_code("[" * (depth + 1) + "]" * (depth + 1), limits=limits) == "too-deep"
    nested_mapping = (
        "".join("  " * level + "a:\n" for level in range(depth + 1)) + "  " * (depth + 1) + "b: 1"
    )
    assert parse_code(nested_mapping, limits=limits) == "too-deep"


def test_depth_limit_is_configurable_through_the_public_loaders(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "a: {b: {c: 1}}\n")
    with pytest.raises(EvidenceError) as info:
        rubric.load_evidence(path, limits=Limits(max_depth=2))
    assert only_problem(info.value).code == "too-deep"
    assert rubric.load_evidence(path, limits=Limits(max_depth=3)).data == {"a": {"b": {"c": 1}}}
    with pytest.raises(RubricError) as as_rubric:
        rubric.load(path, limits=Limits(max_depth=2))
    assert only_problem(as_rubric.value).code == "too-deep"


# --- duplicate keys, complex keys, several documents -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2",
        "a: 1\nb: 2\na: 1",
        "{a: 1, a: 2}",
        "x:\n  a: 1\n  a: 2",
        "- {a: 1, a: 1}",
        '{"a": 1, "a": 2}',
        '{"x": {"a": [], "a": {}}}',
        "'a': 1\n\"a\": 2",
    ],
)
def test_duplicate_keys_in_yaml_and_json_documents(text: str) -> None:
    assert parse_code(text) == "duplicate-key"


def test_duplicate_key_problem_has_the_documented_place() -> None:
    # docs/errors.md: t.yaml:2:1: duplicate-key: key 'a' appears twice in the same mapping
    with pytest.raises(RubricError) as info:
        parse(b"a: 1\na: 2\n", file="t.yaml")
    problem = only_problem(info.value)
    assert str(problem).startswith("t.yaml:2:1: duplicate-key: ")
    assert "key 'a' appears twice in the same mapping" in problem.message


def test_duplicate_keys_in_a_json_evidence_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.json", '{"C1": {"sound": true, "sound": false}}')
    with pytest.raises(EvidenceError) as info:
        rubric.load_evidence(path)
    assert only_problem(info.value).code == "duplicate-key"


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        '{"a": 1, "a": 1}',
        '{"x": {"a": 1, "a": 2}}',
        '[{"a": 1}, {"b": 1, "b": 2}]',
    ],
)
def test_duplicate_keys_in_a_json_line(text: str) -> None:
    with pytest.raises(ValueError, match="twice"):
        parse_json_line(text)


@pytest.mark.parametrize("text", ["? [a]\n: 1", "? {a: 1}\n: 1", "{[1]: 2}"])
def test_complex_keys_are_refused(text: str) -> None:
    assert parse_code(text) == "yaml-complex-key"


def test_second_document_is_refused() -> None:
    assert parse(b"---\na: 1\n").data == {"a": 1}
    with pytest.raises(RubricError) as info:
        parse(b"a: 1\n---\nb: 2\n", file="t.yaml")
    problem = only_problem(info.value)
    assert problem.code == "yaml-multiple-documents"
    assert (problem.line, problem.column) == (2, 1)


# --- the scalar table of docs/coercion.md ----------------------------------------------------


@dataclass(frozen=True)
class Refused:
    code: str


def _row(written: str | bytes, expected: object, name: str) -> Any:
    return pytest.param(written, expected, id=name)


LONG_INT = "1" * 41
TOO_LARGE_BYTES = b"v: " + b"1" * 5_000_000

YAML_TABLE = [
    # the only booleans
    _row("true", True, "true"),
    _row("True", True, "True"),
    _row("TRUE", True, "TRUE"),
    _row("false", False, "false"),
    _row("False", False, "False"),
    _row("FALSE", False, "FALSE"),
    # YAML 1.1 booleans stay text
    _row("yes", "yes", "yes"),
    _row("no", "no", "no"),
    _row("on", "on", "on"),
    _row("off", "off", "off"),
    _row("y", "y", "y"),
    _row("n", "n", "n"),
    _row("Yes", "Yes", "Yes"),
    _row("NO", "NO", "NO"),
    _row("On", "On", "On"),
    _row("OFF", "OFF", "OFF"),
    # plain decimal digits are integers
    _row("3", 3, "3"),
    _row("-2", -2, "-2"),
    _row("0", 0, "0"),
    _row("1" * 40, int("1" * 40), "40-digit-int"),
    # every other integer spelling is text
    _row("012", "012", "012"),
    _row("0o12", "0o12", "0o12"),
    _row("0x1F", "0x1F", "0x1F"),
    _row("1_000", "1_000", "1_000"),
    _row("0b101", "0b101", "0b101"),
    # sexagesimal and dates are text
    _row("1:30", "1:30", "1:30"),
    _row("190:20:30", "190:20:30", "190:20:30"),
    _row("2013-03-26", "2013-03-26", "2013-03-26"),
    _row("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00", "timestamp"),
    # a point or an exponent: Decimal from the text
    _row("0.5", Decimal("0.5"), "0.5"),
    _row("3.50", Decimal("3.50"), "3.50"),
    _row("1e5", Decimal("1e5"), "1e5"),
    _row(".5", Decimal(".5"), ".5"),
    _row("-0.5", Decimal("-0.5"), "-0.5"),
    _row("0.1", Decimal("0.1"), "0.1"),
    _row("1e400", Decimal("1E+400"), "1e400"),
    # NaN and infinities are text
    _row(".nan", ".nan", ".nan"),
    _row(".NaN", ".NaN", ".NaN"),
    _row(".inf", ".inf", ".inf"),
    _row("-.inf", "-.inf", "-.inf"),
    _row(".Inf", ".Inf", ".Inf"),
    # nulls
    _row("~", None, "tilde"),
    _row("null", None, "null"),
    _row("Null", None, "Null"),
    _row("NULL", None, "NULL"),
    _row("", None, "empty"),
    # a number longer than 40 characters
    _row(LONG_INT, Refused("number-too-large"), "41-digit-int"),
    _row("-" + "1" * 40, Refused("number-too-large"), "41-char-negative-int"),
    _row("1." + "1" * 39, Refused("number-too-large"), "41-char-decimal"),
    _row("1e" + "1" * 39, Refused("number-too-large"), "41-char-exponent"),
    _row("9" * 5000, Refused("number-too-large"), "5000-digit-int"),
    _row("0." + "9" * 5000, Refused("number-too-large"), "5000-char-decimal"),
    # quoted is text
    _row('"3"', "3", "double-quoted-3"),
    _row("'true'", "true", "single-quoted-true"),
    _row('"1e400"', "1e400", "quoted-1e400"),
    _row("'~'", "~", "quoted-tilde"),
    _row('""', "", "quoted-empty"),
    # !!str is the only tag allowed
    _row("!!str x", "x", "str-tag"),
    _row("!!str 3", "3", "str-tag-number"),
    _row("!!str true", "true", "str-tag-true"),
    # every other tag is refused
    _row("!!python/object/apply:os.system [echo]", Refused("yaml-tag"), "python-apply"),
    _row("!!python/name:os.system", Refused("yaml-tag"), "python-name"),
    _row("!foo bar", Refused("yaml-tag"), "unknown-local-tag"),
    _row("!!int 3", Refused("yaml-tag"), "int-tag"),
    _row("!!float 1.5", Refused("yaml-tag"), "float-tag"),
    _row("!!bool yes", Refused("yaml-tag"), "bool-tag"),
    _row("!!null ''", Refused("yaml-tag"), "null-tag"),
    _row("!!timestamp 2013-03-26", Refused("yaml-tag"), "timestamp-tag"),
    _row("!!binary aGk=", Refused("yaml-tag"), "binary-tag"),
    _row("!!set {a}", Refused("yaml-tag"), "set-tag"),
    _row("!!omap [{a: 1}]", Refused("yaml-tag"), "omap-tag"),
    _row("!!seq [1]", Refused("yaml-tag"), "seq-tag"),
    _row("!!map {a: 1}", Refused("yaml-tag"), "map-tag"),
    # an alias
    _row("[&a 1, *a]", Refused("yaml-alias"), "alias"),
    # a key twice
    _row("{a: 1, a: 2}", Refused("duplicate-key"), "duplicate-key"),
    # nesting deeper than the limit
    _row("[" * 65 + "]" * 65, Refused("too-deep"), "too-deep"),
    # a file larger than the limit
    _row(TOO_LARGE_BYTES, Refused("too-large"), "too-large"),
    # bytes that are not UTF-8
    _row(b"v: caf\xe9", Refused("not-utf8"), "not-utf8"),
    # a byte-order mark is ignored
    _row(b"\xef\xbb\xbfv: 3", 3, "bom"),
    # a second document
    _row("1\n---\n2", Refused("yaml-multiple-documents"), "second-document"),
]


def _same(actual: object, expected: object) -> bool:
    """Equal and of the same type (True is not 1; Decimal('3.50') is not Decimal('3.5'))."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, Decimal):
        assert isinstance(actual, Decimal)
        return actual.as_tuple() == expected.as_tuple()
    return actual == expected


@pytest.mark.parametrize(("written", "expected"), YAML_TABLE)
def test_yaml_scalar_table(written: str | bytes, expected: object) -> None:
    raw = written if isinstance(written, bytes) else f"v: {written}".encode()
    if isinstance(expected, Refused):
        with pytest.raises(RubricError) as info:
            parse(raw)
        assert only_problem(info.value).code == expected.code
    else:
        value = parse(raw).data["v"]
        assert _same(value, expected), f"{written!r} became {value!r} ({type(value).__name__})"


def test_numbers_never_pass_through_float() -> None:
    data = parse(b"a: 0.1\nb: 0.30000000000000000000001\nc: [0.5, 1.5]").data
    assert data["a"] == Decimal("0.1")
    assert data["b"] == Decimal("0.30000000000000000000001")
    assert all(type(v) is Decimal for v in (data["a"], data["b"], *data["c"]))


def test_scalar_table_applies_to_keys_and_list_items() -> None:
    data = parse(b"on: [yes, 012, 1:30, 2013-03-26, .nan, 3.50]\n").data
    assert data == {"on": ["yes", "012", "1:30", "2013-03-26", ".nan", Decimal("3.50")]}
    assert str(data["on"][-1]) == "3.50"


def test_json_is_read_by_the_same_loader() -> None:
    data = parse(b'{"a": 1.5, "b": 2, "c": [true, null, "x"], "d": 1e400}').data
    assert data == {"a": Decimal("1.5"), "b": 2, "c": [True, None, "x"], "d": Decimal("1E+400")}
    assert type(data["a"]) is Decimal
    assert type(data["b"]) is int


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_never_become_numbers(constant: str) -> None:
    raw = f'{{"a": {constant}}}'.encode()
    try:
        value = parse(raw).data["a"]
    except RubricEngineError:
        return  # refused outright
    assert not isinstance(value, (float, Decimal, int)), value


def test_json_line_numbers_are_decimal_and_exact() -> None:
    value = parse_json_line('{"a": 1.5, "b": 0.1, "c": 2, "d": 1e400, "e": [3.50]}')
    assert value == {"a": Decimal("1.5"), "b": Decimal("0.1"), "c": 2, "d": Decimal("1E+400"), "e": [3.5]}
    assert type(value["a"]) is Decimal
    assert type(value["b"]) is Decimal
    assert type(value["c"]) is int
    assert str(value["e"][0]) == "3.50"


@pytest.mark.parametrize(
    "text",
    ['{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', "NaN", '[1, {"b": [Infinity]}]'],
)
def test_json_line_refuses_nan_and_infinity(text: str) -> None:
    with pytest.raises(ValueError, match="not a number this engine accepts"):
        parse_json_line(text)


def test_json_line_depth_and_size_are_bounded() -> None:
    parse_json_line("[" * 64 + "]" * 64)
    with pytest.raises(ValueError, match="deeper"):
        parse_json_line("[" * 65 + "]" * 65)
    with pytest.raises(ValueError, match="deeper"):
        parse_json_line("[[[1]]]", Limits(max_depth=2))
    with pytest.raises(ValueError, match="over the limit"):
        parse_json_line('{"a": "' + "x" * 100 + '"}', Limits(max_bytes=50))


# --- size ------------------------------------------------------------------------------------


def test_size_limit_default_is_five_megabytes() -> None:
    assert Limits().max_bytes == 5_000_000


def test_too_large_bytes_are_refused_before_parsing() -> None:
    invalid_yaml = b"[: : : {{{ ]]]\n" * 10
    assert parse_code(invalid_yaml) == "yaml-syntax"
    assert parse_code(invalid_yaml, limits=Limits(max_bytes=20)) == "too-large"
    assert parse_code(b"\xff\xfe" * 20, limits=Limits(max_bytes=20)) == "too-large"
    assert parse_code(b"&a [*a]" * 20, limits=Limits(max_bytes=20)) == "too-large"


def test_read_file_refuses_a_larger_file_with_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, "big.yaml", "a: " + "x" * 2000 + "\n")
    with pytest.raises(RubricError) as info:
        read_file(path, limits=Limits(max_bytes=1000))
    problem = only_problem(info.value)
    assert problem.code == "too-large"
    assert problem.file == str(path)
    assert "1000" in problem.message
    # at the limit, the same file is fine
    assert read_file(path, limits=Limits(max_bytes=path.stat().st_size)).data == {"a": "x" * 2000}


def test_oversized_invalid_yaml_reports_too_large_not_a_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", b"[: : : {{{ ]]]\n" * 200)
    with pytest.raises(RubricError) as small:
        read_file(path)
    assert only_problem(small.value).code == "yaml-syntax"
    with pytest.raises(RubricError) as info:
        read_file(path, limits=Limits(max_bytes=1000))
    assert only_problem(info.value).code == "too-large"


def test_oversized_non_utf8_file_reports_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, "latin1.yaml", b"a: caf\xe9\n" * 500)
    with pytest.raises(EvidenceError) as info:
        read_file(path, error=EvidenceError, limits=Limits(max_bytes=1000))
    assert only_problem(info.value).code == "too-large"


def test_read_file_does_not_read_an_oversized_file_whole(tmp_path: Path) -> None:
    """A 1 GiB (sparse) file against a 1 KB limit: refused fast, without holding the file in memory."""
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:
        handle.write(b"a: [")
        handle.truncate(1 << 30)
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(RubricError) as info:
            read_file(path, limits=Limits(max_bytes=1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - start
    assert only_problem(info.value).code == "too-large"
    assert peak < 5_000_000, f"peak {peak} bytes"
    assert elapsed < 2.0, f"took {elapsed:.2f} s"


def test_too_large_message_states_the_file_size_and_the_limit(tmp_path: Path) -> None:
    # docs/errors.md: big.yaml: too-large: 6000000 bytes is over the limit of 5000000
    path = write(tmp_path, "big.yaml", b"#" * 6_000_000)
    with pytest.raises(RubricError) as info:
        rubric.load(path)
    problem = only_problem(info.value)
    assert problem.code == "too-large"
    assert str(problem).startswith(f"{path}: too-large: 6000000 bytes is over the limit of 5000000")


def test_size_limit_through_the_public_loaders(tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", "a: " + "x" * 200 + "\n")
    with pytest.raises(EvidenceError) as as_evidence:
        rubric.load_evidence(path, limits=Limits(max_bytes=100))
    assert only_problem(as_evidence.value).code == "too-large"
    with pytest.raises(RubricError) as as_rubric:
        rubric.load(path, limits=Limits(max_bytes=100))
    assert only_problem(as_rubric.value).code == "too-large"


# --- encoding --------------------------------------------------------------------------------


def test_non_utf8_bytes_are_refused_with_line_and_column() -> None:
    # docs/errors.md: t.yaml:1:7: not-utf8: byte 0xe9 is not UTF-8 (save the file as UTF-8)
    with pytest.raises(RubricError) as info:
        parse(b"a: caf\xe9\n", file="t.yaml")
    problem = only_problem(info.value)
    assert problem.code == "not-utf8"
    assert (problem.file, problem.line, problem.column) == ("t.yaml", 1, 7)
    assert "0xe9" in problem.message
    assert "UTF-8" in problem.hint


def test_non_utf8_bytes_on_a_later_line(tmp_path: Path) -> None:
    path = write(tmp_path, "gbk.yaml", b"a: ok\nb: 1\nc: x\xb2\xe2\xca\xd4\n")  # 测试 in GBK
    with pytest.raises(EvidenceError) as info:
        rubric.load_evidence(path)
    problem = only_problem(info.value)
    assert problem.code == "not-utf8"
    assert (problem.file, problem.line, problem.column) == (str(path), 3, 5)


@pytest.mark.parametrize(
    "raw",
    [b"\xef\xbb\xbfa: 1\n", b'\xef\xbb\xbf{"a": 1}'],
    ids=["yaml", "json"],
)
def test_utf8_byte_order_mark_is_accepted(raw: bytes) -> None:
    assert parse(raw).data == {"a": 1}


def test_utf8_byte_order_mark_in_an_evidence_file(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.yaml", "\ufeffC1: {sound: true}\n")
    assert rubric.load_evidence(path).data == {"C1": {"sound": True}}


# --- errors from files: family, file, line and column ----------------------------------------

BAD_FILES = [
    pytest.param(b"a: !!python/name:os.system\n", "yaml-tag", id="yaml-tag"),
    pytest.param(b"a: &x 1\nb: *x\n", "yaml-alias", id="yaml-alias"),
    pytest.param(b"a: [1, 2\nb: 3\n", "yaml-syntax", id="yaml-syntax"),
    pytest.param(b"a: 1\n  b: 2\n", "yaml-syntax", id="yaml-syntax-indent"),
    pytest.param(b"a: 'unterminated\n", "yaml-syntax", id="yaml-syntax-quote"),
    pytest.param(b"a: \x00\n", "yaml-syntax", id="yaml-syntax-nul"),
    pytest.param(b"? [a]\n: 1\n", "yaml-complex-key", id="yaml-complex-key"),
    pytest.param(b"a: 1\n---\nb: 2\n", "yaml-multiple-documents", id="yaml-multiple-documents"),
    pytest.param(b"a: 1\na: 2\n", "duplicate-key", id="duplicate-key"),
    pytest.param(b'{"a": 1, "a": 2}', "duplicate-key", id="duplicate-key-json"),
    pytest.param(("{a: " * 65 + "1" + "}" * 65).encode(), "too-deep", id="too-deep"),
    pytest.param(b"a: " + b"1" * 5000 + b"\n", "number-too-large", id="number-too-large"),
    pytest.param(b"a: 0." + b"1" * 5000 + b"\n", "number-too-large", id="number-too-large-decimal"),
    pytest.param(b"a: caf\xe9\n", "not-utf8", id="not-utf8"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_FILES)
def test_rubric_file_errors_are_rubric_errors_with_a_place(tmp_path: Path, raw: bytes, code: str) -> None:
    path = write(tmp_path, "t.yaml", raw)
    with pytest.raises(RubricError) as info:
        rubric.load(path)
    assert not isinstance(info.value, EvidenceError)
    problem = only_problem(info.value)
    assert problem.code == code
    assert problem.file == str(path)
    assert problem.line is not None
    assert problem.column is not None
    assert re.match(rf"{re.escape(str(path))}:\d+:\d+: {code}: ", str(problem))


@pytest.mark.parametrize(("raw", "code"), BAD_FILES)
def test_evidence_file_errors_are_evidence_errors_with_a_place(tmp_path: Path, raw: bytes, code: str) -> None:
    path = write(tmp_path, "t.yaml", raw)
    with pytest.raises(EvidenceError) as info:
        rubric.load_evidence(path)
    assert not isinstance(info.value, RubricError)
    problem = only_problem(info.value)
    assert problem.code == code
    assert problem.file == str(path)
    assert problem.line is not None
    assert problem.column is not None


def test_missing_and_oversized_files_name_the_file_in_their_family(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(RubricError) as as_rubric:
        rubric.load(missing)
    assert only_problem(as_rubric.value).code == "io"
    assert only_problem(as_rubric.value).file == str(missing)
    with pytest.raises(EvidenceError) as as_evidence:
        rubric.load_evidence(missing)
    assert only_problem(as_evidence.value).code == "io"
    assert only_problem(as_evidence.value).file == str(missing)


def test_rubric_schema_errors_from_a_file_have_a_place(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", VALID_RUBRIC.replace("standard:", "standrd:"))
    with pytest.raises(RubricError) as info:
        rubric.load(path)
    assert info.value.problems
    for problem in info.value.problems:
        assert problem.file == str(path)
        assert problem.line is not None
        assert problem.column is not None
    codes = {p.code for p in info.value.problems}
    assert "unknown-key" in codes


def test_evidence_value_errors_from_a_file_have_a_place(tmp_path: Path) -> None:
    rubric_path = write(tmp_path, "r.yaml", VALID_RUBRIC)
    loaded = rubric.load(rubric_path)
    evidence_path = write(tmp_path, "e.yaml", "# record\nC1: {sound: yes, soundd: true}\nC9: {}\n")
    record = rubric.load_evidence(evidence_path)
    with pytest.raises(EvidenceError) as info:
        loaded.score(record.data, positions=record.positions)
    assert not isinstance(info.value, RubricError)
    problems = {p.code: p for p in info.value.problems}
    assert set(problems) == {"wrong-type", "unknown-field", "unknown-criterion"}
    for problem in problems.values():
        assert problem.file == str(evidence_path)
        assert problem.line is not None
        assert problem.column is not None
    assert (problems["wrong-type"].line, problems["wrong-type"].column) == (2, 13)
    assert problems["wrong-type"].path == ("C1", "sound")
    assert problems["unknown-criterion"].line == 3


@pytest.mark.parametrize("points", ["1e999999999", "-1e999999999", "1e-999999999", ".nan", "1e400"])
def test_absurd_rubric_points_are_a_rubric_error(tmp_path: Path, points: str) -> None:
    # docs/errors.md: every error raised on purpose is a RubricEngineError; a rubric's points are
    # integers or decimals with at most 4 places (docs/coercion.md)
    path = write(
        tmp_path,
        "r.yaml",
        VALID_RUBRIC.replace("points: 10\n        standard", f"points: {points}\n        standard"),
    )
    with pytest.raises(RubricError) as info:
        rubric.load(path)
    at_points = [p for p in info.value.problems if p.path == ("categories", 0, "criteria", 0, "points")]
    assert len(at_points) == 1, info.value.problems
    assert at_points[0].line == 12


def test_a_valid_file_round_trips_with_positions(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", VALID_RUBRIC)
    document = read_file(path)
    assert document.positions.file == str(path)
    assert document.positions.marks[()] == (1, 1)
    assert document.positions.marks[("id",)] == (1, 5)
    assert document.source == path.read_bytes()
    assert json.loads(json.dumps(document.data["categories"][0]["id"])) == "组织领导"
