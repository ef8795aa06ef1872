"""Every hook a TerAgent plugin can implement.

Hooks *discover and register* things; what they register are plain classes with async
interfaces that the agent loop calls at run time. Pluggy has no async hooks, and none
of these are on a hot path: each registration hook runs once, when the plugin host
first loads.

Kinds of hook, named in each docstring's first line, and the one naming rule
(``docs/decisions/hook-naming.md``; ``tests/test_hook_naming.py`` checks every spec,
the kernel's and those plugins add):

- ``teragent_register_<kinds>``, **registration**: the only argument is a
  ``register(...)`` callback, called once per component. Its return value is ignored.
- ``teragent_build_<object>``, **resolution** (``firstresult=True``): the composition
  root asks for the object of every agent it builds. Return ``None`` to decline; the
  first non-``None`` answer wins.
- ``teragent_default_<object>``, **resolution** (``firstresult=True``) of a fallback:
  asked only when the caller chose no ``<object>`` (argument, flag or ``agent.toml``),
  so an answer never overrides an explicit choice.
- ``teragent_observe_<object>``, **notification**: every plugin's answer is collected.
- ``teragent_configure`` and ``teragent_add_<things>``, **configuration**
  (``historic=True``): replayed to plugins registered later.

Registering a component *by import string* (``"package.module:Name"``) defers importing
it until first use, which keeps ``import teragent`` and discovery fast. A hookimpl may
accept any subset of a spec's arguments, so adding an argument never breaks a plugin.

A plugin module looks like::

    from teragent import hookimpl

    @hookimpl
    def teragent_register_adapters(register):
        register("my_protocol", "my_plugin.adapter:MyAdapter")
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import pluggy

PROJECT = "teragent"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Register(Protocol):
    """``register(name, target, **options)``: the callback of most registration hooks.

    ``target`` is the component or an import string (``"pkg.module:Name"``, imported on
    first use); ``description`` and the hook's documented options (``priority``,
    ``level``, ``order``, ...) go in ``options``."""

    def __call__(self, name: str, target: Any, /, **options: Any) -> None: ...


class RegisterTool(Protocol):
    """``register(tool, *, name=None, **options)``: a tool class, instance or import
    string; its name is the tool's ``name`` unless given."""

    def __call__(self, tool: Any, /, *, name: str | None = None, **options: Any) -> None: ...


class RegisterPrompt(Protocol):
    """``register(intent, compiler_type, prompt)``: one system prompt of the catalog."""

    def __call__(self, intent: str, compiler_type: str, prompt: str, /) -> None: ...


class RegisterCommand(Protocol):
    """``register(name, handler, *, help="", add_arguments=None)``: a CLI sub-command;
    ``handler(args) -> int`` and ``add_arguments(parser)`` may be import strings."""

    def __call__(self, name: str, handler: Any, /, *, help: str = "",
                 add_arguments: Any = None) -> None: ...


# --- the plugin host ----------------------------------------------------------------


@hookspec(historic=True)
def teragent_add_hookspecs(add: Callable[[Any], None]) -> None:
    """Configuration: add hook specs of the plugin's own (pytest's ``pytest_addhooks``).

    Args:
        add: ``add(module)``; ``module`` holds ``@hookspec`` functions (made with
            :data:`hookspec`, named ``teragent_<verb>_<object>``). Each
            ``teragent_register_<kind>`` spec opens a component registry ``<kind>``
            (``get_host().registry("<kind>")``), filled like the kernel's own.

    Returns:
        Nothing; the return value is ignored.

    Called once, when the plugin is registered (historic: before any registration
    hook is collected, and for plugins registered later too). Plugins implementing the
    added hooks may load before or after the one that adds them. Must not import
    heavy modules: a spec module holds signatures and docstrings only.
    """

# --- models -----------------------------------------------------------------------


@hookspec
def teragent_register_compilers(register: Register) -> None:
    """Registration: contribute TAP compilers (prompt formats per model family).

    Args:
        register: ``register(name, compiler, *, description="")`` where ``compiler``
            is a :class:`~teragent.core.compiler.TAPCompiler` subclass or an import
            string ``"pkg.module:Class"`` (imported on first use).

    Returns:
        Nothing; the return value is ignored.

    Called once per plugin host, when components are first looked up.
    Implementations must not import heavy dependencies here: register import strings.
    """


@hookspec
def teragent_register_adapters(register: Register) -> None:
    """Registration: contribute TAP adapters (wire protocols).

    Args:
        register: ``register(name, adapter, *, description="")`` where ``adapter`` is a
            :class:`~teragent.core.adapter.TAPAdapter` subclass or an import string.

    Returns:
        Nothing; the return value is ignored.

    Called once per plugin host. Must not open connections or import vendor SDKs.
    """


@hookspec
def teragent_register_prompts(register: RegisterPrompt) -> None:
    """Registration: contribute system prompts for (intent, compiler type) pairs.

    Args:
        register: ``register(intent, compiler_type, prompt)``; a new intent or compiler
            type becomes known to :func:`teragent.core.prompts.list_intents` etc.

    Returns:
        Nothing.

    Called once per plugin host.
    """


@hookspec
def teragent_register_models(register: Register) -> None:
    """Registration: contribute model providers, the ``PROVIDER`` of ``PROVIDER:MODEL``.

    Args:
        register: ``register(provider, adapter, *, compiler="default", base_url=None,
            base_url_env=(), base_url_path="", key_env=(), models={},
            description="")``. ``provider`` is the prefix users type (``openai`` in
            ``openai:gpt-4o-mini``); ``adapter``
            the name of a registered adapter (not an import string); ``compiler`` the
            compiler for models not listed; ``base_url_env`` and ``key_env`` the
            vendor's conventional environment variables, first set wins
            (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``; ``base_url_path``, e.g.
            ``/v1``, completes a value that lacks it); an empty ``key_env`` means no
            key is needed; ``models`` maps known model names to their compiler
            (``None``: the default one). Other model names are accepted too.

    Returns:
        Nothing.

    Called once per plugin host; ``teragent models`` lists what was registered.
    Must not import the adapter or compiler modules, nor read keys.
    """


@hookspec(firstresult=True)
def teragent_default_driver(config: dict[str, Any]) -> dict[str, Any] | None:
    """Resolution: the driver to use when neither flags nor ``agent.toml`` choose one.

    Args:
        config: The loaded configuration (possibly empty).

    Returns:
        ``create_provider`` keyword arguments (``adapter``, ``model``, ...), or ``None``
        to decline. The first plugin to answer wins.

    Called by ``teragent run``/``chat`` and :func:`teragent.default_provider`.
    Must be cheap: it must not load a model.
    """


# --- tools ------------------------------------------------------------------------


@hookspec
def teragent_register_tools(register: RegisterTool) -> None:
    """Registration: contribute tools and tool packs.

    Args:
        register: ``register(tool, *, name=None)`` where ``tool`` is a
            :class:`~teragent.tools.BaseTool` instance, a ``BaseTool`` subclass, a
            :class:`~teragent.tools.ToolPack`, or an import string naming one of those.
            Pass ``name=`` with an import string: without it the registry key is the
            attribute's name (the class name), not the tool's ``name``. ``opt_in=True``:
            offered only to agents that name the tool (``[tools] enabled``, ``--tools``);
            ``opt_in="TABLE"``: also when ``agent.toml``'s ``[TABLE]`` has
            ``enabled = true``.

    Returns:
        Nothing.

    Called once per plugin host. Tools registered here are offered to every agent
    whose configuration enables them; they still pass every permission layer.
    """


# --- safety -----------------------------------------------------------------------


@hookspec
def teragent_register_permission_layers(register: Register) -> None:
    """Registration: contribute permission layers consulted before every tool call.

    Args:
        register: ``register(name, layer, *, priority=50)``; ``layer`` implements
            ``check(tool_name, params, context) -> (allowed | None, reason)`` (or the
            async ``acheck``). ``None`` means "no opinion"; layers are consulted in
            descending priority and the first definite answer wins.

    Returns:
        Nothing.

    Called once per plugin host. A layer's exception denies the call (fail closed).
    """


@hookspec(firstresult=True)
def teragent_default_permission_manager(config: dict[str, Any], loop_config: Any,
                                        workspace: str | None) -> Any:
    """Resolution: the permission manager an AgentLoop or CLI run uses by default.

    Args:
        config: The loaded ``agent.toml`` (possibly empty; ``[permission]`` is the
            manager's table).
        loop_config: The run's :class:`~teragent.config.AgentLoopConfig` (its
            ``allow_writes``/``allow_shell``/``allow_destructive`` flags).
        workspace: The run's workspace directory, or ``None``.

    Returns:
        An object with ``acheck_tool_params``/``check_tool_params``, or ``None`` to
        decline (the kernel's SafetyGate is used then). The first plugin to answer wins.

    Called once per AgentLoop built without an explicit ``permission_manager``. Must be
    cheap and must not prompt the user.
    """


@hookspec
def teragent_register_tool_guards(register: Register) -> None:
    """Registration: contribute guards to every agent's guard chain.

    Args:
        register: ``register(name, factory, *, order=50)``; ``factory`` is a class,
            function or import string called as ``factory(config=..., loop_config=...,
            workspace=...)`` once per agent built by the composition root, returning a
            guard (``async check(call, tool) -> GuardDecision | None``, see
            :mod:`teragent.guards`) or ``None`` to stay out of this agent. Guards run in
            ascending ``order`` after the kernel's (permissions 10, protected paths 20,
            command checks 30) and before approvals (90); teragent-hooks' ``[[hooks]]``
            take 80. A guard that also has ``async observe(outcome)`` is an observer
            too: it sees every attempt once, after it ran or was refused (an observer
            that is an audit log, see :func:`teragent.audit.audits`, replaces the
            kernel's).

    Returns:
        Nothing.

    Called once per plugin host. The guard runs for every tool call on every path
    (batch, streaming, orchestration, nested runs, the CLI); it must not prompt the
    user (approvals are a guard of their own) and its exceptions refuse the call.
    Observer errors are logged and never break a run.
    """


@hookspec
def teragent_register_command_checks(register: Register) -> None:
    """Registration: contribute shell-command safety checks.

    Args:
        register: ``register(name, check)``; ``check(command: str)`` returns
            ``(allowed: bool, reason: str, warnings: list[str])``.

    Returns:
        Nothing.

    Called once per plugin host. Every ``bash``-style tool runs all registered checks;
    any refusal blocks the command.
    """


@hookspec
def teragent_register_sandboxes(register: Register) -> None:
    """Registration: contribute sandbox backends that run shell commands.

    Args:
        register: ``register(name, backend, *, level=0, priority=0)``; ``backend`` is
            a :class:`~teragent.security.sandbox.SandboxBackend` subclass (or import
            string): ``available() -> (bool, reason)`` and ``async run(cmd, workdir,
            timeout, env, *, max_output, on_output) -> SandboxResult``.

    Returns:
        Nothing.

    Called once per plugin host. Must not probe the system here (probing happens in
    ``available()``).
    """


# --- configuration ------------------------------------------------------------------


@hookspec
def teragent_register_config_tables(register: Register) -> None:
    """Registration: contribute the ``agent.toml`` tables a plugin reads.

    Args:
        register: ``register(table, model, *, description="", many=False)``;
            ``table`` is the top-level table name (``"permission"``), ``model`` a
            pydantic model with ``extra="forbid"`` or a dataclass (or an import string
            naming one) that validates the table; ``many=True`` for an array of tables
            (``[[hooks]]``), each item validated by ``model``. A plugin's own
            settings under ``[plugins.<plugin>]`` are checked when it registers
            ``"plugins.<plugin>"``; unregistered, only the plugin's name is checked.

    Returns:
        Nothing.

    Called once per plugin host. :func:`teragent.load_full_config` validates every
    table of ``agent.toml`` against these models: a table nobody registered is an error
    (naming ``pip install <distribution>`` when a known plugin owns it). Register by
    import string so discovery does not import pydantic models.
    """


# --- reliability --------------------------------------------------------------------


@hookspec(firstresult=True)
def teragent_build_reliability(config: dict[str, Any], loop_config: Any, bus: Any) -> Any:
    """Resolution: the circuit breakers and recovery policy of one agent.

    Args:
        config: The loaded ``agent.toml`` (``[circuit_breaker]``, ``[recovery]``,
            ``[rate_limit]`` are the tables a reliability plugin reads).
        loop_config: The agent's :class:`~teragent.AgentLoopConfig`.
        bus: The :class:`~teragent.EventBus` breakers report to.

    Returns:
        An object with ``breakers`` (a list of objects with ``check_before_call`` and
        ``record_success``/``record_failure``/``record_model_call``/
        ``record_agent_step``), ``recovery`` (an object with ``call_model`` and the
        documented ``RecoveryManager`` queries, or ``None``) and ``rate_limiter`` (or
        ``None``); ``None`` to decline. With no implementer an agent runs without
        breakers or retries. The teragent-reliability plugin implements it.

    Called once per agent built by the composition root. Must not do I/O.
    """


@hookspec(firstresult=True)
def teragent_build_context(config: dict[str, Any], loop_config: Any) -> Any:
    """Resolution: the context management (token window, compaction) of one agent.

    Args:
        config: The loaded ``agent.toml`` (``[context]`` is the table a context plugin
            reads).
        loop_config: The agent's :class:`~teragent.AgentLoopConfig`.

    Returns:
        An object with ``for_agent(model, bus) -> (context_window, auto_compactor)``,
        called once per :class:`~teragent.AgentLoop` built without its own window or
        compactor (``auto_compactor.maybe_compact(messages, system_prompt)`` runs
        before every model call; an optional ``compact_on_overflow`` of the same
        signature when the API refuses a prompt as too long); ``None`` to decline
        (the agent runs without context management). The teragent-context plugin
        implements it.

    Called once per agent runtime built by the composition root. Must not do I/O.
    """


@hookspec
def teragent_register_circuit_breakers(register: Register) -> None:
    """Registration: contribute circuit breakers the agent loop and providers obey.

    Args:
        register: ``register(name, breaker)``; a class or import string. The
            teragent-reliability plugin's ``CircuitBreakerManager`` builds every
            registered breaker (its own four register here too).

    Returns:
        Nothing.

    Called once per plugin host.
    """


# --- sessions -----------------------------------------------------------------------


@hookspec(firstresult=True)
def teragent_build_session_store(config: dict[str, Any], workspace: str) -> Any:
    """Resolution: the session store an agent saves its conversation to.

    Args:
        config: The loaded ``agent.toml`` (``[session]`` is the table a session plugin
            reads; ``backend`` names the store, e.g. ``"sqlite"``).
        workspace: The agent's directory (relative store paths resolve against it).

    Returns:
        A store (see ``teragent_sessions.store.SessionStore``: ``create``,
        ``save_message``, ``restore``, ``list_sessions``, ``resume(session_id, *,
        intent) -> (session_id, history)`` and optionally ``attach(bus, session_id)``),
        or ``None`` to decline (e.g. ``backend`` names another plugin's store). The
        teragent-sessions plugin answers for ``backend = "sqlite"``.

    Called by the composition root when an agent is built with ``session=``/
    ``session_id=`` or ``[session]`` is configured, and by the CLI's session commands.
    Must not import heavy modules at plugin import time.
    """


# --- observability ------------------------------------------------------------------


@hookspec
def teragent_observe_agent(config: dict[str, Any], workspace: str, bus: Any) -> Any:
    """Notification: an agent was built; watch it (its events, its model calls).

    Args:
        config: The loaded ``agent.toml`` (the plugin reads its own table).
        workspace: The agent's workspace directory.
        bus: The agent's :class:`~teragent.EventBus` (``None`` when built without
            one); subscribe to ``agent_start``/``model_start``/``model_end``/
            ``tool_start``/``tool_end``/``agent_done``/``agent_error`` here.

    Returns:
        A tracer that records every model call of the agent's runs (async
        ``record_request``/``record_response``, the protocol of
        :meth:`teragent.ModelProvider.set_tracer`), or ``None``. Every answer counts.

    Called once per agent built by the composition root (every entry point). Must be
    cheap and do no network I/O; observers and tracers never break a run.
    """


@hookspec
def teragent_register_commands(register: RegisterCommand) -> None:
    """Registration: contribute ``teragent`` CLI sub-commands.

    Args:
        register: ``register(name, handler, *, help="", add_arguments=None)``;
            ``handler(args: argparse.Namespace) -> int`` returns the exit code and
            ``add_arguments(parser)`` declares the command's options.

    Returns:
        Nothing.

    Called once when the CLI starts. Handlers raise :class:`~teragent.errors.
    TerAgentError` for failures the user can fix; the CLI prints one clean line.
    """


@hookspec(historic=True)
def teragent_configure(config: dict[str, Any]) -> None:
    """Configuration: receive the loaded configuration (``agent.toml`` as a dict).

    Args:
        config: The merged configuration; a plugin reads its own table
            (``config.get("plugins", {}).get("<name>", {})``).

    Returns:
        Nothing.

    Called whenever configuration is loaded, and replayed to plugins registered later.
    Must not mutate ``config``.
    """
