"""Multi-agent orchestration: agents, patterns (as plugins), handoffs, shared state,
cancellation, guardrails, approvals, lifecycle hooks, nesting, caching, checkpoints.

Example::

    from teragent.orchestration import Agent, Orchestrator, OrchestrationMode

    orchestrator = Orchestrator(agents=[designer, coder, reviewer],
                                mode=OrchestrationMode.SEQUENTIAL)
    result = await orchestrator.run("Build a REST API for user management")
    async for event in orchestrator.run_stream("Build a REST API"):
        print(event.type)

The patterns themselves register through the ``teragent_register_patterns`` hook; the
five standard ones ship in ``teragent-patterns`` (``pip install teragent-patterns``).
"""

from teragent.orchestration.agent import Agent, Handoff, HandoffInputFilter, HandoffTool
from teragent.orchestration.cache import ResultCache
from teragent.orchestration.checkpoint import OrchestrationCheckpoint
from teragent.orchestration.events import (
    AgentEndEvent, AgentSkippedEvent, AgentStartEvent, GuardrailTrippedEvent, HandoffEvent,
    IterationEvent, ModelEndEvent, ModelStartEvent, OrchestrationEvent, RunEndEvent,
    RunErrorEvent, TextDeltaEvent, ToolDeniedEvent, ToolEndEvent, ToolStartEvent,
)
from teragent.orchestration.guardrails import (
    Guardrail, GuardrailResult, input_guardrail, output_guardrail, run_guardrails,
)
from teragent.orchestration.hooks import AgentHooks
from teragent.orchestration.nested import AgentTool, OrchestratorTool
from teragent.orchestration.orchestrator import (
    OrchestrationMode, OrchestrationResult, Orchestrator,
)
from teragent.orchestration.pattern import Pattern
from teragent.orchestration.runner import AgentRunResult, RunContext
from teragent.orchestration.state import AsyncRWLock, CancellationToken, SharedState
from teragent.security import (  # the teragent-permissions plugin
    ApprovalDecision, ApprovalGate, ApprovalRequest, ApprovalResult,
)

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
