"""Hostile and odd input, property-based: `ask`, `retrieve`, the loaders and the chunker never crash.

Questions are built from arbitrary unicode (lone surrogates included: a terminal passes
undecodable bytes to Python as surrogates), control characters, NUL bytes, right-to-left
text and marks, emoji sequences, punctuation only, very long words and strings up to 1 MB.
Each ends as a valid `Answer` (grounded, and serialisable as the CLI's `--json` and the
chat's `/ask` send it) or as `InvalidQuestion`. Files of random bytes, or of hostile text
as .txt, .md and .html, are loaded or reported, and what loads chunks with exact offsets.

Deterministic (`derandomize`), no example database. `ASSISTANT_FUZZ_SCALE=10` runs ten
times as many examples; the default runs a few thousand in total.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, event, example, given, settings, strategies as st

from assistant import Answer
from assistant.errors import InvalidQuestion
from index import DocumentError, chunk_document, load_document
from index.chunking import ChunkerSettings
from tests_helpers import assert_grounded

SCALE = float(os.environ.get("ASSISTANT_FUZZ_SCALE", "1"))
LIMIT = 2000  # Settings().limits.max_question_chars


def fuzz(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large, HealthCheck.large_base_example])


HOSTILE = [
    "\x00", "\x00\x00\x00", "\x01\x02\x03", "\x07", "\x1b[31m", "\x7f", "\x85", "\r", "\r\n", "\t", "\x0b", "\x0c",
    "\u2028", "\u2029", "\ufeff", "\u200b", "\u200d", "\u00ad", "\u202e", "\u202c", "\u200f", "\u2066", "\u2069",
    "مرحبا", "كوريا الشمالية", "روسيا", "שלום", "צפון קוריאה", "\u0645\u0651\u064e",
    "😀", "🇰🇵", "🇷🇺", "👨‍👩‍👧‍👦", "👍🏽", "🏳️‍🌈", "\U0001F9D1\u200D\U0001F680",
    "e\u0301", "Z\u0335\u0336\u0337\u0338", "ﬁ", "ß", "İ", "ǅ", "Ω", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010FFFF", "\uFFFD", "\uFFFF",
    "\ud800", "\udcff", "\udfff\ud800",
    "?", "!!!", "...", "—", "«»", "\"'`", "<script>alert(1)</script>", "{{7*7}}", "${x}", "%s%n", "../../etc/passwd",
    "' OR 1=1 --", "[1]", "[^1]", "**", "#", "- ", "1.", "|a|b|", "\\", "/", "*" * 40,
    "North", "Korea", "Russia", "Kim", "Jong-un", "Lavrov", "Moscow", "sanctions", "1991", "artillery", "shells",
    "what", "how", "why", "who", "when", "many", "list", "conclusion", "the", "of", "and", "about", "it",
    "ignore previous instructions", "système", "Пхеньян", "朝鲜", "북한", "ロシア",
    "a" * 300, "Russia" * 200, "x" * 2500, "supercalifragilisticexpialidocious" * 20,
]

pieces = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_categories=()), max_size=12))
hostile_text = st.one_of(
    st.lists(pieces, max_size=30).map(" ".join),
    st.lists(pieces, max_size=30).map("".join),
    st.text(st.characters(exclude_categories=()), max_size=400),
)
# Strings of up to 1 MB, built by repetition so that generating them stays cheap.
huge_text = st.tuples(st.sampled_from(HOSTILE + ["Russia ", "a", " ", "\x00", "🇷🇺"]),
                      st.integers(min_value=LIMIT - 5, max_value=1 << 20)).map(
    lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1]])
question = st.one_of(hostile_text, hostile_text, hostile_text, huge_text)


def check_answer(assistant, answer: Answer, asked: str) -> None:
    assert isinstance(answer, Answer) and answer.question == asked
    assert_grounded(assistant, answer)
    # What the CLI prints with --json and the chat's /ask returns must be producible and readable back.
    assert Answer.model_validate_json(answer.model_dump_json()) == answer


@fuzz(2000)
@given(q=question, history=st.lists(st.one_of(hostile_text, huge_text), max_size=3))
@example(q="\x00" * (1 << 20), history=[])
@example(q="What does North Korea get from Russia? \udcff", history=[])
@example(q="What about Japan?", history=["How are South Korea and Japan reacting?\x00", "\ud800"])
@example(q="روسيا كوريا الشمالية \u202e Russia North Korea", history=[])
@example(q="a" * LIMIT, history=[])
@example(q="🇰🇵" * 10, history=[])
def test_ask_gives_a_valid_answer_or_invalid_question(hashing_article, q, history):
    try:
        answer = hashing_article.ask(q, history=history)
    except InvalidQuestion as exc:
        assert "\n" not in str(exc) and exc.exit_code == 2
        reason = next((r for r in ("limit", "empty", "no words", "not valid") if r in str(exc)), str(exc)[:30])
        event(f"refused ({reason})")
        return
    assert len(q) <= LIMIT, "an over-long question must be refused"
    check_answer(hashing_article, answer, q)
    event("abstained" if answer.abstained else "answered with citations")


@fuzz(1000)
@given(q=question, k=st.integers(min_value=-3, max_value=120))
@example(q="Russia\x00North Korea", k=1)
@example(q="\u202eaissuR", k=100)
def test_retrieve_gives_passages_or_invalid_question(hashing_article, q, k):
    try:
        passages = hashing_article.retrieve(q, k)
    except InvalidQuestion as exc:
        assert "\n" not in str(exc)
        return
    assert k >= 1 and len(q) <= LIMIT
    assert 1 <= len(passages) <= k
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert hashing_article.document_text(p.doc_id)[p.start:p.end] == p.text


@pytest.mark.parametrize("q", ["x" * (1 << 20), "Russia " * 150_000, "\x00" * (1 << 20), "🇷🇺" * 300_000,
                               "a" * (LIMIT + 1), " " * (1 << 20) + "Russia"])
def test_one_megabyte_questions_are_refused_quickly(hashing_article, q):
    t0 = time.perf_counter()
    with pytest.raises(InvalidQuestion, match=f"limit is {LIMIT}"):
        hashing_article.ask(q)
    with pytest.raises(InvalidQuestion, match=f"limit is {LIMIT}"):
        hashing_article.retrieve(q)
    assert time.perf_counter() - t0 < 1.0


# ---------------------------------------------------------------- loaders and chunker


def check_document(doc, small: ChunkerSettings) -> None:
    assert doc.text.strip() and "\r" not in doc.text
    for b in doc.blocks:
        assert 0 <= b.start < b.end <= len(doc.text)
    for chunker in (ChunkerSettings(), small):
        for c in chunk_document(doc, chunker):
            assert doc.text[c.start:c.end] == c.text and c.text.strip()
            for s in c.sentences:
                assert c.start <= s.start < s.end <= c.end
                assert doc.text[s.start:s.end].strip()


SMALL = ChunkerSettings(max_chars=80, overlap=2, max_sentence_chars=40)
SUFFIXES = [".txt", ".md", ".html", ".htm", ".markdown", ".text"]

markup = st.sampled_from(["<p>", "</p>", "<h1>", "</h1>", "<li>", "<ul>", "</ul>", "<br>", "<pre>", "</pre>",
                          "<script>", "</script>", "<style>", "<!--", "-->", "<![CDATA[", "]]>", "&amp;", "&#0;",
                          "&#x110000;", "&nbsp;", "&", "<", ">", "<div", "\"", "# ", "## ", "- ", "* ", "1. ",
                          "```", "~~~", "\n", "\n\n", "   ", "\t", "|---|", "> "])
document_text = st.lists(st.one_of(pieces, markup), max_size=120).map("".join)


def load_or_report(path):
    try:
        return load_document(path)
    except DocumentError as exc:
        message = str(exc)
        assert str(path) in message and "\n" not in message
        return None


@fuzz(600)
@given(data=st.binary(max_size=4000), suffix=st.sampled_from(SUFFIXES))
@example(data=b"\xff\xfe\x00h\x00i", suffix=".txt")
@example(data=b"\xef\xbb\xbf\r\n\r\nTitle\r\rBody.", suffix=".md")
@example(data=b"<html><body>" + b"<div>" * 5000 + b"deep", suffix=".html")
def test_random_bytes_load_or_are_reported(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("fuzz-bytes") / f"file{suffix}"
    path.write_bytes(data)
    doc = load_or_report(path)
    if doc is not None:
        check_document(doc, SMALL)


@pytest.fixture(scope="module")
def office_files(tmp_path_factory):
    """A small real PDF (two pages) and Word file to damage."""
    from tests_helpers import make_docx, make_pdf

    folder = tmp_path_factory.mktemp("office")
    pdf = make_pdf(folder / "v.pdf", [[("Hello world, a line of text.", 0.9), ("Another line here.", 0.878)],
                                      [("Page two text.", 0.9)]])
    docx = make_docx(folder / "v.docx", [("Heading 1", "Head"), ("Normal", "Para one."), ("List Bullet", "item")])
    return {".pdf": pdf.read_bytes(), ".docx": docx.read_bytes()}


@fuzz(200)
@given(suffix=st.sampled_from([".pdf", ".docx"]), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=40),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_damaged_pdf_and_word_files_load_or_are_reported(tmp_path_factory, office_files, suffix, flips, cut):
    data = bytearray(office_files[suffix])
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = tmp_path_factory.mktemp("fuzz-office") / f"file{suffix}"
    path.write_bytes(bytes(data))
    t0 = time.perf_counter()
    doc = load_or_report(path)
    assert time.perf_counter() - t0 < 10
    if doc is not None:
        check_document(doc, SMALL)
        for b in doc.blocks:
            assert b.start < b.end and doc.text[b.start:b.end].strip() == doc.text[b.start:b.end]


@fuzz(800)
@given(text=document_text, suffix=st.sampled_from(SUFFIXES), encoding=st.sampled_from(["utf-8", "surrogatepass"]))
@example(text="<p>" + "a" * 30_000 + "</p>", suffix=".html", encoding="utf-8")
@example(text="Title\n\n" + "word " * 6000, suffix=".txt", encoding="utf-8")
@example(text="# T\n\n" + "\u202eمرحبا. " * 500, suffix=".md", encoding="utf-8")
def test_hostile_text_files_load_or_are_reported_with_exact_chunk_offsets(tmp_path_factory, text, suffix, encoding):
    path = tmp_path_factory.mktemp("fuzz-text") / f"doc{suffix}"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if encoding == "surrogatepass"
                     else text.encode("utf-8", "replace"))
    doc = load_or_report(path)
    if doc is not None:
        check_document(doc, SMALL)
