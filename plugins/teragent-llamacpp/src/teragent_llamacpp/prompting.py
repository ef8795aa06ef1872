"""Tool calling for small local models: a JSON reply format, its schema, the rendering
of a conversation into plain turns, and an incremental parser of the reply.

A 135M model cannot be trusted to emit a vendor's tool-call syntax, so when tools are
offered the model must answer with one JSON object, and llama.cpp's grammar sampler
enforces it (the schema is turned into a GBNF grammar)::

    {"tool": "<name>", "arguments": {...that tool's parameters...}}   # a tool call
    {"answer": "..."}                                                  # a reply

Each alternative is a branch of a ``oneOf``; the arguments branch is the tool's own
parameter schema, tightened so generation terminates (string ``maxLength``, array
``maxItems``, no extra properties). One tool call per turn.

Nothing here imports ``llama_cpp``: these are pure functions, unit-tested without a model.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # stream events (pydantic) load with the first reply, not the adapter
    from teragent.core.types import StreamEvent, ToolCall

__all__ = [
    "MAX_STRING_LENGTH",
    "MAX_ARRAY_ITEMS",
    "tool_name",
    "tighten_schema",
    "build_reply_schema",
    "select_tools",
    "tool_instructions",
    "render_messages",
    "ReplyParser",
]

MAX_STRING_LENGTH = 200
MAX_ARRAY_ITEMS = 16

ANSWER_NUDGE = ("The tool results you need are in the conversation. Answer the user's "
                'question now: reply {"answer": "..."} with your answer in place of the dots.')

#: An answer may not start like a placeholder ("<text>", "...", "{") or with a space: a
#: small model otherwise copies the reply format's placeholder as its answer (or answers
#: "{", nesting the reply format). The pattern is matched on the JSON string's raw text,
#: so a quote must be escaped: with ``.`` a bare ``"`` let SmolLM2 close the answer at
#: once (``{"answer": "", } # no output ...``, an empty answer).
_ANSWER_FIRST = r'([^<.{ "\\]|\\[\\/bfnrt])'
_ANSWER_CHAR = r'([^"\\]|\\["\\/bfnrt])'
ANSWER_PATTERN = rf"^{_ANSWER_FIRST}{_ANSWER_CHAR}*$"


def answer_pattern(max_length: int | None = None) -> str:
    """:data:`ANSWER_PATTERN`, capped at ``max_length`` characters of JSON text when given
    (the grammar then closes the answer there instead of running into ``max_tokens``)."""
    if max_length is None:
        return ANSWER_PATTERN
    return rf"^{_ANSWER_FIRST}{_ANSWER_CHAR}{{0,{max(0, max_length - 1)}}}$"


def tool_name(tool: dict[str, Any]) -> str:
    """The name of an OpenAI-style tool definition (or a bare function definition)."""
    fn = tool.get("function", tool)
    return str(fn.get("name", ""))


def _tool_parameters(tool: dict[str, Any], *, required_only: bool = False) -> dict[str, Any]:
    fn = tool.get("function", tool)
    params = fn.get("parameters") or fn.get("input_schema")
    params = dict(params) if isinstance(params, dict) else {"type": "object", "properties": {}}
    if required_only and isinstance(params.get("properties"), dict):
        required = set(params.get("required") or [])
        params["properties"] = {k: v for k, v in params["properties"].items() if k in required}
    return params


def _retarget_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                for root in ("#/$defs/", "#/definitions/"):
                    if value.startswith(root):
                        value = f"#/$defs/{prefix}{value[len(root):]}"
                out[key] = value
            else:
                out[key] = _retarget_refs(value, prefix)
        return out
    if isinstance(node, list):
        return [_retarget_refs(v, prefix) for v in node]
    return node


def tighten_schema(schema: dict[str, Any], *, max_string: int = MAX_STRING_LENGTH,
                   max_items: int = MAX_ARRAY_ITEMS) -> dict[str, Any]:
    """A copy of a JSON schema that a grammar can decode to completion.

    Strings get a ``maxLength`` and arrays a ``maxItems`` unless they have one, and
    objects with declared properties forbid others, so a small model cannot wander.
    """
    node = copy.deepcopy(schema)

    def walk(n: Any) -> None:
        if isinstance(n, list):
            for item in n:
                walk(item)
            return
        if not isinstance(n, dict):
            return
        types = n.get("type")
        names = types if isinstance(types, list) else [types]
        if "string" in names and "enum" not in n and "const" not in n \
                and "format" not in n and "pattern" not in n:
            n["maxLength"] = min(int(n.get("maxLength", max_string)), max_string)
        if "array" in names:
            n["maxItems"] = min(int(n.get("maxItems", max_items)), max_items)
        if "object" in names and isinstance(n.get("properties"), dict) \
                and "additionalProperties" not in n:
            n["additionalProperties"] = False
        for key in ("properties", "$defs", "definitions", "patternProperties"):
            if isinstance(n.get(key), dict):
                for sub in n[key].values():
                    walk(sub)
        for key in ("items", "additionalProperties", "not"):
            walk(n.get(key))
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            walk(n.get(key))

    walk(node)
    if not node.get("type") and "properties" not in node and "$ref" not in node:
        node.setdefault("type", "object")
    if node.get("type") == "object" and "properties" not in node:
        # A tool without parameters: its arguments are the empty object.
        node.update(properties={}, additionalProperties=False)
    return node


def select_tools(tools: list[dict[str, Any]], tool_choice: Any) -> tuple[list[dict[str, Any]], bool]:
    """Apply an OpenAI-style ``tool_choice``: ``(tools the model may call, may answer)``.

    ``"auto"``/``None``: every tool or an answer; ``"required"``/``"any"``: a tool;
    ``"none"``: an answer; ``{"type": "function", "function": {"name": X}}``: tool X.
    """
    if tool_choice in (None, "auto"):
        return list(tools), True
    if tool_choice == "none":
        return [], True
    if tool_choice in ("required", "any"):
        return list(tools), False
    if isinstance(tool_choice, dict):
        wanted = tool_name(tool_choice) if "function" in tool_choice else \
            str(tool_choice.get("name", ""))
        chosen = [t for t in tools if tool_name(t) == wanted]
        if chosen:
            return chosen, False
    return list(tools), True


def build_reply_schema(tools: list[dict[str, Any]], *, allow_answer: bool = True,
                       max_string: int = MAX_STRING_LENGTH,
                       max_items: int = MAX_ARRAY_ITEMS,
                       required_only: bool = False,
                       max_answer: int | None = None) -> dict[str, Any]:
    """The JSON schema of one reply: a call of one of ``tools``, or an answer.

    Each tool's ``$defs`` are hoisted to the root under a per-tool prefix so their
    ``$ref`` s still resolve inside the combined schema. ``required_only`` leaves out
    every optional parameter (the tool's defaults apply): a 135M model fills optional
    ones with guesses (``"limit": 2`` on a README cut the answer to its title).
    ``max_answer`` caps the answer's length (see :func:`answer_pattern`).
    """
    alternatives: list[dict[str, Any]] = []
    defs: dict[str, Any] = {}
    for i, tool in enumerate(tools):
        params = _tool_parameters(tool, required_only=required_only)
        prefix = f"t{i}_"
        local_defs = {**params.pop("definitions", {}), **params.pop("$defs", {})}
        params = _retarget_refs(params, prefix)
        for def_name, def_schema in local_defs.items():
            defs[prefix + def_name] = tighten_schema(
                _retarget_refs(def_schema, prefix), max_string=max_string, max_items=max_items)
        alternatives.append({
            "type": "object",
            "properties": {
                "tool": {"const": tool_name(tool)},
                "arguments": tighten_schema(params, max_string=max_string,
                                            max_items=max_items),
            },
            "required": ["tool", "arguments"],
        })
    if allow_answer or not alternatives:
        alternatives.append({"type": "object", "properties": {
            "answer": {"type": "string", "pattern": answer_pattern(max_answer)}},
            "required": ["answer"]})
    schema: dict[str, Any] = {"oneOf": alternatives} if len(alternatives) > 1 \
        else dict(alternatives[0])
    if defs:
        schema["$defs"] = defs
    return schema


def _signature(tool: dict[str, Any], required_only: bool = False) -> str:
    params = _tool_parameters(tool, required_only=required_only)
    props = params.get("properties") or {}
    required = set(params.get("required") or [])
    args = []
    for name, sub in props.items():
        kind = sub.get("type", "value") if isinstance(sub, dict) else "value"
        kind = "/".join(kind) if isinstance(kind, list) else kind
        args.append(f"{name}: {kind}" + ("" if name in required else " (optional)"))
    return f"{tool_name(tool)}({', '.join(args)})"


def tool_instructions(tools: list[dict[str, Any]], *, allow_answer: bool = True,
                      required_only: bool = False) -> str:
    """The short system-prompt section that lists the tools and the reply format."""
    lines = ["You can use these tools:"]
    for tool in tools:
        desc = str(tool.get("function", tool).get("description") or "").strip()
        desc = desc.splitlines()[0] if desc else ""
        lines.append(f"- {_signature(tool, required_only)}" + (f": {desc}" if desc else ""))
    lines.append('To use a tool reply {"tool": "<tool name>", "arguments": {...}}.'
                 + (' Otherwise reply {"answer": "..."} with your answer in place of the '
                    'dots.' if allow_answer else ""))
    return "\n".join(lines)


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        parts = []
        for part in content:
            if isinstance(part, dict):
                if part.get("type") == "text" or "text" in part:
                    parts.append(str(part.get("text", "")))
                else:
                    parts.append(f"[{part.get('type', 'attachment')} omitted]")
            else:
                parts.append(str(part))
        return "\n".join(p for p in parts if p)
    return json.dumps(content, ensure_ascii=False, default=str)


def _call_as_json(call: dict[str, Any]) -> str:
    fn = call.get("function", call)
    args: Any = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            pass
    return json.dumps({"tool": fn.get("name", ""), "arguments": args}, ensure_ascii=False)


def render_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                    *, allow_answer: bool = True, answer_now: bool = False,
                    max_tool_result_chars: int = 4000,
                    required_only: bool = False) -> list[dict[str, str]]:
    """Turn an OpenAI-format conversation into plain system/user/assistant turns.

    Small chat templates (SmolLM2's among them) have no tool role, so:

    - system messages are merged into one leading system turn, followed by
      :func:`tool_instructions` when ``tools`` are given;
    - an assistant tool call becomes its JSON reply (``{"tool": ..., "arguments": ...}``),
      the same shape the model is asked to produce;
    - a tool result becomes a user turn ``"Tool result for <name>: <content>"``
      (long results are cut to ``max_tool_result_chars``);
    - consecutive turns of one role are merged, so the roles alternate;
    - ``answer_now`` (the tools were withdrawn after a call) puts :data:`ANSWER_NUDGE`
      in the system turn instead of the tool list.
    """
    system_parts: list[str] = []
    turns: list[dict[str, str]] = []
    names_by_id: dict[str, str] = {}

    def add(role: str, text: str) -> None:
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + text
        else:
            turns.append({"role": role, "content": text})

    for msg in messages:
        role = msg.get("role")
        role = getattr(role, "value", role)
        text = _text_of(msg.get("content"))
        if role == "system":
            if text:
                system_parts.append(text)
        elif role == "assistant":
            calls = msg.get("tool_calls") or []
            pieces = [text] if text else []
            for call in calls:
                call = call if isinstance(call, dict) else call.to_openai()
                fn = call.get("function", call)
                if call.get("id"):
                    names_by_id[str(call["id"])] = str(fn.get("name", ""))
                pieces.append(_call_as_json(call))
            add("assistant", "\n".join(pieces))
        elif role == "tool":
            name = msg.get("name") or names_by_id.get(str(msg.get("tool_call_id")), "the tool")
            if len(text) > max_tool_result_chars:
                text = text[:max_tool_result_chars] + \
                    f"\n[... {len(text) - max_tool_result_chars} more characters cut]"
            add("user", f"Tool result for {name}: {text}")
        else:
            add("user", text)
    if tools:
        system_parts.append(tool_instructions(tools, allow_answer=allow_answer,
                                              required_only=required_only))
    elif answer_now:
        system_parts.append(ANSWER_NUDGE)
        # Small models answer the question they last read: restate it after the tool
        # results so the answer is about the task, not an echo of the tool's name.
        question = next((_text_of(m.get("content")) for m in reversed(messages)
                         if getattr(m.get("role"), "value", m.get("role")) == "user"), "")
        if question and turns and turns[-1]["role"] == "user" and \
                not turns[-1]["content"].endswith(question):
            add("user", f"Using the tool results above, answer: {question}")
    if system_parts:
        turns.insert(0, {"role": "system", "content": "\n\n".join(system_parts)})
    return turns


# --- parsing the reply, incrementally ---------------------------------------------

_ANSWER_START = re.compile(r'\s*\{\s*"answer"\s*:\s*"')
_TOOL_START = re.compile(r'\s*\{\s*"tool"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,?\s*')
_ARGS_START = re.compile(r'\s*"arguments"\s*:\s*')


def _string_body(raw: str) -> tuple[str, bool]:
    """The longest decodable prefix of a JSON string body, and whether it closed."""
    i, safe = 0, 0
    while i < len(raw):
        ch = raw[i]
        if ch == '"':
            return raw[:i], True
        if ch == "\\":
            if i + 1 >= len(raw):
                break
            if raw[i + 1] == "u":
                if i + 6 > len(raw):
                    break
                code = raw[i + 2:i + 6]
                # Hold back a high surrogate until its pair has arrived.
                if code[0].lower() == "d" and code[1].lower() in "89ab":
                    if i + 12 > len(raw):
                        break
                    i += 12
                else:
                    i += 6
            else:
                i += 2
        else:
            i += 1
        safe = i
    return raw[:safe], False


def _decode_string(body: str) -> str:
    try:
        return str(json.loads(f'"{body}"', strict=False))
    except json.JSONDecodeError:
        return body


@dataclass
class ReplyParser:
    """Turns the streamed text of a JSON reply into TerAgent stream events.

    An answer's text is streamed as :class:`TextDelta` s while it is generated; a tool
    call is announced by :class:`ToolCallStarted` once its name is complete and by
    :class:`ToolCallDelta` + :class:`ToolCallReady` once the reply ends.

    Args:
        call_id: The id to give a tool call (``"call_<n>"``).
    """

    call_id: str = "call_1"
    buffer: str = ""
    mode: str = "undecided"  # undecided | answer | tool | other
    emitted: str = ""
    name: str = ""
    _body_start: int = 0
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)

    def feed(self, chunk: str) -> list[StreamEvent]:
        from teragent.core.types import TextDelta, ToolCallStarted

        """Add generated text; return the events it completes."""
        self.buffer += chunk
        events: list[StreamEvent] = []
        if self.mode == "undecided":
            if m := _ANSWER_START.match(self.buffer):
                self.mode, self._body_start = "answer", m.end()
            elif m := _TOOL_START.match(self.buffer):
                self.mode, self._body_start = "tool", m.end()
                self.name = _decode_string(m.group(1))
                events.append(ToolCallStarted(index=0, id=self.call_id, name=self.name))
            elif self.buffer.strip() and not self.buffer.lstrip().startswith("{"):
                self.mode = "other"
        if self.mode == "answer":
            body, _ = _string_body(self.buffer[self._body_start:])
            decoded = _decode_string(body)
            if len(decoded) > len(self.emitted) and decoded.startswith(self.emitted):
                events.append(TextDelta(text=decoded[len(self.emitted):]))
                self.emitted = decoded
        elif self.mode == "other" and self.buffer[len(self.emitted):]:
            events.append(TextDelta(text=self.buffer[len(self.emitted):]))
            self.emitted = self.buffer
        return events

    def finish(self) -> list[StreamEvent]:
        from teragent.core.types import (
            TextDelta, ToolCall, ToolCallDelta, ToolCallReady, ToolCallStarted)

        """The reply is complete (or was cut off): settle ``text`` and ``tool_calls``."""
        events: list[StreamEvent] = []
        try:
            reply = json.loads(self.buffer, strict=False)
        except json.JSONDecodeError:
            reply = None
        if isinstance(reply, dict) and isinstance(reply.get("tool"), str):
            if self.mode != "tool":
                self.name = reply["tool"]
                events.append(ToolCallStarted(index=0, id=self.call_id, name=self.name))
            raw = json.dumps(reply.get("arguments", {}), ensure_ascii=False)
            call = ToolCall.from_raw(self.call_id, self.name, raw)
        elif isinstance(reply, dict) and "answer" in reply:
            self.text = str(reply["answer"])
            if self.text.startswith(self.emitted) and len(self.text) > len(self.emitted):
                events.append(TextDelta(text=self.text[len(self.emitted):]))
            return events
        elif self.mode == "tool":
            # Cut off inside the arguments: report the fragment so the loop can say so.
            rest = self.buffer[self._body_start:]
            m = _ARGS_START.match(rest)
            raw = rest[m.end():] if m else rest
            call = ToolCall.from_raw(self.call_id, self.name, raw.strip() or "{")
        else:
            self.text = self.emitted if self.mode == "answer" else self.buffer
            if self.mode in ("undecided",) and self.buffer:
                events.append(TextDelta(text=self.buffer))
            return events
        self.tool_calls = [call]
        events.append(ToolCallDelta(index=0, arguments_delta=call.raw_arguments))
        events.append(ToolCallReady(index=0, call=call))
        return events
