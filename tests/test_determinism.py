"""Determinism: the same record gives byte-identical output, whatever the run, the hash seed, or the
order in which the record's keys (and checklist items) were written.

- the CLI (``score --json``, ``score``, ``batch`` to JSON Lines and CSV, ``check --format json``,
  ``schema --evidence``)
  runs in fresh processes under PYTHONHASHSEED=0, 1 and 12345; stdout and every output file must be
  the same bytes each time, and ``batch --workers 2`` must write what ``--workers 1`` writes;
- in process, a record and the same record with every mapping's keys reversed (recursively) and
  every checklist's items reversed give the same ``to_json()`` and the same evidence SHA-256, and
  so does the record written another accepted way (``3.00`` for 3, a tuple for a list);
- no JSON output ever holds a NaN or Infinity token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import generate_records
from hypothesis import given
from hypothesis import strategies as st

import rubric
from rubric._fields import Assessed, Checklist, Count
from rubric._rubric import dump_yaml
from rubric.testing import evidence

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ROOT / "rubrics"
EXAMPLES = ROOT / "examples"
NAMES = ("table1", "table2", "table3", "department")
SCORERS = {name: rubric.load(RUBRICS / f"{name}.yaml") for name in NAMES}
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))
HASH_SEEDS = ("0", "1", "12345")
BATCH_RECORDS = 150


def _refuse_constant(name: str) -> None:
    raise AssertionError(f"JSON output holds the token {name}")


def strict_json(text: str) -> Any:
    """Parse JSON, failing on NaN / Infinity (which json.loads accepts by default)."""
    return json.loads(text, parse_constant=_refuse_constant)


# --------------------------------------------------------------------------------------------
# Reordering a record
# --------------------------------------------------------------------------------------------


def checklist_paths(scorer: rubric.Rubric | rubric.Composite) -> set[tuple[str, ...]]:
    """(criterion, field) or (part, criterion, field) of every checklist field."""
    parts = scorer.parts.items() if isinstance(scorer, rubric.Composite) else [("", scorer)]
    found = set()
    for part, table in parts:
        for category in table.doc.categories:
            for criterion in category.criteria:
                for name, spec in criterion.evidence.items():
                    if isinstance(spec, Checklist):
                        found.add((part, criterion.id, name) if part else (criterion.id, name))
    return found


def reordered(value: Any, checklists: set[tuple[str, ...]], path: tuple[str, ...] = ()) -> Any:
    """The same record with every mapping's keys in reverse order and checklist items reversed
    (the items present are a set; other lists, such as assessed amounts, keep their order)."""
    if isinstance(value, dict):
        return {k: reordered(value[k], checklists, (*path, k)) for k in reversed(list(value))}
    if isinstance(value, list):
        items = [reordered(v, checklists, path) for v in value]
        return items[::-1] if path in checklists else items
    return value


def example_record(path: Path) -> tuple[str, Any]:
    return path.name.split("-", 1)[0], rubric.load_evidence(path).data


def department_record() -> dict[str, Any]:
    return {
        "has_window": True,
        "table1": rubric.load_evidence(EXAMPLES / "table1-typical.yaml").data,
        "table2": rubric.load_evidence(EXAMPLES / "table2-typical.yaml").data,
    }


def assert_same_output(scorer: Any, record: Any) -> None:
    checklists = checklist_paths(scorer)
    first = scorer.score(record)
    again = scorer.score(record)
    other = scorer.score(reordered(record, checklists))
    text = first.to_json()
    strict_json(text)
    assert again.to_json() == text
    assert other.to_json() == text
    assert other.evidence_sha256 == first.evidence_sha256
    assert scorer.score(reordered(record, checklists), audit=False).total == first.total
    assert json.dumps(first.summary(), sort_keys=True, allow_nan=False) == json.dumps(
        other.summary(), sort_keys=True, allow_nan=False
    )


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_an_example_and_its_reordered_copy_give_identical_json(path: Path) -> None:
    name, record = example_record(path)
    assert_same_output(SCORERS[name], record)


def test_a_composite_record_and_its_reordered_copy_give_identical_json() -> None:
    assert_same_output(SCORERS["department"], department_record())


@given(st.sampled_from(NAMES).flatmap(lambda name: st.tuples(st.just(name), evidence(SCORERS[name]))))
def test_any_valid_record_and_its_reordered_copy_give_identical_json(pair: tuple[str, Any]) -> None:
    name, record = pair
    assert_same_output(SCORERS[name], record)


def respelled(scorer: rubric.Rubric | rubric.Composite, record: dict[str, Any]) -> dict[str, Any]:
    """The same facts written another accepted way: counts and amounts as Decimals with trailing
    zeros (``3.00``, as YAML reads ``3.00``), checklists as tuples."""
    if isinstance(scorer, rubric.Composite):
        return {k: respelled(scorer.parts[k], v) if k in scorer.parts else v for k, v in record.items()}
    out: dict[str, Any] = {}
    for category in scorer.doc.categories:
        for criterion in category.criteria:
            group = dict(record[criterion.id])
            for name, spec in criterion.evidence.items():
                value = group[name]
                if isinstance(spec, Count):
                    group[name] = Decimal(value).quantize(Decimal("0.00"))
                elif isinstance(spec, Assessed):
                    group[name] = [
                        {"reason": e["reason"], "points": Decimal(e["points"]).quantize(Decimal("0.000"))}
                        for e in value
                    ]
                elif isinstance(spec, Checklist):
                    group[name] = tuple(value)
            out[criterion.id] = group
    return out


@given(st.sampled_from(NAMES).flatmap(lambda name: st.tuples(st.just(name), evidence(SCORERS[name]))))
def test_any_valid_record_written_another_accepted_way_gives_identical_json(pair: tuple[str, Any]) -> None:
    name, record = pair
    scorer = SCORERS[name]
    first, other = scorer.score(record), scorer.score(respelled(scorer, record))
    assert other.to_json() == first.to_json()
    assert other.evidence_sha256 == first.evidence_sha256


# --------------------------------------------------------------------------------------------
# The command line under different hash seeds
# --------------------------------------------------------------------------------------------


def batch_lines() -> list[str]:
    """JSON Lines for table1: valid records, an envelope, a blank line and rejected records."""
    records = generate_records(SCORERS["table1"].doc, BATCH_RECORDS, 99)
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines[3] = json.dumps({"unit": "单位甲", "evidence": records[3]}, ensure_ascii=False)
    lines[5] = ""
    lines[7] = json.dumps({**records[7], "T1-99": {}}, ensure_ascii=False)
    lines[11] = '{"T1-01": {"sound": 1, "adjusted": "yes"}}'
    lines[13] = "{not json"
    lines[17] = json.dumps({"unit": "=1+1", "evidence": records[17]}, ensure_ascii=False)
    return lines


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Evidence files (each example, its reordered copy, the composite record) and batch input."""
    folder = tmp_path_factory.mktemp("inputs")
    files: dict[str, Path] = {}
    for path in EXAMPLE_FILES:
        name, record = example_record(path)
        files[path.stem] = path
        reversed_copy = folder / f"{path.stem}-reordered.yaml"
        reversed_copy.write_bytes(dump_yaml(reordered(record, checklist_paths(SCORERS[name]))))
        files[f"{path.stem}-reordered"] = reversed_copy
    composite = department_record()
    files["department"] = folder / "department.yaml"
    files["department"].write_bytes(dump_yaml(composite))
    files["department-reordered"] = folder / "department-reordered.yaml"
    files["department-reordered"].write_bytes(
        dump_yaml(reordered(composite, checklist_paths(SCORERS["department"])))
    )
    files["batch"] = folder / "batch.jsonl"
    files["batch"].write_text("\n".join(batch_lines()) + "\n", encoding="utf-8")
    return files


def rubric_of(evidence_name: str) -> Path:
    return RUBRICS / f"{evidence_name.split('-', 1)[0]}.yaml"


def cli(args: list[str], seed: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "rubric.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


def run_all(
    jobs: dict[tuple[str, str], list[str]],
) -> dict[tuple[str, str], subprocess.CompletedProcess[bytes]]:
    """Run CLI jobs (keyed by (what, hash seed)) a few at a time."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(cli, args, key[1]) for key, args in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


CLI_EVIDENCE = ("table1-typical", "table2-capped", "table3-veto", "department")  # one per rubric


@pytest.fixture(scope="module")
def score_runs(inputs: dict[str, Path]) -> dict[tuple[str, str], subprocess.CompletedProcess[bytes]]:
    """Processes are slow to start, so one evidence file per rubric goes through the CLI (every
    example goes through the same code in process, above)."""
    jobs: dict[tuple[str, str], list[str]] = {}
    for seed in HASH_SEEDS:
        for name in CLI_EVIDENCE:
            jobs[(f"json:{name}", seed)] = ["score", "--json", str(rubric_of(name)), str(inputs[name])]
        for name in ("table2-typical", "department"):
            jobs[(f"table:{name}", seed)] = ["score", str(rubric_of(name)), str(inputs[name])]
        jobs[("check", seed)] = ["check", "--format", "json", *(str(RUBRICS / f"{n}.yaml") for n in NAMES)]
        jobs[("schema", seed)] = ["schema", "--evidence", str(RUBRICS / "department.yaml")]
    for name in CLI_EVIDENCE:
        reordered_name = f"{name}-reordered"
        jobs[(f"json:{reordered_name}", HASH_SEEDS[0])] = [
            "score",
            "--json",
            str(rubric_of(name)),
            str(inputs[reordered_name]),
        ]
    return run_all(jobs)


def test_score_and_check_print_the_same_bytes_under_every_hash_seed(
    score_runs: dict[tuple[str, str], subprocess.CompletedProcess[bytes]],
) -> None:
    whats = sorted({what for what, seed in score_runs if seed == HASH_SEEDS[1]})
    assert len(whats) == len(CLI_EVIDENCE) + 4
    for what in whats:
        runs = [score_runs[(what, seed)] for seed in HASH_SEEDS]
        assert runs[0].returncode in (0, 1), (what, runs[0].stderr.decode())
        assert runs[0].stdout, what
        for run in runs[1:]:
            assert run.returncode == runs[0].returncode, what
            assert run.stdout == runs[0].stdout, f"{what}: stdout differs between hash seeds"
            assert run.stderr == runs[0].stderr, what
        if what.startswith(("json:", "check", "schema")):
            strict_json(runs[0].stdout.decode("utf-8"))


def test_score_json_is_the_same_for_a_file_written_in_another_key_order(
    score_runs: dict[tuple[str, str], subprocess.CompletedProcess[bytes]],
) -> None:
    for what in (f"json:{name}" for name in CLI_EVIDENCE):
        assert score_runs[(what, "0")].stdout == score_runs[(f"{what}-reordered", "0")].stdout, what


def test_score_json_printed_is_the_in_process_to_json(
    inputs: dict[str, Path], score_runs: dict[tuple[str, str], subprocess.CompletedProcess[bytes]]
) -> None:
    for name in CLI_EVIDENCE:
        scorer = SCORERS[name.split("-", 1)[0]]
        document = rubric.load_evidence(inputs[name])
        expected = scorer.score(document.data).to_json() + "\n"
        assert score_runs[(f"json:{name}", "0")].stdout.decode("utf-8") == expected, name


BATCH_MODES: dict[str, list[str]] = {
    "jsonl": [],
    "audit": ["--audit"],
    "csv": ["--format", "csv"],
}


@pytest.fixture(scope="module")
def batch_runs(
    inputs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], tuple[subprocess.CompletedProcess[bytes], bytes, bytes]]:
    jobs: dict[tuple[str, str], list[str]] = {}
    outs: dict[tuple[str, str], tuple[Path, Path]] = {}
    plan = [(mode, seed, extra) for mode, extra in BATCH_MODES.items() for seed in HASH_SEEDS]
    plan.append(("audit-workers", "1", ["--audit", "--workers", "2"]))
    for mode, seed, extra in plan:
        folder = tmp_path_factory.mktemp(f"batch-{mode}-{seed}")
        out, errors = folder / "out", folder / "errors.jsonl"
        outs[(mode, seed)] = (out, errors)
        jobs[(mode, seed)] = [
            "batch",
            str(RUBRICS / "table1.yaml"),
            str(inputs["batch"]),
            "--out",
            str(out),
            "--errors",
            str(errors),
            *extra,
        ]
    runs = run_all(jobs)
    return {key: (runs[key], outs[key][0].read_bytes(), outs[key][1].read_bytes()) for key in jobs}


def test_batch_writes_the_same_bytes_under_every_hash_seed(
    batch_runs: dict[tuple[str, str], tuple[subprocess.CompletedProcess[bytes], bytes, bytes]],
) -> None:
    for mode in BATCH_MODES:
        first, out, errors = batch_runs[(mode, HASH_SEEDS[0])]
        assert first.returncode == 1, first.stderr.decode()  # some records are rejected on purpose
        assert b"read 150, scored 146, rejected 3, blank 1" in first.stderr, first.stderr.decode()
        for seed in HASH_SEEDS[1:]:
            run, other_out, other_errors = batch_runs[(mode, seed)]
            assert run.returncode == first.returncode
            assert other_out == out, f"{mode}: results differ between hash seeds"
            assert other_errors == errors, f"{mode}: rejects differ between hash seeds"
        for line in errors.decode("utf-8").split("\n")[:-1]:
            strict_json(line)
        if mode != "csv":
            lines = out.decode("utf-8").split("\n")[:-1]
            assert len(lines) == 146
            for line in lines:
                strict_json(line)


def test_batch_with_two_worker_processes_writes_what_one_process_writes(
    batch_runs: dict[tuple[str, str], tuple[subprocess.CompletedProcess[bytes], bytes, bytes]],
) -> None:
    _, out, errors = batch_runs[("audit", "1")]
    run, other_out, other_errors = batch_runs[("audit-workers", "1")]
    assert run.returncode == 1, run.stderr.decode()
    assert other_out == out
    assert other_errors == errors


def test_batch_results_are_the_in_process_results(
    batch_runs: dict[tuple[str, str], tuple[subprocess.CompletedProcess[bytes], bytes, bytes]],
) -> None:
    _, out, _ = batch_runs[("audit", "0")]
    lines = [line for line in batch_lines() if line]
    by_unit = {}
    for number, line in enumerate(batch_lines(), start=1):
        if not line:
            continue
        try:
            value = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError:
            continue
        unit, record = (value["unit"], value["evidence"]) if "evidence" in value else (str(number), value)
        by_unit[unit] = record
    assert len(lines) == BATCH_RECORDS - 1
    for line in out.decode("utf-8").split("\n")[:-1]:
        body = strict_json(line)
        expected = SCORERS["table1"].score(by_unit[body["unit"]]).to_dict()
        assert {k: v for k, v in body.items() if k not in ("unit", "line")} == expected
