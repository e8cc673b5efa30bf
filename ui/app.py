"""The chat in the browser: a Gradio app around one `Assistant`.

Thin on purpose. `Chat.respond(message, history)` is a generator that calls the assistant
and yields the chat as the answer streams in; `ui.render` turns answers into HTML. The
same app exposes `/ask` for programs (the `Answer` JSON, as the Python API returns it).

Safety defaults live here: the server binds 127.0.0.1 unless told otherwise, never opens
a share link, sends no analytics, loads no outside fonts, and a queue with a concurrency
limit keeps one slow question from stalling everyone. `AssistantHolder` swaps in a
rebuilt index atomically while the server runs. Not handled: uploading documents from
the page (build the index with `assistant index build`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read by gradio at Blocks() time

import gradio as gr  # noqa: E402

from assistant import Answer, Assistant, IndexInfo  # noqa: E402
from assistant.errors import AssistantError, InvalidQuestion  # noqa: E402
from assistant.settings import DEFAULT_DOCUMENT  # noqa: E402

from . import render  # noqa: E402
from .holder import AssistantHolder, as_holder  # noqa: E402 - AssistantHolder stays importable from ui.app

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

DESCRIPTION = ("Ask a question about this document. Every answer is made of quotes copied word for word "
               "from it, each marked [n] with its source below; when the document doesn't say, the assistant says so.")

# For the bundled article; the last one the article cannot answer.
BUNDLED_EXAMPLES = [
    "What does North Korea hope to get from Russia in return for its support?",
    "How did relations between North Korea and Russia change after the Soviet Union collapsed?",
    "How are South Korea and Japan reacting to the alliance?",
    "How many artillery shells has North Korea sent to Russia?",
]
GENERIC_EXAMPLES = [
    "What is this document about?",
    "What are the main conclusions?",
    "Who are the people mentioned?",
    "What does the document say about the weather on Mars?",
]

CONCURRENCY = 8       # answers computed at once; the rest wait in the queue
MAX_QUEUE = 512       # waiting events beyond this are refused with "queue full"
STREAM_PAUSE = 0.04   # seconds between streamed quotes, so the answer visibly streams in
INTERNAL_ERROR = "Something went wrong while answering this question. Please try again."

CSS = """
.ga-header h1 { margin: 0.1em 0 0.15em; font-size: 1.55rem; line-height: 1.25; }
.ga-description { margin: 0 0 0.3em; color: var(--body-text-color); opacity: 0.8; }
.ga-question { white-space: pre-wrap; max-height: 14em; overflow-y: auto; }
.ga-quotes { display: flex; flex-direction: column; gap: 0.45em; }
.ga-quote { margin: 0; padding-left: 0.7em; border-left: 3px solid var(--color-accent); }
.ga-quote-text { white-space: pre-wrap; }
.ga-marker { font-weight: 600; white-space: nowrap; text-decoration: none; color: var(--link-text-color); }
.ga-sources { margin-top: 0.8em; padding-top: 0.5em; border-top: 1px solid var(--border-color-primary); }
.ga-sources-title { font-size: 0.78em; font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--body-text-color-subdued); margin-bottom: 0.25em; }
.ga-source { margin: 0.2em 0; }
.ga-source summary { cursor: pointer; }
.ga-source.ga-flash > summary { background: var(--color-accent-soft); border-radius: 4px; }
.ga-source-n { font-weight: 600; }
.ga-where { color: var(--body-text-color); }
.ga-quoted { display: block; font-size: 0.8em; color: var(--body-text-color-subdued); margin: 0.2em 0 0; }
.ga-passage { white-space: pre-wrap; font-size: 0.92em; line-height: 1.5; margin: 0.3em 0 0.5em;
  padding: 0.55em 0.75em; border-radius: 6px; background: var(--background-fill-secondary); }
.ga-passage mark { background: #fde68a; color: #1f2937; padding: 0 0.1em; border-radius: 2px; }
.ga-abstain-text { padding-left: 0.7em; border-left: 3px solid #d97706; font-style: italic; }
.ga-related .ga-sources-title { color: #b45309; }
.ga-notice { color: #b91c1c; }
.ga-pending { color: var(--body-text-color-subdued); font-style: italic; }
.ga-info-title { font-weight: 600; margin-bottom: 0.4em; }
.ga-docs { margin: 0 0 0.6em; padding-left: 1.1em; }
.ga-doc-title { display: block; font-weight: 600; }
.ga-doc-facts { display: block; font-size: 0.85em; color: var(--body-text-color-subdued); word-break: break-all; }
.ga-info dl { display: grid; grid-template-columns: auto 1fr; gap: 0.25em 0.7em; margin: 0; }
.ga-info dt { color: var(--body-text-color-subdued); }
.ga-info dd { margin: 0; word-break: break-word; }
"""

# A marker [n] opens and shows its source (browsers do not open a closed <details> for a #link).
JS = """
() => {
  document.addEventListener("click", (event) => {
    const marker = event.target.closest ? event.target.closest("a.ga-marker") : null;
    if (!marker) return;
    const source = document.getElementById((marker.getAttribute("href") || "").slice(1));
    if (!source) return;
    event.preventDefault();
    source.open = true;
    source.scrollIntoView({ block: "nearest", behavior: "smooth" });
    source.classList.add("ga-flash");
    setTimeout(() => source.classList.remove("ga-flash"), 1500);
  }, true);
}
"""

# Fonts come from the page's own server (Gradio bundles them) or the system: nothing from
# outside hosts. Only the regular and bold files of Source Sans Pro are complete (Gradio's
# SemiBold is a small subset), so semibold text is drawn with the bold file.
THEME = gr.themes.Default(
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
)


def examples_for(info: IndexInfo) -> list[str]:
    bundled = any(Path(str(d.get("path", ""))).name == DEFAULT_DOCUMENT.name for d in info.documents)
    return BUNDLED_EXAMPLES if bundled else GENERIC_EXAMPLES


class Chat:
    """The chat's behaviour, separate from its layout (see `build_app`)."""

    def __init__(self, holder: AssistantHolder, stream_pause: float = STREAM_PAUSE):
        self.holder = holder
        self.stream_pause = stream_pause

    @property
    def show_doc(self) -> bool:
        return len(self.holder.info.documents) > 1

    def respond(self, message: str, history: list[dict]) -> Iterator[list[dict]]:
        """Yield the chat (`history` plus this question and its answer so far) as the answer streams in.

        Never raises: a refused question or an internal error becomes a short notice in the chat."""
        history = list(history or [])
        asked = history + [{"role": "user", "content": render.question_html(message)}]
        yield asked + [{"role": "assistant", "content": render.pending_html()}]
        try:
            answer = self.holder.get().ask(message, render.questions_from_history(history))
            steps = list(render.answer_steps(answer, self.show_doc))
        except InvalidQuestion as exc:
            yield asked + [{"role": "assistant", "content": render.notice_html(str(exc), "refused")}]
            return
        except AssistantError as exc:
            log.warning("question failed: %s", exc)
            yield asked + [{"role": "assistant", "content": render.notice_html(str(exc))}]
            return
        except Exception:  # noqa: BLE001 - the page shows a short message, the log keeps the traceback
            log.exception("internal error while answering %r", message[:200])
            yield asked + [{"role": "assistant", "content": render.notice_html(INTERNAL_ERROR)}]
            return
        for i, step in enumerate(steps):
            if i and self.stream_pause:
                time.sleep(self.stream_pause)
            yield asked + [{"role": "assistant", "content": step}]

    def ask_api(self, question: str, history: list[str] | None = None) -> dict:
        """Answer a question about the indexed documents with verbatim, cited quotes.

        Returns the `Answer` as JSON, the same payload as `Assistant.ask(...)` in Python."""
        try:
            answer: Answer = self.holder.get().ask(question, list(history or []))
        except AssistantError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:  # noqa: BLE001
            log.exception("internal error in /ask for %r", str(question)[:200])
            raise gr.Error(INTERNAL_ERROR, print_exception=False) from None
        return answer.model_dump(mode="json")

    # -- event handlers: `respond` plus what the textbox should do meanwhile

    def _run(self, message: str, history: list[dict]):
        if not isinstance(message, str) or not message.strip():
            yield gr.skip(), gr.skip()   # empty input: nothing happens
            return
        busy = gr.update(value="", interactive=False)
        for chat in self.respond(message, history):
            yield chat, busy
        yield gr.skip(), gr.update(interactive=True)

    def on_submit(self, message: str, history: list[dict]):
        yield from self._run(message, history)

    def on_example(self, history: list[dict], evt: gr.SelectData):
        value = evt.value
        yield from self._run(value.get("text", "") if isinstance(value, dict) else str(value), history)

    def on_retry(self, history: list[dict], evt: gr.RetryData):
        i = _index(evt.index)
        yield from self._run(_question_at(history, i), history[:i])

    def on_undo(self, history: list[dict], evt: gr.UndoData):
        i = _index(evt.index)
        return history[:i], gr.update(value=_question_at(history, i), interactive=True)

    def info_html(self) -> str:
        return render.info_html(self.holder.info)


def _index(index: int | tuple[int, int] | list[int]) -> int:
    return index if isinstance(index, int) else int(index[0])


def _question_at(history: list[dict], i: int) -> str:
    return render.question_from_html(render.message_text(history[i]["content"])) if 0 <= i < len(history) else ""


def build_app(holder: AssistantHolder | Assistant, stream_pause: float = STREAM_PAUSE) -> gr.Blocks:
    """The Gradio app (not launched). Accepts an `Assistant` for a fixed index."""
    holder = as_holder(holder)
    chat = Chat(holder, stream_pause)
    title = holder.get().title or "Grounded assistant"
    examples = examples_for(holder.info)

    with gr.Blocks(title=f"{title} · grounded assistant", analytics_enabled=False, fill_height=True) as demo:
        with gr.Sidebar(label="Index", open=True, position="right", width=300):
            info = gr.HTML(chat.info_html(), elem_id="ga-info", js_on_load=None)
        gr.HTML(render.header_html(title, DESCRIPTION), elem_id="ga-header", js_on_load=None)
        chatbot = gr.Chatbot(
            elem_id="ga-chat", label="Chat", show_label=False, scale=1, height="65vh", min_height=320,
            render_markdown=False, sanitize_html=True, allow_tags=False, latex_delimiters=[],
            buttons=[], feedback_options=None, layout="bubble",
            examples=[{"text": q} for q in examples],
            placeholder="Ask a question below, or pick an example.",
        )
        textbox = gr.Textbox(
            elem_id="ga-input", show_label=False, placeholder="Ask a question about the document…",
            lines=1, max_lines=6, autofocus=True, submit_btn="Ask", container=False,
        )
        run = {"outputs": [chatbot, textbox], "concurrency_id": "answer", "show_progress": "hidden",
               "trigger_mode": "once", "api_visibility": "undocumented"}
        refresh = {"fn": chat.info_html, "inputs": None, "outputs": info, "queue": False,
                   "api_visibility": "undocumented"}
        textbox.submit(chat.on_submit, [textbox, chatbot], **run).then(**refresh)
        chatbot.example_select(chat.on_example, [chatbot], **run).then(**refresh)
        chatbot.retry(chat.on_retry, [chatbot], **run).then(**refresh)
        chatbot.undo(chat.on_undo, [chatbot], [chatbot, textbox], queue=False, api_visibility="undocumented")
        chatbot.clear(lambda: gr.update(value="", interactive=True), None, textbox, queue=False,
                      api_visibility="undocumented")
        demo.load(**refresh)
        gr.api(chat.ask_api, api_name="ask", concurrency_id="answer")

    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=MAX_QUEUE)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860,
           auth: tuple[str, str] | None = None, api: "FastAPI | None" = None,
           served: "AssistantHolder | Assistant | None" = None) -> str:
    """Start serving `demo` at `/` in a background thread; return its address once it answers.

    With `api` (ui.rest.build_api), that app answers at `/v1` and, with `served`, `/healthz`
    on the same server. `demo.close()` stops everything.
    """
    from gradio import http_server
    from starlette.routing import Mount

    from .rest import server_app

    app = server_app(api, served)
    gr.mount_gradio_app(
        app, demo, path="/", server_name=host, server_port=port, auth=auth, show_error=False, theme=THEME, css=CSS,
        js=JS, footer_links=["api"], run_history=False, enable_monitoring=False, mcp_server=False, ssr_mode=False,
        pwa=False, auth_message="Sign in to ask questions about the indexed documents." if auth else None,
    )
    chat_app = next(r.app for r in app.routes if isinstance(r, Mount) and r.app is not api)
    _, port, url, server = http_server.start_server(app, server_name=host, server_port=port)
    # What Blocks.launch would have set, so that demo.close() stops this server and its queue.
    demo.server, demo.server_app, demo.app = server, chat_app, chat_app
    demo.server_name, demo.server_port, demo.local_url = host, port, url
    return f"http://{host}:{port}"
