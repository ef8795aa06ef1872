"""``ToolsConfig``: which installed tools an agent is offered (``[tools]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ToolsConfig"]


class ToolsConfig(BaseModel):
    """The ``[tools]`` table of ``agent.toml``, read by :func:`teragent.build_agent`.

    ``enabled`` (when given) is the list of tool names offered; ``disabled`` is taken
    out of what would be offered. An explicit ``tool_names=`` argument (``--tools``)
    replaces ``enabled``. ``timeout`` and ``max_output_chars`` set
    :class:`~teragent.AgentLoopConfig`'s ``tool_timeout`` and
    ``max_tool_output_chars``; ``[agent]`` wins when both tables set them.
    """

    model_config = ConfigDict(extra="forbid")

    #: Tool names to offer; ``None``: every installed tool.
    enabled: list[str] | None = None
    #: Tool names never offered.
    disabled: list[str] = Field(default_factory=list)
    #: Seconds one tool call may take.
    timeout: float | None = Field(default=None, gt=0)
    #: A tool's output is cut to this many characters before the model sees it.
    max_output_chars: int | None = Field(default=None, ge=200)

    @model_validator(mode="after")
    def _disjoint(self) -> "ToolsConfig":
        both = sorted(set(self.enabled or ()) & set(self.disabled))
        if both:
            raise ValueError(f"{', '.join(both)} is both enabled and disabled; remove it "
                             "from one of the lists")
        return self

    def choose(self, installed: list[str], requested: list[str] | None = None) -> list[str]:
        """The tool names to offer out of ``installed`` (``requested``: ``--tools``)."""
        wanted = requested if requested is not None else self.enabled
        names = list(wanted) if wanted is not None else list(installed)
        return [n for n in names if n not in self.disabled]

    def loop_fields(self) -> dict[str, object]:
        """The :class:`~teragent.AgentLoopConfig` fields this table sets."""
        out: dict[str, object] = {}
        if self.timeout is not None:
            out["tool_timeout"] = self.timeout
        if self.max_output_chars is not None:
            out["max_tool_output_chars"] = self.max_output_chars
        return out
