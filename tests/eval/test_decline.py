"""`assistant eval --decline`: loading the question file, resolving documents, the figures (hand-computed
from a predictions file), the README block, and the command end to end on the hashing embedder."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import eval.decline as dc
from assistant.cli import app

runner = CliRunner()
HASHING = ["--override", "index.model=hashing", "--override", "answer.judge=none"]

BEES = ("# Bees\n\nHoney bees live in colonies. A colony has one queen, who lays up to 2,000 eggs a day.\n\n"
        "Worker bees collect nectar from flowers and turn it into honey. They communicate with a waggle dance.\n")
LIGHT = ("# Lighthouses\n\nThe Eddystone Lighthouse stands on rocks south of Plymouth. The present tower was built "
         "in 1882.\n\nLighthouse keepers trimmed the wicks and kept the lamps burning through the night.\n")


def row(id, kind, form, style, question, doc="file:docs/bees.md", split="test", evidence=()):
    return {"id": id, "split": split, "doc": doc, "kind": kind, "form": form, "style": style, "question": question,
            **({"evidence": list(evidence)} if evidence else {})}


A, B = "file:docs/bees.md", "file:docs/light.md"
ROWS = [
    row("o1", "off-topic", "what", "plain", "What is the capital of Peru?", A),
    row("o2", "off-topic", "who", "lowercase", "who won the 1998 world cup?", B),
    row("o3", "off-topic", "what", "typo", "What is the captial of Chile?", B),
    row("n1", "near-topic", "how", "plain", "How long does a queen bee live?", A),
    row("n2", "near-topic", "who", "no-mark", "Who designed the Eddystone Lighthouse", B),
    row("a1", "answerable", "how", "plain", "How many eggs does the queen lay a day?", A,
        evidence=["lays up to 2,000 eggs a day"]),
    row("a2", "answerable", "when", "no-mark", "When was the present Eddystone tower built", B,
        evidence=["The present  tower was built\nin 1882."]),  # whitespace differs from the document: still found
    row("a3", "answerable", "what", "plain", "What do worker bees collect?", A, evidence=["collect nectar from flowers"]),
    row("c1", "near-topic", "who", "plain", "Who keeps the lighthouse today?", B, split="calibration"),
]


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def fixture(tmp_path) -> Path:
    """Two small documents and the question file beside them (documents named with `file:` keys)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "bees.md").write_text(BEES, encoding="utf-8")
    (tmp_path / "docs" / "light.md").write_text(LIGHT, encoding="utf-8")
    return write_jsonl(tmp_path / "questions.jsonl", ROWS)


def invoke(*args: str):
    return runner.invoke(app, ["eval", "--decline", *args], catch_exceptions=False)


# ---------------------------------------------------------------- loading

def test_rows_load_by_split(fixture):
    assert [r.id for r in dc.load_rows(fixture)] == ["o1", "o2", "o3", "n1", "n2", "a1", "a2", "a3"]
    assert [r.id for r in dc.load_rows(fixture, "calibration")] == ["c1"]
    assert len(dc.load_rows(fixture, "all")) == 9
    with pytest.raises(dc.DeclineDataError, match="unknown split 'dev'"):
        dc.load_rows(fixture, "dev")


GOOD = row("x1", "off-topic", "what", "plain", "What is the capital of Peru?", "bundled")


@pytest.mark.parametrize("line, message", [
    ("{not json", ":2: not valid JSON"),
    (json.dumps(GOOD | {"kind": "sideways"}), ":2: kind: Input should be 'off-topic', 'near-topic' or 'answerable'"),
    (json.dumps(GOOD | {"form": "whence"}), ":2: form: Input should be"),
    (json.dumps(GOOD | {"split": "dev"}), ":2: split: Input should be 'test' or 'calibration'"),
    (json.dumps(GOOD | {"style": "shouting"}), ":2: style: Input should be"),
    (json.dumps(GOOD | {"doc": "web:x"}), ":2: doc: String should match pattern"),
    (json.dumps(GOOD | {"evidence": ["Peru"]}), ":2: evidence on a off-topic row (only answerable rows have evidence)"),
    (json.dumps(GOOD | {"kind": "answerable"}), ":2: an answerable row needs evidence"),
    (json.dumps(GOOD | {"extra": 1}), ":2: extra: Extra inputs are not permitted"),
    (json.dumps(GOOD), ":2: duplicate id 'x1'"),
])
def test_a_bad_line_is_one_line_naming_the_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(GOOD) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(dc.DeclineDataError) as err:
        dc.load_rows(path, "all")
    assert message in str(err.value) and str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(dc.DeclineDataError, match="cannot read .*nope.jsonl: No such file") as err:
        dc.load_rows(tmp_path / "nope.jsonl")
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- documents

def test_document_keys_resolve_to_their_files(tmp_path, fixture):
    from assistant.settings import DEFAULT_DOCUMENT

    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"version": "v2.0", "data": [{"title": "Solar_energy", "paragraphs": [
        {"context": "The Sun shines.", "qas": []}]}]}), encoding="utf-8")
    (tmp_path / "decline").mkdir()
    (tmp_path / "decline" / "leaflet.pdf").write_bytes(b"%PDF-1.4 not really")
    sources = dc.resolve_sources(["bundled", A, "squad:solar energy", "pdf:leaflet", A], tmp_path, [squad])
    assert list(sources) == ["bundled", A, "squad:solar energy", "pdf:leaflet"]  # each document once
    assert sources["bundled"].data == DEFAULT_DOCUMENT.read_bytes()
    assert sources[A].data.decode() == BEES and sources[A].name == "bees.md"
    assert sources["squad:solar energy"].data.decode() == "# Solar energy\n\nThe Sun shines.\n"
    assert sources["squad:solar energy"].squad_title == "Solar_energy"
    assert sources["pdf:leaflet"].name == "leaflet.pdf"


@pytest.mark.parametrize("key, message", [
    ("file:docs/none.md", "file:docs/none.md: cannot read"),
    ("pdf:none", "pdf:none: cannot read"),
    ("squad:Nope", "squad:Nope: no SQuAD file at"),  # not in the first file, and the second is missing
])
def test_a_document_that_is_not_there_is_one_line(tmp_path, key, message):
    from eval.squad import HELDOUT

    with pytest.raises(dc.DeclineDataError, match=message) as err:
        dc.resolve_sources([key], tmp_path, [HELDOUT, tmp_path / "missing.json"])
    assert "\n" not in str(err.value)


def test_squad_titles_are_looked_up_in_order():
    files = dc.squad_files()
    assert files[0].name == "squad-heldout.json" and files[1].name == "squad2-train-10-articles.json"
    source = dc.resolve_sources(["squad:Spectre_(2015_film)"], Path("."), files[:1])["squad:Spectre_(2015_film)"]
    assert source.data.decode().startswith("# Spectre (2015 film)\n\n")
    if not all(f.is_file() for f in files):
        pytest.skip("../shared/data is not beside the project")
    keys = ["squad:IPod", "squad:Computational_complexity_theory"]
    assert list(dc.resolve_sources(keys, Path("."))) == keys


def test_materialised_documents_are_keyed_by_content_and_model(fixture):
    source = dc.resolve_sources([A], fixture.parent)[A]
    path = dc.materialise(source, "hashing")
    assert path.read_text(encoding="utf-8") == BEES and path.name == "bees.md"
    assert dc.materialise(source, "hashing") == path and dc.materialise(source, "default") != path
    assert "grounded-assistant" in str(path) and "decline" in path.parts


# ---------------------------------------------------------------- figures, from a predictions file

def predictions(with_quotes: bool = True) -> list[dict]:
    start = BEES.index("lays up to")
    preds = [
        {"id": "o1", "abstained": True, "confidence": 0.1},
        {"id": "o2", "abstained": False, "confidence": 0.7},
        # o3 missing: counts as answered, with no confidence
        {"id": "n1", "abstained": False, "confidence": 0.4},
        {"id": "n2", "abstained": True, "confidence": 0.2},
        {"id": "a1", "abstained": False, "confidence": 0.9, "citations": [{"start": start, "end": start + 20}]},
        {"id": "a2", "abstained": False, "confidence": 0.8, "quotes": ["Lighthouse keepers trimmed the wicks"]},
        {"id": "a3", "abstained": True, "confidence": 0.3},
        {"id": "zz", "abstained": True},  # not in the set: ignored
    ]
    if not with_quotes:
        for p in preds:
            p.pop("citations", None), p.pop("quotes", None)
    return preds


def scored(fixture, preds) -> tuple[dict, list[str]]:
    path = write_jsonl(fixture.parent / "preds.jsonl", preds)
    run, missing = dc.score_predictions(fixture, dc.load_rows(fixture), dc.load_predictions(path), str(path))
    return run.to_dict(), missing


def test_predictions_are_scored_by_hand_counts(fixture):
    res, missing = scored(fixture, predictions())
    assert missing == ["o3"]
    o, k = res["overall"], res["kinds"]
    assert (o["n"], o["declined"], o["missing"], o["errors"]) == (8, 3 / 8, 1, 0)  # o1, n2, a3 declined
    assert (k["off-topic"]["n"], k["off-topic"]["declined"]) == (3, 1 / 3)
    assert k["off-topic"]["max_wrong_confidence"] == 0.7  # o3 was answered, but without a confidence
    assert (k["off-topic"]["wrong_answered"], k["off-topic"]["answered_above_0.5"]) == (2, 1)
    assert (k["near-topic"]["declined"], k["near-topic"]["max_wrong_confidence"]) == (0.5, 0.4)
    assert k["answerable"]["false_abstention"] == pytest.approx(1 / 3)
    assert k["answerable"]["holds"] == pytest.approx(1 / 3)  # a1 quotes the evidence, a2 another line, a3 declined
    assert k["answerable"]["max_wrong_confidence"] is None and k["answerable"]["declined"] == pytest.approx(1 / 3)
    assert {f: g["declined"] for f, g in res["forms"]["off-topic"].items()} == {"who": 0.0, "what": 0.5}
    assert {d: g["declined"] for d, g in res["docs"]["off-topic"].items()} == {A: 1.0, B: 0.0}
    assert {s: g["declined"] for s, g in res["styles"]["off-topic"].items()} == {"plain": 1.0, "lowercase": 0.0,
                                                                                 "typo": 0.0}
    assert res["docs"]["near-topic"][B]["max_wrong_confidence"] is None  # n2 declined
    assert res["headline"] == {
        "off_topic_declined": 1 / 3, "off_topic_min_form_declined": 0.0, "off_topic_worst_form": "who",
        "off_topic_max_wrong_confidence": 0.7, "off_topic_answered_above_0.5": 1, "near_topic_declined": 0.5,
        "near_topic_max_wrong_confidence": 0.4, "answerable_false_abstention": pytest.approx(1 / 3),
        "answerable_holds": pytest.approx(1 / 3), "errors": 0}
    assert {n: t["met"] for n, t in res["targets"].items()} == {
        "off_topic_declined": False, "off_topic_min_form_declined": False, "off_topic_answered_above_0.5": False,
        "near_topic_declined": False}
    by_id = {r["id"]: r for r in res["records"]}
    assert by_id["a1"]["holds"] is True and by_id["a1"]["quotes"] == 1 and by_id["a2"]["holds"] is False
    assert by_id["a2"]["evidence_found"] is True and by_id["o3"]["error"] == "missing from predictions"
    assert res["meta"]["model"] is None and res["meta"]["evidence_not_found"] == []


def test_holds_is_null_when_predictions_give_no_quotes(fixture):
    res, _ = scored(fixture, predictions(with_quotes=False))
    assert res["kinds"]["answerable"]["holds"] is None and res["headline"]["answerable_holds"] is None
    assert res["kinds"]["answerable"]["false_abstention"] == pytest.approx(1 / 3)  # the rest is scored as before


def test_a_citation_must_match_the_document_at_its_offsets(fixture):
    start = BEES.index("lays up to")
    preds = predictions()
    preds[4]["citations"] = [{"start": start, "end": start + 4, "quote": "not this"}]
    res, _ = scored(fixture, preds)
    assert {r["id"]: r["holds"] for r in res["records"]}["a1"] is False


def test_every_off_topic_question_declined_gives_zero_for_the_gate_not_null():
    recs = [dc.RowRecord("a", "d", "off-topic", "why", "plain", "q", True, 0.3),
            dc.RowRecord("b", "d", "answerable", "why", "plain", "q", False, 0.9, holds=True)]
    figs = dc.figures(recs)
    assert figs["kinds"]["off-topic"]["max_wrong_confidence"] is None
    head = dc.headline(figs)
    assert head["off_topic_max_wrong_confidence"] == 0.0 and head["near_topic_declined"] is None
    assert head["off_topic_answered_above_0.5"] == 0 and dc.targets(head)["near_topic_declined"]["met"] is None


def test_docstring_examples():
    result = doctest.testmod(dc, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_the_readme_block_tables_by_form_and_document(fixture, tmp_path):
    res, _ = scored(fixture, predictions())
    block = dc.markdown_block(res)
    assert "| form | off-topic declined | near-topic declined | answerable false abstention |" in block
    assert "| what | 0.50 (2) | – | 1.00 (1) | – |" in block  # o1 declined, o3 answered without a confidence; a3 declined
    assert "| who | 0.00 (1) | 1.00 (1) | – | 0.700 |" in block
    assert "| overall | 0.33 (3) | 0.50 (2) | 0.33 (3) | 0.700 |" in block
    assert f"| {B} | 0.00 (2) | 1.00 (1) | 0.00 (1) | 0.700 |" in block
    assert "on the test split of `questions.jsonl`: 8 questions (3 off-topic, 2 near-topic, 3 answerable)" in block
    assert "Targets: off-topic declined >= 0.99 overall (this run 0.33, missed)" in block
    assert "near-topic declined >= 0.85 (0.50, missed)" in block


# ---------------------------------------------------------------- the gate

def test_the_checked_in_gate_holds_the_off_topic_targets_and_its_measured_run():
    from eval.runner import DEFAULT_GATE

    section = json.loads(DEFAULT_GATE.read_text(encoding="utf-8"))["decline"]
    assert set(section["min"]) == {"off_topic_declined", "off_topic_min_form_declined", "near_topic_declined"}
    assert set(section["max"]) == {"off_topic_max_wrong_confidence", "answerable_false_abstention"}
    assert section["min"]["off_topic_declined"] >= 0.99 and section["min"]["off_topic_min_form_declined"] >= 0.95
    assert dc.check_gate(section["_measured"], section) == []  # the run it was based on passes
    worst = {"off_topic_declined": 0.0, "off_topic_min_form_declined": 0.0, "near_topic_declined": 0.0,
             "off_topic_max_wrong_confidence": 1.0, "answerable_false_abstention": 1.0}
    assert len(dc.check_gate(worst, section)) == 5  # and a system that answers everything fails every bound
    with pytest.raises(ValueError, match="bogus"):
        dc.check_gate(worst, {"min": {"bogus": 1}})


# ---------------------------------------------------------------- the command, on the hashing embedder

def _consistent(res: dict) -> None:
    """Figures recomputed from the records match the reported ones (whatever the decision did)."""
    for kind, group in res["kinds"].items():
        rs = [r for r in res["records"] if r["kind"] == kind]
        assert group["n"] == len(rs) and group["declined"] == pytest.approx(sum(r["abstained"] for r in rs) / len(rs))
    for r in res["records"]:
        assert (r["quotes"] == 0) == r["abstained"] and (r["holds"] is None) == (r["kind"] != "answerable")
        assert r["abstained"] or r["confidence"] is not None


def test_cli_runs_the_test_split_and_prints_json(fixture):
    result = invoke("--set", str(fixture), "--split", "test", "--no-gate", "--json", "-", *HASHING)
    assert result.exit_code == 0, result.output
    res = json.loads(result.stdout)
    assert set(res) == {"meta", "headline", "targets", "overall", "kinds", "forms", "docs", "styles", "documents",
                        "records"}
    assert [r["id"] for r in res["records"]] == ["o1", "o2", "o3", "n1", "n2", "a1", "a2", "a3"]
    assert res["meta"]["split"] == "test" and res["meta"]["model"] == "hashing" and res["meta"]["judge"] == "none"
    assert res["meta"]["evidence_not_found"] == [] and res["overall"]["errors"] == 0
    assert set(res["documents"]) == {A, B} and all(d["chunks"] >= 1 for d in res["documents"].values())
    _consistent(res)
    # each document's index is cached: a second run (default split: test) reuses it and answers the same
    again = invoke("--set", str(fixture), "--no-gate", "--json", "-", *HASHING)
    res2 = json.loads(again.stdout)
    assert [d["index"] for d in res2["documents"].values()] == [d["index"] for d in res["documents"].values()]
    assert [(r["abstained"], r["confidence"]) for r in res2["records"]] == \
        [(r["abstained"], r["confidence"]) for r in res["records"]]


def test_cli_prints_tables_writes_report_json_and_readme(fixture, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- decline-figures:start -->\nold\n<!-- decline-figures:end -->\ny\n", encoding="utf-8")
    out = tmp_path / "out" / "r.json"
    result = invoke("--set", str(fixture), "--split", "calibration", *HASHING, "--readme", str(readme),
                    "--report", str(tmp_path / "rep"), "--json", str(out))
    assert result.exit_code == 0, result.output
    assert "near-topic declined" in result.stdout and "1 questions (calibration) about 1 document(s)" in result.stdout
    assert "gate" not in result.output  # not the default file: no gate by default
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("x\n<!-- decline-figures:start -->\nRun of ") and text.endswith("<!-- decline-figures:end -->\ny\n")
    assert "\nold\n" not in text and "on the calibration split of `questions.jsonl`: 1 questions" in text
    assert "embedding model hashing, judge none" in text and f"| {B} |" in text
    assert json.loads(out.read_text(encoding="utf-8"))["meta"]["n"] == 1
    report = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# assistant eval --decline questions.jsonl") and "## By style" in report
    assert json.loads((tmp_path / "rep" / "results.json").read_text(encoding="utf-8"))["meta"]["split"] == "calibration"


def test_cli_gate_failure_exits_1(fixture, tmp_path):
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"decline": {"min": {"off_topic_declined": 1.01}, "max": {"errors": 0}}}))
    result = invoke("--set", str(fixture), *HASHING, "--gate", str(gate))
    assert result.exit_code == 1
    assert "(decline): FAILED" in result.stderr and "off_topic_declined = " in result.stderr
    assert "is below the minimum 1.01" in result.stderr
    gate.write_text(json.dumps({"decline": {"min": {"off_topic_declined": 0}}}))
    result = invoke("--set", str(fixture), *HASHING, "--gate", str(gate))
    assert result.exit_code == 0 and "(decline): passed" in result.output


def test_cli_scores_predictions_without_running_a_model(fixture, tmp_path):
    preds = write_jsonl(tmp_path / "preds.jsonl", predictions())
    result = invoke("--set", str(fixture), "--predictions", str(preds), "--json", "-")
    assert result.exit_code == 0, result.output
    res = json.loads(result.stdout)
    assert res["headline"]["off_topic_declined"] == pytest.approx(1 / 3) and res["meta"]["system"].startswith("predictions")
    assert "1 question(s) missing" in result.stderr and "(first: o3)" in result.stderr
    # an explicit gate applies to predictions too
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"decline": {"max": {"off_topic_max_wrong_confidence": 0.5}}}))
    result = invoke("--set", str(fixture), "--predictions", str(preds), "--gate", str(gate))
    assert result.exit_code == 1 and "off_topic_max_wrong_confidence = 0.700 is above the maximum 0.5" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--split", "dev"], "unknown split 'dev' for --decline"),
    (["--index", "x"], "it does not take --index"),
    (["--squad", "x.json", "--no-baseline"], "it does not take --squad, --no-baseline"),
    (["--predictions", "p.jsonl", "--readme", "R.md"], "it does not take --readme or --override"),
    (["--predictions", "p.jsonl", "--override", "answer.judge=none"], "it does not take --readme or --override"),
    (["--override", "answer.nope=1"], "unknown setting answer.nope"),
    (["--gate", "/no/such/gate.json"], "cannot read gate"),
    (["--readme", "/no/such/README.md"], "cannot update /no/such/README.md"),
])
def test_cli_usage_errors_exit_2_with_one_line(fixture, args, message):
    result = invoke("--set", str(fixture), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_cli_bad_question_file_and_gate_without_a_section_exit_2(fixture, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    result = invoke("--set", str(bad))
    assert result.exit_code == 2 and "bad.jsonl:2: duplicate id 'o1'" in result.stderr
    assert result.stderr.count("\n") == 1
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"squad": {}}))
    result = invoke("--set", str(fixture), "--gate", str(gate))
    assert result.exit_code == 2 and 'has no "decline" section' in result.stderr
    write_jsonl(tmp_path / "missing-doc.jsonl", [row("m1", "off-topic", "what", "plain", "What?", "file:none.md")])
    result = invoke("--set", str(tmp_path / "missing-doc.jsonl"), *HASHING)
    assert result.exit_code == 2 and "file:none.md: cannot read" in result.stderr


def test_plain_eval_keeps_dev_as_its_default_split(hashing_article):
    result = runner.invoke(app, ["eval", "--split", "calibration", "--no-gate"], catch_exceptions=False)
    assert result.exit_code == 2 and "unknown split 'calibration': use dev, test or all" in result.stderr
    result = runner.invoke(app, ["eval", "--index", hashing_article.info().folder, "--no-baseline", "--no-gate",
                                 "--override", "answer.judge=none", "--json", "-"], catch_exceptions=False)
    assert result.exit_code == 0 and json.loads(result.stdout)["meta"]["split"] == "dev"


@pytest.mark.integration
def test_the_bundled_question_file_runs_with_the_real_model():
    if not dc.DEFAULT_SET.is_file():
        pytest.skip("eval/data/decline.jsonl is not there yet")
    rows = [r for r in dc.load_rows(dc.DEFAULT_SET, "test") if r.doc == "bundled"]
    res = dc.run_decline(dc.DEFAULT_SET, rows, progress=False).to_dict()
    assert res["meta"]["n"] == len(rows) and res["overall"]["errors"] == 0
    assert res["meta"]["evidence_not_found"] == []
    _consistent(res)


def test_the_bundled_question_file_loads_and_its_evidence_is_in_its_documents():
    if not dc.DEFAULT_SET.is_file():
        pytest.skip("eval/data/decline.jsonl is not there yet")
    split = "all" if all(f.is_file() for f in dc.squad_files()) else "test"  # calibration needs ../shared/data
    rows = dc.load_rows(dc.DEFAULT_SET, split)
    assert {r.split for r in rows} == ({"test", "calibration"} if split == "all" else {"test"})
    run, missing = dc.score_predictions(dc.DEFAULT_SET, rows, {}, "nothing", split)  # reads every document, no model
    assert len(missing) == len(rows)
    assert [r.id for r in run.records if r.evidence_found is False] == []
