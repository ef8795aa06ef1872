"""``ModelProvider``: a compiler and an adapter composed, plus the factory functions."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, AsyncIterator

from teragent.core.adapter import TAPAdapter
from teragent.core.compiler import Conversation, TAPCompiler
from teragent.errors import (
    BudgetExceeded, IncompatiblePromptError, ModelAPIError, RateLimitError, UserError,
    counts_against_breakers,
)

if TYPE_CHECKING:  # the TAP IR (pydantic, ~60 ms) loads with the first call, not here
    from teragent.core.tap import CompiledPrompt, CostTracker, TAPCostRecord, TAPRequest, TAPResponse
    from teragent.core.types import StreamEvent

__all__ = ["ModelProvider", "create_provider", "create_provider_from_config", "default_provider"]


class ModelProvider:
    """Composes a :class:`TAPCompiler` (prompt format) with a :class:`TAPAdapter`
    (wire protocol) for one model.

    Args:
        compiler: The compiler instance.
        adapter: The adapter instance (it owns the pooled HTTP client).
        model: The model name sent to the API.
        name: A display name, usually ``"<adapter>.<identity>"``.
    """

    def __init__(self, compiler: TAPCompiler, adapter: TAPAdapter, model: str,
                 *, name: str | None = None) -> None:
        self.compiler = compiler
        self.adapter = adapter
        self.model = model
        self.name = name or f"{adapter.name or type(adapter).__name__}.{model}"
        self._tracer: Any = None
        self._fallback: ModelProvider | None = None
        self._cost_tracker: CostTracker | None = None
        self._closed = False
        #: Objects with ``check_before_call()``/``record_*`` (circuit breakers); a
        #: verdict that is not ``allowed`` refuses the call.
        self.breakers: list[Any] = []
        #: A rate limiter shared by every task using this provider (``[rate_limit]``,
        #: built by the teragent-reliability plugin): ``await wait_and_acquire()``
        #: before each HTTP call, ``update_from_headers(headers, status)`` after it.
        self.rate_limiter: Any = None
        self._limiter_hooked = False

    def __repr__(self) -> str:
        return (f"ModelProvider(name={self.name!r}, compiler={type(self.compiler).__name__}, "
                f"adapter={self.adapter!r}, model={self.model!r})")

    # --- properties -------------------------------------------------------------

    @property
    def tracer(self) -> Any:
        return self._tracer

    @property
    def fallback_provider(self) -> "ModelProvider | None":
        return self._fallback

    @property
    def has_fallback(self) -> bool:
        return self._fallback is not None

    @property
    def _costs(self) -> CostTracker:  # made at the first call, with the TAP IR
        from teragent.core.tap import CostTracker

        self._cost_tracker = self._cost_tracker or CostTracker()
        return self._cost_tracker

    @property
    def cost_records(self) -> list[TAPCostRecord]:
        return list(self._costs.records)

    @property
    def capabilities(self) -> dict[str, Any]:
        caps = dict(self.adapter.capabilities)
        per_model = getattr(self.adapter, "model_capabilities", None)  # duck-typed adapters
        if callable(per_model):
            caps.update(per_model(self.model))
        caps.setdefault("multimodal", False)
        caps["compiler"] = self.compiler.name or type(self.compiler).__name__
        caps["compiler_multimodal"] = self.compiler.supports_multimodal
        return caps

    def set_tracer(self, tracer: Any) -> None:
        """Attach a tracer (e.g. ``teragent.TAPTracer``) that records every call of
        this provider: single-shot TAP calls and every call of an agent run.

        The tracer protocol: ``await record_request(request) -> trace_id``
        (``request`` is the :class:`TAPRequest` or, for a conversation, the
        :class:`~teragent.core.compiler.Conversation`) and ``await
        record_response(response, *, task_id, trace_id)``. A tracer whose
        ``wants_call_context`` is true also gets ``compiled`` (the
        :class:`CompiledPrompt` sent), ``provider`` and ``model`` as keywords.
        Inside an agent run the run's tracers (``AgentRuntime.tracers``, from
        ``agent.toml``) record too. Tracer errors never break a call."""
        self._tracer = tracer

    def set_fallback(self, fallback_provider: "ModelProvider | None") -> None:
        if fallback_provider is self:
            raise UserError("A provider cannot be its own fallback; pass another provider.")
        self._fallback = fallback_provider

    def get_cost_summary(self) -> dict[str, Any]:
        return self._costs.summary()

    def count_tokens(self, text: str) -> int | None:
        """Tokens of ``text`` by the model's own tokenizer, when the adapter offers one
        (an optional ``adapter.count_tokens(text, model) -> int | None``), else ``None``
        (callers estimate then; see ``teragent.context.ContextWindow``)."""
        count = getattr(self.adapter, "count_tokens", None)
        return count(text, self.model) if callable(count) else None

    # --- internals ------------------------------------------------------------------

    def _check_breakers(self, estimated_tokens: int = 0) -> None:
        for breaker in self.breakers:
            verdict = breaker.check_before_call(estimated_prompt_tokens=estimated_tokens)
            if getattr(verdict, "allowed", True) is False:
                error = getattr(verdict, "error_type", None) or BudgetExceeded
                raise error(f"model call to {self.name} refused: "
                            f"{getattr(verdict, 'reason', '') or 'a circuit breaker is open'}",
                            state={"provider": self.name, "model": self.model})

    async def _acquire_rate_limit(self) -> None:
        limiter = self.rate_limiter
        if limiter is None:
            return
        if not self._limiter_hooked:
            self._hook_limiter_headers()
        if not await limiter.wait_and_acquire():
            raise RateLimitError(f"the client-side rate limiter for {self.name} gave up "
                                 "waiting (max_wait)", provider=self.name, model=self.model,
                                 retryable=True)

    def _hook_limiter_headers(self) -> None:
        # Limiters learn from response headers (x-ratelimit-*, retry-after). Adapters
        # that offer add_response_hook call it on every transport; others built on httpx
        # expose their client, whose response hook sees every response.
        self._limiter_hooked = True

        async def on_response(response: Any) -> None:
            limiter = self.rate_limiter
            if limiter is not None:
                limiter.update_from_headers(response.headers, response.status_code)

        add_hook = getattr(self.adapter, "add_response_hook", None)
        if callable(add_hook):
            add_hook(on_response)
            return
        get_client = getattr(self.adapter, "_get_client", None)
        client = get_client() if callable(get_client) else None
        hooks = getattr(client, "event_hooks", None)
        if not isinstance(hooks, dict):
            return

        hooks.setdefault("response", []).append(on_response)

    def _record(self, response: TAPResponse | None, started: float, ok: bool,
                request: TAPRequest | None = None, *,
                error: BaseException | None = None) -> None:
        from teragent.core.tap import TAPCostRecord

        latency = (time.perf_counter() - started) * 1000
        usage = response.usage if response else {}
        self._costs.add(TAPCostRecord(
            provider=self.name, model=self.model,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            cache_hit_tokens=int((response.cache_hit_tokens if response else 0) or 0),
            latency_ms=latency, success=ok,
            task_id=str(request.meta.get("task_id")) if request and "task_id" in request.meta else None,
            intent=request.intent if request else None,
        ))
        for breaker in self.breakers:
            if ok:
                breaker.record_success()
                if hasattr(breaker, "record_model_call") and response is not None:
                    breaker.record_model_call(
                        prompt_tokens=response.prompt_tokens,
                        completion_tokens=response.completion_tokens, latency_ms=latency)
            elif error is None or counts_against_breakers(error):
                breaker.record_failure(f"model call to {self.name} failed")

    def _check_mode(self, compiled: CompiledPrompt) -> CompiledPrompt:
        needed = self.adapter.required_mode
        if needed == "any" or compiled.mode == needed or compiled.mode == "empty":
            return compiled
        if needed == "messages":
            from teragent.core.tap import CompiledPrompt

            return CompiledPrompt(messages=compiled.as_messages(), tools=compiled.tools,
                                  extra=compiled.extra)
        raise IncompatiblePromptError(
            f"The adapter {self.adapter.name!r} needs a system/user prompt (mode B) but the "
            f"compiler {self.compiler.name!r} produced {compiled.mode!r}. Use a compiler "
            "that emits mode B (e.g. 'anthropic')."
        )

    # --- TAP calls --------------------------------------------------------------------

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        return self._check_mode(self.compiler.compile(request))

    async def execute_tap(self, request: TAPRequest) -> TAPResponse:
        """Compile ``request`` and send it."""
        compiled = self.compile(request)
        self._check_breakers(request.estimate_prompt_tokens())
        tracers = self._tracers()
        traced = await self._trace_request(tracers, request, compiled) if tracers else None
        await self._acquire_rate_limit()
        started = time.perf_counter()
        try:
            response = await self.adapter.send(compiled, self.model)
        except Exception as exc:
            self._record(None, started, False, request, error=exc)
            raise
        self._record(response, started, True, request)
        if traced:
            await self._trace_response(traced, response, request)
        return response

    async def stream_tap(self, request: TAPRequest) -> AsyncIterator[str]:
        """Compile ``request`` and stream the answer's text."""
        from teragent.core.messages import TextDelta

        async for event in self.stream_compiled(self.compile(request), request=request):
            if isinstance(event, TextDelta):
                yield event.text

    async def stream_compiled(self, compiled: CompiledPrompt, *,
                              request: "TAPRequest | Conversation | None" = None
                              ) -> AsyncIterator[StreamEvent]:
        """Stream typed events for an already compiled prompt (``request``: what it
        was compiled from, for the breakers' estimate and the tracers)."""
        from teragent.core.messages import StreamFinished
        from teragent.core.tap import TAPRequest

        single = request if isinstance(request, TAPRequest) else None
        self._check_breakers(single.estimate_prompt_tokens() if single else 0)
        await self._acquire_rate_limit()
        started = time.perf_counter()
        tracers = self._tracers()
        traced = await self._trace_request(tracers, request, compiled) \
            if tracers and request is not None else None
        final: TAPResponse | None = None
        try:
            async for event in self.adapter.stream_events(compiled, self.model):
                if isinstance(event, StreamFinished):
                    final = event.response
                yield event
        except Exception as exc:
            self._record(None, started, False, single, error=exc)
            raise
        self._record(final, started, final is not None, single)
        if final is not None and traced:
            await self._trace_response(traced, final, request)

    async def execute_tap_with_retry(self, request: TAPRequest, max_retries: int = 2,
                                     *, base_delay: float = 0.5,
                                     max_delay: float = 30.0) -> TAPResponse:
        """:meth:`execute_tap`, retrying retryable API errors with jittered backoff
        (honouring the server's ``Retry-After``)."""
        from teragent.pipeline.retry import retry_with_backoff

        return await retry_with_backoff(lambda: self.execute_tap(request),
                                        max_retries=max_retries, base_delay=base_delay,
                                        max_delay=max_delay)

    # --- conversations (every call of an agent run) ---------------------------------

    def compile_conversation(self, conversation: Conversation) -> CompiledPrompt:
        """The driver's compiler applied to one call of a multi-turn run."""
        compiled = self.compiler.compile_conversation(conversation)
        if self.adapter.required_mode == "system_user":
            return compiled  # such adapters translate message lists themselves
        return self._check_mode(compiled)

    def _conversation(self, messages: list[dict[str, Any]],
                      tools: list[dict[str, Any]] | None,
                      options: dict[str, Any]) -> tuple[Conversation, CompiledPrompt]:
        known = {k: options.pop(k) for k in ("thinking_mode", "cache_preference", "intent",
                                             "purpose") if k in options}
        conversation = Conversation(messages=list(messages), tools=tools or None,
                                    extra=options, **known)
        return conversation, self.compile_conversation(conversation)

    async def complete(self, messages: list[dict[str, Any]],
                       tools: list[dict[str, Any]] | None = None,
                       **extra: Any) -> TAPResponse:
        """Send a conversation (OpenAI message dicts), compiled by this provider's
        compiler, and return a :class:`TAPResponse`.

        Keyword arguments ``thinking_mode``, ``cache_preference``, ``intent`` and
        ``purpose`` go to the compiler (see :class:`~teragent.core.compiler.Conversation`);
        any other keyword is a request parameter (``temperature=0``)."""
        conversation, compiled = self._conversation(messages, tools, extra)
        self._check_breakers()
        tracers = self._tracers()
        traced = await self._trace_request(tracers, conversation, compiled) if tracers else None
        await self._acquire_rate_limit()
        started = time.perf_counter()
        try:
            response = await self.adapter.send(compiled, self.model)
        except Exception as exc:
            self._record(None, started, False, error=exc)
            raise
        self._record(response, started, True)
        if traced:
            await self._trace_response(traced, response, conversation)
        return response

    async def stream_chat(self, messages: list[dict[str, Any]],
                          tools: list[dict[str, Any]] | None = None,
                          **extra: Any) -> AsyncIterator[StreamEvent]:
        """Stream a conversation as typed events (last: :class:`StreamFinished`);
        compiled like :meth:`complete`."""
        conversation, compiled = self._conversation(messages, tools, extra)
        async for event in self.stream_compiled(compiled, request=conversation):
            yield event

    async def chat(self, messages: list[dict[str, Any]],
                   tools: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
        """Simple chat; returns the assistant message dict plus ``finish_reason`` and
        ``usage``."""
        response = await self.complete(messages, tools, **extra)
        out = response.to_message()
        out["finish_reason"] = response.finish_reason
        out["usage"] = dict(response.usage)
        if response.thinking_content:
            out["reasoning_content"] = response.thinking_content
        return out

    async def chat_with_fallback(self, messages: list[dict[str, Any]],
                                 tools: list[dict[str, Any]] | None = None,
                                 **extra: Any) -> dict[str, Any]:
        """:meth:`chat`, switching to the fallback provider if this one fails."""
        try:
            return await self.chat(messages, tools, **extra)
        except ModelAPIError:
            if self._fallback is None:
                raise
            return await self._fallback.chat(messages, tools, **extra)

    # --- tracing ------------------------------------------------------------------------

    def _tracers(self) -> list[Any]:
        """This provider's tracer and the current agent run's (none: no cost)."""
        runtime = _current_runtime()
        run = runtime.tracers if runtime is not None else ()
        if self._tracer is None:
            return list(run)
        return [self._tracer, *(t for t in run if t is not self._tracer)]

    async def _trace_request(self, tracers: list[Any], request: Any,
                             compiled: CompiledPrompt) -> list[tuple[Any, Any]]:
        out = []
        for tracer in tracers:
            context = {"compiled": compiled, "provider": self.name, "model": self.model} \
                if getattr(tracer, "wants_call_context", False) else {}
            try:
                trace_id = await tracer.record_request(request, **context)
            except Exception:  # noqa: BLE001 - tracers never break a run
                continue
            out.append((tracer, trace_id))
        return out

    async def _trace_response(self, traced: list[tuple[Any, Any]], response: TAPResponse,
                              request: Any) -> None:
        meta = getattr(request, "meta", None) or {}
        for tracer, trace_id in traced:
            try:
                await tracer.record_response(response, task_id=meta.get("task_id"),
                                             trace_id=trace_id)
            except Exception:  # noqa: BLE001
                pass

    # --- lifecycle ----------------------------------------------------------------------

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.adapter.aclose()

    async def __aenter__(self) -> "ModelProvider":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def _current_runtime() -> Any:
    # Imported on first call (teragent.runtime pulls in the guard chain), then rebound:
    # this runs on every model call.
    global _current_runtime
    from teragent.runtime import current_runtime

    _current_runtime = current_runtime
    return current_runtime()


def create_provider(
    compiler: str = "default",
    adapter: str = "openai_compatible",
    model: str = "",
    base_url: str | None = None,
    api_key_env: str | None = None,
    *,
    timeout: float = 120.0,
    transport: Any = None,
    compiler_options: dict[str, Any] | None = None,
    adapter_options: dict[str, Any] | None = None,
    name: str | None = None,
    **kwargs: Any,
) -> ModelProvider:
    """Build a :class:`ModelProvider` from registered component names.

    The API key is read from the environment variable ``api_key_env`` (or a ``.env``
    file); it is never accepted inline, so it cannot end up in code or config.

    Raises:
        UnknownComponentError / MissingPluginError: for an unknown compiler or adapter.
        MissingCredentialsError: when ``api_key_env`` is given but not set.
    """
    from teragent.plugins import get_host

    if "api_key" in kwargs:
        raise UserError("create_provider() does not take api_key: put the key in an "
                        "environment variable and pass api_key_env='VAR_NAME'.")
    host = get_host()
    compiler_cls = host.registry("compilers").get(compiler)
    adapter_cls = host.registry("adapters").get(adapter)
    if api_key_env:  # teragent.config (config models: pydantic) loads only for a key
        from teragent.config.secrets import resolve_api_key
    key = resolve_api_key(api_key_env, provider=adapter) if api_key_env else None
    options = dict(adapter_options or {})
    options.update(kwargs)
    if api_key_env and _accepts(adapter_cls, "api_key_env"):
        options.setdefault("api_key_env", api_key_env)  # errors name what the user set
    adapter_obj = adapter_cls(base_url=base_url, api_key=key, timeout=timeout,
                              transport=transport, **options)
    compiler_obj = compiler_cls(**(compiler_options or {}))
    return ModelProvider(compiler_obj, adapter_obj, model or "", name=name)


def _accepts(cls: Any, name: str) -> bool:
    import inspect

    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def create_provider_from_config(driver: Any) -> ModelProvider:
    """Build a provider from a :class:`~teragent.config.DriverConfig` (or its dict)."""
    from teragent.config.driver_config import DriverConfig

    if isinstance(driver, dict):
        driver = DriverConfig(**driver)
    return create_provider(**driver.to_create_provider_kwargs())


def default_provider(config: dict[str, Any] | None = None,
                     driver_name: str | None = None) -> ModelProvider:
    """The provider ``teragent run`` uses: ``driver_name``, else ``[agent] driver``,
    else the only configured driver, else what a plugin's ``teragent_default_driver``
    offers (the local model)."""
    from teragent.config.loader import load_full_config
    from teragent.errors import UnknownComponentError
    from teragent.plugins import get_host

    config = config if config is not None else load_full_config()
    drivers = config.get("drivers", {})
    chosen = driver_name or (config.get("agent") or {}).get("driver")
    if chosen:
        if chosen not in drivers:
            raise UnknownComponentError(
                "driver", chosen, drivers,
                hint="Define it as [drivers.<adapter>.<identity>] in agent.toml.")
        return create_provider_from_config(drivers[chosen])
    if len(drivers) == 1:
        return create_provider_from_config(next(iter(drivers.values())))
    kwargs = get_host().hook.teragent_default_driver(config=config)
    if kwargs is None:
        raise UserError(
            "No model is configured and no plugin offers a default. Install the local "
            "model plugin (pip install teragent-llamacpp) or add a [drivers.*] table to "
            "agent.toml" + (f" and choose one with [agent] driver = \"...\" (have: "
                            f"{', '.join(drivers)})" if drivers else "") + "."
        )
    return create_provider(**kwargs)
