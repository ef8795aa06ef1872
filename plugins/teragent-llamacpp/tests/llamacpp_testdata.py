"""Tool definitions and helpers shared by this package's tests."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, TypeVar

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Drive one scenario; the tests need no asyncio plugin."""
    return asyncio.run(coro)  # type: ignore[arg-type]


GET_TIME: dict[str, Any] = {"type": "function", "function": {
    "name": "get_time", "description": "Get the current date and time.",
    "parameters": {"type": "object", "properties": {}}}}
READ_FILE: dict[str, Any] = {"type": "function", "function": {
    "name": "read_file", "description": "Read a text file and return its contents.",
    "parameters": {"type": "object", "properties": {
        "path": {"type": "string", "description": "Path of the file to read"}},
        "required": ["path"]}}}
TOOLS = [GET_TIME, READ_FILE]
