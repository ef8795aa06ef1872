"""Tools generated from a FastAPI app's own ``/openapi.json`` (uvicorn on loopback),
called by an agent run (scripted model) built by ``teragent.compose.build_agent`` from an
``agent.toml``: parameters in path, query and header, a body with nested and recursive
``$ref`` s, an API-key scheme and an OAuth2 client-credentials scheme mapped to
credentials; DELETE refused by default and allowed through an approval gate; secrets
never in the audit log, events or logs; the pack's client started at the first call and
closed with the agent."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from teragent.compose import build_agent
from teragent.core.types import ToolSafety
from teragent.testing import ScriptedModel, call_tool, reply
from teragent_auth.testing import CLIENT_ID, CLIENT_SECRET
from teragent_openapi import OpenAPIToolset


NEW_PET = {"name": "Nemo", "category": {"name": "clownfish", "parent": {"name": "fish"}},
           "tags": ["wet"]}
TREE = {"label": "a", "children": [{"label": "b", "children": [{"label": "c"}]},
                                   {"label": "d"}]}


def _project(tmp_path, pets, monkeypatch, extra: str = ""):
    monkeypatch.setenv("PETS_API_KEY", pets.api_key)
    monkeypatch.setenv("PETS_CLIENT_SECRET", CLIENT_SECRET)
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "agent.toml").write_text(f"""
[openapi.pets]
spec = "{pets.url}/openapi.json"
exclude = ["*Flaky", "getSlow"]
security = {{ APIKeyHeader = "PETS_API_KEY", OAuth2 = {{ client_id = "{CLIENT_ID}", client_secret_env = "PETS_CLIENT_SECRET" }} }}
{extra}
""")
    return ws


def test_tools_from_the_apps_own_openapi_json(pets):
    ts = OpenAPIToolset(f"{pets.url}/openapi.json", name="pets")
    tools = {t.name: t for t in ts.get_tools()}
    assert ts.document.version.startswith("3.1") and ts.base_url == pets.url
    assert {n: t.safety for n, t in tools.items()} == {
        "pets_listPets": ToolSafety.READ_ONLY, "pets_getPet": ToolSafety.READ_ONLY,
        "pets_createPet": ToolSafety.SAFE_WRITE, "pets_deletePet": ToolSafety.DESTRUCTIVE,
        "pets_countTree": ToolSafety.SAFE_WRITE, "pets_getStats": ToolSafety.READ_ONLY,
        "pets_getFlaky": ToolSafety.READ_ONLY, "pets_postFlaky": ToolSafety.SAFE_WRITE,
        "pets_getSlow": ToolSafety.READ_ONLY}
    get_pet = tools["pets_getPet"].parameters_schema
    assert get_pet["required"] == ["pet_id"]
    assert get_pet["properties"]["pet_id"]["type"] == "integer"
    assert "header parameter" in get_pet["properties"]["x-request-id"]["description"]
    body = tools["pets_createPet"].parameters_schema["properties"]["body"]
    # nested $ref inlined; the recursive Category.parent expanded twice, then cut
    category = body["properties"]["category"]
    assert category["required"] == ["name"]
    inner = category["properties"]["parent"]["anyOf"][0]
    assert inner["properties"]["parent"]["anyOf"][0] == {
        "type": "object", "description": "a Category-Input (recursive; same shape as above)"}
    tree = tools["pets_countTree"].parameters_schema["properties"]["body"]
    assert tree["properties"]["children"]["items"]["properties"]["label"] == {"type": "string"}
    json.dumps([t.schema() for t in tools.values()])  # plain JSON all the way
    # declared effects: arguments are data, the URL is what the call reaches
    fx = tools["pets_deletePet"].effects({"pet_id": 7})
    assert fx.urls == [f"{pets.url}/pets/7"] and not fx.undeclared and not fx.paths


def test_agent_run_through_build_agent(tmp_path, pets, host, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    ws = _project(tmp_path, pets, monkeypatch)
    offered: list[str] = []

    def see_tools(messages, tools):
        offered.extend(t["function"]["name"] for t in tools or [])

    model = ScriptedModel([
        call_tool("pets_listPets", {"limit": 5}, expect=see_tools),
        call_tool("pets_createPet", {"body": NEW_PET}),
        call_tool("pets_getPet", {"pet_id": 3, "x-request-id": "req-42"}),
        call_tool("pets_countTree", {"body": TREE}),
        call_tool("pets_getStats", {}),
        call_tool("pets_deletePet", {"pet_id": 1}),
        reply("done"),
    ])
    events: list[str] = []

    async def main():
        agent = build_agent(ws / "agent.toml", workspace=ws, provider=model,
                            offer_all_tools=True, allow_writes=True)
        agent.bus.on("*", lambda name, *a, **kw: events.append(f"{name} {a!r} {kw!r}"))
        pack = agent.tools.pack_of("pets_listPets")
        assert pack is not None and not pack.started  # nothing opened at build
        try:
            return await agent.run("look after the pets"), pack
        finally:
            await agent.aclose()

    result, pack = asyncio.run(main())
    model.assert_consumed()
    assert result.final_text == "done"
    out = {o.call.name: o.result for o in result.tool_outcomes}
    assert [p["name"] for p in out["pets_listPets"].data["body"]] == ["Rex", "Tom"]
    created = out["pets_createPet"].data
    assert created["status"] == 201 and created["body"]["id"] == 3
    assert pets.pets[3]["category"]["parent"]["name"] == "fish"  # the nested body arrived
    assert out["pets_getPet"].data["body"]["request_id"] == "req-42"
    assert out["pets_countTree"].data["body"] == {"nodes": 4}
    assert out["pets_getStats"].data["body"] == {"pets": 3}  # OAuth2 token from loopback
    assert len(pets.auth.token_requests) == 1
    assert pets.auth.token_requests[0]["form"]["scope"] == "stats:read"
    # DELETE: refused by the guard chain's decider; the server never saw it
    deny = out["pets_deletePet"]
    assert not deny.success and "is destructive and is not allowed" in deny.error
    assert ("DELETE", "/pets/1") not in pets.requests and 1 in pets.pets
    # the API key went only where the document asks for it
    by_call = dict(zip(pets.requests, pets.headers))
    assert by_call[("POST", "/pets")]["x-api-key"] == pets.api_key
    assert "x-api-key" not in by_call[("GET", "/pets")]
    assert "pets_deletePet" in offered and "pets_getFlaky" not in offered
    # lifecycle: started by the first call, stopped (client closed) with the agent
    assert not pack.started and all(c.is_closed for _, c in
                                    pack.toolsets[0]._clients.values()) is True
    audit = (ws / ".teragent" / "audit.jsonl").read_text()
    lines = [json.loads(x) for x in audit.splitlines()]
    assert [(r["tool_name"], r["outcome"]) for r in lines][-2:] == [
        ("pets_getStats", "executed"), ("pets_deletePet", "denied")]
    assert lines[-1]["source"] == "safety_gate"
    token = pets.auth.issued[0]
    for text in (audit, "\n".join(events), caplog.text, repr(result)):
        for secret in (pets.api_key, CLIENT_SECRET, token):
            assert secret not in text


def test_delete_is_not_even_offered_by_default(tmp_path, pets, host, monkeypatch):
    ws = _project(tmp_path, pets, monkeypatch)
    model = ScriptedModel([call_tool("pets_deletePet", {"pet_id": 2}), reply("ok")])

    async def main():
        agent = build_agent(ws / "agent.toml", workspace=ws, provider=model)
        names = agent.tools.list_tool_names()
        try:
            return names, await agent.run("delete Tom")
        finally:
            await agent.aclose()

    names, result = asyncio.run(main())
    assert "pets_listPets" in names and "pets_deletePet" not in names
    assert "pets_createPet" not in names  # writes are not allowed in this run either
    assert not result.tool_outcomes[0].result.success
    assert ("DELETE", "/pets/2") not in pets.requests and 2 in pets.pets


@pytest.mark.parametrize("approve", [True, False])
def test_delete_through_an_approval_gate(tmp_path, pets, host, monkeypatch, approve):
    perms = pytest.importorskip("teragent_permissions.approval")
    ws = _project(tmp_path, pets, monkeypatch)
    asked: list[tuple[str, dict, str]] = []

    def human(request):
        asked.append((request.tool_name, request.params, request.safety))
        return approve

    gate = perms.ApprovalGate(human)  # asks for destructive (and shell) tools
    model = ScriptedModel([call_tool("pets_getPet", {"pet_id": 2}),
                           call_tool("pets_deletePet", {"pet_id": 2}), reply("ok")])

    async def main():
        # the decider lets destructive calls through; the gate, last in the chain, asks
        agent = build_agent(ws / "agent.toml", workspace=ws, provider=model,
                            allow_destructive=True, approval_gate=gate)
        try:
            return await agent.run("delete Tom")
        finally:
            await agent.aclose()

    result = asyncio.run(main())
    assert asked == [("pets_deletePet", {"pet_id": 2}, "destructive")]  # not the GET
    delete = result.tool_outcomes[1].result
    if approve:
        assert delete.success and delete.data["status"] == 204
        assert ("DELETE", "/pets/2") in pets.requests and 2 not in pets.pets
    else:
        assert not delete.success and "rejected" in delete.error
        assert ("DELETE", "/pets/2") not in pets.requests and 2 in pets.pets


def test_idempotent_calls_retry_on_503_honouring_retry_after(pets):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    ts = OpenAPIToolset(f"{pets.url}/openapi.json", name="pets", retries=3, sleep=sleep)
    get, post = ts.get_tools()[-3:-1]
    assert (get.name, post.name) == ("pets_getFlaky", "pets_postFlaky")

    async def main():
        pets.flaky_left = 2
        ok = await get.execute({})
        pets.flaky_left = 1
        refused = await post.execute({})  # POST is not idempotent: no retry
        await ts.stop()
        return ok, refused

    ok, refused = asyncio.run(main())
    assert ok.success and ok.data["body"] == {"ok": True} and ok.metadata["retries"] == 2
    assert waits == [1.0, 1.0]  # the server's Retry-After, not our backoff
    assert not refused.success and refused.error.startswith("HTTP 503")
    assert pets.requests.count(("GET", "/flaky")) == 3
    assert pets.requests.count(("POST", "/flaky")) == 1


def test_a_too_long_retry_after_is_not_waited_for(pets):
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    ts = OpenAPIToolset(f"{pets.url}/openapi.json", name="pets", include=["getFlaky"],
                        max_retry_after=0.5, sleep=sleep)
    pets.flaky_left = 1
    (tool,) = ts.get_tools()

    async def main():
        async with ts:
            return await tool.execute({})

    result = asyncio.run(main())
    assert not result.success and "HTTP 503" in result.error and waits == []


def test_read_only_results_cached_writes_never(pets):
    from teragent_cache import CachedTool, ResultCache

    cache = ResultCache(ttl=60)
    ts = OpenAPIToolset(f"{pets.url}/openapi.json", name="pets",
                        include=["listPets", "createPet"], cache=cache,
                        security={}, safety={})
    tools = {t.name: t for t in ts.get_tools()}
    assert isinstance(tools["pets_listPets"], CachedTool)
    assert not isinstance(tools["pets_createPet"], CachedTool)

    async def main():
        a = await tools["pets_listPets"].execute({"limit": 1})
        b = await tools["pets_listPets"].execute({"limit": 1})
        await ts.stop()
        return a, b

    a, b = asyncio.run(main())
    assert a.data == b.data and b.metadata["cache"] == "hit"
    assert pets.requests.count(("GET", "/pets")) == 1
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


def test_a_safety_override_makes_a_post_read_only(pets):
    ts = OpenAPIToolset(f"{pets.url}/openapi.json", name="pets",
                        safety={"countTree": "read_only", "pets_getStats": "destructive"})
    tools = {t.name: t for t in ts.get_tools()}
    assert tools["pets_countTree"].safety == ToolSafety.READ_ONLY
    assert tools["pets_getStats"].safety == ToolSafety.DESTRUCTIVE


def test_a_request_that_takes_too_long_times_out(pets):
    ts = OpenAPIToolset(f"{pets.url}/openapi.json", name="pets", include=["getSlow"],
                        timeout=0.3)
    (tool,) = ts.get_tools()

    async def main():
        async with ts:
            return await tool.execute({})

    result = asyncio.run(main())
    assert not result.success and result.error == "GET /slow timed out after 0.3 s"


def test_a_permission_deny_rule_applies_to_openapi_tools(tmp_path, pets, monkeypatch):
    """With teragent-permissions deciding, a [permission] deny rule refuses an OpenAPI
    tool (the app never sees the call) while its siblings run."""
    perms = pytest.importorskip("teragent_permissions")
    import teragent_auth
    import teragent_cache
    import teragent_openapi
    from teragent.testing.hosts import isolated_host

    ws = _project(tmp_path, pets, monkeypatch, extra=(
        '\n[permission]\nrules = { deny = ["pets_getPet:*"] }\n'))
    model = ScriptedModel([call_tool("pets_listPets", {}),
                           call_tool("pets_getPet", {"pet_id": 1}), reply("ok")])

    async def main():
        agent = build_agent(ws / "agent.toml", workspace=ws, provider=model,
                            offer_all_tools=True)
        try:
            return await agent.run("pets?")
        finally:
            await agent.aclose()

    with isolated_host(teragent_openapi, teragent_auth, teragent_cache, perms):
        result = asyncio.run(main())
    listed, got = (o.result for o in result.tool_outcomes)
    assert listed.success
    assert not got.success and "Permission denied" in got.error
    assert ("GET", "/pets") in pets.requests and ("GET", "/pets/1") not in pets.requests
