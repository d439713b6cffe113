"""Ingest: file -> normalized Document -> Reports with metadata.

Normalization removes what publishers add (pinyin after characters, web chrome, spam lines,
stray whitespace) and optionally converts traditional to simplified characters, while keeping
for every normalized character the 1-based source line it came from. Evidence quoted from the
normalized text therefore always maps back to lines of the original file.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from charset_normalizer import from_bytes


class IngestError(Exception):
    """A file cannot be read; str() is one line naming the file and the cause."""

    def __init__(self, path: Path | str, cause: str):
        super().__init__(f"{path}: {cause}")
        self.path, self.cause = str(path), cause


@dataclass(frozen=True)
class Document:
    """A source file's normalized text; line_of[i] is the source line of text[i].

    last_line is the file's last line that is not page chrome (a trailing footer is not
    part of the report; trailing blank lines are)."""

    path: Path
    text: str
    line_of: array
    last_line: int

    @property
    def name(self) -> str:
        return self.path.name


@dataclass
class Report:
    """One report inside a Document: its text slice and the guide's metadata."""

    source: str
    report_id: str
    title: str
    region: str
    report_type: str
    review_period: str
    plan_year: int
    lines: tuple[int, int]
    text: str
    line_of: array = field(repr=False)

    @property
    def review_year(self) -> int:
        return int(self.review_period[:4])

    def lines_of_span(self, start: int, end: int) -> tuple[int, int]:
        return self.line_of[start], self.line_of[max(start, end - 1)]


# ---------------------------------------------------------------- reading

def read_lines(path: Path) -> list[tuple[int, str]]:
    """(source line number, raw text) pairs of a .txt, .html/.htm or .docx file."""
    if not path.exists():
        raise IngestError(path, "file not found")
    if path.is_dir():
        raise IngestError(path, "is a directory, not a report file")
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return _docx_lines(path)
    data = path.read_bytes()
    if not data.strip():
        raise IngestError(path, "file is empty")
    text = decode_bytes(data, path)
    if suffix in {".html", ".htm", ".xhtml"} or (suffix != ".txt" and _looks_like_html(text)):
        return _html_lines(text)
    return list(enumerate(text.removesuffix("\n").split("\n"), start=1))


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> str:
    """Decode UTF-8 (with or without BOM) strictly, else let charset-normalizer pick among
    the encodings Chinese reports use; refuse binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").replace("\r\n", "\n").replace("\r", "\n")
    if b"\x00" in data[:4096]:
        raise IngestError(path, "binary file, not a text report")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data, cp_isolation=["gb18030", "big5", "utf_8"]).best()
        if best is None:
            raise IngestError(path, "cannot detect the text encoding (tried UTF-8, GB18030, Big5)") from None
        encoding = "gb18030" if best.encoding in {"gb2312", "gbk"} else best.encoding
        text = data.decode(encoding, errors="replace")
        if text.count("\ufffd") > max(8, len(text) // 200):
            raise IngestError(path, f"undecodable text (best guess {encoding} fails)")
    if sum(ch < " " and ch not in "\t\n\r\f" for ch in text[:4096]) > 40:
        raise IngestError(path, "binary file, not a text report")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _looks_like_html(text: str) -> bool:
    head = text[:2000].lower()
    return "<html" in head or "<!doctype html" in head or "<body" in head


_CHROME_HINTS = re.compile(r"nav|menu|header|footer|breadcrumb|share|sidebar|toolbar|copyright|banner", re.I)
_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
               "section", "article", "table", "title", "pre", "blockquote"}


def _html_lines(html: str) -> list[tuple[int, str]]:
    """Visible text of an HTML page, one block per line, each with the source line of its tag."""
    from bs4 import BeautifulSoup, NavigableString

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe"]):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        hints = " ".join([tag.get("id") or "", *(tag.get("class") or [])]) if tag.attrs else ""
        if hints and _CHROME_HINTS.search(hints) and tag.name not in {"body", "html"}:
            tag.decompose()
    out: list[tuple[int, str]] = []
    current, current_line = [], None
    for node in soup.descendants:
        if isinstance(node, NavigableString):
            if type(node).__name__ in {"Comment", "Doctype", "Declaration", "ProcessingInstruction"}:
                continue
            parent = node.parent
            if current_line is None:
                current_line = getattr(parent, "sourceline", None) or 1
            current.append(str(node))
        elif node.name in _BLOCK_TAGS:
            if current:
                out.append((current_line, "".join(current)))
            current, current_line = [], getattr(node, "sourceline", None)
    if current:
        out.append((current_line or 1, "".join(current)))
    lines: list[tuple[int, str]] = []
    for line_no, block in out:
        for offset, part in enumerate(block.split("\n")):
            lines.append((line_no + offset, part))
    return lines


def _docx_lines(path: Path) -> list[tuple[int, str]]:
    """Paragraphs and table cells of a .docx in body order; 'line' = paragraph index."""
    try:
        import docx
        from docx.document import Document as DocxDocument
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        document: DocxDocument = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several unrelated types for bad files
        raise IngestError(path, f"not a readable .docx file ({type(exc).__name__})") from None
    texts: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            texts.append(block.text)
        elif isinstance(block, Table):
            for row in block.rows:
                for cell in row.cells:
                    texts.append(cell.text)
    if not any(t.strip() for t in texts):
        raise IngestError(path, "document has no text")
    return list(enumerate(texts, start=1))


# ---------------------------------------------------------------- normalizing

_PINYIN = re.compile(r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")
_WIDTH = str.maketrans(
    {**{chr(0xFF10 + i): str(i) for i in range(10)},
     **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
     **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
     "％": "%", "．": ".", "\u3000": " ", "\xa0": " ", "\u200b": "", "\ufeff": ""})
# A run of blanks between two non-ASCII characters separates paragraphs or headings
# (the way one-line reports keep their structure); blanks inside Latin text are kept.
_PARAGRAPH_GAP = re.compile(r"(?:(?<=[^\x00-\x7f])|(?<=[:;,.!?)]))[ \t]+(?=[^\x00-\x7f]|\d{4}年)")
_NOISE_LINES = [re.compile(p) for p in (
    r"^(字号|字体大小|字体)[:：]",
    r"^[大中小\s]{3,}$",
    r"扫码|扫一扫|手机浏览|打印本页|关闭窗口|分享到|收藏本页|返回顶部",
    r"^(来源|发布时间|发布日期|日期|浏览量|浏览次数|点击数|作者|责任编辑)[:：]",
    r"(来源|发布时间|日期|浏览量|浏览次数)[:：].*(日期|时间|浏览|次数)",
    r"www\.|https?://|微信|QQ群|免费资料",
    r"^(头部|底部|目录|首页|footer.*|header.*|当前位置.*)$",
    r"^[|\s]+$",
)]


def _is_noise(line: str) -> bool:
    if any(p.search(line) for p in _NOISE_LINES):
        return True
    # Spam headlines: keyword lists joined by underscores, with no sentence punctuation.
    return line.count("_") >= 2 and not re.search(r"[，。、；,;]", line)


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def normalize_lines(raw: list[tuple[int, str]], to_simplified: bool = True) -> list[tuple[int, str]]:
    """Clean (line number, text) pairs into logical lines; noise lines are dropped."""
    texts = [_PINYIN.sub("", text.translate(_WIDTH)) for _, text in raw]
    if to_simplified:
        converted = _t2s().convert("\n".join(texts)).split("\n")
        if len(converted) == len(texts):
            texts = converted
    cleaned: list[tuple[int, str]] = []
    for (line_no, _), text in zip(raw, texts):
        if _is_noise(text.strip()):
            continue
        for part in _PARAGRAPH_GAP.split(text):
            part = part.strip()
            if part and not _is_noise(part):
                cleaned.append((line_no, part))
    return cleaned


def load_document(path: Path | str, to_simplified: bool = True) -> Document:
    """Read and normalize one file; raises IngestError with a one-line cause."""
    path = Path(path)
    try:
        raw = read_lines(path)
    except OSError as exc:
        raise IngestError(path, exc.strerror or str(exc)) from None
    lines = normalize_lines(raw, to_simplified)
    if not lines:
        raise IngestError(path, "no text left after removing markup and noise")
    line_of = array("I")
    for line_no, text in lines:
        line_of.extend([line_no] * (len(text) + 1))
    text = "\n".join(t for _, t in lines)
    noise_lines = {n for n, t in raw if t.strip()} - {n for n, _ in lines}
    last_line = max(n for n, _ in raw if n not in noise_lines)
    return Document(path=path, text=text, line_of=line_of[: len(text)], last_line=last_line)


# ---------------------------------------------------------------- reports and metadata

_TITLE = re.compile(
    r"^(关于)?[^。；;，,]{0,40}?(政府工作报告|计划执行情况[^。]{0,40}报告|计划草案[^。]{0,10}报告"
    r"|执行情况[^。]{0,40}报告)$")
_REGION = re.compile(r"^(?:关于)?(?:\d{4}年)?([\u4e00-\u9fff]{1,6}?(?:自治州|自治县|新区|市|区|县|旗|盟))")
_REGION_ANYWHERE = re.compile(r"([\u4e00-\u9fff]{2,3}?(?:市|区|县|旗))")
_GENERIC_REGIONS = re.compile(
    r"^(全|我|本|该|各|城|新|老|小|园|景|社|片|辖|湾|示范|集聚|建成|开发|上|超|都|省|国民|地)"
    r"|(小区|园区|新区|景区|城区|社区|片区|辖区|湾区|集聚区|示范区|功能区|上市|城市|超市|都市|街区|矿区|库区|山区|厂区|校区|地区)$")
_NOT_A_PLACE_NEXT = set("域民场级属内外委直区县")  # 市域, 市民, 市场, 市级 ... are not place names
_NUMERALS = re.compile(r"[一二三四五六七八九十百千万两0-9]")
_SUBSTANTIAL_BODY = 1500  # characters after a title before another title starts a new report


def _is_title(line: str) -> bool:
    return len(line) <= 90 and _TITLE.match(line) is not None


def split_reports(doc: Document) -> list[Report]:
    """Cut a document into reports at title lines; a single report keeps the whole file."""
    starts: list[int] = []  # offsets of the title lines that open reports
    offset = 0
    for line in doc.text.split("\n"):
        if _is_title(line) and (not starts or offset - starts[-1] > _SUBSTANTIAL_BODY):
            starts.append(offset)
        offset += len(line) + 1
    if len(starts) <= 1:
        bounds = [(0, len(doc.text), 1, doc.last_line)]
    else:
        bounds = []
        for i, start in enumerate(starts):
            end = starts[i + 1] - 1 if i + 1 < len(starts) else len(doc.text)
            last = doc.line_of[starts[i + 1]] - 1 if i + 1 < len(starts) else doc.last_line
            bounds.append((start, end, doc.line_of[start], last))
    reports = []
    for index, (start, end, first_line, last_line) in enumerate(bounds, start=1):
        text = doc.text[start:end]
        suffix = f"-{index:02d}" if len(bounds) > 1 else ""
        reports.append(_describe(doc, text, doc.line_of[start:end], (first_line, last_line),
                                 report_id=f"{doc.path.stem}{suffix}"))
    return reports


def _describe(doc: Document, text: str, line_of: array, lines: tuple[int, int], report_id: str) -> Report:
    head = text.split("\n")[:20]
    titles = [line for line in head if _is_title(line)]
    title = titles[0] if titles else ""
    headings = [ln for ln in text.split("\n") if re.match(r"^[一二三四五六七八九十]+、", ln)][:6]
    report_type = _report_type(title, headings)
    review_period, plan_year = _periods(title, headings, report_type, text)
    region = _region(titles, head, text)
    if not title:
        kind = "政府工作报告" if report_type == "work_report" else \
            f"{review_period[:4]}年国民经济和社会发展计划执行情况与{plan_year}年计划草案的报告"
        title = f"{region}{kind}" if report_type == "plan_report" else f"{plan_year}年{region}{kind}"
    return Report(source=doc.name, report_id=report_id, title=title, region=region,
                  report_type=report_type, review_period=review_period, plan_year=plan_year,
                  lines=lines, text=text, line_of=line_of)


def _report_type(title: str, headings: list[str]) -> str:
    if "政府工作报告" in title:
        return "work_report"
    if "计划" in title or "执行情况" in title:
        return "plan_report"
    return "plan_report" if any("执行情况" in h or "计划" in h for h in headings) else "work_report"


def _periods(title: str, headings: list[str], report_type: str, text: str) -> tuple[str, int]:
    half = re.search(r"(\d{4})年上半年", title) or next(
        (m for h in headings[:2] if (m := re.search(r"(\d{4})年上半年", h))), None)
    if half or re.search(r"上半年", " ".join(headings[:1])):
        year = int(half.group(1)) if half else _first_year(text)
        return f"{year}-H1", year
    review_heading = next((h for h in headings if re.search(r"回顾|执行情况|总结", h)), "")
    plan_heading = next((h for h in headings if re.search(r"目标|计划|任务|思路|安排|工作", h)
                         and h != review_heading), "")
    review = _year_in(review_heading)
    plan = _year_in(plan_heading)
    title_years = [int(y) for y in re.findall(r"(\d{4})年?", title)]
    if report_type == "work_report" and title_years:
        plan = plan or title_years[0]
        review = review or plan - 1
    elif title_years:
        review = review or title_years[0]
        plan = plan or (title_years[1] if len(title_years) > 1 else review + 1)
    review = review or (plan - 1 if plan else _first_year(text))
    plan = plan or review + 1
    return str(review), plan


def _year_in(text: str) -> int | None:
    match = re.search(r"(\d{4})年", text)
    return int(match.group(1)) if match else None


def _first_year(text: str) -> int:
    years = Counter(int(y) for y in re.findall(r"(20\d{2})年", text[:5000]))
    return years.most_common(1)[0][0] if years else 0


def _region(titles: list[str], head: list[str], text: str) -> str:
    for line in [*titles, *head]:
        match = _REGION.match(line)
        if match and not _GENERIC_REGIONS.search(match.group(1)):
            return match.group(1)
        for candidate in _REGION_ANYWHERE.findall(line) if line in titles or len(line) < 40 else []:
            if not _GENERIC_REGIONS.search(candidate):
                return candidate
    # No title: the jurisdiction is the place name the report repeats most, not counting
    # superior governments (mentioned after 省 / 中央, as in 省和贵阳市).
    counts: Counter[str] = Counter()
    for match in _REGION_ANYWHERE.finditer(text):
        name, after = match.group(1), text[match.end(): match.end() + 1]
        if _GENERIC_REGIONS.search(name) or after in _NOT_A_PLACE_NEXT or _NUMERALS.search(name):
            continue
        before = text[max(0, match.start() - 2): match.start()]
        counts[name] += -3 if ("省" in before or "央" in before) else 1
    counts = Counter({name: text.count(name[:-1]) + n for name, n in counts.items() if n >= 2})
    return counts.most_common(1)[0][0] if counts else ""
