"""Anthropic Messages requests: a :class:`CompiledPrompt` → a ``POST /v1/messages`` body.

:func:`build_messages_body` takes mode B, or the kernel's OpenAI-shaped conversation:
system messages become the top-level ``system``; assistant ``tool_calls`` become
``tool_use`` blocks; ``tool`` messages become ``tool_result`` blocks in a user turn;
image parts become ``image`` blocks; consecutive same-role turns are merged (the API
wants alternation). ``extra["prompt_caching"]`` puts ``cache_control`` on the system
prompt and the last tool definition. Assistant turns carry their signed thinking
blocks back unchanged. Shared by ``anthropic_native`` and MiniMax's
Anthropic-compatible interface (``teragent-minimax`` depends on this plugin).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from teragent.errors import IncompatiblePromptError

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first request, not the adapter
    from teragent.core.tap import CompiledPrompt

__all__ = ["ANTHROPIC_VERSION", "build_messages_body", "convert_messages", "convert_tools"]

ANTHROPIC_VERSION = "2023-06-01"
#: ``extra`` keys copied into the body as they are.
_PASS_THROUGH = ("temperature", "top_p", "top_k", "metadata", "stop_sequences",
                 "service_tier")
_EPHEMERAL = {"type": "ephemeral"}



def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") in ("text", None))
    return str(content)


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI user content (text or parts) → Anthropic content blocks."""
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    from teragent.core.tap import MultimodalContent
    from teragent_openai.multimodal import MultimodalContentError, to_anthropic_block

    blocks: list[dict[str, Any]] = []
    for index, part in enumerate(content if isinstance(content, list) else [content]):
        if not isinstance(part, dict):
            blocks.append({"type": "text", "text": str(part)})
            continue
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            blocks.append(to_anthropic_block(
                MultimodalContent(type="image_url", url=str(url)), index))
        elif kind in ("video_url", "input_video"):
            raise MultimodalContentError(
                "Anthropic's Messages API cannot carry video; remove the video part or "
                "use a video-capable model (MiniMax M3, GLM-5V-Turbo).")
        elif kind in ("image", "document", "tool_result", "tool_use", "thinking",
                      "redacted_thinking", "search_result"):
            blocks.append(dict(part))  # already an Anthropic block
        else:
            raise IncompatiblePromptError(
                f"A user message has a content part of unknown type {kind!r}; use "
                "'text' or 'image_url' parts.")
    return blocks


def _assistant_blocks(msg: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for block in msg.get("thinking_blocks") or []:  # preserved signed thinking
        if isinstance(block, dict):
            blocks.append(dict(block))
    content = msg.get("content")
    if isinstance(content, list):
        blocks += [dict(p) if p.get("type") != "text" else
                   {"type": "text", "text": p.get("text", "")}
                   for p in content if isinstance(p, dict)]
    elif content:
        blocks.append({"type": "text", "text": str(content)})
    for call in msg.get("tool_calls") or []:
        fn = call.get("function") or {}
        raw = fn.get("arguments")
        if isinstance(raw, dict):
            args = raw
        else:
            try:
                args = json.loads(raw) if raw else {}
            except ValueError:
                args = {"_raw_arguments": raw}
            if not isinstance(args, dict):
                args = {"_raw_arguments": raw}
        blocks.append({"type": "tool_use", "id": str(call.get("id")),
                       "name": str(fn.get("name", "")), "input": args})
    return blocks


def convert_messages(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The kernel's OpenAI-shaped conversation → ``(system, messages)`` for Anthropic."""
    system: list[str] = []
    out: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": list(blocks)})

    for msg in messages:
        role = msg.get("role")
        if role in ("system", "developer"):
            text = _text_of(msg.get("content"))
            if text:
                system.append(text)
        elif role == "user":
            add("user", _user_blocks(msg.get("content")))
        elif role == "assistant":
            add("assistant", _assistant_blocks(msg))
        elif role == "tool":
            content = msg.get("content")
            result: dict[str, Any] = {"type": "tool_result",
                                      "tool_use_id": str(msg.get("tool_call_id")),
                                      "content": content if isinstance(content, list)
                                      else _text_of(content)}
            if msg.get("is_error"):
                result["is_error"] = True
            # tool results must come first in their user turn
            if out and out[-1]["role"] == "user":
                existing = out[-1]["content"]
                at = sum(1 for b in existing if b.get("type") == "tool_result")
                existing.insert(at, result)
            else:
                add("user", [result])
        else:
            raise IncompatiblePromptError(
                f"Cannot send a message with role {role!r} over the Messages API; use "
                "system, user, assistant or tool.")
    return "\n\n".join(system), out


def convert_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """OpenAI function tools → Anthropic tools (Anthropic-shaped ones pass through)."""
    out = []
    for tool in tools or []:
        if "input_schema" in tool or tool.get("type", "function") != "function":
            out.append(dict(tool))
            continue
        fn = tool.get("function") or tool
        converted = {"name": fn["name"],
                     "input_schema": fn.get("parameters") or {"type": "object",
                                                              "properties": {}}}
        if fn.get("description"):
            converted["description"] = fn["description"]
        out.append(converted)
    return out


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "tool", "name": choice["function"]["name"]}
    return {"auto": {"type": "auto"}, "required": {"type": "any"},
            "none": {"type": "none"}}.get(choice, choice) if isinstance(choice, str) else choice


def build_messages_body(compiled: CompiledPrompt, model: str, *, stream: bool,
                        default_max_tokens: int = 4096) -> dict[str, Any]:
    """The Messages API body for ``compiled``."""
    extra = compiled.extra or {}
    if compiled.mode == "system_user":
        system = compiled.system_prompt or ""
        messages = [{"role": "user", "content": _user_blocks(compiled.user_message or "")}]
    else:
        system, messages = convert_messages(compiled.messages or [])
    if not messages:
        raise IncompatiblePromptError(
            "The Messages API needs at least one user message; the compiled prompt has "
            "none. Give the request an instruction.")
    body: dict[str, Any] = {"model": model, "max_tokens": int(extra.get("max_tokens")
                                                              or default_max_tokens),
                            "messages": messages}
    caching = bool(extra.get("prompt_caching") or extra.get("cache_control"))
    if system:
        body["system"] = ([{"type": "text", "text": system, "cache_control": _EPHEMERAL}]
                          if caching else system)
    tools = convert_tools(compiled.tools)
    if tools:
        if caching:
            tools[-1] = {**tools[-1], "cache_control": _EPHEMERAL}
        body["tools"] = tools
    for key in _PASS_THROUGH:
        if extra.get(key) is not None:
            body[key] = extra[key]
    if extra.get("stop") is not None and "stop_sequences" not in body:
        stop = extra["stop"]
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if extra.get("tool_choice") is not None:
        body["tool_choice"] = _tool_choice(extra["tool_choice"])
    thinking = extra.get("thinking")
    if isinstance(thinking, dict):
        body["thinking"] = thinking
    elif extra.get("thinking_budget"):
        body["thinking"] = {"type": "enabled", "budget_tokens": int(extra["thinking_budget"])}
    if stream:
        body["stream"] = True
    return body
