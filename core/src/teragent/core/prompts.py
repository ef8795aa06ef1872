"""The system-prompt catalog: (intent, compiler type) → system prompt.

Intents: design, plan, replan, execute, review, chat, chat_friendly, sub_agent, and
``code_generation`` (an alias of ``execute``). Plugins add intents and compiler types
through ``teragent_register_prompts``; the kernel's own prompts register the same way.
"""

from __future__ import annotations

from teragent.errors import UnknownComponentError

__all__ = ["get_system_prompt_for_intent", "list_intents", "list_compiler_types",
           "INTENT_ALIASES"]

INTENT_ALIASES = {"code_generation": "execute"}


def _prompts() -> dict[tuple[str, str], str]:
    from teragent.plugins import get_host

    reg = get_host().registry("prompts")
    out: dict[tuple[str, str], str] = {}
    for name in reg.names():
        entry = reg.entry(name)
        out[(entry.options["intent"], entry.options["compiler_type"])] = entry.resolve()
    return out


def list_intents() -> list[str]:
    """Every known intent, aliases included."""
    intents = {i for i, _ in _prompts()} | set(INTENT_ALIASES)
    return sorted(intents)


def list_compiler_types() -> list[str]:
    """Every compiler type that has at least one prompt."""
    return sorted({c for _, c in _prompts()})


def get_system_prompt_for_intent(intent: str, compiler_type: str = "default") -> str:
    """The system prompt for ``intent``; falls back to the ``default`` compiler type."""
    intent = INTENT_ALIASES.get(intent, intent)
    prompts = _prompts()
    if (intent, compiler_type) in prompts:
        return prompts[(intent, compiler_type)]
    if (intent, "default") in prompts:
        return prompts[(intent, "default")]
    raise UnknownComponentError("intent", intent, {i for i, _ in prompts} | set(INTENT_ALIASES))
