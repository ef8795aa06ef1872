"""``RoutingTable``: the data the router decides with.

Every driver name, price, context size and fallback comes from data: the shipped
``defaults.toml`` (next to this module), overridden by ``[routing]`` in ``agent.toml``
(:meth:`RoutingTable.from_config`) or a dict (:meth:`RoutingTable.from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, cast

from teragent.errors import ConfigError

from teragent_router.defaults import load_defaults

__all__ = ["RoutingTable"]


def _defaults() -> dict[str, Any]:
    return cast("dict[str, Any]", load_defaults()["routing"])


@dataclass
class RoutingTable:
    """Routing rules. ``RoutingTable()`` holds the shipped defaults; keyword
    arguments replace single fields.

    Attributes:
        intent_routing: intent → driver.
        default_driver: For an intent with no entry.
        multimodal_driver, desktop_driver, video_driver: Overrides for requests with
            images, desktop context or video.
        long_horizon_driver: For long-horizon tasks.
        long_context_threshold: Prompts above this many tokens need a long-context
            model.
        long_context_candidates: Models that take more than the threshold.
        cost_fallback_order: Cheapest first.
        degradation_map: driver → fallback driver.
        model_pricing: driver → ``{"input", "output", "cache_hit"}`` CNY per million.
        max_context_per_model: driver → context window in tokens.
        compiler_map: driver → compiler name.
        multimodal_capable, video_capable: Drivers that accept images / video.
        default_completion_tokens: Answer length assumed for cost estimates.
        monthly_budget: The ``[routing.monthly_budget]`` table.
    """

    intent_routing: dict[str, str] = field(default_factory=lambda: _defaults()["intent_routing"])
    default_driver: str = field(default_factory=lambda: _defaults()["default_driver"])
    multimodal_driver: str = field(default_factory=lambda: _defaults()["multimodal_driver"])
    desktop_driver: str = field(default_factory=lambda: _defaults()["desktop_driver"])
    video_driver: str = field(default_factory=lambda: _defaults()["video_driver"])
    long_horizon_driver: str = field(default_factory=lambda: _defaults()["long_horizon_driver"])
    long_context_threshold: int = field(
        default_factory=lambda: _defaults()["long_context_threshold"])
    long_context_candidates: list[str] = field(
        default_factory=lambda: _defaults()["long_context_candidates"])
    cost_fallback_order: list[str] = field(
        default_factory=lambda: _defaults()["cost_fallback_order"])
    degradation_map: dict[str, str] = field(default_factory=lambda: _defaults()["degradation_map"])
    model_pricing: dict[str, dict[str, float]] = field(
        default_factory=lambda: _defaults()["model_pricing"])
    max_context_per_model: dict[str, int] = field(
        default_factory=lambda: _defaults()["max_context_per_model"])
    compiler_map: dict[str, str] = field(default_factory=lambda: _defaults()["compiler_map"])
    multimodal_capable: list[str] = field(
        default_factory=lambda: _defaults()["multimodal_capable"])
    video_capable: list[str] = field(default_factory=lambda: _defaults()["video_capable"])
    default_completion_tokens: int = field(
        default_factory=lambda: _defaults()["default_completion_tokens"])
    monthly_budget: dict[str, Any] = field(default_factory=lambda: _defaults()["monthly_budget"])

    # --- construction -------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, *, merge: bool = True) -> "RoutingTable":
        """A table from a ``[routing]`` dict. With ``merge`` (default), dict-valued
        fields are merged over the defaults key by key and lists/scalars replace them;
        without it, missing fields are empty."""
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)}; known keys: "
                              f"{', '.join(sorted(names))}", key="routing")
        if merge:
            base = cls()
            kwargs: dict[str, Any] = {}
            for name in names:
                current = getattr(base, name)
                if name in data and isinstance(current, dict) and isinstance(data[name], dict):
                    kwargs[name] = {**current, **data[name]}
                else:
                    kwargs[name] = data.get(name, current)
            return cls(**kwargs)
        empty: dict[str, Any] = {}
        for f in fields(cls):
            default = _defaults()[f.name]
            empty[f.name] = data.get(f.name, type(default)())
        return cls(**empty)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "RoutingTable":
        """From a loaded ``agent.toml`` (:func:`teragent.load_full_config`)."""
        return cls.from_dict(config.get("routing") or {})

    # --- queries ----------------------------------------------------------------------

    def resolve_compiler(self, driver_name: str) -> str:
        """The compiler for ``driver_name`` (``"default"`` if the table has none)."""
        return self.compiler_map.get(driver_name, "default")

    def get_intent_driver(self, intent: str) -> str:
        return self.intent_routing.get(intent, self.default_driver)

    def get_pricing(self, driver_name: str) -> dict[str, float]:
        return dict(self.model_pricing.get(driver_name) or {})

    def get_max_context(self, driver_name: str) -> int | None:
        return self.max_context_per_model.get(driver_name)

    def fits(self, driver_name: str, tokens: int) -> bool:
        """Whether ``tokens`` of prompt fit ``driver_name`` (unknown size: only up to
        the long-context threshold)."""
        limit = self.get_max_context(driver_name)
        return tokens <= (limit if limit is not None else self.long_context_threshold)

    def estimate_cost(self, driver_name: str, prompt_tokens: int,
                      completion_tokens: int | None = None) -> float:
        p = self.get_pricing(driver_name)
        out = self.default_completion_tokens if completion_tokens is None else completion_tokens
        return (prompt_tokens * p.get("input", 0.0) + out * p.get("output", 0.0)) / 1e6
