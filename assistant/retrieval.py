"""Finds the passages, and inside them the sentences, that best match a question.

Hybrid: dense sentence vectors (the index's vector store: FAISS or Milvus) and BM25 over
passages (bm25s, with stemming) each bring `candidates` passages; every passage of either list is then scored by one
formula (`Retriever.search`): its best sentence's score, which mixes the sentence's
cosine similarity with how much of the question's (IDF-weighted) vocabulary it and its
section title cover, plus the similarity of the passage as a whole. The answer judge
(`assistant.judge`) may re-order the result by what actually answers, and the passage
ranker (`assistant.rerank`, `answer.rerank`) does by default.
Passages that mostly repeat a better one (overlapping pieces, duplicate files) are
dropped. Everything here is deterministic and fast on a CPU; the learned ranker runs in
`Decider.read`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from index import Embedder, LoadedIndex

from .settings import RetrievalSettings
from .question import Query, states_cause
from .text import Speller, content_terms, entry_term


@dataclass
class ScoredSentence:
    index: int  # row in the index's sentence table
    dense: float
    lexical: float
    score: float
    rank: float | None = None  # the passage ranker's score (`answer.rerank`, `rerank.order`), when it ran


@dataclass
class ScoredChunk:
    index: int  # position in LoadedIndex.chunks
    score: float
    best: ScoredSentence
    sentences: list[ScoredSentence] = field(default_factory=list)
    targeted: bool = False  # the question points at this passage (its section by name, or by position)


class Retriever:
    """Hybrid retrieval over one loaded index."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, settings: RetrievalSettings | None = None):
        import bm25s

        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        chunk_terms = [content_terms(f"{c.section}\n{c.text}") for c in index.chunks]
        self.bm25 = bm25s.BM25()
        if chunk_terms:
            self.bm25.index([t or [""] for t in chunk_terms], show_progress=False)
        n = max(len(chunk_terms), 1)
        df: dict[str, int] = {}
        for terms in chunk_terms:
            for t in set(terms):
                df[t] = df.get(t, 0) + 1
        self.df = df
        self.n_chunks = n
        self._sentence_terms: dict[int, frozenset[str]] = {}
        self._section_terms: dict[str, frozenset[str]] = {}
        self._heads: dict[int, tuple[frozenset[str], bool, int]] = {}
        self.speller = Speller.from_texts([c.section for c in index.chunks] + [c.text for c in index.chunks])
        # chunks of each document in reading order, and the section each chunk belongs to
        self.doc_chunks: dict[str, list[int]] = {}
        for ci, c in enumerate(index.chunks):
            self.doc_chunks.setdefault(c.doc_id, []).append(ci)

    def correct(self, question: str) -> str:
        """The question with misspelled words replaced by the corpus's nearest word."""
        return self.speller.correct(question)

    def targets(self, query: Query) -> set[int]:
        """Chunks the question points at by position ("the conclusion", "the last paragraph")
        or by naming their section ("what does the part on economic ramifications say")."""
        chunks = self.index.chunks
        out: set[int] = set()
        where, one = query.analysis.position, query.analysis.one_paragraph
        for ids in self.doc_chunks.values():
            if where is None or not ids:
                break
            edge = ids[0] if where == "start" else ids[-1]
            if one:
                out.add(edge)
            else:
                out.update(i for i in ids if chunks[i].section == chunks[edge].section)
        asked = {t for t, w in query.terms.items() if w >= 1.0}
        if asked:
            for ci, c in enumerate(chunks):
                sec = self.section_terms(c.section)
                # the section's title words are all asked for and make up most of the question; a
                # one-word title must be the whole question ("and maintenance?"), or any question
                # with the word "volcano" would point at a section called "Volcanoes"
                if sec and sec <= asked and len(sec) >= 0.5 * len(asked) and (len(sec) >= 2 or len(asked) == 1):
                    out.add(ci)
        return out

    def knows(self, term: str) -> bool:
        """Whether a content term (a stem, as `content_terms` makes it) occurs in any passage."""
        return term in self.df

    def idf(self, term: str) -> float:
        """BM25-style inverse document frequency over passages; unseen terms get the largest value."""
        df = self.df.get(term, 0)
        return math.log(1 + (self.n_chunks - df + 0.5) / (df + 0.5))

    def sentence_terms(self, i: int) -> frozenset[str]:
        terms = self._sentence_terms.get(i)
        if terms is None:
            terms = self._sentence_terms[i] = frozenset(content_terms(self.index.sentence_text(i)))
        return terms

    def section_terms(self, section: str) -> frozenset[str]:
        terms = self._section_terms.get(section)
        if terms is None:
            terms = self._section_terms[section] = frozenset(content_terms(section))
        return terms

    def term_weights(self, query: Query) -> dict[str, float]:
        """Each query term's weight times its IDF: what `lexical` adds up."""
        return {t: w * self.idf(t) for t, w in query.terms.items()}

    def lexical(self, query: Query, sentence: int, section: str, weights: dict[str, float] | None = None) -> float:
        """Share of the query's IDF-weighted terms found in the sentence (its section counts half).

        1.0 means every content word of the question is in the sentence. `weights` is
        `term_weights(query)`, passed in when many sentences are scored for one query.
        """
        weights = self.term_weights(query) if weights is None else weights
        total = sum(weights.values())
        if total <= 0:
            return 0.0
        own = self.sentence_terms(sentence)
        sec = self.section_terms(section)
        half = self.settings.section_weight
        got = sum(w if t in own else half * w if t in sec else 0.0 for t, w in weights.items())
        return got / total

    def head(self, row: int) -> tuple[frozenset[str], bool]:
        """The terms of the entry a sentence belongs to in a reference text, and whether the sentence
        is only that entry's term (`entry_term`): the nearest term line at or before it in its section
        (at most `head_window` sentences back), or nothing. Cached."""
        return self._head(row)[:2]

    def head_row(self, row: int) -> int:
        """The row of the sentence that is the term of this sentence's entry, when that term is a sentence
        of its own before this one (a function's signature above its description); -1 otherwise."""
        return self._head(row)[2]

    def _head(self, row: int) -> tuple[frozenset[str], bool, int]:
        got = self._heads.get(row)
        if got is None:
            idx = self.index
            got = (frozenset(), False, -1)
            doc, section = idx.sentence_doc[row], self._section_of(row)
            for back in range(row, max(row - self.settings.head_window, -1), -1):
                if idx.sentence_doc[back] != doc or self._section_of(back) != section:
                    break
                s, e = (int(x) for x in idx.sentence_span[back])
                term, alone = entry_term(idx.documents[doc], s, e)
                if term:
                    got = (frozenset(content_terms(term)), alone and back == row, back if alone and back < row else -1)
                    break
            self._heads[row] = got
        return got

    def _section_of(self, row: int) -> str:
        chunks = self.index.sentence_chunks[row]
        return self.index.chunks[chunks[0]].section if chunks else ""

    def sentence_score(self, dense: float, lexical: float) -> float:
        w = self.settings.sentence_weight
        return (dense + w * lexical) / (1 + w)

    def search(self, query: Query, k: int, documents: frozenset[str] | None = None) -> list[ScoredChunk]:
        """The `k` best passages, best first, each with its scored sentences; only passages of
        `documents` (doc_ids) when given."""
        idx = self.index
        if not idx.chunks or k <= 0:
            return []
        allowed = None if documents is None else {ci for d in documents for ci in self.doc_chunks.get(d, [])}
        if allowed is not None and not allowed:
            return []
        s = self.settings
        qv = self.embedder.embed_query(query.text).astype(np.float32)
        if query.follow_up:
            # Half the earlier turn for context, half the follow-up itself for its new focus.
            qv = qv + self.embedder.embed_query(query.question).astype(np.float32)
            qv /= float(np.linalg.norm(qv)) or 1.0
        n_sent = len(idx.sentence_doc)
        # Dense candidates: best sentences, rolled up to their passages by the best sentence.
        dense_rank: dict[int, int] = {}
        if n_sent:
            for sid in self._dense_sentences(qv, min(n_sent, max(s.candidates * 4, k * 4)), allowed):
                if not 0 <= sid < n_sent:
                    continue
                for ci in idx.sentence_chunks[sid]:
                    if ci not in dense_rank and (allowed is None or ci in allowed):
                        dense_rank[ci] = len(dense_rank)
                if len(dense_rank) >= s.candidates:
                    break
        # Lexical candidates: BM25 over passages (with their section titles).
        lex_rank: dict[int, int] = {}
        vocab = getattr(self.bm25, "vocab_dict", {})
        known = {t: w for t, w in query.terms.items() if t in vocab}
        if known:
            bm25 = sum(w * self.bm25.get_scores([t]).astype(np.float32) for t, w in known.items())
            if allowed is not None:
                keep = np.zeros(len(bm25), dtype=bool)
                keep[list(allowed)] = True
                bm25 = np.where(keep, bm25, 0.0)
            for ci in np.argsort(-bm25, kind="stable")[: s.candidates]:
                if bm25[ci] > 0:
                    lex_rank[int(ci)] = len(lex_rank)
        targets = self.targets(query)
        if allowed is not None:
            targets &= allowed
        candidates = set(dense_rank) | set(lex_rank) | targets
        weights = self.term_weights(query)
        total = sum(weights.values())
        why = s.cause_bonus if query.analysis.why else 0.0
        scored: list[ScoredChunk] = []
        for ci in candidates:
            chunk = idx.chunks[ci]
            sents = []
            rows = idx.chunk_sentences[ci]
            sims = idx.embeddings[rows] @ qv if rows else np.zeros(0)
            bonus = s.section_bonus if ci in targets else 0.0
            for row, sim in zip(rows, sims):
                if s.head_context and total:
                    above = self.head_row(row)
                    if above >= 0:  # the sentence read with its entry's term: a description names its subject rarely
                        v = idx.embeddings[row] + idx.embeddings[above]
                        sim = max(float(sim), float(v @ qv) / (float(np.linalg.norm(v)) or 1.0))
                lex = self.lexical(query, row, chunk.section, weights)
                score = self.sentence_score(float(sim), lex) + bonus
                text = idx.sentence_text(row)
                if why and states_cause(text):  # "why" is answered by a reason
                    score += why
                head, alone = self.head(row) if s.head_bonus and total else (frozenset(), False)
                if head:  # the question names the entry (an option, a function) this sentence describes
                    score += s.head_bonus * sum(w for t, w in weights.items() if t in head) / total
                if text.endswith(":") or alone:  # a list's introduction, or an entry's bare term, says little by itself
                    score *= s.intro_factor
                sents.append(ScoredSentence(row, float(sim), lex, score))
            if not sents:
                continue
            best = max(sents, key=lambda x: x.score)
            score = best.score
            if s.passage_weight and len(rows):
                centroid = idx.embeddings[rows].mean(axis=0)
                score += s.passage_weight * float(centroid @ qv) / (float(np.linalg.norm(centroid)) or 1.0)
            scored.append(ScoredChunk(ci, score, best, sents, ci in targets))
        scored.sort(key=lambda c: (-c.score, c.index))
        return self._drop_duplicates(scored, k)

    def _dense_sentences(self, qv: np.ndarray, want: int, allowed: set[int] | None) -> list[int]:
        """Sentence rows most similar to `qv`, best first: the vector store over everything (FAISS
        in the folder or Milvus, see index.vectors), or an exact scan of the allowed passages'
        sentences (a filter would starve the store's top list)."""
        idx = self.index
        if allowed is None:
            _, rows = idx.vectors.search(qv, want)
            return [int(i) for i in rows.tolist()]
        rows = np.array(sorted({r for ci in allowed for r in idx.chunk_sentences[ci]}), dtype=np.int64)
        if not len(rows):
            return []
        sims = idx.embeddings[rows] @ qv
        return [int(r) for r in rows[np.argsort(-sims, kind="stable")[:want]]]

    def _drop_duplicates(self, ranked: list[ScoredChunk], k: int) -> list[ScoredChunk]:
        """Skip passages mostly contained in a better one, or with the same text as one."""
        idx = self.index
        kept: list[ScoredChunk] = []
        seen_text: set[str] = set()
        seen_best: set[int] = set()  # overlapping passages ranked by the same sentence: the first says it
        for c in ranked:
            chunk = idx.chunks[c.index]
            norm = " ".join(chunk.text.lower().split())
            if norm in seen_text:
                continue
            length = max(chunk.end - chunk.start, 1)
            dup = False
            for other in kept:
                o = idx.chunks[other.index]
                if o.doc_id == chunk.doc_id:
                    overlap = min(o.end, chunk.end) - max(o.start, chunk.start)
                    if overlap > self.settings.duplicate_overlap * length:
                        dup = True
                        break
            if dup or c.best.index in seen_best:
                continue
            seen_best.add(c.best.index)
            seen_text.add(norm)
            kept.append(c)
            if len(kept) >= k:
                break
        return kept
