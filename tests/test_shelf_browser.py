"""The shelf in headless Chromium (Debian's /usr/bin/chromium via Playwright, as in
test_browser.py): upload a PDF from the chat with the admin token, ask only that report,
see its title and page on the citation, open the report at the span, ask it through the
embed view as the widget's data-report does, and remove it. The screenshot goes to
QA_SCREENSHOTS when set (docs/screenshots for the README), else to a temporary folder."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from shelffixtures import TOKEN, shelf_server, wait_indexed

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)",
                allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from test_browser import ARGS, WAIT_MS, ask  # noqa: E402

SHOTS = Path(os.environ.get("QA_SCREENSHOTS") or tempfile.mkdtemp(prefix="qa-shots-"))
QUESTION = "全年引进亿元以上项目多少个？"
EXPECTED = "20个"


@pytest.fixture(scope="module")
def shelf():
    server = shelf_server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                      locale="zh-CN", device_scale_factor=1)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: d.accept())  # 移除 asks to confirm
        yield page
        browser.close()
        assert not errors, f"uncaught page errors: {errors}"


def shelf_item(page: Page, title: str):
    return page.locator("#qa-shelf .qa-shelf-item", has_text=title)


def wait_until(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def upload_from_chat(page: Page, path: Path) -> None:
    page.locator("#qa-shelf .qa-shelf-token").fill(TOKEN)
    page.locator("#qa-shelf .qa-shelf-file").set_input_files(str(path))
    page.locator("#qa-shelf .qa-shelf-upload").click()


def test_upload_ask_only_that_report_open_it_and_remove_it(shelf, page, tmp_path):
    import formatfixtures

    pdf = formatfixtures.write_pdf(tmp_path / "qingshi-2024.pdf")
    page.goto(shelf.url + "/")
    page.locator("#qa-shelf .qa-shelf-item").first.wait_for(timeout=WAIT_MS)
    assert page.locator("#qa-shelf .qa-shelf-item").count() == 1

    upload_from_chat(page, pdf)
    wait_until(lambda: len(shelf.reports()["reports"]) == 2, "the upload")
    entry = next(e for e in shelf.reports()["reports"] if e["file"] == pdf.name)
    entry = wait_indexed(shelf, entry["id"])
    item = shelf_item(page, entry["title"])
    only = item.locator(".qa-shelf-only")
    wait_until(lambda: only.is_enabled(), "the report to be indexed in the panel")
    status = page.locator("#qa-shelf-status")
    wait_until(lambda: "索引已更新" in status.inner_text(), "the panel to say the index is ready")
    paragraphs = sum(e["paragraphs"] for e in shelf.reports()["reports"])
    wait_until(lambda: f"2 份报告 · {paragraphs} 个段落" in page.locator(".qa-title").first.inner_text(),
               "the title to count the new report")

    # the search box narrows the list
    page.locator("#qa-shelf .qa-shelf-search").fill(entry["title"][:4])
    wait_until(lambda: page.locator("#qa-shelf .qa-shelf-item").count() == 1, "the search")
    page.locator("#qa-shelf .qa-shelf-search").fill("")

    only.click()
    assert entry["title"] in page.locator("#qa-shelf .qa-shelf-scope").inner_text()
    reply = ask(page, QUESTION)
    assert EXPECTED in reply.locator("strong.qa-answer").inner_text()
    assert reply.locator(".qa-report").first.inner_text() == entry["title"]
    assert reply.locator(".qa-page").first.inner_text() == "第 4 页"
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "shelf.png"))

    # 查看原文 opens the converted report scrolled to the highlighted span
    reply.locator("a.qa-open-source").first.click()
    hit = page.frame_locator("#qa-source-overlay iframe").locator("#hit")
    hit.wait_for(timeout=WAIT_MS)
    assert EXPECTED in hit.inner_text()
    in_view = "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && " \
              "r.bottom <= window.innerHeight; }"
    wait_until(lambda: hit.evaluate(in_view), "the span to be scrolled into view", 10)
    page.keyboard.press("Escape")

    # all reports again: the bundled report answers its own question
    page.locator("#qa-shelf .qa-shelf-all").click()
    assert "问全部报告" in page.locator("#qa-shelf .qa-shelf-scope").inner_text()
    reply = ask(page, "签约了多少个项目？")
    assert "seeds" not in reply.locator(".qa-doc").first.inner_text()  # the shelf's copy
    assert reply.locator(".qa-doc").first.inner_text().endswith(".txt")

    # the embed view asks only the report the widget's data-report names
    page.goto(f"{shelf.url}/embed/?report={entry['id']}")
    scope = page.locator("#qa-shelf .qa-shelf-scope")
    wait_until(lambda: entry["title"] in scope.inner_text(), "the embed view's scope")
    reply = ask(page, "签约了多少个项目？")  # asked of the PDF: no answer from the seed report
    docs = reply.locator(".qa-doc").all_text_contents()
    assert docs and all(pdf.name in d for d in docs), docs

    # removal: gone from the panel, and from the answers
    page.goto(shelf.url + "/")
    item = shelf_item(page, entry["title"])
    item.wait_for(timeout=WAIT_MS)
    item.locator(".qa-shelf-remove").click()
    item.wait_for(state="detached", timeout=WAIT_MS)
    reply = ask(page, QUESTION)
    assert all(pdf.name not in d for d in reply.locator(".qa-doc").all_text_contents())
    assert shelf.entry(entry["id"]) is None


def test_a_read_only_shelf_says_so_in_the_chat(page):
    server = shelf_server(token=None)
    try:
        page.goto(server.url + "/")
        note = page.locator("#qa-shelf .qa-shelf-readonly")
        note.wait_for(timeout=WAIT_MS)
        assert "只读" in note.inner_text() and "QA_ADMIN_TOKEN" in note.inner_text()
        assert page.locator("#qa-shelf .qa-shelf-upload").count() == 0
        assert page.locator("#qa-shelf .qa-shelf-remove").count() == 0
    finally:
        server.stop()


def test_the_widget_passes_data_report_to_the_embedded_chat(shelf, page):
    report_id = shelf.reports()["reports"][0]["id"]
    page.goto(shelf.url + "/api/health")  # any page of this origin hosts the script
    page.evaluate("""([src, id]) => { const s = document.createElement("script");
        s.src = src; s.setAttribute("data-report", id); document.body.appendChild(s); }""",
                  [shelf.url + "/widget.js", report_id])
    launcher = page.locator("#qa-widget .launcher")
    launcher.wait_for(timeout=WAIT_MS)
    launcher.click()
    frame = page.locator("#qa-widget iframe")
    frame.wait_for(timeout=WAIT_MS)
    assert frame.get_attribute("src").endswith("/embed/?report=" + quote(report_id, safe=""))
    inner = page.frame_locator("#qa-widget iframe").locator("#qa-shelf .qa-shelf-scope")
    wait_until(lambda: "只问" in inner.inner_text(), "the embedded chat's scope")
