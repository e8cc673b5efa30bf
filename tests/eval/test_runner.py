"""Scoring outputs, the gate, settings overrides and the baseline, on hand-made data."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from eval.baseline import DenseBaseline, fixed_chunks
from eval.runner import (DEFAULT_GATE, Output, apply_overrides, check_gate, evaluate, load_gate, parse_overrides,
                         run_assistant, score_item)
from eval.schema import EvalItem

DOC = "Tea comes from China. It is drunk hot. Coffee comes from Ethiopia."
#      0         1         2         3         4         5         6
#      0123456789012345678901234567890123456789012345678901234567890123456


def item(**kw) -> EvalItem:
    base = dict(id="x-001", question="Where does tea come from?", answerable=True,
                evidence=["Tea comes from China."], answer_keys=[["China"]], category="factoid", split="dev")
    return EvalItem(**{**base, **kw})


def test_score_item_for_a_good_answer():
    out = Output(id="x-001", answer="“Tea comes from China.” [1]", abstained=False,
                 citations=[("Tea comes from China.", 0, 21, "doc")],
                 passages=["Coffee comes from Ethiopia.", "Tea comes from China. It is drunk hot."], confidence=0.9)
    s = score_item(item(), out, DOC, "doc")
    assert (s["hit@1"], s["hit@3"], s["mrr@10"]) == (0.0, 1.0, 0.5)
    assert s["recall@1"] == 0.0 and s["recall@10"] == 1.0
    assert s["chars@1"] == 27 and s["chars@10"] == 27 + 38
    assert s["quote_validity"] == 1.0
    assert s["citation_precision"] == 1.0 and s["citation_recall"] == 1.0
    assert s["uncited_rate"] == 0.0
    assert s["key_recall"] == 1.0 and s["token_f1"] == 1.0 and s["outcome"] == 1.0


def test_score_item_penalises_wrong_and_forged_citations():
    out = Output(id="x-001", answer="“Coffee comes from Ethiopia.” [1] “China.” [2] Tea is Chinese.", abstained=False,
                 citations=[("Coffee comes from Ethiopia.", 39, 66, "doc"), ("China.", 0, 6, "doc")],
                 passages=[], confidence=0.9)
    s = score_item(item(), out, DOC, "doc")
    assert s["quote_validity"] == 0.5              # "China." is not at 0:6
    assert s["citation_precision"] == 0.0          # coffee misses; the forged one counts as pointing nowhere
    assert s["citation_recall"] == 0.0
    assert s["uncited_rate"] == pytest.approx(1 / 3)  # "Tea is Chinese." is in no quote
    assert s["key_recall"] == 1.0                  # the keys alone cannot tell a forged quote
    assert s["hit@1"] == 0.0 and s["chars@1"] is None


def test_abstaining_on_an_answerable_item_scores_zero_and_unanswerable_is_skipped():
    out = Output(id="x-001", answer="The document doesn't say.", abstained=True, confidence=0.1)
    s = score_item(item(), out, DOC, "doc")
    assert s["key_recall"] == 0.0 and s["citation_recall"] == 0.0 and s["token_f1"] == 0.0 and s["outcome"] == 0.0
    assert s["citation_precision"] is None and s["quote_validity"] is None
    u = score_item(item(answerable=False, evidence=[], answer_keys=[], category="unanswerable_near"), out, DOC, "doc")
    assert u["hit@1"] is None and u["key_recall"] is None and u["outcome"] == 1.0


def test_evaluate_aggregates_overall_per_category_and_curve():
    items = [item(id="a"), item(id="b"), item(id="c", answerable=False, evidence=[], answer_keys=[],
                                                category="unanswerable_off")]
    good = Output(id="a", answer="“Tea comes from China.” [1]", abstained=False,
                  citations=[("Tea comes from China.", 0, 21, "doc")], passages=[DOC], confidence=0.8,
                  retrieve_ms=1.0, ask_ms=3.0)
    wrongly_abstained = Output(id="b", abstained=True, passages=[DOC], confidence=0.3, retrieve_ms=3.0, ask_ms=5.0)
    abstained = Output(id="c", abstained=True, confidence=0.1, retrieve_ms=2.0, ask_ms=4.0)
    res = evaluate(items, [good, wrongly_abstained, abstained], DOC, "doc")
    o = res["overall"]
    assert o["n"] == 3 and o["answerable"] == 2
    assert o["hit@1"] == 1.0
    assert o["key_recall"] == 0.5
    assert o["abstain_precision"] == 0.5 and o["abstain_recall"] == 1.0 and o["false_abstention"] == 0.5
    assert o["retrieve_p50_ms"] == 2.0 and o["ask_p95_ms"] == pytest.approx(4.9)
    assert set(res["categories"]) == {"factoid", "unanswerable_off"}
    assert res["categories"]["unanswerable_off"]["abstain_recall"] == 1.0
    # abstaining below 0.3 would keep b: recall 1, precision 1
    point = next(p for p in res["curve"] if p["threshold"] == 0.3)
    assert point["precision"] == 1.0 and point["false_abstention"] == 0.0
    assert [r["id"] for r in res["items"]] == ["a", "b", "c"]


def test_gate_checks_minimums_maximums_and_missing_figures():
    gate = {"min": {"hit@1": 0.5, "abstain_recall": 0.5}, "max": {"false_abstention": 0.2}}
    assert check_gate({"hit@1": 0.6, "abstain_recall": 0.5, "false_abstention": 0.2}, gate) == []
    failures = check_gate({"hit@1": 0.4, "abstain_recall": None, "false_abstention": 0.3}, gate)
    assert len(failures) == 3
    assert "hit@1 = 0.400 is below the minimum 0.5" in failures


def test_checked_in_gate_is_valid(tmp_path):
    gate = load_gate(DEFAULT_GATE)
    assert gate["min"]["quote_validity"] == 1.0
    assert gate["min"] and gate["max"]
    bad = tmp_path / "gate.json"
    bad.write_text(json.dumps({"min": {"hit@2": 0.5}}))
    with pytest.raises(ValueError, match="hit@2"):
        load_gate(bad)


def test_overrides():
    assert parse_overrides(["answer.max_quotes=2", "index.chunker.max_chars=300", "index.model=hashing"]) == {
        "answer": {"max_quotes": 2}, "index": {"chunker": {"max_chars": 300}, "model": "hashing"}}
    with pytest.raises(ValueError):
        parse_overrides(["min_support=1"])
    from assistant import Settings

    s = apply_overrides(Settings(), parse_overrides(["answer.min_support=5", "index.model=hashing"]))
    assert s.answer.min_support == 5 and s.index.model == "hashing"
    with pytest.raises(ValueError, match="unknown setting answer.nope"):
        apply_overrides(Settings(), {"answer": {"nope": 1}})


def test_fixed_chunks_cover_the_text_with_overlap():
    assert fixed_chunks(1000, 500, 100) == [(0, 500), (400, 900), (800, 1000)]
    assert fixed_chunks(300, 500, 100) == [(0, 300)]
    assert fixed_chunks(0) == []
    with pytest.raises(ValueError):
        fixed_chunks(10, 100, 100)


def test_baseline_answers_with_the_best_chunk_quoted_exactly():
    from index import HashingEmbedder

    doc = ("Volcanoes erupt lava and ash. " * 10) + ("Tea is grown in the hills of Darjeeling. " * 10)
    base = DenseBaseline(doc, HashingEmbedder(), size=120, overlap=30)
    answer, ms = base.ask("where is tea grown? Darjeeling hills")
    assert "Darjeeling" in answer.quote
    assert doc[answer.start:answer.end] == answer.quote
    assert answer.text == f"“{answer.quote}” [1]"
    assert len(answer.passages) == min(10, len(base.spans)) and ms >= 0


class FakeAssistant:
    """Answers from a script; raises for one question, as a buggy answerer would."""

    def ask(self, question, history=None):
        if question == "boom":
            raise KeyError("focus:war")
        cite = SimpleNamespace(quote="Tea comes from China.", start=0, end=21, doc_id="doc")
        return SimpleNamespace(text="“Tea comes from China.” [1]", abstained=False, citations=[cite],
                               confidence=0.7, query=" ".join([*(history or []), question]))

    def retrieve(self, question, k=10, history=None):
        self.last_call = (question, history)
        return [SimpleNamespace(text=DOC)]


def test_run_assistant_records_a_crash_per_item_and_retrieves_followups_in_context():
    fake = FakeAssistant()
    items = [item(id="a"), item(id="b", question="boom"),
             item(id="c", question="And coffee?", category="followup", history=["Where is tea from?"])]
    outs = run_assistant(fake, items, progress=False)
    assert outs[0].error is None and outs[0].citations == [("Tea comes from China.", 0, 21, "doc")]
    assert outs[1].error == "KeyError: 'focus:war'" and outs[1].abstained
    assert fake.last_call == ("And coffee?", ["Where is tea from?"])
    res = evaluate(items, outs, DOC, "doc")
    assert res["overall"]["errors"] == 1
    assert check_gate(res["overall"], {"max": {"errors": 0}}) == ["errors = 1 is above the maximum 0"]
