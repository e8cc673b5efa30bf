"""Hybrid retrieval on the fake embedder: exact scores, fusion, section targets, duplicates, typos."""

from __future__ import annotations

import math
import shutil

import pytest

from assistant import Assistant, Settings
from assistant.question import make_query
from index import HashingEmbedder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tiny_corpus):
    return Assistant.from_paths([tiny_corpus], tmp_path_factory.mktemp("tiny"),
                                Settings().with_(index={"model": "hashing"}, answer={"judge": "none"}), progress=False)


def test_fake_embedder_is_exact():
    e = HashingEmbedder(dim=64)
    a, b, c = e.embed(["green tea", "tea green", "black coffee"])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-6)
    assert float(a @ a) == pytest.approx(1.0, abs=1e-6)
    assert e.embed(["the of and"]).sum() == 0  # function words only: the zero vector


def test_lexical_score_is_the_idf_weighted_share_of_question_words(tiny):
    r = tiny.retriever
    q = make_query("green tea temperature")
    row = next(i for i in range(len(tiny.index.sentence_doc)) if tiny.index.sentence_text(i).startswith("Green tea: water"))
    # "green" and "tea" are in the sentence; "temperature" only in the chunk's section intro, not its section title
    idf = {t: r.idf(t) for t in ("green", "tea", "temperatur")}
    expected = (idf["green"] + idf["tea"]) / sum(idf.values())
    assert r.lexical(q, row, "Brewing") == pytest.approx(expected)
    assert r.idf("never-seen") == pytest.approx(math.log(1 + (r.n_chunks + 0.5) / 0.5))


def test_sentence_score_mixes_cosine_and_coverage(tiny):
    w = tiny.settings.retrieval.sentence_weight
    assert tiny.retriever.sentence_score(0.5, 1.0) == pytest.approx((0.5 + w) / (1 + w))


def test_best_sentence_decides_the_first_passage(tiny):
    passages = tiny.retrieve("Which volcano is in Japan?", k=3)
    assert passages[0].doc_id == "volcanoes.html" and "Mount Fuji" in passages[0].text


def test_a_named_section_is_found(tiny):
    passages = tiny.retrieve("maintenance", k=2)
    assert passages[0].section == "Maintenance"


def test_passages_a_question_points_at_are_marked(tiny):
    marked = [c for c in tiny.retriever.search(tiny.resolve("maintenance", None), 5) if c.targeted]
    assert marked and all(tiny.index.chunks[c.index].section == "Maintenance" for c in marked)
    assert not any(c.targeted for c in tiny.retriever.search(tiny.resolve("Which volcano is in Japan?", None), 5))


def test_typos_are_corrected_against_the_corpus(tiny):
    assert tiny.retriever.correct("bicycle maintenance and tyre presure") == "bicycle maintenance and tyre pressure"
    assert tiny.retriever.correct("what is the weather in Paris") == "what is the weather in Paris"  # real words stay
    assert tiny.retrieve("stratovolcanos in japen", k=1)[0].doc_id == "volcanoes.html"


def test_duplicate_documents_are_not_returned_twice(tmp_path, tiny_corpus):
    docs = tmp_path / "docs"
    shutil.copytree(tiny_corpus, docs)
    shutil.copy(docs / "tea.txt", docs / "tea-copy.txt")
    a = Assistant.from_paths([docs], tmp_path / "idx", Settings().with_(index={"model": "hashing"}, answer={"judge": "none"}), progress=False)
    texts = [p.text for p in a.retrieve("black tea oxidised", k=6)]
    assert len(texts) == len(set(texts))


def test_overlapping_pieces_of_one_paragraph_are_not_returned_twice(tmp_path):
    doc = tmp_path / "long.txt"
    doc.write_text("Long\n\n" + " ".join(f"Fact {i} is about apples and pears number {i}." for i in range(60)), encoding="utf-8")
    s = Settings().with_(index={"model": "hashing", "chunker": {"max_chars": 200, "overlap": 1, "max_sentence_chars": 600}},
                         answer={"judge": "none"})
    a = Assistant.from_paths([doc], tmp_path / "idx", s, progress=False)
    passages = a.retrieve("apples and pears", k=10)
    spans = [(p.start, p.end) for p in passages]
    for i, (s1, e1) in enumerate(spans):
        for s2, e2 in spans[i + 1:]:
            overlap = min(e1, e2) - max(s1, s2)
            assert overlap <= 0.6 * min(e1 - s1, e2 - s2)


def test_a_why_question_lifts_sentences_that_word_a_reason(hashing_article):
    from assistant.retrieval import Retriever

    def scores(question, bonus):
        r = Retriever(hashing_article.index, hashing_article.embedder,
                      hashing_article.settings.retrieval.model_copy(update={"cause_bonus": bonus}))
        return {s.index: s.score for c in r.search(make_query(question), 30) for s in c.sentences}

    idx = hashing_article.index
    cause = next(i for i in range(len(idx.sentence_doc)) if "rooted in" in idx.sentence_text(i))
    plain = next(i for i in range(len(idx.sentence_doc)) if idx.sentence_text(i).startswith("China’s stance"))
    why = "Why does Kim Jong-un support Russia so firmly?"
    with_bonus, without = scores(why, 0.05), scores(why, 0.0)
    assert with_bonus[cause] == pytest.approx(without[cause] + 0.05)
    assert with_bonus[plain] == pytest.approx(without[plain])
    what = "What is Kim Jong-un's support for Russia like?"
    assert scores(what, 0.05)[cause] == pytest.approx(scores(what, 0.0)[cause])  # no reason asked for


@pytest.mark.parametrize("question", ["Why does Kim Jong-un support Russia?", "What does the conclusion say?",
                                      "Lavrov visit Moscow", "sanctions"])
def test_no_two_passages_are_ranked_by_the_same_sentence(hashing_article, question):
    ranked = hashing_article.retriever.search(make_query(question), 10)
    best = [c.best.index for c in ranked]
    assert len(best) == len(set(best)) and len(ranked) == 10


def test_a_documents_filter_searches_only_those_documents(tiny):
    question = "Which volcano is in Japan?"
    assert tiny.retrieve(question, k=3)[0].doc_id == "volcanoes.html"
    only_tea = tiny.retrieve(question, k=5, documents=["tea.txt"])
    assert only_tea and {p.doc_id for p in only_tea} == {"tea.txt"}
    two = tiny.retrieve(question, k=10, documents=["tea.txt", "bicycles.md"])
    assert {p.doc_id for p in two} <= {"tea.txt", "bicycles.md"} and len({p.doc_id for p in two}) == 2
    answer = tiny.ask(question, documents=["tea.txt"])
    assert {c.doc_id for c in answer.citations} | {p.doc_id for p in answer.passages} == {"tea.txt"}
    everything = sorted(tiny.index.documents)
    assert ([p.chunk_id for p in tiny.retrieve(question, k=3, documents=everything)]
            == [p.chunk_id for p in tiny.retrieve(question, k=3)])


@pytest.mark.parametrize("documents, message", [
    ([], "documents is empty"), (["nope.txt"], "no document 'nope.txt'"), ("tea.txt", "list of doc_ids"),
])
def test_a_bad_documents_filter_is_refused_in_one_line(tiny, documents, message):
    from assistant.errors import AssistantError

    with pytest.raises(AssistantError, match=message):
        tiny.ask("Which volcano is in Japan?", documents=documents)


MAN_PAGE = """TOOL(1)                        User Commands                        TOOL(1)

OPTIONS
       -w, --word-regexp
              Select only those lines containing matches that form whole
              words.

              This option has no effect if -x is also specified.

       -x, --line-regexp
              Select only those matches that exactly match the whole line.

       -c, --count
              Suppress normal output; instead print a count of matching lines.
"""


@pytest.mark.parametrize("bonus", [0.0, 0.25])
def test_an_option_is_a_term_and_its_own_entry_comes_first(tmp_path, bonus):
    doc = tmp_path / "tool.1.txt"
    doc.write_text(MAN_PAGE, encoding="utf-8")
    s = Settings().with_(index={"model": "hashing"}, answer={"judge": "none"}, retrieval={"head_bonus": bonus})
    a = Assistant.from_paths([doc], tmp_path / "idx", s, progress=False)
    assert a.resolve("What does -x do?", None).terms == {"-x": 1.0}  # one letter, yet searched
    first = a.retrieve("What does -x do?", k=3)[0].text
    # the entry of -x, not the passage that only mentions it, once the entry's term counts
    assert ("--line-regexp" in first) == (bonus > 0)


def test_an_entry_term_reaches_the_sentences_below_it_within_the_head_window(tmp_path):
    doc = tmp_path / "api.txt"
    doc.write_text("Sniffer\n\nhas_header(sample)\n\nAnalyze the sample text and guess.\n\n"
                   "It reads columns one by one.\n\nTwenty rows after the first row are sampled.\n", encoding="utf-8")
    heads = {}
    for window in (1, 6):
        s = Settings().with_(index={"model": "hashing"}, answer={"judge": "none"}, retrieval={"head_window": window})
        a = Assistant.from_paths([doc], tmp_path / f"idx{window}", s, progress=False)
        idx = a.index
        last = next(i for i in range(len(idx.sentence_doc)) if idx.sentence_text(i).startswith("Twenty"))
        term = next(i for i in range(len(idx.sentence_doc)) if idx.sentence_text(i).startswith("has_header"))
        assert a.retriever.head(term) == (frozenset({"has_head", "sampl"}), True)  # the bare term: its own entry
        heads[window] = a.retriever.head(last)[0]
    assert heads == {1: frozenset(), 6: frozenset({"has_head", "sampl"})}


@pytest.mark.parametrize("context", [False, True])
def test_a_description_is_also_read_with_its_entrys_term(tmp_path, context):
    doc = tmp_path / "api.txt"
    doc.write_text("Sniffer\n\nhas_header(sample)\n\nTwenty rows after the first row are sampled.\n", encoding="utf-8")
    s = Settings().with_(index={"model": "hashing"}, answer={"judge": "none"}, retrieval={"head_context": context})
    a = Assistant.from_paths([doc], tmp_path / "idx", s, progress=False)
    idx = a.index
    row = next(i for i in range(len(idx.sentence_doc)) if idx.sentence_text(i).startswith("Twenty"))
    q = a.resolve("what does has_header decide", None)
    dense = {x.index: x.dense for c in a.retriever.search(q, 5) for x in c.sentences}
    own = float(idx.embeddings[row] @ a.embedder.embed_query(q.text))
    assert a.retriever.head_row(row) == row - 1
    # the description alone shares no word with the question; read with "has_header(sample)" it does
    assert (dense[row] > own + 0.1) == context
