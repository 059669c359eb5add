"""End to end in headless Chromium (Debian's /usr/bin/chromium via Playwright): the chat,
查看原文, the widget on an intranet page, framing refused to other origins, and not one
request to another host. Screenshots land in docs/screenshots/ for the README."""

from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from webfixtures import live_server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium); CI installs it",
        allow_module_level=True,
    )

from playwright.sync_api import Frame, FrameLocator, Page, sync_playwright  # noqa: E402

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    # Belt and braces: even a request the test would catch cannot leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
# Screenshots go to a temporary folder unless QA_SCREENSHOTS names one (the README's come
# from `QA_SCREENSHOTS=docs/screenshots make test`), so a test run leaves the tree clean.
SHOTS = Path(os.environ.get("QA_SCREENSHOTS") or tempfile.mkdtemp(prefix="qa-shots-"))
QUESTION = "签约了多少个项目？"
UNANSWERABLE = "火星上建了多少座城市？"
WAIT_MS = 60_000


@dataclass
class Watch:
    """Everything a page did that the test should know about."""

    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [m for m in self.console if "Content Security Policy" in m]


@pytest.fixture(scope="module")
def live():
    return live_server()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def watched(browser, live, request):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", device_scale_factor=1
    )
    watch = Watch()
    context.on("request", lambda r: watch.requests.append(r.url))
    context.on(
        "response",
        lambda r: watch.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page = context.new_page()
    page.on("console", lambda m: watch.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    page.on("dialog", lambda d: (watch.dialogs.append(d.message), d.dismiss()))
    yield page, watch
    context.close()

    # Every request went to the chat server or the test's own intranet pages.
    ours = {urlsplit(u).netloc for u in (live.url, live.allowed, live.denied)}
    foreign = [
        u
        for u in watch.requests
        if urlsplit(u).scheme in ("http", "https", "ws", "wss")
        and urlsplit(u).netloc not in ours
        or urlsplit(u).scheme not in ("http", "https", "ws", "wss", "data", "blob", "about")
    ]
    assert not foreign, f"requests to other hosts: {foreign}"
    assert not watch.dialogs, f"a script opened a dialog: {watch.dialogs}"
    assert not watch.errors, f"uncaught page errors: {watch.errors}"
    expected = getattr(request.node, "expected_csp", ())
    unexpected = [m for m in watch.csp_violations() if not any(e in m for e in expected)]
    assert not unexpected, f"Content-Security-Policy blocked something: {unexpected}"
    assert not watch.failed, f"failed responses: {watch.failed}"


def api_ask(live, question: str, history: list[str] | None = None) -> dict:
    body = {"question": question, **({"history": history} if history else {})}
    r = httpx.post(f"{live.url}/api/ask", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def ask(where: Page | Frame | FrameLocator, question: str):
    """Type a question, press Enter, and return the new reply."""
    replies = where.locator(".qa-reply")
    before = replies.count()
    box = where.locator("#qa-question textarea")
    box.wait_for(state="visible", timeout=WAIT_MS)
    if hasattr(where, "wait_for_function"):
        # On a loaded machine an Enter pressed before Gradio's client has started (it sets
        # gradio_api_info once connected) is lost: wait for it first.
        where.wait_for_function("() => !!window.gradio_api_info", timeout=WAIT_MS)
    box.fill(question)
    box.press("Enter")
    deadline = time.monotonic() + WAIT_MS / 1000
    while replies.count() <= before:
        assert time.monotonic() < deadline, "no reply within the time limit"
        time.sleep(0.1)
    reply = replies.nth(before)
    reply.wait_for(state="visible", timeout=WAIT_MS)
    return reply


def check_reply(reply, expected: dict) -> None:
    first = expected["citations"][0]
    assert squash(reply.locator("mark").first.inner_text()) == squash(first["text"])
    assert first["doc"] in reply.locator(".qa-doc").first.inner_text()
    if first["section"]:
        assert reply.locator(".qa-section").first.inner_text() == first["section"]
    if expected["found"]:
        assert reply.locator("strong.qa-answer").inner_text() == expected["answer"]
        assert reply.locator("mark.qa-hit").count() >= 1
        assert "置信度" in reply.locator(".qa-badge").inner_text()
    else:
        assert "报告中没有找到答案" in reply.inner_text()


def test_chat_highlights_the_answer_and_shows_the_source(watched, live):
    page, _ = watched
    expected = api_ask(live, QUESTION)
    page.goto(live.url + "/")
    reply = ask(page, QUESTION)
    check_reply(reply, expected)
    page.wait_for_timeout(300)  # let the chat finish scrolling
    page.screenshot(path=str(SHOTS / "chat.png"))

    # 查看原文: the whole report in an overlay, the span highlighted and in view.
    reply.locator("a.qa-open-source").first.click()
    frame = page.frame_locator("#qa-source-overlay iframe")
    hit = frame.locator("#hit")
    hit.wait_for(timeout=WAIT_MS)
    assert hit.inner_text() == expected["citations"][0]["text"]
    report = frame.locator("pre.report").inner_text()
    assert len(report) > 10 * len(expected["citations"][0]["context"]) / 2
    in_view = """el => { const r = el.getBoundingClientRect();
                         return r.top >= 0 && r.bottom <= window.innerHeight && r.top > 40; }"""
    deadline = time.monotonic() + 10
    while not hit.evaluate(in_view):
        assert time.monotonic() < deadline, "the highlighted span was not scrolled into view"
        time.sleep(0.1)
    page.screenshot(path=str(SHOTS / "source.png"))
    page.keyboard.press("Escape")
    assert page.locator("#qa-source-overlay").count() == 0

    # 清空 resets the conversation, and so does the chat's own 🗑 icon: what comes after
    # either starts a new conversation (the history lives on the server).
    for clear in (page.locator("#qa-clear"), page.locator("#qa-chat .icon-button").first):
        clear.click()
        page.locator(".qa-reply").first.wait_for(state="detached", timeout=WAIT_MS)
        ask(page, QUESTION)
        assert page.locator(".qa-reply").count() == 1


#: a three-turn conversation: a follow-up (read with the first turn's topic), then a
#: question with a topic of its own (read as typed).
CONVERSATION = ["签约了多少个项目？", "总投资呢？", "实际利用外资多少？"]


def hold_conversation(where, live) -> list:
    """Ask CONVERSATION in the chat ``where``; each reply as the API answers the same
    question with the same history, 理解为 shown exactly when the question was reread."""
    replies = []
    for n, question in enumerate(CONVERSATION):
        expected = api_ask(live, question, CONVERSATION[:n])
        reply = ask(where, question)
        check_reply(reply, expected)
        understood = reply.locator(".qa-understood")
        if expected["understood_as"] != question:
            assert understood.inner_text() == "理解为：" + expected["understood_as"]
        else:
            assert understood.count() == 0
        replies.append((reply, expected))
    return replies


def test_chat_holds_a_conversation_with_follow_ups(watched, live):
    page, _ = watched
    page.goto(live.url + "/")
    replies = hold_conversation(page, live)
    first, second, third = (e for _, e in replies)
    assert second["understood_as"] == "签约项目的总投资是多少？"
    assert "364.2亿元" in second["answer"]
    assert first["understood_as"] == CONVERSATION[0] and third["understood_as"] == CONVERSATION[2]
    # the README's picture: the follow-up (its question, 理解为 and answer) at the top
    page.wait_for_timeout(300)
    page.locator(".qa-question").nth(1).evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "followup.png"))
    # 清空 starts a new conversation: the same follow-up now has nothing to continue
    page.locator("#qa-clear").click()
    page.locator(".qa-reply").first.wait_for(state="detached", timeout=WAIT_MS)
    assert ask(page, CONVERSATION[1]).locator(".qa-understood").count() == 0


def test_widget_holds_a_conversation_with_follow_ups(watched, live):
    page, _ = watched
    page.goto(live.allowed + "/intranet.html")
    page.get_by_role("button", name="问答").click()
    frame = page.frame_locator("iframe[title='报告问答']")
    frame.locator("#qa-chat").wait_for(timeout=WAIT_MS)
    replies = hold_conversation(frame, live)
    assert replies[1][0].locator(".qa-understood").count() == 1


def test_question_markup_is_shown_as_text(watched, live):
    page, watch = watched
    hostile = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>'
    page.goto(live.url + "/")
    ask(page, hostile)
    assert page.locator(".qa-question").last.inner_text() == hostile
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
    assert not watch.dialogs


def test_not_found_says_so_and_shows_the_nearest_passages(watched, live):
    page, _ = watched
    expected = api_ask(live, UNANSWERABLE)
    assert not expected["found"], f"the engine now answers {UNANSWERABLE!r}; pick another"
    page.goto(live.url + "/")
    reply = ask(page, UNANSWERABLE)
    assert "报告中没有找到答案" in reply.locator(".qa-head").inner_text()
    assert reply.locator(".qa-cite").count() == len(expected["citations"])
    if expected["citations"]:
        check_reply(reply, expected)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "not-found.png"))


def test_widget_on_an_allowlisted_intranet_page(watched, live):
    page, _ = watched
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live.allowed + "/intranet.html")
    launcher = page.get_by_role("button", name="问答")
    launcher.click()
    assert launcher.get_attribute("aria-expanded") == "true"
    frame = page.frame_locator("iframe[title='报告问答']")
    # An example question under the empty chat asks straight away.
    example = frame.get_by_text(QUESTION).first
    example.wait_for(timeout=WAIT_MS)
    expected = api_ask(live, QUESTION)
    example.click()
    reply = frame.locator(".qa-reply").first
    reply.wait_for(timeout=WAIT_MS)
    check_reply(reply, expected)
    embed = next(f for f in page.frames if f.url.startswith(live.url))
    assert embed.url == live.url + "/embed/"
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "widget.png"))
    # A typed question too, then close the panel.
    check_reply(ask(frame, "吸引了多少名人才回乡？"), api_ask(live, "吸引了多少名人才回乡？"))
    page.get_by_role("button", name="关闭").click()
    assert launcher.get_attribute("aria-expanded") == "false"


def test_the_iframe_snippet_works_on_an_allowlisted_page(watched, live):
    page, _ = watched
    page.goto(live.allowed + "/iframe.html")
    frame = page.frame_locator("iframe")
    frame.locator("#qa-chat").wait_for(timeout=WAIT_MS)
    check_reply(ask(frame, QUESTION), api_ask(live, QUESTION))


@pytest.mark.parametrize("page_path", ["/intranet.html", "/iframe.html", "/iframe-root.html"])
def test_an_origin_off_the_list_cannot_frame_the_chat(watched, live, request, page_path):
    request.node.expected_csp = ("frame-ancestors",)
    page, watch = watched
    page.goto(live.denied + page_path)
    if page_path == "/intranet.html":
        page.get_by_role("button", name="问答").click()
    deadline = time.monotonic() + 15
    while not any("frame-ancestors" in m for m in watch.console):
        assert time.monotonic() < deadline, f"Chromium did not refuse the frame: {watch.console}"
        page.wait_for_timeout(100)
    children = [f for f in page.frames if f is not page.main_frame]
    assert children, "the page should have tried to frame the chat"
    for frame in children:
        assert not frame.url.startswith(live.url), f"framed from {live.denied}: {frame.url}"
        assert frame.locator("#qa-chat").count() == 0


def test_api_docs_load_offline(watched, live):
    page, _ = watched
    page.goto(live.url + "/docs")
    page.locator(".swagger-ui .opblock").first.wait_for(timeout=WAIT_MS)
    assert "/api/ask" in page.locator(".swagger-ui").inner_text()
