"""PDF, Word and HTML reports: real files written by the tests (tests/formatfixtures.py) and
one PDF printed by Chromium (tests/data/formats/), converted into a canonical text whose
offsets, paragraphs and pages hold; broken and hostile files refused with the file named."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from formatfixtures import (
    DOCX_TITLE,
    HTML_BOILERPLATE,
    HTML_CODE,
    PDF_HEADER,
    PDF_URL,
    write_docx,
    write_encrypted_pdf,
    write_html,
    write_pdf,
    write_scanned_pdf,
    write_zip_bomb_docx,
)

from qa.errors import SourceError
from qa.text.documents import list_reports, paragraphs, read_report
from qa.text.normalize import is_cjk, normalize
from qa.text.radicals import fold_radicals, radical_table
from qa.text.readers import Limits, convert, detect_format, locate
from qa.text.readers.pdflayout import is_noise

CHROMIUM_PDF = Path(__file__).parent / "data" / "formats" / "qingshi-chromium.pdf"


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("pdf") / "qingshi-2024.pdf")


def _paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


# ---------------------------------------------------------------- PDF


def test_pdf_text_in_order_with_broken_lines_joined(pdf: Path) -> None:
    report = read_report(pdf)
    paras = _paragraphs(report.text)
    assert report.encoding == "pdf" and report.converted is not None
    assert paras[0] == "一、过去一年的工作回顾"
    assert paras[1].endswith("全年粮⻝播种面积达到4.2万亩，⻘⽯县粮⻝总产量达到9.6万吨，比上年增长3.5%。")
    assert paras[2].startswith("⼯业经济稳步回升。") and paras[2].endswith("企业利润总额增长9.7%。")
    assert paras[3:] == ["二、2024年主要目标任务",
                         "地区生产总值增长6%左右，一般公共预算收入增长5%，新建高标准农田3.5万亩。",
                         "三、保障措施",
                         "坚持把招商引资作为一号工程，全年引进亿元以上项目20个，到位资金45亿元。"]
    assert all("\n" not in p for p in paras)  # every line break inside a paragraph joined


def test_pdf_number_split_across_lines_comes_out_whole(pdf: Path) -> None:
    import pypdf

    raw = pypdf.PdfReader(pdf).pages[0].extract_text()
    assert re.search(r"4\.\n2万亩", raw)  # the file itself breaks the line inside 4.2
    assert "4.2万亩" in read_report(pdf).text


def test_pdf_running_headers_urls_dates_and_page_numbers_dropped(pdf: Path) -> None:
    text = read_report(pdf).text
    for noise in (PDF_HEADER, PDF_URL, "qingshi.gov.cn", "2024/03/15", "09:30", "- 1 -", "- 3 -"):
        assert noise not in text


def test_pdf_pages_of_paragraphs(pdf: Path) -> None:
    report = read_report(pdf)
    text, converted = report.text, report.converted
    assert converted.pages == 4

    def page(snippet: str, last: bool = False) -> int:
        i = text.index(snippet) + (len(snippet) - 1 if last else 0)
        return locate(converted, i).page

    assert page("一、过去一年的工作回顾") == 1
    assert page("4.2万亩") == 1
    # the long paragraph starts on page 1 and ends on page 2
    assert page("⼯业经济稳步回升") == 1 and page("企业利润总额增长9.7%。", last=True) == 2
    assert page("二、2024年主要目标任务") == 3
    assert page("到位资金45亿元", last=True) == 4
    for piece in converted.pieces:  # pieces tile the paragraphs, never a separator
        assert "\n\n" not in text[piece.start:piece.end] and piece.end > piece.start


def test_pdf_chunks_keep_the_offset_invariant(pdf: Path) -> None:
    report = read_report(pdf)
    chunks = paragraphs(report)
    assert [c.section for c in chunks if c.kind != "heading"][0] == "一、过去一年的工作回顾"
    for chunk in chunks:
        assert report.text[chunk.start:chunk.end] == chunk.text


def test_chromium_pdf_radicals_kept_headers_dropped_pages_right() -> None:
    """A PDF printed by Chromium (tests/data/formats/qingshi-chromium.html): its text layer
    says ⻘⽯县, 粮⻝, ⼯作; its header (date, title) and footer (file URL, 1/2) are dropped."""
    report = read_report(CHROMIUM_PDF)
    text = report.text
    assert _paragraphs(text) == [
        "⼀、⼯作回顾",
        "⻘⽯县全年粮⻝总产量达到4.2万吨，⽐上年增⻓3.5%，粮⻝⽣产⼯作稳定。",
        "⼆、⼯作⽬标",
        "⻘⽯县粮⻝总产量⽬标是4.5万吨，⼯作重点是粮⻝⽣产。",
    ]
    assert normalize(text).count("粮食总产量") == 2 and "青石县粮食总产量目标" in normalize(text)
    assert locate(report.converted, text.index("⼆、⼯作⽬标")).page == 2
    assert locate(report.converted, text.index("⼯作重点")).page == 2  # after a page's line break
    assert report.converted.title == "青石县工作报告"


# ---------------------------------------------------------------- radicals


def test_radicals_fold_one_for_one_to_the_usual_characters() -> None:
    assert normalize("⻘⽯县粮⻝总产量，⼯作⼾") == "青石县粮食总产量,工作户"
    assert fold_radicals("⻘⽯县") == "青石县" and fold_radicals("青石县") == "青石县"
    for code, ch in radical_table().items():
        assert len(ch) == 1 and is_cjk(ch), hex(code)
        assert len(normalize(chr(code))) == 1
    assert 0x2F00 in radical_table() and 0x2FD5 in radical_table()  # the whole Kangxi block


# ---------------------------------------------------------------- Word


@pytest.fixture(scope="module")
def docx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_docx(tmp_path_factory.mktemp("docx") / "gongbao-2023.docx")


def test_docx_headings_become_sections_and_tables_rows(docx_file: Path) -> None:
    report = read_report(docx_file)
    assert report.encoding == "docx" and report.converted.title == DOCX_TITLE
    assert "指标 | 数值 | 增长\n一般公共预算收入 | 9.6亿元 | 5.0%\n社会消费品零售总额 | 61.7亿元 | 7.3%" \
        in report.text
    sections = {c.text: c.section for c in paragraphs(report) if c.kind != "heading"}
    assert sections["全年粮食总产量达到9.6万吨，比上年增长3.5%；油料产量1.2万吨。"] == "二、农业"
    assert sections["全年生猪出栏23.4万头，增长4.1%。"] == "（一）畜牧业"
    assert sections["全年城乡居民人均可支配收入28600元，增长6.2%。"] == "三、居民收入"
    for chunk in paragraphs(report):
        assert report.text[chunk.start:chunk.end] == chunk.text


def test_docx_paragraph_index_and_table_row(docx_file: Path) -> None:
    import docx

    report = read_report(docx_file)
    doc_paragraphs = docx.Document(str(docx_file)).paragraphs
    for snippet in ("初步核算", "全年生猪出栏", "全年城乡居民"):
        piece = locate(report.converted, report.text.index(snippet))
        assert doc_paragraphs[piece.paragraph - 1].text.startswith(snippet)
    row = locate(report.converted, report.text.index("社会消费品零售总额"))
    assert (row.table, row.row, row.paragraph) == (1, 3, None)


# ---------------------------------------------------------------- HTML


def test_html_article_without_boilerplate_or_scripts(tmp_path: Path) -> None:
    report = read_report(write_html(tmp_path / "news.html"))
    text = report.text
    assert report.encoding == "html"
    assert "全年全县粮食总产量达到9.6万吨，比上年增长3.5%" in text
    assert "全年规模以上工业增加值增长8.1%" in text and "农村居民人均可支配收入19300元" in text
    assert "一般公共预算收入 | 9.6亿元" in text
    for junk in HTML_BOILERPLATE + HTML_CODE:
        assert junk not in text, junk
    sections = {c.text[:8]: c.section for c in paragraphs(report) if c.kind == "body"}
    assert sections["全年城乡居民人均"] == "居民收入持续增加"


# ---------------------------------------------------------------- types and refusals


def test_type_is_decided_by_content_not_name(tmp_path: Path, docx_file: Path) -> None:
    assert detect_format(b"%PDF-1.7\n...") == "pdf"
    assert detect_format(docx_file.read_bytes()) == "docx"
    assert detect_format(b"\xef\xbb\xbf <!DOCTYPE html><html>") == "html"
    assert detect_format("二〇二三年工作报告".encode()) is None
    renamed = tmp_path / "actually-word.pdf"
    renamed.write_bytes(docx_file.read_bytes())
    assert read_report(renamed).encoding == "docx"


def _refused(path: Path, reason: str, limits: Limits | None = None) -> None:
    with pytest.raises(SourceError, match=reason) as caught:
        if limits:
            convert(path.read_bytes(), path.name, limits)
        else:
            read_report(path)
    assert path.name in str(caught.value)


def test_scanned_pdf_refused(tmp_path: Path) -> None:
    _refused(write_scanned_pdf(tmp_path / "scan.pdf"), "no text layer")


def test_encrypted_pdf_refused(tmp_path: Path, pdf: Path) -> None:
    _refused(write_encrypted_pdf(pdf, tmp_path / "locked.pdf"), "encrypted")


def test_pdf_locked_only_against_editing_is_read(tmp_path: Path, pdf: Path) -> None:
    """An owner password alone (printing or editing restricted, AES) opens without one."""
    import pypdf

    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(pdf))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    restricted = tmp_path / "restricted.pdf"
    with open(restricted, "wb") as f:
        writer.write(f)
    assert "4.2万亩" in read_report(restricted).text


def test_truncated_pdf_refused(tmp_path: Path, pdf: Path) -> None:
    broken = tmp_path / "truncated.pdf"
    broken.write_bytes(pdf.read_bytes()[:len(pdf.read_bytes()) // 3])
    _refused(broken, "damaged|no text layer")


def test_malformed_pdf_refused(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\n"
                    b"xref\n0 2\nnot an xref table\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    _refused(bad, "damaged")


def test_text_file_named_pdf_refused(tmp_path: Path) -> None:
    fake = tmp_path / "report.pdf"
    fake.write_text("全年粮食总产量达到9.6万吨。\n", encoding="utf-8")
    _refused(fake, "plain text.*not a PDF")


def test_zip_bomb_docx_refused(tmp_path: Path) -> None:
    _refused(write_zip_bomb_docx(tmp_path / "bomb.docx"), "zip bomb")


def test_broken_docx_refused(tmp_path: Path, docx_file: Path) -> None:
    broken = tmp_path / "broken.docx"
    broken.write_bytes(docx_file.read_bytes()[:2000])
    _refused(broken, "zip|Word")
    other = tmp_path / "archive.docx"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    _refused(other, "zip archive that is not a Word document")


def test_size_and_page_limits(tmp_path: Path, pdf: Path) -> None:
    _refused(pdf, "more than the limit of 0 MB", Limits(max_bytes=1000))
    _refused(pdf, "4 pages, more than the limit of 2", Limits(max_pages=2))
    _refused(pdf, "more than 3 paragraphs", Limits(max_paragraphs=3))


def test_noise_lines() -> None:
    for line in ("- 3 -", "第3页 共9页", "2/9", "Page 3 of 9", "https://www.gov.cn/a.html",
                 "2024/5/6 09:30", "12/5/26, 8:52 AM", "ﬁle:///tmp/report.html 1/2"):
        assert is_noise(line), line
    for line in ("一、经济发展", "。", "2020年增长3%", "3.5万亩"):
        assert not is_noise(line), line


def test_source_folder_lists_the_new_formats(tmp_path: Path, pdf: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(pdf.read_bytes())
    write_docx(tmp_path / "b.docx")
    write_html(tmp_path / "c.html")
    (tmp_path / "d.xlsx").write_bytes(b"PK\x03\x04")
    assert [p.name for p in list_reports(tmp_path)] == ["a.pdf", "b.docx", "c.html"]


# ---------------------------------------------------------------- end to end


@pytest.mark.slow
def test_assistant_answers_from_each_format(tmp_path: Path, pdf: Path) -> None:
    from qa import load_assistant

    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "qingshi-2024.pdf").write_bytes(pdf.read_bytes())
    write_docx(folder / "gongbao-2023.docx")
    write_html(folder / "news.html")
    for attempt in range(2):  # built, then loaded from the index (the files converted again)
        assistant = load_assistant(folder, tmp_path / "index", log=lambda _msg: None)
        texts = {r.path: r.text for r in assistant.index.reports.values()}
        # (question, report, answer, where it is in the original: the citation's extra keys;
        # page 1 runs on to page 2, so the third part of PDF_PAGES starts on page 4)
        cases = [("全年引进亿元以上项目多少个？", "qingshi-2024.pdf", "20个", {"page": 4}),
                 # the PDF says 粮⻝播种面积 (a radical): the question's 粮食 finds it
                 ("粮食播种面积达到多少？", "qingshi-2024.pdf", "4.2万亩", {"page": 1}),
                 # Word paragraphs: title, 一、综合, 初步核算…, 二、农业, 全年粮食…, （一）畜牧业,
                 # 全年生猪… (the 7th)
                 ("全年生猪出栏多少万头？", "gongbao-2023.docx", "23.4万头", {"paragraph": 7}),
                 # HTML: the paragraph of the article body (h1, p, h2, p, h2, p: the 6th)
                 ("农村居民人均可支配收入是多少？", "news.html", "19300元", {"paragraph": 6})]
        for question, doc, expected, where in cases:
            answer = assistant.ask(question, top_k=1)
            top = answer.citations[0]
            assert top.doc.endswith(doc), (attempt, question, top.doc)
            assert answer.found and expected in answer.answer, (attempt, question, answer.answer)
            extra = set(top.to_dict()) - {"doc", "start", "end", "text", "context",
                                          "context_start", "section", "score"}
            assert {k: top.to_dict()[k] for k in extra} == where, (question, top.to_dict())
            text = texts[top.doc]
            assert text[top.start:top.end] == top.text
            assert text[top.context_start:top.context_start + len(top.context)] == top.context
