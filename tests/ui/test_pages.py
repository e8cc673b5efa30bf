"""A PDF page drawn with its quotes boxed (ui/pages.py), and the chat's document view handing it out."""

from __future__ import annotations

import pytest

from assistant import Assistant
from tests_helpers import make_pdf
from ui.app import AssistantHolder, Chat
from ui.pages import find_quote, page_view

pytest.importorskip("pypdfium2")

LINES = [("Annual Report", 0.92, 18, True), ("3. Financial Results", 0.86, 14, True),
         ("Revenue grew by twelve percent to four million euros.", 0.82, 11, False),
         ("4. Outlook", 0.76, 14, True), ("The board expects steady growth next year.", 0.72, 11, False)]


def _yellow(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 200 and g > 170 and b < 190


def test_the_quote_is_found_by_its_letters_and_boxed_in_yellow_on_its_page(tmp_path):
    pdf = make_pdf(tmp_path / "r.pdf", [LINES, [("Second page text.", 0.9, 11, False)]])
    quote = "Revenue grew by twelve percent to four million euros."
    view = page_view(pdf, 1, [quote])
    assert view is not None and view.page == 1 and len(view.boxes) == 1
    left, top, right, bottom = view.boxes[0]
    inside = [view.image.getpixel((x, y)) for x in range(left + 3, right - 3, 5) for y in range(top + 3, bottom - 3, 3)]
    assert not [p for p in inside if min(p[:3]) > 245]  # no white left inside the box: it is drawn over
    assert sum(map(_yellow, inside)) > 0.4 * len(inside)  # mostly the yellow highlight (the rest: letters)
    assert not _yellow(view.image.getpixel((left + 5, top - 40)))  # the heading above is not boxed
    assert page_view(pdf, 2, [quote]).boxes == []  # not on that page: drawn, nothing boxed
    assert page_view(pdf, 3, [quote]) is None and page_view(tmp_path / "missing.pdf", 1, [quote]) is None
    assert find_quote("x y", "") is None and find_quote("abc", "abd") is None


def test_open_in_document_hands_out_the_page_image_for_a_pdf_only(tmp_path, ui_settings, ui_assistant):
    (tmp_path / "docs").mkdir()
    pdf = make_pdf(tmp_path / "docs" / "r.pdf", [LINES])
    assistant = Assistant.from_paths([pdf], tmp_path / "index", ui_settings)
    answer = assistant.ask("How much did revenue grow?")
    c = answer.citations[0]
    from ui import render

    chat = Chat(AssistantHolder(assistant=assistant, check_every=float("inf")), stream_pause=0)
    html, page, view = chat.open_document(render.open_href(c.doc_id, c.start, c.end) + "#123")
    assert page["visible"] is True and page["label"].startswith("Page 1") and 'data-open="123"' in html
    assert _yellow(page["value"].getpixel((page["value"].width // 4, int(page["value"].height * 0.18))))

    text_chat = Chat(AssistantHolder(assistant=ui_assistant, check_every=float("inf")), stream_pause=0)
    doc = ui_assistant.info().documents[0]["doc_id"]
    _, page, _ = text_chat.open_document(render.open_href(doc, 0, 10))
    assert page["visible"] is False
