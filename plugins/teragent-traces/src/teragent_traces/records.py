"""How one trace record is built: the line format of ``traces.jsonl``.

A compiled call's request line stores its prompt as a delta on the last call of the
same conversation (:class:`PromptDeltas`), a response line the answer and its tool
calls (:func:`_response_line`), any other record (checklists, manual requests) its
dicts (:func:`_record_line`). Lines are encoded with orjson; the prompt hash is the
SHA-256 of the whole prompt's compact JSON (:func:`prompt_hash`), the identity
preference pairs are made on. Nothing here queues, redacts or writes: that is
:mod:`teragent_traces.writer`'s.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

TRACE_FILE = "traces.jsonl"
#: TAPRequest fields that shape the prompt (``meta`` is bookkeeping: task ids differ).
_REQUEST_PROMPT_FIELDS = ("instruction", "constraints", "context", "output_format_hint",
                          "tools", "thinking_mode", "multimodal_context")


@dataclass(frozen=True)
class DataConstitution:
    """The rules every trace and pair obeys (see :mod:`teragent_traces.tracer`).

    Attributes:
        redact_secrets: Redact credentials (known secret environment values and
            secret-shaped strings) before writing. On by default; turning it off is
            for synthetic data only.
        require_distinct_responses: Refuse pairs whose chosen and rejected texts are
            equal (they teach nothing).
        max_pairs_per_prompt: Cap on pairs from one prompt (``None``: all PASS x FAIL
            combinations).
    """

    redact_secrets: bool = True
    require_distinct_responses: bool = True
    max_pairs_per_prompt: int | None = None

    #: Not settings: what the library promises.
    principles: tuple[str, ...] = (
        "TAP traces are a core library output, independent of specific agent flows",
        "Preference labels come from deterministic checks (AST, syntax, imports, "
        "tests), not from human annotation",
        "Data belongs to the user: written locally, secrets redacted, never uploaded",
        "A pair compares two answers to the same prompt (equal compiled-request hash)",
    )


# Built once: json.dumps with options builds an encoder per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), default=str, ensure_ascii=False)

try:  # the hot path's encoder: several times faster than the standard library's
    import orjson

    _OPTS = orjson.OPT_NON_STR_KEYS
    #: Called as ``_dumps(value, default=str, option=_OPTS)`` (no wrapper frame on
    #: the hot path).
    _dumps = orjson.dumps

    def _dumpb(value: Any) -> bytes:
        return orjson.dumps(value, default=str, option=_OPTS)
except ImportError:  # pragma: no cover - orjson is a dependency; keep working without
    _OPTS = 0

    def _dumps(value: Any, default: Any = None, option: Any = None) -> bytes:
        return _COMPACT.encode(value).encode("utf-8")

    _dumpb = _dumps

_sha256 = hashlib.sha256


def _canonical(prompt: dict[str, Any]) -> str:
    # Key order is the compiler's (deterministic for one compiler), so no sorting on
    # the hot path; two equal prompts serialised in different orders would only be
    # refused as different, never paired wrongly.
    return _dumpb(prompt).decode("utf-8")


def prompt_hash(prompt: dict[str, Any]) -> str:
    """SHA-256 of a prompt as compact JSON (the identity pairs are made on)."""
    return hashlib.sha256(_canonical(prompt).encode("utf-8")).hexdigest()


#: Kinds of queued records (see ``TraceWriter._append``): a compiled call's request, a
#: response, and any other record kept as dicts (checklists, manual requests).
_REQUEST, _RESPONSE, _RECORD = "request", "response", "record"
_PAD = (None,) * 6  # a _RECORD has 3 items; every record is unpacked as 9
_NO_META: dict[str, Any] = {}
_time, _monotonic = time.time, time.monotonic


def _response_line(trace_id: str, task: str | None, ts: float, finish_reason: Any,
                   usage: dict[str, Any] | None, model: Any, text: Any,
                   calls: list[tuple[Any, Any, Any]] | None) -> tuple[bytes, bytes]:
    """The line of a response snapshotted by ``TAPTracer.record_response``, and its
    content's bytes (the answer and tool calls: what to look for secrets in)."""
    counts = {}
    if usage:
        for k, v in usage.items():
            if isinstance(v, int):
                counts[k.replace("_tokens", "")] = v
    head = _dumps({"type": "response", "trace_id": trace_id, "task_id": task, "ts": ts,
                   "finish_reason": finish_reason, "usage": counts, "model": model},
                  default=str, option=_OPTS)
    tool_calls = None
    if calls:
        tool_calls = []
        for i, n, a in calls:
            tool_calls.append({"id": i, "name": n, "arguments": a})
    content = _dumps({"text": text, "tool_calls": tool_calls}, default=str, option=_OPTS)
    return b"".join((head[:-1], b",", content[1:])), content


def _record_line(record: dict[str, Any], content: dict[str, Any]) -> bytes:
    """One JSON line (no newline) of a record kept as dicts (checklists, manual
    requests): ``record`` (ids, times, counts) and ``content`` (prompt, answer,
    checklist data); a ``prompt`` gets its hash. Redaction is the writer's."""
    prompt = content.pop("prompt", None)
    line = _dumpb({**record, **content})
    if prompt is not None:
        raw = _dumpb(prompt)
        digest = hashlib.sha256(raw).hexdigest().encode("ascii")
        line = b"".join((line[:-1], b',"prompt_hash":"', digest, b'","prompt":', raw, b"}"))
    return line


class PromptDeltas:
    """The last call of each conversation a tracer has seen, so that a request line
    stores only what its call adds (see :meth:`request_line`)."""

    def __init__(self) -> None:
        #: (provider, model, first message) → the last call of that conversation.
        self.convs: dict[tuple[Any, Any, str], tuple[Any, ...]] = {}

    def request_line(self, trace_id: str, task: str | None, ts: float, intent: str | None,
                     provider: Any, model: Any, messages: list[dict[str, Any]],
                     tools: Any) -> tuple[bytes, bytes]:
        """The line of a compiled call, and its prompt's bytes (the content to look
        for secrets in).

        The prompt is stored as a delta on the previous call with the same first
        message (provider and model): an agent's history grows by a few messages per
        call, and a new run starts with the same system prompt and tools as the last,
        so only the messages that differ are encoded (in one encoder call) and stored
        (``prompt_ref`` names the call whose first ``messages`` messages, and tools if
        ``tools`` is true, come before ``prompt_delta``). The hash is still the
        SHA-256 of the whole prompt's JSON (``{"messages":[...],"tools":...}``, see
        :func:`prompt_hash`), fed incrementally: the hash state after the first
        message and after the last is kept, so a call costs what it adds, not the
        length of its history."""
        head = _dumps({"type": "request", "trace_id": trace_id, "task_id": task, "ts": ts,
                       "basis": "compiled", "intent": intent, "provider": provider,
                       "model": model}, default=str, option=_OPTS)
        first_content = messages[0].get("content") if messages else ""
        key = (provider, model, first_content if isinstance(first_content, str)
               else repr(first_content))
        convs = self.convs
        prev = convs.pop(key, None)
        keep, same_tools = 0, False
        if prev is not None:
            p_id, p_msgs, first, state, p_tools, tools_b = prev
            keep = len(p_msgs)
            if keep > len(messages) or p_msgs != messages[:keep]:
                # Not a continuation: a new conversation that starts the same way
                # (the same system prompt, say) shares its first messages.
                keep, top = 0, min(keep, len(messages))
                while keep < top and (p_msgs[keep] is messages[keep]
                                      or p_msgs[keep] == messages[keep]):
                    keep += 1
                if keep == 1:
                    state = first
                elif keep:  # another shared prefix: hash it again
                    state = _sha256(b'{"messages":' + _dumps(
                        messages[:keep], default=str, option=_OPTS)[:-1])
            same_tools = p_tools is tools or p_tools == tools
        if keep:
            state = state.copy()
            new = _dumps(messages[keep:], default=str, option=_OPTS)  # b"[...]"
            if len(new) > 2:
                state.update(b"," + new[1:-1])
        else:  # the first message on its own: its hash state is kept
            head_b = _dumps(messages[0], default=str, option=_OPTS) if messages else b""
            state = _sha256(b'{"messages":[' + head_b)
            first = state.copy()
            new = _dumps(messages[1:], default=str, option=_OPTS) if messages else b"[]"
            if len(new) > 2:
                state.update(b"," + new[1:-1])
            new = b"[" + head_b + (b"," + new[1:] if len(new) > 2 else b"]")
        if not same_tools:
            tools_b = _dumps(tools, default=str, option=_OPTS)
        last = state.copy()
        state.update(b'],"tools":' + tools_b + b"}")
        convs[key] = (trace_id, messages, first, last, tools, tools_b)
        if len(convs) > 64:  # oldest conversation out
            del convs[next(iter(convs))]
        if keep:
            # p_id: a trace id of ours (hex), safe to put in JSON as it is
            prompt = b"".join((
                b'"prompt_ref":{"trace_id":"%s","messages":%d,"tools":%s}' % (
                    p_id.encode("ascii"), keep, b"true" if same_tools else b"false"),
                b',"prompt_delta":{"messages":', new,
                b"}" if same_tools else b',"tools":' + tools_b + b"}"))
        else:
            prompt = b"".join((b'"prompt":{"messages":', new, b',"tools":', tools_b, b"}"))
        return b"".join((head[:-1], b',"prompt_hash":"',
                         state.hexdigest().encode("ascii"), b'",', prompt, b"}")), prompt


def _prompt_of(request: Any, compiled: Any) -> tuple[dict[str, Any], str, str | None]:
    """(prompt, basis, intent): the compiled request when the provider gave it, else
    the request's prompt-shaping fields (manual ``record_request(tap_request)``)."""
    intent = getattr(request, "intent", None)
    intent = intent if isinstance(intent, str) else None
    if compiled is not None:
        prompt = {"messages": compiled.as_messages(), "tools": compiled.tools or None}
        return prompt, "compiled", intent
    if hasattr(request, "model_dump") and hasattr(request, "instruction"):
        data = request.model_dump(mode="json", include=set(_REQUEST_PROMPT_FIELDS))
        return {k: v for k, v in data.items() if v not in (None, [], {}, "")}, "request", \
            intent
    messages = getattr(request, "messages", None)
    if messages is None and isinstance(request, list):
        messages = request
    if messages is not None:
        return {"messages": list(messages), "tools": getattr(request, "tools", None)}, \
            "messages", intent
    return {"text": str(request)}, "text", intent


def _label_of(data: Any) -> bool | None:
    """PASS (True) / FAIL (False) of checklist data; ``None`` when it says neither.

    Accepted shapes: ``run_deterministic_checks``' data (``{"passed": bool}``), a
    bool, a ``"PASS"``/``"FAIL"`` string, ``{"status"|"result": ...}``, a mapping of
    check → status, or a list of items with a status (PASS only if every item passes).
    """
    if isinstance(data, bool):
        return data
    if isinstance(data, str):
        word = data.strip().upper()
        return True if word in ("PASS", "PASSED", "OK") else \
            False if word in ("FAIL", "FAILED", "ERROR") else None
    if isinstance(data, dict):
        for key in ("passed", "pass", "status", "result", "label"):
            if key in data:
                return _label_of(data[key])
        labels = [_label_of(v) for v in data.values()]
        return None if not labels or None in labels else all(labels)
    if isinstance(data, (list, tuple)):
        labels = [_label_of(v) for v in data]
        return None if not labels or None in labels else all(labels)
    return None
