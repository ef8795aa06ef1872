"""Anthropic Messages answers: a non-streamed ``message`` object → :class:`TAPResponse`.

Thinking: answers carry their signed thinking blocks in
:attr:`TAPResponse.thinking_blocks`, which ``to_message()`` keeps on the assistant
message. A ``stop_reason`` of ``"refusal"`` sets :attr:`TAPResponse.refusal` (to the
answer's text, ``""`` if none).
"""

from __future__ import annotations

import json
from typing import Any

from teragent.core.tap import TAPResponse
from teragent.core.types import ToolCall
from teragent.errors import ModelAPIError

__all__ = ["STOP_REASONS", "parse_message", "usage_from_anthropic"]

#: Anthropic ``stop_reason`` → the kernel's (OpenAI-style) ``finish_reason``.
STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "tool_use": "tool_calls",
                "max_tokens": "length", "refusal": "content_filter",
                "pause_turn": "pause_turn"}


def usage_from_anthropic(usage: Any) -> tuple[dict[str, int], int | None]:
    """Anthropic usage → the kernel's usage dict (``prompt_tokens`` counts cached input
    too) and the cache-read tokens."""
    if not isinstance(usage, dict):
        return {}, None
    raw = {k: v for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)}
    read = raw.get("cache_read_input_tokens")
    written = raw.get("cache_creation_input_tokens", 0)
    prompt = raw.get("input_tokens", 0) + (read or 0) + written
    completion = raw.get("output_tokens", 0)
    out = dict(raw)
    out.update(prompt_tokens=prompt, completion_tokens=completion,
               total_tokens=prompt + completion)
    return out, read


def parse_message(data: Any, model: str, *, provider: str = "",
                  status: int = 200) -> TAPResponse:
    """A non-streamed ``message`` object as a :class:`TAPResponse`."""
    if not isinstance(data, dict) or data.get("type") == "error" or "content" not in data:
        err = data.get("error") if isinstance(data, dict) else None
        message = err.get("message") if isinstance(err, dict) else err
        raise ModelAPIError(f"The API answered without a message: {message or 'no content'}",
                            provider=provider, model=model, status=status,
                            body=json.dumps(data)[:2000], retryable=True)
    text: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    blocks: list[dict[str, Any]] = []
    for block in data.get("content") or []:
        kind = block.get("type")
        if kind == "text":
            text.append(block.get("text", ""))
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
            blocks.append(block)
        elif kind == "redacted_thinking":
            blocks.append(block)
        elif kind == "tool_use":
            raw = json.dumps(block.get("input") or {})
            calls.append(ToolCall.from_raw(str(block.get("id")), str(block.get("name")), raw))
    usage, cached = usage_from_anthropic(data.get("usage"))
    stop = data.get("stop_reason")
    return TAPResponse(raw_text="".join(text), usage=usage, tool_calls=calls,
                       finish_reason=STOP_REASONS.get(stop, stop) if stop else None,
                       cache_hit_tokens=cached,
                       thinking_content="".join(thinking) or None,
                       refusal="".join(text) if stop == "refusal" else None,
                       thinking_blocks=blocks or None,
                       model=str(data.get("model") or model))
