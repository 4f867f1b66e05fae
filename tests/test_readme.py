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


def test_the_readmes_python_examples_pass_mypy_strict_as_a_caller_would_check_them(tmp_path: Path) -> None:
    # A caller's own strict type check of the documented API: precise types, not unions to narrow.
    mypy_api = pytest.importorskip("mypy.api")
    files = []
    for index, block in enumerate(BLOCKS):
        path = tmp_path / f"readme_block_{index + 1}.py"
        path.write_text(block, encoding="utf-8")
        files.append(str(path))
    # The caller's own settings: none but --strict, and pyarrow (which ships no type information)
    # not analysed, as any caller using it must say.
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n\n[mypy-pyarrow.*]\nignore_missing_imports = True\n", encoding="utf-8")
    out, err, status = mypy_api.run(
        ["--strict", "--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), *files]
    )
    assert status == 0, out + err
