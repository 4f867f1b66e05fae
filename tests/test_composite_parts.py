"""A composite names its parts, and those names are not trusted: parts stay inside the composite's
folder (unless the caller allows more), only regular files are opened, and a part's own text is
never echoed into the composite's errors (a composite must not be a way to read other files).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import rubric

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = (ROOT / "rubrics" / "table1.yaml").read_bytes()
SECRET = "db_password: hunter2\napi_token: s3cr3t-t0ken\n"


def composite(folder: Path, part: str) -> Path:
    """A composite of one part named ``part`` (as written in the file), weighed 1."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "c.yaml"
    path.write_text(
        f'id: c\nversion: "1"\ntitle: 组合\npoints: 100\nparts: {{t: "{part}"}}\n'
        "evidence: {window: {type: flag, label: 窗口}}\n"
        "branches:\n  - when: window\n    clause: 全部\n    weights: {t: 1}\n",
        encoding="utf-8",
    )
    return path


def codes(error: rubric.RubricError) -> list[str]:
    return [p.code for p in error.problems]


@pytest.mark.parametrize("name", ["../table1.yaml", "sub/../../table1.yaml"])
def test_a_part_that_climbs_out_of_the_composites_folder_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / "table1.yaml").write_bytes(TABLE1)
    path = composite(tmp_path / "c", name)
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(path)
    assert codes(caught.value) == ["part-outside"]
    assert caught.value.problems[0].path == ("parts", "t")
    assert caught.value.problems[0].file == str(path)


def test_a_part_named_by_absolute_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "table1.yaml").write_bytes(TABLE1)
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(composite(tmp_path / "c", str(tmp_path / "table1.yaml")))
    assert codes(caught.value) == ["part-outside"]


def test_dev_stdin_as_a_part_is_refused(tmp_path: Path) -> None:
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load_composite(composite(tmp_path, "/dev/stdin"))
    assert codes(caught.value) == ["part-outside"]


def test_a_symbolic_link_inside_the_folder_that_leads_out_of_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "table1.yaml").write_bytes(TABLE1)
    (tmp_path / "c").mkdir()
    os.symlink(tmp_path / "table1.yaml", tmp_path / "c" / "t.yaml")
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(composite(tmp_path / "c", "t.yaml"))
    assert codes(caught.value) == ["part-outside"]


def test_a_part_in_a_subfolder_loads(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "table1.yaml").write_bytes(TABLE1)
    loaded = rubric.load_composite(composite(tmp_path, "sub/table1.yaml"))
    assert list(loaded.parts) == ["t"]


def test_the_caller_may_allow_parts_outside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "table1.yaml").write_bytes(TABLE1)
    loaded = rubric.load(composite(tmp_path / "c", "../table1.yaml"), allow_outside=True)
    assert isinstance(loaded, rubric.Composite)
    absolute = rubric.load_composite(
        composite(tmp_path / "d", str(tmp_path / "table1.yaml")), allow_outside=True
    )
    assert absolute.parts["t"].id == "kaifu-2013-table1"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_part_is_an_error_and_not_a_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "t.yaml")
    path = composite(tmp_path, "t.yaml")
    outcome: list[BaseException | object] = []

    def load() -> None:
        try:
            outcome.append(rubric.load(path, allow_outside=True))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=60)  # a hang guard only: the load returns at once
    if worker.is_alive():  # free the thread blocked in open() before failing
        os.close(os.open(tmp_path / "t.yaml", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("loading a composite whose part is a FIFO hung")
    assert isinstance(outcome[0], rubric.RubricError)
    assert codes(outcome[0]) == ["not-a-file"]


def test_a_folder_named_as_a_part_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").mkdir()
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(composite(tmp_path, "t.yaml"))
    assert codes(caught.value) == ["not-a-file"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (SECRET, "unknown-key"),
        (SECRET + "db_password: again\n", "duplicate-key"),
        (SECRET + "other_token: [s3cr3t\n", "yaml-syntax"),
        ("- db_password\n- hunter2\n", "wrong-type"),
    ],
)
def test_errors_in_a_part_never_quote_the_parts_text(tmp_path: Path, text: str, code: str) -> None:
    (tmp_path / "secrets.yaml").write_text(text, encoding="utf-8")
    for allow_outside in (False, True):
        with pytest.raises(rubric.RubricError) as caught:
            rubric.load(composite(tmp_path, "secrets.yaml"), allow_outside=allow_outside)
        assert code in codes(caught.value)
        shown = str(caught.value) + "\n".join(map(str, caught.value.problems)) + repr(caught.value.problems)
        for word in ("db_password", "hunter2", "api_token", "s3cr3t"):
            assert word not in shown
        first = caught.value.problems[0]
        assert first.file == str(tmp_path / "secrets.yaml")
        assert first.line is not None
        assert first.path == ("parts", "t")


def test_load_rubric_refuses_a_composite_and_load_composite_a_rubric() -> None:
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load_rubric(ROOT / "rubrics" / "department.yaml")
    assert codes(caught.value) == ["not-a-rubric"]
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load_composite(ROOT / "rubrics" / "table1.yaml")
    assert codes(caught.value) == ["not-a-composite"]
    assert isinstance(rubric.load_rubric(ROOT / "rubrics" / "table1.yaml"), rubric.Rubric)
    assert isinstance(rubric.load_composite(ROOT / "rubrics" / "department.yaml"), rubric.Composite)
