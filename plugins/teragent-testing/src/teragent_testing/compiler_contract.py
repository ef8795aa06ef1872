"""The compiler contract suite: every compiler plugin runs it against its compilers.

Subclass :class:`CompilerContract` and set ``compilers`` to name → factory::

    class TestMyCompilers(CompilerContract):
        compilers = {"mine": MyCompiler, "mine_pro": lambda: MyCompiler(variant="pro")}

The properties (hypothesis): compiling never loses the instruction, a constraint, the
output format or a tool definition; a compiler that cannot carry images raises
:class:`~teragent.errors.IncompatiblePromptError` instead of dropping them; every
catalog intent compiles. For :meth:`~teragent.core.compiler.TAPCompiler.compile_conversation`
(every model call of an agent run): every message keeps its role, order and text,
every tool call stays paired with its tool result, all tools are offered, the input is
not mutated, the output is deterministic, and two conversations sharing a history
prefix compile to outputs sharing that prefix (what a vendor's prefix cache needs).
Uses no pytest fixtures inside ``@given`` tests, so it runs under
``filterwarnings = error``.

This module imports pytest and hypothesis; the rest of :mod:`teragent.testing` does not.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, ClassVar, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teragent.core.compiler import Conversation, TAPCompiler
from teragent.core.tap import CompiledPrompt, MultimodalContent, TAPRequest
from teragent.errors import IncompatiblePromptError

__all__ = ["CompilerContract", "prompt_texts", "request_strategy", "conversation_strategy",
           "history_strategy", "check_conversation_kept", "INTENTS"]

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


@st.composite
def history_strategy(draw: Any, tool_names: list[str] | None = None) -> list[dict[str, Any]]:
    """An agent run's history after the system message, as an agent builds it: user
    turns, assistant answers, assistant tool calls (some with ``reasoning_content``)
    each followed by its tool results. Tool call ids are unique within the history."""
    names = tool_names or ["tool"]
    messages: list[dict[str, Any]] = [{"role": "user", "content": draw(_text)}]
    counter = draw(st.integers(0, 10_000))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["tools", "tools", "answer", "user"]))
        if kind == "user":
            messages.append({"role": "user", "content": draw(_text)})
            continue
        assistant: dict[str, Any] = {"role": "assistant", "content": draw(
            st.one_of(st.just(""), _text))}
        if draw(st.booleans()):
            assistant["reasoning_content"] = draw(_text)
        if kind == "answer":
            messages.append(assistant)
            continue
        calls = []
        for _ in range(draw(st.integers(1, 3))):
            counter += 1
            calls.append({"id": f"call_{counter}", "type": "function", "function": {
                "name": draw(st.sampled_from(names)),
                "arguments": json.dumps({"arg": draw(_text)}, ensure_ascii=False)}})
        assistant["tool_calls"] = calls
        messages.append(assistant)
        messages += [{"role": "tool", "tool_call_id": c["id"], "content": draw(_text)}
                     for c in calls]
    return messages


@st.composite
def conversation_strategy(draw: Any) -> Conversation:
    """Random agent-run calls: a system message, a history with tool loops, tools and
    per-call preferences."""
    tool_names = draw(st.lists(_name, max_size=4, unique=True))
    messages = [{"role": "system", "content": draw(_text)},
                *draw(history_strategy(tool_names or None))]
    return Conversation(
        messages=messages,
        tools=[_tool(n, draw(_text)) for n in tool_names] or None,
        thinking_mode=draw(st.one_of(st.none(), st.sampled_from(
            ["auto", "deep", "quick", "high", "max"]))),
        cache_preference=draw(st.one_of(st.none(), st.sampled_from(
            ["auto", "aggressive", "none"]))),
        purpose=draw(st.sampled_from(["turn", "continuation", "summary", "compaction"])),
    )


def _texts(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _dump(compiled: CompiledPrompt) -> str:
    return json.dumps(compiled.model_dump(), ensure_ascii=False, default=str)


def check_conversation_kept(name: str, conversation: Conversation,
                            compiled: CompiledPrompt) -> None:
    """Roles, order, text and tool-call pairing of ``conversation`` survive compiling."""
    before, after = conversation.messages, compiled.as_messages()
    assert [m.get("role") for m in after] == [m.get("role") for m in before], \
        f"{name} changed the roles or the order of the messages"
    for index, (old, new) in enumerate(zip(before, after)):
        assert _texts(old) in _texts(new), f"{name} lost the text of message {index}"
        old_ids = [c["id"] for c in old.get("tool_calls") or []]
        new_ids = [c.get("id") for c in new.get("tool_calls") or []]
        assert new_ids == old_ids, f"{name} changed the tool calls of message {index}"
        assert new.get("tool_call_id") == old.get("tool_call_id"), \
            f"{name} changed the tool_call_id of message {index}"
    # Every tool call is answered by a tool message right after its assistant turn,
    # and every tool message answers such a call.
    open_ids: list[str] = []
    for index, message in enumerate(after):
        if message.get("role") == "tool":
            assert message.get("tool_call_id") in open_ids, \
                f"{name}: tool result {index} does not follow its tool call"
            open_ids.remove(message["tool_call_id"])
            continue
        assert not open_ids, f"{name}: tool calls {open_ids} lost their results"
        open_ids = [c.get("id") for c in message.get("tool_calls") or []]
    assert not open_ids, f"{name}: tool calls {open_ids} lost their results"
    assert _canonical(compiled.tools) == _canonical(conversation.tools), \
        f"{name} changed or lost tool definitions in a conversation"


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

    def test_conversation_keeps_roles_order_pairs_and_tools(self) -> None:
        compilers = self._each()

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(conversation=conversation_strategy())
        def check(conversation: Conversation) -> None:
            for name, compiler in compilers:
                original = copy.deepcopy(conversation)
                compiled = compiler.compile_conversation(conversation)
                assert conversation == original, f"{name} mutated the conversation"
                check_conversation_kept(name, conversation, compiled)

        check()

    def test_conversation_output_is_deterministic(self) -> None:
        factories = list(self.compilers.items())
        assert factories, "set CompilerContract.compilers"

        @settings(max_examples=30, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(conversation=conversation_strategy())
        def check(conversation: Conversation) -> None:
            for name, factory in factories:
                compiler = factory()
                first = _dump(compiler.compile_conversation(copy.deepcopy(conversation)))
                again = _dump(compiler.compile_conversation(copy.deepcopy(conversation)))
                fresh = _dump(factory().compile_conversation(copy.deepcopy(conversation)))
                assert first == again == fresh, \
                    f"{name} compiled one conversation to different outputs"

        check()

    def test_conversations_sharing_a_prefix_share_a_compiled_prefix(self) -> None:
        compilers = self._each()

        @settings(max_examples=40, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(conversation=conversation_strategy(), data=st.data())
        def check(conversation: Conversation, data: Any) -> None:
            names = [t["function"]["name"] for t in conversation.tools or []] or None
            # The same run one step later: the history grew at the end, nothing else.
            later = copy.deepcopy(conversation)
            later.messages += data.draw(history_strategy(names))[1:] or \
                [{"role": "user", "content": "next"}]
            shared = len(conversation.messages)
            for name, compiler in compilers:
                now = compiler.compile_conversation(copy.deepcopy(conversation))
                then = compiler.compile_conversation(later)
                prefix = json.dumps(now.as_messages()[:shared], ensure_ascii=False)
                assert json.dumps(then.as_messages()[:shared],
                                  ensure_ascii=False) == prefix, \
                    f"{name}: a longer history changed the compiled prefix"
                assert json.dumps(then.tools, ensure_ascii=False) == \
                    json.dumps(now.tools, ensure_ascii=False), \
                    f"{name}: a longer history changed the tools"
                assert json.dumps(then.extra, sort_keys=True, default=str) == \
                    json.dumps(now.extra, sort_keys=True, default=str), \
                    f"{name}: a longer history changed the request parameters"

        check()

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
