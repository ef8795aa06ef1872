"""Typed events of an orchestration run (what ``Orchestrator.run_stream`` yields).

Every event is a dataclass with a ``type`` string, the ``agent`` it concerns (when
any) and ``at``, a :func:`time.perf_counter` timestamp, so a consumer can
``match event.type`` or ``isinstance`` and a test can order events in time.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Union

__all__ = ["AgentStartEvent", "TextDeltaEvent", "ModelStartEvent", "ModelEndEvent",
           "ToolStartEvent", "ToolEndEvent", "ToolDeniedEvent", "HandoffEvent",
           "GuardrailTrippedEvent", "AgentEndEvent", "AgentSkippedEvent", "IterationEvent",
           "RunEndEvent", "RunErrorEvent", "OrchestrationEvent", "event_to_dict"]


def _now() -> float:
    return time.perf_counter()


@dataclass
class AgentStartEvent:
    agent: str
    input: str
    step: str = ""
    type: str = "agent_start"
    at: float = field(default_factory=_now)


@dataclass
class TextDeltaEvent:
    agent: str
    text: str
    type: str = "text_delta"
    at: float = field(default_factory=_now)


@dataclass
class ModelStartEvent:
    agent: str
    type: str = "model_start"
    at: float = field(default_factory=_now)


@dataclass
class ModelEndEvent:
    agent: str
    text: str = ""
    tool_calls: list[str] = field(default_factory=list)
    type: str = "model_end"
    at: float = field(default_factory=_now)


@dataclass
class ToolStartEvent:
    agent: str
    tool_name: str
    call_id: str
    arguments: dict[str, Any] = field(default_factory=dict)
    type: str = "tool_start"
    at: float = field(default_factory=_now)


@dataclass
class ToolEndEvent:
    agent: str
    tool_name: str
    call_id: str
    success: bool
    output: str = ""
    type: str = "tool_end"
    at: float = field(default_factory=_now)


@dataclass
class ToolDeniedEvent:
    agent: str
    tool_name: str
    call_id: str
    reason: str
    source: str = ""
    type: str = "tool_denied"
    at: float = field(default_factory=_now)


@dataclass
class HandoffEvent:
    agent: str  # the agent handing off
    target: str
    tool_name: str = ""
    reason: str = ""
    type: str = "handoff"
    at: float = field(default_factory=_now)


@dataclass
class GuardrailTrippedEvent:
    agent: str
    guardrail: str
    kind: str
    reason: str
    type: str = "guardrail_tripped"
    at: float = field(default_factory=_now)


@dataclass
class AgentEndEvent:
    agent: str
    output: str
    stop_reason: str = ""
    step: str = ""
    started_at: float = 0.0
    type: str = "agent_end"
    at: float = field(default_factory=_now)


@dataclass
class AgentSkippedEvent:
    """An agent step restored from a checkpoint or the result cache (not run again)."""

    agent: str
    step: str
    source: str  # "checkpoint" | "cache"
    type: str = "agent_skipped"
    at: float = field(default_factory=_now)


@dataclass
class IterationEvent:
    iteration: int
    agent: str = ""
    done: bool = False
    type: str = "iteration"
    at: float = field(default_factory=_now)


@dataclass
class RunEndEvent:
    final_output: str
    stop_reason: str = "completed"
    agent: str = ""
    type: str = "run_end"
    at: float = field(default_factory=_now)


@dataclass
class RunErrorEvent:
    error: str
    error_type: str
    agent: str = ""
    type: str = "run_error"
    at: float = field(default_factory=_now)


OrchestrationEvent = Union[
    AgentStartEvent, TextDeltaEvent, ModelStartEvent, ModelEndEvent, ToolStartEvent,
    ToolEndEvent, ToolDeniedEvent, HandoffEvent, GuardrailTrippedEvent, AgentEndEvent,
    AgentSkippedEvent, IterationEvent, RunEndEvent, RunErrorEvent]


def event_to_dict(event: Any) -> dict[str, Any]:
    return asdict(event)
