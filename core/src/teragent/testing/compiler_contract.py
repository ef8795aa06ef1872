"""The compiler contract suite: every compiler plugin runs it against its compilers.

Subclass :class:`CompilerContract` and set ``compilers`` to name → factory::

    class TestMyCompilers(CompilerContract):
        compilers = {"mine": MyCompiler, "mine_pro": lambda: MyCompiler(variant="pro")}

The properties (hypothesis): compiling never loses the instruction, a constraint, the
output format or a tool definition; a compiler that cannot carry images raises
:class:`~teragent.errors.IncompatiblePromptError` instead of dropping them; every
catalog intent compiles. Uses no pytest fixtures inside ``@given`` tests, so it runs
under ``filterwarnings = error``.

This module imports pytest and hypothesis; the rest of :mod:`teragent.testing` does not.
"""

from __future__ import annotations

import json
from typing import Any, Callable, ClassVar, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teragent.core.compiler import TAPCompiler
from teragent.core.tap import CompiledPrompt, MultimodalContent, TAPRequest
from teragent.errors import IncompatiblePromptError

__all__ = ["CompilerContract", "prompt_texts", "request_strategy", "INTENTS"]

INTENTS = ("design", "plan", "replan", "execute", "review", "chat", "chat_friendly",
           "sub_agent", "code_generation")

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
_text = st.text(st.characters(exclude_categories=_SURROGATES), min_size=1, max_size=40)
_name = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def prompt_texts(compiled: CompiledPrompt) -> str:
    """Every piece of text the model will read, joined (tools excluded)."""
    parts: list[str] = [compiled.system_prompt or "", compiled.user_message or ""]
    for msg in compiled.messages or []:
        content = msg.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [p.get("text", "") for p in content if isinstance(p, dict)]
        if isinstance(msg.get("reasoning_content"), str):
            parts.append(msg["reasoning_content"])
    return "\n".join(parts)


def _tool(name: str, description: str) -> dict[str, Any]:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": {"arg": {"type": "string"}}}}}


@st.composite
def request_strategy(draw: Any) -> TAPRequest:
    """Random text-only requests with context, constraints, format and tools."""
    tool_names = draw(st.lists(_name, max_size=4, unique=True))
    return TAPRequest(
        meta={"intent": draw(st.sampled_from(INTENTS))},
        context=draw(st.dictionaries(_name, st.one_of(_text, st.dictionaries(
            _name, _text, max_size=2)), max_size=3)),
        instruction=draw(_text),
        constraints=draw(st.lists(_text, max_size=4)),
        output_format_hint=draw(st.one_of(st.none(), _text)),
        thinking_mode=draw(st.one_of(st.none(), st.sampled_from(
            ["auto", "deep", "quick", "high", "max"]))),
        cache_preference=draw(st.one_of(st.none(), st.sampled_from(
            ["auto", "aggressive", "none"]))),
        tools=[_tool(n, draw(_text)) for n in tool_names] or None,
    )


def _canonical(tools: list[dict[str, Any]] | None) -> list[str]:
    return sorted(json.dumps(t, sort_keys=True) for t in tools or [])


class CompilerContract:
    """Properties every compiler must have; subclasses set ``compilers``."""

    compilers: ClassVar[dict[str, Callable[[], TAPCompiler]]] = {}

    def _each(self) -> list[tuple[str, TAPCompiler]]:
        assert self.compilers, "set CompilerContract.compilers"
        return [(name, factory()) for name, factory in self.compilers.items()]

    def test_never_loses_instruction_constraints_format_or_tools(self) -> None:
        compilers = self._each()

        # The @given function is built per call: a hypothesis test inherited by several
        # subclasses would run from "differing executors".
        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(request=request_strategy())
        def check(request: TAPRequest) -> None:
            for name, compiler in compilers:
                compiled = compiler.compile(request)
                text = prompt_texts(compiled)
                assert request.instruction in text, f"{name} lost the instruction"
                for constraint in request.constraints:
                    assert constraint in text, f"{name} lost constraint {constraint!r}"
                if request.output_format_hint:
                    assert request.output_format_hint in text, \
                        f"{name} lost the output format"
                assert _canonical(compiled.tools) == _canonical(request.tools), \
                    f"{name} changed or lost tool definitions"

        check()

    def test_every_intent_has_a_system_prompt(self) -> None:
        for name, compiler in self._each():
            for intent in INTENTS:
                prompt = compiler.get_system_prompt(intent)
                assert prompt.strip(), f"{name} has an empty prompt for {intent}"
                compiled = compiler.compile(TAPRequest(meta={"intent": intent},
                                                       instruction="do it"))
                assert prompt in prompt_texts(compiled), \
                    f"{name} does not use its catalog prompt for {intent}"

    def test_images_are_carried_or_refused(self) -> None:
        image = MultimodalContent(type="image_url", url="https://example.test/a.png")
        request = TAPRequest(instruction="describe", multimodal_context=[image])
        for name, compiler in self._each():
            if not compiler.supports_multimodal:
                with pytest.raises(IncompatiblePromptError):
                    compiler.compile(request)
                continue
            compiled = compiler.compile(request)
            dumped = json.dumps(compiled.model_dump())
            assert "https://example.test/a.png" in dumped, f"{name} dropped the image"
