"""The eval set itself: valid items, evidence really in the article, enough items per category."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from eval.metrics import answer_key_recall, locate, normalize_ws
from eval.schema import CATEGORIES, DEFAULT_SET, DataError, EvalItem, load_items

ITEMS = load_items(DEFAULT_SET)


def test_loads_and_ids_are_unique():
    assert len(ITEMS) >= 120
    assert len({it.id for it in ITEMS}) == len(ITEMS)


@pytest.mark.parametrize("item", [it for it in ITEMS if it.answerable], ids=lambda it: it.id)
def test_every_evidence_span_is_in_the_article(item, article_text):
    for span in item.evidence:
        assert normalize_ws(span) in normalize_ws(article_text), f"{item.id}: not in the article: {span!r}"
        assert locate(article_text, span) is not None


@pytest.mark.parametrize("item", [it for it in ITEMS if it.answerable], ids=lambda it: it.id)
def test_answer_keys_are_satisfiable_by_quoting_the_article(item, article_text):
    # Answers are quotes, so a key phrase the article never contains could never be matched.
    for group in item.answer_keys:
        assert answer_key_recall(article_text, [group]) == 1.0, f"{item.id}: no phrase of {group} is in the article"


def test_categories_have_enough_items_and_a_test_third():
    per_cat = Counter(it.category for it in ITEMS)
    assert set(per_cat) == set(CATEGORIES)
    assert min(per_cat.values()) >= 10
    assert per_cat["unanswerable_near"] >= 30
    assert per_cat["unanswerable_off"] >= 10
    for cat in CATEGORIES:
        test = sum(it.category == cat and it.split == "test" for it in ITEMS)
        assert 0.25 <= test / per_cat[cat] <= 0.4, cat


def test_followups_carry_history_and_others_do_not():
    for it in ITEMS:
        assert bool(it.history) == (it.category == "followup"), it.id


def test_unanswerable_categories_are_unanswerable():
    for it in ITEMS:
        if it.category.startswith("unanswerable"):
            assert not it.answerable, it.id
        if it.category in ("factoid", "paraphrase", "list", "section", "typo"):
            assert it.answerable, it.id


def test_questions_are_not_copied_from_the_article(article_text):
    # A reader's question, not a sentence of the article: no 8-word run in common.
    doc_words = normalize_ws(article_text).lower().split()
    grams = {tuple(doc_words[i:i + 8]) for i in range(len(doc_words) - 7)}
    for it in ITEMS:
        q = it.question.lower().split()
        assert not any(tuple(q[i:i + 8]) in grams for i in range(len(q) - 7)), it.id


def test_split_filter():
    dev, test = load_items(DEFAULT_SET, "dev"), load_items(DEFAULT_SET, "test")
    assert len(dev) + len(test) == len(ITEMS)
    assert {it.split for it in test} == {"test"}


def test_schema_rejects_bad_items(tmp_path):
    good = ITEMS[0].model_dump()
    with pytest.raises(ValueError):
        EvalItem.model_validate({**good, "surprise": 1})
    with pytest.raises(ValueError):
        EvalItem.model_validate({**good, "category": "trivia"})
    with pytest.raises(ValueError):
        EvalItem.model_validate({**good, "answerable": True, "evidence": []})
    with pytest.raises(ValueError):
        EvalItem.model_validate({**good, "answerable": False})  # still has evidence
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate"):
        load_items(bad)
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.jsonl:1"):
        load_items(bad)


@pytest.mark.parametrize("item", [it for it in ITEMS if it.answerable], ids=lambda it: it.id)
def test_gold_evidence_alone_matches_every_answer_key(item):
    # A system quoting exactly the gold evidence must be able to score full answer-key recall.
    assert answer_key_recall(" ".join(item.evidence), item.answer_keys) == 1.0
