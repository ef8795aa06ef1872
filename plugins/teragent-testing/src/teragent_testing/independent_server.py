"""An HTTP/1.1 server written from the vendors' documented wire protocols, independent of
``teragent_testing``'s fakes: raw asyncio sockets on loopback, so a test decides every
byte and every TCP write (CRLF or LF, ``data:`` with or without a space, an event split
mid-line or mid-UTF-8 character, chunked or ``Content-Length`` or close-delimited bodies,
gzip). Written from the protocol documents, not from the fakes, so a test against it
finds where an adapter depends on the fakes' habits. Used by the Anthropic variation
tests and, through :mod:`teragent_testing.independent_chat` (the Chat Completions
answers), by the OpenAI, DeepSeek, GLM and MiniMax ones.

A test passes a ``handler(request) -> Reply``; the server answers every request with it.
A *variation* is a dict of options (``eol``, ``space``, ``split``, ``framing``, ``gzip``,
``ctype``...): :func:`variation_reply` shapes an answer by it, :func:`run_tool_agent`
runs an agent with a tool against a server and :func:`check_tool_run` checks the run.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Reply", "Request", "IndependentServer", "sse", "json_reply", "variation_reply",
           "run_tool_agent", "check_tool_run"]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    parts: list[bytes] = field(default_factory=list)  # one TCP write each
    framing: str = "length"  # "length" | "chunked" | "close"
    gzip: bool = False
    hang: bool = False  # after the parts, keep the connection open and silent


def json_reply(obj: Any, status: int = 200, *, framing: str = "length",
               gzip_body: bool = False, content_type: str = "application/json",
               headers: list[tuple[str, str]] | None = None) -> Reply:
    raw = obj if isinstance(obj, bytes) else (
        obj.encode() if isinstance(obj, str) else json.dumps(obj).encode())
    return Reply(status, [("Content-Type", content_type)] + list(headers or []), [raw],
                 framing, gzip_body)


def sse(events: list[tuple[str | None, str]], *, eol: str = "\n", space: bool = True,
        comments: bool = False, split: str = "event", content_type: str = "text/event-stream",
        framing: str = "chunked", ids: bool = False, bom: bool = False,
        gzip_body: bool = False) -> Reply:
    """``events``: (event name or None, data text) pairs; data with newlines goes out as
    several ``data:`` lines. ``split``: "event" (one write each), "one" (everything in
    one write), "bytes7" (writes of 7 bytes, so lines, JSON and multi-byte characters
    break anywhere); ``ids``: ``id:`` and ``retry:`` fields; ``bom``: a leading BOM."""
    out = b"\xef\xbb\xbf" if bom else b""
    if comments:
        out += f": ping{eol}{eol}".encode()
    if ids:
        out += f"retry: 3000{eol}{eol}".encode()
    chunks: list[bytes] = []
    for name, data in events:
        text = ""
        if comments:
            text += f": keep-alive{eol}"
        if ids:
            text += f"id: {len(chunks)}{eol}"
        if name is not None:
            text += f"event: {name}{eol}"
        for line in data.split("\n"):
            text += f"data:{' ' if space else ''}{line}{eol}"
        chunks.append((text + eol).encode())
    chunks[0] = out + chunks[0] if chunks else out
    if split == "one":
        parts = [b"".join(chunks)]
    elif split.startswith("bytes"):
        n = int(split[5:])
        whole = b"".join(chunks)
        parts = [whole[i:i + n] for i in range(0, len(whole), n)]
    else:
        parts = chunks
    return Reply(200, [("Content-Type", content_type), ("Cache-Control", "no-cache")],
                 parts, framing, gzip_body)


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 529: "Overloaded"}


class IndependentServer:
    """``with IndependentServer(handler) as srv: srv.url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, handler: Callable[[Request], Reply]) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "IndependentServer":
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, v in
                           (line.split(":", 1) for line in lines[1:] if ":" in line)}
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Request(method, path, headers, json.loads(raw) if raw else {})
                self.requests.append(request)
                reply = self.handler(request)
                if not await self._send(writer, reply):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _send(self, writer: asyncio.StreamWriter, reply: Reply) -> bool:
        parts = reply.parts
        head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
        head += [f"{k}: {v}" for k, v in reply.headers]
        if reply.gzip:
            parts = [gzip.compress(b"".join(parts))]
            head.append("Content-Encoding: gzip")
        if reply.framing == "length":
            head.append(f"Content-Length: {sum(len(p) for p in parts)}")
        elif reply.framing == "chunked":
            head.append("Transfer-Encoding: chunked")
        else:
            head.append("Connection: close")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        for part in parts:
            if reply.framing == "chunked":
                part = f"{len(part):x}\r\n".encode() + part + b"\r\n"
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.001)  # separate TCP writes
        if reply.hang:
            await asyncio.sleep(3600)  # cancelled when the server stops
        if reply.framing == "chunked":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return reply.framing != "close"


def variation_reply(v: dict[str, Any], events: list[tuple[str | None, str]] | None = None,
                    body: Any = None) -> Reply:
    """The answer shaped by variation ``v``: an SSE stream of ``events`` (when given) or
    the JSON ``body``."""
    if events is not None:
        return sse(events, eol=v.get("eol", "\n"), space=v.get("space", True),
                   comments=v.get("comments", False), split=v.get("split", "event"),
                   content_type=v.get("ctype", "text/event-stream"),
                   framing=v.get("framing", "chunked"), ids=v.get("ids", False),
                   bom=v.get("bom", False), gzip_body=v.get("gzip", False))
    return json_reply(json.dumps(body, ensure_ascii=False).encode(),
                      framing=v.get("framing", "length"), gzip_body=v.get("gzip", False),
                      content_type=v.get("ctype", "application/json"))


def run_tool_agent(srv: IndependentServer, provider: Any, v: dict[str, Any], stream: bool,
                   workspace: Any, tools: list[Any]) -> tuple[Any, list[bool]]:
    """Run an agent (``build_agent``, the given tools) on ``provider`` against ``srv``;
    returns the result and, per request to the API, whether it asked for a stream."""
    from teragent.compose import build_agent

    async def main() -> Any:
        agent = build_agent({}, workspace=workspace, provider=provider, tools=tools,
                            stream=stream, max_steps=4)
        try:
            return await asyncio.wait_for(agent.run("Add 2+3 (and 5+7)."), 30)
        finally:
            await agent.aclose()

    result = asyncio.run(main())
    return result, [bool(r.body.get("stream")) for r in srv.requests
                    if not (v.get("redirect") and r.path.startswith("/v1/"))]


def check_tool_run(result: Any, modes: list[bool], stream: bool, v: dict[str, Any],
                   answer: str) -> None:
    """The run completed in the mode asked for, once per turn (an agent that retried in
    the other mode would hide a broken stream), with the tool results and the answer."""
    assert result.stop_reason == "completed", result.as_dict()
    assert modes == [stream, stream], "no retry in the other mode (it would hide a failure)"
    assert result.final_text == answer
    assert [o.result.to_text() for o in result.tool_outcomes] == (
        ["5", "12"] if v.get("two_calls") else ["5"])
