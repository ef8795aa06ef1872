"""``HookManager``, ``Hook``, ``PythonHook`` and the decisions hooks return.

Hooks run at three points of every tool call that goes through the
:class:`~teragent.tools.orchestrator.ToolOrchestrator`:

``pre_execute``
    Before the tool runs, after the permission checks. A hook may allow, deny (with a
    reason the model reads) or modify the parameters. Hooks run in registration order;
    the first DENY stops the chain; a MODIFY hands the changed parameters to the next
    hook. A hook that raises or times out *denies* (fail closed) unless it was
    registered with ``fail_open=True``.
``post_execute``
    After the tool ran; the context carries ``result``. Observers: results and
    exceptions are logged and ignored.
``execute_denied``
    A call that did *not* run: refused by a guard, by a hook, or rejected as an
    unknown tool or invalid arguments. The context carries ``reason`` and ``source``.
    Observers, like ``post_execute``.

So an observer that handles ``post_execute`` and ``execute_denied`` (the
:class:`~teragent.hooks.AuditHook`) sees every attempt exactly once.
"""

from __future__ import annotations

import abc
import asyncio
import fnmatch
import inspect
import logging
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Iterable

__all__ = ["HookDecision", "HookResult", "Hook", "PythonHook", "HookManager", "HOOK_EVENTS"]

logger = logging.getLogger("teragent.hooks")

HOOK_EVENTS = ("pre_execute", "post_execute", "execute_denied")
_DECIDING = frozenset({"pre_execute"})


class HookDecision(str, Enum):
    """What a ``pre_execute`` hook decided."""

    ALLOW = "allow"
    DENY = "deny"
    MODIFY = "modify"


@dataclass
class HookResult:
    """A decision with its reason and, for MODIFY, the new parameters.

    Compares equal to its :class:`HookDecision` (``result == HookDecision.DENY``), so
    code written against the bare enum keeps working.
    """

    decision: HookDecision = HookDecision.ALLOW
    reason: str = ""
    params: dict[str, Any] | None = None
    hook: str = ""
    #: Every hook that ran, in order, with its own decision (for logs and tests).
    trail: list[tuple[str, str]] = field(default_factory=list)

    @property
    def value(self) -> str:
        return self.decision.value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (HookDecision, str)):
            return self.decision == other
        if isinstance(other, HookResult):
            return (self.decision, self.reason, self.params) == \
                (other.decision, other.reason, other.params)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def allow(cls) -> HookResult:
        return cls(HookDecision.ALLOW)

    @classmethod
    def deny(cls, reason: str) -> HookResult:
        return cls(HookDecision.DENY, reason)

    @classmethod
    def modify(cls, params: dict[str, Any], reason: str = "") -> HookResult:
        return cls(HookDecision.MODIFY, reason, dict(params))


def coerce_result(out: Any, hook_name: str) -> HookResult:
    """Accept ``None`` (allow), a :class:`HookDecision`, a :class:`HookResult`, a bool,
    a ``(decision, reason)`` pair, or a dict with ``decision``/``reason``/``params``."""
    if out is None or out is True:
        return HookResult.allow()
    if out is False:
        return HookResult.deny(f"denied by hook {hook_name!r}")
    if isinstance(out, HookResult):
        return out
    if isinstance(out, HookDecision):
        return HookResult(out, "" if out != HookDecision.DENY else f"denied by hook {hook_name!r}")
    if isinstance(out, tuple) and len(out) == 2:
        decision, reason = out
        return HookResult(HookDecision(str(getattr(decision, "value", decision)).lower()),
                          str(reason or ""))
    if isinstance(out, dict):
        decision = HookDecision(str(out.get("decision", "allow")).lower())
        params = out.get("params")
        if decision == HookDecision.MODIFY and not isinstance(params, dict):
            raise ValueError(f"hook {hook_name!r} answered MODIFY without a 'params' object")
        return HookResult(decision, str(out.get("reason") or ""), params)
    raise TypeError(f"hook {hook_name!r} returned {type(out).__name__}; return None, a "
                    "HookDecision, a HookResult or a dict with 'decision'")


class Hook(abc.ABC):
    """Base class of hooks.

    Args:
        name: Shown in logs, denials and the audit trail.
        matcher: Tool-name glob (``"*"``, ``"bash"``, ``"write_*"``); other tools skip
            this hook.
        timeout: Seconds before the hook is abandoned (a ``pre_execute`` hook that
            times out denies unless ``fail_open``).
        fail_open: Let the call through when this hook fails. Default: deny.
    """

    #: Events this hook handles when registered without naming one.
    events: tuple[str, ...] = ("pre_execute",)

    def __init__(self, *, name: str | None = None, matcher: str = "*",
                 timeout: float = 30.0, fail_open: bool = False) -> None:
        self.name = name or type(self).__name__
        self.matcher = matcher
        self.timeout = timeout
        self.fail_open = fail_open

    def matches(self, tool_name: str) -> bool:
        return fnmatch.fnmatchcase(tool_name or "", self.matcher)

    @abc.abstractmethod
    async def run(self, event: str, context: dict[str, Any]) -> Any:
        """Handle ``event``; return ``None``/a :class:`HookDecision`/a :class:`HookResult`."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} matcher={self.matcher!r}>"


class PythonHook(Hook):
    """A hook made of a Python callable ``fn(context)`` or ``fn(event, context)``,
    sync or async."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None,
                 events: Iterable[str] | None = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", "python_hook"), **kwargs)
        self.fn = fn
        if events is not None:
            self.events = tuple(events)
        try:
            params = inspect.signature(fn).parameters
            self._two_args = len([p for p in params.values()
                                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) >= 2
        except (TypeError, ValueError):
            self._two_args = False

    async def run(self, event: str, context: dict[str, Any]) -> Any:
        out = self.fn(event, context) if self._two_args else self.fn(context)
        if inspect.isawaitable(out):
            out = await out
        return out


class HookManager:
    """Holds hooks per event and runs them.

    Plugs straight into ``ToolOrchestrator(hook_manager=...)`` and
    ``AgentLoop(hook_manager=...)``.
    """

    def __init__(self) -> None:
        self._hooks: dict[str, list[Hook]] = {e: [] for e in HOOK_EVENTS}

    def register_hook(self, event: str | None, hook: Hook | Callable[..., Any]) -> Hook:
        """Add ``hook`` for ``event`` (``None``: every event the hook declares).

        A plain callable is wrapped in a :class:`PythonHook`.
        """
        if not isinstance(hook, Hook):
            if not callable(hook):
                raise TypeError(f"a hook must be a Hook or a callable, not {type(hook).__name__}")
            hook = PythonHook(hook)
        events = hook.events if event is None else (event,)
        for e in events:
            if e not in self._hooks:
                raise ValueError(f"unknown hook event {e!r}; known: {', '.join(HOOK_EVENTS)}")
            self._hooks[e].append(hook)
        return hook

    def unregister_hook(self, hook: Hook) -> None:
        for hooks in self._hooks.values():
            while hook in hooks:
                hooks.remove(hook)

    def hooks(self, event: str) -> list[Hook]:
        return list(self._hooks.get(event, []))

    def clear(self) -> None:
        for hooks in self._hooks.values():
            hooks.clear()

    async def run_hooks(self, event: str, context: dict[str, Any]) -> HookResult:
        """Run the hooks of ``event`` on ``context`` and return the combined decision.

        For ``pre_execute``: DENY from the first hook that denies; else MODIFY (with the
        final parameters) when any hook changed them; else ALLOW. Other events are
        observed: the result is always ALLOW.
        """
        if event not in self._hooks:
            raise ValueError(f"unknown hook event {event!r}; known: {', '.join(HOOK_EVENTS)}")
        deciding = event in _DECIDING
        tool_name = str(context.get("tool_name", ""))
        ctx = dict(context)
        ctx["event"] = event
        if isinstance(ctx.get("params"), dict):
            ctx["params"] = dict(ctx["params"])
        modified = False
        trail: list[tuple[str, str]] = []
        for hook in list(self._hooks[event]):
            if not hook.matches(tool_name):
                continue
            try:
                out = await asyncio.wait_for(hook.run(event, ctx), hook.timeout)
                result = coerce_result(out, hook.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a failing hook is reported, not raised
                what = ("timed out after %gs" % hook.timeout
                        if isinstance(exc, asyncio.TimeoutError) else f"failed: {exc}")
                logger.warning("hook %s (%s) %s", hook.name, event, what)
                if deciding and not hook.fail_open:
                    trail.append((hook.name, "deny"))
                    return HookResult(HookDecision.DENY, f"hook {hook.name!r} {what}",
                                      hook=hook.name, trail=trail)
                trail.append((hook.name, "error"))
                continue
            trail.append((hook.name, result.decision.value))
            if not deciding:
                continue
            if result.decision == HookDecision.DENY:
                return HookResult(HookDecision.DENY,
                                  result.reason or f"denied by hook {hook.name!r}",
                                  hook=hook.name, trail=trail)
            if result.decision == HookDecision.MODIFY and result.params is not None:
                ctx["params"] = dict(result.params)
                modified = True
        if modified:
            return HookResult(HookDecision.MODIFY, "parameters modified by a hook",
                              dict(ctx["params"]), trail=trail)
        return HookResult(HookDecision.ALLOW, trail=trail)
