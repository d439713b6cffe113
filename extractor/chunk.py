"""Chunk: Report -> section tree -> chunks an LLM can handle.

Headings are recognized by their marker (一、 / (一) / 1. / (1) / 一是 / —— lead-ins / short
run-in sentences like 工业经济提质增效。) and ranked by a fixed hierarchy, so that a report
that skips a level still yields a proper tree. Chunks hold whole paragraphs up to a character
budget, never cross into or out of the plan part (which decides a record's status and year),
prefer to start at a section once three quarters full, and never cut a sentence, a number or
a quoted name. Fewer, fuller chunks keep the per-request prompt overhead (system prompt and
schema, ~1,200 tokens) a minority of the tokens sent.
"""

from __future__ import annotations

import bisect
import operator
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from .ingest import Report

Part = Literal["preamble", "review", "plan"]

_MARKERS: list[tuple[int, re.Pattern[str]]] = [
    # Unnumbered part headings of work reports: 2022年工作回顾, 做好2023年工作, 加强政府自身建设.
    (0, re.compile(r"^(?=[^，,。；;：:！!、]{4,20}$)(?!.*(?:报告|预期|指标|完成情况))(?=.*(?:\d{4}年|今年|政府自身建设))"
                   r"(?=.*(?:回顾|工作|安排|目标|任务|建设))")),
    (1, re.compile(r"^[一二三四五六七八九十]{1,3}、")),
    (2, re.compile(r"^[(（][一二三四五六七八九十]{1,3}[)）]")),
    (3, re.compile(r"^\d{1,2}(?:[、．]|\.(?!\d))")),
    (4, re.compile(r"^[(（]\d{1,2}[)）]")),
    (5, re.compile(r"^(?:[一二三四五六七八九十]{1,3}是|第[一二三四五六七八九十]{1,3}[,，、]|——)")),
    # A run-in heading: a short phrase closed by 。 that opens a longer paragraph.
    (6, re.compile(r"^(?=[^。！？；;,，、：:“”]{3,16}[。:：].{10,})")),
]
_REVIEW = re.compile(r"回顾|执行情况|完成情况|总结|过去")
_PLAN = re.compile(r"目标|计划|任务|思路|安排|工作|要求|建议|重点|措施|展望")
_SENTENCE_END = re.compile(r"(?<=[。！？；;!?])")
_CLAUSE_END = re.compile(r"(?<=[，,、：:])(?![\d.%])")
_TABLE_CELL_MAX = 30
_TABLE_MIN_CELLS = 6


@dataclass(frozen=True)
class Section:
    level: int
    heading: str
    start: int
    end: int
    path: tuple[str, ...]
    part: Part

    @property
    def path_text(self) -> str:
        return " > ".join(self.path)


@dataclass(frozen=True)
class Chunk:
    """A span of a report's text sent to a backend in one call."""

    report_id: str
    index: int
    start: int
    end: int
    text: str
    section_path: str
    part: Part
    context: dict = field(default_factory=dict, compare=False)

    @property
    def size(self) -> int:
        return len(self.text)


def heading_rank(line: str) -> int | None:
    for rank, pattern in _MARKERS:
        if pattern.match(line):
            return rank
    return None


def _heading_text(line: str) -> str:
    head = re.split(r"[。；;]", line, maxsplit=1)[0]
    return head if len(head) <= 40 else head[:40] + "…"


def build_sections(report: Report) -> list[Section]:
    """The report's sections in text order; each knows its path and its part."""
    lines = _line_spans(report.text)
    heads = [(rank, start) for start, end in lines
             if (rank := heading_rank(report.text[start:end])) is not None]
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []  # (rank, heading) of open ancestors
    part: Part = "preamble"
    seen_plan = False
    for i, (rank, start) in enumerate(heads):
        line_end = report.text.find("\n", start)
        line = report.text[start: line_end if line_end >= 0 else len(report.text)]
        heading = _heading_text(line)
        if rank <= 1:
            if _REVIEW.search(heading) and not seen_plan:
                part = "review"
            elif _PLAN.search(heading) or part in {"review", "plan"}:
                part, seen_plan = "plan", True
        while stack and stack[-1][0] >= rank:
            stack.pop()
        stack.append((rank, heading))
        end = next((s for r, s in heads[i + 1:] if r <= rank), len(report.text))
        sections.append(Section(rank, heading, start, end, tuple(h for _, h in stack), part))
    return sections


_START = operator.attrgetter("start")


def section_at(sections: list[Section], offset: int) -> Section | None:
    """The deepest section containing offset."""
    i = bisect.bisect_right(sections, offset, key=_START) - 1
    while i >= 0:
        if sections[i].start <= offset < sections[i].end:
            return sections[i]
        i -= 1
    return None


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Lines of text, with each run of short cell lines (a flattened table) merged into one span."""
    lines = _line_spans(text)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and _is_cell(text[lines[j][0]:lines[j][1]]):
            j += 1
        if j - i >= _TABLE_MIN_CELLS:
            spans.append((lines[i][0], lines[j - 1][1]))
            i = j
        else:
            spans.append(lines[i])
            i += 1
    return spans


def _units(text: str, budget: int) -> list[tuple[int, int]]:
    """Atomic pieces to pack: paragraphs, flattened tables kept whole, and sentences of
    paragraphs that exceed the budget."""
    units: list[tuple[int, int]] = []
    for start, end in paragraph_spans(text):
        is_table = "\n" in text[start:end]
        units.extend([(start, end)] if is_table else _split_long(text, start, end, budget))
    return units


def _is_cell(line: str) -> bool:
    return 0 < len(line) <= _TABLE_CELL_MAX and "。" not in line and heading_rank(line) not in {1, 2, 3, 4}


def _split_long(text: str, start: int, end: int, budget: int) -> list[tuple[int, int]]:
    if end - start <= budget:
        return [(start, end)]
    pieces = _pack(_cut(text, start, end, _SENTENCE_END), budget)
    out = []
    for s, e in pieces:
        if e - s <= budget:
            out.append((s, e))
        else:  # one sentence longer than the budget: cut at clause ends, then hard
            for cs, ce in _pack(_cut(text, s, e, _CLAUSE_END), budget):
                out.extend((k, min(k + budget, ce)) for k in range(cs, ce, budget))
    return out


def _cut(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    cuts = [m.start() for m in pattern.finditer(text, start, end)] + [end]
    spans, prev = [], start
    for cut in cuts:
        if cut > prev:
            spans.append((prev, cut))
            prev = cut
    return spans


def _pack(spans: list[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
    packed: list[tuple[int, int]] = []
    for s, e in spans:
        if packed and e - packed[-1][0] <= budget:
            packed[-1] = (packed[-1][0], e)
        else:
            packed.append((s, e))
    return packed


def make_chunks(report: Report, budget: int = 4000, sections: list[Section] | None = None) -> list[Chunk]:
    """Pack a report's paragraphs into chunks of at most `budget` characters."""
    sections = build_sections(report) if sections is None else sections
    bounds = sorted({0, *_part_starts(sections), len(report.text)})
    context = {"report_id": report.report_id, "title": report.title, "region": report.region,
               "report_type": report.report_type, "review_period": report.review_period,
               "plan_year": report.plan_year}
    chunks: list[Chunk] = []
    for top_start, top_end in zip(bounds, bounds[1:]):
        block = report.text[top_start:top_end]
        spans: list[tuple[int, int]] = []
        for s, e in _units(block, budget):
            s, e = s + top_start, e + top_start
            new_section = (sec := section_at(sections, s)) is not None and sec.start == s and sec.level <= 3
            if spans and e - spans[-1][0] <= budget and not (new_section and spans[-1][1] - spans[-1][0] > budget * 3 // 4):
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
        for s, e in spans:
            text = report.text[s:e]
            if not text.strip():
                continue
            first = section_at(sections, s)
            chunks.append(Chunk(report.report_id, len(chunks), s, e, text,
                                _common_path(sections, s, e), first.part if first else "preamble",
                                context))
    return chunks


def _part_starts(sections: list[Section]) -> list[int]:
    """Offsets where the report passes into its plan part, and back out of it. A preamble is
    read like the review (its values are achieved), so the two may share a chunk."""
    starts, in_plan = [], False
    for section in sections:
        if section.level <= 1 and (section.part == "plan") != in_plan:
            starts.append(section.start)
            in_plan = not in_plan
    return starts


def _common_path(sections: list[Section], start: int, end: int) -> str:
    first, last = section_at(sections, start), section_at(sections, max(start, end - 1))
    if first is None or last is None:
        return ""
    common = []
    for a, b in zip(first.path, last.path):
        if a != b:
            break
        common.append(a)
    return " > ".join(common or first.path[:1])


def split_chunk(chunk: Chunk) -> tuple[Chunk, Chunk] | None:
    """Two halves of a chunk cut at the paragraph boundary nearest its middle (else the
    sentence end nearest it), for an answer that did not fit; None when it cannot be cut.
    The halves keep the chunk's index, so their records stay attributed to it."""
    text = chunk.text
    middle = len(text) // 2
    cuts = [i + 1 for i, ch in enumerate(text) if ch == "\n" and 0 < i + 1 < len(text)]
    if not cuts:
        cuts = [m.start() for m in _SENTENCE_END.finditer(text) if 0 < m.start() < len(text)]
    if not cuts:
        return None
    cut = min(cuts, key=lambda i: abs(i - middle))
    return (replace(chunk, end=chunk.start + cut, text=text[:cut]),
            replace(chunk, start=chunk.start + cut, text=text[cut:]))
