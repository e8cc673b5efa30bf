"""Safe defaults: nothing unpickles data, the model's weights are checked before use, no code
reaches the network at run time, and the server opens no share link.

(Index paths that try to leave the index folder are in test_corruption.py; the server's
host and login flags are tested with the chat in tests/ui/test_cli.py.)
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from reliability.helpers import CLI, ROOT, network_guard

PACKAGES = ["assistant", "index", "ui", "eval", "bench", "train"]

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "jsonpickle"}
UNSAFE_CALLS = {("torch", "load"), ("pd", "read_pickle"), ("pandas", "read_pickle"), ("yaml", "load"),
                ("yaml", "unsafe_load")}
# The benchmark's *peer* is a LangChain RAG whose FAISS store can only be read back through
# pickle (`allow_dangerous_deserialization=True`). It reads files this process wrote moments
# before, in a temporary folder, for the comparison only; the assistant never does this.
ALLOWED = {("bench/peer.py", "allow_dangerous_deserialization=True")}


def unsafe_uses(source: str, filename: str = "<source>") -> list[str]:
    """Lines of `source` that could unpickle data, run arbitrary code on load, or open a share link."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in UNSAFE_MODULES:
            found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and (func.value.id, func.attr) in UNSAFE_CALLS:
                found.append(f"{where}: {func.value.id}.{func.attr}(...)")
            if isinstance(func, ast.Name) and func.id in ("eval", "exec"):
                found.append(f"{where}: {func.id}(...)")
            for kw in node.keywords:
                if kw.arg in ("allow_pickle", "allow_dangerous_deserialization", "share", "trust_remote_code") \
                        and isinstance(kw.value, ast.Constant) and kw.value.value is True:
                    found.append(f"{where}: {kw.arg}=True")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in UNSAFE_MODULES:
            found.append(f"{where}: {node.value.id}.{node.attr}")
    return found


def test_the_scanner_finds_what_it_looks_for():
    source = textwrap.dedent("""
        import pickle, os
        from joblib import load
        import torch
        x = torch.load("m.pt")
        y = np.load("e.npy", allow_pickle=True)
        demo.launch(share=True)
        SentenceTransformer("m", trust_remote_code=True)
        eval("1+1")
        ok = np.load("e.npy", allow_pickle=False)
    """)
    found = unsafe_uses(source)
    assert [f.split(": ", 1)[1] for f in found] == [
        "import pickle", "from joblib import ...", "torch.load(...)", "allow_pickle=True", "share=True",
        "trust_remote_code=True", "eval(...)"]


def test_no_package_unpickles_data_or_opens_a_share_link():
    files = sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))
    assert len(files) > 15
    found = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        found += [f for f in unsafe_uses(path.read_text(encoding="utf-8"), rel)
                  if (rel, f.split(": ", 1)[1]) not in ALLOWED]
    assert found == []


class _Booby:
    """Touches a marker file if it is ever unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_the_index_is_written_and_read_without_pickle(tmp_path, tiny_corpus):
    """An index's files are JSON, JSON lines, a plain .npy array and a FAISS file; a pickled
    array slipped into an index, with a manifest updated to match, is refused, never unpickled."""
    import hashlib

    import numpy as np

    from index import BuildSettings, CorruptIndex, build_index, load_index
    from index.store import read_current

    index = tmp_path / "index"
    build_index([tiny_corpus], index, BuildSettings(model="hashing"), progress=False)
    build = index / read_current(index)
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    for name in ("documents.jsonl", "chunks.jsonl"):
        for line in (build / name).read_text(encoding="utf-8").splitlines():
            json.loads(line)
    assert np.load(build / "embeddings.npy", allow_pickle=False).dtype == np.float32

    marker = tmp_path / "unpickled"
    np.save(build / "embeddings.npy", np.array([_Booby(marker)], dtype=object), allow_pickle=True)
    data = (build / "embeddings.npy").read_bytes()
    manifest["files"]["embeddings.npy"] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CorruptIndex, match="embeddings.npy"):
        load_index(index)
    assert not marker.exists()
    np.load(build / "embeddings.npy", allow_pickle=True)  # the trap works: loading with pickle springs it
    assert marker.exists()


# ---------------------------------------------------------------- model weights


@pytest.fixture
def tampered_model(tmp_path) -> Path:
    from index.embedding import default_model_path

    copy = tmp_path / "model"
    shutil.copytree(default_model_path(), copy)
    weights = copy / "model.safetensors"
    with open(weights, "r+b") as f:
        f.seek(weights.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    return copy


def test_the_bundled_weights_match_the_known_hash():
    from index.embedding import DEFAULT_WEIGHTS_SHA256, default_model_path, file_sha256, weights_fingerprint

    assert weights_fingerprint(default_model_path(), DEFAULT_WEIGHTS_SHA256) == DEFAULT_WEIGHTS_SHA256
    assert file_sha256(default_model_path() / "model.safetensors") == DEFAULT_WEIGHTS_SHA256


def test_weights_with_one_flipped_bit_are_refused_before_use(tampered_model, monkeypatch):
    import index.embedding as embedding
    from index import ModelError

    with pytest.raises(ModelError, match="expected"):
        embedding.weights_fingerprint(tampered_model, embedding.DEFAULT_WEIGHTS_SHA256)
    # The default model resolved to the tampered copy: neither the query path nor a build runs it.
    monkeypatch.setattr(embedding, "default_model_path", lambda: tampered_model)
    embedder = embedding.get_embedder("default")
    with pytest.raises(ModelError, match="reinstall"):
        embedder.embed_query("What does North Korea want?")
    with pytest.raises(ModelError, match="reinstall"):
        embedder.embed(["A sentence."])


def test_the_cli_refuses_tampered_weights_in_one_line(tampered_model, monkeypatch, tmp_path, tiny_corpus):
    from typer.testing import CliRunner

    import index.embedding as embedding
    from assistant.cli import app

    monkeypatch.setattr(embedding, "default_model_path", lambda: tampered_model)
    monkeypatch.delenv("ASSISTANT_INDEX__MODEL", raising=False)
    result = CliRunner().invoke(app, ["index", "build", str(tiny_corpus), "--out", str(tmp_path / "i"),
                                      "--model", "default"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "model.safetensors" in lines[0], result.output
    assert not (tmp_path / "i" / "CURRENT").exists()


# ---------------------------------------------------------------- no network at run time



@pytest.mark.integration
@pytest.mark.slow
def test_the_real_model_builds_and_answers_with_the_network_cut(tmp_path, article_path):
    """With the real model, with no HF_*_OFFLINE variables set by us: the code must keep itself offline."""
    env, log = network_guard(tmp_path)
    env = {k: v for k, v in env.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ASSISTANT_INDEX__MODEL")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), HOME=str(tmp_path / "home"))
    probe = subprocess.run([*CLI[:1], "-c", "import socket; socket.create_connection(('192.0.2.1', 80), 1)"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert "network blocked by the test" in probe.stderr  # the guard is really in place
    log.unlink()

    index = tmp_path / "index"
    for args in (["index", "build", str(article_path), "--out", str(index)],
                 ["ask", "What does North Korea hope to get from Russia?", "--index", str(index), "--json"],
                 ["retrieve", "artillery shells", "--index", str(index)],
                 ["ask", "When did the Soviet Union collapse?"]):  # the default index, built on first use
        proc = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert proc.returncode == 0, (args, proc.stderr)
        assert not log.exists(), (args, log.read_text())
    assert json.loads(subprocess.run([*CLI, "ask", "Who is Lavrov?", "--index", str(index), "--json"], env=env,
                                     capture_output=True, text=True, timeout=600).stdout)["question"]
    assert not log.exists()
