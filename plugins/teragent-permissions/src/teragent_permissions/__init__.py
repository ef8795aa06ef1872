"""TerAgent plugin ``permissions``: the seven-layer ``EnhancedPermissionManager``.

Hookimpls only. The layers register by import string (imported on first use), and
the manager is offered as the default permission manager of every AgentLoop and CLI
run while this plugin is installed.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.hookspecs import Register

__version__ = "0.1.0"

_LAYERS = {
    "user_rules": ("UserRulesLayer", 100, "decide"),
    "config_rules": ("ConfigRulesLayer", 60, "decide"),
    "project_rules": ("ProjectRulesLayer", 50, "decide"),
    "system_rules": ("SystemRulesLayer", 10, "decide"),
    "permission_level": ("PermissionLevelLayer", 5, "decide"),
    "ai_classifier": ("ClassifierLayer", 3, "review"),
    "default_deny": ("DefaultDenyLayer", 0, "decide"),
}


@hookimpl
def teragent_register_permission_layers(register: Register) -> None:
    for name, (cls, priority, stage) in _LAYERS.items():
        register(name, f"teragent_permissions.layers:{cls}", priority=priority, stage=stage)


@hookimpl
def teragent_default_permission_manager(config: dict[str, Any], loop_config: Any,
                                        workspace: str | None) -> Any:
    from teragent_permissions.manager import EnhancedPermissionManager

    flags = {k: bool(getattr(loop_config, k, False))
             for k in ("allow_writes", "allow_shell", "allow_destructive")}
    return EnhancedPermissionManager.from_settings(config or {}, workspace=workspace, **flags)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("permission", "teragent_permissions.config:PermissionConfig",
             description="Permission mode and allow/deny/ask rules")
