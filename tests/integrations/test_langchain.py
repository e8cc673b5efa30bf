"""`assistant.integrations.langchain.GroundedRetriever` through LangChain's own interface, on the real model."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("langchain_core")

from langchain_core.documents import Document  # noqa: E402

from assistant.errors import InvalidQuestion  # noqa: E402
from assistant.integrations.langchain import GroundedRetriever  # noqa: E402

pytestmark = pytest.mark.integration

ANSWERABLE = "What does North Korea seek from Russia?"
OFF_TOPIC = "Why do cats purr?"
META = {"doc_id", "start", "end", "page", "section", "score", "rank"}


def check(assistant, docs: list[Document]) -> None:
    assert docs and all(isinstance(d, Document) for d in docs)
    for d in docs:
        assert META <= d.metadata.keys()
        assert assistant.document_text(d.metadata["doc_id"])[d.metadata["start"]:d.metadata["end"]] == d.page_content
    assert [d.metadata["rank"] for d in docs] == list(range(1, len(docs) + 1))


def test_invoke_batch_and_ainvoke_return_documents_at_their_offsets(real_article):
    retriever = GroundedRetriever(assistant=real_article, k=3)
    docs = retriever.invoke(ANSWERABLE)
    check(real_article, docs)
    assert len(docs) == 3
    assert [d.page_content for d in docs] == [p.text for p in real_article.retrieve(ANSWERABLE, k=3)]
    batch = retriever.batch([ANSWERABLE, "What are the economic ramifications?"])
    assert len(batch) == 2 and batch[0] == docs
    for found in batch:
        check(real_article, found)
    assert asyncio.run(retriever.ainvoke(ANSWERABLE)) == docs


def test_quotes_mode_returns_the_verified_quotes_and_nothing_when_it_declines(real_article):
    retriever = GroundedRetriever(assistant=real_article, mode="quotes")
    quotes = retriever.invoke(ANSWERABLE)
    check(real_article, quotes)
    assert [d.page_content for d in quotes] == [c.quote for c in real_article.ask(ANSWERABLE).citations]
    assert retriever.invoke(OFF_TOPIC) == []
    assert asyncio.run(retriever.ainvoke(OFF_TOPIC)) == []


def test_bad_input_raises_the_assistants_error(real_article):
    with pytest.raises(InvalidQuestion, match="the question is empty"):
        GroundedRetriever(assistant=real_article).invoke("   ")
    with pytest.raises(ValueError, match="mode must be 'passages' or 'quotes'"):
        GroundedRetriever(assistant=real_article, mode="answers")
