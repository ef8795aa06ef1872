"""Multi-agent orchestration: agents, patterns (as plugins), handoffs, shared state,
cancellation, guardrails, approvals, lifecycle hooks, nesting, caching, checkpoints.

Example::

    from teragent.orchestration import Agent, Orchestrator, OrchestrationMode

    orchestrator = Orchestrator(agents=[designer, coder, reviewer],
                                mode=OrchestrationMode.SEQUENTIAL)
    result = await orchestrator.run("Build a REST API for user management")
    async for event in orchestrator.run_stream("Build a REST API"):
        print(event.type)

This module holds the public names; the kernel serves it as the documented
``teragent.orchestration`` (``teragent.moved``) and the package imports it on first
use. Patterns register through this plugin's ``teragent_register_patterns`` hook.
"""

from teragent_orchestration.agent import Agent, Handoff, HandoffInputFilter, HandoffTool
from teragent_orchestration.cache import ResultCache
from teragent_orchestration.checkpoint import OrchestrationCheckpoint
from teragent_orchestration.events import (
    AgentEndEvent, AgentSkippedEvent, AgentStartEvent, GuardrailTrippedEvent, HandoffEvent,
    IterationEvent, ModelEndEvent, ModelStartEvent, OrchestrationEvent, RunEndEvent,
    RunErrorEvent, TextDeltaEvent, ToolDeniedEvent, ToolEndEvent, ToolStartEvent,
)
from teragent_orchestration.guardrails import (
    Guardrail, GuardrailResult, input_guardrail, output_guardrail, run_guardrails,
)
from teragent_orchestration.hooks import AgentHooks
from teragent_orchestration.nested import AgentTool, OrchestratorTool
from teragent_orchestration.orchestrator import (
    OrchestrationMode, OrchestrationResult, Orchestrator,
)
from teragent_orchestration.pattern import Pattern
from teragent_orchestration.runner import AgentRunResult, RunContext
from teragent_orchestration.state import AsyncRWLock, CancellationToken, SharedState
from teragent.security import (  # the teragent-permissions plugin
    ApprovalDecision, ApprovalGate, ApprovalRequest, ApprovalResult,
)

# The public names are the package's list (the lazy exports of teragent_orchestration).
from teragent_orchestration import __all__  # noqa: E402,F401
