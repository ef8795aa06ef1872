"""Typed configuration backed by ``agent.toml``."""

from teragent.config.agent_loop_config import AgentLoopConfig
from teragent.config.driver_config import DriverConfig
from teragent.config.loader import config_search_paths, load_full_config, load_toml, user_config_dir
from teragent.config.secrets import mask, resolve_api_key

__all__ = ["AgentLoopConfig", "DriverConfig", "config_search_paths", "load_full_config",
           "load_toml", "user_config_dir", "mask", "resolve_api_key"]
