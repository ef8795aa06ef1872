"""TerAgent plugin: multi-agent orchestration (the runtime and the five patterns).

Only hookimpls live here. The runtime is served as the documented
``teragent.orchestration`` (``from teragent.orchestration import Agent, Orchestrator``);
its names are imported on first use, so discovering this plugin stays cheap.
"""

from __future__ import annotations

from typing import Any, Callable

from teragent import hookimpl
from teragent.lazy import lazy_exports
from teragent.hookspecs import Register

from teragent_orchestration import hookspecs

_MODULE = "teragent_orchestration.patterns"

__all__ = [
    "Agent", "AgentEndEvent", "AgentHooks", "AgentRunResult", "AgentSkippedEvent",
    "AgentStartEvent", "AgentTool", "ApprovalDecision", "ApprovalGate", "ApprovalRequest",
    "ApprovalResult", "AsyncRWLock", "CancellationToken", "Guardrail", "GuardrailResult",
    "GuardrailTrippedEvent", "Handoff", "HandoffEvent", "HandoffInputFilter", "HandoffTool",
    "IterationEvent", "ModelEndEvent", "ModelStartEvent", "OrchestrationCheckpoint",
    "OrchestrationEvent", "OrchestrationMode", "OrchestrationResult", "Orchestrator",
    "OrchestratorTool", "Pattern", "ResultCache", "RunContext", "RunEndEvent",
    "RunErrorEvent", "SharedState", "TextDeltaEvent", "ToolDeniedEvent", "ToolEndEvent",
    "ToolStartEvent", "input_guardrail", "output_guardrail", "run_guardrails",
]


@hookimpl
def teragent_add_hookspecs(add: Callable[[Any], None]) -> None:
    add(hookspecs)


@hookimpl
def teragent_register_patterns(register: Register) -> None:
    register("sequential", f"{_MODULE}:SequentialPattern",
             description="A → B → C; each agent sees the previous output")
    register("swarm", f"{_MODULE}:SwarmPattern",
             description="Control moves through transfer_to_<agent> tool calls")
    register("parallel", f"{_MODULE}:ParallelPattern",
             description="Fan-out to every agent at once, fan-in through a merge step")
    register("conditional", f"{_MODULE}:ConditionalPattern",
             description="A router agent picks the agent that handles the task")
    register("loop", f"{_MODULE}:LoopPattern",
             description="Generator-critic rounds until an exit condition or a bound")


# Only the public names: the host probes this module for hook names it lacks.
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "teragent_orchestration.api"),
                           globals())



@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("orchestration", "teragent_orchestration.orchestration_config:OrchestrationConfig",
             description="Multi-agent orchestration: pattern, agents and their settings")
