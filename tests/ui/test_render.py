"""The pure rendering of answers: markers, highlighting, escaping, the abstention's look."""

from __future__ import annotations

import html
import inspect
import re
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant import Answer, Citation, IndexInfo, Passage
from assistant.types import Timing
from ui import render

DOC = ("Intro\n\nNorth Korea sends shells. Russia sends technology in return.\n\n"
       "Sanctions\n\nTrade could weaken sanctions <b>a lot</b>. Nobody knows how much.")


def passage(chunk: int, start: int, end: int, section: str, rank: int = 1, doc_id: str = "doc.txt") -> Passage:
    return Passage(chunk_id=f"{doc_id}#{chunk}", doc_id=doc_id, section=section, text=DOC[start:end],
                   start=start, end=end, score=1.0 / rank, rank=rank)


def citation(n: int, p: Passage, quote: str) -> Citation:
    start = DOC.index(quote)
    assert p.start <= start and start + len(quote) <= p.end
    return Citation(n=n, chunk_id=p.chunk_id, doc_id=p.doc_id, section=p.section, quote=quote, start=start,
                    end=start + len(quote), score=0.9)


P1 = passage(1, DOC.index("North"), DOC.index("\n\nSanctions"), "Intro")
P2 = passage(2, DOC.index("Trade"), len(DOC), "Sanctions", rank=2)
Q1 = "North Korea sends shells."
Q2 = "Russia sends technology in return."
Q3 = "Trade could weaken sanctions <b>a lot</b>."
TIMING = Timing(retrieve_ms=1.0, answer_ms=1.0, total_ms=2.0)


def cited() -> Answer:
    cs = [citation(1, P1, Q1), citation(2, P2, Q3), citation(1, P1, Q2)]
    text = "\n".join(f"- “{c.quote}” [{c.n}]" for c in cs)
    return Answer(question="What is exchanged?", text=text, citations=cs, passages=[P1, P2], abstained=False,
                  query="What is exchanged?", confidence=0.8, timing=TIMING)


def abstained() -> Answer:
    return Answer(question="How many shells?", text="**The document doesn't say.** The closest passages are below.",
                  citations=[], passages=[P2, P1], abstained=True, related=[P2, P1], query="How many shells?",
                  confidence=0.1, timing=TIMING)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the visible text, of an HTML fragment."""

    def __init__(self, fragment: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.marks: list[str] = []
        self._in_mark = 0
        self.feed(fragment)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "mark":
            self._in_mark += 1
            self.marks.append("")

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in_mark -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._in_mark:
            self.marks[-1] += data


ALLOWED = {"div", "p", "span", "a", "details", "summary", "mark", "ul", "li", "dl", "dt", "dd", "br", "small", "h1"}


def assert_inert(fragment: str) -> None:
    """Only our own tags, no event handlers, no links leaving the page."""
    for tag, attrs in Tags(fragment).tags:
        assert tag in ALLOWED, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name in {"class", "href", "title", "id", "role", "hidden", "open", "aria-label", "aria-live", "data-open", "tabindex"}, (tag, name)
            if name == "href":
                assert value.startswith("#ga-"), value


# ---------------------------------------------------------------- escaping and highlighting


def test_escape_neutralises_html_and_template_syntax():
    out = render.escape("""<img src=x onerror="a()"> ${x} {{y}} `z` & 'q'""")
    assert "<" not in out and ">" not in out and '"' not in out and "'" not in out
    assert not set("${}`") & set(out)
    assert html.unescape(out) == """<img src=x onerror="a()"> ${x} {{y}} `z` & 'q'"""


def test_highlight_marks_exact_spans_and_escapes_everything():
    out = render.highlight("a <b> c <d>", [(2, 5), (8, 11)])
    assert out == "a <mark>&lt;b&gt;</mark> c <mark>&lt;d&gt;</mark>"


def test_highlight_merges_overlaps_and_clamps_out_of_range_spans():
    assert render.merge_spans([(5, 9), (0, 3), (2, 4), (7, 7)]) == [(0, 4), (5, 9)]
    assert render.highlight("abcdef", [(4, 99), (-3, 1)]) == "<mark>a</mark>bcd<mark>ef</mark>"


@given(st.text(max_size=60), st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=4))
def test_highlight_keeps_the_text_and_marks_only_the_spans(text, spans):
    spans = [(min(a, b), max(a, b)) for a, b in spans]
    parsed = Tags(render.highlight(text, spans))
    assert "".join(parsed.text) == text
    clamped = render.merge_spans((max(0, s), min(len(text), e)) for s, e in spans)
    assert parsed.marks == [text[s:e] for s, e in clamped]
    assert {t for t, _ in parsed.tags} <= {"mark"}


def test_quote_spans_use_offsets_and_fall_back_to_searching():
    c = citation(1, P1, Q2)
    assert render.quote_spans(P1, [c]) == [(P1.text.index(Q2), P1.text.index(Q2) + len(Q2))]
    shifted = c.model_copy(update={"start": c.start + 3, "end": c.end + 3})
    assert render.quote_spans(P1, [shifted]) == render.quote_spans(P1, [c])
    missing = c.model_copy(update={"quote": "not in the passage"})
    assert render.quote_spans(P1, [missing]) == []


def test_position_label_names_section_offsets_and_document_when_asked():
    assert render.position_label("Intro", "a.txt", 10, 1200) == "Intro · characters 10–1,200"
    assert render.position_label("", "a.txt", 0, 5, show_doc=True) == "(no section) · characters 0–5 · in a.txt"
    assert "&lt;" in render.position_label("<x>", "a.txt", 0, 1)


# ---------------------------------------------------------------- cited answers


def test_cited_answer_shows_each_quote_verbatim_followed_by_its_marker():
    answer = cited()
    out = render.answer_html(answer)
    assert_inert(out)
    quotes = Tags(out.split('<div class="ga-sources">')[0])
    visible = "".join(quotes.text)
    for c in answer.citations:
        assert f"{c.quote} [{c.n}]" in visible
    assert re.findall(r"\[(\d)\]", visible) == ["1", "2", "1"]


def test_sources_list_each_marker_once_with_its_passage_and_highlighted_quotes():
    answer = cited()
    sources = render.sources_html(answer)
    parsed = Tags(sources)
    details = [a for t, a in parsed.tags if t == "details"]
    assert [d["id"].rsplit("-", 1)[1] for d in details] == ["1", "2"]
    # [1] highlights both quotes taken from P1, in its context; [2] highlights Q3 in P2.
    assert parsed.marks == [Q1, Q2, Q3]
    text = "".join(parsed.text)
    assert P1.text in text and P2.text in text
    summaries = [a for t, a in parsed.tags if t == "summary"]
    assert [a["title"] for a in summaries] == [
        f"passage: characters {P1.start:,}–{P1.end:,}; quoted: characters "
        f"{answer.citations[0].start:,}–{answer.citations[0].end:,}, {answer.citations[2].start:,}–{answer.citations[2].end:,}",
        f"passage: characters {P2.start:,}–{P2.end:,}; quoted: characters "
        f"{answer.citations[1].start:,}–{answer.citations[1].end:,}"]
    assert "characters" not in text  # offsets live in the tooltip only
    assert "Intro" in text and "Sanctions" in text and Q1 in text  # label and one-line snippet
    assert [("open" in d) for d in details] == [True, False]  # the first source is open
    assert "doc.txt" not in text
    assert "doc.txt" in "".join(Tags(render.sources_html(answer, show_doc=True)).text)


def test_markers_link_to_the_sources_of_the_same_answer():
    out = render.answer_html(cited())
    parsed = Tags(out)
    hrefs = {a["href"][1:] for t, a in parsed.tags if t == "a" and a["class"] == "ga-marker"}
    ids = {a["id"] for t, a in parsed.tags if t == "details"}
    assert hrefs == ids and len(ids) == 2
    other = render.answer_html(cited().model_copy(update={"question": "Another question?"}))
    assert not ids & {a["id"] for t, a in Tags(other).tags if t == "details"}


def test_answer_streams_in_quote_by_quote_then_gets_its_sources():
    answer = cited()
    steps = list(render.answer_steps(answer))
    assert len(steps) == len(answer.citations)
    for i, step in enumerate(steps[:-1], start=1):
        assert "ga-sources" not in step
        assert step.count('class="ga-quote"') == i
    assert steps[-1] == render.answer_html(answer)


def test_escaping_of_document_text_in_answers():
    evil = "<script>window.__xss=1</script> and <img src=x onerror=\"window.__xss=2\"> ${a} {{b}}"
    doc_passage = Passage(chunk_id="e#0", doc_id="<e>", section="<i>s</i>", text="before " + evil + " after",
                          start=0, end=len(evil) + 13, score=1, rank=1)
    c = Citation(n=1, chunk_id="e#0", doc_id="<e>", section="<i>s</i>", quote=evil, start=7, end=7 + len(evil),
                 score=1)
    answer = Answer(question=evil, text=f"“{evil}” [1]", citations=[c], passages=[doc_passage], abstained=False,
                    timing=TIMING)
    out = render.answer_html(answer, show_doc=True)
    assert_inert(out)
    assert "<script" not in out and "<img" not in out and "${" not in out and "{{" not in out
    parsed = Tags(out)
    assert parsed.marks == [evil]
    assert evil in "".join(parsed.text)


# ---------------------------------------------------------------- abstentions


def test_abstention_looks_different_and_offers_related_passages_without_markers():
    answer = abstained()
    out = render.answer_html(answer)
    assert_inert(out)
    assert "ga-abstained" in out and "ga-cited" not in out
    parsed = Tags(out)
    text = "".join(parsed.text)
    assert "The document doesn't say." in text and "**" not in text
    assert not re.search(r"\[\d+\]", text)
    assert parsed.marks == []
    assert "Related passages" in text
    assert text.index(P2.text) < text.index(P1.text)  # best first, as given
    assert not any(t == "a" and a["class"] == "ga-marker" for t, a in parsed.tags)
    assert list(render.answer_steps(answer)) == [out]


def test_abstention_without_related_passages_is_just_the_message():
    answer = abstained().model_copy(update={"related": []})
    assert "ga-sources" not in render.answer_html(answer)


# ---------------------------------------------------------------- questions and history


@given(st.text(max_size=80))
def test_questions_survive_the_chat_round_trip(question):
    content = render.question_html(question)
    assert_inert(content)
    # Gradio passes string contents through inspect.cleandoc before they reach the browser.
    assert render.question_from_html(inspect.cleandoc(content)) == question
    assert "".join(Tags(content).text) == question


def test_questions_from_history_skip_refused_ones_and_read_gradio_parts():
    history = [
        {"role": "user", "content": [{"type": "text", "text": render.question_html("Who <sends> shells?")}]},
        {"role": "assistant", "content": [{"type": "text", "text": render.answer_html(cited())}]},
        {"role": "user", "content": render.question_html("x" * 50)},
        {"role": "assistant", "content": render.notice_html("the question is too long", "refused")},
        {"role": "user", "content": render.question_html("And in return?")},
        {"role": "assistant", "content": render.answer_html(abstained())},
    ]
    assert render.questions_from_history(history) == ["Who <sends> shells?", "And in return?"]
    assert render.questions_from_history([]) == []


def test_notice_is_escaped_text():
    out = render.notice_html("bad <thing>")
    assert_inert(out)
    assert "".join(Tags(out).text) == "bad <thing>"


# ---------------------------------------------------------------- side panel


def info(**changes) -> IndexInfo:
    data = dict(folder="/idx", build_id="b1", created_at="2026-01-01T00:00:00+00:00", model="default",
                model_fingerprint="f", dim=384, faiss="Flat", chunks=26, sentences=71,
                documents=[{"doc_id": "a.txt", "title": "<b>Title</b>", "path": "/a.txt", "chars": 11194, "chunks": 26}])
    data.update(changes)
    return IndexInfo(**data)


def test_info_panel_shows_documents_chunks_model_and_age():
    now = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    out = render.info_html(info(), now=now)
    assert_inert(out)
    text = " ".join(Tags(out).text)
    for expected in ("<b>Title</b>", "a.txt", "26 passages", "Chunks", "default", "3 hours ago"):
        assert expected in text, expected
    assert "/idx" not in out and "/a.txt" not in out  # no server paths


def test_info_panel_lists_uploads_with_size_passages_and_when_added():
    from assistant.library import LibraryDocument

    now = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    docs = [LibraryDocument(doc_id="<x>.txt", title="", size=3 * 1024, passages=1,
                            added_at="2026-01-01T02:58:00+00:00", removable=True)]
    out = render.info_html(info(), docs, now=now)
    assert_inert(out)
    assert "<x>.txt · 3 KB · 1 passage · added 2 minutes ago" in " ".join(Tags(out).text)


@pytest.mark.parametrize("seconds, expected", [(5, "just now"), (60, "1 minute ago"), (7199, "1 hour ago"),
                                               (2 * 86400 + 5, "2 days ago")])
def test_age(seconds, expected):
    now = datetime(2026, 1, 10, tzinfo=timezone.utc)
    then = datetime.fromtimestamp(now.timestamp() - seconds, tz=timezone.utc).isoformat()
    assert render.age(then, now=now) == expected
    assert render.age("not a date") == "not a date"


def test_header_escapes_the_title():
    out = render.header_html("<script>x</script>", "Ask.")
    assert_inert(out)
    assert "<script>x</script>" in "".join(Tags(out).text)


# ---------------------------------------------------------------- sources, copy, document view


def test_a_source_with_a_page_says_so():
    assert render.source_label("Intro", "a.pdf", 3) == "Intro · p. 3"
    assert render.source_label("", "<a>.pdf", None, show_doc=True) == "(no section) · &lt;a&gt;.pdf"


@given(st.text(min_size=1, max_size=40), st.integers(0, 10**9), st.integers(0, 10**9))
def test_open_links_round_trip_any_document_id(doc_id, start, end):
    href = render.open_href(doc_id, start, end)
    assert render.parse_open(href) == (doc_id, start, end)
    assert href.startswith("#ga-open:") and not set(href) & set("<>\"' ")


def test_open_links_to_the_first_quote_of_each_source():
    hrefs = [a["href"] for t, a in Tags(render.sources_html(cited())).tags if t == "a" and a["class"] == "ga-open"]
    c = cited().citations
    assert [render.parse_open(h) for h in hrefs] == [("doc.txt", c[0].start, c[0].end), ("doc.txt", c[1].start, c[1].end)]
    assert render.parse_open("#ga-open:1:x:a") is None and render.parse_open("javascript:alert(1)") is None


def test_copy_gives_the_quotes_and_their_sources_as_markdown():
    answer = cited()
    md = render.answer_markdown(answer)
    c = answer.citations
    assert md == (f"> {Q1} [1]\n\n> {Q3} [2]\n\n> {Q2} [1]\n\nSources:\n"
                  f"[1] Intro, characters {c[0].start}–{c[0].end}, {c[2].start}–{c[2].end}\n"
                  f"[2] Sanctions, characters {c[1].start}–{c[1].end}\n")
    hidden = Tags(render.answer_html(answer))
    assert any(t == "div" and a.get("class") == "ga-copy-md" and "hidden" in a for t, a in hidden.tags)
    assert md in "".join(hidden.text)  # the Markdown rides along as text, escaped
    assert render.answer_markdown(abstained()).startswith("The document doesn't say.")


def test_searched_as_shows_only_when_the_query_differs_from_the_question():
    same = render.answer_html(cited())
    assert "searched as" not in same
    changed = cited().model_copy(update={"query": "What is <exchanged> between Russia and North Korea?"})
    out = render.answer_html(changed)
    assert_inert(out)
    assert "searched as: What is <exchanged> between Russia and North Korea?" in "".join(Tags(out).text)
    assert "searched as" not in "".join(render.answer_steps(changed))[:-len(out)]  # not while streaming


def test_document_view_marks_the_quote_and_windows_long_documents():
    out = render.document_html("<T>", DOC, DOC.index(Q3), DOC.index(Q3) + len(Q3))
    assert_inert(out)
    parsed = Tags(out)
    assert parsed.marks == [Q3] and "".join(parsed.text) == "<T>" + DOC
    long = "x" * 1000 + "NEEDLE" + "y" * 1000
    cut = Tags(render.document_html("L", long, 1000, 1006, window=100))
    assert cut.marks == ["NEEDLE"] and "earlier text not shown" in "".join(cut.text)
    assert "later text not shown" in "".join(cut.text) and len("".join(cut.text)) < 200


def test_upload_status_escapes_names_and_reasons():
    out = render.upload_status_html(["<b>.txt"], [("x", "<img>.pdf: unsupported")], ["old.md"])
    assert_inert(out)
    assert " ".join(Tags(out).text) == "Added <b>.txt Removed old.md <img>.pdf: unsupported"


# ---------------------------------------------------------------- issue 25: names, every quote, capitals


def test_markers_carry_a_name_that_says_which_source_they_open():
    parsed = Tags(render.answer_html(cited()))
    names = [a["aria-label"] for t, a in parsed.tags if t == "a" and a.get("class") == "ga-marker"]
    assert names == ["Source 1: Intro", "Source 2: Sanctions", "Source 1: Intro"]
    paged = cited().model_copy(update={"citations": [c.model_copy(update={"page": 2}) for c in cited().citations]})
    assert "Source 1: Intro, p. 2" in render.answer_html(paged)


def test_open_links_carry_every_quote_of_their_source_and_the_view_marks_them_all():
    c = cited().citations  # [1] holds Q1 and Q2, [2] holds Q3
    hrefs = [a["href"] for t, a in Tags(render.sources_html(cited())).tags if t == "a" and a["class"] == "ga-open"]
    assert render.parse_open_spans(hrefs[0]) == ("doc.txt", [(c[0].start, c[0].end), (c[2].start, c[2].end)])
    assert render.parse_open_spans("#ga-open:1:2,x:3:a") is None
    out = render.document_html("T", DOC, c[0].start, c[0].end, more=[(c[2].start, c[2].end)])
    parsed = Tags(out)
    assert parsed.marks == [Q1, Q2] and "".join(parsed.text) == "T" + DOC
    assert out.count('id="ga-doc-hit"') == 1 and out.index('id="ga-doc-hit"') < out.index(Q1)
    later = render.document_html("T", DOC, c[2].start, c[2].end, more=[(c[0].start, c[0].end)])
    assert later.count('id="ga-doc-hit"') == 1 and later.index('id="ga-doc-hit"') > later.index(Q1)


def test_searched_as_keeps_the_capitals_of_names():
    assert render.cased_like("relations of korea and russia", "Relations of Koreaa and Russia") == \
        "Relations of Korea and Russia"
    assert render.cased_like("what does nato say", "What does NATOO say") == "What does NATO say"
    changed = cited().model_copy(update={"question": "What did Koreaa send?", "query": "what did korea send?"})
    assert "searched as: What did Korea send?" in "".join(Tags(render.answer_html(changed)).text)
    same = cited().model_copy(update={"question": "What did Korea send?", "query": "what did korea send?"})
    assert "searched as" not in render.answer_html(same)
