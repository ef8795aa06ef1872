"""Compaction in three layers: micro (trim old tool results), auto (summarise the
middle of the conversation with a model call), and on request (the ``compact`` tool).

Every layer keeps, unchanged: the system message(s) at the head, the task (the first
user message), and the latest turns; and none separates a tool call from its result
(see :mod:`teragent_context.structure`). Each compaction is announced on the agent's
event bus as a ``compaction`` event (``kind`` ``"micro"``, ``"auto"`` or ``"tool"``,
tokens before and after, messages removed and trimmed, the summary's length) so a
transcript can record it.
"""

from __future__ import annotations

import contextvars
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from teragent_context.structure import tool_names_by_id, units
from teragent_context.window import ContextWindow

__all__ = ["Microcompactor", "AutoCompactor", "CompactionRecord", "current_compactor",
           "SUMMARY_PROMPT"]

logger = logging.getLogger("teragent.context")

SUMMARY_PROMPT = (
    "You compress the middle of an agent's conversation so the agent can continue its "
    "task with less context. Write a concise summary of the transcript below: what was "
    "done, which tools were called with which important arguments and what they "
    "returned, facts found, files touched, decisions made, and what is still open. "
    "Keep names, paths, numbers and identifiers exactly. Write plain text, no preamble.")
SUMMARY_HEADER = "[Summary of {n} earlier messages, compacted to save context]\n"

_CURRENT: contextvars.ContextVar[tuple["AutoCompactor", Any] | None] = contextvars.ContextVar(
    "teragent_context_compactor", default=None)


def _runtime() -> Any:
    from teragent.runtime import current_runtime

    return current_runtime()


def current_compactor() -> "AutoCompactor | None":
    """The compactor of the agent run this code executes in (the ``compact`` tool's
    way to reach it): set by :meth:`AutoCompactor.maybe_compact`, which the agent loop
    calls at every step, and inherited by the tasks the run starts. A compactor set by
    another (finished) run is not returned."""
    hit = _CURRENT.get()
    if hit is None or hit[1] is not _runtime():
        return None
    return hit[0]


@dataclass
class CompactionRecord:
    """One compaction, as announced on the bus."""

    kind: str  # micro | auto | tool
    before_tokens: int
    after_tokens: int
    messages_before: int
    messages_after: int
    removed: int
    trimmed: int
    summary_chars: int = 0
    focus: str | None = None
    summary_error: str | None = None
    at: float = field(default_factory=time.time)

    def as_event(self) -> dict[str, Any]:
        return {"kind": self.kind, "before_tokens": self.before_tokens,
                "after_tokens": self.after_tokens, "messages_before": self.messages_before,
                "messages_after": self.messages_after, "removed": self.removed,
                "trimmed": self.trimmed, "summary_chars": self.summary_chars,
                "focus": self.focus, "summary_error": self.summary_error}


def _is_summary(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return message.get("role") == "user" and isinstance(content, str) and \
        content.startswith("[Summary of ") and "compacted to save context]" in content[:80]


def _head_end(messages: list[dict[str, Any]]) -> int:
    """Index after the leading system messages and the task (first user message)."""
    i = 0
    while i < len(messages) and messages[i].get("role") == "system":
        i += 1
    task = next((k for k in range(i, len(messages)) if messages[k].get("role") == "user"),
                None)
    if task is None:
        return i
    # Anything between the system messages and the task stays too (restored history
    # may start with an assistant turn); it must not be split.
    return task + 1


class Microcompactor:
    """Layer 1, no model call: replaces the content of old tool results with a short
    marker (``[Previous: used {tool_name}]``).

    Args:
        keep_last: The most recent tool results are kept whole (default 3).
        min_chars: Results shorter than this stay (default 100).

    Messages are never removed or reordered, so every call keeps its result.
    """

    MARKER = "[Previous: used {name}]"

    def __init__(self, keep_last: int = 3, min_chars: int = 100) -> None:
        if keep_last < 0 or min_chars < 0:
            raise ValueError("keep_last and min_chars must be >= 0")
        self.keep_last = keep_last
        self.min_chars = min_chars

    def compact(self, messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        """``(messages, trimmed)``: a new list (trimmed messages copied) and how many
        tool results were trimmed."""
        tool_idx = [i for i, m in enumerate(messages) if m.get("role") == "tool"]
        old = tool_idx[:max(0, len(tool_idx) - self.keep_last)]
        if not old:
            return list(messages), 0
        names = tool_names_by_id(messages)
        out = list(messages)
        trimmed = 0
        for i in old:
            m = messages[i]
            content = m.get("content")
            text = content if isinstance(content, str) else str(content or "")
            marker = self.MARKER.format(name=names.get(str(m.get("tool_call_id")), "a tool"))
            if len(text) < self.min_chars or text == marker:
                continue
            out[i] = {**m, "content": marker}
            trimmed += 1
        return out, trimmed


class AutoCompactor:
    """Compacts a conversation when it approaches the context window.

    Args:
        context_window: The :class:`~teragent_context.window.ContextWindow` deciding
            when (``should_compact``).
        model: The provider that writes summaries (``await model.complete(messages)``,
            which compiles through the provider's compiler like every agent call).
        retain_count: Messages kept verbatim at the end (default 8; widened so no tool
            call loses its result).
        max_compacts: Summarising compactions allowed per compactor (default 5); micro
            compactions are not counted.
        microcompactor: Layer 1 (default ``Microcompactor()``).
        micro_threshold: Fraction of the window from which layer 1 runs (default 0.5).
        summary_max_tokens: ``max_tokens`` of the summary call (default 512).
        bus: Where ``compaction`` events go (default: the bus of the current run).

    ``await maybe_compact(messages, system_prompt)`` returns the compacted list, or
    ``None`` when nothing needed doing.
    """

    def __init__(self, context_window: ContextWindow | None = None, model: Any = None, *,
                 retain_count: int = 8, max_compacts: int = 5,
                 microcompactor: Microcompactor | None = None, micro_threshold: float = 0.5,
                 summary_max_tokens: int = 512, bus: Any = None) -> None:
        if retain_count < 1:
            raise ValueError(f"retain_count must be >= 1, got {retain_count!r}")
        if max_compacts < 0:
            raise ValueError(f"max_compacts must be >= 0, got {max_compacts!r}")
        self.context_window = context_window or ContextWindow()
        self.model = model
        self.retain_count = retain_count
        self.max_compacts = max_compacts
        self.microcompactor = microcompactor if microcompactor is not None else Microcompactor()
        self.micro_threshold = micro_threshold
        self.summary_max_tokens = summary_max_tokens
        self.bus = bus
        self.compacts = 0
        self.micro_compacts = 0
        self.tokens_saved = 0
        self.history: list[CompactionRecord] = []
        self._requested: list[str | None] = []

    # --- public -------------------------------------------------------------------------

    def request(self, focus: str | None = None) -> None:
        """Compact at the next :meth:`maybe_compact`, whatever the utilisation (the
        ``compact`` tool), keeping ``focus`` in the summary."""
        self._requested.append(focus)

    @property
    def pending(self) -> bool:
        return bool(self._requested)

    async def maybe_compact(self, messages: list[dict[str, Any]],
                            system_prompt: str | None = None, *, force: bool = False,
                            focus: str | None = None) -> list[dict[str, Any]] | None:
        """The compacted conversation, or ``None`` when it needs no compaction.

        ``messages`` is not modified. ``system_prompt`` is put first when the
        conversation has no system message (the agent loop passes both)."""
        _CURRENT.set((self, _runtime()))
        kind = "auto"
        if self._requested:
            focus = self._requested.pop(0) if focus is None else focus
            self._requested.clear()
            force, kind = True, "tool"
        elif force:
            kind = "overflow"
        window = self.context_window
        before = window.estimate(messages)
        micro_at = int(window.usable_tokens * self.micro_threshold)
        if not force and before < micro_at:
            return None
        work = list(messages)
        if system_prompt and not any(m.get("role") == "system" for m in work[:1]):
            work.insert(0, {"role": "system", "content": system_prompt})
        work, trimmed = self.microcompactor.compact(work)
        after_micro = window.estimate(work)
        if not force and after_micro < window.threshold_tokens:
            if not trimmed:
                window.estimate(messages)
                return None
            return await self._done("micro", work, messages, before, 0, trimmed)
        if self.compacts >= self.max_compacts:
            logger.info("context: max_compacts (%d) reached; only trimming", self.max_compacts)
            if trimmed:
                return await self._done("micro", work, messages, before, 0, trimmed)
            window.estimate(messages)
            return None
        summarised = await self._summarise(work, focus)
        if summarised is None:
            if trimmed:
                return await self._done("micro", work, messages, before, 0, trimmed)
            window.estimate(messages)
            return None
        out, removed, summary_chars, error = summarised
        self.compacts += 1
        out = self._shrink_tail(out)
        return await self._done("auto" if kind == "overflow" else kind, out, messages, before,
                                removed, trimmed, summary_chars, focus, error)

    async def compact_on_overflow(self, messages: list[dict[str, Any]],
                                  system_prompt: str | None = None) -> list[dict[str, Any]] | None:
        """Compact now: the API said the prompt does not fit, whatever the estimate."""
        return await self.maybe_compact(messages, system_prompt, force=True)

    def get_stats(self) -> dict[str, Any]:
        """Counts and the last compactions."""
        return {
            "compactions": self.compacts, "micro_compactions": self.micro_compacts,
            "max_compacts": self.max_compacts, "remaining": max(0, self.max_compacts -
                                                               self.compacts),
            "tokens_saved": self.tokens_saved, "retain_count": self.retain_count,
            "model_token_limit": self.context_window.model_token_limit,
            "last_estimated_tokens": self.context_window.last_estimated_tokens,
            "utilization": round(self.context_window.utilization, 4),
            "history": [r.as_event() for r in self.history[-20:]],
        }

    # --- internals ----------------------------------------------------------------------

    def _tail_start(self, work: list[dict[str, Any]], head: int) -> int:
        """Where the verbatim tail starts: ``retain_count`` messages from the end,
        moved back to the start of the unit it falls in (a call keeps its results)."""
        target = max(head, len(work) - self.retain_count)
        for start, end in units(work):
            if start <= target < end:
                if start >= head:
                    return start
                return end  # the unit straddles the head: the tail starts after it
        return len(work)

    async def _summarise(self, work: list[dict[str, Any]], focus: str | None
                         ) -> tuple[list[dict[str, Any]], int, int, str | None] | None:
        head = _head_end(work)
        tail = self._tail_start(work, head)
        middle = work[head:tail]
        if not middle:
            return None
        summary, error = await self._summary_text(middle, focus)
        note = {"role": "user", "content": SUMMARY_HEADER.format(n=len(middle)) + summary}
        out = work[:head] + [note] + work[tail:]
        window = self.context_window
        if window.estimate(out) >= window.estimate(work):
            return None  # a summary no shorter than what it replaces only loses detail
        return out, len(middle), len(summary), error

    def _transcript(self, middle: list[dict[str, Any]]) -> str:
        # The summary call must itself fit the window: every message is cut, and the
        # whole rendering is kept under half the usable tokens.
        # An earlier summary is carried over whole (up to half the budget): cutting it
        # like any message would lose more of the early work at every compaction.
        budget_chars = max(2000, int(self.context_window.usable_tokens * 0.5 * 3))
        earlier = [m for m in middle if _is_summary(m)]
        carried = sum(min(len(str(m.get("content"))), budget_chars // 2) for m in earlier)
        rest = max(1, len(middle) - len(earlier))
        per = max(200, (budget_chars - carried) // rest)
        lines = []
        for m in middle:
            role = m.get("role", "?")
            text = m.get("content")
            text = text if isinstance(text, str) else str(text or "")
            if _is_summary(m):
                lines.append(f"earlier summary: {text[:budget_chars // 2]}")
                continue
            calls = ", ".join(
                f"{(c.get('function') or {}).get('name')}"
                f"({str((c.get('function') or {}).get('arguments'))[:200]})"
                for c in m.get("tool_calls") or () if isinstance(c, dict))
            if calls:
                text = f"{text} [calls: {calls}]".strip()
            if len(text) > per:
                text = text[:per] + " [...]"
            lines.append(f"{role}: {text}")
        out = "\n".join(lines)
        return out[:budget_chars]

    async def _summary_text(self, middle: list[dict[str, Any]],
                            focus: str | None) -> tuple[str, str | None]:
        if self.model is None:
            return self._fallback_summary(middle), "no model to summarise with"
        ask = self._transcript(middle)
        if focus:
            ask += f"\n\nFocus the summary on: {focus}"
        try:
            response = await self.model.complete(
                [{"role": "system", "content": SUMMARY_PROMPT},
                 {"role": "user", "content": ask}], None,
                purpose="compaction", max_tokens=self.summary_max_tokens)
        except Exception as exc:  # noqa: BLE001 - a failed summary must not end the run
            logger.warning("context: the summary call failed (%s); using a digest",
                           type(exc).__name__)
            return self._fallback_summary(middle), f"{type(exc).__name__}: {exc}"[:300]
        text = (getattr(response, "raw_text", None) or "").strip()
        if not text:
            return self._fallback_summary(middle), "the model returned an empty summary"
        return text, None

    @staticmethod
    def _fallback_summary(middle: list[dict[str, Any]]) -> str:
        names = tool_names_by_id(middle)
        used = sorted(set(names.values()))
        return (f"{len(middle)} messages were removed; tools used: "
                f"{', '.join(used) or 'none'}.")

    def _shrink_tail(self, out: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Cut long tool results in the kept tail while the conversation still does
        not fit (their messages stay, so the pairing does too)."""
        window = self.context_window
        if window.estimate(out) <= window.threshold_tokens:
            return out
        out = list(out)
        for limit in (4000, 1000, 300):
            for i, m in enumerate(out):
                content = m.get("content")
                if m.get("role") == "tool" and isinstance(content, str) and \
                        len(content) > limit:
                    out[i] = {**m, "content": content[:limit] + "\n[output truncated]"}
            if window.estimate(out) <= window.threshold_tokens:
                break
        return out

    async def _done(self, kind: str, out: list[dict[str, Any]],
                    original: list[dict[str, Any]], before: int, removed: int, trimmed: int,
                    summary_chars: int = 0, focus: str | None = None,
                    error: str | None = None) -> list[dict[str, Any]]:
        after = self.context_window.estimate(out)
        record = CompactionRecord(kind, before, after, len(original), len(out), removed,
                                  trimmed, summary_chars, focus, error)
        self.history.append(record)
        if kind == "micro":
            self.micro_compacts += 1
        self.tokens_saved += max(0, before - after)
        bus = self.bus
        if bus is None:
            rt = _runtime()
            bus = rt.bus if rt is not None else None
        if bus is not None:
            await bus.emit("compaction", **record.as_event())
        return out
