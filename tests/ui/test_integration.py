"""The chat on the real bundled model: the examples behave as the page promises."""

from __future__ import annotations

import pytest
from gradio_client import Client

from ui import render
from ui.app import BUNDLED_EXAMPLES, AssistantHolder, Chat

pytestmark = pytest.mark.integration


def test_three_examples_are_answered_with_verifiable_quotes_and_the_fourth_is_declined(real_article):
    chat = Chat(AssistantHolder(lambda: real_article, real_article, check_every=float("inf")), stream_pause=0)
    *answerable, unanswerable = BUNDLED_EXAMPLES
    for question in answerable:
        answer = real_article.ask(question)
        assert not answer.abstained and answer.citations, question
        text = real_article.document_text(answer.citations[0].doc_id)
        sources = render.sources_html(answer)
        for c in answer.citations:
            assert text[c.start:c.end] == c.quote
            assert f"<mark>{render.escape(c.quote)}</mark>" in sources
    declined = real_article.ask(unanswerable)
    assert declined.abstained and not declined.citations and declined.related
    reply = render.message_text(list(chat.respond(unanswerable, []))[-1][-1]["content"])
    assert "ga-abstained" in reply and "[1]" not in reply


@pytest.mark.slow
def test_ask_endpoint_on_the_real_model(real_article, serve_app):
    question = BUNDLED_EXAMPLES[0]
    with serve_app(real_article) as url:
        got = Client(url, verbose=False).predict(question, [], api_name="/ask")
    expected = real_article.ask(question).model_dump(mode="json")
    got.pop("timing"), expected.pop("timing")
    assert got == expected
