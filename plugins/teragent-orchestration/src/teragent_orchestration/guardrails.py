"""Guardrails: input/output tripwires checked in parallel, fail-fast.

A guardrail looks at an agent's input (before it runs) or its output (before the
output is passed on) and either passes or trips. All guardrails of a kind run
concurrently; the first one to trip cancels the others and raises
:class:`~teragent.errors.GuardrailTripped` (carrying the guardrail, the agent and
the reason in ``state``). Guardrails must not have side effects.

Example::

    @input_guardrail
    def no_secrets(text, ctx):
        return "password" in text.lower()       # True trips

    agent = Agent(name="chat", provider=model, guardrails=[no_secrets])
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Literal, Sequence

from teragent.errors import GuardrailTripped, UserError

__all__ = ["Guardrail", "GuardrailResult", "input_guardrail", "output_guardrail",
           "run_guardrails", "resolve_guardrails"]

Kind = Literal["input", "output"]


@dataclass
class GuardrailResult:
    tripped: bool
    reason: str = ""
    info: Any = None


class Guardrail:
    """Base class: override :meth:`check` (sync or async), or pass ``fn``.

    Args:
        fn: ``fn(text, ctx)`` returning a bool (True trips), a reason string (trips),
            ``None`` (passes) or a :class:`GuardrailResult`.
        kind: ``"input"`` or ``"output"``.
        name: Shown in errors and events.
    """

    kind: Kind = "input"
    name: str = ""

    def __init__(self, fn: Callable[..., Any] | None = None, *, kind: Kind | None = None,
                 name: str | None = None) -> None:
        self.fn = fn
        if kind is not None:
            self.kind = kind
        if self.kind not in ("input", "output"):
            raise UserError(f"A guardrail's kind is 'input' or 'output', not {self.kind!r}.")
        self.name = name or self.name or getattr(fn, "__name__", "") or type(self).__name__

    async def check(self, text: str, ctx: Any = None) -> Any:
        if self.fn is None:
            raise NotImplementedError(f"{type(self).__name__} must override check()")
        out = self.fn(text, ctx)
        if inspect.isawaitable(out):
            out = await out
        return out

    async def evaluate(self, text: str, ctx: Any = None) -> GuardrailResult:
        out = await self.check(text, ctx)
        if isinstance(out, GuardrailResult):
            return out
        if out is None or out is False:
            return GuardrailResult(False)
        if out is True:
            return GuardrailResult(True, f"{self.name} tripped")
        return GuardrailResult(True, str(out))

    def __repr__(self) -> str:
        return f"Guardrail({self.name!r}, kind={self.kind!r})"


def input_guardrail(fn: Callable[..., Any]) -> Guardrail:
    """Decorator: ``fn(text, ctx)`` becomes an input guardrail."""
    return Guardrail(fn, kind="input")


def output_guardrail(fn: Callable[..., Any]) -> Guardrail:
    """Decorator: ``fn(text, ctx)`` becomes an output guardrail."""
    return Guardrail(fn, kind="output")


def resolve_guardrails(items: Iterable[Any]) -> list[Guardrail]:
    """Accept :class:`Guardrail` objects, classes, and names registered through the
    ``teragent_register_guardrails`` hook."""
    out: list[Guardrail] = []
    for item in items:
        if isinstance(item, str):
            from teragent_orchestration._registry import registry

            item = registry("guardrails").get(item)
        if isinstance(item, type):
            item = item()
        if not isinstance(item, Guardrail):
            if callable(getattr(item, "check", None)):
                item = Guardrail(item.check, kind=getattr(item, "kind", "input"),
                                 name=getattr(item, "name", type(item).__name__))
            else:
                raise UserError(f"{item!r} is not a guardrail; subclass "
                                "teragent.orchestration.Guardrail or use @input_guardrail.")
        out.append(item)
    return out


async def run_guardrails(guardrails: Sequence[Guardrail], kind: Kind, text: str,
                         ctx: Any = None, *, agent: str = "",
                         on_trip: Callable[[Guardrail, GuardrailResult],
                                           Awaitable[None]] | None = None) -> None:
    """Run every guardrail of ``kind`` concurrently; raise on the first trip.

    Raises:
        GuardrailTripped: with ``state={"guardrail", "kind", "agent", "reason"}``. A
            guardrail that raises counts as tripped (fail closed).
    """
    chosen = [g for g in guardrails if g.kind == kind]
    if not chosen:
        return

    async def one(g: Guardrail) -> tuple[Guardrail, GuardrailResult]:
        try:
            return g, await g.evaluate(text, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken guardrail trips (fail closed)
            return g, GuardrailResult(True, f"{g.name} failed: {type(exc).__name__}: {exc}")

    tasks = [asyncio.ensure_future(one(g)) for g in chosen]
    try:
        for next_done in asyncio.as_completed(tasks):
            g, result = await next_done
            if result.tripped:
                if on_trip is not None:
                    await on_trip(g, result)
                where = f" on agent {agent!r}" if agent else ""
                raise GuardrailTripped(
                    f"{kind} guardrail {g.name!r} tripped{where}: {result.reason}",
                    state={"guardrail": g.name, "kind": kind, "agent": agent,
                           "reason": result.reason, "info": result.info})
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
