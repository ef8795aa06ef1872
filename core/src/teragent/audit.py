"""The audit log: one redacted JSON line per tool-call attempt.

The composition root (:mod:`teragent.compose`) always adds an :class:`AuditLog` as an
observer of the guard chain, unless something else already audits (an ``audit`` user
hook of ``teragent-hooks``, or ``[audit] enabled = false``). Its path comes from the
``[audit]`` table of ``agent.toml``::

    [audit]
    path = ".teragent/audit.jsonl"   # relative to the workspace (the default)
    enabled = true                   # false: no audit log

Every attempt ends in exactly one line: ``"outcome": "executed"`` or ``"failed"`` (the
tool ran) or ``"denied"`` (with the reason and the guard that refused). Secret-named
fields and secret-shaped strings are redacted (:func:`teragent.secrets.redact_fields`),
and so are the values of a tool's sensitive parameters (``BaseTool.sensitive_params``:
``"[redacted: N chars]"``).
The file is opened in append mode for every line (``O_APPEND``: concurrent writers
never interleave within a line); TerAgent never truncates or rewrites it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from teragent.secrets import redact_arguments, redact_fields

__all__ = ["AuditLog", "DEFAULT_AUDIT_LOG", "audit_log_path", "audits", "read_audit_log",
           "redact_params"]

DEFAULT_AUDIT_LOG = ".teragent/audit.jsonl"
#: The events whose contexts :meth:`AuditLog.record` turns into lines.
AUDITED_EVENTS = ("post_execute", "execute_denied")

redact_params = redact_fields


def audit_log_path(config: Mapping[str, Any]) -> str:
    """The ``[audit]`` table's log path, relative to the workspace; ``""`` when the
    audit log is off (``enabled = false`` or ``path = ""``)."""
    table = config.get("audit") or {}
    if not isinstance(table, Mapping):
        return DEFAULT_AUDIT_LOG
    if table.get("enabled") is False:
        return ""
    if "path" in table:
        return str(table.get("path") or "")
    return DEFAULT_AUDIT_LOG


class AuditLog:
    """Appends one JSON line per tool-call attempt to ``path``.

    As an observer of a guard chain (:meth:`observe`) it sees every attempt once;
    :meth:`record` and :meth:`write` serve hook-shaped callers (``post_execute`` and
    ``execute_denied`` contexts).

    Args:
        path: The JSONL file; parent directories are created.
        secrets: Exact secret values to scrub as well (e.g. resolved API keys).
        max_field_chars: Longer strings in the record are cut.
        fsync: fsync after each line.
    """

    def __init__(self, path: str | os.PathLike[str], *, secrets: Iterable[str] = (),
                 max_field_chars: int = 4000, fsync: bool = False) -> None:
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

    def record(self, event: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """The line written for ``event`` (``post_execute`` or ``execute_denied``)."""
        entry: dict[str, Any] = {
            "ts": time.time(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tool_name": context.get("tool_name", ""),
            "tool_call_id": context.get("tool_call_id", ""),
            # sensitive tool arguments (BaseTool.sensitive_params) show their length only
            "params": redact_arguments(str(context.get("tool_name", "")),
                                       context.get("params", {})),
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
        return self._cut(redact_fields(entry, self.secrets))  # type: ignore[no-any-return]

    def write(self, entry: Mapping[str, Any]) -> None:
        """Append ``entry`` as one line."""
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


def audits(obj: Any) -> bool:
    """Whether ``obj`` writes an audit log already: an :class:`AuditLog`, a hook
    manager holding one (``hooks(event)``), or a guard wrapping such a manager
    (``.manager``). The composition root then adds no second one."""
    if obj is None:
        return False
    if isinstance(obj, AuditLog):
        return True
    hooks = getattr(obj, "hooks", None)
    if callable(hooks):
        try:
            if any(isinstance(h, AuditLog) for e in AUDITED_EVENTS for h in hooks(e)):
                return True
        except (TypeError, ValueError, KeyError):
            pass
    manager = getattr(obj, "manager", None)
    return manager is not None and manager is not obj and audits(manager)


def read_audit_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of an audit log, oldest first."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]
