"""Reports as published (issue 14): PDF text layers, folders, type by content, non-reports."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from extractor.config import load_settings
from extractor.ingest import IngestError, load_document
from extractor.pipeline import run

pytest.importorskip("reportlab", reason="reportlab makes the test PDFs")
from extractor.testing.make_pdf import flattened, make_report_pdf, make_scanned_pdf  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
# The bundled samples/sample_report.pdf is this text, made by make_report_pdf (18 lines a page).
SOURCE = """2024年青川县国民经济和社会发展计划执行情况与2025年计划草案的报告
一、2024年国民经济和社会发展计划执行情况
2024年,全县上下坚持稳中求进工作总基调,经济运行总体平稳、稳中有进。全县地区生产总值完成165.8亿元,同比增长6.2%;规模以上工业增加值增长8.4%;固定资产投资增长10.6%;社会消费品零售总额56.1亿元,增长7.0%;一般公共预算收入9.1亿元,增长5.8%。
表1:主要指标完成情况
|指标名称|全年目标|完成情况|
|地区生产总值|6%|6.2%|
|固定资产投资|10%|10.6%|
|社会消费品零售总额|7%|7.0%|
项目建设加快推进。建成投产年产3万吨竹浆纸一体化项目,开工建设青川至广元快速通道二期工程,白龙湖光伏电站二期工程建成并网。
二、2025年国民经济和社会发展计划草案
2025年全县经济社会发展的主要预期目标是:地区生产总值增长6%左右;规模以上工业增加值增长8%以上;固定资产投资增长9%;社会消费品零售总额增长6.5%左右;城镇和农村居民人均可支配收入分别增长5.5%和7%左右。
(一)扩大有效投资
全年安排重点项目90个,完成投资65亿元以上。加快推进竹产业园二期、县城第二水厂等项目建设,力争建成青川经开区标准厂房四期。
(二)办好民生实事
一是新增城镇就业3200人以上;二是改造老旧小区15个;三是新建村级养老服务站10个;四是新增公办学位1200个。
"""
KINDS = ("targets", "projects", "commitments")


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-c", "from extractor.cli import main; main()", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _records(output):
    return {kind: [r.model_dump() for r in getattr(output, kind)] for kind in KINDS}


def test_a_pdf_gives_the_records_of_the_same_text(tmp_path):
    pdf, txt = tmp_path / "report.pdf", tmp_path / "report.txt"
    pages = make_report_pdf(SOURCE, pdf, header="青川县人民政府", chars_per_line=28, lines_per_page=12)
    assert pages >= 3
    txt.write_text(flattened(SOURCE), encoding="utf-8")
    assert load_document(pdf).text == load_document(txt).text  # no header, footer, page number or wrap left
    from_pdf = run([pdf], load_settings(), tmp_path / "a").outputs[0]
    from_txt = run([txt], load_settings(), tmp_path / "b").outputs[0]
    assert _records(from_pdf) == _records(from_txt) and sum(len(v) for v in _records(from_pdf).values()) > 20
    table = [t for t in from_pdf.targets if t.indicator == "固定资产投资" and t.value == 10.6]
    assert table, "the table's cells are read in order"
    pages_seen = {p.page[0] for kind in KINDS for p in from_pdf.provenance[kind]}
    assert pages_seen >= {1, 2, 3} and all(p.page[1] >= 1 for p in from_pdf.provenance["targets"])
    last = from_pdf.provenance["commitments"][-1]
    assert last.page[0] == pages and "新增公办学位" in last.source_text


def test_the_bundled_sample_pdf(tmp_path):
    document = load_document(SAMPLES / "sample_report.pdf")
    assert document.text == flattened(SOURCE).rstrip("\n") and document.kind == "pdf"


@pytest.mark.parametrize("make, cause", [
    (make_scanned_pdf, "no text layer (scanned PDF); run OCR first"),
    (lambda path: path.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50), "cannot read the PDF"),
])
def test_pdfs_without_text_are_one_line(tmp_path, make, cause):
    path = tmp_path / "bad.pdf"
    make(path)
    with pytest.raises(IngestError) as error:
        load_document(path)
    assert cause in str(error.value) and "\n" not in str(error.value)


def test_an_encrypted_pdf_is_one_line(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "locked.pdf"
    pdf = canvas.Canvas(str(path), encrypt="secret")
    pdf.drawString(100, 700, "2024 report")
    pdf.showPage()
    pdf.save()
    with pytest.raises(IngestError, match="cannot read the PDF"):
        load_document(path)


def test_the_content_decides_not_the_name(tmp_path):
    disguised = tmp_path / "report.txt"
    make_report_pdf(SOURCE, disguised)
    assert load_document(disguised).kind == "pdf"
    text = tmp_path / "notes.pdf"
    text.write_text(flattened(SOURCE), encoding="utf-8")
    done = cli("run", "notes.pdf", "--out", "out", cwd=tmp_path)
    assert done.returncode == 0 and "warning: notes.pdf: named .pdf but is not a PDF file: read as text" in done.stderr
    report = json.loads((tmp_path / "out" / "reports" / "notes.json").read_text(encoding="utf-8"))
    assert report["plan_year"] == 2025 and report["targets"]


def test_folders_are_read_recursively_in_a_stable_order(tmp_path):
    import shutil

    root = tmp_path / "corpus"
    (root / "2023").mkdir(parents=True)
    (root / ".cache").mkdir()
    shutil.copy(SAMPLES / "sample_report.pdf", root / "2023" / "a.pdf")
    shutil.copy(SAMPLES / "sample_report.txt", root / "b.txt")
    shutil.copy(SAMPLES / "sample_report.txt", root / ".cache" / "hidden.txt")
    (root / "readme.md").write_text("x", encoding="utf-8")
    (root / "broken.txt").write_bytes(b"")
    done = cli("run", "corpus", "--out", "out", cwd=tmp_path)
    assert done.returncode == 1  # broken.txt failed; the others went through
    assert "files: 1 pdf, 1 txt read; 1 skipped (1 .md); 1 failed" in done.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "reports").iterdir()) == ["a.json", "b.json"]
    narrowed = cli("run", "corpus", "--glob", "*.pdf", "--out", "out2", cwd=tmp_path)
    assert narrowed.returncode == 0 and "files: 1 pdf read; 3 skipped" in narrowed.stderr


def test_samples_folder_holds_pdf_and_text_reports(tmp_path):
    done = cli("run", str(SAMPLES), "--out", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    reports = {p.stem for p in (tmp_path / "out" / "reports").iterdir()}
    assert reports == {"sample_report", "sample_report-txt", "yunxi_2023", "yunxi_2024"}  # the PDF comes first
    assert "files: 1 pdf, 3 txt read; 1 skipped (1 .json)" in done.stderr


def test_a_file_that_is_not_a_report_has_unknown_metadata(tmp_path):
    path = tmp_path / "x.pdf"
    path.write_text("just some notes, nothing else\n", encoding="utf-8")
    done = cli("split", "x.pdf", cwd=tmp_path)
    assert "not a report" in done.stderr and "None" in done.stdout
    run_done = cli("run", "x.pdf", "--out", "out", cwd=tmp_path)
    assert run_done.returncode == 0
    report = json.loads((tmp_path / "out" / "reports" / "x.json").read_text(encoding="utf-8"))
    assert (report["title"], report["region"], report["report_type"], report["plan_year"]) == (None, None, None, None)
