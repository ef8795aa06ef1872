"""``StreamingToolExecutor``: start tools while the model is still streaming.

Dispatch (per :class:`~teragent.core.types.ToolCallReady` stream event):

===========================================  ==========================================
read-only and concurrency-safe tool          starts at once, during the stream
anything else (writes, shell, destructive)   queued; runs serially after the stream
unknown tool / unparsable arguments          queued (conservative default)
===========================================  ==========================================

Order is preserved: once a call has been queued, later calls of the same reply are
queued too, so a read never overtakes a write the model asked for first.

Every call, early or queued, runs through a :class:`~teragent.tools.ToolOrchestrator`
(the guarded path: safety gate, permission manager, hooks, approval gate). Inside an
:class:`~teragent.AgentLoop` the executor uses the loop's own orchestrator.

Degradation: a stream that fails is retried (``stream_factory``), then answered by a
batch call (``batch_call``) whose tool calls run through :meth:`execute_batch_fallback`.
Calls that already completed during a failed stream are not run again: their results
are kept by call id (and, because a re-sent reply gets new ids, by name + arguments).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Sequence

from teragent.core.types import StreamFinished, TextDelta, ToolCall, ToolCallReady
from teragent.errors import ModelAPIError, StreamError
from teragent.tools.orchestrator import ToolCallOutcome, ToolOrchestrator, coerce_tool_call
from teragent.tools.registry import ToolRegistry

__all__ = ["StreamingToolExecutor", "StreamingStats"]

logger = logging.getLogger("teragent.streaming")

StreamSource = Any  # an async iterator of stream events, or a zero-argument factory


@dataclass
class StreamingStats:
    """What happened during one :meth:`StreamingToolExecutor.execute_streaming`."""

    early_started: int = 0
    queued: int = 0
    reused: int = 0
    stream_failures: int = 0
    retries: int = 0
    fallback: bool = False
    stream_started_at: float = 0.0
    stream_ended_at: float = 0.0
    tool_started_at: dict[str, float] = field(default_factory=dict)
    tool_ended_at: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _signature(call: ToolCall) -> str:
    return call.name + "\x00" + json.dumps(call.arguments, sort_keys=True, default=str)


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


class StreamingToolExecutor:
    """Args:
        tool_registry: The tools (ignored when ``tool_orchestrator`` is given).
        permission_level: Passed to the ToolOrchestrator it builds.
        max_concurrent: Cap on tools running at once during a stream.
        tool_orchestrator: The guarded path to use (an AgentLoop hands over its own).
        hook_manager, enhanced_perm_manager: For the ToolOrchestrator it builds.
        max_retries: Streaming retries before the batch fallback.
    """

    def __init__(self, tool_registry: ToolRegistry | None = None, permission_level: int = 0,
                 max_concurrent: int = 10, *, tool_orchestrator: ToolOrchestrator | None = None,
                 hook_manager: Any = None, enhanced_perm_manager: Any = None,
                 max_retries: int = 1, bus: Any = None) -> None:
        self.max_concurrent = max_concurrent
        self.max_retries = max_retries
        self.tool_orchestrator = tool_orchestrator or ToolOrchestrator(
            tool_registry or ToolRegistry(), permission_level, hook_manager,
            enhanced_perm_manager, max_concurrent=max_concurrent, bus=bus)
        self._semaphore = asyncio.Semaphore(max_concurrent)
        #: Every outcome by call id (for inspection).
        self.results: dict[str, ToolCallOutcome] = {}
        # Outcomes of a failed stream, waiting to be reused by the fallback.
        self._pool_by_id: dict[str, ToolCallOutcome] = {}
        self._pool_by_sig: dict[str, list[ToolCallOutcome]] = {}
        self._failed_turn = False
        self.last_stats: StreamingStats | None = None

    # --- wiring -------------------------------------------------------------------

    @property
    def registry(self) -> ToolRegistry:
        return self.tool_orchestrator.registry

    def use_tool_orchestrator(self, orchestrator: ToolOrchestrator) -> None:
        """Run every call through ``orchestrator`` (an AgentLoop calls this)."""
        self.tool_orchestrator = orchestrator

    def can_stream_with_tools(self, model: Any) -> bool:
        """Whether ``model`` streams and supports tool calls."""
        caps = getattr(model, "capabilities", None)
        if callable(caps):
            caps = caps()
        if not isinstance(caps, dict):
            return hasattr(model, "stream_chat")
        return bool(caps.get("streaming", False)) and bool(caps.get("tool_calling", False))

    def is_streamable(self, call: ToolCall) -> bool:
        """Read-only, concurrency-safe, known tool with valid arguments."""
        if call.parse_error:
            return False
        tool = self.registry.find(call.name)
        return tool is not None and tool.is_read_only and tool.concurrency_safe

    # --- reuse of completed calls ---------------------------------------------------

    def _remember(self, outcome: ToolCallOutcome) -> None:
        self.results[outcome.call.id] = outcome
        self._pool_by_id[outcome.call.id] = outcome
        self._pool_by_sig.setdefault(_signature(outcome.call), []).append(outcome)

    def _take_completed(self, call: ToolCall) -> ToolCallOutcome | None:
        outcome = self._pool_by_id.pop(call.id, None)
        sig = _signature(call)
        same = self._pool_by_sig.get(sig, [])
        if outcome is None and same:
            outcome = same[0]
            self._pool_by_id.pop(outcome.call.id, None)
        if outcome is not None and outcome in same:
            same.remove(outcome)
        if outcome is None:
            return None
        if outcome.call.id != call.id:  # same call re-sent with a new id
            outcome = ToolCallOutcome(call, outcome.result, outcome.started_at,
                                      outcome.ended_at, outcome.denied, outcome.truncated,
                                      {**outcome.metadata, "reused_from": outcome.call.id})
        else:
            outcome.metadata["reused"] = True
        return outcome

    def _clear_pool(self) -> None:
        self._pool_by_id.clear()
        self._pool_by_sig.clear()
        self._failed_turn = False

    # --- streaming ------------------------------------------------------------------

    async def execute_streaming(
        self,
        stream: StreamSource,
        on_text_delta: Callable[[str], Any] | None = None,
        on_tool_complete: Callable[[dict[str, Any], Any], Any] | None = None,
        *,
        stream_factory: Callable[[], AsyncIterator[Any]] | None = None,
        batch_call: Callable[[], Awaitable[Any]] | None = None,
    ) -> tuple[list[ToolCallOutcome], Any, StreamingStats]:
        """Consume ``stream``, starting safe tools early; run the rest afterwards.

        Args:
            stream: The model's event stream (or a zero-argument function making one).
            on_text_delta: Called (sync or async) with each text piece.
            on_tool_complete: Called with ``({"id", "name", "arguments"}, ToolResult)``.
            stream_factory: Makes a fresh stream for a retry (default: ``stream`` when it
                is a function).
            batch_call: Returns a :class:`~teragent.TAPResponse` without streaming; used
                after the retries fail.

        Returns:
            ``(outcomes, response, stats)``: outcomes in the reply's call order.

        Raises:
            StreamError / ModelAPIError: the stream failed and no fallback was possible
                (the completed calls are kept for :meth:`execute_batch_fallback`).
        """
        if not self._failed_turn:
            self._clear_pool()
        stats = StreamingStats()
        self.last_stats = stats
        if callable(stream) and not hasattr(stream, "__aiter__"):
            stream_factory = stream_factory or stream
            stream = stream()
        attempts = 1 + (self.max_retries if stream_factory is not None else 0)
        last_error: BaseException | None = None
        for attempt in range(attempts):
            if attempt:
                assert stream_factory is not None
                stats.retries += 1
                stream = stream_factory()
            try:
                outcomes, response = await self._attempt(stream, on_text_delta,
                                                         on_tool_complete, stats)
            except (StreamError, ModelAPIError) as exc:
                if isinstance(exc, ModelAPIError) and not exc.retryable:
                    self._failed_turn = True
                    raise
                stats.stream_failures += 1
                last_error = exc
                logger.info("stream attempt %d failed: %s", attempt + 1, exc)
                continue
            self._clear_pool()
            return outcomes, response, stats
        self._failed_turn = True
        if batch_call is None:
            assert last_error is not None
            raise last_error
        stats.fallback = True
        response = await batch_call()
        outcomes, fb_stats = await self.execute_batch_fallback(response.tool_calls,
                                                               on_tool_complete)
        stats.reused += fb_stats.reused
        return outcomes, response, stats

    async def _attempt(self, stream: Any, on_text_delta: Any, on_tool_complete: Any,
                       stats: StreamingStats) -> tuple[list[ToolCallOutcome], Any]:
        early: dict[str, asyncio.Task[ToolCallOutcome]] = {}
        reused: dict[str, ToolCallOutcome] = {}
        queued_any = False
        response: Any = None
        stats.stream_started_at = time.perf_counter()

        async def run_early(call: ToolCall) -> ToolCallOutcome:
            async with self._semaphore:
                stats.tool_started_at[call.id] = time.perf_counter()
                outcome = await self.tool_orchestrator.execute_one(call)
                stats.tool_ended_at[call.id] = time.perf_counter()
            self._remember(outcome)
            if on_tool_complete is not None:
                await _maybe_await(on_tool_complete(_call_dict(call), outcome.result))
            return outcome

        try:
            async for event in stream:
                if isinstance(event, TextDelta):
                    if on_text_delta is not None:
                        await _maybe_await(on_text_delta(event.text))
                elif isinstance(event, ToolCallReady):
                    call = event.call
                    done = self._take_completed(call)
                    if done is not None:
                        reused[call.id] = done
                        stats.reused += 1
                    elif not queued_any and self.is_streamable(call):
                        stats.early_started += 1
                        early[call.id] = asyncio.ensure_future(run_early(call))
                    else:
                        queued_any = True
                elif isinstance(event, StreamFinished):
                    response = event.response
            stats.stream_ended_at = time.perf_counter()
            if response is None:
                raise StreamError("the model stream ended without a final response")
        except BaseException as exc:
            # Let the tools already running finish (their results are kept for the
            # fallback); on cancellation stop them.
            if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt)):
                for task in early.values():
                    task.cancel()
            await asyncio.gather(*early.values(), return_exceptions=True)
            raise
        outcomes: list[ToolCallOutcome | None] = []
        pending: list[tuple[int, ToolCall]] = []
        for call in response.tool_calls:
            if call.id in early:
                outcomes.append(await early.pop(call.id))
            elif call.id in reused:
                outcomes.append(reused.pop(call.id))
            else:
                outcomes.append(None)
                pending.append((len(outcomes) - 1, call))
        for task in early.values():  # streamed calls missing from the final reply
            outcome = await task
            logger.warning("tool call %s was streamed but is not in the final reply",
                           outcome.call.id)
        stats.queued = len(pending)
        for index, call in pending:  # serially, in the model's order
            stats.tool_started_at[call.id] = time.perf_counter()
            [outcome] = await self.tool_orchestrator.execute_batch([call])
            stats.tool_ended_at[call.id] = time.perf_counter()
            self._remember(outcome)
            outcomes[index] = outcome
            if on_tool_complete is not None:
                await _maybe_await(on_tool_complete(_call_dict(call), outcome.result))
        return [o for o in outcomes if o is not None], response

    # --- batch fallback ---------------------------------------------------------------

    async def execute_batch_fallback(
        self, tool_calls: Sequence[Any],
        on_tool_complete: Callable[[dict[str, Any], Any], Any] | None = None,
    ) -> tuple[list[ToolCallOutcome], StreamingStats]:
        """Run ``tool_calls`` through ``ToolOrchestrator.execute_batch``, except those
        that already completed during a failed stream (their results are reused)."""
        stats = StreamingStats(fallback=True)
        calls = [coerce_tool_call(c, i) for i, c in enumerate(tool_calls)]
        outcomes: list[ToolCallOutcome | None] = []
        to_run: list[tuple[int, ToolCall]] = []
        for call in calls:
            done = self._take_completed(call)
            if done is not None:
                stats.reused += 1
                outcomes.append(done)
            else:
                outcomes.append(None)
                to_run.append((len(outcomes) - 1, call))
        if to_run:
            ran = await self.tool_orchestrator.execute_batch([c for _, c in to_run])
            for (index, call), outcome in zip(to_run, ran):
                self.results[call.id] = outcome
                outcomes[index] = outcome
                if on_tool_complete is not None:
                    await _maybe_await(on_tool_complete(_call_dict(call), outcome.result))
        stats.queued = len(to_run)
        self._clear_pool()
        return [o for o in outcomes if o is not None], stats


def _call_dict(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": dict(call.arguments)}
