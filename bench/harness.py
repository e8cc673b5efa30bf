"""What the speed, memory and load tools share: a free port, the `assistant serve` child, two
clients of it, and the one result line a measuring child prints.

`serve` starts `assistant serve` on a loopback port and yields it once it answers; on exit
the child is stopped (SIGTERM, then SIGKILL). `AskClient` asks the chat's `/ask` endpoint
through `gradio_client`, `RestClient` the REST API's `POST /v1/ask` through httpx; both return
the `Answer` payload as a dict. A measuring child
(bench.worker, bench.peer) prints `emit(...)`'s line and `read_result` finds it. Not here:
the measurements (bench.run, bench.load), percentiles (`eval.metrics.percentile`), and
remote servers. Standard library only at module level; gradio_client and httpx load with a client.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

RESULT = "BENCH-RESULT "  # prefix of the one stdout line a measuring child prints
# -P keeps the working folder off sys.path: a folder there named `index` must not shadow the package.
ASSISTANT = [sys.executable, "-P", "-c", "from assistant.cli import main; main()"]


def emit(result: dict) -> None:
    """Print a measuring child's result as its one `BENCH-RESULT {...}` line on stdout."""
    sys.stdout.write(RESULT + json.dumps(result) + "\n")
    sys.stdout.flush()


def read_result(stdout: str) -> dict | None:
    """The last result line's payload in a child's output, or None.

    >>> read_result("progress\\nBENCH-RESULT {\\"n\\": 1}\\n")
    {'n': 1}
    >>> read_result("no result") is None
    True
    """
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, grace: float) -> None:
    """Terminate a child politely, then kill it if it is still there after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@dataclass
class Server:
    """A running `assistant serve` child: its address, process and log file."""

    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def serve(index: os.PathLike | str | None, port: int | None = None, env: dict[str, str] | None = None,
          ready_timeout: float = 120.0, host: str | None = "127.0.0.1",
          extra_args: Sequence[str] = ()) -> Iterator[Server]:
    """Run `assistant serve` in a child process on a loopback port; yield it once it answers.

    `host=None` leaves the address to the command's default. The server's output goes to a
    temporary log, quoted in the RuntimeError when it fails to start. On exit the child gets
    SIGTERM, then SIGKILL if it has not stopped within 10 s.
    """
    port = port or free_port()
    cmd = [*ASSISTANT, "serve", "--port", str(port), *(["--host", host] if host else []), *extra_args]
    if index is not None:
        cmd += ["--index", str(index)]
    child_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **(env or {})}
    with tempfile.TemporaryDirectory(prefix="assistant-serve-") as tmp:
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=child_env)
        try:
            deadline = time.monotonic() + ready_timeout
            url = None
            while url is None:
                text = log_path.read_text(encoding="utf-8", errors="replace")
                for line in text.splitlines():
                    if line.startswith("Running on "):  # printed once the app answers
                        url = line.split("Running on ", 1)[1].strip()
                if url:
                    break
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = " | ".join(text.strip().splitlines()[-3:])
                    why = f"exited with code {proc.returncode}" if proc.poll() is not None else "did not start in time"
                    raise RuntimeError(f"assistant serve {why}: {tail}")
                time.sleep(0.1)
            yield Server(url, proc, log_path)
        finally:
            stop_process(proc, 10)


class AskClient:
    """One client of a served chat's `/ask` endpoint (gradio_client); not shared between threads."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None):
        from gradio_client import Client

        self._client = Client(url, verbose=False, download_files=False, auth=auth, analytics_enabled=False)

    def ask(self, question: str, history: Sequence[str] = (), timeout: float | None = None) -> object:
        """The `/ask` payload for `question` (the `Answer` as JSON); raises what the call raised."""
        return self._client.submit(question, list(history), api_name="/ask").result(timeout=timeout)


class RestClient:
    """One client of a served REST API (`POST /v1/ask`, one kept-alive connection); not shared between threads.

    `auth` is the server's `--auth` login (HTTP Basic), `token` its ASSISTANT_API_TOKEN."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, token: str | None = None):
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url, auth=auth, headers=headers, timeout=60.0)

    def _get(self, path: str, **kw) -> object:
        r = self._http.request(kw.pop("method", "GET"), path, **kw)
        if r.status_code != 200:
            try:
                why = r.json()["error"]
            except (ValueError, KeyError, TypeError):
                why = r.text[:200]
            raise RuntimeError(f"HTTP {r.status_code} from {path}: {why}")
        return r.json()

    def ask(self, question: str, history: Sequence[str] = (), timeout: float | None = None) -> object:
        """The `Answer` payload for `question`; raises RuntimeError (with the server's one-line error) on non-200."""
        return self._get("/v1/ask", method="POST", json={"question": question, "history": list(history)},
                         timeout=timeout)

    def documents(self) -> dict[str, str]:
        """doc_id -> text of every served document (`GET /v1/index`, then `GET /v1/documents/{doc_id}`)."""
        from urllib.parse import quote

        info = self._get("/v1/index")
        return {d["doc_id"]: self._get(f"/v1/documents/{quote(d['doc_id'])}")["text"] for d in info["documents"]}

    def close(self) -> None:
        self._http.close()
