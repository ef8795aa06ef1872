"""A fault-injecting OpenAI-compatible server on loopback, for reliability tests.

:class:`FaultServer` is a small HTTP/1.1 server (asyncio, in a thread, port 0) in
front of a :class:`~teragent_testing.fake_openai.FakeOpenAIServer`: requests without a
scripted fault are passed to that ASGI app unchanged, so replies, streaming and
recording are the fake server's own. It does not use uvicorn because some faults need
the socket itself (a TCP reset, a stream cut off mid-chunk)::

    fake = FakeOpenAIServer(responder=my_model)
    server = FaultServer(fake, rate_limit=(20, 1.0))
    server.inject(Fault.rate_limited(retry_after=0.05), Fault.reset())
    with server.serve() as base_url:          # "http://127.0.0.1:PORT/v1"
        provider = teragent.create_provider(adapter="openai_compatible", base_url=base_url)

Faults are consumed one per request, in order:

==============================  =======================================================
``Fault.rate_limited(s)``       429 with ``Retry-After: s`` and ``x-ratelimit-*``
``Fault.error(status)``         500 / 502 / 503 (any status) with an OpenAI error body
``Fault.slow(seconds)``         waits, then answers normally
``Fault.reset()``               reads the request, then resets the TCP connection
``Fault.cut_stream(n)``         sends the first ``n`` SSE events, then drops the socket
``Fault.malformed_sse()``       a stream whose event carries broken JSON
``Fault.truncated_json()``      a 200 whose JSON body is cut in half
==============================  =======================================================

A faulted request never consumes the fake server's scripted queue: the reply a fault
cuts up is the fake server's responder's answer (or the head of its queue, peeked).

``rate_limit=(n, seconds)`` makes the server enforce at most ``n`` accepted requests in
any ``seconds`` window: requests over it get a 429 and count as :attr:`violations`.
Every answer carries ``x-ratelimit-limit-requests``, ``x-ratelimit-remaining-requests``
and ``x-ratelimit-reset-requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Iterator

from teragent_testing.fake_openai import (
    FakeOpenAIServer, ScriptedReply, encode_completion, encode_stream,
)

__all__ = ["Fault", "FaultServer"]


@dataclass
class Fault:
    """One injected failure (build with the class methods)."""

    kind: str
    status: int = 200
    seconds: float = 0.0
    events: int = 0
    reply: ScriptedReply | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def rate_limited(cls, retry_after: float = 0.05) -> "Fault":
        return cls("rate_limited", status=429, seconds=retry_after)

    @classmethod
    def error(cls, status: int = 503, retry_after: float | None = None) -> "Fault":
        headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
        return cls("error", status=status, headers=headers)

    @classmethod
    def slow(cls, seconds: float) -> "Fault":
        return cls("slow", seconds=seconds)

    @classmethod
    def reset(cls) -> "Fault":
        return cls("reset")

    @classmethod
    def cut_stream(cls, after_events: int = 2, reply: ScriptedReply | None = None) -> "Fault":
        return cls("cut_stream", events=after_events, reply=reply)

    @classmethod
    def malformed_sse(cls, reply: ScriptedReply | None = None) -> "Fault":
        return cls("malformed_sse", reply=reply)

    @classmethod
    def truncated_json(cls, reply: ScriptedReply | None = None) -> "Fault":
        return cls("truncated_json", reply=reply)


_ERROR_TEXT = {429: ("rate_limit_exceeded", "Rate limit reached for requests"),
               500: ("server_error", "The server had an error processing your request"),
               502: ("bad_gateway", "Bad gateway"),
               503: ("server_overloaded", "The engine is currently overloaded")}


def _error_body(status: int) -> bytes:
    code, message = _ERROR_TEXT.get(status, ("server_error", f"fault {status}"))
    return json.dumps({"error": {"message": message, "type": code, "param": None,
                                 "code": code}}).encode()


class FaultServer:
    """The fault-injecting front of a :class:`FakeOpenAIServer`.

    Args:
        inner: The fake server that answers unfaulted requests (a new echoing one if
            omitted).
        rate_limit: ``(max_requests, window_seconds)`` enforced by the server.

    Attributes:
        requests: Every request received, as ``(monotonic_time, fault_kind or "ok")``.
        violations: Requests refused because they broke ``rate_limit``.
        faults_served: Fault kinds in the order they were served.
    """

    def __init__(self, inner: FakeOpenAIServer | None = None, *,
                 rate_limit: tuple[int, float] | None = None) -> None:
        self.inner = inner if inner is not None else FakeOpenAIServer()
        self.rate_limit = rate_limit
        self.faults: deque[Fault] = deque()
        self.requests: list[tuple[float, str]] = []
        self.faults_served: list[str] = []
        self.violations = 0
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- scripting ----------------------------------------------------------------------

    def inject(self, *faults: Fault) -> "FaultServer":
        with self._lock:
            self.faults.extend(faults)
        return self

    def reset_counters(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()
            self.faults_served.clear()
            self.violations = 0
            self._accepted.clear()

    @property
    def pending_faults(self) -> int:
        return len(self.faults)

    # --- rate limit ------------------------------------------------------------------

    def _rate_headers(self, now: float) -> list[tuple[str, str]]:
        if self.rate_limit is None:
            return []
        limit, window = self.rate_limit
        while self._accepted and self._accepted[0] <= now - window:
            self._accepted.popleft()
        reset = (self._accepted[0] + window - now) if self._accepted else window
        return [("x-ratelimit-limit-requests", str(limit)),
                ("x-ratelimit-remaining-requests", str(max(0, limit - len(self._accepted)))),
                ("x-ratelimit-reset-requests", f"{max(reset, 0.001):.3f}s")]

    def _admit(self) -> tuple[bool, list[tuple[str, str]], float]:
        now = time.monotonic()
        with self._lock:
            if self.rate_limit is None:
                return True, [], 0.0
            limit, window = self.rate_limit
            self._rate_headers(now)
            if len(self._accepted) >= limit:
                self.violations += 1
                retry = self._accepted[0] + window - now
                return False, self._rate_headers(now), max(retry, 0.001)
            self._accepted.append(now)
            return True, self._rate_headers(now), 0.0

    # --- serving ------------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", path: str = "/v1",
              timeout: float = 10.0) -> Iterator[str]:
        """Run on ``host`` port 0 in a thread; yield the base URL."""
        ready = threading.Event()
        stop: list[asyncio.Event] = []
        port: list[int] = []
        failure: list[BaseException] = []

        async def main() -> None:
            server = await asyncio.start_server(self._handle, host, 0)
            port.append(server.sockets[0].getsockname()[1])
            self._loop = asyncio.get_running_loop()
            stopped = asyncio.Event()
            stop.append(stopped)
            ready.set()
            async with server:
                await stopped.wait()

        def run() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:  # noqa: BLE001 - reported below
                failure.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=run, name="fault-server", daemon=True)
        thread.start()
        ready.wait(timeout)
        if failure or not port:
            raise RuntimeError(f"the fault server did not start: {failure[:1]!r}")
        try:
            yield f"http://{host}:{port[0]}{path}"
        finally:
            if self._loop is not None and stop:
                self._loop.call_soon_threadsafe(stop[0].set)
            thread.join(timeout)

    async def _handle(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                keep = await self._respond(method, target, headers, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    # --- responses ------------------------------------------------------------------------

    @staticmethod
    def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        out = [f"HTTP/1.1 {status} {phrase}"] + [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")

    async def _send_full(self, writer: asyncio.StreamWriter, status: int, body: bytes,
                         headers: list[tuple[str, str]],
                         content_type: str = "application/json") -> None:
        writer.write(self._head(status, [("content-type", content_type),
                                         ("content-length", str(len(body))), *headers]) + body)
        await writer.drain()

    def _peek_reply(self, body: dict[str, Any]) -> ScriptedReply:
        inner = self.inner
        if inner.responder is not None:
            return inner.responder(body)
        with inner._lock:
            if inner.replies:
                return inner.replies[0]
        return inner.echo(body)

    async def _respond(self, method: str, target: str, headers: dict[str, str], raw: bytes,
                       writer: asyncio.StreamWriter) -> bool:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        admitted, rate_headers, retry = self._admit()
        if not admitted:
            self.requests.append((time.monotonic(), "rate_limit_violation"))
            await self._send_full(writer, 429, _error_body(429),
                                  [("retry-after", f"{retry:.3f}"), *rate_headers])
            return True
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
        kind = fault.kind if fault else "ok"
        self.requests.append((time.monotonic(), kind))
        if fault is not None:
            self.faults_served.append(kind)
        stream = bool(isinstance(body, dict) and body.get("stream"))
        if fault is None or fault.kind == "slow":
            if fault is not None:
                await asyncio.sleep(fault.seconds)
            return await self._pass_through(method, target, headers, raw, writer, rate_headers)
        if fault.kind == "rate_limited":
            hdrs = [("retry-after", f"{fault.seconds:g}"),
                    ("x-ratelimit-remaining-requests", "0")]
            await self._send_full(writer, 429, _error_body(429), hdrs)
            return True
        if fault.kind == "error":
            await self._send_full(writer, fault.status, _error_body(fault.status),
                                  [*fault.headers.items(), *rate_headers])
            return True
        if fault.kind == "reset":
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        reply = fault.reply or self._peek_reply(body)
        if fault.kind == "truncated_json" and not stream:
            full = encode_completion(reply, body)
            await self._send_full(writer, 200, full[:len(full) // 2], rate_headers)
            return True
        if fault.kind == "cut_stream" and not stream:
            full = encode_completion(reply, body)
            writer.write(self._head(200, [("content-type", "application/json"),
                                          ("content-length", str(len(full))), *rate_headers])
                         + full[:len(full) // 2])
            await writer.drain()
            writer.transport.abort()
            return False
        events = encode_stream(reply, body)
        if fault.kind == "cut_stream":
            events = events[:max(1, fault.events)]
        elif fault.kind in ("malformed_sse", "truncated_json"):
            broken = events[1].decode()[: len(events[1]) // 2] if len(events) > 1 else "data: {"
            events = [events[0], (broken.rstrip() + "\n\n").encode(), b"data: [DONE]\n\n"]
        writer.write(self._head(200, [("content-type", "text/event-stream"),
                                      ("transfer-encoding", "chunked"), *rate_headers]))
        for event in events:
            writer.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
        await writer.drain()
        if fault.kind == "cut_stream":
            writer.transport.abort()
            return False
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async def _pass_through(self, method: str, target: str, headers: dict[str, str],
                            raw: bytes, writer: asyncio.StreamWriter,
                            rate_headers: list[tuple[str, str]]) -> bool:
        path, _, query = target.partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "path": path, "raw_path": path.encode(),
                 "query_string": query.encode(), "scheme": "http",
                 "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                             for k, v in headers.items()],
                 "client": ("127.0.0.1", 0), "server": ("127.0.0.1", 0)}
        sent_body = False
        closed = asyncio.Event()
        state: dict[str, Any] = {"chunked": False}

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await closed.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                hdrs = [(k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in message.get("headers", [])]
                if not any(k.lower() == "content-length" for k, _ in hdrs):
                    hdrs.append(("transfer-encoding", "chunked"))
                    state["chunked"] = True
                writer.write(self._head(message["status"], [*hdrs, *rate_headers]))
            elif message["type"] == "http.response.body":
                data = message.get("body", b"")
                if state["chunked"]:
                    if data:
                        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    if not message.get("more_body"):
                        writer.write(b"0\r\n\r\n")
                else:
                    writer.write(data)
                await writer.drain()

        try:
            await self.inner(scope, receive, send)
        finally:
            closed.set()
        return True
