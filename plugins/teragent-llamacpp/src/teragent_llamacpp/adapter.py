"""The ``llamacpp`` adapter: a GGUF model run in-process by llama-cpp-python.

- The model loads lazily, on the first call, in a worker thread, and stays loaded:
  a process-wide cache keyed by (file, n_ctx, n_threads, n_batch) lets every provider
  that names the same model share one ``llama_cpp.Llama``.
- llama.cpp calls block and a context is not thread-safe: each generation runs in a
  worker thread holding that model's lock; tokens cross to the event loop through an
  ``asyncio.Queue``. Cancelling the consumer sets a flag that llama.cpp's stopping
  criteria checks after every token, and the consumer waits for the thread to end.
- With tools, the reply is decoded under a grammar built from a JSON schema (see
  :mod:`teragent_llamacpp.prompting`), which makes even a 135M model's calls parse.
- The prompt is rendered with the model's own chat template (from the GGUF metadata)
  and sent with ``Llama.create_completion``: rendering it here, rather than through
  ``create_chat_completion``, gives exact prompt-token counts while streaming.

Adapter options (``adapter_options`` or keyword arguments of ``create_provider``):
``model_path``, ``n_ctx`` (4096), ``n_threads`` (``os.cpu_count()``), ``n_batch`` (512),
``seed`` (None: random), ``temperature`` (0.2), ``max_tokens`` (512), ``verbose``
(False: silence llama.cpp's logging), ``max_tool_rounds`` (1; see below),
``max_string_length`` (200: the cap on every string argument of a tool call),
``reuse_kv_prefix`` (False: every call evaluates its whole prompt, so one prompt gives
one output at temperature 0; True lets llama.cpp reuse the cached prefix of the
previous call, faster for long conversations with larger models, but the numerics
then depend on that previous call), ``tool_profile`` ("auto": "small" for a model file
under :data:`SMALL_MODEL_BYTES`, else "full"; or "small"/"full").

The ``"small"`` profile (reported by :meth:`LlamaCppAdapter.model_capabilities`, so
:func:`teragent.build_agent` offers the ``[tools] small_profile`` tools and its short
system prompt) also leaves every optional tool parameter out of the reply grammar and
caps an answer at ``small_answer_length`` characters (400): a 135M model otherwise
rambles into ``max_tokens``, the loop asks it to continue, and the continuation
re-offers the tools (one traced run took 217 s that way). Tool results are cut to
``small_tool_result_chars`` (1500; 4000 otherwise): the model lost the question in
4,000 characters of a README.
Per-call values in ``CompiledPrompt.extra``: ``temperature``, ``max_tokens``, ``seed``,
``tool_choice`` ("auto", "required", "none" or ``{"type": "function", "function":
{"name": ...}}``) and ``max_tool_rounds``.

After ``max_tool_rounds`` assistant tool calls since the last user message the tools
are withdrawn for that call and the grammar only admits ``{"answer": ...}``: a 135M
model otherwise tends to call tools forever, and the agent must be able to finish.
Pass ``max_tool_rounds=None`` for larger models.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, ClassVar

from teragent.core.adapter import TAPAdapter
from teragent.errors import ContextOverflowError, ModelAPIError, UserError

from teragent_llamacpp.models import resolve_model_path
from teragent_llamacpp.prompting import (
    MAX_STRING_LENGTH, ReplyParser, build_reply_schema, render_messages, select_tools,
)

if TYPE_CHECKING:  # asyncio and the TAP IR (pydantic) load with the first request
    from teragent.core.tap import CompiledPrompt, TAPResponse
    from teragent.core.types import StreamEvent

__all__ = ["LlamaCppAdapter", "LoadedModel", "load_model", "loaded_models", "clear_cache",
           "SMALL_MODEL_BYTES"]

#: A GGUF file under this size is a "small" model (SmolLM2-135M Q4_1 is 92 MB; a 0.5B
#: model at 4 bits ~400 MB): it gets the small tool profile unless ``tool_profile`` says.
SMALL_MODEL_BYTES = 600 * 1024 * 1024


# --- the process-wide model cache ------------------------------------------------


@dataclass
class LoadedModel:
    """One loaded model, its lock and its prompt formatter."""

    path: str
    llama: Any  # llama_cpp.Llama
    lock: threading.Lock
    formatter: Callable[[list[dict[str, str]]], tuple[str, list[str]]]


_CACHE: dict[tuple[Any, ...], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise UserError(
            "The llamacpp adapter needs llama-cpp-python, which is not importable "
            f"({exc}). Install it with: pip install llama-cpp-python") from exc
    return llama_cpp


def _make_formatter(llama: Any) -> Callable[[list[dict[str, str]]], tuple[str, list[str]]]:
    """Render messages with the GGUF's chat template, or a plain transcript without one."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def token_text(token: int) -> str:
        if token < 0:
            return ""
        return bytes(llama.detokenize([token], special=True)).decode("utf-8", "ignore")

    eos, bos = token_text(llama.token_eos()), token_text(llama.token_bos())
    template = llama.metadata.get("tokenizer.chat_template")
    try:
        adds_bos = llama.token_bos() >= 0 and bool(llama._model.add_bos_token())
    except AttributeError:  # pragma: no cover - private API of llama-cpp-python
        adds_bos = False
    if template:
        formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

        def render(messages: list[dict[str, str]]) -> tuple[str, list[str]]:
            prompt = formatter(messages=messages).prompt
            if adds_bos and bos and prompt.startswith(bos):
                prompt = prompt[len(bos):]  # llama.cpp adds it; twice hurts quality
            return prompt, [eos] if eos else []
        return render

    def transcript(messages: list[dict[str, str]]) -> tuple[str, list[str]]:
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nAssistant:", ["\nUser:"]
    return transcript


def load_model(path: str, *, n_ctx: int = 4096, n_threads: int | None = None,
               n_batch: int = 512, verbose: bool = False) -> LoadedModel:
    """Load ``path`` (or return the already loaded instance). Blocking; thread-safe."""
    key = (os.path.realpath(path), n_ctx, n_threads, n_batch)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is not None:
            return loaded
        llama_cpp = _import_llama_cpp()
        try:
            llama = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads,
                                    n_threads_batch=n_threads, n_batch=n_batch,
                                    verbose=verbose)
        except Exception as exc:  # noqa: BLE001 - any load failure names the file
            raise UserError(
                f"llama.cpp could not load the model file {path!r}: "
                f"{type(exc).__name__}: {exc}. Check that it is a complete GGUF file this "
                "llama-cpp-python version supports, or pass another model_path.") from exc
        loaded = LoadedModel(path=path, llama=llama, lock=threading.Lock(),
                             formatter=_make_formatter(llama))
        _CACHE[key] = loaded
        return loaded


def loaded_models() -> list[LoadedModel]:
    """The models loaded in this process."""
    with _CACHE_LOCK:
        return list(_CACHE.values())


def clear_cache() -> None:
    """Forget every loaded model (they are freed once no adapter holds them)."""
    with _CACHE_LOCK:
        _CACHE.clear()


@atexit.register
def _close_all() -> None:
    # Free the models while the interpreter is intact: ``Llama.__del__`` at shutdown
    # finds llama.cpp's bindings already torn down and prints a TypeError.
    with _CACHE_LOCK:
        for loaded in _CACHE.values():
            with loaded.lock, contextlib.suppress(Exception):
                loaded.llama.close()
        _CACHE.clear()


# --- one generation ---------------------------------------------------------------


@dataclass
class _Plan:
    turns: list[dict[str, str]]
    schema: dict[str, Any] | None
    max_tokens: int
    temperature: float
    seed: int | None
    call_id: str
    reuse_prefix: bool = False
    repeat_penalty: float = 1.1


@dataclass
class _Outcome:
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    text: str = ""


def _generate(loaded: LoadedModel, plan: _Plan, *, stream: bool, cancel: threading.Event,
              emit: Callable[[str], None]) -> _Outcome:
    """Run one completion (in a worker thread); hand text to ``emit`` as it comes."""
    from llama_cpp import LlamaGrammar, StoppingCriteriaList

    prompt, stop = loaded.formatter(plan.turns)
    counts = {"prompt": 0, "sampled": 0}

    def check(input_ids: Any, logits: Any) -> bool:
        # Called once per sampled token, before it is used: count it and obey cancel.
        if counts["sampled"] == 0:
            counts["prompt"] = len(input_ids)
        counts["sampled"] += 1
        return cancel.is_set()

    with loaded.lock:
        if cancel.is_set():
            return _Outcome("cancelled", 0, 0)
        if not plan.reuse_prefix:
            loaded.llama.reset()  # evaluate the whole prompt: the same prompt, same output
        grammar = (LlamaGrammar.from_json_schema(json.dumps(plan.schema), verbose=False)
                   if plan.schema is not None else None)
        kwargs: dict[str, Any] = dict(
            max_tokens=plan.max_tokens, temperature=plan.temperature, seed=plan.seed,
            repeat_penalty=plan.repeat_penalty, stop=stop, grammar=grammar, stopping_criteria=StoppingCriteriaList([check]))
        if not stream:
            out = loaded.llama.create_completion(prompt, **kwargs)
            choice = out["choices"][0]
            usage = out.get("usage") or {}
            if choice["text"]:
                emit(choice["text"])
            return _Outcome("cancelled" if cancel.is_set() else choice["finish_reason"] or "stop",
                            int(usage.get("prompt_tokens", 0)),
                            int(usage.get("completion_tokens", 0)), choice["text"])
        finish = "length"
        chunks = loaded.llama.create_completion(prompt, stream=True, **kwargs)
        try:
            for chunk in chunks:
                if cancel.is_set():
                    break
                choice = chunk["choices"][0]
                if choice["text"]:
                    emit(choice["text"])
                if choice["finish_reason"]:
                    finish = choice["finish_reason"]
        finally:
            chunks.close()
        if cancel.is_set():
            finish = "cancelled"
        # ``check`` ran once per sampled token plus once after the sampling loop (when
        # that loop ended by itself); an end-of-generation token is sampled but is not
        # part of the completion. The model tier checks this against llama's own usage.
        completion = counts["sampled"]
        if finish != "cancelled":
            completion -= 1 + (1 if finish == "stop" else 0)
        return _Outcome(finish, counts["prompt"], max(0, completion))


# --- the adapter --------------------------------------------------------------------


class LlamaCppAdapter(TAPAdapter):
    """Runs a GGUF model in this process; see the module docstring for options."""

    name: ClassVar[str] = "llamacpp"
    required_mode: ClassVar[str] = "messages"

    def __init__(self, *, model_path: str | None = None, n_ctx: int = 4096,
                 n_threads: int | None = None, n_batch: int = 512, seed: int | None = None,
                 temperature: float = 0.2, max_tokens: int = 512, verbose: bool = False,
                 max_tool_rounds: int | None = 1, reuse_kv_prefix: bool = False,
                 max_string_length: int = MAX_STRING_LENGTH, repeat_penalty: float = 1.3,
                 tool_profile: str = "auto", small_answer_length: int = 400,
                 small_tool_result_chars: int = 1500, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if tool_profile not in ("auto", "small", "full"):
            raise UserError(f"llamacpp tool_profile {tool_profile!r} is not one of 'auto', "
                            "'small', 'full'; fix adapter_options.tool_profile.")
        self.tool_profile = tool_profile
        self._profiles: dict[str, str] = {}
        self.small_answer_length = small_answer_length
        self.small_tool_result_chars = small_tool_result_chars
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self.n_batch = n_batch
        self.seed = seed
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.verbose = verbose
        self.max_tool_rounds = max_tool_rounds
        self.max_string_length = max_string_length
        self.reuse_kv_prefix = reuse_kv_prefix
        # Small models loop on a phrase without a penalty ("X is a directory that
        # contains ..." until max_tokens); llama.cpp's own default is 1.1.
        self.repeat_penalty = repeat_penalty
        #: Finish reason and token counts of the last generation (diagnostics, tests).
        self.last_outcome: _Outcome | None = None

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "streaming": True, "tool_calling": True,
                "local": True, "network": False, "context_window": self.n_ctx}

    def count_tokens(self, text: str, model: str) -> int:
        """Tokens of ``text`` by the GGUF model's own tokenizer (the optional adapter
        capability behind ``ModelProvider.count_tokens``; loads the model once)."""
        loaded = load_model(resolve_model_path(model, self.model_path), n_ctx=self.n_ctx,
                            n_threads=self.n_threads, n_batch=self.n_batch,
                            verbose=self.verbose)
        # Tokenizing only reads the vocabulary: no lock, so a count never waits for a
        # generation running in another thread.
        return len(loaded.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def model_capabilities(self, model: str) -> dict[str, Any]:
        """``{"tool_profile": "small" | "full"}`` for ``model`` (a stat of its file, no load)."""
        return {"tool_profile": self._profile(model)}

    def _profile(self, model: str) -> str:
        if self.tool_profile != "auto":
            return self.tool_profile
        if model not in self._profiles:
            try:
                size = os.path.getsize(resolve_model_path(model, self.model_path))
            except (UserError, OSError):
                return "full"  # the call itself reports the missing file
            self._profiles[model] = "small" if size < SMALL_MODEL_BYTES else "full"
        return self._profiles[model]

    def __repr__(self) -> str:
        return f"LlamaCppAdapter(model_path={self.model_path!r}, n_ctx={self.n_ctx})"

    # --- planning ---------------------------------------------------------------

    def plan(self, compiled: CompiledPrompt, model: str) -> _Plan:
        """Everything about one call that needs no model: turns, schema, settings."""
        extra = compiled.extra
        messages = compiled.as_messages()
        tools = list(compiled.tools or [])
        schema = None
        answer_now = False
        offered: list[dict[str, Any]] | None = None
        allow_answer = True
        required_only = self._profile(model) == "small"
        if tools:
            offered, allow_answer = select_tools(tools, extra.get("tool_choice"))
            limit = extra.get("max_tool_rounds", self.max_tool_rounds)
            if limit is not None and _tool_rounds(messages) >= limit:
                offered, allow_answer, answer_now = [], True, True
            schema = build_reply_schema(offered, allow_answer=allow_answer,
                                        max_string=self.max_string_length,
                                        required_only=required_only,
                                        max_answer=self.small_answer_length
                                        if required_only else None)
        turns = render_messages(messages, offered, allow_answer=allow_answer,
                                answer_now=answer_now, required_only=required_only,
                                **({"max_tool_result_chars": self.small_tool_result_chars}
                                   if required_only else {}))
        seed = extra.get("seed", self.seed)
        return _Plan(
            turns=turns, schema=schema,
            max_tokens=int(extra.get("max_tokens", self.max_tokens)),
            temperature=float(extra.get("temperature", self.temperature)),
            seed=None if seed is None else int(seed),
            call_id=f"call_{_count_calls(messages) + 1}",
            reuse_prefix=bool(extra.get("reuse_kv_prefix", self.reuse_kv_prefix)),
            repeat_penalty=float(extra.get("repeat_penalty", self.repeat_penalty)),
        )

    async def _model(self, model: str) -> LoadedModel:
        import asyncio

        path = resolve_model_path(model, self.model_path)
        return await asyncio.to_thread(load_model, path, n_ctx=self.n_ctx,
                                       n_threads=self.n_threads, n_batch=self.n_batch,
                                       verbose=self.verbose)

    # --- calls --------------------------------------------------------------------

    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        from teragent.core.types import StreamFinished

        final: TAPResponse | None = None
        async for event in self._events(compiled, model, stream=False):
            if isinstance(event, StreamFinished):
                final = event.response
        assert final is not None
        return final

    async def stream_events(self, compiled: CompiledPrompt,
                            model: str) -> AsyncIterator[StreamEvent]:
        async for event in self._events(compiled, model, stream=True):
            yield event

    async def _events(self, compiled: CompiledPrompt, model: str, *,
                      stream: bool) -> AsyncIterator[StreamEvent]:
        import asyncio

        from teragent.core.tap import TAPResponse
        from teragent.core.types import StreamFinished, TextDelta, UsageUpdate

        plan = self.plan(compiled, model)
        loaded = await self._model(model)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancel = threading.Event()

        def emit(text: str) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, ("text", text))
            except RuntimeError:  # the loop is gone: nobody is listening
                cancel.set()

        def work() -> None:
            try:
                outcome = _generate(loaded, plan, stream=stream, cancel=cancel, emit=emit)
                self.last_outcome = outcome
                item: tuple[str, Any] = ("done", outcome)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer
                item = ("error", exc)
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:
                pass

        worker = loop.run_in_executor(None, work)
        parser = ReplyParser(call_id=plan.call_id) if plan.schema is not None else None
        text_parts: list[str] = []
        try:
            while True:
                kind, payload = await queue.get()
                if kind == "text":
                    if parser is None:
                        text_parts.append(payload)
                        yield TextDelta(text=payload)
                    else:
                        for event in parser.feed(payload):
                            yield event
                elif kind == "error":
                    raise self._translate(payload, loaded.path)
                else:
                    outcome: _Outcome = payload
                    break
        finally:
            cancel.set()
            if not worker.done():
                # Generation stops at the next token; wait so the model lock is free
                # and no thread outlives the call.
                with contextlib.suppress(Exception):
                    await asyncio.shield(worker)
        tool_calls = []
        if parser is not None:
            for event in parser.finish():
                yield event
            text, tool_calls = parser.text, parser.tool_calls
        else:
            text = "".join(text_parts)
        finish = outcome.finish_reason
        if tool_calls:
            finish = "length" if finish == "length" and tool_calls[0].parse_error \
                else "tool_calls"
        usage = {"prompt_tokens": outcome.prompt_tokens,
                 "completion_tokens": outcome.completion_tokens,
                 "total_tokens": outcome.prompt_tokens + outcome.completion_tokens}
        yield UsageUpdate(usage=usage)
        yield StreamFinished(response=TAPResponse(
            raw_text=text, tool_calls=tool_calls, finish_reason=finish, usage=usage,
            model=model or os.path.basename(loaded.path)))

    def _translate(self, exc: BaseException, path: str) -> BaseException:
        if isinstance(exc, (UserError, ModelAPIError)) or not isinstance(exc, Exception):
            return exc
        message = f"{type(exc).__name__}: {exc}"
        if "exceed context window" in str(exc):
            return ContextOverflowError(
                f"The prompt does not fit the context window of {path!r} ({message}). "
                "Shorten the conversation or raise n_ctx.", provider=self.name,
                model=path, retryable=False)
        return ModelAPIError(f"llama.cpp failed while generating with {path!r}: {message}",
                             provider=self.name, model=path, retryable=False)


def _tool_rounds(messages: list[dict[str, Any]]) -> int:
    """Assistant tool-call turns since the last user message."""
    rounds = 0
    for msg in reversed(messages):
        role = getattr(msg.get("role"), "value", msg.get("role"))
        if role == "user":
            break
        if role == "assistant" and msg.get("tool_calls"):
            rounds += 1
    return rounds


def _count_calls(messages: list[dict[str, Any]]) -> int:
    return sum(len(m.get("tool_calls") or []) for m in messages
               if getattr(m.get("role"), "value", m.get("role")) == "assistant")
