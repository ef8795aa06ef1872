"""Plugin discovery and the plugin host.

Plugins are modules named by entry points in the group ``teragent``::

    [project.entry-points.teragent]
    openai = "teragent_openai"

At start-up (on first use, in fact) the host imports each entry point's module,
registers it with pluggy, checks that every ``teragent_*`` hookimpl matches a spec
(:meth:`pluggy.PluginManager.check_pending`), and runs the registration hooks to fill
the component registries. The kernel's own defaults (the ``default`` compiler, the
``mock`` adapter) register through the very same hooks, as the plugin ``builtin``.

A plugin may bring hook specs of its own, as pytest plugins do with
``pytest_addhooks``: its ``teragent_add_hookspecs(add)`` hands the host a spec module
when the plugin is registered, and each ``teragent_register_<kind>`` spec in it opens
the registry ``<kind>`` (teragent-orchestration adds "patterns" and "guardrails").
Entry-point plugins are all registered before hookimpls are checked against the
specs, so a plugin implementing an added hook may load before the one adding it.

Environment:
    ``TERAGENT_PLUGINS=a,b``: load only these entry-point plugins ("" loads none).
    ``TERAGENT_DISABLE_PLUGINS=x,y``: never load these.
    ``TERAGENT_STRICT_PLUGINS=1``: a plugin that fails to import is an error, not a
    warning. A plugin named explicitly in ``TERAGENT_PLUGINS`` is always strict.

On stevedore: it was measured for named driver loading and for its entry-point cache;
its cached look-up was no faster than a plain scan here, and the registries' import
strings already give lazy named loading (docs/decisions/plugin-loading.md), so
discovery uses :mod:`importlib.metadata`, behind a cache of the kernel's own that does
not import it on a warm start (:mod:`teragent._entry_points`).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pluggy

from teragent import hookspecs
from teragent.errors import (
    PluginError, PluginValidationError, UnknownComponentError, UserError, did_you_mean,
)
from teragent.registry import ComponentRegistry

from teragent._entry_points import entry_points

logger = logging.getLogger("teragent.plugins")

ENTRY_POINT_GROUP = "teragent"
BUILTIN = "builtin"

#: The kernel's registration hooks by registry kind; plugins add theirs per host
#: (:meth:`PluginHost.add_hookspecs`).
REGISTRATION_HOOKS = {
    "compilers": "teragent_register_compilers",
    "adapters": "teragent_register_adapters",
    "prompts": "teragent_register_prompts",
    "models": "teragent_register_models",
    "tools": "teragent_register_tools",
    "permission_layers": "teragent_register_permission_layers",
    "command_checks": "teragent_register_command_checks",
    "tool_guards": "teragent_register_tool_guards",
    "sandboxes": "teragent_register_sandboxes",
    "circuit_breakers": "teragent_register_circuit_breakers",
    "commands": "teragent_register_commands",
    "config_tables": "teragent_register_config_tables",
}


class PluginLoadWarning(UserWarning):
    """A plugin was skipped because it could not be loaded."""


@dataclass
class PluginRecord:
    """What ``teragent plugins`` shows for one plugin."""

    name: str
    distribution: str = ""
    version: str = ""
    module: str = ""
    status: str = "loaded"  # loaded | failed | disabled | not-selected
    error: str = ""
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "distribution": self.distribution, "version": self.version,
            "module": self.module, "status": self.status, "error": self.error,
            "hooks": list(self.hooks),
        }


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


class PluginHost:
    """Owns the pluggy manager, the plugin records and the component registries.

    Args:
        load_entrypoints: Discover plugins through entry points (tests pass ``False``
            and register plugin objects directly).
        strict: Make any plugin failure an error.
        include_builtin: Register the kernel's built-in plugin.
    """

    def __init__(
        self,
        *,
        load_entrypoints: bool = True,
        strict: bool | None = None,
        include_builtin: bool = True,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        if strict is None:
            strict = os.environ.get("TERAGENT_STRICT_PLUGINS", "").strip().lower() not in (
                "", "0", "false", "no", "off")
        self.strict = strict
        self.registration_hooks: dict[str, str] = dict(REGISTRATION_HOOKS)
        self.registries: dict[str, ComponentRegistry[Any]] = {
            kind: ComponentRegistry(kind.rstrip("s")) for kind in REGISTRATION_HOOKS
        }
        self._spec_modules: list[Any] = []
        self._collected = False
        self._lock = threading.RLock()
        self.pm.hook.teragent_add_hookspecs.call_historic(kwargs={"add": self.add_hookspecs})
        if include_builtin:
            from teragent import __version__, _builtin

            self.add_plugin(_builtin, name=BUILTIN, distribution="teragent",
                            version=__version__)
        if load_entrypoints:
            self.load_entrypoints()

    # --- loading ----------------------------------------------------------------

    def load_entrypoints(self) -> None:
        """Import and register every plugin in the ``teragent`` entry-point group."""
        only = _env_list("TERAGENT_PLUGINS")
        disabled = set(_env_list("TERAGENT_DISABLE_PLUGINS") or [])
        found: dict[str, Any] = {}  # importlib.metadata's EntryPoints, or cached ones
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == BUILTIN:
                dist = getattr(ep, "dist", None)
                raise PluginError(
                    f"The distribution {dist.name if dist else '?'} declares a plugin named "
                    f"{BUILTIN!r}, a name reserved for the kernel; rename its entry point.",
                    plugin=ep.name, distribution=dist.name if dist else "")
            if ep.name in found and found[ep.name].value != ep.value:
                first, second = (getattr(e, "dist", None) for e in (found[ep.name], ep))
                message = (f"Two installed distributions declare the plugin {ep.name!r}: "
                           f"{first.name if first else '?'} and "
                           f"{second.name if second else '?'}; the first is used. "
                           "Uninstall one of them.")
                warnings.warn(message, PluginLoadWarning, stacklevel=2)
                continue
            found.setdefault(ep.name, ep)
        if only is not None:
            for wanted in only:
                if wanted not in found and wanted != BUILTIN:
                    raise UserError(
                        f"TERAGENT_PLUGINS names {wanted!r}, but no installed plugin has "
                        f"that name.{did_you_mean(wanted, found)} Installed: "
                        f"{', '.join(sorted(found)) or '(none)'}."
                    )
        for name, ep in sorted(found.items()):
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=name,
                distribution=dist.name if dist else "",
                version=dist.version if dist else "",
                module=ep.value,
            )
            if name in disabled:
                record.status = "disabled"
                self.records[name] = record
                continue
            if only is not None and name not in only:
                record.status = "not-selected"
                self.records[name] = record
                continue
            explicit = only is not None and name in only
            try:
                module = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is reported
                record.status = "failed"
                record.error = f"{type(exc).__name__}: {exc}"
                self.records[name] = record
                message = (
                    f"Skipping plugin {name!r} ({record.distribution} "
                    f"{record.version}): it failed to import: {record.error}"
                )
                if self.strict or explicit:
                    raise PluginError(
                        message.replace("Skipping", "Cannot load"),
                        plugin=name, distribution=record.distribution,
                        version=record.version,
                    ) from exc
                warnings.warn(message, PluginLoadWarning, stacklevel=2)
                logger.warning(message)
                continue
            self._register(module, record, check=False)
        self.check_pending()

    def add_hookspecs(self, module: Any) -> None:
        """Add a plugin's hook specs (the ``teragent_add_hookspecs`` callback).

        Each ``teragent_register_<kind>`` spec in ``module`` opens the registry
        ``<kind>``; if registries were already collected, every registered plugin is
        collected for the new kinds. Adding the same module again does nothing.
        """
        with self._lock:
            if any(m is module for m in self._spec_modules):
                return
            self.pm.add_hookspecs(module)
            self._spec_modules.append(module)
            added: dict[str, str] = {}
            for name in dir(module):
                if (name.startswith("teragent_register_")
                        and hasattr(getattr(module, name), f"{hookspecs.PROJECT}_spec")):
                    kind = name[len("teragent_register_"):]
                    added[kind] = name
                    self.registries[kind] = ComponentRegistry(kind.rstrip("s"))
            self.registration_hooks.update(added)
            if self._collected:
                for plugin_name, plugin in self.pm.list_name_plugin():
                    self._collect_from(plugin, plugin_name, added)

    def add_plugin(
        self, plugin: Any, *, name: str | None = None, distribution: str = "",
        version: str = "",
    ) -> None:
        """Register a plugin object (module or instance) directly."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        record = PluginRecord(
            name=name, distribution=distribution, version=version,
            module=getattr(plugin, "__name__", type(plugin).__name__),
        )
        self._register(plugin, record)

    def _register(self, plugin: Any, record: PluginRecord, *, check: bool = True) -> None:
        try:
            self.pm.register(plugin, name=record.name)
        except ValueError as exc:  # pluggy: the same module or name registered twice
            record.status = "failed"
            record.error = str(exc)
            self.records.setdefault(record.name, record)
            raise PluginError(
                f"Plugin {record.name!r} ({record.distribution} {record.version}) cannot be "
                f"registered: {exc}. Two entry points may name the same module or the same "
                f"plugin name; uninstall one or disable it with TERAGENT_DISABLE_PLUGINS.",
                plugin=record.name, distribution=record.distribution, version=record.version,
            ) from exc
        except pluggy.PluginValidationError as exc:
            self.records[record.name] = record
            record.status = "failed"
            record.error = str(exc)
            raise PluginValidationError(
                f"Plugin {record.name!r} ({record.distribution} {record.version}) has an "
                f"invalid hook implementation: {exc}",
                plugin=record.name, distribution=record.distribution,
                version=record.version,
            ) from exc
        self.records[record.name] = record
        if check:
            self.check_pending()
        record.hooks = sorted(
            h.name for h in self.pm.get_hookcallers(plugin) or []
        )
        with self._lock:
            if self._collected:
                self._collect_from(plugin, record.name)

    def check_pending(self) -> None:
        """Fail loudly on a ``teragent_*`` function that matches no spec, or that
        matches one but lacks ``@hookimpl`` (pluggy would silently ignore it)."""
        for plugin_name, plugin in self.pm.list_name_plugin():
            if plugin is None:
                continue
            for attr in dir(plugin):
                if not attr.startswith("teragent_"):
                    continue
                obj = getattr(plugin, attr, None)
                if inspect.ismodule(obj) or not callable(obj) or isinstance(obj, type):
                    continue  # e.g. ``import teragent_openai`` inside a plugin
                caller = getattr(self.pm.hook, attr, None)
                spec = caller.spec if caller is not None else None
                marked = hasattr(obj, f"{hookspecs.PROJECT}_impl")
                if spec is not None and marked:
                    continue
                known = [n for n in dir(self.pm.hook) if n.startswith("teragent_")
                         and getattr(self.pm.hook, n).spec is not None]
                record = self.records.get(plugin_name, PluginRecord(plugin_name))
                record.status = "failed"
                origin = " ".join(p for p in (record.distribution, record.version) if p)
                who = f"Plugin {plugin_name!r}{f' ({origin})' if origin else ''}"
                self.pm.unregister(plugin)
                if spec is not None:
                    record.error = f"{attr} lacks @hookimpl"
                    message = (f"{who} defines {attr!r} without @hookimpl, so it would never "
                               "be called. Decorate it: `from teragent import hookimpl` and "
                               "`@hookimpl` above the function.")
                else:
                    record.error = f"unknown hook {attr}"
                    message = (f"{who} implements {attr!r}, which is not a TerAgent hook."
                               f"{did_you_mean(attr, known)}")
                raise PluginValidationError(
                    message, plugin=plugin_name, distribution=record.distribution,
                    version=record.version)

    # --- collection ---------------------------------------------------------------

    def _collect(self) -> None:
        with self._lock:
            if self._collected:
                return
            for kind, hook_name in list(self.registration_hooks.items()):
                self._dispatch(kind, hook_name)
            self._collected = True

    def _collect_from(self, plugin: Any, plugin_name: str,
                      hooks: dict[str, str] | None = None) -> None:
        for kind, hook_name in (hooks or self.registration_hooks).items():
            self._dispatch(kind, hook_name, only=plugin)

    def _dispatch(self, kind: str, hook_name: str, only: Any = None) -> None:
        """Call every implementation of a registration hook in pluggy's own order
        (``tryfirst``/``trylast`` honoured), each with a ``register`` callback bound to
        its plugin, so every component knows which plugin registered it."""
        caller = getattr(self.pm.hook, hook_name, None)
        if caller is None:
            return
        registry = self.registries[kind]
        for impl in reversed(caller.get_hookimpls()):  # pluggy calls the last one first
            if only is not None and impl.plugin is not only:
                continue
            plugin_name = impl.plugin_name
            record = self.records.get(plugin_name, PluginRecord(plugin_name))
            if impl.hookwrapper or impl.wrapper:
                raise PluginValidationError(
                    f"Plugin {plugin_name!r} implements {hook_name} as a wrapper; "
                    "registration hooks take plain implementations (drop wrapper=True / "
                    "hookwrapper=True).", plugin=plugin_name,
                    distribution=record.distribution, version=record.version)
            register = _make_register(kind, registry, plugin_name)
            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except PluginError:
                raise
            except Exception as exc:  # noqa: BLE001 - wrapped with the plugin's name
                raise PluginError(
                    f"Plugin {plugin_name!r} failed in {hook_name}: "
                    f"{type(exc).__name__}: {exc}",
                    plugin=plugin_name, distribution=record.distribution,
                    version=record.version,
                ) from exc

    def registry(self, kind: str) -> ComponentRegistry[Any]:
        """The registry of ``kind`` ("compilers", "adapters", "tools", ...), filled.

        Raises:
            UnknownComponentError: no spec opens ``kind``; kinds besides the kernel's
                come from the plugin that adds them (is it installed and enabled?).
        """
        self._collect()
        try:
            return self.registries[kind]
        except KeyError:
            raise UnknownComponentError(
                "component kind", kind, self.registries,
                hint="A kind besides the kernel's is added by a plugin "
                     "(teragent_add_hookspecs): is it installed and enabled? "
                     "`teragent plugins` lists what loaded.") from None

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def list_plugins(self) -> list[PluginRecord]:
        self._collect()
        return sorted(self.records.values(), key=lambda r: (r.name != BUILTIN, r.name))


def _make_register(kind: str, registry: ComponentRegistry[Any], plugin: str) -> Callable[..., None]:
    if kind == "tools":
        def register_tool(tool: Any, **options: Any) -> None:
            name = options.pop("name", None) or _tool_name(tool)
            registry.register(name, tool, plugin=plugin, **options)
        return register_tool
    if kind == "prompts":
        def register_prompt(intent: str, compiler_type: str, prompt: str) -> None:
            registry.register(f"{intent}:{compiler_type}", prompt, plugin=plugin,
                              intent=intent, compiler_type=compiler_type, replace=True,
                              literal=True)
        return register_prompt

    if kind == "models":
        def register_model(name: str, target: Any, **options: Any) -> None:
            # the target names an adapter in its registry: a name, not an import string
            registry.register(name, target, plugin=plugin, literal=True, **options)
        return register_model

    def register(name: str, target: Any, **options: Any) -> None:
        registry.register(name, target, plugin=plugin, **options)
    return register


def _tool_name(tool: Any) -> str:
    if isinstance(tool, str):
        return tool.replace(":", ".").rpartition(".")[2] or tool
    name = getattr(tool, "name", None)
    if isinstance(name, str) and name:
        return name
    return getattr(tool, "__name__", type(tool).__name__)


_host: PluginHost | None = None
_host_lock = threading.Lock()


def get_host() -> PluginHost:
    """The process-wide plugin host, created (and plugins discovered) on first call."""
    global _host
    if _host is None:
        with _host_lock:
            if _host is None:
                _host = PluginHost()
    return _host


def set_host(host: PluginHost | None) -> None:
    """Replace the process-wide host (``None`` rediscovers on next use)."""
    global _host
    _host = host


@contextlib.contextmanager
def use_host(host: PluginHost) -> Iterator[PluginHost]:
    """Temporarily make ``host`` the process-wide host (tests)."""
    global _host
    old = _host
    _host = host
    try:
        yield host
    finally:
        _host = old
