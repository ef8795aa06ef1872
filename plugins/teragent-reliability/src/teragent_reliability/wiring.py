"""What the reliability layer gives one agent: breakers, recovery, a rate limiter.

The kernel's composition root asks for it through ``teragent_build_reliability``; this
plugin's hookimpl (``teragent_reliability/__init__.py``) answers with
:func:`build_reliability`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reliability", "build_reliability"]


@dataclass
class Reliability:
    """The reliability components of one agent (see ``teragent_build_reliability``)."""

    breakers: list[Any] = field(default_factory=list)
    recovery: Any = None
    rate_limiter: Any = None


def build_reliability(config: dict[str, Any], loop_config: Any, bus: Any) -> Reliability:
    """Breakers from ``[circuit_breaker]``, a recovery manager from ``[recovery]``
    (stream retries and continuations from ``[agent]`` unless set there) and, when
    ``[rate_limit]`` is present, a rate limiter."""
    from teragent.config.loader import table_defaults
    from teragent_reliability.breakers import CircuitBreakerManager
    from teragent_reliability.recovery import RecoveryManager
    from teragent_reliability.recovery_config import RecoveryConfig

    breaker = CircuitBreakerManager(bus=bus, config=config.get("circuit_breaker") or None)
    table = dict(config.get("recovery") or {})
    inherited = {} if loop_config is None else {
        "max_streaming_retries": loop_config.streaming_retries,
        "max_continuations": loop_config.max_continuations}
    limiter = None
    if config.get("rate_limit"):
        from teragent_reliability.rate_limit import RateLimitConfig, create_rate_limiter

        limiter = create_rate_limiter(RateLimitConfig(**config["rate_limit"]))
    if table:
        settings = RecoveryConfig.model_validate({**inherited, **table})
    else:
        # No [recovery]: the defaults with [agent]'s two values, which AgentLoopConfig
        # has checked under the same bounds (ge=0); no schema is built for it.
        settings = table_defaults(RecoveryConfig).model_copy(update=inherited)
    recovery = RecoveryManager(**settings.manager_kwargs())
    return Reliability([breaker], recovery, limiter)
