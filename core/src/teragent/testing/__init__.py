"""Test doubles shipped with TerAgent: a scripted model, fake vendor servers, the
adapter contract suite and pytest fixtures. Importing this package is cheap; each
double is imported on first use."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ScriptedModel": "teragent.testing.scripted",
    "ScriptedAdapter": "teragent.testing.scripted",
    "ScriptError": "teragent.testing.scripted",
    "Step": "teragent.testing.scripted",
    "reply": "teragent.testing.scripted",
    "call_tool": "teragent.testing.scripted",
    "call_tools": "teragent.testing.scripted",
    "isolated_host": "teragent.testing.hosts",
    "security_fixture": "teragent.testing.security",
    "SecurityFixture": "teragent.testing.security",
    "DestructiveTool": "teragent.testing.security",
    "FakeOpenAIServer": "teragent.testing.fake_openai",
    "ScriptedReply": "teragent.testing.fake_openai",
    "serve_in_thread": "teragent.testing.fake_openai",
    "FakeAnthropicServer": "teragent.testing.fake_anthropic",
    "FakeGLMServer": "teragent.testing.fake_glm",
    "FakeMiniMaxServer": "teragent.testing.fake_minimax",
    "FaultServer": "teragent.testing.fault_server",
    "Fault": "teragent.testing.fault_server",
    "AdapterContract": "teragent.testing.contract",
    "AdapterHarness": "teragent.testing.contract",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'teragent.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
