"""Every table shape of examples/capabilities/ passes its hand-worked cases, covers every rule, and
checks clean; and the details of the plain weighted composite."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import rubric

ROOT = Path(__file__).resolve().parent.parent
CAPABILITIES = ROOT / "examples" / "capabilities"
EXAMPLES = sorted(p.name.removesuffix(".cases.yaml") for p in CAPABILITIES.glob("*.cases.yaml"))


def test_the_capability_examples_are_all_found() -> None:
    assert {"bonus-penalty", "hierarchy", "table-veto", "weighted-composite"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_a_capability_example_passes_its_cases_covers_every_rule_and_checks_clean(name: str) -> None:
    cases = rubric.load_cases(CAPABILITIES / f"{name}.cases.yaml")
    outcomes = rubric.run_cases(cases)
    assert [o.case.name for o in outcomes if not o.passed] == []
    covered = rubric.coverage(cases.rubric, outcomes)
    assert covered.covered == covered.total, covered
    assert [str(p) for p in rubric.check(cases.rubric) if p.severity == "error"] == []


def test_a_scaled_part_records_its_total_and_the_rounded_scaled_total_in_the_audit() -> None:
    composite = rubric.load_composite(CAPABILITIES / "weighted-composite.yaml")
    result = composite.score({"written": {"W-01": {"missing_docs": 1}}, "onsite": {"O-01": {"problems": 0}}})
    written = next(e for e in result.audit if e.rule.endswith(".written"))
    # 书面 70 of 75, 折算 70 × 100 ÷ 75 = 93.333… → 93.33 (places 2, half up), × 0.7 = 65.331
    assert dict(written.inputs) == {"total": "70", "scaled": "93.33", "weight": "0.7"}
    assert written.points == Decimal("65.331")


def test_a_composite_gives_branches_or_plain_weights_not_both(tmp_path: Path) -> None:
    text = (CAPABILITIES / "weighted-composite.yaml").read_text(encoding="utf-8")
    both = text + "branches:\n  - {clause: 总是, weights: {written: 1}}\n"
    for name in ("weighted-written.yaml", "weighted-onsite.yaml"):
        (tmp_path / name).write_text((CAPABILITIES / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "both.yaml").write_text(both, encoding="utf-8")
    with pytest.raises(rubric.RubricError) as caught:
        rubric.load(tmp_path / "both.yaml")
    assert "either branches" in str(caught.value)
