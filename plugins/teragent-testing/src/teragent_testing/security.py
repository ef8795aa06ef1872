"""Reusable fixtures for "is every tool-call path guarded?" tests.

One :func:`security_fixture` gives a test a DESTRUCTIVE tool that records whether it
ever ran, a read-only tool, a :class:`~teragent.tools.ToolRegistry` holding both, an
audit log (an :class:`~teragent.hooks.AuditHook` in a
:class:`~teragent.hooks.HookManager`) and the default permission manager (the
``teragent-permissions`` plugin's when installed, else ``None``: the kernel
SafetyGate). Any new path a tool call can take (AgentLoop, ToolOrchestrator,
orchestration patterns, handoffs, MCP, services) gets the same test::

    fx = security_fixture(tmp_path)
    ...run fx.call() through the new path with fx.registry, fx.hook_manager and
    fx.permission_manager...
    fx.assert_blocked_and_audited()
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teragent.core.types import ToolSafety
from teragent.hooks import AuditHook, HookManager, read_audit_log
from teragent.tools.base import BaseTool, ToolResult
from teragent.tools.registry import ToolRegistry

__all__ = ["DestructiveTool", "PeekTool", "SecurityFixture", "security_fixture",
           "default_permission_manager"]


class DestructiveTool(BaseTool):
    """Pretends to wipe a directory; records every time it actually runs."""

    name = "wipe_directory"
    description = "Delete a directory and everything in it"
    parameters_schema = {"type": "object", "properties": {"path": {"type": "string"}},
                         "required": ["path"], "additionalProperties": False}
    _safety = ToolSafety.DESTRUCTIVE

    def __init__(self) -> None:
        self.ran: list[dict[str, Any]] = []

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        self.ran.append(dict(params))
        return ToolResult(data=f"wiped {params['path']}", safety=self._safety)


class PeekTool(BaseTool):
    """A harmless read-only tool (calls to it should go through)."""

    name = "peek"
    description = "Look at a path"
    parameters_schema = {"type": "object", "properties": {"path": {"type": "string"}},
                         "required": ["path"], "additionalProperties": False}
    _safety = ToolSafety.READ_ONLY
    _concurrency_safe = True

    def __init__(self) -> None:
        self.ran: list[dict[str, Any]] = []

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        self.ran.append(dict(params))
        return ToolResult(data=f"looked at {params['path']}")


def default_permission_manager(workspace: str | os.PathLike[str]) -> Any:
    """What an AgentLoop would use by default here: the permissions plugin's manager
    when it is installed and loaded in the current plugin host, else ``None``."""
    from teragent.config.agent_loop_config import AgentLoopConfig
    from teragent.plugins import get_host

    return get_host().hook.teragent_default_permission_manager(
        config={}, loop_config=AgentLoopConfig(), workspace=os.fspath(workspace))


@dataclass
class SecurityFixture:
    workspace: Path
    destructive: DestructiveTool
    peek: PeekTool
    registry: ToolRegistry
    audit_path: Path
    audit: AuditHook
    hook_manager: HookManager
    permission_manager: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def call(self, path: str = "important") -> dict[str, Any]:
        """An OpenAI-shaped call of the destructive tool."""
        return {"id": "call_wipe", "name": self.destructive.name, "arguments": {"path": path}}

    def records(self) -> list[dict[str, Any]]:
        return read_audit_log(self.audit_path)

    def assert_blocked_and_audited(self) -> dict[str, Any]:
        """The destructive tool never ran and the audit log has its refusal; returns
        that audit record."""
        assert self.destructive.ran == [], f"the destructive tool ran: {self.destructive.ran}"
        denied = [r for r in self.records()
                  if r["tool_name"] == self.destructive.name and r["outcome"] == "denied"]
        assert denied, f"no denial in the audit log {self.audit_path}: {self.records()}"
        return denied[-1]


def security_fixture(workspace: str | os.PathLike[str], *,
                     permission_manager: Any = "default") -> SecurityFixture:
    """Build the fixture in ``workspace`` (a temporary directory).

    Args:
        permission_manager: ``"default"`` (what an AgentLoop would pick:
            :func:`default_permission_manager`), ``None``, or a manager to use.
    """
    root = Path(workspace)
    destructive, peek = DestructiveTool(), PeekTool()
    registry = ToolRegistry()
    registry.register(destructive)
    registry.register(peek)
    audit_path = root / ".teragent" / "audit.jsonl"
    audit = AuditHook(audit_path)
    hooks = HookManager()
    hooks.register_hook(None, audit)
    if permission_manager == "default":
        permission_manager = default_permission_manager(root)
    return SecurityFixture(root, destructive, peek, registry, audit_path, audit, hooks,
                           permission_manager)
