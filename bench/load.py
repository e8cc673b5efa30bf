"""`assistant load`: many clients at once ask the served assistant, and every answer is checked.

Starts `assistant serve` on a free loopback port (or uses `--url`, which must be a loopback
address), waits until it answers, then runs `--clients` threads that each ask `--questions`
questions of the eval set's dev split, through the chat's `/ask` endpoint (`--via gradio`,
gradio_client) or the REST API's `POST /v1/ask` (`--via rest`, httpx); `--via rest,gradio`
runs both, one after the other, on the same server and prints their ratios. Every answer must
parse as an `Answer` and keep the library's own grounding invariants
(`assistant.grounding.grounding_problems`) against the index's own documents; on the REST
path the served `GET /v1/documents/{doc_id}` texts must equal them too. Prints the errors,
latency p50/p95/max and throughput, and exits 1 on any error. Counts are bounded and the
whole run has a deadline (`--timeout`). The server, port and clients come from bench.harness.
Not handled: remote servers (only loopback is ever contacted) and the browser page.

Only stdlib and typer are imported at module level; the clients and the assistant load
inside the command, so other verbs stay fast.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import typer

from .harness import AskClient, RestClient, serve

MAX_CLIENTS = 256
MAX_QUESTIONS = 1000
VIAS = ("gradio", "rest")


def parse_via(text: str) -> tuple[str, ...]:
    """`--via` as the paths to load, in order; raises ValueError for anything else.

    >>> parse_via("rest"), parse_via("rest, gradio")
    (('rest',), ('rest', 'gradio'))
    """
    vias = tuple(v.strip() for v in text.split(",") if v.strip())
    if not vias or len(set(vias)) != len(vias) or any(v not in VIAS for v in vias):
        raise ValueError(f"--via takes gradio, rest or both (rest,gradio), not {text!r}")
    return vias


def client_for(via: str, url: str, auth: tuple[str, str] | None, token: str | None):
    """A new client of `url` on path `via` (one per thread): `.ask(question, history, timeout)`."""
    return RestClient(url, auth, token) if via == "rest" else AskClient(url, auth)


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
    via: str
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
            "via": self.via, "clients": self.clients, "questions_per_client": self.questions, "requests": self.requests,
            "answered": len(lat), "abstained": self.abstained, "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "p50_ms": _round(percentile(lat, 50)), "p95_ms": _round(percentile(lat, 95)),
            "max_ms": _round(max(lat) if lat else None),
            "throughput_rps": round(len(lat) / self.wall_s, 2) if self.wall_s else 0.0,
            "wall_s": round(self.wall_s, 2),
        }


def run_load(connect: Callable[[], object], items: list[tuple[str, list[str]]], documents: dict[str, str],
             clients: int, questions: int, timeout: float, via: str = "gradio") -> LoadResult:
    """`clients` threads, each with its own client from `connect()`, ask `questions` questions in turn.

    Client `c` asks items `c*questions + j` (wrapping), so clients ask different questions at once.
    """
    result = LoadResult(via, clients, questions)
    lock = threading.Lock()
    deadline = time.monotonic() + timeout
    start = threading.Barrier(clients)

    def worker(c: int) -> None:
        try:
            client = connect()
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


def _load_all(url: str, vias: tuple[str, ...], items, documents: dict[str, str], clients: int, questions: int,
              deadline: float, auth: tuple[str, str] | None, token: str | None) -> list[LoadResult]:
    """Each path in turn against the server at `url`: one untimed question first (connections, caches;
    if it fails, the run counts the failures), and on the REST path a check that the served documents
    are the ones quotes are checked against (RuntimeError if not)."""
    results = []
    for via in vias:
        served = None
        try:
            warm = client_for(via, url, auth, token)
            warm.ask(*items[0], timeout=max(deadline - time.monotonic(), 1.0))
            served = warm.documents() if via == "rest" else None
        except Exception:  # noqa: BLE001 - the timed run meets the same failure and counts it
            pass
        if served is not None and served != documents:
            raise RuntimeError("the served GET /v1/documents texts differ from the index the quotes are checked against")
        typer.echo(f"{via}: {clients} clients x {questions} questions…", err=True)
        results.append(run_load(lambda: client_for(via, url, auth, token), items, documents, clients, questions,
                                max(deadline - time.monotonic(), 1.0), via))
    return results


def compare(summaries: list[dict]) -> dict | None:
    """REST against Gradio when both ran: p50 and p95 as a share of Gradio's, throughput as a multiple.

    >>> compare([{"via": "gradio", "p50_ms": 80.0, "p95_ms": 200.0, "throughput_rps": 10.0},
    ...          {"via": "rest", "p50_ms": 20.0, "p95_ms": 50.0, "throughput_rps": 45.0}])
    {'rest_p50_share': 0.25, 'rest_p95_share': 0.25, 'rest_throughput_x': 4.5}
    """
    by = {s["via"]: s for s in summaries}
    if not {"rest", "gradio"} <= set(by):
        return None
    r, g = by["rest"], by["gradio"]

    def share(key):
        return round(r[key] / g[key], 3) if r[key] is not None and g[key] else None

    return {"rest_p50_share": share("p50_ms"), "rest_p95_share": share("p95_ms"),
            "rest_throughput_x": round(r["throughput_rps"] / g["throughput_rps"], 2) if g["throughput_rps"] else None}


def register(app: typer.Typer) -> None:
    @app.command("load")
    def load(
        clients: int = typer.Option(32, "--clients", "-c", min=1, max=MAX_CLIENTS, help="Concurrent clients."),
        questions: int = typer.Option(20, "--questions", "-q", min=1, max=MAX_QUESTIONS,
                                      help="Questions each client asks, one after the other."),
        via: str = typer.Option("gradio", "--via", metavar="PATHS",
                                help="gradio (the chat's /ask), rest (POST /v1/ask), or rest,gradio: both, same server."),
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
                                              help="Write the figures into FILE's <!-- load-figures:CLIENTS:start/end --> "
                                                   "(Gradio), load-figures:rest:CLIENTS and load-figures:compare:CLIENTS blocks."),
    ) -> None:
        """Load-test the server: N clients x M questions through /ask or /v1/ask; every answer checked; p50/p95."""
        # here, not at the top: `assistant ask` must not pay for plugins
        import os

        from assistant.options import is_loopback_url, parse_auth
        from index.errors import UsageError

        if url is not None and not is_loopback_url(url):
            raise UsageError(f"--url {url}: only loopback servers (127.0.0.1, localhost, ::1) are load-tested")
        credentials = parse_auth(auth)
        try:
            vias = parse_via(via)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        token = os.environ.get("ASSISTANT_API_TOKEN", "").strip() or None

        from eval.schema import DataError, load_items

        try:
            items = [(it.question, list(it.history)) for it in load_items(split="dev")]
        except DataError as exc:
            raise UsageError(str(exc)) from None
        documents = _documents(index)
        typer.echo(f"{clients} clients x {questions} questions = {clients * questions} requests per path "
                   f"({', '.join(vias)}), {len(items)} distinct dev questions", err=True)
        deadline = time.monotonic() + timeout
        try:
            if url is not None:
                results = _load_all(url, vias, items, documents, clients, questions, deadline, credentials, token)
            else:
                extra = ("--auth", auth) if auth else ()
                with serve(index, port or None, ready_timeout=min(timeout, 300), extra_args=extra) as server:
                    typer.echo(f"serving on {server.url}", err=True)
                    results = _load_all(server.url, vias, items, documents, clients, questions, deadline,
                                        credentials, token)
        except RuntimeError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        summaries = [r.summary() for r in results]
        ratios = compare(summaries)
        if as_json:
            payload = summaries[0] if len(summaries) == 1 else {"runs": summaries, "rest_vs_gradio": ratios}
            typer.echo(json.dumps(payload, indent=2))
        else:
            for s in summaries:
                typer.echo(f"{s['via']}:")
                typer.echo(f"  requests   {s['requests']} ({s['answered']} valid answers, {s['abstained']} of them abstentions)")
                typer.echo(f"  errors     {s['errors']}")
                for e in s["first_errors"]:
                    typer.echo(f"    {e}")
                typer.echo(f"  latency    p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms")
                typer.echo(f"  throughput {s['throughput_rps']} answers/s over {s['wall_s']} s")
            if ratios:
                typer.echo(compare_line(ratios))
        if readme is not None:
            from eval.readme import replace_block

            try:
                for s in summaries:
                    name = f"load-figures:{clients}" if s["via"] == "gradio" else f"load-figures:{s['via']}:{clients}"
                    replace_block(readme, name, readme_figures(s))
                if ratios:
                    replace_block(readme, f"load-figures:compare:{clients}", compare_line(ratios))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot update {readme}: {exc}") from None
            typer.echo(f"updated {readme}", err=True)
        if any(r.errors for r in results) or any(s["answered"] != clients * questions for s in summaries):
            raise typer.Exit(1)


def compare_line(ratios: dict) -> str:
    """The ratios of a run of both paths, in one line.

    >>> compare_line({"rest_p50_share": 0.25, "rest_p95_share": 0.3, "rest_throughput_x": 4.5})
    'REST p50 0.25x and p95 0.30x those of Gradio /ask, 4.50x its answers/s'
    """
    def x(v):
        return "-" if v is None else f"{v:.2f}x"

    return (f"REST p50 {x(ratios['rest_p50_share'])} and p95 {x(ratios['rest_p95_share'])} those of Gradio /ask, "
            f"{x(ratios['rest_throughput_x'])} its answers/s")


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
