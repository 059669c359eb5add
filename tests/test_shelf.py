"""The shelf from the command line (`qa add`, `qa list`, `qa remove`) and qa/index/shelf.py:
real PDF, Word and HTML files added, listed with their entries, asked about one by one and
removed; refusals leave the folder and its record exactly as they were."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from formatfixtures import (
    write_docx,
    write_encrypted_pdf,
    write_html,
    write_pdf,
    write_scanned_pdf,
    write_zip_bomb_docx,
)
from robustfixtures import FakeEncoder, load_assistant, main, use_encoder

from qa.config import Settings
from qa.index.shelf import ShelfConflict, UnknownReport, add_report, list_reports, shelf_name

ROOT = Path(__file__).resolve().parent.parent
SEED = next((ROOT / "seeds").glob("*.txt"))


@pytest.fixture()
def shelf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A source folder holding the bundled report, with the fake encoder for index builds."""
    use_encoder(monkeypatch, FakeEncoder("usem3"))
    source = tmp_path / "reports"
    source.mkdir()
    shutil.copyfile(SEED, source / SEED.name)
    return source


def _files(tmp_path: Path) -> dict[str, Path]:
    made = tmp_path / "made"
    made.mkdir(exist_ok=True)
    return {"pdf": write_pdf(made / "qingshi-2024.pdf"),
            "docx": write_docx(made / "gongbao-2023.docx"),
            "html": write_html(made / "news.html")}


def _cli(capsys: pytest.CaptureFixture[str], source: Path, *argv: str) -> tuple[int, str, str]:
    code = main([argv[0], "--source", str(source), "--index", str(source.parent / "index"),
                 *argv[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def _state(source: Path) -> dict[str, bytes]:
    """Every file of the folder (the record included) and its bytes."""
    return {p.name: p.read_bytes() for p in sorted(source.iterdir())
            if p.is_file() and p.name != ".shelf.lock"}


def test_shelf_name_is_decided_by_content(tmp_path: Path) -> None:
    files = _files(tmp_path)
    pdf = files["pdf"].read_bytes()
    assert shelf_name("qingshi-2024.pdf", pdf) == "qingshi-2024.pdf"
    assert shelf_name("../../etc/报告.docx", pdf) == "报告.pdf"  # a PDF whatever its name says
    assert shelf_name("C:\\docs\\.hidden.txt", pdf) == "hidden.pdf"
    assert shelf_name("notes.md", "# 标题\n正文。".encode()) == "notes.md"
    assert shelf_name("page.txt", files["html"].read_bytes()) == "page.html"
    assert shelf_name("a:b?.txt", b"text") == "a_b_.txt"
    assert shelf_name("", b"text") == "report.txt"


def test_add_list_ask_and_remove_from_the_command_line(shelf: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    files = _files(tmp_path)
    code, out, err = _cli(capsys, shelf, "add", *map(str, files.values()))
    assert code == 0, err
    assert out.count("added ") == 3 and "index: " in out
    assert "added qingshi-2024.pdf: 青石县2024年政府工作报告 (pdf," in out

    code, out, _ = _cli(capsys, shelf, "list", "--json")
    entries = {e["id"]: e for e in json.loads(out)}
    assert set(entries) == {SEED.name, "qingshi-2024.pdf", "gongbao-2023.docx", "news.html"}
    for fmt, path in files.items():
        e = entries[path.name]
        assert (e["file"], e["format"]) == (path.name, fmt)
        assert e["paragraphs"] > 3 and e["added"].endswith("Z")
        assert e["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (shelf / path.name).read_bytes() == path.read_bytes()
    assert entries["gongbao-2023.docx"]["title"] == "青石县2023年统计公报"
    assert entries["news.html"]["title"] == "青石县发布2023年统计公报"  # the site name dropped
    assert entries[SEED.name]["format"] == "txt"

    code, out, _ = _cli(capsys, shelf, "list")
    assert code == 0 and "4 report(s)" in out and "gongbao-2023.docx\tdocx\t" in out

    # each report asked alone: the span slices the stored text and says where it is
    assistant = load_assistant(shelf, shelf.parent / "index", log=lambda _m: None)
    for report_id, question, expected, where in [
            ("qingshi-2024.pdf", "全年引进亿元以上项目多少个？", "20个", ("page", 4)),
            ("gongbao-2023.docx", "全年生猪出栏多少万头？", "23.4万头", ("paragraph", 7))]:
        answer = assistant.ask(question, top_k=1, reports=[report_id])
        top = answer.citations[0].to_dict()
        assert top["doc"].endswith(report_id) and expected in answer.answer
        assert assistant.source_text(top["doc"])[top["start"]:top["end"]] == top["text"]
        assert top[where[0]] == where[1]

    code, out, err = _cli(capsys, shelf, "remove", "gongbao-2023.docx")
    assert code == 0, err
    assert "removed gongbao-2023.docx" in out and not (shelf / "gongbao-2023.docx").exists()
    _, out, _ = _cli(capsys, shelf, "list", "--json")
    assert {e["id"] for e in json.loads(out)} == {SEED.name, "qingshi-2024.pdf", "news.html"}
    assistant = load_assistant(shelf, shelf.parent / "index", log=lambda _m: None)
    answer = assistant.ask("全年生猪出栏多少万头？", top_k=3)
    assert not any(c.doc.endswith("gongbao-2023.docx") for c in answer.citations)


def test_ask_from_the_command_line_shows_the_page(shelf: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(capsys, shelf, "add", str(_files(tmp_path)["pdf"]))[0] == 0
    code, out, err = _cli(capsys, shelf, "ask", "全年引进亿元以上项目多少个？", "--top-k", "1")
    assert code == 0, err
    assert "qingshi-2024.pdf [" in out and "] 第4页" in out


@pytest.mark.parametrize("make, says", [
    (lambda d: write_scanned_pdf(d / "scan.pdf"), "scan.pdf"),
    (lambda d: write_zip_bomb_docx(d / "bomb.docx"), "bomb.docx"),
    (lambda d: write_encrypted_pdf(write_pdf(d / "plain.pdf"), d / "locked.pdf"), "locked.pdf"),
    (lambda d: (d / "fake.pdf").write_bytes(b"just some words, no PDF") and d / "fake.pdf",
     "not a PDF"),
    (lambda d: (d / "big.txt").write_bytes(b"\x00\x01" * 1000) and d / "big.txt", "binary"),
])
def test_a_refused_file_leaves_the_shelf_as_it_was(shelf: Path, tmp_path: Path, make, says,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    made = tmp_path / "made"
    made.mkdir()
    path = make(made)
    before = _state(shelf)
    code, out, err = _cli(capsys, shelf, "add", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert says in err and "not added" in err, err
    assert _state(shelf) == before


def test_duplicates_unknown_ids_and_the_last_report(shelf: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_env()
    pdf = _files(tmp_path)["pdf"]
    entry = add_report(shelf, pdf.name, pdf.read_bytes(), settings)
    before = _state(shelf)
    with pytest.raises(ShelfConflict, match="already on the shelf as qingshi-2024.pdf"):
        add_report(shelf, "copy.pdf", pdf.read_bytes(), settings)
    with pytest.raises(ShelfConflict, match="called qingshi-2024.pdf is already"):
        other = write_pdf(tmp_path / "other.pdf", header=False).read_bytes()
        add_report(shelf, "qingshi-2024.pdf", other, settings)
    assert _state(shelf) == before
    assert [e.id for e in list_reports(shelf, settings)] == [entry.id, SEED.name]

    code, _, err = _cli(capsys, shelf, "remove", "nothing.pdf")
    assert code == 2 and "no report 'nothing.pdf' on the shelf" in err
    assert _cli(capsys, shelf, "remove", entry.id)[0] == 0
    code, _, err = _cli(capsys, shelf, "remove", SEED.name)
    assert code == 1 and "last report" in err
    assert (shelf / SEED.name).exists()
    with pytest.raises(UnknownReport):
        from qa.index.shelf import remove_report
        remove_report(shelf, entry.id, settings)
