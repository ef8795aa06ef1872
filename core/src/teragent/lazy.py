"""Lazy re-exports: the one implementation of a package's ``__getattr__`` that imports a
public name from its module on first use (PEP 562).

A package lists ``{name: "pkg.module"}`` (or ``{name: ("pkg.module", "distribution")}``
when the module ships in a plugin) and sets
``__getattr__ = lazy_exports(__name__, TABLE, globals())``. A resolved name is cached in
the package's namespace, so the lookup happens once. A name from a plugin that is not
installed raises :class:`~teragent.errors.MissingPluginError` naming ``pip install``.
Only listed names resolve: the plugin host probes plugin modules for hook names, and
an unlisted name must stay an ``AttributeError``.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs ~6 ms
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Mapping, MutableMapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, table: "Mapping[str, str | tuple[str, str | None]]",
                 namespace: "MutableMapping[str, Any]") -> "Callable[[str], Any]":
    """A module ``__getattr__`` for ``package`` that resolves the names of ``table``."""

    def __getattr__(name: str) -> "Any":
        spec = table.get(name)
        if spec is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target, distribution = (spec, None) if isinstance(spec, str) else spec
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as exc:
            if distribution is None or exc.name not in (target, target.split(".")[0]):
                raise
            from teragent.errors import MissingPluginError

            raise MissingPluginError(f"{package}.{name}", distribution) from None
        value = getattr(module, name)
        namespace[name] = value
        return value

    return __getattr__
