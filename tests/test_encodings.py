"""What Chinese Windows does to files and consoles: CSV saved as GBK by Excel or WPS, the UTF-8
byte-order mark Excel needs, a GBK console that has no U+2212, output formats named by the
output's extension, and the progress bar of long batch runs (on a terminal only).

Totals are the hand-worked seed examples: 表一 typical 83 (see tests/test_cli.py's comments).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric._batch import ProgressBar
from rubric._readers import Tally, csv_columns
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = str(ROOT / "rubrics" / "table1.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def csv_cell(value: Any) -> str:
    """A fact as a CSV cell (README, batch input): true/false, digits, the option, items joined by ;"""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(value) if value else "-"
    return str(value)


def typical_csv(units: list[str]) -> str:
    """表一's typical record once per unit, as a CSV with a unit column and one column per fact."""
    record = rubric.load_evidence(ROOT / "examples" / "table1-typical.yaml").data
    columns = list(csv_columns(rubric.load(TABLE1)))
    row = [csv_cell(record[c.split(".")[0]][c.split(".")[1]]) for c in columns]
    return "\r\n".join([",".join(["unit", *columns]), *(",".join([u, *row]) for u in units)]) + "\r\n"


def results(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_a_csv_saved_as_gbk_by_excel_is_read_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Excel and WPS on Chinese Windows save "CSV" in GBK: the unit names, the checklist items
    # (计划;部署;总结) and the option (受理但没有建立台账) are all GBK bytes here.
    source, out = tmp_path / "units.csv", tmp_path / "results.jsonl"
    source.write_bytes(typical_csv(["教育局", "卫生局"]).encode("gbk"))
    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out))
    assert code == 0, err
    assert [(r["unit"], r["total"]) for r in results(out)] == [("教育局", "83"), ("卫生局", "83")]


@pytest.mark.parametrize(
    ("saved_as", "option"),
    [
        ("gbk", ["--encoding", "gbk"]),  # named rather than detected
        ("gb18030", ["--encoding", "gb18030"]),
        ("utf-8-sig", []),  # UTF-8 with a byte-order mark is UTF-8
        ("utf-8", []),  # UTF-8 bytes are often valid GB18030 too (as other characters): UTF-8 is tried first
    ],
)
def test_a_csv_is_read_in_its_own_encoding(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, saved_as: str, option: list[str]
) -> None:
    source, out = tmp_path / "units.csv", tmp_path / "results.jsonl"
    source.write_bytes(typical_csv(["教育局"]).encode(saved_as))
    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(out), *option)
    assert code == 0, err
    assert (results(out)[0]["unit"], results(out)[0]["total"]) == ("教育局", "83")


@pytest.mark.parametrize(("name", "message"), [("utf-16", "line by line"), ("klingon", "unknown encoding")])
def test_an_encoding_that_cannot_be_read_line_by_line_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, message: str
) -> None:
    source = tmp_path / "units.csv"
    source.write_text(typical_csv(["a"]), encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        main(["batch", TABLE1, str(source), "--out", str(tmp_path / "r.jsonl"), "--encoding", name])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_csv_results_carry_a_byte_order_mark_for_excel(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "units.csv"
    source.write_text(typical_csv(["教育局"]), encoding="utf-8")
    with_bom, without = tmp_path / "with.csv", tmp_path / "without.csv"
    assert run(capsys, "batch", TABLE1, str(source), "--out", str(with_bom))[0] == 0
    assert run(capsys, "batch", TABLE1, str(source), "--out", str(without), "--no-bom")[0] == 0
    assert with_bom.read_bytes().startswith(b"\xef\xbb\xbfunit,line,total")
    assert without.read_bytes().startswith(b"unit,line,total")
    assert with_bom.read_bytes()[3:] == without.read_bytes()


def test_a_bulletin_csv_file_carries_a_byte_order_mark(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source, scored, bulletin = tmp_path / "units.csv", tmp_path / "r.jsonl", tmp_path / "bulletin.csv"
    source.write_text(typical_csv(["教育局"]), encoding="utf-8")
    assert run(capsys, "batch", TABLE1, str(source), "--out", str(scored))[0] == 0
    code, _, err = run(capsys, "report", str(scored), "--out", str(bulletin))
    assert code == 0, err
    assert bulletin.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "教育局" in bulletin.read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("out", "expected_start"),
    [("r.csv", b"\xef\xbb\xbfunit,"), ("r.jsonl", b'{"'), ("r.json", b'{"'), ("r.xlsx", b"PK")],
)
def test_the_results_format_follows_the_output_extension(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, out: str, expected_start: bytes
) -> None:
    source = tmp_path / "units.csv"
    source.write_text(typical_csv(["教育局"]), encoding="utf-8")
    code, _, err = run(capsys, "batch", TABLE1, str(source), "--out", str(tmp_path / out))
    assert code == 0, err
    assert (tmp_path / out).read_bytes().startswith(expected_start)


@pytest.mark.parametrize(
    "argv",
    [
        ["batch", TABLE1, "IN", "--out", "OUT/r.csv", "--format", "jsonl"],
        ["batch", TABLE1, "IN", "--out", "OUT/r.xlsx", "--format", "csv"],
        ["report", "IN", "--out", "OUT/bulletin.json", "--format", "md"],
        ["template", TABLE1, "--out", "OUT/form.csv"],
        ["score", TABLE1, "IN", "--out", "OUT/sheet.html", "--format", "text"],
    ],
)
def test_a_format_that_contradicts_the_output_extension_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    source = tmp_path / "units.csv"
    source.write_text(typical_csv(["教育局"]), encoding="utf-8")
    argv = [a.replace("IN", str(source)).replace("OUT", str(tmp_path)) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "format-mismatch" in err
    assert [p.name for p in tmp_path.iterdir()] == ["units.csv"]  # nothing written


def test_a_score_sheet_named_html_is_written_as_html(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("jinja2")
    sheet = tmp_path / "sheet.html"
    code, _, err = run(
        capsys, "score", TABLE1, str(ROOT / "examples" / "table1-typical.yaml"), "--out", str(sheet)
    )
    assert code == 0, err
    assert sheet.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")


def test_a_gbk_console_gets_readable_output() -> None:
    # A Chinese Windows console encodes GBK, which has no U+2212 MINUS SIGN: the table must still
    # print (the minus as "-"), not die with UnicodeEncodeError and exit 3.
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    done = subprocess.run(
        [sys.executable, "-m", "rubric", "score", TABLE1, str(ROOT / "examples" / "table1-typical.yaml")],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("gbk", "replace")
    text = done.stdout.decode("gbk")  # every byte is GBK
    assert "总分 83 / 100" in text
    assert "-2  不及时调整扣2分" in text


def test_a_gbk_console_gets_readable_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("T1-02: {documents: [年报]}\n", encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}  # the worst console: not even Chinese
    done = subprocess.run(
        [sys.executable, "-m", "rubric", "score", TABLE1, str(bad)],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "unknown-item: T1-02.documents[0]: unknown item '??'" in done.stderr.decode("ascii")


class Terminal(io.StringIO):
    """Standard error as a terminal."""

    def isatty(self) -> bool:
        return True


def big_input(tmp_path: Path, units: int) -> Path:
    source = tmp_path / "units.csv"
    source.write_text(typical_csv([f"u{n}" for n in range(units)]), encoding="utf-8")
    return source


def test_a_batch_on_a_terminal_shows_progress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tqdm")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = main(["batch", TABLE1, str(big_input(tmp_path, 250)), "--out", str(tmp_path / "r.jsonl")])
    assert code == 0
    shown = terminal.getvalue()
    assert "scoring: 100%" in shown  # every byte of the file read
    assert "250 records" in shown
    assert shown.rstrip().endswith("read 250, scored 250, rejected 0, blank 0")


def test_the_plain_progress_line_without_tqdm_has_records_share_and_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if the progress extra were not installed
    terminal, tally = Terminal(), Tally()
    tally.done, tally.total = 500, 1000
    bar = ProgressBar(terminal)
    bar(100, tally)
    bar.close()
    line = terminal.getvalue()
    assert line.startswith("\rscoring: 100 records, ")
    assert "50% of 1000 bytes" in line
    assert "s left" in line


def test_a_batch_into_a_pipe_or_log_shows_no_progress(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "batch", TABLE1, str(big_input(tmp_path, 250)), "--out", str(tmp_path / "r.jsonl")
    )
    assert code == 0
    assert err == "read 250, scored 250, rejected 0, blank 0\n"
