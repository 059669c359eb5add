"""A place name one same-sounding character away from a word of the reports is that word
mistyped (qa/text/homophones.py); the confidence model then does not count it as unknown."""

from __future__ import annotations

from qa.text.homophones import Homophones, sounds_alike

WORDS = ["章丘", "三涧溪", "历下", "拼多多", "签约", "·章", "GDP"]


def test_one_character_of_the_same_sound_is_a_typo():
    h = Homophones(WORDS)
    assert h.misspells("章秋") == "章丘"  # qiu for qiu
    assert h.misspells("张丘") == "章丘"  # zhang for zhang
    assert h.misspells("三间溪") == "三涧溪"  # jian for jian, inside a longer name
    assert h.misspells("力下") == "历下"  # li for li, whatever the tones


def test_another_sound_or_two_wrong_characters_is_another_name():
    h = Homophones(WORDS)
    assert h.misspells("章山") == ""  # shan is no qiu
    assert h.misspells("张秋") == ""  # two characters swapped: another place
    assert h.misspells("章丘") == ""  # the word itself is no typo of anything
    assert h.misspells("章") == ""  # a single character has too many homophones
    assert h.misspells("历城") == ""


def test_any_reading_of_a_character_counts():
    assert sounds_alike("乐", "月")  # 乐 reads le and yue
    assert sounds_alike("乐", "勒")
    assert not sounds_alike("章", "丘")
    assert not sounds_alike("女", "努")  # nü is no nu
    assert sounds_alike("绿", "率")  # 率 also reads lü


def test_the_readings_come_from_pypinyin_itself_when_its_table_file_is_gone(monkeypatch):
    import qa.text.homophones as homophones

    real = homophones._reading_table()
    monkeypatch.setattr(homophones.Path, "read_text",
                        lambda *a, **k: (_ for _ in ()).throw(FileNotFoundError("moved")))
    homophones._reading_table.cache_clear()
    homophones._readings.cache_clear()
    try:
        assert homophones._reading_table() == real
        assert Homophones(WORDS).misspells("章秋") == "章丘"
    finally:
        homophones._reading_table.cache_clear()
        homophones._readings.cache_clear()
