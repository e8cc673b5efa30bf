"""bench/harness.py: the port, the served child, the `/ask` client and the result line the tools share."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from bench.harness import AskClient, emit, free_port, read_result, serve, stop_process


def test_a_free_port_can_be_bound_on_loopback():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_the_result_line_round_trips(capsys):
    print("progress that is not a result")
    emit({"n": 3, "rows": [1.5]})
    assert read_result(capsys.readouterr().out) == {"n": 3, "rows": [1.5]}
    assert read_result("") is None


def test_stop_process_kills_a_child_that_ignores_sigterm():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    t = time.monotonic()
    stop_process(proc, grace=0.5)
    assert proc.returncode is not None and time.monotonic() - t < 10
    stop_process(proc, grace=0.5)  # already gone: nothing to do


def test_a_server_that_cannot_start_is_one_error_quoting_its_log(tmp_path):
    with pytest.raises(RuntimeError, match="assistant serve exited with code 2: .*no such folder"):
        with serve(tmp_path / "nowhere", ready_timeout=60):
            pass


@pytest.mark.slow
def test_serve_answers_through_the_client_and_stops(tmp_path, hashing_settings):
    from assistant import Assistant

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.txt").write_text("One\n\nApples grow on trees in the orchard.\n", encoding="utf-8")
    folder = tmp_path / "index"
    Assistant.from_paths([docs], folder, hashing_settings)
    with serve(folder, env={"ASSISTANT_INDEX__MODEL": "hashing"}) as server:
        assert server.url.startswith("http://127.0.0.1:")
        payload = AskClient(server.url).ask("What grows on trees?", timeout=60)
        assert {p["doc_id"] for p in payload["passages"]} == {"one.txt"}
    assert server.process.poll() is not None
