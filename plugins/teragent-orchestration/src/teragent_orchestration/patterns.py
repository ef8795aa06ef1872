"""The five standard patterns. Each decides who runs when; every turn goes through
``ctx.run_agent`` (an AgentLoop on the guarded tool path), never a model or a tool
directly. Step keys are stable, so a checkpointed run resumes after its completed
steps.

Options (``Orchestrator(..., **options)`` or ``run(task, **options)``):

- sequential: ``order`` (agent names).
- swarm: ``start_agent``, ``max_handoffs`` (default 10).
- parallel: ``merge`` (a function ``merge(outputs: dict) -> str``, sync or async, or
  an agent / agent name), ``merge_agent``, ``max_concurrency``.
- conditional: ``router`` (an agent / agent name, or a function
  ``router(task, names) -> name``), ``default_agent``.
- loop: ``generator``, ``critic``, ``max_iterations`` (default 5), ``exit_condition``
  (``fn(critique, draft, iteration) -> bool``, sync or async) or ``approval_phrase``
  (default ``"APPROVED"``).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from teragent.errors import MaxStepsExceeded, UserError
from teragent_orchestration.agent import Agent, Handoff
from teragent_orchestration.events import HandoffEvent, IterationEvent
from teragent_orchestration.hooks import call_hooks
from teragent_orchestration.pattern import Pattern

__all__ = ["SequentialPattern", "SwarmPattern", "ParallelPattern", "ConditionalPattern",
           "LoopPattern"]


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _ref_is_agent(value: Any) -> bool:
    return isinstance(value, (Agent, str))


class SequentialPattern(Pattern):
    """A → B → C: each agent gets the task and the previous agent's output."""

    name = "sequential"

    async def run(self, ctx: Any, task: str) -> str:
        order = [ctx.agent(n) for n in ctx.option("order", [])] or ctx.agent_list
        output, previous = "", None
        for i, agent in enumerate(order):
            text = task if previous is None else (
                f"{task}\n\nOutput of the previous agent ({previous}):\n{output}")
            result = await ctx.run_agent(agent, text, step=f"sequential:{i}:{agent.name}")
            output, previous = result.output, agent.name
        return output


class SwarmPattern(Pattern):
    """Agents pass control with ``transfer_to_<agent>`` tool calls; the agent that
    answers without handing off gives the final output."""

    name = "swarm"

    async def run(self, ctx: Any, task: str) -> str:
        current = ctx.agent(ctx.option("start_agent") or ctx.agent_list[0])
        limit = int(ctx.option("max_handoffs", 10))
        history: list[dict[str, Any]] = []
        text, hops = task, 0
        while True:
            result = await ctx.run_agent(current, text, step=f"swarm:{hops}:{current.name}",
                                         history=history, handoffs=True)
            if result.handoff is None:
                return str(result.output)
            if hops >= limit:
                raise MaxStepsExceeded(
                    f"the swarm reached its limit of {limit} handoffs (last: "
                    f"{current.name} → {result.handoff['target']}); raise max_handoffs or "
                    "give the agents clearer instructions",
                    state={"handoffs": hops, "agent": current.name})
            target = ctx.agent(result.handoff["target"])
            handoff = next((h for h in current.handoffs
                            if h.tool_name == result.handoff["tool_name"]),
                           Handoff(target_agent=target.name))
            reason = result.handoff.get("reason") or ""
            ctx.emit(HandoffEvent(current.name, target.name, handoff.tool_name, reason))
            await call_hooks([current.hooks, ctx.orchestrator.hooks], "on_handoff", ctx,
                             current, target)
            history = handoff.filter(result.messages)
            text = (f"The conversation was transferred to you ({target.name}) by "
                    f"{current.name}." + (f" Note: {reason}" if reason else "")
                    + f" Continue the task: {task}")
            current, hops = target, hops + 1


class ParallelPattern(Pattern):
    """Fan-out: every agent (but the merge agent) works on the task at the same time;
    fan-in: a merge function or merge agent combines their outputs."""

    name = "parallel"

    async def run(self, ctx: Any, task: str) -> str:
        merge = ctx.option("merge")
        merge_agent = ctx.option("merge_agent")
        if merge is not None and _ref_is_agent(merge):
            merge_agent, merge = merge, None
        merger = ctx.agent(merge_agent) if merge_agent is not None else None
        branches = [a for a in ctx.agent_list if merger is None or a.name != merger.name]
        if not branches:
            raise UserError("The parallel pattern needs at least one agent besides the "
                            "merge agent.")
        limit = ctx.option("max_concurrency")
        gate = asyncio.Semaphore(int(limit)) if limit else None

        async def branch(agent: Agent) -> Any:
            if gate is None:
                return await ctx.run_agent(agent, task, step=f"parallel:{agent.name}")
            async with gate:
                return await ctx.run_agent(agent, task, step=f"parallel:{agent.name}")

        results = await ctx.gather(*(branch(a) for a in branches))
        outputs = {r.agent: str(r.output) for r in results}
        ctx.state.set("parallel_outputs", outputs)
        if merge is not None:
            return str(await _resolve(merge(outputs)))
        joined = "\n\n".join(f"## {name}\n{text}" for name, text in outputs.items())
        if merger is None:
            return joined
        result = await ctx.run_agent(
            merger, f"{task}\n\nCombine these results into one answer:\n\n{joined}",
            step="parallel:merge")
        return str(result.output)


class ConditionalPattern(Pattern):
    """A router picks one agent for the task: a router agent (choosing with a
    ``transfer_to_<agent>`` tool call, or by naming the agent) or a function."""

    name = "conditional"

    async def run(self, ctx: Any, task: str) -> str:
        router = ctx.option("router")
        if router is not None and not _ref_is_agent(router):
            names = [a.name for a in ctx.agent_list]
            chosen_name = str(await _resolve(router(task, names)))
            source, reason = "router function", ""
        else:
            router_agent = ctx.agent(router or ctx.agent_list[0])
            candidates = [a for a in ctx.agent_list if a.name != router_agent.name]
            if not candidates:
                raise UserError("The conditional pattern needs a router and at least one "
                                "agent to route to.")
            handoffs = [Handoff(target_agent=a.name, description=(
                f"Give the task to {a.name}: {a.description or a.instructions[:200]}"))
                for a in candidates]
            menu = "\n".join(f"- {a.name}: {a.description or a.instructions[:200]}"
                             for a in candidates)
            prompt = (f"{task}\n\nChoose the agent that should handle this task and call "
                      f"its transfer_to_<agent> tool (or answer with its name only):\n{menu}")
            result = await ctx.run_agent(router_agent, prompt, step="conditional:router",
                                         handoffs=handoffs)
            source = router_agent.name
            if result.handoff is not None:
                chosen_name, reason = result.handoff["target"], result.handoff["reason"]
            else:
                reason = "named in the router's answer"
                chosen_name = self._named(result.output, candidates) or str(
                    ctx.option("default_agent") or candidates[0].name)
        chosen = ctx.agent(chosen_name)
        ctx.state.set("route", chosen.name)
        ctx.emit(HandoffEvent(source, chosen.name, "", reason))
        final = await ctx.run_agent(chosen, task, step=f"conditional:{chosen.name}")
        return str(final.output)

    @staticmethod
    def _named(text: str, candidates: list[Agent]) -> str | None:
        low = (text or "").lower()
        hits = [(low.find(a.name.lower()), a.name) for a in candidates
                if a.name.lower() in low]
        return min(hits)[1] if hits else None


class LoopPattern(Pattern):
    """Generator-critic rounds: the generator drafts, the critic reviews; stop when
    the exit condition holds or after ``max_iterations`` rounds."""

    name = "loop"

    async def run(self, ctx: Any, task: str) -> str:
        agents = ctx.agent_list
        if len(agents) < 2 and not (ctx.option("generator") and ctx.option("critic")):
            raise UserError("The loop pattern needs a generator and a critic agent.")
        generator = ctx.agent(ctx.option("generator") or agents[0])
        critic = ctx.agent(ctx.option("critic") or agents[1])
        bound = int(ctx.option("max_iterations", 5))
        if bound < 1:
            raise UserError("max_iterations must be at least 1.")
        exit_condition = ctx.option("exit_condition")
        phrase = str(ctx.option("approval_phrase", "APPROVED"))
        draft, critique = "", None
        for i in range(1, bound + 1):
            ctx.iterations = i
            text = task if critique is None else (
                f"{task}\n\nYour previous draft:\n{draft}\n\nReviewer feedback:\n{critique}"
                "\n\nRevise the draft.")
            draft = str((await ctx.run_agent(generator, text, step=f"loop:{i}:generate")).output)
            review = (f"Task: {task}\n\nDraft to review:\n{draft}\n\nIf the draft is good, "
                      f"reply {phrase}. Otherwise give concrete feedback.")
            critique = str((await ctx.run_agent(critic, review, step=f"loop:{i}:critique")).output)
            if exit_condition is not None:
                done = bool(await _resolve(exit_condition(critique, draft, i)))
            else:
                done = phrase.lower() in critique.lower()
            ctx.emit(IterationEvent(i, generator.name, done))
            if done:
                ctx.stop_reason = "exit_condition"
                return draft
        ctx.stop_reason = "max_iterations"
        return draft
