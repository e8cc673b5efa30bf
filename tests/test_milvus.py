"""The vectors in Milvus (Milvus Lite, a local file): same answers as FAISS, incremental and
interrupted builds, one-line errors. The `--store` parsing and index-type mapping need no Milvus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from index import BuildSettings, StaleIndex, StoreError, build_index, load_index, parse_store
from index.milvus import milvus_index
from index.store import read_current

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HASHING = BuildSettings(model="hashing")
runner = CliRunner()


# ---------------------------------------------------------------- no Milvus needed


@pytest.mark.parametrize("text, kind, uri, collection", [
    ("", "faiss", "", "assistant"),
    ("milvus://db.internal:19530/articles", "milvus", "http://db.internal:19530", "articles"),
    ("milvus://db.internal/articles", "milvus", "http://db.internal:19530", "articles"),
    ("milvus+https://vectors.example.com:443/docs", "milvus", "https://vectors.example.com:443", "docs"),
    ("milvus-lite:/data/v.db/reports", "milvus", "/data/v.db", "reports"),
])
def test_store_uris(text, kind, uri, collection):
    spec = parse_store(text)
    assert (spec.kind, spec.uri, spec.collection) == (kind, uri, collection)
    assert parse_store(spec.text()) == spec  # the manifest's text gives the same store back


@pytest.mark.parametrize("text", ["milvus-lite:vectors", "milvus://user:secret@db/x", "milvus://db/bad-name",
                                  "milvus://db/a__b", "postgres://db/x", "milvus-lite:.db"])
def test_bad_store_uris_are_refused(text):
    with pytest.raises(ValueError, match="--store"):
        parse_store(text)


def test_faiss_factory_strings_map_to_milvus_index_types():
    assert milvus_index("HNSW16", "") == ("HNSW", {"M": 16, "efConstruction": 200}, {"ef": 64})
    assert milvus_index("IVF256,Flat", "nprobe=32") == ("IVF_FLAT", {"nlist": 256}, {"nprobe": 32})
    with pytest.raises(ValueError, match="Flat.*HNSW"):
        milvus_index("IVF256,PQ48", "")
    with pytest.raises(ValueError, match="nprobe"):
        milvus_index("HNSW32", "nprobe=4")


def test_a_bad_store_is_a_usage_error_before_any_work(tmp_path, tiny_corpus):
    from assistant.cli import app

    result = runner.invoke(app, ["index", "build", str(tiny_corpus), "--out", str(tmp_path / "i"), "--model", "hashing",
                                 "--store", "milvus://db/x", "--faiss", "IVF8,PQ4"])
    assert result.exit_code == 2 and "Milvus" in result.output and not (tmp_path / "i" / "CURRENT").exists()
    result = runner.invoke(app, ["ask", "What is tea?", "--store", "elastic://x"])
    assert result.exit_code == 2 and result.output.count("\n") == 1


# ---------------------------------------------------------------- Milvus Lite (every test below takes `lite`)


def release(db) -> None:
    """Close this process's Milvus Lite server on `db`, so another process may open it (one at a time)."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(db))


@pytest.fixture
def corpus(tmp_path, tiny_corpus):
    folder = tmp_path / "docs"
    shutil.copytree(tiny_corpus, folder)
    return folder


@pytest.fixture
def lite(tmp_path):
    """A `--store` for a Milvus Lite file of this test; skips the test without the milvus extra."""
    for module in ("pymilvus", "milvus_lite"):
        pytest.importorskip(module, reason="the Milvus store needs the milvus extra: pip install -e '.[milvus]'")
    db = tmp_path / "vectors.db"
    yield f"milvus-lite:{db}"
    release(db)


def milvus_rows(store: str, collection: str) -> list[tuple[int, str]]:
    from index.milvus import connect

    client = connect(parse_store(store))
    got = client.query(collection, filter="row >= 0", output_fields=["row", "doc"])
    return sorted((int(r["row"]), r["doc"]) for r in got)


def collections(store: str) -> list[str]:
    from index.milvus import connect

    return sorted(connect(parse_store(store)).list_collections())


@pytest.mark.slow  # about a second: `make test` runs it, `make check` does not
def test_the_same_citations_through_milvus_as_through_faiss_flat(tmp_path, article_path, hashing_settings, lite):
    from assistant import Assistant
    from eval.schema import load_items

    faiss = Assistant.from_paths([article_path], tmp_path / "faiss", hashing_settings)
    milvus = Assistant.from_paths([article_path], tmp_path / "milvus", hashing_settings.with_(index={"store": lite}))
    assert milvus.index.faiss_index is None and "Milvus Lite" in milvus.index.vectors.describe()
    assert not (tmp_path / "milvus" / read_current(tmp_path / "milvus") / "vectors.faiss").exists()
    items = load_items(split="dev")[:40]
    for it in items:
        a, b = faiss.ask(it.question), milvus.ask(it.question)
        assert [(c.n, c.doc_id, c.start, c.end) for c in a.citations] == \
               [(c.n, c.doc_id, c.start, c.end) for c in b.citations], it.question
        assert a.text == b.text and a.abstained == b.abstained
    # the dense candidates themselves: the same rows, the same scores
    q = faiss.index.embeddings[:5]
    for v in q:
        fs, fr = faiss.index.vectors.search(v, 20)
        ms, mr = milvus.index.vectors.search(v, 20)
        np.testing.assert_allclose(fs, ms, atol=1e-5)
        assert set(fr.tolist()) == set(mr.tolist()) or np.isclose(fs[-1], fs[-2])


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_incremental_rebuild_replaces_changed_documents_and_removes_deleted_ones(corpus, tmp_path, lite):
    out = tmp_path / "idx"
    settings = HASHING.model_copy(update={"store": lite})
    first = build_index([corpus], out, settings, progress=False)
    second = build_index([corpus], out, settings, progress=False)
    assert second.counts["embedded"] == 0 and second.counts["reused"] == first.counts["sentences"]
    (corpus / "tea.txt").write_text("Tea\n\nNow about oolong only. It is partly oxidised.", encoding="utf-8")
    (corpus / "volcanoes.html").unlink()
    third = build_index([corpus], out, settings, progress=False)
    assert third.counts["embedded"] == 2  # only the changed document's two sentences
    idx = load_index(out)
    rows = milvus_rows(lite, third.store.collection)
    assert rows == list(enumerate(idx.sentence_doc)) and "volcanoes.html" not in {d for _, d in rows}
    assert idx.vectors.count() == third.counts["sentences"]
    # the previous build's collection is kept for readers still on it; the one before is dropped
    assert collections(lite) == sorted([second.store.collection, third.store.collection])
    from assistant import Assistant, Settings

    a = Assistant.load(out, Settings().with_(answer={"judge": "none"}))
    assert any("oolong" in p.text for p in a.retrieve("What is oolong?", 3))
    assert all(p.doc_id != "volcanoes.html" for p in a.retrieve("Where does magma come from?", 5))


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_a_name_that_serves_another_index_folder_is_refused_until_that_folder_is_gone(corpus, tmp_path, lite):
    from assistant.cli import app

    settings = HASHING.model_copy(update={"store": lite})
    first = build_index([corpus], tmp_path / "a", settings, progress=False)
    build_index([corpus], tmp_path / "a", settings, progress=False)  # its own folder: rebuilt as before
    kept = collections(lite)
    result = runner.invoke(app, ["index", "build", str(corpus), "--out", str(tmp_path / "b"), "--model", "hashing",
                                 "--store", lite])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "Traceback" not in result.output
    assert f"already serves the index in {os.path.realpath(tmp_path / 'a')}" in result.output
    assert "a name of its own" in result.output
    assert collections(lite) == kept and not (tmp_path / "b" / "CURRENT").exists()  # nothing made, nothing dropped
    assert load_index(tmp_path / "a").vectors.count() == first.counts["sentences"]
    other = build_index([corpus], tmp_path / "b", settings.model_copy(update={"store": lite + "/other"}), progress=False)
    assert other.store.alias == "other" and load_index(tmp_path / "a").vectors.count() > 0
    shutil.rmtree(tmp_path / "a")  # the folder is gone: its name may be taken
    taken = build_index([corpus], tmp_path / "b", settings, progress=False)
    assert taken.store.alias == "assistant" and load_index(tmp_path / "b").vectors.count() == taken.counts["sentences"]


def test_delete_documents_through_the_interface(corpus, tmp_path, lite):
    build_index([corpus], tmp_path / "idx", HASHING.model_copy(update={"store": lite}), progress=False)
    idx = load_index(tmp_path / "idx")
    before = idx.vectors.count()
    tea = sum(d == "tea.txt" for d in idx.sentence_doc)
    assert idx.vectors.delete_documents(["tea.txt"]) == tea
    assert idx.vectors.count() == before - tea
    _, rows = idx.vectors.search(idx.embeddings[idx.sentence_doc.index("tea.txt")], before)
    assert "tea.txt" not in {idx.sentence_doc[r] for r in rows}


def _build_in_child(corpus, out, store, die_at: str | None) -> subprocess.CompletedProcess:
    """Build in a fresh process; with `die_at`, that process SIGKILLs itself when it reaches that step."""
    code = textwrap.dedent(f"""
        import os, signal, sys
        import index.milvus as m
        from index import BuildSettings, build_index
        die_at = {die_at!r}
        if die_at:
            original = getattr(m, die_at)
            def die(*a, **kw):
                if die_at == "finish_build":
                    a[0].client.flush(a[0].collection)  # the half-built collection really is on disk
                os.kill(os.getpid(), signal.SIGKILL)
            setattr(m, die_at, die)
        build_index([{str(corpus)!r}], {str(out)!r}, BuildSettings(model="hashing", store={store!r}), progress=False)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
@pytest.mark.parametrize("die_at", ["finish_build", "publish"])
def test_a_build_killed_by_sigkill_leaves_the_previous_collection_answering(corpus, tmp_path, lite, die_at):
    out = tmp_path / "idx"
    assert _build_in_child(corpus, out, lite, None).returncode == 0
    first = load_index(out)
    question = first.embeddings[0]
    answer = first.vectors.search(question, 5)
    first.vectors.close()
    release(lite.split(":", 1)[1])
    (corpus / "tea.txt").write_text("Tea\n\nCompletely different text now.", encoding="utf-8")
    killed = _build_in_child(corpus, out, lite, die_at)
    assert killed.returncode == -signal.SIGKILL
    after = load_index(out)
    if die_at == "finish_build":  # killed before the folder named the new build: the old one answers
        assert after.manifest.build_id == first.manifest.build_id
        np.testing.assert_array_equal(after.vectors.search(question, 5)[1], answer[1])
    else:  # killed after the switch, before the alias moved: the new build answers from its own collection
        assert after.manifest.build_id != first.manifest.build_id and after.vectors.count() == len(after.sentence_doc)
    after.vectors.close()
    release(lite.split(":", 1)[1])
    assert _build_in_child(corpus, out, lite, None).returncode == 0
    final = load_index(out)
    prefix = final.manifest.store.alias + "__"
    kept = {final.manifest.store.collection, after.manifest.store.collection}
    assert {c for c in collections(lite) if c.startswith(prefix)} == kept  # the unfinished collection is gone


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_milvus_and_a_missing_collection_are_one_line_naming_the_uri(corpus, tmp_path, lite):
    from assistant.cli import app
    from index.milvus import connect

    out = tmp_path / "idx"
    result = runner.invoke(app, ["index", "build", str(corpus), "--out", str(out), "--model", "hashing", "--store", lite])
    assert result.exit_code == 0, result.output
    assert "vectors in milvus-lite:" in result.output
    info = runner.invoke(app, ["index", "info", str(out)])
    assert info.exit_code == 0 and "store     Milvus Lite milvus-lite:" in info.output
    nowhere = f"milvus://127.0.0.1:{_free_port()}/assistant"
    for verb in (["ask", "What is tea?"], ["retrieve", "What is tea?"], ["index", "info", str(out)]):
        args = verb + (["--index", str(out)] if verb[0] != "index" else []) + ["--store", nowhere]
        result = runner.invoke(app, args)
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "Traceback" not in result.output
        assert nowhere in result.output and "start the server" in result.output
    manifest = load_index(out, open_vectors=False).manifest
    connect(parse_store(lite)).drop_collection(manifest.store.collection)
    result = runner.invoke(app, ["ask", "What is tea?", "--index", str(out)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert lite in result.output and "no collection" in result.output and "assistant index build" in result.output
    assert f"--store {lite}" in result.output
    # a FAISS folder asked through Milvus says how to move it
    runner.invoke(app, ["index", "build", str(corpus), "--out", str(tmp_path / "f"), "--model", "hashing"])
    with pytest.raises(StaleIndex, match="assistant index move"):
        load_index(tmp_path / "f", store=lite)
    with pytest.raises(StoreError, match="nowhere"):
        load_index(out, store="milvus-lite:/nowhere/at/all.db")


def test_index_move_puts_an_existing_index_into_milvus_without_embedding(corpus, tmp_path, lite):
    from assistant.cli import app

    out = tmp_path / "idx"
    assert runner.invoke(app, ["index", "build", str(corpus), "--out", str(out), "--model", "hashing"]).exit_code == 0
    before = load_index(out)
    result = runner.invoke(app, ["index", "move", str(out), "--store", lite, "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output[result.output.index("{"):])
    assert manifest["counts"]["embedded"] == 0 and manifest["store"]["alias"] == "assistant"
    after = load_index(out)
    np.testing.assert_array_equal(before.embeddings, after.embeddings)
    q = before.embeddings[3]
    assert before.vectors.search(q, 4)[1].tolist() == after.vectors.search(q, 4)[1].tolist()


@pytest.mark.integration
def test_the_real_model_gives_the_same_citations_through_milvus(tmp_path, article_path, real_article, lite):
    from assistant import Assistant, Settings
    from eval.schema import load_items

    milvus = Assistant.from_paths([article_path], tmp_path / "milvus", Settings().with_(index={"store": lite}))
    for it in load_items(split="dev")[:15]:
        a, b = real_article.ask(it.question), milvus.ask(it.question)
        assert [(c.doc_id, c.start, c.end) for c in a.citations] == [(c.doc_id, c.start, c.end) for c in b.citations]
        assert a.abstained == b.abstained


class _SlowIndexClient:
    """A Milvus client whose create_index answers as pymilvus does when it retried a call that took too long."""

    def __init__(self, indexes):
        self.indexes, self.loaded = indexes, False

    def flush(self, name):
        pass

    def prepare_index_params(self):
        class Params:
            def add_index(self, **kw):
                pass
        return Params()

    def create_index(self, name, params):
        raise RuntimeError("index already exists for field 'vector'; call drop_index first")

    def list_indexes(self, name, field_name=""):
        return self.indexes

    def load_collection(self, name):
        self.loaded = True


@pytest.mark.parametrize("indexes, fine", [(["vector"], True), ([], False)])
def test_an_index_a_retried_create_already_made_is_used_and_nothing_else_is_excused(indexes, fine):
    from index.milvus import MilvusStore, finish_build
    from index.vectors import StoreRecord

    client = _SlowIndexClient(indexes)
    spec = parse_store("milvus-lite:/tmp/x.db/docs")
    store = MilvusStore(client, spec, "docs__b1", "HNSW", {})
    record = StoreRecord(uri=spec.uri, alias="docs", collection="docs__b1", index_type="HNSW", index_params={},
                         search_params={})
    if fine:
        finish_build(store, record)
        assert client.loaded
    else:
        with pytest.raises(StoreError, match="failed to index collection docs__b1"):
            finish_build(store, record)
        assert not client.loaded
