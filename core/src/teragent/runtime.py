"""``AgentRuntime``: what guards and keeps an agent run alive, and how nested runs inherit it.

An agent run is guarded by one :class:`~teragent.guards.GuardChain`, protected by its
circuit breakers, retried by one recovery policy and watched by the audit log. Those
live together in an :class:`AgentRuntime`, built once by the composition root
(:func:`teragent.build_agent` / :func:`teragent.compose.build_runtime`).

While a run executes, its runtime is the *current* one (a context variable, so it
follows the run into every task it starts). An agent run that starts inside it (an
agent used as a tool, a nested orchestration, a delegated run, a pattern's agent)
runs under :meth:`AgentRuntime.nested`: its own guards *after* the parent's, its
breakers *and* the parent's, the parent's observers (audit log, event bus) and
tracers too. A nested run may be stricter; it can never drop a guard.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Iterator

from teragent.guards import BusObserver, GuardChain

__all__ = ["AgentRuntime", "current_runtime", "running"]


@dataclass
class AgentRuntime:
    """The run-wide components an :class:`~teragent.AgentLoop` uses.

    Attributes:
        chain: The guard chain every tool call passes.
        breakers: Circuit breakers (``check_before_call``, ``record_*``) consulted
            before every model call.
        recovery: The recovery manager (retries with backoff honouring
            ``Retry-After``, stream retry then batch, compaction on overflow,
            fallback provider), or ``None``.
        path_policy: The workspace's protected paths (also given to the file tools).
        bus: The event bus of the run that owns this runtime.
        depth: 0 for a top-level run, +1 per nesting.
    """

    chain: GuardChain = field(default_factory=GuardChain)
    breakers: list[Any] = field(default_factory=list)
    recovery: Any = None
    path_policy: Any = None
    bus: Any = None
    depth: int = 0
    #: A client-side rate limiter for the provider (``[rate_limit]``), or ``None``.
    rate_limiter: Any = None
    #: Tracers that record every model call of the run (``teragent_observe_agent``;
    #: the provider asks :func:`current_runtime` for them, see ``set_tracer``).
    tracers: list[Any] = field(default_factory=list)
    #: Variable names ``[sandbox] env`` lets sandboxed commands inherit.
    sandbox_env: tuple[str, ...] = ()
    #: ``[sandbox] backend``: the ``bash`` tool's backend (``None``: the default).
    sandbox_backend: str | None = None
    #: Context management (``teragent_build_context``): ``for_agent(model, bus)``
    #: gives a loop without its own its context window and compactor; or ``None``.
    context: Any = None

    def nested(self, own: "AgentRuntime") -> "AgentRuntime":
        """The runtime of a run started inside this one: ``own`` added to this."""
        observers = [BusObserver(self.bus)] if self.bus is not None else []
        chain = self.chain.extended(observers=observers)
        chain = chain.extended(own.chain.guards, own.chain.observers)
        breakers = list(self.breakers)
        breakers.extend(b for b in own.breakers if not any(b is x for x in breakers))
        tracers = list(self.tracers)
        tracers.extend(t for t in own.tracers if not any(t is x for x in tracers))
        return replace(own, chain=chain, breakers=breakers, tracers=tracers,
                       recovery=own.recovery or self.recovery,
                       path_policy=own.path_policy or self.path_policy, depth=self.depth + 1,
                       sandbox_env=own.sandbox_env or self.sandbox_env,
                       sandbox_backend=own.sandbox_backend or self.sandbox_backend)


_CURRENT: ContextVar[AgentRuntime | None] = ContextVar("teragent_runtime", default=None)


def current_runtime() -> AgentRuntime | None:
    """The runtime of the agent run this code executes in, if any."""
    return _CURRENT.get()


@contextlib.contextmanager
def running(runtime: AgentRuntime) -> Iterator[AgentRuntime]:
    """Make ``runtime`` current for the duration of a run (nested runs see it)."""
    token = _CURRENT.set(runtime)
    try:
        yield runtime
    finally:
        _CURRENT.reset(token)
