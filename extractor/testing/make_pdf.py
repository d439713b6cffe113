"""Report PDFs made from text, for tests and the bundled sample: pages with a running header, a
page number footer, lines wrapped at a fixed width, and tables drawn as rows of cells; or pages
with an image only (a scan without a text layer). reportlab's built-in CID font STSong-Light
needs no font file.

    python -m extractor.testing.make_pdf REPORT.txt OUT.pdf
"""

from __future__ import annotations

import sys
from pathlib import Path

TABLE_MARK = "|"  # in the text given, a line with | is a table row: cells between the bars


def make_report_pdf(text: str, path: Path, header: str = "", chars_per_line: int = 32,
                    lines_per_page: int = 30) -> int:
    """Write `text` as a PDF; return its page count. Paragraphs wrap at chars_per_line."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    rows: list[list[str]] = []
    for paragraph in text.splitlines():
        if TABLE_MARK in paragraph:
            rows.append([cell.strip() for cell in paragraph.strip(TABLE_MARK).split(TABLE_MARK)])
        else:
            rows.extend([paragraph[i:i + chars_per_line]] for i in range(0, max(1, len(paragraph)), chars_per_line))
    pdf = canvas.Canvas(str(path))
    pages = 0
    for start in range(0, len(rows), lines_per_page):
        pages += 1
        if header:
            pdf.setFont("STSong-Light", 9)
            pdf.drawString(240, 810, header)
        pdf.setFont("STSong-Light", 12)
        y = 780
        for row in rows[start:start + lines_per_page]:
            for column, cell in enumerate(row):
                pdf.drawString(60 + column * 150, y, cell)
            y -= 24
        pdf.setFont("STSong-Light", 9)
        pdf.drawString(290, 30, f"- {pages} -")
        pdf.showPage()
    pdf.save()
    return pages


def make_scanned_pdf(path: Path) -> None:
    """A page with a picture and no text layer, as a scanner makes."""
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    for y in range(100, 700, 40):
        pdf.rect(60, y, 400, 20, fill=1)
    pdf.showPage()
    pdf.save()


def flattened(text: str) -> str:
    """The text report that holds the same content: table rows as one cell per line."""
    out = []
    for paragraph in text.splitlines():
        if TABLE_MARK in paragraph:
            out.extend(cell.strip() for cell in paragraph.strip(TABLE_MARK).split(TABLE_MARK))
        else:
            out.append(paragraph)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    print(make_report_pdf(source.read_text(encoding="utf-8"), target, header="青川县人民政府"), "pages")
