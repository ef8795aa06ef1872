"""Typed configuration backed by ``agent.toml``.

Every name is imported on first use: ``teragent.config.secrets`` (what building a
provider needs) must not bring pydantic and the config models with it.
"""

from __future__ import annotations

from teragent.lazy import lazy_exports

_LAZY = {
    "AgentLoopConfig": "teragent.config.agent_loop_config",
    "DriverConfig": "teragent.config.driver_config",
    "config_search_paths": "teragent.config.loader",
    "load_full_config": "teragent.config.loader",
    "load_toml": "teragent.config.loader",
    "user_config_dir": "teragent.config.loader",
    "mask": "teragent.config.secrets",
    "resolve_api_key": "teragent.config.secrets",
    "CircuitBreakerConfig": "teragent.config.circuit_breaker_config",
    "HookConfig": "teragent.config.hooks_config",
    "HooksConfig": "teragent.config.hooks_config",
    "ApiKeyVault": "teragent.config.api_key_security",
    "SecurityFinding": "teragent.config.api_key_security",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_exports(__name__, _LAZY, globals())
