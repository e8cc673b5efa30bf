"""`assistant load` (bench/load.py): its pure parts, and a small real run against a served app.

The full figures (32 clients x 20 questions) come from running the command itself; here a
4 x 3 run on the hashing index shows it serves, asks, checks and reports, and a run against
a port where nothing listens shows it fails loudly.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from assistant.options import is_loopback_url
from bench.harness import free_port
from bench.load import answer_problems, compare, compare_line, readme_figures
from reliability.helpers import CLI, ROOT, child_env, run_cli


@pytest.mark.parametrize("url, ok", [("http://127.0.0.1:7860", True), ("http://localhost:80/", True),
                                     ("http://[::1]:7860", True), ("http://127.8.9.10", True),
                                     ("http://0.0.0.0:7860", False), ("http://10.0.0.2:7860", False),
                                     ("https://example.com", False), ("http://127.0.0.1.evil.com", False)])
def test_only_loopback_urls_are_load_tested(url, ok):
    assert is_loopback_url(url) is ok


def test_answer_problems_accepts_a_grounded_answer_and_names_each_fault(hashing_article):
    docs = dict(hashing_article.index.documents)
    answer = hashing_article.ask("When did the Soviet Union collapse?").model_dump(mode="json")
    assert answer["citations"] and answer_problems(answer, docs) == []
    abstained = hashing_article.ask("What is the population of Mars?").model_dump(mode="json")
    assert abstained["abstained"] and answer_problems(abstained, docs) == []

    bad = json.loads(json.dumps(answer))
    bad["citations"][0]["quote"] = bad["citations"][0]["quote"].replace("the", "teh", 1) + " "
    assert any("not verbatim" in p for p in answer_problems(bad, docs))
    bad = json.loads(json.dumps(answer))
    bad["citations"][0]["chunk_id"] = "nowhere#9"
    assert any("not retrieved" in p for p in answer_problems(bad, docs))
    bad = json.loads(json.dumps(answer))
    bad["citations"][0]["n"] = 2
    assert answer_problems(bad, docs)
    bad = json.loads(json.dumps(answer))
    bad["abstained"] = True
    assert "abstained but cites quotes" in answer_problems(bad, docs)
    assert answer_problems({"text": "hello"}, docs)[0].startswith("not an Answer")


def test_the_command_module_imports_only_stdlib_and_typer():
    code = ("import sys, bench.load; heavy = {'gradio', 'gradio_client', 'assistant', 'index', 'numpy', 'pydantic', "
            "'httpx', 'sentence_transformers', 'torch'}; print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))")
    out = subprocess.run([*CLI[:2], "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.fixture(scope="module")
def article_index(tmp_path_factory, article_path):
    folder = tmp_path_factory.mktemp("load") / "index"
    assert run_cli("index", "build", article_path, "--out", folder).returncode == 0
    return folder


@pytest.mark.slow
def test_a_small_load_run_serves_asks_checks_and_reports(article_index, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("| load | <!-- load-figures:4:start -->old<!-- load-figures:4:end --> |\n", encoding="utf-8")
    proc = subprocess.run([*CLI, "load", "--clients", "4", "--questions", "3", "--index", str(article_index), "--json",
                           "--timeout", "180", "--readme", str(readme)],
                          capture_output=True, text=True, timeout=240, env=child_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    figures = json.loads(proc.stdout)
    assert figures["requests"] == figures["answered"] == 12 and figures["errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert figures["throughput_rps"] > 0
    assert "serving on http://127.0.0.1:" in proc.stderr
    assert readme.read_text(encoding="utf-8") == (
        f"| load | <!-- load-figures:4:start -->{readme_figures(figures)}<!-- load-figures:4:end --> |\n")


@pytest.mark.slow
def test_both_paths_on_one_server_report_side_by_side(article_index, tmp_path):
    readme = tmp_path / "README.md"
    blocks = ["load-figures:3", "load-figures:rest:3", "load-figures:compare:3"]
    readme.write_text("".join(f"<!-- {b}:start -->old<!-- {b}:end -->\n" for b in blocks), encoding="utf-8")
    proc = subprocess.run([*CLI, "load", "--via", "rest,gradio", "--clients", "3", "--questions", "2", "--index",
                           str(article_index), "--json", "--timeout", "180", "--readme", str(readme)],
                          capture_output=True, text=True, timeout=240, env=child_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    out = json.loads(proc.stdout)
    assert [r["via"] for r in out["runs"]] == ["rest", "gradio"]
    for r in out["runs"]:
        assert r["requests"] == r["answered"] == 6 and r["errors"] == 0 and r["p95_ms"] > 0
    assert out["rest_vs_gradio"] == compare(out["runs"]) and out["rest_vs_gradio"]["rest_throughput_x"] > 0
    text = readme.read_text(encoding="utf-8")
    assert readme_figures(out["runs"][0]) in text and readme_figures(out["runs"][1]) in text
    assert compare_line(out["rest_vs_gradio"]) in text and "old" not in text


@pytest.mark.parametrize("via", ["gradio", "rest"])
@pytest.mark.slow  # about a second: `make test` runs it, `make check` does not
def test_a_run_against_no_server_fails_with_every_error_counted(article_index, via):
    url = f"http://127.0.0.1:{free_port()}"
    proc = subprocess.run([*CLI, "load", "--via", via, "--clients", "2", "--questions", "2", "--index", str(article_index),
                           "--url", url, "--json", "--timeout", "60"], capture_output=True, text=True, timeout=120,
                          env=child_env(), cwd=ROOT)
    assert proc.returncode == 1
    figures = json.loads(proc.stdout)
    assert figures["errors"] >= 2 and figures["answered"] == 0


@pytest.mark.parametrize("args", [["--url", "http://192.0.2.7:7860"], ["--clients", "0"], ["--questions", "1001"],
                                  ["--auth", "nopassword"], ["--via", "grpc"], ["--via", "rest,rest"]])
def test_bad_options_are_usage_errors(args):
    proc = run_cli("load", *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
