"""docs/fields.md, the field reference, generated from the output models so that it cannot drift
(`extractor schema` writes it with the JSON Schemas; a test compares).

Enum meanings and the examples are data here; the examples are validated by the models."""

from __future__ import annotations

import json
from .models import RECORD_MODELS, FailedChunk, Provenance, ReportOutput

MEANINGS: dict[str, str] = {
    # target status
    "planned": "the plan year's goal (also a project being prepared: 谋划, 储备, 前期)",
    "achieved": "reported as done for the reviewed period",
    "estimated": "reported with 预计 (expected full-year value)",
    # measure
    "growth": "change rate: 增长/增速/下降 X%",
    "level": "an amount or a rate: 达到X亿元, 失业率5.5%",
    "points": "change in percentage points: 提高 X 个百分点",
    # comparators
    "about": "左右, 约", "at_least": "以上, 不低于, 超过, 多", "at_most": "以内, 以下, 不超过, 控制在",
    "equal": "a bare number", "range": "X—Y, with value_max", "qualitative": "no number (the condition is in qualifier)",
    "none": "no number",
    # project status
    "signed": "签约, 引进, 落地, 招引", "started": "开工, 动工, 开建", "ongoing": "在建, 续建, 推进, 实施",
    "completed": "建成, 投产, 竣工, 通车, 投用", "unknown": "no stage verb",
    # report type
    "work_report": "政府工作报告", "plan_report": "国民经济和社会发展计划执行情况与计划草案的报告",
    # provenance
    "exact": "evidence found verbatim", "normalized": "found after folding spaces and punctuation width",
    "fuzzy": "found by fuzzy alignment (rapidfuzz, score ≥ fuzzy_threshold)",
    "ungrounded": "not found (kept only with --keep-ungrounded)",
}

EXAMPLES = {
    "targets": {"indicator": "地区生产总值", "indicator_code": "gdp", "headline": True, "status": "planned",
                "year": 2024, "measure": "growth", "value": 6, "value_max": None, "unit": "%",
                "comparator": "about", "qualifier": None, "evidence": "地区生产总值增长6%左右"},
    "projects": {"name": "白龙湖光伏电站二期工程", "status": "started", "year": 2023, "investment": None,
                 "investment_unit": None, "capacity": None, "sector": "energy",
                 "evidence": "开工建设白龙湖光伏电站二期工程"},
    "commitments": {"description": "改造老旧小区", "category": "housing", "quantity": 12, "quantity_max": None,
                    "unit": "个", "comparator": "equal", "year": 2024, "listed": True,
                    "evidence": "二是改造老旧小区12个"},
}


def _kind(prop: dict, defs: dict) -> tuple[str, list]:
    """A JSON Schema property in words, and its enum values if it has them."""
    if len(prop.get("allOf", [])) == 1:  # older pydantic wraps a described $ref in allOf
        prop = {**prop["allOf"][0], **{k: v for k, v in prop.items() if k != "allOf"}}
    if "$ref" in prop:
        return _kind(defs[prop["$ref"].rsplit("/", 1)[1]], defs) if "enum" in defs[prop["$ref"].rsplit("/", 1)[1]] \
            else (prop["$ref"].rsplit("/", 1)[1], [])
    if "enum" in prop:
        return "enum", prop["enum"]
    if "anyOf" in prop:
        kinds = [_kind(p, defs) for p in prop["anyOf"] if p.get("type") != "null"]
        nullable = any(p.get("type") == "null" for p in prop["anyOf"])
        names = list(dict.fromkeys("number" if k in {"integer", "number"} and len(kinds) > 1 else k for k, _ in kinds))
        return " or ".join(names) + (" or null" if nullable else ""), [v for _, vs in kinds for v in vs]
    kind = prop.get("type", "any")
    if kind == "array":
        if "items" in prop:
            return f"list of {_kind(prop['items'], defs)[0]}", []
        return "[integer, integer]" if prop.get("maxItems") == 2 else "list", []
    if kind == "object":
        return "object", []
    return kind, []


def _table(model: type) -> list[str]:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for name, prop in schema["properties"].items():
        kind, values = _kind(prop, defs)
        meaning = prop.get("description", "")
        if values:
            meaning += " " + "; ".join(f"`{v}`" + (f": {MEANINGS[v]}" if v in MEANINGS else "") for v in values)
        rows.append(f"| `{name}` | {kind} | {meaning.strip()} |")
    return rows


def field_reference() -> str:
    out = ["# Output fields", "",
           "Generated from `extractor/models.py` by `extractor schema`; the rules that decide what is a record "
           "are in the annotation guide. Every report file (`OUT/reports/<report_id>.json`) holds the report's "
           "metadata, three lists of records, and beside them their provenance.", "", "## Report", ""]
    out += _table(ReportOutput)
    for kind, model in RECORD_MODELS.items():
        example = model.model_validate(EXAMPLES[kind]).model_dump(mode="json")
        out += ["", f"## {kind}", "", (model.__doc__ or "").strip(), "", *_table(model), "", "Example:", "",
                "```json", json.dumps(example, ensure_ascii=False), "```"]
    out += ["", "## provenance", "", (Provenance.__doc__ or "").replace("\n   ", "").strip(), "", *_table(Provenance),
            "", "## failed_chunks", "", (FailedChunk.__doc__ or "").strip(), "", *_table(FailedChunk), ""]
    return "\n".join(out)
