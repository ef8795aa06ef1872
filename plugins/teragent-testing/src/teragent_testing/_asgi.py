"""ASGI plumbing shared by the fake vendor servers."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

__all__ = ["RecordedRequest", "ReplyQueue", "estimate_tokens", "header_pairs", "http_body",
           "json_body", "read_body", "replaying", "send_json", "serve_lifespan"]


@dataclass
class RecordedRequest:
    """A request a fake server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages") or [])


def estimate_tokens(text: str) -> int:
    """The fakes' token count where a reply scripts no usage: four characters a token."""
    return max(1, len(text) // 4) if text else 0

_Q = TypeVar("_Q", bound="ReplyQueue")


class ReplyQueue:
    """The scripted replies of a fake server: :meth:`script` queues them (answered in
    order), :attr:`unconsumed` counts what is left; :attr:`requests` records what came
    in and :attr:`disconnects` the clients that left a held-open stream. Subclasses call
    ``super().__init__()``; one with more state extends :meth:`reset`."""

    def __init__(self) -> None:
        self.replies: deque[Any] = deque()
        self.requests: list[RecordedRequest] = []
        self.disconnects = 0
        self._lock = threading.Lock()
        self._disconnected = threading.Condition()

    def record(self, scope: dict[str, Any], body: Any, *,
               path: str | None = None) -> RecordedRequest:
        """Add (and return) a :class:`RecordedRequest` of ``scope`` with ``body`` to
        :attr:`requests`. ASGI header names are already lower case."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request = RecordedRequest(scope.get("method", ""),
                                  scope.get("path", "") if path is None else path, headers, body)
        with self._lock:
            self.requests.append(request)
        return request

    def reset(self) -> None:
        """Forget the scripted replies, the recorded requests and the disconnects."""
        with self._lock:
            self.replies.clear()
            self.requests.clear()
        with self._disconnected:
            self.disconnects = 0

    def note_disconnect(self) -> None:
        """A client left a held-open stream (wakes :meth:`wait_for_disconnect`)."""
        with self._disconnected:
            self.disconnects += 1
            self._disconnected.notify_all()

    def wait_for_disconnect(self, timeout: float = 10.0, count: int = 1) -> bool:
        """Block until ``count`` clients have left held-open streams (thread-safe)."""
        with self._disconnected:
            return self._disconnected.wait_for(lambda: self.disconnects >= count, timeout)

    def script(self: _Q, *replies: Any) -> _Q:
        """Queue replies, answered in order."""
        with self._lock:
            self.replies.extend(replies)
        return self

    def next_reply(self, body: Any, fallback: Callable[[Any], Any] | None = None) -> Any:
        """The next scripted reply; with the queue empty, ``fallback(body)`` (``None``
        without a fallback: a strict server answers that with an error)."""
        with self._lock:
            if self.replies:
                return self.replies.popleft()
        return None if fallback is None else fallback(body)

    @property
    def unconsumed(self) -> int:
        return len(self.replies)


async def serve_lifespan(scope: dict[str, Any], receive: Callable[..., Any],
                         send: Callable[..., Any]) -> bool:
    """Answer a ``lifespan`` scope; ``True`` when ``scope`` was one (nothing else to do)."""
    if scope["type"] != "lifespan":
        return False
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return True


async def http_body(scope: dict[str, Any], receive: Callable[..., Any],
                    send: Callable[..., Any]) -> bytes | None:
    """The whole body of an HTTP request; ``None`` when there is nothing to answer (a
    ``lifespan`` scope, answered here, or a client that went away first)."""
    if await serve_lifespan(scope, receive, send) or scope["type"] != "http":
        return None
    return await read_body(receive)


def json_body(raw: bytes) -> Any:
    """A request body parsed as JSON (``{}`` when empty), ``None`` when it is not JSON."""
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        return None


def header_pairs(headers: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    """Response headers (a reply's ``{name: value}``) as ASGI byte pairs."""
    return [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]


def replaying(raw: bytes, receive: Callable[..., Any]) -> Callable[[], Awaitable[Any]]:
    """A ``receive`` for an inner app: ``raw`` as the whole body, then the client's own
    messages (a disconnect)."""
    delivered = False

    async def replay() -> Any:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay


async def read_body(receive: Callable[..., Any]) -> bytes | None:
    """The whole request body, or ``None`` if the client went away first."""
    raw = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        raw += bytes(message.get("body", b""))
        if not message.get("more_body"):
            return raw


async def send_json(send: Callable[..., Any], status: int, data: bytes,
                    extra_headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A complete JSON response."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()), *(extra_headers or [])]})
    await send({"type": "http.response.body", "body": data, "more_body": False})
