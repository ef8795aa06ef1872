"""Hooks around every tool call: ``HookManager`` and the hooks it runs.

The documented ``from teragent.hooks import HookManager, HookDecision`` imports this
module (:data:`teragent.moved.MOVED`) — see :mod:`teragent_hooks.base` for the events and
how decisions combine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from teragent_hooks.base import (
    HOOK_EVENTS,
    Hook,
    HookDecision,
    HookManager,
    HookResult,
    PythonHook,
)
from teragent_hooks.builtin import AuditHook, DangerousCommandHook, read_audit_log, redact_params
from teragent_hooks.guard import user_hooks_guard
from teragent_hooks.shell import ShellHook

__all__ = ["HookManager", "HookDecision", "HookResult", "Hook", "PythonHook", "ShellHook",
           "AuditHook", "DangerousCommandHook", "HOOK_EVENTS", "build_hook_manager",
           "read_audit_log", "redact_params", "user_hooks_guard"]


def build_hook_manager(config: Any, workspace: str | os.PathLike[str] | None = None, *,
                       default_audit: bool = False,
                       default_command_check: bool = False) -> HookManager:
    """A :class:`HookManager` with the hooks ``config`` declares.

    Args:
        config: A :class:`~teragent_hooks.config.HooksConfig`, or a loaded
            ``agent.toml`` dict (its ``[[hooks]]`` and ``[audit]`` tables are read).
        workspace: Relative paths (audit logs, shell hook working directory) are taken
            from here (default: the current directory).
        default_audit: Add an :class:`AuditHook` writing ``config.audit_log`` when no
            ``audit`` hook is configured (the CLI does this).
        default_command_check: Add a :class:`DangerousCommandHook` when none is
            configured and a plugin registered a command checker (the CLI does this).
    """
    from teragent.registry import import_string
    from teragent_hooks.config import HooksConfig

    cfg = config if isinstance(config, HooksConfig) else HooksConfig.from_config(config or {})
    root = Path(workspace or os.getcwd())
    manager = HookManager()
    have_audit = have_command_check = False
    for h in cfg.hooks:
        common: dict[str, Any] = {"matcher": h.matcher, "timeout": h.timeout}
        if h.name:
            common["name"] = h.name
        hook: Hook
        if h.type == "audit":
            have_audit = True
            path = root / (h.path or cfg.audit_log or ".teragent/audit.jsonl")
            hook = AuditHook(path, fsync=h.fsync, **common)
        elif h.type == "dangerous_command":
            have_command_check = True
            hook = DangerousCommandHook(fail_open=h.fail_open, **common)
        elif h.type == "python":
            hook = PythonHook(import_string(h.callable or ""), fail_open=h.fail_open, **common)
        else:
            hook = ShellHook(h.command or "", cwd=str(root), env=h.env,
                             fail_open=h.fail_open, **common)
        manager.register_hook(h.event, hook)
    if default_command_check and not have_command_check:
        from teragent.plugins import get_host

        if get_host().registry("command_checks").names():
            manager.register_hook("pre_execute", DangerousCommandHook())
    if default_audit and not have_audit and cfg.audit_log:
        manager.register_hook(None, AuditHook(root / cfg.audit_log))
    return manager
