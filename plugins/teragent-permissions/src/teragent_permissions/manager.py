"""``EnhancedPermissionManager``: the seven permission layers behind one check.

Layers 1-4 are rules by source (user 100, config 60, project 50, system 10), layer 5
the permission level, layer 6 the AI classifier (async only, consultative), layer 7
the default effect (DENY). Third-party layers registered through
``teragent_register_permission_layers`` join the same stack by priority; see
:mod:`teragent_permissions.layers` for the protocol and how answers combine.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
from collections import deque
from typing import Any, Iterable, Mapping

from teragent.core.types import ToolSafety

from teragent_permissions.classifier import ModelClassifier
from teragent_permissions.decision import Decider, _Layer
from teragent_permissions.rulebook import RuleBook
from teragent_permissions.rules import PermissionEffect, PermissionLevel, PermissionRule

__all__ = ["EnhancedPermissionManager", "PATH_KEYS", "extract_paths"]

logger = logging.getLogger("teragent_permissions")

#: Parameters read as paths (a list under ``paths``/``files`` is read item by item).
PATH_KEYS = ("path", "file_path", "filepath", "file", "filename", "notebook_path",
             "directory", "dir", "cwd", "workdir", "destination", "dest", "src", "dst",
             "old_path", "new_path", "from_path", "to_path")
_LIST_KEYS = ("paths", "files", "file_paths")


def extract_paths(params: Mapping[str, Any]) -> list[str]:
    """Every path-like argument of a tool call, in a stable order."""
    found: list[str] = []
    if not isinstance(params, Mapping):
        return found
    for key in PATH_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value:
            found.append(value)
    for key in _LIST_KEYS:
        value = params.get(key)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, str) and item:
                    found.append(item)
                elif isinstance(item, Mapping):
                    found.extend(extract_paths(item))
    return found


class EnhancedPermissionManager(RuleBook, Decider):
    """Decides whether a tool call may run.

    Args:
        default_level: The level the session starts at and :meth:`deactivate` returns to.
        default_effect: Layer 7: what happens when no layer decided (DENY).
        ai_classifier: Layer 6: a :class:`~teragent_permissions.classifier.ModelClassifier`,
            anything with ``async classify(tool_name, params, context)``, or a
            ModelProvider (wrapped in a ModelClassifier).
        workspace: Relative paths in calls and rules are taken from here (default:
            the current directory at check time).
        rules: Extra rules to add.
        include_default_rules: Add :meth:`default_rules` (system source).
        ask_handler: Decides ASK answers in the async checks: an
            :class:`~teragent_permissions.approval.ApprovalGate` (``ask``) or an async
            callable ``(tool_name, params, reason) -> bool``. Without one, ASK denies.
        tools: A ToolRegistry (or ``{name: ToolSafety}``) to learn tool safety from.
        use_plugin_layers: Also consult layers other plugins registered.
    """

    def __init__(
        self,
        default_level: PermissionLevel | str = PermissionLevel.DEFAULT,
        default_effect: PermissionEffect | str = PermissionEffect.DENY,
        ai_classifier: Any = None,
        *,
        workspace: str | os.PathLike[str] | None = None,
        rules: Iterable[PermissionRule] = (),
        include_default_rules: bool = True,
        ask_handler: Any = None,
        tools: Any = None,
        use_plugin_layers: bool = True,
    ) -> None:
        self.default_level = PermissionLevel.parse(default_level)
        self.default_effect = PermissionEffect(getattr(default_effect, "value", default_effect))
        self.ai_classifier = self._wrap_classifier(ai_classifier)
        self.workspace = os.fspath(workspace) if workspace is not None else None
        self.include_default_rules = include_default_rules
        self.ask_handler = ask_handler
        self.use_plugin_layers = use_plugin_layers
        self._level = self.default_level
        self._level_stack: list[PermissionLevel] = []
        self._rules: list[PermissionRule] = []
        self._sorted_rules: list[PermissionRule] | None = None  # reset on every change
        self._safety: dict[str, ToolSafety] = {}
        self._tools = None
        self._lock = threading.RLock()
        self._layers_cache: tuple[int, list[_Layer]] | None = None
        self._stats = {"allowed": 0, "denied": 0, "asked": 0}
        self._recent: deque[dict[str, Any]] = deque(maxlen=50)
        if include_default_rules:
            self.add_rules(self.default_rules())
        self.add_rules(rules)
        if tools is not None:
            self.bind_tools(tools)

    # --- construction helpers -----------------------------------------------------------

    @staticmethod
    def _wrap_classifier(classifier: Any) -> Any:
        if classifier is None or hasattr(classifier, "classify"):
            return classifier
        if hasattr(classifier, "complete"):
            return ModelClassifier(classifier)
        raise TypeError("ai_classifier must have classify(tool_name, params, context) or be "
                        "a ModelProvider")

    @classmethod
    def from_settings(cls, config: Mapping[str, Any] | None = None, *,
                      allow_writes: bool = False, allow_shell: bool = False,
                      allow_destructive: bool = False,
                      workspace: str | os.PathLike[str] | None = None,
                      **kwargs: Any) -> EnhancedPermissionManager:
        """The manager a run uses: defaults, the run's flags as system grants, and the
        ``[permission]`` table of ``config``."""
        epm = cls(workspace=workspace, include_default_rules=False, **kwargs)
        rules = [r for r in epm.default_rules()
                 if not (allow_destructive and ToolSafety.DESTRUCTIVE in r.safety
                         and r.effect == PermissionEffect.DENY)]
        grants = [(allow_writes, ToolSafety.SAFE_WRITE, "--allow-writes"),
                  (allow_shell, ToolSafety.HIGH_RISK, "--allow-shell"),
                  (allow_destructive, ToolSafety.DESTRUCTIVE, "allow_destructive")]
        for on, safety, flag in grants:
            if on:
                rules.append(PermissionRule(PermissionEffect.ALLOW, "*", "",
                                            f"{safety.value} tools allowed ({flag})",
                                            "system", (safety,)))
        epm.add_rules(rules)
        epm._flag_rules = list(rules)  # type: ignore[attr-defined]
        if config:
            epm.load_from_config(config)
        return epm

    # --- levels ----------------------------------------------------------------------------

    @property
    def level(self) -> PermissionLevel:
        return self._level

    def elevate(self, new_level: PermissionLevel | str) -> PermissionLevel:
        """Switch to ``new_level`` until :meth:`deactivate`; returns the previous level."""
        with self._lock:
            previous = self._level
            self._level_stack.append(previous)
            self._level = PermissionLevel.parse(new_level)
            return previous

    def deactivate(self) -> None:
        """Back to the default level."""
        with self._lock:
            self._level = self.default_level
            self._level_stack.clear()

    def set_level(self, level: PermissionLevel | str) -> None:
        with self._lock:
            self._level = PermissionLevel.parse(level)

    # --- tool safety ---------------------------------------------------------------------

    def note_tool_safety(self, tool_name: str, safety: ToolSafety | str) -> None:
        """Record a tool's safety level (the ToolOrchestrator calls this per call)."""
        self._safety[tool_name] = ToolSafety(getattr(safety, "value", safety))

    def bind_tools(self, tools: Any) -> None:
        if isinstance(tools, Mapping):
            for name, safety in tools.items():
                self.note_tool_safety(name, safety)
            return
        self._tools = tools

    def tool_safety(self, tool_name: str) -> ToolSafety | None:
        """The safety level of ``tool_name``; ``None`` when unknown (treated as not
        read-only by every layer)."""
        if tool_name in self._safety:
            return self._safety[tool_name]
        if self._tools is not None:
            tool = self._tools.find(tool_name) if hasattr(self._tools, "find") else None
            if tool is not None:
                return ToolSafety(tool.safety)
        try:
            from teragent.plugins import get_host

            reg = get_host().registry("tools")
            if tool_name in reg.names():
                target = reg.entry(tool_name).resolve()
                safety = getattr(target, "_safety", None) if isinstance(target, type) \
                    else getattr(target, "safety", None)
                if safety is not None:
                    return ToolSafety(getattr(safety, "value", safety))
        except Exception as exc:  # noqa: BLE001 - unknown stays unknown (conservative)
            logger.debug("cannot look up the safety of %s: %s", tool_name, exc)
        return None

    # --- checking (the decision itself: teragent_permissions.decision) -----------------

    def check(self, tool_name: str, path: str = "") -> tuple[bool, str]:
        """Layers 1-5 and 7 (no classifier; ASK denies). Returns ``(allowed, reason)``."""
        return self._check_sync(tool_name, [path] if path else [], {})

    def check_tool_params(self, tool_name: str, params: Mapping[str, Any], *,
                          paths: list[str] | None = None) -> tuple[bool, str]:
        """:meth:`check` with the paths of the call: ``paths`` as the tool declares them
        (what the kernel's guard passes), else guessed from parameter names."""
        return self._check_sync(tool_name, extract_paths(params) if paths is None else paths,
                                dict(params or {}))

    def _check_sync(self, tool_name: str, paths: list[str],
                    params: dict[str, Any]) -> tuple[bool, str]:
        contexts, error = self._contexts(tool_name, paths, "", False)
        if error:
            self._record(tool_name, paths, "deny", error)
            return False, error
        results = []
        for ctx in contexts:
            result = self._decide_sync_one(params, ctx)
            results.append(result)
            if result[0] == PermissionEffect.DENY:
                break
        return self._finish(tool_name, paths, results)

    async def acheck(self, tool_name: str, path: str = "", context: str = "") -> tuple[bool, str]:
        """All seven layers, including the AI classifier and an ask handler."""
        return await self._check_async(tool_name, [path] if path else [], {}, context)

    async def acheck_tool_params(self, tool_name: str, params: Mapping[str, Any],
                                 context: str = "", *,
                                 paths: list[str] | None = None) -> tuple[bool, str]:
        """:meth:`acheck` with the paths of the call (see :meth:`check_tool_params`)."""
        return await self._check_async(
            tool_name, extract_paths(params) if paths is None else paths,
            dict(params or {}), context)

    async def _check_async(self, tool_name: str, paths: list[str], params: dict[str, Any],
                           context: str) -> tuple[bool, str]:
        contexts, error = self._contexts(tool_name, paths, context, True)
        if error:
            self._record(tool_name, paths, "deny", error)
            return False, error
        results = []
        for ctx in contexts:
            result = await self._decide_async_one(params, ctx)
            results.append(result)
            if result[0] == PermissionEffect.DENY:
                break
        asks = [r for r in results if r[0] == PermissionEffect.ASK]
        if asks and self.ask_handler is not None and \
                all(r[0] != PermissionEffect.DENY for r in results):
            approved = await self._ask(tool_name, params, asks[0][1])
            verdict = "approved" if approved else "rejected"
            results = [(PermissionEffect.ALLOW if approved else PermissionEffect.DENY,
                        f"{asks[0][1]}; {verdict} by a human")]
        return self._finish(tool_name, paths, results)

    def may_allow(self, tool_name: str) -> bool:
        """Whether some call of ``tool_name`` could be allowed (used to decide which
        tools to offer a model). ``False`` only when neither a rule nor the level can
        ever allow it."""
        safety = self.tool_safety(tool_name)
        ok, _ = self.check(tool_name)
        if ok:
            return True
        level = self._level
        if level == PermissionLevel.PLAN and safety != ToolSafety.READ_ONLY:
            return False
        return any(r.effect != PermissionEffect.DENY and not r.any_path
                   and fnmatch.fnmatchcase(tool_name, r.tool_pattern)
                   and (not r.safety or safety in r.safety) for r in self.rules) \
            or (self.ask_handler is not None)

    # --- reporting --------------------------------------------------------------------

    def get_status_report(self) -> dict[str, Any]:
        by_source: dict[str, int] = {}
        for rule in self.rules:
            by_source[rule.source] = by_source.get(rule.source, 0) + 1
        return {
            "level": self._level.value, "default_level": self.default_level.value,
            "default_effect": self.default_effect.value,
            "rules": by_source, "rule_count": sum(by_source.values()),
            "layers": [{"name": lay.name, "priority": lay.priority, "stage": lay.stage}
                       for lay in self.layers()],
            "ai_classifier": type(self.ai_classifier).__name__ if self.ai_classifier else None,
            "ask_handler": type(self.ask_handler).__name__ if self.ask_handler else None,
            "workspace": self._root(),
            "decisions": dict(self._stats),
            "recent": list(self._recent)[-10:],
            "known_tools": {k: v.value for k, v in sorted(self._safety.items())},
        }

    def reset(self) -> None:
        """Back to the state of a new manager: default rules only, default level, no
        statistics."""
        with self._lock:
            self._rules.clear()
            self._sorted_rules = None
            if self.include_default_rules:
                self.add_rules(self.default_rules())
            self.add_rules(getattr(self, "_flag_rules", []))
            self._level = self.default_level
            self._level_stack.clear()
            self._stats = {"allowed": 0, "denied": 0, "asked": 0}
            self._recent.clear()
            self._layers_cache = None

    def __repr__(self) -> str:
        return (f"<EnhancedPermissionManager level={self._level.value} "
                f"rules={len(self._rules)} default={self.default_effect.value}>")
