"""The composition root: ``agent.toml`` (or a config dict) plus overrides → a ready agent.

:func:`build_agent` is the one place an agent is assembled, and every entry point uses
it: the CLI (``teragent run``/``chat``), the library, every orchestration agent and
nested team. :func:`build_runtime` builds the guarded part alone; an
:class:`~teragent.AgentLoop` constructed directly calls it with the loaded
``agent.toml``, so a hand-built loop is guarded exactly like a built one.

What is wired, in order (the guard chain):

====  ======================  ===========================================================
  10  decider                 the permission manager a plugin offers for
                              ``[permission]`` (``teragent_default_permission_manager``),
                              else the kernel's :class:`~teragent.guards.SafetyGate`
  20  protected paths         :class:`~teragent.guards.PathGuard` over the workspace's
                              :class:`~teragent.security.policy.PathPolicy` (defaults,
                              ``[workspace] protected``, the manager's DENY rules)
  30  command checks          :class:`~teragent.guards.CommandGuard` over every
                              ``teragent_register_command_checks`` check
  50  plugin guards           ``teragent_register_tool_guards``, by their ``order``
  80  hooks                   a given hook manager; ``[[hooks]]`` (teragent-hooks, a
                              plugin guard at order 80)
  90  approvals               an approval gate, when given
====  ======================  ===========================================================

Observers: the audit log (:mod:`teragent.audit`: ``[audit] path``, default
``.teragent/audit.jsonl`` in the workspace; ``[audit] enabled = false`` turns it off;
not added when a hook manager or plugin guard audits already), then every guard that
also has ``observe(outcome)`` (hook managers, plugin guards).

Observation comes from ``teragent_observe_agent``: a plugin may subscribe to the
agent's event bus (teragent-otel's spans) and return a tracer that records every model
call of the run (teragent-traces' ``TAPTracer`` from ``[traces]``).

Reliability comes from ``teragent_build_reliability``. The teragent-reliability plugin
answers it with circuit breakers from ``[circuit_breaker]``, a recovery manager from
``[recovery]`` (retries honouring ``Retry-After``, stream retry then batch, compaction
on overflow, the fallback provider) and, when ``[rate_limit]`` is present, a rate
limiter on the provider. With no plugin answering, an agent has none of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from teragent.errors import UserError
from teragent.guards import (
    CommandGuard, GuardChain, HookManagerGuard, PathGuard, PermissionManagerGuard, SafetyGate,
)
from teragent.runtime import AgentRuntime

__all__ = ["build_agent", "build_runtime", "loop_config_from", "open_session"]


def _config(config: Any) -> dict[str, Any]:
    if config is None:
        from teragent.config.loader import load_full_config

        return load_full_config()
    if isinstance(config, (str, Path)):
        from teragent.config.loader import load_full_config

        return load_full_config(config)
    if isinstance(config, Mapping):
        return dict(config)
    raise UserError(f"config must be a path to agent.toml, a dict of its tables or None, "
                    f"not {type(config).__name__}.")


def loop_config_from(config: Mapping[str, Any], **overrides: Any) -> Any:
    """The :class:`~teragent.AgentLoopConfig` of ``[agent]`` with ``overrides``
    (``None`` values ignored).

    ``[streaming]`` (``enabled``, ``retries``) and ``[tools]`` (``timeout``,
    ``max_output_chars``) fill the fields they stand for; ``[agent]`` wins where both
    set one, and ``overrides`` win over both."""
    from teragent.config.agent_loop_config import AgentLoopConfig
    from teragent.config.loader import validate_table

    inherited: dict[str, Any] = {}
    if config.get("streaming"):
        from teragent.config.streaming_config import StreamingConfig

        inherited.update(validate_table(config, "streaming", StreamingConfig).loop_fields())
    if config.get("tools"):
        inherited.update(_tools_config(config).loop_fields())
    tables = dict(config)
    tables["agent"] = {**inherited, **{k: v for k, v in (config.get("agent") or {}).items()
                                       if k != "driver"}}
    return validate_table(tables, "agent", AgentLoopConfig,
                          {k: v for k, v in overrides.items() if v is not None})


def _tools_config(config: Mapping[str, Any]) -> Any:
    from teragent.config.loader import validate_table
    from teragent.config.tools_config import ToolsConfig

    return validate_table(config, "tools", ToolsConfig)


def _link_fallbacks(config: Mapping[str, Any], provider: Any) -> None:
    """``[model_fallback]``: each driver becomes the fallback of the one before it."""
    if not config.get("model_fallback"):
        return
    from teragent.config.loader import validate_table
    from teragent.config.model_fallback_config import ModelFallbackConfig
    from teragent.core.provider import create_provider_from_config

    drivers = config.get("drivers") or {}
    current = provider
    for name in validate_table(config, "model_fallback", ModelFallbackConfig).drivers:
        if name not in drivers:
            from teragent.errors import ConfigError

            raise ConfigError(f"{name!r} is not a driver; define [drivers.{name}] or use one "
                              f"of: {', '.join(drivers) or '(none)'}", table="model_fallback")
        if name == getattr(provider, "name", None):
            continue  # the agent's own model is no fallback of itself
        nxt = create_provider_from_config(drivers[name])
        current.set_fallback(nxt)
        current = nxt


def _path_policy(config: Mapping[str, Any], workspace: str, manager: Any) -> Any:
    from teragent.security.policy import DEFAULT_PROTECTED, PathPolicy, PathRule

    extra = (config.get("workspace") or {}).get("protected") or []
    if isinstance(extra, str):
        extra = [extra]
    rules = [*DEFAULT_PROTECTED, *(PathRule(str(p), reason="[workspace] protected in "
                                            "agent.toml lists it") for p in extra)]
    deciders = []
    if manager is not None and hasattr(manager, "path_denied"):
        deciders.append(manager.path_denied)
    return PathPolicy(workspace, rules, deciders=deciders)


def _plugin_guards(host: Any, config: Mapping[str, Any], loop_config: Any,
                   workspace: str) -> list[tuple[int, str, Any]]:
    reg = host.registry("tool_guards")
    if config.get("hooks") and "hooks" not in reg.names():
        from teragent.errors import MissingPluginError

        raise MissingPluginError("The [[hooks]] tables of agent.toml", "teragent-hooks")
    out = []
    for name in reg.names():
        entry = reg.entry(name)
        factory = entry.resolve()
        guard = factory(config=config, loop_config=loop_config, workspace=workspace) \
            if callable(factory) else factory
        if guard is not None:
            out.append((int(entry.options.get("order", 50)), name, guard))
    return out


def _audit(config: Mapping[str, Any], workspace: str, audit: Any,
           observers: list[Any]) -> Any:
    from teragent.audit import AuditLog, audit_log_path, audits

    if audit is False:
        return None
    if any(audits(o) for o in observers):
        return None  # a given hook manager or a plugin's guard audits already
    if audit is not None and audit is not True:
        return audit if hasattr(audit, "observe") else AuditLog(Path(workspace) / audit)
    path = audit_log_path(config)
    return AuditLog(Path(workspace) / path) if path else None


def build_runtime(
    config: Any = None,
    *,
    workspace: str | os.PathLike[str] | None = None,
    loop_config: Any = None,
    permission_manager: Any = None,
    hook_manager: Any = None,
    guards: Iterable[Any] = (),
    approval_gate: Any = None,
    circuit_breaker: Any = None,
    recovery_manager: Any = None,
    audit: Any = None,
    bus: Any = None,
    host: Any = None,
) -> AgentRuntime:
    """The guard chain, breakers and recovery of one agent (see the module docstring).

    Args:
        config: ``agent.toml`` as loaded (``None``: search and load it).
        workspace: The agent's directory (default: the current one).
        loop_config: The :class:`~teragent.AgentLoopConfig` (default: ``[agent]``).
        permission_manager: Decides instead of the plugin-offered one.
        hook_manager: A hook manager (``run_hooks(event, context)``, e.g. a
            ``teragent.hooks.HookManager``) to add (guard + observer, order 80).
        guards: More guards, after the plugins' and before approvals.
        approval_gate: Consulted last (a human sees only what passed the rest).
        circuit_breaker: A breaker manager instead of one built from
            ``[circuit_breaker]``; ``False`` for none.
        recovery_manager: Instead of one built from ``[recovery]``; ``False`` for none.
        audit: ``True``/``None`` (default: ``[audit]``), ``False`` (off), a path
            relative to the workspace, or an observer.
        bus: The event bus breakers and observers report to.
        host: The plugin host (default: the process-wide one).
    """
    cfg = _config(config)
    ws = os.path.realpath(os.fspath(workspace or os.getcwd()))
    if loop_config is None:
        loop_config = loop_config_from(cfg)
    if host is None:
        from teragent.plugins import get_host

        host = get_host()
    manager = permission_manager
    if manager is None:
        manager = host.hook.teragent_default_permission_manager(
            config=cfg, loop_config=loop_config, workspace=ws)
    policy = _path_policy(cfg, ws, manager)
    ordered: list[tuple[int, str, Any]] = []
    if manager is not None:
        ordered.append((10, "permissions", PermissionManagerGuard(manager)))
    else:
        ordered.append((10, "safety_gate", SafetyGate(
            allow_writes=loop_config.allow_writes, allow_shell=loop_config.allow_shell,
            allow_destructive=loop_config.allow_destructive)))
    ordered.append((20, "protected_paths", PathGuard(policy)))
    checks = host.registry("command_checks")
    ordered.append((30, "command_check", CommandGuard(
        lambda: {n: checks.entry(n).resolve() for n in checks.names()}, workspace=ws,
        protected=[g for g, _ in policy.protected_globs()])))
    plugin_guards = _plugin_guards(host, cfg, loop_config, ws)
    ordered.extend(plugin_guards)
    # Plugin guards that also observe (teragent-hooks' [[hooks]]) see every outcome.
    observers: list[Any] = [g for _, _, g in plugin_guards if hasattr(g, "observe")]
    if hook_manager is not None:
        adapter = HookManagerGuard(hook_manager)
        ordered.append((80, "hooks", adapter))
        observers.append(adapter)
    for g in guards:
        ordered.append((85, str(getattr(g, "name", type(g).__name__)), g))
    if approval_gate is not None:
        ordered.append((90, "approval", approval_gate))
    ordered.sort(key=lambda t: t[0])  # stable: equal orders keep registration order
    log = _audit(cfg, ws, audit, observers)
    if log is not None:
        observers.insert(0, log)
    kit = host.hook.teragent_build_reliability(config=cfg, loop_config=loop_config, bus=bus)
    if kit is None:
        # Configured protection must not silently vanish (tables an argument replaces
        # do not count).
        asked = [t for t, given in (("circuit_breaker", circuit_breaker),
                                    ("recovery", recovery_manager), ("rate_limit", None))
                 if cfg.get(t) and given is None]
        if asked:
            from teragent.errors import MissingPluginError

            raise MissingPluginError(f"The [{asked[0]}] table of agent.toml",
                                     "teragent-reliability")
    breakers: list[Any] = []
    if circuit_breaker is None:
        breakers.extend(getattr(kit, "breakers", None) or [])
    elif circuit_breaker is not False:
        breakers.append(circuit_breaker)
    if recovery_manager is None:
        recovery_manager = getattr(kit, "recovery", None)
    rate_limiter = getattr(kit, "rate_limiter", None)
    tracers: list[Any] = []
    for tracer in host.hook.teragent_observe_agent(config=cfg, workspace=ws, bus=bus):
        if tracer is not None and not any(tracer is t for t in tracers):
            tracers.append(tracer)
    context = host.hook.teragent_build_context(config=cfg, loop_config=loop_config)
    return AgentRuntime(tracers=tracers, chain=GuardChain([g for _, _, g in ordered], observers),
                        breakers=breakers, recovery=recovery_manager or None,
                        path_policy=policy, bus=bus, rate_limiter=rate_limiter,
                        context=context, **_sandbox(cfg))


def _sandbox(config: Mapping[str, Any]) -> dict[str, Any]:
    """``[sandbox]``: the variable names sandboxed commands may inherit, the backend."""
    if not config.get("sandbox"):
        return {}
    from teragent.config.loader import validate_table
    from teragent.config.sandbox_config import SandboxConfig

    table = validate_table(config, "sandbox", SandboxConfig)
    return {"sandbox_env": tuple(table.env), "sandbox_backend": table.backend}


def _provider(config: Mapping[str, Any], model: str | None) -> Any:
    from teragent.core.provider import create_provider, create_provider_from_config, \
        default_provider
    from teragent.plugins import get_host

    drivers = config.get("drivers", {})
    if model and model in drivers:
        return create_provider_from_config(drivers[model])
    if model:
        from teragent.model_refs import resolve_model_ref

        ref = resolve_model_ref(model)  # PROVIDER:MODEL, through the family plugins
        if ref is not None:
            return create_provider(**ref)
        base = get_host().hook.teragent_default_driver(config=config)
        if base is None:
            raise UserError(f"model {model!r} is not a driver in agent.toml (have: "
                            f"{', '.join(drivers) or 'none'}) and no plugin offers a default "
                            "driver to run it with.")
        return create_provider(**{**base, "model": model})
    return default_provider(dict(config))


def _capabilities(provider: Any) -> dict[str, Any]:
    """The provider's capabilities; ``{}`` for a duck-typed provider without them."""
    caps = getattr(provider, "capabilities", None)
    return caps if isinstance(caps, dict) else {}


def _offered(tools: Any, runtime: AgentRuntime) -> Any:
    """Only the tools the run's decider may allow: a refused tool in the prompt costs
    context and invites calls that fail. The chain still checks every call."""
    decider = runtime.chain.guards[0] if runtime.chain.guards else None
    names = tools.list_tool_names()
    if isinstance(decider, SafetyGate):
        keep = [n for n in names if decider.permits(tools.get(n).safety)]
    elif isinstance(decider, PermissionManagerGuard) and hasattr(decider.manager, "may_allow"):
        m = decider.manager
        for n in names:
            if hasattr(m, "note_tool_safety"):
                m.note_tool_safety(n, tools.get(n).safety)
        keep = [n for n in names if m.may_allow(n)]
    else:
        return tools
    return tools if len(keep) == len(names) else tools.filtered(keep)


def build_agent(
    config: Any = None,
    *,
    workspace: str | os.PathLike[str] | None = None,
    provider: Any = None,
    model: str | None = None,
    tools: Any = None,
    tool_names: Iterable[str] | None = None,
    offer_all_tools: bool = False,
    bus: Any = None,
    **options: Any,
) -> Any:
    """Build a ready :class:`~teragent.AgentLoop` from ``agent.toml`` plus overrides.

    Args:
        config: ``agent.toml`` (a path, the loaded dict, or ``None`` to search for it).
        workspace: The agent's directory (default: the current one). Must exist.
        provider: A :class:`~teragent.ModelProvider`; default: ``model``, else
            ``[agent] driver``, else the only driver, else the local model.
        model: A driver name from ``agent.toml`` (``adapter.identity``), a
            ``PROVIDER:MODEL`` reference (``openai:gpt-4o-mini``; ``teragent models``
            lists them) or a model for the default driver (e.g. a ``.gguf`` path).
        tools: A :class:`~teragent.ToolRegistry` or a list of tools; default: every
            installed tool plugin's tools (``tool_names`` picks some, as does
            ``[tools] enabled``; ``[tools] disabled`` leaves some out), or for a small
            model (``[tools] profile``, by default the provider's ``tool_profile``
            capability) the ``[tools] small_profile`` tools.
        offer_all_tools: Offer tools the run's permissions will refuse too.
        bus: The :class:`~teragent.EventBus` (one is created if omitted).
        **options: ``AgentLoopConfig`` fields (``max_steps=``, ``allow_shell=``, ...)
            and :func:`build_runtime` arguments (``permission_manager=``,
            ``approval_gate=``, ``guards=``, ``audit=``, ``circuit_breaker=``, ...).
            Sessions: ``session_id=`` continues (or starts) that session,
            ``session=`` gives the store, ``session_intent=`` labels a new one; with
            ``[session]`` in ``agent.toml`` every agent is saved (see
            :func:`open_session`).

    Returns:
        An :class:`~teragent.AgentLoop`; use it with ``await agent.run(task)`` and close
        it (and its provider) with ``await agent.aclose()``.
    """
    from teragent.agent.loop import AgentLoop
    from teragent.events import EventBus
    from teragent.tools.registry import ToolRegistry, default_tool_names

    ws = Path(workspace or os.getcwd()).resolve()
    if not ws.is_dir():
        raise UserError(f"workspace {str(ws)!r} is not a directory; create it or pass an "
                        "existing one.")
    cfg = _config(config)
    runtime_args = {k: options.pop(k) for k in (
        "permission_manager", "hook_manager", "guards", "approval_gate", "circuit_breaker",
        "recovery_manager", "audit", "host") if k in options}
    loop_args: dict[str, Any] = {k: options.pop(k) for k in (
        "step_budget", "context_window", "auto_compactor", "intent_classifier",
        "confirmation_gate", "streaming_executor", "session", "session_id",
        "orchestrator") if k in options}
    session_intent = str(options.pop("session_intent", None) or "run")
    loop_cfg = loop_config_from(cfg, **options)
    bus = bus or EventBus()
    runtime = build_runtime(cfg, workspace=ws, loop_config=loop_cfg, bus=bus, **runtime_args)
    if provider is None:
        provider = _provider(cfg, model)
        _link_fallbacks(cfg, provider)
    chosen = _tools_config(cfg)
    # A small model (the provider says so, or [tools] profile) is offered a few tools
    # and a short prompt: it cannot choose among ten, and copies what it reads.
    profile = chosen.resolve_profile(_capabilities(provider).get("tool_profile"))
    if profile == "small" and loop_cfg.system_prompt is None:
        from teragent.agent.loop import SMALL_MODEL_SYSTEM_PROMPT

        loop_cfg = loop_cfg.model_copy(update={"system_prompt": SMALL_MODEL_SYSTEM_PROMPT})
    if tools is None:
        names = list(tool_names) if tool_names is not None else None
        explicit = names is not None or chosen.enabled is not None
        if cfg.get("tools") or profile == "small":  # [tools] enabled / disabled / profile
            from teragent.plugins import get_host

            host = runtime_args.get("host") or get_host()
            names = chosen.choose(default_tool_names(host.registry("tools"), cfg), names,
                                  profile)
        tools = ToolRegistry.from_plugins(names, workspace=str(ws), config=cfg)
        if not explicit and not offer_all_tools:
            tools = _offered(tools, runtime)
    elif not isinstance(tools, ToolRegistry):
        tools = ToolRegistry(list(tools))
    tools.bind_path_policy(runtime.path_policy)
    # The HTTP stack (aiohttp ~150 ms, an SSL context) loads at the first request, not
    # here: building must stay cheap (bench/bench_startup.py). A service that wants a
    # warm first request calls ``provider.adapter.prepare()`` itself.
    if runtime.rate_limiter is not None and getattr(provider, "rate_limiter", None) is None:
        provider.rate_limiter = runtime.rate_limiter
    # Last, so an agent that fails to build (unknown model, bad tools) opens no session.
    history = open_session(cfg, ws, loop_args, intent=session_intent, bus=bus,
                           host=runtime_args.get("host"))
    agent = AgentLoop(provider, tools, loop_cfg, workspace=ws, bus=bus, runtime=runtime,
                      **loop_args)
    if history:
        agent.history = history
    return agent


def open_session(config: Mapping[str, Any], workspace: str | os.PathLike[str],
                 loop_args: dict[str, Any], *, intent: str = "run", bus: Any = None,
                 host: Any = None) -> list[dict[str, Any]] | None:
    """Sessions: resolve the store and id of ``loop_args`` (``session``/``session_id``)
    in place, and return the history a continued session brings back.

    Sessions are on when a store or id is given, or ``[session]`` is in ``agent.toml``
    (unless ``enabled = false``). The store is the given one or what
    ``teragent_build_session_store`` answers; ``store.resume(id, intent=...)`` creates
    or continues the session (a fresh id when none is given), and ``store.attach(bus,
    id)`` lets it record the run's events. Returns ``None`` when sessions are off."""
    store, sid = loop_args.get("session"), loop_args.get("session_id")
    table = config.get("session")
    configured = "session" in config and not (
        isinstance(table, Mapping) and table.get("enabled", True) is False)
    if store is None and sid is None and not configured:
        return None
    if store is None:
        if host is None:
            from teragent.plugins import get_host

            host = get_host()
        store = host.hook.teragent_build_session_store(config=dict(config),
                                                       workspace=os.fspath(workspace))
        if store is None:
            from teragent.errors import MissingPluginError

            raise MissingPluginError("Sessions (session_id=, --session or [session] in "
                                     "agent.toml)", "teragent-sessions")
    resume = getattr(store, "resume", None)
    history: list[dict[str, Any]] | None = None
    if callable(resume):
        sid, history = resume(sid, intent=intent)
        attach = getattr(store, "attach", None)
        if callable(attach) and bus is not None:
            attach(bus, sid)
    elif sid is None:
        raise UserError("a session store without resume() needs a session_id; pass "
                        "session_id=... or a store with resume(session_id, *, intent).")
    loop_args["session"], loop_args["session_id"] = store, sid
    return history
