"""The built-in permission layers, registered through
``teragent_register_permission_layers`` like any third-party layer.

A layer is consulted by :class:`~teragent_permissions.manager.EnhancedPermissionManager`
with ``check(tool_name, params, context)`` (or the async ``acheck``) and answers
``(allowed | None, reason)``: ``True``/``False``, a
:class:`~teragent_permissions.rules.PermissionEffect` (``ASK`` needs a human), or
``None`` for "no opinion". Layers are asked in descending priority; the first definite
answer is the *provisional* decision. Layers registered with ``stage="review"`` (and
any layer's ``review``/``areview`` method) are then shown a provisional ALLOW and may
only turn it into DENY or ASK: they can never allow what was denied.

``context`` is a dict: ``manager``, ``tool_name``, ``path`` (canonical, or ``""``),
``params``, ``safety`` (:class:`~teragent.core.types.ToolSafety` or ``None`` when
unknown), ``level`` (:class:`~teragent_permissions.rules.PermissionLevel`) and
``context`` (free text for classifiers). The built-in layers answer only inside a
manager: called bare (as the ToolOrchestrator does for plugin layers when no manager
composes them) they have no opinion.
"""

from __future__ import annotations

from typing import Any

from teragent.core.types import ToolSafety

from teragent_permissions.rules import PermissionEffect, PermissionLevel

__all__ = ["RuleLayer", "UserRulesLayer", "ConfigRulesLayer", "ProjectRulesLayer",
           "SystemRulesLayer", "PermissionLevelLayer", "ClassifierLayer", "DefaultDenyLayer",
           "BUILTIN_LAYERS"]

Answer = "tuple[Any, str] | None"

_VERB = {PermissionEffect.ALLOW: "Allowed", PermissionEffect.DENY: "Denied",
         PermissionEffect.ASK: "Approval required"}


def _manager(context: Any) -> Any:
    """The manager composing the call, or ``None`` when the layer is called bare."""
    return context.get("manager") if isinstance(context, dict) else None


class _ManagedLayer:
    """A built-in deciding layer: it answers only inside a manager (:meth:`decide`);
    called bare it has no opinion."""

    stage = "decide"

    def check(self, tool_name: str, params: dict[str, Any],
              context: dict[str, Any]) -> tuple[Any, str] | None:
        manager = _manager(context)
        return None if manager is None else self.decide(manager, tool_name, context)

    def decide(self, manager: Any, tool_name: str,
               context: dict[str, Any]) -> tuple[Any, str] | None:
        """The answer for this call inside ``manager`` (``None``: no opinion)."""
        raise NotImplementedError


class RuleLayer(_ManagedLayer):
    """Layers 1-4: the rules of one source; the best matching rule decides."""

    source = "user"

    def decide(self, manager: Any, tool_name: str,
               context: dict[str, Any]) -> tuple[Any, str] | None:
        rule = manager.best_rule(self.source, tool_name, context.get("path", ""),
                                 context.get("safety"), context.get("root"))
        if rule is None:
            return None
        return rule.effect, f"{_VERB[rule.effect]} by rule: {rule.label()}"


class UserRulesLayer(RuleLayer):
    """Layer 1: user rules (priority 100)."""

    source = "user"


class ConfigRulesLayer(RuleLayer):
    """Layer 2: rules from agent.toml ``[permission]`` (priority 60)."""

    source = "config"


class ProjectRulesLayer(RuleLayer):
    """Layer 3: project rules (priority 50)."""

    source = "project"


class SystemRulesLayer(RuleLayer):
    """Layer 4: built-in defaults by tool safety (priority 10)."""

    source = "system"


class PermissionLevelLayer(_ManagedLayer):
    """Layer 5: what the permission level grants when no rule decided, and the PLAN
    ceiling (plan mode never runs a tool that is not known to be read-only)."""

    def decide(self, manager: Any, tool_name: str,
               context: dict[str, Any]) -> tuple[Any, str] | None:
        level: PermissionLevel = context["level"]
        safety: ToolSafety | None = context.get("safety")
        async_path = bool(context.get("async"))
        if level == PermissionLevel.BYPASS:
            return True, "Allowed by permission level 'bypass'"
        if level == PermissionLevel.CUSTOM:
            return None
        if safety == ToolSafety.READ_ONLY:
            return True, f"Allowed by permission level {level.value!r}: read-only tool"
        if level == PermissionLevel.PLAN:
            return False, (f"Denied by permission level 'plan': {tool_name!r} is not a "
                           "read-only tool, and plan mode only reads")
        if level == PermissionLevel.ACCEPT_EDITS and safety == ToolSafety.SAFE_WRITE:
            return True, "Allowed by permission level 'accept_edits': file edit"
        if level == PermissionLevel.AUTO and safety in (ToolSafety.SAFE_WRITE,
                                                        ToolSafety.HIGH_RISK):
            if async_path and manager.ai_classifier is not None:
                return True, "Allowed by permission level 'auto' (subject to the classifier)"
            return False, ("Denied by permission level 'auto': no AI classifier is "
                           "available to review this call (configure ai_classifier, and "
                           "use the async check)")
        return None

    def review(self, tool_name: str, params: dict[str, Any],
               context: dict[str, Any]) -> tuple[Any, str] | None:
        if _manager(context) is None or context["level"] != PermissionLevel.PLAN:
            return None
        if context.get("safety") == ToolSafety.READ_ONLY:
            return None
        return False, (f"Denied by permission level 'plan': {tool_name!r} is not a "
                       "read-only tool, and plan mode only reads (even when a rule allows it)")


class ClassifierLayer:
    """Layer 6 (async only): the AI classifier reviews provisional allows of tools that
    are not read-only. Consultative: it can deny or ask, never allow."""

    stage = "review"

    def check(self, tool_name: str, params: dict[str, Any],
              context: dict[str, Any]) -> None:
        return None  # reviews only; never decides on its own

    async def areview(self, tool_name: str, params: dict[str, Any],
                      context: dict[str, Any]) -> tuple[Any, str] | None:
        manager = _manager(context)
        if manager is None or manager.ai_classifier is None:
            return None
        if context["level"] == PermissionLevel.BYPASS:
            return None
        if context.get("safety") == ToolSafety.READ_ONLY:
            return None
        effect, reason = await manager.classify(tool_name, params, context)
        if effect == PermissionEffect.ALLOW:
            return None
        return effect, f"{_VERB[effect]} by the AI classifier: {reason}"


class DefaultDenyLayer(_ManagedLayer):
    """Layer 7: nothing decided, so the default effect (DENY unless configured)."""

    def decide(self, manager: Any, tool_name: str,
               context: dict[str, Any]) -> tuple[Any, str] | None:
        effect: PermissionEffect = manager.default_effect
        what = f"{tool_name!r}" + (f" on {context['path']!r}" if context.get("path") else "")
        if effect == PermissionEffect.ALLOW:
            return True, f"Allowed by default (no rule matched {what})"
        if effect == PermissionEffect.ASK:
            return PermissionEffect.ASK, f"Approval required by default (no rule matched {what})"
        safety = context.get("safety")
        kind = f" (a {safety.value} tool)" if isinstance(safety, ToolSafety) else ""
        return False, (f"Denied by default: no rule allows {what}{kind} at permission level "
                       f"{context['level'].value!r}. Add an allow rule ([permission] rules = "
                       f"{{ allow = [\"{tool_name}:*\"] }}) or change the level.")


#: name → (layer class, priority, stage): what the plugin registers.
BUILTIN_LAYERS: dict[str, tuple[type, int, str]] = {
    "user_rules": (UserRulesLayer, 100, "decide"),
    "config_rules": (ConfigRulesLayer, 60, "decide"),
    "project_rules": (ProjectRulesLayer, 50, "decide"),
    "system_rules": (SystemRulesLayer, 10, "decide"),
    "permission_level": (PermissionLevelLayer, 5, "decide"),
    "ai_classifier": (ClassifierLayer, 3, "review"),
    "default_deny": (DefaultDenyLayer, 0, "decide"),
}
