"""Tables: a run's report files -> the dataset researchers analyse (`extractor table OUT/`).

- headline.*: one row per report, for each indicator code and measure the plan year's headline
  target and the review year's achieved (or estimated) value, in standard units;
- panel.*: one row per (region, year, indicator code, measure, period, kind) value of a coded
  indicator, with its source; a fact stated by two reports is kept twice and flagged;
- target_actual.*: a region's target for a year beside its achieved value for that year, the gap
  and whether it was met; unpaired_targets.*: targets without an achieved value in the run.
A codebook (codebook.md) says what every column holds. Formats: CSV (always), Parquet and Stata
.dta (with pandas and pyarrow, the `tables` extra).
"""

from __future__ import annotations

import csv
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path

from .derive import is_share_of_gdp
from .eval import load_dir
from .output import is_run_dir, write_atomic

# Short, stable column stems per indicator code (Stata allows 32 characters a name).
ABBREVIATIONS: dict[str, str] = {
    "gdp": "gdp", "gdp_primary": "gdp1", "gdp_secondary": "gdp2", "gdp_tertiary": "gdp3",
    "industrial_value_added": "iva", "fixed_asset_investment": "fai", "retail_sales": "retail",
    "fiscal_revenue": "fiscal", "trade": "trade", "exports": "exports", "foreign_investment": "fdi",
    "resident_income": "income", "urban_income": "urbinc", "rural_income": "rurinc", "urban_jobs": "jobs",
    "unemployment_rate": "unemp", "cpi": "cpi", "energy_intensity": "energy", "emissions": "emis",
    "grain_output": "grain", "rd_intensity": "rd",
}
WIDE_MEASURES = ("growth", "level")  # points are rare: they are in the panel only
LOWER_IS_BETTER = {"unemployment_rate", "cpi", "energy_intensity", "emissions"}
ABOUT_POINTS = 0.5  # 'about' is met within ±0.5 point for rates ...
ABOUT_SHARE = 0.01  # ... and within ±1% of the target for amounts
REPORT_COLUMNS = ("source", "report_id", "title", "region", "report_type", "review_period", "plan_year")
FORMATS = ("csv", "parquet", "dta")


class TableError(Exception):
    """The tables cannot be made; str() is one line."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # str, int, float, bool
    meaning: str
    unit: str = ""


# ---------------------------------------------------------------- the tables

def _code(record: dict) -> str:
    code = record.get("indicator_code", "other")
    return "other" if code == "gdp" and is_share_of_gdp(record.get("indicator", "")) else code


def _kind(status: str) -> str:
    return "target" if status == "planned" else status


def panel(reports: list[dict]) -> list[dict]:
    rows = []
    for report in reports:
        for n, (record, prov) in enumerate(zip(report.get("targets", []), report.get("provenance", {}).get("targets", []))):
            code = _code(record)
            if code == "other":
                continue
            derived = prov.get("derived") or {}
            lines = prov.get("lines") or [None, None]
            rows.append({
                "region": report["region"], "year": record["year"], "indicator_code": code,
                "measure": record["measure"], "period": derived.get("period", "year"), "kind": _kind(record["status"]),
                "value": record["value"], "value_max": record["value_max"], "unit": record["unit"],
                "value_std": derived.get("value_std"), "value_max_std": derived.get("value_max_std"),
                "unit_std": derived.get("unit_std"), "comparator": record["comparator"],
                "firmness": derived.get("firmness"), "headline": record["headline"], "indicator": record["indicator"],
                "qualifier": record["qualifier"], "evidence": record["evidence"], "line_start": lines[0],
                "line_end": lines[1], "report_id": report["report_id"], "source": report["source"],
                "report_type": report["report_type"], "record": f"targets[{n}]", "duplicate": False,
            })
    seen: dict[tuple, list[dict]] = {}
    for row in rows:
        seen.setdefault(_fact(row), []).append(row)
    for same in seen.values():
        if len({r["report_id"] for r in same}) > 1:  # one fact from two reports: kept, flagged
            for row in same:
                row["duplicate"] = True
    return rows


def _fact(row: dict) -> tuple:
    return row["region"], row["year"], row["indicator_code"], row["measure"], row["period"], row["kind"]


def headline(reports: list[dict], rows: list[dict]) -> list[dict]:
    """One row per report: for each code and measure, the plan year's headline target and the
    review year's achieved value (annual values only; standard units)."""
    out = []
    for report in reports:
        if report.get("plan_year") is None:  # not a report: no metadata, no records
            continue
        review_year = int(str(report["review_period"])[:4])
        mine = [r for r in rows if r["report_id"] == report["report_id"] and r["period"] == "year"]
        row = {k: report[k] for k in REPORT_COLUMNS}
        for code, abbr in ABBREVIATIONS.items():
            for measure in WIDE_MEASURES:
                stem = f"{abbr}_{measure}"
                target = next((r for r in mine if r["indicator_code"] == code and r["measure"] == measure
                               and r["kind"] == "target" and r["year"] == report["plan_year"] and r["headline"]), None)
                actuals = [r for r in mine if r["indicator_code"] == code and r["measure"] == measure
                           and r["kind"] in {"achieved", "estimated"} and r["year"] == review_year]
                actual = min(actuals, key=lambda r: (not r["headline"], r["kind"] != "achieved"), default=None)
                row[f"{stem}_target"] = target["value_std"] if target else None
                row[f"{stem}_target_max"] = target["value_max_std"] if target else None
                row[f"{stem}_target_cmp"] = target["comparator"] if target else None
                row[f"{stem}_actual"] = actual["value_std"] if actual else None
                row[f"{stem}_actual_kind"] = actual["kind"] if actual else None
                row[f"{stem}_unit"] = (target or actual or {}).get("unit_std")
        out.append(row)
    return out


def met(code: str, measure: str, comparator: str, target: float, target_max: float | None,
        actual: float) -> bool | None:
    """Whether an achieved value meets its target, by the target's comparator. A bare number
    ('equal') is a floor, or a ceiling for indicators where lower is better."""
    if comparator == "about":
        allowed = ABOUT_POINTS if measure in {"growth", "points"} or code in LOWER_IS_BETTER | {"rd_intensity"} \
            else abs(target) * ABOUT_SHARE
        return abs(actual - target) <= allowed + 1e-9
    if comparator == "at_least":
        return actual >= target - 1e-9
    if comparator == "at_most":
        return actual <= target + 1e-9
    if comparator == "range" and target_max is not None:
        return min(target, target_max) - 1e-9 <= actual <= max(target, target_max) + 1e-9
    if comparator == "equal":
        return actual <= target + 1e-9 if code in LOWER_IS_BETTER else actual >= target - 1e-9
    return None


def target_vs_actual(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Pairs of a target and the achieved value of the same region, year, code, measure and
    period (from any report of the run), and the targets left unpaired."""
    actuals: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["kind"] in {"achieved", "estimated"} and row["value_std"] is not None:
            actuals.setdefault((row["region"], row["year"], row["indicator_code"], row["measure"], row["period"]), []).append(row)
    pairs, unpaired = [], []
    for target in rows:
        if target["kind"] != "target" or target["value_std"] is None:
            continue
        candidates = actuals.get((target["region"], target["year"], target["indicator_code"], target["measure"],
                                  target["period"]), [])
        actual = min(candidates, key=lambda r: (r["kind"] != "achieved", not r["headline"]), default=None)
        if actual is None:
            unpaired.append({k: target[k] for k in _UNPAIRED})
            continue
        pairs.append({
            "region": target["region"], "year": target["year"], "indicator_code": target["indicator_code"],
            "measure": target["measure"], "period": target["period"], "unit_std": target["unit_std"],
            "target": target["value_std"], "target_max": target["value_max_std"], "comparator": target["comparator"],
            "firmness": target["firmness"], "headline": target["headline"], "actual": actual["value_std"],
            "actual_kind": actual["kind"], "gap": round(actual["value_std"] - target["value_std"], 6),
            "met": met(target["indicator_code"], target["measure"], target["comparator"], target["value_std"],
                       target["value_max_std"], actual["value_std"]),
            "target_report_id": target["report_id"], "target_evidence": target["evidence"],
            "actual_report_id": actual["report_id"], "actual_evidence": actual["evidence"],
            "candidates": len(candidates),
        })
    return pairs, unpaired


_UNPAIRED = ("region", "year", "indicator_code", "measure", "period", "unit_std", "value_std", "value_max_std",
             "comparator", "firmness", "headline", "indicator", "evidence", "report_id")


# ---------------------------------------------------------------- the codebook

def codebook() -> dict[str, list[Column]]:
    """Every column of every table: type, meaning, unit."""
    report = [Column("source", "str", "input file"), Column("report_id", "str", "report id in the run"),
              Column("title", "str", "report title"), Column("region", "str", "jurisdiction"),
              Column("report_type", "str", "work_report or plan_report"),
              Column("review_period", "str", "period reviewed (2023, 2020-H1)"),
              Column("plan_year", "int", "year the plan part is for")]
    wide = list(report)
    for code, abbr in ABBREVIATIONS.items():
        for measure in WIDE_MEASURES:
            stem, what = f"{abbr}_{measure}", f"{code} ({measure})"
            wide += [Column(f"{stem}_target", "float", f"{what}: plan-year headline target", f"{stem}_unit"),
                     Column(f"{stem}_target_max", "float", f"{what}: upper end of a target range", f"{stem}_unit"),
                     Column(f"{stem}_target_cmp", "str", f"{what}: comparator of the target"),
                     Column(f"{stem}_actual", "float", f"{what}: review-year value", f"{stem}_unit"),
                     Column(f"{stem}_actual_kind", "str", f"{what}: achieved or estimated"),
                     Column(f"{stem}_unit", "str", f"{what}: standard unit of the values")]
    long = [Column("region", "str", "jurisdiction"), Column("year", "int", "year the value is for"),
            Column("indicator_code", "str", "indicator code of the guide"),
            Column("measure", "str", "growth, level or points"),
            Column("period", "str", "year, H1, H2, Q1..Q4, Q1-Q3, m1-mN"),
            Column("kind", "str", "target, achieved or estimated"),
            Column("value", "float", "value as written", "unit"), Column("value_max", "float", "range end as written", "unit"),
            Column("unit", "str", "unit as written"), Column("value_std", "float", "value in unit_std", "unit_std"),
            Column("value_max_std", "float", "range end in unit_std", "unit_std"),
            Column("unit_std", "str", "standard unit (元, 人, 吨, 米, %)"), Column("comparator", "str", "about, at_least, ..."),
            Column("firmness", "str", "binding, strive, indicative or plain"),
            Column("headline", "bool", "headline target or summary value"), Column("indicator", "str", "indicator as written"),
            Column("qualifier", "str", "condition as written"), Column("evidence", "str", "verbatim quote"),
            Column("line_start", "int", "first source line of the evidence"),
            Column("line_end", "int", "last source line of the evidence"), Column("report_id", "str", "report id in the run"),
            Column("source", "str", "input file"), Column("report_type", "str", "work_report or plan_report"),
            Column("record", "str", "the record in the report file: targets[i]"),
            Column("duplicate", "bool", "the same fact is also stated by another report of the run")]
    pairs = [Column("region", "str", "jurisdiction"), Column("year", "int", "year of target and value"),
             Column("indicator_code", "str", "indicator code"), Column("measure", "str", "growth, level or points"),
             Column("period", "str", "part of the year"), Column("unit_std", "str", "unit of target, actual and gap"),
             Column("target", "float", "target", "unit_std"), Column("target_max", "float", "upper end of a range", "unit_std"),
             Column("comparator", "str", "comparator of the target"), Column("firmness", "str", "wording of the target"),
             Column("headline", "bool", "headline target"), Column("actual", "float", "achieved value", "unit_std"),
             Column("actual_kind", "str", "achieved or estimated"),
             Column("gap", "float", "actual − target (points for rates)", "unit_std"),
             Column("met", "bool", "met by its comparator: about = within ±0.5 point (rates) or ±1% (amounts); "
                                   "equal = reached (or not exceeded where lower is better)"),
             Column("target_report_id", "str", "report of the target"), Column("target_evidence", "str", "quote"),
             Column("actual_report_id", "str", "report of the value"), Column("actual_evidence", "str", "quote"),
             Column("candidates", "int", "achieved values found for the target (more than 1: stated by several reports)")]
    by_name = {c.name: c for c in long}
    unpaired = [by_name.get(name) or Column(name, "str", "") for name in _UNPAIRED]
    return {"headline": wide, "panel": long, "target_actual": pairs, "unpaired_targets": unpaired}


def codebook_markdown(books: dict[str, list[Column]]) -> str:
    out = ["# Codebook", "", "Made by `extractor table`; values in standard units are in the `*_std` or "
           "`*_unit` unit (money in 元, people in 人, lengths in 米, rates in %).", ""]
    for table, columns in books.items():
        out += [f"## {table}", "", "| column | type | meaning | unit |", "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.kind} | {c.meaning} | {c.unit} |" for c in columns]
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- writing

def _csv(columns: list[Column], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[c.name for c in columns], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()  # BOM: Excel reads UTF-8


def _frame(columns: list[Column], rows: list[dict]):  # -> pandas.DataFrame
    import pandas as pd

    dtypes = {"str": "string", "int": "Int64", "float": "float64", "bool": "boolean"}
    frame = pd.DataFrame(rows, columns=[c.name for c in columns])
    return frame.astype({c.name: dtypes[c.kind] for c in columns})


def _write_dta(path: Path, columns: list[Column], rows: list[dict]) -> None:
    """Stata 14+ (.dta 118: Unicode text). Enum-like text columns become integers with value
    labels; booleans 0/1; missing text is empty (Stata has no missing string)."""
    frame = _frame(columns, rows)
    labels: dict[str, dict[int, str]] = {}
    for column in columns:
        series = frame[column.name]
        if column.kind == "str" and (column.name in _ENUM_COLUMNS or column.name.endswith(("_cmp", "_kind", "_unit"))):
            codes = {value: i for i, value in enumerate(sorted(series.dropna().unique()), start=1)}
            frame[column.name] = series.map(codes).astype("Int32")
            if codes:
                labels[column.name] = {i: value for value, i in codes.items()}
        elif column.kind == "str":
            frame[column.name] = series.fillna("").astype(object)
        elif column.kind == "bool":
            frame[column.name] = series.astype("Int8")
    buffer = io.BytesIO()
    frame.to_stata(buffer, write_index=False, version=118, value_labels=labels or None)
    write_atomic(path, buffer.getvalue())


_ENUM_COLUMNS = {"report_type", "measure", "period", "kind", "comparator", "firmness", "indicator_code",
                 "actual_kind", "unit_std"}


def _write(folder: Path, name: str, columns: list[Column], rows: list[dict], fmt: str) -> Path:
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        write_atomic(path, _csv(columns, rows))
    elif fmt == "parquet":
        buffer = io.BytesIO()
        _frame(columns, rows).to_parquet(buffer, index=False)
        write_atomic(path, buffer.getvalue())
    else:
        _write_dta(path, columns, rows)
    return path


def build_tables(out_dir: Path, formats: tuple[str, ...] = ("csv",), folder: Path | None = None) -> list[Path]:
    """Write the tables of a run in the given formats (and the codebook); return the files."""
    if not is_run_dir(out_dir):
        raise TableError(f"{out_dir}: holds no extractor run (no run.json)")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise TableError(f"unknown format {unknown[0]!r} (csv, parquet or dta; xlsx: open the CSV in Excel)")
    if any(f != "csv" for f in formats) and not all(importlib.util.find_spec(m) for m in ("pandas", "pyarrow")):
        raise TableError("parquet and dta need pandas and pyarrow: pip install 'extractor[tables]'")
    reports = [data for _, data in load_dir(out_dir, validate=False)]
    rows = panel(reports)
    pairs, unpaired = target_vs_actual(rows)
    tables = {"headline": headline(reports, rows), "panel": rows, "target_actual": pairs, "unpaired_targets": unpaired}
    books = codebook()
    folder = folder or out_dir / "tables"
    written = [folder / "codebook.md"]
    write_atomic(folder / "codebook.md", codebook_markdown(books))
    for fmt in formats:
        for name, table in tables.items():
            written.append(_write(folder, name, books[name], table, fmt))
    return written

