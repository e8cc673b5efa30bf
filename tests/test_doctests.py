"""The examples in docstrings are tests too: each module's doctests must pass."""

import doctest
import importlib

import pytest

MODULES = ["assistant.text", "assistant.retrieval", "assistant.answering", "index.chunking", "index.loading",
           "index.embedding", "eval.load"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples: take it off this list"
    assert result.failed == 0, f"{result.failed} doctest example(s) failed in {name}"
