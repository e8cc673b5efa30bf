"""`assistant serve`: options, safety defaults, and a real server started from the command line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from assistant.cli import app

ENV = {"ASSISTANT_ANSWER__MIN_SUPPORT": "0.3", "ASSISTANT_ANSWER__JUDGE": "none"}  # as in conftest.HASHING


@pytest.fixture
def fake_launch(monkeypatch):
    """Replaces the server start: records its arguments and fails like a busy port would."""
    import ui.app

    calls = []

    def launch(demo, host, port, auth=None, api=None, served=None):
        assert api is not None and served is not None  # the REST API is served beside the chat
        calls.append({"host": host, "port": port, "auth": auth})
        raise OSError("address already in use")

    monkeypatch.setattr(ui.app, "launch", launch)
    return calls


def run(args, env=None):
    return CliRunner().invoke(app, ["serve", *args], env={**ENV, **(env or {})})


def one_line_error(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--auth", "nocolon"], "--auth must look like USER:PASS"),
    (["--auth", ":pass"], "--auth must look like USER:PASS"),
    (["--port", "0"], "--port must be between 1 and 65535"),
    (["--port", "70000"], "--port must be between 1 and 65535"),
    (["--host", " "], "--host must not be empty"),
    (["--index", "/no/such/folder"], "no such folder"),
])
def test_bad_options_give_one_line_and_exit_2(args, message, fake_launch):
    result = run(args)
    assert result.exit_code == 2
    assert message in one_line_error(result)
    assert fake_launch == []


def test_an_option_of_the_wrong_type_is_a_usage_error(fake_launch):
    result = run(["--port", "abc"])
    assert result.exit_code == 2
    assert "--port" in result.output
    assert fake_launch == []


def test_defaults_bind_localhost_port_7860_without_login(ui_assistant, fake_launch):
    result = run(["--index", ui_assistant.info().folder])
    assert fake_launch == [{"host": "127.0.0.1", "port": 7860, "auth": None}]
    assert "warning" not in result.output
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1:7860" in result.output


def test_an_open_host_without_login_prints_a_warning(ui_assistant, fake_launch):
    result = run(["--index", ui_assistant.info().folder, "--host", "0.0.0.0", "--port", "8000"])
    assert fake_launch == [{"host": "0.0.0.0", "port": 8000, "auth": None}]
    assert "warning: serving on 0.0.0.0 without --auth" in result.output


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_login_protects_an_open_host(ui_assistant, fake_launch, how):
    args = ["--index", ui_assistant.info().folder, "--host", "0.0.0.0"]
    env = {}
    if how == "option":
        args += ["--auth", "reader:s3:cret"]
    else:
        env["ASSISTANT_AUTH"] = "reader:s3:cret"
    result = run(args, env)
    assert fake_launch == [{"host": "0.0.0.0", "port": 7860, "auth": ("reader", "s3:cret")}]
    assert "warning" not in result.output


def test_the_command_module_imports_only_stdlib_and_typer():
    code = ("import sys, ui.cli; heavy = {'gradio', 'assistant', 'index', 'torch', 'sentence_transformers'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_serve_prints_its_address_once_ready_answers_and_stops_cleanly(ui_assistant, free_port):
    from gradio_client import Client

    port = free_port()
    cmd = [sys.executable, "-c", "from assistant.cli import main; main()", "serve",
           "--index", ui_assistant.info().folder, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **ENV})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=120)
        assert first.strip() == f"Running on http://127.0.0.1:{port}"
        answer = Client(first.split()[-1], verbose=False).predict(
            "When did the Soviet Union collapse?", [], api_name="/ask")
        assert answer["citations"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        time.sleep(0.2)
        assert lines.empty()  # the address is printed once
        err = proc.stderr.read()
        assert "Traceback" not in err and "warning" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("args, uploads", [
    ([], True),
    (["--read-only"], False),
    (["--host", "0.0.0.0"], False),
    (["--host", "0.0.0.0", "--auth", "reader:pw"], True),
    (["--host", "0.0.0.0", "--uploads"], True),
])
def test_uploads_are_off_with_read_only_and_by_default_on_an_open_host_without_login(
        ui_assistant, fake_launch, monkeypatch, args, uploads):
    import ui.app

    built = []
    real = ui.app.build_app
    monkeypatch.setattr(ui.app, "build_app", lambda holder, **kw: built.append(kw) or real(holder, **kw))
    result = run(["--index", ui_assistant.info().folder, *args])
    assert built == [{"uploads": uploads}]
    assert ("Read-only" in result.output) is (not uploads)
