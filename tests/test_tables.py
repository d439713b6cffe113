"""Analysis-ready tables (issue 13): derived fields, the three tables, and their formats."""

import csv
import math
from pathlib import Path

import pytest

from extractor.config import load_settings
from extractor.derive import firmness, is_share_of_gdp, period, standard
from extractor.pipeline import run
from extractor.tables import ABBREVIATIONS, build_tables, codebook, met

DATA = Path(__file__).resolve().parent.parent / "samples"  # the synthetic two-year county


@pytest.mark.parametrize("evidence, level", [
    ("确保新开工项目40个", "binding"), ("城镇调查失业率控制在5.5%以内", "binding"), ("粮食产量不低于13万吨", "binding"),
    ("力争建成竹产业园综合服务中心", "strive"), ("争取引进项目3个", "strive"), ("努力实现增长8%", "strive"),
    ("地区生产总值增长6%左右", "indicative"), ("预期目标增长5%", "indicative"), ("预计全年增长4.5%", "indicative"),
    ("固定资产投资增长10%", "plain")])
def test_firmness_word_lists(evidence, level):
    assert firmness(evidence) == level


@pytest.mark.parametrize("value, unit, expected", [
    (8.6, "亿元", (860_000_000.0, "元")), (5, "万元", (50_000.0, "元")), (1.2, "万亿元", (1.2e12, "元")),
    (156, "元", (156.0, "元")), (1.7, "万人", (17_000.0, "人")), (3, "万户", (30_000.0, "户")),
    (12.5, "公里", (12_500.0, "米")), (4, "万亩", (40_000.0, "亩")), (6.5, "%", (6.5, "%")),
    (3, "万平方米", (30_000.0, "平方米")), (2, "个", (2.0, "个")), (7, "奇怪单位", (7.0, "奇怪单位")), (None, "亿元", (None, None))])
def test_units_are_standardized(value, unit, expected):
    assert standard(value, unit) == expected


@pytest.mark.parametrize("text, expected", [
    ("1—9月地区生产总值增长5%", "Q1-Q3"), ("前三季度增长5%", "Q1-Q3"), ("1-6月完成投资", "m1-m6"), ("上半年增长3%", "H1"),
    ("一季度增长2%", "Q1"), ("全年增长6%", "year")])
def test_part_year_periods(text, expected):
    assert period(text) == expected
    assert period("地区生产总值增长1%", review_period="2020-H1", achieved=True) == "H1"


def test_a_share_of_gdp_is_not_gdp():
    from extractor.backends.rules.values import code_of

    assert is_share_of_gdp("数字经济占GDP比重") and code_of("数字经济增加值占地区生产总值比重")[0] == "other"
    assert code_of("地区生产总值")[0] == "gdp"


@pytest.mark.parametrize("code, measure, comparator, target, target_max, actual, expected", [
    ("gdp", "growth", "about", 6, None, 6.4, True), ("gdp", "growth", "about", 6, None, 5.4, False),
    ("retail_sales", "level", "about", 100, None, 100.9, True), ("retail_sales", "level", "about", 100, None, 98, False),
    ("gdp", "growth", "at_least", 8, None, 7.2, False), ("unemployment_rate", "level", "at_most", 5.5, None, 5.1, True),
    ("gdp", "growth", "range", 6.5, 7, 6.8, True), ("gdp", "growth", "equal", 10, None, 12.5, True),
    ("cpi", "growth", "equal", 3, None, 3.4, False)])
def test_met_follows_the_comparator(code, measure, comparator, target, target_max, actual, expected):
    assert met(code, measure, comparator, target, target_max, actual) is expected


def test_two_years_of_one_county_give_target_vs_actual(tmp_path):
    out = tmp_path / "out"
    run([DATA / "yunxi_2023.txt", DATA / "yunxi_2024.txt"], load_settings(), out)
    build_tables(out)
    rows = _read(out / "tables" / "target_actual.csv")
    got = {(r["indicator_code"], r["measure"]): (float(r["target"]), float(r["actual"]), float(r["gap"]), r["met"])
           for r in rows}
    assert got == {("gdp", "growth"): (6.0, 6.3, 0.3, "True"),
                   ("industrial_value_added", "growth"): (8.0, 7.2, -0.8, "False"),
                   ("fixed_asset_investment", "growth"): (10.0, 12.5, 2.5, "True"),
                   ("fiscal_revenue", "growth"): (5.0, 4.0, -1.0, "False"),
                   ("unemployment_rate", "level"): (5.5, 5.1, -0.4, "True")}
    assert {r["year"] for r in rows} == {"2023"} and all(r["region"] == "云溪县" for r in rows)
    unpaired = _read(out / "tables" / "unpaired_targets.csv")
    assert {(r["indicator_code"], r["year"]) for r in unpaired} >= {("cpi", "2023"), ("gdp", "2024")}
    wide = {r["report_id"]: r for r in _read(out / "tables" / "headline.csv")}
    assert wide["yunxi_2024"]["gdp_growth_actual"] == "6.3" and wide["yunxi_2024"]["gdp_growth_target"] == "5.5"
    assert wide["yunxi_2023"]["fiscal_level_actual"] == "530000000.0" and wide["yunxi_2023"]["fiscal_level_unit"] == "元"


def _read(path):
    with open(path, encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def _same(csv_value: str, other) -> bool:
    if other is None or (isinstance(other, float) and math.isnan(other)) or other is getattr(__import__("pandas"), "NA"):
        return csv_value == ""
    if isinstance(other, bool) or str(other) in {"True", "False"}:
        return csv_value == str(bool(other))
    if isinstance(other, (int, float)):
        return csv_value != "" and abs(float(csv_value) - float(other)) < 1e-6
    return csv_value == str(other)


def test_all_tables_in_every_format_agree_and_trace_to_records(tmp_path, shared_reports):
    pandas = pytest.importorskip("pandas")
    out = tmp_path / "out"
    run(shared_reports, load_settings(), out)
    written = build_tables(out, ("csv", "parquet", "dta"))
    assert len(written) == 1 + 3 * 4
    books = codebook()
    for name, columns in books.items():
        rows = _read(out / "tables" / f"{name}.csv")
        assert [c.name for c in columns] == list(rows[0]) and all(len(c.name) <= 32 for c in columns)
        for fmt, frame in (("parquet", pandas.read_parquet(out / "tables" / f"{name}.parquet")),
                           ("dta", pandas.read_stata(out / "tables" / f"{name}.dta"))):
            assert len(frame) == len(rows), (name, fmt)
            for row, record in zip(rows, frame.to_dict("records")):
                for column in columns:
                    value = record[column.name]
                    if fmt == "dta" and column.kind == "bool" and not _same(row[column.name], None):
                        value = bool(value)
                    if fmt == "dta" and column.kind == "str" and value == "":
                        value = None
                    assert _same(row[column.name], value), (name, fmt, column.name, row[column.name], value)
    # every cell of the wide table is a value of the panel, from the same report
    panel = _read(out / "tables" / "panel.csv")
    index = {(r["report_id"], r["indicator_code"], r["measure"], r["kind"], r["value_std"]) for r in panel}
    cells = 0
    for row in _read(out / "tables" / "headline.csv"):
        for code, abbr in ABBREVIATIONS.items():
            for measure in ("growth", "level"):
                stem = f"{abbr}_{measure}"
                if row[f"{stem}_target"]:
                    assert (row["report_id"], code, measure, "target", row[f"{stem}_target"]) in index
                    cells += 1
                if row[f"{stem}_actual"]:
                    assert (row["report_id"], code, measure, row[f"{stem}_actual_kind"], row[f"{stem}_actual"]) in index
                    cells += 1
    assert cells > 100


def test_one_fact_from_two_reports_is_kept_twice_and_flagged(tmp_path):
    import shutil

    again = tmp_path / "yunxi_2024_again.txt"  # the same year's values stated by a second report
    shutil.copy(DATA / "yunxi_2024.txt", again)
    out = tmp_path / "out"
    run([DATA / "yunxi_2023.txt", DATA / "yunxi_2024.txt", again], load_settings(), out)
    build_tables(out)
    panel = _read(out / "tables" / "panel.csv")
    gdp_2023 = [r for r in panel if (r["indicator_code"], r["measure"], r["year"], r["kind"]) == ("gdp", "growth", "2023", "achieved")]
    assert {r["report_id"] for r in gdp_2023} == {"yunxi_2024", "yunxi_2024_again"}
    assert all(r["duplicate"] == "True" for r in gdp_2023)
    assert not any(r["duplicate"] == "True" for r in panel if r["report_id"] == "yunxi_2023" and r["year"] == "2022")
    pairs = [r for r in _read(out / "tables" / "target_actual.csv") if r["indicator_code"] == "gdp"]
    assert len(pairs) == 1 and pairs[0]["candidates"] == "2"
