"""Bad source folders and files: a clear message that names the folder or file, the good
files still indexed, and offsets that slice each file's decoded text exactly — with
Windows line endings, a BOM, GBK, a 1 MB line and a file with no paragraph breaks.

Index builds here use a fake, instant encoder (tests/robustfixtures.py) except where the
real model is named: what is under test is reading, decoding and chunking, not the model.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from robustfixtures import (
    ROOT,
    SEED_FILE,
    FakeEncoder,
    check_contract,
    load_assistant,
    main,
    raw_text,
    use_encoder,
)

from qa import SourceError
from qa.text.documents import MAX_PARAGRAPH_CHARS, paragraphs, read_report

SEED = SEED_FILE.read_bytes().decode("utf-8")
ANCHOR = "签约项目36个"
# One sentence only each file says, and a question it answers.
MARKERS = {
    "gbk.txt": ("全区共建成菜市场77处。", "建成了多少处菜市场？", "77"),
    "crlf.txt": ("新增公共充电桩88个。", "新增了多少个公共充电桩？", "88"),
    "bom.txt": ("加装电梯99部。", "加装了多少部电梯？", "99"),
    "nobreaks.txt": ("种植银杏树55棵。", "种植了多少棵银杏树？", "55"),
    "cr-only.txt": ("新建口袋公园66处。", "新建了多少处口袋公园？", "66"),
    "oneline.txt": ("全区新建自行车道123公里，", "新建自行车道多少公里？", "123"),
}
BAD_FILES = {  # name → a word the skip message must contain
    "empty.txt": "empty",
    "blank.md": "empty",
    "binary.txt": "binary",
    "random.md": "decode",
    "utf16.txt": "binary",
    "latin1.txt": "decode",
    "broken.pdf": "damaged",
}


def _with_marker(text: str, marker: str) -> str:
    return text.replace(ANCHOR, ANCHOR + "。" + marker.rstrip("。，") + "，", 1)


def make_folder(root: Path, one_mb_line: bool = True) -> Path:
    src = root / "reports"
    src.mkdir()
    (src / "good.txt").write_bytes(SEED.encode("utf-8"))
    (src / "gbk.txt").write_bytes(_with_marker(SEED, MARKERS["gbk.txt"][0]).encode("gbk"))
    crlf = _with_marker(SEED, MARKERS["crlf.txt"][0]).replace("\n", "\r\n")
    (src / "crlf.txt").write_bytes(crlf.encode("utf-8"))
    bom = _with_marker(SEED, MARKERS["bom.txt"][0])
    (src / "bom.txt").write_bytes(b"\xef\xbb\xbf" + bom.encode("utf-8"))
    flat = _with_marker(SEED, MARKERS["nobreaks.txt"][0]).replace("\n", "")
    (src / "nobreaks.txt").write_bytes(flat.encode("utf-8"))
    cr = _with_marker(SEED, MARKERS["cr-only.txt"][0]).replace("\n", "\r")
    (src / "cr-only.txt").write_bytes(cr.encode("utf-8"))
    if one_mb_line:
        sentence = "全区新建自行车道123公里，新增绿地45公顷，完成投资6亿元，"
        line = (sentence * (1_000_000 // len(sentence) + 1))[:1_000_000]
        (src / "oneline.txt").write_bytes(line.encode("utf-8"))
    (src / "empty.txt").write_bytes(b"")
    (src / "blank.md").write_bytes(b" \r\n\t\n\xe3\x80\x80\n")
    (src / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (src / "random.md").write_bytes(bytes((i * 7919 + 13) % 255 + 1 for i in range(5000)))
    (src / "utf16.txt").write_bytes("签约项目36个 report".encode("utf-16"))
    (src / "latin1.txt").write_bytes("Café crème, naïve résumé. ".encode("latin-1") * 20)
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 not a report")
    (src / "notes.xlsx").write_bytes(b"PK\x03\x04 not a report")  # not a report suffix: ignored
    return src


@pytest.fixture()
def fake(monkeypatch) -> FakeEncoder:  # type: ignore[no-untyped-def]
    encoder = FakeEncoder("usem3")
    use_encoder(monkeypatch, encoder)
    return encoder


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------------------- folders


def test_missing_folder(tmp_path, fake, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"q\n"), encoding="utf-8"))
    missing = tmp_path / "no-such-folder"
    with pytest.raises(SourceError, match="no-such-folder.*does not exist"):
        load_assistant(missing, tmp_path / "index")
    for argv in (["ask", "签约了多少个项目？"], ["build"], ["ask", "--json", "-"]):
        code = main([*argv, "--source", str(missing), "--index", str(tmp_path / "index")])
        assert code == 2
        assert "no-such-folder" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "index").exists(), "nothing is written for a missing source"


def test_source_is_a_file(tmp_path, fake, capsys) -> None:
    path = tmp_path / "report.txt"
    path.write_text(SEED, encoding="utf-8")
    assert main(["ask", "签约", "--source", str(path), "--index", str(tmp_path / "i")]) == 2
    assert "not a folder" in _one_error_line(capsys.readouterr().err)


def test_empty_folder_and_folder_without_reports(tmp_path, fake, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    other = tmp_path / "other"
    (other / ".hidden").mkdir(parents=True)
    (other / "notes.xlsx").write_bytes(b"PK\x03\x04")
    (other / ".hidden" / "secret.txt").write_text(SEED, encoding="utf-8")  # hidden: ignored
    for folder in (empty, other):
        with pytest.raises(SourceError, match="no .txt or .md reports"):
            load_assistant(folder, tmp_path / "index")
        assert main(["build", "--source", str(folder), "--index", str(tmp_path / "index")]) == 2
        assert folder.name in _one_error_line(capsys.readouterr().err)


def test_only_unreadable_files(tmp_path, fake, capsys) -> None:
    src = tmp_path / "bad"
    src.mkdir()
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(SourceError) as info:
        load_assistant(src, tmp_path / "index")
    message = str(info.value)
    assert "no readable report" in message
    assert "empty.txt" in message and "binary.txt" in message
    assert main(["build", "--source", str(src), "--index", str(tmp_path / "index")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "empty.txt" in line and "binary.txt" in line


def test_missing_folder_real_process(tmp_path) -> None:
    """`python -m qa build` on a missing folder: exit 2, one line, no model loaded."""
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "qa", "build", "--source", str(tmp_path / "nope"),
         "--index", str(tmp_path / "index")],
        cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"), capture_output=True, text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: source folder") and "nope" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert time.perf_counter() - t < 20


# ---------------------------------------------------------------------------- files


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A folder of good, odd and bad files built once through `python -m qa build`."""
    root = tmp_path_factory.mktemp("mixed")
    src = make_folder(root)
    index = root / "index"
    out, err = io.StringIO(), io.StringIO()
    t = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        use_encoder(mp, FakeEncoder("usem3"))
        code = main(["build", "--source", str(src), "--index", str(index)])
    took = time.perf_counter() - t
    out, err = out.getvalue(), err.getvalue()
    assert code == 0, err
    assert "Traceback" not in err
    return src, index, out, err, took


def test_bad_files_are_named_and_good_files_indexed(mixed) -> None:
    src, index, out, err, took = mixed
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    for name, word in BAD_FILES.items():
        hits = [w for w in warnings if f"{name}:" in w]
        assert len(hits) == 1, (name, warnings)
        assert word in hits[0] and "skipped" in hits[0], hits[0]
    assert not any("notes.xlsx" in w for w in warnings)
    good = 1 + len(MARKERS)
    assert f"from {good} report(s)" in out, out
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["indexed"]) == {"good.txt", *MARKERS}
    assert manifest["indexed"]["gbk.txt"] == "gb18030"
    assert len(manifest["notices"]) == len(BAD_FILES)
    assert took < 90, f"building a 1 MB line took {took:.0f}s"


def test_offsets_slice_each_file_exactly(mixed, fake) -> None:
    """Every indexed paragraph of every file slices its file's bytes decoded as the
    contract says: CRLF kept, a BOM kept as character 0, GBK decoded, no newline translation."""
    src, index, *_ = mixed
    assistant = load_assistant(src, index, log=lambda _m: None)  # loads, no rebuild
    by_name = {Path(r.path).name: r for r in assistant.index.reports.values()}
    assert set(by_name) == {"good.txt", *MARKERS}
    for name, report in by_name.items():
        data = (src / name).read_bytes()
        decoded = data.decode("gb18030" if name == "gbk.txt" else "utf-8")
        assert report.text == decoded, name
    assert by_name["bom.txt"].text[0] == "\ufeff"
    assert "\r\n" in by_name["crlf.txt"].text and "\n" not in by_name["cr-only.txt"].text
    assert len(by_name["oneline.txt"].text) == 1_000_000
    for chunk in assistant.index.chunks:
        text = raw_text(chunk.doc)
        assert text[chunk.start:chunk.end] == chunk.text
        assert chunk.end - chunk.start <= MAX_PARAGRAPH_CHARS
        assert chunk.text == chunk.text.strip(" \t\r\n\u3000\ufeff")
    assert len([c for c in assistant.index.chunks if c.doc.endswith("oneline.txt")]) > 800
    assert len([c for c in assistant.index.chunks if c.doc.endswith("nobreaks.txt")]) >= 2
    assert assistant.index.chunks[0].start >= 0


def test_answers_cite_the_odd_files_exactly(mixed, fake) -> None:
    src, index, *_ = mixed
    assistant = load_assistant(src, index, log=lambda _m: None)
    for name, (_marker, question, number) in MARKERS.items():
        answer = assistant.ask(question, top_k=5).to_dict()
        check_contract(answer, assistant.source_text, top_k=5)
        check_contract(answer, top_k=5)  # against the bytes on disk
        first = answer["citations"][0]
        assert first["doc"].endswith(name), (name, first)
        assert number in first["context"], (name, first)
        if name == "crlf.txt":
            assert "\r\n" not in first["text"]


def test_non_utf8_file_name_is_skipped_with_a_message(tmp_path, fake, capsys) -> None:
    src = tmp_path / "reports"
    src.mkdir()
    (src / "good.txt").write_bytes(SEED.encode("utf-8"))
    bad = os.fsencode(src) + b"/bad\xffname.txt"
    with open(bad, "wb") as f:
        f.write(SEED.replace(ANCHOR, "签约项目42个").encode("utf-8"))
    index = tmp_path / "index"
    assert main(["build", "--source", str(src), "--index", str(index)]) == 0
    err = capsys.readouterr().err
    assert "bad\\xffname.txt: the file name is not valid UTF-8" in err
    assert main(["ask", "--json", "签约了多少个项目？", "--source", str(src),
                 "--index", str(index)]) == 0
    out, err = capsys.readouterr()
    answer = json.loads(out)
    check_contract(answer)
    assert all(c["doc"].endswith("good.txt") for c in answer["citations"])
    assert "rebuilding" not in err, "an unchanged folder must not rebuild"


def test_real_model_on_odd_encodings(tmp_path, monkeypatch, assistant) -> None:
    """With the real model: GBK, CRLF and BOM files beside a binary and an empty one are
    indexed and answered, and every citation slices the file on disk."""
    use_encoder(monkeypatch, assistant.encoder)
    src = tmp_path / "reports"
    src.mkdir()
    head = SEED[: SEED.index(ANCHOR) + 400]  # a third of the report: quick to embed
    (src / "gbk.txt").write_bytes(_with_marker(head, MARKERS["gbk.txt"][0]).encode("gbk"))
    crlf = _with_marker(head, MARKERS["crlf.txt"][0]).replace("\n", "\r\n")
    (src / "crlf.txt").write_bytes(crlf.encode("utf-8"))
    bom = _with_marker(head, MARKERS["bom.txt"][0])
    (src / "bom.txt").write_bytes(b"\xef\xbb\xbf" + bom.encode("utf-8"))
    (src / "binary.txt").write_bytes(b"\x00" * 100)
    (src / "empty.txt").write_bytes(b"")
    messages: list[str] = []
    real = load_assistant(src, tmp_path / "index", log=messages.append)
    assert real.stats()["documents"] == 3
    assert any("binary.txt" in m for m in messages) and any("empty.txt" in m for m in messages)
    for name in ("gbk.txt", "crlf.txt", "bom.txt"):
        _marker, question, number = MARKERS[name]
        answer = real.ask(question).to_dict()
        check_contract(answer)
        assert answer["found"], (name, answer)
        assert number in answer["answer"] and answer["citations"][0]["doc"].endswith(name)


# ---------------------------------------------------------------------------- chunking


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_chunk_offsets_with_any_line_ending(tmp_path, newline: str, bom: str) -> None:
    text = bom + SEED.replace("\n", newline)
    path = tmp_path / "r.txt"
    path.write_bytes(text.encode("utf-8"))
    report = read_report(path)
    assert report.text == text
    chunks = paragraphs(report)
    assert len(chunks) == len(paragraphs(read_report(SEED_FILE)))
    for c in chunks:
        assert text[c.start:c.end] == c.text


def test_one_megabyte_line_is_cut_quickly(tmp_path) -> None:
    line = ("全区新建自行车道123公里，新增绿地45公顷，完成投资6亿元" * 40_000)[:1_000_000]
    path = tmp_path / "line.txt"
    path.write_bytes(line.encode("utf-8"))  # no sentence end at all: cut at the limit
    t = time.perf_counter()
    chunks = paragraphs(read_report(path))
    assert time.perf_counter() - t < 10
    assert sum(c.end - c.start for c in chunks) >= 999_000
    for c in chunks:
        assert 0 < c.end - c.start <= MAX_PARAGRAPH_CHARS
        assert line[c.start:c.end] == c.text
