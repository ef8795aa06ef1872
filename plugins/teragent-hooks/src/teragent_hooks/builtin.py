"""Built-in hooks: ``AuditHook`` (the audit trail) and ``DangerousCommandHook``."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

from teragent.errors import redact
from teragent.hooks.base import Hook, HookDecision, HookResult

__all__ = ["AuditHook", "DangerousCommandHook", "redact_params", "read_audit_log"]

_SECRET_KEY = re.compile(r"(?i)(api[_-]?key|secret|token|password|passwd|authorization|"
                         r"credential|private[_-]?key|cookie)")


def redact_params(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of ``value`` with secret-named fields masked and secret-shaped strings
    redacted (:func:`teragent.errors.redact`)."""
    secrets = tuple(secrets)
    if isinstance(value, dict):
        return {k: ("***" if isinstance(k, str) and _SECRET_KEY.search(k) and v not in (None, "")
                    else redact_params(v, secrets)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_params(v, secrets) for v in value]
    if isinstance(value, str):
        return redact(value, secrets)
    return value


class AuditHook(Hook):
    """Appends one JSON line per tool-call attempt to ``path``.

    It handles ``post_execute`` (the call ran: ``"outcome": "executed"`` or
    ``"failed"``) and ``execute_denied`` (``"outcome": "denied"`` with the reason and
    the layer that refused). ``pre_execute`` is not needed: every attempt ends in
    exactly one of the other two. Parameters, results and reasons are redacted.

    The file is opened in append mode for every line (``O_APPEND``: concurrent writers
    never interleave within a line) and flushed; ``fsync=True`` also forces each line
    to disk. It is never truncated or rewritten by TerAgent.

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
        super().__init__(**kwargs)
        self.path = Path(path)
        self.secrets = tuple(secrets)
        self.max_field_chars = max_field_chars
        self.fsync = fsync
        self._lock = threading.Lock()

    def _cut(self, value: Any) -> Any:
        if isinstance(value, str) and len(value) > self.max_field_chars:
            return value[: self.max_field_chars] + f"...[{len(value)} chars]"
        if isinstance(value, dict):
            return {k: self._cut(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._cut(v) for v in value]
        return value

    def record(self, event: str, context: dict[str, Any]) -> dict[str, Any]:
        """The line written for ``event`` (also useful to tests)."""
        entry: dict[str, Any] = {
            "ts": time.time(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tool_name": context.get("tool_name", ""),
            "tool_call_id": context.get("tool_call_id", ""),
            "params": context.get("params", {}),
        }
        if event == "execute_denied":
            entry["outcome"] = "denied"
            entry["reason"] = str(context.get("reason", ""))
            entry["source"] = str(context.get("source", ""))
        else:
            result = context.get("result")
            ok = bool(getattr(result, "success", True))
            entry["outcome"] = "executed" if ok else "failed"
            if not ok:
                entry["error"] = str(getattr(result, "error", "") or "")
        for key in ("agent", "run_id", "safety"):
            if context.get(key):
                entry[key] = context[key]
        return self._cut(redact_params(entry, self.secrets))  # type: ignore[no-any-return]

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    async def run(self, event: str, context: dict[str, Any]) -> HookResult:
        if event in ("post_execute", "execute_denied"):
            self.write(self.record(event, context))
        return HookResult.allow()

    async def observe(self, outcome: Any) -> None:
        """As an observer of a guard chain: one line per attempt (see
        :mod:`teragent.guards`); a nested run's attempts carry ``depth``."""
        call = outcome.call
        context: dict[str, Any] = {"tool_name": call.name, "tool_call_id": call.id,
                                   "params": call.arguments}
        if outcome.metadata.get("refused"):
            event = "execute_denied"
            context.update(reason=outcome.metadata.get("reason", ""),
                           source=outcome.metadata.get("source", ""))
        else:
            event = "post_execute"
            context.update(result=outcome.result, safety=outcome.result.safety.value)
        from teragent.runtime import current_runtime

        runtime = current_runtime()
        entry = self.record(event, context)
        if runtime is not None and runtime.depth:
            entry["depth"] = runtime.depth
        self.write(entry)


def read_audit_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of an audit log, oldest first."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]


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
