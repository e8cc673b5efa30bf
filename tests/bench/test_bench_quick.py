"""`assistant bench`: the command runs and its output is well formed (never its numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bench import report
from bench import scale
from bench.peer import main as peer_main

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- figures


def test_summary_and_ratio():
    s = report.summary([3.0, 1.0, 2.0])
    assert (s["n"], s["p50"], s["min"], s["max"]) == (3, 2.0, 1.0, 3.0)
    assert report.summary([]) == {"n": 0, "p50": None, "p95": None, "min": None, "max": None}
    assert report.ratio(2.0, 8.0) == 0.25
    assert report.ratio(2.0, None) is None and report.ratio(None, 1.0) is None and report.ratio(1.0, 0.0) is None


def test_recall_counts_overlap_and_ties():
    found = np.array([[0, 1, 2], [7, 8, 9]])
    truth = np.array([[2, 1, 0], [7, 5, 6]])
    assert scale.recall_at_k(found, truth, k=3) == pytest.approx((3 + 1) / 6)
    # Vector 8 and 9 score exactly as high as the 3rd true neighbour: a tie, not a miss.
    truth_scores = np.array([[0.9, 0.8, 0.7], [0.9, 0.8, 0.8]])
    found_scores = np.array([[0.7, 0.8, 0.9], [0.9, 0.8, 0.8]])
    assert scale.recall_at_k(found, truth, 3, found_scores, truth_scores) == 1.0
    found_scores[1, 2] = 0.5  # 9 is really worse
    assert scale.recall_at_k(found, truth, 3, found_scores, truth_scores) == pytest.approx(5 / 6)


def test_clustered_vectors_are_unit_seeded_and_clustered():
    base, queries = scale.clustered_vectors(2000, dim=64, queries=50, seed=3)
    assert base.shape == (2000, 64) and queries.shape == (50, 64) and base.dtype == np.float32
    assert np.allclose(np.linalg.norm(base, axis=1), 1, atol=1e-5)
    again, _ = scale.clustered_vectors(2000, dim=64, queries=50, seed=3)
    assert np.array_equal(base, again)
    other, _ = scale.clustered_vectors(2000, dim=64, queries=50, seed=4)
    assert not np.array_equal(base, other)
    # Each query's nearest vector is much closer than a random one: there is structure to find.
    sims = queries @ base.T
    assert np.median(sims.max(axis=1)) > np.median(sims) + 0.3


def test_nlist_and_configurations():
    assert scale.nlist_for(100_000) == 256 and scale.nlist_for(1_000_000) == 1024
    families = [c[0] for c in scale.configurations(1_000_000)]
    assert families == ["flat", "hnsw", "ivf-pq", "ivf-pq-refine"]
    factories = {c[0]: c[1] for c in scale.configurations(1_000_000)}
    assert factories["ivf-pq"] == "IVF1024,PQ48" and factories["hnsw"] == "HNSW32"
    assert {c[0]: c[1] for c in scale.configurations(2000)}["ivf-pq"] == "IVF32,PQ48x4"


def _row(**kw) -> scale.Row:
    base = dict(data="synthetic", n=1_000_000, family="hnsw", factory="HNSW32", search="efSearch=64", build_s=1.0,
                bytes_per_vector=1800.0, p50_ms=1.0, p95_ms=2.0, recall_at_10=0.97)
    base.update(kw)
    return scale.Row(**base)


def test_recommend_picks_the_fastest_setting_that_meets_both_limits():
    rows = [_row(family="flat", factory="Flat", search="", recall_at_10=1.0, p50_ms=90.0),
            _row(search="efSearch=16", recall_at_10=0.90, p50_ms=0.5),
            _row(search="efSearch=64", recall_at_10=0.97, p50_ms=1.0),
            _row(search="efSearch=128", recall_at_10=0.99, p50_ms=2.0),
            _row(family="ivf-pq-refine", factory="IVF1024,PQ48,RFlat", search="nprobe=64,k_factor_rf=32",
                 bytes_per_vector=1600, recall_at_10=0.96, p50_ms=2.5),
            _row(family="ivf-pq", factory="IVF1024,PQ48", search="nprobe=16", bytes_per_vector=64, recall_at_10=0.6),
            _row(n=100_000, family="ivf-pq", factory="IVF256,PQ48", search="nprobe=16", bytes_per_vector=64,
                 recall_at_10=0.99, p50_ms=0.1)]
    assert scale.recommend(rows).search == "efSearch=64"
    too_slow = [_row(family="flat", factory="Flat", search="", recall_at_10=1.0, p50_ms=90.0),
                _row(search="efSearch=64", recall_at_10=0.97, p50_ms=25.0)]
    assert scale.recommend(too_slow) is None
    # The real vectors disagree with efSearch=64: the next setting that both agree on wins.
    real = [_row(data="real", n=39_000, search="efSearch=64", recall_at_10=0.93),
            _row(data="real", n=39_000, search="efSearch=128", recall_at_10=0.97)]
    assert scale.recommend(rows + real).search == "efSearch=128"
    assert scale.recommend([r for r in rows if r.recall_at_10 < 0.95]) is None


@pytest.mark.slow
def test_measure_reports_every_setting_with_sane_recall():
    rows = scale.measure(1000, dim=48, queries=40, timed=10, quick=True)
    assert {r.family for r in rows} == {"flat", "hnsw", "ivf-pq", "ivf-pq-refine"}
    flat = [r for r in rows if r.family == "flat"][0]
    assert flat.recall_at_10 == 1.0 and flat.bytes_per_vector == pytest.approx(48 * 4, rel=0.01)
    assert all(0 <= r.recall_at_10 <= 1 and r.p50_ms > 0 for r in rows)
    pq = [r for r in rows if r.family == "ivf-pq"][0]
    assert pq.bytes_per_vector < flat.bytes_per_vector / 4  # compressed codes


# ---------------------------------------------------------------- report


def _results() -> dict:
    return {
        "schema": 1, "date": "2026-01-01T00:00:00+00:00", "quick": True, "seconds": 1.0,
        "machine": {"cpu": "Test CPU", "cores": 2, "ram_gb": 8.0, "os": "Linux", "python": "3.11"},
        "settings": {}, "notes": ["a note"],
        "parts": {
            "latency": {"status": "ok", "seconds": 1.0,
                        "ours": {k: report.summary([1.0, 2.0]) for k in ("retrieve_ms", "ask_ms", "embed_query_ms")},
                        "peer": {k: report.summary([8.0, 9.0]) for k in ("search_ms", "embed_query_ms")},
                        "ratio_ask_p50_to_peer_search_p50": 1.5 / 8.5, "ratio_retrieve_p50_to_peer_search_p50": 1.5 / 8.5},
            "cold": {"status": "ok", "seconds": 1.0, "ours": {"runs": 1, "median_s": 0.8}, "peer": {"runs": 1, "median_s": 8.0},
                     "ratio": 0.1},
            "build": {"status": "ok", "seconds": 1.0,
                      "ours": {"documents": 3, "chars": 9000, "build_s": 3.0, "chars_per_s": 3000.0, "chunks_per_s": 5.0,
                               "sentences_per_s": 20.0},
                      "peer": {"build_s": 1.0, "chars_per_s": 9000.0, "chunks_per_s": 9.0}, "ratio_chars_per_s": 1 / 3},
            "scale": {"status": "ok", "seconds": 1.0, "sizes": [1_000_000],
                      "rows": [vars(_row())], "recommended": {"factory": "HNSW32", "search": "efSearch=64", "n": 1_000_000,
                                                              "p50_ms": 1.0, "recall_at_10": 0.97, "bytes_per_vector": 1800}},
            "memory": {"status": "error", "seconds": 1.0, "error": "assistant serve exited 1: boom"},
        },
    }


def test_the_runtimes_part_reports_int8_beside_float32():
    results = _results()
    s = report.summary
    results["parts"]["runtimes"] = {
        "status": "ok", "seconds": 1.0, "questions": 2, "sentences_per_question": 2,
        "judge_ms": {"int8": s([10.0, 12.0]), "float32": s([22.0, 22.0])},
        "embed_query_ms": {"int8": s([3.0, 3.0]), "float32": s([6.0, 6.0])},
        "probability_moved": {"max": 0.04, "p95": 0.03}, "cosine_int8_to_float32": {"min": 0.991, "p50": 0.995},
        "judge_ms_per_sentence_by_batch": {"1": s([6.0]), "4": s([5.0])}}
    results["targets"] = report.evaluate_targets(results)
    assert report.check_results(results) == []
    rows = {r[0]: r[1:] for r in report.summary_rows(results)}
    assert rows["judge's pass, 2 sentences, p50 ms: int8 / float32"] == ("11.00 / 22.00", "-", "int8 0.50x of float32")
    assert rows["query embedding p50 ms: int8 / float32 (cosine of the two vectors, min)"][0] == "3.00 / 6.00 (0.991)"
    assert rows["judge int8, ms per sentence (p50) by batch size 1/4"][0] == "6.00 / 5.00"
    del results["parts"]["runtimes"]["judge_ms"]["float32"]
    assert report.check_results(results) == ["runtimes.judge_ms lacks int8/float32 n/p50/p95"]
    del results["parts"]["runtimes"]
    assert report.check_results(results) == []  # a run from before the part existed


def test_targets_compare_ratios_with_the_issue_limits():
    results = _results()
    targets = {t["id"]: t for t in report.evaluate_targets(results)}
    assert targets["latency"]["met"] is True       # 0.18 <= 0.5
    assert targets["cold-ratio"]["met"] is True    # 0.1 <= 0.25
    assert targets["cold-seconds"]["met"] is True  # 0.8 < 2
    assert targets["build"]["met"] is False        # 0.33 < 1.5
    assert targets["scale"]["met"] is True
    results["parts"]["scale"]["sizes"] = [100_000]
    assert {t["id"]: t for t in report.evaluate_targets(results)}["scale"]["met"] is None  # 1M not measured
    del results["parts"]["latency"]["ratio_ask_p50_to_peer_search_p50"]
    assert {t["id"]: t for t in report.evaluate_targets(results)}["latency"]["met"] is None


def test_table_and_markdown_show_machine_ratios_and_failures():
    results = _results()
    results["targets"] = report.evaluate_targets(results)
    table = report.render_table(results)
    md = report.render_markdown(results)
    for text in (table, md):
        assert "Test CPU, 2 cores, 8.0 GB RAM" in text and "2026-01-01" in text
        assert "0.10x" in text  # cold ratio
        assert "NOT met" in text  # build target
        assert "HNSW32" in text and "efSearch=64" in text
        assert "assistant serve exited 1: boom" in text
    assert md.startswith("# assistant bench") and "| measure | ours |" in md and "## Notes" in md


def test_readme_block_is_the_run_s_figures(tmp_path):
    results = _results()
    results["targets"] = report.evaluate_targets(results)
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench-figures:start -->\nold figures\n<!-- bench-figures:end -->\noutro\n")
    report.update_readme(results, readme)
    text = readme.read_text()
    assert "old figures" not in text and text.startswith("intro\n") and text.endswith("outro\n")
    assert "Test CPU, 2 cores, 8.0 GB RAM" in text and "0.10x" in text and "**NOT met**" in text
    assert "| measure | ours |" in text and "HNSW32" in text
    bare = tmp_path / "bare.md"
    bare.write_text("no block\n")
    with pytest.raises(ValueError, match="bench-figures:start"):
        report.update_readme(results, bare)
    assert bare.read_text() == "no block\n"


def test_an_earlier_run_can_be_reported_into_the_readme(tmp_path):
    results = _results()
    results["targets"] = report.evaluate_targets(results)
    saved = tmp_path / "bench.json"
    saved.write_text(json.dumps(results))  # a quick run's figures are tiny sizes: not for the README
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-figures:start -->\n<!-- bench-figures:end -->\n")
    result = CliRunner().invoke(_app(), ["bench", "--from", str(saved), "--readme", str(readme)])
    assert result.exit_code == 2 and "not a full bench run" in result.stderr
    results["parts"]["memory"] = {"status": "ok", "seconds": 1.0, "serve": {"bundled article": {"peak_mb": 100.0}}}
    saved.write_text(json.dumps({**results, "quick": False}))
    result = CliRunner().invoke(_app(), ["bench", "--from", str(saved), "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    assert "Test CPU, 2 cores" in readme.read_text() and "ours/peer" in result.stdout
    saved.write_text("{not json")
    result = CliRunner().invoke(_app(), ["bench", "--from", str(saved), "--readme", str(readme)])
    assert result.exit_code == 2 and "cannot read" in result.stderr


def test_a_partial_run_replaces_its_parts_and_keeps_the_others_dated(tmp_path):
    full = {**_results(), "quick": False}
    full["parts"]["memory"] = {"status": "ok", "seconds": 1.0, "serve": {"bundled article": {"peak_mb": 100.0}}}
    full["targets"] = report.evaluate_targets(full)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-figures:start -->\n<!-- bench-figures:end -->\n")
    report.update_readme(full, readme)
    kept = tmp_path / "docs" / "bench.json"
    assert json.loads(kept.read_text())["parts"]["cold"]["run"]["date"] == "2026-01-01T00:00:00+00:00"
    assert "Latest run: Test CPU" in readme.read_text() and "| 0.80 | 8.00 | 0.10x |" in readme.read_text()

    later = {**full, "date": "2026-02-02T00:00:00+00:00", "machine": {**full["machine"], "cpu": "Other CPU"},
             "parts": {p: {"status": "skipped", "reason": "not selected (--parts)"} for p in report.PARTS}}
    later["parts"]["cold"] = {"status": "ok", "seconds": 1.0, "ours": {"runs": 1, "median_s": 1.6},
                              "peer": {"runs": 1, "median_s": 8.0}, "ratio": 0.2}
    later["parts"]["build"] = {"status": "error", "seconds": 1.0, "error": "no docs"}  # failed: the old figures stay
    merged = report.update_readme(later, readme)
    text = readme.read_text()
    assert "| 1.60 | 8.00 | 0.20x |" in text and "| 0.80 |" not in text  # the new cold start replaced the old
    assert "3,000" in text and "HNSW32" in text  # build and scale kept from the first run
    assert "- cold: Other CPU" in text and "2026-02-02" in text
    assert "- latency, build, scale, memory: Test CPU" in text and "2026-01-01" in text
    assert {t["id"]: t["value"] for t in merged["targets"]}["cold-ratio"] == 0.2  # targets from the merged parts
    assert json.loads(kept.read_text()) == merged and report.check_results(merged) == []

    older = {**later, "date": "2025-12-12T00:00:00+00:00"}  # an old run given with --from: the newer figures stay
    older["parts"] = {**later["parts"], "cold": {**later["parts"]["cold"], "ours": {"runs": 1, "median_s": 3.0}}}
    assert report.update_readme(older, readme)["parts"]["cold"]["ours"]["median_s"] == 1.6
    assert "| 1.60 | 8.00 | 0.20x |" in readme.read_text() and "2025-12-12" not in readme.read_text()

    kept.write_text("{broken")
    before = readme.read_text()
    with pytest.raises(ValueError, match="docs/bench.json is not JSON: delete it"):
        report.update_readme(later, readme)
    assert readme.read_text() == before


def test_readme_is_refused_for_a_quick_run(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-figures:start -->\n<!-- bench-figures:end -->\n")
    result = CliRunner().invoke(_app(), ["bench", "--quick", "--readme", str(readme)])
    assert result.exit_code == 2 and "--quick" in result.stderr


def test_check_results_accepts_well_formed_and_names_what_is_missing():
    results = _results()
    results["targets"] = report.evaluate_targets(results)
    assert report.check_results(results) == []
    del results["machine"]["cores"]
    del results["parts"]["cold"]["ours"]["median_s"]
    results["parts"]["memory"] = {"status": "error"}
    problems = report.check_results(results)
    assert "machine lacks 'cores'" in problems
    assert "cold.ours.median_s missing" in problems
    assert "part 'memory' failed without saying why" in problems


def test_peer_script_refuses_bad_arguments():
    assert peer_main(["bench_peer.py"]) == 2
    assert peer_main(["bench_peer.py", "nonsense", "{}"]) == 2


# ---------------------------------------------------------------- the command


def _app():
    from assistant.cli import app

    return app


def test_the_build_rows_show_peak_memory_and_an_int8_build_says_so():
    results = _results()
    rows = {r[0]: r for r in report.summary_rows(results)}
    assert not any("RSS" in k and "build" in k for k in rows) and not any("int8 embedding" in k for k in rows)
    results["parts"]["build"]["ours"].update(peak_rss_mb=700.0, embed_runtime="int8")
    results["parts"]["build"]["peer"]["peak_rss_mb"] = 1000.0
    rows = {r[0]: r for r in report.summary_rows(results)}
    assert rows["build peak RSS (model loaded), MB"][1:] == ("700.0", "1,000", "0.70x")
    assert "build, 3 files, 9,000 chars (int8 embedding): seconds" in rows
    results["parts"]["build"]["upload"] = {"pages": 100, "chars": 335_405, "total_s": 12.5, "answered": True}
    rows = {r[0]: r for r in report.summary_rows(results)}
    assert rows["upload to first answer, 100-page PDF (335,405 chars), s"][1] == "12.5 (answered: yes)"
    results["parts"]["build"]["upload"] = {"error": "RuntimeError: boom"}
    assert {r[0]: r for r in report.summary_rows(results)}["upload to first answer, s"][1] == "error"


@pytest.mark.parametrize("args", [["--scale", "lots"], ["--scale", "10"], ["--parts", "latency,speed"],
                                  ["--embed-runtime", "int4"]])
def test_bad_options_are_usage_errors(args):
    result = CliRunner().invoke(_app(), ["bench", "--quick", *args])
    assert result.exit_code == 2


def _check_outputs(out: Path, stdout: str, want_peer: bool) -> dict:
    results = json.loads((out / "bench.json").read_text())
    assert report.check_results(results) == []
    assert results["quick"] is True
    assert all(results["parts"][p]["status"] == "ok" for p in report.DEFAULT_PARTS), results["parts"]
    import importlib.util

    milvus = importlib.util.find_spec("pymilvus") and importlib.util.find_spec("milvus_lite")
    assert results["parts"]["store"]["status"] == ("ok" if milvus else "skipped"), results["parts"]["store"]
    assert {t["id"] for t in results["targets"]} == {"latency", "cold-ratio", "cold-seconds", "build", "scale"}
    md = (out / "bench.md").read_text()
    assert md.startswith("# assistant bench") and "## Scale (FAISS)" in md
    assert "measure" in stdout and "ours/peer" in stdout and "recommended for big corpora" in stdout
    assert (results["parts"]["latency"]["peer"] is not None) == want_peer
    assert results["parts"]["cold"]["ours"]["same_answer_every_run"] is True
    assert "bundled article" in results["parts"]["memory"]["serve"]
    upload = results["parts"]["build"]["upload"]  # the PDF went through the page and its last page answers
    assert upload["pages"] == 3 and upload["answered"] is True and not upload["refused"], upload
    return results


@pytest.mark.slow
def test_quick_bench_runs_every_part_without_the_peer(tmp_path):
    """Weightless model, no peer: the command's plumbing end to end in about half a minute."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", "from assistant.cli import main; main()", "bench", "--quick",
                           "--no-peer", "--model", "hashing", "--out", str(out), "--work", str(tmp_path / "work"),
                           "--json", str(tmp_path / "b.json"), "--markdown", str(tmp_path / "b.md")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = _check_outputs(out, proc.stdout, want_peer=False)
    assert json.loads((tmp_path / "b.json").read_text()) == results
    assert (tmp_path / "b.md").read_text() == (out / "bench.md").read_text()
    assert any("--no-peer" in n for n in results["notes"])
    assert results["parts"]["latency"]["torch_imported_by_questions"] is False


@pytest.mark.integration
@pytest.mark.slow
def test_quick_bench_as_ci_runs_it(tmp_path):
    """`assistant bench --quick` with the real model and the LangChain peer (the bench extra)."""
    pytest.importorskip("langchain_huggingface")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", "from assistant.cli import main; main()", "bench", "--quick",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = _check_outputs(out, proc.stdout, want_peer=True)
    assert results["parts"]["latency"]["torch_imported_by_questions"] is False  # questions take the numpy path
    assert results["parts"]["build"]["peer"]["chars"] == results["parts"]["build"]["ours"]["chars"]  # same text


def test_a_store_run_writes_its_own_readme_block_and_leaves_the_other_alone(tmp_path):
    row = {"n": 100_000, "store": "milvus-lite", "index": "HNSW32", "search": "efSearch=128", "build_s": 12.5,
           "p50_ms": 4.25, "p95_ms": 6.0, "recall_at_10": 0.97}
    results = {**_results(), "quick": False,
               "parts": {p: {"status": "skipped", "reason": "not selected (--parts)"} for p in report.DEFAULT_PARTS}}
    results["parts"]["store"] = {"status": "ok", "seconds": 1.0, "sizes": [100_000], "rows": [row]}
    results["targets"] = report.evaluate_targets(results)
    assert report.check_results(results) == []
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench-figures:start -->\nkept\n<!-- bench-figures:end -->\n"
                      "<!-- store-figures:start -->\n<!-- store-figures:end -->\n")
    report.update_readme(results, readme)
    text = readme.read_text()
    assert "kept" in text and "| 100,000 | milvus-lite | HNSW32 | efSearch=128 | 12.5 | 4.25 | 6.00 | 0.970 |" in text
    results["parts"]["store"]["rows"] = []
    assert report.check_results(results) == ["store has no rows or a row lacks fields"]
