"""The adapter contract suite: every adapter plugin runs it against itself.

The opt-in is a subclass naming the adapter and its vendor's fake server; the suite
builds its own harness and runs every test in-process (``httpx.ASGITransport``) and
against the fake on a loopback port through httpx's pool and through aiohttp::

    from teragent_testing.contract import AdapterContract

    class TestMyAdapter(AdapterContract):
        adapter_class, server_class = MyAdapter, FakeMyVendorServer

Optional class attributes: ``base_path`` (where the fake serves, default ``/v1``),
``adapter_options`` (extra constructor arguments), ``auth_header``, ``transports``
(a subset of ``("asgi", "httpx", "aiohttp")``); override :meth:`tool_results` for a
request shape that is not OpenAI's and :meth:`disconnect_waiter` for a fake with
several interfaces. A plugin that needs another set-up instead overrides the
``harness`` fixture and returns an :class:`AdapterHarness`.

Replies are scripted with the vendor-neutral
:class:`~teragent_testing.fake_openai.ScriptedReply`. The tests are synchronous and
drive each scenario with :func:`asyncio.run`, so they need no asyncio plugin.
:func:`serve_fixtures` gives a plugin's conftest the same loopback server as fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, ClassVar, Iterator, TypeVar

import httpx
import pytest

from teragent.core.adapter import TAPAdapter
from teragent.core.tap import CompiledPrompt, TAPResponse
from teragent.core.types import (
    StreamFinished, TextDelta, ToolCallDelta, ToolCallReady, ToolCallStarted, UsageUpdate,
)
from teragent.errors import ModelAPIError, RateLimitError
from teragent_testing.fake_openai import ScriptedReply, serve_in_thread

__all__ = ["AdapterHarness", "AdapterContract", "adapter_response", "collect_stream",
           "provider_response", "serve_fixtures", "anthropic_tool_results"]

T = TypeVar("T")

SECRET = "sk-contract-SECRET-0123456789abcdef"


def _openai_tool_results(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(m.get("tool_call_id")), str(m.get("content")))
            for m in body.get("messages") or [] if m.get("role") == "tool"]


def anthropic_tool_results(body: dict[str, Any]) -> list[tuple[str, str]]:
    """``(tool_use_id, content)`` of every ``tool_result`` block in a Messages request
    (Anthropic, and MiniMax's Anthropic-compatible interface)."""
    return [(str(b["tool_use_id"]), str(b["content"]))
            for m in body.get("messages") or []
            if m.get("role") == "user" and isinstance(m.get("content"), list)
            for b in m["content"] if b.get("type") == "tool_result"]


@dataclass
class AdapterHarness:
    """How the contract suite drives one adapter against one fake server.

    Attributes:
        make_adapter: ``make_adapter(api_key=None) -> TAPAdapter`` pointed at the fake
            server (called inside the event loop of each scenario).
        script: Queues :class:`ScriptedReply` objects on the fake server.
        requests: Returns the request bodies the fake server has received, in order.
        tool_results: Extracts ``(tool_call_id, content)`` pairs from a request body.
        model: The model name the suite sends.
        supports_hold_open: The server can keep a stream open until the client leaves
            (true on a real loopback port, false through an in-process ASGI transport).
        wait_for_disconnect: ``f(timeout) -> bool``: blocks until the server has seen
            the client leave a held-open stream (used when ``supports_hold_open``).
        headers: Returns the request headers the fake server has received, in order
            (lower-case names), when the harness can see them.
        auth_header: The header that carries the key (``authorization`` for OpenAI).
    """

    make_adapter: Callable[..., TAPAdapter]
    script: Callable[..., Any]
    requests: Callable[[], list[dict[str, Any]]]
    tool_results: Callable[[dict[str, Any]], list[tuple[str, str]]] = _openai_tool_results
    model: str = "contract-model"
    supports_hold_open: bool = False
    wait_for_disconnect: Callable[[float], bool] | None = None
    headers: Callable[[], list[dict[str, str]]] | None = None
    auth_header: str = "authorization"


async def collect_stream(adapter: TAPAdapter, compiled: CompiledPrompt,
                         model: str) -> tuple[list[Any], TAPResponse]:
    """All events of one stream and its final response (checks it comes last, once)."""
    events: list[Any] = []
    async with contextlib.aclosing(adapter.stream_events(compiled, model)) as stream:  # type: ignore[type-var]
        async for event in stream:
            events.append(event)
    return events, _final(events)


def _final(events: list[Any]) -> TAPResponse:
    """The response of a stream's events, checking it comes last, once."""
    finished = [e for e in events if isinstance(e, StreamFinished)]
    assert len(finished) == 1 and events[-1] is finished[0], \
        "a stream must end with exactly one StreamFinished"
    return finished[0].response


def adapter_response(make_adapter: Callable[[], TAPAdapter], compiled: CompiledPrompt,
                     model: str, *, stream: bool) -> TAPResponse:
    """One call on a new adapter (made inside the event loop) and its response:
    ``send``, or with ``stream`` the final response of ``stream_events``
    (:func:`collect_stream` checks it comes last, once); the adapter is closed after."""
    async def main() -> TAPResponse:
        adapter = make_adapter()
        try:
            if not stream:
                return await adapter.send(compiled, model)
            return (await collect_stream(adapter, compiled, model))[1]
        finally:
            await adapter.aclose()

    return asyncio.run(main())


def provider_response(provider: Any, messages: list[dict[str, Any]], *,
                      stream: bool) -> TAPResponse:
    """The same through a model provider, closed after: ``complete``, or with ``stream``
    the final response of ``stream_chat`` (checked to come last, once)."""
    async def main() -> TAPResponse:
        async with provider:
            if not stream:
                return await provider.complete(messages)  # type: ignore[no-any-return]
            return _final([event async for event in provider.stream_chat(messages)])

    return asyncio.run(main())


def _prompt(text: str = "hello", **extra: Any) -> CompiledPrompt:
    return CompiledPrompt(messages=[{"role": "system", "content": "be brief"},
                                    {"role": "user", "content": text}], extra=extra)


TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                   "required": ["path"]}}}]


def _summary(response: TAPResponse) -> dict[str, Any]:
    return {
        "text": response.raw_text,
        "tool_calls": [(c.id, c.name, c.arguments) for c in response.tool_calls],
        "usage": {k: response.usage.get(k) for k in
                  ("prompt_tokens", "completion_tokens", "total_tokens")},
        "finish_reason": response.finish_reason,
        "thinking": response.thinking_content,
        "cache_hit_tokens": response.cache_hit_tokens,
    }


def serve_fixtures(server_class: Callable[[], Any], path: str = "/v1") -> tuple[Any, Any]:
    """``loopback_server, loopback = serve_fixtures(FakeX)`` in a conftest: a fake served
    on a loopback port once per session, and ``loopback`` → ``(server, base_url)``, reset
    before and after each test."""

    @pytest.fixture(scope="session")
    def loopback_server() -> Iterator[tuple[Any, str]]:
        server = server_class()
        with serve_in_thread(server, path=path) as base_url:
            yield server, base_url

    @pytest.fixture
    def loopback(loopback_server: tuple[Any, str]) -> Iterator[tuple[Any, str]]:
        server, _ = loopback_server
        server.reset()
        yield loopback_server
        server.reset()

    return loopback_server, loopback


class AdapterContract:
    """Tests every adapter must pass (see the module docstring for the opt-in)."""

    adapter_class: ClassVar[Callable[..., TAPAdapter] | None] = None
    server_class: ClassVar[Callable[[], Any] | None] = None
    base_path: ClassVar[str] = "/v1"
    adapter_options: ClassVar[dict[str, Any]] = {}
    auth_header: ClassVar[str] = "authorization"
    transports: ClassVar[tuple[str, ...]] = ("asgi", "httpx", "aiohttp")

    def tool_results(self, body: dict[str, Any]) -> list[tuple[str, str]]:
        """``(tool_call_id, content)`` pairs of a request body (OpenAI's shape)."""
        return _openai_tool_results(body)

    def disconnect_waiter(self, server: Any) -> Callable[[float], bool]:
        return server.wait_for_disconnect  # type: ignore[no-any-return]

    def make_harness(self, server: Any, base_url: str, transport: Any, *,
                     loopback: bool) -> AdapterHarness:
        """A harness for ``adapter_class`` pointed at ``server`` (a ``transport`` that is
        callable is called per adapter, e.g. a fresh ``httpx.ASGITransport``)."""
        factory = self.adapter_class
        assert factory is not None, "set adapter_class or override the harness fixture"
        options = dict(self.adapter_options)

        def make_adapter(api_key: str | None = None) -> TAPAdapter:
            chosen = transport() if callable(transport) else transport
            return factory(base_url=base_url, api_key=api_key, transport=chosen,
                           timeout=10.0, **options)

        return AdapterHarness(
            make_adapter=make_adapter, script=server.script,
            requests=lambda: [r.body for r in server.requests],
            headers=lambda: [r.headers for r in server.requests],
            tool_results=self.tool_results, auth_header=self.auth_header,
            supports_hold_open=loopback, wait_for_disconnect=self.disconnect_waiter(server))

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "contract_transport" in metafunc.fixturenames:
            metafunc.parametrize("contract_transport", self.transports)

    @pytest.fixture(scope="class")
    @classmethod
    def contract_loopback(cls) -> Iterator[tuple[Any, str]]:
        assert cls.server_class is not None, "set server_class"
        server = cls.server_class()
        with serve_in_thread(server, path=cls.base_path) as base_url:
            yield server, base_url

    @pytest.fixture
    def harness(self, request: pytest.FixtureRequest,
                contract_transport: str) -> Iterator[AdapterHarness]:
        if self.adapter_class is None or self.server_class is None:
            raise NotImplementedError("set adapter_class and server_class, or provide a "
                                      "'harness' fixture returning an AdapterHarness")
        if contract_transport == "asgi":
            server = self.server_class()
            yield self.make_harness(server, "http://fake.test" + self.base_path,
                                    lambda: httpx.ASGITransport(app=server), loopback=False)
            return
        if contract_transport == "aiohttp":
            pytest.importorskip("aiohttp")
        server, base_url = request.getfixturevalue("contract_loopback")
        server.reset()
        yield self.make_harness(server, base_url, contract_transport, loopback=True)
        server.reset()

    # --- helpers ------------------------------------------------------------------

    def run(self, harness: AdapterHarness,
            scenario: Callable[[TAPAdapter], Awaitable[T]], *,
            api_key: str | None = None) -> T:
        """Build an adapter inside a fresh event loop, run ``scenario``, close it."""
        async def main() -> T:
            adapter = harness.make_adapter(api_key=api_key)
            try:
                return await scenario(adapter)
            finally:
                await adapter.aclose()
        return asyncio.run(main())

    # --- parity -------------------------------------------------------------------

    @pytest.mark.parametrize("reply", [
        ScriptedReply(text="Hello there, this is a longer answer split into chunks.",
                      usage={"prompt_tokens": 11, "completion_tokens": 13}),
        ScriptedReply(text="Let me look.", tool_calls=[("read_file", {"path": "a.py"}),
                                                       ("read_file", {"path": "b.py"})],
                      usage={"prompt_tokens": 20, "completion_tokens": 9}),
        ScriptedReply(text="ok", reasoning="thinking it over", chunk_size=3,
                      usage={"prompt_tokens": 7, "completion_tokens": 2,
                             "cached_tokens": 4}),
    ], ids=["text", "parallel-tools", "thinking-cached"])
    def test_stream_and_send_agree(self, harness: AdapterHarness,
                                   reply: ScriptedReply) -> None:
        harness.script(reply, reply)

        async def scenario(adapter: TAPAdapter) -> tuple[TAPResponse, TAPResponse]:
            sent = await adapter.send(_prompt(), harness.model)
            _, streamed = await collect_stream(adapter, _prompt(), harness.model)
            return sent, streamed

        sent, streamed = self.run(harness, scenario)
        assert _summary(sent) == _summary(streamed)
        assert sent.raw_text == reply.text
        assert [c.name for c in sent.tool_calls] == [c[0] for c in reply.tool_calls]
        assert [c.arguments for c in sent.tool_calls] == [c[1] for c in reply.tool_calls]
        assert sent.finish_reason is not None

    def test_stream_event_order(self, harness: AdapterHarness) -> None:
        harness.script(ScriptedReply(text="abc", chunk_size=1, tool_calls=[
            ("read_file", {"path": "x"}), ("read_file", {"path": "y"})]))
        events, response = self.run(
            harness, lambda a: collect_stream(a, _prompt(), harness.model))
        texts = [e.text for e in events if isinstance(e, TextDelta)]
        assert "".join(texts) == "abc" and len(texts) >= 2, "text must stream in deltas"
        for index in (0, 1):
            kinds = [type(e).__name__ for e in events
                     if isinstance(e, (ToolCallStarted, ToolCallDelta, ToolCallReady))
                     and e.index == index]
            assert kinds[0] == "ToolCallStarted" and kinds[-1] == "ToolCallReady"
            assert kinds.count("ToolCallReady") == 1
        ready = [e for e in events if isinstance(e, ToolCallReady)]
        assert [r.call.arguments for r in ready] == [{"path": "x"}, {"path": "y"}]
        # call 0 is ready as soon as call 1 starts, not only at the end
        first_ready = events.index(ready[0])
        second_start = next(i for i, e in enumerate(events)
                            if isinstance(e, ToolCallStarted) and e.index == 1)
        assert first_ready < second_start
        assert [c.id for c in response.tool_calls] == [r.call.id for r in ready]

    # --- tools --------------------------------------------------------------------

    @pytest.mark.parametrize("streaming", [False, True], ids=["send", "stream"])
    def test_tool_call_round_trip(self, harness: AdapterHarness, streaming: bool) -> None:
        harness.script(ScriptedReply(tool_calls=[("read_file", {"path": "notes.txt"})]),
                       ScriptedReply(text="The file says hi."))

        async def call(adapter: TAPAdapter, compiled: CompiledPrompt) -> TAPResponse:
            if streaming:
                return (await collect_stream(adapter, compiled, harness.model))[1]
            return await adapter.send(compiled, harness.model)

        async def scenario(adapter: TAPAdapter) -> tuple[TAPResponse, str]:
            messages = _prompt("read notes.txt").as_messages()
            first = await call(adapter, CompiledPrompt(messages=messages, tools=TOOLS))
            assert len(first.tool_calls) == 1
            tc = first.tool_calls[0]
            assert (tc.name, tc.arguments) == ("read_file", {"path": "notes.txt"})
            messages += [first.to_message(),
                         {"role": "tool", "tool_call_id": tc.id, "content": "hi"}]
            final = await call(adapter, CompiledPrompt(messages=messages, tools=TOOLS))
            return final, tc.id

        final, call_id = self.run(harness, scenario)
        assert final.raw_text == "The file says hi."
        assert final.tool_calls == []
        follow_up = harness.requests()[-1]
        assert harness.tool_results(follow_up) == [(call_id, "hi")]

    # --- usage --------------------------------------------------------------------

    def test_usage_reported(self, harness: AdapterHarness) -> None:
        reply = ScriptedReply(text="x", usage={"prompt_tokens": 30, "completion_tokens": 5})
        harness.script(reply, reply)

        async def scenario(adapter: TAPAdapter) -> tuple[TAPResponse, list[Any]]:
            sent = await adapter.send(_prompt(), harness.model)
            events, _ = await collect_stream(adapter, _prompt(), harness.model)
            return sent, events

        sent, events = self.run(harness, scenario)
        assert (sent.prompt_tokens, sent.completion_tokens, sent.total_tokens) == (30, 5, 35)
        usage = [e for e in events if isinstance(e, UsageUpdate)]
        assert usage and usage[-1].usage["prompt_tokens"] == 30
        assert usage[-1].usage["completion_tokens"] == 5

    # --- errors -------------------------------------------------------------------

    @pytest.mark.parametrize("streaming", [False, True], ids=["send", "stream"])
    def test_rate_limit_carries_retry_after(self, harness: AdapterHarness,
                                            streaming: bool) -> None:
        harness.script(ScriptedReply(status=429, headers={"Retry-After": "7"}))
        exc = self._error(harness, streaming)
        assert isinstance(exc, RateLimitError)
        assert exc.retry_after == 7 and exc.retryable and exc.status == 429

    @pytest.mark.parametrize("streaming", [False, True], ids=["send", "stream"])
    def test_server_error_is_retryable(self, harness: AdapterHarness,
                                       streaming: bool) -> None:
        harness.script(ScriptedReply(status=500))
        exc = self._error(harness, streaming)
        assert type(exc) is ModelAPIError and exc.retryable and exc.status == 500

    @pytest.mark.parametrize("streaming", [False, True], ids=["send", "stream"])
    def test_unauthorized_is_not_retryable(self, harness: AdapterHarness,
                                           streaming: bool) -> None:
        harness.script(ScriptedReply(status=401, error_body={"error": {
            "message": f"Incorrect API key provided: {SECRET}", "type": "invalid_request_error",
            "code": "invalid_api_key"}}))
        exc = self._error(harness, streaming, api_key=SECRET)
        assert isinstance(exc, ModelAPIError) and not exc.retryable and exc.status == 401
        assert "key" in str(exc).lower()
        assert SECRET not in str(exc) and SECRET not in (exc.body or "")

    def _error(self, harness: AdapterHarness, streaming: bool,
               api_key: str | None = None) -> ModelAPIError:
        async def scenario(adapter: TAPAdapter) -> ModelAPIError:
            try:
                if streaming:
                    await collect_stream(adapter, _prompt(), harness.model)
                else:
                    await adapter.send(_prompt(), harness.model)
            except ModelAPIError as exc:
                return exc
            raise AssertionError("the adapter did not raise ModelAPIError")
        return self.run(harness, scenario, api_key=api_key)

    # --- cancellation -------------------------------------------------------------

    def test_cancel_stream_midway(self, harness: AdapterHarness) -> None:
        hold = harness.supports_hold_open
        harness.script(ScriptedReply(text="word " * 200, chunk_size=5, hold_open=hold),
                       ScriptedReply(text="still works"))

        async def scenario(adapter: TAPAdapter) -> TAPResponse:
            got_first = asyncio.Event()
            never = asyncio.Event()

            async def consume() -> None:
                async with contextlib.aclosing(
                        adapter.stream_events(_prompt(), harness.model)) as stream:  # type: ignore[type-var]
                    async for event in stream:
                        if isinstance(event, TextDelta):
                            got_first.set()
                            await never.wait()  # park mid-stream until cancelled
                raise AssertionError("the stream should have been cancelled")

            task = asyncio.create_task(consume())
            await got_first.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return await adapter.send(_prompt(), harness.model)

        after = self.run(harness, scenario)
        assert after.raw_text == "still works"
        if hold and harness.wait_for_disconnect is not None:
            assert harness.wait_for_disconnect(10.0), \
                "the server never saw the cancelled stream's connection close"

    # --- secrets ------------------------------------------------------------------

    def test_secret_never_in_repr_or_errors(self, harness: AdapterHarness) -> None:
        harness.script(ScriptedReply(status=500, error_body=f"upstream said {SECRET}"),
                       ScriptedReply(status=429, error_body={"error": {
                           "message": f"key {SECRET} over quota"}}))

        async def scenario(adapter: TAPAdapter) -> list[str]:
            seen = [repr(adapter), str(adapter)]
            for _ in range(2):
                try:
                    await adapter.send(_prompt(), harness.model)
                except ModelAPIError as exc:
                    seen += [str(exc), repr(exc), exc.body or "", repr(exc.args)]
            return seen

        seen = self.run(harness, scenario, api_key=SECRET)
        assert len(seen) == 10
        for text in seen:
            assert SECRET not in text

    def test_key_sent_only_when_set(self, harness: AdapterHarness) -> None:
        harness.script(ScriptedReply(text="a"), ScriptedReply(text="b"))
        self.run(harness, lambda a: a.send(_prompt(), harness.model))
        self.run(harness, lambda a: a.send(_prompt(), harness.model), api_key=SECRET)
        assert len(harness.requests()) == 2
        if harness.headers is None:
            pytest.skip("this harness cannot see request headers")
        without, with_key = harness.headers()[-2:]
        assert harness.auth_header not in without
        assert SECRET in with_key.get(harness.auth_header, "")
