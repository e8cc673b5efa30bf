"""`assistant.integrations.llamaindex.GroundedRetriever` through LlamaIndex's own interface, on the real model."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.schema import NodeWithScore, QueryBundle  # noqa: E402

from assistant.errors import InvalidQuestion  # noqa: E402
from assistant.integrations.llamaindex import GroundedRetriever  # noqa: E402

pytestmark = pytest.mark.integration

ANSWERABLE = "What does North Korea seek from Russia?"
OFF_TOPIC = "Why do cats purr?"
META = {"doc_id", "start", "end", "page", "section", "score", "rank"}


def check(assistant, nodes: list[NodeWithScore]) -> None:
    assert nodes and all(isinstance(n, NodeWithScore) for n in nodes)
    for n in nodes:
        m = n.node.metadata
        assert META <= m.keys() and n.score == m["score"]
        assert assistant.document_text(m["doc_id"])[m["start"]:m["end"]] == n.node.get_content()
        assert (n.node.start_char_idx, n.node.end_char_idx) == (m["start"], m["end"])
    assert [n.node.metadata["rank"] for n in nodes] == list(range(1, len(nodes) + 1))


def test_retrieve_and_aretrieve_return_nodes_at_their_offsets(real_article):
    retriever = GroundedRetriever(assistant=real_article, k=3)
    nodes = retriever.retrieve(ANSWERABLE)
    check(real_article, nodes)
    assert [n.node.get_content() for n in nodes] == [p.text for p in real_article.retrieve(ANSWERABLE, k=3)]
    assert [n.node.get_content() for n in retriever.retrieve(QueryBundle(ANSWERABLE))] == \
        [n.node.get_content() for n in nodes]
    again = asyncio.run(retriever.aretrieve(ANSWERABLE))
    assert [(n.node.node_id, n.score) for n in again] == [(n.node.node_id, n.score) for n in nodes]


def test_quotes_mode_returns_the_verified_quotes_and_nothing_when_it_declines(real_article):
    retriever = GroundedRetriever(assistant=real_article, mode="quotes")
    quotes = retriever.retrieve(ANSWERABLE)
    check(real_article, quotes)
    assert [n.node.get_content() for n in quotes] == [c.quote for c in real_article.ask(ANSWERABLE).citations]
    assert retriever.retrieve(OFF_TOPIC) == []
    assert asyncio.run(retriever.aretrieve(OFF_TOPIC)) == []


def test_bad_input_raises_the_assistants_error(real_article):
    with pytest.raises(InvalidQuestion, match="the question is empty"):
        GroundedRetriever(assistant=real_article).retrieve("   ")
    with pytest.raises(ValueError, match="mode must be 'passages' or 'quotes'"):
        GroundedRetriever(assistant=real_article, mode="answers")
