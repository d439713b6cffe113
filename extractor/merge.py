"""Merge: one fact, one record.

Records of all chunks of a report are merged. Two records are the same fact when they have
the same type and key fields (guide section 5); the headline mention wins, else the first in
the text. Coded indicators are merged on their code, value and period even when the evidence
differs (the summary and a later paragraph repeat them); other records also need the same
normalized key text.
"""

from __future__ import annotations

import re

from .ground import GroundedRecord

_NOISE = re.compile(r"[\s“”\"'、,，.。()（）]")


def _norm(text: str) -> str:
    return _NOISE.sub("", text)


def fact_key(item: GroundedRecord) -> tuple:
    r = item.record
    if item.kind == "targets":
        name = r.indicator_code if r.indicator_code != "other" else _norm(r.indicator)
        return ("t", name, r.status, r.year, r.measure, r.value, r.value_max, r.qualifier if r.value is None else "")
    if item.kind == "projects":
        return ("p", _norm(r.name), r.status, r.year, r.investment)
    return ("c", _norm(r.description), r.quantity, r.quantity_max, r.unit, r.year)


def _position(item: GroundedRecord) -> int:
    return item.provenance.span[0] if item.provenance.span else 1 << 30


def merge(records: list[GroundedRecord]) -> list[GroundedRecord]:
    ordered = sorted(records, key=lambda g: (not getattr(g.record, "headline", False), _position(g)))
    kept: dict[tuple, GroundedRecord] = {}
    for n, item in enumerate(ordered):
        # A record kept with a problem (ungrounded, unsupported) is shown as it is, for review.
        flagged = item.provenance.problem is not None or item.provenance.span is None
        kept.setdefault(("flagged", n) if flagged else fact_key(item), item)
    # Items of the headline passage are targets, even when a later paragraph repeats them.
    headline = {(t.record.value, t.record.unit) for t in kept.values()
                if t.kind == "targets" and t.record.headline and t.record.value is not None}
    result = [g for g in kept.values()
              if not (g.kind == "commitments" and (g.record.quantity, g.record.unit) in headline)]
    return sorted(result, key=_position)
