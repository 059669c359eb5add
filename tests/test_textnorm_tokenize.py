"""Normalisation (matching only, length-preserving) and the one tokenizer."""

from __future__ import annotations

import string
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qa.text.tokens as tokenize_module
from qa.text.normalize import has_cjk, is_cjk, normalize
from qa.text.tokens import STOPWORDS, person_names, place_names, raw_words, tokenize

# ---------------------------------------------------------------- normalisation


def test_traditional_to_simplified():
    assert normalize("簽約了多少個項目") == "签约了多少个项目"
    assert normalize("章丘區2020年的工業產值") == "章丘区2020年的工业产值"
    assert normalize("鄉村振興") == "乡村振兴"
    # simplified text and CJK punctuation outside the full-width ASCII block are left alone
    assert normalize("签约项目36个、总投资364.2亿元。“两面大旗”") == \
        "签约项目36个、总投资364.2亿元。“两面大旗”"
    assert normalize("，：；") == ",:;"  # full-width ASCII punctuation becomes half-width


def test_full_width_to_half_width_and_case():
    assert normalize("ＧＤＰ增长１３．２％") == "gdp增长13.2%"
    assert normalize("签约了多少个项目？") == "签约了多少个项目?"
    assert normalize("Ａ　Ｂ") == "a b"  # ideographic space → space
    assert normalize("GDP Python ΣΑΣ") == "gdp python σασ"
    assert normalize("（一）") == "(一)"


def test_every_code_point_maps_to_exactly_one_character():
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    assert len(normalize(every)) == len(every)


def test_length_preserved_where_lower_would_grow():
    for s in ("İstanbul", "ǅ", "ﬁ", "ß", "ŉ"):
        assert len(normalize(s)) == len(s)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60),
       st.data())
def test_normalize_is_length_preserving_and_character_wise(text, data):
    norm = normalize(text)
    assert len(norm) == len(text)
    # character by character, so any offset found in the normalised text is valid in the
    # original and every slice normalises to the slice of the normalised text
    if text:
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, len(text)))
        assert normalize(text[i:j]) == norm[i:j]


def test_cjk_helpers():
    assert is_cjk("章") and not is_cjk("a") and not is_cjk("，")
    assert has_cjk("GDP是多少") and not has_cjk("What is GDP?")


# ---------------------------------------------------------------- tokenisation


@pytest.mark.parametrize("text, expected", [
    ("上半年完成工业产值544.41亿元，增长13.2%。", ["544.41", "544.41亿元", "13.2%"]),
    ("实现实际利用外资5400万美元。", ["5400", "5400万美元"]),
    ("签约项目36个，总投资364.2亿元", ["36", "36个", "364.2", "364.2亿元"]),
    ("５４００万美元", ["5400", "5400万美元"]),
])
def test_numbers_survive_tokenisation(text, expected):
    tokens = tokenize(text)
    for t in expected:
        assert t in tokens
    # no number is split at its decimal point or loses its percent sign
    for bad in ("544", "41", "13", "2", "13.2"):
        assert bad not in tokens or bad in expected


def test_number_tokens_are_whole_tokens_not_fragments():
    assert tokenize("13.2%") == ["13.2%"]
    assert tokenize("544.41") == ["544.41"]
    assert tokenize("增长１３．２％") == tokenize("增长13.2%")


def test_traditional_and_full_width_questions_tokenise_like_simplified():
    assert tokenize("簽約了多少個項目？") == tokenize("签约了多少个项目？")
    assert tokenize("ＧＤＰ") == tokenize("gdp") == ["gdp"]


def test_question_words_and_particles_are_dropped():
    words = tokenize("签约了多少个项目？", char_ngram=0)
    assert "签约" in words and "项目" in words
    assert not {"了", "多少", "？", "?"} & set(words)
    assert all(w not in STOPWORDS for w in words)
    # raw_words keeps them, for reading the question's form
    assert "多少" in raw_words("签约了多少个项目？")


def test_character_unigrams_are_marked_and_optional():
    with_chars = tokenize("乡村振兴")
    words = tokenize("乡村振兴", char_ngram=0)
    assert not any(t.startswith("·") for t in words)
    assert {"·乡", "·村", "·振", "·兴"} <= set(with_chars)
    assert set(words) <= set(with_chars)
    # weak characters (particles) are not added as unigrams
    assert "·的" not in tokenize("经济的基础")


def test_tokenize_handles_empty_punctuation_and_latin():
    assert tokenize("") == []
    assert tokenize("？！。，、 \n\t") == []
    assert tokenize("What is the GDP of Zhangqiu?") == ["gdp", "zhangqiu"]
    assert all(t == t.lower() for t in tokenize("ABC Def 章丘"))


def test_tokenize_never_emits_whitespace_or_punctuation_tokens():
    text = "扛起“两面大旗” 助力全面小康——（攻集群、攻平台）！\r\n《报告》"
    for t in tokenize(text):
        core = t.lstrip("·")
        assert core and not any(c in string.whitespace for c in core)
        assert not any(c in "“”—（）！、《》" for c in core)


def test_person_names_are_what_the_tagger_reads_as_names():
    assert person_names("齐鲁晚报·齐鲁壹点记者 支倩倩")[-1] == "支倩倩"  # a name jieba never saw
    assert person_names("通讯员 孟凡庚 郭广猛") == ["孟凡庚", "郭广猛"]
    assert person_names("找记者 上壹点") == []
    assert person_names("党组织书记") == []
    # the tagger keeps its dictionary's tags of people and places only, not 300,000 words'
    tags = tokenize_module._name_tagger().word_tag_tab
    assert tags and all(t.startswith(("nr", "ns")) for t in tags.values())
    assert len(tags) < 100_000
    assert "济南" in place_names("他出生于济南") and place_names("他出生于济南")[0] == "济南"
    assert person_names("他出生于济南") == []


def test_a_run_of_chinese_is_cut_once_and_tokens_do_not_change(monkeypatch):
    """jieba cuts each distinct run once (a paragraph's sentences are tokenised again for
    the sentence index); the tokens are those of a fresh cut."""
    text = "全年签约项目36个，总投资364.2亿元。全年签约项目36个，落地见效。"
    tokenize_module._words.cache_clear()
    tokenize_module._unit.cache_clear()
    fresh = tokenize(text)
    cuts: list[tuple[str, bool]] = []
    jb = tokenize_module._tokenizer()
    real = jb.cut

    def counting(sentence, *args, **kwargs):  # type: ignore[no-untyped-def]
        cuts.append((sentence, kwargs.get("HMM", True)))
        return real(sentence, *args, **kwargs)

    monkeypatch.setattr(jb, "cut", counting)
    tokenize_module._words.cache_clear()
    tokenize_module._unit.cache_clear()
    assert tokenize(text) == fresh
    assert len(cuts) == len(set(cuts))  # 全年签约项目 once, 个 once as a unit and once as words
    assert ("全年签约项目", True) in cuts and ("个", False) in cuts
    assert tokenize(text[:text.index("。") + 1]) == tokenize("全年签约项目36个，总投资364.2亿元。")
    assert tokenize(text) == fresh and len(cuts) == len(set(cuts))  # nothing cut again
    assert "36个" in fresh and "364.2亿元" in fresh
