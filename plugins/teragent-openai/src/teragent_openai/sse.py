"""An incremental Server-Sent Events decoder (WHATWG event-stream rules).

Feed it byte chunks split anywhere (even inside a UTF-8 character or a CRLF); it
yields complete events. Used by the streaming adapters (OpenAI's chat, and through
this plugin Anthropic's, GLM's and MiniMax's). It was ``teragent.core.sse``: wire code
lives with the wire codecs, not in the kernel.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import AsyncIterator, Iterable, Iterator

__all__ = ["SSEEvent", "SSEDecoder", "looks_like_sse", "one_chunk", "whole_text"]

_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class SSEEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental decoder: ``for ev in decoder.feed(chunk): ...`` then ``flush()``."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes | str) -> Iterator[SSEEvent]:
        text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = False
        self._buffer += text
        while True:
            nl = self._buffer.find("\n")
            cr = self._buffer.find("\r")
            idx = nl if cr < 0 else (cr if nl < 0 else min(nl, cr))
            if idx < 0:
                break
            line = self._buffer[:idx]
            sep = self._buffer[idx]
            rest = self._buffer[idx + 1:]
            if sep == "\r":
                if rest.startswith("\n"):
                    rest = rest[1:]
                elif rest == "":
                    self._pending_cr = True
            self._buffer = rest
            event = self._line(line)
            if event is not None:
                yield event

    def flush(self) -> Iterator[SSEEvent]:
        """End of stream: a trailing event without a blank line is dispatched."""
        tail = self._utf8.decode(b"", final=True)
        self._buffer += tail
        if self._buffer:
            event = self._line(self._buffer)
            self._buffer = ""
            if event is not None:
                yield event
        event = self._line("")
        if event is not None:
            yield event

    def _line(self, line: str) -> SSEEvent | None:
        if line == "":
            if not self._data and not self._event:
                return None
            ev = SSEEvent(event=self._event or "message", data="\n".join(self._data),
                          id=self._id, retry=self._retry)
            self._event, self._data = "", []
            return ev
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            self._id = value
        elif field == "retry" and value.isdigit():
            self._retry = int(value)
        return None


def looks_like_sse(body: bytes) -> bool:
    """Whether ``body`` is an event stream whatever its ``Content-Type`` says (some
    gateways label a stream ``application/json``)."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:6]
    return head.startswith((b"data:", b"event:", b":", b"id:", b"retry:"))


async def one_chunk(body: bytes) -> AsyncIterator[bytes]:
    """``body`` (a stream already read whole, e.g. one :func:`looks_like_sse` found
    behind a JSON label) as the byte chunks a response would give: itself, once."""
    yield body


def whole_text(parts: Iterable[str]) -> str:
    """Stream text deltas joined, a UTF-16 surrogate pair split between two deltas (a
    server that cuts strings by UTF-16 unit, then JSON-escapes them) made one character
    again and a lone half U+FFFD: such text could not be encoded as UTF-8 otherwise."""
    text = "".join(parts)
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
