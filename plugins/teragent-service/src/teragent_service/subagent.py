"""Subagents: the ``task`` tool runs a sub-task in a fresh agent with an isolated
context (no history of the conversation) and returns its final answer.

The subagent is built by :func:`teragent.build_agent` like every agent, with the
conversation's workspace and model, and it runs inside the conversation's run, so the
parent's guards (approval included) check its tool calls too. The nesting depth is
teragent-orchestration's (the same context variable as its ``AgentTool``): at most 2,
so a subagent may delegate once more and no further.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from teragent_orchestration.nested import _NestedTool, current_depth

from teragent_service.events import EventLog

__all__ = ["SubagentTool", "MAX_DEPTH", "SUBAGENT_PROMPT"]

MAX_DEPTH = 2

SUBAGENT_PROMPT = (
    "You are a subagent of TerAgent working in {workspace} on one sub-task given by the "
    "main agent. You do not see its conversation: everything you need is in the task. "
    "Use the tools, then answer with a short report of what you found or did.")


class SubagentTool(_NestedTool):
    """The ``task`` tool (see the module docstring).

    Args:
        build: ``(depth) -> AgentLoop``: a fresh subagent for a call at ``depth``.
        log: Where ``subagent_start``/``subagent_end`` are published.
    """

    description: ClassVar[str] = (  # type: ignore[misc]
        "Delegate a self-contained sub-task (explore the code, research, a focused "
        "change) to a subagent with a fresh context. Give it everything it needs in "
        "'input'; you get back its final report.")

    def __init__(self, build: Callable[[int], Any], log: EventLog) -> None:
        super().__init__("task", self.description, MAX_DEPTH)
        self.build = build
        self.log = log

    async def _delegate(self, task: str) -> str:
        depth = current_depth()  # already counts this call
        agent = self.build(depth)
        self.log.publish("subagent_start", task=task[:2000], depth=depth)
        summary, usage = "", {}
        try:
            result = await agent.run(task, history=[])
            summary = result.final_text or f"(the subagent stopped: {result.stop_reason})"
            usage = dict(result.usage)
            return summary
        except Exception as exc:
            summary = f"the subagent failed: {type(exc).__name__}: {exc}"
            raise
        finally:
            await agent.close()  # its tools; the model is the conversation's, kept open
            self.log.publish("subagent_end", summary=summary[:4000], usage=usage,
                             depth=depth)
