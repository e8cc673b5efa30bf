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
from urllib.parse import quote, unquote

from assistant import Answer, Citation, IndexInfo, Passage
from assistant.age import age
from assistant.library import LibraryDocument

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


def source_label(section: str, doc_id: str, page: int | None = None, show_doc: bool = False) -> str:
    """A source's short label, escaped: `source_label("Intro", "a.pdf", 3, show_doc=True)` ->
    `'Intro · p. 3 · a.pdf'`; offsets go in a tooltip instead (see `_source_html`)."""
    parts = [escape(section) if section else "(no section)"]
    if page is not None:
        parts.append(f"p. {int(page)}")
    if show_doc:
        parts.append(escape(doc_id))
    return " · ".join(parts)


def snippet(text: str, limit: int = 120) -> str:
    """One line of text, cut at a word near `limit`: `snippet("a  b\nc", 10)` -> `'a b c'`."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", 0, limit)
    return line[: cut if cut > limit // 2 else limit].rstrip() + "…"


def open_href(doc_id: str, start: int, end: int, more: Iterable[tuple[int, int]] = ()) -> str:
    """The link that opens a document at a quote (read by the page's script and `parse_open`):
    `open_href("a b.txt", 3, 9)` -> `'#ga-open:3:9:a%20b.txt'`; the other quotes of the same source
    ride along: `open_href("a", 3, 9, [(20, 25)])` -> `'#ga-open:3:9,20:25:a'`."""
    spans = ",".join(f"{int(s)}:{int(e)}" for s, e in [(start, end), *more])
    return f"#ga-open:{spans}:{quote(doc_id, safe='')}"


def parse_open_spans(href: str) -> tuple[str, list[tuple[int, int]]] | None:
    """Inverse of `open_href`, every span: `parse_open_spans("#ga-open:3:9,20:25:a")` -> `('a', [(3, 9), (20, 25)])`.
    None for anything else (at most 64 spans)."""
    m = re.fullmatch(r"#?ga-open:(\d{1,12}:\d{1,12}(?:,\d{1,12}:\d{1,12}){0,63}):(.+)", (href or "").strip())
    if not m:
        return None
    spans = [(int(a), int(b)) for a, b in (part.split(":") for part in m.group(1).split(","))]
    return unquote(m.group(2)), spans


def parse_open(href: str) -> tuple[str, int, int] | None:
    """The document and first span of an `open_href`; None for anything else:
    `parse_open("#ga-open:3:9:a%20b.txt")` -> `('a b.txt', 3, 9)`."""
    found = parse_open_spans(href)
    return (found[0], *found[1][0]) if found else None


def answer_key(answer: Answer) -> str:
    """Short id, unique per answer, that keeps the element ids of two answers apart."""
    return hashlib.sha1(answer.model_dump_json().encode()).hexdigest()[:8]


def _marker(key: str, n: int, where: str = "") -> str:
    """The link `[n]` to source n; its accessible name says which source: 'Source 1: Intro, p. 2'."""
    name = escape(f"Source {n}: {where}" if where else f"Source {n}")
    # the chat's sanitizer keeps `title` only: the page's script copies it to `aria-label`
    return f'<a class="ga-marker" href="#ga-{key}-{n}" title="{name}" aria-label="{name}">[{n}]</a>'


def _where(c: Citation) -> str:
    """`Intro, p. 2` for a citation (plain text, escaped by the caller)."""
    page = getattr(c, "page", None)
    return (c.section or "no section") + (f", p. {int(page)}" if page is not None else "")


def _quotes_html(answer: Answer, key: str, count: int | None) -> str:
    citations = answer.citations if count is None else answer.citations[:count]
    lines = [f'<p class="ga-quote"><span class="ga-quote-text">{escape(c.quote)}</span> {_marker(key, c.n, _where(c))}</p>'
             for c in citations]
    return f'<div class="ga-quotes">{"".join(lines)}</div>'


def _source_html(key: str, n: int | None, passage: Passage | None, citations: Sequence[Citation],
                 show_doc: bool, open_: bool = False) -> str:
    first = citations[0] if citations else None
    if passage is not None:
        doc_id, section, start, end = passage.doc_id, passage.section, passage.start, passage.end
        page = getattr(passage, "page", None)
        body = highlight(passage.text, quote_spans(passage, citations))
    else:  # only if an answer broke its invariant: still show the quote itself
        assert first is not None
        doc_id, section, start, end = first.doc_id, first.section, first.start, first.end
        page = getattr(first, "page", None)
        body = f"<mark>{escape(first.quote)}</mark>"
    label = f'<span class="ga-source-n">[{n}]</span> ' if n is not None else ""
    offsets = f"passage: characters {start:,}–{end:,}"
    if citations:
        offsets += "; quoted: characters " + ", ".join(f"{c.start:,}–{c.end:,}" for c in citations)
    shown = snippet(first.quote if first else passage.text if passage else "")
    at = (first.start, first.end) if first else (start, end)
    more = [(c.start, c.end) for c in citations[1:]]
    link = (f'<a class="ga-open" href="{escape(open_href(doc_id, *at, more))}" '
            f'title="Show the whole document at this {"quote" if first else "passage"}">open in document</a>')
    anchor = f' id="ga-{key}-{n}"' if n is not None else ""
    return (f'<details class="ga-source"{anchor}{" open" if open_ else ""}><summary title="{escape(offsets)}">'
            f'{label}<span class="ga-where">{source_label(section, doc_id, page, show_doc)}</span>'
            f'<span class="ga-snippet">{escape(shown)}</span></summary>'
            f'<div class="ga-passage">{body}</div>{link}</details>')


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
    items = "".join(_source_html(key, n, by_chunk.get(cs[0].chunk_id), cs, show_doc, open_=i == 0)
                    for i, (n, cs) in enumerate(sorted(groups.items())))
    return f'<div class="ga-sources"><div class="ga-sources-title">Sources</div>{items}</div>'


def answer_markdown(answer: Answer, show_doc: bool = False) -> str:
    """The quotes and their sources as Markdown, for the answer's "copy" button.

    Each quote is a block quote ending in its marker; the sources follow, one line each:
    `[1] Intro · p. 2 · a.txt, characters 10–42`. An abstention copies its message."""
    if answer.abstained or not answer.citations:
        return _plain(answer.text)
    quotes = "\n\n".join("> " + c.quote.replace("\n", "\n> ") + f" [{c.n}]" for c in answer.citations)
    sources, seen = [], set()
    for c in answer.citations:
        if c.n in seen:
            continue
        seen.add(c.n)
        spans = ", ".join(f"{x.start:,}–{x.end:,}" for x in answer.citations if x.n == c.n)
        where = [c.section or "(no section)"]
        if getattr(c, "page", None) is not None:
            where.append(f"p. {c.page}")
        if show_doc:
            where.append(c.doc_id)
        sources.append(f"[{c.n}] {' · '.join(where)}, characters {spans}")
    return f"{quotes}\n\nSources:\n" + "\n".join(sources) + "\n"


def cased_like(query: str, question: str) -> str:
    """`query` with each word written as the question wrote it (the spelling fix lower-cases):
    `cased_like("relations of korea and russia", "Relations of Koreaa and Russia")` ->
    `'Relations of Korea and Russia'`. A corrected word takes the case of the word it corrects."""
    import difflib

    asked = re.findall(r"[^\W_]+(?:['’][^\W_]+)*", question)
    lower = {w.lower(): w for w in asked}

    def fix(m: re.Match) -> str:
        word = m.group(0)
        if word.lower() in lower:
            return lower[word.lower()]
        close = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=0.7)
        if close:
            model = lower[close[0]]
            if model.isupper() and len(model) > 1:
                return word.upper()
            if model[:1].isupper():
                return word[:1].upper() + word[1:]
        return word

    return re.sub(r"[^\W_]+(?:['’][^\W_]+)*", fix, query)


def understood_html(answer: Answer) -> str:
    """The quiet "searched as" line, when the text searched is not the question as asked (a
    corrected spelling, a follow-up read with the question before it); else ''. Names keep
    the capitals the question gave them."""
    query, question = " ".join(answer.query.split()), " ".join(answer.question.split())
    if not query or query == question:
        return ""
    shown = cased_like(query, question)
    if shown == question:
        return ""
    return f'<div class="ga-understood">searched as: {escape(shown)}</div>'


def _copy_html(answer: Answer, show_doc: bool) -> str:
    return (f'<div class="ga-actions"><a class="ga-copy" href="#ga-copy" role="button" '
            f'title="Copy the quotes and their sources as Markdown">copy</a></div>'
            f'<div class="ga-copy-md" hidden>{escape(answer_markdown(answer, show_doc))}</div>')


def answer_html(answer: Answer, show_doc: bool = False, quotes: int | None = None, sources: bool = True) -> str:
    """The chat message for an answer. `quotes` limits how many quotes are shown and
    `sources=False` leaves the Sources out: that is how the answer streams in."""
    key = answer_key(answer)
    extra = understood_html(answer) + sources_html(answer, show_doc, key) + _copy_html(answer, show_doc) \
        if sources else ""
    if answer.abstained:
        body = f'<div class="ga-abstain-text">{escape(_plain(answer.text))}</div>'
        return f'<div class="ga-answer ga-abstained">{body}{extra}</div>'
    return f'<div class="ga-answer ga-cited">{_quotes_html(answer, key, quotes)}{extra}</div>'


def document_html(title: str, text: str, start: int, end: int, window: int = 200_000,
                  more: Iterable[tuple[int, int]] = ()) -> str:
    """A whole document with `text[start:end]` marked (`id="ga-doc-hit"`, scrolled to by the page)
    and every span of `more` marked too (the other quotes of the same source).
    A document longer than `window` characters shows the `window` around the quote, saying so.

    >>> document_html("T", "one two three", 4, 7)
    '<div class="ga-doc"><div class="ga-doc-title">T</div><div class="ga-doc-text" tabindex="0" role="region" aria-label="Document text">one <mark id="ga-doc-hit">two</mark> three</div></div>'
    """
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    lo, hi = 0, len(text)
    if len(text) > window:
        lo = max(0, min(start - window // 2, len(text) - window))
        hi = lo + window
    before = "<p class=\"ga-doc-cut\">… (earlier text not shown)</p>" if lo else ""
    after = "<p class=\"ga-doc-cut\">… (later text not shown)</p>" if hi < len(text) else ""
    spans = merge_spans([(max(lo, s), min(hi, e)) for s, e in [(start, end), *more]])
    out, pos, hit = [], lo, False
    for s, e in spans:
        out.append(escape(text[pos:s]))
        first = not hit and s <= start < max(e, s + 1)
        hit = hit or first
        anchor = ' id="ga-doc-hit"' if first else ""
        out.append(f"<mark{anchor}>{escape(text[s:e])}</mark>")
        pos = e
    if not hit:  # an empty quote span: still a place to scroll to
        out = [escape(text[lo:start]), '<mark id="ga-doc-hit"></mark>', escape(text[start:hi])]
        pos = hi
    out.append(escape(text[pos:hi]))
    return (f'<div class="ga-doc"><div class="ga-doc-title">{escape(title)}</div>{before}'
            f'<div class="ga-doc-text" tabindex="0" role="region" aria-label="Document text">{"".join(out)}</div>'
            f'{after}</div>')


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


def file_size(size: int) -> str:
    """`file_size(512)` -> `'512 B'`, `file_size(2048)` -> `'2 KB'`, `file_size(5 * 2**20)` -> `'5.0 MB'`."""
    if size < 1024:
        return f"{size} B"
    if size < 2**20:
        return f"{size // 1024} KB"
    return f"{size / 2**20:.1f} MB"


def info_html(info: IndexInfo, documents: Sequence[LibraryDocument] | None = None, now: datetime | None = None) -> str:
    """The side panel: the documents (size, passages, when added) and the index (chunks, model, age).
    No server paths: documents are named by their ids."""
    docs = []
    if documents is None:
        documents = [LibraryDocument(doc_id=str(d.get("doc_id", "")), title=str(d.get("title") or ""),
                                     size=int(d.get("size") or 0), passages=int(d.get("chunks") or 0),
                                     added_at=None, removable=False) for d in info.documents]
    for d in documents:
        facts = [escape(d.doc_id)]
        if d.size:
            facts.append(file_size(d.size))
        facts.append(f"{d.passages:,} passage{'s' if d.passages != 1 else ''}")
        if d.added_at:
            facts.append(f"added {escape(age(d.added_at, now))}")
        docs.append(f'<li><span class="ga-doc-title">{escape(d.title or d.doc_id)}</span>'
                    f'<span class="ga-doc-facts">{" · ".join(facts)}</span></li>')
    rows = [
        ("Documents", f"{len(documents):,}"),
        ("Chunks", f"{info.chunks:,}"),
        ("Model", escape(info.model)),
        ("Index built", f'{escape(age(info.created_at, now))}<br><small>{escape(info.created_at)}</small>'),
    ]
    table = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f'<div class="ga-info"><div class="ga-info-title">What is indexed</div>'
            f'<ul class="ga-docs">{"".join(docs)}</ul><dl>{table}</dl></div>')


def status_lines(added: Sequence[str], refused: Sequence[tuple[str, str]], removed: Sequence[str] = ()) -> list[str]:
    """What an upload or removal did, one `<li>` per file; refusals give their one-line reason."""
    lines = [f'<li class="ga-added">Added {escape(d)}</li>' for d in added]
    lines += [f'<li class="ga-removed">Removed {escape(d)}</li>' for d in removed]
    lines += [f'<li class="ga-refused">{escape(reason)}</li>' for _, reason in refused]
    return lines


def status_lines_html(lines: Sequence[str]) -> str:
    """Lines from `status_lines` as one list (newest last), or '' for none."""
    return f'<ul class="ga-status" aria-live="polite">{"".join(lines)}</ul>' if lines else ""


def upload_status_html(added: Sequence[str], refused: Sequence[tuple[str, str]], removed: Sequence[str] = ()) -> str:
    """What an upload or removal did, one line per file; refusals give their one-line reason."""
    return status_lines_html(status_lines(added, refused, removed))


def header_html(title: str, description: str) -> str:
    return (f'<div class="ga-header"><h1>{escape(title)}</h1>'
            f'<p class="ga-description">{escape(description)}</p></div>')
