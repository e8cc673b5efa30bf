"""Issue 25 in a real browser (Debian Chromium, headless): a panel that stays true across reloads and
rebuilds, queued uploads, the document view, the phone layout, names and focus, undo of Clear."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ui.test_browser import ARGS, CHROMIUM, GARDEN, HARBOUR, QUESTION, Page, _upload

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

# `make browser` installs axe-core there (npm); without it the accessibility checks are skipped, saying so
AXE = Path(__file__).resolve().parents[2] / ".venv" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def library_app(tmp_path, ui_settings):
    from assistant import Assistant

    article = Path(__file__).resolve().parents[2] / "assistant" / "data" / "kim-jong-un-russia-support.txt"
    settings = ui_settings.with_(uploads={"max_file_bytes": 60_000, "max_total_bytes": 200_000})
    return Assistant.from_paths([article], tmp_path / "index", settings), tmp_path / "index"


def _scope(page) -> dict[str, bool]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#ga-scope label')]
                              .map(l => [l.innerText.trim(), l.querySelector('input').checked]))""")


def _removable(page) -> list[str]:
    page.locator("#ga-remove-choice input").click()
    names = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return [n.strip() for n in names]


def test_upload_reload_the_document_is_listed_ticked_searched_and_removable(browser, library_app, serve_app):
    assistant, folder = library_app
    with serve_app(assistant, uploads=True) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            _upload(page, [{"name": "harbour.txt", "mimeType": "text/plain", "buffer": HARBOUR.encode()}])
            page.locator("#ga-scope label", has_text="Harbour").click()  # untick it
            _upload(page, [{"name": "garden.md", "mimeType": "text/markdown", "buffer": GARDEN.encode()}])
            assert _scope(page)["Harbour"] is False and _scope(page)["Garden"] is True  # new: ticked
            assert "3 documents" in page.locator(".ga-header h1").inner_text()
            page.wait_for_function("() => [...document.querySelectorAll('#ga-chat button.example')]"
                                   ".some(b => b.innerText.includes('about Garden'))")

            page.reload()
            page.wait_for_function("() => document.querySelectorAll('#ga-scope label').length === 3")
            assert all(_scope(page).values()) and len(_scope(page)) == 3
            assert "Documents3" in page.locator("#ga-info").inner_text().replace("\n", "").replace(" ", "")
            assert "3 documents" in page.locator(".ga-header h1").inner_text()
            tab.ask("Who rows to the harbour at dawn?")
            assert "lighthouse keeper" in tab.last_reply().locator(".ga-quotes").inner_text()
            assert sorted(_removable(page)) == ["garden.md", "harbour.txt"]
            assert tab.errors == []
        finally:
            tab.close()


def test_a_rebuild_from_the_command_line_reaches_an_open_page(browser, tmp_path, ui_settings, serve_app):
    from assistant import Assistant
    from ui.holder import AssistantHolder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "harbour.txt").write_text(HARBOUR, encoding="utf-8")
    folder = tmp_path / "index"
    first = Assistant.from_paths([docs], folder, ui_settings)
    holder = AssistantHolder(lambda: Assistant.load(folder, ui_settings), first, check_every=0.5)
    with serve_app(holder) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            assert list(_scope(page)) == ["Harbour"]
            (docs / "walled-garden.md").write_text(GARDEN, encoding="utf-8")  # sorts last: the examples speak of it
            Assistant.from_paths([docs], folder, ui_settings)  # `assistant index build`
            page.wait_for_function("() => document.querySelectorAll('#ga-scope label').length === 2", timeout=30_000)
            assert _scope(page) == {"Garden": True, "Harbour": True} or all(_scope(page).values())
            assert "garden.md" in page.locator("#ga-info").inner_text()
            page.wait_for_function("() => [...document.querySelectorAll('#ga-chat button.example')]"
                                   ".some(b => b.innerText.includes('about Garden'))", timeout=30_000)
        finally:
            tab.close()


def test_two_files_picked_half_a_second_apart_are_both_indexed(browser, library_app, serve_app):
    assistant, folder = library_app
    with serve_app(assistant, uploads=True) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            picker = page.locator("#ga-upload input[type=file]")
            picker.set_input_files([{"name": "harbour.txt", "mimeType": "text/plain", "buffer": HARBOUR.encode()}])
            page.wait_for_timeout(500)
            picker = page.locator("#ga-upload input[type=file]")
            picker.set_input_files([{"name": "garden.md", "mimeType": "text/markdown", "buffer": GARDEN.encode()}])
            page.wait_for_function("""() => { const t = document.querySelector('#ga-upload-status').innerText;
                                      return t.includes('Added harbour.txt') && t.includes('Added garden.md'); }""",
                                   timeout=120_000)
            page.wait_for_function("() => document.querySelectorAll('#ga-scope label').length === 3")
            from index import load_index

            assert {d.doc_id for d in load_index(folder).manifest.documents} >= {"harbour.txt", "garden.md"}
            # one progress display at most, never one per output
            assert page.locator("#ga-sidebar .progress-text, #ga-sidebar .eta-bar").count() <= 1
        finally:
            tab.close()


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["wide", "phone"])
def test_open_in_document_scrolls_to_the_quote_on_the_first_click_and_keeps_the_input_in_view(
        browser, hashing_url, ui_assistant, size):
    tab = Page(browser, hashing_url)
    page = tab.page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    if size[0] < 1000:  # the tab opened wide: a phone starts with the panel closed
        page.wait_for_timeout(600)
        page.get_by_role("button", name="Documents").click()
        page.wait_for_function("() => !document.querySelector('#ga-sidebar').classList.contains('open')")
        page.wait_for_timeout(500)
    try:
        question = QUESTION
        tab.ask(question)
        expected = ui_assistant.ask(question)
        reply = tab.last_reply()
        reply.locator("a.ga-open").first.click()
        page.wait_for_selector("#ga-document #ga-doc-hit")
        page.wait_for_timeout(800)
        inside = page.evaluate("""() => { const hit = document.querySelector('#ga-doc-hit').getBoundingClientRect();
                                    const box = document.querySelector('#ga-document .ga-doc-text').getBoundingClientRect();
                                    return hit.top >= box.top && hit.bottom <= box.bottom + 1 && hit.top >= 0
                                      && hit.bottom <= window.innerHeight + 1; }""")
        assert inside, page.evaluate("""() => [document.querySelector('#ga-doc-hit').getBoundingClientRect().toJSON(),
            document.querySelector('#ga-document .ga-doc-text').getBoundingClientRect().toJSON(), window.innerHeight,
            document.querySelector('#ga-docview').getBoundingClientRect().toJSON(), document.scrollingElement.scrollTop, window.gaOpening, document.querySelector('#ga-document [data-open]')?.getAttribute('data-open')]""")
        first = [c for c in expected.citations if c.n == expected.citations[0].n]
        assert page.locator("#ga-document mark").count() == len(first)
        if size[0] > 1000:  # beside the chat: the input stays in view
            box = page.locator("#ga-input textarea").bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= size[1]
        else:  # below the chat on a phone: the input is one scroll up
            page.locator("#ga-input textarea").scroll_into_view_if_needed()
            page.locator("#ga-input textarea").click()
    finally:
        tab.close()


def _axe(page) -> list[dict]:
    """axe-core's serious and critical findings on the page."""
    if not AXE.exists():
        import warnings

        warnings.warn(f"{AXE} is missing (make browser): accessibility not checked", stacklevel=2)
        return []
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                             .filter(v => v.impact === 'serious' || v.impact === 'critical')
                             .map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))""")
    return found


def test_names_tab_order_focus_and_undo_clear(browser, hashing_url):
    tab = Page(browser, hashing_url)
    page = tab.page
    try:
        assert page.get_by_role("textbox", name="Ask a question").count() == 1
        page.get_by_role("button", name="Documents").wait_for(state="visible", timeout=10_000)
        assert page.get_by_role("button", name="Documents").count() == 1
        page.wait_for_function("() => document.querySelector('#ga-sidebar').classList.contains('open')")
        page.wait_for_timeout(700)  # past the panel's slide-in
        assert _axe(page) == []  # the empty chat, documents open (wide screens open them)
        tab.ask(QUESTION)
        marker = page.locator("#ga-chat a.ga-marker").first
        assert marker.get_attribute("aria-label").startswith("Source 1: ")
        stops = page.evaluate("""() => [...document.querySelectorAll('#ga-chat a, #ga-chat summary, #ga-chat button')]
                                   .filter(e => e.tabIndex >= 0 && e.closest('.ga-answer')).length""")
        sources = page.locator("#ga-chat details.ga-source").count()
        assert stops == 2 * sources + 1  # each source's summary and "open in document", then "copy"
        order = page.evaluate("""() => { const all = [...document.querySelectorAll('#ga-input textarea, #ga-scope input')];
                                   return all.map(e => e.closest('#ga-input') ? 'input' : 'scope'); }""")
        assert order[0] == "input"  # the chat comes before the sidebar
        page.locator("#ga-sidebar .toggle-button").click() if "open" not in (
            page.locator("#ga-sidebar").get_attribute("class") or "") else None
        page.locator("#ga-scope input").first.focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        ring = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert ring not in ("none", "")

        page.get_by_role("button", name="Clear").click()
        page.wait_for_function("() => document.querySelectorAll('#ga-chat .ga-question').length === 0")
        page.get_by_role("button", name="Undo clear").click()
        page.wait_for_function("() => document.querySelectorAll('#ga-chat .ga-question').length === 1")
        assert "[1]" in tab.last_reply().inner_text()
        tab.last_reply().locator("a.ga-open").first.click()
        page.wait_for_selector("#ga-document #ga-doc-hit")
        page.wait_for_timeout(700)
        assert _axe(page) == []  # answered, the document view open
    finally:
        tab.close()


def test_on_a_phone_the_answer_is_in_view_wide_and_the_documents_button_is_labelled(browser, hashing_url,
                                                                                    artifacts_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(hashing_url)
        page.wait_for_selector("#ga-input textarea")
        toggle = page.get_by_role("button", name="Documents")
        toggle.wait_for(state="visible", timeout=10_000)  # named by the page's script once Gradio has drawn it
        assert "Documents" in toggle.inner_text()
        box = toggle.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.locator("#ga-input textarea").click()
        page.keyboard.type("How did relations between North Korea and Russia change after the Soviet Union collapsed?")
        page.keyboard.press("Enter")
        page.wait_for_selector("#ga-chat .ga-answer .ga-sources", timeout=60_000)
        page.wait_for_timeout(1200)
        top = page.evaluate("() => [...document.querySelectorAll('#ga-chat .ga-answer')].pop().closest('.message')"
                            ".getBoundingClientRect().toJSON()")
        chat = page.evaluate("() => document.querySelector('#ga-chat').getBoundingClientRect().toJSON()")
        assert 0 <= top["top"] < 844 and top["width"] >= 300 and top["right"] <= chat["right"], (top, chat)
        page.screenshot(path=str(artifacts_dir / "phone-answer.png"))
        assert _axe(page) == []
        toggle.click()
        page.wait_for_timeout(600)
        panel = page.locator("#ga-sidebar").bounding_box()
        assert panel["x"] > 30  # the chat still shows beside the open panel
    finally:
        context.close()


def test_a_pdf_quote_opens_its_page_with_the_quote_boxed(browser, library_app, serve_app, tmp_path, artifacts_dir):
    pytest.importorskip("pypdfium2")
    from tests_helpers import make_pdf

    assistant, folder = library_app
    pdf = make_pdf(tmp_path / "report.pdf", [[
        ("Annual Report", 0.92, 18, True), ("3. Financial Results", 0.86, 14, True),
        ("The ferry company's revenue grew by twelve percent to four million euros.", 0.82, 11, False),
        ("4. Outlook", 0.76, 14, True), ("The board expects steady growth next year.", 0.72, 11, False)]])
    with serve_app(assistant, uploads=True) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            _upload(page, [{"name": "report.pdf", "mimeType": "application/pdf", "buffer": pdf.read_bytes()}])
            tab.ask("How much did the ferry company's revenue grow?")
            reply = tab.last_reply()
            summary = reply.locator("details.ga-source").first.locator("summary").inner_text()
            assert "3. Financial Results" in summary and "p. 1" in summary
            reply.locator("a.ga-open").first.click()
            image = page.locator("#ga-page img")
            image.wait_for(timeout=20_000)
            page.wait_for_function("() => { const i = document.querySelector('#ga-page img'); return i && i.complete && i.naturalWidth > 0; }")
            yellow = page.evaluate("""() => { const img = document.querySelector('#ga-page img');
                const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
                const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
                for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] > 170 && d[i + 2] < 190) n++;
                return n; }""")
            assert yellow > 2000  # the quote's box, drawn in yellow on the page
            assert "Page 1" in page.locator("#ga-page").inner_text()
            assert page.locator("#ga-doc-hit").inner_text().startswith("The ferry company")
            page.screenshot(path=str(artifacts_dir / "page-view.png"))
            assert tab.errors == []
        finally:
            tab.close()
