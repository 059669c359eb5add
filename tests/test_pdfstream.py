"""qa/text/readers/pdfstream.py: content streams read into the operations pypdf's own
parser makes of them, token for token, type for type."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

pypdf = pytest.importorskip("pypdf")

from pypdf.generic import ContentStream  # noqa: E402

from qa.text.readers import pdfstream  # noqa: E402

ORIGINAL = ContentStream._parse_content_stream

#: every kind of token: Chromium's glyph runs (hex strings, odd and empty ones), a marked
#: content dictionary, names, reals with a sign or no leading digit, an array with a literal
#: string and escapes, a comment, NUL and form-feed whitespace.
STREAM = (b"q 0.24 0 0 -.24 0 792 cm\n/NonStruct <</MCID 0 >>BDC\nBT /F62 16 Tf\n"
          b"1 0 0 -1 40 2964 Tm <F5> Tj /F98 16 Tf 16.0000305 0 Td <F2A> Tj <> Tj\n"
          b"/Span<</ActualText <FEFF5341> >> BDC [(Hello \\(x\\)) -250 <0041>] TJ EMC\n"
          b"% a comment <not> /read\r+3 -.5 Td /GS1 gs\x00\f(lit) Tj T* ET Q\n")


def _parse(data: bytes, fast: bool) -> list:
    content = ContentStream(None, None)
    content.set_data(data)
    if fast:
        pdfstream.parse_content_stream(content, io.BytesIO(data), ORIGINAL)
    else:
        ORIGINAL(content, io.BytesIO(data))
    return content._operations


def _typed(ops: list) -> list:
    def typed(obj):  # type: ignore[no-untyped-def]
        if isinstance(obj, dict):
            return type(obj).__name__, sorted((k, typed(v)) for k, v in obj.items())
        if isinstance(obj, list):
            return type(obj).__name__, [typed(x) for x in obj]
        return type(obj).__name__, obj
    return [(typed(operands), operator) for operands, operator in ops]


@pytest.mark.parametrize("data", [
    STREAM,
    STREAM.replace(b"<F2A>", b"<F2 A>"),  # whitespace inside a hex string: pypdf reads it
    STREAM + b"BI /W 1 /H 1 /CS /G /BPC 8 ID \x80 EI Q\n",  # an inline image: pypdf's parser
    STREAM + b"/X 1 0 R Do\n",  # a reference: pypdf's parser (which refuses it here)
    STREAM + b"/A#20B gs /F\xc3\xa9 1 Tf\n",  # escaped and non-ASCII names: pypdf's parser
    # dictionaries pypdf reads itself: a repeated key, a nested one, a literal string, an
    # empty one, one with a comment, one with a # escape in a key
    STREAM + b"/P <</A 1 /A 2>> BDC /P <</A <</B 1>> >> BDC /Span <</ActualText (fi) >> BDC\n",
    STREAM + b"/P <<>> BDC /P << % note\n/MCID 3 >> BDC /P <</A#20B 1>> BDC EMC\n",
    b"",
    b"  \n% only a comment",
])
def test_same_operations_as_pypdf(data):
    try:
        expected = _typed(_parse(data, fast=False))
    except Exception as exc:  # what pypdf refuses, the fast reading refuses alike
        with pytest.raises(type(exc)):
            _parse(data, fast=True)
        return
    assert _typed(_parse(data, fast=True)) == expected


def test_fast_path_reads_chromium_glyph_runs_itself():
    """The common stream is read without pypdf's parser; the unusual one falls back."""
    ops = pdfstream._operations(ContentStream(None, None), STREAM)
    assert [op for _, op in ops][:4] == [b"q", b"cm", b"BDC", b"BT"]
    marks = [operands for operands, op in ops if op == b"BDC"]
    assert marks == [["/NonStruct", {"/MCID": 0}], ["/Span", {"/ActualText": "十"}]]
    assert type(marks[0][1]).__name__ == "DictionaryObject"
    tj = [operands for operands, op in ops if op == b"Tj"]
    assert tj[:3] == [["õ"], ["ò€"], [""]]  # <F2A> is F2 A0 (A0 is € in PDFDocEncoding)
    for unusual in (b"BI /W 1 ID x EI", b"/X 1 0 R Do", b"/A#20B gs", b"/F\xc3\xa9 1 Tf"):
        with pytest.raises(pdfstream._Unusual):
            pdfstream._operations(ContentStream(None, None), unusual)


def test_pdf_text_is_the_same_with_and_without_it(monkeypatch):
    """The bundled Chromium print converts to the same text, pieces and title."""
    import qa.text.readers.pdf as pdf

    data = (Path(__file__).parent / "data" / "formats" / "qingshi-chromium.pdf").read_bytes()
    fast = pdf.read_pdf(data, "q.pdf")
    monkeypatch.setattr(pdf, "parse_content_stream",
                        lambda content, stream, original: original(content, stream))
    assert pdf.read_pdf(data, "q.pdf") == fast
    assert ContentStream._parse_content_stream is ORIGINAL  # the hook is removed after
