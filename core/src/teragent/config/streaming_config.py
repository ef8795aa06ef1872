"""``StreamingConfig``: whether the agent streams the model's answer (``[streaming]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StreamingConfig"]


class StreamingConfig(BaseModel):
    """The ``[streaming]`` table of ``agent.toml``.

    It feeds :class:`~teragent.AgentLoopConfig` (see
    :func:`teragent.compose.loop_config_from`): ``enabled`` becomes ``stream`` and
    ``retries`` becomes ``streaming_retries``. ``[agent] stream`` and ``[agent]
    streaming_retries`` win when both tables set the same thing, and keyword arguments
    or CLI flags (``--no-stream``) win over both.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    #: Stream the model's answer (tools start once the answer is complete).
    enabled: bool = True
    #: Stream attempts after a stream broke off, before one batch call.
    retries: int = Field(default=1, ge=0)

    def loop_fields(self) -> dict[str, object]:
        """The :class:`~teragent.AgentLoopConfig` fields this table sets."""
        fields = {"enabled": "stream", "retries": "streaming_retries"}
        return {fields[k]: getattr(self, k) for k in self.model_fields_set}
