"""GenAI spans received by a real OTLP/HTTP endpoint on loopback.

The receiver is a stdlib HTTP server in a thread that decodes what the official
exporter posts (``ExportTraceServiceRequest`` protobuf, from opentelemetry-proto):
span names, kinds, parents and the GenAI attribute names are checked on the wire.
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

import teragent
from teragent.testing.scripted import ScriptedModel, call_tool, reply
from teragent.tools import tool

pytest.importorskip("opentelemetry.sdk")
trace_service_pb2 = pytest.importorskip(
    "opentelemetry.proto.collector.trace.v1.trace_service_pb2")

SECRET = "sk-test-0123456789abcdefghijklmnop"


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[Any] = []
        self.resources: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.got = threading.Condition()


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.server.got:
            self.server.paths.append(self.path)
            for rs in request.resource_spans:
                self.server.resources.append({a.key: _value(a.value)
                                              for a in rs.resource.attributes})
                for ss in rs.scope_spans:
                    self.server.spans.extend(ss.spans)
            self.server.got.notify_all()
        out = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def _attrs(span: Any) -> dict[str, Any]:
    return {a.key: _value(a.value) for a in span.attributes}


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@tool
def lookup(term: str) -> str:
    """Look a term up.

    Args:
        term: What to look up.
    """
    return f"{term} means 42"


def _run(receiver: _Receiver, tmp_path: Any, **otel: Any) -> list[Any]:
    import teragent_otel

    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/v1/traces"
    config = {"otel": {"endpoint": endpoint, "service_name": "otel-test", **otel},
              "audit": {"enabled": False}}
    model = ScriptedModel([call_tool("lookup", {"term": SECRET}), reply(f"done {SECRET}")])

    async def main() -> None:
        agent = teragent.build_agent(config, workspace=tmp_path, provider=model,
                                     tools=[lookup])
        async with agent:
            await agent.run(f"look up {SECRET}")

    asyncio.run(main())
    assert teragent_otel.force_flush()
    with receiver.got:
        assert receiver.got.wait_for(lambda: len(receiver.spans) >= 4, timeout=30)
    return list(receiver.spans)


def test_genai_spans_on_the_wire(receiver: _Receiver, tmp_path: Any) -> None:
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    spans = _run(receiver, tmp_path)
    assert receiver.paths == ["/v1/traces"] * len(receiver.paths)
    assert receiver.resources[0]["service.name"] == "otel-test"
    by_name = {s.name: s for s in spans}
    assert sorted(by_name) == ["chat scripted", "execute_tool lookup", "invoke_agent teragent"]
    agent = by_name["invoke_agent teragent"]
    chats = [s for s in spans if s.name == "chat scripted"]
    tool_span = by_name["execute_tool lookup"]
    assert len(chats) == 2 and len(spans) == 4
    # One trace; model calls and the tool run are children of the agent span.
    assert {s.trace_id for s in spans} == {agent.trace_id}
    assert all(s.parent_span_id == agent.span_id for s in (*chats, tool_span))
    assert agent.kind == Span.SPAN_KIND_INTERNAL and chats[0].kind == Span.SPAN_KIND_CLIENT

    a = _attrs(agent)
    assert a["gen_ai.operation.name"] == "invoke_agent" and a["gen_ai.agent.name"] == "teragent"
    c = _attrs(chats[0])
    assert c["gen_ai.operation.name"] == "chat"
    assert c["gen_ai.provider.name"] == "teragent.scripted"
    assert c["gen_ai.request.model"] == "scripted" and c["gen_ai.response.model"] == "scripted"
    assert c["gen_ai.response.finish_reasons"] == ["tool_calls"]
    assert _attrs(chats[1])["gen_ai.response.finish_reasons"] == ["stop"]
    assert c["gen_ai.usage.input_tokens"] > 0 and c["gen_ai.usage.output_tokens"] > 0
    assert "gen_ai.system" not in c  # the pre-1.37 name
    t = _attrs(tool_span)
    assert t["gen_ai.operation.name"] == "execute_tool" and t["gen_ai.tool.name"] == "lookup"
    assert t["gen_ai.tool.call.id"].startswith("call_") and t["gen_ai.tool.type"] == "function"
    assert a["gen_ai.usage.input_tokens"] == c["gen_ai.usage.input_tokens"] + \
        _attrs(chats[1])["gen_ai.usage.input_tokens"]
    # Content is off by default: no message, argument or result attribute anywhere.
    content_keys = {"gen_ai.input.messages", "gen_ai.output.messages",
                    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
                    "gen_ai.system_instructions", "gen_ai.tool.definitions"}
    for s in spans:
        assert not content_keys & set(_attrs(s)), s.name
        assert SECRET not in str(_attrs(s))


def test_content_when_enabled_is_redacted(receiver: _Receiver, tmp_path: Any) -> None:
    spans = _run(receiver, tmp_path, capture_content=True)
    chat = next(s for s in spans if s.name == "chat scripted")
    tool_span = next(s for s in spans if s.name == "execute_tool lookup")
    a = _attrs(chat)
    assert '"role": "user"' in a["gen_ai.input.messages"]
    assert "look up ***" in a["gen_ai.input.messages"]
    assert "gen_ai.output.messages" in a
    t = _attrs(tool_span)
    assert "gen_ai.tool.call.arguments" in t and "gen_ai.tool.call.result" in t
    for s in spans:
        assert SECRET not in str(_attrs(s)), s.name


def test_failed_run_ends_its_spans_with_an_error(receiver: _Receiver, tmp_path: Any) -> None:
    import teragent_otel
    from teragent.errors import ModelAPIError

    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/v1/traces"
    model = ScriptedModel([reply("", error=ModelAPIError("boom", status=400, retryable=False))])

    async def main() -> None:
        agent = teragent.build_agent({"otel": {"endpoint": endpoint}, "audit": {"enabled": False}},
                                     workspace=tmp_path, provider=model, tools=[],
                                     recovery_manager=False)
        async with agent:
            with pytest.raises(ModelAPIError):
                await agent.run("hi")

    asyncio.run(main())
    assert teragent_otel.force_flush()
    with receiver.got:
        assert receiver.got.wait_for(lambda: len(receiver.spans) >= 2, timeout=30)
    errors = {s.name: _attrs(s).get("error.type") for s in receiver.spans}
    assert errors == {"invoke_agent teragent": "ModelAPIError", "chat scripted": "ModelAPIError"}
    # The run's OpenTelemetry context was detached: nothing is current any more.
    from opentelemetry import trace

    assert not trace.get_current_span().get_span_context().is_valid


def test_nested_agent_span_is_a_child(receiver: _Receiver, tmp_path: Any) -> None:
    """An agent run inside another run's tool: its invoke_agent span is a child of the
    outer run's span (the run's context is current while it executes), in one trace."""
    import teragent_otel

    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}/v1/traces"
    config = {"otel": {"endpoint": endpoint}, "audit": {"enabled": False}}
    inner_model = ScriptedModel([reply("inner answer")])

    @tool
    async def ask_helper(question: str) -> str:
        """Ask the helper agent.

        Args:
            question: The question.
        """
        helper = teragent.build_agent({**config, "otel": {**config["otel"],
                                                          "agent_name": "helper"}},
                                      workspace=tmp_path, provider=inner_model, tools=[])
        return (await helper.run(question)).final_text

    outer = ScriptedModel([call_tool("ask_helper", {"question": "why?"}), reply("done")])

    async def main() -> None:
        agent = teragent.build_agent(config, workspace=tmp_path, provider=outer,
                                     tools=[ask_helper])
        async with agent:
            await agent.run("ask the helper")

    asyncio.run(main())
    assert teragent_otel.force_flush()
    with receiver.got:
        assert receiver.got.wait_for(lambda: len(receiver.spans) >= 6, timeout=30)
    by_name: dict[str, list[Any]] = {}
    for s in receiver.spans:
        by_name.setdefault(s.name, []).append(s)
    outer_span = by_name["invoke_agent teragent"][0]
    inner_span = by_name["invoke_agent helper"][0]
    assert inner_span.trace_id == outer_span.trace_id
    assert inner_span.parent_span_id == outer_span.span_id
    inner_chat = [s for s in by_name["chat scripted"] if s.parent_span_id == inner_span.span_id]
    assert len(inner_chat) == 1
