"""Property-based tests (hypothesis): for ANY Unicode string, ask() either refuses it as a
bad question — exactly when it is empty, too long or holds a lone surrogate — or returns
an answer object that satisfies every rule of docs/CONTRACT.md, including
source[start:end] == text for every citation. And for any text a report may hold, the
paragraphs it is cut into slice that text exactly."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from robustfixtures import SEED_FILE, check_contract

from qa import BadQuestion
from qa.text.documents import MAX_PARAGRAPH_CHARS, Report, clauses, paragraphs, sentences

SEED = SEED_FILE.read_bytes().decode("utf-8")
LIMIT = 500

# Strings a user might type or paste: from anywhere in Unicode (surrogates included),
# from the report's own characters, pieces of the report, and mixtures of these.
any_char = st.characters(codec=None, exclude_categories=())
report_char = st.sampled_from(sorted(set(SEED)))
report_piece = st.builds(lambda a, n: SEED[a:a + n], st.integers(0, len(SEED) - 1),
                         st.integers(1, 80))
questions = st.one_of(
    st.text(any_char, max_size=40),
    st.text(report_char, max_size=60),
    report_piece,
    st.lists(st.one_of(report_piece, st.text(any_char, max_size=8)), max_size=5).map("".join),
    st.text(any_char, min_size=LIMIT - 5, max_size=LIMIT + 40),
    st.sampled_from(["", " ", "\u3000", "？", "签约了多少个项目？", "\ud800", "a\x00b"]),
)


def _is_bad(question: str) -> bool:
    q = question.strip()
    return not q or len(q) > LIMIT or any(0xD800 <= ord(c) <= 0xDFFF for c in q)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(question=questions, top_k=st.integers(1, 10))
def test_ask_satisfies_the_contract_for_any_string(assistant, question: str, top_k: int) -> None:
    if _is_bad(question):
        with pytest.raises(BadQuestion):
            assistant.ask(question, top_k=top_k)
        return
    answer = assistant.ask(question, top_k=top_k).to_dict()
    check_contract(answer, assistant.source_text, top_k=top_k, question=question)
    check_contract(answer, top_k=top_k)  # against the file on disk, decoded per the contract


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(top_k=st.one_of(st.integers(max_value=0), st.integers(min_value=11), st.booleans(),
                       st.floats(), st.text(max_size=3), st.none()))
def test_ask_refuses_any_bad_top_k(assistant, top_k: object) -> None:
    with pytest.raises(BadQuestion):
        assistant.ask("签约了多少个项目？", top_k=top_k)  # type: ignore[arg-type]


# What a report file may hold once decoded: report text cut and re-joined with any line
# ending, blank lines, spaces, a BOM, headings, and arbitrary characters.
line_end = st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n", "\n \n", "\u3000\n"])
report_texts = st.lists(
    st.one_of(report_piece, st.text(st.characters(codec=None, exclude_categories=("Cs",)),
                                    max_size=30),
              st.sampled_from(["# 标题", "一、总体情况", "。", "……", "\ufeff", "   "])),
    min_size=1, max_size=12,
).flatmap(lambda parts: st.lists(line_end, min_size=len(parts), max_size=len(parts)).map(
    lambda ends: "".join(p + e for p, e in zip(parts, ends))))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=st.one_of(report_texts, st.builds(lambda b, t: b + t, st.sampled_from(["", "\ufeff"]),
                                              report_texts)))
def test_paragraph_sentence_and_clause_offsets_slice_any_text(text: str) -> None:
    report = Report("r.txt", text, "utf-8")
    previous_end = 0
    for chunk in paragraphs(report):
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip(" \t\r\n\u3000\ufeff\u00a0")
        assert chunk.start >= previous_end, "paragraphs do not overlap"
        previous_end = chunk.end
        assert chunk.end - chunk.start <= MAX_PARAGRAPH_CHARS
        for sent in sentences(chunk):
            assert chunk.start <= sent.start < sent.end <= chunk.end
            for clause in clauses(text[sent.start:sent.end], sent.start):
                assert sent.start <= clause.start < clause.end <= sent.end
