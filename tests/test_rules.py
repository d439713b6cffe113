"""Rules of the offline backend, each on an example written for it (input -> expected records)."""

import pytest

from extractor.backends.rules import extract_chunk
from extractor.chunk import Chunk

CONTEXT = {"report_id": "r", "title": "2024年云溪县政府工作报告", "region": "云溪县", "report_type": "work_report",
           "review_period": "2023", "plan_year": 2024}


def targets(text: str, part: str = "plan"):
    chunk = Chunk("r", 0, 0, len(text), text, "", part, CONTEXT)
    return [(t.indicator_code if t.indicator_code != "other" else t.indicator, t.measure, t.value, t.unit,
             t.comparator, t.status, t.headline) for t in extract_chunk(chunk).targets]


@pytest.mark.parametrize("text", [
    "深刻领悟“两个确立”的决定性意义,增强“四个意识”、坚定“四个自信”。",
    "加快“三个示范园”建设,推行“一件事”集成改革,落实中央八项规定精神。",
])
def test_set_phrases_with_numerals_are_never_targets(text):
    assert targets(text) == []


def test_a_main_target_list_of_numbered_lines():
    text = ("全县主要预期目标为:\n1.地区生产总值增长7%左右;\n2.规模工业增加值增长8%;\n3.固定资产投资总额增长6%;\n"
            "4.社会消费品零售总额增长9%;\n5.一般公共预算收入增长5%。\n围绕以上目标,重点抓好五项工作。")
    found = targets(text)
    assert [t[:3] for t in found] == [("gdp", "growth", 7), ("industrial_value_added", "growth", 8),
                                      ("fixed_asset_investment", "growth", 6), ("retail_sales", "growth", 9),
                                      ("fiscal_revenue", "growth", 5)]
    assert all(t[6] for t in found)  # headline


def test_a_target_summary_without_an_opener_is_the_headline_passage():
    text = "综合研判,今年全县地区生产总值增长6.5%左右,固定资产投资增长8%,社会消费品零售总额增长7%,一般公共预算收入增长5%。"
    assert all(t[6] for t in targets(text)) and len(targets(text)) == 4


def test_paired_levels_and_growths_give_each_indicator_both():
    text = "城乡居民人均可支配收入分别达到41200元、20300元,分别增长5.1%、7.2%。"
    assert sorted(t[:4] for t in targets(text, "review")) == [
        ("rural_income", "growth", 7.2, "%"), ("rural_income", "level", 20300, "元"),
        ("urban_income", "growth", 5.1, "%"), ("urban_income", "level", 41200, "元")]


def test_a_subject_in_the_previous_clause_reaches_a_paired_list():
    text = "城乡居民人均可支配收入增速快于经济增长,分别增长5.6%、8.1%。"
    assert sorted(t[:3] for t in targets(text, "review")) == [("rural_income", "growth", 8.1),
                                                                  ("urban_income", "growth", 5.6)]


def test_estimates_comparable_growth_and_exports():
    text = "预计一般公共预算收入达12.5亿元,同口径增长6%;其中出口超40亿元,增长9%左右。"
    found = [t[:6] for t in targets(text, "review")]
    assert ("fiscal_revenue", "growth", 6, "%", "equal", "estimated") in found
    assert ("exports", "growth", 9, "%", "about", "estimated") in found


def test_a_value_after_a_rank_phrase_is_kept_but_a_rank_is_not_a_value():
    found = targets("全县生产总值完成210亿元、居全市第2位,增长6.1%。", "review")
    assert ("gdp", "growth", 6.1, "%", "equal", "achieved", False) in found
    assert targets("支持骨干企业进入全国行业前10名。") == []


def test_counts_of_names_just_listed_and_of_policy_articles_are_not_targets():
    assert targets("提升云溪茶叶、山地蔬菜2个区域公用品牌。") == []
    assert targets("落实人才新政23条。") == []


@pytest.mark.parametrize("text, value, unit", [("粮食总产稳定在9.6亿斤以上。", 9.6, "亿斤"),
                                               ("外贸进出口总额突破1.2万亿元。", 1.2, "万亿元")])
def test_units_of_grain_and_large_money(text, value, unit):
    assert any(t[2] == value and t[3] == unit for t in targets(text))


def records(text: str, part: str = "plan"):
    return extract_chunk(Chunk("r", 0, 0, len(text), text, "", part, CONTEXT))


def commitments(text: str):
    return [(c.description, c.quantity, c.unit, c.category) for c in records(text).commitments]


def test_counts_scaled_by_wan_are_values():
    assert commitments("新增幼儿园学位1.2万个,新开工公共租赁住房0.8万套。") == [
        ("新增幼儿园学位", 1.2, "万个", "education"), ("新开工公共租赁住房", 0.8, "万套", "housing")]


def test_a_count_between_a_verb_and_its_object_describes_the_object():
    assert commitments("完成12座乡镇污水处理站提标改造,新建4所公办幼儿园。") == [
        ("乡镇污水处理站提标改造", 12, "座", "utilities"), ("新建公办幼儿园", 4, "所", "education")]
    assert commitments("抓好2024年31个老旧小区改造。") == [("老旧小区改造", 31, "个", "housing")]


@pytest.mark.parametrize("text, category", [
    ("开展职业技能提升培训3000人次。", "employment"),
    ("新建镇村公厕25座。", "utilities"),
    ("城乡最低生活保障标准提高到每月720元。", "social_security"),
    ("开工改造12个老旧小区项目。", "housing"),
    ("生活垃圾转运站新改建8座。", "utilities"),
])
def test_livelihood_pledges_outside_a_list_are_commitments(text, category):
    assert [c[3] for c in commitments(text)] == [category]
    assert records(text).targets == []


@pytest.mark.parametrize("text", ["新增规上工业企业40家。", "城市生活垃圾分类覆盖率达到95%。", "新建5G基站600个。"])
def test_sectoral_goals_stay_targets(text):
    assert commitments(text) == [] and len(records(text).targets) == 1


def test_the_opening_summary_is_headline_but_a_numbered_subsection_is_not():
    summary = "全年完成地区生产总值98.6亿元、增长5.2%;一般公共预算收入完成6.1亿元,增长4.8%。"
    found = targets(summary, "review")
    assert {t[0] for t in found} == {"gdp", "fiscal_revenue"} and all(t[6] for t in found)
    subsection = "(五)民生福祉持续增进。城镇新增就业2.1万人,城乡居民人均可支配收入分别增长5.5%和6.9%。"
    assert not any(t[6] for t in targets(subsection, "review"))


def test_a_count_of_work_areas_is_not_a_target_and_binding_indicators_are_qualitative():
    text = "主要预期目标是:地区生产总值增长6%左右。约束性指标完成省下达的目标任务。重点做好8个方面工作:"
    found = targets(text)
    assert [t[0] for t in found] == ["gdp", "约束性指标"]
    assert found[1][4] == "qualitative" and all(t[6] for t in found)


def projects(text: str, part: str = "plan"):
    return [(p.name, p.status) for p in records(text, part).projects]


def test_items_of_a_list_the_text_calls_projects_are_projects_at_the_stage_verb():
    assert projects("推动碧山机械、三禾磁材等一批项目竣工投产。") == [("碧山机械", "completed"), ("三禾磁材", "completed")]


@pytest.mark.parametrize("text", [
    "深入推进城市更新,加快碳汇、排污权等市场化交易。",  # 城, 场 inside a phrase
    "打造区域中心城市,推动城北、城南组团式发展。",  # 中心 not at the end; districts
    "实施文化惠民工程,强化项目调度,加快补短板项目建设。",  # programmes and the word 项目
    "完成20万亩油菜种植。",  # an area of crops
])
def test_phrases_that_only_contain_a_facility_word_are_not_projects(text):
    assert projects(text) == []


def test_names_keep_their_first_character_and_lose_scale_and_investment_notes():
    assert projects("推动新材料产业园和新能源循环产业园建设。") == [("新材料产业园", "ongoing"), ("新能源循环产业园", "ongoing")]
    assert projects("加快4万亩国家储备林项目、乙二醇项目二期建设。") == [("国家储备林项目", "ongoing"), ("乙二醇项目二期", "ongoing")]
    found = records("开工建设总投资12亿元的云溪大道,推进溪口水厂(总投资3.5亿元)建设。").projects
    assert [(p.name, p.investment, p.investment_unit) for p in found] == [("云溪大道", 12, "亿元"), ("溪口水厂", 3.5, "亿元")]
    assert projects("加快年产5万吨饲料项目建设。") == [("年产5万吨饲料项目", "ongoing")]


def test_each_count_of_a_pair_counts_the_noun_after_it():
    assert commitments("建成18个村级养老服务站和2个区域养老中心并投入使用。") == [
        ("建成村级养老服务站", 18, "个", "elderly_childcare"), ("区域养老中心", 2, "个", "elderly_childcare")]


@pytest.mark.parametrize("text", [
    "围绕主导产业,重点跟踪对接好26个。",  # what is counted went before: a verb ends the phrase
    "谋划一批产业项目和48个。",  # cut at a conjunction
    "落实“稳投资”18条。",  # the articles of a policy
])
def test_phrases_that_do_not_name_what_is_counted_are_not_targets(text):
    assert targets(text) == [] and commitments(text) == []


def test_a_facility_count_is_not_mistaken_for_a_verb():
    assert commitments("新建农村污水处理设施20个。") == [("新建农村污水处理设施", 20, "个", "utilities")]


def test_items_of_a_counted_list_are_named_projects():
    assert projects("加快溪东路、青禾路等6条城市主干道建设。") == [("溪东路", "ongoing"), ("青禾路", "ongoing")]
    assert projects("建设上湾、下湾等安置小区3个。") == [("上湾", "ongoing"), ("下湾", "ongoing")]


def test_roads_sections_and_scenic_areas_are_facilities_but_circuits_and_routes_are_not():
    assert projects("建成207国道过境段,开工建设云溪大道北段。", "review") == [("207国道过境段", "completed"),
                                                                          ("云溪大道北段", "started")]
    assert projects("打造精品旅游线路,推动集成电路产业发展,争取创建国家4A级景区。") == []


def test_adverbs_after_a_name_are_not_part_of_it():
    assert projects("云溪光伏电站项目实质性开工。", "review") == [("云溪光伏电站项目", "started")]


def test_a_name_ends_where_a_deadline_or_a_later_stage_verb_begins():
    assert projects("推动青峰抽水蓄能电站3月底前开工、溪口水库近期建成。") == [("青峰抽水蓄能电站", "started"),
                                                                        ("溪口水库", "completed")]
    found = projects("加快总投资30亿元的云溪电厂二期建设。")
    assert found and found[0][0] == "云溪电厂二期"


@pytest.mark.parametrize("text", [
    "打造全省最大的储能电站集群。", "建成一所专门学校。", "推进以“三高”为重点的交通基础设施项目。",
    "完成县级两家医院的改制。", "加快码头建设。",
])
def test_descriptions_of_a_kind_are_not_named_projects(text):
    assert projects(text) == []


def test_part_year_values_say_their_period():
    found = records("1—9月,地区生产总值增长5.2%;全年固定资产投资增长7%。", "review").targets
    assert [(t.indicator_code, t.qualifier) for t in found] == [("gdp", "1—9月"), ("fixed_asset_investment", None)]


def test_a_counted_livelihood_list_in_running_text_gives_one_commitment_per_item():
    text = ("全力办好8件民生实事,实施城乡供水提质工程、社区嵌入式养老提速工程;推动农村学校“营养午餐”全覆盖,"
            "每个乡镇建设1所公办托育机构;完成免费送戏下乡演出等重点工作。")
    found = [(c.description, c.quantity, c.listed) for c in records(text).commitments]
    assert found == [("城乡供水提质工程", None, True), ("社区嵌入式养老提速工程", None, True),
                     ("农村学校“营养午餐”全覆盖", None, True), ("每个乡镇建设1所公办托育机构", 1, True),
                     ("免费送戏下乡演出", None, True)]
    prose = "办好民生实事,采取更多惠民生、暖民心举措,解决好群众关心的就业、教育、住房等现实问题。"
    assert not any(c.listed for c in records(prose).commitments)


def test_a_condition_or_a_rank_aside_keeps_the_subject_of_a_growth():
    found = targets("一般公共预算收入完成21.6亿元,总量跃居全省第3位,扣除留抵退税因素后增长8.2%。", "review")
    assert [(t[0], t[1], t[2]) for t in found] == [("fiscal_revenue", "level", 21.6), ("fiscal_revenue", "growth", 8.2)]


def test_a_sum_that_qualifies_a_count_is_part_of_the_indicator():
    found = targets("全县引进5亿元以上项目6个、10亿元以上项目2个。")
    assert [(t[0], t[2], t[3]) for t in found] == [("引进5亿元以上项目", 6, "个"), ("10亿元以上项目", 2, "个")]


@pytest.mark.parametrize("text", [
    "加快湿地公园、森林公园建设。", "新建公办幼儿园,完善供水管网。", "推进各县县城生态修复。",
    "市人民医院入选省级重点专科医院。",
])
def test_kinds_of_facility_are_not_named_projects(text):
    assert projects(text) == []


def test_a_named_facility_of_a_kind_is_a_project():
    assert projects("加快青湾湿地公园、溪口公办幼儿园建设。") == [("青湾湿地公园", "ongoing"), ("溪口公办幼儿园", "ongoing")]


def test_short_place_names_share_the_full_name_that_ends_their_list():
    assert projects("建成上湾、下溪垃圾中转站。", "review") == [("上湾垃圾中转站", "completed"),
                                                        ("下溪垃圾中转站", "completed")]


@pytest.mark.parametrize("text, status", [("云溪农贸市场投入运营。", "completed"), ("启用云溪大剧院。", "completed"),
                                          ("新修青禾路、规划路。", "completed")])
def test_verbs_of_opening_and_building_in_the_review(text, status):
    assert [p[1] for p in projects(text, "review")] and all(p[1] == status for p in projects(text, "review"))


def test_a_condition_inside_the_indicator_clause_is_not_part_of_the_indicator():
    assert targets("一般公共预算收入扣除留抵退税因素后增长6.3%。", "review")[0][:3] == ("fiscal_revenue", "growth", 6.3)


def test_a_share_of_the_province_is_not_the_indicator():
    found = targets("一是经济总量小。地区生产总值总量仅占全省的1.2%,规上工业增加值仅占全省的0.8%。", "review")
    assert found == []


@pytest.mark.parametrize("text", ["建设开放式、体验式矿山博物馆。", "打造走得进、待得住的美丽街区。",
                                  "鼓励和吸引民间资本参与补短板项目建设。"])
def test_adjectives_and_verbs_before_a_name_do_not_share_it(text):
    assert not any(name.startswith(("开放式", "走得进", "鼓励")) for name, _ in projects(text))
