"""The shelf over HTTP on a real server on loopback: listing, upload (.txt), the admin token
(401/403), limits, scoped questions (``reports``), removal, and questions answered from the
previous generation while the index is rebuilt."""

from __future__ import annotations

import hashlib
import time

import httpx
import pytest
from shelffixtures import AUTH, TOKEN, shelf_server, wait_indexed

QINGSHI = (
    "青石县2021年政府工作报告\n\n"
    "一、过去一年的工作\n\n"
    "全县粮食总产量达到52.3万吨，同比增长4.2%。\n\n"
    "新建高标准农田8.6万亩，完成农村公路改造312公里。\n"
).encode()
QUESTION = "青石县粮食总产量达到多少？"
ANSWER_PART = "52.3万吨"


@pytest.fixture(scope="module")
def shelf():
    server = shelf_server()
    yield server
    server.stop()


def upload_qingshi(shelf, name: str = "青石县.txt", data: bytes = QINGSHI) -> dict:
    r = shelf.upload(name, data)
    assert r.status_code == 201, r.text
    return r.json()


def docs_cited(answer: dict) -> set[str]:
    return {c["doc"] for c in answer["citations"]}


def test_the_shelf_lists_each_report_with_its_id_and_facts(shelf):
    listing = shelf.reports()
    assert listing["writable"] is True and listing["read_only"] == ""
    (entry,) = listing["reports"]
    seed = next(shelf.source.glob("*.txt"))
    assert entry["file"] == seed.name and entry["format"] == "txt"
    assert entry["sha256"] == hashlib.sha256(seed.read_bytes()).hexdigest()
    assert entry["paragraphs"] > 10 and entry["indexed"] is True
    assert entry["id"] and entry["title"] and entry["added"]


def test_an_uploaded_report_answers_a_question_scoped_to_it(shelf):
    entry = upload_qingshi(shelf)
    assert entry["file"] == "青石县.txt" and entry["indexed"] is False
    assert entry["sha256"] == hashlib.sha256(QINGSHI).hexdigest()
    entry = wait_indexed(shelf, entry["id"])
    r = shelf.ask(QUESTION, reports=[entry["id"]])
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["found"] and ANSWER_PART in answer["answer"]
    assert docs_cited(answer) == {entry["doc"]}
    text = QINGSHI.decode("utf-8")
    for c in answer["citations"]:  # offsets slice the stored text exactly
        assert text[c["start"]:c["end"]] == c["text"]
    # the bundled report alone does not cite the new one
    seed_id = next(e["id"] for e in shelf.reports()["reports"] if e["id"] != entry["id"])
    scoped = shelf.ask(QUESTION, reports=[seed_id]).json()
    assert entry["doc"] not in docs_cited(scoped)
    shelf.library.wait(30)
    assert httpx.delete(f"{shelf.url}/api/reports/{entry['id']}", headers=AUTH,
                        timeout=30).status_code == 200


def test_a_file_already_on_the_shelf_is_a_conflict(shelf):
    seed = next(shelf.source.glob("*.txt"))
    before = shelf.reports()["reports"]
    r = shelf.upload("copy.txt", seed.read_bytes())
    assert r.status_code == 409 and "already on the shelf" in r.json()["error"]
    assert shelf.reports()["reports"] == before


def test_removing_a_report_removes_its_answers_at_once(shelf):
    entry = wait_indexed(shelf, upload_qingshi(shelf, "removed.txt")["id"])
    assert entry["doc"] in docs_cited(shelf.ask(QUESTION).json())
    shelf.gate.clear()  # hold the rebuild that follows the removal
    try:
        r = httpx.delete(f"{shelf.url}/api/reports/{entry['id']}", headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == entry["id"]
        assert shelf.reports()["building"] is True  # the old generation still answers…
        answer = shelf.ask(QUESTION).json()
        assert entry["doc"] not in docs_cited(answer)  # …but never from the removed report
        assert ANSWER_PART not in answer["answer"]
    finally:
        shelf.gate.set()
    assert shelf.library.wait(60)
    assert shelf.entry(entry["id"]) is None
    assert not (shelf.source / "removed.txt").exists()
    r = shelf.ask(QUESTION, reports=[entry["id"]])
    assert r.status_code == 400 and "no report" in r.json()["error"]


def test_a_question_during_a_rebuild_is_answered_from_the_previous_generation(shelf):
    generation = shelf.reports()["generation"]
    shelf.gate.clear()
    try:
        entry = upload_qingshi(shelf, "during.txt")
        listing = shelf.reports()
        assert listing["building"] is True and listing["generation"] == generation
        answer = shelf.ask(QUESTION)
        assert answer.status_code == 200
        assert all(not c["doc"].endswith("during.txt") for c in answer.json()["citations"])
        r = shelf.ask(QUESTION, reports=[entry["id"]])
        assert r.status_code == 409 and "indexed" in r.json()["error"]
    finally:
        shelf.gate.set()
    entry = wait_indexed(shelf, entry["id"])
    assert shelf.reports()["generation"] == generation + 1
    answer = shelf.ask(QUESTION, reports=[entry["id"]]).json()
    assert answer["found"] and ANSWER_PART in answer["answer"]


def test_a_failed_rebuild_says_why_and_the_previous_generation_keeps_answering(shelf):
    generation = shelf.reports()["generation"]
    shelf.fail.set()
    try:
        entry = upload_qingshi(shelf, "failing.txt", QINGSHI.replace(b"2021", b"2019"))
        assert shelf.library.wait(60)
        listing = shelf.reports()
        assert "No space left" in listing["error"] and listing["generation"] == generation
        assert not shelf.entry(entry["id"])["indexed"]
        answer = shelf.ask("签约了多少个项目？")
        assert answer.status_code == 200 and answer.json()["found"]
    finally:
        shelf.fail.clear()
    r = httpx.delete(f"{shelf.url}/api/reports/{entry['id']}", headers=AUTH, timeout=30)
    assert r.status_code == 200
    assert shelf.library.wait(60)
    listing = shelf.reports()
    assert listing["error"] == "" and listing["generation"] == generation + 1


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer wrong"}, 401),
    ({"Authorization": TOKEN}, 401),  # no scheme
])
def test_uploads_and_removals_need_the_admin_token(shelf, headers, status):
    before = shelf.reports()["reports"]
    r = shelf.upload("x.txt", QINGSHI, headers)
    assert r.status_code == status and "token" in r.json()["error"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = httpx.delete(f"{shelf.url}/api/reports/{before[0]['id']}", headers=headers, timeout=30)
    assert r.status_code == status
    assert shelf.reports()["reports"] == before


def test_without_a_token_the_shelf_is_read_only_and_says_so():
    server = shelf_server(token=None)
    try:
        listing = server.reports()
        assert listing["writable"] is False and "QA_ADMIN_TOKEN" in listing["read_only"]
        r = server.upload("x.txt", QINGSHI)  # even with a token the server does not know
        assert r.status_code == 403 and "read-only" in r.json()["error"]
        entry = listing["reports"][0]
        r = httpx.delete(f"{server.url}/api/reports/{entry['id']}", headers=AUTH, timeout=30)
        assert r.status_code == 403
        assert server.reports()["reports"] == listing["reports"]
    finally:
        server.stop()


def test_refusals_say_why_and_leave_the_shelf_as_it_was():
    server = shelf_server(max_upload=4096)
    try:
        before = server.reports()["reports"]
        r = server.upload("big.txt", "报告".encode() * 5000)
        assert r.status_code == 413 and "MB" in r.json()["error"]
        r = server.upload("binary.txt", bytes(range(256)) * 4)
        assert r.status_code == 422 and "binary.txt" in r.json()["error"]
        r = httpx.post(f"{server.url}/api/reports", json={"file": "x"}, headers=AUTH,
                       timeout=30)
        assert r.status_code == 422 and "file" in r.json()["error"]
        r = httpx.post(f"{server.url}/api/reports", headers=AUTH, files={"other": ("a", b"x")},
                       timeout=30)
        assert r.status_code == 422
        r = httpx.delete(f"{server.url}/api/reports/{before[0]['id']}", headers=AUTH,
                         timeout=30)
        assert r.status_code == 409 and "last report" in r.json()["error"]
        assert server.reports()["reports"] == before
        files = sorted(p.name for p in server.source.iterdir() if not p.name.startswith("."))
        assert files == [e["file"] for e in before]
        assert not server.reports()["building"]
    finally:
        server.stop()


@pytest.mark.parametrize("reports, status", [
    ([], 422), ("abc", 422), ([1], 422), ([""], 422), (["no-such-id"], 400),
])
def test_ask_checks_the_report_ids(shelf, reports, status):
    r = shelf.ask(QUESTION, reports=reports)
    assert r.status_code == status, r.text
    assert r.json()["error"]


def test_unknown_shelf_paths_and_methods(shelf):
    assert httpx.put(f"{shelf.url}/api/reports", timeout=30).status_code == 405
    r = httpx.delete(f"{shelf.url}/api/reports/nope", headers=AUTH, timeout=30)
    assert r.status_code == 404 and r.json()["error"]


# ------------------------------------------------------------------ PDF, Word, HTML

FORMAT_CASES = [  # file, writer, question scoped to it, expected in the answer, page
    ("qingshi-2024.pdf", "write_pdf", "全年引进亿元以上项目多少个？", "20个", 4),
    ("gongbao-2023.docx", "write_docx", "全年生猪出栏多少万头？", "23.4万头", None),
    ("news.html", "write_html", "农村居民人均可支配收入是多少？", "19300元", None),
]


@pytest.mark.parametrize("name, writer, question, expected, page", FORMAT_CASES)
def test_pdf_word_and_html_uploads_answer_scoped_questions(shelf, tmp_path, name, writer,
                                                           question, expected, page):
    import formatfixtures

    data = getattr(formatfixtures, writer)(tmp_path / name).read_bytes()
    entry = wait_indexed(shelf, upload_qingshi(shelf, name, data)["id"])
    assert entry["format"] == name.rsplit(".", 1)[1] and entry["paragraphs"] > 0
    answer = shelf.ask(question, reports=[entry["id"]]).json()
    assert answer["found"] and expected in answer["answer"], answer
    top = answer["citations"][0]
    assert top["doc"] == entry["doc"]
    text = shelf.library.source_text(top["doc"])  # the stored (canonical) text
    assert text[top["start"]:top["end"]] == top["text"]
    assert text[top["context_start"]:top["context_start"] + len(top["context"])] == top["context"]
    assert top.get("page") == page
    if name.endswith(".docx"):
        assert top.get("paragraph", 0) > 0


def test_damaged_and_disguised_files_are_refused_by_their_content(shelf, tmp_path):
    import formatfixtures

    before = shelf.reports()["reports"]
    scanned = formatfixtures.write_scanned_pdf(tmp_path / "scan.pdf").read_bytes()
    bomb = formatfixtures.write_zip_bomb_docx(tmp_path / "bomb.docx").read_bytes()
    plain = formatfixtures.write_pdf(tmp_path / "plain.pdf")
    locked = formatfixtures.write_encrypted_pdf(plain, tmp_path / "locked.pdf").read_bytes()
    cases = [("scan.pdf", scanned), ("bomb.docx", bomb), ("locked.pdf", locked),
             ("report.pdf", b"%PDF-1.7\n1 0 obj << >> endobj\nxref\n0 1\nbroken\n%%EOF"),
             ("disguised.docx", QINGSHI)]  # a text file named .docx is not a Word file
    for name, data in cases:
        r = shelf.upload(name, data)
        assert r.status_code == 422, (name, r.text)
        assert name in r.json()["error"], (name, r.json())
    assert shelf.reports()["reports"] == before


def test_a_report_added_from_the_command_line_is_noticed_by_the_running_server(
        tmp_path, monkeypatch):
    """`qa add` while `qa serve` runs: the server sees the folder change and rebuilds."""
    from robustfixtures import FakeEncoder, main, use_encoder

    use_encoder(monkeypatch, FakeEncoder())
    server = shelf_server(watch=0.2)
    try:
        upload = tmp_path / "青石县.txt"
        upload.write_bytes(QINGSHI)
        assert server.ask(QUESTION).json()["found"] is False
        code = main(["add", "--source", str(server.source), "--index", str(tmp_path / "idx"),
                     str(upload)])
        assert code == 0
        added = next(e for e in server.reports()["reports"] if e["file"] == "青石县.txt")
        wait_indexed(server, added["id"])
        answer = server.ask(QUESTION).json()
        assert answer["found"] and ANSWER_PART in answer["answer"]
        assert server.library.generation == 2  # one rebuild, not one per look
        (server.source / added["id"]).unlink()  # removed by hand
        deadline = time.monotonic() + 60
        while server.entry(added["id"]) is not None or server.library.generation < 3:
            assert time.monotonic() < deadline, "the removal was not noticed"
            time.sleep(0.1)
        server.library.wait(60)
        assert all(ANSWER_PART not in c["text"] for c in server.ask(QUESTION).json()["citations"])
    finally:
        server.stop()


def test_a_listing_read_while_a_new_generation_swaps_in_is_not_kept(monkeypatch):
    """The shelf's listing is cached; one read from the old generation while the new one
    swaps in must not stay cached, or a report would show as not indexed for good."""
    from qa.index import shelf

    server = shelf_server()
    try:
        library = server.library
        (server.source / "青石县.txt").write_bytes(QINGSHI)
        read_listing = shelf.list_reports

        def listing_then_rebuild(*args):
            listed = read_listing(*args)
            monkeypatch.setattr(shelf, "list_reports", read_listing)
            library.refresh()  # the new generation swaps in while this listing is read
            assert library.wait(60)
            return listed

        monkeypatch.setattr(shelf, "list_reports", listing_then_rebuild)
        during = {e["id"]: e["indexed"] for e in library.entries()}
        assert during["青石县.txt"] is False and library.generation == 2
        after = {e["id"]: e["indexed"] for e in library.entries()}
        assert after["青石县.txt"] is True
    finally:
        server.stop()
