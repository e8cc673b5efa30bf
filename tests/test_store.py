"""The index on disk: round trip, staleness, incremental rebuilds, corruption, crashes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from index import BuildSettings, CorruptIndex, IndexNotFound, IndexWriteError, build_index, load_index, stale_reasons
from index.store import READER_VERSION, read_current
from tests_helpers import damage_file

HASHING = BuildSettings(model="hashing")


@pytest.fixture
def corpus(tmp_path, tiny_corpus):
    folder = tmp_path / "docs"
    shutil.copytree(tiny_corpus, folder)
    return folder


def build(corpus, out, **kw):
    return build_index([corpus], out, kw.pop("settings", HASHING), progress=False, **kw)


def test_round_trip_gives_identical_content_and_search(corpus, tmp_path):
    manifest = build(corpus, tmp_path / "idx")
    a = load_index(tmp_path / "idx")
    b = load_index(tmp_path / "idx")
    assert manifest.counts["documents"] == 3 and manifest.counts["chunks"] == len(a.chunks)
    assert [c.model_dump() for c in a.chunks] == [c.model_dump() for c in b.chunks]
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    q = a.embeddings[:3]
    assert (a.faiss_index.search(q, 5)[1] == b.faiss_index.search(q, 5)[1]).all()
    for c in a.chunks:
        assert a.documents[c.doc_id][c.start:c.end] == c.text
    for i in range(len(a.sentence_doc)):
        text = a.sentence_text(i)
        assert text and text == text.strip()


def test_manifest_records_what_the_index_was_built_from(corpus, tmp_path):
    m = build(corpus, tmp_path / "idx")
    assert m.schema_version == 2 and m.model.name == "hashing" and m.faiss == "Flat"
    assert {d.doc_id for d in m.documents} == {"tea.txt", "bicycles.md", "volcanoes.html"}
    assert set(m.files) == {"documents.jsonl", "chunks.jsonl", "embeddings.npy", "vectors.faiss"}
    raw = json.loads((tmp_path / "idx" / read_current(tmp_path / "idx") / "manifest.json").read_text())
    assert raw["chunker"]["max_chars"] == 400 and raw["chunker"]["max_list_chars"] == 800


def test_unchanged_documents_are_not_embedded_again(corpus, tmp_path):
    first = build(corpus, tmp_path / "idx")
    assert first.counts["reused"] == 0
    second = build(corpus, tmp_path / "idx")
    assert second.counts["embedded"] == 0 and second.counts["reused"] == first.counts["sentences"]
    (corpus / "tea.txt").write_text("Tea\n\nNow about oolong only. It is partly oxidised.", encoding="utf-8")
    third = build(corpus, tmp_path / "idx")
    tea = next(d for d in third.documents if d.doc_id == "tea.txt")
    assert third.counts["embedded"] == tea.sentences == 2
    fresh = build(corpus, tmp_path / "other")
    np.testing.assert_allclose(load_index(tmp_path / "idx").embeddings, load_index(tmp_path / "other").embeddings)


def test_staleness_is_detected(corpus, tmp_path):
    m = build(corpus, tmp_path / "idx")
    assert stale_reasons(m) == []
    assert stale_reasons(m, HASHING) == []
    assert any("model changed" in r for r in stale_reasons(m, BuildSettings(model="default")))
    assert any("chunker" in r for r in stale_reasons(m, HASHING.model_copy(update={"chunker": HASHING.chunker.model_copy(update={"max_chars": 300})})))
    (corpus / "bicycles.md").write_text("# Bikes\n\nChanged.", encoding="utf-8")
    assert any("bicycles.md changed" in r for r in stale_reasons(m))
    (corpus / "new.txt").write_text("New\n\nA new document.", encoding="utf-8")
    assert any("new document" in r for r in stale_reasons(m))
    (corpus / "tea.txt").unlink()
    assert any("tea.txt is gone" in r for r in stale_reasons(m))


def test_an_index_read_by_an_older_reader_is_stale_and_embedded_anew(corpus, tmp_path):
    """An index built before a reader change (its manifest has no `reader`) is stale, and a
    rebuild reads every document again instead of reusing its old sentences."""
    first = build(corpus, tmp_path / "idx")
    assert first.reader == READER_VERSION and stale_reasons(first) == []
    path = tmp_path / "idx" / read_current(tmp_path / "idx") / "manifest.json"
    raw = json.loads(path.read_text())
    del raw["reader"]  # as written before READER_VERSION existed
    path.write_text(json.dumps(raw))
    old = load_index(tmp_path / "idx").manifest
    assert old.reader == 1 and any("read differently" in r for r in stale_reasons(old, HASHING))
    again = build(corpus, tmp_path / "idx")
    assert again.counts["reused"] == 0 and again.counts["embedded"] == first.counts["sentences"]
    assert stale_reasons(again, HASHING) == []


def test_missing_index_is_reported_with_the_fix(tmp_path):
    with pytest.raises(IndexNotFound, match="assistant index build"):
        load_index(tmp_path / "nothing")


@pytest.mark.parametrize("name", ["manifest.json", "documents.jsonl", "chunks.jsonl", "embeddings.npy", "vectors.faiss"])
@pytest.mark.parametrize("damage", ["truncated", "emptied", "garbage", "deleted"])
def test_every_damaged_file_gives_corrupt_index_naming_it(corpus, tmp_path, name, damage):
    build(corpus, tmp_path / "idx")
    damage_file(tmp_path / "idx" / read_current(tmp_path / "idx") / name, damage)
    with pytest.raises(CorruptIndex) as err:
        load_index(tmp_path / "idx")
    message = str(err.value)
    assert name in message and "assistant index build" in message and "\n" not in message


def test_same_size_tampering_is_caught_by_checksum(corpus, tmp_path):
    build(corpus, tmp_path / "idx")
    path = tmp_path / "idx" / read_current(tmp_path / "idx") / "chunks.jsonl"
    data = bytearray(path.read_bytes())
    i = data.index(b"Green")
    data[i:i + 5] = b"Groen"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndex, match="checksum"):
        load_index(tmp_path / "idx")


@pytest.mark.parametrize("content", [b"", b"../../etc\n", b"no-such-build\n", b"\xff\xfe"])
def test_bad_current_pointer(corpus, tmp_path, content):
    build(corpus, tmp_path / "idx")
    (tmp_path / "idx" / "CURRENT").write_bytes(content)
    with pytest.raises(CorruptIndex, match="CURRENT"):
        load_index(tmp_path / "idx")


def test_a_crash_before_the_switch_leaves_the_old_index_live(corpus, tmp_path, monkeypatch):
    build(corpus, tmp_path / "idx")
    before = load_index(tmp_path / "idx")
    (corpus / "tea.txt").write_text("Tea\n\nCompletely different text now.", encoding="utf-8")
    import index.store as store

    def crash(*args, **kwargs):
        raise OSError("simulated crash between write and rename")

    monkeypatch.setattr(store.os, "replace", crash)
    with pytest.raises(IndexWriteError, match="simulated.*previous index is unchanged"):
        build(corpus, tmp_path / "idx")
    monkeypatch.undo()
    after = load_index(tmp_path / "idx")
    assert after.manifest.build_id == before.manifest.build_id
    assert [c.text for c in after.chunks] == [c.text for c in before.chunks]
    # and the next build cleans up and succeeds
    build(corpus, tmp_path / "idx")
    assert load_index(tmp_path / "idx").manifest.build_id != before.manifest.build_id
    leftovers = [p.name for p in (tmp_path / "idx").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_old_builds_are_collected_but_the_previous_one_is_kept(corpus, tmp_path):
    for _ in range(4):
        build(corpus, tmp_path / "idx")
    builds = [p for p in (tmp_path / "idx").iterdir() if p.is_dir()]
    assert len(builds) == 2


def test_faiss_search_parameters_are_kept_with_the_index(corpus, tmp_path):
    import faiss

    build(corpus, tmp_path / "hnsw", settings=HASHING.model_copy(update={"faiss": "HNSW16", "faiss_params": "efSearch=77"}))
    idx = load_index(tmp_path / "hnsw")
    assert idx.manifest.faiss_params == "efSearch=77"
    assert faiss.downcast_index(idx.faiss_index).hnsw.efSearch == 77
    with pytest.raises(ValueError, match="search parameters"):
        build(corpus, tmp_path / "bad", settings=HASHING.model_copy(update={"faiss": "Flat", "faiss_params": "nprobe=4"}))


def test_faiss_factory_strings(corpus, tmp_path):
    build(corpus, tmp_path / "hnsw", settings=HASHING.model_copy(update={"faiss": "HNSW16"}))
    idx = load_index(tmp_path / "hnsw")
    assert idx.manifest.faiss == "HNSW16" and idx.faiss_index.ntotal == len(idx.sentence_doc)
    with pytest.raises(ValueError, match="FAISS"):
        build(corpus, tmp_path / "bad", settings=HASHING.model_copy(update={"faiss": "NoSuchIndex"}))
    assert not (tmp_path / "bad" / "CURRENT").exists()


def test_identical_sentences_are_embedded_once(tmp_path):
    from index import HashingEmbedder

    class Counting(HashingEmbedder):
        def __init__(self):
            super().__init__()
            self.seen: list[str] = []

        def embed(self, texts, progress=False):
            self.seen.extend(texts)
            return super().embed(texts, progress)

    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a", "b"):
        (docs / f"{name}.txt").write_text(f"Menu\n\nGo home. Page {name} is here.", encoding="utf-8")
    embedder = Counting()
    build_index([docs], tmp_path / "idx", HASHING, embedder=embedder, progress=False)
    assert sorted(embedder.seen) == ["Menu: Go home.", "Menu: Page a is here.", "Menu: Page b is here."]
    idx = load_index(tmp_path / "idx")
    rows = [i for i in range(len(idx.sentence_doc)) if idx.sentence_text(i) == "Go home."]
    assert len(rows) == 2
    np.testing.assert_array_equal(idx.embeddings[rows[0]], idx.embeddings[rows[1]])
