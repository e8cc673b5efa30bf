"""An index rebuilt while `assistant serve` runs: the server keeps answering from the old build,
then switches to the new one whole, within seconds, without a restart; never a half index.

Both the server and the rebuild are real child processes (`assistant serve`, `assistant
index build`); questions go through `gradio_client` to `/ask`. Each answer's quotes and
passages must all be verbatim text of the old documents, or all of the new ones. The server
runs with its network cut (any connection off the machine is logged and refused) and with
the command's default host, which must be loopback.
"""

from __future__ import annotations

import shutil
import threading
import time

import psutil
import pytest

from bench.harness import serve
from bench.load import answer_problems
from reliability.helpers import make_corpus, network_guard, run_cli

pytestmark = pytest.mark.slow

DOCS = 30
CLIENTS = 3
SWITCH_WITHIN = 10.0  # seconds after the rebuild finishes by which every answer must be new


def version_of(payload: dict, texts: dict[str, dict[str, str]]) -> set[str]:
    """The document versions (`old`, `new`) whose text holds every quote and passage of the answer."""
    spans = [(c["doc_id"], c["start"], c["end"], c["quote"]) for c in payload["citations"]]
    spans += [(p["doc_id"], p["start"], p["end"], p["text"]) for p in payload["passages"] + payload["related"]]
    return {name for name, docs in texts.items()
            if all(docs.get(d, "\0")[s:e] == quote for d, s, e, quote in spans)}


def test_a_rebuild_while_serving_switches_whole_and_never_serves_a_half_index(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    facts_old = make_corpus(old, DOCS, seed=1)
    facts_new = make_corpus(new, DOCS, seed=2)
    texts = {name: {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}
             for name, folder in (("old", old), ("new", new))}
    questions = [fo.question for fo, fn in zip(facts_old, facts_new) if fo.food != fn.food]
    assert len(questions) >= 10

    docs, index = tmp_path / "docs", tmp_path / "index"
    shutil.copytree(old, docs)
    assert run_cli("index", "build", docs, "--out", index).returncode == 0
    env, network_log = network_guard(tmp_path)

    records: list[tuple[int, float, set[str], list[str]]] = []  # client, time answered, versions, problems
    errors: list[str] = []
    stop = threading.Event()

    with serve(index, env=env, host=None) as server:
        assert server.url.startswith("http://127.0.0.1:")
        listening = {c.laddr.ip for c in psutil.Process(server.process.pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}

        def ask_forever(c: int) -> None:
            from gradio_client import Client

            client = Client(server.url, verbose=False, download_files=False, analytics_enabled=False)
            i = c
            while not stop.is_set():
                q = questions[i % len(questions)]
                i += CLIENTS
                try:
                    payload = client.predict(q, [], api_name="/ask")
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    errors.append(f"{q}: {type(exc).__name__}: {exc}")
                    continue
                versions = version_of(payload, texts)
                problems = answer_problems(payload, texts["old"] if versions == {"old"} else texts["new"])
                records.append((c, time.monotonic(), versions, problems))

        threads = [threading.Thread(target=ask_forever, args=(c,), daemon=True) for c in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(3)  # answers from the old build
        rebuild_started = time.monotonic()
        for p in docs.iterdir():
            p.unlink()
        for p in new.iterdir():
            shutil.copy(p, docs / p.name)
        proc = run_cli("index", "build", docs, "--out", index)
        assert proc.returncode == 0, proc.stderr
        rebuilt = time.monotonic()
        deadline = rebuilt + SWITCH_WITHIN + 5
        while time.monotonic() < deadline:
            time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(60)

    assert errors == []
    assert all(not problems for *_, problems in records), [r for r in records if r[3]][:3]
    assert all(versions in ({"old"}, {"new"}) for _, _, versions, _ in records), "an answer mixes builds"
    before = [v for _, t, v, _ in records if t < rebuild_started]
    after = [v for _, t, v, _ in records if t > rebuilt + SWITCH_WITHIN]
    assert before and all(v == {"old"} for v in before)
    assert after and all(v == {"new"} for v in after)
    for c in range(CLIENTS):  # once a client has seen the new build, it never sees the old one again
        seen = [v for client, _, v, _ in sorted(records, key=lambda r: r[1]) if client == c]
        first_new = seen.index({"new"})
        assert all(v == {"new"} for v in seen[first_new:])
    switched = min(t for _, t, v, _ in records if v == {"new"})
    assert not network_log.exists(), network_log.read_text()
    print(f"\nrebuild while serving: {len(records)} answers, {len(before)} before the rebuild, build took "
          f"{rebuilt - rebuild_started:.1f} s, first new answer {switched - rebuilt:+.1f} s after it finished, "
          f"0 errors, 0 mixed")
