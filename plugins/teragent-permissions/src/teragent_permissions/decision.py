"""How an :class:`~teragent_permissions.manager.EnhancedPermissionManager` decides one
call: the layer stack (built-in and plugin layers by priority), the first deciding
layer's answer, every layer's review of an allow, and the worst answer over the call's
paths. The protocol and how answers combine: :mod:`teragent_permissions.layers`.
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from typing import Any, Callable

from teragent.core.types import ToolSafety
from teragent.errors import PermissionDenied
from teragent.security.paths import canonical_path

from teragent_permissions.layers import BUILTIN_LAYERS
from teragent_permissions.rules import EFFECT_SEVERITY, PermissionEffect, PermissionLevel


def _normalize(out: Any) -> tuple[PermissionEffect, str] | None:
    if out is None:
        return None
    if isinstance(out, tuple) and len(out) == 2:
        allowed, reason = out
    else:
        allowed, reason = out, ""
    if allowed is None:
        return None
    if isinstance(allowed, PermissionEffect):
        effect = allowed
    elif isinstance(allowed, str):
        effect = PermissionEffect(allowed.lower())
    else:
        effect = PermissionEffect.ALLOW if allowed else PermissionEffect.DENY
    return effect, str(reason or "")


class _Layer:
    __slots__ = ("name", "priority", "stage", "obj")

    def __init__(self, name: str, priority: int, stage: str, obj: Any) -> None:
        self.name, self.priority, self.stage, self.obj = name, priority, stage, obj


class Decider:
    """How the manager decides (its state is set by the manager's constructor)."""

    use_plugin_layers: bool
    ai_classifier: Any
    ask_handler: Any
    _level: PermissionLevel
    _layers_cache: tuple[int, list[_Layer]] | None
    _stats: dict[str, int]
    _recent: deque[dict[str, Any]]

    tool_safety: Callable[[str], ToolSafety | None]  # the manager's
    _root: Callable[[], str]  # the rule book's

    @property
    def consults_plugin_layers(self) -> bool:
        """Tells the ToolOrchestrator not to consult plugin layers a second time."""
        return self.use_plugin_layers

    def layers(self) -> list[_Layer]:
        """The layer stack, highest priority first."""
        builtins = {name: _Layer(name, prio, stage, cls())
                    for name, (cls, prio, stage) in BUILTIN_LAYERS.items()}
        if not self.use_plugin_layers:
            return sorted(builtins.values(), key=lambda lay: (-lay.priority, lay.name))
        from teragent.plugins import get_host

        host = get_host()
        if self._layers_cache is not None and self._layers_cache[0] == id(host):
            return self._layers_cache[1]
        stack = dict(builtins)
        builtin_classes = tuple(cls for cls, _, _ in BUILTIN_LAYERS.values())
        reg = host.registry("permission_layers")
        for name in reg.names():
            entry = reg.entry(name)
            obj = entry.resolve()
            if (isinstance(obj, type) and issubclass(obj, builtin_classes)) \
                    or isinstance(obj, builtin_classes):
                continue  # our own layers: the instances above
            if isinstance(obj, type):
                obj = obj()
            stack[name] = _Layer(name, int(entry.options.get("priority", 50)),
                                 str(entry.options.get("stage", "decide")), obj)
        layers = sorted(stack.values(), key=lambda lay: (-lay.priority, lay.name))
        self._layers_cache = (id(host), layers)
        return layers

    # --- deciding ----------------------------------------------------------------------

    def _contexts(self, tool_name: str, paths: list[str], context: str,
                  is_async: bool) -> tuple[list[dict[str, Any]], str | None]:
        safety = self.tool_safety(tool_name)
        root = self._root()
        out: list[dict[str, Any]] = []
        for raw in paths or [""]:
            canonical = ""
            if raw:
                try:
                    canonical = canonical_path(raw, root)
                except PermissionDenied as exc:
                    return [], f"Denied: the path cannot be checked: {exc}"
                except (TypeError, ValueError) as exc:
                    return [], f"Denied: invalid path {raw!r}: {exc}"
            out.append({"manager": self, "tool_name": tool_name, "path": canonical,
                        "root": root,
                        "raw_path": raw, "safety": safety, "level": self._level,
                        "context": context, "async": is_async})
        return out, None

    def _record(self, tool_name: str, paths: list[str], effect: str, reason: str) -> None:
        key = {"allow": "allowed", "deny": "denied", "ask": "asked"}[effect]
        self._stats[key] += 1
        self._recent.append({"time": time.time(), "tool_name": tool_name, "paths": paths,
                             "decision": effect, "reason": reason})

    def _decide_sync_one(self, params: dict[str, Any],
                         ctx: dict[str, Any]) -> tuple[PermissionEffect, str]:
        """:meth:`_decide` for a caller without an event loop: the coroutine never
        suspends (``sync=True`` awaits nothing), so one ``send`` runs it to the end."""
        coro = self._decide(params, ctx, sync=True)
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        coro.close()
        raise RuntimeError("a synchronous permission decision suspended")  # unreachable

    async def _decide_async_one(self, params: dict[str, Any],
                                ctx: dict[str, Any]) -> tuple[PermissionEffect, str]:
        return await self._decide(params, ctx, sync=False)

    async def _decide(self, params: dict[str, Any], ctx: dict[str, Any], *,
                      sync: bool) -> tuple[PermissionEffect, str]:
        """The first ``decide`` layer with an answer decides; an allow then passes every
        layer's ``review``. Any failure denies (fail closed). The async path prefers a
        layer's ``acheck``/``areview``; the sync one calls ``check``/``review`` and
        denies when they answer with an awaitable it cannot wait for."""

        async def ask(obj: Any, name: str) -> tuple[PermissionEffect, str] | None:
            fn = getattr(obj, name, None) if sync else (
                getattr(obj, f"a{name}", None) or getattr(obj, name, None))
            out = fn(ctx["tool_name"], params, ctx)
            if inspect.isawaitable(out):
                if sync:
                    getattr(out, "close", lambda: None)()
                    raise TypeError(f"its {name}() returned an awaitable, which a "
                                    "synchronous check cannot wait for; use the async "
                                    f"check, or make {name}() synchronous")
                out = await out
            return _normalize(out)

        def has(obj: Any, name: str) -> bool:
            return hasattr(obj, name) or (not sync and hasattr(obj, f"a{name}"))

        decision: tuple[PermissionEffect, str] | None = None
        layers = self.layers()
        for layer in layers:
            if layer.stage != "decide" or not has(layer.obj, "check"):
                continue
            try:
                decision = await ask(layer.obj, "check")
            except Exception as exc:  # noqa: BLE001 - fail closed
                return PermissionEffect.DENY, f"Denied: permission layer {layer.name!r} " \
                                              f"failed: {exc}"
            if decision is not None:
                break
        if decision is None:
            decision = (PermissionEffect.DENY, "Denied: no permission layer decided")
        if decision[0] != PermissionEffect.ALLOW:
            return decision
        for layer in layers:
            if not has(layer.obj, "review"):
                continue
            try:
                veto = await ask(layer.obj, "review")
            except Exception as exc:  # noqa: BLE001 - fail closed
                return PermissionEffect.DENY, f"Denied: review {layer.name!r} failed: {exc}"
            if veto is not None and veto[0] != PermissionEffect.ALLOW:
                return veto
        return decision

    def _finish(self, tool_name: str, paths: list[str],
                results: list[tuple[PermissionEffect, str]]) -> tuple[bool, str]:
        worst = max(results, key=lambda r: EFFECT_SEVERITY[r[0]])
        if worst[0] == PermissionEffect.ALLOW:
            self._record(tool_name, paths, "allow", worst[1])
            return True, results[-1][1]
        if worst[0] == PermissionEffect.ASK:
            self._record(tool_name, paths, "ask", worst[1])
            return False, f"{worst[1]} (no approver is available, so it is denied)"
        self._record(tool_name, paths, "deny", worst[1])
        return False, worst[1]

    async def _ask(self, tool_name: str, params: dict[str, Any], reason: str) -> bool:
        handler = self.ask_handler
        fn = getattr(handler, "ask", handler)
        out = fn(tool_name, params, reason)
        if inspect.isawaitable(out):
            out = await out
        if isinstance(out, tuple):
            out = out[0]
        return bool(out)

    async def classify(self, tool_name: str, params: dict[str, Any],
                       context: dict[str, Any]) -> tuple[PermissionEffect, str]:
        """Ask the classifier; its answer is normalised (ALLOW/DENY/ASK, reason)."""
        out = self.ai_classifier.classify(tool_name, params, context)
        if inspect.isawaitable(out):
            out = await out
        norm = _normalize(out)
        if norm is None:
            return PermissionEffect.ALLOW, "no objection"
        return norm
