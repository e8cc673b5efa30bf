"""The public entry point: `Assistant` opens an index and answers questions about it.

    from assistant import Assistant
    a = Assistant.load()                       # the bundled article
    answer = a.ask("What does North Korea seek from Russia?")

`Assistant.load()` with no folder uses the bundled article and a cached index that is
built on first use and rebuilt silently whenever the article, model or settings change.
An explicit index folder is never rebuilt behind your back: a stale one raises
`StaleIndex` with the command that rebuilds it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Sequence

from index import (AssistantError, CorruptIndex, IndexNotFound, LoadedIndex, StaleIndex, build_index, get_embedder,
                   load_index, rebuild_hint, stale_reasons)
from index.store import embed_runtime

from .age import index_age  # noqa: F401 - `assistant.api.index_age` stays importable
from .answering import Answerer, to_passages
from .decision import Decider, Decision
from .errors import InvalidQuestion, UnknownDocument
from .judge import Judge
from .library import with_uploads
from .question import Query, read
from .rerank import Ranker
from .retrieval import Retriever
from .settings import DEFAULT_DOCUMENT, Settings, default_index_dir
from .types import Answer, IndexInfo, Passage, Timing

_HAS_WORD = re.compile(r"\w", re.UNICODE)


class Assistant:
    """Questions in, cited answers out, over one index. Safe to share between threads."""

    def __init__(self, index: LoadedIndex, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.index = index
        self.embedder = get_embedder(index.manifest.model.name, self.settings.retrieval.query_runtime,
                                     embed_runtime(index.manifest))
        self.retriever = Retriever(index, self.embedder, self.settings.retrieval)
        judge, decision = load_judge(self.settings.answer)
        ranker = load_ranker(self.settings.answer) if judge is not None else None
        self.decider = Decider(index, self.settings.answer, judge, decision, known=self.retriever.knows,
                               ranker=ranker)
        self.answerer = Answerer(index, self.settings.answer)

    # ------------------------------------------------------------ opening

    @classmethod
    def load(cls, index_dir: str | os.PathLike | None = None, settings: Settings | None = None) -> "Assistant":
        """Open an index folder, or (with `None`) the bundled article's index, building it if needed."""
        settings = settings or Settings()
        if index_dir is None:
            return cls._load_default(settings)
        index = load_index(index_dir, store=settings.index.store or None)
        reasons = stale_reasons(index.manifest)
        assistant = cls(index, settings)
        if not reasons and index.manifest.model.fingerprint != assistant.embedder.fingerprint:
            reasons.append("the embedding model's weights changed")
        if reasons:
            raise StaleIndex(f"index {index_dir} is stale ({reasons[0]}); rebuild with "
                             f"{rebuild_hint(Path(index_dir), index.manifest)}")
        return assistant

    @classmethod
    def _load_default(cls, settings: Settings) -> "Assistant":
        folder = default_index_dir(settings.index.store)
        wanted = settings.index.build()
        sources = with_uploads([str(DEFAULT_DOCUMENT.resolve())], folder)  # and documents uploaded in the browser
        try:
            index = load_index(folder, store=wanted.store or None)
            fresh = not stale_reasons(index.manifest, wanted) and index.manifest.sources == sources
            if fresh:
                assistant = cls(index, settings)
                if index.manifest.model.fingerprint == assistant.embedder.fingerprint:
                    return assistant
        except (IndexNotFound, CorruptIndex, StaleIndex):
            pass
        build_index(sources, folder, wanted)
        return cls(load_index(folder, store=wanted.store or None), settings)

    @classmethod
    def from_paths(cls, paths: Sequence[str | os.PathLike], index_dir: str | os.PathLike,
                   settings: Settings | None = None, progress: bool | None = None) -> "Assistant":
        """Index the given files and folders into `index_dir` (re-embedding only what changed), then open it."""
        settings = settings or Settings()
        build_index(list(paths), index_dir, settings.index.build(), progress=progress)
        return cls(load_index(index_dir, store=settings.index.store or None), settings)

    # ------------------------------------------------------------ asking

    def _validate(self, question: object) -> str:
        if not isinstance(question, str):
            raise InvalidQuestion(f"the question must be text, not {type(question).__name__}")
        if not question.strip():
            raise InvalidQuestion("the question is empty")
        limit = self.settings.limits.max_question_chars
        if len(question) > limit:
            raise InvalidQuestion(f"the question is {len(question)} characters long; the limit is {limit}")
        if not _HAS_WORD.search(question):  # what `text.words` would find none of
            raise InvalidQuestion("the question has no words")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidQuestion("the question is not valid Unicode text (it contains lone surrogates)") from None
        return question

    def resolve(self, question: str, history: Sequence[str] | None) -> Query:
        """The query to search: the question read once (`question.read`); a follow-up borrows the
        words of the question it follows."""
        limits = self.settings.limits
        return read(question, history, self.retriever.correct, limits.max_history, limits.max_question_chars)

    def _documents(self, documents: Sequence[str] | None) -> frozenset[str] | None:
        """The doc_ids to search in (None: all); UnknownDocument names the first one the index lacks."""
        if documents is None:
            return None
        if isinstance(documents, str) or not all(isinstance(d, str) for d in documents):
            raise InvalidQuestion("documents must be a list of doc_ids")
        if not documents:
            raise InvalidQuestion("documents is empty: leave it out to search every document")
        for d in documents:
            if d not in self.index.documents:
                raise UnknownDocument(f"no document {d!r} in this index")
        chosen = frozenset(documents)
        return None if chosen == self.index.documents.keys() else chosen  # all of them: the plain search

    def retrieve(self, question: str, k: int | None = None, history: Sequence[str] | None = None,
                 documents: Sequence[str] | None = None) -> list[Passage]:
        """The `k` passages that best match the question, best first; a follow-up is searched
        in the context of `history` (earlier questions, oldest first), as `ask` does. With
        `documents` (doc_ids), only passages of those documents."""
        question = self._validate(question)
        k = self.settings.retrieval.k if k is None else k
        if not isinstance(k, int) or k < 1:
            raise InvalidQuestion(f"k must be a positive whole number, not {k!r}")
        only = self._documents(documents)
        query = self.resolve(question, history)
        ranked = self.retriever.search(query, self.pool(k), only)
        if self.settings.answer.judge_orders:  # the judge's reading orders them
            return to_passages(self.index, self.decider.read(query, ranked, k)[0])
        return to_passages(self.index, self.decider.rank(query, ranked, k))  # the judge only decides: not needed

    def pool(self, k: int) -> int:
        """How many passages to retrieve to keep the best `k`: more when the ranker orders them."""
        return max(k, self.settings.answer.rerank_passages) if self.decider.ranker is not None else k

    def ask(self, question: str, history: Sequence[str] | None = None, documents: Sequence[str] | None = None) -> Answer:
        """An answer made of verified quotes with citations, or an abstention with related passages.
        With `documents` (doc_ids), only those documents are searched and quoted."""
        t0 = time.perf_counter()
        question = self._validate(question)
        only = self._documents(documents)
        query = self.resolve(question, history)  # the question read once: corrected, a follow-up in context
        keep = self.settings.answer.passages
        ranked = self.retriever.search(query, self.pool(keep), only)
        t1 = time.perf_counter()
        ranked, judged = self.decider.read(query, ranked, keep)  # ordered by the ranker, read by the judge
        verdict = self.decider.decide(query, ranked, judged)  # answer or decline

        def timing() -> Timing:
            t2 = time.perf_counter()
            return Timing(retrieve_ms=round((t1 - t0) * 1000, 3), answer_ms=round((t2 - t1) * 1000, 3),
                          total_ms=round((t2 - t0) * 1000, 3))

        return self.answerer.answer(question, query, ranked, verdict, timing)  # quotes, cited and verified

    # ------------------------------------------------------------ the index

    def document_text(self, doc_id: str) -> str:
        try:
            return self.index.documents[doc_id]
        except KeyError:
            raise UnknownDocument(f"no document {doc_id!r} in this index") from None

    @property
    def title(self) -> str:
        m = self.index.manifest
        return m.documents[0].title if m.documents else ""

    def info(self) -> IndexInfo:
        return index_info(self.index)

    # ------------------------------------------------------------ reopening

    def current_build(self) -> str | None:
        """The build the index folder's CURRENT names now; None while it cannot be read (mid-rebuild, removed)."""
        from index.store import read_current

        try:
            return read_current(self.index.folder)
        except AssistantError:
            return None

    def reopen_if_changed(self) -> "Assistant | None":
        """A new assistant (same settings) on the build the index folder names now, when that is not the
        build this one answers from; None when it is. Raises what `Assistant.load` raises for a bad build."""
        current = self.current_build()
        if current is None or current == self.index.manifest.build_id:
            return None
        return Assistant.load(self.index.folder, self.settings)


def load_judge(settings) -> tuple[Judge | None, Decision | None]:
    """The judge and the answer/decline model the settings name (`answer.judge`, `answer.decision`)."""
    if settings.judge == "none":
        return None, None
    folder = None if settings.judge == "bundled" else settings.judge
    decision = settings.decision or (Path(folder) / "decision.json" if folder else None)
    return Judge.load(folder, settings.judge_runtime, settings.judge_threads), Decision.load(decision)


def load_ranker(settings) -> Ranker | None:
    """The passage ranker the settings name (`answer.ranker`), None when `answer.rerank` is off."""
    if not settings.rerank:
        return None
    return Ranker.load(None if settings.ranker == "bundled" else settings.ranker, settings.judge_runtime,
                       settings.judge_threads)


def index_info(index: LoadedIndex, stale: list[str] | None = None) -> IndexInfo:
    m = index.manifest
    return IndexInfo(
        folder=str(index.folder), build_id=m.build_id, created_at=m.created_at, model=m.model.label,
        model_fingerprint=m.model.fingerprint, dim=m.model.dim, faiss=m.faiss,
        store=index.vectors.describe() if index.vectors is not None else "",
        documents=[{"doc_id": d.doc_id, "title": d.title, "path": d.path, "chars": d.chars, "chunks": d.chunks,
                    "pages": d.pages} for d in m.documents],
        chunks=m.counts.get("chunks", 0), sentences=m.counts.get("sentences", 0), stale=stale or [],
    )
