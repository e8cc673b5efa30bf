"""PDF and Word loaders: real files made in the test (matplotlib's PDF backend, python-docx),
exact offsets, pages, headings as sections, and every kind of bad file refused by name."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from tests_helpers import make_docx, make_pdf

from index import LoadLimits, chunk_document, load_document, load_documents
from index.errors import DocumentError, StaleIndex
from index.loading import page_at

HEADER = ("Field Guide to Volcanoes", 0.97, 8)
STEP = 0.022  # one line of 10 pt text on an A4 page


def lines(first_y: float, *texts: str) -> list[tuple]:
    return [(t, first_y - i * STEP) for i, t in enumerate(texts)]


VOLCANO_PAGES = [
    [HEADER, ("Volcano Basics", 0.92, 18, True),
     *lines(0.88, "A volcano is an opening in the crust where molten rock, called magma, reaches the",
            "surface. Most erup-", "tions happen along plate boundaries, and a well-", "known example is Mount Etna."),
     *lines(0.88 - 5 * STEP, "Three kinds of volcano are common:", "• Shield volcanoes", "• Cinder cones"),
     ("1", 0.04)],
    [HEADER, ("Monitoring", 0.92, 18, True),
     *lines(0.88, "Scientists watch gas output and small earthquakes to warn people before an"), ("2", 0.04)],
    [HEADER, *lines(0.92, "eruption begins on the island of Sicily."), ("3", 0.04)],
]
VOLCANO_TEXT = ("Volcano Basics\n\nA volcano is an opening in the crust where molten rock, called magma, reaches the "
                "surface. Most eruptions happen along plate boundaries, and a well-known example is Mount Etna.\n\n"
                "Three kinds of volcano are common:\n\n• Shield volcanoes\n\n• Cinder cones\n\nMonitoring\n\n"
                "Scientists watch gas output and small earthquakes to warn people before an "
                "eruption begins on the island of Sicily.")


@pytest.fixture(scope="module")
def volcano_pdf(tmp_path_factory):
    return make_pdf(tmp_path_factory.mktemp("pdf") / "volcanoes.pdf", VOLCANO_PAGES)


def blocks_of(doc):
    return [(b.kind, doc.text[b.start:b.end]) for b in doc.blocks]


def test_pdf_text_is_joined_into_paragraphs_headings_items_and_pages(volcano_pdf):
    doc = load_document(volcano_pdf)
    # soft wraps joined by a space, "erup-/tions" glued (a known word), "well-/known" keeps its
    # hyphen, the running header and page numbers gone, the paragraph carried over to page 3
    assert doc.text == VOLCANO_TEXT
    assert blocks_of(doc) == [
        ("heading", "Volcano Basics"),
        ("paragraph", VOLCANO_TEXT.split("\n\n")[1]),
        ("paragraph", "Three kinds of volcano are common:"),
        ("item", "Shield volcanoes"), ("item", "Cinder cones"),
        ("heading", "Monitoring"),
        ("paragraph", VOLCANO_TEXT.split("\n\n")[-1]),
    ]
    second, third = VOLCANO_TEXT.index("Monitoring"), VOLCANO_TEXT.index("eruption begins")
    assert doc.pages == [(0, second), (second, third), (third, len(VOLCANO_TEXT))]
    assert doc.title == "Volcano Basics"


def test_pdf_chunks_keep_exact_offsets_sections_and_the_page_they_start_on(volcano_pdf):
    doc = load_document(volcano_pdf)
    chunks = chunk_document(doc)
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.page == page_at(doc.pages, c.start)
        for s in c.sentences:
            assert doc.text[s.start:s.end].strip()
    assert [(c.section, c.page) for c in chunks] == [("Volcano Basics", 1), ("Volcano Basics", 1), ("Monitoring", 2)]


def test_pdf_metadata_title_wins_and_a_pdf_named_txt_is_read_as_a_pdf(tmp_path):
    path = make_pdf(tmp_path / "notes.txt", [lines(0.9, "Only one line here.")], title="The Real Title")
    doc = load_document(path)
    assert doc.text == "Only one line here." and doc.title == "The Real Title" and doc.pages == [(0, 19)]


def test_a_pdf_without_a_text_layer_is_refused_by_name(tmp_path):
    path = make_pdf(tmp_path / "scan.pdf", [[(None, 0.5)], [(None, 0.5)]])
    with pytest.raises(DocumentError, match=r"scan\.pdf: no text layer: OCR is not done"):
        load_document(path)


def test_an_encrypted_pdf_is_refused_unless_it_opens_without_a_password(tmp_path, volcano_pdf):
    import pypdf

    def encrypted(name, user):
        writer = pypdf.PdfWriter(clone_from=str(volcano_pdf))
        writer.encrypt(user_password=user, owner_password="owner", algorithm="RC4-128")
        path = tmp_path / name
        writer.write(path)
        return path

    with pytest.raises(DocumentError) as err:
        load_document(encrypted("locked.pdf", "secret"))
    assert "locked.pdf: encrypted PDF" in str(err.value) and "\n" not in str(err.value)
    # Only printing or copying is restricted: the text is anyone's to read.
    assert load_document(encrypted("restricted.pdf", "")).text == VOLCANO_TEXT


@pytest.mark.parametrize("damage", ["truncated", "garbage", "header only"])
def test_a_damaged_pdf_is_refused_in_one_line(tmp_path, volcano_pdf, damage):
    data = volcano_pdf.read_bytes()
    bad = {"truncated": data[: len(data) // 3], "garbage": b"%PDF-1.7\n" + bytes(range(256)) * 40,
           "header only": b"%PDF-1.4"}[damage]
    path = tmp_path / "broken.pdf"
    path.write_bytes(bad)
    with pytest.raises(DocumentError) as err:
        load_document(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


# ---------------------------------------------------------------- Word

WORD_PARTS = [
    ("Title", "Tea Handbook"),
    ("Normal", "Tea is the most widely drunk beverage after water. It comes from one plant."),
    ("Heading 1", "Brewing"),
    ("Normal", "Water temperature matters:"),
    ("List Bullet", "Green tea at 80 degrees."),
    ("List Number", "Black tea at boiling point."),
    ("Heading 2", "Storage"),
    ("Normal", "Keep leaves dry and dark."),
    ("table", "Kind | Minutes\nGreen | 2"),
]


def test_docx_headings_paragraphs_items_and_tables_with_exact_offsets(tmp_path):
    doc = load_document(make_docx(tmp_path / "tea.docx", WORD_PARTS))
    assert blocks_of(doc) == [
        ("heading", "Tea Handbook"),
        ("paragraph", "Tea is the most widely drunk beverage after water. It comes from one plant."),
        ("heading", "Brewing"), ("paragraph", "Water temperature matters:"),
        ("item", "Green tea at 80 degrees."), ("item", "Black tea at boiling point."),
        ("heading", "Storage"), ("paragraph", "Keep leaves dry and dark."),
        ("paragraph", "Kind | Minutes"), ("paragraph", "Green | 2"),
    ]
    assert [b.level for b in doc.blocks if b.kind == "heading"] == [1, 1, 2]
    assert doc.text == "\n\n".join(text for _, text in blocks_of(doc))
    assert doc.title == "Tea Handbook" and doc.pages == []
    chunks = chunk_document(doc)
    assert {c.section for c in chunks} == {"Tea Handbook", "Brewing", "Storage"}
    assert all(doc.text[c.start:c.end] == c.text and c.page is None for c in chunks)
    # the list stays with the sentence that introduces it
    assert any(c.section == "Brewing" and "matters:" in c.text and "boiling" in c.text for c in chunks)


def test_docx_named_md_is_read_as_word_and_core_title_wins(tmp_path):
    doc = load_document(make_docx(tmp_path / "notes.md", [("Normal", "Hello there.")], title="Greeting"))
    assert doc.text == "Hello there." and doc.title == "Greeting"


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_zip_bombs_are_refused_before_anything_is_unpacked(tmp_path, monkeypatch):
    import docx

    normal = make_docx(tmp_path / "normal.docx", [("Normal", "Fine.")])

    def never(*a, **k):
        raise AssertionError("python-docx must not read a refused archive")

    monkeypatch.setattr(docx, "Document", never)
    ratio = _zip(tmp_path / "ratio.docx", {"word/document.xml": b"<w/>", "word/fill.xml": b"\0" * 8 * 2**20})
    with pytest.raises(DocumentError, match=r"ratio\.docx: 'word/fill\.xml' is compressed \d+:1.*zip bomb"):
        load_document(ratio)
    with pytest.raises(DocumentError, match=r"normal\.docx: unpacks to .*over the .*limit \(a zip bomb\?\)"):
        load_document(normal, limits=LoadLimits(max_unpacked_bytes=1000))
    with pytest.raises(DocumentError, match=r"over the 3 limit"):
        load_document(normal, limits=LoadLimits(max_zip_members=3))


@pytest.mark.parametrize("name,make,expect", [
    ("cut.docx", lambda p: p.write_bytes(p.read_bytes()[:2000]), "damaged ZIP"),
    ("xml.docx", lambda p: _zip(p, {"[Content_Types].xml": b"<nonsense", "word/document.xml": b"<<<"}), "damaged Word document"),
    ("sheet.docx", lambda p: _zip(p, {"xl/workbook.xml": b"<x/>"}), "not a Word document"),
    ("legacy.docx", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600), "legacy Office"),
    ("text.pdf", lambda p: p.write_text("Just text, saved with the wrong name.\n"), "not a PDF"),
    ("text.docx", lambda p: p.write_text("Just text.\n"), "not a Word document"),
])
def test_bad_word_files_and_misnamed_text_are_refused_by_name(tmp_path, name, make, expect):
    path = make_docx(tmp_path / name, [("Normal", "Some text. " * 200)])
    make(path)
    with pytest.raises(DocumentError) as err:
        load_document(path)
    assert str(err.value).startswith(f"{path}: ") and expect in str(err.value) and "\n" not in str(err.value)


def test_limits_per_file_and_per_build(tmp_path, volcano_pdf):
    with pytest.raises(DocumentError, match=r"volcanoes\.pdf: .*limit per file"):
        load_document(volcano_pdf, limits=LoadLimits(max_file_bytes=1000))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Alpha\n\nFirst file.\n")
    (folder / "b.pdf").write_bytes(volcano_pdf.read_bytes())
    docs, problems = load_documents([folder], LoadLimits(max_total_bytes=1000))
    assert [d.doc_id for d in docs] == ["a.txt"]
    assert len(problems) == 1 and "b.pdf: skipped" in problems[0] and "limit for one build" in problems[0]


def test_a_pdf_with_more_pages_than_the_limit_is_refused_in_one_line(volcano_pdf):
    with pytest.raises(DocumentError) as err:
        load_document(volcano_pdf, limits=LoadLimits(max_pdf_pages=2))
    assert str(err.value) == f"{volcano_pdf}: 3 pages, over the 2-page limit (index.limits.max_pdf_pages); not indexed"
    assert len(load_document(volcano_pdf, limits=LoadLimits(max_pdf_pages=3)).pages) == 3


def test_a_pdf_named_without_a_suffix_is_found_by_its_content(tmp_path, volcano_pdf):
    plain = tmp_path / "report"
    plain.write_bytes(volcano_pdf.read_bytes())
    text = tmp_path / "notes.csv"
    text.write_text("a,b\n")
    docs, problems = load_documents([plain, text])
    assert [(d.doc_id, len(d.pages)) for d in docs] == [("report", 3)]
    assert len(problems) == 1 and "notes.csv: unsupported file type" in problems[0]


def test_limits_are_settings_with_environment_overrides(monkeypatch):
    from assistant import Settings

    monkeypatch.setenv("ASSISTANT_INDEX__LIMITS__MAX_FILE_BYTES", "12345")
    settings = Settings.from_env()
    assert settings.index.limits.max_file_bytes == 12345
    assert settings.index.build().limits.max_file_bytes == 12345


# ---------------------------------------------------------------- through the index


def test_pages_reach_passages_and_citations_after_a_build(tmp_path, volcano_pdf, hashing_settings):
    from assistant import Assistant
    from tests_helpers import assert_grounded

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "volcanoes.pdf").write_bytes(volcano_pdf.read_bytes())
    make_docx(folder / "tea.docx", WORD_PARTS)
    a = Assistant.from_paths([folder], tmp_path / "index", hashing_settings, progress=False)
    assert {d["doc_id"]: d["pages"] for d in a.info().documents} == {"volcanoes.pdf": 3, "tea.docx": 0}
    passages = a.retrieve("Where does the eruption begin, on which island?", k=3)
    sicily = next(p for p in passages if "Sicily" in p.text)
    assert sicily.page == 2 and sicily.section == "Monitoring"  # the paragraph starts on page 2
    assert all(p.page is None for p in passages if p.doc_id == "tea.docx")
    answer = a.ask("What do scientists watch to warn people?")
    assert_grounded(a, answer)
    assert not answer.abstained
    for c in answer.citations:
        doc = a.index.documents[c.doc_id]
        assert doc[c.start:c.end] == c.quote
        assert c.page == (page_at(a.index.pages[c.doc_id], c.start) if c.doc_id == "volcanoes.pdf" else None)
    assert any(c.page == 2 for c in answer.citations)
    info = json.loads((tmp_path / "index" / a.index.build_dir.name / "manifest.json").read_text())
    assert info["schema_version"] == 2
    assert {d["doc_id"]: d["pages"] for d in info["documents"]} == {"tea.docx": 0, "volcanoes.pdf": 3}


def test_an_index_of_the_previous_schema_still_opens_and_a_newer_one_is_refused(tmp_path, hashing_settings):
    from assistant import Assistant
    from index import load_index

    (tmp_path / "a.txt").write_text("Alpha\n\nApples grow on trees.\n")
    Assistant.from_paths([tmp_path / "a.txt"], tmp_path / "index", hashing_settings, progress=False)
    index = load_index(tmp_path / "index")
    manifest = index.build_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data["schema_version"] = 1
    for d in data["documents"]:
        del d["pages"]  # what a schema-1 build wrote
    manifest.write_text(json.dumps(data))
    old = Assistant.load(tmp_path / "index", hashing_settings)
    assert [p.page for p in old.retrieve("apples")] == [None]
    data["schema_version"] = 3
    manifest.write_text(json.dumps(data))
    with pytest.raises(StaleIndex, match="assistant index build"):
        Assistant.load(tmp_path / "index", hashing_settings)


@pytest.mark.integration
def test_a_question_about_a_pdf_is_answered_with_its_page_and_an_exact_quote(tmp_path, volcano_pdf):
    from assistant import Assistant, Settings
    from tests_helpers import assert_grounded

    a = Assistant.from_paths([volcano_pdf], tmp_path / "index", Settings(), progress=False)
    answer = a.ask("What do scientists watch to warn people before an eruption?")
    assert_grounded(a, answer)
    assert not answer.abstained
    best = answer.citations[0]
    assert best.page == 2 and "gas output and small earthquakes" in best.quote
    assert a.index.documents["volcanoes.pdf"][best.start:best.end] == best.quote
    assert best.quote.endswith("eruption begins on the island of Sicily.")  # one sentence across the page break


def _raw_pdf(content: bytes) -> bytes:
    """A one-page PDF written by hand around `content` (a content stream; fonts F1 Helvetica, F2 Helvetica-Bold)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def test_pdf_font_sizes_are_measured_on_the_page_and_bold_comes_from_the_font_name():
    from index.pdf import read_pdf

    body = b"".join(b"BT /F1 10 Tf 72 %d Td (%s) Tj ET\n" % (y, t) for y, t in [
        (660, b"Tides rise twice a day along this coast, and the"), (648, b"harbour fills in about six hours."),
        (600, b"Boats wait outside until the water is deep enough.")])
    # the title is drawn at size 1 scaled 18 times by its text matrix; the bold line in the body's size
    content = b"BT /F1 1 Tf 18 0 0 18 72 700 Tm (Harbour Notes) Tj ET\n" + body.replace(
        b"BT /F1 10 Tf 72 600", b"BT /F2 10 Tf 72 624 Td (Waiting Times) Tj ET\nBT /F1 10 Tf 72 600")
    text, blocks, _, pages = read_pdf(_raw_pdf(content), "tides.pdf")
    assert [(b.kind, b.level, text[b.start:b.end]) for b in blocks] == [
        ("heading", 1, "Harbour Notes"),
        ("paragraph", 0, "Tides rise twice a day along this coast, and the harbour fills in about six hours."),
        ("heading", 2, "Waiting Times"),
        ("paragraph", 0, "Boats wait outside until the water is deep enough.")]
    assert pages == [(0, len(text))]


def test_pdfium_is_used_under_one_lock_and_closed_before_it_is_released(volcano_pdf, monkeypatch):
    """PDFium is not thread-safe: the reader holds `PDFIUM_LOCK` while it calls it (the page view does too)."""
    import pypdfium2

    from index import pdf

    seen = []
    opened = pypdfium2.PdfDocument

    class Watched(opened):
        def __init__(self, *args, **kwargs):
            seen.append(pdf.PDFIUM_LOCK._is_owned())
            super().__init__(*args, **kwargs)

        def close(self):
            seen.append(pdf.PDFIUM_LOCK._is_owned())
            super().close()

    monkeypatch.setattr(pypdfium2, "PdfDocument", Watched)
    pdf.read_pdf(volcano_pdf.read_bytes(), "volcanoes.pdf")
    from ui.pages import page_view

    assert page_view(volcano_pdf, 1, ["Most eruptions happen"]).boxes
    assert seen == [True, True, True, True]


def test_a_character_outside_ucs2_is_read_whole_from_a_pdf():
    # PDFium hands an emoji over as two UTF-16 halves; text holding a lone half cannot even be written as UTF-8
    from pathlib import Path

    pdf = Path(__file__).resolve().parents[1] / "eval" / "data" / "genres-train" / "unicode-howto.pdf"
    text = load_document(pdf).text
    assert "1F600 '\U0001F600'; GRINNING FACE" in text
    assert not any("\ud800" <= c <= "\udfff" for c in text)
    text.encode("utf-8")
