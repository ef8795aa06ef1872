"""``RecoveryConfig``: the ``[recovery]`` table, the keys of
:class:`~teragent.reliability.recovery.RecoveryManager`.

Documented as ``teragent.config.recovery_config``, served from here through the
kernel's :data:`teragent.moved.MOVED`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["RecoveryConfig"]


class RecoveryConfig(BaseModel):
    """How the agent recovers from failed or cut-off model calls (``[recovery]``).

    ``max_streaming_retries`` and ``max_continuations`` default to ``[agent]
    streaming_retries`` / ``max_continuations`` (or ``[streaming] retries``) when this
    table does not set them.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    #: Continuation requests after a reply cut off by the output limit.
    max_continuations: int = Field(default=3, ge=0)
    #: Stream attempts after the first, before one batch call.
    max_streaming_retries: int = Field(default=1, ge=0)
    #: Backoff retries of a transient failure (429, 5xx, reset, timeout).
    max_retries: int = Field(default=3, ge=0)
    #: Compactions per model call when the prompt does not fit.
    max_compactions: int = Field(default=2, ge=0)
    #: Repair hints to the model per run after a failed tool call.
    max_tool_repairs: int = Field(default=3, ge=0)
    #: Backoff: first delay and cap, in seconds; ``jitter`` spreads retries.
    base_delay: float = Field(default=0.5, ge=0)
    max_delay: float = Field(default=30.0, gt=0)
    jitter: bool = True
    #: A ``Retry-After`` longer than this many seconds is not waited for.
    max_retry_after: float = Field(default=120.0, ge=0)
    #: Messages kept at the end of the conversation when compacting.
    retain_messages: int = Field(default=6, ge=2)
    #: Tool outputs are cut to this many characters when compacting.
    max_tool_chars: int = Field(default=2000, ge=100)

    @model_validator(mode="after")
    def _delays(self) -> "RecoveryConfig":
        if self.base_delay > self.max_delay:
            raise ValueError(f"base_delay ({self.base_delay}) must not exceed max_delay "
                             f"({self.max_delay})")
        return self

    def manager_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``RecoveryManager`` (every field is a plain number or
        flag, so no serializer needs building for them)."""
        return {name: getattr(self, name) for name in type(self).model_fields}
