"""The ``default`` compiler: plain OpenAI-style chat messages."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from teragent.core.compiler import TAPCompiler
from teragent.errors import IncompatiblePromptError

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first compile
    from teragent.core.tap import CompiledPrompt, TAPRequest

__all__ = ["DefaultCompiler", "render_context"]


def render_context(request: TAPRequest) -> str:
    """The request's context as titled sections (``## design`` ...)."""
    parts = []
    for key, value in request.context.items():
        if value is None or value == "":
            continue
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                                indent=2, default=str)
        parts.append(f"## {key}\n{text}")
    return "\n\n".join(parts)


class DefaultCompiler(TAPCompiler):
    """System prompt from the catalog; the user turn holds context, instruction,
    constraints and the output format, in that order."""

    name = "default"
    compiler_type = "default"

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        from teragent.core.tap import CompiledPrompt

        if request.multimodal_context:
            raise IncompatiblePromptError(
                "The 'default' compiler cannot carry images or video "
                f"({len(request.multimodal_context)} multimodal item(s) in the request). "
                "Use a vision compiler such as 'minimax_m3' or 'glm_5v_turbo', or remove "
                "multimodal_context."
            )
        system = self.get_system_prompt(request.intent)
        sections = []
        ctx = render_context(request)
        if ctx:
            sections.append(f"# Context\n{ctx}")
        sections.append(f"# Task\n{request.instruction}")
        if request.constraints:
            sections.append("# Constraints\n" + "\n".join(f"- {c}" for c in request.constraints))
        if request.output_format_hint:
            sections.append(f"# Output format\n{request.output_format_hint}")
        return CompiledPrompt(
            messages=[{"role": "system", "content": system},
                      {"role": "user", "content": "\n\n".join(sections)}],
            tools=request.tools,
        )
