"""The ``teragent_register_tool_guards`` factory of this plugin, kept apart from the
hook machinery so that an agent without ``[[hooks]]`` imports nothing more."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["user_hooks_guard"]


def user_hooks_guard(*, config: Any, loop_config: Any = None,
                     workspace: str | None = None) -> Any:
    """The ``teragent_register_tool_guards`` factory: the ``[[hooks]]`` of ``config``
    as one guard (``pre_execute`` hooks) that also observes (``post_execute`` and
    ``execute_denied`` hooks); ``None`` when ``agent.toml`` declares no hooks."""
    if isinstance(config, Mapping) and not config.get("hooks"):
        return None  # no [[hooks]]: skip importing the hook machinery and its models
    from teragent.guards import HookManagerGuard
    from teragent_hooks.api import HOOK_EVENTS, build_hook_manager

    manager = build_hook_manager(config, workspace)
    if not any(manager.hooks(e) for e in HOOK_EVENTS):
        return None
    return HookManagerGuard(manager)
