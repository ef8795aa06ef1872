"""The ``anthropic`` compiler: XML-tagged sections and system/user separation (mode B).

The system prompt comes from the catalog (``anthropic`` column); the user turn holds
``<context>`` (one child tag per context key), ``<instructions>``, ``<constraints>``
and ``<output_format>``. Tools are passed through unchanged (the adapter converts them
to Anthropic's shape). Images make the prompt mode A: a system message plus one user
message whose content is image parts followed by the tagged text, which the
``anthropic_native`` adapter turns into ``image`` blocks. Video is refused with
:class:`~teragent.errors.IncompatiblePromptError` (the Messages API takes none).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from teragent.core.compiler import Conversation, TAPCompiler

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first compile, not the compiler
    from teragent.core.tap import CompiledPrompt, TAPRequest

__all__ = ["AnthropicCompiler", "xml_escape_tag"]

_TAG_OK = re.compile(r"[^A-Za-z0-9_.-]")


def xml_escape_tag(name: str) -> str:
    """A context key as a safe XML tag name (``design doc`` → ``design_doc``)."""
    tag = _TAG_OK.sub("_", str(name)) or "item"
    return tag if tag[0].isalpha() or tag[0] == "_" else f"_{tag}"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


class AnthropicCompiler(TAPCompiler):
    """Claude-oriented compiler (mode B). Options: ``prompt_caching`` (bool, default
    ``True`` when the request's ``cache_preference`` is not ``"none"``) sets
    ``extra["prompt_caching"]`` so the adapter marks the system prompt and tools with
    ``cache_control``; ``max_tokens`` sets ``extra["max_tokens"]``."""

    name = "anthropic"
    compiler_type = "anthropic"
    supports_multimodal = True

    def user_text(self, request: TAPRequest) -> str:
        parts: list[str] = []
        ctx = [(k, v) for k, v in request.context.items() if v is not None and v != ""]
        if ctx:
            inner = "\n".join(f"<{xml_escape_tag(k)}>\n{_text(v)}\n</{xml_escape_tag(k)}>"
                              for k, v in ctx)
            parts.append(f"<context>\n{inner}\n</context>")
        parts.append(f"<instructions>\n{request.instruction}\n</instructions>")
        if request.constraints:
            items = "\n".join(f"<constraint>{c}</constraint>" for c in request.constraints)
            parts.append(f"<constraints>\n{items}\n</constraints>")
        if request.output_format_hint:
            parts.append(f"<output_format>\n{request.output_format_hint}\n</output_format>")
        return "\n\n".join(parts)

    def _cache_extra(self, preference: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        caching = self.options.get("prompt_caching")
        if caching is None:
            caching = preference != "none"
        if caching:
            extra["prompt_caching"] = True
        if self.options.get("max_tokens"):
            extra["max_tokens"] = int(self.options["max_tokens"])
        return extra

    def conversation_extra(self, conversation: Conversation) -> dict[str, Any]:
        """Agent turns: ``cache_control`` on the system prompt and the tools (the part
        every turn repeats), so later turns read them from Anthropic's prompt cache."""
        return self._cache_extra(conversation.cache_preference)

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        from teragent.core.tap import CompiledPrompt
        from teragent_openai.multimodal import to_openai_part, validate_multimodal

        images = validate_multimodal(request.multimodal_context, allow_video=False,
                                     target="The 'anthropic' compiler")
        system = self.get_system_prompt(request.intent)
        if request.thinking_mode in ("deep", "max", "high"):
            system += ("\n\nThink the problem through step by step before answering; "
                       "put the final answer after your reasoning.")
        extra = self._cache_extra(request.cache_preference)
        text = self.user_text(request)
        if images:
            content = [to_openai_part(i) for i in images] + [{"type": "text", "text": text}]
            return CompiledPrompt(messages=[{"role": "system", "content": system},
                                            {"role": "user", "content": content}],
                                  tools=request.tools, extra=extra)
        return CompiledPrompt(system_prompt=system, user_message=text, tools=request.tools,
                              extra=extra)
