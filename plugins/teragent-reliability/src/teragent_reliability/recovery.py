"""Recovering from failed or cut-off model calls, and falling back between models.

:class:`RecoveryManager` is what :class:`~teragent.AgentLoop` consults
(``AgentLoop(recovery_manager=...)``):

==================  ===================================================================
RecoveryType        what happens
==================  ===================================================================
LENGTH              a reply cut off by the output limit → a continuation request
CONTEXT_OVERFLOW    the prompt does not fit → compact the conversation, call again
FALLBACK            retries are exhausted → the same call on the fallback provider
STREAMING_RETRY     a stream broke off → stream again, then a batch call
TOOL_REPAIR         a tool call failed → the model is told how to repair it
TRANSIENT_RETRY     429 / 5xx / reset / timeout → back off (``Retry-After`` honoured)
==================  ===================================================================

Retries only ever repeat *model calls*: tools run once, after a complete answer, so no
tool call is executed twice because of a retry.

The module also holds the multi-model helpers: :class:`DegradationChain`,
:class:`RateLimitHandler` / :class:`RateLimitInfo` and
:class:`LongHorizonRecoveryManager`.
"""

from __future__ import annotations

import functools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Awaitable, Callable, Mapping

from teragent.errors import ModelAPIError
from teragent.pipeline.retry import backoff_delay

from teragent_reliability.classify import (
    VENDOR_CODES, ErrorClass, as_typed_error, classify_error, error_code,
)

__all__ = [
    "RecoveryType",
    "RecoveryManager",
    "DegradationChain",
    "RateLimitInfo",
    "RateLimitHandler",
    "LongHorizonRecoveryManager",
    "backoff_delay",
]

COMPACTION_NOTE = ("[{n} earlier message(s) were removed to fit the model's context window. "
                   "Continue the task from the remaining conversation.]")
TOOL_REPAIR_HINT = ("\n\nThe tool call failed. Check the tool's parameters and call it "
                    "again with corrected arguments, or explain why it cannot be done.")



async def _asyncio_sleep(delay: float) -> None:
    """:func:`asyncio.sleep`, imported when a retry first waits (building an agent
    with this plugin does not import asyncio)."""
    import asyncio

    await asyncio.sleep(delay)

class RecoveryType(str, Enum):
    LENGTH = "length"
    CONTEXT_OVERFLOW = "context_overflow"
    FALLBACK = "fallback"
    STREAMING_RETRY = "streaming_retry"
    TOOL_REPAIR = "tool_repair"
    TRANSIENT_RETRY = "transient_retry"


ModelCall = Callable[[list[dict[str, Any]], Any], Awaitable[Any]]
Compactor = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]] | None]]


class RecoveryManager:
    """Decides and performs recoveries for the agent loop.

    Args:
        max_continuations: Continuation requests after ``finish_reason == "length"``.
        max_streaming_retries: Stream attempts after the first, before a batch call.
        max_retries: Backoff retries of a transient failure (429, 5xx, reset, ...).
        max_compactions: Compactions per model call on context overflow.
        max_tool_repairs: Repair hints per run.
        base_delay, max_delay, jitter: Backoff between retries.
        max_retry_after: A ``Retry-After`` longer than this is not waited for (the
            error is raised instead).
        retain_messages: Messages kept at the end when compacting.
        max_tool_chars: Tool outputs kept to this many characters when compacting.
        fallback_provider: Used after retries are exhausted (else the loop's model's
            own ``fallback_provider``).
        sleep: Waits between retries (default :func:`asyncio.sleep`; tests may pass a
            recorder).
    """

    def __init__(self, *, max_continuations: int = 3, max_streaming_retries: int = 1,
                 max_retries: int = 3, max_compactions: int = 2, max_tool_repairs: int = 3,
                 base_delay: float = 0.5, max_delay: float = 30.0, jitter: bool = True,
                 max_retry_after: float = 120.0, retain_messages: int = 6,
                 max_tool_chars: int = 2000, fallback_provider: Any = None,
                 sleep: Callable[[float], Awaitable[Any]] | None = None,
                 rng: Callable[[], float] = random.random) -> None:
        self.max_continuations = max_continuations
        self.max_streaming_retries = max_streaming_retries
        self.max_retries = max_retries
        self.max_compactions = max_compactions
        self.max_tool_repairs = max_tool_repairs
        self.base_delay, self.max_delay, self.jitter = base_delay, max_delay, jitter
        self.max_retry_after = max_retry_after
        self.retain_messages = max(2, retain_messages)
        self.max_tool_chars = max_tool_chars
        self.fallback_provider = fallback_provider
        self._sleep = sleep if sleep is not None else _asyncio_sleep
        self._rng = rng
        self.counts: dict[RecoveryType, int] = {t: 0 for t in RecoveryType}
        self.log: list[tuple[RecoveryType, str]] = []
        self.tool_repairs = 0

    # --- the documented queries -----------------------------------------------------

    def should_continue_after_truncation(self, finish_reason: str | None, attempt: int) -> bool:
        return finish_reason == "length" and attempt < self.max_continuations

    def record_recovery(self, kind: RecoveryType | str, detail: str = "") -> None:
        kind = RecoveryType(kind)  # callers outside this package pass the value
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.log.append((kind, detail))

    def classify(self, error: BaseException) -> ErrorClass:
        return classify_error(error)

    def is_context_overflow(self, error: BaseException) -> bool:
        return classify_error(error) is ErrorClass.CONTEXT_OVERFLOW

    def is_rate_limit(self, error: BaseException) -> bool:
        return classify_error(error) is ErrorClass.RATE_LIMIT

    def is_retryable(self, error: BaseException) -> bool:
        return classify_error(error) in (ErrorClass.RATE_LIMIT, ErrorClass.TRANSIENT)

    def should_retry_streaming(self, attempt: int) -> bool:
        """Whether stream attempt number ``attempt`` (0-based, just failed) may be
        followed by another stream attempt (else: batch)."""
        return attempt < self.max_streaming_retries

    def retry_delay(self, error: BaseException, attempt: int) -> float:
        return backoff_delay(attempt, base_delay=self.base_delay, max_delay=self.max_delay,
                             jitter=self.jitter, rng=self._rng,
                             retry_after=getattr(error, "retry_after", None))

    def get_stats(self) -> dict[str, Any]:
        return {"counts": {k.value: v for k, v in self.counts.items()},
                "total": sum(self.counts.values()),
                "log": [(k.value, d) for k, d in self.log[-50:]]}

    # --- context compaction -----------------------------------------------------------

    def compact_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """A shorter conversation: system messages, a note, and the last
        ``retain_messages`` messages (never starting on an orphaned tool result), with
        long tool outputs cut. ``None`` if nothing can be removed."""
        head = [m for m in messages if m.get("role") == "system"]
        body = [m for m in messages if m.get("role") != "system"]
        start = max(0, len(body) - self.retain_messages)
        while start < len(body) and body[start].get("role") == "tool":
            start += 1  # a tool result needs its assistant message: drop both
        kept = [dict(m) for m in body[start:]]
        if not any(m.get("role") == "user" for m in kept):
            first_user = next((m for m in body if m.get("role") == "user"), None)
            if first_user is not None:
                kept.insert(0, dict(first_user))
        shrunk = False
        for m in kept:
            content = m.get("content")
            if m.get("role") == "tool" and isinstance(content, str) and \
                    len(content) > self.max_tool_chars:
                m["content"] = content[:self.max_tool_chars] + "\n[output truncated]"
                shrunk = True
        removed = len(body) - len([m for m in kept if m.get("role") != "system"])
        if removed <= 0 and not shrunk:
            return None
        note = [{"role": "user", "content": COMPACTION_NOTE.format(n=removed)}] \
            if removed > 0 else []
        return head + note + kept

    # --- the retry driver ---------------------------------------------------------------

    async def call_model(self, call: ModelCall, messages: list[dict[str, Any]], *,
                         fallback: Any = None,
                         compact: Compactor | None = None) -> Any:
        """Run ``call(messages, provider_override)`` with recovery.

        ``messages`` is compacted in place on context overflow, so the caller's
        conversation stays the one the model saw. Errors that are not model-API
        errors (an open breaker, a budget) pass straight through.
        """
        fallback = fallback if fallback is not None else self.fallback_provider
        provider: Any = None
        attempt = compactions = 0
        while True:
            try:
                return await call(messages, provider)
            except ModelAPIError as raw:
                exc = as_typed_error(raw)
                kind = classify_error(exc)
                if kind is ErrorClass.CONTEXT_OVERFLOW and compactions < self.max_compactions:
                    shorter = await compact(messages) if compact is not None else None
                    if shorter is None:
                        shorter = self.compact_messages(messages)
                    if shorter is not None:
                        compactions += 1
                        messages[:] = shorter
                        self.record_recovery(RecoveryType.CONTEXT_OVERFLOW,
                                             f"compacted to {len(shorter)} messages")
                        continue
                if kind in (ErrorClass.RATE_LIMIT, ErrorClass.TRANSIENT) and \
                        attempt < self.max_retries:
                    delay = self.retry_delay(exc, attempt)
                    if delay <= self.max_retry_after:
                        attempt += 1
                        self.record_recovery(RecoveryType.TRANSIENT_RETRY,
                                             f"{kind.value}: waiting {delay:.3f}s")
                        await self._sleep(delay)
                        continue
                if fallback is not None and provider is None and kind is not ErrorClass.AUTH:
                    provider = fallback
                    attempt = 0
                    self.record_recovery(RecoveryType.FALLBACK,
                                         f"{kind.value}: switching provider")
                    continue
                if exc is raw:
                    raise
                raise exc from raw

    # --- tool repair ------------------------------------------------------------------

    def repair_tool_message(self, outcome: Any, message: dict[str, Any]) -> dict[str, Any]:
        """Add a repair hint to a failed (not refused) tool call's result message."""
        if getattr(outcome, "success", True) or getattr(outcome, "denied", False):
            return message
        if self.tool_repairs >= self.max_tool_repairs:
            return message
        self.tool_repairs += 1
        self.record_recovery(RecoveryType.TOOL_REPAIR, str(getattr(
            getattr(outcome, "call", None), "name", "")))
        return {**message, "content": f"{message.get('content') or ''}{TOOL_REPAIR_HINT}"}


# --- multi-model helpers ---------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _shipped_chains() -> dict[str, list[str]]:
    from importlib import resources  # read when a degradation chain is first needed

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    text = resources.files("teragent_reliability").joinpath(
        "degradation_chains.toml").read_text("utf-8")
    return {k: list(v) for k, v in tomllib.loads(text)["degradation_chains"].items()}


class DegradationChain:
    """Fallback orders by task type; skips models whose breaker refuses calls.

    Args:
        breaker_manager: A :class:`~teragent.reliability.circuit_breaker.
            ModelCircuitBreakerManager` (``can_call(model)``), or ``None``.
        chains: ``{task_type: [model, ...]}``; default: the chains shipped in
            ``teragent_reliability/degradation_chains.toml``.
    """

    def __init__(self, breaker_manager: Any = None,
                 chains: dict[str, list[str]] | None = None) -> None:
        self.breaker_manager = breaker_manager
        self.chains = {k: list(v) for k, v in (chains if chains is not None
                                               else _shipped_chains()).items()}

    def add_chain(self, task_type: str, models: list[str]) -> None:
        if not models:
            raise ValueError("a degradation chain needs at least one model")
        self.chains[task_type] = list(models)

    def get_full_chain(self, task_type: str = "default") -> list[str]:
        return list(self.chains.get(task_type) or self.chains.get("default") or [])

    def _available(self, model: str) -> bool:
        bm = self.breaker_manager
        if bm is None:
            return True
        check = getattr(bm, "is_available", None) or bm.can_call
        return bool(check(model))

    def get_fallback(self, model: str, task_type: str = "default") -> str | None:
        """The next model after ``model`` in the chain that can be called now."""
        chain = self.get_full_chain(task_type)
        after = chain[chain.index(model) + 1:] if model in chain else chain
        for candidate in after:
            if candidate != model and self._available(candidate):
                return candidate
        return None


@dataclass
class RateLimitInfo:
    """A rate-limit answer, normalised across vendors."""

    model_name: str
    status_code: int | None = None
    requests_remaining: int | None = None
    tokens_remaining: int | None = None
    reset_time: float | None = None  # epoch seconds
    retry_after: float | None = None  # seconds
    vendor_code: str | None = None

    @property
    def is_rate_limited(self) -> bool:
        return self.status_code == 429 or self.vendor_code is not None or \
            self.requests_remaining == 0


class RateLimitHandler:
    """Per-adapter rate-limit handling (see :mod:`teragent.reliability.rate_limit` for
    the limiter shared by every task of a provider). The headers are read by the
    kernel's :func:`teragent.core.http.parse_rate_limit_headers`, like everywhere else.

    Args:
        breaker_manager: Optional per-model breakers; a rate limit counts as a failure.
        base_delay, max_delay: Backoff when the server gives no ``Retry-After``.
        max_retries: :meth:`should_retry` says no after this many attempts.
        max_wait: A ``Retry-After`` longer than this is not worth waiting for.
    """

    def __init__(self, breaker_manager: Any = None, *, base_delay: float = 1.0,
                 max_delay: float = 60.0, max_retries: int = 5, max_wait: float = 300.0,
                 clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random) -> None:
        self.breaker_manager = breaker_manager
        self.base_delay, self.max_delay = base_delay, max_delay
        self.max_retries, self.max_wait = max_retries, max_wait
        self.clock, self.rng = clock, rng
        self.attempts: dict[str, int] = {}
        self.last_info: dict[str, RateLimitInfo] = {}

    def parse_rate_limit_response(self, model_name: str, status_code: int | None,
                                  headers: Mapping[str, str] | None = None,
                                  body: Any = None) -> RateLimitInfo:
        """Read OpenAI-style ``x-ratelimit-*``, Anthropic ``anthropic-ratelimit-*``,
        ``retry-after(-ms)`` headers and vendor codes in the body."""
        from teragent.core.headers import parse_rate_limit_headers

        h = parse_rate_limit_headers(headers, now=self.clock())
        info = RateLimitInfo(model_name=model_name, status_code=status_code,
                             requests_remaining=h.remaining,
                             tokens_remaining=h.remaining_tokens, reset_time=h.reset_at,
                             retry_after=h.retry_after)
        text = body if isinstance(body, str) else (None if body is None else json.dumps(body))
        if text:
            code = error_code(text)
            if code is not None and VENDOR_CODES.get(code) is ErrorClass.RATE_LIMIT:
                info.vendor_code = code
        if info.retry_after is None and info.reset_time is not None and info.is_rate_limited:
            info.retry_after = max(0.0, info.reset_time - self.clock())
        self.last_info[model_name] = info
        if info.is_rate_limited and self.breaker_manager is not None:
            self.breaker_manager.record_failure(model_name, "rate limited")
        return info

    def should_retry(self, model_name: str, info: RateLimitInfo | None = None) -> bool:
        attempts = self.attempts.get(model_name, 0)
        if attempts >= self.max_retries:
            return False
        if info is not None and info.retry_after is not None and \
                info.retry_after > self.max_wait:
            return False
        bm = self.breaker_manager
        return bm is None or bm.can_call(model_name)

    def get_backoff_delay(self, model_name: str, attempt: int,
                          rate_limit_info: RateLimitInfo | None = None) -> float:
        """The server's ``Retry-After`` if it gave one, else jittered exponential backoff."""
        self.attempts[model_name] = max(self.attempts.get(model_name, 0), attempt)
        if rate_limit_info is not None and rate_limit_info.retry_after is not None:
            return min(rate_limit_info.retry_after, self.max_wait)
        return backoff_delay(attempt, base_delay=self.base_delay, max_delay=self.max_delay,
                             rng=self.rng)

    def record_success(self, model_name: str) -> None:
        self.attempts.pop(model_name, None)


@dataclass
class LongHorizonRecoveryManager:
    """Reconnection and downgrade decisions for long-running tasks.

    ``recover_from_checkpoint`` works with any store that has
    ``load_latest(task_id) -> dict | None`` and any task manager with ``task_id`` and
    ``restore_from_checkpoint(data)`` (sync or async), such as
    ``teragent.long_horizon``'s ``CheckpointStore`` and ``LongHorizonTaskManager``
    (plugin ``teragent-long-horizon``); without a store it returns ``False``.
    """

    checkpoint_store: Any = None
    base_delay: float = 1.0
    max_delay: float = 300.0
    jitter: float = 0.25
    max_recovery_attempts: int = 3
    downgrade_after_seconds: float = 3600.0
    rng: Callable[[], float] = random.random
    recoveries: list[dict[str, Any]] = field(default_factory=list)

    def get_reconnection_delay(self, attempt: int) -> float:
        """``base_delay * 2**attempt`` capped at ``max_delay``, ± ``jitter`` of it."""
        delay: float = min(self.max_delay, self.base_delay * (2 ** max(0, attempt)))
        spread = delay * self.jitter
        return max(0.0, min(self.max_delay, delay + (self.rng() * 2 - 1) * spread))

    def should_downgrade_to_standard(self, recovery_attempts: int, elapsed_time: float) -> bool:
        return recovery_attempts >= self.max_recovery_attempts or \
            elapsed_time >= self.downgrade_after_seconds

    async def recover_from_checkpoint(self, task_manager: Any) -> bool:
        if self.checkpoint_store is None:
            return False
        task_id = getattr(task_manager, "task_id", None)
        data = self.checkpoint_store.load_latest(task_id)
        import asyncio  # (imported by the running loop already)

        if asyncio.iscoroutine(data):
            data = await data
        if not data:
            return False
        out = task_manager.restore_from_checkpoint(data)
        if asyncio.iscoroutine(out):
            out = await out
        ok = out is not False
        self.recoveries.append({"task_id": task_id, "ok": ok, "at": time.time()})
        return ok
