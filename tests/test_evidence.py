"""The signs that a report cannot answer (qa/answer/evidence.py), on made-up text."""

from __future__ import annotations

from qa.answer import evidence
from qa.text.normalize import normalize
from qa.text.tokens import raw_words


def test_a_year_the_paragraph_lacks_is_missing_and_a_part_of_a_number_is_not_found():
    numbers = evidence.question_numbers(normalize("2021年签约了多少个项目？"))
    assert numbers == ["2021"]
    assert evidence.missing_numbers(numbers, "2020年签约项目36个") == 1.0
    assert evidence.missing_numbers(numbers, "2021年签约项目36个") == 0.0
    # 8 inside 70.8 or 2018 is not the 8 asked about
    assert evidence.missing_numbers(["8"], "完成投资70.8亿元，2018年") == 1.0


def test_a_day_named_relative_to_the_asker_must_be_in_the_paragraph():
    numbers = evidence.question_numbers(normalize("明天会下雨吗？"))
    assert numbers == ["明天"]
    assert evidence.missing_numbers(numbers, "打好蓝天保卫战，空气质量持续改善") == 1.0
    assert evidence.missing_numbers(numbers, "气象台预报明天有小雨") == 0.0
    assert evidence.question_numbers(normalize("明年要建多少个项目？")) == ["明年"]
    # 今年 and 去年 are often what a report itself says about its own year: no sign
    assert evidence.question_numbers(normalize("今年签约了多少个项目？")) == []


def test_named_terms_are_places_and_latin_names():
    qn = normalize("历城区的GDP是多少？")
    assert set(evidence.named_terms(qn, raw_words(qn))) == {"历城区", "gdp"}
    # in an English question Latin words are just words
    assert evidence.named_terms("what is the gdp?", raw_words("what is the gdp?")) == []


def test_focus_word_is_the_thing_asked_about():
    assert evidence.focus_word(raw_words("东部医疗中心有多少张床位？")) == "床位"
    assert evidence.focus_word(raw_words("章丘区的总人口是多少？")) == "总人口"


def test_a_figure_for_another_part_of_the_year_does_not_answer():
    whole = normalize("章丘区2020年全年的工业产值是多少？")
    assert evidence.periods(whole) == {"year"}
    assert evidence.other_period(whole, normalize("上半年完成工业产值544.41亿元"))
    assert evidence.other_period(normalize("What was the output in the second half of 2020?"),
                                 normalize("1-6月完成工业产值544.41亿元"))
    assert evidence.periods(normalize("前三季度增长8%")) == {"q1to3"}
    # the asked part named (among others), or none named by either side: no sign
    assert not evidence.other_period(normalize("上半年工业产值是多少？"),
                                     normalize("上半年完成工业产值544亿元，全年预计千亿"))
    assert not evidence.other_period(whole, normalize("完成工业产值1000亿元"))
    assert not evidence.other_period(normalize("工业产值是多少？"), normalize("上半年完成544亿元"))
    assert evidence.periods(normalize("11-6月")) == set()  # not 1-6月
    # 1-6月 is the first half, not the numbers 1 and 6 to be found in the paragraph
    assert evidence.question_numbers(normalize("2020年1-6月工业产值多少？")) == ["2020"]
    assert not evidence.other_period(normalize("2020年1-6月工业产值多少？"),
                                     normalize("上半年完成工业产值544.41亿元"))


def test_a_part_of_the_year_asked_about_must_be_named_in_the_paragraph():
    q1 = normalize("2020年第一季度签约了多少个项目？")
    # the paragraph names no part of the year: its figure is for the whole year
    assert evidence.other_period(q1, normalize("签约项目36个"), normalize("招商引资成效明显，签约项目36个。"))
    assert not evidence.other_period(q1, normalize("签约项目36个"),
                                     normalize("一季度开局良好。招商引资成效明显，签约项目36个。"))
    # 全年 asked of a paragraph that names no part: no sign
    assert not evidence.other_period(normalize("全年签约了多少个项目？"), normalize("签约项目36个"),
                                     normalize("招商引资成效明显，签约项目36个。"))
