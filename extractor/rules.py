"""The rules backend: deterministic extraction of targets, projects and commitments.

It reads one chunk at a time, like an LLM backend, and uses the chunk's context (review or
plan part, review and plan years). Vocabulary lives in data/lexicon.toml; this module holds
the small functions that apply it. Every record's evidence is a verbatim slice of the chunk.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterator

from pydantic import ValidationError

from .chunk import Chunk, paragraph_spans
from .extract import Extraction
from .models import ChunkRecords, Commitment, Project, Target, chinese_numeral


@dataclass(frozen=True)
class Lexicon:
    openers: tuple[str, ...]
    codes: dict[str, str]
    synonyms: tuple[str, ...]  # longest first
    pairs: dict[str, list[str]]
    units: tuple[str, ...]
    about: tuple[str, ...]
    at_least: tuple[str, ...]
    at_most: tuple[str, ...]
    not_values: tuple[str, ...]
    lead_words: tuple[str, ...]
    link_verbs: tuple[str, ...]
    review_verbs: tuple[tuple[str, str], ...]
    plan_verbs: tuple[tuple[str, str], ...]
    name_heads: tuple[str, ...]
    not_names: tuple[str, ...]
    sectors: dict[str, list[str]]
    categories: dict[str, list[str]]
    target_fields: tuple[str, ...]
    list_markers: tuple[str, ...]


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    data = tomllib.loads(resources.files("extractor").joinpath("data/lexicon.toml").read_text("utf-8"))
    t, n, g, p, c = data["targets"], data["numbers"], data["goals"], data["projects"], data["commitments"]
    categories = {k: v for k, v in c.items() if isinstance(v, list) and k not in {"target_fields", "list_markers"}}
    by_length = lambda words: tuple(sorted(words, key=len, reverse=True))  # noqa: E731
    return Lexicon(
        openers=tuple(t["passage_openers"]), codes=t["codes"], synonyms=by_length(t["codes"]),
        pairs=t["pairs"], units=by_length(n["units"]), about=tuple(n["about"]),
        at_least=by_length(n["at_least"]), at_most=by_length(n["at_most"]),
        not_values=tuple(n["not_values"]), lead_words=by_length(g["lead_words"]),
        link_verbs=by_length(g["link_verbs"]),
        review_verbs=tuple((v, s) for v, s in p["review"]), plan_verbs=tuple((v, s) for v, s in p["plan"]),
        name_heads=tuple(p["name_heads"]), not_names=tuple(p["not_names"]), sectors=p["sectors"],
        categories=categories, target_fields=tuple(c["target_fields"]), list_markers=tuple(c["list_markers"]),
    )


# ---------------------------------------------------------------- numbers

@dataclass
class Value:
    start: int  # offsets within the clause text
    end: int
    number: float | int
    number_max: float | int | None
    unit: str
    comparator: str
    measure: str


def _num(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


@lru_cache(maxsize=1)
def _value_pattern() -> re.Pattern[str]:
    units = "|".join(re.escape(u) for u in lexicon().units)
    return re.compile(
        r"(?P<num>\d+(?:\.\d+)?)(?:\s*(?:%|)\s*(?P<sep>[-—–~～至到])\s*(?P<max>\d+(?:\.\d+)?))?"
        rf"\s*(?P<more>多|余)?\s*(?P<unit>{units})")


_CN_NUM = re.compile(r"(?<![一二三四五六七八九十以下这那第每前后各])(?P<cn>[一二两三四五六七八九十百]{1,4})(?P<unit>个|家|所|座|条|件|项|场|名|套)(?!方面|方向|领域|重点|工作|行动|机制|体系|中心|一)")
_GROWTH_BEFORE = re.compile(r"(同比|比上年|年均)?(增长|增速|增幅|上涨|涨幅|增加|下降|降低|减少|回落|收窄)(了)?$")
_NEGATIVE = ("下降", "降低", "减少", "回落")


def find_values(text: str) -> list[Value]:
    """Numbers with units in a clause, with their comparator and measure."""
    lex = lexicon()
    values: list[Value] = []
    for m in _value_pattern().finditer(text):
        after = text[m.end():m.end() + 3]
        before = text[max(0, m.start() - 6):m.start()]
        if m.start() > 0 and (text[m.start() - 1].isascii() and text[m.start() - 1].isalnum()):
            continue  # part of a code like S206 or 5G
        if any(after.startswith(w) for w in lex.not_values) and m.group("unit") != "%":
            continue
        if before.endswith("年产") or before.endswith("第"):
            continue
        number = _num(m.group("num"))
        number_max = _num(m.group("max")) if m.group("max") else None
        unit = m.group("unit")
        tail = text[m.end():m.end() + 4]
        head = text[max(0, m.start() - 4):m.start()]
        comparator = "equal"
        if number_max is not None:
            comparator = "range"
        elif any(tail.startswith(w) for w in lex.about) or head.endswith("约"):
            comparator = "about"
        elif m.group("more") or any(tail.startswith(w) for w in ("以上", "及以上")) or \
                any(head.endswith(w) for w in ("不低于", "超过", "突破", "超", "不少于", "至少")):
            comparator = "at_least"
        elif any(tail.startswith(w) for w in ("以内", "以下")) or \
                any(head.endswith(w) for w in ("控制在", "不超过", "低于", "不高于")):
            comparator = "at_most"
        measure = "level"
        lead = text[max(0, m.start() - 8):m.start()]
        if unit == "个百分点":
            measure = "points"
        elif unit == "%" and _GROWTH_BEFORE.search(re.sub(r"(力争|分别|实现|达到|保持|为|在|均)+$", "", lead)):
            measure = "growth"
        if measure in {"growth", "points"} and any(w in lead[-5:] for w in _NEGATIVE):
            number = -number
            number_max = -number_max if number_max is not None else None
        end = m.end()
        for word in sorted((*lex.about, "以上", "及以上", "以内", "以下"), key=len, reverse=True):
            if text.startswith(word, end):
                end += len(word)
                break
        values.append(Value(m.start(), end, number, number_max, unit, comparator, measure))
    for m in _CN_NUM.finditer(text):
        number = chinese_numeral(m.group("cn"))
        if number and not any(v.start <= m.start() < v.end for v in values):
            values.append(Value(m.start(), m.end(), number, None, m.group("unit"), "equal", "level"))
    return sorted(values, key=lambda v: v.start)


# ---------------------------------------------------------------- text helpers

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


def code_of(indicator: str) -> tuple[str, str | None]:
    """(indicator_code, the synonym found) for an indicator phrase."""
    lex = lexicon()
    for synonym in lex.synonyms:
        if synonym in indicator:
            return lex.codes[synonym], synonym
    return "other", None


_TRAILING = re.compile(r"(不低于|不超过|不少于|至|同比|比上年|较上年|年均|分别|累计|实现|完成|达到|达|为|保持|稳定在|控制在|提高到|提升到|提高至|提升至|均|在|再|继续|突破|超过|超|增长|增速|增幅|下降|降低|提高|提升|目标|约|总量|总额达|的|了)+$")
_LEADING = re.compile(r"^(其中|全年|年内|今年|全市|全区|全县|全省|我市|同时|并|和|及|以及|力争|确保|争取|努力|推动|实现|预计|预计全年|上半年|稳步|持续|进一步)+")


def clean_indicator(text: str) -> str:
    text = re.sub(r"^[(（][^)）]{0,4}[)）]", "", text.strip(" 、,，:：“”\""))
    for _ in range(3):
        text = _LEADING.sub("", text)
        text = _TRAILING.sub("", text)
    return text.strip(" 、,，:：")


def _status(chunk: Chunk, segment: str) -> tuple[str, int]:
    if chunk.part == "plan":
        return "planned", int(chunk.context["plan_year"])
    year = int(str(chunk.context["review_period"])[:4])
    return ("estimated" if "预计" in segment else "achieved"), year


# ---------------------------------------------------------------- targets

@dataclass
class Draft:
    indicator: str
    value: Value | None
    ev_start: int
    ev_end: int
    qualifier: str | None = None
    measure: str | None = None
    subject_from_before: str = ""


def parse_goals(text: str, start: int, end: int) -> list[Draft]:
    """Indicator/value pairs of one sentence, handling 分别 lists and carried subjects."""
    drafts: list[Draft] = []
    subject, subject_start = "", start
    for cs, ce in clauses(text, start, end):
        clause = text[cs:ce]
        values = find_values(clause)
        if "分别" in clause and values:
            drafts.extend(_distribute(text, cs, ce, values, subject, subject_start))
            subject = ""
            continue
        prev = 0
        for value in values:
            own = clean_indicator(clause[prev:value.start])
            carried = ""
            if own and _is_verb(own) and subject and not _is_verb(subject):
                carried = re.sub(r"(建设|工作)$", "", subject)
            if own and not re.fullmatch(r"[、和及与]+", own):
                subject, subject_start = own, cs + prev + clause[prev:value.start].find(own[:2])
                ev_start = subject_start
            elif subject:
                ev_start = subject_start
            else:
                prev = value.end
                continue
            drafts.append(Draft(subject, value, max(start, ev_start), cs + value.end, subject_from_before=carried))
            prev = value.end
        if not values:
            own = clean_indicator(clause)
            if own:
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


def _target(draft: Draft, text: str, status: str, year: int, headline: bool) -> Target | None:
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


def parse_headline(text: str, begin: int, end: int, status: str, year: int) -> list[Target]:
    out: list[Target] = []
    for ss, se in segments(text, begin, end):
        for cs, ce in clauses(text, ss, se):
            sub = text[cs:ce]
            drafts = parse_goals(text, cs, ce)
            if drafts:
                out.extend(t for d in drafts if (t := _target(d, text, status, year, True)))
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
        if (t := _target(draft, text, status, year, True)) is not None:
            out.append(t)
    return out


# ---------------------------------------------------------------- tables

def parse_table(text: str, start: int, end: int, chunk: Chunk) -> list[Target]:
    """A flattened indicator table: header cells, then rows of the same width."""
    cells: list[tuple[int, str]] = []
    pos = start
    for line in text[start:end].split("\n"):
        if line.strip():
            cells.append((pos, line.strip()))
        pos += len(line) + 1
    header_at = next((i for i, (_, c) in enumerate(cells) if c.startswith("指标")), None)
    if header_at is None:
        return []
    first_row = next((i for i in range(header_at + 1, len(cells)) if code_of(cells[i][1])[0] != "other"
                      or _is_value_cell(cells[i + 1][1] if i + 1 < len(cells) else "")), None)
    if first_row is None:
        return []
    headers = [c for _, c in cells[header_at + 1:first_row]]
    width = len(headers) + 1
    review_year = int(str(chunk.context["review_period"])[:4])
    out: list[Target] = []
    for r in range(first_row, len(cells), width):
        row = cells[r:r + width]
        row_start, name = row[0]
        unit_in_name = re.search(r"[(（]([^)）]+)[)）]$", name)
        indicator = re.sub(r"[(（][^)）]*[)）]$", "", name)
        code, _ = code_of(indicator)
        for header, (_, cell) in zip(headers, row[1:]):
            if "排名" in header or "排位" in header or cell in {"--", "-", "—", "/"}:
                continue
            status = "achieved" if re.search(r"完成|实际|实绩", header) else "planned"
            qualifier = "上半年" if "上半年" in header else None
            year = int(m.group(1)) if (m := re.search(r"(\d{4})年", header)) else review_year
            values = find_values(cell) or ([Value(0, 0, _num(cell), None, unit_in_name.group(1), "equal", "level")]
                                           if unit_in_name and re.fullmatch(r"-?\d+(\.\d+)?", cell) else [])
            if values:
                v = values[0]
                if cell.startswith("-") and v.number > 0 and v.measure != "points":
                    v.number = -v.number
                if v.unit == "%" and not re.search(r"率|比重|占比|强度", indicator):
                    v.measure = "growth"
                draft = Draft(indicator, v, row_start, row_start + len(name), qualifier=qualifier)
            else:
                measure = "growth" if re.search(r"增长", cell) else "level"
                q = f"{qualifier},{cell}" if qualifier else cell
                draft = Draft(indicator, None, row_start, row_start + len(name), qualifier=q, measure=measure)
            if (t := _target(draft, text, status, year, True)) is not None:
                out.append(t)
    return out


def _is_value_cell(cell: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?%?(?:左右|以内|以上|以下)?|--|-|—", cell))


# ---------------------------------------------------------------- projects

_CAPACITY = re.compile(r"(年产|年处理|年出栏|日处理)?\d+(?:\.\d+)?(?:万|亿)?(?:吨|台|套|辆|件|GW|MW|千瓦|兆瓦|羽|头|只|平方米|亩|方|片)")
_INVEST = re.compile(r"(?:总投资|计划投资|投资)(?:约)?(\d+(?:\.\d+)?)(亿元|万元)")
_LIST_TAIL = re.compile(r"等(?P<count>\d+|[一二三四五六七八九十]+)?(?:个|项|家|条|所|座)?(?P<category>[^，,。；;]{0,16}?)(?:项目|工程)?(?:建设)?$")


_QUANTITY_END = re.compile(r"(?<!第)\d+(?:\.\d+)?(?:万|亿)?(?:公里|千米|亩|个|家|条|所|座|项|套|户|人次|人|吨|平方米|米|%|元|亿元|万元)$")
_NOT_A_NAME = re.compile(r"^(以上|成功|项目|招商|设的|[(（])|实际|金额|进度|申报|入库|举办|%")


def is_project_name(name: str) -> bool:
    lex = lexicon()
    if _QUANTITY_END.search(name) or _NOT_A_NAME.search(name):
        return False
    if not 2 <= len(name) <= 32 or re.fullmatch(r"[\d.]+.*", name) and not _CAPACITY.match(name):
        return False
    if any(w in name for w in lex.not_names) and not name.endswith(("项目", "工程")):
        return False
    if re.match(r"^(加快|推进|推动|实施|完成|开展|加强|提升|建设|打造|全面|积极|深入|持续|着力)", name):
        return False
    if re.search(r"\d+(个|家|条|所|座|项)", name) and not _CAPACITY.search(name):
        return False
    return bool(_CAPACITY.search(name)) or any(h in name for h in lex.name_heads)


def sector_of(name: str) -> str:
    for sector, words in lexicon().sectors.items():
        if any(w in name for w in words):
            return sector
    return "other"


def _verb_in(clause: str, verbs: tuple[tuple[str, str], ...]) -> tuple[int, str, str] | None:
    best = None
    for verb, status in verbs:
        k = clause.find(verb)
        if k >= 0 and (best is None or k < best[0] or (k == best[0] and len(verb) > len(best[1]))):
            best = (k, verb, status)
    return best


def parse_projects(text: str, start: int, end: int, chunk: Chunk) -> list[Project]:
    lex = lexicon()
    verbs = lex.plan_verbs if chunk.part == "plan" else lex.review_verbs
    year = int(chunk.context["plan_year"]) if chunk.part == "plan" else int(str(chunk.context["review_period"])[:4])
    out: list[Project] = []
    for cs, ce in clauses(text, start, end):
        clause = text[cs:ce]
        found = _verb_in(clause, verbs)
        if found is None:
            continue
        k, verb, status = found
        after = clause[k + len(verb):]
        before = clause[:k]
        candidates: list[tuple[str, str]] = []  # (items text, category)
        if len(after) >= 3:
            items, category = _strip_list_tail(after)
            candidates.append((items, category))
        if len(before) >= 3:
            items, category = _strip_list_tail(_LEADING.sub("", before.strip("“”")))
            candidates.append((items, category))
        names = []
        for items, category in candidates:
            for item in re.split(r"[、]|(?<=[^\d])和(?=[^\d])|及(?!以上)", items):
                name = _project_name(item, category)
                if name and is_project_name(name):
                    names.append(name)
            if names:
                break
        invest = _INVEST.search(clause)
        for name in dict.fromkeys(names):
            cap = _CAPACITY.search(name)
            try:
                out.append(Project(
                    name=name, status=status, year=year,
                    investment=_num(invest.group(1)) if invest and len(names) == 1 else None,
                    investment_unit=invest.group(2) if invest and len(names) == 1 else None,
                    capacity=cap.group(0) if cap else None, sector=sector_of(name),
                    evidence=clause.strip(" 、"),
                ))
            except ValidationError:
                continue
    return out


def _strip_list_tail(items: str) -> tuple[str, str]:
    m = _LIST_TAIL.search(items)
    if m and m.start() > 0:
        return items[:m.start()], (m.group("category") or "").strip("“”")
    return re.sub(r"(项目|工程)?(建设|改造提质|主体工程)?$", lambda x: x.group(1) or "", items), ""


_ADVERB_TAIL = re.compile(r"(基本|已经|已|有序|稳步|顺利|全面|正在|加快|超额|全部|均|相继|先后|陆续|正式|总体|主体)+$")
_INVEST_PREFIX = re.compile(r"^(?:计划|总)?投资(?:约)?\d+(?:\.\d+)?(?:亿元|万元)(?:的)?")


def _project_name(item: str, category: str) -> str:
    name = _INVEST_PREFIX.sub("", item.strip(" “”\"、"))
    name = _ADVERB_TAIL.sub("", name)
    name = re.sub(r"^(新|全力|全面|重点|大力|扎实|稳步|加快|持续|积极|有序)+", "", name)
    name = re.sub(r"(等)?(建设|项目建设|前期工作|主体工程|试运营|改造提质)$", "", name).strip("“”")
    if category and not any(h in name for h in lexicon().name_heads):
        name = name + re.sub(r"(项目|建设)$", "", category).strip("“”")
        if category.endswith("项目") and not name.endswith("项目"):
            name += "项目"
    return name


# ---------------------------------------------------------------- sectoral targets and commitments

_COUNT_CLASSIFIERS = {"个", "家", "所", "座", "条", "套", "栋", "件", "场", "项", "宗", "处", "名", "户", "张", "辆", "台", "间"}
_SKIP_AFTER_VALUE = re.compile(r"^(以上|及以上)?(的)?(项目|企业|工业企业|制造业项目|重点项目|市场主体)")


def category_of(text: str) -> str | None:
    lex = lexicon()
    if any(w in text for w in lex.target_fields):
        return None
    for category, words in lex.categories.items():
        if any(w in text for w in words):
            return category
    return None


def parse_plan_goals(text: str, start: int, end: int, chunk: Chunk, listed: bool) -> tuple[list[Target], list[Commitment]]:
    """Quantified goals of the plan part, told apart into sectoral targets and commitments."""
    year = int(chunk.context["plan_year"])
    targets: list[Target] = []
    commitments: list[Commitment] = []
    for ss, se in segments(text, start, end):
        sentence = text[ss:se]
        if "总投资" in sentence and not re.search(r"完成|累计", sentence):
            continue
        for draft in parse_goals(text, ss, se):
            v = draft.value
            tail = text[draft.ev_end: se]
            clause_tail = re.split(r"[，,；;]", tail, maxsplit=1)[0]
            if _SKIP_AFTER_VALUE.match(tail) or v.unit in {"GW", "MW"}:
                continue
            if "等" in clause_tail and not clause_tail.startswith("等"):
                continue  # a capacity inside a list of named projects (3万吨铝箔等52个续建项目)
            raw_before = text[max(ss, draft.ev_start):draft.ev_end]
            indicator = draft.indicator
            noun = re.match(r"^(?:以上|左右)?([^，,、；;。和及等\d（(]{2,18})", tail)
            verb_only = _is_verb(indicator)
            if v.unit in _COUNT_CLASSIFIERS | {"公里", "万公顷", "公顷", "万亩", "亩", "米"} and noun and (
                    verb_only or indicator.endswith("等") or len(indicator) <= 1):
                if "、" in raw_before and "等" not in raw_before:
                    continue  # a count of items just enumerated: they are projects
                indicator = noun.group(1)
                draft.ev_end += noun.end()
            elif verb_only and draft.subject_from_before:
                indicator = indicator + draft.subject_from_before
            indicator = clean_indicator(indicator)
            if len(indicator) < 2 or len(indicator) > 30 or indicator.endswith("等") or _is_verb(indicator):
                continue
            if v.measure == "growth" and not re.search(r"增长|增速|下降|提高", text[ss:draft.ev_end]):
                v.measure = "level"
            evidence = text[draft.ev_start:draft.ev_end].strip(" ,，、")
            category = category_of(indicator) or (category_of(sentence) if listed else None)
            code, _ = code_of(indicator)
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


_VERBS = re.compile(r"^(?:新建|建成|建设|改造|新增|完成|实施|培育|引进|打造|创建|开工建设|开工|治理|整治|培训|认定|申报|"
                    r"推进|推动|提升|增加|发放|创成|加快|全力|大力|扎实|重点|确保|力争|启动|投用|投产|落实|安排|"
                    r"新|再|累计|共|年内|全年|达到|实现|提高|达)+$")


def _is_verb(text: str) -> bool:
    """True for a phrase made only of verbs and adverbs (加快推进, 确保建成)."""
    return bool(_VERBS.match(text))


_ENUM_ITEM = re.compile(r"(?:^|[；;。\n])\s*(?:[一二三四五六七八九十]+是|[(（]?\d{1,2}[)）.、]|[(（][一二三四五六七八九十]+[)）])")


def parse_listed(text: str, start: int, end: int, chunk: Chunk) -> list[Commitment]:
    """Items of an enumerated livelihood list (民生实事: 一是…二是…)."""
    year = int(chunk.context["plan_year"])
    body = text[start:end]
    marks = [m.end() for m in _ENUM_ITEM.finditer(body)]
    out: list[Commitment] = []
    for i, mark in enumerate(marks):
        item_end = marks[i + 1] if i + 1 < len(marks) else len(body)
        item = body[mark:item_end]
        item = re.split(r"[；;。\n]", item)[0].strip(" ，,")
        for ss, se in [(0, len(item))] if item else []:
            for clause in re.split(r"[，,]", item[ss:se]):
                clause = clause.strip()
                if len(clause) < 4:
                    continue
                values = find_values(clause)
                v = values[0] if values else None
                description = clean_indicator(re.sub(r"\d+(?:\.\d+)?\s*\S{0,3}?(个|家|所|座|条|公里|万平方米|平方米|%|套|户|人|场|间)(以上|左右)?", "", clause))
                if len(description) < 3:
                    continue
                try:
                    out.append(Commitment(
                        description=description[:40], category=category_of(clause) or "other",
                        quantity=v.number if v else None, quantity_max=v.number_max if v else None,
                        unit=v.unit if v else None, comparator=v.comparator if v else "none",
                        year=year, listed=True, evidence=clause))
                except ValidationError:
                    continue
    return out


# ---------------------------------------------------------------- achievements of the review part

def parse_achievements(text: str, start: int, end: int, chunk: Chunk) -> list[Target]:
    """Coded whole-jurisdiction values of the review part; the caller marks the opening summary headline."""
    out = []
    for ss, se in segments(text, start, end):
        status, year = _status(chunk, text[start:se])
        for draft in parse_goals(text, ss, se):
            code, synonym = code_of(draft.indicator)
            if code == "other" or synonym is None or len(draft.indicator) > len(synonym) + 6:
                continue
            if draft.value.unit == "个百分点" or re.search(r"高于|低于|快于|排名|位居|居全", text[draft.ev_start:draft.ev_end]):
                continue
            draft.qualifier = "上半年" if str(chunk.context["review_period"]).endswith("H1") else None
            if (t := _target(draft, text, status, year, False)) is not None:
                out.append(t)
    return out


# ---------------------------------------------------------------- the backend

class RulesBackend:
    """Offline extraction with rules; deterministic and free."""

    name = "rules"

    async def extract(self, chunk: Chunk) -> Extraction:
        return Extraction(extract_chunk(chunk))

    async def aclose(self) -> None:
        return None


def extract_chunk(chunk: Chunk) -> ChunkRecords:
    text = chunk.text
    records = ChunkRecords()
    paragraphs = paragraph_spans(text)
    table_lines = [p for p in paragraphs if "\n" in text[p[0]:p[1]]]
    summary_done = False
    in_list = False
    for ps, pe in paragraphs:
        para = text[ps:pe]
        if (ps, pe) in table_lines:
            records.targets.extend(parse_table(text, ps, pe, chunk))
            continue
        if chunk.part == "plan":
            passage = headline_passage(para)
            if passage:
                b, e = passage
                records.targets.extend(parse_headline(text, ps + b, ps + e, "planned", int(chunk.context["plan_year"])))
                rest_start = ps + e
            else:
                rest_start = ps
            has_marker = any(m in para for m in lexicon().list_markers)
            opens_with_item = _ENUM_ITEM.match(para) is not None
            is_list = (has_marker and _ENUM_ITEM.search(para[10:])) or (in_list and opens_with_item)
            in_list = has_marker or (in_list and opens_with_item)  # a 民生实事 heading announces the list
            if is_list:
                records.commitments.extend(parse_listed(text, ps, pe, chunk))
            else:
                targets, commitments = parse_plan_goals(text, rest_start, pe, chunk, listed=False)
                records.targets.extend(targets)
                records.commitments.extend(commitments)
        else:
            achieved = parse_achievements(text, ps, pe, chunk)
            coded = {t.indicator_code for t in achieved}
            if not summary_done and len(coded) >= 3 and chunk.index <= 3:
                for t in achieved:
                    t.headline = True
                summary_done = True
            records.targets.extend(achieved)
        records.projects.extend(parse_projects(text, ps, pe, chunk))
    return records
