"""A faster reading of PDF content streams for pypdf: the same operations, fewer steps.

pypdf parses a page's content stream a byte or two at a time (``read_non_whitespace``,
``read_until_regex`` in 16-byte chunks, one ``seek`` back per token). A Chromium print draws
every glyph with its own font switch, move and show (``/F62 16 Tf 16.0000305 0 Td <F5> Tj``),
so that parsing was 80% of reading such a PDF (103 pages, 424,000 operations: 4.6 of 5.8 s).

``parse_content_stream`` reads the tokens that make up nearly all of such a stream —
operators, numbers, plain names, hexadecimal strings, comments, and dictionaries of these
(marked content: ``<</ActualText <FEFF5341> >>``) — with regular expressions over the
stream's bytes, and builds each of them with the constructor pypdf's own parser calls with
the same bytes (``NumberObject``, ``FloatObject``, ``NameObject``, ``create_string_object``,
``DictionaryObject``), so each operation is what pypdf makes of it. Other dictionaries,
arrays, literal strings and whatever else starts a token are read by pypdf's
``read_object`` at that point. What pypdf reads apart or may refuse (an inline image, a
name with ``#`` escapes or non-ASCII bytes, a token near pypdf's length limits, ``1 0 R``
anywhere in the stream, too many tokens) sends the whole stream back to pypdf's own
parser, as does any error. Checked on 19 PDFs: every page's operations as pypdf's, type for
type (bench/formats/README.md).
"""

from __future__ import annotations

import io
import re
from typing import Any

_WS = rb"[\x00\t\n\f\r ]*"  # pypdf's WHITESPACES
_BODY = rb"[^\s()<>\[\]{}/%]*"  # up to pypdf's NameObject.delimiter_pattern
_TOKEN = re.compile(
    _WS + rb"(?:(?P<op>[A-Za-z'\"]" + _BODY + rb")|(?P<num>[0-9+\-.][+,\-.0-9]*)"
    rb"|(?P<name>/" + _BODY + rb")|<(?P<hex>[0-9A-Fa-f]*)>|(?P<comment>%[^\r\n]*[\r\n]?))")
_SPACE = re.compile(_WS)
_PLAIN = rb"[^\s()<>\[\]{}/%#\x80-\xff]*"  # a name without # escapes or non-ASCII bytes
_ENTRY = re.compile(_WS + rb"(/" + _PLAIN + rb")" + _WS
                    + rb"(?:<(?P<hex>[0-9A-Fa-f]*)>|(?P<name>/" + _PLAIN
                    + rb")|(?P<num>[0-9+\-.][+,\-.0-9]*))")
#: a dictionary of names, numbers and hexadecimal strings (Chromium's marked content:
#: ``<</ActualText <FEFF5341> >>``, ``<</MCID 0 >>``), not followed by ``stream``.
_DICT = re.compile(rb"<<((?:" + _ENTRY.pattern + rb")*)" + _WS + rb">>(?!" + _WS + rb"stream)")
#: shorter than where pypdf's chunked reads give up on an operator, a name, a number.
_MAX_OP, _MAX_NAME, _MAX_NUM = 100, 4000, 19


class _Pypdf:
    """pypdf's constructors, imported on first use (pypdf is imported for a PDF only)."""

    def load(self) -> None:
        if not hasattr(self, "NameObject"):
            from pypdf.generic import FloatObject, NameObject, NumberObject
            from pypdf.generic._utils import create_string_object

            self.FloatObject, self.NumberObject = FloatObject, NumberObject
            self.create_string_object = create_string_object
            from pypdf.generic import DictionaryObject

            self.DictionaryObject = DictionaryObject
            self.NameObject = NameObject  # last: what load() checks


_pypdf: Any = _Pypdf()


class _Unusual(Exception):
    """A stream that pypdf's own parser is to read."""


def parse_content_stream(content: Any, stream: Any, original: Any) -> None:
    """``ContentStream._parse_content_stream``, faster; ``original`` is pypdf's."""
    try:
        content._operations = _operations(content, stream.getvalue())
    except Exception:  # anything unusual: pypdf's own parser, as if we were not here
        content._operations = []
        original(content, stream)


_OP, _NUM, _NAME, _HEX, _COMMENT = 1, 2, 3, 4, 5  # _TOKEN's groups, in order


def _operations(content: Any, data: bytes) -> list[tuple[Any, bytes]]:
    """The operations of ``data``, as pypdf's parser gives them; ``_Unusual`` where
    that parser is to read it. A token met again is the object made the first time (the
    objects are numbers, names and strings, which nothing changes)."""
    from pypdf._configuration import get_configuration
    from pypdf.generic import StreamParsingBudget
    from pypdf.generic._data_structures import IndirectPattern, read_object

    _pypdf.load()
    if IndirectPattern.search(data):  # 1 0 R: pypdf's parser reads a reference (or fails)
        raise _Unusual("a reference")
    budget = StreamParsingBudget(
        remaining_budget=get_configuration().stream_parsing_work_maximum_count)
    encoding = content.forced_encoding
    made: dict[int, dict[bytes, Any]] = {_NUM: {}, _NAME: {}, _HEX: {}, _DICT_KIND: {}}
    ops: list[tuple[Any, bytes]] = []
    operands: list[Any] = []
    pos, end, stream, match = 0, len(data), None, _TOKEN.match
    while True:
        m = match(data, pos)
        if m is None:  # a dictionary, an array, a literal string, … or the end
            pos = _SPACE.match(data, pos).end()  # type: ignore[union-attr]
            if pos >= end:
                break
            d = _DICT.match(data, pos)
            entries = _entries(d.group(), made, encoding) if d else None
            if entries is not None:  # pypdf counts the dictionary and two for each entry
                budget.remaining_budget -= 1 + 2 * len(entries)
                operands.append(obj := _pypdf.DictionaryObject())
                obj.update(dict(entries))  # as pypdf's DictionaryObject.read_from_stream
                pos = d.end()  # type: ignore[union-attr]
                continue
            if stream is None:
                stream = io.BytesIO(data)
            content._check_limits(parsing_budget=budget, token_decrement=1)
            stream.seek(pos)
            operands.append(read_object(stream, None, encoding, parsing_budget=budget))
            pos = stream.tell()
            continue
        kind, pos = m.lastindex, m.end()
        if kind == _COMMENT:
            continue
        budget.remaining_budget -= 1
        token = m.group(kind)
        if kind == _OP:
            if token == b"BI" or len(token) >= _MAX_OP:
                raise _Unusual(token[:20])
            ops.append((operands, token))
            operands = []
            continue
        obj = made[kind].get(token)
        if obj is None:
            obj = made[kind][token] = _make(kind, token, encoding)
        operands.append(obj)
    if budget.remaining_budget < 0:
        raise _Unusual("too many tokens")  # pypdf's parser raises LimitReachedError
    return ops


_DICT_KIND = 0


def _entries(raw: bytes, made: dict[int, dict[bytes, Any]], encoding: Any
             ) -> tuple[tuple[Any, Any], ...] | None:
    """The (key, value) pairs of a ``_DICT`` match; None (pypdf reads it) when a key
    repeats or there are more than 64 of them."""
    if raw not in made[_DICT_KIND]:
        pairs = []
        for m in _ENTRY.finditer(raw, 2):
            kind = {"num": _NUM, "name": _NAME, "hex": _HEX}[m.lastgroup]  # type: ignore[index]
            key, token = m.group(1), m.group(m.lastgroup)  # type: ignore[arg-type]
            value = made[kind].get(token)
            if value is None:
                value = made[kind][token] = _make(kind, token, encoding)
            pairs.append((_make(_NAME, key, encoding), value))
        unique = len({k for k, _ in pairs}) == len(pairs) <= 64
        made[_DICT_KIND][raw] = tuple(pairs) if unique else None
    return made[_DICT_KIND][raw]


def _make(kind: int, token: bytes, encoding: Any) -> Any:
    """The object of a number, name or hexadecimal string token."""
    if kind == _NUM:
        if len(token) >= _MAX_NUM:
            raise _Unusual(token)
        return _pypdf.FloatObject(token) if b"." in token else _pypdf.NumberObject(token)
    if kind == _NAME:
        if b"#" in token or not token.isascii() or len(token) >= _MAX_NAME:
            raise _Unusual(token[:20])
        return _pypdf.NameObject(token.decode("ascii"))
    # a hexadecimal string: an odd last digit is read as followed by 0
    return _pypdf.create_string_object(
        bytes.fromhex(token.decode("ascii") + "0" * (len(token) % 2)), encoding)
