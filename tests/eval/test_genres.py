"""`assistant eval --genres`: the question file, gold spans, the figures (hand-counted), the README block,
the gate, and the command end to end on the hashing embedder."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import eval.genres as gn
from assistant.cli import app

runner = CliRunner()
HASHING = ["--override", "index.model=hashing", "--override", "answer.judge=none"]

BEES = ("# Bees\n\nHoney bees live in colonies. A colony has one queen, who lays up to 2,000 eggs a day.\n\n"
        "## Work\n\nWorker bees collect nectar from flowers and turn it into honey. They communicate with a waggle dance.\n")
LIGHT = ("Lighthouses\n\nThe Eddystone Lighthouse stands on rocks south of Plymouth. The present tower was built\n"
         "in 1882.\n\nLighthouse keepers trimmed the wicks and kept the lamps burning through the night.\n")

ROWS = [
    {"id": "b1", "doc": "bees.md", "form": "number", "question": "How many eggs does the queen lay a day?",
     "answer": "up to 2,000 eggs a day"},
    {"id": "b2", "doc": "bees.md", "form": "terse", "question": "bees waggle dance", "answer": "waggle dance"},
    {"id": "b3", "doc": "bees.md", "form": "section", "question": "Which section is about nectar?", "answer": "Work"},
    {"id": "l1", "doc": "light.md", "form": "when", "question": "When was the present Eddystone tower built",
     "answer": "1882", "evidence": "The present  tower was built in 1882."},  # white space differs: still found
]


@pytest.fixture()
def fixture(tmp_path) -> Path:
    (tmp_path / "bees.md").write_text(BEES, encoding="utf-8")
    (tmp_path / "light.md").write_text(LIGHT, encoding="utf-8")
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def invoke(*args: str):
    return runner.invoke(app, ["eval", "--genres", *args], catch_exceptions=False)


def test_docstring_examples():
    result = doctest.testmod(gn, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_gold_span_uses_the_evidence_to_pick_the_occurrence():
    doc = "In 1882 a tower. The present tower was built\nin 1882."
    row = gn.GenreRow(id="x", doc="d", form="when", question="?", answer="1882", evidence="tower was built in 1882")
    assert gn.gold_span(doc, row) == (len(doc) - 5, len(doc) - 1)  # the second 1882, not the first
    assert gn.gold_span(doc, row.model_copy(update={"evidence": None})) == (3, 7)
    assert gn.gold_span(doc, row.model_copy(update={"answer": "1999"})) is None


# ---------------------------------------------------------------- judging one answer, with a fake assistant

def _passage(start, end, rank, section="", doc_id="d"):
    return SimpleNamespace(start=start, end=end, rank=rank, section=section, doc_id=doc_id)


def _cite(quote, section=""):
    return SimpleNamespace(quote=quote, section=section)


class FakeAssistant:
    def __init__(self, answer):
        self.answer = answer

    def ask(self, question):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


DOC = "Honey bees live in colonies. A colony has one queen, who lays up to 2,000 eggs a day. They dance."


def test_a_hit_needs_the_whole_gold_span_inside_the_passage_and_key_recall_reads_the_quotes():
    row = gn.GenreRow(id="b1", doc="d", form="number", question="?", answer="up to 2,000 eggs a day")
    gold = gn.gold_span(DOC, row)
    answer = SimpleNamespace(abstained=False, confidence=0.8,
                             passages=[_passage(0, 60, 1), _passage(0, 90, 2), _passage(gold[0], gold[1], 3)],
                             citations=[_cite("A colony has one queen, who lays up to 2,000 eggs a day.")])
    rec = gn.ask_row(FakeAssistant(answer), row, DOC, "d")
    assert rec.hit_rank == 2 and rec.key_in_quotes and rec.quotes == 1 and rec.quoted_chars == 56
    answer.citations = [_cite("A colony has one\n       queen,  who lays up to 2,000 eggs a day.")]  # wrapped, justified
    rec = gn.ask_row(FakeAssistant(answer), row, DOC, "d")
    assert (rec.quoted_chars, rec.visible_chars) == (64, 56)  # white space runs count once
    answer.citations = [_cite("A colony has one queen, who lays up to 2,000")]  # the key cut short: not held
    assert not gn.ask_row(FakeAssistant(answer), row, DOC, "d").key_in_quotes
    answer.passages = [_passage(0, 90, 1, doc_id="other")]  # a passage of another document never hits
    assert gn.ask_row(FakeAssistant(answer), row, DOC, "d").hit_rank is None


def test_an_abstention_holds_nothing_and_an_error_is_recorded_as_one():
    row = gn.GenreRow(id="b1", doc="d", form="what", question="?", answer="2,000 eggs")
    gold = gn.gold_span(DOC, row)
    declined = SimpleNamespace(abstained=True, confidence=0.1, passages=[_passage(0, gold[1], 1)],
                               citations=[_cite("2,000 eggs")])
    rec = gn.ask_row(FakeAssistant(declined), row, DOC, "d")
    assert rec.abstained and rec.hit_rank == 1 and not rec.key_in_quotes and rec.quoted_chars == 0
    rec = gn.ask_row(FakeAssistant(RuntimeError("boom\nmore")), row, DOC, "d")
    assert rec.error == "RuntimeError: boom" and rec.abstained and rec.hit_rank is None


def test_a_section_question_is_judged_by_the_passages_and_quotes_section_titles():
    row = gn.GenreRow(id="s", doc="d", form="section", question="Which section?", answer="Context Line Control")
    answer = SimpleNamespace(abstained=False, confidence=0.9,
                             passages=[_passage(0, 10, 1, "Pattern Syntax"), _passage(10, 20, 2, "Context Line Control")],
                             citations=[_cite("-A NUM", "Context Line Control")])
    rec = gn.ask_row(FakeAssistant(answer), row, "Context Line Control\n-A NUM ...", "d")
    assert rec.hit_rank == 2 and rec.key_in_quotes
    answer.citations = [_cite("Context Line Control is not a section title here", "Pattern Syntax")]
    assert not gn.ask_row(FakeAssistant(answer), row, "Context Line Control", "d").key_in_quotes


def test_figures_per_document_and_overall_by_hand():
    recs = [gn.Record("a", "x", "what", "?", "k", abstained=False, hit_rank=1, key_in_quotes=True, quoted_chars=100, ms=5.0),
            gn.Record("b", "x", "how", "?", "k", abstained=False, hit_rank=4, quoted_chars=50, ms=7.0),
            gn.Record("c", "y", "what", "?", "k", abstained=True, hit_rank=2, ms=9.0),
            gn.Record("d", "y", "why", "?", "k", error="E: x")]
    run = gn.GenreRun(set_file="q.jsonl", model="m", judge="j", records=recs, seconds=1.0)
    res = run.to_dict()
    o = res["overall"]
    assert (o["n"], o["errors"], o["hit@1"], o["hit@3"], o["hit@5"]) == (4, 1, 0.25, 0.5, 0.75)
    assert (o["key_recall"], o["false_abstention"], o["quoted_chars"], o["p50_ms"]) == (0.25, 0.5, 75.0, 7.0)
    assert res["docs"]["y"]["false_abstention"] == 1.0 and res["docs"]["y"]["quoted_chars"] is None
    assert list(res["forms"]) == ["what", "why", "how"]  # in FORMS order
    block = gn.readme_block(res)
    assert "hit@1 **0.25**, hit@3 0.50, answer-key recall **0.25**, false abstention 0.50" in block
    assert "`x` 0.50 / 0.50 / 0.50 / 0.00 / 75 (2); `y` 0.00 / 0.50 / 0.00 / 1.00 / – (2)." in block
    assert "\n" not in block  # one paragraph: it can sit inline in a README line


def test_the_checked_in_gate_section_passes_its_own_run_and_fails_a_worse_one():
    from eval.runner import DEFAULT_GATE

    section = json.loads(DEFAULT_GATE.read_text(encoding="utf-8"))["genres"]
    assert set(section["min"]) == {"hit@1", "hit@3", "hit@5", "key_recall"}
    assert gn.check_gate(section["_measured"], section) == []
    worse = {**section["_measured"], "hit@1": section["min"]["hit@1"] - 0.01,
             "quoted_chars": section["_measured"]["quoted_chars"] * 1.31}
    failures = gn.check_gate(worse, section)
    assert len(failures) == 2 and failures[0].startswith("hit@1 = ")
    with pytest.raises(ValueError, match="bogus"):
        gn.check_gate(worse, {"min": {"bogus": 1}})


def test_the_bundled_question_file_loads_and_every_answer_is_in_its_document():
    from index.loading import load_document

    rows = gn.load_rows()
    assert len(rows) >= 120 and len({r.doc for r in rows}) >= 3
    for doc in {r.doc for r in rows}:
        mine = [r for r in rows if r.doc == doc]
        assert len(mine) >= 40, doc
        text = load_document(gn.DATA / doc).text
        assert [r.id for r in mine if gn.gold_span(text, r) is None] == []


# ---------------------------------------------------------------- the command, on the hashing embedder

def test_cli_runs_prints_json_and_reuses_its_cached_indexes(fixture):
    result = invoke("--set", str(fixture), "--json", "-", *HASHING)
    assert result.exit_code == 0, result.output
    res = json.loads(result.stdout)
    assert [r["id"] for r in res["records"]] == ["b1", "b2", "b3", "l1"] and list(res["docs"]) == ["bees.md", "light.md"]
    assert res["meta"]["unlocated"] == [] and res["overall"]["errors"] == 0 and "gate" not in res
    assert res["meta"]["model"] == "hashing" and res["meta"]["judge"] == "none"
    for r in res["records"]:
        assert (r["quotes"] == 0) == r["abstained"] and (r["quoted_chars"] > 0) == (not r["abstained"])
    hit1 = sum(r["hit_rank"] == 1 for r in res["records"]) / 4
    assert res["overall"]["hit@1"] == pytest.approx(hit1)
    again = json.loads(invoke("--set", str(fixture), "--json", "-", *HASHING).stdout)
    assert [d["index"] for d in again["documents"].values()] == [d["index"] for d in res["documents"].values()]
    assert [r["hit_rank"] for r in again["records"]] == [r["hit_rank"] for r in res["records"]]


def test_cli_table_readme_report_and_gate(fixture, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("x\n**Other genres**: <!-- genres-figures:start -->old<!-- genres-figures:end -->\ny\n", encoding="utf-8")
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"genres": {"min": {"hit@5": 0.0}, "max": {"errors": 0}}}))
    result = invoke("--set", str(fixture), *HASHING, "--readme", str(readme), "--report", str(tmp_path / "rep"),
                    "--gate", str(gate))
    assert result.exit_code == 0, result.output
    assert "answer-key recall" in result.stdout and "4 questions about 2 document(s)" in result.stdout
    assert "(genres): passed" in result.output
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("x\n**Other genres**: <!-- genres-figures:start -->Run of ") and text.endswith("<!-- genres-figures:end -->\ny\n")
    assert "old" not in text and "`bees.md`" in text and text.count("\n") == 3
    report = (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# assistant eval --genres questions.jsonl") and "## By form" in report
    gate.write_text(json.dumps({"genres": {"min": {"hit@5": 1.01}}}))
    result = invoke("--set", str(fixture), *HASHING, "--gate", str(gate))
    assert result.exit_code == 1 and "(genres): FAILED" in result.stderr and "hit@5 = " in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--split", "test"], "it does not take --split"),
    (["--decline"], "it does not take --decline"),
    (["--index", "x", "--no-baseline"], "it does not take --index, --no-baseline"),
    (["--override", "answer.nope=1"], "unknown setting answer.nope"),
    (["--gate", "/no/such/gate.json"], "cannot read gate"),
    (["--readme", "/no/such/README.md"], "cannot update /no/such/README.md"),
])
def test_cli_usage_errors_exit_2_with_one_line(fixture, args, message):
    result = invoke("--set", str(fixture), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_cli_bad_question_file_missing_document_and_readme_without_block(fixture, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps({**ROWS[1], "form": "riddle"}) + "\n", encoding="utf-8")
    result = invoke("--set", str(bad))
    assert result.exit_code == 2 and "bad.jsonl:2: form:" in result.stderr and result.stderr.count("\n") == 1
    gone = tmp_path / "gone.jsonl"
    gone.write_text(json.dumps({**ROWS[0], "doc": "none.md"}) + "\n", encoding="utf-8")
    result = invoke("--set", str(gone), *HASHING)
    assert result.exit_code == 2 and "none.md: cannot read" in result.stderr
    readme = tmp_path / "R.md"
    readme.write_text("no block\n", encoding="utf-8")
    result = invoke("--set", str(fixture), "--readme", str(readme))
    assert result.exit_code == 2 and "has no <!-- genres-figures:start -->" in result.stderr


@pytest.mark.integration
def test_the_bundled_question_file_runs_with_the_real_model():
    rows = [r for r in gn.load_rows() if r.doc == "grep.1.txt"][:10]
    res = gn.run_genres(gn.DEFAULT_SET, rows, progress=False).to_dict()
    assert res["meta"]["n"] == 10 and res["overall"]["errors"] == 0 and res["meta"]["unlocated"] == []
    assert res["overall"]["hit@5"] > 0


def test_the_tuning_question_file_loads_and_every_answer_is_in_its_document():
    from index.loading import load_document

    path = gn.DATA.parent / "genres-tuning" / "questions.jsonl"
    rows = gn.load_rows(path)
    assert len(rows) >= 50 and {r.doc for r in rows} == {"json.html", "xargs.1.txt"}
    assert not {r.doc for r in rows} & {r.doc for r in gn.load_rows()}  # other documents than the held-out set's
    for doc in {r.doc for r in rows}:
        text = load_document(path.parent / doc).text
        assert [r.id for r in rows if r.doc == doc and gn.gold_span(text, r) is None] == []


def test_the_training_question_file_loads_and_shares_no_document_with_a_set_it_is_measured_on():
    from index.loading import load_document

    path = gn.DATA.parent / "genres-train" / "questions.jsonl"
    rows = gn.load_rows(path)
    docs = {r.doc for r in rows}
    assert len(rows) >= 700 and len(docs) == 8 and len({r.id for r in rows}) == len(rows)
    for other in ("genres", "genres-tuning", "genres-check"):
        assert not docs & {r.doc for r in gn.load_rows(gn.DATA.parent / other / "questions.jsonl")}, other
    for doc in docs:
        text = load_document(path.parent / doc).text
        assert [r.id for r in rows if r.doc == doc and gn.gold_span(text, r) is None] == []
