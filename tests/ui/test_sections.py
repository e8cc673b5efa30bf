"""PDF headings read as sections (issue 25): a numbered heading in a heading's font is a heading."""

from __future__ import annotations

from index.pdf import Line, assemble


def test_a_numbered_heading_in_a_larger_font_is_a_heading_and_never_glued_to_its_paragraph():
    page = [Line("Annual Report", 700, 18), Line("3. Financial Results", 670, 14),
            Line("Revenue grew by twelve percent this year.", 650, 11), Line("It was a good year for us.", 637, 11),
            Line("4. Outlook", 610, 14), Line("The board expects steady growth.", 590, 11),
            Line("1. first point of a list", 577, 11)]
    text, blocks, _ = assemble([page], lambda w: False)
    shown = [(b.kind, text[b.start:b.end]) for b in blocks]
    assert shown == [("heading", "Annual Report"), ("heading", "3. Financial Results"),
                     ("paragraph", "Revenue grew by twelve percent this year. It was a good year for us."),
                     ("heading", "4. Outlook"), ("paragraph", "The board expects steady growth."),
                     ("item", "first point of a list")]


def test_a_bold_numbered_line_in_the_body_font_is_a_heading_but_a_bold_sentence_is_not():
    page = [Line("2.1 Method", 700, 11, bold=True), Line("We measured the water every day.", 686, 11),
            Line("We kept notes in a book.", 672, 11), Line("3) This ends a sentence.", 650, 11, bold=True)]
    text, blocks, _ = assemble([page], lambda w: False)
    assert [(b.kind, text[b.start:b.end]) for b in blocks][:2] == [
        ("heading", "2.1 Method"), ("paragraph", "We measured the water every day. We kept notes in a book.")]
    assert blocks[-1].kind == "item"


def test_a_pdf_source_names_its_numbered_section_and_its_quote_has_no_heading(tmp_path, ui_settings):
    from assistant import Assistant
    from tests_helpers import make_pdf

    pdf = make_pdf(tmp_path / "report.pdf", [[("Annual Report", 0.92, 18, True), ("3. Financial Results", 0.86, 14, True),
                                              ("Revenue grew by twelve percent to four million euros.", 0.82, 11, False),
                                              ("4. Outlook", 0.76, 14, True),
                                              ("The board expects steady growth next year.", 0.72, 11, False)]])
    answer = Assistant.from_paths([pdf], tmp_path / "index", ui_settings).ask("How much did revenue grow?")
    first = answer.citations[0]
    assert first.section == "3. Financial Results" and first.page == 1
    assert first.quote.startswith("Revenue grew")


def test_a_pdf_outline_makes_its_titles_headings_whatever_their_font(tmp_path):
    import pypdf

    from index.pdf import read_pdf
    from tests_helpers import make_pdf

    plain = make_pdf(tmp_path / "plain.pdf", [[("Background", 0.9, 11, False),
                                              ("The harbour was built in the year of the great storm.", 0.86, 11, False),
                                              ("Costs", 0.8, 11, False),
                                              ("The harbour cost four million euros to build.", 0.76, 11, False)]])
    writer = pypdf.PdfWriter(clone_from=str(plain))
    writer.add_outline_item("Background", 0)
    writer.add_outline_item("Costs", 0)
    with open(tmp_path / "outlined.pdf", "wb") as out:
        writer.write(out)
    text, blocks, _, _ = read_pdf((tmp_path / "outlined.pdf").read_bytes(), "outlined.pdf")
    assert [text[b.start:b.end] for b in blocks if b.kind == "heading"] == ["Background", "Costs"]
    text, blocks, _, _ = read_pdf(plain.read_bytes(), "plain.pdf")
    assert not [b for b in blocks if b.kind == "heading"]  # the same page without an outline: no headings
