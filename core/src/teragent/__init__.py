"""TerAgent: a production framework for LLM agents.

``import teragent`` is cheap: public names are imported on first attribute access, and
plugins are discovered on first use of a component.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`: importing typing costs ~10 ms at start-up.
TYPE_CHECKING = False

__version__ = "0.1.0"

# Public names resolve on first use (teragent.lazy); documented module paths whose code
# ships in plugins resolve through teragent.moved.
from teragent import lazy as _lazy
from teragent import moved as _moved

_moved.install()

_PIPELINE, _TRACES = "teragent-pipeline", "teragent-traces"
_EXPORTS: dict[str, str | tuple[str, str]] = {
    # TAP IR
    "TAPRequest": "teragent.core.tap",
    "TAPResponse": "teragent.core.tap",
    "CompiledPrompt": "teragent.core.tap",
    "TAPCostRecord": "teragent.core.tap",
    "CostTracker": "teragent.core.tap",
    "MultimodalContent": "teragent.core.tap",
    "LongHorizonConfig": "teragent.core.tap",
    "TAPCompiler": "teragent.core.compiler",
    "TAPCompilerRegistry": "teragent.core.compiler",
    "TAPAdapter": "teragent.core.adapter",
    "TAPAdapterRegistry": "teragent.core.adapter",
    "ToolCall": "teragent.core.types",
    "ToolSafety": "teragent.core.types",
    # providers
    "ModelProvider": "teragent.core.provider",
    "create_provider": "teragent.core.provider",
    "create_provider_from_config": "teragent.core.provider",
    "default_provider": "teragent.core.provider",
    # config
    "load_full_config": "teragent.config.loader",
    "DriverConfig": "teragent.config.driver_config",
    "AgentLoopConfig": "teragent.config.agent_loop_config",
    # agent
    "build_agent": "teragent.compose",
    "build_runtime": "teragent.compose",
    "AgentRuntime": "teragent.runtime",
    "GuardChain": "teragent.guards",
    "GuardDecision": "teragent.guards",
    "AgentLoop": "teragent.agent.loop",
    "AgentResult": "teragent.agent.loop",
    "EventBus": "teragent.events",
    # tools
    "BaseTool": "teragent.tools.base",
    "ToolResult": "teragent.tools.base",
    "ToolPack": "teragent.tools.base",
    "tool": "teragent.tools.base",
    "ToolRegistry": "teragent.tools.registry",
    "ToolOrchestrator": "teragent.tools.orchestrator",
    # budgets and retries
    "StepBudget": "teragent.budget",
    "retry_with_backoff": "teragent.pipeline.retry",
    # pipeline primitives and traces (plugins; MissingPluginError names the install)
    "extract_files_from_response": ("teragent_pipeline.extractor", _PIPELINE),
    "build_prompt": ("teragent_pipeline.prompt_builder", _PIPELINE),
    "build_subagent_prompt": ("teragent_pipeline.prompt_builder", _PIPELINE),
    "validate_prompt_tokens": ("teragent_pipeline.prompt_builder", _PIPELINE),
    "TaskInfo": ("teragent_pipeline.checklist", _PIPELINE),
    "run_deterministic_checks": ("teragent_pipeline.checklist", _PIPELINE),
    "check_code_quality": ("teragent_pipeline.checklist", _PIPELINE),
    "check_runnable": ("teragent_pipeline.checklist", _PIPELINE),
    "TAPTracer": ("teragent_traces.tracer", _TRACES),
    "DPOPair": ("teragent_traces.tracer", _TRACES),
    "DataConstitution": ("teragent_traces.tracer", _TRACES),
    "TraceStats": ("teragent_traces.tracer", _TRACES),
    # plugins
    "get_host": "teragent.plugins",
    "hookimpl": "teragent.hookspecs",
    "PluginHost": "teragent.plugins",
}

# Names served by plugins resolve (or name the pip install) but stay out of __all__: a
# star import or dir() must not need every plugin installed.
__all__ = sorted([*(n for n, t in _EXPORTS.items() if isinstance(t, str)), "__version__"])


__getattr__ = _lazy.lazy_exports(__name__, _EXPORTS, globals())



def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from typing import Any

    from teragent.hookspecs import hookimpl
    from teragent.agent.loop import AgentLoop, AgentResult
    from teragent.compose import build_agent, build_runtime
    from teragent.guards import GuardChain, GuardDecision
    from teragent.runtime import AgentRuntime
    from teragent.config.agent_loop_config import AgentLoopConfig
    from teragent.config.driver_config import DriverConfig
    from teragent.config.loader import load_full_config
    from teragent.core.adapter import TAPAdapter, TAPAdapterRegistry
    from teragent.core.compiler import TAPCompiler, TAPCompilerRegistry
    from teragent.core.provider import (
        ModelProvider, create_provider, create_provider_from_config, default_provider)
    from teragent.core.tap import (
        CompiledPrompt, CostTracker, LongHorizonConfig, MultimodalContent, TAPCostRecord,
        TAPRequest, TAPResponse)
    from teragent.core.types import ToolCall, ToolSafety
    from teragent.events import EventBus
    from teragent.plugins import PluginHost, get_host
    from teragent.budget import StepBudget
    from teragent.pipeline.retry import retry_with_backoff
    from teragent.tools.base import BaseTool, ToolPack, ToolResult, tool
    from teragent.tools.orchestrator import ToolOrchestrator
    from teragent.tools.registry import ToolRegistry
