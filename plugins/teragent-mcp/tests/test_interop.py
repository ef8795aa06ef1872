"""Interop sweep: servers written independently of the SDK our client uses.

- a FastMCP server (PyPI ``fastmcp`` 4.x, its own server framework; ``servers/
  fastmcp_probe.py``) over stdio and streamable HTTP: structured output, isError,
  images, progress, elicitation, a timeout's cancellation, resources with a template and
  a binary blob, prompts, tool names that differ only in punctuation, unicode, output cut;
- the Node reference servers ``server-memory``, ``server-filesystem`` and
  ``server-sequential-thinking`` (protocol 2025-11-25);
- a 1.x-SDK server that asks the client for roots, sampling and elicitation
  (``servers/v1_requests.py``): each refused at once;
- an agent built from ``[mcp.servers.NAME]`` by ``build_agent`` using the FastMCP server.

Servers come from scripts/install-mcp-deps.sh; each test skips with the reason without.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from teragent.core.types import ToolSafety


def _fastmcp(deps: Any, **kw: Any) -> dict[str, Any]:
    py = deps.need(deps.FASTMCP_PY, "fastmcp (its venv)")
    return {"command": str(py), "args": [str(deps.SERVERS / "fastmcp_probe.py")],
            "health_interval": 0, "connect_timeout": 60, **kw}


@pytest.fixture(scope="module")
def marks(tmp_path_factory: Any) -> Path:
    return tmp_path_factory.mktemp("marks")


@pytest.fixture(scope="module")
def fm(pool: Any, deps: Any, marks: Path) -> Any:
    """The FastMCP server over stdio (one process for the module)."""
    from teragent_mcp import MCPToolset

    return MCPToolset("fm", pool=pool, **_fastmcp(deps, env={"PROBE_MARKS": str(marks)},
                                                   call_timeout=3))


def _tools(ts: Any) -> dict[str, Any]:
    return {t.name: t for t in ts.get_tools()}


def _run(tool: Any, args: dict[str, Any] | None = None, **kw: Any) -> Any:
    return asyncio.run(tool.execute(args or {}, **kw))


def test_fastmcp_tool_names_stay_distinct_and_results_render(fm):
    tools = _tools(fm)
    # "get.user" and "get_user": two tools, two names, each calling its own
    users = {n: t for n, t in tools.items() if n.startswith("fm_get_user")}
    assert len(users) == 2 and users["fm_get_user"].mcp_name == "get_user"
    (dotted,) = (t for n, t in users.items() if n != "fm_get_user")
    assert dotted.mcp_name == "get.user" and "'get.user'" in dotted.description
    assert _run(users["fm_get_user"]).data == "underscored"
    assert _run(dotted).data == "dotted"
    # structured output (FastMCP declares an outputSchema), isError, an image, unicode
    weather = _run(tools["fm_weather"], {"city": "Zürich"})
    assert weather.success and json.loads(weather.data) == {"city": "Zürich", "celsius": 21.5}
    failed = _run(tools["fm_fail"], {"msg": "boom"})
    assert not failed.success and "failed: boom" in failed.error
    bad = _run(tools["fm_big"], {"n": "many"})  # the server's own argument check
    assert not bad.success and "n" in bad.error
    assert _run(tools["fm_picture"]).data == "[image image/png, 200 bytes]"
    big = _run(tools["fm_big"], {"n": 60_000})
    assert big.success and big.metadata["truncated"] and big.data.startswith("é" * 100)
    assert "output cut: 60000 characters" in big.data


def test_fastmcp_resources_templates_and_prompts(fm):
    tools = _tools(fm)
    listing = json.loads(_run(tools["fm_list_resources"]).data)
    assert {"uri": "data://text", "name": "text", "mime_type": "text/plain"} in listing
    # the template is offered to the model, which fills it in and reads the URI
    (template,) = (e for e in listing if "uri_template" in e)
    assert template["uri_template"] == "users://{uid}/profile"
    read = tools["fm_read_resource"]
    profile = _run(read, {"uri": "users://7/profile"})
    assert profile.success and json.loads(profile.data) == {"uid": "7", "name": "Zoë"}
    assert _run(read, {"uri": "data://blob"}).data == \
        "[binary data://blob: application/octet-stream, 256 bytes]"
    missing = _run(read, {"uri": "data://nope"})
    assert not missing.success and "data://nope" in missing.error

    async def prompts() -> Any:
        return await fm.list_prompts(), await fm.get_prompt("greet", {"name": "Ana"})

    listed, greet = asyncio.run(prompts())
    assert [p.name for p in listed] == ["greet"]
    assert greet.messages[0].content.text == "Hello Ana ✓"


def test_fastmcp_progress_elicitation_and_a_timeout_that_cancels(fm, marks):
    tools = _tools(fm)
    seen: list[str] = []

    async def progress() -> Any:
        out = await tools["fm_slow"].execute({"seconds": 0}, progress_callback=seen.append)
        deadline = time.monotonic() + 10  # handlers run as tasks: the last may lag
        while len(seen) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return out

    assert _run(tools["fm_slow"], {"seconds": 0}).data == "done"
    assert asyncio.run(progress()).success
    assert seen == ["1/3 step 1", "2/3 step 2", "3/3 step 3"]
    # elicitation: the client offers none, so the request is refused, not left waiting
    t0 = time.monotonic()
    ask = _run(tools["fm_ask"])
    assert not ask.success and "elicitation" in ask.error.lower()
    assert time.monotonic() - t0 < 3  # not the call_timeout
    # past call_timeout: the caller gets the reason, the server is told to stop
    slow = _run(tools["fm_slow"], {"seconds": 60})
    assert not slow.success and "timed out after 3 s" in slow.error
    mark = marks / "slow"
    deadline = time.monotonic() + 10
    while not mark.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert mark.read_text() == "cancelled"
    assert _run(tools["fm_weather"], {"city": "Oslo"}).success  # the connection lives on


def test_fastmcp_over_streamable_http_survives_a_server_restart(pool, deps):
    import subprocess

    from teragent_mcp import MCPToolset

    py = deps.need(deps.FASTMCP_PY, "fastmcp (its venv)")
    port = deps.free_port()

    def start() -> Any:
        proc = subprocess.Popen([str(py), str(deps.SERVERS / "fastmcp_probe.py"), str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deps.wait_port(port, proc, 60)
        return proc

    proc = start()
    try:
        ts = MCPToolset("web", pool=pool, url=f"http://127.0.0.1:{port}/mcp",
                        transport="streamable_http", health_interval=0, connect_timeout=30)
        tools = _tools(ts)
        assert tools["web_weather"].safety == ToolSafety.READ_ONLY
        assert json.loads(_run(tools["web_weather"], {"city": "Lyon"}).data)["city"] == "Lyon"
        assert asyncio.run(ts.server_info())["name"] == "probe ✓"
        deps.stop(proc)
        proc = start()
        after = _run(tools["web_weather"], {"city": "Nice"})
        assert after.success and "Nice" in after.data
    finally:
        deps.stop(proc)


def test_node_reference_servers(pool, deps, tmp_path):
    from teragent_mcp import MCPToolset

    node = deps.node()
    (tmp_path / "héllo ✓.txt").write_text("日本語 ✓\n", encoding="utf-8")
    (tmp_path / "p.png").write_bytes(bytes.fromhex("89504e470d0a1a0a") + bytes(22))
    fs = _tools(MCPToolset("fs", pool=pool, command=node, health_interval=0,
                           args=[str(deps.npm_server("filesystem")), str(tmp_path)]))
    mem = _tools(MCPToolset("mem", pool=pool, command=node, health_interval=0,
                            args=[str(deps.npm_server("memory"))],
                            env={"MEMORY_FILE_PATH": str(tmp_path / "mem.jsonl")}))
    think = _tools(MCPToolset("think", pool=pool, command=node, health_interval=0,
                              args=[str(deps.npm_server("sequential-thinking"))]))
    assert fs["fs_write_file"].safety == ToolSafety.DESTRUCTIVE
    assert fs["fs_move_file"].path_params == {"source": "write", "destination": "write"}
    assert _run(fs["fs_read_text_file"], {"path": str(tmp_path / "héllo ✓.txt")}).data \
        == "日本語 ✓\n"
    assert _run(fs["fs_read_media_file"], {"path": str(tmp_path / "p.png")}).data \
        == "[image image/png, 30 bytes]"
    outside = _run(fs["fs_read_text_file"], {"path": "/etc/hostname"})
    assert not outside.success and "outside allowed directories" in outside.error
    made = _run(mem["mem_create_entities"], {"entities": [
        {"name": "Zoë", "entityType": "person", "observations": ["likes 寿司"]}]})
    assert made.success
    graph = json.loads(_run(mem["mem_read_graph"]).data)
    assert graph["entities"][0]["observations"] == ["likes 寿司"]
    step = _run(think["think_sequentialthinking"], {
        "thought": "one ✓", "thoughtNumber": 1, "totalThoughts": 2,
        "nextThoughtNeeded": True})
    assert step.success and json.loads(step.data)["thoughtHistoryLength"] == 1
    wrong = _run(think["think_sequentialthinking"], {"thought": "x"})
    assert not wrong.success and "thoughtNumber" in wrong.error


def test_a_1x_server_asking_for_roots_sampling_or_elicitation_is_refused_at_once(pool,
                                                                                 deps):
    from teragent_mcp import MCPToolset

    py = deps.need(deps.SQLITE_PY, "the 1.x SDK venv (mcp-server-sqlite's)")
    ts = MCPToolset("v1", pool=pool, command=str(py), health_interval=0, call_timeout=20,
                    args=[str(deps.SERVERS / "v1_requests.py")])
    tools = _tools(ts)
    for name, refusal in (("v1_roots", "roots"), ("v1_sample", "sampling"),
                          ("v1_ask", "elicitation")):
        t0 = time.monotonic()
        out = _run(tools[name])
        assert not out.success and refusal in out.error.lower() and "not supported" in \
            out.error, (name, out.error)
        assert time.monotonic() - t0 < 10, name  # an answer, not the call_timeout


def test_an_agent_from_agent_toml_uses_the_fastmcp_server(isolated, deps):
    import teragent
    from teragent.testing import ScriptedModel, call_tool, reply

    from teragent_mcp.content import tool_names

    pytest.importorskip("teragent_permissions")
    cfg = _fastmcp(deps)
    (isolated / "agent.toml").write_text(
        "[mcp.servers.fm]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in cfg.items()))
    dotted = tool_names("fm_", ["get_user", "get.user"])[1]
    model = ScriptedModel([call_tool(dotted, {}),
                           call_tool("fm_read_resource", {"uri": "users://42/profile"}),
                           call_tool("fm_weather", {"city": "Zürich"}),
                           reply("done")])

    async def main() -> Any:
        agent = teragent.build_agent(isolated / "agent.toml", workspace=isolated,
                                     provider=model)
        try:
            return agent.tools.list_tool_names(), await agent.run("go")
        finally:
            await agent.aclose()

    offered, result = asyncio.run(main())
    assert {"fm_get_user", dotted, "fm_read_resource"} <= set(offered)
    assert result.final_text == "done"
    answers = [str(m.get("content")) for m in model.requests[-1].messages or []
               if m.get("role") == "tool"]
    assert answers[0] == "dotted"
    assert json.loads(answers[1]) == {"uid": "42", "name": "Zoë"}
    assert json.loads(answers[2])["city"] == "Zürich"


def test_mcp_server_fetch_reads_a_loopback_page(pool, deps, tmp_path):
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from teragent_mcp import MCPToolset

    py = deps.need(deps.FASTMCP_PY, "mcp-server-fetch (the fastmcp venv)")
    (tmp_path / "index.html").write_text(
        "<html><head><title>T</title></head><body><h1>Héllo ✓</h1><p>"
        + "word " * 2000 + "</p></body></html>", encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

    web = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=tmp_path))
    threading.Thread(target=web.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{web.server_address[1]}/"
    try:
        base = {"command": str(py), "health_interval": 0, "call_timeout": 30}
        strict = _tools(MCPToolset("web", pool=pool, args=["-m", "mcp_server_fetch"], **base))
        fetch = _tools(MCPToolset("lan", pool=pool, **base, args=[
            "-m", "mcp_server_fetch", "--allow-private-ips", "--ignore-robots-txt"]))
        assert strict["web_fetch"].url_params == ("url",)  # format: uri
        refused = _run(strict["web_fetch"], {"url": url})
        assert not refused.success and "not a public address" in refused.error
        page = _run(fetch["lan_fetch"], {"url": url, "max_length": 200})
        assert page.success and "Héllo ✓" in page.data and "start_index of 200" in page.data
        gone = _run(fetch["lan_fetch"], {"url": url + "nope"})
        assert not gone.success and "404" in gone.error
    finally:
        web.shutdown()
        web.server_close()


def test_a_server_printing_to_stdout_gets_one_warning_line_per_stray_line(pool, deps,
                                                                           caplog):
    import logging

    from teragent_mcp import MCPToolset

    caplog.set_level(logging.WARNING, logger="mcp.client.stdio")
    ts = MCPToolset("chatty", pool=pool, **_fastmcp(deps, env={"PROBE_STDOUT": "5"}))
    assert _run(_tools(ts)["chatty_weather"], {"city": "Oslo"}).success  # still works
    stray = [r for r in caplog.records if r.name == "mcp.client.stdio"]
    # the SDK's ERROR with a pydantic traceback per line, naming no server, becomes one
    # WARNING line that names the server and the line, for the first three lines only
    assert [r.levelname for r in stray] == ["WARNING"] * 3
    assert not any(r.exc_info for r in stray)
    first = stray[0].getMessage()
    assert "'chatty'" in first and "'banner line 0 on stdout'" in first
    assert "further such lines are not shown" in stray[-1].getMessage()


def test_a_server_without_tools_loads_and_stays_healthy(pool, deps):
    from teragent_mcp import MCPToolset

    py = deps.need(deps.SQLITE_PY, "the 1.x SDK venv (mcp-server-sqlite's)")
    ts = MCPToolset("notools", pool=pool, command=str(py), health_interval=0,
                    args=[str(deps.SERVERS / "v1_no_tools.py")])
    # no tools capability: no tools/list (it would answer "Method not found"), and its
    # resources are still offered
    tools = _tools(ts)
    assert sorted(tools) == ["notools_list_resources", "notools_read_resource"]
    assert _run(tools["notools_read_resource"], {"uri": "mem://a"}).data == "content of a"
    # the health check asks for something the server offers: the connection is kept
    conn = pool.get("notools", ts.config)
    assert pool.run_sync(pool.health_check())["notools"] is True
    assert pool.get("notools", ts.config) is conn and conn.alive
    prompt = asyncio.run(ts.get_prompt("hello"))
    assert prompt.messages[0].content.text == "hello ✓"


def test_a_server_logging_to_stderr_cannot_grow_its_file_without_bound(fm):
    import os

    from teragent_mcp.session import _STDERR_MAX

    noise = _tools(fm)["fm_noise"]
    conn = fm.pool.get("fm", fm.config)
    for _ in range(3):  # 3 x 1.5 MiB written; at most 1 MiB (+ one call's worth) kept
        assert _run(noise, {"kib": 1536}).data == "ok"
        assert os.fstat(conn._stderr.fileno()).st_size <= _STDERR_MAX
    assert conn.stderr_tail(1) == "noise end"  # the latest lines are the ones kept
    assert _run(_tools(fm)["fm_weather"], {"city": "Oslo"}).success


def test_a_result_that_misses_its_output_schema_is_kept_with_a_note(fm, tmp_path):
    # the tool ran (it wrote the file): its output must reach the model, not a claim
    # that the call failed, which invites a second run of a call that had its effect
    target = tmp_path / "out.txt"
    out = _run(_tools(fm)["fm_liar"], {"path": str(target)})
    assert target.read_text() == "written"
    assert out.success and out.data.startswith("made it\n[note: the structured result "
                                               "does not match the tool's declared output")
    assert "'not an int' is not of type 'integer'" in out.metadata["output_schema_mismatch"]


def test_stateful_http_servers_that_restart_get_a_new_session(pool, deps, caplog):
    """A restarted server forgot our session id. server-everything (TypeScript) answers
    400 with an id-less error, the 1.x Python SDK 404 "Session not found": either way
    the next call opens a new session instead of failing for good."""
    import logging
    import subprocess

    from teragent_mcp import MCPToolset

    caplog.set_level(logging.WARNING, logger="mcp.client.streamable_http")
    deps.need(deps.EVERYTHING_JS, "@modelcontextprotocol/server-everything")
    py = deps.need(deps.SQLITE_PY, "the 1.x SDK venv (mcp-server-sqlite's)")
    ev_port, v1_port = deps.free_port(), deps.free_port()

    def v1() -> Any:
        proc = subprocess.Popen([str(py), str(deps.SERVERS / "v1_http.py"), str(v1_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deps.wait_port(v1_port, proc, 60)
        return proc

    procs = [deps.start_everything("streamableHttp", ev_port)[0], v1()]
    try:
        http = {"transport": "streamable_http", "health_interval": 0, "connect_timeout": 30}
        ev = _tools(MCPToolset("evh", pool=pool, url=f"http://127.0.0.1:{ev_port}/mcp",
                               **http))
        one = _tools(MCPToolset("v1h", pool=pool, url=f"http://127.0.0.1:{v1_port}/mcp",
                                **http))
        assert _run(ev["evh_echo"], {"message": "a"}).success
        assert _run(one["v1h_bump"], {"n": 1}).data == "2"
        for p in procs:
            deps.stop(p)
        procs = [deps.start_everything("streamableHttp", ev_port)[0], v1()]
        # "Session not found": the request never ran, so even a write is sent again
        assert _run(one["v1h_bump"], {"n": 2}).data == "3"
        # an HTTP error of unknown cause: a write is not repeated, but it says why and
        # the next call has a new session; a read-only idempotent call is repeated
        toggle = _run(ev["evh_toggle-simulated-logging"])
        assert not toggle.success and "ended the session" in toggle.error
        assert _run(ev["evh_toggle-simulated-logging"]).success
        for p in procs[:1]:
            deps.stop(p)
        procs[0] = deps.start_everything("streamableHttp", ev_port)[0]
        assert _run(ev["evh_echo"], {"message": "b"}).data == "Echo: b"
        assert not [r for r in caplog.records if "termination failed" in r.getMessage()]
    finally:
        for p in procs:
            deps.stop(p)


def test_a_url_parameter_holding_a_local_path_is_checked_as_a_path(isolated, deps):
    """server-pdf's ``url`` is "PDF URL or local file path"; URLs are checked by no
    guard, so a path (or a file: URL) under a URL-named parameter reached .env."""
    import teragent
    from teragent.audit import read_audit_log
    from teragent.testing import ScriptedModel, call_tool, reply

    pytest.importorskip("teragent_permissions")
    cfg = _fastmcp(deps)
    (isolated / "agent.toml").write_text(
        "[mcp.servers.fm]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in cfg.items()))
    (isolated / ".env").write_text("TOKEN=x\n")
    env = str(isolated / ".env")
    model = ScriptedModel([call_tool("fm_open_doc", {"url": env}),
                           call_tool("fm_open_doc", {"url": "file://" + env.replace(
                               ".env", "%2Eenv")}),
                           call_tool("fm_open_doc", {"url": "https://example.invalid/a.pdf"}),
                           call_tool("fm_open_doc", {"url": "notes.txt"}),
                           call_tool("fm_read_resource", {"uri": "file://" + env}),
                           reply("done")])

    async def main() -> Any:
        agent = teragent.build_agent(isolated / "agent.toml", workspace=isolated,
                                     provider=model)
        try:
            return await agent.run("go")
        finally:
            await agent.aclose()

    asyncio.run(main())
    outcomes = [r["outcome"] for r in read_audit_log(isolated / ".teragent" / "audit.jsonl")]
    # a web URL and a workspace file run; a file: URI to read_resource (undeclared, so
    # checked as a path already) is refused too
    assert outcomes == ["denied", "denied", "executed", "executed", "denied"]
    answers = [str(m.get("content")) for m in model.requests[-1].messages or []
               if m.get("role") == "tool"]
    assert all("environment files hold secrets" in answers[i] for i in (0, 1, 4))
    assert answers[2] == "opened https://example.invalid/a.pdf"
