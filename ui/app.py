"""The chat in the browser: a Gradio app around one `Assistant`.

Thin on purpose. `Chat.respond(message, history)` is a generator that calls the assistant
and yields the chat as the answer streams in; `ui.render` turns answers into HTML. The
same app exposes `/ask` for programs (the `Answer` JSON, as the Python API returns it).

Safety defaults live here: the server binds 127.0.0.1 unless told otherwise, never opens
a share link, sends no analytics, loads no outside fonts, and a queue with a concurrency
limit keeps one slow question from stalling everyone. `AssistantHolder` swaps in a
rebuilt index atomically while the server runs. With uploads on, a documents panel adds
and removes documents through `assistant.library.Library` (the same incremental build and
atomic swap as the CLI); `serve --read-only` leaves the panel out. The panel, the "Search in"
choice, the Remove list, the title and the examples are read from the index served on every page
load, after every change and every `TICK_SECONDS` (a rebuild from the command line shows without a
restart, the examples too); uploads picked during a build wait in the queue. "Open in document" shows the document
beside the chat with every quote of the source marked and, for a PDF, its page drawn with the
quotes boxed (`ui.pages`). The chat is kept in the browser's own storage (`gr.BrowserState`),
never on the server; "Clear" can be undone.
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
from assistant.library import Library, LibraryDocument, readable_types  # noqa: E402
from assistant.settings import DEFAULT_DOCUMENT  # noqa: E402

from . import render  # noqa: E402
from .holder import AssistantHolder, as_holder  # noqa: E402 - AssistantHolder stays importable from ui.app

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

DESCRIPTION = ("Ask a question about this document. Every answer is made of quotes copied word for word "
               "from it, each marked [n] with its source below; when the document doesn't say, the assistant says so.")
DESCRIPTION_MANY = ("Ask a question about these {n} documents. Every answer is made of quotes copied word for word "
                    "from them, each marked [n] with its source below; when the documents don't say, the assistant "
                    "says so.")

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
:root { --ga-subdued: #4b5563; }
.dark { --ga-subdued: #a3acb9; }
#ga-upload .or, footer .show-api, footer .show-api * { color: var(--ga-subdued) !important; opacity: 1 !important; }
.ga-header h1 { margin: 0.1em 0 0.15em; font-size: 1.55rem; line-height: 1.25; }
.ga-description { margin: 0 0 0.3em; color: var(--body-text-color); opacity: 0.8; }
.ga-question { white-space: pre-wrap; max-height: 14em; overflow-y: auto; }
.ga-quotes { display: flex; flex-direction: column; gap: 0.45em; }
.ga-quote { margin: 0; padding-left: 0.7em; border-left: 3px solid var(--color-accent); }
.ga-quote-text { white-space: pre-wrap; }
.ga-marker { font-weight: 600; white-space: nowrap; text-decoration: none; color: var(--link-text-color); }
.ga-sources { margin-top: 0.8em; padding-top: 0.5em; border-top: 1px solid var(--border-color-primary); }
.ga-sources-title { font-size: 0.78em; font-weight: 600; text-transform: uppercase; letter-spacing: 0.05em;
  color: var(--ga-subdued); margin-bottom: 0.25em; }
.ga-source { margin: 0.2em 0; }
.ga-source summary { cursor: pointer; }
.ga-source.ga-flash > summary { background: var(--color-accent-soft); border-radius: 4px; }
.ga-source-n { font-weight: 600; }
.ga-where { color: var(--body-text-color); }
.ga-quoted { display: block; font-size: 0.8em; color: var(--ga-subdued); margin: 0.2em 0 0; }
.ga-passage { white-space: pre-wrap; font-size: 0.92em; line-height: 1.5; margin: 0.3em 0 0.5em;
  padding: 0.55em 0.75em; border-radius: 6px; background: var(--background-fill-secondary); }
.ga-passage mark { background: #fde68a; color: #1f2937; padding: 0 0.1em; border-radius: 2px; }
.ga-abstain-text { padding-left: 0.7em; border-left: 3px solid #d97706; font-style: italic; }
.ga-related .ga-sources-title { color: #b45309; }
.ga-notice { color: #b91c1c; }
.ga-pending { color: var(--ga-subdued); font-style: italic; }
.ga-info-title { font-weight: 600; margin-bottom: 0.4em; }
.ga-docs { margin: 0 0 0.6em; padding-left: 1.1em; }
.ga-doc-title { display: block; font-weight: 600; }
.ga-doc-facts { display: block; font-size: 0.85em; color: var(--ga-subdued); word-break: break-all; }
.ga-info dl { display: grid; grid-template-columns: auto 1fr; gap: 0.25em 0.7em; margin: 0; }
.ga-info dt { color: var(--ga-subdued); }
.ga-info dd { margin: 0; word-break: break-word; }
.ga-source > summary { display: flex; flex-wrap: wrap; gap: 0 0.4em; align-items: baseline; }
.ga-snippet { flex: 1 1 12em; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  font-size: 0.85em; color: var(--ga-subdued); }
.ga-open, .ga-copy { font-size: 0.85em; color: var(--link-text-color); cursor: pointer; }
.ga-actions { margin-top: 0.4em; display: flex; gap: 0.8em; }
.ga-copy-md { display: none; }
.ga-understood { margin-top: 0.5em; font-size: 0.85em; color: var(--ga-subdued); }
.ga-doc-title { font-weight: 600; margin-bottom: 0.3em; }
.ga-doc-text { white-space: pre-wrap; max-height: 55vh; overflow-y: auto; padding: 0.6em 0.8em; border-radius: 6px;
  background: var(--background-fill-secondary); line-height: 1.5; }
.ga-doc-text mark { background: #fde68a; color: #1f2937; }
.ga-doc-cut { font-size: 0.85em; color: var(--ga-subdued); margin: 0.2em 0; }
.ga-status { margin: 0.3em 0; padding-left: 1.1em; font-size: 0.9em; }
.ga-refused { color: #b91c1c; }
#ga-open-request, #ga-open-go { display: none !important; }
#ga-docview .ga-doc-text { max-height: calc(65vh - 5em); }
#ga-scope input[type=checkbox]:focus-visible, #ga-sidebar button:focus-visible, #ga-sidebar input:focus-visible,
#ga-main button:focus-visible, #ga-main a:focus-visible, #ga-chat summary:focus-visible {
  outline: 2px solid #2563eb !important; outline-offset: 2px; }
.ga-toggle-text { font-size: 0.8rem; font-weight: 600; margin-left: 0.25em; }
#ga-sidebar .toggle-button { transform: none !important; width: auto; padding: 0 0.6em 0 0.8em; gap: 0.1em;
  border-radius: var(--size-8) 0 0 var(--size-8) !important; border-left: 1px solid var(--border-color-primary) !important; }
#ga-sidebar:not(.open) .toggle-button .chevron { transform: rotate(180deg); padding: 0 0 0 8px; }
#ga-sidebar .sidebar-content { padding-top: 3.4em; }
@media (max-width: 640px) {
  .ga-header h1 { font-size: 1.15rem; margin: 0; }
  .ga-description { display: none; }
  #ga-chat .message-row.bubble, #ga-chat .message-row .message, #ga-chat .bubble .message-content,
  #ga-chat .message-wrap .message { max-width: 100% !important; box-sizing: border-box; }
  #ga-chat .message-row.bubble { margin-left: 0 !important; margin-right: 0 !important; }
}
@media (max-width: 768px) {
  .ga-header { padding-right: 7.5rem; }
  #ga-sidebar.sidebar { width: 85vw !important; right: -85vw !important; }
}
"""

# A marker [n] opens and shows its source (browsers do not open a closed <details> for a #link);
# "open in document" asks the server for the document through two hidden components; "copy"
# copies the answer's Markdown; message aria-labels become short plain text (Gradio puts the
# message's HTML there); the sidebar opens on wide screens only, so a phone sees the input.
JS = """
() => {
  // The words a screen reader should hear for a message: its question or quotes, not its sources.
  const plain = (html) => {
    const body = new DOMParser().parseFromString(html, "text/html").body;
    body.querySelectorAll(".ga-sources, .ga-actions, .ga-copy-md").forEach((e) => e.remove());
    const words = [], walk = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    while (walk.nextNode()) words.push(walk.currentNode.nodeValue);
    return words.join(" ");
  };
  const copy = (text) => {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand("copy"); area.remove();
    return Promise.resolve();
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest ? event.target.closest("a.ga-marker, a.ga-open, a.ga-copy") : null;
    if (!link) return;
    event.preventDefault();
    if (link.classList.contains("ga-copy")) {
      const md = link.closest(".ga-answer").querySelector(".ga-copy-md");
      copy(md ? md.textContent : "").then(() => {
        link.textContent = "copied"; setTimeout(() => { link.textContent = "copy"; }, 1500);
      });
      return;
    }
    if (link.classList.contains("ga-open")) {
      const box = document.querySelector("#ga-open-request textarea, #ga-open-request input");
      const go = document.querySelector("#ga-open-go");
      if (!box || !go) return;
      window.gaOpening = String(Date.now());
      box.value = link.getAttribute("href") + "#" + window.gaOpening;
      box.dispatchEvent(new Event("input", { bubbles: true }));
      setTimeout(() => go.click(), 50);
      return;
    }
    const source = document.getElementById((link.getAttribute("href") || "").slice(1));
    if (!source) return;
    source.open = true;
    source.scrollIntoView({ block: "nearest", behavior: "smooth" });
    source.classList.add("ga-flash");
    setTimeout(() => source.classList.remove("ga-flash"), 1500);
  }, true);
  const tidy = (el) => {
    const label = el.getAttribute("aria-label");
    if (label && label.includes("<")) {
      let text = plain(label).replace(/\\s+/g, " ").trim();
      if (text.length > 160) text = text.slice(0, 157) + "…";
      el.setAttribute("aria-label", text);
    }
  };
  new MutationObserver((changes) => {
    for (const c of changes) {
      if (c.type === "attributes") tidy(c.target);
      else c.addedNodes.forEach((n) => { if (n.querySelectorAll) { tidy(n); n.querySelectorAll("[aria-label]").forEach(tidy); } });
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-label"] });
  document.querySelectorAll("[aria-label]").forEach(tidy);
  const openWide = (tries) => {
    const bar = document.querySelector("#ga-sidebar");
    if (!bar) { if (tries > 0) setTimeout(() => openWide(tries - 1), 100); return; }
    if (window.innerWidth >= 1000 && !bar.classList.contains("open")) bar.querySelector(".toggle-button")?.click();
  };
  openWide(50);
  // The document view: once the requested document is drawn, its box scrolls to the quote
  // (centred) and the view itself comes into sight (below the chat on a phone).
  window.gaShowQuote = (tries = 60) => {
    const view = document.querySelector(`#ga-document [data-open="${window.gaOpening || ""}"]`)
      || (window.gaOpening ? null : document.querySelector("#ga-document .ga-doc"));
    const hit = view && view.querySelector("#ga-doc-hit");
    if (!hit || !hit.offsetParent) { if (tries > 0) setTimeout(() => window.gaShowQuote(tries - 1), 50); return; }
    const box = hit.closest(".ga-doc-text");
    const place = () => {
      if (box) box.scrollTop += hit.getBoundingClientRect().top - box.getBoundingClientRect().top
        - box.clientHeight / 2 + hit.getBoundingClientRect().height / 2;
      const at = hit.getBoundingClientRect();  // the quote itself in the window (below the chat on a phone)
      if (at.top < 0 || at.bottom > window.innerHeight) hit.scrollIntoView({ block: "center" });
    };
    place(); setTimeout(place, 250);
  };
  // After an answer: its question at the top of the chat, so the answer is read from its start.
  window.gaShowAnswer = () => {
    const started = Date.now();
    const place = () => {
      if (window.gaOpening && Number(window.gaOpening) >= started) return;  // a document opened since: leave it
      const questions = document.querySelectorAll("#ga-chat .ga-question");
      const last = questions[questions.length - 1];
      const row = last && (last.closest(".message-row") || last);
      if (!row) return;
      const box = row.closest(".bubble-wrap, [role=log]") || row.parentElement;
      if (box) box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 4;
      const chat = document.querySelector("#ga-chat").getBoundingClientRect();
      if (chat.top < 0 || chat.top > window.innerHeight / 2) document.querySelector("#ga-chat").scrollIntoView({ block: "start" });
    };
    place(); setTimeout(place, 150); setTimeout(place, 500);
  };
  // Names that say what a control does.
  const name = () => {
    // a marker [n] is a shortcut to its source, whose summary is in the tab order already:
    // the markers stay out of it, so an answer adds fewer stops before the input
    document.querySelectorAll("#ga-chat a.ga-marker:not([aria-label])").forEach((a) => {
      if (a.title) a.setAttribute("aria-label", a.title);
      a.setAttribute("tabindex", "-1");
    });
    const input = document.querySelector("#ga-input textarea");
    if (input && input.getAttribute("aria-label") !== "Ask a question") input.setAttribute("aria-label", "Ask a question");
    document.querySelectorAll("#ga-chat .examples[role=list]").forEach((e) => {
      e.setAttribute("role", "group"); e.setAttribute("aria-label", "Example questions");
    });
    // the drop area's name is its visible words ("Drop File Here - or - Click to Upload")
    document.querySelectorAll("#ga-upload .upload-container[aria-label]").forEach((e) => e.removeAttribute("aria-label"));
    const toggle = document.querySelector("#ga-sidebar .toggle-button");
    if (toggle && toggle.getAttribute("aria-label") !== "Documents") {
      toggle.setAttribute("aria-label", "Documents");
      toggle.setAttribute("title", "Documents: what is searched, add or remove");
      if (!toggle.querySelector(".ga-toggle-text")) {
        const text = document.createElement("span");
        text.className = "ga-toggle-text"; text.textContent = "Documents"; text.setAttribute("aria-hidden", "true");
        toggle.appendChild(text);
      }
    }
  };
  name();
  new MutationObserver(name).observe(document.body, { subtree: true, childList: true });
}
"""

# Fonts come from the page's own server (Gradio bundles them) or the system: nothing from
# outside hosts. Only the regular and bold files of Source Sans Pro are complete (Gradio's
# SemiBold is a small subset), so semibold text is drawn with the bold file.
THEME = gr.themes.Default(
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
)


def examples_for(info: IndexInfo, sections: list[str] | None = None) -> list[str]:
    """Example questions for what is served: the bundled article's own, when it is the only document;
    else questions on the first `sections` of the most recent document, then generic ones."""
    bundled = [Path(str(d.get("path", ""))).name == DEFAULT_DOCUMENT.name for d in info.documents]
    if bundled == [True]:
        return BUNDLED_EXAMPLES
    asked = [f"What does the document say about {s.rstrip(' .:')}?" for s in (sections or [])
             if 2 < len(s) <= 60][:3]
    return (asked + [q for q in GENERIC_EXAMPLES if q not in asked])[:4]


def title_for(info: IndexInfo, fallback: str = "") -> str:
    """The page's title: the document's, or for several "N documents: first title, second title…"."""
    titles = [str(d.get("title") or d.get("doc_id") or "") for d in info.documents]
    if len(titles) <= 1:
        return (titles[0] if titles else "") or fallback or "Grounded assistant"
    shown = ", ".join(titles[:2]) + ("…" if len(titles) > 2 else "")
    return f"{len(titles)} documents: {shown}"


def description_for(info: IndexInfo) -> str:
    n = len(info.documents)
    return DESCRIPTION if n <= 1 else DESCRIPTION_MANY.format(n=n)


class Chat:
    """The chat's behaviour, separate from its layout (see `build_app`)."""

    def __init__(self, holder: AssistantHolder, stream_pause: float = STREAM_PAUSE, library: Library | None = None):
        self.holder = holder
        self.stream_pause = stream_pause
        self.library = library  # None: read-only, no documents can be added or removed
        self._lines: dict[str, list[str]] = {}  # per page (Gradio session): its upload and removal lines

    @property
    def show_doc(self) -> bool:
        return len(self.holder.info.documents) > 1

    def respond(self, message: str, history: list[dict], documents: list[str] | None = None) -> Iterator[list[dict]]:
        """Yield the chat (`history` plus this question and its answer so far) as the answer streams in.
        `documents` (doc_ids) limits the search; None searches all.

        Never raises: a refused question or an internal error becomes a short notice in the chat."""
        history = list(history or [])
        asked = history + [{"role": "user", "content": render.question_html(message)}]
        if documents is not None and not documents:  # every document unticked: say so in plain words
            yield asked + [{"role": "assistant", "content": render.notice_html(NONE_CHOSEN, "refused")}]
            return
        yield asked + [{"role": "assistant", "content": render.pending_html()}]
        try:
            assistant = self.holder.get()
            answer = assistant.ask(message, render.questions_from_history(history), _scope(assistant, documents))
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

    def _run(self, message: str, history: list[dict], documents: list[str] | None = None):
        if not isinstance(message, str) or not message.strip():
            yield gr.skip(), gr.skip()   # empty input: nothing happens
            return
        busy = gr.update(value="", interactive=False)
        for chat in self.respond(message, history, documents):
            yield chat, busy
        yield gr.skip(), gr.update(interactive=True)

    def on_submit(self, message: str, history: list[dict], documents: list[str] | None = None):
        yield from self._run(message, history, documents)

    def on_example(self, history: list[dict], documents: list[str] | None, evt: gr.SelectData):
        value = evt.value
        yield from self._run(value.get("text", "") if isinstance(value, dict) else str(value), history, documents)

    def on_retry(self, history: list[dict], documents: list[str] | None, evt: gr.RetryData):
        i = _index(evt.index)
        yield from self._run(_question_at(history, i), history[:i], documents)

    # -- the documents panel, read from the index being served

    def documents(self) -> list[LibraryDocument]:
        assistant = self.holder.get()
        if self.library is None:
            return Library(assistant.index.folder).documents(assistant.index.manifest)
        return self.library.documents(assistant.index.manifest)

    def sections(self) -> list[str]:
        """The section titles of the most recent document (the newest file; the last indexed on a tie), in order."""
        index = self.holder.get().index
        docs = index.manifest.documents
        if not docs:
            return []
        last = max(enumerate(docs), key=lambda d: (d[1].mtime_ns or 0, d[0]))[1].doc_id
        seen: list[str] = []
        for chunk in index.chunks:
            if chunk.doc_id == last and chunk.section and chunk.section not in seen:
                seen.append(chunk.section)
        return seen

    def panel(self, scope: list[str] | None = None, known: dict | None = None, added: list[str] | None = None):
        """The panel's parts, read from the index served now: the list, the search scope, what can be
        removed, the page header, and what this page has seen (`known`: its build and documents).
        The scope keeps what was ticked; a document the page had not seen yet (or `added`) is ticked."""
        docs = self.documents()
        info = self.holder.info
        ids = [d.doc_id for d in docs]
        seen = set((known or {}).get("ids") or [])
        ticked = set(scope) if scope is not None and known else set(ids)
        chosen = [d for d in ids if d in ticked or d not in seen or d in set(added or [])]
        parts = [render.info_html(info, docs),
                 gr.update(choices=[(d.title or d.doc_id, d.doc_id) for d in docs], value=chosen)]
        if self.library is not None:
            parts.append(gr.update(choices=[(d.doc_id, d.doc_id) for d in docs if d.removable], value=None))
        parts.append(render.header_html(title_for(info, self.holder.get().title), description_for(info)))
        parts.append({"build": info.build_id, "ids": ids})
        return tuple(parts)

    def on_load(self):
        """A page (re)load: whatever build the index folder names now, every document ticked (a build
        that takes longer than 10 s to open reaches the page by `on_tick` instead)."""
        self.holder.refresh(timeout=10)
        return (*self.panel(), self.examples_update())

    def examples_update(self):
        """The chat's example questions for the documents served now."""
        return gr.update(examples=[{"text": q} for q in examples_for(self.holder.info, self.sections())])

    def on_tick(self, scope: list[str] | None, known: dict | None):
        """Every few seconds and after each answer: the panel and the examples again, when another
        build is served (a rebuild from the command line, another tab's upload); else nothing is sent."""
        self.holder.get()
        if known and known.get("build") == self.holder.build_id:
            return (gr.skip(),) * (self.panel_size + 1)
        return (*self.panel(scope, known), self.examples_update())

    @property
    def panel_size(self) -> int:
        """How many parts `panel` returns."""
        return 5 if self.library is not None else 4

    def _status(self, request, lines: list[str]) -> str:
        """This page's upload and removal lines so far (its last 12), as HTML."""
        key = getattr(request, "session_hash", None) or ""
        kept = (self._lines.get(key, []) + lines)[-12:]
        self._lines[key] = kept
        while len(self._lines) > 1000:
            self._lines.pop(next(iter(self._lines)))
        return render.status_lines_html(kept)

    def on_upload(self, files, scope: list[str] | None, known: dict | None, request: gr.Request = None,
                  progress=gr.Progress()):
        """Add the uploaded files; the panel then shows them (or each refused file's reason). Files picked
        while another upload is indexing wait in the queue and are indexed after it."""
        if self.library is None:
            raise gr.Error("This server is read-only: documents cannot be added here.", print_exception=False)
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])]
        if not paths:
            return (gr.skip(),) * (self.panel_size + 2)
        try:
            change = self.library.add([(Path(p).name, p) for p in paths],
                                      progress=lambda fraction, text: progress(fraction, desc=text))
        except AssistantError as exc:
            return (self._status(request, render.status_lines([], [("", str(exc))])), *self.panel(scope, known), None)
        if change.build_id:
            progress(0.95, desc="Opening the new index")
            self.holder.refresh(timeout=300)
        lines = render.status_lines(change.added, [(r.name, r.reason) for r in change.refused])
        return (self._status(request, lines), *self.panel(scope, known, change.added), None)

    def on_remove(self, doc_id: str | None, scope: list[str] | None, known: dict | None, request: gr.Request = None):
        if self.library is None:
            raise gr.Error("This server is read-only: documents cannot be removed here.", print_exception=False)
        if not doc_id:
            return (self._status(request, render.status_lines([], [("", "Choose a document to remove.")])),
                    *self.panel(scope, known))
        try:
            self.library.remove(doc_id)
        except AssistantError as exc:
            return (self._status(request, render.status_lines([], [("", str(exc))])), *self.panel(scope, known))
        self.holder.refresh(timeout=300)
        return (self._status(request, render.status_lines([], [], [doc_id])), *self.panel(scope, known))

    def open_document(self, request: str):
        """The document view for an "open in document" link (`render.open_href`), or a short notice."""
        request = request or ""
        where = render.parse_open_spans(request.rsplit("#", 1)[0] if request.count("#") > 1 else request)
        assistant = self.holder.get()
        page = gr.update(value=None, visible=False)
        if where is None or where[0] not in assistant.index.documents:
            html = render.notice_html("That document is no longer in the index.")
        else:
            doc_id, spans = where
            text = assistant.index.documents[doc_id]
            html = render.document_html(assistant.index.titles.get(doc_id) or doc_id, text, *spans[0],
                                        more=spans[1:])
            view = self.page_image(doc_id, spans)
            if view is not None:
                page = gr.update(value=view.image, visible=True,
                                 label=f"Page {view.page}, the quote{'s' if len(spans) > 1 else ''} boxed in yellow")
        token = request.rsplit("#", 1)[1] if request.count("#") > 1 else ""
        return f'<div data-open="{render.escape(token[:20])}">{html}</div>', page, gr.update(visible=True)

    def page_image(self, doc_id: str, spans: list[tuple[int, int]]):
        """For a PDF, the page of the first quote drawn with the source's quotes boxed (`ui.pages`); else None."""
        index = self.holder.get().index
        if not index.pages.get(doc_id):
            return None
        record = next((d for d in index.manifest.documents if d.doc_id == doc_id), None)
        page = index.page_at(doc_id, spans[0][0])
        if record is None or page is None or not Path(record.path).is_file():
            return None
        text = index.documents[doc_id]
        from .pages import page_view

        return page_view(record.path, page, [text[s:e] for s, e in spans if index.page_at(doc_id, s) == page])

    def on_undo(self, history: list[dict], evt: gr.UndoData):
        i = _index(evt.index)
        return history[:i], gr.update(value=_question_at(history, i), interactive=True)

    def info_html(self) -> str:
        return render.info_html(self.holder.info, self.documents())


NONE_CHOSEN = "Tick at least one document under Documents to search it."


def _scope(assistant: Assistant, documents: list[str] | None) -> list[str] | None:
    """The doc_ids to search: those chosen that the index still holds (another tab may have removed
    some); None when all of them are chosen or no choice was given."""
    if documents is None:
        return None
    held = assistant.index.documents
    chosen = [d for d in documents if d in held]
    return None if len(chosen) == len(held) else chosen


def _index(index: int | tuple[int, int] | list[int]) -> int:
    return index if isinstance(index, int) else int(index[0])


def _question_at(history: list[dict], i: int) -> str:
    return render.question_from_html(render.message_text(history[i]["content"])) if 0 <= i < len(history) else ""


TICK_SECONDS = 5  # how often an open page asks whether another build is served


def _on_clear(saved: list[dict] | None):
    """"Clear": the input emptied, the kept chat forgotten, and "Undo clear" offered with the chat as it was."""
    before = list(saved or [])
    return gr.update(value="", interactive=True), [], before, gr.update(visible=bool(before))


def _on_undo_clear(cleared: list[dict] | None):
    chat = list(cleared or [])
    return chat, chat, [], gr.update(visible=False)


SAVED_MESSAGES = 40  # the chat kept in the browser's storage: its last messages


def build_app(holder: AssistantHolder | Assistant, stream_pause: float = STREAM_PAUSE, uploads: bool = False) -> gr.Blocks:
    """The Gradio app (not launched). Accepts an `Assistant` for a fixed index (or, with `uploads`,
    one whose index the documents panel changes). `uploads=False` is read-only: no panel to add
    or remove documents, and no handler that would."""
    if not isinstance(holder, AssistantHolder):
        fixed = holder
        holder = (AssistantHolder(assistant=fixed, check_every=float("inf")) if uploads else as_holder(fixed))
    served = holder.get()
    library = Library(served.index.folder, served.settings, served.embedder) if uploads else None
    chat = Chat(holder, stream_pause, library)
    title = title_for(holder.info, served.title)
    examples = examples_for(holder.info, chat.sections())
    docs = chat.documents()

    with gr.Blocks(title=f"{served.title or 'Grounded assistant'} · grounded assistant", analytics_enabled=False,
                   fill_height=True) as demo:
        saved = gr.BrowserState([], storage_key="grounded-assistant-chat")
        cleared = gr.State([])  # the chat as it was before "Clear", for "Undo clear"
        known = gr.State({"build": holder.build_id, "ids": [d.doc_id for d in docs]})
        header = gr.HTML(render.header_html(title, description_for(holder.info)), elem_id="ga-header",
                         js_on_load=None)
        with gr.Row(equal_height=False, elem_id="ga-main"):
            with gr.Column(scale=3, min_width=300, elem_id="ga-chatcol"):
                chatbot = gr.Chatbot(
                    elem_id="ga-chat", label="Chat", show_label=False, scale=1, height="65vh", min_height=320,
                    render_markdown=False, sanitize_html=True, allow_tags=False, latex_delimiters=[],
                    buttons=[], feedback_options=None, layout="bubble",
                    examples=[{"text": q} for q in examples],
                    placeholder="Ask a question below, or pick an example.",
                )
                textbox = gr.Textbox(
                    elem_id="ga-input", label="Ask a question", show_label=False,
                    placeholder="Ask a question about the documents…" if len(docs) > 1
                    else "Ask a question about the document…",
                    lines=1, max_lines=6, autofocus=True, submit_btn="Ask", container=False,
                )
                undo_clear = gr.Button("Undo clear", visible=False, size="sm", variant="secondary",
                                       elem_id="ga-undo-clear")
            with gr.Column(scale=2, min_width=300, visible=False, elem_id="ga-docview") as docview:
                page_image = gr.Image(None, type="pil", interactive=False, visible=False, elem_id="ga-page",
                                      label="The page, the quote boxed in yellow", show_label=True,
                                      buttons=[], height="60vh")
                document = gr.HTML("", elem_id="ga-document", js_on_load=None)
                close = gr.Button("Close the document", size="sm", elem_id="ga-docview-close")
        open_request = gr.Textbox(visible="hidden", elem_id="ga-open-request", container=False)
        open_go = gr.Button("open", visible="hidden", elem_id="ga-open-go")
        # After the chat, so that the chat comes first in the tab order.
        with gr.Sidebar(label="Documents", open=False, position="right", width=320, elem_id="ga-sidebar"):
            info = gr.HTML(chat.info_html(), elem_id="ga-info", js_on_load=None)
            scope = gr.CheckboxGroup(choices=[(d.title or d.doc_id, d.doc_id) for d in docs],
                                     value=[d.doc_id for d in docs], label="Search in", elem_id="ga-scope")
            panel = [info, scope]
            if library is not None:
                readable = readable_types()
                files = gr.File(label=f"Add documents ({', '.join(readable)})", file_count="multiple",
                                file_types=readable,
                                type="filepath", elem_id="ga-upload", height=150)
                status = gr.HTML("", elem_id="ga-upload-status", js_on_load=None)
                removable = [(d.doc_id, d.doc_id) for d in docs if d.removable]
                remove_choice = gr.Dropdown(choices=removable, value=None, label="Remove a document added here",
                                            elem_id="ga-remove-choice")
                remove = gr.Button("Remove", elem_id="ga-remove", size="sm", variant="secondary")
                panel.append(remove_choice)
            panel += [header, known]
        timer = gr.Timer(TICK_SECONDS)

        hidden = {"queue": False, "api_visibility": "undocumented"}
        run = {"outputs": [chatbot, textbox], "concurrency_id": "answer", "show_progress": "hidden",
               "trigger_mode": "once", "api_visibility": "undocumented"}
        tick = {"fn": chat.on_tick, "inputs": [scope, known], "outputs": [*panel, chatbot], "show_progress": "hidden",
                **hidden}
        keep = {"fn": _saved, "inputs": chatbot, "outputs": saved, **hidden}
        shown = {"fn": None, "inputs": None, "outputs": None, "js": "() => window.gaShowAnswer && window.gaShowAnswer()"}
        no_undo = {"fn": lambda: gr.update(visible=False), "inputs": None, "outputs": undo_clear, **hidden}
        textbox.submit(chat.on_submit, [textbox, chatbot, scope], **run).then(**shown).then(**tick).then(**keep)
        textbox.submit(**no_undo)
        chatbot.example_select(chat.on_example, [chatbot, scope], **run).then(**shown).then(**tick).then(**keep)
        chatbot.example_select(**no_undo)
        chatbot.retry(chat.on_retry, [chatbot, scope], **run).then(**shown).then(**tick).then(**keep)
        chatbot.undo(chat.on_undo, [chatbot], [chatbot, textbox], **hidden).then(**keep)
        chatbot.clear(_on_clear, saved, [textbox, saved, cleared, undo_clear], **hidden)
        undo_clear.click(_on_undo_clear, cleared, [chatbot, saved, cleared, undo_clear], **hidden)
        timer.tick(**tick)
        demo.load(chat.on_load, None, [*panel, chatbot], **hidden)
        demo.load(_saved, saved, chatbot, **hidden)
        open_go.click(chat.open_document, open_request, [document, page_image, docview], **hidden).then(
            None, None, None, js="() => window.gaShowQuote && window.gaShowQuote()")
        close.click(lambda: gr.update(visible=False), None, docview, **hidden)
        if library is not None:
            files.upload(chat.on_upload, [files, scope, known], [status, *panel, files],
                         concurrency_id="library", concurrency_limit=1, api_visibility="undocumented",
                         trigger_mode="multiple", show_progress="full", show_progress_on=[status]).then(
                chat.examples_update, None, chatbot, **hidden)
            remove.click(chat.on_remove, [remove_choice, scope, known], [status, *panel],
                         concurrency_id="library", concurrency_limit=1, api_visibility="undocumented",
                         show_progress_on=[status]).then(chat.examples_update, None, chatbot, **hidden)
        gr.api(chat.ask_api, api_name="ask", concurrency_id="answer")

    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=MAX_QUEUE)
    demo.ga_max_upload = served.settings.uploads.max_total_bytes if uploads else None
    return demo


def _saved(history: list[dict] | None) -> list[dict]:
    """The chat as kept in the browser: its last `SAVED_MESSAGES` messages, starting with a question."""
    kept = list(history or [])[-SAVED_MESSAGES:]
    while kept and kept[0].get("role") != "user":
        kept = kept[1:]
    return kept


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
        max_file_size=getattr(demo, "ga_max_upload", None) or 1,  # read-only: nothing to upload
    )
    chat_app = next(r.app for r in app.routes if isinstance(r, Mount) and r.app is not api)
    _, port, url, server = http_server.start_server(app, server_name=host, server_port=port)
    # What Blocks.launch would have set, so that demo.close() stops this server and its queue.
    demo.server, demo.server_app, demo.app = server, chat_app, chat_app
    demo.server_name, demo.server_port, demo.local_url = host, port, url
    return f"http://{host}:{port}"
