"""`assistant load`: many clients at once ask the served chat, and every answer is checked.

Starts `assistant serve` on a free loopback port (or uses `--url`, which must be a loopback
address), waits until it answers, then runs `--clients` threads that each ask `--questions`
questions of the eval set's dev split through `gradio_client` and the `/ask` endpoint.
Every answer must parse as an `Answer` and keep the grounding invariants against the
index's own documents (each quote is `document[start:end]`, cites a retrieved passage,
markers numbered 1..N). Prints the errors, latency p50/p95/max and throughput, and exits 1
on any error. Counts are bounded and the whole run has a deadline (`--timeout`).
Not handled: remote servers (only loopback is ever contacted) and the browser page.

Only stdlib and typer are imported at module level; gradio_client and the assistant load
inside the command, so other verbs stay fast.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlparse

import typer

MAX_CLIENTS = 256
MAX_QUESTIONS = 1000


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile: `percentile([1, 2, 3, 4], 50) -> 2.5`; `[]` gives nan."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def is_loopback_url(url: str) -> bool:
    """`is_loopback_url("http://127.0.0.1:7860") -> True`; any other host -> False."""
    import ipaddress

    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def answer_problems(payload: object, documents: dict[str, str]) -> list[str]:
    """What is wrong with an `/ask` payload (`[]` when it is a valid, grounded answer).

    Checks the `Answer` schema, then, against `documents` (doc_id -> text): every quote
    and passage is the document's text at its offsets, every citation points at a
    retrieved passage, markers are numbered 1..N in order of first appearance and each
    quote is followed by its marker in the text; an abstention cites nothing.
    """
    from pydantic import ValidationError

    from assistant import Answer

    try:
        answer = Answer.model_validate(payload)
    except ValidationError as exc:
        return [f"not an Answer: {str(exc).splitlines()[0]}"]
    problems = []
    retrieved = {p.chunk_id for p in answer.passages}
    for p in [*answer.passages, *answer.related]:
        if documents.get(p.doc_id, "\0")[p.start:p.end] != p.text:
            problems.append(f"passage {p.chunk_id} is not {p.doc_id}[{p.start}:{p.end}]")
    numbers: list[int] = []
    for c in answer.citations:
        if documents.get(c.doc_id, "\0")[c.start:c.end] != c.quote:
            problems.append(f"citation [{c.n}] is not verbatim {c.doc_id}[{c.start}:{c.end}]")
        if c.chunk_id not in retrieved:
            problems.append(f"citation [{c.n}] cites {c.chunk_id}, which was not retrieved")
        if f"“{c.quote}” [{c.n}]" not in answer.text:
            problems.append(f"citation [{c.n}] is not in the answer text with its marker")
        if c.n not in numbers:
            numbers.append(c.n)
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"markers numbered {numbers}, expected 1..{len(numbers)}")
    if answer.abstained and answer.citations:
        problems.append("abstained but cites quotes")
    if not answer.abstained and not answer.citations:
        problems.append("answered without citations")
    return problems


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running `assistant serve` child: its address, process and log file."""

    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def serve(index: Optional[Path], port: int | None = None, env: dict[str, str] | None = None,
          ready_timeout: float = 120.0, host: str | None = "127.0.0.1", extra_args: tuple[str, ...] = ()) -> Iterator[Server]:
    """Run `assistant serve` in a child process on a loopback port; yield it once it answers.

    `host=None` leaves the address to the command's default. The server's output goes to a
    temporary log, quoted in the error when it fails to start. On exit the child gets
    SIGTERM, then SIGKILL if it has not stopped within 10 s.
    """
    port = port or free_port()
    # -P keeps the working folder off sys.path: a folder there named `index` must not shadow the package.
    cmd = [sys.executable, "-P", "-c", "from assistant.cli import main; main()", "serve", "--port", str(port),
           *(["--host", host] if host else []), *extra_args]
    if index is not None:
        cmd += ["--index", str(index)]
    child_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **(env or {})}
    with tempfile.TemporaryDirectory(prefix="assistant-load-") as tmp:
        log_path = Path(tmp) / "serve.log"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=child_env)
        try:
            deadline = time.monotonic() + ready_timeout
            url = None
            while url is None:
                text = log_path.read_text(encoding="utf-8", errors="replace")
                for line in text.splitlines():
                    if line.startswith("Running on "):
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


@dataclass
class LoadResult:
    clients: int
    questions: int
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    abstained: int = 0
    wall_s: float = 0.0

    def summary(self) -> dict:
        lat = self.latencies_ms
        return {
            "clients": self.clients, "questions_per_client": self.questions, "requests": self.requests,
            "answered": len(lat), "abstained": self.abstained, "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
            "max_ms": round(max(lat), 1) if lat else float("nan"),
            "throughput_rps": round(len(lat) / self.wall_s, 2) if self.wall_s else 0.0,
            "wall_s": round(self.wall_s, 2),
        }


def run_load(url: str, items: list[tuple[str, list[str]]], documents: dict[str, str], clients: int,
             questions: int, timeout: float, auth: tuple[str, str] | None = None) -> LoadResult:
    """`clients` threads, each with its own `gradio_client.Client`, ask `questions` questions in turn.

    Client `c` asks items `c*questions + j` (wrapping), so clients ask different questions at once.
    """
    from gradio_client import Client

    result = LoadResult(clients, questions)
    lock = threading.Lock()
    deadline = time.monotonic() + timeout
    start = threading.Barrier(clients)

    def worker(c: int) -> None:
        try:
            client = Client(url, verbose=False, download_files=False, auth=auth, analytics_enabled=False)
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            with lock:
                result.errors.append(f"client {c}: cannot connect: {type(exc).__name__}: {exc}")
                result.requests += questions
            start.abort()  # the others must not wait for a client that never came
            return
        try:
            start.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except threading.BrokenBarrierError:
            pass
        for j in range(questions):
            question, history = items[(c * questions + j) % len(items)]
            remaining = deadline - time.monotonic()
            with lock:
                result.requests += 1
            if remaining <= 0:
                with lock:
                    result.errors.append(f"client {c}: global timeout before question {j}")
                continue
            t0 = time.perf_counter()
            try:
                payload = client.submit(question, history, api_name="/ask").result(timeout=remaining)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    result.errors.append(f"client {c} q{j} {question[:40]!r}: {type(exc).__name__}: "
                                         f"{str(exc).splitlines()[0] if str(exc) else ''}")
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            problems = answer_problems(payload, documents)
            with lock:
                if problems:
                    result.errors.append(f"client {c} q{j} {question[:40]!r}: {problems[0]}")
                else:
                    result.latencies_ms.append(elapsed)
                    result.abstained += bool(payload.get("abstained"))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,), name=f"load-client-{c}", daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(deadline - time.monotonic(), 0) + 5)
    result.wall_s = time.perf_counter() - t0
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        result.errors.append(f"{stuck} client(s) still waiting at the deadline")
    return result


def _documents(index: Optional[Path]) -> dict[str, str]:
    """The texts the served index answers from, to check quotes against (the bundled article by default)."""
    if index is not None:
        from index import load_index

        return dict(load_index(index).documents)
    from assistant import Assistant, Settings

    # Also builds the default index now, so the server does not race us to build it.
    return dict(Assistant.load(None, Settings.from_env()).index.documents)


def register(app: typer.Typer) -> None:
    @app.command("load")
    def load(
        clients: int = typer.Option(32, "--clients", "-c", min=1, max=MAX_CLIENTS, help="Concurrent clients."),
        questions: int = typer.Option(20, "--questions", "-q", min=1, max=MAX_QUESTIONS,
                                      help="Questions each client asks, one after the other."),
        index: Optional[Path] = typer.Option(None, "--index", "-i", metavar="DIR", envvar="ASSISTANT_INDEX",
                                             show_envvar=False,
                                             help="Index to serve and check quotes against (default: the bundled article)."),
        port: int = typer.Option(0, "--port", min=0, max=65535, help="Port for the server (0: a free one)."),
        url: Optional[str] = typer.Option(None, "--url", help="Use this running server (loopback only) instead of starting one."),
        auth: Optional[str] = typer.Option(None, "--auth", metavar="USER:PASS", envvar="ASSISTANT_AUTH",
                                           help="Login of a server started with --auth."),
        timeout: float = typer.Option(600.0, "--timeout", min=1.0, max=7200.0, help="Deadline for the whole run, in seconds."),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
        readme: Optional[Path] = typer.Option(None, "--readme", metavar="FILE",
                                              help="Write the figures into FILE's <!-- load-figures:CLIENTS:start/end --> block."),
    ) -> None:
        """Load-test the chat: N clients x M questions through /ask; every answer checked; p50/p95."""
        from index.errors import UsageError  # here, not at the top: `assistant ask` must not pay for plugins
        if url is not None and not is_loopback_url(url):
            raise UsageError(f"--url {url}: only loopback servers (127.0.0.1, localhost, ::1) are load-tested")
        credentials = None
        if auth:
            user, sep, password = auth.partition(":")
            if not (sep and user and password):
                raise UsageError("--auth must look like USER:PASS (both non-empty)")
            credentials = (user, password)

        from eval.schema import DataError, load_items

        try:
            items = [(it.question, list(it.history)) for it in load_items(split="dev")]
        except DataError as exc:
            raise UsageError(str(exc)) from None
        documents = _documents(index)
        typer.echo(f"{clients} clients x {questions} questions = {clients * questions} requests, "
                   f"{len(items)} distinct dev questions", err=True)
        t_start = time.monotonic()
        try:
            if url is not None:
                result = run_load(url, items, documents, clients, questions, timeout, credentials)
            else:
                extra = ("--auth", auth) if auth else ()
                with serve(index, port or None, ready_timeout=min(timeout, 300), extra_args=extra) as server:
                    typer.echo(f"serving on {server.url}", err=True)
                    remaining = max(timeout - (time.monotonic() - t_start), 1.0)
                    result = run_load(server.url, items, documents, clients, questions, remaining, credentials)
        except RuntimeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        s = result.summary()
        if as_json:
            typer.echo(json.dumps(s, indent=2))
        else:
            typer.echo(f"requests   {s['requests']} ({s['answered']} valid answers, {s['abstained']} of them abstentions)")
            typer.echo(f"errors     {s['errors']}")
            for e in s["first_errors"]:
                typer.echo(f"  {e}")
            typer.echo(f"latency    p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms")
            typer.echo(f"throughput {s['throughput_rps']} answers/s over {s['wall_s']} s")
        if readme is not None:
            from .readme import replace_block

            try:
                replace_block(readme, f"load-figures:{clients}", readme_figures(s))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot update {readme}: {exc}") from None
            typer.echo(f"updated {readme}", err=True)
        if result.errors or s["answered"] != clients * questions:
            raise typer.Exit(1)


def _seconds_or_ms(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def readme_figures(s: dict) -> str:
    """One line of a load run's figures, for the README.

    >>> readme_figures({"clients": 2, "questions_per_client": 3, "requests": 6, "answered": 6, "abstained": 1,
    ...                 "errors": 0, "p50_ms": 81.0, "p95_ms": 1200.0, "max_ms": 1500.0, "throughput_rps": 9.5})
    '2 clients x 3 questions: 6 requests, **0 errors**, 6 valid answers (1 abstentions); p50 81 ms, p95 1.20 s, max 1.50 s, 9.5 answers/s'
    """
    clients = f"{s['clients']} client" + ("s" if s["clients"] != 1 else "")
    return (f"{clients} x {s['questions_per_client']} questions: {s['requests']} requests, "
            f"**{s['errors']} errors**, {s['answered']} valid answers ({s['abstained']} abstentions); "
            f"p50 {_seconds_or_ms(s['p50_ms'])}, p95 {_seconds_or_ms(s['p95_ms'])}, max {_seconds_or_ms(s['max_ms'])}, "
            f"{s['throughput_rps']} answers/s")


def stop_process(proc: "subprocess.Popen", grace: float) -> None:
    """Terminate a child politely, then kill it if it is still there after `grace` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
