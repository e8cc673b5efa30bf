"""The chat in a real browser: Debian's Chromium, headless, driven by Python Playwright."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]

QUESTION = "When did the Soviet Union collapse?"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


class Page:
    """A browser tab on the chat that records every request, dialog and uncaught error."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.url = url
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_selector("#ga-input textarea")
        self.page.wait_for_selector("#ga-info .ga-info")

    def replies(self) -> int:
        return self.page.locator("#ga-chat .ga-answer, #ga-chat .ga-notice").count()

    def wait_for_reply(self, before: int) -> None:
        self.page.wait_for_function(
            """(before) => document.querySelectorAll('#ga-chat .ga-answer, #ga-chat .ga-notice').length > before
                 && !document.querySelector('#ga-chat .ga-pending')
                 && !document.querySelector('#ga-input textarea').disabled""",
            arg=before, timeout=60_000)

    def ask(self, question: str) -> None:
        before = self.replies()
        self.page.fill("#ga-input textarea", question)
        self.page.keyboard.press("Enter")
        self.wait_for_reply(before)

    def last_reply(self):
        return self.page.locator("#ga-chat .ga-answer, #ga-chat .ga-notice").last

    def outside_requests(self) -> list[str]:
        here = urlsplit(self.url).netloc
        return [u for u in self.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                and urlsplit(u).netloc != here]

    def close(self):
        self.context.close()


@pytest.fixture
def chat_page(browser, hashing_url):
    page = Page(browser, hashing_url)
    yield page
    page.close()


def test_a_question_gets_a_cited_answer_whose_quote_is_highlighted_in_its_source(
        chat_page, ui_assistant, artifacts_dir):
    page = chat_page.page
    assert page.locator(".ga-header h1").inner_text() == ui_assistant.title
    assert "quotes copied word for word" in page.locator(".ga-description").inner_text()
    assert page.locator("#ga-chat button.example").count() == 4
    panel = page.locator("#ga-info").inner_text()
    info = ui_assistant.info()
    for expected in ("What is indexed", info.documents[0]["doc_id"], str(info.chunks), info.model):
        assert expected in panel
    assert "just now" in panel or " ago" in panel

    chat_page.ask(QUESTION)
    expected = ui_assistant.ask(QUESTION)
    reply = chat_page.last_reply()
    assert "[1]" in reply.inner_text()
    first = expected.citations[0]
    assert f"{first.quote} [{first.n}]" in reply.locator(".ga-quotes").inner_text()

    source = reply.locator("details.ga-source").first
    assert source.evaluate("e => e.open")  # the first source is open
    source.locator("summary").click()
    assert not source.evaluate("e => e.open")
    reply.locator("a.ga-marker").first.click()  # the marker opens its source
    page.wait_for_function("() => document.querySelector('#ga-chat details.ga-source').open")
    mark = source.locator("mark").first
    assert mark.is_visible()
    assert mark.inner_text() == first.quote
    assert "From Soviet Era to Modern Day" in source.locator("summary").inner_text()
    assert f"quoted: characters {first.start:,}–{first.end:,}" in source.locator("summary").get_attribute("title")

    page.screenshot(path=str(artifacts_dir / "chat.png"), full_page=True)
    assert chat_page.outside_requests() == []
    assert chat_page.dialogs == [] and chat_page.errors == []


def test_examples_follow_ups_retry_undo_and_clear(chat_page):
    page = chat_page.page
    before = chat_page.replies()
    page.locator("#ga-chat button.example").nth(1).click()
    chat_page.wait_for_reply(before)
    assert page.locator("#ga-chat .ga-question").count() == 1

    chat_page.ask("What about Japan?")
    assert page.locator("#ga-chat .ga-question").count() == 2
    assert "Japan" in chat_page.last_reply().inner_text()

    page.get_by_role("button", name="Undo").click()
    page.wait_for_function("() => document.querySelectorAll('#ga-chat .ga-question').length === 1")
    assert page.input_value("#ga-input textarea") == "What about Japan?"

    page.locator("#ga-input textarea").press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#ga-chat .ga-question').length === 2")
    chat_page.wait_for_reply(1)

    replaced = chat_page.last_reply().inner_html()  # ids in it are unique to this answer
    page.get_by_role("button", name="Retry").click()
    page.wait_for_function(
        """(old) => { const r = [...document.querySelectorAll('#ga-chat .ga-answer')].pop();
                      return r && r.innerHTML !== old && !document.querySelector('#ga-chat .ga-pending')
                        && !document.querySelector('#ga-input textarea').disabled; }""",
        arg=replaced, timeout=60_000)
    assert page.locator("#ga-chat .ga-question").count() == 2
    assert page.locator("#ga-chat .ga-answer").count() == 2

    page.get_by_role("button", name="Clear").click()
    page.wait_for_function("() => document.querySelectorAll('#ga-chat .ga-question').length === 0")
    chat_page.ask(QUESTION)
    assert "[1]" in chat_page.last_reply().inner_text()
    assert chat_page.outside_requests() == [] and chat_page.errors == []


def test_refused_questions_and_empty_input(chat_page):
    page = chat_page.page
    page.fill("#ga-input textarea", "   ")
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert chat_page.replies() == 0 and page.locator("#ga-chat .ga-question").count() == 0

    chat_page.ask("why " * 600)
    notice = chat_page.last_reply()
    assert "the limit is 2000" in notice.inner_text()
    chat_page.ask(QUESTION)
    assert "[1]" in chat_page.last_reply().inner_text()


def test_injected_markup_in_documents_and_questions_is_shown_as_text(browser, xss_assistant, serve_app,
                                                                     artifacts_dir):
    with serve_app(xss_assistant) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            title = page.locator(".ga-header h1").inner_text()
            assert title == xss_assistant.title and "<img" in title

            question = '<img src=x onerror="window.__xss=5"> Which apples grow in the orchard?'
            tab.ask(question)
            assert page.locator("#ga-chat .ga-question").last.inner_text() == question
            quotes = tab.last_reply().locator(".ga-quote").all_inner_texts()
            expected = xss_assistant.ask(question)
            assert quotes == [f"{c.quote} [{c.n}]" for c in expected.citations]
            assert any("window.__xss" in q for q in quotes)

            tab.ask("What is the boiling point of mercury?")  # abstains and offers the three passages
            related = tab.last_reply()
            assert "doesn't say" in related.inner_text() and "ga-abstained" in related.get_attribute("class")
            for summary in page.locator("#ga-chat details.ga-source > summary").all():
                summary.click()
            text = page.locator("#ga-chat").inner_text()
            for payload in ("<script>window.__xss=1</script>", "${window.__xss=3}",
                            "{{constructor.constructor('window.__xss=4')()}}", "`apple`"):
                assert payload in text
            page.screenshot(path=str(artifacts_dir / "xss.png"), full_page=True)

            assert page.evaluate("() => window.__xss") is None
            assert page.locator("#ga-chat img, #ga-chat script, .ga-header img, #ga-info img").count() == 0
            assert not [u for u in tab.requests if urlsplit(u).path.endswith("/x")]
            assert tab.dialogs == [] and tab.errors == [] and tab.outside_requests() == []
        finally:
            tab.close()


# ---------------------------------------------------------------- the documents panel

HARBOUR = "Harbour\n\nThe lighthouse keeper rows to the harbour at dawn every morning.\n"
GARDEN = "# Garden\n\nThe gardener waters the tomatoes with rain from the blue barrel.\n"


def _formats_ready() -> bool:
    """PDF and DOCX uploads need the ingest branch's loaders."""
    from index import loading

    return ".pdf" in getattr(loading, "SUPPORTED_SUFFIXES", {})


def _pdf(text: str) -> bytes:
    import io

    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["pdf.fonttype"] = 42
    from matplotlib import pyplot as plt

    fig = plt.figure(figsize=(8.5, 11))
    fig.text(0.1, 0.9, text, fontsize=11, va="top", wrap=True)
    out = io.BytesIO()
    fig.savefig(out, format="pdf")
    plt.close(fig)
    return out.getvalue()


def _docx(title: str, text: str) -> bytes:
    import io

    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading(title, level=1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.fixture
def library_app(tmp_path, ui_settings):
    """A writable chat on its own index (the bundled article), with small upload caps."""
    from assistant import Assistant

    article = Path(__file__).resolve().parents[2] / "assistant" / "data" / "kim-jong-un-russia-support.txt"
    settings = ui_settings.with_(uploads={"max_file_bytes": 60_000, "max_total_bytes": 200_000})
    assistant = Assistant.from_paths([article], tmp_path / "index", settings)
    return assistant, tmp_path / "index"


def _upload(page, files) -> str:
    """Drop `files` on the upload area and wait for the panel to say what happened."""
    lines = "() => [...document.querySelectorAll('#ga-upload-status li')].map(l => l.textContent).join('|')"
    before = page.evaluate(lines)
    page.locator("#ga-upload input[type=file]").set_input_files(files)
    page.wait_for_function(f"(old) => {{ const now = ({lines})(); return now && now !== old; }}", arg=before,
                           timeout=120_000)
    return "\n".join(page.locator("#ga-upload-status li").all_inner_texts())


def test_upload_ask_cite_open_the_document_copy_and_find_the_chat_after_a_reload(
        browser, library_app, serve_app, artifacts_dir):
    assistant, folder = library_app
    files = [{"name": "harbour.txt", "mimeType": "text/plain", "buffer": HARBOUR.encode()},
             {"name": "garden.md", "mimeType": "text/markdown", "buffer": GARDEN.encode()}]
    questions = {"Who rows to the harbour at dawn?": "harbour.txt",
                 "What does the gardener water the tomatoes with?": "garden.md"}
    if _formats_ready():
        files += [{"name": "ferry.pdf", "mimeType": "application/pdf",
                   "buffer": _pdf("The ferry to the island leaves at noon from pier four.")},
                  {"name": "bakery.docx", "mimeType": "application/vnd.openxmlformats-officedocument."
                   "wordprocessingml.document",
                   "buffer": _docx("Bakery", "The baker bakes rye bread before sunrise on Sundays.")}]
        questions.update({"When does the ferry to the island leave?": "ferry.pdf",
                          "What does the baker bake before sunrise?": "bakery.docx"})
    with serve_app(assistant, uploads=True) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
            status = _upload(page, files)
            for f in files:
                assert f"Added {f['name']}" in status
            panel = page.locator("#ga-info").inner_text()
            assert "harbour.txt · 74 B · 1 passage · added just now" in panel
            assert str(folder) not in page.content() and "/tmp" not in panel  # no server paths

            for question, doc_id in questions.items():
                tab.ask(question)
                reply = tab.last_reply()
                assert "[1]" in reply.inner_text(), question
                summary = reply.locator("details.ga-source").first.locator("summary").inner_text()
                assert doc_id in summary and (("p. 1" in summary) is doc_id.endswith(".pdf")), summary
            expected = next(iter(questions))
            reply = page.locator("#ga-chat .ga-answer").first
            reply.locator("a.ga-marker").first.click()
            assert reply.locator("details.ga-source").first.evaluate("e => e.open")

            reply.locator("a.ga-open").first.click()  # the whole document, scrolled to the quote
            page.wait_for_selector("#ga-document #ga-doc-hit")
            assert page.locator("#ga-doc-hit").inner_text() == HARBOUR.split("\n\n")[1].strip()
            assert page.locator("#ga-document .ga-doc-text").inner_text().strip() == HARBOUR.strip()
            assert page.locator("#ga-doc-hit").is_visible()
            page.locator("#ga-docview-close").click()
            page.wait_for_selector("#ga-document #ga-doc-hit", state="hidden")

            reply.locator("a.ga-copy").click()
            page.wait_for_function("() => document.querySelector('#ga-chat a.ga-copy').textContent === 'copied'")
            copied = page.evaluate("() => navigator.clipboard.readText()")
            answer = assistant.__class__.load(folder, assistant.settings).ask(expected)
            assert copied.startswith(f"> {answer.citations[0].quote} [1]") and "Sources:\n[1] Harbour" in copied

            labels = page.evaluate("() => [...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label'))")
            assert labels and not [label for label in labels if "<" in label or "class=" in label]
            page.screenshot(path=str(artifacts_dir / "documents.png"), full_page=True)

            asked = page.locator("#ga-chat .ga-question").all_inner_texts()
            page.reload()
            page.wait_for_selector("#ga-input textarea")
            page.wait_for_function("(n) => document.querySelectorAll('#ga-chat .ga-question').length === n",
                                   arg=len(asked), timeout=20_000)
            assert page.locator("#ga-chat .ga-question").all_inner_texts() == asked
            page.get_by_role("button", name="Clear").click()
            page.wait_for_function("() => document.querySelectorAll('#ga-chat .ga-question').length === 0")
            page.wait_for_timeout(500)
            page.reload()
            page.wait_for_selector("#ga-input textarea")
            page.wait_for_timeout(1500)
            assert page.locator("#ga-chat .ga-question").count() == 0
            assert tab.errors == [] and tab.dialogs == [] and tab.outside_requests() == []
        finally:
            tab.close()


def test_choose_documents_to_search_and_remove_one(browser, library_app, serve_app):
    assistant, folder = library_app
    with serve_app(assistant, uploads=True) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            _upload(page, [{"name": "harbour.txt", "mimeType": "text/plain", "buffer": HARBOUR.encode()}])
            page.locator("#ga-scope label", has_text="Harbour").click()  # search only the article
            tab.ask("Who rows to the harbour at dawn?")
            assert "harbour.txt" not in tab.last_reply().inner_text()
            page.locator("#ga-scope label", has_text="Harbour").click()
            tab.ask("Who rows to the harbour at dawn?")
            assert "lighthouse keeper" in tab.last_reply().locator(".ga-quotes").inner_text()

            page.locator("#ga-remove-choice input").click()
            page.get_by_role("option", name="harbour.txt").click()
            page.locator("#ga-remove").click()
            page.wait_for_function("() => document.querySelector('#ga-upload-status').innerText.includes('Removed harbour.txt')",
                                   timeout=60_000)
            assert "harbour.txt" not in page.locator("#ga-info").inner_text()
            assert not (folder / "documents" / "harbour.txt").exists()
            assert tab.errors == []
        finally:
            tab.close()


def test_hostile_names_and_an_oversized_file_are_refused_or_made_safe(browser, library_app, serve_app):
    assistant, folder = library_app
    before = assistant.info().build_id
    with serve_app(assistant, uploads=True) as url:
        tab = Page(browser, url)
        page = tab.page
        try:
            status = _upload(page, [
                {"name": "big.txt", "mimeType": "text/plain", "buffer": ("Big\n\n" + "Words go on. " * 6000).encode()},
                {"name": "fake.txt", "mimeType": "text/plain", "buffer": b"\x00\x01\x02\x03" * 50},
            ])
            lines = page.locator("#ga-upload-status li").all_inner_texts()
            assert len(lines) == 2 and all("\n" not in line for line in lines)
            assert lines[0].startswith("big.txt: ") and lines[0].endswith("MB limit per file")
            assert lines[1].startswith("fake.txt: ") and "binary" in lines[1]
            from index import load_index

            assert load_index(folder).manifest.build_id == before  # nothing else changed
            assert not (folder / "documents").exists() or not list((folder / "documents").iterdir())

            status = _upload(page, [
                {"name": "../../etc/passwd.txt", "mimeType": "text/plain", "buffer": b"Passwd\n\nRoot has no password here.\n"},
                {"name": '<img src=x onerror="window.__xss=7">.txt', "mimeType": "text/plain",
                 "buffer": b"Markup\n\nA name with markup stays text.\n"},
            ])
            assert "Added passwd.txt" in status, status
            stored = sorted(p.name for p in (folder / "documents").iterdir())
            assert stored and all("/" not in n and "<" not in n and not n.startswith(".") for n in stored)
            assert "passwd.txt" in stored
            assert not (folder.parent / "etc").exists()
            assert page.evaluate("() => window.__xss") is None
            assert page.locator("#ga-sidebar img").count() == 0
            assert tab.errors == [] and tab.dialogs == []
        finally:
            tab.close()


def test_read_only_has_no_upload(browser, hashing_url):
    tab = Page(browser, hashing_url)
    try:
        assert tab.page.locator("#ga-upload, #ga-remove").count() == 0
        assert tab.page.locator("#ga-scope").count() == 1
    finally:
        tab.close()


def test_on_a_phone_the_input_is_visible_and_clickable(browser, hashing_url, artifacts_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(hashing_url)
        box = page.locator("#ga-input textarea")
        box.wait_for()
        page.wait_for_timeout(1000)  # past the page script that opens the sidebar on wide screens only
        page.screenshot(path=str(artifacts_dir / "phone.png"))
        assert "open" not in (page.locator("#ga-sidebar").get_attribute("class") or "").split()
        assert box.is_visible()
        rect = box.bounding_box()
        assert rect and 0 <= rect["y"] and rect["y"] + rect["height"] <= 844 and rect["x"] + rect["width"] <= 390
        box.click()  # fails if anything covers it
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        page.wait_for_selector("#ga-chat .ga-answer", timeout=60_000)
        assert not page.locator(".ga-description").is_visible()  # the compact header
    finally:
        context.close()
