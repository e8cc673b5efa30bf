"""Builds, saves, loads and checks the on-disk index. Knows nothing of questions.

What an index folder and its build folders hold is told in `index.layout`. A build is
written to a hidden temporary folder, synced, renamed into place, and only then named in
`CURRENT` (written to a temporary file and renamed over it). A crash at any moment leaves
the previous build live and loadable; the build before that is kept one generation so a
reader that has just read `CURRENT` never loses its files.
Pickle is never used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .blocks import LoadLimits
from .chunking import Chunk, ChunkerSettings, chunk_document
from .embedding import Embedder, file_sha256 as _sha256, get_embedder
from .errors import CorruptIndex, IndexBusy, IndexNotFound, IndexWriteError, StaleIndex, StoreError
from .layout import CURRENT, FILES, LOCK, MANIFEST, PENDING, UPLOADS
from .loading import Document, find_files, load_documents, page_at
from .vectors import FaissStore, StoreRecord, VectorStore, parse_store

# 2: chunks may carry a `page` and documents their page spans (PDF). A schema-1 index has
# neither and reads the same, so it still opens; older code refuses a schema-2 index by name.
SCHEMA_VERSION = 2
# How documents are read into text, blocks and sentences (index/loading.py, pdf.py, chunking.py).
# Raised when a reader change alters what an existing index would hold (2: PDF numbered and outline
# headings, hard-wrapped plain text split into sentences, man-page headings, HTML navigation left
# out; 3: PDFs read by PDFium instead of pypdf, runs of spaces in their text now one space; 4: words
# hyphenated across hard-wrapped lines of plain text joined; 5: a PDF's characters outside UCS-2 read
# whole, not as two UTF-16 halves), so an index built before is stale and rebuilt, never reused
# document by document.
READER_VERSION = 5
READABLE_SCHEMAS = (1, 2)
HASH_LIMIT = 256 * 1024 * 1024  # files larger than this are checked by size and structure only


class ModelInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Model name or path as given (`default` is the bundled MiniLM).")
    label: str = Field(description="What the model is, for people.")
    fingerprint: str = Field(description="sha256 of the weights file, or the hub name.")
    dim: int


class DocumentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_id: str
    path: str = Field(description="Absolute path of the source file when indexed.")
    title: str
    sha256: str = Field(description="sha256 of the file's bytes.")
    size: int
    mtime_ns: int
    chars: int
    chunks: int
    sentences: int
    pages: int = Field(0, description="Pages of a PDF (0 for documents without pages).")


class FileRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int
    sha256: str | None = None


class Manifest(BaseModel):
    """What an index was built from and with; compared on load to decide staleness."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    build_id: str
    created_at: str
    model: ModelInfo
    chunker: ChunkerSettings
    embed_section: bool = Field(True, description="Sentences were embedded with their section title before them.")
    reader: int = Field(1, description="READER_VERSION of the build: how its documents were read into text and sentences.")
    faiss: str = Field(description="FAISS index factory string (inner product metric).")
    faiss_params: str = Field("", description="FAISS search parameters applied on load, e.g. 'nprobe=64,k_factor_rf=32'.")
    documents: list[DocumentRecord]
    counts: dict[str, int]
    files: dict[str, FileRecord]
    sources: list[str] = Field(default_factory=list, description="The files and folders given to the build, absolute.")
    skipped: list[str] = Field(default_factory=list, description="Files found under the sources but not indexed (unreadable, duplicates), real paths.")
    problems: list[str] = Field(default_factory=list, description="Files skipped at build time and why.")
    store: StoreRecord | None = Field(None, description="The Milvus collection holding the vectors; None: vectors.faiss in the folder.")


class BuildSettings(BaseModel):
    """Everything that shapes an index. Changing any of these makes an existing index stale."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str = "default"
    chunker: ChunkerSettings = ChunkerSettings()
    faiss: str = "Flat"
    faiss_params: str = ""  # search-time only: changing it does not make an index stale
    embed_section: bool = True
    limits: LoadLimits = LoadLimits()  # what a build reads at most: changing it does not make an index stale
    store: str = ""  # where the vectors are searched: "" (FAISS in the folder), milvus-lite:PATH.db, milvus://HOST:PORT/NAME
    embed_runtime: Literal["float32", "int8"] = "float32"  # how documents are embedded (see index.embedding)


@dataclass
class LoadedIndex:
    """An index in memory. `sentence_*` arrays are aligned with the rows of `embeddings`."""

    folder: Path
    build_dir: Path
    manifest: Manifest
    documents: dict[str, str]  # doc_id -> text
    titles: dict[str, str]
    chunks: list[Chunk]
    embeddings: np.ndarray
    faiss_index: object
    sentence_doc: list[str] = field(default_factory=list)
    sentence_span: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    sentence_item: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    sentence_chunks: list[list[int]] = field(default_factory=list)
    chunk_sentences: list[list[int]] = field(default_factory=list)
    chunk_by_id: dict[str, int] = field(default_factory=dict)
    pages: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # doc_id -> page spans (PDF only)
    vectors: VectorStore | None = None  # what retrieval searches: FaissStore over faiss_index, or Milvus

    def page_at(self, doc_id: str, offset: int) -> int | None:
        """The 1-based page of `doc_id` holding character `offset`; None for a document without pages."""
        return page_at(self.pages.get(doc_id, []), offset)

    def sentence_text(self, i: int) -> str:
        s, e = self.sentence_span[i]
        return self.documents[self.sentence_doc[i]][s:e]


def sentence_table(chunks: list[Chunk]) -> tuple[list[tuple[str, int, int, bool]], list[list[int]], list[list[int]]]:
    """Distinct sentences in order of first appearance, chunk->sentences and sentence->chunks maps."""
    index: dict[tuple[str, int, int], int] = {}
    rows: list[tuple[str, int, int, bool]] = []
    chunk_sents: list[list[int]] = []
    sent_chunks: list[list[int]] = []
    for ci, chunk in enumerate(chunks):
        ids = []
        for s in chunk.sentences:
            key = (chunk.doc_id, s.start, s.end)
            i = index.get(key)
            if i is None:
                i = index[key] = len(rows)
                rows.append((chunk.doc_id, s.start, s.end, s.item))
                sent_chunks.append([])
            sent_chunks[i].append(ci)
            ids.append(i)
        chunk_sents.append(ids)
    return rows, chunk_sents, sent_chunks


def embed_runtime(manifest: Manifest) -> str:
    """How an index's documents were embedded: `int8` when its model fingerprint says so (see
    `SentenceTransformerEmbedder.fingerprint`), else `float32` (the model's own vectors)."""
    return "int8" if manifest.model.fingerprint.endswith("+int8") else "float32"


def embedding_text(text: str, section: str, with_section: bool) -> str:
    """What is embedded for a sentence: `"Section: sentence"` so short sentences keep context."""
    return f"{section}: {text}" if with_section and section else text


# ---------------------------------------------------------------- writing


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """One build at a time per index folder (an advisory lock released when the process dies)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusy(f"{folder}: another build is writing this index; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_faiss_params(spec: str, params: str) -> None:
    """Raise ValueError unless `params` (e.g. "efSearch=64") can be set on an index made by `spec`."""
    if not params:
        return
    import faiss

    index = faiss.index_factory(8, spec, faiss.METRIC_INNER_PRODUCT)
    try:
        faiss.ParameterSpace().set_index_parameters(index, params)
    except RuntimeError as exc:
        raise ValueError(f"invalid FAISS search parameters {params!r} for {spec!r}: "
                         f"{str(exc).strip().splitlines()[-1]}") from None


def _faiss_index(vectors: np.ndarray, spec: str):
    import faiss

    dim = vectors.shape[1]
    try:
        index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ValueError(f"invalid FAISS factory string {spec!r}: {str(exc).strip().splitlines()[-1]}") from None
    if not index.is_trained:
        if len(vectors) == 0:
            raise ValueError(f"FAISS index {spec!r} needs training vectors")
        index.train(vectors)
    if len(vectors):
        index.add(vectors)
    return index


def build_index(
    paths: list[str | os.PathLike],
    out_dir: str | os.PathLike,
    settings: BuildSettings | None = None,
    embedder: Embedder | None = None,
    progress: bool | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> Manifest:
    """Index the documents under `paths` into `out_dir`, replacing any build there atomically.

    Documents whose content hash, model and chunker settings match the previous build are
    not embedded again. Files that cannot be read are reported through `on_problem` (and
    the manifest) and skipped. Raises `NoDocuments` when nothing is readable.
    """
    settings = settings or BuildSettings()
    check_faiss_params(settings.faiss, settings.faiss_params)
    out = Path(out_dir)
    spec = parse_store(settings.store)
    if spec.kind == "milvus":  # a bad --store, index type, or a name serving another index fails before any work
        from .milvus import check_owner, milvus_index

        milvus_index(settings.faiss, settings.faiss_params)
        check_owner(spec, str(out))
    progress = sys.stderr.isatty() if progress is None else progress
    embedder = embedder or get_embedder(settings.model, build_runtime=settings.embed_runtime)
    docs, problems = load_documents(list(paths), settings.limits)
    for p in problems:
        if on_problem:
            on_problem(p)
    try:
        with build_lock(out):
            previous = _reusable(out, settings, embedder)
            sources = [os.path.realpath(p) for p in paths]
            return _build(docs, problems, sources, out, settings, embedder, previous, progress)
    except OSError as exc:  # a full or read-only disk: the user's to fix, and nothing live was touched
        reason = exc.strerror or str(exc)
        raise IndexWriteError(f"cannot write the index at {out}: {reason}; the previous index is unchanged") from None


def _reusable(out: Path, settings: BuildSettings, embedder: Embedder) -> LoadedIndex | None:
    """The current build when its model and settings match, so unchanged documents can be reused."""
    try:
        prev = load_index(out, verify=True, open_vectors=False)
    except (IndexNotFound, CorruptIndex, StaleIndex):
        return None
    m = prev.manifest
    if (m.model.name != settings.model or m.chunker != settings.chunker or m.embed_section != settings.embed_section
            or m.model.fingerprint != embedder.fingerprint or m.reader != READER_VERSION):
        return None
    return prev


def _build(docs: list[Document], problems: list[str], sources: list[str], out: Path, settings: BuildSettings, embedder: Embedder,
           previous: LoadedIndex | None, progress: bool) -> Manifest:
    from tqdm import tqdm

    chunks: list[Chunk] = []
    texts_to_embed: list[str] = []
    prev_by_doc: dict[str, tuple[str, list[int]]] = {}
    if previous is not None:
        rows_of: dict[str, list[int]] = {}
        for i, d in enumerate(previous.sentence_doc):
            rows_of.setdefault(d, []).append(i)
        for rec in previous.manifest.documents:
            prev_by_doc[rec.doc_id] = (rec.sha256, rows_of.get(rec.doc_id, []))
    doc_chunks: list[list[Chunk]] = []
    for doc in tqdm(docs, desc="chunking", unit="doc", disable=not progress or len(docs) < 20):
        cs = chunk_document(doc, settings.chunker)
        doc_chunks.append(cs)
        chunks.extend(cs)
    rows, chunk_sents, sent_chunks = sentence_table(chunks)
    # Which documents can reuse vectors: same hash, and the same distinct sentences in the same order.
    by_doc_rows: dict[str, list[int]] = {}
    for i, (d, _, _, _) in enumerate(rows):
        by_doc_rows.setdefault(d, []).append(i)
    vectors = np.zeros((len(rows), 0), dtype=np.float32)
    todo: list[int] = []
    reuse: list[tuple[list[int], np.ndarray]] = []
    for doc in docs:
        mine = by_doc_rows.get(doc.doc_id, [])
        prev = prev_by_doc.get(doc.doc_id)
        if prev is not None and prev[0] == doc.sha256 and len(prev[1]) == len(mine):
            reuse.append((mine, previous.embeddings[prev[1]]))
        else:
            todo.extend(mine)
    section_of = {}
    for ci, chunk in enumerate(chunks):
        for si in chunk_sents[ci]:
            section_of.setdefault(si, chunk.section)
    doc_text = {d.doc_id: d.text for d in docs}
    texts_to_embed = [embedding_text(doc_text[rows[i][0]][rows[i][1]:rows[i][2]], section_of[i], settings.embed_section)
                      for i in todo]
    # The same text ("Navigation: index" on every page of a site) is embedded once.
    distinct = list(dict.fromkeys(texts_to_embed))
    new_vectors = None
    if distinct:
        unique_vectors = embedder.embed(distinct, progress=progress)
        where = {t: i for i, t in enumerate(distinct)}
        new_vectors = unique_vectors[[where[t] for t in texts_to_embed]]
    dim = new_vectors.shape[1] if new_vectors is not None else (
        previous.manifest.model.dim if previous is not None else embedder.dim)
    vectors = np.zeros((len(rows), dim), dtype=np.float32)
    if new_vectors is not None:
        vectors[todo] = new_vectors
    for mine, vecs in reuse:
        vectors[mine] = vecs
    spec = parse_store(settings.store)
    faiss_index = None
    if spec.kind == "faiss":
        faiss_index = _faiss_index(vectors, settings.faiss) if len(vectors) else _faiss_index(np.zeros((0, dim), np.float32), "Flat")

    build_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"{PENDING}{build_id}"
    tmp.mkdir()
    milvus = record = None
    try:
        import faiss

        if spec.kind == "milvus":  # the new collection is complete and loaded before the folder names it
            from .milvus import create_build, finish_build

            milvus, record = create_build(spec, build_id, dim, settings.faiss, settings.faiss_params, str(out))
            milvus.add(np.arange(len(rows)), [r[0] for r in rows], vectors)
            finish_build(milvus, record)

        doc_lines = []
        records = []
        chunk_counts = {d.doc_id: len(cs) for d, cs in zip(docs, doc_chunks)}
        for doc in docs:
            st = Path(doc.path).stat() if Path(doc.path).exists() else None
            line = {"doc_id": doc.doc_id, "path": doc.path, "title": doc.title, "sha256": doc.sha256, "text": doc.text}
            if doc.pages:
                line["pages"] = doc.pages
            doc_lines.append(json.dumps(line, ensure_ascii=False))
            records.append(DocumentRecord(doc_id=doc.doc_id, path=doc.path, title=doc.title, sha256=doc.sha256,
                                          size=st.st_size if st else 0, mtime_ns=st.st_mtime_ns if st else 0,
                                          chars=len(doc.text), chunks=chunk_counts[doc.doc_id],
                                          sentences=len(by_doc_rows.get(doc.doc_id, [])), pages=len(doc.pages)))
        _write(tmp / "documents.jsonl", ("\n".join(doc_lines) + "\n").encode("utf-8"))
        _write(tmp / "chunks.jsonl", ("\n".join(c.model_dump_json(exclude_none=True) for c in chunks) + "\n").encode("utf-8"))
        with open(tmp / "embeddings.npy", "wb") as f:
            np.save(f, vectors, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        if faiss_index is not None:
            faiss.write_index(faiss_index, str(tmp / "vectors.faiss"))
            with open(tmp / "vectors.faiss", "rb+") as f:
                os.fsync(f.fileno())
        files = {}
        for name in _files(record):
            p = tmp / name
            size = p.stat().st_size
            files[name] = FileRecord(size=size, sha256=_sha256(p) if size <= HASH_LIMIT else None)
        manifest = Manifest(
            build_id=build_id, created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            model=ModelInfo(name=settings.model, label=getattr(embedder, "name", settings.model),
                            fingerprint=embedder.fingerprint, dim=dim),
            chunker=settings.chunker, embed_section=settings.embed_section, reader=READER_VERSION, faiss=settings.faiss,
            faiss_params=settings.faiss_params,
            documents=records,
            counts={"documents": len(docs), "chunks": len(chunks), "sentences": len(rows),
                    "embedded": len(todo), "reused": len(rows) - len(todo), "skipped": len(problems)},
            files=files, sources=sources, problems=problems, skipped=_skipped(sources, docs), store=record,
        )
        _write(tmp / MANIFEST, manifest.model_dump_json(indent=2).encode("utf-8"))
        _fsync_dir(tmp)
        final = out / build_id
        os.rename(tmp, final)
        _fsync_dir(out)
        try:
            was_live = read_current(out)
        except (IndexNotFound, CorruptIndex):
            was_live = None
        _point_current(out, build_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if milvus is not None:
            with contextlib.suppress(Exception):
                milvus.client.drop_collection(milvus.collection)
        raise
    if milvus is not None:
        from .milvus import publish

        try:
            publish(milvus, record, keep={_collection_of(out / was_live) if was_live else ""})
        finally:
            milvus.close()
    _collect_garbage(out, keep={build_id, *([was_live] if was_live else [])})
    return manifest


def _files(store: StoreRecord | None) -> tuple[str, ...]:
    """The files a build folder holds: no vectors.faiss when a Milvus collection holds the vectors."""
    return FILES if store is None else tuple(n for n in FILES if n != "vectors.faiss")


def _collection_of(build: Path) -> str:
    """The Milvus collection a build folder's manifest names ("" for FAISS or an unreadable manifest)."""
    try:
        manifest = Manifest.model_validate_json((build / MANIFEST).read_bytes())
    except (OSError, ValidationError):
        return ""
    return manifest.store.collection if manifest.store else ""


def _skipped(sources: list[str], docs: list[Document]) -> list[str]:
    """Files under the sources that were found but not indexed, so they never read as 'new'."""
    indexed = {d.path for d in docs}
    files, _ = find_files(sources)
    return sorted({os.path.realpath(f) for f, _ in files} - indexed)


def _point_current(out: Path, build_id: str) -> None:
    tmp = out / f".{CURRENT}.{uuid.uuid4().hex[:8]}"
    _write(tmp, (build_id + "\n").encode())
    os.replace(tmp, out / CURRENT)
    _fsync_dir(out)


def _collect_garbage(out: Path, keep: set[str]) -> None:
    """Remove builds other than `keep` (the live one and the one before it) and stale temporary folders."""
    for p in out.iterdir():
        if p.name in keep or p.name in (LOCK, CURRENT, UPLOADS):
            continue
        if p.is_dir() and (not p.name.startswith(".") or p.name.startswith(PENDING)):
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f".{CURRENT}."):
            with contextlib.suppress(OSError):
                p.unlink()


# ---------------------------------------------------------------- reading


def rebuild_hint(folder: Path, manifest: Manifest | None = None) -> str:
    if manifest is not None and manifest.sources:
        roots = " ".join(_quote(p) for p in manifest.sources[:3])
        more = " ..." if len(manifest.sources) > 3 else ""
        extra = f" --model {_quote(manifest.model.name)}" if manifest.model.name != "default" else ""
        extra += f" --faiss {_quote(manifest.faiss)}" if manifest.faiss != "Flat" else ""
        extra += f" --faiss-params {_quote(manifest.faiss_params)}" if manifest.faiss_params else ""
        extra += f" --store {_quote(manifest.store.spec().text())}" if manifest.store else ""
        return f"assistant index build {roots}{more} --out {_quote(str(folder))}{extra}"
    return f"assistant index build PATH... --out {_quote(str(folder))}"


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def read_current(folder: Path) -> str:
    path = folder / CURRENT
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IndexNotFound(f"no index at {folder}: build one with {rebuild_hint(folder)}") from None
    except OSError as exc:
        raise CorruptIndex(f"{path}: cannot read ({exc.strerror}); rebuild with {rebuild_hint(folder)}") from None
    try:
        build_id = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        build_id = ""
    if not build_id or "/" in build_id or build_id.startswith(".") or not (folder / build_id).is_dir():
        raise CorruptIndex(f"{path} does not name a build in {folder}; rebuild with {rebuild_hint(folder)}")
    if (folder / build_id).is_symlink():
        raise CorruptIndex(f"{folder / build_id} is a link that points outside the index folder; "
                           f"rebuild with {rebuild_hint(folder)}")
    return build_id


def read_manifest(folder: str | os.PathLike) -> tuple[Path, Manifest]:
    """`(build folder, manifest)` of the live build, or `IndexNotFound` / `CorruptIndex`."""
    folder = Path(folder)
    if not folder.exists():
        raise IndexNotFound(f"no index at {folder}: build one with {rebuild_hint(folder)}")
    if (folder / MANIFEST).exists() and not (folder / CURRENT).exists():
        raise CorruptIndex(f"{folder} is a build folder, not an index folder: pass its parent")
    build = folder / read_current(folder)
    path = _safe_file(build, MANIFEST, f"rebuild with {rebuild_hint(folder)}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CorruptIndex(f"{path} is missing; rebuild with {rebuild_hint(folder)}") from None
    try:
        manifest = Manifest.model_validate_json(raw)
    except ValidationError:
        raise CorruptIndex(f"{path} is damaged (not a valid manifest); rebuild with {rebuild_hint(folder)}") from None
    if manifest.schema_version not in READABLE_SCHEMAS:
        raise StaleIndex(f"{folder} was built by another version (schema {manifest.schema_version}); "
                         f"rebuild with {rebuild_hint(folder, manifest)}")
    return build, manifest


def _safe_file(build: Path, name: str, fix: str) -> Path:
    """`build/name`, refused when it is a link or resolves outside the build folder."""
    path = build / name
    if path.is_symlink() or path.resolve().parent != build.resolve():
        raise CorruptIndex(f"{path} points outside the index folder; {fix}")
    return path


def load_index(folder: str | os.PathLike, verify: bool = True, store: str | None = None,
               open_vectors: bool = True) -> LoadedIndex:
    """Load the live build of `folder`, checking every file against the manifest.

    Raises `IndexNotFound` when there is no index, `CorruptIndex` naming the first bad file
    and the rebuild command, `StoreError` when its Milvus collection cannot be reached.
    `store` (a `--store` value) says where a Milvus-backed build's collection is served now,
    when not where it was built. `open_vectors=False` skips the vector search index (a build
    reusing the previous build's vectors needs only the arrays). Staleness is checked
    separately by `stale_reasons`.
    """
    import faiss

    folder = Path(folder)
    build, manifest = read_manifest(folder)
    fix = f"rebuild with {rebuild_hint(folder, manifest)}"

    def bad(name: str, what: str) -> CorruptIndex:
        return CorruptIndex(f"{build / name} {what}; {fix}")

    wanted = parse_store(store) if store else None
    if wanted is not None and (wanted.kind == "milvus") != (manifest.store is not None):
        where = "a Milvus collection" if manifest.store else "vectors.faiss in the folder"
        raise StaleIndex(f"{folder} keeps its vectors in {where}, not in {wanted.text()}; move them with "
                         f"assistant index move {_quote(str(folder))} --store {_quote(wanted.text())}")
    for name in _files(manifest.store):
        rec = manifest.files.get(name)
        path = _safe_file(build, name, fix)
        if rec is None:
            raise bad(name, "is not listed in the manifest")
        if not path.exists():
            raise bad(name, "is missing")
        size = path.stat().st_size
        if size != rec.size:
            raise bad(name, f"has {size} bytes, expected {rec.size} (truncated or replaced)")
        if verify and rec.sha256 is not None and _sha256(path) != rec.sha256:
            raise bad(name, "does not match its checksum (damaged or replaced)")
    documents: dict[str, str] = {}
    titles: dict[str, str] = {}
    pages: dict[str, list[tuple[int, int]]] = {}
    try:
        for line in (build / "documents.jsonl").read_text(encoding="utf-8").splitlines():
            if line:
                d = json.loads(line)
                documents[d["doc_id"]] = d["text"]
                titles[d["doc_id"]] = d["title"]
                if d.get("pages"):
                    pages[d["doc_id"]] = [(int(s), int(e)) for s, e in d["pages"]]
    except (ValueError, KeyError, TypeError):
        raise bad("documents.jsonl", "is damaged") from None
    try:
        chunks = [Chunk.model_validate_json(line)
                  for line in (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines() if line]
    except (ValidationError, ValueError):
        raise bad("chunks.jsonl", "is damaged") from None
    try:
        embeddings = np.load(build / "embeddings.npy", allow_pickle=False)
    except (ValueError, OSError, EOFError):
        raise bad("embeddings.npy", "is damaged") from None
    if manifest.store is not None or not open_vectors:
        faiss_index = None
    else:
        try:
            faiss_index = faiss.read_index(str(build / "vectors.faiss"))
        except RuntimeError:
            raise bad("vectors.faiss", "is damaged") from None
    if manifest.faiss_params and faiss_index is not None:
        try:
            faiss.ParameterSpace().set_index_parameters(faiss_index, manifest.faiss_params)
        except RuntimeError:
            raise bad(MANIFEST, f"has FAISS search parameters {manifest.faiss_params!r} this index does not take") from None
    rows, chunk_sents, sent_chunks = sentence_table(chunks)
    n = len(rows)
    if embeddings.ndim != 2 or embeddings.shape != (n, manifest.model.dim) or embeddings.dtype != np.float32:
        raise bad("embeddings.npy", f"has shape {embeddings.shape}, expected ({n}, {manifest.model.dim})")
    if faiss_index is not None and (faiss_index.ntotal != n or faiss_index.d != manifest.model.dim):
        raise bad("vectors.faiss", f"holds {faiss_index.ntotal} vectors of {faiss_index.d} dims, expected {n} of {manifest.model.dim}")
    for c in chunks:
        text = documents.get(c.doc_id)
        if text is None or text[c.start:c.end] != c.text:
            raise bad("chunks.jsonl", f"does not match documents.jsonl at chunk {c.chunk_id}")
    vectors = None
    if faiss_index is not None:
        vectors = FaissStore(faiss_index, [r[0] for r in rows], manifest.faiss)
    elif open_vectors:
        vectors = _open_milvus(manifest.store, wanted, n, fix)
    return LoadedIndex(
        folder=folder, build_dir=build, manifest=manifest, documents=documents, titles=titles, chunks=chunks,
        embeddings=embeddings, faiss_index=faiss_index,
        sentence_doc=[r[0] for r in rows],
        sentence_span=np.array([(r[1], r[2]) for r in rows], dtype=np.int64).reshape(-1, 2),
        sentence_item=np.array([r[3] for r in rows], dtype=bool),
        sentence_chunks=sent_chunks, chunk_sentences=chunk_sents,
        chunk_by_id={c.chunk_id: i for i, c in enumerate(chunks)}, pages=pages, vectors=vectors,
    )


def _open_milvus(record: StoreRecord, where, n: int, fix: str) -> VectorStore:
    """The build's Milvus collection, checked to hold one vector per sentence row."""
    from .milvus import open_store

    store = open_store(record, fix, where)
    held = store.count()
    if held != n:
        store.close()
        raise StoreError(f"Milvus collection {record.collection} at {store.spec.text()} holds {held} vectors, "
                         f"expected {n}; {fix}")
    return store


def stale_reasons(manifest: Manifest, settings: BuildSettings | None = None) -> list[str]:
    """Why an index no longer matches its sources or the wanted settings ([] when it is fresh)."""
    reasons = []
    if manifest.reader != READER_VERSION:
        reasons.append("documents are read differently since it was built (headings, wrapped text)")
    if settings is not None:
        if settings.model != manifest.model.name:
            reasons.append(f"model changed ({manifest.model.name} -> {settings.model})")
        if settings.chunker != manifest.chunker:
            reasons.append("chunker settings changed")
        if settings.embed_section != manifest.embed_section or settings.embed_runtime != embed_runtime(manifest):
            reasons.append("embedding settings changed")
        if settings.faiss != manifest.faiss:
            reasons.append(f"FAISS index changed ({manifest.faiss} -> {settings.faiss})")
        built_in = manifest.store.spec().text() if manifest.store else "faiss"
        if parse_store(settings.store).text() != built_in:
            reasons.append(f"vector store changed ({built_in} -> {parse_store(settings.store).text()})")
    known = {rec.path for rec in manifest.documents}
    if manifest.sources:
        files, _ = find_files(manifest.sources)
        ignored = known | set(manifest.skipped)
        added = [real for real in (os.path.realpath(f) for f, _ in files) if real not in ignored]
        if added:
            reasons.append(f"{len(added)} new document(s), e.g. {added[0]}")
    for rec in manifest.documents:
        p = Path(rec.path)
        try:
            st = p.stat()
        except OSError:
            reasons.append(f"{rec.path} is gone")
            continue
        if st.st_size == rec.size and st.st_mtime_ns == rec.mtime_ns:
            continue
        try:
            if _sha256(p) != rec.sha256:
                reasons.append(f"{rec.path} changed")
        except OSError:
            reasons.append(f"{rec.path} cannot be read")
    return reasons
