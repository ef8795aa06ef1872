"""Tool policies and profiles (004): which tools a conversation's agent gets, and how
many tool calls one turn may make.

A policy is a profile (``minimal``, ``coding``, ``messaging``, ``full``), narrowed by
``allowed_tools`` (when given, only those) and ``denied_tools`` (never those), plus
``max_tool_calls_per_turn``. Tools outside the policy are not offered to the model,
and :class:`ToolPolicyGuard` (in the conversation's guard chain) refuses a call to
them anyway and refuses calls past the per-turn limit.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from teragent.errors import UserError

__all__ = ["PROFILES", "ToolPolicy", "ToolPolicyGuard"]

_READ = ["read_file", "list_directory", "glob", "grep"]
_WEB = ["http_get", "fetch_url", "web_search", "web_fetch"]
_MEMORY = ["memory_*"]
_THINK = ["think", "list_skills", "read_skill"]
_TEAM = ["send_message", "read_inbox", "broadcast", "list_teammates", "spawn_teammate",
         "shutdown_request", "check_protocol", "plan_review"]

#: Profile → tool-name patterns. ``full`` is everything.
PROFILES: dict[str, list[str] | None] = {
    "minimal": ["read_file", *_WEB, "memory_search", "memory_get", *_THINK],
    "coding": [*_READ, "write_file", "edit_file", "bash", "background_run",
               "check_background", "task", "task_create", "task_get", "task_update",
               "task_list", *_WEB, *_MEMORY, *_THINK],
    "messaging": ["read_file", *_TEAM, "sessions_*", *_WEB, *_MEMORY, *_THINK],
    "full": None,
}


@dataclass
class ToolPolicy:
    profile: str = "full"
    allowed_tools: list[str] | None = None
    denied_tools: list[str] = field(default_factory=list)
    max_tool_calls_per_turn: int | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise UserError(f"unknown tool profile {self.profile!r}; choose one of "
                            f"{', '.join(PROFILES)}.")
        if self.max_tool_calls_per_turn is not None and self.max_tool_calls_per_turn < 1:
            raise UserError("max_tool_calls_per_turn must be at least 1 (or left out).")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def permits(self, name: str) -> bool:
        profile = PROFILES[self.profile]
        if profile is not None and not any(fnmatch.fnmatchcase(name, p) for p in profile):
            return False
        if self.allowed_tools is not None and not any(
                fnmatch.fnmatchcase(name, p) for p in self.allowed_tools):
            return False
        return not any(fnmatch.fnmatchcase(name, p) for p in self.denied_tools)

    def choose(self, names: Iterable[str]) -> list[str]:
        return [n for n in names if self.permits(n)]


class ToolPolicyGuard:
    """Refuses calls outside the policy and past the per-turn limit (a guard of the
    conversation's chain; :meth:`new_turn` resets the count)."""

    name = "tool_policy"

    def __init__(self, policy: ToolPolicy) -> None:
        self.policy = policy
        self.calls = 0

    def new_turn(self) -> None:
        self.calls = 0

    async def check(self, call: Any, tool: Any) -> Any:
        from teragent.guards import GuardDecision

        if not self.policy.permits(call.name):
            return GuardDecision(False, f"{call.name} is not allowed by this conversation's "
                                 f"tool policy (profile {self.policy.profile!r})",
                                 source=self.name)
        limit = self.policy.max_tool_calls_per_turn
        if limit is not None:
            self.calls += 1
            if self.calls > limit:
                return GuardDecision(False, f"this turn reached its limit of {limit} tool "
                                     "calls; answer with what you have", source=self.name)
        return None
