"""PDF text layers as report text (part of ingest).

pypdfium2 (PDFium, Apache-2.0/BSD) reads the text layer: it is fast (a 100-page report in well
under a second), handles CJK fonts including CID-keyed ones, and returns each page's text in
reading order with its line breaks. pdfplumber (pdfminer.six) gives finer layout but is one to
two orders of magnitude slower in pure Python.

What a PDF adds to a report, and is removed here: running headers and footers (the same line at
the top or bottom of most pages), page numbers (- 3 -, 第3页, 3/10), and line breaks where the
layout wrapped a sentence (Chinese has no spaces: a full-width line that does not end a sentence
continues on the next). Short lines (headings, table cells) keep their breaks.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass

EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running headers/footers
RUNNING_SHARE = 0.5  # a line at the edge of at least this share of pages is a running header/footer
FULL_LINE = 0.85  # a line this close to the page's text width was wrapped by the layout
_PAGE_NUMBER = re.compile(r"^\s*(?:[-—–－]\s*\d+\s*[-—–－]|第\s*\d+\s*页(?:\s*[/,，]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+|\d{1,4}|"
                          r"page\s*\d+(?:\s*of\s*\d+)?)\s*$", re.I)
_SENTENCE_END = tuple("。！？：:!?")  # ；ends a clause, and wrapped lines often end on one
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[(（][一二三四五六七八九十]{1,3}[)）]|\d{1,2}[、．]|\d{1,2}\.(?!\d)|"
                      r"[(（]\d{1,2}[)）]|第[一二三四五六七八九十]+[章节部分])")


class PdfError(Exception):
    """A PDF that yields no report text; str() is the cause, for IngestError."""


@dataclass(frozen=True)
class PdfText:
    """The report text of a PDF and, for any offset of it, the page and the line on that page."""

    text: str
    starts: list[int]  # offset in `text` of each physical line kept
    places: list[tuple[int, int]]  # (page, line on the page), 1-based, of each of those lines

    def place(self, offset: int) -> tuple[int, int] | None:
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.places[i] if i >= 0 else None


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


def read_pdf(data: bytes) -> PdfText:
    """The text of a PDF's text layer, cleaned of page furniture; raises PdfError."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PdfError(f"cannot read the PDF (damaged or encrypted: {exc})") from None
    try:
        pages = []
        for page in document:
            text = page.get_textpage().get_text_range()
            pages.append([line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")])
    finally:
        document.close()
    if not any(line.strip() for lines in pages for line in lines):
        raise PdfError("no text layer (scanned PDF); run OCR first")
    kept = _without_furniture(pages)
    return _join_wrapped([[cell for item in page for cell in _cells(item)] for page in kept])


_CELL_MAX = 20  # a table cell is short; prose is not split at its spaces


def _cells(item: tuple[int, int, str]) -> list[tuple[int, int, str]]:
    """A table row as the text layer gives it (cells separated by spaces) becomes one line per
    cell, in reading order, as flattened tables are in text reports."""
    page, line_no, text = item
    cells = text.split()
    if len(cells) >= 2 and all(len(c) <= _CELL_MAX for c in cells) and not re.search(r"[。，；,;]", text) \
            and re.search(r"[\u4e00-\u9fff]", text):
        return [(page, line_no, cell) for cell in cells]
    return [item]


def _without_furniture(pages: list[list[str]]) -> list[list[tuple[int, int, str]]]:
    """Each page's lines as (page, line on page, text), without running headers, footers and
    page numbers."""
    edges: Counter[str] = Counter()
    for lines in pages:
        body = [line for line in lines if line.strip()]
        edges.update({_key(line) for line in body[:EDGE_LINES] + body[-EDGE_LINES:]})
    running = {key for key, n in edges.items() if len(pages) >= 2 and n >= max(2, RUNNING_SHARE * len(pages))}
    out = []
    for number, lines in enumerate(pages, start=1):
        body = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
        edge = {i for i, _ in body[:EDGE_LINES] + body[-EDGE_LINES:]}
        out.append([(number, i, line.strip()) for i, line in body
                    if not (i in edge and (_key(line) in running or _PAGE_NUMBER.match(line)))])
    return out


def _join_wrapped(pages: list[list[tuple[int, int, str]]]) -> PdfText:
    lines = [item for page in pages for item in page]
    widths = sorted(max(len(text) for _, _, text in page) for page in pages if page)
    width = widths[len(widths) // 2] if widths else 0  # the body text width of a typical page
    text_parts: list[str] = []
    starts: list[int] = []
    places: list[tuple[int, int]] = []
    offset = 0
    for k, (page, line_no, text) in enumerate(lines):
        starts.append(offset)
        places.append((page, line_no))
        text_parts.append(text)
        offset += len(text)
        nxt = lines[k + 1][2] if k + 1 < len(lines) else None
        wrapped = (nxt is not None and len(text) >= FULL_LINE * width and not text.endswith(_SENTENCE_END)
                   and not _HEADING.match(nxt))
        if not wrapped:
            text_parts.append("\n")
            offset += 1
    return PdfText("".join(text_parts).rstrip("\n"), starts, places)
