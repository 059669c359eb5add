"""What a question asks for and whether a text holds it (qa/answer/forms.py), on made-up text."""

from __future__ import annotations

import pytest

from qa.answer import forms
from qa.text.normalize import normalize


@pytest.mark.parametrize("question, form", [
    ("签约了多少个项目？", "number"),
    ("簽約了多少個項目？", "number"),
    ("建了几个招商工作站？", "number"),
    ("How many projects were signed?", "number"),
    ("总书记是哪年视察三涧溪村的？", "date"),
    ("什么时候完成目标？", "date"),
    ("谁视察了三涧溪村？", "person"),
    ("哪些龙头企业接通了断点？", "list"),
    ("建立了哪几个招商工作站？", "list"),
    ("章丘区在哪里？", "place"),
    ("章丘区为什么要扛起两面大旗", "other"),
    # 哪五种 asks for five of them (what a quoted term stands for: "term"); 哪几位 for
    # people; 哪家 for an organisation
    ("“五水共治”治的是哪五种水？", "term"),
    ("什么是“五水共治”？", "term"),
    ("“五水共治”是什么时候提出的？", "date"),
    ("“五水共治”包括多少个项目？", "number"),
    ("要治理哪五种水？", "list"),
    ("采取了哪些措施？", "list"),
    ("园区里有什么企业？", "list"),
    ("婚礼风气有什么新变化？", "other"),  # a description, not an enumeration
    ("这项改革有什么意义？", "other"),
    ("会议由哪几位专家主持？", "person"),
    ("新闻是哪家报纸发的？", "name"),
    ("项目由哪个单位承建？", "name"),
    ("市长叫什么名字？", "person"),
    ("那个计划叫什么？", "name"),
    # English "which": a list only before a plural
    ("Which companies moved to the park?", "list"),
    ("Which two hospitals were built?", "list"),
    ("Which platform was launched?", "name"),
    ("Which process was used?", "name"),
    ("Which town hosted the fair?", "place"),
    ("Which year was the plan made?", "date"),
    ("How many firms are on the emission-reduction list?", "number"),
    ("List the three zones.", "list"),
    ("大葱有多重？", "number"),
    ("多重保障是什么？", "other"),  # 多重 as "manifold", not "how heavy"
    # a rate, a growth or a total asked for with "what is the" is a number
    ("What is the growth rate of industrial output?", "number"),
    ("What was Zhangqiu's unemployment rate in 2020?", "number"),
    ("What is the area of Baiyun Lake?", "number"),
    ("What is the average income of farmers?", "number"),
    ("What was the total investment of the signed projects?", "number"),
    ("What is the name of the platform?", "name"),
])
def test_question_form(question, form):
    assert forms.question_form(question) == form


@pytest.mark.parametrize("question, units", [
    # 个 is the general measure word: 36个, 5家, 160名 all count; 70.8亿元 is no count
    ("签约了多少个项目？", forms._COUNT_UNITS),
    ("派了多少个人？", ("人", "名", "位")),
    ("日处理生活垃圾多少吨？", ("吨",)),
    ("增长了百分之几？", ("%",)),
    ("总投资是多少？", ("元",)),
    ("引进了多少人才？", ("人", "名")),
    ("完成了多少？", ()),
    ("一共培训了多少人次？", ("人次",)),
    ("每天发多少趟车？", ("趟",)),
    ("签约金额是多少？", ("元",)),
    ("生产了多少价值的产品？", ("元",)),  # a value is a sum of money, not 八大名品
    ("公园面积有多大？", forms._AREA),
    # English questions, in the units a Chinese report answers them in
    ("How many companies joined the list?", ("家",)),
    ("What share of villages meet the standard?", ("%",)),
    ("How many buses were bought?", ("辆",)),
    ("How much did the hall cost?", ("元",)),
    ("How much foreign capital was used?", ("元",)),  # 5400万美元
    ("How many projects were signed?", forms._COUNT_UNITS),
    # a rate of a sum (GDP增速, output growth) is a percentage, not the sum
    ("GDP增速是多少？", ("%",)),
    ("工业产值增长率是多少？", ("%",)),
    ("城镇化率是多少？", ("%",)),
    ("达标率有多高？", ("%",)),  # a rate, not a height
    ("收入增长了多少？", ("元",)),
    ("What is the GDP growth rate?", ("%",)),
    # the question word names the measure
    ("章丘大葱有多高？", forms._LENGTH),
    ("离市区有多远？", forms._LENGTH),
    ("一棵大葱有多重？", forms._WEIGHT),
    ("走访一次隔多长时间？", ()),  # 每月至少一次: a time told in too many ways
    ("How much did industrial output grow?", ("%",)),
    ("How much electricity does the plant generate a year?", ("度",)),  # 1.63亿度
    ("What is the population of the district?", ("人", "名")),
    ("What is the total length of the river?", forms._LENGTH),
    ("How long is the East Ring section?", forms._LENGTH),
    ("How long will it take?", ()),  # a time, not a length
    ("What was the cost of the expansion?", ("元",)),
    ("What is the average income of farmers?", ("元",)),
])
def test_asked_unit(question, units):
    assert forms.asked_unit(question) == units


def test_a_count_is_not_answered_by_an_amount():
    question = "老旧小区改造一共改了多少个小区？"
    units = forms.asked_unit(question)
    assert forms.has_form("改造小区26个", "number", question, units) == 1.0
    assert forms.has_form("改造1500万平方米", "number", question, units) == forms.OTHER_UNIT
    # a count is given by a classifier right after the number, not one inside the next word
    assert forms.has_form("完成1.1万户入户核查", "number", question, units) == 1.0
    assert forms.has_form("带动近700贫困人口就业", "number", question, units) == forms.OTHER_UNIT


def test_a_unit_is_not_part_of_another():
    area = forms.asked_unit("公园面积有多大？")
    assert forms.has_form("水库扩容1500万立方米", "number", "", area) == forms.OTHER_UNIT
    assert forms.has_form("公园占地300亩", "number", "", area) == 1.0
    length = forms.asked_unit("全长是多少？")
    assert forms.has_form("改造1500万平方米", "number", "", length) == forms.OTHER_UNIT
    assert forms.has_form("全长12公里", "number", "", length) == 1.0
    visits = forms.asked_unit("一共培训了多少人次？")
    assert forms.has_form("带动700贫困人口就业", "number", "", visits) == forms.OTHER_UNIT


def test_a_number_in_quotes_is_a_name_not_an_amount():
    assert forms.has_form("完善全区“1266”工作思路", "number") == 0.0
    # 八大 still counts, for a question that asks 几大
    assert forms.has_form("聚力“八大名品”培育", "number", normalize("有几大名品？")) == 1.0


def test_has_form():
    q = normalize("签约了多少个项目？")
    assert forms.has_form("签约项目36个", "number", q, ("个",)) == 1.0
    assert forms.has_form("总投资364.2亿元", "number", q, ("个",)) == 0.6
    assert forms.has_form("签约项目", "number", q, ("个",)) == 0.0
    assert forms.has_form("2018年6月", "date") == 1.0
    assert forms.has_form("高端制造、新材料、新医药", "list") == 1.0
    assert forms.has_form("加强分类指导", "list") == 0.0
    assert forms.has_form("推行并联审批和一业一证改革", "list") == 1.0  # two, joined by 和
    # a number the question already holds is not an answer to it
    q2 = normalize("2020年签约了多少个项目？")
    assert forms.has_form("2020年", "number", q2, ("个",)) == 0.0


def test_name_questions_want_a_name_not_a_restatement():
    question = "新成立的幼教集团叫什么名字？"
    assert forms.question_form(question) == "name"
    qn = question
    assert forms.has_form("成立青未了幼教集团", "name", qn) == 1.0
    assert forms.has_form("教育资源更加优化", "name", qn) == 0.0
    assert forms.has_form("幼教集团", "name", qn) == 0.0  # only what the question says
    # a name in quotes is a name too (the “1266” work plan), and so is a newspaper
    assert forms.has_form("完善全区“1266”工作思路", "name", "工作思路叫什么") == 1.0
    assert forms.has_form("大众日报记者报道", "name", "哪家报纸") == 1.0


def test_a_lone_one_before_a_classifier_is_no_count():
    units = forms.asked_unit("一共建了几个站？")
    assert forms.has_form("集中新上一批大项目", "number", "一共建了几个站", units) == 0.0
    assert forms.has_form("建成十一个服务站", "number", "一共建了几个站", units) == 1.0


def test_place_questions_name_the_kind_of_place():
    question = "精神卫生中心设在章丘哪个街道？"
    assert forms.question_form(question) == "place"
    kind = forms.asked_place(question)
    assert kind == ("街道",)
    assert forms.has_form("推广官庄街道经验", "place", question, kind) == 1.0
    # a 中心 is a place, but not the street asked for
    assert forms.has_form("东部医疗中心基本建成", "place", question, kind) == forms.OTHER_UNIT
    assert forms.asked_place("第二届儒商大会在哪座城市举办？") == ("市",)
    assert forms.asked_place("章丘区在哪里？") == ()


@pytest.mark.parametrize("question, role", [
    ("镇党委书记是谁？", ("党委书记",)),
    ("那个村的党组织书记叫什么名字？", ("党组织书记",)),
    ("这篇报道的记者是谁？", ("记者",)),
    ("谁视察了工地？", ()),
])
def test_asked_role(question, role):
    assert forms.asked_role(question) == role


def test_a_person_with_another_role_is_not_the_answer():
    question = "那个村的党组织书记叫什么名字？"
    role = forms.asked_role(question)
    assert forms.question_form(question) == "person"
    assert forms.has_form("习近平总书记视察该村时指出", "person", question, role) == 0.0
    assert forms.has_form("村党组织书记张三介绍", "person", question, role) == 1.0
    # 谁家的 asks for an organisation, whatever role the question names
    assert forms.question_form("那个专家工作站是谁家的") == "name"


def test_a_role_followed_by_no_name_is_no_person():
    # jieba's tagger reads 支倩倩 as a name, and neither the slogan 找记者 上壹点 ("to find a
    # reporter, go to the app") nor a role standing alone (党组织书记) as one
    question = normalize("Who is the reporter of this article?")
    assert forms.question_form(question) == "person"
    assert forms.has_form("齐鲁晚报·齐鲁壹点记者 支倩倩", "person", question) == 1.0
    assert forms.has_form("找记者 上壹点", "person", question) == 0.0
    assert forms.has_form("调整村级党组织书记198人次", "person", normalize("谁是书记？")) == 0.0
    assert forms.has_form("习近平总书记视察三涧溪村", "person", normalize("谁视察了三涧溪村？")) == 1.0
    # … nor is it a name, for a question asking what someone is called
    question = normalize("那篇文章的名称叫什么？")
    assert forms.question_form(question) == "name"
    assert forms.has_form("找记者 上壹点", "name", question) == 0.0
    # asking for a role's name in English asks for a person
    for q in ("What is the reporter's name?", "What's the name of the correspondent?",
              "Give me the name of the village Party secretary."):
        assert forms.question_form(q) == "person", q
    assert forms.question_form("What is the name of the new kindergarten group?") == "name"


def test_a_question_that_enumerates_still_wants_an_enumeration():
    question = normalize("办丧事、办婚礼有哪些新风？")
    assert forms.has_form("白事简办、红事新办", "list", question) == 1.0
    assert forms.has_form("移风易俗蔚然成风", "list", question) == 0.0


def test_a_method_is_a_means_or_a_named_policy():
    question = normalize("卡壳的环节是怎么疏通的？")
    assert forms.question_form(question) == "method"
    assert forms.has_form("通过集中采购降低成本", "method", question) == 1.0
    assert forms.has_form("“一企一策”打通堵点", "method", question) == 1.0
    assert forms.has_form("企业接通了断点", "method", question) == 0.0


def test_a_count_may_put_its_noun_right_after_the_number():
    question = normalize("规划了多少条冲沟？")
    units = forms.asked_units(question, "number")
    assert forms.has_form("“两横五纵十二冲沟”建设有序推进", "number", question, units) == 1.0
    assert forms.has_form("冲沟治理有序推进", "number", question, units) == 0.0
    # the noun counted is the asked one, not any noun after a number
    assert forms.has_form("建成十二水库", "number", question, units) == 0.0


def test_a_date_answers_when_only_if_said_of_what_is_asked():
    question = normalize("生活垃圾焚烧发电项目什么时候投运的？")
    sentence = ("生活垃圾焚烧发电项目投入运行，日处理生活垃圾1200吨，833家涉气企业列入应急减排清单，"
                "提前完成济南市下达的2020年目标")
    assert forms.has_form(sentence, "date", question) == 0.0  # the year of another goal
    assert forms.has_form("提前完成2020年目标", "date", question) == 1.0  # one clause: no say
    # the date may stand in a clause of its own, next to what it dates
    visit = normalize("总书记什么时候视察的三涧溪村？")
    text = "2018年6月，习近平总书记视察章丘三涧溪村时指出，增加农民收入是关键"
    assert forms.has_form(text, "date", visit) == 1.0
    assert forms.has_form("增加农民收入是关键，两年来，2018年6月", "date", visit) == 0.0
    # an English question's words cannot be looked for in Chinese text
    assert forms.has_form(sentence, "date", normalize("When did the plant start running?")) == 1.0


def test_a_relative_time_answers_when_if_said_of_what_is_asked():
    question = normalize("东环段啥时候能通车？")
    text = "胶济铁路建成投用，东环段即将通车，济莱高铁加快建设"
    assert forms.has_form(text, "date", question) == 1.0
    # … not when said of another road, nor for a question asking for the exact day
    assert forms.has_form(text, "date", normalize("济莱高铁什么时候通车？")) == 0.0
    assert forms.has_form(text, "date", normalize("东环段哪一天通车？")) == 0.0


def test_a_sum_of_money_must_be_the_asked_one():
    question = normalize("全区的人均可支配收入是多少？")
    units = forms.asked_units(question, "number")
    assert units == ("元",)
    assert forms.has_form("人均可支配收入达到3.2万元", "number", question, units) == 1.0
    assert forms.has_form("累计实施项目141个，总投资1.39亿元", "number", question,
                          units) == forms.OTHER_UNIT
    # a generic word (价值, 金额) may be answered by any sum
    question = normalize("工业产值的价值有多少？")
    units = forms.asked_units(question, "number")
    assert forms.has_form("完成工业产值544.41亿元", "number", question, units) == 1.0
    # money named only as context (清查资金后追回了多少钱) asks for no particular sum
    question = normalize("清查资金后追回了多少钱？")
    units = forms.asked_units(question, "number")
    assert forms.has_form("收回各类款项5814万元", "number", question, units) == 1.0


def test_a_purpose_question_wants_what_a_measure_is_for():
    question = normalize("孝善补贴到底是干啥的？")
    assert forms.question_form(question) == "purpose"
    assert forms.has_form("激励子女主动承担赡养义务", "purpose", question) == 1.0
    # … preferred, but a span without such a word is no evidence against it
    assert forms.has_form("创新实施孝善扶贫模式", "purpose", question) == 0.5
    assert forms.question_form("这趟车的目的地是哪里？") == "place"


def test_who_without_a_role_may_be_an_organisation_or_a_government():
    for question, text in [("目标是谁下达的？", "提前完成省里市政府下达的目标"),
                           ("平台是跟谁合作建的？", "联合东方物流平台，打造网上商城")]:
        q = normalize(question)
        assert forms.has_form(text, "person", q, forms.asked_role(question)) == 1.0
    # … not a place named in passing, nor a government doing something else, nor for a
    # question naming a role or asked in English
    assert forms.has_form("南山区建成了新工厂", "person", normalize("谁建的工厂？")) == 0.0
    assert forms.has_form("电厂投入运行，完成市里下达的目标", "person",
                          normalize("谁负责电厂？")) == 0.0
    assert forms.has_form("上线了大葱网", "person", normalize("谁建的网站？")) == 0.0
    question = "这个学校的校长是谁？"
    role = forms.asked_role(question)
    assert forms.has_form("东城实验学校开工", "person", normalize(question), role) == 0.0
    assert forms.has_form("东城实验学校开工", "person", normalize("Who runs the school?")) == 0.0


def test_names_followed_by_their_kind_answer_a_name_question():
    question = normalize("哪家企业被协助接通了断点？")
    kind = forms.asked_kind(question)
    assert forms.has_form("协助重汽、圣泉等龙头企业接通断点", "name", question, kind) == 1.0
    assert forms.has_form("协助龙头企业接通断点", "name", question, kind) == 0.0


def test_an_organisation_of_another_kind_is_a_weak_answer():
    question = "这座电厂由哪家公司运营？"
    kind = forms.asked_kind(question)
    assert forms.question_form(question) == "name" and "公司" in kind
    assert forms.has_form("由东方能源集团运营", "name", question, kind) == 1.0
    assert forms.has_form("东部医疗中心基本建成", "name", question, kind) == forms.OTHER_UNIT
    assert forms.asked_kind("新闻是哪家报纸发的？") == ("报",)
    assert forms.asked_kind("签约的电商平台是哪家？") == ()  # any organisation will do


def test_what_a_quoted_term_stands_for_must_be_said_not_just_named():
    question = "“四个一批”具体指什么？"
    assert forms.question_form(question) == "term"
    terms = forms.asked_term(question)
    assert terms == ("四个一批",)
    said = "健全“四个一批”（签约一批、开工一批、投产一批、储备一批）推进机制"
    assert forms.has_form(said, "term", question, terms) == 1.0
    assert forms.has_form("健全“四个一批”推进机制", "term", question, terms) == 0.0
    # an enumeration just before the term says it too
    assert forms.elaborates("实施数字化转型和融合发展双轮驱动", "双轮驱动")
    # … in the same clause: not one that ends at a comma before it
    assert not forms.elaborates("组织振兴与产业振兴两头，在打造齐鲁样板中凸显特色", "齐鲁样板")
    assert forms.elaborates("打造“双招双引”，即招商引资、招才引智", "双招双引")
    # a one-character quote (哪几个“有”) is no term: an enumeration answers it
    assert forms.question_form("要实现哪几个“有”？") == "list"


def test_a_share_may_be_given_in_percentage_points():
    share = forms.asked_unit("超出进度多少个百分点？")
    assert share == ("%",)
    assert forms.has_form("超时间进度12个百分点", "number", "", share) == 1.0
    assert forms.has_form("完成投资70.8亿元", "number", "", share) == forms.OTHER_UNIT


def test_a_rate_asked_for_by_name_must_be_that_rate():
    units = ("%",)
    assert forms.has_form("文明村镇达标覆盖率达到85%", "number", normalize("覆盖率是多少"), units) == 1.0
    assert forms.has_form("上半年工业产值增长13.2%", "number", normalize("增长率是多少"), units) == 1.0
    # 85% is the coverage rate, not the urbanisation rate
    assert forms.has_form("文明村镇达标覆盖率达到85%", "number", normalize("城镇化率是多少"),
                          units) == forms.OTHER_UNIT
    # an efficiency names no rate of its own: any share may answer it
    assert forms.has_form("审批提速60%以上", "number", normalize("审批效率提高了多少"), units) == 1.0


def test_a_numbered_group_is_no_amount_unless_asked_for():
    question = normalize("拼多多上章丘大葱销量多少？")
    assert forms.has_form("聚力“八大名品”培育", "number", question) == 0.0
    assert forms.has_form("聚力“八大名品”培育", "number", normalize("培育了几大名品？")) == 1.0


def test_a_slogans_hundreds_are_no_count():
    units = forms.asked_unit("一共有多少户？")
    assert forms.has_form("单位联百村、干部带万户", "number", "", units) == 0.0
    assert forms.has_form("走访一万户", "number", "", units) == 1.0


@pytest.mark.parametrize("question, roles", [
    ("章丘在精神文明建设上抓住了什么机遇？", ("契机", "机遇", "机会", "时机")),
    ("培育企业以什么为抓手？", ("抓手",)),
    ("民生工作以啥为重点？", ("重点",)),
])
def test_what_serves_as_an_occasion_or_a_lever_is_a_role(question, roles):
    assert forms.question_form(question) == "role"
    assert forms.asked_units(question, "role") == roles


def test_a_role_is_answered_by_what_is_said_to_serve_as_it():
    q = normalize("章丘在精神文明建设上抓住了什么机遇？")
    units = forms.asked_units(q, "role")
    assert forms.has_form("以创建文明城市、打造全国新时代文明实践中心试点为契机", "role", q, units) == 1.0
    assert forms.has_form("抢抓黄河流域生态保护的重大机遇", "role", q, units) == 1.0
    # another role (以…为抓手) or none said: no evidence either way, as for "other"
    assert forms.has_form("以培育“十百千”企业为抓手", "role", q, units) == 0.5
    assert forms.has_form("建成18个镇街新时代文明实践所", "role", q, units) == 0.5
    # 以…为 across a sentence end is no role
    assert forms.has_form("以上是总结。为契机做准备", "role", q, units) == 0.5
    # 有哪些机遇 still asks for a list; 机遇 described (有什么机遇) is a role
    assert forms.question_form("章丘有哪些机遇？") == "list"
    assert forms.question_form("章丘有什么机遇？") == "role"


@pytest.mark.parametrize("question, named_right, named_wrong", [
    ("What was Zhangqiu's total fiscal revenue in 2020?", "税收收入10亿元", "总投资1.39亿元"),
    ("How much was invested in key projects?", "完成投资70.8亿元", "完成工业产值544.41亿元"),
    ("What was the industrial output value in the first half?", "完成工业产值544.41亿元",
     "总投资1.39亿元"),
])
def test_an_english_question_for_a_named_sum_needs_that_sum(question, named_right, named_wrong):
    qn = normalize(question)
    units = forms.asked_units(question, "number")
    assert units == ("元",)
    assert forms.has_form(named_right, "number", qn, units) == 1.0
    assert forms.has_form(named_wrong, "number", qn, units) == forms.OTHER_UNIT
    # a cost names no sum of its own: any sum in 元 answers it
    cost = normalize("How much did the new hall cost?")
    assert forms.has_form("总投资1.39亿元", "number", cost, forms.asked_units(cost, "number")) == 1.0


def test_an_english_question_for_the_gdp_or_its_growth_needs_the_gdp():
    for question in ("What was the GDP of Zhangqiu?", "What is the GDP growth rate?"):
        qn = normalize(question)
        assert forms.question_form(question) == "number"
        units = forms.asked_units(question, "number")
        assert forms.has_form("上半年完成工业产值544.41亿元，增长13.2%", "number", qn, units) == (
            forms.OTHER_UNIT)
        assert forms.has_form("地区生产总值增长6%，达到1000亿元", "number", qn, units) == 1.0
    # the growth of what it names: industrial output's 13.2%
    qn = normalize("What is the growth rate of industrial output?")
    units = forms.asked_units(qn, "number")
    assert forms.has_form("上半年完成工业产值544.41亿元，增长13.2%", "number", qn, units) == 1.0


@pytest.mark.parametrize("question, kinds", [
    ("Which e-commerce platform did Zhangqiu sign a deal with?", ("电商", "电子商务")),
    ("Which company built the plant?", ("公司", "集团", "企业")),
    ("Which hospitals were completed?", ("医院", "中心")),
    ("What is the name of the online platform?", ("平台", "网")),
    ("Which road opened?", ()),
])
def test_an_english_question_names_the_kind_of_organisation_it_asks_for(question, kinds):
    assert forms.asked_kind(question) == kinds


def test_an_e_commerce_firm_is_an_organisation_of_that_kind():
    q = normalize("Which e-commerce platform did Zhangqiu sign a deal with?")
    units = forms.asked_units(q, forms.question_form(q))
    assert forms.has_form("上线中国大葱网，签约拼多多电商", "name", q, units) == 1.0
    # a platform, but not an e-commerce one
    assert forms.has_form("联合中国物媒平台，打造线上名优特产品商城", "name", q, units) == forms.OTHER_UNIT


def test_a_count_inside_a_quoted_name_is_no_amount_unless_asked_for():
    span = "发挥重大项目专班作用，健全“四个一批”推进机制"
    q = normalize("签约了多少个项目？")
    assert forms.has_form(span, "number", q, forms.asked_units(q, "number")) == 0.0
    # asked for with the rest of the name, the number is the answer
    q = normalize("健全了几个一批推进机制？")
    assert forms.has_form(span, "number", q, forms.asked_units(q, "number")) == 1.0
    q = normalize("章丘聚力培育的名品一共有几大？")
    assert forms.has_form("聚力“八大名品”培育", "number", q, forms.asked_units(q, "number")) == 1.0


def test_a_person_is_found_by_name_without_a_role_word():
    # an article about anyone: jieba's tagger reads the name, or a foreign name has its ·
    q = normalize("这部小说的作者是谁？")
    assert forms.has_form("这部小说的作者是曹雪芹", "person", q) == 1.0
    assert forms.has_form("该属由古生物学家何塞·波拿巴于1985年命名", "person",
                          normalize("该属由谁命名？")) == 1.0
    assert forms.has_form("全区签约项目36个，总投资364亿元", "person", q) == 0.0
    # the person the question already names is no answer
    assert forms.has_form("曹雪芹写了这部小说", "person", normalize("曹雪芹是谁？")) == 0.0


def test_a_place_is_found_by_name_when_the_question_names_no_kind_of_place():
    q = normalize("他在哪里出生？")
    assert forms.asked_place(q) == ()
    assert forms.has_form("他出生于济南", "place", q) == 1.0  # jieba's tagger: 济南 ns
    assert forms.has_form("他出生于一个工人家庭", "place", q) == 0.0
    assert forms.has_form("济南的冬天", "place", normalize("济南在哪里？")) == 0.0


def test_a_title_in_book_quotes_is_a_name():
    q = normalize("他的第一部小说叫什么名字？")
    assert forms.question_form(q) == "name"
    assert forms.has_form("他的第一部小说《呐喊》于1923年出版", "name", q) == 1.0


def test_a_date_may_be_a_century_or_a_year_before_the_era():
    q = normalize("这座城是什么时候建立的？")
    assert forms.has_form("这座城始建于公元前221年", "date", q) == 1.0
    assert forms.has_form("这座城始建于13世纪", "date", q) == 1.0
    assert forms.has_form("这座城始建于十三世纪", "date", q) == 1.0
    assert forms.has_form("这座城建了3年", "date", q) == 0.0  # a duration is no date
