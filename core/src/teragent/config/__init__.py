"""Typed configuration backed by ``agent.toml``."""

from __future__ import annotations

from teragent.config.agent_loop_config import AgentLoopConfig
from teragent.config.driver_config import DriverConfig
from teragent.config.loader import config_search_paths, load_full_config, load_toml, user_config_dir
from teragent.config.secrets import mask, resolve_api_key
from teragent.lazy import lazy_exports

# Heavier or less used config models, imported on first use.
_LAZY = {
    "CircuitBreakerConfig": "teragent.config.circuit_breaker_config",
    "HookConfig": "teragent.config.hooks_config",
    "HooksConfig": "teragent.config.hooks_config",
    "ApiKeyVault": "teragent.config.api_key_security",
    "SecurityFinding": "teragent.config.api_key_security",
}

__all__ = ["AgentLoopConfig", "DriverConfig", "config_search_paths", "load_full_config",
           "load_toml", "user_config_dir", "mask", "resolve_api_key", *sorted(_LAZY)]


__getattr__ = lazy_exports(__name__, _LAZY, globals())
