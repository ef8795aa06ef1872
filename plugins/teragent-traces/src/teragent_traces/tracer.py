"""``TAPTracer``: an append-only local trace of model calls, labelled PASS/FAIL by
deterministic checks, and the DPO preference pairs those labels make valid.

The data constitution (:class:`DataConstitution`):

1. Traces are a library output of their own, independent of any agent flow: every
   call through a provider with a tracer (``provider.set_tracer``) or inside an agent
   run built from an ``agent.toml`` with ``[traces]`` is recorded.
2. Labels come from deterministic checks (``record_checklist``), never from a model
   or a human guess.
3. The data belongs to the user: it is written to ``trace_dir`` only (files ``0600``),
   secrets are redacted before a byte is written, and nothing is ever uploaded (this
   module opens no socket).
4. A preference pair is a claim that, *for one prompt*, one answer is better than
   another. So both answers must answer the same prompt: the SHA-256 of the compiled
   request (the messages and tools the model saw, as compact JSON, sampling parameters
   left out) must be equal. Answers to different prompts are never paired; asked to, the
   tracer refuses and says why.

Pairing strategies (names from the documentation; what each guarantees):

``same_task_retry``
    Same ``task_id``, same prompt hash, one response labelled PASS and one FAIL
    (a retry that re-sent the same request). chosen = PASS, rejected = FAIL.
``cross_task``
    Different ``task_id`` s whose prompts are *identical* (same hash): the same
    request asked under two task ids. Candidates with the same intent but a different
    prompt are refused (:attr:`TAPTracer.refused_pairs`), unlike the upstream
    project's "same intent" rule, which paired answers to different questions.
``partial``
    A prompt with only PASS or only FAIL answers: exported only with
    ``include_partial=True``, with the missing side ``None`` (useful for SFT or KTO,
    not for DPO).

Files: ``trace_dir/traces.jsonl``, one JSON object per line, ``type`` one of
``request``, ``response``, ``checklist``. Lines are only ever appended. A call stores
only the messages that differ from the last call with the same first message (what it
adds to its conversation; for a new run with the same system prompt, all but that):
``prompt_ref`` + ``prompt_delta``; readers get the whole ``prompt`` back.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import hashlib
import itertools
import json
import os
import threading
import time
import uuid
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from teragent.errors import UserError, redact
from teragent.secrets import is_secret_name

__all__ = ["TAPTracer", "DPOPair", "DataConstitution", "TraceStats", "PairRefused",
           "STRATEGIES", "prompt_hash", "flush_all"]

STRATEGIES = ("same_task_retry", "cross_task", "partial")
#: Queued records are encoded and written once this many have gathered (or a second
#: has passed, or a reader, a checklist or the exit needs them): a write per call
#: stalled the event loop when the disk was busy, and encoding in a batch runs with
#: warm caches (about a third of the per-call cost). A call only snapshots what the
#: run may change later (see ``record_request``/``record_response``).
WRITE_RECORDS = 128
TRACE_FILE = "traces.jsonl"
_TASK: contextvars.ContextVar[str | None] = contextvars.ContextVar("teragent_trace_task",
                                                                   default=None)
#: TAPRequest fields that shape the prompt (``meta`` is bookkeeping: task ids differ).
_REQUEST_PROMPT_FIELDS = ("instruction", "constraints", "context", "output_format_hint",
                          "tools", "thinking_mode", "multimodal_context")


class PairRefused(UserError):
    """Two answers cannot form a preference pair; the message says why."""


@dataclass(frozen=True)
class DataConstitution:
    """The rules every trace and pair obeys (see the module docstring).

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


@dataclass
class DPOPair:
    """One preference pair. ``prompt`` is the prompt as text, ``prompt_messages`` as
    chat messages; :meth:`to_dict` and :meth:`to_chat` are the two formats TRL's
    ``DPOTrainer`` reads (standard and conversational preference)."""

    prompt: str
    chosen: str | None
    rejected: str | None
    strategy: str
    prompt_hash: str
    prompt_messages: list[dict[str, Any]] = field(default_factory=list)
    chosen_task_id: str | None = None
    rejected_task_id: str | None = None
    chosen_trace_id: str | None = None
    rejected_trace_id: str | None = None

    @property
    def task_id(self) -> str | None:
        return self.chosen_task_id or self.rejected_task_id

    def to_dict(self) -> dict[str, Any]:
        """Standard preference format: ``{"prompt", "chosen", "rejected"}`` strings."""
        return {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}

    def to_chat(self) -> dict[str, Any]:
        """Conversational preference format: ``prompt`` a message list, ``chosen`` and
        ``rejected`` one assistant message each."""
        def answer(text: str | None) -> list[dict[str, str]] | None:
            return None if text is None else [{"role": "assistant", "content": text}]
        return {"prompt": list(self.prompt_messages), "chosen": answer(self.chosen),
                "rejected": answer(self.rejected)}

    def to_record(self) -> dict[str, Any]:
        """Everything, for auditing where a pair came from."""
        return asdict(self)


@dataclass
class TraceStats:
    """Counts over a trace directory (:meth:`TAPTracer.get_trace_stats`)."""

    total_requests: int = 0
    total_responses: int = 0
    total_checklists: int = 0
    tasks: int = 0
    passed: int = 0
    failed: int = 0
    unlabelled: int = 0
    distinct_prompts: int = 0
    dpo_pairs: int = 0
    same_task_pairs: int = 0
    cross_task_pairs: int = 0
    partial: int = 0
    refused_pairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    trace_bytes: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


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


#: Kinds of queued records (see ``TAPTracer._append``): a compiled call's request, a
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


_LIVE: "weakref.WeakSet[TAPTracer]" = weakref.WeakSet()


@atexit.register
def flush_all() -> None:
    """Write every tracer's queued lines and close its file (run at exit too)."""
    for tracer in list(_LIVE):
        tracer.close()


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


def _prompt_text(prompt: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The prompt as text and as chat messages (for the two export formats)."""
    messages = prompt.get("messages")
    if messages is None:
        parts = [str(prompt.get("instruction") or prompt.get("text") or "")]
        if prompt.get("constraints"):
            parts.append("Constraints:\n" + "\n".join(f"- {c}" for c in prompt["constraints"]))
        if prompt.get("context"):
            parts.append("Context:\n" + json.dumps(prompt["context"], sort_keys=True))
        if prompt.get("output_format_hint"):
            parts.append("Output format: " + str(prompt["output_format_hint"]))
        messages = [{"role": "user", "content": "\n\n".join(p for p in parts if p)}]
    chat = [{"role": str(m.get("role")), "content": _content_text(m.get("content"))}
            for m in messages]
    text = "\n\n".join(f"{m['role']}: {m['content']}" for m in chat)
    return text, chat


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) if isinstance(p, dict) else str(p)
                       for p in content)
    return str(content)


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


class TAPTracer:
    """Records requests, responses and checklist results; exports DPO pairs.

    Args:
        trace_dir: Where ``traces.jsonl`` lives (created, mode ``0700``).
        constitution: The :class:`DataConstitution` (defaults are the documented
            rules).

    Example::

        tracer = TAPTracer(trace_dir="/project/.agent/traces")
        provider.set_tracer(tracer)          # every call of this provider
        trace_id = await tracer.record_request(tap_request)
        await tracer.record_response(tap_response, task_id="1.1", trace_id=trace_id)
        await tracer.record_checklist("1.1", checklist_data)
        pairs = tracer.export_dpo_pairs()
    """

    #: Ask the provider for the compiled prompt, provider and model of each call.
    wants_call_context = True

    def __init__(self, trace_dir: str | os.PathLike[str] = ".teragent/traces", *,
                 constitution: DataConstitution | None = None) -> None:
        self.trace_dir = Path(trace_dir)
        self.constitution = constitution or DataConstitution()
        self.path = self.trace_dir / TRACE_FILE
        self.refused_pairs: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pending: dict[str, str | None] = {}  # trace id → task id, until answered
        self._queue: list[tuple[Any, ...]] = []
        self._written = time.monotonic()
        _LIVE.add(self)  # queued lines are written at exit
        #: (provider, model, first message) → the last call of that conversation.
        self._convs: dict[tuple[Any, Any, str], tuple[Any, ...]] = {}
        self._id_prefix, self._ids = uuid.uuid4().hex[:16], itertools.count(1)
        self._secrets = tuple(sorted(
            {v for k, v in os.environ.items() if len(v) >= 8 and is_secret_name(k)},
            key=len, reverse=True))
        self._secret_bytes = tuple(v.encode("utf-8") for v in self._secrets)

    # --- writing ------------------------------------------------------------------
    #
    # Records are queued, then encoded and written in one os.write of whole lines on an
    # O_APPEND descriptor (see _append for when): no thread (a writer thread cost more
    # wall time than it saved, through GIL hand-offs; see docs/decisions/traces.md).

    def _open(self) -> int:  # called with the lock held
        if self._fd is None:
            self.trace_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, self._secrets) if len(value) >= 8 else value
        if isinstance(value, dict):
            return {k: self._clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(v) for v in value]
        return value

    def _suspect(self, data: bytes) -> bool:
        """Whether ``data`` may hold a secret: a known secret value, or a word any of
        ``redact``'s patterns needs. Most lines have neither and skip the regexes
        (which are most of a trace's cost otherwise)."""
        for value in self._secret_bytes:
            if value in data:
                return True
        lower = data.lower()
        return (b"key" in lower or b"token" in lower or b"secret" in lower
                or b"sk-" in lower or b"bearer" in lower or b"password" in lower
                or b"authorization" in lower)

    def _line(self, record: dict[str, Any], content: dict[str, Any]) -> bytes:
        """One JSON line (no newline) of a record kept as dicts (checklists, manual
        requests): ``record`` (ids, times, counts) and ``content`` (prompt, answer,
        checklist data); a ``prompt`` gets its hash. Redaction: :meth:`_redacted`."""
        prompt = content.pop("prompt", None)
        line = _dumpb({**record, **content})
        if prompt is not None:
            raw = _dumpb(prompt)
            digest = hashlib.sha256(raw).hexdigest().encode("ascii")
            line = b"".join((line[:-1], b',"prompt_hash":"', digest, b'","prompt":', raw, b"}"))
        return line

    def _redacted(self, line: bytes) -> bytes:
        """``line`` with its secrets redacted. Record keys never look like a secret's
        name (token counts are ``usage.prompt``, not ``prompt_tokens``), so a line with
        no sign of a secret skips the regexes. When redaction changed the line it must
        still parse, else every string is redacted on its own."""
        if not self._suspect(line):
            return line
        text = line.decode("utf-8")
        cleaned = redact(text, self._secrets) or ""
        if cleaned == text:
            return line
        try:
            json.loads(cleaned)
        except ValueError:
            cleaned = _COMPACT.encode(self._clean(json.loads(text)))
        return cleaned.encode("utf-8")

    def _append(self, entry: tuple[Any, ...]) -> None:
        """Queue a record (a tuple: :data:`_REQUEST`, :data:`_RESPONSE` or
        :data:`_RECORD` first). Records are encoded, redacted and written together,
        in order (:data:`WRITE_RECORDS` of them, a second after the last write, or
        when a checklist, a read or the exit needs them): the work runs in one batch
        with warm caches instead of a little on every model call, which only
        snapshots what it must (the values a run may change later)."""
        with self._lock:
            queue = self._queue
            queue.append(entry)
            now = _monotonic()
            if len(queue) >= WRITE_RECORDS or now - self._written >= 1.0:
                self._write_held(now)

    def _write_held(self, now: float) -> None:  # with the lock held
        queue = self._queue
        if queue:
            # Each line, and what may hold a secret: its content (prompt delta,
            # answer) and the strings of its head a caller chose (task, intent,
            # provider, model, finish reason); ids, times, hashes and counts are ours.
            lines: list[bytes] = []
            content: list[bytes] = []
            names: list[Any] = []
            request_line = self._request_line
            for entry in queue:
                try:
                    kind, a, b, c, d, e, f, g, h = entry
                    if kind is _REQUEST:
                        line, part = request_line(a, b, c, d, e, f, g, h)
                        names += b, d, e, f
                    elif kind is _RESPONSE:
                        line, part = _response_line(a, b, c, d, e, f, g, h)
                        names += b, d, f
                    else:
                        line = part = self._line(a, b)
                    lines.append(line)
                    content.append(part)
                except Exception:  # noqa: BLE001 - a tracer never breaks a run
                    import logging

                    logging.getLogger("teragent.traces").exception(
                        "could not encode trace record %s", entry[1])
            queue.clear()
            if lines:
                data = b"\n".join(lines) + b"\n"
                # One look for a secret's sign over the whole batch; only a batch
                # that has one is redacted line by line (whole lines).
                try:
                    unique = set(names)  # a handful: the same provider, model, ...
                except TypeError:  # an unhashable one
                    unique = set(map(str, names))
                unique.discard(None)
                if self.constitution.redact_secrets and self._suspect(
                        b"\n".join(content) + "\n".join(map(str, unique)).encode("utf-8")):
                    data = b"\n".join([self._redacted(line) for line in lines]) + b"\n"
                fd = self._open()
                view = memoryview(data)
                while view:  # O_APPEND: whole lines; a short write goes on
                    view = view[os.write(fd, view):]
        self._written = now

    def flush(self) -> None:
        """Write every queued line now."""
        with self._lock:
            self._write_held(_monotonic())

    def close(self) -> None:
        """Write what is held and close the file (reopened on the next record)."""
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _new_id(self) -> str:
        # A random per-tracer prefix and a counter: unique, and cheaper than uuid4.
        return f"{self._id_prefix}{next(self._ids):06x}"

    @contextlib.contextmanager
    def task(self, task_id: str) -> Iterator[None]:
        """Attribute the calls made inside the block (agent runs have no
        ``meta``) to ``task_id``."""
        token = _TASK.set(str(task_id))
        try:
            yield
        finally:
            _TASK.reset(token)

    async def record_request(self, request: Any, *, compiled: Any = None,
                             provider: str | None = None, model: str | None = None,
                             task_id: str | None = None) -> str:
        """Record one request; returns its trace id.

        Args:
            request: A ``TAPRequest``, a ``Conversation`` or a message list.
            compiled: The ``CompiledPrompt`` sent (given by the provider); its hash is
                the prompt identity used for pairing.
            provider, model: Who answered (given by the provider).
            task_id: Default: ``meta["task_id"]``, else the :meth:`task` block's.
        """
        task = task_id or (getattr(request, "meta", None) or _NO_META).get("task_id") \
            or _TASK.get()
        if task is not None:
            task = str(task)
        trace_id = f"{self._id_prefix}{next(self._ids):06x}"
        self._pending[trace_id] = task
        intent = getattr(request, "intent", None)
        if intent is not None and not isinstance(intent, str):
            intent = None
        if compiled is not None:
            # The message list is copied now (the run goes on appending to its own);
            # everything else waits for the batch.
            self._append((_REQUEST, trace_id, task, _time(), intent, provider, model,
                          compiled.as_messages(), compiled.tools or None))
            return trace_id
        head = {"type": "request", "trace_id": trace_id, "task_id": task, "ts": _time(),
                "basis": "compiled", "intent": intent, "provider": provider,
                "model": model}
        prompt, head["basis"], _ = _prompt_of(request, None)
        self._append((_RECORD, head, {"prompt": prompt}, *_PAD))
        return trace_id

    def _request_line(self, trace_id: str, task: str | None, ts: float, intent: str | None,
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
        convs = self._convs
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

    async def record_response(self, response: Any, task_id: str | None = None,
                              trace_id: str | None = None, **_: Any) -> str:
        """Record the answer to ``trace_id`` (a new id when ``None``); returns it."""
        task = self._pending.pop(trace_id, None) if trace_id else None
        if task_id is not None:
            task = str(task_id)
        if not trace_id:
            trace_id = self._new_id()
        if isinstance(response, str):
            self._append((_RESPONSE, trace_id, task, _time(), None, None, None, response,
                          None))
            return trace_id
        usage = getattr(response, "usage", None)
        calls = getattr(response, "tool_calls", None)
        self._append((_RESPONSE, trace_id, task, _time(),
                      getattr(response, "finish_reason", None),
                      dict(usage) if usage else None, getattr(response, "model", None),
                      getattr(response, "raw_text", None),
                      [(c.id, c.name, c.arguments) for c in calls] if calls else None))
        return trace_id

    async def record_checklist(self, task_id: str, checklist_data: Any, *,
                               trace_ids: list[str] | None = None) -> bool | None:
        """Label the answers of ``task_id`` given since its previous checklist (or
        exactly ``trace_ids``) PASS or FAIL from ``checklist_data`` (see
        :func:`_label_of` for the shapes understood). Returns the label."""
        label = _label_of(checklist_data)
        if trace_ids is None:
            trace_ids = self._unlabelled(str(task_id))
        self._append((_RECORD, {"type": "checklist", "task_id": str(task_id),
                                "ts": time.time(), "passed": label,
                                "trace_ids": list(trace_ids)}, {"data": checklist_data},
                      *_PAD))
        self.flush()  # a label is rare and worth having on disk at once
        return label

    # --- reading --------------------------------------------------------------------

    def _records(self) -> list[dict[str, Any]]:
        """Every record, a delta-stored prompt made whole again (``prompt``)."""
        self.flush()
        if not self.path.is_file():
            return []
        out = []
        prompts: dict[str, dict[str, Any]] = {}
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a torn last line
                    continue
                if rec.get("type") == "request":
                    ref = rec.pop("prompt_ref", None)
                    delta = rec.pop("prompt_delta", None) or {}
                    if ref is not None:
                        base = prompts.get(ref.get("trace_id"))
                        rec["prompt"] = None if base is None else {
                            "messages": base["messages"][:ref["messages"]]
                            + list(delta.get("messages") or []),
                            "tools": base.get("tools") if ref.get("tools")
                            else delta.get("tools")}
                    if isinstance(rec.get("prompt"), dict) and rec.get("basis") == "compiled":
                        prompts[rec["trace_id"]] = rec["prompt"]
                out.append(rec)
        return out

    def _unlabelled(self, task_id: str) -> list[str]:
        answered: list[str] = []
        for rec in self._records():
            if rec.get("task_id") != task_id:
                continue
            if rec["type"] == "response":
                answered.append(rec["trace_id"])
            elif rec["type"] == "checklist":
                answered = []
        return answered

    def export_traces(self, task_id: str | None = None) -> list[dict[str, Any]]:
        """Every traced call joined: ``trace_id``, ``task_id``, ``prompt_hash``,
        ``request``, ``response`` and ``label`` (``"PASS"``/``"FAIL"``/``None``)."""
        traces: dict[str, dict[str, Any]] = {}
        labels: dict[str, bool | None] = {}
        for rec in self._records():
            kind = rec.get("type")
            if kind == "checklist":
                for tid in rec.get("trace_ids") or []:
                    labels[tid] = rec.get("passed")
                continue
            entry = traces.setdefault(rec["trace_id"], {
                "trace_id": rec["trace_id"], "task_id": rec.get("task_id"),
                "prompt_hash": None, "request": None, "response": None, "label": None})
            if kind == "request":
                entry["request"] = rec
                entry["prompt_hash"] = rec.get("prompt_hash")
            elif kind == "response":
                entry["response"] = rec
            if rec.get("task_id") is not None:
                entry["task_id"] = rec["task_id"]
        out = []
        for tid, entry in traces.items():
            lab = labels.get(tid)
            entry["label"] = None if lab is None else ("PASS" if lab else "FAIL")
            if task_id is None or entry["task_id"] == task_id:
                out.append(entry)
        return out

    def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """One joined trace (an unambiguous id prefix works too)."""
        hits = [t for t in self.export_traces() if t["trace_id"].startswith(trace_id)]
        return hits[0] if len(hits) == 1 else None

    # --- pairs ------------------------------------------------------------------------

    def _answers(self) -> list[dict[str, Any]]:
        """Labelled, answered, prompted traces."""
        return [t for t in self.export_traces()
                if t["label"] is not None and t["request"] and t["response"]
                and t["request"].get("prompt") is not None and t["response"].get("text")]

    def _make(self, chosen: dict[str, Any] | None, rejected: dict[str, Any] | None,
              strategy: str) -> DPOPair:
        base = chosen or rejected
        assert base is not None
        text, messages = _prompt_text(base["request"]["prompt"])
        return DPOPair(
            prompt=text, prompt_messages=messages,
            chosen=chosen["response"]["text"] if chosen else None,
            rejected=rejected["response"]["text"] if rejected else None,
            strategy=strategy, prompt_hash=base["prompt_hash"],
            chosen_task_id=chosen["task_id"] if chosen else None,
            rejected_task_id=rejected["task_id"] if rejected else None,
            chosen_trace_id=chosen["trace_id"] if chosen else None,
            rejected_trace_id=rejected["trace_id"] if rejected else None)

    def _why_not(self, chosen: dict[str, Any], rejected: dict[str, Any]) -> str | None:
        if chosen["label"] != "PASS" or rejected["label"] != "FAIL":
            return (f"chosen must be labelled PASS and rejected FAIL (have "
                    f"{chosen['label']} and {rejected['label']})")
        a, b = chosen["request"], rejected["request"]
        if a.get("basis") != b.get("basis") or chosen["prompt_hash"] != rejected["prompt_hash"]:
            return (f"the answers reply to different prompts (prompt hash "
                    f"{str(chosen['prompt_hash'])[:12]} vs {str(rejected['prompt_hash'])[:12]});"
                    " a preference pair needs two answers to the same prompt")
        if self.constitution.require_distinct_responses and \
                chosen["response"]["text"] == rejected["response"]["text"]:
            return "chosen and rejected are the same text"
        return None

    def pair(self, chosen_trace_id: str, rejected_trace_id: str) -> DPOPair:
        """The pair of two given traces, or :class:`PairRefused` saying why not."""
        chosen, rejected = self.get_trace(chosen_trace_id), self.get_trace(rejected_trace_id)
        for tid, t in ((chosen_trace_id, chosen), (rejected_trace_id, rejected)):
            if t is None or not t["request"] or not t["response"]:
                raise PairRefused(f"no complete trace {tid!r} in {self.path}; "
                                  "'teragent traces list' shows the ids")
        assert chosen is not None and rejected is not None
        reason = self._why_not(chosen, rejected)
        if reason:
            raise PairRefused(f"cannot pair {chosen_trace_id} with {rejected_trace_id}: "
                              f"{reason}")
        strategy = "same_task_retry" if chosen["task_id"] == rejected["task_id"] \
            else "cross_task"
        return self._make(chosen, rejected, strategy)

    def export_dpo_pairs(self, strategy: str = "all", *,
                         include_partial: bool = False) -> list[DPOPair]:
        """DPO pairs from the labelled traces.

        Args:
            strategy: ``"all"``, ``"same_task_retry"`` or ``"cross_task"`` (see the
                module docstring for what each guarantees).
            include_partial: Also return prompts with only a PASS or only a FAIL
                answer (strategy ``"partial"``, the missing side ``None``).

        Candidates refused (same intent or task, different prompt) are listed in
        :attr:`refused_pairs` with the reason.
        """
        if strategy not in ("all", "same_task_retry", "cross_task"):
            raise UserError(f"unknown pairing strategy {strategy!r}; use 'all', "
                            "'same_task_retry' or 'cross_task'.")
        answers = self._answers()
        self.refused_pairs = []
        pairs: list[DPOPair] = []
        by_prompt: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
        for t in answers:
            by_prompt.setdefault((t["request"].get("basis"), t["prompt_hash"]), []).append(t)
        cap = self.constitution.max_pairs_per_prompt
        for group in by_prompt.values():
            good = [t for t in group if t["label"] == "PASS"]
            bad = [t for t in group if t["label"] == "FAIL"]
            made = 0
            for c in good:
                for r in bad:
                    kind = "same_task_retry" if c["task_id"] == r["task_id"] else "cross_task"
                    if strategy not in ("all", kind) or (cap is not None and made >= cap):
                        continue
                    reason = self._why_not(c, r)
                    if reason:
                        self._refuse(c, r, reason)
                        continue
                    pairs.append(self._make(c, r, kind))
                    made += 1
            if include_partial and (not good or not bad):
                pairs.append(self._make(good[0] if good else None,
                                        None if good else bad[0], "partial"))
        # Same task or same intent but a different prompt: not a pair, say so.
        for c in (t for t in answers if t["label"] == "PASS"):
            for r in (t for t in answers if t["label"] == "FAIL"):
                if c["prompt_hash"] == r["prompt_hash"]:
                    continue
                same_task = c["task_id"] is not None and c["task_id"] == r["task_id"]
                intent = c["request"].get("intent")
                if same_task or (intent and intent == r["request"].get("intent")):
                    self._refuse(c, r, self._why_not(c, r) or "")
        return pairs

    def _refuse(self, chosen: dict[str, Any], rejected: dict[str, Any], reason: str) -> None:
        self.refused_pairs.append({
            "chosen_trace_id": chosen["trace_id"], "rejected_trace_id": rejected["trace_id"],
            "chosen_task_id": chosen["task_id"], "rejected_task_id": rejected["task_id"],
            "reason": reason})

    def export_dpo_pairs_jsonl(self, output_path: str | os.PathLike[str] | None = None, *,
                               format: str = "standard", strategy: str = "all",
                               include_partial: bool = False) -> Path:
        """Write the pairs as JSON lines (default ``trace_dir/dpo_pairs.jsonl``).

        Args:
            format: ``"standard"`` (``prompt``/``chosen``/``rejected`` strings),
                ``"chat"`` (conversational: message lists) or ``"full"`` (every
                field, for auditing).
        """
        shape = {"standard": DPOPair.to_dict, "chat": DPOPair.to_chat,
                 "full": DPOPair.to_record}.get(format)
        if shape is None:
            raise UserError(f"unknown DPO export format {format!r}; use 'standard', "
                            "'chat' or 'full'.")
        pairs = self.export_dpo_pairs(strategy, include_partial=include_partial)
        path = Path(output_path) if output_path is not None else \
            self.trace_dir / "dpo_pairs.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for p in pairs:
                fh.write(json.dumps(shape(p), ensure_ascii=False) + "\n")
        os.replace(tmp, path)
        return path

    def get_trace_stats(self) -> TraceStats:
        """Counts over the trace directory (pairs counted with the default strategy)."""
        stats = TraceStats()
        records = self._records()
        tasks = set()
        for rec in records:
            kind = rec.get("type")
            if rec.get("task_id") is not None:
                tasks.add(rec["task_id"])
            if kind == "request":
                stats.total_requests += 1
            elif kind == "response":
                stats.total_responses += 1
                usage = rec.get("usage") or {}
                stats.prompt_tokens += int(usage.get("prompt", 0) or 0)
                stats.completion_tokens += int(usage.get("completion", 0) or 0)
            elif kind == "checklist":
                stats.total_checklists += 1
        traces = self.export_traces()
        stats.tasks = len(tasks)
        stats.passed = sum(t["label"] == "PASS" for t in traces)
        stats.failed = sum(t["label"] == "FAIL" for t in traces)
        stats.unlabelled = sum(t["label"] is None and t["response"] is not None
                               for t in traces)
        stats.distinct_prompts = len({t["prompt_hash"] for t in traces if t["prompt_hash"]})
        pairs = self.export_dpo_pairs(include_partial=True)
        stats.same_task_pairs = sum(p.strategy == "same_task_retry" for p in pairs)
        stats.cross_task_pairs = sum(p.strategy == "cross_task" for p in pairs)
        stats.partial = sum(p.strategy == "partial" for p in pairs)
        stats.dpo_pairs = stats.same_task_pairs + stats.cross_task_pairs
        stats.refused_pairs = len(self.refused_pairs)
        stats.trace_bytes = self.path.stat().st_size if self.path.is_file() else 0
        return stats
