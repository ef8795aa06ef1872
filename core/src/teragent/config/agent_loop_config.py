"""``AgentLoopConfig``: how the agent loop behaves."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AgentLoopConfig"]


class AgentLoopConfig(BaseModel):
    """Settings of :class:`teragent.AgentLoop` (``[agent]`` in ``agent.toml``)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    max_steps: int = Field(default=50, ge=1, description="Model calls with tool use per run")
    stream: bool = True
    system_prompt: str | None = None
    #: Continuation requests after a reply cut off by the output limit.
    max_continuations: int = Field(default=3, ge=0)
    #: When this many steps remain, the model is told to wrap up.
    wrap_up_steps: int = Field(default=2, ge=0)
    #: Ask for a final text-only summary when the step budget runs out.
    final_summary: bool = True
    tool_timeout: float = Field(default=120.0, gt=0)
    max_tool_output_chars: int = Field(default=20_000, ge=200)
    max_concurrent_tools: int = Field(default=10, ge=1)
    streaming_retries: int = Field(default=1, ge=0)
    #: intent (chat/debug/create_project) → tool names offered for that intent.
    intent_tools: dict[str, list[str]] = Field(default_factory=dict)
    #: Until a permission manager is configured, tools that write or run commands are
    #: refused unless allowed here explicitly.
    allow_writes: bool = False
    allow_shell: bool = False
    allow_destructive: bool = False
