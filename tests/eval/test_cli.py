"""`assistant eval` end to end, in-process through the `assistant` app: tables, JSON, report, gate, predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from eval.metrics import locate
from eval.schema import DEFAULT_SET, load_items

runner = CliRunner()
TEST_ITEMS = load_items(DEFAULT_SET, "test")
# Loose on purpose: the hashing embedder is a fake, these only need a working system to pass.
FAKE_GATE = {"min": {"quote_validity": 1.0, "key_recall": 0.1}, "max": {"false_abstention": 0.9}}


@pytest.fixture(scope="module")
def hashing_index(hashing_article) -> str:
    return hashing_article.info().folder


def invoke(*args: str):
    return runner.invoke(app, ["eval", *args], catch_exceptions=False)


def write_gate(tmp_path: Path, gate: dict) -> str:
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(gate), encoding="utf-8")
    return str(path)


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_eval_prints_tables_and_writes_json_and_report(tmp_path, hashing_index):
    out, report = tmp_path / "results.json", tmp_path / "report"
    result = invoke("--index", hashing_index, "--split", "test", "--no-gate", "--json", str(out), "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "ours:" in result.stdout and "baseline:" in result.stdout
    for row in ("factoid", "unanswerable_near", "overall"):
        assert row in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["systems"]) == {"ours", "baseline"}
    assert data["systems"]["ours"]["overall"]["n"] == len(TEST_ITEMS)
    assert data["systems"]["ours"]["overall"]["quote_validity"] == 1.0
    assert data["systems"]["baseline"]["overall"]["abstained"] == 0.0
    assert {r["id"] for r in data["systems"]["ours"]["items"]} == {it.id for it in TEST_ITEMS}
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "| Retrieval hit@1 |" in md and "## Per category — baseline" in md
    for png in ("categories.png", "abstention.png"):
        assert (report / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((report / "results.json").read_text(encoding="utf-8"))["meta"]["split"] == "test"


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_readme_figures_are_written_by_the_run(tmp_path, hashing_index):
    readme = tmp_path / "README.md"
    readme.write_text("# X\n\n<!-- eval-figures:test:start -->\nold\n<!-- eval-figures:test:end -->\n\n"
                      "<!-- eval-figures:dev:start -->\nold\n<!-- eval-figures:dev:end -->\nafter\n", encoding="utf-8")
    out = tmp_path / "r.json"
    result = invoke("--index", hashing_index, "--split", "test", "--no-gate", "--readme", str(readme), "--json", str(out))
    assert result.exit_code == 0, result.output
    ours = json.loads(out.read_text(encoding="utf-8"))["systems"]["ours"]["overall"]
    text = readme.read_text(encoding="utf-8")
    row = f"| retrieval hit@1 / hit@3 / hit@5 | {ours['hit@1']:.2f} / {ours['hit@3']:.2f} / {ours['hit@5']:.2f} |"
    assert row in text and "test split, 51 questions" in text
    assert "<!-- eval-figures:dev:start -->\nold\n" in text and text.endswith("after\n")  # other blocks untouched
    for png in ("eval-categories.png", "eval-abstention.png"):
        assert (tmp_path / "docs" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = invoke("--index", hashing_index, "--split", "dev", "--no-gate", "--no-baseline", "--readme", str(readme))
    assert result.exit_code == 0, result.output
    text = readme.read_text(encoding="utf-8")
    assert "On the dev split, 106 questions" in text and row in text


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_readme_without_the_block_is_a_usage_error(tmp_path, hashing_index):
    readme = tmp_path / "README.md"
    readme.write_text("# nothing to fill\n", encoding="utf-8")
    result = invoke("--index", hashing_index, "--split", "dev", "--no-gate", "--no-baseline", "--readme", str(readme))
    assert result.exit_code == 2 and "eval-figures:dev:start" in result.stderr
    assert readme.read_text(encoding="utf-8") == "# nothing to fill\n"


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_gate_passes_then_fails_when_answers_get_worse(tmp_path, hashing_index):
    gate = write_gate(tmp_path, FAKE_GATE)
    ok = invoke("--index", hashing_index, "--split", "test", "--gate", gate, "--no-baseline")
    assert ok.exit_code == 0, ok.output
    assert "passed" in ok.output
    # A threshold nothing can reach: every question abstains (the judge's, and the rules' without it).
    broken = invoke("--index", hashing_index, "--split", "test", "--gate", gate, "--no-baseline",
                    "--override", "answer.decline_below=1", "--override", "answer.min_support=5")
    assert broken.exit_code == 1
    assert "FAILED" in broken.stderr
    assert "false_abstention = 1.000 is above the maximum 0.9" in broken.stderr
    assert "key_recall = 0.000 is below the minimum 0.1" in broken.stderr


@pytest.mark.slow  # over a second: `make test` runs it, `make check` does not
def test_the_checked_in_gate_judges_the_test_split_only(hashing_index):
    # its bounds were set on the test split: the dev split (the default) is reported, not gated
    dev = invoke("--index", hashing_index, "--no-baseline")
    assert dev.exit_code == 0, dev.output
    assert "gate" not in dev.output
    test = invoke("--index", hashing_index, "--split", "test", "--no-baseline")
    assert "gate" in test.output + test.stderr  # judged (the fake embedder's figures may miss it)


@pytest.mark.integration
@pytest.mark.slow
def test_checked_in_gate_passes_on_the_test_split(real_index_dir):
    ok = invoke("--index", str(real_index_dir), "--split", "test", "--no-baseline")
    assert ok.exit_code == 0, ok.output


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("broken, missed", [
    ("answer.decline_below=1", "false_abstention"),  # abstains on everything
    ("answer.decline_below=0", "abstain_recall"),    # answers everything, even off-topic questions
])
def test_checked_in_gate_catches_a_deliberately_broken_setting(real_index_dir, broken, missed):
    result = invoke("--index", str(real_index_dir), "--split", "test", "--no-baseline", "--override", broken)
    assert result.exit_code == 1
    assert "FAILED" in result.stderr
    assert f"  {missed} = " in result.stderr


def oracle_predictions(article_text: str) -> list[dict]:
    """What a perfect system would output: the gold evidence, quoted and cited, or an abstention."""
    rows = []
    for it in TEST_ITEMS:
        if not it.answerable:
            rows.append({"id": it.id, "answer": "The document doesn't say.", "abstained": True, "confidence": 0.0})
            continue
        cites = []
        for n, span in enumerate(it.evidence, 1):
            start, end = locate(article_text, span)
            cites.append({"quote": article_text[start:end], "start": start, "end": end})
        rows.append({"id": it.id, "abstained": False, "confidence": 1.0,
                     "answer": " ".join(f"“{c['quote']}” [{n}]" for n, c in enumerate(cites, 1)),
                     "citations": cites, "passages": [{"text": c["quote"]} for c in cites]})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_predictions_of_a_perfect_system_score_perfectly(tmp_path, article_text):
    preds = write_jsonl(tmp_path / "oracle.jsonl", oracle_predictions(article_text))
    result = invoke("--predictions", preds, "--split", "test", "--no-baseline", "--json", "-")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    o = data["systems"]["oracle"]["overall"]
    for name in ("hit@1", "recall@10", "mrr@10", "ndcg@10", "quote_validity", "citation_precision",
                 "citation_recall", "key_recall", "token_f1", "abstain_precision", "abstain_recall"):
        assert o[name] == 1.0, name
    assert o["false_abstention"] == 0.0 and o["uncited_rate"] == 0.0
    assert o["ask_p50_ms"] is None  # nothing was timed


def test_predictions_that_always_abstain_miss_an_explicit_gate(tmp_path):
    rows = [{"id": it.id, "answer": "", "abstained": True} for it in TEST_ITEMS[:-3]]  # three missing
    preds = write_jsonl(tmp_path / "lazy.jsonl", rows)
    gate = write_gate(tmp_path, {"min": {"key_recall": 0.1}})
    result = invoke("--predictions", preds, "--split", "test", "--no-baseline", "--gate", gate)
    assert result.exit_code == 1
    assert "3 item(s) missing" in result.stderr
    assert "key_recall = 0.000 is below the minimum 0.1" in result.stderr
    # scored without a gate: exit 0
    assert invoke("--predictions", preds, "--split", "test", "--no-baseline").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--split", "train"], "unknown split"),
    (["--override", "min_support"], "bad override"),
    (["--override", "answer.nope=1"], "unknown setting answer.nope"),
    (["--set", "/no/such/file.jsonl"], "cannot read"),
])
def test_usage_errors_exit_2_with_one_line(args, message, hashing_index):
    result = invoke("--index", hashing_index, "--no-baseline", "--no-gate", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_the_plugin_module_imports_nothing_heavy():
    # `assistant ask` loads every plugin's module; eval's must not drag in pydantic, numpy or matplotlib.
    import subprocess
    import sys

    code = ("import sys, eval.cli; heavy = [m for m in ('pydantic', 'numpy', 'matplotlib', 'assistant', 'torch') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
