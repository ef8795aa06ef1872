"""``AgentLoop``: the tool-calling loop with its cross-cutting concerns.

Per user input::

    classify intent (optional) → filter tools by intent
    loop:
        take a step from the budget (none left → forced final summary)
        compact context (optional), check breakers (optional)
        call the model (streaming, falling back to batch) → text and tool calls
        reply cut off by the output limit → ask it to continue (bounded)
        no tool calls → done
        run the tool calls through the ToolOrchestrator (the guarded path)
        append the results; near the step limit, nudge the model to wrap up

The guarded part (guard chain, circuit breakers, recovery, audit) is an
:class:`~teragent.runtime.AgentRuntime`. :func:`teragent.build_agent` assembles it; a
loop constructed directly builds the same one from ``agent.toml`` and its arguments, so
both are guarded alike. A loop that runs inside another run (an agent used as a tool, a
nested team, a delegated run) adds its guards and breakers to its parent's.

Optional components (intent classifier, compactor, session, ...) that are not given
are simply not used.
"""

from __future__ import annotations

import os
import time
from typing import Any, Iterable

from teragent.agent.calls import ModelCalls
from teragent.config.agent_loop_config import AgentLoopConfig
from teragent.errors import RunCancelled, UserError
from teragent.events import EventBus
from teragent.budget import StepBudget
from teragent.runtime import AgentRuntime, current_runtime, running
from teragent.secrets import redact_arguments, redact_response
from teragent.tools.orchestrator import ToolCallOutcome, ToolOrchestrator
from teragent.tools.registry import ToolRegistry

__all__ = ["AgentLoop", "AgentResult", "DEFAULT_SYSTEM_PROMPT", "SMALL_MODEL_SYSTEM_PROMPT"]

DEFAULT_SYSTEM_PROMPT = (
    "You are TerAgent, a careful assistant working in the directory {workspace}. "
    "Use the tools when they help; call a tool by name with JSON arguments. "
    "When you have the answer, reply with plain text and no tool call."
)
#: The default for a small model (``[tools] profile = "small"``, e.g. the embedded
#: SmolLM2-135M): no workspace path, which a 135M model copies into every path argument.
SMALL_MODEL_SYSTEM_PROMPT = "You are TerAgent, a helpful assistant. Use a tool when it helps."
WRAP_UP_NUDGE = ("You have {n} step(s) left. Finish the task now: make only the tool calls "
                 "you still need, then give your final answer.")
FINAL_SUMMARY_REQUEST = ("You have used all your steps. Do not call any tools. Summarise what "
                         "you did, what you found, and anything left undone.")
CONTINUE_REQUEST = "Your reply was cut off. Continue exactly where you stopped."


class AgentResult(list):  # type: ignore[type-arg]
    """The run's messages (so ``messages = await loop.run(...)`` works), plus what
    happened: ``final_text``, ``stop_reason``, ``steps``, ``tool_outcomes``, ``usage``."""

    def __init__(self, messages: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(messages)
        self.final_text: str = ""
        self.stop_reason: str = ""  # completed | max_steps | cancelled | error
        self.steps: int = 0
        self.model_calls: int = 0
        self.continuations: int = 0
        self.tool_outcomes: list[ToolCallOutcome] = []
        self.usage: dict[str, int] = {"prompt_tokens": 0, "completion_tokens": 0}
        self.intent: str | None = None
        self.duration: float = 0.0

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "final_text": self.final_text, "stop_reason": self.stop_reason,
            "steps": self.steps, "model_calls": self.model_calls,
            "continuations": self.continuations, "usage": dict(self.usage),
            "intent": self.intent, "duration_s": round(self.duration, 3),
            "tool_calls": [
                {"name": o.call.name, "arguments": redact_arguments(o.call.name, o.call.arguments),
                 "success": o.success,
                 "denied": o.denied, "output": o.result.to_text()[:2000]}
                for o in self.tool_outcomes],
        }


class AgentLoop(ModelCalls):
    """Runs one agent: a model, its tools, and optional cross-cutting components.

    Args:
        model: A :class:`~teragent.ModelProvider` (anything with ``complete`` and
            ``stream_chat``).
        tool_registry: The tools offered to the model.
        config: Loop behaviour; see :class:`~teragent.config.AgentLoopConfig`.
        circuit_breaker: Optional; ``check_before_call`` is obeyed before every model
            call and ``record_model_call``/``record_agent_step`` are fed.
        step_budget: Optional; defaults to ``StepBudget(config.max_steps)``.
        permission_manager: Optional permission manager consulted for every tool call
            (replaces the default safety gate).
        context_window, auto_compactor: Optional context management
            (``await auto_compactor.maybe_compact(messages, system_prompt)``).
        intent_classifier: Optional; its intent selects ``config.intent_tools``.
        confirmation_gate: Optional; a CREATE_PROJECT intent runs only after
            ``await confirm_create_project(task)`` says yes.
        streaming_executor: Optional executor that starts tools while the model streams:
            ``await execute_streaming(stream=..., on_text_delta=...)`` returns
            ``(outcomes, response, stats)``; on a stream failure the loop falls back to
            a batch call and the tool orchestrator.
        hook_manager: Optional pre/post tool hooks (added to the guard chain).
        recovery_manager: Optional; an object with ``call_model`` and the
            ``RecoveryManager`` queries (default: whatever ``teragent_build_reliability``
            answers; the teragent-reliability plugin's ``RecoveryManager`` from
            ``[recovery]`` retries transient failures with backoff honouring
            ``Retry-After``, compacts the context on overflow, switches to the fallback
            provider, bounds continuations and stream retries, and adds repair hints to
            failed tool calls). Without one, a broken stream is still retried
            (``streaming_retries``, then a batch call); other failures end the run.
        session: Optional persistence with ``save_message(session_id, message)``; a
            store with ``resume`` (``teragent.session.SessionPersistence``) also brings
            the history of ``session_id`` back (a new session when it is ``None``).
        orchestrator: Optional multi-agent orchestrator for CREATE_PROJECT intents.
        bus: The :class:`~teragent.EventBus` events go to (one is created if omitted).
        tool_orchestrator: A prepared :class:`ToolOrchestrator` (built if omitted).
        guards: Extra guards (e.g. an ApprovalGate), added to the chain.
        runtime: The run's :class:`~teragent.runtime.AgentRuntime` (what
            :func:`teragent.build_agent` passes). When omitted it is built from
            ``agent.toml`` and the arguments above.
    """

    def __init__(
        self,
        model: Any,
        tool_registry: ToolRegistry | None = None,
        config: AgentLoopConfig | None = None,
        *,
        circuit_breaker: Any = None,
        step_budget: StepBudget | None = None,
        permission_manager: Any = None,
        context_window: Any = None,
        auto_compactor: Any = None,
        intent_classifier: Any = None,
        confirmation_gate: Any = None,
        streaming_executor: Any = None,
        hook_manager: Any = None,
        session: Any = None,
        session_id: str | None = None,
        orchestrator: Any = None,
        bus: EventBus | None = None,
        tool_orchestrator: ToolOrchestrator | None = None,
        workspace: str | os.PathLike[str] | None = None,
        recovery_manager: Any = None,
        guards: Iterable[Any] = (),
        runtime: AgentRuntime | None = None,
    ) -> None:
        self.model = model
        self.tools = tool_registry or ToolRegistry()
        self.config = config or AgentLoopConfig()
        self.step_budget = step_budget
        self.context_window = context_window
        self.auto_compactor = auto_compactor
        self.intent_classifier = intent_classifier
        self.confirmation_gate = confirmation_gate
        self.streaming_executor = streaming_executor
        self.hook_manager = hook_manager
        self.session = session
        self.session_id = session_id
        self.orchestrator = orchestrator
        self.bus = bus or EventBus()
        self.workspace = os.fspath(workspace) if workspace else os.getcwd()
        built_here = runtime is None
        if runtime is None:
            from teragent.compose import build_runtime

            runtime = build_runtime(
                None, workspace=self.workspace, loop_config=self.config,
                permission_manager=permission_manager, hook_manager=hook_manager,
                guards=guards, circuit_breaker=circuit_breaker,
                recovery_manager=recovery_manager, bus=self.bus,
                audit=False if tool_orchestrator is not None else None)
            if runtime.path_policy is not None:
                self.tools.bind_path_policy(runtime.path_policy)
        else:
            extra = [g for g in guards]
            if permission_manager is not None or hook_manager is not None or extra:
                from teragent.guards import HookManagerGuard, PermissionManagerGuard

                added = [PermissionManagerGuard(permission_manager)] \
                    if permission_manager is not None else []
                hooks = [HookManagerGuard(hook_manager)] if hook_manager is not None else []
                runtime.chain = runtime.chain.extended([*added, *hooks, *extra], hooks)
            if circuit_breaker is not None and circuit_breaker not in runtime.breakers:
                runtime.breakers.append(circuit_breaker)
            if recovery_manager is not None:
                runtime.recovery = recovery_manager
        if runtime.bus is None:
            runtime.bus = self.bus
        self.runtime = runtime
        self._active = runtime
        if context_window is None and auto_compactor is None and runtime.context is not None:
            self.context_window, self.auto_compactor = runtime.context.for_agent(model, self.bus)
        self.permission_manager = permission_manager or self._decider_manager()
        self.tool_orchestrator = tool_orchestrator or self._build_tool_orchestrator(
            self.tools, runtime)
        if hasattr(streaming_executor, "use_tool_orchestrator"):
            streaming_executor.use_tool_orchestrator(self.tool_orchestrator)
        self._cancel_flag: Any = None  # an asyncio.Event, made on first use
        self.history: list[dict[str, Any]] = []
        if built_here and session is not None and hasattr(session, "resume"):
            # As build_agent does: continuing a session brings its history back.
            from teragent.compose import open_session

            chosen: dict[str, Any] = {"session": session, "session_id": session_id}
            self.history = open_session({}, self.workspace, chosen, bus=self.bus) or []
            self.session, self.session_id = chosen["session"], chosen["session_id"]

    def _decider_manager(self) -> Any:
        from teragent.guards import PermissionManagerGuard

        guard = self.runtime.chain.find(PermissionManagerGuard)
        return guard.manager if guard is not None else None

    @property
    def circuit_breaker(self) -> Any:
        """The run's first circuit breaker (manager), if any."""
        return self.runtime.breakers[0] if self.runtime.breakers else None

    @property
    def guards(self) -> list[Any]:
        return list(self.runtime.chain.guards)

    def _build_tool_orchestrator(self, tools: ToolRegistry,
                                 runtime: AgentRuntime) -> ToolOrchestrator:
        cfg = self.config
        return ToolOrchestrator(
            tools, guard_chain=runtime.chain,
            max_concurrent=cfg.max_concurrent_tools, timeout=cfg.tool_timeout,
            max_output_chars=cfg.max_tool_output_chars, bus=self.bus,
        )

    def cancel(self) -> None:
        """Ask the run to stop at the next safe point (between model and tool calls)."""
        self._cancelled.set()

    # --- helpers ------------------------------------------------------------------

    def system_prompt(self) -> str:
        return (self.config.system_prompt or DEFAULT_SYSTEM_PROMPT).format(
            workspace=self.workspace)

    @property
    def _cancelled(self) -> Any:
        """The run's cancel flag (an :class:`asyncio.Event`): made when first used, so
        building an agent does not import asyncio."""
        if self._cancel_flag is None:
            import asyncio

            self._cancel_flag = asyncio.Event()
        return self._cancel_flag

    def _check_cancelled(self, result: AgentResult) -> None:
        if self._cancelled.is_set():
            result.stop_reason = "cancelled"
            raise RunCancelled("the run was cancelled", state={"steps": result.steps})

    async def _save(self, message: dict[str, Any]) -> None:
        if self.session is not None and self.session_id is not None:
            out = self.session.save_message(self.session_id, message)
            import asyncio  # (imported by the running loop already)

            if asyncio.iscoroutine(out):
                await out

    async def _append(self, messages: list[dict[str, Any]], message: dict[str, Any]) -> None:
        messages.append(message)
        await self._save(message)

    async def _checkpoint(self, messages: list[dict[str, Any]]) -> None:
        """After a compaction, a session that keeps checkpoints (``save_checkpoint``)
        records the compacted conversation: continuing it starts from there."""
        save = getattr(self.session, "save_checkpoint", None)
        if save is not None and self.session_id is not None:
            out = save(self.session_id, [m for m in messages if m.get("role") != "system"])
            import asyncio  # (imported by the running loop already)

            if asyncio.iscoroutine(out):
                await out

    # --- the loop ------------------------------------------------------------------------

    async def run(self, user_input: str, *,
                  history: list[dict[str, Any]] | None = None) -> AgentResult:
        """Run the agent on ``user_input`` and return the conversation (an
        :class:`AgentResult`, which is the message list plus run facts).

        Inside another agent's run (this loop is an agent used as a tool, a team
        member, a delegated run) the parent's guards, breakers and observers apply
        too, before this loop's own."""
        if not isinstance(user_input, str) or not user_input.strip():
            raise UserError("The task is empty; pass what the agent should do, e.g. "
                            "loop.run(\"List the Python files here\").")
        parent = current_runtime()
        active = parent.nested(self.runtime) if parent is not None \
            and parent is not self.runtime else self.runtime
        self._active = active
        try:
            with running(active):
                return await self._run(user_input, history)
        finally:
            self._active = self.runtime

    def _orchestrator_for(self, tools: ToolRegistry) -> ToolOrchestrator:
        base = self.tool_orchestrator
        if tools is self.tools and self._active is self.runtime:
            return base
        chain = self._active.chain if base.chain is self.runtime.chain \
            else self._active.chain.extended(base.chain.guards, base.chain.observers)
        return ToolOrchestrator(tools, guard_chain=chain, max_concurrent=base.max_concurrent,
                                timeout=base.timeout, max_output_chars=base.max_output_chars,
                                bus=self.bus)

    async def _run(self, user_input: str,
                   history: list[dict[str, Any]] | None) -> AgentResult:
        import asyncio  # here, not at import: building an agent does not need it

        self._cancelled.clear()
        started = time.perf_counter()
        budget = self.step_budget or StepBudget(self.config.max_steps)
        result = AgentResult()
        tools = self.tools
        if self.intent_classifier is not None:
            intent = await self.intent_classifier.classify(user_input)
            result.intent = getattr(intent, "value", str(intent)).lower()
            allowed = self.config.intent_tools.get(result.intent)
            if allowed is not None:
                tools = self.tools.filtered(allowed)
            if result.intent == "create_project" and self.confirmation_gate is not None:
                if not await self.confirmation_gate.confirm_create_project(user_input):
                    await self.bus.emit("not_confirmed", intent=result.intent)
                    result.final_text = ("Not creating the project: it was not confirmed.")
                    result.stop_reason = "not_confirmed"
                    return result
            if result.intent == "create_project" and self.orchestrator is not None:
                await self.bus.emit("delegated", intent=result.intent)
                out = await self.orchestrator.run(user_input)
                result.final_text = str(getattr(out, "final_output", out))
                result.stop_reason = "delegated"
                return result
        orchestrator = self._orchestrator_for(tools)
        if self.streaming_executor is not None and \
                hasattr(self.streaming_executor, "use_tool_orchestrator"):
            # Tools started during a stream take this run's guarded path too.
            self.streaming_executor.use_tool_orchestrator(orchestrator)
        schemas = tools.get_schemas() or None
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system_prompt()}]
        messages.extend(history if history is not None else self.history)
        await self._append(messages, {"role": "user", "content": user_input})
        await self.bus.emit("agent_start", task=user_input, tools=tools.list_tool_names())
        nudged = False
        try:
            while True:
                self._check_cancelled(result)
                if not budget.consume():
                    await self._final_summary(messages, result)
                    break
                result.steps = budget.current_steps
                await self.bus.emit("step_start", step=result.steps, remaining=budget.remaining)
                if (not nudged and schemas and self.config.wrap_up_steps
                        and budget.remaining <= self.config.wrap_up_steps):
                    nudged = True
                    await self._append(messages, {"role": "user", "content":
                                                  WRAP_UP_NUDGE.format(n=budget.remaining + 1)})
                    await self.bus.emit("wrap_up", remaining=budget.remaining + 1)
                if self.auto_compactor is not None:
                    compacted = await self.auto_compactor.maybe_compact(messages,
                                                                        self.system_prompt())
                    if compacted:
                        messages[:] = compacted
                        await self._checkpoint(messages)
                elif self.context_window is not None and \
                        self.context_window.should_compact(messages):
                    await self.bus.emit("context_near_limit", step=result.steps)
                if self.streaming_executor is not None and schemas:
                    streamed = await self._stream_with_executor(messages, schemas, result)
                    if streamed is not None:
                        response, outcomes = streamed
                        # kept for later calls, sessions and traces: sensitive
                        # arguments redacted (the tools ran with the real ones)
                        await self._append(messages, redact_response(response).to_message())
                        if not response.tool_calls:
                            result.final_text = response.raw_text or ""
                            result.stop_reason = "completed"
                            break
                        result.tool_outcomes.extend(outcomes)
                        for outcome in outcomes:
                            await self._append(messages, outcome.to_message())
                            self._feed("record_agent_step", outcome.call.name,
                                       had_effect=outcome.success)
                        continue
                response = await self._call_model(messages, schemas, result)
                text = response.raw_text or ""
                while (not response.tool_calls and self._should_continue(response, result)):
                    self._check_cancelled(result)
                    result.continuations += 1
                    await self.bus.emit("continuation", count=result.continuations)
                    # Not saved to the session: the continuation replaces this pair.
                    messages.append({"role": "assistant", "content": text})
                    messages.append({"role": "user", "content": CONTINUE_REQUEST})
                    response = await self._call_model(messages, schemas, result)
                    # The continuation replaces the partial pair: one coherent answer.
                    messages.pop()
                    messages.pop()
                    text += response.raw_text or ""
                # kept for later calls, sessions and traces: sensitive arguments
                # (BaseTool.sensitive_params) redacted; the tools get the real ones
                assistant = redact_response(response).to_message()
                assistant["content"] = text
                await self._append(messages, assistant)
                if not response.tool_calls:
                    result.final_text = text
                    result.stop_reason = "completed"
                    break
                self._check_cancelled(result)
                outcomes = await orchestrator.execute_batch(response.tool_calls)
                result.tool_outcomes.extend(outcomes)
                for outcome in outcomes:
                    message = outcome.to_message()
                    if self.recovery_manager is not None:
                        message = self.recovery_manager.repair_tool_message(outcome, message)
                    await self._append(messages, message)
                    self._feed("record_agent_step", outcome.call.name,
                               had_effect=outcome.success)
        except (asyncio.CancelledError, RunCancelled):
            result.stop_reason = "cancelled"
            await self.bus.emit("agent_cancelled", steps=result.steps)
            raise
        except Exception as exc:
            result.stop_reason = result.stop_reason or "error"
            await self.bus.emit("agent_error", error=exc, steps=result.steps)
            raise
        finally:
            result[:] = messages
            result.duration = time.perf_counter() - started
            self.history = [m for m in messages if m.get("role") != "system"]
        await self.bus.emit("agent_done", result=result, total_steps=result.steps)
        return result

    async def _final_summary(self, messages: list[dict[str, Any]], result: AgentResult) -> None:
        result.stop_reason = "max_steps"
        if not self.config.final_summary:
            result.final_text = ""
            return
        await self.bus.emit("budget_exhausted", steps=result.steps)
        await self._append(messages, {"role": "user", "content": FINAL_SUMMARY_REQUEST})
        response = await self._call_model(messages, None, result)
        text = response.raw_text or ""
        await self._append(messages, {"role": "assistant", "content": text})
        result.final_text = text

    async def close(self) -> None:
        """Stop the tools' packs (the provider stays open: it may be shared)."""
        await self.tools.stop()

    async def aclose(self) -> None:
        """Stop the tools and close the provider (what :func:`teragent.build_agent`
        users call when done; ``async with`` does it too)."""
        await self.close()
        close = getattr(self.model, "close", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> "AgentLoop":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

