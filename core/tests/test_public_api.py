"""The public surface is pinned: adding a name is a decision, removing one a break."""

from __future__ import annotations

import subprocess
import sys

import teragent

PINNED = {
    "AgentLoop", "AgentLoopConfig", "AgentResult", "BaseTool", "CompiledPrompt", "CostTracker",
    "DriverConfig", "EventBus", "LongHorizonConfig", "ModelProvider", "MultimodalContent",
    "PluginHost", "StepBudget", "TAPAdapter", "TAPAdapterRegistry", "TAPCompiler",
    "TAPCompilerRegistry", "TAPCostRecord", "TAPRequest", "TAPResponse", "ToolCall",
    "ToolOrchestrator", "ToolPack", "ToolRegistry", "ToolResult", "ToolSafety",
    "create_provider", "create_provider_from_config", "default_provider", "get_host",
    "hookimpl", "load_full_config", "retry_with_backoff", "tool", "__version__",
    # the composition root and the guard seam (issue "One agent, one path")
    "build_agent", "build_runtime", "AgentRuntime", "GuardChain", "GuardDecision",
}


def test_all_is_pinned_and_importable():
    assert set(teragent.__all__) == PINNED
    for name in teragent.__all__:
        assert getattr(teragent, name) is not None


def test_import_is_lazy():
    code = ("import sys, teragent; heavy = [m for m in ('httpx', 'pydantic', 'rich', "
            "'teragent.agent.loop') if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_documented_import_paths():
    from teragent.config import AgentLoopConfig, DriverConfig  # noqa: F401
    from teragent.core.compiler import TAPCompiler, TAPCompilerRegistry  # noqa: F401
    from teragent.core.adapter import TAPAdapter, TAPAdapterRegistry  # noqa: F401
    from teragent.core.provider import ModelProvider  # noqa: F401
    from teragent.core.tap import TAPRequest, TAPResponse, CompiledPrompt, TAPCostRecord, CostTracker  # noqa: F401
    from teragent.core.types import Message, MessageRole, MessageType, ToolSafety  # noqa: F401
    from teragent.core.compilers.default import DefaultCompiler  # noqa: F401
    from teragent.core.adapters.mock import MockAdapter  # noqa: F401
    from teragent.tools import BaseTool, ToolResult, ToolRegistry, ToolOrchestrator  # noqa: F401
    from teragent.budget import StepBudget  # noqa: F401
