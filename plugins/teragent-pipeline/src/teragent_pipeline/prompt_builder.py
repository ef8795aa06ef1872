"""Prompt construction from templates, with a token budget check.

``build_prompt`` fills ``str.format`` templates from a context dict;
``build_subagent_prompt`` lays out the brief a sub-agent gets (role, task,
constraints, files); ``validate_prompt_tokens`` checks messages against a budget with
the kernel's token estimate (the same one breakers and compaction use).
"""

from __future__ import annotations

import string
from typing import Any, Iterable, Mapping

from teragent.core.tap import estimate_tokens
from teragent.errors import UserError

__all__ = ["build_prompt", "build_subagent_prompt", "validate_prompt_tokens",
           "count_prompt_tokens"]


def _fill(template: str, context: Mapping[str, Any], which: str) -> str:
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    missing = sorted(n.split(".")[0].split("[")[0] for n in names
                     if n.split(".")[0].split("[")[0] not in context)
    if missing:
        raise UserError(f"the {which} template uses {{{missing[0]}}} but the context has no "
                        f"{missing[0]!r}; pass context={{{missing[0]!r}: ...}} (have: "
                        f"{', '.join(sorted(context)) or 'nothing'}).")
    return template.format(**context)


def build_prompt(system_template: str, context: Mapping[str, Any] | None = None, *,
                 user_template: str | None = None,
                 history: Iterable[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """Messages from templates: the system message, ``history``, then the user
    message (when ``user_template`` is given).

    Example::

        messages = build_prompt(
            system_template="You are {role}. Task: {task}",
            context={"role": "engineer", "task": "implement login"},
        )

    Raises:
        UserError: a template names a key the context lacks (the key is named).
    """
    ctx = dict(context or {})
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": _fill(system_template, ctx, "system")}]
    messages.extend(dict(m) for m in history)
    if user_template is not None:
        messages.append({"role": "user", "content": _fill(user_template, ctx, "user")})
    return messages


def build_subagent_prompt(role: str, task: str, *, context: str | None = None,
                          constraints: Iterable[str] = (),
                          files: Mapping[str, str] | None = None,
                          output_format: str | None = None) -> list[dict[str, Any]]:
    """The messages a sub-agent starts from: who it is and what it must deliver.

    Args:
        role: Its role (``"code reviewer"``).
        task: What to do.
        context: What it needs to know (the design, the plan).
        constraints: Rules its answer must follow.
        files: Existing files to show it (path → content).
        output_format: How to answer (e.g. ``<file path='...'>`` blocks).
    """
    if not role.strip() or not task.strip():
        raise UserError("build_subagent_prompt needs a role and a task, e.g. "
                        "build_subagent_prompt('engineer', 'implement login').")
    system = f"You are a {role}. Do exactly the task you are given and nothing else."
    if output_format:
        system += f"\nAnswer format: {output_format}"
    parts = [f"Task: {task}"]
    if context:
        parts.append(f"Context:\n{context}")
    rules = [c for c in constraints if c]
    if rules:
        parts.append("Constraints:\n" + "\n".join(f"- {c}" for c in rules))
    for path, content in (files or {}).items():
        parts.append(f"<file path='{path}'>\n{content}\n</file>")
    return [{"role": "system", "content": system},
            {"role": "user", "content": "\n\n".join(parts)}]


def count_prompt_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Estimated tokens of ``messages`` (content, tool calls, a few per message)."""
    total = 0
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = " ".join(str(p.get("text", "")) if isinstance(p, Mapping) else str(p)
                               for p in content)
        total += 4 + estimate_tokens(str(content or ""))
        for call in m.get("tool_calls") or []:
            total += estimate_tokens(str(call))
    return total


def validate_prompt_tokens(messages: Iterable[Mapping[str, Any]],
                           max_tokens: int) -> list[str]:
    """Problems with ``messages`` against a budget of ``max_tokens``; ``[]`` is fine.

    Reports an empty prompt, messages without a role, and a total over the budget
    (with the estimate and by how much).
    """
    msgs = list(messages)
    errors: list[str] = []
    if max_tokens <= 0:
        errors.append(f"max_tokens must be positive, got {max_tokens}")
    if not msgs:
        errors.append("the prompt has no messages")
    for i, m in enumerate(msgs):
        if not m.get("role"):
            errors.append(f"message {i} has no role")
    used = count_prompt_tokens(msgs)
    if max_tokens > 0 and used > max_tokens:
        errors.append(f"the prompt needs about {used} tokens, {used - max_tokens} over the "
                      f"budget of {max_tokens}; shorten the context or raise max_tokens")
    return errors
