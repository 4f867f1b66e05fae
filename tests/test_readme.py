"""The README's Python examples run as written (from a folder holding the shipped rubrics and examples)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_a_readme_python_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("rubrics", "examples"):
        os.symlink(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(
        compile(BLOCKS[index], f"README.md block {index + 1}", "exec"), namespace
    )  # the README is our own text
    for name, value in namespace.items():  # a block that defines tests gets them run too
        if name.startswith("test_") and callable(value):
            value()
