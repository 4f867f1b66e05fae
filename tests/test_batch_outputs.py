"""Output and input paths: nothing read is ever overwritten, ``-`` is standard input or output,
symlinks are written through, and a device or FIFO is written in place, never replaced.

Every refusal is checked before anything is touched: the previous files stay byte-identical.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

import rubric
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = ROOT / "rubrics" / "table1.yaml"
UNITS = ROOT / "examples" / "table1-units.jsonl"  # four units: 100, 83, 93, 80 (tests/test_batch.py)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def totals(text: str) -> list[str]:
    return [json.loads(line)["total"] for line in text.splitlines()]


def stdin_bytes(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A copy of the rubric and the input, and previous outputs, all in tmp_path."""
    paths = {"rubric": tmp_path / "table1.yaml", "input": tmp_path / "in.jsonl"}
    shutil.copy(TABLE1, paths["rubric"])
    shutil.copy(UNITS, paths["input"])
    paths["out"] = tmp_path / "out.jsonl"
    paths["errors"] = tmp_path / "out.jsonl.errors.jsonl"
    paths["out"].write_bytes(b"previous results\n")
    paths["errors"].write_bytes(b"previous errors\n")
    return paths


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize(
    ("out", "spelled"),
    [
        ("input", lambda p: p),
        ("input", lambda p: p.parent / "." / ".." / p.parent.name / p.name),
        ("rubric", lambda p: p),
    ],
)
def test_out_naming_the_input_or_the_rubric_is_refused_before_anything_is_touched(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], out: str, spelled: Any
) -> None:
    folder = files["input"].parent
    before = snapshot(folder)
    code, _, err = run(capsys, "batch", files["rubric"], files["input"], "--out", spelled(files[out]))
    assert code == 2
    assert "same-file" in err
    assert snapshot(folder) == before


def test_out_through_a_hard_link_to_the_input_is_refused(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    link = files["input"].parent / "alias.jsonl"
    os.link(files["input"], link)
    before = snapshot(files["input"].parent)
    code, _, err = run(capsys, "batch", files["rubric"], files["input"], "--out", link)
    assert code == 2
    assert "same-file" in err
    assert snapshot(files["input"].parent) == before


def test_errors_equal_to_out_is_refused(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    before = snapshot(files["out"].parent)
    code, _, err = run(
        capsys, "batch", files["rubric"], files["input"], "--out", files["out"], "--errors", files["out"]
    )
    assert code == 2
    assert "--errors is the same file as --out" in err
    assert snapshot(files["out"].parent) == before


def test_out_a_folder_is_refused_before_the_errors_file_is_replaced(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    folder = files["out"].parent / "results"
    folder.mkdir()
    errors = Path(f"{folder}.errors.jsonl")  # the default errors file of --out results
    errors.write_bytes(b"previous errors\n")
    before = snapshot(files["out"].parent)
    code, _, err = run(capsys, "batch", files["rubric"], files["input"], "--out", folder)
    assert code == 2
    assert "is a folder" in err
    assert snapshot(files["out"].parent) == before


def test_out_dash_writes_the_results_to_standard_output(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files["out"].parent)
    code, out, err = run(
        capsys, "batch", files["rubric"], files["input"], "--out", "-", "--errors", "bad.jsonl"
    )
    assert code == 0, err
    assert totals(out) == ["100", "83", "93", "80"]
    assert not Path("-").exists()


def test_out_dash_without_an_errors_file_is_refused(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files["out"].parent)
    code, out, err = run(capsys, "batch", files["rubric"], files["input"], "--out", "-")
    assert code == 2
    assert out == ""
    assert "--errors" in err
    assert not Path("-").exists()
    assert not Path("-.errors.jsonl").exists()


def test_input_dash_reads_standard_input(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_bytes(monkeypatch, UNITS.read_bytes())
    code, _, err = run(capsys, "batch", files["rubric"], "-", "--out", files["out"])
    assert code == 0, err
    assert totals(files["out"].read_text(encoding="utf-8")) == ["100", "83", "93", "80"]


def test_score_reads_evidence_from_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_bytes(monkeypatch, (ROOT / "examples" / "table1-typical.yaml").read_bytes())
    code, out, err = run(capsys, "score", TABLE1, "-", "--json")
    assert code == 0, err
    assert json.loads(out)["total"] == "83"


def test_bad_evidence_from_standard_input_is_placed_in_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin_bytes(monkeypatch, b"T1-01: [\n")
    code, _, err = run(capsys, "score", TABLE1, "-")
    assert code == 2
    assert err.startswith("<stdin>:")


def test_report_reads_standard_input_and_writes_standard_output(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, _ = run(capsys, "batch", files["rubric"], files["input"], "--out", files["out"])
    assert code == 0
    stdin_bytes(monkeypatch, files["out"].read_bytes())
    monkeypatch.chdir(files["out"].parent)
    code, out, err = run(capsys, "report", "-", "--format", "json", "--out", "-")
    assert code == 0, err
    assert [row["total"] for row in json.loads(out)] == ["100", "93", "83", "80"]
    assert not Path("-").exists()


def test_report_out_naming_its_results_is_refused(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    run(capsys, "batch", files["rubric"], files["input"], "--out", files["out"])
    before = files["out"].read_bytes()
    code, _, err = run(capsys, "report", files["out"], "--out", files["out"])
    assert code == 2
    assert "same-file" in err
    assert files["out"].read_bytes() == before


def test_out_through_a_symlink_writes_its_target_and_keeps_the_link(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    target_folder = files["out"].parent / "real"
    target_folder.mkdir()
    target = target_folder / "results.jsonl"
    target.write_bytes(b"previous results\n")
    link = files["out"].parent / "link.jsonl"
    link.symlink_to(Path("real") / "results.jsonl")
    code, _, err = run(capsys, "batch", files["rubric"], files["input"], "--out", link)
    assert code == 0, err
    assert link.is_symlink()
    assert os.readlink(link) == str(Path("real") / "results.jsonl")
    assert totals(target.read_text(encoding="utf-8")) == ["100", "83", "93", "80"]
    assert [p.name for p in target_folder.iterdir()] == ["results.jsonl"]  # no temporary file left


def test_out_a_fifo_is_written_in_place_not_replaced(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    fifo = files["out"].parent / "results.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def drain() -> None:
        with open(fifo, "rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    code, _, err = run(
        capsys, "batch", files["rubric"], files["input"], "--out", fifo, "--errors", files["errors"]
    )
    reader.join(timeout=60)  # a hang guard only: the writer closes the FIFO when it is done
    assert code == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert totals(received[0].decode("utf-8")) == ["100", "83", "93", "80"]


def test_out_a_link_to_the_process_standard_output_streams_to_it(files: dict[str, Path]) -> None:
    # /dev/stdout is a symlink to /proc/self/fd/1, a pipe here; this link has the same shape
    # without touching /dev, which the old code replaced with a regular file.
    if not Path("/proc/self/fd/1").exists():
        pytest.skip("needs /proc")
    link = files["out"].parent / "stdout"
    link.symlink_to("/proc/self/fd/1")
    env = {**os.environ, "PYTHONPATH": str(Path(rubric.__file__).resolve().parent.parent)}
    argv = [
        "batch",
        str(files["rubric"]),
        str(files["input"]),
        "--out",
        str(link),
        "--errors",
        str(files["errors"]),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "rubric.cli", *argv],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert totals(done.stdout.decode("utf-8")) == ["100", "83", "93", "80"]
    assert link.is_symlink()


def test_unit_ids_null_mapping_and_list_are_rejected_and_whole_numbers_are_text(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    evidence = yaml.safe_load((ROOT / "examples" / "table1-typical.yaml").read_text(encoding="utf-8"))
    units: list[Any] = [None, {"a": 1}, [1], 7, "七", True, 1.5]
    files["input"].write_text(
        "".join(json.dumps({"unit": u, "evidence": evidence}, ensure_ascii=False) + "\n" for u in units),
        encoding="utf-8",
    )
    code, _, _ = run(capsys, "batch", files["rubric"], files["input"], "--out", files["out"])
    assert code == 1
    scored = [json.loads(line) for line in files["out"].read_text(encoding="utf-8").splitlines()]
    assert [(r["unit"], r["total"]) for r in scored] == [("7", "83"), ("七", "83")]
    rejected = [json.loads(line) for line in files["errors"].read_text(encoding="utf-8").splitlines()]
    assert [(e["line"], e["unit"]) for e in rejected] == [(1, "1"), (2, "2"), (3, "3"), (6, "6"), (7, "7")]
    messages = [(p["code"], p["path"], p["message"]) for e in rejected for p in e["problems"]]
    assert messages == [
        ("bad-unit", "unit", "a unit is named by text or a whole number, got null"),
        ("bad-unit", "unit", "a unit is named by text or a whole number, got a mapping"),
        ("bad-unit", "unit", "a unit is named by text or a whole number, got a list"),
        ("bad-unit", "unit", "a unit is named by text or a whole number, got true or false"),
        ("bad-unit", "unit", "a unit is named by text or a whole number, got a number that is not whole"),
    ]


def test_out_a_fifo_without_an_errors_file_is_refused_before_opening_it(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path]
) -> None:
    fifo = files["out"].parent / "results.fifo"
    os.mkfifo(fifo)
    before = snapshot(fifo.parent)
    code, _, err = run(capsys, "batch", files["rubric"], files["input"], "--out", fifo)
    assert code == 2
    assert "add --errors FILE" in err
    assert snapshot(fifo.parent) == before
    assert not Path(f"{fifo}.errors.jsonl").exists()
