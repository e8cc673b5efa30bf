"""`assistant load`: many clients at once ask the served chat, and every answer is checked.

Starts `assistant serve` on a free loopback port (or uses `--url`, which must be a loopback
address), waits until it answers, then runs `--clients` threads that each ask `--questions`
questions of the eval set's dev split through `gradio_client` and the `/ask` endpoint.
Every answer must parse as an `Answer` and keep the library's own grounding invariants
(`assistant.grounding.grounding_problems`) against the index's own documents. Prints the
errors, latency p50/p95/max and throughput, and exits 1 on any error. Counts are bounded
and the whole run has a deadline (`--timeout`). The server, port and client come from
bench.harness. Not handled: remote servers (only loopback is ever contacted) and the
browser page.

Only stdlib and typer are imported at module level; gradio_client and the assistant load
inside the command, so other verbs stay fast.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import typer

from .harness import AskClient, serve

MAX_CLIENTS = 256
MAX_QUESTIONS = 1000


def answer_problems(payload: object, documents: dict[str, str]) -> list[str]:
    """What is wrong with an `/ask` payload (`[]` when it is a valid, grounded answer): its
    `Answer` schema, then `grounding_problems` against `documents` (doc_id -> text)."""
    from pydantic import ValidationError

    from assistant import Answer
    from assistant.grounding import grounding_problems

    try:
        answer = Answer.model_validate(payload)
    except ValidationError as exc:
        return [f"not an Answer: {str(exc).splitlines()[0]}"]
    return grounding_problems(answer, documents)


def _round(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 1)


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
        from eval.metrics import percentile

        lat = self.latencies_ms
        return {
            "clients": self.clients, "questions_per_client": self.questions, "requests": self.requests,
            "answered": len(lat), "abstained": self.abstained, "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "p50_ms": _round(percentile(lat, 50)), "p95_ms": _round(percentile(lat, 95)),
            "max_ms": _round(max(lat) if lat else None),
            "throughput_rps": round(len(lat) / self.wall_s, 2) if self.wall_s else 0.0,
            "wall_s": round(self.wall_s, 2),
        }


def run_load(url: str, items: list[tuple[str, list[str]]], documents: dict[str, str], clients: int,
             questions: int, timeout: float, auth: tuple[str, str] | None = None) -> LoadResult:
    """`clients` threads, each with its own `AskClient`, ask `questions` questions in turn.

    Client `c` asks items `c*questions + j` (wrapping), so clients ask different questions at once.
    """
    result = LoadResult(clients, questions)
    lock = threading.Lock()
    deadline = time.monotonic() + timeout
    start = threading.Barrier(clients)

    def worker(c: int) -> None:
        try:
            client = AskClient(url, auth)
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
                payload = client.ask(question, history, timeout=remaining)
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
        # here, not at the top: `assistant ask` must not pay for plugins
        from assistant.options import is_loopback_url, parse_auth
        from index.errors import UsageError

        if url is not None and not is_loopback_url(url):
            raise UsageError(f"--url {url}: only loopback servers (127.0.0.1, localhost, ::1) are load-tested")
        credentials = parse_auth(auth)

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
            from eval.readme import replace_block

            try:
                replace_block(readme, f"load-figures:{clients}", readme_figures(s))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot update {readme}: {exc}") from None
            typer.echo(f"updated {readme}", err=True)
        if result.errors or s["answered"] != clients * questions:
            raise typer.Exit(1)


def _seconds_or_ms(ms: float | None) -> str:
    if ms is None:  # no valid answer to time
        return "-"
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
