"""rubric check on a composite: its own reachable range, and each part file's findings once."""

from __future__ import annotations

import shutil
from pathlib import Path

import rubric

ROOT = Path(__file__).resolve().parent.parent


def test_a_composite_reports_its_own_reachable_total() -> None:
    department = rubric.load_composite(ROOT / "rubrics" / "department.yaml")
    ranges = [
        p.message
        for p in rubric.check(department)
        if p.code == "range" and p.file.endswith("department.yaml")
    ]
    # 附2 注明: with a window 表一 [1, 100] × 0.6 + 表二 [0, 100] × 0.4 = [0.6, 100]; without,
    # 表一 [1, 100] × 1; the widest over both branches: 0.6 to 100.
    assert ranges == ["reachable total: 0.6 to 100 (exact)"]


def test_a_rubric_file_used_by_two_parts_is_reported_once(tmp_path: Path) -> None:
    for name in ("table1.yaml", "table2.yaml"):
        shutil.copy(ROOT / "rubrics" / name, tmp_path / name)
    text = (ROOT / "rubrics" / "department.yaml").read_text(encoding="utf-8")
    (tmp_path / "twice.yaml").write_text(
        text.replace("  table2: table2.yaml", "  table2: table2.yaml\n  again: table1.yaml"), encoding="utf-8"
    )
    composite = rubric.load_composite(tmp_path / "twice.yaml")
    assert set(composite.parts) == {"table1", "table2", "again"}
    from_table1 = [p for p in rubric.check(composite) if p.file.endswith("table1.yaml")]
    once = rubric.check(rubric.load_rubric(tmp_path / "table1.yaml"))
    assert [str(p) for p in from_table1] == [str(p) for p in once]
