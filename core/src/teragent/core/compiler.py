"""The compiler seam: TAPRequest → CompiledPrompt for one model family.

Adding a model family means adding a compiler; it never touches HTTP.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # the TAP IR (pydantic) loads with the first compile
    from teragent.core.tap import CompiledPrompt, TAPRequest

__all__ = ["TAPCompiler", "TAPCompilerRegistry", "Conversation"]

#: Why a model call is made; compilers may lay out a summary differently from a turn.
CallPurpose = Literal["turn", "continuation", "summary", "compaction"]


@dataclass
class Conversation:
    """One model call of a multi-turn run, before compilation.

    This is what an agent sends on every step: the whole history (OpenAI-shaped message
    dicts, the system message first, tool calls and tool results included), the tools on
    offer, and the per-call preferences. :meth:`TAPCompiler.compile_conversation` turns
    it into the vendor's prompt shape, exactly as :meth:`TAPCompiler.compile` does for a
    single-shot :class:`TAPRequest`.

    Attributes:
        messages: The history; never mutated by a compiler.
        tools: Tool schemas (OpenAI ``{"type": "function", ...}`` shape) or ``None``.
        thinking_mode: ``auto``/``quick``/``deep``/``high``/``max`` or ``None`` for the
            compiler's (driver's) default.
        cache_preference: ``auto``/``aggressive``/``none`` or ``None`` (= ``auto``).
        intent: The prompt catalog's intent (``chat`` for agent runs).
        purpose: Why this call is made (``turn``, ``continuation``, ``summary``,
            ``compaction``).
        extra: Caller-supplied request parameters (``temperature=...``); they win over
            what the compiler sets.
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    thinking_mode: str | None = None
    cache_preference: str | None = None
    intent: str = "chat"
    purpose: CallPurpose = "turn"
    extra: dict[str, Any] = field(default_factory=dict)


class TAPCompiler(ABC):
    """Turns a :class:`TAPRequest` into a :class:`CompiledPrompt`.

    Subclasses set ``name`` and ``compiler_type`` (the prompt catalog's column) and
    implement :meth:`compile`. Constructor keyword arguments (``variant=...``) come
    from the driver configuration.
    """

    name: ClassVar[str] = ""
    compiler_type: ClassVar[str] = "default"
    #: Whether compiled prompts may carry images/video (compilers that cannot must
    #: raise IncompatiblePromptError instead of dropping them).
    supports_multimodal: ClassVar[bool] = False

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def compile(self, request: TAPRequest) -> CompiledPrompt:
        """Compile ``request``; must keep instruction, constraints and tools."""

    def compile_conversation(self, conversation: Conversation) -> CompiledPrompt:
        """Compile one call of a multi-turn run (every model call of an agent).

        The default keeps the messages as they are and adds :meth:`conversation_extra`;
        family compilers override either. Contract (checked by the compiler contract
        suite): every message keeps its role and order, every tool call stays paired
        with its result, the tools are all offered, and the output depends only on the
        input (so two calls whose histories share a prefix share a compiled prefix).
        """
        from teragent.core.tap import CompiledPrompt

        extra = {**self.conversation_extra(conversation), **conversation.extra}
        return CompiledPrompt(messages=list(conversation.messages),
                              tools=conversation.tools or None, extra=extra)

    def conversation_extra(self, conversation: Conversation) -> dict[str, Any]:
        """Request parameters this family adds to a conversation call (thinking
        settings, cache hints); the default adds none."""
        return {}

    def get_system_prompt(self, intent: str) -> str:
        """The catalog's system prompt for ``intent`` and this compiler's type."""
        from teragent.core.prompts import get_system_prompt_for_intent

        return get_system_prompt_for_intent(intent, self.compiler_type)


class TAPCompilerRegistry:
    """Name → compiler class, filled by ``teragent_register_compilers`` hooks."""

    @staticmethod
    def get(name: str) -> type[TAPCompiler]:
        from teragent.plugins import get_host

        return get_host().registry("compilers").get(name)  # type: ignore[no-any-return]

    @staticmethod
    def create(name: str, **options: Any) -> TAPCompiler:
        return TAPCompilerRegistry.get(name)(**options)

    @staticmethod
    def register(name: str, cls: type[TAPCompiler] | str) -> None:
        from teragent.plugins import get_host

        get_host().registry("compilers").register(name, cls, plugin="(runtime)", replace=True)

    @staticmethod
    def list() -> list[str]:
        from teragent.plugins import get_host

        return get_host().registry("compilers").names()
