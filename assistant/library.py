"""The documents of a served index: add uploaded files, remove one, list them.

Uploaded files are copied into the index folder's own `documents/` folder (`index.store.UPLOADS`),
which joins the index's sources, and the index is rebuilt incrementally (only new text is
embedded; a file's text is parsed once, for its check, and reused by the build; the model's build
layers get ready while the files are checked) and swapped in atomically, exactly as `assistant index
build` does; a build that fails leaves the old index answering and the folder as it was. An upload's name is never used
as a path: `safe_name` makes a plain file name of it. Each file is checked before anything
changes (size caps from `Settings.uploads`, then the loader reads it, which checks its type by
content); a refused file gets a one-line reason and leaves no trace. Only documents added this
way can be removed here; those indexed from the command line stay. Not here: reopening the
served assistant (the caller does, e.g. `ui.app.AssistantHolder.refresh`).
"""

from __future__ import annotations

import os
import shutil
import threading
import unicodedata
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from index import BuildSettings, DocumentError, Manifest, build_index, load_document, read_manifest
from index.store import UPLOADS, embed_runtime

from .settings import Settings

UPLOAD_TYPES = (".txt", ".md", ".html", ".pdf", ".docx")  # offered in the browser, when the loader reads them
_KEEP = " -_.(),"
_MAX_STEM = 80


class LibraryDocument(BaseModel):
    """One document of the index, for the documents panel."""

    model_config = ConfigDict(extra="forbid")
    doc_id: str
    title: str
    size: int = Field(description="Bytes of the source file when indexed.")
    passages: int = Field(description="Passages (chunks) it was split into.")
    added_at: str | None = Field(description="When it was uploaded (ISO 8601); None when indexed from the command line.")
    removable: bool = Field(description="Added from the browser, so it can be removed there.")


class Refusal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="The file's name as uploaded.")
    reason: str = Field(description="One line saying why it was not added.")


class Change(BaseModel):
    """What an upload or a removal did."""

    model_config = ConfigDict(extra="forbid")
    added: list[str] = Field(default_factory=list, description="doc_ids added.")
    removed: list[str] = Field(default_factory=list, description="doc_ids removed.")
    refused: list[Refusal] = Field(default_factory=list)
    build_id: str = Field("", description="The build now live ('' when nothing was rebuilt).")


def safe_name(name: str, taken: Collection[str] = ()) -> str:
    """A plain file name for an uploaded file: no folders, no markup or control characters, not
    hidden, at most 80 characters before the suffix, and not in `taken` (compared ignoring case).

    >>> safe_name("../../etc/passwd.txt"), safe_name('<img src=x onerror="go()">.md'), safe_name("..")
    ('passwd.txt', 'img src_x onerror__go().md', 'document')
    >>> safe_name("Notes.TXT", {"notes.txt"}), safe_name(r"C:\\\\dir\\\\report.html")
    ('Notes-2.txt', 'report.html')
    """
    base = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot or not suffix.isalnum():
        stem, suffix = base, ""

    def clean(part: str) -> str:
        kept = "".join(ch if ch.isalnum() or ch in _KEEP else "_" for ch in part)
        return kept

    stem = clean(stem).strip(" ._-")[:_MAX_STEM].rstrip(" .") or "document"
    suffix = f".{suffix.lower()}" if suffix else ""
    taken_folded = {t.casefold() for t in taken}
    candidate, n = f"{stem}{suffix}", 1
    while candidate.casefold() in taken_folded:
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return candidate


def readable_types() -> list[str]:
    """The upload types the document loader reads, e.g. `['.txt', '.md', '.html']` (plus `.pdf`, `.docx` when it can)."""
    from index import loading

    return [t for t in UPLOAD_TYPES if t in getattr(loading, "SUPPORTED_SUFFIXES", UPLOAD_TYPES)]


def uploads_dir(index_folder: str | os.PathLike) -> Path:
    return Path(index_folder) / UPLOADS


def with_uploads(sources: Sequence[str], index_folder: str | os.PathLike) -> list[str]:
    """The sources to build `index_folder` from: `sources` (minus its uploads folder) plus that
    folder while it holds a file, so a removed last upload leaves no empty source behind."""
    folder = os.path.realpath(uploads_dir(index_folder))
    out = [s for s in sources if os.path.realpath(s) != folder]
    if os.path.isdir(folder) and any(p.is_file() for p in Path(folder).iterdir()):
        out.append(folder)
    return out


def build_settings(manifest: Manifest) -> BuildSettings:
    """The settings an index was built with, so a rebuild reuses its vectors rather than redoing them all."""
    return BuildSettings(model=manifest.model.name, chunker=manifest.chunker, faiss=manifest.faiss,
                         faiss_params=manifest.faiss_params, embed_section=manifest.embed_section,
                         embed_runtime=embed_runtime(manifest))


def _megabytes(size: int) -> str:
    """`_megabytes(3 * 2**20)` -> `'3 MB'`; `_megabytes(1500)` -> `'0.001 MB'`."""
    mb = size / 2**20
    return f"{mb:.0f} MB" if mb >= 10 or mb == int(mb) else f"{mb:.3g} MB"


class Library:
    """Adds and removes the uploaded documents of the index at `folder`. One change at a time."""

    def __init__(self, folder: str | os.PathLike, settings: Settings | None = None, embedder=None):
        self.folder = Path(folder)
        self.settings = settings or Settings()
        self.embedder = embedder  # the served assistant's, so a rebuild does not load the model again
        self._lock = threading.Lock()

    @property
    def uploads(self) -> Path:
        return uploads_dir(self.folder)

    def manifest(self) -> Manifest:
        return read_manifest(self.folder)[1]

    def _is_upload(self, path: str) -> bool:
        return Path(path).parent == self.uploads.resolve()

    def documents(self, manifest: Manifest | None = None) -> list[LibraryDocument]:
        """Every document of the live build, in index order."""
        manifest = manifest or self.manifest()
        out = []
        for d in manifest.documents:
            uploaded = self._is_upload(d.path)
            added = datetime.fromtimestamp(d.mtime_ns / 1e9, timezone.utc).isoformat(timespec="seconds") \
                if uploaded and d.mtime_ns else None
            out.append(LibraryDocument(doc_id=d.doc_id, title=d.title, size=d.size, passages=d.chunks,
                                       added_at=added, removable=uploaded))
        return out

    def add(self, files: Sequence[tuple[str, str | os.PathLike]],
            progress: Callable[[float, str], None] | None = None) -> Change:
        """Add uploaded files, given as `(name as uploaded, path of the received file)`.

        Each file is checked on its own; the ones refused are listed with their reason and the
        others are indexed in one build. Raises what `build_index` raises when that build fails,
        with the folder and the live index as they were."""
        report = progress or (lambda fraction, text: None)
        with self._lock:
            warming = self._warm_build()
            manifest = self.manifest()
            taken = {d.doc_id for d in manifest.documents}
            if self.uploads.is_dir():
                taken |= {p.name for p in self.uploads.iterdir()}
            hashes = {d.sha256: d.doc_id for d in manifest.documents}
            used = sum(p.stat().st_size for p in self.uploads.iterdir() if p.is_file()) if self.uploads.is_dir() else 0
            change = Change()
            staging = self.folder / f".upload-{uuid.uuid4().hex[:8]}"
            staging.mkdir()
            try:
                accepted: list[Path] = []
                for i, (name, received) in enumerate(files):
                    report(i / max(len(files), 1) * 0.3, f"Checking {name}")
                    target = safe_name(name, taken)
                    try:
                        staged = self._check(target, Path(received), staging, used, hashes)
                    except DocumentError as exc:
                        change.refused.append(Refusal(name=str(name), reason=str(exc)))
                        continue
                    taken.add(target)
                    used += staged.stat().st_size
                    accepted.append(staged)
                if not accepted:
                    return change
                self.uploads.mkdir(exist_ok=True)
                moved = []
                for staged in accepted:
                    os.replace(staged, self.uploads / staged.name)
                    moved.append(self.uploads / staged.name)
                report(0.4, f"Indexing {len(moved)} document{'s' if len(moved) != 1 else ''}")
                if warming is not None:
                    warming.join()
                try:
                    new = self._rebuild(manifest)
                except BaseException:
                    for path in moved:
                        path.unlink(missing_ok=True)
                    raise
                change.added = [p.name for p in moved]
                change.build_id = new.build_id
                report(1.0, "Indexed")
                return change
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def _warm_build(self) -> threading.Thread | None:
        """Get the embedder's build layers ready (a server has only loaded the question's) on another
        thread while the files are read and checked; None when there is nothing to get ready."""
        ready = getattr(self.embedder, "_build_layers", None)
        if ready is None or getattr(self.embedder, "_build_tried", True):
            return None
        thread = threading.Thread(target=ready, name="build-layers", daemon=True)
        thread.start()
        return thread

    def _check(self, target: str, received: Path, staging: Path, used: int, hashes: dict[str, str]) -> Path:
        """The file copied into `staging` as `target` once it passes every check, or `DocumentError`."""
        limits = self.settings.uploads
        try:
            size = received.stat().st_size
        except OSError:
            raise DocumentError(f"{target}: the upload did not arrive; try again") from None
        if size > limits.max_file_bytes:
            raise DocumentError(f"{target}: {_megabytes(size)} is over the {_megabytes(limits.max_file_bytes)} "
                                f"limit per file")
        if used + size > limits.max_total_bytes:
            raise DocumentError(f"{target}: uploaded documents would pass the {_megabytes(limits.max_total_bytes)} "
                                f"limit in total; remove some first")
        staged = staging / target
        shutil.copyfile(received, staged)
        try:
            doc = load_document(staged, target)
        except DocumentError as exc:
            staged.unlink(missing_ok=True)
            # the loader names the file by its path: the user knows it by its name
            raise DocumentError(str(exc).replace(str(staged), target)) from None
        if doc.sha256 in hashes:
            staged.unlink(missing_ok=True)
            raise DocumentError(f"{target}: same content as {hashes[doc.sha256]}, already indexed")
        hashes[doc.sha256] = target
        return staged

    def remove(self, doc_id: str) -> Change:
        """Remove a document added from the browser and rebuild; the file goes only once the new build is live."""
        with self._lock:
            manifest = self.manifest()
            record = next((d for d in manifest.documents if d.doc_id == doc_id), None)
            if record is None:
                raise DocumentError(f"no document {doc_id!r} in this index")
            if not self._is_upload(record.path):
                raise DocumentError(f"{doc_id} was indexed from the command line; remove it there and rebuild")
            if len(manifest.documents) == 1:
                raise DocumentError(f"{doc_id} is the only document; add another before removing it")
            path = Path(record.path)
            aside = self.folder / f".removed-{uuid.uuid4().hex[:8]}"
            os.replace(path, aside)
            try:
                new = self._rebuild(manifest)
            except BaseException:
                os.replace(aside, path)
                raise
            aside.unlink(missing_ok=True)
            return Change(removed=[doc_id], build_id=new.build_id)

    def _rebuild(self, manifest: Manifest) -> Manifest:
        return build_index(with_uploads(manifest.sources, self.folder), self.folder, build_settings(manifest),
                           embedder=self.embedder, progress=False)
