"""Ground: locate every record's evidence in the report text.

Three tiers, cheapest first: exact substring (searched in the record's chunk, then the
whole report); the same after folding whitespace and punctuation width; then a fuzzy
alignment (rapidfuzz) above a threshold. A grounded record gets its span, its source lines
and its section path; an ungrounded one is dropped unless the run keeps it, flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import fuzz

from .chunk import Chunk, Section, section_at
from .ingest import Report
from .models import ChunkRecords, Provenance

_FOLD = str.maketrans("，。；：！？（）【】“”‘’、　", ",.;:!?()[]\"\"''、 ")
_SKIP = re.compile(r"\s")


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

    def provenance(self, span: tuple[int, int] | None, match: str, chunk: Chunk) -> Provenance:
        if span is None:
            section = section_at(self.sections, chunk.start)
            return Provenance(span=None, lines=None, section=section.path_text if section else "",
                              match="ungrounded", chunk=chunk.index)
        section = section_at(self.sections, span[0])
        return Provenance(span=span, lines=self.report.lines_of_span(*span),
                          section=section.path_text if section else "", match=match, chunk=chunk.index)


def ground(locator: EvidenceLocator, chunk: Chunk, records: ChunkRecords,
           keep_ungrounded: bool = False) -> tuple[list[GroundedRecord], int]:
    """Grounded records of one chunk, and how many were dropped as ungrounded."""
    out, dropped = [], 0
    for kind in ("targets", "projects", "commitments"):
        for record in getattr(records, kind):
            span, match = locator.locate(record.evidence, chunk)
            if span is None and not keep_ungrounded:
                dropped += 1
                continue
            out.append(GroundedRecord(kind, record, locator.provenance(span, match, chunk)))
    return out, dropped
