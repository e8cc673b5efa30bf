"""`Assistant.ask/retrieve(documents=[...])`: only the named documents are searched and quoted."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.errors import InvalidQuestion, UnknownDocument
from tests_helpers import assert_grounded


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tiny_corpus, hashing_settings):
    return Assistant.from_paths([tiny_corpus], tmp_path_factory.mktemp("filter"), hashing_settings)


def test_retrieve_only_searches_the_named_documents(tiny):
    everywhere = {p.doc_id for p in tiny.retrieve("How often should I clean the chain?", k=10)}
    assert len(everywhere) > 1  # the question reaches beyond bicycles without a filter
    only = tiny.retrieve("How often should I clean the chain?", k=10, documents=["tea.txt"])
    assert only and {p.doc_id for p in only} == {"tea.txt"}
    assert [p.rank for p in only] == list(range(1, len(only) + 1))
    for p in only:
        assert tiny.document_text(p.doc_id)[p.start:p.end] == p.text


def test_ask_quotes_only_the_named_documents(tiny):
    answer = tiny.ask("How often should I clean the chain?", documents=["bicycles.md"])
    assert {p.doc_id for p in answer.passages} == {"bicycles.md"}
    assert {c.doc_id for c in answer.citations} <= {"bicycles.md"}
    assert_grounded(tiny, answer)
    other = tiny.ask("How often should I clean the chain?", documents=["volcanoes.html", "tea.txt"])
    assert {p.doc_id for p in other.passages} <= {"volcanoes.html", "tea.txt"}
    assert_grounded(tiny, other)


def test_a_filter_of_every_document_changes_nothing(tiny):
    question = "What is a volcano?"
    plain = tiny.ask(question).model_dump(exclude={"timing"})
    assert tiny.ask(question, documents=["bicycles.md", "tea.txt", "volcanoes.html"]).model_dump(
        exclude={"timing"}) == plain


@pytest.mark.parametrize("documents, error, message", [
    (["nowhere.txt"], UnknownDocument, "no document 'nowhere.txt'"),
    ([], InvalidQuestion, "documents is empty"),
    ("tea.txt", InvalidQuestion, "list of doc_ids"),
    ([3], InvalidQuestion, "list of doc_ids"),
])
def test_bad_filters_are_refused_in_one_line(tiny, documents, error, message):
    with pytest.raises(error, match=message):
        tiny.ask("What is a volcano?", documents=documents)
    with pytest.raises(error, match=message):
        tiny.retrieve("What is a volcano?", documents=documents)


def test_document_text_of_an_unknown_document_is_unknown_document(tiny):
    with pytest.raises(UnknownDocument, match="no document 'x.txt'"):
        tiny.document_text("x.txt")
