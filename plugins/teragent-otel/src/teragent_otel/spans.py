"""Agent events → OpenTelemetry GenAI spans.

Semantic conventions (GenAI, v1.37 and later; status Development):

=================  =========================  ====================================
event              span                       attributes
=================  =========================  ====================================
``agent_start``    ``invoke_agent {name}``    ``gen_ai.operation.name``
                   (INTERNAL)                 = ``invoke_agent``, ``gen_ai.agent.name``,
                                              usage totals at the end
``model_start``/   ``chat {model}`` (CLIENT)  ``gen_ai.operation.name`` = ``chat``,
``model_end``                                 ``gen_ai.provider.name``,
                                              ``gen_ai.request.model``,
                                              ``gen_ai.response.model``,
                                              ``gen_ai.response.finish_reasons``,
                                              ``gen_ai.usage.input_tokens``/
                                              ``output_tokens``
``tool_start``/    ``execute_tool {tool}``    ``gen_ai.operation.name`` =
``tool_end``       (INTERNAL)                 ``execute_tool``, ``gen_ai.tool.name``,
                                              ``gen_ai.tool.call.id``,
                                              ``gen_ai.tool.type``
=================  =========================  ====================================

``gen_ai.provider.name`` replaced ``gen_ai.system`` in v1.37.0 of the conventions; we
emit the new name only. Content attributes (``gen_ai.input.messages``,
``gen_ai.output.messages``, ``gen_ai.tool.call.arguments``/``result``) only with
``capture_content = true``, redacted. Failures set the span status to ERROR and
``error.type``.

Handlers run inline in the run's task (sync bus handlers), so a context variable set
at ``agent_start`` follows exactly that run: concurrent runs on one bus do not mix,
and the agent span is the current OpenTelemetry span while the run executes (a run
started inside it, e.g. an agent used as a tool, becomes its child).
"""

from __future__ import annotations

import contextvars
import json
import weakref
from dataclasses import dataclass, field
from typing import Any

from teragent.errors import redact

__all__ = ["GenAISpans", "observe", "provider_name"]

_RUN: contextvars.ContextVar["_Run | None"] = contextvars.ContextVar("teragent_otel_run",
                                                                    default=None)
_OBSERVED: "weakref.WeakKeyDictionary[Any, GenAISpans]" = weakref.WeakKeyDictionary()

#: Adapter/compiler names → the conventions' well-known provider names.
_PROVIDERS = {"openai_compatible": "openai", "openai": "openai", "anthropic_native": "anthropic",
              "anthropic": "anthropic", "deepseek": "deepseek", "glm": "zhipu",
              "minimax": "minimax", "llamacpp": "llama_cpp", "scripted": "teragent.scripted",
              "mock": "teragent.mock"}


def provider_name(model: Any) -> str:
    """``gen_ai.provider.name`` for a :class:`~teragent.ModelProvider`."""
    explicit = getattr(model, "gen_ai_provider", None)
    if explicit:
        return str(explicit)
    compiler = str(getattr(getattr(model, "compiler", None), "name", "") or "")
    for prefix in ("deepseek", "glm", "minimax", "anthropic"):
        if compiler.startswith(prefix):
            return _PROVIDERS[prefix]
    adapter = str(getattr(getattr(model, "adapter", None), "name", "") or "")
    return _PROVIDERS.get(adapter, adapter or "unknown")


@dataclass
class _Run:
    span: Any
    tokens: tuple[Any, Any]
    model_span: Any = None
    tools: dict[str, Any] = field(default_factory=dict)


def _messages(messages: list[dict[str, Any]] | None) -> str:
    """Messages in the conventions' shape (role + parts)."""
    out = []
    for m in messages or []:
        parts: list[dict[str, Any]] = []
        if m.get("content"):
            content = m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
            kind = "tool_call_response" if m.get("role") == "tool" else "text"
            part = {"type": kind, ("response" if kind != "text" else "content"): content}
            if kind != "text":
                part["id"] = m.get("tool_call_id")
            parts.append(part)
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            parts.append({"type": "tool_call", "id": call.get("id"), "name": fn.get("name"),
                          "arguments": fn.get("arguments")})
        out.append({"role": m.get("role"), "parts": parts})
    return redact(json.dumps(out, ensure_ascii=False, default=str)) or ""


class GenAISpans:
    """Subscribes to one event bus and emits the spans of the runs it reports."""

    def __init__(self, tracer: Any, *, agent_name: str = "teragent",
                 capture_content: bool = False) -> None:
        from opentelemetry import context, trace

        self.tracer, self.agent_name, self.capture = tracer, agent_name, capture_content
        self._context, self._trace = context, trace
        self._kinds = trace.SpanKind

    def subscribe(self, bus: Any) -> None:
        for name in ("agent_start", "agent_done", "agent_error", "agent_cancelled",
                     "model_start", "model_end", "stream_failed", "tool_start", "tool_end",
                     "tool_denied"):
            bus.on(name, getattr(self, "_on_" + name))

    # --- the agent --------------------------------------------------------------------

    def _on_agent_start(self, task: str = "", tools: Any = None, **_: Any) -> None:
        span = self.tracer.start_span(
            f"invoke_agent {self.agent_name}", kind=self._kinds.INTERNAL,
            attributes={"gen_ai.operation.name": "invoke_agent",
                        "gen_ai.agent.name": self.agent_name})
        if self.capture:
            span.set_attribute("gen_ai.input.messages",
                               _messages([{"role": "user", "content": task}]))
        otel_token = self._context.attach(self._trace.set_span_in_context(span))
        run = _Run(span, (otel_token, None))
        run.tokens = (otel_token, _RUN.set(run))

    def _finish(self, error: str | None = None, result: Any = None) -> None:
        run = _RUN.get()
        if run is None:
            return
        self._end_model(run, error or "run_ended")
        for span in run.tools.values():
            self._error(span, error or "run_ended")
            span.end()
        if result is not None:
            usage = getattr(result, "usage", None) or {}
            run.span.set_attribute("gen_ai.usage.input_tokens", int(usage.get("prompt_tokens", 0)))
            run.span.set_attribute("gen_ai.usage.output_tokens",
                                   int(usage.get("completion_tokens", 0)))
            if self.capture:
                run.span.set_attribute("gen_ai.output.messages", _messages(
                    [{"role": "assistant", "content": getattr(result, "final_text", "")}]))
        if error:
            self._error(run.span, error)
        run.span.end()
        otel_token, run_token = run.tokens
        _RUN.reset(run_token)
        self._context.detach(otel_token)

    def _on_agent_done(self, result: Any = None, **_: Any) -> None:
        self._finish(result=result)

    def _on_agent_error(self, error: BaseException | None = None, **_: Any) -> None:
        self._finish(error=type(error).__name__ if error is not None else "error")

    def _on_agent_cancelled(self, **_: Any) -> None:
        self._finish(error="cancelled")

    def _error(self, span: Any, error_type: str, message: str = "") -> None:
        from opentelemetry.trace import Status, StatusCode

        span.set_attribute("error.type", error_type)
        span.set_status(Status(StatusCode.ERROR, message or error_type))

    # --- model calls ------------------------------------------------------------------

    def _end_model(self, run: _Run, error: str) -> None:
        if run.model_span is not None:  # started, never answered (the call raised)
            self._error(run.model_span, error)
            run.model_span.end()
            run.model_span = None

    def _on_model_start(self, model: Any = None, messages: Any = None, tools: Any = None,
                        **_: Any) -> None:
        run = _RUN.get()
        if run is None:
            return
        self._end_model(run, "retried")
        name = str(getattr(model, "model", "") or "unknown")
        span = self.tracer.start_span(
            f"chat {name}", kind=self._kinds.CLIENT,
            context=self._trace.set_span_in_context(run.span),
            attributes={"gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": provider_name(model),
                        "gen_ai.request.model": name})
        if self.capture:
            span.set_attribute("gen_ai.input.messages", _messages(messages))
            if tools:
                span.set_attribute("gen_ai.tool.definitions", redact(json.dumps(tools)) or "")
        run.model_span = span

    def _on_model_end(self, response: Any = None, **_: Any) -> None:
        run = _RUN.get()
        if run is None or run.model_span is None:
            return
        span, run.model_span = run.model_span, None
        usage = getattr(response, "usage", None) or {}
        attrs: dict[str, Any] = {
            "gen_ai.usage.input_tokens": int(usage.get("prompt_tokens", 0) or 0),
            "gen_ai.usage.output_tokens": int(usage.get("completion_tokens", 0) or 0)}
        if getattr(response, "model", None):
            attrs["gen_ai.response.model"] = str(response.model)
        if getattr(response, "finish_reason", None):
            attrs["gen_ai.response.finish_reasons"] = [str(response.finish_reason)]
        span.set_attributes(attrs)
        if self.capture and response is not None:
            span.set_attribute("gen_ai.output.messages", _messages([response.to_message()]))
        span.end()

    def _on_stream_failed(self, attempt: int = 0, error: str = "", **_: Any) -> None:
        run = _RUN.get()
        if run is not None and run.model_span is not None:
            run.model_span.add_event("teragent.stream_failed", {"attempt": attempt})

    # --- tools --------------------------------------------------------------------------

    def _tool_span(self, run: _Run, tool_name: str, call_id: str) -> Any:
        return self.tracer.start_span(
            f"execute_tool {tool_name}", kind=self._kinds.INTERNAL,
            context=self._trace.set_span_in_context(run.span),
            attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool_name,
                        "gen_ai.tool.call.id": call_id, "gen_ai.tool.type": "function"})

    def _on_tool_start(self, tool_name: str = "", tool_call_id: str = "", params: Any = None,
                       **_: Any) -> None:
        run = _RUN.get()
        if run is None:
            return
        span = self._tool_span(run, tool_name, tool_call_id)
        if self.capture:
            span.set_attribute("gen_ai.tool.call.arguments",
                               redact(json.dumps(params, default=str)) or "")
        run.tools[tool_call_id] = span

    def _on_tool_end(self, tool_call_id: str = "", success: bool = True, output: str = "",
                     **_: Any) -> None:
        run = _RUN.get()
        span = run.tools.pop(tool_call_id, None) if run is not None else None
        if span is None:
            return
        if self.capture:
            span.set_attribute("gen_ai.tool.call.result", redact(output) or "")
        if not success:
            self._error(span, "tool_error")
        span.end()

    def _on_tool_denied(self, tool_name: str = "", tool_call_id: str = "", reason: str = "",
                        **_: Any) -> None:
        run = _RUN.get()
        if run is None:
            return
        span = self._tool_span(run, tool_name, tool_call_id)
        self._error(span, "permission_denied", redact(reason) or "")
        span.end()


def observe(config: dict[str, Any], bus: Any) -> GenAISpans | None:
    """Subscribe the spans of ``[otel]`` to ``bus`` (once per bus)."""
    from teragent.config.loader import validate_table

    from teragent_otel.config import OtelConfig, tracer_for

    cfg = validate_table(config, "otel", OtelConfig)
    if not cfg.enabled:
        return None
    if bus in _OBSERVED:
        return _OBSERVED[bus]
    spans = GenAISpans(tracer_for(cfg), agent_name=cfg.agent_name,
                       capture_content=cfg.capture_content)
    spans.subscribe(bus)
    _OBSERVED[bus] = spans
    return spans
