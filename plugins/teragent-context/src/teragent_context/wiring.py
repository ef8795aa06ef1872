"""What the composition root gets from this plugin (``teragent_build_context``)."""

from __future__ import annotations

from typing import Any

from teragent_context.config import ContextManagementConfig

__all__ = ["ContextManagement", "build_context", "DEFAULT_TOKEN_LIMIT"]

DEFAULT_TOKEN_LIMIT = 128_000


def _model_limit(model: Any) -> int | None:
    caps = getattr(model, "capabilities", None)
    try:
        value = caps.get("context_window") if isinstance(caps, dict) else None
    except Exception:  # noqa: BLE001 - a provider's capabilities are advisory
        value = None
    return int(value) if isinstance(value, int) and value > 0 else None


class ContextManagement:
    """The ``[context]`` settings of one agent; :meth:`for_agent` makes its window and
    compactor once the model is known."""

    def __init__(self, settings: ContextManagementConfig) -> None:
        self.settings = settings

    def for_agent(self, model: Any, bus: Any = None) -> tuple[Any, Any]:
        """``(context_window, auto_compactor)`` for an agent running ``model``."""
        from teragent_context.compactor import AutoCompactor, Microcompactor
        from teragent_context.window import ContextWindow

        s = self.settings
        counter = getattr(model, "count_tokens", None) if s.use_tokenizer else None
        limit = s.model_token_limit or _model_limit(model) or DEFAULT_TOKEN_LIMIT
        window = ContextWindow(limit, compact_threshold=s.compact_threshold,
                               safety_factor=s.safety_factor,
                               count_tokens=counter if callable(counter) else None,
                               reserved_tokens=min(s.reserved_tokens, limit - 1))
        compactor = AutoCompactor(
            window, model, retain_count=s.retain_count, max_compacts=s.max_compacts,
            microcompactor=Microcompactor(s.micro_keep_results, s.micro_min_chars),
            micro_threshold=s.micro_threshold, summary_max_tokens=s.summary_max_tokens,
            bus=bus)
        return window, compactor


def build_context(config: dict[str, Any]) -> ContextManagement | None:
    """The ``[context]`` table validated; ``None`` when ``enabled = false``."""
    from teragent.config.loader import validate_table

    settings = validate_table(config, "context", ContextManagementConfig)
    return ContextManagement(settings) if settings.enabled else None
