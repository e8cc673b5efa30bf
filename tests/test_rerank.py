"""The re-ranker (`answer.rerank`): the judged sentences in its order ahead of the others, the
passages by their best sentence, the decision reading only the best `judge_candidates`; its
fit learns a ranking; a bad model file is refused in one line."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from assistant.decision import Decider
from assistant.judge import Judgement
from assistant.rerank import Reranker
from assistant.retrieval import ScoredChunk, ScoredSentence
from assistant.settings import AnswerSettings
from index.errors import ModelError


def test_the_judged_sentences_lead_in_the_rerankers_order_and_the_decision_reads_the_best_two():
    model = Reranker(("support", "judge_logit"), (0.0, 0.0), (1.0, 1.0), (0.1, 1.0), {})
    decider = Decider(SimpleNamespace(chunks=[]), AnswerSettings(judge_candidates=2, rerank=3), judge=object(),
                      reranker=model)
    a, b, d = (ScoredSentence(i, 0.5, 0.5, score) for i, score in ((0, 0.9), (1, 0.8), (3, 0.95)))
    c = ScoredSentence(2, 0.5, 0.5, 0.7)
    ranked = [ScoredChunk(10, 1.0, a, [a, b, d]), ScoredChunk(11, 0.8, c, [c])]
    judged = {0: Judgement(0.2, 0.0), 1: Judgement(0.5, 0.0), 2: Judgement(0.95, 0.0)}  # d not read
    order, kept = decider.rerank(ranked, judged)
    assert [ch.index for ch in order] == [11, 10]  # the passage of the sentence the judge reads as answering
    assert sorted(kept) == [1, 2]  # the decision reads the best two of the new order
    assert c.rank > b.rank > a.rank > d.rank  # unjudged after every judged sentence, whatever its support


def test_the_listwise_fit_learns_which_input_ranks_the_answer_first():
    from train.rerank import fit_listwise

    rng = np.random.default_rng(0)
    xs, ts = [], []
    for _ in range(60):
        x = rng.normal(size=(5, 2))
        t = np.zeros(5)
        t[int(np.argmax(x[:, 1] + 0.3 * rng.normal(size=5)))] = 1.0  # the second input points at the answer
        xs.append(x)
        ts.append(t)
    w = fit_listwise(xs, ts, l2=0.1)
    assert w[1] > 1.0 and abs(w[0]) < 0.5 * w[1]


@pytest.mark.parametrize("text", ["{", '{"features": ["support"], "mean": [0], "scale": [1]}',
                                  '{"features": ["nope"], "mean": [0], "scale": [1], "weights": [1]}'])
def test_a_bad_reranker_file_is_refused_in_one_line(tmp_path, text):
    path = tmp_path / "rerank.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ModelError) as err:
        Reranker.load(path)
    assert "assistant judge rerank" in str(err.value) and "\n" not in str(err.value)


def test_the_shipped_reranker_loads_and_ranks_a_likelier_answer_higher():
    model = Reranker.load()
    assert model.score({"support": 0.6, "judge_logit": 2.0, "span": 0.0}) > model.score(
        {"support": 0.6, "judge_logit": -2.0, "span": 0.0})
