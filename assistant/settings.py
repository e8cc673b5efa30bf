"""One settings object, grouped by concern, passed in explicitly.

Environment variables (`ASSISTANT_*`, nested with `__`, e.g.
`ASSISTANT_ANSWER__MIN_SUPPORT=0.5`) are read only by `Settings.from_env()`, which the
edges (CLI, UI) call; library code takes a `Settings` and tests override single fields:
`Settings().with_(answer={"max_quotes": 2})`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from index import BuildSettings, ChunkerSettings, LoadLimits
from index.cache import cache_dir

DEFAULT_DOCUMENT = Path(__file__).parent / "data" / "kim-jong-un-russia-support.txt"
# The public SQuAD 2.0 files beside the project (../shared/data): the judge's training and
# calibration (train/) and the decline benchmark's calibration split (eval/) read them.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def default_index_dir(store: str = "") -> Path:
    """The bundled article's cached index; one folder per vector store, so switching stores never rebuilds."""
    if not store or store == "faiss":
        return cache_dir() / "default-index"
    import hashlib

    return cache_dir() / f"default-index-{hashlib.sha256(store.encode()).hexdigest()[:12]}"


class IndexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str = Field("default", description="Embedding model: `default` (bundled MiniLM), a hub name, a local folder, or `hashing`.")
    faiss: str = Field("Flat", description="FAISS factory string; see the README's Performance section for big corpora.")
    faiss_params: str = Field("", description="FAISS search parameters kept with the index, e.g. `nprobe=64,k_factor_rf=32`.")
    store: str = Field("", description="Where the vectors are searched: empty (FAISS in the index folder), `milvus-lite:PATH.db` or `milvus://HOST:PORT/COLLECTION` (token: `ASSISTANT_MILVUS_TOKEN`).")
    chunker: ChunkerSettings = ChunkerSettings()
    embed_section: bool = True
    embed_runtime: Literal["float32", "int8"] = Field("float32", description="How a build embeds the documents, in ONNX Runtime on every core: `float32` (the model's own vectors, within 1e-6) or `int8` (the dense layers quantised: faster, vectors at cosine about 0.98 to the model's; the eval figures move, see docs/performance.md).")
    limits: LoadLimits = Field(LoadLimits(), description="What one build reads at most: bytes per file and in all, "
                                                         "and what a .docx may unpack to (e.g. `ASSISTANT_INDEX__LIMITS__MAX_FILE_BYTES`).")

    def build(self) -> BuildSettings:
        return BuildSettings(model=self.model, faiss=self.faiss, faiss_params=self.faiss_params, chunker=self.chunker,
                             embed_section=self.embed_section, limits=self.limits, store=self.store,
                             embed_runtime=self.embed_runtime)


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    k: int = Field(5, ge=1, le=100, description="Passages returned by default.")
    candidates: int = Field(50, ge=5, description="Candidates taken from each of the dense and lexical lists.")
    section_weight: float = Field(0.5, ge=0, le=1, description="A question word found only in the sentence's section title counts this much of one found in the sentence.")
    sentence_weight: float = Field(0.25, ge=0, description="Weight of question-word coverage against cosine similarity in a sentence's score.")
    section_bonus: float = Field(0.3, ge=0, description="Added to sentences of a section the question names or points at (\"the conclusion\").")
    cause_bonus: float = Field(0.05, ge=0, description="Added, for a question asking why, to sentences that word a reason (\"because\", \"driven by\", \"given\").")
    intro_factor: float = Field(0.8, ge=0, le=1, description="Score multiplier for a sentence that only introduces a list (ends with ':').")
    head_bonus: float = Field(0.25, ge=0, description="Added to the sentences of a reference entry (an option, a function, a term with its description) in proportion to the share of the question's words its term holds; 0: off.")
    head_context: bool = Field(True, description="A sentence under an entry's term that is a sentence of its own (a signature above its description) is also scored as read together with that term (the larger cosine counts).")
    head_window: int = Field(6, ge=1, le=50, description="How many sentences back an entry's term is looked for (within the section).")
    passage_weight: float = Field(0.2, ge=0, description="How much the similarity of the passage as a whole (mean of its sentence vectors) adds.")
    duplicate_overlap: float = Field(0.6, ge=0, le=1, description="Passages sharing more than this share of text with a better one are dropped.")
    query_runtime: Literal["int8", "float32"] = Field("int8", description="How the question's embedding runs: `int8` (the model's dense layers quantised in ONNX Runtime, about twice as fast, cosine 0.99 to the float32 vector, the same eval figures within a question) or `float32` (the vector the model gives, to 1e-5).")


class AnswerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_quotes: int = Field(3, ge=1, le=12, description="Quotes in an ordinary answer.")
    max_list_quotes: int = Field(6, ge=1, le=20, description="Quotes in an answer to a list question.")
    passages: int = Field(5, ge=1, le=50, description="Passages retrieved to answer from.")
    judge: str = Field("bundled", description="The answer judge: `bundled` (the trained cross-encoder shipped with the package), a folder made by `assistant judge train`, or `none` (retrieval scores and fact-kind rules alone).")
    judge_orders: bool = Field(False, description="Order passages and choose quotes by the judge's calibrated sentence probability (True) or by retrieval support (False; the judge then only decides whether to answer). False measured better: see the README's design notes.")
    judge_runtime: Literal["int8", "float32"] = Field("int8", description="How the judge runs: `int8` (its dense layers quantised to int8 in ONNX Runtime, about twice as fast; the shipped decision is calibrated on it) or `float32` (numpy, exactly the trained model).")
    judge_threads: int = Field(0, ge=0, le=64, description="Threads of one int8 judge pass; 0: ONNX Runtime's choice (the cores). `assistant serve` sets 1: answers run side by side.")
    judge_candidates: int = Field(2, ge=1, le=64, description="Best candidate sentences (by retrieval score) the judge reads for each question, in one batch. Two: the decision fitted on the other calibration documents separates as well as with four or eight, at half the judge's time (README).")
    rerank: bool = Field(True, description="With a judge: order the passages with the passage ranker (`assistant/rerank.py`: it reads the best candidate sentences by retrieval support; each scores its support plus the ranker's weighted log-odds, a passage its best sentence); the judge and the decision then read the best `judge_candidates` of the new order. False: retrieval's order. Measured in docs/eval.md.")
    rerank_reads: int | None = Field(None, ge=1, le=64, description="How many candidate sentences the ranker reads; empty: as many as it was chosen with (`assistant judge ranker`, in its judge.json).")
    rerank_passages: int = Field(20, ge=1, le=100, description="With the ranker: passages retrieved for it to order, of which the best `passages` are kept.")
    ranker: str = Field("bundled", description="The passage ranker: `bundled` (shipped with the package) or a folder made by `assistant judge ranker`.")
    decision: str = Field("", description="The answer/decline model (`decision.json` from `assistant judge calibrate`); empty: the one beside the judge.")
    decline_below: float | None = Field(None, ge=0, le=1, description="With a judge: abstain when the calibrated confidence is below this; empty: the threshold chosen at calibration.")
    min_support: float = Field(0.3, description="Without a judge: abstain when the best sentence's support is below this.")
    mmr_lambda: float = Field(0.7, ge=0, le=1, description="Relevance vs. novelty when choosing quotes.")
    min_relative: float = Field(0.9, ge=0, le=1, description="Further quotes must score at least this share of the best.")
    list_relative: float = Field(0.75, ge=0, le=1, description="For a question asking for several things, sentences after the best one in its passage may be quoted down to this share of its score.")
    max_redundancy: float = Field(0.8, ge=0, le=1, description="A further quote this similar to a chosen one adds nothing.")
    standout: float = Field(1.5, ge=1, description="A list item scoring this many times the next one is quoted alone.")
    list_floor: float = Field(0.25, ge=0, le=1, description="List items gathered must score at least this share of the best.")
    kind_penalty: float = Field(0.0, ge=0, le=1, description="Support multiplier for a sentence lacking the kind of fact asked for (number, date, name, place).")
    kind_margin: float = Field(0.9, ge=0, le=1, description="When the best sentence lacks the kind of fact asked for, one that has it must score at least this share of the best, or the assistant abstains.")
    judge_second: float = Field(1.0, ge=0, description="With a judge: the judged sentence most likely to answer is quoted second when retrieval did not choose it and the judge rates it at least this many times the first quote; 0: off.")
    short_quote: int = Field(60, ge=0, description="A quote shorter than this (in characters) brings the next sentence of its passage along.")
    related: int = Field(3, ge=0, le=10, description="Passages offered as related reading when abstaining.")


class LimitSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_question_chars: int = Field(2000, ge=1, description="Longer questions are refused with InvalidQuestion.")
    max_history: int = Field(10, ge=0, description="Earlier turns considered for a follow-up (longer ones are ignored).")


class UploadSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_file_bytes: int = Field(20 * 2**20, ge=1, description="A document uploaded from the browser larger than this is refused.")
    max_total_bytes: int = Field(200 * 2**20, ge=1, description="Uploaded documents of one index may not add up to more than this.")


class Settings(BaseModel):
    """Every knob of the assistant. Defaults are what the eval figures in the README were measured with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: IndexSettings = IndexSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    limits: LimitSettings = LimitSettings()
    uploads: UploadSettings = UploadSettings()

    @classmethod
    def from_env(cls) -> "Settings":
        """Defaults overridden by `ASSISTANT_*` environment variables (for the CLI and UI only)."""
        return cls.model_validate(_EnvSettings().model_dump())

    def with_(self, **groups: dict[str, Any]) -> "Settings":
        """A copy with some fields changed: `s.with_(answer={"min_support": 0.5})`."""
        data = self.model_dump()
        for group, fields in groups.items():
            data[group].update(fields)
        return type(self).model_validate(data)


class _EnvSettings(BaseSettings, Settings):
    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_nested_delimiter="__", extra="forbid", frozen=True)
