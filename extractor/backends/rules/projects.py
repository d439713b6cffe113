"""Projects: named undertakings after (or before) a stage verb, with status, sector and investment."""

from __future__ import annotations

import re

from pydantic import ValidationError

from ...chunk import Chunk
from ...models import Project
from .lexicon import first_group, lexicon
from .values import LEADING, clauses, is_verb, to_number


_CAPACITY = re.compile(r"(年产|年处理|年出栏|日处理)?\d+(?:\.\d+)?(?:万|亿)?(?:吨|台|套|辆|件|GW|MW|千瓦|兆瓦|羽|头|只|平方米|亩|方|片)")
_INVEST = re.compile(r"(?:总投资|计划投资|投资)(?:约)?(\d+(?:\.\d+)?)(亿元|万元)")
_LIST_TAIL = re.compile(r"等(?P<count>\d+|[一二三四五六七八九十]+)?(?:个|项|家|条|所|座)?(?P<category>[^，,。；;]{0,16}?)(?:项目|工程)?(?:建设)?$")


_QUANTITY_END = re.compile(r"(?<!第)\d+(?:\.\d+)?(?:万|亿)?(?:公里|千米|亩|个|家|条|所|座|项|套|户|人次|人|吨|平方米|米|%|元|亿元|万元)$")
_DESCRIPTION = re.compile(r"^(?:一个|一所|一家|一批|一座|一条|各)|最大的|有史以来|为(?:重点|主线|核心|抓手|引领)"
                          r"|入选|获评|评为|列入|纳入|精准招商")
_ROUTE = re.compile(r"\d+(?:国道|省道|县道|高速|号)")  # 207国道过境段: a road's number opens its name
_NOT_A_NAME = re.compile(r"^(以上|成功|项目|招商|设的|[(（])|实际|金额|进度|申报|入库|举办|%")


def _not_a_name(name: str) -> bool:
    """What no name is: a quantity, a fragment, a kind of facility or a description."""
    return bool(_QUANTITY_END.search(name) or _NOT_A_NAME.search(name)) or is_kind(name)


def is_project_name(name: str) -> bool:
    lex = lexicon()
    if _not_a_name(name):
        return False
    if not 2 <= len(name) <= 32 or re.match(r"[\d.]", name) and not (_CAPACITY.match(name) or _ROUTE.match(name)):
        return False
    if "项目" in name and not re.search(r"项目(?:[一二三四五六七八九十]期)?$", name):
        return False  # 提高项目的, 项目落地转化: the word, not a name
    if "的" in name and not has_name_head(name.rsplit("的", 1)[1]):
        return False  # 三大医院的收购: what follows 的 is no facility
    if lex.not_name_words.search(name) and not name.endswith(("项目", "工程")):
        return False
    if re.match(r"^(加快|推进|推动|实施|完成|开展|加强|提升|建设|打造|全面|积极|深入|持续|着力)", name):
        return False
    if re.search(r"\d+(个|家|条|所|座|项)", name) and not _CAPACITY.search(name):
        return False
    if name.endswith(("项目", "工程")) and not _is_undertaking(name):
        return False
    return bool(_PRODUCTION.match(name)) or has_name_head(name)


# A capacity makes a name by itself only as production (年产7万吨铝基新材料) or power (1GW);
# an area or a tonnage before a noun (30万亩油菜, 3万亩高标准农田) is a quantity of work.
_PRODUCTION = re.compile(r"(?:年产|年处理|年出栏|日处理)\d|\d+(?:\.\d+)?(?:GW|MW|万千瓦|千瓦|兆瓦)")
_GENERIC_CORE = re.compile(r"(?:的|好|大|类|批|性|重点|重大|产业|制造业|工业)$|^(?:[一二三四五六七八九十百千万]+大|一批|各类|相关|基础设施|补短板|民生)")


def _is_undertaking(name: str) -> bool:
    """X项目 / X工程 is an undertaking when X names something (乙二醇项目, 312国道改造工程), not
    when X is a verb, a qualifier or a programme (强化项目, 补短板项目, 文化惠民工程)."""
    core = re.sub(r"(?:项目|工程)$", "", name).strip("“”")
    if "项目" in core.replace("项目一期", "").replace("项目二期", ""):
        return False
    return (len(core) >= 2 and not is_verb(core) and not _GENERIC_CORE.search(core)
            and not lexicon().programme_pattern.search(core))


_WORKS_TAIL = re.compile(r"(?:[一二三四五六七八九十]期|[(（][^)）]{1,6}[)）]|新建|改建|扩建|改扩建|新改扩建|迁建|改造|提升|提质|升级|"
                         r"修缮|整治|治理|工程|项目|建设|PPP)+$")


def has_name_head(name: str) -> bool:
    """A facility word in the name. A one-character one (城, 场, 线) and the lexicon's heads_at_end
    (中心, 基地) must end it, works words aside (城南污水处理厂提标改造 ends in 厂): inside a
    phrase (城市更新, 区域中心城市) they make no facility."""
    lex = lexicon()
    core = _WORKS_TAIL.sub("", name) or name
    if core.endswith(lex.false_heads):
        return False
    return bool(lex.heads_ending.search(core) or lex.heads_ending.search(name) or lex.heads_inside.search(name))


def sector_of(name: str) -> str:
    return first_group(name, lexicon().sectors) or "other"


def _verb_in(clause: str, verbs: tuple[re.Pattern[str], dict[str, str]]) -> tuple[int, str, str] | None:
    pattern, status = verbs
    m = pattern.search(clause)
    return (m.start(), m.group(), status[m.group()]) if m else None


def parse_projects(text: str, start: int, end: int, chunk: Chunk) -> list[Project]:
    lex = lexicon()
    verbs = lex.stage_verbs["plan" if chunk.part == "plan" else "review"]
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
        if status == "ongoing" and (later := _verb_in(after, verbs)) and later[2] in _STAGES:
            status = later[2]  # a stage verb wins over a hedge (推动X等项目竣工投产)
        candidates: list[tuple[str, str, bool]] = []  # (items text, category, named as projects)
        for side in (after, LEADING.sub("", before.strip("“”"))):
            if len(side) < 3:
                continue
            closed = _LIST_CLOSE.search(side)
            if closed and closed.start() > 0:  # 电力、水利等重大基础设施项目: the items are fields, not names
                candidates.append((side[:closed.start()], "", not _FIELDS.search(closed.group())))
            else:
                candidates.append((*_strip_list_tail(side), False))
        names: dict[str, str] = {}  # name -> status
        for items, category, named in candidates:
            for item in _shared_head(items) or re.split(r"[、]|(?<=[^\d])和(?=[^\d])|及(?!以上)", items):
                name = _project_name(item, category)
                if name and name not in names and (is_project_name(name) or named and _is_listed_name(name)):
                    rest = item[item.find(name) + len(name):] if name in item else ""
                    own = _verb_in(rest, verbs)  # 溪口水库近期建成: the item's own stage
                    names[name] = own[2] if own and own[2] in _STAGES else status
            if names:
                break
        invest = _INVEST.search(clause)
        for name, status in names.items():
            cap = _CAPACITY.search(name)
            if cap and cap.start() == 0 and not _PRODUCTION.match(name) and has_name_head(name[cap.end():]):
                name = name[cap.end():].lstrip("的")  # 4万亩国家储备林项目: the scale is its capacity
            try:
                out.append(Project(
                    name=name, status=status, year=year,
                    investment=to_number(invest.group(1)) if invest and len(names) == 1 else None,
                    investment_unit=invest.group(2) if invest and len(names) == 1 else None,
                    capacity=cap.group(0) if cap else None, sector=sector_of(name),
                    evidence=clause.strip(" 、"),
                ))
            except ValidationError:
                continue
    return out


_SHORT_ITEM = 4  # characters: 新民、北极垃圾中转站 lists place names before the one full name


def _shared_head(text: str) -> list[str]:
    """The items of a 、 list whose last item alone is a full name: it shares that name's tail
    with the short place names before it (新民、北极垃圾中转站 -> 新民垃圾中转站, 北极垃圾中转站).
    Empty for any other text."""
    items = text.split("、")
    last = items[-1].strip()
    if len(items) < 2 or re.search(r"和|及|与", text) or not has_name_head(last):
        return []
    out = []
    for item in items[:-1]:
        own = item.strip(" “”")
        tail = last[len(own):]
        if (2 <= len(own) <= _SHORT_ITEM and len(own) < len(last) and not has_name_head(own)
                and not own.endswith(("式", "性", "的")) and not _WORKS_TAIL.search(own) and not tail.startswith("的")):
            out.append(own + tail)  # not 开放式、体验式…馆 (one museum), 走得进、待得住的…, 道路提升、…
        else:
            out.append(item)
    return [*out, items[-1]]


_STAGES = {"completed", "started", "signed"}
# A list the text itself calls projects: 碧宏机械、三和磁材等一批项目, X、Y等6个技改项目.
_LIST_CLOSE = re.compile(r"等(?:\d+|[一二三四五六七八九十]+)?(?:个|项|家|条|所|座|批|一批)?"
                         r"[^，,。；;、等\d]{0,10}?(?:项目|工程)"
                         # or counted: 高丰路、锦水路等13条主次干道, 雅店、莲花池等安置小区4个
                         r"|等(?:\d+|[一二三四五六七八九十]+)(?:个|家|条|所|座|处)"
                         r"|等[^，,。；;、等\d]{2,8}(?:\d+|[一二三四五六七八九十]+)(?:个|家|条|所|座|处)")


_FIELDS = re.compile(r"领域|行业|产业|基础设施|类|方面|板块")


def is_kind(name: str) -> bool:
    """A kind of facility described, not one named: a bare head (码头), a head after generic
    words only (湿地公园, 公办幼儿园, 供水管网), a description (一所专门学校, 全国最大的电站集群,
    以…为重点的…, 市中医院入选…)."""
    lex = lexicon()
    if name in lex.name_heads or _DESCRIPTION.search(name):
        return True
    head = lex.heads_ending.search(name)
    return head is not None and head.start() > 0 and lex.kind_words.fullmatch(name[:head.start()]) is not None


def _is_listed_name(name: str) -> bool:
    """An item of a list closed by 等…项目 is a project by the text's own word, head or not
    (a company's or a product's name), unless it is an activity or a count."""
    lex = lexicon()
    return (2 <= len(name) <= 24 and not _not_a_name(name) and not lex.not_name_words.search(name)
            and not re.match(r"^[\d.]", name) and not is_verb(name))


def _strip_list_tail(items: str) -> tuple[str, str]:
    m = _LIST_TAIL.search(items)
    if m and m.start() > 0:
        return items[:m.start()], (m.group("category") or "").strip("“”")
    return re.sub(r"(项目|工程)?(建设|改造提质|主体工程)?$", lambda x: x.group(1) or "", items), ""


_ADVERB_TAIL = re.compile(r"(基本|已经|已|有序|稳步|顺利|全面|正在|加快|超额|全部|均|相继|先后|陆续|正式|总体|主体|"
                          r"实质性|尽早|尽快|提早|如期|按期|年内|上半年)+$")
_INVEST_PREFIX = re.compile(r"^(?:计划|总)?投资(?:约)?\d+(?:\.\d+)?(?:亿元|万元)(?:的)?")


# Where a name ends and the sentence goes on: a deadline or a later stage verb
# (曹坪抽水蓄能电站3月底前开工, 月河电站近期并网发电).
_NAME_END = re.compile(r"(?:近期|\d{1,2}月(?:底|中旬|上旬)?前|年底前|年内|上半年|下半年|尽快|早日)|"
                       r"(?<=.{4})(?:开工|建成|投产|并网|竣工|通车|投用|投入使用)")


def _project_name(item: str, category: str) -> str:
    item = item.strip(" “”\"、")
    if cut := _NAME_END.search(item):
        item = item[:cut.start()]
    name = _ADVERB_TAIL.sub("", item)
    name = re.sub(r"[(（](?:计划|总)?投资[^)）]*[)）]", "", name)  # 溪口水厂(总投资3.5亿元)
    # 新 opens a verb (新建, 新开工) but also names (新材料产业园): only the verb's is dropped.
    name = re.sub(r"^(新(?=[建开增改扩上])|全力|全面|重点|大力|扎实|稳步|加快|持续|积极|有序|集中力量|抓好|抓紧|抓实|"
                  r"探索|拓展|加大|支持|深化|创建|了|以)+", "", name)
    name = _INVEST_PREFIX.sub("", name)
    name = re.sub(r"(等)?(建设|项目建设|前期工作|主体工程|试运营|改造提质)$", "", name).strip("“”")
    if category and not has_name_head(name):
        name = name + re.sub(r"(项目|建设)$", "", category).strip("“”")
        if category.endswith("项目") and not name.endswith("项目"):
            name += "项目"
    return name
