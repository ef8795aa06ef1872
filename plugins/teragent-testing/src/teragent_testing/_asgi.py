"""ASGI plumbing shared by the fake vendor servers, and serving one in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Iterator, TypeVar

__all__ = ["RecordedRequest", "ReplyQueue", "estimate_tokens", "header_pairs", "http_body",
           "json_body", "read_body", "replaying", "send_json", "serve_in_thread",
           "serve_lifespan"]


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

    async def send_stream(self, receive: Callable[..., Any], send: Callable[..., Any],
                          events: Iterable[bytes], *, status: int = 200,
                          headers: list[tuple[bytes, bytes]] | None = None,
                          hold_open: bool = False, whole: bool = False) -> None:
        """A server-sent-events response of ``events``: all in one body with ``whole``;
        with ``hold_open`` left open until the client goes (:meth:`note_disconnect`)."""
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"), *(headers or [])]})
        if whole:
            await send({"type": "http.response.body", "body": b"".join(events),
                        "more_body": False})
            return
        for event in events:
            await send({"type": "http.response.body", "body": event, "more_body": True})
        if hold_open:
            while (await receive())["type"] != "http.disconnect":
                pass
            self.note_disconnect()
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

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


@contextlib.contextmanager
def serve_in_thread(app: Any = None, *, host: str = "127.0.0.1",
                    path: str = "/v1", timeout: float = 10.0, name: str = "fake-openai",
                    **uvicorn_options: Any) -> Iterator[str]:
    """Run ``app`` (default: a new :class:`FakeOpenAIServer`) with uvicorn in a thread
    on ``host`` port 0; yield its base URL (``http://127.0.0.1:PORT/v1``).

    Start-up and shut-down wait on events; ``timeout`` only bounds how long a broken
    server may take to fail. ``uvicorn_options`` override the ``uvicorn.Config``
    defaults (no lifespan, no WebSockets): a real app passes ``lifespan="on"``,
    ``ws="websockets-sansio"``.
    """
    import uvicorn

    if app is None:
        from teragent_testing.fake_openai import FakeOpenAIServer

        app = FakeOpenAIServer()
    started = threading.Event()
    failure: list[BaseException] = []

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            started.set()

    # proto=IPPROTO_TCP matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # whose proto says TCP, and accepted sockets inherit it. Without it every response
    # written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {"log_level": "error", "lifespan": "off", "ws": "none",
                               "http": "h11", "loop": "asyncio", "access_log": False,
                               "timeout_graceful_shutdown": 1, **uvicorn_options}
    config = uvicorn.Config(app, host=host, port=port, **options)
    server = _Server(config)

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=run, name=f"{name}-{port}", daemon=True)
    thread.start()
    started.wait(timeout)
    if failure or not server.started:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
        raise RuntimeError(f"the {name} server did not start: {failure[:1]!r}")
    try:
        yield f"http://{host}:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
