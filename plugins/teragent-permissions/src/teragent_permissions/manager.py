"""``EnhancedPermissionManager``: the seven permission layers behind one check.

Layers 1-4 are rules by source (user 100, config 60, project 50, system 10), layer 5
the permission level, layer 6 the AI classifier (async only, consultative), layer 7
the default effect (DENY). Third-party layers registered through
``teragent_register_permission_layers`` join the same stack by priority; see
:mod:`teragent_permissions.layers` for the protocol and how answers combine.
"""

from __future__ import annotations

import fnmatch
import inspect
import logging
import os
import threading
import time
from collections import deque
from typing import Any, Iterable, Mapping

from teragent.core.types import ToolSafety
from teragent.errors import ConfigError, PermissionDenied
from teragent.security.paths import canonical_path

from teragent_permissions.classifier import ModelClassifier
from teragent_permissions.layers import BUILTIN_LAYERS
from teragent_permissions.rules import (
    EFFECT_SEVERITY,
    PermissionEffect,
    PermissionLevel,
    PermissionRule,
    canonical_pattern,
    parse_rule_string,
    path_matches,
)

__all__ = ["EnhancedPermissionManager", "PATH_KEYS", "extract_paths"]

logger = logging.getLogger("teragent_permissions")

#: Parameters read as paths (a list under ``paths``/``files`` is read item by item).
PATH_KEYS = ("path", "file_path", "filepath", "file", "filename", "notebook_path",
             "directory", "dir", "cwd", "workdir", "destination", "dest", "src", "dst",
             "old_path", "new_path", "from_path", "to_path")
_LIST_KEYS = ("paths", "files", "file_paths")


def extract_paths(params: Mapping[str, Any]) -> list[str]:
    """Every path-like argument of a tool call, in a stable order."""
    found: list[str] = []
    if not isinstance(params, Mapping):
        return found
    for key in PATH_KEYS:
        value = params.get(key)
        if isinstance(value, str) and value:
            found.append(value)
    for key in _LIST_KEYS:
        value = params.get(key)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, str) and item:
                    found.append(item)
                elif isinstance(item, Mapping):
                    found.extend(extract_paths(item))
    return found


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


class EnhancedPermissionManager:
    """Decides whether a tool call may run.

    Args:
        default_level: The level the session starts at and :meth:`deactivate` returns to.
        default_effect: Layer 7: what happens when no layer decided (DENY).
        ai_classifier: Layer 6: a :class:`~teragent_permissions.classifier.ModelClassifier`,
            anything with ``async classify(tool_name, params, context)``, or a
            ModelProvider (wrapped in a ModelClassifier).
        workspace: Relative paths in calls and rules are taken from here (default:
            the current directory at check time).
        rules: Extra rules to add.
        include_default_rules: Add :meth:`default_rules` (system source).
        ask_handler: Decides ASK answers in the async checks: an
            :class:`~teragent_permissions.approval.ApprovalGate` (``ask``) or an async
            callable ``(tool_name, params, reason) -> bool``. Without one, ASK denies.
        tools: A ToolRegistry (or ``{name: ToolSafety}``) to learn tool safety from.
        use_plugin_layers: Also consult layers other plugins registered.
    """

    def __init__(
        self,
        default_level: PermissionLevel | str = PermissionLevel.DEFAULT,
        default_effect: PermissionEffect | str = PermissionEffect.DENY,
        ai_classifier: Any = None,
        *,
        workspace: str | os.PathLike[str] | None = None,
        rules: Iterable[PermissionRule] = (),
        include_default_rules: bool = True,
        ask_handler: Any = None,
        tools: Any = None,
        use_plugin_layers: bool = True,
    ) -> None:
        self.default_level = PermissionLevel.parse(default_level)
        self.default_effect = PermissionEffect(getattr(default_effect, "value", default_effect))
        self.ai_classifier = self._wrap_classifier(ai_classifier)
        self.workspace = os.fspath(workspace) if workspace is not None else None
        self.include_default_rules = include_default_rules
        self.ask_handler = ask_handler
        self.use_plugin_layers = use_plugin_layers
        self._level = self.default_level
        self._level_stack: list[PermissionLevel] = []
        self._rules: list[PermissionRule] = []
        self._sorted_rules: list[PermissionRule] | None = None  # reset on every change
        self._safety: dict[str, ToolSafety] = {}
        self._tools = None
        self._lock = threading.RLock()
        self._layers_cache: tuple[int, list[_Layer]] | None = None
        self._stats = {"allowed": 0, "denied": 0, "asked": 0}
        self._recent: deque[dict[str, Any]] = deque(maxlen=50)
        if include_default_rules:
            self.add_rules(self.default_rules())
        self.add_rules(rules)
        if tools is not None:
            self.bind_tools(tools)

    # --- construction helpers -----------------------------------------------------------

    @staticmethod
    def _wrap_classifier(classifier: Any) -> Any:
        if classifier is None or hasattr(classifier, "classify"):
            return classifier
        if hasattr(classifier, "complete"):
            return ModelClassifier(classifier)
        raise TypeError("ai_classifier must have classify(tool_name, params, context) or be "
                        "a ModelProvider")

    @classmethod
    def from_settings(cls, config: Mapping[str, Any] | None = None, *,
                      allow_writes: bool = False, allow_shell: bool = False,
                      allow_destructive: bool = False,
                      workspace: str | os.PathLike[str] | None = None,
                      **kwargs: Any) -> EnhancedPermissionManager:
        """The manager a run uses: defaults, the run's flags as system grants, and the
        ``[permission]`` table of ``config``."""
        epm = cls(workspace=workspace, include_default_rules=False, **kwargs)
        rules = [r for r in epm.default_rules()
                 if not (allow_destructive and ToolSafety.DESTRUCTIVE in r.safety
                         and r.effect == PermissionEffect.DENY)]
        grants = [(allow_writes, ToolSafety.SAFE_WRITE, "--allow-writes"),
                  (allow_shell, ToolSafety.HIGH_RISK, "--allow-shell"),
                  (allow_destructive, ToolSafety.DESTRUCTIVE, "allow_destructive")]
        for on, safety, flag in grants:
            if on:
                rules.append(PermissionRule(PermissionEffect.ALLOW, "*", "",
                                            f"{safety.value} tools allowed ({flag})",
                                            "system", (safety,)))
        epm.add_rules(rules)
        epm._flag_rules = list(rules)  # type: ignore[attr-defined]
        if config:
            epm.load_from_config(config)
        return epm

    def default_rules(self) -> list[PermissionRule]:
        """The built-in rules (source ``system``, priority 10), by tool safety."""
        return [
            PermissionRule(PermissionEffect.ALLOW, "*", "",
                           "read-only tools are allowed", "system", (ToolSafety.READ_ONLY,)),
            PermissionRule(PermissionEffect.DENY, "*", "",
                           "destructive tools are denied unless a rule allows them",
                           "system", (ToolSafety.DESTRUCTIVE,)),
            PermissionRule(PermissionEffect.DENY, "*", "**/.env",
                           "environment files hold secrets", "system"),
            PermissionRule(PermissionEffect.DENY, "*", "**/.env.*",
                           "environment files hold secrets", "system"),
            PermissionRule(PermissionEffect.DENY, "*", "**/.git",
                           "tools may not change the git directory (hooks, config)", "system",
                           (ToolSafety.SAFE_WRITE, ToolSafety.DESTRUCTIVE)),
            PermissionRule(PermissionEffect.DENY, "*", "**/.teragent",
                           "tools may not change TerAgent's own state (audit log, journals)",
                           "system", (ToolSafety.SAFE_WRITE, ToolSafety.DESTRUCTIVE)),
        ]

    # --- rules ---------------------------------------------------------------------------

    def add_rule(self, rule: PermissionRule) -> None:
        if not isinstance(rule, PermissionRule):
            raise TypeError(f"expected a PermissionRule, got {type(rule).__name__}")
        with self._lock:
            if rule not in self._rules:
                self._rules.append(rule)
                self._sorted_rules = None

    def add_rules(self, rules: Iterable[PermissionRule]) -> None:
        for rule in rules:
            self.add_rule(rule)

    def remove_rules_by_source(self, source: str) -> int:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.source != source]
            self._sorted_rules = None
            return before - len(self._rules)

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()
            self._sorted_rules = None

    @property
    def rules(self) -> list[PermissionRule]:
        with self._lock:
            # Sorted once per change of the rule set, not once per check: every tool
            # call consults the rules of four sources.
            if self._sorted_rules is None:
                self._sorted_rules = sorted(self._rules, key=PermissionRule.sort_key)
            return list(self._sorted_rules)

    def get_rules_summary(self) -> list[dict[str, Any]]:
        """Every rule, highest priority first (DENY before ALLOW at equal priority)."""
        return [r.as_dict() for r in self.rules]

    def load_from_config(self, config: Mapping[str, Any]) -> int:
        """Load ``[permission]`` (the whole ``agent.toml`` dict or just that table).

        Validated by :class:`~teragent_permissions.config.PermissionConfig`: ``mode``
        (a level), ``default_effect``, and ``rules`` as ``{allow = [...], deny = [...],
        ask = [...]}`` of ``"tool:path"`` strings or a list of tables ``{effect, tool,
        path, description, safety}``. Rules are added with
        source ``config``, replacing config rules loaded before. Returns how many.
        """
        from pydantic import ValidationError
        from teragent.config.teragent_config import explain

        from teragent_permissions.config import PermissionConfig, RuleLists

        table: Any = None
        if isinstance(config, Mapping):
            if "permission" in config:
                table = config["permission"]
            elif set(config) <= set(PermissionConfig.model_fields):
                table = config  # the [permission] table itself
            else:
                table = {}  # a whole agent.toml without [permission]
        if not isinstance(table, Mapping):
            raise ConfigError("must be a table: [permission] mode = \"...\"", key="permission")

        try:
            cfg = PermissionConfig.model_validate(dict(table))
        except ValidationError as exc:
            loc, message = explain(exc, PermissionConfig, "permission")
            raise ConfigError(message, table="permission",
                              key=".".join(str(p) for p in loc) or None) from None
        new: list[PermissionRule] = []
        try:
            if isinstance(cfg.rules, RuleLists):
                for name in ("deny", "ask", "allow"):
                    for item in cfg.rules.items(name):
                        new.append(parse_rule_string(item, name, source="config"))
            else:
                for rule in cfg.rules:
                    new.append(PermissionRule(
                        effect=PermissionEffect(rule.effect),
                        tool_pattern=rule.tool or rule.tool_pattern or "*",
                        path_pattern=rule.path or rule.path_pattern or "",
                        description=rule.description, source="config",
                        safety=tuple(rule.safety)))  # type: ignore[arg-type]
        except ValueError as exc:
            raise ConfigError(str(exc), table="permission", key="rules") from None
        level = PermissionLevel.parse(cfg.mode) if cfg.mode else None
        effect = PermissionEffect(cfg.default_effect) if cfg.default_effect else None
        with self._lock:
            self.remove_rules_by_source("config")
            flags = [r for r in getattr(self, "_flag_rules", []) if r.source == "config"]
            self.add_rules(flags + new)
            if level is not None:
                self.default_level = level
                self._level = level
                self._level_stack.clear()
            if effect is not None:
                self.default_effect = effect
        return len(new)

    # --- levels ----------------------------------------------------------------------------

    @property
    def level(self) -> PermissionLevel:
        return self._level

    def elevate(self, new_level: PermissionLevel | str) -> PermissionLevel:
        """Switch to ``new_level`` until :meth:`deactivate`; returns the previous level."""
        with self._lock:
            previous = self._level
            self._level_stack.append(previous)
            self._level = PermissionLevel.parse(new_level)
            return previous

    def deactivate(self) -> None:
        """Back to the default level."""
        with self._lock:
            self._level = self.default_level
            self._level_stack.clear()

    def set_level(self, level: PermissionLevel | str) -> None:
        with self._lock:
            self._level = PermissionLevel.parse(level)

    # --- tool safety ---------------------------------------------------------------------

    def note_tool_safety(self, tool_name: str, safety: ToolSafety | str) -> None:
        """Record a tool's safety level (the ToolOrchestrator calls this per call)."""
        self._safety[tool_name] = ToolSafety(getattr(safety, "value", safety))

    def bind_tools(self, tools: Any) -> None:
        if isinstance(tools, Mapping):
            for name, safety in tools.items():
                self.note_tool_safety(name, safety)
            return
        self._tools = tools

    def tool_safety(self, tool_name: str) -> ToolSafety | None:
        """The safety level of ``tool_name``; ``None`` when unknown (treated as not
        read-only by every layer)."""
        if tool_name in self._safety:
            return self._safety[tool_name]
        if self._tools is not None:
            tool = self._tools.find(tool_name) if hasattr(self._tools, "find") else None
            if tool is not None:
                return ToolSafety(tool.safety)
        try:
            from teragent.plugins import get_host

            reg = get_host().registry("tools")
            if tool_name in reg.names():
                target = reg.entry(tool_name).resolve()
                safety = getattr(target, "_safety", None) if isinstance(target, type) \
                    else getattr(target, "safety", None)
                if safety is not None:
                    return ToolSafety(getattr(safety, "value", safety))
        except Exception as exc:  # noqa: BLE001 - unknown stays unknown (conservative)
            logger.debug("cannot look up the safety of %s: %s", tool_name, exc)
        return None

    # --- layers ---------------------------------------------------------------------------

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

    def best_rule(self, source: str, tool_name: str, path: str,
                  safety: ToolSafety | None, root: str | None = None) -> PermissionRule | None:
        """The deciding rule of ``source`` for this call: DENY over ASK over ALLOW,
        independent of the order rules were added. ``root``: the workspace's real path
        when the caller resolved it already for this call."""
        best: PermissionRule | None = None
        root = root or self._root()
        for rule in self.rules:
            if rule.source != source:
                continue
            if not self.rule_matches(rule, tool_name, path, safety, root):
                continue
            if best is None or rule.sort_key() < best.sort_key():
                best = rule
        return best

    def rule_matches(self, rule: PermissionRule, tool_name: str, path: str,
                     safety: ToolSafety | None, root: str | None = None) -> bool:
        import fnmatch

        if not fnmatch.fnmatchcase(tool_name, rule.tool_pattern):
            return False
        if rule.safety and safety not in rule.safety:
            return False
        if rule.any_path:
            return True
        if not path:
            return False
        try:
            pattern = canonical_pattern(rule.path_pattern, root or self._root())
        except PermissionDenied:
            # A pattern that cannot be resolved: a DENY still applies literally.
            pattern = rule.path_pattern
        return path_matches(path, pattern)

    def _root(self) -> str:
        return os.path.realpath(self.workspace or os.getcwd())

    # --- checking --------------------------------------------------------------------------

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

    def check(self, tool_name: str, path: str = "") -> tuple[bool, str]:
        """Layers 1-5 and 7 (no classifier; ASK denies). Returns ``(allowed, reason)``."""
        return self._check_sync(tool_name, [path] if path else [], {})

    def check_tool_params(self, tool_name: str, params: Mapping[str, Any], *,
                          paths: list[str] | None = None) -> tuple[bool, str]:
        """:meth:`check` with the paths of the call: ``paths`` as the tool declares them
        (what the kernel's guard passes), else guessed from parameter names."""
        return self._check_sync(tool_name, extract_paths(params) if paths is None else paths,
                                dict(params or {}))

    def _check_sync(self, tool_name: str, paths: list[str],
                    params: dict[str, Any]) -> tuple[bool, str]:
        contexts, error = self._contexts(tool_name, paths, "", False)
        if error:
            self._record(tool_name, paths, "deny", error)
            return False, error
        results = []
        for ctx in contexts:
            result = self._decide_sync_one(params, ctx)
            results.append(result)
            if result[0] == PermissionEffect.DENY:
                break
        return self._finish(tool_name, paths, results)

    async def acheck(self, tool_name: str, path: str = "", context: str = "") -> tuple[bool, str]:
        """All seven layers, including the AI classifier and an ask handler."""
        return await self._check_async(tool_name, [path] if path else [], {}, context)

    async def acheck_tool_params(self, tool_name: str, params: Mapping[str, Any],
                                 context: str = "", *,
                                 paths: list[str] | None = None) -> tuple[bool, str]:
        """:meth:`acheck` with the paths of the call (see :meth:`check_tool_params`)."""
        return await self._check_async(
            tool_name, extract_paths(params) if paths is None else paths,
            dict(params or {}), context)

    def path_denied(self, tool_name: str, path: str, op: str = "read") -> str | None:
        """The reason a DENY rule refuses ``tool_name`` on ``path`` (any source), or
        ``None``. The kernel's path policy asks this for every file a search or listing
        would show, so grep/glob/list hide what the rules deny."""
        if not self.rules:
            return None
        root = self._root()
        try:
            canonical = canonical_path(path, root)
        except (PermissionDenied, TypeError, ValueError):
            return None
        safety = self.tool_safety(tool_name) if tool_name else None
        for rule in self.rules:
            if rule.effect != PermissionEffect.DENY or rule.any_path:
                continue
            if tool_name and not fnmatch.fnmatchcase(tool_name, rule.tool_pattern):
                continue
            if not tool_name and rule.tool_pattern not in ("*", "**"):
                continue
            if self.rule_matches(rule, tool_name or "*", canonical, safety, root):
                return f"denied by rule: {rule.description or rule.path_pattern}"
        return None

    async def _check_async(self, tool_name: str, paths: list[str], params: dict[str, Any],
                           context: str) -> tuple[bool, str]:
        contexts, error = self._contexts(tool_name, paths, context, True)
        if error:
            self._record(tool_name, paths, "deny", error)
            return False, error
        results = []
        for ctx in contexts:
            result = await self._decide_async_one(params, ctx)
            results.append(result)
            if result[0] == PermissionEffect.DENY:
                break
        asks = [r for r in results if r[0] == PermissionEffect.ASK]
        if asks and self.ask_handler is not None and \
                all(r[0] != PermissionEffect.DENY for r in results):
            approved = await self._ask(tool_name, params, asks[0][1])
            verdict = "approved" if approved else "rejected"
            results = [(PermissionEffect.ALLOW if approved else PermissionEffect.DENY,
                        f"{asks[0][1]}; {verdict} by a human")]
        return self._finish(tool_name, paths, results)

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

    def may_allow(self, tool_name: str) -> bool:
        """Whether some call of ``tool_name`` could be allowed (used to decide which
        tools to offer a model). ``False`` only when neither a rule nor the level can
        ever allow it."""
        import fnmatch

        safety = self.tool_safety(tool_name)
        ok, _ = self.check(tool_name)
        if ok:
            return True
        level = self._level
        if level == PermissionLevel.PLAN and safety != ToolSafety.READ_ONLY:
            return False
        return any(r.effect != PermissionEffect.DENY and not r.any_path
                   and fnmatch.fnmatchcase(tool_name, r.tool_pattern)
                   and (not r.safety or safety in r.safety) for r in self.rules) \
            or (self.ask_handler is not None)

    # --- reporting --------------------------------------------------------------------

    def get_status_report(self) -> dict[str, Any]:
        by_source: dict[str, int] = {}
        for rule in self.rules:
            by_source[rule.source] = by_source.get(rule.source, 0) + 1
        return {
            "level": self._level.value, "default_level": self.default_level.value,
            "default_effect": self.default_effect.value,
            "rules": by_source, "rule_count": sum(by_source.values()),
            "layers": [{"name": lay.name, "priority": lay.priority, "stage": lay.stage}
                       for lay in self.layers()],
            "ai_classifier": type(self.ai_classifier).__name__ if self.ai_classifier else None,
            "ask_handler": type(self.ask_handler).__name__ if self.ask_handler else None,
            "workspace": self._root(),
            "decisions": dict(self._stats),
            "recent": list(self._recent)[-10:],
            "known_tools": {k: v.value for k, v in sorted(self._safety.items())},
        }

    def reset(self) -> None:
        """Back to the state of a new manager: default rules only, default level, no
        statistics."""
        with self._lock:
            self._rules.clear()
            self._sorted_rules = None
            if self.include_default_rules:
                self.add_rules(self.default_rules())
            self.add_rules(getattr(self, "_flag_rules", []))
            self._level = self.default_level
            self._level_stack.clear()
            self._stats = {"allowed": 0, "denied": 0, "asked": 0}
            self._recent.clear()
            self._layers_cache = None

    def __repr__(self) -> str:
        return (f"<EnhancedPermissionManager level={self._level.value} "
                f"rules={len(self._rules)} default={self.default_effect.value}>")


