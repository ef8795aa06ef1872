"""``AgentConfig``: one agent of an orchestration (``[[orchestration.agents]]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AgentConfig"]


class AgentConfig(BaseModel):
    """Declarative definition of an :class:`~teragent.orchestration.Agent`.

    ``driver`` names a ``[drivers.*]`` entry; ``tools`` and ``guardrails`` name
    registered components; ``handoffs`` name other agents.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1)
    instructions: str = ""
    description: str = ""
    driver: str | None = None
    tools: list[str] = Field(default_factory=list)
    handoffs: list[str] = Field(default_factory=list)
    guardrails: list[str] = Field(default_factory=list)
    max_steps: int | None = Field(default=None, ge=1)

    @field_validator("name")
    @classmethod
    def _tool_safe_name(cls, value: str) -> str:
        if not value.replace("_", "").replace("-", "").isalnum():
            raise ValueError("agent names may only use letters, digits, '_' and '-'")
        return value
