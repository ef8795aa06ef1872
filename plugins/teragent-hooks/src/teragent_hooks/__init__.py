"""TerAgent plugin ``hooks``: the ``[[hooks]]`` of ``agent.toml`` around every tool call.

Hookimpls only. The guard factory (``teragent_hooks.guard``) is registered by import
string, and loads the hook machinery only for an agent whose ``agent.toml`` has
``[[hooks]]``.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register

__version__ = "0.1.0"


@hookimpl
def teragent_register_tool_guards(register: Register) -> None:
    # Order 80: after permissions, protected paths, command checks and other plugins'
    # guards, before approvals (90). The guard also observes (post_execute,
    # execute_denied hooks; an ``audit`` hook replaces the kernel's audit log).
    register("hooks", "teragent_hooks.guard:user_hooks_guard", order=80)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("hooks", "teragent_hooks.config:HookConfig", many=True,
             description="[[hooks]]: shell, python, audit and command-check hooks")
