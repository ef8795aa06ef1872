"""Sensitive tool arguments (``BaseTool.sensitive_params``): the tool gets the value,
every record of the call shows ``[redacted: N chars]``: the audit log, the events, the
trace, the session and its transcript, the conversation later model calls see. Batch
and streaming runs, a ``@tool`` and a ``BaseTool`` subclass."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, SecretStr

import teragent
from teragent.events import EventBus
from teragent.secrets import redact_arguments, sensitive_arguments
from teragent.testing import ScriptedModel, call_tool, reply
from teragent.tools import BaseTool, ToolResult, tool

SECRET = "correct-horse-battery-staple-42"
received: list[str] = []


@tool(sensitive_params=("passphrase",))
def sign_in(user: str, passphrase: str) -> str:
    """Sign in to the intranet.

    Args:
        user: The user name.
        passphrase: The passphrase.
    """
    received.append(passphrase)
    return f"signed in as {user}"


class Vault(BaseTool):
    name: ClassVar[str] = "vault_put"
    description: ClassVar[str] = "Store a secret under a label."
    data_params: ClassVar[tuple[str, ...]] = ("label", "value")
    sensitive_params: ClassVar[tuple[str, ...]] = ("value",)
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["label", "value"], "additionalProperties": False,
        "properties": {"label": {"type": "string"}, "value": {"type": "string"}}}

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        received.append(params["value"])
        return ToolResult(data=f"stored {params['label']}")


def test_redact_arguments_copies_and_leaves_the_rest() -> None:
    args = {"user": "ann", "passphrase": SECRET}
    shown = redact_arguments("sign_in", args)
    assert shown == {"user": "ann", "passphrase": f"[redacted: {len(SECRET)} chars]"}
    assert args["passphrase"] == SECRET  # the caller's arguments are untouched
    assert redact_arguments("sign_in", shown) == shown  # a record passing twice
    assert redact_arguments("sign_in", {"user": "ann"}) == {"user": "ann"}
    assert redact_arguments("other_tool", args) is args
    assert sensitive_arguments("vault_put") == {"value"}
    assert Vault().redact({"label": "x", "value": [1, 2]})["value"] == "[redacted]"


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
def test_no_record_of_a_run_holds_a_sensitive_argument(tmp_path: Path, stream: bool) -> None:
    received.clear()
    later: list[list[dict[str, Any]]] = []
    model = ScriptedModel([
        call_tool("sign_in", {"user": "ann", "passphrase": SECRET}),
        call_tool("vault_put", {"label": "wifi", "value": SECRET}),
        reply("done", expect=lambda messages, tools: later.append(messages))])
    bus = EventBus(history_size=1000)
    seen: list[tuple[str, dict[str, Any]]] = []
    bus.on("*", lambda name, *a, **kw: seen.append((name, kw)))
    agent = teragent.build_agent({"traces": {}, "session": {}}, workspace=tmp_path,
                                 provider=model, tools=[sign_in, Vault()], stream=stream,
                                 bus=bus, session_id="s", allow_destructive=True)

    async def go() -> Any:
        async with agent:
            return await agent.run("sign in and keep the wifi password")

    result = asyncio.run(go())
    assert received == [SECRET, SECRET]  # the tools got the real value
    assert [o.result.success for o in result.tool_outcomes] == [True, True]

    from teragent_traces.tracer import flush_all

    flush_all()
    files = {str(p.relative_to(tmp_path)): p.read_bytes().decode("utf-8", "replace")
             for p in (tmp_path / ".teragent").rglob("*") if p.is_file()}
    assert {".teragent/audit.jsonl", ".teragent/traces/traces.jsonl",
            ".teragent/transcripts/s.jsonl"} <= set(files), sorted(files)
    for name, text in files.items():
        assert SECRET not in text, name
    audit = [json.loads(x) for x in files[".teragent/audit.jsonl"].splitlines()]
    assert [e["params"].get("passphrase", e["params"].get("value")) for e in audit] == \
        [f"[redacted: {len(SECRET)} chars]"] * 2
    for name, kwargs in seen:
        assert SECRET not in json.dumps(kwargs, default=repr), name
    # the model's later calls see the redacted conversation, not the secret again
    assert later and SECRET not in json.dumps(later[0])
    assert SECRET not in json.dumps(result.as_dict(), default=repr)
    # the outcomes the run keeps (agent_done's result) hold the redacted call
    assert all(SECRET not in repr(o.call) for o in result.tool_outcomes)


def test_the_service_llm_events_hold_no_sensitive_argument(tmp_path: Path) -> None:
    """teragent-service's enable_tracing publishes every model call as an event."""
    pytest.importorskip("teragent_service")
    from teragent_service.events import EventLog
    from teragent_service.tracing import TracingProvider

    received.clear()
    log = EventLog("c1")
    model = TracingProvider(ScriptedModel([
        call_tool("sign_in", {"user": "ann", "passphrase": SECRET}), reply("done")]), log)
    agent = teragent.build_agent({}, workspace=tmp_path, provider=model, tools=[sign_in],
                                 stream=False, audit=False)

    async def go() -> list[dict[str, Any]]:
        async with agent:
            await agent.run("sign in")
        queue, _ = log.subscribe()
        return [queue.get_nowait() for _ in range(queue.qsize())]

    events = asyncio.run(go())
    assert received == [SECRET]
    calls = [c for e in events if e["type"] == "llm_response" for c in e["tool_calls"]]
    assert calls[0]["arguments"] == {"user": "ann",
                                     "passphrase": f"[redacted: {len(SECRET)} chars]"}
    assert SECRET not in json.dumps(events, default=repr)


def test_a_malformed_call_of_a_sensitive_tool_keeps_no_raw_text(tmp_path: Path) -> None:
    """Arguments that are not JSON cannot be searched for the field: all of the raw
    text is left out of the kept conversation."""
    from teragent.testing import Step

    raw = '{"user": "ann", "passphrase": "' + SECRET + '"'  # unclosed
    later: list[list[dict[str, Any]]] = []
    model = ScriptedModel([
        Step(tool_calls=[("sign_in", raw)]),
        reply("sorry", expect=lambda messages, tools: later.append(messages))])
    agent = teragent.build_agent({}, workspace=tmp_path, provider=model, tools=[sign_in],
                                 stream=False, audit=False)
    result = asyncio.run(agent.run("sign in"))
    assert "Invalid arguments" in result.tool_outcomes[0].result.error
    assert later and SECRET not in json.dumps(later[0]) and SECRET not in json.dumps(list(result))


def test_the_schema_marks_secrets_without_naming_them():
    """``format: password`` / ``writeOnly`` fields are sensitive: through nested
    objects, local ``$ref`` s, ``allOf`` parts and ``Optional`` (``anyOf`` with null);
    a ``pydantic.SecretStr`` argument of a ``@tool`` is one; ordinary fields are not."""
    from teragent.secrets import schema_secret_paths

    class Login(BaseModel):
        user: str
        password: SecretStr
        otp: SecretStr | None = None

    class Body(BaseModel):
        login: Login
        note: str = ""

    assert schema_secret_paths(Body.model_json_schema()) == ("login.otp", "login.password")
    assert schema_secret_paths({"type": "object", "properties": {
        "a": {"allOf": [{"properties": {"key": {"writeOnly": True}, "id": {}}}]},
        "b": {"type": "string", "format": "password"}, "c": {"type": "string"}}}) \
        == ("a.key", "b")
    loop = {"$ref": "#/$defs/N", "$defs": {"N": {"properties": {"next": {"$ref": "#/$defs/N"},
                                                               "v": {"type": "string"}}}}}
    assert schema_secret_paths(loop) == ()  # a recursive schema ends
    assert schema_secret_paths(None) == () and schema_secret_paths({}) == ()

    got: list[str] = []

    @tool
    def unlock_for_schema_test(vault: str, passphrase: SecretStr) -> str:
        """Unlock a vault."""
        got.append(passphrase.get_secret_value())
        return f"unlocked {vault}"

    assert unlock_for_schema_test.sensitive_params == ("passphrase",)
    assert sensitive_arguments("unlock_for_schema_test") == {"passphrase"}
    shown = redact_arguments("unlock_for_schema_test", {"vault": "v", "passphrase": "s3cr3t!"})
    assert shown == {"vault": "v", "passphrase": "[redacted: 7 chars]"}
    result = asyncio.run(unlock_for_schema_test.execute({"vault": "v", "passphrase": "s3cr3t!"}))
    assert result.success and got == ["s3cr3t!"]

    class Token(BaseTool):
        name: ClassVar[str] = "store_token_for_schema_test"
        description: ClassVar[str] = "Store a token."
        parameters_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {
            "label": {"type": "string"}, "token": {"type": "string", "writeOnly": True}}}
        sensitive_params: ClassVar[tuple[str, ...]] = ("label",)

    assert Token.sensitive_params == ("label", "token")  # declared + marked
    assert sensitive_arguments("store_token_for_schema_test") == {"label", "token"}
