"""Printable HTML: the 评分表 of one unit and the ranked 通报, checked as text and as a browser
renders them (headless Chromium prints each page to PDF; the test reads the PDF's text back)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import rubric
from rubric.cli import main

ROOT = Path(__file__).resolve().parent.parent
TABLE1 = str(ROOT / "rubrics" / "table1.yaml")
HOSTILE = "<script>alert(1)</script>"
BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
needs_browser = pytest.mark.skipif(
    BROWSER is None or shutil.which("pdftotext") is None,
    reason="no headless browser (chromium) or no pdftotext: "
    "apt-get install chromium poppler-utils fonts-noto-cjk",
)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = rubric.load_evidence(ROOT / "examples" / f"{name}.yaml").data
    return data


def page(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def chromium(html: Path, folder: Path, *flags: str) -> None:
    """Load the page in headless Chromium (its own profile in the test's folder) with ``flags``."""
    assert BROWSER is not None
    command = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={folder / 'profile'}",
    ]
    subprocess.run(
        [*command, *flags, html.as_uri()], check=True, capture_output=True, timeout=300
    )  # hang guard


def render_pdf_text(html: Path, folder: Path) -> str:
    """Print the page to PDF in headless Chromium and read its text back (what a printer gets)."""
    pdf = folder / (html.stem + ".pdf")
    chromium(html, folder, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    done = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=120
    )
    return done.stdout.decode("utf-8")


def screenshot(html: Path, folder: Path) -> Path:
    """A PNG of the page as a browser window shows it."""
    png = folder / (html.stem + ".png")
    chromium(html, folder, "--window-size=900,1300", f"--screenshot={png}")
    return png


def test_the_score_sheet_is_one_self_contained_page_with_a4_print_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    html = page(capsys, "score", TABLE1, str(ROOT / "examples" / "table1-typical.yaml"), "--format", "html")
    # nothing fetched from anywhere: no links, scripts, images or URLs
    for outside in ("http://", "https://", "<link", "<script", "<img", "src=", "@import", "url("):
        assert outside not in html
    for rule in ("@page", "size: A4", "margin:", "display: table-header-group", "break-inside: avoid"):
        assert rule in html
    assert '"Noto Serif CJK SC", "Source Han Serif SC"' in html
    assert '"SimSun", "宋体"' in html


def test_the_score_sheet_follows_the_table_and_stamps_what_scored_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 表一 typical, 83: 序号1 3 of 5 (不及时调整扣2分), 序号11 3 of 5 on its tier, 2 not earned.
    evidence = ROOT / "examples" / "table1-typical.yaml"
    html = page(capsys, "score", TABLE1, str(evidence), "--format", "html")
    table1 = rubric.load(TABLE1)
    result = table1.score(rubric.load_evidence(evidence).data)
    for text in (
        "开福区区直部门(垂直部门)政务公开政务服务工作考核细则(表一)",
        "长沙市开福区人民政府办公室",
        "考核项目",
        "组织领导 小计",
        "政务公开领导小组健全、调整及时。",
        "扣分 −2</span> 不及时调整扣2分",
        "未得分 2</span> 按【受理但没有建立台账】计分，未达到最高档",
        "事实：领导小组及时调整：否",
        table1.info.sha256,
        result.evidence_sha256,
        result.engine,
    ):
        assert text in html, text
    assert '<td class="num">83</td>' in html


def test_an_assessors_reason_and_a_hostile_reason_print_as_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = example("table2-typical")
    record["T2-01"]["attendance"] = [{"points": 4, "reason": f"迟到多次{HOSTILE}"}]
    path = tmp_path / "unit.json"
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    html = page(capsys, "score", str(ROOT / "rubrics" / "table2.yaml"), str(path), "--format", "html")
    assert "理由：4分：迟到多次&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert HOSTILE not in html


def test_a_composite_sheet_shows_its_parts_side_by_side_with_weights(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "sheet.html"
    department = str(ROOT / "rubrics" / "department.yaml")
    evidence = str(ROOT / "examples" / "department-typical.yaml")
    assert main(["score", department, evidence, "--format", "html", "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    # 83 × 0.6 = 49.8 and 67.5 × 0.4 = 27: 76.8
    compact = html.replace("\n", "")
    assert (
        '<td class="num">83</td><td class="num">100</td><td class="num">0.6</td><td class="num">49.8</td>'
        in compact
    )
    assert (
        '<td class="num">67.5</td><td class="num">100</td><td class="num">0.4</td><td class="num">27</td>'
        in compact
    )
    assert "综合得分 76.8 / 100" in html
    assert "窗口单位考核细则(表二)" in html


def test_the_sheet_shows_the_grade_when_the_rubric_has_bands(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = Path(TABLE1).read_text(encoding="utf-8")
    graded = tmp_path / "graded.yaml"
    graded.write_text(
        text.replace("points: 100\n", "points: 100\ngrades:\n  - {name: 良好, min: 80}\n", 1), "utf-8"
    )
    html = page(
        capsys, "score", str(graded), str(ROOT / "examples" / "table1-typical.yaml"), "--format", "html"
    )
    assert "等次：良好" in html


def test_html_without_jinja2_exits_2_saying_what_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)  # import jinja2 now raises ImportError
    code = main(["score", TABLE1, str(ROOT / "examples" / "table1-typical.yaml"), "--format", "html"])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing-dependency: HTML output needs Jinja2 (pip install 'rubric-engine[html]')" in err


def test_score_out_without_html_is_refused_rather_than_ignored(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "sheet.txt"
    assert main(["score", TABLE1, str(ROOT / "examples" / "table1-typical.yaml"), "--out", str(out)]) == 2
    assert "--out writes a page: use it with --format html" in capsys.readouterr().err
    assert not out.exists()


def test_score_out_never_overwrites_the_evidence(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    evidence = tmp_path / "unit.yaml"
    evidence.write_bytes((ROOT / "examples" / "table1-typical.yaml").read_bytes())
    before = evidence.read_bytes()
    assert main(["score", TABLE1, str(evidence), "--format", "html", "--out", str(evidence)]) == 2
    assert "same-file" in capsys.readouterr().err
    assert evidence.read_bytes() == before


def bulletin_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Path:
    source, results = tmp_path / "units.jsonl", tmp_path / "results.jsonl"
    units = [(HOSTILE, "table1-typical"), ("满分单位", "table1-perfect")]
    source.write_text(
        "".join(json.dumps({"unit": u, "evidence": example(n)}, ensure_ascii=False) + "\n" for u, n in units),
        encoding="utf-8",
    )
    assert main(["batch", TABLE1, str(source), "--out", str(results)]) == 0
    out = tmp_path / "bulletin.html"
    assert (
        main(["report", str(results), "--format", "html", "--out", str(out), "--title", "2013年考核通报"])
        == 0
    )
    capsys.readouterr()
    return out


def test_the_bulletin_page_escapes_a_hostile_unit_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html = bulletin_file(capsys, tmp_path).read_text(encoding="utf-8")
    assert '<td class="unit">&lt;script&gt;alert(1)&lt;/script&gt;</td>' in html
    assert "<script" not in html
    assert "T1-15 群众反映好且受省市表彰的得5分;只有群众反映好的得2分（<span" in html
    assert ">未得分3</span>" in html


@needs_browser
def test_chromium_prints_the_score_sheet_with_total_clauses_and_shortfalls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sheet = tmp_path / "sheet.html"
    evidence = str(ROOT / "examples" / "table1-typical.yaml")
    assert main(["score", TABLE1, evidence, "--format", "html", "--out", str(sheet)]) == 0
    printed = render_pdf_text(sheet, tmp_path)
    flat = "".join(printed.split())  # the table wraps long cells across lines
    assert "总分10083" in flat  # 分值 100, 得分 83 on the total row
    assert "不及时调整扣2分" in flat
    assert "未得分2" in flat
    assert "组织领导小计2017" in flat
    png = screenshot(sheet, tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_browser
def test_chromium_prints_the_bulletin_with_the_hostile_name_as_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    printed = render_pdf_text(bulletin_file(capsys, tmp_path), tmp_path)
    flat = "".join(printed.split())
    assert "2013年考核通报" in flat
    assert "1满分单位100/100" in flat
    # the name is printed as text (the narrow cell wraps it: its end lands on the next line)
    assert "2<script>alert(1)83/100" in flat
    assert "</script>" in flat
    assert "未得分3" in flat


@needs_browser
def test_chromium_prints_a_graded_composite_sheet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    for name in ("table1.yaml", "table2.yaml"):
        (rubrics / name).write_bytes((ROOT / "rubrics" / name).read_bytes())
    text = (ROOT / "rubrics" / "department.yaml").read_text(encoding="utf-8")
    graded = text.replace("points: 100\n", "points: 100\ngrades:\n  - {name: 良好, min: 75}\n", 1)
    (rubrics / "department.yaml").write_text(graded, encoding="utf-8")
    sheet = tmp_path / "sheet.html"
    evidence = str(ROOT / "examples" / "department-typical.yaml")
    assert (
        main(["score", str(rubrics / "department.yaml"), evidence, "--format", "html", "--out", str(sheet)])
        == 0
    )
    flat = "".join(render_pdf_text(sheet, tmp_path).split())
    assert "综合得分76.8/100等次：良好" in flat
    assert "table1" in flat
    assert "0.649.8" in flat  # weight 0.6, 83 × 0.6 = 49.8
