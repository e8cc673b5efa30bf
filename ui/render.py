"""Pure functions turning the assistant's payloads into the chat's HTML.

Everything that comes from a document or a question is escaped here, once, before it
reaches the browser: the chat shows it as text, so a document containing `<script>` or
`<img onerror=...>` cannot run anything. The chat renders these strings as HTML without
Markdown (a document's `*`, `$$` or `![x](http://...)` stays literal text).

An answer becomes one chat message: its quotes, each followed by its marker `[n]`, then
a "Sources" list where each cited passage opens to show the quoted spans highlighted
in their context, with the section title and character offsets. An abstention looks
different (no markers) and offers the related passages. No Gradio import: these are
unit-tested without a server.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from assistant import Answer, Citation, IndexInfo, Passage
from assistant.age import age

# Beyond html.escape: `$ { } `` ` are turned into entities so that no template or math
# syntax in a document (`${...}`, `{{...}}`, `$$...$$`) survives to the page.
_EXTRA = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})

QUESTION_CLASS = "ga-question"
NOTICE_CLASS = "ga-notice"


def escape(text: str) -> str:
    """Text as inert HTML: `escape('<b>$1</b>')` -> `'&lt;b&gt;&#36;1&lt;/b&gt;'`."""
    return html.escape(text, quote=True).translate(_EXTRA)


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans: `merge_spans([(5, 9), (0, 3), (2, 4)])` -> `[(0, 4), (5, 9)]`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Escaped `text` with each span wrapped in `<mark>`:
    `highlight("a <b> c", [(2, 5)])` -> `'a <mark>&lt;b&gt;</mark> c'`."""
    out, pos = [], 0
    for start, end in merge_spans((max(0, s), min(len(text), e)) for s, e in spans):
        out.append(escape(text[pos:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def quote_spans(passage: Passage, citations: Sequence[Citation]) -> list[tuple[int, int]]:
    """Where each citation's quote sits inside `passage.text` (offsets relative to the passage).

    Uses the document offsets (`citation.start - passage.start`) and checks them against the
    text; a quote whose offsets do not line up is searched for instead, so a highlight is
    never put on the wrong words."""
    spans = []
    for c in citations:
        start = c.start - passage.start
        if passage.text[start:start + len(c.quote)] != c.quote or start < 0:
            start = passage.text.find(c.quote)
        if start >= 0 and c.quote:
            spans.append((start, start + len(c.quote)))
    return spans


def position_label(section: str, doc_id: str, start: int, end: int, show_doc: bool = False) -> str:
    """Escaped 'where is it' line: `position_label("Intro", "a.txt", 10, 1200)` ->
    `'Intro · characters 10–1,200'`."""
    parts = [escape(section) if section else "(no section)", f"characters {start:,}–{end:,}"]
    if show_doc:
        parts.append(f"in {escape(doc_id)}")
    return " · ".join(parts)


def answer_key(answer: Answer) -> str:
    """Short id, unique per answer, that keeps the element ids of two answers apart."""
    return hashlib.sha1(answer.model_dump_json().encode()).hexdigest()[:8]


def _marker(key: str, n: int) -> str:
    return f'<a class="ga-marker" href="#ga-{key}-{n}" title="Show source {n}">[{n}]</a>'


def _quotes_html(answer: Answer, key: str, count: int | None) -> str:
    citations = answer.citations if count is None else answer.citations[:count]
    lines = [f'<p class="ga-quote"><span class="ga-quote-text">{escape(c.quote)}</span> {_marker(key, c.n)}</p>'
             for c in citations]
    return f'<div class="ga-quotes">{"".join(lines)}</div>'


def _source_html(key: str, n: int | None, passage: Passage | None, citations: Sequence[Citation],
                 show_doc: bool) -> str:
    first = citations[0] if citations else None
    if passage is not None:
        where = position_label(passage.section, passage.doc_id, passage.start, passage.end, show_doc)
        body = highlight(passage.text, quote_spans(passage, citations))
    else:  # only if an answer broke its invariant: still show the quote itself
        assert first is not None
        where = position_label(first.section, first.doc_id, first.start, first.end, show_doc)
        body = f"<mark>{escape(first.quote)}</mark>"
    label = f'<span class="ga-source-n">[{n}]</span> ' if n is not None else ""
    quoted = ""
    if citations:
        spans = ", ".join(f"{c.start:,}–{c.end:,}" for c in citations)
        quoted = f'<span class="ga-quoted">quoted: characters {spans}</span>'
    anchor = f' id="ga-{key}-{n}"' if n is not None else ""
    return (f'<details class="ga-source"{anchor}><summary>{label}<span class="ga-where">{where}</span></summary>'
            f'{quoted}<div class="ga-passage">{body}</div></details>')


def sources_html(answer: Answer, show_doc: bool = False, key: str | None = None) -> str:
    """The "Sources" block of a cited answer: one collapsible entry per marker `[n]`, showing the
    whole passage with the quoted spans in `<mark>`. For an abstention, the related passages."""
    key = key or answer_key(answer)
    if answer.abstained or not answer.citations:
        if not answer.related:
            return ""
        items = "".join(_source_html(key, None, p, [], show_doc) for p in answer.related)
        return (f'<div class="ga-sources ga-related"><div class="ga-sources-title">Related passages '
                f'(they do not answer the question)</div>{items}</div>')
    by_chunk = {p.chunk_id: p for p in answer.passages}
    groups: dict[int, list[Citation]] = {}
    for c in answer.citations:
        groups.setdefault(c.n, []).append(c)
    items = "".join(_source_html(key, n, by_chunk.get(cs[0].chunk_id), cs, show_doc)
                    for n, cs in sorted(groups.items()))
    return f'<div class="ga-sources"><div class="ga-sources-title">Sources</div>{items}</div>'


def answer_html(answer: Answer, show_doc: bool = False, quotes: int | None = None, sources: bool = True) -> str:
    """The chat message for an answer. `quotes` limits how many quotes are shown and
    `sources=False` leaves the Sources out: that is how the answer streams in."""
    key = answer_key(answer)
    if answer.abstained:
        body = f'<div class="ga-abstain-text">{escape(_plain(answer.text))}</div>'
        extra = sources_html(answer, show_doc, key) if sources else ""
        return f'<div class="ga-answer ga-abstained">{body}{extra}</div>'
    extra = sources_html(answer, show_doc, key) if sources else ""
    return f'<div class="ga-answer ga-cited">{_quotes_html(answer, key, quotes)}{extra}</div>'


def answer_steps(answer: Answer, show_doc: bool = False) -> Iterator[str]:
    """Successive renderings of an answer as it streams in: quote by quote, then with its sources.
    The last one is always `answer_html(answer, show_doc)`."""
    if not answer.abstained:
        for i in range(1, len(answer.citations)):
            yield answer_html(answer, show_doc, quotes=i, sources=False)
    yield answer_html(answer, show_doc)


def _plain(markdown: str) -> str:
    """The abstention message without Markdown emphasis: `_plain("*Not* here.")` -> `'Not here.'`."""
    return re.sub(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1", r"\2", markdown).strip()


def question_html(question: str) -> str:
    """A user's question as a chat message, shown as typed (see `question_from_html`)."""
    text = escape(question).replace("\r", "&#13;").replace("\n", "&#10;").replace("\t", "&#9;")
    return f'<div class="{QUESTION_CLASS}">{text}</div>'


_QUESTION = re.compile(rf'^<div class="{QUESTION_CLASS}">(.*)</div>$', re.S)


def question_from_html(content: str) -> str:
    """Inverse of `question_html`: `question_from_html(question_html("a < b"))` -> `'a < b'`.
    Other text is returned unchanged."""
    m = _QUESTION.match(content.strip())
    return html.unescape(m.group(1)) if m else content


def notice_html(message: str, kind: str = "error") -> str:
    """A short message from the app itself (a refused question, an internal error)."""
    return f'<div class="{NOTICE_CLASS} ga-{escape(kind)}">{escape(message)}</div>'


def pending_html(text: str = "Searching the document…") -> str:
    return f'<div class="ga-pending">{escape(text)}</div>'


def message_text(content) -> str:
    """The text of a chat message's content, whatever shape Gradio gave it
    (a string, a `{"type": "text", "text": ...}` part, or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return "".join(message_text(part) for part in content)
    return ""


def questions_from_history(history: Sequence[dict]) -> list[str]:
    """The user's earlier questions, oldest first, for follow-ups. A question the app refused
    or failed on (answered by a notice) is left out: it has no answer to follow up on."""
    questions: list[str] = []
    pending: str | None = None
    for message in history:
        text = message_text(message.get("content"))
        if message.get("role") == "user":
            pending = question_from_html(text)
        elif message.get("role") == "assistant" and pending is not None:
            if NOTICE_CLASS not in text:
                questions.append(pending)
            pending = None
    return questions


def info_html(info: IndexInfo, now: datetime | None = None) -> str:
    """The side panel: what is indexed (documents, chunk count, model, index age)."""
    docs = []
    for d in info.documents:
        title = str(d.get("title") or d.get("doc_id") or "")
        facts = [escape(str(d.get("doc_id", "")))]
        if d.get("chars") is not None:
            facts.append(f"{int(d['chars']):,} characters")
        if d.get("chunks") is not None:
            facts.append(f"{int(d['chunks']):,} chunks")
        docs.append(f'<li><span class="ga-doc-title">{escape(title)}</span>'
                    f'<span class="ga-doc-facts">{" · ".join(facts)}</span></li>')
    rows = [
        ("Documents", f"{len(info.documents):,}"),
        ("Chunks", f"{info.chunks:,}"),
        ("Model", escape(info.model)),
        ("Index built", f'{escape(age(info.created_at, now))}<br><small>{escape(info.created_at)}</small>'),
        ("Index folder", f"<small>{escape(info.folder)}</small>"),
    ]
    if info.stale:
        rows.append(("Stale", escape("; ".join(info.stale))))
    table = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<div class="ga-info"><div class="ga-info-title">What is indexed</div>'
            f'<ul class="ga-docs">{"".join(docs)}</ul><dl>{table}</dl></div>')


def header_html(title: str, description: str) -> str:
    return (f'<div class="ga-header"><h1>{escape(title)}</h1>'
            f'<p class="ga-description">{escape(description)}</p></div>')
