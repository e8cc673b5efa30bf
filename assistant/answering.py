"""Turns scored passages into an answer made only of verified quotes, or an abstention.

The answer quotes whole sentences of the retrieved passages, each followed by the
marker `[n]` of its passage (passages numbered 1..N in order of first appearance).
Quotes are picked by maximal marginal relevance so they cover different parts of the
question; when the question asks for several things and the best evidence sits in a
bulleted list, the items of that list are gathered. Whether to answer at all is the
decision's (`assistant.decision`); this module assembles what it calls for.
`check_grounding` re-verifies every quote against the document before anything leaves.
No language model writes any text here.
"""

from __future__ import annotations

from index import LoadedIndex

from .decision import Candidate, Verdict
from .errors import GroundingError
from .grounding import grounding_problems
from .question import Query, Question
from .retrieval import ScoredChunk
from .settings import AnswerSettings
from .types import Answer, Citation, Passage


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
    """Assembles the answer: quotes chosen from the candidates the decision ranked, cited, verified."""

    def __init__(self, index: LoadedIndex, settings: AnswerSettings):
        self.index = index
        self.settings = settings

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
        return self.with_judges_choice(chosen, cands)

    def with_judges_choice(self, chosen: list[Candidate], cands: list[Candidate]) -> list[Candidate]:
        """Retrieval and the judge may disagree on the best sentence: the judged sentence most likely
        to answer (`answers`) is quoted second when retrieval did not choose it and the judge rates it
        at least `answer.judge_second` times the first quote (0: off), in place of the weakest further quote
        (never past `answer.max_quotes`: with one quote allowed, retrieval's stays)."""
        st = self.settings
        judged = [c for c in cands if c.judged is not None and not c.missing]
        if not st.judge_second or not judged or st.max_quotes < 2:
            return chosen
        pick = max(judged, key=lambda c: (c.answers, -c.sentence.index))
        if any(c is pick for c in chosen) or pick.answers < st.judge_second * max(chosen[0].answers, 1e-9):
            return chosen
        return ([chosen[0], pick] + chosen[1:])[: st.max_quotes]

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

    def answer(self, question: str, query: Query, ranked: list[ScoredChunk], verdict: Verdict, timing) -> Answer:
        """The answer the verdict calls for: quotes with citations, verified, or "the document doesn't say"."""
        passages = to_passages(self.index, ranked)
        confidence = round(verdict.confidence, 6)
        if verdict.declined:
            text = ("**The document doesn't say.**" + verdict.why +
                    " The closest passages are listed below as related reading; none of them answers the question.")
            return Answer(question=question, text=text, citations=[], passages=passages, abstained=True,
                          related=passages[: self.settings.related], query=query.text, confidence=confidence,
                          timing=timing())
        cands = verdict.candidates
        chosen = self.with_context(self.choose(query.analysis, cands), cands)
        citations = self.cite(chosen, ranked)
        answer = Answer(question=question, text=render_text(citations), citations=citations, passages=passages,
                        abstained=False, query=query.text, confidence=confidence, timing=timing())
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
