"""The answer/decline decision cannot manufacture confidence: more evidence never lowers it, and
what the question asks never raises it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.decision import LOWERS, QUESTION_FLAGS, Decision, decision_features, question_flags
from assistant.judge import Judgement
from assistant.question import analyse

probability = st.floats(0.001, 0.999)
candidate = st.fixed_dictionaries({"p": probability, "span": st.floats(-20, 20), "support": st.floats(0, 1),
                                   "dense": st.floats(-0.2, 1), "lexical": st.floats(0, 1),
                                   "missing": st.booleans()})
flags = st.fixed_dictionaries({f: st.sampled_from([0.0, 1.0]) for f in QUESTION_FLAGS})


def signed_decision(draw_weights: list[float], sentence_weights: list[float]) -> Decision:
    """A decision with every weight within its sign (as calibration fits them), over every input."""
    from assistant.decision import DECISION_FEATURES, SENTENCE_FEATURES

    weights = tuple(-abs(w) if f in LOWERS else abs(w) for f, w in zip(DECISION_FEATURES, draw_weights))
    n = len(DECISION_FEATURES)
    sentence = (SENTENCE_FEATURES, (0.0,) * len(SENTENCE_FEATURES), (1.0,) * len(SENTENCE_FEATURES),
                tuple(abs(w) for w in sentence_weights), 0.0)
    return Decision(DECISION_FEATURES, (0.0,) * n, (1.0,) * n, weights, 0.0, 0.5, {}, sentence)


def confidence(decision: Decision, cands: list[dict], asks: dict[str, float], rules: float = 0.5) -> float:
    from assistant.decision import sentence_features

    out = []
    for c in cands:
        judged = Judgement(c["p"], c["span"])
        s = SimpleNamespace(score=c["support"], dense=c["dense"], lexical=c["lexical"])
        out.append(SimpleNamespace(judged=judged, sentence=s, missing={"number"} if c["missing"] else set(),
                                   answers=decision.answers(sentence_features(judged, s))))
    return decision.confidence(decision_features(out, rules, asks))


def decisions():
    from assistant.decision import DECISION_FEATURES, SENTENCE_FEATURES

    weight = st.floats(0, 3)
    return st.builds(signed_decision, st.lists(weight, min_size=len(DECISION_FEATURES), max_size=len(DECISION_FEATURES)),
                     st.lists(weight, min_size=len(SENTENCE_FEATURES), max_size=len(SENTENCE_FEATURES)))


def shipped() -> Decision:
    return Decision.load()


@settings(max_examples=300, deadline=None)
@given(data=st.data(), cands=st.lists(candidate, min_size=1, max_size=4), asks=flags, rise=st.floats(0.0, 0.99))
def test_confidence_never_falls_when_the_chosen_sentence_is_judged_more_likely(data, cands, asks, rise):
    """Everything else equal, raising the judge's probability for the sentence the decision reads
    (the one most likely to answer) never lowers `Answer.confidence`: for the shipped decision and
    for any decision fitted within the signs."""
    for decision in (shipped(), data.draw(decisions())):
        before = confidence(decision, cands, asks)
        best = max(range(len(cands)), key=lambda i: decision.answers(_features(cands[i])))
        higher = [dict(c) for c in cands]
        higher[best]["p"] = cands[best]["p"] + rise * (0.999 - cands[best]["p"])
        assert confidence(decision, higher, asks) >= before - 1e-12


@settings(max_examples=200, deadline=None)
@given(data=st.data(), cands=st.lists(candidate, min_size=1, max_size=4), asks=flags,
       flag=st.sampled_from(QUESTION_FLAGS))
def test_what_the_question_asks_never_raises_the_confidence(data, cands, asks, flag):
    """A why, yes/no, list or part-of-the-document question needs at least the evidence any
    other question needs: setting a flag never raises the confidence."""
    for decision in (shipped(), data.draw(decisions())):
        off, on = dict(asks, **{flag: 0.0}), dict(asks, **{flag: 1.0})
        assert confidence(decision, cands, on) <= confidence(decision, cands, off) + 1e-12


def test_the_shipped_decision_keeps_its_signs_and_reads_only_supported_flags():
    decision = shipped()
    assert decision.wrong_signs() == []
    support = decision.about["binary_inputs"]
    for flag in set(decision.features) & LOWERS:  # every flag it reads had enough rows of both kinds
        rows = support[flag]
        assert rows["used"] and min(rows["answerable"], rows["unanswerable"]) >= decision.about["min_support_rows"]
        assert rows["documents"] > 1


@pytest.mark.parametrize("question", ["Why do cats purr?", "Can dogs swim?", "Is Paris the capital of France?",
                                      "why is the sky blue", "Should I learn Rust or Go?"])
def test_the_form_of_an_off_topic_question_gives_it_no_confidence(question):
    """With no evidence at all (the judge sure no sentence answers, nothing retrieved), the
    shipped decision declines whatever form the question takes."""
    decision = shipped()
    nothing = [{"p": 0.02, "span": -10.0, "support": 0.05, "dense": 0.05, "lexical": 0.0, "missing": False}] * 2
    asks = question_flags(analyse(question), False)
    assert confidence(decision, nothing, asks, rules=0.05) < min(decision.threshold, 0.5)


def _features(c: dict) -> dict:
    from assistant.decision import sentence_features

    return sentence_features(Judgement(c["p"], c["span"]),
                             SimpleNamespace(score=c["support"], dense=c["dense"], lexical=c["lexical"]))


def test_the_shipped_judge_and_decision_tell_an_answer_from_an_unrelated_sentence():
    """What ships, in the fast loop: the bundled judge (int8, as served) reads a sentence of the
    bundled article that answers above one that does not, and the shipped decision answers the
    first and declines the second (no embedder: the retrieval scores are given)."""
    from assistant.judge import Judge

    judge = Judge.load()
    question = "What does North Korea seek from Russia?"
    answer = "North Korea seeks advanced military technology, including satellite and missile capabilities."
    unrelated = "Cats purr when they are content, and sometimes when they are hurt."
    good, bad = judge.judge(question, [answer, unrelated])
    assert good.probability > bad.probability and good.span > bad.span
    decision = shipped()
    asks = question_flags(analyse(question), False)

    def reading(j, support, dense, lexical):
        return {"p": j.probability, "span": j.span, "support": support, "dense": dense, "lexical": lexical,
                "missing": False}

    answered = confidence(decision, [reading(good, 0.75, 0.7, 1.0)], asks, rules=0.75)
    declined = confidence(decision, [reading(bad, 0.05, 0.05, 0.0)], asks, rules=0.05)
    assert declined < decision.threshold <= answered
