"""``ToolsConfig``: which installed tools an agent is offered (``[tools]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["ToolsConfig", "SMALL_PROFILE"]

#: The tools a small local model is offered by default: reading, not choosing among ten.
SMALL_PROFILE = ["read_file", "list_directory"]


class ToolsConfig(BaseModel):
    """The ``[tools]`` table of ``agent.toml``, read by :func:`teragent.build_agent`.

    ``enabled`` (when given) is the list of tool names offered; ``disabled`` is taken
    out of what would be offered. An explicit ``tool_names=`` argument (``--tools``)
    replaces ``enabled``. ``profile`` picks the default set when ``enabled`` is not
    given: ``"small"`` offers ``small_profile`` (the installed ones among them) and a
    short system prompt, ``"full"`` every installed tool, and ``"auto"`` asks the model
    (a small local model, such as the embedded SmolLM2-135M, says ``"small"``). ``timeout`` and ``max_output_chars`` set
    :class:`~teragent.AgentLoopConfig`'s ``tool_timeout`` and
    ``max_tool_output_chars``; ``[agent]`` wins when both tables set them.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)

    #: Tool names to offer; ``None``: every installed tool.
    enabled: list[str] | None = None
    #: Tool names never offered.
    disabled: list[str] = Field(default_factory=list)
    #: Default tool set: "auto" (the model's own advice), "small" or "full".
    profile: Literal["auto", "small", "full"] = "auto"
    #: The tools of the "small" profile, in the order the model sees them.
    small_profile: list[str] = Field(default_factory=lambda: list(SMALL_PROFILE))
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

    def choose(self, installed: list[str], requested: list[str] | None = None,
               profile: str = "full") -> list[str]:
        """The tool names to offer out of ``installed`` (``requested``: ``--tools``;
        ``profile``: the resolved profile, "small" or "full")."""
        wanted = requested if requested is not None else self.enabled
        if wanted is not None:
            names = list(wanted)
        elif profile == "small":
            names = [n for n in self.small_profile if n in installed]
        else:
            names = list(installed)
        return [n for n in names if n not in self.disabled]

    def resolve_profile(self, advised: object) -> str:
        """``profile``, or for "auto" the model's advice (``"small"``; anything else
        is "full")."""
        if self.profile != "auto":
            return self.profile
        return "small" if advised == "small" else "full"

    def loop_fields(self) -> dict[str, object]:
        """The :class:`~teragent.AgentLoopConfig` fields this table sets."""
        out: dict[str, object] = {}
        if self.timeout is not None:
            out["tool_timeout"] = self.timeout
        if self.max_output_chars is not None:
            out["max_tool_output_chars"] = self.max_output_chars
        return out
