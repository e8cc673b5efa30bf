"""The `assistant` command, in-process through typer's runner: exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from assistant import Answer, Assistant, Settings
from assistant.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _hashing_model(monkeypatch):
    monkeypatch.setenv("ASSISTANT_INDEX__MODEL", "hashing")


@pytest.fixture
def built(tmp_path, tiny_corpus):
    out = tmp_path / "idx"
    result = runner.invoke(app, ["index", "build", str(tiny_corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_build_reports_counts_and_skips_bad_files(tmp_path, tiny_corpus):
    docs = tmp_path / "docs"
    shutil.copytree(tiny_corpus, docs)
    (docs / "broken.txt").write_bytes(b"\x00\x01binary")
    result = runner.invoke(app, ["index", "build", str(docs), "--out", str(tmp_path / "idx")])
    assert result.exit_code == 0
    assert "indexed 3 document(s)" in result.output
    assert "skipped:" in result.output and "broken.txt" in result.output


def test_info_shows_the_index(built):
    result = runner.invoke(app, ["index", "info", str(built)])
    assert result.exit_code == 0
    assert "3 document(s)" in result.output and "fresh" in result.output
    data = json.loads(runner.invoke(app, ["index", "info", str(built), "--json"]).output)
    assert data["chunks"] > 0 and data["stale"] == []


def test_ask_json_equals_the_python_api(built):
    result = runner.invoke(app, ["ask", "Which tea needs water just off the boil?", "--index", str(built), "--json"])
    assert result.exit_code == 0, result.output
    from_cli = Answer.model_validate_json(result.output)
    from_api = Assistant.load(built, Settings().with_(index={"model": "hashing"})).ask("Which tea needs water just off the boil?")
    strip = {"timing"}
    assert from_cli.model_dump(exclude=strip) == from_api.model_dump(exclude=strip)
    assert not from_cli.abstained and "Black tea" in from_cli.citations[0].quote


def test_ask_human_output_lists_sources(built):
    result = runner.invoke(app, ["ask", "What temperature for green tea?", "--index", str(built)])
    assert result.exit_code == 0
    assert "[1]" in result.output and "Sources:" in result.output and "tea.txt" in result.output


def test_retrieve_json(built, tiny_corpus):
    result = runner.invoke(app, ["retrieve", "shield volcano", "--index", str(built), "-k", "2", "--json"])
    assert result.exit_code == 0
    passages = json.loads(result.output)
    assert len(passages) == 2 and passages[0]["doc_id"] == "volcanoes.html"


@pytest.mark.parametrize("args,code,message", [
    (["ask", "   "], 2, "error: the question is empty"),
    (["ask", "x" * 3000], 2, "limit is 2000"),
    (["retrieve", "tea", "-k", "0"], 2, ""),
    (["nonsense"], 2, ""),
])
def test_usage_errors_exit_2(built, args, code, message):
    if args[0] in ("ask", "retrieve"):
        args = args + ["--index", str(built)]
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_index_is_one_line_with_the_fix(tmp_path):
    result = runner.invoke(app, ["ask", "anything", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: no index at") and "assistant index build" in lines[0]


def test_stale_index_says_how_to_rebuild(tmp_path, tiny_corpus):
    docs = tmp_path / "docs"
    shutil.copytree(tiny_corpus, docs)
    out = tmp_path / "idx"
    assert runner.invoke(app, ["index", "build", str(docs), "--out", str(out)]).exit_code == 0
    (docs / "tea.txt").write_text("Tea\n\nNow it is about coffee.", encoding="utf-8")
    result = runner.invoke(app, ["ask", "green tea?", "--index", str(out)])
    assert result.exit_code == 1
    assert "stale" in result.output and f"assistant index build {docs}" in result.output
    assert runner.invoke(app, ["index", "build", str(docs), "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["ask", "green tea?", "--index", str(out)]).exit_code == 0


def test_corrupt_index_is_one_line(built):
    from index.store import read_current

    (built / read_current(built) / "embeddings.npy").write_bytes(b"garbage")
    result = runner.invoke(app, ["ask", "tea", "--index", str(built)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "embeddings.npy" in result.output


def test_bad_faiss_string_is_a_usage_error(tmp_path, tiny_corpus):
    result = runner.invoke(app, ["index", "build", str(tiny_corpus), "--out", str(tmp_path / "i"), "--faiss", "Bogus"])
    assert result.exit_code == 2 and "FAISS" in result.output


def test_nothing_to_index(tmp_path):
    result = runner.invoke(app, ["index", "build", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "i")])
    assert result.exit_code == 1 and "error: no readable" in result.output
