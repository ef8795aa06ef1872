"""Typed configuration backed by ``agent.toml``."""

from __future__ import annotations

import importlib
from typing import Any

from teragent.config.agent_loop_config import AgentLoopConfig
from teragent.config.driver_config import DriverConfig
from teragent.config.loader import config_search_paths, load_full_config, load_toml, user_config_dir
from teragent.config.secrets import mask, resolve_api_key

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'teragent.config' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
