"""Chunker: exact offsets always, structure respected, odd inputs survive."""

from __future__ import annotations

from hypothesis import given, settings as hsettings, strategies as st

from index.chunking import ChunkerSettings, chunk_document, cut_long, split_sentences
from index.loading import Document, load_document, text_blocks


def make_doc(text: str, markdown: bool = False) -> Document:
    return Document(doc_id="d", path="/d", title="d", text=text, sha256="x", blocks=text_blocks(text, markdown))


def assert_exact(doc: Document, chunks) -> None:
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.start <= c.sentences[0].start and c.sentences[-1].end <= c.end
        for s in c.sentences:
            piece = doc.text[s.start:s.end]
            assert piece and piece == piece.strip()


def test_sentences_have_exact_offsets():
    text = "During the Cold War, the U.S. was rich. Dr. Smith left!  Did he? Yes."
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["During the Cold War, the U.S. was rich.", "Dr. Smith left!", "Did he?", "Yes."]


def test_cut_long_prefers_spaces():
    assert cut_long("aaa bbb ccc", 0, 11, 7) == [(0, 7), (8, 11)]
    assert cut_long("x" * 10, 0, 10, 4) == [(0, 4), (4, 8), (8, 10)]


def test_article_chunks_carry_sections_and_keep_lists_with_their_introduction(article_path):
    doc = load_document(article_path)
    chunks = chunk_document(doc)
    assert_exact(doc, chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    econ = [c for c in chunks if c.section == "Economic and Diplomatic Ramifications"]
    first = econ[0]
    # the paragraph ending with "This could include:" and its three bullets are one chunk
    assert first.text.startswith("Beyond military aid") and "Food Security:" in first.text
    assert [s.item for s in first.sentences][-3:] == [True, True, True]
    military = next(c for c in chunks if "Satellite Technology:" in c.text)
    # too long to keep whole: the sentence introducing the list still leads it
    assert military.text.startswith("In return, Pyongyang is likely seeking Russian assistance in:")
    limits = ChunkerSettings()
    # running text is cut short; a list is read whole with the sentence that introduces it
    assert all(len(c.text) <= limits.max_chars for c in chunks if not any(s.item for s in c.sentences))
    assert all(len(c.text) <= limits.max_list_chars for c in chunks)
    assert any(len(c.text) > limits.max_chars for c in chunks if any(s.item for s in c.sentences))
    assert all(not c.text.startswith("Conclusion") for c in chunks)  # headings are sections, not text


def test_long_paragraph_is_split_on_sentences_with_overlap():
    sentences = [f"Sentence number {i} talks about topic {i} at some length." for i in range(40)]
    doc = make_doc(" ".join(sentences))
    chunks = chunk_document(doc, ChunkerSettings(max_chars=300, overlap=1))
    assert len(chunks) > 5
    assert_exact(doc, chunks)
    for a, b in zip(chunks, chunks[1:]):
        assert a.sentences[-1].start == b.sentences[0].start  # one sentence repeated
    covered = {(s.start, s.end) for c in chunks for s in c.sentences}
    assert len(covered) == 40


def test_one_megabyte_paragraph_without_punctuation():
    doc = make_doc(("lorem ipsum " * 90000).strip())
    chunks = chunk_document(doc)
    assert_exact(doc, chunks)
    assert sum(len(c.text) for c in chunks) >= len(doc.text) * 0.99


def test_emoji_and_right_to_left_text():
    text = "مرحبا بالعالم. هذا نص عربي 🌍.\n\nשלום עולם! 👋🏽 Family: 👨‍👩‍👧‍👦."
    doc = make_doc(text)
    chunks = chunk_document(doc)
    assert_exact(doc, chunks)
    assert "👨‍👩‍👧‍👦" in "".join(c.text for c in chunks)


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000),
       st.integers(min_value=80, max_value=900), st.integers(min_value=0, max_value=3), st.booleans())
def test_offsets_invariant_on_random_text(text, max_chars, overlap, markdown):
    doc = make_doc(text, markdown)
    chunks = chunk_document(doc, ChunkerSettings(max_chars=max_chars, overlap=overlap,
                                                 max_sentence_chars=max(40, max_chars // 2)))
    assert_exact(doc, chunks)


@hsettings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["Heading", "A b c.", "• item one", "- item two", "", "Intro:", "# Md head",
                                 "Long " * 50 + "end.", "1. first", "\t  ", "```", "x"]), max_size=60),
       st.booleans())
def test_offsets_invariant_on_structured_text(lines, markdown):
    doc = make_doc("\n".join(lines), markdown)
    assert_exact(doc, chunk_document(doc, ChunkerSettings(max_chars=200)))


def test_hard_wrapped_prose_is_read_in_sentences_not_lines():
    # a man page's option: the term and its description, wrapped at a fixed width with a constant margin
    text = ("-c, --count\n"
            "       Suppress normal output; instead print a count of matching  lines\n"
            "       for each input file.  With the -v option, count non-matching\n"
            "       lines.\n")
    doc = make_doc(text)
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert len(sentences) == 2 and sentences[0].startswith("-c, --count\n") and sentences[0].endswith("input file.")
    assert sentences[1].endswith("non-matching\n       lines.")  # quotes stay the document's own text
    assert_exact(doc, chunk_document(doc))
    # code keeps its lines: a break before a line that starts further left, or after a ':', stays a break
    code = "for row in rows:\n    print(row)\nprint('done')"
    assert [code[s:e] for s, e in split_sentences(code)] == ["for row in rows:", "print(row)", "print('done')"]


def test_a_signature_line_is_chunked_with_the_paragraph_that_describes_it():
    text = ("csv.QUOTE_ALL\n\nInstructs writer objects to quote all fields.\n\n"
            "csv.QUOTE_MINIMAL\n\nInstructs writer objects to only quote fields with special characters.\n\n"
            "A sentence that ends.\n\nAnother paragraph on its own.")
    doc = make_doc(text, markdown=True)  # Markdown: the short lines are paragraphs, not headings
    chunks = chunk_document(doc)
    assert_exact(doc, chunks)
    assert [c.text for c in chunks] == [
        "csv.QUOTE_ALL\n\nInstructs writer objects to quote all fields.",
        "csv.QUOTE_MINIMAL\n\nInstructs writer objects to only quote fields with special characters.",
        "A sentence that ends.", "Another paragraph on its own."]
