"""Feedback and suggested questions in headless Chromium (as test_browser.py): 👍 under an
answer; 👎, a span selected in the shown paragraph and sent as the correction, and
`qa feedback export` then holds that span as the answer; 报告里没有这个答案 in the widget's
embed view; the suggested questions when the chat opens and after an abstention."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from webfixtures import ROOT

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)",
                allow_module_level=True)

import test_browser  # noqa: E402
from test_browser import QUESTION, UNANSWERABLE, WAIT_MS, api_ask, ask  # noqa: E402

# test_browser's fixtures: the live server, Chromium, a page watched for foreign requests,
# page errors, CSP violations and failed responses.
live, browser, watched = test_browser.live, test_browser.browser, test_browser.watched

CORRECTED = "总投资364.2亿元"  # a span of the shown paragraph the reader marks as right

# Selects the first occurrence of `text` in the reply's shown paragraph, across the text
# nodes it may span, as a reader's drag would.
SELECT = """(el, text) => {
  const box = el.querySelector('.qa-context');
  const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
  const nodes = []; let all = '';
  while (walker.nextNode()) { nodes.push([walker.currentNode, all.length]); all += walker.currentNode.data; }
  const at = all.indexOf(text);
  if (at < 0) return false;
  const point = (i) => { for (const [n, o] of nodes) if (i <= o + n.data.length) return [n, i - o]; };
  const range = document.createRange();
  range.setStart(...point(at)); range.setEnd(...point(at + text.length));
  const sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
  return true;
}"""


def exported(live) -> list[dict]:
    env = dict(os.environ, QA_DATA_DIR=str(live.data), PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "qa", "feedback", "export"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


def wait_for_text(locator, text: str) -> None:
    deadline = time.monotonic() + WAIT_MS / 1000
    while text not in locator.inner_text():
        assert time.monotonic() < deadline, f"{text!r} never shown: {locator.inner_text()!r}"
        time.sleep(0.1)


def test_vote_down_select_the_right_span_and_export_it(watched, live):
    page, _ = watched
    expected = api_ask(live, QUESTION)
    context = expected["citations"][0]["context"]
    assert CORRECTED in context and CORRECTED != expected["answer"]
    page.goto(live.url + "/")
    reply = ask(page, QUESTION)
    reply.locator(".qa-fb-up").wait_for(timeout=WAIT_MS)
    reply.locator(".qa-fb-up").click()
    wait_for_text(reply.locator(".qa-fb-status"), "谢谢反馈")

    reply = ask(page, QUESTION)
    reply.locator(".qa-fb-down").wait_for(timeout=WAIT_MS)
    reply.locator(".qa-fb-down").click()
    assert reply.locator(".qa-cite").first.evaluate(SELECT, CORRECTED)
    reply.locator(".qa-fb-fix").click()
    wait_for_text(reply.locator(".qa-fb-status"), "谢谢反馈")
    page.screenshot(path=str(Path(os.environ.get("QA_SCREENSHOTS") or live.data)
                             / "feedback.png"))

    items = [i for i in exported(live) if i["question"] == QUESTION]
    assert [i["answers"] for i in items] == [[CORRECTED]]  # the latest vote on the question
    assert CORRECTED in items[0]["evidence"] and items[0]["type"] == "numeric"


def test_a_selection_outside_the_answer_is_asked_for_first(watched, live):
    page, _ = watched
    page.goto(live.url + "/")
    reply = ask(page, "吸引了多少名人才回乡？")
    reply.locator(".qa-fb-down").wait_for(timeout=WAIT_MS)
    reply.locator(".qa-fb-down").click()
    reply.locator(".qa-fb-fix").click()  # nothing selected yet
    wait_for_text(reply.locator(".qa-fb-status"), "请先在本条回答的段落中选中")


def test_not_in_report_from_the_widget(watched, live):
    page, _ = watched
    question = "吸引了多少名人才回乡？"
    page.goto(live.allowed + "/intranet.html")
    page.get_by_role("button", name="问答").click()
    frame = page.frame_locator("iframe[title='报告问答']")
    reply = ask(frame, question)
    reply.locator(".qa-fb-down").click()
    reply.locator(".qa-fb-none").click()
    wait_for_text(reply.locator(".qa-fb-status"), "谢谢反馈")
    items = [i for i in exported(live) if i["question"] == question]
    assert items and items[-1]["answers"] == [] and items[-1]["type"] == "unanswerable"


def test_suggested_questions_when_the_chat_opens_and_after_an_abstention(watched, live):
    page, _ = watched
    offered = httpx.get(f"{live.url}/api/suggestions", timeout=60).json()["suggestions"]
    assert len(offered) >= 3
    page.goto(live.url + "/")
    chips = page.locator("#qa-suggest .qa-suggest-chip")
    chips.first.wait_for(timeout=WAIT_MS)
    assert [chips.nth(i).inner_text() for i in range(chips.count())] == [
        s["question"] for s in offered]
    chips.first.click()  # asks it
    reply = page.locator(".qa-reply").first
    reply.wait_for(timeout=WAIT_MS)
    assert reply.locator("strong.qa-answer").inner_text() == offered[0]["answer"]
    page.locator("#qa-suggest").wait_for(state="hidden", timeout=WAIT_MS)  # answered: gone
    reply = ask(page, UNANSWERABLE)
    assert "报告中没有找到答案" in reply.inner_text()
    page.locator("#qa-suggest").wait_for(state="visible", timeout=WAIT_MS)
    assert chips.count() == len(offered)
    page.screenshot(path=str(Path(os.environ.get("QA_SCREENSHOTS") or live.data)
                             / "suggestions.png"))
