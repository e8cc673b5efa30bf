"""Turns scored passages into an answer made only of verified quotes, or an abstention.

The answer quotes whole sentences of the retrieved passages, each followed by the
marker `[n]` of its passage (passages numbered 1..N in order of first appearance).
Quotes are picked by maximal marginal relevance so they cover different parts of the
question; when the question asks for several things and the best evidence sits in a
bulleted list, the items of that list are gathered. The assistant abstains when the
best sentence's support is under the calibrated threshold, or when the question asks
for a kind of fact (a number, a date, a name, a place) that no candidate sentence holds.
`check_grounding` re-verifies every quote against the document before anything leaves.
No language model writes any text here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from index import LoadedIndex

from .errors import GroundingError
from .grounding import grounding_problems
from .judge import LOWERS, QUESTION_FLAGS, Decision, Judge, Judgement, segment
from .retrieval import Query, ScoredChunk, ScoredSentence
from .settings import AnswerSettings
from .question import STRUCTURE, Fact, Question, provides
from .text import content_terms, names
from .types import Answer, Citation, Passage

@dataclass
class Candidate:
    sentence: ScoredSentence
    chunk_rank: int  # position of the best-ranked retrieved passage that holds it
    chunk: int  # that passage's position in the index's chunks
    score: float  # what quotes are chosen by: support after the fact-kind check, or `answers` (answer.judge_orders)
    missing: set[Fact]  # facts the question asks for that the sentence does not hold
    judged: Judgement | None = None  # the judge's reading, for the sentences it read
    answers: float = 0.0  # the calibrated probability that the sentence answers (judged sentences only)


def to_passages(index: LoadedIndex, ranked: list[ScoredChunk]) -> list[Passage]:
    out = []
    for rank, c in enumerate(ranked, 1):
        chunk = index.chunks[c.index]
        out.append(Passage(chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, section=chunk.section, text=chunk.text,
                           start=chunk.start, end=chunk.end, page=chunk.page, score=round(float(c.score), 6), rank=rank))
    return out


def list_group(index: LoadedIndex, row: int) -> list[int]:
    """Rows of the bulleted list a sentence belongs to or introduces (empty when none).

    A list is a run of consecutive item sentences of one document; the sentence just
    before it introduces it when it ends with a colon.
    """
    n = len(index.sentence_doc)
    doc = index.sentence_doc[row]

    def is_item(i: int) -> bool:
        return 0 <= i < n and index.sentence_doc[i] == doc and bool(index.sentence_item[i])

    if is_item(row):
        first = row
    elif is_item(row + 1) and index.sentence_text(row).rstrip().endswith(":"):
        first = row + 1
    else:
        return []
    while is_item(first - 1):
        first -= 1
    last = first
    while is_item(last + 1):
        last += 1
    return list(range(first, last + 1))


class Answerer:
    def __init__(self, index: LoadedIndex, settings: AnswerSettings, judge: Judge | None = None,
                 decision: Decision | None = None, known: Callable[[str], bool] | None = None):
        self.index = index
        self.settings = settings
        self.judge = judge
        self.decision = decision
        self.known = known  # whether a word's stem occurs anywhere in the index (`Retriever.knows`)

    def about_the_document(self, question: Question, ranked: list[ScoredChunk]) -> bool:
        """Whether the question asks about a part of the document itself and brings no subject of
        its own ("What is the article about?", "Summarise the conclusion", "What does the section on
        economic ramifications say?"): it points at passages (by position or by their section's
        title) and each of its own words is a word of structure or of that section's title. The
        passages it points at answer it, whatever the judge reads: a document's opening is what it
        is about. "Summarise the French Revolution" brings a subject, and is decided as any question."""
        targets = [self.index.chunks[c.index].section for c in ranked if c.targeted]
        if not targets:
            return False
        titles = {t for section in targets for t in content_terms(section)}
        return all(t in titles or t in STRUCTURE for t in content_terms(question.text, drop_meta=True))

    def asks(self, question: Question, ranked: list[ScoredChunk]) -> dict[str, float]:
        """What the decision reads of the question itself (`question_flags`)."""
        unseen = self.known is not None and any(not self.known(t) for n in names(question.text)
                                                for t in content_terms(n))
        return question_flags(question, any(c.targeted for c in ranked), unseen)

    def judge_passages(self, query: Query, ranked: list[ScoredChunk]
                       ) -> tuple[list[ScoredChunk], dict[int, Judgement]]:
        """The judge's reading of the best candidate sentences (by retrieval score), in one batch,
        and, with `answer.judge_orders`, the passages re-ordered by their best judged sentence
        (unjudged ones keep their order, after)."""
        if self.judge is None or not ranked:
            return ranked, {}
        best, segments = self.judge_inputs(ranked)
        judged = dict(zip(best, self.judge.judge(query.text, segments)))
        if not self.settings.judge_orders:
            return ranked, judged
        top = {c.index: max((self.answers(judged[s.index], s) for s in c.sentences if s.index in judged), default=-1.0)
               for c in ranked}
        order = sorted(range(len(ranked)), key=lambda i: (-top[ranked[i].index], i))
        return [ranked[i] for i in order], judged

    def judge_inputs(self, ranked: list[ScoredChunk]) -> tuple[list[int], list[str]]:
        """The sentences the judge reads for these passages (the `answer.judge_candidates` best by
        retrieval score; rows of the index's sentence table) and what it reads of each (`segment`)."""
        rows: dict[int, tuple[float, str]] = {}
        for chunk in ranked:
            section = self.index.chunks[chunk.index].section
            for s in chunk.sentences:
                if s.index not in rows or rows[s.index][0] < s.score:
                    rows[s.index] = (s.score, section)
        best = sorted(rows, key=lambda r: (-rows[r][0], r))[: self.settings.judge_candidates]
        return best, [segment(rows[r][1], self.index.sentence_text(r)) for r in best]

    def answers(self, verdict: Judgement, s: ScoredSentence) -> float:
        """How likely a judged sentence answers: the calibrated sentence model over the judge's
        reading and the retrieval scores (the judge's own probability before calibration)."""
        if self.decision is None:
            return verdict.probability
        return self.decision.answers(sentence_features(verdict, s))

    def candidates(self, question: Question, ranked: list[ScoredChunk],
                   judged: dict[int, Judgement] | None = None) -> list[Candidate]:
        """Sentences of the retrieved passages with their support, best first (those lacking a kind
        of fact the question asks for after all the others). Judged sentences
        carry the judge's reading and the calibrated probability that they answer; with
        `answer.judge_orders` that probability is what they are ranked and chosen by (sentences
        the judge did not read then score 0)."""
        out: dict[int, Candidate] = {}
        judged = judged or {}
        for rank, chunk in enumerate(ranked):
            passage = self.index.chunks[chunk.index]
            for s in chunk.sentences:
                if s.index in out:
                    continue
                text = self.index.sentence_text(s.index)
                missing = {f for f in question.facts if not provides(text, f, question.text)}
                score = s.score * (self.settings.kind_penalty if missing else 1.0)
                verdict = judged.get(s.index)
                answers = self.answers(verdict, s) if verdict is not None else 0.0
                out[s.index] = Candidate(s, rank, chunk.index, score, missing, verdict, answers)
        return sorted(out.values(), key=lambda c: (bool(c.missing), -c.score, c.sentence.index))

    def rules_confidence(self, cands: list[Candidate]) -> float:
        """The support of the best sentence, or zero when the most relevant sentences lack the asked
        kind of fact and a clearly weaker one that has it would stand in (it is about something else)."""
        if not cands:
            return 0.0
        top = max(cands, key=lambda c: (c.sentence.score, -c.sentence.index))
        if cands[0].score < self.settings.kind_margin * top.sentence.score:
            return 0.0
        return max(0.0, min(1.0, cands[0].score))

    def assess(self, question: Question, ranked: list[ScoredChunk], judged: dict[int, Judgement]
               ) -> tuple[list[Candidate], float, dict[str, float]]:
        """Candidates, the confidence that the document answers the question, and the features it came from.

        Without a judge, the confidence is `rules_confidence`; with one, it is the calibrated
        decision over `decision_features` (which reads `rules_confidence` too)."""
        cands = self.candidates(question, ranked, judged)
        rules = self.rules_confidence(cands)
        if self.judge is None:
            return cands, rules, {}
        features = decision_features(cands, rules, self.asks(question, ranked))
        confidence = self.decision.confidence(features) if self.decision is not None and cands else 0.0
        if self.settings.judge_orders:
            for c in cands:
                c.score = c.answers
            cands.sort(key=lambda c: (bool(c.missing), -c.score, c.sentence.index))
        return cands, confidence, features

    def threshold(self) -> float:
        st = self.settings
        if self.judge is None:
            return st.min_support
        if st.decline_below is not None:
            return st.decline_below
        return self.decision.threshold if self.decision is not None else 0.5

    def choose(self, question: Question, cands: list[Candidate]) -> list[Candidate]:
        """Quotes for the answer: the best sentence, then MMR picks or the items of its list."""
        st = self.settings
        best = cands[0]
        floor = st.min_relative * best.score
        by_row = {c.sentence.index: c for c in cands}
        several = question.several
        if several:
            # the lists the two best sentences belong to or introduce, and a list in the best one's passage
            leads = [(c, c.score >= floor) for c in cands[:2]]
            items = [r for r in self.index.chunk_sentences[best.chunk] if self.index.sentence_item[r]]
            if items and items[0] in by_row:
                leads.append((by_row[items[0]], True))
            for lead, strong_enough in leads:
                group = list_group(self.index, lead.sentence.index)
                members = [by_row[r] for r in group if r in by_row]
                if len(members) >= 2 and strong_enough:
                    strong = [m for m in members if m.score >= st.list_floor * best.score]
                    ranked = sorted(m.score for m in strong)
                    # one item far ahead of the rest answers alone; otherwise the list is the answer
                    if len(strong) >= 2 and ranked[-1] < st.standout * ranked[-2]:
                        keep = {id(m) for m in sorted(strong, key=lambda m: -m.score)[: st.max_list_quotes]}
                        return [m for m in strong if id(m) in keep]  # the best items, in the list's order
        chosen = [best]
        vectors = self.index.embeddings
        limit = st.max_quotes
        pool = [c for c in cands[1:] if c.score >= floor and not c.missing]
        if several and st.list_relative < st.min_relative:
            # Several things asked for and no bulleted list: the sentences after the best one in its
            # passage often name the rest ("For North Korea, ... For Russia, ...").
            follow = [c for c in cands[1:] if c.chunk == best.chunk and c.sentence.index > best.sentence.index
                      and c.score >= st.list_relative * best.score and not c.missing and c not in pool]
            pool += follow
            floor = min(floor, st.list_relative * best.score)
        while pool and len(chosen) < limit:
            def mmr(c: Candidate) -> float:
                sim = max(float(vectors[c.sentence.index] @ vectors[o.sentence.index]) for o in chosen)
                return st.mmr_lambda * c.score - (1 - st.mmr_lambda) * sim

            pick = max(pool, key=mmr)
            if mmr(pick) < st.mmr_lambda * floor - (1 - st.mmr_lambda) * st.max_redundancy:
                break
            chosen.append(pick)
            pool.remove(pick)
        return chosen

    def with_context(self, chosen: list[Candidate], cands: list[Candidate]) -> list[Candidate]:
        """A very short quote ("China's stance is also crucial.") says little alone: the sentence
        after it in the same passage is quoted too, right after it."""
        by_row = {c.sentence.index: c for c in cands}
        taken = {c.sentence.index for c in chosen}
        out: list[Candidate] = []
        for c in chosen:
            out.append(c)
            row = c.sentence.index
            text = self.index.sentence_text(row)
            nxt = by_row.get(row + 1)
            if (len(text) < self.settings.short_quote and not text.endswith(":") and nxt is not None
                    and row + 1 not in taken and set(self.index.sentence_chunks[row]) & set(self.index.sentence_chunks[row + 1])):
                out.append(nxt)
                taken.add(row + 1)
        return out

    def answer(self, question: str, query: Query, ranked: list[ScoredChunk], timing,
               judged: dict[int, Judgement] | None = None) -> Answer:
        passages = to_passages(self.index, ranked)
        asked = query.analysis  # spelling corrected; a follow-up about another name, in full
        cands, confidence, _ = self.assess(asked, ranked, judged or {})
        # A question asking for a kind of fact (a number, a date, a name...) is answered only by a
        # quote that holds one: `candidates` puts those first, so when the first lacks it, none has it.
        lacking = bool(cands) and bool(cands[0].missing)
        # A question about the document's own parts is answered by them, unless a threshold was set by hand.
        about = self.settings.decline_below is None and self.about_the_document(asked, ranked)
        if not cands or lacking or (confidence < self.threshold() and not about):
            why = ""
            top = max(cands, key=lambda c: (c.sentence.score, -c.sentence.index), default=None)
            if top is not None and top.missing and (lacking or top.sentence.score >= self.settings.min_support):
                why = f" It touches on the subject but gives no {' or '.join(sorted(f.describe() for f in top.missing))}."
            text = ("**The document doesn't say.**" + why +
                    " The closest passages are listed below as related reading; none of them answers the question.")
            return Answer(question=question, text=text, citations=[], passages=passages, abstained=True,
                          related=passages[: self.settings.related], query=query.text,
                          confidence=round(confidence, 6), timing=timing())
        chosen = self.with_context(self.choose(asked, cands), cands)
        citations = self.cite(chosen, ranked)
        text = render_text(citations)
        answer = Answer(question=question, text=text, citations=citations, passages=passages, abstained=False,
                        query=query.text, confidence=round(confidence, 6), timing=timing())
        check_grounding(answer, self.index.documents)
        return answer

    def cite(self, chosen: list[Candidate], ranked: list[ScoredChunk]) -> list[Citation]:
        numbers: dict[int, int] = {}
        citations = []
        for c in chosen:
            # A sentence in two overlapping passages is cited from the better-ranked one.
            chunk = self.index.chunks[ranked[c.chunk_rank].index]
            n = numbers.setdefault(c.chunk_rank, len(numbers) + 1)
            s, e = (int(x) for x in self.index.sentence_span[c.sentence.index])
            citations.append(Citation(n=n, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, section=chunk.section,
                                      quote=self.index.documents[chunk.doc_id][s:e], start=s, end=e,
                                      page=self.index.page_at(chunk.doc_id, s), score=round(float(c.score), 6)))
        return citations


SENTENCE_FEATURES = ("judge_logit", "span", "support", "dense", "lexical")
DECISION_FEATURES = ("best_logit", "margin", "judge_logit", "span", "support", "dense", "lexical", "missing_kind",
                     "rules", *QUESTION_FLAGS)
def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sentence_features(verdict: Judgement, s: ScoredSentence) -> dict[str, float]:
    """What the sentence model reads: the judge's log-odds and span score beside the retrieval
    scores (the sentence's support, its cosine similarity, its share of the question's words)."""
    return {"judge_logit": _logit(verdict.probability), "span": float(np.clip(verdict.span, -20, 20)),
            "support": s.score, "dense": s.dense, "lexical": s.lexical}


def decision_features(cands: list[Candidate], rules: float, asks: dict[str, float]) -> dict[str, float]:
    """What the answer/decline decision reads: for the judged sentence most likely to answer, its
    log-odds and lead over the runner-up, the judge's own log-odds and span score, the share of
    the question's words it holds and whether it lacks the kind of fact asked for (a number, a
    date, a name...); the best retrieval support among all candidates; the best cosine similarity
    of a judged sentence to the question (`dense`: how near the document comes to the question's
    topic at all); `rules`, the
    confidence of the rules alone (`Answerer.rules_confidence`); and `asks`, what the question
    itself asks for (`question_flags`)."""
    judged = sorted((c for c in cands if c.judged is not None), key=lambda c: -c.answers)
    if not judged:
        return dict.fromkeys(DECISION_FEATURES, 0.0) | {"rules": rules} | asks
    best = judged[0]
    second = judged[1].answers if len(judged) > 1 else 1e-6
    return {"best_logit": _logit(best.answers), "margin": _logit(best.answers) - _logit(second),
            "judge_logit": _logit(best.judged.probability), "span": float(np.clip(best.judged.span, -20, 20)),
            "support": max(c.sentence.score for c in cands), "dense": max(c.sentence.dense for c in judged),
            "lexical": best.sentence.lexical, "missing_kind": float(bool(best.missing)), "rules": rules} | asks


def question_flags(question: Question, points_at_part: bool, unseen: bool = False) -> dict[str, float]:
    """What the decision reads of the question itself: whether it asks for several things, for a
    reason, for yes or no, whether it points at a part of the document (its opening, its
    ending, a section by name) rather than at a fact, and whether it names something (a
    capitalised name past its first word) that no document of the index ever mentions.

    >>> from assistant.question import analyse
    >>> question_flags(analyse("Was the trip just for show?"), False)
    {'several': 0.0, 'why': 0.0, 'polar': 1.0, 'part': 0.0, 'unseen': 0.0}
    """
    return {"several": float(question.several), "why": float(question.why), "polar": float(question.polar),
            "part": float(points_at_part), "unseen": float(unseen)}


def render_text(citations: list[Citation]) -> str:
    """Markdown of the quotes, each followed by its marker.

    >>> from assistant.types import Citation
    >>> c = Citation(n=1, chunk_id="d#0", doc_id="d", section="", quote="A b.", start=0, end=4, score=1)
    >>> render_text([c])
    '“A b.” [1]'
    """
    lines = [f"“{c.quote}” [{c.n}]" for c in citations]
    if len(lines) == 1:
        return lines[0]
    return "\n".join(f"- {line}" for line in lines)


def check_grounding(answer: Answer, documents: dict[str, str]) -> None:
    """Raise `GroundingError` on the first of the answer's `grounding_problems` (see assistant.grounding)."""
    problems = grounding_problems(answer, documents)
    if problems:
        raise GroundingError(problems[0])
