"""``OrchestrationConfig``: multi-agent settings (``[orchestration]`` in agent.toml)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from teragent_orchestration.agent_config import AgentConfig

__all__ = ["OrchestrationConfig"]


class OrchestrationConfig(BaseModel):
    """Which pattern runs which agents, and the patterns' settings.

    ``mode`` is a registered pattern name: ``sequential``, ``swarm``, ``parallel``,
    ``conditional`` or ``loop`` from ``teragent-orchestration``, or a third party's.
    """

    model_config = ConfigDict(extra="forbid")

    mode: str = "sequential"
    agents: list[AgentConfig] = Field(default_factory=list)
    #: swarm: most handoffs in one run.
    max_handoffs: int = Field(default=10, ge=0)
    #: loop: most generator-critic rounds.
    max_iterations: int = Field(default=5, ge=1)
    #: loop: the critic approves by saying this (case-insensitive).
    approval_phrase: str = "APPROVED"
    #: loop: agent names (default: the first and second agents).
    generator: str | None = None
    critic: str | None = None
    #: conditional: the router agent (default: the first agent).
    router: str | None = None
    #: parallel: the agent that merges the branches (default: concatenation).
    merge_agent: str | None = None
    #: swarm: the first agent (default: the first agent).
    start_agent: str | None = None
    #: Save progress here after every agent step (resume with the same run id).
    checkpoint_dir: str | None = None
    #: Start read-only tools while the model streams.
    streaming_tools: bool = False
    #: AgentTool / OrchestratorTool nesting bound.
    max_nesting_depth: int = Field(default=3, ge=1)

    @model_validator(mode="after")
    def _agents_exist(self) -> "OrchestrationConfig":
        names = [a.name for a in self.agents]
        if len(set(names)) != len(names):
            raise ValueError("agent names must be unique")
        for ref in ("generator", "critic", "router", "merge_agent", "start_agent"):
            value = getattr(self, ref)
            if value is not None and self.agents and value not in names:
                raise ValueError(f"{ref} {value!r} is not one of the agents ({names})")
        for agent in self.agents:
            for target in agent.handoffs:
                if target not in names:
                    raise ValueError(f"agent {agent.name!r} hands off to unknown {target!r}")
        return self

    def pattern_options(self) -> dict[str, Any]:
        """The settings patterns read as options."""
        keys = ("max_handoffs", "max_iterations", "approval_phrase", "generator", "critic",
                "router", "merge_agent", "start_agent")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
