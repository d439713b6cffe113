"""Derive: fields computed by code from a record and its evidence, never asked of a model
(so the schema the model fills stays the guide's): how firmly a goal is worded, the value in a
standard unit, and the part of the year a value is for. Word lists and units are data in
data/derive.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .models import Commitment, Derived, Project, Target


@dataclass(frozen=True)
class Rules:
    firmness: dict[str, list[str]]
    units: dict[str, tuple[str, float]]
    periods: list[tuple[re.Pattern[str], str]]
    shares: tuple[str, ...]


@lru_cache(maxsize=1)
def rules() -> Rules:
    data = tomllib.loads(resources.files("extractor").joinpath("data/derive.toml").read_text("utf-8"))
    return Rules(firmness=data["firmness"], units={u: (s, float(f)) for u, (s, f) in data["units"].items()},
                 periods=[(re.compile(p), name) for p, name in data["periods"]["patterns"]],
                 shares=tuple(data["shares"]["words"]))


def firmness(evidence: str) -> str:
    """binding (确保, 控制在 ...), strive (力争 ...), indicative (左右, 预期 ...) or plain."""
    for level, words in rules().firmness.items():
        if any(word in evidence for word in words):
            return level
    return "plain"


def standard(value: float | int | None, unit: str | None) -> tuple[float | None, str | None]:
    """The value in its standard unit (亿元 -> 元, 万人 -> 人, 公里 -> 米), and that unit; the
    value as it is when the unit is not in the table."""
    if value is None:
        return None, None
    if unit in rules().units:
        std_unit, factor = rules().units[unit]
        return round(float(value) * factor, 6), std_unit
    return float(value), unit


def period(text: str, review_period: str = "", achieved: bool = False) -> str:
    """The part of the year a value is for: year, H1, H2, Q1..Q4, Q1-Q3, or m1-mN (1—N月)."""
    for pattern, name in rules().periods:
        if m := pattern.search(text):
            return name.format(*m.groups()) if "{" in name else name
    if achieved and review_period.endswith("-H1"):
        return "H1"
    return "year"


def is_share_of_gdp(indicator: str) -> bool:
    """…占GDP比重 and the like: a ratio, never coded as GDP."""
    return any(word in indicator for word in rules().shares)


def derive(record: Target | Project | Commitment, review_period: str = "") -> Derived:
    if isinstance(record, Target):
        value, unit = standard(record.value, record.unit)
        value_max, _ = standard(record.value_max, record.unit)
        return Derived(firmness=firmness(record.evidence), value_std=value, value_max_std=value_max, unit_std=unit,
                       period=period(f"{record.evidence} {record.qualifier or ''}", review_period,
                                     record.status != "planned"))
    if isinstance(record, Commitment):
        value, unit = standard(record.quantity, record.unit)
        value_max, _ = standard(record.quantity_max, record.unit)
        return Derived(firmness=firmness(record.evidence), value_std=value, value_max_std=value_max, unit_std=unit,
                       period="year")
    value, unit = standard(record.investment, record.investment_unit)
    return Derived(value_std=value, unit_std=unit, period="year")
