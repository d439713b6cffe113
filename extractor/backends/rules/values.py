"""Numbers with units, clauses, and indicator phrases: what every rule of the rules backend reads.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Iterator

from ...chunk import Chunk
from ...derive import is_share_of_gdp
from ...models import chinese_numeral
from .lexicon import lexicon


@dataclass
class Value:
    start: int  # offsets within the clause text
    end: int
    number: float | int
    number_max: float | int | None
    unit: str
    comparator: str
    measure: str


def to_number(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


_CN_NUM = re.compile(r"(?<![一二三四五六七八九十以下这那第每前后各])(?P<cn>[一二两三四五六七八九十百]{1,4})(?P<unit>个|家|所|座|条|件|项|场|名|套)(?!方面|方向|领域|重点|工作|行动|机制|体系|中心|一)")
_GROWTH_BEFORE = re.compile(r"(同比|比上年|年均)?(增长|增速|增幅|上涨|涨幅|增加|下降|降低|减少|回落|收窄)(了)?$")
_NEGATIVE = ("下降", "降低", "减少", "回落")
_LINKS_BEFORE = re.compile(r"(力争|分别|实现|达到|保持|为|在|均)+$")


def find_values(text: str, chinese_counts: bool = False) -> list[Value]:
    """Numbers with units in a clause, with their comparator and measure. Counts in Chinese
    numerals (三个, 八项) are set phrases (两个确立, 四个意识, 八项规定) far more often than
    measured quantities: only items of an enumerated list ask for them."""
    lex = lexicon()
    values: list[Value] = []
    for m in lex.value_pattern.finditer(text):
        after = text[m.end():m.end() + 3]
        before = text[max(0, m.start() - 6):m.start()]
        if m.start() > 0 and (text[m.start() - 1].isascii() and text[m.start() - 1].isalnum()):
            continue  # part of a code like S206 or 5G
        if lex.not_value_after.match(after) and m.group("unit") != "%":
            continue
        if before.endswith("年产") or before.endswith("第") or (before.endswith("前") and m.group("unit") in {"名", "位"}):
            continue  # a capacity, an ordinal or a rank (前10名), not a value
        number = to_number(m.group("num"))
        number_max = to_number(m.group("max")) if m.group("max") else None
        unit = m.group("unit")
        tail = text[m.end():m.end() + 4]
        head = text[max(0, m.start() - 4):m.start()]
        comparator = "equal"
        if number_max is not None:
            comparator = "range"
        elif lex.about_after.match(tail) or head.endswith("约"):
            comparator = "about"
        elif m.group("more") or tail.startswith(("以上", "及以上")) or \
                head.endswith(("不低于", "超过", "突破", "超", "不少于", "至少")):
            comparator = "at_least"
        elif tail.startswith(("以内", "以下")) or head.endswith(("控制在", "不超过", "低于", "不高于")):
            comparator = "at_most"
        measure = "level"
        lead = text[max(0, m.start() - 8):m.start()]
        if unit == "个百分点":
            measure = "points"
        elif unit == "%" and _GROWTH_BEFORE.search(_LINKS_BEFORE.sub("", lead)):
            measure = "growth"
        if measure in {"growth", "points"} and any(w in lead[-5:] for w in _NEGATIVE):
            number = -number
            number_max = -number_max if number_max is not None else None
        bound = lex.bound_after.match(text, m.end())  # 左右, 以上: part of the value's evidence
        values.append(Value(m.start(), bound.end() if bound else m.end(), number, number_max, unit, comparator, measure))
    for m in _CN_NUM.finditer(text) if chinese_counts else ():
        number = chinese_numeral(m.group("cn"))
        if number and not any(v.start <= m.start() < v.end for v in values):
            values.append(Value(m.start(), m.end(), number, None, m.group("unit"), "equal", "level"))
    return sorted(values, key=lambda v: v.start)


_SEGMENT = re.compile(r"[^。；;！？!?\n]+[。；;！？!?]?")
_CLAUSE = re.compile(r"[^，,。；;！？!?：:\n]+")


def segments(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Sentence-like spans (ending at 。；！？ or a line end)."""
    end = len(text) if end is None else end
    for m in _SEGMENT.finditer(text, start, end):
        s, e = m.start(), m.end()
        while e > s and text[e - 1] in "。；;！？!?":
            e -= 1
        if e > s:
            yield s, e


def clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _CLAUSE.finditer(text, start, end)]


_SHARE_OF_WHOLE = re.compile(r"占(?:全省|全市|全国|全区|全州|全盟)")


def code_of(indicator: str) -> tuple[str, str | None]:
    """(indicator_code, the synonym found) for an indicator phrase; a share of GDP is not GDP."""
    lex = lexicon()
    if is_share_of_gdp(indicator) and not any(s in indicator for s in lex.synonyms if lex.codes[s] == "rd_intensity"):
        return "other", None
    if _SHARE_OF_WHOLE.search(indicator):
        return "other", None  # 地区生产总值仅占全省的1.0%: a share of the province, not the indicator
    for synonym in lex.synonyms:
        if synonym in indicator:
            return lex.codes[synonym], synonym
    return "other", None


_TRAILING = re.compile(r"(不低于|不超过|不少于|至|同比|比上年|较上年|年均|分别|累计|实现|完成|达到|达|为|保持|稳定在|控制在|提高到|提升到|提高至|提升至|均|在|再|继续|突破|超过|超|增长|增速|增幅|下降|降低|提高|提升|目标|约|总量|总额达|的|了)+$")
LEADING = re.compile(r"^(\d{4}年(?!底|末)|其中|全年|年内|今年|全市|全区|全县|全省|我市|同时|并|和|及|以及|力争|确保|争取|努力|推动|实现|预计|预计全年|上半年|稳步|持续|进一步|同口径|同比|可比口径)+")


@lru_cache(maxsize=4096)
def clean_indicator(text: str) -> str:
    text = re.sub(r"^[(（][^)）]{0,4}[)）]", "", text.strip(" 、,，:：“”\""))
    for _ in range(3):
        text = LEADING.sub("", text)
        text = _TRAILING.sub("", text)
    return text.strip(" 、,，:：")


def status_of(chunk: Chunk, segment: str) -> tuple[str, int]:
    if chunk.part == "plan":
        return "planned", int(chunk.context["plan_year"])
    year = int(str(chunk.context["review_period"])[:4])
    return ("estimated" if "预计" in segment else "achieved"), year


_VERBS = re.compile(r"^(?:新建|建成|建设|改造|新增|完成|实施|培育|引进|打造|创建|开工建设|开工|治理|整治|培训|认定|申报|"
                    r"推进|推动|提升|增加|发放|创成|加快|全力|大力|扎实|重点|确保|力争|启动|投用|投产|落实|安排|"
                    r"新|再|累计|共|年内|全年|达到|实现|提高|达|打通|拓展|续建|投入|筛选出|筛选|支持|紧盯|做好|剩余|"
                    r"抓好|抓实|更新|修缮|谋划|储备|滚动|征集|梳理|形成|提交|明确|瞄准|围绕|依托|高标准|全面|认真|全力以赴|办好|"
                    r"继续|深入|积极|着力|聚焦|强化|加强|优化|持续|进一步|努力|争取|保持|稳定|并|和|了|出)+$")


_YEAR = re.compile(r"\d{4}年度?")
_HEDGES = re.compile(r"^(?:完成|加快|推进|推动|确保|力争|全力|大力|扎实|抓好|抓实|全面|积极|持续|做好|高标准|办好|进一步|继续|"
                     r"努力|争取|年内|全年|再|共|累计|并|和|了)+$")


def is_hedge(text: str) -> bool:
    """True for verbs that say how hard, not what (完成, 加快推进, 确保): not part of a pledge's description."""
    return bool(_HEDGES.match(_YEAR.sub("", text)))


def is_verb(text: str) -> bool:
    """True for a phrase made only of verbs and adverbs (加快推进, 确保建成), a year aside (抓好2024年)."""
    return bool(_VERBS.match(_YEAR.sub("", text)))


ENUM_ITEM = re.compile(r"(?:^|[；;。\n])\s*(?:[一二三四五六七八九十]+是|[(（]?\d{1,2}[)）.、]|[(（][一二三四五六七八九十]+[)）])")
