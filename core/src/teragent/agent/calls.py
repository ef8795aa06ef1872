"""How an :class:`~teragent.AgentLoop` calls its model: breakers before every call,
streaming with retries and the batch fallback, recovery (backoff, compaction,
fallback provider), the streaming tool executor's step, and what each call feeds back
to the breakers. A mixin: the loop itself is in :mod:`teragent.agent.loop`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from teragent.errors import BudgetExceeded, ModelAPIError, StreamError, counts_against_breakers
from teragent.events import EventBus
from teragent.runtime import AgentRuntime
from teragent.secrets import redact_response, redact_tool_call

if TYPE_CHECKING:  # the TAP IR loads with the first model call, not with the loop
    from teragent.agent.loop import AgentResult
    from teragent.config.agent_loop_config import AgentLoopConfig
    from teragent.core.tap import TAPResponse

__all__ = ["ModelCalls"]

logger = logging.getLogger("teragent.agent")


class ModelCalls:
    """The model-calling half of :class:`~teragent.AgentLoop`."""

    model: Any
    bus: EventBus
    config: AgentLoopConfig
    auto_compactor: Any
    streaming_executor: Any
    _active: AgentRuntime

    @property
    def recovery_manager(self) -> Any:
        return self._active.recovery

    def system_prompt(self) -> str:
        raise NotImplementedError

    def _check_breaker(self, messages: list[dict[str, Any]], result: AgentResult) -> None:
        breakers = self._active.breakers
        if not breakers:
            return
        estimate = sum(len(str(m.get("content") or "")) for m in messages) // 4
        for cb in breakers:
            verdict = cb.check_before_call(estimated_prompt_tokens=estimate)
            allowed = getattr(verdict, "allowed", verdict if isinstance(verdict, bool) else True)
            if allowed is False:
                reason = getattr(verdict, "reason", "") or "a circuit breaker is open"
                result.stop_reason = "breaker"
                error = getattr(verdict, "error_type", None) or BudgetExceeded
                raise error(f"model call refused: {reason}", state={"steps": result.steps})

    def _feed(self, method: str, *args: Any, **kwargs: Any) -> None:
        """Call ``method`` on every breaker of the run, except those on the provider
        (which records every call itself)."""
        own = getattr(self.model, "breakers", None) or ()
        for cb in self._active.breakers:
            fn = getattr(cb, method, None)
            if fn is not None and not any(cb is b for b in own):
                fn(*args, **kwargs)

    def _failed(self, exc: BaseException) -> None:
        if counts_against_breakers(exc):
            self._feed("record_failure", str(exc))

    # --- model calls -------------------------------------------------------------------

    async def _call_model(self, messages: list[dict[str, Any]],
                          tools: list[dict[str, Any]] | None,
                          result: AgentResult) -> TAPResponse:
        recovery = self.recovery_manager
        if recovery is None:
            return await self._call_model_once(messages, tools, result)

        async def attempt(msgs: list[dict[str, Any]], provider: Any) -> TAPResponse:
            return await self._call_model_once(msgs, tools, result, provider)

        compact = None
        if self.auto_compactor is not None:
            async def compact(msgs: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
                # The API refused the prompt as too long: compact whatever the estimate.
                now = getattr(self.auto_compactor, "compact_on_overflow", None) \
                    or self.auto_compactor.maybe_compact
                out = await now(msgs, self.system_prompt())
                return list(out) if out else None
        return await recovery.call_model(  # type: ignore[no-any-return]
            attempt, messages, compact=compact,
            fallback=getattr(self.model, "fallback_provider", None))

    async def _call_model_once(self, messages: list[dict[str, Any]],
                               tools: list[dict[str, Any]] | None,
                               result: AgentResult, provider: Any = None) -> TAPResponse:
        model = provider if provider is not None else self.model
        recovery = self.recovery_manager
        self._check_breaker(messages, result)
        await self.bus.emit("model_start", step=result.steps, at=time.perf_counter(),
                            model=model, messages=messages, tools=tools)
        started = time.perf_counter()
        response: TAPResponse | None = None
        if self.config.stream:
            attempts = 1 + (recovery.max_streaming_retries if recovery is not None
                            else self.config.streaming_retries)
            for attempt in range(attempts):
                try:
                    response = await self._stream_once(messages, tools, model)
                    break
                except (StreamError, ModelAPIError) as exc:
                    self._failed(exc)
                    if isinstance(exc, ModelAPIError) and not exc.retryable:
                        raise
                    if recovery is not None and exc.retry_after is not None:
                        raise  # the server asked us to wait: the recovery backs off
                    logger.info("streaming attempt %d failed: %s", attempt + 1, exc)
                    await self.bus.emit("stream_failed", attempt=attempt + 1, error=str(exc))
                    if recovery is not None:
                        last = attempt + 1 == attempts
                        recovery.record_recovery("streaming_retry",
                                                 "batch fallback" if last else "stream again")
                    self._check_breaker(messages, result)
        if response is None:
            try:
                response = await model.complete(messages, tools)
            except Exception as exc:
                self._failed(exc)
                raise
        await self._model_succeeded(response, result, started)
        return response

    async def _model_succeeded(self, response: TAPResponse, result: AgentResult,
                               started: float) -> None:
        self._feed("record_success")
        result.model_calls += 1
        for key in ("prompt_tokens", "completion_tokens"):
            result.usage[key] = result.usage.get(key, 0) + int(response.usage.get(key, 0))
        self._feed("record_model_call", prompt_tokens=response.prompt_tokens,
                   completion_tokens=response.completion_tokens,
                   latency_ms=(time.perf_counter() - started) * 1000)
        await self.bus.emit("model_end", step=result.steps, response=redact_response(response),
                            at=time.perf_counter())

    async def _stream_once(self, messages: list[dict[str, Any]],
                           tools: list[dict[str, Any]] | None,
                           model: Any = None) -> TAPResponse:
        from teragent.core.types import StreamFinished, TextDelta, ThinkingDelta, ToolCallReady

        final: TAPResponse | None = None
        model = model if model is not None else self.model
        async for event in model.stream_chat(messages, tools):
            if isinstance(event, TextDelta):
                await self.bus.emit("text_delta", text=event.text)
            elif isinstance(event, ThinkingDelta):
                await self.bus.emit("thinking_delta", text=event.text)
            elif isinstance(event, ToolCallReady):
                await self.bus.emit("tool_call_ready", call=redact_tool_call(event.call),
                                    at=time.perf_counter())
            elif isinstance(event, StreamFinished):
                final = event.response
        if final is None:
            raise StreamError("the model stream ended without a final response")
        return final

    async def _stream_with_executor(self, messages: list[dict[str, Any]],
                                    schemas: list[dict[str, Any]],
                                    result: AgentResult) -> tuple[TAPResponse, list[Any]] | None:
        """Run one step through the streaming executor; ``None`` means it failed
        before finishing and the caller should use the batch path."""
        self._check_breaker(messages, result)

        async def on_text(text: str) -> None:
            await self.bus.emit("text_delta", text=text)

        await self.bus.emit("model_start", step=result.steps, at=time.perf_counter(),
                            model=self.model, messages=messages, tools=schemas)
        started = time.perf_counter()
        try:
            outcomes, response, _stats = await self.streaming_executor.execute_streaming(
                stream=self.model.stream_chat(messages, schemas), on_text_delta=on_text)
        except (StreamError, ModelAPIError) as exc:
            self._failed(exc)
            await self.bus.emit("stream_failed", attempt=1, error=str(exc))
            fallback = getattr(self.streaming_executor, "execute_batch_fallback", None)
            if fallback is None:
                return None
            # Stream again / batch, then run the calls through the executor, which
            # skips calls that already completed during the failed stream.
            response = await self._call_model(messages, schemas, result)
            outcomes, _stats = await fallback(response.tool_calls)
            return response, list(outcomes)
        await self._model_succeeded(response, result, started)
        return response, list(outcomes)

    def _should_continue(self, response: TAPResponse, result: AgentResult) -> bool:
        recovery = self.recovery_manager
        if recovery is None:
            return (response.finish_reason == "length"
                    and result.continuations < self.config.max_continuations)
        if not recovery.should_continue_after_truncation(response.finish_reason,
                                                         result.continuations):
            return False
        recovery.record_recovery("length", f"continuation {result.continuations + 1}")
        return True
