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
    assert not source.evaluate("e => e.open")
    reply.locator("a.ga-marker").first.click()  # the marker opens its source
    page.wait_for_function("() => document.querySelector('#ga-chat details.ga-source').open")
    mark = source.locator("mark").first
    assert mark.is_visible()
    assert mark.inner_text() == first.quote
    assert "From Soviet Era to Modern Day" in source.locator("summary").inner_text()
    assert f"characters {first.start:,}–{first.end:,}" in source.inner_text()

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
