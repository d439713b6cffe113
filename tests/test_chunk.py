import re

from extractor.chunk import build_sections, heading_rank, make_chunks
from extractor.ingest import load_document, split_reports


def test_heading_markers_and_ranks():
    assert heading_rank("一、2022年工作回顾") == 1
    assert heading_rank("（三）统筹增产增收,推动乡村振兴走在前列") == 2
    assert heading_rank("(三)统筹增产增收") == 2
    assert heading_rank("1.加快园区建设") == 3 and heading_rank("2、稳定就业") == 3
    assert heading_rank("(2)新建学校") == 4
    assert heading_rank("一是新增城镇就业3000人") == 5 and heading_rank("——实施煤炭产业强基行动。扛牢责任") == 5
    assert heading_rank("工业经济提质增效。铝及铝加工取得重大突破,华仁电解铝产能指标落地。") == 6
    assert heading_rank("2023年工作安排") == 0
    assert heading_rank("1.5万亩蔬菜基地建成投产。") is None
    assert heading_rank("全市经济稳中向好,发展质量不断提升。") is None


def _report(tmp_path, text):
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    return split_reports(load_document(path))[0]


def test_sections_carry_paths_and_parts(tmp_path):
    report = _report(tmp_path, "2024年某县政府工作报告\n一、2023年工作回顾\n（一）工业\n工业经济提质增效。全年建成项目12个,增长明显。\n"
                               "二、2024年工作安排\n（一）投资\n一是扩大投资。全年安排重点项目80个。\n")
    sections = build_sections(report)
    paths = [s.path_text for s in sections]
    assert "一、2023年工作回顾 > （一）工业 > 工业经济提质增效" in paths
    assert "二、2024年工作安排 > （一）投资 > 一是扩大投资" in paths
    assert [s.part for s in sections if s.level == 1] == ["review", "plan"]


def test_long_sections_split_at_sentence_ends_within_budget(tmp_path):
    sentence = "全县新建农村公路12.5公里,改造“四好农村路”示范线3条。"
    report = _report(tmp_path, "一、2024年工作安排\n" + sentence * 120 + "\n")
    chunks = make_chunks(report, budget=500)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.size <= 500
        assert report.text[chunk.start:chunk.end] == chunk.text
        assert chunk.text.rstrip("\n").endswith(("。", "安排"))


def test_flattened_table_stays_whole(tmp_path):
    table = "表:主要指标完成情况\n指标名称\n全年目标\n完成情况\n地区生产总值\n6.5%\n-2.0%\n固定资产投资\n15.0%\n31%\n"
    report = _report(tmp_path, "一、上半年计划执行情况\n" + "经济运行平稳。" * 40 + "\n" + table + "经济运行平稳。" * 40 + "\n")
    chunks = make_chunks(report, budget=320)
    holding = [c for c in chunks if "指标名称" in c.text]
    assert len(holding) == 1 and "31%" in holding[0].text


def test_shared_reports_chunks_respect_budget_and_sentences(shared_reports):
    for path in shared_reports:
        for report in split_reports(load_document(path)):
            chunks = make_chunks(report, budget=2000)
            assert chunks and max(c.size for c in chunks) <= 2000
            for a, b in zip(chunks, chunks[1:]):
                boundary = report.text[a.end - 1:a.end + 1]
                assert "\n" in report.text[a.end - 1:b.start + 1] or re.match(r"[。；;！？!?]", boundary), boundary


def test_one_line_report_has_a_section_tree(shared):
    reports = split_reports(load_document(shared / "reports" / "001_6b340ccef4bd5f14.txt"))
    wenzhou = next(r for r in reports if r.region == "温州市")
    assert wenzhou.lines[1] - wenzhou.lines[0] <= 3  # the report body is one source line
    sections = build_sections(wenzhou)
    assert len(sections) > 20 and max(len(s.path) for s in sections) >= 2  # 一、 > run-in headings
    assert {s.part for s in sections} >= {"review", "plan"}
