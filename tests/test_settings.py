"""Honest settings (issue 24, item 4): every knob of `Settings` changes what the assistant does.

One test (or one parametrized case) per field: it changes that ONE setting from its default
and asserts an observable difference against the default, on the weightless hashing
embedder (the bundled article's index is reused: `Assistant(index, settings)` does not
rebuild). Settings that only act with a judge use the tiny random judge of test_judge.py.
`SETTING_TESTS` maps every field to the test that shows its effect; the last test fails
when a field is added without one. A field that changes nothing after a real effort keeps
its test, marked `xfail(strict=True)` with the reason.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel

from assistant import Assistant, InvalidQuestion, Settings
from assistant.settings import AnswerSettings, IndexSettings, LimitSettings, RetrievalSettings, UploadSettings
from test_judge import tiny  # noqa: F401 - a fixture: the tiny random judge (`make_tiny_judge`) in a folder

TESTS = Path(__file__).resolve().parent


def variant(base: Assistant, **groups) -> Assistant:
    """`base`'s index under `base`'s settings with some fields changed. Each changed field must be at
    its default in `base` (but `answer.judge`: these tests run without the bundled judge) and really
    change, so that every test compares a setting against its default."""
    for group, fields in groups.items():
        for name, value in fields.items():
            now = getattr(getattr(base.settings, group), name)
            assert (group, name) == ("answer", "judge") or now == getattr(getattr(Settings(), group), name), \
                f"{group}.{name} is {now!r} in the base, not its default"
            assert now != value, f"{group}.{name} is already {value!r}"
    return Assistant(base.index, base.settings.with_(**groups))


def quotes(answer) -> list[str]:
    return [c.quote for c in answer.citations]


def ids(passages) -> list[str]:
    return [p.chunk_id for p in passages]


def build(tmp_path: Path, files: dict[str, str], **index) -> Assistant:
    """A hashing-embedder assistant over small hand-made documents (index settings changed by `index`)."""
    docs = tmp_path / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    settings = Settings().with_(index={"model": "hashing", **index}, answer={"judge": "none"})
    return Assistant.from_paths([docs], tmp_path / f"index-{len(list(tmp_path.glob('index-*')))}", settings,
                                progress=False)


# ---------------------------------------------------------------- retrieval


def test_retrieval_k_is_how_many_passages_retrieve_gives(hashing_article):
    q = "Which city did Lavrov visit?"
    assert len(hashing_article.retrieve(q)) == 5
    fewer = variant(hashing_article, retrieval={"k": 2}).retrieve(q)
    assert ids(fewer) == ids(hashing_article.retrieve(q))[:2]
    # `ask` reads answer.passages, not retrieval.k (see test_answer_passages)


def test_retrieval_candidates_limits_the_passages_considered(hashing_article):
    q = "In what year did the USSR collapse?"
    default = hashing_article.retrieve(q)
    few = variant(hashing_article, retrieval={"candidates": 5}).retrieve(q)
    assert few[0] == default[0]  # the best one is found either way
    assert ids(few) != ids(default)  # but a passage among the best five is no longer a candidate
    assert set(ids(default)) - set(ids(few))


def test_retrieval_section_weight_counts_question_words_found_in_a_section_title(hashing_article):
    q = "What does Russia aim to solidify in the long term?"
    default = hashing_article.ask(q)
    flat = variant(hashing_article, retrieval={"section_weight": 0.0}).ask(q)
    # "long term" is the title of the section ("Long-Term Strategic Goals"): without it, the
    # sentence about Russia falls below the quoting floor
    assert len(default.citations) == 2 and any("For Russia" in t for t in quotes(default))
    assert quotes(flat) == quotes(default)[:1]


def test_retrieval_sentence_weight_mixes_word_coverage_into_a_sentence_score(hashing_article):
    q = "Who is the Russian foreign minister mentioned in the article?"
    default = hashing_article.ask(q)
    cosine_only = variant(hashing_article, retrieval={"sentence_weight": 0.0}).ask(q)
    assert not default.abstained and "Sergey Lavrov" in quotes(default)[0]
    assert cosine_only.abstained and cosine_only.confidence < default.confidence


def test_retrieval_section_bonus_lifts_the_part_a_question_points_at(hashing_article):
    q = "According to the ending, what three things is the world waiting to see?"
    default = hashing_article.ask(q)
    no_bonus = variant(hashing_article, retrieval={"section_bonus": 0.0}).ask(q)
    assert not default.abstained and default.citations[0].section == "Conclusion"
    assert no_bonus.abstained
    assert default.confidence == pytest.approx(no_bonus.confidence + hashing_article.settings.retrieval.section_bonus)


def test_retrieval_cause_bonus_lifts_sentences_that_word_a_reason(hashing_article):
    q = "Why did the friendship between the two cool off in the nineties?"
    default = hashing_article.retrieve(q)
    none = variant(hashing_article, retrieval={"cause_bonus": 0.0}).retrieve(q)
    assert ids(none) != ids(default)
    lifted = default[0]  # its best sentence words a reason: it loses exactly the bonus
    again = next(p for p in none if p.chunk_id == lifted.chunk_id)
    assert again.rank > 1
    assert lifted.score == pytest.approx(again.score + hashing_article.settings.retrieval.cause_bonus, abs=1e-5)


def test_retrieval_intro_factor_discounts_a_sentence_that_only_introduces_a_list(hashing_article):
    q = "What is North Korea reportedly supplying to Russia?"
    default = hashing_article.ask(q)
    full = variant(hashing_article, retrieval={"intro_factor": 1.0}).ask(q)
    assert len(default.citations) == 1 and len(full.citations) == 2
    assert quotes(full)[0] == quotes(default)[0]
    assert quotes(full)[1].endswith(":")  # the list's introduction, no longer discounted, is quoted


def test_retrieval_passage_weight_adds_the_whole_passages_similarity(hashing_article):
    q = "What kinds of military help is Pyongyang seeking from Moscow?"
    default = hashing_article.retrieve(q)
    sentences_only = variant(hashing_article, retrieval={"passage_weight": 0.0}).retrieve(q)
    assert ids(sentences_only)[:2] == ids(default)[:2][::-1]  # the two best change places
    scores = {p.chunk_id: p.score for p in default}
    assert all(p.score < scores[p.chunk_id] for p in sentences_only if p.chunk_id in scores)


def test_retrieval_duplicate_overlap_drops_passages_repeating_a_better_one(hashing_article):
    q = "Which city did Lavrov visit?"
    default = hashing_article.retrieve(q)
    strict = variant(hashing_article, retrieval={"duplicate_overlap": 0.0}).retrieve(q)
    assert ids(strict) != ids(default)
    chunks = {c.chunk_id: c for c in hashing_article.index.chunks}

    def overlaps(a, b):
        return a.doc_id == b.doc_id and min(a.end, b.end) > max(a.start, b.start)

    # by default a passage sharing a sentence with a better one is kept; at 0.0 none is
    assert any(overlaps(chunks[a], chunks[b]) for i, a in enumerate(ids(default)) for b in ids(default)[:i])
    assert not any(overlaps(chunks[a], chunks[b]) for i, a in enumerate(ids(strict)) for b in ids(strict)[:i])


class _DocsByTheQueryPath:
    """The bundled model, embedding documents on its float32 query path (`index.fastbert`):
    the vectors of sentence-transformers within 1e-5, without importing torch (seconds)."""

    def __init__(self):
        from index import get_embedder

        self.inner = get_embedder("default", "float32")
        self.name, self.dim, self.fingerprint = self.inner.name, self.inner.dim, self.inner.fingerprint

    def embed(self, texts, progress=False):
        return np.stack([self.inner.embed_query(t) for t in texts])


@pytest.mark.slow  # several seconds: `make test` runs it, `make check` does not
def test_retrieval_query_runtime_chooses_how_the_question_is_embedded(tmp_path):
    """The hashing embedder has no runtime: this one needs the bundled model (a few sentences)."""
    from index import build_index, load_index

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tea.txt").write_text("Tea\n\nGreen tea comes from China. It is steeped at 80 degrees.\n"
                                  "Black tea is oxidised for hours.\n", encoding="utf-8")
    settings = Settings().with_(answer={"judge": "none"})
    build_index([docs], tmp_path / "index", settings.index.build(), embedder=_DocsByTheQueryPath(), progress=False)
    default = Assistant(load_index(tmp_path / "index"), settings)
    assert default.settings.retrieval.query_runtime == "int8"
    exact = variant(default, retrieval={"query_runtime": "float32"})
    q = "Where does green tea come from?"
    a, b = default.embedder.embed_query(q), exact.embedder.embed_query(q)
    assert 0.97 < float(a @ b) < 0.99999  # near, not the same vector
    int8, float32 = default.retrieve(q), exact.retrieve(q)
    assert ids(int8) == ids(float32) and int8[0].score != pytest.approx(float32[0].score, abs=1e-4)


# ---------------------------------------------------------------- answers, without a judge


def test_answer_max_quotes(hashing_article):
    q = "Which war is Kim's backing of Russia linked to?"
    default = hashing_article.ask(q)
    one = variant(hashing_article, answer={"max_quotes": 1}).ask(q)
    assert len(default.citations) == 2 and quotes(one) == quotes(default)[:1]


def test_answer_max_list_quotes(hashing_article):
    q = "What would North Korea get in return for its natural resources?"
    default = hashing_article.ask(q)
    two = variant(hashing_article, answer={"max_list_quotes": 2}).ask(q)
    assert len(default.citations) == 3 and len(two.citations) == 2
    assert set(quotes(two)) < set(quotes(default))  # the best two items of the same list


def test_answer_passages(hashing_article):
    q = "Which city did Lavrov visit?"
    default = hashing_article.ask(q)
    two = variant(hashing_article, answer={"passages": 2}).ask(q)
    assert len(default.passages) == 5 and ids(two.passages) == ids(default.passages)[:2]


def test_answer_min_support(hashing_article):
    q = "Which city did Lavrov visit?"
    default = hashing_article.ask(q)
    strict = variant(hashing_article, answer={"min_support": 0.5}).ask(q)
    assert not default.abstained and 0.3 <= default.confidence < 0.5
    assert strict.abstained and strict.confidence == default.confidence


def test_answer_mmr_lambda(hashing_article):
    q = "Can you summarise the introduction for me?"
    default = hashing_article.ask(q)
    relevance_only = variant(hashing_article, answer={"mmr_lambda": 1.0}).ask(q)
    # novelty spreads the quotes over three passages; relevance alone takes the next sentence of the first
    assert len({c.n for c in default.citations}) == 3
    assert len({c.n for c in relevance_only.citations}) == 2
    assert quotes(relevance_only)[0] == quotes(default)[0] and quotes(relevance_only) != quotes(default)


def test_answer_min_relative(hashing_article):
    q = "Which city did Lavrov visit?"
    default = hashing_article.ask(q)
    lenient = variant(hashing_article, answer={"min_relative": 0.5}).ask(q)
    assert len(default.citations) == 1 and len(lenient.citations) == 3
    assert quotes(lenient)[0] == quotes(default)[0] and "visit to Moscow" in quotes(lenient)[1]


def test_answer_list_relative(hashing_article):
    q = "What are the consequences of this alliance for South Korea and Japan?"
    default = hashing_article.ask(q)
    lenient = variant(hashing_article, answer={"list_relative": 0.5}).ask(q)
    assert len(default.citations) == 1
    # the sentence after the best one in its passage names the first consequence
    assert quotes(lenient)[0] == quotes(default)[0] and quotes(lenient)[1].startswith("Escalate Regional Tensions")


def test_answer_max_redundancy(hashing_article):
    q = "Which war is Kim's backing of Russia linked to?"
    default = hashing_article.ask(q)
    strict = variant(hashing_article, answer={"max_redundancy": 0.3}).ask(q)
    assert len(default.citations) == 2 and quotes(strict) == quotes(default)[:1]


def test_answer_standout(hashing_article):
    q = "What would sending laborers to Russia provide North Korea with?"
    default = hashing_article.ask(q)
    gather = variant(hashing_article, answer={"standout": 5.0}).ask(q)
    assert len(default.citations) == 1 and quotes(default)[0].startswith("Labor Exports")  # far ahead: alone
    assert len(gather.citations) >= 2 and quotes(gather)[0].startswith("Labor Exports")  # the list's items


def test_answer_list_floor(hashing_article):
    q = "What would North Korea get in return for its natural resources?"
    default = hashing_article.ask(q)
    high = variant(hashing_article, answer={"list_floor": 0.9}).ask(q)
    assert len(default.citations) == 3 and len(high.citations) == 1
    assert quotes(high)[0] in quotes(default)


HARBOUR = ("# The Harbour\n\nThe town lies by the sea.\n\n## Piers\n\nThe works were done in stages:\n\n"
           "- North pier: the harbour rebuilt it in 1990.\n"
           "- South pier: the harbour rebuilt it for the fishing boats.\n"
           "- East pier: the harbour rebuilt it for the cargo ships.\n\n"
           "Visitors walk there on Sundays.\n")


def test_answer_kind_penalty(tmp_path, hashing_article):
    """A sentence lacking the kind of fact asked for scores this share of its support: list items
    without the year asked for are gathered only when not discounted away."""
    harbour = build(tmp_path, {"harbour.md": HARBOUR})
    q = "Which piers did the harbour rebuild, and in what year?"
    default = harbour.ask(q)
    kept = variant(harbour, answer={"kind_penalty": 1.0}).ask(q)
    assert quotes(default)[0] == "North pier: the harbour rebuilt it in 1990."
    assert not any(t.startswith("East pier") for t in quotes(default))
    assert [t.split(":")[0] for t in quotes(kept)] == ["North pier", "South pier", "East pier"]
    # and an abstention for want of a number reports the support of the best sentence, not zero
    q = "How many artillery shells has North Korea sent to Russia?"
    assert hashing_article.ask(q).confidence == 0.0
    undiscounted = variant(hashing_article, answer={"kind_penalty": 1.0}).ask(q)
    assert undiscounted.abstained and undiscounted.confidence > 0.3


def test_answer_kind_margin(hashing_article):
    q = "In what year did North Korea start supplying artillery shells to Russia?"
    default = hashing_article.ask(q)
    no_margin = variant(hashing_article, answer={"kind_margin": 0.0}).ask(q)
    assert default.abstained and "gives no date" in default.text
    # a much weaker sentence that holds a year (about something else) now stands in
    assert not no_margin.abstained and "1991" in quotes(no_margin)[0] and "artillery" not in quotes(no_margin)[0]


def test_answer_short_quote(hashing_article):
    q = "What is the regional stability and alliances section about?"
    default = hashing_article.ask(q)
    never = variant(hashing_article, answer={"short_quote": 0}).ask(q)
    i = quotes(default).index("China’s stance is also crucial.")
    assert quotes(default)[i + 1].startswith("While Beijing")  # the short quote brings the next sentence
    assert "China’s stance is also crucial." in quotes(never)
    assert not any(t.startswith("While Beijing") for t in quotes(never))


def test_answer_related(hashing_article):
    q = "How do I bake sourdough bread at home?"
    default = hashing_article.ask(q)
    one = variant(hashing_article, answer={"related": 1}).ask(q)
    assert default.abstained and one.abstained
    assert len(default.related) == 3 and one.related == default.related[:1]


# ---------------------------------------------------------------- answers, with a judge


@pytest.fixture
def judged(hashing_article, tiny):
    """The article with the tiny random judge (and the decision beside it: confidence = its probability).
    Function-scoped: the int8 judge file is written to the test's private cache folder, never ~/.cache."""
    return variant(hashing_article, answer={"judge": str(tiny), "ranker": str(tiny)})


def the_judge(a: Assistant):
    """The `Judge` an assistant answers with (None without one), wherever the assistant keeps it."""
    from assistant.judge import Judge

    for part in vars(a).values():
        for value in getattr(part, "__dict__", {}).values():
            if isinstance(value, Judge):
                return value
    return None


def test_answer_judge(hashing_article, tiny):
    q = "What meeting took place shortly before Lavrov's trip?"
    judged = variant(hashing_article, answer={"judge": str(tiny), "ranker": str(tiny)})
    assert the_judge(hashing_article) is None and the_judge(judged) is not None
    rules, judge = hashing_article.ask(q), judged.ask(q)
    assert rules.abstained and rules.confidence < 0.3  # the rules alone decline
    assert not judge.abstained and judge.confidence > 0.9  # this (random) judge answers


def test_answer_judge_orders(judged):
    q = "Who is the Russian foreign minister mentioned in the article?"
    default = judged.retrieve(q)
    ordered = variant(judged, answer={"judge_orders": True}).retrieve(q)
    assert sorted(ids(ordered)) == sorted(ids(default)) and ids(ordered) != ids(default)


def counted_reads(monkeypatch) -> list[int]:
    """How many sentences each judge pass reads from now on (a list that grows)."""
    from assistant.judge import Judge

    read, judge = [], Judge.judge

    def counting(self, question, segments):
        read.append(len(segments))
        return judge(self, question, segments)

    monkeypatch.setattr(Judge, "judge", counting)
    return read


def test_answer_rerank(judged, monkeypatch):
    q = "Who is the Russian foreign minister mentioned in the article?"
    plain = variant(judged, answer={"rerank": False})
    read = counted_reads(monkeypatch)
    judged.ask(q), plain.ask(q)
    assert read == [8, 2, 2]  # the ranker reads its eight candidates, then the judge two; without it, the judge alone
    order = [s.rank for c in plain.retriever.search(plain.resolve(q, None), 5) for s in c.sentences]
    assert all(r is None for r in order)  # the retriever's own scores are left as they were
    assert ids(plain.retrieve(q)) == [plain.index.chunks[c.index].chunk_id  # retrieval's order
                                      for c in plain.retriever.search(plain.resolve(q, None), 5)]
    assert len(judged.retrieve(q, k=3)) == 3


def test_answer_rerank_reads(judged, monkeypatch):
    q = "Who is the Russian foreign minister mentioned in the article?"
    fewer = variant(judged, answer={"rerank_reads": 4})
    read = counted_reads(monkeypatch)
    judged.ask(q), fewer.ask(q)
    assert read == [judged.decider.ranker.reads, 2, 4, 2]  # the ranker's own choice (in its judge.json), then four


def test_answer_rerank_passages(judged):
    q = "Who is the Russian foreign minister mentioned in the article?"
    wide = variant(judged, answer={"rerank_passages": 40})
    assert judged.pool(5) == 20 and wide.pool(5) == 40 and wide.pool(45) == 45
    assert len(wide.ask(q).passages) == len(judged.ask(q).passages) == 5  # ordered among more, the best five kept


def test_answer_ranker(judged, tiny, tmp_path):
    from index.errors import ModelError

    assert judged.decider.ranker.judge.meta["sha256"] == json.loads((tiny / "judge.json").read_text())["sha256"]
    with pytest.raises(ModelError, match="ranker file .* is missing: .*assistant judge ranker"):
        Assistant(judged.index, judged.settings.with_(answer={"ranker": str(tmp_path / "nowhere")}))


@pytest.mark.slow  # about a second: `make test` runs it, `make check` does not
def test_answer_judge_runtime(judged):
    q = "Which war is Kim's backing of Russia linked to?"
    int8 = judged.ask(q)
    exact = variant(judged, answer={"judge_runtime": "float32"})
    assert the_judge(exact) is not the_judge(judged)
    assert abs(exact.ask(q).confidence - int8.confidence) > 1e-4  # int8 reads within a few hundredths


@pytest.mark.slow  # about a second: `make test` runs it, `make check` does not
def test_answer_judge_threads(judged):
    """The threads of one int8 judge pass: what it answers stays the same by design."""
    one = variant(judged, answer={"judge_threads": 1})

    def threads(a):
        return the_judge(a).model.runner.session.get_session_options().intra_op_num_threads

    assert threads(judged) == 0 and threads(one) == 1  # 0: ONNX Runtime's choice


def test_answer_judge_candidates(judged, monkeypatch):
    q = "Who is the Russian foreign minister mentioned in the article?"
    more = variant(judged, answer={"judge_candidates": 8})
    read = counted_reads(monkeypatch)
    default, eight = judged.ask(q), more.ask(q)
    assert read == [8, 2, 8, 8]  # the ranker's eight, then the sentences the judge read for the question
    assert eight.confidence != default.confidence


def test_answer_decision(judged, tmp_path):
    q = "Which city did Lavrov visit?"
    decision = tmp_path / "decision.json"
    decision.write_text(json.dumps({"features": ["support"], "mean": [0.0], "scale": [1.0], "weights": [0.0],
                                    "bias": -5.0, "threshold": 0.5}))  # declines everything
    assert not judged.ask(q).abstained
    declined = variant(judged, answer={"decision": str(decision)}).ask(q)
    assert declined.abstained and declined.confidence < 0.01


def test_answer_decline_below(judged):
    q = "Which city did Lavrov visit?"
    default = judged.ask(q)
    strict = variant(judged, answer={"decline_below": 1.0}).ask(q)
    assert not default.abstained and strict.abstained and strict.confidence == default.confidence


# ---------------------------------------------------------------- limits and uploads


def test_limits_max_question_chars(hashing_article):
    q = "What does North Korea seek from Russia in exchange for its support?"
    assert len(q) > 50 and not hashing_article.ask(q).abstained
    short = variant(hashing_article, limits={"max_question_chars": 50})
    with pytest.raises(InvalidQuestion, match="the limit is 50"):
        short.ask(q)
    with pytest.raises(InvalidQuestion, match="the limit is 50"):
        short.retrieve(q)


def test_limits_max_history(hashing_article):
    history = ["What does North Korea seek from Russia?", "and militarily?"]
    default = hashing_article.ask("and economically?", history=history)
    last_only = variant(hashing_article, limits={"max_history": 1}).ask("and economically?", history=history)
    assert default.query == "What does North Korea seek from Russia? and militarily? and economically?"
    assert last_only.query == "and militarily? and economically?"  # the first turn is no longer read


def _library(tmp_path, **uploads):
    from assistant.library import Library

    a = build(tmp_path, {"one.txt": "One\n\nApples grow on trees in the orchard.\n"})
    upload = tmp_path / "pears.txt"
    upload.write_text("Pears\n\nPears grow on trees too, and ripen in autumn.\n", encoding="utf-8")
    settings = a.settings.with_(uploads=uploads) if uploads else a.settings
    return Library(a.index.folder, settings).add([("pears.txt", upload)]), upload.stat().st_size


@pytest.mark.parametrize("field", ["max_file_bytes", "max_total_bytes"])
def test_uploads_caps(tmp_path, field):
    accepted, size = _library(tmp_path / "default")
    assert accepted.added == ["pears.txt"] and not accepted.refused
    assert getattr(UploadSettings(), field) > size
    refused, _ = _library(tmp_path / "capped", **{field: size - 1})
    assert refused.added == [] and len(refused.refused) == 1
    assert ("limit per file" if field == "max_file_bytes" else "limit in total") in refused.refused[0].reason


# ---------------------------------------------------------------- the index


def test_index_model(tmp_path):
    files = {"tea.txt": "Tea\n\nGreen tea comes from China.\n"}
    default = build(tmp_path, files)
    small = build(tmp_path, files, model="hashing-64")
    assert default.index.manifest.model.dim == 256 and small.index.manifest.model.dim == 64
    assert small.embedder.dim == 64 and small.index.embeddings.shape[1] == 64


def test_index_faiss(tmp_path):
    import faiss

    files = {"tea.txt": "Tea\n\nGreen tea comes from China.\n"}
    default, hnsw = build(tmp_path, files), build(tmp_path, files, faiss="HNSW16")
    assert default.info().faiss == "Flat" and hnsw.info().faiss == "HNSW16"
    assert isinstance(faiss.downcast_index(hnsw.index.faiss_index), faiss.IndexHNSWFlat)
    assert not isinstance(faiss.downcast_index(default.index.faiss_index), faiss.IndexHNSWFlat)


def test_index_faiss_params(tmp_path):
    import faiss

    files = {"tea.txt": "Tea\n\nGreen tea comes from China.\n"}
    default = build(tmp_path, files, faiss="HNSW16")
    tuned = build(tmp_path, files, faiss="HNSW16", faiss_params="efSearch=77")
    assert faiss.downcast_index(default.index.faiss_index).hnsw.efSearch != 77
    assert faiss.downcast_index(tuned.index.faiss_index).hnsw.efSearch == 77


def test_index_embed_section(tmp_path):
    files = {"v.md": "# Volcanoes\n\nMount Fuji is in Japan.\n\n# Tea\n\nGreen tea comes from China.\n"}
    default, bare = build(tmp_path, files), build(tmp_path, files, embed_section=False)
    row = next(i for i in range(len(default.index.sentence_doc)) if "Fuji" in default.index.sentence_text(i))
    vector = default.embedder.embed_query("volcanoes")
    assert float(default.index.embeddings[row] @ vector) > 0.3  # the section title is embedded with it
    assert float(bare.index.embeddings[row] @ vector) == 0.0
    assert default.retrieve("volcanoes", k=1)[0].score > bare.retrieve("volcanoes", k=1)[0].score


CHUNKER_DOC = ("Chunks\n\n"
               + " ".join(f"Fact {i} is about apples and pears grown in the valley of the river." for i in range(12))
               + "\n\nThe orchard grows these fruits:\n\n"
               + "".join(f"  • Fruit {i}: a fruit of the valley, picked in the autumn and sold at the market.\n"
                         for i in range(5))
               + "\nThe longest sentence " + " ".join(["goes on and on"] * 25) + ".\n")


@pytest.mark.parametrize("field, value", [("max_chars", 200), ("max_list_chars", 200), ("overlap", 0),
                                          ("max_sentence_chars", 100)])
def test_index_chunker(tmp_path, field, value):
    default = build(tmp_path, {"doc.txt": CHUNKER_DOC})
    changed = build(tmp_path, {"doc.txt": CHUNKER_DOC}, chunker={field: value})
    d, c = default.index, changed.index
    if field == "max_sentence_chars":
        assert max(len(d.sentence_text(i)) for i in range(len(d.sentence_doc))) > value
        assert max(len(c.sentence_text(i)) for i in range(len(c.sentence_doc))) <= value
        return
    if field == "overlap":
        def shared(chunks):
            return sum(max(0, min(a.end, b.end) - max(a.start, b.start)) for a, b in zip(chunks, chunks[1:]))

        assert shared(d.chunks) > 0 and shared(c.chunks) == 0
        return
    listed = [ch for ch in d.chunks if "Fruit" in ch.text]
    if field == "max_list_chars":
        intro = "The orchard grows these fruits:"
        # the list with its introduction, in one passage (longer than max_chars: only max_list_chars lets it be)
        assert len(listed) == 1 and listed[0].text.startswith(intro) and "Fruit 4" in listed[0].text
        assert len(listed[0].text) > d.manifest.chunker.max_chars
        assert not any(intro in ch.text and "Fruit" in ch.text for ch in c.chunks)  # cut from its list
        assert [ch.text for ch in c.chunks if "Fact" in ch.text] == [ch.text for ch in d.chunks if "Fact" in ch.text]
        return
    facts = [ch for ch in d.chunks if "Fact" in ch.text]
    assert max(len(ch.text) for ch in facts) > value
    assert max(len(ch.text) for ch in c.chunks if "Fact" in ch.text) <= value
    assert len([ch for ch in c.chunks if "Fact" in ch.text]) > len(facts)


def test_index_limits(tmp_path):
    """What one build reads: through `Settings.index.limits` (each limit's own check is tested in
    test_loading_pdf.py, see SETTING_TESTS)."""
    files = {"small.txt": "Small\n\nApples grow on trees.\n", "big.txt": "Big\n\n" + "Pears grow on trees. " * 40}
    default = build(tmp_path, files)
    capped = build(tmp_path, files, limits={"max_file_bytes": 200})
    assert sorted(default.index.documents) == ["big.txt", "small.txt"] and not default.index.manifest.problems
    assert sorted(capped.index.documents) == ["small.txt"]
    assert len(capped.index.manifest.problems) == 1 and "big.txt" in capped.index.manifest.problems[0]


def test_index_limits_max_compression_ratio(tmp_path):
    from index import DocumentError, load_document

    path = tmp_path / "packed.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<w/>")
        z.writestr("word/fill.xml", b"\0" * 2 * 2**20)  # about 1000:1
    default = Settings().index.limits
    with pytest.raises(DocumentError, match=r"compressed \d+:1, over the 200:1 limit"):
        load_document(path, limits=default)
    lenient = Settings().with_(index={"limits": {"max_compression_ratio": 100_000}}).index.limits
    with pytest.raises(DocumentError) as err:  # past the ratio check, refused as what it is
        load_document(path, limits=lenient)
    assert "compressed" not in str(err.value)


# ---------------------------------------------------------------- every setting has its test

# field -> the test showing that changing it changes something: a test of this file (a
# parametrized case in brackets) or `tests/FILE.py::test` for one elsewhere.
SETTING_TESTS = {
    "retrieval.k": "test_retrieval_k_is_how_many_passages_retrieve_gives",
    "retrieval.candidates": "test_retrieval_candidates_limits_the_passages_considered",
    "retrieval.section_weight": "test_retrieval_section_weight_counts_question_words_found_in_a_section_title",
    "retrieval.sentence_weight": "test_retrieval_sentence_weight_mixes_word_coverage_into_a_sentence_score",
    "retrieval.section_bonus": "test_retrieval_section_bonus_lifts_the_part_a_question_points_at",
    "retrieval.cause_bonus": "test_retrieval_cause_bonus_lifts_sentences_that_word_a_reason",
    "retrieval.intro_factor": "test_retrieval_intro_factor_discounts_a_sentence_that_only_introduces_a_list",
    "retrieval.head_bonus": "tests/test_retrieval.py::test_an_option_is_a_term_and_its_own_entry_comes_first",
    "retrieval.head_context": "tests/test_retrieval.py::test_a_description_is_also_read_with_its_entrys_term",
    "retrieval.head_window": "tests/test_retrieval.py::test_an_entry_term_reaches_the_sentences_below_it_within_the_head_window",
    "retrieval.passage_weight": "test_retrieval_passage_weight_adds_the_whole_passages_similarity",
    "retrieval.duplicate_overlap": "test_retrieval_duplicate_overlap_drops_passages_repeating_a_better_one",
    "retrieval.query_runtime": "test_retrieval_query_runtime_chooses_how_the_question_is_embedded",
    "answer.max_quotes": "test_answer_max_quotes",
    "answer.max_list_quotes": "test_answer_max_list_quotes",
    "answer.passages": "test_answer_passages",
    "answer.judge": "test_answer_judge",
    "answer.judge_orders": "test_answer_judge_orders",
    "answer.judge_runtime": "test_answer_judge_runtime",
    "answer.rerank": "test_answer_rerank",
    "answer.rerank_reads": "test_answer_rerank_reads",
    "answer.rerank_passages": "test_answer_rerank_passages",
    "answer.ranker": "test_answer_ranker",
    "answer.judge_threads": "test_answer_judge_threads",
    "answer.judge_candidates": "test_answer_judge_candidates",
    "answer.decision": "test_answer_decision",
    "answer.decline_below": "test_answer_decline_below",
    "answer.min_support": "test_answer_min_support",
    "answer.mmr_lambda": "test_answer_mmr_lambda",
    "answer.min_relative": "test_answer_min_relative",
    "answer.list_relative": "test_answer_list_relative",
    "answer.max_redundancy": "test_answer_max_redundancy",
    "answer.standout": "test_answer_standout",
    "answer.list_floor": "test_answer_list_floor",
    "answer.kind_penalty": "test_answer_kind_penalty",
    "answer.kind_margin": "test_answer_kind_margin",
    "answer.judge_second": "tests/test_answering.py::test_the_judges_choice_is_quoted_second_when_retrieval_passed_it_over",
    "answer.short_quote": "test_answer_short_quote",
    "answer.related": "test_answer_related",
    "limits.max_question_chars": "test_limits_max_question_chars",
    "limits.max_history": "test_limits_max_history",
    "uploads.max_file_bytes": "test_uploads_caps[max_file_bytes]",
    "uploads.max_total_bytes": "test_uploads_caps[max_total_bytes]",
    "index.model": "test_index_model",
    "index.faiss": "test_index_faiss",
    "index.faiss_params": "test_index_faiss_params",
    "index.store": "tests/test_milvus.py::test_the_same_citations_through_milvus_as_through_faiss_flat",
    "index.embed_section": "test_index_embed_section",
    "index.embed_runtime": "tests/test_fastbert.py::test_an_int8_build_is_marked_and_never_mixed_with_a_float32_one",
    "index.chunker.max_chars": "test_index_chunker[max_chars-200]",
    "index.chunker.max_list_chars": "test_index_chunker[max_list_chars-200]",
    "index.chunker.overlap": "test_index_chunker[overlap-0]",
    "index.chunker.max_sentence_chars": "test_index_chunker[max_sentence_chars-100]",
    "index.limits.max_file_bytes": "test_index_limits",
    "index.limits.max_total_bytes": "tests/test_loading_pdf.py::test_limits_per_file_and_per_build",
    "index.limits.max_unpacked_bytes": "tests/test_loading_pdf.py::test_zip_bombs_are_refused_before_anything_is_unpacked",
    "index.limits.max_compression_ratio": "test_index_limits_max_compression_ratio",
    "index.limits.max_zip_members": "tests/test_loading_pdf.py::test_zip_bombs_are_refused_before_anything_is_unpacked",
    "index.limits.max_pdf_pages": "tests/test_loading_pdf.py::test_a_pdf_with_more_pages_than_the_limit_is_refused_in_one_line",
}

GROUPS = {"index": IndexSettings, "retrieval": RetrievalSettings, "answer": AnswerSettings, "limits": LimitSettings,
          "uploads": UploadSettings}


def _fields(prefix: str, model: type[BaseModel]) -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out += _fields(f"{prefix}.{name}", kind)  # a nested group (index.chunker, index.limits): its fields
        else:
            out.append(f"{prefix}.{name}")
    return out


def test_every_setting_has_a_test_that_changes_it():
    fields = [f for group, model in GROUPS.items() for f in _fields(group, model)]
    assert set(Settings.model_fields) == set(GROUPS)  # a new group needs its line in GROUPS
    missing = [f for f in fields if f not in SETTING_TESTS]
    assert not missing, f"settings without a test showing their effect (add one to SETTING_TESTS): {missing}"
    assert not set(SETTING_TESTS) - set(fields), "SETTING_TESTS names settings that no longer exist"
    here = TESTS / Path(__file__).name
    for field, test in SETTING_TESTS.items():
        path, _, name = test.rpartition("::")
        source = (TESTS.parent / path) if path else here
        function = re.sub(r"\[.*\]$", "", name)
        assert source.is_file() and f"def {function}(" in source.read_text(encoding="utf-8"), \
            f"{field}: no {function} in {source}"
        if "[" in name:
            assert name[len(function) + 1:-1].split("-")[0] in source.read_text(encoding="utf-8")
