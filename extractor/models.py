"""The output contract of ANNOTATION_GUIDE.md as pydantic models.

Validators repair what LLMs commonly get wrong (full-width digits, "5.5%" as a string,
Chinese numerals, 左右 left in the unit) and reject what cannot be right, so every backend
produces records that validate against the same published JSON Schema.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

IndicatorCode = Literal[
    "gdp", "gdp_primary", "gdp_secondary", "gdp_tertiary", "industrial_value_added",
    "fixed_asset_investment", "retail_sales", "fiscal_revenue", "trade", "exports",
    "foreign_investment", "resident_income", "urban_income", "rural_income", "urban_jobs",
    "unemployment_rate", "cpi", "energy_intensity", "emissions", "grain_output",
    "rd_intensity", "other",
]
TargetStatus = Literal["planned", "achieved", "estimated"]
Measure = Literal["growth", "level", "points"]
Comparator = Literal["about", "at_least", "at_most", "equal", "range", "qualitative"]
CommitmentComparator = Literal["about", "at_least", "at_most", "equal", "range", "none"]
ProjectStatus = Literal["planned", "signed", "started", "ongoing", "completed", "unknown"]
Sector = Literal[
    "industry", "energy", "transport", "urban_infrastructure", "agriculture",
    "tourism_commerce", "social", "environment", "digital", "other",
]
Category = Literal[
    "employment", "education", "health", "elderly_childcare", "housing", "social_security",
    "transport", "utilities", "culture_sports", "public_safety", "other",
]
ReportType = Literal["work_report", "plan_report"]
RecordType = Literal["targets", "projects", "commitments"]

_FULLWIDTH = str.maketrans("０１２３４５６７８９．－％", "0123456789.-%")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def chinese_numeral(text: str) -> int | None:
    """Value of a Chinese numeral such as 十, 二十三, 一百零五; None if it is not one."""
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in text):
        return None
    total, section, digit = 0, 0, 0
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
    return total + section + digit


def parse_number(value: object) -> float | int | None:
    """Coerce an LLM's number-ish answer to a number; raise ValueError if it is not one."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError("a boolean is not a number")
        return None
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a number: {value!r}")
    text = value.translate(_FULLWIDTH).strip().replace(",", "").replace("，", "")
    if text in {"", "null", "None", "--", "—", "无"}:
        return None
    text = re.sub(r"(左右|以上|以下|以内|多|余|约|%)$", "", text).strip()
    text = re.sub(r"^(约|近|超|超过|不低于|不超过)", "", text).strip()
    numeral = chinese_numeral(text)
    if numeral is not None:
        return numeral
    try:
        number = float(text)
    except ValueError as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    return int(number) if number.is_integer() and "." not in text else number


def _clean_unit(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"unit must be text: {value!r}")
    unit = value.translate(_FULLWIDTH).strip()
    unit = re.sub(r"(左右|以上|以下|以内|及以上)$", "", unit).strip()
    return unit or None


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    year: int = Field(ge=1949, le=2100, description="Year the value or status refers to.")
    evidence: str = Field(min_length=2, description="Shortest verbatim clause supporting the record.")

    @field_validator("year", mode="before")
    @classmethod
    def _year(cls, value: object) -> object:
        if isinstance(value, str):
            digits = value.translate(_FULLWIDTH).strip().removesuffix("年")
            return int(digits) if digits.isdigit() else value
        return value


class Target(_Record):
    """A value stated for an economic or social indicator (guide section 2)."""

    indicator: str = Field(min_length=1, description="Indicator as written, shortest form.")
    indicator_code: IndicatorCode = Field("other", description="The indicator's code in the guide's list.")
    headline: bool = Field(False, description="Item of the main-targets passage or table, or of the review's "
                                              "opening summary of main indicators.")
    status: TargetStatus = Field(description="Planned goal, achieved value, or estimate (预计).")
    measure: Measure = Field(description="What the value measures: change rate, amount or rate, or points.")
    value: int | float | None = Field(None, description="The number as written, in `unit`; negative for 下降; "
                                                        "null when qualitative.")
    value_max: int | float | None = Field(None, description="Upper end of a range (6.5—7%).")
    unit: str | None = Field(None, description="Unit as written: %, 亿元, 万人, 个 ...")
    comparator: Comparator = Field(description="How the value bounds the indicator.")
    qualifier: str | None = Field(None, description="The condition as written, for qualitative or relative targets "
                                                    "(与经济增长基本同步), or the sub-period (上半年).")

    _number = field_validator("value", "value_max", mode="before")(lambda v: parse_number(v))
    _unit = field_validator("unit", mode="before")(lambda v: _clean_unit(v))

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        if self.comparator == "qualitative":
            self.value = self.value_max = self.unit = None
        elif self.value is None:
            raise ValueError("a quantified target needs a value (or comparator 'qualitative')")
        if self.value_max is not None and self.comparator != "range":
            self.comparator = "range"
        if self.comparator == "range" and self.value_max is None:
            raise ValueError("comparator 'range' needs value_max")
        return self


class Project(_Record):
    """A named investment or construction undertaking (guide section 3)."""

    name: str = Field(min_length=2, description="Name as written, shortest identifying form.")
    status: ProjectStatus = Field("unknown", description="Stage the report states, by its verb.")
    investment: int | float | None = Field(None, description="The project's own total investment, as written.")
    investment_unit: str | None = Field(None, description="亿元 or 万元.")
    capacity: str | None = Field(None, description="Scale as written: 年产7万吨, 1GW.")
    sector: Sector = Field("other", description="Sector of the undertaking.")

    _number = field_validator("investment", mode="before")(lambda v: parse_number(v))
    _unit = field_validator("investment_unit", mode="before")(lambda v: _clean_unit(v))


class Commitment(_Record):
    """A forward-looking pledge to residents in a livelihood domain (guide section 4)."""

    description: str = Field(min_length=1, description="What is pledged, without the number.")
    category: Category = Field("other", description="Livelihood domain.")
    quantity: int | float | None = Field(None, description="The number as written; null when the pledge has none.")
    quantity_max: int | float | None = Field(None, description="Upper end of a range.")
    unit: str | None = Field(None, description="Unit as written.")
    comparator: CommitmentComparator = Field("none", description="As for targets; none without a number.")
    listed: bool = Field(False, description="Item of an enumerated list of livelihood projects (民生实事).")

    _number = field_validator("quantity", "quantity_max", mode="before")(lambda v: parse_number(v))
    _unit = field_validator("unit", mode="before")(lambda v: _clean_unit(v))

    @model_validator(mode="after")
    def _consistent(self) -> Commitment:
        if self.quantity is None:
            self.comparator, self.quantity_max, self.unit = "none", None, None
        elif self.comparator == "none":
            self.comparator = "equal"
        if self.quantity_max is not None:
            self.comparator = "range"
        return self


class ChunkRecords(BaseModel):
    """What one extraction call returns for one chunk: the LLM's response model."""

    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)
    commitments: list[Commitment] = Field(default_factory=list)

    def count(self) -> int:
        return len(self.targets) + len(self.projects) + len(self.commitments)


RECORD_MODELS: dict[str, type[_Record]] = {
    "targets": Target, "projects": Project, "commitments": Commitment,
}
KINDS = tuple(RECORD_MODELS)
# The field that names what a record is about: what the eval aligns on and the checks look for.
KEY_FIELD = {"targets": "indicator", "projects": "name", "commitments": "description"}


Firmness = Literal["binding", "strive", "indicative", "plain"]


class Derived(BaseModel):
    """Fields computed by code from a record and its evidence (extractor/derive.py), never
    asked of a model."""

    firmness: Firmness | None = Field(None, description="How firmly a target or commitment is worded: binding "
                                      "(确保, 控制在 ...), strive (力争 ...), indicative (左右, 预期 ...) or plain.")
    value_std: float | None = Field(None, description="value (quantity, investment) in unit_std: 亿元 -> 元, "
                                    "万人 -> 人, 公里 -> 米.")
    value_max_std: float | None = Field(None, description="value_max (quantity_max) in unit_std.")
    unit_std: str | None = Field(None, description="The standard unit of value_std.")
    period: str = Field("year", description="Part of the year the value is for: year, H1, H2, Q1..Q4, Q1-Q3, "
                        "m1-mN (1—N月).")


class Provenance(BaseModel):
    """Where a record's evidence was found: kept beside the record, not inside it,
    so that report files carry exactly the guide's fields."""

    span: tuple[int, int] | None = Field(description="Character span in the report's normalized text.")
    lines: tuple[int, int] | None = Field(description="1-based source-file lines of the evidence.")
    section: str = Field(description="Section path, headings joined by ' > '.")
    match: Literal["exact", "normalized", "fuzzy", "ungrounded"]
    chunk: int = Field(description="Index of the chunk the record came from.")
    source_span: tuple[int, int] | None = Field(
        None, description="Character span of the evidence in the file as read (decoded, before normalization).")
    source_position: tuple[int, int] | None = Field(
        None, description="1-based line and column where the evidence starts in the file as read.")
    source_text: str | None = Field(
        None, description="The file's own text at source_span: traditional characters, pinyin glosses and all.")
    page: tuple[int, int] | None = Field(None, description="For a PDF: the page and the line on that page (1-based) "
                                         "where the evidence starts.")
    problem: str | None = Field(None, description="Set on a record kept with --keep-ungrounded whose "
                                "evidence does not support a field (its number or key name).")
    derived: Derived = Field(default_factory=Derived, description="Fields computed from the record and its evidence.")


class FailedChunk(BaseModel):
    """A part of a report that yielded no records because its extraction failed."""

    chunk: int = Field(description="Index of the chunk in the report.")
    section: str = Field(description="Section path of the chunk.")
    lines: tuple[int, int] = Field(description="Source lines the chunk covers.")
    error: str = Field(description="Why it failed, in one line.")


class ReportOutput(BaseModel):
    """One report's output file: guide metadata, records, their provenance, and whether every
    chunk of the report was extracted (`complete`; else `failed_chunks` says which were not)."""

    source: str = Field(description="The input file's name (with as many folders as tell inputs apart).")
    title: str | None = Field(description="The report's title line (or one made from its metadata); null, like "
                              "the other metadata, for a file that shows no report structure.")
    lines: tuple[int, int] = Field(description="First and last line of the report in the source file (1-based).")
    region: str | None = Field(description="The jurisdiction: 青川县, 彬州市 ...")
    report_type: ReportType | None = Field(description="Kind of report.")
    review_period: str | None = Field(description='The period reviewed: "2023", or "2020-H1" for a half year.')
    plan_year: int | None = Field(description="The year the plan part is for.")
    targets: list[Target] = Field(default_factory=list, description="Target records.")
    projects: list[Project] = Field(default_factory=list, description="Project records.")
    commitments: list[Commitment] = Field(default_factory=list, description="Livelihood commitment records.")
    provenance: dict[RecordType, list[Provenance]] = Field(
        default_factory=dict, description="Per record type, one entry per record in the same order.")
    report_id: str = Field(description="Unique in the run: the file's stem, -01, -02 ... in a collection.")
    complete: bool = Field(True, description="False when a chunk of the report failed: records may be missing.")
    failed_chunks: list[FailedChunk] = Field(default_factory=list, description="The chunks that failed, and why.")


def schema_files() -> dict[str, str]:
    """The published JSON Schemas, by file name: one report file, and one line of records.jsonl."""
    import json

    report = ReportOutput.model_json_schema()
    report["$id"] = "https://extractor.local/schemas/report.schema.json"
    chunk = ChunkRecords.model_json_schema()
    chunk["$id"] = "https://extractor.local/schemas/chunk_records.schema.json"
    return {name: json.dumps(schema, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
            for name, schema in (("report.schema.json", report), ("chunk_records.schema.json", chunk))}
