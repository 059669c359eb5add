"""What a question asks for, and whether a piece of text holds it.

多少 asks for a number (in the asked unit: 多少个 a count, 多少人次, 面积 an area; "how many
companies" 家), 哪年 for a date, 哪些 for an enumeration, 谁 for a person (in the role the
question names: 区委书记), 叫什么 or 哪家公司 for a name (of the kind named), 哪里 for a
place, 怎样 for a method, 干啥的 for a purpose, and “X”具体指什么 for a text that says what
X stands for. The extractor (qa/answer/extract.py) prefers spans that hold the asked thing, and the
confidence model (qa/answer/evidence.py) counts it as evidence.
"""

from __future__ import annotations

import re
from functools import lru_cache

from qa.text.normalize import has_cjk, normalize
from qa.text.tokens import person_names, place_names, raw_words

#: what may serve as what (以创建文明城市为契机 answers 抓住了什么机遇): each group's words
#: stand for one another. 什么<word> asks for one (什么机遇) where the word is not too
#: common to (什么目标 may ask for a number, a date …); 以什么为<any of them> always does.
_NAMED_ROLES = (("契机", "机遇", "机会", "时机"), ("抓手",), ("突破口", "切入点"), ("载体",),
                ("支撑",), ("主线",))
_ROLES = _NAMED_ROLES + (("重点",), ("核心",), ("目标",))
_ASKED_ROLES = "|".join(w for group in _NAMED_ROLES for w in group)

_FORMS: list[tuple[str, re.Pattern[str]]] = [
    # “三河两湖”指的是哪三条河: what a quoted term stands for (see ``elaborates``); not
    # “X”是什么时候提出的 or “X”包括多少个项目, which ask for a date and a number.
    ("term", re.compile(r"^(?!.*(?:多少|几[个项名家条]|什么时候|何时|哪一?年|谁|哪里|在哪))"
                        r"(?:.*“[^”]{2,12}”.*(?:具体|指的?是|指什么|分别|哪些|哪几|"
                        r"哪[两三四五六七八九十]|包括|包含|是什么|什么意思|内容)|"
                        r".*(?:什么是|何为|何谓)“[^”]{2,12}”)")),
    # 抓住了什么机遇, 以什么为抓手: what serves as an occasion, a lever, a mainstay … (see
    # ``_ROLES``), which a report writes 以…为契机, 以…为抓手.
    ("role", re.compile(rf"(?:什么|啥)(?:样的)?(?:{_ASKED_ROLES})|以(?:什么|啥)为")),
    # 哪几位 asks for people (a byline's names), not for an enumeration with 、.
    ("person", re.compile(r"哪几位|哪些人")),
    # 哪三条河 asks for three of them; English "which" asks for a list only before a plural.
    # 有什么措施 asks for several; 有什么新变化 or 有什么意义 for a description.
    ("list", re.compile(r"哪些|哪几(?!年)|哪[两三四五六七八九十]+[个条项家种座位所类大]|"
                        r"有什么(?!新?(?:变化|作用|意义|特点|特色|影响|好处|成效|进展|动作|亮点|"
                        r"不同|区别|机遇|目的))|包括什么|"
                        r"包含什么|都有|分别是|\bwhat are\b|\bwhich (?:two|three|four|five)\b|"
                        r"\bwhich (?:\w+ )?(?!(?:was|has|does|is)\b)\w*[^s\W]s\b|"
                        r"^list\b|\blist (?:the|all)\b|"
                        r"\bwhat (?:\w+ )?(?:areas|measures|steps)\b")),
    ("date", re.compile(r"什么时候|何时|哪年|哪一年|几月|哪天|哪一天|日期|啥时候|\bwhen\b|what year|"
                        r"which year")),
    ("number", re.compile(
        r"多少|几[个项名家台处条次年人位所辆座种批大万亿千百十成倍款度吨元米户岁天周级]|几$|几[？?]|"
        r"多大|多高|多长|多久|多远|多重(?=[？?呢啊吗]|$)|"
        r"比例|百分之|百分比|增幅|\bhow (?:many|much|long|big|large)\b|what percent|"
        r"\bnumber of\b|\bby how much\b|\bwhat (?:share|proportion|percentage)\b|"
        # "What is the growth rate of …": a rate, a share or a total is a number too.
        r"\bwhat (?:is|was|are|were) (?:[\w']+ ){0,4}?(?:rate|growth|percentage|share|"
        r"proportion|number|total|amount|population|value|cost|price|length|capacity|area|"
        r"size|income|revenue|average|gdp|output|investment|budget|profit|sales)\b")),
    # 区长叫什么名字 (the reporter's name) asks for a person's name, not any name.
    ("person", re.compile(r"(?:长|书记|支书|主任|记者|通讯员|负责人|经理|专家)的?(?:叫什么|名字|姓名)|"
                          r"\b(?:reporter|journalist|correspondent|secretary|mayor|director|"
                          r"principal|chairman|manager)(?:'s|s')? names?\b|\bnames? of the (?:\w+ ){0,2}"
                          r"(?:reporter|journalist|correspondent|secretary|mayor|director|"
                          r"principal|chairman|manager)s?\b")),
    # 叫什么 asks for a name: of a person, or of an organisation, a project, a place (a
    # quoted one: “1266”); 哪家报纸, 哪个单位, 谁家的 ask for an organisation's name.
    ("name", re.compile(r"叫什么|什么名字|名称|哪一?家|谁家|"
                        r"哪一?个(?:单位|部门|机构|企业|公司|平台|媒体|网站|组织)|"
                        r"\bwhat is the name\b|\bcalled\b")),
    ("person", re.compile(r"谁|哪位|\bwho\b|姓名")),
    ("place", re.compile(r"哪里|哪儿|在哪|什么地方|\bwhere\b|哪(?:个|条|座|一个|一条|一座)?"
                         r"(?:街道|城市|路|镇|村|区|县|市|省)|\bwhich (?:\w+ )?(?:village|town|"
                         r"district|city|county|province|street|road|lake|river)\b")),
    # 怎样鼓励… asks for a method; …怎么样 (how is it going) does not.
    ("method", re.compile(r"(?:怎样|如何|怎么)(?!样)(?=[\u4e00-\u9fff])|什么办法|什么方式|什么措施|"
                          r"通过什么|\bhow (?:do|does|did|to)\b")),
    # 干啥的 / 目的是什么 asks what a measure is for.
    ("purpose", re.compile(r"干啥的|干什么的|做什么的|是干嘛|目的(?!地)|为了什么|有什么用|起什么作用|"
                           r"作用是什么|\bwhat (?:is|was|are) (?:it|they|the \w+) for\b|\bpurpose\b")),
    # any other "which …" asks for one named thing
    ("name", re.compile(r"\bwhich\b")),
]

#: classifiers a count is given in: 多少个 is answered by 36个, 205项 or 5814户, not 70.8亿元.
_CLASSIFIERS = "个项名家台处条次人位所辆座种批户张场届间套件份篇本块棵头只支趟班列单艘架株栋幢层轮期"
_COUNT_UNITS = tuple(_CLASSIFIERS)
_NUMBER = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|[^\d\s，。、；：,.;:（）()“”\"]{0,4})"
    # a lone 一 before a classifier is an article (一批, 一个), not a count; nor is a bare
    # 百, 千 or 万 (联百村, 带万户: a slogan's "hundreds"; a count says 一百)
    r"|(?!一[^一二三四五六七八九十两百千万]|[百千万])[一二三四五六七八九十两百千万]+"
    f"[{_CLASSIFIERS}年大]")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_DATE = re.compile(r"(?:公元前?\d{1,4}|\d{4})年(?:\d{1,2}月)?|\d{1,2}月\d{0,2}日?|"
                   r"[一二三四五六七八九十]+月|上半年|近年|(?:\d{1,2}|[一二三四五六七八九十]+)世纪")
#: a time told relative to the report (即将通车, 年底前): it answers 什么时候 but not 哪一天,
#: and only said of what the question names (see ``_relative_time``).
_RELATIVE_TIME = re.compile(r"即将|将于|年底|年内|近期|近日|下半年")
_EXACT_TIME = re.compile(r"哪一?天|哪一?年|几月|几号|日期|what year|which year|what date")
#: (matched against normalised text, where ，；（） are ,;() and 、。“” stay as they are)
#: (two items joined by 和 are looked for within a clause, each side at least two characters:
#: bounded, so that a long text without punctuation costs linear time)
_LIST = re.compile(r"、|\([^)]{2,}\)|“[^”]+”.{0,6}“[^”]+”|[^,。;和及与]{2}(?:和|及|与)[^,。;]{2}")
_PERSON = re.compile(r"(?:记者|通讯员|书记|主任|区长|市长|总书记|专家)\s*[\u4e00-\u9fff]{2,3}"
                     r"|[\u4e00-\u9fff]{2,3}(?:总书记|书记|同志)")
_ORGANISATION = re.compile(r"[\u4e00-\u9fff]{2,12}(?:集团|公司|中心|学校|学院|医院|平台|电商|网|园|基地|"
                           r"工作站|协会|大会|工程|计划|行动|模式|报|电视台)")
_PLACE = re.compile(r"[\u4e00-\u9fff]{1,8}(?:区|县|市|省|镇|村|街道|站|湖|山|路|园|中心)")
#: (a policy is often named by a quoted slogan: “一链一策”打通堵点)
_METHOD = re.compile(r"通过|采取|采用|依托|借助|利用|以[\u4e00-\u9fff]{1,12}(?:为|的)|实施|建立|推行|开展|"
                     r"“[^”]{2,8}”")
#: what a measure is for: to encourage, to ensure, to help … someone do something.
_PURPOSE = re.compile(r"激励|鼓励|引导|促进|推动|确保|保障|为了|旨在|以便|用于|助力|带动|帮助|让|使")
#: what a name question is answered by: a person, an organisation, a quoted name (“1266”)
#: or title (《红楼梦》),
#: or names followed by their kind (重汽、圣泉等龙头企业).
_NAMED_KIND = (r"[\u4e00-\u9fff]{2,6}(?:、[\u4e00-\u9fff]{2,6}){0,6}等[\u4e00-\u9fff]{0,4}?"
               r"(?:企业|公司|集团|医院|学校|银行|平台|单位|机构|媒体)")
_NAME = re.compile(f"{_PERSON.pattern}|{_ORGANISATION.pattern}|“[^”]{{1,15}}”|《[^》]{{1,30}}》|"
                   f"{_NAMED_KIND}")
#: who did something, when a Chinese question names no role (谁下达的目标, 跟谁合作): a
#: person or an organisation that acts (not a 工程 or a 网) …
_AGENT = re.compile(f"{_PERSON.pattern}|"
                    r"[\u4e00-\u9fff]{2,12}(?:集团|公司|中心|学校|学院|大学|医院|平台|协会|银行|"
                    r"研究院|研究所|工作站|电视台|报社|委员会|政府)")
#: … or a government doing what the question asks about (谁下达的目标 → 济南市下达).
_GOVERNMENT_ACTS = ("下达", "部署", "批准", "授予", "命名", "确定", "发布", "印发", "主办", "牵头")
_GOVERNMENT = r"[\u4e00-\u9fff]{{1,3}}(?:省|市|区|县)(?:委|政府)?(?={})"
_TYPE_PATTERN = {"number": _NUMBER, "date": _DATE, "list": _LIST, "person": _PERSON,
                 "name": _NAME, "place": _PLACE, "method": _METHOD}
#: the unit a number question asks for (多少吨 → 吨) and what else may stand for it.
_ASKED_UNIT = re.compile(
    f"(?:多少|几)(人次|公里|公斤|平方米|平方公里|立方米|亩|公顷|[{_CLASSIFIERS}年吨度元米倍钱岁斤级%])")
#: the kind of place a place question names (哪条路 → 路, 哪个街道 → 街道, 哪座城市 → 市).
_ASKED_PLACE = re.compile(r"哪(?:个|条|座|一个|一条|一座|家)?(街道|城市|路|镇|村|区|县|市|省|湖|山|园)")
_AREA = ("平方米", "平方公里", "亩", "公顷")
_LENGTH = ("米", "公里", "千米")
_WEIGHT = ("吨", "公斤", "千克", "斤", "克")
_UNIT_ALIASES = {"钱": ("元",), "人": ("人", "名"), "名": ("名", "人"), "位": ("位", "名", "人"),
                 "平方米": _AREA, "平方公里": _AREA, "亩": _AREA, "公顷": _AREA}
#: the named sums a report gives many of (投资, 收入, 产值): a sum in 元 answers a question
#: asking for one of them (…收入是多少) only where the text says it is that one; a generic
#: word (金额, 价值, 资金) may be answered by any sum.
_NAMED_SUMS = ("投资", "收入", "产值", "gdp", "生产总值", "营收", "销售额", "利润", "税收",
               "预算", "融资", "贷款", "工资")
_ANY_SUM = ("资金", "价格", "金额", "费用", "经费", "成本", "价值", "补贴")
#: quantities whose unit goes without saying (总投资是多少 → an amount in 元).
_QUANTITY_UNITS = ((("率", ("%",)), ("增速", ("%",)),  # GDP增长率: a rate, not a sum
                    # the question word names the measure: 多高 a height (八大名品 is none);
                    # 多长时间 a time, told in too many ways (每月一次) to ask for a unit
                    ("多长时间", ()), ("多高", _LENGTH), ("多远", _LENGTH), ("多长", _LENGTH),
                    ("多重", _WEIGHT))
                   + tuple((word, ("元",)) for word in _NAMED_SUMS + _ANY_SUM)
                   + (("面积", _AREA), ("库容", ("立方米",)), ("容量", ("立方米",)),
                      ("人口", ("人",)), ("长度", _LENGTH), ("全长", _LENGTH),
                      ("距离", _LENGTH), ("增长", ("%",)), ("比例", ("%",)),
                      ("比重", ("%",))))

#: a number inside quotes is part of a name (the “1266” plan, the “四个一批” mechanism)
_QUOTED_NUMBER = re.compile(r"“[^”]{0,10}?[\d一二三四五六七八九十两百千]+[^”]{0,10}?”")
_ASKED_MONEY = re.compile(
    "(" + "|".join(_NAMED_SUMS) + ")"
    r"(?:额|总额|总量)?(?:是|为|有|达到|达|共|一共|总共|大概|大约)*(?:多少|几)")


#: a rate named by what it is of (覆盖率, 城镇化率); not 效率 or 频率, which any rate may answer.
_ASKED_RATE = re.compile(r"([\u4e00-\u9fff][^效频速概\W\d])率")


#: the named sums an English question asks for, as a Chinese report names them: "fiscal
#: revenue" is told as some 收入 or 税收, never as 总投资.
_ENGLISH_SUMS = ((re.compile(r"\brevenues?\b"), ("收入", "营收", "税收")),
                 (re.compile(r"\bincomes?\b"), ("收入",)),
                 (re.compile(r"\b(?:investments?|invest(?:ed|ing)?)\b"), ("投资",)),
                 (re.compile(r"\boutput\b"), ("产值",)),
                 (re.compile(r"\bgdp\b|\bgross domestic product\b"), ("gdp", "生产总值")),
                 (re.compile(r"\bprofits?\b"), ("利润",)),
                 (re.compile(r"\btax(?:es)?\b"), ("税",)),
                 (re.compile(r"\bsales\b"), ("销售",)),
                 (re.compile(r"\bbudget\b"), ("预算",)),
                 (re.compile(r"\bloans?\b"), ("贷款",)),
                 (re.compile(r"\b(?:salary|salaries|wages?)\b"), ("工资",)))


def _asked_quantity(question_norm: str, units: tuple[str, ...]) -> tuple[str, ...]:
    """What a number question asks for by name, which the answer must name too (any one
    of them): a sum of money (人均可支配收入是多少 → 收入; fiscal revenue → 收入, 营收 or
    税收), a rate (城镇化率是多少 → 镇化, 增长率 → 增长) or, in English, the growth of a sum
    (GDP growth rate → gdp or 生产总值); () when it names none."""
    if units in (("元",), ("%",)) and not has_cjk(question_norm):  # … or its growth
        return next((names for pattern, names in _ENGLISH_SUMS
                     if pattern.search(question_norm)), ())
    if units == ("元",):
        m = _ASKED_MONEY.search(question_norm)
    elif units == ("%",):
        m = _ASKED_RATE.search(question_norm)
    else:
        m = None
    return (m.group(1),) if m else ()


def question_form(question: str) -> str:
    """What the question asks for: term (what a quoted term stands for), role (what serves
    as an occasion, a lever …), list, date, number, name, person, place, method, purpose or
    other."""
    q = normalize(question)
    for name, pattern in _FORMS:
        if pattern.search(q):
            return name
    return "other"


def asked_term(question: str) -> tuple[str, ...]:
    """The quoted terms of a question (“三河两湖”)."""
    return tuple(re.findall(r"“([^”]{2,12})”", normalize(question)))


def elaborates(text: str, term: str) -> bool:
    """Does ``text`` say what ``term`` stands for: a bracket or 即/包括/：right after it
    (“六攻”（攻集群、攻平台…）), or an enumeration just before it in the same clause
    (产业数字化转型和“新六产”融合发展双轮驱动)? A report that only names the term does not."""
    text, t = normalize(text), re.escape(normalize(term))
    return (re.search(rf"{t}”?\s*(?:[(:]|,?即|包括|是指|指的是|分别是)", text) is not None
            or re.search(rf"(?:、|和|及|与)[^,。;]*?{t}", text) is not None)


def asked_unit(question: str) -> tuple[str, ...]:
    """The units acceptable for the asked number (empty when none is asked)."""
    q = normalize(question)
    if "百分" in q or "percent" in q:
        return ("%",)
    m = _ASKED_UNIT.search(q)
    if m:
        unit = m.group(1)
        if unit == "个":  # the general measure word: 多少个人 asks for people, 多少个项目 for
            # a count of anything (in any classifier), not an amount of money or area
            return ("人", "名", "位") if q[m.end():m.end() + 1] == "人" else _COUNT_UNITS
        return _UNIT_ALIASES.get(unit, (unit,))
    if not has_cjk(q):  # "GDP growth rate" asks for a percentage, not a sum like GDP
        return _english_unit(q)
    for word, units in _QUANTITY_UNITS:
        if word in q:
            return units
    return ()


#: what an English question counts or measures, in the units a Chinese report gives it in.
_ENGLISH_UNITS = (
    (re.compile(r"\b(?:share|proportion|percentage|rate|growth|gr[eo]wn?|grow)\b"), ("%",)),
    (re.compile(r"\bhow many (?:\S+ )?(?:companies|enterprises|firms|businesses)\b"), ("家",)),
    (re.compile(r"\bhow many (?:\S+ )?households\b"), ("户",)),
    (re.compile(r"\bhow many (?:\S+ )?(?:people|persons|workers|residents|talents)\b|"
                r"\bpopulation\b"), ("人", "名")),
    (re.compile(r"\bhow many (?:\S+ )?(?:buses|vehicles|cars)\b"), ("辆",)),
    (re.compile(r"\bhow many (?:\S+ )?(?:tons|tonnes)\b"), ("吨",)),
    (re.compile(r"\bhow many (?:\S+ )?(?:kilometers|kilometres|km)\b"), ("公里",)),
    (re.compile(r"\b(?:electricity|power|kwh|kilowatt[- ]hours?)\b"), ("度",)),
    (re.compile(r"\bhow many square\b|\barea\b"), _AREA),
    (re.compile(r"\blength\b|\bhow long (?:is|are|was)\b|\bhow far\b"), _LENGTH),
    (re.compile(r"\bcapacity\b"), ("立方米",)),
    (re.compile(r"\b(?:cost|price|value|income|revenue|salary|wages?|yuan|gdp|output|"
                r"investment|budget|profit|sales)\b|"
                r"\bhow much\b.*\b(?:money|invest\w*|capital|spen[dt]|funds?|funding|worth|"
                r"output)\b"), ("元",)),
    (re.compile(r"\bhow many\b"), _COUNT_UNITS),
)


def _english_unit(question_norm: str) -> tuple[str, ...]:
    for pattern, units in _ENGLISH_UNITS:
        if pattern.search(question_norm):
            return units
    return ()


#: the kind of organisation a name question names (哪家公司 → a 公司 or 集团, not a 中心).
_ASKED_KIND = re.compile(r"哪一?[家个所](公司|企业|集团|医院|学校|银行|媒体|报纸|报社|网站|平台)")
_KINDS = {"公司": ("公司", "集团", "企业"), "企业": ("公司", "集团", "企业"),
          "集团": ("集团", "公司"), "医院": ("医院", "中心"), "学校": ("学校", "学院", "学"),
          "银行": ("银行",), "媒体": ("报", "台", "网", "媒"), "报纸": ("报",),
          "报社": ("报",), "网站": ("网",), "平台": ("平台", "网")}


#: … and in an English question (which e-commerce platform → an 电商, not any 平台), the
#: most specific kind first.
_ENGLISH_KINDS = ((re.compile(r"\be-?commerce\b"), ("电商", "电子商务")),
                  (re.compile(r"\b(?:compan(?:y|ies)|enterprises?|firms?)\b"), _KINDS["公司"]),
                  (re.compile(r"\bhospitals?\b"), _KINDS["医院"]),
                  (re.compile(r"\b(?:schools?|universit(?:y|ies)|colleges?)\b"), _KINDS["学校"]),
                  (re.compile(r"\bbanks?\b"), _KINDS["银行"]),
                  (re.compile(r"\bnewspapers?\b"), _KINDS["报纸"]),
                  (re.compile(r"\b(?:media|press)\b"), _KINDS["媒体"]),
                  (re.compile(r"\bwebsites?\b"), _KINDS["网站"]),
                  (re.compile(r"\bplatforms?\b"), _KINDS["平台"]))


def asked_kind(question: str) -> tuple[str, ...]:
    """What the organisation asked for may be called (empty when the question does not
    say)."""
    q = normalize(question)
    if not has_cjk(q):
        return next((kinds for pattern, kinds in _ENGLISH_KINDS if pattern.search(q)), ())
    m = _ASKED_KIND.search(q)
    return _KINDS[m.group(1)] if m else ()


_ROLE = re.compile(r"书记|支书|[区市县镇村局处科院校]长|主任|记者|通讯员|负责人|经理|董事长|专家")


def asked_role(question: str) -> tuple[str, ...]:
    """The role a person question names (区委书记是谁 → 区委书记, 党组织书记叫什么 →
    党组织书记); empty when it names none. A person with another role (总书记) is not the
    answer."""
    words = raw_words(normalize(question))
    for i, w in enumerate(words):
        if _ROLE.search(w):
            if _ROLE.fullmatch(w) and i > 0 and len(words[i - 1]) >= 2:
                return (words[i - 1] + w,)  # 党组织 + 书记
            return (w,)
    return ()


def asked_place(question: str) -> tuple[str, ...]:
    """The kind of place asked for (empty when the question does not say)."""
    m = _ASKED_PLACE.search(normalize(question))
    if not m:
        return ()
    return ("市",) if m.group(1) == "城市" else (m.group(1),)


_AFTER_NUMBER = re.compile(r"(?:[\d.]+|[一二三四五六七八九十两百千万]+)\s*(?:[万亿千百]|余|多)*")


def _has_unit(found: str, unit: str, count: bool = False) -> bool:
    """Is ``found`` (a number and what follows it) in ``unit``? 米 is a length: not the
    米 of 平方米 or 立方米; % may be 个百分点. A ``count`` (多少个) is given by a classifier right after the
    number (36个, 1.1万户), not by one inside the next word (700贫困人口)."""
    if count:
        m = _AFTER_NUMBER.match(found)
        return m is not None and found[m.end():m.end() + len(unit)] == unit
    if unit == "米":
        return re.search(r"(?<!平方)(?<!立方)米", found) is not None
    if unit == "%":  # a share is also given in percentage points (超进度12个百分点)
        return "%" in found or "百分点" in found
    return unit in found


#: has_form's score for a number whose unit is not the one asked for.
OTHER_UNIT = 0.6


def has_form(text: str, form: str, question_norm: str = "",
             units: tuple[str, ...] = ()) -> float:
    """How well ``text`` holds something of the asked form that the question does not
    already hold: 1 (with the asked unit), 0.6 (a number in another unit, a place or an
    organisation of another kind), 0 (nothing, or no one in the asked role); 0.5 when the
    question has no recognised form, or asks for a purpose the text does not mark (words
    like 激励 are a sign, not a must). ``units`` are what ``asked_unit``, ``asked_place``,
    ``asked_kind`` or ``asked_role`` give for the form."""
    text = normalize(text)
    simple = _without_pattern(text, form, question_norm, units)
    if simple is not None:
        return simple
    pattern = _TYPE_PATTERN[form]
    if form == "person" and units and not any(u in text for u in units):
        return 0.0  # not the person asked about (the role asked for is not there)
    if form == "person" and not units and "谁" in question_norm:
        pattern = _agent_pattern(question_norm)
    best = 0.0
    whole = text
    if form == "number":  # a number in quotes names something (the “1266” plan, “四个一批”):
        # no amount, unless the question asks for that very number (几大名品 of “八大名品”)
        text = _QUOTED_NUMBER.sub(lambda q: q.group() if _asks_for_quoted(q.group(), question_norm)
                                  else " " * len(q.group()), text)
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        pos = m.end()
        found = m.group().strip()
        number = _DIGITS.match(found)
        if form == "number" and found.endswith("大") and "几大" not in question_norm:
            continue  # 八大名品, 五大振兴 name a group; they answer 几大, not 销量多少
        # What the question already states is no answer (its 12个 in 其中12个…完成投资70.8亿元);
        # an enumeration's 、 is no statement (the question may enumerate too).
        restated = found in question_norm and found != "、"
        if (form in ("person", "name") and _PERSON.fullmatch(found)
                and not _names_someone(found)):
            pos = m.start() + 1  # a role and no one's name (找记者 上壹点, 党组织书记)
            continue
        if form == "date" and not _said_of_asked(text, m.start(), question_norm):
            continue  # 提前完成…2020年目标 tells nothing of when the plant started running
        if (number and re.search(rf"(?<![\d.]){re.escape(number.group())}(?![\d.])",
                                 question_norm)) or restated:
            if form in ("person", "name"):  # the asked role (党组织书记) may hide the
                pos = m.start() + 1  # name after it (书记张三): look again one further on
            continue
        if form in ("number", "place", "name") and units:
            count = units == _COUNT_UNITS
            best = max(best, 1.0 if any(_has_unit(found, u, count) for u in units)
                       else OTHER_UNIT)
        else:
            return 1.0
    if form == "number" and best < 1.0 and _counted_directly(whole, question_norm):
        return 1.0
    if not units and _tagged_name(whole, form, question_norm):
        return 1.0
    if form == "date" and best == 0.0 and _relative_time(text, question_norm):
        return 1.0
    named = _asked_quantity(question_norm, units) if form == "number" else ()
    if named and not any(n in text for n in named):  # 总投资1.39亿元 is no 人均可支配收入, 覆盖率 no 城镇化率
        best = min(best, OTHER_UNIT)
    return best


def _without_pattern(text: str, form: str, question_norm: str,
                     units: tuple[str, ...]) -> float | None:
    """``has_form`` of a form told by words rather than a pattern (a term, a purpose, a
    role) or of no recognised form; None for the forms a pattern finds."""
    if form == "term":
        return 1.0 if any(elaborates(text, t) for t in units) else 0.0
    if form == "purpose":  # a purpose may be told without these words: no evidence against
        return 1.0 if _PURPOSE.search(text) else 0.5
    if form == "role":  # … and so may what serves as an occasion or a lever
        return 1.0 if _serves_as(text, units or asked_role_noun(question_norm)) else 0.5
    if _TYPE_PATTERN.get(form) is None:  # a question of no recognised form: no evidence
        return 0.5
    return None


def _names_someone(found: str) -> bool:
    """Does a role-and-name match (记者 支倩倩, 习近平总书记) hold a person's name, beside
    the role itself?"""
    return any(not _ROLE.search(name) for name in person_names(found))


#: a name written in the Chinese way for a foreign person: given name · family name
_FOREIGN_NAME = re.compile(r"[\u4e00-\u9fff]{1,8}(?:[·‧・•][\u4e00-\u9fff]{1,8})+")


#: last characters of institutions and places that jieba's dictionary tags as names
_NOT_PERSON_ENDS = tuple("园校院所局区县市省镇村乡街路山河湖站馆厂司团")


def _tagged_name(text: str, form: str, question_norm: str) -> bool:
    """For a person or a place question naming no role or kind: does ``text`` name someone
    or somewhere the question does not — a word jieba's tagger reads as a person's name
    (nr) or a foreign name written with ·, or a place it knows (ns: 巴西)? Whoever and
    wherever an article is about, without the role and kind words the patterns look for."""
    if form == "person":
        if not has_cjk(question_norm):
            # the foreign-language judge has no words to weigh against a wrong name, and
            # jieba's dictionary tags common words as names too (幼儿园, 章丘: nr)
            return False
        names = [n for n in person_names(text) if not n.endswith(_NOT_PERSON_ENDS)]
        names += _FOREIGN_NAME.findall(text)
    elif form == "place":
        names = place_names(text)
    else:
        return False
    return any(len(n) >= 2 and n not in question_norm for n in names)


# What has_form needs to know of the question alone, worked out once per question, not
# once per candidate span.


@lru_cache(maxsize=256)
def _agent_pattern(question_norm: str) -> re.Pattern[str]:
    """Who may answer a 谁 question that names no role: ``_AGENT``, or a government doing
    one of the ``_GOVERNMENT_ACTS`` the question names."""
    acts = [a for a in _GOVERNMENT_ACTS if a in question_norm]
    return re.compile(f"{_AGENT.pattern}|{_GOVERNMENT.format('|'.join(acts))}") if acts else _AGENT


@lru_cache(maxsize=256)
def _character_pairs(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1))


_CLAUSE_END = re.compile(r"[,;。，；]")


def _said_of_asked(text: str, at: int, question_norm: str) -> bool:
    """Is what stands at ``at`` in ``text`` said of what a Chinese question names: in a
    clause, or next to one, that shares two character pairs with the question (2018年6月,
    习近平总书记视察三涧溪村)? Always so in a text of one clause, or for a question in
    another language, whose words cannot be looked for."""
    ends = [m.end() for m in _CLAUSE_END.finditer(text, 0, len(text) - 1)]
    if not ends or not has_cjk(question_norm):
        return True
    bounds = [0, *ends, len(text)]
    i = next(k for k in range(len(bounds) - 1) if at < bounds[k + 1])
    asked = _character_pairs(question_norm)
    return any(len(_character_pairs(text[bounds[k]:bounds[k + 1]]) & asked) >= 2
               for k in range(max(0, i - 1), min(len(bounds) - 1, i + 2)))


def _relative_time(text: str, question_norm: str) -> bool:
    """Does ``text`` say when relative to the report (即将通车) in a clause about what the
    question names (three of the question's character pairs in the clause), for a question
    that does not ask for an exact day or year?"""
    if _EXACT_TIME.search(question_norm):
        return False
    asked = _character_pairs(question_norm)
    return any(_RELATIVE_TIME.search(clause) and len(_character_pairs(clause) & asked) >= 3
               for clause in _CLAUSE_END.split(text))


_COUNTED = re.compile(f"(?:多少|几)[{_CLASSIFIERS}]([\u4e00-\u9fff]{{2,4}})")


@lru_cache(maxsize=256)
def _counted_noun(question_norm: str) -> re.Pattern[str] | None:
    """A number with the noun a count question counts right after it (多少条冲沟 → 十二冲沟),
    or None when the question names no such noun."""
    m = _COUNTED.search(question_norm)
    noun = next(iter(raw_words(m.group(1))), "") if m else ""
    if len(noun) < 2:
        return None
    return re.compile(r"(?<![\d一二三四五六七八九十两百千万])(?:\d+|[一二三四五六七八九十两百千万]+)"
                      + re.escape(noun))


def _asks_for_quoted(quoted: str, question_norm: str) -> bool:
    """Does the question ask for the number of a quoted name: a numbered group (几大 of
    “八大名品”), or with the rest of the name (几个一批 of “四个一批”)?"""
    if "几大" in question_norm and re.search(r"[一二三四五六七八九十两]大", quoted):
        return True
    rest = re.sub(r"[\d.一二三四五六七八九十两百千]+", "", quoted.strip("“”"), count=1)
    return bool(rest) and rest in question_norm


def _counted_directly(text: str, question_norm: str) -> bool:
    """Does ``text`` count the asked thing with its noun right after the number, as
    slogans do (多少条冲沟 → 两横五纵十二冲沟)?"""
    pattern = _counted_noun(question_norm)
    return pattern is not None and pattern.search(text) is not None


def asked_role_noun(question: str) -> tuple[str, ...]:
    """The role a ``role`` question asks what serves as (什么机遇 → 契机, 机遇 …); every
    role when it names none (以什么为…)."""
    q = normalize(question)
    named = [group for group in _ROLES if any(w in q for w in group)]
    return tuple(w for group in (named or _ROLES) for w in group)


def _serves_as(text: str, roles: tuple[str, ...]) -> bool:
    """以…为契机, 抓住…机遇: does ``text`` say what serves as one of ``roles``?"""
    either = "|".join(roles)
    return re.search(rf"以[^,。;]{{1,40}}?为(?:{either})|(?:抓住|抢抓|把握|借助|用好)"
                     rf"[^,。;]{{0,30}}?(?:{either})", text) is not None


def asked_units(question: str, form: str) -> tuple[str, ...]:
    """What ``has_form`` checks the found thing against, for a question of ``form``: the
    unit of a number, the kind of a place or an organisation, the role of a person, the
    quoted term."""
    asker = {"number": asked_unit, "place": asked_place, "person": asked_role,
             "name": asked_kind, "term": asked_term, "role": asked_role_noun}.get(form)
    return asker(question) if asker else ()
