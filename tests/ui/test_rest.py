"""The REST API (ui/rest.py): routes, status codes, auth, CORS, the OpenAPI schema, hot reload,
answers off the event loop; FastAPI's TestClient on the hashing index, and one real `serve`."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant import Answer, Assistant, Citation, IndexInfo, Passage, Timing
from assistant.grounding import grounding_problems
from tests_helpers import rebuildable_index
from ui.holder import AssistantHolder
from ui.rest import INTERNAL_ERROR, Access, AskRequest, Document, RetrieveRequest, build_api, server_app

README = Path(__file__).resolve().parents[2] / "README.md"
QUESTION = "When did the Soviet Union collapse?"


def rest(served, **kw) -> TestClient:
    return TestClient(server_app(build_api(served, **kw), served))


@pytest.fixture(scope="module")
def api(ui_assistant) -> TestClient:
    return rest(ui_assistant)


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def without_timing(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k != "timing"}


# ------------------------------------------------------------------ routes

@pytest.mark.parametrize("question, history", [(QUESTION, []),
                                               ("What about Japan?", ["How are South Korea and Japan reacting?"]),
                                               ("What is the population of Mars?", [])])
def test_ask_returns_the_python_apis_answer(api, ui_assistant, question, history):
    r = api.post("/v1/ask", json={"question": question, "history": history})
    assert r.status_code == 200
    assert r.headers["x-index-build"] == ui_assistant.info().build_id
    expected = ui_assistant.ask(question, history).model_dump(mode="json")
    assert without_timing(r.json()) == without_timing(expected)
    assert grounding_problems(Answer.model_validate(r.json()), ui_assistant.index) == []


def test_a_quote_is_the_served_document_text_at_its_offsets(api):
    answer = api.post("/v1/ask", json={"question": QUESTION}).json()
    assert answer["citations"]
    for c in answer["citations"]:
        doc = api.get(f"/v1/documents/{c['doc_id']}")
        assert doc.status_code == 200
        assert doc.json()["text"][c["start"]:c["end"]] == c["quote"]
    for p in answer["passages"]:
        assert api.get(f"/v1/documents/{p['doc_id']}").json()["text"][p["start"]:p["end"]] == p["text"]


def test_documents_returns_the_indexed_text(api, ui_assistant):
    doc_id = ui_assistant.info().documents[0]["doc_id"]
    doc = Document.model_validate(api.get(f"/v1/documents/{doc_id}").json())
    assert doc.text == ui_assistant.document_text(doc_id) and doc.chars == len(doc.text) > 1000
    assert doc.title == ui_assistant.title


def test_retrieve_and_index_return_the_python_apis_values(api, ui_assistant):
    r = api.post("/v1/retrieve", json={"question": "economic ramifications", "k": 3})
    assert r.status_code == 200
    assert r.json() == [p.model_dump(mode="json") for p in ui_assistant.retrieve("economic ramifications", k=3)]
    default = api.post("/v1/retrieve", json={"question": "economic ramifications"}).json()
    assert len(default) == ui_assistant.settings.retrieval.k
    assert api.get("/v1/index").json() == ui_assistant.info().model_dump(mode="json")
    health = api.get("/healthz")
    assert health.json() == {"status": "ok", "build_id": ui_assistant.info().build_id}


def test_the_documents_filter_restricts_what_is_searched(tmp_path, tiny_corpus, ui_settings):
    tiny = Assistant.from_paths([tiny_corpus], tmp_path / "index", ui_settings)
    c = rest(tiny)
    question = {"question": "How often should I clean the chain?"}
    assert len({p["doc_id"] for p in c.post("/v1/retrieve", json={**question, "k": 10}).json()}) > 1
    only = c.post("/v1/retrieve", json={**question, "k": 10, "documents": ["tea.txt"]}).json()
    assert only and {p["doc_id"] for p in only} == {"tea.txt"}
    answer = c.post("/v1/ask", json={**question, "documents": ["bicycles.md"]}).json()
    assert {p["doc_id"] for p in answer["passages"]} == {"bicycles.md"}
    assert without_timing(answer) == without_timing(
        tiny.ask(question["question"], documents=["bicycles.md"]).model_dump(mode="json"))
    bad = c.post("/v1/ask", json={**question, "documents": ["nowhere.txt"]})
    assert bad.status_code == 422 and bad.json() == {"error": "no document 'nowhere.txt' in this index"}


# ------------------------------------------------------------------ status codes

@pytest.mark.parametrize("method, path, body, status, message", [
    ("post", "/v1/ask", {"question": ""}, 422, "question: String should have at least 1 character"),
    ("post", "/v1/ask", {"question": "   "}, 422, "the question is empty"),
    ("post", "/v1/ask", {"question": "why " * 600}, 422, "the question is 2400 characters long; the limit is 2000"),
    ("post", "/v1/ask", {"question": "?!"}, 422, "the question has no words"),
    ("post", "/v1/ask", {}, 422, "question: Field required"),
    ("post", "/v1/ask", {"question": QUESTION, "k": 3}, 422, "k: Extra inputs are not permitted"),
    ("post", "/v1/ask", {"question": QUESTION, "history": "earlier"}, 422, "history: Input should be a valid list"),
    ("post", "/v1/ask", {"question": QUESTION, "documents": []}, 422, "documents: List should have at least 1 item"),
    ("post", "/v1/ask", {"question": 42}, 422, "question: Input should be a valid string"),
    ("post", "/v1/retrieve", {"question": QUESTION, "k": 0}, 422, "k: Input should be greater than or equal to 1"),
    ("post", "/v1/retrieve", {"question": QUESTION, "k": 101}, 422, "k: Input should be less than or equal to 100"),
    ("post", "/v1/retrieve", {"question": QUESTION, "k": "many"}, 422, "k: Input should be a valid integer"),
    ("get", "/v1/documents/no-such.txt", None, 404, "no document 'no-such.txt' in this index"),
    ("get", "/v1/no-such-route", None, 404, "Not Found"),
    ("get", "/v1/ask", None, 405, "Method Not Allowed"),
])
def test_bad_requests_get_a_one_line_json_error_and_the_right_status(api, method, path, body, status, message):
    r = getattr(api, method)(path, **({"json": body} if body is not None else {}))
    assert r.status_code == status
    assert r.json() == {"error": r.json()["error"]} and message in r.json()["error"]
    assert "\n" not in r.json()["error"] and "Traceback" not in r.text


def test_malformed_json_and_huge_bodies_are_refused(api):
    r = api.post("/v1/ask", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON decode error" in r.json()["error"]
    r = api.post("/v1/ask", content=json.dumps({"question": "x" * 2_000_000}), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json() == {"error": "the request body is larger than 1048576 bytes"}


class Wrapped:
    """An assistant that behaves like `inner` except where a test changes it."""

    def __init__(self, inner: Assistant):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_an_internal_error_is_a_500_with_a_fixed_message_and_the_server_keeps_answering(ui_assistant, caplog):
    calls = []

    class Broken(Wrapped):
        def ask(self, question, history=None, documents=None):
            calls.append(question)
            if len(calls) == 1:
                raise RuntimeError("secret internal detail")
            return self.inner.ask(question, history, documents)

    c = rest(Broken(ui_assistant))
    r = c.post("/v1/ask", json={"question": QUESTION})
    assert r.status_code == 500 and r.json() == {"error": INTERNAL_ERROR}
    assert "secret" not in r.text and "secret internal detail" in caplog.text
    assert c.post("/v1/ask", json={"question": QUESTION}).json()["citations"]


# ------------------------------------------------------------------ auth and CORS

def test_with_a_login_and_a_token_every_v1_route_needs_one(ui_assistant):
    c = rest(ui_assistant, access=Access(("reader", "s3:cret"), "t0ken"))
    routes = [("post", "/v1/ask", {"question": QUESTION}), ("post", "/v1/retrieve", {"question": QUESTION}),
              ("get", "/v1/index", None), ("get", f"/v1/documents/{ui_assistant.info().documents[0]['doc_id']}", None)]
    for method, path, body in routes:
        kw = {"json": body} if body else {}
        for headers in ({}, basic("reader", "wrong"), basic("someone", "s3:cret"), {"Authorization": "Bearer nope"},
                        {"Authorization": "Basic !!!"}, {"Authorization": "t0ken"}):
            r = getattr(c, method)(path, headers=headers, **kw)
            assert r.status_code == 401, (path, headers)
            assert r.json() == {"error": "this API needs the server's login (HTTP Basic) or its bearer token"}
            assert r.headers["www-authenticate"].startswith("Basic")
        assert getattr(c, method)(path, headers=basic("reader", "s3:cret"), **kw).status_code == 200
        assert getattr(c, method)(path, headers={"Authorization": "Bearer t0ken"}, **kw).status_code == 200
    bad_body = c.post("/v1/ask", json={"question": ""})
    assert bad_body.status_code == 401  # refused before the body is looked at
    assert c.get("/healthz").status_code == 200  # open: a load balancer's check needs no secret


def test_a_token_alone_refuses_basic_and_a_login_alone_refuses_bearer(ui_assistant):
    token_only = rest(ui_assistant, access=Access(token="t0ken"))
    assert token_only.post("/v1/ask", json={"question": QUESTION}, headers=basic("reader", "t0ken")).status_code == 401
    assert token_only.get("/v1/index").headers["www-authenticate"].startswith("Bearer")
    assert token_only.get("/v1/index", headers={"Authorization": "bearer t0ken"}).status_code == 200
    login_only = rest(ui_assistant, access=Access(("reader", "pw")))
    assert login_only.get("/v1/index", headers={"Authorization": "Bearer pw"}).status_code == 401
    assert login_only.get("/v1/index", headers=basic("reader", "pw")).status_code == 200


def test_no_cors_headers_unless_an_origin_is_given(api, ui_assistant):
    origin = {"Origin": "https://app.example.com"}
    preflight = {**origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    assert "access-control-allow-origin" not in api.post("/v1/ask", json={"question": QUESTION}, headers=origin).headers
    assert "access-control-allow-origin" not in api.options("/v1/ask", headers=preflight).headers

    c = rest(ui_assistant, cors=["https://app.example.com"], access=Access(token="t0ken"))
    r = c.options("/v1/ask", headers=preflight)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example.com"
    r = c.post("/v1/ask", json={"question": QUESTION}, headers={**origin, "Authorization": "Bearer t0ken"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "x-index-build" in r.headers["access-control-expose-headers"].lower()
    other = c.options("/v1/ask", headers={**preflight, "Origin": "https://evil.example"})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers


def test_cors_lets_a_browser_mcp_client_send_and_read_its_session(ui_assistant):
    c = rest(ui_assistant, cors=["https://app.example.com"], access=Access(token="t0ken"))
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "DELETE",
                 "Access-Control-Request-Headers": "authorization, content-type, mcp-session-id, mcp-protocol-version"}
    r = c.options("/v1/mcp", headers=preflight)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example.com"
    allowed = r.headers["access-control-allow-headers"].lower()
    assert "mcp-session-id" in allowed and "mcp-protocol-version" in allowed
    assert "DELETE" in r.headers["access-control-allow-methods"]
    r = c.get("/v1/index", headers={"Origin": "https://app.example.com", "Authorization": "Bearer t0ken"})
    assert "mcp-session-id" in r.headers["access-control-expose-headers"].lower()


# ------------------------------------------------------------------ the schema

@pytest.fixture(scope="module")
def schema(api) -> dict:
    r = api.get("/v1/openapi.json")
    assert r.status_code == 200
    return r.json()


@pytest.mark.parametrize("model", [Answer, Citation, Passage, Timing, IndexInfo, AskRequest, RetrieveRequest, Document])
def test_the_openapi_schema_is_the_pydantic_models(schema, model):
    got = schema["components"]["schemas"][model.__name__]
    assert set(got["properties"]) == set(model.model_fields)
    assert set(got.get("required", [])) == {n for n, f in model.model_fields.items() if f.is_required()}
    assert got["additionalProperties"] is False  # extra="forbid", in requests and responses alike
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
        assert got["properties"][name]["description"] == field.description


def test_the_openapi_paths_name_the_models_and_the_errors(schema, api):
    assert schema["servers"] == [{"url": "/v1"}]
    paths = schema["paths"]
    assert set(paths) == {"/ask", "/retrieve", "/index", "/documents/{doc_id}"}

    def ok(path, method):
        return paths[path][method]["responses"]["200"]["content"]["application/json"]["schema"]

    assert ok("/ask", "post") == {"$ref": "#/components/schemas/Answer"}
    assert ok("/retrieve", "post")["items"] == {"$ref": "#/components/schemas/Passage"}
    assert ok("/index", "get") == {"$ref": "#/components/schemas/IndexInfo"}
    assert ok("/documents/{doc_id}", "get") == {"$ref": "#/components/schemas/Document"}
    body = paths["/ask"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AskRequest"}
    for code in ("422", "503"):
        error = paths["/ask"]["post"]["responses"][code]["content"]["application/json"]["schema"]
        assert error == {"$ref": "#/components/schemas/ApiError"}
    rk = schema["components"]["schemas"]["RetrieveRequest"]["properties"]["k"]["anyOf"][0]
    assert (rk["minimum"], rk["maximum"]) == (1, 100)
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # errors are {"error": ...}
    assert api.get("/v1/docs").status_code == 200 and "/v1/openapi.json" in api.get("/v1/docs").text


def test_a_protected_api_declares_its_schemes(ui_assistant):
    schema = rest(ui_assistant, access=Access(("reader", "pw"), "t0ken")).get("/v1/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert {s["scheme"] for s in schemes.values()} == {"basic", "bearer"}
    assert paths_401(schema) == {"/ask", "/retrieve", "/index", "/documents/{doc_id}"}


def paths_401(schema: dict) -> set[str]:
    return {p for p, ops in schema["paths"].items() if all("401" in op["responses"] for op in ops.values())}


# ------------------------------------------------------------------ concurrency and reload

class Gate(Wrapped):
    """Answers to questions containing 'slow' wait for `released`."""

    def __init__(self, inner: Assistant):
        super().__init__(inner)
        self.released, self.entered = threading.Event(), threading.Event()

    def ask(self, question, history=None, documents=None):
        if "slow" in question:
            self.entered.set()
            assert self.released.wait(30)
        return self.inner.ask(question, history, documents)


def test_a_slow_answer_stalls_neither_the_server_nor_other_answers(ui_assistant):
    gate = Gate(ui_assistant)
    with TestClient(server_app(build_api(gate, concurrency=2), gate)) as c:
        slow = {}
        t = threading.Thread(target=lambda: slow.update(r=c.post("/v1/ask", json={"question": "a slow question on Russia"})))
        t.start()
        try:
            assert gate.entered.wait(30)
            t0 = time.perf_counter()
            assert c.get("/healthz").status_code == 200
            assert c.post("/v1/ask", json={"question": QUESTION}).json()["citations"]
            assert time.perf_counter() - t0 < 10 and t.is_alive()
        finally:
            gate.released.set()
            t.join(30)
        assert slow["r"].status_code == 200 and slow["r"].json()["question"] == "a slow question on Russia"


def test_beyond_the_waiting_limit_a_request_gets_503_and_retry_after(ui_assistant):
    gate = Gate(ui_assistant)
    with TestClient(server_app(build_api(gate, concurrency=1, max_waiting=0), gate)) as c:
        t = threading.Thread(target=lambda: c.post("/v1/ask", json={"question": "a slow question"}))
        t.start()
        try:
            assert gate.entered.wait(30)
            busy = c.post("/v1/ask", json={"question": QUESTION})
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            assert busy.json()["error"].startswith("the server is busy")
        finally:
            gate.released.set()
            t.join(30)
        assert c.post("/v1/ask", json={"question": QUESTION}).status_code == 200


def test_a_rebuilt_index_is_served_and_the_old_one_answers_until_it_is_loaded(tmp_path, ui_settings):
    first, folder, rebuild = rebuildable_index(tmp_path, ui_settings)
    may_load = threading.Event()

    def slow_load():
        assert may_load.wait(30)
        return Assistant.load(folder, ui_settings)

    holder = AssistantHolder(slow_load, first, check_every=0.05)
    c = rest(holder)
    old = first.info().build_id
    docs = lambda r: {p["doc_id"] for p in r.json()["passages"]}  # noqa: E731
    assert docs(c.post("/v1/ask", json={"question": "What grows on trees?"})) == {"one.txt"}
    rebuild()
    time.sleep(0.1)
    r = c.post("/v1/ask", json={"question": "What grows on trees?"})  # starts the reload, which waits
    assert r.status_code == 200 and r.headers["x-index-build"] == old and docs(r) == {"one.txt"}
    assert c.get("/v1/documents/two.txt").status_code == 404  # not served yet
    may_load.set()
    deadline = time.monotonic() + 30
    while holder.build_id == old and time.monotonic() < deadline:
        time.sleep(0.05)
    r = c.post("/v1/ask", json={"question": "What grows on trees?"})
    assert r.headers["x-index-build"] != old and "two.txt" in docs(r)
    assert c.get("/v1/index").json()["build_id"] == r.headers["x-index-build"]
    assert c.get("/v1/documents/two.txt").json()["text"].startswith("Two")


# ------------------------------------------------------------------ a real server

def readme_rest_snippets() -> list[str]:
    """The README's Python blocks that talk to a running `assistant serve` (run here, not in test_readme)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [b for b in blocks if "assistant serve" in b.splitlines()[0]]


@pytest.mark.slow
def test_the_real_serve_process_answers_v1_ask_over_http_beside_the_chat(ui_assistant, monkeypatch):
    import httpx
    from gradio_client import Client

    from bench.harness import serve

    env = {"ASSISTANT_ANSWER__MIN_SUPPORT": "0.3", "ASSISTANT_ANSWER__JUDGE": "none", "ASSISTANT_API_TOKEN": "t0ken"}
    with serve(ui_assistant.info().folder, env=env, extra_args=["--auth", "reader:s3cret"]) as server:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            assert http.get("/healthz").json()["build_id"] == ui_assistant.info().build_id
            assert http.post("/v1/ask", json={"question": QUESTION}).status_code == 401
            for auth in ({"auth": ("reader", "s3cret")}, {"headers": {"Authorization": "Bearer t0ken"}}):
                r = http.post("/v1/ask", json={"question": QUESTION}, **auth)
                assert r.status_code == 200, r.text
                answer = Answer.model_validate(r.json())
                served = {d["doc_id"]: http.get(f"/v1/documents/{d['doc_id']}", **auth).json()["text"]
                          for d in http.get("/v1/index", **auth).json()["documents"]}
                assert answer.citations and grounding_problems(answer, served) == []
            assert http.get("/v1/openapi.json").json()["info"]["title"] == "Grounded assistant"
        chat = Client(server.url, verbose=False, download_files=False, auth=("reader", "s3cret"))
        assert chat.predict(QUESTION, [], api_name="/ask")["citations"]  # the chat's /ask still works

        snippets = readme_rest_snippets()
        assert snippets, "the README has no REST example"
        monkeypatch.setenv("ASSISTANT_API_TOKEN", "t0ken")
        for block in snippets:
            exec(compile(block.replace("http://127.0.0.1:7860", server.url), str(README), "exec"),
                 {"__name__": "__readme__"})
