"""GLM compilers: ``glm``, ``glm_5``, ``glm_52`` and ``glm_5v_turbo``.

- :class:`GLMCompiler` — recency: context first, then constraints and output format,
  and the key instruction *last* in the user turn.
- :class:`GLM5Compiler` — plus long-horizon support (a self-evaluation protocol is
  injected when ``request.long_horizon`` is set) and 200K-context compression of long
  context values (instruction, constraints, format and tools are never compressed).
- :class:`GLM52Compiler` — 1M context that degrades to 200K (``degraded=True`` or
  ``context_window=200_000``), High/Max dual thinking, PreservedThinking (earlier
  reasoning traces injected and kept) and 5V-Turbo vision coordination.
- :class:`GLM5VTurboCompiler` — vision: images and video as content parts before the
  text.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from teragent.core.compiler import Conversation, TAPCompiler
from teragent.errors import IncompatiblePromptError

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first compile, not the compiler
    from teragent.core.tap import CompiledPrompt, TAPRequest

__all__ = ["GLMCompiler", "GLM5Compiler", "GLM52Compiler", "GLM5VTurboCompiler",
           "compress_context"]

_OMITTED = "\n[... {n} characters omitted to fit the context window ...]\n"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def compress_context(context: dict[str, Any], budget_tokens: int) -> tuple[dict[str, str], bool]:
    """Shrink context values to about ``budget_tokens`` in all.

    Each value over its fair share keeps its head and tail (where summaries and the
    latest state usually are) around an explicit omission marker. Returns the values as
    text and whether anything was cut.
    """
    from teragent.core.tap import estimate_tokens

    texts = {k: _text(v) for k, v in context.items() if v is not None and v != ""}
    total = sum(estimate_tokens(t) for t in texts.values())
    if total <= budget_tokens or not texts:
        return texts, False
    # Water-filling: small values stay whole, large ones share what is left.
    remaining, share = budget_tokens, 0
    order = sorted(texts, key=lambda k: estimate_tokens(texts[k]))
    for i, key in enumerate(order):
        share = remaining // (len(order) - i)
        size = estimate_tokens(texts[key])
        if size > share:
            break
        remaining -= size
    out: dict[str, str] = {}
    for key, text in texts.items():
        size = estimate_tokens(text)
        if size <= share:
            out[key] = text
            continue
        keep_chars = max(200, int(len(text) * share / max(size, 1)))
        head = keep_chars * 2 // 3
        tail = keep_chars - head
        out[key] = text[:head] + _OMITTED.format(n=len(text) - head - tail) + text[-tail:]
    return out, True


class GLMCompiler(TAPCompiler):
    """Recency-optimised compiler: the key instruction comes last."""

    name = "glm"
    compiler_type = "glm"

    def check_multimodal(self, request: TAPRequest) -> None:
        if request.multimodal_context:
            raise IncompatiblePromptError(
                f"The {self.name!r} compiler cannot carry images or video "
                f"({len(request.multimodal_context)} item(s)). Use 'glm_5v_turbo' or "
                "'glm_52' (with 5V-Turbo coordination), or remove multimodal_context.")

    def context_sections(self, request: TAPRequest) -> tuple[dict[str, str], dict[str, Any]]:
        """The context values to render, and ``extra`` notes about them."""
        return ({k: _text(v) for k, v in request.context.items() if v is not None and v != ""},
                {})

    def system_prompt(self, request: TAPRequest) -> str:
        return self.get_system_prompt(request.intent)

    def user_text(self, request: TAPRequest, context: dict[str, str]) -> str:
        sections = []
        if context:
            sections.append("# Reference\n" + "\n\n".join(f"## {k}\n{v}"
                                                          for k, v in context.items()))
        if request.constraints:
            sections.append("# Constraints (all must hold)\n"
                            + "\n".join(f"- {c}" for c in request.constraints))
        if request.output_format_hint:
            sections.append(f"# Output format\n{request.output_format_hint}")
        sections.append(f"# Task (key instruction)\n{request.instruction}")
        return "\n\n".join(sections)

    def user_content(self, request: TAPRequest, text: str) -> Any:
        return text

    def extra(self, request: TAPRequest) -> dict[str, Any]:
        return {}

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        from teragent.core.tap import CompiledPrompt

        self.check_multimodal(request)
        context, notes = self.context_sections(request)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": self.system_prompt(request)}]
        messages.append({"role": "user", "content": self.user_content(
            request, self.user_text(request, context))})
        extra = {**self.extra(request), **notes}
        return CompiledPrompt(messages=messages, tools=request.tools, extra=extra)


class GLM5Compiler(GLMCompiler):
    """GLM-5: recency + long-horizon self-evaluation + 200K context compression.

    Options:
        max_context_tokens: The window to fit (default 200,000).
        reserve_tokens: Kept free for the answer (default 16,000).
    """

    name = "glm_5"
    compiler_type = "glm_5"
    default_window = 200_000

    @property
    def window(self) -> int:
        return int(self.options.get("max_context_tokens", self.default_window))

    def context_sections(self, request: TAPRequest) -> tuple[dict[str, str], dict[str, Any]]:
        from teragent.core.tap import estimate_tokens

        fixed = sum(estimate_tokens(t) for t in (
            request.instruction, request.output_format_hint or "", *request.constraints,
            self.system_prompt(request), json.dumps(request.tools or [])))
        budget = max(1_000, self.window - int(self.options.get("reserve_tokens", 16_000))
                     - fixed)
        context, cut = compress_context(request.context, budget)
        return context, ({"context_compressed": True, "context_budget_tokens": budget}
                         if cut else {})

    def system_prompt(self, request: TAPRequest) -> str:
        base = self.get_system_prompt(request.intent)
        lh = request.long_horizon
        if lh is None:
            return base
        return base + (
            "\n\n# Long-horizon protocol\n"
            f"This is an autonomous task of up to {lh.max_duration_hours:g} hours.\n"
            f"- Every {lh.evaluation_interval_steps} steps (or {lh.evaluation_interval_minutes:g}"
            " minutes), stop and self-evaluate: what is done, what is left, whether the "
            "current strategy is converging, and the evidence for each claim.\n"
            f"- Record a checkpoint every {lh.checkpoint_interval_minutes:g} minutes: "
            "completed sub-goals, open sub-goals, files changed, next step.\n"
            f"- If an evaluation shows no progress, switch strategy and say why (at most "
            f"{lh.max_strategy_switches} switches), then continue.\n"
            "- Never declare the task complete without verifying the result.")

    def extra(self, request: TAPRequest) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if request.long_horizon is not None:
            extra["long_horizon"] = request.long_horizon.model_dump()
            extra["self_evaluation"] = True
        return extra


class GLM52Compiler(GLM5Compiler):
    """GLM-5.2: 1M context (degrading to 200K), High/Max thinking, PreservedThinking,
    5V-Turbo vision coordination.

    Options:
        degraded: Compile for the 200K fallback window (e.g. after a context error).
        context_window: An explicit window (default 1,000,000).
        thinking_mode: ``"high"`` (default) or ``"max"`` when the request sets none.
        preserved_thinking: Keep and re-inject earlier reasoning traces (default True).
    """

    name = "glm_52"
    compiler_type = "glm_52"
    supports_multimodal = True
    default_window = 1_000_000
    degraded_window = 200_000

    @property
    def window(self) -> int:
        if self.options.get("degraded"):
            return self.degraded_window
        return int(self.options.get("context_window", self.default_window))

    def check_multimodal(self, request: TAPRequest) -> None:
        from teragent_openai.multimodal import validate_multimodal

        validate_multimodal(request.multimodal_context, target="The 'glm_52' compiler")

    def thinking_mode(self, request: TAPRequest | Conversation) -> str:
        mode = request.thinking_mode or self.options.get("thinking_mode") or "high"
        # deep → max; quick → thinking off; auto/high → high.
        return {"deep": "max", "max": "max", "quick": "quick"}.get(mode, "high")

    def preserved(self) -> bool:
        return bool(self.options.get("preserved_thinking", True))

    def system_prompt(self, request: TAPRequest) -> str:
        prompt = super().system_prompt(request)
        if self.thinking_mode(request) == "max":
            prompt += ("\n\nThinking mode: MAX. Reason exhaustively: enumerate approaches, "
                       "check edge cases and verify before answering.")
        if request.multimodal_context:
            prompt += ("\n\nVision coordination (GLM-5V-Turbo): first extract what the "
                       "images/video show that matters for the task, then write the code, "
                       "then verify the result against the visual input (vision → code → "
                       "verify).")
        traces = request.meta.get("preserved_thinking") if self.preserved() else None
        if traces:
            if isinstance(traces, str):
                traces = [traces]
            prompt += ("\n\n# Preserved reasoning from earlier sessions\nStay consistent "
                       "with it unless the task says otherwise.\n\n"
                       + "\n\n---\n\n".join(str(t) for t in traces))
        return prompt

    def user_content(self, request: TAPRequest, text: str) -> Any:
        if not request.multimodal_context:
            return text
        from teragent_openai.multimodal import to_openai_part, validate_multimodal

        items = validate_multimodal(request.multimodal_context, target="The 'glm_52' compiler")
        return [*(to_openai_part(i) for i in items), {"type": "text", "text": text}]

    def thinking_extra(self, request: TAPRequest | Conversation) -> dict[str, Any]:
        """The thinking settings of one call (the adapter maps them to the wire).

        High and Max are the documented ``reasoning_effort`` values ``high`` and
        ``max`` (Zhipu's GLM-5.2 migration guide); ``quick`` disables thinking.
        """
        mode = self.thinking_mode(request)
        if mode == "quick":
            return {"thinking_mode": mode, "preserved_thinking": False,
                    "context_window": self.window, "thinking": {"type": "disabled"}}
        return {"thinking_mode": mode, "preserved_thinking": self.preserved(),
                "context_window": self.window, "thinking": {"type": "enabled"},
                "reasoning_effort": mode}

    def conversation_extra(self, conversation: Conversation) -> dict[str, Any]:
        return self.thinking_extra(conversation)

    def extra(self, request: TAPRequest) -> dict[str, Any]:
        extra = super().extra(request)
        extra.update(self.thinking_extra(request),
                     vision_coordination=bool(request.multimodal_context))
        if request.multimodal_context:
            extra["vision_model"] = self.options.get("vision_model", "glm-5v-turbo")
        return extra


class GLM5VTurboCompiler(GLMCompiler):
    """GLM-5V-Turbo: images and video as content parts, then the recency-ordered text."""

    name = "glm_5v_turbo"
    compiler_type = "glm_5v_turbo"
    supports_multimodal = True

    def check_multimodal(self, request: TAPRequest) -> None:
        from teragent_openai.multimodal import validate_multimodal

        validate_multimodal(request.multimodal_context, target="The 'glm_5v_turbo' compiler")

    def user_content(self, request: TAPRequest, text: str) -> Any:
        from teragent_openai.multimodal import to_openai_part, validate_multimodal

        items = validate_multimodal(request.multimodal_context,
                                    target="The 'glm_5v_turbo' compiler")
        if not items:
            return text
        return [*(to_openai_part(i) for i in items), {"type": "text", "text": text}]

    def extra(self, request: TAPRequest) -> dict[str, Any]:
        return {"vision": bool(request.multimodal_context)}
