from pathlib import Path

import pytest

from extractor.ingest import IngestError, load_document, normalize_lines, split_reports


def lines(text):
    return [t for _, t in normalize_lines(list(enumerate(text.split("\n"), 1)))]


def test_pinyin_noise_and_spam_lines_are_removed():
    cleaned = lines("白嫩少妇_在线观看_国产精品\n字号:\n大 中 小\n扫码使用手机浏览本页内容\n"
                    "來源:發改局   日期: 2024-01-31\n瀏覽量:1 | | |\n體制人的免費資料庫 www.example.com\n"
                    "國民經(jīng)濟和社會發(fā)展\n")
    assert cleaned == ["国民经济和社会发展"]


def test_traditional_conversion_is_optional():
    assert lines("臨湘市經濟") == ["临湘市经济"]
    assert [t for _, t in normalize_lines([(1, "臨湘市經濟")], to_simplified=False)] == ["臨湘市經濟"]


def test_one_line_report_is_split_at_paragraph_gaps_and_keeps_its_line():
    pairs = normalize_lines([(7, "各位代表: 现在我代表政府报告工作。 一、2022年工作回顾 2022年是极不平凡的一年。")])
    assert [t for _, t in pairs] == ["各位代表:", "现在我代表政府报告工作。", "一、2022年工作回顾", "2022年是极不平凡的一年。"]
    assert {n for n, _ in pairs} == {7}


REPORT = ("2023年青川县政府工作报告\n各位代表:\n一、2022年工作回顾\n" + "全县经济稳中向好。" * 200 +
          "\n二、2023年工作安排\n主要预期目标是:地区生产总值增长6%左右。\n")


def test_gbk_docx_and_html_read_the_same_as_utf8(tmp_path):
    utf8 = tmp_path / "r.txt"
    utf8.write_text(REPORT, encoding="utf-8")
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(REPORT.encode("gb18030"))
    bom = tmp_path / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + REPORT.encode("utf-8"))
    import docx

    document = docx.Document()
    for paragraph in REPORT.strip("\n").split("\n"):
        document.add_paragraph(paragraph)
    docx_path = tmp_path / "r.docx"
    document.save(str(docx_path))
    html = tmp_path / "r.html"
    body = "".join(f"<p>{p}</p>\n" for p in REPORT.strip("\n").split("\n"))
    html.write_text(f"<html><head><script>var x=1;</script></head><body><div class='nav'>首页 | 新闻</div>{body}"
                    "<div id='footer'>版权所有</div></body></html>", encoding="utf-8")
    expected = load_document(utf8).text
    for path in (gbk, bom, docx_path, html):
        assert load_document(path).text == expected, path.name


@pytest.mark.parametrize("content, cause", [(None, "file not found"), (b"", "file is empty"),
                                            (b"\x00\x01\x02binary" * 50, "binary")])
def test_unreadable_files_give_one_line_errors(tmp_path, content, cause):
    path = tmp_path / "bad.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IngestError) as err:
        load_document(path)
    assert cause in str(err.value) and "bad.txt" in str(err.value) and "\n" not in str(err.value)


def test_collections_split_at_titles_and_single_reports_keep_the_whole_file(tmp_path):
    body = "一、2022年工作回顾\n" + "全市经济平稳。" * 300 + "\n"
    path = tmp_path / "many.txt"
    path.write_text("广告行\n2023年甲州市政府工作报告\n" + body + "2023年乙县政府工作报告\n" + body, encoding="utf-8")
    reports = split_reports(load_document(path))
    assert [(r.region, r.lines) for r in reports] == [("甲州市", (2, 4)), ("乙县", (5, 7))]
    single = tmp_path / "one.txt"
    single.write_text("各位代表:\n" + body, encoding="utf-8")
    (report,) = split_reports(load_document(single))
    assert report.lines == (1, 3)


EXPECTED = {  # source file -> (reports, first region, type, review period, plan year)
    "000_f7dc3958b100317f.txt": (1, "清镇市", "plan_report", "2023", 2024),
    "001_6b340ccef4bd5f14.txt": (24, "彬州市", "work_report", "2022", 2023),
    "002_f96ed663eaa6017c.txt": (1, "临湘市", "plan_report", "2023", 2024),
    "003_e8b3fd3235ee7de3.txt": (1, "连州市", "plan_report", "2020-H1", 2020),
    "004_b7b4275304d54af1.txt": (1, "东昌府区", "plan_report", "2023", 2024),
}


def test_shared_reports_metadata(shared_reports):
    total = 0
    for path in shared_reports:
        reports = split_reports(load_document(path))
        count, region, kind, review, plan = EXPECTED[path.name]
        assert len(reports) == count
        assert (reports[0].region, reports[0].report_type, reports[0].review_period, reports[0].plan_year) == \
            (region, kind, review, plan)
        total += len(reports)
    assert total == 28


def test_collection_regions_match_their_titles(shared):
    reports = split_reports(load_document(shared / "reports" / "001_6b340ccef4bd5f14.txt"))
    assert all(r.region and r.region in r.title for r in reports)
    assert len({r.region for r in reports}) == 24
    assert reports[0].lines == (3, 86) and reports[-1].lines[1] == 1631


def test_gold_metadata_agrees(shared):
    import json

    for gold_path in (shared / "gold").glob("*.json"):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        reports = split_reports(load_document(shared / "reports" / gold["source"]))
        report = next(r for r in reports if r.region == gold["region"])
        assert (report.report_type, report.review_period, report.plan_year, list(report.lines)) == \
            (gold["report_type"], gold["review_period"], gold["plan_year"], gold["lines"])


def test_linxiang_is_clean_and_simplified(shared):
    doc = load_document(shared / "reports" / "002_f96ed663eaa6017c.txt")
    assert "(jīng)" not in doc.text and "(fā)" not in doc.text
    for spam in ("少妇", "来源:", "浏览量", "www."):
        assert spam not in doc.text
    assert "国民经济" in doc.text and "國" not in doc.text


# ---------------------------------------------------------------- no silent loss in reading (issue 10)

def test_report_sentences_that_mention_web_words_are_kept():
    sentence = "全年改造老旧小区30个,开通“清镇政务”微信小程序。"
    assert lines(f"{sentence}\n请加微信abc123\n扫码使用手机浏览本页内容\n") == [sentence]


def test_a_one_line_report_with_the_site_header_keeps_its_text():
    line = ("体制人的免费资料库 请点击:www.example.com 2023年某县政府工作报告 各位代表: "
            "一、2022年工作回顾 全县地区生产总值增长5%。新建学校3所。")
    assert lines(line) == ["2023年某县政府工作报告", "各位代表:", "一、2022年工作回顾",
                           "全县地区生产总值增长5%。新建学校3所。"]


# Lines of the shared reports that hold a number and are chrome (publication date, view counter).
SHARED_CHROME_WITH_NUMBERS = {
    ("002_f96ed663eaa6017c.txt", "来源:发改局   日期: 2024-01-31 11:24"),
    ("002_f96ed663eaa6017c.txt", "浏览量:1 | | | |"),
    ("003_e8b3fd3235ee7de3.txt", "来源:连州市发展和改革局 发布时间:2021-03-05 18:05:28 字体大小: 浏览次数:-"),
}


def test_no_sentence_with_a_number_is_dropped_from_the_shared_reports(shared_reports):
    from extractor.ingest import read_lines

    removed = set()
    for path in shared_reports:
        dropped: list = []
        normalize_lines(read_lines(path), dropped=dropped)
        removed |= {(path.name, text) for _, text in dropped if any(ch.isdigit() for ch in text)}
        assert len(dropped) <= 6, (path.name, dropped)
    assert removed <= SHARED_CHROME_WITH_NUMBERS, removed - SHARED_CHROME_WITH_NUMBERS


def test_simplified_text_is_not_converted_but_traditional_text_is(shared):
    zhuhai = load_document(shared / "reports" / "001_6b340ccef4bd5f14.txt")
    assert "乾务" in zhuhai.text and "乾县" in zhuhai.text
    assert lines("珠海市乾务镇新建学校3所。") == ["珠海市乾务镇新建学校3所。"]
    assert lines("臨湘市國民經濟和社會發展計劃執行情況") == ["临湘市国民经济和社会发展计划执行情况"]


def _error(path):
    with pytest.raises(IngestError) as err:
        load_document(path)
    message = str(err.value)
    assert "\n" not in message
    message.encode("utf-8")  # printable, whatever the file name's bytes
    return message


def test_files_that_are_not_regular_text_files_get_one_line(tmp_path):
    import os

    fake_utf16 = tmp_path / "bom.txt"
    fake_utf16.write_bytes(b"\xff\xfe" + b"\x00\xd8" + b"abc")  # an unpaired surrogate
    assert "not valid UTF-16" in _error(fake_utf16)
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert "not a regular file" in _error(fifo)  # returns at once: a FIFO is never opened
    assert "not a regular file" in _error(Path("/dev/zero"))
    weird = tmp_path / os.fsdecode(b"bad-\xff-name.txt")
    weird.write_bytes(b"")
    assert "bad-\ufffd-name.txt: file is empty" in _error(weird)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(IngestError, match="above the limit"):
        load_document(big, max_bytes=1024)


@pytest.mark.parametrize("denied", ["open", "stat"])  # a file without read permission; a folder without search
def test_an_unreadable_file_is_one_line(tmp_path, monkeypatch, denied):
    import builtins
    import os

    path = tmp_path / "locked" / "r.txt"  # root reads everything: the permission error is simulated
    path.parent.mkdir()
    path.write_text(REPORT, encoding="utf-8")
    owner, name = (builtins, "open") if denied == "open" else (os, "stat")
    real = getattr(owner, name)

    def deny(target, *args, **kwargs):
        if str(target) == str(path):
            raise PermissionError(13, "Permission denied", str(target))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(owner, name, deny)
    assert _error(path).endswith("locked/r.txt: Permission denied")


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_one_invalid_byte_is_replaced_and_counted(tmp_path, encoding):
    data = REPORT.encode(encoding)
    cut = data.index("全县经济".encode(encoding)) + 40 * len("全县经济稳中向好。".encode(encoding))
    path = tmp_path / "r.txt"
    path.write_bytes(data[:cut] + b"\xff" + data[cut:])
    doc = load_document(path)
    assert doc.warnings == ("1 undecodable byte sequence(s) replaced by U+FFFD",)
    assert "主要预期目标是:地区生产总值增长6%左右。" in doc.text and "2023年工作安排" in doc.text


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_text(tmp_path, encoding):
    path = tmp_path / "r.txt"
    path.write_bytes(REPORT.encode(encoding))
    assert load_document(path).text == load_document(_utf8(tmp_path)).text


def _utf8(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text(REPORT, encoding="utf-8")
    return path


def test_deeply_nested_html_is_read_in_linear_time(tmp_path):
    import time

    depth = 20_000
    html = ("<html><body>" + "<div>" * depth + "<p>地区生产总值增长6%左右。</p>" + "</div>" * depth +
            "<div class='footer'><p>版权所有</p></div><script>var a = '<p>x</p>';</script></body></html>")
    path = tmp_path / "deep.html"
    path.write_text(html, encoding="utf-8")
    started = time.perf_counter()
    doc = load_document(path)
    assert time.perf_counter() - started < 10  # was 66 s with a tree builder
    assert doc.text == "地区生产总值增长6%左右。"


def test_every_record_points_into_the_users_own_file(shared_reports, tmp_path):
    """Slicing the decoded file at a record's source span gives its source_text, and normalizing
    that text gives the evidence (for every record of every shared report)."""
    from extractor.config import load_settings
    from extractor.ingest import decode_bytes
    from extractor.pipeline import run

    result = run(shared_reports, load_settings(), tmp_path / "out")
    decoded = {p.name: decode_bytes(p.read_bytes())[0] for p in shared_reports}
    checked = 0
    for output in result.outputs:
        original = decoded[output.source]
        traditional = output.source.startswith("002")
        for kind in ("targets", "projects", "commitments"):
            for record, prov in zip(getattr(output, kind), output.provenance[kind]):
                start, end = prov.source_span
                assert original[start:end] == prov.source_text
                assert original.count("\n", 0, start) + 1 == prov.source_position[0] == prov.lines[0]
                lines = list(enumerate(prov.source_text.split("\n"), start=1))
                normalized = "\n".join(t for _, t in normalize_lines(lines, to_simplified=True))
                if traditional:
                    from extractor.ingest import to_simplified_text
                    normalized = to_simplified_text(normalized)
                assert normalized == record.evidence, (output.report_id, record.evidence, prov.source_text)
                checked += 1
    assert checked > 2000
    linxiang = next(o for o in result.outputs if o.source.startswith("002"))
    assert any("(" in p.source_text and p.source_text != r.evidence
               for r, p in zip(linxiang.targets, linxiang.provenance["targets"]))  # pinyin glosses kept
