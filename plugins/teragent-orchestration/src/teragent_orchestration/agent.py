"""``Agent`` (a plain config object) and ``Handoff`` (control transfer as a tool).

An :class:`Agent` holds what one participant of an orchestration needs: its model
provider, tools, instructions, handoffs, guardrails and hooks. It does not run itself;
the orchestration runner turns each turn into an :class:`~teragent.AgentLoop` run, so
every tool call takes the kernel's guarded path.

A :class:`Handoff` is presented to the model as a tool (``transfer_to_<agent>``); when
the model calls it, the current agent's turn ends and control moves to the target,
which receives the conversation filtered by the handoff's ``input_filter``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from teragent.core.types import ToolSafety
from teragent.errors import UserError
from teragent.tools.base import BaseTool, ToolResult

__all__ = ["Agent", "Handoff", "HandoffInputFilter", "HandoffTool"]

Messages = list[dict[str, Any]]


class HandoffInputFilter:
    """Ready-made ``input_filter`` functions: ``filter(messages) -> messages``."""

    @staticmethod
    def keep_all(messages: Messages) -> Messages:
        return [dict(m) for m in messages]

    @staticmethod
    def remove_all_tools(messages: Messages) -> Messages:
        """Drop tool results and tool calls (assistant messages keep their text)."""
        out: Messages = []
        for m in messages:
            if m.get("role") == "tool":
                continue
            if m.get("role") == "assistant" and m.get("tool_calls"):
                text = m.get("content") or ""
                if not str(text).strip():
                    continue
                m = {k: v for k, v in m.items() if k != "tool_calls"}
            out.append(dict(m))
        return out

    @staticmethod
    def last_user_message(messages: Messages) -> Messages:
        users = [m for m in messages if m.get("role") == "user"]
        return [dict(users[-1])] if users else []

    @staticmethod
    def none(messages: Messages) -> Messages:
        return []


@dataclass
class Handoff:
    """A transfer of control to ``target_agent``, offered to the model as a tool.

    Args:
        target_agent: The target agent's name (or the :class:`Agent`).
        tool_name: Defaults to ``transfer_to_<target>``.
        description: What the model reads about when to use it.
        input_filter: ``filter(messages) -> messages`` applied to the conversation the
            target receives (default: everything).
    """

    target_agent: Any
    tool_name: str = ""
    description: str = ""
    input_filter: Callable[[Messages], Messages] | None = None

    def __post_init__(self) -> None:
        name = self.target_name
        if not name:
            raise UserError("Handoff needs a target agent: Handoff(target_agent='editor').")
        if not self.tool_name:
            self.tool_name = f"transfer_to_{name}"
        if not self.description:
            self.description = (f"Transfer the conversation to the agent {name!r} when it "
                                "should handle the rest of the task.")

    @property
    def target_name(self) -> str:
        t = self.target_agent
        return str(getattr(t, "name", t) or "")

    def filter(self, messages: Messages) -> Messages:
        return (self.input_filter or HandoffInputFilter.keep_all)(messages)


class HandoffTool(BaseTool):
    """The tool a :class:`Handoff` is presented as. Running it (through the
    ToolOrchestrator, like any tool) records the request; the runner then ends the
    current agent's turn and starts the target."""

    _safety = ToolSafety.READ_ONLY
    _concurrency_safe = False
    parameters_schema = {
        "type": "object",
        "properties": {"reason": {"type": "string",
                                  "description": "Why, and what the next agent should do"}},
    }

    def __init__(self, handoff: Handoff, on_request: Callable[[Handoff, str], None]) -> None:
        self.handoff = handoff
        # Per-instance name/description over BaseTool's ClassVar defaults, as FunctionTool.
        self.name = handoff.tool_name  # type: ignore[misc]
        self.description = handoff.description  # type: ignore[misc]
        self._on_request = on_request

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        reason = str(params.get("reason") or "")
        self._on_request(self.handoff, reason)
        return ToolResult(success=True, data=f"Transferred to {self.handoff.target_name}.",
                          safety=self._safety)


@dataclass
class Agent:
    """One participant of an orchestration (a plain config object).

    Args:
        name: Unique within an orchestration; used in handoff tool names.
        provider: The model (a :class:`~teragent.ModelProvider` or anything with
            ``complete``/``stream_chat``).
        tools: :class:`~teragent.tools.BaseTool` instances or a ToolRegistry.
        handoffs: :class:`Handoff` s or target agent names.
        guardrails: :class:`~teragent.orchestration.Guardrail` s (input and output) or
            names registered through ``teragent_register_guardrails``.
        hooks: An :class:`~teragent.orchestration.AgentHooks` (or a list of them).
        instructions: The agent's system prompt.
        max_steps: Step budget of one turn (default: the orchestration's loop config).
        loop_config: Optional :class:`~teragent.config.AgentLoopConfig` overrides.
        description: Shown to routers and as the description of an AgentTool.
    """

    name: str
    provider: Any = None
    tools: Any = field(default_factory=list)
    handoffs: list[Any] = field(default_factory=list)
    guardrails: list[Any] = field(default_factory=list)
    hooks: Any = None
    instructions: str = ""
    max_steps: int | None = None
    loop_config: Any = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not str(self.name).replace("_", "").replace("-", "").isalnum():
            raise UserError(f"Agent name {self.name!r} is not usable in a tool name; use "
                            "letters, digits, '_' or '-' (e.g. Agent(name='code_reviewer')).")
        self.handoffs = [h if isinstance(h, Handoff) else Handoff(target_agent=h)
                         for h in self.handoffs]

    def tool_list(self) -> list[Any]:
        tools = self.tools
        if tools is None:
            return []
        if hasattr(tools, "list_tools"):
            return list(tools.list_tools())
        return list(tools) if isinstance(tools, Iterable) else [tools]

    @classmethod
    def from_config(cls, config: Any, *, provider: Any = None,
                    tools: dict[str, Any] | Any = None) -> "Agent":
        """Build from an :class:`~teragent_orchestration.agent_config.AgentConfig`; ``tools``
        maps tool names to tools (or is a ToolRegistry)."""
        chosen: list[Any] = []
        for tool_name in getattr(config, "tools", []) or []:
            found = tools.get(tool_name) if tools is not None else None
            if found is None:
                raise UserError(f"Agent {config.name!r} lists the tool {tool_name!r}, which "
                                "is not available; register it or remove it from the list.")
            chosen.append(found)
        return cls(name=config.name, provider=provider, tools=chosen,
                   handoffs=list(config.handoffs), guardrails=list(config.guardrails),
                   instructions=config.instructions, max_steps=config.max_steps,
                   description=config.description)
