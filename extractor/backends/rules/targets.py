"""Targets: indicator/value pairs of a sentence (分别 lists, carried subjects), the main-targets
passage, and the coded achievements of the review part."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError

from ...chunk import Chunk
from ...models import Target
from .lexicon import lexicon
from .values import Value, clauses, clean_indicator, code_of, find_values, is_verb, segments, status_of


COUNT_CLASSIFIERS = {"个", "家", "所", "座", "条", "套", "栋", "件", "场", "项", "宗", "处", "名", "户", "张", "辆", "台", "间"}
COUNT_UNITS = COUNT_CLASSIFIERS | {"公里", "公顷", "亩", "米"}  # what a verb can count before its object


@dataclass
class Draft:
    indicator: str
    value: Value | None
    ev_start: int
    ev_end: int
    qualifier: str | None = None
    measure: str | None = None
    subject_from_before: str = ""


_COUNTED_NOUN = re.compile(r"^(?:以上|左右)?[^，,、；;。和及等\d（(]{2}")


# Between a subject and its value: a condition (扣除留抵退税因素后增长7.56%) or an aside about
# rank or size (总量重回全省第3位) does not replace the subject of what follows.
_CONDITION = re.compile(r"(?:扣除|剔除|按)[^，,]{1,16}后|同口径|可比口径|可比价")
_ASIDE = re.compile(r"第\d+|第[一二三四五六七八九十]+|总量|排名|位次|首位|前列")


# A sum that qualifies what is counted next (引进10亿元以上项目5个): part of the indicator, no value.
_THRESHOLD = re.compile(r"(?:以上|及以上)?(?:的)?(?:项目|企业|工业项目|产业项目|制造业项目)\d")


def parse_goals(text: str, start: int, end: int, counted_objects: bool = False) -> list[Draft]:
    """Indicator/value pairs of one sentence, handling 分别 lists and carried subjects. With
    counted_objects, a count after a bare verb (完成38座污水处理厂提标改造) is a draft whose
    indicator is the verb, for the caller to complete with the object that follows."""
    drafts: list[Draft] = []
    subject, subject_start = "", start
    paired = ""  # the subject of the last 分别 clause: 分别达到X元、Y元,分别增长a%、b% pairs levels and growths
    for cs, ce in clauses(text, start, end):
        clause = text[cs:ce]
        values = [v for v in find_values(clause) if not _THRESHOLD.match(clause, v.end)]
        if "分别" in clause and values:
            head = clean_indicator(clause[:clause.index("分别")])
            carried = subject or (paired if not head else "")
            drafts.extend(_distribute(text, cs, ce, values, carried, subject_start))
            paired = head or carried
            subject = ""
            continue
        prev = 0
        for value in values:
            own = clean_indicator(clause[prev:value.start])
            carried = ""
            if own and is_verb(own) and subject and not is_verb(subject):
                carried = re.sub(r"(建设|工作)$", "", subject)
            counted = (counted_objects and value.unit.lstrip("万亿") in COUNT_UNITS
                       and _COUNTED_NOUN.match(clause[value.end:]) is not None)
            own = _CONDITION.sub("", own)  # 收入扣除…后增长: 收入
            # 建成23个社工站和1个社工中心: the text before the second count is the first one's object
            joined = (not own or re.fullmatch(r"[、和及与]+", own)
                      or (counted and prev > 0 and own[-1] in "、和及与"))
            if not joined:
                subject, subject_start = own, cs + prev + clause[prev:value.start].find(own[:2])
                ev_start = subject_start
            elif counted:  # the verb before the first count, for the caller to complete with its object
                verb = "" if prev > 0 else clause[:value.start].strip(" 、")
                drafts.append(Draft(verb, value, cs + clause.find(verb[:1]) if verb else cs + value.start,
                                    cs + value.end))
                prev = value.end
                continue
            elif subject:
                ev_start = subject_start
            else:
                prev = value.end
                continue
            drafts.append(Draft(subject, value, max(start, ev_start), cs + value.end, subject_from_before=carried))
            prev = value.end
        if not values:
            own = clean_indicator(clause)
            if own and not _ASIDE.search(own):
                subject, subject_start = own, cs + max(0, clause.find(own[:2]))
    return drafts


def _distribute(text: str, cs: int, ce: int, values: list[Value], subject: str, subject_start: int) -> list[Draft]:
    clause = text[cs:ce]
    k = clause.index("分别")
    head = clean_indicator(clause[:k]) or subject
    ev_start = cs + clause.find(head[:2]) if head and head[:2] in clause else subject_start
    names = _split_subjects(head)
    values = [v for v in values if v.start > k]
    if not names or not values:
        return []
    shared = values[-1].comparator if values[-1].comparator in {"about", "at_least", "at_most"} else None
    if len(names) == 1 and len(values) > 1:
        names = names * len(values)
    drafts = []
    for name, value in zip(names, values):
        if shared and value.comparator == "equal":
            value.comparator = shared
        if value.unit == values[0].unit and value.measure == "level" and values[0].measure != "level":
            value.measure = values[0].measure
            if values[0].number < 0 < value.number:
                value.number = -value.number
        drafts.append(Draft(name, value, ev_start, cs + values[-1].end))
    return drafts


def _split_subjects(head: str) -> list[str]:
    lex = lexicon()
    for key in sorted(lex.pairs, key=len, reverse=True):
        if key in head:
            return list(lex.pairs[key])
    parts = [p for p in re.split(r"[、和及与]", head) if p]
    if len(parts) > 1:
        # 生活垃圾、生活污水有效治理率 -> the last part's tail is shared
        last = parts[-1]
        code, synonym = code_of(last)
        suffix = ""
        for tail in ("有效治理率", "治理率", "知晓率", "参与率", "安全处置率", "处置率", "覆盖率", "增加值",
                     "人均可支配收入", "收入", "面积", "产量"):
            if last.endswith(tail) and not any(p.endswith(tail) for p in parts[:-1]):
                suffix = tail
                break
        return [p + suffix if suffix and not p.endswith(suffix) else p for p in parts[:-1]] + [last]
    return parts


def make_target(draft: Draft, text: str, status: str, year: int, headline: bool) -> Target | None:
    indicator = draft.indicator[:40]
    code, _ = code_of(indicator)
    value = draft.value
    evidence = text[draft.ev_start:draft.ev_end].strip(" ,，、")
    try:
        if value is None:
            return Target(indicator=indicator, indicator_code=code, headline=headline, status=status,
                          year=year, measure=draft.measure or "level", comparator="qualitative",
                          qualifier=draft.qualifier, evidence=evidence)
        return Target(indicator=indicator, indicator_code=code, headline=headline, status=status, year=year,
                      measure=value.measure, value=value.number, value_max=value.number_max, unit=value.unit,
                      comparator=value.comparator, qualifier=draft.qualifier, evidence=evidence)
    except ValidationError:
        return None


_QUALITATIVE = re.compile(r"(与经济增长|高于|快于|不低于|低于|同步|控制在|完成|实现正增长|继续下降|稳中有|保持|基本稳定|持续|下达)")


def headline_passage(text: str) -> tuple[int, int] | None:
    """Span of the main-targets passage: from its opener to the end of the paragraph."""
    for opener in lexicon().openers:
        k = text.find(opener)
        if k >= 0:
            colon = re.search(r"[:：是为]", text[k + len(opener):k + len(opener) + 6])
            begin = k + len(opener) + (colon.end() if colon else 0)
            end = text.find("\n", begin)
            return begin, (end if end >= 0 else len(text))
    return None


MIN_PASSAGE = 6  # characters: a passage this short after its opener is a lead-in to a list
LIST_ITEM = re.compile(r"^(?:\d{1,2}[.、．]|[(（]\d{1,2}[)）]|[一二三四五六七八九十]{1,2}[是、]|[(（][一二三四五六七八九十]{1,2}[)）])")
SUMMARY_CODES = 4  # distinct coded indicators with values that make a plan paragraph the main targets


def is_target_summary(text: str, start: int, end: int) -> bool:
    """A plan paragraph that states values for many coded indicators is the main-targets passage
    even without an opener (综合考虑…, 今年全市…)."""
    first = text[start:end].split("。")[0]
    if first.count("%") < SUMMARY_CODES - 1:  # cheap: a summary states several rates
        return False
    codes = {code_of(d.indicator)[0] for d in parse_goals(first, 0, len(first))}
    return len(codes - {"other"}) >= SUMMARY_CODES


LIST_ITEM_MAX = 80  # characters: an item of a main-targets list is one short line


def target_list_items(text: str, paragraphs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Paragraphs that are items of a main-targets list written as numbered lines
    (1.地区生产总值增长7.5%左右; ...): a run of short list items that together give values for
    many coded indicators, whether or not the lead-in is in the same chunk."""
    items: set[tuple[int, int]] = set()
    run: list[tuple[int, int]] = []
    for span in [*paragraphs, None]:
        para = text[span[0]:span[1]] if span else ""
        if span and LIST_ITEM.match(para) and len(para) <= LIST_ITEM_MAX:
            run.append(span)
            continue
        codes = {code_of(d.indicator)[0] for s, e in run for d in parse_goals(text, s, e)}
        if len(run) >= 3 and len(codes - {"other"}) >= SUMMARY_CODES:
            items.update(run)
        run = []
    return items


def parse_headline(text: str, begin: int, end: int, status: str, year: int) -> list[Target]:
    out: list[Target] = []
    for ss, se in segments(text, begin, end):
        for cs, ce in clauses(text, ss, se):
            sub = text[cs:ce]
            drafts = parse_goals(text, cs, ce)
            if drafts:
                out.extend(t for d in drafts if (t := make_target(d, text, status, year, True)))
                continue
            out.extend(_qualitative(text, cs, ce, sub, status, year))
    return out


def _qualitative(text: str, cs: int, ce: int, clause: str, status: str, year: int) -> list[Target]:
    """Items without a number (居民收入增长与经济增长基本同步): one record per indicator named."""
    if not _QUALITATIVE.search(clause):
        return []
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for synonym in lexicon().synonyms:
        for m in re.finditer(re.escape(synonym), clause):
            if any(a <= m.start() < b for a, b in taken):
                continue
            if synonym in ("经济增长", "经济增速") and m.start() > 0:
                continue  # the benchmark of a relative goal, not an indicator
            taken.append((m.start(), m.end()))
            found.append((m.start(), synonym))
    if not found:
        return []
    found.sort()
    last_end = max(b for a, b in taken)
    qualifier = re.sub(r"^(增长|增速|增幅)", "", clause[last_end:]).strip(" ，,、") or None
    measure = "growth" if re.search(r"增长|增速|下降", clause) else "level"
    out = []
    for pos, synonym in found:
        word_start = pos
        while word_start > 0 and clause[word_start - 1] not in "、，,和及与" and pos - word_start < 6:
            word_start -= 1
        indicator = clean_indicator(clause[word_start:pos + len(synonym)]) or synonym
        draft = Draft(indicator, None, cs, ce, qualifier=qualifier, measure=measure)
        if (t := make_target(draft, text, status, year, True)) is not None:
            out.append(t)
    return out


# A part of the year (1—9月, 上半年, 前三季度): the value is not the year's, and says so.
_SUB_PERIOD = re.compile(r"1[-—–~～至]\d{1,2}月|[一二三四]季度|前三季度|上半年|前\d{1,2}个月")


def parse_achievements(text: str, start: int, end: int, chunk: Chunk) -> list[Target]:
    """Coded whole-jurisdiction values of the review part; the caller marks the opening summary headline."""
    out = []
    for ss, se in segments(text, start, end):
        status, year = status_of(chunk, text[start:se])
        for draft in parse_goals(text, ss, se):
            code, synonym = code_of(draft.indicator)
            if code == "other" or synonym is None or len(draft.indicator) > len(synonym) + 6:
                continue
            own_clause = re.split(r"[,，;；]", text[draft.ev_start:draft.ev_end])[-1]  # 高于全省1个百分点
            if draft.value.unit == "个百分点" or re.search(r"高于|低于|快于", own_clause):
                continue
            period = _SUB_PERIOD.search(text[ss:draft.ev_end])
            draft.qualifier = (period.group() if period
                               else "上半年" if str(chunk.context["review_period"]).endswith("H1") else None)
            if (t := make_target(draft, text, status, year, False)) is not None:
                out.append(t)
    return out
