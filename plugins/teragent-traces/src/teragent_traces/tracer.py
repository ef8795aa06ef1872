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

import contextlib
import contextvars
import itertools
import os
import time
import uuid
from typing import Any, Iterator

from teragent.secrets import redact_arguments

from teragent_traces.pairs import STRATEGIES, DPOPair, PairRefused, TracePairs, TraceStats
from teragent_traces.records import (_NO_META, _PAD, _RECORD, _REQUEST, _RESPONSE,
                                     DataConstitution, _label_of, _prompt_of, _time,
                                     prompt_hash)
from teragent_traces.writer import TraceWriter, flush_all

__all__ = ["TAPTracer", "DPOPair", "DataConstitution", "TraceStats", "PairRefused",
           "STRATEGIES", "prompt_hash", "flush_all"]

_TASK: contextvars.ContextVar[str | None] = contextvars.ContextVar("teragent_trace_task",
                                                                   default=None)


class TAPTracer(TraceWriter, TracePairs):
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
        super().__init__(trace_dir, constitution)
        self.refused_pairs: list[dict[str, Any]] = []
        self._pending: dict[str, str | None] = {}  # trace id → task id, until answered
        self._id_prefix, self._ids = uuid.uuid4().hex[:16], itertools.count(1)

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
                      # a tool's sensitive arguments (BaseTool.sensitive_params) are
                      # never written: "[redacted: N chars]"
                      [(c.id, c.name, redact_arguments(c.name, c.arguments)) for c in calls]
                      if calls else None))
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
