"""DeepSeek compilers: ``deepseek`` (minimalist) and ``deepseek_v4`` (cache-aware).

:class:`DeepSeekV4Compiler` lays the prompt out for DeepSeek's automatic prefix cache:
everything before the user turn (the system message: the intent's fixed prompt, the
variant's strategy, then the request context) and the tool definitions are serialised
deterministically, so two requests that differ only in their user turn share a
byte-identical prefix. The user turn (instruction, constraints, output format) comes
last. Thinking mode travels in ``extra`` (``thinking``), never in the text, so
switching it does not break the cache either.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from teragent.core.compiler import Conversation, TAPCompiler
from teragent.errors import IncompatiblePromptError, UserError

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first compile, not the compiler
    from teragent.core.tap import CompiledPrompt, TAPRequest

__all__ = ["DeepSeekCompiler", "DeepSeekV4Compiler", "canonical_tools", "VARIANTS"]

#: variant → (strategy text, thinking used for thinking_mode="auto").
VARIANTS: dict[str, tuple[str, str]] = {
    "flash": ("Strategy: be fast and direct; skip preamble; prefer the simplest correct "
              "solution.", "disabled"),
    "pro": ("Strategy: reason carefully; consider alternatives and edge cases; verify the "
            "result before answering.", "enabled"),
}
_THINKING = {"deep": "enabled", "high": "enabled", "max": "enabled", "quick": "disabled"}
#: thinking_mode → DeepSeek's documented ``reasoning_effort`` (low/high/max; the server
#: default is high, so ``auto`` sends none).
_EFFORT = {"deep": "high", "high": "high", "max": "max"}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2, default=str)


def _refuse_multimodal(name: str, request: TAPRequest) -> None:
    if request.multimodal_context:
        raise IncompatiblePromptError(
            f"The {name!r} compiler cannot carry images or video "
            f"({len(request.multimodal_context)} item(s)); DeepSeek models are text-only. "
            "Use 'minimax_m3' or 'glm_5v_turbo', or remove multimodal_context.")


def canonical_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Tools in a fixed order (by name) with keys sorted: byte-stable when serialised."""
    if not tools:
        return tools

    def key(tool: dict[str, Any]) -> str:
        return str((tool.get("function") or tool).get("name", ""))

    return [json.loads(json.dumps(t, sort_keys=True)) for t in sorted(tools, key=key)]


class DeepSeekCompiler(TAPCompiler):
    """Minimalist: a one-line system prompt; the user turn is the instruction, then
    bullet constraints, the output format, and the context last."""

    name = "deepseek"
    compiler_type = "deepseek"

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        from teragent.core.tap import CompiledPrompt

        _refuse_multimodal(self.name, request)
        lines = [request.instruction]
        if request.constraints:
            lines.append("Constraints:\n" + "\n".join(f"- {c}" for c in request.constraints))
        if request.output_format_hint:
            lines.append(f"Output format: {request.output_format_hint}")
        ctx = [(k, v) for k, v in request.context.items() if v is not None and v != ""]
        if ctx:
            lines.append("Context:\n" + "\n\n".join(f"[{k}]\n{_text(v)}" for k, v in ctx))
        return CompiledPrompt(
            messages=[{"role": "system", "content": self.get_system_prompt(request.intent)},
                      {"role": "user", "content": "\n\n".join(lines)}],
            tools=request.tools)


class DeepSeekV4Compiler(TAPCompiler):
    """DeepSeek V4 (Flash/Pro): cache-aware layout, thinking modes, 1M context.

    Options:
        variant: ``"flash"`` (default) or ``"pro"``.
        cache_aware: Freeze tool order/serialisation (default: unless the request's
            ``cache_preference`` is ``"none"``).
    """

    name = "deepseek_v4"
    compiler_type = "deepseek_v4"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        variant = str(options.get("variant") or "flash")
        if variant not in VARIANTS:
            raise UserError(f"Unknown deepseek_v4 variant {variant!r}; use 'flash' or 'pro' "
                            "(compiler_variant in the driver config).")
        self.variant = variant

    def prefix_messages(self, request: TAPRequest) -> list[dict[str, Any]]:
        """Everything before the user turn (the cacheable prefix)."""
        strategy, _ = VARIANTS[self.variant]
        system = f"{self.get_system_prompt(request.intent)}\n\n{strategy}"
        ctx = [(k, v) for k, v in request.context.items() if v is not None and v != ""]
        if ctx:
            system += "\n\n# Reference\n" + "\n\n".join(f"## {k}\n{_text(v)}" for k, v in ctx)
        return [{"role": "system", "content": system}]

    def user_turn(self, request: TAPRequest) -> dict[str, Any]:
        parts = [request.instruction]
        if request.constraints:
            parts.append("Constraints:\n" + "\n".join(f"- {c}" for c in request.constraints))
        if request.output_format_hint:
            parts.append(f"Output format:\n{request.output_format_hint}")
        return {"role": "user", "content": "\n\n".join(parts)}

    def thinking(self, request: TAPRequest | Conversation) -> tuple[str, str]:
        mode = request.thinking_mode or self.options.get("thinking_mode") or "auto"
        return mode, _THINKING.get(mode, VARIANTS[self.variant][1])

    def _cache_aware(self, preference: str | None) -> bool:
        cache_aware = self.options.get("cache_aware")
        return bool(preference != "none" if cache_aware is None else cache_aware)

    def _extra(self, request: TAPRequest | Conversation, cache_aware: bool) -> dict[str, Any]:
        mode, thinking = self.thinking(request)
        extra: dict[str, Any] = {"cache_aware": cache_aware, "variant": self.variant,
                                 "thinking_mode": mode, "thinking": {"type": thinking}}
        if thinking == "enabled" and mode in _EFFORT:
            extra["reasoning_effort"] = _EFFORT[mode]
        return extra

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        from teragent.core.tap import CompiledPrompt

        _refuse_multimodal(self.name, request)
        cache_aware = self._cache_aware(request.cache_preference)
        tools = canonical_tools(request.tools) if cache_aware else request.tools
        return CompiledPrompt(
            messages=[*self.prefix_messages(request), self.user_turn(request)],
            tools=tools, extra=self._extra(request, cache_aware))

    def compile_conversation(self, conversation: Conversation) -> CompiledPrompt:
        """Every turn of an agent run, laid out for the prefix cache: the system
        message (with the variant's strategy) and the canonical tool list are
        byte-identical on every call, and the history only grows at the end, so each
        request's prefix is the previous request."""
        from teragent.core.tap import CompiledPrompt

        cache_aware = self._cache_aware(conversation.cache_preference)
        messages = list(conversation.messages)
        strategy, _ = VARIANTS[self.variant]
        if messages and messages[0].get("role") == "system" and \
                isinstance(messages[0].get("content"), str):
            messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{strategy}"}
        tools = canonical_tools(conversation.tools) if cache_aware else conversation.tools
        return CompiledPrompt(messages=messages, tools=tools or None,
                              extra={**self._extra(conversation, cache_aware),
                                     **conversation.extra})
