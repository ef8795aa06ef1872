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

TYPE_CHECKING = False  # not typing's: this package is imported while building a provider
if TYPE_CHECKING:  # pragma: no cover - for type checkers and the API docs
    from teragent.config.agent_loop_config import AgentLoopConfig
    from teragent.config.driver_config import DriverConfig
    from teragent.config.loader import (
        config_search_paths, load_full_config, load_toml, user_config_dir,
    )
    from teragent.config.secrets import mask, resolve_api_key


__getattr__ = lazy_exports(__name__, _LAZY, globals())
