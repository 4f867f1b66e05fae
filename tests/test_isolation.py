"""A loaded rubric is isolated from its caller: from the caller's decimal context (in both
directions), from files edited after loading (pickles carry sources, not paths), and from callers
who try to change a result after the fact.

The rubric below pays 14.50 per praise (written with a trailing zero, as a table might), so a
context with two digits of precision would turn one praise into 14 points.
"""

from __future__ import annotations

import dataclasses
import decimal
import pickle
import threading
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import rubric

ROOT = Path(__file__).resolve().parent.parent

PRAISE = """\
id: praise
version: "1"
title: 表彰加分
points: 20
categories:
  - id: 加分
    name: 加分
    criteria:
      - id: P-01
        number: 1
        content: 受到表彰
        points: 20
        standard: 每件得14.50分
        start: zero
        evidence:
          praises: {type: count, label: 表彰件数}
          attendance: {type: assessed, label: 考勤, range: [3, 5], step: 0.5}
        rules:
          - award_each: praises
            points: 14.50
            clause: 每件得14.50分
          - deduct_assessed: attendance
            clause: 酌情扣3—5分
"""

ONE_PRAISE = {"P-01": {"praises": 1, "attendance": []}}
# 14.50 × 1 − 3.5 = 11
ONE_PRAISE_LATE = {"P-01": {"praises": 1, "attendance": [{"points": Decimal("3.5"), "reason": "迟到"}]}}

EVERY_TRAP = [
    decimal.Clamped,
    decimal.DivisionByZero,
    decimal.Inexact,
    decimal.InvalidOperation,
    decimal.Overflow,
    decimal.Rounded,
    decimal.Subnormal,
    decimal.Underflow,
    decimal.FloatOperation,
]


def praise_rubric(tmp_path: Path) -> Path:
    path = tmp_path / "praise.yaml"
    path.write_text(PRAISE, encoding="utf-8")
    return path


# --- the caller's decimal context --------------------------------------------------------------


def test_a_rubric_loaded_under_a_two_digit_context_still_pays_14_50_later(tmp_path: Path) -> None:
    with decimal.localcontext(prec=2, rounding=decimal.ROUND_FLOOR):
        loaded = rubric.load_rubric(praise_rubric(tmp_path))
    assert loaded.score(ONE_PRAISE).total == Decimal("14.50")
    assert loaded.score(ONE_PRAISE_LATE).total == Decimal("11")


@pytest.mark.parametrize("prec", [1, 2, 3])
def test_loading_and_scoring_under_every_trap_raise_no_decimal_signal(tmp_path: Path, prec: int) -> None:
    # prec=1 once made the step check of an assessed range (3 % 0.5) raise DivisionImpossible.
    with decimal.localcontext(prec=prec, Emax=5, Emin=-5, traps=EVERY_TRAP):
        loaded = rubric.load_rubric(praise_rubric(tmp_path))
        department = rubric.load_composite(ROOT / "rubrics" / "department.yaml")
        assert loaded.score(ONE_PRAISE_LATE).total == Decimal("11")
        assert loaded.score(ONE_PRAISE, audit=False).total == Decimal("14.5")
        record = rubric.load_evidence(ROOT / "examples" / "department-typical.yaml").data
        assert department.score(record).total == Decimal("76.8")  # 83 × 0.6 + 67.5 × 0.4
        with pytest.raises(rubric.EvidenceError):
            loaded.score({"P-01": {"praises": 1, "attendance": [{"points": Decimal("3.25"), "reason": "r"}]}})


class ContextChangingRecord(dict[str, Any]):
    """A record whose lookups (code of the caller's, run inside score) wreck the current context."""

    def get(self, key: str, default: Any = None) -> Any:
        context = decimal.getcontext()
        context.prec = 2
        context.rounding = decimal.ROUND_FLOOR
        context.traps[decimal.Inexact] = True
        return super().get(key, default)


def test_code_run_inside_score_cannot_change_the_context_of_later_scores(tmp_path: Path) -> None:
    loaded = rubric.load_rubric(praise_rubric(tmp_path))
    loaded.score(ContextChangingRecord(ONE_PRAISE))
    assert loaded.score(ONE_PRAISE).total == Decimal("14.50")
    totals: list[Decimal] = []
    thread = threading.Thread(target=lambda: totals.append(loaded.score(ONE_PRAISE_LATE).total))
    thread.start()
    thread.join()
    assert totals == [Decimal("11")]
    assert decimal.getcontext().prec == decimal.DefaultContext.prec  # the caller's own is untouched


# --- pickles carry sources and limits -----------------------------------------------------------


def composite_folder(tmp_path: Path) -> Path:
    for name in ("table1", "table2"):
        (tmp_path / f"{name}.yaml").write_bytes((ROOT / "rubrics" / f"{name}.yaml").read_bytes())
    path = tmp_path / "department.yaml"
    path.write_bytes((ROOT / "rubrics" / "department.yaml").read_bytes())
    return path


def test_a_pickled_composite_scores_what_was_loaded_even_after_its_files_change(tmp_path: Path) -> None:
    path = composite_folder(tmp_path)
    department = rubric.load_composite(path)
    record = rubric.load_evidence(ROOT / "examples" / "department-typical.yaml").data
    shipped = pickle.dumps(department)
    path.write_text(
        path.read_text(encoding="utf-8").replace("{table1: 0.6, table2: 0.4}", "{table1: 0.5, table2: 0.5}"),
        encoding="utf-8",
    )
    (tmp_path / "table2.yaml").write_text("not: a rubric\n", encoding="utf-8")
    copy_ = pickle.loads(shipped)
    assert copy_.score(record).total == Decimal("76.8")  # 83 × 0.6 + 67.5 × 0.4, as loaded
    assert copy_.score(record).to_json() == department.score(record).to_json()


def test_batch_with_two_workers_scores_the_composite_as_loaded_after_its_file_changes(tmp_path: Path) -> None:
    path = composite_folder(tmp_path)
    department = rubric.load_composite(path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("{table1: 0.6, table2: 0.4}", "{table1: 0.5, table2: 0.5}"),
        encoding="utf-8",
    )
    units = ROOT / "examples" / "department-units.jsonl"
    rubric.run_batch(department, units, tmp_path / "one.jsonl", workers=1)
    rubric.run_batch(department, units, tmp_path / "two.jsonl", workers=2)
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()


def deep_rubric(levels: int) -> str:
    condition = "sound"
    for _ in range(levels):
        condition = "{not: {not: " + condition + "}}"
    return PRAISE.replace(
        "          - deduct_assessed: attendance\n",
        "          - deduct: 1\n"
        f"            when: {condition}\n"
        "            clause: 不健全扣1分\n"
        "          - deduct_assessed: attendance\n",
    ).replace(
        "          praises: {type: count, label: 表彰件数}\n",
        "          praises: {type: count, label: 表彰件数}\n          sound: {type: flag, label: 健全}\n",
    )


def test_a_rubric_loaded_with_raised_limits_unpickles(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(deep_rubric(40), encoding="utf-8")  # 80 nested conditions, beyond the 64 default
    with pytest.raises(rubric.RubricError, match="too-deep"):
        rubric.load(path)
    deep = rubric.load_rubric(path, limits=rubric.Limits(max_depth=200))
    copy_ = pickle.loads(pickle.dumps(deep))
    record = {"P-01": {"praises": 1, "attendance": [], "sound": True}}
    assert copy_.score(record).total == deep.score(record).total == Decimal("13.5")  # 14.50 − 1


def test_a_pickled_composite_keeps_its_raised_limits(tmp_path: Path) -> None:
    (tmp_path / "deep.yaml").write_text(deep_rubric(40), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        'id: c\nversion: "1"\ntitle: 组合\npoints: 20\nparts: {deep: deep.yaml}\n'
        "evidence: {window: {type: flag, label: 窗口}}\n"
        "branches:\n  - when: window\n    clause: 全部\n    weights: {deep: 1}\n",
        encoding="utf-8",
    )
    composite = rubric.load_composite(tmp_path / "c.yaml", limits=rubric.Limits(max_depth=200))
    copy_ = pickle.loads(pickle.dumps(composite))
    record = {"window": True, "deep": {"P-01": {"praises": 1, "attendance": [], "sound": True}}}
    assert copy_.score(record).total == Decimal("13.5")


# --- results cannot be changed after the fact ---------------------------------------------------


def mutable_parts(value: Any, path: str = "result") -> list[str]:
    """Every list, dict or set reachable from a result through its public attributes."""
    if isinstance(value, (list, dict, set, bytearray)):
        return [path]
    found: list[str] = []
    if isinstance(value, rubric.Result):
        for name in ("rubric", "categories", "adjustments", "evidence"):
            found += mutable_parts(getattr(value, name), f"{path}.{name}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            if not item.name.startswith("_"):
                found += mutable_parts(getattr(value, item.name), f"{path}.{item.name}")
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            found += mutable_parts(item, f"{path}[{index}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            found += mutable_parts(item, f"{path}[{key!r}]")
    return found


def typical(name: str) -> Any:
    return rubric.load_evidence(ROOT / "examples" / f"{name}-typical.yaml").data


@pytest.mark.parametrize("name", ["table1", "table2", "table3", "department"])
def test_nothing_reachable_from_a_result_is_a_mutable_container(name: str) -> None:
    result = rubric.load(ROOT / "rubrics" / f"{name}.yaml").score(typical(name))
    assert mutable_parts(result) == []


def test_changing_a_results_evidence_raises_and_leaves_its_hash_and_audit_as_they_were() -> None:
    table1 = rubric.load_rubric(ROOT / "rubrics" / "table1.yaml")
    result = table1.score(typical("table1"))
    before = (result.evidence_sha256, result.to_json())
    with pytest.raises(TypeError):
        result.evidence["T1-01"] = {"sound": False}  # type: ignore[index]
    with pytest.raises(TypeError):
        result.evidence["T1-01"]["sound"] = False  # type: ignore[index]
    with pytest.raises(AttributeError):
        result.evidence["T1-02"]["documents"].append("年报")
    fresh = table1.score(typical("table1"))
    assert (result.evidence_sha256, result.to_json()) == before
    assert fresh.evidence_sha256 == before[0]
    assert result.evidence == fresh.evidence


def test_changing_a_composite_results_evidence_raises_and_it_still_pickles() -> None:
    department = rubric.load_composite(ROOT / "rubrics" / "department.yaml")
    result = department.score(typical("department"))
    sha = result.evidence_sha256
    with pytest.raises(TypeError):
        result.evidence["facts"]["has_window"] = False
    with pytest.raises(TypeError):
        result.evidence["table1"]["T1-01"]["sound"] = False
    assert result.evidence_sha256 == sha
    copy_ = pickle.loads(pickle.dumps(result))
    assert copy_ == result
    assert copy_.evidence == result.evidence
    assert copy_.evidence_sha256 == sha
