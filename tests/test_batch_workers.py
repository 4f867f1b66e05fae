"""``rubric batch --workers N`` under attack: a worker killed, Ctrl-C, raised limits, deep records.

The process tests start a real ``python -m rubric.cli batch`` and disturb it while it writes; the
timeouts only guard against a hang (each run needs well under a second of work to be disturbed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import rubric
from rubric._batch import score_stream
from rubric._readers import Item
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = str(ROOT / "rubrics" / "table1.yaml")
HANG_GUARD = 60  # seconds; never reached by a run that works

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds workers through /proc")


def example(name: str) -> Any:
    return yaml.safe_load((ROOT / "examples" / f"{name}.yaml").read_text(encoding="utf-8"))


def jline(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n"


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200,000 表一 records: far more than any test waits for."""
    block = "".join(jline(example(f"table1-{n}")) for n in ("perfect", "typical", "veto", "floor")) * 1000
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for _ in range(50):
            handle.write(block)
    return path


def start(argv: list[str], *, group: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(rubric.__file__).resolve().parent.parent)}
    return subprocess.Popen(
        [sys.executable, "-m", "rubric.cli", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=group,  # its own process group, as a shell gives a pipeline
    )


def temporary_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def wait_for_output(process: subprocess.Popen[bytes], folder: Path) -> None:
    """Wait until results are being written (a temporary file has grown)."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        for path in folder.iterdir():
            if path.name.startswith(".out.jsonl.") and path.name.endswith(".tmp"):
                try:
                    if path.stat().st_size > 0:
                        return
                except FileNotFoundError:
                    pass
        assert process.poll() is None, "the batch ended before it could be disturbed"
        time.sleep(0.02)
    process.kill()
    pytest.fail("no output appeared")


def workers_of(pid: int) -> list[int]:
    """The worker processes of a batch (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = []
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in command:
            found.append(child)
    return found


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("the batch hung")
    return process.returncode, err.decode("utf-8", "replace")


def previous_output(tmp_path: Path) -> tuple[Path, Path, bytes]:
    out = tmp_path / "out.jsonl"
    errors = tmp_path / "out.jsonl.errors.jsonl"
    before = "上次的结果\n".encode()
    out.write_bytes(before)
    errors.write_bytes(b"old errors\n")
    return out, errors, before


def disturb(
    big_input: Path, tmp_path: Path, how: Callable[[subprocess.Popen[bytes]], None]
) -> tuple[int, str]:
    """Run a two-worker batch over previous outputs, disturb it once it writes, and check that the
    previous outputs survive with no temporary file left; return its exit code and stderr."""
    out, errors, before = previous_output(tmp_path)
    process = start(["batch", TABLE1, str(big_input), "--out", str(out), "--workers", "2"], group=True)
    try:
        wait_for_output(process, tmp_path)
        how(process)
        code, err = finish(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "Traceback" not in err
    assert out.read_bytes() == before
    assert errors.read_bytes() == b"old errors\n"
    assert temporary_files(tmp_path) == []
    return code, err


def kill_a_worker(process: subprocess.Popen[bytes]) -> None:
    victims = workers_of(process.pid)
    assert len(victims) == 2
    os.kill(victims[0], signal.SIGKILL)


def test_a_killed_worker_ends_the_run_with_exit_2_and_leaves_the_previous_output(
    big_input: Path, tmp_path: Path
) -> None:
    code, err = disturb(big_input, tmp_path, kill_a_worker)
    assert code == 2, err
    assert "worker-died" in err


def test_ctrl_c_to_the_whole_process_group_exits_130_quietly(big_input: Path, tmp_path: Path) -> None:
    # what a terminal's Ctrl-C does: every process of the group gets SIGINT
    code, err = disturb(big_input, tmp_path, lambda p: os.killpg(p.pid, signal.SIGINT))
    assert code == 130, err
    assert err.strip() == "interrupted"


def test_sigint_to_the_batch_process_alone_exits_130_quietly(big_input: Path, tmp_path: Path) -> None:
    code, err = disturb(big_input, tmp_path, lambda p: p.send_signal(signal.SIGINT))
    assert code == 130, err


# A rubric nested 77 levels deep (a rule's condition is 70 `not`s around a flag): over the default
# limit of 64, loadable with --max-depth 200. not⁷⁰(on) = on, so 扣2分 applies when on is true:
#   on: true → 5 − 2 = 3;   on: false → 5.
def deep_rubric(folder: Path) -> Path:
    condition: Any = "on"
    for _ in range(70):
        condition = {"not": condition}
    criterion = {
        "id": "D-01",
        "number": 1,
        "content": "深层条件",
        "points": 5,
        "standard": "开则扣2分",
        "evidence": {"on": {"type": "flag", "label": "开"}},
        "rules": [{"deduct": 2, "when": condition, "clause": "扣2分"}],
    }
    document = {
        "id": "deep",
        "version": "1",
        "title": "深",
        "points": 5,
        "categories": [{"id": "A", "name": "甲", "criteria": [criterion]}],
    }
    path = folder / "deep.yaml"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_workers_load_the_rubric_with_the_limits_of_the_command_line(tmp_path: Path) -> None:
    path = deep_rubric(tmp_path)
    source = tmp_path / "in.jsonl"
    source.write_text(
        jline({"unit": "开", "evidence": {"D-01": {"on": True}}}) + jline({"D-01": {"on": False}})
    )
    out = tmp_path / "out.jsonl"
    process = start(
        ["--max-depth", "200", "batch", str(path), str(source), "--out", str(out), "--workers", "2"]
    )
    code, err = finish(process)
    assert code == 0, err
    assert [(r["unit"], r["total"]) for r in map(json.loads, out.read_text().splitlines())] == [
        ("开", "3"),
        ("2", "5"),
    ]


def test_a_worker_that_cannot_start_ends_the_run_instead_of_respawning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A scorer whose source no longer loads (as if corrupted on its way): every worker fails while
    # starting, and the run must end rather than start workers forever.
    scorer = rubric.load(deep_rubric(tmp_path), limits=rubric.Limits(max_depth=200))
    object.__setattr__(scorer, "source", b"categories: [unclosed\n")
    items = iter([Item(1, "1", {"D-01": {"on": True}})])
    with pytest.raises(rubric.RubricEngineError) as caught:
        list(score_stream(scorer, items, workers=2))
    assert [p.code for p in caught.value.problems] == ["worker-died"]


def test_a_record_too_deep_to_send_to_a_worker_is_rejected_as_with_one_worker(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    deep = "[" * 800 + "]" * 800  # within --max-depth 5000, deeper than pickle goes
    source = tmp_path / "in.jsonl"
    source.write_text(
        jline({"unit": "好", "evidence": example("table1-typical")})
        + '{"unit": "深", "evidence": {"T1-01": {"sound": '
        + deep
        + ', "adjusted": true}}}\n'
    )
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        code = main(
            ["--max-depth", "5000", "batch", TABLE1, str(source), "--out", str(out), "--workers", workers]
        )
        err = capsys.readouterr().err
        assert code == 1, err
        outputs.append((out.read_bytes(), Path(f"{out}.errors.jsonl").read_bytes()))
    assert outputs[0] == outputs[1]
    (rejected,) = [json.loads(line) for line in outputs[0][1].decode().splitlines()]
    assert rejected["unit"] == "深"
    assert rejected["line"] == 2


def test_workers_never_read_more_than_two_chunks_each_ahead_of_the_output() -> None:
    record = example("table1-typical")
    consumed = 0

    def items() -> Iterator[Item]:
        nonlocal consumed
        for line in range(1, 20_001):
            consumed += 1
            yield Item(line, str(line), record)

    scorer = rubric.load(TABLE1)
    stream = score_stream(scorer, items(), workers=2)
    first = next(stream)
    assert first.line == 1
    # 2 workers × 2 chunks in flight, and the chunk being cut: at most 5 × 500 records read
    assert consumed <= 5 * 500
    stream.close()  # shuts the pool down
