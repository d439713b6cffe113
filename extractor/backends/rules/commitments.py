"""Plan-part goals told apart into sectoral targets and livelihood commitments, and the items of
enumerated 民生实事 lists."""

from __future__ import annotations

import re

from pydantic import ValidationError

from ...chunk import Chunk
from ...models import Commitment, Target
from .lexicon import first_group, lexicon
from .targets import COUNT_CLASSIFIERS, COUNT_UNITS, parse_goals
from .values import ENUM_ITEM, clean_indicator, code_of, find_values, is_hedge, is_verb, segments


_POLICY = re.compile(r"(政策|新政|条例|意见|措施|举措|规定|省政府|市政府|活力)$")  # 人才新政23条, 省政府17项
_SKIP_AFTER_VALUE = re.compile(r"^(以上|及以上)?(的)?(项目|企业|工业企业|制造业项目|重点项目|市场主体)")


_DANGLING = re.compile(r"[和及与并或、]$")  # 产业项目和106个: the subject is cut off
_VERB_END = re.compile(r"(?:好|抓实|(?<!设)施|投用|推动|推进|抓紧)$")  # 重点跟踪对接好34个, 有序推动实施23个: what is counted went before
_BARE = {"投资", "资金", "任务", "工作"}
_ARTICLES = re.compile(r"^(?:落实|出台|制定|修订|印发)|措施|条例|政策")  # 落实“民间投资21条”: a policy's articles


def is_measured(indicator: str, unit: str) -> bool:
    """Whether an indicator names what its number measures: not a phrase cut at a conjunction,
    a verb whose object came earlier, a bare generic word, or the articles of a policy."""
    if _DANGLING.search(indicator) or indicator.strip("“”") in _BARE:
        return False
    if unit in COUNT_CLASSIFIERS and _VERB_END.search(indicator):
        return False
    return not (unit == "条" and _ARTICLES.search(indicator))


def category_of(text: str) -> str | None:
    lex = lexicon()
    return None if any(w in text for w in lex.target_fields) else first_group(text, lex.categories)


def parse_plan_goals(text: str, start: int, end: int, chunk: Chunk, listed: bool) -> tuple[list[Target], list[Commitment]]:
    """Quantified goals of the plan part, told apart into sectoral targets and commitments."""
    year = int(chunk.context["plan_year"])
    targets: list[Target] = []
    commitments: list[Commitment] = []
    for ss, se in segments(text, start, end):
        sentence = text[ss:se]
        if "总投资" in sentence and not re.search(r"完成|累计", sentence):
            continue
        for draft in parse_goals(text, ss, se, counted_objects=True):
            v = draft.value
            tail = text[draft.ev_end: se]
            clause_tail = re.split(r"[，,；;]", tail, maxsplit=1)[0]
            if _SKIP_AFTER_VALUE.match(tail) or v.unit in {"GW", "MW"}:
                continue
            if "等" in clause_tail and not clause_tail.startswith("等"):
                continue  # a capacity inside a list of named projects (3万吨铝箔等52个续建项目)
            raw_before = text[max(ss, draft.ev_start):draft.ev_end]
            indicator = draft.indicator
            noun = re.match(r"^(?:以上|左右)?([^，,、；;。和及并等\d（(]{2,18})", tail)
            verb_only = is_verb(indicator)
            base_unit = v.unit.lstrip("万亿")
            if base_unit in COUNT_UNITS and noun and (
                    verb_only or indicator.endswith("等") or len(indicator) <= 1):
                if "、" in raw_before and "等" not in raw_before:
                    continue  # a count of items just enumerated: they are projects
                verb = clean_indicator(indicator) if verb_only and not is_hedge(indicator) else ""
                indicator = verb + noun.group(1)  # 新建3个养老中心 -> 新建养老中心; 完成38座… -> the object alone
                draft.ev_end += noun.end()
            elif verb_only and draft.subject_from_before:
                indicator = indicator + draft.subject_from_before
            indicator = clean_indicator(indicator)
            if len(indicator) < 2 or len(indicator) > 30 or indicator.endswith("等") or is_verb(indicator):
                continue
            if not is_measured(indicator, base_unit):
                continue
            if v.measure == "growth" and not re.search(r"增长|增速|下降|提高", text[ss:draft.ev_end]):
                v.measure = "level"
            evidence = text[draft.ev_start:draft.ev_end].strip(" ,，、")
            category = category_of(indicator) or (category_of(sentence) if listed else None)
            code, _ = code_of(indicator)
            if not category and base_unit in COUNT_CLASSIFIERS and ("、" in indicator or _POLICY.search(indicator)):
                continue  # a count of the names just listed (they are projects), or of a policy's articles
            try:
                if category and code in {"other", "urban_jobs"}:
                    commitments.append(Commitment(
                        description=indicator, category=category, quantity=v.number, quantity_max=v.number_max,
                        unit=v.unit, comparator=v.comparator, year=year, listed=listed, evidence=evidence))
                else:
                    targets.append(Target(
                        indicator=indicator, indicator_code=code, headline=False, status="planned", year=year,
                        measure=v.measure, value=v.number, value_max=v.number_max, unit=v.unit,
                        comparator=v.comparator, evidence=evidence))
            except ValidationError:
                continue
    return targets, commitments


def parse_listed(text: str, start: int, end: int, chunk: Chunk) -> list[Commitment]:
    """Items of an enumerated livelihood list (民生实事: 一是…二是…)."""
    year = int(chunk.context["plan_year"])
    body = text[start:end]
    marks = [m.end() for m in ENUM_ITEM.finditer(body)]
    out: list[Commitment] = []
    for i, mark in enumerate(marks):
        item_end = marks[i + 1] if i + 1 < len(marks) else len(body)
        item = body[mark:item_end]
        item = re.split(r"[；;。\n]", item)[0].strip(" ，,")
        for clause in re.split(r"[，,]", item):
            clause = clause.strip()
            if len(clause) < 4:
                continue
            description = clean_indicator(re.sub(r"\d+(?:\.\d+)?\s*\S{0,3}?(个|家|所|座|条|公里|万平方米|平方米|%|套|户|人|场|间)(以上|左右)?", "", clause))
            if len(description) >= 3 and (commitment := _listed(clause, year, description)):
                out.append(commitment)
    return out


_INLINE_LEAD = re.compile(r"^(?:并|同时|重点|着力|全力|认真|扎实|按照[^，,、]{0,8}任务)?(?:实施|推动|推进|完成|建设|开展|落实|办好|新建|实现|提高|加快)")
_INLINE_END = re.compile(r"等(?:重点工作|民生实事|实事|工作|项目)[^。]*$")
INLINE_MIN_ITEMS = 3
_COUNTED_MARKER = re.compile(r"(?:\d+|[一二三四五六七八九十]+)(?:件|项|类)(?:重点|省级|市级|县级)?$")


def parse_inline_list(text: str, start: int, end: int, chunk: Chunk, marker: str) -> list[Commitment]:
    """A 民生实事 list written in running text: the sentence that names the list and counts it goes
    on with its items (办好12件民生实事,实施A、B;推动C、D,E;完成F、G等重点工作), one
    commitment each. Without the count it is prose about livelihoods, not a list."""
    year = int(chunk.context["plan_year"])
    body = text[start:end]
    for found in re.finditer(re.escape(marker), body):
        sentence_end = body.find("。", found.end())
        sentence_end = sentence_end if sentence_end > 0 else len(body)
        counted = _COUNTED_MARKER.search(body[max(0, found.start() - 8):found.start()])  # 办好12件民生实事
        lead_in = re.match(r"[，,：:]", body[found.end():sentence_end])  # the list follows the marker at once
        if counted and lead_in:
            items = _inline_items(_INLINE_END.sub("", body[found.end() + 1:sentence_end]))
            if len(items) >= INLINE_MIN_ITEMS:
                return [c for item in items if (c := _listed(item, year, item))]
    return []


def _inline_items(tail: str) -> list[str]:
    items = []
    for group in re.split(r"[；;]", tail):
        for clause in re.split(r"[，,]", group):
            clause = clause.strip()
            lead = _INLINE_LEAD.match(clause)
            parts = re.split(r"、", clause[lead.end():] if lead else clause)
            items.extend(p.strip() for p in parts if len(p.strip()) >= 5)
    return items


def _listed(item: str, year: int, description: str) -> Commitment | None:
    """An item of a 民生实事 list as a listed commitment, with its first quantity if any."""
    values = find_values(item, chinese_counts=True)
    v = values[0] if values else None
    try:
        return Commitment(description=description[:40], category=category_of(item) or "other",
                          quantity=v.number if v else None, quantity_max=v.number_max if v else None,
                          unit=v.unit if v else None, comparator=v.comparator if v else "none",
                          year=year, listed=True, evidence=item)
    except ValidationError:
        return None
