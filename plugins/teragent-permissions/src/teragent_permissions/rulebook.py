"""The rules of an :class:`~teragent_permissions.manager.EnhancedPermissionManager`:
the built-in defaults, rules added by source, ``[permission]`` loaded from config, and
which rule of a source matches a call (layers 1-4 ask :meth:`RuleBook.best_rule`).
"""

from __future__ import annotations

import fnmatch
import os
import threading
from typing import Any, Callable, Iterable, Mapping

from teragent.core.types import ToolSafety
from teragent.errors import ConfigError, PermissionDenied
from teragent.security.paths import canonical_path

from teragent_permissions.rules import (
    PermissionEffect,
    PermissionLevel,
    PermissionRule,
    canonical_pattern,
    parse_rule_string,
    path_matches,
)


class RuleBook:
    """The rules of the manager (their state is set by the manager's constructor).

    ``load_from_config`` also sets the level and default effect ``[permission]`` names.
    """

    workspace: str | None
    default_level: PermissionLevel
    default_effect: PermissionEffect
    _level: PermissionLevel
    _level_stack: list[PermissionLevel]
    _rules: list[PermissionRule]
    _sorted_rules: list[PermissionRule] | None
    _lock: threading.RLock
    tool_safety: Callable[[str], ToolSafety | None]  # the manager's

    def default_rules(self) -> list[PermissionRule]:
        """The built-in rules (source ``system``, priority 10), by tool safety."""
        return [
            PermissionRule(PermissionEffect.ALLOW, "*", "",
                           "read-only tools are allowed", "system", (ToolSafety.READ_ONLY,)),
            PermissionRule(PermissionEffect.DENY, "*", "",
                           "destructive tools are denied unless a rule allows them",
                           "system", (ToolSafety.DESTRUCTIVE,)),
            PermissionRule(PermissionEffect.DENY, "*", "**/.env",
                           "environment files hold secrets", "system"),
            PermissionRule(PermissionEffect.DENY, "*", "**/.env.*",
                           "environment files hold secrets", "system"),
            PermissionRule(PermissionEffect.DENY, "*", "**/.git",
                           "tools may not change the git directory (hooks, config)", "system",
                           (ToolSafety.SAFE_WRITE, ToolSafety.DESTRUCTIVE)),
            PermissionRule(PermissionEffect.DENY, "*", "**/.teragent",
                           "tools may not change TerAgent's own state (audit log, journals)",
                           "system", (ToolSafety.SAFE_WRITE, ToolSafety.DESTRUCTIVE)),
        ]

    # --- rules ---------------------------------------------------------------------------

    def add_rule(self, rule: PermissionRule) -> None:
        if not isinstance(rule, PermissionRule):
            raise TypeError(f"expected a PermissionRule, got {type(rule).__name__}")
        with self._lock:
            if rule not in self._rules:
                self._rules.append(rule)
                self._sorted_rules = None

    def add_rules(self, rules: Iterable[PermissionRule]) -> None:
        for rule in rules:
            self.add_rule(rule)

    def remove_rules_by_source(self, source: str) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.source != source]
            self._sorted_rules = None
            return before - len(self._rules)

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()
            self._sorted_rules = None

    @property
    def rules(self) -> list[PermissionRule]:
        with self._lock:
            # Sorted once per change of the rule set, not once per check: every tool
            # call consults the rules of four sources.
            if self._sorted_rules is None:
                self._sorted_rules = sorted(self._rules, key=PermissionRule.sort_key)
            return list(self._sorted_rules)

    def get_rules_summary(self) -> list[dict[str, Any]]:
        """Every rule, highest priority first (DENY before ALLOW at equal priority)."""
        return [r.as_dict() for r in self.rules]

    def load_from_config(self, config: Mapping[str, Any]) -> int:
        """Load ``[permission]`` (the whole ``agent.toml`` dict or just that table).

        Validated by :class:`~teragent_permissions.config.PermissionConfig`: ``mode``
        (a level), ``default_effect``, and ``rules`` as ``{allow = [...], deny = [...],
        ask = [...]}`` of ``"tool:path"`` strings or a list of tables ``{effect, tool,
        path, description, safety}``. Rules are added with
        source ``config``, replacing config rules loaded before. Returns how many.
        """
        from pydantic import ValidationError
        from teragent.config.teragent_config import explain

        from teragent_permissions.config import PermissionConfig, RuleLists

        table: Any = None
        if isinstance(config, Mapping):
            if "permission" in config:
                table = config["permission"]
            elif set(config) <= set(PermissionConfig.model_fields):
                table = config  # the [permission] table itself
            else:
                table = {}  # a whole agent.toml without [permission]
        if not isinstance(table, Mapping):
            raise ConfigError("must be a table: [permission] mode = \"...\"", key="permission")

        try:
            cfg = PermissionConfig.model_validate(dict(table))
        except ValidationError as exc:
            loc, message = explain(exc, PermissionConfig, "permission")
            raise ConfigError(message, table="permission",
                              key=".".join(str(p) for p in loc) or None) from None
        new: list[PermissionRule] = []
        try:
            if isinstance(cfg.rules, RuleLists):
                for name in ("deny", "ask", "allow"):
                    for item in cfg.rules.items(name):
                        new.append(parse_rule_string(item, name, source="config"))
            else:
                for rule in cfg.rules:
                    new.append(PermissionRule(
                        effect=PermissionEffect(rule.effect),
                        tool_pattern=rule.tool or rule.tool_pattern or "*",
                        path_pattern=rule.path or rule.path_pattern or "",
                        description=rule.description, source="config",
                        safety=tuple(rule.safety)))  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigError(str(exc), table="permission", key="rules") from None
        level = PermissionLevel.parse(cfg.mode) if cfg.mode else None
        effect = PermissionEffect(cfg.default_effect) if cfg.default_effect else None
        with self._lock:
            self.remove_rules_by_source("config")
            flags = [r for r in getattr(self, "_flag_rules", []) if r.source == "config"]
            self.add_rules(flags + new)
            if level is not None:
                self.default_level = level
                self._level = level
                self._level_stack.clear()
            if effect is not None:
                self.default_effect = effect
        return len(new)

    # --- matching ----------------------------------------------------------------------

    def best_rule(self, source: str, tool_name: str, path: str,
                  safety: ToolSafety | None, root: str | None = None) -> PermissionRule | None:
        """The deciding rule of ``source`` for this call: DENY over ASK over ALLOW,
        independent of the order rules were added. ``root``: the workspace's real path
        when the caller resolved it already for this call."""
        best: PermissionRule | None = None
        root = root or self._root()
        for rule in self.rules:
            if rule.source != source:
                continue
            if not self.rule_matches(rule, tool_name, path, safety, root):
                continue
            if best is None or rule.sort_key() < best.sort_key():
                best = rule
        return best

    def rule_matches(self, rule: PermissionRule, tool_name: str, path: str,
                     safety: ToolSafety | None, root: str | None = None) -> bool:
        if not fnmatch.fnmatchcase(tool_name, rule.tool_pattern):
            return False
        if rule.safety and safety not in rule.safety:
            return False
        if rule.any_path:
            return True
        if not path:
            return False
        try:
            pattern = canonical_pattern(rule.path_pattern, root or self._root())
        except PermissionDenied:
            # A pattern that cannot be resolved: a DENY still applies literally.
            pattern = rule.path_pattern
        return path_matches(path, pattern)

    def _root(self) -> str:
        return os.path.realpath(self.workspace or os.getcwd())

    def path_denied(self, tool_name: str, path: str, op: str = "read") -> str | None:
        """The reason a DENY rule refuses ``tool_name`` on ``path`` (any source), or
        ``None``. The kernel's path policy asks this for every file a search or listing
        would show, so grep/glob/list hide what the rules deny."""
        if not self.rules:
            return None
        root = self._root()
        try:
            canonical = canonical_path(path, root)
        except (PermissionDenied, TypeError, ValueError):
            return None
        safety = self.tool_safety(tool_name) if tool_name else None
        for rule in self.rules:
            if rule.effect != PermissionEffect.DENY or rule.any_path:
                continue
            if tool_name and not fnmatch.fnmatchcase(tool_name, rule.tool_pattern):
                continue
            if not tool_name and rule.tool_pattern not in ("*", "**"):
                continue
            if self.rule_matches(rule, tool_name or "*", canonical, safety, root):
                return f"denied by rule: {rule.description or rule.path_pattern}"
        return None
