"""Where an index's sentence vectors are searched: the vector-store interface and its FAISS form.

A store holds one unit vector per sentence row of a build (row i = sentence i of the
build's sentence table) with the document it belongs to, and answers top-k inner-product
searches. Two implementations: `FaissStore` (the FAISS file in the build folder, the
default) and `index.milvus.MilvusStore` (a Milvus collection: Milvus Lite, a local file,
or a Milvus server or cluster by URI). Documents, chunks, offsets and the vectors used
to re-score candidate passages stay in the build folder either way (see `index.store`).

`parse_store("milvus://db.internal:19530/docs")` turns the `--store` text into a
`StoreSpec`; nothing here connects to anything. Not here: building a FAISS index from
vectors (`index.store`), anything about Milvus beyond parsing its URI (`index.milvus`).
"""

from __future__ import annotations

from typing import Iterable, Literal, Protocol, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_COLLECTION = "assistant"


class VectorStore(Protocol):
    """What retrieval and the build ask of a vector store."""

    def add(self, rows: np.ndarray, doc_ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add `vectors` as sentence rows `rows` of documents `doc_ids`."""

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        """Remove every vector of these documents; returns how many were removed."""

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """`(scores, rows)` of the `k` best rows for one query vector, best first."""

    def count(self) -> int:
        """How many vectors the store holds."""

    def describe(self) -> str:
        """One line for people: where the vectors are and how they are searched."""

    def close(self) -> None:
        """Release connections (a no-op for FAISS)."""


class StoreSpec(BaseModel):
    """A parsed `--store` value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["faiss", "milvus"]
    uri: str = Field("", description="What pymilvus connects to: a Milvus Lite file (`*.db`) or `http(s)://host:port`.")
    collection: str = Field(DEFAULT_COLLECTION, description="The alias every build of this index is published under.")

    @property
    def lite(self) -> bool:
        return self.kind == "milvus" and not self.uri.startswith(("http://", "https://"))

    def text(self) -> str:
        """The `--store` text that gives this spec back (never holds a token)."""
        if self.kind == "faiss":
            return "faiss"
        if self.lite:
            return f"milvus-lite:{self.uri}" + ("" if self.collection == DEFAULT_COLLECTION else f"/{self.collection}")
        scheme = "milvus+https" if self.uri.startswith("https://") else "milvus"
        return f"{scheme}://{self.uri.split('://', 1)[1]}/{self.collection}"


def _collection_name(name: str, whole: str) -> str:
    if not name or not (name[0].isalpha() or name[0] == "_") or not all(c.isalnum() or c == "_" for c in name):
        raise ValueError(f"--store {whole!r}: the collection name must be letters, digits and underscores, "
                         "starting with a letter")
    if "__" in name:
        raise ValueError(f"--store {whole!r}: the collection name may not contain '__' (builds are named NAME__BUILD)")
    return name


def parse_store(text: str | None) -> StoreSpec:
    """The store a `--store` value names; raises ValueError (a usage mistake) for anything else.

    >>> parse_store("").kind, parse_store("faiss").kind
    ('faiss', 'faiss')
    >>> s = parse_store("milvus://db.internal:19530/articles")
    >>> s.uri, s.collection
    ('http://db.internal:19530', 'articles')
    >>> s = parse_store("milvus-lite:vectors.db")
    >>> s.uri.endswith("vectors.db"), s.collection, s.lite
    (True, 'assistant', True)
    """
    text = (text or "").strip()
    if text in ("", "faiss"):
        return StoreSpec(kind="faiss")
    if text.startswith("milvus-lite:"):
        import os

        rest = text[len("milvus-lite:"):]
        path, sep, name = rest.rpartition(".db/")
        path = path + ".db" if sep else rest
        if not path.endswith(".db") or path == ".db":
            raise ValueError(f"--store {text!r}: Milvus Lite needs a file path ending in .db, e.g. milvus-lite:vectors.db")
        return StoreSpec(kind="milvus", uri=os.path.abspath(os.path.expanduser(path)),
                         collection=_collection_name(name, text) if sep else DEFAULT_COLLECTION)
    for scheme, http in (("milvus://", "http://"), ("milvus+https://", "https://")):
        if text.startswith(scheme):
            host, _, name = text[len(scheme):].partition("/")
            if not host or "@" in host:
                raise ValueError(f"--store {text!r}: expected {scheme}HOST:PORT/COLLECTION "
                                 "(the token comes from ASSISTANT_MILVUS_TOKEN, never the URI)")
            if ":" not in host:
                host += ":19530"
            return StoreSpec(kind="milvus", uri=http + host,
                             collection=_collection_name(name.strip("/"), text) if name.strip("/") else DEFAULT_COLLECTION)
    raise ValueError(f"--store {text!r}: expected faiss, milvus-lite:PATH.db or milvus://HOST:PORT/COLLECTION")


class StoreRecord(BaseModel):
    """Where a Milvus-backed build's vectors are: kept in its manifest."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["milvus"] = "milvus"
    uri: str = Field(description="Where the build was written: a Milvus Lite file or http(s)://host:port (no token).")
    alias: str = Field(description="The alias that names the live build's collection.")
    collection: str = Field(description="This build's own collection, `ALIAS__BUILDID`; readers of this build search it.")
    index_type: str = Field(description="Milvus index type: FLAT, HNSW or IVF_FLAT.")
    index_params: dict[str, int] = Field(default_factory=dict, description="Build parameters, e.g. {'M': 32}.")
    search_params: dict[str, int] = Field(default_factory=dict, description="Search parameters, e.g. {'ef': 128}.")

    def spec(self) -> StoreSpec:
        return StoreSpec(kind="milvus", uri=self.uri, collection=self.alias)


class FaissStore:
    """The FAISS index of a build folder behind the `VectorStore` interface.

    Rows are positions: `add` appends rows `ntotal, ntotal+1, ...`. FAISS index types differ
    in what they can remove (HNSW cannot), so `delete_documents` hides the rows instead and
    `search` skips them; a build writes a fresh index anyway.

    >>> s = FaissStore.flat(2)
    >>> s.add(np.array([0, 1]), ["a", "b"], np.array([[1, 0], [0, 1]], np.float32))
    >>> s.search(np.array([1, 0], np.float32), 2)[1].tolist(), s.delete_documents(["a"]), s.count()
    ([0, 1], 1, 1)
    >>> s.search(np.array([1, 0], np.float32), 2)[1].tolist()
    [1]
    """

    def __init__(self, index, doc_ids: Sequence[str] = (), label: str = ""):
        self.index = index
        self.doc_ids = list(doc_ids)
        self.hidden = np.zeros(index.ntotal, dtype=bool)
        self.label = label

    @classmethod
    def flat(cls, dim: int) -> "FaissStore":
        import faiss

        return cls(faiss.IndexFlatIP(dim), label="Flat")

    def add(self, rows: np.ndarray, doc_ids: Sequence[str], vectors: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) and not np.array_equal(rows, np.arange(self.index.ntotal, self.index.ntotal + len(rows))):
            raise ValueError("FAISS rows are positions: add them in order, after the last one")
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.doc_ids.extend(doc_ids)
        self.hidden = np.concatenate([self.hidden, np.zeros(len(rows), dtype=bool)])

    def delete_documents(self, doc_ids: Iterable[str]) -> int:
        gone = set(doc_ids)
        mask = np.array([d in gone for d in self.doc_ids], dtype=bool) & ~self.hidden
        self.hidden |= mask
        return int(mask.sum())

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.index.ntotal
        if n == 0 or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        extra = int(self.hidden.sum())
        scores, ids = self.index.search(np.asarray(query, np.float32).reshape(1, -1), min(n, k + extra))
        keep = ids[0] >= 0
        if extra:
            keep &= ~self.hidden[np.maximum(ids[0], 0)]
        return scores[0][keep][:k], ids[0][keep][:k]

    def count(self) -> int:
        return int(self.index.ntotal - self.hidden.sum())

    def describe(self) -> str:
        return f"FAISS {self.label} in the index folder" if self.label else "FAISS in the index folder"

    def close(self) -> None:
        pass
