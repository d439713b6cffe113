"""Ground: locate every record's evidence in the report text, and check the record against it.

Three tiers, cheapest first: exact substring (searched in the record's chunk, then the
whole report); the same after folding whitespace and punctuation width; then a fuzzy
alignment (rapidfuzz) above a threshold. A grounded record gets its span, its source lines
and its section path.

Real evidence does not make a record true: its number (value, quantity, investment) must
occur in the evidence and its key name (indicator, name, description) must be recognizably in
it, or the record is unsupported. Ungrounded and unsupported records are dropped and counted,
unless the run keeps them, flagged in their provenance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator

from rapidfuzz import fuzz

from .chunk import Chunk, Section, section_at
from .ingest import Report
from .models import KEY_FIELD, ChunkRecords, Provenance, chinese_numeral

_FOLD = str.maketrans("，。；：！？（）【】“”‘’、　", ",.;:!?()[]\"\"''、 ")
_SKIP = re.compile(r"\s")


@dataclass
class Dropped:
    """Records grounding dropped: evidence not found, or fields the evidence does not support."""

    ungrounded: int = 0
    unsupported: int = 0


@dataclass
class GroundedRecord:
    kind: str  # targets / projects / commitments
    record: object
    provenance: Provenance


class EvidenceLocator:
    """Finds evidence strings in one report's text."""

    def __init__(self, report: Report, sections: list[Section], fuzzy_threshold: float = 90.0):
        self.report, self.sections, self.threshold = report, sections, fuzzy_threshold

    @cached_property
    def _folded(self) -> tuple[str, list[int]]:
        chars, index = [], []
        for i, ch in enumerate(self.report.text):
            if not _SKIP.match(ch):
                chars.append(ch.translate(_FOLD))
                index.append(i)
        return "".join(chars), index

    def locate(self, evidence: str, chunk: Chunk | None = None) -> tuple[tuple[int, int] | None, str]:
        text = self.report.text
        if chunk is not None:
            k = chunk.text.find(evidence)
            if k >= 0:
                return (chunk.start + k, chunk.start + k + len(evidence)), "exact"
        k = text.find(evidence)
        if k >= 0:
            return (k, k + len(evidence)), "exact"
        folded, index = self._folded
        needle = _SKIP.sub("", evidence).translate(_FOLD)
        if needle:
            k = folded.find(needle)
            if k >= 0:
                return (index[k], index[k + len(needle) - 1] + 1), "normalized"
        haystack = chunk.text if chunk is not None else text
        offset = chunk.start if chunk is not None else 0
        if len(evidence) >= 4:
            found = fuzz.partial_ratio_alignment(evidence, haystack, score_cutoff=self.threshold)
            if found is not None:
                return (offset + found.dest_start, offset + found.dest_end), "fuzzy"
        return None, "ungrounded"

    def occurrences(self, evidence: str, chunk: Chunk) -> Iterator[tuple[int, int]]:
        """Every exact occurrence of the evidence, in its chunk first: a table row's label can
        also occur in prose before the table."""
        for base, haystack in ((chunk.start, chunk.text), (0, self.report.text)):
            k = haystack.find(evidence)
            while k >= 0:
                yield base + k, base + k + len(evidence)
                k = haystack.find(evidence, k + 1)

    def provenance(self, span: tuple[int, int] | None, match: str, chunk: Chunk) -> Provenance:
        if span is None:
            section = section_at(self.sections, chunk.start)
            return Provenance(span=None, lines=None, section=section.path_text if section else "",
                              match="ungrounded", chunk=chunk.index)
        section = section_at(self.sections, span[0])
        report = self.report
        source_span = report.source_span(*span) if report.original else None
        return Provenance(span=span, lines=report.lines_of_span(*span),
                          section=section.path_text if section else "", match=match, chunk=chunk.index,
                          source_span=source_span,
                          source_position=report.source_position(span[0]) if source_span else None,
                          source_text=report.original[source_span[0]:source_span[1]] if source_span else None,
                          page=report.pages.place(source_span[0]) if report.pages and source_span else None)


NUMBER_FIELDS = {"targets": ("value", "value_max"), "projects": ("investment",),
                 "commitments": ("quantity", "quantity_max")}
# A key name is recognizably in its evidence when this share of its characters occurs there, or
# it aligns with part of it this well (rapidfuzz partial_ratio); each at or below its bar fails. Calibrated on the ten dev
# reports: 3 of 1,903 annotated records fall below both (names built from context).
_KEY_CHARS_SHARE = 1 / 3
_KEY_PARTIAL_RATIO = 55
_TABLE_CONTEXT = 120  # characters after a table row's label that hold its cells
_SENTENCE_CONTEXT = 80  # characters of the evidence's sentence before it that may hold its subject
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CN_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万]+")


def numbers_in(text: str) -> list[float]:
    """Every number the text states: digits (thousands separators removed) and Chinese
    numerals, including the numerals inside a longer run (三十五 gives 35, 30 and 5 ...)."""
    text = re.sub(r"(?<=\d)[,，](?=\d{3})", "", text)
    found = [float(x) for x in _NUMBER.findall(text)]
    for m in _CN_NUMERAL.finditer(text):
        run = m.group()
        for i in range(len(run)):
            for j in range(i + 1, min(len(run), i + 8) + 1):
                if (value := chinese_numeral(run[i:j])) is not None:
                    found.append(float(value))
    return found


def unsupported_field(kind: str, record: object, evidence: str, after: str = "", before: str = "") -> str | None:
    """The first field of a record that its evidence does not support, with why; else None.
    `after` is the text that follows the evidence, where a table row keeps its cells; `before`
    the start of its sentence, where a list's shared subject is (改造棚户区…基本建成4700余套)."""
    for name in NUMBER_FIELDS[kind]:
        value = getattr(record, name)
        if value is None:
            continue
        stated = numbers_in(evidence) + numbers_in(after[:_TABLE_CONTEXT])
        if not any(abs(abs(float(value)) - x) <= 1e-6 * max(1.0, x) for x in stated):
            unit = (getattr(record, "unit", None) or "").removesuffix("元")
            if not (abs(float(value)) == 1 and unit and unit in evidence):  # 万亿 as one 万亿元
                return f"{name} {value} is not in the evidence"
    key = getattr(record, KEY_FIELD[kind])
    chars = [ch for ch in key if not ch.isspace()]
    context = before + evidence
    share = sum(ch in context for ch in chars) / max(1, len(chars))
    if share <= _KEY_CHARS_SHARE and fuzz.partial_ratio(key, context) < _KEY_PARTIAL_RATIO:
        return f"{KEY_FIELD[kind]} {key!r} is not in the evidence"
    return None


def _problem(kind: str, record: object, text: str, span: tuple[int, int]) -> str | None:
    start = max(text.rfind("\n", 0, span[0]) + 1, span[0] - _SENTENCE_CONTEXT)
    sentence = max(text.rfind(mark, start, span[0]) for mark in "。；;") + 1
    return unsupported_field(kind, record, text[span[0]:span[1]], text[span[1]:span[1] + _TABLE_CONTEXT],
                             text[max(start, sentence):span[0]])


def ground(locator: EvidenceLocator, chunk: Chunk, records: ChunkRecords,
           keep_ungrounded: bool = False, dropped: Dropped | None = None) -> list[GroundedRecord]:
    """Grounded, supported records of one chunk; what is dropped is counted in `dropped`."""
    dropped = dropped if dropped is not None else Dropped()
    out = []
    text = locator.report.text
    for kind in ("targets", "projects", "commitments"):
        for record in getattr(records, kind):
            span, match = locator.locate(record.evidence, chunk)
            problem = None
            if span is None:
                dropped.ungrounded += 1
            else:
                problem = _problem(kind, record, text, span)
                if problem is not None and match == "exact":
                    for other in locator.occurrences(record.evidence, chunk):
                        if _problem(kind, record, text, other) is None:
                            span, problem = other, None
                            break
                dropped.unsupported += problem is not None
            if (span is None or problem) and not keep_ungrounded:
                continue
            provenance = locator.provenance(span, match, chunk)
            provenance.problem = problem
            out.append(GroundedRecord(kind, record, provenance))
    return out
