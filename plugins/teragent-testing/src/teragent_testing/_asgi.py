"""ASGI plumbing shared by the fake vendor servers."""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["serve_lifespan", "read_body", "send_json"]


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
