"""The ``{{ cookiecutter.__ident }}`` compiler: the prompt format for one model family.

A compiler never touches HTTP: it turns a :class:`~teragent.core.tap.TAPRequest` into a
:class:`~teragent.core.tap.CompiledPrompt`, keeping the instruction, the constraints
and the tools. Replace the layout below with your model family's preferred one.
"""

from __future__ import annotations

from teragent.core.compiler import TAPCompiler
from teragent.core.tap import CompiledPrompt, TAPRequest
from teragent.errors import IncompatiblePromptError

__all__ = ["{{ cookiecutter.__class_prefix }}Compiler"]


class {{ cookiecutter.__class_prefix }}Compiler(TAPCompiler):
    """System prompt from the catalog; one user turn with the task and its constraints."""

    name = "{{ cookiecutter.__ident }}"
    compiler_type = "default"

    def compile(self, request: TAPRequest) -> CompiledPrompt:
        if request.multimodal_context:
            raise IncompatiblePromptError(
                f"The {self.name!r} compiler cannot carry images or video; remove "
                "multimodal_context or choose a vision compiler.")
        parts = [request.instruction]
        if request.constraints:
            parts.append("Constraints:\n" + "\n".join(f"- {c}" for c in request.constraints))
        if request.output_format_hint:
            parts.append(f"Answer format: {request.output_format_hint}")
        return CompiledPrompt(
            messages=[{"role": "system", "content": self.get_system_prompt(request.intent)},
                      {"role": "user", "content": "\n\n".join(parts)}],
            tools=request.tools,
        )
