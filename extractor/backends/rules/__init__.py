"""The rules backend: deterministic extraction of targets, projects and commitments.

It reads one chunk at a time, like an LLM backend, and uses the chunk's context (review or
plan part, review and plan years). Vocabulary lives in the lexicon (data/lexicon.toml, or a
user's file with --lexicon); the modules here hold the small functions that apply it, one per
record type. Every record's evidence is a verbatim slice of the chunk.
"""

from __future__ import annotations

from pathlib import Path

from ...chunk import Chunk, paragraph_spans
from ...config import Settings
from ...models import ChunkRecords
from ..base import Extraction
from .commitments import parse_inline_list, parse_listed, parse_plan_goals
from .lexicon import Lexicon, lexicon, lexicon_hash, load_lexicon, reset_lexicon, use_lexicon
from .projects import parse_projects
from .tables import parse_table
from .targets import (LIST_ITEM, MIN_PASSAGE, headline_passage, is_target_summary, parse_achievements,
                      parse_headline, target_list_items)
from .values import ENUM_ITEM


# Distinct coded indicators that make the first such review paragraph the opening summary (its
# values are headline); a numbered subsection (（六）增进民生福祉…) is never the summary.
SUMMARY_MIN_CODES = 2


class RulesBackend:
    """Offline extraction with rules; deterministic and free."""

    name = "rules"

    def __init__(self, lexicon_file: Path | None = None):
        self.lexicon = load_lexicon(lexicon_file)
        self.lexicon_hash = lexicon_hash(lexicon_file)

    async def extract(self, chunk: Chunk) -> Extraction:
        return Extraction(extract_chunk(chunk, self.lexicon))

    async def aclose(self) -> None:
        return None


def from_settings(settings: Settings) -> RulesBackend:
    return RulesBackend(settings.lexicon)


def extract_chunk(chunk: Chunk, lex: Lexicon | None = None) -> ChunkRecords:
    """The records the rules find in one chunk, with a given lexicon (default: the shipped one)."""
    token = use_lexicon(lex) if lex is not None else None
    try:
        return _extract(chunk)
    finally:
        if token is not None:
            reset_lexicon(token)


def _extract(chunk: Chunk) -> ChunkRecords:
    text = chunk.text
    records = ChunkRecords()
    paragraphs = paragraph_spans(text)
    table_lines = {p for p in paragraphs if "\n" in text[p[0]:p[1]]}
    summary_done = False
    in_list = False
    headline_list = False
    target_lists = target_list_items(text, paragraphs) if chunk.part == "plan" else set()
    for ps, pe in paragraphs:
        para = text[ps:pe]
        if (ps, pe) in table_lines:
            records.targets.extend(parse_table(text, ps, pe, chunk))
            continue
        if chunk.part == "plan":
            plan_year = int(chunk.context["plan_year"])
            passage = headline_passage(para)
            item = LIST_ITEM.match(para)
            if passage is None and (item and (headline_list or (ps, pe) in target_lists)):
                passage = (item.end(), len(para))
            elif passage is None and is_target_summary(text, ps, pe):
                passage = (0, len(para))
            else:
                headline_list = False
            if passage:
                b, e = passage
                records.targets.extend(parse_headline(text, ps + b, ps + e, "planned", plan_year))
                rest_start = ps + e
                # A lead-in that ends at its colon announces the targets as the list items that follow.
                headline_list = headline_list or len(para[b:e].strip(" :：")) < MIN_PASSAGE
            else:
                rest_start = ps
            marker = next((m for m in lexicon().list_markers if m in para), None)
            opens_with_item = ENUM_ITEM.match(para) is not None
            is_list = (marker and ENUM_ITEM.search(para[10:])) or (in_list and opens_with_item)
            in_list = marker is not None or (in_list and opens_with_item)  # a 民生实事 heading announces the list
            inline = [] if is_list or marker is None else parse_inline_list(text, ps, pe, chunk, marker)
            if is_list:
                records.commitments.extend(parse_listed(text, ps, pe, chunk))
            elif inline:
                records.commitments.extend(inline)
            else:
                targets, commitments = parse_plan_goals(text, rest_start, pe, chunk, listed=False)
                records.targets.extend(targets)
                records.commitments.extend(commitments)
        else:
            achieved = parse_achievements(text, ps, pe, chunk)
            coded = {t.indicator_code for t in achieved}
            if not summary_done and len(coded) >= SUMMARY_MIN_CODES and chunk.index <= 3 and not LIST_ITEM.match(para):
                for t in achieved:
                    t.headline = True
                summary_done = True
            records.targets.extend(achieved)
        records.projects.extend(parse_projects(text, ps, pe, chunk))
    return records
