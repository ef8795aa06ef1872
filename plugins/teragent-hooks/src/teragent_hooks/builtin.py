"""Built-in hooks: ``AuditHook`` (the audit trail) and ``DangerousCommandHook``."""

from __future__ import annotations

import fnmatch
import os
from typing import Any, Callable, Iterable

from teragent.audit import AuditLog, read_audit_log, redact_params
from teragent_hooks.base import Hook, HookDecision, HookResult

__all__ = ["AuditHook", "DangerousCommandHook", "redact_params", "read_audit_log"]


class AuditHook(Hook, AuditLog):
    """The kernel's :class:`~teragent.audit.AuditLog` as a hook: one JSON line per
    tool-call attempt.

    It handles ``post_execute`` (the call ran: ``"outcome": "executed"`` or
    ``"failed"``) and ``execute_denied`` (``"outcome": "denied"`` with the reason and
    the layer that refused). ``pre_execute`` is not needed: every attempt ends in
    exactly one of the other two. An ``audit`` hook in ``[[hooks]]`` replaces the
    audit log the composition root would add.

    Args:
        path: The JSONL file; parent directories are created.
        secrets: Exact secret values to scrub as well (e.g. resolved API keys).
        max_field_chars: Longer strings in the record are cut.
        fsync: fsync after each line.
    """

    events = ("post_execute", "execute_denied")

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = (),
                 max_field_chars: int = 4000, fsync: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("name", "audit")
        kwargs.setdefault("fail_open", True)
        Hook.__init__(self, **kwargs)
        AuditLog.__init__(self, path, secrets=secrets, max_field_chars=max_field_chars,
                          fsync=fsync)

    async def run(self, event: str, context: dict[str, Any]) -> HookResult:
        if event in ("post_execute", "execute_denied"):
            self.write(self.record(event, context))
        return HookResult.allow()


CommandCheck = Callable[[str], Any]


class DangerousCommandHook(Hook):
    """Denies shell commands that a registered command checker refuses.

    The checkers are whatever plugins registered through
    ``teragent_register_command_checks`` (``teragent-shellguard`` registers the
    six-layer defense); each is called as ``check(command)`` and answers
    ``(allowed, reason, warnings)`` (or ``(allowed, reason)``). Any refusal denies.

    Args:
        checks: ``{name: check}`` to use instead of the plugin registry.
        tools: Tool-name globs whose calls carry commands (default: common shell tools).
        param_keys: Parameters that hold the command.
        require_checker: With no checker available, deny every command (default) rather
            than let it through unchecked.
    """

    def __init__(self, *, checks: dict[str, CommandCheck] | None = None,
                 tools: Iterable[str] = ("bash", "shell", "sh", "run_command", "execute_command",
                                         "terminal", "powershell", "cmd"),
                 param_keys: Iterable[str] = ("command", "cmd", "script"),
                 require_checker: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("name", "dangerous_command")
        super().__init__(**kwargs)
        self._checks = checks
        self.tools = tuple(tools)
        self.param_keys = tuple(param_keys)
        self.require_checker = require_checker

    def checks(self) -> dict[str, CommandCheck]:
        if self._checks is not None:
            return dict(self._checks)
        from teragent.plugins import get_host

        reg = get_host().registry("command_checks")
        return {name: reg.entry(name).resolve() for name in reg.names()}

    def command_of(self, tool_name: str, params: dict[str, Any]) -> str | None:
        if not any(fnmatch.fnmatchcase(tool_name, t) for t in self.tools):
            return None
        for key in self.param_keys:
            value = params.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return " ".join(value)
        return None

    def check_command(self, command: str) -> tuple[bool, str, list[str]]:
        """Run every checker; the first refusal wins (the same logic as the guard
        chain's :class:`~teragent.guards.CommandGuard`)."""
        from teragent.guards import CommandGuard

        return CommandGuard(self.checks(), require_checker=self.require_checker
                            ).check_command(command)

    async def run(self, event: str, context: dict[str, Any]) -> HookResult:
        params = context.get("params") or {}
        command = self.command_of(str(context.get("tool_name", "")), params)
        if command is None:
            return HookResult.allow()
        allowed, reason, _warnings = self.check_command(command)
        if not allowed:
            return HookResult(HookDecision.DENY, f"dangerous command blocked: {reason}")
        return HookResult.allow()
