"""The typed payloads that cross the library's boundary: the Python API, the CLI's
`--json`, the chat's `/ask` endpoint and the eval all return these same models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Passage(BaseModel):
    """A retrieved chunk of a document, best first. `text == document_text(doc_id)[start:end]`."""

    model_config = ConfigDict(extra="forbid")

    chunk_id: str = Field(description="Unique id of the chunk in the index (`doc_id#ordinal`).")
    doc_id: str = Field(description="Document the passage comes from.")
    section: str = Field(description="Title of the section the passage sits in ('' if none).")
    text: str = Field(description="The passage, verbatim.")
    start: int = Field(description="Character offset of the passage in its document.")
    end: int = Field(description="Character offset just past the passage.")
    page: int | None = Field(None, description="1-based page of a PDF the passage starts on; None for documents without pages.")
    score: float = Field(description="Relevance score; higher is better (comparable within one question).")
    rank: int = Field(description="1-based rank of the passage for this question.")


class Citation(BaseModel):
    """One verbatim quote in an answer. Quotes from the same passage share the number `n`."""

    model_config = ConfigDict(extra="forbid")

    n: int = Field(description="Marker number shown as `[n]`; 1..N in order of first appearance.")
    chunk_id: str = Field(description="The retrieved passage the quote comes from.")
    doc_id: str = Field(description="Document the quote comes from.")
    section: str = Field(description="Title of the section the quote sits in ('' if none).")
    quote: str = Field(description="Exactly `document_text(doc_id)[start:end]`.")
    start: int = Field(description="Character offset of the quote in its document.")
    end: int = Field(description="Character offset just past the quote.")
    page: int | None = Field(None, description="1-based page of a PDF the quote starts on (shown as \"p. 4\"); None for documents without pages.")
    score: float = Field(description="How strongly the quote answers the question (0..1): the judge's probability, or the retrieval support without a judge.")


class Timing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retrieve_ms: float = Field(description="Time spent finding passages.")
    answer_ms: float = Field(description="Time spent choosing and checking quotes.")
    total_ms: float = Field(description="Time from question to checked answer.")


class Answer(BaseModel):
    """An answer made only of verified quotes, or an abstention offering related passages."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question as asked.")
    text: str = Field(description="Markdown: quotes each followed by its marker `[n]`, or the abstention message.")
    citations: list[Citation] = Field(description="Quotes in the order they appear in `text`; empty when abstained.")
    passages: list[Passage] = Field(description="Everything retrieved for the question, best first.")
    abstained: bool = Field(description="True when the document does not answer the question.")
    related: list[Passage] = Field(default_factory=list,
                                   description="When abstained: the closest passages, offered without citation markers.")
    query: str = Field("", description="The text actually searched (differs from `question` for follow-ups).")
    confidence: float = Field(0.0, description="How likely the document answers the question (0..1): with the answer judge, the calibrated probability of its answer/decline decision; without it, the best sentence's support. The assistant declines below its threshold.")
    timing: Timing = Field(description="Where the time went (milliseconds).")


class IndexInfo(BaseModel):
    """What an index holds, for `assistant index info` and the chat's side panel."""

    model_config = ConfigDict(extra="forbid")

    folder: str = Field(description="The index folder on the machine that serves it.")
    build_id: str = Field(description="The build answering (changes with every rebuild).")
    created_at: str = Field(description="When the build was made (ISO 8601, UTC).")
    model: str = Field(description="The embedding model.")
    model_fingerprint: str = Field(description="Hash of the embedding model's weights.")
    dim: int = Field(description="Dimensions of the sentence vectors.")
    faiss: str = Field(description="FAISS factory string of the vector index.")
    store: str = Field("", description="Where the vectors are searched: FAISS in the folder, or a Milvus collection.")
    documents: list[dict] = Field(description="Per document: doc_id, title, path, chars, chunks, pages (0 when "
                                              "it has none, e.g. text).")
    chunks: int = Field(description="Passages in the index.")
    sentences: int = Field(description="Distinct sentences embedded.")
    stale: list[str] = Field(default_factory=list, description="Why the index is stale ([] when fresh).")
