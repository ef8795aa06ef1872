"""The orchestration-pattern contract suite: every pattern plugin runs it on its patterns.

A pattern registers through ``teragent_register_patterns`` under the mode name users
pass to :class:`~teragent.orchestration.Orchestrator`. The opt-in is one subclass naming
the mode; override :meth:`PatternContract.agents` when the pattern needs agents of a
particular shape (a router that hands off, a critic that approves)::

    from teragent_testing.pattern_contract import PatternContract

    class TestRoundRobin(PatternContract):
        mode = "round_robin"

What every pattern must do, run with :class:`~teragent.testing.ScriptedModel` agents
(no network, no key):

- **complete**: the run ends with a non-empty final output, in its mode, and every
  agent's scripted model answered only the steps it was given (a pattern that calls a
  model more often than it should fails with "unexpected call");
- **inherit the parent's guards**: an agent of the pattern asks for a DESTRUCTIVE tool;
  the orchestrator's permission manager and audit hook (its guards) refuse and record
  it, the tool never runs, and the refusal goes back to the model as the tool result.
  A pattern that runs agents or tools around ``ctx.run_agent`` fails here.

This module needs teragent-orchestration (``Agent``, ``Orchestrator``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, ClassVar

from teragent.orchestration import Agent, Orchestrator
from teragent.testing import ScriptedModel, call_tool, reply
from teragent_testing.security import SecurityFixture, security_fixture

__all__ = ["PatternContract", "WIPE"]

#: The call every pattern's agents make in the guard test.
WIPE = ("wipe_directory", {"path": "important"})


class PatternContract:
    """Properties every orchestration pattern must have; subclasses set ``mode``."""

    mode: ClassVar[str] = ""
    #: Extra ``Orchestrator`` keyword arguments (``max_iterations``, ...).
    options: ClassVar[dict[str, Any]] = {}

    def agents(self, fx: SecurityFixture | None) -> list[Agent]:
        """The agents of one run. With ``fx``, one of them calls :data:`WIPE` (with
        ``fx.registry`` as its tools) before replying; without, they only reply.
        The default, two agents that each answer once, suits patterns that run every
        agent once (sequential, parallel)."""
        first = [call_tool(*WIPE), reply("a done")] if fx else [reply("a done")]
        return [Agent(name="a", provider=ScriptedModel(first),
                      tools=fx.registry if fx else None),
                Agent(name="b", provider=ScriptedModel([reply("b done")]))]

    def _run(self, agents: list[Agent], **kwargs: Any) -> Any:
        assert self.mode, "set PatternContract.mode to the registered pattern name"
        orch = Orchestrator(agents, mode=self.mode, **self.options, **kwargs)
        return asyncio.run(orch.run("contract task"))

    def test_completes_with_scripted_models(self) -> None:
        agents = self.agents(None)
        result = self._run(agents)
        assert isinstance(result.final_output, str) and result.final_output.strip(), \
            f"{self.mode}: no final output"
        assert str(result.mode) == self.mode or getattr(result.mode, "value", None) == self.mode

    def test_inherits_the_parents_guards(self, tmp_path: Path) -> None:
        fx = security_fixture(tmp_path)
        agents = self.agents(fx)
        result = self._run(agents, permission_manager=fx.permission_manager,
                           hook_manager=fx.hook_manager, workspace=tmp_path)
        record = fx.assert_blocked_and_audited()
        assert record["tool_name"] == WIPE[0]
        assert not any(e.type == "tool_start" and e.tool_name == WIPE[0]
                       for e in result.trace), f"{self.mode}: the destructive tool started"
        assert [e.tool_name for e in result.trace if e.type == "tool_denied"] == [WIPE[0]]
        callers = [a for a in agents if isinstance(a.provider, ScriptedModel)
                   and any(m["role"] == "tool" for r in a.provider.requests
                           for m in r.as_messages())]
        assert callers, f"{self.mode}: the refusal never reached the model"
        last = [m for m in callers[0].provider.requests[-1].as_messages()
                if m["role"] == "tool"]
        assert "Permission denied" in last[-1]["content"]
