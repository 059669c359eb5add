"""Pinyin names in English questions (qa/text/romanized.py), on made-up text and on the
bundled report through the assistant."""

from __future__ import annotations

from qa.text.romanized import RomanizedCorpus, romanized_names, syllable_counts


def test_a_name_splits_into_syllables_and_an_english_word_mostly_does_not():
    assert 2 in syllable_counts("zhangqiu")  # zhang qiu (and zha ng qiu)
    assert syllable_counts("district") == set()


def test_a_word_with_very_many_splittings_is_checked_at_once():
    # "anan…" splits into syllables in tens of thousands of ways; counting them one by one
    # made a 500-character question cost seconds
    word = "an" * 10
    assert syllable_counts(word) == set()  # more than five syllables: no name
    corpus = RomanizedCorpus(["安安安安安"])
    question = "What about " + " ".join(["Anananananananananan"] * 20) + "?"
    assert romanized_names(question) == []
    assert corpus.mentions("anan") and not corpus.mentions(word)


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
    absent = assistant.ask_traced("How many buses did Licheng district buy in 2020?")[1].verdict.features
    present = assistant.ask_traced("How many buses did Zhangqiu district buy in 2020?")[1].verdict.features
    assert absent["missing_name"] == 1.0 and present["missing_name"] == 0.0
    assert absent["cjk"] == 0.0
