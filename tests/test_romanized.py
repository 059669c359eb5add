"""Pinyin names in English questions (qa/romanized.py), on made-up text and on the
bundled report through the assistant."""

from __future__ import annotations

from qa.romanized import RomanizedCorpus, romanized_names, splits


def test_a_name_splits_into_syllables_and_an_english_word_mostly_does_not():
    assert ["zhang", "qiu"] in splits("zhangqiu")
    assert splits("district") == []


def test_romanized_names_are_capitalised_pinyin_words_of_two_syllables_or_more():
    question = "How many buses did Licheng district buy in June, says Xi Jinping?"
    # June and China read as pinyin but are English; Xi is too short to tell
    assert romanized_names(question) == ["licheng", "jinping"]
    assert romanized_names("Which firms in China moved?") == []
    assert romanized_names("Zhangqiu is a district.") == []  # starts the sentence


def test_a_name_is_mentioned_when_its_syllables_occur_in_a_row():
    corpus = RomanizedCorpus(["习近平总书记视察三涧溪村。", "历下区新建学校。"])
    assert corpus.mentions("sanjianxi")  # 三涧溪, across jieba's words
    assert corpus.mentions("lixia")
    assert not corpus.mentions("licheng")
    # only within one run of Chinese characters: 溪。历 are not a name
    assert not corpus.mentions("xili")


def test_an_english_question_naming_a_place_the_report_lacks_counts_against_it(assistant):
    _, absent = assistant.ask_explained("How many buses did Licheng district buy in 2020?")
    _, present = assistant.ask_explained("How many buses did Zhangqiu district buy in 2020?")
    assert absent["missing_name"] == 1.0 and present["missing_name"] == 0.0
    assert absent["cjk"] == 0.0
