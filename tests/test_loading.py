"""Loaders: text, Markdown and HTML to text + blocks; bad files reported by name and skipped."""

from __future__ import annotations

import os

import pytest

from index.errors import DocumentError, NoDocuments
from index.loading import html_to_text, load_document, load_documents, text_blocks


def kinds(text, blocks):
    return [(b.kind, text[b.start:b.end]) for b in blocks]


def test_plain_text_headings_paragraphs_and_bullets():
    text = "Title Line\n\nFirst para. Two sentences.\n\nA Heading\n\nIntro:\n\n  • one\n  • two\n"
    assert kinds(text, text_blocks(text)) == [
        ("heading", "Title Line"), ("paragraph", "First para. Two sentences."), ("heading", "A Heading"),
        ("paragraph", "Intro:"), ("item", "one"), ("item", "two")]


def test_markdown_headings_and_lists_keep_offsets():
    text = "# Top\n\nSome *text* here.\n\n## Sub\n\n- a\n  continued\n- b\n"
    blocks = text_blocks(text, markdown=True)
    assert kinds(text, blocks) == [("heading", "Top"), ("paragraph", "Some *text* here."), ("heading", "Sub"),
                                   ("item", "a\n  continued"), ("item", "b")]
    assert [b.level for b in blocks if b.kind == "heading"] == [1, 2]


def test_html_keeps_visible_text_and_headings_drops_scripts_and_styles():
    text, blocks, title = html_to_text(
        "<html><head><title>T &amp; x</title><style>p{}</style></head><body><h2>Head</h2>"
        "<p>Hello <b>bold</b> world.</p><script>alert(1)</script><ul><li>one</li><li>two</li></ul></body></html>")
    assert text == "Head\n\nHello bold world.\n\none\n\ntwo"
    assert title == "T & x"
    assert kinds(text, blocks) == [("heading", "Head"), ("paragraph", "Hello bold world."), ("item", "one"), ("item", "two")]
    assert "alert" not in text


def test_newlines_are_normalised_and_the_document_hash_is_of_the_bytes(tmp_path):
    p = tmp_path / "crlf.txt"
    p.write_bytes(b"Title\r\n\r\nA line.\rB line.\r\n")
    doc = load_document(p)
    assert "\r" not in doc.text and doc.text.startswith("Title\n\nA line.\nB line.")
    import hashlib
    assert doc.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("name,data,expect", [
    ("empty.txt", b"", "empty"),
    ("blank.txt", b" \n\n\t", "empty"),
    ("binary.txt", b"\x00\x01\x02PNG\x00" * 50, "binary"),
    ("latin1.txt", "café au lait".encode("latin-1"), "not UTF-8"),
    ("doc.pdf", b"%PDF-1.4", "damaged PDF"),
    ("doc.xyz", b"Text with a name no reader takes.", "unsupported"),
])
def test_unreadable_files_are_reported_by_name(tmp_path, name, data, expect):
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(DocumentError) as err:
        load_document(p)
    assert name in str(err.value) and expect in str(err.value)


def test_a_folder_with_bad_files_loads_the_good_ones_and_reports_the_rest(tmp_path):
    (tmp_path / "good.txt").write_text("Fine\n\nSome text.", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    (tmp_path / "empty.md").write_text("")
    (tmp_path / "ignored.bin").write_bytes(b"\x00")
    docs, problems = load_documents([tmp_path])
    assert [d.doc_id for d in docs] == ["good.txt"]
    assert len(problems) == 2 and any("bad.txt" in p for p in problems) and any("empty.md" in p for p in problems)


def test_symlink_loops_and_duplicate_paths_are_harmless(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha\n\nText.", encoding="utf-8")
    os.symlink(tmp_path, tmp_path / "loop")
    os.symlink(tmp_path / "a.txt", tmp_path / "same.txt")
    docs, problems = load_documents([tmp_path, tmp_path / "a.txt"])
    assert [d.doc_id for d in docs] == ["a.txt"]
    assert problems == []


def test_nothing_readable_is_an_error(tmp_path):
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(NoDocuments):
        load_documents([tmp_path])
    with pytest.raises(NoDocuments, match="no such file"):
        load_documents([tmp_path / "missing"])


def test_tiny_corpus_loads(tiny_corpus):
    docs, problems = load_documents([tiny_corpus])
    assert problems == []
    assert sorted(d.doc_id for d in docs) == ["bicycles.md", "tea.txt", "volcanoes.html"]
    html_doc = next(d for d in docs if d.doc_id == "volcanoes.html")
    assert html_doc.title == "Volcanoes" and "never be indexed" not in html_doc.text


def test_html_leaves_out_site_navigation_and_permalink_marks():
    text, blocks, _ = html_to_text(
        "<body><nav><ul><li>Home</li><li>Docs</li></ul></nav>"
        "<div role='navigation'><h3>Table of Contents</h3><div><ul><li>reader()</li></ul></div></div>"
        "<h1>csv<a class='headerlink' href='#csv'>¶</a></h1><p>Read and write <b>CSV</b>.</p>"
        "<div class='footer'>Copyright.</div></body>")
    assert text == "csv\n\nRead and write CSV.\n\nCopyright."
    assert kinds(text, blocks) == [("heading", "csv"), ("paragraph", "Read and write CSV."), ("paragraph", "Copyright.")]


def test_plain_text_laid_out_like_a_man_page_gets_its_section_headings(tmp_path):
    p = tmp_path / "tool.1.txt"
    p.write_text("NAME\n       tool - do things\n\nOPTIONS\n   Matching Control\n       -i, --ignore-case\n"
                 "              Ignore case distinctions.\n\nEXIT STATUS\n       Zero on success.\n", encoding="utf-8")
    doc = load_document(p)
    heads = [(doc.text[b.start:b.end], b.level) for b in doc.blocks if b.kind == "heading"]
    assert heads == [("NAME", 1), ("OPTIONS", 1), ("Matching Control", 2), ("EXIT STATUS", 1)]
    assert kinds(doc.text, [b for b in doc.blocks if b.kind != "heading"]) == [
        ("paragraph", "tool - do things"), ("paragraph", "-i, --ignore-case\n              Ignore case distinctions."),
        ("paragraph", "Zero on success.")]
    # a paragraph whose first line merely starts further left (a hanging indent) keeps it
    q = tmp_path / "note.txt"
    q.write_text("Intro.\n\nThis sentence ends here.\n    And this line is indented.\n", encoding="utf-8")
    doc = load_document(q)
    assert kinds(doc.text, doc.blocks) == [("paragraph", "Intro."),
                                           ("paragraph", "This sentence ends here.\n    And this line is indented.")]


def test_the_same_bytes_are_parsed_once_a_process_and_keep_their_own_path(tmp_path, monkeypatch):
    import uuid

    from index import loading

    calls = []
    real = loading.html_to_text
    monkeypatch.setattr(loading, "html_to_text", lambda source: calls.append(1) or real(source))
    page = f"<html><body><p>Unique page {uuid.uuid4().hex}.</p></body></html>"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "page.html", tmp_path / "b" / "page.html"
    first.write_text(page, encoding="utf-8")
    second.write_text(page, encoding="utf-8")
    one, two = load_document(first, "one"), load_document(second, "two")
    assert len(calls) == 1  # the second file's bytes were read before: not parsed again
    assert (one.doc_id, two.doc_id) == ("one", "two")
    assert (one.path, two.path) == (os.path.realpath(first), os.path.realpath(second))
    assert (one.text, one.title, one.blocks, one.sha256) == (two.text, two.title, two.blocks, two.sha256)
    renamed = tmp_path / "other.html"  # a title taken from the name is the name's, not the first file's
    renamed.write_text(page, encoding="utf-8")
    assert load_document(renamed).title == "other" and one.title == "page" and len(calls) == 2
    second.write_text(page.replace("Unique", "Changed"), encoding="utf-8")
    assert "Changed page" in load_document(second).text and len(calls) == 3


def test_plain_text_joins_words_hyphenated_across_wrapped_lines(tmp_path):
    page = ("XARGS(1)\n\nDESCRIPTION\n       Some commands can usefully be exe-\n       cuted in parallel; a non-\n"
            "       matching line is a non-matching line.  See --files-\n       with-matches.  Commands are executed\n"
            "       in a separate process, with an inter-\n       active prompt, or a left-\n       aligned table.\n"
            "       Commands run in order, and the table is aligned to the left.  It is interactive.\n")
    (tmp_path / "x.txt").write_text(page)
    text = load_document(tmp_path / "x.txt").text
    assert "be executed in parallel" in text  # the joined word is written elsewhere
    assert "a non-matching line is" in text  # a compound written elsewhere keeps its hyphen
    assert "a left-aligned table" in text  # both halves are words, the joined one is not
    assert "an interactive prompt" in text
    assert "--files-\n       with-matches" in text  # an option is left as it stands
    (tmp_path / "x.md").write_text(page)
    assert "exe-\n" in load_document(tmp_path / "x.md").text  # Markdown is not formatter output


def test_a_break_without_evidence_follows_the_documents_other_breaks():
    from index.loading import join_broken_words

    hyphenating = "  It is exe-\n  cuted, then ig-\n  nored and ignored, possi-\n  bly; possibly.\n"
    assert "executed" in join_broken_words(hyphenating)  # most breaks here are hyphenation
    compounds = "  a left-\n  aligned, group-\n  readable, start-\n  stop list; start-stop, the group, left.\n"
    assert "group-readable" in join_broken_words(compounds) and "left-aligned" in join_broken_words(compounds)
