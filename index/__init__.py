"""Documents -> chunks with exact offsets -> sentence vectors -> FAISS index on disk (or a Milvus collection)."""

from .blocks import Block, LoadLimits
from .chunking import Chunk, ChunkerSettings, Sentence, chunk_document, split_sentences
from .embedding import DEFAULT_MODEL, Embedder, HashingEmbedder, get_embedder
from .errors import (AssistantError, CorruptIndex, DocumentError, IndexBusy, IndexNotFound, IndexWriteError, ModelError,
                     NoDocuments, StaleIndex, StoreError)
from .loading import Document, load_document, load_documents, page_at
from .store import (BuildSettings, LoadedIndex, Manifest, build_index, load_index, read_manifest,
                    rebuild_hint, stale_reasons)
from .vectors import FaissStore, StoreSpec, VectorStore, parse_store

__all__ = [
    "AssistantError", "Block", "BuildSettings", "Chunk", "ChunkerSettings", "CorruptIndex", "DEFAULT_MODEL",
    "Document", "DocumentError", "LoadLimits", "Embedder", "FaissStore", "HashingEmbedder", "IndexBusy", "IndexNotFound",
    "IndexWriteError", "LoadedIndex", "Manifest", "ModelError", "NoDocuments", "Sentence", "StaleIndex", "build_index",
    "chunk_document", "get_embedder", "load_document", "load_documents", "load_index", "page_at", "read_manifest",
    "rebuild_hint", "split_sentences", "stale_reasons", "StoreError", "StoreSpec", "VectorStore", "parse_store",
]
