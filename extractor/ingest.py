"""Ingest: file -> normalized Document -> Reports with metadata.

Normalization removes what publishers add (pinyin after characters, web chrome, spam lines,
stray whitespace) and optionally converts traditional to simplified characters, while keeping
for every normalized character the 1-based source line it came from. Evidence quoted from the
normalized text therefore always maps back to lines of the original file.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from array import array
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

from charset_normalizer import from_bytes

from .pdf import PdfError, PdfText, read_pdf


class IngestError(Exception):
    """A file cannot be read; str() is one line naming the file and the cause."""

    def __init__(self, path: Path | str, cause: str):
        super().__init__(f"{display_path(path)}: {cause}")
        self.path, self.cause = display_path(path), cause


@dataclass(frozen=True)
class Document:
    """A source file's normalized text; line_of[i] is the source line of text[i], offset_of[i] its
    place in the file as read (`original`).

    last_line is the file's last line that is not page chrome (a trailing footer is not
    part of the report; trailing blank lines are)."""

    path: Path
    text: str
    line_of: array
    last_line: int
    source: str = ""  # how outputs name the file; the file name unless the run says otherwise
    warnings: tuple[str, ...] = ()
    offset_of: array = field(default_factory=lambda: array("I"))  # offset_of[i]: text[i]'s offset in original
    original: str = ""  # the file as read (SourceText.text)
    verbatim: bool = True  # its lines are slices of `original` (false for HTML)
    pages: PdfText | None = None  # for a PDF: page and line on the page of an offset of `original`
    kind: str = "txt"

    @property
    def name(self) -> str:
        return self.source or display_path(self.path.name)


@dataclass
class Report:
    """One report inside a Document: its text slice and the guide's metadata."""

    source: str
    report_id: str
    title: str | None
    region: str | None
    report_type: str | None
    review_period: str | None  # None (with plan_year, report_type, title, region) when the text
    plan_year: int | None  # shows no report structure: see `is_report`
    lines: tuple[int, int]
    text: str
    line_of: array = field(repr=False)
    offset_of: array = field(repr=False, default_factory=lambda: array("I"))
    original: str = field(repr=False, default="")  # the whole file as read (shared, not copied)
    pages: PdfText | None = field(repr=False, default=None)
    file_kind: str = "txt"  # what the file it came from is: txt, html, docx or pdf

    @property
    def is_report(self) -> bool:
        return self.report_type is not None

    def lines_of_span(self, start: int, end: int) -> tuple[int, int]:
        return self.line_of[start], self.line_of[max(start, end - 1)]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Where text[start:end] is in the file as read: the offsets of its first and last
        characters there (pinyin glosses and traditional characters included)."""
        return self.offset_of[start], self.offset_of[max(start, end - 1)] + 1

    def source_position(self, start: int) -> tuple[int, int]:
        """1-based line and column, in the file as read, of text[start]: the line from the line
        map, the column from the line's start (no count of line breaks per record)."""
        offset = self.offset_of[start]
        return self.line_of[start], offset - (self.original.rfind("\n", 0, offset) + 1) + 1


# ---------------------------------------------------------------- reading

def display_path(path: Path | str) -> str:
    """A path as text that can always be printed and written to JSON: bytes of a file name
    that are not valid UTF-8 show as U+FFFD instead of breaking the output."""
    return os.fsencode(str(path)).decode("utf-8", errors="replace")


def file_sha256(path: Path) -> str | None:
    """Hex sha256 of a file's bytes, read in blocks; None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file of at most max_bytes; anything else is an IngestError."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise IngestError(path, "file not found") from None
    except OSError as exc:
        raise IngestError(path, exc.strerror or str(exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise IngestError(path, "is a directory, not a report file")
    if not stat.S_ISREG(info.st_mode):
        raise IngestError(path, "not a regular file (a pipe, socket or device); only files are read")
    if info.st_size > max_bytes:
        raise IngestError(path, f"file is {info.st_size / 1e6:.1f} MB, above the limit of "
                                f"{max_bytes / 1e6:.0f} MB (setting max_file_mb)")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise IngestError(path, exc.strerror or str(exc)) from None
    if len(data) > max_bytes:  # the file grew while it was read
        raise IngestError(path, f"file is above the limit of {max_bytes / 1e6:.0f} MB (setting max_file_mb)")
    return data


@dataclass(frozen=True)
class SourceText:
    """A file as read, before normalization: `text` is the decoded file (for .docx, its
    paragraphs joined by line breaks), and each line is (line number, its text, the offset of its
    first character in `text`). Lines of text files and .docx are verbatim slices of `text`;
    for HTML, a block's offset is where its first text starts in the markup."""

    text: str
    lines: list[tuple[int, str, int]]
    verbatim: bool
    pages: PdfText | None = None  # for a PDF: the page and line on the page of any offset
    kind: str = "txt"  # what the file is: txt, html, docx or pdf


def read_source(path: Path, max_bytes: int = 200_000_000, warnings: list[str] | None = None) -> SourceText:
    """The text of a .txt, .html/.htm, .docx or .pdf file and its lines; raises IngestError.
    What the bytes are decides how a file is read, not its name."""
    data = read_bytes(path, max_bytes)
    if not data.strip():
        raise IngestError(path, "file is empty")
    suffix = path.suffix.lower()
    if data.startswith(b"%PDF-"):
        try:
            pdf = read_pdf(data)
        except PdfError as exc:
            raise IngestError(path, str(exc)) from None
        source = _verbatim(pdf.text)
        return SourceText(source.text, source.lines, True, pdf, "pdf")
    if data.startswith(b"PK\x03\x04") and (suffix == ".docx" or b"word/" in data[:4096]):
        source = _verbatim("\n".join(_docx_lines(path)))
        return SourceText(source.text, source.lines, True, kind="docx")
    if suffix in {".pdf", ".docx"} and warnings is not None:
        warnings.append(f"named {suffix} but is not a {suffix[1:].upper()} file: read as text")
    text, replaced = decode_bytes(data, path)
    if replaced and warnings is not None:
        warnings.append(f"{replaced} undecodable byte sequence(s) replaced by U+FFFD")
    if suffix in {".html", ".htm", ".xhtml"} or (suffix != ".txt" and _looks_like_html(text)):
        return SourceText(text, _html_lines(text), verbatim=False, kind="html")
    return _verbatim(text)


def _verbatim(text: str) -> SourceText:
    lines, offset = [], 0
    for number, line in enumerate(text.removesuffix("\n").split("\n"), start=1):
        lines.append((number, line, offset))
        offset += len(line) + 1
    return SourceText(text, lines, verbatim=True)


def read_lines(path: Path, max_bytes: int = 200_000_000, warnings: list[str] | None = None) -> list[tuple[int, str]]:
    """(source line number, raw text) pairs of a .txt, .html/.htm or .docx file."""
    return [(number, text) for number, text, _ in read_source(path, max_bytes, warnings).lines]


_ENCODINGS = ["utf_8", "gb18030", "big5"]
_MAX_REPLACED_SHARE = 0.01  # more undecodable bytes than this: the guess is wrong, not the file


def decode_bytes(data: bytes, path: Path | str = "<bytes>") -> tuple[str, int]:
    """Text of a report file and how many undecodable sequences were replaced.

    UTF-8 (with or without BOM) and UTF-16 (with a BOM, or recognized by its zero bytes) are
    decoded directly; otherwise charset-normalizer picks among the encodings Chinese reports
    use. A stray invalid byte does not reject a file: it becomes U+FFFD and is counted."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _newlines(data.decode("utf-16")), 0
        except UnicodeDecodeError:
            raise IngestError(path, "starts with a UTF-16 byte-order mark but is not valid UTF-16") from None
    text, replaced = _utf16_without_bom(data), 0
    if text is None and b"\x00" in data[:4096]:
        raise IngestError(path, "binary file, not a text report")
    try:
        text = data.decode("utf-8-sig") if text is None else text
    except UnicodeDecodeError:
        encoding = _guess_encoding(data)
        if encoding is None:
            raise IngestError(path, "cannot detect the text encoding (tried UTF-8, GB18030, Big5)") from None
        text = data.decode("utf-8-sig" if encoding == "utf_8" else encoding, errors="replace")
        replaced = text.count("\ufffd")
        if replaced > max(8, len(text) * _MAX_REPLACED_SHARE):
            raise IngestError(path, f"undecodable text ({replaced} bad sequences as {encoding})")
    if sum(ch < " " and ch not in "\t\n\r\f" for ch in text[:4096]) > 40:
        raise IngestError(path, "binary file, not a text report")
    return _newlines(text), replaced


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: CJK and ASCII text in UTF-16 puts zero bytes in
    one of the two byte positions far more often than in the other."""
    head = data[:4096]
    if len(head) < 16 or b"\x00" not in head:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros >= 8 and other <= zeros // 10:
            try:
                return data[: len(data) // 2 * 2].decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _guess_encoding(data: bytes) -> str | None:
    """charset-normalizer's choice; when a few bad bytes make it refuse the whole file, the
    majority of its choices for line-aligned pieces of the file."""
    best = from_bytes(data, cp_isolation=_ENCODINGS).best()
    if best is not None:
        return _canonical(best.encoding)
    votes: Counter[str] = Counter()
    size = max(1024, len(data) // 8)
    start = 0
    while start < len(data):
        end = data.find(b"\n", start + size)
        end = len(data) if end < 0 else end + 1
        if (piece := from_bytes(data[start:end], cp_isolation=_ENCODINGS).best()) is not None:
            votes[_canonical(piece.encoding)] += end - start
        start = end
    if votes:
        return votes.most_common(1)[0][0]
    replaced = {enc: data.decode(enc, errors="replace").count("\ufffd") for enc in _ENCODINGS}
    return min(_ENCODINGS, key=lambda enc: replaced[enc])


def _canonical(encoding: str) -> str:
    return "gb18030" if encoding in {"gb2312", "gbk"} else encoding


def _looks_like_html(text: str) -> bool:
    head = text[:2000].lower()
    return "<html" in head or "<!doctype html" in head or "<body" in head


_CHROME_HINTS = re.compile(r"nav|menu|header|footer|breadcrumb|share|sidebar|toolbar|copyright|banner", re.I)
_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
               "section", "article", "table", "title", "pre", "blockquote"}
_SKIPPED_TAGS = {"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "template"}
_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
              "track", "wbr"}


class _TextBlocks(HTMLParser):
    """Visible text of a page as blocks, each with the source line where it starts.

    A streaming parser keeps the work linear in the size of the page: a tree builder took a
    minute on 20,000 nested <div>s. An open-element stack tells when a skipped element (script,
    navigation, an element whose id or class says it is page chrome) ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[int, int, str]] = []  # (line, column, text)
        self._stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self._skipping = 0
        self._text: list[str] = []
        self._line: int | None = None
        self._column = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self._flush()
        if tag in _VOID_TAGS:
            return
        hints = " ".join(value or "" for name, value in attrs if name in {"id", "class"})
        skipped = tag in _SKIPPED_TAGS or (bool(hints) and _CHROME_HINTS.search(hints) is not None
                                           and tag not in {"body", "html"})
        self._stack.append((tag, skipped))
        self._skipping += skipped

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self._flush()
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:  # close it and whatever was left open inside it
                self._skipping -= sum(skipped for _, skipped in self._stack[depth:])
                del self._stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if self._line is None:
            self._line, self._column = self.getpos()
        self._text.append(data)

    def _flush(self) -> None:
        if self._text:
            self.blocks.append((self._line or 1, self._column, "".join(self._text)))
        self._text, self._line = [], None

    def close(self) -> None:
        super().close()
        self._flush()


def _html_lines(html: str) -> list[tuple[int, str, int]]:
    """Visible text of an HTML page, one block per line, each with the source line where its
    text starts and that place's offset in the page."""
    parser = _TextBlocks()
    parser.feed(html)
    parser.close()
    starts = [0]
    for line in html.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    lines: list[tuple[int, str, int]] = []
    for line_no, column, block in parser.blocks:
        offset = starts[min(line_no, len(starts)) - 1] + column
        for n, part in enumerate(block.split("\n")):
            lines.append((line_no + n, part, offset))
            offset += len(part) + 1
    return lines


def _docx_lines(path: Path) -> list[str]:
    """Paragraphs and table cells of a .docx in body order (one line each)."""
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
    return [t.replace("\n", " ") for t in texts]


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
# Page chrome and spam, recognized by the start of a line or run of text (来源: …, 字号: …).
_CHROME_LINES = [re.compile(p) for p in (
    r"^(字号|字体大小|字体)[:：]",
    r"^[大中小\s]{3,}$",
    r"^(来源|发布时间|发布日期|日期|浏览量|浏览次数|点击数|作者|责任编辑)[:：]",
    r"(来源|发布时间|日期|浏览量|浏览次数)[:：].*(日期|时间|浏览|次数)",
    r"^(头部|底部|目录|首页|footer.*|header.*|当前位置.*)$",
    r"^[|\s]+$",
)]
# Words of web chrome that report sentences use too (开通“清镇政务”微信小程序。): chrome only
# in a run of text that is not prose.
_CHROME_WORDS = re.compile(r"扫码|扫一扫|手机浏览|打印本页|关闭窗口|分享到|收藏本页|返回顶部|www\.|https?://|微信|QQ群|免费资料")
_PROSE = re.compile(r"[\u4e00-\u9fff][^。！？；]{3,}[。！？；]")


def is_chrome(text: str) -> bool:
    """True when a line or run of text is page chrome or spam as a whole."""
    if any(p.search(text) for p in _CHROME_LINES):
        return True
    if _CHROME_WORDS.search(text) and not _PROSE.search(text):
        return True
    # Spam headlines: keyword lists joined by underscores, with no sentence punctuation.
    return text.count("_") >= 2 and not re.search(r"[，。、；,;]", text)


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


# Share of CJK characters that t2s changes above which a text is written in traditional
# characters. Simplified text has a few characters t2s also maps (乾务 -> 干务, a place name):
# about 1 in 100,000 in the shared reports, against 1 in 3 in a traditional one.
_TRADITIONAL_SHARE = 0.02
_TRADITIONAL_LINE_CHARS = 3  # a line alone is traditional with this many changed characters ...
_TRADITIONAL_LINE_SHARE = 0.1  # ... making this share of its CJK characters


def _changed(before: str, after: str) -> int:
    return sum(a != b for a, b in zip(before, after)) if len(before) == len(after) else len(before)


def _cjk(text: str) -> int:
    return sum("\u4e00" <= ch <= "\u9fff" for ch in text)


def to_simplified_where_traditional(texts: list[str]) -> list[str]:
    """Convert to simplified characters the text that is written in traditional ones: the whole
    file when it is, else only lines that are on their own; simplified text stays as it is."""
    converted = _t2s().convert("\n".join(texts)).split("\n")
    if len(converted) != len(texts):
        return texts
    changed = [_changed(a, b) for a, b in zip(texts, converted)]
    total = sum(changed)
    if total >= _TRADITIONAL_LINE_CHARS and total > _TRADITIONAL_SHARE * sum(map(_cjk, texts)):
        return converted
    return [b if n >= _TRADITIONAL_LINE_CHARS and n > _TRADITIONAL_LINE_SHARE * _cjk(a) else a
            for a, b, n in zip(texts, converted, changed)]


def normalize_lines(raw: list[tuple[int, str]], to_simplified: bool = True,
                    dropped: list[tuple[int, str]] | None = None) -> list[tuple[int, str]]:
    """Clean (line number, text) pairs into logical lines. Chrome is dropped (and appended to
    `dropped`, when given) only where a line, or a run of text of a one-line page, is chrome
    as a whole."""
    lines = normalize_source([(n, text, 0) for n, text in raw], to_simplified, dropped)
    return [(n, text) for n, text, _ in lines]


def normalize_source(raw: list[tuple[int, str, int]], to_simplified: bool = True,
                     dropped: list[tuple[int, str]] | None = None) -> list[tuple[int, str, array]]:
    """normalize_lines for (line number, text, offset) lines, keeping for every character of
    every cleaned line its offset in the source text (see SourceText)."""
    lines = [_clean_width_and_pinyin(text, offset) for _, text, offset in raw]
    if to_simplified:
        converted = to_simplified_where_traditional([text for text, _ in lines])
        lines = [(new if len(new) == len(old) else _one_to_one_t2s(old), offs)
                 for (old, offs), new in zip(lines, converted)]
    cleaned: list[tuple[int, str, array]] = []
    for (line_no, _, _), (text, offs) in zip(raw, lines):
        if not _PROSE.search(text) and is_chrome(text.strip()):  # 大 中 小: chrome as a line, not as parts
            if dropped is not None:
                dropped.append((line_no, text.strip()))
            continue
        for a, b in _parts(text):
            for start, end, chrome in _cut_after_urls(text, a, b):
                piece = text[start:end]
                if chrome or is_chrome(piece):
                    if dropped is not None:
                        dropped.append((line_no, piece))
                else:
                    cleaned.append((line_no, piece, offs[start:end]))
    return cleaned


def _clean_width_and_pinyin(text: str, offset: int) -> tuple[str, array]:
    """Half-width text without pinyin glosses, and each character's offset in the source."""
    wide = text.translate(_WIDTH)
    if len(wide) == len(text):
        offs = array("I", range(offset, offset + len(text)))
    else:  # zero-width characters were removed: map character by character
        kept = [(ch.translate(_WIDTH), offset + i) for i, ch in enumerate(text)]
        wide = "".join(ch for ch, _ in kept)
        offs = array("I", (o for ch, o in kept if ch))
    glosses = [(m.start(), m.end()) for m in _PINYIN.finditer(wide)]
    for start, end in reversed(glosses):
        wide = wide[:start] + wide[end:]
        del offs[start:end]
    return wide, offs


def _one_to_one_t2s(text: str) -> str:
    """Character-by-character conversion, for the rare line whose phrase conversion changes its
    length (which would lose the offsets)."""
    out = []
    for ch in text:
        new = _t2s().convert(ch)
        out.append(new if len(new) == 1 else ch)
    return "".join(out)


def _parts(text: str) -> Iterator[tuple[int, int]]:
    """Spans of the runs of text between paragraph gaps, without their outer whitespace."""
    start = 0
    for gap in [*_PARAGRAPH_GAP.finditer(text), None]:
        end = gap.start() if gap else len(text)
        yield from _stripped(text, start, end)
        if gap:
            start = gap.end()


_URL = re.compile(r"(?:https?://|www\.)[\x21-\x7e]+")


def _cut_after_urls(text: str, start: int, end: int) -> Iterator[tuple[int, int, bool]]:
    """Stripped spans of a run of text, and whether each is chrome: text up to a web address
    is chrome when it is not prose (请点击:www.example.com 2023年某县政府工作报告)."""
    while (m := _URL.search(text, start, end)) and not _PROSE.search(text[start:m.end()]):
        yield from ((a, b, True) for a, b in _stripped(text, start, m.end()))
        start = m.end()
    yield from ((a, b, False) for a, b in _stripped(text, start, end))


def _stripped(text: str, a: int, b: int) -> list[tuple[int, int]]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return [(a, b)] if b > a else []


def to_simplified_text(text: str) -> str:
    """All of a text in simplified characters: for comparing strings, where a wrongly converted
    place name does no harm."""
    return _t2s().convert(text)


def load_document(path: Path | str, to_simplified: bool = True, source: str = "",
                  max_bytes: int = 200_000_000) -> Document:
    """Read and normalize one file; raises IngestError with a one-line cause."""
    path = Path(path)
    warnings: list[str] = []
    original = read_source(path, max_bytes, warnings)
    lines = normalize_source(original.lines, to_simplified)
    if not lines:
        raise IngestError(path, "no text left after removing markup and noise")
    line_of, offset_of = array("I"), array("I")
    for line_no, text, offs in lines:
        line_of.extend([line_no] * (len(text) + 1))
        offset_of.extend(offs)
        offset_of.append(offs[-1] + 1)  # the line break after it
    text = "\n".join(t for _, t, _ in lines)
    kept = {n for n, _, _ in lines}
    last_line = max((n for n, t, _ in original.lines if n in kept or not t.strip()), default=1)
    return Document(path=path, text=text, line_of=line_of[: len(text)], last_line=last_line,
                    source=source or display_path(path.name), warnings=tuple(warnings),
                    offset_of=offset_of[: len(text)], original=original.text, verbatim=original.verbatim,
                    pages=original.pages, kind=original.kind)


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


def split_reports(doc: Document, base_id: str = "") -> list[Report]:
    """Cut a document into reports at title lines; a single report keeps the whole file.
    Report ids are `base_id` (default: the file's stem), with -01, -02, ... for a collection."""
    base_id = base_id or display_path(doc.path.stem)
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
        report = _describe(doc, text, doc.line_of[start:end], (first_line, last_line), report_id=f"{base_id}{suffix}")
        report.offset_of, report.original, report.pages = doc.offset_of[start:end], doc.original, doc.pages
        report.file_kind = doc.kind
        reports.append(report)
    return reports


_REPORT_PART = re.compile(r"回顾|执行情况|完成情况|总结|目标|计划|任务|安排|工作")


def _describe(doc: Document, text: str, line_of: array, lines: tuple[int, int], report_id: str) -> Report:
    head = text.split("\n")[:20]
    titles = [line for line in head if _is_title(line)]
    title = titles[0] if titles else ""
    headings = [ln for ln in text.split("\n") if re.match(r"^[一二三四五六七八九十]+、", ln)][:6]
    if not title and not re.search(r"(?:19|20)\d{2}年", text[:5000]) and \
            not any(_REPORT_PART.search(h) for h in headings):
        # No title, no year, no review or plan part: not a report. Nothing is invented for it.
        return Report(source=doc.name, report_id=report_id, title=None, region=None, report_type=None,
                      review_period=None, plan_year=None, lines=lines, text=text, line_of=line_of)
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
