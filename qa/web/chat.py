"""The Gradio chat at ``/`` and its compact variant at ``/embed/`` (for an iframe or the
widget): one conversation per browser session, kept on the server. Each question is asked
with the conversation's earlier questions as ``history`` (a follow-up such as 总投资呢？ is
read with their topic, and the reply shows 理解为：… when it was)."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
from fastapi import FastAPI

from qa.errors import BadQuestion, UsageError
from qa.web.constants import STATIC
from qa.web.render import esc, label_citations, render_answer, render_error, render_question

if TYPE_CHECKING:
    from qa.assistant import Assistant

log = logging.getLogger(__name__)

MAX_TURNS = 50  # answers kept per browser session


def make_theme() -> gr.themes.Base:
    # System fonts only: a named Google font would make every page call fonts.googleapis.com.
    sans = [
        "Noto Sans CJK SC",
        "Source Han Sans SC",
        "PingFang SC",
        "Microsoft YaHei",
        "sans-serif",
    ]
    mono = ["Noto Sans Mono CJK SC", "DejaVu Sans Mono", "monospace"]
    return gr.themes.Default(primary_hue="blue", font=sans, font_mono=mono)


def _header(stats: dict[str, Any]) -> None:
    subtitle = f"{stats.get('documents', '?')} 份报告 · {stats.get('paragraphs', '?')} 个段落"
    # Markdown, not gr.HTML: Gradio 6 evaluates gr.HTML templates with `new Function`,
    # which the page's Content-Security-Policy (no 'unsafe-eval') refuses.
    gr.Markdown(
        "# 报告问答\n\n答案逐字摘自报告原文，并注明出处。"
        f"{esc(subtitle)} · [API 文档](/docs)",
        elem_classes=["qa-title"],
        sanitize_html=True,
    )


def _chatbot(compact: bool, examples: Sequence[str]) -> gr.Chatbot:
    return gr.Chatbot(
        show_label=False,
        elem_id="qa-chat",
        # The embed view: the chat takes the iframe's height less the input row.
        height="calc(100dvh - 84px)" if compact else 560,
        sanitize_html=True,
        latex_delimiters=[],
        feedback_options=None,
        buttons=[],
        layout="panel" if compact else "bubble",
        group_consecutive_messages=False,
        placeholder="<div class='qa-placeholder'>请输入关于报告的问题，或点一个示例问题。</div>",
        examples=[{"text": q} for q in examples] or None,
    )


def _input_row(compact: bool, max_chars: int) -> tuple[gr.Textbox, gr.Button, gr.Button]:
    """The question box (stops typing at the engine's own limit) and the two buttons."""
    with gr.Row(equal_height=True, elem_id="qa-input-row"):
        box = gr.Textbox(
            show_label=False,
            placeholder="输入问题，回车提问" if compact
            else f"输入问题，按回车提问（最多 {max_chars} 字）",
            max_length=max_chars,
            lines=1,
            scale=8,
            autofocus=not compact,
            elem_id="qa-question",
            container=False,
        )
        send = gr.Button("提问", variant="primary", scale=1, min_width=72, elem_id="qa-send")
        reset = gr.Button("清空", variant="secondary", scale=1, min_width=72, elem_id="qa-clear")
    return box, send, reset


def _scope_box() -> gr.Textbox:
    """The report the chat asks (an id of GET /api/reports, "" for all): set by the shelf
    panel of chat.js (只问这份报告) or by the widget's data-report; never shown."""
    return gr.Textbox(value="", show_label=False, container=False, max_length=200,
                      elem_id="qa-scope", elem_classes=["qa-hidden"])


_ASKED = '<div class="qa-question">'


def asked_before(history: Sequence[dict[str, Any]]) -> list[str]:
    """The conversation's earlier questions, oldest first, read back from its messages
    (``render_question``): the history a follow-up (总投资呢？) is read with."""
    asked = []
    for message in history:
        content = message.get("content") if isinstance(message, dict) else None
        if (message.get("role") == "user" and isinstance(content, str)
                and content.startswith(_ASKED) and content.endswith("</div>")):
            asked.append(html.unescape(content[len(_ASKED):-len("</div>")]))
    return asked


def scoped_reply(assistant: Any, question: str, scope: Any, clip: int,
                 history: Sequence[str] = ()) -> str:
    """The reply to ``question`` from the report ``scope`` names (all when empty), its
    citations labelled with their reports' titles; ``history``: the earlier questions."""
    report_id = scope.strip() if isinstance(scope, str) else ""
    try:
        docs = assistant.resolve([report_id]) if report_id else None
        answer = assistant.ask(question, reports=docs, history=list(history)).to_dict()
        return render_answer(label_citations(answer, assistant.entries()), clip=clip)
    except (BadQuestion, UsageError) as exc:
        return render_error(str(exc))
    except Exception:
        log.exception("chat turn failed for a %d-character question", len(question))
        return render_error("出错了，请稍后再试。/ Internal error, please try again.")


def build_chat(
    assistant: Assistant, *, compact: bool, examples: Sequence[str], stats: dict[str, Any]
) -> gr.Blocks:
    """The chat UI; ``compact`` is the /embed variant (no header, fills its iframe)."""

    def turn(question: Any, history: list[dict[str, str]] | None,
             scope: Any = "") -> tuple[Any, Any, Any]:
        history = list(history or [])
        if not isinstance(question, str) or not question.strip():
            return gr.skip(), gr.skip(), gr.skip()
        reply = scoped_reply(assistant, question, scope, 60 if compact else 0,
                             asked_before(history))
        history += [
            {"role": "user", "content": render_question(question)},
            {"role": "assistant", "content": reply},
        ]
        history = history[-2 * MAX_TURNS :]
        return history, history, ""

    def example(history: list[dict[str, str]] | None, scope: Any,
                evt: gr.SelectData) -> tuple[Any, ...]:
        value = evt.value if isinstance(evt.value, dict) else {}
        return turn(value.get("text", ""), history, scope)

    def clear() -> tuple[list, list, str]:
        return [], [], ""

    def ask(question: str, top_k: int = 3, history: list[str] | None = None) -> dict:
        """The answer object of docs/CONTRACT.md, for gradio_client users; ``history``: the
        conversation's earlier questions, oldest first, as /api/ask takes them."""
        try:
            return assistant.ask(question, top_k=int(top_k), history=history).to_dict()
        except BadQuestion as exc:
            raise gr.Error(str(exc)) from None

    with gr.Blocks(
        title="报告问答",
        analytics_enabled=False,
        fill_width=compact,
    ) as demo:
        history = gr.State([])
        if not compact:
            _header(stats)
        chatbot = _chatbot(compact, examples)
        box, send, reset = _input_row(compact, assistant.settings.max_question_chars)
        scope = _scope_box()

        outputs = [chatbot, history, box]
        box.submit(turn, [box, history, scope], outputs, api_name="chat")
        send.click(turn, [box, history, scope], outputs, api_visibility="private")
        chatbot.example_select(example, [history, scope], outputs, api_visibility="private")
        reset.click(clear, None, outputs, api_name="clear")
        # The chat's own 🗑 button empties the chat in the browser at once; the server only
        # forgets the history. It leaves the question box alone: resetting it too would
        # wipe a question typed right after the click, when the reply to the click lands.
        chatbot.clear(lambda: ([], []), None, [chatbot, history], api_visibility="private")
        gr.api(ask, api_name="ask")
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


def mount_chats(
    app: FastAPI,
    assistant: Assistant,
    *,
    examples: Sequence[str],
    stats: dict[str, Any],
    blocked_paths: Sequence[str | Path] = (),
) -> None:
    """Mount the compact chat at /embed and the full chat at /, with every Gradio extra
    the chat does not need (uploads, monitoring, PWA, MCP, SSR) turned off."""
    common: dict[str, Any] = dict(
        footer_links=[],
        run_history=False,
        enable_monitoring=False,
        pwa=False,
        mcp_server=False,
        ssr_mode=False,
        show_error=False,
        max_file_size="1kb",
        blocked_paths=[str(Path(p).resolve()) for p in blocked_paths],
        theme=make_theme(),
        head='<script src="/qa-assets/chat.js" defer></script>',
    )
    embed = build_chat(assistant, compact=True, examples=examples, stats=stats)
    gr.mount_gradio_app(
        app, embed, path="/embed", css_paths=[STATIC / "chat.css", STATIC / "embed.css"], **common
    )
    chat = build_chat(assistant, compact=False, examples=examples, stats=stats)
    gr.mount_gradio_app(app, chat, path="/", css_paths=[STATIC / "chat.css"], **common)
