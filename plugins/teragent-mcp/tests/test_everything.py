"""``@modelcontextprotocol/server-everything`` (npm) over stdio, SSE and streamable HTTP:
tools, resources, prompts, progress, cancellation and errors through MCPToolset.

One server process per transport for the whole module (stdio: one connection in the
module's pool; SSE and HTTP: one node process on a free loopback port)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

TRANSPORTS = ("stdio", "sse", "streamable_http")


@pytest.fixture(scope="module")
def servers(deps: Any) -> Any:
    deps.need(deps.EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    procs: dict[str, Any] = {}
    yield procs
    for proc, _ in procs.values():
        deps.stop(proc)


@pytest.fixture(params=TRANSPORTS)
def toolset(request: Any, servers: dict[str, Any], pool: Any, deps: Any) -> Any:
    from teragent_mcp import MCPToolset

    transport = request.param
    if transport == "stdio":
        cfg = {"command": deps.node(), "args": [str(deps.EVERYTHING_JS), "stdio"]}
    else:
        if transport not in servers:
            servers[transport] = deps.start_everything("sse" if transport == "sse" else
                                                       "streamableHttp")
        port = servers[transport][1]
        url = f"http://127.0.0.1:{port}/sse" if transport == "sse" else \
            f"http://127.0.0.1:{port}/mcp"
        cfg = {"url": url, "transport": transport}
    return MCPToolset("ev", pool=pool, connect_timeout=30, health_interval=0, **cfg)


def _tools(toolset: Any) -> dict[str, Any]:
    return {t.name: t for t in toolset.get_tools()}


def test_tools_are_listed_with_safety_from_their_annotations(toolset):
    tools = _tools(toolset)
    assert {"ev_echo", "ev_get-sum", "ev_trigger-long-running-operation"} <= set(tools)
    assert tools["ev_echo"].safety.value == "read_only"  # readOnlyHint: true
    # readOnlyHint false, destructiveHint false: a write, not read-only
    assert tools["ev_toggle-simulated-logging"].safety.value == "safe_write"
    assert tools["ev_echo"].parameters_schema["properties"]["message"]["type"] == "string"


def test_tool_calls_return_text_and_structured_content(toolset):
    tools = _tools(toolset)

    async def main() -> Any:
        echo = await tools["ev_echo"].execute({"message": "hello over MCP"})
        total = await tools["ev_get-sum"].execute({"a": 2, "b": 40})
        return echo, total

    echo, total = asyncio.run(main())
    assert echo.success and echo.data == "Echo: hello over MCP"
    assert total.success and "42" in total.data


def test_errors_come_back_as_failed_results(toolset):
    tools = _tools(toolset)

    async def main() -> Any:
        missing = await toolset.call("no-such-tool", {})
        bad = await tools["ev_get-sum"].execute({"a": "two", "b": 2})
        return missing, bad

    missing, bad = asyncio.run(main())
    assert missing.is_error  # the server's answer, not an exception
    assert not bad.success and bad.error


def test_resources_and_prompts(toolset):
    tools = _tools(toolset)
    assert "ev_list_resources" in tools and "ev_read_resource" in tools

    async def main() -> Any:
        listing = await tools["ev_list_resources"].execute({})
        uri = json.loads(listing.data)[0]["uri"]
        read = await tools["ev_read_resource"].execute({"uri": uri})
        prompts = await toolset.list_prompts()
        prompt = await toolset.get_prompt("args-prompt", {"city": "Lyon"})
        return uri, read, prompts, prompt

    uri, read, prompts, prompt = asyncio.run(main())
    assert uri.startswith("demo://") and read.success and len(read.data) > 20
    assert {"simple-prompt", "args-prompt"} <= {p.name for p in prompts}
    assert "Lyon" in prompt.messages[0].content.text


def test_progress_reaches_the_callers_loop(toolset):
    long = _tools(toolset)["ev_trigger-long-running-operation"]
    seen: list[str] = []

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        threads: list[Any] = []

        def on_progress(text: str) -> None:
            threads.append(asyncio.get_running_loop() is loop)
            seen.append(text)

        out = await long.execute({"duration": 0.3, "steps": 3}, progress_callback=on_progress)
        # the SDK runs progress handlers as tasks of their own: the last one may land
        # just after the result (bounded wait)
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return out, threads

    out, threads = asyncio.run(main())
    assert out.success
    assert seen == ["1/3", "2/3", "3/3"] and all(threads)


def test_cancelling_a_call_cancels_the_request_and_keeps_the_connection(toolset):
    tools = _tools(toolset)
    long = tools["ev_trigger-long-running-operation"]

    async def main() -> Any:
        started = asyncio.Event()
        task = asyncio.ensure_future(long.execute(
            {"duration": 30, "steps": 30}, progress_callback=lambda _: started.set()))
        await asyncio.wait_for(started.wait(), 20)  # the server is working on it
        t0 = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        cancelled_in = time.monotonic() - t0
        # the request was cancelled in the pool's loop too, not just abandoned here:
        # the connection has nothing in flight (bounded wait for the other thread)
        conn = toolset.pool.get("ev", toolset.config)
        deadline = time.monotonic() + 10
        while conn.in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        in_flight = conn.in_flight
        after = await tools["ev_echo"].execute({"message": "still here"})
        return cancelled_in, in_flight, after

    cancelled_in, in_flight, after = asyncio.run(main())
    assert cancelled_in < 10  # not the 30 s the operation would take
    assert in_flight == 0
    assert after.success and after.data == "Echo: still here"


def test_output_is_capped(toolset):
    from teragent_mcp import MCPToolset

    small = MCPToolset("ev", toolset.config.model_copy(update={"max_output_chars": 100}),
                       pool=toolset.pool)
    echo = _tools(small)["ev_echo"]
    out = asyncio.run(echo.execute({"message": "y" * 5000}))
    assert out.success and out.metadata["truncated"]
    assert out.data.startswith("Echo: yyy") and "output cut: 5006 characters" in out.data
    assert len(out.data) < 300
