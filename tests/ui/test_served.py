"""End to end through `gradio_client` against apps served on free local ports."""

from __future__ import annotations

import threading
import time
import urllib.request

import pytest
from gradio_client import Client

from assistant import Assistant

pytestmark = pytest.mark.slow

QUESTIONS = [
    ("When did the Soviet Union collapse?", []),
    ("What about Japan?", ["How are South Korea and Japan reacting to the alliance?"]),
    ("What is the population of North Korea?", []),
]


def client(url: str, **kw) -> Client:
    return Client(url, verbose=False, download_files=False, **kw)


@pytest.mark.parametrize("question, history", QUESTIONS)
def test_ask_endpoint_returns_the_answer_json_of_the_python_api(hashing_url, ui_assistant, question, history):
    got = client(hashing_url).predict(question, history, api_name="/ask")
    expected = ui_assistant.ask(question, history).model_dump(mode="json")
    assert set(got["timing"]) == set(expected["timing"])
    got.pop("timing"), expected.pop("timing")
    assert got == expected


def test_ask_endpoint_defaults_history_and_is_the_only_public_endpoint(hashing_url):
    c = client(hashing_url)
    assert list(c.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]
    answer = c.predict(question="When did the Soviet Union collapse?", api_name="/ask")
    assert answer["citations"] and answer["question"] == "When did the Soviet Union collapse?"


def test_ask_endpoint_reports_refused_questions_in_one_line_and_keeps_serving(hashing_url):
    c = client(hashing_url)
    with pytest.raises(Exception, match="the limit is 2000") as info:
        c.predict("why " * 600, [], api_name="/ask")
    assert "Traceback" not in str(info.value)
    assert c.predict("When did the Soviet Union collapse?", [], api_name="/ask")["citations"]


def test_the_page_needs_nothing_from_outside_hosts(hashing_url):
    page = urllib.request.urlopen(hashing_url, timeout=30).read().decode()
    theme = urllib.request.urlopen(hashing_url + "/theme.css", timeout=30).read().decode()
    for text in (page, theme):
        assert "googleapis" not in text and "gstatic" not in text


class Gate:
    """An assistant whose answers to questions containing 'slow' wait for `open()`."""

    def __init__(self, inner: Assistant):
        self.inner, self.released, self.entered = inner, threading.Event(), threading.Event()

    def ask(self, question, history=None, documents=None):
        if "slow" in question:
            self.entered.set()
            assert self.released.wait(60)
        return self.inner.ask(question, history, documents)

    def __getattr__(self, name):  # index, info, title...: the real assistant's
        return getattr(self.inner, name)


def test_one_slow_question_does_not_stall_the_others(ui_assistant, serve_app):
    gate = Gate(ui_assistant)
    with serve_app(gate) as url:
        slow_client = client(url)
        slow = slow_client.submit("a slow question about Russia", [], api_name="/ask")
        assert gate.entered.wait(30)
        t0 = time.perf_counter()
        fast = [client(url).submit("When did the Soviet Union collapse?", [], api_name="/ask") for _ in range(5)]
        results = [f.result(timeout=30) for f in fast]
        assert all(r["citations"] for r in results)
        assert time.perf_counter() - t0 < 30
        assert not slow.done()
        gate.released.set()
        assert slow.result(timeout=30)["question"] == "a slow question about Russia"


def test_with_auth_the_app_needs_the_login(ui_assistant, serve_app):
    with serve_app(ui_assistant, auth=("reader", "s3cret")) as url:
        with pytest.raises(Exception):
            client(url).predict("When did the Soviet Union collapse?", [], api_name="/ask")
        with pytest.raises(Exception):
            client(url, auth=("reader", "wrong")).predict("When did the Soviet Union collapse?", [],
                                                          api_name="/ask")
        answer = client(url, auth=("reader", "s3cret")).predict("When did the Soviet Union collapse?", [],
                                                                api_name="/ask")
        assert answer["citations"]


def test_a_rebuilt_index_is_served_without_a_restart(tmp_path, ui_settings, serve_app):
    from ui.app import AssistantHolder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "one.txt").write_text("One\n\nApples grow on trees in the orchard.\n", encoding="utf-8")
    folder = tmp_path / "index"
    first = Assistant.from_paths([docs], folder, ui_settings)
    holder = AssistantHolder(lambda: Assistant.load(folder, ui_settings), first, check_every=0.2)
    with serve_app(holder) as url:
        c = client(url)
        assert {p["doc_id"] for p in c.predict("What grows on trees?", [], api_name="/ask")["passages"]} == {"one.txt"}
        (docs / "two.txt").write_text("Two\n\nPears grow on trees too.\n", encoding="utf-8")
        Assistant.from_paths([docs], folder, ui_settings)
        deadline = time.monotonic() + 60
        while True:  # answers keep coming from the old build until the new one is loaded
            passages = c.predict("What grows on trees?", [], api_name="/ask")["passages"]
            if "two.txt" in {p["doc_id"] for p in passages} or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert "two.txt" in {p["doc_id"] for p in passages}
