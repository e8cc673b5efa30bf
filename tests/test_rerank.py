"""The passage ranker (`answer.rerank`): passages ordered by their best sentence's score (support and
the ranker's weighted log-odds, an unread sentence as the lowest reading), the judge then reading the
best `judge_candidates` of the new order; its training candidates; a bad ranker refused in one line."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from assistant.decision import Decider
from assistant.judge import Judgement
from assistant.rerank import LOGIT_CLIP, Ranker, order, rank_score
from assistant.retrieval import ScoredChunk, ScoredSentence
from assistant.settings import AnswerSettings
from index.errors import ModelError


def chunks():
    a, b, d = (ScoredSentence(i, 0.5, 0.5, score) for i, score in ((0, 0.9), (1, 0.8), (3, 0.75)))
    c = ScoredSentence(2, 0.5, 0.5, 0.7)
    return [ScoredChunk(10, 1.0, a, [a, b, d]), ScoredChunk(11, 0.8, c, [c])], (a, b, c, d)


def test_passages_follow_their_best_sentence_and_an_unread_one_counts_as_the_lowest_reading():
    ranked, (a, b, c, d) = chunks()
    out = order(ranked, {0: -2.0, 1: 0.0, 2: 4.0}, weight=0.1)  # d (row 3) was not read
    assert [ch.index for ch in out] == [11, 10]  # 0.7 + 0.4 beats 0.9 - 0.2 and 0.8 + 0
    assert (c.rank, b.rank, a.rank) == pytest.approx((1.1, 0.8, 0.7))
    assert d.rank == pytest.approx(0.75 - 0.1 * LOGIT_CLIP)
    assert [ch.index for ch in order(ranked, {}, weight=0.1)] == [10, 11]  # nothing read: retrieval's order
    assert [ch.index for ch in order(ranked, {0: 1.0, 2: 1.0}, weight=0.0)] == [10, 11]  # weight 0: support


def test_rank_score_clips_the_logit():
    assert rank_score(0.2, 1e9, 0.5) == rank_score(0.2, LOGIT_CLIP, 0.5) == pytest.approx(0.2 + 0.5 * LOGIT_CLIP)
    assert rank_score(0.2, None, 0.5) == rank_score(0.2, -1e9, 0.5)


class Reads:
    """A stand-in for the judge and the ranker: logs what it reads, rates sentences by a table."""

    def __init__(self, rating: dict[str, float]):
        self.rating, self.read = rating, []

    def judge(self, question, segments):
        self.read.append(list(segments))
        return [Judgement(self.rating.get(s.split(": ", 1)[-1], 0.5), 0.0) for s in segments]


def test_the_ranker_reads_the_best_by_support_and_the_judge_the_best_two_of_its_order():
    texts = {0: "alpha", 1: "beta", 2: "gamma", 3: "delta"}
    index = SimpleNamespace(chunks=[SimpleNamespace(section="S")] * 12, sentence_text=texts.__getitem__)
    judge, network = Reads({}), Reads({"gamma": 0.999, "alpha": 0.01})
    settings = AnswerSettings(judge_candidates=2)
    decider = Decider(index, settings, judge=judge, ranker=Ranker(network, weight=0.1, reads=3))
    ranked, (a, b, c, d) = chunks()
    out, judged = decider.read(SimpleNamespace(text="q?"), ranked, keep=1)
    assert network.read == [["S: alpha", "S: beta", "S: delta"]]  # the best three by support
    assert [ch.index for ch in out] == [10]  # kept: the best one of the ranker's order...
    assert judge.read == [["S: beta", "S: delta"]] and set(judged) == {1, 3}  # ...and read in that order
    out, _ = decider.read(SimpleNamespace(text="q?"), chunks()[0])
    assert [ch.index for ch in out] == [10, 11]  # gamma was never read: unread, its passage stays after
    network.read.clear()
    more = Decider(index, settings.model_copy(update={"rerank_reads": 4}), judge=judge, ranker=Ranker(network, 0.1, 3))
    more.read(SimpleNamespace(text="q?"), chunks()[0])
    assert len(network.read[0]) == 4  # answer.rerank_reads over the ranker's own
    off = Decider(index, settings.model_copy(update={"rerank": False}), judge=judge, ranker=Ranker(network, 0.1))
    assert off.ranker is None


def test_a_ranker_without_its_weight_or_with_damaged_weights_is_refused_in_one_line(tmp_path):
    from test_judge import make_tiny_judge

    folder = make_tiny_judge(tmp_path / "r")
    meta = json.loads((folder / "judge.json").read_text())
    (folder / "judge.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "rank"}))
    with pytest.raises(ModelError) as err:
        Ranker.load(folder, "float32")
    assert "gives no weight" in str(err.value) and "assistant judge ranker" in str(err.value)
    assert Ranker.load(folder, "float32", weight=0.3, reads=4).reads == 4  # given, they need none stored
    weighted = make_tiny_judge(tmp_path / "w")  # (a folder is read once per process: another one)
    (weighted / "judge.json").write_text(json.dumps(json.loads((weighted / "judge.json").read_text())
                                                    | {"rank": {"weight": 0.07, "reads": 6}}))
    assert (Ranker.load(weighted, "float32").weight, Ranker.load(weighted, "float32").reads) == (0.07, 6)
    broken = make_tiny_judge(tmp_path / "b")
    (broken / "judge.safetensors").write_bytes(b"x" + (broken / "judge.safetensors").read_bytes()[1:])
    with pytest.raises(ModelError) as err:
        Ranker.load(broken, "float32")
    assert str(err.value).startswith("ranker file") and "assistant judge ranker" in str(err.value)
    assert "\n" not in str(err.value)


def test_the_shipped_ranker_is_pinned_and_puts_the_answering_sentence_first():
    from assistant.rerank import BUNDLED_SHA256

    ranker = Ranker.load(None, "float32")
    assert ranker.judge.meta["sha256"] == BUNDLED_SHA256 and 0 < ranker.weight < 1 and 1 <= ranker.reads <= 10
    right, wrong = ranker.logits("When was the bridge opened?", ["History: The bridge was opened in 1932.",
                                                                  "History: The bridge is painted red."])
    assert right > wrong


def test_training_candidates_add_answer_holding_sentences_found_below_the_best(hashing_article):
    from train.ranker import EXTRA_GOLD, Asked, candidates

    a = hashing_article
    query = a.resolve("Who is Lavrov?", None)
    rows = a.decider.judge_inputs(a.retriever.search(query, 20), 10 ** 6)[0]
    far = set(rows[3:])  # every sentence below the best three holds "the answer"
    group = candidates(Asked("article", a, query, lambda row, chunk: row in far, lambda chunk: False), 3, 20)
    assert group.question == query.text and len(group.segments) == 3 + EXTRA_GOLD == len(group.targets)
    assert list(group.targets) == [0, 0, 0] + [1] * EXTRA_GOLD


def test_the_ranker_card_is_written_from_what_training_recorded(tmp_path):
    from train.ranker import write_ranker_card

    figures = {"questions": 10, "retrieval": 0.5, "5/0.01": 0.6, "5/0.05": 0.7, "8/0.01": 0.65, "8/0.05": 0.66}
    meta = {"sha256": "ab" * 32, "questions": 20, "sets": ["eval/data/x.jsonl"], "documents": ["a.html", "b.1.txt"],
            "pool": 20, "candidates": 10, "seed": 13, "epochs": 2, "history": [{"epoch": 1, "loss": 1.5}],
            "rank": {"weight": 0.05, "reads": 5, "passages": 20, "minutes": 25, "folds": {"a.html": 0, "b.1.txt": 1},
                     "chosen_on": {"IPod": figures, "a.html": figures},
                     "kinds": {"SQuAD": figures, "genres": figures, "mean": figures}, "reported": {"CCT": figures}}}
    (tmp_path / "judge.json").write_text(json.dumps(meta))
    card = write_ranker_card(tmp_path).read_text()
    assert "ab" * 32 in card and "support + 0.05 x logit" in card and "| IPod (10) | 0.5 | 0.6 | 0.7 |" in card
    assert "best 5 candidate sentences" in card and "Best mean by reads: 5: 0.7, 8: 0.66." in card
    assert "| CCT | 10 | 0.5 | 0.7 |" in card and "`a.html` 1, `b.1.txt` 2" in card
