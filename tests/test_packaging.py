"""The package as a newcomer gets it: its name, its entry points, and an sdist that can test itself."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import rubric

ROOT = Path(__file__).resolve().parent.parent


def test_the_distribution_name_is_not_the_unrelated_rubric_on_the_index() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "rubric-engine"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # every install from the index names the distribution, never the other project
    assert not re.search(r"pip install '?rubric[\[' ]", readme)
    assert "pip install rubric-engine" in readme


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    pythons = {c.rsplit(" ", 1)[1] for c in project["classifiers"] if re.search(r":: 3\.\d+$", c)}
    assert pythons == {"3.11", "3.12", "3.13"}


def test_python_dash_m_rubric_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rubric", "--version"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip().endswith(rubric.__version__)


def test_every_folder_the_tests_read_is_grafted_into_the_sdist() -> None:
    grafted = {
        line.split()[1]
        for line in (ROOT / "MANIFEST.in").read_text(encoding="utf-8").splitlines()
        if line.startswith("graft ")
    }
    read = set()
    for test in (ROOT / "tests").glob("*.py"):
        text = test.read_text(encoding="utf-8")
        read |= set(re.findall(r'ROOT / "([a-z]+)"', text))
        read |= set(re.findall(r'"((?:rubrics|examples|schema|docs|benchmarks|fuzz))/', text))
    assert read >= {"rubrics", "examples", "benchmarks"}  # the scan itself finds what it must
    assert read - {"src"} <= grafted | {"tests"}
    assert "tests" in grafted
