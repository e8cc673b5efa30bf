"""Each metric against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eval import metrics as m


def test_normalize_and_contains():
    assert m.normalize_ws("  a \n\t b  ") == "a b"
    assert m.contains_span("x  North\nKorea  y", "North Korea")
    assert not m.contains_span("North Kor", "North Korea")
    assert not m.contains_span("anything", "   ")


def test_locate_maps_back_to_original_offsets():
    doc = "one  two\nthree four"
    assert m.locate(doc, "two three") == (5, 14)
    assert doc[5:14] == "two\nthree"
    assert m.locate(doc, "five") is None
    assert m.locate(doc, "") is None


def test_overlaps_is_half_open():
    assert m.overlaps((0, 5), (4, 9))
    assert not m.overlaps((0, 5), (5, 9))
    assert m.overlaps((2, 3), (0, 10))


def test_hit_recall_mrr_chars():
    passages = ["the cat sat", "a dog ran", "cat and dog", "bird"]
    evidence = ["dog ran", "bird"]
    rel = m.relevance(passages, evidence)
    assert rel == [False, True, False, True]
    assert m.hit_at_k(rel, 1) == 0.0
    assert m.hit_at_k(rel, 3) == 1.0
    assert m.recall_at_k(passages, evidence, 1) == 0.0
    assert m.recall_at_k(passages, evidence, 3) == 0.5
    assert m.recall_at_k(passages, evidence, 10) == 1.0
    assert m.recall_at_k(passages, [], 10) is None
    assert m.mrr_at_k(rel, 10) == 0.5
    assert m.mrr_at_k(rel, 1) == 0.0
    assert m.mrr_at_k([False, False, True], 10) == pytest.approx(1 / 3)
    assert m.chars_read_at_k(passages, 1) == 11
    assert m.chars_read_at_k(passages, 10) == 11 + 9 + 11 + 4


def test_ndcg_by_hand():
    # relevant at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k([False, True, False, True], 10) == pytest.approx(expected)
    assert m.ndcg_at_k([False, True], 10) == pytest.approx(0.63092975)
    assert m.ndcg_at_k([True, False], 10) == 1.0
    assert m.ndcg_at_k([False, False], 10) == 0.0
    assert m.ndcg_at_k([False, True], 1) == 0.0


def test_quote_validity():
    doc = "hello world"
    assert m.quote_is_valid(doc, "world", 6, 11)
    assert not m.quote_is_valid(doc, "world", 0, 5)
    assert not m.quote_is_valid(doc, "world", 6, 99)
    assert m.quote_is_valid(doc, "lo wo", None, None)
    assert not m.quote_is_valid(doc, "", 0, 0)
    assert m.quote_validity(doc, [("world", 6, 11), ("hello", 1, 6)]) == 0.5
    assert m.quote_validity(doc, []) is None


def test_citation_precision_and_recall():
    assert m.citation_precision([(0, 5), (20, 30)], [(3, 8)]) == 0.5
    assert m.citation_precision([], [(3, 8)]) is None
    assert m.citation_precision([(0, 5)], []) == 0.0
    assert m.citation_recall([(0, 5)], [(3, 8), (40, 50)]) == 0.5
    assert m.citation_recall([(0, 100)], [(3, 8), (40, 50)]) == 1.0
    assert m.citation_recall([], [(3, 8)]) == 0.0
    assert m.citation_recall([(0, 5)], []) is None


def test_uncited_sentences():
    assert m.uncited_sentences("“A b. C d.” [1] E f.", ["A b. C d."]) == (1, 3)
    # a quote spanning paragraphs, bullets and several markers: all cited
    assert m.uncited_sentences("“x y.\n\nz w.” [1]", ["x y.\n\nz w."]) == (0, 2)
    assert m.uncited_sentences("- “A b.” [1]\n- “C d.” [2]", ["A b.", "C d."]) == (0, 2)
    assert m.uncited_sentences("“clause one” [1] “clause two” [2]", ["clause one", "clause two"]) == (0, 2)
    # a lead-in and an invented sentence are not inside any quote
    assert m.uncited_sentences("The article says:\n\n> “A b.” [1] So it is true.", ["A b."]) == (2, 3)
    assert m.uncited_sentences("No quotes here. None at all!", []) == (2, 2)
    assert m.uncited_sentences("", []) == (0, 0)


def test_answer_key_recall():
    assert m.answer_key_recall("Moscow, in 1991", [["moscow"], ["1990", "1991"], ["Kim"]]) == pytest.approx(2 / 3)
    assert m.answer_key_recall("North\n  Korea’s", [["north korea's"]]) == 1.0
    assert m.answer_key_recall("anything", []) is None
    assert m.answer_key_recall("", [["a"]]) == 0.0


def test_token_f1_squad_style():
    assert m.squad_normalize("The  Soviet Union’s aid!") == "soviet unions aid"
    assert m.token_f1("soviet union aid", "the Soviet Union") == pytest.approx(0.8)
    assert m.token_f1("w x y z", "y z u v") == pytest.approx(0.5)
    assert m.token_f1("a b c d", "c d e f") == pytest.approx(4 / 7)  # "a" is an article: P = 2/3, R = 2/4
    assert m.token_f1("", "") == 1.0
    assert m.token_f1("", "x") == 0.0
    assert m.token_f1("x y", "z") == 0.0
    # repeated tokens count only as often as they occur in both: common=2 of pred 3, ref 2
    assert m.token_f1("x x y", "y x") == pytest.approx(2 * (2 / 3) * 1 / (2 / 3 + 1))


def test_abstention_scores():
    s = m.abstention_scores([True, True, False], [True, False, True])
    assert s == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "false_abstention": 1.0}
    s = m.abstention_scores([True, True, False, False], [True, True, False, False])
    assert s == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "false_abstention": 0.0}
    never = m.abstention_scores([True, False], [False, False])
    assert never["precision"] is None and never["recall"] == 0.0 and never["f1"] == 0.0
    only_answerable = m.abstention_scores([False, False, False, False], [True, False, False, False])
    assert only_answerable["recall"] is None and only_answerable["false_abstention"] == 0.25


def test_abstention_curve():
    points = m.abstention_curve([True, False], [0.2, 0.8])
    assert [p["threshold"] for p in points] == [0.2, 0.8, 1.8]
    assert points[0]["recall"] == 0.0 and points[0]["precision"] is None
    assert points[1]["precision"] == 1.0 and points[1]["recall"] == 1.0 and points[1]["false_abstention"] == 0.0
    assert points[2]["precision"] == 0.5 and points[2]["false_abstention"] == 1.0
    assert m.abstention_curve([], []) == []


def test_percentile_and_mean():
    assert m.percentile([1, 2, 3, 4], 50) == 2.5
    assert m.percentile([4, 1, 3, 2], 95) == pytest.approx(3.85)
    assert m.percentile([7], 95) == 7
    assert m.percentile([], 50) is None
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
    for q in (0, 25, 50, 90, 95, 100):  # numpy's default interpolation
        assert m.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert m.mean([1, None, 0]) == 0.5
    assert m.mean([None]) is None
