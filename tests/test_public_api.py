"""The public surface: every exported name imports, the examples score as worked out by hand,
and the command line maps every failure to its exit code without a traceback."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

import pytest

import rubric
from rubric import cli

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", rubric.__all__)
def test_every_exported_name_imports(name: str) -> None:
    assert getattr(rubric, name) is not None


def test_the_export_list_is_sorted_and_complete() -> None:
    assert rubric.__all__ == sorted(rubric.__all__)
    public = {
        n for n in dir(rubric) if not n.startswith("_") and not isinstance(getattr(rubric, n), type(rubric))
    }
    assert public <= set(rubric.__all__)


# Composite totals, by 附2 注明 "按表一(占60%)和表二(40%)": table1 perfect 100,
# typical 83, veto 93; table2 perfect 100, typical 67.5, capped 99 (奖励加分封顶20).
@pytest.mark.parametrize(
    ("example", "total"),
    [
        ("department-perfect", Decimal("100")),  # 100×0.6 + 100×0.4 = 60 + 40
        ("department-typical", Decimal("76.8")),  # 83×0.6 + 67.5×0.4 = 49.8 + 27
        ("department-veto", Decimal("95.8")),  # 93×0.6 + 100×0.4 = 55.8 + 40
        ("department-capped", Decimal("99.6")),  # 100×0.6 + 99×0.4 = 60 + 39.6
        ("department-no-window", Decimal("83")),  # 未设置窗口的部门，按表一: 83
    ],
)
def test_the_composite_examples_score_as_worked_out_by_hand(example: str, total: Decimal) -> None:
    department = rubric.load(ROOT / "rubrics" / "department.yaml")
    record = rubric.load_evidence(ROOT / "examples" / f"{example}.yaml")
    assert department.score(record.data, positions=record.positions).total == total


def test_an_output_folder_that_does_not_exist_is_a_file_error(tmp_path: Path) -> None:
    table1 = rubric.load(ROOT / "rubrics" / "table1.yaml")
    source = tmp_path / "in.jsonl"
    source.write_text("", encoding="utf-8")
    with pytest.raises(rubric.FileError) as caught:
        rubric.run_batch(table1, source, tmp_path / "missing" / "out.jsonl")
    assert caught.value.code == "io"
    assert isinstance(caught.value, rubric.RubricEngineError)


def test_an_internal_error_exits_3_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "load", broken)
    code = cli.main(
        ["score", str(ROOT / "rubrics" / "table1.yaml"), str(ROOT / "examples" / "table1-typical.yaml")]
    )
    err = capsys.readouterr().err
    assert code == 3
    assert "internal error: RuntimeError: a bug" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback_of_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "load", broken)
    with pytest.raises(RuntimeError):
        cli.main(["--debug", "score", "x.yaml", "y.yaml"])


def test_batch_into_a_missing_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("", encoding="utf-8")
    code = cli.main(
        [
            "batch",
            str(ROOT / "rubrics" / "table1.yaml"),
            str(source),
            "--out",
            str(tmp_path / "missing" / "out.jsonl"),
        ]
    )
    assert code == 2
    assert "io:" in capsys.readouterr().err


def test_scoring_ignores_the_callers_decimal_context() -> None:
    # A caller's prec=2 with ROUND_FLOOR would turn 83 × 0.6 + 67.5 × 0.4 = 76.8 into 76 and trap
    # on inexact results; the engine computes in its own exact context.
    department = rubric.load(ROOT / "rubrics" / "department.yaml")
    record = rubric.load_evidence(ROOT / "examples" / "department-typical.yaml").data
    with decimal.localcontext(prec=2, rounding=decimal.ROUND_FLOOR, traps=[decimal.Inexact, decimal.Rounded]):
        result = department.score(record)
        assert result.total == Decimal("76.8")
        assert '"total": "76.8"' in result.to_json()
