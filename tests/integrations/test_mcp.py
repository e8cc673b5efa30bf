"""The MCP server driven by the `mcp` SDK's own client: in process on the hashing index (fast), then
`assistant mcp` as a child over stdio and `assistant serve` at /v1/mcp over HTTP with auth (real model)."""

from __future__ import annotations

import base64
import os
import sys

import anyio
import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402
from mcp_types import INVALID_PARAMS  # noqa: E402

from bench.harness import ASSISTANT  # noqa: E402

ANSWERABLE = "What does North Korea seek from Russia?"
OFF_TOPIC = "Why do cats purr?"
TOOLS = {"ask", "retrieve", "list_documents", "read_document"}


def run(coro_fn, *args):
    return anyio.run(coro_fn, *args)


async def check_tools(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    ask = tools["ask"].description
    assert "word for word" in ask and "abstained" in ask and "don't say" in ask
    assert tools["ask"].input_schema["required"] == ["question"]
    assert tools["ask"].output_schema["properties"]["citations"]


async def check_answer(client: Client) -> dict:
    """An answerable question: quotes whose offsets give back their text through read_document and the resource."""
    result = await client.call_tool("ask", {"question": ANSWERABLE})
    assert not result.is_error
    answer = result.structured_content
    assert not answer["abstained"] and answer["citations"], answer["text"]
    for c in answer["citations"]:
        span = (await client.call_tool("read_document", {"doc_id": c["doc_id"], "start": c["start"],
                                                         "end": c["end"]})).structured_content
        assert span["text"] == c["quote"]
    doc_id = answer["citations"][0]["doc_id"]
    listed = (await client.call_tool("list_documents", {})).structured_content["result"]
    uri = next(d["uri"] for d in listed if d["doc_id"] == doc_id)
    assert uri in {r.uri for r in (await client.list_resources()).resources}
    text = (await client.read_resource(uri)).contents[0].text
    assert all(text[c["start"]:c["end"]] == c["quote"] for c in answer["citations"])
    return answer


async def check_off_topic(client: Client) -> None:
    answer = (await client.call_tool("ask", {"question": OFF_TOPIC})).structured_content
    assert answer["abstained"] and answer["citations"] == []


async def check_bad_input(client: Client) -> None:
    for args, message in [({"question": "   "}, "the question is empty"),
                          ({"question": ANSWERABLE, "documents": ["nope.txt"]}, "no document 'nope.txt' in this index")]:
        with pytest.raises(MCPError) as err:
            await client.call_tool("ask", args)
        assert err.value.code == INVALID_PARAMS and err.value.message == message


# ------------------------------------------------------------------ in process, hashing index (fast)

@pytest.fixture(scope="module")
def hashing_server(tmp_path_factory):
    from assistant import Assistant, Settings

    from conftest import ARTICLE
    from ui.mcp_server import build_server

    settings = Settings().with_(index={"model": "hashing"}, answer={"judge": "none", "min_support": 0.3})
    assistant = Assistant.from_paths([ARTICLE], tmp_path_factory.mktemp("mcp-hashing"), settings)
    return assistant, build_server(assistant)


def test_in_process_tools_answers_and_errors(hashing_server):
    assistant, server = hashing_server

    async def main():
        async with Client(server) as client:
            await check_tools(client)
            answer = await check_answer(client)
            assert answer == assistant.ask(ANSWERABLE).model_dump(mode="json") | {"timing": answer["timing"]}
            await check_bad_input(client)
            passages = (await client.call_tool("retrieve", {"question": "economy", "k": 2})).structured_content
            assert [p["rank"] for p in passages["result"]] == [1, 2]

    run(main)


@pytest.mark.parametrize("tool,args,message", [
    ("ask", {}, "ask: question: Field required"),
    ("ask", {"question": ["a"]}, "ask: question: Input should be a valid string"),
    ("retrieve", {"question": "economy", "k": 0}, "k must be between 1 and 100, not 0"),
    ("read_document", {"doc_id": "kim-jong-un-russia-support.txt", "start": 5, "end": 2}, "start 5 is after end 2"),
    ("read_document", {"doc_id": "kim-jong-un-russia-support.txt", "end": 10 ** 9},
     "end must be between 0 and 11194 (the document's length), not 1000000000"),
    ("shout", {}, "no tool 'shout'; the tools are ask, retrieve, list_documents, read_document"),
])
def test_bad_arguments_are_one_line_mcp_errors(hashing_server, tool, args, message):
    async def main():
        async with Client(hashing_server[1]) as client:
            with pytest.raises(MCPError) as err:
                await client.call_tool(tool, args)
            assert (err.value.code, err.value.message) == (INVALID_PARAMS, message)

    run(main)


def test_errors_are_the_lines_the_cli_prints(hashing_server):
    """The same bad input through `assistant ask` and through the MCP tool: the same message."""
    from typer.testing import CliRunner

    from assistant.cli import app

    assistant, server = hashing_server
    cli = CliRunner().invoke(app, ["ask", "   ", "--index", assistant.info().folder])
    assert cli.exit_code == 2

    async def main():
        async with Client(server) as client:
            with pytest.raises(MCPError) as err:
                await client.call_tool("ask", {"question": "   "})
            return err.value.message

    assert cli.output.strip() == f"error: {run(main)}"


def test_a_bug_is_one_fixed_line_and_the_server_keeps_answering(hashing_server, caplog):
    from ui.mcp_server import INTERNAL, build_server

    assistant = hashing_server[0]
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom\nwith a second line")
        return assistant

    async def main():
        async with Client(build_server(flaky)) as client:
            with pytest.raises(MCPError) as err:
                await client.call_tool("ask", {"question": ANSWERABLE})
            assert (err.value.code, err.value.message) == (-32603, INTERNAL)
            assert (await client.call_tool("ask", {"question": ANSWERABLE})).structured_content["citations"]

    run(main)
    assert "boom" in caplog.text  # the log keeps what the client is not told


def test_an_unknown_resource_is_an_mcp_error(hashing_server):
    async def main():
        async with Client(hashing_server[1]) as client:
            with pytest.raises(MCPError) as err:
                await client.read_resource("document://nope.txt")
            assert (err.value.code, err.value.message) == (INVALID_PARAMS, "no document 'nope.txt' in this index")

    run(main)


def test_core_package_imports_no_integration():
    import subprocess

    code = ("import assistant, assistant.api, assistant.cli, sys; "
            "print([m for m in sys.modules if m.startswith(('mcp','langchain','llama_index'))])")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ real processes, real model

def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    return env | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}


@pytest.mark.integration
def test_assistant_mcp_over_stdio(real_index_dir):
    params = StdioServerParameters(command=ASSISTANT[0], args=[*ASSISTANT[1:], "mcp", "--index", str(real_index_dir)],
                                   env=child_env())

    async def main():
        async with Client(params) as client:
            await check_tools(client)
            await check_answer(client)
            await check_off_topic(client)
            await check_bad_input(client)

    run(main)


@pytest.mark.integration
@pytest.mark.slow
def test_serve_answers_mcp_over_http_behind_its_auth(real_index_dir):
    import httpx
    import httpx2

    from bench.harness import serve

    env = {"ASSISTANT_API_TOKEN": "t0ken"}
    with serve(real_index_dir, env=env, extra_args=["--auth", "reader:s3cret"]) as server:
        url = f"{server.url}/v1/mcp"
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, timeout=30)
        assert refused.status_code == 401
        assert refused.json() == {"error": "this API needs the server's login (HTTP Basic) or its bearer token"}
        basic = "Basic " + base64.b64encode(b"reader:s3cret").decode()
        for authorization in ("Bearer t0ken", basic):
            async def main():
                async with httpx2.AsyncClient(headers={"Authorization": authorization}, timeout=60) as http:
                    from mcp.client.streamable_http import streamable_http_client

                    async with Client(streamable_http_client(url, http_client=http)) as client:
                        await check_tools(client)
                        await check_answer(client)
                        await check_off_topic(client)
                        await check_bad_input(client)

            run(main)


@pytest.mark.integration
def test_the_readme_client_configuration_starts_the_server(tmp_path):
    """The README's MCP client configuration, run as a client would: its command and args, over stdio."""
    import json
    import re
    import shutil
    from pathlib import Path

    from conftest import ROOT

    blocks = re.findall(r"```json\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    servers = [json.loads(b)["mcpServers"] for b in blocks if "mcpServers" in b]
    assert len(servers) == 1
    (config,) = servers[0].values()
    assert config["args"][0] == "mcp"
    command = shutil.which(config["command"]) or str(Path(sys.executable).with_name(config["command"]))
    params = StdioServerParameters(command=command, args=config["args"],
                                   env=child_env() | {"XDG_CACHE_HOME": str(tmp_path)})

    async def main():
        async with Client(params) as client:
            await check_tools(client)
            await check_off_topic(client)

    run(main)
