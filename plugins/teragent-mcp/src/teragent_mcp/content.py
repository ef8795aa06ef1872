"""What an MCP server returns, made fit for a model: content blocks as text, and server
tool names as valid, distinct TerAgent tool names.

- :func:`result_text`: a ``CallToolResult`` (or resource/prompt contents) as text, cut at
  ``max_chars`` with a note. Images, audio and binary resources become a one-line
  description with their type and size.
- :func:`tool_names`: ``prefix + name`` for every tool of one server, made valid
  (letters, digits, ``_``, ``-``; at most 64 characters) *and* distinct: servers name
  tools ``get.user`` and ``get_user``, or longer than 64 characters, and two tools must
  never end up under one name (the second would silently take the first one's place).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

__all__ = ["result_text", "tool_name", "tool_names", "local_path"]

_TOOL_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]")
_NETWORK_URL = re.compile(r"^(?:https?|wss?|ftps?)://[^/\s]", re.I)
MAX_TOOL_NAME = 64
MAX_DESCRIPTION = 2000  # a server's descriptions are prompt text: keep them bounded


def result_text(result: Any, max_chars: int, where: str = "") -> tuple[str, bool]:
    """A ``CallToolResult`` (or resource/prompt contents) as text for the model, cut at
    ``max_chars`` with a note. Returns ``(text, truncated)``."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or getattr(result, "contents", None) or []:
        parts.append(_block_text(block))
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    text = "\n".join(p for p in parts if p)
    if len(text) > max_chars:
        note = (f"\n[output cut: {len(text)} characters, the first {max_chars} shown; "
                f"max_output_chars{' in ' + where if where else ''}]")
        return text[:max_chars] + note, True
    return text, False


def _size(data: Any) -> str:
    """The decoded size of base64 ``data`` (what the server sends for binary content)."""
    if isinstance(data, (bytes, bytearray)):
        return f"{len(data)} bytes"
    try:
        return f"{len(base64.b64decode(data or '', validate=False))} bytes"
    except (binascii.Error, ValueError, TypeError):
        return f"{len(data or '') * 3 // 4} bytes"


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text" or (kind is None and hasattr(block, "text")):
        return str(getattr(block, "text", ""))
    if kind in ("image", "audio"):
        return f"[{kind} {getattr(block, 'mime_type', '?')}, {_size(getattr(block, 'data', ''))}]"
    if kind == "resource":
        res = getattr(block, "resource", None)
        text = getattr(res, "text", None)
        uri = getattr(res, "uri", "?")
        if text is not None:
            return f"[resource {uri}]\n{text}"
        return _blob_text(res, "binary resource")
    if kind == "resource_link":
        return f"[resource link {getattr(block, 'uri', '?')} ({getattr(block, 'name', '')})]"
    if hasattr(block, "blob"):  # the contents of a binary resource (resources/read)
        return _blob_text(block, "binary")
    return f"[{kind or type(block).__name__} content]"


def _blob_text(res: Any, what: str) -> str:
    mime = getattr(res, "mime_type", None) or "data"
    return f"[{what} {getattr(res, 'uri', '?')}: {mime}, {_size(getattr(res, 'blob', ''))}]"


def tool_name(prefix: str, name: str) -> str:
    """``prefix + name`` made a valid tool name (letters, digits, ``_``, ``-``; ≤ 64)."""
    return _TOOL_NAME_BAD.sub("_", f"{prefix}{name}")[:MAX_TOOL_NAME]


def tool_names(prefix: str, names: Iterable[str]) -> list[str]:
    """A distinct valid tool name for each of one server's ``names`` (in order).

    A name that needs no change keeps it, whatever order the server lists its tools in;
    one that collides after its characters were replaced or it was cut to 64 gets a
    short suffix from a hash of the server's own name (stable across restarts).
    """
    names = list(names)
    out: list[str | None] = [None] * len(names)
    taken: set[str] = set()
    for i, name in enumerate(names):  # unchanged names first: they own their spelling
        plain = f"{prefix}{name}"
        if tool_name(prefix, name) == plain and plain not in taken:
            out[i] = plain
            taken.add(plain)
    for i, name in enumerate(names):
        if out[i] is not None:
            continue
        candidate = tool_name(prefix, name)
        salt = 0
        while candidate in taken:
            digest = hashlib.sha1(f"{name}\0{salt}".encode()).hexdigest()[:6]
            candidate = f"{tool_name(prefix, name)[:MAX_TOOL_NAME - 7]}_{digest}"
            salt += 1
        out[i] = candidate
        taken.add(candidate)
    return [n for n in out if n is not None]


def local_path(value: str) -> str | None:
    """What a URL-like argument names on this machine: ``None`` for a network URL
    (http, https, ws, wss, ftp), the decoded path of a ``file:`` URL, else the value
    itself (a path, or a server's own scheme: checked as a path, which it cannot harm).
    Servers take "a URL or a local file path" under one parameter, and no guard checks
    URLs against the protected paths, so anything local must be checked as a path."""
    value = value.strip()
    if _NETWORK_URL.match(value):
        return None
    if value[:5].lower() == "file:":
        return unquote(re.sub(r"^file:(?://[^/]*)?", "", value, flags=re.I))
    return value
