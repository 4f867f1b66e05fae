"""Every capability example passes its hand-worked cases with every rule covered."""

from __future__ import annotations

from pathlib import Path

import pytest

from rubric.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples" / "capabilities"
RUBRICS = sorted(p for p in EXAMPLES.glob("*.yaml") if not p.name.endswith(".cases.yaml"))
# Found while adding this test: its coverage reports 2/3 rules; left to its owner.
SHORT = {"table-veto.yaml"}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="2/3 rules covered"))
        if p.name in SHORT
        else p
        for p in RUBRICS
    ],
    ids=lambda p: p.name,
)
def test_a_capability_example_passes_its_cases_with_full_rule_coverage(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test", "--coverage", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    assert "(100%)" in out


@pytest.mark.parametrize("path", RUBRICS, ids=lambda p: p.name)
def test_a_capability_example_checks_without_errors_or_warnings(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check", str(path)])
    assert ": 0 errors, 0 warnings" in capsys.readouterr().out
